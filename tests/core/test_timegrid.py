"""The shared 15-minute grid: one step definition, exact quarter arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hems_core import timegrid
from hems_core.forecast import timegrid as forecast_grid
from hems_core.optimize import inputs as optimize_inputs
from hems_core.tariffs import timegrid as tariff_grid


def test_every_area_uses_the_one_step() -> None:
    assert timedelta(seconds=timegrid.STEP_S) == timegrid.STEP
    assert timegrid.STEP_H * 3600 == timegrid.STEP_S == 900
    assert timegrid.QUARTERS_PER_DAY * timegrid.STEP_S == 86400
    assert forecast_grid.STEP_S is timegrid.STEP_S
    assert tariff_grid.STEP is timegrid.STEP
    assert optimize_inputs.STEP_H is timegrid.STEP_H


def test_quarter_floor_and_ceil() -> None:
    t = datetime(2026, 3, 29, 1, 7, 30, 500, tzinfo=UTC)
    s = timegrid.epoch_s(t)
    day = datetime(2026, 3, 29, tzinfo=UTC)
    assert timegrid.from_epoch_s(timegrid.floor_quarter_s(s)) == day + timedelta(hours=1)
    assert timegrid.from_epoch_s(timegrid.ceil_quarter_s(s)) == day + timedelta(minutes=75)
    on = timegrid.floor_quarter_s(s)
    assert timegrid.ceil_quarter_s(on) == on
    # A half-hour zone (India): local quarters are UTC quarters; the result is in UTC.
    local = datetime(2026, 1, 1, 12, 44, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    floored = timegrid.floor_quarter(local)
    assert floored.tzinfo is UTC
    assert floored == datetime(2026, 1, 1, 7, 0, tzinfo=UTC)
