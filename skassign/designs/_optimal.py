"""Optimisation design of Bertsimas, Johnson & Kallus (2015).

The units are split into groups by a mixed-integer program that minimises
the largest pairwise discrepancy between the groups' first and second
moments. A tabu search on the same objective, followed by an exchange
search that re-splits the units of two groups exactly, gives the solver a
warm start and is usable alone for samples too large to solve exactly.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs

from skassign.base import BaseSolverDesign
from skassign.designs._optimal_exact import (
    _EXACT,
    _EXACT_MAX_COUNT,
    _EXACT_MAX_NODES,
    _compile_exact,
    count_assignments,
    exact_search,
    spread_identical,
)
from skassign.designs._optimal_model import (
    build_model,
    is_small,
    labels_from_solution,
    model_too_large,
    warm_start,
)
from skassign.designs._optimal_partition import (
    _PARTITION,
    _compile_partition,
    partition_search,
)
from skassign.designs._optimal_problem import (
    _canonical_labels,
    _make_problem,
    _random_labels,
)
from skassign.designs._optimal_search import (
    _compile_search,
    _default_exchange_iter,
    _default_heuristic_iter,
    _exchange_search,
    _parallel_iterated_search,
    _search_fills_time,
    _tabu_search,
)
from skassign.designs._optimal_search import (
    _objective as _search_objective,
)
from skassign.exceptions import InfeasibleDesignError, SolverError, SolverWarning
from skassign.metrics._balance import _group_moments, _max_pairwise_discrepancy
from skassign.utils._docstrings import fill_doc
from skassign.utils._mip import BuildTimeout
from skassign.utils._param_validation import Interval, StrOptions
from skassign.utils._random import child_seed
from skassign.utils._solver import DIRECT_SCIP, SolveOutcome, check_solver

__all__ = ["OptimalBalance"]

# Largest share of ``time_limit`` the warm-start heuristic may use; the
# solver gets the rest.
_HEURISTIC_SHARE = 0.8
# Where the iterated search fills the time because the solver's bound
# stays trivial (see _optimal_search._WEAK_MIP_SIZE: there the solver never
# improved on the search's assignment), the solver keeps only this many
# seconds (or the share above of a shorter time_limit) to build its model
# and report its status and bound. The search's best assignments are rare
# restarts (bench_optimal_balance.py's 40-3-4: about 3 to 5 runs reach the
# best known per minute of one thread), so the chance of reaching one
# grows with the search's time. Whole fits (time_limit=10, n_jobs=2,
# random_state 0-29) reached the best known of 40-3-4 at 18 of 30 seeds
# when the search stopped at 9.5 s, at 15 of 30 when it stopped at 8 s;
# of 40-3-3 at 19 and 18 of 20 (0-19).
_SOLVER_RESERVE = 0.5
# There, with at most _PARTITION_MAX_UNITS free units, at most
# _PARTITION_MAX_COLUMNS moment columns and no strata, the iterated search
# runs for the first _PARTITION_AFTER of the heuristic's time, and the
# set-partition search (_optimal_partition) then tries to prove the
# optimum until _PARTITION_UNTIL of it (the iterated search takes the rest
# if it does not end). bench_optimal_balance.py's four 40-unit
# configurations on this path, the search alone from an assignment 1.3
# times the best known: 40-3-4 proven optimal (at the best known) in 0.4 s
# and 40-3-3 in 1.9 s (whole fits, time_limit=10, n_jobs=2, random_state
# 0-3: proven in 1.3-1.8 s and 2.9-3.6 s); 40-5-3 and 40-5-4 (10 columns)
# took 14 and 21 s, so a fit would only lose search time there (40-5-4
# with the search: 1.8% above its best known at random_state=0, at it at 1
# and 2; without: at it at 0). With 60 units the listing alone did not end
# in 8 minutes.
_PARTITION_MAX_UNITS = 40
_PARTITION_MAX_COLUMNS = 6
_PARTITION_AFTER = 0.1
_PARTITION_UNTIL = 0.4


def _is_solver_failure(err):
    """Whether ``err`` is a solver's failure rather than a bug or a bad input.

    PySCIPOpt raises plain ``Exception`` for SCIP's internal errors (for
    example "error in LP solver").
    """
    return isinstance(err, (SolverError, InfeasibleDesignError)) or (
        type(err) is Exception
    )


def _keep_heuristic(reason, status, warm_value):
    """Keep the heuristic's assignment when the solver cannot improve on it.

    The heuristic's assignment satisfies every constraint, so a solver that
    fails (or claims infeasibility: numerical trouble) or a model too large
    to build leave it as the answer, without a bound, with a
    :class:`~skassign.exceptions.SolverWarning`.
    """
    advice = {
        "solver_error": "Standardising the covariates often avoids such "
        "numerical trouble.",
        "model_too_large": "Use fewer covariates or second_moments='diagonal', "
        "raise time_limit, or use method='heuristic'.",
    }[status]
    warnings.warn(
        f"OptimalBalance: {reason}; returning the heuristic's assignment "
        f"(objective {warm_value:.6g}) without a bound. {advice}",
        SolverWarning,
        stacklevel=7,
    )
    return SolveOutcome(status, n_nodes=0 if status != "solver_error" else -1)


@fill_doc
class OptimalBalance(BaseSolverDesign):
    r"""Optimal balance of means and second moments (Bertsimas et al., 2015).

    Splits the units into groups by solving the mixed-integer program of
    Bertsimas, Johnson & Kallus: with binary ``x[i, p]`` (unit ``i`` in
    group ``p``), every unit in one group and exact group sizes, minimise
    ``d`` subject to, for every pair of groups ``p < q``,

    .. math:: d \ge \sum_s |\mu_{ps} - \mu_{qs}|
              + \rho \sum_{s, s'} |M_{pss'} - M_{qss'}|

    where ``mu_ps`` is group ``p``'s mean of covariate ``s`` and ``M_pss'``
    its mean of ``x_s x_s'`` (``s = s'`` only with
    ``second_moments="diagonal"``). The objective is
    :func:`~skassign.metrics.moment_discrepancy`. Which solved group becomes
    arm 0, 1, ... is then drawn at random, as the method prescribes.

    A heuristic on the same objective gives the solver a warm start: a tabu
    search over swaps of two units (compiled with numba, and restarted from
    a random assignment when it stagnates), followed, with one covariate
    and three or more groups, by an exchange search that re-splits the
    units of two groups at a time exactly. With ``method="heuristic"`` it
    is used alone, for samples too large to solve exactly. Covariates are
    used as given: standardise them first (a ``StandardScaler`` in a
    Pipeline), as the method prescribes, since the objective adds means
    and second moments in the covariates' own units. Covariates in any
    units are nevertheless solved reliably (the model is rescaled by a
    power of two, and ``objective_`` is in the covariates' units); only
    covariates whose squares overflow double precision are refused.
    With ``strata`` given to ``fit``, the model also fixes how
    many units of every stratum each group receives (each stratum spread
    evenly) and the tabu search only swaps units of the same stratum.

    Read more in the :ref:`User Guide <optimal_balance>`.

    Parameters
    ----------
    %(n_groups)s
    %(group_sizes)s
        Each group's moments are averages over its own size.
    rho : float, default=0.5
        Weight of the second moments against the means. ``rho=0`` balances
        the means only.
    second_moments : {"diagonal", "full"}, default="diagonal"
        ``"diagonal"`` balances the mean square of every covariate;
        ``"full"`` balances all cross-products (the covariance structure).
    method : {"auto", "exact", "mip", "heuristic"}, default="auto"
        ``"exact"`` examines every distinct assignment by a compiled branch
        and bound (fast for small experiments: the 20 mice take well under
        a millisecond); ``"mip"`` solves the model exactly (within the
        limits), warm-started by the heuristic; ``"heuristic"`` runs the
        heuristic alone. ``"auto"`` takes the exact path when the number of
        distinct assignments (identical units and interchangeable groups
        counted once) is at most about ten billion and the branch and bound
        finishes within a million nodes (about half a second), and the
        ``"mip"`` path otherwise. All but ``"heuristic"`` prove optimality.
    %(solver)s
    %(solver_params)s
    time_limit : float or None, default=60.0
        Wall-clock limit in seconds for the whole optimisation: heuristic,
        model building and solver (not counting the one-time compilation of
        the heuristic's kernel).
        Results stopped by it depend on the machine.
    %(node_limit)s
    %(mip_gap)s
    heuristic_iter : int or None, default=None
        Iterations of the tabu search. ``None`` runs a short search when the
        solver will prove optimality quickly (at most 24 units to assign)
        and otherwise ``2000 + 10000 n`` iterations (2000 when an exchange
        search follows), capped at about ten seconds' worth of work.
        With a ``time_limit`` the whole heuristic stops after 80% of it at
        the latest; and where the solver's bound would stay trivial
        (several covariates, three or more groups, no exchange search and
        more than 72 free units times the number of groups minus one),
        ``None`` runs an iterated search instead (rounds of tabu search,
        each followed by exact re-splits of pairs of groups by branch and
        bound), which leaves the solver only 0.5 s (or 20% of a shorter
        limit), or stops when its tabu rounds have done about ten seconds'
        worth of work. With at most 40 free units, at most six moment
        columns and no strata, a set-partition search then tries to prove
        the optimum from the iterated search's assignment after 10% of
        the time (until 40% of it; the iterated search takes the rest if
        it does not end); when it ends, ``status_`` is ``"optimal"`` and
        ``bound_`` is ``objective_``.
    exchange_iter : int or None, default=None
        Moves of the exchange search that follows the tabu search. Each move
        takes two groups and re-splits their units (a random sample of at
        most 26 of them) exactly, by meet-in-the-middle over all subsets.
        ``None`` makes 2000 moves (about 6 s) when the objective has at most two moment
        columns (one covariate, or two with ``rho=0``), there are at least
        three groups and more than 24 units are to be assigned, and none
        otherwise: there the optimum is a fine-grained partition that swaps
        of two units approach slowly. ``0`` switches it off.
    %(fallback)s
    n_jobs : int or None, default=None
        Threads of the iterated search (see ``heuristic_iter``; no other
        path uses them), in joblib's convention: ``None`` is 1, ``-1`` all
        cores. Every thread runs its own search from its own random
        assignment until the same deadline, and the best assignment is
        kept: more independent restarts in the same time. Leave it at 1
        when fits already run in parallel (``n_jobs`` of a resampling test
        or of :meth:`sample_assignments`).
    random_state : int, RandomState instance or None, default=None
        Seeds the heuristic, the solver (``randomization/randomseedshift``)
        and the random choice of which group becomes which arm.
    %(solver_verbose)s

    Attributes
    ----------
    %(fitted_labels)s
    objective_ : float
        :func:`~skassign.metrics.moment_discrepancy` of ``labels_``.
    bound_ : float
        Lower bound on the optimal objective proven by the solver (NaN for
        the heuristic).
    gap_ : float
        Relative gap ``(objective_ - bound_) / objective_``; 0 when proven
        optimal (NaN for the heuristic).
    status_ : str
        ``"optimal"``, ``"gap_limit"``, ``"time_limit"``, ``"node_limit"``,
        ... for the solver; ``"heuristic"`` for ``method="heuristic"``;
        ``"solver_error"`` if the solver failed after the heuristic had found
        an assignment, which is kept; ``"model_too_large"`` if the model was
        too large to build within the limits (see Notes); ``"fallback"`` if
        the fallback design was used.
    solve_time_ : float
        Seconds spent optimising (heuristic, model building and solving).
    n_nodes_ : int
        Branch-and-bound nodes processed (0 for the heuristic, -1 if the
        solver does not say).
    n_iter_ : int
        Iterations of the tabu search performed.
    n_exchange_iter_ : int
        Moves of the exchange search performed.
    fallback_ : estimator or None
        The fitted fallback design, if it was used.
    %(fitted_features)s

    See Also
    --------
    skassign.metrics.moment_discrepancy : The objective.
    Rerandomization : Random assignments filtered by balance.

    Notes
    -----
    Balance MIPs find excellent assignments quickly but prove optimality
    slowly: beyond about 30 units expect the time limit to stop the solver
    (with a :class:`~skassign.exceptions.SolverWarning` stating the gap).
    Use ``node_limit`` rather than ``time_limit`` when the assignment must
    be reproducible across machines.

    The heuristic's assignment satisfies every constraint, so once it is
    found the fit always returns an assignment at least as good: if the
    solver then fails (or, in numerical trouble, claims the problem
    infeasible) the heuristic's assignment is kept with status
    ``"solver_error"`` and a :class:`~skassign.exceptions.SolverWarning`;
    ``fallback`` is only used when no assignment was found at all.

    **Model size.** With ``m`` groups, ``n`` units to assign and ``K``
    moment columns (``p`` covariates plus ``p`` squares, or plus all
    ``p (p + 1) / 2`` products with ``second_moments="full"``), the model
    has ``2 K + 1`` rows for each of the ``m (m - 1) / 2`` pairs of groups
    over ``n m`` assignment variables and ``K`` absolute-value variables
    per pair: its non-zeros grow as ``m**2 K n`` and its dense matrices,
    which bound the memory, as ``m**4 K**2 n``, so as the fourth power of
    the covariates with ``"full"``. For 300 units, 40 covariates, 8 groups
    and ``"full"`` that is about 10 GB. The size is estimated before
    building: a model that would not be built within the time left of
    ``time_limit``, or would need more than about 2 GB, is skipped, and
    the heuristic's assignment is returned with status
    ``"model_too_large"`` and a :class:`~skassign.exceptions.SolverWarning`.
    Building counts against ``time_limit``; the solver gets the time left
    (none left: status ``"time_limit"``, without a bound).

    References
    ----------
    .. [1] D. Bertsimas, M. Johnson and N. Kallus, "The power of optimization
       over randomization in designing experiments involving small samples",
       Operations Research 63(4), 868-876, 2015.

    Examples
    --------
    The 20 mice of the case study, split into two groups of 10 on their
    standardised initial tumour weight:

    >>> from skassign.datasets import make_tumor_mice
    >>> from skassign.designs import OptimalBalance
    >>> mice = make_tumor_mice()
    >>> w = mice[["initial_weight"]]
    >>> X = (w - w.mean()) / w.std()
    >>> design = OptimalBalance(rho=0.5, random_state=0).fit(X)
    >>> design.status_, f"{design.objective_:.6f}", f"{design.gap_:.1f}"
    ('optimal', '0.212663', '0.0')
    >>> stats = w.groupby(design.labels_)["initial_weight"].agg(["mean", "std"])
    >>> sorted(map(tuple, stats.round(2).to_numpy().tolist()))
    [(302.79, 202.54), (303.61, 162.12)]
    """

    _parameter_constraints: dict = {
        **BaseSolverDesign._parameter_constraints,
        "rho": [Interval(Real, 0, None, closed="left")],
        "second_moments": [StrOptions({"diagonal", "full"})],
        "method": [StrOptions({"auto", "exact", "mip", "heuristic"})],
        "heuristic_iter": [Interval(Integral, 0, None, closed="left"), None],
        "exchange_iter": [Interval(Integral, 0, None, closed="left"), None],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        group_sizes=None,
        rho=0.5,
        second_moments="diagonal",
        method="auto",
        solver=DIRECT_SCIP,
        solver_params=None,
        time_limit=60.0,
        node_limit=None,
        mip_gap=0.0,
        heuristic_iter=None,
        exchange_iter=None,
        fallback=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.rho = rho
        self.second_moments = second_moments
        self.method = method
        self.solver = solver
        self.solver_params = solver_params
        self.time_limit = time_limit
        self.node_limit = node_limit
        self.mip_gap = mip_gap
        self.heuristic_iter = heuristic_iter
        self.exchange_iter = exchange_iter
        self.n_jobs = n_jobs
        self.fallback = fallback
        self.random_state = random_state
        self.verbose = verbose

    def _objective(self, X, labels):
        means, seconds = _group_moments(
            X, labels, int(labels.max()) + 1, self.second_moments
        )
        return _max_pairwise_discrepancy(means, seconds, self.rho)

    @property
    def _solver_method(self):
        """``method`` as the heuristic and the solver path read it."""
        return "mip" if self.method in ("auto", "mip") else self.method

    def _uses_solver(self):
        return self.method in ("auto", "mip")

    def _exact_path(self, problem):
        """Whether to enumerate, and the node budget (None: no budget)."""
        if self.method == "exact":
            return True, None
        if self.method != "auto":
            return False, None
        caps = problem.caps if problem.strata is None else problem.stratum_caps
        count = count_assignments(problem.type_counts, caps, problem.classes)
        return count <= _EXACT_MAX_COUNT, _EXACT_MAX_NODES

    def _solve(self, X, sizes, fixed, rng, strata=None):
        _compile_exact()
        start = time.perf_counter()
        # The heuristic's generator (child_rng) is built when first needed:
        # a proven optimum without identical units draws nothing from it.
        heuristic_seed = child_seed(rng)
        heuristic_rng = None
        seed = child_seed(rng)
        problem = _make_problem(
            X,
            sizes,
            fixed,
            self.rho,
            self.second_moments,
            self._arm_classes(sizes, fixed),
            strata,
        )
        n_free = problem.free.shape[0]

        def full(free_labels):
            labels = fixed.copy()
            labels[problem.free] = free_labels
            return labels

        self.n_iter_ = self.n_exchange_iter_ = 0
        exact, budget = self._exact_path(problem)
        if exact:
            deadline = None if self.time_limit is None else start + self.time_limit
            labels, _, n_nodes, complete = exact_search(
                problem, max_nodes=budget, deadline=deadline
            )
            # Identical units at random, interchangeable groups named as the
            # solver path names them.
            if not complete or problem.type_counts.max(initial=0) > 1:
                heuristic_rng = np.random.default_rng(heuristic_seed)
                labels = spread_identical(labels, problem.types, heuristic_rng)
            labels = _canonical_labels(labels, problem)
            if complete:
                # The bound is the objective as the design computes it (the
                # search's own sums may differ in the last bit).
                return full(labels), SolveOutcome(
                    "optimal", n_nodes=n_nodes, solver=_EXACT, bound_is_objective=True
                )
            if self.method == "exact":
                # The first leaf comes after n nodes: a deadline leaves one.
                return full(labels), SolveOutcome(
                    "time_limit", n_nodes=n_nodes, solver=_EXACT
                )
            # Over the budget: the problem is larger than its count says.
        # The heuristic's kernel compiles (once per process) off the clock.
        compiled = time.perf_counter()
        _compile_search()
        _compile_partition()
        start += time.perf_counter() - compiled
        deadline = None if self.time_limit is None else start + self.time_limit

        # Heuristic: tabu search, then exchange search.
        n_exchange = self.exchange_iter
        if n_exchange is None:
            n_exchange = _default_exchange_iter(problem, self._solver_method)
        if strata is not None:
            # Re-splitting two groups exactly would ignore the strata.
            n_exchange = 0
        heuristic_deadline = deadline
        if deadline is not None and self._solver_method == "mip":
            heuristic_deadline = start + _HEURISTIC_SHARE * self.time_limit
        n_iter = self.heuristic_iter
        # With a time limit where the solver's bound would stay trivial, an
        # iterated search (tabu rounds and exact re-splits of pairs of
        # groups) runs until its share is up (or about ten seconds' worth
        # of tabu iterations).
        iterated = (
            n_iter is None
            and heuristic_deadline is not None
            and _search_fills_time(problem, self._solver_method, n_exchange > 0)
        )
        if iterated:
            reserve = min(_SOLVER_RESERVE, (1 - _HEURISTIC_SHARE) * self.time_limit)
            heuristic_deadline = start + self.time_limit - reserve
        if n_iter is None:
            n_iter = _default_heuristic_iter(
                problem, self._solver_method, n_exchange > 0, fills_time=iterated
            )
        if heuristic_rng is None:
            heuristic_rng = np.random.default_rng(heuristic_seed)
        warm = _random_labels(problem.caps, heuristic_rng, problem)
        n_pair_moves = 0
        if iterated:
            n_threads = effective_n_jobs(self.n_jobs)
            span = heuristic_deadline - start
            if (
                problem.strata is None
                and n_free <= _PARTITION_MAX_UNITS
                and problem.F.shape[1] <= _PARTITION_MAX_COLUMNS
            ):
                # A short search for a good assignment, then the set-partition
                # search, which proves the optimum where it ends in time.
                warm, self.n_iter_, n_pair_moves = _parallel_iterated_search(
                    problem,
                    warm,
                    heuristic_rng,
                    n_iter,
                    start + _PARTITION_AFTER * span,
                    n_threads,
                )
                found, complete, _, n_nodes = partition_search(
                    problem,
                    _search_objective(problem, warm),
                    deadline=start + _PARTITION_UNTIL * span,
                )
                if complete:
                    labels = warm if found is None else found
                    labels = _canonical_labels(labels, problem)
                    return full(labels), SolveOutcome(
                        "optimal",
                        n_nodes=n_nodes,
                        solver=_PARTITION,
                        bound_is_objective=True,
                    )
            # Its first search starts from ``warm`` and keeps it unless it
            # finds better.
            warm, n_more, n_pair_more = _parallel_iterated_search(
                problem,
                warm,
                heuristic_rng,
                n_iter - self.n_iter_,
                heuristic_deadline,
                n_threads,
            )
            self.n_iter_ += n_more
            n_pair_moves += n_pair_more
        else:
            warm, self.n_iter_ = _tabu_search(
                problem, warm, heuristic_rng, n_iter, heuristic_deadline
            )
        warm, self.n_exchange_iter_ = _exchange_search(
            problem, warm, heuristic_rng, n_exchange, heuristic_deadline
        )
        warm = _canonical_labels(warm, problem)
        warm_value = self._objective(X, full(warm))
        if self.verbose:
            print(
                f"[OptimalBalance] heuristic: objective {warm_value:.6g} after "
                f"{self.n_iter_} tabu iterations, {n_pair_moves} exact pair "
                f"re-splits and {self.n_exchange_iter_} exchange moves "
                f"({time.perf_counter() - start:.3f} s)"
            )
        if self.method == "heuristic" or n_free == 0 or warm_value == 0:
            # Nothing left to prove when no unit is free or the heuristic
            # reached zero; the heuristic alone offers no bound.
            if self._solver_method == "mip" or n_free == 0:
                return full(warm), SolveOutcome("optimal", warm_value, n_nodes=0)
            status = "heuristic"
            if self.n_iter_ < n_iter or self.n_exchange_iter_ < n_exchange:
                status = "time_limit"
            return full(warm), SolveOutcome(status, n_nodes=0)

        remaining = None
        if deadline is not None:
            remaining = max(deadline - time.perf_counter(), 1e-3)
        reason = model_too_large(problem, remaining)
        if reason is not None:
            return full(warm), _keep_heuristic(reason, "model_too_large", warm_value)
        # Solvers accept constraint violations up to a feasibility tolerance
        # (1e-6 by default), which would let them report an objective near 0
        # for any assignment once the optimum is that small; tighten it to
        # well below the warm start's objective (in the problem's units).
        tolerance = float(np.clip(1e-3 * warm_value / problem.scale, 1e-9, 1e-6))
        engine = check_solver(self.solver, integer=True)
        try:
            model = build_model(problem)
            result = self._solve_mip(
                model.mip,
                seed,
                warm=warm_start(model, problem, warm),
                time_limit=remaining,
                tolerance=tolerance,
                light=is_small(model),
                deadline=deadline,
            )
        except BuildTimeout:
            # Let the limit warning say it: the heuristic's assignment, no bound.
            return full(warm), SolveOutcome("time_limit", n_nodes=0, solver=engine)
        except Exception as err:
            if not _is_solver_failure(err):
                raise
            reason = f"{engine} failed ({' '.join(str(err).split())})"
            return full(warm), _keep_heuristic(reason, "solver_error", warm_value)
        labels = labels_from_solution(result.values, model, problem, heuristic_rng)
        if warm_value < self._objective(X, full(labels)):
            # cvxpy engines get no warm start; a solver in numerical trouble
            # may return a worse solution than its warm start.
            labels = warm
        # The problem's objective is the design's divided by problem.scale.
        return full(labels), replace(result, bound=result.bound * problem.scale)
