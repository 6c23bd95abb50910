"""The broker abstraction and the P1 / MQTT wallbox paths over each broker the demo can use.

Every test with ``mqtt_broker`` runs twice: on mosquitto and on the embedded amqtt. The P1
publisher's three formats and the MQTT wallbox's setpoint/state round trip must behave the
same on both, since the demo picks whichever is installed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from hems_core.devices.clock import ManualClock
from hems_core.devices.model import WallboxStatus
from hems_core.devices.mqtt_client import MqttClient
from hems_core.devices.mqtt_wallbox import MqttWallbox, MqttWallboxConfig
from hems_core.devices.p1_mqtt import DsmrReaderDecoder, JsonDecoder, MqttMeter, RawTelegramDecoder
from hems_core.sim import broker as broker_mod
from hems_core.sim.broker import AmqttBroker, Broker, MosquittoBroker, make_broker
from hems_core.sim.ev import EvParams
from hems_core.sim.mqtt_wallbox_sim import MqttWallboxSim
from hems_core.sim.p1_sim import HouseModel, P1MeterSim, P1Publisher

T0 = 1_717_243_200.0  # 2024-06-01 12:00 UTC


async def until(cond: Callable[[], bool], bound: float = 5.0) -> None:
    """Wait (bounded) for a broker round trip."""
    loop = asyncio.get_running_loop()
    end = loop.time() + bound
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met within the bound")
        await asyncio.sleep(0.01)


async def test_p1_telegram_dsmr_reader_and_json_agree(mqtt_broker: Broker) -> None:
    clock = ManualClock(T0)
    ev = {"w": -3000.0}
    house = HouseModel(base_load_w=500.0, load_amplitude_w=0.0, evs=[lambda: ev["w"]])
    sim = P1MeterSim(house, clock, flavour="dsmr5")
    port = mqtt_broker.port
    pub = P1Publisher(
        sim, MqttClient("127.0.0.1", port), telegram_topic="b/telegram",
        dsmr_reader_prefix="b/dsmr/", json_topic="b/json",
    )  # fmt: skip
    meters = {
        "raw": RawTelegramDecoder("b/telegram"),
        "dsmr_reader": DsmrReaderDecoder("b/dsmr/"),
        "json": JsonDecoder("b/json"),
    }
    clients = {k: MqttMeter(MqttClient("127.0.0.1", port), d, stale_after=30, clock=clock)
               for k, d in meters.items()}  # fmt: skip
    try:
        for m in clients.values():
            await m.connect()
        await pub.client.connect()
        for _ in range(2):  # the second after a step: readings follow the model, not a cache
            clock.advance(60)
            seen = {k: m.received for k, m in clients.items()}
            await pub.publish_once()
            await until(lambda s=seen: all(m.received > s[k] for k, m in clients.items()))  # type: ignore[misc]
            for name, m in clients.items():
                r = await m.read()
                assert r.power_w == pytest.approx(500 + ev["w"], abs=2), name
            ev["w"] = 7400.0
    finally:
        for m in clients.values():
            await m.close()
        await pub.client.close()


async def test_mqtt_wallbox_setpoint_and_state_round_trip(mqtt_broker: Broker) -> None:
    clock = ManualClock(T0)
    port = mqtt_broker.port
    sim = MqttWallboxSim(
        MqttClient("127.0.0.1", port), EvParams(ramp_w_per_s=1000), clock,
        setpoint_topic="bw/set", state_topic="bw/state", watchdog_s=60,
    )  # fmt: skip
    box = MqttWallbox(
        MqttClient("127.0.0.1", port),
        MqttWallboxConfig(setpoint_topic="bw/set", state_topic="bw/state"),
        clock=clock,
    )
    await sim.start()
    await box.connect()
    try:
        await box.set_power(-4000)
        await until(lambda: sim.setpoint_w == -4000)
        clock.advance(30)
        before = box.received
        await sim.publish_state()
        await until(lambda: box.received > before)
        state = await box.read_state()
        assert state.power_w == pytest.approx(-4000)
        assert state.status is WallboxStatus.DISCHARGING
    finally:
        await box.close()
        await sim.client.close()


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_stop_leaves_no_broker_process(kind: str) -> None:
    if kind == "mosquitto" and broker_mod.find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed (apt-get install mosquitto)")
    if kind == "amqtt" and not broker_mod.amqtt_available():
        pytest.skip("amqtt not installed (pip install -e '.[demo]')")
    b = make_broker(kind)
    assert b.kind == kind
    b.start()
    pid = b.pid
    assert pid is not None
    os.kill(pid, 0)  # running
    b.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert b.pid is None


def test_auto_prefers_mosquitto_and_falls_back_to_amqtt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEMS_BROKER", raising=False)
    monkeypatch.setattr(broker_mod, "find_mosquitto", lambda: "/usr/sbin/mosquitto")
    assert isinstance(make_broker(), MosquittoBroker)
    assert not isinstance(make_broker(), AmqttBroker)
    monkeypatch.setattr(broker_mod, "find_mosquitto", lambda: None)
    monkeypatch.setattr(broker_mod, "amqtt_available", lambda: True)
    assert isinstance(make_broker(), AmqttBroker)
    monkeypatch.setattr(broker_mod, "amqtt_available", lambda: False)
    with pytest.raises(FileNotFoundError, match="apt-get install mosquitto"):
        make_broker()
    monkeypatch.setenv("HEMS_BROKER", "amqtt")
    with pytest.raises(FileNotFoundError, match=r"hems-core\[demo\]"):
        make_broker()
    with pytest.raises(ValueError, match="unknown broker kind"):
        make_broker("rabbit")
