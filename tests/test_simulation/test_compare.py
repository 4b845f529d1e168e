import contextlib

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.base import BaseDesign
from skassign.designs import CompleteRandomization, Rerandomization
from skassign.inference import RandomizationTest
from skassign.simulation import LinearOutcome, NormalCovariates, compare_designs
from skassign.simulation._compare import _DESIGN, _OUTCOME, _child, _key
from skassign.utils import set_random_states, spawn_seeds

TIMING = ["time_per_assignment"]


class FlakyDesign(BaseDesign):
    """Complete randomisation that raises for a third of its seeds."""

    def __init__(self, n_groups=2, *, group_sizes=None, random_state=None):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.random_state = random_state

    def _assign(self, X, sizes, fixed, rng):
        if self.random_state % 3 == 0:
            raise RuntimeError("solver gave up")
        labels = np.repeat(np.arange(sizes.shape[0]), sizes)
        return rng.permutation(labels)


def _tiny(**kwargs):
    designs = {
        "complete": CompleteRandomization(),
        "pipeline": make_pipeline(
            StandardScaler(), Rerandomization(acceptance_prob=0.2, max_draws=500)
        ),
    }
    params = dict(
        effects=[0.0, 1.0],
        n_experiments=6,
        test=RandomizationTest(CompleteRandomization(), n_resamples=9),
        random_state=0,
    )
    params.update(kwargs)
    return compare_designs(
        designs, NormalCovariates(10, 2), LinearOutcome(noise_sd=0.5), **params
    )


@pytest.fixture(scope="module")
def reference():
    return _tiny(n_jobs=1)


def _assert_same(a, b):
    pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))
    pd.testing.assert_frame_equal(
        a.experiments.drop(columns="time"),
        b.experiments.drop(columns="time"),
    )
    pd.testing.assert_frame_equal(a.covariate_balance, b.covariate_balance)


@pytest.mark.parametrize("backend", ["n_jobs=2", "loky", "threading", "dask"])
def test_identical_for_any_n_jobs_and_backend(reference, backend, request):
    if backend == "n_jobs=2":
        context, n_jobs = contextlib.nullcontext(), 2
    elif backend == "dask":
        request.getfixturevalue("dask_client")
        context, n_jobs = joblib.parallel_config(backend="dask"), None
    else:
        context, n_jobs = joblib.parallel_config(backend=backend, n_jobs=2), None
    with context:
        other = _tiny(n_jobs=n_jobs)
    _assert_same(reference, other)


def test_table_shape_and_statistics_from_the_experiments(reference):
    assert reference.shape == (4, 15)
    assert reference["design"].tolist() == ["complete"] * 2 + ["pipeline"] * 2
    assert reference["effect"].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert (reference["n_experiments"] == 6).all()
    assert (reference["n_failed"] == 0).all() and (reference["n_tests"] == 6).all()
    runs = reference.experiments
    for _, row in reference.iterrows():
        part = runs[
            (runs["design"] == row["design"]) & (runs["effect"] == row["effect"])
        ]
        est = part["estimate"].to_numpy()
        assert row["mean_estimate"] == pytest.approx(est.mean())
        assert row["bias"] == pytest.approx(est.mean() - row["effect"])
        assert row["sd"] == pytest.approx(est.std(ddof=1))
        assert row["rmse"] == pytest.approx(
            np.sqrt(np.mean((est - row["effect"]) ** 2))
        )
        rate = np.mean(part["pvalue"].to_numpy() <= 0.05)
        assert row["rejection_rate"] == pytest.approx(rate)
        assert row["rejection_se"] == pytest.approx(np.sqrt(rate * (1 - rate) / 6))
        assert row["max_abs_smd"] == pytest.approx(part["max_abs_smd"].mean())
        assert row["time_per_assignment"] > 0
    # The randomisation test with 9 resamples has p-values k / 10.
    np.testing.assert_allclose((runs["pvalue"] * 10) % 1, 0.0, atol=1e-9)


def test_common_random_numbers_and_independence_of_other_designs():
    def total(X, y, labels):
        return float(np.asarray(X).sum() + 1000 * y.sum())

    designs = {"a": CompleteRandomization(), "b": CompleteRandomization()}
    cov, out = NormalCovariates(8, 1), LinearOutcome(coef=0.0, noise_sd=1.0)
    both = compare_designs(
        designs, cov, out, n_experiments=5, estimator=total, random_state=3
    ).experiments
    # Same covariates and the same outcome noise for every design (the
    # outcome ignores the labels at effect 0), different assignments.
    a, b = (both[both["design"] == d].reset_index(drop=True) for d in "ab")
    np.testing.assert_array_equal(a["estimate"], b["estimate"])
    labels = compare_designs(
        designs, cov, out, n_experiments=5, random_state=3
    ).experiments
    assert not np.array_equal(
        labels.loc[labels["design"] == "a", "estimate"],
        labels.loc[labels["design"] == "b", "estimate"],
    )
    alone = compare_designs(
        {"a": CompleteRandomization()}, cov, out, n_experiments=5, random_state=3
    )
    pd.testing.assert_frame_equal(
        alone.drop(columns=TIMING),
        compare_designs(designs, cov, out, n_experiments=5, random_state=3)
        .drop(columns=TIMING)
        .iloc[:1],
    )


def test_exact_estimates_without_noise_and_fixed_covariates():
    X = np.arange(12.0).reshape(6, 2)
    table = compare_designs(
        {"complete": CompleteRandomization()},
        X,
        LinearOutcome(coef=0.0, noise_sd=0.0, intercept=3.0),
        effects=[0.0, -2.5],
        n_experiments=4,
        random_state=0,
    )
    np.testing.assert_array_equal(table["mean_estimate"], [0.0, -2.5])
    np.testing.assert_array_equal(table[["bias", "sd", "rmse"]], 0.0)


def test_regression_estimator_matches_least_squares():
    X = np.random.default_rng(5).normal(size=(12, 2))
    runs = compare_designs(
        {"complete": CompleteRandomization()},
        X,
        LinearOutcome(coef=[1.0, -2.0], noise_sd=1.0),
        effects=[0.7],
        n_experiments=3,
        estimator="regression",
        random_state=1,
    ).experiments
    diff = compare_designs(
        {"complete": CompleteRandomization()},
        X,
        LinearOutcome(coef=[1.0, -2.0], noise_sd=1.0),
        effects=[0.7],
        n_experiments=3,
        random_state=1,
    ).experiments
    # Rebuild experiment 0 from its documented seed derivation and refit
    # Lin's regression (y on 1, t, centred X, t * centred X) by least squares.
    seed = spawn_seeds(1, 3)[0]
    model = set_random_states(
        CompleteRandomization(), _child(seed, _DESIGN, _key("complete"))
    )
    labels = model.fit_predict(X)
    y = LinearOutcome(coef=[1.0, -2.0], noise_sd=1.0)(
        X, labels, 0.7, np.random.default_rng(_child(seed, _OUTCOME, _key(0.7)))
    )
    t = labels.astype(float)
    Xc = X - X.mean(axis=0)
    design = np.column_stack([np.ones(12), t, Xc, t[:, None] * Xc])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    assert runs["estimate"].iloc[0] == pytest.approx(coef[1], rel=1e-10)
    assert diff["estimate"].iloc[0] == pytest.approx(
        y[labels == 1].mean() - y[labels == 0].mean(), rel=1e-12
    )


def test_failed_experiments_are_counted_and_reported():
    with pytest.warns(UserWarning, match="flaky: .* of 12 .*solver gave up"):
        table = compare_designs(
            {"complete": CompleteRandomization(), "flaky": FlakyDesign()},
            NormalCovariates(8, 1),
            LinearOutcome(),
            effects=[0.0, 1.0],
            n_experiments=12,
            random_state=0,
        )
    failures = table.failures
    flaky = table[table["design"] == "flaky"]
    assert (table.loc[table["design"] == "complete", "n_failed"] == 0).all()
    n_failed = failures.shape[0]
    assert 0 < n_failed < 12
    assert (flaky["n_failed"] == n_failed).all()
    assert (flaky["n_tests"] == 12 - n_failed).all()
    assert failures["error"].str.contains("RuntimeError: solver gave up").all()
    runs = table.experiments
    assert runs.shape[0] == 2 * 2 * 12  # failed experiments stay in the table
    assert runs.loc[runs["failed"], "estimate"].isna().all()


def test_welch_test_and_coverage():
    table = compare_designs(
        {"complete": CompleteRandomization()},
        NormalCovariates(20, 1),
        LinearOutcome(coef=0.0, noise_sd=1.0),
        effects=0.0,
        n_experiments=50,
        random_state=0,
    )
    runs = table.experiments
    # Welch's interval excludes the truth exactly when the test rejects.
    np.testing.assert_array_equal(runs["covered"].astype(bool), runs["pvalue"] > 0.05)
    assert table["coverage"].item() == pytest.approx(1 - table["rejection_rate"].item())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"designs": {}}, "non-empty dict"),
        ({"designs": {"x": StandardScaler()}}, "not a design"),
        ({"covariates": np.arange(5.0)}, "2-D"),
        ({"covariates": np.ones((1, 2))}, "at least 2"),
        ({"effects": [np.nan]}, "finite"),
    ],
)
def test_input_errors(kwargs, match):
    params = dict(
        designs={"complete": CompleteRandomization()},
        covariates=np.ones((6, 2)),
        outcome=LinearOutcome(),
        n_experiments=2,
    )
    params.update(kwargs)
    with pytest.raises(ValueError, match=match):
        compare_designs(params.pop("designs"), params.pop("covariates"), **params)


def test_progress_bar_runs(capsys):
    pytest.importorskip("tqdm")
    table = _tiny(n_experiments=2, test=None, progress=True)
    assert table.shape[0] == 4


def test_the_table_carries_its_experiments_and_concatenates():
    table = _tiny(n_experiments=2, test=None, n_jobs=1)
    assert table[table["effect"] == 0.0].experiments is table.experiments
    assert table[["design", "sd"]].alpha == 0.05
    both = pd.concat([table, _tiny(n_experiments=2, test=None, random_state=1)])
    assert both.shape == (8, 15) and both.experiments is None
