"""Regression tests of the robustness items of issue 16 (hostile input).

Each test names the item it guards; each failed on the code before its fix.
"""

import numpy as np
import pytest

from skassign.designs import (
    CompleteRandomization,
    Rerandomization,
)
from skassign.inference import RandomizationTest
from skassign.metrics import mahalanobis_imbalance, standardized_mean_difference

# --------------------------------------------------------------------------
# Item 4: Rerandomization is invariant to each covariate's scale.


def test_rerandomization_one_huge_covariate_does_not_hide_the_others():
    X = np.random.RandomState(0).normal(size=(40, 4))
    scaled = X.copy()
    scaled[:, 0] *= 1e8
    plain = Rerandomization(random_state=0).fit(X)
    big = Rerandomization(random_state=0).fit(scaled)
    assert big.threshold_ == pytest.approx(plain.threshold_)
    np.testing.assert_array_equal(big.labels_, plain.labels_)
    assert big.objective_ == pytest.approx(plain.objective_, rel=1e-9)
    worst = np.abs(standardized_mean_difference(X, big.labels_)).max()
    assert worst == pytest.approx(
        np.abs(standardized_mean_difference(X, plain.labels_)).max()
    )


@pytest.mark.parametrize("factor", [1e-6, 1e-3, 1e3, 1e9, 1e200])
def test_mahalanobis_total_is_invariant_to_column_scale(factor):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(30, 3))
    labels = np.arange(30) % 2
    scaled = X * np.array([factor, 1.0, 1.0 / factor if factor < 1e100 else 1.0])
    expected = mahalanobis_imbalance(X, labels, covariance="total")
    got = mahalanobis_imbalance(scaled, labels, covariance="total")
    assert got == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------
# Item 5: RandomizationTest and fixed_labels / tiny n_resamples.


def _fixed_case():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(16, 2))
    fixed = np.full(16, -1)
    fixed[:4] = [0, 0, 1, 1]
    design = CompleteRandomization(random_state=0)
    labels = design.fit(X, fixed_labels=fixed).labels_
    y = X.sum(axis=1) + labels
    return X, y, labels, fixed, design


def test_randomization_test_refuses_contradicting_fixed_labels():
    X, y, labels, fixed, design = _fixed_case()
    wrong = fixed.copy()
    wrong[0] = 1 - labels[0]
    test = RandomizationTest(design, n_resamples=50, random_state=0)
    with pytest.raises(ValueError, match=r"fixed_labels fixes unit 0 in group"):
        test.fit(X, y, labels, fixed_labels=wrong)
    # The agreeing fixed_labels are accepted.
    test.fit(X, y, labels, fixed_labels=fixed)
    assert 0 < test.pvalue_ <= 1


def test_randomization_test_with_one_resample_is_not_called_deterministic():
    X, y, labels, _, design = _fixed_case()
    test = RandomizationTest(
        design, n_resamples=1, confidence_level=None, random_state=0
    )
    with pytest.warns(UserWarning, match="Increase n_resamples"):
        test.fit(X, y, labels)
    assert test.n_resamples_ == 1


# --------------------------------------------------------------------------
# Rough edge: Rerandomization when no draw can change the imbalance.


def test_rerandomization_too_many_covariates_gives_honest_advice():
    X = np.random.RandomState(0).normal(size=(10, 9))
    design = Rerandomization(random_state=0, max_draws=1000)
    with pytest.warns(UserWarning, match="n_features >= n_samples - 1") as record:
        design.fit(X)
    assert not any("max_draws" in str(r.message) for r in record)
    assert design.n_draws_ == 1
    assert np.bincount(design.labels_).tolist() == [5, 5]


def test_rerandomization_every_free_unit_in_one_group_gives_honest_advice():
    X = np.random.RandomState(0).normal(size=(10, 2))
    fixed = [0, 0, 0, 0, 0, -1, -1, -1, -1, -1]
    design = Rerandomization(random_state=0, max_draws=1000)
    with pytest.warns(UserWarning, match="single way to complete") as record:
        design.fit(X, fixed_labels=fixed)
    assert not any("max_draws" in str(r.message) for r in record)
    assert design.labels_.tolist() == [0] * 5 + [1] * 5


# --------------------------------------------------------------------------
# Item 8: inf in fixed_labels is not "to assign".


def test_infinite_fixed_label_is_refused():
    X = np.arange(8.0).reshape(-1, 1)
    with pytest.raises(ValueError, match="infinite value at position 0"):
        CompleteRandomization(random_state=0).fit(
            X, fixed_labels=[np.inf, 0, 1, -1, -1, -1, -1, -1]
        )
