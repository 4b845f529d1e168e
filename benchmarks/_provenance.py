"""Where a benchmark's results come from: git output for the code that ran."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args, cwd=ROOT):
    """Output of ``git *args`` in the repository ('' when git fails)."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return out.stdout.strip()


def commit(short=False):
    """Commit of HEAD (abbreviated with ``short``), or None outside a checkout."""
    return git("rev-parse", *(["--short"] if short else []), "HEAD") or None
