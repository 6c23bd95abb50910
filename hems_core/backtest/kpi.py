"""KPIs of one backtest run, all measured on the home's meters (never on a plan's promise).

Costs are what the bill says: energy (import × all-in price − export × feed-in price per
quarter), capacity (each local month touched is billed in full: Flemish monthly peak with its
floor, or the Swedish mean of the top daily hourly peaks), and battery wear measured by the
same model for every controller (throughput cost + calendar ageing, per chemistry defaults).
Energy left in storage at the end (versus the start) is credited at the period's median import
price (``storage_credit``), so no controller looks cheap by emptying the car on the last day.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..scenario import Scenario
from ..timegrid import STEP_S
from .home import Home


def _local(sc: Scenario, n: int) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    zone = ZoneInfo(sc.tz)
    months, days, hours = [], [], []
    for q in range(n):
        lt = datetime.fromtimestamp(sc.start_s + q * STEP_S, UTC).astimezone(zone)
        months.append((lt.year, lt.month))
        days.append(lt.toordinal())
        hours.append(lt.hour)
    return months, days, hours


def capacity_cost(sc: Scenario, import_kwh: np.ndarray[Any, Any]) -> float:
    """The capacity-tariff part of the bill for the metered quarters."""
    cap = sc.capacity
    if cap is None:
        return 0.0
    n = import_kwh.shape[0]
    months, days, hours = _local(sc, n)
    kw = import_kwh * 4.0
    total = 0.0
    for m in sorted(set(months)):
        idx = [i for i in range(n) if months[i] == m]
        if cap.kind == "monthly_peak":
            total += max(cap.floor_kw, float(np.max(kw[idx]))) * cap.eur_per_kw_month
            continue
        daily: dict[int, float] = {}
        for h0 in range(0, len(idx) - 3, 4):
            block = idx[h0 : h0 + 4]
            hourly = float(np.sum(import_kwh[block]))
            hr = hours[block[0]]
            night = hr >= 22 or hr < 6
            w = cap.night_weight if night else 1.0
            d = days[block[0]]
            daily[d] = max(daily.get(d, 0.0), hourly * w)
        top = sorted(daily.values(), reverse=True)[: cap.count]
        total += (sum(top) / len(top) if top else 0.0) * cap.eur_per_kw_month
    return total


def kpis(sc: Scenario, home: Home, plan_ms: list[float]) -> dict[str, Any]:
    """The KPI record of one controller (see the module docstring)."""
    m = home.meters
    n = m.import_kwh.shape[0]
    i0 = sc.index(sc.start_s)
    buy = sc.import_eur_kwh[i0 : i0 + n]
    sell = sc.export_eur_kwh[i0 : i0 + n]
    energy = float(np.sum(m.import_kwh * buy - m.export_kwh * sell))
    capacity = capacity_cost(sc, m.import_kwh)
    wear = 0.0
    cycles = 0.0
    switches = shortfalls = 0
    shortfall_kwh = 0.0
    for d in home.devices.values():
        wear += d.wear.throughput_eur_per_kwh * (d.charged_kwh + d.discharged_kwh) + d.calendar_eur
        if d.kind == "ev":
            cycles += (d.battery_in_kwh + d.battery_out_kwh) / 2.0 / d.capacity_kwh
            shortfall_kwh += d.shortfall_kwh
            shortfalls += d.shortfalls
        switches += d.switches
    from .oracle import terminal_price

    initial = {ev.name: ev.soc for ev in sc.evs}
    if sc.battery is not None:
        initial["battery"] = sc.battery.soc
    left_kwh = sum((d.soc - initial[d.name]) * d.capacity_kwh for d in home.devices.values())
    credit = terminal_price(sc) * left_kwh
    _, _, hours = _local(sc, n)
    evening = np.array([17 <= h < 23 for h in hours])
    kw = m.import_kwh * 4.0
    pv = float(np.sum(m.pv_kwh))
    exported = float(np.sum(m.export_kwh))
    return {
        "total_cost": round(energy + capacity + wear - credit, 3),
        "energy_cost": round(energy, 3),
        "capacity_cost": round(capacity, 3),
        "wear_cost": round(wear, 3),
        "storage_credit": round(credit, 3),
        "peak_kw": round(float(np.max(kw)) if n else 0.0, 3),
        "evening_peak_kw": round(float(np.max(kw[evening])) if evening.any() else 0.0, 3),
        "self_consumption": round(1.0 - (exported - float(np.sum(m.stored_export_kwh))) / pv, 4)
        if pv > 0
        else None,
        "import_kwh": round(float(np.sum(m.import_kwh)), 2),
        "export_kwh": round(exported, 2),
        "exported_stored_kwh": round(float(np.sum(m.stored_export_kwh)), 3),
        "ev_throughput_kwh": round(
            sum(d.charged_kwh + d.discharged_kwh for d in home.devices.values() if d.kind == "ev"),
            2,
        ),
        "ev_discharged_kwh": round(
            sum(d.discharged_kwh for d in home.devices.values() if d.kind == "ev"), 2
        ),
        "ev_cycles": round(cycles, 3),
        "shortfall_kwh": round(shortfall_kwh, 3),
        "shortfalls": shortfalls,
        "switches": switches,
        "plan_ms_median": round(statistics.median(plan_ms), 2) if plan_ms else 0.0,
        "grid_clipped_kwh": round(home.clipped_kwh, 3),
        "controller_errors": len(home.errors),
        "first_error": home.errors[0] if home.errors else None,
    }
