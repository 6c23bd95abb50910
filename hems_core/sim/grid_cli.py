"""``hems sim outage`` and ``hems sim dso``: the island and grid-signal simulations (JSON)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register_subcommands(sub: Any) -> None:
    """Add ``outage`` and ``dso`` to the ``sim`` command group."""
    out = sub.add_parser("outage", help="a grid outage on a winter evening against the real core")
    out.add_argument("--start", default="18:00", help="outage start, local HH:MM")
    out.add_argument("--end", default="22:00", help="outage end, local HH:MM")
    out.add_argument("--car-soc", type=float, default=0.7)
    out.add_argument("--battery-soc", type=float, default=0.6)
    out.add_argument("--month-peak-kw", type=float, default=6.0)
    out.add_argument("--json", action="store_true", help="print JSON only")
    out.set_defaults(handler=_outage)
    dso = sub.add_parser("dso", help="§14a, import/export caps and an aggregator setpoint")
    dso.add_argument("--json", action="store_true", help="print JSON only")
    dso.set_defaults(handler=_dso)


def _hhmm(value: str) -> str:
    from hems_core.cli import CliError

    parts = value.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise CliError(f"time must be HH:MM, got {value!r}")
    hh, mm = int(parts[0]), int(parts[1])
    if not (0 <= hh <= 23 and 0 <= mm <= 59):
        raise CliError(f"time must be HH:MM, got {value!r}")
    return f"{hh:02d}:{mm:02d}"


def _outage(args: argparse.Namespace) -> int:
    from hems_core.cli import CliError

    from .outage import run_outage

    start, end = _hhmm(args.start), _hhmm(args.end)
    if not start < end or start < "17:00":
        raise CliError("the outage must start at or after 17:00 and end after it starts")
    for name in ("car_soc", "battery_soc"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise CliError(f"--{name.replace('_', '-')} must be within 0..1")
    if not 0.0 <= args.month_peak_kw <= 50.0:
        raise CliError("--month-peak-kw must be within 0..50")
    result = run_outage(
        outage=(start, end), car_soc=args.car_soc, battery_soc=args.battery_soc,
        month_peak_kw=args.month_peak_kw,
    )  # fmt: skip
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _dso(args: argparse.Namespace) -> int:
    from .dso_runs import run_dso

    print(json.dumps(run_dso(), indent=None if args.json else 2))
    return 0
