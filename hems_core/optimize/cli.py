"""``hems bench solver`` and ``hems bench backtest``: solver timings and accuracy, and the
closed-loop planning throughput, as JSON (heavy imports inside)."""

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
    b = sub.add_parser("backtest", help="home-days per second of the MPC in closed loop")
    b.add_argument("--json", action="store_true", help="print JSON only")
    b.add_argument("--scenario", default="scenarios/nl-2027-v2h", help="scenario folder or YAML")
    b.add_argument("--days", type=int, default=None, help="first N days (default: all)")
    b.add_argument("--step", type=float, default=300.0, help="fast-loop step in s (divides 900)")
    b.add_argument("--controllers", default="mpc", help="comma-separated controller names")
    b.set_defaults(handler=_run_backtest)


def _run_backtest(args: argparse.Namespace) -> int:
    """One backtest without the oracle: throughput (wall and CPU), plan counts, the costs."""
    import sys
    from pathlib import Path

    from ..backtest.runner import run_backtest
    from ..scenario import ScenarioError, load_scenario

    path = Path(args.scenario)
    try:
        sc = load_scenario(path / "scenario.yaml" if path.is_dir() else path)
        if args.days:
            sc = sc.with_days(args.days)
        res = run_backtest(sc, args.controllers.split(","), step_s=args.step, oracle=False)
    except (ScenarioError, ValueError) as err:
        # Printed, not raised as CliError: under ``python -m hems_core.cli`` that class is
        # ``__main__``'s (see hems_core/backtest/cli.py).
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = {
        "scenario": res["scenario"],
        "days": res["days"],
        "step_s": res["step_s"],
        "home_days_per_s": res["home_days_per_s"],
        "home_days_per_cpu_s": res["home_days_per_cpu_s"],
        "timing": res["timing"],
        "total_cost": {k: v["total_cost"] for k, v in res["controllers"].items()},
        "plan_ms_median": {k: v["plan_ms_median"] for k, v in res["controllers"].items()},
    }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


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
