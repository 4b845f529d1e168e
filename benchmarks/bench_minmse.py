"""Benchmark MinMSE against the R package minMSE.

R cannot be installed here, so the reference is measured twice: the figures
quoted for the R package (0.12-0.23 ms per iteration on n = 20-300 units,
1-5 covariates, 2-3 arms) and, in the same run, a line-by-line NumPy port of
the R algorithm (``_minmse_r_port.py``: objective recomputed from scratch with
pseudo-inverses at every iteration, R's defaults), which runs at about the
R package's speed.

Sections:

1. correctness: ``minmse_objective`` against a dense formula and the port's
   objective; MinMSE against brute force over all assignments (n <= 14, 2
   and 3 arms, weights, fixed units); Woodbury evaluations against
   recomputation (the exactness of the batched chain is a unit test).
2. speed per iteration: MinMSE (defaults, and R's settings t0=10) against
   the port and the R figures, on n = 20-300, 1-5 covariates, 2-3 arms.
3. quality: the R objective reached by MinMSE (default settings, and 20000
   iterations) against 20000 iterations of the port, and the time each
   needs; and the shortest run (1000, 2000, 4000, ... iterations) that
   reaches the port's objective.
4. scale: n = 2000 units, 10 covariates, 4 arms, under 10 s, with the trace
   (plot saved as ``results/minmse_trace_n2000.png``).

Run ``python benchmarks/bench_minmse.py`` (about three minutes on two cores;
``--quick`` for a smoke run). Results go to ``results/bench_minmse.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _minmse_r_port import assign_treatment, evaluate_solution  # noqa: E402

from skassign.designs import MinMSE  # noqa: E402
from skassign.designs._minmse import (  # noqa: E402
    _Annealer,
    _draw_units,
    _ridge_objective,
    _ridge_objective_batch,
    _whiten,
)
from skassign.metrics import minmse_objective, minmse_scale  # noqa: E402
from skassign.metrics._minmse import _minmse_coefficients  # noqa: E402
from skassign.utils._testing import all_assignments  # noqa: E402

RESULTS = HERE / "results"
R_MS_PER_ITERATION = (0.12, 0.23)
TARGET_SPEEDUP = 10.0


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
            coef = _minmse_coefficients(weights, n_groups - 1)
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
        coef = _minmse_coefficients(weights, n_groups - 1)
        best = _ridge_objective_batch(_whiten(X), candidates, coef).min()
        gap = (design.objective_ - best) / best
        rows.append(
            {
                "check": (
                    f"brute force n={n} p={p} arms={n_groups} "
                    f"weights={'yes' if weights is not None else 'no'} "
                    f"fixed={int((fixed >= 0).sum())} ({len(candidates)} splits)"
                ),
                "value": gap,
                "unit": f"rel. gap to optimum ({seconds:.2f} s)",
                "ok": bool(abs(gap) < 1e-9),
            }
        )

    worst = 0.0
    state_rng = np.random.RandomState(0)
    for n, p, n_groups in [(30, 3, 2), (60, 5, 3), (40, 4, 4)]:
        Z = _whiten(covariates(n, p, 1))
        coef = _minmse_coefficients(None, n_groups - 1)
        state = _Annealer(Z, coef, state_rng.permutation(np.arange(n) % n_groups))
        for _ in range(100):
            units = _draw_units(np.arange(n), 3, 8, state_rng)
            new = np.roll(state.labels[units], -1, axis=1)
            delta, _, pieces = state.evaluate(units, new)
            for j in range(8):
                candidate = state.labels.copy()
                candidate[units[j]] = new[j]
                exact = _ridge_objective(Z, candidate, coef)
                worst = max(worst, abs(state.f + delta[j] - exact) / exact)
            state.apply(0, units, new, pieces)
    rows.append(
        {
            "check": "Woodbury move evaluation vs recomputation (2400 moves)",
            "value": worst,
            "unit": "max rel. error",
            "ok": bool(worst < 1e-10),
        }
    )
    return rows


# --------------------------------------------------------------------- speed


def speed(quick):
    rows = []
    ns = (20, 50, 100, 300)
    ps = (1, 3, 5)
    arms = (2, 3)
    port_iterations, our_iterations = (300, 4000) if quick else (2000, 20000)
    for n, p, n_groups in itertools.product(ns, ps, arms):
        X = covariates(n, p, 100 * n + 10 * p + n_groups)
        _, port_seconds = timed(
            assign_treatment,
            X,
            n_treatments=n_groups - 1,
            iterations=port_iterations,
            rng=np.random.default_rng(0),
        )
        ours, our_seconds = timed(
            MinMSE(n_groups, iterations=our_iterations, random_state=0).fit, X
        )
        hot, hot_seconds = timed(
            MinMSE(n_groups, iterations=our_iterations, t0=10.0, random_state=0).fit,
            X,
        )
        port_ms = 1e3 * port_seconds / port_iterations
        ours_ms = 1e3 * our_seconds / our_iterations
        hot_ms = 1e3 * hot_seconds / our_iterations
        rows.append(
            {
                "n": n,
                "p": p,
                "arms": n_groups,
                "port_ms_per_it": port_ms,
                "ours_ms_per_it": ours_ms,
                "ours_acceptance": ours.acceptance_rate_,
                "ours_r_settings_ms_per_it": hot_ms,
                "r_settings_acceptance": hot.acceptance_rate_,
                "speedup_vs_port": port_ms / ours_ms,
                "speedup_vs_port_r_settings": port_ms / hot_ms,
                "speedup_vs_r_fast": R_MS_PER_ITERATION[0] / ours_ms,
                "speedup_vs_r_fast_r_settings": R_MS_PER_ITERATION[0] / hot_ms,
            }
        )
    return rows


# ------------------------------------------------------------------- quality


def quality(quick):
    rows = []
    ref_iterations = 2000 if quick else 20000
    configs = [(20, 3, 2), (50, 3, 2), (100, 3, 2), (300, 3, 2)]
    configs += [(20, 5, 3), (50, 5, 3), (100, 5, 3), (300, 5, 3)]
    if quick:
        configs = configs[:2]
    for n, p, n_groups in configs:
        X = covariates(n, p, 7 * n + p)
        (ref_labels, ref_value, _), ref_seconds = timed(
            assign_treatment,
            X,
            n_treatments=n_groups - 1,
            iterations=ref_iterations,
            rng=np.random.default_rng(1),
        )
        design, our_seconds = timed(MinMSE(n_groups, random_state=1).fit, X)
        long, long_seconds = timed(
            MinMSE(n_groups, iterations=ref_iterations, random_state=1).fit, X
        )
        ours_r_value = minmse_objective(X, design.labels_)
        long_r_value = minmse_objective(X, long.labels_)
        ref_r_value = minmse_objective(X, ref_labels)
        # The shortest run (of a doubling sequence of iterations) that
        # reaches the port's objective, and its time.
        target = None
        for iterations in (1000, 2000, 4000, 8000, 16000, 32000):
            run, run_seconds = timed(
                MinMSE(n_groups, iterations=iterations, random_state=1).fit, X
            )
            if minmse_objective(X, run.labels_) <= ref_r_value * (1 + 1e-9):
                target = {"iterations": iterations, "seconds": run_seconds}
                break
        rows.append(
            {
                "n": n,
                "p": p,
                "arms": n_groups,
                "port_iterations": ref_iterations,
                "port_objective": ref_r_value,
                "port_seconds": ref_seconds,
                "ours_iterations": design.n_iter_,
                "ours_objective": ours_r_value,
                "ours_seconds": our_seconds,
                "time_ratio": our_seconds / ref_seconds,
                "ours_long_objective": long_r_value,
                "ours_long_seconds": long_seconds,
                "long_time_ratio": long_seconds / ref_seconds,
                # The target: at least as low as the port, in a tenth of its
                # time, with the default settings or with as many iterations.
                "ok_default": bool(
                    ours_r_value <= ref_r_value * (1 + 1e-9)
                    and our_seconds <= ref_seconds / 10
                ),
                "ok_long": bool(
                    long_r_value <= ref_r_value * (1 + 1e-9)
                    and long_seconds <= ref_seconds / 10
                ),
                "to_port_objective": target,
                "ok_to_port_objective": bool(
                    target is not None and target["seconds"] <= ref_seconds / 10
                ),
            }
        )
    return rows


# --------------------------------------------------------------------- scale


def scale(quick):
    n, p, n_groups = 2000, 10, 4
    iterations = 50_000 if quick else 300_000
    X = covariates(n, p, 2000)
    design, seconds = timed(
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
        "ok": bool(seconds < 10.0),
    }


# --------------------------------------------------------------------- print


def print_report(report):
    print("\n== Correctness")
    for row in report["correctness"]:
        flag = "ok " if row["ok"] else "FAIL"
        print(f"  [{flag}] {row['check']}: {row['value']:.2e} {row['unit']}")

    print("\n== Speed per iteration (ms); R package: 0.12-0.23 ms")
    print(
        f"  {'n':>4} {'p':>2} {'arms':>4} | {'R port':>8} | {'ours':>8} {'acc':>5}"
        f" {'x port':>7} {'x R':>6} | {'ours t0=10':>10} {'acc':>5} {'x port':>7}"
        f" {'x R':>6}"
    )
    for r in report["speed"]:
        print(
            f"  {r['n']:>4} {r['p']:>2} {r['arms']:>4} | {r['port_ms_per_it']:8.4f} |"
            f" {r['ours_ms_per_it']:8.4f} {r['ours_acceptance']:5.2f}"
            f" {r['speedup_vs_port']:7.1f} {r['speedup_vs_r_fast']:6.1f} |"
            f" {r['ours_r_settings_ms_per_it']:10.4f}"
            f" {r['r_settings_acceptance']:5.2f}"
            f" {r['speedup_vs_port_r_settings']:7.1f}"
            f" {r['speedup_vs_r_fast_r_settings']:6.1f}"
        )
    s = report["speed_summary"]
    print(
        f"  median speed-up, defaults: {s['median_speedup_vs_port']:.1f}x the port,"
        f" {s['median_speedup_vs_r_fast']:.1f}x R's fastest figure (min"
        f" {s['min_speedup_vs_r_fast']:.1f}x); R's settings (t0=10):"
        f" {s['median_speedup_vs_port_r_settings']:.1f}x the port,"
        f" {s['median_speedup_vs_r_fast_r_settings']:.1f}x R"
    )

    its = report["quality"][0]["port_iterations"]
    print(
        "\n== Quality: R objective of MinMSE (default settings, and"
        f" {its} iterations) against {its} iterations of the port"
    )
    print(
        f"  {'n':>4} {'p':>2} {'arms':>4} | {'port obj':>10} {'s':>6} |"
        f" {'ours obj':>10} {'s':>6} {'time':>6} | {'20k obj':>10} {'s':>6}"
        f" {'time':>6} | {'its to port obj':>15} {'time':>6} | ok"
    )
    for r in report["quality"]:
        target = r["to_port_objective"]
        target_its, target_ratio = "not reached", ""
        if target is not None:
            target_its = str(target["iterations"])
            target_ratio = f"{target['seconds'] / r['port_seconds']:.3f}"
        ok = [
            name
            for name, key in (
                ("default", "ok_default"),
                ("long", "ok_long"),
                ("shortest", "ok_to_port_objective"),
            )
            if r[key]
        ]
        print(
            f"  {r['n']:>4} {r['p']:>2} {r['arms']:>4} |"
            f" {r['port_objective']:10.6f} {r['port_seconds']:6.2f} |"
            f" {r['ours_objective']:10.6f} {r['ours_seconds']:6.2f}"
            f" {r['time_ratio']:6.3f} |"
            f" {r['ours_long_objective']:10.6f} {r['ours_long_seconds']:6.2f}"
            f" {r['long_time_ratio']:6.3f} |"
            f" {target_its:>15} {target_ratio:>6} |"
            f" {', '.join(ok) if ok else 'NO'}"
        )

    r = report["scale"]
    print(
        f"\n== Scale: n={r['n']}, {r['p']} covariates, {r['arms']} arms,"
        f" {r['iterations']} iterations"
    )
    print(
        f"  {r['seconds']:.2f} s ({r['ms_per_iteration'] * 1e3:.1f} us/iteration),"
        f" objective {r['start_objective']:.6g} -> {r['final_objective']:.6g};"
        f" share of the improvement made in the last half of the run"
        f" {r['improvement_last_half']:.2%}, in the last tenth"
        f" {r['improvement_last_tenth']:.2%}"
    )
    print("  trace:", {k: round(v, 7) for k, v in r["trace_checkpoints"].items()})
    print(f"  plot: {r['plot']}  {'ok' if r['ok'] else 'SLOWER THAN 10 s'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    report = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
        "r_reference_ms_per_iteration": R_MS_PER_ITERATION,
        "quick": args.quick,
    }
    report["correctness"] = correctness(args.quick)
    report["speed"] = speed(args.quick)
    speed_rows = report["speed"]
    report["speed_summary"] = {
        key: float(fn([r[col] for r in speed_rows]))
        for key, fn, col in [
            ("median_speedup_vs_port", np.median, "speedup_vs_port"),
            ("median_speedup_vs_r_fast", np.median, "speedup_vs_r_fast"),
            ("min_speedup_vs_r_fast", np.min, "speedup_vs_r_fast"),
            (
                "median_speedup_vs_port_r_settings",
                np.median,
                "speedup_vs_port_r_settings",
            ),
            (
                "median_speedup_vs_r_fast_r_settings",
                np.median,
                "speedup_vs_r_fast_r_settings",
            ),
        ]
    }
    report["quality"] = quality(args.quick)
    report["scale"] = scale(args.quick)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    print_report(report)
    out = RESULTS / "bench_minmse.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
