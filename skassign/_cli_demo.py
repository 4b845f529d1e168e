"""``skassign demo``: the 20-mice tumour experiment end to end."""

from __future__ import annotations

import textwrap

import numpy as np

from skassign._cli_input import _InputError


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

    if args.n_mice < 2:
        raise _InputError(
            f"--n-mice must be at least 2 (one mouse per group); got {args.n_mice}."
        )

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


def add_demo_parser(commands):
    """Register ``skassign demo`` on the sub-command parsers ``commands``."""
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
    return demo
