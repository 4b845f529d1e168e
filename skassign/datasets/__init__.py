"""Data sets: the tumour-mice experiment and its growth model."""

from skassign.datasets._samples_generator import make_tumor_mice, simulate_tumor_growth

__all__ = ["make_tumor_mice", "simulate_tumor_growth"]
