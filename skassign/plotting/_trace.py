"""Convergence plot of annealing designs."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skassign.utils._docstrings import fill_doc
from skassign.utils._optional import import_pyplot
from skassign.utils._param_validation import HasMethods, validate_params
from skassign.utils.validation import final_step

__all__ = ["plot_trace"]


class _Design(HasMethods):
    """Constraint: an estimator (a design or a Pipeline ending in one)."""

    def __init__(self):
        super().__init__(["fit"])

    def __str__(self):
        return "a fitted design or a Pipeline ending in one"


@validate_params(
    {
        "design": [_Design()],
        "ax": [HasMethods(["plot", "set_xlabel"]), None],
        "show_current": ["boolean"],
        "label": [str, None],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def plot_trace(design, *, ax=None, show_current=True, label=None):
    """Plot the objective of an annealing design by iteration.

    The convergence plot that the R package minMSE and the Stata command
    ``minmse`` draw: the best objective found after every iteration, and,
    optionally, the objective of the assignment the annealing is at. A best
    curve that still falls at the last iteration asks for more
    ``iterations``; a current curve far above the best one for a lower
    starting temperature ``t0`` (or ``cooling=2``). Call it again with the
    same ``ax`` to compare runs.

    Read more in the :ref:`User Guide <minmse>`.

    Parameters
    ----------
    design : fitted design or Pipeline ending in one
        A design with ``trace_``, such as :class:`~skassign.designs.MinMSE`.
    %(plot_ax)s
    show_current : bool, default=True
        Also draw the current objective (``current_trace_``), if the design
        records it.
    label : str, default=None
        Legend label of the best-so-far curve (``"best"`` if ``None``).

    Returns
    -------
    %(plot_returns_ax)s

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs import MinMSE
    >>> from skassign.plotting import plot_trace
    >>> X = np.random.default_rng(0).normal(3.0, 1.0, size=(30, 2))
    >>> design = MinMSE(iterations=500, random_state=0).fit(X)
    >>> ax = plot_trace(design)
    >>> ax.get_xlabel(), len(ax.get_lines())
    ('Iteration', 2)
    """
    estimator = final_step(design)
    if not hasattr(estimator, "fit"):
        raise ValueError(
            f"plot_trace needs a fitted design; got {type(design).__name__}."
        )
    check_is_fitted(estimator)
    if not hasattr(estimator, "trace_"):
        raise ValueError(
            f"{type(estimator).__name__} records no trace_; plot_trace draws "
            "annealing designs such as MinMSE."
        )
    plt = import_pyplot("plot_trace")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    iterations = np.arange(estimator.trace_.shape[0])
    current = getattr(estimator, "current_trace_", None)
    if show_current and current is not None:
        ax.plot(iterations, current, lw=0.6, alpha=0.5, label="current")
    ax.plot(
        iterations, estimator.trace_, lw=1.5, label="best" if label is None else label
    )
    ax.set_xlabel("Iteration")
    ax.set_ylabel("Objective (lower is better)")
    ax.set_title(f"{type(estimator).__name__}: optimisation of the assignment")
    ax.legend()
    return ax
