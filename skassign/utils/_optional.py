"""Imports of optional dependencies, with an install hint when missing."""

from __future__ import annotations

import importlib

__all__ = ["import_pyplot"]


def import_pyplot(caller):
    """Import :mod:`matplotlib.pyplot` for ``caller`` or explain how to get it.

    Parameters
    ----------
    caller : str
        Name of the function that draws, used in the error message.

    Returns
    -------
    pyplot : module
        :mod:`matplotlib.pyplot`.

    Raises
    ------
    ImportError
        If matplotlib is not installed, naming the ``plot`` extra.
    """
    try:
        return importlib.import_module("matplotlib.pyplot")
    except ImportError as err:
        raise ImportError(
            f"{caller} needs matplotlib, an optional dependency. Install it "
            'with: pip install "skassign[plot]"'
        ) from err
