"""DepartureSchedule: weekly defaults, one-off changes, learnt habits, trips, DST, validation."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.control.departures import DepartureError, DepartureSchedule
from hems_core.model import Ev, Trip

BXL = ZoneInfo("Europe/Brussels")
WORKDAYS = {d: (time(7, 30), 0.8) for d in range(5)}
# Monday 9 March 2026, 20:00 local (CET, UTC+1)
MON_EVENING = datetime(2026, 3, 9, 20, 0, tzinfo=BXL)


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def test_weekly_defaults_become_trips() -> None:
    sched = DepartureSchedule(WORKDAYS, "Europe/Brussels")
    trips = sched.trips(MON_EVENING, MON_EVENING + timedelta(hours=48), energy_kwh_default=8.0,
                        plugged=True)  # fmt: skip
    assert trips == (
        Trip(utc(2026, 3, 10, 6, 30), utc(2026, 3, 10, 15, 30), 8.0, 0.8),  # Tue 07:30 + 9 h
        Trip(utc(2026, 3, 11, 6, 30), utc(2026, 3, 11, 15, 30), 8.0, 0.8),  # Wed
    )
    Ev("car", 60.0, 11.0, trips=trips)  # valid for the optimiser's model


def test_weekend_without_default_or_habit() -> None:
    sched = DepartureSchedule(WORKDAYS, "Europe/Brussels")
    fri = datetime(2026, 3, 13, 18, 0, tzinfo=BXL)
    assert sched.trips(fri, fri + timedelta(hours=48), energy_kwh_default=5.0, plugged=True) == ()
    assert sched.next_departure(fri) == (utc(2026, 3, 16, 6, 30), 0.8)  # Monday 07:30 CET


@pytest.mark.parametrize(
    ("now", "expected_depart", "expected_arrive"),
    [
        # spring forward, Sunday 29 March 2026: 07:30 CEST = 05:30 UTC; 9 h later 14:30 UTC
        (
            datetime(2026, 3, 28, 22, 0, tzinfo=BXL),
            utc(2026, 3, 29, 5, 30),
            utc(2026, 3, 29, 14, 30),
        ),
        # fall back, Sunday 25 October 2026: 07:30 CET = 06:30 UTC
        (
            datetime(2026, 10, 24, 22, 0, tzinfo=BXL),
            utc(2026, 10, 25, 6, 30),
            utc(2026, 10, 25, 15, 30),
        ),
        # the day after each change keeps the wall-clock time
        (
            datetime(2026, 3, 29, 22, 0, tzinfo=BXL),
            utc(2026, 3, 30, 5, 30),
            utc(2026, 3, 30, 14, 30),
        ),
        (
            datetime(2026, 10, 25, 22, 0, tzinfo=BXL),
            utc(2026, 10, 26, 6, 30),
            utc(2026, 10, 26, 15, 30),
        ),
    ],
)
def test_departures_on_dst_days(
    now: datetime, expected_depart: datetime, expected_arrive: datetime
) -> None:
    sched = DepartureSchedule({d: (time(7, 30), 0.9) for d in range(7)}, "Europe/Brussels")
    assert sched.next_departure(now) == (expected_depart, 0.9)
    (trip,) = sched.trips(now, now + timedelta(hours=12), energy_kwh_default=4.0, plugged=True)
    assert (trip.depart, trip.arrive) == (expected_depart, expected_arrive)


def test_a_wall_time_skipped_by_the_spring_change() -> None:
    sched = DepartureSchedule({6: (time(2, 30), 0.5)}, "Europe/Brussels")
    # 02:30 does not exist on 29 March 2026: the old offset applies, i.e. 03:30 CEST
    assert sched.departure_on(date(2026, 3, 29)) == (utc(2026, 3, 29, 1, 30), 0.5)


def test_one_off_changes_and_their_expiry() -> None:
    sched = DepartureSchedule(WORKDAYS, "Europe/Brussels")
    sched.set_once(date(2026, 3, 10), time(6, 0), 0.95)  # Tuesday earlier and fuller
    sched.set_once(date(2026, 3, 11), None)  # Wednesday at home
    sched.set_once(datetime(2026, 3, 12, 9, 15, tzinfo=BXL))  # Thursday later, usual target
    sched.set_once(date(2026, 3, 14), time(10, 0))  # Saturday: no default, learnt target
    got = sched.departures(MON_EVENING, MON_EVENING + timedelta(days=6))
    assert got == [
        (utc(2026, 3, 10, 5, 0), 0.95),
        (utc(2026, 3, 12, 8, 15), 0.8),
        (utc(2026, 3, 13, 6, 30), 0.8),
        (utc(2026, 3, 14, 9, 0), 0.8),
    ]
    # past its time the Tuesday change is forgotten; the skipped Wednesday stays until it is over
    sched.prune(datetime(2026, 3, 10, 6, 30, tzinfo=BXL))
    assert [d for d, *_ in sched.snapshot()["once"]] == ["2026-03-11", "2026-03-12", "2026-03-14"]
    sched.prune(datetime(2026, 3, 12, 0, 1, tzinfo=BXL))
    assert [d for d, *_ in sched.snapshot()["once"]] == ["2026-03-12", "2026-03-14"]
    assert sched.departure_on(date(2026, 3, 17)) == (utc(2026, 3, 17, 6, 30), 0.8)  # next Tue


def test_arrival_never_overlaps_the_next_departure() -> None:
    daily = {d: (time(7, 30), 0.8) for d in range(7)}
    sched = DepartureSchedule(daily, "Europe/Brussels", absence=timedelta(hours=30))
    trips = sched.trips(MON_EVENING, MON_EVENING + timedelta(hours=34), energy_kwh_default=3.0,
                        plugged=True)  # fmt: skip
    # Tue 07:30 + 30 h would be Wed 13:30: cut to 15 min before Wed 07:30 (beyond the horizon)
    assert trips[0].arrive == utc(2026, 3, 11, 6, 15)
    assert len(trips) == 1


def test_learnt_habit_for_a_day_without_default() -> None:
    sched = DepartureSchedule(WORKDAYS, "Europe/Brussels", learnt_target_soc=0.7)
    sat = [date(2026, 2, 14), date(2026, 2, 21), date(2026, 2, 28), date(2026, 3, 7)]
    leave = [time(9, 0), time(9, 30), time(10, 0), time(17, 0)]  # one outlier
    kwh = [6.0, 8.0, 10.0, 30.0]
    for i, (d, t, e) in enumerate(zip(sat, leave, kwh, strict=True)):
        left = datetime.combine(d, t, tzinfo=BXL)
        sched.observe_unplug(left)
        sched.observe_plug(left + timedelta(hours=4), energy_kwh=e)
        if i == 1:
            assert sched.learnt_departure(5) is None  # two observations are not a habit
    # median of 09:00, 09:30, 10:00, 17:00 = 09:45; absence 4 h; energy median(6,8,10,30) = 9
    assert sched.learnt_departure(5) == time(9, 45)
    fri = datetime(2026, 3, 13, 20, 0, tzinfo=BXL)
    trips = sched.trips(fri, fri + timedelta(hours=24), energy_kwh_default=5.0, plugged=True)
    assert trips == (Trip(utc(2026, 3, 14, 8, 45), utc(2026, 3, 14, 12, 45), 9.0, 0.7),)
    # a weekday with a default ignores what was learnt
    for d in (date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2)):
        sched.observe_unplug(datetime.combine(d, time(6, 0), tzinfo=BXL))
    assert sched.departure_on(date(2026, 3, 16)) == (utc(2026, 3, 16, 6, 30), 0.8)
    # a plug fiddle (2 min) or a holiday (5 days) teaches nothing about absences
    sched.observe_unplug(datetime(2026, 3, 8, 12, 0, tzinfo=BXL))
    sched.observe_plug(datetime(2026, 3, 8, 12, 2, tzinfo=BXL))
    assert len(sched.snapshot()["absence_s"][6]) == 0
    assert len(sched.snapshot()["departures_min"][6]) == 0  # nor about departures


def test_only_the_first_departure_of_a_day_is_a_habit() -> None:
    sched = DepartureSchedule({}, "Europe/Brussels")
    for d in (date(2026, 2, 21), date(2026, 2, 28), date(2026, 3, 7)):  # Saturdays
        for leave, back in ((time(8, 0), time(12, 0)), (time(19, 0), time(23, 0))):
            sched.observe_unplug(datetime.combine(d, leave, tzinfo=BXL))
            sched.observe_plug(datetime.combine(d, back, tzinfo=BXL))
    assert sched.learnt_departure(5) == time(8, 0)  # not the median of 08:00 and 19:00
    assert sched.typical_absence(5) == timedelta(hours=4)


def test_trips_while_the_car_is_away() -> None:
    sched = DepartureSchedule(WORKDAYS, "Europe/Brussels")
    sched.observe_unplug(datetime(2026, 3, 10, 7, 35, tzinfo=BXL))
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=BXL)
    trips = sched.trips(noon, noon + timedelta(hours=24), energy_kwh_default=7.0, plugged=False)
    assert trips == (
        Trip(utc(2026, 3, 10, 6, 35), utc(2026, 3, 10, 15, 35), 7.0, None),  # back 16:35
        Trip(utc(2026, 3, 11, 6, 30), utc(2026, 3, 11, 15, 30), 7.0, 0.8),
    )
    late = datetime(2026, 3, 10, 18, 0, tzinfo=BXL)  # overdue: expected within the quarter
    first = sched.trips(late, late + timedelta(hours=6), energy_kwh_default=7.0, plugged=False)[0]
    assert first.arrive == utc(2026, 3, 10, 17, 15)
    # a long absence: the Wednesday departure cannot happen while the car is still away
    long = DepartureSchedule(WORKDAYS, "Europe/Brussels", absence=timedelta(hours=30))
    long.observe_unplug(datetime(2026, 3, 10, 7, 35, tzinfo=BXL))
    trips = long.trips(noon, noon + timedelta(hours=48), energy_kwh_default=7.0, plugged=False,
                       max_energy_kwh=5.0)  # fmt: skip
    assert [t.depart for t in trips] == [utc(2026, 3, 10, 6, 35), utc(2026, 3, 12, 6, 30)]
    assert trips[0].energy_kwh == 5.0  # capped at the car's capacity


def test_snapshot_round_trip() -> None:
    sched = DepartureSchedule(WORKDAYS, "Europe/Brussels")
    sched.set_once(date(2026, 3, 11), None)
    sched.set_once(date(2026, 3, 14), time(10, 0), 0.6)
    for d in (date(2026, 2, 21), date(2026, 2, 28), date(2026, 3, 7)):
        left = datetime.combine(d, time(9, 0), tzinfo=BXL)
        sched.observe_unplug(left)
        sched.observe_plug(left + timedelta(hours=3), energy_kwh=4.0)
    sched.observe_unplug(datetime(2026, 3, 9, 7, 40, tzinfo=BXL))
    snap = json.loads(json.dumps(sched.snapshot()))
    back = DepartureSchedule.restore(snap, WORKDAYS, "Europe/Brussels")
    assert back.snapshot() == sched.snapshot()
    now = datetime(2026, 3, 9, 12, 0, tzinfo=BXL)
    args = {"energy_kwh_default": 5.0, "plugged": False}
    assert back.trips(now, now + timedelta(days=7), **args) == sched.trips(
        now, now + timedelta(days=7), **args
    )
    with pytest.raises(DepartureError, match="malformed"):
        DepartureSchedule.restore({"version": 1}, WORKDAYS)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: DepartureSchedule({7: (time(7), 0.8)}), "weekday"),
        (lambda: DepartureSchedule({True: (time(7), 0.8)}), "weekday"),
        (lambda: DepartureSchedule({1: (time(7), 1.5)}), r"weekly\[1\] target_soc"),
        (lambda: DepartureSchedule({1: ("07:30", 0.8)}), r"weekly\[1\] time"),
        (lambda: DepartureSchedule({1: (time(7, tzinfo=UTC), 0.8)}), "without tzinfo"),
        (lambda: DepartureSchedule({1: time(7)}), r"weekly\[1\]"),  # type: ignore[dict-item]
        (lambda: DepartureSchedule(tz="Nowhere/Land"), "tz"),
        (lambda: DepartureSchedule(absence=timedelta(0)), "absence"),
        (lambda: DepartureSchedule(min_observations=9), "min_observations"),
        (lambda: DepartureSchedule().set_once(date(2026, 3, 1)), "at"),
        (lambda: DepartureSchedule().set_once(datetime(2026, 3, 1, 7)), "timezone-aware"),
        (lambda: DepartureSchedule().set_once(date(2026, 3, 1), time(7), 2.0), "target_soc"),
        (lambda: DepartureSchedule().observe_plug(MON_EVENING, -1.0), "energy_kwh"),
        (
            lambda: DepartureSchedule().trips(
                MON_EVENING, MON_EVENING, energy_kwh_default=-1.0, plugged=True
            ),
            "energy_kwh_default",
        ),
    ],
)
def test_invalid_inputs_name_the_field(make: object, field: str) -> None:
    with pytest.raises(DepartureError, match=field):
        make()  # type: ignore[operator]
    assert issubclass(DepartureError, ValueError)


@settings(max_examples=80, deadline=None)
@given(
    weekly=st.dictionaries(
        st.integers(0, 6),
        st.tuples(st.times(), st.floats(0.0, 1.0)),
        max_size=7,
    ),
    once=st.lists(st.tuples(st.integers(0, 9), st.one_of(st.none(), st.times())), max_size=5),
    offset_h=st.integers(0, 24 * 400),
    horizon_h=st.integers(1, 48),
    absence_h=st.integers(1, 40),
    plugged=st.booleans(),
)
def test_trips_are_always_valid_for_the_model(
    weekly: dict[int, tuple[time, float]],
    once: list[tuple[int, time | None]],
    offset_h: int,
    horizon_h: int,
    absence_h: int,
    plugged: bool,
) -> None:
    sched = DepartureSchedule(weekly, "Europe/Brussels", absence=timedelta(hours=absence_h))
    now = datetime(2026, 1, 1, 0, 7, tzinfo=UTC) + timedelta(hours=offset_h)
    today = now.astimezone(BXL).date()
    for day, at in once:
        sched.set_once(today + timedelta(days=day), at)
    if not plugged:
        sched.observe_unplug(now - timedelta(hours=3))
    end = now + timedelta(hours=horizon_h)
    trips = sched.trips(now, end, energy_kwh_default=6.0, plugged=plugged)
    Ev("car", 60.0, 11.0, trips=trips)  # no overlap, valid fields
    for a, b in itertools.pairwise(trips):
        assert a.arrive <= b.depart
    for i, trip in enumerate(trips):
        if plugged or i > 0:
            assert now < trip.depart < end
        else:
            assert trip.depart < now < trip.arrive
