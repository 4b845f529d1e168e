"""The set-partition search of OptimalBalance, against brute force."""

import warnings
from itertools import combinations

import numpy as np
import pytest

from skassign.designs import OptimalBalance
from skassign.designs import _optimal as _optimal_module
from skassign.designs._optimal_partition import partition_search
from skassign.designs._optimal_problem import _make_problem
from skassign.designs._optimal_search import _objective
from skassign.exceptions import SolverWarning
from tests.test_designs.test_optimal import _discrepancy_from_definition


def _all_assignments(n_units, caps):
    """Every labelling of ``n_units`` units filling ``caps``, one row each."""
    rows = []

    def fill(labels, left, group):
        if group == len(caps) - 1:
            done = labels.copy()
            done[left] = group
            rows.append(done)
            return
        for chosen in combinations(left, caps[group]):
            labels[list(chosen)] = group
            fill(labels, [u for u in left if u not in chosen], group + 1)

    fill(np.zeros(n_units, dtype=int), list(range(n_units)), 0)
    return np.array(rows)


def _brute_force(X, fixed, sizes, rho):
    """Smallest objective over every assignment, from the definition.

    For every pair of groups: the l1 distance between their means plus rho
    times that between their means of squares; the largest over pairs.
    """
    free = np.flatnonzero(fixed < 0)
    caps = [int(s - np.sum(fixed == g)) for g, s in enumerate(sizes)]
    rows = _all_assignments(free.size, caps)
    labels = np.repeat(fixed[None, :], rows.shape[0], axis=0)
    labels[:, free] = rows
    means, squares = [], []
    for g, size in enumerate(sizes):
        member = (labels == g).astype(float)
        means.append(member @ X / size)
        squares.append(member @ (X * X) / size)
    worst = np.zeros(labels.shape[0])
    for p, q in combinations(range(len(sizes)), 2):
        value = np.abs(means[p] - means[q]).sum(axis=1)
        value += rho * np.abs(squares[p] - squares[q]).sum(axis=1)
        worst = np.maximum(worst, value)
    return worst.min()


def _arm_classes(sizes, fixed):
    has_fixed = np.bincount(fixed[fixed >= 0], minlength=len(sizes)) > 0
    return [
        ("fixed", g) if has_fixed[g] else ("free", int(s)) for g, s in enumerate(sizes)
    ]


CASES = [
    # n units, covariates, group sizes, fixed units {unit: group}, duplicates
    (12, 2, [4, 4, 4], {}, False),
    (12, 1, [3, 3, 3, 3], {}, False),
    (11, 3, [5, 3, 3], {}, False),
    (14, 2, [5, 5, 4], {0: 0, 1: 0, 2: 1}, False),
    (12, 2, [4, 4, 4], {}, True),
    (10, 2, [5, 5], {3: 1}, False),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [0, 1])
def test_partition_search_finds_the_brute_force_optimum(case, seed):
    n, n_features, sizes, fixed_units, duplicates = CASES[case]
    rng = np.random.default_rng(100 * case + seed)
    X = rng.normal(size=(n, n_features))
    if duplicates:
        X[n // 2 :] = X[: n - n // 2]
    sizes = np.array(sizes)
    fixed = np.full(n, -1)
    for unit, group in fixed_units.items():
        fixed[unit] = group
    problem = _make_problem(
        X, sizes, fixed, 0.5, "diagonal", _arm_classes(sizes, fixed)
    )
    optimum = _brute_force(X, fixed, sizes, 0.5) / problem.scale
    # From a random assignment: the optimum, proven.
    start = fixed.copy()
    caps = sizes - np.bincount(fixed[fixed >= 0], minlength=len(sizes))
    start[fixed < 0] = rng.permutation(np.repeat(np.arange(len(sizes)), caps))
    value = _discrepancy_from_definition(X, start, 0.5) / problem.scale
    labels, complete, bound, _ = partition_search(problem, value)
    assert complete
    if labels is None:
        # The random assignment was optimal.
        assert value == pytest.approx(optimum, rel=1e-9)
        assert bound == value
    else:
        assert np.bincount(labels, minlength=len(sizes)).tolist() == caps.tolist()
        found = fixed.copy()
        found[fixed < 0] = labels
        assert _discrepancy_from_definition(
            X, found, 0.5
        ) / problem.scale == pytest.approx(optimum, rel=1e-9)
    # Just below the optimum: nothing, and a proof of it.
    labels, complete, bound, _ = partition_search(problem, optimum * (1 - 1e-6))
    assert labels is None and complete
    assert bound == optimum * (1 - 1e-6)


def test_partition_search_stops_at_its_budget_with_a_lower_bound():
    X = np.random.default_rng(3).normal(size=(12, 2))
    sizes = np.array([4, 4, 4])
    problem = _make_problem(
        X, sizes, np.full(12, -1), 0.5, "diagonal", _arm_classes(sizes, np.full(12, -1))
    )
    optimum = _brute_force(X, np.full(12, -1), sizes, 0.5) / problem.scale
    labels, complete, bound, nodes = partition_search(problem, 3 * optimum, max_nodes=5)
    assert labels is None and not complete and bound == 0.0
    assert nodes <= 5 + 1
    # Any bound it proves is at most the optimum.
    for budget in (100, 1000, 10_000):
        _, _, bound, _ = partition_search(problem, 3 * optimum, max_nodes=budget)
        assert bound <= optimum


def test_partition_search_leaves_strata_and_many_units_alone():
    X = np.random.default_rng(0).normal(size=(64, 2))
    sizes = np.array([32, 32])
    problem = _make_problem(
        X, sizes, np.full(64, -1), 0.5, "diagonal", _arm_classes(sizes, np.full(64, -1))
    )
    assert partition_search(problem, 1.0) == (None, False, 0.0, 0)


def test_fit_proves_the_optimum_by_the_partition_search(monkeypatch):
    # 28 units, three covariates, four groups: the iterated search's path,
    # where the partition search then proves the optimum.
    calls = []
    search = _optimal_module.partition_search

    def spy(problem, value, deadline=None, max_nodes=None):
        result = search(problem, value, deadline, max_nodes)
        calls.append((value, result))
        return result

    monkeypatch.setattr(_optimal_module, "partition_search", spy)
    X = np.random.default_rng(5).normal(size=(28, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverWarning)
        design = OptimalBalance(
            n_groups=4, time_limit=10.0, n_jobs=2, random_state=0
        ).fit(X)
    ((value, (labels, complete, _, _)),) = calls
    assert complete
    assert design.status_ == "optimal"
    assert design.bound_ == design.objective_
    assert design.n_nodes_ > 0
    assert np.bincount(design.labels_).tolist() == [7, 7, 7, 7]
    assert design.objective_ == pytest.approx(
        _discrepancy_from_definition(X, design.labels_, 0.5), rel=1e-12
    )
    problem = _make_problem(
        X, np.array([7, 7, 7, 7]), np.full(28, -1), 0.5, "diagonal", []
    )
    # No worse than the search's assignment the proof started from.
    assert design.objective_ <= value * problem.scale * (1 + 1e-9)


def test_fit_gives_the_iterated_search_the_rest_when_the_partition_search_stops(
    monkeypatch,
):
    # The iterated search runs until 10% of the heuristic's time, the
    # partition search until 40%; when it does not end, the iterated search
    # continues from the best assignment until the heuristic's deadline.
    calls = []
    search = _optimal_module._parallel_iterated_search

    def spy_search(problem, labels, rng, n_iter, deadline, n_threads):
        calls.append(("search", deadline, labels.copy(), n_threads))
        return search(problem, labels, rng, min(n_iter, 50), deadline, n_threads)

    def stopped(problem, value, deadline=None, max_nodes=None):
        calls.append(("partition", deadline, value, None))
        return None, False, 0.0, 10

    monkeypatch.setattr(_optimal_module, "_parallel_iterated_search", spy_search)
    monkeypatch.setattr(_optimal_module, "partition_search", stopped)
    X = np.random.default_rng(5).normal(size=(28, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverWarning)
        design = OptimalBalance(
            n_groups=4, time_limit=5.0, node_limit=5, n_jobs=2, random_state=0
        ).fit(X)
    (first, partition, second) = calls
    assert [c[0] for c in calls] == ["search", "partition", "search"]
    assert first[3] == second[3] == 2
    # Deadlines at 10%, 40% and all of the 4.5 s before the solver's reserve.
    span = second[1] - (first[1] - 0.1 * 4.5)
    assert span == pytest.approx(4.5, abs=0.05)
    assert partition[1] - first[1] == pytest.approx(0.3 * 4.5, abs=1e-9)
    # 50 iterations per thread (the spy), two threads, two searches.
    assert design.n_iter_ == 2 * 2 * 50
    assert design.status_ == "node_limit"
    # The second search starts from the first one's result, whose objective
    # the partition search was given.
    problem = _make_problem(
        X, np.array([7, 7, 7, 7]), np.full(28, -1), 0.5, "diagonal", []
    )
    assert _objective(problem, second[2]) == pytest.approx(partition[2], rel=1e-12)
