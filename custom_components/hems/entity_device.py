"""A wallbox made of Home Assistant entities, for hardware without a local API we can drive.

Wallbox Quasar 2, dcbel, the Ford Charge Station Pro and chargers that already have their own
Home Assistant integration expose power, SoC and a power (or current) setting as entities, not
as Modbus registers. :class:`EntityWallbox` implements the same interface as ``hems_core``'s
wallbox drivers (:class:`hems_core.devices.Wallbox`), so the control Runtime cannot tell it
from a Modbus box: it reads the chosen sensors and writes the setpoint through
``number.set_value``, ``select.select_option`` or any action with the power in its data.

Safety, because these devices have no watchdog we can program:

- an unavailable, unknown, missing, non-numeric or stale input makes ``read_state`` raise a
  :class:`~hems_core.devices.DeviceError`: the Runtime marks the device offline and the core's
  fail-safe takes over. Before raising, a driver that had asked for power writes 0 (best effort),
  so the device does not keep the last setpoint while nobody watches it;
- ``program_watchdog`` arms a watchdog in this driver: a non-zero setpoint that is not renewed
  within the command TTL is set back to 0 on the next read;
- setpoints are clamped to the configured limits (and to a number entity's own min/max), always
  towards 0; a setting that cannot express a value at or below what was asked (a select without
  a 0 option, a number whose range excludes 0) refuses the write instead of asking for more.

:class:`EntityMeter` does the same for the grid meter (a P1 source already in Home Assistant,
such as HomeWizard's or DSMR's sensors).

The site document's fields (``type: entity``) are validated by ``hems_core.config``; the
meaning of each is in ``docs/configuration.md`` ("Entity-backed devices").
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import voluptuous as vol
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from hems_core.config import CarConfig, EndpointConfig, MeterFactory, WallboxFactory
from hems_core.devices.clock import Clock, monotonic_clock
from hems_core.devices.errors import (
    DeviceConnectionError,
    DeviceError,
    PayloadError,
    StaleDataError,
    ValueOutOfRangeError,
    WriteRefusedError,
)
from hems_core.devices.model import MeterReading, WallboxLimits, WallboxState, WallboxStatus

_LOGGER = logging.getLogger(__name__)

#: W per unit of the power units Home Assistant's sensors use.
POWER_UNITS: dict[str, float] = {"W": 1.0, "kW": 1000.0, "MW": 1_000_000.0}
#: An action gets the same value again only after this long (cloud APIs throttle callers).
ACTION_RESEND_S = 60.0
#: Plugged-entity states that mean plugged / unplugged when no ``plugged_states`` are given.
PLUGGED_ON = frozenset({"on", "true", "plugged", "connected"})
PLUGGED_OFF = frozenset({"off", "false", "unplugged", "disconnected"})
_OPTION = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*(W|kW|A)?\s*$")


@dataclass(frozen=True, slots=True)
class EntityWallboxSpec:
    """What an entity-backed wallbox reads and writes (from the site document's options)."""

    name: str
    power_entity: str
    write_mode: str  # number | select | action
    #: the number or select entity, or the action (``domain.service``)
    target: str
    limits: WallboxLimits
    soc_entity: str | None = None
    plugged_entity: str | None = None
    plugged_states: tuple[str, ...] | None = None
    #: a select's options for charge / discharge / stop (None: its options are power values)
    select_modes: tuple[str | None, str | None, str] | None = None
    action_field: str = "power_w"
    action_data: Mapping[str, Any] = field(default_factory=dict)
    power_unit: str = "W"
    setpoint_unit: str = "W"
    #: W per A for current setpoints (voltage × the car's phases)
    watts_per_amp: float = 230.0
    discharge_positive: bool = False
    step: float = 0.0
    stale_after_s: float | None = None

    @classmethod
    def from_config(cls, name: str, endpoint: EndpointConfig, car: CarConfig) -> EntityWallboxSpec:
        """The spec of car ``name``; limits are the car's unless the device's are lower."""
        o = endpoint.options
        charge = car.max_charge_kw if o.get("max_charge_kw") is None else o["max_charge_kw"]
        dis = car.max_discharge_kw if o.get("max_discharge_kw") is None else o["max_discharge_kw"]
        mode = o["write_mode"]
        target = {"number": "setpoint_entity", "select": "select_entity", "action": "action"}
        modes = None
        if mode == "select" and o.get("select_idle") is not None:
            modes = (o.get("select_charge"), o.get("select_discharge"), o["select_idle"])
        return cls(
            name=name,
            power_entity=o["power_entity"],
            write_mode=mode,
            target=o[target[mode]],
            limits=WallboxLimits(
                max_charge_w=min(charge, car.max_charge_kw) * 1000.0,
                max_discharge_w=min(dis, car.max_discharge_kw) * 1000.0,
                min_active_w=car.min_active_w,
            ),
            soc_entity=o.get("soc_entity"),
            plugged_entity=o.get("plugged_entity"),
            plugged_states=o.get("plugged_states"),
            select_modes=modes,
            action_field=o.get("action_field") or "power_w",
            action_data=dict(o.get("action_data") or {}),
            power_unit=o.get("power_unit", "W"),
            setpoint_unit=o.get("setpoint_unit", "W"),
            watts_per_amp=float(o.get("voltage") or 230.0) * len(car.phases),
            discharge_positive=o.get("discharge", "negative") == "positive",
            step=float(o.get("step") or 0.0),
            stale_after_s=o.get("stale_after_s"),
        )


def wallbox_factories(hass: HomeAssistant) -> dict[str, WallboxFactory]:
    """What ``SiteConfig.runtime(wallbox_factories=...)`` needs to build ``entity`` wallboxes."""

    def build(name: str, endpoint: EndpointConfig, car: CarConfig, clock: Clock) -> EntityWallbox:
        return EntityWallbox(hass, EntityWallboxSpec.from_config(name, endpoint, car), clock=clock)

    return {"entity": build}


def meter_factories(hass: HomeAssistant) -> dict[str, MeterFactory]:
    """What ``SiteConfig.runtime(meter_factories=...)`` needs to build an ``entity`` P1 meter."""

    def build(endpoint: EndpointConfig, clock: Clock) -> EntityMeter:
        return EntityMeter(hass, endpoint.options)

    return {"entity": build}


def _usable(hass: HomeAssistant, owner: str, entity_id: str) -> State:
    """A state that carries a value, else the DeviceError that makes the device silent."""
    st = hass.states.get(entity_id)
    if st is None:
        raise DeviceConnectionError(f"{owner}: {entity_id} does not exist")
    if st.state in (STATE_UNAVAILABLE, STATE_UNKNOWN, ""):
        raise DeviceConnectionError(f"{owner}: {entity_id} is {st.state or 'empty'}")
    return st


def _seen(st: State) -> datetime:
    """When the source last wrote this state (also when the value did not change)."""
    seen: datetime = getattr(st, "last_reported", st.last_updated)
    return seen


def _number(state: State, what: str) -> float:
    try:
        value = float(state.state)
    except ValueError:
        raise PayloadError(f"{state.entity_id}: {what} {state.state!r} is not a number") from None
    if not math.isfinite(value):
        raise PayloadError(f"{state.entity_id}: {what} {state.state!r} is not finite")
    return value


def _unit_factor(unit: Any, default: str, entity_id: str) -> float:
    """W per unit of ``unit`` (the entity's own unit first, the configured one without)."""
    unit = unit or default
    factor = POWER_UNITS.get(str(unit))
    if factor is None:
        raise PayloadError(f"{entity_id}: unit {unit!r} is not a power unit (W, kW, MW)")
    return factor


def _toward_zero(value: float, step: float) -> float:
    """``value`` on a multiple of ``step``, never further from 0 than it was."""
    if step <= 0:
        return value
    n = math.floor(abs(value) / step + 1e-9)
    return math.copysign(round(n * step, 9), value) if n else 0.0


class EntityWallbox:
    """A wallbox read from and written to Home Assistant entities (see the module docstring)."""

    def __init__(
        self,
        hass: HomeAssistant,
        spec: EntityWallboxSpec,
        *,
        clock: Clock = monotonic_clock,
        utcnow: Callable[[], datetime] = dt_util.utcnow,
    ) -> None:
        """Keep the spec; nothing is read or written until the Runtime asks."""
        self.hass = hass
        self.spec = spec
        self._clock = clock
        self._utcnow = utcnow
        self._watchdog_s: float | None = None
        #: the last setpoint this driver applied (W, HEMS sign) and when it was asked for
        self._applied_w = 0.0
        self._asked_at: float | None = None
        self._action_sent: tuple[float, float] | None = None  # (value, clock) of the last call

    @property
    def limits(self) -> WallboxLimits:
        """The limits setpoints are clamped to."""
        return self.spec.limits

    # -- reading ---------------------------------------------------------------------------

    def _state(self, entity_id: str) -> State:
        """A usable state, or the DeviceError that makes the Runtime count the device silent."""
        st = _usable(self.hass, self.spec.name, entity_id)
        limit = self.spec.stale_after_s
        if limit is not None:
            age = (self._utcnow() - _seen(st)).total_seconds()
            if age > limit:
                raise StaleDataError(f"{self.spec.name}: {entity_id} not reported for {age:.0f} s")
        return st

    def _plugged(self) -> bool:
        if self.spec.plugged_entity is None:
            return True
        st = self._state(self.spec.plugged_entity)
        word = st.state.strip().lower()
        if self.spec.plugged_states is not None:
            return word in self.spec.plugged_states
        if word in PLUGGED_ON:
            return True
        if word in PLUGGED_OFF:
            return False
        raise PayloadError(f"{st.entity_id}: {st.state!r} says neither plugged nor unplugged")

    async def read_state(self) -> WallboxState:
        """Power (W, + charging), SoC and plug from the entities; silent when one is unusable."""
        if (
            self._watchdog_s is not None
            and self._applied_w != 0.0
            and self._asked_at is not None
            and self._clock() - self._asked_at > self._watchdog_s
        ):
            _LOGGER.warning(
                "%s: setpoint %.0f W not renewed for %.0f s: setting 0",
                self.spec.name,
                self._applied_w,
                self._clock() - self._asked_at,
            )
            await self._zero_best_effort()
        try:
            return self._read()
        except DeviceError:
            await self._zero_best_effort()
            raise

    def _read(self) -> WallboxState:
        spec = self.spec
        st = self._state(spec.power_entity)
        unit = st.attributes.get("unit_of_measurement")
        power = _number(st, "power") * _unit_factor(unit, spec.power_unit, st.entity_id)
        if spec.discharge_positive:
            power = -power
        soc: float | None = None
        if spec.soc_entity is not None:
            soc = _number(self._state(spec.soc_entity), "SoC")
            if not 0.0 <= soc <= 100.0:
                _LOGGER.debug("%s: SoC %s outside 0..100 %%: no SoC", spec.name, soc)
                soc = None
        plugged = self._plugged()
        if power > 1.0:
            status = WallboxStatus.CHARGING
        elif power < -1.0:
            status = WallboxStatus.DISCHARGING
        else:
            status = WallboxStatus.WAITING if plugged else WallboxStatus.DISCONNECTED
        return WallboxState(
            status=status, plugged=plugged, power_w=power, soc_pct=soc, limits=spec.limits
        )

    # -- writing ---------------------------------------------------------------------------

    def _setpoint_factor(self, unit: Any, entity_id: str) -> float:
        """W per unit of the setting (its own unit first; A through voltage and phases)."""
        unit = unit or self.spec.setpoint_unit
        if unit == "A":
            return self.spec.watts_per_amp
        return _unit_factor(unit, self.spec.setpoint_unit, entity_id)

    def clamp(self, watts: float) -> float:
        """``watts`` within the limits; below the minimum active power it is 0."""
        lim = self.spec.limits
        w = min(max(float(watts), -lim.max_discharge_w), lim.max_charge_w)
        if w != 0.0 and abs(w) < lim.min_active_w:
            w = 0.0
        return w

    def _sign(self, watts: float) -> float:
        """HEMS sign (+ charge) ↔ the device's sign (the same operation both ways)."""
        return -watts if self.spec.discharge_positive else watts

    async def set_power(self, watts: float) -> None:
        """Signed setpoint (+ charge, − discharge); 0 stops power. Clamped, never enlarged."""
        w = self.clamp(watts)
        if w != float(watts):
            _LOGGER.debug("%s: %.0f W clamped to %.0f W", self.spec.name, watts, w)
        mode = self.spec.write_mode
        if mode == "number":
            applied = await self._write_number(w)
        elif mode == "select" and self.spec.select_modes is not None:
            applied = await self._write_select_mode(w)
        elif mode == "select":
            applied = await self._write_select(w)
        else:
            applied = await self._write_action(w)
        self._applied_w = applied
        self._asked_at = self._clock()

    async def _call(self, domain: str, service: str, data: dict[str, Any]) -> None:
        target = f"{domain}.{service}"
        _LOGGER.debug("%s: %s %s", self.spec.name, target, data)
        try:
            await self.hass.services.async_call(domain, service, data, blocking=True)
        except (HomeAssistantError, vol.Invalid, ValueError) as err:
            raise WriteRefusedError(f"{self.spec.name}: {target} refused: {err}") from err

    def _target(self) -> State:
        st = self.hass.states.get(self.spec.target)
        if st is None or st.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            why = "does not exist" if st is None else f"is {st.state}"
            raise DeviceConnectionError(f"{self.spec.name}: {self.spec.target} {why}")
        return st

    async def _write_number(self, w: float) -> float:
        st = self._target()
        factor = self._setpoint_factor(st.attributes.get("unit_of_measurement"), st.entity_id)
        value = self._sign(w) / factor
        lo = float(st.attributes.get("min", -math.inf))
        hi = float(st.attributes.get("max", math.inf))
        clamped = min(max(value, lo), hi)
        if clamped * value < 0 or abs(clamped) > abs(value) + 1e-9:
            raise ValueOutOfRangeError(
                f"{self.spec.name}: {st.entity_id} cannot take {value:g} or less "
                f"(range {lo:g}..{hi:g})"
            )
        step = self.spec.step or float(st.attributes.get("step", 0.0) or 0.0)
        value = _toward_zero(clamped, step)
        try:
            current = float(st.state)
        except ValueError:
            current = math.nan
        if not abs(current - value) < 1e-9:
            domain = st.entity_id.split(".", 1)[0]
            await self._call(domain, "set_value", {"entity_id": st.entity_id, "value": value})
        return self._sign(value * factor)

    async def _write_select(self, w: float) -> float:
        st = self._target()
        best: tuple[float, str] | None = None
        for option in st.attributes.get("options", []):
            m = _OPTION.match(str(option))
            if m is None:
                continue
            factor = self._setpoint_factor(m.group(2), st.entity_id)
            ow = self._sign(float(m.group(1).replace(",", ".")) * factor)
            if not (0.0 <= ow <= w if w >= 0 else w <= ow <= 0.0):
                continue  # the other direction, or more than asked
            if best is None or abs(ow) > abs(best[0]):
                best = (ow, str(option))
        if best is None:
            raise ValueOutOfRangeError(
                f"{self.spec.name}: {st.entity_id} has no option at or below {w:.0f} W"
            )
        if st.state != best[1]:
            domain = st.entity_id.split(".", 1)[0]
            await self._call(
                domain, "select_option", {"entity_id": st.entity_id, "option": best[1]}
            )
        return best[0]

    async def _write_select_mode(self, w: float) -> float:
        """A mode select: the device picks the power; we pick the direction (or stop)."""
        st = self._target()
        charge, discharge, idle = self.spec.select_modes or (None, None, "")
        option, applied = idle, 0.0
        if w > 0 and charge is not None:
            option, applied = charge, w
        elif w < 0 and discharge is not None:
            option, applied = discharge, w
        if option not in st.attributes.get("options", []):
            raise ValueOutOfRangeError(f"{self.spec.name}: {st.entity_id} has no option {option!r}")
        if st.state != option:
            domain = st.entity_id.split(".", 1)[0]
            await self._call(domain, "select_option", {"entity_id": st.entity_id, "option": option})
        return applied

    async def _write_action(self, w: float) -> float:
        factor = self._setpoint_factor(None, self.spec.target)
        value = _toward_zero(self._sign(w) / factor, self.spec.step)
        now = self._clock()
        last = self._action_sent
        if last is not None and last[0] == value and now - last[1] < ACTION_RESEND_S:
            return self._sign(value * factor)
        domain, service = self.spec.target.split(".", 1)
        data = {**self.spec.action_data, self.spec.action_field: value}
        self._action_sent = None  # a failed call is retried on the next command
        await self._call(domain, service, data)
        self._action_sent = (value, now)
        return self._sign(value * factor)

    async def _zero_best_effort(self) -> None:
        """Power 0 when this driver had asked for power (errors only logged: we are failing)."""
        if self._applied_w == 0.0:
            return
        try:
            await self.set_power(0.0)
        except DeviceError as err:
            _LOGGER.warning("%s: could not set 0 W: %s", self.spec.name, err)

    # -- the rest of the Wallbox interface -------------------------------------------------

    async def start(self) -> None:
        """Nothing to start: the setpoint alone says whether power flows."""

    async def stop(self) -> None:
        """Power 0."""
        await self.set_power(0.0)

    async def program_watchdog(self, timeout_s: float) -> bool:
        """Arm this driver's own watchdog (the entities have none): True."""
        self._watchdog_s = float(timeout_s)
        return True

    async def release(self) -> None:
        """Power 0; the device's own app or integration is in charge again."""
        await self.set_power(0.0)

    async def close(self) -> None:
        """No connection of our own to close."""


class EntityMeter:
    """The grid meter read from Home Assistant sensors (HomeWizard's, DSMR's, a P1 integration's).

    Net power from one sensor (+ import), or import and export from two; optional phase
    currents (magnitudes, as P1 meters report them) for the per-phase fuse guard. A reading is
    new only when one of its sensors was written again (``last_reported``): the same states give
    the same :class:`MeterReading` object, so the Runtime sees nothing new and the core's
    freshness rules (``meter_timeout_s``, ``frozen_meter_s``) decide when the meter is silent.
    A missing, unavailable or non-numeric power sensor raises a DeviceError: no reading.
    """

    def __init__(self, hass: HomeAssistant, options: Mapping[str, Any]) -> None:
        """Keep the entity ids; nothing is read until the Runtime asks."""
        self.hass = hass
        self.power_entity: str | None = options.get("power_entity")
        self.import_entity: str | None = options.get("import_power_entity")
        self.export_entity: str | None = options.get("export_power_entity")
        self.current_entities: tuple[str | None, str | None, str | None] = (
            options.get("current_l1_entity"),
            options.get("current_l2_entity"),
            options.get("current_l3_entity"),
        )
        self.power_unit: str = options.get("power_unit") or "W"
        self._key: tuple[Any, ...] | None = None
        self._last: MeterReading | None = None

    async def connect(self) -> None:
        """Nothing to connect: the sensors may come up after us (until then: no reading)."""

    def _watts(self, st: State) -> float:
        unit = st.attributes.get("unit_of_measurement")
        return _number(st, "power") * _unit_factor(unit, self.power_unit, st.entity_id)

    async def read(self) -> MeterReading:
        """The newest reading; the previous object while no sensor was written again."""
        ids = [e for e in (self.power_entity, self.import_entity, self.export_entity) if e]
        states = [_usable(self.hass, "meter", e) for e in ids]
        currents = [None if e is None else self.hass.states.get(e) for e in self.current_entities]
        key = tuple((st.entity_id, _seen(st), st.state) for st in states) + tuple(
            None if c is None else (c.state, _seen(c)) for c in currents
        )
        if key == self._key and self._last is not None:
            return self._last
        imp_w = exp_w = None
        if self.power_entity is not None:
            power = self._watts(states[0])
        else:
            imp_w, exp_w = abs(self._watts(states[0])), abs(self._watts(states[1]))
            power = imp_w - exp_w
        amps: list[float | None] = []
        for c in currents:
            try:
                amps.append(None if c is None else abs(_number(c, "current")))
            except PayloadError:
                amps.append(None)  # unavailable phase current: the guard uses the total
        reading = MeterReading(
            timestamp=max(_seen(st) for st in states),
            power_w=power,
            power_import_w=imp_w,
            power_export_w=exp_w,
            current_a=(amps[0], amps[1], amps[2]),
        )
        self._key, self._last = key, reading
        return reading

    async def close(self) -> None:
        """No connection of our own to close."""
