"""Controllers a backtest compares: the real control core with the MPC, and the baselines.

Every controller sees only what a real one would: the meter and charger readings of
:class:`~hems_core.backtest.home.Home` now, the owner's configured departures, published
day-ahead prices (tomorrow's from the publication hour) and forecasts made from history.

- ``mpc`` (and its ablations ``mpc_no_wear``, ``smart_no_v2h``, ``emhass_like``): the real
  :class:`~hems_core.control.ControlCore` fed ``(now, observation)``, its plan requests solved by
  :class:`~hems_core.optimize.Planner`, forecasts from :mod:`hems_core.forecast`.
- ``dumb``: full power from plug-in until full (or the target).
- ``cheapest_slots``: charge at full power in the cheapest known quarters before the
  departure (evcc's planner), re-evaluated every quarter.
- ``equal_share``: INVADE: connection capacity minus the house load shared equally by the
  cars still below target, with a 1.4 kW minimum.
- ``grid_aware_4kw`` / ``grid_aware_0kw``: regular charging, but at most 4 kW (0 kW) per car in
  the evening window 17–23 h local, unless more is needed to reach the target in time.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from ..model import (
    Chemistry,
    Ev,
    Grid,
    HomeBattery,
    MonthlyPeakTariff,
    Pv,
    Site,
    TopPeaksTariff,
    WearModel,
)
from ..scenario import EvSpec, FloatArray, Scenario
from ..timegrid import STEP_S
from .home import BATTERY, PV, Home

_LOGGER = logging.getLogger(__name__)

MIN_CHARGE_W = 1380.0
EVENING = (17, 23)


class Controller(Protocol):
    """Decides setpoints once per fast-loop tick."""

    name: str
    plan_ms: list[float]

    def tick(self, t_s: float, home: Home, quarter: bool) -> None:
        """Read the home's meters now and write setpoints (``quarter``: a clock quarter starts)."""


# -- helpers shared by the rule-based baselines ---------------------------------------------


def next_departure_s(ev: EvSpec, tz: str, t_s: float) -> float | None:
    """The owner's configured next departure after ``t_s`` (epoch s), within 8 days."""
    if not ev.departures:
        return None
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(t_s, UTC).astimezone(zone)
    for k in range(9):
        day = local.date() + timedelta(days=k)
        at = ev.departures.get(day.weekday())
        if at is None:
            continue
        when = datetime.combine(day, at, zone).timestamp()
        if when > t_s:
            return when
    return None


def _need_w_h(home: Home, name: str, target: float) -> float:
    """Grid-side Wh to bring a device to ``target`` SoC."""
    d = home.devices[name]
    return max(0.0, (target - d.soc) * d.capacity_kwh / d.efficiency) * 1000.0


def _local_hour(t_s: float, tz: str) -> int:
    return datetime.fromtimestamp(t_s, UTC).astimezone(ZoneInfo(tz)).hour


@dataclass
class _Rule:
    """Common state of the rule-based baselines."""

    sc: Scenario
    name: str
    plan_ms: list[float] = field(default_factory=list)


class Dumb(_Rule):
    """Full power from plug-in until the target."""

    def tick(self, t_s: float, home: Home, quarter: bool) -> None:
        for ev in self.sc.evs:
            d = home.devices[ev.name]
            w = d.max_charge_w if d.plugged and d.soc < ev.target_soc - 1e-4 else 0.0
            home.set_power(ev.name, w)


class CheapestSlots(_Rule):
    """Full power in the cheapest known quarters before the departure (re-planned every quarter)."""

    def __init__(self, sc: Scenario, name: str = "cheapest_slots") -> None:
        super().__init__(sc, name)
        self._chosen: dict[str, set[int]] = {}

    def tick(self, t_s: float, home: Home, quarter: bool) -> None:
        sc = self.sc
        if quarter:
            t0 = time.perf_counter()
            i0 = sc.index(t_s)
            known = sc.index(sc.known_until_s(t_s))
            for ev in sc.evs:
                d = home.devices[ev.name]
                self._chosen[ev.name] = set()
                if not d.plugged:
                    continue
                dep = next_departure_s(ev, sc.tz, t_s)
                end = known if dep is None else min(known, sc.index(dep))
                need = _need_w_h(home, ev.name, ev.target_soc) / 1000.0
                if end <= i0 or need <= 0:
                    continue
                per_q = d.max_charge_w / 1000.0 * 0.25
                k = math.ceil(need / per_q - 1e-9)
                order = np.argsort(sc.import_eur_kwh[i0:end], kind="stable")[:k]
                self._chosen[ev.name] = {int(i0 + j) for j in order}
            self.plan_ms.append((time.perf_counter() - t0) * 1000.0)
        i = sc.index(t_s)
        for ev in sc.evs:
            d = home.devices[ev.name]
            on = d.plugged and i in self._chosen.get(ev.name, set()) and d.soc < ev.target_soc
            if d.plugged and not self._chosen.get(ev.name) and d.soc < ev.target_soc:
                on = next_departure_s(ev, sc.tz, t_s) is None  # no departure known: charge now
            home.set_power(ev.name, d.max_charge_w if on else 0.0)


class EqualShare(_Rule):
    """INVADE's equal split of the spare connection capacity between cars below target."""

    def tick(self, t_s: float, home: Home, quarter: bool) -> None:
        sc = self.sc
        load, pv = home.load_pv_kw(t_s)
        spare = max(0.0, sc.grid_import_kw - max(0.0, load - pv)) * 1000.0
        active = [
            ev for ev in sc.evs
            if home.devices[ev.name].plugged and home.devices[ev.name].soc < ev.target_soc
        ]  # fmt: skip
        share = spare / len(active) if active else 0.0
        for ev in sc.evs:
            d = home.devices[ev.name]
            w = min(d.max_charge_w, max(MIN_CHARGE_W, share)) if ev in active else 0.0
            home.set_power(ev.name, w)


class GridAware(_Rule):
    """Regular charging with a per-car cap in the evening window unless the target needs more."""

    def __init__(self, sc: Scenario, name: str, cap_kw: float) -> None:
        super().__init__(sc, name)
        self.cap_w = cap_kw * 1000.0

    def tick(self, t_s: float, home: Home, quarter: bool) -> None:
        sc = self.sc
        zone = ZoneInfo(sc.tz)
        hour = _local_hour(t_s, sc.tz)
        for ev in sc.evs:
            d = home.devices[ev.name]
            if not d.plugged or d.soc >= ev.target_soc - 1e-4:
                home.set_power(ev.name, 0.0)
                continue
            w = d.max_charge_w
            if EVENING[0] <= hour < EVENING[1]:
                dep = next_departure_s(ev, sc.tz, t_s)
                need_wh = _need_w_h(home, ev.name, ev.target_soc)
                if dep is None:
                    w = self.cap_w
                else:
                    local = datetime.fromtimestamp(t_s, UTC).astimezone(zone)
                    win_end = datetime.combine(local.date(), dtime(EVENING[1]), zone).timestamp()
                    after_h = max(0.0, (dep - max(win_end, t_s)) / 3600.0)
                    in_h = max(1e-6, (min(dep, win_end) - t_s) / 3600.0)
                    rest = max(0.0, need_wh - d.max_charge_w * after_h)
                    w = min(d.max_charge_w, max(self.cap_w, rest / in_h))
            home.set_power(ev.name, w)


# -- the real control core -------------------------------------------------------------------


def build_site(sc: Scenario, *, wear: bool = True, v2h: bool = True, capacity: bool = True) -> Site:
    """The :class:`~hems_core.model.Site` of a scenario (ablations switch terms off)."""
    evs = []
    for ev in sc.evs:
        chem = Chemistry(ev.chemistry)
        bidi = v2h and ev.max_discharge_kw > 0
        power = max(ev.max_charge_kw, ev.max_discharge_kw, 1.0)
        evs.append(
            Ev(
                name=ev.name, capacity_kwh=ev.capacity_kwh, max_charge_kw=ev.max_charge_kw,
                max_discharge_kw=ev.max_discharge_kw if bidi else 0.0,
                charge_efficiency=ev.efficiency, discharge_efficiency=ev.efficiency,
                bidirectional=bidi, min_soc=ev.min_soc, chemistry=chem,
                wear=WearModel.for_chemistry(chem, max_power_kw=power) if wear else WearModel(),
            )
        )  # fmt: skip
    battery = None
    if sc.battery is not None:
        b = sc.battery
        battery = HomeBattery(
            capacity_kwh=b.capacity_kwh, max_charge_kw=b.max_kw, max_discharge_kw=b.max_kw,
            charge_efficiency=b.efficiency, discharge_efficiency=b.efficiency,
            reserve_soc=b.reserve_soc, name=BATTERY,
            wear=(WearModel.for_chemistry(Chemistry.LFP, max_power_kw=max(b.max_kw, 1.0))
                  if wear else WearModel()),
        )  # fmt: skip
    peak = top = None
    cap = sc.capacity
    if capacity and cap is not None:
        if cap.kind == "monthly_peak":
            peak = MonthlyPeakTariff(cap.eur_per_kw_month, cap.floor_kw, sc.tz)
        else:
            top = TopPeaksTariff(cap.eur_per_kw_month, cap.count, cap.night_weight, tz=sc.tz)
    return Site(
        grid=Grid(import_limit_kw=sc.grid_import_kw, export_limit_kw=sc.grid_export_kw),
        evs=tuple(evs), battery=battery, pv=Pv() if sc.pv_kwp > 0 else None,
        peak_tariff=peak, top_peaks_tariff=top,
        allow_export_from_storage=sc.allow_export_from_storage,
    )  # fmt: skip


class Forecaster:
    """Load, PV and price inputs for one quarter, from history only (no peeking).

    Load: :func:`hems_core.forecast.forecast_load` on the metered house load before now. PV:
    the clear-sky model with the cloudiness correction learnt from measured production (once
    a day). Prices: what is published (tomorrow's from the publication hour).
    """

    def __init__(self, sc: Scenario, horizon: int = 192, *, perfect: bool = False) -> None:
        from ..forecast.pv import ClearSkyPv

        self.perfect = perfect  # diagnostic only: the true load and PV (prices stay as published)
        self.sc = sc
        self.horizon = horizon
        self.model = (
            ClearSkyPv(sc.latitude, sc.longitude, 35.0, 180.0, sc.pv_kwp) if sc.pv_kwp > 0 else None
        )
        self._corr: Any = None
        self._corr_day = -1
        #: (hour, origin quarter, p50, p90) of the last load forecast: one per hour
        self._load_cache: tuple[int, int, FloatArray, FloatArray] | None = None
        #: ((correction day, solar day end), start quarter, p10/p50 rows) of the PV forecast
        self._pv_cache: tuple[tuple[int, int], int, FloatArray] | None = None
        self.stamps = sc.t0_s + STEP_S * np.arange(sc.load_kw.shape[0], dtype=np.int64)

    def __call__(self, t_s: float) -> Any:
        from ..control.planning import Forecast, peak_margin_kw
        from ..forecast.load import forecast_load
        from ..forecast.pv import forecast_pv, learn_pv_correction, solar_day_end_s

        sc = self.sc
        q_s = int(t_s) - int(t_s) % STEP_S
        i = sc.index(q_s)
        n = min(self.horizon, sc.index(sc.known_until_s(t_s)) - i, sc.load_kw.shape[0] - i)
        if self.perfect:
            return Forecast(
                start=datetime.fromtimestamp(q_s, UTC),
                import_price=sc.import_eur_kwh[i : i + n],
                export_price=sc.export_eur_kwh[i : i + n],
                load_kw=sc.load_kw[i : i + n],
                pv_kw=sc.pv_kw[i : i + n],
                source="perfect",
            )
        lo = max(0, i - 57 * 96)
        hour = q_s - q_s % 3600
        if self._load_cache is None or self._load_cache[0] != hour:
            fc = forecast_load(
                self.stamps[lo:i], sc.load_kw[lo:i] * 0.25, origin=q_s, horizon_steps=self.horizon,
                tz=sc.tz, interval_s=STEP_S,
            )  # fmt: skip
            self._load_cache = (hour, q_s, np.asarray(fc.p50), np.asarray(fc.p90))
        # offset from the quarter the cached forecast starts at (not the hour: the first
        # call of an hour need not be its first quarter)
        off = (q_s - self._load_cache[1]) // STEP_S
        load = _held(self._load_cache[2][off : off + n], n)
        load_p90 = _held(self._load_cache[3][off : off + n], n)
        pv: FloatArray
        pv_p10: FloatArray
        if self.model is None:
            pv = pv_p10 = np.zeros(n, dtype=np.float64)
        else:
            day = q_s // 86400
            if day != self._corr_day:
                lo_pv = max(0, i - 31 * 96)
                self._corr = learn_pv_correction(
                    self.model, self.stamps[lo_pv:i], sc.pv_kw[lo_pv:i] * 0.25, now=q_s,
                    interval_s=STEP_S,
                )  # fmt: skip
                self._corr_day = day
            # The clear-sky fallback at a quarter depends only on the correction (learnt
            # once a day) and on which solar day "now" is in: one forecast per such pair,
            # a day longer than the horizon, sliced from then on (the same numbers).
            key = (self._corr_day, solar_day_end_s(self.model, t_s))
            got = self._pv_cache
            off = 0 if got is None else (q_s - got[1]) // STEP_S
            if got is None or got[0] != key or not 0 <= off <= got[2].shape[1] - n:
                pvf = forecast_pv(
                    start=q_s, steps=self.horizon + 96, now=t_s, clearsky=self.model,
                    correction=self._corr,
                )  # fmt: skip
                got = self._pv_cache = (key, q_s, np.stack([pvf.p10, pvf.p50]))
                off = 0
            pv_p10, pv = got[2][0, off : off + n], got[2][1, off : off + n]
        return Forecast(
            start=datetime.fromtimestamp(q_s, UTC),
            import_price=sc.import_eur_kwh[i : i + n],
            export_price=sc.export_eur_kwh[i : i + n],
            load_kw=load,
            pv_kw=pv,
            source="forecast",
            peak_margin_kw=peak_margin_kw(load, load_p90, pv, pv_p10),
        )


def _held(values: FloatArray, n: int) -> FloatArray:
    """``values`` cut or extended to ``n`` by holding the last one (a forecast made an hour
    ago reaches up to three quarters less far)."""
    if values.shape[0] >= n:
        return values[:n]
    return np.asarray(np.concatenate([values, np.full(n - values.shape[0], float(values[-1]))]))


class CoreController:
    """The real :class:`~hems_core.control.ControlCore` in closed loop, plans from the Planner."""

    def __init__(
        self, sc: Scenario, name: str = "mpc", *, step_s: float = 300.0, wear: bool = True,
        v2h: bool = True, capacity: bool = True, backend: str | None = None,
        perfect_forecast: bool = False,
    ) -> None:  # fmt: skip
        from ..control import ControlCore, ControlSettings, DepartureSchedule
        from ..control.types import MeterObs, Observation, PvObs, Source, StorageObs
        from ..optimize import Planner, SolverError

        self.sc = sc
        self.name = name
        self.plan_ms: list[float] = []
        #: When the new plan's setpoints are read: ramped as the runtime's ticks would (2 kW/s).
        self.settle_s = min(6.0, step_s / 2.0)
        self.site = build_site(sc, wear=wear, v2h=v2h, capacity=capacity)
        ttl = max(6.0, 2.0 * step_s)
        settings = ControlSettings(
            command_ttl_s=min(ttl, 3600.0), meter_timeout_s=min(600.0, max(5.0, step_s)),
            device_timeout_s=min(600.0, max(6.0, step_s)), frozen_meter_s=min(3600.0, 2 * ttl),
        )  # fmt: skip
        departures = {
            ev.name: DepartureSchedule(
                {wd: (at, ev.target_soc) for wd, at in ev.departures.items()}, tz=sc.tz
            )
            for ev in sc.evs
        }
        self.core = ControlCore(self.site, settings, departures=departures, tz=sc.tz)
        self.planner = Planner(self.site, backend=backend)
        self.forecaster = Forecaster(sc, settings.horizon_steps, perfect=perfect_forecast)
        self.forecast_ms: list[float] = []
        self._event_on: set[int] = set()
        self.failures = 0
        self.last_plan: Any = None
        self.plans: list[tuple[float, Any]] = []
        # the core's types, imported once (this module stays import-light for the baselines)
        self._types = (MeterObs, Observation, PvObs, StorageObs)
        self._source = Source
        self._solver_error = SolverError

    def _observation(self, t_s: float, home: Home, now: datetime | None = None) -> Any:
        meter_obs, observation, pv_obs, storage_obs = self._types
        if now is None:
            now = datetime.fromtimestamp(t_s, UTC)
        storage = {
            n: storage_obs(now, True, d.power_w, d.soc, d.plugged) for n, d in home.devices.items()
        }
        meter_w, used = home.meter_and_pv_used(t_s)
        pv = None
        if self.site.pv is not None:
            pv = pv_obs(now, True, used * 1000.0, home.pv_limit_w)
        # The import register, as a P1 meter reports it: the core's peak tracker integrates the
        # power only over short gaps (60 s, for 1-5 s readings), so at a backtest tick of
        # minutes the power alone would count a fraction of each interval's energy.
        meter = meter_obs(now, meter_w, energy_import_kwh=home.import_counter_kwh)
        return observation(meter, storage, pv)

    def _stop_soc(
        self, command: Any, t_s: float, views: dict[str, Any] | None = None
    ) -> float | None:
        """Where the runtime's next ticks would end a rule's full-power charge (its target).

        ``views``: the core's departure views at ``t_s`` when the caller already has them.
        """
        source = self._source
        if command.source is source.DEPARTURE:
            if views is None:
                views = self.core.departure_views(t_s)
            view = views.get(command.device)
            return None if view is None else float(view.target_soc)
        if command.source is source.MIN_SOC:
            st = self.core.storages.get(command.device)
            return None if st is None else float(st.min_soc)
        return None

    def tick(self, t_s: float, home: Home, quarter: bool) -> None:
        now = datetime.fromtimestamp(t_s, UTC)
        core = self.core
        for k, e in enumerate(home.events):
            if e.start_s <= t_s < e.end_s and k not in self._event_on:
                self._event_on.add(k)
                core.set_grid_signal(
                    now, "dim_14a", e.kw * 1000.0, source="dso",
                    until=datetime.fromtimestamp(e.end_s, UTC),
                )  # fmt: skip
        if quarter:
            t0 = time.perf_counter()
            core.set_forecast(now, self.forecaster(t_s))
            self.forecast_ms.append((time.perf_counter() - t0) * 1000.0)
        obs = self._observation(t_s, home, now)
        step = core.observe(now, obs)
        commands = list(step.commands)
        req = step.plan_request
        if req is not None:
            t0 = time.perf_counter()
            try:
                plan = self.planner.solve(req.inputs, req.state, req.site)
            except (self._solver_error, ValueError) as err:
                self.failures += 1
                core.plan_failed(now, req.seq, str(err))
            else:
                self.plan_ms.append((time.perf_counter() - t0) * 1000.0)
                if core.accept_plan(now, req.seq, plan):
                    self.last_plan = plan
                    if quarter and (t_s - self.sc.start_s) % 86400 == 12 * 3600:
                        self.plans.append((t_s, plan))
                # The runtime's next fast-loop ticks (1-5 s later, with a fresh meter reading)
                # ramp to the new plan. Observing again at the same instant would not: the ramp
                # allows no rise in 0 s and the meter follower holds its last value without a
                # new reading, so a whole backtest tick kept the old plan's setpoint.
                later = t_s + self.settle_s
                obs2 = self._observation(later, home)
                commands.extend(core.observe(datetime.fromtimestamp(later, UTC), obs2).commands)
        views: dict[str, Any] | None = None  # the departure views, once per tick
        for c in commands:
            exp = c.expires_at.timestamp()
            if c.device == PV:
                home.set_pv_limit(c.value_w, exp)
            elif c.value_w is not None:
                if views is None and c.source is self._source.DEPARTURE:
                    views = core.departure_views(t_s)
                home.set_power(c.device, c.value_w, exp, self._stop_soc(c, t_s, views))
            else:
                home.set_power(c.device, 0.0, exp)  # released: the device idles


class Replay:
    """Plays a fixed per-quarter schedule (the oracle's) into the home."""

    def __init__(self, sc: Scenario, name: str, schedule: dict[str, FloatArray]) -> None:
        self.sc = sc
        self.name = name
        self.plan_ms: list[float] = []
        self.schedule = schedule

    def tick(self, t_s: float, home: Home, quarter: bool) -> None:
        q = int((t_s - self.sc.start_s) // STEP_S)
        for name, kw in self.schedule.items():
            if name == PV:  # the oracle's curtailment, as an inverter limit
                v = float(kw[q])
                home.set_pv_limit(v * 1000.0 if math.isfinite(v) else None)
            else:
                home.set_power(name, float(kw[q]) * 1000.0)


def make_controller(sc: Scenario, name: str, step_s: float) -> Controller:
    """A controller by its KPI name."""
    if name == "mpc":
        return CoreController(sc, name, step_s=step_s)
    if name == "mpc_no_wear":
        return CoreController(sc, name, step_s=step_s, wear=False)
    if name == "smart_no_v2h":
        return CoreController(sc, name, step_s=step_s, v2h=False)
    if name == "emhass_like":
        return CoreController(sc, name, step_s=step_s, wear=False, capacity=False)
    if name == "mpc_perfect_forecast":  # diagnostic: splits the oracle gap, not a baseline
        return CoreController(sc, name, step_s=step_s, perfect_forecast=True)
    if name == "dumb":
        return Dumb(sc, name)
    if name == "cheapest_slots":
        return CheapestSlots(sc, name)
    if name == "equal_share":
        return EqualShare(sc, name)
    if name == "grid_aware_4kw":
        return GridAware(sc, name, 4.0)
    if name == "grid_aware_0kw":
        return GridAware(sc, name, 0.0)
    raise ValueError(f"unknown controller {name!r}")


ALL_CONTROLLERS = (
    "mpc", "dumb", "cheapest_slots", "smart_no_v2h", "mpc_no_wear", "emhass_like",
    "equal_share", "grid_aware_4kw", "grid_aware_0kw",
)  # fmt: skip

__all__ = ["ALL_CONTROLLERS", "Controller", "CoreController", "build_site", "make_controller"]
