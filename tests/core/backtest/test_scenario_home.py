"""The scenario format rejects bad input by name; the home model obeys physics."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hems_core.backtest.home import Home
from hems_core.scenario import ScenarioError, load_scenario

NL = Path(__file__).resolve().parents[3] / "scenarios" / "nl-2027-v2h"


def test_reference_scenario_loads() -> None:
    sc = load_scenario(NL)
    assert sc.days == 365 and sc.start_s > sc.t0_s
    assert sc.load_kw.shape == sc.pv_kw.shape == sc.import_eur_kwh.shape
    i0 = sc.index(sc.start_s)
    assert sc.load_kw.shape[0] - i0 == 365 * 96  # the whole of 2025 in quarters
    # no net metering: feed-in at spot minus a fee, import with taxes and VAT
    assert (sc.export_eur_kwh[i0:] < sc.import_eur_kwh[i0:]).all()
    # history prices are unknown (empty cells), every controlled price is a number
    assert np.isnan(sc.spot_eur_kwh[:i0]).all() and np.isfinite(sc.spot_eur_kwh[i0:]).all()


def test_blank_price_only_allowed_in_history(tmp_path: Path) -> None:
    for f in NL.iterdir():
        shutil.copy(f, tmp_path / f.name)
    series = tmp_path / "series.csv"
    lines = series.read_text().splitlines()
    sc = load_scenario(NL)
    row = sc.index(sc.start_s) + 1 + 5  # +1: the header; a controlled quarter
    lines[row] = lines[row].rsplit(",", 1)[0] + ","
    series.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match="price_eur_mwh"):
        load_scenario(tmp_path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("days: 365", "days: 400"), "must cover"),
        (("timezone: Europe/Amsterdam", "timezone: Mars/Olympus"), "timezone"),
        (("capacity_kwh: 60.0", "capacity_kwh: lots"), "evs[0].capacity_kwh"),
        (
            ('start: "2025-01-01T00:00:00+01:00"', 'start: "2025-01-01T00:07:00+01:00"'),
            "clock quarter",
        ),
    ],
)
def test_bad_scenario_names_the_field(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    for f in NL.iterdir():
        shutil.copy(f, tmp_path / f.name)
    yml = tmp_path / "scenario.yaml"
    text = yml.read_text()
    assert edit[0] in text
    yml.write_text(text.replace(edit[0], edit[1]))
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(tmp_path)


def test_home_clips_setpoints_and_meters_departure_shortfall() -> None:
    sc = load_scenario(NL).with_days(2)
    home = Home(sc)
    t = float(sc.start_s)
    home.update_plugs(t)
    car = home.devices["car"]
    assert car.plugged  # plugged overnight at the start
    home.set_power("car", 50_000.0)  # far above the 11 kW charger
    home.advance(t, 900)
    assert car.power_w == pytest.approx(11_000.0)
    soc = car.soc
    home.set_power("car", -50_000.0)
    home.advance(t + 900, 900)
    assert car.power_w == pytest.approx(-11_000.0)
    assert car.soc < soc
    # never charged again: the departure misses the 0.8 target and the shortfall is metered
    home.set_power("car", 0.0)
    s = car.session
    assert s is not None
    home.update_plugs(float(s.depart_s))
    assert not home.devices["car"].plugged  # re-read: mypy narrowed car.plugged above
    assert car.shortfalls == 1
    assert car.shortfall_kwh == pytest.approx((0.8 - car.soc) * 60.0)
    # the trip on return is taken from the battery
    nxt = next(x for x in sc.sessions if x.arrive_s > s.depart_s)
    before = car.soc
    home.update_plugs(float(nxt.arrive_s))
    assert car.soc == pytest.approx(before - nxt.trip_kwh / 60.0)


def test_home_holds_the_grid_limits_for_any_controller() -> None:
    """A rule baseline cannot draw more than the connection: charging is cut, never the house."""
    import dataclasses

    from hems_core.backtest.controllers import make_controller
    from hems_core.backtest.runner import run_one

    sc = dataclasses.replace(load_scenario(NL).with_days(2), grid_import_kw=5.0)
    home, _ = run_one(sc, make_controller(sc, "dumb", 900.0), 900.0)
    i0 = sc.index(sc.start_s)
    house = np.maximum(sc.load_kw[i0 : i0 + 2 * 96] - sc.pv_kw[i0 : i0 + 2 * 96], 0.0)
    allowed = np.maximum(5.0, house) * 0.25 + 1e-9
    assert np.all(home.meters.import_kwh <= allowed)
    assert home.clipped_kwh > 0  # the 11 kW charger really was cut
    # the export limit curtails PV (no storage discharging here)
    full = load_scenario(NL)
    sc2 = dataclasses.replace(full, start_s=full.start_s + 180 * 86400, days=2, grid_export_kw=0.5)
    home2, _ = run_one(sc2, make_controller(sc2, "dumb", 900.0), 900.0)
    assert np.all(home2.meters.export_kwh <= 0.5 * 0.25 + 1e-9)
    assert home2.clipped_kwh > 0


def test_a_charge_to_a_target_stops_at_the_target_within_the_step() -> None:
    """A rule's "full power to 80 %" ends at 80 %, as the runtime's next ticks would end it."""
    sc = load_scenario(NL).with_days(1)
    home = Home(sc)
    t = float(sc.start_s)
    home.update_plugs(t)
    car = home.devices["car"]
    car.soc = 0.799
    home.set_power("car", 11_000.0, stop_soc=0.8)
    home.advance(t, 900)
    assert car.soc == pytest.approx(0.8)
    assert home.meters.storage_kw["car"][0] * 0.25 == pytest.approx(0.001 * 60 / 0.92)
    home.set_power("car", 11_000.0)  # no stop: the whole step at full power
    home.advance(t + 900, 900)
    assert car.soc == pytest.approx(0.8 + 11 * 0.25 * 0.92 / 60)
