"""Synthetic but realistic sites and inputs for the benchmark, tests and the demo.

Shapes follow a Belgian/Dutch winter–spring day: a morning and an evening price peak around a
midday PV dip, evening load, PV bell around 13:00 UTC. Deterministic for a given seed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from ..model import Chemistry, Ev, Grid, HomeBattery, MonthlyPeakTariff, Pv, Site, Trip, WearModel
from .inputs import FloatArray, Inputs, State, step_edges


def profile_inputs(
    start: datetime, steps: int, seed: int = 0, *, pv_peak_kw: float = 6.0
) -> Inputs:
    """Prices, load and PV for ``steps`` steps from ``start`` (vectorised)."""
    imp, exp, load, pv = _profile(start, steps, seed, pv_peak_kw)
    return Inputs(start=start, import_price=imp, export_price=exp, load_kw=load, pv_kw=pv)


def _profile(
    start: datetime, steps: int, seed: int, pv_peak_kw: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    edges, _ = step_edges(start, steps)
    hour = ((edges[:-1] % 86400) / 3600.0).astype(np.float64)
    base = (
        0.10
        + 0.08 * np.exp(-(((hour - 7.5) / 1.5) ** 2))
        + 0.12 * np.exp(-(((hour - 18.5) / 2.0) ** 2))
    )
    base -= 0.06 * np.exp(-(((hour - 13.0) / 2.0) ** 2))
    spot = base + rng.normal(0.0, 0.01, steps)
    import_price = spot * 1.21 + 0.12
    export_price = spot - 0.01
    load = (
        0.4
        + 0.3 * np.exp(-(((hour - 7.5) / 1.0) ** 2))
        + 1.5 * np.exp(-(((hour - 19.0) / 2.0) ** 2))
    )
    load = load * (1 + rng.normal(0.0, 0.1, steps)).clip(0.5, 1.5)
    pv = pv_peak_kw * np.clip(np.cos((hour - 13.0) / 12.0 * np.pi) ** 3, 0.0, None)
    pv = pv * (hour > 6.5) * (hour < 19.5) * rng.uniform(0.7, 1.0)
    return import_price, export_price, load, pv


def receding_inputs(
    start: datetime, steps: int, k: int, seed: int = 0, *, pv_peak_kw: float = 6.0
) -> Inputs:
    """Window ``k`` of a receding horizon: the same forecast slid by ``k`` quarters, with the
    next hour's load and PV nowcast updated (fresh noise), as a planner sees it live."""
    imp, exp, load_all, pv_all = _profile(start, steps + k, seed, pv_peak_kw)
    rng = np.random.default_rng(10_000 + k)
    window = slice(k, k + steps)
    load = load_all[window].copy()
    pv = pv_all[window].copy()
    near = min(4, steps)
    load[:near] *= np.clip(1 + rng.normal(0.0, 0.15, near), 0.3, 2.0)
    pv[:near] *= np.clip(1 + rng.normal(0.0, 0.15, near), 0.0, 1.5)
    return Inputs(
        start=start + timedelta(minutes=15 * k),
        import_price=imp[window],
        export_price=exp[window],
        load_kw=load,
        pv_kw=pv,
    )


def case_a_site(start: datetime) -> Site:
    """One bidirectional EV + home battery + PV + Flemish peak + full wear model."""
    ev_wear = WearModel.for_chemistry(Chemistry.NMC, max_power_kw=11.0, dod_segments=2)
    bat_wear = WearModel.for_chemistry(Chemistry.LFP, max_power_kw=5.0, dod_segments=2)
    day0 = start.replace(hour=0, minute=0, second=0, microsecond=0)
    trips = tuple(
        Trip(
            depart=day0 + timedelta(days=d, hours=7),
            arrive=day0 + timedelta(days=d, hours=17, minutes=30),
            energy_kwh=12.0,
            target_soc=0.8,
        )
        for d in range(1, 4)
    )
    ev = Ev(
        name="ev",
        capacity_kwh=60.0,
        max_charge_kw=11.0,
        max_discharge_kw=11.0,
        min_soc=0.2,
        max_soc=0.9,
        chemistry=Chemistry.NMC,
        wear=ev_wear,
        trips=trips,
    )
    battery = HomeBattery(
        capacity_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=5.0, reserve_soc=0.1, wear=bat_wear
    )
    return Site(
        grid=Grid(import_limit_kw=17.0, export_limit_kw=10.0, fuse_kw=17.0),
        evs=(ev,),
        battery=battery,
        pv=Pv(),
        peak_tariff=MonthlyPeakTariff.flanders(53.0),
    )


def case_b_site(start: datetime, evs: int = 10) -> Site:
    """``evs`` bidirectional EVs on one 50 kW connection (a small office, V2B)."""
    day0 = start.replace(hour=0, minute=0, second=0, microsecond=0)
    cars = []
    for i in range(evs):
        wear = WearModel.for_chemistry(Chemistry.NMC if i % 2 else Chemistry.LFP, max_power_kw=11.0)
        trips = tuple(
            Trip(
                depart=day0 + timedelta(days=d, hours=16 + (i % 3), minutes=15 * (i % 4)),
                arrive=day0 + timedelta(days=d + 1, hours=8 + (i % 2)),
                energy_kwh=8.0 + i,
                target_soc=0.7 + 0.02 * (i % 5),
            )
            for d in range(3)
        )
        cars.append(
            Ev(
                name=f"ev{i}",
                capacity_kwh=50.0 + 5 * (i % 4),
                max_charge_kw=11.0,
                max_discharge_kw=11.0,
                min_soc=0.2,
                chemistry=Chemistry.NMC if i % 2 else Chemistry.LFP,
                wear=wear,
                trips=trips,
            )
        )
    return Site(
        grid=Grid(import_limit_kw=50.0, export_limit_kw=30.0),
        evs=tuple(cars),
        pv=Pv(),
        peak_tariff=MonthlyPeakTariff(eur_per_kw_month=4.0),
    )


def case_state(site: Site, seed: int = 0) -> State:
    """A plausible measured state for a site."""
    rng = np.random.default_rng(seed)
    return State(
        ev_soc={ev.name: float(rng.uniform(0.3, 0.6)) for ev in site.evs},
        battery_soc=0.5 if site.battery is not None else None,
        month_peak_kw=3.0,
        quarter_import_kwh=0.1,
    )


DEFAULT_START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
