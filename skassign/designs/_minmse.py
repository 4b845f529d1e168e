"""minMSE treatment assignment (Schneider & Schlather, 2017) by simulated annealing.

The estimator. The objective in whitened coordinates and its incremental
evaluation are in :mod:`skassign.designs._minmse_problem`; the annealing
itself is the shared local-search engine (:mod:`skassign.designs._search`).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from numbers import Integral, Real

import numpy as np
from threadpoolctl import ThreadpoolController

from skassign._sampling import draw_assignments, sampling_method
from skassign.base import BaseDesign
from skassign.designs import _minmse_problem
from skassign.designs._minmse_problem import (
    _anneal,
    _column_rms,
    _ridge_objective,
    _ridge_objective_batch,
    _whiten,
)
from skassign.metrics._minmse import _minmse_coefficients
from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import Interval, Options, StrOptions
from skassign.utils._progress import progress_bar
from skassign.utils.validation import interchangeable_groups

__all__ = ["MinMSE"]

# The search's pieces, under the names the tests and benchmarks import.
_Annealer, _draw_units = _minmse_problem._Annealer, _minmse_problem._draw_units
_MAX_BATCH, _temperatures = _minmse_problem._MAX_BATCH, _minmse_problem._temperatures

# A column whose mean is below this fraction of its root mean square is
# considered centred.
_CENTRED_RTOL = 1e-10


def _default_n_starts(iterations, n_samples):
    """Random starting assignments: R's rule, capped at 100."""
    r_rule = min(
        max(round(iterations / 100 * 5) - 1, n_samples - 1),
        round(iterations / 100 * 10) - 1,
    )
    return int(np.clip(r_rule + 1, 1, 100))


@lru_cache(maxsize=1)
def _blas_controller():
    """Return a controller of the BLAS thread pools (discovered once)."""
    return ThreadpoolController()


def _check_uncentred(X):
    """Refuse covariates whose means all vanish (the minMSE centring trap)."""
    rms = _column_rms(X)
    means = (X / np.where(rms > 0, rms, 1.0)).mean(axis=0) * rms
    active = rms > 0.0
    if not active.any():
        raise ValueError(
            "Every covariate of X is zero, so the minMSE objective is 0 for every "
            "assignment; give MinMSE covariates that vary."
        )
    centred = active & (np.abs(means) <= _CENTRED_RTOL * rms)
    if centred[active].all():
        raise ValueError(
            "Every covariate of X has mean zero (as StandardScaler() produces), "
            "so the minMSE objective xbar' [...] xbar is 0 for every assignment "
            "and MinMSE cannot balance anything. The objective is scale-invariant "
            "and needs uncentred covariates: drop the scaler, or use "
            "StandardScaler(with_mean=False) or skassign.metrics.minmse_scale, "
            "or set fit_intercept=True for an objective that ignores shifts."
        )
    if centred.any():
        warnings.warn(
            f"Covariates {np.flatnonzero(centred).tolist()} of X have mean zero; "
            "the minMSE objective balances them only through their correlation "
            "with the other covariates. If a scaler centred them, use "
            "StandardScaler(with_mean=False) instead.",
            UserWarning,
            stacklevel=8,
        )


@fill_doc
class MinMSE(BaseDesign):
    r"""Minimum-MSE treatment assignment (Schneider & Schlather, 2017).

    Chooses the assignment that minimises the mean squared error of the
    treatment-effect estimates in a linear model of the outcome on the
    covariates (without intercept), fitted separately in every arm. Arm 0 is
    the control and arms ``1..K`` (``K = n_groups - 1``) are treated; the
    objective (see :func:`~skassign.metrics.minmse_objective`) is

    .. math:: \bar x^\top \Big[ c_0 (X_0^\top X_0)^{-1}
              + \sum_{g=1}^{K} c_g (X_g^\top X_g)^{-1} \Big] \bar x

    with :math:`c_0 = K`, :math:`c_g = 1` by default, or the coefficients
    given by ``weights``. It is small when every arm's covariates spread
    like those of the whole sample and its mean is near the sample mean.

    The search is the simulated annealing of the R package ``minMSE`` and
    the Stata command ``minmse``: start from the best of a few random
    assignments; a move picks ``change`` units and rotates their labels
    (group sizes stay fixed, fixed units never move); a move that raises the
    objective by :math:`\Delta` is accepted with probability
    :math:`\exp(-\Delta / T_k)`; the best assignment seen is returned. The
    temperature at iteration :math:`k` is
    :math:`T_k = t_0 / \ln(\lfloor (k-1)/t_{max} \rfloor t_{max} + e)`
    (``cooling=1``) or
    :math:`T_k = t_0 / (\lfloor (k-1)/t_{max} \rfloor t_{max} + 1)`
    (``cooling=2``). Each proposal is evaluated by low-rank (Woodbury)
    updates of the arms' small inverse matrices, and proposals are
    evaluated in vectorised batches, so an iteration costs microseconds.

    The covariates are used as given (impute missing values in a Pipeline
    first). The objective does not change when covariates are rescaled, but
    it needs them **uncentred**: with column means of zero, as a
    ``StandardScaler()`` produces, it is 0 for every assignment, and ``fit``
    raises a ``ValueError``. Use ``StandardScaler(with_mean=False)``, no
    scaler, or :func:`~skassign.metrics.minmse_scale` (the R package's
    preprocessing), or set ``fit_intercept=True``.

    With ``strata`` given to ``fit``, the starting assignments spread every
    stratum evenly over the groups and every move rotates the labels of
    units of one stratum, so the spread is kept.

    Read more in the :ref:`User Guide <minmse>`.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups: the control (arm 0) and ``n_groups - 1`` treated
        arms (the R argument ``n_treatments`` plus one).
    %(group_sizes)s
    weights : array-like, default=None
        Importance of the treated arms (the R argument ``mse_weights``), of
        shape ``(n_groups - 1,)`` or ``(n_outcomes, n_groups - 1)``. A
        vector ``w`` gives arm ``g`` the coefficient ``w_g`` and the control
        ``sum(w)``; an integer matrix (one row per outcome) gives arm ``g``
        the coefficient ``sum_k W[k, g]`` and the control the product of the
        sums of the greatest common divisors of its columns and of its rows.
        ``None`` weighs every treated arm 1.
    iterations : int, default=5000
        Number of annealing moves. The R default, 50, rarely comes near the
        optimum; 5000 take a few hundredths of a second for up to a few
        hundred units. Fewer iterations leave more randomness in the
        assignment (see Notes).
    change : int, default=3
        Number of units whose labels each move rotates (at most the number
        of units free to move).
    cooling : {1, 2}, default=1
        Cooling scheme: 1 divides ``t0`` by a logarithm, 2 (faster) by the
        iteration count; see above.
    t0 : "auto" or float, default="auto"
        Starting temperature. ``"auto"`` sets it to the median absolute
        change of the objective over 256 random moves from the starting
        assignment, times ``clip(sqrt(25 / n_free), 0.3, 1.5)`` with
        ``n_free`` the number of units free to move: hot enough for small
        problems to leave local minima, cool enough for larger ones to
        settle within a few thousand iterations, whatever the scale of the
        objective. A negative value sets it relative to the objective of the
        starting assignment, :math:`f_{start} / |t_0|`, as in R and Stata. A
        positive value is used as given; R's default, 10, is far above the
        objective's scale after the R preprocessing, so that nearly every
        move is accepted.
    tmax : int, default=10
        Number of iterations at each temperature.
    fit_intercept : bool, default=False
        Whether the linear model behind the objective has an intercept. The
        R and Stata tools have none (``False``): their objective needs
        uncentred covariates, and with several treated arms or weights it
        favours giving the more heavily weighted arms (the control) the
        units with the largest covariate values, which leaves the arms'
        means apart (see Notes). With ``True`` a constant covariate is
        added: the objective then balances every arm's mean with the
        sample's, does not change when covariates are shifted, and accepts
        centred covariates (a ``StandardScaler()`` in front); ``objective_``
        is the objective of ``X`` with a column of ones. Recommended with
        more than two groups or with weights, unless the R or Stata
        assignment must be reproduced.
    random_state : int, RandomState instance or None, default=None
        Seed of the starting assignments, the moves and the acceptances.
    verbose : int, default=0
        0 is silent, 1 prints a summary of the search. Until skassign 0.3 a
        positive value without ``progress=True`` also shows the progress bar
        (with a ``FutureWarning``).
    progress : bool, default=False
        Show a progress bar (tqdm) of the annealing.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Group of each unit; 0 is the control.
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Size of every group.
    objective_ : float
        The minMSE objective of ``labels_`` (penalised for rank-deficient
        arms, see Notes); lower is better.
    trace_ : ndarray of shape (`n_iter_` + 1,)
        Best objective found after every iteration (index 0: the starting
        assignment), the curve the R and Stata tools plot; see
        :func:`~skassign.plotting.plot_trace`. Arms of equal size whose
        coefficients differ are also tried with their labels exchanged (the
        moves rarely exchange whole arms), and the better labelling is kept.
    current_trace_ : ndarray of shape (`n_iter_` + 1,)
        Objective of the current assignment after every iteration.
    n_iter_ : int
        Number of annealing iterations run (0 if no move can change the
        assignment, e.g. when at most one unit is free).
    t0_ : float
        Starting temperature used (``t0`` resolved if ``"auto"`` or
        negative).
    acceptance_rate_ : float
        Share of the moves that were accepted and changed the assignment.
    %(fitted_features)s

    See Also
    --------
    skassign.metrics.minmse_objective : The objective, exactly as the R
        package computes it.
    skassign.metrics.minmse_scale : The R package's preprocessing.
    skassign.plotting.plot_trace : Convergence plot of a fitted design.
    OptimalBalance : Mixed-integer optimisation of mean and second-moment
        discrepancies (Bertsimas et al.).

    Notes
    -----
    Partial assignment (the R argument ``prev_treatment``, Stata's
    ``assignment()``): pass ``fixed_labels`` to ``fit``, with the arm of the
    units already assigned and -1 for the others. Fixed units keep their arm
    and count towards balance, which re-balances after attrition or assigns
    a second day's units given the first day's.

    The objective is evaluated in whitened coordinates of ``X`` (directions
    that the pseudo-inverse of the R package would ignore are dropped). An
    arm whose :math:`X_g^\top X_g` is singular, e.g. a binary covariate that
    is constant within the arm, makes the R package's pseudo-inverse
    objective falsely small, so the R tool can prefer exactly such splits.
    Here every arm's matrix gets a small ridge, :math:`10^{-6}` times the
    average :math:`X^\top X / n`: this changes the objective of arms of full
    rank by a relative amount of order :math:`10^{-6}` or less, and makes a
    rank-deficient arm cost about :math:`10^{6}` times more. A warning says
    when arms are smaller than the rank of ``X`` (singular in every
    assignment) or when the best assignment found still has a
    rank-deficient arm (for example a binary covariate with fewer ones than
    groups).

    Without intercept, :math:`(X_g^\top X_g)^{-1}` shrinks as an arm's
    covariates grow in magnitude. With one treated arm and no weights the
    trade-off between the arms is symmetric and the minimum balances them;
    with several treated arms the control's coefficient exceeds the others'
    and the objective gains from giving the control the units with the
    largest covariate values. This is a property of the R and Stata tools'
    objective, not of the search; ``fit_intercept=True`` removes it.

    Differences from the R package, beyond the ridge: group sizes are as
    equal as possible (R draws them when ``n`` is not a multiple of the
    number of groups); the starting assignment is the best of R's number of
    random draws, capped at 100; ``change`` is capped at the number of free
    units. For randomisation inference, draw many optimised assignments with
    :meth:`sample_assignments` (the R arguments ``desired_test_vectors`` and
    ``percentage_equal_treatments``) and keep ``iterations`` low enough for
    the annealing not to converge to a single assignment.

    References
    ----------
    .. [1] S. O. Schneider and M. Schlather, "A new approach to treatment
       assignment for one and multiple treatment groups", Courant Research
       Centre: Poverty, Equity and Growth, Discussion Paper 228, 2017.
    .. [2] C. J. P. Belisle, "Convergence theorems for a class of simulated
       annealing algorithms on R^d", Journal of Applied Probability 29(4),
       885-895, 1992.

    Examples
    --------
    The example of the R package: ten pupils, three covariates, two treated
    arms weighted 1 and 2, pupils 1 and 5 already assigned.

    >>> import numpy as np
    >>> from skassign.designs import MinMSE
    >>> X = np.array([[10, 2, 1], [20, 6, 0], [30, 2, 2], [40, 8, 1],
    ...               [130, 1, 0], [40, 10, 1], [120, 9, 0], [5, 8, 2],
    ...               [10, 7, 1], [80, 5, 0]], dtype=float)
    >>> fixed = [0, -1, -1, -1, 1, -1, -1, -1, -1, -1]
    >>> design = MinMSE(n_groups=3, weights=[1, 2], iterations=2000,
    ...                 random_state=0).fit(X, fixed_labels=fixed)
    >>> design.labels_[[0, 4]]
    array([0, 1])
    >>> np.bincount(design.labels_)
    array([3, 3, 4])
    >>> f"{design.objective_:.4f}"
    '2.0808'
    """

    # Its objective vanishes on centred covariates (see _check_uncentred).
    _scaler_advice = "StandardScaler(with_mean=False)"

    # Its objective vanishes on centred covariates (see _check_uncentred).
    _scaler_advice = "StandardScaler(with_mean=False)"

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "weights": ["array-like", None],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "change": [Interval(Integral, 2, None, closed="left")],
        "cooling": [Options(Integral, {1, 2})],
        # A temperature: non-zero and finite (negative: relative to f_start).
        "t0": [
            Interval(Real, None, 0, closed="neither"),
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "tmax": [Interval(Integral, 1, None, closed="left")],
        "fit_intercept": ["boolean"],
        "verbose": ["verbose"],
        "progress": ["boolean"],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        group_sizes=None,
        weights=None,
        iterations=5000,
        change=3,
        cooling=1,
        t0="auto",
        tmax=10,
        fit_intercept=False,
        random_state=None,
        verbose=0,
        progress=False,
    ):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.weights = weights
        self.iterations = iterations
        self.change = change
        self.cooling = cooling
        self.t0 = t0
        self.tmax = tmax
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.verbose = verbose
        self.progress = progress

    def _coefficients(self):
        return _minmse_coefficients(self.weights, self.n_groups - 1)

    def _assign(self, X, sizes, fixed, rng, strata=None):
        # The search does many small matrix products; threaded BLAS only adds
        # overhead there (and contention when fits run in parallel).
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._search(X, sizes, fixed, rng, strata)

    def _search(self, X, sizes, fixed, rng, strata=None):
        coef = self._coefficients()
        Z = self._whitened(X)
        rank = Z.shape[1]
        small = np.flatnonzero(sizes < rank)
        if small.size:
            g = int(small[0])
            warnings.warn(
                f"Group {g} has {int(sizes[g])} units but the covariates span "
                f"{rank} dimensions, so X_g'X_g is singular in every assignment: "
                "the minMSE objective is then dominated by the penalty for "
                "rank-deficient groups and says little about balance. Use fewer "
                "covariates (e.g. PCA(n_components=...) in a Pipeline) or fewer, "
                "larger groups.",
                UserWarning,
                stacklevel=6,
            )
        n_samples = X.shape[0]
        n_starts = _default_n_starts(self.iterations, n_samples)
        if strata is None:
            starts = draw_assignments(sizes, fixed, rng, n_starts)
        else:
            # Starts meet the strata's counts and moves keep them.
            starts = strata.draw(fixed, rng, n_starts)
        labels = starts[np.argmin(_ridge_objective_batch(Z, starts, coef))]
        free = np.flatnonzero(fixed < 0)
        n_fixed = np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0])
        movable = free.shape[0] >= 2
        if strata is not None and movable:
            movable = np.bincount(strata.codes[free]).max() >= 2
        if not movable or np.count_nonzero(sizes > n_fixed) < 2:
            value = _ridge_objective(Z, labels, coef)
            self.trace_ = np.array([value])
            self.current_trace_ = self.trace_.copy()
            self.n_iter_, self.t0_, self.acceptance_rate_ = 0, 0.0, 0.0
            return labels
        progress = self.progress
        if self.verbose and not progress:
            warnings.warn(
                "MinMSE(verbose=...) shows a progress bar only until skassign "
                "0.3, where verbose prints a summary of the search (as it "
                "already does) and progress=True shows the bar, as everywhere "
                "in skassign. Pass progress=True for the bar.",
                FutureWarning,
                stacklevel=6,
            )
            progress = True
        with progress_bar(
            progress, total=self.iterations, desc="MinMSE", unit="it"
        ) as bar:
            labels, trace, current, n_moved, t0 = _anneal(
                Z,
                coef,
                labels,
                free,
                iterations=self.iterations,
                change=self.change,
                cooling=self.cooling,
                t0=self.t0,
                tmax=self.tmax,
                rng=rng,
                # Arms of equal size without fixed units, whatever their
                # coefficients: the relabeling the search keeps the best of.
                classes=list(
                    interchangeable_groups(super()._arm_classes(sizes, fixed)).values()
                ),
                progress=bar,
                strata=None if strata is None else strata.codes,
            )
        self.trace_, self.current_trace_ = trace, current
        self.n_iter_, self.t0_ = self.iterations, t0
        self.acceptance_rate_ = n_moved / self.iterations
        if self.verbose:
            print(
                f"[MinMSE] objective {trace[-1]:.6g} after {self.n_iter_} "
                f"iterations from {trace[0]:.6g} (t0 {t0:.4g}, "
                f"{self.acceptance_rate_:.1%} of the moves accepted)"
            )
        if not small.size:
            _warn_rank_deficient(Z, labels, sizes.shape[0])
        return labels

    def _whitened(self, X):
        """Whitened covariates, with the intercept or the centring check."""
        if self.fit_intercept:
            return _whiten(np.column_stack([np.ones(X.shape[0]), X]))
        _check_uncentred(X)
        return _whiten(X)

    def _objective(self, X, labels):
        """Return the penalised minMSE objective of ``labels`` (lower is better)."""
        if self.fit_intercept:
            X = np.column_stack([np.ones(X.shape[0]), X])
        return _ridge_objective(_whiten(X), labels, self._coefficients())

    def _arm_classes(self, sizes, fixed):
        """Arms are interchangeable if they have equal size and coefficient.

        The control's coefficient differs from the treated arms' unless there
        is a single treated arm with symmetric weights.
        """
        coef = self._coefficients()
        return [
            key if key[0] == "fixed" else (*key, float(coef[g]))
            for g, key in enumerate(super()._arm_classes(sizes, fixed))
        ]

    sample_assignments = sampling_method(
        0.01,
        summary="""Draw optimised assignments of the units of ``X`` with fresh seeds.

    The R package's ``desired_test_vectors`` (``n_assignments``) and
    ``percentage_equal_treatments`` (``max_duplicate_fraction``, as a
    fraction): every assignment is a fit of this design with its own
    seed, and at most ``max_duplicate_fraction`` of them may repeat an
    earlier one. These are the assignments a randomisation test compares
    the observed one with (:class:`~skassign.inference.RandomizationTest`).""",
        duplicates="""
        The R default is 1%. If the annealing converges to few distinct
        assignments, fewer are returned with a warning: lower
        ``iterations``.""",
        examples="""    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import MinMSE
    >>> X = np.random.default_rng(0).normal(3.0, 1.0, size=(12, 2))
    >>> A = MinMSE(iterations=200, random_state=0).sample_assignments(X, 5)
    >>> A.shape
    (5, 12)
""",
    )


def _warn_rank_deficient(Z, labels, n_groups):
    """Warn if an arm of the chosen assignment has rank-deficient covariates."""
    for g in range(n_groups):
        Zg = Z[labels == g]
        eig = np.linalg.eigvalsh(Zg.T @ Zg)
        if eig.size and eig[0] <= np.sqrt(np.finfo(np.float64).eps) * eig[-1]:
            warnings.warn(
                f"The covariates of group {g} are rank deficient in the best "
                "assignment found (e.g. a binary covariate constant within the "
                "group, or one with fewer distinct values than groups): the "
                "minMSE objective cannot balance that direction. Drop or merge "
                "such covariates, or use larger groups.",
                UserWarning,
                stacklevel=7,
            )
            return
