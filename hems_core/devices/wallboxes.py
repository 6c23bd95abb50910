"""Modbus wallbox drivers: the generic map-driven driver and the built-in boxes.

Register facts come from the peer study (``reference/peers-evcc-openems-wallboxes.md`` §3):
Wallbox Quasar 1 as used by V2G Liberty, ambiCHARGE Home and Sigenergy EVDC as used by evcc.
The simulators do not serve these maps: they have their own tables typed in from the same
vendor sources (:mod:`hems_core.sim.vendor_tables`), and a conformance test shows that a
corrupted map fails. Where the sources leave a detail open (ambiCHARGE session states, the
sign of its measured power) the map says so in a comment.

Take control / hand back: a driver takes remote control once per connection (Quasar:
81 ← 1, autostart 82 ← 0, setpoint type 83 ← 1) and :meth:`ModbusWallbox.release` hands it
back (setpoint 0 and stop, then 81 ← 0); ``close()`` does so when it still holds control.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from .clock import Clock, monotonic_clock
from .errors import ConfigError, DeviceError, StaleDataError, ValueOutOfRangeError
from .modbus_client import ModbusTcpClient
from .model import WallboxLimits, WallboxState, WallboxStatus
from .regmap import DeviceMap, RegisterDevice, parse_device_map

_LOGGER = logging.getLogger(__name__)


def _reg(name: str, address: int, **kw: Any) -> dict[str, Any]:
    return {"name": name, "address": address, **kw}


#: Wallbox Quasar 1 (CHAdeMO, 7.4 kW), local Modbus TCP on port 502. Every write is a single
#: register write (FC06): that is what every published Quasar client uses (SeitaBV/v2g-liberty
#: ``wallbox_client.py``: ``write_single_register``); no source says the box takes FC16. The box
#: has no documented energy counter, so energy is ``None`` (the control core integrates power).
QUASAR_MAP: dict[str, Any] = {
    "name": "Wallbox Quasar",
    "unit_id": 1,
    "limits": {"max_charge_w": 7400, "max_discharge_w": 7400, "min_active_w": 0},
    "registers": [
        _reg("control", 81, writable=True, min=0, max=1, single_write=True),  # 0 user, 1 remote
        # autostart on plug-in; must be 0 under remote control or the box starts by itself
        _reg("autostart", 82, writable=True, min=0, max=1, single_write=True),
        _reg("setpoint_type", 83, writable=True, min=0, max=1, single_write=True),  # 1 = power
        _reg("idle_timeout", 88, writable=True, min=0, max=3600, unit="s", single_write=True),
        _reg("action", 257, writable=True, min=1, max=2, single_write=True),  # 1 start, 2 stop
        _reg(
            "setpoint",
            260,
            type="s16",
            writable=True,
            min=-7400,
            max=7400,
            unit="W",
            single_write=True,
        ),
        _reg("power", 526, type="s16", unit="W"),
        _reg("state", 537),
        _reg("soc", 538, unit="%"),
    ],
    "roles": {
        "power": "power",
        "setpoint": "setpoint",
        "status": "state",
        "soc": "soc",
        "start_stop": "action",
        "watchdog": "idle_timeout",
        "remote_enable": "control",
        "setpoint_mode": "setpoint_type",
        "autostart": "autostart",
    },
    "constants": {
        "start": 1,
        "stop": 2,
        "remote_enable": 1,
        "remote_disable": 0,
        "setpoint_mode": 1,
        "autostart": 0,
    },
    "status_map": {
        0: "disconnected",
        1: "charging",
        2: "waiting",
        3: "waiting",
        4: "paused",
        5: "waiting",
        6: "disconnected",
        7: "error",
        8: "waiting",
        9: "error",
        10: "waiting",
        11: "discharging",
    },
}


def ambicharge_map(connector: int = 1) -> dict[str, Any]:
    """ambiCHARGE Home: per-connector blocks (input 4000+200·(c−1), holding 3000+100·(c−1)).

    Assumptions (unverified in public sources): AC power at +18 is positive while charging;
    energy floats are kWh; the session state is 0 idle, 1 setup, 2 charge loop, 3 paused,
    4 stopped, 5 error. The target power is negative for charge, so its scale is −1.
    """
    if not 1 <= connector <= 4:
        raise ValueError("connector must be 1..4")
    ib = 4000 + 200 * (connector - 1)
    hb = 3000 + 100 * (connector - 1)
    return {
        "name": f"ambiCHARGE Home (connector {connector})",
        "unit_id": 1,
        "max_gap": 0,
        "limits": {"max_charge_w": 11000, "max_discharge_w": 11000, "min_active_w": 0},
        "registers": [
            _reg("power", ib + 18, type="s32", table="input", unit="W"),
            _reg("energy_in", ib + 26, type="f32", table="input", unit="kWh"),
            _reg("energy_out", ib + 28, type="f32", table="input", unit="kWh"),
            _reg("soc", ib + 54, type="f32", table="input", unit="%"),
            _reg("session_state", ib + 82, table="input"),
            _reg("ev_connected", ib + 84, table="input"),
            _reg(
                "target_power",
                hb,
                type="s32",
                scale=-1.0,
                writable=True,
                min=-11000,
                max=11000,
                unit="W",
            ),
        ],
        "roles": {
            "power": "power",
            "setpoint": "target_power",
            "status": "session_state",
            "plugged": "ev_connected",
            "soc": "soc",
            "energy_in": "energy_in",
            "energy_out": "energy_out",
        },
        "status_map": {
            0: "waiting",
            1: "waiting",
            2: "charging",
            3: "paused",
            4: "waiting",
            5: "error",
        },
    }


#: Sigenergy EVDC inside a SigenStor hybrid inverter (facts: evcc ``charger/sigenergy-evdc.go``).
#: Running state 0 idle (no vehicle), 1 occupied, 2 preparing, 3 charging, 4 fault,
#: 5 scheduled, 6 ended, 7 unavailable, 8 discharging, 9 alarm, 10 insulation detection;
#: total energies in 10 Wh. The charge limit's minimum of 1000 W (the smallest field-verified
#: setpoint) is what makes "never write 0 to 41002" a map fact; 41000 takes FC06 only.
SIGENERGY_EVDC_MAP: dict[str, Any] = {
    "name": "Sigenergy EVDC",
    "unit_id": 1,
    "max_gap": 0,
    "limits": {"max_charge_w": 25000, "max_discharge_w": 25000, "min_active_w": 1000},
    "registers": [
        _reg("power", 31502, type="s32", table="input", unit="W"),
        _reg("soc", 31504, table="input", scale=0.1, unit="%"),
        _reg("running_state", 31513, table="input"),
        _reg("energy_in", 31519, type="u32", table="input", scale=0.01, unit="kWh"),
        _reg("energy_out", 31521, type="u32", table="input", scale=0.01, unit="kWh"),
        _reg("rated_charge", 31523, type="u32", table="input", unit="W"),
        _reg("rated_discharge", 31525, type="u32", table="input", unit="W"),
        _reg("start_stop", 41000, writable=True, min=0, max=1, single_write=True),
        _reg("charge_limit", 41002, type="u32", writable=True, min=1000, max=25000, unit="W"),
        _reg("discharge_limit", 41004, type="u32", writable=True, min=0, max=25000, unit="W"),
    ],
    "roles": {
        "power": "power",
        "soc": "soc",
        "status": "running_state",
        "energy_in": "energy_in",
        "energy_out": "energy_out",
        "start_stop": "start_stop",
        "charge_limit": "charge_limit",
        "discharge_limit": "discharge_limit",
        "max_charge": "rated_charge",
        "max_discharge": "rated_discharge",
    },
    "constants": {"start": 0, "stop": 1},
    "status_map": {
        0: "disconnected",
        1: "waiting",
        2: "waiting",
        3: "charging",
        4: "error",
        5: "waiting",
        6: "waiting",
        7: "error",
        8: "discharging",
        9: "error",
        10: "waiting",
    },
}


class FreezeDetector:
    """Flags a source whose raw values stop changing while it claims to be active.

    Real measurements jitter; a bit-identical image for longer than ``stale_after`` seconds
    while power flows means the device (or a gateway) froze its registers.
    """

    def __init__(self, stale_after: float, clock: Clock) -> None:
        self.stale_after = stale_after
        self._clock = clock
        self._last: tuple[Any, ...] | None = None
        self._since = 0.0

    def check(self, image: tuple[Any, ...], active: bool) -> None:
        """Raise :class:`StaleDataError` when ``image`` has been frozen too long."""
        now = self._clock()
        if image != self._last:
            self._last = image
            self._since = now
            return
        if active and now - self._since > self.stale_after:
            raise StaleDataError(f"values frozen for {now - self._since:.0f} s")

    def reset(self) -> None:
        """Forget history (after a reconnect)."""
        self._last = None


#: Register-map roles one ``read_state`` reads, batched into as few requests as the map allows.
STATE_ROLES: tuple[str, ...] = (
    "power",
    "status",
    "plugged",
    "soc",
    "energy_in",
    "energy_out",
    "max_charge",
    "max_discharge",
)


class ModbusWallbox:
    """A bidirectional wallbox described entirely by a :class:`DeviceMap`."""

    def __init__(
        self,
        device_map: DeviceMap | Mapping[str, Any],
        client: ModbusTcpClient,
        *,
        stale_after: float = 60.0,
        clock: Clock = monotonic_clock,
    ) -> None:
        self.map = device_map if isinstance(device_map, DeviceMap) else parse_device_map(device_map)
        if "power" not in self.map.roles:
            raise ConfigError(f"{self.map.name}: a wallbox map needs a 'power' register")
        if "setpoint" not in self.map.roles and "charge_limit" not in self.map.roles:
            raise ConfigError(f"{self.map.name}: a wallbox map needs a 'setpoint' register")
        if self.map.limits.max_charge_w <= 0 and self.map.limits.max_discharge_w <= 0:
            raise ConfigError(f"{self.map.name}: limits max_charge_w/max_discharge_w missing")
        self.device = RegisterDevice(self.map, client)
        self.client = client
        self._freeze = FreezeDetector(stale_after, clock)
        self._session_generation = -1
        self._limits = self.map.limits

    def use_unit_id(self, unit_id: int) -> None:
        """Address another Modbus unit (the installer's setting overrides the map's default)."""
        self.map = dataclasses.replace(self.map, unit_id=unit_id)
        self.device.map = self.map

    @property
    def limits(self) -> WallboxLimits:
        """The limits setpoints are checked against."""
        return self._limits

    @property
    def in_control(self) -> bool:
        """True while this driver holds remote control on the current connection."""
        return self._session_generation == self.client.generation and self.client.connected

    async def _ensure_remote(self) -> None:
        """Take remote control once per connection: control, autostart off, setpoint mode.

        Autostart must go off under remote control, or the box starts a session by itself
        on the next plug-in (V2G Liberty's Quasar notes).
        """
        if self.in_control:
            return
        for role in ("remote_enable", "autostart", "setpoint_mode"):
            spec = self.map.role(role)
            if spec is not None:
                await self.device.write(spec.name, self.map.constant(role))
        self._session_generation = self.client.generation

    async def read_state(self) -> WallboxState:
        """Read every mapped value in as few requests as possible."""
        names = {r: self.map.roles[r] for r in STATE_ROLES if r in self.map.roles}
        values = await self.device.read(set(names.values()))
        power = values[names["power"]]
        self._freeze.check(tuple(sorted(values.items())), active=abs(power) > 1.0)
        raw_status = int(values[names["status"]]) if "status" in names else None
        status = (
            self.map.status_map.get(raw_status, WallboxStatus.UNKNOWN)
            if raw_status is not None
            else WallboxStatus.UNKNOWN
        )
        if status in (WallboxStatus.CHARGING, WallboxStatus.DISCHARGING) and abs(power) > 1.0:
            status = WallboxStatus.CHARGING if power > 0 else WallboxStatus.DISCHARGING
        if "plugged" in names:
            plugged = values[names["plugged"]] != 0
        else:
            plugged = status not in (WallboxStatus.DISCONNECTED, WallboxStatus.UNKNOWN)
        soc = values.get(names.get("soc", ""))
        if soc is not None and not 2.0 <= soc <= 100.0:
            soc = None  # Quasar reports 0/1 % glitches; out-of-range SoC is no SoC
        if "max_charge" in names and "max_discharge" in names:
            self._limits = WallboxLimits(
                max_charge_w=min(values[names["max_charge"]], self.map.limits.max_charge_w),
                max_discharge_w=min(
                    values[names["max_discharge"]], self.map.limits.max_discharge_w
                ),
                min_active_w=self.map.limits.min_active_w,
            )
        return WallboxState(
            status=status,
            plugged=plugged,
            power_w=power,
            energy_in_kwh=values.get(names.get("energy_in", "")),
            energy_out_kwh=values.get(names.get("energy_out", "")),
            soc_pct=soc,
            limits=self._limits,
            raw_status=raw_status,
        )

    def check_setpoint(self, watts: float) -> float:
        """Range-check a signed setpoint against the box limits (before any write)."""
        lim = self._limits
        if not -lim.max_discharge_w <= watts <= lim.max_charge_w:
            raise ValueOutOfRangeError(
                f"{self.map.name}: {watts} W outside [-{lim.max_discharge_w}, {lim.max_charge_w}]"
            )
        if watts != 0 and abs(watts) < lim.min_active_w:
            raise ValueOutOfRangeError(
                f"{self.map.name}: |{watts}| W below the minimum of {lim.min_active_w} W"
            )
        return float(watts)

    async def set_power(self, watts: float) -> None:
        """Signed setpoint (+ charge, − discharge); 0 stops power."""
        watts = self.check_setpoint(watts)
        await self._ensure_remote()
        await self.device.write(self.map.require("setpoint").name, watts)
        self._mark_control()
        if "start_stop" in self.map.roles:
            await (self.start() if watts != 0 else self.stop())

    async def start(self) -> None:
        """Start the session through the start/stop register (no-op without one)."""
        spec = self.map.role("start_stop")
        if spec is not None:
            await self._ensure_remote()
            await self.device.write(spec.name, self.map.constant("start"))
            self._mark_control()

    def _mark_control(self) -> None:
        """Remember that this connection carries our commands (close() hands back)."""
        self._session_generation = self.client.generation

    async def stop(self) -> None:
        """Stop the session; boxes without a start/stop register get setpoint 0."""
        spec = self.map.role("start_stop")
        await self._ensure_remote()
        if spec is not None:
            await self.device.write(spec.name, self.map.constant("stop"))
        else:
            await self.device.write(self.map.require("setpoint").name, 0.0)
        self._mark_control()

    async def program_watchdog(self, timeout_s: float) -> bool:
        """Write the device's idle timeout; False when the map has no such register."""
        spec = self.map.role("watchdog")
        if spec is None:
            return False
        await self._ensure_remote()
        await self.device.write(spec.name, float(round(timeout_s)))
        return True

    async def release(self) -> None:
        """Hand the box back to its owner: power 0, session stopped, then local control.

        Order matters (V2G Liberty's hand-back): the setpoint goes to 0 before the control
        register returns to "user", so the box never keeps a HEMS setpoint under app control.
        """
        await self._zero_power()
        spec = self.map.role("remote_enable")
        if spec is not None:
            await self.device.write(spec.name, self.map.constant("remote_disable", 0.0))
        self._session_generation = -1

    async def _zero_power(self) -> None:
        if "setpoint" in self.map.roles:
            await self.device.write(self.map.require("setpoint").name, 0.0)
        spec = self.map.role("start_stop")
        if spec is not None:
            await self.device.write(spec.name, self.map.constant("stop"))

    async def close(self) -> None:
        """Hand control back if we hold it on this connection (best effort), then disconnect."""
        if self.in_control:
            try:
                await self.release()
            except DeviceError as err:
                _LOGGER.warning("%s: hand-back on close failed: %s", self.map.name, err)
        await self.client.close()


class SigenergyEvdcWallbox(ModbusWallbox):
    """Sigenergy EVDC: direction and size through separate limit registers.

    Hardware fact (evcc PR #32023): writing 0 to the charge limit 41002 latches an
    unrecoverable vehicle error, so this driver never does; sessions stop through 41000.
    Convention (documented, mirrored by the simulator): a non-zero discharge limit 41004 asks
    for discharge at that power, a zero one for charge at the charge limit.
    """

    def __init__(self, client: ModbusTcpClient, **kwargs: Any) -> None:
        super().__init__(SIGENERGY_EVDC_MAP, client, **kwargs)

    async def _zero_power(self) -> None:
        await self.stop()  # never a 0 W charge limit

    async def set_power(self, watts: float) -> None:
        """Signed setpoint; 0 stops through the start/stop register."""
        watts = self.check_setpoint(watts)
        if watts == 0:
            await self.stop()
            return
        if watts > 0:
            await self.device.write("discharge_limit", 0.0)
            await self.device.write("charge_limit", watts)
        else:
            await self.device.write("discharge_limit", -watts)
        await self.start()


def quasar(client: ModbusTcpClient, **kwargs: Any) -> ModbusWallbox:
    """A Wallbox Quasar 1 driver."""
    return ModbusWallbox(QUASAR_MAP, client, **kwargs)


def ambicharge(client: ModbusTcpClient, connector: int = 1, **kwargs: Any) -> ModbusWallbox:
    """An ambiCHARGE Home driver for one connector."""
    return ModbusWallbox(ambicharge_map(connector), client, **kwargs)
