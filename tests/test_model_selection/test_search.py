"""FullSample and grid searches over designs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import CompleteRandomization, Rerandomization
from skassign.metrics import (
    make_balance_scorer,
    make_randomness_scorer,
    neg_mahalanobis_scorer,
    neg_max_abs_smd_scorer,
)
from skassign.model_selection import FullSample
from skassign.utils._param_validation import InvalidParameterError


def test_full_sample_yields_identical_train_and_test():
    X = np.zeros((10, 2))
    splits = list(FullSample().split(X))
    assert len(splits) == 1 == FullSample().get_n_splits()
    train, test = splits[0]
    assert np.array_equal(train, np.arange(10)) and np.array_equal(test, train)
    assert train is not test


def test_full_sample_subsamples():
    X = pd.DataFrame({"a": np.arange(20.0)})
    cv = FullSample(n_repeats=4, subsample=0.75, random_state=0)
    splits = list(cv.split(X))
    assert len(splits) == cv.get_n_splits() == 4
    for train, test in splits:
        assert np.array_equal(train, test)
        assert train.size == 15
        assert np.array_equal(np.unique(train), train)  # sorted, no repeats
        assert train.min() >= 0 and train.max() < 20
    assert len({tuple(train) for train, _ in splits}) > 1
    again = list(cv.split(X))
    for (a, _), (b, _) in zip(splits, again, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_repeats": 0}, "'n_repeats' parameter of FullSample"),
        ({"n_repeats": 1.5}, "'n_repeats' parameter of FullSample"),
        ({"subsample": 0.0}, "'subsample' parameter of FullSample"),
        ({"subsample": 1.2}, "'subsample' parameter of FullSample"),
        ({"random_state": "seed"}, "'random_state' parameter of FullSample"),
    ],
)
def test_full_sample_invalid_parameters(params, match):
    cv = FullSample(**params)
    with pytest.raises(InvalidParameterError, match=match):
        cv.get_n_splits()
    with pytest.raises(InvalidParameterError, match=match):
        list(cv.split(np.zeros((5, 1))))


def test_full_sample_that_keeps_no_unit():
    with pytest.raises(ValueError, match="keeps no unit; increase subsample"):
        list(FullSample(subsample=0.01).split(np.zeros((10, 1))))


def test_repr():
    assert repr(FullSample(3, subsample=0.5, random_state=1)) == (
        "FullSample(n_repeats=3, random_state=1, subsample=0.5)"
    )


@pytest.fixture
def X_missing():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(24, 3)), columns=["weight", "age", "dose"])
    X.iloc[[1, 5], 0] = np.nan
    return X


def test_grid_search_with_the_design_score(X_missing):
    pipe = make_pipeline(
        SimpleImputer(), StandardScaler(), Rerandomization(random_state=0)
    )
    search = GridSearchCV(
        pipe,
        {"rerandomization__acceptance_prob": [0.001, 0.5, 1.0]},
        cv=FullSample(),
        error_score="raise",
    ).fit(X_missing)
    assert search.best_params_ == {"rerandomization__acceptance_prob": 0.001}
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    labels = search.best_estimator_[-1].labels_
    assert labels.shape == (24,) and np.bincount(labels).tolist() == [12, 12]
    # The refit on all units reproduces the scored assignment.
    assert search.best_score_ == pytest.approx(search.best_estimator_.score(X_missing))


def test_grid_search_with_scorer_callables_and_subsamples(X_missing):
    pipe = make_pipeline(SimpleImputer(), StandardScaler(), Rerandomization())
    scoring = {
        "smd": neg_max_abs_smd_scorer,
        "mahalanobis": neg_mahalanobis_scorer,
        "ks_mean": make_balance_scorer("ks", aggregate="mean"),
        "randomness": make_randomness_scorer(4, random_state=0),
    }
    search = GridSearchCV(
        pipe,
        {"rerandomization__acceptance_prob": [0.01, 1.0]},
        scoring=scoring,
        refit="smd",
        cv=FullSample(n_repeats=3, subsample=0.8, random_state=0),
        error_score="raise",
    ).fit(X_missing)
    results = search.cv_results_
    for name in scoring:
        assert np.all(np.isfinite(results[f"mean_test_{name}"]))
        assert np.all(np.isfinite(results[f"std_test_{name}"]))
        assert np.all(results[f"std_test_{name}"] >= 0)
    # Tighter rerandomisation: better balance, less randomness.
    smd, randomness = results["mean_test_smd"], results["mean_test_randomness"]
    assert smd[0] > smd[1] and randomness[0] < randomness[1]
    assert search.best_params_ == {"rerandomization__acceptance_prob": 0.01}
    assert search.n_splits_ == 3
    assert search.best_estimator_[-1].labels_.shape == (24,)


def test_grid_search_over_the_number_of_groups(X_missing):
    pipe = make_pipeline(SimpleImputer(), CompleteRandomization(random_state=0))
    search = GridSearchCV(
        pipe,
        {"completerandomization__n_groups": [2, 3, 4]},
        scoring=neg_max_abs_smd_scorer,
        cv=FullSample(),
        error_score="raise",
    ).fit(X_missing)
    n_groups = search.best_params_["completerandomization__n_groups"]
    assert np.unique(search.best_estimator_[-1].labels_).size == n_groups


def test_ordinary_cross_validation_fails_loudly(X_missing):
    pipe = make_pipeline(SimpleImputer(), CompleteRandomization(random_state=0))
    search = GridSearchCV(
        pipe,
        {"completerandomization__n_groups": [2, 3]},
        cv=KFold(3),
        error_score="raise",
    )
    with pytest.raises(ValueError, match="only accepts the units the design was fit"):
        search.fit(X_missing)
    search.set_params(scoring=neg_max_abs_smd_scorer)
    with pytest.raises(ValueError, match=r"cv=FullSample\(\)"):
        search.fit(X_missing)


# ---------------------------------------------------------------------------
# DesignSearchCV


def test_design_search_defaults_work_where_gridsearch_fails():
    import warnings as _warnings

    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    from skassign.designs import Rerandomization
    from skassign.model_selection import DesignSearchCV

    X = np.random.default_rng(0).normal(size=(20, 2))
    grid = {"acceptance_prob": [1.0, 0.05]}
    # The plain GridSearchCV with its default cv turns every score into NaN.
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        plain = GridSearchCV(Rerandomization(random_state=0), grid).fit(X)
    assert np.isnan(plain.cv_results_["mean_test_score"]).all()
    search = DesignSearchCV(Rerandomization(random_state=0), grid).fit(X)
    table = search.tradeoff_
    assert table.columns.tolist() == [
        "acceptance_prob", "imbalance", "randomness", "pareto", "chosen"
    ]  # fmt: skip
    assert np.isfinite(table[["imbalance", "randomness"]].to_numpy()).all()
    assert table["chosen"].sum() == 1
    assert table.loc[table["chosen"], "acceptance_prob"].item() == 0.05
    # Parameters are left as given, so clones are equal.
    assert search.get_params()["cv"] is None and search.get_params()["scoring"] is None
    assert clone(search).get_params()["refit"] is True
    # A scorer failure raises with a message naming the fix.
    from sklearn.model_selection import KFold

    with pytest.raises(ValueError, match="DesignSearchCV"):
        DesignSearchCV(Rerandomization(), grid, cv=KFold(2)).fit(X)


def test_design_search_min_randomness_and_fit_params():
    from skassign.designs import CompleteRandomization, Rerandomization
    from skassign.model_selection import DesignSearchCV

    X = np.random.default_rng(1).normal(size=(16, 1))
    grid = {"threshold": [1e-4, 10.0]}
    # min_randomness=0 chooses the best balance whatever its randomness.
    greedy = DesignSearchCV(
        Rerandomization(random_state=0, max_draws=20_000), grid, min_randomness=0
    ).fit(X)
    assert greedy.best_params_ == {"threshold": 1e-4}
    # Fixed units reach every fit, the randomness refits included.
    fixed = np.r_[np.repeat([0, 1], 7), -1, -1]
    search = DesignSearchCV(CompleteRandomization(), {"n_groups": [2]}).fit(
        X, fixed_labels=fixed
    )
    assert search.best_estimator_.labels_[:14].tolist() == fixed[:14].tolist()
    assert search.tradeoff_["randomness"].item() < 0.2


def test_plain_gridsearch_failure_names_the_fix():
    import warnings as _warnings

    from sklearn.model_selection import GridSearchCV

    from skassign.designs import Rerandomization

    X = np.random.default_rng(0).normal(size=(20, 2))
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        GridSearchCV(Rerandomization(), {"acceptance_prob": [0.1]}, cv=2).fit(X)
    messages = " ".join(str(w.message) for w in caught)
    assert "skassign.model_selection.DesignSearchCV" in messages
