"""The one place where scikit-learn's private validation API is imported.

An upstream change to these private names then touches this file only. The
value generators (``generate_invalid_param_val`` and friends) serve the tests
that every public function rejects invalid parameters.
"""

from weakref import WeakKeyDictionary

from sklearn.base import BaseEstimator, _fit_context
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

# Per estimator class: its __init__ and parameter names; its constraints dict
# and the constraint objects built from it.
_PARAM_NAMES = WeakKeyDictionary()
_CONSTRAINTS = WeakKeyDictionary()


def param_names(cls):
    """scikit-learn's ``_get_param_names`` of ``cls``, read once per class.

    scikit-learn reads the signature of ``__init__`` on every ``get_params``
    (every ``fit``'s parameter check, ``clone`` and ``set_params``), which
    costs more than a small design's assignment. The names are kept with the
    ``__init__`` they were read from and read again if it changes.
    """
    init = cls.__init__
    cached = _PARAM_NAMES.get(cls)
    if cached is None or cached[0] is not init:
        cached = (init, tuple(BaseEstimator._get_param_names.__func__(cls)))
        _PARAM_NAMES[cls] = cached
    return list(cached[1])


def validate_estimator_params(estimator):
    """``estimator._validate_params()`` of scikit-learn, with constraints built once.

    scikit-learn turns every entry of ``_parameter_constraints`` into a
    constraint object on every ``fit``; here they are built once per class
    (again if the class's dict is replaced). A parameter that satisfies none
    of its constraints is left to scikit-learn's own check, which raises its
    usual ``InvalidParameterError``.
    """
    cls = type(estimator)
    constraints = cls._parameter_constraints
    cached = _CONSTRAINTS.get(cls)
    if cached is None or cached[0] is not constraints:
        built = {
            name: [make_constraint(c) for c in options]
            for name, options in constraints.items()
            if options != "no_validation"
        }
        cached = (constraints, built)
        _CONSTRAINTS[cls] = cached
    params = estimator.get_params(deep=False)
    for name, value in params.items():
        options = cached[1].get(name)
        if options is not None and not any(c.is_satisfied_by(value) for c in options):
            validate_parameter_constraints(constraints, params, cls.__name__)
