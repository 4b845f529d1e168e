"""One run of the local search: batches, the compiled walk, tabu, budgets.

See :mod:`skassign.designs._search`.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from skassign.designs._search_moves import (
    _AUTO_T0_PROPOSALS,
    _BATCH_TABLE,
    _CHAIN_BATCH,
    _MAX_BATCH,
    _RTOL,
    _STOP_GRID_LIST,
    replay,
    temperatures,
    units_new,
)

__all__ = ["SearchResult"]


@dataclass
class SearchResult:
    """Outcome of :meth:`LocalSearch.run`.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,)
        Best assignment found.
    value : float
        Its objective (as the problem keeps it for the best).
    trace : ndarray of shape (n_iter + 1,)
        Best objective after every iteration (index 0: the start).
    current_trace : ndarray of shape (n_iter + 1,)
        Objective of the current assignment after every iteration.
    n_iter : int
        Iterations run.
    n_moved : int
        Accepted moves that changed the assignment.
    t0 : float
        Starting temperature (0 when not annealing).
    n_restarts : int
        Restarts after ``patience`` iterations without improvement.
    stop : str
        ``"max_iter"``, ``"time_limit"``, ``"lower_bound"`` or ``"no_moves"``.
    """

    labels: np.ndarray
    value: float
    trace: np.ndarray
    current_trace: np.ndarray
    n_iter: int
    n_moved: int
    t0: float
    n_restarts: int
    stop: str


class _State:
    """One run of the search: budgets, best-so-far, traces, restarts."""

    def __init__(self, search, problem, moves, rng, progress):
        self.search, self.problem, self.moves = search, problem, moves
        self.rng, self.progress = rng, progress
        self.start = time.perf_counter()
        self.best_f, self.best_labels = problem.current_best()
        self.trace = np.empty(search.max_iter + 1)
        self.current = np.empty(search.max_iter + 1)
        self.trace[0] = self.best_f
        self.current[0] = problem.value
        self.n_moved = self.n_restarts = self.since_refresh = 0
        self.run_best, self.run_best_it = problem.value, 0
        self.checked = 0
        bound = getattr(problem, "lower_bound", None)
        self.bound = None if bound is None else float(bound)

    def result(self, done, t0, stop):
        return SearchResult(
            labels=self.best_labels,
            value=float(self.best_f),
            trace=self.trace[: done + 1].copy(),
            current_trace=self.current[: done + 1].copy(),
            n_iter=done,
            n_moved=self.n_moved,
            t0=float(t0),
            n_restarts=self.n_restarts,
            stop=stop,
        )

    def stop_reason(self, done):
        """Why to stop after ``done`` iterations, or None."""
        if done >= self.search.max_iter:
            return "max_iter"
        if self.bound is not None and self.best_f <= self.bound + _RTOL * max(
            1.0, abs(self.bound)
        ):
            return "lower_bound"
        limit = self.search.time_limit
        if limit is not None and time.perf_counter() - self.start >= limit:
            return "time_limit"
        return None

    def restart_due(self, done):
        """Restart after ``patience`` iterations without a better run best.

        The run's best is read from the current objective of every
        iteration since the last check, so that it does not depend on how
        the iterations were batched.
        """
        patience = self.search.patience
        if patience is None:
            return False
        visited = self.current[self.checked + 1 : done + 1]
        self.checked = done
        if visited.size:
            k = int(visited.argmin())
            if visited[k] < self.run_best - _RTOL * max(1.0, abs(self.run_best)):
                self.run_best, self.run_best_it = (
                    float(visited[k]),
                    done - visited.size + k + 1,
                )
        if done - self.run_best_it < patience:
            return False
        self.problem.reset(self.moves.shuffle(self.problem.labels, self.rng))
        self.run_best, self.run_best_it = self.problem.value, done
        self.n_restarts += 1
        return True

    def auto_temperature(self):
        """``t0_factor`` times the median absolute change of random moves."""
        problem, moves = self.problem, self.moves
        units = moves.draw(_AUTO_T0_PROPOSALS, self.rng)
        new = np.roll(problem.labels[units], -1, axis=1)
        delta, changed, _ = problem.evaluate(units, new)
        changes = np.abs(delta[changed])
        changes = changes[changes > 0.0]
        if not changes.size:
            return 0.0
        return self.search.t0_factor * float(np.median(changes))

    def anneal(self):
        """Annealing or descent, in batches of proposals drawn ahead."""
        search, problem, moves, rng = self.search, self.problem, self.moves, self.rng
        iterations, n_change = search.max_iter, moves.n_change
        t0 = 0.0
        if search.method == "anneal":
            if search.t0 == "auto":
                t0 = self.auto_temperature()
            elif search.t0 < 0:
                t0 = problem.value / abs(search.t0)
            else:
                t0 = search.t0
        t0 = float(t0)
        rotate = np.roll(np.arange(n_change), -1)
        current = self.current
        pool_units = pool_limits = None
        pos = pool_size = 0
        done, offset = 0, 0
        # Running counts of proposals, accepted proposals and accepted
        # proposals that changed the assignment (exponentially forgotten).
        self.rates = (4.0, 2.0, 1.0)
        stop = None
        walk = getattr(problem, "walk", None) if n_change == 2 else None
        while stop is None:
            if pos == pool_size:
                pool_size = min(8 * _MAX_BATCH, iterations - done)
                if search.patience is not None:
                    pool_size = min(pool_size, max(search.patience, 1))
                pool_units = moves.draw(pool_size, rng)
                if search.method == "anneal":
                    # Metropolis: accept when rand <= exp(-delta / T), i.e.
                    # when delta <= -T log(rand), with rand uniform on (0, 1].
                    steps = np.arange(done + 1, done + pool_size + 1) - offset
                    pool_limits = -temperatures(
                        t0, search.cooling, search.tmax, steps
                    ) * np.log1p(-rng.random_sample(pool_size))
                else:
                    pool_limits = None
                pos = 0
            if pool_limits is None:
                # Descent: strictly better, up to rounding.
                tol = -_RTOL * max(1.0, abs(problem.value))
                limits = np.full(pool_size - pos, tol)
            else:
                limits = pool_limits[pos:]
            if walk is not None:
                # Compiled path: the problem walks the whole pool itself.
                consumed, n_effective = self._walk(walk, pool_units[pos:], limits, done)
            else:
                consumed, n_effective = self._batch(
                    pool_units[pos:], limits, done, rotate
                )
            self.advance(consumed, n_effective)
            done += consumed
            pos += consumed
            if self.restart_due(done):
                offset, pos, pool_size = done, 0, 0
                current[done] = problem.value
            stop = self.stop_reason(done)
        return self.result(done, t0, stop)

    def _batch(self, units, limits, done, rotate):
        """One batch from the rest of the pool; its size follows the acceptance.

        When few moves are accepted, the batch is evaluated from the current
        state and cut at the first accepted move; when most are, as a chain
        of accepted moves cut at the first rejection (problems with
        ``chain``). The mode with the longer expected run is used.
        """
        problem = self.problem
        seen, accepted, effective = self.rates
        chain_ok = getattr(problem, "supports_chain", False)
        p_stop_reject = effective / seen
        p_stop_chain = 1.0 - accepted / seen
        chain_mode = chain_ok and p_stop_chain < p_stop_reject
        p_stop = min(p_stop_reject, p_stop_chain) if chain_ok else p_stop_reject
        size = _BATCH_TABLE[min(bisect_left(_STOP_GRID_LIST, p_stop), 160)]
        size = min(size, _CHAIN_BATCH if chain_mode else _MAX_BATCH, units.shape[0])
        units, limits = units[:size], limits[:size]
        if chain_mode:
            consumed, n_accepted, n_effective = self._chain_batch(units, limits, done)
        else:
            new = units_new(problem.labels, units, rotate)
            consumed, n_accepted, n_effective = self._reject_batch(
                units, new, limits, done
            )
        # Running counts of proposals, accepted proposals and accepted
        # proposals that changed the assignment (exponentially forgotten).
        self.rates = (
            0.9 * seen + consumed,
            0.9 * accepted + n_accepted,
            0.9 * effective + n_effective,
        )
        return consumed, n_effective

    def advance(self, consumed, n_effective):
        """Count moves, refresh the problem's statistics, tick the bar."""
        self.n_moved += n_effective
        self.since_refresh += n_effective
        if self.since_refresh >= self.search.refresh_every:
            self.problem.refresh()
            self.since_refresh = 0
        if self.progress is not None:
            self.progress.update(consumed)

    def _walk(self, walk, units, limits, done):
        """Let the problem walk the proposals one at a time (compiled)."""
        stop_at = -np.inf
        if self.bound is not None:
            stop_at = self.bound + _RTOL * max(1.0, abs(self.bound))
        current = np.empty(units.shape[0])
        n_done, n_moved, best_f, best_labels = walk(
            units, limits, self.best_f, stop_at, current
        )
        current = current[:n_done]
        self.current[done + 1 : done + n_done + 1] = current
        self.trace[done + 1 : done + n_done + 1] = np.minimum.accumulate(
            np.concatenate([[self.best_f], current])
        )[1:]
        if best_labels is not None and best_f < self.best_f:
            self.best_f, self.best_labels = best_f, best_labels
        return n_done, n_moved

    def _reject_batch(self, units, new, limits, done):
        """Evaluate from the current state; cut at the first accepted move."""
        problem, trace, current = self.problem, self.trace, self.current
        size = units.shape[0]
        delta, changes, pieces = problem.evaluate(units, new)
        ok = delta <= limits
        accept = ok & changes
        j = int(accept.argmax())
        if not accept[j]:
            j = size
        trace[done + 1 : done + j + 1] = self.best_f
        current[done + 1 : done + j + 1] = problem.value
        consumed = min(j + 1, size)
        n_accepted = int(ok[:consumed].sum())
        n_effective = int(j < size)
        if j < size:
            problem.apply_proposal(j, units, new, pieces)
            if problem.best_value() < self.best_f:
                self.best_f, self.best_labels = problem.current_best()
            trace[done + j + 1] = self.best_f
            current[done + j + 1] = problem.value
        return consumed, n_accepted, n_effective

    def _chain_batch(self, units, limits, done):
        """Evaluate as a chain of accepted moves; cut at the first rejection."""
        problem, trace, current = self.problem, self.trace, self.current
        size = units.shape[0]
        new, f, pieces = problem.chain(units)
        delta = np.diff(f, prepend=problem.value)
        ok = delta <= limits
        j = int(ok.argmin())
        if ok[j]:
            j = size
        consumed = min(j + 1, size)
        changed = (new[:j] != problem.labels[units[:j]]).any(axis=1)
        if j:
            before = problem.labels
            visited = problem.chain_best_values(f, pieces, j)
            current[done + 1 : done + j + 1] = f[:j]
            trace[done + 1 : done + j + 1] = np.minimum.accumulate(
                np.concatenate([[self.best_f], visited])
            )[1:]
            k = int(visited.argmin())
            problem.accept_chain(j, units, new, f, pieces)
            if visited[k] < self.best_f:
                self.best_f = float(visited[k])
                self.best_labels = problem.chain_best_labels(
                    replay(before, units[: k + 1], new[: k + 1]), pieces, k
                )
        if j < size:
            trace[done + j + 1] = self.best_f
            current[done + j + 1] = problem.value
        return consumed, j, int(changed.sum())

    def tabu(self):
        """Tabu search over sampled exchanges."""
        search, problem, moves, rng = self.search, self.problem, self.moves, self.rng
        if search.tenure is None:
            low = 1 + int(0.02 * moves.n_free)
            high = low + 2 + int(0.1 * moves.n_free)
        else:
            low, high = search.tenure
        tabu = np.zeros(problem.labels.shape[0], dtype=np.int64)
        swap = np.array([1, 0])
        done, stop = 0, None
        while stop is None:
            units = moves.draw(search.n_candidates, rng)
            new = problem.labels[units][:, swap]
            delta, changes, pieces = problem.evaluate(units, new)
            free_move = (tabu[units] <= done).all(axis=1)
            aspiration = problem.value + delta < self.best_f - _RTOL * max(
                1.0, abs(self.best_f)
            )
            allowed = changes & (free_move | aspiration)
            done += 1
            moved = bool(allowed.any())
            if moved:
                k = int(np.argmin(np.where(allowed, delta, np.inf)))
                problem.apply_proposal(k, units, new, pieces)
                tabu[units[k]] = done + rng.randint(low, high + 1, size=2)
                if problem.best_value() < self.best_f:
                    self.best_f, self.best_labels = problem.current_best()
            self.advance(1, int(moved))
            self.trace[done] = self.best_f
            self.current[done] = problem.value
            if self.restart_due(done):
                tabu[:] = 0
                self.current[done] = problem.value
            stop = self.stop_reason(done)
        return self.result(done, 0.0, stop)
