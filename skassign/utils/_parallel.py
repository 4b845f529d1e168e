"""Independent tasks run with joblib, their results in task order."""

from __future__ import annotations

import time

from joblib import effective_n_jobs
from sklearn.utils.parallel import Parallel, delayed

__all__ = ["parallel_in_order"]

# Seconds it takes to start process workers and import numpy, scikit-learn,
# skassign and its compiled kernels in them (measured on two cores; see
# benchmarks/bench_inference.py). Work shorter than this runs in threads.
_PROCESS_START_SECONDS = 2.0


def _indexed(function, index, args):
    return index, function(*args)


def parallel_in_order(function, arguments, *, n_jobs=None, verbose=0, bar=None):
    """Return ``[function(*args) for args in arguments]``, computed in parallel.

    Results are collected as the tasks finish, so that a progress bar ticks
    steadily, and put back in task order, so that the output does not depend
    on ``n_jobs`` or the joblib backend.

    With several workers the first task runs in the calling process and is
    timed: when the workers would save less time than it takes to start them
    (``_PROCESS_START_SECONDS``), the other tasks run in the calling process
    too (threads gain nothing on tasks that hold the GIL; on the 20 mice a
    1000-resample bootstrap takes 1.7 s this way and 3.6 s in threads).
    Otherwise joblib runs them with its backend (loky, or the one set with
    :func:`joblib.parallel_config`: dask, ray).

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
    results = [None] * len(arguments)
    first = 0
    if len(arguments) > 1 and effective_n_jobs(n_jobs) != 1:
        # Time the first task here: many tiny tasks (a small design refit a
        # thousand times) finish before workers would have started, and
        # Python-bound tasks gain nothing from threads, so they all run
        # here. The results are the same either way.
        tick = time.perf_counter()
        results[0] = function(*arguments[0])
        if bar is not None:
            bar.update(1)
        first = 1
        work = (time.perf_counter() - tick) * (len(arguments) - 1)
        n_workers = max(effective_n_jobs(n_jobs), 2)
        # Workers take ``_PROCESS_START_SECONDS + work / n_workers``.
        if work * (1 - 1 / n_workers) < _PROCESS_START_SECONDS:
            for index in range(1, len(arguments)):
                results[index] = function(*arguments[index])
                if bar is not None:
                    bar.update(1)
            return results
    tasks = Parallel(n_jobs=n_jobs, verbose=verbose, return_as="generator_unordered")(
        delayed(_indexed)(function, index, arguments[index])
        for index in range(first, len(arguments))
    )
    for index, value in tasks:
        results[index] = value
        if bar is not None:
            bar.update(1)
    return results
