"""Device interfaces and the typed values they return.

Sign conventions (the whole library uses them):
- wallbox power: **positive charges the EV, negative discharges it** (V2H);
- meter power: **positive imports from the grid, negative exports**;
- inverter AC power: positive = production;
- home battery power: **positive charges the battery, negative discharges it**.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


class WallboxStatus(enum.Enum):
    """A common status vocabulary every driver maps its device enum onto."""

    DISCONNECTED = "disconnected"
    WAITING = "waiting"
    CHARGING = "charging"
    DISCHARGING = "discharging"
    PAUSED = "paused"
    ERROR = "error"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WallboxLimits:
    """What the box can do; setpoints outside are refused before any write."""

    max_charge_w: float
    max_discharge_w: float
    min_active_w: float = 0.0


@dataclass(frozen=True, slots=True)
class WallboxState:
    """One read of a wallbox."""

    status: WallboxStatus
    plugged: bool
    power_w: float
    energy_in_kwh: float | None = None
    energy_out_kwh: float | None = None
    soc_pct: float | None = None
    limits: WallboxLimits | None = None
    raw_status: int | str | None = None


@dataclass(frozen=True, slots=True)
class InverterState:
    """One read of a PV inverter."""

    ac_power_w: float
    energy_kwh: float | None
    limit_pct: float | None
    rated_power_w: float | None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class PeakRecord:
    """One month of the e-MUCS peak history (0-0:98.1.0)."""

    month_start: datetime | None
    occurred: datetime | None
    demand_kw: float


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One grid-meter reading; ``None`` where the meter does not report a value."""

    timestamp: datetime | None
    power_w: float
    power_import_w: float | None = None
    power_export_w: float | None = None
    phase_power_w: tuple[float | None, float | None, float | None] = (None, None, None)
    voltage_v: tuple[float | None, float | None, float | None] = (None, None, None)
    current_a: tuple[float | None, float | None, float | None] = (None, None, None)
    energy_import_kwh: float | None = None
    energy_export_kwh: float | None = None
    tariff: int | None = None
    demand_quarter_kw: float | None = None
    demand_month_peak_kw: float | None = None
    demand_month_peak_at: datetime | None = None
    peak_history: tuple[PeakRecord, ...] = field(default=())
    gas_m3: float | None = None


@runtime_checkable
class Wallbox(Protocol):
    """A (bidirectional) EV charger."""

    async def read_state(self) -> WallboxState:
        """Read status, plug, power, energy counters, SoC and limits."""
        ...

    async def set_power(self, watts: float) -> None:
        """Apply a signed setpoint: positive charges, negative discharges, 0 stops power."""
        ...

    async def start(self) -> None:
        """Allow power flow (session start)."""
        ...

    async def stop(self) -> None:
        """Stop power flow (session stop)."""
        ...

    async def program_watchdog(self, timeout_s: float) -> bool:
        """Program the device's own idle timeout; False when the device has none."""
        ...

    async def release(self) -> None:
        """Hand control back to the device/owner app: power 0, then local control.

        Called for mode "off", when the HEMS stops, and (best effort) by :meth:`close`.
        """
        ...

    async def close(self) -> None:
        """Hand back control if held, then release the connection."""
        ...


@runtime_checkable
class Inverter(Protocol):
    """A PV inverter with an active-power limit."""

    async def read_state(self) -> InverterState:
        """Read AC power, energy and the limit in force."""
        ...

    async def set_power_limit(self, watts: float | None) -> None:
        """Limit AC output to ``watts``; ``None`` lifts the limit."""
        ...

    async def release(self) -> None:
        """Lift every limit we set, so the inverter runs on its own settings again."""
        ...

    async def close(self) -> None:
        """Release the connection."""
        ...


class BatteryMode(enum.Enum):
    """Who decides the battery power: the device itself, or our fixed setpoint.

    "One follower per meter": when the HEMS drives the battery with a setpoint it must put
    the device in ``REMOTE`` so the device's own self-consumption loop does not chase the
    same grid meter the HEMS controls.
    """

    SELF_CONSUMPTION = "self_consumption"
    REMOTE = "remote"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BatteryLimits:
    """Power limits of a home battery (W, both positive)."""

    max_charge_w: float
    max_discharge_w: float


@dataclass(frozen=True, slots=True)
class HomeBatteryState:
    """One read of a home battery (power positive = charging)."""

    soc_pct: float | None
    power_w: float
    mode: BatteryMode = BatteryMode.UNKNOWN
    limits: BatteryLimits | None = None
    energy_in_kwh: float | None = None
    energy_out_kwh: float | None = None
    capacity_kwh: float | None = None
    raw_status: int | None = None


@runtime_checkable
class Battery(Protocol):
    """A stationary home battery with remote power control."""

    async def read_state(self) -> HomeBatteryState:
        """Read SoC, signed power, mode and limits."""
        ...

    async def set_power(self, watts: float) -> None:
        """Fixed signed setpoint (+ charge, − discharge); puts the device in remote mode."""
        ...

    async def follow_meter(self, enabled: bool) -> None:
        """True: the device follows its own meter (self-consumption); False: hold at 0 W."""
        ...

    async def program_watchdog(self, timeout_s: float) -> bool:
        """Program the device's revert timer; False when the device has none."""
        ...

    async def release(self) -> None:
        """Hand the battery back to its own (self-consumption) control."""
        ...

    async def close(self) -> None:
        """Hand back control if held, then release the connection."""
        ...


@runtime_checkable
class Meter(Protocol):
    """A grid meter."""

    async def read(self) -> MeterReading:
        """Return the newest reading (raises if none or stale)."""
        ...

    async def close(self) -> None:
        """Release the connection."""
        ...
