"""The Experiment splitter."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    PredefinedSplit,
    cross_val_predict,
    cross_validate,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import BlockRandomization, CompleteRandomization, Rerandomization
from skassign.model_selection import Experiment
from skassign.utils import set_random_states
from skassign.utils._param_validation import InvalidParameterError


@pytest.fixture
def outcome_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    return X, rng


def _check_splits(cv, X, y=None):
    """The invariants of scikit-learn's check_valid_split / check_cv_coverage."""
    splits = list(cv.split(X, y))
    n = len(X)
    assert len(splits) == cv.get_n_splits(X, y)
    tested = np.zeros(n, dtype=int)
    for train, test in splits:
        assert train.dtype.kind == "i" and test.dtype.kind == "i"
        assert np.intersect1d(train, test).size == 0
        assert np.array_equal(np.union1d(train, test), np.arange(n))
        assert np.array_equal(np.sort(test), test)
        tested[test] += 1
    assert np.all(tested == 1)
    return splits


@pytest.mark.parametrize(
    "design",
    [
        CompleteRandomization(),
        Rerandomization(n_groups=3, max_draws=2000),
        make_pipeline(StandardScaler(), BlockRandomization(n_groups=4)),
    ],
    ids=["complete", "rerandomization-3", "pipeline-block-4"],
)
def test_splits_are_valid_and_reproducible(design, outcome_data):
    X, _ = outcome_data
    experiment = Experiment(design, random_state=3)
    splits = _check_splits(experiment, X)
    again = list(experiment.split(X))
    cloned = list(Experiment(design, random_state=3).split(X))
    for (tr_a, te_a), (tr_b, te_b), (tr_c, te_c) in zip(
        splits, again, cloned, strict=True
    ):
        assert np.array_equal(tr_a, tr_b) and np.array_equal(te_a, te_b)
        assert np.array_equal(tr_a, tr_c) and np.array_equal(te_a, te_c)
    other = list(Experiment(design, random_state=4).split(X))
    assert any(
        not np.array_equal(a[1], b[1]) for a, b in zip(splits, other, strict=True)
    )


def test_arms_and_assignment_agree_with_the_reseeded_design(outcome_data):
    X, _ = outcome_data
    design = Rerandomization(n_groups=3, max_draws=5000)
    experiment = Experiment(design, random_state=11)
    labels = experiment.assignment(X)
    expected = set_random_states(clone(design), 11).fit(X).labels_
    assert np.array_equal(labels, expected)
    arms = experiment.arms(X)
    assert len(arms) == experiment.get_n_splits() == 3
    for g, arm in enumerate(arms):
        assert np.array_equal(arm, np.flatnonzero(labels == g))
    # The splits equal PredefinedSplit on the labels.
    predefined = list(PredefinedSplit(labels).split(X))
    for (tr, te), (tr_p, te_p) in zip(experiment.split(X), predefined, strict=True):
        assert np.array_equal(tr, tr_p) and np.array_equal(te, te_p)
    assert design.get_params()["random_state"] is None  # never fitted in place
    assert not hasattr(design, "labels_")


def test_n_groups_is_read_from_nested_pipelines():
    inner = Pipeline([("scale", StandardScaler()), ("design", Rerandomization(4))])
    outer = Pipeline([("impute", SimpleImputer()), ("inner", inner)])
    assert Experiment(outer).get_n_splits() == 4
    X = np.random.default_rng(0).normal(size=(16, 2))
    X[3, 1] = np.nan
    assert [arm.size for arm in Experiment(outer).arms(X)] == [4, 4, 4, 4]


def test_fit_params_reach_the_design(outcome_data):
    X, _ = outcome_data
    fixed = np.full(30, -1)
    fixed[:4] = [1, 1, 0, 0]
    experiment = Experiment(
        CompleteRandomization(), random_state=0, fit_params={"fixed_labels": fixed}
    )
    labels = experiment.assignment(X)
    assert labels[:4].tolist() == [1, 1, 0, 0]
    strata = np.repeat(["a", "b", "c"], 10)
    pipe = make_pipeline(StandardScaler(), BlockRandomization())
    experiment = Experiment(
        pipe, fit_params={"blockrandomization__strata": strata}, random_state=0
    )
    labels = experiment.assignment(X)
    for value in "abc":
        assert np.bincount(labels[strata == value]).tolist() == [5, 5]


def test_t_learner_with_cross_val_predict(outcome_data):
    X, rng = outcome_data
    experiment = Experiment(
        make_pipeline(StandardScaler(), Rerandomization()), random_state=0
    )
    treated = experiment.assignment(X) == 1
    tau = 2.5
    y = X @ [1.0, -2.0, 0.5] + tau * treated
    predicted = cross_val_predict(LinearRegression(), X, y, cv=experiment)
    # Each unit is predicted by the other arm's model: its missing potential
    # outcome. Without noise and with linear outcomes the effect is exact.
    effect = np.where(treated, y - predicted, predicted - y).mean()
    assert effect == pytest.approx(tau)
    noisy = y + rng.normal(scale=0.3, size=30)
    predicted = cross_val_predict(LinearRegression(), X, noisy, cv=experiment)
    effect = np.where(treated, noisy - predicted, predicted - noisy).mean()
    assert abs(effect - tau) < 0.5


def test_cross_validate_and_grid_search(outcome_data):
    X, rng = outcome_data
    y = X @ [1.0, 0.0, 0.0] + rng.normal(scale=0.1, size=30)
    experiment = Experiment(Rerandomization(n_groups=3), random_state=0)
    result = cross_validate(
        LinearRegression(), X, y, cv=experiment, return_indices=True
    )
    assert len(result["test_score"]) == 3
    assert np.all(result["test_score"] > 0.9)
    arms = experiment.arms(X)
    for test, arm in zip(result["indices"]["test"], arms, strict=True):
        assert np.array_equal(test, arm)
    search = GridSearchCV(
        Ridge(), {"alpha": [0.01, 100.0]}, cv=experiment, error_score="raise"
    ).fit(X, y)
    assert search.best_params_ == {"alpha": 0.01}
    assert search.n_splits_ == 3


def test_pandas_input(outcome_data):
    X, _ = outcome_data
    frame = pd.DataFrame(X, columns=["a", "b", "c"], index=np.arange(100, 130))
    experiment = Experiment(CompleteRandomization(), random_state=0)
    assert np.array_equal(experiment.assignment(frame), experiment.assignment(X))
    _check_splits(experiment, frame, pd.Series(np.arange(30.0)))


def test_groups_are_ignored_with_a_warning(outcome_data):
    X, _ = outcome_data
    experiment = Experiment(CompleteRandomization())
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        list(experiment.split(X, groups=np.arange(30)))


def test_repr():
    text = repr(Experiment(CompleteRandomization(), random_state=2))
    assert text.replace("\n", "").replace("      ", " ") == (
        "Experiment(design=CompleteRandomization(), fit_params=None, labels=None, "
        "random_state=2)"
    )


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"random_state": None}, InvalidParameterError, "'random_state' parameter"),
        (
            {"random_state": np.random.RandomState(0)},
            InvalidParameterError,
            "'random_state' parameter",
        ),
        ({"random_state": -1}, InvalidParameterError, "'random_state' parameter"),
        ({"random_state": True}, ValueError, "needs an integer random_state"),
        ({"fit_params": [1]}, InvalidParameterError, "'fit_params' parameter"),
    ],
)
def test_invalid_parameters(params, error, match, outcome_data):
    X, _ = outcome_data
    experiment = Experiment(CompleteRandomization(), **params)
    with pytest.raises(error, match=match):
        experiment.get_n_splits()
    with pytest.raises(error, match=match):
        list(experiment.split(X))


def test_design_must_be_a_design(outcome_data):
    X, _ = outcome_data
    for estimator in (StandardScaler(), make_pipeline(Rerandomization(), Ridge())):
        with pytest.raises(ValueError, match="Put the design last"):
            Experiment(estimator).get_n_splits()
    with pytest.raises(InvalidParameterError, match="'design' parameter"):
        Experiment("rerandomization").get_n_splits()


def test_mismatched_outcome_length(outcome_data):
    X, _ = outcome_data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        list(Experiment(CompleteRandomization()).split(X, np.arange(10)))


def test_experiment_from_an_existing_assignment():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 2))
    labels = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 0])
    experiment = Experiment.from_assignment(labels)
    assert experiment.get_n_splits() == 2
    assert experiment.assignment(X).tolist() == labels.tolist()
    tests = [test.tolist() for _, test in experiment.split(X)]
    assert tests == [np.flatnonzero(labels == g).tolist() for g in (0, 1)]
    y = X[:, 0] + 2.0 * labels
    assert cross_val_predict(LinearRegression(), X, y, cv=experiment).shape == (10,)
    with pytest.raises(ValueError, match="10"):
        experiment.assignment(X[:6])
    with pytest.raises(ValueError, match="not both"):
        Experiment(CompleteRandomization(), labels=labels).get_n_splits()
    with pytest.raises(ValueError, match="from_assignment"):
        Experiment().get_n_splits()
