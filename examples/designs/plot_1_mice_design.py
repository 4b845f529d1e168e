"""
===================================
Assigning 20 mice to two groups
===================================

Twenty mice carry tumours of very different initial weights, and a drug is
to be tested on half of them. With so few units a single random split can
leave one group with much heavier tumours than the other, and that
difference would be mistaken for a treatment effect.

This example assigns the mice with three designs of :mod:`skassign.designs`
and compares the groups they produce:

* :class:`~skassign.designs.CompleteRandomization`: a random split into two
  groups of ten;
* :class:`~skassign.designs.BlockRandomization`: random splits within strata
  of similar weight (k-means strata, as in the comparison of Bertsimas et
  al.);
* :class:`~skassign.designs.Rerandomization`: random splits drawn until the
  groups' mean weights are close (Morgan & Rubin, 2012).

Read more in the :ref:`User Guide <designs>`.
"""

# %%
# The mice
# --------
# :func:`~skassign.datasets.make_tumor_mice` draws the initial tumour weights
# (mg) of the case study: a normal distribution with mean 200 mg and standard
# deviation 300 mg, truncated at zero.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skassign.base import sample_assignments
from skassign.datasets import make_tumor_mice, simulate_tumor_growth
from skassign.designs import (
    BlockRandomization,
    CompleteRandomization,
    Rerandomization,
)
from skassign.metrics import balance_table

mice = make_tumor_mice(n_mice=20, random_state=123)
X = mice[["initial_weight"]]
print(mice.head())
weights = X["initial_weight"]
print(f"weights from {weights.min():.0f} to {weights.max():.0f} mg")

# %%
# One assignment per design
# -------------------------
# Every design is a scikit-learn estimator: ``fit_predict`` returns the group
# (0 or 1) of every mouse. Block randomisation forms its strata from the
# weights by k-means; rerandomisation keeps drawing until the Mahalanobis
# imbalance is below the 10% quantile of its chi-square distribution.
designs = {
    "Complete": CompleteRandomization(random_state=0),
    "Block": BlockRandomization(random_state=0),
    "Rerandomization": Rerandomization(acceptance_prob=0.1, random_state=0),
}
labels = {name: design.fit_predict(X) for name, design in designs.items()}

summary = pd.DataFrame(
    [
        {
            "design": name,
            "group": group,
            "n": int((lab == group).sum()),
            "mean_weight": weights[lab == group].mean(),
            "sd_weight": weights[lab == group].std(),
        }
        for name, lab in labels.items()
        for group in (0, 1)
    ]
)
print(summary.round(2).to_string(index=False))

# %%
# :func:`~skassign.metrics.balance_table` measures the balance of every
# covariate between the groups: the standardised mean difference (``smd``),
# the variance ratio and the Kolmogorov-Smirnov statistic (``ks``).
tables = pd.concat(
    {name: balance_table(X, lab) for name, lab in labels.items()}, names=["design"]
)
columns = ["mean_a", "mean_b", "sd_a", "sd_b", "smd", "variance_ratio", "ks"]
print(tables[columns].droplevel(1).round(3))

# %%
# Rerandomisation matches the means almost exactly, but it balances means
# only: the spread of the weights (``sd_a``, ``sd_b``, ``variance_ratio``)
# is left to chance. Because tumour growth is non-linear in the initial
# weight, that matters for the outcome as well.
#
# The fitted designs also report what they did: the strata block
# randomisation formed, and how many draws rerandomisation needed.
block, rerand = designs["Block"], designs["Rerandomization"]
print(f"block randomisation used {block.n_strata_} strata")
print(
    f"rerandomisation accepted draw {rerand.n_draws_} "
    f"(imbalance {rerand.objective_:.4f} <= threshold {rerand.threshold_:.4f})"
)

# %%
# The groups side by side
# -----------------------
# Each dot is a mouse; the bar is the group mean.
fig, axes = plt.subplots(1, 3, figsize=(10, 3.8), sharey=True)
rng = np.random.default_rng(0)
for ax, (name, lab) in zip(axes, labels.items(), strict=True):
    for group, colour in zip((0, 1), ("tab:blue", "tab:orange"), strict=True):
        in_group = weights[lab == group]
        jitter = rng.uniform(-0.12, 0.12, in_group.size)
        ax.scatter(group + jitter, in_group, color=colour, alpha=0.8)
        ax.hlines(in_group.mean(), group - 0.3, group + 0.3, color="black")
    smd = balance_table(X, lab)["smd"].iloc[0]
    ax.set_title(f"{name}\nSMD = {smd:+.2f}")
    ax.set_xticks([0, 1], ["group 0", "group 1"])
    ax.set_xlim(-0.6, 1.6)
axes[0].set_ylabel("initial tumour weight (mg)")
fig.tight_layout()

# %%
# What the design changes: many re-draws
# --------------------------------------
# A single assignment can be lucky or unlucky. To compare designs, draw many
# assignments from each one with :func:`~skassign.base.sample_assignments`
# (every draw refits the design with a fresh seed) and look at the imbalance
# and at the error of the estimated treatment effect. The outcome is
# simulated by :func:`~skassign.datasets.simulate_tumor_growth`: one day of
# Gomp-ex growth, and 250 mg less for treated mice (group 1).
#
# Block randomisation is re-drawn within the strata it formed above
# (``fit_params`` passes them to every fit): the strata are fixed before the
# experiment, and only the assignment within them is random.
n_draws = 200
true_effect = -250.0
fit_params = {"Block": {"strata": block.strata_}}
draws = {
    name: sample_assignments(
        design, X, n_draws, random_state=1, fit_params=fit_params.get(name)
    )
    for name, design in designs.items()
}


def estimated_effect(assignment):
    final = simulate_tumor_growth(weights, assignment, effect=true_effect)
    return final[assignment == 1].mean() - final[assignment == 0].mean()


rows = []
for name, assignments in draws.items():
    for assignment in assignments:
        rows.append(
            {
                "design": name,
                "abs_smd": abs(balance_table(X, assignment)["smd"].iloc[0]),
                "effect": estimated_effect(assignment),
            }
        )
results = pd.DataFrame(rows)
comparison = results.groupby("design", sort=False).agg(
    median_abs_smd=("abs_smd", "median"),
    max_abs_smd=("abs_smd", "max"),
    mean_effect=("effect", "mean"),
    sd_effect=("effect", "std"),
)
print(comparison.round(2))

# %%
# All three designs estimate the effect without bias (the mean estimate is
# close to -250 mg), but the balanced designs do it far more precisely: the
# spread of the estimate shrinks with the imbalance of the initial weights.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
names = list(designs)
axes[0].boxplot([results.abs_smd[results.design == name] for name in names])
axes[0].set_xticks(range(1, len(names) + 1), names)
axes[0].set_ylabel("|standardised mean difference|\nof initial weight")
bins = np.linspace(results.effect.min(), results.effect.max(), 40)
for name in names:
    part = results.effect[results.design == name]
    axes[1].hist(part, bins=bins, histtype="step", linewidth=2, label=name)
axes[1].axvline(true_effect, color="black", linestyle="--", label="true effect")
axes[1].set_xlabel("estimated treatment effect (mg)")
axes[1].set_ylabel(f"assignments (of {n_draws})")
axes[1].set_ylim(top=1.4 * axes[1].get_ylim()[1])
axes[1].legend(ncols=2, fontsize="small")
fig.tight_layout()

# %%
# The estimates have two modes, whichever the design. They are the
# assignments that put the heaviest mouse in the treated group or in the
# control group:
heaviest = int(np.argmax(weights))
grown = simulate_tumor_growth(weights, labels["Complete"], effect=0)
print(
    f"mouse {heaviest + 1}: {weights.iloc[heaviest]:.0f} mg grows to "
    f"{grown[heaviest]:.0f} mg, moving its group's mean by "
    f"{grown[heaviest] / 10:.0f} mg"
)
results["heaviest_treated"] = [
    bool(a[heaviest] == 1) for assignments in draws.values() for a in assignments
]
print(
    results.groupby(["design", "heaviest_treated"], sort=False)["effect"]
    .mean()
    .unstack()
    .round(1)
)

# %%
# Growth is convex in the initial weight, so the spread of the initial
# weights within each group matters as well as their mean: balancing the
# mean alone cannot remove the effect of one very heavy tumour. The
# :ref:`datasets <datasets>` page of the user guide gives the growth model.
plt.show()
