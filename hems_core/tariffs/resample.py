"""From arbitrary price intervals to the 15-minute grid.

Sources publish 60-, 30-, 15- or (rarely) 5-minute prices. A coarser price holds for every quarter
it covers (that is what the market cleared); finer prices are averaged over each quarter, weighted
by time, so the energy-weighted cost of a flat load is unchanged. Both are the same operation: the
mean of a piecewise-constant function over each quarter. A quarter inside one interval takes that
interval's value exactly (no floating-point drift on held values).

The time axis is checked on the way: overlaps, duplicates and gaps are errors, never interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import PriceDataError
from .series import PriceSeries
from .timegrid import STEP_S, from_epoch_s

IntArray = NDArray[np.int64]

#: Interval lengths (seconds) a timestamp-only source may have: 5, 10, 15, 20, 30, 60 minutes.
ALLOWED_STEPS_S = (300, 600, 900, 1200, 1800, 3600)


@dataclass(frozen=True)
class SeriesMeta:
    """What a series is, apart from its numbers."""

    currency: str = "EUR"
    source: str = "unknown"
    includes_vat: bool = False
    includes_energy_tax: bool = False
    includes_grid_fees: bool = False


def _t(s: int | np.integer) -> str:
    return from_epoch_s(int(s)).strftime("%Y-%m-%dT%H:%MZ")


def intervals_to_series(
    starts: ArrayLike,
    ends: ArrayLike,
    values: ArrayLike,
    meta: SeriesMeta,
    known: ArrayLike | None = None,
) -> PriceSeries:
    """Resample ``[start, end) -> value`` intervals (epoch seconds, currency/kWh) to quarters.

    Raises :class:`PriceDataError` on NaN, non-positive durations, duplicates, overlaps, gaps, a
    span that does not start and end on a clock quarter, or intervals of 15 minutes or longer that
    are not on the quarter grid.
    """
    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    k = np.ones(s.shape, dtype=bool) if known is None else np.asarray(known, dtype=bool)
    if s.ndim != 1 or s.size == 0:
        raise PriceDataError("format", "no prices in the payload")
    if not (s.shape == e.shape == v.shape == k.shape):
        raise PriceDataError("format", "interval starts, ends and values differ in length")
    bad = ~np.isfinite(v)
    if bad.any():
        raise PriceDataError(
            "nan", f"price for {_t(s[np.flatnonzero(bad)[0]])} is missing or not a number"
        )
    order = np.argsort(s, kind="stable")
    s, e, v, k = s[order], e[order], v[order], k[order]
    dur = e - s
    if (dur <= 0).any():
        i = int(np.flatnonzero(dur <= 0)[0])
        raise PriceDataError("format", f"interval at {_t(s[i])} ends before it starts")
    if s.size > 1:
        same = s[1:] == s[:-1]
        if same.any():
            raise PriceDataError("duplicate", f"two prices for {_t(s[1:][same][0])}")
        over = s[1:] < e[:-1]
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise PriceDataError(
                "overlap",
                f"overlapping prices: {_t(s[i])}–{_t(e[i])} and {_t(s[i + 1])}–{_t(e[i + 1])}",
            )
        gap = s[1:] > e[:-1]
        if gap.any():
            i = int(np.flatnonzero(gap)[0])
            raise PriceDataError("gap", f"gap in prices: nothing from {_t(e[i])} to {_t(s[i + 1])}")
    coarse = dur >= STEP_S
    off = ((s % STEP_S) != 0) | ((e % STEP_S) != 0)
    if (coarse & off).any():
        i = int(np.flatnonzero(coarse & off)[0])
        raise PriceDataError(
            "alignment", f"interval {_t(s[i])}–{_t(e[i])} is not on the 15-minute clock grid"
        )
    if s[0] % STEP_S or e[-1] % STEP_S:
        raise PriceDataError(
            "alignment",
            f"prices cover {_t(s[0])}–{_t(e[-1])}, which does not start and end on clock quarters",
        )

    q = np.arange(s[0], e[-1] + 1, STEP_S, dtype=np.int64)  # quarter boundaries
    first = np.searchsorted(s, q[:-1], side="right") - 1  # interval holding each quarter start
    last = np.searchsorted(s, q[1:], side="left") - 1  # last interval starting before its end
    held = first == last
    out = v[first].copy()
    if not held.all():
        cum = np.concatenate(([0.0], np.cumsum(v * dur)))

        def integral(t: IntArray) -> NDArray[np.float64]:
            i = np.clip(np.searchsorted(s, t, side="right") - 1, 0, s.size - 1)
            return cum[i] + v[i] * (t - s[i])

        mean = (integral(q[1:]) - integral(q[:-1])) / STEP_S
        out = np.where(held, out, mean)
    unknown = np.concatenate(([0], np.cumsum(~k)))
    q_known = (unknown[last + 1] - unknown[first]) == 0
    return PriceSeries(
        start=from_epoch_s(int(q[0])),
        values=out,
        known=q_known,
        currency=meta.currency,
        source=meta.source,
        includes_vat=meta.includes_vat,
        includes_energy_tax=meta.includes_energy_tax,
        includes_grid_fees=meta.includes_grid_fees,
    )


def _local_day_index(s: IntArray, tz: tzinfo) -> list[int]:
    """Local-day number of each (sorted) epoch second, with O(days) zone look-ups."""
    first = datetime.fromtimestamp(int(s[0]), tz=UTC).astimezone(tz).date()
    last = datetime.fromtimestamp(int(s[-1]), tz=UTC).astimezone(tz).date()
    bounds = []
    d = first
    while d <= last:
        d = d + timedelta(days=1)
        bounds.append(int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()))
    return cast(list[int], np.searchsorted(np.asarray(bounds), s, side="right").tolist())


def infer_ends(starts: ArrayLike, tz: tzinfo) -> IntArray:
    """Interval ends for sources that give only start times (e.g. ``{timestamp, price}``).

    Ends are returned in the order of ``starts``. The resolution may change between local days
    (hourly until 2025-09-30, quarter-hourly from 2025-10-01) but never inside one, so each local
    day's step is the smallest spacing between two of its own points, and every other spacing in
    that day is a gap. Spacings across midnight never set a step (a missing first quarter must not
    turn the previous day's last price into a 30-minute one); a day with a single price takes the
    step of the nearest day (the later one on a tie).
    """
    raw = np.asarray(starts, dtype=np.int64)
    if raw.size == 0:
        raise PriceDataError("format", "no prices in the payload")
    order = np.argsort(raw, kind="stable")
    s = raw[order]
    if s.size > 1 and (s[1:] == s[:-1]).any():
        raise PriceDataError("duplicate", f"two prices for {_t(s[1:][s[1:] == s[:-1]][0])}")
    days = _local_day_index(s, tz)
    diffs = np.diff(s)
    step_of_day: dict[int, int] = {}
    for i, d in enumerate(diffs):
        day = days[i]
        if days[i + 1] == day and d < step_of_day.get(day, 1 << 62):
            step_of_day[day] = int(d)
    if not step_of_day:
        raise PriceDataError(
            "format", "cannot tell the interval length from one price per day; give start and end"
        )
    known_days = sorted(step_of_day)
    ends = np.empty_like(s)
    for i in range(s.size):
        step = step_of_day.get(days[i])
        if step is None:  # a lone price in its day: the resolution of the nearest day
            near = min(known_days, key=lambda k: (abs(k - days[i]), -k))
            step = step_of_day[near]
        if step not in ALLOWED_STEPS_S:
            raise PriceDataError(
                "gap",
                f"prices around {_t(s[i])} are {step // 60} minutes apart: "
                "not a market resolution (missing prices?)",
            )
        if i + 1 < s.size and diffs[i] != step and days[i + 1] == days[i]:
            raise PriceDataError(
                "gap", f"gap in prices: nothing from {_t(s[i] + step)} to {_t(s[i + 1])}"
            )
        ends[i] = s[i] + step
    out = np.empty_like(ends)
    out[order] = ends
    return out
