"""
=========================================================
Choosing ``rho`` of OptimalBalance with a fixed yardstick
=========================================================

:class:`~skassign.designs.OptimalBalance` minimises the largest pairwise
discrepancy in means plus ``rho`` times the discrepancy in second moments.
``rho`` is a modelling choice: small values balance the means best, large
values give more weight to the spread. The design's own objective cannot
arbitrate, because it changes with ``rho``; so we grid-search ``rho`` with
balance scorers that measure every candidate assignment with the same
yardstick (standardised mean differences and log variance ratios).
"""

# %%
# Twenty units with three covariates of different scales
# ------------------------------------------------------
# Covariates are standardised in a Pipeline before the design sees them, as
# the method prescribes.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skassign.designs import OptimalBalance
from skassign.metrics import balance_table, make_balance_scorer

rng = np.random.default_rng(7)
n = 20
X = pd.DataFrame(
    {
        "age": rng.normal(60, 8, n),
        "tumour_volume": rng.lognormal(3, 0.4, n),
        "score": rng.normal(0, 1, n),
    }
)
pipe = make_pipeline(StandardScaler(), OptimalBalance(random_state=0))

# %%
# Fixed-yardstick scorers
# -----------------------
# ``make_balance_scorer`` returns minus the largest absolute standardised
# mean difference (``"smd"``) or minus the largest absolute log variance
# ratio (``"variance_ratio"``). The refit criterion takes the worse of the
# two, so the chosen ``rho`` balances both.
smd = make_balance_scorer("smd")
log_vr = make_balance_scorer("variance_ratio")


def worst_of_both(estimator, X, y=None):
    return min(smd(estimator, X), log_vr(estimator, X))


# A design can only score the units it assigned: train and test are the
# whole sample.
full_sample = [(np.arange(n), np.arange(n))]
search = GridSearchCV(
    pipe,
    {"optimalbalance__rho": [0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0]},
    scoring={"smd": smd, "log_vr": log_vr, "both": worst_of_both},
    refit="both",
    cv=full_sample,
    error_score="raise",
).fit(X)
print("chosen rho:", search.best_params_["optimalbalance__rho"])

# %%
# The trade-off
# -------------
# As ``rho`` grows, the variance ratios approach 1 at the price of slightly
# larger mean differences.
results = pd.DataFrame(search.cv_results_)
rhos = results["param_optimalbalance__rho"].astype(float)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(rhos, -results["mean_test_smd"], "o-", label="max |SMD|")
ax.plot(rhos, -results["mean_test_log_vr"], "s-", label="max |log variance ratio|")
ax.axvline(search.best_params_["optimalbalance__rho"], color="grey", ls=":")
ax.set_xscale("symlog", linthresh=0.1)
ax.set_xlabel("rho")
ax.set_ylabel("imbalance (lower is better)")
ax.legend()
fig.tight_layout()

# %%
# The chosen assignment
# ---------------------
# ``best_estimator_`` is the Pipeline refitted with the chosen ``rho``; its
# last step holds the labels and the solver's certificate.
design = search.best_estimator_[-1]
print(f"status: {design.status_}, objective: {design.objective_:.4f}")
print(balance_table(X, design.labels_)[["feature", "smd", "variance_ratio"]].round(3))

# %%
# A note on randomness
# --------------------
# The optimum is unique up to which group gets which treatment, so the
# assignment is (almost) deterministic: refitting with other seeds only
# swaps the arm names. A randomisation test therefore has nothing to
# permute; analyse such experiments with the bootstrap of Bertsimas et al.
labels = [
    OptimalBalance(
        rho=search.best_params_["optimalbalance__rho"], random_state=s
    ).fit_predict(StandardScaler().fit_transform(X))
    for s in range(4)
]
same_split = all(
    np.array_equal(a, b) or np.array_equal(a, 1 - b) for a in labels for b in labels
)
print("every seed gives the same split:", same_split)
