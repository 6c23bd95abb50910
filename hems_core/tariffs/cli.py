"""``hems prices …``: inspect price payloads from the command line.

``hems prices parse FILE`` reads any supported payload (JSON or YAML as copied from Home
Assistant's developer tools, or ENTSO-E XML), detects its format and prints the normalised
15-minute series. Unusable data gives a one-line error and exit code 2. Imports stay inside the
handler so ``hems --help`` does not load numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``prices`` command group to the ``hems`` parser."""
    prices = subparsers.add_parser("prices", help="price data: parse and inspect")
    sub = prices.add_subparsers(dest="prices_command", metavar="SUBCOMMAND")
    parse = sub.add_parser(
        "parse",
        help="normalise a price payload to a 15-minute series",
        description=(
            "Detect the format of FILE (Nord Pool, ENTSO-E, EnergyZero, easyEnergy, Tibber, "
            "Frank Energie, Octopus, flat list) and print the 15-minute series."
        ),
    )
    parse.add_argument("file", metavar="FILE", help="payload file ('-' reads stdin)")
    parse.add_argument("--tz", metavar="ZONE", help="local time zone, e.g. Europe/Amsterdam")
    parse.add_argument("--json", action="store_true", help="print the series as one JSON object")
    parse.add_argument("--date", metavar="YYYY-MM-DD", help="local day of a flat price list")
    parse.add_argument("--currency", help="currency when the payload does not name it")
    parse.add_argument("--area", help="Nord Pool area or Tibber home to take")
    parse.add_argument(
        "--step-minutes", type=int, choices=(15, 30, 60), help="expected step of a flat list"
    )
    parse.add_argument(
        "--now", metavar="ISO|now", help="reject data that ends before this time (stale check)"
    )
    parse.set_defaults(handler=_parse)
    prices.set_defaults(handler=lambda _args: (prices.print_help(), 0)[1])


def _parse(args: argparse.Namespace) -> int:
    from datetime import UTC, date, datetime

    from hems_core.cli import CliError

    from .adapters import parse_text
    from .errors import PriceDataError
    from .timegrid import zone

    try:
        if args.file == "-":
            text: str | bytes = sys.stdin.read()
        else:
            with open(args.file, "rb") as f:
                text = f.read()
    except OSError as err:
        raise CliError(f"cannot read {args.file}: {err.strerror or err}") from err
    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError as err:
        raise CliError(f"--date {args.date!r} is not YYYY-MM-DD") from err
    now = None
    if args.now:
        try:
            now = datetime.now(UTC) if args.now == "now" else datetime.fromisoformat(args.now)
        except ValueError as err:
            raise CliError(f"--now {args.now!r} is not an ISO time") from err
        if now.tzinfo is None:
            raise CliError("--now needs a UTC offset")
    try:
        tz = zone(args.tz)
        series = parse_text(
            text,
            tz=tz,
            day=day,
            now=now,
            currency=args.currency,
            area=args.area,
            step_minutes=args.step_minutes,
        )
    except PriceDataError as err:
        raise CliError(f"{args.file}: {err}") from err
    if args.json:
        print(json.dumps(series.to_json_dict(), separators=(",", ":")))
        return 0
    vals = series.values
    print(f"source     {series.source}")
    print(f"currency   {series.currency}/kWh")
    print(f"start      {series.start.isoformat()}")
    print(f"end        {series.end.isoformat()}")
    print(f"steps      {len(series)} x 15 min ({int(series.known.sum())} known)")
    print(f"min/mean/max {vals.min():.5f} / {vals.mean():.5f} / {vals.max():.5f}")
    if tz is not None:
        days = ", ".join(d.isoformat() for d in series.complete_days(tz)) or "none"
        print(f"complete days ({args.tz}) {days}")
    return 0
