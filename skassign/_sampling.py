"""Drawing assignments: complete randomisations and reseeded refits of a design.

:func:`draw_assignments` is the uniform draw every randomised design starts
from; :func:`sample_assignments` refits a design with fresh seeds, the
assignments a randomisation test compares the observed one with. Both are
public as :mod:`skassign.base` functions. :func:`refit_labels` and
:func:`add_note` are the pieces the resampling tests of
:mod:`skassign.inference` share, and :func:`sampling_method` builds the
``sample_assignments`` method of every design.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, clone

from skassign.utils._docstrings import fill_doc
from skassign.utils._parallel import parallel_in_order
from skassign.utils._param_validation import (
    HasMethods,
    Interval,
    validate_params,
)
from skassign.utils._progress import progress_bar
from skassign.utils._random import set_random_states, spawn_seeds

__all__ = [
    "add_note",
    "draw_assignments",
    "refit_labels",
    "sample_assignments",
    "sampling_method",
]


def draw_assignments(sizes, fixed, rng, n_draws=None):
    """Complete randomisations honouring group sizes and fixed units.

    Free units are spread uniformly at random over the free places of every
    group (``sizes`` minus the fixed units), so every completion is equally
    likely.

    Parameters
    ----------
    sizes : ndarray of shape (n_groups,)
        Group sizes, fixed units included.
    fixed : ndarray of shape (n_samples,)
        Fixed group of each unit, ``-1`` for free units.
    rng : numpy.random.RandomState
        Source of randomness.
    n_draws : int or None, default=None
        Number of assignments; ``None`` returns a single 1-D assignment.

    Returns
    -------
    labels : ndarray of shape (n_samples,) or (n_draws, n_samples), int64
        The assignments.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.base import draw_assignments
    >>> sizes, fixed = np.array([2, 2]), np.array([0, -1, -1, -1])
    >>> labels = draw_assignments(sizes, fixed, np.random.RandomState(0))
    >>> int(labels[0]), np.bincount(labels).tolist()
    (0, [2, 2])
    >>> draw_assignments(sizes, fixed, np.random.RandomState(0), n_draws=3).shape
    (3, 4)
    """
    free = fixed < 0
    n_fixed = np.bincount(fixed[~free], minlength=sizes.shape[0])
    slots = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes - n_fixed)
    if n_draws is None:
        labels = fixed.copy()
        labels[free] = rng.permutation(slots)
        return labels
    order = rng.random_sample((n_draws, slots.shape[0])).argsort(axis=1)
    labels = np.repeat(fixed[None, :], n_draws, axis=0)
    labels[:, free] = slots[order]
    return labels


def refit_labels(estimator, X, seed, fit_params):
    """Labels of a clone of ``estimator`` reseeded from ``seed`` and fit on X.

    ``fit_predict`` makes any clusterer-like estimator (and a Pipeline ending
    in one) usable, not only skassign's designs.
    """
    model = set_random_states(clone(estimator), seed)
    return np.asarray(model.fit_predict(X, **fit_params)).astype(np.int64, copy=False)


@contextmanager
def validated_once(estimator):
    """Check an estimator's parameters once, then refit it without checks.

    scikit-learn checks the parameters on every ``fit``; a resampling test
    refits the same design a thousand times with only its seed changed, and
    for a small design the check is a sizeable share of the fit. This checks
    the parameters of ``estimator`` and of every estimator among its
    parameters (the steps of a Pipeline) once, then switches the check off
    in the block (joblib's workers inherit the setting). The designs' own
    checks of the data and of parameter combinations still run.
    """
    nested = estimator.get_params(deep=True).values()
    for part in [estimator, *(v for v in nested if isinstance(v, BaseEstimator))]:
        if hasattr(part, "_parameter_constraints"):
            part._validate_params()
    with config_context(skip_parameter_validation=True):
        yield


def _draw_labels(draw, estimator, X, seed, fit_params):
    """:func:`refit_labels` for draw number ``draw``, named in any error."""
    try:
        return refit_labels(estimator, X, seed, fit_params)
    except Exception as err:
        add_note(err, f"Raised while refitting the design for draw {draw}.")
        raise


def add_note(err, note):
    """Attach context to an exception raised in a parallel task (Python 3.11+).

    A failure in one of thousands of refits (a solver error on one draw) is
    then traceable to its draw without changing the exception's type.
    """
    if hasattr(err, "add_note"):
        err.add_note(note)


@fill_doc
@validate_params(
    {
        "design": [HasMethods(["fit_predict", "get_params"])],
        "X": ["array-like"],
        "n_assignments": [Interval(Integral, 1, None, closed="left")],
        "max_duplicate_fraction": [Interval(Real, 0, 1, closed="both")],
        "max_draws": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "progress": ["boolean"],
        "verbose": ["verbose"],
        "fit_params": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def sample_assignments(
    design,
    X,
    n_assignments,
    *,
    max_duplicate_fraction=1.0,
    max_draws=None,
    n_jobs=None,
    random_state=None,
    progress=False,
    verbose=0,
    fit_params=None,
):
    """Draw assignments of the same units from a design with fresh seeds.

    Every draw refits a clone of ``design`` (a design or a Pipeline ending in
    one) whose ``random_state`` parameters are reseeded from its own child
    :class:`numpy.random.SeedSequence`, so the result is identical for any
    ``n_jobs`` and joblib backend. These are the assignments a randomisation
    test compares the observed one with (the R minMSE tool's
    ``desired_test_vectors``).

    Read more in the :ref:`User Guide <inference>`.

    Parameters
    ----------
    design : estimator
        A design or a Pipeline ending in one; any estimator with
        ``fit_predict`` whose ``random_state`` parameters drive its
        randomness works.
    X : array-like of shape (n_samples, n_features)
        Covariates of the units.
    n_assignments : int
        Number of assignments wanted.
    max_duplicate_fraction : float in [0, 1], default=1.0
        Largest share of the returned assignments that may repeat an earlier
        one (the R tool's ``percentage_equal_treatments``, as a fraction).
        With less than 1, draws continue until enough distinct assignments
        are found or ``max_draws`` is reached.
    max_draws : int or None, default=None
        Largest number of fits; ``None`` means ``10 * n_assignments``.
    %(n_jobs)s
    random_state : int, RandomState instance or None, default=None
        Root seed of the draws.
    %(progress)s
    %(joblib_verbose)s
    fit_params : dict or None, default=None
        Passed to every ``fit`` (for example ``{"fixed_labels": ...}`` or, in
        a Pipeline, ``{"design__fixed_labels": ...}``).

    Returns
    -------
    assignments : ndarray of shape (n_found, n_samples), dtype int64
        The assignments in the order drawn; ``n_found`` is ``n_assignments``
        unless ``max_draws`` ran out (then a warning says so).

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.base import sample_assignments
    >>> from skassign.designs import CompleteRandomization
    >>> X = np.arange(8.0).reshape(-1, 1)
    >>> A = sample_assignments(CompleteRandomization(), X, 20,
    ...                        max_duplicate_fraction=0.0, random_state=0)
    >>> A.shape, len({tuple(a) for a in A})
    ((20, 8), 20)
    """
    fit_params = {} if fit_params is None else fit_params
    if max_draws is None:
        max_draws = 10 * n_assignments
    max_duplicates = int(np.floor(max_duplicate_fraction * n_assignments))
    root = spawn_seeds(random_state, 1)[0]
    kept, seen, n_duplicates, n_drawn = [], set(), 0, 0
    with progress_bar(progress, total=0, desc="assignments", unit="fit") as bar:
        while len(kept) < n_assignments and n_drawn < max_draws:
            n_round = min(n_assignments - len(kept), max_draws - n_drawn)
            seeds = root.spawn(n_round)
            if bar is not None:
                bar.total += n_round
                bar.refresh()
            with validated_once(design):
                draws = parallel_in_order(
                    _draw_labels,
                    [
                        (n_drawn + i, design, X, seed, fit_params)
                        for i, seed in enumerate(seeds)
                    ],
                    n_jobs=n_jobs,
                    verbose=verbose,
                    bar=bar,
                )
            n_drawn += n_round
            for labels in draws:
                key = labels.tobytes()
                if key in seen:
                    if n_duplicates >= max_duplicates:
                        continue
                    n_duplicates += 1
                seen.add(key)
                kept.append(labels)
                if len(kept) == n_assignments:
                    break
    if len(kept) < n_assignments:
        warnings.warn(
            f"Only {len(kept)} of the n_assignments={n_assignments} assignments "
            f"were found within max_draws={max_draws} fits with at most "
            f"{max_duplicates} duplicates: the design produces few distinct "
            "assignments. Loosen the design (fewer iterations, a larger "
            "threshold) or allow more duplicates.",
            UserWarning,
            stacklevel=2,
        )
    return np.vstack(kept).astype(np.int64)


_METHOD_DOC = """{summary}

    See :func:`skassign.base.sample_assignments`, which this calls with
    ``design=self``; ``random_state=None`` uses the design's own
    ``random_state`` as root seed.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Covariates of the units.
    n_assignments : int
        Number of assignments wanted.
    max_duplicate_fraction : float in [0, 1], default={default}
        Largest share of repeated assignments.{duplicates}
    max_draws : int or None, default=None
        Largest number of fits (``None``: ``10 * n_assignments``).
    %(n_jobs)s
    random_state : int, RandomState instance or None, default=None
        Root seed; ``None`` uses ``self.random_state``.
    %(progress)s
    fixed_labels : array-like of shape (n_samples,), default=None
        Partial assignment kept in every draw.
    strata : str or array-like of shape (n_samples,), default=None
        Strata spread evenly in every draw (see ``fit``).

    Returns
    -------
    assignments : ndarray of shape (n_found, n_samples), dtype int64
        The assignments, one per row.
{examples}"""


def sampling_method(
    max_duplicate_fraction=1.0,
    *,
    summary="Draw assignments of the units of ``X`` with fresh seeds.",
    duplicates="",
    examples="",
):
    """Build a design's ``sample_assignments`` method.

    Every design has the method; a design whose draws repeat easily (an
    optimisation that converges) gives it another default share of
    duplicates and its own words, without writing the method again.

    Parameters
    ----------
    max_duplicate_fraction : float in [0, 1], default=1.0
        Default of the method's ``max_duplicate_fraction``.
    summary : str, default="Draw assignments of the units of ``X`` with fresh seeds."
        First paragraph of the method's docstring.
    duplicates : str, default=""
        Sentences added to the description of ``max_duplicate_fraction``
        (start with a space; lines indented by eight spaces).
    examples : str, default=""
        An ``Examples`` section (indented by four spaces), or nothing.

    Returns
    -------
    method : function
        The method, to be assigned as ``sample_assignments`` in a class body.
    """

    def method(
        self,
        X,
        n_assignments,
        *,
        max_duplicate_fraction=max_duplicate_fraction,
        max_draws=None,
        n_jobs=None,
        random_state=None,
        progress=False,
        fixed_labels=None,
        strata=None,
    ):
        return sample_assignments(
            self,
            X,
            n_assignments,
            max_duplicate_fraction=max_duplicate_fraction,
            max_draws=max_draws,
            n_jobs=n_jobs,
            random_state=self.random_state if random_state is None else random_state,
            progress=progress,
            fit_params={
                key: value
                for key, value in (("fixed_labels", fixed_labels), ("strata", strata))
                if value is not None
            },
        )

    method.__name__ = method.__qualname__ = "sample_assignments"
    method.__doc__ = _METHOD_DOC.format(
        summary=summary,
        default=max_duplicate_fraction,
        duplicates=duplicates,
        examples=f"\n{examples}" if examples else "",
    )
    return fill_doc(method)
