"""A price tail beyond the published horizon, so a 24–48 h plan is always well posed.

Day-ahead prices are published once a day (about 12:45 CET), so the known horizon swings between
about 11 and 35 hours. The optimiser still plans over a fixed horizon; the steps after the last
published price get a forecast here, marked ``known = False`` so the planner (and the user) can
tell them apart, and replaced as soon as real prices arrive.

The forecast is the local-time-of-day profile of recent known prices: for each quarter of the
day, the median over the last ``days`` days, blended half-and-half with the same weekday's value
when the window holds one (weekend prices differ). Profiles are keyed by local wall-clock minute,
so DST days work: the missing spring hour is never asked for, and the repeated autumn hour takes
the profile of that clock hour. A key never seen (e.g. 02:00 when the window only holds a spring
DST day) takes the nearest earlier clock quarter.

Usage (forecast code imports this; it is not reimplemented there)::

    from hems_core.tariffs.tail import extend_with_tail
    spot48 = extend_with_tail(spot, until=now + timedelta(hours=48), tz=tz, history=last_week)
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import cast

import numpy as np

from .composition import LocalCalendar
from .errors import PriceDataError
from .series import PriceSeries
from .timegrid import STEP, epoch_s, floor_quarter

DAY_MINUTES = 24 * 60


def extend_with_tail(
    series: PriceSeries,
    until: datetime,
    tz: tzinfo,
    *,
    history: PriceSeries | None = None,
    days: int = 7,
    weekday_weight: float = 0.5,
) -> PriceSeries:
    """``series`` continued up to ``until`` (exclusive, rounded up to a quarter) with forecasts.

    ``history`` (optional) supplies recent known prices before ``series``; it may overlap it.
    Returns ``series`` unchanged when it already reaches ``until``. Raises
    :class:`PriceDataError` when no known price lies in the look-back window.
    """
    if until.tzinfo is None:
        raise PriceDataError("format", "'until' must be timezone-aware")
    end = floor_quarter(until)
    if end < until:
        end += STEP
    if end <= series.end:
        return series
    base = series if history is None else history.extend(series)
    window_start = series.end - timedelta(days=days)
    i0 = max(0, base.index_of(window_start))
    vals = base.values[i0:]
    known = base.known[i0:]
    if not known.any():
        raise PriceDataError(
            "incomplete", f"no known prices in the {days} days before {series.end.isoformat()}"
        )
    cal = LocalCalendar.of(base.start + i0 * STEP, len(vals), tz)
    minute = cal.minute[known]
    weekday = cal.weekday[known]
    v = vals[known]

    n_tail = int((end - series.end) / STEP)
    tcal = LocalCalendar.of(series.end, n_tail, tz)
    tail = np.empty(n_tail)
    by_minute: dict[int, float] = {}
    for m in cast(list[int], np.unique(minute).tolist()):
        by_minute[m] = float(np.median(v[minute == m]))
    keys = np.array(sorted(by_minute), dtype=np.int64)
    for j in range(n_tail):
        m = int(tcal.minute[j])
        if m not in by_minute:  # nearest earlier clock quarter, wrapping midnight
            k = keys[keys <= m]
            m = int(k[-1]) if k.size else int(keys[-1])
        value = by_minute[m]
        same = (minute == m) & (weekday == tcal.weekday[j])
        if same.any():
            value = (1 - weekday_weight) * value + weekday_weight * float(np.mean(v[same]))
        tail[j] = value
    out = series.replace(
        values=np.concatenate((series.values, tail)),
        known=np.concatenate((series.known, np.zeros(n_tail, dtype=bool))),
    )
    assert epoch_s(out.end) == epoch_s(end)
    return out
