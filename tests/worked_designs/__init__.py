"""Worked example designs, written as the user guide's "Writing a design" shows.

``tests/conftest.py`` adds this package to design discovery
(``SKASSIGN_DISCOVERY``), so every common test (estimator checks, property
tests, docstrings, the CLI) runs on every design defined here, without
registration.
"""
