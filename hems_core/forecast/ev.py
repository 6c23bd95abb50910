"""EV habits: when each vehicle usually plugs in, leaves, and how much energy it takes.

Learned per vehicle and **local weekday** from past charging sessions, and used as the default
departure and energy need when the user has not set one (users want to set preferences once, not
per session — studies §2). Everything comes with a confidence in [0, 1] so the planner and the UI
can tell a firm habit (weekday commute, ±20 min) from a guess (irregular weekends); below
``min_confidence`` :meth:`EvHabits.expected_departure` returns ``None`` and the caller keeps its
configured default.

Statistics are robust and circular: times of day wrap at midnight (a plug-in at 23:50 and one at
00:10 are 20 minutes apart), so quantiles are taken around the circular mean. The departure default
is an *early* quantile (``departure_quantile``, 0.2 by default): being ready 20 minutes early
costs little, a car that is not ready when the user leaves costs trust.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .errors import ForecastInputError
from .timegrid import FloatArray

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY: Final = 1440


@dataclass(frozen=True, slots=True)
class ChargingSession:
    """One plug-in period. ``plug_out`` is ``None`` for a session still open (or never closed)."""

    vehicle_id: str
    plug_in: datetime
    plug_out: datetime | None
    energy_kwh: float

    def __post_init__(self) -> None:
        if self.plug_in.tzinfo is None:
            raise ForecastInputError("plug_in must be timezone-aware")
        if self.plug_out is not None:
            if self.plug_out.tzinfo is None:
                raise ForecastInputError("plug_out must be timezone-aware")
            if self.plug_out < self.plug_in:
                raise ForecastInputError(
                    f"session of {self.vehicle_id} ends before it starts ({self.plug_in})"
                )
        if not math.isfinite(self.energy_kwh) or self.energy_kwh < 0:
            raise ForecastInputError(f"energy_kwh must be finite and >= 0, got {self.energy_kwh}")


@dataclass(frozen=True, slots=True)
class WeekdayHabit:
    """Habits for one local weekday (0 = Monday).

    Plug-in time, energy and daytime dwell are grouped by the weekday of plug-in; departure by
    the weekday of plug-out, and only for *overnight* sessions (those containing 03:00 local):
    the morning departure is the habit that matters for planning a night's charging and V2H,
    while daytime top-ups have a dwell time instead (a Sunday-evening plug-in usually leaves on
    Monday morning; a Saturday 14:00 plug-in leaves after a couple of hours).
    """

    weekday: int
    plug_in_sessions: int
    plug_in_probability: float
    """Share of observed weeks with at least one plug-in on this weekday."""
    plug_in_minute: int | None
    """Circular median of the local plug-in time of overnight sessions (minutes after midnight):
    when the car usually comes home for the night."""
    plug_in_confidence: float
    departures: int
    departure_minute: int | None
    """Early quantile of the local departure time: the default departure."""
    departure_minute_p50: int | None
    departure_confidence: float
    energy_kwh_p50: float | None
    energy_kwh_p80: float | None
    """The energy need to plan for: covers four sessions in five."""
    daytime_sessions: int = 0
    daytime_dwell_h: float | None = None
    """Early quantile of how long a daytime (not overnight) session lasts, in hours."""
    daytime_dwell_confidence: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form with HH:MM times."""
        return {
            "weekday": WEEKDAYS[self.weekday],
            "plug_in_sessions": self.plug_in_sessions,
            "plug_in_probability": round(self.plug_in_probability, 3),
            "plug_in": _hhmm(self.plug_in_minute),
            "plug_in_confidence": round(self.plug_in_confidence, 3),
            "departures": self.departures,
            "departure": _hhmm(self.departure_minute),
            "departure_p50": _hhmm(self.departure_minute_p50),
            "departure_confidence": round(self.departure_confidence, 3),
            "energy_kwh_p50": _round(self.energy_kwh_p50),
            "energy_kwh_p80": _round(self.energy_kwh_p80),
            "daytime_sessions": self.daytime_sessions,
            "daytime_dwell_h": _round(self.daytime_dwell_h),
            "daytime_dwell_confidence": round(self.daytime_dwell_confidence, 3),
            "confidence": round(self.departure_confidence, 3),
        }


@dataclass(frozen=True, slots=True)
class DepartureEstimate:
    """A default departure for a vehicle that is plugged in now."""

    departure: datetime
    energy_kwh: float | None
    confidence: float
    weekday: int
    kind: str
    """``"overnight"`` (habitual morning departure) or ``"daytime"`` (typical daytime dwell)."""


@dataclass(frozen=True, slots=True)
class EvHabits:
    """Learned habits of one vehicle."""

    vehicle_id: str
    tz: str
    sessions: int
    weeks_observed: float
    weekdays: tuple[WeekdayHabit, ...]
    overnight_by_hour: tuple[float | None, ...] = ()
    """Per local plug-in hour (0..23): share of sessions starting then that stayed overnight
    (smoothed over ±2 h); ``None`` where there were no sessions."""

    def expected_departure(
        self,
        now: datetime,
        *,
        min_confidence: float = 0.3,
        min_dwell: timedelta = timedelta(hours=1),
        max_days: int = 7,
    ) -> DepartureEstimate | None:
        """The next habitual departure at least ``min_dwell`` after ``now``, or ``None``.

        Walks forward day by day (local time) and takes the first weekday whose departure habit
        is confident enough. ``None`` means "no habit to rely on": use the configured default.
        """
        if now.tzinfo is None:
            raise ForecastInputError("now must be timezone-aware")
        zone = ZoneInfo(self.tz)
        local_now = now.astimezone(zone)
        plug_day = self.weekdays[local_now.weekday()]
        p_night = (
            self.overnight_by_hour[local_now.hour] if len(self.overnight_by_hour) == 24 else None
        )
        if p_night is not None and p_night < 0.5:
            # A daytime plug-in: it usually leaves the same day after the typical dwell.
            if plug_day.daytime_dwell_h is None:
                return None
            conf = plug_day.daytime_dwell_confidence * (1.0 - p_night)
            if conf < min_confidence:
                return None
            return DepartureEstimate(
                departure=now + max(timedelta(hours=plug_day.daytime_dwell_h), min_dwell),
                energy_kwh=plug_day.energy_kwh_p50,
                confidence=conf,
                weekday=local_now.weekday(),
                kind="daytime",
            )
        earliest = now + min_dwell
        for offset in range(max_days + 1):
            d = (local_now + timedelta(days=offset)).date()
            habit = self.weekdays[d.weekday()]
            if habit.departure_minute is None or habit.departure_confidence < min_confidence:
                continue
            hh, mm = divmod(habit.departure_minute, 60)
            candidate = datetime.combine(d, time(hh, mm), tzinfo=zone)
            if candidate < earliest:
                continue
            conf = habit.departure_confidence * (p_night if p_night is not None else 1.0)
            return DepartureEstimate(
                departure=candidate.astimezone(now.tzinfo),
                energy_kwh=plug_day.energy_kwh_p80,
                confidence=conf,
                weekday=d.weekday(),
                kind="overnight",
            )
        return None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for ``hems forecast ev-habits`` and Home Assistant attributes)."""
        return {
            "vehicle_id": self.vehicle_id,
            "tz": self.tz,
            "sessions": self.sessions,
            "weeks_observed": round(self.weeks_observed, 1),
            "weekdays": [w.as_dict() for w in self.weekdays],
            "overnight_by_hour": [
                None if p is None else round(p, 3) for p in self.overnight_by_hour
            ],
        }


def _hhmm(minute: int | None) -> str | None:
    if minute is None:
        return None
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def circular_quantile(minutes: FloatArray, q: float) -> float:
    """Quantile of times of day (minutes) measured around their circular mean."""
    ang = minutes / MINUTES_PER_DAY * 2 * math.pi
    center = math.atan2(float(np.sin(ang).mean()), float(np.cos(ang).mean()))
    c_min = (center / (2 * math.pi) * MINUTES_PER_DAY) % MINUTES_PER_DAY
    rel = (minutes - c_min + MINUTES_PER_DAY / 2) % MINUTES_PER_DAY - MINUTES_PER_DAY / 2
    return float((np.quantile(rel, q) + c_min) % MINUTES_PER_DAY)


def _concentration(minutes: FloatArray, center: float, window: float = 60.0) -> float:
    """Share of times within ±``window`` minutes of ``center`` (circularly)."""
    d = np.abs((minutes - center + MINUTES_PER_DAY / 2) % MINUTES_PER_DAY - MINUTES_PER_DAY / 2)
    return float(np.mean(d <= window))


def _confidence(n: int, concentration: float, prior: float = 4.0) -> float:
    """Grows with the number of samples (half at ``prior`` samples) and with their agreement."""
    return n / (n + prior) * concentration


def learn_habits(
    sessions: Iterable[ChargingSession],
    *,
    tz: str | ZoneInfo = "Europe/Brussels",
    now: datetime | None = None,
    lookback_days: int = 120,
    departure_quantile: float = 0.2,
    min_session: timedelta = timedelta(minutes=15),
    max_session: timedelta = timedelta(days=3),
) -> EvHabits:
    """Learn one vehicle's habits from its sessions (other vehicles' sessions are an error).

    Sessions shorter than ``min_session`` (top-ups, glitches) are ignored; sessions longer than
    ``max_session`` (holidays, car left at home) count for plug-in and energy but not departure.
    Only the ``lookback_days`` before ``now`` (default: the last session) are used, so a new job
    or season is picked up within a few weeks.
    """
    try:
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ForecastInputError(f"unknown time zone {tz!r}") from err
    if not 0.0 < departure_quantile < 1.0:
        raise ForecastInputError("departure_quantile must be within (0, 1)")
    items = sorted(sessions, key=lambda s: s.plug_in)
    vehicles = {s.vehicle_id for s in items}
    if len(vehicles) > 1:
        raise ForecastInputError(f"sessions of several vehicles: {sorted(vehicles)[:3]}")
    vehicle = items[0].vehicle_id if items else ""
    if items:
        end = now or items[-1].plug_in
        items = [s for s in items if end - timedelta(days=lookback_days) <= s.plug_in <= end]
    usable = [s for s in items if s.plug_out is None or s.plug_out - s.plug_in >= min_session]
    if usable:
        span_days = (usable[-1].plug_in - usable[0].plug_in).total_seconds() / 86400 + 1
    else:
        span_days = 0.0
    weeks = max(span_days / 7.0, 1.0) if usable else 0.0

    plug_min: list[list[float]] = [[] for _ in range(7)]
    plug_dates: list[set[Any]] = [set() for _ in range(7)]
    energy: list[list[float]] = [[] for _ in range(7)]
    dep_min: list[list[float]] = [[] for _ in range(7)]
    dwell: list[list[float]] = [[] for _ in range(7)]
    night_count = np.zeros(24)
    hour_count = np.zeros(24)
    for s in usable:
        li = s.plug_in.astimezone(zone)
        wd = li.weekday()
        plug_dates[wd].add(li.date())
        energy[wd].append(s.energy_kwh)
        if s.plug_out is None or s.plug_out - s.plug_in > max_session:
            continue
        lo = s.plug_out.astimezone(zone)
        overnight = _spans_night(li, lo)
        hour_count[li.hour] += 1
        night_count[li.hour] += overnight
        if overnight:
            plug_min[wd].append(li.hour * 60 + li.minute)
            dep_min[lo.weekday()].append(lo.hour * 60 + lo.minute)
        else:
            dwell[wd].append((s.plug_out - s.plug_in).total_seconds() / 3600)
    # smooth over ±2 h (circularly) so a sparse hour borrows from its neighbours
    kernel = np.array([0.25, 0.5, 1.0, 0.5, 0.25])
    idx = (np.arange(24)[:, None] + np.arange(-2, 3)[None, :]) % 24
    sm_n = (night_count[idx] * kernel).sum(axis=1)
    sm_c = (hour_count[idx] * kernel).sum(axis=1)
    overnight_by_hour = tuple(
        float(n / c) if hour_count[idx[h]].sum() > 0 else None
        for h, (n, c) in enumerate(zip(sm_n, sm_c, strict=True))
    )

    days: list[WeekdayHabit] = []
    for wd in range(7):
        pm = np.array(plug_min[wd])
        dm = np.array(dep_min[wd])
        en = np.array(energy[wd])
        dw = np.array(dwell[wd])
        dw_conf = 0.0
        if dw.size:
            med = float(np.median(dw))
            dw_conf = _confidence(dw.size, float(np.mean(np.abs(dw - med) <= 1.0)))
        plug_minute = round(circular_quantile(pm, 0.5)) % MINUTES_PER_DAY if pm.size else None
        plug_conf = (
            _confidence(pm.size, _concentration(pm, float(plug_minute)))
            if plug_minute is not None
            else 0.0
        )
        dep_p50 = round(circular_quantile(dm, 0.5)) % MINUTES_PER_DAY if dm.size else None
        dep_early = (
            round(circular_quantile(dm, departure_quantile)) % MINUTES_PER_DAY if dm.size else None
        )
        prob = min(len(plug_dates[wd]) / weeks, 1.0) if weeks else 0.0
        dep_conf = (
            _confidence(dm.size, _concentration(dm, float(dep_p50))) * min(dm.size / weeks, 1.0)
            if dep_p50 is not None
            else 0.0
        )
        days.append(
            WeekdayHabit(
                weekday=wd,
                plug_in_sessions=int(pm.size),
                plug_in_probability=prob,
                plug_in_minute=plug_minute,
                plug_in_confidence=plug_conf * prob,
                departures=int(dm.size),
                departure_minute=dep_early,
                departure_minute_p50=dep_p50,
                departure_confidence=dep_conf,
                energy_kwh_p50=float(np.median(en)) if en.size else None,
                energy_kwh_p80=float(np.quantile(en, 0.8)) if en.size else None,
                daytime_sessions=int(dw.size),
                daytime_dwell_h=float(np.quantile(dw, departure_quantile)) if dw.size else None,
                daytime_dwell_confidence=dw_conf,
            )
        )
    return EvHabits(
        vehicle_id=vehicle,
        tz=str(zone.key),
        sessions=len(usable),
        weeks_observed=weeks,
        weekdays=tuple(days),
        overnight_by_hour=overnight_by_hour,
    )


def _spans_night(plug_in: datetime, plug_out: datetime, night_hour: int = 3) -> bool:
    """Whether the session contains a local ``night_hour`` o'clock (03:00 by default)."""
    first = plug_in.replace(hour=night_hour, minute=0, second=0, microsecond=0)
    if first < plug_in:
        first += timedelta(days=1)
    return first <= plug_out


_VEHICLE_COLUMNS: Final = ("vehicle_id", "vehicle", "user_id", "start_card_hash", "card_id")
_PLUG_IN_COLUMNS: Final = ("plug_in", "plug_in_utc", "plugin_utc", "plugin_local", "start_utc")
_PLUG_OUT_COLUMNS: Final = ("plug_out", "plug_out_utc", "plugout_utc", "plugout_local", "stop_utc")


def _parse_time(text: str, zone: ZoneInfo) -> datetime:
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError as err:
        raise ForecastInputError(f"not an ISO 8601 time: {text!r}") from err
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)  # local wall clock; the first of a repeated hour
    return dt


def read_sessions_csv(path: str | Path, *, tz: str = "Europe/Brussels") -> list[ChargingSession]:
    """Read sessions (the shared EV data sets' formats); naive times are local in ``tz``.

    Rows with an unreadable energy value or plug-out before plug-in are skipped (real exports
    contain a few); a file without the needed columns is a :class:`ForecastInputError`.
    """
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ForecastInputError(f"unknown time zone {tz!r}") from err
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as err:
        raise ForecastInputError(f"{p}: cannot read ({err.strerror or err})") from err
    if not rows:
        raise ForecastInputError(f"{p}: no sessions")
    header = list(rows[0])

    def pick(cands: Sequence[str], what: str) -> str:
        for c in cands:
            if c in header:
                return c
        raise ForecastInputError(f"{p}: no {what} column (one of {', '.join(cands)})")

    vcol = pick(_VEHICLE_COLUMNS, "vehicle")
    icol = pick(_PLUG_IN_COLUMNS, "plug-in time")
    ocol = pick(_PLUG_OUT_COLUMNS, "plug-out time")
    ecol = pick(("energy_kwh",), "energy")
    out: list[ChargingSession] = []
    for r in rows:
        try:
            plug_in = _parse_time(r[icol], zone)
            plug_out = _parse_time(r[ocol], zone) if (r.get(ocol) or "").strip() else None
            out.append(
                ChargingSession(
                    vehicle_id=(r[vcol] or "").strip() or "unknown",
                    plug_in=plug_in,
                    plug_out=plug_out,
                    energy_kwh=float(r[ecol]),
                )
            )
        except (ForecastInputError, ValueError, TypeError):
            continue
    if not out:
        raise ForecastInputError(f"{p}: no readable sessions")
    return out
