"""``hems p1 parse FILE --json``: parse a P1 telegram and print it (exit 2 on a bad one)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``p1`` command group."""
    p1 = subparsers.add_parser("p1", help="P1 smart-meter tools")
    sub = p1.add_subparsers(dest="p1_command", metavar="COMMAND")
    parse = sub.add_parser("parse", help="parse a DSMR / e-MUCS telegram file")
    parse.add_argument("file", help="telegram file ('-' for stdin)")
    parse.add_argument("--json", action="store_true", help="print JSON (default: a summary)")
    parse.add_argument("--no-crc", action="store_true", help="accept telegrams without CRC")
    parse.set_defaults(handler=_parse)


def _jsonable(value: Any) -> Any:
    import dataclasses
    from datetime import datetime

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _parse(args: argparse.Namespace) -> int:
    import json
    import sys

    from hems_core.cli import CliError

    from .errors import TelegramError
    from .p1 import parse_telegram

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()  # noqa: SIM115
    except OSError as err:
        raise CliError(f"cannot read {args.file}: {err.strerror}") from err
    try:
        telegram = parse_telegram(data, require_crc=not args.no_crc)
    except TelegramError as err:
        raise CliError(f"invalid telegram: {err}") from err
    out = {
        "header": telegram.header,
        "version": telegram.version,
        "crc": None if telegram.crc is None else f"{telegram.crc:04X}",
        "reading": _jsonable(telegram.reading),
        "objects": {k: list(v) for k, v in telegram.objects.items()},
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        r = telegram.reading
        print(
            f"{telegram.header}: {r.power_w:.0f} W, import {r.energy_import_kwh} kWh, "
            f"export {r.energy_export_kwh} kWh, quarter {r.demand_quarter_kw} kW, "
            f"month peak {r.demand_month_peak_kw} kW"
        )
    return 0
