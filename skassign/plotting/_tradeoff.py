"""Plot of the balance-randomness trade-off of a grid search over a design."""

from __future__ import annotations

import numpy as np

from skassign.utils._optional import import_pyplot
from skassign.utils._param_validation import HasMethods, validate_params

__all__ = ["plot_tradeoff"]

_COLUMNS = ("imbalance", "randomness", "pareto", "chosen")


def _short(name):
    """Return a parameter's name without its Pipeline step prefix."""
    return str(name).rsplit("__", 1)[-1]


def _format(value):
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@validate_params(
    {
        # A fitted search, or its tradeoff_ table (checked below).
        "search": [HasMethods(["fit"]), "array-like"],
        # One Axes or an array of them.
        "axes": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def plot_tradeoff(search, *, axes=None):
    """Plot imbalance and randomness over the grid of a design search.

    Two panels: imbalance and randomness against the parameter (when a
    single numeric parameter varies), and the trade-off itself, randomness
    against imbalance with every candidate labelled, the Pareto front
    joined and the chosen candidate ringed. Choosing ``rho`` or ``t0`` is
    then reading one figure.

    Read more in the :ref:`User Guide <model_selection>`.

    Parameters
    ----------
    search : DesignSearchCV or pandas.DataFrame
        A fitted :class:`~skassign.model_selection.DesignSearchCV` (with its
        default scoring) or its ``tradeoff_`` table.
    axes : array of matplotlib.axes.Axes or None, default=None
        Axes to draw on: two for a single numeric parameter, else one.
        ``None`` creates a figure.

    Returns
    -------
    axes : ndarray of matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import Rerandomization
    >>> from skassign.model_selection import DesignSearchCV
    >>> from skassign.plotting import plot_tradeoff
    >>> X = np.random.default_rng(0).normal(size=(20, 2))
    >>> search = DesignSearchCV(
    ...     Rerandomization(random_state=0), {"acceptance_prob": [1.0, 0.1, 0.01]}
    ... ).fit(X)
    >>> axes = plot_tradeoff(search)
    >>> [ax.get_xlabel() for ax in axes]
    ['acceptance_prob', 'Imbalance, max |SMD|']
    """
    table = getattr(search, "tradeoff_", search)
    if not hasattr(table, "columns") or not set(_COLUMNS) <= set(table.columns):
        raise ValueError(
            "plot_tradeoff needs a fitted DesignSearchCV with its default scoring "
            "(balance and randomness) or its tradeoff_ table."
        )
    balance = getattr(search, "balance", "smd")
    metric = {
        "smd": "max |SMD|",
        "variance_ratio": "max |log variance ratio|",
        "ks": "max KS statistic",
        "mahalanobis": "Mahalanobis imbalance",
    }
    names = [balance] if isinstance(balance, str) else list(balance)
    imbalance_label = "Imbalance, " + " or ".join(metric.get(m, m) for m in names)
    if len(names) > 1:
        imbalance_label = "Imbalance, worse of\n" + " and ".join(
            metric.get(m, m) for m in names
        )
    params = [c for c in table.columns if c not in _COLUMNS]
    varied = [c for c in params if table[c].astype(str).nunique() > 1]
    numeric = len(varied) == 1 and np.issubdtype(
        np.asarray(table[varied[0]]).dtype, np.number
    )
    plt = import_pyplot("plot_tradeoff")
    n_panels = 2 if numeric else 1
    if axes is None:
        fig, axes = plt.subplots(
            1, n_panels, figsize=(5.2 * n_panels, 4.0), layout="constrained"
        )
    axes = np.atleast_1d(axes)
    if axes.shape[0] != n_panels:
        raise ValueError(
            f"plot_tradeoff draws {n_panels} panels; got {axes.shape[0]} axes."
        )
    chosen = table["chosen"].to_numpy(dtype=bool)
    if numeric:
        ax = axes[0]
        name = varied[0]
        order = np.argsort(table[name].to_numpy(dtype=float))
        x = table[name].to_numpy(dtype=float)[order]
        ax.plot(x, table["imbalance"].to_numpy()[order], "o-", color="C0")
        ax.set_ylabel("Imbalance (lower is better)", color="C0")
        ax.set_title("Over the grid (dotted line: chosen)")
        twin = ax.twinx()
        twin.plot(x, table["randomness"].to_numpy()[order], "s--", color="C1")
        twin.set_ylabel("Randomness (higher is better)", color="C1")
        twin.set_ylim(0, max(0.55, 1.1 * float(table["randomness"].max())))
        if chosen.any():
            ax.axvline(
                float(table[name].to_numpy(dtype=float)[chosen][0]),
                color="grey",
                ls=":",
            )
        positive = x[x > 0]
        if positive.size >= 2 and positive.max() / positive.min() >= 20:
            if np.any(x <= 0):
                # symlog reaches 0 without the negative ticks of a plain
                # symmetric axis: the parameter is never negative.
                ax.set_xscale("symlog", linthresh=float(positive.min()))
                ax.set_xlim(left=0, right=float(x.max()) * 1.2)
            else:
                ax.set_xscale("log")
        if np.unique(x).shape[0] <= 8:
            ax.set_xticks(np.unique(x), [_format(float(v)) for v in np.unique(x)])
            ax.minorticks_off()
        ax.set_xlabel(_short(name))
        ax.set_ylim(bottom=0)
    ax = axes[-1]
    imbalance = table["imbalance"].to_numpy(dtype=float)
    randomness = table["randomness"].to_numpy(dtype=float)
    pareto = table["pareto"].to_numpy(dtype=bool)
    ax.scatter(imbalance, randomness, color="C0", zorder=3)
    front = np.flatnonzero(pareto)
    front = front[np.argsort(imbalance[front])]
    ax.plot(imbalance[front], randomness[front], color="C0", lw=1, label="Pareto front")
    if chosen.any():
        ax.scatter(
            imbalance[chosen],
            randomness[chosen],
            s=160,
            facecolors="none",
            edgecolors="C3",
            lw=1.5,
            zorder=4,
            label="chosen",
        )
    # One label per cluster of points: candidates with (nearly) equal scores
    # share it.
    x_span = max(float(imbalance.max()), 1e-12)
    points, where = {}, {}
    for i in range(len(table)):
        key = (
            round(float(imbalance[i]) / (0.04 * x_span)),
            round(float(randomness[i]) / 0.03),
        )
        text = ", ".join(f"{_short(c)}={_format(table[c].iloc[i])}" for c in varied)
        points.setdefault(key, []).append(text)
        where.setdefault(key, (float(imbalance[i]), float(randomness[i])))
    for key, texts in points.items():
        x, y = where[key]
        text = texts[0] if len(texts) == 1 else f"{texts[0]} to {texts[-1]}"
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xlabel(imbalance_label)
    ax.set_ylabel("Randomness (0 = deterministic)")
    ax.set_xlim(0, 1.25 * float(imbalance.max()))
    ax.set_ylim(0, max(0.55, 1.1 * float(randomness.max())))
    ax.set_title("Balance-randomness trade-off")
    ax.legend(loc="upper right")
    return axes
