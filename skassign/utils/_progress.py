"""The progress bar of every long computation in skassign."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(progress, *, total, desc, unit):
    """Context manager yielding a tqdm progress bar, or ``None`` when off.

    Every public ``progress`` parameter of skassign goes through here, so that
    a bar looks and closes the same everywhere (also when the work raises).
    tqdm is imported only when a bar is shown.

    Parameters
    ----------
    progress : bool
        Whether to show a bar.
    total : int
        Number of steps (the bar's ``total`` may grow later).
    desc : str
        Label in front of the bar.
    unit : str
        Name of one step.

    Yields
    ------
    bar : tqdm.auto.tqdm or None
        The bar to advance (``bar.update(k)``), or ``None`` without one.

    Examples
    --------
    >>> from skassign.utils._progress import progress_bar
    >>> with progress_bar(False, total=10, desc="fits", unit="fit") as bar:
    ...     bar is None
    True
    """
    if not progress:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit)
    try:
        yield bar
    finally:
        bar.close()
