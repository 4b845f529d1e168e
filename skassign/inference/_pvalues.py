"""P-values of resampling tests and the ends of confidence intervals.

:func:`compute_pvalues` counts the resampled statistics as or more extreme
than the observed one; :func:`_boundary` finds where a test starts to reject
a shifted effect, the end of the interval obtained by inverting the test.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compute_pvalues"]

# Relative tolerance of the "as or more extreme" comparison, as in
# scipy.stats.permutation_test: statistics that are equal in exact arithmetic
# but were summed in another order must count as ties.
_RTOL = 100 * np.finfo(np.float64).eps


def compute_pvalues(observed, null_distribution, alternative="two-sided"):
    """Resampling p-values ``(1 + #{as or more extreme}) / (1 + n_resamples)``.

    Two-sided: ``|T_b| >= |T_obs|`` (the optimisation-design bootstrap's
    rule); ``"greater"``: ``T_b >= T_obs``; ``"less"``: ``T_b <= T_obs``.
    Counting the observed value itself (the ``1 +``) keeps the p-value valid
    for any number of resamples and never zero.

    Parameters
    ----------
    observed : float or ndarray of shape (n_comparisons,)
        Observed statistic(s).
    null_distribution : ndarray of shape (n_resamples,) or \
            (n_resamples, n_comparisons)
        Resampled statistics.
    alternative : {"two-sided", "less", "greater"}, default="two-sided"
        Alternative hypothesis.

    Returns
    -------
    pvalue : float or ndarray of shape (n_comparisons,)
        P-values in ``(0, 1]``.

    Examples
    --------
    >>> from skassign.inference._pvalues import compute_pvalues
    >>> compute_pvalues(2.0, [1.0, 2.0, -3.0, 0.5])
    0.6
    """
    observed = np.asarray(observed, dtype=np.float64)
    null = np.asarray(null_distribution, dtype=np.float64)
    gamma = _RTOL * np.abs(observed)
    if alternative == "two-sided":
        extreme = np.abs(null) >= np.abs(observed) - gamma
    elif alternative == "greater":
        extreme = null >= observed - gamma
    elif alternative == "less":
        extreme = null <= observed + gamma
    else:
        raise ValueError(
            "alternative must be 'two-sided', 'less' or 'greater'; got "
            f"{alternative!r}."
        )
    pvalue = (1.0 + extreme.sum(axis=0)) / (1.0 + null.shape[0])
    return float(pvalue) if pvalue.ndim == 0 else pvalue


def _extremeness(values, alternative):
    """Map statistics to 'larger is more extreme' (for the global max test)."""
    if alternative == "two-sided":
        return np.abs(values)
    return values if alternative == "greater" else -values


def _boundary(rejected, start, step, *, max_doublings=64, rtol=1e-7):
    """Edge of the accepted region from ``start`` in the direction of ``step``.

    Steps double until a value is rejected, then bisection narrows the edge
    to ``rtol * |step|``. Returns the last accepted value, or +-inf if
    nothing is rejected.
    """
    inside, outside = start, None
    for k in range(max_doublings):
        candidate = start + step * 2.0**k
        if rejected(candidate):
            outside = candidate
            break
        inside = candidate
    if outside is None:
        return float(np.sign(step) * np.inf)
    tol = rtol * abs(step)
    while abs(outside - inside) > tol:
        middle = 0.5 * (inside + outside)
        if middle in (inside, outside):
            break
        if rejected(middle):
            outside = middle
        else:
            inside = middle
    return float(inside)
