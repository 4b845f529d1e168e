"""Ready outcome models and covariate generators for simulated experiments.

An outcome model is a callable ``outcome(X, labels, effect, rng) -> y``; a
covariate generator a callable ``covariates(rng) -> X``. Both are small
picklable classes (so they travel to joblib and Dask workers) with a
readable ``repr``; any function with the same signature works as well.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skassign.datasets import make_tumor_mice
from skassign.datasets._samples_generator import _gompex

__all__ = [
    "LinearOutcome",
    "NormalCovariates",
    "PoissonOutcome",
    "TumorGrowthOutcome",
    "TumorMiceCovariates",
]

_INT32_MAX = np.iinfo(np.int32).max


def _numeric(X):
    """Covariates as a float array of shape (n_samples, n_features)."""
    values = np.asarray(X, dtype=np.float64)
    return values.reshape(values.shape[0], -1)


def _treated(labels):
    """Return the indicator of the units outside the control arm 0."""
    return (np.asarray(labels) != 0).astype(np.float64)


class _Model:
    """``repr`` from the constructor arguments, like scikit-learn's estimators."""

    _params: tuple = ()

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})"


class LinearOutcome(_Model):
    """Linear outcome model with Gaussian noise and an additive effect.

    ``y = intercept + X @ coef + effect * treated + noise``, with ``treated``
    1 for every unit outside the control arm 0 and the noise normal with
    standard deviation ``noise_sd``. The difference in means is unbiased for
    ``effect`` under every design; how precise it is depends on how well the
    design balances the prognostic covariates.

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    coef : float or array-like of shape (n_features,), default=1.0
        Coefficients of the covariates (a number: the same for all).
    noise_sd : float, default=1.0
        Standard deviation of the noise.
    intercept : float, default=0.0
        Intercept.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.simulation import LinearOutcome
    >>> model = LinearOutcome(coef=[1.0, 0.0], noise_sd=0.0)
    >>> model(np.array([[1.0, 5.0], [2.0, 5.0]]), [0, 1], 10.0, None)
    array([ 1., 12.])
    """

    _params = ("coef", "noise_sd", "intercept")

    def __init__(self, coef=1.0, noise_sd=1.0, intercept=0.0):
        self.coef = coef
        self.noise_sd = noise_sd
        self.intercept = intercept

    def __call__(self, X, labels, effect, rng):
        """Return the outcomes of the units ``X`` assigned ``labels``."""
        Xv = _numeric(X)
        coef = np.broadcast_to(np.asarray(self.coef, dtype=np.float64), Xv.shape[1:])
        y = self.intercept + Xv @ coef + effect * _treated(labels)
        if self.noise_sd > 0:
            y = y + np.random.default_rng(rng).normal(0.0, self.noise_sd, y.shape[0])
        return y


class TumorGrowthOutcome(_Model):
    """The case study's tumour growth: one day of Gomp-ex growth plus the effect.

    The final weight of a tumour of initial weight ``w`` (a column of the
    covariates) is that of :func:`skassign.datasets.simulate_tumor_growth`:
    ``dw/dt = w (a + max(0, b log(critical_weight / w)))`` for ``days``, plus
    ``effect`` (mg) for treated mice and optional Gaussian measurement noise.

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    column : str or int, default="initial_weight"
        Column of the covariates holding the initial weight (a name for a
        DataFrame, a position for an array).
    noise_sd : float, default=0.0
        Standard deviation of the measurement noise (mg); the case study has
        none.
    a, b, critical_weight, days : float
        Growth parameters, as in
        :func:`~skassign.datasets.simulate_tumor_growth`.

    Examples
    --------
    >>> import pandas as pd
    >>> from skassign.simulation import TumorGrowthOutcome
    >>> mice = pd.DataFrame({"initial_weight": [424.736888, 174.691035]})
    >>> TumorGrowthOutcome()(mice, [1, 0], -250.0, None).round(2)
    array([904.55, 783.65])
    """

    _params = ("column", "noise_sd", "a", "b", "critical_weight", "days")

    def __init__(
        self,
        column="initial_weight",
        noise_sd=0.0,
        *,
        a=1.0,
        b=5.0,
        critical_weight=400.0,
        days=1.0,
    ):
        self.column = column
        self.noise_sd = noise_sd
        self.a = a
        self.b = b
        self.critical_weight = critical_weight
        self.days = days

    def __call__(self, X, labels, effect, rng):
        """Return the final tumour weights of the mice ``X`` assigned ``labels``."""
        if hasattr(X, "columns"):
            if self.column not in X.columns:
                raise ValueError(
                    f"TumorGrowthOutcome: column {self.column!r} is not among the "
                    f"covariates {list(X.columns)}."
                )
            w0 = np.asarray(X[self.column], dtype=np.float64)
        else:
            Xv = _numeric(X)
            if isinstance(self.column, (int, np.integer)):
                w0 = Xv[:, int(self.column)]
            elif Xv.shape[1] == 1:
                w0 = Xv[:, 0]
            else:
                raise ValueError(
                    f"TumorGrowthOutcome: the covariates are an array with "
                    f"{Xv.shape[1]} columns; give column as a position."
                )
        if np.any(w0 <= 0):
            raise ValueError("TumorGrowthOutcome: initial weights must be positive.")
        y = _gompex(w0, self.days, self.a, self.b, self.critical_weight)
        y = y + effect * _treated(labels)
        if self.noise_sd > 0:
            y = y + np.random.default_rng(rng).normal(0.0, self.noise_sd, y.shape[0])
        return y


class PoissonOutcome(_Model):
    """Poisson counts whose mean rises by ``effect`` under treatment.

    Each unit's count is Poisson with mean
    ``exp(intercept + X @ coef) + effect * treated``: a log-linear baseline
    (as in a Poisson regression) and an additive effect on the mean count, so
    that the difference in means is unbiased for ``effect``. A negative
    effect larger than a unit's baseline mean raises an error.

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    coef : float or array-like of shape (n_features,), default=0.5
        Log-linear coefficients of the covariates.
    intercept : float, default=1.0
        Log of the baseline mean at ``X = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from skassign.simulation import PoissonOutcome
    >>> y = PoissonOutcome()(np.zeros((4, 1)), [0, 1, 0, 1], 2.0, 0)
    >>> y.dtype, y.shape
    (dtype('float64'), (4,))
    """

    _params = ("coef", "intercept")

    def __init__(self, coef=0.5, intercept=1.0):
        self.coef = coef
        self.intercept = intercept

    def __call__(self, X, labels, effect, rng):
        """Return Poisson counts of the units ``X`` assigned ``labels``."""
        Xv = _numeric(X)
        coef = np.broadcast_to(np.asarray(self.coef, dtype=np.float64), Xv.shape[1:])
        mean = np.exp(self.intercept + Xv @ coef) + effect * _treated(labels)
        if np.any(mean < 0):
            raise ValueError(
                f"PoissonOutcome: effect {effect} makes a treated unit's mean count "
                f"negative (smallest mean {mean.min():.3g}); use a smaller effect "
                "or a larger intercept."
            )
        return np.random.default_rng(rng).poisson(mean).astype(np.float64)


class NormalCovariates(_Model):
    """Draw ``n_samples`` units with equicorrelated normal covariates.

    Each call returns a DataFrame with columns ``x0, x1, ...``: standard
    normal (or, with ``skew=True``, log-normal standardised to mean 0 and
    variance 1) covariates with pairwise correlation ``correlation``.

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    n_samples : int, default=20
        Number of units.
    n_features : int, default=2
        Number of covariates.
    correlation : float in (-1 / (n_features - 1), 1), default=0.0
        Correlation of every pair of covariates.
    skew : bool, default=False
        Exponentiate the normal draws (then standardise), for right-skewed
        covariates such as sizes or incomes.

    Examples
    --------
    >>> from skassign.simulation import NormalCovariates
    >>> NormalCovariates(n_samples=3, n_features=2)(0).shape
    (3, 2)
    """

    _params = ("n_samples", "n_features", "correlation", "skew")

    def __init__(self, n_samples=20, n_features=2, correlation=0.0, skew=False):
        self.n_samples = n_samples
        self.n_features = n_features
        self.correlation = correlation
        self.skew = skew

    def __call__(self, rng):
        """Return a fresh DataFrame of covariates drawn with ``rng``."""
        rng = np.random.default_rng(rng)
        d = int(self.n_features)
        cov = np.full((d, d), float(self.correlation))
        np.fill_diagonal(cov, 1.0)
        try:
            root = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"NormalCovariates: correlation={self.correlation} is not a valid "
                f"correlation of {d} covariates."
            ) from None
        Z = rng.standard_normal((int(self.n_samples), d)) @ root.T
        if self.skew:
            s2 = 1.0  # log-normal with sigma 1: mean e^0.5, variance (e - 1) e
            Z = (np.exp(Z) - np.exp(s2 / 2)) / np.sqrt((np.exp(s2) - 1) * np.exp(s2))
        return pd.DataFrame(Z, columns=[f"x{j}" for j in range(d)])


class TumorMiceCovariates(_Model):
    """Draw a fresh population of mice like the case study's.

    Initial tumour weights from a normal distribution with mean ``mu`` and
    standard deviation ``sigma`` truncated to non-negative values, as
    :func:`skassign.datasets.make_tumor_mice` draws them (with a new seed
    every call). Returns a one-column DataFrame ``initial_weight`` (mg).

    Read more in the :ref:`User Guide <choosing_a_design>`.

    Parameters
    ----------
    n_mice : int, default=20
        Number of mice.
    mu : float, default=200
        Mean of the untruncated normal (mg).
    sigma : float, default=300
        Standard deviation of the untruncated normal (mg).

    Examples
    --------
    >>> from skassign.simulation import TumorMiceCovariates
    >>> mice = TumorMiceCovariates()(0)
    >>> mice.shape, bool((mice["initial_weight"] > 0).all())
    ((20, 1), True)
    """

    _params = ("n_mice", "mu", "sigma")

    def __init__(self, n_mice=20, mu=200, sigma=300):
        self.n_mice = n_mice
        self.mu = mu
        self.sigma = sigma

    def __call__(self, rng):
        """Return a fresh DataFrame of initial weights drawn with ``rng``."""
        seed = int(np.random.default_rng(rng).integers(_INT32_MAX))
        mice = make_tumor_mice(
            n_mice=self.n_mice, mu=self.mu, sigma=self.sigma, random_state=seed
        )
        return mice[["initial_weight"]]
