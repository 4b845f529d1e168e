"""A solver-backed design in a few lines: equal group totals by a MIP."""

from itertools import combinations

import numpy as np

from skassign.base import BaseSolverDesign
from skassign.utils import child_seed
from skassign.utils._mip import LinearMIP


class SumBalance(BaseSolverDesign):
    """Assignment whose groups' totals of the units' scores are closest.

    A unit's score is the sum of its covariates; the MIP minimises
    ``d >= |S_p - S_q|`` over pairs of groups' total scores ``S``.

    Parameters
    ----------
    n_groups : int, default=2
        Number of groups.
    group_sizes : array-like of int or None, default=None
        Size of every group; ``None`` makes them as equal as possible.
    solver : str, default="pyscipopt"
        SCIP through PySCIPOpt, or a cvxpy solver name such as ``"HIGHS"``.
    solver_params : dict or None, default=None
        The solver's own options.
    time_limit : float or None, default=None
        Wall-clock limit in seconds.
    node_limit : int or None, default=100
        Branch-and-bound node limit (the same assignment on every machine).
    mip_gap : float, default=0.0
        Relative gap at which the solver may stop.
    fallback : design or None, default=None
        Design used if the solver fails.
    random_state : int, RandomState instance or None, default=None
        Seed of the solver and of the arms' labels.
    verbose : int, default=0
        1 prints a summary, 2 the solver log.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Group of each unit.
    objective_ : float
        Largest difference between two groups' total scores.
    status_ : str
        How the solver stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from tests.worked_designs.sum_balance import SumBalance
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [7.0]])
    >>> design = SumBalance(random_state=0).fit(X)
    >>> design.status_, design.objective_
    ('optimal', 0.0)
    """

    def __init__(self, n_groups=2, *, group_sizes=None, solver="pyscipopt",
                 solver_params=None, time_limit=None, node_limit=100, mip_gap=0.0,
                 fallback=None, random_state=None, verbose=0):  # fmt: skip
        self.n_groups, self.group_sizes, self.solver = n_groups, group_sizes, solver
        self.solver_params, self.time_limit = solver_params, time_limit
        self.node_limit, self.mip_gap, self.fallback = node_limit, mip_gap, fallback
        self.random_state, self.verbose = random_state, verbose

    def _objective(self, X, labels):
        totals = np.bincount(labels, weights=X.sum(axis=1))
        return float(totals.max() - totals.min()) if totals.size > 1 else 0.0

    def _solve(self, X, sizes, fixed, rng):
        m, free, score = len(sizes), np.flatnonzero(fixed < 0), X.sum(axis=1)
        n_x = free.size * m  # x[i, g] at i * m + g, then d
        fixed_totals = np.bincount(fixed[fixed >= 0], score[fixed >= 0], m)
        caps = sizes - np.bincount(fixed[fixed >= 0], minlength=m)
        A_eq = np.zeros((free.size + m, n_x + 1))
        for i in range(free.size):  # every free unit in one group ...
            A_eq[i, i * m : (i + 1) * m] = 1.0
        for g in range(m):  # ... and every group full
            A_eq[free.size + g, g:n_x:m] = 1.0
        rows, rhs = [], []
        for p, q in combinations(range(m), 2):
            for sign in (1.0, -1.0):  # sign * (S_p - S_q) <= d
                row = np.zeros(n_x + 1)
                row[p:n_x:m], row[q:n_x:m] = sign * score[free], -sign * score[free]
                row[-1] = -1.0
                rows.append(row)
                rhs.append(-sign * (fixed_totals[p] - fixed_totals[q]))
        mip = LinearMIP(
            c=np.eye(n_x + 1)[-1], A_ub=np.array(rows).reshape(-1, n_x + 1),
            b_ub=np.array(rhs), A_eq=A_eq, lb=np.zeros(n_x + 1),
            b_eq=np.concatenate([np.ones(free.size), caps]),
            ub=np.append(np.ones(n_x), np.inf), vtypes="B" * n_x + "C",
        )  # fmt: skip
        result = self._solve_mip(mip, child_seed(rng))
        labels = fixed.copy()
        labels[free] = result.values[:n_x].reshape(-1, m).argmax(axis=1)
        return labels, result
