"""Balance metrics against direct formulas and scipy."""

import warnings
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skassign.base import draw_assignments
from skassign.metrics import (
    balance_table,
    ks_statistic,
    mahalanobis_imbalance,
    moment_discrepancy,
    standardized_mean_difference,
    variance_ratio,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(42)
    X = rng.normal(size=(15, 3)) * [1.0, 5.0, 0.1] + [0.0, 2.0, -1.0]
    labels = np.repeat([0, 1, 2], 5)
    rng.shuffle(labels)
    return X, labels


def _pairs(labels):
    return list(combinations(np.unique(labels), 2))


def test_standardized_mean_difference_formula(data):
    X, labels = data
    smd = standardized_mean_difference(X, labels)
    assert smd.shape == (3, 3)
    for k, (g, h) in enumerate(_pairs(labels)):
        a, b = X[labels == g], X[labels == h]
        pooled = np.sqrt((a.var(axis=0, ddof=1) + b.var(axis=0, ddof=1)) / 2)
        np.testing.assert_allclose(smd[k], (b.mean(0) - a.mean(0)) / pooled)


def test_standardized_mean_difference_degenerate_cases():
    X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    smd = standardized_mean_difference(X, [0, 0, 1, 1])
    assert smd[0, 0] == 0.0  # 0 / 0
    assert smd[0, 1] == np.inf  # 1 / 0


def test_variance_ratio_formula(data):
    X, labels = data
    ratio = variance_ratio(X, labels)
    for k, (g, h) in enumerate(_pairs(labels)):
        np.testing.assert_allclose(
            ratio[k],
            X[labels == h].var(axis=0, ddof=1) / X[labels == g].var(axis=0, ddof=1),
        )
    X0 = np.array([[1.0], [1.0], [2.0], [2.0]])
    assert variance_ratio(X0, [0, 0, 1, 1])[0, 0] == 1.0  # 0 / 0
    assert variance_ratio([[1.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])[0, 0] == np.inf


def test_ks_statistic_matches_scipy(data):
    X, labels = data
    X = np.column_stack([X, np.round(X[:, 0])])  # ties
    ks = ks_statistic(X, labels)
    for k, (g, h) in enumerate(_pairs(labels)):
        for j in range(X.shape[1]):
            a, b = X[labels == g, j], X[labels == h, j]
            expected = stats.ks_2samp(a, b, method="asymp").statistic
            assert ks[k, j] == pytest.approx(expected)


def test_ks_statistic_of_single_unit_arms_is_silent():
    X = np.array([[1.0], [2.0], [3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ks = ks_statistic(X, [0, 1, 2])
    np.testing.assert_array_equal(ks, [[1.0], [1.0], [1.0]])


def test_mahalanobis_within_is_equation_5_1(data):
    X, labels = data
    worst = 0.0
    for g, h in _pairs(labels):
        a, b = X[labels == g], X[labels == h]
        n_a, n_b = len(a), len(b)
        S_a, S_b = np.cov(a, rowvar=False, ddof=0), np.cov(b, rowvar=False, ddof=0)
        S = n_a * S_a + n_b * S_b
        d = a.mean(0) - b.mean(0)
        worst = max(worst, d @ np.linalg.inv(S / (n_a * n_b)) @ d)
    assert mahalanobis_imbalance(X, labels) == pytest.approx(worst)


def test_mahalanobis_total_is_morgan_rubin(data):
    X, labels = data
    S_inv = np.linalg.inv(np.cov(X, rowvar=False, ddof=1))
    worst = 0.0
    for g, h in _pairs(labels):
        a, b = X[labels == g], X[labels == h]
        d = a.mean(0) - b.mean(0)
        worst = max(worst, d @ S_inv @ d / (1 / len(a) + 1 / len(b)))
    assert mahalanobis_imbalance(X, labels, covariance="total") == pytest.approx(worst)


def test_mahalanobis_is_affine_invariant(data):
    X, labels = data
    A = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 1.0]])
    Y = X @ A + 7.0
    for covariance in ("within", "total"):
        assert mahalanobis_imbalance(Y, labels, covariance=covariance) == (
            pytest.approx(mahalanobis_imbalance(X, labels, covariance=covariance))
        )


def test_mahalanobis_total_has_mean_p_over_all_splits():
    # Under complete randomisation Cov(mean difference) = S (1/n1 + 1/n0)
    # exactly, so the average of M over every split is exactly n_features.
    X = np.random.default_rng(0).normal(size=(10, 2))
    values = []
    for treated in combinations(range(10), 5):
        labels = np.isin(np.arange(10), treated).astype(int)
        values.append(mahalanobis_imbalance(X, labels, covariance="total"))
    assert np.mean(values) == pytest.approx(2.0, rel=1e-10)


def test_mahalanobis_total_is_approximately_chi_square():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    draws = draw_assignments(
        np.array([100, 100]), np.full(200, -1), np.random.RandomState(0), 2000
    )
    values = np.array(
        [mahalanobis_imbalance(X, labels, covariance="total") for labels in draws[:400]]
    )
    assert values.mean() == pytest.approx(3.0, abs=0.4)
    assert stats.kstest(values, stats.chi2(df=3).cdf).statistic < 0.08


def test_moment_discrepancy_formula(data):
    X, labels = data
    rho = 0.3
    worst_diag = worst_full = 0.0
    for g, h in _pairs(labels):
        a, b = X[labels == g], X[labels == h]
        means = np.abs(a.mean(0) - b.mean(0)).sum()
        diag = np.abs((a**2).mean(0) - (b**2).mean(0)).sum()
        full = np.abs(a.T @ a / len(a) - b.T @ b / len(b)).sum()
        worst_diag = max(worst_diag, means + rho * diag)
        worst_full = max(worst_full, means + rho * full)
    assert moment_discrepancy(X, labels, rho=rho) == pytest.approx(worst_diag)
    assert moment_discrepancy(
        X, labels, rho=rho, second_moments="full"
    ) == pytest.approx(worst_full)
    assert moment_discrepancy(X, labels, rho=0.0) == pytest.approx(
        max(
            np.abs(X[labels == g].mean(0) - X[labels == h].mean(0)).sum()
            for g, h in _pairs(labels)
        )
    )


def test_moment_discrepancy_of_the_seed_objective():
    # Bertsimas et al.'s single-covariate objective: |mu_p - mu_q| + rho |M_p - M_q|.
    x = np.array([-1.0, 1.0, -2.0, 2.0, 0.5, -0.5])
    labels = np.array([0, 0, 0, 1, 1, 1])
    mu = [x[labels == g].mean() for g in (0, 1)]
    m2 = [(x[labels == g] ** 2).mean() for g in (0, 1)]
    expected = abs(mu[0] - mu[1]) + 0.5 * abs(m2[0] - m2[1])
    assert moment_discrepancy(x.reshape(-1, 1), labels) == pytest.approx(expected)


def test_balance_table_agrees_with_the_metrics(data):
    X, labels = data
    frame = pd.DataFrame(X, columns=["weight", "age", "dose"])
    table = balance_table(frame, labels + 1)  # arm names other than 0..k-1
    assert table.shape == (9, 12)
    assert list(table.columns) == [
        "feature",
        "arm_a",
        "arm_b",
        "n_a",
        "n_b",
        "mean_a",
        "mean_b",
        "sd_a",
        "sd_b",
        "smd",
        "variance_ratio",
        "ks",
    ]
    assert table["feature"].tolist() == ["weight", "age", "dose"] * 3
    assert set(zip(table.arm_a, table.arm_b, strict=True)) == {(1, 2), (1, 3), (2, 3)}
    np.testing.assert_allclose(
        table["smd"], standardized_mean_difference(X, labels).ravel()
    )
    np.testing.assert_allclose(
        table["variance_ratio"], variance_ratio(X, labels).ravel()
    )
    np.testing.assert_allclose(table["ks"], ks_statistic(X, labels).ravel())
    grouped = frame.groupby(labels + 1)
    for _, row in table.iterrows():
        assert row.mean_a == pytest.approx(grouped[row.feature].mean()[row.arm_a])
        assert row.sd_b == pytest.approx(grouped[row.feature].std()[row.arm_b])
        assert row.n_a == 5


@pytest.mark.parametrize(
    "metric",
    [
        standardized_mean_difference,
        variance_ratio,
        ks_statistic,
        mahalanobis_imbalance,
        moment_discrepancy,
        balance_table,
    ],
)
def test_metrics_reject_bad_labels(metric):
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match="has 3 entries but there are 4 units"):
        metric(X, [0, 1, 0])
    with pytest.raises(ValueError, match="single group; a comparison needs at least"):
        metric(X, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="contains NaN or inf; every unit needs"):
        metric(X, [0, 1, np.nan, 1])
    with pytest.raises(ValueError, match="encode categorical covariates first"):
        metric([["a"], ["b"], ["c"], ["d"]], [0, 1, 0, 1])
