"""``hems demo``: plan one simulated day for a V2H home and say what it would do and cost.

The demo runs every strategy on the same scenario and prints them side by side, so the value of
planning is visible at a glance: charging on plug-in, charging in the cheapest quarters before
departure, the model-predictive plan without discharge, and the model-predictive plan with V2H
(the car powers the house in expensive quarters and refills in cheap ones, net of losses and wear).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .scenario import FloatArray, Scenario, ScenarioError, Window, load_window
from .timegrid import STEP

if TYPE_CHECKING:
    from .optimize import Plan

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


def _steps_before_departure(sc: Window) -> int:
    seconds = (sc.ev.departure - sc.start).total_seconds()
    return max(0, min(sc.steps, int(seconds // (DT_H * 3600))))


def _energy_needed_kwh(sc: Window) -> float:
    """Grid-side kWh to bring the car from its SoC to the target."""
    return max(0.0, (sc.ev.target_soc - sc.ev.soc) * sc.ev.capacity_kwh / sc.ev.efficiency)


def plan_plug_and_charge(sc: Window) -> FloatArray:
    """Charge at full power from plug-in until the target is reached (what a dumb box does)."""
    power = np.zeros(sc.steps)
    remaining = _energy_needed_kwh(sc)
    for i in range(_steps_before_departure(sc)):
        step_kwh = min(remaining, sc.ev.max_charge_kw * DT_H)
        power[i] = step_kwh / DT_H
        remaining -= step_kwh
    return power


def plan_cheapest_quarters(sc: Window) -> FloatArray:
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


def plan_mpc(
    sc: Window | Scenario, *, v2h: bool = True, backend: str | None = None
) -> tuple[FloatArray, Plan]:
    """The model-predictive plan over prices, PV, load and battery wear (V2H if allowed).

    A whole :class:`Scenario` is planned over its window (24 h from start by default).
    """
    if isinstance(sc, Scenario):
        sc = sc.window()
    from .model import Chemistry, Ev, Grid, Pv, Site, Trip, WearModel
    from .optimize import Inputs, State, solve

    power_kw = max(sc.ev.max_charge_kw, sc.ev.max_discharge_kw)
    ev = Ev(
        name=sc.ev.name,
        capacity_kwh=sc.ev.capacity_kwh,
        max_charge_kw=sc.ev.max_charge_kw,
        max_discharge_kw=sc.ev.max_discharge_kw if v2h else 0.0,
        charge_efficiency=sc.ev.efficiency,
        discharge_efficiency=sc.ev.efficiency,
        bidirectional=v2h and sc.ev.max_discharge_kw > 0,
        min_soc=sc.ev.min_soc,
        chemistry=Chemistry.NMC,
        wear=WearModel.for_chemistry(Chemistry.NMC, max_power_kw=power_kw),
        trips=(
            Trip(
                depart=sc.ev.departure,
                arrive=sc.start + sc.steps * STEP + STEP,
                target_soc=sc.ev.target_soc,
            ),
        ),
    )
    site = Site(
        grid=Grid(import_limit_kw=sc.grid_import_kw, export_limit_kw=sc.grid_export_kw),
        evs=(ev,),
        pv=Pv(peak_kw=max(float(np.max(sc.pv_kw)), 0.1)),
    )
    inputs = Inputs(
        start=sc.start,
        import_price=sc.import_eur_kwh,
        export_price=sc.export_eur_kwh,
        load_kw=sc.load_kw,
        pv_kw=sc.pv_kw,
    )
    state = State(ev_soc={ev.name: sc.ev.soc}, ev_plugged={ev.name: True})
    plan = solve(site, inputs, state, backend=backend)
    return np.asarray(plan.asset(ev.name).power_kw, dtype=np.float64), plan


def evaluate(sc: Window, strategy: str, ev_kw: FloatArray) -> Outcome:
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
    sc = load_window(scenario)
    smart_kw, smart_plan = plan_mpc(sc, v2h=False)
    v2h_kw, v2h_plan = plan_mpc(sc, v2h=True)
    outcomes = [
        evaluate(sc, "plug_and_charge", plan_plug_and_charge(sc)),
        evaluate(sc, "cheapest_quarters", plan_cheapest_quarters(sc)),
        evaluate(sc, "mpc_charge_only", smart_kw),
        evaluate(sc, "mpc_v2h", v2h_kw),
    ]
    base = outcomes[0].cost_eur
    wear = {
        "mpc_charge_only": _wear_eur(smart_plan),
        "mpc_v2h": _wear_eur(v2h_plan),
    }
    return {
        "scenario": sc.name,
        "start": sc.start.astimezone(sc.timezone).isoformat(),
        "steps": sc.steps,
        "departure": sc.ev.departure.astimezone(sc.timezone).isoformat(),
        "strategies": [
            asdict(o)
            | {"saving_eur": round(base - o.cost_eur, 4), "wear_eur": wear.get(o.strategy)}
            for o in outcomes
        ],
        "solver": {
            "backend": v2h_plan.stats.backend,
            "solve_ms": round(v2h_plan.stats.solve_time_s * 1000, 2),
        },
        "v2h_reasons": _reason_summary(v2h_plan),
    }


def _wear_eur(plan: Plan) -> float:
    """Battery-wear cost the planner charged itself for (it weighs this against savings)."""
    c = plan.costs
    return round(c.wear_throughput + c.wear_dod + c.wear_quadratic + c.wear_calendar, 4)


def _reason_summary(plan: Plan) -> dict[str, int]:
    """How many quarters each planner reason explains (e.g. "expensive import": 12)."""
    counts: dict[str, int] = {}
    for reason in plan.reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _print_table(summary: dict[str, Any]) -> None:
    print(f"{summary['scenario']}: {summary['steps']} quarters from {summary['start']}")
    print(f"car leaves {summary['departure']}")
    print(
        f"{'strategy':<18}{'cost €':>8}{'saving €':>10}{'wear €':>8}{'import kWh':>12}"
        f"{'V2H kWh':>9}{'SoC out':>9}  first charge"
    )
    for s in summary["strategies"]:
        wear = "" if s["wear_eur"] is None else f"{s['wear_eur']:.2f}"
        print(
            f"{s['strategy']:<18}{s['cost_eur']:>8.2f}{s['saving_eur']:>10.2f}{wear:>8}"
            f"{s['import_kwh']:>12.1f}{s['ev_discharged_kwh']:>9.1f}"
            f"{s['ev_soc_at_departure']:>9.0%}  {s['first_charge']}"
        )
    solver = summary["solver"]
    print(f"V2H plan solved by {solver['backend']} in {solver['solve_ms']} ms")


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
