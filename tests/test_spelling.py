"""Spelling of the sources, documentation, examples and README (codespell).

codespell reads its configuration (skipped paths, accepted words) from the
``[codespell]`` section of ``setup.cfg``.
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("codespell_lib")

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["skassign", "doc", "examples", "README.rst"]


def _codespell(*paths, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "codespell_lib", "--config", str(ROOT / "setup.cfg")]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_no_spelling_errors():
    for path in CHECKED:
        assert (ROOT / path).exists(), f"{path} is missing"
    result = _codespell(*CHECKED)
    assert result.returncode == 0, (
        "codespell found misspellings (fix them, or add a deliberate word to "
        "ignore-words-list in setup.cfg):\n" + result.stdout + result.stderr
    )


def test_codespell_configuration_still_catches_typos(tmp_path):
    # Guards against a skip pattern or word list that silences everything.
    sample = tmp_path / "doc" / "page.rst"
    sample.parent.mkdir()
    sample.write_text("The design will recieve the units.\n", encoding="utf-8")
    result = _codespell(sample.relative_to(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert "recieve" in result.stdout
