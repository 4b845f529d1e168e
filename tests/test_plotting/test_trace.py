import sys

import matplotlib
import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import CompleteRandomization, MinMSE
from skassign.plotting import plot_trace

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture
def fitted():
    X = np.random.default_rng(0).normal(3.0, 1.0, size=(20, 2))
    return MinMSE(iterations=300, random_state=0).fit(X), X


def test_plot_trace_draws_best_and_current(fitted):
    design, _ = fitted
    ax = plot_trace(design)
    best, current = ax.get_lines()[::-1]
    np.testing.assert_array_equal(best.get_ydata(), design.trace_)
    np.testing.assert_array_equal(current.get_ydata(), design.current_trace_)
    np.testing.assert_array_equal(best.get_xdata(), np.arange(301))
    plt.close("all")


def test_plot_trace_on_given_axes_and_pipeline(fitted):
    _, X = fitted
    pipe = make_pipeline(
        StandardScaler(with_mean=False), MinMSE(iterations=100, random_state=1)
    ).fit(X)
    _, ax = plt.subplots()
    out = plot_trace(pipe, ax=ax, show_current=False, label="seed 1")
    assert out is ax
    assert [line.get_label() for line in ax.get_lines()] == ["seed 1"]
    plt.close("all")


def test_plot_trace_rejects_designs_without_trace(fitted):
    _, X = fitted
    with pytest.raises(ValueError, match="no trace_"):
        plot_trace(CompleteRandomization(random_state=0).fit(X))
    with pytest.raises(ValueError, match="fitted design"):
        plot_trace(np.zeros(3))
    with pytest.raises(Exception, match="not fitted"):
        plot_trace(MinMSE())


def test_plot_trace_without_matplotlib(fitted, monkeypatch):
    design, _ = fitted
    # A None entry in sys.modules makes the import fail as if not installed.
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "skassign\[plot\]"'):
        plot_trace(design)
