"""Independent tasks run with joblib, their results in task order."""

from __future__ import annotations

import time

from joblib import effective_n_jobs
from sklearn.utils.parallel import Parallel, delayed

__all__ = ["parallel_in_order"]

# Seconds it takes to start process workers and import numpy, scikit-learn,
# skassign and its compiled kernels in them (measured on two cores; see
# benchmarks/bench_inference.py). Shorter work runs in the calling process.
_PROCESS_START_SECONDS = 2.0
# Tasks run in the calling process for at least this long before the
# decision, so that one task slowed by a busy machine does not decide it.
_CALIBRATION_SECONDS = 0.05


def _indexed(function, index, args):
    return index, function(*args)


def parallel_in_order(function, arguments, *, n_jobs=None, verbose=0, bar=None):
    """Return ``[function(*args) for args in arguments]``, computed in parallel.

    Results are collected as the tasks finish, so that a progress bar ticks
    steadily, and put back in task order, so that the output does not depend
    on ``n_jobs`` or the joblib backend.

    With several workers the first tasks (those started within
    ``_CALIBRATION_SECONDS``, at least one) run in the calling process and
    are timed: when the workers would save less time on the others than it
    takes to start them (``_PROCESS_START_SECONDS``), the other tasks run in
    the calling process too (threads gain nothing on tasks that hold the
    GIL; on the 20 mice a 1000-resample bootstrap takes about 1 s this way).
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
        # Time the first tasks here: many tiny tasks (a small design refit a
        # thousand times) finish before workers would have started, and
        # Python-bound tasks gain nothing from threads, so they all run
        # here. The results are the same either way.
        tick = time.perf_counter()
        elapsed = 0.0
        while first < len(arguments) and elapsed < _CALIBRATION_SECONDS:
            results[first] = function(*arguments[first])
            if bar is not None:
                bar.update(1)
            first += 1
            elapsed = time.perf_counter() - tick
        work = elapsed / first * (len(arguments) - first)
        n_workers = max(effective_n_jobs(n_jobs), 2)
        # Workers take ``_PROCESS_START_SECONDS + work / n_workers``.
        if work * (1 - 1 / n_workers) < _PROCESS_START_SECONDS:
            for index in range(first, len(arguments)):
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
