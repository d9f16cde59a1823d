"""The ``cibscan`` command line.

Each stage's commands live in their own module and register on :data:`app`. User errors
(:class:`cibscan.errors.CibscanError`) print ``Error: ...`` and exit with status 2; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import sys

from rich.console import Console

from cibscan.cli import demo as _demo  # noqa: F401  (registers commands)
from cibscan.cli import detect as _detect  # noqa: F401
from cibscan.cli import ingest as _ingest  # noqa: F401
from cibscan.cli import networks as _networks  # noqa: F401
from cibscan.cli import synth as _synth  # noqa: F401
from cibscan.cli.app import app
from cibscan.errors import CibscanError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        # Standalone: click prints usage errors itself (``Usage: ... Error: ...``, status 2),
        # whichever copy of click the installed Typer uses, and exits through SystemExit.
        app(args=args, standalone_mode=True, prog_name="cibscan")
    except CibscanError as exc:
        if debug:
            raise
        from cibscan.report._safety import neutralise

        # Messages quote values from the inputs: no escape sequences through to the terminal.
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"Error: {neutralise(str(exc))}", markup=False
        )
        return 2
    except SystemExit as exc:  # every normal end, --help and usage errors
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
