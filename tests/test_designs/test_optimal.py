import math
import pickle
import time
import warnings
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from joblib import effective_n_jobs, parallel_config
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign import _solver_design
from skassign.datasets import make_tumor_mice
from skassign.designs import (
    CompleteRandomization,
    OptimalBalance,
    _optimal,
    _optimal_problem,
    _optimal_search,
)
from skassign.exceptions import InfeasibleDesignError, SolverError, SolverWarning
from skassign.metrics import moment_discrepancy
from skassign.utils import _solver
from skassign.utils._strata import Strata
from skassign.utils._testing import all_assignments

# ---------------------------------------------------------------------------
# Brute-force oracle, written independently of the implementation.


def _brute_force(X, sizes, fixed, rho, second_moments):
    A = all_assignments(sizes, fixed)
    m = len(sizes)
    onehot = (A[:, None, :] == np.arange(m)[None, :, None]).astype(float)
    onehot /= np.asarray(sizes, dtype=float)[None, :, None]
    means = onehot @ X  # (N, m, s)
    if second_moments == "diagonal":
        prods = X * X
    else:
        prods = np.einsum("is,it->ist", X, X).reshape(X.shape[0], -1)
    seconds = onehot @ prods
    worst = np.zeros(A.shape[0])
    for p, q in combinations(range(m), 2):
        v = np.abs(means[:, p] - means[:, q]).sum(1) + rho * np.abs(
            seconds[:, p] - seconds[:, q]
        ).sum(1)
        worst = np.maximum(worst, v)
    return worst.min(), A.shape[0]


ORACLE_CASES = [
    # n, n_features, sizes, second_moments, rho, n_fixed
    (16, 1, [8, 8], "diagonal", 0.5, 0),
    (16, 3, [8, 8], "full", 0.5, 0),
    (14, 2, [5, 9], "diagonal", 1.0, 0),
    (15, 4, [7, 8], "full", 0.3, 3),
    (12, 2, [4, 4, 4], "diagonal", 0.5, 0),
    (12, 3, [4, 4, 4], "full", 0.5, 0),
    (11, 2, [3, 4, 4], "diagonal", 0.5, 2),
    (12, 3, [3, 4, 5], "full", 2.0, 0),
    (12, 2, [4, 4, 4], "diagonal", 0.0, 3),
]


@pytest.mark.parametrize(
    "n, n_features, sizes, second_moments, rho, n_fixed", ORACLE_CASES
)
def test_proven_optimum_equals_brute_force(
    n, n_features, sizes, second_moments, rho, n_fixed
):
    rng = np.random.default_rng(n * 100 + n_features * 10 + n_fixed)
    X = rng.normal(size=(n, n_features))
    fixed = np.full(n, -1)
    if n_fixed:
        units = rng.choice(n, n_fixed, replace=False)
        fixed[units] = rng.integers(0, len(sizes), n_fixed)
    expected, n_assignments = _brute_force(X, sizes, fixed, rho, second_moments)
    assert n_assignments > 100
    design = OptimalBalance(
        n_groups=len(sizes),
        group_sizes=sizes,
        rho=rho,
        second_moments=second_moments,
        time_limit=None,
        random_state=0,
    ).fit(X, fixed_labels=fixed)
    assert design.status_ == "optimal"
    assert design.objective_ == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert design.bound_ == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert design.gap_ == 0.0
    assert np.bincount(design.labels_).tolist() == sizes
    kept = fixed >= 0
    np.testing.assert_array_equal(design.labels_[kept], fixed[kept])
    assert design.objective_ == pytest.approx(
        moment_discrepancy(X, design.labels_, rho=rho, second_moments=second_moments),
        rel=1e-12,
    )


@pytest.mark.parametrize(
    "sizes, n_fixed, seed",
    [([8, 8], 0, 0), ([8, 8], 0, 1), ([6, 9], 0, 2), ([7, 7], 3, 3), ([5, 5, 4], 0, 4)],
)
def test_duplicate_units_proven_optimum_equals_brute_force(sizes, n_fixed, seed):
    # Bootstrap-like input: units drawn with replacement, so many rows repeat
    # (the two-group model counts units per distinct row).
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    X = rng.normal(size=(n, 2))[rng.integers(0, n, n)]
    assert np.unique(X, axis=0).shape[0] < n
    fixed = np.full(n, -1)
    if n_fixed:
        fixed[rng.choice(n, n_fixed, replace=False)] = rng.integers(0, 2, n_fixed)
    expected, _ = _brute_force(X, sizes, fixed, 0.5, "diagonal")
    design = OptimalBalance(
        n_groups=len(sizes), group_sizes=sizes, time_limit=None, random_state=seed
    ).fit(X, fixed_labels=fixed)
    assert design.status_ == "optimal"
    assert design.objective_ == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert np.bincount(design.labels_).tolist() == sizes
    np.testing.assert_array_equal(design.labels_[fixed >= 0], fixed[fixed >= 0])


def test_identical_units_are_spread_at_random():
    # Which of several identical units joins which group is random, so
    # re-drawing the design varies the assignment of the identical units.
    X = np.repeat(np.random.default_rng(0).normal(size=(5, 1)), 2, axis=0)
    draws = {
        tuple(OptimalBalance(random_state=seed).fit_predict(X)) for seed in range(20)
    }
    assert len(draws) > 2


@pytest.mark.parametrize("second_moments", ["diagonal", "full"])
def test_heuristic_finds_the_small_optimum(second_moments):
    X = np.random.default_rng(3).normal(size=(12, 2))
    expected, _ = _brute_force(X, [6, 6], np.full(12, -1), 0.5, second_moments)
    design = OptimalBalance(
        method="heuristic", second_moments=second_moments, random_state=0
    ).fit(X)
    assert design.status_ == "heuristic"
    assert design.objective_ == pytest.approx(expected, rel=1e-9)
    assert np.isnan(design.bound_) and np.isnan(design.gap_)


@pytest.mark.parametrize(
    "n, n_features, sizes, second_moments, rho, n_fixed",
    [case for case in ORACLE_CASES if len(case[2]) == 2],
)
def test_one_exchange_move_finds_the_two_group_optimum(
    n, n_features, sizes, second_moments, rho, n_fixed
):
    # With two groups and at most 16 units a single exchange move re-splits
    # all free units, and its meet-in-the-middle search is exact.
    rng = np.random.default_rng(n * 100 + n_features * 10 + n_fixed)
    X = rng.normal(size=(n, n_features))
    fixed = np.full(n, -1)
    if n_fixed:
        units = rng.choice(n, n_fixed, replace=False)
        fixed[units] = rng.integers(0, len(sizes), n_fixed)
    expected, _ = _brute_force(X, sizes, fixed, rho, second_moments)
    design = OptimalBalance(
        group_sizes=sizes,
        rho=rho,
        second_moments=second_moments,
        method="heuristic",
        heuristic_iter=0,
        exchange_iter=1,
        random_state=0,
    ).fit(X, fixed_labels=fixed)
    assert (design.n_iter_, design.n_exchange_iter_) == (0, 1)
    assert design.objective_ == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert np.bincount(design.labels_).tolist() == sizes
    np.testing.assert_array_equal(design.labels_[fixed >= 0], fixed[fixed >= 0])


@pytest.mark.parametrize(
    "n, n_features, sizes, n_fixed",
    [(30, 1, [10, 10, 10], 0), (45, 2, [20, 15, 10], 5), (60, 1, [15, 15, 15, 15], 6)],
)
def test_exchange_search_keeps_sizes_and_fixed_units_and_never_worsens(
    n, n_features, sizes, n_fixed
):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, n_features))
    fixed = np.full(n, -1)
    fixed[rng.choice(n, n_fixed, replace=False)] = rng.integers(0, len(sizes), n_fixed)
    common = dict(
        n_groups=len(sizes),
        group_sizes=sizes,
        method="heuristic",
        heuristic_iter=50,
        random_state=1,
    )
    tabu = OptimalBalance(exchange_iter=0, **common).fit(X, fixed_labels=fixed)
    both = OptimalBalance(exchange_iter=30, **common).fit(X, fixed_labels=fixed)
    assert both.n_exchange_iter_ == 30
    # The exchange search starts from the tabu search's result.
    assert both.objective_ <= tabu.objective_
    assert np.bincount(both.labels_).tolist() == sizes
    np.testing.assert_array_equal(both.labels_[fixed >= 0], fixed[fixed >= 0])
    assert both.objective_ == pytest.approx(moment_discrepancy(X, both.labels_))
    again = OptimalBalance(exchange_iter=30, **common).fit(X, fixed_labels=fixed)
    np.testing.assert_array_equal(again.labels_, both.labels_)


def test_exchange_search_default_is_for_one_covariate_and_three_groups():
    rng = np.random.default_rng(0)

    def default(n, n_features, m, method="mip", rho=0.5):
        X = rng.normal(size=(n, n_features))
        sizes = np.full(m, n // m)
        problem = _optimal_problem._make_problem(
            X, sizes, np.full(n, -1), rho, "diagonal", [("free", n // m)] * m
        )
        return _optimal_search._default_exchange_iter(problem, method)

    assert default(30, 1, 3) == default(60, 1, 4) == _optimal_search._EXCHANGE_ITER
    assert default(30, 2, 3, rho=0.0) == _optimal_search._EXCHANGE_ITER
    assert default(20, 1, 4, method="heuristic") == _optimal_search._EXCHANGE_ITER
    assert default(30, 2, 3) == default(30, 3, 3) == 0  # more moment columns
    assert default(40, 1, 2) == 0  # two groups: tabu search and the model
    assert default(24, 1, 3) == 0  # the solver proves small problems


def _discrepancy_from_definition(X, labels, rho):
    # Largest over pairs of groups of the l1 distance between their means
    # plus rho times that between their means of squares.
    groups = range(int(labels.max()) + 1)
    means = [X[labels == g].mean(axis=0) for g in groups]
    squares = [(X[labels == g] ** 2).mean(axis=0) for g in groups]
    return max(
        np.abs(means[p] - means[q]).sum() + rho * np.abs(squares[p] - squares[q]).sum()
        for p, q in combinations(groups, 2)
    )


def _best_resplit(X, labels, free, p, q, rho, strata=None):
    # Best objective over every re-split of the free units of groups p and q
    # (the same number to each, and per stratum if given), the rest unchanged.
    units = np.flatnonzero(free & ((labels == p) | (labels == q)))
    keys = np.zeros(X.shape[0], dtype=int) if strata is None else strata
    best = np.inf
    for to_p in combinations(units.tolist(), int(np.sum(free & (labels == p)))):
        trial = labels.copy()
        trial[units] = q
        trial[list(to_p)] = p
        if not all(
            np.sum((trial == p) & (keys == h)) == np.sum((labels == p) & (keys == h))
            for h in np.unique(keys)
        ):
            continue
        best = min(best, _discrepancy_from_definition(X, trial, rho))
    return best


@pytest.mark.parametrize(
    "n, n_features, sizes, n_fixed, with_strata",
    [
        (12, 2, [4, 4, 4], 0, False),
        (13, 3, [5, 4, 4], 2, False),
        (12, 1, [3, 3, 3, 3], 1, False),
        (12, 2, [4, 4, 4], 0, True),
    ],
)
def test_pair_descent_ends_where_no_resplit_of_two_groups_improves(
    n, n_features, sizes, n_fixed, with_strata
):
    # Oracle: every re-split of every pair of groups, scored from the
    # definition. After the descent none improves, sizes, fixed units and
    # per-stratum counts are kept, and the objective never went up.
    rng = np.random.default_rng(n + n_features)
    X = rng.normal(size=(n, n_features))
    X[1] = X[0]  # identical units are re-split as well
    fixed = np.full(n, -1)
    fixed[rng.choice(n, n_fixed, replace=False)] = rng.integers(0, len(sizes), n_fixed)
    start = fixed.copy()
    caps = np.array(sizes) - np.bincount(fixed[fixed >= 0], minlength=len(sizes))
    start[fixed < 0] = rng.permutation(np.repeat(np.arange(len(sizes)), caps))
    strata = None
    if with_strata:
        codes = np.arange(n) % 2
        counts = np.zeros((2, len(sizes)), dtype=np.int64)
        np.add.at(counts, (codes, start), 1)
        strata = Strata(codes=codes, names=np.array([0, 1]), counts=counts)
    problem = _optimal_problem._make_problem(
        X, np.array(sizes), fixed, 0.5, "diagonal", [], strata
    )
    labels, value, n_moves = _optimal_search._pair_descent(
        problem, start[fixed < 0], np.random.default_rng(0)
    )
    full = fixed.copy()
    full[fixed < 0] = labels
    assert np.bincount(full).tolist() == sizes
    got = _discrepancy_from_definition(X, full, 0.5)
    assert value * problem.scale == pytest.approx(got, rel=1e-12)
    assert got <= _discrepancy_from_definition(X, start, 0.5) + 1e-12
    assert n_moves >= math.comb(len(sizes), 2)
    codes = None if strata is None else strata.codes
    if strata is not None:
        table = np.zeros_like(strata.counts)
        np.add.at(table, (codes, full), 1)
        np.testing.assert_array_equal(table, strata.counts)
    for p, q in combinations(range(len(sizes)), 2):
        # A re-split may improve by less than the descent's rounding margin.
        assert _best_resplit(X, full, fixed < 0, p, q, 0.5, codes) >= got * (1 - 1e-8)


def test_iterated_search_reaches_the_small_optimum():
    # Three groups of four: twenty rounds of the iterated search from a
    # random start reach the brute-force optimum.
    X = np.random.default_rng(5).normal(size=(12, 2))
    sizes = [4, 4, 4]
    optimum, _ = _brute_force(X, sizes, np.full(12, -1), 0.5, "diagonal")
    problem = _optimal_problem._make_problem(
        X, np.array(sizes), np.full(12, -1), 0.5, "diagonal", []
    )
    rng = np.random.default_rng(1)
    start = _optimal_problem._random_labels(problem.caps, rng)
    labels, n_done, n_moves = _optimal_search._iterated_search(
        problem, start, rng, 20 * _optimal_search._ROUND_ITER
    )
    assert n_done == 20 * _optimal_search._ROUND_ITER and n_moves > 0
    assert np.bincount(labels).tolist() == sizes
    assert _discrepancy_from_definition(X, labels, 0.5) == pytest.approx(
        optimum, rel=1e-12
    )


def test_parallel_iterated_search_keeps_the_best_of_independent_searches(
    monkeypatch,
):
    X = np.random.default_rng(6).normal(size=(24, 3))
    sizes = np.array([8, 8, 8])
    problem = _optimal_problem._make_problem(
        X, sizes, np.full(24, -1), 0.5, "diagonal", []
    )
    n_iter = 2 * _optimal_search._ROUND_ITER
    start = _optimal_problem._random_labels(
        problem.caps, np.random.default_rng(0), problem
    )
    # One thread is the single search itself: same labels and counts.
    single = _optimal_search._iterated_search(
        problem, start, np.random.default_rng(4), n_iter
    )
    one = _optimal_search._parallel_iterated_search(
        problem, start, np.random.default_rng(4), n_iter, None, 1
    )
    np.testing.assert_array_equal(one[0], single[0])
    assert one[1:] == single[1:]

    calls = []

    def spy(problem, labels, rng, n_iter, deadline=None):
        # Each search "finds" its own start, so that their results differ.
        result = labels.copy(), n_iter, len(calls) + 1
        calls.append((labels.copy(), rng, result))
        return result

    monkeypatch.setattr(_optimal_search, "_iterated_search", spy)
    rng = np.random.default_rng(4)
    best, n_done, n_moves = _optimal_search._parallel_iterated_search(
        problem, start, rng, n_iter, None, 3
    )
    assert len(calls) == 3
    # The searches: the first from the given start with the given generator,
    # the others from their own random starts with generators of their own.
    calls.sort(key=lambda call: call[1] is not rng)
    np.testing.assert_array_equal(calls[0][0], start)
    assert calls[0][1] is rng
    assert len({id(call[1]) for call in calls}) == 3
    assert not np.array_equal(calls[1][0], calls[2][0])
    for labels, _, _ in calls[1:]:
        assert np.bincount(labels).tolist() == sizes.tolist()
    # The best of their results, and the work of all of them.
    values = [_discrepancy_from_definition(X, r[0], 0.5) for _, _, r in calls]
    assert len(set(values)) == 3
    assert _discrepancy_from_definition(X, best, 0.5) == pytest.approx(min(values))
    assert n_done == sum(r[1] for _, _, r in calls) == 3 * n_iter
    assert n_moves == sum(r[2] for _, _, r in calls)


def test_threads_of_the_iterated_search_give_a_valid_fit():
    # Real threads until the deadline: a valid assignment and its objective.
    # (More free units than the set-partition search takes.)
    X = np.random.default_rng(7).normal(size=(45, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverWarning)
        design = OptimalBalance(
            n_groups=3, time_limit=1.0, n_jobs=2, random_state=0
        ).fit(X)
    assert np.bincount(design.labels_).tolist() == [15, 15, 15]
    assert design.objective_ == pytest.approx(
        _discrepancy_from_definition(X, design.labels_, 0.5), rel=1e-12
    )
    assert design.n_iter_ > 2 * _optimal_search._ROUND_ITER


def test_kick_swaps_units_of_different_groups_within_strata():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    codes = np.arange(30) % 3
    start = np.arange(30) // 10
    counts = np.zeros((3, 3), dtype=np.int64)
    np.add.at(counts, (codes, start), 1)
    strata = Strata(codes=codes, names=np.arange(3), counts=counts)
    for problem_strata in (None, strata):
        problem = _optimal_problem._make_problem(
            X,
            np.array([10, 10, 10]),
            np.full(30, -1),
            0.5,
            "diagonal",
            [],
            problem_strata,
        )
        kicked = _optimal_search._kick(start, rng, 4, problem.strata)
        # Four swaps of units in different groups change at most 8 labels
        # (a later swap may undo an earlier one) and keep the sizes.
        assert 0 < np.count_nonzero(kicked != start) <= 8
        assert np.bincount(kicked).tolist() == [10, 10, 10]
        if problem_strata is not None:
            table = np.zeros_like(counts)
            np.add.at(table, (codes, kicked), 1)
            np.testing.assert_array_equal(table, counts)


def test_tabu_search_fills_the_time_only_where_the_bound_stays_trivial():
    rng = np.random.default_rng(0)

    def fills(n, n_features, m, method="mip", exchange_iter=None):
        X = rng.normal(size=(n, n_features))
        sizes = np.diff(np.linspace(0, n, m + 1).round().astype(int))
        problem = _optimal_problem._make_problem(
            X, sizes, np.full(n, -1), 0.5, "diagonal", [("free", k) for k in sizes]
        )
        exchange = exchange_iter
        if exchange is None:
            exchange = _optimal_search._default_exchange_iter(problem, method)
        return _optimal_search._search_fills_time(problem, method, exchange > 0)

    assert fills(40, 3, 3) and fills(60, 5, 4) and fills(28, 3, 4)
    assert fills(37, 2, 3)  # 37 units times 2 beyond 72
    assert not fills(60, 1, 3, exchange_iter=0)  # one covariate
    assert not fills(36, 2, 3)  # the solver may still prove it
    assert not fills(40, 3, 2)  # two groups: the model proves or improves
    assert not fills(40, 1, 4)  # an exchange search follows
    assert not fills(24, 3, 4)  # the solver proves small problems
    assert not fills(40, 3, 3, method="heuristic")  # no solver to leave time for
    assert not fills(40, 3, 3, exchange_iter=10)  # the exchange search needs time


@pytest.mark.parametrize(
    "n_groups, params, until_deadline",
    [
        (3, {"time_limit": 5.0}, True),
        (3, {"time_limit": 5.0, "n_jobs": 2}, True),
        (3, {"time_limit": 5.0, "n_jobs": -1}, True),
        (3, {"time_limit": 1.0}, True),
        (3, {"time_limit": 5.0, "heuristic_iter": 300, "n_jobs": 2}, False),
        (3, {"time_limit": None, "n_jobs": 2}, False),
        (2, {"time_limit": 5.0, "n_jobs": 2}, False),
    ],
)
def test_tabu_search_length_with_a_time_limit(
    monkeypatch, n_groups, params, until_deadline
):
    # Which search, length and deadline the fit gives the heuristic (the spy
    # cuts the search short, so that the test does not take the time limit;
    # the deadline stops the long one 0.5 s before time_limit, or at 80% of
    # a limit shorter than 2.5 s, and the others at 80% of it).
    calls = []

    def spy(name):
        search = getattr(_optimal, name)

        def run(problem, labels, rng, n_iter, deadline=None, *threads):
            calls.append((name, n_iter, deadline, time.perf_counter(), *threads))
            return search(problem, labels, rng, min(n_iter, 50), deadline, *threads)

        monkeypatch.setattr(_optimal, name, run)

    spy("_tabu_search")
    spy("_parallel_iterated_search")
    # More free units than the set-partition search takes (its path is
    # tested in test_optimal_partition.py).
    X = np.random.default_rng(0).normal(size=(44, 3))
    design = OptimalBalance(n_groups=n_groups, node_limit=5, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverWarning)
        design.fit(X)
    ((name, n_iter, deadline, called, *threads),) = calls
    # Filling the time: the iterated search, with the automatic cap of about
    # ten seconds' worth of work, in n_jobs threads (joblib's convention);
    # otherwise the tabu search alone, by default 2000 + 10000 n iterations
    # (fewer than the cap), and n_jobs is not used.
    if until_deadline:
        assert name == "_parallel_iterated_search"
        assert threads == [effective_n_jobs(params.get("n_jobs"))]
    else:
        assert name == "_tabu_search" and threads == []
    n_free, n_cols = X.shape[0], 2 * X.shape[1]
    _, work = _optimal_search._neighbourhood(n_free, n_groups, n_cols)
    cap = int(_optimal_search._MAX_AUTO_WORK / work)
    assert cap > 2000 + 10000 * n_free
    expected = params.get(
        "heuristic_iter", cap if until_deadline else 2000 + 10000 * n_free
    )
    assert n_iter == expected
    assert (deadline is None) == (params["time_limit"] is None)
    if deadline is not None:
        # Counted from the fit's start, a moment before the call (about a
        # millisecond here).
        limit = params["time_limit"]
        expected = {5.0: 4.5, 1.0: 0.8}[limit] if until_deadline else 0.8 * limit
        assert expected - 0.1 < deadline - called <= expected
    assert design.status_ == "node_limit"


def test_time_limit_leaves_a_fixed_length_search_unchanged():
    # With heuristic_iter and a node limit the fit is the same fixed work
    # with or without a time limit: same labels, objective and bound.
    X = np.random.default_rng(3).normal(size=(40, 3))
    params = dict(n_groups=3, heuristic_iter=400, node_limit=30, random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverWarning)
        free = OptimalBalance(time_limit=None, **params).fit(X)
        timed = OptimalBalance(time_limit=60.0, **params).fit(X)
    assert free.n_iter_ == timed.n_iter_ == 400
    np.testing.assert_array_equal(free.labels_, timed.labels_)
    assert free.objective_ == timed.objective_
    assert free.bound_ == timed.bound_


def test_exchange_move_samples_large_groups():
    # Groups larger than the move's union: a random sample of each is
    # re-split, keeping how many units each group gives.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 1))
    sizes = np.array([60, 30])
    problem = _optimal_problem._make_problem(
        X, sizes, np.full(90, -1), 0.5, "diagonal", [("free", 60), ("free", 30)]
    )
    labels = _optimal_problem._random_labels(problem.caps, rng)
    sums = problem.C.copy()
    np.add.at(sums, labels, problem.F)
    first, second = _optimal_problem._pair_indices(2)
    score, units, to_p = _optimal_search._exchange_move(
        problem, labels, sums, 0, 1, rng, 26, first, second
    )
    assert units.shape == (26,) and np.unique(units).shape == (26,)
    assert np.isin(to_p, units).all()
    assert to_p.shape[0] == np.count_nonzero(labels[units] == 0) == 13
    moved = labels.copy()
    moved[units] = 1
    moved[to_p] = 0
    assert np.bincount(moved).tolist() == [60, 30]
    before = _optimal_problem._pair_differences(problem, labels)
    after = _optimal_problem._pair_differences(problem, moved)
    assert score == pytest.approx(np.abs(after).sum(), rel=1e-9)
    assert score <= np.abs(before).sum() + 1e-12


# ---------------------------------------------------------------------------
# The compiled tabu kernel against a plain NumPy statement of one iteration.


def _exact_pair_values(problem, labels):
    # Exactly rounded group sums (math.fsum): assignments that differ only by
    # identical units get identical values, so ties fall as in the kernel.
    m, n_cols = problem.n_groups, problem.F.shape[1]
    sums = np.array(
        [
            [
                math.fsum([problem.C[g, k], *problem.F[labels == g, k]])
                for k in range(n_cols)
            ]
            for g in range(m)
        ]
    )
    means = sums / problem.sizes[:, None]
    return np.array(
        [np.abs(means[p] - means[q]).sum() for p, q in combinations(range(m), 2)]
    )


def _reference_tabu(problem, labels, rng, n_iter, tie_weight, low, high):
    """Tabu search over all swaps, recomputing every candidate from scratch."""
    m = problem.n_groups
    labels, best = labels.copy(), labels.copy()
    tabu = np.zeros(labels.shape[0], dtype=np.int64)
    best_value = _exact_pair_values(problem, labels).max()
    cand_i, cand_j = np.triu_indices(labels.shape[0], 1)
    for it in range(n_iter):
        keep = (labels[cand_i] != labels[cand_j]) & (
            problem.types[cand_i] != problem.types[cand_j]
        )
        values = []
        for i, j in zip(cand_i[keep], cand_j[keep], strict=True):
            swapped = labels.copy()
            swapped[i], swapped[j] = labels[j], labels[i]
            values.append(_exact_pair_values(problem, swapped))
        values = np.array(values)
        worst = values.max(axis=1)
        score = worst + (tie_weight * values.mean(axis=1) if m > 2 else 0.0)
        i, j = cand_i[keep], cand_j[keep]
        allowed = ((tabu[i] <= it) & (tabu[j] <= it)) | (worst < best_value)
        if not allowed.any():
            continue
        k = np.flatnonzero(allowed)[np.argmin(score[allowed])]
        i, j = i[k], j[k]
        labels[i], labels[j] = labels[j], labels[i]
        tabu[i] = it + rng.integers(low, high + 1)
        tabu[j] = it + rng.integers(low, high + 1)
        if worst[k] < best_value:
            best_value, best = worst[k], labels.copy()
    return best


@pytest.mark.parametrize(
    "n, n_features, sizes, n_fixed, duplicates",
    [
        (14, 2, [7, 7], 0, False),
        (13, 1, [4, 4, 5], 2, False),
        (16, 3, [4, 4, 4, 4], 0, True),
        (12, 2, [3, 5, 4], 3, True),
    ],
)
def test_tabu_kernel_makes_the_reference_moves(
    n, n_features, sizes, n_fixed, duplicates
):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, n_features))
    if duplicates:
        X = X[rng.integers(0, n, n)]
    fixed = np.full(n, -1)
    fixed[rng.choice(n, n_fixed, replace=False)] = rng.integers(0, len(sizes), n_fixed)
    problem = _optimal_problem._make_problem(
        X,
        np.array(sizes),
        fixed,
        0.5,
        "diagonal",
        OptimalBalance(n_groups=len(sizes))._arm_classes(np.array(sizes), fixed),
    )
    start = _optimal_problem._random_labels(problem.caps, rng)
    low, high = _optimal_search._tenure_bounds(*problem.F.shape)
    expected = _reference_tabu(
        problem,
        start,
        np.random.default_rng(1),
        60,
        _optimal_search._TIE_WEIGHT,
        low,
        high,
    )
    got, done = _optimal_search._tabu_search(
        problem, start, np.random.default_rng(1), 60
    )
    assert done == 60
    # Moves to equivalent assignments (interchangeable groups relabelled,
    # identical units exchanged) tie exactly, and rounding decides between
    # them, so the two searches agree up to that equivalence.
    assert _partition(problem, got) == _partition(problem, expected)
    assert _exact_pair_values(problem, got).max() == pytest.approx(
        _exact_pair_values(problem, expected).max(), rel=1e-12
    )


def _partition(problem, labels):
    groups = [
        sorted(problem.types[labels == g].tolist()) for g in range(problem.n_groups)
    ]
    for arms in problem.classes:
        for g, members in zip(arms, sorted(groups[g] for g in arms), strict=True):
            groups[g] = members
    return groups


def test_tabu_result_does_not_depend_on_chunks(monkeypatch):
    # Calls of the kernel grow with the clock; their lengths must not change
    # the result, also with sampled neighbourhoods and restarts.
    X = np.random.default_rng(0).normal(size=(30, 2))
    problem = _optimal_problem._make_problem(
        X, np.array([10, 10, 10]), np.full(30, -1), 0.5, "diagonal", []
    )
    monkeypatch.setattr(_optimal_search, "_MAX_BLOCK", 500)
    monkeypatch.setattr(_optimal_search, "_PATIENCE", 1)
    assert _optimal_search._neighbourhood(30, 3, problem.F.shape[1])[0] < 30
    results = []
    for seconds in (0.0, np.inf):
        monkeypatch.setattr(_optimal_search, "_CHUNK_SECONDS", seconds)
        start = _optimal_problem._random_labels(problem.caps, np.random.default_rng(0))
        results.append(
            _optimal_search._tabu_search(problem, start, np.random.default_rng(2), 700)
        )
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] == 700
    assert np.bincount(results[0][0]).tolist() == [10, 10, 10]


def test_tabu_kernel_is_compiled_once():
    # Every fit passes the kernel arrays of one memory layout and dtype, so
    # numba compiles it once (a second specialisation would be compiled in
    # the middle of a fit's time limit).
    from skassign.designs._optimal_kernels import tabu_iterations

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=list("abc"))
    fixed = np.full(40, -1)
    fixed[:4] = [0, 1, 2, 0]
    for m in (2, 3, 4):
        OptimalBalance(n_groups=m, method="heuristic", heuristic_iter=5).fit(X)
    OptimalBalance(n_groups=3, method="heuristic", heuristic_iter=5).fit(
        np.asfortranarray(X.to_numpy()[rng.integers(0, 40, 40)]), fixed_labels=fixed
    )
    assert len(tabu_iterations.signatures) == 1


def test_seed_mice_example():
    mice = make_tumor_mice()
    w = mice["initial_weight"]
    X = ((w - w.mean()) / w.std()).to_frame()
    design = OptimalBalance(rho=0.5, random_state=0).fit(X)
    assert design.status_ == "optimal"
    assert design.objective_ == pytest.approx(0.212663, abs=1e-6)
    summary = mice.groupby(design.labels_)["initial_weight"].agg(["mean", "std"])
    got = sorted(map(tuple, summary.round(2).to_numpy().tolist()))
    assert got == [(302.79, 202.54), (303.61, 162.12)]
    # The seed's optimal groups (mice numbered from 1).
    group = set(mice["mice"][design.labels_ == design.labels_[0]])
    assert group == {1, 4, 5, 6, 8, 12, 14, 16, 17, 18}


def test_objective_hook_equals_metric():
    X = np.random.default_rng(0).normal(size=(30, 3))
    for sm in ("diagonal", "full"):
        design = OptimalBalance(
            n_groups=3, second_moments=sm, rho=0.7, method="heuristic", random_state=0
        ).fit(X)
        assert design.objective_ == moment_discrepancy(
            X, design.labels_, rho=0.7, second_moments=sm
        )
        assert design.score(X) == -design.objective_


def test_moment_columns_reduce_without_changing_objective():
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [rng.integers(0, 2, 20), rng.normal(size=20), np.full(20, 3.0)]
    ).astype(float)
    for sm in ("diagonal", "full"):
        F = _optimal_problem._moment_columns(X, 0.5, sm)
        # binary: x**2 == x merges; constant column and its products vanish
        assert F.shape[1] < (6 if sm == "diagonal" else 9)
        for _ in range(5):
            labels = rng.permutation(np.repeat([0, 1], 10))
            means = np.array([F[labels == g].mean(0) for g in (0, 1)])
            assert np.abs(means[0] - means[1]).sum() == pytest.approx(
                moment_discrepancy(X, labels, second_moments=sm), rel=1e-9
            )


def test_moment_columns_are_cached_by_content():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 2))
    columns = _optimal_problem._scaled_moment_columns
    F, scale = columns(X, 0.5, "diagonal")
    assert not F.flags.writeable
    assert columns(X.copy(), 0.5, "diagonal")[0] is F
    assert columns(X, 0.5, "full")[0] is not F
    assert columns(X, 1.0, "diagonal")[0] is not F
    fitted = OptimalBalance(random_state=0).fit(X)
    X[0, 0] += 1.0  # same array, other content: not the cached columns
    G, G_scale = columns(X, 0.5, "diagonal")
    raw = _optimal_problem._moment_columns(X, 0.5, "diagonal")
    assert np.array_equal(G * G_scale, raw) and not np.array_equal(G, F)
    refit = OptimalBalance(random_state=0).fit(X)
    _optimal_problem._moments_cache.clear()
    fresh = OptimalBalance(random_state=0).fit(X)
    assert np.array_equal(refit.labels_, fresh.labels_)
    assert refit.objective_ == fresh.objective_ != fitted.objective_


@pytest.mark.parametrize("n_groups, n", [(2, 14), (3, 12), (4, 12)])
def test_symmetry_breaking_keeps_optimum_with_fixed_and_unequal(n_groups, n):
    rng = np.random.default_rng(n_groups)
    X = rng.normal(size=(n, 2))
    sizes = [n // n_groups] * n_groups
    sizes[-1] += n - sum(sizes)
    fixed = np.full(n, -1)
    fixed[5] = 0  # group 0 is no longer interchangeable with the others
    expected, _ = _brute_force(X, sizes, fixed, 0.5, "diagonal")
    design = OptimalBalance(
        n_groups=n_groups, group_sizes=sizes, time_limit=None, random_state=1
    ).fit(X, fixed_labels=fixed)
    assert design.objective_ == pytest.approx(expected, rel=1e-9)
    assert design.labels_[5] == 0


def test_arms_are_randomly_relabelled():
    X = np.random.default_rng(0).normal(size=(12, 2))
    first = {int(OptimalBalance(random_state=s).fit(X).labels_[0]) for s in range(12)}
    assert first == {0, 1}
    objectives = {
        round(OptimalBalance(random_state=s).fit(X).objective_, 12) for s in range(4)
    }
    assert len(objectives) == 1


def test_node_limit_warns_and_is_reproducible():
    X = np.random.default_rng(0).normal(size=(40, 3))
    design = OptimalBalance(
        n_groups=3, node_limit=20, time_limit=None, heuristic_iter=20, random_state=5
    )
    with pytest.warns(SolverWarning, match=r"node_limit.*gap"):
        design.fit(X)
    assert design.status_ == "node_limit"
    assert 0 < design.gap_ <= 1
    assert design.bound_ <= design.objective_
    assert np.bincount(design.labels_).tolist() == [14, 13, 13] or sorted(
        np.bincount(design.labels_).tolist()
    ) == [13, 13, 14]
    with pytest.warns(SolverWarning):
        again = clone(design).fit(X)
    np.testing.assert_array_equal(design.labels_, again.labels_)
    assert again.objective_ == design.objective_


def test_time_limit_warns_with_status_and_gap():
    X = np.random.default_rng(1).normal(size=(60, 4))
    design = OptimalBalance(n_groups=3, time_limit=0.5, random_state=0)
    with pytest.warns(SolverWarning, match=r"time_limit.*relative gap"):
        design.fit(X)
    assert design.status_ == "time_limit"
    assert design.solve_time_ < 5.0
    assert np.isfinite(design.objective_)


def test_mip_gap_is_not_a_limit_warning():
    X = np.random.default_rng(2).normal(size=(30, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverWarning)
        design = OptimalBalance(mip_gap=0.9, random_state=0, node_limit=10**6).fit(X)
    assert design.status_ in {"gap_limit", "optimal"}
    assert design.gap_ <= 0.9


def test_heuristic_stops_at_time_limit():
    X = np.random.default_rng(0).normal(size=(300, 3))
    design = OptimalBalance(
        method="heuristic", heuristic_iter=10**6, time_limit=0.3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverWarning)
        design.fit(X)
    assert design.status_ == "time_limit"
    assert design.n_iter_ < 10**6
    assert design.solve_time_ < 2.0


def test_infeasible_fixed_units_raise():
    X = np.random.default_rng(0).normal(size=(10, 2))
    fixed = np.array([0, 0, 0, -1, -1, -1, -1, -1, -1, -1])
    with pytest.raises(InfeasibleDesignError, match="fixed_labels"):
        OptimalBalance(group_sizes=[2, 8]).fit(X, fixed_labels=fixed)


def test_missing_solver_raises_with_install_hint():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="pip install gurobipy"):
        OptimalBalance(solver="GUROBI").fit(X)
    with pytest.raises(ValueError, match="not available"):
        OptimalBalance(solver="NO_SUCH_SOLVER").fit(X)
    with pytest.raises(ValueError, match="integer variables"):
        OptimalBalance(solver="CLARABEL").fit(X)


def test_missing_pyscipopt_raises_with_install_hint(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pyscipopt":
            raise ImportError("No module named 'pyscipopt'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="pip install pyscipopt"):
        OptimalBalance().fit(X)


@pytest.mark.parametrize("solver", ["HIGHS", "SCIP"])
@pytest.mark.parametrize(
    "n, n_groups, second_moments", [(14, 2, "diagonal"), (12, 3, "full")]
)
def test_cvxpy_engines_agree_with_direct_engine(solver, n, n_groups, second_moments):
    X = np.random.default_rng(n + n_groups).normal(size=(n, 2))
    params = dict(n_groups=n_groups, second_moments=second_moments, time_limit=None)
    direct = OptimalBalance(**params, random_state=0).fit(X)
    via_cvxpy = OptimalBalance(**params, solver=solver, random_state=0).fit(X)
    assert direct.status_ == via_cvxpy.status_ == "optimal"
    assert via_cvxpy.objective_ == pytest.approx(direct.objective_, rel=1e-7)
    assert via_cvxpy.bound_ == pytest.approx(direct.bound_, rel=1e-5, abs=1e-9)


def test_cvxpy_engine_limits_and_params():
    X = np.random.default_rng(0).normal(size=(40, 3))
    design = OptimalBalance(
        n_groups=3,
        solver="highs",
        node_limit=5,
        time_limit=None,
        solver_params={"mip_heuristic_effort": 0.1},
        random_state=0,
    )
    with pytest.warns(SolverWarning, match="node_limit"):
        design.fit(X)
    assert design.status_ == "node_limit"
    # The heuristic's warm start is never lost on the cvxpy route.
    heuristic = OptimalBalance(
        n_groups=3, method="heuristic", heuristic_iter=100, random_state=0
    ).fit(X)
    assert design.objective_ <= heuristic.objective_ + 1e-12


def test_cvxpy_solver_without_limit_mapping(monkeypatch):
    monkeypatch.setattr(_solver, "_CVXPY_LIMITS", {})
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="solver's own limit options"):
        OptimalBalance(solver="HIGHS").fit(X)
    design = OptimalBalance(solver="HIGHS", time_limit=None, random_state=0).fit(X)
    assert design.status_ == "optimal"


def test_solver_params_override_defaults():
    X = np.random.default_rng(0).normal(size=(40, 2))
    design = OptimalBalance(
        time_limit=None, solver_params={"limits/nodes": 3}, random_state=0
    )
    with pytest.warns(SolverWarning, match="node_limit"):
        design.fit(X)
    assert design.n_nodes_ <= 3


def test_solver_warnings_point_at_the_callers_line(monkeypatch):
    X = np.random.default_rng(0).normal(size=(40, 2))
    design = OptimalBalance(
        time_limit=None, solver_params={"limits/nodes": 3}, random_state=0
    )
    with pytest.warns(SolverWarning, match="node_limit") as record:
        design.fit(X)
    assert {w.filename for w in record} == {__file__}

    def broken(*args, **kwargs):
        raise SolverError("SCIP stopped without a feasible assignment.")

    monkeypatch.setattr(_solver_design, "solve_mip", broken)
    with pytest.warns(SolverWarning, match="heuristic's assignment") as record:
        OptimalBalance(method="mip", random_state=0).fit(X[:11])
    assert {w.filename for w in record} == {__file__}


def test_fallback_design_is_used_on_solver_failure(monkeypatch):
    def broken(*args, **kwargs):
        raise SolverError("SCIP stopped without a feasible assignment.")

    monkeypatch.setattr(_solver_design, "solve_mip", broken)
    X = np.random.default_rng(0).normal(size=(11, 2))
    # The heuristic already holds a feasible assignment when the solver
    # fails: it is returned (better than any fallback), with a warning.
    for fallback in (None, CompleteRandomization()):
        design = OptimalBalance(
            group_sizes=[4, 7], method="mip", fallback=fallback, random_state=0
        )
        with pytest.warns(SolverWarning, match="returning the heuristic's assignment"):
            design.fit(X, fixed_labels=[1] + [-1] * 10)
        assert design.status_ == "solver_error"
        assert design.fallback_ is None
        assert np.bincount(design.labels_).tolist() == [4, 7]
        assert design.labels_[0] == 1
        assert design.objective_ == moment_discrepancy(X, design.labels_)


def test_heuristic_improves_on_complete_randomisation():
    X = np.random.default_rng(0).normal(size=(300, 4))
    design = OptimalBalance(
        n_groups=3, method="heuristic", heuristic_iter=300, random_state=0
    ).fit(X)
    random_objectives = [
        moment_discrepancy(X, CompleteRandomization(3, random_state=s).fit_predict(X))
        for s in range(50)
    ]
    assert design.objective_ < 0.1 * np.median(random_objectives)
    assert design.n_nodes_ == 0


def test_pickle_clone_and_no_solver_objects():
    X = np.random.default_rng(0).normal(size=(16, 2))
    design = OptimalBalance(random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(design))
    np.testing.assert_array_equal(restored.labels_, design.labels_)
    assert restored.objective_ == design.objective_
    for value in vars(design).values():
        assert type(value).__module__.split(".")[0] in {"builtins", "numpy"}, value
    cloned = clone(design)
    assert cloned.get_params() == design.get_params()
    assert not hasattr(cloned, "labels_")


def test_pandas_pipeline_and_reproducibility():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(50, 10, 20), "weight": rng.normal(70, 5, 20)})
    pipe = make_pipeline(StandardScaler(), OptimalBalance(random_state=3))
    pipe.set_output(transform="pandas")
    labels = pipe.fit_predict(X)
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [10, 10]
    again = make_pipeline(StandardScaler(), OptimalBalance(random_state=3))
    np.testing.assert_array_equal(labels, again.fit_predict(X))
    design = pipe[-1]
    np.testing.assert_array_equal(design.feature_names_in_, ["age", "weight"])
    out = pipe.fit_transform(X)
    assert list(out.columns) == ["group"]
    np.testing.assert_array_equal(out["group"].to_numpy(), labels)


def test_verbose_prints_stages(capsys):
    X = np.random.default_rng(0).normal(size=(12, 2))
    OptimalBalance(method="mip", verbose=1, random_state=0).fit(X)
    printed = capsys.readouterr().out
    assert "heuristic" in printed and "status optimal" in printed
    OptimalBalance(verbose=1, random_state=0).fit(X)
    printed = capsys.readouterr().out
    assert "branch and bound: status optimal" in printed
    assert "heuristic" not in printed


def test_all_units_fixed():
    X = np.random.default_rng(0).normal(size=(6, 2))
    fixed = np.array([0, 1, 0, 1, 0, 1])
    design = OptimalBalance(random_state=0).fit(X, fixed_labels=fixed)
    np.testing.assert_array_equal(design.labels_, fixed)
    assert design.status_ == "optimal" and design.gap_ == 0.0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"rho": -1.0}, "rho"),
        ({"second_moments": "upper"}, "second_moments"),
        ({"method": "exhaustive"}, "method"),
        ({"time_limit": 0}, "time_limit"),
        ({"node_limit": 0}, "node_limit"),
        ({"fallback": "random"}, "fallback"),
    ],
)
def test_invalid_parameters(params, match):
    X = np.random.default_rng(0).normal(size=(8, 2))
    with pytest.raises(ValueError, match=match):
        OptimalBalance(**params).fit(X)


def test_parallel_refits_are_reproducible():
    # Bootstrap-style refits in worker processes: every task builds its own
    # solver model, and the result does not depend on n_jobs.
    X = np.random.default_rng(0).normal(size=(14, 2))
    design = OptimalBalance(time_limit=None, node_limit=200, random_state=0)
    serial = design.sample_assignments(X, 4, n_jobs=1, random_state=1)
    parallel = design.sample_assignments(X, 4, n_jobs=2, random_state=1)
    np.testing.assert_array_equal(serial, parallel)
    with parallel_config(backend="threading"):
        threads = design.sample_assignments(X, 4, n_jobs=2, random_state=1)
    np.testing.assert_array_equal(serial, threads)
    objectives = {round(moment_discrepancy(X, labels), 12) for labels in serial}
    assert len(objectives) == 1
