"""Rerandomization (Morgan & Rubin, 2012)."""

from itertools import combinations

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning

from skassign.designs import Rerandomization
from skassign.metrics import mahalanobis_imbalance


def _pairwise_total(X, labels):
    """Morgan-Rubin M of every pair of arms, computed from the formula."""
    S_inv = np.linalg.pinv(np.cov(X, rowvar=False, ddof=1).reshape(X.shape[1], -1))
    values = {}
    for g, h in combinations(np.unique(labels), 2):
        n_g, n_h = np.sum(labels == g), np.sum(labels == h)
        d = X[labels == g].mean(axis=0) - X[labels == h].mean(axis=0)
        values[g, h] = float(d @ S_inv @ d / (1 / n_g + 1 / n_h))
    return values


def test_acceptance_prob_sets_the_chi_square_threshold(X_small):
    for prob in (0.01, 0.1, 0.5):
        design = Rerandomization(acceptance_prob=prob, random_state=0).fit(X_small)
        assert design.threshold_ == pytest.approx(stats.chi2.ppf(prob, df=3))
        assert design.objective_ <= design.threshold_
        assert design.objective_ == pytest.approx(
            mahalanobis_imbalance(X_small, design.labels_, covariance="total")
        )
        assert design.n_draws_ >= 1
    default = Rerandomization(random_state=0).fit(X_small)
    assert default.threshold_ == pytest.approx(stats.chi2.ppf(0.1, df=3))


def test_threshold_given_directly(X_small):
    design = Rerandomization(threshold=0.5, random_state=0).fit(X_small)
    assert design.threshold_ == 0.5
    assert design.objective_ <= 0.5
    everything = Rerandomization(acceptance_prob=1.0, random_state=0).fit(X_small)
    assert everything.n_draws_ == 1


def test_threshold_and_acceptance_prob_together_are_refused(X_small):
    design = Rerandomization(threshold=1.0, acceptance_prob=0.1)
    with pytest.raises(ValueError, match="Give either threshold or acceptance_prob"):
        design.fit(X_small)
    # Refused at fit start, before the covariates are even read.
    with pytest.raises(ValueError, match="Give either threshold or acceptance_prob"):
        design.fit([["not a number"]])


def test_max_draws_exhausted_warns_and_returns_the_best_draw(X_small):
    design = Rerandomization(threshold=0.0, max_draws=300, random_state=0)
    msg = "No randomisation among max_draws=300 .* Increase max_draws"
    with pytest.warns(ConvergenceWarning, match=msg):
        design.fit(X_small)
    assert design.n_draws_ == 300
    # The returned assignment is the best of the draws: more draws never do worse.
    with pytest.warns(ConvergenceWarning):
        more = Rerandomization(threshold=0.0, max_draws=3000, random_state=0)
        more.fit(X_small)
    assert more.objective_ <= design.objective_
    assert design.objective_ < np.median(
        [
            mahalanobis_imbalance(
                X_small,
                Rerandomization(acceptance_prob=1.0, random_state=s).fit_predict(
                    X_small
                ),
                covariance="total",
            )
            for s in range(20)
        ]
    )


@pytest.mark.parametrize("n_groups", [3, 4])
def test_several_arms_use_the_largest_pairwise_imbalance(n_groups):
    X = np.random.default_rng(0).normal(size=(24, 2))
    design = Rerandomization(n_groups=n_groups, threshold=1.0, random_state=0).fit(X)
    pairwise = _pairwise_total(X, design.labels_)
    assert len(pairwise) == n_groups * (n_groups - 1) // 2
    assert max(pairwise.values()) <= 1.0
    assert design.objective_ == pytest.approx(max(pairwise.values()))


def test_acceptance_rate_matches_the_probability_for_normal_covariates():
    # n_draws_ is geometric with success probability about p_a when the
    # chi-square approximation holds (many units, normal covariates).
    X = np.random.default_rng(0).normal(size=(100, 2))
    design = Rerandomization(acceptance_prob=0.2)
    draws = [design.set_params(random_state=s).fit(X).n_draws_ for s in range(200)]
    assert 4.0 < np.mean(draws) < 6.0


def test_collinear_covariates_use_the_rank_as_degrees_of_freedom():
    X = np.random.default_rng(0).normal(size=(30, 2))
    X3 = np.column_stack([X, X[:, 0] + X[:, 1]])
    a = Rerandomization(acceptance_prob=0.1, random_state=0).fit(X)
    b = Rerandomization(acceptance_prob=0.1, random_state=0).fit(X3)
    assert b.threshold_ == pytest.approx(stats.chi2.ppf(0.1, df=2))
    assert np.array_equal(a.labels_, b.labels_)
    constant = Rerandomization(random_state=0).fit(np.ones((8, 2)))
    assert constant.threshold_ == 0.0 and constant.n_draws_ == 1


def test_fixed_units_and_sizes_are_kept_while_rerandomizing(X_small):
    fixed = np.full(20, -1)
    fixed[:3] = [2, 2, 0]
    design = Rerandomization(
        n_groups=3, group_sizes=[6, 6, 8], threshold=2.0, random_state=0
    ).fit(X_small, fixed_labels=fixed)
    assert design.labels_[:3].tolist() == [2, 2, 0]
    assert design.group_sizes_.tolist() == [6, 6, 8]
    assert design.objective_ <= 2.0
