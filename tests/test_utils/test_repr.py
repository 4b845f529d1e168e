"""The HTML representation of skassign estimators links to their API page."""

import re
from pathlib import Path

import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import Rerandomization
from skassign.inference import BootstrapTest, RandomizationTest
from skassign.model_selection import DesignSearchCV
from skassign.utils.discovery import all_designs

API = (Path(__file__).resolve().parents[2] / "doc" / "api.rst").read_text()

ESTIMATORS = [
    cls() for _, cls in all_designs() if cls.__module__.startswith("skassign.")
] + [
    BootstrapTest(Rerandomization()),
    RandomizationTest(Rerandomization()),
    DesignSearchCV(Rerandomization(), {"acceptance_prob": [0.1]}),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_doc_link_points_at_the_api_page(estimator):
    link = estimator._get_doc_link()
    match = re.fullmatch(
        r"https://skassign\.readthedocs\.io/en/[^/]+/generated/"
        r"skassign\.(\w+)\.(\w+)\.html",
        link,
    )
    assert match, link
    module, name = match.groups()
    assert name == type(estimator).__name__
    # The page exists: doc/api.rst lists the object under that module.
    assert f"   {module}.{name}\n" in API


def test_html_repr_of_a_pipeline_carries_the_link():
    html = make_pipeline(StandardScaler(), Rerandomization())._repr_html_()
    assert "generated/skassign.designs.Rerandomization.html" in html
