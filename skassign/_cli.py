"""Command-line interface: ``skassign demo``, ``skassign assign``, ``skassign designs``.

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
import textwrap
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


def _describe_design(design, n_units):
    """Say in words what the fitted design optimised, and how it ended."""
    sizes = " and ".join(str(int(n)) for n in np.bincount(design.labels_))
    proven = {
        "optimal": "proven optimal",
        "heuristic": "best found by the heuristic",
    }.get(design.status_, f"solver status {design.status_}")
    return (
        f"{type(design).__name__} (Bertsimas, Johnson & Kallus, 2015), "
        f"rho={design.rho:g}, seed {design.random_state}: of all splits of the "
        f"{n_units} mice into groups of {sizes}, the one whose standardised "
        "initial weights differ least between the groups, measured as "
        f"|difference in means| + {design.rho:g} x |difference in mean squares| "
        f"= {design.objective_:.4f} ({proven}, {design.solve_time_:.2f} s)."
    )


def _mice_list(mice, labels, arm):
    numbers = mice["mice"].to_numpy()[labels == arm]
    return ", ".join(str(int(n)) for n in numbers)


def _run_demo(args, out):
    import pandas as pd

    from skassign.datasets import make_tumor_mice, simulate_tumor_growth
    from skassign.inference import BootstrapTest

    mice = make_tumor_mice(n_mice=args.n_mice)
    weight = mice["initial_weight"]
    # The case study's normalisation: the sample standard deviation (ddof=1).
    X = ((weight - weight.mean()) / weight.std()).to_frame("norm_initial_weight")
    design = _demo_design(args.seed).fit(X)
    labels = design.labels_
    final = simulate_tumor_growth(weight, labels, effect=args.effect)
    arms = np.where(labels == 0, "control", "treated")
    test = BootstrapTest(
        design,
        n_resamples=args.n_resamples,
        n_jobs=args.n_jobs,
        random_state=args.seed,
    ).fit(X, final, labels)
    low, high = np.ravel(test.confidence_interval_)

    def show(text="", indent=""):
        # Prose wrapped for a terminal; tables and lists are printed as they are.
        if len(text) > 79 and "\n" not in text:
            text = textwrap.fill(
                text, 79, subsequent_indent=indent, break_on_hyphens=False
            )
        print(text, file=out)

    title = f"skassign demo: {args.n_mice} mice, control and treatment"
    show(title)
    show("=" * len(title))
    show()
    show(
        f"Mice: initial tumour weights of {args.n_mice} mice from "
        "make_tumor_mice() (truncated normal, mean 200 mg, sd 300 mg, seed 123)."
    )
    show(f"Design: {_describe_design(design, args.n_mice)}")
    show()
    if args.output is None:
        show("Assignment (mouse numbers):")
        show(f"  control: {_mice_list(mice, labels, 0)}", indent="           ")
        show(f"  treated: {_mice_list(mice, labels, 1)}", indent="           ")
    else:
        frame = mice.rename(columns={"mice": "mouse"}).assign(
            group=arms, final_weight=np.round(np.asarray(final), 3)
        )
        try:
            frame.to_csv(args.output, index=False)
        except OSError as err:
            raise _InputError(
                f"cannot write {args.output!r}: {err.strerror}."
            ) from None
        show(
            f"Assignment: written to {args.output} (one row per mouse: mouse, "
            "initial_weight, group, final_weight)."
        )
    show()
    show(
        "Outcome: final tumour weight after one simulated day of Gomp-ex growth "
        f"(a=1, b=5, critical weight 400 mg), true treatment effect "
        f"{args.effect:g} mg."
    )
    show()
    weights = pd.DataFrame({"group": arms, "initial": weight, "final": final})
    table = weights.groupby("group").agg(
        mice=("initial", "size"),
        initial_mean=("initial", "mean"),
        initial_sd=("initial", "std"),
        final_mean=("final", "mean"),
        final_sd=("final", "std"),
    )
    table.index.name = None
    table.columns = ["mice", "initial mean", "initial sd", "final mean", "final sd"]
    show("Groups (tumour weight in mg; sd with ddof=1):")
    show(table.to_string(float_format="{:.2f}".format))
    show()
    smallest = 1.0 / (test.n_resamples_ + 1)
    show("Result:")
    show(
        "  treatment effect (mean final weight, treated minus control): "
        f"{float(test.effect_):.1f} mg"
    )
    show(
        f"  {100 * test.confidence_level:g}% confidence interval: "
        f"{low:.1f} to {high:.1f} mg"
    )
    show(
        f"  p-value: {float(test.pvalue_):.2g} (two-sided bootstrap test of "
        f"Bertsimas et al.: {test.n_resamples_} resamples of the mice, the "
        f"design re-solved on each; the smallest possible p-value is "
        f"{smallest:.2g})",
        indent="    ",
    )
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
        fit_params["design__fixed_labels"] = frame[args.fixed]
    if args.strata is not None:
        fit_params["design__strata"] = frame[args.strata]
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
    demo.add_argument(
        "--output",
        "-o",
        metavar="OUT.csv",
        help="write the assignment (mouse, initial weight, group, final weight) "
        "to this CSV file instead of listing it",
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
        help="output CSV file (default: standard output)",
    )
    assign.set_defaults(func=_run_assign)

    designs = commands.add_parser("designs", help="list the available designs")
    designs.set_defaults(func=_run_designs)
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
    skassign demo: 20 mice, control and treatment
    ...
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
