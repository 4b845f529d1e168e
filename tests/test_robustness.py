"""Regression tests of the robustness items of issue 16 (hostile input).

Each test names the item it guards; each failed on the code before its fix.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skassign.designs import (
    BlockRandomization,
    CompleteRandomization,
    MinMSE,
    OptimalBalance,
    Rerandomization,
)
from skassign.inference import BootstrapTest, RandomizationTest
from skassign.metrics import mahalanobis_imbalance, standardized_mean_difference
from skassign.utils.discovery import all_designs
from tests.test_common import FAST_PARAMS

# --------------------------------------------------------------------------
# Item 4: Rerandomization is invariant to each covariate's scale.


def test_rerandomization_one_huge_covariate_does_not_hide_the_others():
    X = np.random.RandomState(0).normal(size=(40, 4))
    scaled = X.copy()
    scaled[:, 0] *= 1e8
    plain = Rerandomization(random_state=0).fit(X)
    big = Rerandomization(random_state=0).fit(scaled)
    assert big.threshold_ == pytest.approx(plain.threshold_)
    np.testing.assert_array_equal(big.labels_, plain.labels_)
    assert big.objective_ == pytest.approx(plain.objective_, rel=1e-9)
    worst = np.abs(standardized_mean_difference(X, big.labels_)).max()
    assert worst == pytest.approx(
        np.abs(standardized_mean_difference(X, plain.labels_)).max()
    )


@pytest.mark.parametrize("factor", [1e-6, 1e-3, 1e3, 1e9, 1e200])
def test_mahalanobis_total_is_invariant_to_column_scale(factor):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(30, 3))
    labels = np.arange(30) % 2
    scaled = X * np.array([factor, 1.0, 1.0 / factor if factor < 1e100 else 1.0])
    expected = mahalanobis_imbalance(X, labels, covariance="total")
    got = mahalanobis_imbalance(scaled, labels, covariance="total")
    assert got == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------
# Item 5: RandomizationTest and fixed_labels / tiny n_resamples.


def _fixed_case():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(16, 2))
    fixed = np.full(16, -1)
    fixed[:4] = [0, 0, 1, 1]
    design = CompleteRandomization(random_state=0)
    labels = design.fit(X, fixed_labels=fixed).labels_
    y = X.sum(axis=1) + labels
    return X, y, labels, fixed, design


def test_randomization_test_refuses_contradicting_fixed_labels():
    X, y, labels, fixed, design = _fixed_case()
    wrong = fixed.copy()
    wrong[0] = 1 - labels[0]
    test = RandomizationTest(design, n_resamples=50, random_state=0)
    with pytest.raises(ValueError, match=r"fixed_labels fixes unit 0 in group"):
        test.fit(X, y, labels, fixed_labels=wrong)
    # The agreeing fixed_labels are accepted.
    test.fit(X, y, labels, fixed_labels=fixed)
    assert 0 < test.pvalue_ <= 1


def test_randomization_test_with_one_resample_is_not_called_deterministic():
    X, y, labels, _, design = _fixed_case()
    test = RandomizationTest(
        design, n_resamples=1, confidence_level=None, random_state=0
    )
    with pytest.warns(UserWarning, match="Increase n_resamples"):
        test.fit(X, y, labels)
    assert test.n_resamples_ == 1


# --------------------------------------------------------------------------
# Rough edge: Rerandomization when no draw can change the imbalance.


def test_rerandomization_too_many_covariates_gives_honest_advice():
    X = np.random.RandomState(0).normal(size=(10, 9))
    design = Rerandomization(random_state=0, max_draws=1000)
    with pytest.warns(UserWarning, match="n_features >= n_samples - 1") as record:
        design.fit(X)
    assert not any("max_draws" in str(r.message) for r in record)
    assert design.n_draws_ == 1
    assert np.bincount(design.labels_).tolist() == [5, 5]


def test_rerandomization_every_free_unit_in_one_group_gives_honest_advice():
    X = np.random.RandomState(0).normal(size=(10, 2))
    fixed = [0, 0, 0, 0, 0, -1, -1, -1, -1, -1]
    design = Rerandomization(random_state=0, max_draws=1000)
    with pytest.warns(UserWarning, match="single way to complete") as record:
        design.fit(X, fixed_labels=fixed)
    assert not any("max_draws" in str(r.message) for r in record)
    assert design.labels_.tolist() == [0] * 5 + [1] * 5


# --------------------------------------------------------------------------
# Item 8: inf in fixed_labels is not "to assign".


def test_infinite_fixed_label_is_refused():
    X = np.arange(8.0).reshape(-1, 1)
    with pytest.raises(ValueError, match="infinite value at position 0"):
        CompleteRandomization(random_state=0).fit(
            X, fixed_labels=[np.inf, 0, 1, -1, -1, -1, -1, -1]
        )


# --------------------------------------------------------------------------
# Smaller rough edges.


def test_datetime_column_gets_a_message_naming_it():
    pd = pytest.importorskip("pandas")
    from skassign.metrics import balance_table

    X = pd.DataFrame(
        {"w": np.arange(6.0), "day": pd.date_range("2024-01-01", periods=6)}
    )
    with pytest.raises(ValueError, match="date or time values in column.*'day'"):
        CompleteRandomization(random_state=0).fit(X)
    with pytest.raises(ValueError, match="date or time values in column.*'day'"):
        balance_table(X, [0, 1] * 3)


def test_unknown_solver_param_is_named():
    pytest.importorskip("pyscipopt")
    X = np.random.RandomState(0).normal(size=(12, 2))
    design = OptimalBalance(solver_params={"no/such": 1}, random_state=0)
    with pytest.raises(ValueError, match="'no/such' is not a SCIP parameter"):
        design.fit(X)


def test_block_randomization_refuses_more_strata_than_units():
    X = np.random.RandomState(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="n_strata=50 is larger than the number"):
        BlockRandomization(n_strata=50, random_state=0).fit(X)


@pytest.mark.parametrize(
    "design, scaler",
    [
        (CompleteRandomization(), "StandardScaler()"),
        (MinMSE(), "StandardScaler(with_mean=False)"),
    ],
)
def test_nan_advice_fits_the_design(design, scaler):
    X = np.array([[1.0, 2.0], [np.nan, 1.0], [2.0, 3.0], [3.0, 1.0]])
    with pytest.raises(ValueError, match="contains NaN") as info:
        design.fit(X)
    assert f"SimpleImputer(), {scaler}, design" in str(info.value)


@pytest.mark.parametrize("test_class", [RandomizationTest, BootstrapTest])
def test_missing_X_given_to_a_test_is_a_clear_error(test_class):
    test = test_class(CompleteRandomization(), n_resamples=10)
    with pytest.raises(ValueError, match="needs the covariates X"):
        test.fit(None, np.arange(4.0), [0, 1, 0, 1])


def test_demo_with_one_mouse_is_a_clear_error(capsys):
    from skassign._cli import main

    assert main(["demo", "--n-mice", "1"]) == 2
    err = capsys.readouterr().err
    assert "--n-mice must be at least 2" in err
    assert "NaN" not in err


# --------------------------------------------------------------------------
# Item 1: OptimalBalance on unscaled covariates.


@pytest.mark.parametrize("factor", [1e6, 1e11])
def test_optimal_balance_solves_unscaled_covariates(factor):
    pytest.importorskip("pyscipopt")
    from skassign.metrics import moment_discrepancy

    for seed in range(12):
        X = np.random.RandomState(seed).normal(size=(12, 2)) * factor
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            design = OptimalBalance(
                method="mip",
                random_state=0,
                time_limit=3,
                fallback=CompleteRandomization(),
            ).fit(X)
        assert design.status_ == "optimal", seed
        assert design.gap_ == 0.0
        assert design.objective_ == pytest.approx(
            moment_discrepancy(X, design.labels_), rel=1e-12
        )
        assert design.bound_ <= design.objective_ * (1 + 1e-9)


def test_optimal_balance_huge_rho_is_not_called_infeasible():
    pytest.importorskip("pyscipopt")
    for seed in range(6):
        X = np.random.RandomState(seed).normal(size=(12, 2))
        design = OptimalBalance(
            rho=1e12, method="mip", random_state=0, time_limit=3
        ).fit(X)
        assert design.status_ == "optimal", seed


def test_optimal_balance_refuses_covariates_whose_moments_overflow():
    X = np.random.RandomState(0).normal(size=(12, 2)) * 1e200
    with pytest.raises(ValueError, match="Standardise the covariates first"):
        OptimalBalance(random_state=0).fit(X)
    # With rho=0 only the means enter, and those are representable.
    design = OptimalBalance(rho=0, method="mip", random_state=0, time_limit=5).fit(X)
    assert design.status_ == "optimal"
    assert np.isfinite(design.objective_) and design.objective_ > 0


def test_optimal_balance_keeps_the_heuristic_when_the_solver_fails(monkeypatch):
    pytest.importorskip("pyscipopt")
    from skassign import _solver_design
    from skassign.exceptions import InfeasibleDesignError, SolverWarning

    X = np.random.RandomState(0).normal(size=(30, 2))
    expected = OptimalBalance(method="heuristic", random_state=0).fit(X)
    for error in (Exception("SCIP: error in LP solver"), InfeasibleDesignError("no")):

        def failing(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(_solver_design, "solve_mip", failing)
        with pytest.warns(SolverWarning, match="returning the heuristic's assignment"):
            design = OptimalBalance(
                method="mip", random_state=0, heuristic_iter=2000
            ).fit(X)
        assert design.status_ == "solver_error"
        assert np.isnan(design.bound_)
        assert np.bincount(design.labels_).tolist() == [15, 15]
        assert design.objective_ <= expected.objective_ * 2


# --------------------------------------------------------------------------
# Item 2: Ctrl-C inside SCIP raises KeyboardInterrupt in the caller.


def _interrupt_during(call, after=1.0):
    """Run ``call`` with a SIGINT to this process after ``after`` seconds."""
    import os
    import signal
    import threading

    timer = threading.Timer(after, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        return call()
    finally:
        timer.cancel()


def _hard_mip():
    """A design whose SCIP run lasts seconds, started right after a warm-up."""
    X = np.random.RandomState(0).normal(size=(80, 4))
    quick = dict(
        n_groups=3, method="mip", heuristic_iter=0, exchange_iter=0, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        OptimalBalance(**quick, time_limit=0.2).fit(X[:12])  # compile the kernels
    return X, OptimalBalance(**quick, time_limit=4)


def test_ctrl_c_inside_scip_raises_keyboard_interrupt():
    pytest.importorskip("pyscipopt")
    X, design = _hard_mip()
    with pytest.raises(KeyboardInterrupt, match="SCIP"):
        _interrupt_during(lambda: design.fit(X))


@pytest.mark.filterwarnings("ignore::skassign.exceptions.SolverWarning")
def test_ctrl_c_inside_scip_stops_a_bootstrap_test():
    pytest.importorskip("pyscipopt")
    X, design = _hard_mip()
    labels = design.set_params(time_limit=0.2).fit_predict(X)
    design.set_params(time_limit=4)
    test = BootstrapTest(
        design, n_resamples=3, n_jobs=1, confidence_level=None, random_state=0
    )
    y = X.sum(axis=1) + labels
    with pytest.raises(KeyboardInterrupt):
        _interrupt_during(lambda: test.fit(X, y, labels))
    assert not hasattr(test, "pvalue_")


# --------------------------------------------------------------------------
# Item 3: time_limit covers model building; oversized models are not built.


def _never_solve(*args, **kwargs):
    raise AssertionError("the solver must not run")


def test_model_too_large_for_the_time_left_is_not_built(monkeypatch):
    pytest.importorskip("pyscipopt")
    from skassign.exceptions import SolverWarning
    from skassign.utils import _mip

    # 8 groups, full second moments of 12 covariates: 600 000 non-zeros
    # and 17 million matrix entries, seconds to build, with 0.4 s left.
    X = np.random.RandomState(0).normal(size=(60, 12))
    monkeypatch.setattr(_mip, "solve_scip", _never_solve)
    design = OptimalBalance(
        n_groups=8, second_moments="full", method="mip", time_limit=2, random_state=0
    )
    with pytest.warns(SolverWarning, match="building the model .* would take"):
        design.fit(X)
    assert design.status_ == "model_too_large"
    assert np.isnan(design.bound_) and design.n_nodes_ == 0
    assert sorted(np.bincount(design.labels_).tolist()) == [7] * 4 + [8] * 4


def test_model_too_large_for_memory_is_not_built(monkeypatch):
    pytest.importorskip("pyscipopt")
    from skassign.designs import _optimal_model
    from skassign.exceptions import SolverWarning
    from skassign.utils import _mip

    X = np.random.RandomState(0).normal(size=(30, 3))
    monkeypatch.setattr(_mip, "solve_scip", _never_solve)
    monkeypatch.setattr(_optimal_model, "_MAX_MODEL_BYTES", 1e3)
    design = OptimalBalance(n_groups=3, method="mip", time_limit=None, random_state=0)
    with pytest.warns(SolverWarning, match=r"the model would need about .* GB"):
        design.fit(X)
    assert design.status_ == "model_too_large"


def test_model_building_counts_against_time_limit(monkeypatch):
    pytest.importorskip("pyscipopt")
    import time

    from skassign.designs import _optimal_model
    from skassign.exceptions import SolverWarning
    from skassign.utils import _mip

    structure = _optimal_model._model_structure

    def slow_structure(problem):
        time.sleep(1.0)
        return structure(problem)

    monkeypatch.setattr(_optimal_model, "_model_structure", slow_structure)
    monkeypatch.setattr(_mip, "solve_scip", _never_solve)
    X = np.random.RandomState(0).normal(size=(40, 2))
    design = OptimalBalance(n_groups=3, method="mip", time_limit=0.5, random_state=0)
    with pytest.warns(SolverWarning, match="status 'time_limit'"):
        design.fit(X)
    assert design.status_ == "time_limit"
    assert np.isnan(design.bound_) and design.n_nodes_ == 0


# --------------------------------------------------------------------------
# Property: covariates in any units (each column rescaled by 1e-6 ... 1e9).

_SCALE_SETTINGS = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Designs whose assignment is a function of the covariates' scale-free
# content (Mahalanobis / minMSE criteria) or ignores them: the same seed
# gives the same assignment in any units.
_SCALE_FREE = {"CompleteRandomization", "MinMSE", "Rerandomization"}


@_SCALE_SETTINGS
@given(
    seed=st.integers(0, 2**16),
    exponents=st.lists(st.floats(-6, 9), min_size=3, max_size=3),
    n_groups=st.integers(2, 3),
)
def test_every_design_handles_covariates_in_any_units(seed, exponents, n_groups):
    X = np.random.default_rng(seed).normal(loc=1.0, size=(18, 3))
    scaled = X * 10.0 ** np.asarray(exponents)
    for name, cls in all_designs():
        params = {**FAST_PARAMS.get(name, {}), "n_groups": n_groups}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design = cls(**params, random_state=seed).fit(scaled)
            reference = cls(**params, random_state=seed).fit(X)
        sizes = sorted(np.bincount(design.labels_, minlength=n_groups).tolist())
        assert sizes == sorted(reference.group_sizes_.tolist()), name
        assert np.isfinite(design.objective_), name
        if name in _SCALE_FREE:
            np.testing.assert_array_equal(design.labels_, reference.labels_, name)
            assert design.objective_ == pytest.approx(
                reference.objective_, rel=1e-6, abs=1e-12
            ), name


@_SCALE_SETTINGS
@given(seed=st.integers(0, 2**16), exponent=st.floats(-6, 9))
def test_optimal_balance_of_means_is_invariant_to_a_common_scale(seed, exponent):
    # With rho=0 the objective is a sum of mean differences: a common factor
    # scales it and leaves the optimal assignment unchanged (per-column
    # factors reweight the covariates, which is the design's choice).
    pytest.importorskip("pyscipopt")
    X = np.random.default_rng(seed).normal(size=(12, 2))
    factor = 10.0**exponent
    params = dict(rho=0.0, method="mip", time_limit=None, random_state=seed)
    reference = OptimalBalance(**params).fit(X)
    design = OptimalBalance(**params).fit(X * factor)
    assert design.status_ == reference.status_ == "optimal"
    np.testing.assert_array_equal(design.labels_, reference.labels_)
    assert design.objective_ == pytest.approx(reference.objective_ * factor, rel=1e-9)
