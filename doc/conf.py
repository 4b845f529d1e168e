"""Sphinx configuration of the skassign documentation.

Build (warnings are errors), from the repository root::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

The build needs no network, and neither does reading the result: MathJax
is bundled (the ``sphinx-mathjax-offline`` package of the ``docs`` extra
copies it into ``_static/mathjax``). Links into the documentation of Python, NumPy,
SciPy, scikit-learn, pandas and cvxpy (intersphinx) are added only when the
environment variable ``SKASSIGN_DOCS_INTERSPHINX=1`` is set, because fetching
their inventories fails on machines without access to those sites, and a
failed fetch is a warning (an error under ``-W``).
"""

import os
import re
import sys
from pathlib import Path

DOC_DIR = Path(__file__).resolve().parent
ROOT = DOC_DIR.parent
# Document the source tree next to this file, not an installed copy.
sys.path.insert(0, str(ROOT))

import skassign  # noqa: E402

# -- Project -----------------------------------------------------------------

project = "skassign"
author = "The skassign developers"
copyright = "The skassign developers"
release = skassign.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped in a Python package and copied into _static/mathjax:
    # the mathematics renders without network access (no CDN).
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

# -- API reference -----------------------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
# numpydoc would list the members a second time under the autosummary pages.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Docstrings inherited from scikit-learn (get_params, set_output,
# set_fit_request, ...) point at labels and glossary terms of scikit-learn's
# own documentation, which do not exist here. Those roles are rendered as
# plain text; class and function roles are kept (intersphinx resolves them
# when enabled, otherwise they render as code).
_FOREIGN_ROLE = re.compile(r":(ref|term|doc):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _plain_role(match):
    role, title, target = match.groups()
    if role == "term":
        return f"*{(title or target).strip()}*"
    if title:
        return f"{title.strip()} (scikit-learn)"
    return "the scikit-learn documentation"


def _plain_foreign_roles(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module == "skassign" or module.startswith("skassign."):
        return
    for i, line in enumerate(lines):
        lines[i] = _FOREIGN_ROLE.sub(_plain_role, line)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_foreign_roles)


# -- Cross-project links (opt-in, see the module docstring) ------------------

intersphinx_mapping = {}
if os.environ.get("SKASSIGN_DOCS_INTERSPHINX", "0") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "cvxpy": ("https://www.cvxpy.org", None),
    }
intersphinx_timeout = 10

# -- Gallery -----------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    # Each API page lists the examples that use the object (minigallery).
    "doc_module": ("skassign",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skassign": None},
    "remove_config_comments": True,
    "show_memory": False,
}

# -- HTML --------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skassign {release}"
html_theme_options = {
    "github_url": "https://github.com/skassign/skassign",
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,
}
html_static_path = []
html_show_sourcelink = False
