"""``hems sim devices --scenario PATH``: run device simulators and print their endpoints."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``sim`` command group."""
    sim = subparsers.add_parser("sim", help="device simulators")
    sub = sim.add_subparsers(dest="sim_command", metavar="COMMAND")
    dev = sub.add_parser("devices", help="run wallbox / inverter / P1 simulators on loopback")
    dev.add_argument("--scenario", required=True, help="scenario YAML/JSON file")
    dev.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many real seconds (default: run until Ctrl-C)",
    )
    dev.set_defaults(handler=_devices)
    soak = sub.add_parser("soak", help="the real runtime against the simulators for N days (JSON)")
    soak.add_argument("--days", type=float, default=2.0)
    soak.add_argument("--meter-interval", type=float, default=2.0, help="P1 interval (s)")
    soak.add_argument("--seed", type=int, default=7)
    soak.add_argument("--json", action="store_true", help="print JSON only")
    soak.set_defaults(handler=_soak)
    faults = sub.add_parser("faults", help="inject device, broker and solver faults (JSON)")
    faults.add_argument("--only", nargs="+", default=None, help="fault names to run")
    faults.add_argument("--json", action="store_true", help="print JSON only")
    faults.set_defaults(handler=_faults)
    __import__("hems_core.sim.grid_cli", fromlist=["x"]).register_subcommands(sub)
    __import__("hems_core.sim.ocpp_cli", fromlist=["x"]).register_subcommands(sub)


def _soak(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from hems_core.cli import CliError

    from .closed_loop import soak

    if not 0.05 <= args.days <= 30 or not 1.0 <= args.meter_interval <= 10.0:
        raise CliError("--days must be within 0.05..30 and --meter-interval within 1..10")
    try:
        result = asyncio.run(soak(args.days, meter_interval_s=args.meter_interval, seed=args.seed))
    except (FileNotFoundError, RuntimeError) as err:
        raise CliError(str(err)) from err
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _faults(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from hems_core.cli import CliError

    from .fault_runs import run_faults

    try:
        result = asyncio.run(run_faults(args.only))
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        raise CliError(str(err)) from err
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _devices(args: argparse.Namespace) -> int:
    import asyncio

    from hems_core.cli import CliError
    from hems_core.devices.errors import ConfigError
    from hems_core.scenario import load_devices

    from .runner import SimRunner

    try:
        scenario = load_devices(args.scenario)
    except ConfigError as err:
        raise CliError(str(err)) from err

    async def run() -> None:
        import json

        runner = SimRunner(scenario)
        try:
            endpoints = await runner.start()
            print(json.dumps(endpoints, indent=2), flush=True)
            interval = float(scenario.get("publish_interval_s", 1.0))
            loop = asyncio.get_running_loop()
            end = None if args.duration is None else loop.time() + args.duration
            while end is None or loop.time() < end:
                await runner.tick()
                await asyncio.sleep(
                    interval if end is None else min(interval, max(end - loop.time(), 0))
                )
        finally:
            await runner.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    except (ConfigError, FileNotFoundError, RuntimeError) as err:
        raise CliError(str(err)) from err
    return 0
