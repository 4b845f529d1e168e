"""The strata contract: every design spreads every stratum evenly."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import BatchLayout, BlockRandomization, CompleteRandomization
from skassign.utils.discovery import all_designs
from tests.test_common import FAST_PARAMS

# skassign's own designs (the worked examples of "Writing a design" that the
# test suite also discovers leave strata out, and refuse them).
DESIGNS = [
    pytest.param(cls(**FAST_PARAMS.get(name, {})), id=name)
    for name, cls in all_designs()
    if cls.__module__.startswith("skassign.")
] + [
    # BatchLayout with cages (of 2 or 3 units, which may mix strata): the
    # strata join its exact count model.
    pytest.param(
        BatchLayout(subgroup_sizes=(2, 2, 3), **FAST_PARAMS.get("BatchLayout", {})),
        id="BatchLayout-cages",
    )
]

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore::skassign.exceptions.SolverWarning",
)


def _evenly_spread(labels, strata, sizes):
    """Oracle: every stratum's count per group is its share rounded down or up."""
    labels, strata = np.asarray(labels), np.asarray(strata)
    sizes = np.asarray(sizes)
    n = sizes.sum()
    for h in np.unique(strata):
        in_h = strata == h
        share = in_h.sum() * sizes / n
        counts = np.bincount(labels[in_h], minlength=sizes.shape[0])
        if np.any(counts < np.floor(share + 1e-9)) or np.any(
            counts > np.ceil(share - 1e-9)
        ):
            return False
    return True


@st.composite
def stratified_problems(draw):
    n_groups = draw(st.integers(2, 3))
    n_samples = draw(st.integers(2 * n_groups, 18))
    n_strata = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, draw(st.integers(1, 2))))
    strata = rng.choice([f"s{h}" for h in range(n_strata)], n_samples)
    return X, n_groups, strata, seed


@pytest.mark.parametrize("design", DESIGNS)
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(problem=stratified_problems())
def test_every_design_spreads_every_stratum_evenly(design, problem):
    X, n_groups, strata, seed = problem
    design = clone(design).set_params(n_groups=n_groups, random_state=seed % 1000)
    labels = design.fit_predict(X, strata=strata)
    assert np.bincount(labels, minlength=n_groups).sum() == X.shape[0]
    assert _evenly_spread(labels, strata, design.group_sizes_)


@pytest.mark.parametrize("design", DESIGNS)
def test_strata_with_fixed_units_and_sizes(design):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(16, 2))
    strata = np.repeat(["a", "b", "c", "d"], 4)
    fixed = np.full(16, -1)
    fixed[[0, 4, 5]] = [0, 1, 0]
    design = clone(design).set_params(group_sizes=[8, 8], random_state=0)
    labels = design.fit_predict(X, strata=strata, fixed_labels=fixed)
    assert labels[[0, 4, 5]].tolist() == [0, 1, 0]
    assert _evenly_spread(labels, strata, [8, 8])


@pytest.mark.parametrize("design", DESIGNS)
def test_strata_column_name_and_series_alignment(design):
    rng = np.random.default_rng(2)
    index = [f"mouse{i}" for i in range(12)]
    X = pd.DataFrame(rng.normal(size=(12, 2)), columns=["w", "age"], index=index)
    sex = pd.Series(np.repeat(["f", "m"], 6), index=index, name="sex")
    design = clone(design).set_params(random_state=0)
    # A column name takes the column out of the covariates.
    fitted = clone(design).fit(X.assign(sex=sex), strata="sex")
    assert fitted.feature_names_in_.tolist() == ["w", "age"]
    assert _evenly_spread(fitted.labels_, sex, [6, 6])
    assert fitted.transform(X.assign(sex=sex)).shape == (12, 1)
    # A Series is aligned by index, not by position: the same strata listed
    # in another order give the same assignment.
    by_name = clone(design).fit_predict(X, strata=sex)
    by_reordered = clone(design).fit_predict(X, strata=sex.iloc[::-1])
    assert by_name.tolist() == by_reordered.tolist() == fitted.labels_.tolist()


def test_series_with_another_index_is_refused():
    X = pd.DataFrame({"w": np.arange(6.0)}, index=list("abcdef"))
    wrong = pd.Series(list("ffmmff"), index=list("abcxyz"))
    for design in (CompleteRandomization(), BlockRandomization()):
        with pytest.raises(ValueError, match="index does not match X's index"):
            design.fit(X, strata=wrong)


def test_series_relabelled_index_is_not_matched_by_position():
    X = pd.DataFrame({"w": np.arange(8.0)}, index=np.arange(8))
    sex = pd.Series(list("ffffmmmm"), index=np.arange(8))
    flipped = pd.Series(sex.to_numpy(), index=np.arange(8)[::-1])
    a = BlockRandomization(random_state=0).fit(X, strata=sex)
    b = BlockRandomization(random_state=0).fit(X, strata=flipped)
    assert a.strata_.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert b.strata_.tolist() == [1, 1, 1, 1, 0, 0, 0, 0]


def test_column_name_errors():
    X = pd.DataFrame({"w": np.arange(6.0), "sex": list("ffmmff")})
    with pytest.raises(ValueError, match="'cage' is not a column of X"):
        CompleteRandomization().fit(X, strata="cage")
    with pytest.raises(ValueError, match="X has no column names"):
        CompleteRandomization().fit(X[["w"]].to_numpy(), strata="sex")


def test_strata_in_a_pipeline():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(12, 2)), columns=["w", "age"])
    sex = pd.Series(np.repeat(["f", "m"], 6))
    pipe = make_pipeline(StandardScaler(), CompleteRandomization(random_state=0))
    labels = pipe.fit(X, completerandomization__strata=sex)[-1].labels_
    assert _evenly_spread(labels, sex, [6, 6])


def test_fixed_units_beyond_the_share_warn_naming_the_stratum():
    X = np.arange(8.0).reshape(-1, 1)
    strata = np.repeat(["f", "m"], 4)
    fixed = np.array([0, 0, 0, -1, -1, -1, -1, -1])
    with pytest.warns(UserWarning, match=r"strata \['f'\]"):
        labels = CompleteRandomization(random_state=0).fit_predict(
            X, strata=strata, fixed_labels=fixed
        )
    assert np.bincount(labels[4:]).tolist() == [1, 3]


def test_designs_without_strata_support_refuse_them():
    from skassign.base import BaseDesign

    class NoStrata(BaseDesign):
        def __init__(self, n_groups=2, *, group_sizes=None, random_state=None):
            self.n_groups = n_groups
            self.group_sizes = group_sizes
            self.random_state = random_state

        def _assign(self, X, sizes, fixed, rng):
            return np.repeat(np.arange(2), sizes)

    with pytest.raises(ValueError, match="does not support strata"):
        NoStrata().fit(np.zeros((4, 1)), strata=[0, 0, 1, 1])


def test_sample_assignments_keep_strata():
    X = np.random.default_rng(0).normal(size=(10, 1))
    strata = np.repeat(["a", "b"], 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A = CompleteRandomization(random_state=0).sample_assignments(
            X, 20, strata=strata
        )
    for labels in A:
        assert _evenly_spread(labels, strata, [5, 5])


@pytest.mark.parametrize("n_groups", [2, 3])
def test_optimal_balance_with_strata_is_optimal_among_stratified_splits(n_groups):
    # Exhaustive oracle: the best moment discrepancy over every assignment
    # that spreads both strata evenly (the table is unique here).
    from skassign.designs import OptimalBalance
    from skassign.metrics import moment_discrepancy
    from skassign.utils._testing import all_assignments

    rng = np.random.default_rng(n_groups)
    X = rng.normal(size=(12, 1))
    strata = np.repeat([0, 1], 6)
    sizes = [12 // n_groups] * n_groups
    candidates = all_assignments(sizes, np.full(12, -1))
    even = [a for a in candidates if _evenly_spread(a, strata, sizes)]
    best = min(moment_discrepancy(X, a, rho=0.5) for a in even)
    unconstrained = min(moment_discrepancy(X, a, rho=0.5) for a in candidates)
    for method in ("auto", "exact", "mip", "heuristic"):
        design = OptimalBalance(
            n_groups, method=method, heuristic_iter=2000, random_state=0
        ).fit(X, strata=strata)
        assert _evenly_spread(design.labels_, strata, sizes)
        assert design.objective_ == pytest.approx(best, abs=1e-9)
    assert design.objective_ >= unconstrained


def test_strata_routed_as_metadata():
    import sklearn

    from skassign.base import sample_assignments
    from skassign.model_selection import DesignSearchCV

    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(12, 2)), columns=["w", "age"])
    sex = pd.Series(np.repeat(["f", "m"], 6))
    with sklearn.config_context(enable_metadata_routing=True):
        design = CompleteRandomization(random_state=0).set_fit_request(strata=True)
        pipe = make_pipeline(StandardScaler(), design)
        assert _evenly_spread(pipe.fit(X, strata=sex)[-1].labels_, sex, [6, 6])
        A = sample_assignments(pipe, X, 5, fit_params={"strata": sex}, random_state=0)
        assert all(_evenly_spread(a, sex, [6, 6]) for a in A)
        search = DesignSearchCV(
            pipe, {"completerandomization__n_groups": [2]}, n_draws=3
        ).fit(X, strata=sex)
        assert _evenly_spread(search.best_estimator_[-1].labels_, sex, [6, 6])
