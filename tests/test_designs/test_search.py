"""The shared local-search engine: moves, acceptance, budgets, swap classes."""

import time

import numpy as np
import pytest

from skassign.designs._search import LocalSearch, temperatures
from skassign.designs._search_problems import GroupSumsProblem, SwapProblem
from skassign.utils._testing import all_assignments

METHODS = ["anneal", "descent", "tabu"]
# Budgets that solve the small problems below from each of ten seeds tried.
BUDGETS = {
    "anneal": {"max_iter": 20000, "patience": 150},
    "descent": {"max_iter": 20000, "patience": 150},
    "tabu": {"max_iter": 1500, "patience": 100, "n_candidates": 64},
}


def _mean_balance(X, sizes):
    """Squared distances of group means to the overall mean, as group sums."""
    n_groups = sizes.shape[0]
    T = sizes[:, None] * X.mean(axis=0)[None, :]
    W = np.repeat(1.0 / sizes[:, None] ** 2, X.shape[1], axis=1)
    assert T.shape == (n_groups, X.shape[1])
    return GroupSumsProblem(X, T, W)


def _oracle(X, labels, sizes):
    """The same objective written plainly (shares no code with the problem)."""
    mean = X.mean(axis=0)
    return sum(
        float(((X[labels == g].mean(axis=0) - mean) ** 2).sum())
        for g in range(sizes.shape[0])
    )


class _PlainSwap(SwapProblem):
    """Only ``objective``: ``delta`` and ``apply`` are the recomputing defaults."""

    def __init__(self, X, sizes):
        self.X, self.sizes = X, sizes

    def objective(self, labels):
        return _oracle(self.X, labels, self.sizes)


def _start(sizes, fixed, seed):
    rng = np.random.RandomState(seed)
    labels = fixed.copy()
    free = np.flatnonzero(fixed < 0)
    n_fixed = np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0])
    labels[free] = rng.permutation(
        np.repeat(np.arange(sizes.shape[0]), sizes - n_fixed)
    )
    return labels


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "sizes, n_fixed", [([5, 5], 0), ([4, 4, 4], 2), ([3, 5, 4], 0), ([6, 6], 3)]
)
def test_brute_force_optimum(method, sizes, n_fixed):
    sizes = np.array(sizes)
    n = int(sizes.sum())
    X = np.random.default_rng(n + n_fixed).normal(size=(n, 2))
    fixed = np.full(n, -1)
    fixed[:n_fixed] = np.arange(n_fixed) % sizes.shape[0]
    values = [_oracle(X, a, sizes) for a in all_assignments(sizes, fixed)]
    search = LocalSearch(method, **BUDGETS[method])
    for seed in range(3):
        start = _start(sizes, fixed, seed)
        result = search.run(
            _mean_balance(X, sizes),
            start,
            np.flatnonzero(fixed < 0),
            np.random.RandomState(seed),
        )
        assert result.value == pytest.approx(min(values), abs=1e-12)
        assert result.value == pytest.approx(_oracle(X, result.labels, sizes))
        np.testing.assert_array_equal(np.bincount(result.labels), sizes)
        np.testing.assert_array_equal(result.labels[:n_fixed], fixed[:n_fixed])


@pytest.mark.parametrize("method", METHODS)
def test_swap_classes_keep_counts_within_every_class(method):
    rng = np.random.default_rng(3)
    n, sizes = 40, np.array([14, 13, 13])
    X = rng.normal(size=(n, 3))
    strata = rng.integers(0, 4, size=n)
    fixed = np.full(n, -1)
    fixed[[0, 7]] = [2, 1]
    start = _start(sizes, fixed, 1)
    search = LocalSearch(
        method, max_iter=1500 if method == "tabu" else 3000, patience=200
    )
    result = search.run(
        _mean_balance(X, sizes),
        start,
        np.flatnonzero(fixed < 0),
        np.random.RandomState(0),
        classes=strata,
    )
    assert result.n_moved > 0 and result.n_restarts > 0
    for s in range(4):
        np.testing.assert_array_equal(
            np.bincount(result.labels[strata == s], minlength=3),
            np.bincount(start[strata == s], minlength=3),
        )
    np.testing.assert_array_equal(result.labels[[0, 7]], [2, 1])
    # Without classes the search balances better than within them.
    free_result = search.run(
        _mean_balance(X, sizes),
        start,
        np.flatnonzero(fixed < 0),
        np.random.RandomState(0),
    )
    assert free_result.value <= result.value + 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_traces_and_reproducibility(method):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 2))
    sizes = np.array([10, 10, 10])
    start = _start(sizes, np.full(30, -1), 2)
    search = LocalSearch(method, max_iter=700)

    def run():
        return search.run(
            _mean_balance(X, sizes), start, np.arange(30), np.random.RandomState(9)
        )

    result, again = run(), run()
    np.testing.assert_array_equal(result.labels, again.labels)
    np.testing.assert_array_equal(result.trace, again.trace)
    assert result.trace.shape == (result.n_iter + 1,) == result.current_trace.shape
    assert result.trace[0] == pytest.approx(_oracle(X, start, sizes))
    assert np.all(np.diff(result.trace) <= 0)
    assert np.all(result.trace <= result.current_trace + 1e-12)
    assert result.trace[-1] == result.value
    assert result.value == pytest.approx(_oracle(X, result.labels, sizes), abs=1e-12)
    if method == "descent":
        # Strict improvement: the current objective never rises.
        assert np.all(np.diff(result.current_trace) <= 1e-12)


def test_default_swap_problem_matches_incremental_one():
    """A problem with only ``objective`` walks the same chain as a fast one."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(16, 2))
    sizes = np.array([8, 8])
    start = _start(sizes, np.full(16, -1), 0)
    search = LocalSearch("anneal", max_iter=300, t0=0.05)
    slow = search.run(
        _PlainSwap(X, sizes), start, np.arange(16), np.random.RandomState(1)
    )
    fast = search.run(
        _mean_balance(X, sizes), start, np.arange(16), np.random.RandomState(1)
    )
    np.testing.assert_array_equal(slow.labels, fast.labels)
    np.testing.assert_allclose(slow.current_trace, fast.current_trace, atol=1e-12)


def test_group_sums_deltas_match_recomputation():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(25, 3))
    sizes = np.array([9, 8, 8])
    problem = _mean_balance(X, sizes)
    problem.reset(_start(sizes, np.full(25, -1), 4))
    for _ in range(50):
        i, j = rng.choice(25, 2, replace=False)
        swapped = problem.labels.copy()
        swapped[[i, j]] = swapped[[j, i]]
        exact = _oracle(X, swapped, sizes) - _oracle(X, problem.labels, sizes)
        assert problem.delta(problem.labels, i, j) == pytest.approx(exact, abs=1e-12)
        problem.apply_proposal(0, np.array([[i, j]]), None, None)
        assert problem.value == pytest.approx(_oracle(X, problem.labels, sizes))


def test_budgets_and_stops():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    sizes = np.array([200, 200])
    start = _start(sizes, np.full(400, -1), 0)
    # The lower bound (0) is unreachable with continuous covariates, so the
    # time limit stops a long search.
    begin = time.perf_counter()
    result = LocalSearch("tabu", max_iter=10**7, time_limit=0.3).run(
        _mean_balance(X, sizes), start, np.arange(400), np.random.RandomState(0)
    )
    assert result.stop == "time_limit" and 0 < result.n_iter < 10**7
    assert time.perf_counter() - begin < 5.0
    assert result.trace.shape == (result.n_iter + 1,)
    result = LocalSearch("descent", max_iter=50).run(
        _mean_balance(X, sizes), start, np.arange(400), np.random.RandomState(0)
    )
    assert result.stop == "max_iter" and result.n_iter == 50
    # Integer sums reach the bound exactly and stop there.
    x = np.arange(1.0, 13.0)[:, None]
    problem = GroupSumsProblem(x, np.full((2, 1), 39.0), np.ones((2, 1)))
    result = LocalSearch("anneal", max_iter=10**6).run(
        problem, np.repeat([0, 1], 6), np.arange(12), np.random.RandomState(0)
    )
    assert result.stop == "lower_bound" and result.value == 0.0
    assert result.n_iter < 10**6


def test_no_moves():
    X = np.arange(6.0)[:, None]
    sizes = np.array([3, 3])
    start = np.array([0, 0, 0, 1, 1, 1])
    # Every class holds a single group: nothing can change.
    result = LocalSearch("anneal").run(
        _mean_balance(X, sizes),
        start,
        np.arange(6),
        np.random.RandomState(0),
        classes=np.array([0, 0, 0, 1, 1, 1]),
    )
    assert result.stop == "no_moves" and result.n_iter == 0
    np.testing.assert_array_equal(result.labels, start)
    assert result.trace.tolist() == [pytest.approx(_oracle(X, start, sizes))]


def test_rotations_need_a_batched_problem():
    X = np.arange(6.0)[:, None]
    with pytest.raises(ValueError, match="n_change=2"):
        LocalSearch("anneal", n_change=3).run(
            _mean_balance(X, np.array([3, 3])),
            np.array([0, 0, 0, 1, 1, 1]),
            np.arange(6),
            np.random.RandomState(0),
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "greedy"}, "method"),
        ({"max_iter": -1}, "max_iter"),
        ({"t0": 0.0}, "temperature"),
        ({"t0": float("nan")}, "temperature"),
        ({"cooling": 1.5}, "cooling"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LocalSearch(**kwargs)


def test_temperature_schedules():
    iters = np.arange(1, 31)
    level = np.floor((iters - 1) / 10) * 10
    np.testing.assert_allclose(
        temperatures(3.0, "log", 10, iters), 3 / np.log(level + np.e)
    )
    np.testing.assert_allclose(temperatures(3.0, "inverse", 10, iters), 3 / (level + 1))
    np.testing.assert_allclose(
        temperatures(3.0, 0.9, 10, iters), 3 * 0.9 ** np.repeat([0, 1, 2], 10)
    )


def test_progress_bar_counts_the_iterations(capsys):
    X = np.random.default_rng(0).normal(size=(20, 2))
    sizes = np.array([10, 10])
    start = _start(sizes, np.full(20, -1), 0)

    class Bar:
        n = 0

        def update(self, k):
            Bar.n += k

    result = LocalSearch("anneal", max_iter=900).run(
        _mean_balance(X, sizes),
        start,
        np.arange(20),
        np.random.RandomState(0),
        progress=Bar(),
    )
    assert Bar.n == result.n_iter == 900
    shown = LocalSearch("tabu", max_iter=30).run(
        _mean_balance(X, sizes),
        start,
        np.arange(20),
        np.random.RandomState(0),
        progress=True,
    )
    assert shown.n_iter == 30
    assert "search (tabu)" in capsys.readouterr().err


class _Batched(GroupSumsProblem):
    """The same problem without its compiled walk: the batched path."""

    walk = None


@pytest.mark.parametrize("method", ["anneal", "descent"])
@pytest.mark.parametrize("patience", [None, 300])
def test_compiled_walk_is_the_batched_chain(method, patience):
    """The same chain; with restarts, the same invariants (restarts are
    checked between batches, whose ends differ between the two paths)."""
    rng = np.random.default_rng(4)
    cells = rng.integers(0, 5, size=60)
    F = np.eye(5)[cells]
    sizes = np.array([20, 20, 20])
    T = np.tile(F.sum(axis=0) / 3, (3, 1))
    start = _start(sizes, np.full(60, -1), 3)
    strata = rng.integers(0, 2, size=60)
    search = LocalSearch(method, max_iter=5000, patience=patience)
    fast, plain = (
        search.run(
            cls(F, T, np.ones((3, 5))),
            start,
            np.arange(60),
            np.random.RandomState(2),
            classes=strata,
        )
        for cls in (GroupSumsProblem, _Batched)
    )
    if patience is None:
        np.testing.assert_array_equal(fast.labels, plain.labels)
        np.testing.assert_allclose(fast.current_trace, plain.current_trace, atol=1e-9)
        np.testing.assert_allclose(fast.trace, plain.trace, atol=1e-9)
        assert (fast.n_moved, fast.stop) == (plain.n_moved, plain.stop)
    else:
        assert fast.n_restarts > 0 and plain.n_restarts > 0
    assert fast.value == pytest.approx(fast.trace[-1])
    counts = np.bincount(strata * 3 + fast.labels, minlength=6)
    np.testing.assert_array_equal(counts, np.bincount(strata * 3 + start, minlength=6))
