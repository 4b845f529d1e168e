"""BatchLayout's local search: score problems over slots, move classes, autoscaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skassign.designs._batch_search import (
    CallableProblem,
    EngineProblem,
    LayoutSearch,
    MeansProblem,
    OsatProblem,
    SeparationProblem,
    run_engine,
)
from skassign.metrics._layout import whiten


@dataclass
class LayoutUnits:
    """The units and batches of one layout problem, as the search stage sees them.

    Attributes
    ----------
    frame : DataFrame
        The covariates (normalised by ``_validate_X``).
    spec : dict
        Columns of every constraint and score (``_columns``).
    cells : ndarray of shape (n_samples,)
        OSAT cell of every unit (``-1``: not scored).
    capacities : ndarray of shape (n_batches,)
        Places of every batch.
    groups : ndarray of shape (n_samples,) or None
        Keep-together group of every unit (``None``: no cages).
    separate : ndarray of shape (n_samples, n_sep)
        Keep-separate value codes.
    exact : bool
        Whether every batch is filled exactly.
    fixed : ndarray of shape (n_samples,)
        Fixed batch of every unit, ``-1`` if free.
    """

    frame: pd.DataFrame
    spec: dict
    cells: np.ndarray
    capacities: np.ndarray
    groups: np.ndarray | None = None
    separate: np.ndarray | None = None
    exact: bool = True
    fixed: np.ndarray | None = None

    @property
    def n_samples(self):
        return self.frame.shape[0]


class LayoutSearchMixin:
    """The search stage of BatchLayout (after the count model)."""

    # ----------------------------------------------------------------- search
    def _problems(self, units, labels, n_slots, osat_bound):
        """One problem per score, over the slots (units then empty places)."""
        frame, spec, cells = units.frame, units.spec, units.cells
        capacities, n_samples = units.capacities, units.n_samples
        problems = []
        for item in spec["scores"]:
            if item == "osat":
                share = capacities / capacities.sum()
                scored = cells[cells >= 0]
                n_cells = int(scored.max()) + 1 if scored.size else 0
                expected = (
                    share[:, None] * np.bincount(scored, minlength=n_cells)[None, :]
                )
                slot_cells = np.full(n_slots, -1, dtype=np.int64)
                slot_cells[:n_samples] = cells
                problems.append(OsatProblem(labels, slot_cells, expected, osat_bound))
            elif item == "means":
                Z = np.zeros((n_slots, 0))
                Zu = whiten(frame[spec["numeric"]].to_numpy(dtype=np.float64))
                Z = np.zeros((n_slots, Zu.shape[1]))
                Z[:n_samples] = Zu
                weights = np.zeros(n_slots)
                weights[:n_samples] = 1.0
                problems.append(MeansProblem(labels, Z, weights, capacities.shape[0]))
            else:
                name = getattr(item, "__name__", "score")
                problems.append(CallableProblem(labels, item, frame, n_samples, name))
        return problems

    def _search(self, units, labels, cage_of, osat_bound, rng, strata=None):
        n_samples, scores = units.n_samples, units.spec["scores"]
        cells, separate, fixed = units.cells, units.separate, units.fixed
        capacities, exact = units.capacities, units.exact
        caged = np.any(cage_of >= 0)
        # Under strata without cages the start is random: OSAT is searched,
        # not settled. With cages the count model settles it under the strata.
        settled = strata is None or caged
        only_osat = scores == ["osat"] and settled
        n_empty = 0 if (exact or caged) else int(capacities.sum() - n_samples)
        n_slots = n_samples + n_empty
        slot_labels = np.concatenate(
            [labels, _empty_places(labels, capacities, n_empty)]
        ).astype(np.int64)
        slot_cages = np.concatenate([cage_of, np.full(n_empty, -1)]).astype(np.int64)
        slot_sep = np.vstack(
            [separate, np.full((n_empty, separate.shape[1]), -1, dtype=np.int64)]
        )
        lexicographic_osat = (
            self.aggregate == "lexicographic"
            and scores[0] == "osat"
            and len(scores) > 1
            and settled
        )
        # Move classes: which slots may exchange places.
        classes = np.full(n_slots, -1, dtype=np.int64)
        free = np.concatenate([fixed < 0, np.ones(n_empty, dtype=bool)])
        if caged:
            groups = units.groups
            if strata is not None:
                # Exchanges within a group and a stratum keep both counts.
                pairs = groups * strata.n_strata + strata.codes
                groups = np.unique(pairs, return_inverse=True)[1].reshape(-1)
            classes[:n_samples] = np.where(fixed < 0, groups, -1)
        elif strata is not None:
            # Exchanges within a stratum keep its counts per batch.
            classes[:n_samples] = np.where(fixed < 0, strata.codes, -1)
        elif lexicographic_osat:
            # OSAT is settled exactly: only units of one cell (or empty
            # places and unscored units) exchange batches, which keeps it.
            slot_cell = np.concatenate([cells, np.full(n_empty, -1)])
            classes[free] = slot_cell[free] + 1
        else:
            classes[free] = 0

        def make(batch_labels, cage_labels, scales=None):
            problems = self._problems(units, batch_labels, n_slots, osat_bound)
            guards = []
            if caged and separate.shape[1]:
                # Keep-separate is held at the proven minimum of violations.
                guards.append(SeparationProblem(cage_labels, slot_sep))
            if lexicographic_osat:
                guards.append(problems.pop(0))
            return LayoutSearch(
                batch_labels,
                cage_labels,
                classes,
                problems,
                aggregate=self.aggregate,
                scales=scales,
                guards=guards,
            )

        scales = None
        n_searched = len(scores) - (1 if lexicographic_osat else 0)
        if self.autoscale and n_searched > 1:
            scales = self._autoscale(
                units, slot_labels, slot_cages, classes, n_slots, rng
            )
        search = make(slot_labels.copy(), slot_cages.copy() if caged else None, scales)
        if only_osat or self.iterations == 0:
            best_labels, best_cages = slot_labels, slot_cages
            trace, n_iter = np.asarray([search.objective]), 0
            stage = self.count_stages_.get("osat_status", "optimal")
            tol = 1e-9 * max(1.0, abs(search.objective))
            status = (
                "optimal" if search.objective <= search.lower_bound + tol else stage
            )
        else:
            batch_of_cage = None
            start = slot_labels
            if caged:
                batch_of_cage = np.zeros(int(slot_cages.max()) + 1, dtype=np.int64)
                batch_of_cage[slot_cages] = slot_labels
                start = slot_cages
            problem = EngineProblem(
                lambda b, c: make(b, c, scales), batch_of_cage, search.lower_bound
            )
            t0 = search.typical_change(rng) if self.acceptance == "annealing" else 1.0
            best, trace, n_iter, status = run_engine(
                problem,
                start,
                classes,
                rng,
                iterations=self.iterations,
                time_limit=self.time_limit,
                acceptance=self.acceptance,
                t0=t0,
            )
            best_labels, best_cages = problem.split(best)
            if best_cages is None:
                best_cages = slot_cages
        final = self._problems(units, best_labels.copy(), n_slots, osat_bound)
        values = {}
        for item, problem in zip(scores, final, strict=True):
            values[problem.name if not callable(item) else problem.name] = (
                problem.objective
            )
        finder = LayoutSearch(
            best_labels.copy(),
            None,
            classes,
            final,
            aggregate=self.aggregate,
            scales=None if self.aggregate == "lexicographic" else search.scales,
        )
        self._scales = search.scales
        return (
            best_labels[:n_samples],
            best_cages[:n_samples],
            {
                "objective": float(finder.objective),
                # A bound above the attained score is rounding noise.
                "lower_bound": min(float(finder.lower_bound), float(finder.objective)),
                "scores": values,
                "trace": trace,
                "n_iter": int(n_iter),
                "status": status,
            },
        )

    def _autoscale(self, units, labels, cages, classes, n_slots, rng, n_random=200):
        """Mean and standard deviation of every score over random layouts."""
        draws = []
        for _ in range(n_random):
            trial = labels.copy()
            for c in np.unique(classes[classes >= 0]):
                members = np.flatnonzero(classes == c)
                trial[members] = trial[members[rng.permutation(members.size)]]
            problems = self._problems(units, trial, n_slots, 0.0)
            draws.append([p.objective for p in problems])
        draws = np.asarray(draws)
        if self.aggregate == "lexicographic" and units.spec["scores"][0] == "osat":
            draws = draws[:, 1:]
        scales = []
        for column in draws.T:
            spread = float(np.std(column, ddof=1))
            scales.append((float(np.mean(column)), spread if spread > 0 else 1.0))
        return scales


def _empty_places(labels, capacities, n_empty):
    """Batch of every empty place."""
    if n_empty == 0:
        return np.zeros(0, dtype=np.int64)
    left = capacities - np.bincount(labels, minlength=capacities.shape[0])
    return np.repeat(np.arange(capacities.shape[0]), left)
