"""OSAT and batch-means scores against hand-computed values."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from skassign.metrics import batch_means_score, osat_score


def _osat_oracle(labels, rows, capacities):
    """designit's definition, written out with dictionaries."""
    total = sum(capacities)
    cells = {}
    for lab, row in zip(labels, rows, strict=True):
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in row):
            continue
        cells.setdefault(tuple(row), []).append(lab)
    score = 0.0
    for members in cells.values():
        for b, cap in enumerate(capacities):
            expected = len(members) * cap / total
            score += (members.count(b) - expected) ** 2
    return score


def test_designit_example():
    # designit's osat_score example: two plates of four places, two empty.
    features = pd.DataFrame(
        {
            "SampleType": ["Case"] * 3 + ["Control"] * 3,
            "Sex": ["Female", "Female", "Male", "Female", "Female", "Male"],
        }
    )
    labels = [0, 0, 1, 1, 0, 1]
    # Case/F: (2-1)^2 + (0-1)^2 = 2; Case/M and Control/M: 0.25 + 0.25 each.
    assert osat_score(labels, features, [4, 4]) == 3.0


def test_empty_places_count_in_the_batch_shares():
    # Three alike units in batches of 2 + 2 places: E = 1.5 each.
    assert osat_score([0, 0, 1], ["a", "a", "a"], [2, 2]) == 0.5
    # Without capacities the shares are 2/3 and 1/3: E = (2, 1) exactly.
    assert osat_score([0, 0, 1], ["a", "a", "a"]) == pytest.approx(0.0)
    # A fully empty third batch still takes its share.
    assert osat_score([0, 1], ["a", "a"], [1, 1, 2]) == pytest.approx(
        (1 - 0.5) ** 2 * 2 + 1.0**2
    )


def test_cells_are_joint_combinations():
    # Columns x and y each balanced, but the joint cells are not.
    features = [["p", "u"], ["q", "v"], ["p", "v"], ["q", "u"]]
    # Batch 0 holds (p,u),(q,v); batch 1 holds (p,v),(q,u): every joint cell
    # has one unit with E = 0.5, so each adds 0.25 + 0.25.
    assert osat_score([0, 0, 1, 1], features) == 2.0


def test_not_divided_by_expected():
    # One cell of 4 units with capacities 2 and 6: E = (1, 3); chi-square
    # would give 1/1 + 1/3.
    assert osat_score([0, 0, 1, 1], ["a"] * 4, [2, 6]) == pytest.approx(1 + 1)


def test_missing_features_left_out_with_warning():
    features = pd.DataFrame({"x": ["a", "a", None, "b"], "y": [1, 1, 2, np.nan]})
    with pytest.warns(UserWarning, match="2 units have a missing feature"):
        score = osat_score([0, 1, 0, 1], features, [2, 2])
    # Only cell (a, 1) remains: one unit per batch, E = 1 each.
    assert score == 0.0


def test_matches_oracle_on_random_layouts():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(2, 15))
        caps = rng.integers(1, 6, size=3)
        caps[0] += n
        labels = rng.choice(3, size=n)
        labels = np.minimum(labels, 2)
        counts = np.bincount(labels, minlength=3)
        caps = np.maximum(caps, counts)
        rows = [
            (str(rng.choice(["a", "b"])), str(rng.choice(["u", "v", "w"])))
            for _ in range(n)
        ]
        assert osat_score(labels, rows, caps) == pytest.approx(
            _osat_oracle(list(labels), rows, list(caps))
        )


def test_unit_order_does_not_matter():
    rows = [("a", "u"), ("b", "v"), ("a", "v"), ("b", "u"), ("a", "u")]
    labels = np.array([0, 1, 1, 0, 1])
    base = osat_score(labels, rows, [3, 3])
    for perm in itertools.islice(itertools.permutations(range(5)), 20):
        perm = list(perm)
        assert osat_score(labels[perm], [rows[i] for i in perm], [3, 3]) == base


def test_bad_inputs():
    with pytest.raises(ValueError, match="only 1 capacities"):
        osat_score([0, 1], ["a", "b"], [2])
    with pytest.raises(ValueError, match="has only 1 places"):
        osat_score([0, 0, 1], ["a", "b", "a"], [1, 2])
    with pytest.raises(ValueError, match="one batch per unit"):
        osat_score([0, 1, 1], ["a", "b"])
    with pytest.raises(ValueError, match="non-negative"):
        osat_score([0, -1], ["a", "b"])


def test_batch_means_score():
    # Means 1.5 and 3.5 around 2.5 with variance 1.25: 2 * (1 + 1) / 1.25.
    assert batch_means_score([0, 0, 1, 1], [1.0, 2.0, 3.0, 4.0]) == pytest.approx(3.2)
    X = np.random.default_rng(1).normal(size=(12, 3))
    labels = np.repeat([0, 1, 2], 4)
    A = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 3.0]])
    # Invariant to an invertible linear map of the covariates.
    assert batch_means_score(labels, X @ A) == pytest.approx(
        batch_means_score(labels, X)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert batch_means_score([0, 1], [[1.0], [1.0]]) == 0.0
