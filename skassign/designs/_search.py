"""Local search over assignments with fixed group sizes.

One engine for every search-backed design. A move rotates the labels of
``n_change`` free units (``n_change=2``: two units exchange groups), so group
sizes never change and fixed units never move; *swap classes* (an integer per
unit, e.g. strata) restrict a move to units of one class, which keeps the
number of units of every group within every class. Acceptance is simulated
annealing (Metropolis, with the cooling schedules of the R package minMSE or
a geometric one), strict improvement (``"descent"``) or tabu search.
Restarts from a random permutation within the classes follow ``patience``
iterations without improvement; the search stops after ``max_iter``
iterations, ``time_limit`` seconds or at the problem's lower bound.

The objective lives in a problem object (see
:mod:`skassign.designs._search_problems`): :class:`SwapProblem` for a design
that knows the change of its objective when two units exchange groups, or
the batched :class:`SearchProblem` protocol. Proposals are drawn ahead and
evaluated in vectorised batches: from the current state, cut at the first
accepted move (every earlier proposal was rejected, so its evaluation was
exact), or, for problems that can evaluate a chain of moves and when most
moves are accepted, as a chain of accepted moves cut at the first rejection.
Either way the chain is the one a one-move-at-a-time implementation walks.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = ["LocalSearch", "SearchResult", "draw_units", "temperatures"]

_MAX_BATCH = 1024
_CHAIN_BATCH = 256
# Batch sizes: evaluating a batch costs about _BATCH_OVERHEAD proposals' worth
# of fixed numpy overhead plus one unit per proposal, and a batch of size B
# advances the chain by min(B, G) iterations, G geometric with the
# probability p that a proposal ends the batch. The table holds, for p on a
# log grid, the B minimising (_BATCH_OVERHEAD + B) / E[min(B, G)].
_BATCH_OVERHEAD = 20.0
_STOP_GRID = np.logspace(-4.0, 0.0, 161)
# t0="auto": a factor times the median absolute change of the objective over
# this many random moves from the start.
_AUTO_T0_PROPOSALS = 256
# Relative tolerance of "strictly better" and of reaching the lower bound.
_RTOL = 1e-12


def _optimal_batch_sizes(stop_grid, limit):
    sizes = np.arange(1, limit + 1)
    cost = [
        (_BATCH_OVERHEAD + sizes) * p / -np.expm1(sizes * np.log1p(-min(p, 1 - 1e-12)))
        for p in stop_grid
    ]
    return np.array([int(sizes[np.argmin(c)]) for c in cost])


_BATCH_TABLE = _optimal_batch_sizes(_STOP_GRID, _MAX_BATCH).tolist()
_STOP_GRID_LIST = _STOP_GRID.tolist()


def draw_units(free, n_change, n_draws, rng):
    """``n_draws`` rows of ``n_change`` distinct units of ``free``, in random order.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._search import draw_units
    >>> rows = draw_units(np.arange(5), 3, 4, np.random.RandomState(0))
    >>> rows.shape, all(len(set(r)) == 3 for r in rows.tolist())
    ((4, 3), True)
    """
    n_free = free.shape[0]
    p_distinct = np.prod(1.0 - np.arange(n_change) / n_free)
    if p_distinct < 0.5:
        return free[rng.random_sample((n_draws, n_free)).argsort(axis=1)[:, :n_change]]
    idx = rng.randint(n_free, size=(n_draws, n_change))
    rows = np.arange(n_draws)
    while rows.size:
        srt = np.sort(idx[rows], axis=1)
        rows = rows[(srt[:, 1:] == srt[:, :-1]).any(axis=1)]
        idx[rows] = rng.randint(n_free, size=(rows.size, n_change))
    return free[idx]


def temperatures(t0, cooling, tmax, iters):
    """Temperature at (1-based) iterations ``iters``.

    The temperature changes every ``tmax`` iterations: ``cooling="log"``
    divides ``t0`` by ``ln(level + e)`` and ``"inverse"`` by ``level + 1``
    (the R package minMSE's schemes 1 and 2, ``level`` the first iteration
    of the current step, from 0); a float ``a`` in (0, 1) multiplies it by
    ``a`` at every step.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._search import temperatures
    >>> temperatures(2.0, 0.5, 2, np.arange(1, 6)).tolist()
    [2.0, 2.0, 1.0, 1.0, 0.5]
    """
    level = np.floor((iters - 1) / tmax) * tmax
    if cooling == "log":
        return t0 / np.log(level + np.e)
    if cooling == "inverse":
        return t0 / (level + 1.0)
    return t0 * float(cooling) ** (level / tmax)


class _Moves:
    """Draws of moves within the swap classes, and restarts that keep them."""

    def __init__(self, labels, free, classes, n_change):
        if classes is None:
            groups = [free]
        else:
            classes = np.asarray(classes)
            groups = [free[classes[free] == c] for c in np.unique(classes[free])]
        self.all_groups = groups
        # Classes whose free units all share a group cannot change anything.
        movable = [g for g in groups if np.unique(labels[g]).shape[0] > 1]
        largest = max((g.shape[0] for g in movable), default=0)
        self.n_change = min(n_change, largest)
        self.groups = [g for g in movable if g.shape[0] >= self.n_change]
        sizes = np.array([g.shape[0] for g in self.groups], dtype=float)
        self.weights = sizes / sizes.sum() if sizes.size else sizes
        self.n_free = int(sum(g.shape[0] for g in self.groups))

    @property
    def empty(self):
        return self.n_change < 2 or not self.groups

    def draw(self, n_draws, rng):
        """``n_draws`` rows of ``n_change`` distinct units of one class each."""
        if len(self.groups) == 1:
            return draw_units(self.groups[0], self.n_change, n_draws, rng)
        counts = rng.multinomial(n_draws, self.weights)
        rows = np.vstack(
            [
                draw_units(g, self.n_change, int(c), rng)
                for g, c in zip(self.groups, counts, strict=True)
            ]
        )
        return rows[rng.permutation(n_draws)]

    def shuffle(self, labels, rng):
        """Return a random assignment with the same labels within every class."""
        labels = labels.copy()
        for g in self.all_groups:
            labels[g] = labels[g][rng.permutation(g.shape[0])]
        return labels


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


class LocalSearch:
    """Local search over assignments with fixed group sizes.

    Parameters
    ----------
    method : {"anneal", "descent", "tabu"}, default="anneal"
        Acceptance: Metropolis with a cooling schedule; strict improvement
        only; or tabu search (the best of ``n_candidates`` random exchanges
        per iteration, the moved units tabu for a random tenure unless the
        move beats the best objective).
    n_change : int, default=2
        Units whose labels a move rotates (2: an exchange). ``"tabu"`` and
        :class:`SwapProblem` use exchanges.
    max_iter : int, default=5000
        Iteration budget (an iteration is one proposal, or one tabu step).
    time_limit : float or None, default=None
        Seconds after which the search stops (checked between batches).
    t0 : "auto" or float, default="auto"
        Starting temperature of ``"anneal"``: ``"auto"`` is ``t0_factor``
        times the median absolute change over 256 random moves from the
        start; a negative value is the starting objective over ``|t0|``.
    t0_factor : float, default=1.0
        Factor of ``t0="auto"``.
    cooling : {"log", "inverse"} or float in (0, 1), default="log"
        Cooling schedule (see :func:`temperatures`).
    tmax : int, default=10
        Iterations at each temperature.
    patience : int or None, default=None
        Restart from a random assignment (within the swap classes) after
        this many iterations without improving on the best of the current
        run; ``None`` never restarts.
    tenure : (int, int) or None, default=None
        Range of the tabu tenure (iterations a moved unit stays tabu);
        ``None`` is ``1 + n/50`` to ``3 + 6n/50`` for ``n`` movable units,
        the rule ``OptimalBalance``'s tabu search uses.
    n_candidates : int, default=256
        Exchanges scanned per tabu iteration.
    refresh_every : int, default=2000
        Accepted moves between recomputations of the problem's statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.designs._search import LocalSearch
    >>> from skassign.designs._search_problems import GroupSumsProblem
    >>> x = np.arange(1.0, 9.0)[:, None]
    >>> problem = GroupSumsProblem(x, np.full((2, 1), 18.0), np.ones((2, 1)))
    >>> start = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> result = LocalSearch(method="descent", max_iter=500).run(
    ...     problem, start, np.arange(8), np.random.RandomState(0))
    >>> result.value, result.stop
    (0.0, 'lower_bound')
    """

    def __init__(
        self,
        method="anneal",
        *,
        n_change=2,
        max_iter=5000,
        time_limit=None,
        t0="auto",
        t0_factor=1.0,
        cooling="log",
        tmax=10,
        patience=None,
        tenure=None,
        n_candidates=256,
        refresh_every=2000,
    ):
        if method not in ("anneal", "descent", "tabu"):
            raise ValueError(
                f"method must be 'anneal', 'descent' or 'tabu'; got {method!r}."
            )
        if not isinstance(max_iter, Integral) or max_iter < 0:
            raise ValueError(
                f"max_iter must be a non-negative integer; got {max_iter!r}."
            )
        if t0 != "auto" and (
            not isinstance(t0, Real) or t0 == 0 or not np.isfinite(t0)
        ):
            raise ValueError(
                f"t0={t0} is not a temperature; give a positive starting "
                "temperature or a negative one relative to the starting "
                "objective (t0=-5 means f_start / 5)."
            )
        if cooling not in ("log", "inverse") and not (
            isinstance(cooling, Real) and 0 < cooling < 1
        ):
            raise ValueError(
                "cooling must be 'log', 'inverse' or a factor in (0, 1); "
                f"got {cooling!r}."
            )
        self.method = method
        self.n_change = 2 if method == "tabu" else int(n_change)
        self.max_iter = int(max_iter)
        self.time_limit = time_limit
        self.t0 = t0
        self.t0_factor = float(t0_factor)
        self.cooling = cooling
        self.tmax = int(tmax)
        self.patience = patience
        self.tenure = tenure
        self.n_candidates = int(n_candidates)
        self.refresh_every = int(refresh_every)

    def run(self, problem, labels, free, rng, *, classes=None, progress=None):
        """Search from ``labels``, moving only the units in ``free``.

        Parameters
        ----------
        problem : SearchProblem
            The objective (its state is reset to ``labels``).
        labels : ndarray of shape (n_samples,)
            Starting assignment (group sizes and fixed units as wanted).
        free : ndarray of int
            Indices of the units that may move.
        rng : numpy.random.RandomState
            Source of randomness.
        classes : ndarray of shape (n_samples,) or None, default=None
            Swap classes: units move only with units of the same class.
        progress : tqdm-like or None, default=None
            Advanced by the iterations run.

        Returns
        -------
        result : SearchResult
        """
        problem.reset(np.asarray(labels, dtype=np.int64))
        moves = _Moves(problem.labels, np.asarray(free), classes, self.n_change)
        state = _State(self, problem, moves, rng, progress)
        if moves.empty or self.max_iter == 0:
            return state.result(0, 0.0, "no_moves" if moves.empty else "max_iter")
        if self.method == "tabu":
            return state.tabu()
        return state.anneal()


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
        self.n_moved = self.n_restarts = 0
        self.run_best, self.run_best_it = problem.value, 0
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
        """Restart after ``patience`` iterations without a better run best."""
        value = self.problem.value
        if value < self.run_best - _RTOL * max(1.0, abs(self.run_best)):
            self.run_best, self.run_best_it = value, done
        patience = self.search.patience
        if patience is None or done - self.run_best_it < patience:
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
        chain_ok = getattr(problem, "supports_chain", False)
        rotate = np.roll(np.arange(n_change), -1)
        current = self.current
        pool_units = pool_limits = None
        pos = pool_size = 0
        done, since_refresh, offset = 0, 0, 0
        # Running counts of proposals, accepted proposals and accepted
        # proposals that changed the assignment (exponentially forgotten).
        seen, accepted, effective = 4.0, 2.0, 1.0
        stop = None
        while stop is None:
            if pos == pool_size:
                pool_size = min(8 * _MAX_BATCH, iterations - done)
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
                tol = -_RTOL * max(1.0, abs(problem.value))
                limits = np.full(pool_size - pos, tol)
            p_stop_reject = effective / seen
            p_stop_chain = 1.0 - accepted / seen
            chain_mode = chain_ok and p_stop_chain < p_stop_reject
            p_stop = min(p_stop_reject, p_stop_chain) if chain_ok else p_stop_reject
            size = _BATCH_TABLE[min(bisect_left(_STOP_GRID_LIST, p_stop), 160)]
            cap = _CHAIN_BATCH if chain_mode else _MAX_BATCH
            size = min(size, cap, pool_size - pos)
            units = pool_units[pos : pos + size]
            if pool_limits is not None:
                limits = pool_limits[pos : pos + size]
            else:
                limits = limits[:size]
            if chain_mode:
                consumed, n_accepted, n_effective = self._chain_batch(
                    units, limits, done
                )
            else:
                consumed, n_accepted, n_effective = self._reject_batch(
                    units, units_new(problem.labels, units, rotate), limits, done
                )
            self.n_moved += n_effective
            since_refresh += n_effective
            if since_refresh >= search.refresh_every:
                problem.refresh()
                since_refresh = 0
            seen = 0.9 * seen + consumed
            accepted = 0.9 * accepted + n_accepted
            effective = 0.9 * effective + n_effective
            done += consumed
            pos += consumed
            if self.progress is not None:
                self.progress.update(consumed)
            if self.restart_due(done):
                offset, pos, pool_size = done, 0, 0
                current[done] = problem.value
            stop = self.stop_reason(done)
        return self.result(done, t0, stop)

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
        done, since_refresh, stop = 0, 0, None
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
            if allowed.any():
                k = int(np.argmin(np.where(allowed, delta, np.inf)))
                problem.apply_proposal(k, units, new, pieces)
                tabu[units[k]] = done + rng.randint(low, high + 1, size=2)
                self.n_moved += 1
                since_refresh += 1
                if problem.best_value() < self.best_f:
                    self.best_f, self.best_labels = problem.current_best()
            if since_refresh >= search.refresh_every:
                problem.refresh()
                since_refresh = 0
            self.trace[done] = self.best_f
            self.current[done] = problem.value
            if self.progress is not None:
                self.progress.update(1)
            if self.restart_due(done):
                tabu[:] = 0
                self.current[done] = problem.value
            stop = self.stop_reason(done)
        return self.result(done, 0.0, stop)


def units_new(labels, units, rotate):
    """Labels the units of every proposal get: their labels, rotated."""
    return labels[units][:, rotate]


def replay(labels, units, new):
    """Labels after the moves ``units[k] -> new[k]``, applied in order."""
    labels = labels.copy()
    flat_units = units.ravel()[::-1]
    last, first = np.unique(flat_units, return_index=True)
    labels[last] = new.ravel()[::-1][first]
    return labels
