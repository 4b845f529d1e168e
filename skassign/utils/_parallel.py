"""Independent tasks run with joblib, their results in task order."""

from __future__ import annotations

from sklearn.utils.parallel import Parallel, delayed

__all__ = ["parallel_in_order"]


def _indexed(function, index, args):
    return index, function(*args)


def parallel_in_order(function, arguments, *, n_jobs=None, verbose=0, bar=None):
    """Return ``[function(*args) for args in arguments]``, computed in parallel.

    Results are collected as the tasks finish, so that a progress bar ticks
    steadily, and put back in task order, so that the output does not depend
    on ``n_jobs`` or the joblib backend.

    Parameters
    ----------
    function : callable
        Module-level function (picklable for process-based backends).
    arguments : iterable of tuple
        Positional arguments of every task.
    n_jobs : int or None, default=None
        Number of parallel jobs (joblib semantics).
    verbose : int, default=0
        joblib's verbosity.
    bar : tqdm progress bar or None, default=None
        Advanced by one as every task finishes.

    Returns
    -------
    results : list
        The tasks' results, in task order.

    Examples
    --------
    >>> from operator import add
    >>> from skassign.utils._parallel import parallel_in_order
    >>> parallel_in_order(add, [(1, 10), (2, 20), (3, 30)], n_jobs=2)
    [11, 22, 33]
    """
    arguments = list(arguments)
    tasks = Parallel(n_jobs=n_jobs, verbose=verbose, return_as="generator_unordered")(
        delayed(_indexed)(function, index, args) for index, args in enumerate(arguments)
    )
    results = [None] * len(arguments)
    for index, value in tasks:
        results[index] = value
        if bar is not None:
            bar.update(1)
    return results
