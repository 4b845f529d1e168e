"""The documentation stays in step with the code.

- every public name (each public module's ``__all__``) is listed exactly once
  in ``doc/api.rst``, and every entry there exists;
- the code in the README and the documentation pages runs and prints what
  the text shows;
- every ``:ref:`` label used in a docstring exists in ``doc/``;
- ``.ci/run`` runs exactly the README's test command;
- (slow) the Sphinx build passes with warnings as errors.
"""

import doctest
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import skassign

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "doc"
API = DOC / "api.rst"
README = ROOT / "README.rst"
GENERATED = {"_build", "generated", "auto_examples"}


def _public_modules():
    """Every importable public module of skassign (no ``_`` component)."""
    names = []
    for info in pkgutil.walk_packages(skassign.__path__, prefix="skassign."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or "tests" in parts:
            continue
        names.append(info.name)
    return sorted(names)


def _api_entries():
    """Fully qualified names listed in the autosummary tables of api.rst."""
    entries, current, in_table = [], "", False
    for line in API.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            current, in_table = match.group(1), False
            continue
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table:
            if not line.strip():
                continue
            if not line.startswith(" "):
                in_table = False
                continue
            item = line.strip()
            if not item.startswith(":"):
                entries.append(f"{current}.{item}" if current else item)
    return entries


def _resolve(qualname):
    """Import the object a dotted name refers to."""
    parts = qualname.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(qualname)


def _doc_files(pattern):
    return sorted(
        p
        for p in DOC.rglob(pattern)
        if not GENERATED.intersection(p.relative_to(DOC).parts)
    )


PUBLIC_MODULES = _public_modules()


def test_public_modules_are_discovered():
    for expected in (
        "skassign.base",
        "skassign.datasets",
        "skassign.designs",
        "skassign.metrics",
        "skassign.utils",
    ):
        assert expected in PUBLIC_MODULES


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_name_once(module_name):
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} defines no __all__"
    documented = Counter(id(_resolve(entry)) for entry in _api_entries())
    wrong = {
        name: documented[id(getattr(module, name))]
        for name in module.__all__
        if documented[id(getattr(module, name))] != 1
    }
    assert not wrong, (
        f"Public names of {module_name} listed in doc/api.rst the wrong number "
        f"of times (name: count): {wrong}"
    )


def test_api_reference_entries_exist_and_are_public():
    public = {
        id(getattr(importlib.import_module(m), name))
        for m in PUBLIC_MODULES
        for name in importlib.import_module(m).__all__
    }
    entries = _api_entries()
    assert entries
    for entry in entries:
        assert id(_resolve(entry)) in public, f"{entry} is not in any __all__"


def _rst_with_examples():
    # Included fragments (*.inc) are read by Sphinx as part of their page.
    files = [README, *_doc_files("*.rst"), *_doc_files("*.inc")]
    return [p for p in files if ">>>" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize(
    "path", _rst_with_examples(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_rst_examples_run(path):
    result = doctest.testfile(
        str(path),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
        report=True,
        verbose=False,
    )
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} example(s) failed in {path.name}"


def _python_code_blocks(path):
    """Bodies of the ``.. code-block:: python`` directives of an rst file."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            body, i = [], i + 1
            while i < len(lines) and (not lines[i].strip() or lines[i][:1] == " "):
                body.append(lines[i])
                i += 1
            code = [line for line in body if line.strip()]
            assert code, f"empty code block in {path}"
            indent = min(len(line) - len(line.lstrip()) for line in code)
            blocks.append("\n".join(line[indent:] for line in body) + "\n")
        else:
            i += 1
    return blocks


def _files_with_python_blocks():
    files = [README, *_doc_files("*.rst")]
    return [p for p in files if ".. code-block:: python" in p.read_text("utf-8")]


@pytest.mark.parametrize(
    "path", _files_with_python_blocks(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_rst_python_code_blocks_run(path):
    # A page's blocks run in order in one namespace, as a reader runs them.
    namespace = {"__name__": "__doc_block__"}
    for block in _python_code_blocks(path):
        exec(compile(block, str(path), "exec"), namespace)


def _labels_defined():
    labels = set()
    sources = [*_doc_files("*.rst"), *(ROOT / "examples").rglob("*.txt")]
    for path in sources:
        labels.update(
            re.findall(r"^\.\. _([\w-]+):\s*$", path.read_text("utf-8"), re.M)
        )
    return labels


def test_docstring_ref_labels_exist():
    used = {}
    pattern = re.compile(r":ref:`(?:[^`<]*<([^>`]+)>|([^`<]+))`")
    for path in sorted((ROOT / "skassign").rglob("*.py")):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            label = (match.group(1) or match.group(2)).strip()
            used.setdefault(label, path.relative_to(ROOT))
    missing = {label: str(p) for label, p in used.items()}
    for label in _labels_defined():
        missing.pop(label, None)
    assert not missing, (
        "Docstrings refer to user-guide labels that no page in doc/ defines "
        f"(label: first file): {missing}. Add the page or fix the reference."
    )


def test_readme_test_command_is_what_ci_runs():
    commands = [
        line.strip()
        for line in README.read_text(encoding="utf-8").splitlines()
        if ".[test]" in line and "pytest" in line
    ]
    assert len(commands) == 1, commands
    ci_lines = [
        line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
    ]
    assert commands[0] in ci_lines


def test_readme_shows_install_and_demo_command():
    text = README.read_text(encoding="utf-8")
    assert "pip install . && skassign demo" in text


@pytest.mark.slow
def test_sphinx_build_passes_with_warnings_as_errors(tmp_path):
    for module in ("sphinx", "numpydoc", "pydata_sphinx_theme", "sphinx_gallery"):
        pytest.importorskip(module)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOC),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # MathJax is bundled: pages with mathematics load it from _static, not a CDN.
    html = tmp_path / "html"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    page = (html / "user_guide" / "metrics.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-chtml.js" in page
    assert "cdn.jsdelivr" not in page


def test_docstrings_quote_trailing_underscore_names_in_shapes():
    # An unquoted ``name_`` is a docutils link reference; in an attribute's
    # shape it breaks the Sphinx build (-W), which runs only as a slow test.
    pattern = re.compile(r"shape \([^)`]*\b[a-z_]+_,")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "skassign").rglob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"quote the name as `name_`: {offenders}"
