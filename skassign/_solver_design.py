"""The solve step of :class:`~skassign.base.BaseSolverDesign`.

:class:`SolverDesignMixin` runs a solver design's ``_solve`` inside
:meth:`~skassign.base.BaseDesign.fit`: it turns the solver parameters into
the engine's options (and refuses a solver that cannot honour them before any
work), solves a design's :class:`~skassign.utils._mip.LinearMIP`, sets the
fitted status attributes from the solve record, warns when a limit stopped
the solver, and assigns with the ``fallback`` design when the solver failed.
The contract itself (parameters, documentation, the ``_solve`` hook) is
:class:`~skassign.base.BaseSolverDesign`, which combines this mixin with
:class:`~skassign.base.BaseDesign`.
"""

from __future__ import annotations

import inspect
import time
import warnings

import numpy as np
from sklearn.base import clone

from skassign.exceptions import SolverError, SolverWarning
from skassign.utils._mip import solve_mip
from skassign.utils._random import child_seed, set_random_states
from skassign.utils._solver import (
    SolveOutcome,
    check_solve_result,
    check_solver,
    relative_gap,
    solver_options,
    warn_at_limit,
)
from skassign.utils.validation import get_labels

__all__ = ["SolverDesignMixin"]


class SolverDesignMixin:
    """Solve step of solver designs (see :class:`~skassign.base.BaseSolverDesign`).

    It expects the solver parameters as attributes and a ``_solve`` method;
    it precedes :class:`~skassign.base.BaseDesign` among the bases, whose
    ``_check_params``, ``_supports_strata``, ``_assign`` and ``_finish_fit``
    it overrides.
    """

    def _engine_options(self, seed=0, *, time_limit=None, tolerance=None, light=False):
        """Return the engine and its options, from the solver parameters."""
        engine = check_solver(self.solver, integer=True)
        return solver_options(
            engine,
            time_limit=self.time_limit if time_limit is None else time_limit,
            node_limit=self.node_limit,
            mip_gap=self.mip_gap,
            seed=seed,
            tolerance=tolerance,
            solver_params=self.solver_params,
            verbose=self.verbose,
            light=light,
            owner=type(self).__name__,
        )

    def _check_params(self):
        # Refuse a solver that is missing, cannot handle integers or cannot
        # honour the limits now, before any search or model building.
        if self._uses_solver():
            self._engine_options()

    def _solve_mip(
        self,
        mip,
        seed,
        *,
        warm=None,
        time_limit=None,
        tolerance=None,
        light=False,
        deadline=None,
    ):
        """Solve ``mip`` with the design's solver, limits and options.

        Parameters
        ----------
        mip : LinearMIP
            The model.
        seed : int
            Seed of the solver (draw it with
            :func:`~skassign.utils.child_seed`).
        warm : ndarray or None, default=None
            A feasible solution to start from.
        time_limit : float or None, default=None
            Seconds left for the solver; ``None`` gives it ``self.time_limit``.
        tolerance : float or None, default=None
            Feasibility tolerance (``None``: the solver's).
        light : bool, default=False
            Switch SCIP's presolving, heuristics and cuts off (small models).
        deadline : float or None, default=None
            ``time.perf_counter()`` value by which solving must end: model
            building counts against it (see
            :func:`~skassign.utils._mip.solve_mip`).

        Returns
        -------
        result : SolveResult
            The solver's result, which has a solution.

        Raises
        ------
        InfeasibleDesignError
            If the solver proves that no assignment exists.
        SolverError
            If it stops without a solution.
        """
        options = self._engine_options(
            seed, time_limit=time_limit, tolerance=tolerance, light=light
        )
        return check_solve_result(solve_mip(mip, options, warm=warm, deadline=deadline))

    def _supports_strata(self):
        return "strata" in inspect.signature(self._solve).parameters

    def _finish_fit(self):
        # The status is set from the fitted objective_: the objective is
        # evaluated once per fit (a small design's solve takes less).
        record, solve_time = self._solve_record
        del self._solve_record
        self._set_status(record, self.objective_, solve_time)

    def _assign(self, X, sizes, fixed, rng, strata=None):
        self.fallback_ = None
        start = time.perf_counter()
        try:
            if strata is None:
                labels, record = self._solve(X, sizes, fixed, rng)
            else:
                labels, record = self._solve(X, sizes, fixed, rng, strata=strata)
        except SolverError as err:
            if self.fallback is None:
                raise
            labels = self._fit_fallback(X, sizes, fixed, rng, err, strata)
            record = SolveOutcome("fallback")
        self._solve_record = (record, time.perf_counter() - start)
        return labels

    def _set_status(self, record, objective, solve_time):
        """Set the fitted status attributes; print and warn as asked.

        ``objective`` is the design's objective at the fitted labels. A
        record with ``bound_is_objective`` (an exhaustive search) has it as
        its bound: the search's own sums may differ from it in the last bit.
        """
        if getattr(record, "bound_is_objective", False):
            bound = objective
        else:
            bound = record.bound
            bound = min(bound, objective) if np.isfinite(bound) else np.nan
        self.status_ = record.status
        self.bound_ = float(bound)
        self.gap_ = relative_gap(objective, bound) if np.isfinite(bound) else np.nan
        if record.status == "optimal":
            self.gap_ = 0.0
        self.n_nodes_ = int(record.n_nodes)
        self.solve_time_ = solve_time
        if record.solver is None:
            return
        if self.verbose:
            print(
                f"[{type(self).__name__}] {record.solver}: status {record.status}, "
                f"objective {objective:.6g}, bound {self.bound_:.6g}, "
                f"{self.n_nodes_} nodes ({self.solve_time_:.3f} s)"
            )
        warn_at_limit(
            record.status, objective, bound, solver=record.solver, stacklevel=6
        )

    def _fit_fallback(self, X, sizes, fixed, rng, err, strata=None):
        """Assign with a clone of ``fallback`` after a solver failure."""
        design = clone(self.fallback)
        params = design.get_params(deep=True)
        sized = {}
        for key in params:
            if key == "n_groups" or key.endswith("__n_groups"):
                sized[key] = int(sizes.shape[0])
            if key == "group_sizes" or key.endswith("__group_sizes"):
                sized[key] = sizes.tolist()
        design.set_params(**sized)
        set_random_states(design, child_seed(rng))
        warnings.warn(
            f"{type(self).__name__}: {err} Falling back to {type(design).__name__}.",
            SolverWarning,
            stacklevel=6,
        )
        steps = getattr(design, "steps", None)
        prefix = f"{steps[-1][0]}__" if steps else ""
        params = {}
        if np.any(fixed >= 0):
            params[f"{prefix}fixed_labels"] = fixed
        if strata is not None:
            params[f"{prefix}strata"] = strata.codes
        design.fit(X, **params)
        labels = np.asarray(get_labels(design))
        counts = np.bincount(labels, minlength=sizes.shape[0])
        if labels.shape != fixed.shape or not np.array_equal(counts, sizes):
            raise ValueError(
                f"The fallback design {type(design).__name__} returned group "
                f"sizes {counts.tolist()} instead of {sizes.tolist()}; use a "
                "fallback with n_groups and group_sizes parameters, such as "
                "CompleteRandomization()."
            ) from err
        if strata is not None:
            # The fallback spread the strata itself (ties may fall elsewhere).
            strata.counts = strata.table(labels)
        self.fallback_ = design
        return labels
