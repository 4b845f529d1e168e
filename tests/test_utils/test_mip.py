"""The solver base: one model on every engine, options, status and checks."""

import warnings

import numpy as np
import pytest

from skassign.designs import CompleteRandomization, OptimalBalance
from skassign.designs import _optimal as optimal_module
from skassign.exceptions import SolverError, SolverWarning
from skassign.utils import _solver
from skassign.utils._mip import LinearMIP, solve_mip
from skassign.utils._solver import solver_options
from skassign.utils._testing import all_assignments
from tests.worked_designs.sum_balance import SumBalance


def _knapsack(n=12, seed=0):
    """Cheapest set of items reaching a weight, as a LinearMIP."""
    rng = np.random.default_rng(seed)
    cost, weight = rng.integers(1, 20, n).astype(float), rng.integers(1, 20, n)
    return (
        LinearMIP(
            c=cost,
            A_ub=-weight[None].astype(float),
            b_ub=np.array([-weight.sum() / 2.0]),
            A_eq=np.zeros((0, n)),
            b_eq=np.zeros(0),
            lb=np.zeros(n),
            ub=np.ones(n),
            vtypes="B" * n,
        ),
        cost,
        weight,
    )


def _brute_force_knapsack(cost, weight):
    n = cost.shape[0]
    masks = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    ok = masks @ weight >= weight.sum() / 2.0
    return float((masks[ok] @ cost).min())


@pytest.mark.parametrize("engine", ["pyscipopt", "HIGHS", "SCIP"])
def test_one_model_on_every_engine_equals_brute_force(engine):
    mip, cost, weight = _knapsack()
    result = solve_mip(mip, solver_options(engine, seed=1))
    assert result.status == "optimal"
    assert result.objective == pytest.approx(_brute_force_knapsack(cost, weight))
    assert result.values.shape == (12,)


def test_warm_start_is_used_and_light_settings_solve():
    mip, cost, weight = _knapsack(14, seed=3)
    warm = np.ones(14)  # every item: feasible
    options = solver_options("pyscipopt", light=True, node_limit=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = solve_mip(mip, options, warm=warm)
    assert result.has_solution
    assert result.objective <= cost.sum() + 1e-9


def test_solver_options_translate_limits_and_merge_user_options():
    scip = solver_options(
        "pyscipopt", time_limit=5.0, node_limit=7, mip_gap=0.1, seed=3,
        solver_params={"limits/nodes": 9},
    )  # fmt: skip
    assert scip.params["limits/time"] == 5.0 and scip.params["limits/nodes"] == 9
    assert scip.params["randomization/randomseedshift"] == 3
    cvx = solver_options(
        "SCIP", time_limit=5.0, tolerance=1e-7, verbose=2,
        solver_params={"scip_params": {"limits/solutions": 2}},
    )  # fmt: skip
    assert cvx.params["scip_params"]["limits/time"] == 5.0
    assert cvx.params["scip_params"]["limits/solutions"] == 2
    assert cvx.params["scip_params"]["numerics/feastol"] == 1e-7
    assert cvx.params["verbose"] is True
    with pytest.raises(ValueError, match="solver's own limit options"):
        solver_options("CLARABEL", node_limit=3, owner="Toy")
    assert solver_options("CLARABEL").params == {}


def test_limits_a_solver_cannot_honour_are_refused_before_any_work(monkeypatch):
    # The heuristic must not run (it could take 80% of time_limit) before a
    # solver that cannot take the limits is refused.
    def must_not_run(*args, **kwargs):
        raise AssertionError("the heuristic ran")

    monkeypatch.setattr(optimal_module, "_tabu_search", must_not_run)
    monkeypatch.setattr(_solver, "_CVXPY_LIMITS", {})
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="solver's own limit options"):
        OptimalBalance(solver="HIGHS").fit(X)
    with pytest.raises(ValueError, match="integer variables"):
        OptimalBalance(solver="CLARABEL").fit(X)
    with pytest.raises(ValueError, match="solver's own limit options"):
        SumBalance(solver="HIGHS").fit(X)


@pytest.mark.parametrize("solver", ["pyscipopt", "HIGHS"])
@pytest.mark.parametrize("sizes, n_fixed", [([5, 5], 0), ([3, 4, 3], 2)])
def test_worked_solver_design_proves_the_brute_force_optimum(solver, sizes, n_fixed):
    n = sum(sizes)
    X = np.random.default_rng(n + n_fixed).normal(size=(n, 2))
    fixed = np.full(n, -1)
    fixed[:n_fixed] = np.arange(n_fixed) % len(sizes)
    design = SumBalance(
        n_groups=len(sizes), group_sizes=sizes, node_limit=None, solver=solver,
        random_state=0,
    ).fit(X, fixed_labels=fixed)  # fmt: skip
    totals = [
        np.bincount(a, X.sum(axis=1), len(sizes)) for a in all_assignments(
            np.array(sizes), fixed)
    ]  # fmt: skip
    expected = min(t.max() - t.min() for t in totals)
    assert design.status_ == "optimal" and design.gap_ == 0.0
    assert design.objective_ == pytest.approx(expected, abs=1e-6)
    assert design.bound_ <= design.objective_
    np.testing.assert_array_equal(design.labels_[:n_fixed], fixed[:n_fixed])


def test_status_attributes_come_from_one_record(monkeypatch, capsys):
    X = np.random.default_rng(1).normal(size=(24, 2))
    with pytest.warns(SolverWarning, match="node_limit"):
        design = SumBalance(node_limit=1, verbose=1, random_state=0).fit(X)
    assert design.status_ == "node_limit" and design.n_nodes_ >= 1
    assert 0.0 <= design.bound_ <= design.objective_
    assert design.gap_ == pytest.approx(
        (design.objective_ - design.bound_) / design.objective_
    )
    assert design.solve_time_ > 0
    assert "[SumBalance] pyscipopt: status node_limit" in capsys.readouterr().out

    def broken(*args, **kwargs):
        raise SolverError("no assignment")

    monkeypatch.setattr(SumBalance, "_solve_mip", broken)
    with pytest.warns(SolverWarning, match="Falling back"):
        design = SumBalance(fallback=CompleteRandomization(), random_state=0).fit(X)
    assert design.status_ == "fallback" and design.n_nodes_ == -1
    assert np.isnan(design.bound_) and np.isnan(design.gap_)
