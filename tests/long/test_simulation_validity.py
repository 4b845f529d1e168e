"""Statistical checks of compare_designs (slow: run with ``-m slow``).

The harness's numbers against results known in closed form: the exact
variance of the difference in means under complete randomisation, Morgan &
Rubin's variance reduction v_a, and the size of Welch's test. Bands are
three Monte Carlo standard errors wide.
"""

import numpy as np
import pytest
from scipy import stats

from skassign.designs import CompleteRandomization, Rerandomization
from skassign.simulation import LinearOutcome, compare_designs

pytestmark = pytest.mark.slow

N_EXPERIMENTS = 2000


def _units(n, d, seed):
    X = np.random.default_rng(seed).standard_normal((n, d))
    y = X.sum(axis=1)
    return X, y.var(ddof=1) * (2 / (n / 2))  # exact Neyman variance, n/2 + n/2


def test_complete_randomization_variance_and_welch_size():
    X, exact = _units(40, 2, 0)
    table = compare_designs(
        {"complete": CompleteRandomization()},
        X,
        LinearOutcome(coef=1.0, noise_sd=0.0),
        n_experiments=N_EXPERIMENTS,
        n_jobs=2,
        random_state=0,
    )
    ratio = table["sd"].item() ** 2 / exact
    se = np.sqrt(2 / (N_EXPERIMENTS - 1))  # of a variance ratio, normal estimates
    assert abs(ratio - 1) <= 3 * se, ratio
    assert abs(table["bias"].item()) <= 3 * table["sd"].item() / np.sqrt(N_EXPERIMENTS)
    # Welch's test of an outcome with noise and no effect: size 0.05.
    noisy = compare_designs(
        {"complete": CompleteRandomization()},
        X,
        LinearOutcome(coef=0.0, noise_sd=1.0),
        n_experiments=N_EXPERIMENTS,
        n_jobs=2,
        random_state=1,
    )
    size, se = noisy["rejection_rate"].item(), noisy["rejection_se"].item()
    assert abs(size - 0.05) <= 3 * np.sqrt(0.05 * 0.95 / N_EXPERIMENTS), (size, se)


@pytest.mark.parametrize("d, accept", [(2, 0.1), (5, 0.01)])
def test_rerandomization_variance_reduction_is_morgan_rubin_v_a(d, accept):
    X, exact = _units(100, d, d)
    a = stats.chi2.ppf(accept, d)
    table = compare_designs(
        {"rerandomization": Rerandomization(threshold=a, max_draws=1_000_000)},
        X,
        LinearOutcome(coef=1.0, noise_sd=0.0),
        n_experiments=N_EXPERIMENTS,
        n_jobs=2,
        random_state=d,
    )
    v_a = stats.chi2.cdf(a, d + 2) / stats.chi2.cdf(a, d)
    simulated = table["sd"].item() ** 2 / exact
    se = v_a * np.sqrt(2 / (N_EXPERIMENTS - 1))
    print(f"d={d}, a={a:.3f}: v_a {v_a:.4f}, simulated {simulated:.4f} (SE {se:.4f})")
    assert abs(simulated - v_a) <= 3 * se
