from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.base import sample_assignments
from skassign.designs import BlockRandomization, CompleteRandomization, Rerandomization
from skassign.inference import RandomizationTest

from .conftest import SortedSplit


def _all_splits(n, n_treated):
    for treated in combinations(range(n), n_treated):
        labels = np.zeros(n, dtype=np.int64)
        labels[list(treated)] = 1
        yield labels


@pytest.fixture
def small_experiment():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 1))
    design = CompleteRandomization(random_state=3)
    labels = design.fit_predict(X)
    y = X[:, 0] + 1.2 * labels + rng.normal(scale=0.3, size=8)
    return X, y, labels, design


def test_matches_exhaustive_permutation_distribution(small_experiment):
    # Complete randomisation of 8 units into 4 + 4: all 70 splits are equally
    # likely, so the exact p-value and null distribution are known.
    X, y, labels, design = small_experiment
    exact = np.array([y[a == 1].mean() - y[a == 0].mean() for a in _all_splits(8, 4)])
    observed = y[labels == 1].mean() - y[labels == 0].mean()
    p_exact = np.mean(np.abs(exact) >= np.abs(observed) - 1e-12)

    n = 2000
    test = RandomizationTest(design, n_resamples=n, random_state=0).fit(X, y, labels)
    assert test.statistic_ == pytest.approx(observed)
    # Every re-drawn statistic is one of the 70 exact values ...
    null = test.null_distribution_
    assert np.all(np.min(np.abs(null[:, None] - exact[None, :]), axis=1) < 1e-12)
    # ... all 70 splits occur, with equal frequencies ...
    assert test.n_unique_ == 70
    codes = np.argmin(np.abs(null[:, None] - exact[None, :]), axis=1)
    counts = np.bincount(codes, minlength=70)
    assert stats.chisquare(counts).pvalue > 1e-4
    # ... and the Monte Carlo p-value is within 4.5 standard errors.
    expected = (1 + n * p_exact) / (1 + n)
    se = np.sqrt(p_exact * (1 - p_exact) / n)
    assert abs(test.pvalue_ - expected) <= 4.5 * se + 1e-9


def test_block_design_exhaustive_support():
    # Pairs as strata: 2**4 = 16 assignments of 8 units, each pair split.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 1))
    strata = np.repeat(np.arange(4), 2)
    design = BlockRandomization(random_state=0)
    labels = design.fit_predict(X, strata=strata)
    y = rng.normal(size=8) + labels
    test = RandomizationTest(
        design, n_resamples=160, random_state=0, confidence_level=None
    )
    with pytest.warns(UserWarning, match="Only 16 distinct.*More draws will not"):
        test.fit(X, y, labels, strata=strata)
    exact = []
    for flips in range(16):
        a = np.zeros(8, dtype=np.int64)
        for pair in range(4):
            a[2 * pair + ((flips >> pair) & 1)] = 1
        exact.append(y[a == 1].mean() - y[a == 0].mean())
    exact = np.array(exact)
    assert test.n_unique_ == 16
    assert np.all(np.min(np.abs(test.null_distribution_[:, None] - exact), 1) < 1e-12)


def test_pvalue_equals_formula_on_sample_assignments(small_experiment):
    # The test re-draws exactly what sample_assignments returns.
    X, y, labels, design = small_experiment
    test = RandomizationTest(design, n_resamples=300, random_state=7).fit(X, y, labels)
    draws = sample_assignments(design, X, 300, random_state=7)
    null = np.array([y[a == 1].mean() - y[a == 0].mean() for a in draws])
    np.testing.assert_allclose(test.null_distribution_, null, rtol=1e-12)
    expected = (1 + np.sum(np.abs(null) >= abs(test.statistic_) - 1e-12)) / 301
    assert test.pvalue_ == pytest.approx(expected)
    assert test.n_resamples_ == 300
    assert test.n_unique_ == len({a.tobytes() for a in draws})
    n_obs = int(np.all(draws == labels, axis=1).sum())
    assert test.min_pvalue_ == pytest.approx((1 + n_obs) / 301)


@pytest.mark.parametrize("backend", ["sequential", "loky", "threading", "dask"])
def test_identical_across_backends(backend, run_on_backend):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(16, 2))
    design = Rerandomization(acceptance_prob=0.2, random_state=0)
    labels = design.fit_predict(X)
    y = X.sum(axis=1) + 0.5 * labels + rng.normal(size=16)
    params = dict(n_resamples=60, random_state=11, statistic="t")
    reference = RandomizationTest(design, **params, n_jobs=1).fit(X, y, labels)
    test = run_on_backend(
        backend, lambda: RandomizationTest(design, **params).fit(X, y, labels)
    )
    np.testing.assert_array_equal(test.null_distribution_, reference.null_distribution_)
    assert test.pvalue_ == reference.pvalue_
    np.testing.assert_array_equal(
        test.confidence_interval_, reference.confidence_interval_
    )


def test_n_jobs_two_and_progress_equal_sequential(small_experiment, capsys):
    X, y, labels, design = small_experiment
    a = RandomizationTest(design, n_resamples=80, random_state=0).fit(X, y, labels)
    b = RandomizationTest(
        design, n_resamples=80, random_state=0, n_jobs=2, progress=True
    ).fit(X, y, labels)
    np.testing.assert_array_equal(a.null_distribution_, b.null_distribution_)
    assert "assignments" in capsys.readouterr().err


def test_pipeline_design_and_pandas_input():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"w": rng.lognormal(5, 0.5, 12), "age": rng.integers(5, 9, 12)})
    pipe = make_pipeline(StandardScaler(), Rerandomization(random_state=0))
    labels = pd.Series(pipe.fit_predict(X), index=X.index)
    y = pd.Series(X["w"] + 40 * labels + rng.normal(0, 5, 12))
    test = RandomizationTest(pipe, n_resamples=100, random_state=0).fit(X, y, labels)
    assert 0 < test.pvalue_ <= 1
    assert X.shape == (12, 2)  # input untouched


def test_fit_params_reach_every_draw():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 1))
    fixed = np.array([0, 1, -1, -1, -1, -1, -1, -1, -1, -1])
    design = CompleteRandomization(random_state=0)
    labels = design.fit_predict(X, fixed_labels=fixed)
    y = rng.normal(size=10)
    test = RandomizationTest(design, n_resamples=50, random_state=0)
    test.fit(X, y, labels, fixed_labels=fixed)
    draws = sample_assignments(
        design, X, 50, random_state=0, fit_params={"fixed_labels": fixed}
    )
    assert np.all(draws[:, 0] == 0) and np.all(draws[:, 1] == 1)
    null = np.array([y[a == 1].mean() - y[a == 0].mean() for a in draws])
    np.testing.assert_allclose(test.null_distribution_, null)


def test_confidence_interval_inverts_the_test():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(14, 1))
    design = CompleteRandomization(random_state=0)
    for seed in range(4):
        labels = clone(design).set_params(random_state=seed).fit_predict(X)
        y = X[:, 0] + 0.8 * labels + rng.normal(size=14)
        test = RandomizationTest(design, n_resamples=200, random_state=seed)
        test.fit(X, y, labels)
        low, high = test.confidence_interval_
        assert low < test.effect_ < high
        # 0 is inside the interval exactly when the test does not reject.
        assert (low < 0 < high) == (test.pvalue_ > 0.05)
        # Shifting the treated outcomes shifts the interval (same draws).
        shifted = RandomizationTest(design, n_resamples=200, random_state=seed)
        shifted.fit(X, y + 3.0 * labels, labels)
        np.testing.assert_allclose(
            shifted.confidence_interval_, [low + 3.0, high + 3.0], atol=1e-5
        )


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided(small_experiment, alternative):
    X, y, labels, design = small_experiment
    two = RandomizationTest(design, n_resamples=300, random_state=0).fit(X, y, labels)
    one = RandomizationTest(
        design, n_resamples=300, random_state=0, alternative=alternative
    ).fit(X, y, labels)
    null, obs = one.null_distribution_, one.statistic_
    if alternative == "greater":
        count = np.sum(null >= obs - 1e-12)
        assert one.confidence_interval_[1] == np.inf
        assert np.isfinite(one.confidence_interval_[0])
    else:
        count = np.sum(null <= obs + 1e-12)
        assert one.confidence_interval_[0] == -np.inf
    assert one.pvalue_ == pytest.approx((1 + count) / 301)
    np.testing.assert_array_equal(null, two.null_distribution_)


def test_control_choice_flips_sign(small_experiment):
    X, y, labels, design = small_experiment
    a = RandomizationTest(design, n_resamples=100, random_state=0).fit(X, y, labels)
    b = RandomizationTest(design, n_resamples=100, random_state=0, control=1)
    b.fit(X, y, labels)
    assert b.statistic_ == pytest.approx(-a.statistic_)
    assert b.pvalue_ == a.pvalue_
    assert b.summary().index[0] == "0 vs 1"


def test_deterministic_design_is_refused():
    X = np.random.default_rng(6).normal(size=(10, 1))
    design = SortedSplit(random_state=0)
    labels = design.fit_predict(X)
    y = X[:, 0] + labels
    with pytest.raises(ValueError, match="same split .* BootstrapTest"):
        RandomizationTest(design, n_resamples=50, random_state=0).fit(X, y, labels)


def test_few_distinct_assignments_warn():
    # Three strata of two units: only 8 possible assignments.
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 1))
    strata = [0, 0, 1, 1, 2, 2]
    design = BlockRandomization(random_state=0)
    labels = design.fit_predict(X, strata=strata)
    y = rng.normal(size=6) + labels
    test = RandomizationTest(
        design, n_resamples=100, random_state=0, confidence_level=None
    )
    with pytest.warns(UserWarning, match="Only 8 distinct assignments"):
        test.fit(X, y, labels, strata=strata)
    assert test.n_unique_ == 8
    assert test.min_pvalue_ > 0.05
    assert test.pvalue_ >= test.min_pvalue_
    with pytest.warns(UserWarning) as record:
        RandomizationTest(design, n_resamples=100, random_state=0).fit(
            X, y, labels, strata=strata
        )
    messages = " ".join(str(w.message) for w in record)
    assert "smallest attainable p-value is 0.1" in messages


def test_too_few_resamples_warn_and_unbounded_interval(small_experiment):
    X, y, labels, design = small_experiment
    test = RandomizationTest(design, n_resamples=10, random_state=0)
    with pytest.warns(UserWarning) as record:
        test.fit(X, y, labels)
    messages = " ".join(str(w.message) for w in record)
    assert "too few for the level 0.05. Increase n_resamples" in messages
    assert "unbounded" in messages
    assert np.all(np.isinf(test.confidence_interval_))


def test_observed_assignment_not_from_design_warns():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(6, 1))
    strata = [0, 0, 1, 1, 2, 2]
    design = BlockRandomization(random_state=0)
    labels = np.array([1, 1, 0, 0, 0, 1])  # splits no pair: impossible
    y = rng.normal(size=6)
    with pytest.warns(UserWarning, match="none equal to the observed"):
        RandomizationTest(
            design, n_resamples=100, random_state=0, confidence_level=0.5
        ).fit(X, y, labels, strata=strata)


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "modify, match",
    [
        (lambda X, y, a: (X, np.r_[y[:-1], np.nan], a), "y contains NaN"),
        (lambda X, y, a: (X, y[:-1], a), "y has 7 outcomes but X has 8"),
        (lambda X, y, a: (X, y, a[:-1]), "assignment has 7 entries"),
        (lambda X, y, a: (X, y, np.zeros_like(a)), "single group"),
        (lambda X, y, a: (X, y, np.where(a == 1, 2, 0)), "n_groups=2"),
        (lambda X, y, a: (X, y, np.r_[a[:-1], 0.5]), "integers"),
        (lambda X, y, a: (X, np.c_[y, y], a), "one outcome per unit"),
        (lambda X, y, a: (X, y, np.r_[[1, 1, 1], np.zeros(5, int)]), "arm sizes"),
    ],
)
def test_bad_input(small_experiment, modify, match):
    X, y, labels, design = small_experiment
    X2, y2, a2 = modify(X, y, labels)
    test = RandomizationTest(design, n_resamples=20, random_state=0)
    with pytest.raises(ValueError, match=match):
        test.fit(X2, y2, a2)
    assert not np.isnan(y).any()


def test_bad_parameters(small_experiment):
    X, y, labels, design = small_experiment
    for params in (
        {"n_resamples": 0},
        {"alternative": "both"},
        {"confidence_level": 1.0},
        {"statistic": "median"},
    ):
        name = next(iter(params))
        with pytest.raises(ValueError, match=f"The '{name}' parameter"):
            RandomizationTest(design, **params).fit(X, y, labels)
    with pytest.raises(ValueError, match="The 'design' parameter"):
        RandomizationTest(StandardScaler()).fit(X, y, labels)
    with pytest.raises(ValueError, match="control=2"):
        RandomizationTest(design, control=2).fit(X, y, labels)


def test_statistic_requirements(small_experiment):
    X, y, labels, design = small_experiment
    wide = np.random.default_rng(9).normal(size=(8, 3))
    with pytest.raises(ValueError, match="regression_adjusted"):
        RandomizationTest(design, statistic="regression_adjusted").fit(wide, y, labels)
    tiny = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="two units per arm"):
        RandomizationTest(CompleteRandomization(), statistic="t").fit(
            np.zeros((3, 1)), [1.0, 2.0, 3.0], tiny
        )


def test_clone_and_repr(small_experiment):
    _, _, _, design = small_experiment
    test = RandomizationTest(design, n_resamples=10)
    assert "RandomizationTest" in repr(test)
    assert clone(test).get_params()["n_resamples"] == 10
