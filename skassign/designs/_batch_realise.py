"""Realisation of a batch layout's counts by units: batches and cages.

:class:`~skassign.designs._batch_counts.CountModel` decides how many units
of every atom go to every batch and how many cages every group forms there;
the functions here draw the units and deal them over the cages.
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_duplicates", "realise_counts"]


def realise_counts(model, counts, cages, rng):
    """Units for the counts: batch of every unit and cage of every unit.

    Within every atom the free units are drawn at random for every batch's
    free count. Within every group and batch, units are sorted by their
    first keep-separate value (values in random order, ties at random) and
    dealt round-robin over the ``k`` cages, which reaches the fewest
    duplicates of that value and cage sizes differing by at most one.

    Returns
    -------
    labels : ndarray of shape (n_units,), int64
    cage_of : ndarray of shape (n_units,), int64
        Cage of every unit (numbered ``0..``, in order of group and batch), or
        ``-1`` everywhere without cages.
    """
    n_units = model.cells.shape[0]
    labels = model.fixed.copy()
    n_atoms, n_batches = counts.shape
    order = np.argsort(model.atom_of, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(model.atom_size)])
    for a in range(n_atoms):
        units = order[bounds[a] : bounds[a + 1]]
        free = units[model.fixed[units] < 0]
        need = counts[a] - model.atom_fixed[a]
        slots = np.repeat(np.arange(n_batches, dtype=np.int64), need)
        labels[free] = slots[rng.permutation(free.size)]
    cage_of = np.full(n_units, -1, dtype=np.int64)
    if cages is None:
        return labels, cage_of
    next_cage = 0
    sep = model.separate
    for g in range(cages.shape[0]):
        for b in range(n_batches):
            n_cages = int(cages[g, b])
            units = np.flatnonzero((model.groups == g) & (labels == b))
            if units.size == 0:
                continue
            if sep.shape[1]:
                values = sep[units, 0]
                distinct = np.unique(values)
                rank = np.empty(int(distinct.max()) + 2, dtype=np.int64)
                rank[distinct + 1] = rng.permutation(distinct.size)
                # Missing values (-1) are spread like a value of their own.
                key = rank[values + 1] * units.size + rng.permutation(units.size)
                units = units[np.argsort(key)]
            else:
                units = units[rng.permutation(units.size)]
            slot = np.arange(units.size) % n_cages
            cage_ids = next_cage + rng.permutation(n_cages)
            cage_of[units] = cage_ids[slot]
            next_cage += n_cages
    if sep.shape[1] > 1:
        _repair_separation(cage_of, sep, model.groups * n_batches + labels, rng)
    return labels, cage_of


def count_duplicates(cage_of, sep):
    """Keep-separate violations: units sharing a cage and a value, per variable.

    A cage with ``r`` units of one value adds ``r - 1`` (designit's count of
    duplicated value/cage pairs); missing values (``-1``) never count.
    """
    total = 0
    caged = cage_of >= 0
    for v in range(sep.shape[1]):
        ok = caged & (sep[:, v] >= 0)
        if not ok.any():
            continue
        pairs = np.column_stack([cage_of[ok], sep[ok, v]])
        n_distinct = np.unique(pairs, axis=0).shape[0]
        total += int(ok.sum()) - n_distinct
    return total


def _repair_separation(cage_of, sep, compartment, rng, n_rounds=20):
    """Swap units between cages of one group and batch to cut duplicates.

    Used with several keep-separate variables, where round-robin dealing on
    the first one does not settle the others.
    """
    n_units = cage_of.shape[0]
    best = count_duplicates(cage_of, sep)
    for _ in range(n_rounds):
        if best == 0:
            return
        improved = False
        for i in rng.permutation(n_units):
            if cage_of[i] < 0:
                continue
            for j in rng.permutation(n_units):
                if compartment[j] != compartment[i] or cage_of[j] == cage_of[i]:
                    continue
                cage_of[i], cage_of[j] = cage_of[j], cage_of[i]
                value = count_duplicates(cage_of, sep)
                if value < best:
                    best = value
                    improved = True
                    break
                cage_of[i], cage_of[j] = cage_of[j], cage_of[i]
        if not improved:
            return
