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

from dataclasses import KW_ONLY, dataclass
from numbers import Integral, Real

import numpy as np

from skassign.designs._search_moves import (  # noqa: F401 (re-exported)
    _MAX_BATCH,
    _Moves,
    draw_units,
    replay,
    temperatures,
)
from skassign.designs._search_run import SearchResult, _State
from skassign.utils._progress import progress_bar

__all__ = ["LocalSearch", "SearchResult", "draw_units", "temperatures"]


@dataclass
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

    method: str = "anneal"
    _: KW_ONLY
    n_change: int = 2
    max_iter: int = 5000
    time_limit: float | None = None
    t0: object = "auto"
    t0_factor: float = 1.0
    cooling: object = "log"
    tmax: int = 10
    patience: int | None = None
    tenure: tuple | None = None
    n_candidates: int = 256
    refresh_every: int = 2000

    def __post_init__(self):
        if self.method not in ("anneal", "descent", "tabu"):
            raise ValueError(
                f"method must be 'anneal', 'descent' or 'tabu'; got {self.method!r}."
            )
        if not isinstance(self.max_iter, Integral) or self.max_iter < 0:
            raise ValueError(
                f"max_iter must be a non-negative integer; got {self.max_iter!r}."
            )
        t0 = self.t0
        if t0 != "auto" and (
            not isinstance(t0, Real) or t0 == 0 or not np.isfinite(t0)
        ):
            raise ValueError(
                f"t0={t0} is not a temperature; give a positive starting "
                "temperature or a negative one relative to the starting "
                "objective (t0=-5 means f_start / 5)."
            )
        cooling = self.cooling
        if cooling not in ("log", "inverse") and not (
            isinstance(cooling, Real) and 0 < cooling < 1
        ):
            raise ValueError(
                "cooling must be 'log', 'inverse' or a factor in (0, 1); "
                f"got {cooling!r}."
            )
        if self.method == "tabu":
            self.n_change = 2

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
        progress : bool, tqdm-like or None, default=None
            A bar advanced by the iterations run; ``True`` shows one
            (``skassign.utils._progress.progress_bar``), ``None`` or
            ``False`` none.

        Returns
        -------
        result : SearchResult
        """
        if isinstance(progress, bool):
            with progress_bar(
                progress, total=self.max_iter, desc=f"search ({self.method})", unit="it"
            ) as bar:
                return self.run(
                    problem, labels, free, rng, classes=classes, progress=bar
                )
        problem.reset(np.asarray(labels, dtype=np.int64))
        moves = _Moves(problem.labels, np.asarray(free), classes, self.n_change)
        state = _State(self, problem, moves, rng, progress)
        if moves.empty or self.max_iter == 0:
            return state.result(0, 0.0, "no_moves" if moves.empty else "max_iter")
        if self.method == "tabu":
            return state.tabu()
        return state.anneal()
