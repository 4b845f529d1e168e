"""The validity experiments of skassign.inference._simulation run on the harness."""

import numpy as np

from skassign.designs import CompleteRandomization, OptimalBalance
from skassign.inference._simulation import (
    mice_bootstrap_experiment,
    randomization_experiment,
    rejection_and_coverage,
)


def test_randomization_experiment_is_seeded_and_valid_pvalues():
    a = randomization_experiment(3, CompleteRandomization(), 0.0, 19)
    assert a == randomization_experiment(3, CompleteRandomization(), 0.0, 19)
    assert a != randomization_experiment(4, CompleteRandomization(), 0.0, 19)
    pvalue, covered = a
    assert round(pvalue * 20) == pvalue * 20 and 0.05 <= pvalue <= 1.0
    assert covered in (True, False)


def test_mice_bootstrap_experiment_and_rates():
    design = OptimalBalance(rho=0.5)
    results = [mice_bootstrap_experiment(s, design, -250.0, 19) for s in range(2)]
    assert results[0] == mice_bootstrap_experiment(0, design, -250.0, 19)
    for pvalue, _ in results:
        assert 0.05 <= pvalue <= 1.0
    rate, coverage = rejection_and_coverage([(0.01, True), (0.5, False)], 0.05)
    assert (rate, coverage) == (0.5, 0.5)
    assert np.isnan(rejection_and_coverage([(np.nan, np.nan)])[1])
