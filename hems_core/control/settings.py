"""Tunable settings of the control core, validated once at the edge.

Defaults are chosen for a house with a P1 meter that reports every 1–5 s and a wallbox that
answers Modbus within a second; every figure is a setting so an installer can adapt it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..model import ModelError


class ControlError(ModelError):
    """A control setting or a user request is invalid (the message names the field)."""


def _check(name: str, value: float, low: float = 0.0, high: float = math.inf) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ControlError(f"{name} must be a number within [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class StorageSettings:
    """How one car's charger (or the home battery) is driven.

    ``min_active_w``: the smallest power the device can run at (6 A on one phase is 1,380 W);
    setpoints in between become 0, or ``min_active_w`` for a car that ``cannot_pause`` (some cars
    end the session at 0 A and need a new plug-in). ``phases``: the meter phases it draws on.
    ``arrival_soc``: assumed SoC on plug-in when the charger cannot read it.
    """

    min_active_w: float = 1380.0
    cannot_pause: bool = False
    phases: tuple[int, ...] = (1,)
    arrival_soc: float = 0.5

    def __post_init__(self) -> None:
        _check("min_active_w", self.min_active_w, 0.0, 50_000.0)
        if not self.phases or any(p not in (1, 2, 3) for p in self.phases):
            raise ControlError(f"phases must be a non-empty subset of (1, 2, 3), got {self.phases}")
        if len(set(self.phases)) != len(self.phases):
            raise ControlError(f"phases must not repeat, got {self.phases}")
        _check("arrival_soc", self.arrival_soc, 0.0, 1.0)


@dataclass(frozen=True)
class ControlSettings:
    """Fast-loop, fail-safe and planning settings.

    - ``deadband_w``: changes smaller than this are not written (devices and their relays are
      not chattered by meter noise); ``ramp_w_per_s``: how fast charge power may rise (falls are
      immediate, they are the safe direction); ``hysteresis_w``: how far a follower must be
      asked past zero before it switches between charging and discharging.
    - ``meter_timeout_s``/``device_timeout_s``: a reading older than this is stale;
      ``frozen_meter_s``: a meter whose own timestamp does not advance for this long is frozen.
      The defaults suit DSMR 5 meters (a telegram a second); DSMR 4 (10 s) needs ~25 s.
    - ``command_ttl_s``: every setpoint expires after this (the device watchdog uses it too);
      commands are renewed at half of it.
    - ``safe_charge_w``: the charge power allowed in the fail-safe state (0 stops charging).
    - ``fuse_a``: the main fuse per phase, ``voltage_v`` the nominal phase voltage.
    - ``export_limit_w``: a configured export limit held on the meter (None: none).
    - ``soc_replan``: SoC deviation from the plan that triggers a re-plan.
    - ``horizon_steps``: planning horizon in quarters; ``min_plan_steps``: fewer known steps
      than this and the core plans with the rule-based fallback instead.
    - ``follower``: the device that follows the meter (None: chosen from the plan each step).
    - ``storage``: per-device settings by name (defaults for devices not listed).
    """

    deadband_w: float = 100.0
    ramp_w_per_s: float = 2000.0
    hysteresis_w: float = 300.0
    meter_timeout_s: float = 5.0
    frozen_meter_s: float = 5.0
    device_timeout_s: float = 6.0
    command_ttl_s: float = 6.0
    safe_charge_w: float = 0.0
    fuse_a: float | None = None
    voltage_v: float = 230.0
    export_limit_w: float | None = None
    soc_replan: float = 0.05
    departure_margin_h: float = 0.5
    horizon_steps: int = 192
    min_plan_steps: int = 4
    replan_retry_s: float = 60.0
    follower: str | None = None
    storage: Mapping[str, StorageSettings] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check("deadband_w", self.deadband_w, 0.0, 5_000.0)
        _check("ramp_w_per_s", self.ramp_w_per_s, 1.0)
        _check("hysteresis_w", self.hysteresis_w, 0.0, 5_000.0)
        _check("meter_timeout_s", self.meter_timeout_s, 1.0, 600.0)
        _check("frozen_meter_s", self.frozen_meter_s, 1.0, 3_600.0)
        _check("device_timeout_s", self.device_timeout_s, 1.0, 600.0)
        _check("command_ttl_s", self.command_ttl_s, 2.0, 3_600.0)
        _check("safe_charge_w", self.safe_charge_w, 0.0, 50_000.0)
        if self.fuse_a is not None:
            _check("fuse_a", self.fuse_a, 1.0, 1_000.0)
        _check("voltage_v", self.voltage_v, 100.0, 400.0)
        if self.export_limit_w is not None:
            _check("export_limit_w", self.export_limit_w, 0.0)
        _check("soc_replan", self.soc_replan, 0.0, 1.0)
        _check("departure_margin_h", self.departure_margin_h, 0.0, 24.0)
        if not isinstance(self.horizon_steps, int) or not 4 <= self.horizon_steps <= 192:
            raise ControlError(f"horizon_steps must be an int in 4..192, got {self.horizon_steps}")
        if not isinstance(self.min_plan_steps, int) or not 1 <= self.min_plan_steps <= 96:
            raise ControlError("min_plan_steps must be an int in 1..96")
        _check("replan_retry_s", self.replan_retry_s, 1.0, 3_600.0)

    def for_storage(self, name: str) -> StorageSettings:
        """Settings of one device (defaults when not configured)."""
        return self.storage.get(name, _DEFAULT_STORAGE)


_DEFAULT_STORAGE = StorageSettings()
