import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skassign.designs import CompleteRandomization
from skassign.inference import BootstrapTest, RandomizationTest
from skassign.inference._statistics import StatisticEvaluator, lin_weights

SEED_COLUMNS = [
    "delta",
    "pvalue",
    "n_bootstrap",
    "avg_delta_bootstrap",
    "std_delta_bootstrap",
]


# ---------------------------------------------------------------- statistics


def _evaluate(statistic, y, labels, X=None, control=0, n_groups=None):
    labels = np.atleast_2d(labels)
    n_groups = int(labels.max()) + 1 if n_groups is None else n_groups
    treated = np.array([g for g in range(n_groups) if g != control])
    return StatisticEvaluator(statistic, labels, n_groups, treated, control, X)(y)


def test_mean_difference_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0, 10.0, 20.0])
    labels = np.array([0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(_evaluate("mean_difference", y, labels), [[2.0, 13.5]])
    np.testing.assert_allclose(
        _evaluate("mean_difference", y, labels, control=2), [[-13.5, -11.5]]
    )


def test_welch_t_matches_scipy():
    rng = np.random.default_rng(2)
    y = rng.normal(size=15) + 100.0
    labels = np.r_[np.zeros(7, int), np.ones(8, int)]
    t = _evaluate("t", y, labels)[0, 0]
    ref = stats.ttest_ind(y[labels == 1], y[labels == 0], equal_var=False)
    assert t == pytest.approx(ref.statistic, rel=1e-10)


def test_welch_t_zero_variance():
    y = np.array([1.0, 1.0, 3.0, 3.0])
    assert _evaluate("t", y, [0, 0, 1, 1])[0, 0] == np.inf
    assert _evaluate("t", np.ones(4), [0, 0, 1, 1])[0, 0] == 0.0


def test_regression_adjusted_matches_interacted_ols():
    rng = np.random.default_rng(3)
    n, p = 30, 2
    X = rng.normal(size=(n, p))
    labels = rng.permutation(np.repeat([0, 1, 2], 10))
    y = X @ [1.0, -2.0] + labels * 0.7 + rng.normal(size=n)
    Xc = X - X.mean(axis=0)
    D = np.column_stack([labels == 1, labels == 2]).astype(float)
    Z = np.column_stack([np.ones(n), D, Xc, D[:, [0]] * Xc, D[:, [1]] * Xc])
    beta = np.linalg.lstsq(Z, y, rcond=None)[0]
    got = _evaluate("regression_adjusted", y, labels, X[None])
    np.testing.assert_allclose(got[0], beta[1:3], rtol=1e-10)


def test_regression_adjusted_equals_difference_without_covariate_signal():
    # A covariate balanced exactly between the arms leaves the difference
    # in means unchanged.
    X = np.array([[-1.0], [1.0], [-1.0], [1.0]])
    y = np.array([0.0, 2.0, 5.0, 7.0])
    labels = np.array([0, 0, 1, 1])
    got = _evaluate("regression_adjusted", y, labels, X[None])
    assert got[0, 0] == pytest.approx(5.0)


def test_lin_weights_handle_rank_deficient_arms():
    X = np.array([[1.0], [1.0], [0.0], [2.0]])[None]
    labels = np.array([[0, 0, 1, 1]])
    w = lin_weights(X, labels, 2, np.array([1]), 0)
    assert np.all(np.isfinite(w))
    # Weights of an effect sum to zero (a constant outcome has no effect).
    assert w.sum() == pytest.approx(0.0, abs=1e-12)


def test_callable_statistic_and_errors():
    y = np.array([1.0, 2.0, 3.0, 5.0])
    labels = np.array([0, 0, 1, 1])
    median_diff = _evaluate(lambda t, c: np.median(t) - np.median(c), y, labels)
    assert median_diff[0, 0] == pytest.approx(2.5)
    with pytest.raises(ValueError, match="one number"):
        _evaluate(lambda t, c: np.array([1.0, 2.0]), y, labels)


# -------------------------------------------------------- fitted test output


@pytest.fixture(scope="module")
def three_arm_test():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(24, 1))
    design = CompleteRandomization(n_groups=3, random_state=0)
    labels = design.fit_predict(X)
    y = X[:, 0] + np.array([0.0, 1.5, 0.0])[labels] + rng.normal(0, 0.3, 24)
    return RandomizationTest(design, n_resamples=199, random_state=0).fit(X, y, labels)


def test_several_arms_attributes(three_arm_test):
    test = three_arm_test
    assert test.statistic_.shape == (2,)
    assert test.pvalue_.shape == (2,)
    assert test.null_distribution_.shape == (199, 2)
    assert test.confidence_interval_.shape == (2, 2)
    np.testing.assert_array_equal(test.treated_arms_, [1, 2])
    assert test.pvalue_[0] < 0.05 < test.pvalue_[1]
    assert test.global_pvalue_ <= test.pvalue_.min() * 2
    assert test.global_statistic_ == pytest.approx(np.abs(test.statistic_).max())
    for (low, high), effect in zip(
        test.confidence_interval_, test.effect_, strict=True
    ):
        assert low < effect < high


def test_summary_table(three_arm_test):
    # A randomisation test names its columns after what they hold.
    table = three_arm_test.summary()
    assert table.columns.tolist() == [
        "statistic", "pvalue", "n_randomizations", "null_mean", "null_std",
        "effect", "ci_low", "ci_high",
    ]  # fmt: skip
    assert table.index.tolist() == ["1 vs 0", "2 vs 0", "global"]
    null = three_arm_test.null_distribution_
    np.testing.assert_allclose(table["null_mean"][:2], null.mean(axis=0))
    np.testing.assert_allclose(table["null_std"][:2], null.std(axis=0))
    assert (table["n_randomizations"] == 199).all()
    assert table.loc["global", "pvalue"] == three_arm_test.global_pvalue_
    # Displayed readably: every column, four significant digits, blank NaN;
    # the values themselves unrounded.
    text = repr(table)
    assert "..." not in text and "ci_high" in text.splitlines()[0]
    assert f"{table['statistic'].iloc[0]:.4g}" in text and "NaN" not in text
    assert "<table" in table._repr_html_() and "NaN" not in table._repr_html_()
    assert table["statistic"].iloc[0] == three_arm_test.statistic_[0]


def test_bootstrap_summary_keeps_the_seed_columns():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 1))
    labels = CompleteRandomization(random_state=1).fit_predict(X)
    test = BootstrapTest(CompleteRandomization(), n_resamples=30, random_state=0)
    table = test.fit(X, rng.normal(size=12), labels).summary()
    assert table.columns.tolist()[:5] == SEED_COLUMNS


def test_summary_two_arms_is_one_row():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 1))
    labels = CompleteRandomization(random_state=1).fit_predict(X)
    y = rng.normal(size=12)
    test = BootstrapTest(CompleteRandomization(), n_resamples=50, random_state=0)
    table = test.fit(X, y, labels).summary()
    assert isinstance(table, pd.DataFrame)
    assert table.shape[0] == 1
    assert table["delta"].iloc[0] == test.statistic_
    assert isinstance(test.statistic_, float) and isinstance(test.pvalue_, float)
    assert test.null_distribution_.shape == (50,)
    assert test.confidence_interval_.shape == (2,)


def test_plot_draws_null_and_observed(three_arm_test):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = three_arm_test.plot()
    assert len(axes) == 2
    assert "p = " in axes[0].get_title()
    with pytest.raises(ValueError, match="needs 2 Axes"):
        three_arm_test.plot(ax=plt.gca())
    plt.close("all")


def test_plot_without_matplotlib(three_arm_test, monkeypatch):
    import importlib

    real_import_module = importlib.import_module

    def fake_import_module(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import_module(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", fake_import_module)
    with pytest.raises(ImportError, match=r'pip install "skassign\[plot\]"'):
        three_arm_test.plot()


def test_unfitted_summary_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RandomizationTest(CompleteRandomization()).summary()


def test_plot_has_plain_labels_inside_the_figure(three_arm_test, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    axes = three_arm_test.plot()
    fig = axes[0].figure
    fig.savefig(tmp_path / "null.png")
    renderer = fig.canvas.get_renderer()
    for ax in axes:
        assert ax.get_xlabel() == "Difference in means (outcome units)"
        assert ax.get_ylabel() == "Number of resamples"
        for label in (ax.xaxis.label, ax.yaxis.label, ax.title):
            box = label.get_window_extent(renderer)
            assert box.x0 >= -1 and box.x1 <= fig.bbox.x1 + 1
            assert box.y0 >= -1 and box.y1 <= fig.bbox.y1 + 1
