import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import CompleteRandomization, Rerandomization
from skassign.plotting import balance_frame, plot_balance

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _smd(x, labels):
    """Compute (mean_1 - mean_0) / sqrt((var_0 + var_1) / 2), unbiased variances."""
    a, b = x[labels == 0], x[labels == 1]
    return (b.mean() - a.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(16, 3)), columns=["age", "weight", "dose"])
    return X, rng.permutation(np.repeat([0, 1], 8))


def test_balance_frame_matches_oracle_signed_and_absolute(data):
    X, labels = data
    signed = balance_frame(X, labels, absolute=False)
    expected = [_smd(X[c].to_numpy(), labels) for c in X.columns]
    assert signed["design"].tolist() == ["assignment"] * 3
    assert signed["covariate"].tolist() == ["age", "weight", "dose"]
    np.testing.assert_allclose(signed["smd"], expected, rtol=1e-12)
    np.testing.assert_allclose(balance_frame(X, labels)["smd"], np.abs(expected))


def test_balance_frame_three_arms_keeps_the_worst_pair():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [10.0], [11.0]])
    labels = np.array([0, 0, 1, 1, 2, 2])
    got = balance_frame(X, labels, absolute=False)["smd"].item()
    pairs = [
        (X[labels == h, 0].mean() - X[labels == g, 0].mean())
        / np.sqrt((X[labels == g, 0].var(ddof=1) + X[labels == h, 0].var(ddof=1)) / 2)
        for g, h in [(0, 1), (0, 2), (1, 2)]
    ]
    assert got == pytest.approx(max(pairs, key=abs))


def test_plot_balance_one_design_many_designs_and_pipelines(data):
    X, labels = data
    pipe = make_pipeline(StandardScaler(), Rerandomization(random_state=0)).fit(X)
    ax = plot_balance(X, labels)
    assert ax.get_legend() is None
    assert [t.get_text() for t in ax.get_yticklabels()] == list(X.columns)
    np.testing.assert_allclose(
        ax.collections[0].get_offsets()[:, 0], balance_frame(X, labels)["smd"]
    )
    designs = {
        "complete": CompleteRandomization(random_state=0).fit(X),
        "rerandomization": pipe,
    }
    ax = plot_balance(X, designs, absolute=False, threshold=0.2)
    assert len(ax.collections) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(designs)
    ax = plot_balance(X, pipe)
    assert ax.get_legend().get_texts()[0].get_text() == "Rerandomization"
    plt.close("all")


def test_plot_balance_from_a_table_and_errors(data):
    X, labels = data
    table = balance_frame(X, {"a": labels, "b": 1 - labels})
    ax = plot_balance(table)
    assert len(ax.collections) == 2
    with pytest.raises(ValueError, match="compare_designs"):
        plot_balance(X.to_numpy())
    with pytest.raises(ValueError, match="empty"):
        balance_frame(X, {})
    plt.close("all")


def test_comparison_plots_draw_the_table():
    from skassign.plotting import plot_estimates, plot_power
    from skassign.simulation import LinearOutcome, NormalCovariates, compare_designs

    table = compare_designs(
        {"complete": CompleteRandomization(), "rerand": Rerandomization()},
        NormalCovariates(12, 2),
        LinearOutcome(noise_sd=0.5),
        effects=[0.0, 1.0],
        n_experiments=8,
        random_state=0,
    )
    ax = plot_estimates(table, effect=1.0, bins=5)
    assert len(ax.patches) == 4  # a filled and an outlined histogram per design
    assert ax.get_lines()[0].get_xdata()[0] == 1.0
    ax = plot_power(table)
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    np.testing.assert_allclose(
        np.asarray(lines[0].get_ydata(), float),
        table.loc[table["design"] == "complete", "rejection_rate"],
    )
    ax = plot_balance(table)
    assert len(ax.collections) == 2
    with pytest.raises(ValueError, match="was not simulated"):
        plot_estimates(table, effect=3.0)
    with pytest.raises(ValueError, match="compare_designs"):
        plot_power(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="missing: rejection_se"):
        plot_power(pd.DataFrame(table).drop(columns="rejection_se"))
    plt.close("all")


def test_plot_power_draws_a_table_read_back_from_a_file(tmp_path):
    from skassign.plotting import plot_power
    from skassign.simulation import LinearOutcome, NormalCovariates, compare_designs

    table = compare_designs(
        {"complete": CompleteRandomization()},
        NormalCovariates(12, 1),
        LinearOutcome(noise_sd=0.5),
        effects=[0.0, 1.0],
        n_experiments=8,
        random_state=0,
    )
    table.to_csv(tmp_path / "table.csv", index=False)
    read = pd.read_csv(tmp_path / "table.csv")
    assert not hasattr(read, "experiments")
    ax = plot_power(read)
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    np.testing.assert_allclose(
        np.asarray(lines[0].get_ydata(), float), table["rejection_rate"]
    )
    plt.close("all")


def test_plot_estimates_bins_cover_only_the_selected_designs():
    from skassign.plotting import plot_estimates
    from skassign.simulation import LinearOutcome, NormalCovariates, compare_designs

    table = compare_designs(
        {"complete": CompleteRandomization(), "rerand": Rerandomization()},
        NormalCovariates(12, 2),
        LinearOutcome(noise_sd=0.1),
        effects=[1.0],
        n_experiments=8,
        random_state=0,
    )
    ax = plot_estimates(table[table["design"] == "rerand"], bins=4)
    est = table.experiments.query("design == 'rerand'")["estimate"]
    edges = ax.patches[0].get_path().vertices[:, 0]
    # The common bins span the selected design's estimates only.
    assert edges.min() == pytest.approx(est.min())
    assert edges.max() == pytest.approx(est.max())
    plt.close("all")
