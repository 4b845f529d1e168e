import contextlib

import joblib
import numpy as np
import pytest

from skassign.base import BaseDesign


@pytest.fixture
def run_on_backend(request):
    """Return a function running ``func()`` under a named joblib backend."""

    def run(backend, func):
        if backend == "sequential":
            context = contextlib.nullcontext()
        elif backend == "dask":
            request.getfixturevalue("dask_client")
            context = joblib.parallel_config(backend="dask", n_jobs=2)
        else:
            context = joblib.parallel_config(backend=backend, n_jobs=2)
        with context:
            return func()

    return run


class SortedSplit(BaseDesign):
    """A deterministic design: alternate units sorted by the first covariate."""

    def __init__(self, n_groups=2, *, group_sizes=None, random_state=None):
        self.n_groups = n_groups
        self.group_sizes = group_sizes
        self.random_state = random_state

    def _assign(self, X, sizes, fixed, rng):
        labels = np.empty(X.shape[0], dtype=np.int64)
        labels[np.argsort(X[:, 0], kind="stable")] = np.arange(X.shape[0]) % 2
        return labels
