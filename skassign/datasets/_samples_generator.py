"""Simulated data: the tumour-mice experiment of the optimisation-design post."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats

from skassign.utils._param_validation import Interval, validate_params
from skassign.utils._random import check_random_state
from skassign.utils.validation import check_labels

__all__ = ["make_tumor_mice", "simulate_tumor_growth"]


@validate_params(
    {
        "n_mice": [Interval(Integral, 1, None, closed="left")],
        "mu": [Real],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_tumor_mice(n_mice=20, mu=200, sigma=300, random_state=123):
    """Draw the initial tumour weights of a population of mice.

    Weights are drawn from a normal distribution with mean ``mu`` and standard
    deviation ``sigma`` truncated to non-negative values, exactly as in the
    optimisation-design case study (Bertsimas et al. design on 20 mice): with
    the defaults the table is the one printed there (first weights 424.736888,
    174.691035, 141.016478, 327.518749, 442.239789 mg).

    Read more in the :ref:`User Guide <datasets>`.

    Parameters
    ----------
    n_mice : int, default=20
        Number of mice.
    mu : float, default=200
        Mean of the untruncated normal distribution (mg).
    sigma : float, default=300
        Standard deviation of the untruncated normal distribution (mg).
    random_state : int, RandomState instance or None, default=123
        Seed; the default reproduces the case study.

    Returns
    -------
    mice : pandas.DataFrame of shape (n_mice, 2)
        Columns ``mice`` (1..n_mice) and ``initial_weight`` (mg).

    See Also
    --------
    simulate_tumor_growth : Final weights after one day of growth.

    Examples
    --------
    >>> from skassign.datasets import make_tumor_mice
    >>> mice = make_tumor_mice()
    >>> mice.head(3)
       mice  initial_weight
    0     1      424.736888
    1     2      174.691035
    2     3      141.016478
    """
    lower = (0.0 - mu) / sigma
    weights = stats.truncnorm(lower, np.inf, loc=mu, scale=sigma).rvs(
        size=n_mice, random_state=check_random_state(random_state)
    )
    return pd.DataFrame(
        {"mice": np.arange(1, n_mice + 1), "initial_weight": np.asarray(weights)}
    )


def _gompex(w0, days, a, b, critical_weight):
    """Closed-form solution of dw/dt = w (a + max(0, b log(wc / w))).

    Below the critical weight, u = log w solves the linear equation
    du/dt = a + b (log wc - u); above it growth is exponential at rate a.
    """
    log_wc = np.log(critical_weight)
    u0 = np.log(w0)
    ratio = a / b
    below = u0 < log_wc
    # Time at which a tumour that starts below the critical weight reaches it.
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cross = np.where(below, np.log((log_wc + ratio - u0) / ratio) / b, 0.0)
    in_phase = np.minimum(days, t_cross)
    u_gomp = log_wc + ratio - (log_wc + ratio - u0) * np.exp(-b * in_phase)
    u = np.where(below, u_gomp, u0) + a * np.maximum(days - t_cross, 0.0)
    return np.exp(u)


@validate_params(
    {
        "initial_weight": ["array-like"],
        "labels": ["array-like"],
        "effect": ["array-like", Real],
        "a": [Interval(Real, 0, None, closed="neither")],
        "b": [Interval(Real, 0, None, closed="neither")],
        "critical_weight": [Interval(Real, 0, None, closed="neither")],
        "days": [Interval(Real, 0, None, closed="left")],
        "noise_sd": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def simulate_tumor_growth(
    initial_weight,
    labels,
    effect=-250,
    *,
    a=1.0,
    b=5.0,
    critical_weight=400.0,
    days=1.0,
    noise_sd=0.0,
    random_state=None,
):
    """Simulate final tumour weights: Gomp-ex growth plus a treatment effect.

    Each tumour grows for ``days`` by the Gomp-ex model
    ``dw/dt = w (a + max(0, b log(critical_weight / w)))`` (solved in closed
    form) and treated mice (``labels != 0``) receive the additive ``effect``,
    as in the optimisation-design case study. Optional Gaussian measurement
    noise makes repeated simulations differ.

    Read more in the :ref:`User Guide <datasets>`.

    Parameters
    ----------
    initial_weight : array-like of shape (n_mice,)
        Initial tumour weights (mg, positive).
    labels : array-like of shape (n_mice,)
        Arm of each mouse; arm 0 is the control.
    effect : float or array-like of shape (n_arms - 1,), default=-250
        Additive effect (mg) of every treated arm ``1, 2, ...``.
    a : float, default=1.0
        Exponential growth rate.
    b : float, default=5.0
        Gompertz rate below the critical weight.
    critical_weight : float, default=400.0
        Weight above which growth is purely exponential (mg).
    days : float, default=1.0
        Length of the experiment.
    noise_sd : float, default=0.0
        Standard deviation of additive Gaussian noise (mg).
    random_state : int, RandomState instance or None, default=None
        Seed of the noise.

    Returns
    -------
    final_weight : ndarray of shape (n_mice,)
        Final tumour weights (mg).

    See Also
    --------
    make_tumor_mice : The initial weights of the case study.

    Examples
    --------
    >>> from skassign.datasets import simulate_tumor_growth
    >>> simulate_tumor_growth([424.736888, 174.691035], [1, 0]).round(2)
    array([904.55, 783.65])
    """
    w0 = np.asarray(initial_weight, dtype=np.float64).ravel()
    if not np.all(np.isfinite(w0)) or np.any(w0 <= 0):
        raise ValueError("initial_weight must be finite and positive.")
    labels = np.asarray(labels)
    if labels.shape != w0.shape:
        raise ValueError(
            f"labels has shape {labels.shape} but initial_weight has {w0.shape}; "
            "give one arm per mouse."
        )
    labels = check_labels(labels, w0.shape[0]) if w0.shape[0] > 1 else labels
    if np.ndim(effect) == 0:
        arm_effect = np.where(labels != 0, float(effect), 0.0)
    else:
        # An array gives one effect per treated arm; it must cover every arm.
        effects = np.concatenate([[0.0], np.ravel(np.asarray(effect, float))])
        if labels.max() >= effects.shape[0]:
            raise ValueError(
                f"effect gives {effects.shape[0] - 1} treated arms but labels "
                f"go up to {labels.max()}; give one effect per treated arm or a "
                "single number for all of them."
            )
        arm_effect = effects[labels]
    final = _gompex(w0, days, a, b, critical_weight) + arm_effect
    if noise_sd > 0:
        final = final + check_random_state(random_state).normal(0, noise_sd, w0.size)
    return final
