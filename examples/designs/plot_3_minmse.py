"""
=========================================================
minMSE assignment: several arms, weights and a second day
=========================================================

Thirty mice are to be split into a control group and two treatment groups,
balanced on their initial tumour weight and their body weight. The second
treatment matters twice as much as the first, so its comparison with the
control should be the more precise one. Later, twenty more mice arrive and
must be assigned so that all fifty stay balanced.

:class:`~skassign.designs.MinMSE` (Schneider & Schlather, 2017) chooses the
assignment that minimises the mean squared error of the estimated treatment
effects, as the R package ``minMSE`` and the Stata command ``minmse`` do.

Read more in the :ref:`User Guide <minmse>`.
"""

# %%
# The mice
# --------
# :func:`~skassign.datasets.make_tumor_mice` draws the initial tumour
# weights; a body weight is added, with one value missing.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.datasets import make_tumor_mice
from skassign.designs import CompleteRandomization, MinMSE
from skassign.metrics import minmse_objective, standardized_mean_difference
from skassign.plotting import plot_trace

rng = np.random.default_rng(0)
mice = make_tumor_mice(n_mice=50, random_state=1)
mice["body_weight"] = rng.normal(25.0, 3.0, size=50).round(1)
mice.loc[7, "body_weight"] = np.nan
X = mice[["initial_weight", "body_weight"]]
day1 = X.iloc[:30]
print(day1.describe().round(1))

# %%
# The R and Stata tools' objective
# --------------------------------
# A Pipeline imputes the missing body weight, then ``MinMSE`` assigns the
# mice to the control (arm 0) and two treatments weighted 1 and 2, with the
# objective of the R and Stata tools (a linear model without intercept).
r_like = make_pipeline(SimpleImputer(), MinMSE(3, weights=[1, 2], random_state=0))
labels_r = r_like.fit_predict(day1)
Xi = r_like[:-1].transform(day1)


def arm_means(labels):
    return pd.DataFrame(Xi, columns=X.columns).groupby(labels).mean().round(1)


def largest_smd(labels):
    return np.abs(standardized_mean_difference(Xi, labels)).max()


print(arm_means(labels_r))
print(f"largest |SMD| between arms: {largest_smd(labels_r):.2f}")

# %%
# The control received the heaviest mice. Without intercept, an arm whose
# covariates are large in magnitude pins the slopes down best, and the
# control enters both comparisons (its coefficient is 1 + 2 = 3), so the
# objective is lowest when the control gets the large values. It is lower
# than for random assignments, but the arms' means are further apart:
random_labels = [
    CompleteRandomization(3, random_state=s).fit_predict(Xi) for s in range(200)
]
random_objective = [minmse_objective(Xi, r, weights=[1, 2]) for r in random_labels]
random_smd = [largest_smd(r) for r in random_labels]
print(
    f"objective: minMSE {minmse_objective(Xi, labels_r, weights=[1, 2]):.4f}, "
    f"random (median) {np.median(random_objective):.4f}"
)
print(f"largest |SMD|, random (median): {np.median(random_smd):.2f}")

# %%
# With an intercept
# -----------------
# ``fit_intercept=True`` adds a constant covariate. The objective then
# measures how far every arm's mean is from the sample's (relative to the
# arm's spread), whatever the weights, and the arms come out balanced.
design = make_pipeline(
    SimpleImputer(), MinMSE(3, weights=[1, 2], fit_intercept=True, random_state=0)
)
labels = design.fit_predict(day1)
print(arm_means(labels))
print(f"largest |SMD| between arms: {largest_smd(labels):.3f}")

# %%
# Convergence
# -----------
# :func:`~skassign.plotting.plot_trace` draws the objective by iteration,
# like the R and Stata tools: the best value so far, and the value of the
# assignment the annealing is at.
minmse = design[-1]
ax = plot_trace(minmse)
ax.set_ylim(top=np.quantile(minmse.current_trace_, 0.99))
plt.show()

# %%
# Don't centre the covariates for the R objective
# -----------------------------------------------
# The R objective is built on the covariate means; after a
# ``StandardScaler()`` every mean is zero, the objective is zero for every
# assignment, and ``MinMSE`` says so instead of returning a meaningless
# split. With an intercept, centring does not matter.
try:
    make_pipeline(SimpleImputer(), StandardScaler(), MinMSE(3)).fit(day1)
except ValueError as err:
    print(str(err)[:150], "...")
centred = make_pipeline(
    SimpleImputer(),
    StandardScaler(),
    MinMSE(3, weights=[1, 2], fit_intercept=True, random_state=0),
)
print("same assignment:", bool(np.all(centred.fit_predict(day1) == labels)))

# %%
# The second day
# --------------
# Twenty more mice arrive. The first thirty keep their groups
# (``fixed_labels``) and count towards balance; the new ones are assigned so
# that all fifty are balanced. ``-1`` marks the mice still to assign.
fixed = np.r_[labels, np.full(20, -1)]
all_labels = design.fit_predict(X, minmse__fixed_labels=fixed)
print("first day unchanged:", bool(np.all(all_labels[:30] == labels)))
print("group sizes:", np.bincount(all_labels))
print(
    pd.DataFrame(design[:-1].transform(X), columns=X.columns)
    .groupby(all_labels)
    .mean()
    .round(1)
)

# %%
# Assignments for a randomisation test
# ------------------------------------
# After the experiment, a randomisation test compares the observed effect
# with the effects under other assignments the design could have produced.
# ``sample_assignments`` re-runs the design with fresh seeds, as the R
# tool's ``desired_test_vectors`` does, and keeps at most 1% duplicates.
draws = MinMSE(3, weights=[1, 2], fit_intercept=True, iterations=500, random_state=0)
assignments = draws.sample_assignments(Xi, 40)
print(assignments.shape, "distinct:", len({a.tobytes() for a in assignments}))
