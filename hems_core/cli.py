"""The ``hems`` command.

Each area of the library registers its own sub-commands from a small ``cli`` module
(``hems_core/<area>/cli.py`` exposing ``register(subparsers)``). Those modules keep their
top-level imports light and import heavy dependencies inside the handlers, so ``hems --help``
stays fast and one area's optional extras never break another area's commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__

#: Modules that contribute sub-commands. Every one must import: a missing module is a bug (a
#: typo or an area that never landed), not something to skip quietly.
COMMAND_MODULES: tuple[str, ...] = (
    "hems_core.demo",
    "hems_core.optimize.cli",
    "hems_core.tariffs.cli",
    "hems_core.forecast.cli",
    "hems_core.devices.cli",
    "hems_core.sim.cli",
    "hems_core.control.cli",
    "hems_core.backtest.cli",
)

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="hems",
        description="Home energy management for bidirectional EVs (V2H/V2B).",
    )
    parser.add_argument("--version", action="version", version=f"hems {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        register: Callable[[Any], None] = module.register
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hems`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    # Run the imported module's main: handlers raise ``hems_core.cli.CliError``, which is not
    # this ``__main__`` module's class, so it would escape as a traceback instead of exit 2.
    from hems_core.cli import main as _main

    sys.exit(_main())
