"""The core's speed caches never serve a stale answer (issue 19).

Every cache here is checked against a change that must be seen at once: a departure schedule
changed mid-day straight on the schedule object (no core call to clear anything), a learnt
habit, a schedule object swapped for another, and a plan spanning a month boundary.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hems_core.control.core import ControlCore
from hems_core.control.departures import DepartureSchedule
from hems_core.control.planning import ActivePlan
from hems_core.control.settings import ControlSettings, StorageSettings
from hems_core.control.types import MeterObs, Observation, PlanRequest, StorageObs
from hems_core.model import Ev, Grid, Site

BXL = ZoneInfo("Europe/Brussels")
# Tuesday 13 January 2026, 09:00 local
T0 = datetime(2026, 1, 13, 9, 0, tzinfo=BXL)
DAILY = {d: (time(17, 0), 0.8) for d in range(7)}


def make_core(sched: DepartureSchedule) -> ControlCore:
    s = Site(grid=Grid(17.0, 10.0), evs=(Ev("car", 60.0, 7.4, 7.4, min_soc=0.2),))
    cfg = ControlSettings(storage={"car": StorageSettings(min_active_w=0.0)})
    return ControlCore(s, cfg, departures={"car": sched}, tz="Europe/Brussels")


def obs(at: datetime, soc: float = 0.5) -> Observation:
    return Observation(MeterObs(at, 500.0, stamp=at), {"car": StorageObs(at, True, 0.0, soc, True)})


def departure_at(core: ControlCore, at: datetime) -> datetime:
    view = core.departure_views(at.timestamp())["car"]
    return view.at


def test_a_schedule_changed_on_the_object_mid_day_is_seen_at_once() -> None:
    sched = DepartureSchedule(DAILY, "Europe/Brussels")
    core = make_core(sched)
    core.observe(T0, obs(T0))
    assert departure_at(core, T0) == datetime(2026, 1, 13, 17, 0, tzinfo=BXL)
    t1 = T0 + timedelta(seconds=5)  # well within the old one-minute window
    core.observe(t1, obs(t1))
    sched.set_once(date(2026, 1, 13), time(12, 0))  # straight on the schedule: no core call
    assert departure_at(core, t1) == datetime(2026, 1, 13, 12, 0, tzinfo=BXL)
    sched.set_weekly(1, time(10, 0), 0.9)  # Tuesday's default moves; the one-off still wins
    sched.clear_once(date(2026, 1, 13))
    assert departure_at(core, t1 + timedelta(seconds=1)) == datetime(2026, 1, 13, 10, 0, tzinfo=BXL)
    sched.set_default_target(0.6)
    assert core.departure_views(t1.timestamp() + 2)["car"].target_soc == 0.6


def test_a_replaced_schedule_object_is_seen_at_once() -> None:
    core = make_core(DepartureSchedule(DAILY, "Europe/Brussels"))
    core.observe(T0, obs(T0))
    assert departure_at(core, T0) == datetime(2026, 1, 13, 17, 0, tzinfo=BXL)
    assert core.departures["car"].version == 7  # one per weekday set
    # a fresh schedule starts at the same version number as the old one did
    core.departures["car"] = DepartureSchedule(
        {d: (time(11, 0), 0.8) for d in range(7)}, "Europe/Brussels"
    )
    assert core.departures["car"].version == 7
    assert departure_at(core, T0 + timedelta(seconds=1)) == datetime(2026, 1, 13, 11, 0, tzinfo=BXL)


def test_the_next_departure_moves_on_once_it_has_passed() -> None:
    core = make_core(DepartureSchedule(DAILY, "Europe/Brussels"))
    core.observe(T0, obs(T0))
    assert departure_at(core, T0) == datetime(2026, 1, 13, 17, 0, tzinfo=BXL)
    after = datetime(2026, 1, 13, 17, 0, 1, tzinfo=BXL)
    assert departure_at(core, after) == datetime(2026, 1, 14, 17, 0, tzinfo=BXL)


def test_departure_on_memo_follows_every_change() -> None:
    sched = DepartureSchedule(tz="Europe/Brussels", min_observations=1, learn_window=1)
    wed = date(2026, 1, 14)
    assert sched.departure_on(wed) is None  # memoised "none"
    v = sched.version
    sched.observe_unplug(datetime(2026, 1, 7, 8, 15, tzinfo=BXL))  # a Wednesday habit
    assert sched.version != v
    got = sched.departure_on(wed)
    assert got is not None and got[0] == datetime(2026, 1, 14, 8, 15, tzinfo=BXL)
    # plugged back within 10 minutes: not a departure after all
    sched.observe_plug(datetime(2026, 1, 7, 8, 20, tzinfo=BXL))
    assert sched.departure_on(wed) is None
    sched.set_weekly(2, time(6, 0), 0.7)
    assert sched.departure_on(wed) == (datetime(2026, 1, 14, 5, 0, tzinfo=UTC), 0.7)
    sched.set_weekly(2, None)
    assert sched.departure_on(wed) is None
    snap = DepartureSchedule(tz="Europe/Brussels")
    snap.set_once(wed, time(9, 0), 0.5)
    sched.load_snapshot(snap.snapshot())
    assert sched.departure_on(wed) == (datetime(2026, 1, 14, 8, 0, tzinfo=UTC), 0.5)


def test_prune_drops_a_passed_one_off_from_the_memo() -> None:
    sched = DepartureSchedule(DAILY, "Europe/Brussels")
    day = date(2026, 1, 13)
    sched.set_once(day, time(8, 0))
    assert sched.departure_on(day) == (datetime(2026, 1, 13, 7, 0, tzinfo=UTC), 0.8)
    sched.prune(datetime(2026, 1, 13, 8, 30, tzinfo=BXL))  # the one-off has passed
    assert sched.departure_on(day) == (datetime(2026, 1, 13, 16, 0, tzinfo=UTC), 0.8)


@pytest.mark.parametrize("hour", [0, 7, 16, 17, 23])
def test_next_departure_is_the_first_of_departures(hour: int) -> None:
    sched = DepartureSchedule({1: (time(17, 0), 0.8), 4: (time(6, 30), 0.9)}, "Europe/Brussels")
    for day in range(10, 24):
        now = datetime(2026, 3, day, hour, 0, tzinfo=BXL)  # across the spring DST change
        deps = sched.departures(now, now + timedelta(days=14))
        assert sched.next_departure(now) == (deps[0] if deps else None)


def test_plan_edges_from_the_planners_integers_equal_the_parsed_step_starts() -> None:
    from tests.core.control.test_core import planned_core

    core, _ = planned_core()
    ap = core.plan
    assert ap is not None and "_starts_s" in ap.plan.__dict__
    parsed = [datetime.fromisoformat(s).timestamp() for s in ap.plan.step_start]
    assert ap.edges == [*parsed, parsed[-1] + ap.plan.dt_h[-1] * 3600.0]
    # a plan rebuilt from its fields (no planner integers) is parsed from its strings
    moved = tuple(
        (datetime.fromisoformat(s) + timedelta(hours=1)).isoformat() for s in ap.plan.step_start
    )
    other = dataclasses.replace(ap.plan, step_start=moved)
    again = ActivePlan.of(2, other, T0, {})
    assert again.edges[0] == parsed[0] + 3600.0
    assert again.asset_step("car", 1) == ap.asset_step("car", 1) is not None
    assert again.asset_step("bike", 0) is None


def _requests(core: ControlCore, start: datetime, quarters: int) -> list[PlanRequest]:
    out = []
    for q in range(quarters):
        at = start + timedelta(minutes=15 * q)
        req = core.observe(at, obs(at)).plan_request
        assert req is not None
        out.append(req)
    return out


def test_the_plan_site_is_reused_only_while_trips_and_settings_are_unchanged() -> None:
    from tests.core.control.test_core import T0 as F0
    from tests.core.control.test_core import forecast

    sched = DepartureSchedule(DAILY, "Europe/Brussels")
    core = make_core(sched)
    core.set_forecast(F0, forecast())
    a, b = _requests(core, F0, 2)
    assert b.site is a.site  # the same trips on the same site: the same object
    core.set_min_soc(F0, "car", 0.35)
    (c,) = _requests(core, F0 + timedelta(minutes=30), 1)
    assert c.site is not b.site and c.site.evs[0].min_soc == 0.35
    tomorrow = datetime(2026, 1, 14, 17, 0, tzinfo=BXL)
    margin = timedelta(hours=core.settings.departure_margin_h)
    assert c.site.evs[0].trips[0].depart == tomorrow - margin
    sched.set_once(date(2026, 1, 14), time(12, 0))  # straight on the schedule
    (d,) = _requests(core, F0 + timedelta(minutes=45), 1)
    assert d.site.evs[0].trips[0].depart == datetime(2026, 1, 14, 12, 0, tzinfo=BXL) - margin
    assert d.site.evs[0].min_soc == 0.35


def test_asset_steps_come_from_the_plan_in_force_after_a_new_plan() -> None:
    from tests.core.control.test_core import forecast, planned_core
    from tests.core.control.test_core import obs as car_obs

    core, planner = planned_core()
    first = core.plan
    assert first is not None
    t1 = first.accepted_at + timedelta(minutes=15)
    core.set_forecast(t1, forecast(price_evening=0.05))  # the evening is cheap now: charge
    req = core.observe(t1, car_obs(t1, 1000.0)).plan_request
    assert req is not None
    assert core.accept_plan(t1, req.seq, planner.solve(req.inputs, req.state, req.site))
    second = core.plan
    assert second is not None and second is not first
    for ap in (first, second):
        car = ap.plan.asset("car")
        for k in (1, 2, 1):  # asked twice: the second answer is the memo's
            st = ap.asset_step("car", k)
            assert st is not None and st.power_w == car.power_kw[k] * 1000.0
            assert (st.soc_start, st.soc_end) == (car.soc[k - 1], car.soc[k])
    assert first.asset_step("car", 1) != second.asset_step("car", 1)
