"""GLMOptimal: EW D- and A-optimal allocation under a GLM with priors.

The estimator; the evaluation state its search moves is
:class:`~skassign.designs._glm_problem.GLMProblem`, the search itself
:func:`~skassign.designs._glm_search.hybrid_vns`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import stats

from skassign.base import BaseDesign, draw_assignments
from skassign.designs._glm_problem import GLMProblem
from skassign.designs._glm_search import hybrid_vns
from skassign.metrics._glm_model import FAMILIES, GLMModel
from skassign.utils._param_validation import Interval, StrOptions
from skassign.utils.validation import (
    resolve_group_sizes,
)

__all__ = ["GLMOptimal"]

# Random allocations whose median criterion defines efficiency_vs_random_.
N_RANDOM_REFERENCE = 100


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
    eq. 2.6-2.7; with normal, uniform and Laplace priors exact, in closed
    form for the Poisson family and by quadrature for the logistic); the
    expectation of the dispersion's determinant or trace
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
    dominates. With several draws, a move is rejected as soon as the draws
    evaluated so far (largest first) show that it cannot improve: the same
    decisions as a full evaluation, for a few draws per rejected move.
    Draws whose weights span hundreds of orders of magnitude (extreme priors
    at large covariates) cannot be held in doubles and are recomputed
    exactly (``O(n K^2)``) for every move, which dominates then.

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
        Prior draws for the Monte Carlo cases (variants 2 and 3; variant 1
        with priors other than normal, uniform and Laplace), drawn once per
        fit from ``random_state`` and shared by every candidate allocation.
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
        How the prior expectation was computed: ``"closed_form"`` (Poisson,
        variant 1), ``"quadrature"`` (logistic, variant 1), ``"monte_carlo"``
        or ``"none"`` (Gaussian family).
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

    def _fit_group_sizes(self, n_samples, fixed, rng, strata):
        if not self._free_sizes():
            return super()._fit_group_sizes(n_samples, fixed, rng, strata)
        if strata is not None:
            raise ValueError(
                "GLMOptimal does not support strata with group_sizes='free': a "
                "stratum's counts per arm need the arms' sizes."
            )
        if n_samples < self.n_groups * self.min_group_size:
            raise ValueError(
                f"n_samples={n_samples} cannot fill {self.n_groups} arms of at "
                f"least min_group_size={self.min_group_size} units."
            )
        return None

    def _assign(self, X, sizes, fixed, rng, strata=None):
        n, p = X.shape
        cap = self._cap(p)
        self._prior_seed = int(rng.randint(2**31 - 1))
        model = self._model(X, self._prior_seed)
        free_sizes = sizes is None
        start_sizes = sizes
        if free_sizes:
            start_sizes = resolve_group_sizes(n, self.n_groups, None, fixed, rng)

        def draw(n_draws=None):
            """Random allocations (the start, and the reference of efficiency)."""
            if strata is None:
                return draw_assignments(start_sizes, fixed, rng, n_draws=n_draws)
            return strata.draw(fixed, rng, n_draws)

        problem = GLMProblem(model, draw())
        if n < self.n_groups + p:
            warnings.warn(
                f"n_samples={n} is smaller than the {self.n_groups + p} parameters "
                "(one effect per arm and per covariate): the information matrix "
                "is singular for every allocation, so every allocation is equally "
                "bad; returning a random one (objective_ is inf).",
                UserWarning,
                stacklevel=4,
            )
            labels, counts = problem.labels.copy(), (0, 0, 0)
        else:
            labels, value, *counts = hybrid_vns(
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
        # exact (graded) value of the result
        self._best_value = float(model.log_criterion(labels))
        self._best_labels = labels.copy()
        problem.reset(labels)
        self.imbalance_ = problem.imbalance()
        self.max_imbalance_ = cap
        self.prior_method_ = model.method
        self.n_iter_, self.n_restarts_, self.n_evaluations_ = counts
        self.efficiency_vs_random_ = self._efficiency(model, draw(N_RANDOM_REFERENCE))
        return labels

    def _efficiency(self, model, random):
        """Median criterion of the ``random`` allocations over the design's."""
        reference = np.median([model.log_criterion(r) for r in random])
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(self._best_value):
                return float(np.exp(reference - self._best_value))
        return float("nan")

    def _objective(self, X, labels):
        """Natural log of the criterion at ``labels`` (the fit's prior draws)."""
        cached = getattr(self, "_best_labels", None)
        if cached is not None and np.array_equal(cached, labels):
            return self._best_value
        return self._model(X, self._prior_seed).log_criterion(labels)

    def _arm_classes(self, sizes, fixed):
        """Arms have their own priors: none is interchangeable."""
        return [("arm", g) for g in range(sizes.shape[0])]
