"""Benchmark of OptimalBalance against the case study's own code.

Reproduces the "Must show" list of the OptimalBalance issue and prints one
table per item; everything is also written to
``benchmarks/results/bench_optimal_balance.json``.

1. The 20 mice: proven optimum, arm statistics, and solve time against the
   case study's OR-Tools + SCIP code (``_seed_reference.py``), measured
   interleaved in the same run.
2. Exact oracle: proven optimum against brute force over all splits
   (n <= 16; 2 and 3 groups; both second-moment modes).
3. Scale: n in {40, 60, 100} x {1, 3, 5} covariates x {2, 3, 4} groups,
   standard normal covariates. OptimalBalance with a 10 s budget (wall
   time; ``n_jobs=2``: where the iterated search fills the time, two
   threads search side by side, on the machine's two cores) against the
   case study's plain formulation (all x[i, p] binaries, no warm start, no
   symmetry breaking, default SCIP settings, same SCIP through PySCIPOpt)
   with 30 s.
4. The heuristic alone on n = 1000, 5 covariates, 4 groups, against the
   median objective of complete randomisation.
6. The exact path (issue 15): warm fits of the 20 mice on the exact path
   (``method="auto"`` takes it) against the case study's code, interleaved,
   median of at least 50; and, for the switch-over of ``method="auto"``,
   the exact path against the solver path on small problems (two groups of
   10 and 12, three groups of 6 and 8, four groups of 6; one and three
   covariates), with the count of distinct assignments of each.
5. How attainable item 3's target is: for every scale configuration, a
   Gaussian estimate of the expected number of assignments whose objective
   is at most half the plain formulation's, and of the objective at which
   that number is one (the scale of the optimum). It reads item 3's results
   and checks itself on the configurations whose optimum is proven.

Usage::

    python benchmarks/bench_optimal_balance.py            # full protocol
    python benchmarks/bench_optimal_balance.py --quick    # a few minutes
    python benchmarks/bench_optimal_balance.py --items 1 4
    python benchmarks/bench_optimal_balance.py --items 5  # from item 3's JSON

Timings are wall-clock on a shared machine: the reference and skassign are
always measured alternately in the same run so that load affects both.

Every item's ``pass`` depends on what it measured, quality and time: the
mice, the proven optimum and its statistics at most half the case study's
solve time; the oracle, the optimum equal to brute force (every split
scored by ``plain_discrepancy``, written from the definition, sharing no
code with skassign); scale, within the budget (+1 s), at most the larger of
half the plain formulation's objective and 1.01 times the best objective
known for the configuration; the heuristic, within 5 s, at most a twentieth of
complete randomisation's median and below the best of its draws.

The JSON is one run of the script, with commit, machine, date and load: the
full protocol (about 37 minutes on two cores) writes
``results/bench_optimal_balance.json``; any other selection writes
``results/bench_optimal_balance_partial.json``.

The best known objectives live in
``results/bench_optimal_balance_best_known.json``, one record per scale
configuration: its objective, how it was obtained (a proven optimum, the
plain formulation, or a long run of OptimalBalance), the commit and date,
and its labels, which are re-scored from the definition whenever the file
is read. Every run of item 3 adds its plain formulation's result before
judging, and its own result after; ``--best-known SECONDS`` runs longer
searches (e.g. ``--best-known 120 --configs 40-1-4 --seeds 1 2 3``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from itertools import combinations, product
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _provenance import git as _git  # noqa: E402

from skassign.base import draw_assignments  # noqa: E402
from skassign.datasets import make_tumor_mice  # noqa: E402
from skassign.designs import OptimalBalance  # noqa: E402
from skassign.designs._optimal_problem import _moment_columns  # noqa: E402
from skassign.metrics import moment_discrepancy  # noqa: E402
from skassign.utils._testing import all_assignments  # noqa: E402

RESULTS = HERE / "results" / "bench_optimal_balance.json"
BEST_KNOWN = HERE / "results" / "bench_optimal_balance_best_known.json"

# ---------------------------------------------------------------------------
# The case study's plain formulation for several covariates and groups, built
# with the same SCIP as skassign (PySCIPOpt), default settings.


def plain_formulation(X, sizes, rho, time_limit, seed=0):
    """Seed's model: x[i, p] for all units and groups; no warm start.

    One covariate uses the seed's four sign constraints per pair; several
    covariates linearise the absolute values with auxiliary variables, as
    Bertsimas et al. do.
    """
    import pyscipopt as ps

    start = time.perf_counter()
    n, n_features = X.shape
    m = len(sizes)
    model = ps.Model()
    model.hideOutput()
    x = model.addMatrixVar((n, m), vtype="B")
    d = model.addVar(lb=0.0)
    model.setObjective(d, "minimize")
    model.addMatrixCons(x.sum(axis=0) == np.asarray(sizes))
    model.addMatrixCons(x.sum(axis=1) == 1)
    mu = [(X.T @ x[:, p]) / sizes[p] for p in range(m)]
    sq = [((X * X).T @ x[:, p]) / sizes[p] for p in range(m)]
    for p, q in combinations(range(m), 2):
        if n_features == 1:
            a, b = mu[p][0] - mu[q][0], sq[p][0] - sq[q][0]
            for s1, s2 in product((1, -1), repeat=2):
                model.addCons(d >= s1 * a + s2 * rho * b)
        else:
            t_mu = model.addMatrixVar((n_features,), lb=0.0)
            t_sq = model.addMatrixVar((n_features,), lb=0.0)
            model.addMatrixCons(mu[p] - mu[q] <= t_mu)
            model.addMatrixCons(mu[q] - mu[p] <= t_mu)
            model.addMatrixCons(sq[p] - sq[q] <= t_sq)
            model.addMatrixCons(sq[q] - sq[p] <= t_sq)
            model.addCons(d >= t_mu.sum() + rho * t_sq.sum())
    model.setParam("limits/time", float(time_limit))
    model.setParam("randomization/randomseedshift", seed)
    model.optimize()
    elapsed = time.perf_counter() - start
    labels = np.asarray(model.getVal(x)).argmax(axis=1)
    return {
        "objective": moment_discrepancy(X, labels, rho=rho),
        "bound": float(model.getDualbound()),
        "gap": _gap(moment_discrepancy(X, labels, rho=rho), model.getDualbound()),
        "status": model.getStatus(),
        "time": elapsed,
        "nodes": int(model.getNTotalNodes()),
        "labels": labels,
    }


def _gap(objective, bound):
    if objective <= 0:
        return 0.0
    return float(max(objective - max(bound, 0.0), 0.0) / objective)


def _warm_up():
    """Load the heuristic's compiled kernel (numba) before anything is timed.

    A fit does not count the compilation in its ``time_limit``, but the
    wall-clock time around the first fit of a process would.
    """
    X = np.random.default_rng(0).normal(size=(8, 1))
    OptimalBalance(method="heuristic", heuristic_iter=1).fit(X)


# ---------------------------------------------------------------------------
# Item 1: the mice.


def item_mice(n_repeats):
    from _seed_reference import SingleFeatureOptimizationModel as seed_model

    mice = make_tumor_mice()
    w = mice["initial_weight"]
    mice["norm_initial_weight"] = (w - w.mean()) / w.std()
    X = mice[["norm_initial_weight"]]

    def run_seed():
        model = seed_model(mice, 2, 10, "norm_initial_weight", "mice")
        status = model.optimize()
        return model, status

    def run_ours():
        return OptimalBalance(rho=0.5, random_state=0).fit(X)

    run_seed(), run_ours()  # warm up imports and solver libraries
    seed_times, fit_times, solve_times = [], [], []
    for _ in range(n_repeats):
        t = time.perf_counter()
        model, status = run_seed()
        seed_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        design = run_ours()
        fit_times.append(time.perf_counter() - t)
        solve_times.append(design.solve_time_)
    seed_groups = model.get_groups_list()
    seed_labels = np.where(mice["mice"].isin(seed_groups[0]), 0, 1)
    arms = mice.groupby(design.labels_)["initial_weight"].agg(["mean", "std"])
    seed_objective = model.model.Objective().Value()
    seed_bound = model.model.Objective().BestBound()
    row = {
        "objective": design.objective_,
        "status": design.status_,
        "bound": design.bound_,
        "gap": design.gap_,
        "n_nodes": design.n_nodes_,
        "arms_mean_sd": sorted(
            (round(a, 2), round(b, 2)) for a, b in arms.to_numpy().tolist()
        ),
        "seed_objective": moment_discrepancy(X, seed_labels),
        "seed_reported_objective": seed_objective,
        "seed_reported_bound": seed_bound,
        "seed_status": int(status),
        "seed_time_median": float(np.median(seed_times)),
        "fit_time_median": float(np.median(fit_times)),
        "solve_time_median": float(np.median(solve_times)),
        "n_repeats": n_repeats,
    }
    row["fit_time_ratio"] = row["fit_time_median"] / row["seed_time_median"]
    row["solve_time_ratio"] = row["solve_time_median"] / row["seed_time_median"]
    row["pass"] = bool(
        design.status_ == "optimal"
        and abs(design.objective_ - 0.212663) < 1e-6
        and row["arms_mean_sd"] == [(302.79, 202.54), (303.61, 162.12)]
        and row["solve_time_ratio"] <= 0.5
    )
    print("\n1. The 20 mice (rho=0.5, 2 groups of 10)")
    print(
        f"   objective {design.objective_:.6f} ({design.status_}, bound "
        f"{design.bound_:.6f}, {design.n_nodes_} nodes); case study's code: "
        f"{row['seed_objective']:.6f} (OR-Tools status {int(status)}, bound "
        f"{seed_bound:.6f})"
    )
    print(f"   arms (mean, SD of initial weight): {row['arms_mean_sd']}")
    print(f"   {'':34s}{'median ms':>10s}{'ratio':>8s}")
    print(
        f"   {'case study (OR-Tools + SCIP)':34s}{1e3 * row['seed_time_median']:10.2f}"
    )
    print(
        f"   {'OptimalBalance.fit (all of it)':34s}"
        f"{1e3 * row['fit_time_median']:10.2f}{row['fit_time_ratio']:8.2f}"
    )
    print(
        f"   {'OptimalBalance solve_time_':34s}"
        f"{1e3 * row['solve_time_median']:10.2f}{row['solve_time_ratio']:8.2f}"
    )
    print(f"   {n_repeats} interleaved repeats; pass: {row['pass']}")
    return row


# ---------------------------------------------------------------------------
# Item 2: exact oracle.


def plain_discrepancy(X, labels, rho, second_moments):
    """Bertsimas et al.'s objective from its definition, written out plainly.

    The largest, over pairs of groups p < q, of the L1 distance between the
    groups' covariate means plus rho times the L1 distance between their
    second moments about the origin (the squares of every covariate for
    ``"diagonal"``, all products x_s x_s' for ``"full"``). Shares no code
    with skassign's metrics or model.
    """
    groups = np.unique(labels)
    moments = []
    for g in groups:
        Xg = X[labels == g]
        if second_moments == "diagonal":
            second = (Xg**2).mean(axis=0)
        else:
            second = np.einsum("is,it->st", Xg, Xg).ravel() / Xg.shape[0]
        moments.append((Xg.mean(axis=0), second))
    worst = 0.0
    for a, b in combinations(range(len(groups)), 2):
        value = np.abs(moments[a][0] - moments[b][0]).sum()
        value += rho * np.abs(moments[a][1] - moments[b][1]).sum()
        worst = max(worst, float(value))
    return worst


def _brute_force(X, sizes, rho, second_moments):
    n = X.shape[0]
    rows = all_assignments(sizes, np.full(n, -1))
    best = min(plain_discrepancy(X, labels, rho, second_moments) for labels in rows)
    return best, len(rows)


def item_oracle(quick):
    cases = [
        (16, 1, [8, 8], "diagonal"),
        (16, 3, [8, 8], "full"),
        (14, 2, [6, 8], "diagonal"),
        (12, 2, [4, 4, 4], "diagonal"),
        (12, 3, [4, 4, 4], "full"),
        (12, 2, [3, 4, 5], "full"),
    ]
    if quick:
        cases = cases[::2]
    print("\n2. Exact oracle: proven optimum against brute force")
    print(
        f"   {'n':>3s} {'cov':>3s} {'sizes':>10s} {'moments':>8s} "
        f"{'splits':>7s} {'brute force':>12s} {'proven':>12s} {'status':>8s}"
    )
    rows = []
    for n, n_features, sizes, moments in cases:
        X = np.random.default_rng(n * 10 + n_features).normal(size=(n, n_features))
        expected, n_splits = _brute_force(X, sizes, 0.5, moments)
        design = OptimalBalance(
            n_groups=len(sizes),
            group_sizes=sizes,
            second_moments=moments,
            time_limit=None,
            random_state=0,
        ).fit(X)
        found = plain_discrepancy(X, design.labels_, 0.5, moments)
        tolerance = 1e-9 * max(expected, 1.0)
        ok = (
            design.status_ == "optimal"
            and abs(design.objective_ - expected) <= tolerance
            and abs(found - expected) <= tolerance
        )
        rows.append(
            {
                "n": n,
                "n_features": n_features,
                "sizes": sizes,
                "second_moments": moments,
                "n_splits": n_splits,
                "brute_force": expected,
                "objective": design.objective_,
                "labels_objective_plain": found,
                "status": design.status_,
                "pass": bool(ok),
            }
        )
        print(
            f"   {n:3d} {n_features:3d} {str(sizes):>10s} {moments:>8s} "
            f"{n_splits:7d} {expected:12.6f} {design.objective_:12.6f} "
            f"{design.status_:>8s}"
        )
    return rows


# ---------------------------------------------------------------------------
# Item 3: scale.


def scale_problem(n, n_features, m):
    """Covariates and group sizes of one scale configuration."""
    X = np.random.default_rng(1000 * n + 10 * n_features + m).normal(
        size=(n, n_features)
    )
    base, extra = divmod(n, m)
    return X, [base + (g < extra) for g in range(m)]


def _key(n, n_features, m):
    return f"{n}-{n_features}-{m}"


def load_best_known(path=BEST_KNOWN):
    """Best objective known for every scale configuration, checked.

    Every record holds the objective, how it was obtained and, when they
    were kept, the labels: those are re-scored here by
    ``plain_discrepancy`` (written from the definition), and a record whose
    labels do not give its objective is refused. Records from runs before
    labels were kept say so (``"labels": null``).
    """
    if not path.exists():
        return {}
    records = json.loads(path.read_text())["configurations"]
    for key, record in records.items():
        if record.get("labels") is None:
            continue
        X, sizes = scale_problem(*(int(v) for v in key.split("-")))
        labels = np.asarray(record["labels"])
        if np.bincount(labels, minlength=len(sizes)).tolist() != sizes:
            raise ValueError(f"best known {key}: labels do not have the group sizes")
        value = plain_discrepancy(X, labels, 0.5, "diagonal")
        if abs(value - record["objective"]) > 1e-9 * max(value, 1e-12):
            raise ValueError(
                f"best known {key}: labels give {value}, not its objective"
            )
    return records


def record_best_known(records, key, X, labels, how, proven=False):
    """Keep ``labels`` as ``key``'s best known if they beat the record."""
    value = plain_discrepancy(X, np.asarray(labels), 0.5, "diagonal")
    old = records.get(key)
    if old is not None and (old["objective"] <= value or old.get("proven_optimal")):
        if proven and abs(old["objective"] - value) <= 1e-9 * max(value, 1e-12):
            old["proven_optimal"] = True
        return False
    records[key] = {
        "objective": value,
        "how": how,
        "proven_optimal": bool(proven),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "labels": np.asarray(labels).tolist(),
    }
    return True


def save_best_known(records, path=BEST_KNOWN):
    path.write_text(
        json.dumps(
            {
                "description": (
                    "Best objective known for every scale configuration of "
                    "bench_optimal_balance.py item 3 (rho=0.5, diagonal), how it "
                    "was obtained and its labels (re-scored on every load)"
                ),
                "configurations": dict(sorted(records.items())),
            },
            indent=1,
            default=_json_default,
        )
        + "\n"
    )


def _long_search(m, n_features):
    """Search options of a long run: the default heuristic for the whole share."""
    if m < 3:
        # Two groups: the defaults leave the solver the time to prove.
        return {}
    if n_features == 1:
        return {"exchange_iter": 10**9}
    return {"heuristic_iter": 10**9}


def long_runs(configs, seconds, seeds, records):
    """Long OptimalBalance runs; each result is recorded if it beats the best known."""
    print(f"\nBest known: OptimalBalance runs of {seconds:g} s, seeds {seeds}")
    _warm_up()
    for n, n_features, m in configs:
        X, sizes = scale_problem(n, n_features, m)
        key = _key(n, n_features, m)
        for seed in seeds:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run = OptimalBalance(
                    n_groups=m,
                    group_sizes=sizes,
                    time_limit=seconds,
                    random_state=seed,
                    **_long_search(m, n_features),
                ).fit(X)
            how = (
                f"OptimalBalance, time_limit={seconds:g} s, random_state={seed}, "
                f"options {_long_search(m, n_features)}"
            )
            new = record_best_known(
                records, key, X, run.labels_, how, run.status_ == "optimal"
            )
            print(
                f"   {key:>8s} seed {seed}: {run.objective_:.5g} ({run.status_})"
                + ("  new best known" if new else ""),
                flush=True,
            )
        save_best_known(records)


def item_scale(configs, budget, reference_budget, long_run=0.0, n_jobs=2):
    print(
        f"\n3. Scale: OptimalBalance ({budget:g} s, n_jobs={n_jobs}) against the "
        f"plain formulation ({reference_budget:g} s), same SCIP, and the best known"
    )
    header = (
        f"   {'n':>3s} {'cov':>3s} {'m':>2s} | {'plain obj':>10s} {'bound':>8s} "
        f"{'gap':>6s} {'status':>9s} | {'ours obj':>10s} {'bound':>8s} "
        f"{'gap':>6s} {'status':>10s} {'time':>5s} | {'ratio':>6s} "
        f"{'best known':>10s} {'target':>9s} {'pass':>5s}"
    )
    print(header)
    _warm_up()
    records = load_best_known()
    rows = []
    for n, n_features, m in configs:
        X, sizes = scale_problem(n, n_features, m)
        key = _key(n, n_features, m)
        ref = plain_formulation(X, sizes, 0.5, reference_budget)
        plain_labels = ref.pop("labels")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design = OptimalBalance(
                n_groups=m,
                group_sizes=sizes,
                time_limit=budget,
                n_jobs=n_jobs,
                random_state=0,
            ).fit(X)
        elapsed = time.perf_counter() - start
        ratio = design.objective_ / ref["objective"] if ref["objective"] > 0 else 0
        # The best known before this run's OptimalBalance result: recorded
        # runs of any method, and this run's plain formulation.
        record_best_known(
            records,
            key,
            X,
            plain_labels,
            f"plain formulation, SCIP {reference_budget:g} s (bench item 3)",
            ref["status"] == "optimal",
        )
        long = None
        if long_run > 0 and ratio > 0.5:
            # How far below the plain formulation can one get at all? A much
            # longer run of OptimalBalance (another seed) adds to the best
            # known.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                best = OptimalBalance(
                    n_groups=m,
                    group_sizes=sizes,
                    time_limit=long_run,
                    random_state=1,
                    **_long_search(m, n_features),
                ).fit(X)
            long = {
                "time_limit": long_run,
                "objective": best.objective_,
                "bound": best.bound_,
                "status": best.status_,
            }
            record_best_known(
                records,
                key,
                X,
                best.labels_,
                f"OptimalBalance, time_limit={long_run:g} s, random_state=1, "
                f"options {_long_search(m, n_features)} (bench item 3 long run)",
                best.status_ == "optimal",
            )
        known = dict(records[key])
        known.pop("labels", None)
        target = max(0.5 * ref["objective"], 1.01 * known["objective"])
        ok = bool(design.objective_ <= target and elapsed <= budget + 1.0)
        rows.append(
            {
                "n": n,
                "n_features": n_features,
                "n_groups": m,
                "plain": ref,
                "long_run": long,
                "best_known": known,
                "target": target,
                "ours": {
                    "objective": design.objective_,
                    "bound": design.bound_,
                    "gap": design.gap_,
                    "status": design.status_,
                    "time": elapsed,
                    "nodes": design.n_nodes_,
                    "heuristic_iterations": design.n_iter_,
                    "exchange_moves": design.n_exchange_iter_,
                },
                "ratio": ratio,
                "ratio_to_best_known": design.objective_ / known["objective"]
                if known["objective"] > 0
                else float(design.objective_ == 0),
                "within_budget": bool(elapsed <= budget + 1.0),
                # At most the larger of half the plain formulation's objective
                # and 1.01 times the best known, within the budget (1 s of
                # slack for model building and clean-up).
                "pass": ok,
            }
        )
        # This run's own result joins the best known afterwards.
        record_best_known(
            records,
            key,
            X,
            design.labels_,
            f"OptimalBalance, time_limit={budget:g} s, n_jobs={n_jobs}, "
            "random_state=0 (bench item 3)",
            design.status_ == "optimal",
        )
        save_best_known(records)
        print(
            f"   {n:3d} {n_features:3d} {m:2d} | {ref['objective']:10.3g} "
            f"{ref['bound']:8.2g} {ref['gap']:6.1%} {ref['status']:>9s} | "
            f"{design.objective_:10.3g} {design.bound_:8.2g} {design.gap_:6.1%} "
            f"{design.status_:>10s} {elapsed:5.1f} | {ratio:6.3f} "
            f"{known['objective']:10.3g}{'*' if known['proven_optimal'] else ' '}"
            f"{target:9.3g} {str(ok):>5s}",
            flush=True,
        )
    n_pass = sum(r["pass"] for r in rows)
    ratios = [r["ratio"] for r in rows]
    print(
        f"   at most max(half plain, 1.01 best known) within the budget in "
        f"{n_pass} of {len(rows)} configurations (* proven optimal); median "
        f"ratio to plain {np.median(ratios):.3f}, worst {max(ratios):.3f}"
    )
    return rows


# ---------------------------------------------------------------------------
# Item 4: heuristic at scale.


def item_heuristic(n_draws, time_limit):
    n, n_features, m = 1000, 5, 4
    X = np.random.default_rng(4).normal(size=(n, n_features))
    _warm_up()
    start = time.perf_counter()
    design = OptimalBalance(
        n_groups=m, method="heuristic", time_limit=time_limit, random_state=0
    ).fit(X)
    elapsed = time.perf_counter() - start
    sizes = np.full(m, n // m)
    draws = draw_assignments(
        sizes, np.full(n, -1), np.random.RandomState(0), n_draws=n_draws
    )
    random_objectives = np.array([moment_discrepancy(X, a) for a in draws])
    median = float(np.median(random_objectives))
    row = {
        "n": n,
        "n_features": n_features,
        "n_groups": m,
        "objective": design.objective_,
        "time": elapsed,
        "status": design.status_,
        "iterations": design.n_iter_,
        "random_median": median,
        "random_min": float(random_objectives.min()),
        "n_random": n_draws,
        "ratio": design.objective_ / median,
    }
    # The target: within 5 s, an objective far below complete randomisation's
    # median: at most a twentieth of it, and below the best of the random draws.
    row["criteria"] = "time <= 5 s, ratio <= 0.05, objective < random_min"
    row["pass"] = bool(
        elapsed <= 5.0
        and row["ratio"] <= 0.05
        and design.objective_ < row["random_min"]
    )
    print("\n4. Heuristic alone: n=1000, 5 covariates, 4 groups")
    print(
        f"   objective {design.objective_:.5f} in {elapsed:.2f} s "
        f"({design.n_iter_} iterations); complete randomisation median "
        f"{median:.4f} (best of {n_draws}: {row['random_min']:.4f}); "
        f"ratio {row['ratio']:.4f}; pass: {row['pass']}"
    )
    return row


# ---------------------------------------------------------------------------
# Item 5: how attainable is item 3's target?


def _uniform_l1_ball(rng, size, dim):
    """Points drawn uniformly from the unit l1 ball in ``dim`` dimensions."""
    spacings = rng.exponential(size=(size, dim + 1))
    points = spacings[:, :dim] / spacings.sum(axis=1, keepdims=True)
    return points * rng.choice([-1.0, 1.0], size=(size, dim))


def log_expected_count(X, sizes, rho, n_draws=200_000, seed=0):
    """Expected number of assignments with objective at most ``t``, as ``c t**d``.

    Under complete randomisation with these group sizes the differences
    ``D_g = mu_g - mu_m`` of the groups' moment means (the weighted moment
    columns the objective sums) are approximately jointly normal, with the
    exact covariance of sampling without replacement. The objective is at
    most ``t`` on the region ``{max_(p<q) |mu_p - mu_q|_1 <= t}`` of ``d =
    (m - 1) K`` dimensions, of volume ``V t**d``; the count is the number of
    assignments times the normal density at 0 times that volume. ``V`` is
    the volume of ``m - 1`` unit l1 balls times the Monte Carlo probability
    that points drawn uniformly from them also satisfy the other pairs'
    constraints.

    Returns
    -------
    log_c : float
        Natural logarithm of ``c``.
    d : int
        Dimension (the exponent of ``t``).
    """
    F = _moment_columns(X, rho, "diagonal")
    n, K = F.shape
    m = len(sizes)
    S = np.atleast_2d(np.cov(F, rowvar=False))
    # Cov(mu_g, mu_h) = S (1[g = h] / n_g - 1 / n); D = A mu.
    G = np.diag(1.0 / np.asarray(sizes, dtype=float)) - 1.0 / n
    A = np.hstack([np.eye(m - 1), -np.ones((m - 1, 1))])
    d = (m - 1) * K
    log_det = K * np.linalg.slogdet(A @ G @ A.T)[1] + (m - 1) * np.linalg.slogdet(S)[1]
    log_density = -0.5 * d * math.log(2 * math.pi) - 0.5 * log_det
    rng = np.random.default_rng(seed)
    D = [_uniform_l1_ball(rng, n_draws, K) for _ in range(m - 1)]
    inside = np.ones(n_draws, dtype=bool)
    for g, h in combinations(range(m - 1), 2):
        inside &= np.abs(D[g] - D[h]).sum(axis=1) <= 1.0
    log_volume = (m - 1) * (K * math.log(2) - math.lgamma(K + 1)) + math.log(
        inside.mean()
    )
    log_assignments = math.lgamma(n + 1) - sum(math.lgamma(s + 1) for s in sizes)
    return log_assignments + log_density + log_volume, d


def item_attainable(scale_rows):
    print(
        "\n5. How attainable is item 3's target (objective <= half the plain "
        "formulation's)?\n   Gaussian estimate of the number of assignments "
        "below a value; t* is the value where it is 1"
    )
    print(
        f"   {'n':>3s} {'cov':>3s} {'m':>2s} | {'target':>9s} {'E[count]':>9s} "
        f"{'t*':>9s} | {'plain':>9s} {'ours':>9s} {'best known':>10s} {'proven':>9s}"
    )
    rows = []
    for row in scale_rows:
        n, n_features, m = row["n"], row["n_features"], row["n_groups"]
        X, sizes = scale_problem(n, n_features, m)
        log_c, d = log_expected_count(X, sizes, 0.5)
        plain = row["plain"]["objective"]
        target = 0.5 * plain
        best = min(row["ours"]["objective"], row["best_known"]["objective"])
        proven = None
        if row["best_known"]["proven_optimal"]:
            proven = row["best_known"]["objective"]
        estimate = {
            "n": n,
            "n_features": n_features,
            "n_groups": m,
            "dimension": d,
            "target": target,
            "log10_expected_count": (log_c + d * math.log(target)) / math.log(10),
            "t_star": math.exp(-log_c / d),
            "best_known": best,
            "proven_optimum": proven,
        }
        rows.append(estimate)
        print(
            f"   {n:3d} {n_features:3d} {m:2d} | {target:9.3g} "
            f"{10 ** estimate['log10_expected_count']:9.2g} "
            f"{estimate['t_star']:9.3g} | {plain:9.3g} "
            f"{row['ours']['objective']:9.3g} {best:10.3g} "
            f"{proven if proven is not None else float('nan'):9.3g}",
            flush=True,
        )
    checks = [r for r in rows if r["proven_optimum"]]
    print(
        "   check against proven optima, t* / optimum: "
        + ", ".join(
            f"{r['n']}-{r['n_features']}-{r['n_groups']} "
            f"{r['t_star'] / r['proven_optimum']:.2f}"
            for r in checks
        )
    )
    unlikely = [r for r in rows if r["log10_expected_count"] < 0]
    print(
        f"   expected count below 1 in {len(unlikely)} of {len(rows)} "
        "configurations: "
        + ", ".join(f"{r['n']}-{r['n_features']}-{r['n_groups']}" for r in unlikely)
    )
    return rows


# ---------------------------------------------------------------------------
# Item 6: the exact path.


def _median_fit_time(design, X, n_repeats):
    times = []
    for seed in range(n_repeats):
        design.set_params(random_state=seed)
        t = time.perf_counter()
        design.fit(X)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def item_exact(n_repeats, quick):
    from _seed_reference import SingleFeatureOptimizationModel as seed_model

    from skassign.designs._optimal_exact import count_assignments
    from skassign.designs._optimal_problem import _make_problem

    mice = make_tumor_mice()
    w = mice["initial_weight"]
    mice["norm_initial_weight"] = (w - w.mean()) / w.std()
    X = mice[["norm_initial_weight"]].to_numpy()
    exact = OptimalBalance(rho=0.5, method="exact")
    mip = OptimalBalance(rho=0.5, method="mip")
    (
        exact.fit(X),
        mip.fit(X),
        seed_model(mice, 2, 10, "norm_initial_weight", "mice").optimize(),
    )
    exact_times, mip_times, seed_times = [], [], []
    for seed in range(n_repeats):
        exact.set_params(random_state=seed)
        t = time.perf_counter()
        exact.fit(X)
        exact_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        seed_model(mice, 2, 10, "norm_initial_weight", "mice").optimize()
        seed_times.append(time.perf_counter() - t)
        mip.set_params(random_state=seed)
        t = time.perf_counter()
        mip.fit(X)
        mip_times.append(time.perf_counter() - t)
    mice_row = {
        "objective": exact.objective_,
        "status": exact.status_,
        "n_nodes": exact.n_nodes_,
        "exact_fit_median": float(np.median(exact_times)),
        "mip_fit_median": float(np.median(mip_times)),
        "seed_time_median": float(np.median(seed_times)),
        "n_repeats": n_repeats,
    }
    mice_row["speedup_vs_seed"] = (
        mice_row["seed_time_median"] / mice_row["exact_fit_median"]
    )
    mice_row["pass"] = bool(
        exact.status_ == "optimal"
        and abs(exact.objective_ - 0.212663) < 1e-6
        and mice_row["exact_fit_median"] < 1e-3
        and mice_row["speedup_vs_seed"] >= 20
    )
    print("\n6. The exact path")
    print(
        f"   mice: objective {exact.objective_:.6f} ({exact.status_}, "
        f"{exact.n_nodes_} nodes); median warm fit "
        f"{1e3 * mice_row['exact_fit_median']:.3f} ms "
        f"(solver path {1e3 * mice_row['mip_fit_median']:.2f} ms, case study "
        f"{1e3 * mice_row['seed_time_median']:.2f} ms: "
        f"{mice_row['speedup_vs_seed']:.0f}x); {n_repeats} interleaved repeats; "
        f"pass: {mice_row['pass']}"
    )
    cases = [(2, 10, 1), (2, 10, 3), (2, 12, 1), (2, 12, 3), (3, 6, 1), (3, 6, 3)]
    if not quick:
        cases += [(2, 15, 1), (2, 15, 3), (3, 8, 1), (3, 8, 3), (4, 6, 1), (4, 6, 3)]
    rows = []
    print(
        f"   {'groups x size':>14s}{'covariates':>11s}{'count':>10s}{'nodes':>9s}"
        f"{'exact ms':>10s}{'solver ms':>10s}{'same objective':>16s}"
    )
    n_small = max(n_repeats // 5, 5)
    for m, size, p in cases:
        rng = np.random.default_rng(1000 * m + 10 * size + p)
        X = rng.normal(size=(m * size, p))
        sizes = np.full(m, size)
        classes = [("free", size)] * m
        problem = _make_problem(
            X, sizes, np.full(m * size, -1), 0.5, "diagonal", classes
        )
        count = count_assignments(problem.type_counts, problem.caps, problem.classes)
        exact = OptimalBalance(n_groups=m, method="exact", time_limit=60)
        mip = OptimalBalance(n_groups=m, method="mip", time_limit=60)
        exact_time = _median_fit_time(exact, X, n_small)
        mip_time = _median_fit_time(mip, X, n_small)
        row = {
            "n_groups": m,
            "group_size": size,
            "n_features": p,
            "count": count,
            "n_nodes": exact.n_nodes_,
            "exact_status": exact.status_,
            "exact_time_median": exact_time,
            "mip_status": mip.status_,
            "mip_time_median": mip_time,
            "same_objective": bool(
                np.isclose(exact.objective_, mip.objective_, rtol=1e-7)
            ),
            "auto_path": "exact"
            if OptimalBalance(n_groups=m).fit(X).n_iter_ == 0
            else "solver",
        }
        rows.append(row)
        print(
            f"   {f'{m} x {size}':>14s}{p:11d}{count:10.2g}{row['n_nodes']:9d}"
            f"{1e3 * exact_time:10.2f}{1e3 * mip_time:10.2f}"
            f"{str(row['same_objective']):>16s}  auto: {row['auto_path']}"
        )
    return {"mice": mice_row, "switch_over": rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a subset: fewer repeats, 3 scale configurations, shorter budgets",
    )
    parser.add_argument("--items", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--budget", type=float, default=None)
    parser.add_argument("--reference-budget", type=float, default=None)
    parser.add_argument(
        "--long-run",
        type=float,
        default=0.0,
        help="seconds of a long OptimalBalance run for every scale configuration "
        "whose objective is above half the plain formulation's, recorded in the "
        "best known (0: off)",
    )
    parser.add_argument(
        "--best-known",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="only run OptimalBalance for this long on the --configs (seeds "
        "--seeds) and record any better objective in "
        "results/bench_optimal_balance_best_known.json",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="n_jobs of OptimalBalance in item 3: threads of its iterated search "
        "(default 2, the machine's cores)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=None,
        metavar="N-COV-M",
        help="scale configurations to run, e.g. 40-5-2 100-3-4 (default: all 27)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="JSON path (default: results/bench_optimal_balance.json for the "
        "full protocol, *_partial.json otherwise)",
    )
    args = parser.parse_args(argv)

    configs = list(product((40, 60, 100), (1, 3, 5), (2, 3, 4)))
    budget, reference_budget, repeats = 10.0, 30.0, 51
    if args.quick:
        configs = [(40, 1, 2), (60, 3, 3), (100, 5, 4)]
        budget, reference_budget, repeats = 5.0, 15.0, 15
    if args.configs:
        configs = [tuple(int(v) for v in c.split("-")) for c in args.configs]
    budget = args.budget or budget
    reference_budget = args.reference_budget or reference_budget
    repeats = args.repeats or repeats

    if args.best_known > 0:
        long_runs(configs, args.best_known, args.seeds, load_best_known())
        return

    import ortools
    import pyscipopt
    import sklearn

    # The JSON is one run of this script: the default protocol writes
    # RESULTS, anything else (subset of items, --quick, other budgets or
    # configurations) a separate *_partial.json, never merged with an
    # earlier run.
    complete = (
        sorted(args.items) == [1, 2, 3, 4, 5, 6]
        and not args.quick
        and not args.configs
        and args.budget is None
        and args.reference_budget is None
        and args.repeats is None
        and args.jobs == 2
    )
    output = args.output
    if output == RESULTS and not complete:
        output = RESULTS.with_name("bench_optimal_balance_partial.json")
    if 5 in args.items and 3 not in args.items:
        parser.error("item 5 reads item 3's results of the same run: run --items 3 5")
    report = {
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(
            _git("status", "--porcelain", "--", "skassign", "benchmarks")
        ),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(
            ["python", "benchmarks/bench_optimal_balance.py", *(argv or sys.argv[1:])]
        ),
        "complete_protocol": complete,
        "items": sorted(args.items),
        "machine": {
            "node": platform.node(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "processor": platform.processor(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "pyscipopt": pyscipopt.__version__,
            "ortools": ortools.__version__,
            "load_average_at_start": list(os.getloadavg()),
        },
        "settings": {
            "quick": bool(args.quick),
            "budget": budget,
            "reference_budget": reference_budget,
            "repeats": repeats,
            "long_run": args.long_run,
            "n_jobs": args.jobs,
        },
    }
    passes = {}
    if 1 in args.items:
        report["mice"] = item_mice(repeats)
        passes["mice"] = report["mice"]["pass"]
    if 2 in args.items:
        report["oracle"] = {"cases": item_oracle(args.quick)}
        passes["oracle"] = all(case["pass"] for case in report["oracle"]["cases"])
    if 3 in args.items:
        rows = item_scale(configs, budget, reference_budget, args.long_run, args.jobs)
        report["scale"] = {
            "budget": budget,
            "reference_budget": reference_budget,
            "rows": rows,
            "n_pass": sum(r["pass"] for r in rows),
            "n_configurations": len(rows),
        }
        passes["scale"] = all(r["pass"] for r in rows)
    if 4 in args.items:
        report["heuristic"] = item_heuristic(
            200 if args.quick else 1000, time_limit=4.8
        )
        passes["heuristic"] = report["heuristic"]["pass"]
    if 5 in args.items:
        report["attainable"] = {"rows": item_attainable(report["scale"]["rows"])}
    if 6 in args.items:
        report["exact"] = item_exact(repeats, args.quick)
        passes["exact"] = bool(report["exact"]["mice"]["pass"])
    report["machine"]["load_average_at_end"] = list(os.getloadavg())
    report["pass"] = {**passes, "all": all(passes.values())}
    print(f"\npass: {report['pass']}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    print(f"Results written to {output}")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return str(value)
    raise TypeError(type(value))


if __name__ == "__main__":
    main()
