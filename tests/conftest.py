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


@pytest.fixture
def X_small():
    """Twenty units, three standard-normal covariates."""
    return np.random.default_rng(0).normal(size=(20, 3))


@pytest.fixture
def X_tiny():
    """Ten units, two covariates: small enough for brute force."""
    return np.random.default_rng(1).normal(size=(10, 2))
