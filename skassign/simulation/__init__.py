"""Simulation: compare designs over many simulated experiments.

:func:`compare_designs` runs whole experiments (covariates, assignment,
outcomes, estimate, test) under several designs, in parallel with joblib or
on a Dask cluster, reproducibly; the outcome models and covariate generators
here make a comparison a few lines.
"""

from skassign.simulation import _models
from skassign.simulation._compare import compare_designs
from skassign.simulation._models import *  # noqa: F403 (its __all__, re-exported)

__all__ = [*_models.__all__, "compare_designs"]
