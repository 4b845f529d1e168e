"""
=================================================
Batch layouts: cages for a study, wells on plates
=================================================

Two everyday layout problems, solved with
:class:`~skassign.designs.BatchLayout`:

1. 59 mice of two strains and both sexes get one of two treatments (30 and
   29 animals) and live in cages of 2 to 5 animals of one strain, sex and
   treatment; animals sharing a cage must carry different earmarks. The
   treatments should be balanced on strain and sex (the OSAT score).
2. 88 samples of two groups go on a 96-well plate with 8 unusable wells,
   so that neither group clusters along rows, columns or the plate edge.

designit, the R package this design follows, shuffles layouts for hundreds
of iterations; ``BatchLayout`` solves the underlying count problem exactly
and reports a proven lower bound.

Read more in the :ref:`User Guide <batch_layout>`.
"""

# %%
# The animals
# -----------
# Like designit's in vivo study: 7 + 22 females and males of strain A,
# 7 + 23 of strain B, each with an earmark.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skassign.designs import BatchLayout
from skassign.metrics import osat_score, spatial_score
from skassign.plotting import plot_layout

rng = np.random.default_rng(0)
marks = ["L", "R", "2L", "2R", "LR", "1L2R", "2L1R", "0B", "1B", "2B"]
animals = pd.DataFrame(
    [
        {"Strain": strain, "Sex": sex, "Earmark": marks[rng.integers(len(marks))]}
        for strain, sex, n in [
            ("A", "F", 7),
            ("A", "M", 22),
            ("B", "F", 7),
            ("B", "M", 23),
        ]
        for _ in range(n)
    ]
)
animals.groupby(["Strain", "Sex"]).size()

# %%
# Treatments and cages
# --------------------
# The treatments are the batches (30 and 29 animals). Cages are homogeneous
# in strain and sex, hold 2 to 5 animals (ideally 3), and should not hold
# two animals with one earmark.
design = BatchLayout(
    group_sizes=[30, 29],
    balance=["Strain", "Sex"],
    keep_together=["Strain", "Sex"],
    keep_separate=["Earmark"],
    subgroup_sizes=(2, 3, 5),
    random_state=0,
).fit(animals)
print(
    f"OSAT {design.objective_:.4f}, proven lower bound {design.lower_bound_:.4f} "
    f"({design.status_}); earmark violations: {design.n_violations_}; "
    f"{design.subgroups_.max() + 1} cages in {1000 * design.solve_time_:.0f} ms"
)

# %%
# The bound is that of every 30/29 split, with or without cages: no layout
# balances strain and sex better. A random treatment split, for comparison:
random = [
    osat_score(rng.permutation(np.repeat([0, 1], [30, 29])), animals[["Strain", "Sex"]])
    for _ in range(1000)
]
print(f"random splits: median OSAT {np.median(random):.2f}")
pd.crosstab(
    [animals["Strain"], animals["Sex"]], design.labels_, rownames=["Strain", "Sex"]
)

# %%
# Each cage holds one strain, one sex and one treatment:
cages = design.layout_.join(animals).groupby("cage")
cages.agg(
    treatment=("batch", "first"),
    strain=("Strain", "first"),
    sex=("Sex", "first"),
    animals=("Sex", "size"),
    earmarks=("Earmark", lambda e: ", ".join(sorted(e))),
).head(8)

# %%
# Samples on a plate
# ------------------
# A 96-well plate, rows A-H and columns 1-12, with 8 wells excluded (left
# out of the locations table). ``spatial=True`` places the samples so that
# both groups spread over rows, columns and the edge ring.
wells = pd.DataFrame(
    [("Plate 1", r, c) for r in "ABCDEFGH" for c in range(1, 13)],
    columns=["plate", "row", "column"],
)
wells = wells.drop(index=rng.choice(96, size=8, replace=False)).reset_index(drop=True)
samples = pd.DataFrame({"group": ["Treated"] * 44 + ["Control"] * 44})
plate = BatchLayout(
    locations=wells, spatial=True, iterations=20_000, random_state=0
).fit(samples)
random_scores = []
for _ in range(200):
    idx = rng.permutation(len(wells))[:88]
    random_scores.append(
        spatial_score(
            samples["group"],
            wells["row"].to_numpy()[idx],
            wells["column"].to_numpy()[idx],
            wells=wells[["row", "column"]],
        )
    )
print(
    f"spatial score {plate.spatial_score_:.1f} (lower bound "
    f"{plate.spatial_lower_bound_:.1f}); random placement: median "
    f"{np.median(random_scores):.1f}"
)

# %%
# The plate map: samples coloured by group, empty wells open, excluded
# wells crossed; the bars give the composition of the plate.
fig = plot_layout(plate, X=samples, color="group")
plt.show()
