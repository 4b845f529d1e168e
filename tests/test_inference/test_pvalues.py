"""P-values and the interval search of the resampling tests."""

import numpy as np
import pytest

from skassign.inference._pvalues import _boundary, compute_pvalues

# ----------------------------------------------------------------- p-values


def test_pvalue_formula_on_hand_made_null():
    null = np.array([1.0, 2.0, -3.0, 0.5, -2.0, 4.0])
    # |T_b| >= 2: 2, -3, -2, 4 -> (1 + 4) / 7
    assert compute_pvalues(2.0, null) == pytest.approx(5 / 7)
    # T_b >= 2: 2, 4 -> 3 / 7 ; T_b <= 2: all but 4 -> 6 / 7
    assert compute_pvalues(2.0, null, "greater") == pytest.approx(3 / 7)
    assert compute_pvalues(2.0, null, "less") == pytest.approx(6 / 7)
    # Negative observed: two-sided uses |.|, one-sided forms swap.
    assert compute_pvalues(-2.0, null) == pytest.approx(5 / 7)
    assert compute_pvalues(-2.0, null, "less") == pytest.approx(3 / 7)
    assert compute_pvalues(-2.0, null, "greater") == pytest.approx(6 / 7)


def test_pvalue_seed_example_and_bounds():
    # The seed's output: no bootstrap delta as extreme as -260 among 1000,
    # except one -> (1 + 1) / 1001 = 0.001998.
    null = np.r_[np.linspace(-250, 250, 999), 300.0]
    assert compute_pvalues(-260.183, null) == pytest.approx(0.001998, abs=1e-6)
    assert compute_pvalues(1e9, null) == pytest.approx(1 / 1001)
    assert compute_pvalues(0.0, null) == 1.0


def test_pvalue_ties_up_to_rounding_count():
    observed = 0.1 + 0.2
    null = np.array([0.3, 0.30000000000000004, 0.29999999999999993, 0.2])
    assert compute_pvalues(observed, null, "greater") == pytest.approx(4 / 5)
    assert compute_pvalues(observed, null, "less") == pytest.approx(5 / 5)


def test_pvalue_columns_and_range():
    rng = np.random.default_rng(0)
    null = rng.normal(size=(50, 3))
    obs = np.array([0.0, 1.0, 5.0])
    p = compute_pvalues(obs, null)
    assert p.shape == (3,)
    assert np.all((p > 0) & (p <= 1))
    assert p[0] == 1.0 and p[2] == pytest.approx(1 / 51)
    with pytest.raises(ValueError, match="alternative"):
        compute_pvalues(obs, null, "two_sided")


def test_one_sided_pvalues_add_up_to_one_plus_ties():
    rng = np.random.default_rng(1)
    null = rng.normal(size=200)
    for obs in (-1.0, 0.3, 2.5):
        greater = compute_pvalues(obs, null, "greater")
        less = compute_pvalues(obs, null, "less")
        # Without ties: (1 + a) + (1 + b) = 2 + B.
        assert greater + less == pytest.approx(202 / 201)


# ------------------------------------------------------------------ interval


def test_boundary_finds_threshold():
    def rejected(tau):
        return tau > 3.25 or tau < -1.5

    assert _boundary(rejected, 0.0, 1.0) == pytest.approx(3.25, abs=1e-6)
    assert _boundary(rejected, 0.0, -1.0) == pytest.approx(-1.5, abs=1e-6)
    assert _boundary(lambda tau: False, 0.0, 1.0) == np.inf
