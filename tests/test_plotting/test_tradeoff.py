"""The balance-randomness trade-off plot."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from skassign.designs import Rerandomization  # noqa: E402
from skassign.model_selection import DesignSearchCV  # noqa: E402
from skassign.plotting import plot_tradeoff  # noqa: E402


@pytest.fixture(scope="module")
def search():
    X = np.random.default_rng(0).normal(size=(16, 2))
    grid = {"acceptance_prob": [1.0, 0.1, 0.01]}
    return DesignSearchCV(Rerandomization(random_state=0), grid, n_draws=4).fit(X)


def test_two_panels_for_one_numeric_parameter(search, tmp_path):
    axes = plot_tradeoff(search)
    assert len(axes) == 2
    rho_axis, tradeoff = axes
    assert rho_axis.get_xscale() == "log"
    # Ticks at the grid values, none negative, labels plain numbers.
    ticks = rho_axis.get_xticks()
    assert (ticks > 0).all()
    assert [t.get_text() for t in rho_axis.get_xticklabels()] == ["0.01", "0.1", "1"]
    assert tradeoff.get_xlabel() == "Imbalance, max |SMD|"
    assert "Randomness" in tradeoff.get_ylabel()
    # Nothing clipped with a plain savefig: every label inside the figure.
    fig = rho_axis.figure
    fig.savefig(tmp_path / "t.png")
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for ax in fig.axes:
        for label in (ax.xaxis.label, ax.yaxis.label, ax.title):
            extent = label.get_window_extent(renderer)
            assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1
            assert extent.y0 >= box.y0 - 1 and extent.y1 <= box.y1 + 1


def test_zero_in_the_grid_gives_no_negative_tick():
    import pandas as pd

    table = pd.DataFrame(
        {
            "rho": [0.0, 0.1, 1.0, 4.0],
            "imbalance": [1.0, 0.2, 0.15, 0.16],
            "randomness": [0.0] * 4,
            "pareto": [False, False, True, False],
            "chosen": [False, False, True, False],
        }
    )
    axes = plot_tradeoff(table)
    assert axes[0].get_xlim()[0] == 0
    assert (axes[0].get_xticks() >= 0).all()


def test_refuses_other_input():
    import pandas as pd

    with pytest.raises(ValueError, match="needs a fitted DesignSearchCV"):
        plot_tradeoff(pd.DataFrame({"rho": [0.0, 1.0]}))
    with pytest.raises(ValueError, match="The 'search' parameter"):
        plot_tradeoff(object())
