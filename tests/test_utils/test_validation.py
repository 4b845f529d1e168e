"""Shared validation: partial assignments, sizes, relabeling, labels."""

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import CompleteRandomization
from skassign.exceptions import InfeasibleDesignError
from skassign.utils import check_fixed_labels, check_labels, get_labels
from skassign.utils.validation import (
    check_assignment,
    check_covariates,
    final_step,
    relabel_arms,
    resolve_group_sizes,
)


@pytest.mark.parametrize(
    "fixed",
    [
        [0, -1, 1, -1],
        [0, np.nan, 1, np.nan],
        [0, None, 1, None],
        np.array([0.0, np.nan, 1.0, -1.0]),
        pd.array([0, pd.NA, 1, pd.NA], dtype="Int64"),
        pd.Series([0, pd.NA, 1, None], dtype="Int64"),
        pd.Series([0.0, np.nan, 1.0, np.nan], index=[10, 11, 12, 13]),
        pd.Series([0, None, 1, None], dtype=object),
    ],
    ids=[
        "ints",
        "nan",
        "none",
        "float-array",
        "pandas-NA-array",
        "pandas-Int64",
        "pandas-float",
        "pandas-object",
    ],
)
def test_check_fixed_labels_accepts_missing_markers(fixed):
    out = check_fixed_labels(fixed, 4, 2)
    assert out.dtype == np.int64
    assert out.tolist() == [0, -1, 1, -1]


def test_check_fixed_labels_none_and_errors():
    assert check_fixed_labels(None, 3, 2).tolist() == [-1, -1, -1]
    with pytest.raises(ValueError, match="has 2 entries but X has 3 units"):
        check_fixed_labels([0, 1], 3, 2)
    with pytest.raises(ValueError, match="got 3 at position 2. Increase n_groups"):
        check_fixed_labels([0, 1, 3], 3, 3)
    with pytest.raises(ValueError, match="must contain integers"):
        check_fixed_labels([0, 1.5, -1], 3, 2)
    with pytest.raises(ValueError, match="integer group numbers"):
        check_fixed_labels(["control", "treated", ""], 3, 2)


def test_check_fixed_labels_does_not_modify_its_input():
    fixed = np.array([0.0, np.nan, 1.0])
    check_fixed_labels(fixed, 3, 2)
    assert np.isnan(fixed[1])


def test_resolve_group_sizes_default_is_as_equal_as_possible():
    free = np.full(11, -1)
    seen = set()
    for seed in range(40):
        sizes = resolve_group_sizes(11, 3, None, free, np.random.RandomState(seed))
        assert sizes.dtype == np.int64 and sizes.sum() == 11
        assert sizes.max() - sizes.min() <= 1
        seen.add(tuple(sizes))
    assert seen == {(4, 4, 3), (4, 3, 4), (3, 4, 4)}


def test_resolve_group_sizes_gives_the_extra_unit_where_fixed_units_need_it():
    fixed = np.array([2, 2, 2, 2] + [-1] * 7)  # group 2 already holds 4 = base + 1
    for seed in range(20):
        sizes = resolve_group_sizes(11, 3, None, fixed, np.random.RandomState(seed))
        assert sizes[2] == 4 and sizes.sum() == 11


def test_resolve_group_sizes_errors():
    rng = np.random.RandomState(0)
    free = np.full(6, -1)
    with pytest.raises(ValueError, match="n_samples=2 is smaller than n_groups=3"):
        resolve_group_sizes(2, 3, None, np.full(2, -1), rng)
    with pytest.raises(ValueError, match=r"sum to 5 but X has n_samples=6"):
        resolve_group_sizes(6, 2, [2, 3], free, rng)
    with pytest.raises(ValueError, match="has 3 entries but n_groups=2"):
        resolve_group_sizes(6, 2, [2, 2, 2], free, rng)
    with pytest.raises(ValueError, match="at least 1"):
        resolve_group_sizes(6, 2, [6, 0], free, rng)
    with pytest.raises(ValueError, match="1-D sequence of integers"):
        resolve_group_sizes(6, 2, ["3", "3"], free, rng)
    fixed = np.array([0, 0, 0, 0, -1, -1])
    with pytest.raises(InfeasibleDesignError, match="pass group_sizes explicitly"):
        resolve_group_sizes(6, 2, None, fixed, rng)
    with pytest.raises(InfeasibleDesignError, match="puts 4 units in group 0"):
        resolve_group_sizes(6, 2, [3, 3], fixed, rng)
    # Groups 0 and 1 both need the single extra unit of 7 = 3 * 2 + 1.
    fixed = np.array([0, 0, 0, 1, 1, 1, -1])
    with pytest.raises(InfeasibleDesignError, match="do not fit groups"):
        resolve_group_sizes(7, 3, None, fixed, rng)
    np.testing.assert_array_equal(
        resolve_group_sizes(5, 2, [2.0, 3.0], np.full(5, -1), rng), [2, 3]
    )


def test_relabel_arms_only_permutes_interchangeable_groups():
    labels = np.repeat([0, 1, 2, 3], [3, 3, 4, 3])
    classes = [("free", 3), ("free", 3), ("free", 4), ("fixed", 3)]
    images = set()
    for seed in range(40):
        out = relabel_arms(labels, classes, np.random.RandomState(seed))
        assert out.dtype == np.int64
        # A permutation of arm names: blocks stay together.
        mapping = {int(a): int(b) for a, b in zip(labels, out, strict=True)}
        assert len(set(mapping.values())) == 4
        assert mapping[2] == 2 and mapping[3] == 3
        images.add((mapping[0], mapping[1]))
    assert images == {(0, 1), (1, 0)}


def test_relabel_arms_with_nothing_to_swap():
    labels = np.array([0, 1, 1, 2])
    classes = [("a",), ("b",), ("c",)]
    out = relabel_arms(labels, classes, np.random.RandomState(0))
    np.testing.assert_array_equal(out, labels)


def test_check_assignment_catches_design_bugs():
    sizes = np.array([2, 2])
    fixed = np.array([0, -1, -1, -1])
    np.testing.assert_array_equal(
        check_assignment([0.0, 1.0, 0.0, 1.0], sizes, fixed), [0, 1, 0, 1]
    )
    with pytest.raises(RuntimeError, match="group sizes \\[3, 1\\] instead of"):
        check_assignment([0, 0, 0, 1], sizes, fixed)
    with pytest.raises(RuntimeError, match="moved a fixed unit"):
        check_assignment([1, 0, 0, 1], sizes, fixed)
    with pytest.raises(RuntimeError, match="outside 0..n_groups-1"):
        check_assignment([0, 2, 0, 1], sizes, fixed)


def test_check_labels():
    np.testing.assert_array_equal(check_labels(pd.Series([1, 0, 1])), [1, 0, 1])
    with pytest.raises(ValueError, match="NaN or inf"):
        check_labels([0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="has 2 entries but there are 3 units"):
        check_labels([0, 1], 3)
    with pytest.raises(ValueError, match="non-negative"):
        check_labels([0, -1, 1])
    with pytest.raises(ValueError, match="contains group 2, but the design has"):
        check_labels([0, 1, 2], n_groups=2)
    with pytest.raises(ValueError, match="assignment has a single group"):
        check_labels([1, 1, 1], name="assignment")


def test_check_covariates():
    X, names = check_covariates(pd.DataFrame({"w": [1, 2], "a": [3.0, 4.0]}))
    assert X.dtype == np.float64 and names == ["w", "a"]
    X, names = check_covariates([1.0, 2.0, 3.0])
    assert X.shape == (3, 1) and names == ["x0"]
    with pytest.raises(ValueError, match="non-numeric values"):
        check_covariates([["a"], ["b"]])


def test_get_labels_and_final_step():
    X = np.arange(8.0).reshape(-1, 1)
    design = CompleteRandomization(random_state=0)
    inner = make_pipeline(StandardScaler(), design)
    outer = make_pipeline(StandardScaler(), inner).fit(X)
    assert final_step(outer) is design
    np.testing.assert_array_equal(get_labels(outer), design.labels_)
    with pytest.raises(ValueError, match="has no fitted labels_"):
        get_labels(StandardScaler())
    with pytest.raises(ValueError, match="has no fitted labels_"):
        get_labels(CompleteRandomization())


def _covariate_inputs():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 2))
    frame = pd.DataFrame(A, columns=["w", "a"])
    yield A
    yield np.asfortranarray(A)
    yield A[::2]
    yield A.astype(np.float32)
    yield (A * 10).astype(int)
    yield np.array([[1.0, np.nan], [2.0, 3.0]])
    yield np.array([[1.0, np.inf], [2.0, 3.0]])
    yield np.array([[1e308, 1e308], [1e308, 1e308]])
    yield np.zeros((0, 2))
    yield A[:, 0]
    yield frame
    yield frame[["a"]]
    yield pd.DataFrame(A)
    yield frame.assign(n=np.arange(6))
    yield frame.astype({"w": "Float64"})
    yield frame.set_axis(["w", 0], axis=1)
    yield frame.iloc[:0]


@pytest.mark.parametrize("X", list(_covariate_inputs()))
def test_fast_covariate_checks_agree_with_scikit_learn(X):
    from sklearn.utils.validation import validate_data

    from skassign.utils.validation import _checked_frame, _is_checked_matrix

    estimator = StandardScaler()
    try:
        expected = validate_data(estimator, X, dtype=np.float64, order="C")
    except (TypeError, ValueError):
        expected = None
    names = getattr(estimator, "feature_names_in_", None)
    frame = _checked_frame(X)
    if frame is not None:
        assert np.array_equal(frame[0], expected) and frame[0].flags.c_contiguous
        assert frame[1].dtype == object and frame[1].tolist() == names.tolist()
    if _is_checked_matrix(X):
        assert expected is X and names is None
    if expected is None:
        assert frame is None and not _is_checked_matrix(X)


def test_fast_covariate_checks_take_plain_float_inputs():
    from skassign.utils.validation import _checked_frame, _is_checked_matrix

    A = np.arange(6.0).reshape(3, 2)
    assert _is_checked_matrix(A) and _checked_frame(A) is None
    values, names = _checked_frame(pd.DataFrame(A, columns=["w", "a"]))
    assert np.array_equal(values, A) and names.tolist() == ["w", "a"]
    design = CompleteRandomization(random_state=0)
    frame_labels = design.fit_predict(pd.DataFrame(A, columns=["w", "a"]))
    assert design.feature_names_in_.tolist() == ["w", "a"]
    assert np.array_equal(design.fit_predict(A), frame_labels)
    assert not hasattr(design, "feature_names_in_") and design.n_features_in_ == 2
