"""GLM optimality criteria: independent oracles, Monte Carlo bands, extremes."""

import warnings
from decimal import Decimal, getcontext

import numpy as np
import pytest
from scipy import stats

from skassign.metrics import (
    glm_a_criterion,
    glm_criterion,
    glm_d_criterion,
    glm_efficiency,
    mahalanobis_imbalance,
)
from skassign.metrics._glm_model import GLMModel

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


def _design_matrix(X, labels, m):
    U = np.zeros((X.shape[0], m + X.shape[1]))
    U[np.arange(X.shape[0]), labels] = 1.0
    U[:, m:] = X
    return U


def _oracle_mgf(dist, t):
    """Moment generating functions written out directly (Table 2)."""
    name = dist.dist.name
    if name == "norm":
        mean, sd = dist.mean(), dist.std()
        return np.exp(t * mean + 0.5 * t**2 * sd**2)
    a, b = dist.support()
    t = np.asarray(t, dtype=float)
    return np.where(t == 0, 1.0, (np.exp(b * t) - np.exp(a * t)) / ((b - a) * t))


def _oracle_expected_poisson(X, labels, prior):
    """E I for the Poisson family, entry by entry as in eq. (3.2)."""
    m = sum(1 for k in prior if k.startswith("mu"))
    U = _design_matrix(X, labels, m)
    w = np.array(
        [
            _oracle_mgf(prior[f"mu{labels[i] + 1}"], 1.0)
            * np.prod(
                [_oracle_mgf(prior[f"beta{j + 1}"], X[i, j]) for j in range(X.shape[1])]
            )
            for i in range(X.shape[0])
        ]
    )
    return U.T @ (w[:, None] * U)


def _oracle_draws(X, labels, prior, family, n_draws, seed):
    """Information matrix of every prior draw, drawn in the documented order."""
    m = sum(1 for k in prior if k.startswith("mu"))
    rng = np.random.RandomState(seed)
    names = [f"mu{g + 1}" for g in range(m)] + [
        f"beta{j + 1}" for j in range(X.shape[1])
    ]
    theta = np.column_stack(
        [prior[k].rvs(size=n_draws, random_state=rng) for k in names]
    )
    U = _design_matrix(X, labels, m)
    eta = theta @ U.T
    if family == "poisson":
        w = np.exp(eta)
    else:
        prob = 1.0 / (1.0 + np.exp(-eta))
        w = prob * (1.0 - prob)
    return np.einsum("ki,ia,ib->kab", w, U, U)


def _dec_logdet_logtrace(logw, X, labels, m, prec=3000):
    """log|I| and log tr(I^-1) in 3000-digit decimal arithmetic."""
    getcontext().prec = prec
    n, p = X.shape
    K = m + p
    info = [[Decimal(0)] * K for _ in range(K)]
    for i in range(n):
        u = [Decimal(0)] * K
        u[labels[i]] = Decimal(1)
        for j in range(p):
            u[m + j] = Decimal(float(X[i, j]))
        w = Decimal(float(logw[i])).exp()
        for a in range(K):
            for b in range(K):
                info[a][b] += w * u[a] * u[b]
    A = [
        row[:] + [Decimal(int(a == b)) for b in range(K)] for a, row in enumerate(info)
    ]
    det = Decimal(1)
    for c in range(K):
        piv = max(range(c, K), key=lambda r: abs(A[r][c]))
        if piv != c:
            A[c], A[piv] = A[piv], A[c]
            det = -det
        det *= A[c][c]
        pv = A[c][c]
        A[c] = [v / pv for v in A[c]]
        for r in range(K):
            if r != c and A[r][c] != 0:
                f = A[r][c]
                A[r] = [a - f * b for a, b in zip(A[r], A[c], strict=True)]
    trace = sum(A[j][K + j] for j in range(K))
    return float(det.ln()), float(trace.ln())


@pytest.mark.parametrize("criterion", ["D", "A"])
def test_poisson_closed_form_matches_oracle(criterion):
    X = np.random.default_rng(0).uniform(0, 1, size=(10, 1))
    labels = np.array([0, 1] * 5)
    prior = {
        "mu1": stats.norm(0.5, 1),
        "mu2": stats.norm(0.75, np.sqrt(2)),
        "beta1": stats.uniform(-2, 4),
    }
    info = _oracle_expected_poisson(X, labels, prior)
    inv = np.linalg.inv(info)
    expected = np.linalg.det(inv) if criterion == "D" else np.trace(inv)
    got = glm_criterion(X, labels, prior=prior, criterion=criterion, log=False)
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.filterwarnings("ignore:The expected Poisson information is infinite")
@pytest.mark.parametrize("family", ["poisson", "logistic"])
@pytest.mark.parametrize("variant", [1, 2, 3])
@pytest.mark.parametrize("criterion", ["D", "A"])
def test_monte_carlo_matches_oracle_with_the_same_draws(family, variant, criterion):
    X = _bvn(12, 1) / 4.0
    labels = np.array([0, 1, 1, 0] * 3)
    prior = dict(PRIOR_1)
    prior["beta1"] = stats.logistic(0, 0.5)  # no closed form in the package
    info = _oracle_draws(X, labels, prior, family, 300, 7)
    if variant == 1:
        inv = np.linalg.inv(info.mean(axis=0))
        expected = np.linalg.det(inv) if criterion == "D" else np.trace(inv)
    else:
        per = np.array(
            [
                np.linalg.det(np.linalg.inv(info_k))
                if criterion == "D"
                else np.trace(np.linalg.inv(info_k))
                for info_k in info
            ]
        )
        expected = per.mean() if variant == 2 else per.max()
    got = glm_criterion(
        X,
        labels,
        family=family,
        criterion=criterion,
        variant=variant,
        prior=prior,
        n_prior_samples=300,
        random_state=7,
        log=False,
    )
    assert got == pytest.approx(expected, rel=1e-8)


def test_gaussian_family_is_the_linear_model():
    X = np.arange(8.0).reshape(-1, 1) ** 1.5
    labels = [0, 1, 1, 0, 1, 0, 0, 1]
    U = _design_matrix(X, np.array(labels), 2)
    inv = np.linalg.inv(U.T @ U)
    assert glm_d_criterion(X, labels, family="gaussian", log=False) == pytest.approx(
        np.linalg.det(inv), rel=1e-12
    )
    assert glm_a_criterion(X, labels, family="gaussian", log=False) == pytest.approx(
        np.trace(inv), rel=1e-12
    )


def test_closed_form_expectation_within_monte_carlo_band():
    """E exp(mu + x beta) by the MGFs against 200 000 prior draws (3 SE)."""
    X = _bvn(3, 2)
    model = GLMModel(X, 2, prior=PRIOR_1)
    assert model.method == "closed_form"
    rng = np.random.default_rng(11)
    n = 200_000
    mu = PRIOR_1["mu2"].rvs(size=n, random_state=rng)
    b1 = PRIOR_1["beta1"].rvs(size=n, random_state=rng)
    b2 = PRIOR_1["beta2"].rvs(size=n, random_state=rng)
    for i in range(3):
        # scale by exp(-max) to keep the sample mean in range
        log_terms = mu + b1 * X[i, 0] + b2 * X[i, 1]
        top = log_terms.max()
        w = np.exp(log_terms - top)
        se = w.std(ddof=1) / np.sqrt(n)
        expected = np.exp(model.logw[0, i, 1] - top)
        assert abs(w.mean() - expected) <= 3 * se


def test_laplace_without_mgf_warns_and_uses_monte_carlo():
    X = _bvn(20, 3)
    labels = np.tile([0, 1], 10)
    with pytest.warns(UserWarning, match="moment generating function"):
        model = GLMModel(X, 2, prior=PRIOR_2, n_prior_samples=200, random_state=0)
    assert model.method == "monte_carlo"
    assert np.isfinite(model.log_criterion(labels))


@pytest.mark.parametrize("family", ["poisson", "logistic", "gaussian"])
@pytest.mark.parametrize("variant", [1, 2, 3])
@pytest.mark.parametrize("criterion", ["D", "A"])
@pytest.mark.parametrize("prior", [PRIOR_1, PRIOR_2], ids=["prior1", "prior2"])
def test_criteria_finite_at_the_papers_extremes(family, variant, criterion, prior):
    X = _bvn(50, 4)
    labels = np.tile([0, 1], 25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        value = glm_criterion(
            X,
            labels,
            family=family,
            criterion=criterion,
            variant=variant,
            prior=prior,
            n_prior_samples=50,
        )
    assert np.isfinite(value)


def test_graded_evaluation_matches_high_precision_oracle():
    """Weights exp(250 x) at x near 10 against 3000-digit arithmetic."""
    X = _bvn(12, 5)
    labels = np.array([0, 1] * 6)
    logw = X @ np.array([250.0, -200.0]) + np.where(labels == 0, 0.0, 50.0)
    model = GLMModel(X, 2, family="gaussian")
    model.logw = np.repeat(logw[:, None], 2, axis=1)[None]
    model.logw[0, np.arange(12), 1 - labels] = -np.inf
    ld, lt = model.per_draw(labels)
    ref_ld, ref_lt = _dec_logdet_logtrace(logw, X, labels, 2)
    assert ld[0] == pytest.approx(ref_ld, rel=1e-10)
    assert lt[0] == pytest.approx(ref_lt, rel=1e-9)
    assert abs(ld[0]) > 1000  # far beyond what a double can hold as exp()


def test_jensen_ordering_with_common_draws():
    X = _bvn(16, 6) / 3.0
    labels = np.tile([0, 1], 8)
    kw = dict(family="logistic", prior=PRIOR_1, n_prior_samples=200, random_state=3)
    for crit in ("D", "A"):
        v1 = glm_criterion(X, labels, criterion=crit, variant=1, **kw)
        v2 = glm_criterion(X, labels, criterion=crit, variant=2, **kw)
        v3 = glm_criterion(X, labels, criterion=crit, variant=3, **kw)
        assert v1 <= v2 <= v3


def test_efficiency_is_a_ratio_of_criteria():
    X = np.arange(10.0).reshape(-1, 1)
    a, b = np.tile([0, 1], 5), np.repeat([0, 1], 5)
    eff = glm_efficiency(X, a, b, family="gaussian")
    ratio = glm_d_criterion(X, b, family="gaussian", log=False) / glm_d_criterion(
        X, a, family="gaussian", log=False
    )
    assert eff == pytest.approx(ratio)
    assert eff > 1


def test_singular_allocation_is_infinite():
    X = np.ones((6, 1))  # the covariate is the sum of the arm indicators
    assert glm_criterion(X, [0, 1] * 3, family="gaussian") == np.inf


def test_prior_names_are_checked():
    X = np.arange(6.0).reshape(-1, 1)
    with pytest.raises(ValueError, match="missing"):
        glm_criterion(X, [0, 1] * 3, prior={"mu1": stats.norm(), "mu2": stats.norm()})
    with pytest.raises(TypeError, match="frozen"):
        glm_criterion(
            X,
            [0, 1] * 3,
            prior={"mu1": stats.norm(), "mu2": stats.norm(), "beta1": 3.0},
        )


def test_three_arms():
    X = _bvn(15, 8)
    labels = np.tile([0, 1, 2], 5)
    prior = {f"mu{g}": stats.norm(0, 1) for g in (1, 2, 3)}
    prior.update(beta1=stats.norm(0, 0.1), beta2=stats.norm(0, 0.1))
    info = _oracle_expected_poisson(X, labels, prior)
    assert glm_criterion(X, labels, prior=prior) == pytest.approx(
        -np.linalg.slogdet(info)[1], rel=1e-10
    )


def test_mahalanobis_separate_covariances():
    X = _bvn(30, 9)
    labels = np.repeat([0, 1], [10, 20])
    a, b = X[labels == 0], X[labels == 1]
    diff = a.mean(0) - b.mean(0)
    V = np.cov(a.T, ddof=0) / 10 + np.cov(b.T, ddof=0) / 20
    expected = diff @ np.linalg.solve(V, diff)
    got = mahalanobis_imbalance(X, labels, covariance="separate")
    assert got == pytest.approx(expected, rel=1e-10)
    equal = np.tile([0, 1], 15)
    assert mahalanobis_imbalance(X, equal, covariance="separate") == pytest.approx(
        mahalanobis_imbalance(X, equal, covariance="within")
    )
