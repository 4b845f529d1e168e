"""Seeding helpers that make parallel work independent of ``n_jobs``."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from numpy.random.bit_generator import ISeedSequence
from sklearn.utils import check_random_state as _sklearn_check_random_state

__all__ = ["child_rng", "child_seed", "set_random_states", "spawn_seeds"]

# Seeds stay below 2**31 - 1: SCIP's and many C libraries' seeds are C ints.
_INT32_MAX = np.iinfo(np.int32).max


class _DiscardedState(ISeedSequence):
    """Initial state of a Mersenne Twister that legacy seeding overwrites.

    ``np.random.RandomState(seed)`` first seeds its generator from fresh OS
    entropy (hashing 624 words, about 0.1 ms) and then overwrites the whole
    state by the legacy seeding of ``seed``. This seed sequence skips the
    discarded work: a small design's fit takes well under a millisecond.
    """

    def generate_state(self, n_words, dtype=np.uint32):
        return np.zeros(n_words, dtype=dtype)


_DISCARDED = _DiscardedState()


def legacy_random_state(seed):
    """Return ``np.random.RandomState(seed)``, built without wasted entropy.

    Parameters
    ----------
    seed : int or array-like of int
        A legacy seed (``0 <= seed < 2**32``).

    Returns
    -------
    rng : numpy.random.RandomState
        The generator ``np.random.RandomState(seed)`` gives, in the same state.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils._random import legacy_random_state
    >>> legacy_random_state(5).randint(100, size=3).tolist() == (
    ...     np.random.RandomState(5).randint(100, size=3).tolist())
    True
    """
    rng = np.random.RandomState(np.random.MT19937(_DISCARDED))
    rng.seed(seed)
    return rng


def check_random_state(seed):
    """scikit-learn's ``check_random_state``, faster for integer seeds.

    Parameters
    ----------
    seed : None, int or RandomState instance
        As in :func:`sklearn.utils.check_random_state`.

    Returns
    -------
    rng : numpy.random.RandomState
        The same generator, in the same state, as scikit-learn returns.

    Examples
    --------
    >>> from skassign.utils._random import check_random_state
    >>> float(check_random_state(0).uniform())
    0.5488135039273248
    """
    if isinstance(seed, Integral):
        return legacy_random_state(seed)
    return _sklearn_check_random_state(seed)


def child_seed(rng):
    """Draw one integer seed for a sub-task (a solver, a clone, a kernel).

    Every place in skassign that hands randomness on to something seeded by an
    integer draws that integer here, so that all sub-task seeds come from the
    same range, ``[0, 2**31 - 1)``, which C libraries such as SCIP accept.

    Parameters
    ----------
    rng : int, RandomState instance, numpy.random.Generator, \
            numpy.random.SeedSequence or None
        Source of the seed; the generators advance by one draw. An integer or
        ``None`` is turned into a ``RandomState`` first.

    Returns
    -------
    seed : int
        An integer in ``[0, 2**31 - 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils import child_seed
    >>> child_seed(np.random.RandomState(0)) == child_seed(0)
    True
    >>> 0 <= child_seed(np.random.default_rng(0)) < 2**31 - 1
    True
    """
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(_INT32_MAX))
    return int(_random_state(rng).randint(_INT32_MAX))


def child_rng(rng):
    """Return a new :class:`numpy.random.Generator` seeded by :func:`child_seed`.

    Parameters
    ----------
    rng : int, RandomState instance, numpy.random.Generator, \
            numpy.random.SeedSequence or None
        Source of the seed.

    Returns
    -------
    generator : numpy.random.Generator
        An independent generator for a sub-task (a compiled kernel takes
        ``Generator`` objects).

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.utils import child_rng
    >>> a = child_rng(np.random.RandomState(0)).integers(100, size=3)
    >>> b = child_rng(np.random.RandomState(0)).integers(100, size=3)
    >>> bool((a == b).all())
    True
    """
    return np.random.default_rng(child_seed(rng))


def _random_state(random_state):
    """Return a ``RandomState`` from an int, None, a RandomState or a SeedSequence."""
    if isinstance(random_state, np.random.SeedSequence):
        return legacy_random_state(random_state.generate_state(4))
    return check_random_state(random_state)


def spawn_seeds(random_state, n):
    """Draw ``n`` independent seed sequences from ``random_state``.

    Each parallel task gets its own child :class:`numpy.random.SeedSequence`,
    drawn up front in the parent, so that results do not depend on the number
    of workers, on the joblib backend or on the order in which tasks finish.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        Source of the root entropy. An integer gives the same children on
        every call.
    n : int
        Number of children.

    Returns
    -------
    seeds : list of numpy.random.SeedSequence
        ``n`` independent seed sequences.

    Examples
    --------
    >>> from skassign.utils import spawn_seeds
    >>> a = spawn_seeds(0, 3)
    >>> b = spawn_seeds(0, 3)
    >>> [int(s.generate_state(1)[0]) for s in a] == [
    ...     int(s.generate_state(1)[0]) for s in b]
    True
    """
    entropy = _random_state(random_state).randint(_INT32_MAX, size=4)
    return np.random.SeedSequence([int(e) for e in entropy]).spawn(int(n))


def set_random_states(estimator, random_state):
    """Set every ``random_state`` parameter of ``estimator``, nested ones too.

    Each parameter named ``random_state`` or ending in ``__random_state`` gets
    its own integer drawn from ``random_state`` (in sorted parameter order),
    as scikit-learn's ensembles seed their members. The estimator is modified
    in place and returned.

    Parameters
    ----------
    estimator : estimator instance
        Usually a fresh :func:`~sklearn.base.clone`.
    random_state : int, RandomState instance, numpy.random.SeedSequence or None
        Source of the integer seeds.

    Returns
    -------
    estimator : estimator instance
        The same object, reseeded.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skassign.designs import CompleteRandomization
    >>> from skassign.utils import set_random_states
    >>> pipe = make_pipeline(StandardScaler(), CompleteRandomization())
    >>> _ = set_random_states(pipe, 0)
    >>> isinstance(pipe.get_params()["completerandomization__random_state"], int)
    True
    """
    rng = _random_state(random_state)
    params = {
        key: child_seed(rng)
        for key in sorted(estimator.get_params(deep=True))
        if key == "random_state" or key.endswith("__random_state")
    }
    if params:
        estimator.set_params(**params)
    return estimator
