"""Plate maps and batch composition of a layout."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skassign.utils._optional import import_pyplot
from skassign.utils._param_validation import HasMethods, validate_params

__all__ = ["plot_layout"]


def _as_table(layout, X):
    """Return the layout as a DataFrame with the features joined, and the locations."""
    locations = None
    if hasattr(layout, "layout_"):
        locations = getattr(layout, "locations", None)
        table = layout.layout_
    elif isinstance(layout, pd.DataFrame):
        table = layout
    else:
        raise ValueError(
            "plot_layout needs a fitted BatchLayout or its layout_ DataFrame; "
            f"got {type(layout).__name__}."
        )
    if X is not None:
        X = pd.DataFrame(X)
        if len(X) != len(table):
            raise ValueError(
                f"X has {len(X)} rows but the layout has {len(table)} units."
            )
        extra = X.loc[:, [c for c in X.columns if c not in table.columns]]
        table = table.join(extra.set_axis(table.index))
    return table, locations


@validate_params(
    {
        "layout": [pd.DataFrame, HasMethods(["fit", "get_params"])],
        "color": [str, None],
        "X": ["array-like", None],
        "locations": [pd.DataFrame, None],
        "plate": [str, None],
        "row": [str],
        "column": [str],
        "figsize": [tuple, list, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_layout(
    layout,
    *,
    color=None,
    X=None,
    locations=None,
    plate=None,
    row="row",
    column="column",
    figsize=None,
):
    """Plate maps and batch composition bars of a batch layout.

    One panel per plate shows its wells: occupied wells coloured by a
    feature, usable empty wells as open circles, and excluded wells (grid
    positions missing from ``locations``) as crosses. A last panel stacks,
    for every batch, the number of units of every level of the feature.
    Without row and column information only the composition is drawn.

    Read more in the :ref:`User Guide <batch_layout>`.

    Parameters
    ----------
    layout : BatchLayout or DataFrame
        A fitted :class:`~skassign.designs.BatchLayout`, or a table with a
        ``batch`` column (and location columns), such as its ``layout_``,
        possibly joined with the features.
    color : str or None, default=None
        Column to colour by (of the layout or of ``X``); ``None`` takes the
        first column of ``X`` if given, else the batch.
    X : DataFrame or None, default=None
        Features of the units, in the order of the layout.
    locations : DataFrame or None, default=None
        Every usable well (``plate``, ``row``, ``column``); ``None`` takes
        the design's ``locations`` (for a fitted design) or the occupied
        wells.
    plate : str or None, default=None
        Column naming the plate; ``None`` uses ``"plate"`` if present,
        else the ``batch`` column.
    row, column : str, default="row", "column"
        Columns holding a well's row and column.
    figsize : tuple or None, default=None
        Figure size; ``None`` scales with the number of plates.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; its axes are the plate maps, then the composition bars.

    Examples
    --------
    >>> import pandas as pd
    >>> from skassign.designs import BatchLayout
    >>> from skassign.plotting import plot_layout
    >>> wells = pd.DataFrame([("P1", r, c) for r in "ABCD" for c in range(1, 7)],
    ...                      columns=["plate", "row", "column"])
    >>> X = pd.DataFrame({"group": ["a"] * 10 + ["b"] * 10})
    >>> design = BatchLayout(locations=wells, spatial=True,
    ...                      random_state=0).fit(X)
    >>> fig = plot_layout(design, X=X, color="group")
    >>> len(fig.axes)
    2
    """
    table, design_locations = _as_table(layout, X)
    if locations is None:
        locations = design_locations
    if "batch" not in table.columns:
        raise ValueError("The layout needs a 'batch' column (as BatchLayout.layout_).")
    if color is None:
        color = X.columns[0] if X is not None and len(X.columns) else "batch"
    if color not in table.columns:
        raise ValueError(
            f"color={color!r} is not a column of the layout or X "
            f"({list(table.columns)})."
        )
    plt = import_pyplot("plot_layout")
    values = table[color].astype(object).where(table[color].notna(), "missing")
    levels = sorted(pd.unique(values), key=str)
    cmap = plt.get_cmap("tab10" if len(levels) <= 10 else "tab20")
    colours = {level: cmap(k % cmap.N) for k, level in enumerate(levels)}
    has_wells = row in table.columns and column in table.columns
    if has_wells:
        if plate is None:
            plate = "plate" if "plate" in table.columns else "batch"
        plates = list(pd.unique(table[plate]))
        if locations is not None and plate in locations.columns:
            plates = list(pd.unique(pd.concat([locations[plate], table[plate]])))
    else:
        plates = []
    n_panels = len(plates) + 1
    if figsize is None:
        figsize = (5.0 * len(plates) + 4.0, 3.8)
    fig, axes = plt.subplots(
        1,
        n_panels,
        figsize=figsize,
        gridspec_kw={"width_ratios": [5.0] * len(plates) + [3.0]},
        squeeze=False,
    )
    axes = axes[0]
    for ax, name in zip(axes[:-1], plates, strict=True):
        on_plate = table[plate] == name
        if locations is not None:
            wells = (
                locations.loc[locations[plate] == name, [row, column]]
                if plate in locations.columns
                else locations[[row, column]]
            )
        else:
            wells = table.loc[on_plate, [row, column]]
        row_levels = sorted(pd.unique(pd.concat([wells[row], table[row]])), key=_key)
        col_levels = sorted(
            pd.unique(pd.concat([wells[column], table[column]])), key=_key
        )
        r_of = {v: k for k, v in enumerate(row_levels)}
        c_of = {v: k for k, v in enumerate(col_levels)}
        usable = {(r_of[r], c_of[c]) for r, c in wells.itertuples(index=False)}
        occupied = set()
        for level in levels:
            mask = on_plate & (values == level)
            xs = [c_of[c] for c in table.loc[mask, column]]
            ys = [r_of[r] for r in table.loc[mask, row]]
            occupied.update(zip(ys, xs, strict=True))
            ax.scatter(xs, ys, s=160, color=colours[level], edgecolor="k", lw=0.5)
        empty = sorted(usable - occupied)
        if empty:
            ax.scatter(
                [c for _, c in empty],
                [r for r, _ in empty],
                s=160,
                facecolor="none",
                edgecolor="0.6",
                lw=0.8,
            )
        excluded = [
            (r, c)
            for r in range(len(row_levels))
            for c in range(len(col_levels))
            if (r, c) not in usable and (r, c) not in occupied
        ]
        if excluded:
            ax.scatter(
                [c for _, c in excluded],
                [r for r, _ in excluded],
                marker="x",
                s=60,
                color="0.4",
            )
        ax.set_xticks(range(len(col_levels)), [str(v) for v in col_levels])
        ax.set_yticks(range(len(row_levels)), [str(v) for v in row_levels])
        ax.set_xlim(-0.7, len(col_levels) - 0.3)
        ax.set_ylim(len(row_levels) - 0.3, -0.7)
        ax.set_aspect("equal")
        ax.set_title(str(name) if plate != "batch" else f"batch {name}")
        ax.tick_params(length=0)
    # Composition bars.
    ax = axes[-1]
    name_column = next(
        (c for c in ("batch_name", plate) if c is not None and c in table.columns),
        "batch",
    )
    order = table.sort_values("batch")[name_column].drop_duplicates().tolist()
    counts = pd.crosstab(table[name_column], values).reindex(index=order, fill_value=0)
    bottom = np.zeros(len(order))
    for level in levels:
        height = counts[level].to_numpy() if level in counts.columns else 0 * bottom
        ax.bar(
            range(len(order)),
            height,
            bottom=bottom,
            color=colours[level],
            edgecolor="k",
            lw=0.5,
            label=str(level),
        )
        bottom = bottom + height
    ax.set_xticks(range(len(order)), [str(v) for v in order])
    ax.set_ylabel("units")
    ax.set_title(f"composition by {color}")
    ax.legend(fontsize="small", frameon=False, bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def _key(value):
    """Sort plate coordinates numerically when they are numbers."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))
