"""When a car leaves, how long it stays away and what it needs: weekly, one-off and learnt.

:class:`DepartureSchedule` resolves each local date to at most one departure, first match wins:

1. a one-off change for that date (:meth:`set_once`): another time, or no departure at all;
   forgotten once it has passed;
2. the weekly default for the weekday (``weekly``: ``{0: (time(7, 30), 0.8), ...}``, 0 = Monday);
3. a learnt habit for the weekday: the median of the last ``learn_window`` first-unplug-of-the-day
   times seen on that weekday (:meth:`observe_unplug`), once there are ``min_observations`` of
   them; an unplug followed by a plug-in within 10 minutes is not a departure.

Times are local wall-clock times in ``tz`` (a 07:30 departure stays at 07:30 on DST days; a time
the spring change skips resolves to the same instant one hour later, as ``zoneinfo`` does).
:meth:`trips` turns the departures into :class:`hems_core.model.Trip` for a planning horizon:
arrival = departure + the typical absence for that weekday (learnt from unplug/plug pairs, else
``absence``), never later than ``min_home`` before the next departure; energy = the learnt typical
trip energy, else the caller's default. Everything is computed from ``now`` passed in.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from ..model import Trip
from .state_errors import StateKeeperError, check_aware, check_finite, check_fraction

__all__ = ["KEEP_TIME", "DepartureError", "DepartureSchedule"]

_SNAPSHOT_VERSION: Final = 1
#: Absences shorter than this are a plug fiddle, longer ones a holiday: neither is a habit.
_MIN_ABSENCE: Final = timedelta(minutes=10)
_MAX_ABSENCE: Final = timedelta(days=2)


class _Keep:
    """Sentinel: keep the time of the datetime passed to :meth:`DepartureSchedule.set_once`."""

    def __repr__(self) -> str:
        return "KEEP_TIME"


KEEP_TIME: Final = _Keep()


class DepartureError(StateKeeperError):
    """A departure setting, observation or snapshot is invalid (the message names the field)."""


def _check_time(name: str, value: Any) -> time:
    if not isinstance(value, time):
        raise DepartureError(f"{name} must be a datetime.time, got {value!r}")
    if value.tzinfo is not None:
        raise DepartureError(f"{name} must be a local wall-clock time without tzinfo: {value!r}")
    return value


def _check_weekday(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        raise DepartureError(f"{name} must be a weekday 0 (Monday) .. 6 (Sunday), got {value!r}")
    return value


def _minutes(t: time) -> float:
    return t.hour * 60 + t.minute + t.second / 60


def _from_minutes(m: float) -> time:
    s = round(m * 60)
    return time(s // 3600 % 24, s // 60 % 60, s % 60)


class DepartureSchedule:
    """One car's departures: weekly defaults, one-off changes and learnt habits."""

    def __init__(
        self,
        weekly: Mapping[int, tuple[time, float]] | None = None,
        tz: str = "Europe/Brussels",
        *,
        absence: timedelta = timedelta(hours=9),
        min_home: timedelta = timedelta(minutes=15),
        learnt_target_soc: float = 0.8,
        learn_window: int = 6,
        min_observations: int = 3,
        snapshot: dict[str, Any] | None = None,
    ) -> None:
        #: Bumped by every change that can move a departure; :attr:`version` for callers' caches.
        self._version = 0
        #: :meth:`departure_on` per local date, valid for ``_version`` (cleared on change).
        self._days: dict[date, tuple[datetime, float] | None] = {}
        try:
            self._tz = ZoneInfo(tz)
        except (ValueError, KeyError, OSError) as exc:
            raise DepartureError(f"DepartureSchedule.tz is not a known time zone: {tz!r}") from exc
        self._weekly: dict[int, tuple[time, float]] = {}
        for wd, value in (weekly or {}).items():
            if not isinstance(value, tuple) or len(value) != 2:
                raise DepartureError(f"weekly[{wd!r}] must be a (time, target_soc) tuple")
            self.set_weekly(wd, value[0], value[1])
        for name, td in (("absence", absence), ("min_home", min_home)):
            if not isinstance(td, timedelta) or td <= timedelta(0):
                raise DepartureError(f"DepartureSchedule.{name} must be a positive timedelta")
        self._absence = absence
        self._min_home = min_home
        self._learnt_target = check_fraction(
            "DepartureSchedule.learnt_target_soc", learnt_target_soc, DepartureError
        )
        if not isinstance(learn_window, int) or learn_window < 1:
            raise DepartureError(
                f"DepartureSchedule.learn_window must be an int >= 1: {learn_window!r}"
            )
        if not isinstance(min_observations, int) or not 1 <= min_observations <= learn_window:
            raise DepartureError(
                "DepartureSchedule.min_observations must be an int in 1..learn_window, "
                f"got {min_observations!r}"
            )
        self._window = learn_window
        self._min_obs = min_observations
        # one-offs: local date -> (local time or None = no departure, target or None = default)
        self._once: dict[date, tuple[time | None, float | None]] = {}
        # learnt, per weekday of the unplug: departure minutes, absence seconds, trip kWh
        self._dep: list[deque[float]] = [deque(maxlen=learn_window) for _ in range(7)]
        self._away: list[deque[float]] = [deque(maxlen=learn_window) for _ in range(7)]
        self._kwh: list[deque[float]] = [deque(maxlen=learn_window) for _ in range(7)]
        self._last_unplug: datetime | None = None
        self._dep_day: date | None = None  # local date of the last departure learnt
        self._dep_counted = False  # whether the last unplug was learnt as a departure
        #: Bumped when a learnt absence or trip energy is added (they move no departure, so
        #: :attr:`version` stays; :meth:`trips` depends on them).
        self._learnt = 0
        #: The last :meth:`trips` plugged in and away, and where each stays valid (_trips_window).
        self._trips_memo: dict[bool, tuple[Any, ...]] = {}  # by plugged
        if snapshot is not None:
            self._load(snapshot)

    @property
    def version(self) -> int:
        """A counter that changes whenever a departure may have changed (for callers' caches)."""
        return self._version

    def _changed(self) -> None:
        """Every setting, one-off, learnt observation and restore goes through here."""
        self._version += 1
        self._days.clear()

    # -- settings --------------------------------------------------------------------------------

    def set_weekly(self, weekday: int, at: time | None, target_soc: float = 0.8) -> None:
        """Set (or with ``at=None`` remove) the default departure for a weekday (0 = Monday)."""
        wd = _check_weekday("weekday", weekday)
        if at is None:
            self._weekly.pop(wd, None)
            self._changed()
            return
        t = _check_time(f"weekly[{wd}] time", at)
        soc = check_fraction(f"weekly[{wd}] target_soc", target_soc, DepartureError)
        self._weekly[wd] = (t, soc)
        self._changed()

    @property
    def default_target(self) -> float:
        """The target of departures without one of their own: the weekly one when every
        weekday has the same, else the learnt departures' target."""
        weekly = {t for _, t in self._weekly.values()}
        return weekly.pop() if len(weekly) == 1 else self._learnt_target

    def set_default_target(self, target_soc: float) -> None:
        """The owner's one target for every weekly and learnt departure (one-offs keep theirs)."""
        soc = check_fraction("target_soc", target_soc, DepartureError)
        self._learnt_target = soc
        self._weekly = {wd: (at, soc) for wd, (at, _) in self._weekly.items()}
        self._changed()

    def set_once(
        self,
        when: date | datetime,
        at: time | _Keep | None = KEEP_TIME,
        target_soc: float | None = None,
    ) -> None:
        """Change one local date: depart at ``at`` instead, or not at all with ``at=None``.

        With an aware datetime, its local date is changed and (unless ``at`` is given) its local
        time is the departure. ``target_soc=None`` keeps the day's usual target.
        """
        if isinstance(when, datetime):
            local = check_aware("set_once: when", when, DepartureError).astimezone(self._tz)
            day = local.date()
            if isinstance(at, _Keep):
                at = local.time().replace(microsecond=0)
        elif isinstance(when, date):
            day = when
            if isinstance(at, _Keep):
                raise DepartureError("set_once: at (a time, or None for no departure) is required")
        else:
            raise DepartureError(f"set_once: when must be a date or datetime, got {when!r}")
        if at is not None:
            _check_time("set_once: at", at)
        if target_soc is not None:
            target_soc = check_fraction("set_once: target_soc", target_soc, DepartureError)
        self._once[day] = (at, target_soc)
        self._changed()

    def clear_once(self, day: date) -> None:
        """Forget a one-off change."""
        self._once.pop(day, None)
        self._changed()

    # -- learning --------------------------------------------------------------------------------

    def observe_unplug(self, when: datetime) -> None:
        """The car left (or was unplugged) at ``when``: one observation of that weekday's habit."""
        local = check_aware("observe_unplug: when", when, DepartureError).astimezone(self._tz)
        self._last_unplug = when.astimezone(UTC)
        self._changed()
        if self._dep_day == local.date():
            self._dep_counted = False
            return  # a second trip that day: the habit is the first departure
        self._dep[local.weekday()].append(_minutes(local.time()))
        self._dep_day = local.date()
        self._dep_counted = True

    def observe_plug(self, when: datetime, energy_kwh: float | None = None) -> None:
        """The car is back at ``when`` (``energy_kwh``: what the trip used, if known)."""
        now = check_aware("observe_plug: when", when, DepartureError).astimezone(UTC)
        if energy_kwh is not None:
            energy_kwh = check_finite("observe_plug: energy_kwh", energy_kwh, DepartureError)
            if energy_kwh < 0:
                raise DepartureError(f"observe_plug: energy_kwh must be >= 0, got {energy_kwh!r}")
        left = self._last_unplug
        self._last_unplug = None
        if left is None:
            return
        away = now - left
        wd = left.astimezone(self._tz).weekday()
        if away < _MIN_ABSENCE and self._dep_counted and self._dep[wd]:
            # unplugged and plugged straight back: not a departure either
            self._dep[wd].pop()
            self._dep_day = None
            self._dep_counted = False
            self._changed()
        if not _MIN_ABSENCE <= away <= _MAX_ABSENCE:
            return
        self._learnt += 1
        self._away[wd].append(away.total_seconds())
        if energy_kwh is not None:
            self._kwh[wd].append(energy_kwh)

    def learnt_departure(self, weekday: int) -> time | None:
        """The learnt departure time for a weekday, or ``None`` with too few observations."""
        obs = self._dep[_check_weekday("weekday", weekday)]
        if len(obs) < self._min_obs:
            return None
        return _from_minutes(statistics.median(obs))

    def typical_absence(self, weekday: int) -> timedelta:
        """How long the car is usually away after leaving on a weekday."""
        obs = self._away[weekday]
        if len(obs) >= self._min_obs:
            return timedelta(seconds=statistics.median(obs))
        pooled = [v for d in self._away for v in d]
        if len(pooled) >= self._min_obs:
            return timedelta(seconds=statistics.median(pooled))
        return self._absence

    def typical_energy_kwh(self, weekday: int, default: float) -> float:
        """What a trip leaving on a weekday usually uses (``default`` until learnt)."""
        obs = self._kwh[weekday]
        if len(obs) >= self._min_obs:
            return float(statistics.median(obs))
        return default

    # -- queries ---------------------------------------------------------------------------------

    def departure_on(self, day: date) -> tuple[datetime, float] | None:
        """The departure (UTC instant, target SoC) on a local date, or ``None``.

        Memoised per date until the next change (:meth:`_changed`): the fast loop asks for the
        same fortnight of dates many times a minute.
        """
        try:
            return self._days[day]
        except KeyError:
            pass
        dep = self._departure_on(day)
        if len(self._days) > 64:
            self._days.clear()
        self._days[day] = dep
        return dep

    def _departure_on(self, day: date) -> tuple[datetime, float] | None:
        wd = day.weekday()
        weekly = self._weekly.get(wd)
        target = weekly[1] if weekly else self._learnt_target
        if day in self._once:
            at, once_target = self._once[day]
            if at is None:
                return None
            return self._instant(day, at), target if once_target is None else once_target
        if weekly is not None:
            return self._instant(day, weekly[0]), weekly[1]
        learnt = self.learnt_departure(wd)
        if learnt is None:
            return None
        return self._instant(day, learnt), self._learnt_target

    def _instant(self, day: date, at: time) -> datetime:
        local = datetime.combine(day, at, tzinfo=self._tz)
        # a wall time the spring change skips: zoneinfo applies the old offset (-> an hour later)
        return local.astimezone(UTC)

    def departures(self, now: datetime, until: datetime) -> list[tuple[datetime, float]]:
        """Departures strictly after ``now`` and before ``until`` (UTC instants, targets)."""
        now = check_aware("now", now, DepartureError)
        until = check_aware("until", until, DepartureError)
        day = now.astimezone(self._tz).date()
        last = until.astimezone(self._tz).date()
        out: list[tuple[datetime, float]] = []
        while day <= last:
            dep = self.departure_on(day)
            if dep is not None and now < dep[0] < until:
                out.append(dep)
            day += timedelta(days=1)
        return out

    def next_departure(self, now: datetime) -> tuple[datetime, float] | None:
        """The first departure after ``now`` within two weeks, as (UTC instant, target SoC)."""
        now = check_aware("now", now, DepartureError)
        until = now + timedelta(days=14)
        day = now.astimezone(self._tz).date()
        last = until.astimezone(self._tz).date()
        while day <= last:  # the first of :meth:`departures`, without building the rest
            dep = self.departure_on(day)
            if dep is not None and now < dep[0] < until:
                return dep
            day += timedelta(days=1)
        return None

    def prune(self, now: datetime) -> None:
        """Forget one-off changes whose date has passed (a skipped day once it is over)."""
        today = check_aware("now", now, DepartureError).astimezone(self._tz).date()
        gone = [d for d in self._once if d < today]
        for day in gone:
            del self._once[day]
        for day in [d for d, (at, _) in self._once.items() if d == today and at is not None]:
            dep = self.departure_on(day)
            if dep is not None and dep[0] <= now:
                del self._once[day]
                gone.append(day)
        if gone:
            self._changed()

    def trips(
        self,
        now: datetime,
        horizon_end: datetime,
        *,
        energy_kwh_default: float,
        plugged: bool,
        max_energy_kwh: float | None = None,
    ) -> tuple[Trip, ...]:
        """The trips that matter for a plan from ``now`` to ``horizon_end``.

        While the car is away (``plugged=False``) the first trip covers ``now``: it left at the
        last observed unplug (or ``now``) and is expected back after the typical absence, at the
        earliest at the next quarter hour from ``now``. Trip energies are capped at
        ``max_energy_kwh`` (the car's capacity) when given.
        """
        default = check_finite("trips: energy_kwh_default", energy_kwh_default, DepartureError)
        if default < 0:
            raise DepartureError(f"trips: energy_kwh_default must be >= 0, got {default!r}")
        self.prune(now)
        now_utc = now.astimezone(UTC)
        cap = math.inf if max_energy_kwh is None else max_energy_kwh
        key = (self._version, self._learnt, default, cap, None if plugged else self._last_unplug)
        memo = self._trips_memo.get(plugged)
        if memo is not None and memo[0] == key and self._trips_memo_ok(memo, now, horizon_end):
            return memo[-1]  # type: ignore[no-any-return]
        deps = all_deps = self.departures(now, horizon_end)
        # departures after the horizon bound the last arrival
        after = self.departures(horizon_end - timedelta(microseconds=1), horizon_end + timedelta(2))
        bounds = [d for d, _ in deps] + [d for d, _ in after[:1]]
        trips: list[Trip] = []
        away_until: datetime | None = None  # while away: the memo holds while ``back`` is fixed
        if not plugged:
            left = self._last_unplug if self._last_unplug is not None else now_utc
            left = min(left, now_utc)
            wd = left.astimezone(self._tz).weekday()
            expected = left + self.typical_absence(wd)
            if self._last_unplug is not None and self._last_unplug <= now_utc:
                away_until = expected - timedelta(minutes=15)
            back = max(expected, now_utc + timedelta(minutes=15))
            k = sum(1 for b in bounds if b <= back)  # departures while still away do not happen
            deps, bounds = deps[k:], bounds[k:]
            energy = min(self.typical_energy_kwh(wd, default), cap)
            trips.append(Trip(left, back, energy, None))
        for i, (dep, target) in enumerate(deps):
            wd = dep.astimezone(self._tz).weekday()
            back = dep + self.typical_absence(wd)
            if i + 1 < len(bounds):
                nxt = bounds[i + 1]
                latest = nxt - self._min_home
                back = min(back, latest if latest > dep else dep + (nxt - dep) / 2)
            energy = min(self.typical_energy_kwh(wd, default), cap)
            trips.append(Trip(dep, back, energy, target))
        out = tuple(trips)
        if plugged or away_until is not None:
            self._trips_memo[plugged] = self._trips_window(
                key, now, horizon_end, all_deps, after, away_until, out
            )
        else:
            self._trips_memo.pop(plugged, None)
        return out

    def _trips_window(
        self, key: tuple[Any, ...], now: datetime, end: datetime,
        deps: list[tuple[datetime, float]], after: list[tuple[datetime, float]],
        away_until: datetime | None, out: tuple[Trip, ...],
    ) -> tuple[Any, ...]:  # fmt: skip
        """Where the trips stay the same: the departures inside the horizon and the first one
        after it (which bounds the last arrival) must not change.

        With ``d1``/``dl`` the first/last departure in ``(now, end)`` and ``D`` the first at
        or after ``end``: for a later ``(t, e)`` the trips are the same while ``t < d1``,
        ``dl < e <= D``, and ``D`` stays inside (or outside) the two days the horizon looks
        beyond its end. Without a departure in those two days ``D`` is looked up further
        (a lower bound when none is within two weeks). While the car is away, also while
        ``t <= away_until``: its expected return is not yet pushed on by ``t``.
        """
        two_days = timedelta(2)
        if after:
            first_after, inside = after[0][0], True
        else:
            probe = end + two_days - timedelta(microseconds=1)
            nxt = self.next_departure(probe)
            first_after = probe + timedelta(days=14) if nxt is None else nxt[0]
            inside = False
        leave = deps[0][0] if deps else None
        last = deps[-1][0] if deps else None
        return (key, now, leave, last, first_after, inside, away_until, out)

    @staticmethod
    def _trips_memo_ok(memo: tuple[Any, ...], now: datetime, end: datetime) -> bool:
        """Whether :meth:`_trips_window`'s memo answers ``trips(now, end)``."""
        _, t0, leave, last, first_after, inside, away_until, _ = memo
        if now < t0 or (leave is not None and now >= leave):
            return False
        if away_until is not None and now > away_until:
            return False
        if (last is not None and end <= last) or end > first_after:
            return False
        if inside:
            return bool(end > first_after - timedelta(2))
        return bool(end + timedelta(2) <= first_after)

    # -- persistence -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """One-off changes, learnt observations and the last unplug, JSON-able.

        The weekly defaults are configuration and are not part of it.
        """
        return {
            "version": _SNAPSHOT_VERSION,
            "once": [
                [d.isoformat(), None if at is None else at.isoformat(), target]
                for d, (at, target) in sorted(self._once.items())
            ],
            "departures_min": [list(d) for d in self._dep],
            "absence_s": [list(d) for d in self._away],
            "trip_kwh": [list(d) for d in self._kwh],
            "last_unplug": None if self._last_unplug is None else self._last_unplug.isoformat(),
            "departure_day": None if self._dep_day is None else self._dep_day.isoformat(),
            "departure_counted": self._dep_counted,
        }

    @classmethod
    def restore(
        cls,
        snapshot: dict[str, Any],
        weekly: Mapping[int, tuple[time, float]] | None = None,
        tz: str = "Europe/Brussels",
        **kwargs: Any,
    ) -> DepartureSchedule:
        """A schedule with ``weekly``/``tz`` from the configuration and the rest from a snapshot."""
        return cls(weekly, tz, snapshot=snapshot, **kwargs)

    def load_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Go on from a :meth:`snapshot` (one-offs, learnt habits); weekly stays configured."""
        self._load(snapshot)

    def _load(self, s: dict[str, Any]) -> None:
        try:
            if s["version"] != _SNAPSHOT_VERSION:
                raise DepartureError(f"DepartureSchedule snapshot version {s['version']!r} unknown")
            once: dict[date, tuple[time | None, float | None]] = {}
            for d, at, target in s["once"]:
                once[date.fromisoformat(d)] = (
                    None if at is None else time.fromisoformat(at),
                    None if target is None else float(target),
                )
            lists = [
                [[float(v) for v in day] for day in s[key]]
                for key in ("departures_min", "absence_s", "trip_kwh")
            ]
            lu = s["last_unplug"]
            last = None if lu is None else datetime.fromisoformat(lu)
            dd = s["departure_day"]
            dep_day = None if dd is None else date.fromisoformat(dd)
            dep_counted = bool(s["departure_counted"])
        except DepartureError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise DepartureError(f"DepartureSchedule snapshot is malformed: {exc!r}") from exc
        if any(len(days) != 7 for days in lists):
            raise DepartureError("DepartureSchedule snapshot: learnt lists need 7 weekdays")
        if last is not None:
            check_aware("DepartureSchedule snapshot last_unplug", last, DepartureError)
        for _, target in once.values():
            if target is not None:
                check_fraction("DepartureSchedule snapshot target", target, DepartureError)
        self._once = once
        for store, days in zip((self._dep, self._away, self._kwh), lists, strict=True):
            for q, values in zip(store, days, strict=True):
                q.extend(values)
        self._last_unplug = None if last is None else last.astimezone(UTC)
        self._dep_day, self._dep_counted = dep_day, dep_counted
        self._changed()
