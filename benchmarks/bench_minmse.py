"""Benchmark MinMSE against the R package minMSE, run side by side.

The reference is the R package itself (CRAN ``minMSE`` 0.5.1), called in
the same run through ``Rscript`` (``_minmse_r.R``: ``assign_minMSE_treatment``
with ``desired_test_vectors=1``, timed inside R with ``system.time``, so R's
start-up is excluded). Wall and CPU seconds are recorded for both sides; on
a loaded machine the CPU times are the fairer comparison. When R or the
package is missing, the script falls back to the figures published for the
R package (0.12-0.23 ms per iteration on n = 20-300 units, 1-5 covariates,
2-3 arms) and to the line-by-line NumPy port of the R algorithm
(``_minmse_r_port.py``); every row says which reference it used
(``reference: "R" | "published figures (fallback)" | "NumPy port
(fallback)"``).

Installing the reference (Debian/Ubuntu)::

    sudo apt-get install -y r-base-core r-cran-rcpp   # R, and minMSE's Rcpp
    # minMSE's sources: CRAN (install.packages("minMSE")) or the CRAN mirror
    # on GitHub, https://github.com/cran/minMSE
    git clone https://github.com/cran/minMSE /tmp/minMSE
    mkdir -p /work/rlib && R CMD INSTALL -l /work/rlib /tmp/minMSE
    export R_LIBS=/work/rlib   # or pass --r-lib

(minMSE imports MASS, shipped with R, and Rcpp.)

Sections:

1. correctness: ``minmse_objective`` against a dense formula and the port's
   objective; MinMSE against brute force over all assignments (n <= 14, 2
   and 3 arms, weights, fixed units), every assignment scored from scratch
   with R's formula (pseudo-inverses on the covariates; nothing imported
   from the design's objective code).
2. speed per iteration: MinMSE (defaults, and R's settings t0=10) against R
   (2000 iterations, R's defaults) on n = 20-300, 1-5 covariates, 2-3 arms;
   ``ok`` when MinMSE's CPU time per iteration is at least ten times lower.
3. quality: the objective reached by MinMSE (default settings, and 20000
   iterations) against 20000 iterations of R, scored by one formula, and the
   time each needs; the shortest run (1000, 2000, ... iterations) reaching
   R's objective; ``ok`` when MinMSE reaches R's objective in at most a
   tenth of R's time.
4. scale: n = 2000 units, 10 covariates, 4 arms, under 10 s of CPU time,
   with the trace (plot saved as ``results/minmse_trace_n2000.png``).

Run ``python benchmarks/bench_minmse.py`` (about five minutes on two idle
cores; ``--quick`` for a smoke run written to ``bench_minmse_quick.json``).
The JSON (``results/bench_minmse.json``) is one complete run of this script,
with commit, machine, date and load, and an overall ``pass``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _minmse_r_port import assign_treatment, evaluate_solution  # noqa: E402
from _provenance import git as _git  # noqa: E402

from skassign.designs import MinMSE  # noqa: E402
from skassign.metrics import minmse_objective, minmse_scale  # noqa: E402
from skassign.utils._testing import all_assignments  # noqa: E402

RESULTS = HERE / "results"
R_MS_PER_ITERATION = (0.12, 0.23)  # published figures: fallback only
TARGET_SPEEDUP = 10.0
R_SCRIPT = HERE / "_minmse_r.R"


def r_available(r_lib):
    """Whether Rscript runs and loads minMSE (from ``r_lib`` if given)."""
    if shutil.which("Rscript") is None:
        return False
    out = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(minMSE))"],
        capture_output=True,
        env=_r_env(r_lib),
    )
    return out.returncode == 0


def _r_env(r_lib):
    env = dict(os.environ)
    if r_lib:
        env["R_LIBS"] = str(r_lib)
    return env


def run_r(X, n_groups, iterations, *, t0=10.0, seed=1, r_lib=None):
    """Run R minMSE once; return labels, R's objective, wall and CPU seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "x.csv", Path(tmp) / "out.csv"
        np.savetxt(data, X, delimiter=",", fmt="%.17g")
        cmd = [
            "Rscript",
            str(R_SCRIPT),
            str(data),
            str(n_groups - 1),
            str(iterations),
            repr(float(t0)),
            str(seed),
            str(out),
        ]
        subprocess.run(cmd, check=True, capture_output=True, env=_r_env(r_lib))
        table = np.genfromtxt(out, delimiter=",", names=True)
    return (
        table["label"].astype(np.int64),
        float(table["objective"][0]),
        float(table["elapsed"][0]),
        float(table["cpu"][0]),
    )


def timed_cpu(fn, *args, **kwargs):
    """Wall and CPU seconds (this process) of a call."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start, time.process_time() - cpu


def plain_coefficients(weights, n_groups):
    """R's coefficients: the control gets the sum of the treated weights."""
    if weights is None:
        return np.r_[n_groups - 1.0, np.ones(n_groups - 1)]
    W = np.asarray(weights, dtype=np.float64)
    return np.r_[W.sum(), W]


def plain_r_objective(X, labels, coef):
    """R's evaluate_solution from scratch: sum_g coef_g xbar' pinv(X_g'X_g) xbar."""
    xbar = X.mean(axis=0)
    return float(
        sum(
            c * xbar @ np.linalg.pinv(X[labels == g].T @ X[labels == g]) @ xbar
            for g, c in enumerate(coef)
        )
    )


def covariates(n, p, seed):
    """Positive, uncentred covariates on different scales, R-preprocessed."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(1, 20, size=p) + rng.uniform(
        20, 100, size=p
    )
    return minmse_scale(X)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


# --------------------------------------------------------------- correctness


def _dense_coefficients(weights, n_groups):
    """R's coefficients, matrix weights included (gcd-scaled control term)."""
    if weights is None or np.ndim(weights) == 1:
        return plain_coefficients(weights, n_groups)
    W = np.asarray(weights, dtype=np.int64)
    v_norm = sum(np.gcd.reduce(col) for col in W.T)
    w_norm = sum(np.gcd.reduce(row) for row in W)
    return np.r_[float(v_norm * w_norm), W.sum(axis=0).astype(float)]


def correctness(quick):
    rows = []
    rng = np.random.default_rng(0)
    worst_dense = worst_port = 0.0
    for n_groups, weights in [
        (2, None),
        (3, None),
        (3, [1.0, 2.5]),
        (4, [[2, 4, 1], [6, 3, 2]]),
    ]:
        for seed in range(5):
            X = covariates(40, 4, seed)
            labels = rng.permutation(np.arange(40) % n_groups)
            coef = _dense_coefficients(weights, n_groups)
            xbar = X.mean(axis=0)
            dense = sum(
                c * np.linalg.inv(X[labels == g].T @ X[labels == g])
                for g, c in enumerate(coef)
            )
            expected = float(xbar @ dense @ xbar)
            value = minmse_objective(X, labels, weights=weights)
            worst_dense = max(worst_dense, abs(value - expected) / expected)
            if weights is None or np.ndim(weights) == 1:
                w = None if weights is None else np.asarray(weights)
                port = evaluate_solution(labels, X, w)
                worst_port = max(worst_port, abs(value - port) / port)
    rows.append(
        {
            "check": "minmse_objective vs dense formula (20 cases, weights)",
            "value": worst_dense,
            "unit": "max rel. error",
            "ok": bool(worst_dense < 1e-10),
        }
    )
    rows.append(
        {
            "check": "minmse_objective vs R-port objective (15 cases)",
            "value": worst_port,
            "unit": "max rel. error",
            "ok": bool(worst_port < 1e-12),
        }
    )

    cases = [
        (12, 2, 2, None, None),
        (14, 3, 2, [2.0], [0, 1, 1] + [-1] * 11),
        (9, 2, 3, None, None),
        (9, 2, 3, [1.0, 2.0], None),
        (10, 2, 3, [[1, 2], [3, 1]], [0, -1, 1, -1, -1, 2, -1, -1, -1, -1]),
        (12, 1, 3, [2.0, 0.5], [-1] * 10 + [1, 1]),
    ]
    if quick:
        cases = cases[:3]
    for n, p, n_groups, weights, fixed in cases:
        X = covariates(n, p, n + p)
        fixed = np.full(n, -1) if fixed is None else np.asarray(fixed)
        design, seconds = timed(
            MinMSE(n_groups, weights=weights, random_state=0).fit,
            X,
            fixed_labels=fixed,
        )
        candidates = all_assignments(design.group_sizes_, fixed)
        coef = _dense_coefficients(weights, n_groups)
        best = min(plain_r_objective(X, c, coef) for c in candidates)
        gap = (plain_r_objective(X, design.labels_, coef) - best) / best
        rows.append(
            {
                "check": (
                    f"brute force n={n} p={p} arms={n_groups} "
                    f"weights={'yes' if weights is not None else 'no'} "
                    f"fixed={int((fixed >= 0).sum())} ({len(candidates)} splits)"
                ),
                "value": gap,
                "unit": f"rel. gap to optimum ({seconds:.2f} s)",
                # The design minimises the objective with a 1e-6 ridge.
                "ok": bool(abs(gap) < 1e-5),
            }
        )

    return rows


# --------------------------------------------------------------------- speed


def speed(quick, r_lib, use_r):
    rows = []
    ns = (20, 50, 100, 300)
    ps = (1, 3, 5)
    arms = (2, 3)
    if quick:
        ns, ps = (20, 100), (1, 5)
    ref_iterations, our_iterations = (500, 4000) if quick else (2000, 20000)
    for n, p, n_groups in itertools.product(ns, ps, arms):
        X = covariates(n, p, 100 * n + 10 * p + n_groups)
        if use_r:
            _, _, ref_wall, ref_cpu = run_r(
                X, n_groups, ref_iterations, t0=10.0, seed=0, r_lib=r_lib
            )
            reference = "R"
        else:
            ref_wall = ref_cpu = R_MS_PER_ITERATION[0] * ref_iterations / 1e3
            reference = "published figures (fallback)"
        ours, our_wall, our_cpu = timed_cpu(
            MinMSE(n_groups, iterations=our_iterations, random_state=0).fit, X
        )
        hot, hot_wall, hot_cpu = timed_cpu(
            MinMSE(n_groups, iterations=our_iterations, t0=10.0, random_state=0).fit,
            X,
        )
        ref_ms = 1e3 * ref_cpu / ref_iterations
        ours_ms = 1e3 * our_cpu / our_iterations
        hot_ms = 1e3 * hot_cpu / our_iterations
        rows.append(
            {
                "n": n,
                "p": p,
                "arms": n_groups,
                "reference": reference,
                "r_iterations": ref_iterations,
                "r_ms_per_it": ref_ms,
                "r_wall_ms_per_it": 1e3 * ref_wall / ref_iterations,
                "ours_ms_per_it": ours_ms,
                "ours_wall_ms_per_it": 1e3 * our_wall / our_iterations,
                "ours_acceptance": ours.acceptance_rate_,
                "ours_r_settings_ms_per_it": hot_ms,
                "r_settings_acceptance": hot.acceptance_rate_,
                "speedup_vs_r": ref_ms / ours_ms,
                "speedup_vs_r_r_settings": ref_ms / hot_ms,
                "ok": bool(ref_ms / ours_ms >= TARGET_SPEEDUP),
            }
        )
        print(
            f"  speed n={n} p={p} arms={n_groups}: R {ref_ms:.4f} ms/it, ours "
            f"{ours_ms:.4f} ({ref_ms / ours_ms:.1f}x)",
            flush=True,
        )
    return rows


# ------------------------------------------------------------------- quality


def quality(quick, r_lib, use_r):
    rows = []
    ref_iterations = 2000 if quick else 20000
    configs = [(20, 3, 2), (50, 3, 2), (100, 3, 2), (300, 3, 2)]
    configs += [(20, 5, 3), (50, 5, 3), (100, 5, 3), (300, 5, 3)]
    if quick:
        configs = configs[:2]
    for n, p, n_groups in configs:
        X = covariates(n, p, 7 * n + p)
        coef = plain_coefficients(None, n_groups)
        if use_r:
            ref_labels, r_own, ref_wall, ref_cpu = run_r(
                X, n_groups, ref_iterations, t0=10.0, seed=1, r_lib=r_lib
            )
            reference = "R"
        else:
            (ref_labels, r_own, _), ref_wall, ref_cpu = timed_cpu(
                assign_treatment,
                X,
                n_treatments=n_groups - 1,
                iterations=ref_iterations,
                rng=np.random.default_rng(1),
            )
            reference = "NumPy port (fallback)"
        ref_value = plain_r_objective(X, ref_labels, coef)
        design, our_wall, our_cpu = timed_cpu(MinMSE(n_groups, random_state=1).fit, X)
        long, long_wall, long_cpu = timed_cpu(
            MinMSE(n_groups, iterations=ref_iterations, random_state=1).fit, X
        )
        ours_value = plain_r_objective(X, design.labels_, coef)
        long_value = plain_r_objective(X, long.labels_, coef)
        # The shortest run (of a doubling sequence of iterations) that
        # reaches the reference's objective, and its time.
        target = None
        for iterations in (1000, 2000, 4000, 8000, 16000, 32000):
            run, run_wall, run_cpu = timed_cpu(
                MinMSE(n_groups, iterations=iterations, random_state=1).fit, X
            )
            if plain_r_objective(X, run.labels_, coef) <= ref_value * (1 + 1e-9):
                target = {
                    "iterations": iterations,
                    "cpu_s": run_cpu,
                    "wall_s": run_wall,
                }
                break
        rows.append(
            {
                "n": n,
                "p": p,
                "arms": n_groups,
                "reference": reference,
                "r_iterations": ref_iterations,
                "r_objective": ref_value,
                "r_objective_by_r": r_own,
                "r_cpu_s": ref_cpu,
                "r_wall_s": ref_wall,
                "ours_iterations": design.n_iter_,
                "ours_objective": ours_value,
                "ours_cpu_s": our_cpu,
                "ours_wall_s": our_wall,
                "time_ratio": our_cpu / ref_cpu,
                "ours_long_objective": long_value,
                "ours_long_cpu_s": long_cpu,
                "long_time_ratio": long_cpu / ref_cpu,
                # The target: at least as low as R, in a tenth of its CPU
                # time, with the default settings or with as many iterations.
                "ok_default": bool(
                    ours_value <= ref_value * (1 + 1e-9)
                    and our_cpu <= ref_cpu / TARGET_SPEEDUP
                ),
                "ok_long": bool(
                    long_value <= ref_value * (1 + 1e-9)
                    and long_cpu <= ref_cpu / TARGET_SPEEDUP
                ),
                "to_r_objective": target,
                "ok_to_r_objective": bool(
                    target is not None and target["cpu_s"] <= ref_cpu / TARGET_SPEEDUP
                ),
            }
        )
        print(
            f"  quality n={n} p={p} arms={n_groups}: R {ref_value:.6f} in "
            f"{ref_cpu:.2f} s CPU; ours {ours_value:.6f} in {our_cpu:.2f} s",
            flush=True,
        )
    return rows


# --------------------------------------------------------------------- scale


def scale(quick):
    n, p, n_groups = 2000, 10, 4
    iterations = 50_000 if quick else 300_000
    X = covariates(n, p, 2000)
    design, seconds, cpu_seconds = timed_cpu(
        MinMSE(n_groups, iterations=iterations, random_state=0).fit, X
    )
    trace = design.trace_
    checkpoints = {
        f"{q:.0%}": float(trace[int(q * iterations)])
        for q in (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 1.0)
    }
    png = RESULTS / "minmse_trace_n2000.png"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from skassign.plotting import plot_trace

        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        plot_trace(design, ax=axes[0])
        plot_trace(design, ax=axes[1], show_current=False)
        axes[1].set_xscale("log")
        axes[1].set_title("best objective, log iterations")
        fig.suptitle(f"MinMSE, n={n}, {p} covariates, {n_groups} arms: {seconds:.1f} s")
        fig.tight_layout()
        fig.savefig(png, dpi=110)
        plt.close(fig)
    except ImportError:
        png = None
    return {
        "n": n,
        "p": p,
        "arms": n_groups,
        "iterations": iterations,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "ms_per_iteration": 1e3 * seconds / iterations,
        "start_objective": float(trace[0]),
        "final_objective": design.objective_,
        "improvement_last_half": float(
            (trace[iterations // 2] - trace[-1]) / (trace[0] - trace[-1])
        ),
        "improvement_last_tenth": float(
            (trace[9 * iterations // 10] - trace[-1]) / (trace[0] - trace[-1])
        ),
        "trace_checkpoints": checkpoints,
        "acceptance_rate": design.acceptance_rate_,
        "plot": None if png is None else str(png.relative_to(RESULTS.parent)),
        # Under 10 s of work: CPU time, as wall time on a shared machine
        # measures the other processes too (both are recorded).
        "ok": bool(cpu_seconds < 10.0),
    }


# --------------------------------------------------------------------- print


def print_report(report):
    print("\n== Correctness")
    for row in report["correctness"]:
        flag = "ok " if row["ok"] else "FAIL"
        print(f"  [{flag}] {row['check']}: {row['value']:.2e} {row['unit']}")

    print("\n== Speed per iteration (CPU ms; reference measured in the same run)")
    print(
        f"  {'n':>4} {'p':>2} {'arms':>4} | {'R':>8} | {'ours':>8} {'acc':>5}"
        f" {'x R':>6} | {'ours t0=10':>10} {'acc':>5} {'x R':>6} | ok"
    )
    for r in report["speed"]:
        print(
            f"  {r['n']:>4} {r['p']:>2} {r['arms']:>4} | {r['r_ms_per_it']:8.4f} |"
            f" {r['ours_ms_per_it']:8.4f} {r['ours_acceptance']:5.2f}"
            f" {r['speedup_vs_r']:6.1f} |"
            f" {r['ours_r_settings_ms_per_it']:10.4f}"
            f" {r['r_settings_acceptance']:5.2f}"
            f" {r['speedup_vs_r_r_settings']:6.1f} | {'ok' if r['ok'] else 'NO'}"
        )
    s = report["speed_summary"]
    print(
        f"  reference: {s['reference']}; median speed-up"
        f" {s['median_speedup_vs_r']:.1f}x"
        f" (min {s['min_speedup_vs_r']:.1f}x); with R's settings (t0=10)"
        f" {s['median_speedup_vs_r_r_settings']:.1f}x"
    )

    its = report["quality"][0]["r_iterations"]
    print(
        "\n== Quality: R objective of MinMSE (default settings, and"
        f" {its} iterations) against {its} iterations of"
        f" {report['quality'][0]['reference']} (CPU seconds)"
    )
    print(
        f"  {'n':>4} {'p':>2} {'arms':>4} | {'R obj':>10} {'s':>6} |"
        f" {'ours obj':>10} {'s':>6} {'time':>6} | {'long obj':>10} {'s':>6}"
        f" {'time':>6} | {'its to R obj':>12} {'time':>6} | ok"
    )
    for r in report["quality"]:
        target = r["to_r_objective"]
        target_its, target_ratio = "not reached", ""
        if target is not None:
            target_its = str(target["iterations"])
            target_ratio = f"{target['cpu_s'] / r['r_cpu_s']:.3f}"
        ok = [
            name
            for name, key in (
                ("default", "ok_default"),
                ("long", "ok_long"),
                ("shortest", "ok_to_r_objective"),
            )
            if r[key]
        ]
        print(
            f"  {r['n']:>4} {r['p']:>2} {r['arms']:>4} |"
            f" {r['r_objective']:10.6f} {r['r_cpu_s']:6.2f} |"
            f" {r['ours_objective']:10.6f} {r['ours_cpu_s']:6.2f}"
            f" {r['time_ratio']:6.3f} |"
            f" {r['ours_long_objective']:10.6f} {r['ours_long_cpu_s']:6.2f}"
            f" {r['long_time_ratio']:6.3f} |"
            f" {target_its:>12} {target_ratio:>6} |"
            f" {', '.join(ok) if ok else 'NO'}"
        )

    r = report["scale"]
    print(
        f"\n== Scale: n={r['n']}, {r['p']} covariates, {r['arms']} arms,"
        f" {r['iterations']} iterations"
    )
    print(
        f"  {r['seconds']:.2f} s wall, {r['cpu_seconds']:.2f} s CPU"
        f" ({r['ms_per_iteration'] * 1e3:.1f} us/iteration wall),"
        f" objective {r['start_objective']:.6g} -> {r['final_objective']:.6g};"
        f" share of the improvement made in the last half of the run"
        f" {r['improvement_last_half']:.2%}, in the last tenth"
        f" {r['improvement_last_tenth']:.2%}"
    )
    print("  trace:", {k: round(v, 7) for k, v in r["trace_checkpoints"].items()})
    print(f"  plot: {r['plot']}  {'ok' if r['ok'] else 'MORE THAN 10 s CPU'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--r-lib",
        default=os.environ.get("R_LIBS", "/work/rlib"),
        help="R library holding minMSE (default: $R_LIBS or /work/rlib)",
    )
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    use_r = r_available(args.r_lib)
    if not use_r:
        print(
            "R or the minMSE package is not available: FALLBACK to the published "
            "R figures (speed) and the NumPy port (quality); see the docstring "
            "for how to install them."
        )
    r_version = None
    if use_r:
        r_version = subprocess.run(
            [
                "Rscript",
                "-e",
                'cat(R.version.string, "; minMSE", '
                'as.character(packageVersion("minMSE")))',
            ],
            capture_output=True,
            text=True,
            env=_r_env(args.r_lib),
        ).stdout.strip()
    report = {
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(
            _git("status", "--porcelain", "--", "skassign", "benchmarks")
        ),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "node": platform.node(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
        "reference": "R" if use_r else "fallback",
        "r_version": r_version,
        "published_r_ms_per_iteration_fallback": R_MS_PER_ITERATION,
        "quick": args.quick,
    }
    report["correctness"] = correctness(args.quick)
    report["speed"] = speed(args.quick, args.r_lib, use_r)
    speed_rows = report["speed"]
    report["speed_summary"] = {
        "reference": speed_rows[0]["reference"],
        "median_speedup_vs_r": float(
            np.median([r["speedup_vs_r"] for r in speed_rows])
        ),
        "min_speedup_vs_r": float(np.min([r["speedup_vs_r"] for r in speed_rows])),
        "median_speedup_vs_r_r_settings": float(
            np.median([r["speedup_vs_r_r_settings"] for r in speed_rows])
        ),
    }
    report["quality"] = quality(args.quick, args.r_lib, use_r)
    report["scale"] = scale(args.quick)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["pass"] = {
        "correctness": all(r["ok"] for r in report["correctness"]),
        "speed": all(r["ok"] for r in speed_rows),
        "quality": all(
            r["ok_default"] or r["ok_long"] or r["ok_to_r_objective"]
            for r in report["quality"]
        ),
        "scale": report["scale"]["ok"],
        "measured_against_r": use_r,
    }
    report["pass"]["all"] = all(report["pass"].values())
    print_report(report)
    print(f"\npass: {report['pass']}")
    out = RESULTS / ("bench_minmse_quick.json" if args.quick else "bench_minmse.json")
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
