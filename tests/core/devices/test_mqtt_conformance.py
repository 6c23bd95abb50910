"""Conformance over a real mosquitto broker on 127.0.0.1: P1 meters and the MQTT wallbox.

Message delivery through the broker is asynchronous, so tests wait (bounded) for a condition
to become true; simulated time (staleness, watchdogs, physics) moves only with the ManualClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from hems_core.devices.clock import ManualClock
from hems_core.devices.errors import (
    DeviceConnectionError,
    PayloadError,
    StaleDataError,
    TelegramError,
    ValueOutOfRangeError,
)
from hems_core.devices.model import Meter, Wallbox, WallboxStatus
from hems_core.devices.mqtt_client import MqttClient
from hems_core.devices.mqtt_wallbox import MqttWallbox, MqttWallboxConfig
from hems_core.devices.p1_mqtt import DsmrReaderDecoder, JsonDecoder, MqttMeter, RawTelegramDecoder
from hems_core.sim.broker import MosquittoBroker
from hems_core.sim.ev import EvParams
from hems_core.sim.mqtt_wallbox_sim import MqttWallboxSim
from hems_core.sim.p1_sim import HouseModel, P1MeterSim, P1Publisher

T0 = 1_717_243_200.0  # 2024-06-01 12:00 UTC


async def until(cond: Callable[[], bool], bound: float = 5.0) -> None:
    """Wait for a broker round trip (bounded); fails the test instead of hanging."""
    loop = asyncio.get_running_loop()
    end = loop.time() + bound
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met within the bound")
        await asyncio.sleep(0.01)


@dataclass
class P1Rig:
    clock: ManualClock
    sim: P1MeterSim
    pub: P1Publisher
    meters: dict[str, MqttMeter]
    ev: dict[str, float]


@pytest.fixture
async def p1(mosquitto: MosquittoBroker, request: pytest.FixtureRequest) -> AsyncIterator[P1Rig]:
    clock = ManualClock(T0)
    ev_power = {"w": 0.0}
    house = HouseModel(base_load_w=500.0, load_amplitude_w=0.0, evs=[lambda: ev_power["w"]])
    sim = P1MeterSim(house, clock, flavour="emucs")
    prefix = f"{request.node.name}/"
    pub = P1Publisher(
        sim,
        MqttClient("127.0.0.1", mosquitto.port),
        telegram_topic=prefix + "telegram",
        dsmr_reader_prefix=prefix + "dsmr/",
        json_topic=prefix + "json",
    )
    meters = {
        "raw": MqttMeter(
            MqttClient("127.0.0.1", mosquitto.port),
            RawTelegramDecoder(prefix + "telegram"),
            stale_after=30,
            clock=clock,
        ),
        "dsmr_reader": MqttMeter(
            MqttClient("127.0.0.1", mosquitto.port),
            DsmrReaderDecoder(prefix + "dsmr/"),
            stale_after=30,
            clock=clock,
        ),
        "json": MqttMeter(
            MqttClient("127.0.0.1", mosquitto.port),
            JsonDecoder(prefix + "json"),
            stale_after=30,
            clock=clock,
        ),
    }
    for m in meters.values():
        await m.connect()
    await pub.client.connect()
    yield P1Rig(clock, sim, pub, meters, ev_power)
    for m in meters.values():
        await m.close()
    await pub.client.close()


async def _publish_and_wait(rig: P1Rig) -> None:
    """Publish once and wait until every meter has taken it (as a reading or an error)."""
    seen = {k: m.received + m.errors for k, m in rig.meters.items()}
    await rig.pub.publish_once()
    await until(lambda: all(m.received + m.errors > seen[k] for k, m in rig.meters.items()))


async def test_all_three_sources_agree(p1: P1Rig) -> None:
    p1.ev["w"] = -3000.0
    p1.clock.advance(60)
    await _publish_and_wait(p1)
    readings = {k: await m.read() for k, m in p1.meters.items()}
    for name, r in readings.items():
        assert r.power_w == pytest.approx(-2500, abs=2), name
        assert r.power_export_w == pytest.approx(2500, abs=2), name
        assert r.energy_import_kwh is not None
    raw = readings["raw"]
    assert raw.timestamp is not None
    assert raw.timestamp.timestamp() == pytest.approx(T0 + 60)
    assert raw.demand_quarter_kw is not None  # e-MUCS fields travel through the telegram
    assert readings["json"].demand_quarter_kw == pytest.approx(raw.demand_quarter_kw, abs=1e-3)
    meter: Meter = p1.meters["raw"]
    assert (await meter.read()).power_w == pytest.approx(-2500, abs=2)


async def test_quarter_demand_and_month_peak_follow_the_house(p1: P1Rig) -> None:
    p1.ev["w"] = 7000.0
    p1.clock.advance(900 - (T0 % 900) + 450)  # one full quarter at 7.5 kW, then half of the next
    await _publish_and_wait(p1)
    r = await p1.meters["raw"].read()
    assert r.demand_month_peak_kw == pytest.approx(7.5, abs=0.01)
    assert r.demand_quarter_kw == pytest.approx(7.5, abs=0.05)


@pytest.mark.parametrize("fault", ["bad_crc", "garbage"])
async def test_corrupt_payloads_are_counted_never_used(p1: P1Rig, fault: str) -> None:
    await _publish_and_wait(p1)
    good = {k: await m.read() for k, m in p1.meters.items()}
    setattr(p1.sim.faults, fault, True)
    p1.clock.advance(5)
    await _publish_and_wait(p1)
    assert isinstance(p1.meters["raw"].last_error, TelegramError)
    if fault == "garbage":
        assert isinstance(p1.meters["json"].last_error, PayloadError)
        assert isinstance(p1.meters["dsmr_reader"].last_error, PayloadError)
    assert await p1.meters["raw"].read() == good["raw"]  # the last good reading, still fresh
    p1.clock.advance(40)
    with pytest.raises(StaleDataError):
        await p1.meters["raw"].read()
    p1.sim.faults.clear()
    await _publish_and_wait(p1)
    assert (await p1.meters["raw"].read()).timestamp != good["raw"].timestamp


async def test_frozen_meter_is_stale(p1: P1Rig) -> None:
    await _publish_and_wait(p1)
    p1.sim.faults.frozen = True
    for _ in range(5):
        p1.clock.advance(10)
        await _publish_and_wait(p1)
    for name, meter in p1.meters.items():
        with pytest.raises(StaleDataError, match="frozen"):
            await meter.read()
        assert name
    p1.sim.faults.frozen = False
    p1.clock.advance(1)
    await _publish_and_wait(p1)
    for meter in p1.meters.values():
        await meter.read()


async def test_silent_meter_is_stale(p1: P1Rig) -> None:
    await _publish_and_wait(p1)
    p1.sim.faults.drop_connections = True
    await p1.pub.publish_once()
    p1.clock.advance(31)
    for meter in p1.meters.values():
        with pytest.raises(StaleDataError):
            await meter.read()


async def test_broker_outage_typed_error_then_reconnect() -> None:
    from hems_core.sim.broker import find_mosquitto

    if find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed")
    broker = MosquittoBroker()
    port = broker.start()
    clock = ManualClock(T0)
    sim = P1MeterSim(HouseModel(), clock, flavour="dsmr5")
    pub = P1Publisher(sim, MqttClient("127.0.0.1", port), dsmr_reader_prefix=None, json_topic=None)
    meter = MqttMeter(MqttClient("127.0.0.1", port, timeout=3), RawTelegramDecoder(), clock=clock)
    try:
        await meter.connect()
        await pub.client.connect()
        await pub.publish_once()
        await until(lambda: meter._latest is not None)
        broker.stop()
        await until(lambda: not meter.client.connected)
        clock.advance(60)
        with pytest.raises(DeviceConnectionError):
            await meter.read()
        with pytest.raises(DeviceConnectionError):
            await pub.publish_once()
        broker = MosquittoBroker(port=port)
        broker.start()
        await until(lambda: meter.client.connected and pub.client.connected, bound=15)
        assert meter.client.connects == 2  # paho reconnected and we re-subscribed
        clock.advance(1)
        await pub.publish_once()
        await until(lambda: meter._received_at == clock())
        assert (await meter.read()).power_w > 0
    finally:
        await meter.close()
        await pub.client.close()
        broker.stop()


async def test_unreachable_broker_is_a_connection_error() -> None:
    client = MqttClient("127.0.0.1", 1, timeout=0.5)
    with pytest.raises(DeviceConnectionError):
        await client.connect()
    await client.close()


# --- generic MQTT wallbox -------------------------------------------------------------------


@dataclass
class WbRig:
    clock: ManualClock
    sim: MqttWallboxSim
    box: MqttWallbox


@pytest.fixture(params=["json", "plain"])
async def wb(mosquitto: MosquittoBroker, request: pytest.FixtureRequest) -> AsyncIterator[WbRig]:
    clock = ManualClock(T0)
    base = f"wb-{request.node.name}"
    sim = MqttWallboxSim(
        MqttClient("127.0.0.1", mosquitto.port),
        EvParams(ramp_w_per_s=1000),
        clock,
        setpoint_topic=f"{base}/set",
        state_topic=f"{base}/state",
        watchdog_s=60,
    )
    if request.param == "json":
        config = MqttWallboxConfig(setpoint_topic=f"{base}/set", state_topic=f"{base}/state")
    else:
        # a plain-payload box: a bridge republishes the state fields one topic each
        config = MqttWallboxConfig(
            setpoint_topic=f"{base}/set",
            payload="plain",
            field_topics={"power": f"{base}/power", "soc": f"{base}/soc"},
        )
    box = MqttWallbox(MqttClient("127.0.0.1", mosquitto.port), config, clock=clock)
    await sim.start()
    await box.connect()
    if request.param == "plain":
        import json

        async def split() -> None:
            data = json.loads(sim.current_state())
            await sim.client.publish(f"{base}/power", str(data["power_w"]))
            await sim.client.publish(f"{base}/soc", str(data["soc"]))

        sim.publish_state = split  # type: ignore[method-assign]
    yield WbRig(clock, sim, box)
    await box.close()
    await sim.client.close()


async def _state(rig: WbRig) -> None:
    """Publish one state and wait until every message of it has arrived."""
    expected = rig.box.received + len(rig.box.config.state_topics())
    await rig.sim.publish_state()
    await until(lambda: rig.box.received >= expected)


async def test_mqtt_wallbox_release_and_close_stop_the_box(wb: WbRig) -> None:
    """Behaviour, not type: release() and close() really bring the simulated box to 0 W."""
    box: Wallbox = wb.box
    await box.set_power(3000)
    await until(lambda: wb.sim.setpoint_w == 3000)
    await box.release()
    await until(lambda: wb.sim.setpoint_w == 0)
    assert not wb.box.in_control
    await box.set_power(-2000)
    await until(lambda: wb.sim.setpoint_w == -2000)
    await box.close()
    await until(lambda: wb.sim.setpoint_w == 0)


async def test_mqtt_wallbox_setpoints_and_state(wb: WbRig) -> None:
    await wb.box.set_power(-4000)
    await until(lambda: wb.sim.received == 1)
    wb.clock.advance(30)
    await _state(wb)
    state = await wb.box.read_state()
    assert state.power_w == pytest.approx(-4000)
    assert state.status is WallboxStatus.DISCHARGING
    assert state.soc_pct is not None
    assert state.soc_pct < 50
    with pytest.raises(ValueOutOfRangeError):
        await wb.box.set_power(50_000)
    assert wb.sim.received == 1


async def test_mqtt_wallbox_watchdog_and_staleness(wb: WbRig) -> None:
    assert not await wb.box.program_watchdog(30)  # no watchdog topic configured
    await wb.box.set_power(3000)
    await until(lambda: wb.sim.received == 1)
    wb.clock.advance(120)  # controller silent beyond the box's 60 s watchdog
    await _state(wb)
    assert wb.sim.watchdog_trips == 1
    assert (await wb.box.read_state()).power_w == 0
    wb.clock.advance(31)  # and no state for longer than stale_after
    with pytest.raises(StaleDataError):
        await wb.box.read_state()
    await _state(wb)
    await wb.box.read_state()


async def test_mqtt_wallbox_garbage_state_ignored(wb: WbRig) -> None:
    await _state(wb)
    if wb.box.config.payload == "plain":
        await wb.sim.client.publish(f"{wb.box.config.field_topics['power']}", "n/a")
    else:
        await wb.sim.client.publish(wb.sim.state_topic, "{broken")
    await until(lambda: wb.box.errors == 1)
    wb.clock.advance(31)
    with pytest.raises(StaleDataError):
        await wb.box.read_state()


async def test_mqtt_wallbox_frozen_state_is_stale(wb: WbRig) -> None:
    await wb.box.set_power(2000)
    await until(lambda: wb.sim.received == 1)
    wb.clock.advance(10)
    await _state(wb)
    wb.sim.faults.frozen = True
    for _ in range(4):
        wb.clock.advance(10)
        await wb.box.set_power(2000)  # the controller keeps the box's watchdog fed
        await _state(wb)
    with pytest.raises(StaleDataError, match="frozen"):
        await wb.box.read_state()
    wb.sim.faults.frozen = False
    wb.clock.advance(1)
    await _state(wb)
    assert (await wb.box.read_state()).power_w == pytest.approx(2000)
