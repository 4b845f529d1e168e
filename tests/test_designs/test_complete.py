"""CompleteRandomization and BlockRandomization."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans

from skassign.designs import BlockRandomization, CompleteRandomization


def test_complete_randomization_reaches_every_assignment():
    X = np.zeros((6, 1))
    seen = {
        tuple(CompleteRandomization(random_state=seed).fit_predict(X))
        for seed in range(400)
    }
    expected = {
        tuple(np.isin(np.arange(6), c).astype(int)) for c in combinations(range(6), 3)
    }
    assert seen == expected


def test_complete_randomization_sizes_with_remainder():
    X = np.zeros((11, 1))
    extra = np.zeros(3)
    for seed in range(60):
        design = CompleteRandomization(n_groups=3, random_state=seed).fit(X)
        assert sorted(design.group_sizes_) == [3, 4, 4]
        extra += design.group_sizes_ == 4
    # Which groups get the extra units is random, not always the first ones.
    assert np.all(extra > 0)


def test_complete_randomization_explicit_sizes():
    design = CompleteRandomization(n_groups=3, group_sizes=[2, 5, 3], random_state=0)
    labels = design.fit_predict(np.zeros((10, 2)))
    assert np.bincount(labels).tolist() == [2, 5, 3]


# ---------------------------------------------------------------------------
# BlockRandomization


def _within_proportional_share(labels, strata, sizes):
    n_h = np.bincount(strata)
    counts = np.zeros((n_h.size, len(sizes)), dtype=int)
    np.add.at(counts, (strata, labels), 1)
    share = n_h[:, None] * np.asarray(sizes)[None, :] / sum(sizes)
    return np.all(counts >= np.floor(share)) and np.all(counts <= np.ceil(share))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_groups=st.integers(2, 4),
    n_strata=st.integers(1, 5),
    extra=st.integers(0, 20),
    seed=st.integers(0, 2**31 - 1),
    explicit_sizes=st.booleans(),
)
def test_stratum_counts_within_floor_and_ceil_of_the_share(
    n_groups, n_strata, extra, seed, explicit_sizes
):
    rng = np.random.default_rng(seed)
    n = n_groups + n_strata + extra
    strata = rng.integers(0, n_strata, size=n)
    if explicit_sizes:
        cuts = np.sort(rng.choice(np.arange(1, n), n_groups - 1, replace=False))
        sizes = np.diff(np.concatenate([[0], cuts, [n]])).tolist()
    else:
        sizes = None
    design = BlockRandomization(n_groups=n_groups, group_sizes=sizes, random_state=seed)
    labels = design.fit_predict(rng.normal(size=(n, 2)), strata=strata)
    _, codes = np.unique(strata, return_inverse=True)
    assert np.array_equal(design.strata_, codes)
    assert design.n_strata_ == np.unique(strata).size
    assert _within_proportional_share(labels, codes, design.group_sizes_)
    if sizes is not None:
        assert design.group_sizes_.tolist() == sizes


def test_given_strata_of_any_type():
    X = np.arange(12.0).reshape(-1, 1)
    sex = pd.Series(["f", "m"] * 6, index=np.arange(100, 112))
    design = BlockRandomization(random_state=0).fit(X, strata=sex)
    for value in ("f", "m"):
        assert np.bincount(design.labels_[sex.to_numpy() == value]).tolist() == [3, 3]
    assert design.n_strata_ == 2
    # Strata with missing values form their own stratum.
    cages = [1.0, 1.0, np.nan, np.nan, 2.0, 2.0] * 2
    design = BlockRandomization(random_state=0).fit(X, strata=cages)
    assert design.n_strata_ == 3


def test_kmeans_strata_match_kmeans_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([c + rng.normal(scale=0.3, size=(8, 2)) for c in centres])
    design = BlockRandomization(n_strata=3, random_state=0).fit(X)
    clusters = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(X)
    # Same partition as k-means (up to the names of the clusters).
    pairs = set(zip(design.strata_.tolist(), clusters.tolist(), strict=True))
    assert len(pairs) == 3 and design.n_strata_ == 3
    assert _within_proportional_share(design.labels_, design.strata_, [12, 12])
    for h in range(3):
        assert np.bincount(design.labels_[design.strata_ == h]).tolist() == [4, 4]


def test_default_number_of_kmeans_strata():
    X = np.random.default_rng(0).normal(size=(20, 2))
    assert BlockRandomization().fit(X).n_strata_ == 5  # 20 // (2 * 2)
    assert BlockRandomization(n_groups=3).fit(X).n_strata_ == 3  # 20 // 6
    assert BlockRandomization().fit(X[:3]).n_strata_ == 1
    # Capped at the number of distinct rows.
    X_dup = np.repeat([[0.0], [1.0]], 5, axis=0)
    assert BlockRandomization(n_strata=4).fit(X_dup).n_strata_ == 2


def test_block_randomization_with_fixed_labels():
    X = np.arange(12.0).reshape(-1, 1)
    strata = np.repeat([0, 1, 2], 4)
    fixed = np.full(12, -1)
    fixed[[0, 1]] = 0  # two units of stratum 0 already in group 0
    fixed[4] = 1
    for seed in range(10):
        design = BlockRandomization(random_state=seed)
        labels = design.fit_predict(X, strata=strata, fixed_labels=fixed)
        assert labels[0] == labels[1] == 0 and labels[4] == 1
        assert np.bincount(labels).tolist() == [6, 6]
        assert _within_proportional_share(labels, strata, [6, 6])


def test_fixed_labels_that_break_the_share_still_give_valid_sizes():
    # Three units of stratum 0 are fixed to group 0: the share (2, 2) cannot
    # hold, but sizes and fixed units must, with the excess kept minimal.
    X = np.arange(8.0).reshape(-1, 1)
    strata = np.repeat([0, 1], 4)
    fixed = np.array([0, 0, 0, -1, -1, -1, -1, -1])
    labels = BlockRandomization(random_state=0).fit_predict(
        X, strata=strata, fixed_labels=fixed
    )
    assert labels[:3].tolist() == [0, 0, 0]
    assert np.bincount(labels).tolist() == [4, 4]
    assert np.bincount(labels[4:]).tolist() == [1, 3]


def test_strata_of_the_wrong_length():
    X = np.zeros((6, 1))
    with pytest.raises(ValueError, match="strata must give one stratum per unit"):
        BlockRandomization().fit(X, strata=[0, 1, 0])
