import pickle
import warnings

import cvxpy as cp
import numpy as np
import pyscipopt
import pytest

from skassign.exceptions import InfeasibleDesignError, SolverError, SolverWarning
from skassign.utils import child_seed
from skassign.utils._mip import solve_cvxpy, solve_scip
from skassign.utils._solver import (
    DIRECT_SCIP,
    SolveResult,
    check_solve_result,
    check_solver,
    relative_gap,
    warn_at_limit,
)


def _knapsack_scip(infeasible=False, node_limit=None):
    model = pyscipopt.Model()
    model.hideOutput()
    x = model.addMatrixVar((30,), vtype="B")
    weights = np.random.default_rng(0).integers(10, 40, 30)
    model.addCons(pyscipopt.quicksum(weights * x) == (2 if infeasible else 301))
    model.setObjective(pyscipopt.quicksum(x), "minimize")
    if node_limit is not None:
        model.setParam("limits/nodes", node_limit)
        model.setHeuristics(pyscipopt.SCIP_PARAMSETTING.OFF)
    return model, x


def test_solve_scip_optimal_result_is_plain_data():
    model, x = _knapsack_scip()
    result = solve_scip(model, x)
    assert result.status == "optimal" and result.converged
    assert result.values.shape == (30,)
    assert result.bound == pytest.approx(result.objective)
    assert result.n_nodes >= 1
    restored = pickle.loads(pickle.dumps(result))
    np.testing.assert_array_equal(restored.values, result.values)


def test_infeasible_scip_model_raises_with_status():
    model, x = _knapsack_scip(infeasible=True)
    result = solve_scip(model, x)
    assert result.status == "infeasible" and not result.has_solution
    with pytest.raises(InfeasibleDesignError, match="'infeasible'"):
        check_solve_result(result)


def test_infeasible_cvxpy_problem_raises():
    x = cp.Variable(3, boolean=True)
    problem = cp.Problem(cp.Minimize(cp.sum(x)), [cp.sum(x) >= 4])
    result = solve_cvxpy(problem, x, "HIGHS")
    assert result.status in {"infeasible", "infeasible_or_unbounded"}
    with pytest.raises(InfeasibleDesignError, match="HIGHS"):
        check_solve_result(result)


def test_no_solution_at_limit_raises_solver_error():
    result = SolveResult(
        status="time_limit",
        solver_status="timelimit",
        solver=DIRECT_SCIP,
        values=None,
        objective=np.inf,
        bound=0.0,
        n_nodes=10,
        solve_time=1.0,
    )
    with pytest.raises(SolverError, match="'timelimit'.*time_limit"):
        check_solve_result(result)


def test_warn_at_limit_names_status_and_gap():
    with pytest.warns(SolverWarning, match=r"'node_limit'.*relative gap 50\.00%"):
        assert warn_at_limit("node_limit", 0.5, 0.25, solver="SCIP")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_at_limit("optimal", 0.5, 0.5, solver="SCIP")
        assert not warn_at_limit("gap_limit", 0.5, 0.45, solver="SCIP")


def test_cvxpy_scip_limit_status_is_recovered():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    z = cp.Variable(40, boolean=True)
    d = cp.Variable(nonneg=True)
    e = x @ z / 20 - (x.sum() - x @ z) / 20
    problem = cp.Problem(cp.Minimize(d), [cp.sum(z) == 20, d >= e, d >= -e])
    result = solve_cvxpy(
        problem,
        z,
        "SCIP",
        {"scip_params": {"limits/nodes": 3}},
        limits={"node_limit": 3},
    )
    # cvxpy itself says "optimal_inaccurate"; the SCIP status is recovered.
    assert result.solver_status == "nodelimit"
    assert result.status == "node_limit"
    assert result.has_solution and result.n_nodes <= 3


def test_check_solver():
    assert check_solver("pyscipopt", integer=True) == DIRECT_SCIP
    assert check_solver("scip", integer=True) == "SCIP"
    with pytest.raises(ValueError, match="pip install gurobipy"):
        check_solver("gurobi", integer=True)
    with pytest.raises(ValueError, match="integer variables"):
        check_solver("CLARABEL", integer=True)
    assert check_solver("CLARABEL", integer=False) == "CLARABEL"


def test_relative_gap_and_seed():
    assert relative_gap(0.0, 0.0) == 0.0
    assert relative_gap(1.0, 1.0 + 1e-12) == 0.0
    assert relative_gap(1.0, -np.inf) == 1.0
    assert relative_gap(np.inf, 0.0) == np.inf
    seeds = [child_seed(np.random.RandomState(s)) for s in range(50)]
    assert all(0 <= s < 2**31 for s in seeds)


def test_highs_thread_count_change_is_explained():
    # HiGHS fixes its thread pool at the first solve of the process; a later
    # solve asking for another count fails inside HiGHS.
    x = cp.Variable(3, boolean=True)
    problem = cp.Problem(cp.Minimize(cp.sum(x)), [cp.sum(x) >= 2])
    assert solve_cvxpy(problem, x, "HIGHS").status == "optimal"
    with pytest.raises(SolverError, match="thread pool.*same `threads`"):
        solve_cvxpy(problem, x, "HIGHS", {"threads": 13})
