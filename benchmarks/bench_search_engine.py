"""The shared local-search engine against OptimalBalance's compiled tabu kernel.

OptimalBalance keeps its own tabu kernel
(``skassign/designs/_optimal_kernels.py``). This benchmark measures why: the
same objective (largest pairwise discrepancy of the groups' moment means) as
a :class:`~skassign.designs._search_problems.SwapProblem` with vectorised
NumPy ``deltas``, searched by :class:`~skassign.designs._search.LocalSearch`
(``method="tabu"``, as many sampled exchanges per iteration as the kernel
scans), against the kernel's group-pair scan with pruning, from the same
starting assignments. Reported: time per iteration, exchanges evaluated per
second, and the objective reached after the same number of iterations and
within the same time.

Run ``python benchmarks/bench_search_engine.py`` (about a minute; ``--quick``
for a smoke run). Results go to ``results/bench_search_engine.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from skassign.designs._optimal_problem import (  # noqa: E402
    _make_problem,
    _pair_differences,
    _random_labels,
)
from skassign.designs._optimal_search import (  # noqa: E402
    _compile_search,
    _neighbourhood,
    _swap_coefficients,
    _tabu_search,
)
from skassign.designs._search import LocalSearch  # noqa: E402
from skassign.designs._search_problems import SwapProblem  # noqa: E402

RESULTS = HERE / "results"


class MaxPairGap(SwapProblem):
    """OptimalBalance's objective over the free units, for the engine."""

    def __init__(self, problem):
        self.problem = problem
        self.coef = _swap_coefficients(problem)[1]

    def init(self, labels):
        self.diff = _pair_differences(self.problem, labels)

    def objective(self, labels):
        return float(np.abs(_pair_differences(self.problem, labels)).sum(1).max())

    def deltas(self, labels, i, j):
        F = self.problem.F
        coef = self.coef[labels[i], labels[j]]  # (n, n_pairs)
        new = self.diff[None] + coef[:, :, None] * (F[j] - F[i])[:, None, :]
        return np.abs(new).sum(axis=2).max(axis=1) - self.value

    def apply(self, labels, i, j):
        F = self.problem.F
        self.diff += self.coef[labels[i], labels[j]][:, None] * (F[j] - F[i])


def one_case(n, p, m, n_iter, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    sizes = np.full(m, n // m)
    sizes[: n - sizes.sum()] += 1
    problem = _make_problem(X, sizes, np.full(n, -1), 0.5, "diagonal", [("free",)] * m)
    start = _random_labels(problem.caps, np.random.default_rng(seed + 1))
    engine_problem = MaxPairGap(problem)
    n_sample, _ = _neighbourhood(n, m, problem.F.shape[1])
    n_swaps = int(n_sample * (n_sample - 1) / 2 * (1 - 1 / m))

    tick = time.perf_counter()
    best, done = _tabu_search(problem, start, np.random.default_rng(seed + 2), n_iter)
    kernel_time = time.perf_counter() - tick
    kernel_value = engine_problem.objective(best)

    search = LocalSearch("tabu", max_iter=n_iter, n_candidates=n_swaps)
    tick = time.perf_counter()
    result = search.run(
        engine_problem, start, np.arange(n), np.random.RandomState(seed)
    )
    engine_time = time.perf_counter() - tick
    # The engine within the kernel's time.
    timed = LocalSearch(
        "tabu", max_iter=10**9, n_candidates=n_swaps, time_limit=kernel_time
    ).run(engine_problem, start, np.arange(n), np.random.RandomState(seed))
    return {
        "n": n,
        "p": p,
        "groups": m,
        "iterations": n_iter,
        "exchanges_per_iteration": n_swaps,
        "start_objective": engine_problem.objective(start),
        "kernel_ms_per_iteration": 1e3 * kernel_time / done,
        "engine_ms_per_iteration": 1e3 * engine_time / result.n_iter,
        "kernel_exchanges_per_s": n_swaps * done / kernel_time,
        "engine_exchanges_per_s": n_swaps * result.n_iter / engine_time,
        "speed_ratio": (engine_time / result.n_iter) / (kernel_time / done),
        "kernel_objective": kernel_value,
        "engine_objective_same_iterations": result.value,
        "engine_objective_same_time": timed.value,
        "engine_iterations_same_time": timed.n_iter,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    _compile_search()
    cases = [(60, 2, 2), (200, 3, 2), (200, 3, 3), (500, 5, 4)]
    n_iter = 50 if args.quick else 300
    rows = [one_case(n, p, m, n_iter, seed) for seed, (n, p, m) in enumerate(cases)]
    print(
        f"{'n':>5} {'p':>2} {'m':>2} {'swaps/it':>9} {'kernel ms/it':>13} "
        f"{'engine ms/it':>13} {'ratio':>7} {'kernel f':>9} {'engine f':>9} "
        f"{'engine f @time':>14}"
    )
    for r in rows:
        print(
            f"{r['n']:>5} {r['p']:>2} {r['groups']:>2} "
            f"{r['exchanges_per_iteration']:>9} "
            f"{r['kernel_ms_per_iteration']:>13.3f} "
            f"{r['engine_ms_per_iteration']:>13.3f} "
            f"{r['speed_ratio']:>7.1f} {r['kernel_objective']:>9.4f} "
            f"{r['engine_objective_same_iterations']:>9.4f} "
            f"{r['engine_objective_same_time']:>14.4f}"
        )
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    out = {
        "benchmark": "bench_search_engine",
        "commit": commit,
        "machine": platform.platform(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "loadavg": list(os.getloadavg()),
        "quick": args.quick,
        "rows": rows,
    }
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "bench_search_engine.json").write_text(
            json.dumps(out, indent=2) + "\n"
        )
    return out


if __name__ == "__main__":
    main()
