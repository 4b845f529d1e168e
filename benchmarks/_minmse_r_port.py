"""A straightforward NumPy port of the R package minMSE (version 1.x).

It follows ``assign_treatment`` and ``evaluate_solution_vector`` of the R
sources line by line: the objective is recomputed from scratch at every
iteration with pseudo-inverses (``MASS::ginv``: SVD, relative tolerance
``sqrt(eps)``), moves are ``swap_treatment`` (permute all units, rotate the
labels of the first ``change``), and the defaults are R's. It is the in-run
reference of ``bench_minmse.py``, since R itself cannot be installed here.
"""

from __future__ import annotations

import numpy as np

_GINV_RTOL = float(np.sqrt(np.finfo(np.float64).eps))


def r_round(x):
    """R's round(): half to even, like Python's."""
    return int(round(x))


def r_seq_length(m):
    """Number of passes of R's ``for (k in 1:m)`` (``1:0`` has two elements)."""
    return m if m >= 1 else 2 - m


def evaluate_solution(treatment, data, mse_weights=None):
    """R's evaluate_solution / evaluate_solution_vector."""
    n_treatments = int(treatment.max())
    if mse_weights is None:
        mse_weights = np.ones(n_treatments)
    x0 = data[treatment == 0]
    total = mse_weights.sum() * np.linalg.pinv(x0.T @ x0, rtol=_GINV_RTOL)
    for j in range(1, n_treatments + 1):
        x = data[treatment == j]
        total = total + mse_weights[j - 1] * np.linalg.pinv(x.T @ x, rtol=_GINV_RTOL)
    mean = data.mean(axis=0)
    return float(mean @ total @ mean)


def swap_treatment(current, change, rng):
    """R's swap_treatment: rotate the labels of ``change`` random units."""
    s_ind = rng.permutation(current.shape[0])
    scrambled = current[s_ind]
    scrambled[:change] = scrambled[np.r_[1:change, 0]]
    return scrambled[np.argsort(s_ind)]


def assign_treatment(
    data,
    *,
    n_treatments=1,
    mse_weights=None,
    iterations=50,
    change=3,
    cooling=1,
    t0=10.0,
    tmax=10,
    rng,
    record=False,
):
    """R's assign_treatment (built_in = 0), without prev_treatment.

    Returns the best assignment, its objective and, with ``record``, the
    best objective after every iteration (R's ``opts``).
    """
    n_obs = data.shape[0]
    if change >= n_obs:
        change = min(3, n_obs)
    n_per_group = int(np.ceil(n_obs / (n_treatments + 1)))
    repetitions = np.repeat(np.arange(n_treatments + 1), n_per_group)
    current = rng.choice(repetitions, size=n_obs, replace=False)
    current_ssd = evaluate_solution(current, data, mse_weights)
    num_first = min(
        max(r_round(iterations / 100 * 5) - 1, n_obs - 1),
        r_round(iterations / 100 * 10) - 1,
    )
    for _ in range(r_seq_length(num_first)):
        candidate = rng.choice(repetitions, size=n_obs, replace=False)
        ssd = evaluate_solution(candidate, data, mse_weights)
        if ssd < current_ssd:
            current, current_ssd = candidate, ssd
    if t0 < 0:
        t0 = -(1.0 / t0) * current_ssd
    opt, opt_ssd = current, current_ssd
    opts = [opt_ssd] if record else None
    for k in range(1, iterations + 1):
        candidate = swap_treatment(current, change, rng)
        ssd = evaluate_solution(candidate, data, mse_weights)
        rand = rng.random()
        level = np.floor((k - 1) / tmax) * tmax
        temperature = t0 / np.log(level + np.e) if cooling == 1 else t0 / (level + 1)
        with np.errstate(over="ignore"):
            if rand <= min(1.0, np.exp((current_ssd - ssd) / temperature)):
                current, current_ssd = candidate, ssd
                if current_ssd < opt_ssd:
                    opt, opt_ssd = current, current_ssd
        if record:
            opts.append(opt_ssd)
    return opt, opt_ssd, (np.array(opts) if record else None)
