"""``hems bench solver``: solver timings and accuracy as JSON (heavy imports inside)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _bench_subparsers(subparsers: Any) -> Any:
    """The ``bench`` command's sub-parsers, shared with other areas that add benchmarks."""
    existing = subparsers.choices.get("bench")
    if existing is not None and hasattr(existing, "hems_bench_subparsers"):
        return existing.hems_bench_subparsers
    bench = subparsers.add_parser("bench", help="benchmarks that print JSON")
    sub = bench.add_subparsers(dest="bench_command", metavar="BENCH")
    bench.hems_bench_subparsers = sub
    return sub


def register(subparsers: Any) -> None:
    """Add ``hems bench solver``."""
    sub = _bench_subparsers(subparsers)
    p = sub.add_parser("solver", help="MPC solve times and gaps against the cvxpy reference")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument("--steps", type=int, nargs="+", default=[96, 192])
    p.add_argument("--repeats", type=int, default=12, help="receding-horizon re-solves per case")
    p.add_argument("--backends", nargs="+", default=None, help="default: all installed")
    p.add_argument("--no-reference", action="store_true", help="skip cvxpy (rel_gap null)")
    p.add_argument(
        "--cases",
        nargs="+",
        choices=["a", "b", "c"],
        default=["a", "b", "c"],
        help="a: 1 EV + battery; b: 10 EVs (both over --steps); c: case a, 72 h multi-tier",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ..cli import CliError
    from .bench import run_bench
    from .inputs import MAX_STEPS

    if any(not 1 <= n <= MAX_STEPS for n in args.steps):
        raise CliError(f"--steps must be within 1..{MAX_STEPS}")
    if args.repeats < 1:
        raise CliError("--repeats must be >= 1")

    result = run_bench(
        steps=args.steps,
        repeats=args.repeats,
        backends=args.backends,
        reference=not args.no_reference,
        cases=tuple(args.cases),
    )
    print(json.dumps(result, indent=None if args.json else 2))
    return 0
