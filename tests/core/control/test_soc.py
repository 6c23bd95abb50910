"""SocEstimator: reported SoC wins, counted energy otherwise, plug-in/out, assume, restore."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.control.soc import SocEstimator, SocEstimatorError
from hems_core.model import Ev

T0 = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)

# (soc_reported, energy_in_kwh, energy_out_kwh, plugged, expected soc, expected estimated)
# 50 kWh, 90 % each way: +10 kWh in = +0.9*10/50 = +0.18; 4.5 kWh out = -4.5/0.9/50 = -0.1.
STORY: list[tuple[float | None, float, float, bool, float | None, bool]] = [
    (None, 0.0, 0.0, False, None, False),  # first sight: away, nothing known
    (None, 0.0, 0.0, True, 0.5, True),  # plug-in without a reading: the arrival default
    (None, 10.0, 0.0, True, 0.68, True),  # counted from 0.5
    (None, 10.0, 4.5, True, 0.58, True),  # V2H discharge
    (0.61, 10.0, 4.5, True, 0.61, False),  # the charger read the car: reported wins
    (None, 15.0, 4.5, True, 0.70, True),  # reading lost: counted from the reported value
    (None, 40.0, 4.5, False, 0.70, True),  # unplugged: energy ignored, last value kept
    (None, 40.0, 4.5, True, 0.5, True),  # a new plug-in without reading: back to the default
    (None, 140.0, 4.5, True, 1.0, True),  # clamped at full
    (None, 140.0, 204.5, True, 0.0, True),  # clamped at empty
    (0.2, 140.0, 204.5, False, 0.0, True),  # unplugged: a reading while away is not trusted
]


def test_soc_story() -> None:
    est = SocEstimator(50.0, 0.9, 0.9, arrival_soc=0.5)
    for i, (rep, e_in, e_out, plugged, soc, estimated) in enumerate(STORY):
        est.observe(T0 + timedelta(minutes=i), rep, e_in, e_out, plugged)
        if soc is None:
            assert est.soc is None, i
        else:
            assert est.soc == pytest.approx(soc, abs=1e-12), i
        assert est.estimated is estimated, i


def test_assume_now_and_at_the_next_plug_in() -> None:
    est = SocEstimator(50.0, 1.0, 1.0)
    est.observe(T0, None, 0.0, 0.0, True)
    est.assume(0.35)  # the owner types the dashboard value
    assert (est.soc, est.estimated) == (0.35, True)
    est.observe(T0 + timedelta(minutes=1), None, 5.0, 0.0, True)
    assert est.soc == pytest.approx(0.45)
    est.observe(T0 + timedelta(minutes=2), None, 5.0, 0.0, False)
    est.assume(0.2)  # entered while away: used at the plug-in
    assert est.soc == pytest.approx(0.45)
    est.observe(T0 + timedelta(minutes=3), None, 5.0, 0.0, True)
    assert est.soc == pytest.approx(0.2)
    # a plug-in with a reading ignores the pending assumption
    est.observe(T0 + timedelta(minutes=4), None, 5.0, 0.0, False)
    est.assume(0.9)
    est.observe(T0 + timedelta(minutes=5), 0.4, 5.0, 0.0, True)
    assert (est.soc, est.estimated) == (0.4, False)


def test_restore_and_for_ev() -> None:
    ev = Ev("car", capacity_kwh=60.0, max_charge_kw=11.0, charge_efficiency=0.9)
    est = SocEstimator.for_ev(ev, arrival_soc=0.3)
    est.observe(T0, None, 100.0, 20.0, True)
    assert est.soc == pytest.approx(0.3)
    snap = json.loads(json.dumps(est.snapshot()))
    back = SocEstimator.restore(snap, 60.0, charge_efficiency=0.9)
    back.observe(T0 + timedelta(hours=1), None, 106.0, 20.0, True)  # +6 kWh * 0.9 / 60
    assert back.soc == pytest.approx(0.39)
    assert back.estimated


def test_bad_inputs() -> None:
    with pytest.raises(SocEstimatorError, match="capacity_kwh"):
        SocEstimator(0.0)
    with pytest.raises(SocEstimatorError, match="charge_efficiency"):
        SocEstimator(10.0, 1.2)
    est = SocEstimator(10.0)
    with pytest.raises(SocEstimatorError, match="soc_reported"):
        est.observe(T0, 55.0, 0.0, 0.0, True)  # a percentage, not a fraction
    with pytest.raises(SocEstimatorError, match="assume"):
        est.assume(-0.1)
    with pytest.raises(SocEstimatorError, match="malformed"):
        SocEstimator.restore({"version": 1}, 10.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0.0, 1.0)),
            st.floats(0.0, 30.0),
            st.floats(0.0, 30.0),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_soc_stays_in_range_and_reported_wins(
    steps: list[tuple[float | None, float, float, bool]],
) -> None:
    est = SocEstimator(40.0, 0.92, 0.92)
    e_in = e_out = 0.0
    for i, (rep, d_in, d_out, plugged) in enumerate(steps):
        e_in += d_in
        e_out += d_out
        est.observe(T0 + timedelta(seconds=i), rep, e_in, e_out, plugged)
        if est.soc is not None:
            assert 0.0 <= est.soc <= 1.0
        if plugged and rep is not None:
            assert (est.soc, est.estimated) == (rep, False)
        if plugged:
            assert est.soc is not None
