"""OptimalBalance's mixed-integer program, as a :class:`~skassign.utils._mip.LinearMIP`.

Bertsimas, Johnson & Kallus's model: minimise ``d`` with, for every pair of
groups, ``d`` at least the l1 norm of the difference of their moment means.
Two groups count the units of each type in group 0; more groups use one
binary per unit and group. Interchangeable groups are told apart by variable
bounds. The engine is chosen by :class:`~skassign.base.BaseSolverDesign`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from skassign.designs._optimal_problem import _pair_indices
from skassign.utils._mip import LinearMIP

# Largest number of moment columns modelled by enumerating sign patterns
# (2**K constraints per pair of groups) instead of absolute-value variables.
_MAX_SIGN_COLUMNS = 2
# Models with at most this many binary variables are solved with SCIP's
# presolving, cutting planes and primal heuristics switched off: on such
# models their set-up costs more than it saves, the warm start is
# (near-)optimal and branching closes the gap fastest.
_SMALL_MODEL = 30


def _sign_patterns(n_cols):
    return np.array(list(product((1.0, -1.0), repeat=n_cols)))


def _model_structure(problem):
    """Binary layout, objective rows and bounds shared by every engine.

    Two groups use one integer per type of free unit: how many of the
    type's units join group 0 (a binary per unit when all units differ);
    more groups use one binary per unit and group. Each pair of groups ``r``
    has moment differences ``A[r] @ y + b[r]``. Symmetry between
    interchangeable groups is removed with variable bounds: with two groups,
    group 0 holds at least half of the units of type 0; otherwise, within a
    class ordered by first unit, the ``j``-th free unit can only join the
    class's first ``j + 1`` groups.

    Returns
    -------
    two_groups : bool
    A : ndarray of shape (n_pairs, K, n_binaries)
    b : ndarray of shape (n_pairs, K)
    lb, ub : ndarray of shape (n_binaries,)
    """
    F, C, sizes = problem.F, problem.C, problem.sizes
    n_free, n_cols = F.shape
    m = problem.n_groups
    if m == 2:
        both = 1.0 / sizes[0] + 1.0 / sizes[1]
        counts = problem.type_counts
        first_of = np.unique(problem.types, return_index=True)[1]
        A = (F[first_of].T * both)[None]
        b = (C[0] / sizes[0] - (C[1] + F.sum(axis=0)) / sizes[1])[None]
        lb, ub = np.zeros(counts.shape[0]), counts.astype(np.float64)
        if problem.classes and n_free:
            lb[0] = np.ceil(counts[0] / 2.0)
        return True, A, b, lb, ub
    first, second = _pair_indices(m)
    A = np.zeros((first.shape[0], n_cols, n_free, m))
    for r, (p, q) in enumerate(zip(first, second, strict=True)):
        A[r, :, :, p] = F.T / sizes[p]
        A[r, :, :, q] = -F.T / sizes[q]
    b = C[first] / sizes[first, None] - C[second] / sizes[second, None]
    ub = np.ones((n_free, m))
    for groups in problem.classes:
        for rank, g in enumerate(groups):
            ub[:rank, g] = 0.0
    return (
        False,
        A.reshape(first.shape[0], n_cols, -1),
        b,
        np.zeros(n_free * m),
        ub.ravel(),
    )


def _warm_values(problem, labels, two_groups):
    if two_groups:
        return np.bincount(
            problem.types,
            weights=(labels == 0).astype(np.float64),
            minlength=problem.type_counts.shape[0],
        )
    y = np.zeros((labels.shape[0], problem.n_groups))
    y[np.arange(labels.shape[0]), labels] = 1.0
    return y.ravel()


def _labels_from_values(values, problem, two_groups, rng):
    """Free-unit labels from the solver's values.

    With two groups the values count the units of each type in group 0;
    which units of a type those are is drawn at random (they are identical
    in every moment the design balances).
    """
    if not two_groups:
        return values.reshape(-1, problem.n_groups).argmax(axis=1).astype(np.int64)
    in_zero = np.rint(values).astype(np.int64)
    labels = np.ones(problem.types.shape[0], dtype=np.int64)
    for t in np.flatnonzero(in_zero):
        units = rng.permutation(np.flatnonzero(problem.types == t))
        labels[units[: in_zero[t]]] = 0
    return labels


@dataclass(frozen=True)
class _Model:
    """The program, and what is needed to read labels from its solution."""

    mip: LinearMIP
    two_groups: bool
    A: np.ndarray  # (n_pairs, K, n_binaries): moment differences A @ y + b
    b: np.ndarray  # (n_pairs, K)
    n_abs: int  # absolute-value variables (0 with the sign-pattern rows)

    @property
    def n_binaries(self):
        return self.A.shape[2]


def _stratum_equalities(problem, two_groups):
    """Rows ``A y = b`` fixing every stratum's count in every group (or None)."""
    if problem.strata is None:
        return None
    n_strata, m = problem.stratum_caps.shape
    if two_groups:
        first_of = np.unique(problem.types, return_index=True)[1]
        of_type = problem.strata[first_of]
        A = (of_type[None, :] == np.arange(n_strata)[:, None]).astype(np.float64)
        return A, problem.stratum_caps[:, 0].astype(np.float64)
    S = (problem.strata[None, :] == np.arange(n_strata)[:, None]).astype(np.float64)
    return np.kron(S, np.eye(m)), problem.stratum_caps.ravel().astype(np.float64)


def build_model(problem):
    """Build the mixed-integer program of ``problem``: variables y, d and t.

    ``y`` are the assignment variables of :func:`_model_structure`, ``d`` the
    largest discrepancy (the objective). Up to ``_MAX_SIGN_COLUMNS`` moment
    columns, ``d`` bounds every sign pattern of every pair's differences
    (``2 ** K`` rows per pair); beyond, ``t`` bounds the absolute
    differences and ``d`` their sum.

    Returns
    -------
    model : _Model
    """
    two_groups, A, b, lb, ub = _model_structure(problem)
    n_pairs, n_cols, n_bin = A.shape
    m = problem.n_groups
    signs = _sign_patterns(n_cols) if n_cols <= _MAX_SIGN_COLUMNS else None
    n_abs = 0 if signs is not None else n_pairs * n_cols
    n_vars = n_bin + 1 + n_abs
    d = n_bin
    if two_groups:
        A_eq = np.zeros((1, n_vars))
        A_eq[0, :n_bin] = 1.0
        b_eq = np.array([float(problem.caps[0])])
    else:
        n_free = n_bin // m
        A_eq = np.zeros((n_free + m, n_vars))
        units = np.repeat(np.arange(n_free), m)
        groups = np.tile(np.arange(m), n_free)
        A_eq[units, np.arange(n_bin)] = 1.0
        A_eq[n_free + groups, np.arange(n_bin)] = 1.0
        b_eq = np.concatenate([np.ones(n_free), problem.caps.astype(np.float64)])
    equalities = _stratum_equalities(problem, two_groups)
    if equalities is not None:
        # Every stratum's count in every group is fixed (strata).
        rows_h = np.zeros((equalities[0].shape[0], n_vars))
        rows_h[:, :n_bin] = equalities[0]
        A_eq = np.vstack([A_eq, rows_h])
        b_eq = np.concatenate([b_eq, equalities[1]])
    rows, rhs = [], []
    for r in range(n_pairs):
        if signs is not None:
            for sign in signs:
                row = np.zeros(n_vars)
                row[:n_bin] = sign @ A[r]
                row[d] = -1.0
                rows.append(row)
                rhs.append(-(sign @ b[r]))
            continue
        t = n_bin + 1 + r * n_cols + np.arange(n_cols)
        for sign in (1.0, -1.0):
            block = np.zeros((n_cols, n_vars))
            block[:, :n_bin] = sign * A[r]
            block[np.arange(n_cols), t] = -1.0
            rows.extend(block)
            rhs.extend(-sign * b[r])
        row = np.zeros(n_vars)
        row[t] = 1.0
        row[d] = -1.0
        rows.append(row)
        rhs.append(0.0)
    mip = LinearMIP(
        c=np.eye(n_vars)[d],
        A_ub=np.array(rows),
        b_ub=np.array(rhs, dtype=np.float64),
        A_eq=A_eq,
        b_eq=b_eq,
        lb=np.concatenate([lb, np.zeros(1 + n_abs)]),
        ub=np.concatenate([ub, np.full(1 + n_abs, np.inf)]),
        vtypes=("I" if two_groups else "B") * n_bin + "C" * (1 + n_abs),
    )
    return _Model(mip=mip, two_groups=two_groups, A=A, b=b, n_abs=n_abs)


def warm_start(model, problem, labels):
    """Values of all of the model's variables at the free-unit ``labels``."""
    y = _warm_values(problem, labels, model.two_groups)
    diffs = np.abs(model.A @ y + model.b)
    d = [float(diffs.sum(axis=1).max())]
    t = diffs.ravel() if model.n_abs else np.zeros(0)
    return np.concatenate([y, d, t])


def labels_from_solution(values, model, problem, rng):
    """Free-unit labels from the values of all of the model's variables."""
    return _labels_from_values(
        values[: model.n_binaries], problem, model.two_groups, rng
    )


def is_small(model):
    """Whether SCIP should solve the model light (see ``_SMALL_MODEL``)."""
    return model.n_binaries <= _SMALL_MODEL
