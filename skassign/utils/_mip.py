"""A linear mixed-integer program written once and solved by any engine.

A solver-backed design states its model as matrices (:class:`LinearMIP`) and
:func:`solve_mip` builds it in SCIP through PySCIPOpt or in cvxpy for any
other solver, with the options of :func:`~skassign.utils._solver.solver_options`
and an optional warm start. The design then never touches an engine's API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skassign.utils._solver import (
    DIRECT_SCIP,
    import_pyscipopt,
    solve_cvxpy,
    solve_scip,
)

__all__ = ["LinearMIP", "solve_mip"]


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
