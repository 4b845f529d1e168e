"""Run every benchmark script (or a quick subset) and write a summary table.

Every ``bench_*.py`` next to this file runs in its own process, one after
the other (they measure time: running them side by side would distort
each other's numbers). The summary, printed and written to
``results/run_all.json``, gives per script its exit status, wall time, the
load average before and after, the result files it wrote, and every
pass/fail flag found in its JSON results (boolean entries whose key
contains ``pass``, such as ``sd_ratio_pass``), so that one command answers
"do the speed and quality targets still hold?".

``--quick`` runs each script's ``--quick`` mode (scripts without one are
skipped) and keeps the committed results untouched: whatever a quick run
writes into ``results/`` is moved to ``results/quick/`` and the previous
files are restored.

Usage::

    python benchmarks/run_all.py --quick               # smoke run, minutes
    python benchmarks/run_all.py                       # full protocols, hours
    python benchmarks/run_all.py --only compare_designs inference
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def scripts(only=None):
    """The benchmark scripts, ``bench_*.py``, optionally filtered by name."""
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if any(word in p.stem for word in only)]
    return found


def supports(script, flag):
    """Whether ``script --help`` lists ``flag``."""
    try:
        out = subprocess.run(
            [sys.executable, str(script), "--help"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=HERE.parent,
        ).stdout
    except subprocess.TimeoutExpired:
        return False
    return flag in out


def _snapshot():
    return {
        p.relative_to(RESULTS): p.stat().st_mtime_ns
        for p in RESULTS.rglob("*")
        if p.is_file() and "quick" not in p.relative_to(RESULTS).parts
    }


def pass_flags(value, prefix=""):
    """Every boolean entry whose key contains ``pass``, with its JSON path."""
    flags = {}
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(item, bool) and "pass" in str(key).lower():
                flags[path] = item
            else:
                flags.update(pass_flags(item, path))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            flags.update(pass_flags(item, f"{prefix}[{i}]"))
    return flags


def run_one(script, quick, timeout, extra):
    """Run ``script``; return its summary row."""
    args = [sys.executable, str(script), *(["--quick"] if quick else []), *extra]
    before = _snapshot()
    backup = Path(tempfile.mkdtemp(prefix="run_all_"))
    if quick:
        shutil.copytree(RESULTS, backup / "results", dirs_exist_ok=True)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent
        )
        status, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as err:
        status = "timeout"
        stdout = err.stdout.decode() if isinstance(err.stdout, bytes) else err.stdout
        stderr = f"stopped after {timeout} s"
    seconds = time.perf_counter() - start
    after = _snapshot()
    written = sorted(str(p) for p, t in after.items() if before.get(p) != t)
    flags = {}
    for name in written:
        if name.endswith(".json"):
            try:
                data = json.loads((RESULTS / name).read_text())
            except (OSError, ValueError):
                flags[f"{name}: readable JSON"] = False
                continue
            flags.update({f"{name}: {k}": v for k, v in pass_flags(data).items()})
    if quick:
        quick_dir = RESULTS / "quick"
        quick_dir.mkdir(parents=True, exist_ok=True)
        for name in written:
            target = quick_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(RESULTS / name), target)
            original = backup / "results" / name
            if original.exists():
                shutil.copy2(original, RESULTS / name)
        written = [f"quick/{name}" for name in written]
    shutil.rmtree(backup, ignore_errors=True)
    tail = [line for line in (stdout or "").splitlines() if line.strip()][-3:]
    return {
        "script": script.name,
        "arguments": args[2:],
        "status": "ok" if status == 0 else f"failed ({status})",
        "wall_time_s": round(seconds, 1),
        "load_average_before_after": [
            round(load_before, 2),
            round(os.getloadavg()[0], 2),
        ],
        "written": written,
        "pass_flags": flags,
        "all_flags_pass": all(flags.values()) if flags else None,
        "last_lines": tail,
        "stderr_tail": (stderr or "").strip().splitlines()[-5:] if status != 0 else [],
    }


def format_table(rows):
    """The summary as a fixed-width text table."""
    header = ("script", "status", "time [s]", "load", "flags")
    lines = []
    for row in rows:
        flags = row["pass_flags"]
        if row["status"] == "skipped":
            verdict = "-"
        elif not flags:
            verdict = "no flags"
        else:
            failed = [k.split(": ", 1)[1] for k, v in flags.items() if not v]
            verdict = f"{len(flags) - len(failed)}/{len(flags)} pass"
            if failed:
                verdict += " (fail: " + ", ".join(failed[:3]) + ")"
        load = row.get("load_average_before_after") or ["", ""]
        lines.append(
            (
                row["script"],
                row["status"],
                f"{row['wall_time_s']:.0f}" if row["wall_time_s"] is not None else "-",
                f"{load[0]}->{load[1]}" if load[0] != "" else "-",
                verdict,
            )
        )
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(5)]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))
        for r in lines
    ]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="each script's --quick mode only"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="WORD", help="scripts whose name contains WORD"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per script (none)"
    )
    parser.add_argument("--list", action="store_true", help="list the scripts")
    args = parser.parse_args(argv)
    found = scripts(args.only)
    if args.list:
        for script in found:
            print(script.name)
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    for script in found:
        if args.quick and not supports(script, "--quick"):
            rows.append(
                {
                    "script": script.name,
                    "arguments": [],
                    "status": "skipped",
                    "wall_time_s": None,
                    "pass_flags": {},
                    "all_flags_pass": None,
                    "reason": "no --quick mode",
                }
            )
            print(f"{script.name}: skipped (no --quick mode)", flush=True)
            continue
        print(f"{script.name}: running ...", flush=True)
        row = run_one(script, args.quick, args.timeout, [])
        rows.append(row)
        print(
            f"{script.name}: {row['status']} in {row['wall_time_s']:.0f} s", flush=True
        )
    summary = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "cpu_count": os.cpu_count(),
        "scripts": rows,
    }
    target = RESULTS / ("quick/run_all.json" if args.quick else "run_all.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2) + "\n")
    print()
    print(format_table(rows))
    print(f"\nwritten to {target}")
    failed = [r for r in rows if r["status"].startswith(("failed", "timeout"))]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
