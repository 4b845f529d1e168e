"""EW D- and A-optimality criteria of an allocation under a GLM with priors.

The model of the GLM allocation paper (seed 002): unit ``i`` in arm ``l`` has
linear predictor ``eta = mu_l + x_i . beta``, the design matrix has one
indicator column per arm followed by the covariates, and the information
matrix of an allocation is ``I(theta) = U^T W(theta) U`` with the GLM weights
(Gaussian 1, Poisson ``exp(eta)``, logistic ``p (1 - p)``). With a prior on
``theta = (mu_1, ..., mu_m, beta_1, ..., beta_p)`` the six criteria are

- ``D1 = |(E I)^-1|``, ``A1 = tr (E I)^-1``: the expectation sits on the
  information matrix, which is then inverted (the EW criteria of Yang et al.,
  2016, and the paper's eq. 2.6-2.7 and 3.2, whose closed form is an
  expectation of the information matrix's entries);
- ``D2 = E |I^-1|``, ``A2 = E tr I^-1`` over prior draws;
- ``D3 = max_k |I(theta_k)^-1|``, ``A3 = max_k tr I(theta_k)^-1`` over the
  draws (the paper's minimax "robust" variant).

``D1 <= D2`` and ``A1 <= A2`` (Jensen), as the paper notes. Everything is
computed as logarithms (see :mod:`skassign.metrics._glm_numerics`).
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from skassign.utils._param_validation import Interval, StrOptions, validate_params
from skassign.utils.validation import check_covariates, check_labels

__all__ = [
    "GLMModel",
    "glm_a_criterion",
    "glm_criterion",
    "glm_d_criterion",
    "glm_efficiency",
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
    name = dist.dist.name
    if name == "norm":
        loc, scale = float(dist.mean()), float(dist.std())
        return t * loc + 0.5 * (t * scale) ** 2
    if name == "uniform":
        a, b = (float(v) for v in dist.support())
        s = (b - a) * np.abs(t)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.maximum(a * t, b * t) + np.log(-np.expm1(-s)) - np.log(s)
        return np.where(s == 0.0, t * 0.5 * (a + b), out)
    if name == "laplace":
        loc, scale = float(dist.mean()), float(dist.std()) / np.sqrt(2.0)
        bt = scale * t
        with np.errstate(divide="ignore", invalid="ignore"):
            out = t * loc - np.log1p(-(bt * bt))
        return np.where(np.abs(bt) < 1.0, out, np.inf)
    return None


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
        with finite moment generating functions), ``"monte_carlo"`` or
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
        if family == "poisson" and self.variant == 1:
            logw = self._closed_form(dists)
            if logw is not None:
                self.method = "closed_form"
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


_COMMON = {
    "X": ["array-like"],
    "labels": ["array-like"],
    "family": [StrOptions(set(FAMILIES))],
    "variant": [Interval(Integral, 1, 3, closed="both")],
    "prior": [dict, None],
    "n_prior_samples": [Interval(Integral, 1, None, closed="left")],
    "n_groups": [Interval(Integral, 2, None, closed="left"), None],
    "log": ["boolean"],
    "random_state": ["random_state"],
}


def _model(X, labels, n_groups, family, criterion, variant, prior, n_samples, seed):
    Xv, _ = check_covariates(X)
    labels = check_labels(labels, Xv.shape[0])
    arms, inverse = np.unique(labels, return_inverse=True)
    if n_groups is None:
        n_groups = (
            sum(1 for name in prior if str(name).startswith("mu"))
            if prior
            else arms.size
        )
    if (
        not np.issubdtype(arms.dtype, np.integer)
        or arms.min() < 0
        or (arms.max() >= n_groups)
    ):
        raise ValueError(
            f"labels must be arms 0..{n_groups - 1} (mu1 is arm 0); got "
            f"{arms.tolist()}."
        )
    model = GLMModel(
        Xv,
        n_groups,
        family=family,
        criterion=criterion,
        variant=variant,
        prior=prior,
        n_prior_samples=n_samples,
        random_state=seed,
    )
    return model, labels.astype(np.int64)


@validate_params(
    {**_COMMON, "criterion": [StrOptions({"D", "A"})]},
    prefer_skip_nested_validation=True,
)
def glm_criterion(
    X,
    labels,
    *,
    family="poisson",
    criterion="D",
    variant=1,
    prior=None,
    n_prior_samples=1000,
    n_groups=None,
    log=True,
    random_state=0,
):
    r"""EW D- or A-criterion of an allocation under a GLM with priors.

    The design matrix has one indicator column per arm then the covariates;
    the information matrix is ``I(theta) = U^T W(theta) U`` with the weights
    of the family (Gaussian 1, Poisson ``exp(eta)``, logistic ``p(1-p)``). The
    three variants put the prior expectation on the information matrix before
    inverting it (1), on the dispersion's determinant or trace (2), or take
    the worst of ``n_prior_samples`` draws (3):

    .. math:: D_1 = |(E_\theta I)^{-1}|,\quad D_2 = E_\theta |I^{-1}|,\quad
              D_3 = \max_k |I(\theta_k)^{-1}|

    and the same with the trace for A. Lower is better. For the Poisson
    family with normal, uniform and Laplace priors ``E I`` is in closed form
    (the priors' moment generating functions); where a moment generating
    function does not exist at the covariates (Laplace priors with a large
    scale), a warning says so and the Monte Carlo average is used. All other
    cases average over ``n_prior_samples`` draws from ``random_state`` (the
    same draws for every ``labels`` with the same seed: comparisons are not
    noise).

    Read more in the :ref:`User Guide <glm_optimal>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates, in the order of ``beta1, beta2, ...``.
    labels : array-like of shape (n_samples,)
        Arm of every unit, ``0..n_groups-1``.
    family : {"gaussian", "poisson", "logistic"}, default="poisson"
        GLM family (canonical link).
    criterion : {"D", "A"}, default="D"
        Determinant or trace of the dispersion matrix.
    variant : {1, 2, 3}, default=1
        Where the prior expectation sits (see above).
    prior : dict or None, default=None
        Parameter name (``mu1`` ... ``mum`` for the arms, ``mu1`` being arm 0;
        ``beta1`` ... ``betap`` for the covariates) to a frozen
        :mod:`scipy.stats` distribution. ``None``: standard normal priors.
    n_prior_samples : int, default=1000
        Number of prior draws for the Monte Carlo cases.
    n_groups : int or None, default=None
        Number of arms; ``None`` counts the ``mu`` names of ``prior`` (or the
        distinct labels without a prior).
    log : bool, default=True
        Return the natural logarithm (finite where the criterion itself
        over- or underflows a double).
    random_state : int, RandomState instance or None, default=0
        Seed of the prior draws.

    Returns
    -------
    value : float
        The criterion (or its log); ``inf`` if the information matrix is
        singular.

    See Also
    --------
    glm_efficiency : Ratio of two allocations' criteria.
    skassign.designs.GLMOptimal : The design minimising these criteria.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from skassign.metrics import glm_criterion
    >>> X = np.array([[0.1], [0.5], [0.9], [0.3], [0.7], [0.2]])
    >>> prior = {"mu1": stats.norm(0.5, 1), "mu2": stats.norm(0.75, np.sqrt(2)),
    ...          "beta1": stats.norm(1, np.sqrt(1.5))}
    >>> round(glm_criterion(X, [0, 1, 0, 1, 0, 1], prior=prior), 4)
    -7.1346
    >>> round(glm_criterion(X, [0, 1, 0, 1, 0, 1], prior=prior, log=False), 6)
    0.000797
    """
    model, labels = _model(
        X,
        labels,
        n_groups,
        family,
        criterion,
        variant,
        prior,
        n_prior_samples,
        random_state,
    )
    value = model.log_criterion(labels)
    return value if log else float(np.exp(value))


@validate_params(_COMMON, prefer_skip_nested_validation=True)
def glm_d_criterion(
    X,
    labels,
    *,
    family="poisson",
    variant=1,
    prior=None,
    n_prior_samples=1000,
    n_groups=None,
    log=True,
    random_state=0,
):
    """EW D-criterion (D1, D2 or D3) of an allocation; lower is better.

    :func:`glm_criterion` with ``criterion="D"``.

    Read more in the :ref:`User Guide <glm_optimal>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    labels : array-like of shape (n_samples,)
        Arm of every unit.
    family : {"gaussian", "poisson", "logistic"}, default="poisson"
        GLM family.
    variant : {1, 2, 3}, default=1
        ``|(E I)^-1|``, ``E |I^-1|`` or ``max_k |I_k^-1|``.
    prior : dict or None, default=None
        Parameter name to frozen :mod:`scipy.stats` distribution.
    n_prior_samples : int, default=1000
        Number of prior draws for the Monte Carlo cases.
    n_groups : int or None, default=None
        Number of arms.
    log : bool, default=True
        Return the natural logarithm.
    random_state : int, RandomState instance or None, default=0
        Seed of the prior draws.

    Returns
    -------
    value : float
        The criterion (or its log).

    Examples
    --------
    >>> from skassign.metrics import glm_d_criterion
    >>> X = [[1.0], [2.0], [3.0], [4.0]]
    >>> round(glm_d_criterion(X, [0, 1, 1, 0], family="gaussian"), 4)
    -2.9957
    """
    return glm_criterion(
        X,
        labels,
        family=family,
        criterion="D",
        variant=variant,
        prior=prior,
        n_prior_samples=n_prior_samples,
        n_groups=n_groups,
        log=log,
        random_state=random_state,
    )


@validate_params(_COMMON, prefer_skip_nested_validation=True)
def glm_a_criterion(
    X,
    labels,
    *,
    family="poisson",
    variant=1,
    prior=None,
    n_prior_samples=1000,
    n_groups=None,
    log=True,
    random_state=0,
):
    """EW A-criterion (A1, A2 or A3) of an allocation; lower is better.

    :func:`glm_criterion` with ``criterion="A"``.

    Read more in the :ref:`User Guide <glm_optimal>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    labels : array-like of shape (n_samples,)
        Arm of every unit.
    family : {"gaussian", "poisson", "logistic"}, default="poisson"
        GLM family.
    variant : {1, 2, 3}, default=1
        ``tr (E I)^-1``, ``E tr I^-1`` or ``max_k tr I_k^-1``.
    prior : dict or None, default=None
        Parameter name to frozen :mod:`scipy.stats` distribution.
    n_prior_samples : int, default=1000
        Number of prior draws for the Monte Carlo cases.
    n_groups : int or None, default=None
        Number of arms.
    log : bool, default=True
        Return the natural logarithm.
    random_state : int, RandomState instance or None, default=0
        Seed of the prior draws.

    Returns
    -------
    value : float
        The criterion (or its log).

    Examples
    --------
    >>> from skassign.metrics import glm_a_criterion
    >>> X = [[1.0], [2.0], [3.0], [4.0]]
    >>> round(glm_a_criterion(X, [0, 1, 1, 0], family="gaussian", log=False), 4)
    3.7
    """
    return glm_criterion(
        X,
        labels,
        family=family,
        criterion="A",
        variant=variant,
        prior=prior,
        n_prior_samples=n_prior_samples,
        n_groups=n_groups,
        log=log,
        random_state=random_state,
    )


@validate_params(
    {
        **{k: v for k, v in _COMMON.items() if k != "log"},
        "reference": ["array-like"],
        "criterion": [StrOptions({"D", "A"})],
    },
    prefer_skip_nested_validation=True,
)
def glm_efficiency(
    X,
    labels,
    reference,
    *,
    family="poisson",
    criterion="D",
    variant=1,
    prior=None,
    n_prior_samples=1000,
    n_groups=None,
    random_state=0,
):
    """Efficiency of ``labels`` against ``reference``: ``V(reference) / V(labels)``.

    The paper's efficiency: the ratio of the criteria (determinants or traces
    of dispersion matrices, not their ``1/k``-th powers); above 1 means
    ``labels`` is better. Both allocations are scored with the same prior
    draws.

    Read more in the :ref:`User Guide <glm_optimal>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    labels : array-like of shape (n_samples,)
        The allocation assessed.
    reference : array-like of shape (n_samples,)
        The allocation it is compared with (random, or the optimum).
    family : {"gaussian", "poisson", "logistic"}, default="poisson"
        GLM family.
    criterion : {"D", "A"}, default="D"
        Determinant or trace.
    variant : {1, 2, 3}, default=1
        Where the prior expectation sits.
    prior : dict or None, default=None
        Parameter name to frozen :mod:`scipy.stats` distribution.
    n_prior_samples : int, default=1000
        Number of prior draws for the Monte Carlo cases.
    n_groups : int or None, default=None
        Number of arms.
    random_state : int, RandomState instance or None, default=0
        Seed of the prior draws.

    Returns
    -------
    efficiency : float

    Examples
    --------
    >>> from skassign.metrics import glm_efficiency
    >>> X = [[1.0], [2.0], [3.0], [4.0]]
    >>> round(glm_efficiency(X, [0, 1, 1, 0], [0, 0, 1, 1], family="gaussian"), 2)
    5.0
    """
    model, labels = _model(
        X,
        labels,
        n_groups,
        family,
        criterion,
        variant,
        prior,
        n_prior_samples,
        random_state,
    )
    reference = check_labels(reference, labels.shape[0]).astype(np.int64)
    return float(np.exp(model.log_criterion(reference) - model.log_criterion(labels)))
