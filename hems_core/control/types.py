"""Values that cross the boundary of the control core: observations in, commands out.

Plain frozen dataclasses, no behaviour: the runtime (asyncio, Home Assistant, a backtest)
builds :class:`Observation` from device reads and writes :class:`Command` through drivers; the
core never sees a socket or a clock. Signs follow ``hems_core.devices.model``: storage power
positive charges, negative discharges; grid power positive imports, negative exports.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Mode(enum.StrEnum):
    """What the owner allows (the ``select`` entity in Home Assistant)."""

    AUTO = "auto"  # follow the optimiser
    CHARGE_ONLY = "charge_only"  # plan and charge, never discharge
    SOLAR_ONLY = "solar_only"  # charge from PV surplus only, never from the grid or discharge
    OFF = "off"  # hand every device back to its own control


class Source(enum.StrEnum):
    """Which rule produced a setpoint, highest priority first (see ``rules``)."""

    FUSE = "fuse"  # electrical safety: fuse / connection limit
    DEVICE = "device_limit"  # the device's own power limits
    FAILSAFE = "failsafe"  # stale meter, lost device, no usable plan input
    GRID = "grid_state"  # island / outage
    DSO = "dso_limit"  # grid operator cap (§14a) or external setpoint
    BOOST = "boost"  # the owner's boost
    MODE = "mode"  # charge only / solar only / off
    MIN_SOC = "min_soc"  # the owner's hard floor
    DEPARTURE = "departure"  # target at departure at risk
    PEAK = "peak_guard"  # the running quarter-hour average above the peak budget
    EXPORT = "export_limit"  # configured export limit or V2H-only policy
    PLAN = "plan"  # the optimiser's setpoint, tracked on the meter
    FALLBACK = "fallback"  # rule-based plan when no optimiser plan covers now


class CommandKind(enum.StrEnum):
    """What a command asks a device to do."""

    POWER = "power"  # signed storage setpoint in W
    PV_LIMIT = "pv_limit"  # inverter AC limit in W (``None`` lifts it)
    RELEASE = "release"  # hand control back to the device / owner's app
    LOAD = "load"  # a shed-tier switch: value_w 0 sheds it, None restores it
    RESERVE = "reserve"  # the island source's discharge cut-off, value_w is the SoC (0..1)


@dataclass(frozen=True, slots=True)
class MeterObs:
    """The newest grid-meter reading: ``at`` when it arrived, ``stamp`` the meter's own time."""

    at: datetime
    power_w: float
    phase_power_w: tuple[float | None, float | None, float | None] = (None, None, None)
    phase_current_a: tuple[float | None, float | None, float | None] = (None, None, None)
    energy_import_kwh: float | None = None
    stamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class StorageObs:
    """The newest read of a car's charger or the home battery (``online`` False: read failed)."""

    at: datetime
    online: bool
    power_w: float = 0.0
    soc: float | None = None  # 0..1, None when the device cannot read it
    plugged: bool = True  # a home battery is always "plugged"
    energy_in_kwh: float | None = None
    energy_out_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class PvObs:
    """The newest read of the PV inverter."""

    at: datetime
    online: bool
    power_w: float = 0.0
    limit_w: float | None = None


@dataclass(frozen=True, slots=True)
class GridObs:
    """What the site's devices say about the grid; ``None`` means "this source cannot tell".

    ``gateway_grid``/``gateway_island``: the backup gateway's grid-present and island-formed
    flags; ``inverter_grid``: the inverter's grid status; ``voltage_v``/``frequency_hz``: grid
    side; ``external_grid``: an outside boolean (HA entity). ``backup_load_w``: the load the
    island carries (from the gateway); ``island_source``: the storage device that forms the
    island; ``island_limit_w``: the continuous power the island can carry.
    """

    at: datetime
    gateway_grid: bool | None = None
    gateway_island: bool | None = None
    inverter_grid: bool | None = None
    voltage_v: float | None = None
    frequency_hz: float | None = None
    external_grid: bool | None = None
    backup_load_w: float | None = None
    island_source: str | None = None
    island_limit_w: float | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything the runtime knows now; devices it has never read are absent."""

    meter: MeterObs | None = None
    storage: Mapping[str, StorageObs] = field(default_factory=dict)
    pv: PvObs | None = None
    grid: GridObs | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """One setpoint for one device, with the rule that made it and its time-to-live."""

    device: str
    kind: CommandKind
    value_w: float | None
    source: Source
    reason: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """Something the UI or a repair issue should show (fail-safe entered, plan failed …)."""

    at: datetime
    kind: str
    message: str
    device: str | None = None


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Ask the runtime to solve: ``Planner.solve(inputs, state, site)``; ``seq`` orders requests."""

    seq: int
    trigger: str
    at: datetime
    site: Any  # hems_core.model.Site (Any keeps this module import-light)
    inputs: Any  # hems_core.optimize.Inputs
    state: Any  # hems_core.optimize.State


@dataclass(frozen=True, slots=True)
class Step:
    """What one :meth:`ControlCore.observe` returns."""

    commands: tuple[Command, ...] = ()
    plan_request: PlanRequest | None = None
    events: tuple[Event, ...] = ()
