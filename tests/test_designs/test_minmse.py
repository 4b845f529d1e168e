import inspect
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skassign.designs import MinMSE
from skassign.designs._minmse import (
    _anneal,
    _Annealer,
    _ridge_objective,
    _ridge_objective_batch,
    _whiten,
)
from skassign.exceptions import InfeasibleDesignError
from skassign.metrics import minmse_objective, minmse_scale
from skassign.metrics._minmse import _minmse_coefficients
from skassign.utils._testing import all_assignments


def _covariates(n, p, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)) + rng.uniform(1.0, 4.0, size=p)


# ------------------------------------------------------------ plain oracles
#
# Written from the R package and the documentation, sharing no code with
# skassign.designs._minmse: the oracles below must not import its objective,
# its schedule or its proposal draws.

RIDGE = 1e-6  # the documented ridge: 1e-6 times the identity on whitened Z
BATCH = 8 * 1024  # proposals are drawn in pools of 8192 (the kernel's documented pool)


def _plain_r_objective(X, labels, coef):
    """R's evaluate_solution: sum_g coef_g xbar' pinv(X_g'X_g) xbar, on raw X."""
    xbar = X.mean(axis=0)
    return sum(
        coef[g] * xbar @ np.linalg.pinv(X[labels == g].T @ X[labels == g]) @ xbar
        for g in range(coef.shape[0])
    )


def _plain_ridge_objective(Z, labels, coef):
    """The same on whitened Z with every arm's Gram matrix + RIDGE I."""
    zbar = Z.mean(axis=0)
    total = 0.0
    for g in range(coef.shape[0]):
        gram = Z[labels == g].T @ Z[labels == g] + RIDGE * np.eye(Z.shape[1])
        total += coef[g] * zbar @ np.linalg.solve(gram, zbar)
    return float(total)


def _plain_draw_units(free, n_change, n_draws, rng):
    """Proposals: rows of n_change distinct free units, from a RandomState.

    The random-number protocol of the search: when distinct draws are likely
    (probability >= 1/2), integers are drawn row by row and the rows holding
    a repeated unit redrawn together until none does; otherwise every row is
    the first n_change units of a random ordering (argsort of uniforms).
    """
    n_free = len(free)
    p_distinct = 1.0
    for k in range(n_change):
        p_distinct *= 1.0 - k / n_free
    if p_distinct < 0.5:
        order = np.argsort(rng.random_sample((n_draws, n_free)), axis=1)
        return free[order[:, :n_change]]
    idx = rng.randint(n_free, size=(n_draws, n_change))
    while True:
        repeated = [i for i in range(n_draws) if len(set(idx[i])) < n_change]
        if not repeated:
            return free[idx]
        idx[repeated] = rng.randint(n_free, size=(len(repeated), n_change))


def _plain_temperature(t0, cooling, tmax, k):
    """R's schedule at 1-based iteration k (MinMSET.R, assign_treatment)."""
    level = np.floor((k - 1) / tmax) * tmax
    if cooling == 1:
        return t0 / np.log(level + np.exp(1))
    return t0 / (level + 1)


def test_plain_schedule_is_r():
    # R: cooling 1 is t0 / log(floor((k-1)/tmax)*tmax + e), cooling 2 is
    # t0 / (floor((k-1)/tmax)*tmax + 1).
    assert _plain_temperature(10.0, 1, 10, 1) == pytest.approx(10.0)
    assert _plain_temperature(10.0, 1, 10, 11) == pytest.approx(10 / np.log(10 + np.e))
    assert _plain_temperature(10.0, 2, 10, 10) == pytest.approx(10.0)
    assert _plain_temperature(10.0, 2, 10, 11) == pytest.approx(10 / 11)
    assert _plain_temperature(10.0, 2, 5, 21) == pytest.approx(10 / 21)


# ---------------------------------------------------------------- brute force


@pytest.mark.parametrize(
    "n, p, n_groups, weights, fixed, seed",
    [
        (12, 2, 2, None, None, 0),
        (12, 3, 2, None, None, 1),
        (14, 2, 2, [3.0], [0, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1], 2),
        (9, 2, 3, None, None, 3),
        (9, 2, 3, [1.0, 2.0], None, 4),
        (10, 2, 3, [[1, 2], [3, 1]], [0, -1, 1, -1, -1, 2, -1, -1, -1, -1], 5),
        (12, 1, 3, [2.0, 0.5], [-1] * 10 + [1, 1], 6),
    ],
)
def test_brute_force_optimum(n, p, n_groups, weights, fixed, seed):
    X = _covariates(n, p, seed)
    fixed_arr = np.full(n, -1) if fixed is None else np.asarray(fixed)
    coef = _minmse_coefficients(weights, n_groups - 1)
    for random_state in range(3):
        # Default settings: the search must find the exact optimum.
        design = MinMSE(n_groups, weights=weights, random_state=random_state)
        design.fit(X, fixed_labels=fixed)
        candidates = all_assignments(design.group_sizes_, fixed_arr)
        values = [_plain_r_objective(X, c, coef) for c in candidates]
        found = _plain_r_objective(X, design.labels_, coef)
        assert found == pytest.approx(min(values), rel=1e-5)
    # Fixed units stay; the objective is the R number up to the ridge.
    is_fixed = fixed_arr >= 0
    np.testing.assert_array_equal(design.labels_[is_fixed], fixed_arr[is_fixed])
    r_value = minmse_objective(X, design.labels_, weights=weights)
    assert design.objective_ == pytest.approx(r_value, rel=1e-5)


def test_objective_batch_matches_single():
    X = _covariates(11, 3, 7)
    Z = _whiten(X)
    coef = _minmse_coefficients([1.0, 2.0], 2)
    A = np.random.default_rng(0).permutation(np.arange(11) % 3)[None].repeat(3, 0)
    A[1] = np.roll(A[1], 1)
    A[2] = np.roll(A[2], 2)
    batch = _ridge_objective_batch(Z, A, coef)
    single = [_ridge_objective(Z, a, coef) for a in A]
    np.testing.assert_allclose(batch, single, rtol=1e-12)
    plain = [_plain_ridge_objective(Z, a, coef) for a in A]
    np.testing.assert_allclose(single, plain, rtol=1e-9)
    design = MinMSE(3, weights=[1.0, 2.0])
    np.testing.assert_allclose([design._objective(X, a) for a in A], single, rtol=1e-12)


# ------------------------------------------------------- incremental updates


@pytest.mark.parametrize(
    "n, p, n_groups, change", [(40, 4, 3, 3), (30, 2, 2, 2), (25, 5, 4, 5)]
)
def test_woodbury_evaluation_matches_recomputation(n, p, n_groups, change):
    rng = np.random.RandomState(0)
    Z = _whiten(_covariates(n, p, 1))
    coef = _minmse_coefficients(None, n_groups - 1)
    labels = rng.permutation(np.arange(n) % n_groups)
    state = _Annealer(Z, coef, labels)
    free = np.arange(n)
    for _ in range(150):
        units = _plain_draw_units(free, change, 6, rng)
        new = np.roll(state.labels[units], -1, axis=1)
        delta, moves, pieces = state.evaluate(units, new)
        for j in range(6):
            candidate = state.labels.copy()
            candidate[units[j]] = new[j]
            exact = _plain_ridge_objective(Z, candidate, coef)
            assert state.f + delta[j] == pytest.approx(exact, rel=1e-10)
            assert moves[j] == np.any(candidate != state.labels)
        state.apply(int(rng.randint(6)), units, new, pieces)
        assert state.f == pytest.approx(
            _plain_ridge_objective(Z, state.labels, coef), rel=1e-10
        )


def test_chain_evaluation_matches_recomputation():
    rng = np.random.RandomState(1)
    Z = _whiten(_covariates(30, 3, 2))
    coef = _minmse_coefficients([1.0, 3.0], 2)
    state = _Annealer(Z, coef, rng.permutation(np.arange(30) % 3))
    units = _plain_draw_units(np.arange(30), 3, 40, rng)
    new, f, pieces = state.chain(units)
    labels = state.labels.copy()
    for k in range(40):
        np.testing.assert_array_equal(new[k], np.roll(labels[units[k]], -1))
        labels[units[k]] = new[k]
        assert f[k] == pytest.approx(_plain_ridge_objective(Z, labels, coef), rel=1e-9)
    state.accept_chain(25, units, new, f, pieces)
    replay = state.labels
    labels = np.asarray(_Annealer(Z, coef, replay).labels)
    assert state.f == pytest.approx(_plain_ridge_objective(Z, replay, coef), rel=1e-9)


def _best_relabelling(Z, labels, coef, classes):
    """Brute force over the permutations of every class of swappable arms."""
    best_f, best = _plain_ridge_objective(Z, labels, coef), labels
    for perms in itertools.product(*[itertools.permutations(arms) for arms in classes]):
        mapping = np.arange(coef.shape[0])
        for arms, perm in zip(classes, perms, strict=True):
            mapping[list(arms)] = perm
        candidate = mapping[labels]
        value = _plain_ridge_objective(Z, candidate, coef)
        if value < best_f - 1e-12:
            best_f, best = value, candidate
    return best_f, best


def _reference_anneal(
    Z, coef, labels, free, *, iterations, change, cooling, t0, tmax, rng, classes=()
):
    """The annealing written plainly: one proposal at a time, objective from scratch.

    It shares no code with the package (objective, schedule and proposals are
    the plain oracles above) but follows the search's documented random-number
    protocol: pools of 8192 proposals, then 8192 uniforms for the Metropolis
    rule, so both must walk the same chain. A move rotates the labels of the
    chosen units one step; the best assignment is kept over every visited one
    and (brute force) every relabelling of its swappable arms.
    """
    n_change = min(change, free.shape[0])
    f = _plain_ridge_objective(Z, labels, coef)
    t0 = t0 if t0 > 0 else f / abs(t0)
    best_f, best = _best_relabelling(Z, labels, coef, classes)
    trace, current = [best_f], [f]
    done = 0
    while done < iterations:
        size = min(BATCH, iterations - done)
        units = _plain_draw_units(free, n_change, size, rng)
        draws = 1.0 - rng.random_sample(size)
        for k in range(size):
            temperature = _plain_temperature(t0, cooling, tmax, done + k + 1)
            candidate = labels.copy()
            candidate[units[k]] = np.roll(labels[units[k]], -1)
            if np.any(candidate != labels):
                f_new = _plain_ridge_objective(Z, candidate, coef)
                if draws[k] <= np.exp(-(f_new - f) / temperature):
                    labels, f = candidate, f_new
                    value, relabelled = _best_relabelling(Z, labels, coef, classes)
                    if value < best_f:
                        best_f, best = value, relabelled
            trace.append(best_f)
            current.append(f)
        done += size
    return best, np.array(trace), np.array(current)


@pytest.mark.parametrize(
    "t0, cooling, n_groups",
    [(-20.0, 1, 2), (-2000.0, 1, 3), (10.0, 1, 3), (0.05, 2, 2), (-5.0, 2, 4)],
)
def test_batched_annealing_is_the_plain_chain(t0, cooling, n_groups):
    n = 24
    Z = _whiten(_covariates(n, 3, 11))
    coef = _minmse_coefficients(None, n_groups - 1)
    start = np.random.default_rng(0).permutation(np.arange(n) % n_groups)
    free = np.arange(2, n)
    kwargs = dict(iterations=1500, change=3, cooling=cooling, t0=t0, tmax=10)
    best, trace, current, n_moved, _ = _anneal(
        Z, coef, start, free, rng=np.random.RandomState(5), **kwargs
    )
    ref_best, ref_trace, ref_current = _reference_anneal(
        Z, coef, start, free, rng=np.random.RandomState(5), **kwargs
    )
    np.testing.assert_array_equal(best, ref_best)
    np.testing.assert_allclose(current, ref_current, rtol=1e-9)
    np.testing.assert_allclose(trace, ref_trace, rtol=1e-9)
    assert 0 < n_moved < 1500
    np.testing.assert_array_equal(best[:2], start[:2])


@pytest.mark.parametrize(
    "weights, n_groups, t0",
    [(None, 3, -20.0), ([1.0, 2.0], 3, 10.0), (None, 4, -200.0)],
)
def test_relabelling_keeps_the_best_labelling(weights, n_groups, t0):
    n = 24
    Z = _whiten(_covariates(n, 2, 12))
    coef = _minmse_coefficients(weights, n_groups - 1)
    start = np.random.default_rng(1).permutation(np.arange(n) % n_groups)
    classes = [list(range(n_groups))]
    kwargs = dict(iterations=600, change=3, cooling=1, t0=t0, tmax=10)
    best, trace, current, _, _ = _anneal(
        Z,
        coef,
        start,
        np.arange(n),
        rng=np.random.RandomState(3),
        classes=classes,
        **kwargs,
    )
    ref_best, ref_trace, ref_current = _reference_anneal(
        Z,
        coef,
        start,
        np.arange(n),
        rng=np.random.RandomState(3),
        classes=classes,
        **kwargs,
    )
    np.testing.assert_allclose(current, ref_current, rtol=1e-9)
    np.testing.assert_allclose(trace, ref_trace, rtol=1e-9)
    assert _plain_ridge_objective(Z, best, coef) == pytest.approx(trace[-1], rel=1e-9)
    assert _plain_ridge_objective(Z, ref_best, coef) == pytest.approx(
        trace[-1], rel=1e-9
    )
    # The kept labelling beats the chain's own best.
    assert trace[-1] <= current.min() + 1e-15


def test_whole_arm_swap_found():
    # The search's moves nearly never swap two whole arms; with arms weighted
    # 1 and 2 the best split and its swapped labelling differ in objective.
    X = _covariates(9, 2, 11)
    candidates = all_assignments([3, 3, 3], np.full(9, -1))
    coef = np.array([3.0, 1.0, 2.0])  # weights [1, 2]: the control gets their sum
    best = min(_plain_r_objective(X, c, coef) for c in candidates)
    for seed in range(10):
        design = MinMSE(3, weights=[1.0, 2.0], iterations=4000, random_state=seed)
        found = _plain_r_objective(X, design.fit(X).labels_, coef)
        assert found == pytest.approx(best, rel=1e-5)


def test_trace_is_monotone_and_consistent():
    X = _covariates(60, 4, 3)
    design = MinMSE(3, iterations=3000, random_state=0).fit(X)
    assert design.trace_.shape == design.current_trace_.shape == (3001,)
    assert design.n_iter_ == 3000
    assert np.all(np.diff(design.trace_) <= 0)
    assert np.all(design.current_trace_ >= design.trace_ - 1e-15)
    assert design.trace_[-1] == pytest.approx(design.objective_, rel=1e-10)
    assert design.trace_[0] > design.trace_[-1]
    assert 0 < design.acceptance_rate_ < 1
    assert design.t0_ > 0


# ------------------------------------------------------------- centring trap


def test_centring_trap_standard_scaler_raises():
    X = _covariates(20, 3, 0)
    pipe = make_pipeline(StandardScaler(), MinMSE(iterations=100, random_state=0))
    with pytest.raises(ValueError, match=r"StandardScaler\(with_mean=False\)"):
        pipe.fit(X)


def test_centring_trap_fixes_work_and_agree():
    X = pd.DataFrame(_covariates(20, 3, 0) * [100.0, 1.0, 0.01], columns=list("abc"))
    raw = MinMSE(iterations=500, random_state=0).fit(X)
    scaled = make_pipeline(
        StandardScaler(with_mean=False), MinMSE(iterations=500, random_state=0)
    ).fit(X)
    r_pre = make_pipeline(
        FunctionTransformer(minmse_scale, feature_names_out="one-to-one"),
        MinMSE(iterations=500, random_state=0),
    ).set_output(transform="pandas")
    r_pre.fit(X)
    # The objective does not depend on the columns' scales.
    assert scaled[-1].objective_ == pytest.approx(raw.objective_, rel=1e-9)
    assert r_pre[-1].objective_ == pytest.approx(raw.objective_, rel=1e-9)
    np.testing.assert_array_equal(scaled[-1].labels_, raw.labels_)


def test_intercept_makes_centring_harmless():
    X = _covariates(20, 3, 0)
    raw = MinMSE(iterations=800, fit_intercept=True, random_state=0).fit(X)
    pipe = make_pipeline(
        StandardScaler(), MinMSE(iterations=800, fit_intercept=True, random_state=0)
    ).fit(X)
    assert pipe[-1].objective_ == pytest.approx(raw.objective_, rel=1e-9)
    np.testing.assert_array_equal(pipe[-1].labels_, raw.labels_)
    with_ones = np.column_stack([np.ones(20), X])
    assert raw.objective_ == pytest.approx(
        minmse_objective(with_ones, raw.labels_), rel=1e-5
    )
    # Shifting a covariate changes the R objective but not the intercept one.
    shifted = X + [5.0, -3.0, 1.0]
    assert MinMSE(fit_intercept=True)._objective(shifted, raw.labels_) == (
        pytest.approx(raw.objective_, rel=1e-9)
    )
    assert minmse_objective(shifted, raw.labels_) != pytest.approx(
        minmse_objective(X, raw.labels_), rel=1e-3
    )


def test_partly_centred_covariates_warn():
    X = _covariates(20, 3, 0)
    X[:, 1] -= X[:, 1].mean()
    with pytest.warns(UserWarning, match=r"Covariates \[1\] of X have mean zero"):
        MinMSE(iterations=100, random_state=0).fit(X)


def test_zero_covariates_raise():
    with pytest.raises(ValueError, match="Every covariate of X is zero"):
        MinMSE(iterations=100).fit(np.zeros((10, 2)))


# ------------------------------------------------------------ rank deficiency

# Twelve units, a continuous covariate and a one-hot categorical of three
# levels; level 0 has two units.
_X_QUIRK = np.column_stack(
    [
        [8.7, 6.6, 12.0, 6.7, 16.0, 12.8, 8.9, 11.7, 14.8, 18.5, 7.2, 13.2],
        *[
            np.equal([2, 2, 2, 2, 2, 2, 1, 0, 1, 2, 0, 2], level).astype(float)
            for level in range(3)
        ],
    ]
)


def _rank_deficient(X, labels):
    return any(
        np.linalg.matrix_rank(X[labels == g]) < X.shape[1] for g in np.unique(labels)
    )


def test_rank_deficient_split_fools_pseudo_inverse_but_not_minmse():
    candidates = all_assignments([6, 6], np.full(12, -1))
    r_values = np.array([minmse_objective(_X_QUIRK, c) for c in candidates])
    r_choice = candidates[r_values.argmin()]
    # The R objective prefers a split that leaves level 0 out of one arm.
    assert _rank_deficient(_X_QUIRK, r_choice)
    full_rank = np.array([not _rank_deficient(_X_QUIRK, c) for c in candidates])
    assert r_values.min() < r_values[full_rank].min() - 0.005
    design = MinMSE(iterations=3000, random_state=0).fit(_X_QUIRK)
    assert not _rank_deficient(_X_QUIRK, design.labels_)
    # MinMSE finds the best split among those of full rank, where its
    # objective is the R objective.
    assert minmse_objective(_X_QUIRK, design.labels_) == pytest.approx(
        r_values[full_rank].min(), rel=1e-5
    )
    ours = _ridge_objective_batch(_whiten(_X_QUIRK), candidates, np.ones(2))
    assert not _rank_deficient(_X_QUIRK, candidates[ours.argmin()])
    assert ours[~full_rank].min() > 1e3 * ours.min()


def test_unavoidable_rank_deficiency_warns():
    X = _covariates(12, 1, 0)
    rare = np.zeros(12)
    rare[3] = 1.0
    with pytest.warns(UserWarning, match="rank deficient"):
        MinMSE(iterations=300, random_state=0).fit(np.c_[X, rare])


def test_groups_smaller_than_rank_warn():
    X = _covariates(8, 5, 0)
    with pytest.warns(UserWarning, match="span 5 dimensions") as record:
        design = MinMSE(iterations=100, random_state=0).fit(X)
    assert len(record) == 1
    np.testing.assert_array_equal(design.group_sizes_, [4, 4])
    # Reducing the covariates in a Pipeline is the fix the message suggests.
    # (PCA centres its output, hence the intercept.)
    pipe = make_pipeline(
        PCA(n_components=4), MinMSE(iterations=100, fit_intercept=True, random_state=0)
    )
    with pytest.warns(UserWarning, match="span 5 dimensions"):
        pipe.fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.set_params(pca__n_components=2).fit(X)


def test_collinear_covariates_use_their_span():
    X = _covariates(12, 2, 4)
    Xdup = np.c_[X, 2.0 * X[:, 0]]
    a = MinMSE(iterations=1000, random_state=0).fit(X)
    b = MinMSE(iterations=1000, random_state=0).fit(Xdup)
    assert b.objective_ == pytest.approx(a.objective_, rel=1e-9)
    np.testing.assert_array_equal(a.labels_, b.labels_)


# ---------------------------------------------------- estimator behaviour


def test_reproducible_and_seed_dependent():
    X = _covariates(40, 3, 8)
    a = MinMSE(3, iterations=300, random_state=1).fit(X)
    b = clone(a).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.trace_, b.trace_)
    others = {
        MinMSE(3, iterations=300, random_state=s).fit_predict(X).tobytes()
        for s in range(5)
    }
    assert len(others) > 1


def test_group_sizes_and_fixed_units():
    X = _covariates(17, 2, 9)
    fixed = np.full(17, -1)
    fixed[[0, 1, 2]] = [2, 2, 0]
    design = MinMSE(3, group_sizes=[5, 5, 7], iterations=500, random_state=0)
    labels = design.fit_predict(X, fixed_labels=fixed)
    np.testing.assert_array_equal(np.bincount(labels), [5, 5, 7])
    np.testing.assert_array_equal(labels[:3], [2, 2, 0])
    with pytest.raises(InfeasibleDesignError):
        MinMSE(3, group_sizes=[5, 11, 1]).fit(X, fixed_labels=fixed)


def test_nothing_to_move():
    X = _covariates(6, 1, 0)
    design = MinMSE(iterations=100, random_state=0).fit(
        X, fixed_labels=[0, 0, 0, 1, 1, -1]
    )
    assert design.n_iter_ == 0
    assert design.labels_[-1] == 1
    assert design.trace_.shape == (1,)
    assert design.trace_[0] == pytest.approx(design.objective_)


def test_control_arm_is_not_relabeled():
    design = MinMSE(3)
    sizes, fixed = np.array([4, 4, 4]), np.full(12, -1)
    classes = design._arm_classes(sizes, fixed)
    assert classes[0] != classes[1] == classes[2]
    assert len(set(MinMSE(3, weights=[1, 2])._arm_classes(sizes, fixed))) == 3
    two = MinMSE(2)._arm_classes(np.array([5, 5]), np.full(10, -1))
    assert two[0] == two[1]
    # A weight matrix can make the single treated arm differ from the control.
    asym = MinMSE(2, weights=[[2], [4]])._arm_classes(np.array([5, 5]), np.full(10, -1))
    assert asym[0] != asym[1]


def test_relabeling_keeps_the_objective():
    X = _covariates(18, 2, 10)
    for seed in range(4):
        design = MinMSE(3, weights=[1.0, 1.0], iterations=300, random_state=seed).fit(X)
        assert design.objective_ == pytest.approx(design.trace_[-1], rel=1e-9)


def test_dataframe_input_and_score():
    X = pd.DataFrame(_covariates(16, 2, 12), columns=["age", "weight"])
    design = MinMSE(iterations=200, random_state=0).fit(X)
    assert list(design.feature_names_in_) == ["age", "weight"]
    assert design.score(X) == pytest.approx(-design.objective_)
    out = design.set_output(transform="pandas").transform(X)
    assert list(out.columns) == ["group"]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"weights": [1.0, 2.0]}, "one entry"),
        ({"weights": [[1.5]]}, "integers"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        MinMSE(iterations=10, **params).fit(_covariates(10, 1, 0))


@pytest.mark.parametrize(
    "params",
    [
        {"change": 1},
        {"cooling": 3},
        {"t0": "hot"},
        {"t0": 0},
        {"t0": np.inf},
        {"tmax": 0},
        {"iterations": 0},
    ],
)
def test_parameter_constraints(params):
    with pytest.raises(ValueError, match="parameter"):
        MinMSE(**params).fit(_covariates(10, 1, 0))


def test_verbose_progress_bar(capsys):
    # verbose=1 keeps showing the bar until its deprecation ends.
    with pytest.warns(FutureWarning, match="progress=True"):
        MinMSE(iterations=200, random_state=0, verbose=1).fit(_covariates(10, 1, 0))
    assert "MinMSE" in capsys.readouterr().err


def test_progress_bar_and_verbose_summary(capsys):
    X = _covariates(10, 1, 0)
    MinMSE(iterations=200, random_state=0, progress=True).fit(X)
    captured = capsys.readouterr()
    assert "MinMSE" in captured.err and captured.out == ""
    MinMSE(iterations=200, random_state=0, verbose=1, progress=True).fit(X)
    assert "[MinMSE] objective" in capsys.readouterr().out


def test_t0_is_checked_before_any_work():
    # An invalid temperature is refused at fit start, before X is read.
    with pytest.raises(ValueError, match="t0"):
        MinMSE(t0=0).fit([["not a number"]])


# ------------------------------------------------------ sample_assignments


def test_sample_assignments_signature_and_distinct():
    signature = inspect.signature(MinMSE.sample_assignments)
    assert signature.parameters["max_duplicate_fraction"].default == 0.01
    assert signature.parameters["n_jobs"].default is None
    X = _covariates(16, 2, 13)
    design = MinMSE(iterations=100, random_state=0)
    A = design.sample_assignments(X, 20)
    assert A.shape == (20, 16)
    assert len({a.tobytes() for a in A}) >= 20 - 1
    np.testing.assert_array_equal(A, design.sample_assignments(X, 20))
    np.testing.assert_array_equal(A, design.sample_assignments(X, 20, n_jobs=2))
    for a in A:
        np.testing.assert_array_equal(np.bincount(a), [8, 8])


def test_sample_assignments_keeps_fixed_units_and_warns_on_convergence():
    X = _covariates(8, 1, 14)
    fixed = [0, 1, -1, -1, -1, -1, -1, -1]
    design = MinMSE(iterations=2000, random_state=0)
    with pytest.warns(UserWarning, match="Only"):
        A = design.sample_assignments(X, 10, fixed_labels=fixed, max_draws=30)
    assert np.all(A[:, 0] == 0) and np.all(A[:, 1] == 1)
    assert len(A) < 10
