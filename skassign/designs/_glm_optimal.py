"""GLMOptimal: EW D- and A-optimal allocation under a GLM with priors.

The estimator (:class:`GLMOptimal`), the evaluation state that the search
moves (:class:`GLMProblem`: current allocation, every draw's information
matrix, inverse and log-determinant, incremental ``delta``/``apply``), and
the hybrid variable neighbourhood search (:func:`hybrid_vns`) driving it.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from skassign.base import BaseDesign, draw_assignments
from skassign.exceptions import InfeasibleDesignError
from skassign.metrics._glm import FAMILIES, GLMModel
from skassign.utils._param_validation import Interval, StrOptions
from skassign.utils.validation import (
    check_assignment,
    check_fixed_labels,
    resolve_group_sizes,
)

__all__ = ["GLMOptimal", "GLMProblem", "hybrid_vns"]

# Random allocations whose median criterion defines efficiency_vs_random_.
N_RANDOM_REFERENCE = 100
# Largest shaking neighbourhood (number of random moves).
MAX_SHAKE = 8
# Random starts tried to reach max_imbalance before giving up.
MAX_FEASIBILITY_STARTS = 20
_NO_LIMIT = np.iinfo(np.int64).max // 2


class GLMProblem:
    """Evaluation state of an allocation under a :class:`GLMModel`.

    Holds the current labels, every prior draw's shifted information matrix,
    its inverse, log-determinant and inverse trace, and the per-arm covariate
    statistics of the Mahalanobis imbalance. ``delta(move)`` evaluates a move
    by a low-rank update (rank 4 for a swap, rank 2 for a single move) and
    ``apply(move)`` performs it. A move is ``(units, new_arms)``.

    Parameters
    ----------
    model : GLMModel
        Log-weights of every unit in every arm (and the criterion).
    labels : ndarray of shape (n_samples,)
        Starting allocation.
    """

    def __init__(self, model, labels):
        # numba compiles (or loads) the kernels on first use only
        from skassign.designs import _glm_kernels

        self._k = _glm_kernels
        self.model = model
        self.X = np.ascontiguousarray(model.X)
        self.n_arms = model.n_arms
        self.crit = 0 if model.criterion == "D" else 1
        self.variant = model.variant
        self.logw = np.ascontiguousarray(model.logw)
        self.shift = self.logw.reshape(self.logw.shape[0], -1).max(axis=1)
        with np.errstate(under="ignore"):
            self.W = np.exp(self.logw - self.shift[:, None, None])
        N, K = self.logw.shape[0], model.n_params
        self.geo = _geometry(self.X, self.n_arms)
        self.S = np.zeros((N, K, K))
        self.A = np.zeros((N, K, K))
        self.ld = np.zeros(N)
        self.lt = np.zeros(N)
        self.graded = np.zeros(N, dtype=np.bool_)
        self.reset(labels)

    def reset(self, labels):
        """Rebuild everything from ``labels`` (the full ``O(N n K^2)`` build)."""
        self.labels = np.array(labels, dtype=np.int64)
        self._k.build_all(
            self.W,
            self.logw,
            self.shift,
            self.X,
            self.geo,
            self.labels,
            self.n_arms,
            self.S,
            self.A,
            self.ld,
            self.lt,
            self.graded,
        )
        self.counts, self.sums, self.outer = self._k.imbalance_stats(
            self.X, self.labels, self.n_arms
        )
        self.value = self.objective()

    def objective(self):
        """Log criterion of the current allocation."""
        return float(
            self._k.combine(
                self._k.draw_values(self.ld, self.lt, self.crit),
                self.variant,
            )
        )

    def _move(self, move):
        units, new = move
        units = np.asarray(units, dtype=np.int64)
        new = np.asarray(new, dtype=np.int64)
        return units, self.labels[units].copy(), new, units.shape[0]

    def delta(self, move):
        """Change of the log criterion if ``move`` were applied."""
        units, old, new, nchg = self._move(move)
        values = np.empty(self.W.shape[0])
        after = self._k.evaluate_move(
            units,
            old,
            new,
            nchg,
            self.W,
            self.logw,
            self.shift,
            self.X,
            self.geo,
            self.labels,
            self.n_arms,
            self.A,
            self.ld,
            self.lt,
            self.graded,
            self.crit,
            self.variant,
            values,
            self._k.make_scratch(self.model.n_params),
        )
        return float(after) - self.value

    def imbalance(self):
        """Mahalanobis imbalance (arms' own covariances) of the allocation."""
        return float(self._k.imbalance(self.counts, self.sums, self.outer))

    def imbalance_after(self, move):
        """Imbalance if ``move`` were applied."""
        units, old, new, nchg = self._move(move)
        return float(
            self._k.imbalance_after(
                self.X, units, old, new, nchg, self.counts, self.sums, self.outer
            )
        )

    def apply(self, move):
        """Apply ``move``; returns the new log criterion."""
        units, old, new, nchg = self._move(move)
        self._k.apply_move(
            units,
            old,
            new,
            nchg,
            self.W,
            self.logw,
            self.shift,
            self.X,
            self.geo,
            self.labels,
            self.n_arms,
            self.S,
            self.A,
            self.ld,
            self.lt,
            self.graded,
        )
        self._k.apply_stats(
            self.X, units, old, new, nchg, self.counts, self.sums, self.outer
        )
        self.value = self.objective()
        return self.value

    def snapshot(self):
        """Copy of the state, for :meth:`restore`."""
        return tuple(
            a.copy()
            for a in (
                self.labels,
                self.S,
                self.A,
                self.ld,
                self.lt,
                self.graded,
                self.counts,
                self.sums,
                self.outer,
            )
        ) + (self.value,)

    def restore(self, snap):
        """Return to a :meth:`snapshot`."""
        (
            self.labels,
            self.S,
            self.A,
            self.ld,
            self.lt,
            self.graded,
            self.counts,
            self.sums,
            self.outer,
            self.value,
        ) = (a.copy() if isinstance(a, np.ndarray) else a for a in snap)

    def local_search(
        self,
        free,
        *,
        free_sizes,
        min_size,
        max_imbalance,
        seed,
        mode=0,
        target=0.0,
        max_evals=_NO_LIMIT,
        classes=None,
    ):
        """Compiled first-improvement descent (``_glm_kernels.local_search``)."""
        current = self.value if mode == 0 else self.imbalance()
        value, n_eval, _ = self._k.local_search(
            self.W,
            self.logw,
            self.shift,
            self.X,
            self.geo,
            self.labels,
            self.n_arms,
            self.S,
            self.A,
            self.ld,
            self.lt,
            self.graded,
            self.crit,
            self.variant,
            free,
            free_sizes,
            min_size,
            max_imbalance,
            self.counts,
            self.sums,
            self.outer,
            mode,
            target,
            seed,
            max_evals,
            current,
            np.zeros(self.labels.shape[0], dtype=np.int64)
            if classes is None
            else classes,
        )
        self.value = self.objective()
        return float(value), int(n_eval)


def _geometry(X, n_arms):
    """Centred, scaled covariates and the matching corrections.

    ``u' = T u`` with ``x' = (x - mean) / sd`` (the arm indicators sum to 1,
    so centring is a change of coordinates): ``log|I| = log|I'| + 2 sum log
    sd`` and ``tr(I^-1) = tr(G I'^-1)`` with ``G = T T^T``.
    """
    n, p = X.shape
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[~(sd > 0)] = 1.0
    Xs = np.ascontiguousarray((X - mean) / sd)
    K = n_arms + p
    T = np.eye(K)
    T[n_arms:, :n_arms] = -(mean / sd)[:, None]
    T[n_arms:, n_arms:] = np.diag(1.0 / sd)
    return Xs, np.ascontiguousarray(T @ T.T), float(2.0 * np.log(sd).sum())


def _random_start(sizes, fixed, rng):
    return draw_assignments(sizes, fixed, rng)


def _shake(
    problem, free, n_moves, free_sizes, min_size, max_imbalance, rng, classes=None
):
    """Apply ``n_moves`` random feasible moves (swaps, or single moves)."""
    labels = problem.labels
    n_arms = problem.n_arms
    for _ in range(n_moves):
        for _attempt in range(20):
            i = free[rng.randint(free.shape[0])]
            if free_sizes and rng.rand() < 0.5:
                a = labels[i]
                if np.count_nonzero(labels == a) <= min_size:
                    continue
                b = (a + 1 + rng.randint(n_arms - 1)) % n_arms
                move = ([i], [b])
            else:
                others = free[labels[free] != labels[i]]
                if classes is not None:
                    others = others[classes[others] == classes[i]]
                if others.size == 0:
                    break
                j = others[rng.randint(others.size)]
                move = ([i, j], [labels[j], labels[i]])
            if max_imbalance < np.inf and problem.imbalance_after(move) > (
                max_imbalance
            ):
                continue
            problem.apply(move)
            break


def hybrid_vns(
    problem,
    sizes,
    fixed,
    *,
    free_sizes=False,
    min_size=1,
    max_imbalance=np.inf,
    max_iter=100,
    time_limit=None,
    rng=None,
    trace=None,
    strata=None,
):
    """Hybrid variable neighbourhood search (Hore et al., 2014, 2016).

    From a random allocation (made feasible for ``max_imbalance`` by a
    descent on the imbalance), alternate shaking (``k`` random moves, ``k``
    growing from 1 to ``MAX_SHAKE`` while shaking fails) and a compiled local
    search; an improvement is kept and resets ``k`` to 1. With a cap, half of
    the shakes ignore it and are repaired by a descent on the imbalance. When every
    neighbourhood failed, a stochastic restart draws a new random start. The
    best allocation over all restarts is returned. ``max_iter`` counts
    shake-and-descend iterations; ``time_limit`` (seconds) is checked between
    them.

    Returns ``(labels, log_criterion, n_iter, n_restarts, n_evaluations)``.
    """
    rng = check_random_state(rng)
    free = np.flatnonzero(fixed < 0).astype(np.int64)
    # with strata, swaps stay within a stratum (which keeps its counts)
    classes = None if strata is None else np.asarray(strata.codes, dtype=np.int64)
    start_time = time.perf_counter()
    deadline = np.inf if time_limit is None else start_time + time_limit
    best_labels, best_value = None, np.inf
    n_iter, n_restarts, n_eval = 0, 0, 0

    def search(mode=0, target=0.0):
        nonlocal n_eval
        value, evals = problem.local_search(
            free,
            free_sizes=free_sizes,
            min_size=min_size,
            max_imbalance=max_imbalance,
            seed=rng.randint(2**31 - 1),
            mode=mode,
            target=target,
            classes=classes,
        )
        n_eval += evals
        return value

    def start():
        for _ in range(MAX_FEASIBILITY_STARTS):
            problem.reset(
                _random_start(sizes, fixed, rng)
                if strata is None
                else strata.draw(fixed, rng)
            )
            if max_imbalance == np.inf or problem.imbalance() <= max_imbalance:
                return True
            if search(mode=1, target=max_imbalance) <= max_imbalance:
                problem.value = problem.objective()
                return True
        return False

    while True:
        if not start():
            if best_labels is None:
                raise InfeasibleDesignError(
                    f"No allocation with Mahalanobis imbalance <= {max_imbalance:.6g} "
                    f"was found from {MAX_FEASIBILITY_STARTS} random starts; "
                    "raise max_imbalance (or imbalance_quantile)."
                )
            break
        search()
        if trace is not None:
            trace.append((problem.value, problem.imbalance()))
        k = 1
        while k <= MAX_SHAKE and n_iter < max_iter:
            if time.perf_counter() > deadline:
                break
            snap = problem.snapshot()
            before = problem.value
            # With a cap, half of the shakes ignore it and a descent on the
            # imbalance repairs them: a move the criterion needs (an
            # influential unit changing arms) often breaks the cap alone and
            # is admissible only together with rebalancing moves.
            free_shake = max_imbalance < np.inf and rng.rand() < 0.5
            cap = np.inf if free_shake else max_imbalance
            _shake(problem, free, k, free_sizes, min_size, cap, rng, classes)
            if free_shake and problem.imbalance() > max_imbalance:
                search(mode=1, target=max_imbalance)
            feasible = problem.imbalance() <= max_imbalance
            if feasible:
                search()
            n_iter += 1
            if feasible and problem.value < before - 1e-10 * (1.0 + abs(before)):
                k = 1
            else:
                problem.restore(snap)
                k += 1
            if trace is not None:
                trace.append((problem.value, problem.imbalance()))
        if problem.value < best_value:
            best_value, best_labels = problem.value, problem.labels.copy()
        if n_iter >= max_iter or time.perf_counter() > deadline:
            break
        n_restarts += 1
    return best_labels, best_value, n_iter, n_restarts, n_eval


class GLMOptimal(BaseDesign):
    """EW D- or A-optimal allocation under a GLM with priors (hybrid VNS).

    The allocation of the GLM allocation paper (seed 002): units with known
    covariates go to arms so that the treatment and covariate effects of a
    generalised linear model (Gaussian, Poisson with log link, logistic) are
    estimated as precisely as possible, averaged over a prior on the
    parameters. The design matrix has one indicator column per arm then the
    covariates; the criterion is the determinant (D) or trace (A) of the
    dispersion matrix, in one of three variants (see
    :func:`~skassign.metrics.glm_criterion`): the prior expectation of the
    information matrix, inverted (1, the EW criterion of the paper's
    eq. 2.6-2.7; closed form for the Poisson family with normal, uniform and
    Laplace priors); the expectation of the dispersion's determinant or trace
    over prior draws (2); the worst draw (3). A hybrid variable neighbourhood
    search minimises it; with ``max_imbalance`` or ``imbalance_quantile`` only
    allocations whose Mahalanobis imbalance (eq. 5.1, the arms' own
    covariances) is at most the cap are admissible (the paper's section 6).

    Time: a move changes the rows of two units (one with free sizes), so
    every prior draw's information matrix is updated by a rank-4 (rank-2)
    change in ``O(K^2)`` (``K`` = arms + covariates) instead of rebuilt in
    ``O(n K^2)``; the evaluation of a move costs ``O(N K^2)`` for ``N``
    prior draws (one for variant 1, whose expectation is taken once per fit),
    and the number of moves the descent scans (``O(n^2)`` swaps per pass)
    dominates. Draws whose weights span hundreds of orders of magnitude
    (extreme priors at large covariates) cannot be held in doubles and are
    recomputed exactly (``O(n K^2)``) for every move, which dominates then.

    Read more in the :ref:`User Guide <glm_optimal>`.

    Parameters
    ----------
    n_groups : int, default=2
        Number of arms.
    family : {"gaussian", "poisson", "logistic"}, default="poisson"
        GLM family (canonical link).
    criterion : {"D", "A"}, default="D"
        Determinant or trace of the dispersion matrix.
    variant : {1, 2, 3}, default=1
        ``|(E I)^-1|`` (1), ``E |I^-1|`` (2) or ``max_k |I_k^-1|`` (3); the
        same with the trace for ``criterion="A"``.
    prior : dict or None, default=None
        Parameter name to frozen :mod:`scipy.stats` distribution: ``mu1`` ...
        ``mum`` for the arm effects (``mu1`` is arm 0) and ``beta1`` ...
        ``betap`` for the covariates in column order. ``None``: standard
        normal priors (set your own: the design depends on them).
    n_prior_samples : int, default=1000
        Prior draws for the Monte Carlo cases (variants 2 and 3, logistic,
        priors without closed form), drawn once per fit from
        ``random_state`` and shared by every candidate allocation.
    max_imbalance : float or None, default=None
        Largest admissible Mahalanobis imbalance ``M``.
    imbalance_quantile : float in (0, 1) or None, default=None
        Cap ``M`` at this quantile of the chi-square distribution with
        ``n_features`` degrees of freedom (0.1 with two covariates gives
        0.21072). Exclusive with ``max_imbalance``.
    group_sizes : array-like of int, "free" or None, default=None
        ``None``: sizes as equal as possible; ``"free"``: any sizes with at
        least ``min_group_size`` units per arm (the paper's search over all
        ``2^n - 2`` allocations).
    min_group_size : int, default=1
        Smallest arm with ``group_sizes="free"``.
    max_iter : int, default=20
        Shake-and-descend iterations of the search, over all restarts.
    time_limit : float or None, default=None
        Seconds after which the search stops (checked between iterations).
    random_state : int, RandomState instance or None, default=None
        Seeds the prior draws, the starts and the search.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Arm of every unit.
    group_sizes_ : ndarray of shape (n_groups,), dtype int64
        Size of every arm.
    objective_ : float
        Natural log of the criterion at ``labels_`` (lower is better).
    efficiency_vs_random_ : float
        Criterion of the median of 100 random allocations (the design's sizes
        and fixed units; as equal as possible with free sizes) over the
        design's: the paper's efficiency against random allocation.
    imbalance_ : float
        Mahalanobis imbalance of ``labels_`` (arms' own covariances).
    max_imbalance_ : float
        The cap used (``inf`` without one).
    prior_method_ : str
        ``"closed_form"``, ``"monte_carlo"`` or ``"none"`` (Gaussian family).
    n_iter_ : int
        Iterations run.
    n_restarts_ : int
        Stochastic restarts.
    n_evaluations_ : int
        Moves evaluated.
    n_features_in_ : int
        Number of covariates seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Covariate names, when ``X`` has string column names.

    See Also
    --------
    skassign.metrics.glm_criterion : The criterion of any allocation.
    OptimalBalance : Balance of covariate moments (linear outcomes).

    References
    ----------
    Hore, S., Dewanji, A. and Chatterjee, A. D- and A-optimal allocation
    designs under GLM with known covariates (seed 002). Yang, J., Mandal, A.
    and Majumdar, D. (2016). Optimal designs for 2^k factorial experiments
    with binary response. Statistica Sinica 26, 385-411.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from skassign.designs import GLMOptimal
    >>> X = np.random.default_rng(0).multivariate_normal(
    ...     [10, 5], [[4, 2.236], [2.236, 5]], size=40)
    >>> prior = {"mu1": stats.norm(1, 2), "mu2": stats.norm(2, np.sqrt(5)),
    ...          "beta1": stats.uniform(-2, 4), "beta2": stats.uniform(0, 5)}
    >>> design = GLMOptimal(prior=prior, max_iter=20, random_state=0).fit(X)
    >>> np.bincount(design.labels_).tolist()
    [20, 20]
    >>> bool(design.efficiency_vs_random_ > 1)
    True
    """

    _parameter_constraints: dict = {
        **BaseDesign._parameter_constraints,
        "family": [StrOptions(set(FAMILIES))],
        "criterion": [StrOptions({"D", "A"})],
        "variant": [Interval(Integral, 1, 3, closed="both")],
        "prior": [dict, None],
        "n_prior_samples": [Interval(Integral, 1, None, closed="left")],
        "max_imbalance": [Interval(Real, 0, None, closed="left"), None],
        "imbalance_quantile": [Interval(Real, 0, 1, closed="neither"), None],
        "group_sizes": ["array-like", StrOptions({"free"}), None],
        "min_group_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        family="poisson",
        criterion="D",
        variant=1,
        prior=None,
        n_prior_samples=1000,
        max_imbalance=None,
        imbalance_quantile=None,
        group_sizes=None,
        min_group_size=1,
        max_iter=20,
        time_limit=None,
        random_state=None,
    ):
        self.n_groups = n_groups
        self.family = family
        self.criterion = criterion
        self.variant = variant
        self.prior = prior
        self.n_prior_samples = n_prior_samples
        self.max_imbalance = max_imbalance
        self.imbalance_quantile = imbalance_quantile
        self.group_sizes = group_sizes
        self.min_group_size = min_group_size
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.random_state = random_state

    def _free_sizes(self):
        return isinstance(self.group_sizes, str) and self.group_sizes == "free"

    def _model(self, X, seed):
        return GLMModel(
            X,
            self.n_groups,
            family=self.family,
            criterion=self.criterion,
            variant=self.variant,
            prior=self.prior,
            n_prior_samples=self.n_prior_samples,
            random_state=seed,
        )

    def _cap(self, n_features):
        if self.max_imbalance is not None and self.imbalance_quantile is not None:
            raise ValueError("Give max_imbalance or imbalance_quantile, not both.")
        if self.imbalance_quantile is not None:
            return float(stats.chi2.ppf(self.imbalance_quantile, n_features))
        if self.max_imbalance is not None:
            return float(self.max_imbalance)
        return np.inf

    def _fit(self, X, *, fixed_labels=None, strata=None):
        if not self._free_sizes():
            return super()._fit(X, fixed_labels=fixed_labels, strata=strata)
        if strata is not None:
            raise ValueError(
                "GLMOptimal does not support strata: its assignment step takes no "
                "'strata' argument."
            )
        self._check_params()
        X = self._validate_X(X, reset=True)
        rng = check_random_state(self.random_state)
        fixed = check_fixed_labels(fixed_labels, X.shape[0], self.n_groups)
        if X.shape[0] < self.n_groups * self.min_group_size:
            raise ValueError(
                f"n_samples={X.shape[0]} cannot fill {self.n_groups} arms of at "
                f"least min_group_size={self.min_group_size} units."
            )
        self._fit_params = {"fixed_labels": fixed} if np.any(fixed >= 0) else {}
        labels = self._assign(X, None, fixed, rng)
        sizes = np.bincount(labels, minlength=self.n_groups)
        self.labels_ = check_assignment(labels, sizes, fixed)
        self.group_sizes_ = sizes
        self.objective_ = self._best_value
        from skassign.base import _fingerprint

        self._fit_fingerprint = _fingerprint(X)
        return self

    def _assign(self, X, sizes, fixed, rng, strata=None):
        n, p = X.shape
        cap = self._cap(p)
        self._prior_seed = int(rng.randint(2**31 - 1))
        model = self._model(X, self._prior_seed)
        free_sizes = sizes is None
        start_sizes = sizes
        if free_sizes:
            start_sizes = resolve_group_sizes(n, self.n_groups, None, fixed, rng)
        start = (
            draw_assignments(start_sizes, fixed, rng)
            if strata is None
            else strata.draw(fixed, rng)
        )
        problem = GLMProblem(model, start)
        if n < self.n_groups + p:
            warnings.warn(
                f"n_samples={n} is smaller than the {self.n_groups + p} parameters "
                "(one effect per arm and per covariate): the information matrix "
                "is singular for every allocation, so every allocation is equally "
                "bad; returning a random one (objective_ is inf).",
                UserWarning,
                stacklevel=4,
            )
            return self._finish(
                model,
                problem,
                problem.labels.copy(),
                cap,
                0,
                0,
                0,
                start_sizes,
                fixed,
                rng,
                strata,
            )
        labels, value, n_iter, n_restarts, n_eval = hybrid_vns(
            problem,
            start_sizes,
            fixed,
            free_sizes=free_sizes,
            min_size=self.min_group_size,
            max_imbalance=cap,
            max_iter=self.max_iter,
            time_limit=self.time_limit,
            rng=rng,
            strata=strata,
        )
        if not np.isfinite(value):
            warnings.warn(
                "Every allocation the search visited has a singular information "
                "matrix (collinear covariates, or weights that vanish in every "
                "arm); check X and the prior. Returning the last one visited "
                "(objective_ is inf).",
                UserWarning,
                stacklevel=4,
            )
            labels = problem.labels.copy() if labels is None else labels
        return self._finish(
            model,
            problem,
            labels,
            cap,
            n_iter,
            n_restarts,
            n_eval,
            start_sizes,
            fixed,
            rng,
            strata,
        )

    def _finish(
        self,
        model,
        problem,
        labels,
        cap,
        n_iter,
        n_restarts,
        n_eval,
        start_sizes,
        fixed,
        rng,
        strata=None,
    ):
        """Fitted attributes of the search's result."""
        # exact (graded) value of the result
        self._best_value = float(model.log_criterion(labels))
        self._best_labels = labels.copy()
        problem.reset(labels)
        self.imbalance_ = problem.imbalance()
        self.max_imbalance_ = cap
        self.prior_method_ = model.method
        self.n_iter_, self.n_restarts_, self.n_evaluations_ = n_iter, n_restarts, n_eval
        random = (
            draw_assignments(start_sizes, fixed, rng, n_draws=N_RANDOM_REFERENCE)
            if strata is None
            else strata.draw(fixed, rng, N_RANDOM_REFERENCE)
        )
        reference = np.median([model.log_criterion(r) for r in random])
        with np.errstate(over="ignore", invalid="ignore"):
            self.efficiency_vs_random_ = (
                float(np.exp(reference - self._best_value))
                if np.isfinite(self._best_value)
                else float("nan")
            )
        return labels

    def _objective(self, X, labels):
        """Natural log of the criterion at ``labels`` (the fit's prior draws)."""
        cached = getattr(self, "_best_labels", None)
        if cached is not None and np.array_equal(cached, labels):
            return self._best_value
        return self._model(X, self._prior_seed).log_criterion(labels)

    def _arm_classes(self, sizes, fixed):
        """Arms have their own priors: none is interchangeable."""
        return [("arm", g) for g in range(sizes.shape[0])]
