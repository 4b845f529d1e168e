"""Test-quality check: do the tests catch one-line mutations of core logic?

Each mutation below is a one-line change of the package that an audit
(issue 18) found the test suite let through. For every mutation the script

1. copies the working tree (tracked and untracked, non-ignored files) to a
   temporary directory,
2. finds the mutated line by its exact text anywhere under ``skassign/`` (so
   that moving code between modules does not break the check; a mutation
   whose text is found nowhere, or more than once, is reported as
   ``not applicable`` and must be updated here),
3. applies it and runs the fast tests that should catch it (``pytest -x``
   is not used: every failing test is listed),
4. reports ``caught`` (at least one test failed, with the failing tests) or
   ``survived``.

The unmutated copy is run first: a test that fails without a mutation
would make every mutation look caught, so the script stops if it does.

Run from the repository root::

    python benchmarks/mutation_check.py            # all mutations
    python benchmarks/mutation_check.py --only 1 3 # some of them

Results go to ``results/mutation_check.json`` (with commit, machine, date).
It takes a few minutes (the relevant test files, once per mutation).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _provenance import git as _git

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

INFERENCE_TESTS = ["tests/test_inference"]
MINMSE_TESTS = ["tests/test_designs/test_minmse.py"]

# (name, exact original text, replacement, tests to run)
MUTATIONS = [
    (
        "global p-value from the mean over arms instead of the max",
        "global_null = _extremeness(null, self.alternative).max(axis=1)\n"
        "        global_obs",
        "global_null = _extremeness(null, self.alternative).mean(axis=1)\n"
        "        global_obs",
        INFERENCE_TESTS,
    ),
    (
        "multi-arm interval no longer holds the other arms at their estimates",
        "shifts[self.treated_arms_] = effect",
        "shifts[self.treated_arms_] = 0.0",
        INFERENCE_TESTS,
    ),
    (
        "MinMSE cooling=2 schedule t0/(level+2) instead of t0/(level+1)",
        "return t0 / (level + 1.0)",
        "return t0 / (level + 2.0)",
        MINMSE_TESTS,
    ),
    (
        "interval rejects when p < alpha instead of p <= alpha",
        "return compute_pvalues(obs, null, self.alternative)[0] <= alpha",
        "return compute_pvalues(obs, null, self.alternative)[0] < alpha",
        INFERENCE_TESTS,
    ),
]


def _copy_tree(dest):
    files = _git("ls-files", "-co", "--exclude-standard").splitlines()
    for name in files:
        src = ROOT / name
        if not src.is_file():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def _locate(tree, original):
    hits = []
    for path in sorted((tree / "skassign").rglob("*.py")):
        count = path.read_text().count(original)
        if count:
            hits.append((path, count))
    return hits


def _run_tests(tree, tests):
    """Run pytest in ``tree``; return (return code, failing test ids, seconds)."""
    start = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=-m 'not slow'",
        "-rf",
        *tests,
    ]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, env=env)
    failed = re.findall(r"^FAILED (\S+)", out.stdout, flags=re.MULTILINE)
    failed += re.findall(r"^ERROR (\S+)", out.stdout, flags=re.MULTILINE)
    return out.returncode, failed, time.perf_counter() - start, out.stdout[-3000:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", type=int, nargs="*", help="mutation numbers (1-based) to run"
    )
    args = parser.parse_args(argv)
    chosen = args.only or list(range(1, len(MUTATIONS) + 1))
    record = {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain")),
        "machine": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_before": os.getloadavg(),
        "mutations": [],
    }
    with tempfile.TemporaryDirectory(prefix="skassign-mutation-") as tmp:
        base = Path(tmp) / "base"
        _copy_tree(base)
        tests = sorted({t for k in chosen for t in MUTATIONS[k - 1][3]})
        code, failed, seconds, tail = _run_tests(base, tests)
        print(f"unmutated: {len(failed)} failing tests in {seconds:.0f} s")
        if code != 0:
            print(tail)
            raise SystemExit("The unmutated tests fail; fix them first.")
        record["baseline_seconds"] = round(seconds, 1)
        for k in chosen:
            name, original, replacement, tests = MUTATIONS[k - 1]
            tree = Path(tmp) / f"mutant{k}"
            shutil.copytree(base, tree)
            hits = _locate(tree, original)
            entry = {"number": k, "mutation": name, "tests": tests}
            if len(hits) != 1 or hits[0][1] != 1:
                entry.update(status="not applicable", matches=len(hits))
                print(f"[{k}] {name}: NOT APPLICABLE ({len(hits)} matching files)")
            else:
                path = hits[0][0]
                path.write_text(path.read_text().replace(original, replacement))
                code, failed, seconds, _ = _run_tests(tree, tests)
                entry.update(
                    file=str(path.relative_to(tree)),
                    status="caught" if code != 0 else "survived",
                    caught_by=failed,
                    seconds=round(seconds, 1),
                )
                print(f"[{k}] {name}: {entry['status'].upper()} ({seconds:.0f} s)")
                for test in failed:
                    print(f"      {test}")
            record["mutations"].append(entry)
            shutil.rmtree(tree)
    record["load_after"] = os.getloadavg()
    record["all_caught"] = all(m["status"] == "caught" for m in record["mutations"])
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "mutation_check.json"
    if args.only:
        out = RESULTS / "mutation_check_partial.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"all caught: {record['all_caught']}; written to {out}")
    return 0 if record["all_caught"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
