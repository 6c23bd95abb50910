"""The physical home a backtest runs against: sans-IO, stepped by the runner.

It holds what is true (load, PV, each car's real SoC and plug state, the home battery, the
grid meter) and applies setpoints the way hardware does: clipped to the device's limits, to
what the battery can take or give within the step, to a DSO cap, and forgotten when they
expire. The grid connection is physical too: charging that would draw more than the import
limit is cut (biggest first, as a charger's load management or the main fuse would force
it; the house load itself is never cut), and export beyond the export limit first curtails
PV, then discharge. What was cut is metered (``Home.clipped_kwh``). Controllers only see
:meth:`Home.observation` (what a P1 meter and the chargers would report), never the future.
Everything is metered per clock quarter for the KPIs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..model import Chemistry, WearModel
from ..scenario import FloatArray, Scenario, Session
from ..timegrid import STEP_S

BATTERY = "battery"
PV = "pv"
#: The car's own floor: the BMS never gives more than this (SoC fraction).
PHYSICAL_MIN_SOC = 0.02


@dataclass
class Device:
    """One storage device's physical state."""

    name: str
    kind: str
    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    efficiency: float
    soc: float
    plugged: bool
    wear: WearModel
    session: Session | None = None
    setpoint_w: float = 0.0
    expires_s: float = -math.inf
    stop_soc: float | None = None  # a charge setpoint that ends at this SoC (a rule's target)
    power_w: float = 0.0
    last_sign: int = 0
    switches: int = 0
    charged_kwh: float = 0.0  # AC side
    discharged_kwh: float = 0.0
    battery_in_kwh: float = 0.0  # cell side
    battery_out_kwh: float = 0.0
    calendar_eur: float = 0.0
    shortfall_kwh: float = 0.0
    shortfalls: int = 0
    departures: int = 0


@dataclass
class Meters:
    """Per-quarter energies of the controlled period (kWh) and traces for the report."""

    import_kwh: FloatArray
    export_kwh: FloatArray
    stored_export_kwh: FloatArray
    pv_used_kwh: FloatArray
    pv_kwh: FloatArray
    storage_kw: dict[str, FloatArray] = field(default_factory=dict)
    soc: dict[str, FloatArray] = field(default_factory=dict)


class Home:
    """The home's physics over one scenario (see the module docstring)."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.devices: dict[str, Device] = {}
        for ev in sc.evs:
            chem = Chemistry(ev.chemistry)
            power = max(ev.max_charge_kw, ev.max_discharge_kw, 1.0)
            self.devices[ev.name] = Device(
                ev.name, "ev", ev.capacity_kwh, ev.max_charge_kw * 1000,
                ev.max_discharge_kw * 1000, ev.efficiency, ev.soc, False,
                WearModel.for_chemistry(chem, max_power_kw=power),
            )  # fmt: skip
        if sc.battery is not None:
            b = sc.battery
            self.devices[BATTERY] = Device(
                BATTERY, "battery", b.capacity_kwh, b.max_kw * 1000, b.max_kw * 1000,
                b.efficiency, b.soc, True,
                WearModel.for_chemistry(Chemistry.LFP, max_power_kw=max(b.max_kw, 1.0)),
            )  # fmt: skip
        self._pending = {name: [s for s in sc.sessions if s.ev == name] for name in self.devices}
        self.pv_limit_w: float | None = None
        self.pv_limit_expires_s = -math.inf
        n = sc.days * 96
        z = np.zeros
        self.meters = Meters(z(n), z(n), z(n), z(n), z(n))
        for name in self.devices:
            self.meters.storage_kw[name] = z(n)
            self.meters.soc[name] = z(n)
        self.grid_w = 0.0
        self.events = sorted(sc.events, key=lambda e: e.start_s)
        self.errors: list[str] = []  # controller exceptions the runner caught
        self.clipped_kwh = 0.0  # storage/PV energy the grid limits cut (AC side)
        #: The meter's cumulative import register (kWh), as a P1/DSMR meter reports it.
        self.import_counter_kwh = 0.0

    # -- what the devices report -------------------------------------------------------------

    def cap_w(self, t_s: float) -> float | None:
        """The DSO cap on each controllable device's charge power now (W), if any."""
        for e in self.events:
            if e.start_s <= t_s < e.end_s:
                return e.kw * 1000.0
        return None

    def load_pv_kw(self, t_s: float) -> tuple[float, float]:
        """True house load and PV potential now."""
        i = self.sc.index(t_s)
        return float(self.sc.load_kw[i]), float(self.sc.pv_kw[i])

    def update_plugs(self, t_s: float) -> list[tuple[str, bool]]:
        """Arrivals and departures up to ``t_s``; returns the changes."""
        changes: list[tuple[str, bool]] = []
        for name, d in self.devices.items():
            if d.kind != "ev":
                continue
            if d.plugged and d.session is not None and t_s >= d.session.depart_s:
                self._depart(d)
                changes.append((name, False))
            pending = self._pending[name]
            while pending and pending[0].depart_s <= t_s:
                pending.pop(0)  # a session wholly before now (start mid-way): skip
            if not d.plugged and pending and pending[0].arrive_s <= t_s:
                s = pending.pop(0)
                if t_s > self.sc.start_s or s.arrive_s >= self.sc.start_s:
                    d.soc = max(PHYSICAL_MIN_SOC, d.soc - s.trip_kwh / d.capacity_kwh)
                d.session, d.plugged = s, True
                changes.append((name, True))
        return changes

    def _depart(self, d: Device) -> None:
        s = d.session
        assert s is not None
        d.departures += 1
        short = max(0.0, s.target_soc - d.soc) * d.capacity_kwh
        if short > 0.005 * d.capacity_kwh:
            d.shortfall_kwh += short
            d.shortfalls += 1
        d.plugged, d.session, d.power_w = False, None, 0.0

    # -- setpoints ---------------------------------------------------------------------------

    def set_power(
        self, name: str, watts: float, expires_s: float = math.inf, stop_soc: float | None = None
    ) -> None:
        """A setpoint (W, + charges) held until ``expires_s``.

        ``stop_soc``: charging ends at this SoC within the step. A controller ticking every few
        seconds drops a "charge to the target" rule the moment the target is reached; a
        backtest tick of minutes must not turn a 0.1 % top-up into a quarter at full power.
        """
        d = self.devices.get(name)
        if d is None or not math.isfinite(watts):
            return
        d.setpoint_w, d.expires_s, d.stop_soc = watts, expires_s, stop_soc

    def set_pv_limit(self, watts: float | None, expires_s: float = math.inf) -> None:
        """Inverter AC limit (None lifts it)."""
        self.pv_limit_w, self.pv_limit_expires_s = watts, expires_s

    def _actual_w(self, d: Device, t_s: float, dt_s: float) -> float:
        """What the device really does: the setpoint within its limits and energy window."""
        if d.kind == "ev" and not d.plugged:
            return 0.0
        w = d.setpoint_w if t_s < d.expires_s else 0.0
        up = d.max_charge_w
        cap = self.cap_w(t_s)
        if cap is not None:
            up = min(up, cap)
        w = min(max(w, -d.max_discharge_w), up)
        h = dt_s / 3600.0
        if w > 0:
            top = 1.0 if d.stop_soc is None else min(1.0, d.stop_soc)
            room = max(0.0, top - d.soc) * d.capacity_kwh / d.efficiency
            w = min(w, room * 1000.0 / h)
        elif w < 0:
            floor = PHYSICAL_MIN_SOC if d.kind == "ev" else 0.0
            avail = max(0.0, d.soc - floor) * d.capacity_kwh * d.efficiency
            w = max(w, -avail * 1000.0 / h)
        return w

    def meter_w(self, t_s: float) -> float:
        """Grid power the meter reads now (import positive), with the devices' present powers."""
        load, pv = self.load_pv_kw(t_s)
        return (load - self._pv_used_kw(pv, t_s)) * 1000.0 + sum(
            d.power_w for d in self.devices.values()
        )

    def meter_and_pv_used(self, t_s: float) -> tuple[float, float]:
        """(:meth:`meter_w`, the PV used now in kW): one look-up for the observation."""
        load, pv = self.load_pv_kw(t_s)
        used = self._pv_used_kw(pv, t_s)
        return (load - used) * 1000.0 + sum(d.power_w for d in self.devices.values()), used

    def _pv_used_kw(self, pv_kw: float, t_s: float) -> float:
        if self.pv_limit_w is not None and t_s < self.pv_limit_expires_s:
            return min(pv_kw, max(0.0, self.pv_limit_w) / 1000.0)
        return pv_kw

    # -- physics -----------------------------------------------------------------------------

    def _grid_limits(
        self, load_kw: float, pv_kw: float, powers: dict[str, float], h: float
    ) -> float:
        """Cut ``powers`` (W, in place) to the connection's limits; returns the PV used (kW)."""
        imp_w = self.sc.grid_import_kw * 1000.0
        exp_w = self.sc.grid_export_kw * 1000.0
        base_w = (load_kw - pv_kw) * 1000.0
        over = base_w + sum(powers.values()) - imp_w
        if over > 1e-6:
            for name in sorted(powers, key=lambda k: -powers[k]):  # the biggest charge first
                if over <= 1e-6 or powers[name] <= 0:
                    break
                cut = min(powers[name], over)
                powers[name] -= cut
                over -= cut
                self.clipped_kwh += cut / 1000.0 * h
        under = -(base_w + sum(powers.values())) - exp_w
        if under > 1e-6:
            curtail = min(pv_kw * 1000.0, under)
            pv_kw -= curtail / 1000.0
            under -= curtail
            self.clipped_kwh += curtail / 1000.0 * h
            for name in sorted(powers, key=lambda k: powers[k]):  # the biggest discharge first
                if under <= 1e-6 or powers[name] >= 0:
                    break
                cut = min(-powers[name], under)
                powers[name] += cut
                under -= cut
                self.clipped_kwh += cut / 1000.0 * h
        return pv_kw

    def advance(self, t_s: float, dt_s: float) -> None:
        """Run ``dt_s`` seconds from ``t_s`` (within one clock quarter) and meter it."""
        q = int((t_s - self.sc.start_s) // STEP_S)
        load, pv = self.load_pv_kw(t_s)
        pv_used = self._pv_used_kw(pv, t_s)
        h = dt_s / 3600.0
        total = 0.0
        dis_w = 0.0
        m = self.meters
        powers = {name: self._actual_w(d, t_s, dt_s) for name, d in self.devices.items()}
        pv_used = self._grid_limits(load, pv_used, powers, h)
        for d in self.devices.values():
            w = powers[d.name]
            d.power_w = w
            total += w
            sign = 1 if w > 50 else -1 if w < -50 else 0
            if sign and d.last_sign and sign != d.last_sign:
                d.switches += 1
            if sign:
                d.last_sign = sign
            kwh = abs(w) / 1000.0 * h
            if w > 0:
                d.charged_kwh += kwh
                d.battery_in_kwh += kwh * d.efficiency
                d.soc = min(1.0, d.soc + kwh * d.efficiency / d.capacity_kwh)
            elif w < 0:
                dis_w += -w
                d.discharged_kwh += kwh
                d.battery_out_kwh += kwh / d.efficiency
                d.soc = max(0.0, d.soc - kwh / d.efficiency / d.capacity_kwh)
            for thr in d.wear.calendar:
                above = max(0.0, d.soc - thr.soc) * d.capacity_kwh
                d.calendar_eur += thr.eur_per_kwh_h * above * h
            m.storage_kw[d.name][q] += w / 1000.0 * dt_s / STEP_S
            m.soc[d.name][q] = d.soc
        grid_kw = load - pv_used + total / 1000.0
        self.grid_w = grid_kw * 1000.0
        m.import_kwh[q] += max(grid_kw, 0.0) * h
        self.import_counter_kwh += max(grid_kw, 0.0) * h
        exp = max(-grid_kw, 0.0)
        m.export_kwh[q] += exp * h
        m.stored_export_kwh[q] += min(exp, dis_w / 1000.0) * h
        m.pv_used_kwh[q] += pv_used * h
        m.pv_kwh[q] += pv * h
