"""The one place where scikit-learn's private validation API is imported.

An upstream change to these private names then touches this file only. The
value generators (``generate_invalid_param_val`` and friends) serve the tests
that every public function rejects invalid parameters.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    generate_invalid_param_val,
    generate_valid_param,
    make_constraint,
    validate_parameter_constraints,
    validate_params,
)

__all__ = [
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "generate_invalid_param_val",
    "generate_valid_param",
    "make_constraint",
    "validate_parameter_constraints",
    "validate_params",
]
