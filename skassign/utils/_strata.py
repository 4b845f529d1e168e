"""Strata: units that every design must spread evenly over the groups.

``fit(X, strata=...)`` is part of every design's contract. The strata are
given as one value per unit (an array, or a pandas Series aligned with ``X``
by index) or as the name of a column of a DataFrame ``X`` (taken out of the
covariates before the design sees them). Every stratum ``h`` of ``n_h``
units then gives group ``g`` (of size ``n_g`` out of ``n``) its proportional
share ``n_h n_g / n`` rounded down or up, with the groups' sizes and the
fixed units kept: a hard constraint, under which each design balances the
covariates as usual.

This module computes the target table once (:func:`make_strata`); designs
use :meth:`Strata.draw` (random completions) or :attr:`Strata.counts` (as
constraints or to restrict their moves to swaps within a stratum).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from skassign.exceptions import InfeasibleDesignError

__all__ = ["Strata", "check_strata", "make_strata", "split_strata_column"]


def split_strata_column(X, strata):
    """Take a named strata column out of a DataFrame ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates as given to ``fit``.
    strata : str, array-like of shape (n_samples,) or None
        Strata as given to ``fit``.

    Returns
    -------
    X : array-like
        ``X`` without the strata column (``X`` itself if ``strata`` is not
        a column name; the input is never modified).
    strata : array-like or None
        The strata values (the column, when ``strata`` named one).
    column : str or None
        The name of the column taken out, if any.
    """
    if not isinstance(strata, str):
        return X, strata, None
    columns = getattr(X, "columns", None)
    if columns is None:
        raise ValueError(
            f"strata={strata!r} names a column, but X has no column names. Pass "
            "X as a pandas DataFrame, or pass the strata values themselves "
            "(one per unit)."
        )
    if strata not in columns:
        raise ValueError(
            f"strata={strata!r} is not a column of X; its columns are "
            f"{list(map(str, columns))}."
        )
    return X.drop(columns=strata), X[strata], strata


def check_strata(strata, X, n_samples):
    """Validate strata values: one per unit, aligned with ``X`` by index.

    Parameters
    ----------
    strata : array-like of shape (n_samples,)
        Stratum of every unit (any hashable values; missing values form one
        stratum). A pandas Series is aligned with ``X`` by index when ``X``
        is a DataFrame or Series.
    X : array-like
        The covariates as given to ``fit`` (only their index is used).
    n_samples : int
        Number of units.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype int64
        Stratum of every unit, ``0..n_strata-1`` in sorted order of the
        values.
    names : ndarray of shape (n_strata,), dtype object
        The value of every stratum.

    Examples
    --------
    >>> import pandas as pd
    >>> from skassign.utils._strata import check_strata
    >>> X = pd.DataFrame({"w": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    >>> sex = pd.Series(["m", "f", "m"], index=["c", "b", "a"])
    >>> codes, names = check_strata(sex, X, 3)
    >>> codes.tolist(), names.tolist()
    ([1, 0, 1], ['f', 'm'])
    """
    index = getattr(X, "index", None)
    if hasattr(strata, "index") and hasattr(strata, "to_numpy") and index is not None:
        if getattr(strata, "ndim", 1) != 1:
            raise ValueError(
                "strata must be one value per unit (a 1-D array or a Series); "
                f"got an object of shape {strata.shape}."
            )
        if not strata.index.equals(index):
            same = (
                len(strata.index) == len(index)
                and strata.index.is_unique
                and index.is_unique
                and strata.index.isin(index).all()
            )
            if not same:
                missing = index[~index.isin(strata.index)]
                extra = strata.index[~strata.index.isin(index)]
                raise ValueError(
                    "strata is a pandas Series whose index does not match X's "
                    f"index ({len(missing)} units of X without a stratum, e.g. "
                    f"{list(missing[:3])}; {len(extra)} strata labels not in X, "
                    f"e.g. {list(extra[:3])}). Align it first "
                    "(strata.reindex(X.index)) or pass strata.to_numpy() to "
                    "match the units by position."
                )
            strata = strata.reindex(index)
    values = np.asarray(strata, dtype=object)
    if values.ndim != 1 or values.shape[0] != n_samples:
        raise ValueError(
            f"strata must give one stratum per unit ({n_samples}); got shape "
            f"{values.shape}."
        )
    # Missing values (None, NaN) form one stratum of their own.
    keys = np.array(
        [
            "\x00missing"
            if v is None or (isinstance(v, float) and np.isnan(v))
            else str(v)
            for v in values
        ],
        dtype=object,
    )
    _, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    return codes.astype(np.int64).ravel(), values[first]


@dataclass
class Strata:
    """Strata of the units and how many of each go to every group.

    Attributes
    ----------
    codes : ndarray of shape (n_samples,), dtype int64
        Stratum of every unit.
    names : ndarray of shape (n_strata,)
        Value of every stratum.
    counts : ndarray of shape (n_strata, n_groups), dtype int64
        Units of every stratum in every group (fixed units included).
    share : ndarray of shape (n_strata, n_groups) or None
        The proportional shares the counts round.
    """

    codes: np.ndarray
    names: np.ndarray
    counts: np.ndarray
    share: np.ndarray | None = None

    @property
    def n_strata(self):
        return self.counts.shape[0]

    def draw(self, fixed, rng, n_draws=None):
        """Random assignments meeting the counts, uniform within each stratum.

        Parameters
        ----------
        fixed : ndarray of shape (n_samples,)
            Fixed group of each unit, ``-1`` for free units.
        rng : numpy.random.RandomState
            Source of randomness.
        n_draws : int or None, default=None
            Number of assignments; ``None`` returns one 1-D assignment.

        Returns
        -------
        labels : ndarray of shape (n_samples,) or (n_draws, n_samples)
        """
        from skassign._sampling import draw_assignments

        shape = fixed.shape if n_draws is None else (n_draws, fixed.shape[0])
        labels = np.empty(shape, dtype=np.int64)
        for h in range(self.n_strata):
            in_h = self.codes == h
            labels[..., in_h] = draw_assignments(
                self.counts[h], fixed[in_h], rng, n_draws
            )
        return labels

    def table(self, labels):
        """Units of every stratum in every group under ``labels``."""
        table = np.zeros_like(self.counts)
        np.add.at(table, (self.codes, labels), 1)
        return table

    def bounds(self):
        """Fewest and most units of every stratum in every group.

        The counts, widened to the shares rounded down and up: every table
        between them spreads the strata as evenly as :attr:`counts` do. A
        design that settles the counts itself (for example together with
        other constraints) may take any table within these bounds.

        Returns
        -------
        low, high : ndarray of shape (n_strata, n_groups), dtype int64
        """
        low, high = self.counts, self.counts
        if self.share is not None:
            low = np.minimum(low, np.floor(self.share + 1e-9))
            high = np.maximum(high, np.ceil(self.share - 1e-9))
        return low.astype(np.int64), high.astype(np.int64)

    def check(self, labels, design="The design"):
        """Raise if ``labels`` does not spread the strata (a design bug).

        The table must lie within :meth:`bounds`: the counts, or the shares
        rounded as well as they do (a design may rename interchangeable
        groups, which permutes the table's columns).
        """
        table = self.table(labels)
        low, high = self.bounds()
        bad = (table < low) | (table > high)
        if bad.any():
            h = int(np.flatnonzero(bad.any(axis=1))[0])
            raise RuntimeError(
                f"{design} returned an assignment that does not spread stratum "
                f"{self.names[h]!r} as required: {table[h].tolist()} units per "
                f"group instead of {self.counts[h].tolist()}."
            )


def make_strata(codes, names, sizes, fixed, rng):
    """Spread every stratum over the groups as evenly as the sizes allow.

    Every cell (stratum ``h``, group ``g``) gets ``floor`` or ``ceil`` of
    the proportional share ``n_h n_g / n``, every group keeps its size, and
    every cell holds at least the units of ``h`` fixed in ``g``. Such a
    table always exists without fixed units (a controlled rounding of the
    proportional table); which cells are rounded up is random. Fixed units
    may force a cell beyond its share (units assigned in an earlier wave):
    the total excess is then the smallest possible. A small integer program
    finds the table.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,), dtype int64
        Stratum of every unit, ``0..n_strata-1``.
    names : ndarray of shape (n_strata,)
        Value of every stratum, for messages.
    sizes : ndarray of shape (n_groups,)
        Group sizes, fixed units included.
    fixed : ndarray of shape (n_samples,)
        Fixed group of each unit, ``-1`` for free units.
    rng : numpy.random.RandomState
        Breaks ties between valid tables.

    Returns
    -------
    strata : Strata
        The strata and their counts per group.

    Raises
    ------
    InfeasibleDesignError
        If the fixed units make an even spread impossible; the message names
        the strata.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils._strata import make_strata
    >>> codes = np.array([0, 0, 0, 1, 1, 1])
    >>> strata = make_strata(codes, np.array(["f", "m"]), np.array([3, 3]),
    ...                      np.full(6, -1), np.random.RandomState(0))
    >>> strata.counts.sum(axis=0).tolist(), sorted(strata.counts[0].tolist())
    ([3, 3], [1, 2])
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n_strata, n_groups = int(codes.max(initial=-1)) + 1, sizes.shape[0]
    n_h = np.bincount(codes, minlength=n_strata)
    is_fixed = fixed >= 0
    f_hg = np.zeros((n_strata, n_groups), dtype=np.int64)
    np.add.at(f_hg, (codes[is_fixed], fixed[is_fixed]), 1)
    share = n_h[:, None] * sizes[None, :] / max(int(sizes.sum()), 1)
    floor = np.floor(share + 1e-9).astype(np.int64)
    ceil = np.ceil(share - 1e-9).astype(np.int64)
    over = f_hg > ceil
    if over.any():
        bad = sorted({str(names[h]) for h in np.flatnonzero(over.any(axis=1))})
        h, g = map(int, np.argwhere(over)[0])
        warnings.warn(
            f"The fixed units keep strata {bad} from an even spread: "
            f"{f_hg[h, g]} units of stratum {names[h]!r} are fixed in group {g}, "
            f"whose even share is at most {ceil[h, g]} of its {n_h[h]} units. "
            "These strata are spread as evenly as the fixed units allow.",
            UserWarning,
            stacklevel=5,
        )
    cells = n_strata * n_groups
    # Variables: counts c (cells) and excess w (cells) beyond [floor, ceil],
    # which only fixed units can force; its cost dominates the random costs
    # that break ties.
    cost = np.concatenate([rng.random_sample(cells), np.full(cells, cells + 1.0)])
    eye = np.eye(cells)
    rows = np.kron(np.eye(n_strata), np.ones(n_groups))
    cols = np.kron(np.ones(n_strata), np.eye(n_groups))
    zeros = np.zeros((n_strata + n_groups, cells))
    result = milp(
        cost,
        constraints=[
            LinearConstraint(
                np.hstack([np.vstack([rows, cols]), zeros]),
                np.concatenate([n_h, sizes]),
                np.concatenate([n_h, sizes]),
            ),
            LinearConstraint(np.hstack([eye, -eye]), -np.inf, ceil.ravel()),
            LinearConstraint(np.hstack([eye, eye]), floor.ravel(), np.inf),
        ],
        integrality=np.concatenate([np.ones(cells), np.zeros(cells)]),
        bounds=Bounds(
            np.concatenate([f_hg.ravel(), np.zeros(cells)]),
            np.concatenate([np.repeat(n_h, n_groups), np.full(cells, np.inf)]),
        ),
    )
    if result.x is None:
        fixed_strata = sorted({str(names[h]) for h in codes[is_fixed]})
        raise InfeasibleDesignError(
            "No table of units per stratum and group keeps every group's size "
            "and every fixed unit in its group (strata with fixed units: "
            f"{fixed_strata}; solver: {result.message}). Check group_sizes "
            "and fixed_labels, or do not pass strata."
        )
    cells_x = result.x[:cells]
    counts = np.rint(cells_x).astype(np.int64).reshape(n_strata, n_groups)
    return Strata(codes=codes, names=names, counts=counts, share=share)
