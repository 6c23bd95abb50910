"""The grid-state fusion and the island state machine with plain values.

Table-driven transitions from the module docstring's table, then hypothesis over random
sequences of grid reports (on, off, unknown, flapping, a gateway that never closes): the
machine never outlives a transitional state's timeout, an unknown grid never starts an outage,
and a silent P1 meter alone is never an outage.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hems_core.control.grid import (
    GridState,
    GridView,
    IslandMachine,
    IslandSettings,
    IslandState,
    fuse_grid,
    timeout_s,
)
from hems_core.control.settings import ControlError
from hems_core.control.types import GridObs

S = IslandState
ON = GridView(GridState.ON, False, "gateway")
OFF_ISLAND = GridView(GridState.OFF, True, "gateway")
OFF = GridView(GridState.OFF, None, "inverter")
BACK_WAITING = GridView(GridState.ON, True, "gateway")
UNKNOWN = GridView(GridState.UNKNOWN, None, "none")
CFG = IslandSettings(
    detect_s=2, transfer_timeout_s=30, stable_s=60, min_dwell_s=10, wait_timeout_s=300,
    resync_hold_s=10, resync_timeout_s=40, min_recovery_s=60, recovery_timeout_s=600,
)  # fmt: skip


def at(s: float) -> datetime:
    return datetime.fromtimestamp(1_800_000_000 + s, UTC)


def run(views: list[tuple[float, GridView]], *, low: bool = False, restored: bool = True,
        m: IslandMachine | None = None) -> list[IslandState]:  # fmt: skip
    """Step once a second through ``(until_s, view)`` segments; the states visited."""
    m = m or IslandMachine(CFG, 0.0)
    seen = [m.state]
    t = 0.0
    for until, view in views:
        while t < until:
            t += 1.0
            new = m.step(t, view, low_energy=low, energy_ok=not low, restored=restored)
            if new is not None:
                seen.append(new)
    return seen


# -- fusion ----------------------------------------------------------------------------------


def test_a_silent_meter_alone_is_unknown_never_off() -> None:
    assert fuse_grid(None, 100.0, 10.0, meter_live=False).state is GridState.UNKNOWN


def test_a_fresh_meter_reading_is_evidence_of_grid() -> None:
    assert fuse_grid(None, 100.0, 10.0, meter_live=True) == GridView(GridState.ON, None, "meter")


def test_the_gateway_outranks_the_other_sources() -> None:
    obs = GridObs(at(0), gateway_grid=False, gateway_island=True, inverter_grid=True,
                  voltage_v=230.0, external_grid=True)  # fmt: skip
    view = fuse_grid(obs, at(1).timestamp(), 10.0, meter_live=True)
    assert view == GridView(GridState.OFF, True, "gateway")


@pytest.mark.parametrize(
    ("obs", "state", "by"),
    [
        (GridObs(at(0), inverter_grid=False), GridState.OFF, "inverter"),
        (GridObs(at(0), voltage_v=0.0), GridState.OFF, "voltage"),
        (GridObs(at(0), voltage_v=231.0, frequency_hz=50.0), GridState.ON, "voltage"),
        (GridObs(at(0), voltage_v=231.0, frequency_hz=51.5), GridState.OFF,
         "voltage/frequency out of range"),
        (GridObs(at(0), external_grid=False), GridState.OFF, "external"),
        (GridObs(at(0), voltage_v=float("nan")), GridState.UNKNOWN, "none"),
    ],
)  # fmt: skip
def test_each_source_decides_when_it_is_the_best_there_is(
    obs: GridObs, state: GridState, by: str
) -> None:
    view = fuse_grid(obs, at(1).timestamp(), 10.0, meter_live=False)
    assert (view.state, view.decided_by) == (state, by)


def test_a_stale_report_counts_as_no_report() -> None:
    obs = GridObs(at(0), gateway_grid=False, gateway_island=True)
    assert fuse_grid(obs, at(11).timestamp(), 10.0, meter_live=False).state is GridState.UNKNOWN


# -- transitions -----------------------------------------------------------------------------


def test_a_full_outage_walks_every_state_in_order() -> None:
    seen = run([(10, ON), (100, OFF_ISLAND), (200, BACK_WAITING), (300, ON), (500, ON)])
    assert seen == [
        S.GRID_CONNECTED, S.OUTAGE_DETECTED, S.ISLANDED, S.GRID_RETURNED_WAITING,
        S.RESYNCHRONISING, S.RECOVERY, S.GRID_CONNECTED,
    ]  # fmt: skip


def test_an_outage_must_persist_before_it_is_believed() -> None:
    assert run([(10, ON), (11, OFF), (100, ON)]) == [S.GRID_CONNECTED]
    assert run([(10, ON), (13, OFF)]) == [S.GRID_CONNECTED, S.OUTAGE_DETECTED]


def test_unknown_never_starts_or_ends_an_outage() -> None:
    assert run([(1000, UNKNOWN)]) == [S.GRID_CONNECTED]
    m = IslandMachine(CFG, 0.0)
    run([(20, OFF_ISLAND)], m=m)
    assert m.state is S.ISLANDED
    assert run([(20, OFF_ISLAND), (2000, UNKNOWN)]) == [S.GRID_CONNECTED, S.OUTAGE_DETECTED,
                                                        S.ISLANDED]  # fmt: skip


def test_no_island_within_the_transfer_timeout_is_a_blackout_then_recovery() -> None:
    seen = run([(100, OFF), (200, GridView(GridState.ON, None, "inverter"))])
    assert seen == [S.GRID_CONNECTED, S.OUTAGE_DETECTED, S.BLACKOUT, S.RECOVERY]


def test_low_energy_has_a_dwell_and_an_exit_level() -> None:
    m = IslandMachine(CFG, 0.0)
    run([(3, OFF_ISLAND)], m=m)
    assert m.state is S.ISLANDED and m.since_s == 2.0
    t = 2.0
    assert m.step(t + 9, OFF_ISLAND, low_energy=True, energy_ok=False, restored=True) is None
    assert m.step(t + 10, OFF_ISLAND, low_energy=True, energy_ok=False, restored=True) is (
        S.ISLANDED_LOW_ENERGY
    )
    # between the enter and exit levels it stays low
    assert m.step(t + 19, OFF_ISLAND, low_energy=False, energy_ok=False, restored=True) is None
    assert m.step(t + 20, OFF_ISLAND, low_energy=False, energy_ok=True, restored=True) is (
        S.ISLANDED
    )


def test_a_flap_while_waiting_goes_back_to_the_island() -> None:
    seen = run([(20, OFF_ISLAND), (40, BACK_WAITING), (60, OFF_ISLAND)])
    assert seen[-2:] == [S.GRID_RETURNED_WAITING, S.ISLANDED]


def test_a_gateway_that_never_closes_stalls_the_wait_without_bouncing() -> None:
    seen = run([(20, OFF_ISLAND), (2000, BACK_WAITING)])
    assert seen[-2:] == [S.GRID_RETURNED_WAITING, S.ISLANDED]  # once, not back and forth


def test_recovery_ends_when_every_tier_is_back_or_at_its_timeout() -> None:
    base = [(20, OFF_ISLAND), (40, BACK_WAITING), (60, ON)]
    assert run([*base, (200, ON)], restored=True)[-1] is S.GRID_CONNECTED
    assert run([*base, (200, ON)], restored=False)[-1] is S.RECOVERY
    assert run([*base, (800, ON)], restored=False)[-1] is S.GRID_CONNECTED


def test_settings_are_checked() -> None:
    with pytest.raises(ControlError, match="resync_timeout_s"):
        IslandSettings(resync_hold_s=30, resync_timeout_s=10)
    with pytest.raises(ControlError, match="low_energy_exit_h"):
        IslandSettings(low_energy_enter_h=2.0, low_energy_exit_h=1.0)


# -- properties ------------------------------------------------------------------------------

VIEWS = st.sampled_from([ON, OFF_ISLAND, OFF, BACK_WAITING, UNKNOWN,
                         GridView(GridState.ON, None, "inverter")])  # fmt: skip


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segments=st.lists(st.tuples(st.integers(1, 400), VIEWS), min_size=1, max_size=25),
    low=st.lists(st.booleans(), min_size=1, max_size=25),
    restored=st.booleans(),
)
def test_never_past_a_timeout_and_unknown_never_outages(
    segments: list[tuple[int, GridView]], low: list[bool], restored: bool
) -> None:
    m = IslandMachine(CFG, 0.0)
    t = 0.0
    for i, (dur, view) in enumerate(segments):
        lo = low[i % len(low)]
        for _ in range(dur):
            t += 1.0
            before = m.state
            m.step(t, view, low_energy=lo, energy_ok=not lo, restored=restored)
            assert not m.overdue(t), (m.state, t - m.since_s, timeout_s(m.state, CFG))
            if view.state is GridState.UNKNOWN and view.island is None:
                # unknown is never treated as off-grid: no outage starts, none ends
                assert not (before is S.GRID_CONNECTED and m.state is not S.GRID_CONNECTED), (
                    "unknown started an outage"
                )
                assert not (
                    before in (S.ISLANDED, S.ISLANDED_LOW_ENERGY)
                    and m.state in (S.GRID_RETURNED_WAITING, S.RESYNCHRONISING)
                ), "unknown ended an outage"
