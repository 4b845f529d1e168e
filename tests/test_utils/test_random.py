"""Seeding helpers."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import CompleteRandomization, Rerandomization
from skassign.utils import set_random_states, spawn_seeds


def _states(seeds):
    return [tuple(s.generate_state(2)) for s in seeds]


def test_spawn_seeds_is_reproducible_and_independent():
    a, b = spawn_seeds(0, 5), spawn_seeds(0, 5)
    assert _states(a) == _states(b)
    assert len(set(_states(a))) == 5
    assert _states(spawn_seeds(1, 5)) != _states(a)
    # A prefix of the children does not depend on how many are spawned.
    assert _states(spawn_seeds(0, 3)) == _states(a)[:3]
    rs = np.random.RandomState(0)
    first, second = spawn_seeds(rs, 2), spawn_seeds(rs, 2)
    assert _states(first) != _states(second)


def test_set_random_states_reseeds_every_nested_parameter():
    pipe = make_pipeline(
        StandardScaler(), make_pipeline(StandardScaler(), Rerandomization())
    )
    set_random_states(pipe, 0)
    params = pipe.get_params()
    value = params["pipeline__rerandomization__random_state"]
    assert isinstance(value, int)
    again = set_random_states(
        make_pipeline(
            StandardScaler(), make_pipeline(StandardScaler(), Rerandomization())
        ),
        0,
    )
    assert again.get_params()["pipeline__rerandomization__random_state"] == value
    other = set_random_states(CompleteRandomization(), 1).random_state
    assert other != set_random_states(CompleteRandomization(), 2).random_state


def test_set_random_states_accepts_seed_sequences():
    seeds = spawn_seeds(0, 2)
    a = set_random_states(CompleteRandomization(), seeds[0]).random_state
    b = set_random_states(CompleteRandomization(), seeds[0]).random_state
    c = set_random_states(CompleteRandomization(), seeds[1]).random_state
    assert a == b != c


def test_set_random_states_leaves_estimators_without_randomness_alone():
    scaler = StandardScaler()
    assert set_random_states(scaler, 0) is scaler
    assert scaler.get_params() == StandardScaler().get_params()


def test_legacy_random_state_is_numpys_random_state():
    from skassign.utils._random import check_random_state, legacy_random_state

    for seed in (0, 1, 123, 2**32 - 1, np.int64(7), [5, 6], np.arange(4)):
        fast, numpy = legacy_random_state(seed), np.random.RandomState(seed)
        fast_state, numpy_state = fast.get_state(), numpy.get_state()
        assert fast_state[0] == numpy_state[0]
        assert np.array_equal(fast_state[1], numpy_state[1])
        assert fast_state[2:] == numpy_state[2:]
        assert fast.normal(size=3).tolist() == numpy.normal(size=3).tolist()
    assert check_random_state(3).randint(100, size=5).tolist() == (
        np.random.RandomState(3).randint(100, size=5).tolist()
    )
    state = np.random.RandomState(0)
    assert check_random_state(state) is state
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match="Seed must be between"):
            check_random_state(bad)
    with pytest.raises(ValueError, match="cannot be used to seed"):
        check_random_state("x")
