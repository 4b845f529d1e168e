"""The exact path of OptimalBalance against brute force.

The oracle enumerates every assignment (``all_assignments``) and scores it
with the objective written out here from its definition, sharing no code
with the branch and bound.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skassign.designs import OptimalBalance
from skassign.designs._optimal_exact import count_assignments, exact_search
from skassign.designs._optimal_problem import _make_problem
from skassign.exceptions import SolverWarning
from skassign.utils._testing import all_assignments


def _discrepancy(X, labels, m, rho, second_moments):
    """Largest pairwise discrepancy, from the definition."""
    worst = 0.0
    for p in range(m):
        for q in range(p + 1, m):
            a, b = X[labels == p], X[labels == q]
            total = np.abs(a.mean(axis=0) - b.mean(axis=0)).sum()
            if second_moments == "diagonal":
                total += rho * np.abs((a**2).mean(axis=0) - (b**2).mean(axis=0)).sum()
            else:
                sa = a.T @ a / a.shape[0]
                sb = b.T @ b / b.shape[0]
                total += rho * np.abs(sa - sb).sum()
            worst = max(worst, total)
    return worst


def _classes(sizes, fixed):
    has_fixed = np.bincount(fixed[fixed >= 0], minlength=sizes.shape[0]) > 0
    return [
        ("fixed", g) if has_fixed[g] else ("free", int(s)) for g, s in enumerate(sizes)
    ]


def _check(X, sizes, fixed, rho, second_moments):
    sizes = np.asarray(sizes)
    fixed = np.asarray(fixed)
    m = sizes.shape[0]
    problem = _make_problem(
        X, sizes, fixed, rho, second_moments, _classes(sizes, fixed)
    )
    free_labels, value, _, complete = exact_search(problem)
    assert complete
    labels = fixed.copy()
    labels[problem.free] = free_labels
    np.testing.assert_array_equal(np.bincount(labels, minlength=m), sizes)
    np.testing.assert_array_equal(labels[fixed >= 0], fixed[fixed >= 0])
    brute = min(
        _discrepancy(X, a, m, rho, second_moments)
        for a in all_assignments(sizes, fixed)
    )
    got = _discrepancy(X, labels, m, rho, second_moments)
    assert got == pytest.approx(brute, rel=1e-9, abs=1e-12)
    assert value == pytest.approx(got, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "sizes, n_features, rho, second_moments",
    [
        ([5, 5], 1, 0.5, "diagonal"),
        ([6, 6], 2, 0.0, "diagonal"),
        ([4, 7], 2, 1.0, "full"),
        ([4, 4, 4], 1, 0.5, "diagonal"),
        ([3, 4, 5], 2, 0.5, "full"),
        ([3, 3, 3, 3], 1, 0.5, "diagonal"),
    ],
)
def test_exact_search_equals_brute_force(sizes, n_features, rho, second_moments):
    rng = np.random.default_rng(sum(sizes) + n_features)
    X = rng.normal(size=(sum(sizes), n_features))
    _check(X, sizes, np.full(sum(sizes), -1), rho, second_moments)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    m=st.integers(2, 3),
    n_features=st.integers(1, 2),
    rho=st.sampled_from([0.0, 0.5, 2.0]),
    second_moments=st.sampled_from(["diagonal", "full"]),
)
def test_exact_search_with_fixed_and_identical_units(
    data, m, n_features, rho, second_moments
):
    n = data.draw(st.integers(m + 1, 10 if m == 3 else 12))
    # Few distinct values: many identical units, as in bootstrap resamples.
    values = data.draw(
        st.lists(
            st.lists(st.integers(-2, 2), min_size=n_features, max_size=n_features),
            min_size=n,
            max_size=n,
        )
    )
    X = np.array(values, dtype=float)
    base = np.arange(n) % m
    sizes = np.bincount(base, minlength=m)
    fixed = np.full(n, -1)
    n_fixed = data.draw(st.integers(0, min(3, n - 2)))
    chosen = data.draw(st.permutations(list(range(n))))[:n_fixed]
    fixed[chosen] = base[chosen]
    _check(X, sizes, fixed, rho, second_moments)


def test_node_budget_reports_an_incomplete_search():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    sizes = np.array([10, 10, 10, 10])
    fixed = np.full(40, -1)
    problem = _make_problem(X, sizes, fixed, 0.5, "diagonal", _classes(sizes, fixed))
    labels, value, n_nodes, complete = exact_search(problem, max_nodes=50)
    assert not complete
    assert n_nodes == 50
    if labels is not None:
        full = np.bincount(labels, minlength=4)
        np.testing.assert_array_equal(full, sizes)


def test_best_value_to_beat_is_respected():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 1))
    sizes = np.array([5, 5])
    fixed = np.full(10, -1)
    problem = _make_problem(X, sizes, fixed, 0.5, "diagonal", _classes(sizes, fixed))
    _, optimum, _, _ = exact_search(problem)
    labels, value, _, complete = exact_search(problem, best_value=optimum)
    # Nothing beats the optimum: no labels, the input value, a finished search.
    assert labels is None and value == optimum and complete


def test_count_assignments():
    ones = np.ones(20, dtype=int)
    assert count_assignments(ones, np.array([10, 10]), [[0, 1]]) == 92378
    assert count_assignments(ones[:6], np.array([2, 2, 2]), [[0, 1, 2]]) == 15
    assert count_assignments(ones[:6], np.array([2, 2, 2]), []) == 90
    # Four identical units in two groups of two: one assignment.
    assert count_assignments(np.array([4]), np.array([2, 2]), [[0, 1]]) == 1


@pytest.mark.parametrize(
    "n_groups, n_units, fixed",
    [(2, 20, None), (2, 13, [1, 0] + [-1] * 11), (3, 12, None), (3, 11, None)],
)
def test_exact_path_matches_the_solver_path(n_groups, n_units, fixed):
    # Same optimum, same labels: the exact path names interchangeable groups
    # and draws arms as the solver path does.
    X = np.random.default_rng(n_units).normal(size=(n_units, 2))
    params = dict(n_groups=n_groups, random_state=3)
    fit_params = {} if fixed is None else {"fixed_labels": fixed}
    exact = OptimalBalance(method="exact", **params).fit(X, **fit_params)
    mip = OptimalBalance(method="mip", **params).fit(X, **fit_params)
    auto = OptimalBalance(**params).fit(X, **fit_params)
    assert exact.status_ == mip.status_ == auto.status_ == "optimal"
    assert exact.objective_ == pytest.approx(mip.objective_, rel=1e-9)
    assert exact.bound_ == exact.objective_ and exact.gap_ == 0.0
    assert exact.n_iter_ == 0 and exact.n_exchange_iter_ == 0
    np.testing.assert_array_equal(auto.labels_, exact.labels_)
    if not np.isclose(exact.objective_, mip.objective_, rtol=0, atol=0):
        return
    np.testing.assert_array_equal(exact.labels_, mip.labels_)


def test_auto_takes_the_solver_path_for_large_problems():
    X = np.random.default_rng(0).normal(size=(60, 2))
    design = OptimalBalance(
        n_groups=3, time_limit=2, random_state=0, heuristic_iter=50, exchange_iter=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverWarning)
        design.fit(X)
    # The heuristic ran: the solver path, not the enumeration.
    assert design.n_iter_ == 50


def test_exact_method_stops_at_the_time_limit():
    X = np.random.default_rng(0).normal(size=(48, 3))
    design = OptimalBalance(n_groups=4, method="exact", time_limit=0.2, random_state=0)
    with pytest.warns(SolverWarning, match="branch and bound stopped"):
        design.fit(X)
    assert design.status_ == "time_limit"
    assert np.bincount(design.labels_).tolist() == [12, 12, 12, 12]
    assert design.solve_time_ < 5


def test_identical_units_vary_between_seeds_on_the_exact_path():
    X = np.repeat(np.random.default_rng(0).normal(size=(5, 1)), 2, axis=0)
    draws = {
        tuple(OptimalBalance(method="exact", random_state=s).fit_predict(X))
        for s in range(20)
    }
    assert len(draws) > 2


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), m=st.integers(2, 3))
def test_exact_path_with_strata(data, m):
    # The strata's counts in every group are met, and the assignment is the
    # best among those with the same counts (brute force).
    n = data.draw(st.integers(2 * m, 10 if m == 3 else 12))
    X = np.array(
        data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype=float
    )[:, None]
    codes = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    design = OptimalBalance(n_groups=m, method="exact", random_state=0)
    design.fit(X, strata=codes)
    table = np.zeros((2, m), dtype=int)
    np.add.at(table, (codes, design.labels_), 1)
    # Every stratum's share of every group, rounded (the strata contract).
    sizes = np.bincount(design.labels_, minlength=m)
    share = np.bincount(codes, minlength=2)[:, None] * sizes[None, :] / n
    assert (np.floor(share + 1e-9) <= table).all()
    assert (table <= np.ceil(share - 1e-9)).all()
    best = np.inf
    for a in all_assignments(np.bincount(design.labels_, minlength=m), np.full(n, -1)):
        t = np.zeros((2, m), dtype=int)
        np.add.at(t, (codes, a), 1)
        if (t == table).all():
            best = min(best, _discrepancy(X, a, m, 0.5, "diagonal"))
    assert design.status_ == "optimal"
    assert _discrepancy(X, design.labels_, m, 0.5, "diagonal") == pytest.approx(
        best, rel=1e-9, abs=1e-12
    )
