"""Fisher randomisation test: re-draw assignments from the design."""

from __future__ import annotations

import warnings

import numpy as np

from skassign._sampling import sample_assignments
from skassign.inference._resampling import BaseResamplingTest
from skassign.utils._docstrings import fill_doc
from skassign.utils.validation import check_fixed_labels

__all__ = ["RandomizationTest"]


def _canonical_splits(labels):
    """Relabel every row by order of first appearance (the split, not the names)."""
    canonical = np.empty_like(labels)
    for b, row in enumerate(labels):
        _, first, inverse = np.unique(row, return_index=True, return_inverse=True)
        rank = np.empty_like(first)
        rank[np.argsort(first)] = np.arange(first.shape[0])
        canonical[b] = rank[inverse]
    return canonical


_MIN_DRAWS_DETERMINISTIC = 20


def _check_fixed_agree(fit_params, assignment, n_groups):
    """Refuse ``fixed_labels`` that contradict the observed assignment.

    The re-drawn assignments keep the fixed units in their groups, so an
    observed assignment that moves one of them cannot come from the design
    the test re-draws from: its p-value would refer to another experiment.
    """
    for key, value in (fit_params or {}).items():
        if key != "fixed_labels" and not key.endswith("__fixed_labels"):
            continue
        if value is None:
            continue
        fixed = check_fixed_labels(value, assignment.shape[0], n_groups)
        wrong = np.flatnonzero((fixed >= 0) & (fixed != assignment))
        if wrong.size:
            i = int(wrong[0])
            raise ValueError(
                f"{key} fixes unit {i} in group {int(fixed[i])} but the observed "
                f"assignment puts it in group {int(assignment[i])} ({wrong.size} "
                "unit(s) disagree): the design with these fixed units cannot have "
                "produced this assignment, so the re-drawn assignments are not "
                "its randomisation distribution. Pass the fixed_labels the "
                "assignment was made with."
            )


@fill_doc
class RandomizationTest(BaseResamplingTest):
    """Fisher randomisation test of the sharp null of no effect for any unit.

    Under Fisher's sharp null every unit's outcome is the same whatever its
    arm, so the outcomes ``y`` stay fixed while the assignment is re-drawn
    from the design that produced it: ``n_resamples`` clones of ``design``
    are fit on the same units with fresh seeds
    (:func:`skassign.base.sample_assignments`), and the observed statistic is
    compared with its values under the re-drawn assignments. The two-sided
    p-value is ``(1 + #{|T_b| >= |T_obs|}) / (1 + n_resamples)`` (one-sided:
    ``T_b >= T_obs`` or ``T_b <= T_obs``). Because the re-drawn assignments
    have exactly the distribution of the observed one, the test is exact
    for any design with enough randomness: complete or block randomisation,
    rerandomisation, or a stochastic optimiser such as minMSE's simulated
    annealing stopped early. A design that always returns the same split
    cannot be tested this way (use :class:`BootstrapTest`).

    Results are identical for any ``n_jobs`` and joblib backend: each draw
    has its own :class:`numpy.random.SeedSequence` child.

    Read more in the :ref:`User Guide <inference>`.

    Parameters
    ----------
    design : estimator
        The design that produced the assignment (a skassign design, a
        Pipeline ending in one, or any estimator with ``fit_predict`` whose
        ``random_state`` parameters drive its randomness).
    n_resamples : int, default=1000
        Number of re-drawn assignments (the R minMSE tool's
        ``desired_test_vectors``). Duplicates are kept: they are draws from
        the design's distribution.
    statistic : {"mean_difference", "t", "regression_adjusted"} or callable, \
            default="mean_difference"
        Statistic of each treated arm against the control:
        ``"mean_difference"``, ``"t"`` (Welch), ``"regression_adjusted"``
        (Lin's estimator with the covariates ``X``), or a callable
        ``statistic(y_treated, y_control) -> float``.
    %(alternative)s
    confidence_level : float in (0, 1) or None, default=0.95
        Level of the confidence interval of each arm's additive effect and
        the level against which the attainable p-value is checked; ``None``
        skips the interval (the check then uses 0.05).
    %(test_runtime)s

    Attributes
    ----------
    %(test_statistic_)s
    pvalue_ : float or ndarray of shape (n_groups - 1,)
        P-value of every treated arm (each tests the sharp null of no effect
        of any treatment, with that arm's statistic).
    null_distribution_ : ndarray of shape (n_resamples,) or \
            (n_resamples, n_groups - 1)
        Statistics under the re-drawn assignments.
    %(test_interval_)s
    global_pvalue_ : float
        P-value of the global sharp null, from the randomisation
        distribution of the largest statistic.
    n_unique_ : int
        Number of distinct assignments among the draws.
    min_pvalue_ : float
        Smallest p-value this test can report for the observed assignment:
        ``(1 + m) / (1 + n_resamples)`` with ``m`` the number of draws equal
        to it (a design with few distinct assignments re-draws the observed
        one often).
    n_resamples_ : int
        Number of draws.
    %(test_arms_)s

    See Also
    --------
    BootstrapTest : Bootstrap test for deterministic (optimisation) designs.
    skassign.base.sample_assignments : The draws.

    Notes
    -----
    **Confidence interval.** Under a constant additive effect ``tau`` of the
    arm, the outcomes without treatment are ``y - tau`` for its units and
    ``y`` for the others (Rosenbaum, 2002). The test applied to these
    adjusted outcomes with the same draws gives ``p(tau)``; the interval is
    ``{tau : p(tau) > 1 - confidence_level}``, its ends found by doubling
    steps from the estimate and bisection. One-sided alternatives give
    one-sided intervals. With several treated arms the other arms' effects
    are held at their estimates, so those intervals are approximate.

    References
    ----------
    .. [1] P. R. Rosenbaum, "Observational Studies", 2nd ed., Springer,
       2002, section 2.4.
    .. [2] S. O. Schneider and M. Schlather, "A new approach to treatment
       assignment for one and multiple treatment groups", CRC-PEG Discussion
       Paper 228, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import Rerandomization
    >>> from skassign.inference import RandomizationTest
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 2))
    >>> design = Rerandomization(acceptance_prob=0.1, random_state=0)
    >>> labels = design.fit_predict(X)
    >>> y = X.sum(axis=1) + 1.0 * labels + rng.normal(scale=0.5, size=20)
    >>> test = RandomizationTest(design, n_resamples=500, random_state=0)
    >>> test = test.fit(X, y, labels)
    >>> f"{test.statistic_:.2f}", f"{test.pvalue_:.3f}", test.n_unique_
    ('1.26', '0.004', 496)
    >>> low, high = test.confidence_interval_
    >>> bool(low < test.effect_ < high)
    True
    """

    _null_name = "re-randomised"
    _summary_columns = ("statistic", "n_randomizations", "null_mean", "null_std")

    def _resample(self, X, assignment, n_groups, fit_params):
        _check_fixed_agree(fit_params, assignment, n_groups)
        labels = sample_assignments(
            self.design,
            X,
            self.n_resamples,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            progress=self.progress,
            verbose=self.verbose,
            fit_params=fit_params or None,
        )
        return labels, None

    def _smallest_pvalue(self):
        return self.min_pvalue_

    def _diagnose_resamples(self, labels, assignment):
        n_draws = labels.shape[0]
        splits = np.unique(_canonical_splits(labels), axis=0)
        # A few draws of a random design can coincide by chance; only many
        # identical splits show that the design is deterministic.
        if splits.shape[0] == 1 and n_draws >= _MIN_DRAWS_DETERMINISTIC:
            raise ValueError(
                f"The design returned the same split of the units in all "
                f"{n_draws} draws (only which group is treated changes): "
                "it is deterministic, so a randomisation test has no "
                "randomness to use and its p-value would always be 1. Use "
                "BootstrapTest for optimisation designs, or keep the design "
                "random (fewer iterations, a looser threshold)."
            )
        self.n_unique_ = int(np.unique(labels, axis=0).shape[0])
        n_observed = int(np.all(labels == assignment, axis=1).sum())
        self.min_pvalue_ = (1.0 + n_observed) / (1.0 + n_draws)
        alpha = 0.05 if self.confidence_level is None else 1 - self.confidence_level
        if self.min_pvalue_ > alpha or self.n_unique_ * alpha < 1:
            if (n_draws + 1) * alpha < 1:
                advice = "Increase n_resamples."
            else:
                advice = (
                    "More draws will not help: make the design more random "
                    "(fewer iterations, a looser threshold) or use BootstrapTest."
                )
            warnings.warn(
                f"Only {self.n_unique_} distinct assignments among the "
                f"n_resamples={n_draws} draws (the observed one drawn "
                f"{n_observed} times): p-values below about "
                f"{max(self.min_pvalue_, 1 / self.n_unique_):.3g} cannot be "
                f"reached, too few for the level {alpha:.3g}. {advice}",
                UserWarning,
                stacklevel=4,
            )
        elif n_observed == 0 and 2 * self.n_unique_ <= n_draws:
            warnings.warn(
                f"The design produced only {self.n_unique_} distinct "
                f"assignments in {n_draws} draws, none equal to the observed "
                "one: was the assignment produced by this design with these "
                "settings? The randomisation test assumes it was.",
                UserWarning,
                stacklevel=4,
            )
