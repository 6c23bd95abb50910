"""Charging plazas after the ElaadNL V2V case study (woon / werk / bestemming).

The study's method, reproduced in structure: sessions with known arrival, departure and
requested energy (perfect foresight), 15-minute steps, every car between −11 and +11 kW, a
car never holds less energy than at arrival, the site never exports (V2V only moves energy
between cars), no losses. Two studies:

- **peak**: minimise the evening peak 17:00–23:00 (then, at that peak, the cost);
- **price**: minimise the day-ahead cost.

Each study runs the same optimiser with the three controls the study compares, nested from the
most to the least restricted, so the ordering 4 kW ≥ 0 kW ≥ V2V follows from the physics of
the control, not from the data:

- ``grid_aware_4kw``: a car may be throttled down to 4 kW (6 A on three phases, the least
  current many cars accept: ROBUST, studies §3) but never paused until it has its energy:
  after k quarters it holds at least ``min(E, 4 kW · k · 0.25 h)`` above arrival;
- ``grid_aware_0kw``: a car may also be paused (charging postponed), never discharged;
- ``v2v``: a car may discharge down to −11 kW into the other cars.

``dumb`` (regular) charges at full power from arrival. The study's wording "4 kW / 0 kW unless
more power is needed to meet the energy demand" describes these floors; a price-blind rule
cap (``rule_cap_4kw``/``rule_cap_0kw``: at most 4 kW / 0 kW per car in the window, least power
that still meets the demand) is kept for comparison but is not the study's baseline: its cost
does not move with prices (it came out above ``dumb`` for *bestemming*, where the study
reports −8 % / −17 %). The worked example (car A 12–16 h needs 22 kWh, car B 14–15 h needs
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

from ..scenario import FloatArray, ScenarioError, read_series
from ..timegrid import STEP_S
from .oracle import _Lp

npt_bool = npt.NDArray[np.bool_]  # the evening-window mask

P_MAX = 11.0
FLOOR_KW = 4.0  # 6 A on three phases
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
    window: npt_bool | None = None, floor_kw: float = 0.0,
) -> FloatArray:  # fmt: skip
    """The optimiser: min cost (``window`` None), or min evening peak and then min cost.

    ``floor_kw`` > 0: no pausing below that power until the car has its energy (see the
    module docstring); ``v2v``: discharge allowed (then the floor must be 0).
    """
    if window is None:
        return _solve(sessions, n, price, v2v=v2v, floor_kw=floor_kw, peak=None)
    first = _solve(sessions, n, price, v2v=v2v, floor_kw=floor_kw, peak=(window, None))
    best = float(np.max(first.sum(axis=0)[window])) if window.any() else 0.0
    cap = best * (1.0 + 1e-7) + 1e-6  # lexicographic: the least peak, then the least cost
    return _solve(sessions, n, price, v2v=v2v, floor_kw=floor_kw, peak=(window, cap))


def _solve(
    sessions: list[PlazaSession], n: int, price: FloatArray, *, v2v: bool, floor_kw: float,
    peak: tuple[npt_bool, float | None] | None,
) -> FloatArray:  # fmt: skip
    if v2v and floor_kw > 0:
        raise ValueError("a floor and V2V together make no sense")
    lp = _Lp()
    stage_peak = peak is not None and peak[1] is None
    w_cost = 0.0 if stage_peak else 1.0
    grid_terms: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    chs, diss = [], []
    for s in sessions:
        m = s.d - s.a
        ch = lp.var(m, w_cost * price[s.a : s.d] * H, 0.0, P_MAX)
        dis = lp.var(m, -w_cost * price[s.a : s.d] * H + 1e-6, 0.0, P_MAX if v2v else 0.0)
        chs.append(ch)
        diss.append(dis)
        # energy above arrival: cumulative (ch - dis) >= floor at every step, = kwh at the end
        for j in range(m):
            terms = [(ch[i], H) for i in range(j + 1)] + [(dis[i], -H) for i in range(j + 1)]
            lo = s.kwh if j == m - 1 else min(s.kwh, floor_kw * H * (j + 1))
            lp.row(terms, lo, s.kwh if j == m - 1 else np.inf)
            grid_terms[s.a + j] += [(ch[j], 1.0), (dis[j], -1.0)]
    top = lp.var(1, 1.0 if stage_peak else 0.0)
    for t in range(n):
        if grid_terms[t]:
            lp.row(grid_terms[t], 0.0, np.inf)  # the site never exports
            if peak is not None and peak[0][t]:
                if peak[1] is None:
                    lp.row([(int(top[0]), 1.0)] + [(c, -v) for c, v in grid_terms[t]], 0.0, np.inf)
                else:
                    lp.row(grid_terms[t], -np.inf, peak[1])
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

    def opt(v2v: bool, floor: float) -> tuple[FloatArray, FloatArray]:
        return (
            optimise(sessions, n, price, v2v=v2v, window=window, floor_kw=floor),
            optimise(sessions, n, price, v2v=v2v, floor_kw=floor),
        )

    runs = {
        "dumb": (regular(sessions, n), regular(sessions, n)),
        "grid_aware_4kw": opt(False, FLOOR_KW),
        "grid_aware_0kw": opt(False, 0.0),
        "v2v": opt(True, 0.0),
        "rule_cap_4kw": (regular(sessions, n, FLOOR_KW, window),
                         regular(sessions, n, FLOOR_KW, everywhere)),
        "rule_cap_0kw": (regular(sessions, n, 0.0, window), regular(sessions, n, 0.0, everywhere)),
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
