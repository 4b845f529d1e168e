"""Expected logistic weights by saddle-point quadrature, against oracles.

The oracles integrate the logistic density ``p (1 - p)`` against the prior
with :func:`scipy.integrate.quad` (a uniform part integrated in closed form
through the logistic function), or use the exact tail expansion where the
weight is far below a double's resolution of 1.
"""

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

from skassign.metrics._glm_expected import log_expected_logistic_weights
from skassign.metrics._glm_model import GLMModel


def _density(t):
    return expit(t) * expit(-t)


def _uniform_part(a, h):
    """E p(1-p) at ``a + U``, ``U ~ U[-h, h]`` (the logistic cdf's increment)."""
    if h == 0:
        return _density(a)
    return (expit(a + h) - expit(a - h)) / (2 * h)


def _quad(fn, dist, *, centre):
    lo, hi = dist.ppf(1e-14), dist.ppf(1 - 1e-14)
    points = [centre] if lo < centre < hi else None
    value, _ = integrate.quad(
        lambda m: fn(m) * dist.pdf(m),
        lo,
        hi,
        points=points,
        limit=500,
        epsabs=0,
        epsrel=1e-12,
    )
    return value


@pytest.mark.parametrize(
    "mu", [stats.norm(0, 1), stats.norm(5, 1), stats.norm(-3, 4), stats.laplace(2, 3)]
)
@pytest.mark.parametrize("x", [0.0, 1.0, -4.0, 10.0])
def test_one_covariate_matches_quadrature(mu, x):
    prior = [mu, mu, stats.uniform(-2, 4)]
    got = log_expected_logistic_weights(prior, np.array([[x]]), 2)
    expected = np.log(_quad(lambda m: _uniform_part(m, 2 * abs(x)), mu, centre=0.0))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)


def test_two_covariates_match_double_quadrature():
    X = np.array([[10.3, 4.1], [7.9, 6.6]])
    prior = [
        stats.norm(1, 2),
        stats.norm(2, np.sqrt(5)),
        stats.uniform(-2, 4),
        stats.uniform(0, 5),
    ]
    got = log_expected_logistic_weights(prior, X, 2)
    for i, (x1, x2) in enumerate(X):
        for arm in range(2):
            mu = prior[arm]
            value, _ = integrate.dblquad(
                lambda b2, m, x1=x1, x2=x2, mu=mu: (
                    _uniform_part(m + b2 * x2, 2 * x1) * mu.pdf(m) / 5.0
                ),
                mu.mean() - 12 * mu.std(),
                mu.mean() + 12 * mu.std(),
                0,
                5,
                epsabs=1e-14,
                epsrel=1e-11,
            )
            assert got[i, arm] == pytest.approx(np.log(value), abs=1e-9)


@pytest.mark.parametrize("centre", [60.0, -300.0])
def test_weights_far_below_a_double_stay_exact(centre):
    """Far from 0, p(1-p) = exp(-|eta|) (1 + O(exp(-|eta|))): the MGF."""
    sd, x = 0.5, 3.0
    prior = [stats.norm(centre, sd), stats.norm(centre, sd), stats.uniform(-1, 2)]
    got = log_expected_logistic_weights(prior, np.array([[x]]), 2)
    t = -np.sign(centre)
    # log E exp(t eta) for eta = mu + x beta, beta ~ U[-1, 1]
    expected = t * centre + 0.5 * (t * sd) ** 2 + np.log(np.sinh(x) / x)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_papers_wide_prior_within_monte_carlo_band():
    """The paper's second prior (Laplace and U[-250, 250]) against 400 000 draws."""
    x = np.array([[10.4, 4.2]])
    prior = [
        stats.norm(1, np.sqrt(4000)),
        stats.norm(2, np.sqrt(500)),
        stats.laplace(0, 100),
        stats.uniform(-250, 500),
    ]
    got = np.exp(log_expected_logistic_weights(prior, x, 2))
    rng = np.random.default_rng(3)
    n = 400_000
    beta = np.column_stack([d.rvs(size=n, random_state=rng) for d in prior[2:]])
    w = _density(prior[1].rvs(size=n, random_state=rng) + beta @ x[0])
    se = w.std(ddof=1) / np.sqrt(n)
    assert abs(w.mean() - got[0, 1]) <= 3 * se


def test_other_priors_are_left_to_monte_carlo():
    prior = [stats.norm(0, 1), stats.norm(0, 1), stats.t(4)]
    assert log_expected_logistic_weights(prior, np.ones((3, 1)), 2) is None


def test_model_uses_quadrature_for_variant_one_only():
    X = np.random.default_rng(0).normal(size=(12, 2))
    prior = {
        "mu1": stats.norm(0, 1),
        "mu2": stats.norm(1, 1),
        "beta1": stats.uniform(-1, 2),
        "beta2": stats.laplace(0, 0.3),
    }
    one = GLMModel(X, 2, family="logistic", prior=prior, n_prior_samples=10)
    assert one.method == "quadrature" and one.logw.shape == (1, 12, 2)
    again = GLMModel(X, 2, family="logistic", prior=prior, n_prior_samples=500)
    np.testing.assert_array_equal(one.logw, again.logw)
    two = GLMModel(X, 2, family="logistic", variant=2, prior=prior, n_prior_samples=10)
    assert two.method == "monte_carlo" and two.logw.shape == (10, 12, 2)


def test_failed_quadrature_warns_and_falls_back(monkeypatch):
    from skassign.metrics import _glm_expected

    monkeypatch.setattr(
        _glm_expected._Sum, "log_ratio", lambda self, k, s: np.full(s.shape, np.nan)
    )
    X = np.random.default_rng(1).normal(size=(6, 1))
    prior = {"mu1": stats.norm(0, 1), "mu2": stats.norm(0, 1), "beta1": stats.norm()}
    with pytest.warns(UserWarning, match="quadrature .* failed"):
        model = GLMModel(X, 2, family="logistic", prior=prior, n_prior_samples=50)
    assert model.method == "monte_carlo"
