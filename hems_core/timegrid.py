"""The 15-minute clock grid every part of hems_core plans on, defined once.

Prices, forecasts, plans and meter quarters all live on quarters aligned to :00/:15/:30/:45
UTC, which are also local clock quarters in every zone with whole- or half-hour offsets. Areas
keep their own helpers on top (price-day bounds in ``tariffs``, validated timestamp parsing in
``forecast``, step edges and local calendars in ``optimize``); the step itself and the
conversions between aware datetimes and epoch seconds are here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

STEP_MINUTES: Final = 15
#: One step in seconds, hours and as a timedelta.
STEP_S: Final = STEP_MINUTES * 60
STEP_H: Final = STEP_MINUTES / 60
STEP: Final = timedelta(minutes=STEP_MINUTES)
#: Quarters in a 24-hour day (local days have 92 or 100 on DST changes).
QUARTERS_PER_DAY: Final = 96


def epoch_s(dt: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime (sub-second parts are dropped)."""
    return int(dt.timestamp() // 1)


def from_epoch_s(seconds: int) -> datetime:
    """Aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def floor_quarter_s(seconds: int) -> int:
    """Start (epoch seconds) of the clock quarter containing ``seconds``."""
    return seconds - seconds % STEP_S


def ceil_quarter_s(seconds: int) -> int:
    """The first clock-quarter boundary (epoch seconds) at or after ``seconds``."""
    return -((-seconds) // STEP_S) * STEP_S


def floor_quarter(dt: datetime) -> datetime:
    """The start of the clock quarter containing an aware datetime, in UTC."""
    return from_epoch_s(floor_quarter_s(epoch_s(dt)))
