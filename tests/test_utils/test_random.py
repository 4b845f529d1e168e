"""Seeding helpers."""

import numpy as np
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
