"""Local search over batch layouts: score problems for the shared engine.

A layout is the batch of every *slot*: the units, followed by one dummy slot
per empty place (cell ``-1``, weight 0), so that moving a unit into an empty
place is a swap like any other and no move can overfill a batch. Every score
is a problem object with the shape the shared local-search engine takes:

* ``objective``: the score of the current layout;
* ``delta(move)``: the change a move ``(i, j)`` (exchange the batches, and
  cages, of slots ``i`` and ``j``) would make, computed incrementally;
* ``apply(move)``: make the move;
* ``lower_bound``: a value no layout can beat (the search stops there).

:class:`LayoutSearch` combines them (sum, worst or lexicographic, optionally
autoscaled) over moves that keep every hard constraint, and
:class:`EngineProblem` hands it to the shared local-search engine
(:mod:`skassign.designs._search`), which proposes the moves, accepts them
(descent or annealing) and stops at the lower bound.
"""

from __future__ import annotations

import numpy as np

from skassign.designs._search import LocalSearch
from skassign.designs._search_problems import SwapProblem

__all__ = [
    "CallableProblem",
    "EngineProblem",
    "LayoutSearch",
    "MeansProblem",
    "OsatProblem",
    "SeparationProblem",
    "SpatialProblem",
    "run_engine",
]


class OsatProblem:
    """OSAT score with counts per batch and cell, updated per swap.

    A swap of a cell-``c`` unit in batch ``p`` with a cell-``d`` unit in batch
    ``q`` changes four counts by one; each changes ``(N - E)^2`` by
    ``2 (N - E) * step + 1``.
    """

    name = "osat"

    def __init__(self, labels, cells, expected, lower_bound=0.0):
        self.labels = labels
        self.cells = cells
        self.expected = expected
        n_batches, n_cells = expected.shape
        self.counts = np.zeros((n_batches, n_cells), dtype=np.float64)
        scored = cells >= 0
        np.add.at(self.counts, (labels[scored], cells[scored]), 1.0)
        self.objective = float(np.sum((self.counts - expected) ** 2))
        self.lower_bound = float(lower_bound)

    def delta(self, move):
        i, j = move
        p, q = self.labels[i], self.labels[j]
        c, d = self.cells[i], self.cells[j]
        if p == q or c == d:
            return 0.0
        N, E = self.counts, self.expected
        total = 0.0
        if c >= 0:
            total += 2.0 - 2.0 * (N[p, c] - E[p, c]) + 2.0 * (N[q, c] - E[q, c])
        if d >= 0:
            total += 2.0 - 2.0 * (N[q, d] - E[q, d]) + 2.0 * (N[p, d] - E[p, d])
        return total

    def apply(self, move):
        i, j = move
        p, q = self.labels[i], self.labels[j]
        c, d = self.cells[i], self.cells[j]
        change = self.delta(move)
        if c >= 0:
            self.counts[p, c] -= 1.0
            self.counts[q, c] += 1.0
        if d >= 0:
            self.counts[q, d] -= 1.0
            self.counts[p, d] += 1.0
        self.objective += change


class MeansProblem:
    """:func:`~skassign.metrics.batch_means_score` with batch sums per swap.

    ``Z`` holds the whitened covariates (zero rows for empty places) and
    ``weights`` is 1 for units, 0 for empty places; the score is
    ``sum_b |S_b|^2 / n_b``.
    """

    name = "means"

    def __init__(self, labels, Z, weights, n_batches):
        self.labels = labels
        self.Z = Z
        self.weights = weights
        self.sums = np.zeros((n_batches, Z.shape[1]))
        np.add.at(self.sums, labels, Z)
        self.sizes = np.bincount(labels, weights=weights, minlength=n_batches)
        self.objective = self._total()
        self.lower_bound = 0.0

    def _term(self, s, n):
        return float(s @ s) / n if n > 0 else 0.0

    def _total(self):
        return sum(self._term(s, n) for s, n in zip(self.sums, self.sizes, strict=True))

    def delta(self, move):
        i, j = move
        p, q = self.labels[i], self.labels[j]
        if p == q:
            return 0.0
        dz = self.Z[j] - self.Z[i]
        dw = self.weights[j] - self.weights[i]
        S, n = self.sums, self.sizes
        return (
            self._term(S[p] + dz, n[p] + dw)
            + self._term(S[q] - dz, n[q] - dw)
            - self._term(S[p], n[p])
            - self._term(S[q], n[q])
        )

    def apply(self, move):
        i, j = move
        p, q = self.labels[i], self.labels[j]
        if p == q:
            return
        dz = self.Z[j] - self.Z[i]
        dw = self.weights[j] - self.weights[i]
        self.sums[p] += dz
        self.sums[q] -= dz
        self.sizes[p] += dw
        self.sizes[q] -= dw
        self.objective = self._total()


class SpatialProblem:
    """Spatial score of one plate: OSAT over rows, columns and edge ring.

    The slots are the plate's wells' contents (units, then empty wells) and
    a move exchanges the wells of two slots; one :class:`OsatProblem` per
    direction keeps its own part (row, column, edge) of every slot.
    """

    name = "spatial"

    def __init__(self, slot_cells, well_of_slot, parts, lower_bound):
        self.parts = parts
        self.terms = []
        for part in parts:
            capacities = np.bincount(part)
            n_cells = int(slot_cells.max()) + 1 if (slot_cells >= 0).any() else 0
            counts = np.bincount(slot_cells[slot_cells >= 0], minlength=n_cells)
            expected = (capacities / capacities.sum())[:, None] * counts[None, :]
            self.terms.append(OsatProblem(part[well_of_slot], slot_cells, expected))
        self.objective = float(sum(t.objective for t in self.terms))
        self.lower_bound = float(lower_bound)

    def delta(self, move):
        return float(sum(t.delta(move) for t in self.terms))

    def apply(self, move):
        i, j = move
        for term in self.terms:
            term.apply(move)
            term.labels[i], term.labels[j] = term.labels[j], term.labels[i]
        self.objective = float(sum(t.objective for t in self.terms))


class CallableProblem:
    """A user score ``func(labels, X) -> float``, re-evaluated per move."""

    def __init__(self, labels, func, X, n_units, name):
        self.labels = labels
        self.func = func
        self.X = X
        self.n_units = n_units
        self.name = name
        self.objective = self._evaluate(labels)
        self.lower_bound = -np.inf
        self._cache = None

    def _evaluate(self, labels):
        value = float(self.func(labels[: self.n_units].copy(), self.X))
        if not np.isfinite(value):
            raise ValueError(f"The score {self.name} returned {value}.")
        return value

    def delta(self, move):
        i, j = move
        if self.labels[i] == self.labels[j]:
            return 0.0
        trial = self.labels.copy()
        trial[i], trial[j] = trial[j], trial[i]
        value = self._evaluate(trial)
        self._cache = (move, value)
        return value - self.objective

    def apply(self, move):
        if self._cache is not None and self._cache[0] == move:
            self.objective = self._cache[1]
        else:
            trial = self.labels.copy()
            trial[move[0]], trial[move[1]] = trial[move[1]], trial[move[0]]
            self.objective = self._evaluate(trial)
        self._cache = None


class SeparationProblem:
    """Keep-separate violations: units sharing a cage and a value.

    ``cages`` is the cage of every slot (``-1`` for none); a cage holding
    ``r`` units of one value adds ``r - 1``.
    """

    name = "violations"

    def __init__(self, cages, separate):
        self.cages = cages
        self.separate = separate
        self.counts = {}
        for i in np.flatnonzero(cages >= 0):
            for v in range(separate.shape[1]):
                e = separate[i, v]
                if e >= 0:
                    key = (v, cages[i], e)
                    self.counts[key] = self.counts.get(key, 0) + 1
        self.objective = float(sum(r - 1 for r in self.counts.values()))
        self.lower_bound = 0.0

    def _changes(self, move):
        i, j = move
        ci, cj = self.cages[i], self.cages[j]
        out = []
        for v in range(self.separate.shape[1]):
            ei, ej = self.separate[i, v], self.separate[j, v]
            if ei == ej:
                continue
            if ei >= 0:
                out += [((v, ci, ei), -1), ((v, cj, ei), +1)]
            if ej >= 0:
                out += [((v, cj, ej), -1), ((v, ci, ej), +1)]
        return out

    def delta(self, move):
        i, j = move
        if self.cages[i] == self.cages[j]:
            return 0.0
        total = 0
        seen = {}
        for key, step in self._changes(move):
            r = seen.get(key, self.counts.get(key, 0))
            total += max(r + step - 1, 0) - max(r - 1, 0)
            seen[key] = r + step
        return float(total)

    def apply(self, move):
        i, j = move
        if self.cages[i] == self.cages[j]:
            return
        change = self.delta(move)
        for key, step in self._changes(move):
            self.counts[key] = self.counts.get(key, 0) + step
        self.objective += change


class LayoutSearch:
    """The combined layout objective over swaps that keep every hard constraint.

    It is what the shared local-search engine searches (through
    :class:`EngineProblem`): the scores' changes under a swap, combined, and
    ``inf`` for a swap that would worsen a guard.

    Parameters
    ----------
    labels : ndarray of shape (n_slots,)
        Batch of every slot (shared with, and updated in, the problems).
    cages : ndarray of shape (n_slots,) or None
        Cage of every slot (updated too); with cages, a move exchanges two
        units of one keep-together group, so cage sizes, homogeneity and
        batch totals never change.
    classes : ndarray of shape (n_slots,)
        Move class of every slot (``-1``: never moves); a move exchanges two
        slots of one class.
    problems : list
        Score problems, in priority order.
    aggregate : {"sum", "worst", "lexicographic"}
        How the scores combine.
    scales : list of (float, float)
        ``(centre, spread)`` per score: the search works on
        ``(score - centre) / spread``.
    guards : list
        Problems that must never get worse (a relaxed soft constraint, or
        a score settled exactly beforehand).
    """

    def __init__(
        self,
        labels,
        cages,
        classes,
        problems,
        *,
        aggregate="sum",
        scales=None,
        guards=(),
    ):
        self.labels = labels
        self.cages = cages
        self.classes = classes
        movable = classes >= 0
        order = np.flatnonzero(movable)[np.argsort(classes[movable], kind="stable")]
        sizes = np.bincount(classes[movable]) if movable.any() else np.zeros(0, int)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        self.members = order
        self.class_start = starts
        self.class_size = sizes
        self.problems = list(problems)
        self.aggregate = aggregate
        self.scales = scales or [(0.0, 1.0)] * len(self.problems)
        self.guards = list(guards)
        if movable.any():
            self.movable = np.flatnonzero(movable & (sizes[np.maximum(classes, 0)] > 1))
        else:
            self.movable = np.zeros(0, dtype=np.int64)

    def scaled(self, k, value):
        centre, spread = self.scales[k]
        return (value - centre) / spread

    def _combine(self, attribute):
        """Combine the scaled scores' ``objective`` or ``lower_bound``."""
        values = [
            self.scaled(k, getattr(p, attribute)) for k, p in enumerate(self.problems)
        ]
        if self.aggregate == "worst":
            return max(values)
        if self.aggregate == "lexicographic":
            return values[0]
        return float(sum(values))

    @property
    def objective(self):
        return self._combine("objective")

    @property
    def lower_bound(self):
        return self._combine("lower_bound")

    def propose(self, rng):
        i = self.movable[rng.randint(self.movable.size)]
        c = self.classes[i]
        j = self.members[self.class_start[c] + rng.randint(self.class_size[c])]
        return int(i), int(j)

    def delta(self, move):
        """Change of the combined score (``inf`` if a guard would worsen)."""
        for guard in self.guards:
            if guard.delta(move) > 1e-9:
                return np.inf
        deltas = [p.delta(move) for p in self.problems]
        if self.aggregate == "sum":
            return float(sum(d / self.scales[k][1] for k, d in enumerate(deltas)))
        if self.aggregate == "worst":
            before = [self.scaled(k, p.objective) for k, p in enumerate(self.problems)]
            after = [
                b + d / self.scales[k][1]
                for k, (b, d) in enumerate(zip(before, deltas, strict=True))
            ]
            return max(after) - max(before)
        # Lexicographic: the first score that changes decides; its change is
        # returned, the later ones break ties with a tiny weight.
        total, weight = 0.0, 1.0
        for k, d in enumerate(deltas):
            if abs(d) > 1e-9:
                return total + weight * d / self.scales[k][1]
        return total

    def apply(self, move):
        for problem in self.problems + self.guards:
            problem.apply(move)
        i, j = move
        self.labels[i], self.labels[j] = self.labels[j], self.labels[i]
        if self.cages is not None:
            self.cages[i], self.cages[j] = self.cages[j], self.cages[i]

    def typical_change(self, rng, n_moves=256):
        """Median absolute finite change of random moves (1.0 if none)."""
        if self.movable.size == 0:
            return 1.0
        sample = [abs(self.delta(self.propose(rng))) for _ in range(n_moves)]
        sample = [v for v in sample if np.isfinite(v) and v > 0]
        return float(np.median(sample)) if sample else 1.0


class EngineProblem(SwapProblem):
    """A :class:`LayoutSearch` objective for the shared local-search engine.

    The engine exchanges the labels of two units; here a label is the batch
    of a slot, or, with cages, its cage (``batch_of_cage`` maps cages to
    batches, so an exchange moves both the batch and the cage). ``build``
    makes a fresh :class:`LayoutSearch` for given batch and cage arrays.
    """

    def __init__(self, build, batch_of_cage=None, lower_bound=None):
        self.build = build
        self.batch_of_cage = batch_of_cage
        if lower_bound is not None and np.isfinite(lower_bound):
            # Reaching the bound up to rounding stops the search.
            self.lower_bound = float(lower_bound) + 1e-9 * max(1.0, abs(lower_bound))

    def split(self, labels):
        """Batch and cage arrays of engine labels."""
        if self.batch_of_cage is None:
            return np.array(labels, dtype=np.int64), None
        return self.batch_of_cage[labels], np.array(labels, dtype=np.int64)

    def init(self, labels):
        self.state = self.build(*self.split(labels))

    def objective(self, labels):
        return self.build(*self.split(labels)).objective

    def delta(self, labels, i, j):
        return self.state.delta((int(i), int(j)))

    def apply(self, labels, i, j):
        self.state.apply((int(i), int(j)))


_STOPS = {
    "lower_bound": "optimal",
    "max_iter": "iteration_limit",
    "time_limit": "time_limit",
    "no_moves": "no_moves",
}


def run_engine(
    problem, labels, classes, rng, *, iterations, time_limit, acceptance, t0
):
    """Run the shared engine; return best labels, trace, iterations, status.

    ``acceptance="strict"`` is the engine's descent (improvements only,
    designit's ``accept_strict_improvement``); ``"annealing"`` its Metropolis
    acceptance from temperature ``t0`` falling geometrically to a thousandth
    of it over ``iterations``.
    """
    free = np.flatnonzero(classes >= 0)
    if acceptance == "strict":
        search = LocalSearch("descent", max_iter=iterations, time_limit=time_limit)
    else:
        steps = max(iterations // 10, 1)
        search = LocalSearch(
            "anneal",
            max_iter=iterations,
            time_limit=time_limit,
            t0=t0,
            cooling=1e-3 ** (1.0 / steps) if steps > 1 else 0.5,
            tmax=10,
        )
    result = search.run(problem, labels, free, rng, classes=classes)
    status = _STOPS.get(result.stop, result.stop)
    bound = getattr(problem, "lower_bound", None)
    if bound is not None and result.value <= bound:
        status = "optimal"
    return result.labels, result.trace, result.n_iter, status
