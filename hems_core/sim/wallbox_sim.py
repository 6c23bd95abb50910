"""Simulated Modbus wallboxes: a register table in front of a physical EV battery.

The simulator serves a register table of its own: for the vendor boxes the tables of
:mod:`hems_core.sim.vendor_tables`, written from vendor documents (never the driver's map, so
a wrong address, scale, sign or word order in a driver fails its tests); for a user-defined
YAML map the user's map itself (it is the user's definition of the device). It turns
the control registers into a power request, lets the :class:`EvBattery` follow it, and writes
the measurements back into the map's read registers. It behaves like hardware where it
matters for safety:

- writes to registers the map does not declare writable answer ``ILLEGAL DATA ADDRESS``,
  out-of-range values ``ILLEGAL DATA VALUE``;
- a **watchdog**: when no Modbus message arrives within the idle timeout (the map's watchdog
  register, or a fixed ``comm_timeout_s`` for boxes without one) the box stops the session
  and the power really ramps to zero;
- Sigenergy EVDC latches an unrecoverable error when 0 is written to its charge limit;
- ``single_write_only`` boxes (Quasar 1: every documented client writes with FC06) answer
  FC16 with ``ILLEGAL FUNCTION``; registers marked ``single_write`` do so individually;
- remote control (Quasar): while the control register says "user", the box follows its owner
  app (autostart charging on plug-in at full power); handing control back to the user resets
  autostart to enabled, the setpoint type to current and the idle timeout to 0, as documented.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from hems_core.devices.clock import Clock
from hems_core.devices.errors import ModbusExceptionError, ValueOutOfRangeError
from hems_core.devices.modbus_codec import (
    EXC_ILLEGAL_ADDRESS,
    EXC_ILLEGAL_FUNCTION,
    EXC_ILLEGAL_VALUE,
    FC_WRITE_MULTIPLE,
    FC_WRITE_SINGLE,
    RegisterSpec,
    encode_raw,
)
from hems_core.devices.model import WallboxStatus
from hems_core.devices.regmap import DeviceMap, parse_device_map

from .ev import EvBattery, EvParams
from .faults import Faults


class ModbusWallboxSim:
    """A register-level wallbox model (backend for :class:`ModbusServer`)."""

    def __init__(
        self,
        device_map: DeviceMap | Mapping[str, Any],
        ev: EvParams,
        clock: Clock,
        *,
        faults: Faults | None = None,
        comm_timeout_s: float = 60.0,
        noise_w: float = 3.0,
        seed: int = 1,
        single_write_only: bool = False,
    ) -> None:
        self.map = device_map if isinstance(device_map, DeviceMap) else parse_device_map(device_map)
        self.clock = clock
        self.faults = faults if faults is not None else Faults()
        self.ev = EvBattery(ev, start_time=clock())
        self.comm_timeout_s = comm_timeout_s
        self.noise_w = noise_w
        self._rng = random.Random(seed)
        self.words: dict[tuple[str, int], int] = {}
        self.last_message = clock()
        self.watchdog_trips = 0
        self.latched_error = False
        self.writes: list[tuple[str, float]] = []
        #: function code of every accepted or refused write, in order
        self.write_functions: list[int] = []
        self.single_write_only = single_write_only
        self._user_charging = False
        self._was_plugged = self.ev.plugged_at(clock())
        self._last_power = 0.0
        for spec in self.map.registers.values():
            for i in range(spec.width):
                self.words[(spec.table, spec.address + i)] = 0
        if "stop" in self.map.constants and "start_stop" in self.map.roles:
            self._set("start_stop", self.map.constants["stop"])
        if "max_charge" in self.map.roles:
            self._set("max_charge", min(ev.max_charge_w, self.map.limits.max_charge_w))
        if "max_discharge" in self.map.roles:
            self._set("max_discharge", min(ev.max_discharge_w, self.map.limits.max_discharge_w))
        if "charge_limit" in self.map.roles:
            spec = self.map.require("charge_limit")
            self._store(spec, spec.minimum or 0.0)
        if "autostart" in self.map.roles:
            self._set("autostart", 1.0)  # factory default: start on plug-in
        if "setpoint_mode" in self.map.roles:
            self._set("setpoint_mode", 0.0)  # factory default: current setpoint
        self._status_codes = self._invert_status()
        self._refresh()

    # --- register image -----------------------------------------------------------------
    def _invert_status(self) -> dict[WallboxStatus, int]:
        codes: dict[WallboxStatus, int] = {}
        for raw, status in sorted(self.map.status_map.items()):
            codes.setdefault(status, raw)
        return codes

    def _store(self, spec: RegisterSpec, value: float) -> None:
        """Store a value as the device would measure it (no write limits on measurements)."""
        raw = encode_raw(spec.type, value / spec.scale, spec.word_order, name=spec.name)
        for i, word in enumerate(raw):
            self.words[(spec.table, spec.address + i)] = word

    def _get(self, role: str) -> float | None:
        spec = self.map.role(role)
        if spec is None:
            return None
        return spec.decode([self.words[(spec.table, spec.address + i)] for i in range(spec.width)])

    def _set(self, role: str, value: float) -> None:
        spec = self.map.role(role)
        if spec is not None:
            self._store(spec, value)

    def value(self, role: str) -> float | None:
        """The current value of the register playing ``role`` (for tests)."""
        return self._get(role)

    @property
    def remote(self) -> bool:
        """True while a controller holds remote control (always, for boxes without the notion)."""
        if self.map.role("remote_enable") is None:
            return True
        return self._get("remote_enable") == self.map.constant("remote_enable")

    def _hand_back(self) -> None:
        """Control returns to the user: documented side effects on the Quasar."""
        self._set("remote_enable", 0.0)
        self._set("autostart", 1.0)
        self._set("setpoint_mode", 0.0)
        if "watchdog" in self.map.roles:
            self._set("watchdog", 0.0)
        self._user_charging = False

    # --- control semantics --------------------------------------------------------------
    def requested_power(self) -> float:
        """The AC power the box's control registers ask for."""
        if self.latched_error:
            return 0.0
        if not self.remote:
            # the owner app's default: full charge power after an autostart
            return self.ev.params.max_charge_w if self._user_charging else 0.0
        if "start_stop" in self.map.roles and self._get("start_stop") != self.map.constant("start"):
            return 0.0
        if "setpoint_mode" in self.map.roles and self._get("setpoint_mode") != self.map.constant(
            "setpoint_mode"
        ):
            current = self.map.registers.get("current_setpoint")
            if current is None:
                return 0.0
            return float(current.decode([self.words[(current.table, current.address)]])) * 230.0
        if "setpoint" in self.map.roles:
            return self._get("setpoint") or 0.0
        discharge = self._get("discharge_limit") or 0.0
        if discharge > 0:
            return -discharge
        return self._get("charge_limit") or 0.0

    def watchdog_timeout(self) -> float:
        """Seconds of silence after which the box stops (0 = disabled)."""
        if "watchdog" in self.map.roles:
            return self._get("watchdog") or 0.0
        return self.comm_timeout_s

    def _trip_watchdog(self) -> None:
        self.watchdog_trips += 1
        if "start_stop" in self.map.roles:
            self._set("start_stop", self.map.constant("stop"))
        elif "setpoint" in self.map.roles:
            self._set("setpoint", 0.0)
        if "remote_enable" in self.map.roles:
            self._hand_back()  # Quasar: control returns to the user

    def _plug_events(self, now: float) -> None:
        """Autostart: a plug-in while autostart is enabled starts a session by itself."""
        plugged = self.ev.plugged_at(now)
        if plugged and not self._was_plugged and self._get("autostart") == 1.0:
            if self.remote and "start_stop" in self.map.roles:
                self._set("start_stop", self.map.constant("start"))
            elif not self.remote:
                self._user_charging = True
        if not plugged:
            self._user_charging = False
        self._was_plugged = plugged

    def advance(self) -> None:
        """Bring the physics up to the clock (watchdog included)."""
        now = self.clock()
        self._plug_events(now)
        timeout = self.watchdog_timeout()
        if timeout > 0 and now - self.last_message > timeout and self.requested_power() != 0:
            # run the physics up to the moment the watchdog fired, then stop
            self.ev.advance(self.last_message + timeout, self.requested_power())
            self._trip_watchdog()
        self.ev.advance(now, self.requested_power())
        if not self.faults.frozen:
            self._refresh()

    def _status(self) -> WallboxStatus:
        if self.latched_error:
            return WallboxStatus.ERROR
        if not self.ev.plugged_at(self.ev.time):
            return WallboxStatus.DISCONNECTED
        if self.ev.power_w > 1:
            return WallboxStatus.CHARGING
        if self.ev.power_w < -1:
            return WallboxStatus.DISCHARGING
        return WallboxStatus.WAITING

    def _refresh(self) -> None:
        power = self.ev.power_w
        if power != 0:
            # measurement noise; never two identical readings in a row while power flows
            power = round(power + self._rng.uniform(-self.noise_w, self.noise_w))
            if power == self._last_power:
                power += 1
            self._last_power = power
        self._set("power", power)
        status = self._status()
        code = self._status_codes.get(status)
        if code is None and status is WallboxStatus.DISCHARGING:
            code = self._status_codes.get(WallboxStatus.CHARGING)
        if code is None and status is WallboxStatus.WAITING:
            code = self._status_codes.get(WallboxStatus.PAUSED)
        if code is not None:
            self._set("status", code)
        plugged = self.ev.plugged_at(self.ev.time)
        self._set("plugged", 1.0 if plugged else 0.0)
        soc_spec = self.map.role("soc")
        if soc_spec is not None:
            soc = self.ev.soc_pct if plugged else 0.0
            self._set(
                "soc",
                soc if soc_spec.type == "f32" else round(soc / soc_spec.scale) * soc_spec.scale,
            )
        for role, value in (
            ("energy_in", self.ev.energy_in_kwh),
            ("energy_out", self.ev.energy_out_kwh),
        ):
            spec = self.map.role(role)
            if spec is not None:
                self._set(
                    role, value if spec.type == "f32" else round(value / spec.scale) * spec.scale
                )

    # --- RegisterBackend ----------------------------------------------------------------
    def on_request(self) -> None:
        """Every Modbus message feeds the watchdog (after the physics caught up)."""
        self.advance()
        self.last_message = self.clock()

    def read(self, table: str, address: int, count: int) -> list[int]:
        """Registers in the map read as values; unmapped ones are an illegal address."""
        out = []
        for a in range(address, address + count):
            word = self.words.get((table, a))
            if word is None:
                raise ModbusExceptionError(3 if table == "holding" else 4, EXC_ILLEGAL_ADDRESS, a)
            out.append(word)
        return out

    def write(self, address: int, words: list[int], function: int = FC_WRITE_MULTIPLE) -> None:
        """Accept writes only to writable registers, whole and within their limits."""
        self.write_functions.append(function)
        spec = next(
            (s for s in self.map.registers.values() if s.writable and s.address == address),
            None,
        )
        if function == FC_WRITE_MULTIPLE and (
            self.single_write_only or (spec is not None and spec.single_write)
        ):
            raise ModbusExceptionError(function, EXC_ILLEGAL_FUNCTION, address)
        if spec is None or spec.width != len(words):
            raise ModbusExceptionError(function, EXC_ILLEGAL_ADDRESS, address)
        if function == FC_WRITE_SINGLE and len(words) != 1:
            raise ModbusExceptionError(function, EXC_ILLEGAL_VALUE, address)
        value = spec.decode(words)
        if spec.name == self.map.roles.get("charge_limit") and value == 0:
            self.latched_error = True  # the EVDC hardware fault the driver must never cause
        try:
            spec.encode(value)
        except ValueOutOfRangeError as err:
            raise ModbusExceptionError(function, EXC_ILLEGAL_VALUE, address) from err
        self.advance()
        for i, word in enumerate(words):
            self.words[("holding", address + i)] = word
        self.writes.append((spec.name, value))
        if spec.name == self.map.roles.get("remote_enable") and not self.remote:
            self._hand_back()
        self.advance()
