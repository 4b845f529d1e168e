"""The design contract of skassign.base, exercised through the simple designs."""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.base import draw_assignments, is_design, sample_assignments
from skassign.designs import (
    CompleteRandomization,
    Rerandomization,
)
from skassign.exceptions import InfeasibleDesignError
from skassign.metrics import mahalanobis_imbalance
from skassign.utils import get_labels
from skassign.utils.discovery import all_designs
from tests.test_common import FAST_PARAMS


def _designs():
    return [
        pytest.param(cls(**FAST_PARAMS.get(name, {}), random_state=0), id=name)
        for name, cls in all_designs()
    ]


@pytest.fixture
def X_frame():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        rng.normal(size=(16, 3)),
        columns=["weight", "age", "dose"],
        index=[f"mouse{i}" for i in range(16)],
    )
    X.iloc[[2, 7], 1] = np.nan
    return X


# ---------------------------------------------------------------------------
# Pipeline, transformer face, score


@pytest.mark.parametrize("design", _designs())
def test_pipeline_with_imputer_scaler_and_pandas_output(design, X_frame):
    X_before = X_frame.copy()
    pipe = make_pipeline(SimpleImputer(), StandardScaler(), design).set_output(
        transform="pandas"
    )
    labels = pipe.fit_predict(X_frame)
    assert isinstance(labels, np.ndarray) and labels.dtype == np.int64
    assert labels.shape == (16,)
    assert np.array_equal(np.bincount(labels), [8, 8])
    assert np.array_equal(labels, get_labels(pipe))

    group = pipe.transform(X_frame)
    assert isinstance(group, pd.DataFrame)
    assert list(group.columns) == ["group"]
    assert group.index.equals(X_frame.index)
    assert group["group"].dtype == np.int64
    assert np.array_equal(group["group"].to_numpy(), labels)
    assert pipe[-1].feature_names_in_.tolist() == ["weight", "age", "dose"]

    score = pipe.score(X_frame)
    Xd = pipe[:-1].transform(X_frame)
    assert np.isfinite(score)
    assert score == pytest.approx(-pipe[-1]._objective(Xd.to_numpy(), labels))
    assert score == pytest.approx(-pipe[-1].objective_)
    pd.testing.assert_frame_equal(X_frame, X_before)


@pytest.mark.parametrize("design", _designs())
def test_fit_transform_equals_fit_then_transform(design, X_small):
    a = clone(design).fit_transform(X_small)
    b = clone(design).fit(X_small).transform(X_small)
    assert a.shape == (20, 1) and a.dtype == np.int64
    assert np.array_equal(a, b)
    assert clone(design).fit(X_small).get_feature_names_out().tolist() == ["group"]


@pytest.mark.parametrize("method", ["transform", "score"])
def test_other_units_are_refused(method, X_small):
    design = CompleteRandomization(random_state=0).fit(X_small)
    msg = "only accepts the units the design was fit on (20 units)"
    with pytest.raises(ValueError, match=re.escape(msg)):
        getattr(design, method)(X_small[:10])
    other = X_small.copy()
    other[0, 0] += 1.0
    with pytest.raises(ValueError, match="Refit the design on the new units"):
        getattr(design, method)(other)


def test_feature_union_and_column_transformer_accept_the_group_column(X_small):
    union = FeatureUnion(
        [("scaled", StandardScaler()), ("group", CompleteRandomization(random_state=0))]
    )
    out = union.fit_transform(X_small)
    assert out.shape == (20, 4)
    assert set(np.unique(out[:, -1])) == {0.0, 1.0}
    ct = ColumnTransformer([("group", CompleteRandomization(random_state=0), [0, 1])])
    assert ct.fit_transform(X_small).shape == (20, 1)
    assert ct.get_feature_names_out().tolist() == ["group__group"]


@pytest.mark.parametrize("design", _designs())
def test_clone_and_pickle_keep_the_assignment(design, X_small):
    fitted = clone(design).fit(X_small)
    restored = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(restored.labels_, fitted.labels_)
    assert np.array_equal(restored.transform(X_small), fitted.transform(X_small))
    assert np.array_equal(clone(design).fit(X_small).labels_, fitted.labels_)


@pytest.mark.parametrize("design", _designs())
def test_memory_layout_and_pandas_do_not_change_the_result(design, X_small):
    # Summation order follows memory layout; covariates are made C-contiguous
    # so the objective, and a solver stopped at a limit, see the same bits.
    reference = clone(design).fit(X_small)
    for X in (np.asfortranarray(X_small), pd.DataFrame(X_small)):
        other = clone(design).fit(X)
        assert np.array_equal(other.labels_, reference.labels_)
        assert other.objective_ == reference.objective_


def test_is_design():
    assert is_design(CompleteRandomization())
    assert is_design(make_pipeline(StandardScaler(), Rerandomization()))
    assert not is_design(StandardScaler())
    assert not is_design(make_pipeline(CompleteRandomization(), StandardScaler()))
    assert not is_design(object())


# ---------------------------------------------------------------------------
# Bad input: a ValueError whose message says what to do


@pytest.mark.parametrize("design", _designs())
@pytest.mark.parametrize(
    "value, match",
    [
        (np.nan, "impute them in a Pipeline, e.g. make_pipeline\\(SimpleImputer"),
        (np.inf, "Replace infinite covariates .* SimpleImputer"),
        (-np.inf, "Replace infinite covariates"),
    ],
)
def test_non_finite_covariates_are_rejected(design, value, match, X_small):
    X = X_small.copy()
    X[4, 1] = value
    with pytest.raises(ValueError, match=match):
        clone(design).fit(X)


@pytest.mark.parametrize("design", _designs())
def test_string_covariates_are_rejected(design):
    if design.__sklearn_tags__().input_tags.categorical:
        pytest.skip("this design takes categorical columns as they are")
    X = pd.DataFrame({"weight": [1.0, 2.0, 3.0, 4.0], "sex": ["f", "m", "f", "m"]})
    with pytest.raises(ValueError, match="Encode categorical covariates first"):
        clone(design).fit(X)
    with pytest.raises(ValueError, match="OneHotEncoder"):
        clone(design).fit([["a"], ["b"], ["c"]])


@pytest.mark.parametrize("design", _designs())
def test_too_few_units(design):
    msg = "n_samples=2 is smaller than n_groups=3: .* Use fewer groups or more units"
    with pytest.raises(ValueError, match=msg):
        clone(design).set_params(n_groups=3).fit(np.arange(4.0).reshape(2, 2))


@pytest.mark.parametrize(
    "sizes, match",
    [
        ([6, 6], "sum to 12 but X has n_samples=10 .* must add up to the number"),
        ([5, 3, 2], "has 3 entries but n_groups=2; set n_groups=3 or give one size"),
        ([10, 0], "Every group size must be at least 1"),
        ([4.5, 5.5], "group_sizes must be integers"),
        ([[5, 5]], "must be a 1-D sequence of integers"),
    ],
)
@pytest.mark.parametrize("design", _designs())
def test_bad_group_sizes(design, sizes, match, X_tiny):
    with pytest.raises(ValueError, match=match):
        clone(design).set_params(group_sizes=sizes).fit(X_tiny)


@pytest.mark.parametrize(
    "fixed, error, match",
    [
        ([0, 2] + [-1] * 8, ValueError, "got 2 at position 1. Increase n_groups or"),
        ([-2] + [-1] * 9, ValueError, "must be -1 \\(to assign\\) or a group in 0..1"),
        ([0, 1, -1], ValueError, "has 3 entries but X has 10 units; give one entry"),
        ([0.5] + [-1] * 9, ValueError, "must contain integers"),
        (["a"] * 10, ValueError, "must contain integer group numbers"),
        ([[0] * 10], ValueError, "must be 1-D"),
        (
            [0] * 6 + [-1] * 4,
            InfeasibleDesignError,
            "do not fit groups of as equal as possible sizes .* pass group_sizes",
        ),
    ],
)
@pytest.mark.parametrize("design", _designs())
def test_bad_fixed_labels(design, fixed, error, match, X_tiny):
    with pytest.raises(error, match=match):
        clone(design).fit(X_tiny, fixed_labels=fixed)


@pytest.mark.parametrize("design", _designs())
def test_fixed_units_exceeding_an_explicit_group_size(design, X_tiny):
    fixed = [1, 1, 1, 1] + [-1] * 6
    msg = "puts 4 units in group 1, whose size is 3; enlarge that group"
    with pytest.raises(InfeasibleDesignError, match=msg):
        clone(design).set_params(group_sizes=[7, 3]).fit(X_tiny, fixed_labels=fixed)
    # InfeasibleDesignError is a ValueError, so generic handlers catch it.
    assert issubclass(InfeasibleDesignError, ValueError)


# ---------------------------------------------------------------------------
# draw_assignments and sample_assignments


def test_draw_assignments_is_uniform_over_completions():
    sizes = np.array([3, 3])
    fixed = np.array([0, -1, -1, 1, -1, -1])
    rng = np.random.RandomState(0)
    draws = draw_assignments(sizes, fixed, rng, n_draws=6000)
    assert np.all(draws[:, 0] == 0) and np.all(draws[:, 3] == 1)
    assert np.all((draws == 0).sum(axis=1) == 3)
    # Free units 1, 2, 4, 5 hold two places of group 0: C(4, 2) = 6 completions.
    keys, counts = np.unique(draws, axis=0, return_counts=True)
    assert keys.shape[0] == 6
    expected = 6000 / 6
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected * 5 / 6))
    single = draw_assignments(sizes, fixed, np.random.RandomState(0))
    assert single.shape == (6,) and single.dtype == np.int64


def test_sample_assignments_is_reproducible_across_n_jobs(X_small):
    design = make_pipeline(StandardScaler(), Rerandomization(max_draws=500))
    a = sample_assignments(design, X_small, 6, n_jobs=1, random_state=7)
    b = sample_assignments(design, X_small, 6, n_jobs=2, random_state=7)
    c = sample_assignments(design, X_small, 6, n_jobs=2, random_state=8)
    assert a.shape == (6, 20) and a.dtype == np.int64
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sample_assignments_duplicate_control():
    # Four units in two groups of two: only C(4, 2) = 6 labelings exist.
    X = np.arange(4.0).reshape(-1, 1)
    design = CompleteRandomization()
    distinct = sample_assignments(
        design, X, 6, max_duplicate_fraction=0.0, max_draws=500, random_state=0
    )
    assert len({tuple(a) for a in distinct}) == 6
    with pytest.warns(UserWarning, match="Only 6 of the n_assignments=8 assignments"):
        found = sample_assignments(
            design, X, 8, max_duplicate_fraction=0.0, max_draws=200, random_state=0
        )
    assert found.shape == (6, 4)
    some = sample_assignments(
        design, X, 8, max_duplicate_fraction=0.25, max_draws=500, random_state=0
    )
    assert some.shape == (8, 4)
    assert len({tuple(a) for a in some}) == 6


def test_sample_assignments_keeps_fixed_units(X_tiny):
    fixed = np.array([0, 1] + [-1] * 8)
    draws = CompleteRandomization(random_state=0).sample_assignments(
        X_tiny, 10, fixed_labels=fixed
    )
    assert np.all(draws[:, 0] == 0) and np.all(draws[:, 1] == 1)
    pipe = make_pipeline(StandardScaler(), CompleteRandomization())
    draws = sample_assignments(
        pipe,
        X_tiny,
        10,
        random_state=0,
        fit_params={"completerandomization__fixed_labels": fixed},
    )
    assert np.all(draws[:, 0] == 0) and np.all(draws[:, 1] == 1)


def test_default_objective_is_the_total_mahalanobis_imbalance(X_small):
    design = CompleteRandomization(n_groups=3, random_state=0).fit(X_small)
    expected = mahalanobis_imbalance(X_small, design.labels_, covariance="total")
    assert design.objective_ == pytest.approx(expected)
    assert design.score(X_small) == pytest.approx(-expected)


def test_pairs_of_units_are_split_uniformly_by_complete_randomization():
    X = np.zeros((6, 1))
    together = np.zeros((6, 6))
    n = 600
    for seed in range(n):
        labels = CompleteRandomization(random_state=seed).fit_predict(X)
        together += labels[:, None] == labels[None, :]
    # Two given units share a group of 3 out of 6 with probability 2/5.
    off = together[~np.eye(6, dtype=bool)] / n
    assert np.all(np.abs(off - 0.4) < 0.1)


def test_parameter_check_is_scikit_learns(monkeypatch, X_small):
    from numbers import Real

    from skassign.designs import OptimalBalance
    from skassign.utils._param_validation import Interval, InvalidParameterError

    with pytest.raises(InvalidParameterError, match="The 'rho' parameter of Opt"):
        OptimalBalance(rho=-1.0).fit(X_small)
    with pytest.raises(InvalidParameterError, match="'n_groups' parameter"):
        OptimalBalance(n_groups=1.5).fit(X_small)
    # Replaced constraints are read again (they are built once per class).
    constraints = {
        **OptimalBalance._parameter_constraints,
        "rho": [Interval(Real, -2, None, closed="left")],
    }
    monkeypatch.setattr(OptimalBalance, "_parameter_constraints", constraints)
    OptimalBalance(rho=-1.0, method="heuristic", random_state=0).fit(X_small)
