"""Read-outs of the accepted plan and the cars' departures for the UI (no decisions here).

Everything is a pure function of an :class:`~hems_core.control.planning.ActivePlan` (or a
car's state) and a time, so Home Assistant, the demo and the tests read the same numbers:

- :func:`planned_power_w`: an asset's planned power in the step running now and the next one;
- :func:`next_action`: the first step from now where some asset's setpoint changes, with the
  plan's reason for that step;
- :func:`day_costs`: the plan's grid energy cost per local day (today = from now to midnight);
- :func:`savings_vs_plug_in`: what charging every car at full power from the moment it is
  plugged in would cost more than the plan, over the plan's horizon;
- :func:`departure_state`: ``reached`` / ``on_track`` / ``at_risk`` for a car's next departure,
  by the same test the departure rule uses to force full power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .planning import ActivePlan

#: A setpoint change smaller than this (W) is no "action".
ACTION_W = 300.0
ON_TRACK = "on_track"
AT_RISK = "at_risk"
REACHED = "reached"
DEPARTURE_STATES = (ON_TRACK, AT_RISK, REACHED)


def planned_power_w(plan: ActivePlan | None, name: str, t_s: float) -> tuple[float | None, ...]:
    """(now, next step) planned power of ``name`` in W; None where the plan does not reach."""
    if plan is None:
        return (None, None)
    k = plan.step_at(t_s)
    if k is None:
        return (None, None)
    out: list[float | None] = []
    for j in (k, k + 1):
        st = plan.asset_step(name, j) if j < len(plan.edges) - 1 else None
        out.append(None if st is None else round(st.power_w, 1))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NextAction:
    """When the plan next changes a setpoint, what to and why."""

    at: datetime
    device: str
    power_w: float
    reason: str


def next_action(plan: ActivePlan | None, t_s: float) -> NextAction | None:
    """The first later step where an asset's planned power moves by ``ACTION_W`` or more."""
    if plan is None:
        return None
    k = plan.step_at(t_s)
    if k is None:
        return None
    p = plan.plan
    n = len(p.step_start)
    for j in range(k + 1, n):
        for a in p.assets:
            before, now = a.power_kw[j - 1] * 1000.0, a.power_kw[j] * 1000.0
            if abs(now - before) >= ACTION_W:
                reason = p.reasons[j] if j < len(p.reasons) else ""
                at = datetime.fromtimestamp(plan.edges[j], UTC)
                return NextAction(at, a.name, round(now, 1), reason)
    return None


def _step_cost(grid_kw: float, imp: float, exp: float, dt_h: float) -> float:
    return (max(grid_kw, 0.0) * imp - max(-grid_kw, 0.0) * exp) * dt_h


def _grid_kw(plan: ActivePlan) -> list[float]:
    p = plan.plan
    return [i - e for i, e in zip(p.grid_import_kw, p.grid_export_kw, strict=True)]


@dataclass(frozen=True, slots=True)
class DayCost:
    """The plan's grid energy cost (currency of the prices) over ``hours`` of one local day."""

    day: date
    cost: float
    hours: float
    complete: bool


def day_costs(
    plan: ActivePlan | None, t_s: float, tz: str
) -> tuple[DayCost | None, DayCost | None]:
    """(today, tomorrow): the planned grid energy cost from ``t_s`` on, per local day.

    Import energy times the import price minus export energy times the export price, step by
    step (the partial running quarter pro rata); capacity and wear costs are not included.
    Today's figure covers what is left of today; ``complete`` says whether the plan reaches
    the day's end. None for a day the plan does not touch.
    """
    if plan is None or plan.step_at(t_s) is None:
        return (None, None)
    zone = ZoneInfo(tz)
    today = datetime.fromtimestamp(t_s, zone).date()
    bounds = {}
    for d in (today, today + timedelta(days=1)):
        start = datetime.combine(d, datetime.min.time(), zone).timestamp()
        end = datetime.combine(d + timedelta(days=1), datetime.min.time(), zone).timestamp()
        bounds[d] = (max(start, t_s), end)
    p = plan.plan
    grid = _grid_kw(plan)
    out: list[DayCost | None] = []
    for d, (lo, hi) in bounds.items():
        cost, hours = 0.0, 0.0
        for k in range(len(grid)):
            a, b = max(plan.edges[k], lo), min(plan.edges[k + 1], hi)
            if b <= a:
                continue
            dt_h = (b - a) / 3600.0
            cost += _step_cost(grid[k], p.import_price[k], p.export_price[k], dt_h)
            hours += dt_h
        if hours <= 0:
            out.append(None)
            continue
        out.append(DayCost(d, round(cost, 4), round(hours, 2), plan.end_s >= hi - 1.0))
    return (out[0], out[1])


def savings_vs_plug_in(
    plan: ActivePlan | None, t_s: float, max_charge_kw: dict[str, float]
) -> float | None:
    """Plan cost saved against charging each car at full power from plug-in, from ``t_s`` on.

    The baseline gives every car, in each stretch it is plugged in (``available``), the net
    energy the plan gives it in that stretch, at ``max_charge_kw`` from the stretch's first
    step, never discharging; the rest of the house (load, PV, home battery) is as planned.
    Both sides are priced like :func:`day_costs`. None without a plan covering now.
    """
    if plan is None:
        return None
    k0 = plan.step_at(t_s)
    if k0 is None:
        return None
    p = plan.plan
    grid = _grid_kw(plan)
    n = len(grid)
    # hours of each step from t_s on (the running step pro rata, earlier steps 0)
    dt = [max(0.0, plan.edges[k + 1] - max(plan.edges[k], t_s)) / 3600.0 for k in range(n)]
    base = list(grid)
    for a in p.assets:
        cap = max_charge_kw.get(a.name)
        if cap is None or a.kind != "ev":
            continue
        k = k0
        while k < n:
            if not a.available[k]:
                k += 1
                continue
            j = k
            while j < n and a.available[j]:
                j += 1
            need = sum(a.power_kw[i] * dt[i] for i in range(k, j))
            for i in range(k, j):
                take = min(cap, max(need, 0.0) / dt[i]) if dt[i] > 0 else 0.0
                need -= take * dt[i]
                base[i] += take - a.power_kw[i]
            k = j
    planned = sum(
        _step_cost(grid[k], p.import_price[k], p.export_price[k], dt[k]) for k in range(k0, n)
    )
    baseline = sum(
        _step_cost(base[k], p.import_price[k], p.export_price[k], dt[k]) for k in range(k0, n)
    )
    return round(baseline - planned, 4)


def departure_state(
    soc: float, target: float, at_s: float, t_s: float, *, capacity_kwh: float,
    max_charge_w: float, charge_efficiency: float, margin_h: float,
) -> str:  # fmt: skip
    """``reached``, ``at_risk`` (full power from now only just makes it, or not even that) or
    ``on_track`` — the departure rule's own test (``rules.soc_rules``)."""
    if soc >= target - 0.005:
        return REACHED
    need_kwh = (target - soc) * capacity_kwh / max(charge_efficiency, 1e-6)
    hours_needed = need_kwh / max(max_charge_w / 1000.0, 1e-6)
    hours_left = (at_s - t_s) / 3600.0
    if not math.isfinite(hours_left) or hours_left <= hours_needed + margin_h:
        return AT_RISK
    return ON_TRACK


def reachable_soc(
    soc: float, at_s: float, t_s: float, *, capacity_kwh: float, max_charge_w: float,
    charge_efficiency: float, max_soc: float = 1.0,
) -> float:  # fmt: skip
    """The SoC full power from now reaches by ``at_s`` (what an at-risk notice can promise)."""
    hours = max(0.0, (at_s - t_s) / 3600.0)
    gain = max_charge_w / 1000.0 * hours * charge_efficiency / max(capacity_kwh, 1e-6)
    return min(max_soc, soc + gain)
