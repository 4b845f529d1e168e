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
    "n_groups": """\
n_groups : int, default=2
    Number of groups (arms).""",
    "group_sizes": """\
group_sizes : array-like of int or None, default=None
    Size of every group, summing to the number of units. ``None`` makes
    the sizes as equal as possible.""",
    "design_X_y": """\
X : array-like of shape (n_samples, n_features)
    Covariates of the units to assign.
y : None
    Ignored.""",
    "fitted_labels": """\
labels_ : ndarray of shape (n_samples,), dtype int64
    Group of each unit.
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
    "metric_X_labels": """\
X : array-like of shape (n_samples, n_features)
    Covariates.
labels : array-like of shape (n_samples,)
    Group of each unit.""",
    "batch_labels": """\
labels : array-like of shape (n_samples,)
    Batch of every unit, ``0..n_batches-1``.""",
    "plot_ax": """\
ax : matplotlib.axes.Axes, default=None
    Axes to draw on; ``None`` creates a new figure.""",
    "plot_returns_ax": """\
ax : matplotlib.axes.Axes
    The axes drawn on.""",
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
    # The arguments of a splitter's ``split`` that it reads.
    "split_X_y": """\
Parameters
----------
X : array-like of shape (n_samples, n_features)
    Covariates of the units.
y : array-like of shape (n_samples,), default=None
    Outcomes; only their length is checked.""",
    # Arguments of scikit-learn's splitter methods that a splitter ignores.
    "ignored_X": """\
X : object
    Ignored, exists for compatibility.""",
    "ignored_y_groups": """\
y : object
    Ignored, exists for compatibility.
groups : object
    Ignored, exists for compatibility.""",
    # The local searches of OptimalBalance (designs/_optimal_search.py).
    "search_start": """\
problem : _Problem
    The problem.
labels : ndarray of shape (n_free,)
    Starting labels of the free units (honouring the capacities).""",
    "alternative": """\
alternative : {"two-sided", "less", "greater"}, default="two-sided"
    Alternative hypothesis.""",
    # The arms a statistic compares (inference/_statistics.py).
    "compared_arms": """\
n_groups : int
    Number of groups.
treated : ndarray of shape (n_comparisons,)
    Treated arms.
control : int
    Control arm.""",
    # Fitted attributes of the resampling tests (skassign.inference).
    "test_statistic_": """\
statistic_ : float or ndarray of shape (n_groups - 1,)
    Observed statistic of every treated arm (a float for two arms).
effect_ : float or ndarray of shape (n_groups - 1,)
    Estimated additive effect (Lin's estimate for
    ``"regression_adjusted"``, the difference in means otherwise).""",
    "test_interval_": """\
confidence_interval_ : ndarray of shape (2,) or (n_groups - 1, 2) or None
    ``(low, high)`` of every arm's additive effect (see Notes).
global_statistic_ : float
    Largest statistic over the treated arms, in absolute value for
    two-sided tests and negated for ``alternative="less"`` (so larger is
    always more extreme).""",
    "test_arms_": """\
n_groups_ : int
    Number of arms.
control_ : int
    Control arm.
treated_arms_ : ndarray of shape (n_groups - 1,)
    Treated arms, in the order of the statistics.""",
}

# The run-time parameters of every resampling test, in signature order.
_SHARED["test_runtime"] = "\n".join(
    [
        _SHARED["control"],
        _SHARED["n_jobs"],
        """\
random_state : int, RandomState instance or None, default=None
    Root seed of the resamples.""",
        _SHARED["joblib_verbose"],
        _SHARED["progress"],
    ]
)

# Parameters and return of a per-pair balance metric.
_SHARED["pair_metric_io"] = "\n".join(
    [
        "Parameters",
        "----------",
        _SHARED["metric_X_labels"],
        "",
        "Returns",
        "-------",
        "values : ndarray of shape (n_pairs, n_features)",
        "    One row per pair of arms (see :func:`standardized_mean_difference`).",
    ]
)

# The last parameters and the return of a plot with a title.
_SHARED["plot_ax_title_returns"] = "\n".join(
    [
        _SHARED["plot_ax"],
        "title : str, default=None",
        "    Title of the axes.",
        "",
        "Returns",
        "-------",
        _SHARED["plot_returns_ax"],
    ]
)

# The parameters and return of a splitter's ``get_n_splits``.
_SHARED["splitter_n_splits"] = "\n".join(
    [
        "Parameters",
        "----------",
        _SHARED["ignored_X"],
        _SHARED["ignored_y_groups"],
        "",
        "Returns",
        "-------",
        "n_splits : int",
        "    Number of splits.",
    ]
)

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
