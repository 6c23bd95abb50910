"""The 15-minute clock grid: UTC inside, local days only at the edges.

Every series in this package lives on quarters aligned to :00/:15/:30/:45 UTC (which are also local
clock quarters in every zone with whole- or half-hour offsets). Local days matter for two things
only: "is tomorrow complete" (92, 96 or 100 quarters in Europe) and tariff windows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import PriceDataError

STEP_MINUTES = 15
STEP = timedelta(minutes=STEP_MINUTES)
STEP_S = STEP_MINUTES * 60


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


def epoch_s(dt: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime (sub-second parts are dropped)."""
    return int(dt.timestamp() // 1)


def from_epoch_s(seconds: int) -> datetime:
    """Aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def is_aligned(dt: datetime) -> bool:
    """Whether an aware datetime sits exactly on a quarter boundary."""
    return epoch_s(dt) % STEP_S == 0 and dt.microsecond == 0


def floor_quarter(dt: datetime) -> datetime:
    """The start of the quarter containing ``dt`` (UTC)."""
    s = epoch_s(dt)
    return from_epoch_s(s - s % STEP_S)


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
