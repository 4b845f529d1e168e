import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign._sampling import refit_labels
from skassign.designs import BlockRandomization, CompleteRandomization, Rerandomization
from skassign.inference import BootstrapTest
from skassign.utils import spawn_seeds

from .conftest import SortedSplit


def _seed_bootstrap(design, X, y, n_resamples, random_state, fit_params=None):
    """The seed's loop written out: resample units, refit, difference in means."""
    fit_params = fit_params or {}
    n = len(y)
    deltas = []
    for seed in spawn_seeds(random_state, n_resamples):
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, n, size=n)
        design_seed = int(rng.integers(np.iinfo(np.int32).max))
        Xb = X.iloc[rows].reset_index(drop=True) if hasattr(X, "iloc") else X[rows]
        params = {key: np.asarray(value)[rows] for key, value in fit_params.items()}
        labels = refit_labels(design, Xb, design_seed, params)
        yb = y[rows]
        deltas.append(yb[labels == 1].mean() - yb[labels == 0].mean())
    return np.array(deltas)


@pytest.fixture
def experiment():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(14, 2))
    design = Rerandomization(acceptance_prob=0.3, random_state=0)
    labels = design.fit_predict(X)
    y = X[:, 0] + 0.9 * labels + rng.normal(scale=0.5, size=14)
    return X, y, labels, design


def test_null_distribution_is_the_seeds_bootstrap(experiment):
    X, y, labels, design = experiment
    test = BootstrapTest(design, n_resamples=60, random_state=3).fit(X, y, labels)
    expected = _seed_bootstrap(design, X, y, 60, 3)
    np.testing.assert_allclose(test.null_distribution_, expected, rtol=1e-12)
    observed = y[labels == 1].mean() - y[labels == 0].mean()
    assert test.statistic_ == pytest.approx(observed)
    count = np.sum(np.abs(expected) >= abs(observed) - 1e-12)
    assert test.pvalue_ == pytest.approx((1 + count) / 61)
    assert test.n_resamples_ == 60


def test_pipeline_is_refit_on_every_resample():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"w": rng.lognormal(5, 0.6, 12), "age": rng.normal(8, 1, 12)})
    pipe = make_pipeline(
        StandardScaler(), Rerandomization(acceptance_prob=0.5, random_state=0)
    )
    labels = pipe.fit_predict(X)
    y = X["w"].to_numpy() + 30.0 * labels
    test = BootstrapTest(pipe, n_resamples=40, random_state=0).fit(X, y, labels)
    np.testing.assert_allclose(
        test.null_distribution_, _seed_bootstrap(pipe, X, y, 40, 0), rtol=1e-12
    )
    assert list(X.columns) == ["w", "age"]


def test_per_unit_fit_params_are_resampled():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(12, 1))
    strata = np.repeat([0, 1, 2], 4)
    design = BlockRandomization(random_state=0)
    labels = design.fit_predict(X, strata=strata)
    y = rng.normal(size=12) + labels
    test = BootstrapTest(design, n_resamples=30, random_state=0)
    test.fit(X, y, labels, strata=strata)
    expected = _seed_bootstrap(design, X, y, 30, 0, {"strata": strata})
    np.testing.assert_allclose(test.null_distribution_, expected, rtol=1e-12)


@pytest.mark.parametrize("backend", ["sequential", "loky", "threading", "dask"])
def test_identical_across_backends(experiment, backend, run_on_backend):
    X, y, labels, design = experiment
    params = dict(n_resamples=50, random_state=5, statistic="regression_adjusted")
    reference = BootstrapTest(design, **params, n_jobs=1).fit(X, y, labels)
    test = run_on_backend(
        backend, lambda: BootstrapTest(design, **params).fit(X, y, labels)
    )
    np.testing.assert_array_equal(test.null_distribution_, reference.null_distribution_)
    assert test.pvalue_ == reference.pvalue_
    np.testing.assert_array_equal(
        test.confidence_interval_, reference.confidence_interval_
    )


def test_n_jobs_two_and_progress_equal_sequential(experiment, capsys):
    X, y, labels, design = experiment
    a = BootstrapTest(design, n_resamples=40, random_state=0).fit(X, y, labels)
    b = BootstrapTest(
        design, n_resamples=40, random_state=0, n_jobs=2, progress=True
    ).fit(X, y, labels)
    np.testing.assert_array_equal(a.null_distribution_, b.null_distribution_)
    assert "bootstrap" in capsys.readouterr().err


def test_deterministic_design_is_fine_for_the_bootstrap():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 1))
    design = SortedSplit(random_state=0)
    labels = design.fit_predict(X)
    y = X[:, 0] + 2.0 * labels + rng.normal(scale=0.2, size=12)
    test = BootstrapTest(design, n_resamples=99, random_state=0).fit(X, y, labels)
    assert test.pvalue_ == pytest.approx(0.01)
    low, high = test.confidence_interval_
    assert low < test.effect_ < high


def test_interval_inverts_the_test():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(16, 1))
    design = CompleteRandomization()
    for seed in range(3):
        labels = clone(design).set_params(random_state=seed).fit_predict(X)
        y = X[:, 0] + 0.7 * labels + rng.normal(size=16)
        test = BootstrapTest(design, n_resamples=200, random_state=seed)
        test.fit(X, y, labels)
        low, high = test.confidence_interval_
        assert low < test.effect_ < high
        assert (low < 0 < high) == (test.pvalue_ > 0.05)


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided(experiment, alternative):
    X, y, labels, design = experiment
    test = BootstrapTest(
        design, n_resamples=80, random_state=0, alternative=alternative
    ).fit(X, y, labels)
    null, obs = test.null_distribution_, test.statistic_
    if alternative == "greater":
        count = np.sum(null >= obs - 1e-12)
        assert test.confidence_interval_[1] == np.inf
    else:
        count = np.sum(null <= obs + 1e-12)
        assert test.confidence_interval_[0] == -np.inf
    assert test.pvalue_ == pytest.approx((1 + count) / 81)


def test_several_arms_and_statistics():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(18, 1))
    design = CompleteRandomization(n_groups=3, random_state=0)
    labels = design.fit_predict(X)
    y = X[:, 0] + np.array([0.0, 6.0, -0.2])[labels] + rng.normal(0, 0.3, 18)
    for statistic in ("mean_difference", "t", "regression_adjusted"):
        test = BootstrapTest(
            design, n_resamples=60, random_state=0, statistic=statistic
        ).fit(X, y, labels)
        assert test.pvalue_.shape == (2,)
        assert test.pvalue_[0] <= 0.05
        assert test.global_pvalue_ <= 0.05
        assert np.all((test.pvalue_ > 0) & (test.pvalue_ <= 1))
        assert test.summary().shape[0] == 3


@pytest.mark.parametrize(
    "y_change, match",
    [
        (lambda y: np.r_[np.nan, y[1:]], "y contains NaN"),
        (lambda y: y[:-2], "outcomes but X has"),
    ],
)
def test_bad_outcomes(experiment, y_change, match):
    X, y, labels, design = experiment
    with pytest.raises(ValueError, match=match):
        BootstrapTest(design, n_resamples=5).fit(X, y_change(y), labels)


def test_single_arm_and_foreign_labels(experiment):
    X, y, labels, design = experiment
    with pytest.raises(ValueError, match="single group"):
        BootstrapTest(design, n_resamples=5).fit(X, y, np.ones(14, int))
    with pytest.raises(ValueError, match="n_groups=2"):
        BootstrapTest(design, n_resamples=5).fit(X, y, labels * 3)


class _FailingDesign(CompleteRandomization):
    """Fails on resamples that contain unit 0 three times or more."""

    def fit(self, X, y=None, **params):
        if np.sum(np.asarray(X)[:, 0] == self._marker) >= 3:
            raise RuntimeError("solver failed")
        return super().fit(X, y, **params)

    _marker = 0.0


def test_failing_resample_is_identified():
    X = np.r_[[[0.0]], np.arange(1.0, 12.0)[:, None]]
    y = np.arange(12.0)
    labels = np.tile([0, 1], 6)
    test = BootstrapTest(_FailingDesign(), n_resamples=200, random_state=0)
    with pytest.raises(RuntimeError, match="solver failed") as info:
        test.fit(X, y, labels)
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "bootstrap resample" in notes and "set_random_states" in notes
