"""Alias of :mod:`hems_core.scenario`, the one scenario format (no code of its own).

Kept only so modules not yet switched keep importing; new code imports ``hems_core.scenario``.
"""

from __future__ import annotations

from ..scenario import (
    BatterySpec,
    Capacity,
    CapEvent,
    EvSpec,
    FloatArray,
    Outage,
    Scenario,
    ScenarioError,
    Session,
    load_scenario,
    read_series,
)

__all__ = [
    "BatterySpec",
    "CapEvent",
    "Capacity",
    "EvSpec",
    "FloatArray",
    "Outage",
    "Scenario",
    "ScenarioError",
    "Session",
    "load_scenario",
    "read_series",
]
