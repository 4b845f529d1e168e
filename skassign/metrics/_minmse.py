"""The minMSE objective of Schneider & Schlather (2017) and its preprocessing."""

from __future__ import annotations

from math import gcd

import numpy as np
import pandas as pd
from sklearn.utils import check_array

from skassign.utils._param_validation import validate_params
from skassign.utils.validation import check_covariates, check_labels

__all__ = ["minmse_objective", "minmse_scale"]

# MASS::ginv, which the R package uses, drops singular values below
# sqrt(machine epsilon) times the largest one.
_GINV_RTOL = float(np.sqrt(np.finfo(np.float64).eps))


def _vector_gcd(values):
    """Greatest common divisor of non-negative integers (0 for all zeros)."""
    out = 0
    for value in values:
        out = gcd(out, int(value))
    return out


def _minmse_coefficients(weights, n_treated):
    """Coefficient of every arm's term in the minMSE objective.

    Parameters
    ----------
    weights : array-like or None
        ``None``, a vector with one weight per treated arm, or a matrix of
        shape (n_outcomes, n_treated) of non-negative integers.
    n_treated : int
        Number of treated arms ``K`` (arm 0 is the control).

    Returns
    -------
    coef : ndarray of shape (n_treated + 1,)
        ``coef[0]`` multiplies the control's term, ``coef[g]`` treated arm g's.
    """
    if weights is None:
        return np.concatenate([[float(n_treated)], np.ones(n_treated)])
    W = np.asarray(weights)
    if W.dtype == object or W.dtype.kind not in "iuf":
        raise ValueError(
            f"weights must be numeric (a vector or a matrix); got dtype {W.dtype}."
        )
    W = W.astype(np.float64)
    if W.ndim not in (1, 2) or W.shape[-1] != n_treated:
        raise ValueError(
            f"weights must have one entry (vector) or one column (matrix) per "
            f"treated arm, i.e. {n_treated} = n_groups - 1; got shape {W.shape}."
        )
    if not np.all(np.isfinite(W)) or np.any(W < 0) or not np.any(W > 0):
        raise ValueError(
            "weights must be finite and non-negative, with at least one positive "
            f"entry; got {W.tolist()}."
        )
    if W.ndim == 1:
        return np.concatenate([[W.sum()], W])
    if not np.all(W == np.floor(W)):
        raise ValueError(
            "A weight matrix (outcomes x treated arms) must hold integers: its "
            "control term is scaled by greatest common divisors of its rows and "
            "columns, as in the R package. Pass a vector for real-valued weights."
        )
    W = W.astype(np.int64)
    nu = sum(_vector_gcd(col) for col in W.T)
    omega = sum(_vector_gcd(row) for row in W)
    return np.concatenate([[float(nu * omega)], W.sum(axis=0).astype(np.float64)])


@validate_params(
    {"X": ["array-like"], "labels": ["array-like"], "weights": ["array-like", None]},
    prefer_skip_nested_validation=True,
)
def minmse_objective(X, labels, weights=None):
    r"""Compute the minMSE objective of an assignment exactly as the R package does.

    Schneider & Schlather (2017) choose the assignment that minimises the mean
    squared error of the estimated treatment effects in a linear model
    without intercept. With arm 0 the control, ``K`` treated arms,
    :math:`X_g` the rows of arm ``g`` and :math:`\bar x` the column means of
    all units, the objective is

    .. math:: \bar x^\top \Big[ c_0 (X_0^\top X_0)^+
              + \sum_{g=1}^{K} c_g (X_g^\top X_g)^+ \Big] \bar x

    where :math:`^+` is the Moore-Penrose pseudo-inverse (``MASS::ginv``,
    relative tolerance :math:`\sqrt{\epsilon}`) and the coefficients are

    - no weights: :math:`c_0 = K`, :math:`c_g = 1`;
    - a weight vector :math:`w` (one weight per treated arm):
      :math:`c_0 = \sum_g w_g`, :math:`c_g = w_g`;
    - a weight matrix :math:`W` (outcomes x treated arms, integers):
      :math:`c_0 = \nu\omega`, where :math:`\nu` and :math:`\omega` are the
      sums of the greatest common divisors of the columns and of the rows of
      :math:`W`, and :math:`c_g = \sum_k W_{kg}`.

    ``X`` is used as given. The R package first imputes, then divides every
    column by its standard deviation (without centring); apply
    :func:`minmse_scale` to reproduce its numbers. Lower is better.

    A pseudo-inverse makes the value of an arm whose :math:`X_g^\top X_g` is
    singular (for example a binary covariate constant within the arm)
    falsely small; :class:`~skassign.designs.MinMSE` therefore optimises a
    version that penalises such arms.

    Read more in the :ref:`User Guide <minmse>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates, used as given (no centring, no intercept).
    labels : array-like of shape (n_samples,)
        Arm of each unit: 0 for the control, ``1..K`` for the treated arms.
        ``K`` is the largest label.
    weights : array-like of shape (K,) or (n_outcomes, K), default=None
        Weights of the treated arms (the R argument ``mse_weights``): a
        vector, or an integer matrix with one row per outcome.

    Returns
    -------
    objective : float
        The value of the objective.

    See Also
    --------
    minmse_scale : The R package's preprocessing.
    skassign.designs.MinMSE : The design minimising this objective.

    References
    ----------
    .. [1] S. O. Schneider and M. Schlather, "A new approach to treatment
       assignment for one and multiple treatment groups", Courant Research
       Centre: Poverty, Equity and Growth, Discussion Paper 228, 2017.

    Examples
    --------
    >>> from skassign.metrics import minmse_objective, minmse_scale
    >>> X = [[10, 2], [20, 6], [30, 2], [40, 8], [130, 1], [40, 10]]
    >>> f"{minmse_objective(minmse_scale(X), [0, 1, 0, 1, 0, 1]):.4f}"
    '11.5393'
    >>> f"{minmse_objective(X, [0, 1, 2, 0, 1, 2], weights=[1, 2]):.4f}"
    '6.9358'
    """
    Xv, _ = check_covariates(X)
    labels = check_labels(labels, Xv.shape[0])
    n_treated = int(labels.max())
    coef = _minmse_coefficients(weights, n_treated)
    xbar = Xv.mean(axis=0)
    total = np.zeros((Xv.shape[1], Xv.shape[1]))
    for arm in range(n_treated + 1):
        Xg = Xv[labels == arm]
        total += coef[arm] * np.linalg.pinv(Xg.T @ Xg, rtol=_GINV_RTOL)
    return float(xbar @ total @ xbar)


@validate_params({"X": ["array-like"]}, prefer_skip_nested_validation=True)
def minmse_scale(X):
    """Preprocess covariates as the R package minMSE does.

    For every column: the standard deviation (``ddof=1``) of the observed
    values is computed, missing values are replaced by the column mean, and
    the column is divided by that standard deviation, **without centring**.
    Columns without spread (constant, or a single observed value) become 0,
    which removes them from the objective.

    Feeding the result to :func:`minmse_objective` reproduces the R
    package's numbers. The minMSE objective needs uncentred covariates: with
    column means of zero it vanishes for every assignment, which is why a
    ``StandardScaler()`` must not precede :class:`~skassign.designs.MinMSE`.
    In a Pipeline use
    ``FunctionTransformer(minmse_scale, feature_names_out="one-to-one")``.

    Read more in the :ref:`User Guide <minmse>`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numeric covariates; NaN marks a missing value.

    Returns
    -------
    X_scaled : ndarray or DataFrame of shape (n_samples, n_features)
        The scaled covariates (a DataFrame, with the same index and columns,
        when ``X`` is one). ``X`` is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.metrics import minmse_scale
    >>> minmse_scale([[1.0, 5.0], [np.nan, 5.0], [3.0, 5.0]])
    array([[0.70710678, 0.        ],
           [1.41421356, 0.        ],
           [2.12132034, 0.        ]])
    """
    Xv = check_array(
        X, dtype=np.float64, ensure_all_finite="allow-nan", input_name="X", copy=True
    )
    observed = ~np.isnan(Xv)
    n_observed = observed.sum(axis=0)
    empty = np.flatnonzero(n_observed == 0)
    if empty.size:
        raise ValueError(
            f"Column {int(empty[0])} of X has no observed value; drop it before "
            "scaling."
        )
    means = np.nanmean(Xv, axis=0)
    spread = n_observed > 1
    sd = np.zeros(Xv.shape[1])
    sd[spread] = np.nanstd(Xv[:, spread], axis=0, ddof=1)
    Xv = np.where(observed, Xv, means)
    positive = sd > 0
    Xv[:, positive] /= sd[positive]
    Xv[:, ~positive] = 0.0
    if isinstance(X, pd.DataFrame):
        return pd.DataFrame(Xv, index=X.index, columns=X.columns)
    return Xv
