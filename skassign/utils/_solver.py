"""Solver plumbing shared by every solver-backed design.

One place checks that a solver is available and suitable, translates
skassign's solver parameters into an engine's options and the engine's own
status into skassign's vocabulary, and turns failures into
:mod:`skassign.exceptions` errors and warnings; :mod:`skassign.utils._mip`
runs the engines (directly through PySCIPOpt, or through cvxpy for any
other solver).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from skassign.exceptions import InfeasibleDesignError, SolverError, SolverWarning

__all__ = [
    "DIRECT_SCIP",
    "EngineOptions",
    "SolveOutcome",
    "SolveResult",
    "check_solve_result",
    "check_solver",
    "import_pyscipopt",
    "relative_gap",
    "solver_options",
    "warn_at_limit",
]

#: Name of the default engine: SCIP driven directly through PySCIPOpt.
DIRECT_SCIP = "pyscipopt"

# pip packages providing cvxpy's solver interfaces, for install hints.
_INSTALL_HINTS = {
    DIRECT_SCIP: "pip install pyscipopt",
    "SCIP": "pip install pyscipopt",
    "HIGHS": "pip install highspy",
    "GUROBI": "pip install gurobipy (and a Gurobi licence)",
    "CPLEX": "pip install cplex",
    "MOSEK": "pip install mosek (and a MOSEK licence)",
    "COPT": "pip install coptpy",
    "XPRESS": "pip install xpress",
    "CBC": "pip install cylp",
    "GLPK_MI": "pip install cvxopt",
    "SCIPY": "pip install scipy",
    "KNITRO": "pip install knitro",
    "CUOPT": "pip install cuopt",
}

# Solver statuses meaning that no assignment can exist.
_INFEASIBLE = {"infeasible", "infeasible_or_unbounded"}
# Statuses at which the returned assignment is what the user asked for.
_CONVERGED = {"optimal", "gap_limit"}

_SCIP_STATUS = {
    "optimal": "optimal",
    "gaplimit": "gap_limit",
    "timelimit": "time_limit",
    "nodelimit": "node_limit",
    "totalnodelimit": "node_limit",
    "stallnodelimit": "node_limit",
    "memlimit": "memory_limit",
    "sollimit": "solution_limit",
    "bestsollimit": "solution_limit",
    "restartlimit": "restart_limit",
    "userinterrupt": "interrupted",
    "terminate": "interrupted",
    "infeasible": "infeasible",
    "unbounded": "unbounded",
    "inforunbd": "infeasible_or_unbounded",
}


# Options through which each cvxpy solver takes the limits, the seed and the
# feasibility tolerance (t, n, g, s, tol: time and node limit, relative gap,
# seed, tolerance; None when not set).
_CVXPY_LIMITS = {
    "HIGHS": lambda t, n, g, s, tol: {
        **({"time_limit": t} if t is not None else {}),
        **({"mip_max_nodes": n} if n is not None else {}),
        "mip_rel_gap": g,
        "random_seed": s,
        **(
            {"mip_feasibility_tolerance": tol, "primal_feasibility_tolerance": tol}
            if tol is not None
            else {}
        ),
    },
    "SCIP": lambda t, n, g, s, tol: {
        "scip_params": {
            **({"limits/time": t} if t is not None else {}),
            **({"limits/nodes": n} if n is not None else {}),
            "limits/gap": g,
            "randomization/randomseedshift": s,
            **({"numerics/feastol": tol} if tol is not None else {}),
        }
    },
    "SCIPY": lambda t, n, g, s, tol: {
        "scipy_options": {
            **({"time_limit": t} if t is not None else {}),
            **({"node_limit": n} if n is not None else {}),
            "mip_rel_gap": g,
        }
    },
}


@dataclass(frozen=True)
class EngineOptions:
    """Everything an engine is told, from :func:`solver_options`.

    Attributes
    ----------
    engine : str
        ``"pyscipopt"`` or a cvxpy solver name (as :func:`check_solver`
        returns it).
    params : dict
        SCIP parameters (``"pyscipopt"``) or keyword arguments of
        ``cvxpy.Problem.solve``.
    light : bool
        Switch off SCIP's presolving, primal heuristics and cutting planes
        (for small models with a good warm start; ignored by cvxpy).
    verbose : int
        2 or more shows the solver log.
    limits : dict
        The limits that were set (``time_limit``, ``node_limit``), used to
        name the limit behind a solver's generic ``USER_LIMIT``.
    """

    engine: str
    params: dict
    light: bool = False
    verbose: int = 0
    limits: dict | None = None


def solver_options(
    engine,
    *,
    time_limit=None,
    node_limit=None,
    mip_gap=0.0,
    seed=0,
    tolerance=None,
    solver_params=None,
    verbose=0,
    light=False,
    owner="This design",
):
    """Options that make ``engine`` honour the limits, the seed and the tolerance.

    The one translation of skassign's solver parameters into an engine's own
    options: SCIP parameters for ``"pyscipopt"``, keyword arguments of
    ``cvxpy.Problem.solve`` for the cvxpy solvers that take limits.
    ``solver_params`` override the options set here (nested dictionaries,
    such as cvxpy's ``scip_params``, are merged).

    Parameters
    ----------
    engine : str
        Output of :func:`check_solver`.
    time_limit : float or None, default=None
        Wall-clock limit in seconds.
    node_limit : int or None, default=None
        Branch-and-bound node limit.
    mip_gap : float, default=0.0
        Relative gap at which the solver may stop.
    seed : int, default=0
        Seed of the solver's random choices.
    tolerance : float or None, default=None
        Feasibility tolerance (``None`` keeps the solver's).
    solver_params : dict or None, default=None
        The user's own options, applied last.
    verbose : int, default=0
        2 or more shows the solver log.
    light : bool, default=False
        See :class:`EngineOptions`.
    owner : str, default="This design"
        Who asks, for the error message.

    Returns
    -------
    options : EngineOptions
        The options.

    Raises
    ------
    ValueError
        If a limit is set but ``engine`` is a cvxpy solver through which
        skassign cannot pass limits.

    Examples
    --------
    >>> from skassign.utils._solver import solver_options
    >>> solver_options("HIGHS", time_limit=10.0, seed=3).params["time_limit"]
    10.0
    """
    if engine == DIRECT_SCIP:
        params = {
            "randomization/randomseedshift": seed,
            "randomization/lpseed": seed,
            "limits/gap": float(mip_gap),
        }
        if tolerance is not None:
            params["numerics/feastol"] = tolerance
        if time_limit is not None:
            params["limits/time"] = max(float(time_limit), 1e-3)
        if node_limit is not None:
            params["limits/nodes"] = int(node_limit)
        if solver_params:
            # Refuse a parameter SCIP does not know now, before any work.
            set_scip_params(import_pyscipopt().Model(), solver_params)
        params.update(solver_params or {})
    else:
        limited = time_limit is not None or node_limit is not None or mip_gap > 0
        params = {}
        if engine in _CVXPY_LIMITS:
            params = _CVXPY_LIMITS[engine](
                time_limit, node_limit, float(mip_gap), seed, tolerance
            )
        elif limited:
            raise ValueError(
                f"{owner} passes time_limit, node_limit and mip_gap to the "
                f"cvxpy solvers {sorted(_CVXPY_LIMITS)} only; for "
                f"solver={engine!r} set time_limit=None, node_limit=None and "
                "mip_gap=0 and give the solver's own limit options in "
                "solver_params."
            )
        for key, value in (solver_params or {}).items():
            if isinstance(value, dict) and isinstance(params.get(key), dict):
                params[key] = {**params[key], **value}
            else:
                params[key] = value
        if verbose >= 2:
            params.setdefault("verbose", True)
    limits = {"time_limit": time_limit, "node_limit": node_limit}
    return EngineOptions(engine, params, light, verbose, limits)


@dataclass(frozen=True)
class SolveResult:
    """Outcome of one solver run, as plain picklable data.

    Attributes
    ----------
    status : str
        Normalised status: ``"optimal"``, ``"gap_limit"``, ``"time_limit"``,
        ``"node_limit"``, ``"user_limit"`` (a limit the solver did not name),
        ``"infeasible"``, ``"unbounded"``, ``"error"``, ...
    solver_status : str
        The status exactly as the solver reported it.
    solver : str
        Name of the engine.
    values : ndarray or None
        Values of the requested variables at the best solution, ``None`` if
        the solver has none.
    objective : float
        Objective of the best solution (``inf`` without one).
    bound : float
        The solver's dual bound (``-inf`` if unknown).
    n_nodes : int
        Branch-and-bound nodes processed (``-1`` if unknown).
    solve_time : float
        Wall-clock seconds spent in the solver call.
    """

    status: str
    solver_status: str
    solver: str
    values: np.ndarray | None
    objective: float
    bound: float
    n_nodes: int
    solve_time: float

    @property
    def has_solution(self):
        """Whether the solver returned a feasible solution."""
        return self.values is not None

    @property
    def converged(self):
        """Whether the run stopped because it met its optimality target."""
        return self.status in _CONVERGED


@dataclass(frozen=True)
class SolveOutcome:
    """How a solver design's fit ended, when no :class:`SolveResult` says it.

    :class:`~skassign.base.BaseSolverDesign` sets its fitted status
    attributes from this record or from a :class:`SolveResult`, which has
    the same four attributes.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"heuristic"``, ``"time_limit"``, ``"fallback"``, ...
    bound : float, default=nan
        A proven lower bound on the optimal objective (NaN if none).
    n_nodes : int, default=-1
        Branch-and-bound nodes processed (``-1`` if unknown).
    solver : str or None, default=None
        The engine that ran, or ``None`` when none did: then no limit
        warning is emitted and nothing is printed.
    bound_is_objective : bool, default=False
        The search was exhaustive: the bound is the design's objective at
        the returned labels (``bound`` is then ignored), without evaluating
        it a second time.
    """

    status: str
    bound: float = float("nan")
    n_nodes: int = -1
    solver: str | None = None
    bound_is_objective: bool = False


def relative_gap(objective, bound):
    """Relative optimality gap ``(objective - bound) / objective`` in [0, 1].

    Zero when the objective is zero or below the bound (rounding), one when
    the bound is unknown or not positive while the objective is.

    Parameters
    ----------
    objective : float
        Objective of the returned solution (minimisation).
    bound : float
        A lower bound on the optimal objective.

    Returns
    -------
    gap : float
        The relative gap.

    Examples
    --------
    >>> from skassign.utils._solver import relative_gap
    >>> relative_gap(0.5, 0.25)
    0.5
    """
    if not np.isfinite(objective):
        return float("inf")
    if objective <= 0 or bound >= objective:
        return 0.0
    if not np.isfinite(bound) or bound <= 0:
        return 1.0
    return float((objective - bound) / objective)


def import_pyscipopt():
    """Import PySCIPOpt, or raise a ValueError with the install command."""
    try:
        import pyscipopt
    except ImportError as err:
        raise ValueError(
            f"solver={DIRECT_SCIP!r} needs PySCIPOpt, which is not installed; "
            f"install it with `{_INSTALL_HINTS[DIRECT_SCIP]}` or choose a cvxpy "
            "solver by name (for example solver='HIGHS')."
        ) from err
    return pyscipopt


def set_scip_params(model, settings, *, name="solver_params"):
    """Set SCIP parameters, naming the parameter SCIP refuses.

    PySCIPOpt raises ``KeyError: 'Not a valid parameter name'`` (or a bare
    ``ValueError``) without saying which entry of the dictionary is wrong.

    Parameters
    ----------
    model : pyscipopt.Model
        The model.
    settings : dict
        SCIP parameter names and values.
    name : str, default="solver_params"
        What the user calls these settings, for the message.

    Raises
    ------
    ValueError
        If a name is not a SCIP parameter or its value is not valid.

    Examples
    --------
    >>> import pyscipopt
    >>> from skassign.utils._solver import set_scip_params
    >>> set_scip_params(pyscipopt.Model(), {"no/such": 1})
    Traceback (most recent call last):
    ...
    ValueError: solver_params: 'no/such' is not a SCIP parameter ...
    """
    for key, value in settings.items():
        try:
            model.setParam(key, value)
        except KeyError:
            raise ValueError(
                f"{name}: {key!r} is not a SCIP parameter (names look like "
                "'limits/solutions'; see SCIP's parameter list)."
            ) from None
        except (ValueError, TypeError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(
                f"{name}: SCIP refuses {key}={value!r} ({first})."
            ) from None


def check_solver(solver, *, integer):
    """Check that ``solver`` is installed and suits the problem.

    Parameters
    ----------
    solver : str
        ``"pyscipopt"`` (SCIP driven directly) or the name of a cvxpy solver
        (any case).
    integer : bool
        Whether the problem has integer variables.

    Returns
    -------
    name : str
        ``"pyscipopt"`` or the cvxpy solver name in upper case.

    Raises
    ------
    ValueError
        If the solver is not installed (the message gives the install
        command) or cannot handle integer variables.

    Examples
    --------
    >>> from skassign.utils._solver import check_solver
    >>> check_solver("highs", integer=True)
    'HIGHS'
    """
    if solver.lower() == DIRECT_SCIP:
        import_pyscipopt()
        return DIRECT_SCIP
    import cvxpy as cp
    from cvxpy.reductions.solvers.defines import MI_SOLVERS

    name = solver.upper()
    known = set(cp.installed_solvers())
    if name not in known:
        hint = _INSTALL_HINTS.get(name)
        how = (
            f"install it with `{hint}`"
            if hint
            else "check the spelling against cvxpy's solver names"
        )
        raise ValueError(
            f"solver={solver!r} is not available: {how}. Installed cvxpy "
            f"solvers: {sorted(known)}; the default solver={DIRECT_SCIP!r} "
            "uses SCIP directly."
        )
    if integer and name not in MI_SOLVERS:
        usable = sorted(known & set(MI_SOLVERS))
        raise ValueError(
            f"solver={solver!r} cannot solve problems with integer variables. "
            f"Use an integer solver such as 'SCIP' or 'HIGHS' (installed: "
            f"{usable}), or the default solver={DIRECT_SCIP!r}."
        )
    return name


def check_solve_result(result):
    """Raise if a solver run produced no feasible solution.

    Parameters
    ----------
    result : SolveResult
        Output of :func:`solve_scip` or :func:`solve_cvxpy`.

    Returns
    -------
    result : SolveResult
        The same result, which has a solution.

    Raises
    ------
    InfeasibleDesignError
        If the solver proved that no assignment exists.
    SolverError
        If the solver stopped without a solution for any other reason.
    """
    if result.has_solution:
        return result
    if result.status in _INFEASIBLE:
        raise InfeasibleDesignError(
            f"Solver {result.solver!r} proved that no assignment satisfies the "
            f"design's constraints (status {result.solver_status!r}). Check "
            "group_sizes and fixed_labels."
        )
    raise SolverError(
        f"Solver {result.solver!r} stopped without a feasible assignment "
        f"(status {result.solver_status!r}). Raise time_limit or node_limit, "
        "try another solver, or pass verbose=2 (solver_params={'verbose': True} "
        "for cvxpy solvers) to see the solver log."
    )


def warn_at_limit(status, objective, bound, *, solver, stacklevel=2):
    """Emit a :class:`~skassign.exceptions.SolverWarning` unless converged.

    Parameters
    ----------
    status : str
        Normalised status of the run.
    objective : float
        Objective of the returned assignment.
    bound : float
        Best known lower bound.
    solver : str
        Name of the engine, for the message.
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`.

    Returns
    -------
    warned : bool
        Whether a warning was emitted.
    """
    if status in _CONVERGED:
        return False
    gap = relative_gap(objective, bound)
    warnings.warn(
        f"{solver} stopped at status {status!r} before proving optimality; "
        f"returning the best assignment found (objective {objective:.6g}, "
        f"bound {bound:.6g}, relative gap {gap:.2%}). Raise time_limit or "
        "node_limit, or accept the gap with mip_gap.",
        SolverWarning,
        stacklevel=stacklevel + 1,
    )
    return True
