"""Documentation link of skassign estimators in their HTML representation.

scikit-learn's HTML diagram of an estimator (shown by notebooks) carries a
"?" link to the estimator's API page, built from ``_doc_link_module`` and
``_doc_link_template``. This mixin points skassign's estimators at the
skassign documentation, whose API pages are
``generated/<public module>.<Class>.html`` (see ``doc/api.rst``).
"""

from __future__ import annotations

from skassign import __version__

__all__ = ["DOCUMENTATION_URL", "DocLinkMixin"]

#: Root of the published documentation (``Documentation`` in pyproject.toml).
DOCUMENTATION_URL = "https://skassign.readthedocs.io/en/{version}/"


def _version_path(version):
    """``latest`` for development versions, else the version itself."""
    return "latest" if "dev" in version else version


class DocLinkMixin:
    """Link the HTML representation of an estimator to skassign's API pages.

    Examples
    --------
    >>> from skassign.designs import Rerandomization
    >>> Rerandomization()._get_doc_link()  # doctest: +ELLIPSIS
    'https://skassign.readthedocs.io/en/.../generated/skassign.designs.Rerandomization.html'
    """

    _doc_link_module = "skassign"
    _doc_link_url_param_generator = None

    @property
    def _doc_link_template(self):
        root = DOCUMENTATION_URL.format(version=_version_path(__version__))
        return root + "generated/{estimator_module}.{estimator_name}.html"
