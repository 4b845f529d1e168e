"""The GLM of the allocation criteria: priors, weights and :class:`GLMModel`.

Unit ``i`` in arm ``l`` has linear predictor ``eta = mu_l + x_i . beta`` and
GLM weight ``w(eta)`` (Gaussian 1, Poisson ``exp(eta)``, logistic
``p (1 - p)``). :class:`GLMModel` holds the log-weights of every unit in every
arm, either the expected weights under the prior (variant 1; exact for
normal, uniform and Laplace priors: in closed form for the Poisson family,
by the quadrature of :mod:`skassign.metrics._glm_expected` for the
logistic) or one set per prior draw, and scores allocations exactly by the
graded QR of :mod:`skassign.metrics._glm_numerics`.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import logsumexp

from skassign.metrics._glm_expected import (
    log_expected_logistic_weights,
    log_sinhc,
    symmetric_prior,
)
from skassign.utils._random import check_random_state

__all__ = [
    "CLOSED_FORM_PRIORS",
    "FAMILIES",
    "GLMModel",
    "check_prior",
    "combine_draws",
    "log_mgf",
    "log_weight",
    "parameter_names",
]

FAMILIES = ("gaussian", "poisson", "logistic")
CLOSED_FORM_PRIORS = ("norm", "uniform", "laplace")


def parameter_names(n_arms, n_features):
    """Prior names ``mu1..mum`` (``mu1`` is arm 0) then ``beta1..betap``."""
    return [f"mu{g + 1}" for g in range(n_arms)] + [
        f"beta{j + 1}" for j in range(n_features)
    ]


def check_prior(prior, n_arms, n_features):
    """Return the list of frozen distributions in parameter order.

    ``None`` gives a standard normal prior for every parameter.
    """
    names = parameter_names(n_arms, n_features)
    if prior is None:
        from scipy import stats

        return [stats.norm(0.0, 1.0) for _ in names]
    if not hasattr(prior, "keys"):
        raise TypeError(
            "prior must be a mapping from parameter name ('mu1', ..., 'beta1', "
            f"...) to a frozen scipy.stats distribution, got {type(prior).__name__}."
        )
    missing = [name for name in names if name not in prior]
    extra = sorted(set(prior) - set(names))
    if missing or extra:
        raise ValueError(
            f"prior must name exactly the parameters {names} (mu1 is arm 0, "
            f"beta1 the first covariate); missing {missing}, unknown {extra}."
        )
    out = []
    for name in names:
        dist = prior[name]
        if not (hasattr(dist, "rvs") and hasattr(dist, "dist")):
            raise TypeError(
                f"prior[{name!r}] must be a frozen scipy.stats distribution such "
                f"as scipy.stats.norm(1, 2), got {dist!r}."
            )
        out.append(dist)
    return out


def log_mgf(dist, t):
    """Log moment generating function of a frozen distribution at ``t``.

    Closed forms for the normal, uniform and Laplace families; ``inf`` where
    the function does not exist (Laplace with ``|t| >= 1/scale``). Returns
    None for other families.
    """
    t = np.asarray(t, dtype=np.float64)
    parts = symmetric_prior(dist)
    if parts is None:
        return None
    kind, centre, scale = parts
    if kind == "norm":
        return t * centre + 0.5 * (t * scale) ** 2
    if kind == "uniform":
        return t * centre + log_sinhc(scale * t)
    bt = scale * t
    with np.errstate(divide="ignore", invalid="ignore"):
        out = t * centre - np.log1p(-(bt * bt))
    return np.where(np.abs(bt) < 1.0, out, np.inf)


def log_weight(eta, family):
    """Log GLM weight at linear predictor ``eta`` (Table 1 of the paper)."""
    if family == "poisson":
        return eta
    if family == "logistic":
        a = np.abs(eta)
        return -a - 2.0 * np.log1p(np.exp(-a))
    return np.zeros_like(eta)


class GLMModel:
    """Log-weights of every unit in every arm for the chosen criterion.

    Draws from the prior are made once (``n_prior_samples`` of them, from
    ``random_state``) and shared by every allocation scored with this model
    (common random numbers).

    Attributes
    ----------
    logw : ndarray of shape (n_draws, n_samples, n_arms)
        Log-weights; one "draw" (the expected weights) for variant 1 and the
        Gaussian family.
    method : str
        ``"closed_form"`` (Poisson, variant 1, normal/uniform/Laplace priors
        with finite moment generating functions), ``"quadrature"``
        (logistic, variant 1, the same priors), ``"monte_carlo"`` or
        ``"none"`` (Gaussian family: no parameter dependence).
    """

    def __init__(
        self,
        X,
        n_arms,
        *,
        family="poisson",
        criterion="D",
        variant=1,
        prior=None,
        n_prior_samples=1000,
        random_state=None,
    ):
        X = np.asarray(X, dtype=np.float64)
        self.X = X
        self.n_arms = int(n_arms)
        self.family = family
        self.criterion = criterion
        self.variant = int(variant)
        self.n_params = self.n_arms + X.shape[1]
        n, p = X.shape
        if family == "gaussian":
            self.method = "none"
            self.logw = np.zeros((1, n, self.n_arms))
            return
        dists = check_prior(prior, self.n_arms, p)
        if self.variant == 1:
            if family == "poisson":
                logw, method = self._closed_form(dists), "closed_form"
            else:
                logw = log_expected_logistic_weights(dists, X, self.n_arms)
                method = "quadrature"
            if logw is not None:
                self.method = method
                self.logw = logw[None]
                return
        self.method = "monte_carlo"
        rng = check_random_state(random_state)
        theta = np.column_stack(
            [
                np.asarray(d.rvs(size=n_prior_samples, random_state=rng), float)
                for d in dists
            ]
        )
        mu, beta = theta[:, : self.n_arms], theta[:, self.n_arms :]
        eta = (beta @ X.T)[:, :, None] + mu[:, None, :]
        logw = log_weight(eta, family)
        if self.variant == 1:
            logw = (logsumexp(logw, axis=0) - np.log(n_prior_samples))[None]
        self.logw = np.ascontiguousarray(logw)

    def _closed_form(self, dists):
        """Log expected Poisson weights from the priors' MGFs (eq. 3.2)."""
        mgf_mu = [log_mgf(d, 1.0) for d in dists[: self.n_arms]]
        mgf_beta = [
            log_mgf(d, self.X[:, j]) for j, d in enumerate(dists[self.n_arms :])
        ]
        if any(v is None for v in mgf_mu + mgf_beta):
            return None
        total = np.sum(mgf_beta, axis=0) if mgf_beta else np.zeros(self.X.shape[0])
        logw = total[:, None] + np.asarray(mgf_mu, dtype=np.float64)[None, :]
        if not np.all(np.isfinite(logw)):
            names = parameter_names(self.n_arms, self.X.shape[1])
            bad = [
                names[self.n_arms + j]
                for j, v in enumerate(mgf_beta)
                if not np.all(np.isfinite(v))
            ] + [names[g] for g, v in enumerate(mgf_mu) if not np.isfinite(v)]
            warnings.warn(
                "The expected Poisson information is infinite: the moment "
                f"generating function of the prior of {bad} does not exist at "
                "the covariate values (a Laplace prior with scale b has none "
                "beyond |t| = 1/b). Falling back to a Monte Carlo average over "
                "the prior draws, which is finite for any finite number of "
                "draws (as the paper must have computed it).",
                UserWarning,
                stacklevel=4,
            )
            return None
        return logw

    def per_draw(self, labels):
        """``log|I_k|`` and ``log tr(I_k^-1)`` of every draw (exact, graded QR)."""
        from skassign.metrics._glm_numerics import graded_batch

        labels = np.ascontiguousarray(labels, dtype=np.int64)
        return graded_batch(self.logw, self.X, labels, self.n_arms)

    def combine(self, logdet, logtrace):
        """Log criterion from per-draw log-determinants and log-traces."""
        values = -logdet if self.criterion == "D" else logtrace
        return combine_draws(values, self.variant)

    def log_criterion(self, labels):
        """Natural log of the criterion at ``labels`` (``inf`` if singular)."""
        return self.combine(*self.per_draw(labels))


def combine_draws(values, variant):
    """Combine per-draw log criteria: one draw, log-mean-exp, or max."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == 1 or variant == 1:
        return float(values[0])
    if np.any(values == np.inf):
        return np.inf
    if variant == 2:
        return float(logsumexp(values) - np.log(values.shape[0]))
    return float(values.max())
