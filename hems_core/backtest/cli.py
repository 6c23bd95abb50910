"""``hems backtest``: controllers in closed loop over a scenario, or a fleet of homes on Dask.

Imports stay inside the handler so ``hems --help`` does not load numpy, the solver or Dask.
The JSON goes to stdout only; the progress bar goes to stderr (and only on a terminal or
when asked with ``--progress``), so ``--json`` output stays parseable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


class _Bar:
    """A one-line progress bar on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.monotonic()

    def __call__(self, name: str, frac: float) -> None:
        if not self.enabled:
            return
        width = 30
        done = int(width * min(1.0, frac))
        secs = time.monotonic() - self.t0
        sys.stderr.write(
            f"\r{name:<16} [{'#' * done}{'.' * (width - done)}] {frac:4.0%} {secs:5.0f} s"
        )
        sys.stderr.flush()
        if frac >= 1.0:
            sys.stderr.write("\n")

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _handle(args: argparse.Namespace) -> int:
    """Run and print; a bad scenario is one line on stderr and exit code 2.

    The error is printed here rather than raised as ``CliError``: under ``python -m
    hems_core.cli`` the top-level module is ``__main__``, whose ``CliError`` is another class.
    """
    from ..scenario import ScenarioError

    bar = _Bar(args.progress or (sys.stderr.isatty() and not args.json))
    try:
        if args.fleet:
            from .fleet import run_fleet

            result: dict[str, Any] = run_fleet(
                Path(args.scenario), args.fleet, engine=args.engine, scheduler=args.scheduler,
                workers=args.workers, days=args.days, step_s=args.step, seed=args.seed,
                controllers=args.controllers.split(",") if args.controllers else ["mpc", "dumb"],
            )  # fmt: skip
        else:
            result = run_scenario(Path(args.scenario), args, bar)
    except (ScenarioError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    bar.done()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)
    return 0


def run_scenario(path: Path, args: argparse.Namespace, bar: Any) -> dict[str, Any]:
    """One scenario: a plaza study or a closed-loop home backtest (+ the report if asked)."""
    import yaml

    from ..scenario import ScenarioError

    yaml_path = path / "scenario.yaml" if path.is_dir() else path
    try:
        kind = (yaml.safe_load(yaml_path.read_text()) or {}).get("kind")
    except (OSError, yaml.YAMLError) as err:
        raise ScenarioError(f"{yaml_path}: {err}") from err
    if kind == "plaza":
        from .plaza import load_plaza

        return load_plaza(yaml_path)
    if kind == "outage":
        from .outage import run_outage_day

        return run_outage_day(yaml_path)
    from ..scenario import load_scenario
    from .runner import run_backtest

    sc = load_scenario(yaml_path)
    if args.days:
        sc = sc.with_days(args.days)
    keep: dict[str, Any] | None = {} if args.report else None
    names = args.controllers.split(",") if args.controllers else None
    result = run_backtest(
        sc, names, step_s=args.step, oracle=not args.no_oracle, progress=bar, keep=keep
    )
    if args.report and keep is not None:
        from .report import write_report

        result["report"] = str(write_report(Path(args.report), sc, result, keep))
    return result


def _print_table(result: dict[str, Any]) -> None:
    print(f"{result['scenario']}: {result['days']} days")
    if result.get("kind") == "outage":
        print(f"{'controller':<16}{'blackout s':>11}{'unserved kWh':>13}{'shed kWh':>9}"
              f"{'breaches':>9}")  # fmt: skip
        for name, k in result["controllers"].items():
            print(f"{name:<16}{k['blackout_s']:>11.0f}{k['unserved_kwh']:>13.2f}"
                  f"{k['shed_kwh']:>9.2f}{k['reserve_breaches']:>9}")  # fmt: skip
        return
    print(f"{'controller':<28}{'total €':>9}{'energy €':>10}{'cap. €':>8}{'wear €':>8}"
          f"{'peak kW':>9}{'eve kW':>8}{'short kWh':>10}")  # fmt: skip
    rows = dict(result.get("controllers", {}))
    if result.get("oracle"):
        rows["oracle"] = result["oracle"]
    for name, k in rows.items():
        print(f"{name:<28}{k['total_cost']:>9.2f}{k['energy_cost']:>10.2f}{k['capacity_cost']:>8.2f}"
              f"{k['wear_cost']:>8.2f}{k['peak_kw']:>9.2f}{k['evening_peak_kw']:>8.2f}"
              f"{k['shortfall_kwh']:>10.2f}")  # fmt: skip
    if result.get("home_days_per_s"):
        print(f"{result['home_days_per_s']} home-days/s")


def register(sub: Any) -> None:
    """Add ``hems backtest`` to the CLI."""
    p = sub.add_parser("backtest", help="run controllers in closed loop over a scenario")
    p.add_argument("--scenario", required=True, help="scenario folder or YAML")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--days", type=int, default=None, help="run only the first N days")
    p.add_argument("--step", type=float, default=300.0, help="fast-loop step in s (divides 900)")
    p.add_argument("--controllers", default=None, help="comma-separated controller names")
    p.add_argument("--no-oracle", action="store_true", help="skip the perfect-foresight oracle")
    p.add_argument("--report", default=None, metavar="DIR", help="write an HTML report into DIR")
    p.add_argument("--progress", action="store_true", help="progress bar on stderr")
    p.add_argument("--fleet", type=int, default=0, metavar="N", help="run N seeded homes")
    p.add_argument("--engine", default="dask", choices=["dask", "serial"], help="fleet engine")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster workers")
    p.add_argument("--seed", type=int, default=0, help="fleet seed")
    p.set_defaults(handler=_handle)
