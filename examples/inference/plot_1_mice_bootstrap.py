"""
==============================================
Bootstrap inference for the optimised mice
==============================================

Twenty mice with tumours of very different initial weights are split into
two groups of ten by the optimisation design of Bertsimas, Johnson & Kallus
(2015), which balances the mean and the variance of the normalised weight.
After one day of (simulated) tumour growth with a treatment effect of
-250 mg, is the difference between the groups significant?

An optimisation design returns the same split every time, so Fisher's
randomisation test has nothing to re-draw. The bootstrap of Bertsimas et
al. resamples the mice instead and re-solves the design on every resample
(:class:`~skassign.inference.BootstrapTest`). For a random design, here
rerandomisation, the exact randomisation test applies
(:class:`~skassign.inference.RandomizationTest`).

Read more in the :ref:`User Guide <inference>`.
"""

# %%
# The experiment
# --------------
# The case study normalises the initial weight with the sample mean and
# standard deviation, solves the design with ``rho = 0.5`` and then simulates
# Gomp-ex growth with the treatment effect.
import matplotlib.pyplot as plt
import numpy as np

from skassign.datasets import make_tumor_mice, simulate_tumor_growth
from skassign.designs import OptimalBalance, Rerandomization
from skassign.inference import BootstrapTest, RandomizationTest

mice = make_tumor_mice()
w = mice["initial_weight"].to_numpy()
X = ((w - w.mean()) / w.std(ddof=1)).reshape(-1, 1)

design = OptimalBalance(n_groups=2, rho=0.5, random_state=123)
labels = design.fit_predict(X)
print("treated mice:", np.flatnonzero(labels == 1) + 1)

y = simulate_tumor_growth(w, labels, effect=-250)
difference = y[labels == 1].mean() - y[labels == 0].mean()
print(f"difference in mean final weight: {difference:.1f} mg")

# %%
# The bootstrap test
# ------------------
# Each resample draws 20 mice with replacement, re-solves the design on their
# weights and recomputes the difference in means. The case study uses 1000
# resamples; 200 keep this example fast (``n_jobs=2`` uses two cores, and the
# result is the same for any ``n_jobs``).
test = BootstrapTest(design, n_resamples=200, n_jobs=2, random_state=0)
test.fit(X, y, labels)
print(test.summary().round(3).T)

# %%
# The bootstrap distribution is centred near zero; the observed difference
# lies far in its tail. The interval inverts the test under a constant
# additive effect: it collects the effects the bootstrap does not reject.
test.plot()
plt.show()

low, high = test.confidence_interval_
print(f"effect {test.effect_:.1f} mg, 95% interval [{low:.1f}, {high:.1f}] mg")

# %%
# Why not a randomisation test?
# -----------------------------
# Re-running the optimisation design with new seeds only swaps which group is
# treated, so every re-drawn statistic is +-260 mg and the p-value would be 1.
# :class:`~skassign.inference.RandomizationTest` refuses such a design.
try:
    RandomizationTest(design, n_resamples=50, random_state=0).fit(X, y, labels)
except ValueError as err:
    print(err)

# %%
# A random design: rerandomisation
# --------------------------------
# Rerandomisation draws random splits until the groups' mean weights are
# close. Its assignments stay random, so Fisher's exact test re-draws them
# from the same design.
rerandomization = Rerandomization(acceptance_prob=0.05, random_state=0)
labels_rr = rerandomization.fit_predict(X)
y_rr = simulate_tumor_growth(w, labels_rr, effect=-250)
fisher = RandomizationTest(rerandomization, n_resamples=200, n_jobs=2, random_state=0)
fisher.fit(X, y_rr, labels_rr)
print(fisher.summary().round(3).T)
print(f"distinct assignments among the draws: {fisher.n_unique_}")
