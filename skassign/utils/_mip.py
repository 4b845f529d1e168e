"""A linear mixed-integer program written once and solved by any engine.

:func:`solve_scip` and :func:`solve_cvxpy` run a model built in an engine
and return a :class:`~skassign.utils._solver.SolveResult`, which holds no
reference to the model, so results can be pickled and sent to joblib
workers. A solver-backed design states its model as matrices (:class:`LinearMIP`) and
:func:`solve_mip` builds it in SCIP through PySCIPOpt or in cvxpy for any
other solver, with the options of :func:`~skassign.utils._solver.solver_options`
and an optional warm start. The design then never touches an engine's API.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from skassign.exceptions import SolverError
from skassign.utils._solver import (
    _SCIP_STATUS,
    DIRECT_SCIP,
    SolveResult,
    import_pyscipopt,
)

__all__ = ["LinearMIP", "solve_cvxpy", "solve_mip", "solve_scip"]


@dataclass(frozen=True)
class LinearMIP:
    """``min c @ x`` subject to linear rows, bounds and integrality.

    Rows are ``A_eq @ x == b_eq`` and ``A_ub @ x <= b_ub``; engines receive
    the equality rows first, then the inequality rows, each in the order
    given, and the variables in the order of ``c``.

    Attributes
    ----------
    c : ndarray of shape (n_vars,)
        Objective coefficients (minimised).
    A_ub : ndarray of shape (n_ub, n_vars)
        Inequality rows.
    b_ub : ndarray of shape (n_ub,)
        Their right-hand sides.
    A_eq : ndarray of shape (n_eq, n_vars)
        Equality rows.
    b_eq : ndarray of shape (n_eq,)
        Their right-hand sides.
    lb : ndarray of shape (n_vars,)
        Lower bounds (``-inf`` for none).
    ub : ndarray of shape (n_vars,)
        Upper bounds (``inf`` for none).
    vtypes : str
        One letter per variable: ``"B"`` binary, ``"I"`` integer, ``"C"``
        continuous.
    """

    c: np.ndarray
    A_ub: np.ndarray
    b_ub: np.ndarray
    A_eq: np.ndarray
    b_eq: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    vtypes: str

    @property
    def n_vars(self):
        """Number of variables."""
        return self.c.shape[0]


def _bound(value):
    return None if not np.isfinite(value) else float(value)


def _scip_rows(model, ps, x, A, b, equal):
    for row, rhs in zip(A, b, strict=True):
        nonzero = np.flatnonzero(row)
        expr = ps.quicksum(float(row[j]) * x[j] for j in nonzero)
        model.addCons(expr == float(rhs) if equal else expr <= float(rhs))


def _solve_with_scip(mip, options, warm):
    ps = import_pyscipopt()
    model = ps.Model()
    if options.verbose < 2:
        model.hideOutput()
    x = [
        model.addVar(vtype=vtype, lb=_bound(low), ub=_bound(high), obj=float(cost))
        for cost, low, high, vtype in zip(
            mip.c, mip.lb, mip.ub, mip.vtypes, strict=True
        )
    ]
    _scip_rows(model, ps, x, mip.A_eq, mip.b_eq, equal=True)
    _scip_rows(model, ps, x, mip.A_ub, mip.b_ub, equal=False)
    if options.light:
        model.setPresolve(ps.SCIP_PARAMSETTING.OFF)
        model.setHeuristics(ps.SCIP_PARAMSETTING.OFF)
        model.setSeparating(ps.SCIP_PARAMSETTING.OFF)
    model.setParams(options.params)
    if warm is not None:
        solution = model.createSol()
        for var, value in zip(x, warm, strict=True):
            model.setSolVal(solution, var, float(value))
        model.addSol(solution, free=True)
    # Releasing the GIL lets thread-based joblib backends solve in parallel.
    return solve_scip(model, x, nogil=True)


def _solve_with_cvxpy(mip, options):
    import cvxpy as cp

    kinds = np.array(list(mip.vtypes))
    parts, order = [], []
    for kind, flags in (("I", {"integer": True}), ("B", {"boolean": True})):
        index = np.flatnonzero(kinds == kind)
        if index.size:
            parts.append(cp.Variable(index.size, **flags))
            order.append(index)
    index = np.flatnonzero(kinds == "C")
    if index.size:
        parts.append(cp.Variable(index.size))
        order.append(index)
    stacked = parts[0] if len(parts) == 1 else cp.hstack(parts)
    x = stacked[np.argsort(np.concatenate(order), kind="stable")]
    constraints = []
    low, high = np.isfinite(mip.lb), np.isfinite(mip.ub)
    if low.any():
        constraints.append(x[np.flatnonzero(low)] >= mip.lb[low])
    if high.any():
        constraints.append(x[np.flatnonzero(high)] <= mip.ub[high])
    if mip.A_eq.shape[0]:
        constraints.append(mip.A_eq @ x == mip.b_eq)
    if mip.A_ub.shape[0]:
        constraints.append(mip.A_ub @ x <= mip.b_ub)
    problem = cp.Problem(cp.Minimize(mip.c @ x), constraints)
    return solve_cvxpy(problem, x, options.engine, options.params, options.limits)


def solve_mip(mip, options, *, warm=None):
    """Build ``mip`` in the engine of ``options`` and solve it.

    Parameters
    ----------
    mip : LinearMIP
        The model.
    options : EngineOptions
        Engine and options, from
        :func:`~skassign.utils._solver.solver_options`.
    warm : ndarray of shape (n_vars,) or None, default=None
        A feasible solution to start from (SCIP only; cvxpy offers no
        portable warm start for integer programs).

    Returns
    -------
    result : SolveResult
        Status, values of all variables, objective, dual bound, node count.

    Examples
    --------
    Two items of weights 3 and 5, at least one chosen, cheapest weight:

    >>> import numpy as np
    >>> from skassign.utils._mip import LinearMIP, solve_mip
    >>> from skassign.utils._solver import solver_options
    >>> mip = LinearMIP(
    ...     c=np.array([3.0, 5.0]), A_ub=np.array([[-1.0, -1.0]]),
    ...     b_ub=np.array([-1.0]), A_eq=np.zeros((0, 2)), b_eq=np.zeros(0),
    ...     lb=np.zeros(2), ub=np.ones(2), vtypes="BB")
    >>> result = solve_mip(mip, solver_options("pyscipopt"))
    >>> result.status, result.values.round().tolist()
    ('optimal', [1.0, 0.0])
    """
    if options.engine == DIRECT_SCIP:
        return _solve_with_scip(mip, options, warm)
    return _solve_with_cvxpy(mip, options)


def solve_scip(model, variables, *, nogil=False):
    """Optimise a PySCIPOpt model and return a :class:`SolveResult`.

    Parameters
    ----------
    model : pyscipopt.Model
        A fully built model; it is optimised here and not kept.
    variables : pyscipopt.MatrixVariable or list of pyscipopt.Variable
        The variables whose values are returned.
    nogil : bool, default=False
        Release the GIL while solving (for thread-based parallelism).

    Returns
    -------
    result : SolveResult
        Status, solution values, objective, dual bound and node count.
    """
    start = time.perf_counter()
    try:
        if nogil:
            model.optimizeNogil()
        else:
            model.optimize()
    except Exception as err:  # SCIP raises plain Exceptions on internal errors
        raise SolverError(
            f"SCIP failed while solving ({err}); rerun with verbose=2 to see "
            "the solver log."
        ) from err
    elapsed = time.perf_counter() - start
    raw = model.getStatus()
    values = None
    objective = float("inf")
    if model.getNSols() > 0:
        if isinstance(variables, (list, tuple)):
            values = np.array([model.getVal(v) for v in variables], dtype=np.float64)
        else:
            values = np.asarray(model.getVal(variables), dtype=np.float64)
        objective = float(model.getPrimalbound())
    bound = float(model.getDualbound())
    return SolveResult(
        status=_SCIP_STATUS.get(raw, "unknown"),
        solver_status=raw,
        solver=DIRECT_SCIP,
        values=values,
        objective=objective,
        bound=bound if np.isfinite(bound) and abs(bound) < 1e19 else -np.inf,
        n_nodes=int(model.getNTotalNodes()),
        solve_time=elapsed,
    )


def _cvxpy_status(problem, solver, limits, elapsed):
    """Normalised status, dual bound and node count of a solved cvxpy problem."""
    from cvxpy import settings as cps

    raw = str(problem.status)
    stats = problem.solver_stats
    extra = getattr(stats, "extra_stats", None)
    bound, n_nodes = -np.inf, -1
    status = {
        cps.OPTIMAL: "optimal",
        cps.INFEASIBLE: "infeasible",
        cps.INFEASIBLE_INACCURATE: "infeasible",
        cps.UNBOUNDED: "unbounded",
        cps.UNBOUNDED_INACCURATE: "unbounded",
        cps.INFEASIBLE_OR_UNBOUNDED: "infeasible_or_unbounded",
        cps.USER_LIMIT: "user_limit",
        cps.OPTIMAL_INACCURATE: "optimal_inaccurate",
    }.get(problem.status, "error")
    if solver == "SCIP" and isinstance(extra, dict):
        # cvxpy reports every SCIP limit as optimal_inaccurate; the model
        # knows which one it was. Read it now: the model is not kept.
        raw = str(extra.get("scip_status", raw))
        status = _SCIP_STATUS.get(raw, status)
        model = extra.get("model")
        if model is not None:
            bound = float(model.getDualbound())
            n_nodes = int(model.getNTotalNodes())
    elif solver == "HIGHS" and extra is not None:
        bound = float(getattr(extra, "mip_dual_bound", -np.inf))
        n_nodes = int(getattr(extra, "mip_node_count", -1))
    if status == "user_limit":
        node_limit, time_limit = limits.get("node_limit"), limits.get("time_limit")
        if node_limit is not None and n_nodes >= node_limit:
            status = "node_limit"
        elif time_limit is not None and elapsed >= 0.95 * time_limit:
            status = "time_limit"
    if status == "optimal" and np.isfinite(bound) and problem.value is not None:
        bound = min(bound, float(problem.value))
    if not np.isfinite(bound) or abs(bound) >= 1e19:
        bound = -np.inf
    if status == "optimal" and not np.isfinite(bound) and problem.value is not None:
        bound = float(problem.value)
    return status, raw, bound, n_nodes


def solve_cvxpy(problem, variables, solver, solver_params=None, limits=None):
    """Solve a cvxpy problem and return a :class:`SolveResult`.

    cvxpy's own warnings are silenced around the solve only; statuses and
    limits are reported through the result instead.

    Parameters
    ----------
    problem : cvxpy.Problem
        The problem; solved here and not kept.
    variables : cvxpy.Variable
        The variable whose value is returned.
    solver : str
        Name of the cvxpy solver (as returned by :func:`check_solver`).
    solver_params : dict or None, default=None
        Keyword arguments forwarded verbatim to ``problem.solve``.
    limits : dict or None, default=None
        The limits that were set (``time_limit``, ``node_limit``), used to
        name the limit behind a solver's generic ``USER_LIMIT``.

    Returns
    -------
    result : SolveResult
        Status, solution values, objective, dual bound and node count.
    """
    import cvxpy as cp

    params = {} if solver_params is None else dict(solver_params)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem.solve(solver=solver, **params)
    except cp.error.SolverError as err:
        hint = ""
        if solver == "HIGHS" and "threads" in params:
            hint = (
                " HiGHS sizes its thread pool at its first solve in a process, "
                "and a later solve asking for another number of threads fails: "
                "give the same `threads` to every HiGHS solve, or none."
            )
        raise SolverError(
            f"cvxpy solver {solver!r} failed ({err}).{hint} Pass "
            "solver_params={'verbose': True} to see the solver log."
        ) from err
    elapsed = time.perf_counter() - start
    status, raw, bound, n_nodes = _cvxpy_status(problem, solver, limits or {}, elapsed)
    value = variables.value
    has_solution = problem.status in cp.settings.SOLUTION_PRESENT and value is not None
    return SolveResult(
        status=status,
        solver_status=raw,
        solver=solver,
        values=np.asarray(value, dtype=np.float64) if has_solution else None,
        objective=float(problem.value) if has_solution else float("inf"),
        bound=bound,
        n_nodes=n_nodes,
        solve_time=elapsed,
    )
