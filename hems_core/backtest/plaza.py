"""Charging plazas after the ElaadNL V2V case study (woon / werk / bestemming).

The study's method, reproduced in structure: sessions with known arrival, departure and
requested energy (perfect foresight), 15-minute steps, every car between −11 and +11 kW, a
car never holds less energy than at arrival, the site never exports (V2V only moves energy
between cars), no losses. Two studies:

- **peak**: minimise the evening peak 17:00–23:00; baselines cap each car at 4 kW or 0 kW in
  the window "unless more power is needed to meet the energy demand";
- **price**: minimise the day-ahead cost; the same 4 kW / 0 kW caps all day.

``regular`` (dumb) charges at full power from arrival. ``smart`` is the optimiser without
discharge, ``v2v`` with it. The worked example (car A 12–16 h needs 22 kWh, car B 14–15 h needs
11 kWh, €0.60/kWh 14–15 h and €0.30 otherwise) gives €13.20 without V2V and €9.90 with it.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import yaml

from ..timegrid import STEP_S
from .oracle import _Lp
from .scenario import FloatArray, ScenarioError, read_series

npt_bool = npt.NDArray[np.bool_]  # the evening-window mask

P_MAX = 11.0
H = 0.25
WINDOW = (17, 23)


@dataclass(frozen=True)
class PlazaSession:
    """Arrival and departure as quarter indices (plugged in [a, d)) and the energy wanted."""

    a: int
    d: int
    kwh: float


def feasible(sessions: list[PlazaSession]) -> list[PlazaSession]:
    """Requested energy capped at what 11 kW can deliver while plugged."""
    return [PlazaSession(s.a, s.d, min(s.kwh, P_MAX * H * (s.d - s.a))) for s in sessions]


def regular(sessions: list[PlazaSession], n: int, cap_kw: float | None = None,
            capped: npt_bool | None = None) -> FloatArray:  # fmt: skip
    """Per-session power (rows) of rule-based charging: full power, or capped where ``capped``.

    The cap never stops a car from reaching its energy: in a capped step it charges at least
    what is still missing after full power in the uncapped steps left, spread evenly over the
    capped steps left (the least power that meets the demand, so the baseline is not a strawman
    that piles every car up at the end of the window).
    """
    p = np.zeros((len(sessions), n))
    for k, s in enumerate(sessions):
        left = s.kwh
        for t in range(s.a, s.d):
            if left <= 1e-9:
                break
            lim = P_MAX
            if cap_kw is not None and capped is not None and capped[t]:
                c = int(np.sum(capped[t : s.d]))
                u = (s.d - t) - c
                need = max(0.0, left - P_MAX * H * u) / (H * c)
                lim = max(cap_kw, need)
            w = min(P_MAX, lim, left / H)
            p[k, t] = w
            left -= w * H
    return p


def optimise(
    sessions: list[PlazaSession], n: int, price: FloatArray, *, v2v: bool,
    window: npt_bool | None = None,
) -> FloatArray:  # fmt: skip
    """The optimiser: min cost (``window`` None) or min evening peak (tie-break on cost)."""
    lp = _Lp()
    eps = 1e-3 if window is not None else 1.0
    grid_terms: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    chs, diss = [], []
    for s in sessions:
        m = s.d - s.a
        ch = lp.var(m, eps * price[s.a : s.d] * H, 0.0, P_MAX)
        dis = lp.var(m, -eps * price[s.a : s.d] * H + 1e-6, 0.0, P_MAX if v2v else 0.0)
        chs.append(ch)
        diss.append(dis)
        # energy above arrival: cumulative (ch - dis) >= 0 at every step, = kwh at the end
        for j in range(m):
            terms = [(ch[i], H) for i in range(j + 1)] + [(dis[i], -H) for i in range(j + 1)]
            lo = s.kwh if j == m - 1 else 0.0
            lp.row(terms, lo, s.kwh if j == m - 1 else np.inf)
            grid_terms[s.a + j] += [(ch[j], 1.0), (dis[j], -1.0)]
    peak = lp.var(1, 1.0 if window is not None else 0.0)
    for t in range(n):
        if grid_terms[t]:
            lp.row(grid_terms[t], 0.0, np.inf)  # the site never exports
            if window is not None and window[t]:
                lp.row([(int(peak[0]), 1.0)] + [(c, -v) for c, v in grid_terms[t]], 0.0, np.inf)
    x = lp.solve()
    p = np.zeros((len(sessions), n))
    for k, s in enumerate(sessions):
        p[k, s.a : s.d] = x[chs[k]] - x[diss[k]]
    return p


def _kpi(p: FloatArray, price: FloatArray, window: npt_bool) -> dict[str, float]:
    grid = p.sum(axis=0)
    signs = np.sign(np.where(np.abs(p) > 0.05, p, 0.0))
    switches = 0
    for row in signs:
        nz = row[row != 0]
        switches += int(np.sum(nz[1:] != nz[:-1]))
    return {
        "energy_cost": round(float(np.sum(np.maximum(grid, 0) * price) * H), 3),
        "peak_kw": round(float(np.max(grid)), 3),
        "evening_peak_kw": round(float(np.max(grid[window])) if window.any() else 0.0, 3),
        "discharged_kwh": round(float(np.sum(np.maximum(-p, 0)) * H), 3),
        "switches": switches,
    }


def study(sessions: list[PlazaSession], price: FloatArray, window: npt_bool) -> dict[str, Any]:
    """Peak and price study of one plaza: KPIs per controller (peak from the peak study)."""
    n = price.shape[0]
    sessions = feasible(sessions)
    everywhere = np.ones(n, dtype=bool)
    runs = {
        "dumb": (regular(sessions, n), regular(sessions, n)),
        "grid_aware_4kw": (regular(sessions, n, 4.0, window),
                           regular(sessions, n, 4.0, everywhere)),
        "grid_aware_0kw": (regular(sessions, n, 0.0, window),
                           regular(sessions, n, 0.0, everywhere)),
        "smart_no_v2v": (optimise(sessions, n, price, v2v=False, window=window),
                         optimise(sessions, n, price, v2v=False)),
        "v2v": (optimise(sessions, n, price, v2v=True, window=window),
                optimise(sessions, n, price, v2v=True)),
    }  # fmt: skip
    out: dict[str, Any] = {}
    for name, (peak_p, price_p) in runs.items():
        pk = _kpi(peak_p, price, window)
        cost = _kpi(price_p, price, window)
        out[name] = {
            "total_cost": cost["energy_cost"], "energy_cost": cost["energy_cost"],
            "capacity_cost": 0.0, "wear_cost": 0.0, "peak_kw": pk["peak_kw"],
            "evening_peak_kw": pk["evening_peak_kw"], "shortfall_kwh": 0.0,
            "switches": cost["switches"], "ev_cycles": None,
            "exported_stored_kwh": 0.0, "v2v_kwh": cost["discharged_kwh"],
            "plan_ms_median": None,
        }  # fmt: skip
    base = out["dumb"]
    for rec in out.values():
        bp, bc = base["evening_peak_kw"], base["energy_cost"]
        rec["evening_peak_change"] = round(rec["evening_peak_kw"] / bp - 1, 4) if bp else None
        rec["cost_change"] = round(rec["energy_cost"] / bc - 1, 4) if bc else None
    return out


def worked_example() -> dict[str, float]:
    """The study's two-car example: €13.20 without V2V, €9.90 with it."""
    price = np.full(16, 0.30)  # 12:00–16:00 in quarters
    price[8:12] = 0.60
    sessions = [PlazaSession(0, 16, 22.0), PlazaSession(8, 12, 11.0)]
    no = optimise(sessions, 16, price, v2v=False)
    yes = optimise(sessions, 16, price, v2v=True)
    return {
        "without_v2v_eur": round(float(np.sum(np.maximum(no.sum(axis=0), 0) * price) * H), 2),
        "with_v2v_eur": round(float(np.sum(np.maximum(yes.sum(axis=0), 0) * price) * H), 2),
    }


def load_plaza(path: Path) -> dict[str, Any]:
    """Run a plaza scenario (``kind: plaza``): every profile's study plus the worked example."""
    if path.is_dir():
        path = path / "scenario.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ScenarioError(f"{path}: {err}") from err
    folder = path.parent
    tz = ZoneInfo(str(data.get("timezone", "Europe/Amsterdam")))
    stamps, vals = read_series(folder / str(data["prices"]), ("price_eur_mwh",))
    t0 = int(stamps[0])
    n = stamps.shape[0]
    price = vals[0] / 1000.0 * float(data.get("price_factor", 1.0)) + float(
        data.get("price_adder", 0.0)
    )
    hours = np.array([datetime.fromtimestamp(int(s), UTC).astimezone(tz).hour for s in stamps])
    window = (hours >= WINDOW[0]) & (hours < WINDOW[1])
    profiles: dict[str, list[PlazaSession]] = {}
    with (folder / str(data["sessions"])).open(newline="") as handle:
        for i, row in enumerate(csv.DictReader(handle), start=2):
            try:
                a = int(
                    datetime.fromisoformat(row["arrive_utc"].replace("Z", "+00:00")).timestamp()
                )
                d = int(
                    datetime.fromisoformat(row["depart_utc"].replace("Z", "+00:00")).timestamp()
                )
                kwh = float(row["energy_kwh"])
            except (KeyError, ValueError) as err:
                raise ScenarioError(f"{folder / data['sessions']}:{i}: {err}") from err
            qa = max(0, math.ceil((a - t0) / STEP_S))
            qd = min(n, (d - t0) // STEP_S)
            if qd > qa and kwh > 0:
                profiles.setdefault(row["profile"], []).append(PlazaSession(qa, qd, kwh))
    controllers: dict[str, Any] = {}
    for prof in sorted(profiles):
        for name, rec in study(profiles[prof], price, window).items():
            controllers[f"{prof}/{name}"] = rec
    return {
        "scenario": str(data.get("name", folder.name)),
        "days": n // 96,
        "controllers": controllers,
        "oracle": None,
        "worked_example": worked_example(),
        "home_days_per_s": None,
    }
