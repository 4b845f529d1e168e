"""BatchLayout's input: column kinds, the columns each score uses, cells, cages."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data

from skassign.metrics._layout import encode_cells, osat_cells

_NUMERIC_KINDS = {"integer", "floating", "mixed-integer-float", "decimal"}


def _column_kinds(frame):
    """Split columns into numeric and categorical; categorical values as text.

    Returns the normalised frame (a new one; the input is not modified) and
    the set of numeric column names.
    """
    out = {}
    numeric = set()
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == bool:
            kind = "categorical"
        elif pd.api.types.is_numeric_dtype(column.dtype):
            kind = "numeric"
        else:
            inferred = pd.api.types.infer_dtype(column, skipna=True)
            kind = "numeric" if inferred in _NUMERIC_KINDS else "categorical"
        if kind == "numeric":
            out[name] = pd.to_numeric(column).astype(np.float64)
            numeric.add(name)
        else:
            missing = column.isna().to_numpy()
            # A copy: to_numpy may return the caller's own array.
            text = np.array(column.astype(str).to_numpy(dtype=object), copy=True)
            text[missing] = None
            out[name] = pd.Series(text, index=frame.index, dtype=object)
    return pd.DataFrame(out, index=frame.index, columns=frame.columns), numeric


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


class LayoutInputMixin:
    """Validation of X and preparation of cells and cages for BatchLayout."""

    # ------------------------------------------------------------------ input
    def _validate_X(self, X, *, reset):
        """Accept numeric, object and categorical columns (a DataFrame)."""
        array = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=reset)
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            frame = pd.DataFrame(array)
            names = getattr(self, "feature_names_in_", None)
            if not reset and names is not None and len(names) == frame.shape[1]:
                frame.columns = list(names)
        frame, numeric = _column_kinds(frame)
        frame.attrs["numeric"] = sorted(str(c) for c in numeric)
        frame.attrs["numeric_columns"] = [c for c in frame.columns if c in numeric]
        return frame

    def _check_complete(self, frame):
        """Numeric columns in use must be complete and finite."""
        for name in self._complete_columns:
            if name not in frame.columns:
                continue
            values = frame[name].to_numpy()
            if np.isnan(values).any():
                raise ValueError(
                    f"Input X contains NaN in the numeric column {name!r}. "
                    f"{type(self).__name__} needs complete numeric covariates: "
                    "impute them in a Pipeline, e.g. make_pipeline(SimpleImputer(), "
                    "design), or make the column categorical (missing categories "
                    "are left out of OSAT)."
                )
            if np.isinf(values).any():
                raise ValueError(
                    f"Input X contains infinity in the numeric column {name!r}. "
                    "Replace infinite covariates (for example by NaN and a "
                    "SimpleImputer) before laying out the units."
                )

    def _columns(self, frame):
        """Which columns each constraint and score uses."""
        columns = list(frame.columns)
        together = _as_list(self.keep_together)
        separate = _as_list(self.keep_separate)
        for name, listed in (("keep_together", together), ("keep_separate", separate)):
            missing = [c for c in listed if c not in columns]
            if missing:
                raise ValueError(
                    f"{name} names columns {missing} that X does not have "
                    f"(columns: {columns})."
                )
        if separate and not together and self.subgroup_sizes is None:
            raise ValueError(
                "keep_separate applies within cages: give keep_together or "
                "subgroup_sizes to form cages."
            )
        if self.balance is None:
            balance = [c for c in columns if c not in together and c not in separate]
        else:
            balance = _as_list(self.balance)
            missing = [c for c in balance if c not in columns]
            if missing:
                raise ValueError(
                    f"balance names columns {missing} that X does not have "
                    f"(columns: {columns})."
                )
        numeric_cols = set(frame.attrs["numeric_columns"])
        categorical = [c for c in balance if c not in numeric_cols]
        numeric = [c for c in balance if c in numeric_cols]
        scoring = self.scoring
        if isinstance(scoring, (str,)) or callable(scoring):
            scoring = [scoring]
        bins = self.numeric != "means"
        scores = []
        for item in scoring:
            if item == "auto":
                if categorical or (numeric and bins):
                    scores.append("osat")
                if numeric and not bins:
                    scores.append("means")
            elif item == "osat":
                scores.append("osat")
            elif item == "means":
                if not numeric:
                    raise ValueError(
                        "scoring='means' needs numeric balance columns; the "
                        f"balance columns {balance} are all categorical."
                    )
                scores.append("means")
            elif callable(item):
                scores.append(item)
            else:
                raise ValueError(
                    f"scoring entries must be 'auto', 'osat', 'means' or "
                    f"callables; got {item!r}."
                )
        deduplicated = []
        for item in scores:
            if callable(item) or item not in deduplicated:
                deduplicated.append(item)
        scores = deduplicated
        if not scores:
            raise ValueError(
                "No score to optimise: give balance columns or a scoring callable."
            )
        osat_columns = list(categorical)
        if numeric and (bins or "means" not in scores):
            # Binned, or (scoring="osat" alone) every value a category, as in
            # designit.
            osat_columns += numeric
        if "osat" in scores and not osat_columns:
            raise ValueError("scoring='osat' needs balance columns.")
        self._osat_columns = osat_columns if "osat" in scores else []
        used = set(together) | set(separate) | set(balance)
        self._complete_columns = [c for c in columns if c in used & numeric_cols]
        self._check_complete(frame)
        return {
            "together": together,
            "separate": separate,
            "osat_columns": osat_columns,
            "binned": list(numeric) if bins else [],
            "numeric": numeric,
            "scores": scores,
        }

    def _cells(self, frame, spec):
        """OSAT cell of every unit (``-1`` if a feature is missing)."""
        if "osat" not in spec["scores"]:
            return np.full(frame.shape[0], -1, dtype=np.int64)
        columns = {}
        for name in spec["osat_columns"]:
            if name in spec["binned"]:
                columns[name] = pd.qcut(
                    frame[name], self.numeric, labels=False, duplicates="drop"
                )
            else:
                columns[name] = frame[name]
        table = pd.DataFrame(columns, index=frame.index)
        cells, _ = osat_cells(table, what="balance feature", stacklevel=3)
        if np.all(cells < 0):
            raise ValueError("Every unit has a missing balance feature.")
        return cells

    def _cage_codes(self, frame, spec):
        together, separate = spec["together"], spec["separate"]
        if not together and self.subgroup_sizes is None:
            return None, np.zeros((frame.shape[0], 0), dtype=np.int64)
        if together:
            groups, _ = encode_cells(frame[together])
            if np.any(groups < 0):
                units = np.flatnonzero(groups < 0).tolist()
                raise ValueError(
                    f"keep_together columns {together} are missing for units "
                    f"{units}; every unit needs a group."
                )
        else:
            groups = np.zeros(frame.shape[0], dtype=np.int64)
        codes = np.zeros((frame.shape[0], len(separate)), dtype=np.int64)
        for v, name in enumerate(separate):
            codes[:, v] = encode_cells(frame[[name]])[0]
        return groups, codes

    def _cage_sizes(self, groups, capacities):
        if self.subgroup_sizes is None:
            n_max = int(np.bincount(groups).max())
            return 1, max(1, (1 + n_max) // 2), n_max
        sizes = tuple(self.subgroup_sizes)
        if len(sizes) != 3 or not all(
            isinstance(s, Integral) and s >= 1 for s in sizes
        ):
            raise ValueError(
                "subgroup_sizes must be three positive integers "
                f"(n_min, n_ideal, n_max); got {self.subgroup_sizes!r}."
            )
        n_min, n_ideal, n_max = (int(s) for s in sizes)
        if not n_min <= n_ideal <= n_max:
            raise ValueError(
                f"subgroup_sizes needs n_min <= n_ideal <= n_max; got {sizes}."
            )
        return n_min, n_ideal, n_max
