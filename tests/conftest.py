import numpy as np
import pytest


@pytest.fixture
def X_small():
    """Twenty units, three standard-normal covariates."""
    return np.random.default_rng(0).normal(size=(20, 3))


@pytest.fixture
def X_tiny():
    """Ten units, two covariates: small enough for brute force."""
    return np.random.default_rng(1).normal(size=(10, 2))
