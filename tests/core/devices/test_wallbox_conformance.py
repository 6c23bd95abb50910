"""Conformance: every Modbus wallbox driver against its simulator over real TCP on 127.0.0.1.

Time is a :class:`ManualClock` shared by driver and simulator: the EV physics, the device
watchdog and the driver's reconnect back-off all move only when the test advances it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
from hems_core.devices.modbus_client import (
    ModbusClientPool,
    ModbusTcpClient,
    unit_keyword,
    unit_keyword_for,
)
from hems_core.devices.modbus_codec import plan_reads
from hems_core.devices.model import Wallbox, WallboxStatus
from hems_core.devices.regmap import load_device_map
from hems_core.devices.wallboxes import (
    QUASAR_MAP,
    SIGENERGY_EVDC_MAP,
    STATE_ROLES,
    ModbusWallbox,
    SigenergyEvdcWallbox,
    ambicharge,
    ambicharge_map,
    quasar,
)
from hems_core.sim.ev import EvParams
from hems_core.sim.modbus_server import ModbusServer
from hems_core.sim.vendor_tables import ambicharge_table, quasar_table, sigenergy_evdc_table
from hems_core.sim.wallbox_sim import ModbusWallboxSim

GENERIC_MAP = Path(__file__).parent / "maps" / "generic_v2h.yaml"
TIMEOUT = 1.0  # generous: CI machines are loaded; fault tests still end in about a second
BACKOFF_MAX = 8.0


@dataclass
class Rig:
    """A driver wired to a simulator."""

    clock: ManualClock
    sim: ModbusWallboxSim
    server: ModbusServer
    client: ModbusTcpClient
    box: ModbusWallbox


def _make(kind: str, client: ModbusTcpClient, clock: ManualClock) -> ModbusWallbox:
    kwargs: dict[str, Any] = {"clock": clock, "stale_after": 30.0}
    if kind == "quasar":
        return quasar(client, **kwargs)
    if kind == "ambicharge":
        return ambicharge(client, **kwargs)
    if kind == "sigenergy":
        return SigenergyEvdcWallbox(client, **kwargs)
    return ModbusWallbox(load_device_map(GENERIC_MAP), client, **kwargs)


def _sim_table(kind: str) -> Any:
    """The simulator's own table (vendor documents), never the driver's map."""
    return {
        "quasar": quasar_table(),
        "ambicharge": ambicharge_table(1),
        "sigenergy": sigenergy_evdc_table(),
        "generic": load_device_map(GENERIC_MAP),  # the user's own definition
    }[kind]


def _sim(kind: str, ev: EvParams, clock: ManualClock, **kw: Any) -> ModbusWallboxSim:
    return ModbusWallboxSim(_sim_table(kind), ev, clock, single_write_only=kind == "quasar", **kw)


KINDS = ["quasar", "ambicharge", "sigenergy", "generic"]


async def _poll(rig: Rig, seconds: float, step: float = 10.0) -> Any:
    """Advance time like a controller that polls every ``step`` seconds; return the last state."""
    state = None
    elapsed = 0.0
    while elapsed < seconds:
        rig.clock.advance(step)
        elapsed += step
        state = await rig.box.read_state()
    return state


@pytest.fixture(params=KINDS)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    clock = ManualClock(1_700_000_000.0)
    ev = EvParams(
        capacity_kwh=40, soc_pct=50, max_charge_w=7400, max_discharge_w=7400, ramp_w_per_s=1000
    )
    sim = _sim(request.param, ev, clock, comm_timeout_s=60.0)
    server = ModbusServer(sim)
    port = await server.start()
    client = ModbusTcpClient(
        "127.0.0.1",
        port,
        timeout=TIMEOUT,
        backoff_initial=1.0,
        backoff_max=BACKOFF_MAX,
        clock=clock,
    )
    box = _make(request.param, client, clock)
    yield Rig(clock, sim, server, client, box)
    await box.close()
    await server.stop()


async def test_every_interface_method_acts_on_the_device(rig: Rig) -> None:
    """Behaviour, not type: each Wallbox method changes what the simulated box does."""
    box: Wallbox = rig.box
    assert (await box.read_state()).power_w == 0
    await box.set_power(2000)
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.ev.power_w == pytest.approx(2000)
    await box.stop()
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.ev.power_w == 0
    await box.start()
    await box.set_power(-1500)
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.ev.power_w == pytest.approx(-1500)
    programmed = await box.program_watchdog(45)
    if programmed:
        assert rig.sim.watchdog_timeout() == 45
    await box.release()
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.ev.power_w == 0
    assert rig.sim.requested_power() == 0


async def test_charge_then_discharge_follows_setpoints(rig: Rig) -> None:
    state = await rig.box.read_state()
    assert state.plugged
    assert state.power_w == 0
    await rig.box.set_power(3000)
    rig.clock.advance(20)
    state = await rig.box.read_state()
    assert state.power_w == pytest.approx(3000, abs=10)
    assert state.status is WallboxStatus.CHARGING
    await rig.box.set_power(-2500)
    state = await _poll(rig, 600)
    assert state.power_w == pytest.approx(-2500, abs=10)
    assert state.status is WallboxStatus.DISCHARGING
    assert rig.sim.ev.energy_out_kwh == pytest.approx(2.5 * (600 - 5.5) / 3600, rel=0.02)
    if state.energy_out_kwh is not None:
        assert state.energy_out_kwh == pytest.approx(rig.sim.ev.energy_out_kwh, abs=0.02)
    assert state.soc_pct is not None
    assert state.soc_pct < 50
    await rig.box.set_power(0)
    rig.clock.advance(10)
    assert (await rig.box.read_state()).power_w == 0


async def test_stop_and_start(rig: Rig) -> None:
    await rig.box.set_power(2000)
    rig.clock.advance(10)
    await rig.box.stop()
    rig.clock.advance(10)
    assert (await rig.box.read_state()).power_w == 0
    assert rig.sim.ev.power_w == 0


async def test_device_watchdog_stops_power_when_controller_goes_quiet(rig: Rig) -> None:
    programmed = await rig.box.program_watchdog(30)
    assert programmed == (rig.box.map.role("watchdog") is not None)
    await rig.box.set_power(-3000)
    rig.clock.advance(10)
    assert (await rig.box.read_state()).power_w == pytest.approx(-3000, abs=10)
    # the controller goes quiet: no Modbus message for longer than the idle timeout
    rig.clock.advance(200)
    rig.sim.advance()
    assert rig.sim.watchdog_trips == 1
    assert rig.sim.ev.power_w == 0
    state = await rig.box.read_state()
    assert state.power_w == 0
    # discharge lasted the 10 s before plus at most the timeout, not the whole silence
    limit = 30 if programmed else 60
    assert rig.sim.ev.energy_out_kwh < 3.0 * (10 + limit) / 3600


async def test_regular_polling_keeps_the_watchdog_fed(rig: Rig) -> None:
    await rig.box.program_watchdog(30)
    await rig.box.set_power(1500)
    for _ in range(20):
        rig.clock.advance(10)
        await rig.box.read_state()
    assert rig.sim.watchdog_trips == 0
    assert rig.sim.ev.power_w == pytest.approx(1500)


async def test_out_of_range_setpoint_refused_before_any_write(rig: Rig) -> None:
    before = list(rig.sim.writes)
    with pytest.raises(ValueOutOfRangeError):
        await rig.box.set_power(1e6)
    with pytest.raises(ValueOutOfRangeError):
        await rig.box.set_power(-1e6)
    with pytest.raises(ValueOutOfRangeError):
        await rig.box.set_power(float("nan"))
    assert rig.sim.writes == before


async def test_writes_outside_the_allow_list_are_refused_and_logged(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    before = list(rig.sim.writes)
    power_reg = rig.box.map.require("power")
    with caplog.at_level(logging.WARNING), pytest.raises(WriteRefusedError):
        await rig.box.device.write(power_reg.name, 1)
    with pytest.raises(WriteRefusedError):
        await rig.box.device.write("no-such-register", 1)
    with pytest.raises(WriteRefusedError):
        await rig.box.device.write_address(power_reg.address, [1] * power_reg.width)
    assert "refused" in caplog.text
    assert rig.sim.writes == before


async def test_reads_are_batched(rig: Rig) -> None:
    await rig.box.read_state()
    before = rig.server.requests
    await rig.box.read_state()
    specs = [rig.box.map.require(r) for r in STATE_ROLES if r in rig.box.map.roles]
    assert rig.server.requests - before == len(plan_reads(specs, max_gap=rig.box.map.max_gap))
    assert len(plan_reads(specs, max_gap=rig.box.map.max_gap)) < len(specs)


async def test_silence_without_programmed_watchdog_uses_device_default(rig: Rig) -> None:
    # boxes without a watchdog register stop after their fixed communication timeout
    await rig.box.set_power(-2000)
    await _poll(rig, 120)
    assert rig.sim.ev.power_w == pytest.approx(-2000)
    timeout = rig.sim.watchdog_timeout()
    if rig.box.map.role("watchdog") is not None:
        assert timeout == 0  # programmable watchdog: off until the driver programs it
        return
    rig.clock.advance(timeout + 10)  # 10 s lets the ramp (1 kW/s) reach zero
    assert (await rig.box.read_state()).power_w == 0
    assert rig.sim.watchdog_trips == 1


async def test_concurrent_callers_are_serialised(rig: Rig) -> None:
    import asyncio

    # a burst of first calls opens exactly one connection (one per endpoint)
    await asyncio.gather(*(rig.box.read_state() for _ in range(5)))
    assert rig.server.connections == 1
    assert rig.client.generation == 1
    calls = [rig.box.set_power(w) for w in (1000, -1000, 2000, -2000, 0)]
    calls += [rig.box.read_state() for _ in range(10)]
    await asyncio.gather(*calls)
    assert rig.server.max_pipelined == 1  # one request on the wire at a time
    setpoints = [
        v for name, v in rig.sim.writes if name in ("setpoint", "target_power", "power_setpoint")
    ]
    if setpoints:
        assert setpoints == [1000, -1000, 2000, -2000, 0]  # in call order, none lost


# --- faults -------------------------------------------------------------------------------


async def _recover(rig: Rig) -> None:
    rig.server.faults.clear()
    await rig.server.apply_faults()
    rig.clock.advance(BACKOFF_MAX + 1)
    state = await rig.box.read_state()
    assert state.plugged


FAULTS: dict[str, tuple[Callable[[Rig], None], tuple[type[DeviceError], ...]]] = {
    # the first request after the peer vanished may time out before the reset is noticed
    "refused": (
        lambda r: setattr(r.server.faults, "refuse_connections", True),
        (DeviceConnectionError, DeviceTimeoutError),
    ),
    "dropped": (
        lambda r: setattr(r.server.faults, "drop_connections", True),
        (DeviceConnectionError, DeviceTimeoutError),
    ),
    "delayed": (lambda r: setattr(r.server.faults, "delay_s", 5.0), (DeviceTimeoutError,)),
    "exception": (lambda r: setattr(r.server.faults, "exception_code", 6), (ModbusExceptionError,)),
    "garbage": (
        lambda r: setattr(r.server.faults, "garbage", True),
        (ProtocolError, DeviceTimeoutError, DeviceConnectionError),
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_fault_gives_typed_error_then_recovers(rig: Rig, fault: str) -> None:
    await rig.box.read_state()  # connected and healthy
    inject, expected = FAULTS[fault]
    inject(rig)
    await rig.server.apply_faults()
    with pytest.raises(expected) as info:
        await rig.box.read_state()
    if fault == "exception":
        assert info.value.exception_code == 6  # type: ignore[attr-defined]
    with pytest.raises((*expected, DeviceConnectionError)):
        await rig.box.set_power(1000)
    await _recover(rig)
    await rig.box.set_power(1000)
    rig.clock.advance(5)
    assert (await rig.box.read_state()).power_w == pytest.approx(1000, abs=10)


async def test_back_off_fails_fast_and_grows(rig: Rig) -> None:
    await rig.box.read_state()
    rig.server.faults.refuse_connections = True
    await rig.server.apply_faults()
    with pytest.raises((DeviceConnectionError, DeviceTimeoutError)):
        await rig.box.read_state()
    for _ in range(4):
        rig.clock.advance(0.5)
        with pytest.raises(DeviceConnectionError):
            await rig.box.read_state()
    failures = rig.client.failures
    assert failures >= 2  # attempts during back-off fail fast without touching the network
    with pytest.raises(DeviceConnectionError, match="next attempt"):
        await rig.box.read_state()
    assert rig.client.failures == failures
    await _recover(rig)
    assert rig.client.generation == 2  # one reconnect


async def test_frozen_values_raise_stale_then_recover(rig: Rig) -> None:
    await rig.box.set_power(2000)
    rig.clock.advance(10)
    await rig.box.read_state()
    rig.sim.faults.frozen = True
    rig.clock.advance(5)
    await rig.box.read_state()  # not yet stale
    rig.clock.advance(40)
    with pytest.raises(StaleDataError):
        await rig.box.read_state()
    rig.sim.faults.frozen = False
    rig.clock.advance(1)
    assert (await rig.box.read_state()).power_w == pytest.approx(2000, abs=10)


async def test_remote_control_retaken_after_reconnect() -> None:
    clock = ManualClock(0.0)
    sim = _sim("quasar", EvParams(), clock)
    server = ModbusServer(sim)
    port = await server.start()
    client = ModbusTcpClient("127.0.0.1", port, timeout=TIMEOUT, clock=clock)
    box = quasar(client, clock=clock)
    try:
        await box.set_power(2000)
        assert ("set_control", 1.0) in sim.writes
        await box.program_watchdog(20)
        clock.advance(100)  # silence: the Quasar returns control to the user
        sim.advance()
        assert sim.requested_power() == 0
        server.faults.drop_connections = True
        with pytest.raises(DeviceError):
            await box.read_state()
        server.faults.clear()
        clock.advance(120)
        sim.writes.clear()
        await box.set_power(2000)
        assert sim.writes[0] == ("set_control", 1.0)  # taken again on the new connection
        clock.advance(5)
        assert (await box.read_state()).power_w == pytest.approx(2000, abs=10)
    finally:
        await box.close()
        await server.stop()


# --- Sigenergy EVDC specifics ---------------------------------------------------------------


async def test_sigenergy_never_writes_zero_charge_limit() -> None:
    clock = ManualClock(0.0)
    sim = _sim("sigenergy", EvParams(), clock)
    server = ModbusServer(sim)
    port = await server.start()
    box = SigenergyEvdcWallbox(
        ModbusTcpClient("127.0.0.1", port, timeout=TIMEOUT, clock=clock), clock=clock
    )
    try:
        for watts in (3000, -3000, 0, 1000, -1000, 0, 7000, 0, -7000):
            await box.set_power(watts)
            clock.advance(30)
            state = await box.read_state()
            assert state.power_w == pytest.approx(watts, abs=10)
        await box.stop()
        with pytest.raises(ValueOutOfRangeError):
            await box.set_power(800)  # below the 1000 W minimum
        with pytest.raises(WriteRefusedError):
            await box.device.write("power", 0)
        with pytest.raises(ValueOutOfRangeError):
            await box.device.write("charge_limit", 0)  # the map itself forbids 0
        assert all(not (name == "charge_power_limit" and v == 0) for name, v in sim.writes)
        assert ("start_stop", 1.0) in sim.writes  # stopped through 41000
        assert not sim.latched_error
    finally:
        await box.close()
        await server.stop()


async def test_sigenergy_sim_latches_on_zero_charge_limit() -> None:
    # the simulator reproduces the hardware fault, so the test above can fail
    clock = ManualClock(0.0)
    sim = _sim("sigenergy", EvParams(), clock)
    server = ModbusServer(sim)
    port = await server.start()
    client = ModbusTcpClient("127.0.0.1", port, timeout=TIMEOUT, clock=clock)
    try:
        await client.write(41002, [0, 0])  # the box takes the write ... and latches
        assert sim.latched_error
        assert sim.requested_power() == 0
    finally:
        await client.close()
        await server.stop()


# --- transport details ------------------------------------------------------------------------


def test_unit_keyword_shim_detects_both_forms() -> None:
    def new_style(address: int, *, count: int = 1, device_id: int = 1) -> None: ...

    def old_style(address: int, count: int = 1, slave: int = 0) -> None: ...

    def neither(address: int) -> None: ...

    assert unit_keyword_for(new_style) == "device_id"
    assert unit_keyword_for(old_style) == "slave"
    with pytest.raises(DeviceError):
        unit_keyword_for(neither)
    assert unit_keyword() in ("device_id", "slave")


async def test_pool_shares_one_connection_per_endpoint() -> None:
    clock = ManualClock(0.0)
    sim = _sim("quasar", EvParams(), clock)
    server = ModbusServer(sim)
    port = await server.start()
    pool = ModbusClientPool(timeout=TIMEOUT, clock=clock)
    a = pool.acquire("127.0.0.1", port)
    b = pool.acquire("127.0.0.1", port)
    assert a is b
    try:
        await quasar(a, clock=clock).read_state()
        await quasar(b, clock=clock).read_state()
        assert a.generation == 1
        await pool.release(a)
        assert a.connected
        await pool.release(b)
        assert not a.connected
    finally:
        await server.stop()


# --- honest maps: the simulators' tables are independent, so a wrong driver map fails -----------


async def _conformance(kind: str, driver_map: Any) -> None:
    """Drive a driver built from ``driver_map`` against the vendor simulator; assert agreement.

    Raises AssertionError (or a DeviceError the box answers with) when the driver's view of
    the box disagrees with what the simulated hardware does.
    """
    clock = ManualClock(1_700_000_000.0)
    ev = EvParams(capacity_kwh=40, soc_pct=50, ramp_w_per_s=1000)
    sim = _sim(kind, ev, clock)
    server = ModbusServer(sim)
    port = await server.start()
    client = ModbusTcpClient("127.0.0.1", port, timeout=TIMEOUT, clock=clock)
    box: ModbusWallbox
    if kind == "sigenergy":
        box = SigenergyEvdcWallbox(client, clock=clock)
        box.map = load_map_data(driver_map)
        box.device.map = box.map
    else:
        box = ModbusWallbox(driver_map, client, clock=clock)
    try:
        for watts in (3000.0, -2500.0):
            await box.set_power(watts)
            for _ in range(30):  # poll like a controller: feeds the box's watchdog
                clock.advance(10)
                state = await box.read_state()
            assert sim.ev.power_w == pytest.approx(watts), "box did not do what was asked"
            assert state.power_w == pytest.approx(watts, abs=10), "measured power disagrees"
            assert state.soc_pct == pytest.approx(sim.ev.soc_pct, abs=0.6), "SoC disagrees"
            for ours, true in (
                (state.energy_in_kwh, sim.ev.energy_in_kwh),
                (state.energy_out_kwh, sim.ev.energy_out_kwh),
            ):
                if ours is not None:
                    assert ours == pytest.approx(true, abs=0.02), "energy disagrees"
            expected = WallboxStatus.CHARGING if watts > 0 else WallboxStatus.DISCHARGING
            assert state.status is expected, "status disagrees"
        await box.set_power(0)
        clock.advance(30)
        assert (await box.read_state()).power_w == 0
        assert sim.ev.power_w == 0
    finally:
        await box.close()
        await server.stop()


def load_map_data(data: Any) -> Any:
    from hems_core.devices.regmap import parse_device_map

    return parse_device_map(data)


def _corrupt(base: Any, register: str, **change: Any) -> Any:
    data = copy.deepcopy(base)
    for reg in data["registers"]:
        if reg["name"] == register:
            reg.update(change)
            return data
    raise KeyError(register)


def _generic_data() -> Any:
    import yaml

    return yaml.safe_load(GENERIC_MAP.read_text(encoding="utf-8"))


CORRUPTIONS: dict[str, tuple[str, Callable[[], Any]]] = {
    "quasar-power-wrong-address": ("quasar", lambda: _corrupt(QUASAR_MAP, "power", address=537)),
    "quasar-setpoint-wrong-sign": ("quasar", lambda: _corrupt(QUASAR_MAP, "setpoint", scale=-1.0)),
    "quasar-power-wrong-scale": ("quasar", lambda: _corrupt(QUASAR_MAP, "power", scale=10.0)),
    "ambicharge-target-wrong-sign": (
        "ambicharge",
        lambda: _corrupt(ambicharge_map(1), "target_power", scale=1.0),
    ),
    "ambicharge-power-wrong-word-order": (
        "ambicharge",
        lambda: _corrupt(ambicharge_map(1), "power", word_order="little"),
    ),
    "ambicharge-soc-wrong-address": (
        "ambicharge",
        lambda: _corrupt(ambicharge_map(1), "soc", address=4000 + 26),
    ),
    "sigenergy-energy-wrong-scale": (
        "sigenergy",
        lambda: _corrupt(SIGENERGY_EVDC_MAP, "energy_in", scale=0.001),
    ),
    "sigenergy-soc-wrong-scale": (
        "sigenergy",
        lambda: _corrupt(SIGENERGY_EVDC_MAP, "soc", scale=0.01),
    ),
    # the running-state guess this driver shipped before evcc's table was checked
    "sigenergy-old-status-map": (
        "sigenergy",
        lambda: {
            **SIGENERGY_EVDC_MAP,
            "status_map": {
                0: "disconnected",
                1: "waiting",
                2: "charging",
                3: "discharging",
                4: "error",
            },
        },
    ),
    "generic-soc-wrong-word-order": (
        "generic",
        lambda: _corrupt(_generic_data(), "soc", word_order="big"),
    ),
}


@pytest.mark.parametrize("kind", KINDS)
async def test_driver_maps_conform_to_the_independent_simulators(kind: str) -> None:
    maps = {
        "quasar": QUASAR_MAP,
        "ambicharge": ambicharge_map(1),
        "sigenergy": SIGENERGY_EVDC_MAP,
        "generic": _generic_data(),
    }
    await _conformance(kind, maps[kind])


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
async def test_a_corrupted_driver_map_fails_conformance(case: str) -> None:
    """The check above can fail: one wrong address/scale/sign/word order is caught."""
    kind, make = CORRUPTIONS[case]
    with pytest.raises((AssertionError, DeviceError)):
        await _conformance(kind, make())


# --- Quasar 1: take control, hand back, FC06 only ------------------------------------------------


@dataclass
class QuasarRig:
    clock: ManualClock
    sim: ModbusWallboxSim
    server: ModbusServer
    client: ModbusTcpClient
    box: ModbusWallbox


@pytest.fixture
async def qrig() -> AsyncIterator[QuasarRig]:
    clock = ManualClock(0.0)
    # unplugged for the first 100 s, then plugged in: a plug-in event the test can watch
    sim = _sim("quasar", EvParams(plug_schedule=((100.0, 1e9),)), clock)
    server = ModbusServer(sim)
    port = await server.start()
    client = ModbusTcpClient("127.0.0.1", port, timeout=TIMEOUT, clock=clock)
    box = quasar(client, clock=clock)
    yield QuasarRig(clock, sim, server, client, box)
    await box.close()
    await server.stop()


async def test_quasar_take_control_disables_autostart(qrig: QuasarRig) -> None:
    assert qrig.sim.value("autostart") == 1  # factory default
    await qrig.box.set_power(0)
    assert qrig.sim.remote
    assert qrig.sim.value("autostart") == 0
    assert qrig.sim.value("setpoint_mode") == 1
    qrig.clock.advance(150)  # the car is plugged in at 100 s
    state = await qrig.box.read_state()
    assert state.plugged
    assert state.power_w == 0  # no session of its own on plug-in
    assert qrig.sim.ev.energy_in_kwh == 0


async def test_quasar_sim_autostart_really_starts_on_plug_in(qrig: QuasarRig) -> None:
    """Counter-check: with autostart left enabled the simulated box charges by itself."""
    await qrig.client.write(81, [1], single=True)  # remote control, autostart untouched
    await qrig.client.write(83, [1], single=True)
    await qrig.client.write(260, [2000], single=True)
    qrig.clock.advance(150)
    qrig.sim.advance()
    assert qrig.sim.ev.power_w == pytest.approx(2000)


async def test_quasar_writes_are_all_fc06_and_fc16_is_refused(qrig: QuasarRig) -> None:
    await qrig.box.set_power(1500)
    await qrig.box.program_watchdog(60)
    await qrig.box.stop()
    await qrig.box.release()
    assert qrig.sim.write_functions
    assert set(qrig.sim.write_functions) == {6}
    with pytest.raises(ModbusExceptionError) as info:
        await qrig.client.write(81, [1])  # FC16
    assert info.value.exception_code == 1  # illegal function


async def test_quasar_release_hands_control_back_power_first(qrig: QuasarRig) -> None:
    qrig.clock.advance(150)
    await qrig.box.set_power(3000)
    qrig.clock.advance(10)
    assert (await qrig.box.read_state()).power_w == pytest.approx(3000, abs=10)
    qrig.sim.writes.clear()
    await qrig.box.release()
    names = [n for n, _ in qrig.sim.writes]
    assert names[-1] == "set_control"
    assert qrig.sim.writes[-1] == ("set_control", 0.0)
    assert ("power_setpoint", 0.0) in qrig.sim.writes
    assert names.index("power_setpoint") < names.index("set_control")
    assert not qrig.sim.remote
    assert qrig.sim.value("autostart") == 1  # the box restores its own default
    qrig.clock.advance(10)
    qrig.sim.advance()
    assert qrig.sim.ev.power_w == 0


async def test_quasar_close_hands_control_back(qrig: QuasarRig) -> None:
    qrig.clock.advance(150)
    await qrig.box.set_power(-2000)
    qrig.clock.advance(10)
    qrig.sim.advance()
    assert qrig.sim.ev.power_w == pytest.approx(-2000)
    await qrig.box.close()
    assert not qrig.sim.remote
    assert qrig.sim.value("setpoint") == 0
    qrig.clock.advance(10)
    qrig.sim.advance()
    assert qrig.sim.ev.power_w == 0


async def test_quasar_reports_no_energy_counters(qrig: QuasarRig) -> None:
    qrig.clock.advance(150)
    await qrig.box.set_power(3000)
    qrig.clock.advance(600)
    state = await qrig.box.read_state()
    assert qrig.sim.ev.energy_in_kwh > 0.3
    assert state.energy_in_kwh is None
    assert state.energy_out_kwh is None


async def test_every_driver_hands_back_on_close(rig: Rig) -> None:
    await rig.box.set_power(2000)
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.ev.power_w == pytest.approx(2000)
    await rig.box.close()
    rig.clock.advance(10)
    rig.sim.advance()
    assert rig.sim.requested_power() == 0
    assert rig.sim.ev.power_w == 0
