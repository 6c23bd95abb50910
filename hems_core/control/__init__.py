"""The runtime: planner loop, fast tracking loop, arbitration, fail-safes, boost and modes.

``ControlCore`` makes every decision from plain values (sans-IO); ``Runtime`` binds it to the
device drivers with asyncio. See ``docs/control.md``. Names are imported on first use, so
``hems --help`` (which imports ``hems_core.control.cli``) does not load numpy and the solver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Boost, ControlCore, CoreStatus, DeviceStatus
    from .departures import DepartureSchedule
    from .energy import EnergyCounter
    from .grid import IslandSettings, IslandState, ShedTier, SignalKind
    from .peaks import PeakTracker
    from .planning import ActivePlan, Forecast
    from .runtime import Runtime, RuntimeStats, planner_solver
    from .settings import ControlError, ControlSettings, StorageSettings
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
        PvObs,
        Source,
        Step,
        StorageObs,
    )

__all__ = [
    "ActivePlan",
    "Boost",
    "Command",
    "CommandKind",
    "ControlCore",
    "ControlError",
    "ControlSettings",
    "CoreStatus",
    "DepartureSchedule",
    "DeviceStatus",
    "EnergyCounter",
    "Event",
    "Forecast",
    "GridObs",
    "IslandSettings",
    "IslandState",
    "MeterObs",
    "Mode",
    "Observation",
    "PeakTracker",
    "PlanRequest",
    "PvObs",
    "Runtime",
    "RuntimeStats",
    "ShedTier",
    "SignalKind",
    "SocEstimator",
    "Source",
    "Step",
    "StorageObs",
    "StorageSettings",
    "planner_solver",
]


_WHERE = {
    "Boost": "core", "ControlCore": "core", "CoreStatus": "core", "DeviceStatus": "core",
    "DepartureSchedule": "departures", "EnergyCounter": "energy", "PeakTracker": "peaks",
    "ActivePlan": "planning", "Forecast": "planning", "Runtime": "runtime",
    "RuntimeStats": "runtime", "planner_solver": "runtime", "ControlError": "settings",
    "ControlSettings": "settings", "StorageSettings": "settings", "SocEstimator": "soc",
    "IslandSettings": "grid", "IslandState": "grid", "ShedTier": "grid", "SignalKind": "grid",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = importlib.import_module(f".{_WHERE.get(name, 'types')}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
