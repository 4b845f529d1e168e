import os

import numpy as np
import pytest
from hypothesis import settings

# Property tests draw a fixed sequence of examples, so that the outcome of the
# test command depends on the code alone. HYPOTHESIS_PROFILE=explore draws new
# random examples on every run, to look for failures the fixed ones miss.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Design discovery (skassign.utils.discovery) also walks the worked example
# designs, so that every common test (estimator checks, properties,
# docstrings, the CLI) runs on them: a design added there needs no
# registration. Subprocesses (the CLI tests) inherit the variable.
os.environ.setdefault("SKASSIGN_DISCOVERY", "tests.worked_designs")


@pytest.fixture(scope="session")
def dask_client():
    """One in-process Dask cluster and client for the whole test session.

    Every test that runs under ``joblib.parallel_config(backend="dask")``
    requests this fixture: a single cluster, closed (client first) when the
    session ends. With two clusters in one session (one kept for the
    session, another opened and closed by a module while the first was
    open), a client was left reconnecting to a closed in-process scheduler
    and tornado printed a traceback ("ConnectionPool is closed",
    CancelledError) at interpreter shutdown.
    """
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def X_small():
    """Twenty units, three standard-normal covariates."""
    return np.random.default_rng(0).normal(size=(20, 3))


@pytest.fixture
def X_tiny():
    """Ten units, two covariates: small enough for brute force."""
    return np.random.default_rng(1).normal(size=(10, 2))
