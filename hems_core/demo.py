"""``hems demo``: plan one simulated day for a V2H home and say what it would do and cost.

The demo runs every strategy on the same scenario and prints them side by side, so the value of
planning is visible at a glance. It grows with the project: today it compares charging on plug-in
with charging in the cheapest quarters before departure.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .scenario import FloatArray, Scenario, ScenarioError, load_scenario

DT_H = 0.25
DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "nl_v2h_home"


@dataclass(frozen=True)
class Outcome:
    """What a strategy's EV schedule does to the household's bill over the window."""

    strategy: str
    cost_eur: float
    import_kwh: float
    export_kwh: float
    ev_charged_kwh: float
    ev_discharged_kwh: float
    ev_soc_at_departure: float
    grid_peak_kw: float
    cheapest_step: str
    first_charge: str | None


def _steps_before_departure(sc: Scenario) -> int:
    seconds = (sc.ev.departure - sc.start).total_seconds()
    return max(0, min(sc.steps, int(seconds // (DT_H * 3600))))


def _energy_needed_kwh(sc: Scenario) -> float:
    """Grid-side kWh to bring the car from its SoC to the target."""
    return max(0.0, (sc.ev.target_soc - sc.ev.soc) * sc.ev.capacity_kwh / sc.ev.efficiency)


def plan_plug_and_charge(sc: Scenario) -> FloatArray:
    """Charge at full power from plug-in until the target is reached (what a dumb box does)."""
    power = np.zeros(sc.steps)
    remaining = _energy_needed_kwh(sc)
    for i in range(_steps_before_departure(sc)):
        step_kwh = min(remaining, sc.ev.max_charge_kw * DT_H)
        power[i] = step_kwh / DT_H
        remaining -= step_kwh
    return power


def plan_cheapest_quarters(sc: Scenario) -> FloatArray:
    """Charge in the cheapest quarters before departure (price-aware smart charging)."""
    power = np.zeros(sc.steps)
    remaining = _energy_needed_kwh(sc)
    n = _steps_before_departure(sc)
    for i in np.argsort(sc.import_eur_kwh[:n], kind="stable"):
        if remaining <= 0:
            break
        step_kwh = min(remaining, sc.ev.max_charge_kw * DT_H)
        power[i] = step_kwh / DT_H
        remaining -= step_kwh
    return power


def evaluate(sc: Scenario, strategy: str, ev_kw: FloatArray) -> Outcome:
    """Cost and energy flows of an EV schedule (+ charges, - discharges) against the house."""
    grid = sc.load_kw - sc.pv_kw + ev_kw
    imp = np.clip(grid, 0.0, None)
    exp = np.clip(-grid, 0.0, None)
    cost = float(np.sum(imp * sc.import_eur_kwh - exp * sc.export_eur_kwh) * DT_H)
    charged = float(np.sum(np.clip(ev_kw, 0, None)) * DT_H)
    discharged = float(np.sum(np.clip(-ev_kw, 0, None)) * DT_H)
    n = _steps_before_departure(sc)
    battery_in = float(np.sum(np.clip(ev_kw[:n], 0, None)) * DT_H) * sc.ev.efficiency
    battery_out = float(np.sum(np.clip(-ev_kw[:n], 0, None)) * DT_H) / sc.ev.efficiency
    soc = sc.ev.soc + (battery_in - battery_out) / sc.ev.capacity_kwh
    times = sc.times()
    charging = np.flatnonzero(ev_kw > 1e-9)
    local = sc.timezone
    return Outcome(
        strategy=strategy,
        cost_eur=round(cost, 4),
        import_kwh=round(float(np.sum(imp) * DT_H), 3),
        export_kwh=round(float(np.sum(exp) * DT_H), 3),
        ev_charged_kwh=round(charged, 3),
        ev_discharged_kwh=round(discharged, 3),
        ev_soc_at_departure=round(soc, 4),
        grid_peak_kw=round(float(np.max(imp)), 3),
        cheapest_step=times[int(np.argmin(sc.import_eur_kwh))].astimezone(local).isoformat(),
        first_charge=(
            times[int(charging[0])].astimezone(local).isoformat() if charging.size else None
        ),
    )


def run_demo(scenario: Path) -> dict[str, Any]:
    """Plan the scenario with every strategy; return a JSON-ready summary."""
    sc = load_scenario(scenario)
    outcomes = [
        evaluate(sc, "plug_and_charge", plan_plug_and_charge(sc)),
        evaluate(sc, "cheapest_quarters", plan_cheapest_quarters(sc)),
    ]
    base = outcomes[0].cost_eur
    return {
        "scenario": sc.name,
        "start": sc.start.astimezone(sc.timezone).isoformat(),
        "steps": sc.steps,
        "departure": sc.ev.departure.astimezone(sc.timezone).isoformat(),
        "strategies": [asdict(o) | {"saving_eur": round(base - o.cost_eur, 4)} for o in outcomes],
    }


def _print_table(summary: dict[str, Any]) -> None:
    print(f"{summary['scenario']}: {summary['steps']} quarters from {summary['start']}")
    print(f"car leaves {summary['departure']}")
    print(
        f"{'strategy':<20}{'cost €':>9}{'saving €':>10}{'import kWh':>12}{'SoC out':>9}"
        "  first charge"
    )
    for s in summary["strategies"]:
        print(
            f"{s['strategy']:<20}{s['cost_eur']:>9.2f}{s['saving_eur']:>10.2f}"
            f"{s['import_kwh']:>12.1f}{s['ev_soc_at_departure']:>9.0%}  {s['first_charge']}"
        )


def _handle(args: argparse.Namespace) -> int:
    from .cli import CliError

    try:
        summary = run_demo(Path(args.scenario))
    except ScenarioError as err:
        raise CliError(str(err)) from err
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_table(summary)
    return 0


def register(sub: Any) -> None:
    """Add ``hems demo`` to the CLI."""
    parser = sub.add_parser("demo", help="plan one simulated day and print the result")
    parser.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario folder or YAML")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=_handle)
