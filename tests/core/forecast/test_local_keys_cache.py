"""local_keys' per-zone hour table: grown in both directions, it gives what zoneinfo gives."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from hems_core.forecast import timegrid
from hems_core.forecast.timegrid import IntArray, local_keys


def _direct(epochs: IntArray, tz: ZoneInfo) -> tuple[list[int], list[int]]:
    days, quarters = [], []
    for t in epochs:
        loc = datetime.fromtimestamp(int(t), UTC).astimezone(tz)
        days.append(loc.date().toordinal())
        quarters.append((loc.hour * 60 + loc.minute) // 15)
    return days, quarters


def test_cached_offsets_match_zoneinfo_across_dst_in_both_directions() -> None:
    tz = ZoneInfo("Europe/Amsterdam")
    timegrid._HOUR_CACHE.pop(tz, None)
    mid = int(datetime(2025, 10, 26, 0, tzinfo=UTC).timestamp())  # DST ends at 01:00 UTC
    windows = [(mid, 48), (mid - 86400 * 220, 96), (mid + 86400 * 160, 96), (mid - 3600, 8)]
    for start, n in windows:  # later, earlier (grows down past March), later again, inside
        epochs = start + 900 * np.arange(n, dtype=np.int64)
        day, quarter = local_keys(epochs, tz)
        want_day, want_quarter = _direct(epochs, tz)
        assert day.tolist() == want_day
        assert quarter.tolist() == want_quarter
    h0, table = timegrid._HOUR_CACHE[tz]
    assert h0 <= (mid - 86400 * 220) // 3600
    assert set(np.unique(table)) == {3600, 7200}
