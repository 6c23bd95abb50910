"""Table-driven tests of each arbitration layer with plain numbers (no core, no I/O)."""

from __future__ import annotations

import pytest

from hems_core.control.rules import (
    Limits,
    Live,
    Storage,
    Tick,
    Want,
    boost_rules,
    dso_rules,
    follow_meter,
    guard_peak,
    mode_rules,
    safety_rules,
    smooth,
    soc_rules,
)
from hems_core.control.settings import StorageSettings
from hems_core.control.types import Source

V = 230.0


def car(
    name: str = "car", *, phases: tuple[int, ...] = (1, 2, 3), min_active_w: float = 0.0,
    cannot_pause: bool = False, max_w: float = 11_000.0,
) -> Storage:  # fmt: skip
    st = StorageSettings(min_active_w=min_active_w, cannot_pause=cannot_pause, phases=phases)
    return Storage(name, "ev", 60.0, max_w, max_w, 0.2, 1.0, 0.9, st)


def tick(
    base_w: float, live: dict[str, Live], *, phase_w: tuple[float | None, ...] = (None,) * 3,
    meter_ok: bool = True, now_s: float = 0.0,
) -> Tick:  # fmt: skip
    grid = base_w + sum(lv.power_w for lv in live.values())
    ph = (phase_w[0], phase_w[1], phase_w[2])
    return Tick(now_s, grid, base_w, ph, meter_ok, live)


def limits(**kw: float | bool | None) -> Limits:
    base: dict[str, float | bool | None] = {
        "max_import_w": 17_000.0, "max_export_w": 10_000.0, "fuse_w": None,
        "allow_export_from_storage": False, "safe_charge_w": 0.0,
    }  # fmt: skip
    base.update(kw)
    return Limits(**base)  # type: ignore[arg-type]


def plan(watts: float) -> dict[str, Want]:
    return {"car": Want(watts, Source.PLAN, "plan")}


def test_fuse_caps_charging_by_the_headroom_on_the_loaded_phase() -> None:
    # 25 A fuse; the house draws 20 A on L1, 2 A on L2/L3; a 3-phase car idle; plan 11 kW.
    # L1 headroom 5 A = 1,150 W per phase -> the car may draw 3 x 1,150 = 3,450 W.
    s = {"car": car()}
    t = tick(4600 + 920, {"car": Live(True, True, 0.0, 0.5)}, phase_w=(20 * V, 2 * V, 2 * V))
    prop = plan(11_000.0)
    safety_rules(t, prop, s, limits(fuse_w=25 * V))
    assert prop["car"].watts == pytest.approx(3 * 5 * V)
    assert prop["car"].source is Source.FUSE


def test_fuse_counts_the_cars_own_measured_draw() -> None:
    # The car already draws 6.9 kW (10 A/phase) and L1 reads 30 A: the rest of the house is
    # 20 A, so the answer is the same 3,450 W as above, not a further cut.
    s = {"car": car()}
    live = {"car": Live(True, True, 6900.0, 0.5)}
    t = tick(5520 - 6900 + 6900, live, phase_w=(30 * V, 12 * V, 12 * V))
    prop = plan(11_000.0)
    safety_rules(t, prop, s, limits(fuse_w=25 * V))
    assert prop["car"].watts == pytest.approx(3 * 5 * V)


def test_single_phase_car_relieved_on_its_own_phase_only() -> None:
    s = {"car": car(phases=(2,), max_w=7400.0)}
    t = tick(3000, {"car": Live(True, True, 0.0, 0.5)}, phase_w=(24 * V, 20 * V, 1 * V))
    prop = plan(7400.0)
    safety_rules(t, prop, s, limits(fuse_w=25 * V))
    assert prop["car"].watts == pytest.approx(5 * V)  # L2 headroom; L1's load is not its business


def test_house_above_the_fuse_is_relieved_by_v2h_discharge() -> None:
    s = {"car": car(phases=(1,), max_w=7400.0)}
    t = tick(7000, {"car": Live(True, True, 0.0, 0.6)}, phase_w=(27 * V, 0.0, 0.0))
    prop = plan(0.0)
    safety_rules(t, prop, s, limits(fuse_w=25 * V))
    assert prop["car"].watts == pytest.approx(-2 * V)
    assert prop["car"].source is Source.FUSE


@pytest.mark.parametrize(
    ("base_w", "planned", "expected"),
    [
        (800.0, -3000.0, -800.0),  # house takes 800 W: the car gives 800 W, not 3 kW
        (-500.0, -3000.0, 0.0),  # PV already exports: any discharge would be exported
        (2500.0, -2000.0, -2000.0),  # within the load: untouched
    ],
)
def test_v2h_only_never_exports_stored_energy(
    base_w: float, planned: float, expected: float
) -> None:
    s = {"car": car()}
    t = tick(base_w, {"car": Live(True, True, 0.0, 0.6)})
    prop = plan(planned)
    safety_rules(t, prop, s, limits())
    assert prop["car"].watts == pytest.approx(expected)


def test_v2g_allowed_exports_when_the_owner_says_so() -> None:
    s = {"car": car()}
    t = tick(-500.0, {"car": Live(True, True, 0.0, 0.6)})
    prop = plan(-3000.0)
    safety_rules(t, prop, s, limits(allow_export_from_storage=True))
    assert prop["car"].watts == -3000.0


@pytest.mark.parametrize(("soc", "why"), [(0.2, "minimum"), (None, "SoC unknown")])
def test_no_discharge_at_the_floor_or_with_unknown_soc(soc: float | None, why: str) -> None:
    s = {"car": car()}
    t = tick(5000.0, {"car": Live(True, True, 0.0, soc)})
    prop = plan(-3000.0)
    safety_rules(t, prop, s, limits())
    assert prop["car"].watts == 0.0
    assert prop["car"].source is Source.MIN_SOC
    assert why in prop["car"].reason


def test_stale_meter_means_no_discharge_and_only_the_safe_charge() -> None:
    s = {"car": car(), "car2": car("car2")}
    live = {"car": Live(True, True, 0.0, 0.6), "car2": Live(True, True, 0.0, 0.6)}
    t = tick(0.0, live, meter_ok=False)
    prop = {"car": Want(-3000.0, Source.PLAN, ""), "car2": Want(7000.0, Source.BOOST, "")}
    safety_rules(t, prop, s, limits(safe_charge_w=1400.0))
    assert prop["car"].watts == 0.0
    assert prop["car2"].watts == 1400.0
    assert {w.source for w in prop.values()} == {Source.FAILSAFE}


def test_offline_or_unplugged_devices_get_nothing() -> None:
    s = {"car": car(), "car2": car("car2")}
    live = {"car": Live(False, True, 0.0, 0.6), "car2": Live(True, False, 0.0, 0.6)}
    prop = {"car": Want(3000.0, Source.PLAN, ""), "car2": Want(3000.0, Source.PLAN, "")}
    safety_rules(tick(0.0, live), prop, s, limits())
    assert [w.watts for w in prop.values()] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("planned", "cannot_pause", "expected"),
    [(900.0, False, 0.0), (900.0, True, 1380.0), (0.0, True, 1380.0), (2000.0, False, 2000.0)],
)
def test_minimum_current_and_cars_that_cannot_pause(
    planned: float, cannot_pause: bool, expected: float
) -> None:
    s = {"car": car(min_active_w=1380.0, cannot_pause=cannot_pause)}
    prop = plan(planned)
    safety_rules(tick(0.0, {"car": Live(True, True, 0.0, 0.5)}), prop, s, limits())
    assert prop["car"].watts == expected


def test_connection_limit_cuts_charging() -> None:
    s = {"car": car()}
    prop = plan(11_000.0)
    safety_rules(tick(9000.0, {"car": Live(True, True, 0.0, 0.5)}), prop, s, limits())
    assert prop["car"].watts == pytest.approx(8000.0)  # 17 kW import limit - 9 kW house


def test_boost_beats_the_plan_but_not_the_fuse() -> None:
    s = {"car": car()}
    t = tick(1000.0, {"car": Live(True, True, 0.0, 0.5)}, phase_w=(10 * V, 2 * V, 2 * V))
    prop = plan(-3000.0)
    boost_rules(t, prop, s, {"car"})
    assert (prop["car"].watts, prop["car"].source) == (11_000.0, Source.BOOST)
    safety_rules(t, prop, s, limits(fuse_w=16 * V))
    assert prop["car"].watts == pytest.approx(3 * 6 * V)


def test_peak_guard_cuts_planned_charging_then_discharges() -> None:
    s = {"car": car()}
    t = tick(1500.0, {"car": Live(True, True, 0.0, 0.5)})
    prop = plan(3000.0)
    guard_peak(t, prop, s, allowed_import_w=2000.0)
    assert prop["car"].watts == pytest.approx(500.0)
    assert prop["car"].source is Source.PEAK
    prop = plan(0.0)
    guard_peak(tick(3500.0, t.live), prop, s, allowed_import_w=2000.0)
    assert prop["car"].watts == pytest.approx(-1500.0)


def test_peak_guard_leaves_a_boost_alone() -> None:
    s = {"car": car()}
    prop = {"car": Want(11_000.0, Source.BOOST, "boost")}
    guard_peak(tick(1500.0, {"car": Live(True, True, 0.0, 0.5)}), prop, s, 2000.0)
    assert prop["car"].watts == 11_000.0


def test_follower_closes_the_grid_error() -> None:
    s = car()
    lv = Live(True, True, -1000.0, 0.6)
    t = tick(2600.0, {"car": lv})  # house + PV = 2.6 kW, the car gives 1 kW: grid 1.6 kW
    assert follow_meter(t, plan(-1000.0), s, lv, target_grid_w=0.0) == pytest.approx(-2600.0)
    assert follow_meter(t, plan(-1000.0), s, lv, target_grid_w=500.0) == pytest.approx(-2100.0)
    big = tick(20_000.0, {"car": lv})
    assert follow_meter(big, plan(0.0), s, lv, 0.0) == -11_000.0  # device limit


def test_soc_rules_floor_and_departure() -> None:
    s = {"car": car()}
    low = tick(0.0, {"car": Live(True, True, 0.0, 0.1)})
    prop = plan(-2000.0)
    soc_rules(low, prop, s, {}, 0.5)
    assert (prop["car"].watts, prop["car"].source) == (11_000.0, Source.MIN_SOC)
    # 0.5 -> 0.8 of 60 kWh at 90 % = 20 kWh = 1.82 h at 11 kW; 2 h left with a 0.5 h margin.
    now = 0.0
    t = tick(0.0, {"car": Live(True, True, 0.0, 0.5)}, now_s=now)
    prop = plan(0.0)
    soc_rules(t, prop, s, {"car": (now + 2 * 3600.0, 0.8)}, 0.5)
    assert prop["car"].source is Source.DEPARTURE
    prop = plan(0.0)
    soc_rules(t, prop, s, {"car": (now + 3 * 3600.0, 0.8)}, 0.5)
    assert prop["car"].source is Source.PLAN


def test_modes() -> None:
    t = tick(-2000.0, {"car": Live(True, True, 0.0, 0.5)})
    prop = plan(-3000.0)
    mode_rules(t, prop, "charge_only")
    assert (prop["car"].watts, prop["car"].source) == (0.0, Source.MODE)
    prop = plan(7000.0)
    mode_rules(t, prop, "solar_only")
    assert prop["car"].watts == pytest.approx(2000.0)  # only the PV surplus


def test_dso_cap_cuts_charging_even_a_boost() -> None:
    t = tick(3000.0, {"car": Live(True, True, 0.0, 0.5)})
    prop = {"car": Want(11_000.0, Source.BOOST, "boost")}
    dso_rules(t, prop, 4200.0)
    assert (prop["car"].watts, prop["car"].source) == (pytest.approx(1200.0), Source.DSO)


@pytest.mark.parametrize(
    ("want", "last", "dt", "expected"),
    [
        (2050.0, 2000.0, 1.0, 2000.0),  # inside the deadband: keep
        (9000.0, 2000.0, 1.0, 4000.0),  # charge rises at 2 kW/s
        (0.0, 9000.0, 1.0, 0.0),  # falls are immediate
        (-200.0, 1500.0, 1.0, 0.0),  # not far enough past zero to flip
        (-800.0, 1500.0, 1.0, -800.0),
        (200.0, -1500.0, 1.0, 0.0),
        (5000.0, None, 1.0, 5000.0),  # first command
    ],
)
def test_smoothing(want: float, last: float | None, dt: float, expected: float) -> None:
    got = smooth(want, last, dt, deadband_w=100.0, ramp_w_per_s=2000.0, hysteresis_w=300.0)
    assert got == pytest.approx(expected)
