"""Simulated Modbus wallboxes: a register map in front of a physical EV battery.

The simulator reads its own register map (the same :class:`DeviceMap` the driver uses), turns
the control registers into a power request, lets the :class:`EvBattery` follow it, and writes
the measurements back into the map's read registers. It behaves like hardware where it
matters for safety:

- writes to registers the map does not declare writable answer ``ILLEGAL DATA ADDRESS``,
  out-of-range values ``ILLEGAL DATA VALUE``;
- a **watchdog**: when no Modbus message arrives within the idle timeout (the map's watchdog
  register, or a fixed ``comm_timeout_s`` for boxes without one) the box stops the session
  and the power really ramps to zero;
- Sigenergy EVDC latches an unrecoverable error when 0 is written to its charge limit.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from hems_core.devices.clock import Clock
from hems_core.devices.errors import ModbusExceptionError, ValueOutOfRangeError
from hems_core.devices.modbus_codec import (
    EXC_ILLEGAL_ADDRESS,
    EXC_ILLEGAL_VALUE,
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

    # --- control semantics --------------------------------------------------------------
    def requested_power(self) -> float:
        """The AC power the box's control registers ask for."""
        if self.latched_error:
            return 0.0
        enable = self.map.role("remote_enable")
        if enable is not None and self._get("remote_enable") != self.map.constant("remote_enable"):
            return 0.0
        if "start_stop" in self.map.roles and self._get("start_stop") != self.map.constant("start"):
            return 0.0
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
            self._set("remote_enable", 0.0)  # Quasar: control returns to the user

    def advance(self) -> None:
        """Bring the physics up to the clock (watchdog included)."""
        now = self.clock()
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

    def write(self, address: int, words: list[int]) -> None:
        """Accept writes only to writable registers, whole and within their limits."""
        spec = next(
            (s for s in self.map.registers.values() if s.writable and s.address == address),
            None,
        )
        if spec is None or spec.width != len(words):
            raise ModbusExceptionError(16, EXC_ILLEGAL_ADDRESS, address)
        value = spec.decode(words)
        if spec.name == self.map.roles.get("charge_limit") and value == 0:
            self.latched_error = True  # the EVDC hardware fault the driver must never cause
        try:
            spec.encode(value)
        except ValueOutOfRangeError as err:
            raise ModbusExceptionError(16, EXC_ILLEGAL_VALUE, address) from err
        for i, word in enumerate(words):
            self.words[("holding", address + i)] = word
        self.writes.append((spec.name, value))
        self.advance()
