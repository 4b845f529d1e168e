"""Balance ("love") plot: standardised mean differences per covariate and design."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real

import numpy as np
import pandas as pd

from skassign.metrics import standardized_mean_difference
from skassign.utils._docstrings import fill_doc
from skassign.utils._optional import import_pyplot
from skassign.utils._param_validation import (
    HasMethods,
    Interval,
    validate_params,
)
from skassign.utils.validation import check_covariates, final_step, get_labels

__all__ = ["balance_frame", "plot_balance"]


def _design_name(design):
    return type(final_step(design)).__name__


def _as_labels(value):
    """Labels from an array or a fitted design (or Pipeline ending in one)."""
    if hasattr(value, "fit") and hasattr(value, "get_params"):
        return np.asarray(get_labels(value))
    return np.asarray(value)


@validate_params(
    {
        "X": ["array-like"],
        "labels": ["array-like", dict, HasMethods(["fit", "get_params"])],
        "absolute": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def balance_frame(X, labels, *, absolute=True):
    """Standardised mean difference of every covariate under every assignment.

    The table behind :func:`plot_balance`: one row per design and covariate.
    With more than two arms the largest difference in absolute value over
    the pairs of arms is kept (its sign too, if ``absolute=False``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates of the units (a DataFrame names them).
    labels : array-like of shape (n_samples,), fitted design, or dict
        One assignment (an array, or a fitted design or Pipeline ending in
        one), or a dict mapping design names to such assignments.
    absolute : bool, default=True
        Report ``|SMD|`` instead of the signed difference.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``design``, ``covariate`` and ``smd``.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.plotting import balance_frame
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> balance_frame(X, {"a": [0, 1, 0, 1], "b": [0, 0, 1, 1]}).round(3)
      design covariate    smd
    0      a        x0  0.707
    1      a        x1  0.707
    2      b        x0  2.828
    3      b        x1  2.828
    """
    Xv, names = check_covariates(X)
    if isinstance(labels, Mapping):
        items = list(labels.items())
    elif hasattr(labels, "fit") and hasattr(labels, "get_params"):
        items = [(_design_name(labels), labels)]
    else:
        items = [("assignment", labels)]
    if not items:
        raise ValueError("labels is an empty dict; give at least one assignment.")
    rows = []
    for name, value in items:
        smd = standardized_mean_difference(Xv, _as_labels(value))
        worst = smd[np.argmax(np.abs(smd), axis=0), np.arange(smd.shape[1])]
        values = np.abs(worst) if absolute else worst
        rows.extend(
            {"design": str(name), "covariate": covariate, "smd": float(v)}
            for covariate, v in zip(names, values, strict=True)
        )
    return pd.DataFrame(rows, columns=["design", "covariate", "smd"])


@validate_params(
    {
        "X": ["array-like"],
        "labels": ["array-like", dict, HasMethods(["fit", "get_params"]), None],
        "absolute": ["boolean"],
        "threshold": [Interval(Real, 0, None, closed="left"), None],
        "ax": [HasMethods(["plot", "set_xlabel"]), None],
        "title": [str, None],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def plot_balance(
    X,
    labels=None,
    *,
    absolute=True,
    threshold=0.1,
    ax=None,
    title=None,
):
    """Love plot: standardised mean difference per covariate, for one design or many.

    One row per covariate, one marker per design, and a dashed line at
    ``threshold`` (0.1 is the usual rule of thumb for a balanced covariate).
    Works for a single assignment, several assignments of the same units, or
    a comparison from :func:`skassign.simulation.compare_designs` (then the
    marker is the mean ``|SMD|`` of each covariate over the simulated
    experiments).

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or DataFrame
        The covariates of the units; or a result of
        :func:`~skassign.simulation.compare_designs` (then ``labels`` must be
        ``None``); or a table like :func:`balance_frame`'s (columns
        ``design``, ``covariate``, ``smd``).
    labels : array-like of shape (n_samples,), fitted design, dict or None
        One assignment (an array, or a fitted design or Pipeline ending in
        one), or a dict mapping design names to assignments.
    absolute : bool, default=True
        Plot ``|SMD|``; ``False`` keeps the sign (treated minus control).
    threshold : float or None, default=0.1
        Draw a reference line at this value (and its negative if signed).
    %(plot_ax_title_returns)s

    See Also
    --------
    balance_frame : The table that is drawn.
    skassign.metrics.standardized_mean_difference : The metric.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import CompleteRandomization, Rerandomization
    >>> from skassign.plotting import plot_balance
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> one = Rerandomization(acceptance_prob=0.05, random_state=0).fit(X)
    >>> ax = plot_balance(X, one)  # a single design
    >>> two = {"complete": CompleteRandomization(random_state=0).fit(X),
    ...        "rerandomization": one}
    >>> ax = plot_balance(X, two)  # several designs on the same units
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['x0', 'x1', 'x2']
    """
    if labels is None:
        table = _comparison_balance(X)
    else:
        table = balance_frame(X, labels, absolute=absolute)
    plt = import_pyplot("plot_balance")
    covariates = list(dict.fromkeys(table["covariate"]))
    designs = list(dict.fromkeys(table["design"]))
    if ax is None:
        height = max(2.5, 0.45 * len(covariates) + 1.5)
        _, ax = plt.subplots(figsize=(6.4, height))
    position = {c: i for i, c in enumerate(covariates)}
    markers = "osD^vP*Xhp"
    offsets = np.linspace(-0.15, 0.15, len(designs)) if len(designs) > 1 else [0.0]
    for k, design in enumerate(designs):
        part = table[table["design"] == design]
        y = np.array([position[c] for c in part["covariate"]]) + offsets[k]
        ax.scatter(
            part["smd"], y, marker=markers[k % len(markers)], label=design, zorder=3
        )
    if threshold is not None:
        ax.axvline(threshold, color="0.4", ls="--", lw=1)
        if not absolute or (table["smd"] < 0).any():
            ax.axvline(-threshold, color="0.4", ls="--", lw=1)
    ax.axvline(0.0, color="0.7", lw=0.8)
    ax.set_yticks(range(len(covariates)))
    ax.set_yticklabels(covariates)
    ax.set_ylim(len(covariates) - 0.5, -0.5)
    signed = (table["smd"] < 0).any()
    ax.set_xlabel(
        "Standardised mean difference" if signed else "|Standardised mean difference|"
    )
    ax.grid(axis="x", alpha=0.3)
    if len(designs) > 1 or designs != ["assignment"]:
        ax.legend(loc="best")
    if title is not None:
        ax.set_title(title)
    return ax


def _comparison_balance(table):
    """Return the per-covariate balance table of a comparison (or the table)."""
    if isinstance(table, pd.DataFrame):
        stored = getattr(table, "covariate_balance", None)
        if stored is not None:
            return pd.DataFrame(stored)
        if {"design", "covariate", "smd"} <= set(table.columns):
            return table
    raise ValueError(
        "plot_balance(X) without labels needs a result of compare_designs or a "
        "table with columns design, covariate and smd; to plot an assignment "
        "pass plot_balance(X, labels)."
    )
