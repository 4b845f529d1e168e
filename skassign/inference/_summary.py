"""The table returned by the ``summary()`` of a resampling test."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SummaryTable"]


def _format_number(value):
    """Four significant digits; blank for missing values."""
    return f"{value:.4g}" if np.isfinite(value) else ""


class SummaryTable(pd.DataFrame):
    """The ``summary()`` of a test: a DataFrame displayed readably.

    Every column is shown (no truncation), numbers with four significant
    digits, missing values blank, as text and as HTML in notebooks; the
    values themselves are kept unrounded.
    """

    @property
    def _constructor(self):
        return SummaryTable

    def __repr__(self):
        return self.to_string(float_format=_format_number, na_rep="")

    def _repr_html_(self):
        return self.to_html(float_format=_format_number, na_rep="")
