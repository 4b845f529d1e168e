"""Compare designs by simulating whole experiments, in parallel and reproducibly."""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone

from skassign.inference._statistics import lin_weights
from skassign.metrics import mahalanobis_imbalance, standardized_mean_difference
from skassign.utils._parallel import parallel_in_order
from skassign.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from skassign.utils._progress import progress_bar
from skassign.utils._random import set_random_states, spawn_seeds

__all__ = ["compare_designs"]

# Keys of the child seed sequences of one experiment (see _child).
_COVARIATES, _DESIGN, _OUTCOME, _TEST = 0, 1, 2, 3

SUMMARY_COLUMNS = [
    "design",
    "effect",
    "n_experiments",
    "n_failed",
    "n_tests",
    "mean_estimate",
    "bias",
    "sd",
    "rmse",
    "rejection_rate",
    "rejection_se",
    "coverage",
    "max_abs_smd",
    "mahalanobis",
    "time_per_assignment",
]


def _key(value):
    """Return a stable 32-bit key of a design name or an effect (for child seeds)."""
    return zlib.crc32(repr(value).encode("utf-8"))


def _child(seed, *keys):
    """Return the child of ``seed`` at the spawn path ``keys``.

    Built from the entropy and spawn key, not by ``spawn``, so that it does
    not depend on how many children were spawned before (the same object is
    reused across tasks with ``n_jobs=1`` and thread backends).
    """
    return np.random.SeedSequence(
        seed.entropy, spawn_key=tuple(seed.spawn_key) + tuple(int(k) for k in keys)
    )


def _draw_covariates(covariates, seed):
    if callable(covariates):
        return covariates(np.random.default_rng(_child(seed, _COVARIATES)))
    return covariates


def _numeric_part(X):
    """Numeric covariates for the balance metrics (None if there are none)."""
    if hasattr(X, "select_dtypes"):
        part = X.select_dtypes(include=["number", "bool"])
        if part.shape[1] == 0:
            return None, []
        return part.to_numpy(dtype=np.float64), [str(c) for c in part.columns]
    values = np.asarray(X)
    if not np.issubdtype(values.dtype, np.number) and values.dtype != bool:
        return None, []
    values = values.astype(np.float64).reshape(values.shape[0], -1)
    return values, [f"x{j}" for j in range(values.shape[1])]


def _estimate(estimator, X, y, labels, Xnum):
    treated = labels != 0
    if estimator == "difference":
        return float(y[treated].mean() - y[~treated].mean())
    if estimator == "regression":
        if Xnum is None:
            raise ValueError(
                'estimator="regression" needs numeric covariates to adjust for.'
            )
        w = lin_weights(Xnum[None], treated.astype(np.int64)[None], 2, np.array([1]), 0)
        return float(w[0, 0] @ y)
    return float(estimator(X, y, labels))


def _welch(y, labels, effect, alpha):
    """Welch's t-test of the treated units against the control arm."""
    treated = labels != 0
    result = stats.ttest_ind(y[treated], y[~treated], equal_var=False)
    pvalue = float(result.pvalue)
    low, high = result.confidence_interval(1.0 - alpha)
    covered = bool(low <= effect <= high) if np.isfinite(pvalue) else np.nan
    return pvalue, covered


def _resampling_test(test, design, X, y, labels, effect, seed):
    params = test.get_params(deep=False)
    fitted = clone(test).set_params(
        design=design,
        random_state=int(seed.generate_state(1)[0] >> 1),
        **({"n_jobs": 1} if "n_jobs" in params else {}),
        **({"progress": False} if "progress" in params else {}),
    )
    fitted.fit(X, y, labels)
    pvalue = getattr(fitted, "global_pvalue_", None)
    if pvalue is None or np.ndim(fitted.pvalue_) == 0:
        pvalue = fitted.pvalue_
    interval = getattr(fitted, "confidence_interval_", None)
    covered = np.nan
    if interval is not None and np.ndim(interval) == 1:
        covered = bool(interval[0] <= effect <= interval[1])
    return float(pvalue), covered


def _run_test(test, design, X, y, labels, effect, alpha, seed):
    if test is None or test == "welch":
        return _welch(y, labels, effect, alpha)
    if hasattr(test, "fit") and hasattr(test, "get_params"):
        return _resampling_test(test, design, X, y, labels, effect, seed)
    return float(test(X, y, labels, design, np.random.default_rng(seed))), np.nan


def run_experiment(
    seed, name, design, covariates, outcome, effects, estimator, test, alpha
):
    """Simulate experiment ``seed`` under one design, for every effect.

    Returns one record per effect plus the per-covariate |SMD| of the
    assignment. Warnings are left alone: recording them is not thread-safe
    (``warnings.catch_warnings`` changes global state), and thread backends
    run these experiments. A design that raises is recorded as failed (its error kept);
    a test that raises leaves the estimate and records the test's error.
    """
    X = _draw_covariates(covariates, seed)
    design_key = _key(name)
    start = time.perf_counter()
    try:
        model = set_random_states(clone(design), _child(seed, _DESIGN, design_key))
        labels = np.asarray(model.fit_predict(X)).astype(np.int64, copy=False)
    except Exception as err:  # a design failure is data, not a crash
        error = f"{type(err).__name__}: {' '.join(str(err).split())}"
        records = [
            {"effect": float(e), "failed": True, "error": error} for e in effects
        ]
        return records, None
    seconds = time.perf_counter() - start
    Xnum, _ = _numeric_part(X)
    smd = max_smd = mahal = np.nan
    if Xnum is not None:
        smd = np.abs(standardized_mean_difference(Xnum, labels)).max(axis=0)
        max_smd = float(smd.max())
        mahal = mahalanobis_imbalance(Xnum, labels, covariance="total")
    records = []
    for effect in effects:
        effect = float(effect)
        rng = np.random.default_rng(_child(seed, _OUTCOME, _key(effect)))
        y = np.asarray(outcome(X, labels, effect, rng), dtype=np.float64).ravel()
        estimate = _estimate(estimator, X, y, labels, Xnum)
        record = {
            "effect": effect,
            "failed": False,
            "error": None,
            "estimate": estimate,
            "max_abs_smd": max_smd,
            "mahalanobis": mahal,
            "time": seconds,
            "test_error": None,
        }
        test_seed = _child(seed, _TEST, design_key, _key(effect))
        try:
            pvalue, covered = _run_test(
                test, design, X, y, labels, effect, alpha, test_seed
            )
        except Exception as err:  # counted in n_tests, never dropped silently
            pvalue, covered = np.nan, np.nan
            record["test_error"] = f"{type(err).__name__}: {' '.join(str(err).split())}"
        record["pvalue"] = pvalue
        record["covered"] = covered
        records.append(record)
    return records, smd


def _task(
    index, seed, name, design, covariates, outcome, effects, estimator, test, alpha
):
    records, smd = run_experiment(
        seed, name, design, covariates, outcome, effects, estimator, test, alpha
    )
    for record in records:
        record["experiment"] = index
        record["design"] = name
    return records, smd


def _summarise(experiments, names, effects, alpha):
    rows = []
    for name in names:
        for effect in effects:
            part = experiments[
                (experiments["design"] == name) & (experiments["effect"] == effect)
            ]
            ok = part[~part["failed"]]
            est = ok["estimate"].to_numpy(dtype=np.float64)
            pvalues = ok["pvalue"].to_numpy(dtype=np.float64)
            pvalues = pvalues[np.isfinite(pvalues)]
            covered = ok["covered"].to_numpy(dtype=np.float64)
            covered = covered[np.isfinite(covered)]
            n_tests = pvalues.size
            rate = float(np.mean(pvalues <= alpha)) if n_tests else np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                rows.append(
                    {
                        "design": name,
                        "effect": effect,
                        "n_experiments": len(part),
                        "n_failed": int(part["failed"].sum()),
                        "n_tests": n_tests,
                        "mean_estimate": float(np.mean(est)) if est.size else np.nan,
                        "bias": float(np.mean(est) - effect) if est.size else np.nan,
                        "sd": float(np.std(est, ddof=1)) if est.size > 1 else np.nan,
                        "rmse": (
                            float(np.sqrt(np.mean((est - effect) ** 2)))
                            if est.size
                            else np.nan
                        ),
                        "rejection_rate": rate,
                        "rejection_se": (
                            float(np.sqrt(rate * (1 - rate) / n_tests))
                            if n_tests
                            else np.nan
                        ),
                        "coverage": float(covered.mean()) if covered.size else np.nan,
                        "max_abs_smd": float(ok["max_abs_smd"].mean()),
                        "mahalanobis": float(ok["mahalanobis"].mean()),
                        "time_per_assignment": float(ok["time"].mean()),
                    }
                )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


class DesignComparison(pd.DataFrame):
    """The table of :func:`compare_designs`, with the experiments behind it.

    A :class:`pandas.DataFrame` (one row per design and effect) whose
    ``experiments``, ``covariate_balance``, ``failures`` and ``alpha``
    attributes follow it through selections (``table[table.effect == 0]``).
    They are attributes, not ``DataFrame.attrs``, so that ``pd.concat`` of
    two comparisons works (it drops them).
    """

    _metadata = ["experiments", "covariate_balance", "failures", "alpha"]
    experiments = None
    covariate_balance = None
    failures = None
    alpha = None

    @property
    def _constructor(self):
        return DesignComparison


def _check_designs(designs):
    if not isinstance(designs, Mapping) or not designs:
        raise ValueError(
            "designs must be a non-empty dict mapping names to designs, e.g. "
            '{"complete": CompleteRandomization(), "optimal": OptimalBalance()}.'
        )
    for name, design in designs.items():
        if not (hasattr(design, "fit_predict") and hasattr(design, "get_params")):
            raise ValueError(
                f"designs[{name!r}] is a {type(design).__name__}, not a design: it "
                "needs fit_predict and get_params (a design or a Pipeline ending "
                "in one)."
            )
    return {str(name): design for name, design in designs.items()}


def _check_covariates(covariates, rng_seed):
    """Draw one sample to check the covariates early, in the parent process."""
    X = _draw_covariates(covariates, rng_seed)
    if not hasattr(X, "shape") or len(getattr(X, "shape", ())) != 2:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                "covariates must be a 2-D array or DataFrame (n_units, n_features), "
                "or a callable returning one from a numpy Generator; got an array "
                f"of shape {X.shape}."
            )
    if X.shape[0] < 2:
        raise ValueError(f"covariates have {X.shape[0]} unit(s); need at least 2.")


@validate_params(
    {
        "designs": [dict, Mapping],
        "covariates": ["array-like", callable],
        "outcome": [callable],
        "effects": ["array-like", Real],
        "n_experiments": [Interval(Integral, 1, None, closed="left")],
        "estimator": [StrOptions({"difference", "regression"}), callable],
        "test": [
            None,
            StrOptions({"welch"}),
            HasMethods(["fit", "get_params"]),
            callable,
        ],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "progress": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def compare_designs(
    designs,
    covariates,
    outcome,
    *,
    effects=(0,),
    n_experiments=1000,
    estimator="difference",
    test=None,
    alpha=0.05,
    n_jobs=None,
    random_state=None,
    progress=False,
):
    """Compare designs by simulating whole experiments under each of them.

    Every experiment draws the units' covariates (or reuses the fixed ones),
    assigns them with a fresh clone of each design, makes the outcomes for
    each effect, estimates the effect and tests it. The result is one row per
    design and effect: the estimate's mean, bias, standard deviation and
    RMSE, the test's rejection rate (its size at effect 0, its power
    otherwise) with the Monte Carlo standard error, the coverage of its
    intervals, the balance of the assignments and the time one assignment
    took.

    **Reproducible at any scale.** Experiment ``i`` gets its own child
    :class:`numpy.random.SeedSequence` of ``random_state``; the covariates,
    each design's seed, each effect's outcome noise and each test's
    resamples are derived from it by fixed keys (a design's seed from its
    name). Every number except the timing is therefore identical for any
    ``n_jobs`` and joblib backend (loky, threading, and
    ``joblib.parallel_config(backend="dask")`` on a Dask cluster), a design's
    results do not change when other designs are added to the comparison,
    and all designs see the same covariates and the same outcome noise in
    experiment ``i`` (common random numbers: differences between designs
    are measured more precisely than each design alone).

    **Failures are data.** An experiment in which a design raises (a solver
    error, a rerandomisation that finds no acceptable draw) is counted in
    ``n_failed`` and its error kept in ``result.failures``; a test
    that raises counts against ``n_tests``. Statistics use the remaining
    experiments; a warning reports every design with failures.

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    designs : dict of str to estimator
        Named designs (skassign designs, Pipelines ending in one, or any
        estimator with ``fit_predict`` whose ``random_state`` parameters
        drive its randomness). Each experiment fits a reseeded clone.
    covariates : array-like of shape (n_units, n_features) or callable
        Fixed covariates of the units (only the assignment and the outcome
        noise vary between experiments), or a callable ``covariates(rng)``
        returning a fresh sample (array or DataFrame) from a
        :class:`numpy.random.Generator`, such as
        :class:`~skassign.simulation.NormalCovariates`.
    outcome : callable
        ``outcome(X, labels, effect, rng) -> y``: the outcomes of the units
        ``X`` under the assignment ``labels`` when every treated arm has the
        additive ``effect``, such as
        :class:`~skassign.simulation.LinearOutcome`.
    effects : float or array-like of float, default=(0,)
        True effects to simulate; 0 measures the test's size.
    n_experiments : int, default=1000
        Number of simulated experiments (each one is run under every design
        and effect).
    estimator : {"difference", "regression"} or callable, default="difference"
        Estimate of the effect: the difference in means of the treated units
        (every arm but 0) and the control arm 0, Lin's (2013)
        regression-adjusted estimate on the numeric covariates, or a
        callable ``estimator(X, y, labels) -> float``.
    test : None, "welch", resampling test or callable, default=None
        Test of the effect. ``None`` or ``"welch"``: Welch's t-test (cheap;
        conservative for designs that balance the covariates, because it
        ignores the balance). A :class:`~skassign.inference.BootstrapTest`
        or :class:`~skassign.inference.RandomizationTest` instance: a clone
        with ``design`` set to the compared design and its own seed runs in
        every experiment (valid for every design; costly). A callable
        ``test(X, y, labels, design, rng) -> pvalue``.
    alpha : float in (0, 1), default=0.05
        Level of the test (and ``1 - alpha`` the level of Welch's intervals).
    n_jobs : int or None, default=None
        Number of parallel jobs over the experiments (joblib semantics);
        resampling tests run sequentially inside each experiment.
    random_state : int, RandomState instance or None, default=None
        Root seed of the experiments.
    progress : bool, default=False
        Show a progress bar (tqdm) advancing as experiments finish.

    Returns
    -------
    result : pandas.DataFrame
        One row per design and effect, in the order given, with columns

        - ``design``, ``effect``;
        - ``n_experiments``, ``n_failed`` (design errors), ``n_tests``
          (experiments with a p-value);
        - ``mean_estimate``, ``bias`` (mean minus effect), ``sd`` (standard
          deviation of the estimate over experiments), ``rmse``;
        - ``rejection_rate`` (share of p-values at most ``alpha``) and
          ``rejection_se`` (its Monte Carlo standard error,
          ``sqrt(r (1 - r) / n_tests)``), ``coverage`` of the intervals (NaN
          for tests without one);
        - ``max_abs_smd`` (mean over experiments of the largest absolute
          standardised mean difference), ``mahalanobis`` (mean Morgan-Rubin
          Mahalanobis imbalance), both on the numeric covariates as drawn;
        - ``time_per_assignment`` (mean seconds per design fit).

        The table is a :class:`pandas.DataFrame` subclass with four more
        attributes, kept through row and column selection: ``experiments``
        (one row per experiment, design and effect: estimate, p-value,
        balance, time, errors), ``covariate_balance`` (mean ``|SMD|`` per
        design and covariate, for :func:`~skassign.plotting.plot_balance`),
        ``failures`` (the failed experiments and their errors) and
        ``alpha``.

    See Also
    --------
    skassign.plotting.plot_estimates : Distribution of the estimate per design.
    skassign.plotting.plot_power : Rejection rate by effect.
    skassign.plotting.plot_balance : Love plot of the comparison.

    Examples
    --------
    >>> from skassign.designs import CompleteRandomization, Rerandomization
    >>> from skassign.simulation import (
    ...     LinearOutcome, NormalCovariates, compare_designs)
    >>> table = compare_designs(
    ...     {"complete": CompleteRandomization(),
    ...      "rerandomization": Rerandomization(acceptance_prob=0.05)},
    ...     NormalCovariates(n_samples=20, n_features=2),
    ...     LinearOutcome(coef=1.0, noise_sd=0.5),
    ...     effects=[0.0, 1.0], n_experiments=100, random_state=0)
    >>> table[["design", "effect", "sd", "rejection_rate"]].round(2)
                design  effect    sd  rejection_rate
    0         complete     0.0  0.77            0.09
    1         complete     1.0  0.75            0.42
    2  rerandomization     0.0  0.22            0.00
    3  rerandomization     1.0  0.25            0.08

    Rerandomisation cuts the estimate's SD by two thirds; Welch's t-test
    ignores that and becomes conservative (size 0, power 0.08): test a
    balancing design with its own resampling test (``test=``).
    """
    designs = _check_designs(designs)
    effects = [float(e) for e in np.atleast_1d(np.asarray(effects, dtype=np.float64))]
    if not effects or not np.all(np.isfinite(effects)):
        raise ValueError(f"effects must be finite numbers; got {effects}.")
    effects = list(dict.fromkeys(effects))
    if isinstance(test, str) and test != "welch":  # pragma: no cover - validated
        raise ValueError(test)
    seeds = spawn_seeds(random_state, n_experiments)
    _check_covariates(covariates, seeds[0])
    names = list(designs)
    tasks = [
        (
            i,
            seed,
            name,
            designs[name],
            covariates,
            outcome,
            effects,
            estimator,
            test,
            alpha,
        )
        for i, seed in enumerate(seeds)
        for name in names
    ]
    with progress_bar(
        progress, total=len(tasks), desc="experiments", unit="exp"
    ) as bar:
        results = parallel_in_order(_task, tasks, n_jobs=n_jobs, bar=bar)

    rows, balance = [], {}
    for (_i, _, name, *_rest), (records, smd) in zip(tasks, results, strict=True):
        rows.extend(records)
        if smd is not None:
            balance.setdefault(name, []).append(smd)
    columns = [
        "experiment", "design", "effect", "failed", "error", "estimate", "pvalue",
        "covered", "max_abs_smd", "mahalanobis", "time", "test_error",
    ]  # fmt: skip
    experiments = pd.DataFrame(rows).reindex(columns=columns)
    experiments["failed"] = experiments["failed"].astype(bool)
    summary = _summarise(experiments, names, effects, alpha)

    covariate_names = _numeric_part(_draw_covariates(covariates, seeds[0]))[1]
    balance_rows = [
        {"design": name, "covariate": c, "smd": float(v)}
        for name in names
        if name in balance
        for c, v in zip(covariate_names, np.mean(balance[name], axis=0), strict=True)
    ]
    failures = experiments.loc[
        experiments["failed"], ["experiment", "design", "error"]
    ].drop_duplicates(["experiment", "design"])
    summary = DesignComparison(summary)
    summary.experiments = experiments
    summary.covariate_balance = pd.DataFrame(
        balance_rows, columns=["design", "covariate", "smd"]
    )
    summary.failures = failures.reset_index(drop=True)
    summary.alpha = alpha
    _warn_failures(failures, experiments, n_experiments)
    return summary


def _warn_failures(failures, experiments, n_experiments):
    if failures.shape[0]:
        parts = []
        for name, group in failures.groupby("design", sort=False):
            parts.append(
                f"{name}: {group.shape[0]} of {n_experiments} (first: "
                f"{group['error'].iloc[0]})"
            )
        warnings.warn(
            "Some experiments failed because the design raised; they are counted "
            "in n_failed and listed in result.failures, and the "
            "statistics use the other experiments. " + "; ".join(parts),
            UserWarning,
            stacklevel=3,
        )
    test_errors = experiments["test_error"].dropna()
    if test_errors.size:
        warnings.warn(
            f"The test raised in {test_errors.size} experiment(s) (first: "
            f"{test_errors.iloc[0]}); they have no p-value and are left out of "
            "n_tests and the rejection rate.",
            UserWarning,
            stacklevel=3,
        )
