"""Bootstrap test for optimisation designs (Bertsimas, Johnson & Kallus)."""

from __future__ import annotations

import numpy as np

from skassign._sampling import add_note, refit_labels, validated_once
from skassign.inference._resampling import BaseResamplingTest
from skassign.utils._docstrings import fill_doc
from skassign.utils._parallel import parallel_in_order
from skassign.utils._progress import progress_bar
from skassign.utils._random import child_seed, spawn_seeds

__all__ = ["BootstrapTest"]


def _take_rows(values, rows):
    """Rows ``rows`` of an array, DataFrame or Series (index reset)."""
    if hasattr(values, "iloc"):
        return values.iloc[rows].reset_index(drop=True)
    return np.asarray(values)[rows]


def _is_per_unit(value, n_samples):
    """Whether a fit parameter holds one entry per unit (and is resampled)."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
        return False
    return len(value) == n_samples


def _bootstrap_draw(index, design, X, fit_params, seed, n_samples):
    """Bootstrap resample ``index``: units with replacement, the design refit on them.

    Returns the resampled rows and the design's labels of the resample.
    """
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_samples, size=n_samples)
    design_seed = child_seed(rng)
    params = {
        key: _take_rows(value, rows) if _is_per_unit(value, n_samples) else value
        for key, value in fit_params.items()
    }
    try:
        labels = refit_labels(design, _take_rows(X, rows), design_seed, params)
    except Exception as err:
        add_note(
            err,
            f"Raised while fitting the design on bootstrap resample {index}: "
            f"rows {rows.tolist()}, reseeded with "
            f"skassign.utils.set_random_states(clone(design), {design_seed}).",
        )
        raise
    return rows, labels


@fill_doc
class BootstrapTest(BaseResamplingTest):
    """Bootstrap test of a treatment effect for any design, deterministic ones too.

    Bertsimas, Johnson & Kallus (2015): an optimisation design returns (up to
    which group is treated) the same split every time, so its statistics do
    not follow the usual distributions and a randomisation test has nothing
    to re-draw. Their bootstrap builds the reference distribution instead:
    for each of ``n_resamples`` resamples it draws ``n`` units with
    replacement (covariates with their outcomes), fits a clone of ``design``
    to the resampled covariates (a whole Pipeline is refit, scaling
    included), and computes the statistic on the resampled outcomes with the
    design's new labels. skassign's designs draw which solved group becomes
    which arm at random (the case study's step 3), so the resampled
    statistics are centred at zero. The two-sided p-value is
    ``(1 + #{|T_b| >= |T_obs|}) / (1 + n_resamples)``; the one-sided forms
    count ``T_b >= T_obs`` (``"greater"``) or ``T_b <= T_obs`` (``"less"``).

    Every resample has its own :class:`numpy.random.SeedSequence` child
    (which units, and the seed of the design's clone), drawn up front from
    ``random_state``, so results are identical for any ``n_jobs`` and joblib
    backend (loky, threading, dask).

    Read more in the :ref:`User Guide <inference>`.

    Parameters
    ----------
    design : estimator
        The design that produced the assignment: a skassign design, a
        Pipeline ending in one, or any estimator with ``fit_predict``. Its
        ``random_state`` parameters are reseeded for every resample.
    n_resamples : int, default=1000
        Number of bootstrap resamples ``B``.
    statistic : {"mean_difference", "t", "regression_adjusted"} or callable, \
            default="mean_difference"
        Statistic of each treated arm against the control:
        ``"mean_difference"`` (treated mean minus control mean), ``"t"``
        (Welch's t), ``"regression_adjusted"`` (Lin's estimator: OLS of y on
        the arm indicators, the centred covariates ``X`` and their
        interactions), or a callable ``statistic(y_treated, y_control) ->
        float``.
    %(alternative)s
    confidence_level : float in (0, 1) or None, default=0.95
        Level of the confidence interval of each arm's additive effect;
        ``None`` skips the interval.
    %(test_runtime)s

    Attributes
    ----------
    %(test_statistic_)s
    pvalue_ : float or ndarray of shape (n_groups - 1,)
        P-value of every treated arm.
    null_distribution_ : ndarray of shape (n_resamples,) or \
            (n_resamples, n_groups - 1)
        Bootstrap statistics.
    %(test_interval_)s
    global_pvalue_ : float
        P-value of the global test that no arm has an effect, from the
        bootstrap distribution of the largest statistic.
    n_resamples_ : int
        Number of resamples.
    %(test_arms_)s

    See Also
    --------
    RandomizationTest : Exact test for random designs.

    Notes
    -----
    **Confidence interval.** Under a constant additive effect ``tau`` of
    the arm, ``y - tau`` (for its units) are the outcomes without treatment.
    The interval holds the ``tau`` whose adjusted outcomes the same bootstrap
    test does not reject at level ``1 - confidence_level``: the observed
    statistic is recomputed on the adjusted outcomes and compared with the
    statistics of the same resampled units and design labels with the
    adjusted outcomes. Because the design only sees covariates, the
    resamples are reused and no design is refit. At ``tau = 0`` this is the
    test itself, so the interval excludes 0 exactly when ``pvalue_ <=
    1 - confidence_level``. One-sided alternatives give one-sided intervals.
    With several treated arms, the other arms' effects are held at their
    estimates.

    References
    ----------
    .. [1] D. Bertsimas, M. Johnson and N. Kallus, "The power of optimization
       over randomization in designing experiments involving small samples",
       Operations Research 63(4), 868-876, 2015.
    .. [2] W. Lin, "Agnostic notes on regression adjustments to experimental
       data: reexamining Freedman's critique", Annals of Applied Statistics
       7(1), 295-318, 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.inference import BootstrapTest
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 1))
    >>> design = CompleteRandomization(random_state=0)
    >>> labels = design.fit_predict(X)
    >>> y = X[:, 0] + 2.0 * labels + rng.normal(scale=0.5, size=20)
    >>> test = BootstrapTest(design, n_resamples=199, random_state=0)
    >>> test = test.fit(X, y, labels)
    >>> f"{test.statistic_:.2f}", f"{test.pvalue_:.3f}"
    ('2.79', '0.005')
    >>> test.summary().columns.tolist()[:5]
    ['delta', 'pvalue', 'n_bootstrap', 'avg_delta_bootstrap', 'std_delta_bootstrap']
    """

    _null_name = "bootstrap"
    _summary_columns = (
        "delta",
        "n_bootstrap",
        "avg_delta_bootstrap",
        "std_delta_bootstrap",
    )

    def _resample(self, X, assignment, n_groups, fit_params):
        n_samples = assignment.shape[0]
        seeds = spawn_seeds(self.random_state, self.n_resamples)
        with (
            progress_bar(
                self.progress, total=len(seeds), desc="bootstrap", unit="fit"
            ) as bar,
            validated_once(self.design),
        ):
            results = parallel_in_order(
                _bootstrap_draw,
                [
                    (i, self.design, X, fit_params, seed, n_samples)
                    for i, seed in enumerate(seeds)
                ],
                n_jobs=self.n_jobs,
                verbose=self.verbose,
                bar=bar,
            )
        rows = np.array([rows for rows, _ in results], dtype=np.int64)
        labels = np.array([labels for _, labels in results], dtype=np.int64)
        return labels, rows
