"""Error types of the forecast package.

Callers (the planner loop, the Home Assistant glue) catch :class:`ForecastError` and fall back to
a documented default instead of crashing: the adapters never raise for a missing or stale source,
they return a fallback with a reason; only malformed *inputs* from our own code raise.
"""

from __future__ import annotations


class ForecastError(Exception):
    """Base class of every error raised by :mod:`hems_core.forecast`."""


class ForecastInputError(ForecastError, ValueError):
    """Input that cannot be interpreted: mismatched lengths, naive timestamps, non-numbers."""


class InsufficientHistoryError(ForecastError):
    """Too little history to learn from; callers use the documented default instead."""
