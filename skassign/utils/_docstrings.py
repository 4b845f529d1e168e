"""Parameter and attribute descriptions shared by several docstrings.

A docstring line holding only ``%(name)s`` is replaced by the entry ``name``
below, indented like that line, when the class or function is decorated
with :func:`fill_doc`. The text of a parameter that means the same
everywhere is then written once.
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["fill_doc"]

_SHARED = {
    "X_units": """\
X : array-like of shape (n_samples, n_features)
    Covariates of the units to assign.
y : None
    Ignored.""",
    "n_groups": """\
n_groups : int, default=2
    Number of groups (arms).""",
    "group_sizes": """\
group_sizes : array-like of int or None, default=None
    Size of every group, summing to the number of units. ``None`` makes
    the sizes as equal as possible; which groups get an extra unit is
    drawn from ``random_state``.""",
    "fitted_labels": """\
labels_ : ndarray of shape (n_samples,), dtype int64
    Group of each fitted unit.
group_sizes_ : ndarray of shape (n_groups,), dtype int64
    Size of every group.""",
    "fitted_features": """\
n_features_in_ : int
    Number of covariates seen in ``fit``.
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Covariate names, when ``X`` has string column names.""",
    "solver": """\
solver : str, default="pyscipopt"
    ``"pyscipopt"`` builds the model directly in SCIP (fastest); any
    other name is a cvxpy solver with integer support, for example
    ``"HIGHS"`` or ``"SCIP"``.""",
    "solver_params": """\
solver_params : dict or None, default=None
    Solver options. With ``solver="pyscipopt"``, SCIP parameters such as
    ``{"limits/solutions": 10}``; otherwise keyword arguments of
    ``cvxpy.Problem.solve``, such as ``{"verbose": True}``. They override
    the options set from the parameters below.""",
    "node_limit": """\
node_limit : int or None, default=None
    Branch-and-bound node limit. Unlike ``time_limit`` it gives the same
    assignment on every machine.""",
    "mip_gap": """\
mip_gap : float, default=0.0
    Relative optimality gap at which the solver may stop; reaching it is
    not treated as a limit.""",
    "fallback": """\
fallback : design or None, default=None
    Design used if the solver fails without an assignment; ``None``
    raises :class:`~skassign.exceptions.SolverError`.""",
    "solver_verbose": """\
verbose : int, default=0
    0 is silent, 1 prints a summary of each stage, 2 also shows the
    solver log.""",
    "n_jobs": """\
n_jobs : int or None, default=None
    Number of parallel jobs (joblib semantics).""",
    "joblib_verbose": """\
verbose : int, default=0
    joblib's verbosity.""",
    "progress": """\
progress : bool, default=False
    Show a progress bar (tqdm) that advances as the fits finish.""",
    "control": """\
control : int, default=0
    Control arm; every other arm is compared with it.""",
}

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(obj):
    """Replace the ``%(name)s`` lines of ``obj``'s docstring by shared entries.

    Parameters
    ----------
    obj : class or function
        Its ``__doc__`` is rewritten in place.

    Returns
    -------
    obj : class or function
        The same object, for use as a decorator.

    Examples
    --------
    >>> from skassign.utils._docstrings import fill_doc
    >>> @fill_doc
    ... def f(n_jobs=None):
    ...     '''Do nothing.
    ...
    ...     Parameters
    ...     ----------
    ...     %(n_jobs)s
    ...     '''
    >>> print(f.__doc__.splitlines()[4].strip())
    n_jobs : int or None, default=None
    """

    def entry(match):
        return textwrap.indent(_SHARED[match.group(2)], match.group(1))

    if obj.__doc__:
        obj.__doc__ = _PLACEHOLDER.sub(entry, obj.__doc__)
    return obj
