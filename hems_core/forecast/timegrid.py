"""Time handling shared by the forecasters: UTC instants, 15-minute grids, local calendar keys.

Internally every instant is an ``int64`` count of seconds since the Unix epoch (UTC). That keeps the
arithmetic vectorised and free of naive/aware datetime mix-ups; local time is only used to derive
calendar keys (local date, weekday, quarter of the local day) at the edge, through ``zoneinfo``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from ..timegrid import (
    QUARTERS_PER_DAY,
    STEP_H,
    STEP_S,
    ceil_quarter_s,
    floor_quarter_s,
    from_epoch_s,
)
from .errors import ForecastInputError

# The grid itself is defined once in hems_core.timegrid; re-exported for this package.
__all__ = [
    "QUARTERS_PER_DAY",
    "STEP_H",
    "STEP_S",
    "FloatArray",
    "IntArray",
    "TimestampLike",
    "ceil_quarter_s",
    "floor_quarter_s",
    "from_epoch_s",
    "grid_epochs",
    "infer_interval_s",
    "iter_dates",
    "local_keys",
    "ordinal_weekday",
    "to_epoch_array",
    "to_epoch_s",
    "to_quarter_grid",
    "values_array",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TimestampLike = datetime | str | int | float | np.datetime64
"""Accepted forms of one instant: aware datetime, ISO 8601 string, epoch seconds, datetime64."""


# Epoch seconds we accept: 1970 up to 2200. Anything else is a unit mix-up or garbage, and numpy's
# int64 arithmetic downstream would overflow on it.
_EPOCH_MAX_S = 7_258_118_400


def _in_range(epoch_s: int, original: object) -> int:
    if not 0 <= epoch_s < _EPOCH_MAX_S:
        raise ForecastInputError(f"timestamp out of range (1970-2200): {original!r}")
    return epoch_s


def to_epoch_s(value: TimestampLike) -> int:
    """Convert one instant to epoch seconds (UTC).

    Naive datetimes and offset-less ISO strings are rejected: guessing a zone is how DST bugs start.
    """
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ForecastInputError("timestamp is NaT")
        return _in_range(int(value.astype("datetime64[s]").astype(np.int64)), value)
    if isinstance(value, bool):
        raise ForecastInputError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ForecastInputError(f"not a finite timestamp: {value!r}")
        return _in_range(int(value), value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError as err:
            raise ForecastInputError(f"not an ISO 8601 timestamp: {value!r}") from err
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ForecastInputError(f"timestamp without a UTC offset: {value.isoformat()}")
        return math.floor(value.timestamp())
    raise ForecastInputError(f"not a timestamp: {value!r}")


def to_epoch_array(values: Sequence[TimestampLike] | npt.NDArray[np.generic]) -> IntArray:
    """Convert a sequence of instants to an ``int64`` epoch-seconds array."""
    if isinstance(values, np.ndarray):
        if np.issubdtype(values.dtype, np.datetime64):
            return values.astype("datetime64[s]").astype(np.int64)
        if np.issubdtype(values.dtype, np.integer):
            return values.astype(np.int64)
        if np.issubdtype(values.dtype, np.floating):
            if not np.all(np.isfinite(values)):
                raise ForecastInputError("timestamps contain NaN or infinity")
            floored: IntArray = np.floor(values).astype(np.int64)
            return floored
    return np.fromiter((to_epoch_s(v) for v in values), dtype=np.int64, count=len(values))


def values_array(values: Sequence[float] | npt.NDArray[np.generic], name: str) -> FloatArray:
    """A 1-D float array; non-numeric input is a :class:`ForecastInputError`."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ForecastInputError(f"{name}: values are not numeric") from err
    if arr.ndim != 1:
        raise ForecastInputError(f"{name}: expected a 1-D sequence, got shape {arr.shape}")
    return arr


def infer_interval_s(epochs: IntArray) -> int:
    """The typical spacing of a series (median of positive differences)."""
    if epochs.size < 2:
        return STEP_S
    diffs = np.diff(np.sort(epochs))
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        raise ForecastInputError("all timestamps are identical")
    return int(np.median(diffs))


def to_quarter_grid(
    timestamps: Sequence[TimestampLike] | npt.NDArray[np.generic],
    energy_kwh: Sequence[float] | npt.NDArray[np.generic],
    *,
    interval_s: int | None = None,
) -> tuple[int, FloatArray]:
    """Resample interval energies (kWh per interval, labelled by interval start) to 15-min steps.

    Finer data (e.g. Home Assistant's 5-minute short-term statistics) is summed per quarter; a
    quarter is only complete (not NaN) when every sub-interval is present. Coarser data (hourly
    long-term statistics) is split evenly over its quarters, which loses the shape inside the hour
    but keeps energy. Missing intervals become NaN. Returns (first quarter start, values).
    """
    epochs = to_epoch_array(timestamps)
    vals = values_array(energy_kwh, "energy_kwh")
    if epochs.size != vals.size:
        raise ForecastInputError(
            f"{epochs.size} timestamps but {vals.size} values: the sequences must match"
        )
    if epochs.size == 0:
        raise ForecastInputError("empty history")
    order = np.argsort(epochs, kind="stable")
    epochs, vals = epochs[order], vals[order]
    step = interval_s if interval_s is not None else infer_interval_s(epochs)
    if step <= 0:
        raise ForecastInputError(f"interval must be positive, got {step} s")
    if step <= STEP_S:
        if STEP_S % step:
            raise ForecastInputError(f"interval {step} s does not divide 15 minutes")
        start = floor_quarter_s(int(epochs[0]))
        n = (floor_quarter_s(int(epochs[-1])) - start) // STEP_S + 1
        idx = (epochs - start) // STEP_S
        total = np.zeros(n)
        count = np.zeros(n)
        finite = np.isfinite(vals)
        np.add.at(total, idx[finite], vals[finite])
        np.add.at(count, idx[finite], 1.0)
        out = np.where(count >= STEP_S // step, total, np.nan)
        return start, out
    if step % STEP_S:
        raise ForecastInputError(f"interval {step} s is not a multiple of 15 minutes")
    parts = step // STEP_S
    if np.any(epochs % STEP_S):
        raise ForecastInputError("coarse intervals must start on a clock quarter")
    start = int(epochs[0])
    n = (int(epochs[-1]) - start) // STEP_S + parts
    out = np.full(n, np.nan)
    base = (epochs - start) // STEP_S
    for k in range(parts):
        out[base + k] = vals / parts
    return start, out


def grid_epochs(start: int, n: int) -> IntArray:
    """Epoch seconds of ``n`` consecutive quarter starts from ``start``."""
    return start + STEP_S * np.arange(n, dtype=np.int64)


def local_keys(epochs: IntArray, tz: ZoneInfo) -> tuple[IntArray, IntArray]:
    """Local calendar keys per instant: (local date as ordinal day number, local quarter 0..95).

    Offsets are looked up once per UTC hour (zone offsets change on whole quarter-hours at most),
    so a year of quarters costs a few thousand zoneinfo calls, not 35,000; the hours are kept
    per zone (:data:`_HOUR_CACHE`), so asking again for the same weeks costs none.
    """
    if epochs.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    hours = epochs // 3600
    first, last = int(hours.min()), int(hours.max())
    if last - first < _HOUR_CACHE_MAX:
        h0, table = _hour_offsets(tz, first, last)
        local = epochs + table[hours - h0]
    else:  # sparse instants over decades: only the hours used
        uniq, inverse = np.unique(hours, return_inverse=True)
        offsets = np.fromiter(
            (int(_offset(datetime.fromtimestamp(int(h) * 3600, tz=UTC).astimezone(tz)))
             for h in uniq),
            dtype=np.int64,
            count=uniq.size,
        )  # fmt: skip
        local = epochs + offsets[inverse]
    day = local // 86400 + _EPOCH_ORDINAL
    quarter = (local % 86400) // STEP_S
    return day, quarter


#: Per zone: (first UTC hour, UTC offset in seconds of every hour from it). A backtest asks
#: for the same weeks of history every hour; the table grows to cover what was asked.
_HOUR_CACHE: dict[ZoneInfo, tuple[int, IntArray]] = {}
#: Hours a cached table may span (about 23 years), so odd inputs cannot grow it unbounded.
_HOUR_CACHE_MAX: Final = 200_000


def _offsets_of(tz: ZoneInfo, first: int, last: int) -> IntArray:
    return np.fromiter(
        (
            int(_offset(datetime.fromtimestamp(h * 3600, tz=UTC).astimezone(tz)))
            for h in range(first, last + 1)
        ),
        dtype=np.int64,
        count=last - first + 1,
    )


def _hour_offsets(tz: ZoneInfo, first: int, last: int) -> tuple[int, IntArray]:
    """The cached offset table of ``tz`` covering UTC hours ``first..last``."""
    key = tz
    have = _HOUR_CACHE.get(key)
    if have is not None:
        h0, table = have
        h1 = h0 + table.shape[0] - 1
        if h0 <= first and last <= h1:
            return have
        lo, hi = min(first, h0), max(last, h1)
        if hi - lo < _HOUR_CACHE_MAX:
            parts = []
            if lo < h0:
                parts.append(_offsets_of(tz, lo, h0 - 1))
            parts.append(table)
            if hi > h1:
                parts.append(_offsets_of(tz, h1 + 1, hi))
            _HOUR_CACHE[key] = (lo, np.concatenate(parts))
            return _HOUR_CACHE[key]
    _HOUR_CACHE[key] = (first, _offsets_of(tz, first, last))
    return _HOUR_CACHE[key]


def _offset(dt: datetime) -> float:
    off = dt.utcoffset()
    assert off is not None  # aware by construction
    return off.total_seconds()


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def ordinal_weekday(ordinals: IntArray) -> IntArray:
    """Monday=0 … Sunday=6 for proleptic Gregorian ordinals (1 = 0001-01-01, a Monday)."""
    return (ordinals - 1) % 7


def iter_dates(first: date, last: date) -> Iterable[date]:
    """Every date from ``first`` to ``last`` inclusive."""
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)
