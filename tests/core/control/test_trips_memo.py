"""A car's trips are memoised until a departure leaves or enters the horizon (or, while it is
away, until its expected return moves with now); issue 19. Every memoised answer must equal a
fresh schedule's, whatever moves."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hems_core.control.departures import DepartureSchedule
from hems_core.model import Trip

BXL = ZoneInfo("Europe/Brussels")
#: Friday 16 January 2026, 06:00 local: the weekend's gap is within the first sweep.
T0 = datetime(2026, 1, 16, 6, 0, tzinfo=BXL)
WEEKDAYS = {d: (time(7, 30), 0.8) for d in range(5)}


def fresh_trips(sched: DepartureSchedule, now: datetime, end: datetime) -> tuple[Trip, ...]:
    """The same call without any memo (the memo is dropped first)."""
    sched._trips_memo = {}
    return sched.trips(now, end, energy_kwh_default=8.0, plugged=True, max_energy_kwh=60.0)


def memo_trips(sched: DepartureSchedule, now: datetime, end: datetime) -> tuple[Trip, ...]:
    return sched.trips(now, end, energy_kwh_default=8.0, plugged=True, max_energy_kwh=60.0)


@pytest.mark.parametrize(
    "weekly",
    [WEEKDAYS, {0: (time(7, 30), 0.8)}, {2: (time(23, 50), 0.9), 3: (time(0, 10), 0.7)}],
    ids=["weekdays", "mondays-only", "two-close"],
)
@pytest.mark.parametrize("horizon", ["rolling", "fixed-end"])
def test_memoised_trips_equal_fresh_ones_over_ten_days(
    weekly: dict[int, tuple[time, float]], horizon: str
) -> None:
    memo = DepartureSchedule(weekly, "Europe/Brussels")
    twin = DepartureSchedule(weekly, "Europe/Brussels")
    hits = 0
    for q in range(10 * 96):
        now = T0 + timedelta(minutes=15 * q)
        if horizon == "rolling":
            end = now + timedelta(hours=48)
        else:  # prices known to the next day's midnight, the horizon shrinking until noon
            day = now.astimezone(BXL).date() + timedelta(days=1 if now.hour < 12 else 2)
            end = datetime(day.year, day.month, day.day, tzinfo=BXL)
        before = memo._trips_memo.get(True)
        got = memo_trips(memo, now, end)
        hits += memo._trips_memo.get(True) is before
        assert got == fresh_trips(twin, now, end), (now, end)
    assert hits > 500  # the memo is used, not just rebuilt every time


def test_a_learnt_absence_is_seen_at_once() -> None:
    """observe_plug learns an absence without moving a departure (no version bump)."""
    memo = DepartureSchedule(WEEKDAYS, "Europe/Brussels", min_observations=1, learn_window=1)
    twin = DepartureSchedule(WEEKDAYS, "Europe/Brussels", min_observations=1, learn_window=1)
    now = datetime(2026, 1, 12, 20, 0, tzinfo=BXL)  # Monday evening
    end = now + timedelta(hours=48)
    first = memo_trips(memo, now, end)
    assert first[0].arrive - first[0].depart == timedelta(hours=9)  # the default absence
    for s in (memo, twin):  # a short errand learnt: 2 h away (not a departure habit: no version)
        s._dep_counted = False
        s._last_unplug = datetime(2026, 1, 12, 17, 0, tzinfo=BXL)
        s.observe_plug(datetime(2026, 1, 12, 19, 0, tzinfo=BXL), 3.0)
    later = now + timedelta(minutes=15)
    got = memo_trips(memo, later, later + timedelta(hours=48))
    assert got == fresh_trips(twin, later, later + timedelta(hours=48))
    assert got[0].arrive - got[0].depart == timedelta(hours=2)  # pooled over the weekdays


def test_a_one_off_and_a_new_default_are_seen_at_once() -> None:
    memo = DepartureSchedule(WEEKDAYS, "Europe/Brussels")
    now = datetime(2026, 1, 12, 20, 0, tzinfo=BXL)
    end = now + timedelta(hours=48)
    memo_trips(memo, now, end)
    memo.set_once(datetime(2026, 1, 13, 9, 0, tzinfo=BXL))
    got = memo_trips(memo, now + timedelta(minutes=15), end)
    assert got[0].depart == datetime(2026, 1, 13, 9, 0, tzinfo=BXL)
    memo.set_default_target(0.6)
    got = memo_trips(memo, now + timedelta(minutes=30), end)
    assert [t.target_soc for t in got] == [0.6, 0.6]  # the one-off takes the day's target


def test_an_unplugged_car_is_never_served_from_the_memo() -> None:
    memo = DepartureSchedule(WEEKDAYS, "Europe/Brussels")
    now = datetime(2026, 1, 12, 20, 0, tzinfo=BXL)
    end = now + timedelta(hours=48)
    plugged = memo_trips(memo, now, end)
    away = memo.trips(now, end, energy_kwh_default=8.0, plugged=False, max_energy_kwh=60.0)
    assert away != plugged and away[0].target_soc is None  # the trip under way comes first


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_memoised_trips_equal_fresh_ones_when_the_horizon_shrinks_and_grows(seed: int) -> None:
    """Horizons of 1-96 h in random order; a 3-day absence lets the departure after the horizon
    bound the last arrival even when it is two days beyond the horizon's end."""
    import random

    rng = random.Random(seed)
    weekly = {0: (time(7, 30), 0.8), 3: (time(7, 30), 0.8), 4: (time(18, 0), 0.9)}
    memo = DepartureSchedule(weekly, "Europe/Brussels", absence=timedelta(days=3))
    twin = DepartureSchedule(weekly, "Europe/Brussels", absence=timedelta(days=3))
    now = T0
    hits = 0
    for _ in range(1500):
        now += timedelta(minutes=rng.choice([0, 5, 15, 15, 60]))
        end = now + timedelta(minutes=15 * rng.randint(4, 384))
        before = memo._trips_memo.get(True)
        got = memo_trips(memo, now, end)
        hits += memo._trips_memo.get(True) is before
        assert got == fresh_trips(twin, now, end), (now, end)
    assert hits > 100


def test_the_plan_site_moves_a_departure_early_only_while_that_is_still_ahead() -> None:
    """The core memoises the early-moved trips; the move depends on ``now`` too."""
    from hems_core.control.core import ControlCore
    from hems_core.model import Ev, Grid, Site
    from hems_core.optimize.inputs import State

    site = Site(grid=Grid(17.0, 10.0), evs=(Ev("car", 60.0, 7.4, 7.4, min_soc=0.2),))
    sched = DepartureSchedule({d: (time(17, 0), 0.8) for d in range(7)}, "Europe/Brussels")
    core = ControlCore(site, departures={"car": sched}, tz="Europe/Brussels")
    margin = timedelta(hours=core.settings.departure_margin_h)
    dep = datetime(2026, 1, 13, 17, 0, tzinfo=BXL)
    state = State(ev_soc={"car": 0.5}, ev_plugged={"car": True})
    seen = []
    for now in (dep - margin - timedelta(minutes=10), dep - margin + timedelta(minutes=5)):
        first = core._plan_site(now, 96, state).evs[0].trips[0]
        seen.append(first.depart)
    # ahead of the early time: planned early; past it: the departure itself (never before now)
    assert seen == [dep - margin, dep]
    again = core._plan_site(dep - margin + timedelta(minutes=6), 96, state)
    assert again is core._plan_site(dep - margin + timedelta(minutes=7), 96, state)


def away(sched: DepartureSchedule, now: datetime, end: datetime, fresh: bool) -> tuple[Trip, ...]:
    if fresh:
        sched._trips_memo = {}
    return sched.trips(now, end, energy_kwh_default=8.0, plugged=False, max_energy_kwh=60.0)


@pytest.mark.parametrize("horizon_h", [12, 48])
def test_an_away_cars_trips_follow_its_return_and_the_horizon(horizon_h: int) -> None:
    """Away 9 h (the default): the memo holds until 15 min before the expected return, then
    the return moves with now; a plug-in forgets the unplug (no memo of the old one)."""
    memo = DepartureSchedule(WEEKDAYS, "Europe/Brussels")
    twin = DepartureSchedule(WEEKDAYS, "Europe/Brussels")
    left = datetime(2026, 1, 13, 7, 30, tzinfo=BXL)
    for s in (memo, twin):
        s.observe_unplug(left)
    hits = 0
    for q in range(14 * 12):  # 5-minute ticks over 14 h: past the expected return at 16:30
        now = left + timedelta(minutes=5 * q)
        end = now + timedelta(hours=horizon_h)
        before = memo._trips_memo.get(False)
        got = away(memo, now, end, False)
        hits += memo._trips_memo.get(False) is before
        assert got == away(twin, now, end, True), now
        assert got[0].depart == left and got[0].arrive >= now + timedelta(minutes=15)
    assert hits > 80
    back = left + timedelta(hours=2)
    for s in (memo, twin):
        s.observe_plug(back)  # no unplug seen since: the trip under way now starts now
    later = back + timedelta(minutes=5)
    got = away(memo, later, later + timedelta(hours=horizon_h), False)
    assert got == away(twin, later, later + timedelta(hours=horizon_h), True)
    assert got[0].depart == later


def test_a_quick_replug_that_learns_nothing_still_moves_the_trip_under_way() -> None:
    """A second unplug of the day plugged back within 10 min changes neither the version nor
    what was learnt, only the last unplug: the trip under way then starts at now."""
    memo = DepartureSchedule(WEEKDAYS, "Europe/Brussels")
    twin = DepartureSchedule(WEEKDAYS, "Europe/Brussels")
    day = datetime(2026, 1, 13, tzinfo=BXL)
    for s in (memo, twin):
        s.observe_unplug(day + timedelta(hours=7, minutes=30))
        s.observe_plug(day + timedelta(hours=17))
        s.observe_unplug(day + timedelta(hours=18))  # a second trip that day
    for minutes in (5, 7, 10, 15, 20):
        now = day + timedelta(hours=18, minutes=minutes)
        if minutes == 7:
            for s in (memo, twin):
                s.observe_plug(now)  # back after 7 min: nothing learnt
        end = now + timedelta(hours=24)
        got = away(memo, now, end, False)
        assert got == away(twin, now, end, True), now
