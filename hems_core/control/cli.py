"""``hems bench control``: the control core's tick cost and plan throughput (JSON)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``hems bench control``."""
    from ..optimize.cli import _bench_subparsers

    sub = _bench_subparsers(subparsers)
    p = sub.add_parser("control", help="control-core tick time (µs) and plans per second")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument("--ticks", type=int, default=20_000)
    p.add_argument("--plans", type=int, default=20)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ..cli import CliError
    from .bench import run_bench

    if args.ticks < 100 or args.plans < 1:
        raise CliError("--ticks must be >= 100 and --plans >= 1")
    print(json.dumps(run_bench(args.ticks, args.plans), indent=None if args.json else 2))
    return 0
