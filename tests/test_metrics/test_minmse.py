from math import gcd

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skassign.metrics import minmse_objective, minmse_scale


def _dense_objective(X, labels, coef):
    """The objective written out with explicit inverses (full-rank arms)."""
    X = np.asarray(X, dtype=float)
    xbar = X.mean(axis=0)
    total = sum(
        c * np.linalg.inv(X[labels == g].T @ X[labels == g]) for g, c in enumerate(coef)
    )
    return float(xbar @ total @ xbar)


def _r_matrix_objective(X, labels, W):
    """Line-by-line transcription of the R package's evaluate_solution_matrix."""

    def vector_gcd(vec):
        current = int(vec[0])
        for value in vec[1:]:
            current = gcd(int(value), current)
            if current == 1:
                return 1
        return current

    X = np.asarray(X, dtype=float)
    n_treatments = labels.max()
    v_norm = sum(vector_gcd(W[:, j]) for j in range(W.shape[1]))
    w_norm = sum(vector_gcd(W[i, :]) for i in range(W.shape[0]))
    x0 = X[labels == 0]
    total = w_norm * v_norm * np.linalg.pinv(x0.T @ x0)
    for i in range(W.shape[0]):
        wk = vector_gcd(W[i, :])
        inner = 0
        for j in range(1, n_treatments + 1):
            x = X[labels == j]
            inner = inner + (W[i, j - 1] / wk) * np.linalg.pinv(x.T @ x)
        total = total + wk * inner
    xbar = X.mean(axis=0)
    return float(xbar @ total @ xbar)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 3)) + np.array([1.0, 3.0, -2.0])


@pytest.mark.parametrize("n_groups", [2, 3, 4])
def test_objective_matches_dense_formula(data, n_groups):
    rng = np.random.default_rng(n_groups)
    labels = rng.permutation(np.arange(30) % n_groups)
    coef = [n_groups - 1.0] + [1.0] * (n_groups - 1)
    expected = _dense_objective(data, labels, coef)
    assert minmse_objective(data, labels) == pytest.approx(expected, rel=1e-12)


def test_weight_vector(data):
    labels = np.arange(30) % 3
    expected = _dense_objective(data, labels, [0.5 + 2.0, 0.5, 2.0])
    value = minmse_objective(data, labels, weights=[0.5, 2.0])
    assert value == pytest.approx(expected, rel=1e-12)
    # Equal unit weights are the unweighted objective.
    assert minmse_objective(data, labels, weights=[1, 1]) == pytest.approx(
        minmse_objective(data, labels), rel=1e-14
    )


@pytest.mark.parametrize(
    "W", [[[2, 4], [6, 3]], [[1, 2]], [[3, 6], [9, 12], [0, 4]], [[4], [6]]]
)
def test_weight_matrix_matches_r_code(data, W):
    W = np.array(W)
    labels = np.arange(30) % (W.shape[1] + 1)
    value = minmse_objective(data, labels, weights=W)
    assert value == pytest.approx(_r_matrix_objective(data, labels, W), rel=1e-12)


def test_weight_matrix_coefficients(data):
    # Column GCDs 2 and 1 (nu = 3), row GCDs 2 and 3 (omega = 5): the control
    # is weighted 15, the treated arms 8 and 7.
    labels = np.arange(30) % 3
    W = [[2, 4], [6, 3]]
    expected = _dense_objective(data, labels, [15.0, 8.0, 7.0])
    assert minmse_objective(data, labels, weights=W) == pytest.approx(
        expected, rel=1e-12
    )


def test_pseudo_inverse_for_singular_arm():
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 2, size=12)
    b = np.r_[np.zeros(6), np.ones(6)]
    X = np.c_[x, b]
    labels = (b == 1).astype(int)
    # Arm 0's second column is zero: its pseudo-inverse only sees column 1.
    xbar = X.mean(axis=0)
    q0 = xbar[0] ** 2 / (x[:6] @ x[:6])
    X1 = X[6:]
    q1 = xbar @ np.linalg.inv(X1.T @ X1) @ xbar
    assert minmse_objective(X, labels) == pytest.approx(q0 + q1, rel=1e-12)


def test_empty_arm_contributes_nothing(data):
    # As in R, an arm without units has a zero pseudo-inverse.
    labels = np.r_[np.ones(15, dtype=int), np.full(15, 2)]
    value = minmse_objective(data, labels)
    xbar = data.mean(axis=0)
    parts = [
        xbar @ np.linalg.inv(data[labels == g].T @ data[labels == g]) @ xbar
        for g in (1, 2)
    ]
    assert value == pytest.approx(sum(parts), rel=1e-12)


def test_objective_scale_invariant_not_shift_invariant(data):
    labels = np.arange(30) % 2
    value = minmse_objective(data, labels)
    scaled = data * np.array([10.0, 0.1, 3.0])
    assert minmse_objective(scaled, labels) == pytest.approx(value, rel=1e-10)
    centred = data - data.mean(axis=0)
    assert minmse_objective(centred, labels) == pytest.approx(0.0, abs=1e-20)


def test_objective_accepts_dataframe_and_lists(data):
    labels = np.arange(30) % 2
    df = pd.DataFrame(data, columns=["a", "b", "c"])
    assert minmse_objective(df, pd.Series(labels)) == pytest.approx(
        minmse_objective(data.tolist(), labels.tolist()), rel=1e-14
    )


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0], "one entry"),
        ([1.0, -1.0], "non-negative"),
        ([0.0, 0.0], "non-negative"),
        ([[1.5, 2.0]], "integers"),
        ([1.0, np.nan], "finite"),
        (["a", "b"], "numeric"),
        (np.ones((2, 2, 2)), "one column"),
    ],
)
def test_invalid_weights(data, weights, match):
    with pytest.raises(ValueError, match=match):
        minmse_objective(data, np.arange(30) % 3, weights=weights)


def test_invalid_labels(data):
    with pytest.raises(ValueError, match="single group"):
        minmse_objective(data, np.zeros(30, dtype=int))
    with pytest.raises(ValueError, match="30 units"):
        minmse_objective(data, np.arange(10) % 2)


def _r_scale_vars(X):
    """Transcription of the R package's scale_vars (sd of the observed values)."""
    X = np.array(X, dtype=float)
    out = X.copy()
    for j in range(X.shape[1]):
        col = X[:, j]
        observed = col[~np.isnan(col)]
        sd = observed.std(ddof=1) if observed.size > 1 else np.nan
        filled = np.where(np.isnan(col), observed.mean(), col)
        out[:, j] = filled / sd if sd > 0 else 0.0
    return out


def test_minmse_scale_matches_r():
    rng = np.random.default_rng(5)
    X = rng.normal(50, 10, size=(15, 4))
    X[[1, 7], 0] = np.nan
    X[3, 2] = np.nan
    X[:, 3] = 7.0
    original = X.copy()
    scaled = minmse_scale(X)
    np.testing.assert_allclose(scaled, _r_scale_vars(X), rtol=1e-14)
    np.testing.assert_array_equal(X, original)
    assert np.all(scaled[:, 3] == 0.0)
    # Uncentred: the means stay positive; spread is one for complete columns.
    assert np.all(scaled[:, :3].mean(axis=0) > 1.0)
    assert scaled[:, 1].std(ddof=1) == pytest.approx(1.0)


def test_minmse_scale_dataframe_round_trip():
    df = pd.DataFrame(
        {"age": [30.0, np.nan, 50.0, 40.0], "weight": [60.0, 80.0, 70.0, 90.0]},
        index=["a", "b", "c", "d"],
    )
    out = minmse_scale(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["age", "weight"]
    assert list(out.index) == ["a", "b", "c", "d"]
    assert out.loc["b", "age"] == pytest.approx(40.0 / 10.0)
    assert np.isnan(df.loc["b", "age"])


def test_minmse_scale_single_observation_and_empty_column():
    X = np.array([[1.0, np.nan], [2.0, 5.0], [3.0, np.nan]])
    out = minmse_scale(X)
    assert np.all(out[:, 1] == 0.0)
    with pytest.raises(ValueError, match="no observed value"):
        minmse_scale(np.array([[1.0, np.nan], [2.0, np.nan]]))
    with pytest.raises(ValueError):
        minmse_scale([["a", "b"], ["c", "d"]])


def test_minmse_scale_in_pipeline_reproduces_r_numbers(data):
    X = pd.DataFrame(data * [5.0, 1.0, 2.0], columns=["a", "b", "c"])
    X.iloc[3, 0] = np.nan
    labels = np.arange(30) % 2
    pre = make_pipeline(
        FunctionTransformer(minmse_scale, feature_names_out="one-to-one")
    ).set_output(transform="pandas")
    Xt = pre.fit_transform(X)
    assert list(Xt.columns) == ["a", "b", "c"]
    expected = minmse_objective(_r_scale_vars(X.to_numpy()), labels)
    assert minmse_objective(Xt, labels) == pytest.approx(expected, rel=1e-12)
