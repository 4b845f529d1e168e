"""Discovery of public estimators."""

import inspect

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
        assert cls.__module__.startswith("skassign.designs.")
    assert set(designs) <= set(all_estimators())


def test_splitters_and_private_modules_are_not_estimators():
    names = {name for name, _ in all_estimators()}
    assert not names & {"Experiment", "FullSample", "BaseDesign", "DesignMixin"}


def test_unknown_type_filter():
    with pytest.raises(ValueError, match="type_filter must be None or 'design'"):
        all_estimators("classifier")
