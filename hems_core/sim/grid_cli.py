"""``hems sim outage`` and ``hems sim dso``: the island and grid-signal simulations (JSON)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any


def register_subcommands(sub: Any) -> None:
    """Add ``outage`` and ``dso`` to the ``sim`` command group."""
    out = sub.add_parser("outage", help="a grid outage on a winter evening against the real core")
    out.add_argument("--start", type=_hhmm, default="18:00", help="outage start, local HH:MM")
    out.add_argument("--end", type=_hhmm, default="22:00", help="outage end, local HH:MM")
    out.add_argument("--car-soc", type=_fraction, default=0.7)
    out.add_argument("--battery-soc", type=_fraction, default=0.6)
    out.add_argument("--month-peak-kw", type=_peak, default=6.0)
    out.add_argument("--json", action="store_true", help="print JSON only")
    out.set_defaults(handler=_outage)
    dso = sub.add_parser("dso", help="§14a, import/export caps and an aggregator setpoint")
    dso.add_argument("--json", action="store_true", help="print JSON only")
    dso.set_defaults(handler=_dso)


def _hhmm(value: str) -> str:
    """A local time ``HH:MM`` (argparse turns the error into a usage message, exit 2)."""
    parts = value.split(":")
    ok = len(parts) == 2 and all(p.isdigit() for p in parts)
    if not ok or not (0 <= int(parts[0]) <= 23 and 0 <= int(parts[1]) <= 59):
        raise argparse.ArgumentTypeError(f"time must be HH:MM, got {value!r}")
    return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


def _fraction(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = math.nan
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a SoC within 0..1, got {value!r}")
    return x


def _peak(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = math.nan
    if not 0.0 <= x <= 50.0:
        raise argparse.ArgumentTypeError(f"must be within 0..50 kW, got {value!r}")
    return x


def _outage(args: argparse.Namespace) -> int:
    from .outage import run_outage

    if not "17:00" <= args.start < args.end:
        print("error: the outage must start at or after 17:00 and end after it starts",
              file=sys.stderr)  # fmt: skip
        return 2
    result = run_outage(
        outage=(args.start, args.end), car_soc=args.car_soc, battery_soc=args.battery_soc,
        month_peak_kw=args.month_peak_kw,
    )  # fmt: skip
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _dso(args: argparse.Namespace) -> int:
    from .dso_runs import run_dso

    print(json.dumps(run_dso(), indent=None if args.json else 2))
    return 0
