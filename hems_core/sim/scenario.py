"""Alias: the simulator runner lives in :mod:`hems_core.sim.runner`, the reader in
:func:`hems_core.scenario.load_devices` (no code of its own; kept for modules not yet switched).
"""

from __future__ import annotations

from ..scenario import load_devices as load_scenario
from .runner import ScaledClock, SimRunner

__all__ = ["ScaledClock", "SimRunner", "load_scenario"]
