"""The fast loop's peak budget per step comes from the plan's budget for that step's month."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hems_core.control.planning import ActivePlan
from tests.core.control.test_core_properties import _plan

BRUSSELS = ZoneInfo("Europe/Brussels")


def _month_crossing_plan(n: int = 12) -> ActivePlan:
    # Quarters from 22:30 on 31 January (Brussels) into 1 February: two monthly budgets.
    t0 = datetime(2026, 1, 31, 22, 30, tzinfo=BRUSSELS)
    starts = tuple((t0 + timedelta(minutes=15 * k)).astimezone(UTC).isoformat() for k in range(n))
    _, base = _plan()
    plan = dataclasses.replace(base, step_start=starts, dt_h=(0.25,) * n, month_peak_kw=(6.5, 3.25))
    return ActivePlan.of(1, plan, t0, {}, month_tz="Europe/Brussels")


def test_steps_in_the_next_month_use_the_next_months_budget() -> None:
    ap = _month_crossing_plan()
    # 22:30 .. 23:45 is January (steps 0-5); 00:00 on 1 February starts step 6.
    assert [ap.month_peak_kw(k) for k in range(12)] == [6.5] * 6 + [3.25] * 6


def test_a_plan_within_one_month_uses_its_only_budget_for_every_step() -> None:
    t0 = datetime(2026, 1, 13, 17, 0, tzinfo=BRUSSELS)
    starts = tuple((t0 + timedelta(minutes=15 * k)).astimezone(UTC).isoformat() for k in range(8))
    _, base = _plan()
    plan = dataclasses.replace(base, step_start=starts, dt_h=(0.25,) * 8, month_peak_kw=(4.0,))
    ap = ActivePlan.of(1, plan, t0, {}, month_tz="Europe/Brussels")
    assert [ap.month_peak_kw(k) for k in range(8)] == [4.0] * 8
