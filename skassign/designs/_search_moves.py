"""Moves of the local search: proposals within swap classes, schedules, batches.

See :mod:`skassign.designs._search`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["draw_units", "replay", "temperatures", "units_new"]

_MAX_BATCH = 1024
_CHAIN_BATCH = 256
# Batch sizes: evaluating a batch costs about _BATCH_OVERHEAD proposals' worth
# of fixed numpy overhead plus one unit per proposal, and a batch of size B
# advances the chain by min(B, G) iterations, G geometric with the
# probability p that a proposal ends the batch. The table holds, for p on a
# log grid, the B minimising (_BATCH_OVERHEAD + B) / E[min(B, G)].
_BATCH_OVERHEAD = 20.0
_STOP_GRID = np.logspace(-4.0, 0.0, 161)
# t0="auto": a factor times the median absolute change of the objective over
# this many random moves from the start.
_AUTO_T0_PROPOSALS = 256
# Relative tolerance of "strictly better" and of reaching the lower bound.
_RTOL = 1e-12


def _optimal_batch_sizes(stop_grid, limit):
    sizes = np.arange(1, limit + 1)
    cost = [
        (_BATCH_OVERHEAD + sizes) * p / -np.expm1(sizes * np.log1p(-min(p, 1 - 1e-12)))
        for p in stop_grid
    ]
    return np.array([int(sizes[np.argmin(c)]) for c in cost])


_BATCH_TABLE = _optimal_batch_sizes(_STOP_GRID, _MAX_BATCH).tolist()
_STOP_GRID_LIST = _STOP_GRID.tolist()


def draw_units(free, n_change, n_draws, rng):
    """``n_draws`` rows of ``n_change`` distinct units of ``free``, in random order.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._search import draw_units
    >>> rows = draw_units(np.arange(5), 3, 4, np.random.RandomState(0))
    >>> rows.shape, all(len(set(r)) == 3 for r in rows.tolist())
    ((4, 3), True)
    """
    n_free = free.shape[0]
    p_distinct = np.prod(1.0 - np.arange(n_change) / n_free)
    if p_distinct < 0.5:
        return free[rng.random_sample((n_draws, n_free)).argsort(axis=1)[:, :n_change]]
    idx = rng.randint(n_free, size=(n_draws, n_change))
    rows = np.arange(n_draws)
    while rows.size:
        srt = np.sort(idx[rows], axis=1)
        rows = rows[(srt[:, 1:] == srt[:, :-1]).any(axis=1)]
        idx[rows] = rng.randint(n_free, size=(rows.size, n_change))
    return free[idx]


def temperatures(t0, cooling, tmax, iters):
    """Temperature at (1-based) iterations ``iters``.

    The temperature changes every ``tmax`` iterations: ``cooling="log"``
    divides ``t0`` by ``ln(level + e)`` and ``"inverse"`` by ``level + 1``
    (the R package minMSE's schemes 1 and 2, ``level`` the first iteration
    of the current step, from 0); a float ``a`` in (0, 1) multiplies it by
    ``a`` at every step.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._search import temperatures
    >>> temperatures(2.0, 0.5, 2, np.arange(1, 6)).tolist()
    [2.0, 2.0, 1.0, 1.0, 0.5]
    """
    level = np.floor((iters - 1) / tmax) * tmax
    if cooling == "log":
        return t0 / np.log(level + np.e)
    if cooling == "inverse":
        return t0 / (level + 1.0)
    return t0 * float(cooling) ** (level / tmax)


class _Moves:
    """Draws of moves within the swap classes, and restarts that keep them."""

    def __init__(self, labels, free, classes, n_change):
        if classes is None:
            groups = [free]
        else:
            classes = np.asarray(classes)
            groups = [free[classes[free] == c] for c in np.unique(classes[free])]
        self.all_groups = groups
        # Classes whose free units all share a group cannot change anything.
        movable = [g for g in groups if np.unique(labels[g]).shape[0] > 1]
        largest = max((g.shape[0] for g in movable), default=0)
        self.n_change = min(n_change, largest)
        self.groups = [g for g in movable if g.shape[0] >= self.n_change]
        sizes = np.array([g.shape[0] for g in self.groups], dtype=float)
        self.weights = sizes / sizes.sum() if sizes.size else sizes
        self.n_free = int(sum(g.shape[0] for g in self.groups))

    @property
    def empty(self):
        return self.n_change < 2 or not self.groups

    def draw(self, n_draws, rng):
        """``n_draws`` rows of ``n_change`` distinct units of one class each."""
        if len(self.groups) == 1:
            return draw_units(self.groups[0], self.n_change, n_draws, rng)
        counts = rng.multinomial(n_draws, self.weights)
        rows = np.vstack(
            [
                draw_units(g, self.n_change, int(c), rng)
                for g, c in zip(self.groups, counts, strict=True)
            ]
        )
        return rows[rng.permutation(n_draws)]

    def shuffle(self, labels, rng):
        """Return a random assignment with the same labels within every class."""
        labels = labels.copy()
        for g in self.all_groups:
            labels[g] = labels[g][rng.permutation(g.shape[0])]
        return labels


def units_new(labels, units, rotate):
    """Labels the units of every proposal get: their labels, rotated."""
    return labels[units][:, rotate]


def replay(labels, units, new):
    """Labels after the moves ``units[k] -> new[k]``, applied in order."""
    labels = labels.copy()
    flat_units = units.ravel()[::-1]
    last, first = np.unique(flat_units, return_index=True)
    labels[last] = new.ravel()[::-1][first]
    return labels
