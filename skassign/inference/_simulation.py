"""Simulated experiments that check the validity of the resampling tests.

Each function runs one experiment (seeded, so that any number of them can run
in parallel reproducibly) and returns the test's p-value and whether its
confidence interval covers the true effect. The slow validity tests and
``benchmarks/bench_inference.py`` share them. They are thin wrappers over
the experiment of :func:`skassign.simulation.compare_designs` (one
experiment, one design, one effect), which draws the covariates, the
design's seed, the outcome noise and the test's resamples from the
experiment's :class:`numpy.random.SeedSequence`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.inference import BootstrapTest, RandomizationTest

__all__ = [
    "mice_bootstrap_experiment",
    "randomization_experiment",
    "rejection_and_coverage",
]


def _one_experiment(seed, design, covariates, outcome, effect, test):
    """P-value and coverage of experiment ``seed`` (NaN if anything failed)."""
    from skassign.simulation._compare import run_experiment

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few resamples: unbounded intervals
        records, _ = run_experiment(
            np.random.SeedSequence(seed),
            type(design).__name__,
            design,
            covariates,
            outcome,
            [float(effect)],
            "difference",
            test,
            0.05,
        )
    record = records[0]
    if record["failed"] or record["test_error"] is not None:
        return np.nan, np.nan
    return record["pvalue"], record["covered"]


def randomization_experiment(seed, design, effect, n_resamples):
    """Run a :class:`RandomizationTest` on 20 units, 2 prognostic covariates.

    The covariates are standard normal, the outcome
    ``x0 + 0.5 x1 + effect * treated + N(0, 1)``.

    Returns
    -------
    pvalue : float
    covered : bool
        Whether the confidence interval holds ``effect``.
    """
    from skassign.simulation import LinearOutcome, NormalCovariates

    return _one_experiment(
        seed,
        design,
        NormalCovariates(n_samples=20, n_features=2),
        LinearOutcome(coef=[1.0, 0.5], noise_sd=1.0),
        effect,
        RandomizationTest(design, n_resamples=n_resamples),
    )


def mice_bootstrap_experiment(seed, design, effect, n_resamples):
    """Run a :class:`BootstrapTest` of a tumour-mice experiment drawn by ``seed``.

    Fresh mice (20, as in the case study), the growth noise (SD 50 mg) and
    the design's seed are drawn from ``seed``; the design (an optimisation
    design) assigns them on the standardised initial weight.

    Returns
    -------
    pvalue : float
        NaN if the design or the test failed (the design's solver failed on
        a resample: count these apart).
    covered : bool or float
        Whether the confidence interval holds ``effect`` (NaN on failure).
    """
    from skassign.simulation import TumorGrowthOutcome, TumorMiceCovariates

    pipeline = make_pipeline(StandardScaler(), design)
    return _one_experiment(
        seed,
        pipeline,
        TumorMiceCovariates(),
        TumorGrowthOutcome(noise_sd=50.0),
        effect,
        BootstrapTest(pipeline, n_resamples=n_resamples),
    )


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
