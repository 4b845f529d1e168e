"""Statistical validity of the inference tests (slow: run with ``-m slow``).

Each test simulates many independent experiments, runs the test on each and
checks the rejection rate under the null (size) and the coverage of the
intervals. With 1000 experiments the standard error of a rate near 0.05 is
0.007, so [0.03, 0.07] is about three standard errors either side.
"""

import numpy as np
import pytest
from sklearn.utils.parallel import Parallel, delayed

from skassign.datasets import make_tumor_mice, simulate_tumor_growth
from skassign.designs import CompleteRandomization, Rerandomization
from skassign.inference import BootstrapTest
from skassign.inference._simulation import (
    mice_bootstrap_experiment,
    randomization_experiment,
    rejection_and_coverage,
)

pytestmark = pytest.mark.slow

ALPHA = 0.05
N_EXPERIMENTS = 1000


@pytest.mark.parametrize(
    "design",
    [
        CompleteRandomization(),
        Rerandomization(acceptance_prob=0.1),
    ],
    ids=["complete", "rerandomization"],
)
def test_randomization_test_size_and_coverage(design):
    # 39 resamples: a valid Monte Carlo test rejects with probability exactly
    # 2 / 40 = 0.05 under the null, so this checks validity, not precision.
    null = Parallel(n_jobs=2)(
        delayed(randomization_experiment)(seed, design, 0.0, 39)
        for seed in range(N_EXPERIMENTS)
    )
    size, coverage_null = rejection_and_coverage(null)
    assert 0.03 <= size <= 0.07, size
    assert 0.93 <= coverage_null <= 0.97, coverage_null
    effect = Parallel(n_jobs=2)(
        delayed(randomization_experiment)(seed, design, 1.5, 39)
        for seed in range(N_EXPERIMENTS, N_EXPERIMENTS + 500)
    )
    power, coverage = rejection_and_coverage(effect)
    print(
        f"{type(design).__name__}: size {size:.3f}, coverage under the null "
        f"{coverage_null:.3f}; effect 1.5: power {power:.3f}, coverage {coverage:.3f}"
    )
    assert 0.92 <= coverage <= 0.98, coverage
    assert power > size


def test_bootstrap_size_with_optimal_balance():
    designs = pytest.importorskip("skassign.designs")
    if not hasattr(designs, "OptimalBalance"):
        pytest.skip("OptimalBalance is not available on this branch")
    design = designs.OptimalBalance(rho=0.5)
    results = Parallel(n_jobs=2)(
        delayed(mice_bootstrap_experiment)(seed, design, 0.0, 99) for seed in range(400)
    )
    failed = [p for p, _ in results if np.isnan(p)]
    results = [r for r in results if not np.isnan(r[0])]
    size, coverage = rejection_and_coverage(results)
    print(
        f"OptimalBalance bootstrap: size {size:.3f}, coverage {coverage:.3f} over "
        f"{len(results)} experiments ({len(failed)} stopped by a solver error)"
    )
    assert len(failed) <= 4
    assert 0.03 <= size <= 0.07, size
    assert 0.92 <= coverage <= 0.98, coverage


def test_mice_case_study_b1000():
    """The case study's bootstrap with B = 1000, as published."""
    designs = pytest.importorskip("skassign.designs")
    if not hasattr(designs, "OptimalBalance"):
        pytest.skip("OptimalBalance is not available on this branch")
    mice = make_tumor_mice()
    w = mice["initial_weight"].to_numpy()
    X = ((w - w.mean()) / w.std(ddof=1)).reshape(-1, 1)
    design = designs.OptimalBalance(n_groups=2, rho=0.5, random_state=123)
    labels = design.fit_predict(X)
    y = simulate_tumor_growth(w, labels, effect=-250)
    test = BootstrapTest(design, n_resamples=1000, n_jobs=2, random_state=0)
    table = test.fit(X, y, labels).summary()
    print(table.round(3).to_string())
    assert round(test.statistic_) == -260
    assert test.pvalue_ <= 0.01
    null = test.null_distribution_
    assert abs(null.mean()) < 3 * null.std() / np.sqrt(1000)
    assert abs(null.std() / 112.61 - 1) <= 0.25
