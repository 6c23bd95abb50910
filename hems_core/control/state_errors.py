"""The error raised by the control state keepers (peaks, energy, SoC, departures).

A subclass of :class:`hems_core.model.ModelError` (itself a ``ValueError``) whose message names
the offending field, so the runtime can surface it the same way as a bad site description.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from ..model import ModelError


class StateKeeperError(ModelError):
    """An input to a state keeper or a restore snapshot is invalid (the message names it)."""


def check_aware(name: str, value: Any, err: type[StateKeeperError] = StateKeeperError) -> datetime:
    """``value`` as an aware datetime, or a :class:`StateKeeperError` naming ``name``."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise err(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def check_finite(name: str, value: Any, err: type[StateKeeperError] = StateKeeperError) -> float:
    """``value`` as a finite float, or a :class:`StateKeeperError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise err(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_fraction(name: str, value: Any, err: type[StateKeeperError] = StateKeeperError) -> float:
    """``value`` as a float within [0, 1]."""
    v = check_finite(name, value, err)
    if not 0.0 <= v <= 1.0:
        raise err(f"{name} must be within [0, 1], got {value!r}")
    return v


def check_positive(name: str, value: Any, err: type[StateKeeperError] = StateKeeperError) -> float:
    """``value`` as a float > 0."""
    v = check_finite(name, value, err)
    if v <= 0.0:
        raise err(f"{name} must be > 0, got {value!r}")
    return v
