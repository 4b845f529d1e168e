# Run the R package minMSE once and time it (called by bench_minmse.py).
#
# Usage: Rscript _minmse_r.R <covariates.csv> <n_treatments> <iterations>
#                            <t0> <seed> <output.csv>
# Writes one line per unit (the assignment) and, in the first row's extra
# columns, the elapsed and CPU seconds of assign_minMSE_treatment (R startup
# and file input excluded) and minMSE's own objective of the assignment.
suppressMessages(library(minMSE))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
n_treatments <- as.integer(args[2])
iterations <- as.integer(args[3])
t0 <- as.numeric(args[4])
set.seed(as.integer(args[5]))
timing <- system.time(
  result <- suppressMessages(assign_minMSE_treatment(
    X, n_treatments = n_treatments, iterations = iterations, t0 = t0,
    desired_test_vectors = 1, trace_output = 0
  ))
)
elapsed <- timing[["elapsed"]]
cpu <- timing[["user.self"]] + timing[["sys.self"]]
labels <- result[, 2]
objective <- minMSE:::evaluate_solution(labels, as.matrix(minMSE:::scale_vars(as.data.frame(X))))
write.csv(
  data.frame(
    label = labels, elapsed = elapsed, cpu = cpu, objective = as.numeric(objective)
  ),
  args[6], row.names = FALSE
)
