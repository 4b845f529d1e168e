"""Command line: ``skassign demo``, ``assign``, ``designs`` and ``compare``.

Every failure caused by the input (a missing file, an unknown column or
design, non-numeric or missing values, an infeasible request) is reported as a
single ``skassign: error: ...`` line on standard error with exit code 2, never
as a traceback. Warnings of the design (for example a rerandomisation that
ran out of draws) are printed as ``skassign: warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import warnings

import numpy as np

from skassign import __version__
from skassign.exceptions import SolverError

__all__ = ["main"]

_PROG = "skassign"
_EXIT_USAGE = 2


class _InputError(ValueError):
    """A problem with the user's input, reported on one line."""


def _one_line(message):
    """Collapse a (possibly multi-line) message to one line."""
    return " ".join(str(message).split())


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


def _split_names(values):
    """Column names from ``--columns a,b c``."""
    names = []
    for value in values or []:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


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


# ---------------------------------------------------------------------------
# skassign demo


def _demo_design(random_state):
    """Return the best design the package offers for the mice experiment.

    The optimisation design of Bertsimas, Johnson & Kallus with the case
    study's settings: two groups of ten, ``rho=0.5``, solved to proven
    optimality.
    """
    from skassign.designs import OptimalBalance

    return OptimalBalance(n_groups=2, rho=0.5, random_state=random_state)


def _describe_design(design):
    """Describe the fitted design in one line."""
    return (
        f"{type(design).__name__} (Bertsimas et al. mixed-integer program, "
        f"rho={design.rho}) on the standardised initial weight: {design.status_}, "
        f"objective {design.objective_:.6f}, solved in "
        f"{1e3 * design.solve_time_:.0f} ms"
    )


def _demo_inference(X, final_weight, labels, design, args):
    """Lines reporting the effect and the bootstrap test of the design."""
    from skassign.inference import BootstrapTest

    test = BootstrapTest(
        design,
        n_resamples=args.n_resamples,
        n_jobs=args.n_jobs,
        random_state=args.seed,
    ).fit(X, final_weight, labels)
    summary = test.summary()
    low, high = np.ravel(test.confidence_interval_)
    treated = labels != 0
    table = summary[
        ["delta", "pvalue", "n_bootstrap", "avg_delta_bootstrap", "std_delta_bootstrap"]
    ]
    return [
        f"mean final weight: control {final_weight[~treated].mean():.2f} mg, "
        f"treated {final_weight[treated].mean():.2f} mg",
        "estimated effect (difference in means, treated - control): "
        f"{float(test.statistic_):.2f} mg",
        f"bootstrap test of Bertsimas et al. ({args.n_resamples} resamples, the "
        "design re-solved on every one):",
        "",
        table.to_string(float_format="{:.4g}".format),
        "",
        f"p-value {float(test.pvalue_):.4f}; "
        f"{100 * test.confidence_level:g}% confidence interval for the effect: "
        f"[{low:.1f}, {high:.1f}] mg",
    ]


def _run_demo(args, out):
    from skassign.datasets import make_tumor_mice, simulate_tumor_growth

    mice = make_tumor_mice(n_mice=args.n_mice)
    weight = mice["initial_weight"]
    # The case study's normalisation: the sample standard deviation (ddof=1).
    X = ((weight - weight.mean()) / weight.std()).to_frame("norm_initial_weight")
    design = _demo_design(args.seed).fit(X)
    labels = design.labels_
    final = simulate_tumor_growth(weight, labels, effect=args.effect)

    arms = np.where(labels == 0, "control", "treated")
    table = (
        mice.assign(group=arms)
        .groupby("group")
        .agg(
            n=("initial_weight", "size"),
            mean_initial_weight=("initial_weight", "mean"),
            sd_initial_weight=("initial_weight", "std"),
        )
        .round(2)
    )
    print(
        f"{args.n_mice} mice, initial tumour weights from make_tumor_mice() "
        "(truncated normal, mean 200 mg, sd 300 mg, seed 123).",
        file=out,
    )
    print(f"Design: {_describe_design(design)}; seed {args.seed}.", file=out)
    print("", file=out)
    print(table.to_string(float_format="{:.2f}".format), file=out)
    print("", file=out)
    print(
        "One day of Gomp-ex growth (a=1, b=5, critical weight 400 mg), "
        f"treatment effect {args.effect:g} mg:",
        file=out,
    )
    for line in _demo_inference(X, final, labels, design, args):
        print(line, file=out)
    return 0


# ---------------------------------------------------------------------------
# skassign assign


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
    return frame, raw


def _covariate_columns(frame, args, path):
    """Choose and check the covariate columns; return (numeric, categorical)."""
    import pandas as pd

    requested = _split_names(args.columns)
    reserved = {c for c in (args.fixed,) if c}
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
        if set(requested) & reserved:
            raise _InputError(
                f"column {args.fixed!r} holds the fixed labels (--fixed) and cannot "
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
            present = values.dropna().astype(str)
            example = present.iloc[0] if present.size else ""
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


def _assign_pipeline(design, numeric, categorical, impute):
    """Preprocessing (impute, scale, one-hot encode) followed by the design."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_steps = [StandardScaler()]
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


def _build_design(args):
    cls = _resolve_design(args.design)
    design = cls()
    valid = design.get_params()
    params = dict(_parse_param(p) for p in args.param or [])
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise _InputError(
            f"{cls.__name__} has no parameter {unknown[0]!r}; its parameters are "
            f"{', '.join(sorted(valid))}."
        )
    if args.groups is not None:
        params["n_groups"] = args.groups
    if args.group_sizes is not None:
        sizes = _group_sizes(args.group_sizes)
        params["group_sizes"] = sizes
        params.setdefault("n_groups", len(sizes))
    params["random_state"] = args.seed
    return design.set_params(**params)


def _run_assign(args, out):
    if args.seed is None:
        args.seed = int(np.random.SeedSequence().generate_state(1)[0])
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
    if design.__sklearn_tags__().input_tags.categorical:
        return _run_assign_categorical(args, out, frame, raw, design)
    numeric, categorical = _covariate_columns(frame, args, args.input)
    columns = numeric + categorical
    pipeline = _assign_pipeline(design, numeric, categorical, args.impute)
    fit_params = {}
    if args.fixed is not None:
        fit_params["design__fixed_labels"] = frame[args.fixed]
    pipeline.fit(frame[columns], **fit_params)
    labels = pipeline[-1].labels_

    raw[args.label_column] = labels
    text = raw.to_csv(index=False)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        report = sys.stderr
    else:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as err:
            raise _InputError(
                f"cannot write {args.output!r}: {err.strerror}."
            ) from None
        report = out

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
    ignored = [c for c in frame.columns if c not in columns and c != args.fixed]
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
    text = raw.to_csv(index=False)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        report = sys.stderr
    else:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as err:
            raise _InputError(
                f"cannot write {args.output!r}: {err.strerror}."
            ) from None
        report = out
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


# ---------------------------------------------------------------------------
# skassign designs


def _run_designs(args, out):
    for name, cls in sorted(_design_classes().values()):
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name:24s} {summary}", file=out)
    return 0


# ---------------------------------------------------------------------------
# argument parsing and error handling


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "Assign experimental units to balanced treatment groups. "
            "`skassign demo` runs the 20-mice tumour experiment end to end; "
            "`skassign assign data.csv --design rerandomization --groups 2 "
            "--output out.csv` adds a `group` column to your own data."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="run the 20-mice tumour experiment end to end",
        description=(
            "Draw the case study's 20 mice, assign them to control and treatment "
            "with the best design available, print the group table (mean and "
            "standard deviation of the initial tumour weight per group), simulate "
            "one day of tumour growth with the treatment effect, and test the "
            "effect with the design's bootstrap."
        ),
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="seed of the design (default: 0)"
    )
    demo.add_argument(
        "--n-mice", type=int, default=20, help="number of mice (default: 20)"
    )
    demo.add_argument(
        "--effect",
        type=float,
        default=-250.0,
        help="additive treatment effect in mg (default: -250)",
    )
    demo.add_argument(
        "--n-resamples",
        type=int,
        default=1000,
        help="bootstrap resamples of the test (default: 1000)",
    )
    demo.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="parallel jobs for the bootstrap (default: -1, all cores)",
    )
    demo.set_defaults(func=_run_demo)

    assign = commands.add_parser(
        "assign",
        help="assign the rows of a CSV file to groups",
        description=(
            "Read INPUT (a CSV file with a header row; '-' reads standard input), "
            "assign its rows to groups with a design, and write the file with an "
            "added group column. The covariates are standardised (and, with "
            "--one-hot, categorical ones one-hot encoded) before the design sees "
            "them. Missing or non-numeric values are errors unless --impute or "
            "--one-hot say how to handle them."
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
        help="output CSV file (default: standard output)",
    )
    assign.set_defaults(func=_run_assign)

    designs = commands.add_parser("designs", help="list the available designs")
    designs.set_defaults(func=_run_designs)

    from skassign._cli_compare import add_compare_parser

    add_compare_parser(commands)
    return parser


def main(argv=None):
    """Run the ``skassign`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments, without the program name; ``None`` uses
        ``sys.argv[1:]``.

    Returns
    -------
    status : int
        Exit status: 0 on success, 2 for a usage or input error (reported on
        one line of standard error).

    Examples
    --------
    >>> from skassign._cli import main
    >>> main(["demo"])  # doctest: +ELLIPSIS
    20 mice, initial tumour weights from make_tumor_mice() ...
    <BLANKLINE>
    ...
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else _EXIT_USAGE
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            status = args.func(args, sys.stdout)
        except (ValueError, OSError, SolverError) as err:
            error, status = err, _EXIT_USAGE
        except KeyboardInterrupt:
            error, status = "interrupted", 130
    seen = set()
    for record in caught:
        message = _one_line(record.message)
        if issubclass(record.category, UserWarning) and message not in seen:
            seen.add(message)
            print(f"{_PROG}: warning: {message}", file=sys.stderr)
    if error is not None:
        print(f"{_PROG}: error: {_one_line(error)}", file=sys.stderr)
    return status
