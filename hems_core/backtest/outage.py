"""``hems backtest`` on an outage scenario (``kind: outage``): one evening islanded on backup.

The grid fails and returns as the scenario's ``outage`` event says; the real
:class:`~hems_core.control.ControlCore` with its island machine, load shedding and reserves
runs at a 2-second step against the physics of :func:`hems_core.sim.outage.run_outage` (a
hybrid battery inverter forming the island behind a backup gateway, a car on a bidirectional
DC box, switchable loads that run later when shed). Two controllers are reported:

- ``mpc``: that core (plans from the real planner on grid, the island dispatch off grid);
- ``no_backup``: the same house without a backup, which is dark for the whole outage.

KPIs: blackout seconds and energy not served, energy shed (deferred, not lost), reserve
breaches, the recovery peak against the month's peak before, and the final states of charge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..scenario import ScenarioError, _stamp, read_scenario_yaml


def _num(raw: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float) -> float:
    value = raw.get(key, default)
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"{where}.{key}: expected a number, got {value!r}") from err
    if not lo <= out <= hi:
        raise ScenarioError(f"{where}.{key}: {out} not within {lo}..{hi}")
    return out


def _when(value: Any, where: str, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(_stamp(value, where), zone)


def outage_settings(path: str | Path) -> dict[str, Any]:
    """The :func:`~hems_core.sim.outage.run_outage` arguments an outage scenario describes."""
    from ..sim.outage import TZ

    yaml_path, data = read_scenario_yaml(path)
    where = str(yaml_path)
    if data.get("kind") != "outage":
        raise ScenarioError(f"{where}.kind: expected 'outage'")
    if data.get("timezone") != TZ:
        raise ScenarioError(f"{where}.timezone: the outage home is modelled in {TZ}")
    zone = ZoneInfo(TZ)
    start = _when(data.get("start"), f"{where}.start", zone)
    hours = _num(data, "hours", where, 10.0, 1.0, 48.0)
    outages = [e for e in data.get("events") or [] if isinstance(e, dict)]
    outages = [e for e in outages if e.get("kind") == "outage"]
    if len(outages) != 1:
        raise ScenarioError(f"{where}.events: expected exactly one {{kind: outage}} event")
    w = f"{where}.events[0]"
    a = _when(outages[0].get("start"), f"{w}.start", zone)
    b = _when(outages[0].get("end"), f"{w}.end", zone)
    end = start.timestamp() + hours * 3600
    if not start.timestamp() <= a.timestamp() < b.timestamp() <= end:
        raise ScenarioError(f"{w}: the outage must lie within start .. start + hours")
    if a.date() != start.date() or b.date() != start.date():
        raise ScenarioError(f"{w}: the outage must start and end on the start's local day")
    backup = data.get("backup")
    if not isinstance(backup, dict):
        raise ScenarioError(f"{where}.backup: expected a mapping (island_limit_kw, socs, ...)")
    bw = f"{where}.backup"
    return {
        "day": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "hours": hours,
        "outage": (a.strftime("%H:%M"), b.strftime("%H:%M")),
        "island_limit_w": _num(backup, "island_limit_kw", bw, 5.0, 0.5, 50.0) * 1000.0,
        "battery_soc": _num(backup, "battery_soc", bw, 0.6, 0.0, 1.0),
        "car_soc": _num(backup, "car_soc", bw, 0.7, 0.0, 1.0),
        "month_peak_kw": _num(data, "month_peak_kw", where, 6.0, 0.0, 50.0),
        "dt_s": _num(data, "step_s", where, 2.0, 0.5, 10.0),
    }


def _without_backup(day: str, outage: tuple[str, str], dt_s: float) -> dict[str, Any]:
    """The same house with no backup: every load is dark from the outage to the grid's return."""
    from datetime import timedelta

    from ..sim.outage import TZ, HouseLoads

    zone = ZoneInfo(TZ)
    d = datetime.fromisoformat(day).date()
    day0 = datetime(d.year, d.month, d.day, tzinfo=zone)

    def at(hhmm: str) -> float:
        hh, mm = (int(x) for x in hhmm.split(":"))
        return (day0 + timedelta(hours=hh, minutes=mm)).astimezone(UTC).timestamp()

    house = HouseLoads(day0.timestamp())
    a, b = at(outage[0]), at(outage[1])
    unserved = 0.0
    t = a
    while t < b:
        unserved += sum(house.demand(t, lambda _name: True, dt_s).values()) * dt_s / 3.6e6
        t += dt_s
    return {"blackout_s": round(b - a, 1), "unserved_kwh": round(unserved, 3), "shed_kwh": 0.0,
            "reserve_breaches": 0}  # fmt: skip


def run_outage_day(path: str | Path) -> dict[str, Any]:
    """The ``hems backtest --json`` document of an outage scenario."""
    import time

    from ..sim.outage import run_outage

    cfg = outage_settings(path)
    t0 = time.perf_counter()
    core = run_outage(**cfg)
    wall = time.perf_counter() - t0
    mpc = {k: core[k] for k in ("blackout_s", "unserved_kwh", "shed_kwh", "reserve_breaches")}
    mpc |= {
        "grid_exchange_while_islanded_kwh": core["grid_exchange_while_islanded_kwh"],
        "recovery_peak_kw": core["recovery_peak_kw"],
        "month_peak_kw_before": core["month_peak_kw_before"],
        "final_soc": core["final_soc"],
        "states": core["states"],
        "plans": core["plans"],
    }
    _, data = read_scenario_yaml(path)
    return {
        "scenario": str(data.get("name", Path(path).name)),
        "kind": "outage",
        "days": round(cfg["hours"] / 24.0, 3),
        "outage_h": core["outage_h"],
        "controllers": {
            "mpc": mpc,
            "no_backup": _without_backup(cfg["day"], cfg["outage"], cfg["dt_s"]),
        },
        "oracle": None,
        "home_days_per_s": round(cfg["hours"] / 24.0 / wall, 3) if wall else None,
    }
