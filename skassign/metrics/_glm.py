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

from numbers import Integral

import numpy as np

from skassign.metrics._glm_model import FAMILIES, GLMModel
from skassign.utils._param_validation import Interval, StrOptions, validate_params
from skassign.utils.validation import check_covariates, check_labels

__all__ = [
    "glm_a_criterion",
    "glm_criterion",
    "glm_d_criterion",
    "glm_efficiency",
]

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

    and the same with the trace for A. Lower is better. With normal, uniform
    and Laplace priors ``E I`` is exact: in closed form for the Poisson
    family (the priors' moment generating functions) and by saddle-point
    quadrature for the logistic family (the expected weight is the density
    at 0 of the linear predictor plus a logistic variable). Where a moment
    generating function does not exist at the covariates (Laplace priors
    with a large scale), a warning says so and the Monte Carlo average is
    used. All other cases average over ``n_prior_samples`` draws from
    ``random_state`` (the same draws for every ``labels`` with the same
    seed).

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


_FIXED_CRITERION_DOC = (
    "EW {c}-criterion ({c}1, {c}2 or {c}3) of an allocation; lower is better.\n"
    """
    :func:`glm_criterion` with ``criterion="{c}"``.

    Read more in the :ref:`User Guide <glm_optimal>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates.
    labels : array-like of shape (n_samples,)
        Arm of every unit.
    family : {{"gaussian", "poisson", "logistic"}}, default="poisson"
        GLM family.
    variant : {{1, 2, 3}}, default=1
        {variants}.
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
    >>> from skassign.metrics import {name}
    >>> X = [[1.0], [2.0], [3.0], [4.0]]
    >>> {example}
    """
)


def _fixed_criterion(criterion, variants, example):
    """:func:`glm_criterion` with ``criterion`` fixed, as a public function."""

    def func(
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
        return glm_criterion(
            X,
            labels,
            family=family,
            criterion=criterion,
            variant=variant,
            prior=prior,
            n_prior_samples=n_prior_samples,
            n_groups=n_groups,
            log=log,
            random_state=random_state,
        )

    name = f"glm_{criterion.lower()}_criterion"
    func.__name__ = func.__qualname__ = name
    func.__doc__ = _FIXED_CRITERION_DOC.format(
        c=criterion, variants=variants, name=name, example=example
    )
    return validate_params(_COMMON, prefer_skip_nested_validation=True)(func)


glm_d_criterion = _fixed_criterion(
    "D",
    "``|(E I)^-1|``, ``E |I^-1|`` or ``max_k |I_k^-1|``",
    """round(glm_d_criterion(X, [0, 1, 1, 0], family="gaussian"), 4)
    -2.9957""",
)
glm_a_criterion = _fixed_criterion(
    "A",
    "``tr (E I)^-1``, ``E tr I^-1`` or ``max_k tr I_k^-1``",
    """round(glm_a_criterion(X, [0, 1, 1, 0], family="gaussian", log=False), 4)
    3.7""",
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
