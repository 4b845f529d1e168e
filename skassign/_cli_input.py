"""Reading and checking the input of the command line: CSV files and columns.

Every problem with the user's input raises :class:`_InputError`, which
``skassign._cli.main`` reports as one ``skassign: error: ...`` line.
"""

from __future__ import annotations

import io
import sys

import numpy as np


class _InputError(ValueError):
    """A problem with the user's input, reported on one line."""


def _one_line(message):
    """Collapse a (possibly multi-line) message to one line."""
    return " ".join(str(message).split())


def _split_names(values):
    """Column names from ``--columns a,b c``."""
    names = []
    for value in values or []:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def _read_csv(path):
    """Read ``path`` (``-`` for standard input) as text once.

    Returns the parsed frame and the same file with every cell kept as text
    (so that the output reproduces the input apart from the new column).
    """
    import pandas as pd

    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8-sig") as handle:
                text = handle.read()
    except FileNotFoundError:
        raise _InputError(f"input file {path!r} does not exist.") from None
    except IsADirectoryError:
        raise _InputError(f"input {path!r} is a directory, not a CSV file.") from None
    except UnicodeDecodeError:
        raise _InputError(
            f"input file {path!r} is not UTF-8 text; is it a CSV file?"
        ) from None
    except OSError as err:
        raise _InputError(f"cannot read {path!r}: {err.strerror}.") from None
    if not text.strip():
        raise _InputError(f"input file {path!r} is empty; it needs a header row.")
    try:
        frame = pd.read_csv(io.StringIO(text))
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise _InputError(f"cannot parse {path!r} as CSV: {_one_line(err)}") from None
    if frame.shape[0] == 0:
        raise _InputError(f"input file {path!r} has a header but no data rows.")
    _check_unique_header(text, path)
    return frame, raw


def _check_unique_header(text, path):
    """Refuse repeated column names (pandas would silently rename them)."""
    import csv

    header = next(csv.reader(io.StringIO(text)), [])
    seen = set()
    for name in header:
        if name in seen:
            raise _InputError(
                f"column {name!r} appears more than once in the header of {path!r}; "
                "give every column its own name."
            )
        seen.add(name)


def _non_numeric_cells(values):
    """Rows (0-based) and text of the cells of ``values`` that are not numbers.

    Missing cells are not counted; ``values`` is a column read as text or
    with pandas' type inference.
    """
    import pandas as pd

    present = values.notna().to_numpy()
    parsed = pd.to_numeric(values.where(values.notna()), errors="coerce")
    bad = np.flatnonzero(present & parsed.isna().to_numpy())
    return bad, values.to_numpy()[bad], int(present.sum())


def _check_numeric_typos(frame, column):
    """Refuse a column that is numeric except for a few cells.

    A typo (``69,4``, ``n.a.``) turns a numeric column into text; balancing
    it as a category, or leaving it out, would both be silent mistakes.
    """
    import pandas as pd

    values = frame[column]
    if not (
        pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)
    ):
        return
    bad, texts, n_present = _non_numeric_cells(values)
    if not bad.size or 2 * (n_present - bad.size) < n_present:
        return
    hint = ""
    if any("," in str(t) for t in texts):
        hint = " (numbers need '.' as decimal point)"
    raise _InputError(
        f"column {column!r} is numeric except for {bad.size} cell(s): data row "
        f"{int(bad[0]) + 1} has {str(texts[0])!r}{hint}; correct the value, leave "
        "the cell empty for a missing value, or leave the column out with "
        "--columns."
    )


def _covariate_columns(frame, args, path):
    """Choose and check the covariate columns; return (numeric, categorical)."""
    import pandas as pd

    requested = _split_names(args.columns)
    reserved = {c for c in (args.fixed, args.strata) if c}
    if requested:
        missing = [c for c in requested if c not in frame.columns]
        if missing:
            raise _InputError(
                f"column {missing[0]!r} is not in {path!r}; its columns are "
                f"{', '.join(map(str, frame.columns))}."
            )
        duplicated = sorted({c for c in requested if requested.count(c) > 1})
        if duplicated:
            raise _InputError(f"column {duplicated[0]!r} is given twice in --columns.")
        if args.fixed in requested:
            raise _InputError(
                f"column {args.fixed!r} holds the fixed labels (--fixed) and cannot "
                "also be a covariate."
            )
        if args.strata in requested:
            raise _InputError(
                f"column {args.strata!r} holds the strata (--strata) and cannot "
                "also be a covariate."
            )
        columns = requested
    else:
        columns = [
            c
            for c in frame.columns
            if c not in reserved
            and (
                pd.api.types.is_numeric_dtype(frame[c])
                or pd.api.types.is_bool_dtype(frame[c])
            )
        ]
        if not columns:
            raise _InputError(
                f"{path!r} has no numeric column to balance; name columns with "
                "--columns (and pass --one-hot for categorical ones)."
            )
    candidates = (
        columns if requested else [c for c in frame.columns if c not in reserved]
    )
    for column in candidates:
        _check_numeric_typos(frame, column)
    numeric, categorical = [], []
    for column in columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numeric.append(column)
            finite = values.astype(np.float64)
            if np.isinf(finite).any():
                row = int(np.flatnonzero(np.isinf(finite.to_numpy()))[0]) + 1
                raise _InputError(
                    f"column {column!r} has infinite values (first in data row "
                    f"{row}); replace them with finite numbers."
                )
        elif args.one_hot:
            categorical.append(column)
        else:
            bad, texts, _ = _non_numeric_cells(values)
            example = str(texts[0]) if bad.size else ""
            raise _InputError(
                f"column {column!r} is not numeric (e.g. {example!r}); pass --one-hot "
                "to encode categorical columns, or leave it out of --columns."
            )
        n_missing = int(values.isna().sum())
        if n_missing and not args.impute:
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
            raise _InputError(
                f"column {column!r} has {n_missing} missing value(s) (first in data "
                f"row {row}); fill or drop them, or pass --impute to use the "
                "column mean (most frequent value for categorical columns)."
            )
    return numeric, categorical


def _fixed_labels(frame, column):
    """Return the ``--fixed`` column as numbers, naming it for a bad cell."""
    import pandas as pd

    values = frame[column]
    bad, texts, _ = _non_numeric_cells(values)
    if bad.size:
        raise _InputError(
            f"--fixed column {column!r} must hold group numbers (empty or -1 for "
            f"rows to assign); data row {int(bad[0]) + 1} has {str(texts[0])!r}."
        )
    numbers = pd.to_numeric(values).astype(np.float64).to_numpy()
    odd = np.flatnonzero(
        np.isinf(numbers) | (np.isfinite(numbers) & (numbers != np.round(numbers)))
    )
    if odd.size:
        raise _InputError(
            f"--fixed column {column!r} must hold whole group numbers (empty or -1 "
            f"for rows to assign); data row {int(odd[0]) + 1} has "
            f"{str(values.iloc[odd[0]])!r}."
        )
    return numbers
