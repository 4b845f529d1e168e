"""Why the bootstrap test of OptimalBalance is conservative on the mice.

The model is item 1 of ``bench_compare_designs.py``: 20 fresh mice per
experiment (``TumorMiceCovariates``), ``OptimalBalance(rho=0.5)`` after a
``StandardScaler`` (refit on every resample), one day of Gomp-ex growth
without measurement noise (``--noise-sd`` adds it), no effect. Three parts:

1. **Sampling distribution** (``--sampling-experiments``, cheap: one fit per
   experiment): the SD of the difference in means over fresh experiments.
2. **Bootstrap** (``--experiments``, ``--n-resamples`` each, with
   :class:`~skassign.inference.BootstrapTest`): its size at 5%, the
   distribution of its p-values, the mean bootstrap variance against the
   sampling variance (the variance ratio), and how strongly the bootstrap's
   spread follows the observed statistic in the same experiment
   (``corr(|T_obs|, SD_boot)``; the variance of ``T_obs / SD_boot``, which is
   about 1 for a calibrated pivot). Also the size if the null were
   rescaled by the (otherwise unknown) ratio of the sampling SD to the RMS
   bootstrap SD, and with three studentised forms (Welch's standard error;
   the SD of all outcomes; the residual SD of the outcomes on the
   standardised weight and its square, the moments the design balances).
3. **Second-level bootstrap** (``--double K C`` on the first
   ``--double-experiments`` experiments): inside the bootstrap world
   (the sample as the population), ``K`` first-level resamples, each tested
   with ``C`` resamples of its own. If the bootstrap world reproduces the
   conservativeness, the rejection rate of these inner tests is below 5%
   too, and a double bootstrap (calibrating the level on it) would correct
   the test, at ``C`` times the cost.

Writes ``results/study_bootstrap_size.json`` (commit, machine, date, load,
command). Run under ``nice``: it is CPU-heavy.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _provenance import commit  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from sklearn import config_context  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skassign.designs import OptimalBalance  # noqa: E402
from skassign.inference import BootstrapTest  # noqa: E402
from skassign.simulation import TumorGrowthOutcome, TumorMiceCovariates  # noqa: E402

ALPHA = 0.05


def _design():
    return make_pipeline(StandardScaler(), OptimalBalance(rho=0.5))


def _fit(design, weights, seed):
    model = clone(design).set_params(optimalbalance__random_state=seed)
    X = pd.DataFrame({"initial_weight": weights})
    return np.asarray(model.fit_predict(X)).astype(np.int64)


def _diff(y, labels):
    return y[labels == 1].mean() - y[labels == 0].mean()


def _draw(seed, noise_sd):
    """Mice, assignment and outcomes (no effect) of experiment ``seed``."""
    rng = np.random.default_rng([seed, 2026])
    X = TumorMiceCovariates()(rng)
    labels = _fit(_design(), X["initial_weight"].to_numpy(), int(rng.integers(2**31)))
    y = np.asarray(TumorGrowthOutcome(noise_sd=noise_sd)(X, labels, 0.0, rng))
    return X, labels, y, rng


def sampling_experiment(seed, noise_sd):
    """The observed difference in means of one experiment."""
    with config_context(skip_parameter_validation=True):
        _, labels, y, _ = _draw(seed, noise_sd)
    return _diff(y, labels)


def _studentisers(w, y, labels):
    """Welch's SE, the SD of all outcomes, the residual SD on (w, w^2)."""
    t, c = y[labels == 1], y[labels == 0]
    welch = np.sqrt(t.var(ddof=1) / t.size + c.var(ddof=1) / c.size)
    z = (w - w.mean()) / w.std()
    A = np.column_stack([np.ones_like(z), z, z**2])
    residual = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    return welch, y.std(ddof=1), np.sqrt(np.mean(residual**2))


def bootstrap_experiment(seed, noise_sd, n_resamples):
    """One bootstrap test; its statistic, null, p-value and studentised forms.

    The first level uses :class:`BootstrapTest`; the studentised forms need
    the resampled rows, so they are recomputed by a plain bootstrap with the
    same design (not the same resamples).
    """
    X, labels, y, rng = _draw(seed, noise_sd)
    test = BootstrapTest(
        _design(),
        n_resamples=n_resamples,
        confidence_level=None,
        n_jobs=1,
        random_state=int(rng.integers(2**31)),
    ).fit(X, y, labels)
    null = np.asarray(test.null_distribution_)
    w = X["initial_weight"].to_numpy()
    obs_stud = np.array(_studentisers(w, y, labels))
    stud_null = np.empty((n_resamples, 3))
    plain_null = np.empty(n_resamples)
    with config_context(skip_parameter_validation=True):
        for b in range(n_resamples):
            rows = rng.integers(0, w.size, size=w.size)
            lab = _fit(_design(), w[rows], int(rng.integers(2**31)))
            plain_null[b] = _diff(y[rows], lab)
            stud_null[b] = _studentisers(w[rows], y[rows], lab)
    t_obs = test.statistic_
    stud_p = [
        (1 + np.sum(np.abs(plain_null / stud_null[:, j]) >= abs(t_obs / obs_stud[j])))
        / (1 + n_resamples)
        for j in range(3)
    ]
    return {
        "seed": seed,
        "t_obs": float(t_obs),
        "pvalue": float(test.pvalue_),
        "null_sd": float(null.std()),
        "null": null.tolist(),
        "plain_pvalue": float(
            (1 + np.sum(np.abs(plain_null) >= abs(t_obs))) / (1 + n_resamples)
        ),
        "studentised_pvalues": [float(p) for p in stud_p],
    }


def double_experiment(seed, noise_sd, n_outer, n_inner):
    """Inner bootstrap tests inside the bootstrap world of experiment ``seed``."""
    X, _, y, rng = _draw(seed, noise_sd)
    w = X["initial_weight"].to_numpy()
    design = _design()
    out = []
    with config_context(skip_parameter_validation=True):
        for _ in range(n_outer):
            rows = rng.integers(0, w.size, size=w.size)
            t_k = _diff(y[rows], _fit(design, w[rows], int(rng.integers(2**31))))
            inner = np.empty(n_inner)
            for c in range(n_inner):
                rows2 = rows[rng.integers(0, w.size, size=w.size)]
                inner[c] = _diff(
                    y[rows2], _fit(design, w[rows2], int(rng.integers(2**31)))
                )
            p = (1 + np.sum(np.abs(inner) >= abs(t_k))) / (1 + n_inner)
            out.append((float(t_k), float(inner.std()), float(p)))
    return out


def _rate(flags):
    flags = np.asarray(flags, dtype=float)
    rate = float(flags.mean())
    return rate, float(np.sqrt(rate * (1 - rate) / flags.size))


def summarise(sampling, boot, double):
    """The table of the study (see the module docstring)."""
    sampling = np.asarray(sampling)
    sampling_sd = float(sampling.std(ddof=1))
    t_obs = np.array([r["t_obs"] for r in boot])
    null_sd = np.array([r["null_sd"] for r in boot])
    pvalues = np.array([r["pvalue"] for r in boot])
    rms_null_sd = float(np.sqrt(np.mean(null_sd**2)))
    out = {
        "sampling_experiments": int(sampling.size),
        "sampling_sd": sampling_sd,
        "sampling_kurtosis": float(
            np.mean((sampling - sampling.mean()) ** 4) / sampling.var() ** 2
        ),
        "bootstrap_experiments": len(boot),
        "rms_bootstrap_sd": rms_null_sd,
        "variance_ratio_bootstrap_to_sampling": (rms_null_sd / sampling_sd) ** 2,
        "corr_abs_t_obs_bootstrap_sd": float(np.corrcoef(np.abs(t_obs), null_sd)[0, 1]),
        "var_t_obs_over_bootstrap_sd": float(np.var(t_obs / null_sd)),
    }
    for level in (0.01, ALPHA, 0.1, 0.2, 0.5):
        rate, se = _rate(pvalues <= level)
        out[f"rejection_at_{level}"] = rate
        out[f"rejection_at_{level}_se"] = se
    out["size"], out["size_se"] = (
        out[f"rejection_at_{ALPHA}"],
        out[f"rejection_at_{ALPHA}_se"],
    )
    # The null rescaled by sampling SD / RMS bootstrap SD (an oracle: the
    # sampling SD is unknown in a real experiment).
    scale = sampling_sd / rms_null_sd
    rescaled = [
        (1 + np.sum(np.abs(scale * np.asarray(r["null"])) >= abs(r["t_obs"])))
        / (1 + len(r["null"]))
        for r in boot
    ]
    out["oracle_rescale_factor"] = scale
    out["size_oracle_rescaled"], out["size_oracle_rescaled_se"] = _rate(
        np.array(rescaled) <= ALPHA
    )
    out["size_plain_bootstrap"], out["size_plain_bootstrap_se"] = _rate(
        [r["plain_pvalue"] <= ALPHA for r in boot]
    )
    for j, name in enumerate(("welch_se", "outcome_sd", "residual_sd_w_w2")):
        out[f"size_studentised_{name}"], out[f"size_studentised_{name}_se"] = _rate(
            [r["studentised_pvalues"][j] <= ALPHA for r in boot]
        )
    if double:
        inner = np.array([rec for exp in double for rec in exp])
        out["double_experiments"] = len(double)
        out["double_inner_tests"] = int(inner.shape[0])
        out["double_inner_rejection_at_0.05"] = float(np.mean(inner[:, 2] <= ALPHA))
        per_exp = [np.mean(np.array(exp)[:, 2] <= ALPHA) for exp in double]
        out["double_inner_rejection_se_between_experiments"] = float(
            np.std(per_exp, ddof=1) / np.sqrt(len(per_exp))
        )
        out["double_corr_abs_t_inner_sd"] = float(
            np.corrcoef(np.abs(inner[:, 0]), inner[:, 1])[0, 1]
        )
        out["double_var_t_over_inner_sd"] = float(np.var(inner[:, 0] / inner[:, 1]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--n-resamples", type=int, default=200)
    parser.add_argument("--sampling-experiments", type=int, default=4000)
    parser.add_argument("--double", type=int, nargs=2, default=(20, 19))
    parser.add_argument("--double-experiments", type=int, default=20)
    parser.add_argument("--noise-sd", type=float, default=0.0)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--output", type=Path, default=HERE / "results" / "study_bootstrap_size.json"
    )
    args = parser.parse_args(argv)
    argv_used = sys.argv[1:] if argv is None else list(argv)
    warnings.simplefilter("ignore", UserWarning)
    start = time.perf_counter()
    run = Parallel(n_jobs=args.n_jobs)
    sampling = run(
        delayed(sampling_experiment)(s, args.noise_sd)
        for s in range(10**6, 10**6 + args.sampling_experiments)
    )
    boot = run(
        delayed(bootstrap_experiment)(s, args.noise_sd, args.n_resamples)
        for s in range(args.experiments)
    )
    double = run(
        delayed(double_experiment)(s, args.noise_sd, *args.double)
        for s in range(args.double_experiments)
    )
    table = summarise(sampling, boot, double)
    result = {
        "commit": commit(short=True),
        "command": " ".join(["python benchmarks/study_bootstrap_size.py", *argv_used]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
        },
        "noise_sd": args.noise_sd,
        "n_resamples": args.n_resamples,
        "double": list(args.double),
        "wall_time_s": time.perf_counter() - start,
        "summary": table,
        "pvalues": [r["pvalue"] for r in boot],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in table.items():
        print(f"{key:<48} {value:.4g}")
    print(f"written to {args.output}")
    return result


if __name__ == "__main__":
    main()
