"""Discovery of skassign's public estimators."""

from __future__ import annotations

import inspect
import os
import pkgutil
from importlib import import_module
from operator import itemgetter
from pathlib import Path

from sklearn.base import BaseEstimator

__all__ = ["all_designs", "all_estimators"]


# Environment variable naming further packages (or modules) to discover
# estimators in, separated by commas: the test suite sets it to its package of
# worked example designs, so that every common test runs on them.
DISCOVERY_ENV = "SKASSIGN_DISCOVERY"


def _extra_modules():
    """Modules named by ``SKASSIGN_DISCOVERY``, with a package's submodules.

    Yields ``(module, prefix)``: only classes defined below ``prefix`` count.
    """
    for name in filter(None, os.environ.get(DISCOVERY_ENV, "").split(",")):
        module = import_module(name.strip())
        yield module, module.__name__
        if hasattr(module, "__path__"):
            for _, sub, _ in pkgutil.walk_packages(
                module.__path__, prefix=module.__name__ + "."
            ):
                yield import_module(sub), module.__name__


def _modules():
    """Walk the modules of skassign (not tests nor the CLI), then the extra ones."""
    root = Path(__file__).parent.parent
    for _, module_name, _ in pkgutil.walk_packages([str(root)], prefix="skassign."):
        parts = module_name.split(".")
        if "tests" in parts or parts[-1] in {"_cli", "__main__"}:
            continue
        yield import_module(module_name), "skassign"
    yield from _extra_modules()


def all_estimators(type_filter=None):
    """List skassign's public estimators.

    Walks the package (tests excluded) and returns every concrete class that
    inherits from :class:`~sklearn.base.BaseEstimator` and whose name does not
    start with ``_`` or ``Base``. The packages or modules named in the
    environment variable ``SKASSIGN_DISCOVERY`` (comma-separated) are walked
    too: skassign's test suite adds its worked example designs that way.

    Parameters
    ----------
    type_filter : {"design"} or None, default=None
        ``"design"`` keeps the designs only.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from skassign.utils.discovery import all_estimators
    >>> "CompleteRandomization" in dict(all_estimators("design"))
    True
    """
    found = {}
    for module, prefix in _modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and (cls.__module__ + ".").startswith(prefix + ".")
                and not name.startswith(("_", "Base"))
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    estimators = sorted(found.items(), key=itemgetter(0))
    if type_filter == "design":
        return [(name, cls) for name, cls in estimators if _is_design_class(cls)]
    if type_filter is not None:
        raise ValueError(f"type_filter must be None or 'design'; got {type_filter!r}.")
    return estimators


def _is_design_class(cls):
    """Whether instances of ``cls`` are designs.

    Estimators that need constructor arguments (a test wrapping a design, a
    meta-estimator) are not designs themselves.
    """
    from skassign.base import is_design

    try:
        instance = cls()
    except TypeError:
        return False
    return is_design(instance)


def all_designs():
    """List skassign's public designs.

    Returns
    -------
    designs : list of (str, type)
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from skassign.utils.discovery import all_designs
    >>> [name for name, _ in all_designs()][:3]
    ['BatchLayout', 'BlockRandomization', 'CompleteRandomization']
    """
    return all_estimators("design")
