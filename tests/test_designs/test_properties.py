"""Invariants every design must satisfy, checked across seeds and shapes."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skassign.metrics import (
    ks_statistic,
    mahalanobis_imbalance,
    moment_discrepancy,
    neg_max_abs_smd_scorer,
    standardized_mean_difference,
    variance_ratio,
)
from skassign.utils.discovery import all_designs
from skassign.utils.validation import relabel_arms
from tests.test_common import FAST_PARAMS

# Designs are small optimisation or sampling problems: a handful of examples
# per property keeps the suite fast while still varying seeds and shapes.
PROPERTY_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DESIGNS = [
    pytest.param(cls(**FAST_PARAMS.get(name, {})), id=name)
    for name, cls in all_designs()
]

pytestmark = pytest.mark.filterwarnings(
    # Rerandomization with many arms may exhaust max_draws; the returned
    # assignment must satisfy the invariants all the same.
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@st.composite
def problems(draw, max_groups=4, max_samples=24):
    """Covariates, number of groups, optional explicit sizes and fixed units."""
    n_groups = draw(st.integers(2, max_groups))
    n_samples = draw(st.integers(n_groups, max_samples))
    n_features = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    if draw(st.booleans()):
        cuts = np.sort(rng.choice(np.arange(1, n_samples), n_groups - 1, False))
        sizes = np.diff(np.concatenate([[0], cuts, [n_samples]])).tolist()
        caps = np.asarray(sizes)
    else:
        sizes = None
        caps = np.full(n_groups, n_samples // n_groups)
    fixed = np.full(n_samples, -1)
    if draw(st.booleans()):
        counts = [int(rng.integers(0, cap + 1)) for cap in caps]
        units = rng.permutation(n_samples)
        start = 0
        for g, count in enumerate(counts):
            fixed[units[start : start + count]] = g
            start += count
    return X, n_groups, sizes, fixed, seed


@pytest.mark.parametrize("design", DESIGNS)
@PROPERTY_SETTINGS
@given(problem=problems())
def test_sizes_fixed_units_and_reproducibility(design, problem):
    X, n_groups, sizes, fixed, seed = problem
    X_before, fixed_before = X.copy(), fixed.copy()
    sizes_before = None if sizes is None else list(sizes)
    estimator = clone(design).set_params(
        n_groups=n_groups, group_sizes=sizes, random_state=seed
    )
    labels = estimator.fit_predict(X, fixed_labels=fixed)

    assert labels.dtype == np.int64 and labels.shape == (X.shape[0],)
    counts = np.bincount(labels, minlength=n_groups)
    assert counts.shape == (n_groups,)
    if sizes is None:
        assert counts.max() - counts.min() <= 1
    else:
        assert counts.tolist() == sizes
    assert np.array_equal(estimator.group_sizes_, counts)
    assert np.array_equal(labels[fixed >= 0], fixed[fixed >= 0])

    again = clone(estimator).fit_predict(X, fixed_labels=fixed)
    assert np.array_equal(labels, again)

    assert np.array_equal(X, X_before)
    assert np.array_equal(fixed, fixed_before)
    assert sizes == sizes_before


@pytest.mark.parametrize("design", DESIGNS)
@PROPERTY_SETTINGS
@given(problem=problems(max_groups=3, max_samples=16))
def test_pandas_input_is_not_mutated(design, problem):
    X, n_groups, sizes, fixed, seed = problem
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    fixed_series = pd.Series(np.where(fixed >= 0, fixed, np.nan))
    frame_before, fixed_before = frame.copy(), fixed_series.copy()
    estimator = clone(design).set_params(
        n_groups=n_groups, group_sizes=sizes, random_state=seed
    )
    labels = estimator.fit_predict(frame, fixed_labels=fixed_series)
    pd.testing.assert_frame_equal(frame, frame_before)
    pd.testing.assert_series_equal(fixed_series, fixed_before)
    assert np.array_equal(labels[fixed >= 0], fixed[fixed >= 0])
    assert estimator.feature_names_in_.tolist() == list(frame.columns)
    assert np.array_equal(labels, clone(estimator).fit_predict(X, fixed_labels=fixed))


def _sorted_abs(values):
    return np.sort(np.abs(np.asarray(values, dtype=float)).ravel())


@pytest.mark.parametrize("design", DESIGNS)
@PROPERTY_SETTINGS
@given(problem=problems(), perm_seed=st.integers(0, 1000))
def test_relabeling_leaves_balance_metrics_unchanged(design, problem, perm_seed):
    X, n_groups, sizes, _, seed = problem
    estimator = clone(design).set_params(
        n_groups=n_groups, group_sizes=sizes, random_state=seed
    )
    labels = estimator.fit_predict(X)
    permutation = np.random.default_rng(perm_seed).permutation(n_groups)
    relabeled = permutation[labels]

    for covariance in ("within", "total"):
        assert mahalanobis_imbalance(X, relabeled, covariance=covariance) == (
            pytest.approx(mahalanobis_imbalance(X, labels, covariance=covariance))
        )
    assert moment_discrepancy(X, relabeled, rho=0.7) == pytest.approx(
        moment_discrepancy(X, labels, rho=0.7)
    )
    np.testing.assert_allclose(
        _sorted_abs(standardized_mean_difference(X, relabeled)),
        _sorted_abs(standardized_mean_difference(X, labels)),
    )
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(
            _sorted_abs(np.log(variance_ratio(X, relabeled))),
            _sorted_abs(np.log(variance_ratio(X, labels))),
        )
    np.testing.assert_allclose(
        _sorted_abs(ks_statistic(X, relabeled)), _sorted_abs(ks_statistic(X, labels))
    )

    class _Relabeled:
        labels_ = relabeled

    assert neg_max_abs_smd_scorer(_Relabeled(), X) == pytest.approx(
        neg_max_abs_smd_scorer(estimator, X)
    )
    # The design's own criterion is unchanged by swapping the arms the design
    # declares interchangeable (a control arm or differently weighted arms are
    # not, e.g. in MinMSE).
    no_fixed = np.full(labels.shape[0], -1)
    classes = estimator._arm_classes(estimator.group_sizes_, no_fixed)
    swapped = relabel_arms(labels, classes, np.random.RandomState(perm_seed))
    assert estimator._objective(X, swapped) == pytest.approx(estimator.objective_)
