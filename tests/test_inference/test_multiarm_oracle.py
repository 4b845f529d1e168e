"""Independent oracles for the multi-arm (three-arm) resampling tests.

Two kinds of oracle, neither of which imports the package's statistics,
p-values, interval search or seeding:

* **Same draws, plain arithmetic.** The tests run on a design of this file
  that records every assignment it returns (and the covariate rows it was
  fit on, from which the bootstrap's resampled units are read back). From
  these draws the oracle recomputes, with loops and masks, every
  arm's statistic and p-value, the global p-value (the randomisation
  distribution of the largest statistic over the arms) and every arm's
  interval, as the documented definitions say: the interval of arm ``j`` is
  the set of ``tau`` with ``p_j(tau) > 1 - confidence_level``, where
  ``p_j(tau)`` is the test applied to the outcomes with arm ``j``'s units
  shifted by ``tau`` and every other treated arm's units by its estimated
  effect. The package's ends must be the edges of that set: ``p`` above the
  level just inside, at most the level just outside.
* **Brute force.** Complete randomisation of 12 units into 3 arms of 4 has
  34650 equally likely assignments: the exact p-values (each arm and global)
  are computed over all of them, and the Monte Carlo p-values of the package
  must lie within 4.5 standard errors.

``confidence_level=0.75`` with ``B = 99`` makes ``p = 25 / 100 = 0.25`` equal
the level exactly in floating point, so that the rule "reject when
``p <= alpha``" is distinguished from "``p < alpha``".
"""

from itertools import combinations

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from skassign.inference import BootstrapTest, RandomizationTest

N_GROUPS = 3
ARM_SIZE = 4
N = N_GROUPS * ARM_SIZE
TREATED = (1, 2)


class RecordedRandomization(BaseEstimator):
    """Complete randomisation into equal arms that records every draw.

    Runs in-process (``n_jobs=None``), so the class-level log holds the
    covariates and labels of every fit, in the order of the resamples.
    """

    log: list = []

    def __init__(self, n_groups=N_GROUPS, random_state=None):
        self.n_groups = n_groups
        self.random_state = random_state

    def fit_predict(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        rng = np.random.default_rng(self.random_state)
        labels = rng.permutation(np.arange(X.shape[0]) % self.n_groups)
        type(self).log.append((X.copy(), labels.copy()))
        return labels


# ------------------------------------------------------------ plain oracle


def _lin_effect(y, labels, X, arm):
    """Lin's estimate: OLS of y on arm dummies, centred X and interactions."""
    Xc = X - X.mean(axis=0)
    dummies = np.column_stack([labels == g for g in TREATED]).astype(float)
    columns = [np.ones(len(y)), dummies, Xc]
    columns += [dummies[:, [k]] * Xc for k in range(dummies.shape[1])]
    design = np.column_stack(columns)
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    return beta[1 + TREATED.index(arm)]


def _plain_statistic(statistic, y, labels, X, arm):
    treated, control = y[labels == arm], y[labels == 0]
    if statistic == "mean_difference":
        return treated.mean() - control.mean()
    if statistic == "t":
        se = np.sqrt(
            treated.var(ddof=1) / treated.size + control.var(ddof=1) / control.size
        )
        return (treated.mean() - control.mean()) / se
    return _lin_effect(y, labels, X, arm)


def _plain_effect(statistic, y, labels, X, arm):
    if statistic == "regression_adjusted":
        return _lin_effect(y, labels, X, arm)
    return y[labels == arm].mean() - y[labels == 0].mean()


def _count_pvalue(observed, null):
    """(1 + #{null >= observed}) / (1 + B), ties up to rounding counted."""
    null = np.asarray(null)
    return (1 + np.sum(null >= observed - 1e-9 * abs(observed))) / (1 + len(null))


class PlainTest:
    """The test of one observed experiment, recomputed from recorded draws.

    ``draws`` is a list of ``(rows, labels)``: the units of every resample
    (all units in order for a randomisation test) and their assignment.
    """

    def __init__(self, statistic, X, y, labels, draws):
        self.statistic, self.X, self.y, self.labels = statistic, X, y, labels
        self.draws = draws
        self.effects = {
            arm: _plain_effect(statistic, y, labels, X, arm) for arm in TREATED
        }

    def statistics(self, y):
        observed = np.array(
            [
                _plain_statistic(self.statistic, y, self.labels, self.X, a)
                for a in TREATED
            ]
        )
        null = np.array(
            [
                [
                    _plain_statistic(self.statistic, y[rows], lab, self.X[rows], a)
                    for a in TREATED
                ]
                for rows, lab in self.draws
            ]
        )
        return observed, null

    def pvalues(self):
        observed, null = self.statistics(self.y)
        arms = [_count_pvalue(abs(observed[k]), np.abs(null[:, k])) for k in range(2)]
        global_p = _count_pvalue(np.abs(observed).max(), np.abs(null).max(axis=1))
        return observed, null, np.array(arms), global_p

    def arm_pvalue(self, arm, tau):
        """p of ``arm`` at effect ``tau``, the other arm held at its estimate."""
        shift = np.zeros(self.y.shape[0])
        for other in TREATED:
            shift[self.labels == other] = tau if other == arm else self.effects[other]
        observed, null = self.statistics(self.y - shift)
        k = TREATED.index(arm)
        return _count_pvalue(abs(observed[k]), np.abs(null[:, k]))


def _check_interval_edges(plain, interval, alpha):
    """The package's ends are the edges of {tau : p(tau) > alpha}."""
    for k, arm in enumerate(TREATED):
        low, high = interval[k]
        width = high - low
        assert np.isfinite(width) and width > 0
        step = 1e-5 * width
        assert low < plain.effects[arm] < high
        assert plain.arm_pvalue(arm, high - step) > alpha, ("high", arm)
        assert plain.arm_pvalue(arm, high + step) <= alpha, ("high", arm)
        assert plain.arm_pvalue(arm, low + step) > alpha, ("low", arm)
        assert plain.arm_pvalue(arm, low - step) <= alpha, ("low", arm)


# ---------------------------------------------------------------- fixtures


def _experiment(seed, effects=(0.0, 0.8, 5.0)):
    """12 units, one covariate, three arms; arm 2 has a large effect."""
    rng = np.random.default_rng(seed)
    X = np.sort(rng.normal(size=(N, 1)), axis=0) + np.arange(N)[:, None] * 1e-3
    design = RecordedRandomization(random_state=seed)
    labels = design.fit_predict(X)
    y = 0.8 * X[:, 0] + np.asarray(effects)[labels] + rng.normal(size=N)
    RecordedRandomization.log.clear()
    return X, y, labels, design


def _rows_of(X, X_draw):
    """Row indices of ``X`` whose (unique) first covariate gives ``X_draw``."""
    index = {value: i for i, value in enumerate(X[:, 0])}
    return np.array([index[value] for value in X_draw[:, 0]])


def _fit_recorded(test, X, y, labels):
    RecordedRandomization.log.clear()
    test.fit(X, y, labels)
    draws = [(_rows_of(X, Xb), lab) for Xb, lab in RecordedRandomization.log]
    RecordedRandomization.log.clear()
    assert len(draws) == test.n_resamples_
    return draws


# ------------------------------------------------- same draws, plain oracle


@pytest.mark.parametrize("confidence_level", [0.95, 0.75])
@pytest.mark.parametrize("statistic", ["mean_difference", "t", "regression_adjusted"])
def test_randomization_three_arms_match_plain_oracle(statistic, confidence_level):
    X, y, labels, design = _experiment(0)
    test = RandomizationTest(
        design,
        n_resamples=99,
        statistic=statistic,
        confidence_level=confidence_level,
        random_state=1,
    )
    draws = _fit_recorded(test, X, y, labels)
    for rows, _ in draws:
        np.testing.assert_array_equal(rows, np.arange(N))
    plain = PlainTest(statistic, X, y, labels, draws)
    observed, null, arm_p, global_p = plain.pvalues()
    np.testing.assert_allclose(test.statistic_, observed, rtol=1e-9)
    np.testing.assert_allclose(test.null_distribution_, null, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(test.pvalue_, arm_p, rtol=1e-12)
    assert test.global_pvalue_ == pytest.approx(global_p, rel=1e-12)
    assert test.global_statistic_ == pytest.approx(np.abs(observed).max())
    np.testing.assert_allclose(
        test.effect_, [plain.effects[a] for a in TREATED], rtol=1e-9
    )
    _check_interval_edges(plain, test.confidence_interval_, 1 - confidence_level)


@pytest.mark.parametrize("confidence_level", [0.95, 0.75])
@pytest.mark.parametrize("statistic", ["mean_difference", "t"])
def test_bootstrap_three_arms_match_plain_oracle(statistic, confidence_level):
    X, y, labels, design = _experiment(2)
    test = BootstrapTest(
        design,
        n_resamples=99,
        statistic=statistic,
        confidence_level=confidence_level,
        random_state=3,
    )
    draws = _fit_recorded(test, X, y, labels)
    # The resamples draw units with replacement.
    assert np.mean([len(np.unique(rows)) for rows, _ in draws]) < 0.8 * N
    plain = PlainTest(statistic, X, y, labels, draws)
    observed, null, arm_p, global_p = plain.pvalues()
    np.testing.assert_allclose(test.statistic_, observed, rtol=1e-9)
    np.testing.assert_allclose(test.null_distribution_, null, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(test.pvalue_, arm_p, rtol=1e-12)
    assert test.global_pvalue_ == pytest.approx(global_p, rel=1e-12)
    _check_interval_edges(plain, test.confidence_interval_, 1 - confidence_level)


def test_global_pvalue_is_the_max_not_any_other_summary():
    # An experiment in which the global p-value of the max statistic differs
    # from that of the mean of the arms' statistics (and from the smallest
    # arm p-value): the oracle pins the max.
    X, y, labels, design = _experiment(4, effects=(0.0, 0.0, 1.5))
    test = RandomizationTest(design, n_resamples=199, random_state=5)
    draws = _fit_recorded(test, X, y, labels)
    plain = PlainTest("mean_difference", X, y, labels, draws)
    observed, null, _, global_p = plain.pvalues()
    mean_p = _count_pvalue(np.abs(observed).max(), np.abs(null).mean(axis=1))
    assert abs(global_p - mean_p) > 0.02
    assert test.global_pvalue_ == pytest.approx(global_p, rel=1e-12)


# -------------------------------------------------------------- brute force


def _all_three_arm_splits(n, size):
    units = set(range(n))
    for first in combinations(range(n), size):
        rest = sorted(units - set(first))
        for second in combinations(rest, size):
            labels = np.zeros(n, dtype=np.int64)
            labels[list(second)] = 1
            labels[sorted(set(rest) - set(second))] = 2
            labels[list(first)] = 0
            yield labels


def test_randomization_three_arms_against_all_assignments():
    """Monte Carlo p-values within 4.5 SE of the exact ones over 34650 splits."""
    X, y, labels, design = _experiment(6, effects=(0.0, 0.9, 1.3))
    splits = np.array(list(_all_three_arm_splits(N, ARM_SIZE)))
    assert splits.shape[0] == 34650

    def diffs(assignments):
        means = np.stack(
            [
                np.where(assignments == g, y, 0.0).sum(axis=1) / ARM_SIZE
                for g in range(3)
            ],
            axis=1,
        )
        return means[:, 1:] - means[:, [0]]

    exact_null = np.abs(diffs(splits))
    observed = np.abs(diffs(labels[None]))[0]
    exact_arm = (exact_null >= observed - 1e-9).mean(axis=0)
    exact_global = (exact_null.max(axis=1) >= observed.max() - 1e-9).mean()
    # Summaries other than the max would give other global p-values.
    assert (
        abs((exact_null.mean(axis=1) >= observed.max() - 1e-9).mean() - exact_global)
        > 0.05
    )

    n_resamples = 1999
    test = RandomizationTest(
        design, n_resamples=n_resamples, random_state=7, confidence_level=None
    )
    _fit_recorded(test, X, y, labels)
    for got, exact in [
        *zip(test.pvalue_, exact_arm, strict=True),
        (test.global_pvalue_, exact_global),
    ]:
        expected = (1 + n_resamples * exact) / (1 + n_resamples)
        se = np.sqrt(exact * (1 - exact) / n_resamples)
        assert abs(got - expected) <= 4.5 * se + 1e-9, (got, exact)
