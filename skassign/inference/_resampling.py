"""The base class of the resampling tests: inputs, p-values, intervals, output.

A test compares the statistic of the observed assignment with its values on
resampled assignments. The subclasses only say how the resamples are drawn
(:meth:`BaseResamplingTest._resample`): the bootstrap re-runs the design on
units drawn with replacement, the randomisation test re-runs it on the same
units with fresh seeds.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from skassign.inference._pvalues import _boundary, _extremeness, compute_pvalues
from skassign.inference._statistics import STATISTICS, StatisticEvaluator
from skassign.inference._summary import SummaryTable
from skassign.utils._optional import import_pyplot
from skassign.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _fit_context,
)
from skassign.utils._repr import DocLinkMixin
from skassign.utils.validation import check_covariates, check_labels, final_step

__all__ = ["BaseResamplingTest"]


def _n_samples(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _design_n_groups(design):
    """``n_groups`` of a design or of the last step of a Pipeline, if any."""
    try:
        value = final_step(design).get_params(deep=False).get("n_groups")
    except AttributeError:
        return None
    return int(value) if isinstance(value, Integral) else None


def _squeeze(values):
    """Return a float for a single comparison, the array otherwise."""
    values = np.asarray(values)
    if values.shape[-1] == 1:
        return float(values[..., 0]) if values.ndim == 1 else values[..., 0]
    return values


class BaseResamplingTest(DocLinkMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the resampling tests of a treatment effect.

    Subclasses implement :meth:`_resample`, returning the resampled
    assignments (and, for the bootstrap, the resampled rows).
    """

    _parameter_constraints: dict = {
        "design": [HasMethods(["fit_predict", "get_params"])],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "statistic": [StrOptions(set(STATISTICS)), callable],
        "alternative": [StrOptions({"two-sided", "less", "greater"})],
        "confidence_level": [Interval(RealNotInt, 0, 1, closed="neither"), None],
        "control": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "progress": ["boolean"],
    }

    _null_name = "resampled"

    def __init__(
        self,
        design,
        *,
        n_resamples=1000,
        statistic="mean_difference",
        alternative="two-sided",
        confidence_level=0.95,
        control=0,
        n_jobs=None,
        random_state=None,
        verbose=0,
        progress=False,
    ):
        self.design = design
        self.n_resamples = n_resamples
        self.statistic = statistic
        self.alternative = alternative
        self.confidence_level = confidence_level
        self.control = control
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.progress = progress

    @abstractmethod
    def _resample(self, X, assignment, n_groups, fit_params):
        """Draw the resamples.

        Returns
        -------
        labels : ndarray of shape (n_resamples, n_samples), int64
            Assignment of every resample.
        rows : ndarray of shape (n_resamples, n_samples) or None
            Units (row indices of ``X``) of every resample; ``None`` when
            every resample holds the observed units in order.
        """

    def _diagnose_resamples(self, labels, assignment):
        """Check the resampled assignments further (subclass hook)."""

    def _smallest_pvalue(self):
        """Smallest p-value the fitted test can report."""
        return 1.0 / (self.n_resamples_ + 1.0)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, assignment, **fit_params):
        """Test the treatment effect of an assignment on observed outcomes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates the design was fit on (a DataFrame is passed on as
            is, so a Pipeline's column selection keeps working).
        y : array-like of shape (n_samples,)
            Observed outcomes.
        assignment : array-like of shape (n_samples,)
            Arm of every unit, ``0..n_groups-1``, as produced by the design.
        **fit_params : dict
            Passed to every fit of the design (for example ``fixed_labels``
            or ``strata``; in a Pipeline ``design__strata``). Per-unit arrays
            are resampled with the units in the bootstrap.

        Returns
        -------
        self : object
            The fitted test.
        """
        y, assignment, n_groups = self._check_inputs(X, y, assignment)
        control = int(self.control)
        treated = np.array([g for g in range(n_groups) if g != control])
        Xnum = None
        if self.statistic == "regression_adjusted":
            Xnum, _ = check_covariates(X)
            self._check_regression(Xnum, assignment, n_groups)
        if self.statistic == "t":
            small = np.flatnonzero(np.bincount(assignment, minlength=n_groups) < 2)
            if small.size:
                raise ValueError(
                    f"statistic='t' needs at least two units per arm; arm "
                    f"{int(small[0])} has fewer. Use statistic='mean_difference'."
                )

        observed_eval = StatisticEvaluator(
            self.statistic,
            assignment[None, :],
            n_groups,
            treated,
            control,
            None if Xnum is None else Xnum[None],
        )
        observed = observed_eval(y)[0]
        effect = observed_eval.effect(y)[0]
        if not np.all(np.isfinite(observed)):
            raise ValueError(
                f"The observed statistic is not finite ({observed.tolist()}); "
                "check the outcomes and the statistic."
            )

        labels, rows = self._resample(X, assignment, n_groups, fit_params)
        self._check_resampled_labels(labels, assignment, n_groups)
        self._diagnose_resamples(labels, assignment)
        X_null = None
        if Xnum is not None:
            X_null = (
                Xnum[rows]
                if rows is not None
                else np.broadcast_to(Xnum, (labels.shape[0], *Xnum.shape))
            )
        null_eval = StatisticEvaluator(
            self.statistic, labels, n_groups, treated, control, X_null
        )
        null = null_eval(y[rows] if rows is not None else y)
        if np.isnan(null).any():
            bad = int(np.flatnonzero(np.isnan(null).any(axis=1))[0])
            raise ValueError(
                f"The statistic is undefined (NaN) on resample {bad}; an arm "
                "may be empty or a callable statistic returned NaN."
            )

        pvalue = compute_pvalues(observed, null, self.alternative)
        global_null = _extremeness(null, self.alternative).max(axis=1)
        global_obs = _extremeness(observed, self.alternative).max()
        self.global_statistic_ = float(global_obs)
        self.global_pvalue_ = compute_pvalues(global_obs, global_null, "greater")

        self.control_ = control
        self.treated_arms_ = treated
        self.n_groups_ = n_groups
        self.n_resamples_ = int(labels.shape[0])
        self.statistic_ = _squeeze(observed)
        self.effect_ = _squeeze(effect)
        self.pvalue_ = _squeeze(np.atleast_1d(pvalue))
        self.null_distribution_ = _squeeze(null)
        self.confidence_interval_ = None
        if self.confidence_level is not None:
            intervals = np.empty((treated.shape[0], 2))
            for j in range(treated.shape[0]):
                intervals[j] = self._invert(
                    j, y, assignment, effect, observed_eval, null_eval, rows
                )
            self.confidence_interval_ = intervals[0] if len(treated) == 1 else intervals
        return self

    # ------------------------------------------------------------------ input

    def _check_inputs(self, X, y, assignment):
        if X is None or not hasattr(X, "__len__"):
            raise ValueError(
                f"{type(self).__name__}.fit needs the covariates X the design was "
                f"fit on (the test re-runs the design on them); got {X!r}."
            )
        n_samples = _n_samples(X)
        y = check_array(
            y,
            ensure_2d=False,
            dtype=np.float64,
            ensure_all_finite=False,
            input_name="y",
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                f"y must be one outcome per unit (1-D); got shape {y.shape}. Test "
                "several outcomes one at a time."
            )
        if y.shape[0] != n_samples:
            raise ValueError(
                f"y has {y.shape[0]} outcomes but X has {n_samples} units; give "
                "one outcome per unit."
            )
        missing = np.flatnonzero(~np.isfinite(y))
        if missing.size:
            raise ValueError(
                f"y contains NaN or infinite values ({missing.size} units, first "
                f"at position {int(missing[0])}). Drop units without an outcome "
                "from X, y and assignment (and refit the design on the rest), or "
                "impute them, before testing."
            )
        n_groups = _design_n_groups(self.design)
        assignment = check_labels(
            assignment, n_samples, n_groups=n_groups, name="assignment"
        )
        if n_groups is None:
            n_groups = int(assignment.max()) + 1
        counts = np.bincount(assignment, minlength=n_groups)
        if np.any(counts == 0):
            raise ValueError(
                f"assignment has no unit in arm {int(np.flatnonzero(counts == 0)[0])}"
                f" although the design has n_groups={n_groups}; pass the "
                "assignment the design produced."
            )
        if self.control >= n_groups:
            raise ValueError(
                f"control={self.control} is not an arm of the design (arms "
                f"0..{n_groups - 1})."
            )
        return y, assignment, n_groups

    def _check_regression(self, Xnum, assignment, n_groups):
        n_features = Xnum.shape[1]
        counts = np.bincount(assignment, minlength=n_groups)
        if counts.min() < n_features + 2:
            g = int(counts.argmin())
            raise ValueError(
                "statistic='regression_adjusted' fits an intercept and one slope "
                f"per covariate in every arm: arm {g} has {int(counts[g])} units "
                f"for {n_features} covariates (at least {n_features + 2} needed). "
                "Adjust for fewer covariates or use statistic='mean_difference'."
            )

    def _check_resampled_labels(self, labels, assignment, n_groups):
        if labels.min() < 0 or labels.max() >= n_groups:
            raise ValueError(
                f"The design produced labels outside 0..{n_groups - 1} on a "
                "resample; the test needs a design with a fixed number of arms."
            )
        observed_sizes = np.bincount(assignment, minlength=n_groups)
        flat = (np.arange(labels.shape[0])[:, None] * n_groups + labels).ravel()
        sizes = np.bincount(flat, minlength=labels.shape[0] * n_groups).reshape(
            -1, n_groups
        )
        if not np.any(np.all(sizes == observed_sizes, axis=1)):
            raise ValueError(
                f"The observed assignment has arm sizes {observed_sizes.tolist()} "
                f"but the design produces {sizes[0].tolist()}; test the "
                "assignment with the design (and group_sizes) that produced it."
            )

    # --------------------------------------------------------------- interval

    def _invert(self, j, y, assignment, effect, observed_eval, null_eval, rows):
        """Confidence interval of arm ``j``'s effect by inverting the test.

        Under a constant additive effect ``tau`` of the arm, the outcomes
        without treatment are ``y - tau`` for its units (other treated arms
        are held at their estimated effects). The test applied to these
        adjusted outcomes, with the same resampled assignments, gives
        ``p(tau)``; the interval is the set of ``tau`` with
        ``p(tau) > 1 - confidence_level``. Its ends are found by doubling
        steps away from the estimate and bisection.
        """
        alpha = 1.0 - self.confidence_level
        shifts = np.zeros(self.n_groups_)
        shifts[self.treated_arms_] = effect
        columns = [j]

        def rejected(tau):
            shifts[self.treated_arms_[j]] = tau
            y0 = y - shifts[assignment]
            obs = observed_eval(y0)[0, columns]
            null = null_eval(y0[rows] if rows is not None else y0)[:, columns]
            return compute_pvalues(obs, null, self.alternative)[0] <= alpha

        estimate = float(effect[j])
        scale = self._interval_scale(y, assignment, j)
        low, high = -np.inf, np.inf
        if rejected(estimate):
            warnings.warn(
                f"The test rejects the estimated effect {estimate:.4g} itself at "
                f"level {alpha:.3g} for arm {int(self.treated_arms_[j])}, so the "
                "interval is empty (NaN); the statistic may not be suited to "
                "interval estimation.",
                UserWarning,
                stacklevel=4,
            )
            return np.array([np.nan, np.nan])
        if self.alternative != "less":
            low = _boundary(rejected, estimate, -scale)
        if self.alternative != "greater":
            high = _boundary(rejected, estimate, scale)
        if not (np.isfinite(low) or self.alternative == "less") or not (
            np.isfinite(high) or self.alternative == "greater"
        ):
            warnings.warn(
                f"No effect size is rejected at level {alpha:.3g} for arm "
                f"{int(self.treated_arms_[j])}: the confidence interval is "
                f"unbounded. The smallest attainable p-value is "
                f"{self._smallest_pvalue():.3g}; increase n_resamples or lower "
                "confidence_level.",
                UserWarning,
                stacklevel=4,
            )
        return np.array([low, high])

    def _interval_scale(self, y, assignment, j):
        """First search step: the standard error of the difference in means."""
        arm = self.treated_arms_[j]
        parts = [y[assignment == g] for g in (arm, self.control_)]
        scale = float(np.sqrt(sum(np.var(part) / part.shape[0] for part in parts)))
        if not np.isfinite(scale) or scale <= 0:
            scale = max(1.0, float(np.abs(y).max()))
        return scale

    # ----------------------------------------------------------------- output

    # Column names of ``summary()``: the statistic, the number of resamples,
    # and the mean and standard deviation of the null distribution.
    _summary_columns = ("statistic", "n_resamples", "null_mean", "null_std")

    def summary(self):
        """Table of the test: one row per treated arm (and a global row).

        Columns: the observed statistic, ``pvalue``, the number of resamples,
        the mean and standard deviation (ddof=0) of the null distribution,
        then the effect estimate ``effect`` and its confidence interval
        ``ci_low``, ``ci_high``. The first five columns are named after each
        test (:class:`BootstrapTest` keeps the optimisation-design
        bootstrap's ``delta, pvalue, n_bootstrap, avg_delta_bootstrap,
        std_delta_bootstrap``; :class:`RandomizationTest` has ``statistic,
        pvalue, n_randomizations, null_mean, null_std``). With several
        treated arms a last row ``"global"`` tests all arms at once (its
        statistic is ``global_statistic_``: the largest statistic in
        absolute value for two-sided tests, negated for
        ``alternative="less"``).

        The table is a :class:`pandas.DataFrame` that displays every column
        with four significant digits, as text and in notebooks (the values
        themselves are not rounded).

        Returns
        -------
        summary : pandas.DataFrame
            Indexed by ``"<arm> vs <control>"`` (and ``"global"``).
        """
        check_is_fitted(self)
        statistic, n_name, mean_name, std_name = self._summary_columns
        null = np.asarray(self.null_distribution_).reshape(self.n_resamples_, -1)
        stats = np.atleast_1d(self.statistic_)
        if self.confidence_interval_ is None:
            ci = np.full((stats.shape[0], 2), np.nan)
        else:
            ci = np.asarray(self.confidence_interval_).reshape(-1, 2)
        table = SummaryTable(
            {
                statistic: stats,
                "pvalue": np.atleast_1d(self.pvalue_),
                n_name: self.n_resamples_,
                mean_name: null.mean(axis=0),
                std_name: null.std(axis=0),
                "effect": np.atleast_1d(self.effect_),
                "ci_low": ci[:, 0],
                "ci_high": ci[:, 1],
            },
            index=pd.Index(
                [f"{arm} vs {self.control_}" for arm in self.treated_arms_],
                name="comparison",
            ),
        )
        if stats.shape[0] > 1:
            global_null = _extremeness(null, self.alternative).max(axis=1)
            table.loc["global"] = {
                statistic: self.global_statistic_,
                "pvalue": self.global_pvalue_,
                n_name: self.n_resamples_,
                mean_name: global_null.mean(),
                std_name: global_null.std(),
                "effect": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
            }
        return table

    def plot(self, ax=None, *, bins="auto"):
        """Histogram of the null distribution with the observed statistic.

        Needs matplotlib (``pip install "skassign[plot]"``).

        Parameters
        ----------
        ax : matplotlib Axes or array of Axes, default=None
            Where to draw (one Axes per treated arm); ``None`` creates a
            figure.
        bins : int or str, default="auto"
            Histogram bins, as in :func:`numpy.histogram`.

        Returns
        -------
        ax : matplotlib Axes or ndarray of Axes
            The axes drawn on.
        """
        check_is_fitted(self)
        plt = import_pyplot(f"{type(self).__name__}.plot")
        null = np.asarray(self.null_distribution_).reshape(self.n_resamples_, -1)
        stats = np.atleast_1d(self.statistic_)
        pvalues = np.atleast_1d(self.pvalue_)
        n_plots = stats.shape[0]
        if ax is None:
            _, ax = plt.subplots(
                1,
                n_plots,
                figsize=(5 * n_plots, 3.5),
                squeeze=False,
                layout="constrained",
            )
            ax = ax[0] if n_plots > 1 else ax[0, 0]
        axes = np.atleast_1d(ax)
        if axes.shape[0] != n_plots:
            raise ValueError(
                f"plot needs {n_plots} Axes (one per treated arm); got {axes.shape[0]}."
            )
        label = {
            "mean_difference": "Difference in means (outcome units)",
            "t": "Welch t statistic",
            "regression_adjusted": "Regression-adjusted effect (outcome units)",
        }.get(self.statistic if isinstance(self.statistic, str) else "", "Statistic")
        for j, axis in enumerate(axes):
            axis.hist(
                null[:, j],
                bins=bins,
                color="0.7",
                edgecolor="0.4",
                label=f"{self._null_name} distribution",
            )
            axis.axvline(stats[j], color="C3", lw=2, label="observed")
            if self.alternative == "two-sided" and stats[j] != 0:
                axis.axvline(
                    -stats[j], color="C3", lw=1, ls="--", label="observed, mirrored"
                )
            axis.set_xlabel(label)
            axis.set_ylabel("Number of resamples")
            axis.set_title(
                f"arm {self.treated_arms_[j]} vs {self.control_}: p = {pvalues[j]:.3g}"
            )
            axis.legend(frameon=False)
        return ax
