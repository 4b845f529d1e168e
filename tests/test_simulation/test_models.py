import numpy as np
import pandas as pd
import pytest

from skassign.datasets import make_tumor_mice, simulate_tumor_growth
from skassign.simulation import (
    LinearOutcome,
    NormalCovariates,
    PoissonOutcome,
    TumorGrowthOutcome,
    TumorMiceCovariates,
)


def test_linear_outcome_exact_and_noise():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    labels = np.array([0, 1, 2])
    y = LinearOutcome(coef=[2.0, -1.0], noise_sd=0.0, intercept=1.0)(
        X, labels, 5.0, None
    )
    np.testing.assert_array_equal(y, [1.0, 8.0, 10.0])
    noisy = LinearOutcome(coef=0.0, noise_sd=2.0)(
        np.zeros((20000, 1)), np.zeros(20000), 0.0, 0
    )
    # SD of 20000 normal draws: standard error 2 / sqrt(2 * 20000) = 0.01.
    assert abs(noisy.std() - 2.0) < 0.03
    assert (
        repr(LinearOutcome()) == "LinearOutcome(coef=1.0, noise_sd=1.0, intercept=0.0)"
    )


def test_tumor_growth_equals_the_dataset_model():
    mice = make_tumor_mice()
    labels = np.tile([0, 1], 10)
    expected = simulate_tumor_growth(mice["initial_weight"], labels, effect=-250)
    got = TumorGrowthOutcome()(mice[["initial_weight"]], labels, -250.0, None)
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    array = TumorGrowthOutcome(column=1)(
        np.column_stack([np.ones(20), mice["initial_weight"]]), labels, -250.0, None
    )
    np.testing.assert_allclose(array, expected, rtol=1e-14)
    with pytest.raises(ValueError, match="not among"):
        TumorGrowthOutcome(column="w")(mice, labels, 0.0, None)
    with pytest.raises(ValueError, match="position"):
        TumorGrowthOutcome()(np.ones((20, 2)), labels, 0.0, None)
    with pytest.raises(ValueError, match="positive"):
        TumorGrowthOutcome()(np.zeros((20, 1)), labels, 0.0, None)


def test_poisson_outcome_means_and_errors():
    n = 40000
    X = np.zeros((n, 1))
    labels = np.repeat([0, 1], n // 2)
    y = PoissonOutcome(coef=0.0, intercept=np.log(3.0))(X, labels, 2.0, 0)
    assert np.all(y == np.round(y)) and y.min() >= 0
    # Means 3 and 5; standard errors sqrt(3 / 20000), sqrt(5 / 20000) ~ 0.016.
    assert abs(y[labels == 0].mean() - 3.0) < 0.05
    assert abs(y[labels == 1].mean() - 5.0) < 0.05
    with pytest.raises(ValueError, match="negative"):
        PoissonOutcome(intercept=0.0)(np.zeros((2, 1)), [0, 1], -5.0, 0)


def test_normal_covariates_correlation_and_skew():
    X = NormalCovariates(n_samples=20000, n_features=3, correlation=0.5)(0)
    assert list(X.columns) == ["x0", "x1", "x2"]
    corr = np.corrcoef(X.to_numpy(), rowvar=False)[np.triu_indices(3, 1)]
    # Standard error of a correlation of 0.5 from 20000 pairs: 0.75 / 141 ~ 0.005.
    np.testing.assert_allclose(corr, 0.5, atol=0.016)
    skewed = NormalCovariates(n_samples=20000, n_features=1, skew=True)(1)["x0"]
    assert skewed.skew() > 2  # log-normal(0, 1) has skewness 6.2
    assert abs(skewed.mean()) < 0.1
    with pytest.raises(ValueError, match="not a valid correlation"):
        NormalCovariates(n_features=3, correlation=-0.9)(0)


def test_tumor_mice_covariates_are_fresh_draws_of_the_dataset():
    gen = TumorMiceCovariates(n_mice=12)
    a, b = gen(np.random.default_rng(0)), gen(np.random.default_rng(1))
    assert a.shape == (12, 1) and not a.equals(b)
    seed = int(np.random.default_rng(0).integers(np.iinfo(np.int32).max))
    pd.testing.assert_frame_equal(
        a, make_tumor_mice(n_mice=12, random_state=seed)[["initial_weight"]]
    )
