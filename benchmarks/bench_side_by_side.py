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
skassign), writing to a temporary JSON file.
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
    for _ in range(args.rounds):
        for name, tree in trees.items():
            runs[name].append(_run(tree, args.script, args.items, args.extra))
    report = {
        "script": args.script,
        "items": args.items,
        "rounds": args.rounds,
        "previous_commit": args.previous_commit or _commit(trees["previous"]),
        "current_commit": _commit(trees["current"]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"\nSide-by-side results written to {args.output}")


if __name__ == "__main__":
    main()
