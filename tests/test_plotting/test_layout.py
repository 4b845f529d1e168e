import matplotlib
import numpy as np
import pandas as pd
import pytest

from skassign.designs import BatchLayout
from skassign.plotting import plot_layout

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _wells():
    wells = pd.DataFrame(
        [(p, r, c) for p in ("P1", "P2") for r in "ABC" for c in range(1, 5)],
        columns=["plate", "row", "column"],
    )
    return wells.drop(index=[0, 13]).reset_index(drop=True)


def test_plate_maps_mark_units_empty_and_excluded_wells():
    wells = _wells()
    X = pd.DataFrame({"group": ["a"] * 9 + ["b"] * 9})
    design = BatchLayout(locations=wells, random_state=0).fit(X)
    fig = plot_layout(design, X=X, color="group")
    assert len(fig.axes) == 3
    first = fig.axes[0]
    # Collections: one per level, the empty wells, the excluded well.
    n_points = [len(c.get_offsets()) for c in first.collections]
    on_p1 = int((design.layout_["plate"] == "P1").sum())
    assert sum(n_points[:2]) == on_p1
    assert n_points[-1] == 1  # (A, 1) is excluded on plate P1
    assert sum(n_points) == 12
    bars = fig.axes[-1]
    heights = [p.get_height() for p in bars.patches]
    assert sum(heights) == len(X)
    plt.close("all")


def test_composition_only_without_wells():
    X = pd.DataFrame({"sex": list("FFFMMM")})
    design = BatchLayout(random_state=0).fit(X)
    fig = plot_layout(design.layout_.join(X), color="sex")
    assert len(fig.axes) == 1
    heights = np.array([p.get_height() for p in fig.axes[0].patches])
    assert heights.sum() == 6
    with pytest.raises(ValueError, match="not a column"):
        plot_layout(design, color="age")
    with pytest.raises(ValueError, match="must be an instance"):
        plot_layout(np.zeros(3))
    plt.close("all")
