"""Discovery of skassign's public estimators."""

from __future__ import annotations

import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter
from pathlib import Path

from sklearn.base import BaseEstimator

__all__ = ["all_designs", "all_estimators"]


def all_estimators(type_filter=None):
    """List skassign's public estimators.

    Walks the package (tests excluded) and returns every concrete class that
    inherits from :class:`~sklearn.base.BaseEstimator` and whose name does not
    start with ``_`` or ``Base``.

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
    root = Path(__file__).parent.parent
    found = {}
    for _, module_name, _ in pkgutil.walk_packages([str(root)], prefix="skassign."):
        parts = module_name.split(".")
        if "tests" in parts or parts[-1] in {"_cli", "__main__"}:
            continue
        module = import_module(module_name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__.startswith("skassign.")
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
    >>> [name for name, _ in all_designs()][:2]
    ['BlockRandomization', 'CompleteRandomization']
    """
    return all_estimators("design")
