"""Command line: ``skassign demo``, ``assign``, ``designs`` and ``compare``.

Every failure caused by the input (a missing file, an unknown column or
design, non-numeric or missing values, an infeasible request) is reported as a
single ``skassign: error: ...`` line on standard error with exit code 2, never
as a traceback. Warnings of the design (for example a rerandomisation that
ran out of draws) are printed as ``skassign: warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from skassign import __version__
from skassign._cli_assign import _design_classes, add_assign_parser
from skassign._cli_compare import add_compare_parser
from skassign._cli_demo import add_demo_parser
from skassign._cli_input import _one_line
from skassign.exceptions import SolverError

__all__ = ["main"]

_PROG = "skassign"
_EXIT_USAGE = 2


# ---------------------------------------------------------------------------
# skassign designs


def _run_designs(args, out):
    for name, cls in sorted(_design_classes().values()):
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name:24s} {summary}", file=out)
    return 0


# ---------------------------------------------------------------------------
# argument parsing and error handling


def _build_parser():
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "Assign experimental units to balanced treatment groups. "
            "`skassign demo` runs the 20-mice tumour experiment end to end; "
            "`skassign assign data.csv --design rerandomization --groups 2 "
            "--output out.csv` adds a `group` column to your own data."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    add_demo_parser(commands)
    add_assign_parser(commands)
    designs = commands.add_parser("designs", help="list the available designs")
    designs.set_defaults(func=_run_designs)
    add_compare_parser(commands)
    return parser


def main(argv=None):
    """Run the ``skassign`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments, without the program name; ``None`` uses
        ``sys.argv[1:]``.

    Returns
    -------
    status : int
        Exit status: 0 on success, 2 for a usage or input error (reported on
        one line of standard error).

    Examples
    --------
    >>> from skassign._cli import main
    >>> main(["demo"])  # doctest: +ELLIPSIS
    skassign demo: 20 mice, control and treatment
    ...
    <BLANKLINE>
    ...
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else _EXIT_USAGE
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            status = args.func(args, sys.stdout)
        except (ValueError, OSError, SolverError) as err:
            error, status = err, _EXIT_USAGE
        except KeyboardInterrupt:
            error, status = "interrupted", 130
    seen = set()
    for record in caught:
        message = _one_line(record.message)
        if issubclass(record.category, UserWarning) and message not in seen:
            seen.add(message)
            print(f"{_PROG}: warning: {message}", file=sys.stderr)
    if error is not None:
        print(f"{_PROG}: error: {_one_line(error)}", file=sys.stderr)
    return status
