"""Run the command line: ``python -m skassign``."""

if __name__ == "__main__":
    from skassign._cli import main

    raise SystemExit(main())
