"""``skassign assign``: assign the rows of a CSV file to groups.

Also the pieces ``skassign compare`` shares with it: the design named on the
command line with its ``--param`` values, the preprocessing pipeline in
front of it, and writing a CSV result.
"""

from __future__ import annotations

import ast
import sys

import numpy as np

from skassign._cli_input import (
    _covariate_columns,
    _fixed_labels,
    _InputError,
    _read_csv,
    _split_names,
)


def _design_classes():
    """Map normalised design names to ``(name, class)``."""
    from skassign.utils.discovery import all_designs

    return {_normalise(name): (name, cls) for name, cls in all_designs()}


def _normalise(name):
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def _resolve_design(name):
    """Return the design class called ``name`` (case and separators ignored)."""
    designs = _design_classes()
    found = designs.get(_normalise(name))
    if found is None:
        names = ", ".join(sorted(n for n, _ in designs.values()))
        raise _InputError(
            f"unknown design {name!r}; choose one of {names} (case-insensitive; "
            "`skassign designs` describes them)."
        )
    return found[1]


def _parse_param(text):
    """Parse ``KEY=VALUE``; the value as a Python literal, else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise _InputError(
            f"--param needs KEY=VALUE (for example acceptance_prob=0.01); got {text!r}."
        )
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()
    return key.strip(), parsed


def _group_sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise _InputError(
            f"--group-sizes needs comma-separated integers such as 10,10; got {text!r}."
        ) from None
    if not sizes:
        raise _InputError("--group-sizes needs at least one size.")
    return sizes


def _numeric_scaler(design):
    """Return the scaling of numeric covariates that suits ``design``.

    Designs balance standardised covariates, except MinMSE: its objective
    vanishes on centred covariates (unless it fits an intercept), so they are
    only divided by their standard deviation, as the R package minMSE does.
    """
    from sklearn.preprocessing import StandardScaler

    from skassign.designs import MinMSE

    if isinstance(design, MinMSE) and not design.fit_intercept:
        return StandardScaler(with_mean=False)
    return StandardScaler()


def _assign_pipeline(design, numeric, categorical, impute):
    """Preprocessing (impute, scale, one-hot encode) followed by the design."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    numeric_steps = [_numeric_scaler(design)]
    categorical_steps = [OneHotEncoder(sparse_output=False)]
    if impute:
        numeric_steps.insert(0, SimpleImputer(strategy="mean"))
        categorical_steps.insert(0, SimpleImputer(strategy="most_frequent"))
    transformers = []
    if numeric:
        transformers.append(("numeric", make_pipeline(*numeric_steps), numeric))
    if categorical:
        transformers.append(
            ("categorical", make_pipeline(*categorical_steps), categorical)
        )
    return Pipeline(
        [("preprocess", ColumnTransformer(transformers)), ("design", design)]
    )


def _new_design(name, params):
    """Return a new design called ``name``; refuse ``params`` it does not have.

    ``params`` (``KEY=VALUE`` parsed by :func:`_parse_param`) are not set yet.
    """
    cls = _resolve_design(name)
    design = cls()
    valid = design.get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise _InputError(
            f"{cls.__name__} has no parameter {unknown[0]!r}; its parameters are "
            f"{', '.join(sorted(valid))}."
        )
    return design


def _build_design(args):
    params = dict(_parse_param(p) for p in args.param or [])
    design = _new_design(args.design, params)
    if args.groups is not None:
        params["n_groups"] = args.groups
    if args.group_sizes is not None:
        sizes = _group_sizes(args.group_sizes)
        params["group_sizes"] = sizes
        params.setdefault("n_groups", len(sizes))
    args.seed = _resolve_seed(args.seed, params.pop("random_state", None))
    params["random_state"] = args.seed
    return design.set_params(**params)


def _resolve_seed(seed, param):
    """Return the seed of --seed or --param random_state, else a fresh one."""
    if param is not None:
        if isinstance(param, bool) or not isinstance(param, int) or param < 0:
            raise _InputError(
                f"--param random_state needs a non-negative integer; got {param!r}."
            )
        if seed is not None and seed != param:
            raise _InputError(
                f"--seed {seed} and --param random_state={param} disagree; give one."
            )
        return param
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return seed


def _check_output(args):
    """Refuse to overwrite an existing file (the input included) without --force."""
    import os

    if args.output in (None, "-") or args.force:
        return
    if os.path.exists(args.output):
        same = args.input != "-" and os.path.exists(args.input)
        same = same and os.path.samefile(args.input, args.output)
        what = "is the input file" if same else "exists"
        raise _InputError(
            f"output {args.output!r} {what}; pass --force to overwrite it, or "
            "choose another --output."
        )


def _write_csv(text, output, out):
    """Write ``text`` to the file ``output`` (standard output for ``None``, ``-``).

    Returns the stream for the report that follows: ``out`` when the result
    went to a file, standard error when it went to standard output (so that
    the CSV stays clean).
    """
    if output in (None, "-"):
        sys.stdout.write(text)
        return sys.stderr
    try:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as err:
        raise _InputError(f"cannot write {output!r}: {err.strerror}.") from None
    return out


def _run_assign(args, out):
    _check_output(args)
    frame, raw = _read_csv(args.input)
    design = _build_design(args)
    if args.label_column in frame.columns:
        raise _InputError(
            f"{args.input!r} already has a column {args.label_column!r}; choose "
            "another name with --label-column."
        )
    if args.fixed is not None and args.fixed not in frame.columns:
        raise _InputError(
            f"--fixed column {args.fixed!r} is not in {args.input!r}; its columns "
            f"are {', '.join(map(str, frame.columns))}."
        )
    if args.strata is not None and args.strata not in frame.columns:
        raise _InputError(
            f"--strata column {args.strata!r} is not in {args.input!r}; its "
            f"columns are {', '.join(map(str, frame.columns))}."
        )
    if design.__sklearn_tags__().input_tags.categorical:
        return _run_assign_categorical(args, out, frame, raw, design)
    numeric, categorical = _covariate_columns(frame, args, args.input)
    columns = numeric + categorical
    pipeline = _assign_pipeline(design, numeric, categorical, args.impute)
    fit_params = {}
    if args.fixed is not None:
        fit_params["design__fixed_labels"] = _fixed_labels(frame, args.fixed)
    if args.strata is not None:
        fit_params["design__strata"] = frame[args.strata]
    pipeline.fit(frame[columns], **fit_params)
    labels = pipeline[-1].labels_

    raw[args.label_column] = labels
    report = _write_csv(raw.to_csv(index=False), args.output, out)

    from skassign.metrics import standardized_mean_difference

    Xd = pipeline[:-1].transform(frame[columns])
    smd = np.abs(standardized_mean_difference(Xd, labels)).max()
    sizes = ", ".join(str(int(s)) for s in np.bincount(labels))
    print(
        f"assigned {labels.size} units to {pipeline[-1].n_groups} groups of sizes "
        f"{sizes} with {type(design).__name__} (seed {args.seed}; pass --seed "
        f"{args.seed} to reproduce) on {', '.join(map(str, columns))}; largest "
        f"|standardised mean difference| {smd:.3f}.",
        file=report,
    )
    reserved = (args.fixed, args.strata)
    ignored = [c for c in frame.columns if c not in columns and c not in reserved]
    if ignored and not args.columns:
        print(
            f"not used (non-numeric): {', '.join(map(str, ignored))}; name them "
            "with --columns and pass --one-hot to balance them too.",
            file=report,
        )
    return 0


def _run_assign_categorical(args, out, frame, raw, design):
    """Designs that take categorical columns as they are (BatchLayout)."""
    requested = _split_names(args.columns)
    missing = [c for c in requested if c not in frame.columns]
    if missing:
        raise _InputError(
            f"column {missing[0]!r} is not in {args.input!r}; its columns are "
            f"{', '.join(map(str, frame.columns))}."
        )
    columns = requested or [c for c in frame.columns if c != args.fixed]
    fit_params = {}
    if args.fixed is not None:
        fit_params["fixed_labels"] = frame[args.fixed]
    design.fit(frame[columns], **fit_params)
    raw[args.label_column] = design.labels_
    cages = getattr(design, "subgroups_", None)
    if cages is not None and np.any(cages >= 0):
        raw[f"{args.label_column}_cage"] = cages
    report = _write_csv(raw.to_csv(index=False), args.output, out)
    sizes = ", ".join(str(int(s)) for s in design.group_sizes_)
    print(
        f"assigned {design.labels_.size} units to batches of sizes {sizes} with "
        f"{type(design).__name__} (seed {args.seed}; pass --seed {args.seed} to "
        f"reproduce) on {', '.join(map(str, columns))}; score "
        f"{design.objective_:.4f}, lower bound {design.lower_bound_:.4f} "
        f"({design.status_}), keep-separate violations {design.n_violations_}.",
        file=report,
    )
    return 0


def add_assign_parser(commands):
    """Register ``skassign assign`` on the sub-command parsers ``commands``."""
    assign = commands.add_parser(
        "assign",
        help="assign the rows of a CSV file to groups",
        description=(
            "Read INPUT (a CSV file with a header row; '-' reads standard input), "
            "assign its rows to groups with a design, and write the file with an "
            "added group column. The covariates are standardised (only scaled, "
            "not centred, for MinMSE; with --one-hot, categorical ones are "
            "one-hot encoded) before the design sees them. Missing or "
            "non-numeric values are errors unless --impute or --one-hot say how "
            "to handle them."
        ),
        epilog=(
            "example: skassign assign mice.csv --design rerandomization --groups 2 "
            "--columns initial_weight --seed 1 --output assigned.csv"
        ),
    )
    assign.add_argument("input", metavar="INPUT", help="CSV file, or - for stdin")
    assign.add_argument(
        "--design",
        required=True,
        metavar="NAME",
        help=(
            "design, case-insensitive, e.g. rerandomization or "
            "complete-randomization (`skassign designs` lists them)"
        ),
    )
    assign.add_argument(
        "--groups", type=int, metavar="K", help="number of groups (default: 2)"
    )
    assign.add_argument(
        "--group-sizes",
        metavar="N1,N2,...",
        help="size of every group, summing to the number of rows "
        "(default: as equal as possible)",
    )
    assign.add_argument(
        "--columns",
        nargs="+",
        metavar="COLUMN",
        help="covariates to balance, space- or comma-separated "
        "(default: every numeric column)",
    )
    assign.add_argument(
        "--one-hot",
        action="store_true",
        help="one-hot encode non-numeric columns named in --columns "
        "instead of rejecting them",
    )
    assign.add_argument(
        "--impute",
        action="store_true",
        help="fill missing values with the column mean (most frequent value "
        "for categorical columns) instead of rejecting them",
    )
    assign.add_argument(
        "--fixed",
        metavar="COLUMN",
        help="column of groups already assigned (0..K-1); empty or -1 for rows "
        "to assign; fixed rows keep their group",
    )
    assign.add_argument(
        "--strata",
        metavar="COLUMN",
        help="column of strata (e.g. sex or cage): every stratum is spread over "
        "the groups as evenly as the group sizes allow",
    )
    assign.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="design parameter, e.g. --param acceptance_prob=0.01 (repeatable)",
    )
    assign.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="random seed (default: a fresh one, printed for reproduction)",
    )
    assign.add_argument(
        "--label-column",
        default="group",
        metavar="NAME",
        help="name of the added column (default: group)",
    )
    assign.add_argument(
        "--output",
        "-o",
        metavar="OUT.csv",
        help="output CSV file (default: standard output); an existing file is "
        "only replaced with --force",
    )
    assign.add_argument(
        "--force",
        action="store_true",
        help="overwrite the --output file if it exists",
    )
    assign.set_defaults(func=_run_assign)
    return assign
