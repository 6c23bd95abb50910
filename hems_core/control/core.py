"""The sans-IO control core: ``observe(now, observation)`` in, commands and plan requests out.

The core owns every piece of state decisions depend on (the accepted plan, the capacity-tariff
state, energy counters and SoC estimates, boost and mode, fail-safe timers as timestamps, the
last command per device) and never reads a clock, opens a socket, sleeps or starts a thread:
given the same inputs it returns the same outputs. The runtime (``control.runtime``), Home
Assistant, the demo and the backtests all drive this one object.

One tick (every meter reading, 1–5 s):

1. freshness: a meter reading older than ``meter_timeout_s`` or whose own timestamp stopped
   advancing is stale; a device that has not answered within ``device_timeout_s`` is lost;
2. state: peaks, energy counters and SoC estimates are updated from the readings;
3. proposal: the accepted plan's step for ``now`` (one device follows the meter, the others get
   fixed setpoints), or the rule-based fallback when no plan covers now;
4. arbitration (``rules``): SoC floor / departure → mode / boost → DSO → safety;
5. commands are emitted when a value changes or half the TTL has passed (renewal);
6. a plan request is returned at every quarter boundary and on events.

Plans are requests, not calls: :meth:`accept_plan` takes a finished plan only if it answers
the newest request (or nothing usable is in force), so a newer trigger supersedes a stale solve.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ..model import Ev, ModelError, Site, Trip
from ..optimize.inputs import Inputs, State
from ..optimize.plan import Plan
from ..timegrid import STEP_S, floor_quarter_s
from .departures import DepartureSchedule
from .energy import EnergyCounter
from .grid import (
    DIM_14A_W,
    OFF_GRID,
    GridState,
    GridView,
    IslandMachine,
    IslandSettings,
    IslandState,
    SignalBook,
    SignalKind,
    fuse_grid,
)
from .island import Shedder, island_dispatch
from .outlook import departure_state, reachable_soc
from .peaks import PeakTracker
from .planning import ActivePlan, Forecast
from .rules import (
    Limits,
    Live,
    Proposal,
    Storage,
    Tick,
    Want,
    boost_rules,
    can_discharge,
    controllable,
    dim_14a_rules,
    follow_meter,
    guard_peak,
    hold_export_cap,
    hold_import_cap,
    mode_rules,
    predicted_grid_w,
    recovery_guard,
    safety_rules,
    smooth,
    soak,
    soak_export_w,
    soc_rules,
    surplus_charge_w,
)
from .settings import ControlError, ControlSettings
from .soc import SocEstimator
from .types import (
    Command,
    CommandKind,
    Event,
    GridObs,
    MeterObs,
    Mode,
    Observation,
    PlanRequest,
    Source,
    Step,
    StorageObs,
)

_LOGGER = logging.getLogger(__name__)

PV = "pv"


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC)


_NO_PHASES: tuple[None, None, None] = (None, None, None)


def _plausible(o: StorageObs) -> bool:
    """Finite power and counters, SoC within [0, 1]: what the state keepers accept."""
    p = o.power_w
    if not -1e6 <= p <= 1e6:  # NaN compares False: not finite, or too large
        return False
    soc = o.soc
    if soc is not None and not 0.0 <= soc <= 1.0:
        return False
    e_in, e_out = o.energy_in_kwh, o.energy_out_kwh
    return (e_in is None or math.isfinite(e_in)) and (e_out is None or math.isfinite(e_out))


def _finite_meter(m: MeterObs) -> bool:
    if not -1e6 <= m.power_w <= 1e6:  # NaN compares False
        return False
    e = m.energy_import_kwh
    if e is not None and not math.isfinite(e):
        return False
    for values in (m.phase_power_w, m.phase_current_a):
        if values != _NO_PHASES and not all(v is None or math.isfinite(v) for v in values):
            return False
    return True


def _discharge_eff(site: Site, name: str) -> float:
    for ev in site.evs:
        if ev.name == name:
            return ev.discharge_efficiency
    return site.battery.discharge_efficiency if site.battery is not None else 0.95


#: Planned power below this (W) counts as idle when choosing the follower.
IDLE_W = 100.0


@dataclass(frozen=True, slots=True)
class Boost:
    """The owner's boost of one car: full power until ``until`` and/or ``target_soc``."""

    started: datetime
    until: datetime | None
    target_soc: float | None


@dataclass(frozen=True)
class DeviceStatus:
    """The last setpoint of one device and why (for entities and diagnostics)."""

    value_w: float | None
    kind: CommandKind
    source: Source
    reason: str
    at: datetime


@dataclass(frozen=True)
class DepartureView:
    """A car's next departure and whether its target is ``on_track``/``at_risk``/``reached``."""

    at: datetime
    target_soc: float
    state: str
    #: The SoC full power from now reaches by the departure.
    expected_soc: float | None = None


@dataclass(frozen=True)
class OwnerSettings:
    """What the owner set from the UI (over the site document), per storage device."""

    min_soc: Mapping[str, float] = field(default_factory=dict)
    target_soc: Mapping[str, float] = field(default_factory=dict)
    v2h: Mapping[str, bool] = field(default_factory=dict)
    backup_reserve: float | None = None


@dataclass(frozen=True)
class CoreStatus:
    """What the UI shows: mode, plan, fail-safe, boosts and the last setpoint per device."""

    mode: Mode
    plan_seq: int | None
    plan_age_s: float | None
    plan_source: str
    failsafe: bool
    lost_devices: tuple[str, ...]
    boosts: Mapping[str, Boost]
    devices: Mapping[str, DeviceStatus]
    month_peak_kw: float
    socs: Mapping[str, float | None]
    energy_in_kwh: Mapping[str, float]
    energy_out_kwh: Mapping[str, float]
    island_state: str = IslandState.GRID_CONNECTED.value
    island_since: datetime | None = None
    grid_state: str = GridState.UNKNOWN.value
    grid_decided_by: str = "none"
    shed_tiers: tuple[str, ...] = ()
    signals: tuple[Mapping[str, Any], ...] = ()
    outage_risk: Mapping[str, Any] | None = None
    outage_expected_end: datetime | None = None
    autonomy_h: float | None = None
    unserved_w: float = 0.0
    island_plan_unserved_kwh: float | None = None
    #: Per car with a departure ahead, plugged in and its SoC known.
    departures: Mapping[str, DepartureView] = field(default_factory=dict)
    owner: OwnerSettings = field(default_factory=OwnerSettings)
    #: The plan's peak budget for the running quarter (None: no plan or no capacity tariff).
    peak_budget_kw: float | None = None
    #: What the capacity tariff bills on so far: Flanders' 12-month mean of monthly peaks
    #: (floored), Sweden's mean of the month's highest daily peaks; None for other tariffs.
    capacity_average_kw: float | None = None


@dataclass(slots=True)
class _Sent:
    kind: CommandKind
    value: float | None
    source: Source
    reason: str
    at_s: float


class ControlCore:
    """The control decisions of one site (see the module docstring)."""

    def __init__(
        self,
        site: Site,
        settings: ControlSettings | None = None,
        *,
        departures: Mapping[str, DepartureSchedule] | None = None,
        tz: str = "Europe/Amsterdam",
        restore: Mapping[str, Any] | None = None,
        island: IslandSettings | None = None,
    ) -> None:
        self.site = site
        self.settings = cfg = settings or ControlSettings()
        self.tz = tz
        self.storages: dict[str, Storage] = {}
        for ev in site.evs:
            self.storages[ev.name] = Storage(
                ev.name, "ev", ev.capacity_kwh, ev.max_charge_kw * 1000.0,
                ev.max_discharge_kw * 1000.0 if ev.bidirectional else 0.0,
                ev.min_soc, ev.max_soc, ev.charge_efficiency, cfg.for_storage(ev.name),
            )  # fmt: skip
        if site.battery is not None:
            b = site.battery
            self.storages[b.name] = Storage(
                b.name, "battery", b.capacity_kwh, b.max_charge_kw * 1000.0,
                b.max_discharge_kw * 1000.0, b.reserve_soc, b.max_soc, b.charge_efficiency,
                cfg.for_storage(b.name),
            )  # fmt: skip
        unknown = set(cfg.storage) - set(self.storages)
        if unknown:
            raise ControlError(f"settings.storage names unknown devices: {sorted(unknown)}")
        if cfg.follower is not None and cfg.follower not in self.storages:
            raise ControlError(f"settings.follower {cfg.follower!r} is not a storage device")
        fuse_w = None if cfg.fuse_a is None else cfg.fuse_a * cfg.voltage_v
        export_w = site.grid.export_limit_kw * 1000.0
        if cfg.export_limit_w is not None:
            export_w = min(export_w, cfg.export_limit_w)
        self.limits = Limits(
            max_import_w=site.grid.max_import_kw * 1000.0,
            max_export_w=export_w,
            fuse_w=fuse_w,
            allow_export_from_storage=bool(getattr(site, "allow_export_from_storage", False)),
            safe_charge_w=cfg.safe_charge_w,
        )
        restore = restore or {}
        self.peaks = PeakTracker(
            tz, site.peak_tariff, site.top_peaks_tariff, restore.get("peaks"),
            max_import_w=max(60_000.0, self.limits.max_import_w * 2),
        )  # fmt: skip
        self.energy: dict[str, EnergyCounter] = {}
        self.soc: dict[str, SocEstimator] = {}
        for name, s in self.storages.items():
            snap = restore.get("energy", {}).get(name)
            peak_w = max(s.max_charge_w, s.max_discharge_w, 1.0)
            self.energy[name] = EnergyCounter(peak_w, snapshot=snap)
            self.soc[name] = SocEstimator(
                s.capacity_kwh, s.charge_efficiency, _discharge_eff(site, name),
                arrival_soc=s.settings.arrival_soc, snapshot=restore.get("soc", {}).get(name),
            )  # fmt: skip
        self.departures: dict[str, DepartureSchedule] = dict(departures or {})
        for name, snap in dict(restore.get("departures") or {}).items():
            if name in self.departures:
                try:  # one-off departures and learnt habits survive a restart
                    self.departures[name].load_snapshot(snap)
                except (ModelError, TypeError, AttributeError) as err:
                    _LOGGER.warning("%s: departures not restored: %s", name, err)
        self.mode = Mode.AUTO
        self.boosts: dict[str, Boost] = {}
        self.island_cfg = island or IslandSettings()
        tier_loads = [ld for t in self.island_cfg.tiers for ld in t.loads]
        if len(set(tier_loads)) != len(tier_loads) or set(tier_loads) & {*self.storages, PV}:
            raise ControlError("shed-tier loads must be unique and not name a storage or pv")
        self.island = IslandMachine(self.island_cfg)
        self.signals = SignalBook()
        self.shedder = Shedder(self.island_cfg.tiers)
        self.grid_view = GridView(GridState.UNKNOWN, None, "none")
        self.outage_risk: dict[str, Any] | None = None
        self._outage_start_s: float | None = None
        self._outage_end_s: float | None = None  # expected end (epoch s)
        self._island_load_w: float | None = None
        self._island_limit_w: float | None = None
        self._unserved_w = 0.0
        self._autonomy_h: float | None = None
        self._island_seqs: set[int] = set()
        self._reserve_sent: dict[str, tuple[float, float]] = {}
        self._last_base_w: float | None = None
        self._loads_sent: dict[str, bool] = {}
        self.forecast: Forecast | None = None
        self.plan: ActivePlan | None = None
        self._live: dict[str, Live] = {}
        self._sent: dict[str, _Sent] = {}
        self._triggers: list[str] = ["start"]
        self._seq = 0
        self._request_quarter: int | None = None
        self._retry_at_s: float | None = None
        self._soc_trigger_quarter: int | None = None
        self._last_tick_s: float | None = None
        self._last_meter_at_s: float | None = None
        self._meter_stamp: tuple[float, float] | None = None  # (stamp, first seen at)
        self._meter_new = False
        self._soaked: dict[str, float] = {}  # W added per device by the last soak
        self._failsafe = False
        self._lost: set[str] = set()
        self._released = False
        self._no_forecast_reported = False
        self._request_soc: dict[str, float] = {}
        #: Per car: (looked up at, schedule, its version, next departure), see _next_departure.
        self._dep_cache: dict[
            str, tuple[float, DepartureSchedule, int, tuple[float, float] | None]
        ] = {}
        self._soc_known: dict[str, bool] = {}
        self._soc_at_unplug: dict[str, float | None] = {}
        #: (site, trips per car, the plan's site) of the last request, see _plan_site.
        self._plan_site_last: tuple[Site, tuple[tuple[Trip, ...] | None, ...], Site] | None = None
        #: Per car: (its schedule's trips, which move early, the margin, the moved trips).
        self._moved_last: dict[
            str, tuple[tuple[Trip, ...], list[bool], timedelta, tuple[Trip, ...]]
        ] = {}
        self._base_site = site
        self._base_storages = dict(self.storages)
        self._base_target = {n: d.default_target for n, d in self.departures.items()}
        self._owner: dict[str, dict[str, Any]] = {"min_soc": {}, "target_soc": {}, "v2h": {}}
        self._backup_reserve: float | None = None
        self._restore_owner(restore.get("owner"))

    # -- inputs from the owner and the outside world ----------------------------------------

    def set_forecast(self, now: datetime, forecast: Forecast) -> None:
        """New prices or forecasts: re-plan."""
        self.forecast = forecast
        self._no_forecast_reported = False
        self._triggers.append(f"{forecast.source}")

    def set_mode(self, now: datetime, mode: Mode | str) -> None:
        """Change the mode (auto, charge only, solar only, off)."""
        try:
            new = Mode(mode)
        except ValueError:
            raise ControlError(f"unknown mode {mode!r}; one of {[m.value for m in Mode]}") from None
        if new is not self.mode:
            self.mode = new
            self._released = False
            self._sent.clear()
            self._triggers.append("mode")

    def start_boost(
        self, now: datetime, name: str, *, duration: timedelta | None = None,
        until: datetime | None = None, target_soc: float | None = None,
        until_departure: bool = False,
    ) -> Boost:  # fmt: skip
        """Boost a car: full power for ``duration``, until a time, a SoC or its departure."""
        s = self.storages.get(name)
        if s is None or s.kind != "ev":
            raise ControlError(f"no car named {name!r} to boost")
        if self.mode is Mode.OFF:
            raise ControlError("mode is off: the HEMS has handed control back; set a mode first")
        if target_soc is not None and not 0.0 < target_soc <= 1.0:
            raise ControlError(f"target_soc must be within (0, 1], got {target_soc!r}")
        if duration is not None:
            if duration <= timedelta(0):
                raise ControlError("duration must be positive")
            until = now + duration
        if until_departure:
            dep = self._next_departure(name, now.timestamp())
            if dep is None:
                raise ControlError(f"{name} has no departure to boost until")
            until = datetime.fromtimestamp(dep[0], UTC)
        if until is None and target_soc is None:
            target_soc = s.max_soc
        if until is not None and until <= now:
            raise ControlError("the boost would end before it starts")
        boost = Boost(now, until, target_soc)
        self.boosts[name] = boost
        self._triggers.append("boost")
        return boost

    def cancel_boost(self, now: datetime, name: str) -> bool:
        """End a boost; False if none was running."""
        if self.boosts.pop(name, None) is None:
            return False
        self._triggers.append("boost_end")
        return True

    def set_departure(
        self, now: datetime, name: str, when: datetime | None, target_soc: float | None = None
    ) -> None:
        """A one-off departure change for a car (``when`` None: no departure that day)."""
        if name not in self.storages or self.storages[name].kind != "ev":
            raise ControlError(f"no car named {name!r}")
        sched = self.departures.get(name)
        if sched is None:
            sched = self.departures[name] = DepartureSchedule(tz=self.tz)
        if when is None:
            sched.set_once(now, None, target_soc)
        else:
            sched.set_once(when, target_soc=target_soc)
        self._dep_cache.clear()
        self._triggers.append("departure")

    # -- the owner's settings (Home Assistant's number/switch entities) ----------------------

    def set_min_soc(self, now: datetime, name: str, soc: float) -> None:
        """A car's minimum SoC (the hard floor the core charges to), over the site document."""
        s = self._car(name)
        self._fraction("min_soc", soc, 0.0, s.max_soc)
        self._owner["min_soc"][name] = float(soc)
        self._apply_owner("min_soc")

    def set_target_soc(self, now: datetime, name: str, soc: float) -> None:
        """A car's departure target for every departure without a one-off target of its own."""
        self._car(name)
        self._fraction("target_soc", soc, 0.05, 1.0)
        self._owner["target_soc"][name] = float(soc)
        self._apply_owner("target_soc")

    def allow_v2h(self, now: datetime, name: str, allowed: bool) -> None:
        """Whether a bidirectional car may discharge into the house (V2H)."""
        self._car(name)
        if allowed and self._base_storages[name].max_discharge_w <= 0:
            raise ControlError(f"{name} cannot discharge (not bidirectional in the site document)")
        self._owner["v2h"][name] = bool(allowed)
        self._apply_owner("v2h")

    def set_backup_reserve(self, now: datetime, soc: float) -> None:
        """The home battery's reserve (the backup energy it never gives for anything else)."""
        b = self._base_site.battery
        if b is None:
            raise ControlError("the site has no home battery to keep a reserve in")
        self._fraction("backup_reserve", soc, 0.0, b.max_soc)
        self._backup_reserve = float(soc)
        self._apply_owner("backup_reserve")

    def _car(self, name: str) -> Storage:
        s = self.storages.get(name)
        if s is None or s.kind != "ev":
            raise ControlError(f"no car named {name!r}")
        return s

    @staticmethod
    def _fraction(field_name: str, v: float, low: float, high: float) -> None:
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or not low <= v <= high:
            raise ControlError(f"{field_name} must be within [{low:g}, {high:g}], got {v!r}")

    def _apply_owner(self, trigger: str | None) -> None:
        """Site and storages = the site document with the owner's settings on top."""
        own = self._owner
        evs = []
        for ev in self._base_site.evs:
            base = self._base_storages[ev.name]
            mn = own["min_soc"].get(ev.name, ev.min_soc)
            v2h = own["v2h"].get(ev.name, True)
            evs.append(dataclasses.replace(ev, min_soc=mn, bidirectional=ev.bidirectional and v2h))
            self.storages[ev.name] = dataclasses.replace(
                base, min_soc=mn, max_discharge_w=base.max_discharge_w if v2h else 0.0
            )
            target = own["target_soc"].get(ev.name)
            if target is not None:
                sched = self.departures.get(ev.name)
                if sched is None:
                    sched = self.departures[ev.name] = DepartureSchedule(tz=self.tz)
                sched.set_default_target(target)
        battery = self._base_site.battery
        if battery is not None and self._backup_reserve is not None:
            battery = dataclasses.replace(battery, reserve_soc=self._backup_reserve)
            base = self._base_storages[battery.name]
            self.storages[battery.name] = dataclasses.replace(base, min_soc=self._backup_reserve)
        self.site = dataclasses.replace(self._base_site, evs=tuple(evs), battery=battery)
        self._dep_cache.clear()
        if trigger is not None:
            self._triggers.append(trigger)

    def owner_settings(self) -> OwnerSettings:
        """The settings in force: the owner's where set, else the site document's."""
        return OwnerSettings(
            min_soc={n: s.min_soc for n, s in self.storages.items() if s.kind == "ev"},
            target_soc={n: d.default_target for n, d in self.departures.items()},
            v2h={
                n: s.max_discharge_w > 0
                for n, s in self.storages.items()
                if s.kind == "ev" and self._base_storages[n].max_discharge_w > 0
            },
            backup_reserve=None if self.site.battery is None else self.site.battery.reserve_soc,
        )

    def _owner_snapshot(self) -> dict[str, Any]:
        """Each setting with the site document's value it replaced (see :meth:`_restore_owner`)."""
        base = self._owner_snapshot_bases()
        out: dict[str, Any] = {
            key: {n: [v, base[key].get(n)] for n, v in values.items()}
            for key, values in self._owner.items()
        }
        b = self._base_site.battery
        if self._backup_reserve is not None and b is not None:
            out["backup_reserve"] = [self._backup_reserve, b.reserve_soc]
        return out

    def _restore_owner(self, snap: Any) -> None:
        """Take back the owner's settings, except where the site document changed since:
        a setting whose site-document value differs from the one it replaced is dropped
        (the installer's newer value wins)."""
        if not isinstance(snap, Mapping):
            return
        base = self._owner_snapshot_bases()
        try:
            for key in ("min_soc", "target_soc", "v2h"):
                for name, (value, was) in dict(snap.get(key, {})).items():
                    if name in base[key] and base[key][name] == was:
                        self._owner[key][name] = value
            br = snap.get("backup_reserve")
            b = self._base_site.battery
            if br is not None and b is not None and br[1] == b.reserve_soc:
                self._backup_reserve = float(br[0])
            self._apply_owner(None)
        except (TypeError, ValueError, ControlError, ModelError) as err:
            _LOGGER.warning("owner settings not restored: %s", err)
            self._owner = {"min_soc": {}, "target_soc": {}, "v2h": {}}
            self._backup_reserve = None
            self._apply_owner(None)

    def _owner_snapshot_bases(self) -> dict[str, dict[str, Any]]:
        return {
            "min_soc": {n: s.min_soc for n, s in self._base_storages.items() if s.kind == "ev"},
            "target_soc": {n: self._base_target.get(n) for n in self._base_storages},
            "v2h": {n: s.max_discharge_w > 0 for n, s in self._base_storages.items()},
        }

    def departure_views(self, t_s: float) -> dict[str, DepartureView]:
        """Each plugged-in car's next departure and how its target stands."""
        out: dict[str, DepartureView] = {}
        margin = self.settings.departure_margin_h
        for name, (at_s, target) in self._departure_targets(t_s).items():
            s, lv = self.storages[name], self._live.get(name)
            if lv is None or not lv.plugged or lv.soc is None or s.kind != "ev":
                continue
            target = min(target, s.max_soc)
            state = departure_state(
                lv.soc, target, at_s, t_s, capacity_kwh=s.capacity_kwh,
                max_charge_w=s.max_charge_w, charge_efficiency=s.charge_efficiency,
                margin_h=margin,
            )  # fmt: skip
            expected = reachable_soc(
                lv.soc, at_s, t_s, capacity_kwh=s.capacity_kwh, max_charge_w=s.max_charge_w,
                charge_efficiency=s.charge_efficiency, max_soc=s.max_soc,
            )  # fmt: skip
            out[name] = DepartureView(_utc(at_s), target, state, round(expected, 3))
        return out

    def _peak_readout(self, now: datetime, t_s: float) -> tuple[float | None, float | None]:
        """(the plan's peak budget now, the capacity tariff's running average)."""
        budget = None
        plan = self.plan
        k = None if plan is None else plan.step_at(t_s)
        if plan is not None and k is not None:
            b = plan.month_peak_kw(k)
            budget = None if math.isinf(b) else round(b, 3)
        avg = None
        pt, tp = self.site.peak_tariff, self.site.top_peaks_tariff
        if pt is not None and pt.floor_kw > 0:  # Flanders: a 12-month mean of monthly peaks
            avg = round(self.peaks.flanders_state(now).average_peak_kw(pt.floor_kw), 3)
        elif tp is not None:
            daily = sorted(self.peaks.state_fields(now)["month_daily_peaks_kw"], reverse=True)
            top = daily[: tp.count]
            avg = round(sum(top) / len(top), 3) if top else 0.0
        return budget, avg

    def assume_soc(self, now: datetime, name: str, soc: float) -> None:
        """The owner enters a SoC for a device that cannot read it (counted on from here)."""
        if name not in self.soc:
            raise ControlError(f"no storage device named {name!r}")
        if not isinstance(soc, int | float) or not 0.0 <= soc <= 1.0:
            raise ControlError(f"soc must be within [0, 1], got {soc!r}")
        self.soc[name].assume(float(soc))
        self._soc_known[name] = True
        self._triggers.append("soc_entered")

    def set_import_cap(self, now: datetime, cap_w: float | None, until: datetime | None) -> None:
        """A DSO import cap (W) until a time (None lifts it); see :meth:`set_grid_signal`."""
        if cap_w is not None and (not math.isfinite(cap_w) or cap_w < 0):
            raise ControlError(f"import cap must be a finite number >= 0, got {cap_w!r}")
        self.set_grid_signal(now, SignalKind.IMPORT_CAP, cap_w, source="action", until=until)

    def set_grid_signal(
        self, now: datetime, kind: SignalKind | str, value_w: float | None, *, source: str,
        ttl_s: float | None = None, until: datetime | None = None,
    ) -> None:  # fmt: skip
        """Set, refresh or lift (``value_w`` None) a DSO/aggregator signal.

        ``kind``: ``dim_14a`` (W per controllable device, never below 4.2 kW), ``import_cap``,
        ``export_cap`` (W) or ``setpoint`` (grid exchange W, import positive; expires 60 s
        after the last refresh unless ``ttl_s``/``until`` say otherwise). ``source`` names the
        sender (HA entity, MQTT topic, action); every signal expires and then the plan is back.
        """
        t_s = now.timestamp()
        until_s = None if until is None else until.timestamp()
        k = SignalKind(kind) if kind in {x.value for x in SignalKind} else kind
        if k is SignalKind.DIM_14A and value_w is not None and value_w < DIM_14A_W:
            value_w = DIM_14A_W  # §14a guarantees 4.2 kW per device
        had = self.signals.active.get(k) if isinstance(k, SignalKind) else None
        sig = self.signals.set(t_s, k, value_w, source, ttl_s=ttl_s, until_s=until_s)
        if had is None or sig is None or had.value_w != sig.value_w:
            self._triggers.append("dso")  # a refresh of the same value is no new event

    def set_outage_risk(
        self, now: datetime, active: bool, *, source: str, until: datetime | None = None,
        reserve_soc: float | None = None,
    ) -> None:  # fmt: skip
        """An outage warning (storm, HA entity, action): hold reserves up ahead of time."""
        if not active:
            if self.outage_risk is not None:
                self.outage_risk = None
                self._triggers.append("outage_risk_end")
            return
        if not source:
            raise ControlError("an outage risk needs a source label")
        res = self.island_cfg.outage_risk_reserve if reserve_soc is None else reserve_soc
        if not isinstance(res, int | float) or not 0.0 <= res <= 1.0:
            raise ControlError(f"reserve_soc must be within [0, 1], got {res!r}")
        end = math.inf if until is None else until.timestamp()
        if end <= now.timestamp():
            raise ControlError("the outage risk would end before it starts")
        self.outage_risk = {"source": source, "until_s": end, "reserve_soc": float(res)}
        self._triggers.append("outage_risk")

    # -- plans -----------------------------------------------------------------------------

    def accept_plan(self, now: datetime, seq: int, plan: Plan) -> bool:
        """Take a finished plan if it answers the newest request (or nothing usable is in force)."""
        t_s = now.timestamp()
        usable = self.plan is not None and self.plan.step_at(t_s) is not None
        newer = self.plan is None or seq > self.plan.seq
        if not newer or (seq != self._seq and usable):
            return False
        pt = self.site.peak_tariff
        self.plan = ActivePlan.of(
            seq, plan, now, self._request_soc, pt.tz if pt is not None else self.tz
        )
        self._retry_at_s = None
        return True

    def plan_failed(self, now: datetime, seq: int, error: str) -> Event:
        """A solve failed: keep the last good plan (shifted) or the fallback; retry later."""
        if seq == self._seq:
            self._retry_at_s = now.timestamp() + self.settings.replan_retry_s
        _LOGGER.debug("plan %d failed: %s", seq, error)
        return Event(now, "plan_failed", f"planning failed ({error}); using the previous plan")

    # -- the tick ----------------------------------------------------------------------------

    def observe(self, now: datetime, obs: Observation) -> Step:
        """One fast-loop tick: update state, arbitrate, return commands and a plan request."""
        t_s = now.timestamp()
        events: list[Event] = []
        dt_s = 0.0 if self._last_tick_s is None else max(0.0, t_s - self._last_tick_s)
        self._last_tick_s = t_s
        meter_ok, grid_w, phase_w = self._meter(now, t_s, obs, events)
        self._update_storage(now, t_s, obs, events)
        self._expire(now, t_s, events)
        self._grid_tick(now, t_s, obs, meter_ok, events)
        commands: list[Command] = []
        if self.mode is Mode.OFF:
            commands.extend(self._release_all(now, t_s))
        elif self.island.state in OFF_GRID:
            commands.extend(self._island_commands(now, t_s, obs, events))
        else:
            base = grid_w - sum(lv.power_w for lv in self._live.values() if lv.online)
            tick = Tick(t_s, grid_w, base, phase_w, meter_ok, self._live)
            prop = self._proposal(now, tick, dt_s)
            soc_rules(tick, prop, self.storages, self._departure_targets(t_s),
                      self.settings.departure_margin_h)  # fmt: skip
            if self.mode is not Mode.AUTO:
                mode_rules(tick, prop, self.mode.value)
            if self.boosts:
                boost_rules(tick, prop, self.storages, set(self.boosts))
            if self.signals.active:  # no signal: none of the DSO layers changes anything
                self._signal_rules(tick, prop)
            storages = self._risk_storages()
            tariff = self.site.peak_tariff is not None or self.site.top_peaks_tariff is not None
            if tick.meter_ok and (tariff or self.island.state is IslandState.RECOVERY):
                refill = self.island.state is not IslandState.RECOVERY
                allowed = self._recovery_allowed_w(now)
                recovery_guard(tick, prop, storages, allowed, only_refill=refill)
            safety_rules(tick, prop, storages, self.limits)
            commands.extend(self._emit(now, t_s, prop))
            pv_cmd = self._pv_command(now, t_s, tick, prop, obs)
            if pv_cmd is not None:
                commands.append(pv_cmd)
            self._last_base_w = base if meter_ok else self._last_base_w
            commands.extend(self._restore_stage(now, t_s, tick, prop, events))
        request = self._maybe_request(now, t_s, events)
        return Step(tuple(commands), request, tuple(events))

    def _meter(
        self, now: datetime, t_s: float, obs: Observation, events: list[Event]
    ) -> tuple[bool, float, tuple[float | None, float | None, float | None]]:
        cfg = self.settings
        m = obs.meter
        if m is not None and not _finite_meter(m):
            events.append(Event(now, "bad_reading", "meter: implausible reading"))
            m = None
        at = 0.0 if m is None else m.at.timestamp()
        ok = m is not None and t_s - at <= cfg.meter_timeout_s
        if m is not None and m.stamp is not None:
            stamp = m.stamp.timestamp()
            if self._meter_stamp is None or self._meter_stamp[0] != stamp:
                self._meter_stamp = (stamp, t_s)
            elif t_s - self._meter_stamp[1] > cfg.frozen_meter_s:
                ok = False  # the meter repeats an old telegram
        self._meter_new = False
        last_at = self._last_meter_at_s
        if m is not None and ok and (last_at is None or at > last_at):
            self._last_meter_at_s = at
            if m.at.tzinfo is None:
                self.peaks.observe(m.at, m.power_w, m.energy_import_kwh)  # raises
            self.peaks.observe_s(at, m.power_w, m.energy_import_kwh)
            self._meter_new = self._meter_stamp is None or self._meter_stamp[1] == t_s
        # off grid a dark P1 meter is expected: the island layer decides, not the fail-safe
        ok_flag = True if self.island.state in OFF_GRID else ok
        if ok_flag != (not self._failsafe):
            self._failsafe = not ok_flag
            if self._failsafe:
                events.append(Event(now, "failsafe", "meter reading stale or frozen: safe state"))
            elif not ok:
                why = "off grid: a dark meter is expected, the island layer decides"
                events.append(Event(now, "failsafe_cleared", why))
            else:
                events.append(Event(now, "failsafe_cleared", "meter readings are back"))
        if not ok or m is None:
            return False, 0.0, (None, None, None)
        phases = self._phase_w(m.phase_power_w, m.phase_current_a, m.power_w)
        return True, m.power_w, phases

    def _phase_w(
        self,
        power: tuple[float | None, float | None, float | None],
        current: tuple[float | None, float | None, float | None],
        total_w: float,
    ) -> tuple[float | None, float | None, float | None]:
        """Per-phase import (W); P1 currents are magnitudes, so they take the total's sign."""
        if current == _NO_PHASES:
            return power
        v = self.settings.voltage_v
        sign = 1.0 if total_w >= 0 else -1.0
        out: list[float | None] = []
        for p, i in zip(power, current, strict=True):
            out.append(p if p is not None else (None if i is None else sign * i * v))
        return (out[0], out[1], out[2])

    def _update_storage(
        self, now: datetime, t_s: float, obs: Observation, events: list[Event]
    ) -> None:
        timeout = self.settings.device_timeout_s
        for name, s in self.storages.items():
            o = obs.storage.get(name)
            at_s = 0.0 if o is None else o.at.timestamp()
            fresh = o is not None and o.online and t_s - at_s <= timeout
            if o is not None and fresh and not _plausible(o):
                fresh = False  # a garbled read counts as no read: never as a value
                events.append(Event(now, "bad_reading", f"{name}: implausible reading", name))
            prev = self._live.get(name)
            if o is None or not fresh:
                if name not in self._lost and prev is not None:
                    self._lost.add(name)
                    self._sent.pop(name, None)  # resend everything when it is back
                    events.append(Event(now, "device_lost", f"{name} is not answering", name))
                plugged = prev.plugged if prev is not None else False
                self._live[name] = Live(False, plugged, 0.0, self.soc[name].soc, False)
                continue
            if name in self._lost:
                self._lost.discard(name)
                events.append(Event(now, "device_recovered", f"{name} answers again", name))
            plugged = o.plugged if s.kind == "ev" else True
            if o.soc is not None:
                self._soc_known[name] = True
            elif prev is None or (plugged and not prev.plugged):
                self._soc_known[name] = False  # a plug-in without a reading: assumed only
            counter = self.energy[name]
            if o.at.tzinfo is None:
                counter.observe(o.at, o.power_w, o.energy_in_kwh, o.energy_out_kwh)  # raises
            counter.observe_s(at_s, o.power_w, o.energy_in_kwh, o.energy_out_kwh)
            est = self.soc[name]
            est.observe(o.at, o.soc, counter.energy_in_kwh, counter.energy_out_kwh, plugged)
            if prev is not None and prev.plugged != plugged and s.kind == "ev":
                self._triggers.append("plug" if plugged else "unplug")
                sched = self.departures.get(name)
                if sched is not None:
                    if plugged:
                        sched.observe_plug(now, self._trip_energy(name, o.soc))
                    else:
                        sched.observe_unplug(now)
                        self._soc_at_unplug[name] = est.soc
                    self._dep_cache.pop(name, None)
                if not plugged:
                    self.boosts.pop(name, None)
            self._live[name] = Live(
                True, plugged, o.power_w, est.soc, self._soc_known.get(name, False)
            )

    def _trip_energy(self, name: str, soc_back: float | None) -> float | None:
        """What the trip used: SoC at unplug minus SoC on return (both read), times capacity."""
        before = self._soc_at_unplug.pop(name, None)
        if before is None or soc_back is None or not self._soc_known.get(name, False):
            return None
        return max(0.0, (before - soc_back) * self.storages[name].capacity_kwh)

    def _expire(self, now: datetime, t_s: float, events: list[Event]) -> None:
        for name, b in list(self.boosts.items()):
            lv = self._live.get(name)
            done_time = b.until is not None and now >= b.until
            done_soc = (
                b.target_soc is not None and lv is not None and lv.soc is not None
                and lv.soc >= b.target_soc - 1e-6
            )  # fmt: skip
            if done_time or done_soc:
                del self.boosts[name]
                self._triggers.append("boost_end")
        for sig in self.signals.expire(t_s):
            self._triggers.append("dso_end")
            why = f"{sig.kind.value} from {sig.source} expired: back to the plan"
            events.append(Event(now, "grid_signal_expired", why))
        risk = self.outage_risk
        if risk is not None and t_s >= risk["until_s"]:
            self.outage_risk = None
            self._triggers.append("outage_risk_end")

    # -- grid state, island, signals ---------------------------------------------------------

    def _grid_tick(
        self, now: datetime, t_s: float, obs: Observation, meter_ok: bool, events: list[Event]
    ) -> None:
        """Fuse the grid sources and advance the island machine (events and re-plan on change)."""
        cfg = self.island_cfg
        g = obs.grid
        if self._last_tick_s == t_s and self.island.since_s == 0.0:
            self.island.since_s = t_s  # the machine's clock starts with the first tick
        fresh = g is not None and t_s - g.at.timestamp() <= cfg.grid_timeout_s
        if fresh and g is not None:
            if g.backup_load_w is not None and math.isfinite(g.backup_load_w):
                self._island_load_w = max(0.0, g.backup_load_w)
            if g.island_limit_w is not None and math.isfinite(g.island_limit_w):
                self._island_limit_w = max(0.0, g.island_limit_w)
        self.grid_view = view = fuse_grid(g, t_s, cfg.grid_timeout_s, meter_ok and self._meter_new)
        low, ok = self._energy_levels()
        # (only recovery asks whether everything is back; the check has no side effects)
        restored = (
            self.island.state is IslandState.RECOVERY
            and not self.shedder.shed
            and self._reserves_back()
        )
        new = self.island.step(t_s, view, low_energy=low, energy_ok=ok, restored=restored)
        if new is None:
            end = self._outage_end_s
            if self.island.state in OFF_GRID and end is not None and t_s >= end:
                # it lasts longer than expected: extend
                self._outage_end_s = t_s + cfg.extend_outage_h * 3600.0
                self._triggers.append("outage_extended")
            return
        events.append(Event(now, "island_state", f"{new.value} (grid {view.state.value}, "
                            f"decided by {view.decided_by})"))  # fmt: skip
        self._triggers.append(f"grid_{new.value}")
        if new in OFF_GRID and self._outage_start_s is None:
            self._outage_start_s = t_s
            self._outage_end_s = t_s + cfg.expected_outage_h * 3600.0
            self._sent.clear()
        if new is IslandState.OUTAGE_DETECTED:
            for tier in self.shedder.sheddable():
                if tier.priority >= 3:
                    self.shedder.shed_next(t_s, min_priority=3)
        if new in (IslandState.RESYNCHRONISING, IslandState.RECOVERY):
            self._outage_start_s = self._outage_end_s = None
            self._drop_island_plan()
            self._sent.clear()
        if new is IslandState.ISLANDED_LOW_ENERGY:
            while self.shedder.shed_next(t_s, min_priority=2) is not None:
                pass
            events.append(Event(now, "island_low_energy", "island low on energy: shed to tier 1"))

    def _reserves_back(self) -> bool:
        """Every storage that reads its SoC is back at its normal floor (recovery may end)."""
        for name, s in self.storages.items():
            lv = self._live.get(name)
            if lv is not None and lv.online and lv.soc is not None and lv.soc < s.min_soc - 0.01:
                return False
        return True

    def _drop_island_plan(self) -> None:
        if self.plan is not None and self.plan.seq in self._island_seqs:
            self.plan = None

    def island_floors(self, t_s: float) -> dict[str, float]:
        """Per storage, the SoC it keeps in island: the car's mobility floor, raised to its
        departure target when it leaves before the outage is expected to end; the battery's
        island cut-off."""
        end = self._outage_end_s if self._outage_end_s is not None else t_s
        return {name: self._island_floor(name, s, t_s, end) for name, s in self.storages.items()}

    def _island_floor(self, name: str, s: Storage, t_s: float, end: float) -> float:
        """One storage's :meth:`island_floors` (``end``: the outage's expected end)."""
        cfg = self.island_cfg
        if s.kind == "battery":
            floor = cfg.battery_island_floor
            return s.min_soc if floor is None else floor
        floor = max(s.min_soc, cfg.ev_mobility_floor.get(name, 0.0))
        dep = self._next_departure(name, t_s)
        lv = self._live.get(name)
        if dep is not None and dep[0] <= end and lv is not None and lv.soc is not None:
            floor = max(floor, min(dep[1], lv.soc))
        return floor

    def _energy_levels(self) -> tuple[bool, bool]:
        """(low energy, energy fine) from the island's autonomy; both False outside island."""
        t_s = self._last_tick_s or 0.0
        load = self._island_load_w if self._island_load_w is not None else self._last_base_w
        usable = 0.0
        end = self._outage_end_s if self._outage_end_s is not None else t_s
        for name, s in self.storages.items():
            lv = self._live.get(name)
            if lv is None or lv.soc is None or not lv.online or s.max_discharge_w <= 0:
                continue
            usable += max(0.0, lv.soc - self._island_floor(name, s, t_s, end)) * s.capacity_kwh
        if load is None:
            self._autonomy_h = None
            return False, True
        self._autonomy_h = hours = usable / max(load / 1000.0, 0.05)
        cfg = self.island_cfg
        return hours < cfg.low_energy_enter_h, hours >= cfg.low_energy_exit_h

    def _island_commands(
        self, now: datetime, t_s: float, obs: Observation, events: list[Event]
    ) -> list[Command]:
        """Off grid: balance the island, hold the reserves, shed what it cannot carry."""
        cfg = self.island_cfg
        g: GridObs | None = obs.grid
        source = g.island_source if g is not None else None
        limit = min(
            x for x in (self._island_limit_w, cfg.island_limit_w, math.inf) if x is not None
        )
        load = self._island_load_w
        if load is None:
            load = self._last_base_w or 0.0
        pv_w: float | None = None
        if self._has_pv():
            pv_w = obs.pv.power_w if obs.pv is not None and obs.pv.online else 0.0
        floors = self.island_floors(t_s)
        planned: dict[str, float] = {}
        plan = self.plan
        k = None if plan is None else plan.step_at(t_s)
        if plan is not None and k is not None and plan.seq in self._island_seqs:
            for name in self.storages:
                st = plan.asset_step(name, k)
                if st is not None and st.available:
                    planned[name] = st.power_w
        d = island_dispatch(
            self.storages, self._live, floors, source, load, pv_w, limit, cfg.pv_margin_w,
            planned,
        )  # fmt: skip
        self._unserved_w = d.unserved_w
        out: list[Command] = []
        state = self.island.state
        if state in (IslandState.OUTAGE_DETECTED, IslandState.BLACKOUT):
            reason = "outage: no new charging, waiting for the island"
            for w in d.prop.values():
                if w.watts > 0 and w.source is Source.GRID:
                    w.reason = reason
        gap = t_s - self.shedder.last_change_s
        if d.unserved_w > 1.0 and gap >= 2.0:
            tier = self.shedder.shed_next(t_s)
            if tier is not None:
                why = f"island cannot carry {d.unserved_w:.0f} W more: shed {tier.name}"
                events.append(Event(now, "shed", why))
        elif self._island_short() and gap >= cfg.restore_stage_s / 2:
            tier = self.shedder.shed_next(t_s, min_priority=2)
            if tier is not None:
                events.append(Event(now, "shed", f"energy will not last the outage: {tier.name}"))
        elif state is IslandState.ISLANDED and gap >= cfg.restore_stage_s:
            tier = self.shedder.next_to_restore()
            ok = self._energy_levels()[1]
            if tier is not None and ok and load + tier.expected_w <= 0.9 * d.capacity_w:
                self.shedder.restore(t_s, tier)
                events.append(Event(now, "restore", f"island has room again: {tier.name}"))
        for name, w in d.prop.items():
            if name in self._lost:
                continue
            cmd = self._command(now, t_s, name, CommandKind.POWER, w.watts, Source.GRID, w.reason)
            if cmd is not None:
                out.append(cmd)
            if name == source:
                out.extend(self._reserve_command(now, t_s, name, floors[name]))
        if d.pv_limit_w is not None and obs.pv is not None and obs.pv.online:
            why = "island: PV limited to load plus what storage can take"
            cmd = self._command(now, t_s, PV, CommandKind.PV_LIMIT, d.pv_limit_w, Source.GRID, why)
            if cmd is not None:
                out.append(cmd)
        out.extend(self._load_commands(now))
        return out

    def _island_short(self) -> bool:
        """The island plan expects demand it cannot serve before the outage ends."""
        plan = self.plan
        if plan is None or plan.seq not in self._island_seqs:
            return False
        return sum(plan.plan.import_over_limit_kw) * 0.25 > 0.05

    def _reserve_command(self, now: datetime, t_s: float, name: str, soc: float) -> list[Command]:
        """Program the island source's discharge cut-off to its island floor (renewed)."""
        last = self._reserve_sent.get(name)
        ttl = self.settings.command_ttl_s
        if last is not None and last[0] == soc and t_s - last[1] < ttl / 2:
            return []
        self._reserve_sent[name] = (soc, t_s)
        why = f"island: {name} stops discharging at {soc:.0%}"
        until = now + timedelta(seconds=ttl)
        return [Command(name, CommandKind.RESERVE, soc, Source.GRID, why, until)]

    def _load_commands(self, now: datetime) -> list[Command]:
        """One ``load`` command per switch whose tier changed (0 W: off, None: back on)."""
        out: list[Command] = []
        if not self.island_cfg.tiers:
            return out
        until = now + timedelta(days=1)  # a switch stays where it was put
        for tier in self.island_cfg.tiers:
            off = self.shedder.is_shed(tier.name)
            for ld in tier.loads:
                key = f"load:{ld}"
                if self._loads_sent.get(key) is off:
                    continue
                self._loads_sent[key] = off
                why = f"tier {tier.name} ({'shed' if off else 'restored'})"
                out.append(Command(ld, CommandKind.LOAD, 0.0 if off else None, Source.GRID, why,
                                   until))  # fmt: skip
        return out

    def _recovery_allowed_w(self, now: datetime) -> float:
        """Import allowed this quarter without a new monthly peak (2.5 kW floor)."""
        budget = max(self.peaks.month_peak_kw, 2.5)
        plan = self.plan
        k = None if plan is None else plan.step_at(now.timestamp())
        if plan is not None and k is not None:
            budget = max(budget, min(plan.month_peak_kw(k), budget))
        return self.peaks.allowed_import_w(now, budget)

    def _restore_stage(
        self, now: datetime, t_s: float, tick: Tick, prop: Proposal, events: list[Event]
    ) -> list[Command]:
        """After the grid is back: one tier per stage, only when it fits under the peak."""
        state = self.island.state
        if not self.shedder.shed:
            return self._load_commands(now)
        tier = self.shedder.next_to_restore()
        if tier is None:
            return []
        gap = t_s - self.shedder.last_change_s
        if state is IslandState.GRID_CONNECTED:
            if gap >= self.island_cfg.restore_stage_s:  # recovery timed out: still in stages
                self.shedder.restore(t_s, tier)
                events.append(Event(now, "restore", f"grid connected: {tier.name} back on"))
        elif state is IslandState.RECOVERY and tick.meter_ok:
            since = t_s - self.island.since_s
            budget_w = max(self.peaks.month_peak_kw, 2.5) * 1000.0
            room = min(self._recovery_allowed_w(now), budget_w) - predicted_grid_w(tick, prop)
            if gap >= self.island_cfg.restore_stage_s and (
                room >= tier.expected_w or since > 0.9 * self.island_cfg.recovery_timeout_s
            ):
                self.shedder.restore(t_s, tier)
                events.append(Event(now, "restore", f"recovery stage: {tier.name} back on"))
        return self._load_commands(now)

    def _risk_storages(self) -> dict[str, Storage]:
        """Storages with their floors raised while an outage risk is active."""
        risk = self.outage_risk
        if risk is None:
            return self.storages
        out = dict(self.storages)
        for name, s in self.storages.items():
            floor = self._risk_floor(name, s)
            if floor > s.min_soc:
                out[name] = dataclasses.replace(s, min_soc=floor)
        return out

    def _risk_floor(self, name: str, s: Storage) -> float:
        risk = self.outage_risk
        if risk is None:
            return s.min_soc
        if s.kind == "battery":
            return max(s.min_soc, float(risk["reserve_soc"]))
        return max(s.min_soc, self.island_cfg.ev_mobility_floor.get(name, 0.0))

    def outage_risk_cost_eur(self, now: datetime) -> float | None:
        """Estimated cost of holding the raised reserves: the energy kept back could have
        displaced import at the next 12 h's mean price and was bought at their cheapest."""
        if self.outage_risk is None:
            return None
        held = 0.0
        for name, s in self.storages.items():
            extra = self._risk_floor(name, s) - s.min_soc
            lv = self._live.get(name)
            soc = lv.soc if lv is not None and lv.soc is not None else s.min_soc
            held += max(0.0, min(extra, soc - s.min_soc + extra)) * s.capacity_kwh
        fc = self.forecast
        inputs = None if fc is None else fc.inputs(now, 48)
        if inputs is None:
            return None
        prices = inputs.import_price
        return round(held * max(0.0, float(prices.mean()) - float(prices.min())), 2)

    def _signal_rules(self, tick: Tick, prop: Proposal) -> None:
        """DSO and aggregator signals over the owner and the optimiser (below safety)."""
        sig = self.signals.active
        dim = sig.get(SignalKind.DIM_14A)
        if dim is not None:
            dim_14a_rules(prop, max(dim.value_w, DIM_14A_W))
        if not tick.meter_ok:
            return
        sp = sig.get(SignalKind.SETPOINT)
        if sp is not None:
            name = self._setpoint_device(tick)
            for other, w in prop.items():
                if other != name and w.source in (Source.PLAN, Source.FALLBACK, Source.PEAK):
                    w.watts, w.source = 0.0, Source.DSO  # one device holds the setpoint
                    w.reason = f"aggregator setpoint {sp.value_w:.0f} W: held idle"
            if name is not None:
                s, lv = self.storages[name], tick.live[name]
                last = self._sent.get(name)
                if self._meter_new or last is None or last.kind is not CommandKind.POWER:
                    want = follow_meter(tick, prop, s, lv, sp.value_w)
                else:
                    want = last.value or 0.0
                prop[name] = Want(want, Source.DSO, f"aggregator setpoint {sp.value_w:.0f} W "
                                  f"from {sp.source}")  # fmt: skip
        cap = sig.get(SignalKind.IMPORT_CAP)
        if cap is not None:
            why = f"grid operator caps import at {cap.value_w:.0f} W ({cap.source})"
            hold_import_cap(tick, prop, self.storages, cap.value_w, why)
        exp = sig.get(SignalKind.EXPORT_CAP)
        if exp is not None:
            why = f"grid operator caps export at {exp.value_w:.0f} W ({exp.source})"
            hold_export_cap(tick, prop, exp.value_w, why)

    def _setpoint_device(self, tick: Tick) -> str | None:
        """The device that holds an aggregator setpoint: the follower, else the largest."""
        name = self.settings.follower
        if name is not None and controllable(self.storages[name], tick.live.get(name)):
            return name
        best = None
        for n, s in self.storages.items():
            if controllable(s, tick.live.get(n)) and (
                best is None or s.max_charge_w > self.storages[best].max_charge_w
            ):
                best = n
        return best

    # -- proposals ---------------------------------------------------------------------------

    def _proposal(self, now: datetime, tick: Tick, dt_s: float) -> Proposal:
        plan = self.plan
        k = None if plan is None else plan.step_at(tick.now_s)
        if plan is None or k is None:
            return self._fallback(tick)
        return self._track(now, tick, plan, k, dt_s)

    def _track(self, now: datetime, tick: Tick, plan: ActivePlan, k: int, dt_s: float) -> Proposal:
        """The plan's setpoints; the follower instead closes the grid-exchange error."""
        cfg = self.settings
        prop: Proposal = {}
        planned: dict[str, float] = {}
        for name in self.storages:
            st = plan.asset_step(name, k)
            p = st.power_w if st is not None and st.available else 0.0
            planned[name] = p
            prop[name] = Want(p, Source.PLAN, "optimiser plan")
        follower = self._follower(tick, planned)
        if follower is not None and tick.meter_ok:
            s, lv = self.storages[follower], tick.live[follower]
            last = self._sent.get(follower)
            if self._meter_new or last is None or last.kind is not CommandKind.POWER:
                want = follow_meter(tick, prop, s, lv, plan.grid_target_w(k))
            else:
                # no new reading since the last tick: the old one already contains our last
                # setpoint, so following it again would chase our own change
                want = last.value or 0.0
            prop[follower].watts = want
            prop[follower].reason = "following the meter to the planned grid exchange"
        self._soak(tick, prop, planned, follower, plan.grid_target_w(k))
        for name, w in prop.items():
            last = self._sent.get(name)
            last_w = last.value if last is not None and last.kind is CommandKind.POWER else None
            w.watts = smooth(
                w.watts, last_w, dt_s, deadband_w=cfg.deadband_w,
                ramp_w_per_s=cfg.ramp_w_per_s, hysteresis_w=cfg.hysteresis_w,
            )  # fmt: skip
        if tick.meter_ok:
            budget_kw = max(plan.month_peak_kw(k), self.peaks.month_peak_kw)
            if math.isfinite(budget_kw):
                allowed = self.peaks.allowed_import_w(now, budget_kw)
                guard_peak(tick, prop, self.storages, allowed)
        return prop

    def _soak(
        self, tick: Tick, prop: Proposal, planned: Mapping[str, float], follower: str | None,
        target_w: float,
    ) -> None:  # fmt: skip
        """Store PV the plan did not expect instead of exporting it (rules.soak).

        Without a new meter reading the old one already holds the last soak, so it is held
        rather than chased (as the follower does); a stale meter soaks nothing.
        """
        if not tick.meter_ok:
            self._soaked = {}
            return
        skip = {n for n, p in planned.items() if p < 0}
        if follower is not None:
            skip.add(follower)
        if self._meter_new:
            export_w, caps = soak_export_w(tick, prop, target_w), None
        else:
            export_w, caps = sum(self._soaked.values()), self._soaked
        self._soaked = soak(tick, prop, self.storages, export_w, skip, caps)

    def _follower(self, tick: Tick, planned: Mapping[str, float]) -> str | None:
        """The one device that follows the meter: configured, else the plan's discharger."""
        name = self.settings.follower
        if name is not None:
            return name if controllable(self.storages[name], tick.live.get(name)) else None
        best, best_p = None, -IDLE_W
        for n, p in planned.items():
            s, lv = self.storages[n], tick.live.get(n)
            if p < best_p and lv is not None and controllable(s, lv) and can_discharge(s, lv):
                best, best_p = n, p
        return best

    def _fallback(self, tick: Tick) -> Proposal:
        """No plan covers now: charge what the departures need, soak up PV surplus, no discharge."""
        prop: Proposal = {n: Want(0.0, Source.FALLBACK, "no plan: idle") for n in self.storages}
        deps = self._departure_targets(tick.now_s)
        for name, s in self.storages.items():
            lv = tick.live.get(name)
            if lv is None or not controllable(s, lv) or lv.soc is None:
                continue
            dep = deps.get(name)
            if dep is not None and dep[0] > tick.now_s and lv.soc < dep[1]:
                need_kwh = (min(dep[1], s.max_soc) - lv.soc) * s.capacity_kwh / s.charge_efficiency
                hours = (dep[0] - tick.now_s) / 3600.0
                p = min(s.max_charge_w, need_kwh * 1000.0 / max(hours, 0.25))
                prop[name] = Want(p, Source.FALLBACK, "no plan: charging for the departure")
        if tick.meter_ok:
            for name, s in self.storages.items():
                lv = tick.live.get(name)
                if lv is None or not controllable(s, lv):
                    continue
                extra = surplus_charge_w(tick, prop, name)
                if extra > prop[name].watts:
                    prop[name] = Want(extra, Source.FALLBACK, "no plan: charging from PV surplus")
        return prop

    def _departure_targets(self, t_s: float) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for name in self.departures:
            dep = self._next_departure(name, t_s)
            if dep is not None:
                out[name] = dep
        return out

    def _next_departure(self, name: str, t_s: float) -> tuple[float, float] | None:
        """The next departure (epoch s, target), looked up again only when it may have moved.

        The first departure after ``t0`` stays the first after any ``t`` in ``[t0, it)`` while
        the schedule is unchanged (its :attr:`~DepartureSchedule.version`); "none within two
        weeks" is kept for a minute (the fortnight moves on).
        """
        sched = self.departures.get(name)
        if sched is None:
            return None
        cached = self._dep_cache.get(name)
        if (
            cached is not None
            and cached[1] is sched
            and cached[2] == sched.version
            and t_s >= cached[0]
        ):
            dep = cached[3]
            if dep is None and t_s - cached[0] < 60.0:
                return dep
            if dep is not None and dep[0] > t_s:
                return dep
        nxt = sched.next_departure(_utc(t_s))
        dep = None if nxt is None else (nxt[0].timestamp(), nxt[1])
        self._dep_cache[name] = (t_s, sched, sched.version, dep)
        return dep

    # -- commands ----------------------------------------------------------------------------

    def _emit(self, now: datetime, t_s: float, prop: Proposal) -> list[Command]:
        out: list[Command] = []
        for name, w in prop.items():
            if name in self._lost:
                continue
            cmd = self._command(now, t_s, name, CommandKind.POWER, w.watts, w.source, w.reason)
            if cmd is not None:
                out.append(cmd)
        return out

    def _command(
        self, now: datetime, t_s: float, device: str, kind: CommandKind, value: float | None,
        source: Source, reason: str,
    ) -> Command | None:  # fmt: skip
        """A command when the value or rule changed or the last one is half-way to expiry."""
        ttl = self.settings.command_ttl_s
        last = self._sent.get(device)
        if value is not None:
            value = round(value, 1)
        if (
            last is not None
            and last.kind is kind
            and last.value == value
            and last.source is source
            and (t_s - last.at_s < ttl / 2 or (kind is CommandKind.PV_LIMIT and value is None))
        ):
            return None  # unchanged and not due for renewal ("no PV limit" needs none)
        self._sent[device] = _Sent(kind, value, source, reason, t_s)
        return Command(device, kind, value, source, reason, now + timedelta(seconds=ttl))

    def _release_all(self, now: datetime, t_s: float) -> list[Command]:
        if self._released:
            return []
        self._released = True
        names = [*self.storages, PV] if self._has_pv() else list(self.storages)
        until = now + timedelta(seconds=self.settings.command_ttl_s)
        why = "mode off: control handed back"
        return [Command(n, CommandKind.RELEASE, None, Source.MODE, why, until) for n in names]

    def _has_pv(self) -> bool:
        return self.site.pv is not None

    def _pv_command(
        self, now: datetime, t_s: float, tick: Tick, prop: Proposal, obs: Observation
    ) -> Command | None:
        """Inverter limit: the plan's curtailment and the export limit held on the meter."""
        if not self._has_pv() or obs.pv is None or not obs.pv.online:
            return None
        plan = self.plan
        k = None if plan is None else plan.step_at(t_s)
        limit: float | None = None
        reason = "no limit"
        source = Source.PLAN
        if plan is not None and k is not None:
            limit = plan.pv_limit_w(k)
            if limit is not None:
                reason = "the plan curtails PV (negative price or export limit)"
        last = self._sent.get(PV)
        last_limit = last.value if last is not None else None
        export_cap = self.limits.max_export_w
        sig = self.signals.active.get(SignalKind.EXPORT_CAP)
        if sig is not None and sig.value_w < export_cap:
            export_cap = sig.value_w
        if tick.meter_ok:
            export = -predicted_grid_w(tick, prop)
            pv_w = obs.pv.power_w
            cap_src = Source.EXPORT if sig is None or sig.value_w > export_cap else Source.DSO
            cap_why = "holding the export limit" if cap_src is Source.EXPORT else (
                f"grid operator caps export at {export_cap:.0f} W")  # fmt: skip
            if export > export_cap:
                hold = max(0.0, pv_w - (export - export_cap))
                if limit is None or hold < limit:
                    limit, source, reason = hold, cap_src, cap_why
            elif (
                last is not None
                and last_limit is not None
                and last.source in (Source.EXPORT, Source.DSO)
            ):
                raise_to = pv_w + (export_cap - export)
                if raise_to < pv_w + 1500.0 and (limit is None or raise_to < limit):
                    limit, source, reason = raise_to, cap_src, cap_why
        elif last_limit is not None:
            limit, source, reason = last_limit, Source.FAILSAFE, "meter stale: limit kept"
        if (
            limit is not None
            and last_limit is not None
            and abs(limit - last_limit) < self.settings.deadband_w
        ):
            limit = last_limit
        return self._command(now, t_s, PV, CommandKind.PV_LIMIT, limit, source, reason)

    # -- planning requests ------------------------------------------------------------------

    def _maybe_request(self, now: datetime, t_s: float, events: list[Event]) -> PlanRequest | None:
        if self.mode is Mode.OFF:
            self._triggers.clear()
            return None
        quarter = floor_quarter_s(int(t_s))
        if self._request_quarter != quarter:
            self._triggers.append("quarter")
        if self._retry_at_s is not None and t_s >= self._retry_at_s:
            self._retry_at_s = None
            self._triggers.append("retry")
        self._check_soc_deviation(t_s, quarter)
        if not self._triggers:
            return None
        fc = self.forecast
        inputs = None if fc is None else fc.inputs(now, self.settings.horizon_steps)
        off_grid = self.island.state in OFF_GRID
        if off_grid and inputs is not None:
            inputs = self._island_inputs(now, t_s, inputs)
        min_steps = 1 if off_grid else self.settings.min_plan_steps
        if inputs is None or inputs.steps < min_steps:
            if not self._no_forecast_reported:
                self._no_forecast_reported = True
                why = "no prices/forecast for now: rule-based fallback"
                events.append(Event(now, "no_forecast", why))
            self._request_quarter = quarter
            self._triggers.clear()
            return None
        trigger = ",".join(dict.fromkeys(self._triggers))
        self._triggers.clear()
        self._request_quarter = quarter
        self._seq += 1
        state = self._plan_state(now)
        self._request_soc = dict(state.ev_soc)
        if state.battery_soc is not None and self.site.battery is not None:
            self._request_soc[self.site.battery.name] = state.battery_soc
        site = self._plan_site(now, inputs.steps, state)
        if off_grid:
            site = self._island_site(site, t_s)
            self._island_seqs.add(self._seq)
        elif self.outage_risk is not None:
            site = self._risk_site(site)
        return PlanRequest(self._seq, trigger, now, site, inputs, state)

    def _island_inputs(self, now: datetime, t_s: float, inputs: Inputs) -> Inputs:
        """Re-plan without grid: import cap 0, no export value, horizon = expected outage."""
        end = self._outage_end_s if self._outage_end_s is not None else t_s + 4 * 3600.0
        n = max(1, min(inputs.steps, math.ceil((end - t_s) / STEP_S)))
        cut = slice(0, n)
        return Inputs(
            start=inputs.start, import_price=inputs.import_price[cut],
            export_price=np.zeros(n), load_kw=inputs.load_kw[cut], pv_kw=inputs.pv_kw[cut],
            import_cap_kw=np.zeros(n),
        )  # fmt: skip

    def _island_site(self, site: Site, t_s: float) -> Site:
        """The site in island: no export, reserves at their island floors."""
        floors = self.island_floors(t_s)
        evs = tuple(
            dataclasses.replace(ev, min_soc=min(ev.max_soc, floors.get(ev.name, ev.min_soc)))
            for ev in site.evs
        )
        battery = site.battery
        if battery is not None:
            floor = min(battery.max_soc, floors.get(battery.name, battery.reserve_soc))
            battery = dataclasses.replace(battery, reserve_soc=floor)
        grid = dataclasses.replace(site.grid, export_limit_kw=0.0)
        return dataclasses.replace(site, grid=grid, evs=evs, battery=battery)

    def _risk_site(self, site: Site) -> Site:
        """The site with the reserves an outage warning holds up."""
        evs = tuple(
            dataclasses.replace(
                ev, min_soc=min(ev.max_soc, self._risk_floor(ev.name, self.storages[ev.name]))
            )
            for ev in site.evs
        )
        battery = site.battery
        if battery is not None:
            floor = self._risk_floor(battery.name, self.storages[battery.name])
            battery = dataclasses.replace(battery, reserve_soc=min(battery.max_soc, floor))
        return dataclasses.replace(site, evs=evs, battery=battery)

    def _check_soc_deviation(self, t_s: float, quarter: int) -> None:
        plan = self.plan
        if plan is None or self._soc_trigger_quarter == quarter:
            return
        for name, lv in self._live.items():
            if lv.soc is None or not lv.online:
                continue
            want = plan.planned_soc(name, t_s)
            if want is not None and abs(want - lv.soc) > self.settings.soc_replan:
                self._soc_trigger_quarter = quarter
                self._triggers.append("soc_deviation")
                return

    def _plan_state(self, now: datetime) -> State:
        ev_soc: dict[str, float] = {}
        ev_plugged: dict[str, bool] = {}
        for ev in self.site.evs:
            est = self.soc[ev.name].soc
            ev_soc[ev.name] = min(1.0, max(0.0, est if est is not None else ev.min_soc))
            lv = self._live.get(ev.name)
            ev_plugged[ev.name] = bool(lv is not None and lv.plugged)
        battery_soc = None
        if self.site.battery is not None:
            est = self.soc[self.site.battery.name].soc
            floor = self.site.battery.reserve_soc
            battery_soc = min(1.0, max(0.0, est if est is not None else floor))
        fields = self.peaks.state_fields(now)
        return State(ev_soc=ev_soc, ev_plugged=ev_plugged, battery_soc=battery_soc, **fields)

    def _plan_site(self, now: datetime, steps: int, state: State) -> Site:
        """The site with each car's trips from its departure schedule, lifted to its floor."""
        end = now + timedelta(seconds=STEP_S * steps)
        evs: list[tuple[Ev, tuple[Trip, ...] | None]] = []
        for ev in self.site.evs:
            sched = self.departures.get(ev.name)
            if sched is None:
                evs.append((ev, None))
                continue
            trips = sched.trips(
                now, end, energy_kwh_default=min(10.0, ev.capacity_kwh * 0.2),
                plugged=state.ev_plugged.get(ev.name, False), max_energy_kwh=ev.capacity_kwh,
            )  # fmt: skip
            evs.append((ev, self._moved_trips(ev.name, trips, now)))
        # The same trips on the same site as last time: the same site object (no copies and
        # validation, and the planner's layout check short-cuts on identity).
        key = tuple(t for _, t in evs)
        last = self._plan_site_last
        if last is not None and last[0] is self.site and last[1] == key:
            return last[2]
        out = dataclasses.replace(
            self.site,
            evs=tuple(ev if t is None else dataclasses.replace(ev, trips=t) for ev, t in evs),
        )
        self._plan_site_last = (self.site, key, out)
        return out

    def _moved_trips(self, name: str, trips: tuple[Trip, ...], now: datetime) -> tuple[Trip, ...]:
        """The trips with each departure ``departure_margin_h`` early (see below); the same
        tuple as last time when the trips and which of them move are unchanged."""
        # The departure rule wants the target ``departure_margin_h`` early; a plan made for
        # the departure itself ends every just-in-time charge in a full-power burst (a new
        # quarter peak; found by the backtest). So the plan aims at the rule's time.
        early = timedelta(hours=self.settings.departure_margin_h)
        order = sorted(trips, key=lambda x: x.depart)
        flags, back = [], now  # never before now, never into the previous trip
        for tr in order:
            flags.append(tr.depart - early > back)
            back = max(back, tr.arrive)
        last = self._moved_last.get(name)
        if last is not None and last[0] is trips and last[1] == flags and last[2] == early:
            return last[3]
        moved = tuple(
            dataclasses.replace(tr, depart=tr.depart - early) if move else tr
            for tr, move in zip(order, flags, strict=True)
        )
        self._moved_last[name] = (trips, flags, early, moved)
        return moved

    # -- what the UI shows -----------------------------------------------------------------

    def status(self, now: datetime) -> CoreStatus:
        """The core's state for entities, diagnostics and the demo."""
        plan = self.plan
        t_s = now.timestamp()
        in_force = plan is not None and plan.step_at(t_s) is not None
        devices = {
            n: DeviceStatus(s.value, s.kind, s.source, s.reason, _utc(s.at_s))
            for n, s in self._sent.items()
        }
        budget, capacity_avg = self._peak_readout(now, t_s)
        return CoreStatus(
            mode=self.mode,
            plan_seq=None if plan is None else plan.seq,
            plan_age_s=None if plan is None else t_s - plan.accepted_at.timestamp(),
            plan_source="optimiser" if in_force else "fallback",
            failsafe=self._failsafe,
            lost_devices=tuple(sorted(self._lost)),
            boosts=dict(self.boosts),
            devices=devices,
            month_peak_kw=self.peaks.month_peak_kw,
            socs={n: lv.soc for n, lv in self._live.items()},
            energy_in_kwh={n: c.energy_in_kwh for n, c in self.energy.items()},
            energy_out_kwh={n: c.energy_out_kwh for n, c in self.energy.items()},
            island_state=self.island.state.value,
            island_since=_utc(self.island.since_s),
            grid_state=self.grid_view.state.value,
            grid_decided_by=self.grid_view.decided_by,
            shed_tiers=tuple(sorted(self.shedder.shed)),
            signals=tuple(
                {
                    "kind": s.kind.value,
                    "value_w": s.value_w,
                    "source": s.source,
                    "since": _utc(s.since_s).isoformat(),
                    "expires": None if math.isinf(s.expires_s) else _utc(s.expires_s).isoformat(),
                }
                for s in self.signals.active.values()
            ),
            outage_risk=None
            if self.outage_risk is None
            else {
                "source": self.outage_risk["source"],
                "reserve_soc": self.outage_risk["reserve_soc"],
                "until": None
                if math.isinf(self.outage_risk["until_s"])
                else _utc(self.outage_risk["until_s"]).isoformat(),
                "cost_eur": self.outage_risk_cost_eur(now),
            },
            outage_expected_end=None if self._outage_end_s is None else _utc(self._outage_end_s),
            autonomy_h=self._autonomy_h,
            unserved_w=self._unserved_w,
            island_plan_unserved_kwh=self._island_plan_unserved(),
            departures=self.departure_views(t_s),
            owner=self.owner_settings(),
            peak_budget_kw=budget,
            capacity_average_kw=capacity_avg,
        )

    def _island_plan_unserved(self) -> float | None:
        plan = self.plan
        if plan is None or plan.seq not in self._island_seqs:
            return None
        return round(sum(plan.plan.import_over_limit_kw) * 0.25, 3)

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state that must survive a restart (month peak, energy counters)."""
        return {
            "peaks": self.peaks.snapshot(),
            "energy": {n: c.snapshot() for n, c in self.energy.items()},
            "soc": {n: e.snapshot() for n, e in self.soc.items()},
            "departures": {n: d.snapshot() for n, d in self.departures.items()},
            "island": {"state": self.island.state.value, "shed": sorted(self.shedder.shed)},
            "owner": self._owner_snapshot(),
        }
