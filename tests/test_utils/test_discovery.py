"""Discovery of public estimators."""

import inspect
import os

import pytest

from skassign.base import is_design
from skassign.utils.discovery import all_designs, all_estimators


def test_all_designs_are_concrete_public_designs():
    designs = all_designs()
    assert [name for name, _ in designs] == sorted(name for name, _ in designs)
    for name, cls in designs:
        assert not name.startswith(("_", "Base"))
        assert not inspect.isabstract(cls)
        assert is_design(cls())
        # skassign's designs, or the worked designs the tests add to discovery.
        packages = ["skassign.designs"] + os.environ["SKASSIGN_DISCOVERY"].split(",")
        assert cls.__module__.startswith(tuple(f"{p}." for p in packages))
    assert set(designs) <= set(all_estimators())


def test_splitters_and_private_modules_are_not_estimators():
    names = {name for name, _ in all_estimators()}
    assert not names & {"Experiment", "FullSample", "BaseDesign", "DesignMixin"}


def test_unknown_type_filter():
    with pytest.raises(ValueError, match="type_filter must be None or 'design'"):
        all_estimators("classifier")


def test_discovery_walks_the_packages_named_in_the_environment(monkeypatch):
    names = [name for name, _ in all_designs()]
    assert "MeanBalance" in names
    monkeypatch.setenv("SKASSIGN_DISCOVERY", "")
    without = [name for name, _ in all_designs()]
    assert "MeanBalance" not in without and set(without) < set(names)
    assert all(cls.__module__.startswith("skassign.") for _, cls in all_estimators())
    monkeypatch.setenv("SKASSIGN_DISCOVERY", "tests.worked_designs.mean_balance")
    # A module alone adds its own designs only (the package holds others).
    assert [name for name, _ in all_designs()] == sorted({*without, "MeanBalance"})
