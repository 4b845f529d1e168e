"""``skassign compare``: compare designs on the units of a CSV file.

``_cli.py`` only registers the sub-command; reading the CSV file and the
preprocessing in front of the designs are those of ``skassign assign``.
"""

from __future__ import annotations

import numpy as np

from skassign._cli_assign import _assign_pipeline, _new_design, _parse_param, _write_csv
from skassign._cli_input import _covariate_columns, _InputError, _read_csv

__all__ = ["add_compare_parser"]

_OUTCOMES = ("linear", "poisson", "tumor")
_TESTS = ("welch", "bootstrap", "randomization")


class _OnCovariates:
    """An outcome model applied to fixed, prepared covariates ``Z``.

    The units of the CSV file are the same in every experiment, so the
    outcome can be made from their standardised covariates (or the raw
    column of initial weights) whatever the design saw.
    """

    def __init__(self, model, Z):
        self.model = model
        self.Z = Z

    def __call__(self, X, labels, effect, rng):
        return self.model(self.Z, labels, effect, rng)

    def __repr__(self):
        return repr(self.model)


def _parse_design(text):
    """``NAME`` or ``NAME:KEY=VALUE,KEY=VALUE`` -> (label, design)."""
    name, _, params_text = text.partition(":")
    params = dict(_parse_param(part) for part in params_text.split(",") if part.strip())
    design = _new_design(name.strip(), params)
    return text.strip(), design.set_params(**params)


def _outcome(args, frame, numeric):
    from skassign.simulation import LinearOutcome, PoissonOutcome, TumorGrowthOutcome

    if args.outcome == "tumor":
        column = args.weight_column
        if column not in frame.columns:
            raise _InputError(
                f"--outcome tumor needs the initial weights: column {column!r} is "
                f"not in {args.input!r} (name it with --weight-column)."
            )
        weights = frame[[column]].to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
            raise _InputError(f"column {column!r} needs positive weights.")
        return _OnCovariates(
            TumorGrowthOutcome(column=0, noise_sd=args.noise_sd), weights
        )
    if not numeric:
        raise _InputError(
            f"--outcome {args.outcome} is made from the numeric covariates; "
            "none were chosen."
        )
    values = frame[numeric].to_numpy(dtype=np.float64)
    values = np.where(np.isnan(values), np.nanmean(values, axis=0), values)
    scale = values.std(axis=0, ddof=1)
    Z = (values - values.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    if args.outcome == "linear":
        return _OnCovariates(LinearOutcome(coef=1.0, noise_sd=args.noise_sd), Z)
    return _OnCovariates(PoissonOutcome(coef=0.5, intercept=1.0), Z)


def _test(args, design):
    from skassign.inference import BootstrapTest, RandomizationTest

    if args.test == "bootstrap":
        return BootstrapTest(design, n_resamples=args.n_resamples)
    if args.test == "randomization":
        return RandomizationTest(design, n_resamples=args.n_resamples)
    return "welch"


def _run_compare(args, out):
    from skassign.simulation import compare_designs

    frame, _ = _read_csv(args.input)
    args.fixed = args.strata = None  # assign's options, unused here
    numeric, categorical = _covariate_columns(frame, args, args.input)
    columns = numeric + categorical
    designs = {}
    for text in args.design:
        label, design = _parse_design(text)
        if label in designs:
            raise _InputError(f"design {label!r} is given twice.")
        designs[label] = _assign_pipeline(design, numeric, categorical, args.impute)
    if args.n_experiments < 1:
        raise _InputError("--n-experiments must be at least 1.")
    outcome = _outcome(args, frame, numeric)
    first = next(iter(designs.values()))
    table = compare_designs(
        designs,
        frame[columns],
        outcome,
        effects=args.effects,
        n_experiments=args.n_experiments,
        test=_test(args, first),
        alpha=args.alpha,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        progress=args.progress,
    )
    text = table.to_csv(index=False, float_format="%.6g")
    report = _write_csv(text, args.output, out)
    print(
        f"compared {len(designs)} design(s) over {args.n_experiments} simulated "
        f"experiments of the {frame.shape[0]} units in {args.input} "
        f"({args.outcome} outcome on {', '.join(map(str, columns))}; effects "
        f"{', '.join(f'{e:g}' for e in args.effects)}; {args.test} test; seed "
        f"{args.seed}).",
        file=report,
    )
    if args.output not in (None, "-"):
        summary = table[["design", "effect", "sd", "rejection_rate", "max_abs_smd"]]
        print(summary.to_string(index=False, float_format="{:.4g}".format), file=out)
    return 0


def add_compare_parser(commands):
    """Register ``skassign compare`` on the sub-command parsers ``commands``."""
    compare = commands.add_parser(
        "compare",
        help="compare designs by simulated experiments on a CSV of covariates",
        description=(
            "Simulate N experiments on the units of INPUT (a CSV file of "
            "covariates, '-' for standard input) under every --design: assign "
            "(after standardising the covariates), make outcomes with the chosen "
            "model and each effect, estimate and test the effect. Writes one row "
            "per design and effect: mean estimate, bias, SD, RMSE, rejection "
            "rate with its Monte Carlo standard error, balance and time."
        ),
        epilog=(
            "example: skassign compare mice.csv --design complete-randomization "
            "--design rerandomization:acceptance_prob=0.01 --design optimal-balance "
            "--outcome tumor --effects 0 -250 --n-experiments 200 -o table.csv"
        ),
    )
    compare.add_argument("input", metavar="INPUT", help="CSV file, or - for stdin")
    compare.add_argument(
        "--design",
        action="append",
        required=True,
        metavar="NAME[:KEY=VALUE,...]",
        help="a design to compare, with optional parameters (repeat for more)",
    )
    compare.add_argument(
        "--outcome",
        choices=_OUTCOMES,
        default="linear",
        help="outcome model: linear in the standardised covariates plus noise, "
        "Poisson counts, or the case study's tumour growth (default: linear)",
    )
    compare.add_argument(
        "--weight-column",
        default="initial_weight",
        metavar="COLUMN",
        help="initial weights for --outcome tumor (default: initial_weight)",
    )
    compare.add_argument(
        "--noise-sd",
        type=float,
        default=1.0,
        help="noise SD of the linear and tumour outcomes (default: 1)",
    )
    compare.add_argument(
        "--effects",
        type=float,
        nargs="+",
        default=[0.0],
        metavar="E",
        help="true effects to simulate (default: 0)",
    )
    compare.add_argument(
        "--n-experiments",
        type=int,
        default=200,
        metavar="N",
        help="simulated experiments (default: 200)",
    )
    compare.add_argument(
        "--test",
        choices=_TESTS,
        default="welch",
        help="test of the effect in each experiment (default: welch)",
    )
    compare.add_argument(
        "--n-resamples",
        type=int,
        default=99,
        help="resamples of the bootstrap or randomization test (default: 99)",
    )
    compare.add_argument("--alpha", type=float, default=0.05, help="level")
    compare.add_argument(
        "--columns",
        nargs="+",
        metavar="COLUMN",
        help="covariates (default: every numeric column)",
    )
    compare.add_argument(
        "--one-hot", action="store_true", help="one-hot encode categorical columns"
    )
    compare.add_argument(
        "--impute", action="store_true", help="fill missing values (column mean)"
    )
    compare.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    compare.add_argument(
        "--n-jobs", type=int, default=-1, help="parallel jobs (default: -1, all)"
    )
    compare.add_argument("--progress", action="store_true", help="progress bar")
    compare.add_argument(
        "--output", "-o", metavar="OUT.csv", help="output CSV (default: stdout)"
    )
    compare.set_defaults(func=_run_compare)
    return compare
