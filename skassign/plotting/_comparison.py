"""Plots of a design comparison: estimate distributions and power curves."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd

from skassign.utils._docstrings import fill_doc
from skassign.utils._optional import import_pyplot
from skassign.utils._param_validation import HasMethods, Interval, validate_params

__all__ = ["plot_estimates", "plot_power"]


def _check_comparison(result, caller):
    experiments = getattr(result, "experiments", None)
    if not isinstance(experiments, pd.DataFrame):
        raise ValueError(
            f"{caller} needs the table returned by "
            "skassign.simulation.compare_designs (it carries the experiments); "
            f"got {type(result).__name__}."
        )
    return experiments


def _check_columns(result, columns, caller):
    missing = [c for c in columns if c not in result.columns]
    if missing:
        raise ValueError(
            f"{caller} needs the columns {', '.join(columns)} of the table "
            "returned by skassign.simulation.compare_designs; missing: "
            f"{', '.join(missing)}."
        )


@validate_params(
    {
        "result": [pd.DataFrame],
        "effect": [Real, None],
        "bins": [Interval(Integral, 1, None, closed="left")],
        "ax": [HasMethods(["plot", "set_xlabel"]), None],
        "title": [str, None],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def plot_estimates(result, *, effect=None, bins=30, ax=None, title=None):
    """Distribution of the effect estimate per design over simulated experiments.

    The comparison figure of the optimisation-design case study: one
    histogram per design of the estimates from
    :func:`~skassign.simulation.compare_designs`, on common bins, with the
    true effect marked. A narrower histogram is a more precise design.

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    result : pandas.DataFrame
        The result of :func:`~skassign.simulation.compare_designs`.
    effect : float or None, default=None
        Which simulated effect to draw; ``None`` takes the last one.
    bins : int, default=30
        Number of common histogram bins.
    %(plot_ax)s
    title : str, default=None
        Title of the axes (a default names the effect).

    Returns
    -------
    %(plot_returns_ax)s

    See Also
    --------
    plot_power : Rejection rate by effect.

    Examples
    --------
    >>> from skassign.designs import CompleteRandomization, Rerandomization
    >>> from skassign.plotting import plot_estimates
    >>> from skassign.simulation import (
    ...     LinearOutcome, NormalCovariates, compare_designs)
    >>> table = compare_designs(
    ...     {"complete": CompleteRandomization(),
    ...      "rerandomization": Rerandomization(acceptance_prob=0.05)},
    ...     NormalCovariates(20, 2), LinearOutcome(noise_sd=0.5),
    ...     effects=[1.0], n_experiments=50, random_state=0)
    >>> ax = plot_estimates(table)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['complete', 'rerandomization', 'true effect']
    """
    experiments = _check_comparison(result, "plot_estimates")
    effects = list(dict.fromkeys(result["effect"]))
    if effect is None:
        effect = effects[-1]
    if float(effect) not in effects:
        raise ValueError(f"effect {effect} was not simulated; choose one of {effects}.")
    designs = list(dict.fromkeys(result["design"]))
    part = experiments[
        (experiments["effect"] == float(effect))
        & ~experiments["failed"]
        & experiments["design"].isin(designs)
    ]
    plt = import_pyplot("plot_estimates")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    values = part["estimate"].to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError(f"No experiment at effect {effect} has an estimate to draw.")
    low, high = values.min(), values.max()
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, int(bins) + 1)
    for name in designs:
        est = part.loc[part["design"] == name, "estimate"].to_numpy(dtype=np.float64)
        est = est[np.isfinite(est)]
        if est.size == 0:
            continue
        ax.hist(est, bins=edges, histtype="stepfilled", alpha=0.35, label=name)
        ax.hist(
            est, bins=edges, histtype="step", lw=1.2, color=ax.patches[-1].get_fc()[:3]
        )
    ax.axvline(float(effect), color="k", ls="--", lw=1, label="true effect")
    ax.set_xlabel("Estimated effect")
    ax.set_ylabel("Experiments")
    ax.set_title(
        title
        if title is not None
        else f"Estimates over experiments (effect {effect:g})"
    )
    ax.legend()
    return ax


@validate_params(
    {
        "result": [pd.DataFrame],
        "ax": [HasMethods(["plot", "set_xlabel"]), None],
        "title": [str, None],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def plot_power(result, *, ax=None, title=None):
    """Power curves: the rejection rate of each design by effect.

    The rejection rates of :func:`~skassign.simulation.compare_designs` with
    error bars of two Monte Carlo standard errors and a line at the test's
    level ``alpha``: at effect 0 the curve should sit on that line (the
    test's size), above it the higher curve is the more powerful design.

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    result : pandas.DataFrame
        The result of :func:`~skassign.simulation.compare_designs`, or that
        table read back from a file: only its columns ``design``, ``effect``,
        ``rejection_rate`` and ``rejection_se`` are drawn.
    %(plot_ax_title_returns)s

    See Also
    --------
    plot_estimates : Distribution of the estimate per design.

    Examples
    --------
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.plotting import plot_power
    >>> from skassign.simulation import (
    ...     LinearOutcome, NormalCovariates, compare_designs)
    >>> table = compare_designs(
    ...     {"complete": CompleteRandomization()}, NormalCovariates(20, 1),
    ...     LinearOutcome(noise_sd=0.5), effects=[0.0, 0.5, 1.0],
    ...     n_experiments=40, random_state=0)
    >>> ax = plot_power(table)
    >>> ax.get_ylabel()
    'Rejection rate'
    """
    # Only the summary columns are drawn: a table read back from a file works.
    _check_columns(
        result, ["design", "effect", "rejection_rate", "rejection_se"], "plot_power"
    )
    plt = import_pyplot("plot_power")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    for name in dict.fromkeys(result["design"]):
        part = result[result["design"] == name].sort_values("effect")
        ax.errorbar(
            part["effect"],
            part["rejection_rate"],
            yerr=2 * part["rejection_se"].fillna(0.0),
            marker="o",
            capsize=3,
            label=name,
        )
    alpha = getattr(result, "alpha", None)
    if alpha is not None:
        ax.axhline(alpha, color="0.4", ls="--", lw=1, label=f"alpha = {alpha:g}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Effect")
    ax.set_ylabel("Rejection rate")
    ax.set_title(title if title is not None else "Size (effect 0) and power")
    ax.legend()
    return ax
