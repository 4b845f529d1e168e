"""GLMOptimal: exhaustive optima, incremental evaluation, constraints, sizes."""

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats

from skassign.designs import GLMOptimal
from skassign.designs._glm_problem import GLMProblem
from skassign.exceptions import InfeasibleDesignError
from skassign.metrics import glm_criterion, mahalanobis_imbalance
from skassign.metrics._glm_model import GLMModel
from skassign.utils._testing import all_assignments

TABLE3_PRIORS = {
    "normal": {
        "mu1": stats.norm(0.5, 1),
        "mu2": stats.norm(0.75, np.sqrt(2)),
        "beta1": stats.norm(1, np.sqrt(1.5)),
    },
    "uniform": {
        "mu1": stats.norm(0, 100),
        "mu2": stats.norm(10, np.sqrt(500)),
        "beta1": stats.uniform(-250, 500),
    },
}
PRIOR_1 = {
    "mu1": stats.norm(1, 2),
    "mu2": stats.norm(2, np.sqrt(5)),
    "beta1": stats.uniform(-2, 4),
    "beta2": stats.uniform(0, 5),
}
PRIOR_2 = {
    "mu1": stats.norm(1, np.sqrt(4000)),
    "mu2": stats.norm(2, np.sqrt(500)),
    "beta1": stats.laplace(0, 100),
    "beta2": stats.uniform(-250, 500),
}


def _bvn(n, seed):
    cov = [[4.0, 0.5 * np.sqrt(20.0)], [0.5 * np.sqrt(20.0), 5.0]]
    return np.random.default_rng(seed).multivariate_normal([10.0, 5.0], cov, size=n)


def _exhaustive(X, prior, criterion, free, **kw):
    """Best log criterion over all allocations (every non-trivial one if free)."""
    n = X.shape[0]
    if free:
        cands = [
            np.array(c) for c in itertools.product([0, 1], repeat=n) if 0 < sum(c) < n
        ]
    else:
        cands = all_assignments([n // 2, n - n // 2], np.full(n, -1))
    values = [
        glm_criterion(X, c, prior=prior, criterion=criterion, **kw) for c in cands
    ]
    return min(values)


@pytest.mark.parametrize("prior", list(TABLE3_PRIORS), ids=list(TABLE3_PRIORS))
@pytest.mark.parametrize("criterion", ["D", "A"])
@pytest.mark.parametrize("free", [True, False], ids=["free", "equal"])
def test_finds_exhaustive_optimum(prior, criterion, free):
    X = np.random.default_rng(1).exponential(2.5, size=(10, 1))
    best = _exhaustive(X, TABLE3_PRIORS[prior], criterion, free)
    design = GLMOptimal(
        prior=TABLE3_PRIORS[prior],
        criterion=criterion,
        group_sizes="free" if free else None,
        random_state=0,
    ).fit(X)
    assert design.objective_ == pytest.approx(best, rel=1e-9, abs=1e-9)
    if not free:
        assert sorted(np.bincount(design.labels_).tolist()) == [5, 5]


def _quiet_model(X, family, criterion, variant, prior, n_draws, seed):
    """Two-arm GLMModel, silencing the infinite-expectation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return GLMModel(
            X,
            2,
            family=family,
            criterion=criterion,
            variant=variant,
            prior=prior,
            n_prior_samples=n_draws,
            random_state=seed,
        )


@pytest.mark.parametrize("family", ["poisson", "logistic", "gaussian"])
@pytest.mark.parametrize("variant", [1, 2, 3])
@pytest.mark.parametrize("criterion", ["D", "A"])
@pytest.mark.parametrize("prior", [PRIOR_1, PRIOR_2], ids=["prior1", "prior2"])
def test_incremental_delta_matches_rebuild(family, variant, criterion, prior):
    X = _bvn(20, 2)
    model = _quiet_model(X, family, criterion, variant, prior, 30, 1)
    rng = np.random.default_rng(3)
    problem = GLMProblem(model, np.tile([0, 1], 10))
    for _ in range(25):
        i, j = rng.choice(20, 2, replace=False)
        labels = problem.labels
        if labels[i] == labels[j]:
            move = ([i], [1 - labels[i]])
        else:
            move = ([i, j], [labels[j], labels[i]])
        predicted = problem.value + problem.delta(move)
        problem.apply(move)
        exact = model.log_criterion(problem.labels)
        assert predicted == pytest.approx(exact, rel=1e-7, abs=1e-7)
        assert problem.value == pytest.approx(exact, rel=1e-7, abs=1e-7)
        assert problem.imbalance() == pytest.approx(
            mahalanobis_imbalance(X, problem.labels, covariance="separate"),
            rel=1e-8,
        )


@pytest.mark.parametrize("family", ["poisson", "logistic"])
@pytest.mark.parametrize("variant", [2, 3])
@pytest.mark.parametrize("criterion", ["D", "A"])
@pytest.mark.parametrize("prior", [PRIOR_1, PRIOR_2], ids=["prior1", "prior2"])
def test_early_rejection_keeps_every_decision(family, variant, criterion, prior):
    """A move evaluated against a threshold is accepted exactly when its full
    evaluation is below it, with the full value; otherwise the returned lower
    bound is at least the threshold and at most the full value."""
    from skassign.designs import _glm_kernels as kern

    X = _bvn(24, 5)
    model = _quiet_model(X, family, criterion, variant, prior, 40, 2)
    problem = GLMProblem(model, np.tile([0, 1], 12))
    N = problem.W.shape[0]
    order = np.argsort(-kern.draw_values(problem.ld, problem.lt, problem.crit))
    scratch = kern.make_scratch(model.n_params)
    rng = np.random.default_rng(4)
    n_early = 0
    for _ in range(60):
        i, j = rng.choice(24, 2, replace=False)
        labels = problem.labels
        if labels[i] == labels[j]:
            continue
        args = (*problem._move(([i, j], [labels[j], labels[i]])), *problem.draws)
        crit = (problem.crit, problem.variant)
        full = kern.evaluate_move(
            *args, *crit, np.empty(N), scratch, np.arange(N), np.inf
        )
        for stop in (problem.value, full - 1e-9, full + 1e-9, full - 1.0):
            values = np.full(N, np.nan)  # draws left unevaluated stay NaN
            got = kern.evaluate_move(*args, *crit, values, scratch, order, stop)
            if full < stop:
                assert got == full
            else:
                assert stop <= got <= full + 1e-9 * (1 + abs(full))
                n_early += bool(np.isnan(values).any())
    assert n_early > 0  # the bound does stop some evaluations early


def test_fitted_attributes_and_reproducibility():
    X = _bvn(40, 4)
    a = GLMOptimal(prior=PRIOR_1, random_state=5).fit(X)
    b = GLMOptimal(prior=PRIOR_1, random_state=5).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert np.bincount(a.labels_).tolist() == [20, 20]
    assert a.objective_ == pytest.approx(glm_criterion(X, a.labels_, prior=PRIOR_1))
    assert a.prior_method_ == "closed_form"
    assert a.efficiency_vs_random_ > 1
    assert a.imbalance_ == pytest.approx(
        mahalanobis_imbalance(X, a.labels_, covariance="separate")
    )
    assert a.score(X) == pytest.approx(-a.objective_)


def test_imbalance_cap_and_quantile():
    X = _bvn(40, 6)
    design = GLMOptimal(prior=PRIOR_1, imbalance_quantile=0.1, random_state=0).fit(X)
    assert design.max_imbalance_ == pytest.approx(0.21072, abs=1e-5)
    assert design.imbalance_ <= design.max_imbalance_
    free = GLMOptimal(prior=PRIOR_1, random_state=0).fit(X)
    assert free.objective_ <= design.objective_ + 1e-9
    capped = GLMOptimal(prior=PRIOR_1, max_imbalance=0.5, random_state=0).fit(X)
    assert capped.imbalance_ <= 0.5
    with pytest.raises(ValueError, match="not both"):
        GLMOptimal(max_imbalance=1.0, imbalance_quantile=0.1).fit(X)


def test_infeasible_cap_raises():
    X = np.array([[0.0], [0.0], [0.0], [10.0], [11.0], [12.0]])
    with pytest.raises(InfeasibleDesignError, match="max_imbalance"):
        GLMOptimal(max_imbalance=1e-12, group_sizes=[1, 5], random_state=0).fit(X)


def test_fixed_labels_kept():
    X = _bvn(20, 7)
    fixed = np.full(20, -1)
    fixed[:4] = [1, 1, 0, 1]
    design = GLMOptimal(prior=PRIOR_1, random_state=0).fit(X, fixed_labels=fixed)
    np.testing.assert_array_equal(design.labels_[:4], fixed[:4])
    assert np.bincount(design.labels_).tolist() == [10, 10]
    free = GLMOptimal(
        prior=PRIOR_1, group_sizes="free", min_group_size=3, random_state=0
    ).fit(X, fixed_labels=fixed)
    np.testing.assert_array_equal(free.labels_[:4], fixed[:4])
    assert np.bincount(free.labels_).min() >= 3


def test_free_sizes_refuse_strata_and_too_few_units():
    X = _bvn(6, 7)
    free = GLMOptimal(prior=PRIOR_1, group_sizes="free", min_group_size=4)
    with pytest.raises(ValueError, match="cannot fill 2 arms"):
        free.fit(X)
    free.set_params(min_group_size=1)
    with pytest.raises(ValueError, match="strata with group_sizes='free'"):
        free.fit(X, strata=[0, 0, 0, 1, 1, 1])
    sized = GLMOptimal(prior=PRIOR_1, random_state=0).fit(X, strata=[0, 0, 0, 1, 1, 1])
    assert np.bincount(sized.labels_).tolist() == [3, 3]


@pytest.mark.parametrize("variant, method", [(1, "quadrature"), (2, "monte_carlo")])
def test_three_arms_and_logistic(variant, method):
    X = _bvn(30, 8)
    prior = {f"mu{g}": stats.norm(g, 1) for g in (1, 2, 3)}
    prior.update(beta1=stats.norm(0, 0.1), beta2=stats.norm(0, 0.1))
    design = GLMOptimal(
        3,
        family="logistic",
        criterion="A",
        variant=variant,
        prior=prior,
        n_prior_samples=200,
        random_state=0,
    ).fit(X)
    assert np.bincount(design.labels_).tolist() == [10, 10, 10]
    assert design.prior_method_ == method
    assert design.efficiency_vs_random_ > 1


def test_bad_inputs():
    X = _bvn(3, 9)
    with pytest.warns(UserWarning, match="parameters"):
        design = GLMOptimal().fit(X)
    assert design.objective_ == np.inf and np.isnan(design.efficiency_vs_random_)
    with pytest.raises(ValueError, match="missing"):
        GLMOptimal(prior={"mu1": stats.norm()}).fit(_bvn(10, 9))


def test_time_limit_stops_the_search():
    X = _bvn(60, 10)
    design = GLMOptimal(
        prior=PRIOR_1, max_iter=10_000, time_limit=0.2, random_state=0
    ).fit(X)
    assert design.n_iter_ < 10_000
