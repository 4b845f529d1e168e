"""The checks of the validity experiments (``skassign.inference._validity``).

The slow validity tests and ``benchmarks/bench_inference.py`` judge their
Monte Carlo results with :func:`assess`; these fast tests pin its bands on
made-up tables, so that a band cannot silently widen or flip side.
"""

import numpy as np
import pytest

from skassign.inference._validity import assess

N = 400
BAND = 3.5 * np.sqrt(0.05 * 0.95 / N)


def _table(null_rate, coverage, n_groups=3):
    rows = []
    for arm in range(1, n_groups):
        for effect, rate in ((0.0, null_rate), (1.0, 0.5)):
            rows.append(
                {
                    "statistic": "mean_difference",
                    "effect": effect,
                    "arm": arm,
                    "n_experiments": N,
                    "n_failed": 0,
                    "rejection": rate,
                    "coverage": coverage if effect else 1.0 - rate,
                    "global_rejection": null_rate,
                }
            )
    return rows


@pytest.mark.parametrize("test", ["randomization", "bootstrap"])
def test_nominal_table_passes(test):
    assert assess(_table(0.05, 0.95), test, 3) == []


@pytest.mark.parametrize("test", ["randomization", "bootstrap"])
def test_size_above_band_fails(test):
    failures = assess(_table(0.05 + BAND + 0.005, 0.95), test, 3)
    assert any("size" in f for f in failures)


def test_low_size_fails_only_the_exact_test():
    table = _table(0.05 - BAND - 0.005, 0.95)
    assert any("size" in f for f in assess(table, "randomization", 3))
    assert assess(table, "bootstrap", 3) == []


def test_three_arm_coverage_band():
    # Under-coverage fails both tests; over-coverage only the exact one
    # (the bootstrap is conservative: only the lower side is checked).
    low = _table(0.05, 0.95 - BAND - 0.005)
    high = _table(0.05, 0.95 + BAND + 0.005)
    assert any("coverage" in f for f in assess(low, "bootstrap", 3))
    assert any("coverage" in f for f in assess(low, "randomization", 3))
    assert any("coverage" in f for f in assess(high, "randomization", 3))
    assert assess(high, "bootstrap", 3) == []


def test_two_arm_coverage_is_one_minus_size():
    table = _table(0.05, 0.95, n_groups=2)
    assert assess(table, "randomization", 2) == []
    table[1]["coverage"] = 0.93
    assert any("one minus the size" in f for f in assess(table, "randomization", 2))
