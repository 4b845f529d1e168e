"""Every public function rejects invalid parameters with a clear message.

Modelled on scikit-learn's and imbalanced-learn's ``test_public_functions``:
each public function declares its parameter constraints with
``validate_params``, and a value of the wrong type, or of the right type but
outside the allowed values, raises ``InvalidParameterError`` naming the
parameter.
"""

import inspect
from importlib import import_module
from numbers import Integral, Real

import pytest

from skassign.utils._param_validation import (
    Interval,
    InvalidParameterError,
    generate_invalid_param_val,
    generate_valid_param,
    make_constraint,
)

PUBLIC_MODULES = [
    "skassign.base",
    "skassign.datasets",
    "skassign.inference",
    "skassign.metrics",
    "skassign.model_selection",
    "skassign.plotting",
    "skassign.simulation",
    "skassign.utils",
    "skassign.utils.discovery",
]

# Functions without validate_params, each with the reason.
EXEMPT = {
    # Low-level kernel on arrays that BaseDesign has already validated.
    "skassign.base.draw_assignments",
    # Accepts any object and answers a yes/no question about it.
    "skassign.base.is_design",
    # Validators themselves: their checks are the tested behaviour.
    "skassign.utils.check_fixed_labels",
    "skassign.utils.check_labels",
    "skassign.utils.get_labels",
    # Seeding helpers that accept every random_state form, incl. SeedSequence.
    "skassign.utils.child_rng",
    "skassign.utils.child_seed",
    "skassign.utils.set_random_states",
    "skassign.utils.spawn_seeds",
    # Discovery: type_filter is checked and tested in test_discovery.py.
    "skassign.utils.discovery.all_designs",
    "skassign.utils.discovery.all_estimators",
}


def _public_functions():
    for module_name in PUBLIC_MODULES:
        module = import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{module_name}.{name}"


PUBLIC_FUNCTIONS = sorted(set(_public_functions()))


def test_the_list_of_public_functions_is_complete():
    assert "skassign.metrics.balance_table" in PUBLIC_FUNCTIONS
    assert "skassign.datasets.make_tumor_mice" in PUBLIC_FUNCTIONS
    assert EXEMPT <= set(PUBLIC_FUNCTIONS)


@pytest.mark.parametrize("func_path", [f for f in PUBLIC_FUNCTIONS if f not in EXEMPT])
def test_function_param_validation(func_path):
    module_name, func_name = func_path.rsplit(".", 1)
    func = getattr(import_module(module_name), func_name)
    constraints = getattr(func, "_skl_parameter_constraints", None)
    assert constraints is not None, (
        f"{func_path} has no validate_params decorator; decorate it or add it to "
        "EXEMPT with a reason."
    )
    signature = inspect.signature(func)
    params = [
        p.name
        for p in signature.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    required = [
        p.name
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert set(constraints) == set(params), (
        f"The constraints of {func_path} do not match its parameters."
    )
    valid_required = {
        name: generate_valid_param(make_constraint(constraints[name][0]))
        for name in required
    }
    bad_type = type("BadType", (), {})()
    match = rf"The '{{}}' parameter of {func_name} must be .* Got .* instead."
    for name in params:
        options = constraints[name]
        if options == "no_validation":
            continue
        # An Interval of integers next to one of reals is ambiguous.
        assert not (
            any(isinstance(c, Interval) and c.type == Integral for c in options)
            and any(isinstance(c, Interval) and c.type == Real for c in options)
        ), f"{func_path}: mixed Integral and Real intervals for {name!r}."
        with pytest.raises(InvalidParameterError, match=match.format(name)):
            func(**{**valid_required, name: bad_type})
        for constraint in (make_constraint(c) for c in options):
            try:
                bad_value = generate_invalid_param_val(constraint)
            except NotImplementedError:
                continue
            with pytest.raises(InvalidParameterError, match=match.format(name)):
                func(**{**valid_required, name: bad_value})
