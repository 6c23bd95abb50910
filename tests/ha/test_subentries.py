"""Device subentries: every flow, its connection test against real servers on loopback (the
Modbus TCP wallbox and SunSpec simulators, mosquitto), its errors and aborts, reconfigure, and
the runtime starting with the devices added through the UI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.selector import ConfigEntrySelector, SelectSelector
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hems import checks
from custom_components.hems.const import CONF_FAST_LOOP_S, CONF_SITE_CONFIG, CONF_SITE_NAME, DOMAIN
from custom_components.hems.schema import vol
from custom_components.hems.site import build
from hems_core.devices.clock import ManualClock
from hems_core.devices.mqtt_client import MqttClient
from hems_core.sim.battery_sim import SunSpecBatterySim
from hems_core.sim.broker import MosquittoBroker, find_mosquitto
from hems_core.sim.modbus_server import ModbusServer
from hems_core.sim.runner import SimRunner

P1 = {"name": "p1", "flavour": "emucs", "dsmr_reader_prefix": None, "json_topic": None}
needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto not installed")

CAR = {
    "capacity_kwh": 40.0,
    "chemistry": "nmc",
    "max_charge_kw": 7.4,
    "max_discharge_kw": 7.4,
    "min_soc": 20,
    "phases": "1",
    "cannot_pause": False,
}
DEPARTURES = {"target_soc": 80, "mon": "07:30:00", "sat": "09:00:00", "sat_target": 60}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def sims(socket_enabled: Any) -> AsyncIterator[dict[str, Any]]:
    """Quasar, ambiCHARGE and Sigenergy wallboxes and a SunSpec PV inverter on Modbus TCP."""
    runner = SimRunner(
        {
            "wallboxes": [
                {"name": "car", "type": "quasar"},
                {"name": "ambi", "type": "ambicharge"},
                {"name": "evdc", "type": "sigenergy_evdc"},
            ],
            "inverters": [{"name": "pv", "rated_w": 6000}],
        }
    )
    out = await runner.start()
    yield out
    await runner.stop()


@pytest.fixture
async def battery_port(socket_enabled: Any) -> AsyncIterator[int]:
    """A SunSpec storage inverter (models 1, 103, 120, 124) on Modbus TCP."""
    server = ModbusServer(SunSpecBatterySim(ManualClock(1_717_243_200.0), capacity_kwh=10))
    yield await server.start()
    await server.stop()


class Broker:
    """mosquitto and a publisher that repeats its topics every 0.1 s."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.topics: dict[str, str] = {}


@pytest.fixture
async def broker(socket_enabled: Any) -> AsyncIterator[Broker]:
    proc = MosquittoBroker()
    b = Broker(proc.start())
    client = MqttClient("127.0.0.1", b.port)
    await client.connect()
    stop = asyncio.Event()

    async def publish() -> None:
        while not stop.is_set():
            for topic, payload in list(b.topics.items()):
                await client.publish(topic, payload, qos=0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    task = asyncio.create_task(publish())
    yield b
    stop.set()
    await task
    await client.close()
    proc.stop()


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    e = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        unique_id="home",
        minor_version=2,
    )
    e.add_to_hass(hass)
    return e


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A topic that stays silent is refused after 0.5 s instead of 12 s."""
    monkeypatch.setattr(checks, "MQTT_WAIT_S", 0.5)


STRINGS = json.loads(
    (Path(__file__).parents[2] / "custom_components/hems/translations/en.json").read_text()
)


def _strings(result: Any) -> Any:
    """Every form, error and abort the flows show has its English string (all four languages
    have the same keys: test_translations.py)."""
    kind = result["handler"][1]
    t = STRINGS["config_subentries"][kind]
    if result["type"] is FlowResultType.FORM:
        step = t["step"][result["step_id"]]
        assert {str(k) for k in result["data_schema"].schema} <= set(step["data"])
        assert set((result["errors"] or {}).values()) <= set(t["error"])
        for key, sel in result["data_schema"].schema.items():
            if isinstance(sel, SelectSelector) and (tk := sel.config.get("translation_key")):
                assert set(sel.config["options"]) <= set(STRINGS["selector"][tk]["options"])
            # The 2025.4 frontend draws no dialog at all for this (browser-tested in issue 12).
            assert not (
                isinstance(sel, ConfigEntrySelector)
                and isinstance(key, vol.Required)
                and key.default is vol.UNDEFINED
            ), f"{result['step_id']}: required config_entry selector {key} without a default"
    elif result["type"] is FlowResultType.ABORT:
        assert result["reason"] in t["abort"]
    return result


async def _start(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> dict[str, Any]:
    result: dict[str, Any] = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": SOURCE_USER}
    )
    return _strings(result)  # type: ignore[no-any-return]


async def _reconfigure(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> dict[str, Any]:
    (sub,) = [s for s in entry.subentries.values() if s.subentry_type == kind]
    result: dict[str, Any] = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": "reconfigure", "subentry_id": sub.subentry_id}
    )
    return _strings(result)  # type: ignore[no-any-return]


async def _next(hass: HomeAssistant, result: dict[str, Any], answers: dict[str, Any]) -> Any:
    return _strings(
        await hass.config_entries.subentries.async_configure(result["flow_id"], answers)
    )


async def _car_steps(hass: HomeAssistant, result: dict[str, Any]) -> Any:
    """The car form, then the departures form."""
    result = await _next(hass, result, CAR)
    assert result["step_id"] == "departures", result["errors"]
    return await _next(hass, result, DEPARTURES)


def _default(result: dict[str, Any], key: str) -> Any:
    """What the form shows for ``key``: its default or its suggested value."""
    for k in result["data_schema"].schema:
        if str(k) == key:
            suggested = (k.description or {}).get("suggested_value")
            return suggested if suggested is not None else k.default()
    raise KeyError(key)


def _sub(entry: MockConfigEntry, kind: str) -> Any:
    (sub,) = [s for s in entry.subentries.values() if s.subentry_type == kind]
    return sub


# -- wallbox + car -------------------------------------------------------------------------------


async def test_add_quasar_wallbox_reads_the_box_before_saving(
    hass: HomeAssistant, entry: MockConfigEntry, sims: dict[str, Any]
) -> None:
    result = await _start(hass, entry, "wallbox")
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    result = await _next(hass, result, {"name": " !! ", "connection": "quasar"})
    assert result["errors"] == {"name": "invalid_name"}
    result = await _next(hass, result, {"name": "Car", "connection": "quasar"})
    assert result["step_id"] == "connection_modbus"
    # Nothing listens on this port: the form stays, says why, and keeps the answers.
    dead = {"host": "127.0.0.1", "port": _free_port()}
    result = await _next(hass, result, dead)
    assert result["errors"] == {"base": "cannot_connect"}
    assert "127.0.0.1" in result["description_placeholders"]["reason"]
    assert _default(result, "port") == dead["port"]
    port = sims["wallboxes"]["car"]["port"]
    result = await _next(hass, result, {"host": " 127.0.0.1 ", "port": port})
    assert result["step_id"] == "car"
    assert result["description_placeholders"]["name"] == "Car"
    # A three-phase car on the default single-phase grid: the site document says why.
    result = await _next(hass, result, {**CAR, "phases": "3"})
    assert result["errors"] == {"base": "invalid_config"}
    assert "phases" in result["description_placeholders"]["reason"]
    assert _default(result, "phases") == "3"
    result = await _next(hass, result, CAR)
    assert result["step_id"] == "departures"
    assert result["description_placeholders"]["name"] == "Car"
    result = await _next(hass, result, DEPARTURES)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sub = _sub(entry, "wallbox")
    assert sub.title == "Car" and sub.unique_id == "car"
    assert sub.data["wallbox"] == {"type": "quasar", "host": "127.0.0.1", "port": port}
    assert sub.data["car"]["min_soc"] == 0.2
    assert sub.data["car"]["departures"] == {
        "target_soc": 0.8,
        "weekly": {"mon": "07:30", "sat": {"time": "09:00", "target_soc": 0.6}},
    }
    doc = build(entry, "Europe/Brussels").document
    assert doc["devices"]["wallboxes"] == [{"name": "Car", **sub.data["wallbox"]}]

    # A second car of the same name is refused.
    result = await _start(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "car", "connection": "quasar"})
    assert result["errors"] == {"name": "name_taken"}


async def test_ambicharge_and_sigenergy_with_connector_and_unit(
    hass: HomeAssistant, entry: MockConfigEntry, sims: dict[str, Any]
) -> None:
    result = await _start(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "Ambi", "connection": "ambicharge"})
    assert [str(k) for k in result["data_schema"].schema] == [
        "host",
        "port",
        "unit_id",
        "connector",
    ]
    port = sims["wallboxes"]["ambi"]["port"]
    result = await _next(hass, result, {"host": "127.0.0.1", "port": port, "connector": 1})
    result = await _car_steps(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY

    result = await _start(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "Evdc", "connection": "sigenergy_evdc"})
    port = sims["wallboxes"]["evdc"]["port"]
    result = await _next(hass, result, {"host": "127.0.0.1", "port": port, "unit_id": 1})
    assert result["step_id"] == "car"
    result = await _car_steps(hass, result)
    evdc = next(s for s in entry.subentries.values() if s.title == "Evdc")
    assert evdc.data["wallbox"]["unit_id"] == 1


async def test_reconfigure_a_wallbox_starts_from_the_saved_answers(
    hass: HomeAssistant, entry: MockConfigEntry, sims: dict[str, Any]
) -> None:
    port = sims["wallboxes"]["car"]["port"]
    result = await _start(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "Car", "connection": "quasar"})
    result = await _next(hass, result, {"host": "127.0.0.1", "port": port})
    await _car_steps(hass, result)

    result = await _reconfigure(hass, entry, "wallbox")
    assert _default(result, "name") == "Car" and _default(result, "connection") == "quasar"
    result = await _next(hass, result, {"name": "Car", "connection": "quasar"})
    assert _default(result, "host") == "127.0.0.1" and _default(result, "port") == port
    result = await _next(hass, result, {"host": "127.0.0.1", "port": port})
    assert _default(result, "min_soc") == 20 and _default(result, "phases") == "1"
    result = await _next(hass, result, {**CAR, "min_soc": 30})
    assert _default(result, "mon") == "07:30" and _default(result, "target_soc") == 80
    assert _default(result, "sat") == "09:00" and _default(result, "sat_target") == 60
    # A day cleared in the form is left out of the answers.
    result = await _next(hass, result, {"target_soc": 90, "mon": "07:30:00"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    car = _sub(entry, "wallbox").data["car"]
    assert car["min_soc"] == 0.3
    assert car["departures"] == {"target_soc": 0.9, "weekly": {"mon": "07:30"}}

    # Switching the connection type starts its form empty (no Modbus host in an OCPP form).
    result = await _reconfigure(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "Car", "connection": "ocpp"})
    assert result["step_id"] == "connection_ocpp"
    assert _default(result, "identity") == "Car"


async def test_ocpp_station_is_checked_by_the_document_and_saved(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    result = await _start(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "Van", "connection": "ocpp"})
    ocpp = {"port": 9000, "identity": "van-1", "password": "secret-pass", "safe_limit_w": 1400,
            "offline_timeout_s": 60}  # fmt: skip
    result = await _next(hass, result, ocpp)
    assert result["step_id"] == "car"
    result = await _car_steps(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    wb = _sub(entry, "wallbox").data["wallbox"]
    assert wb == {"type": "ocpp", **ocpp, "safe_limit_w": 1400.0}


@needs_mosquitto
async def test_mqtt_wallbox_waits_for_its_state_topic(
    hass: HomeAssistant, entry: MockConfigEntry, broker: Broker, short_wait: None
) -> None:
    # Home Assistant's MQTT integration gives the default broker.
    MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1", "port": broker.port}).add_to_hass(
        hass
    )
    result = await _start(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "Diy", "connection": "mqtt"})
    assert result["step_id"] == "connection_mqtt"
    assert _default(result, "host") == "127.0.0.1" and _default(result, "port") == broker.port
    answers = {"host": "127.0.0.1", "port": broker.port, "setpoint_topic": "diy/set",
               "state_topic": "diy/state", "username": "u", "password": "p"}  # fmt: skip
    result = await _next(hass, result, answers)
    assert result["errors"] == {"base": "cannot_connect"}
    assert "diy/state" in result["description_placeholders"]["reason"]
    broker.topics["diy/state"] = '{"power_w": 0}'
    result = await _next(hass, result, answers)
    assert result["step_id"] == "car"
    result = await _car_steps(hass, result)
    wb = _sub(entry, "wallbox").data["wallbox"]
    assert wb["topics"] == {"setpoint": "diy/set", "state": "diy/state"}
    assert wb["username"] == "u"
    result = await _reconfigure(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "Diy", "connection": "mqtt"})
    assert _default(result, "state_topic") == "diy/state"


async def test_an_unreachable_broker_is_a_form_error(
    hass: HomeAssistant, entry: MockConfigEntry, socket_enabled: Any
) -> None:
    reason = await checks.mqtt_topic("127.0.0.1", _free_port(), "x/#", wait_s=0.5)
    assert reason is not None and "unreachable" in reason


# -- entity-backed wallbox + car -----------------------------------------------------------------


def _entities(hass: HomeAssistant) -> None:
    hass.states.async_set("sensor.box_power", "0", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.car_soc", "55", {"unit_of_measurement": "%"})
    hass.states.async_set("number.box_current", "0", {"unit_of_measurement": "A"})
    hass.states.async_set("select.box_mode", "stop", {"options": ["charge", "stop", "v2h"]})


async def test_entity_car_through_a_number(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _entities(hass)
    result = await _start(hass, entry, "entity_car")
    user = {"name": "Ford", "power_entity": "sensor.nope", "write_mode": "number"}
    result = await _next(hass, result, {**user, "name": "?"})
    assert result["errors"] == {"power_entity": "entity_not_found", "name": "invalid_name"}
    user = {**user, "power_entity": "sensor.box_power", "soc_entity": "sensor.car_soc"}
    result = await _next(hass, result, user)
    assert result["step_id"] == "write_number"
    result = await _next(hass, result, {"setpoint_entity": "number.gone"})
    assert result["errors"] == {"setpoint_entity": "entity_not_found"}
    result = await _next(hass, result, {"setpoint_entity": "number.box_current"})
    assert result["step_id"] == "car"
    result = await _car_steps(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = _sub(entry, "entity_car").data
    assert data["entities"] == {
        "power_entity": "sensor.box_power",
        "soc_entity": "sensor.car_soc",
        "write_mode": "number",
        "power_unit": "kW",
        "setpoint_entity": "number.box_current",
        "setpoint_unit": "A",
    }
    # The document holds it as a wallbox of type entity, which parse_config accepts.
    (wb,) = build(entry, "UTC").document["devices"]["wallboxes"]
    assert wb["type"] == "entity" and wb["name"] == "Ford"


async def test_entity_car_select_then_action_on_reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    _entities(hass)
    result = await _start(hass, entry, "entity_car")
    user = {"name": "Ford", "power_entity": "sensor.box_power", "write_mode": "select"}
    result = await _next(hass, result, user)
    assert result["step_id"] == "write_select"
    select = {"select_entity": "select.box_mode", "select_charge": "charge",
              "select_discharge": "discharge", "select_idle": "stop"}  # fmt: skip
    result = await _next(hass, result, select)
    assert result["errors"] == {"select_discharge": "option_missing"}
    result = await _next(hass, result, {**select, "select_discharge": "v2h"})
    result = await _car_steps(hass, result)
    assert _sub(entry, "entity_car").data["entities"]["select_idle"] == "stop"

    result = await _reconfigure(hass, entry, "entity_car")
    assert _default(result, "power_entity") == "sensor.box_power"
    result = await _next(hass, result, {**user, "write_mode": "action"})
    assert result["step_id"] == "write_action"
    action = {"action": "script.set_box", "action_data": {"device_id": "abc"}}
    result = await _next(hass, result, action)
    assert result["errors"] == {"action": "action_missing"}

    async def handler(call: ServiceCall) -> None:
        return None

    hass.services.async_register("script", "set_box", handler)
    result = await _next(hass, result, action)
    result = await _car_steps(hass, result)
    assert result["reason"] == "reconfigure_successful"
    entities = _sub(entry, "entity_car").data["entities"]
    assert entities["action"] == "script.set_box" and "select_entity" not in entities
    # Another car may not take its name; the number form starts empty for a new car.
    result = await _start(hass, entry, "wallbox")
    result = await _next(hass, result, {"name": "FORD", "connection": "quasar"})
    assert result["errors"] == {"name": "name_taken"}


# -- PV, battery ---------------------------------------------------------------------------------


async def test_pv_inverter_is_discovered_before_saving(
    hass: HomeAssistant, entry: MockConfigEntry, sims: dict[str, Any]
) -> None:
    result = await _start(hass, entry, "pv")
    result = await _next(
        hass, result, {"host": "127.0.0.1", "port": _free_port(), "unit_id": 1, "curtailable": True}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    pv = {"host": "127.0.0.1", "port": sims["inverters"]["pv"]["port"], "unit_id": 1,
          "rated_kw": 6, "curtailable": False}  # fmt: skip
    result = await _next(hass, result, pv)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert _sub(entry, "pv").data["pv"]["rated_w"] == 6000
    result = await _start(hass, entry, "pv")
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    result = await _reconfigure(hass, entry, "pv")
    assert _default(result, "rated_kw") == 6 and _default(result, "curtailable") is False
    result = await _next(hass, result, {**pv, "curtailable": True})
    assert result["reason"] == "reconfigure_successful"
    assert build(entry, "UTC").document["devices"]["pv"]["curtailable"] is True


async def test_a_broken_site_document_names_the_field(
    hass: HomeAssistant, sims: dict[str, Any], battery_port: int
) -> None:
    # A hand-written site_config with an error: every device form says which field is wrong.
    bad = MockConfigEntry(domain=DOMAIN, data={CONF_SITE_NAME: "x"}, minor_version=2,
                          options={CONF_SITE_CONFIG: {"control": {"deadband_w": "x"}}})  # fmt: skip
    bad.add_to_hass(hass)
    result = await _start(hass, bad, "pv")
    pv = {"host": "127.0.0.1", "port": sims["inverters"]["pv"]["port"], "unit_id": 1,
          "curtailable": True}  # fmt: skip
    result = await _next(hass, result, pv)
    assert result["errors"] == {"base": "invalid_config"}
    assert "control.deadband_w" in result["description_placeholders"]["reason"]
    result = await _start(hass, bad, "battery")
    battery = {"name": "battery", "capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 5,
               "reserve_soc": 20, "chemistry": "lfp", "port": 502, "unit_id": 1}  # fmt: skip
    result = await _next(hass, result, battery)
    assert result["errors"] == {"base": "invalid_config"}


async def test_battery_planned_only_or_controlled_over_sunspec(
    hass: HomeAssistant, entry: MockConfigEntry, battery_port: int
) -> None:
    battery = {"name": "Powerwall", "capacity_kwh": 13.5, "max_charge_kw": 5,
               "max_discharge_kw": 5, "reserve_soc": 20, "chemistry": "nmc", "port": 502,
               "unit_id": 1}  # fmt: skip
    result = await _start(hass, entry, "battery")
    result = await _next(hass, result, battery)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = _sub(entry, "battery").data["battery"]
    assert data["reserve_soc"] == 0.2 and "driver" not in data
    result = await _start(hass, entry, "battery")
    assert result["reason"] == "already_configured"

    result = await _reconfigure(hass, entry, "battery")
    assert _default(result, "reserve_soc") == 20 and _default(result, "name") == "Powerwall"
    result = await _next(hass, result, {**battery, "host": "127.0.0.1", "port": _free_port()})
    assert result["errors"] == {"base": "cannot_connect"}
    result = await _next(hass, result, {**battery, "host": "127.0.0.1", "port": battery_port})
    assert result["reason"] == "reconfigure_successful"
    driver = _sub(entry, "battery").data["battery"]["driver"]
    assert driver == {"type": "sunspec", "host": "127.0.0.1", "port": battery_port, "unit_id": 1}
    result = await _reconfigure(hass, entry, "battery")
    assert _default(result, "port") == battery_port  # the driver's fields read back


# -- P1, gateway ---------------------------------------------------------------------------------


@needs_mosquitto
async def test_p1_on_mqtt_needs_a_telegram(
    hass: HomeAssistant, entry: MockConfigEntry, broker: Broker, short_wait: None
) -> None:
    result = await _start(hass, entry, "p1")
    assert result["step_id"] == "user" and _default(result, "source") == "mqtt"
    result = await _next(hass, result, {"source": "mqtt"})
    assert result["step_id"] == "mqtt"
    mqtt = {"host": "127.0.0.1", "port": broker.port, "format": "dsmr_reader"}
    result = await _next(hass, result, mqtt)
    assert result["errors"] == {"base": "cannot_connect"}
    assert "dsmr/reading/#" in result["description_placeholders"]["reason"]
    broker.topics["dsmr/reading/electricity_currently_delivered"] = "1.2"
    result = await _next(hass, result, mqtt)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    meter = _sub(entry, "p1").data["meter"]
    assert meter == {"type": "mqtt", "host": "127.0.0.1", "port": broker.port,
                     "format": "dsmr_reader", "topic": "dsmr/reading/"}  # fmt: skip
    result = await _start(hass, entry, "p1")
    assert result["reason"] == "already_configured"

    result = await _reconfigure(hass, entry, "p1")
    result = await _next(hass, result, {"source": "mqtt"})
    assert _default(result, "format") == "dsmr_reader"
    broker.topics["p1/raw"] = "/telegram"
    telegram = {**mqtt, "format": "telegram", "topic": "p1/raw", "username": "u",
                "password": "p"}  # fmt: skip
    result = await _next(hass, result, telegram)
    assert result["reason"] == "reconfigure_successful"
    assert _sub(entry, "p1").data["meter"]["topic"] == "p1/raw"


async def test_p1_from_home_assistant_sensors(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    hass.states.async_set("sensor.p1_power", "0.35", {"unit_of_measurement": "kW"})
    hass.states.async_set("sensor.p1_import", "350", {"unit_of_measurement": "W"})
    result = await _start(hass, entry, "p1")
    result = await _next(hass, result, {"source": "entities"})
    assert result["step_id"] == "entities"
    result = await _next(hass, result, {"current_l1_entity": "sensor.l1"})
    assert result["errors"] == {"current_l1_entity": "entity_not_found", "base": "power_required"}
    # Import without export: the document says what is missing.
    result = await _next(hass, result, {"import_power_entity": "sensor.p1_import"})
    assert result["errors"] == {"base": "invalid_config"}
    assert "export_power_entity" in result["description_placeholders"]["reason"]
    result = await _next(hass, result, {"power_entity": "sensor.p1_power"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    site = build(entry, "UTC")
    entities = {"power_entity": "sensor.p1_power", "power_unit": "kW"}
    assert site.entity_meter == entities
    assert site.document["devices"]["meter"] == {"type": "entity", **entities}
    assert site.has_meter and not site.runnable  # nothing to control yet
    result = await _reconfigure(hass, entry, "p1")
    assert _default(result, "source") == "entities"
    result = await _next(hass, result, {"source": "entities"})
    assert _default(result, "power_entity") == "sensor.p1_power"


@needs_mosquitto
async def test_backup_gateway_status_topic(
    hass: HomeAssistant, entry: MockConfigEntry, broker: Broker, short_wait: None
) -> None:
    result = await _start(hass, entry, "gateway")
    gw = {"host": "127.0.0.1", "port": broker.port, "topic": "gw/status", "username": "u",
          "password": "p"}  # fmt: skip
    # A wildcard would take any device's message for the gateway's: the document refuses it.
    broker.topics["gw/other"] = '{"grid": true}'
    result = await _next(hass, result, {**gw, "topic": "gw/#"})
    assert result["errors"] == {"base": "invalid_config"}
    assert "devices.gateway.topic" in result["description_placeholders"]["reason"]
    result = await _next(hass, result, gw)
    assert result["errors"] == {"base": "cannot_connect"}
    broker.topics["gw/status"] = '{"grid": true}'
    result = await _next(hass, result, gw)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The gateway is part of the site document the runtime is built from.
    assert build(entry, "UTC").document["devices"]["gateway"] == {"type": "mqtt", **gw}
    result = await _start(hass, entry, "gateway")
    assert result["reason"] == "already_configured"
    result = await _reconfigure(hass, entry, "gateway")
    assert _default(result, "topic") == "gw/status"
    result = await _next(hass, result, gw)
    assert result["reason"] == "reconfigure_successful"


# -- the runtime ---------------------------------------------------------------------------------


async def _until(pred: Callable[[], bool], within: float) -> None:
    for _ in range(int(within / 0.05)):
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@needs_mosquitto
async def test_adding_a_wallbox_starts_the_runtime_with_it(
    hass: HomeAssistant, socket_enabled: Any
) -> None:
    runner = SimRunner(
        {
            "mqtt": {"spawn": True},
            "wallboxes": [{"name": "car", "type": "quasar"}],
            "meters": [P1],
        }
    )
    out = await runner.start()
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            await runner.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    task = asyncio.create_task(tick())
    try:
        entry = MockConfigEntry(domain=DOMAIN, title="Home", minor_version=2,
                                data={CONF_SITE_NAME: "Home", "phases": 1, "fuse_a": 25},
                                options={CONF_FAST_LOOP_S: 0.5}, unique_id="home")  # fmt: skip
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.control is None  # no device yet

        result = await _start(hass, entry, "wallbox")
        result = await _next(hass, result, {"name": "car", "connection": "quasar"})
        result = await _next(
            hass, result, {"host": "127.0.0.1", "port": out["wallboxes"]["car"]["port"]}
        )
        result = await _car_steps(hass, result)
        await hass.async_block_till_done()
        # A car but no P1 source: loaded, checked, nothing runs yet.
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.control is None

        result = await _start(hass, entry, "p1")
        result = await _next(hass, result, {"source": "mqtt"})
        port = out["mqtt"]["port"]
        result = await _next(
            hass, result, {"host": "127.0.0.1", "port": port, "format": "telegram"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()  # the subentry reloads the site
        control = entry.runtime_data.control
        assert control is not None and control.cars == ("car",)
        await _until(lambda: control.runtime is not None and control.runtime.stats.ticks > 2, 10)
        assert control.runtime is not None
        last = control.runtime.devices["car"].last
        assert last is not None and last.online
        # Removing the wallbox reloads again, without a runtime.
        hass.config_entries.async_remove_subentry(entry, _sub(entry, "wallbox").subentry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.control is None
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        stop.set()
        await task
        await runner.stop()
