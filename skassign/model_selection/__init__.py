"""Splitters for experiments: outcome models by arm and searches over designs."""

from skassign.model_selection._experiment import Experiment
from skassign.model_selection._search import DesignSearchCV, FullSample

__all__ = ["DesignSearchCV", "Experiment", "FullSample"]
