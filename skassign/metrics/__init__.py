"""Balance metrics and scorers for comparing assignments."""

from skassign.metrics._balance import (
    balance_table,
    ks_statistic,
    mahalanobis_imbalance,
    moment_discrepancy,
    standardized_mean_difference,
    variance_ratio,
)
from skassign.metrics._layout import batch_means_score, osat_score, spatial_score
from skassign.metrics._minmse import minmse_objective, minmse_scale
from skassign.metrics._scorer import (
    assignment_diversity,
    make_balance_scorer,
    make_randomness_scorer,
    neg_mahalanobis_scorer,
    neg_max_abs_smd_scorer,
    neg_max_ks_scorer,
    neg_max_log_variance_ratio_scorer,
)

__all__ = [
    "assignment_diversity",
    "balance_table",
    "batch_means_score",
    "ks_statistic",
    "mahalanobis_imbalance",
    "make_balance_scorer",
    "make_randomness_scorer",
    "minmse_objective",
    "minmse_scale",
    "moment_discrepancy",
    "neg_mahalanobis_scorer",
    "neg_max_abs_smd_scorer",
    "neg_max_ks_scorer",
    "neg_max_log_variance_ratio_scorer",
    "osat_score",
    "spatial_score",
    "standardized_mean_difference",
    "variance_ratio",
]
