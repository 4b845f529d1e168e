"""Inference: tests of the treatment effect that are valid for the design used."""

from skassign.inference._bootstrap import BootstrapTest
from skassign.inference._randomization import RandomizationTest

__all__ = ["BootstrapTest", "RandomizationTest"]
