"""Layout scores: how evenly units are spread over batches (and plates).

``osat_score`` is designit's OSAT score (Yan et al., 2012) computed exactly
as designit computes it, so that numbers can be compared with designit's;
``batch_means_score`` measures numeric covariates by their batch means.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import validate_params

__all__ = ["batch_means_score", "osat_score", "spatial_score"]


def _as_frame(features, name="features"):
    """Features as a DataFrame (a 1-D input becomes one column)."""
    if isinstance(features, pd.Series):
        return features.to_frame()
    if isinstance(features, pd.DataFrame):
        return features
    values = np.asarray(features, dtype=object)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D; got {values.ndim} dimensions.")
    return pd.DataFrame(values)


def encode_cells(features):
    """Joint cell of every unit: the combination of its feature values.

    Parameters
    ----------
    features : DataFrame
        Feature columns (any hashable values; NaN/None mean missing).

    Returns
    -------
    cells : ndarray of shape (n_samples,), int64
        Cell of every unit, ``0..n_cells-1``, or ``-1`` when a feature is
        missing. Cells are numbered in order of the sorted combinations.
    keys : list of tuple
        The feature values of every cell.
    """
    n_samples = features.shape[0]
    if features.shape[1] == 0:
        return np.zeros(n_samples, dtype=np.int64), [()]
    missing = features.isna().to_numpy().any(axis=1)
    codes = np.empty((n_samples, features.shape[1]), dtype=np.int64)
    uniques = []
    for j, column in enumerate(features.columns):
        values = features[column]
        code, levels = pd.factorize(values, sort=False)
        # Sort the levels by their text so that cell numbers do not depend on
        # the order of the units.
        order = np.argsort(np.asarray([str(v) for v in levels], dtype=object))
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        codes[:, j] = np.where(code >= 0, rank[np.maximum(code, 0)], -1)
        uniques.append(np.asarray(levels, dtype=object)[order])
    cells = np.full(n_samples, -1, dtype=np.int64)
    if (~missing).any():
        combos, inverse = np.unique(codes[~missing], axis=0, return_inverse=True)
        cells[~missing] = inverse.reshape(-1)
        keys = [
            tuple(uniques[j][combo[j]] for j in range(combo.size)) for combo in combos
        ]
    else:
        keys = []
    return cells, keys


def osat_cells(features, *, what="feature", stacklevel=2):
    """:func:`encode_cells`, warning about the units left out of OSAT.

    ``what`` names the features in the warning; ``stacklevel`` counts as in
    :func:`warnings.warn`, from the function that calls this one.
    """
    cells, keys = encode_cells(features)
    n_missing = int(np.sum(cells < 0))
    if n_missing:
        warnings.warn(
            f"{n_missing} units have a missing {what}; they are left out of "
            "the OSAT score (their places still count in the batch shares).",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return cells, keys


def _check_batches(labels, capacities, n_samples):
    """Validate batch labels and capacities; return labels and capacities."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise ValueError(
            f"labels must give one batch per unit ({n_samples}); got shape "
            f"{labels.shape}."
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        as_float = labels.astype(np.float64)
        if not np.all(np.isfinite(as_float)) or np.any(as_float != np.round(as_float)):
            raise ValueError("labels must be integer batch numbers 0, 1, ...")
        labels = as_float.astype(np.int64)
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be non-negative batch numbers.")
    n_batches = int(labels.max()) + 1 if labels.size else 0
    if capacities is None:
        capacities = np.bincount(labels, minlength=n_batches)
    else:
        capacities = np.asarray(capacities)
        if capacities.ndim != 1 or not np.all(
            np.asarray(capacities, dtype=np.float64) == np.round(capacities)
        ):
            raise ValueError("capacities must be a 1-D list of integers.")
        capacities = capacities.astype(np.int64)
        if capacities.shape[0] < n_batches:
            raise ValueError(
                f"labels name batch {n_batches - 1} but only "
                f"{capacities.shape[0]} capacities are given."
            )
        counts = np.bincount(labels, minlength=capacities.shape[0])
        over = np.flatnonzero(counts > capacities)
        if over.size:
            b = int(over[0])
            raise ValueError(
                f"Batch {b} holds {int(counts[b])} units but has only "
                f"{int(capacities[b])} places."
            )
    return labels, capacities


@validate_params(
    {
        "labels": ["array-like"],
        "features": ["array-like"],
        "capacities": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def osat_score(labels, features, capacities=None):
    """OSAT score of a batch layout, exactly as designit computes it.

    Every batch ``b`` has a share ``f_b`` of all places (its capacity over
    the total capacity; empty places count). The cells ``c`` are the joint
    combinations of all feature columns that occur among the units, with
    ``n_c`` units each; a cell's expected count in batch ``b`` is
    ``E_bc = n_c * f_b``. The score is
    ``sum_b sum_c (N_bc - E_bc) ** 2`` over the observed counts ``N_bc``,
    not divided by ``E_bc`` (unlike a chi-square statistic). Units with a
    missing feature keep their place (it counts in ``f_b``) but are left out
    of the cells, with a warning. Lower is better; 0 is a perfect spread.

    Read more in the :ref:`User Guide <batch_layout>`.

    Parameters
    ----------
    %(batch_labels)s
    features : array-like of shape (n_samples,) or (n_samples, n_features)
        Categorical features of the units (any values; NaN/None missing).
    capacities : array-like of shape (n_batches,) or None, default=None
        Number of places of every batch. ``None`` takes the number of units
        in every batch (no empty places).

    Returns
    -------
    score : float
        The OSAT score.

    See Also
    --------
    skassign.designs.BatchLayout : Layouts that minimise this score.

    References
    ----------
    Yan, L. et al. (2012). OSAT: a tool for sample-to-batch allocations in
    genomics experiments. BMC Genomics 13, 689.

    Examples
    --------
    designit's own example: six samples on two plates of four places.

    >>> from skassign.metrics import osat_score
    >>> features = [["Case", "Female"], ["Case", "Female"], ["Case", "Male"],
    ...             ["Control", "Female"], ["Control", "Female"],
    ...             ["Control", "Male"]]
    >>> osat_score([0, 0, 1, 1, 0, 1], features, capacities=[4, 4])
    3.0
    """
    frame = _as_frame(features)
    labels, capacities = _check_batches(labels, capacities, frame.shape[0])
    cells, keys = osat_cells(frame, stacklevel=3)
    return float(_osat_from_cells(labels, cells, len(keys), capacities))


def _osat_from_cells(labels, cells, n_cells, capacities):
    """OSAT score from integer cells (``-1`` left out) and capacities."""
    placed = cells >= 0
    counts = np.zeros((capacities.shape[0], n_cells), dtype=np.float64)
    np.add.at(counts, (labels[placed], cells[placed]), 1.0)
    share = capacities / capacities.sum()
    expected = share[:, None] * counts.sum(axis=0)[None, :]
    return float(np.sum((counts - expected) ** 2))


@validate_params(
    {"labels": ["array-like"], "X": ["array-like"]},
    prefer_skip_nested_validation=True,
)
@fill_doc
def batch_means_score(labels, X):
    """Spread of the batch means of numeric covariates (Mahalanobis).

    ``sum_b n_b (m_b - m)' S^+ (m_b - m)`` with ``m_b`` the mean of batch
    ``b``, ``m`` the mean and ``S`` the covariance (``ddof=0``) of all units,
    ``S^+`` its pseudo-inverse. It is the between-batch part of a MANOVA
    decomposition: 0 when every batch has the overall means, and it does not
    change when the covariates are rescaled or rotated. Lower is better.

    Read more in the :ref:`User Guide <batch_layout>`.

    Parameters
    ----------
    %(batch_labels)s
    X : array-like of shape (n_samples,) or (n_samples, n_features)
        Numeric covariates.

    Returns
    -------
    score : float
        The score.

    Examples
    --------
    >>> from skassign.metrics import batch_means_score
    >>> round(batch_means_score([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0]), 3)
    3.2
    >>> batch_means_score([0, 1, 1, 0], [1.0, 2.0, 3.0, 4.0])
    0.0
    """
    Xv = np.asarray(X, dtype=np.float64)
    if Xv.ndim == 1:
        Xv = Xv.reshape(-1, 1)
    if not np.all(np.isfinite(Xv)):
        raise ValueError("X contains NaN or inf; batch means need complete values.")
    labels, _ = _check_batches(labels, None, Xv.shape[0])
    Z = whiten(Xv)
    sums = np.zeros((int(labels.max()) + 1, Z.shape[1]))
    np.add.at(sums, labels, Z)
    sizes = np.bincount(labels).astype(np.float64)
    used = sizes > 0
    return float(np.sum(sums[used] ** 2 / sizes[used, None]))


def whiten(X):
    """Centre ``X`` and rotate it so that its covariance (ddof=0) is the identity.

    Directions without variance are dropped, so ``|sum of rows|^2 / n`` of a
    batch is its Mahalanobis term with the pseudo-inverse covariance.
    """
    centred = X - X.mean(axis=0)
    if centred.shape[0] == 0:
        return centred
    cov = centred.T @ centred / centred.shape[0]
    values, vectors = np.linalg.eigh(cov)
    keep = values > 1e-12 * max(float(values.max()), 1e-300)
    return centred @ (vectors[:, keep] / np.sqrt(values[keep]))


def plate_partitions(wells):
    """Rows, columns and the edge ring of the wells of one plate.

    Parameters
    ----------
    wells : DataFrame with columns ``row`` and ``column``
        The usable wells of the plate (excluded wells left out).

    Returns
    -------
    parts : list of ndarray of shape (n_wells,), int64
        Row number, column number, and 1 for the outer ring (the first or
        last row or column of the plate's extent), 0 inside.
    """
    rows = pd.factorize(wells["row"], sort=True)[0]
    columns = pd.factorize(wells["column"], sort=True)[0]
    edge = (
        (rows == 0) | (rows == rows.max()) | (columns == 0) | (columns == columns.max())
    ).astype(np.int64)
    return [rows.astype(np.int64), columns.astype(np.int64), edge]


def _spatial_terms(cells, parts, n_cells):
    """Sum of OSAT over rows, columns and edge ring of one plate.

    ``cells`` is the cell of the unit in every well (``-1`` empty or missing);
    every partition's capacities are its wells, empty ones included.
    """
    total = 0.0
    for part in parts:
        capacities = np.bincount(part)
        total += _osat_from_cells(part, cells, n_cells, capacities)
    return total


@validate_params(
    {
        "features": ["array-like"],
        "rows": ["array-like"],
        "columns": ["array-like"],
        "plates": ["array-like", None],
        "wells": [pd.DataFrame, None],
    },
    prefer_skip_nested_validation=True,
)
def spatial_score(features, rows, columns, plates=None, wells=None):
    """How unevenly features lie over the rows, columns and edge of plates.

    For every plate, the OSAT score (:func:`osat_score`) of the units'
    feature cells is computed three times, taking as "batches" the plate's
    rows, its columns, and its outer ring against its inner wells; the
    spatial score is the sum over the three and over plates. These are the
    directions along which plate effects arise (pipetting and reading by
    row or column, evaporation and temperature at the edges), and each term
    is in the same unit as OSAT. A well's share counts every usable well,
    empty ones included, as OSAT counts empty places. 0 means every row,
    column and the edge ring hold every feature in proportion.

    Read more in the :ref:`User Guide <batch_layout>`.

    Parameters
    ----------
    features : array-like of shape (n_samples,) or (n_samples, n_features)
        Categorical features of the units (cells are joint combinations).
    rows : array-like of shape (n_samples,)
        Row of every unit (any sortable labels, e.g. ``"A"`` to ``"H"``).
    columns : array-like of shape (n_samples,)
        Column of every unit.
    plates : array-like of shape (n_samples,) or None, default=None
        Plate of every unit; ``None`` means one plate.
    wells : DataFrame or None, default=None
        Every usable well, with columns ``row``, ``column`` (and ``plate``
        when ``plates`` is given); ``None`` takes the occupied wells.

    Returns
    -------
    score : float
        The spatial score (lower is better).

    See Also
    --------
    osat_score : The score applied along each direction.

    Examples
    --------
    Two groups on a 2 x 2 plate: one per column (each column then misses
    one group: 2 + 2), and on the diagonals (every row and column holds
    both).

    >>> from skassign.metrics import spatial_score
    >>> spatial_score(["a", "a", "b", "b"], ["A", "B", "A", "B"], [1, 1, 2, 2])
    4.0
    >>> spatial_score(["a", "b", "b", "a"], ["A", "B", "A", "B"], [1, 1, 2, 2])
    0.0
    """
    frame = _as_frame(features)
    n = frame.shape[0]
    units = pd.DataFrame(
        {
            "plate": np.zeros(n, dtype=np.int64)
            if plates is None
            else np.asarray(plates),
            "row": np.asarray(rows),
            "column": np.asarray(columns),
        }
    )
    if units.shape[0] != n:
        raise ValueError("features, rows and columns must have one entry per unit.")
    if units.duplicated().any():
        raise ValueError("Two units share a well.")
    if wells is None:
        table = units
    else:
        table = wells.copy()
        if plates is None:
            table["plate"] = 0
        missing = {"row", "column", "plate"} - set(table.columns)
        if missing:
            raise ValueError(f"wells lacks the columns {sorted(missing)}.")
    cells, keys = encode_cells(frame)
    total = 0.0
    for plate in pd.unique(table["plate"]):
        plate_wells = table.loc[table["plate"] == plate, ["row", "column"]]
        plate_wells = plate_wells.reset_index(drop=True)
        index = pd.MultiIndex.from_frame(plate_wells)
        on_plate = (units["plate"] == plate).to_numpy()
        where = index.get_indexer(
            pd.MultiIndex.from_frame(units.loc[on_plate, ["row", "column"]])
        )
        if np.any(where < 0):
            raise ValueError(f"Some units on plate {plate!r} are not on a usable well.")
        well_cells = np.full(plate_wells.shape[0], -1, dtype=np.int64)
        plate_cells = cells[on_plate]
        # Cells are counted within the plate.
        _, local = np.unique(plate_cells[plate_cells >= 0], return_inverse=True)
        well_cells[where[plate_cells >= 0]] = local.reshape(-1)
        n_cells = int(local.max()) + 1 if local.size else 0
        total += _spatial_terms(well_cells, plate_partitions(plate_wells), n_cells)
    return float(total)
