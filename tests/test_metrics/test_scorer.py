"""Scorers for grid searches over designs, and assignment diversity."""

from itertools import combinations

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skassign.designs import CompleteRandomization, Rerandomization
from skassign.metrics import (
    assignment_diversity,
    ks_statistic,
    mahalanobis_imbalance,
    make_balance_scorer,
    make_randomness_scorer,
    neg_mahalanobis_scorer,
    neg_max_abs_smd_scorer,
    neg_max_ks_scorer,
    neg_max_log_variance_ratio_scorer,
    standardized_mean_difference,
    variance_ratio,
)


@pytest.fixture
def fitted(X_small):
    return CompleteRandomization(n_groups=3, random_state=0).fit(X_small)


def test_balance_scorers_are_minus_the_metrics(fitted, X_small):
    labels = fitted.labels_
    smd = np.abs(standardized_mean_difference(X_small, labels))
    log_vr = np.abs(np.log(variance_ratio(X_small, labels)))
    ks = ks_statistic(X_small, labels)
    assert neg_max_abs_smd_scorer(fitted, X_small) == pytest.approx(-smd.max())
    assert neg_max_log_variance_ratio_scorer(fitted, X_small) == pytest.approx(
        -log_vr.max()
    )
    assert neg_max_ks_scorer(fitted, X_small) == pytest.approx(-ks.max())
    assert neg_mahalanobis_scorer(fitted, X_small) == pytest.approx(
        -mahalanobis_imbalance(X_small, labels)
    )
    mean_smd = make_balance_scorer("smd", aggregate="mean")
    assert mean_smd(fitted, X_small) == pytest.approx(-smd.mean())
    assert mean_smd(fitted, X_small, None) == mean_smd(fitted, X_small)


def test_balance_scorer_sees_the_pipeline_preprocessing(X_small):
    squares = FunctionTransformer(np.square)
    pipe = make_pipeline(squares, CompleteRandomization(random_state=0)).fit(X_small)
    labels = pipe[-1].labels_
    expected = -np.abs(standardized_mean_difference(X_small**2, labels)).max()
    assert neg_max_abs_smd_scorer(pipe, X_small) == pytest.approx(expected)
    assert neg_max_abs_smd_scorer(pipe, X_small) != pytest.approx(
        -np.abs(standardized_mean_difference(X_small, labels)).max()
    )


def test_balance_scorer_refuses_other_units(fitted, X_small):
    with pytest.raises(ValueError, match=r"cv=FullSample\(\)"):
        neg_max_abs_smd_scorer(fitted, X_small[:10])
    # As many units, but other ones (the other half of a KFold split).
    half = CompleteRandomization(random_state=0).fit(X_small[:10])
    with pytest.raises(ValueError, match="DesignSearchCV, or cv=FullSample"):
        neg_max_abs_smd_scorer(half, X_small[10:20])
    with pytest.raises(ValueError, match="fit a design .* first"):
        neg_max_abs_smd_scorer(CompleteRandomization(), X_small)


def test_scorer_repr():
    assert repr(make_balance_scorer("ks", aggregate="mean")) == (
        "make_balance_scorer(metric='ks', aggregate='mean')"
    )
    assert repr(make_randomness_scorer(4, random_state=1)) == (
        "make_randomness_scorer(n_draws=4, n_jobs=None, random_state=1)"
    )


def _diversity_brute_force(A):
    A = np.asarray(A)
    n = A.shape[1]
    total, count = 0.0, 0
    for r, s in combinations(range(len(A)), 2):
        disagree = sum(
            (A[r, i] == A[r, j]) != (A[s, i] == A[s, j])
            for i, j in combinations(range(n), 2)
        )
        total += disagree / (n * (n - 1) / 2)
        count += 1
    return total / count


def test_assignment_diversity_matches_its_definition():
    rng = np.random.default_rng(0)
    A = rng.integers(0, 3, size=(5, 9))
    assert assignment_diversity(A) == pytest.approx(_diversity_brute_force(A))
    # Renaming the arms of any assignment changes nothing.
    B = A.copy()
    B[2] = np.array([2, 0, 1])[A[2]]
    assert assignment_diversity(B) == pytest.approx(assignment_diversity(A))
    assert assignment_diversity([[0, 1, 0, 1]] * 3) == 0.0
    assert 0.0 <= assignment_diversity(A) <= 1.0


def test_assignment_diversity_rejects_too_little_input():
    msg = "at least two assignments of at least two units"
    with pytest.raises(ValueError, match=msg):
        assignment_diversity([[0, 1, 1, 0]])
    with pytest.raises(ValueError, match=msg):
        assignment_diversity([0, 1, 1, 0])


def test_randomness_scorer(X_small):
    scorer = make_randomness_scorer(5, random_state=0)
    random_design = CompleteRandomization().fit(X_small)
    value = scorer(random_design, X_small)
    assert 0.3 < value <= 1.0
    assert value == scorer(random_design, X_small)  # reproducible
    # Two units in two groups: every draw is the same split.
    X_two = X_small[:2]
    with pytest.warns(UserWarning, match="deterministic up to the names"):
        assert scorer(CompleteRandomization().fit(X_two), X_two) == 0.0
    # A tighter rerandomisation leaves less randomness than a loose one.
    X12 = X_small[:12]
    tight = make_pipeline(StandardScaler(), Rerandomization(acceptance_prob=0.02))
    loose = make_pipeline(StandardScaler(), Rerandomization(acceptance_prob=1.0))
    scorer = make_randomness_scorer(12, random_state=0)
    assert scorer(tight.fit(X12), X12) < scorer(loose.fit(X12), X12)


def test_balance_scorer_sees_nested_pipeline_preprocessing(X_small):
    inner = make_pipeline(FunctionTransformer(np.square), CompleteRandomization())
    outer = make_pipeline(FunctionTransformer(lambda X: X + 1.0), inner)
    outer.set_params(pipeline__completerandomization__random_state=0).fit(X_small)
    labels = outer[-1][-1].labels_
    expected = -np.abs(standardized_mean_difference((X_small + 1) ** 2, labels)).max()
    assert neg_max_abs_smd_scorer(outer, X_small) == pytest.approx(expected)


def test_randomness_scorer_refits_with_the_fit_parameters():
    # Issue 17: with 18 of 20 units fixed the scorer reported the same value
    # as with none fixed; it must refit with the same fixed units and strata.
    X = np.arange(20.0).reshape(-1, 1)
    scorer = make_randomness_scorer(8, random_state=0)
    free = scorer(CompleteRandomization().fit(X), X)
    fixed = np.r_[np.repeat([0, 1], 9), -1, -1]
    mostly_fixed = scorer(CompleteRandomization().fit(X, fixed_labels=fixed), X)
    assert mostly_fixed < free / 2
    # Strata and fixed units reach the design step of a Pipeline, in parallel
    # with the same result.
    strata = np.repeat(["a", "b"], 10)
    pipe = make_pipeline(StandardScaler(), CompleteRandomization())
    pipe.fit(X, completerandomization__strata=strata)
    one = make_randomness_scorer(8, random_state=0)(pipe, X)
    two = make_randomness_scorer(8, n_jobs=2, random_state=0)(pipe, X)
    assert one == two
    design = pipe[-1]
    assert design._fit_params["strata"].tolist() == [0] * 10 + [1] * 10
    pipe.fit(X, completerandomization__fixed_labels=fixed)
    assert make_randomness_scorer(8, random_state=0)(pipe, X) < free / 2
