"""Exceptions and warnings raised by skassign."""

__all__ = ["InfeasibleDesignError", "SolverError", "SolverWarning"]


class InfeasibleDesignError(ValueError):
    """No assignment satisfies the design's constraints.

    Raised, for example, when fixed units already exceed a group's size or a
    solver proves its model infeasible.
    """


class SolverError(RuntimeError):
    """A solver stopped without any feasible assignment.

    The message names the solver and the status it reported.
    """


class SolverWarning(UserWarning):
    """A solver stopped at a limit; the best feasible assignment is returned.

    The message names the status and the remaining optimality gap.
    """
