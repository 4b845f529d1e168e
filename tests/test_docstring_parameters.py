"""Docstrings document exactly the parameters of the signatures, in order."""

import inspect
from importlib import import_module

import pytest

numpydoc = pytest.importorskip("numpydoc")
from numpydoc.docscrape import NumpyDocString  # noqa: E402

from skassign.utils.discovery import all_designs  # noqa: E402

PUBLIC_MODULES = [
    "skassign._cli",
    "skassign.base",
    "skassign.datasets",
    "skassign.designs",
    "skassign.exceptions",
    "skassign.inference",
    "skassign.metrics",
    "skassign.model_selection",
    "skassign.plotting",
    "skassign.simulation",
    "skassign.utils",
    "skassign.utils.discovery",
    "skassign.utils.validation",
]


def _public_objects():
    seen = {}
    for module_name in PUBLIC_MODULES:
        module = import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    # Every discovered design, the worked ones the tests add included.
    for _, cls in all_designs():
        seen[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return seen


def _callables():
    """Public functions, classes (their __init__) and their own methods."""
    for path, obj in sorted(_public_objects().items()):
        if inspect.isfunction(obj):
            yield path, obj, obj
            continue
        if "__init__" in vars(obj) and not inspect.isabstract(obj):
            yield path, obj, obj.__init__
        for name, member in sorted(vars(obj).items()):
            if name.startswith("_") or not inspect.isfunction(member):
                continue
            yield f"{path}.{name}", member, member


def _signature_names(func):
    names = []
    for p in inspect.signature(func).parameters.values():
        if p.name == "self":
            continue
        if p.kind == p.VAR_POSITIONAL:
            names.append(f"*{p.name}")
        elif p.kind == p.VAR_KEYWORD:
            names.append(f"**{p.name}")
        else:
            names.append(p.name)
    return names


def _documented_names(doc_owner):
    doc = NumpyDocString(inspect.getdoc(doc_owner) or "")
    names = []
    for param in doc["Parameters"]:
        names.extend(part.strip() for part in param.name.split(","))
    return names


CALLABLES = list(_callables())
IDS = [path for path, _, _ in CALLABLES]


@pytest.mark.parametrize("doc_owner, func", [(d, f) for _, d, f in CALLABLES], ids=IDS)
def test_docstring_parameters_match_the_signature(doc_owner, func):
    documented = _documented_names(doc_owner)
    assert documented == _signature_names(func)


@pytest.mark.parametrize("doc_owner", [d for _, d, _ in CALLABLES], ids=IDS)
def test_public_docstrings_have_a_summary(doc_owner):
    doc = NumpyDocString(inspect.getdoc(doc_owner) or "")
    assert doc["Summary"], "missing one-line summary"


def test_public_functions_and_classes_have_examples():
    missing = [
        path
        for path, obj in _public_objects().items()
        if not NumpyDocString(inspect.getdoc(obj) or "")["Examples"]
        and not issubclass(obj if inspect.isclass(obj) else type(None), Exception)
        and not path.startswith(("skassign.base.BaseDesign", "skassign.base.Design"))
    ]
    assert not missing, f"no Examples section: {missing}"
