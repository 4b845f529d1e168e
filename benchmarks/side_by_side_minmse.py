"""``bench_minmse.py`` of this tree and of an earlier commit, side by side.

Each section of the benchmark (correctness, speed, quality, scale) runs in a
fresh subprocess per tree, alternating between the trees so that both see
the same machine load; the earlier tree is a ``git worktree`` of the commit
to compare with. Plots and JSON of the sections go to a temporary folder, so
neither tree's ``results/bench_minmse.json`` is touched. The comparison goes
to ``results/engines_side_by_side_minmse.json``. R is not run here (both
trees would time the same R package): the sections that compare with R get
``use_r=False`` and their R columns hold the fallback figures.

Run ``git worktree add /tmp/prev-search e33ddb2`` and then
``python benchmarks/side_by_side_minmse.py --previous /tmp/prev-search``
(``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SECTIONS = ("correctness", "speed", "quality", "scale")
RUNNER = """
import inspect, json, sys
from pathlib import Path
tree, section, quick, out = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
sys.path.insert(0, tree + "/benchmarks")
sys.path.insert(0, tree)
import bench_minmse
bench_minmse.RESULTS = Path(out).parent
func = getattr(bench_minmse, section)
# R is not run: the comparison is between the two trees' MinMSE, and the R
# columns of both hold the same fallback.
options = {"r_lib": None, "use_r": False}
parameters = inspect.signature(func).parameters
rows = func(quick, **{k: v for k, v in options.items() if k in parameters})
Path(out).write_text(json.dumps(rows, default=float))
"""


def git_head(tree):
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=tree
    ).stdout.strip()


def run_section(tree, section, quick, folder):
    out = Path(folder) / f"{Path(tree).name}_{section}.json"
    tick = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", RUNNER, str(tree), section, "1" if quick else "0", out],
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return json.loads(out.read_text()), time.perf_counter() - tick


def compare(prev, cur):
    """Per-section comparison of the earlier (prev) and this (cur) tree."""
    speed = [
        {
            "n": a["n"],
            "p": a["p"],
            "arms": a["arms"],
            "prev_ms_per_it": a["ours_ms_per_it"],
            "cur_ms_per_it": b["ours_ms_per_it"],
            "ratio": b["ours_ms_per_it"] / a["ours_ms_per_it"],
            "prev_r_settings_ms_per_it": a["ours_r_settings_ms_per_it"],
            "cur_r_settings_ms_per_it": b["ours_r_settings_ms_per_it"],
            "ratio_r_settings": b["ours_r_settings_ms_per_it"]
            / a["ours_r_settings_ms_per_it"],
            "same_acceptance": a["ours_acceptance"] == b["ours_acceptance"]
            and a["r_settings_acceptance"] == b["r_settings_acceptance"],
        }
        for a, b in zip(prev["speed"], cur["speed"], strict=True)
    ]
    quality = [
        {
            "n": a["n"],
            "p": a["p"],
            "arms": a["arms"],
            "prev_objective": a["ours_objective"],
            "cur_objective": b["ours_objective"],
            "prev_long_objective": a["ours_long_objective"],
            "cur_long_objective": b["ours_long_objective"],
            "same_objectives": a["ours_objective"] == b["ours_objective"]
            and a["ours_long_objective"] == b["ours_long_objective"],
            "prev_cpu_s": a["ours_cpu_s"],
            "cur_cpu_s": b["ours_cpu_s"],
            "prev_long_cpu_s": a["ours_long_cpu_s"],
            "cur_long_cpu_s": b["ours_long_cpu_s"],
            "prev_ok": [a["ok_default"], a["ok_long"], a["ok_to_r_objective"]],
            "cur_ok": [b["ok_default"], b["ok_long"], b["ok_to_r_objective"]],
        }
        for a, b in zip(prev["quality"], cur["quality"], strict=True)
    ]
    a, b = prev["scale"], cur["scale"]
    scale = {
        "prev_seconds": a["seconds"],
        "cur_seconds": b["seconds"],
        "ratio": b["seconds"] / a["seconds"],
        "prev_final_objective": a["final_objective"],
        "cur_final_objective": b["final_objective"],
        "same_trace": a["trace_checkpoints"] == b["trace_checkpoints"],
    }
    ratios = [r["ratio"] for r in speed] + [r["ratio_r_settings"] for r in speed]
    return {
        "correctness_ok": {
            "prev": all(r["ok"] for r in prev["correctness"]),
            "cur": all(r["ok"] for r in cur["correctness"]),
        },
        "speed": speed,
        "speed_summary": {
            "median_time_ratio_cur_over_prev": float(np.median(ratios)),
            "min_ratio": float(np.min(ratios)),
            "max_ratio": float(np.max(ratios)),
            "all_same_acceptance": all(r["same_acceptance"] for r in speed),
        },
        "quality": quality,
        "quality_all_same_objectives": all(r["same_objectives"] for r in quality),
        "scale": scale,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", required=True, help="worktree of the commit")
    parser.add_argument(
        "--previous-commit",
        default=None,
        help="the earlier tree's commit, when it is not a git checkout",
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    trees = {"prev": Path(args.previous).resolve(), "cur": HERE.parent}
    results = {"prev": {}, "cur": {}}
    seconds = {"prev": {}, "cur": {}}
    load = [os.getloadavg()]
    with tempfile.TemporaryDirectory() as folder:
        for section in SECTIONS:
            # Alternate which tree goes first, so that drift in load evens out.
            order = (
                ("prev", "cur") if SECTIONS.index(section) % 2 == 0 else ("cur", "prev")
            )
            for key in order:
                print(f"{section}: {key} ({trees[key]})", flush=True)
                results[key][section], seconds[key][section] = run_section(
                    trees[key], section, args.quick, folder
                )
                load.append(os.getloadavg())
    report = {
        "benchmark": "bench_minmse.py, side by side",
        "prev_commit": args.previous_commit or git_head(trees["prev"]),
        "cur_commit": git_head(trees["cur"]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_averages": load,
        "quick": args.quick,
        "section_seconds": seconds,
        "comparison": compare(results["prev"], results["cur"]),
        "raw": results,
    }
    c = report["comparison"]
    print(json.dumps({k: c[k] for k in c if k not in ("speed", "quality")}, indent=2))
    if not args.quick:
        out = HERE / "results" / "engines_side_by_side_minmse.json"
        out.write_text(json.dumps(report, indent=2, default=float) + "\n")
        print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
