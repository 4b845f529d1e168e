"""Balance metrics: how alike the groups of an assignment are."""

from __future__ import annotations

from itertools import combinations
from numbers import Real

import numpy as np
import pandas as pd

from skassign.utils._docstrings import fill_doc
from skassign.utils._param_validation import Interval, StrOptions, validate_params
from skassign.utils.validation import check_covariates, check_labels

__all__ = [
    "balance_table",
    "ks_statistic",
    "mahalanobis_imbalance",
    "moment_discrepancy",
    "standardized_mean_difference",
    "variance_ratio",
]

# Every metric takes covariates and labels; most take nothing else.
_X_LABELS = {"X": ["array-like"], "labels": ["array-like"]}
_validate_X_labels = validate_params(_X_LABELS, prefer_skip_nested_validation=True)


def _check_X_labels(X, labels):
    """Validate covariates and labels together; return arrays, names and arms."""
    Xv, names = check_covariates(X)
    labels = check_labels(labels, Xv.shape[0])
    arms, inverse = np.unique(labels, return_inverse=True)
    return Xv, names, arms, inverse.astype(np.int64)


def arm_pairs(n_arms):
    """Return the pairs ``(g, h)``, ``g < h``, in the order metrics report them."""
    return list(combinations(range(n_arms), 2))


def _group_stats(X, inverse, n_arms):
    """Sizes, means and unbiased variances (0 for single-unit groups) per arm."""
    sizes = np.bincount(inverse, minlength=n_arms).astype(np.float64)
    onehot = np.zeros((n_arms, X.shape[0]))
    onehot[inverse, np.arange(X.shape[0])] = 1.0
    means = onehot @ X / sizes[:, None]
    sq = onehot @ (X * X) / sizes[:, None] - means**2
    denom = np.maximum(sizes - 1.0, 1.0)
    variances = np.maximum(sq, 0.0) * sizes[:, None] / denom[:, None]
    return sizes, means, variances


def _safe_ratio(num, den, zero_zero):
    """``num / den`` with ``zero_zero`` for 0/0 and signed inf for x/0."""
    out = np.full(np.broadcast(num, den).shape, zero_zero, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out, where=den != 0)
    nonzero = (den == 0) & (num != 0)
    out[nonzero] = np.copysign(np.inf, np.broadcast_to(num, out.shape)[nonzero])
    return out


@_validate_X_labels
@fill_doc
def standardized_mean_difference(X, labels):
    """Standardised mean difference of every covariate for every pair of arms.

    For arms ``g < h``: ``(mean_h - mean_g) / sqrt((var_g + var_h) / 2)`` with
    unbiased variances. ``0/0`` gives 0 and ``x/0`` gives ``inf``.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    %(metric_X_labels)s

    Returns
    -------
    smd : ndarray of shape (n_pairs, n_features)
        One row per pair of arms, in the order ``(0, 1), (0, 2), ..., (1, 2),
        ...`` of the sorted arm labels.

    See Also
    --------
    balance_table : All per-covariate metrics in one table.

    Examples
    --------
    >>> from skassign.metrics import standardized_mean_difference
    >>> X = [[1.0], [2.0], [3.0], [4.0]]
    >>> standardized_mean_difference(X, [0, 1, 0, 1]).round(3)
    array([[0.707]])
    """
    Xv, _, arms, inverse = _check_X_labels(X, labels)
    _, means, variances = _group_stats(Xv, inverse, arms.size)
    rows = []
    for g, h in arm_pairs(arms.size):
        pooled = np.sqrt((variances[g] + variances[h]) / 2.0)
        rows.append(_safe_ratio(means[h] - means[g], pooled, 0.0))
    return np.vstack(rows)


@_validate_X_labels
@fill_doc
def variance_ratio(X, labels):
    """Ratio of unbiased variances of every covariate for every pair of arms.

    For arms ``g < h``: ``var_h / var_g``; ``0/0`` gives 1 and ``x/0`` gives
    ``inf``. A balanced assignment has ratios near 1.

    Read more in the :ref:`User Guide <metrics>`.

    %(pair_metric_io)s

    Examples
    --------
    >>> from skassign.metrics import variance_ratio
    >>> variance_ratio([[1.0], [2.0], [3.0], [5.0]], [0, 0, 1, 1]).round(3)
    array([[4.]])
    """
    Xv, _, arms, inverse = _check_X_labels(X, labels)
    _, _, variances = _group_stats(Xv, inverse, arms.size)
    return np.vstack(
        [_safe_ratio(variances[h], variances[g], 1.0) for g, h in arm_pairs(arms.size)]
    )


@_validate_X_labels
@fill_doc
def ks_statistic(X, labels):
    """Two-sample Kolmogorov-Smirnov statistic per covariate and pair of arms.

    The largest distance between the empirical distribution functions of the
    two arms: 0 for identical distributions, 1 for disjoint ones.

    Read more in the :ref:`User Guide <metrics>`.

    %(pair_metric_io)s

    Examples
    --------
    >>> from skassign.metrics import ks_statistic
    >>> ks_statistic([[1.0], [2.0], [3.0], [4.0]], [0, 0, 1, 1])
    array([[1.]])
    """
    Xv, _, arms, inverse = _check_X_labels(X, labels)
    return np.vstack(
        [
            _ks_distance(Xv[inverse == g], Xv[inverse == h])
            for g, h in arm_pairs(arms.size)
        ]
    )


def _ks_distance(A, B):
    """Largest distance between the empirical CDFs of A and B, per column.

    The statistic of :func:`scipy.stats.ks_2samp`, without its p-value (whose
    computation warns for arms of one unit).
    """
    out = np.empty(A.shape[1])
    for j in range(A.shape[1]):
        a, b = np.sort(A[:, j]), np.sort(B[:, j])
        grid = np.concatenate([a, b])
        cdf_a = np.searchsorted(a, grid, side="right") / a.size
        cdf_b = np.searchsorted(b, grid, side="right") / b.size
        out[j] = np.max(np.abs(cdf_a - cdf_b))
    return out


def _whitened(X):
    """Covariates whitened by the pseudo-inverse of their covariance.

    Returns ``Z`` (centred, of shape (n_samples, r)) with ``Z.T @ Z / (n - 1)``
    the identity, ``r`` the rank of the covariance of ``X``: Mahalanobis
    distances of group means of ``X`` are Euclidean distances of group means
    of ``Z``. Every column is first divided by its largest magnitude and
    standardised, so the result does not depend on the units of any
    covariate: the rank decision compares correlations, and a covariate in
    milligrams next to one in tonnes neither hides the other nor overflows.
    Constant columns are dropped.
    """
    n_samples, n_features = X.shape
    if n_samples < 2:
        return np.zeros((n_samples, 0))
    magnitude = np.abs(X).max(axis=0)
    magnitude[magnitude == 0] = 1.0
    U = X / magnitude
    U = U - U.mean(axis=0)
    sd = np.sqrt(np.einsum("ij,ij->j", U, U) / (n_samples - 1))
    # A constant column leaves rounding noise of relative size ~eps.
    varying = sd > 1e3 * np.finfo(float).eps
    if not varying.any():
        return np.zeros((n_samples, 0))
    U = U[:, varying] / sd[varying]
    corr = np.atleast_2d(U.T @ U / (n_samples - 1))
    eigval, eigvec = np.linalg.eigh(corr)
    tol = max(eigval.max(initial=0.0), 0.0) * max(corr.shape) * np.finfo(float).eps
    keep = eigval > max(tol, 1e-300)
    return U @ (eigvec[:, keep] / np.sqrt(eigval[keep]))


def _mahalanobis_total_batch(Z, assignments, sizes):
    """Largest pairwise Morgan-Rubin Mahalanobis imbalance of many assignments.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, r)
        Whitened covariates (:func:`_whitened`).
    assignments : ndarray of shape (n_draws, n_samples)
        Labels ``0..n_groups-1`` of each draw, all with group sizes ``sizes``.
    sizes : ndarray of shape (n_groups,)
        Group sizes.

    Returns
    -------
    imbalance : ndarray of shape (n_draws,)
    """
    n_groups = sizes.shape[0]
    means = np.stack(
        [((assignments == g) @ Z) / sizes[g] for g in range(n_groups)], axis=1
    )
    worst = np.zeros(assignments.shape[0])
    for g, h in arm_pairs(n_groups):
        diff = means[:, h] - means[:, g]
        m = np.einsum("ij,ij->i", diff, diff) / (1.0 / sizes[g] + 1.0 / sizes[h])
        np.maximum(worst, m, out=worst)
    return worst


@validate_params(
    {
        **_X_LABELS,
        "covariance": [StrOptions({"within", "total", "separate"})],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def mahalanobis_imbalance(X, labels, *, covariance="within"):
    r"""Mahalanobis distance between the covariate means of the arms.

    With ``covariance="within"`` this is equation (5.1) of the GLM allocation
    paper (after Imbens & Rubin): for arms ``g`` and ``h`` with means
    ``m_g, m_h`` and within-arm covariances ``S_g, S_h`` (divisor ``n_g``),

    .. math:: M = (m_g - m_h)^T \left[\frac{n_g S_g + n_h S_h}{n_g n_h}
              \right]^{-1} (m_g - m_h).

    With ``covariance="total"`` it is Morgan & Rubin's (2012) rerandomisation
    criterion, which uses the covariance ``S`` of all units:
    ``M = (m_g - m_h)^T [S (1/n_g + 1/n_h)]^{-1} (m_g - m_h)``. With
    ``covariance="separate"`` each arm's mean is scaled by its own
    covariance (divisor ``n_g``), Welch-style:
    ``M = (m_g - m_h)^T [S_g / n_g + S_h / n_h]^{-1} (m_g - m_h)``; it equals
    ``"within"`` for arms of equal size and is the imbalance that
    :class:`~skassign.designs.GLMOptimal` caps. Each is
    approximately chi-square with ``n_features`` degrees of freedom under
    complete randomisation. Singular covariances use the pseudo-inverse. With
    more than two arms the largest pairwise value is returned.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    %(metric_X_labels)s
    covariance : {"within", "total", "separate"}, default="within"
        Pooled within-arm covariance, covariance of all units, or each arm's
        own covariance over its own size.

    Returns
    -------
    imbalance : float
        The (largest pairwise) Mahalanobis imbalance.

    Examples
    --------
    >>> from skassign.metrics import mahalanobis_imbalance
    >>> X = [[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]]
    >>> round(mahalanobis_imbalance(X, [0, 1, 0, 1, 0, 1]), 3)
    0.562
    >>> round(mahalanobis_imbalance(X, [0, 1, 0, 1, 0, 1], covariance="total"), 3)
    0.429
    >>> round(mahalanobis_imbalance(X, [0, 0, 1, 1, 1, 1], covariance="separate"), 3)
    20.571
    """
    Xv, _, arms, inverse = _check_X_labels(X, labels)
    sizes = np.bincount(inverse).astype(np.float64)
    if covariance == "total":
        Z = _whitened(Xv)
        return float(_mahalanobis_total_batch(Z, inverse[None, :], sizes)[0])
    worst = 0.0
    for g, h in arm_pairs(arms.size):
        Xg, Xh = Xv[inverse == g], Xv[inverse == h]
        diff = Xh.mean(axis=0) - Xg.mean(axis=0)
        cov_g = np.atleast_2d(np.cov(Xg, rowvar=False, ddof=0))
        cov_h = np.atleast_2d(np.cov(Xh, rowvar=False, ddof=0))
        if covariance == "separate":
            pooled = cov_g / sizes[g] + cov_h / sizes[h]
        else:
            pooled = (cov_g * sizes[g] + cov_h * sizes[h]) / (sizes[g] * sizes[h])
        worst = max(worst, float(diff @ np.linalg.pinv(pooled) @ diff))
    return worst


def _group_moments(X, inverse, n_arms, second_moments):
    """Means and second moments about the origin of every arm.

    Returns ``means`` of shape (n_arms, n_features) and ``seconds`` of shape
    (n_arms, n_features) (``"diagonal"``) or (n_arms, n_features**2)
    (``"full"``).
    """
    sizes = np.bincount(inverse, minlength=n_arms).astype(np.float64)
    onehot = np.zeros((n_arms, X.shape[0]))
    onehot[inverse, np.arange(X.shape[0])] = 1.0
    onehot /= sizes[:, None]
    # Squares of huge covariates overflow; they only matter with rho > 0,
    # where the discrepancy is then honestly inf (see _max_pairwise_...).
    with np.errstate(over="ignore", invalid="ignore"):
        if second_moments == "diagonal":
            products = X * X
        else:
            products = (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)
        return onehot @ X, onehot @ products


def _max_pairwise_discrepancy(means, seconds, rho):
    """``max_{g<h} |m_g - m_h|_1 + rho |M_g - M_h|_1`` from group moments."""
    worst = 0.0
    for g, h in arm_pairs(means.shape[0]):
        value = np.abs(means[g] - means[h]).sum()
        if rho:
            # Skipped for rho=0: squares of huge covariates overflow.
            value = value + rho * np.abs(seconds[g] - seconds[h]).sum()
        # NaN (from overflow) propagates instead of losing to max().
        if not float(value) <= worst:
            worst = float(value)
    return worst


@validate_params(
    {
        **_X_LABELS,
        "rho": [Interval(Real, 0, None, closed="left")],
        "second_moments": [StrOptions({"diagonal", "full"})],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc
def moment_discrepancy(X, labels, *, rho=0.5, second_moments="diagonal"):
    r"""Bertsimas, Johnson & Kallus (2015) discrepancy of an assignment.

    The largest, over pairs of arms ``p < q``, of

    .. math:: \sum_s |\mu_{ps} - \mu_{qs}|
              + \rho \sum_{s, s'} |M_{pss'} - M_{qss'}|

    where ``mu_ps`` is arm ``p``'s mean of covariate ``s`` and ``M_pss'`` its
    mean of ``x_s x_s'`` (second moments about the origin). With
    ``second_moments="diagonal"`` only ``s = s'`` enters; with ``"full"`` all
    ordered pairs ``(s, s')`` do (the entrywise l1 norm of the difference of
    the second-moment matrices). This is the objective that
    :class:`~skassign.designs.OptimalBalance` minimises. Covariates are used
    as given: standardise them first, as the method prescribes.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    %(metric_X_labels)s
    rho : float, default=0.5
        Weight of the second moments against the means.
    second_moments : {"diagonal", "full"}, default="diagonal"
        Which second moments to balance.

    Returns
    -------
    discrepancy : float
        The largest pairwise discrepancy.

    Examples
    --------
    >>> from skassign.metrics import moment_discrepancy
    >>> X = [[-1.0], [1.0], [-2.0], [2.0]]
    >>> moment_discrepancy(X, [0, 0, 1, 1])
    1.5
    """
    Xv, _, arms, inverse = _check_X_labels(X, labels)
    means, seconds = _group_moments(Xv, inverse, arms.size, second_moments)
    return _max_pairwise_discrepancy(means, seconds, rho)


@_validate_X_labels
@fill_doc
def balance_table(X, labels):
    """Balance of every covariate for every pair of arms, as a DataFrame.

    Read more in the :ref:`User Guide <metrics>`.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Covariates; a DataFrame's column names label the rows.
    labels : array-like of shape (n_samples,)
        Group of each unit.

    Returns
    -------
    table : pandas.DataFrame
        One row per covariate and pair of arms ``(arm_a, arm_b)``, with the
        columns ``feature, arm_a, arm_b, n_a, n_b, mean_a, mean_b, sd_a, sd_b,
        smd, variance_ratio, ks`` (see :func:`standardized_mean_difference`,
        :func:`variance_ratio` and :func:`ks_statistic`).

    Examples
    --------
    >>> import pandas as pd
    >>> from skassign.metrics import balance_table
    >>> X = pd.DataFrame({"weight": [1.0, 2.0, 3.0, 4.0]})
    >>> balance_table(X, [0, 1, 0, 1])[["feature", "arm_a", "arm_b", "smd"]]
      feature  arm_a  arm_b       smd
    0  weight      0      1  0.707107
    """
    Xv, names, arms, inverse = _check_X_labels(X, labels)
    sizes, means, variances = _group_stats(Xv, inverse, arms.size)
    smd = standardized_mean_difference(Xv, inverse)
    vr = variance_ratio(Xv, inverse)
    ks = ks_statistic(Xv, inverse)
    rows = []
    for k, (g, h) in enumerate(arm_pairs(arms.size)):
        for j, name in enumerate(names):
            rows.append(
                {
                    "feature": name,
                    "arm_a": arms[g],
                    "arm_b": arms[h],
                    "n_a": int(sizes[g]),
                    "n_b": int(sizes[h]),
                    "mean_a": means[g, j],
                    "mean_b": means[h, j],
                    "sd_a": np.sqrt(variances[g, j]),
                    "sd_b": np.sqrt(variances[h, j]),
                    "smd": smd[k, j],
                    "variance_ratio": vr[k, j],
                    "ks": ks[k, j],
                }
            )
    return pd.DataFrame(rows)
