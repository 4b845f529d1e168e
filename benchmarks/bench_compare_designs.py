"""Benchmark: designs compared by simulated experiments (skassign.simulation).

Four items, each printed as a table and written to
``benchmarks/results/bench_compare_designs.json`` (with the commit, the
machine, its load average and the date), figures next to it:

1. **The case study's comparison**: simulated mice experiments (20 mice,
   initial tumour weights from a normal 200/300 mg truncated at 0, one day
   of Gomp-ex growth, no measurement noise, as in the case study) under
   OptimalBalance, complete randomisation, k-means block randomisation,
   rerandomisation and MinMSE, at effects 0, -50 and -250 mg: the SD of the
   difference in means per design (OptimalBalance's at most 0.15 of complete
   randomisation's), then the bootstrap test of OptimalBalance (the case
   study's inference, ``--n-resamples`` resamples per experiment) on
   ``--bootstrap-experiments`` experiments: its size in [0.03, 0.07] and its
   power at -250 mg (at least 0.95). Figures: the distribution of the
   estimate per design (the case study's figure), power curves, a love plot.
2. **Exponential decay of the optimal discrepancy** (Bertsimas, Johnson &
   Kallus 2015): one standard-normal covariate (standardised per sample),
   two groups of k = 4, 6, ..., 12, rho = 0.5; the median proven-optimal
   ``moment_discrepancy`` over the samples against complete randomisation's
   median, and the factor by which it falls per step in k.
3. **Rerandomisation's variance reduction** (Morgan & Rubin 2012): d
   covariates, threshold a on the Mahalanobis imbalance; the variance of the
   difference in means of a linear combination of the covariates shrinks by
   v_a = P(chi2_{d+2} <= a) / P(chi2_d <= a). Simulated (fixed units,
   ``--rerandomization-experiments`` assignments) against theory for d = 2,
   5 and two thresholds (acceptance probabilities 0.1 and 0.01).
4. **Scaling**: item 1's comparison (all five designs, ``--scaling-experiments``
   experiments) with ``n_jobs=1``, ``n_jobs=2`` and on a local Dask cluster
   (two worker processes): wall times, and whether the tables are identical
   (all columns but the timing).

Usage::

    python benchmarks/bench_compare_designs.py                  # everything
    python benchmarks/bench_compare_designs.py --items 2 3      # some items
    python benchmarks/bench_compare_designs.py --quick          # minutes

Every item run updates its entry in the JSON file and keeps the others.
Timings on a shared machine are noisy: the load average is recorded.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _provenance import commit  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skassign.designs import (  # noqa: E402
    BlockRandomization,
    CompleteRandomization,
    MinMSE,
    OptimalBalance,
    Rerandomization,
)
from skassign.inference import BootstrapTest  # noqa: E402
from skassign.metrics import moment_discrepancy  # noqa: E402
from skassign.simulation import (  # noqa: E402
    LinearOutcome,
    TumorGrowthOutcome,
    TumorMiceCovariates,
    compare_designs,
)
from skassign.simulation._compare import DesignComparison  # noqa: E402
from skassign.utils._parallel import parallel_in_order  # noqa: E402

RESULTS = HERE / "results"
OUTPUT = RESULTS / "bench_compare_designs.json"
EFFECTS = (0.0, -50.0, -250.0)


def _machine():
    return {
        "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def mice_designs():
    """The five designs of item 1, each in a Pipeline that standardises.

    MinMSE's objective needs uncentred covariates, so it sees the weights
    as they are (it is scale-invariant).
    """
    return {
        "OptimalBalance": make_pipeline(StandardScaler(), OptimalBalance(rho=0.5)),
        "CompleteRandomization": make_pipeline(
            StandardScaler(), CompleteRandomization()
        ),
        "BlockRandomization (k-means)": make_pipeline(
            StandardScaler(), BlockRandomization(n_strata=5)
        ),
        "Rerandomization": make_pipeline(
            StandardScaler(), Rerandomization(acceptance_prob=0.05)
        ),
        "MinMSE": MinMSE(),
    }


def _records(table, columns):
    return json.loads(table[columns].to_json(orient="records"))


# ---------------------------------------------------------------------------
# item 1


def item1(args):
    """Item 1, by parts (``--item1-parts``): the SD comparison, the bootstrap.

    A part not run keeps its entry (and its ``measured`` record) from the
    JSON file, so that the bootstrap can be re-measured without re-running
    the comparison and the other way round.
    """
    previous = args.previous.get("item1", {})
    if "comparison" in args.item1_parts:
        entry, table = _item1_comparison(args)
        entry["measured"] = args.measured()
        if "bootstrap" in previous and "bootstrap" not in args.item1_parts:
            entry["bootstrap"] = previous["bootstrap"]
    else:
        entry, table = dict(previous), None
    boot = None
    if "bootstrap" in args.item1_parts:
        boot, entry["bootstrap"] = _item1_bootstrap(args)
        entry["bootstrap"]["measured"] = args.measured()
    else:
        # The bootstrap entry as it is on disk now (another run may have
        # written it since this one started).
        on_disk = args.read_output().get("item1", {})
        entry["bootstrap"] = on_disk.get("bootstrap", entry.get("bootstrap"))
        if entry.get("bootstrap"):
            boot = _table_from_json(entry["bootstrap"]["table"])
    if table is not None:
        _item1_figures(table, boot, args.figure_prefix)
    elif "power-figure" in args.item1_parts:
        # Redrawn from the tables in the JSON file, without simulating.
        _item1_power_figure(_table_from_json(entry["table"]), boot, args.figure_prefix)
    return entry


def _item1_comparison(args):
    designs = mice_designs()
    covariates, outcome = TumorMiceCovariates(), TumorGrowthOutcome(noise_sd=0.0)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    table = compare_designs(
        designs,
        covariates,
        outcome,
        effects=EFFECTS,
        n_experiments=args.n_experiments,
        n_jobs=args.n_jobs,
        random_state=0,
        progress=args.progress,
    )
    seconds = time.perf_counter() - start
    complete_sd = table.loc[table["design"] == "CompleteRandomization"]
    complete_sd = complete_sd.set_index("effect")["sd"]
    table["sd_ratio_to_complete"] = table["sd"] / table["effect"].map(complete_sd)
    opt = table[table["design"] == "OptimalBalance"]
    sd_ratio = float(opt["sd_ratio_to_complete"].max())

    columns = [
        "design", "effect", "n_experiments", "n_failed", "mean_estimate", "bias",
        "sd", "sd_ratio_to_complete", "rmse", "rejection_rate", "rejection_se",
        "max_abs_smd", "mahalanobis", "time_per_assignment",
    ]  # fmt: skip
    entry = {
        "n_experiments": args.n_experiments,
        "effects": list(EFFECTS),
        "outcome": repr(outcome),
        "covariates": repr(covariates),
        "designs": {k: repr(v) for k, v in designs.items()},
        "wall_time_s": seconds,
        "n_jobs": args.n_jobs,
        "load_average_at_start": load,
        "table": _records(table, columns),
        "sd_ratio_optimal_to_complete": sd_ratio,
        "sd_ratio_pass": bool(sd_ratio <= 0.15),
    }
    print(
        f"\n1. Mice comparison: {args.n_experiments} experiments x 5 designs x "
        f"{len(EFFECTS)} effects in {seconds:.0f} s (n_jobs={args.n_jobs}, load "
        f"{load:.1f}); Welch's t-test as the analysis"
    )
    print(table[columns].to_string(index=False, float_format="{:.4g}".format))
    print(
        f"   OptimalBalance SD / complete randomisation's SD: {sd_ratio:.3f} "
        f"(target <= 0.15: {'PASS' if sd_ratio <= 0.15 else 'FAIL'})",
        flush=True,
    )
    return entry, table


def _item1_bootstrap(args):
    """The bootstrap test of OptimalBalance on the mice: size and power."""
    designs = mice_designs()
    covariates, outcome = TumorMiceCovariates(), TumorGrowthOutcome(noise_sd=0.0)
    optimal = {"OptimalBalance": designs["OptimalBalance"]}
    boot_test = BootstrapTest(designs["OptimalBalance"], n_resamples=args.n_resamples)
    boot_start = time.perf_counter()
    # Size and power from separate runs of the same experiments (random_state
    # 1: experiment i has the same mice and assignment in both), so that the
    # size can be measured on more experiments than the power. At effect 0
    # the interval covers 0 exactly when the test does not reject, so its
    # coverage is 1 - size and is not computed (which saves a fifth of the
    # time); at -250 mg it is the interval's coverage of the true effect.
    parts = []
    for effect, n, level in (
        (0.0, args.bootstrap_experiments, None),
        (-250.0, args.power_experiments, 0.95),
    ):
        parts.append(
            compare_designs(
                optimal,
                covariates,
                outcome,
                effects=(effect,),
                n_experiments=n,
                test=boot_test.set_params(confidence_level=level),
                n_jobs=args.n_jobs,
                random_state=1,
                progress=args.progress,
            )
        )
    boot_seconds = time.perf_counter() - boot_start
    boot = pd.concat(parts, ignore_index=True)
    boot.experiments = pd.concat([p.experiments for p in parts], ignore_index=True)
    size = boot.loc[boot["effect"] == 0.0].iloc[0]
    power = boot.loc[boot["effect"] == -250.0].iloc[0]

    boot_cols = [
        "design", "effect", "n_experiments", "n_failed", "n_tests", "sd",
        "rejection_rate", "rejection_se", "coverage",
    ]  # fmt: skip
    print(
        f"   Bootstrap test of OptimalBalance ({args.n_resamples} resamples, the "
        f"design re-solved on each), {args.bootstrap_experiments} experiments at "
        f"effect 0 and {args.power_experiments} at -250 mg, {boot_seconds:.0f} s:"
    )
    print(boot[boot_cols].to_string(index=False, float_format="{:.4g}".format))
    size_ok = 0.03 <= size["rejection_rate"] <= 0.07
    power_ok = power["rejection_rate"] >= 0.95
    print(
        f"   size {size['rejection_rate']:.3f} (SE {size['rejection_se']:.3f}; "
        f"target [0.03, 0.07]: {'PASS' if size_ok else 'FAIL'}), power at -250 mg "
        f"{power['rejection_rate']:.3f} (SE {power['rejection_se']:.3f}; target "
        f">= 0.95: {'PASS' if power_ok else 'FAIL'})"
    )
    pvalues = {
        str(effect): [
            None if not np.isfinite(p) else round(float(p), 6)
            for p in part.experiments["pvalue"]
        ]
        for effect, part in zip((0.0, -250.0), parts, strict=True)
    }
    return boot, {
        "test": repr(boot_test),
        "random_state": 1,
        "n_experiments": args.bootstrap_experiments,
        "n_experiments_power": args.power_experiments,
        "n_resamples": args.n_resamples,
        "wall_time_s": boot_seconds,
        "table": _records(boot, boot_cols),
        "size": float(size["rejection_rate"]),
        "size_se": float(size["rejection_se"]),
        "size_pass": bool(size_ok),
        "power_at_-250": float(power["rejection_rate"]),
        "power_se": float(power["rejection_se"]),
        "power_pass": bool(power_ok),
        "failures": int(boot["n_failed"].max()),
        "pvalues_by_effect": pvalues,
    }


def _item1_figures(table, boot, prefix):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skassign.plotting import plot_balance, plot_estimates

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    plot_estimates(table, effect=-250.0, bins=40, ax=axes[0])
    plot_estimates(
        table[table["design"].isin(["OptimalBalance", "Rerandomization", "MinMSE"])],
        effect=-250.0,
        bins=40,
        ax=axes[1],
        title="The three balancing designs, zoomed in",
    )
    fig.tight_layout()
    fig.savefig(RESULTS / f"{prefix}_mice_estimates.png", dpi=110)
    _item1_power_figure(table, boot, prefix)
    ax = plot_balance(table, title="Mean |SMD| of the initial weight")
    ax.figure.tight_layout()
    ax.figure.savefig(RESULTS / f"{prefix}_mice_balance.png", dpi=110)
    plt.close("all")


def _table_from_json(records):
    """A summary table read back from the JSON file, for ``plot_power``.

    ``plot_power`` draws the summary columns only; the per-experiment
    records are not in the JSON file, so ``experiments`` is left empty.
    """
    table = DesignComparison(pd.DataFrame(records))
    table.experiments = pd.DataFrame(columns=["experiment", "design", "effect"])
    table.alpha = 0.05
    return table


def _item1_power_figure(table, boot, prefix):
    """Size and power: Welch's t-test per design, and the bootstrap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skassign.plotting import plot_power

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    plot_power(table, ax=axes[0], title="Welch's t-test: size and power")
    if boot is not None:
        plot_power(boot, ax=axes[1], title="Bootstrap test of OptimalBalance")
    fig.tight_layout()
    fig.savefig(RESULTS / f"{prefix}_mice_power.png", dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------
# item 2


def _discrepancy_sample(k, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(2 * k)
    X = ((x - x.mean()) / x.std(ddof=1)).reshape(-1, 1)
    design = OptimalBalance(rho=0.5, time_limit=120.0, random_state=0).fit(X)
    complete = CompleteRandomization(random_state=int(rng.integers(2**31))).fit(X)
    return (
        float(moment_discrepancy(X, design.labels_, rho=0.5)),
        design.status_,
        float(moment_discrepancy(X, complete.labels_, rho=0.5)),
    )


def item2(args):
    ks = (4, 6, 8, 10, 12)
    tasks = [
        (k, seed)
        for k in ks
        for seed in np.random.SeedSequence([2, k]).spawn(args.n_samples)
    ]
    start = time.perf_counter()
    out = parallel_in_order(_discrepancy_sample, tasks, n_jobs=args.n_jobs)
    seconds = time.perf_counter() - start
    rows = []
    for k in ks:
        res = [r for (kk, _), r in zip(tasks, out, strict=True) if kk == k]
        proven = [d for d, status, _ in res if status == "optimal"]
        complete = np.array([c for _, _, c in res])
        rows.append(
            {
                "k": k,
                "n_samples": len(res),
                "n_proven_optimal": len(proven),
                "median_optimal": float(np.median(proven)),
                "median_complete": float(np.median(complete)),
            }
        )
    table = pd.DataFrame(rows)
    table["ratio_to_complete"] = table["median_optimal"] / table["median_complete"]
    table["factor_per_step"] = (
        table["median_optimal"].shift(1) / table["median_optimal"]
    )
    logs = np.log(table["median_optimal"].to_numpy())
    slope, intercept, r, _, _ = stats.linregress(table["k"], logs)
    print(
        f"\n2. Optimal discrepancy (one covariate, rho 0.5, {args.n_samples} "
        f"samples per k) in {seconds:.0f} s"
    )
    print(table.to_string(index=False, float_format="{:.4g}".format))
    print(
        f"   log(median optimal) = {intercept:.2f} {slope:+.3f} k (R^2 {r**2:.3f}): "
        f"a factor {np.exp(-2 * slope):.2f} per step of 2 in k; complete "
        "randomisation's median falls like 1/sqrt(k)"
    )
    return {
        "n_samples": args.n_samples,
        "wall_time_s": seconds,
        "table": json.loads(table.to_json(orient="records")),
        "log_linear_slope_per_unit_k": float(slope),
        "factor_per_step_of_2": float(np.exp(-2 * slope)),
        "r_squared": float(r**2),
    }


# ---------------------------------------------------------------------------
# item 3


def item3(args):
    n = 100
    rows = []
    start = time.perf_counter()
    for d in (2, 5):
        X = np.random.default_rng(d).standard_normal((n, d))
        y = X.sum(axis=1)
        # Exact variance of the difference in means of y under complete
        # randomisation of n/2 + n/2 units (Neyman, no effect).
        var_complete = y.var(ddof=1) * (1 / (n / 2) + 1 / (n / 2))
        designs = {}
        thresholds = {}
        for p in (0.1, 0.01):
            a = float(stats.chi2.ppf(p, d))
            name = f"a={a:.3f}"
            designs[name] = Rerandomization(threshold=a, max_draws=1_000_000)
            thresholds[name] = (p, a)
        table = compare_designs(
            designs,
            X,
            LinearOutcome(coef=1.0, noise_sd=0.0),
            n_experiments=args.rerandomization_experiments,
            n_jobs=args.n_jobs,
            random_state=d,
        )
        for _, row in table.iterrows():
            p, a = thresholds[row["design"]]
            v_theory = stats.chi2.cdf(a, d + 2) / stats.chi2.cdf(a, d)
            v_sim = row["sd"] ** 2 / var_complete
            se = v_sim * np.sqrt(2.0 / (row["n_experiments"] - row["n_failed"] - 1))
            rows.append(
                {
                    "d": d,
                    "acceptance_prob": p,
                    "threshold_a": a,
                    "v_a_theory": float(v_theory),
                    "v_a_simulated": float(v_sim),
                    "monte_carlo_se": float(se),
                    "z": float((v_sim - v_theory) / se),
                    "n_experiments": int(row["n_experiments"]),
                    "n_failed": int(row["n_failed"]),
                }
            )
    seconds = time.perf_counter() - start
    table = pd.DataFrame(rows)
    table["within_3_se"] = table["z"].abs() <= 3
    print(
        f"\n3. Rerandomisation variance reduction, n = {n} fixed units, "
        f"{args.rerandomization_experiments} assignments per row ({seconds:.0f} s)"
    )
    print(table.to_string(index=False, float_format="{:.4g}".format))
    return {
        "n_units": n,
        "wall_time_s": seconds,
        "table": json.loads(table.to_json(orient="records")),
        "all_within_3_se": bool(table["within_3_se"].all()),
    }


# ---------------------------------------------------------------------------
# item 4


def _scaling_run(n_experiments, n_jobs):
    start = time.perf_counter()
    table = compare_designs(
        mice_designs(),
        TumorMiceCovariates(),
        TumorGrowthOutcome(),
        effects=EFFECTS,
        n_experiments=n_experiments,
        n_jobs=n_jobs,
        random_state=4,
    )
    return table, time.perf_counter() - start


def _same(a, b):
    try:
        pd.testing.assert_frame_equal(
            a.drop(columns="time_per_assignment"), b.drop(columns="time_per_assignment")
        )
        pd.testing.assert_frame_equal(
            a.experiments.drop(columns="time"),
            b.experiments.drop(columns="time"),
        )
    except AssertionError:
        return False
    return True


def item4(args):
    import joblib
    from distributed import Client, LocalCluster

    n = args.scaling_experiments
    _scaling_run(2, 2)  # start the loky pool and compile the kernels first
    load_start = os.getloadavg()[0]
    one, t1 = _scaling_run(n, 1)
    two, t2 = _scaling_run(n, 2)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        _scaling_run(2, None)  # workers import skassign and compile first
        dask, td = _scaling_run(n, None)
    load_end = os.getloadavg()[0]
    result = {
        "n_experiments": n,
        "wall_time_n_jobs_1_s": t1,
        "wall_time_n_jobs_2_s": t2,
        "wall_time_dask_2_workers_s": td,
        "speedup_n_jobs_2": t1 / t2,
        "speedup_dask": t1 / td,
        "identical_n_jobs_1_vs_2": _same(one, two),
        "identical_n_jobs_1_vs_dask": _same(one, dask),
        "load_average_start_end": [load_start, load_end],
    }
    print(
        f"\n4. Scaling, item 1 with {n} experiments (load {load_start:.1f} -> "
        f"{load_end:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"   n_jobs=1 {t1:.1f} s; n_jobs=2 {t2:.1f} s ({t1 / t2:.2f}x); Dask "
        f"LocalCluster, 2 worker processes {td:.1f} s ({t1 / td:.2f}x); tables "
        f"identical: n_jobs 1 vs 2 {result['identical_n_jobs_1_vs_2']}, 1 vs "
        f"Dask {result['identical_n_jobs_1_vs_dask']}"
    )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", nargs="+", type=int, default=[1, 2, 3, 4])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--n-experiments", type=int, default=1000)
    parser.add_argument(
        "--bootstrap-experiments",
        type=int,
        default=1000,
        help="item 1: experiments for the bootstrap's size (effect 0)",
    )
    parser.add_argument(
        "--power-experiments",
        type=int,
        default=200,
        help="item 1: experiments for the bootstrap's power (effect -250 mg)",
    )
    parser.add_argument("--n-resamples", type=int, default=200)
    parser.add_argument("--n-samples", type=int, default=100)
    parser.add_argument("--rerandomization-experiments", type=int, default=4000)
    parser.add_argument("--scaling-experiments", type=int, default=200)
    parser.add_argument(
        "--item1-parts",
        nargs="+",
        choices=["comparison", "bootstrap", "power-figure"],
        default=["comparison", "bootstrap"],
        help="item 1: the parts to run (a part not run keeps its JSON entry); "
        "power-figure only redraws the size/power figure from the JSON",
    )
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    argv_used = sys.argv[1:] if argv is None else list(argv)
    run_commit = commit(short=True)  # the code that runs, even if HEAD moves meanwhile
    args.figure_prefix = "compare_designs_quick" if args.quick else "compare_designs"
    if args.output is None:
        args.output = OUTPUT.with_name(
            f"bench_compare_designs{'_quick' * args.quick}.json"
        )
    if args.quick:
        args.n_experiments, args.bootstrap_experiments = 60, 10
        args.power_experiments = 10
        args.n_resamples, args.n_samples = 49, 10
        args.rerandomization_experiments, args.scaling_experiments = 300, 10
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.output.exists() and not args.quick:
        results = json.loads(args.output.read_text())
    results.update(
        {
            "commit": commit(short=True),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": _machine(),
            "quick": args.quick,
            "provenance": (
                "commit, date and machine above are the latest run's; each "
                "item's 'measured' entry names the commit and command of the "
                "run that produced it"
            ),
        }
    )

    def measured():
        return {
            "commit": run_commit,
            "command": " ".join(
                ["python benchmarks/bench_compare_designs.py", *argv_used]
            ),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        }

    def save(key, entry):
        # Re-read the file first: another run of this script (another item,
        # or the other part of item 1) may have written it since this run
        # started; only this run's own entries are replaced.
        entry.setdefault("measured", measured())
        if args.output.exists() and not args.quick:
            on_disk = json.loads(args.output.read_text())
            if key == "item1" and set(args.item1_parts) != {"comparison", "bootstrap"}:
                kept = on_disk.get("item1", {})
                if "bootstrap" in args.item1_parts:
                    entry = {**kept, "bootstrap": entry["bootstrap"]}
                elif "bootstrap" in kept:
                    entry["bootstrap"] = kept["bootstrap"]
            results.update({k: v for k, v in on_disk.items() if k not in results})
            for k, v in on_disk.items():
                if k.startswith("item") and k != key and k not in ran:
                    results[k] = v
        results[key] = entry
        ran.add(key)
        args.output.write_text(json.dumps(results, indent=2) + "\n")

    ran = set()
    args.read_output = lambda: (
        json.loads(args.output.read_text()) if args.output.exists() else {}
    )
    args.measured = measured
    args.previous = dict(results)
    items = {1: item1, 2: item2, 3: item3, 4: item4}
    for item in args.items:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            save(f"item{item}", items[item](args))
    print(f"\nwritten to {args.output}")
    return results


if __name__ == "__main__":
    main()
