"""The 15-minute clock grid: UTC inside, local days only at the edges.

Every series in this package lives on quarters aligned to :00/:15/:30/:45 UTC (which are also local
clock quarters in every zone with whole- or half-hour offsets). Local days matter for two things
only: "is tomorrow complete" (92, 96 or 100 quarters in Europe) and tariff windows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..timegrid import STEP, STEP_MINUTES, STEP_S, epoch_s, floor_quarter, from_epoch_s
from .errors import PriceDataError

# The grid itself is defined once in hems_core.timegrid; re-exported for this package.
__all__ = [
    "STEP",
    "STEP_MINUTES",
    "STEP_S",
    "epoch_s",
    "floor_quarter",
    "from_epoch_s",
    "is_aligned",
    "local_date",
    "local_day_bounds",
    "quarters_in_day",
    "require_zone",
    "zone",
]


def zone(tz: str | tzinfo | None) -> tzinfo | None:
    """Resolve a zone name (``"Europe/Amsterdam"``) or pass a tzinfo through."""
    if tz is None or isinstance(tz, tzinfo):
        return tz
    return _zone_by_name(tz)


@lru_cache(maxsize=64)
def _zone_by_name(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise PriceDataError("format", f"unknown time zone {name!r}") from err


def require_zone(tz: str | tzinfo | None, why: str) -> tzinfo:
    """Like :func:`zone` but a missing zone is an error that says why one is needed."""
    resolved = zone(tz)
    if resolved is None:
        raise PriceDataError("format", f"a time zone is needed {why} (e.g. --tz Europe/Amsterdam)")
    return resolved


def is_aligned(dt: datetime) -> bool:
    """Whether an aware datetime sits exactly on a quarter boundary."""
    return epoch_s(dt) % STEP_S == 0 and dt.microsecond == 0


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """UTC start and end of a local calendar day (23, 24 or 25 hours long)."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
    return start, end


def quarters_in_day(day: date, tz: tzinfo) -> int:
    """Number of quarters in a local day: 96, or 92/100 on DST days in Europe."""
    start, end = local_day_bounds(day, tz)
    return int((end - start).total_seconds()) // STEP_S


def local_date(dt: datetime, tz: tzinfo) -> date:
    """The local calendar date of an aware instant."""
    return dt.astimezone(tz).date()
