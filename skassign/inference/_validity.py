"""Validity experiments of the resampling tests: size, power and coverage.

One *experiment* simulates units, assigns them with a design, simulates
outcomes without effect and with a constant additive effect (the same units,
assignment and noise), and runs the test with every statistic on both. The
slow validity tests (``tests/long/test_inference_validity.py``) and
``benchmarks/bench_inference.py`` share these functions.

The design's draws are memoised within an experiment (:class:`MemoDesign`):
the test is refit for three statistics and two outcome vectors, and a
design only sees the covariates, so its draws for a given seed are the same
every time. Memoising changes no result, only the time.

Identity used in the summaries: under a constant additive effect the
interval of a two-arm test holds the true effect when the test without
effect (same units, assignment, noise and resamples) does not reject,
because the outcomes adjusted by the true effect are the outcomes without
effect (exactly so when the accepted effects form an interval, which the
search for the ends assumes). Coverage at a non-zero effect therefore
repeats the size for two arms; with three arms the other arm's effect is
held at its estimate, and coverage is a separate, approximate property.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone

from skassign.datasets import make_tumor_mice, simulate_tumor_growth
from skassign.exceptions import SolverError
from skassign.inference._bootstrap import BootstrapTest
from skassign.inference._randomization import RandomizationTest

__all__ = ["MemoDesign", "assess", "run_experiment", "summarise", "validity_cases"]

STATISTICS = ("mean_difference", "t", "regression_adjusted")


def validity_cases():
    """Return the cases of the slow validity tests and ``bench_inference.py``.

    Returns
    -------
    cases : list of dict
        ``id``, ``test``, ``design``, ``n_groups``, ``effect`` (of arm 1; arm
        2 gets half), ``n_experiments`` (in the slow tests) and
        ``n_resamples``.

    Examples
    --------
    >>> from skassign.inference._validity import validity_cases
    >>> [case["id"] for case in validity_cases()][:2]
    ['complete-2', 'complete-3']
    """
    from skassign.designs import (
        CompleteRandomization,
        MinMSE,
        OptimalBalance,
        Rerandomization,
    )

    rows = [
        ("complete-2", "randomization", CompleteRandomization(), 2, 1.0, 400),
        ("complete-3", "randomization", CompleteRandomization(n_groups=3), 3, 1.0, 400),
        (
            "rerandomization-2",
            "randomization",
            Rerandomization(acceptance_prob=0.1),
            2,
            1.0,
            400,
        ),
        (
            "rerandomization-3",
            "randomization",
            Rerandomization(n_groups=3, acceptance_prob=0.1),
            3,
            1.0,
            400,
        ),
        ("minmse-2", "randomization", MinMSE(iterations=300), 2, 1.0, 300),
        ("minmse-3", "randomization", MinMSE(n_groups=3, iterations=300), 3, 1.0, 300),
        ("bootstrap-optimal-2", "bootstrap", OptimalBalance(rho=0.5), 2, -100.0, 400),
        (
            # Three arms of ten mice: the exact path does not reach 30 units,
            # so a fixed tabu search (deterministic, about 10 ms a fit) stands
            # in for the time-limited solve that the bootstrap re-runs on
            # every resample.
            "bootstrap-optimal-3",
            "bootstrap",
            OptimalBalance(
                n_groups=3,
                rho=0.5,
                method="heuristic",
                heuristic_iter=2000,
                exchange_iter=0,
            ),
            3,
            -100.0,
            400,
        ),
    ]
    keys = ("id", "test", "design", "n_groups", "effect", "n_experiments")
    return [dict(zip(keys, row, strict=True), n_resamples=19) for row in rows]


class MemoDesign(BaseEstimator):
    """A design whose labels are memoised on (seed, covariates).

    Parameters
    ----------
    design : estimator
        The design; its ``random_state`` is set by the tests through the
        nested parameter ``design__random_state``.
    """

    _memo: dict = {}

    def __init__(self, design):
        self.design = design

    def fit_predict(self, X, y=None, **fit_params):
        X = np.ascontiguousarray(X, dtype=np.float64)
        # Within an experiment only the seed and the units change.
        key = (getattr(self.design, "random_state", None), X.shape, X.tobytes())
        if key not in self._memo:
            self._memo[key] = np.asarray(
                clone(self.design).fit_predict(X, **fit_params), dtype=np.int64
            )
        return self._memo[key].copy()


def _effects(n_groups, effect):
    """Effect of every arm: ``effect`` for arm 1, half of it for arm 2."""
    return np.array([0.0, effect, 0.5 * effect][:n_groups])


def _simulate(seed, kind, n_groups):
    """Covariates and outcomes (without and with the effect) of one experiment."""
    if kind == "mice":
        mice = make_tumor_mice(n_mice=10 * n_groups, random_state=seed)
        w = mice["initial_weight"].to_numpy()
        X = ((w - w.mean()) / w.std(ddof=1)).reshape(-1, 1)
        return X, w
    n = 12 * n_groups
    X = np.random.default_rng(seed).normal(size=(n, 2))
    return X, X @ np.array([1.0, 0.5])


def run_experiment(
    seed,
    design,
    *,
    test="randomization",
    n_groups=2,
    effect=1.0,
    n_resamples=19,
    statistics=STATISTICS,
    confidence_level=0.95,
):
    """Run one experiment; return p-values and coverage for both outcomes.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        Seed of the units, the noise, the design and the test.
    design : estimator
        Design with ``n_groups`` arms (its ``random_state`` is set here).
    test : {"randomization", "bootstrap"}, default="randomization"
        ``"randomization"``: :class:`RandomizationTest` on ``12 * n_groups``
        units with two standard-normal covariates, outcome
        ``x1 + 0.5 x2 + effect + N(0, 1)``. ``"bootstrap"``:
        :class:`BootstrapTest` on ``10 * n_groups`` tumour mice (standardised
        initial weight, Gomp-ex growth, noise SD 50 mg).
    n_groups : int, default=2
        Number of arms.
    effect : float, default=1.0
        Effect of arm 1 in the second outcome (arm 2: half of it).
    n_resamples : int, default=19
        Resamples per test.
    statistics : tuple of str, default=all three
        Statistics to test.
    confidence_level : float, default=0.95
        Level of the intervals.

    Returns
    -------
    result : dict
        ``{(statistic, effect): {"pvalue", "global_pvalue", "covered",
        "n_unique"}}`` with one entry per treated arm in ``pvalue`` and
        ``covered``; ``None`` for a test stopped by a solver error.

    Examples
    --------
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.inference._validity import run_experiment
    >>> out = run_experiment(0, CompleteRandomization(), statistics=("t",))
    >>> sorted(out)
    [('t', 0.0), ('t', 1.0)]
    >>> sorted(out["t", 1.0])
    ['covered', 'global_pvalue', 'n_unique', 'pvalue']
    """
    seeds = np.random.SeedSequence(seed).generate_state(3)
    X, signal = _simulate(int(seeds[0]), _kind(test), n_groups)
    memo = MemoDesign(clone(design).set_params(random_state=int(seeds[1])))
    labels = memo.fit_predict(X)
    outcomes = {}
    for value in (0.0, float(effect)):
        if _kind(test) == "mice":
            y = simulate_tumor_growth(
                signal,
                labels != 0,
                effect=0.0,
                noise_sd=50.0,
                random_state=int(seeds[0]),
            )
            y = y + _effects(n_groups, value)[labels]
        else:
            noise = np.random.default_rng(int(seeds[0]) + 1).normal(size=len(labels))
            y = signal + _effects(n_groups, value)[labels] + noise
        outcomes[value] = y
    cls = RandomizationTest if test == "randomization" else BootstrapTest
    results = {}
    try:
        for statistic in statistics:
            for value, y in outcomes.items():
                fitted = cls(
                    memo,
                    n_resamples=n_resamples,
                    statistic=statistic,
                    confidence_level=confidence_level,
                    random_state=int(seeds[2]),
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted.fit(X, y, labels)
                truth = _effects(n_groups, value)[1:]
                ci = np.asarray(fitted.confidence_interval_).reshape(-1, 2)
                results[statistic, value] = {
                    "pvalue": np.atleast_1d(fitted.pvalue_).tolist(),
                    "global_pvalue": float(fitted.global_pvalue_),
                    "covered": ((ci[:, 0] <= truth) & (truth <= ci[:, 1])).tolist(),
                    "n_unique": getattr(fitted, "n_unique_", None),
                }
    except SolverError:
        results = {
            (statistic, value): None for statistic in statistics for value in outcomes
        }
    finally:
        MemoDesign._memo.clear()
    return results


def _kind(test):
    return "mice" if test == "bootstrap" else "gaussian"


def _binomial_se(rate, n):
    return float(np.sqrt(rate * (1.0 - rate) / n)) if n else float("nan")


def summarise(results, alpha=0.05):
    """Size or power, global rejection and coverage, with Monte Carlo SE.

    Parameters
    ----------
    results : list of dict
        Outputs of :func:`run_experiment`.
    alpha : float, default=0.05
        Level of the tests.

    Returns
    -------
    table : list of dict
        One row per statistic, effect and treated arm: ``rejection`` (the
        size at effect 0, the power otherwise) with ``rejection_se``,
        ``coverage`` with ``coverage_se``, ``global_rejection`` with its SE,
        the number of experiments and of failed ones, and the mean number of
        distinct assignments among the draws (randomisation tests).
    """
    rows = []
    keys = sorted({key for result in results for key in result})
    for statistic, value in keys:
        cells = [r[statistic, value] for r in results]
        ok = [c for c in cells if c is not None]
        n = len(ok)
        pvalues = np.array([c["pvalue"] for c in ok])
        covered = np.array([c["covered"] for c in ok], dtype=np.float64)
        global_reject = np.array([c["global_pvalue"] <= alpha for c in ok])
        unique = [c["n_unique"] for c in ok if c["n_unique"] is not None]
        for j in range(pvalues.shape[1]):
            reject = float(np.mean(pvalues[:, j] <= alpha))
            cover = float(np.mean(covered[:, j]))
            rows.append(
                {
                    "statistic": statistic,
                    "effect": value,
                    "arm": j + 1,
                    "n_experiments": n,
                    "n_failed": len(cells) - n,
                    "rejection": reject,
                    "rejection_se": float(
                        np.sqrt(max(reject * (1 - reject), 1e-12) / n)
                    ),
                    "coverage": cover,
                    "coverage_se": _binomial_se(cover, n),
                    "global_rejection": float(global_reject.mean()),
                    "mean_distinct_draws": float(np.mean(unique)) if unique else None,
                }
            )
    return rows


def assess(table, test, n_groups, *, alpha=0.05, z=3.5):
    """Check a case's table against its Monte Carlo bands.

    * size (effect 0, every arm and the global test): within
      ``alpha +- z * sqrt(alpha (1 - alpha) / n)`` for a randomisation test
      (exact); at most its upper end for the bootstrap (approximate);
    * coverage at the non-zero effect: two arms, one minus the size of the
      same experiments (an identity, up to 1% of experiments whose accepted
      set of effects is not an interval); three arms, within
      ``1 - alpha +- z * SE`` (the other arm is held at its estimate), and
      for the bootstrap (conservative) at least its lower end.

    Parameters
    ----------
    table : list of dict
        Output of :func:`summarise`.
    test : {"randomization", "bootstrap"}
        The test of the case.
    n_groups : int
        Number of arms.
    alpha : float, default=0.05
        Level.
    z : float, default=3.5
        Half-width of the bands in Monte Carlo standard errors.

    Returns
    -------
    failures : list of str
        Empty when every check passes.
    """
    failures = []
    null_rows = {(r["statistic"], r["arm"]): r for r in table if r["effect"] == 0}
    for row in table:
        n = row["n_experiments"]
        where = f"{row['statistic']} arm {row['arm']} effect {row['effect']}"
        if row["n_failed"] > 0.01 * (n + row["n_failed"]):
            failures.append(f"{where}: {row['n_failed']} experiments failed")
        if row["effect"] == 0:
            band = z * np.sqrt(alpha * (1 - alpha) / n)
            rates = [("size", row["rejection"])]
            if n_groups > 2 and row["arm"] == 1:
                rates.append(("global size", row["global_rejection"]))
            for name, rate in rates:
                if rate > alpha + band:
                    failures.append(f"{where}: {name} {rate:.3f} > {alpha + band:.3f}")
                if test == "randomization" and rate < alpha - band:
                    failures.append(f"{where}: {name} {rate:.3f} < {alpha - band:.3f}")
        elif n_groups == 2:
            # Identity, up to experiments whose accepted set {tau : p(tau) >
            # alpha} is not an interval (the bisection sees its outer edges).
            expected = 1 - null_rows[row["statistic"], row["arm"]]["rejection"]
            if abs(row["coverage"] - expected) > 0.01:
                failures.append(
                    f"{where}: coverage {row['coverage']:.3f} is not one minus the "
                    f"size {expected:.3f}"
                )
        else:
            band = z * np.sqrt(alpha * (1 - alpha) / n)
            low, high = 1 - alpha - band, 1 - alpha + band
            if row["coverage"] < low or (
                test == "randomization" and row["coverage"] > high
            ):
                failures.append(
                    f"{where}: coverage {row['coverage']:.3f} outside "
                    f"{1 - alpha:.2f} +- {band:.3f}"
                )
    return failures
