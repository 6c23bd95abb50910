"""EV habits: synthetic commuters with known answers, the shared data sets, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hems_core.cli import main
from hems_core.forecast.errors import ForecastInputError
from hems_core.forecast.ev import (
    ChargingSession,
    circular_quantile,
    learn_habits,
    read_sessions_csv,
)
from tests.shared_data import SHARED_DATA

TZ = ZoneInfo("Europe/Brussels")
TRONDHEIM = SHARED_DATA / "ev_sessions_no_trondheim_residential_2018_2020.csv"


def _commuter(weeks: int = 10, seed: int = 0) -> list[ChargingSession]:
    """Home 18:30±20 min on workdays, leaves 07:30±10 min; a Saturday-afternoon top-up."""
    rng = np.random.default_rng(seed)
    out = []
    monday = datetime(2024, 1, 8, tzinfo=TZ)
    for w in range(weeks):
        for d in range(5):  # Monday..Friday evenings
            day = monday + timedelta(days=7 * w + d)
            arrive = day + timedelta(hours=18.5, minutes=float(rng.normal(0, 20)))
            next_day = day + timedelta(days=1 if d < 4 else 3)  # Friday -> Monday
            leave = next_day + timedelta(hours=7.5, minutes=float(rng.normal(0, 10)))
            out.append(ChargingSession("car", arrive, leave, float(rng.uniform(6, 12))))
        sat = monday + timedelta(days=7 * w + 5, hours=14)
        out.append(ChargingSession("car", sat, sat + timedelta(hours=2), 3.0))
    return out


def test_commuter_departure_and_plug_in_are_learned() -> None:
    h = learn_habits(_commuter(), tz=TZ)
    tue = h.weekdays[1]
    assert tue.departure_minute is not None
    assert tue.departure_minute_p50 is not None
    assert 7 * 60 + 15 <= tue.departure_minute <= tue.departure_minute_p50 <= 7 * 60 + 45
    assert tue.departure_confidence > 0.6
    mon = h.weekdays[0]
    assert mon.plug_in_minute is not None
    assert abs(mon.plug_in_minute - (18 * 60 + 30)) <= 20
    assert mon.energy_kwh_p80 is not None
    assert 6 <= mon.energy_kwh_p80 <= 12
    # nobody leaves on Saturday or Sunday morning: no confident departure there
    assert h.weekdays[5].departure_confidence == 0.0
    assert h.weekdays[6].departure_confidence == 0.0
    sat = h.weekdays[5]
    assert sat.daytime_dwell_h is not None
    assert abs(sat.daytime_dwell_h - 2.0) < 0.01


def test_expected_departure_for_an_evening_plug_in() -> None:
    h = learn_habits(_commuter(), tz=TZ)
    wed_evening = datetime(2024, 3, 20, 18, 40, tzinfo=TZ)  # a Wednesday
    est = h.expected_departure(wed_evening)
    assert est is not None
    assert est.kind == "overnight"
    local = est.departure.astimezone(TZ)
    assert local.date() == wed_evening.date() + timedelta(days=1)
    assert local.hour == 7
    assert est.energy_kwh is not None
    # Friday evening: the next confident departure is Monday morning
    fri = datetime(2024, 3, 22, 18, 40, tzinfo=TZ)
    est_fri = h.expected_departure(fri)
    assert est_fri is not None
    assert est_fri.departure.astimezone(TZ).weekday() == 0


def test_expected_departure_for_a_daytime_top_up() -> None:
    h = learn_habits(_commuter(), tz=TZ)
    sat = datetime(2024, 3, 23, 14, 5, tzinfo=TZ)
    est = h.expected_departure(sat, min_confidence=0.2)
    assert est is not None
    assert est.kind == "daytime"
    assert est.departure - sat == timedelta(hours=2)


def test_no_habit_means_none() -> None:
    h = learn_habits([], tz=TZ)
    assert h.sessions == 0
    assert h.expected_departure(datetime(2024, 1, 1, 20, tzinfo=UTC)) is None
    # scattered departures give low confidence and no default
    rng = np.random.default_rng(5)
    start = datetime(2024, 1, 1, tzinfo=TZ)
    chaos = []
    for i in range(30):
        t0 = start + timedelta(days=i, hours=float(rng.uniform(0, 24)))
        chaos.append(ChargingSession("x", t0, t0 + timedelta(hours=float(rng.uniform(8, 30))), 5))
    hc = learn_habits(chaos, tz=TZ)
    assert max(w.departure_confidence for w in hc.weekdays) < 0.5
    assert hc.expected_departure(start + timedelta(days=31, hours=20), min_confidence=0.6) is None


def test_circular_quantile_wraps_midnight() -> None:
    m = np.array([23 * 60 + 50, 10, 20, 23 * 60 + 40, 0])
    med = circular_quantile(m, 0.5)
    assert min(med, 1440 - med) <= 1  # the median of the five is midnight, not noon
    early = circular_quantile(m, 0.0)
    assert abs(early - (23 * 60 + 40)) < 1e-6


def test_bad_sessions_are_rejected() -> None:
    t = datetime(2024, 1, 1, 20, tzinfo=UTC)
    with pytest.raises(ForecastInputError):
        ChargingSession("a", datetime(2024, 1, 1), None, 1.0)
    with pytest.raises(ForecastInputError):
        ChargingSession("a", t, t - timedelta(hours=1), 1.0)
    with pytest.raises(ForecastInputError):
        ChargingSession("a", t, None, float("nan"))
    with pytest.raises(ForecastInputError, match="several vehicles"):
        learn_habits([ChargingSession("a", t, None, 1), ChargingSession("b", t, None, 1)])
    with pytest.raises(ForecastInputError, match="time zone"):
        learn_habits([], tz="Nowhere/Land")


def test_read_sessions_csv_formats(tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_text(
        "session_id,user_id,plugin_local,plugout_local,energy_kwh\n"
        "1,u1,2024-01-08T18:30,2024-01-09T07:30,8.5\n"
        "2,u1,2024-01-09T18:30,,4\n"
        "3,u1,garbage,2024-01-09T07:30,8.5\n"
    )
    s = read_sessions_csv(p, tz="Europe/Brussels")
    assert len(s) == 2
    assert s[0].plug_in == datetime(2024, 1, 8, 17, 30, tzinfo=UTC)
    assert s[1].plug_out is None
    bad = tmp_path / "b.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ForecastInputError, match="vehicle"):
        read_sessions_csv(bad)


@pytest.mark.skipif(not TRONDHEIM.exists(), reason="shared EV data not available")
def test_trondheim_residential_habits(capsys: pytest.CaptureFixture[str]) -> None:
    """Real home charging: the most active user has a confident weekday-morning departure."""
    sessions = [
        s for s in read_sessions_csv(TRONDHEIM, tz="Europe/Oslo") if s.vehicle_id == "Bl2-5"
    ]
    h = learn_habits(sessions, tz="Europe/Oslo")
    workdays = h.weekdays[:5]
    assert all(w.departure_minute is not None for w in workdays)
    assert all(6 * 60 <= (w.departure_minute or 0) <= 9 * 60 for w in workdays)
    assert max(w.departure_confidence for w in workdays) > 0.4
    rc = main(
        [
            "forecast",
            "ev-habits",
            "--sessions",
            str(TRONDHEIM),
            "--tz",
            "Europe/Oslo",
            "--vehicle",
            "Bl2-5",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["Bl2-5"]["weekdays"][0]["weekday"] == "monday"


def test_cli_ev_habits_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "s.csv"
    lines = ["vehicle_id,plug_in,plug_out,energy_kwh"]
    for s in _commuter(4):
        out = s.plug_out.isoformat() if s.plug_out else ""
        lines.append(f"{s.vehicle_id},{s.plug_in.isoformat()},{out},{s.energy_kwh}")
    p.write_text("\n".join(lines) + "\n")
    assert main(["forecast", "ev-habits", "--sessions", str(p)]) == 0
    assert "tuesday" in capsys.readouterr().out
    assert main(["forecast", "ev-habits", "--sessions", str(p), "--vehicle", "nope"]) == 2
