"""Plots of designs and their diagnostics (needs matplotlib, the ``plot`` extra)."""

from skassign.plotting._balance import balance_frame, plot_balance
from skassign.plotting._comparison import plot_estimates, plot_power
from skassign.plotting._layout import plot_layout
from skassign.plotting._trace import plot_trace
from skassign.plotting._tradeoff import plot_tradeoff

__all__ = [
    "balance_frame",
    "plot_balance",
    "plot_estimates",
    "plot_layout",
    "plot_power",
    "plot_trace",
    "plot_tradeoff",
]
