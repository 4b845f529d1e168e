"""BatchLayout's output: the layout table and positions of units within plates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skassign.designs._batch_counts import (
    CountModel,
    solve_transport,
)
from skassign.designs._batch_prepare import _as_list
from skassign.designs._batch_search import (
    EngineProblem,
    LayoutSearch,
    SpatialProblem,
    run_engine,
)
from skassign.metrics._layout import encode_cells, plate_partitions


class PlatePositionsMixin:
    """Wells within plates and the layout table of BatchLayout."""

    # ----------------------------------------------------------------- output
    def _layout_table(self, frame, names, places, rng):
        table = pd.DataFrame({"batch": self.labels_}, index=frame.index)
        self.spatial_score_ = float("nan")
        self.spatial_lower_bound_ = float("nan")
        if places is None:
            if self.spatial is not False:
                raise ValueError(
                    "spatial positions need a locations table with "
                    f"{self.row!r} and {self.column!r} columns."
                )
            table["batch_name"] = names[self.labels_]
        else:
            location_columns = [c for c in places.columns if c != "_batch"]
            cells = self._spatial_cells(frame, places)
            rows = np.empty(self.labels_.shape[0], dtype=np.int64)
            total = bound = 0.0
            for b in range(names.shape[0]):
                units = np.flatnonzero(self.labels_ == b)
                spots = np.flatnonzero(places["_batch"].to_numpy() == b)
                if cells is None:
                    rows[units] = spots[rng.permutation(spots.size)[: units.size]]
                    continue
                wells = places.iloc[spots]
                where, value, low = self._place(
                    cells[units], wells[[self.row, self.column]], rng
                )
                rows[units] = spots[where]
                total += value
                bound += low
            if cells is not None:
                self.spatial_score_ = total
                self.spatial_lower_bound_ = min(bound, total)
            for column in location_columns:
                table[column] = places[column].to_numpy()[rows]
        if np.any(self.subgroups_ >= 0):
            table["cage"] = self.subgroups_
        return table

    def _spatial_cells(self, frame, places):
        """Cells to spread over every plate, or ``None`` (random wells)."""
        if self.spatial is False:
            return None
        for name in (self.row, self.column):
            if name not in places.columns:
                raise ValueError(
                    f"spatial positions need the column {name!r} in locations "
                    f"(columns: {[c for c in places.columns if c != '_batch']})."
                )
        if self.spatial is True:
            columns = self._osat_columns
            if not columns:
                raise ValueError(
                    "spatial=True spreads the OSAT cells of balance; there are "
                    "none here: name the columns, e.g. spatial=['group']."
                )
        else:
            columns = _as_list(self.spatial)
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(f"spatial names columns {missing} that X lacks.")
        return encode_cells(frame[columns])[0]

    def _place(self, unit_cells, wells, rng):
        """Wells of one plate's units minimising the spatial score.

        Returns the well (row of ``wells``) of every unit, the score and its
        lower bound: every direction's own exact OSAT minimum (a min-cost
        flow), which no placement can beat, summed.
        """
        parts = plate_partitions(wells)
        n_wells, n_units = wells.shape[0], unit_cells.shape[0]
        _, local = np.unique(unit_cells[unit_cells >= 0], return_inverse=True)
        cells = np.full(n_units, -1, dtype=np.int64)
        cells[unit_cells >= 0] = local.reshape(-1)
        bound = 0.0
        for part in parts:
            capacities = np.bincount(part)
            model = CountModel(
                cells,
                None,
                np.zeros((n_units, 0), dtype=np.int64),
                np.full(n_units, -1),
                capacities,
                exact=n_units == n_wells,
            )
            if model.n_cells:
                bound += solve_transport(model, rng)[1]
        slot_cells = np.concatenate([cells, np.full(n_wells - n_units, -1)])
        well_of_slot = rng.permutation(n_wells).astype(np.int64)
        classes = np.zeros(n_wells, dtype=np.int64)

        def make(wells_of_slots, _):
            problem = SpatialProblem(slot_cells, wells_of_slots, parts, bound)
            return LayoutSearch(wells_of_slots, None, classes, [problem])

        start = make(well_of_slot.copy(), None)
        t0 = start.typical_change(rng) if self.acceptance == "annealing" else 1.0
        # Every well is a "group" of one slot: an exchange swaps two wells.
        best, _, _, _ = run_engine(
            EngineProblem(make, None, bound),
            well_of_slot,
            classes,
            rng,
            iterations=max(self.iterations, 1),
            time_limit=self.time_limit,
            acceptance=self.acceptance,
            t0=t0,
        )
        final = SpatialProblem(slot_cells, best, parts, bound)
        return best[:n_units], final.objective, bound
