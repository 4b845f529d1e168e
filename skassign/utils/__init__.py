"""Utilities: input validation, estimator discovery and randomness helpers."""

from skassign.utils._random import (
    child_rng,
    child_seed,
    set_random_states,
    spawn_seeds,
)
from skassign.utils.validation import check_fixed_labels, check_labels, get_labels

__all__ = [
    "check_fixed_labels",
    "check_labels",
    "child_rng",
    "child_seed",
    "get_labels",
    "set_random_states",
    "spawn_seeds",
]
