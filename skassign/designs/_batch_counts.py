"""The exact count model of a batch layout, and its realisation by units.

The OSAT score depends on a layout only through the counts ``N_bc`` of every
cell ``c`` in every batch ``b``; the cage constraints (keep together, cage
sizes, keep separate) depend only on how many units of every homogeneous
group go to every batch, how many cages they form there, and how many units
of every keep-separate value they contain. However many units there are,
these counts form a tiny integer program, solved here exactly with SCIP:

* ``x[a, b]``: units of atom ``a`` (one combination of group, cell and
  keep-separate values) in batch ``b``, at least the units fixed there;
* ``k[g, b]``: cages of group ``g`` in batch ``b``, with
  ``n_min * k <= m <= n_max * k`` for its ``m`` units (strict sizes) and
  ``m <= n_g * k`` (units sit in cages);
* ``s[v, g, e, b] >= y - k``: keep-separate violations, where ``y`` counts the
  units with value ``e`` of variable ``v``; ``y - k`` duplicates cannot be
  avoided, and dealing the units sorted by ``e`` round-robin over the ``k``
  cages reaches exactly that many (so for one keep-separate variable the
  model is exact);
* ``t[b, c] >= (N - E)^2``, written as the chords of the parabola between
  consecutive integers, which equal it at every integer ``N``;
* with strata, the units of every stratum in every batch lie between the
  bounds of :meth:`~skassign.utils._strata.Strata.bounds` (its share rounded
  down or up): a hard constraint, whatever the cages are made of.

The priorities are solved in turn, each stage keeping the optimum of the
previous ones: size slack (only with ``strict=False``), then keep-separate
violations, then OSAT, then (with strata) the distance of the strata's
counts from their proportional shares, then the distance of the cages from
the ideal size. Every layout meeting the hard constraints gives a feasible point of the
model, so the OSAT optimum is a lower bound on the OSAT score of every such
layout with the same number of violations, and the realisation reaches it.
"""

from __future__ import annotations

import numpy as np

from skassign.exceptions import InfeasibleDesignError
from skassign.utils._random import child_seed
from skassign.utils._solver import import_pyscipopt

__all__ = ["CountModel", "solve_transport"]


class CountModel:
    """Data of the count model (all plain arrays).

    Parameters
    ----------
    cells : ndarray of shape (n_units,)
        OSAT cell of every unit, ``-1`` when it is not scored.
    groups : ndarray of shape (n_units,) or None
        Keep-together group of every unit; ``None`` without cages.
    separate : ndarray of shape (n_units, n_sep)
        Keep-separate value codes (``-1`` missing: never a duplicate).
    fixed : ndarray of shape (n_units,)
        Fixed batch of every unit, ``-1`` if free.
    capacities : ndarray of shape (n_batches,)
        Places of every batch.
    exact : bool
        Whether every batch is filled exactly (no empty places).
    cage_sizes : tuple (n_min, n_ideal, n_max) or None
        Cage sizes; ``None`` without cages.
    strict : bool
        Whether cage sizes outside ``[n_min, n_max]`` are forbidden.
    osat : bool
        Whether the OSAT stage is solved.
    strata : Strata or None
        Strata whose counts per batch are held within
        :meth:`~skassign.utils._strata.Strata.bounds` (``None``: no strata).
    """

    def __init__(
        self,
        cells,
        groups,
        separate,
        fixed,
        capacities,
        *,
        exact,
        cage_sizes=None,
        strict=True,
        osat=True,
        strata=None,
    ):
        self.cells = cells
        self.groups = groups
        self.separate = separate
        self.fixed = fixed
        self.capacities = capacities
        self.exact = exact
        self.cage_sizes = cage_sizes
        self.strict = strict
        self.osat = osat
        self.strata = strata
        n_batches = capacities.shape[0]
        group_codes = groups if groups is not None else np.zeros_like(cells)
        keys = [group_codes, cells, separate]
        if strata is not None:
            keys.append(strata.codes)
        keys = np.column_stack(keys)
        self.atom_keys, self.atom_of = np.unique(keys, axis=0, return_inverse=True)
        self.atom_of = self.atom_of.reshape(-1)
        n_atoms = self.atom_keys.shape[0]
        self.atom_size = np.bincount(self.atom_of, minlength=n_atoms)
        self.atom_fixed = np.zeros((n_atoms, n_batches), dtype=np.int64)
        is_fixed = fixed >= 0
        np.add.at(self.atom_fixed, (self.atom_of[is_fixed], fixed[is_fixed]), 1)
        n_cells = int(cells.max()) + 1 if (cells >= 0).any() else 0
        self.n_cells = n_cells
        cell_size = np.bincount(cells[cells >= 0], minlength=n_cells)
        share = capacities / capacities.sum()
        self.expected = share[:, None] * cell_size[None, :]

    def solve(self, rng, time_limit=None):
        """Solve the stages; return counts, cages per group and batch, values.

        Returns
        -------
        x : ndarray of shape (n_atoms, n_batches), int64
        k : ndarray of shape (n_groups, n_batches), int64 or None
        stages : dict
            Optimal value of every stage (``"size_slack"``, ``"violations"``,
            ``"osat"``, ``"strata"``, ``"ideal"``), with the OSAT dual bound as
            ``"osat_bound"`` and SCIP's status per stage.
        """
        model, x = self._base_model(rng, time_limit)
        objectives = []
        k = None
        if self.groups is not None:
            k, size_slack, violations, ideal_dev = self._cage_constraints(model, x)
            if size_slack is not None:
                objectives.append(("size_slack", size_slack))
            if violations is not None:
                objectives.append(("violations", violations))
        osat_expr = None
        if self.osat and self.n_cells:
            osat_expr = self._osat_expression(model, x)
            objectives.append(("osat", osat_expr))
        if self.strata is not None:
            objectives.append(("strata", self._strata_deviation(model, x)))
        if self.groups is not None:
            objectives.append(("ideal", ideal_dev))
        stages = {}
        variables = [x] if k is None else [x, k]
        result = None
        for name, expr in objectives:
            model.setObjective(expr, "minimize")
            model.optimize()
            status = model.getStatus()
            stages[f"{name}_status"] = status
            if model.getNSols() == 0:
                if status == "infeasible":
                    raise InfeasibleDesignError(self._infeasible_message(rng))
                raise InfeasibleDesignError(
                    f"The count model found no layout ({status}); raise time_limit."
                )
            value = float(model.getObjVal())
            stages[name] = value
            if name == "osat":
                stages["osat_bound"] = float(model.getDualbound())
            result = [
                np.rint(np.asarray(model.getVal(v), dtype=np.float64)).astype(np.int64)
                for v in variables
            ]
            model.freeTransform()
            if name in ("osat", "strata"):
                model.addCons(expr <= value + 1e-7 * max(1.0, value))
            else:
                model.addCons(expr <= round(value))
        if result is None:
            model.setObjective(0, "minimize")
            model.optimize()
            if model.getNSols() == 0:
                raise InfeasibleDesignError(self._infeasible_message(rng))
            result = [
                np.rint(np.asarray(model.getVal(v), dtype=np.float64)).astype(np.int64)
                for v in variables
            ]
        counts = result[0]
        cages = result[1] if k is not None else None
        return counts, cages, stages

    def _base_model(self, rng, time_limit=None, strata_rows=None):
        """SCIP model with the counts ``x``, their totals and the strata rows.

        ``strata_rows``: the strata whose bounds are imposed (all by default).
        """
        ps = import_pyscipopt()
        model = ps.Model()
        model.hideOutput()
        model.setParam("randomization/randomseedshift", child_seed(rng))
        model.setParam("randomization/permutationseed", child_seed(rng))
        model.setParam("randomization/permuteconss", True)
        model.setParam("randomization/permutevars", True)
        model.setParam("limits/gap", 0.0)
        model.setParam("limits/absgap", 0.0)
        if time_limit is not None:
            model.setParam("limits/time", float(time_limit))
        n_atoms, n_batches = self.atom_fixed.shape
        ub = np.broadcast_to(self.atom_size[:, None], (n_atoms, n_batches))
        x = model.addMatrixVar(
            (n_atoms, n_batches), vtype="I", lb=self.atom_fixed, ub=np.array(ub)
        )
        model.addMatrixCons(x.sum(axis=1) == self.atom_size)
        totals = x.sum(axis=0)
        if self.exact:
            model.addMatrixCons(totals == self.capacities)
        else:
            model.addMatrixCons(totals <= self.capacities)
        if self.strata is not None:
            low, high = self.strata.bounds()
            atom_stratum = self.atom_keys[:, -1]
            if strata_rows is None:
                strata_rows = range(self.strata.n_strata)
            for h in strata_rows:
                members = np.flatnonzero(atom_stratum == h)
                for b in range(n_batches):
                    units = ps_sum(x[a, b] for a in members)
                    model.addCons(units >= int(low[h, b]))
                    model.addCons(units <= int(high[h, b]))
        return model, x

    def _strata_deviation(self, model, x):
        """Add ``|units of stratum h in batch b - share|``; return their sum.

        Among the layouts that are best on the earlier stages, the strata are
        then spread as close to their proportional shares as the bounds and
        cages allow (a stratum of 10 over two batches of 30 and 29 units
        goes 5/5 rather than 6/4).
        """
        share = self.strata.share
        atom_stratum = self.atom_keys[:, -1]
        total = 0
        for h in range(self.strata.n_strata):
            members = np.flatnonzero(atom_stratum == h)
            for b in range(self.capacities.shape[0]):
                units = ps_sum(x[a, b] for a in members)
                dev = model.addVar(lb=0.0)
                model.addCons(dev >= units - float(share[h, b]))
                model.addCons(dev >= float(share[h, b]) - units)
                total = total + dev
        return total

    def _feasible(self, rng, strata_rows):
        """Whether the hard constraints hold together with these strata rows."""
        model, x = self._base_model(rng, strata_rows=strata_rows)
        if self.groups is not None:
            self._cage_constraints(model, x)
        model.setObjective(0, "minimize")
        model.optimize()
        return model.getNSols() > 0

    def _osat_expression(self, model, x):
        """Add ``t[b, c] >= (N_bc - E_bc)^2`` by chords; return ``sum t``."""
        n_batches = self.capacities.shape[0]
        atom_cell = self.atom_keys[:, 1]
        cell_size = np.bincount(self.cells[self.cells >= 0], minlength=self.n_cells)
        total = 0
        for c in range(self.n_cells):
            members = np.flatnonzero(atom_cell == c)
            for b in range(n_batches):
                N = ps_sum(x[a, b] for a in members)
                E = float(self.expected[b, c])
                lo = int(self.atom_fixed[members, b].sum())
                hi = int(min(cell_size[c], self.capacities[b]))
                t = model.addVar(lb=0.0)
                if hi <= lo:
                    model.addCons(t >= (lo - E) ** 2)
                for n in range(lo, hi):
                    slope = (n + 1 - E) ** 2 - (n - E) ** 2
                    model.addCons(t >= (n - E) ** 2 + slope * (N - n))
                total = total + t
        return total

    def _cage_constraints(self, model, x):
        n_min, n_ideal, n_max = self.cage_sizes
        n_batches = self.capacities.shape[0]
        atom_group = self.atom_keys[:, 0]
        n_groups = int(self.groups.max()) + 1
        group_size = np.bincount(self.groups, minlength=n_groups)
        k = model.addMatrixVar((n_groups, n_batches), vtype="I", lb=0)
        slack = 0
        has_slack = False
        ideal = 0
        for g in range(n_groups):
            members = np.flatnonzero(atom_group == g)
            for b in range(n_batches):
                m = ps_sum(x[a, b] for a in members)
                model.addCons(m <= int(group_size[g]) * k[g, b])
                model.addCons(k[g, b] <= m)
                if self.strict:
                    model.addCons(m >= n_min * k[g, b])
                    model.addCons(m <= n_max * k[g, b])
                else:
                    under = model.addVar(lb=0.0)
                    over = model.addVar(lb=0.0)
                    model.addCons(m + under >= n_min * k[g, b])
                    model.addCons(m - over <= n_max * k[g, b])
                    slack = slack + under + over
                    has_slack = True
                dev = model.addVar(lb=0.0)
                model.addCons(dev >= n_ideal * k[g, b] - m)
                model.addCons(dev >= m - n_ideal * k[g, b])
                ideal = ideal + dev
        violations = None
        if self.separate.shape[1]:
            violations = 0
            for v in range(self.separate.shape[1]):
                values = self.atom_keys[:, 2 + v]
                for g in range(n_groups):
                    for e in np.unique(values[(atom_group == g) & (values >= 0)]):
                        members = np.flatnonzero((atom_group == g) & (values == e))
                        if self.atom_size[members].sum() < 2:
                            continue
                        for b in range(n_batches):
                            y = ps_sum(x[a, b] for a in members)
                            s = model.addVar(lb=0.0)
                            model.addCons(s >= y - k[g, b])
                            violations = violations + s
        if isinstance(violations, int):
            violations = None
        return k, (slack if has_slack else None), violations, ideal

    def _infeasible_message(self, rng):
        """Name the constraint that no layout can meet, with its units."""
        if self.strata is not None and self._feasible(rng, []):
            return self._strata_message(rng)
        if self.groups is not None and self.strict:
            n_min, _, n_max = self.cage_sizes
            for g in range(int(self.groups.max()) + 1):
                members = np.flatnonzero(self.groups == g)
                n = members.size
                kmin = -(-n // n_max)
                if kmin * n_min > n:
                    return (
                        f"subgroup_sizes=(n_min={n_min}, n_max={n_max}) with "
                        f"strict=True: the keep_together group of units "
                        f"{members.tolist()} has {n} units, which no set of "
                        f"cages of {n_min} to {n_max} units holds exactly. "
                        "Use strict=False or other sizes."
                    )
            return (
                "No layout meets the cage constraints together with the batch "
                f"sizes {self.capacities.tolist()} and the fixed units: cages "
                "homogeneous in keep_together, of strict subgroup_sizes, "
                "cannot add up to these batch totals. Use strict=False, other "
                "sizes or other batch capacities."
            )
        return (
            f"No layout fits the batch capacities {self.capacities.tolist()} "
            "with the fixed units."
        )

    def _strata_message(self, rng):
        """Name a stratum whose even spread the cages (or fixed units) forbid."""
        strata = self.strata
        low, high = strata.bounds()
        culprits = [h for h in range(strata.n_strata) if not self._feasible(rng, [h])]
        cages = ""
        if self.groups is not None:
            n_min, _, n_max = self.cage_sizes
            cages = f" in cages of {n_min} to {n_max} units"
        if not culprits:
            names = [str(name) for name in strata.names]
            return (
                f"The strata {names} cannot all be spread evenly over the "
                f"batches{cages} at once, though each one alone can. Use "
                "strict=False, other subgroup_sizes, other batch sizes or "
                "coarser strata."
            )
        h = culprits[0]
        units = np.flatnonzero(strata.codes == h)
        spread = ", ".join(
            f"{int(lo)}" if lo == hi else f"{int(lo)}-{int(hi)}"
            for lo, hi in zip(low[h], high[h], strict=True)
        )
        groups = ""
        if self.groups is not None and self.groups.max() > 0:
            shared = np.unique(self.groups[units])
            groups = (
                f" Its units sit in the keep_together groups of units "
                f"{[np.flatnonzero(self.groups == g).tolist() for g in shared]}."
            )
        return (
            f"Stratum {strata.names[h]!r} ({units.size} units: {units.tolist()}) "
            f"cannot be spread evenly over the batches{cages}: an even spread "
            f"puts [{spread}] of its units in the batches of sizes "
            f"{self.capacities.tolist()}, which no layout meeting the cage "
            f"constraints does.{groups} Use strict=False, other "
            "subgroup_sizes, other batch sizes, or leave the strata out."
        )


def ps_sum(terms):
    """Sum of PySCIPOpt expressions (0 for none)."""
    total = 0
    for term in terms:
        total = total + term
    return total


def solve_transport(model, rng):
    """Exact OSAT counts without cages, by a convex min-cost flow.

    Without cages the count problem is a transportation problem: cells send
    their units to batches of limited room, and ``(N_bc - E_bc)^2`` is convex
    in ``N_bc``, so adding units one at a time along a shortest augmenting
    path of the residual graph (marginal cost ``2 N + 1 - 2 E`` forward, minus
    the last one backward) ends at an optimum. Costs are multiplied by the
    total capacity ``T`` (``2 E T = 2 n_c cap_b``), so every comparison is
    exact in integers. Cells and batches are visited in random order, so
    which of several optimal count tables is returned is random.

    Returns
    -------
    x : ndarray of shape (n_atoms, n_batches), int64
        Units of every atom in every batch (the atoms are the cells here,
        with ``-1`` for units without a cell).
    value : float
        The optimal OSAT score.
    """
    caps = model.capacities.astype(np.int64)
    n_batches = caps.shape[0]
    total = int(caps.sum())
    n_cells = model.n_cells
    atom_cell = model.atom_keys[:, 1]
    cell_size = np.bincount(model.cells[model.cells >= 0], minlength=n_cells)
    # Counts per (batch, cell), starting from the fixed units.
    fixed_units = model.fixed >= 0
    N = np.zeros((n_batches, n_cells), dtype=np.int64)
    scored = fixed_units & (model.cells >= 0)
    np.add.at(N, (model.fixed[scored], model.cells[scored]), 1)
    floor = N.copy()
    if not fixed_units.any():
        # Start from the rounded-down expectations: every forward arc then
        # costs more than -1 and every backward arc at least 1 (in units of
        # 2T), so the residual graph has no negative cycle and the flow is
        # optimal for its amount; only the remainders are augmented.
        N = (cell_size[None, :] * caps[:, None]) // total
    room = caps - np.bincount(model.fixed[fixed_units], minlength=n_batches)
    room = room - (N - floor).sum(axis=1)
    supply = cell_size - N.sum(axis=0)
    two_nc_cap = 2 * cell_size[None, :] * caps[:, None]
    cell_order = rng.permutation(n_cells)
    batch_order = rng.permutation(n_batches)
    N, floor, supply = N[:, cell_order], floor[:, cell_order], supply[cell_order]
    two_nc_cap = two_nc_cap[batch_order][:, cell_order]
    N, floor, room = N[batch_order], floor[batch_order], room[batch_order]
    big = np.iinfo(np.int64).max // 4
    for _ in range(int(supply.sum())):
        forward = (2 * N + 1) * total - two_nc_cap
        backward = np.where(N > floor, -((2 * N - 1) * total - two_nc_cap), big)
        dist_cell = np.where(supply > 0, 0, big)
        dist_batch = np.full(n_batches, big)
        pred_batch = np.full(n_batches, -1)
        pred_cell = np.full(n_cells, -1)
        for _ in range(2 * (n_cells + n_batches) + 2):
            through = dist_cell[None, :] + forward
            best_c = np.argmin(through, axis=1)
            cand = through[np.arange(n_batches), best_c]
            better_b = (cand < dist_batch) & (dist_cell[best_c] < big)
            dist_batch = np.where(better_b, cand, dist_batch)
            pred_batch = np.where(better_b, best_c, pred_batch)
            back = dist_batch[:, None] + backward
            best_b = np.argmin(back, axis=0)
            cand_c = back[best_b, np.arange(n_cells)]
            better_c = (
                (cand_c < dist_cell)
                & (dist_batch[best_b] < big)
                & (backward[best_b, np.arange(n_cells)] < big)
            )
            dist_cell = np.where(better_c, cand_c, dist_cell)
            pred_cell = np.where(better_c, best_b, pred_cell)
            if not better_b.any() and not better_c.any():
                break
        open_batches = np.flatnonzero(room > 0)
        b = int(open_batches[np.argmin(dist_batch[open_batches])])
        room[b] -= 1
        while True:
            c = int(pred_batch[b])
            N[b, c] += 1
            previous = int(pred_cell[c])
            if previous < 0:
                supply[c] -= 1
                break
            N[previous, c] -= 1
            b = previous
    # Undo the random orders.
    counts = np.zeros((n_batches, n_cells), dtype=np.int64)
    counts[np.ix_(batch_order, cell_order)] = N
    x = np.zeros((model.atom_keys.shape[0], n_batches), dtype=np.int64)
    for a, c in enumerate(atom_cell):
        if c >= 0:
            x[a] = counts[:, c]
    # Units without a cell fill the places left, fixed ones where they are.
    left = caps - counts.sum(axis=1)
    for a in np.flatnonzero(atom_cell < 0):
        x[a] = model.atom_fixed[a]
        left -= model.atom_fixed[a]
    for a in np.flatnonzero(atom_cell < 0):
        extra = int(model.atom_size[a] - x[a].sum())
        for b in rng.permutation(n_batches):
            take = min(extra, int(left[b]))
            x[a, b] += take
            left[b] -= take
            extra -= take
    value = float(np.sum((counts - model.expected) ** 2))
    return x, value
