"""The inference tests are estimators (clone, params) but not designs."""

import pytest
from sklearn.base import clone

from skassign.designs import CompleteRandomization
from skassign.inference import BootstrapTest, RandomizationTest
from skassign.utils.discovery import all_designs, all_estimators


def test_discovery_lists_tests_but_not_as_designs():
    names = dict(all_estimators())
    assert names["BootstrapTest"] is BootstrapTest
    assert names["RandomizationTest"] is RandomizationTest
    designs = [name for name, _ in all_designs()]
    assert "BootstrapTest" not in designs and "RandomizationTest" not in designs


@pytest.mark.parametrize("cls", [BootstrapTest, RandomizationTest])
def test_constructor_stores_parameters(cls):
    design = CompleteRandomization(random_state=0)
    test = cls(design, n_resamples=7, statistic="t", alternative="less", control=1)
    params = test.get_params(deep=False)
    assert params["design"] is design
    assert (params["n_resamples"], params["statistic"]) == (7, "t")
    assert params["alternative"] == "less" and params["control"] == 1
    cloned = clone(test)
    assert cloned.get_params(deep=False)["n_resamples"] == 7
    assert test.get_params()["design__random_state"] == 0
