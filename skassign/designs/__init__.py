"""Designs: estimators that assign units to treatment groups."""

from skassign.designs._batch_layout import BatchLayout
from skassign.designs._complete import BlockRandomization, CompleteRandomization
from skassign.designs._minmse import MinMSE
from skassign.designs._optimal import OptimalBalance
from skassign.designs._rerandomization import Rerandomization

__all__ = [
    "BatchLayout",
    "BlockRandomization",
    "CompleteRandomization",
    "MinMSE",
    "OptimalBalance",
    "Rerandomization",
]
