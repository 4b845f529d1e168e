"""Why is the optimisation-design bootstrap conservative? A plain study.

Each experiment draws fresh tumour mice (``make_tumor_mice``), assigns them
with ``OptimalBalance(rho=0.5)`` on the standardised initial weight,
simulates growth without effect (noise SD 50 mg), and runs the bootstrap of
Bertsimas et al. written out plainly (no import of ``BootstrapTest``): units
drawn with replacement, the design refit on the resampled covariates, the
statistic recomputed on the resampled outcomes with the new labels. Two
statistics come from the same resamples:

* the difference in means (the published bootstrap), and
* Welch's t (the studentised bootstrap: ``statistic="t"`` of the package).

Per experiment it keeps the observed statistics, the two p-values, the
bootstrap standard deviation of the difference and the share of duplicated
units that the design puts in different arms.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from skassign.datasets import make_tumor_mice, simulate_tumor_growth


def _welch(y, labels):
    a, b = y[labels == 1], y[labels == 0]
    return (a.mean() - b.mean()) / np.sqrt(
        a.var(ddof=1) / a.size + b.var(ddof=1) / b.size
    )


def _diff(y, labels):
    return y[labels == 1].mean() - y[labels == 0].mean()


def bootstrap_experiment(seed, design, n_resamples, effect=0.0, n_mice=20):
    """One experiment; a dict of the observed values and p-values."""
    rng = np.random.default_rng([seed, 7])
    w = make_tumor_mice(n_mice=n_mice, random_state=seed)["initial_weight"].to_numpy()
    X = ((w - w.mean()) / w.std(ddof=1)).reshape(-1, 1)
    labels = clone(design).set_params(random_state=seed).fit_predict(X)
    y = simulate_tumor_growth(
        w, labels, effect=effect, noise_sd=50.0, random_state=seed
    )
    diffs, ts, split = [], [], []
    for _ in range(n_resamples):
        rows = rng.integers(0, n_mice, size=n_mice)
        lab = clone(design).set_params(random_state=int(rng.integers(2**31 - 1)))
        lab = np.asarray(lab.fit_predict(X[rows]))
        diffs.append(_diff(y[rows], lab))
        ts.append(_welch(y[rows], lab))
        counts = np.bincount(rows, minlength=n_mice)
        dup = np.flatnonzero(counts > 1)
        if dup.size:
            split.append(np.mean([np.unique(lab[rows == u]).size > 1 for u in dup]))
    diffs, ts = np.array(diffs), np.array(ts)
    d_obs, t_obs = _diff(y, labels), _welch(y, labels)
    return {
        "seed": seed,
        "diff": d_obs,
        "t": t_obs,
        "p_diff": (1 + np.sum(np.abs(diffs) >= abs(d_obs))) / (1 + n_resamples),
        "p_t": (1 + np.sum(np.abs(ts) >= abs(t_obs))) / (1 + n_resamples),
        "boot_sd_diff": diffs.std(),
        "boot_sd_t": ts.std(),
        "boot_mean_diff": diffs.mean(),
        # Tail of the bootstrap distribution: its 95% quantile of |T_b| in
        # units of its SD (1.96 for a normal distribution), and its kurtosis.
        "boot_q95_over_sd_diff": np.quantile(np.abs(diffs), 0.95) / diffs.std(),
        "boot_kurtosis_diff": float(
            np.mean((diffs - diffs.mean()) ** 4) / diffs.var() ** 2
        ),
        "duplicates_split": float(np.mean(split)) if split else float("nan"),
    }


def summarise_study(records, alpha=0.05):
    """Sizes with MC SE; the sampling SD of the statistic against the bootstrap SD."""
    n = len(records)
    out = {"n_experiments": n}
    for key in ("p_diff", "p_t"):
        rate = float(np.mean([r[key] <= alpha for r in records]))
        out[f"size_{key[2:]}"] = rate
        out[f"size_{key[2:]}_se"] = float(np.sqrt(rate * (1 - rate) / n))
    diffs = np.array([r["diff"] for r in records])
    ts = np.array([r["t"] for r in records])
    out["sampling_sd_diff"] = float(diffs.std(ddof=1))
    out["mean_boot_sd_diff"] = float(np.mean([r["boot_sd_diff"] for r in records]))
    out["rms_boot_sd_diff"] = float(
        np.sqrt(np.mean([r["boot_sd_diff"] ** 2 for r in records]))
    )
    out["sd_ratio_diff"] = out["rms_boot_sd_diff"] / out["sampling_sd_diff"]
    out["sampling_sd_t"] = float(ts.std(ddof=1))
    out["rms_boot_sd_t"] = float(
        np.sqrt(np.mean([r["boot_sd_t"] ** 2 for r in records]))
    )
    out["sd_ratio_t"] = out["rms_boot_sd_t"] / out["sampling_sd_t"]
    out["duplicates_split"] = float(
        np.nanmean([r["duplicates_split"] for r in records])
    )
    # Where the conservativeness comes from: the bootstrap's spread (SD) and
    # the shape of its tails, against the sampling distribution's.
    out["sampling_q95_over_sd_diff"] = float(
        np.quantile(np.abs(diffs), 0.95) / diffs.std(ddof=1)
    )
    out["mean_boot_q95_over_sd_diff"] = float(
        np.mean([r["boot_q95_over_sd_diff"] for r in records])
    )
    out["sampling_kurtosis_diff"] = float(
        np.mean((diffs - diffs.mean()) ** 4) / diffs.var() ** 2
    )
    out["mean_boot_kurtosis_diff"] = float(
        np.mean([r["boot_kurtosis_diff"] for r in records])
    )
    return out
