"""``hems forecast …`` sub-commands.

- ``hems forecast evaluate --history CSV [--column NAME] [--json]``: rolling-origin evaluation of
  the household-load forecast against the naive baselines (yesterday, last week); see
  :mod:`hems_core.forecast.evaluate`.
- ``hems forecast evaluate-pv --history CSV --lat --lon --tilt --azimuth``: day-ahead evaluation
  of the clear-sky PV fallback against yesterday's production.
- ``hems forecast ev-habits --sessions CSV [--json]``: learned plug-in / departure / energy habits
  per vehicle and weekday; see :mod:`hems_core.forecast.ev`.

Heavy imports happen inside the handlers so ``hems --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``forecast`` and its sub-commands to the ``hems`` parser."""
    parser = subparsers.add_parser("forecast", help="load / PV / EV forecasts and their accuracy")
    sub = parser.add_subparsers(dest="forecast_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda _args: _help(parser))

    ev = sub.add_parser(
        "evaluate",
        help="rolling-origin evaluation of the load forecast vs naive baselines",
        description=(
            "Forecast from data strictly before each origin and compare with the actual values "
            "and with two naive baselines (yesterday, last week). The CSV needs a timestamp_utc "
            "column (interval start, ISO 8601 with Z/offset) and an energy column (kWh per "
            "interval; _wh, _kw and _w suffixes are converted)."
        ),
    )
    ev.add_argument("--history", required=True, help="CSV file with the measured history")
    ev.add_argument("--column", help="energy column (default: detected, e.g. import_kwh)")
    ev.add_argument("--tz", default="Europe/Brussels", help="local time zone of the household")
    ev.add_argument(
        "--country", default="BE", help="public-holiday calendar: BE, NL, DE, SE or 'none'"
    )
    ev.add_argument("--horizon-hours", type=int, default=24)
    ev.add_argument("--origin-every-hours", type=int, default=6)
    ev.add_argument("--warmup-days", type=int, default=28)
    ev.add_argument("--max-origins", type=int, help="evaluate at most N evenly spread origins")
    ev.add_argument("--json", action="store_true", help="print the full result as JSON")
    ev.set_defaults(handler=_evaluate)

    pv = sub.add_parser(
        "evaluate-pv",
        help="day-ahead evaluation of the clear-sky PV fallback vs yesterday",
        description=(
            "Learn calibration and cloudiness from measurements before each midnight, forecast "
            "the next day, compare with the measurements and with yesterday's production."
        ),
    )
    pv.add_argument("--history", required=True, help="CSV with measured PV (kWh or kW column)")
    pv.add_argument("--column", help="production column (default: detected)")
    pv.add_argument("--lat", type=float, required=True)
    pv.add_argument("--lon", type=float, required=True)
    pv.add_argument("--tilt", type=float, required=True, help="degrees from horizontal")
    pv.add_argument("--azimuth", type=float, required=True, help="degrees, 180 = south")
    pv.add_argument("--kwp", type=float, default=1.0, help="installed kWp (default 1)")
    pv.add_argument("--max-origins", type=int, help="evaluate at most N evenly spread days")
    pv.add_argument("--json", action="store_true", help="print the result as JSON")
    pv.set_defaults(handler=_evaluate_pv)

    hb = sub.add_parser(
        "ev-habits",
        help="learn plug-in / departure / energy habits per vehicle and weekday",
        description=(
            "Sessions CSV with a vehicle column (vehicle_id, user_id, card or charge point), "
            "plug-in and plug-out times and energy_kwh. Times without an offset are read in --tz."
        ),
    )
    hb.add_argument("--sessions", required=True, help="CSV file with charging sessions")
    hb.add_argument("--tz", default="Europe/Brussels", help="local time zone of the vehicles")
    hb.add_argument("--vehicle", help="only this vehicle id")
    hb.add_argument("--top", type=int, default=3, help="vehicles with most sessions (default 3)")
    hb.add_argument("--json", action="store_true", help="print the result as JSON")
    hb.set_defaults(handler=_ev_habits)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from hems_core.cli import CliError

    from .errors import ForecastError
    from .evaluate import EvaluationOptions, evaluate_load_forecast
    from .history import read_energy_csv
    from .load import LoadForecastConfig
    from .timegrid import to_quarter_grid

    country = None if args.country.lower() == "none" else args.country.upper()
    try:
        hist = read_energy_csv(args.history, args.column)
        g0, grid = to_quarter_grid(hist.epochs, hist.energy_kwh, interval_s=hist.interval_s)
        opts = EvaluationOptions(
            horizon_hours=args.horizon_hours,
            origin_every_hours=args.origin_every_hours,
            warmup_days=args.warmup_days,
            max_origins=args.max_origins,
            tz=args.tz,
            config=LoadForecastConfig(country=country),
        )
        result = evaluate_load_forecast(g0, grid, opts)
    except ForecastError as err:
        raise CliError(str(err)) from err
    result = {
        "history": {
            "path": hist.path,
            "column": hist.column,
            "interval_minutes": hist.interval_s // 60,
            "rows": int(hist.epochs.size),
        },
        **result,
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    s = result["summary_24h"]
    print(f"history   {hist.path} [{hist.column}], {result['origins']} origins")
    print(f"24 h      {'model':>10} {'yesterday':>10} {'last_week':>10}   (kWh per 15 min)")
    for metric in ("mae", "rmse", "pinball_p50", "pinball_p90"):
        row = s[metric]
        print(
            f"{metric:<10}"
            + "".join(f"{row[m]:>11.5f}" if row[m] is not None else f"{'-':>11}" for m in row)
        )
    print(f"P90 coverage {s['p90_coverage']}")
    return 0


def _evaluate_pv(args: argparse.Namespace) -> int:
    from hems_core.cli import CliError

    from .errors import ForecastError
    from .evaluate import evaluate_pv_fallback
    from .history import read_energy_csv
    from .pv import ClearSkyPv
    from .timegrid import to_quarter_grid

    try:
        model = ClearSkyPv(args.lat, args.lon, args.tilt, args.azimuth, args.kwp)
        hist = read_energy_csv(args.history, args.column)
        g0, grid = to_quarter_grid(hist.epochs, hist.energy_kwh, interval_s=hist.interval_s)
        result = evaluate_pv_fallback(
            g0, grid, model, interval_s=max(hist.interval_s, 900), max_origins=args.max_origins
        )
    except ForecastError as err:
        raise CliError(str(err)) from err
    result = {"history": {"path": hist.path, "column": hist.column}, **result}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    s = result["summary_24h"]
    print(f"history   {hist.path} [{hist.column}], {result['origins']} days ({result['unit']})")
    print(f"MAE       model {s['mae']['model']}  yesterday {s['mae']['yesterday']}")
    print(f"RMSE      model {s['rmse']['model']}  yesterday {s['rmse']['yesterday']}")
    print(f"daily energy within P10-P90: {s['daily_energy_in_p10_p90']}")
    return 0


def _ev_habits(args: argparse.Namespace) -> int:
    from hems_core.cli import CliError

    from .errors import ForecastError
    from .ev import learn_habits, read_sessions_csv

    try:
        sessions = read_sessions_csv(args.sessions, tz=args.tz)
    except ForecastError as err:
        raise CliError(str(err)) from err
    by_vehicle: dict[str, list[Any]] = {}
    for s in sessions:
        by_vehicle.setdefault(s.vehicle_id, []).append(s)
    if args.vehicle is not None:
        if args.vehicle not in by_vehicle:
            raise CliError(f"no sessions for vehicle {args.vehicle!r}")
        chosen = [args.vehicle]
    else:
        chosen = sorted(by_vehicle, key=lambda v: -len(by_vehicle[v]))[: max(args.top, 1)]
    out = {v: learn_habits(by_vehicle[v], tz=args.tz).as_dict() for v in chosen}
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for v, habits in out.items():
        print(f"vehicle {v}: {habits['sessions']} sessions")
        for day in habits["weekdays"]:
            print(
                f"  {day['weekday']:<9} plug-in {day['plug_in'] or '-':>5}  "
                f"departure {day['departure'] or '-':>5}  "
                f"energy {day['energy_kwh_p50'] if day['energy_kwh_p50'] is not None else '-':>6} "
                f"kWh  confidence {day['confidence']:.2f}"
            )
    return 0
