"""The tumour-mice data of the optimisation-design case study."""

import numpy as np
import pytest
from scipy.integrate import odeint

from skassign.datasets import make_tumor_mice, simulate_tumor_growth

# The case study's assignment (step 3): mice numbered from 1.
SEED_TREATED = [1, 4, 5, 6, 8, 12, 14, 16, 17, 18]


def _seed_labels():
    return np.isin(np.arange(1, 21), SEED_TREATED).astype(int)


def _seed_final_weights(initial):
    """The case study's code: odeint of the Gomp-ex model over one day."""
    a, b, wc = 1, 5, 400

    def gompex_growth(w, t):
        growth_rate = a + max(0, b * np.log(wc / w[0]))
        return w * growth_rate

    t_span = np.linspace(0, 1, 2)
    return np.array([odeint(gompex_growth, w, t_span).flatten()[-1] for w in initial])


def test_make_tumor_mice_reproduces_the_seed_table():
    mice = make_tumor_mice()
    assert mice.shape == (20, 2)
    assert list(mice.columns) == ["mice", "initial_weight"]
    assert mice["mice"].tolist() == list(range(1, 21))
    np.testing.assert_allclose(
        mice["initial_weight"].head(5),
        [424.736888, 174.691035, 141.016478, 327.518749, 442.239789],
        atol=1e-6,
    )
    # The group table of the case study (mean and sd per arm, 2 decimals).
    treated = _seed_labels() == 1
    w = mice["initial_weight"].to_numpy()
    assert round(w[~treated].mean(), 2) == 302.79
    assert round(w[~treated].std(ddof=1), 2) == 202.54
    assert round(w[treated].mean(), 2) == 303.61
    assert round(w[treated].std(ddof=1), 2) == 162.12


def test_make_tumor_mice_parameters():
    mice = make_tumor_mice(n_mice=500, mu=50, sigma=10, random_state=0)
    assert mice.shape == (500, 2)
    assert np.all(mice["initial_weight"] >= 0)
    assert mice["initial_weight"].mean() == pytest.approx(50, abs=2)
    other = make_tumor_mice(random_state=1)
    assert not np.allclose(other["initial_weight"], make_tumor_mice()["initial_weight"])


def test_growth_matches_odeint_of_the_seed_model():
    initial = np.concatenate(
        [make_tumor_mice()["initial_weight"].to_numpy(), [1.0, 399.9, 400.0, 1e4]]
    )
    labels = np.zeros(initial.size, dtype=int)
    labels[0] = 1
    ours = simulate_tumor_growth(initial, labels, effect=0.0)
    np.testing.assert_allclose(ours, _seed_final_weights(initial), rtol=1e-6)


def test_growth_reproduces_the_seed_final_weights():
    mice = make_tumor_mice()
    final = simulate_tumor_growth(mice["initial_weight"], _seed_labels(), effect=-250)
    np.testing.assert_array_equal(
        final[:5].round(2), [904.55, 783.65, 754.56, 696.60, 952.13]
    )
    # The case study rounds the weights to 2 decimals before its estimate.
    rounded = final.round(2)
    treated = _seed_labels() == 1
    delta = rounded[treated].mean() - rounded[~treated].mean()
    assert delta == pytest.approx(-260.183, abs=1e-3)


def test_growth_closed_form_special_cases():
    # Above the critical weight the growth is exponential at rate a.
    assert simulate_tumor_growth([500.0, 800.0], [0, 1], effect=0.0)[0] == (
        pytest.approx(500.0 * np.e)
    )
    # No time, no growth: only the effect.
    out = simulate_tumor_growth([100.0, 200.0], [0, 1], effect=-50.0, days=0.0)
    np.testing.assert_allclose(out, [100.0, 150.0])


def test_effects_per_arm_and_noise():
    w = np.full(6, 300.0)
    labels = np.array([0, 1, 2, 0, 1, 2])
    base = simulate_tumor_growth(w, labels, effect=0.0)
    out = simulate_tumor_growth(w, labels, effect=[-10.0, -20.0])
    np.testing.assert_allclose(out - base, [0, -10, -20, 0, -10, -20])
    scalar = simulate_tumor_growth(w, labels, effect=-5.0)
    np.testing.assert_allclose(scalar - base, [0, -5, -5, 0, -5, -5])
    noisy = simulate_tumor_growth(w, labels, noise_sd=1.0, random_state=0)
    again = simulate_tumor_growth(w, labels, noise_sd=1.0, random_state=0)
    np.testing.assert_array_equal(noisy, again)
    assert not np.allclose(noisy, simulate_tumor_growth(w, labels))


@pytest.mark.parametrize(
    "initial, labels, kwargs, match",
    [
        ([100.0, -1.0], [0, 1], {}, "finite and positive"),
        ([100.0, np.nan], [0, 1], {}, "finite and positive"),
        ([100.0, 200.0], [0, 1, 1], {}, "give one arm per mouse"),
        ([1.0, 2.0, 3.0], [0, 1, 2], {"effect": [-1.0]}, "effect gives 1 treated"),
    ],
)
def test_simulate_tumor_growth_bad_input(initial, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_tumor_growth(initial, labels, **kwargs)
