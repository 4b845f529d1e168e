"""Simulated experiments that check the validity of the resampling tests.

Each function runs one experiment (seeded, so that any number of them can run
in parallel reproducibly) and returns the test's p-value and whether its
confidence interval covers the true effect. The slow validity tests and
``benchmarks/bench_inference.py`` share them.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone

from skassign.datasets import make_tumor_mice, simulate_tumor_growth
from skassign.exceptions import SolverError
from skassign.inference._bootstrap import BootstrapTest
from skassign.inference._randomization import RandomizationTest

__all__ = [
    "mice_bootstrap_experiment",
    "randomization_experiment",
    "rejection_and_coverage",
]


def _prognostic_experiment(seed, design, effect, n=20, n_features=2):
    """Covariates, assignment from the design, and outcomes with ``effect``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    labels = clone(design).set_params(random_state=seed).fit_predict(X)
    y = X @ np.linspace(1.0, 0.5, n_features) + effect * labels + rng.normal(size=n)
    return X, y, labels


def randomization_experiment(seed, design, effect, n_resamples):
    """Run a :class:`RandomizationTest` on 20 units, 2 prognostic covariates.

    Returns
    -------
    pvalue : float
    covered : bool
        Whether the confidence interval holds ``effect``.
    """
    X, y, labels = _prognostic_experiment(seed, design, effect)
    test = RandomizationTest(design, n_resamples=n_resamples, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few resamples: unbounded intervals
        test.fit(X, y, labels)
    low, high = test.confidence_interval_
    return test.pvalue_, low <= effect <= high


def mice_bootstrap_experiment(seed, design, effect, n_resamples):
    """Run a :class:`BootstrapTest` of a tumour-mice experiment drawn by ``seed``.

    The mice and the growth noise (SD 50 mg) are drawn with ``seed``; the
    design (an optimisation design) assigns them on the standardised initial
    weight.

    Returns
    -------
    pvalue : float
        NaN if the design's solver failed on a resample (the design's
        failure, not the test's: count these apart).
    covered : bool or float
        Whether the confidence interval holds ``effect`` (NaN on failure).
    """
    mice = make_tumor_mice(random_state=seed)
    w = mice["initial_weight"].to_numpy()
    X = ((w - w.mean()) / w.std(ddof=1)).reshape(-1, 1)
    labels = clone(design).set_params(random_state=seed).fit_predict(X)
    y = simulate_tumor_growth(
        w, labels, effect=effect, noise_sd=50.0, random_state=seed
    )
    test = BootstrapTest(design, n_resamples=n_resamples, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            test.fit(X, y, labels)
        except SolverError:
            return np.nan, np.nan
    low, high = test.confidence_interval_
    return test.pvalue_, low <= effect <= high


def rejection_and_coverage(results, alpha=0.05):
    """Return the rejection rate at ``alpha`` and the interval coverage.

    Parameters
    ----------
    results : list of (pvalue, covered)
        Outputs of the experiment functions, failed ones (NaN) excluded.
    alpha : float, default=0.05
        Level of the tests.

    Returns
    -------
    rate : float
        Share of p-values at most ``alpha`` (the size under the null).
    coverage : float
        Share of intervals holding the true effect.
    """
    pvalues = np.array([p for p, _ in results], dtype=np.float64)
    covered = np.array([c for _, c in results], dtype=np.float64)
    return float(np.mean(pvalues <= alpha)), float(covered.mean())
