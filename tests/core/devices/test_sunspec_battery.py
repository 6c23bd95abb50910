"""SunSpec home battery (model 124) against its simulator over real Modbus TCP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from hems_core.devices.clock import ManualClock
from hems_core.devices.errors import ValueOutOfRangeError
from hems_core.devices.modbus_client import ModbusTcpClient
from hems_core.devices.model import Battery, BatteryMode
from hems_core.devices.sunspec_battery import SunSpecBattery
from hems_core.sim.battery_sim import SunSpecBatterySim
from hems_core.sim.modbus_server import ModbusServer


@dataclass
class Rig:
    clock: ManualClock
    sim: SunSpecBatterySim
    server: ModbusServer
    bat: SunSpecBattery
    site: dict[str, float]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = ManualClock(1_717_243_200.0)
    site = {"w": -2000.0}  # the house exports 2 kW of PV without the battery
    sim = SunSpecBatterySim(clock, capacity_kwh=10, soc_pct=50, site_w=lambda: site["w"])
    server = ModbusServer(sim)
    port = await server.start()
    client = ModbusTcpClient("127.0.0.1", port, timeout=1.0, clock=clock)
    bat = SunSpecBattery(client, stale_after=1e9, clock=clock)
    yield Rig(clock, sim, server, bat, site)
    await bat.close()
    await server.stop()


async def _poll(rig: Rig, seconds: float) -> None:
    for _ in range(int(seconds // 10)):
        rig.clock.advance(10)
        await rig.bat.read_state()


async def test_discovery_reads_the_nameplate(rig: Rig) -> None:
    await rig.bat.discover()
    assert rig.bat.max_charge_w == 5000
    assert rig.bat.max_discharge_w == 5000


async def test_self_consumption_follows_the_meter(rig: Rig) -> None:
    await _poll(rig, 30)
    state = await rig.bat.read_state()
    assert state.mode is BatteryMode.SELF_CONSUMPTION
    assert state.power_w == pytest.approx(2000, abs=2)  # charges the export
    assert rig.sim.grid_w() == pytest.approx(0, abs=2)
    rig.site["w"] = 1500.0  # import: the device discharges
    await _poll(rig, 30)
    assert (await rig.bat.read_state()).power_w == pytest.approx(-1500, abs=2)


async def test_fixed_setpoint_does_not_follow_the_meter(rig: Rig) -> None:
    bat: Battery = rig.bat
    await bat.set_power(-3000)
    await _poll(rig, 30)
    state = await bat.read_state()
    assert state.mode is BatteryMode.REMOTE
    assert state.power_w == pytest.approx(-3000, abs=2)
    assert rig.sim.power_w == pytest.approx(-3000)
    rig.site["w"] = 4000.0  # the meter moves; the battery must not chase it
    await _poll(rig, 30)
    assert rig.sim.power_w == pytest.approx(-3000)
    await bat.follow_meter(False)  # hold at 0 W
    await _poll(rig, 30)
    assert rig.sim.power_w == pytest.approx(0)
    await bat.follow_meter(True)
    await _poll(rig, 30)
    assert rig.sim.power_w == pytest.approx(-4000)
    assert (await bat.read_state()).mode is BatteryMode.SELF_CONSUMPTION


async def test_soc_and_efficiency(rig: Rig) -> None:
    await rig.bat.set_power(5000)
    await _poll(rig, 3600)
    state = await rig.bat.read_state()
    # 10 kWh at 50 %: an hour at 5 kW stores 5 · 0.95 = 4.75 kWh (less the 2.5 s ramp)
    assert rig.sim.soc_pct == pytest.approx(50 + 47.5, abs=0.05)
    assert state.soc_pct == pytest.approx(rig.sim.soc_pct, abs=0.06)
    await _poll(rig, 600)  # full: charging stops at 100 %
    state = await rig.bat.read_state()
    assert state.soc_pct == pytest.approx(100, abs=0.06)
    assert state.power_w == 0


async def test_revert_timer_returns_to_self_consumption(rig: Rig) -> None:
    assert await rig.bat.program_watchdog(60)
    await rig.bat.set_power(-2500)
    rig.clock.advance(30)
    rig.sim.advance()
    assert rig.sim.power_w == pytest.approx(-2500)
    rig.clock.advance(200)  # HEMS silent
    rig.sim.advance()
    assert rig.sim.reverts == 1
    assert rig.sim.mode_bits == 0
    assert rig.sim.power_w == pytest.approx(2000)  # back to charging the export


async def test_release_and_close_hand_back(rig: Rig) -> None:
    await rig.bat.set_power(1000)
    await _poll(rig, 20)
    assert rig.sim.power_w == pytest.approx(1000)
    await rig.bat.release()
    assert rig.sim.mode_bits == 0
    await rig.bat.set_power(-1000)
    assert rig.sim.mode_bits == 3
    await rig.bat.close()
    assert rig.sim.mode_bits == 0


async def test_out_of_range_refused_before_any_write(rig: Rig) -> None:
    await rig.bat.discover()
    with pytest.raises(ValueOutOfRangeError):
        await rig.bat.set_power(6000)
    with pytest.raises(ValueOutOfRangeError):
        await rig.bat.set_power(float("nan"))
    assert rig.sim.writes == []


@pytest.mark.parametrize(
    "corruption",
    [
        {"ChaState": 7},  # wrong offset for the SoC
        {"InWRte": 10, "OutWRte": 11},  # charge and discharge rates swapped
    ],
)
async def test_a_corrupted_point_table_fails(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, corruption: dict[str, int]
) -> None:
    """The simulator's layout is its own, so a wrong driver offset shows up."""
    import dataclasses

    from hems_core.devices import sunspec

    table = dict(sunspec.MODELS[124])
    for name, offset in corruption.items():
        table[name] = dataclasses.replace(table[name], offset=offset)
    monkeypatch.setitem(sunspec.MODELS, 124, table)
    await rig.bat.set_power(-2000)
    await _poll(rig, 30)
    state = await rig.bat.read_state()
    power_ok = rig.sim.power_w == pytest.approx(-2000)
    soc_ok = state.soc_pct == pytest.approx(rig.sim.soc_pct, abs=0.06)
    assert not (power_ok and soc_ok)
