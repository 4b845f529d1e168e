"""Plots of designs and their diagnostics (needs matplotlib, the ``plot`` extra)."""

from skassign.plotting._layout import plot_layout
from skassign.plotting._trace import plot_trace
from skassign.plotting._tradeoff import plot_tradeoff

__all__ = ["plot_layout", "plot_trace", "plot_tradeoff"]
