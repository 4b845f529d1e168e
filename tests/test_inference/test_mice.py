"""The optimisation-design case study end to end (a short bootstrap)."""

import numpy as np
import pytest

from skassign.datasets import make_tumor_mice, simulate_tumor_growth
from skassign.designs import OptimalBalance
from skassign.inference import BootstrapTest, RandomizationTest

SEED_TREATED = [1, 4, 5, 6, 8, 12, 14, 16, 17, 18]
SEED_NULL_SD = 112.61


@pytest.fixture(scope="module")
def mice_experiment():
    mice = make_tumor_mice()
    w = mice["initial_weight"].to_numpy()
    X = ((w - w.mean()) / w.std(ddof=1)).reshape(-1, 1)
    design = OptimalBalance(n_groups=2, rho=0.5, random_state=123)
    labels = design.fit_predict(X)
    y = simulate_tumor_growth(w, labels, effect=-250)
    return X, y, labels, design


def test_mice_bootstrap(mice_experiment):
    X, y, labels, design = mice_experiment
    treated = sorted(np.flatnonzero(labels == labels[0]) + 1)
    assert treated == SEED_TREATED  # the case study's split (either arm)
    test = BootstrapTest(design, n_resamples=100, random_state=0)
    test.fit(X, y, labels)
    assert abs(test.statistic_) == pytest.approx(260.18, abs=0.01)
    assert test.pvalue_ <= 0.05
    null = test.null_distribution_
    assert abs(null.mean()) < 3 * null.std() / np.sqrt(100)
    assert 0.75 * SEED_NULL_SD <= null.std() <= 1.25 * SEED_NULL_SD
    low, high = test.confidence_interval_
    assert low < -250 < high < 0


def test_mice_randomization_test_is_refused(mice_experiment):
    X, y, labels, design = mice_experiment
    with pytest.raises(ValueError, match="same split"):
        RandomizationTest(design, n_resamples=20, random_state=0).fit(X, y, labels)


@pytest.mark.parametrize("backend", ["loky", "threading", "dask"])
def test_mice_bootstrap_identical_across_backends(
    mice_experiment, backend, run_on_backend
):
    # Solver models are built inside the tasks; SCIP in threads and in
    # processes must give the sequential result.
    X, y, labels, design = mice_experiment
    params = dict(n_resamples=16, random_state=1, confidence_level=None)
    reference = BootstrapTest(design, n_jobs=1, **params).fit(X, y, labels)
    test = run_on_backend(
        backend, lambda: BootstrapTest(design, **params).fit(X, y, labels)
    )
    np.testing.assert_array_equal(test.null_distribution_, reference.null_distribution_)
