"""SunSpec: model codec and the inverter driver against its simulator over real TCP."""

from __future__ import annotations

import math
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.devices.clock import ManualClock
from hems_core.devices.errors import (
    DeviceConnectionError,
    DeviceError,
    DeviceTimeoutError,
    ModbusExceptionError,
    ProtocolError,
    StaleDataError,
    ValueOutOfRangeError,
    WriteRefusedError,
)
from hems_core.devices.modbus_client import ModbusTcpClient
from hems_core.devices.model import Inverter
from hems_core.devices.sunspec import (
    MODEL_LENGTHS,
    MODELS,
    SunSpecInverter,
    decode_model,
    model_words,
    parse_header,
)
from hems_core.sim.modbus_server import ModbusServer
from hems_core.sim.sunspec_sim import PvProfile, SunSpecInverterSim

NOON = 1_717_243_200.0  # 2024-06-01 12:00 UTC


def test_int_model_applies_scale_factors_and_sentinels() -> None:
    words = model_words(
        103,
        {
            "W": 0xFFFF - 99,
            "W_SF": 1,
            "WH": 123456,
            "WH_SF": 0,
            "Hz": 4998,
            "Hz_SF": 0xFFFE,
            "St": 4,
            "A": 0xFFFF,
            "A_SF": 0,
        },
    )
    m = decode_model(103, words)
    assert m["W"] == pytest.approx(-1000.0)  # int16 -100 · 10^1: negative = consuming
    assert m["WH"] == 123456.0
    assert m["Hz"] == pytest.approx(49.98)
    assert m["A"] is None  # 0xFFFF = not implemented
    assert m["St"] == 4.0


def test_missing_scale_factor_gives_none() -> None:
    words = model_words(103, {"W": 500, "W_SF": 0x8000})
    assert decode_model(103, words)["W"] is None


def test_float_model() -> None:
    words = model_words(113, {"W": 4321.5, "WH": 1e6, "St": 4})
    m = decode_model(113, words)
    assert m["W"] == pytest.approx(4321.5)
    nan = struct.unpack(">HH", struct.pack(">f", math.nan))
    words[20:22] = list(nan)
    assert decode_model(113, words)["W"] is None


def test_common_model_strings() -> None:
    m = decode_model(1, model_words(1, {"Mn": "Fronius", "Md": "Symo 8.2-3-M", "SN": "123"}))
    assert (m["Mn"], m["Md"], m["SN"]) == ("Fronius", "Symo 8.2-3-M", "123")


def test_wrong_length_and_header_rejected() -> None:
    with pytest.raises(ProtocolError):
        decode_model(103, [0] * 49)
    with pytest.raises(ProtocolError):
        parse_header([103, 60])
    with pytest.raises(ProtocolError):
        decode_model(999, [0] * 10)
    assert parse_header([0xFFFF, 0]) == (0xFFFF, 0)


def test_point_tables_fit_their_models() -> None:
    for mid, points in MODELS.items():
        for p in points.values():
            assert p.offset + p.width <= MODEL_LENGTHS[mid], (mid, p.name)


@settings(max_examples=200, deadline=None)
@given(st.integers(-32767, 32767), st.integers(-3, 3))
def test_int16_power_round_trip(raw: int, sf: int) -> None:
    m = decode_model(103, model_words(103, {"W": raw, "W_SF": sf}))
    assert m["W"] == pytest.approx(raw * 10.0**sf)


@dataclass
class Rig:
    clock: ManualClock
    sim: SunSpecInverterSim
    server: ModbusServer
    inv: SunSpecInverter


@pytest.fixture(params=["int+123", "float+704"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    clock = ManualClock(NOON)
    sim = SunSpecInverterSim(
        clock,
        profile=PvProfile(constant_w=4000),
        rated_w=6000,
        float_model=request.param.startswith("float"),
        der_704=request.param.endswith("704"),
    )
    server = ModbusServer(sim)
    port = await server.start()
    client = ModbusTcpClient("127.0.0.1", port, timeout=1.0, backoff_max=4.0, clock=clock)
    inv = SunSpecInverter(client, revert_s=120, stale_after=30.0, clock=clock)
    yield Rig(clock, sim, server, inv)
    await inv.close()
    await server.stop()


async def test_discovery(rig: Rig) -> None:
    models = await rig.inv.discover()
    assert models[1].address == 40004
    assert {rig.sim.inverter_model, 120, 121, rig.sim.limit_model} <= models.keys()
    assert rig.inv.common["Md"] == "SimInverter"
    assert rig.inv.rated_power_w == 6000


async def test_interface_methods_act_on_the_inverter(rig: Rig) -> None:
    """Behaviour, not type: limit, release and close change what the simulated inverter does."""
    inv: Inverter = rig.inv
    await inv.set_power_limit(1200)
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.limit_w() == pytest.approx(1200, abs=6)
    assert rig.sim.ac_w == pytest.approx(1200, abs=6)
    await inv.release()
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.limit_w() is None
    assert rig.sim.ac_w == pytest.approx(4000)
    await inv.set_power_limit(500)
    await inv.close()  # lifts the limit it set before disconnecting
    assert rig.sim.limit_w() is None


async def test_power_energy_and_curtailment(rig: Rig) -> None:
    state = await rig.inv.read_state()
    rig.clock.advance(3600)
    state2 = await rig.inv.read_state()
    assert state2.ac_power_w == pytest.approx(4000, abs=3)
    assert state2.energy_kwh is not None
    assert state.energy_kwh is not None
    assert state2.energy_kwh - state.energy_kwh == pytest.approx(4.0, abs=0.01)
    assert state2.limit_pct is None
    await rig.inv.set_power_limit(1500)
    rig.clock.advance(10)
    state3 = await rig.inv.read_state()
    assert state3.limit_pct == pytest.approx(25.0)
    assert state3.ac_power_w == pytest.approx(1500, abs=3)
    await rig.inv.set_power_limit(None)
    rig.clock.advance(10)
    assert (await rig.inv.read_state()).ac_power_w == pytest.approx(4000, abs=3)


async def test_limit_reverts_when_controller_goes_quiet(rig: Rig) -> None:
    assert await rig.inv.program_watchdog(60)
    await rig.inv.set_power_limit(0)
    rig.clock.advance(30)
    assert (await rig.inv.read_state()).ac_power_w == 0
    rig.clock.advance(100)
    state = await rig.inv.read_state()
    assert state.limit_pct is None
    assert state.ac_power_w == pytest.approx(4000, abs=3)


async def test_limit_range_checked_and_allow_listed(rig: Rig) -> None:
    await rig.inv.discover()
    with pytest.raises(ValueOutOfRangeError):
        await rig.inv.set_power_limit(7000)
    with pytest.raises(ValueOutOfRangeError):
        await rig.inv.set_power_limit(-1)
    assert rig.inv._device is not None
    with pytest.raises(WriteRefusedError):
        await rig.inv._device.write_address(rig.inv.models[1].address, [0])
    assert rig.sim.writes == []


async def test_night_gives_zero(rig: Rig) -> None:
    rig.sim.profile = PvProfile(peak_w=5000)
    rig.clock.set(NOON + 12 * 3600)
    assert (await rig.inv.read_state()).ac_power_w == 0


@pytest.mark.parametrize("fault", ["refused", "dropped", "delayed", "exception", "garbage"])
async def test_faults_typed_and_recovered(rig: Rig, fault: str) -> None:
    await rig.inv.read_state()
    f = rig.server.faults
    if fault == "refused":
        f.refuse_connections = True
    elif fault == "dropped":
        f.drop_connections = True
    elif fault == "delayed":
        f.delay_s = 5.0
    elif fault == "exception":
        f.exception_code = 4
    else:
        f.garbage = True
    await rig.server.apply_faults()
    expected: dict[str, tuple[type[DeviceError], ...]] = {
        "refused": (DeviceConnectionError, DeviceTimeoutError),
        "dropped": (DeviceConnectionError, DeviceTimeoutError),
        "delayed": (DeviceTimeoutError,),
        "exception": (ModbusExceptionError,),
        "garbage": (ProtocolError, DeviceTimeoutError, DeviceConnectionError),
    }
    with pytest.raises(expected[fault]):
        await rig.inv.read_state()
    f.clear()
    await rig.server.apply_faults()
    rig.clock.advance(5)
    assert (await rig.inv.read_state()).ac_power_w == pytest.approx(4000, abs=3)


async def test_frozen_registers_detected(rig: Rig) -> None:
    await rig.inv.read_state()
    rig.sim.faults.frozen = True
    rig.clock.advance(10)
    await rig.inv.read_state()
    rig.clock.advance(40)
    with pytest.raises(StaleDataError):
        await rig.inv.read_state()
    rig.sim.faults.frozen = False
    rig.clock.advance(1)
    await rig.inv.read_state()


async def test_no_suns_marker() -> None:
    clock = ManualClock(NOON)
    sim = SunSpecInverterSim(clock)
    sim.words[40000] = 0
    server = ModbusServer(sim)
    port = await server.start()
    inv = SunSpecInverter(ModbusTcpClient("127.0.0.1", port, timeout=1.0, clock=clock), clock=clock)
    try:
        with pytest.raises(ProtocolError, match="SunS"):
            await inv.discover()
    finally:
        await inv.close()
        await server.stop()


@pytest.mark.parametrize(
    ("model", "point", "wrong_offset"),
    [(103, "W", 14), (113, "W", 22), (123, "WMaxLimPct", 4), (704, "WMaxLimPct", 14)],
)
async def test_a_corrupted_point_table_fails(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, model: int, point: str, wrong_offset: int
) -> None:
    """The simulator lays its models out itself, so one wrong driver offset is caught."""
    import dataclasses

    from hems_core.devices import sunspec

    if model not in (rig.sim.inverter_model, rig.sim.limit_model):
        pytest.skip("model not in this rig")
    table = dict(sunspec.MODELS[model])
    table[point] = dataclasses.replace(table[point], offset=wrong_offset)
    monkeypatch.setitem(sunspec.MODELS, model, table)
    try:
        await rig.inv.set_power_limit(1500)
        rig.clock.advance(10)
        state = await rig.inv.read_state()
    except DeviceError:
        return  # the device refused what the driver wrote: caught
    agrees = state.ac_power_w == pytest.approx(1500, abs=3) and rig.sim.ac_w == pytest.approx(
        1500, abs=3
    )
    assert not agrees
