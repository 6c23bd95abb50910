"""Capacity-tariff state kept live from the meter: running quarter, month peak, Swedish hours.

:class:`PeakTracker` is fed every meter reading (1-5 s) and keeps what the optimiser's
:class:`~hems_core.optimize.inputs.State` needs and what the fast loop's quarter-peak guard asks:

* the energy imported so far in the running clock quarter: from the meter's import counter when
  it is given and plausible (what the DSO bills), else the previous power held until this
  reading, with an integration gap capped at ``max_gap_s`` (the rest counts as a gap, not as
  energy: a silent meter must not invent a peak, and the quarter is a lower bound);
* each clock quarter closed at its boundary (a reading interval that crosses one is split by
  time), the month's highest quarter average import (reset at local month start; no floor, the
  Flanders 2.5 kW floor is the optimiser's business);
* Swedish top-peaks fields: the running clock hour's import, today's highest weighted hourly
  mean and the completed days' peaks of the month (night weight from :class:`TopPeaksTariff`).

Only import counts (negative power = export = zero). Times are epoch seconds inside; local time
only decides month and day starts and the night window. Queries never mutate: asked about a
``now`` past the last reading, the tracker answers as if the last power were held until ``now``
(capped at ``max_gap_s``). The hot path (:meth:`observe`, :meth:`quarter_energy_kwh`,
:meth:`allowed_import_w`) is plain float arithmetic; a local-time look-up happens once per hour.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from ..model import MonthlyPeakTariff, TopPeaksTariff
from ..tariffs.capacity import FlandersPeakState
from ..timegrid import STEP_S
from .state_errors import StateKeeperError, check_positive

__all__ = ["COUNTER_SLACK_KWH", "PeakTracker", "PeakTrackerError"]

#: Meter counters step by 1 Wh; a delta may be one step above what the power explains.
COUNTER_SLACK_KWH: Final = 0.002
_Q: Final = float(STEP_S)
_SNAPSHOT_VERSION: Final = 1


class PeakTrackerError(StateKeeperError):
    """A reading or a snapshot given to :class:`PeakTracker` is invalid."""


def _zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise PeakTrackerError(f"{field} is not a known time zone: {name!r}") from exc


def _next_month_start_s(t: float, tz: ZoneInfo) -> int:
    local = datetime.fromtimestamp(t, tz)
    y, m = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return int(datetime(y, m, 1, tzinfo=tz).timestamp())


def _next_midnight_s(t: float, tz: ZoneInfo) -> int:
    d = datetime.fromtimestamp(t, tz).date() + timedelta(days=1)
    return int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp())


def _month_of(t: float, tz: ZoneInfo) -> tuple[int, int]:
    local = datetime.fromtimestamp(t, tz)
    return local.year, local.month


class PeakTracker:
    """Running quarter, month peak and Swedish hourly/daily peaks from meter readings.

    ``tz`` is the meter's zone; a tariff given here uses its own ``tz`` for its calendar (as the
    optimiser does). ``max_gap_s`` caps how long a power reading is held; ``max_import_w`` bounds
    a plausible counter delta (1.5 x this power over the interval, plus one counter step).
    """

    def __init__(
        self,
        tz: str,
        monthly: MonthlyPeakTariff | None = None,
        top: TopPeaksTariff | None = None,
        snapshot: dict[str, Any] | None = None,
        *,
        max_gap_s: float = 60.0,
        max_import_w: float = 60_000.0,
        keep_months: int = 12,
    ) -> None:
        self._tz_name = tz
        self._tz = _zone(tz, "PeakTracker.tz")
        self._mtz = _zone(monthly.tz, "MonthlyPeakTariff.tz") if monthly else self._tz
        self._stz = _zone(top.tz, "TopPeaksTariff.tz") if top else self._tz
        self._top = top
        self._max_gap_s = check_positive("PeakTracker.max_gap_s", max_gap_s, PeakTrackerError)
        self._max_import_w = check_positive(
            "PeakTracker.max_import_w", max_import_w, PeakTrackerError
        )
        if not isinstance(keep_months, int) or keep_months < 1:
            raise PeakTrackerError(f"PeakTracker.keep_months must be an int >= 1: {keep_months!r}")
        self._keep = keep_months
        # last reading
        self._last_t: float | None = None
        self._last_w: float | None = None  # None: power unknown (after a restore)
        self._last_c: float | None = None
        # running quarter (epoch seconds)
        self._q_start = 0
        self._q_end = 0
        self._q_kwh = 0.0
        self._q_gap_s = 0.0
        self._h_kwh = 0.0  # closed quarters of the running clock hour
        # month peak (calendar of the monthly tariff)
        self._month: tuple[int, int] = (0, 0)
        self._m_end = 0
        self._month_peak_kw = 0.0
        self._month_peak_start: int | None = None
        self._prev_peaks: list[float] = []
        # Swedish (calendar of the top-peaks tariff)
        self._s_m_end = 0
        self._d_end = 0
        self._today_peak = 0.0
        self._day_has_hours = False
        self._daily: list[float] = []
        # what went wrong, for diagnostics
        self.last_quarter_kw: float | None = None
        self.last_quarter_gap_s = 0.0
        self.closed_kwh = 0.0  # energy in the quarters closed since construction
        self.gaps = 0
        self.gap_s = 0.0
        self.counter_rejects = 0
        self.out_of_order = 0
        if snapshot is not None:
            self._load(snapshot)

    # -- feeding ---------------------------------------------------------------------------------

    def observe(
        self, now: datetime, import_w: float, energy_import_kwh: float | None = None
    ) -> None:
        """Fold one meter reading in: net grid power (W, + import) and the import counter (kWh).

        A reading older than the previous one is ignored (counted in ``out_of_order``).
        """
        if now.tzinfo is None:
            raise PeakTrackerError(f"PeakTracker.observe: now must be timezone-aware: {now!r}")
        self.observe_s(now.timestamp(), import_w, energy_import_kwh)

    def observe_s(self, t: float, import_w: float, energy_import_kwh: float | None = None) -> None:
        """:meth:`observe` with ``now`` as epoch seconds (for a core that keeps time as floats)."""
        if not math.isfinite(import_w):
            raise PeakTrackerError(
                f"PeakTracker.observe: import_w must be finite, got {import_w!r}"
            )
        p = import_w if import_w > 0.0 else 0.0
        c = energy_import_kwh
        if c is not None and not math.isfinite(c):
            c = None
        last = self._last_t
        if last is None:
            self._begin(t)
        elif t < last:
            self.out_of_order += 1
            return
        elif t > last:
            self._integrate(last, t, c)
        self._last_t = t
        self._last_w = p
        self._last_c = c

    def _integrate(self, last: float, t: float, c: float | None) -> None:
        dt = t - last
        if c is not None and self._last_c is not None:
            d = c - self._last_c
            if 0.0 <= d <= self._max_import_w * 1.5 * dt / 3.6e6 + COUNTER_SLACK_KWH:
                self._advance(last, t, d, t)
                return
            self.counter_rejects += 1  # reset, swap or bad read: fall back to the power
        hold = self._last_w
        if hold is None:
            self._advance(last, t, 0.0, last)
            self.gaps += 1
            self.gap_s += dt
        elif dt > self._max_gap_s:
            self._advance(last, t, hold * self._max_gap_s / 3.6e6, last + self._max_gap_s)
            self.gaps += 1
            self.gap_s += dt - self._max_gap_s
        else:
            self._advance(last, t, hold * dt / 3.6e6, t)

    def _begin(self, t: float) -> None:
        qs = int(t // _Q) * STEP_S
        self._q_start, self._q_end = qs, qs + STEP_S
        self._q_kwh = 0.0
        self._q_gap_s = t - qs  # the part of the first quarter before the first reading
        self._h_kwh = 0.0
        self._month = _month_of(qs, self._mtz)
        self._m_end = _next_month_start_s(qs, self._mtz)
        self._s_m_end = _next_month_start_s(qs, self._stz)
        self._d_end = _next_midnight_s(qs, self._stz)

    def _advance(self, t0: float, t1: float, e: float, e_end: float) -> None:
        """Add energy ``e`` spread evenly over ``[t0, e_end]``; ``[e_end, t1]`` is a gap.

        Quarters ending at or before ``t1`` are closed.
        """
        rate = e / (e_end - t0) if e_end > t0 else 0.0
        while True:
            qe = self._q_end
            seg = t1 if t1 < qe else qe
            a = seg if seg < e_end else e_end
            if a > t0:
                self._q_kwh += rate * (a - t0)
            if seg > e_end:
                self._q_gap_s += seg - (t0 if t0 > e_end else e_end)
            if t1 < qe:
                return
            self._close_quarter()
            t0 = qe

    def _close_quarter(self) -> None:
        qs, kwh = self._q_start, self._q_kwh
        if qs >= self._m_end:
            self._roll_month(qs)
        kw = kwh * (3600.0 / _Q)
        if kw > self._month_peak_kw:
            self._month_peak_kw = kw
            self._month_peak_start = qs
        if qs >= self._s_m_end:
            self._roll_day(qs)
            self._daily = []
            self._s_m_end = _next_month_start_s(qs, self._stz)
        elif qs >= self._d_end:
            self._roll_day(qs)
        self._h_kwh += kwh
        self.closed_kwh += kwh
        self.last_quarter_kw = kw
        self.last_quarter_gap_s = self._q_gap_s
        self._q_start = self._q_end
        self._q_end += STEP_S
        self._q_kwh = 0.0
        self._q_gap_s = 0.0
        if self._q_start % 3600 == 0:
            self._close_hour(self._q_start - 3600)

    def _roll_month(self, qs: int) -> None:
        new = _month_of(qs, self._mtz)
        old = self._month
        skipped = (new[0] - old[0]) * 12 + new[1] - old[1] - 1
        prev = [*self._prev_peaks, self._month_peak_kw, *([0.0] * min(max(skipped, 0), self._keep))]
        self._prev_peaks = prev[-self._keep :]
        self._month = new
        self._m_end = _next_month_start_s(qs, self._mtz)
        self._month_peak_kw = 0.0
        self._month_peak_start = None

    def _roll_day(self, qs: int) -> None:
        if self._day_has_hours:
            self._daily.append(self._today_peak)
        self._today_peak = 0.0
        self._day_has_hours = False
        self._d_end = _next_midnight_s(qs, self._stz)

    def _close_hour(self, hs: int) -> None:
        kw = self._h_kwh * self._weight(hs)  # kWh in one hour = mean kW
        if kw > self._today_peak:
            self._today_peak = kw
        self._day_has_hours = True
        self._h_kwh = 0.0

    def _weight(self, hs: float) -> float:
        tt = self._top
        if tt is None or tt.night_weight == 1.0:
            return 1.0
        h = datetime.fromtimestamp(hs, self._stz).hour
        s, e = tt.night_start_hour, tt.night_end_hour
        night = (h >= s or h < e) if s > e else (s <= h < e)
        return tt.night_weight if night else 1.0

    # -- hot-path queries ------------------------------------------------------------------------

    def quarter_energy_kwh(self, now: datetime) -> float:
        """Energy imported so far in the clock quarter containing ``now`` (kWh).

        Past the last reading, its power is taken as held until ``now`` (at most ``max_gap_s``).
        """
        return self.quarter_energy_kwh_s(now.timestamp())

    def quarter_energy_kwh_s(self, t: float) -> float:
        """:meth:`quarter_energy_kwh` at epoch seconds ``t``."""
        last = self._last_t
        if last is None:
            return 0.0
        qs = t - t % _Q
        if qs == self._q_start:
            e = self._q_kwh
        elif qs > self._q_start:
            e = 0.0
        else:
            return self._q_kwh  # a query older than the last reading: what is known
        w = self._last_w
        if w and t > last:
            a = last if last > qs else qs
            b = last + self._max_gap_s
            b = t if t < b else b
            if b > a:
                e += w * (b - a) / 3.6e6
        return e

    def quarter_remaining_s(self, now: datetime) -> float:
        """Seconds from ``now`` to the end of its clock quarter (in ``(0, 900]``)."""
        t = now.timestamp()
        return _Q - t % _Q

    def allowed_import_w(self, now: datetime, budget_kw: float, max_w: float = math.inf) -> float:
        """Import power (W) allowed for the rest of the running quarter to average ``budget_kw``.

        ``(budget_kw * 0.25 h - energy so far) / time left``, never below 0 and at most ``max_w``
        (close to the boundary the quotient grows without bound).
        """
        return self.allowed_import_w_s(now.timestamp(), budget_kw, max_w)

    def allowed_import_w_s(self, t: float, budget_kw: float, max_w: float = math.inf) -> float:
        """:meth:`allowed_import_w` at epoch seconds ``t``."""
        left = _Q - t % _Q
        room = budget_kw * (_Q / 3600.0) - self.quarter_energy_kwh_s(t)
        if room <= 0.0:
            return 0.0
        w = room * 3.6e6 / left
        return w if w < max_w else max_w

    # -- state for the optimiser -----------------------------------------------------------------

    @property
    def month_peak_kw(self) -> float:
        """Highest complete-quarter average import of the month so far (kW, no floor)."""
        return self._month_peak_kw

    @property
    def month_peak_start(self) -> datetime | None:
        """Start (UTC) of the quarter that set the month's peak."""
        s = self._month_peak_start
        return None if s is None else datetime.fromtimestamp(s, UTC)

    @property
    def quarter_unmetered_s(self) -> float:
        """Seconds of the running quarter (up to the last reading) with no energy measured.

        Time before the first reading and gaps beyond ``max_gap_s``: the quarter's energy is a
        lower bound by about this much time at the real power.
        """
        return self._q_gap_s

    @property
    def previous_peaks_kw(self) -> tuple[float, ...]:
        """The last completed months' peaks, oldest first (0 for months without readings)."""
        return tuple(self._prev_peaks)

    def _projected(self, now: datetime) -> PeakTracker:
        """This tracker, or a copy advanced to ``now`` with the last power held (capped)."""
        last = self._last_t
        t = now.timestamp()
        if last is None or t <= last:
            return self
        p = copy.copy(self)
        p._prev_peaks = list(self._prev_peaks)
        p._daily = list(self._daily)
        w = self._last_w or 0.0
        end = min(t, last + self._max_gap_s)
        p._advance(last, t, w * (end - last) / 3.6e6, end)
        return p

    def state_fields(self, now: datetime) -> dict[str, Any]:
        """The keyword fields of :class:`hems_core.optimize.inputs.State` at ``now``.

        ``month_peak_kw``, ``quarter_import_kwh``, ``hour_import_kwh``, ``today_peak_kw``,
        ``month_daily_peaks_kw``; quarters and days that ended since the last reading are
        closed (on a copy) first.
        """
        p = self._projected(now)
        if p._last_t is None:
            return {
                "month_peak_kw": 0.0,
                "quarter_import_kwh": 0.0,
                "hour_import_kwh": 0.0,
                "today_peak_kw": 0.0,
                "month_daily_peaks_kw": (),
            }
        t = now.timestamp()
        same_q = p._q_start <= t < p._q_end
        q_kwh = p._q_kwh if same_q else 0.0
        month_peak = 0.0 if t >= p._m_end else p._month_peak_kw
        daily: tuple[float, ...]
        if t >= p._s_m_end:
            today, daily = 0.0, ()
        elif t >= p._d_end:
            today = 0.0
            daily = (*p._daily, p._today_peak) if p._day_has_hours else tuple(p._daily)
        else:
            today, daily = p._today_peak, tuple(p._daily)
        hour_same = same_q and int(t // 3600) == p._q_start // 3600
        return {
            "month_peak_kw": month_peak,
            "quarter_import_kwh": q_kwh,
            "hour_import_kwh": (p._h_kwh + q_kwh) if hour_same else q_kwh,
            "today_peak_kw": today,
            "month_daily_peaks_kw": daily,
        }

    def flanders_state(self, now: datetime) -> FlandersPeakState:
        """The month's state as :class:`hems_core.tariffs.capacity.FlandersPeakState`."""
        p = self._projected(now)
        f = p.state_fields(now)
        y, m = _month_of(now.timestamp(), self._mtz)
        same_month = (y, m) == p._month
        prev = tuple(p._prev_peaks) if same_month else (*p._prev_peaks, p._month_peak_kw)
        return FlandersPeakState(
            y,
            m,
            f["month_peak_kw"],
            p.month_peak_start if same_month else None,
            prev[-self._keep :],
            datetime.fromtimestamp(now.timestamp() // _Q * _Q, UTC),
            f["quarter_import_kwh"],
        )

    # -- persistence -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart, as JSON-able values."""
        return {
            "version": _SNAPSHOT_VERSION,
            "tz": self._tz_name,
            "last_t": self._last_t,
            "last_c": self._last_c,
            "q_start": self._q_start,
            "q_kwh": self._q_kwh,
            "q_gap_s": self._q_gap_s,
            "h_kwh": self._h_kwh,
            "month": list(self._month),
            "m_end": self._m_end,
            "month_peak_kw": self._month_peak_kw,
            "month_peak_start": self._month_peak_start,
            "prev_peaks": list(self._prev_peaks),
            "s_m_end": self._s_m_end,
            "d_end": self._d_end,
            "today_peak": self._today_peak,
            "day_has_hours": self._day_has_hours,
            "daily": list(self._daily),
        }

    @classmethod
    def restore(
        cls,
        snapshot: dict[str, Any],
        tz: str,
        monthly: MonthlyPeakTariff | None = None,
        top: TopPeaksTariff | None = None,
        **kwargs: Any,
    ) -> PeakTracker:
        """A tracker carrying on from :meth:`snapshot` (same as ``PeakTracker(..., snapshot=)``).

        The power before the restart is not held over the downtime: without a counter the
        downtime is a gap; with one, the counter delta is spread over it.
        """
        return cls(tz, monthly, top, snapshot, **kwargs)

    def _load(self, s: dict[str, Any]) -> None:
        try:
            if s["version"] != _SNAPSHOT_VERSION:
                raise PeakTrackerError(f"PeakTracker snapshot version {s['version']!r} unknown")
            last_t = s["last_t"]
            if last_t is None:
                return  # never saw a reading: nothing to carry on
            self._last_t = float(last_t)
            self._last_w = None
            self._last_c = None if s["last_c"] is None else float(s["last_c"])
            self._q_start = int(s["q_start"])
            self._q_end = self._q_start + STEP_S
            self._q_kwh = float(s["q_kwh"])
            self._q_gap_s = float(s["q_gap_s"])
            self._h_kwh = float(s["h_kwh"])
            y, m = s["month"]
            self._month = (int(y), int(m))
            self._m_end = int(s["m_end"])
            self._month_peak_kw = float(s["month_peak_kw"])
            mps = s["month_peak_start"]
            self._month_peak_start = None if mps is None else int(mps)
            self._prev_peaks = [float(v) for v in s["prev_peaks"]][-self._keep :]
            self._s_m_end = int(s["s_m_end"])
            self._d_end = int(s["d_end"])
            self._today_peak = float(s["today_peak"])
            self._day_has_hours = bool(s["day_has_hours"])
            self._daily = [float(v) for v in s["daily"]]
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, PeakTrackerError):
                raise
            raise PeakTrackerError(f"PeakTracker snapshot is malformed: {exc!r}") from exc
        values = [self._q_kwh, self._h_kwh, self._month_peak_kw, self._today_peak]
        if not all(math.isfinite(v) and v >= 0 for v in [*values, *self._prev_peaks, *self._daily]):
            raise PeakTrackerError("PeakTracker snapshot holds a negative or non-finite energy")
        if not self._q_start <= self._last_t < self._q_end:
            raise PeakTrackerError("PeakTracker snapshot: last_t is outside its running quarter")
