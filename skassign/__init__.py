"""Balanced treatment assignment for small experiments, in scikit-learn style.

skassign assigns experimental units to treatment groups so that the groups are
as alike as possible before the experiment, and tests the treatment effect with
inference that is valid for the design used. The subpackages are
:mod:`skassign.designs`, :mod:`skassign.metrics`,
:mod:`skassign.model_selection`, :mod:`skassign.inference`,
:mod:`skassign.simulation`, :mod:`skassign.datasets` and
:mod:`skassign.plotting`.
"""

__version__ = "0.1.0.dev0"
