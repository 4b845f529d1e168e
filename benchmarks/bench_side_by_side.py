"""Run a benchmark's items on two checkouts of skassign, alternately, in one run.

A refactoring must leave results within noise: this runs
``bench_optimal_balance.py`` (by default items 1, 2 and 4: the mice, the
exact oracle and the heuristic alone) on the previous commit's tree and on
this one, alternating the two ``rounds`` times so that machine load affects
both, and writes every run's results side by side with the load average.

Usage::

    git archive <commit> | tar -x -C /tmp/prev
    python benchmarks/bench_side_by_side.py --previous /tmp/prev

Each run is a fresh process in its own tree (so each imports its own
skassign), writing to a temporary JSON file. Every round also runs
OptimalBalance with a fixed amount of work (a tabu search of a fixed number
of iterations, a MIP with a node limit), whose results must be identical in
both trees and whose times compare the code without the noise that time
limits add under load.
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

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "engines_side_by_side_optimal.json"


def _commit(tree):
    try:
        return subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def _run(tree, script, items, extra):
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "out.json"
        load = os.getloadavg()
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(Path(tree) / "benchmarks" / script),
                "--items",
                *map(str, items),
                "--output",
                str(output),
                *extra,
            ],
            cwd=tree,
            check=True,
        )
        report = json.loads(output.read_text())
    report["wall_seconds"] = time.perf_counter() - start
    report["loadavg_before"] = list(load)
    report["loadavg_after"] = list(os.getloadavg())
    return report


# OptimalBalance with fixed work: identical labels expected in both trees.
_FIXED_WORK = """
import hashlib, json, sys, time, warnings
import numpy as np
from skassign.designs import OptimalBalance
cases = [
    ("heuristic n=1000 p=5 m=4, 100 tabu iterations", 1000, 5, 4,
     dict(method="heuristic", heuristic_iter=100, time_limit=None)),
    ("heuristic n=300 p=1 m=3, 100 tabu + 20 exchange", 300, 1, 3,
     dict(method="heuristic", heuristic_iter=100, exchange_iter=20,
          time_limit=None)),
    ("mip n=40 p=3 m=3, node_limit=50", 40, 3, 3,
     dict(node_limit=50, time_limit=None, heuristic_iter=50)),
    ("mip n=20 p=1 m=2 (proven)", 20, 1, 2, dict(time_limit=None)),
]
OptimalBalance(method="heuristic", heuristic_iter=1).fit(np.arange(4.0)[:, None])
rows = []
for name, n, p, m, params in cases:
    X = np.random.default_rng(n + p + m).normal(size=(n, p))
    times = []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            design = OptimalBalance(n_groups=m, random_state=0, **params).fit(X)
            times.append(time.perf_counter() - start)
    rows.append({
        "case": name, "objective": design.objective_, "status": design.status_,
        "n_nodes": design.n_nodes_,
        "labels_sha1": hashlib.sha1(design.labels_.tobytes()).hexdigest(),
        "fit_seconds_median": float(np.median(times)),
    })
json.dump(rows, sys.stdout)
"""


def _fixed_work(tree):
    out = subprocess.run(
        [sys.executable, "-c", _FIXED_WORK],
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {"loadavg": list(os.getloadavg()), "rows": json.loads(out)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", type=Path, required=True)
    parser.add_argument("--previous-commit", default=None)
    parser.add_argument("--script", default="bench_optimal_balance.py")
    parser.add_argument("--items", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("extra", nargs="*", help="more arguments for the script")
    args = parser.parse_args(argv)
    trees = {"previous": args.previous.resolve(), "current": HERE.parent}
    runs = {name: [] for name in trees}
    fixed = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            fixed[name].append(_fixed_work(tree))
            runs[name].append(_run(tree, args.script, args.items, args.extra))
    report = {
        "script": args.script,
        "items": args.items,
        "rounds": args.rounds,
        "previous_commit": args.previous_commit or _commit(trees["previous"]),
        "current_commit": _commit(trees["current"]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "fixed_work": fixed,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"\nSide-by-side results written to {args.output}")


if __name__ == "__main__":
    main()
