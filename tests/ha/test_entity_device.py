"""The entity-backed wallbox against real Home Assistant entities and real action calls.

The "hardware" is made of Home Assistant's own helpers: input_number/input_boolean/input_select
for what a device integration would report, template sensors (with an availability switch) for
its power and SoC, a template ``number`` and an input_select as the setting, and a script as
the action. The driver under test is built by the same factory the integration hands to
``SiteConfig.runtime``, from a site document parsed by ``hems_core.config``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from custom_components.hems.const import CONF_FAST_LOOP_S, CONF_SITE_CONFIG, CONF_SITE_NAME, DOMAIN
from custom_components.hems.entity_device import (
    EntityMeter,
    EntityWallbox,
    meter_factories,
    wallbox_factories,
)
from hems_core.config import SiteConfigError, parse_config
from hems_core.control.planning import Forecast
from hems_core.devices import (
    DeviceConnectionError,
    PayloadError,
    StaleDataError,
    ValueOutOfRangeError,
    Wallbox,
    WallboxStatus,
    WriteRefusedError,
)
from hems_core.sim.broker import find_mosquitto
from hems_core.sim.runner import SimRunner

ONLINE = "{{ is_state('input_boolean.online', 'on') }}"


@pytest.fixture
async def device(hass: HomeAssistant) -> None:
    """A bidirectional box as its own integration would show it, built from HA helpers."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {
        "online": {"initial": True}, "plugged": {"initial": True}}})  # fmt: skip
    assert await async_setup_component(hass, "input_number", {"input_number": {
        # what the box measures (kW) and the SoC it reports
        "measured": {"min": -20, "max": 20, "step": 0.001, "initial": 0, "mode": "box"},
        "soc": {"min": 0, "max": 200, "step": 0.5, "initial": 55, "mode": "box"},
        # settings as a charger integration exposes them
        "setpoint": {"min": -7400, "max": 7400, "step": 1, "initial": 0, "mode": "box",
                     "unit_of_measurement": "W"},
        "limited": {"min": -3000, "max": 11000, "step": 100, "initial": 0, "mode": "box",
                    "unit_of_measurement": "W"},
        "charge_current": {"min": 6, "max": 16, "step": 1, "initial": 6, "mode": "box",
                           "unit_of_measurement": "A"},
        "current": {"min": -32, "max": 32, "step": 1, "initial": 0, "mode": "box",
                    "unit_of_measurement": "A"},
        "kw_store": {"min": -20, "max": 20, "step": 0.1, "initial": 0, "mode": "box"},
        # a P1 meter's sensors as HomeWizard (net W) or DSMR (import/export kW, currents) show them
        "grid": {"min": -20000, "max": 20000, "step": 1, "initial": 0, "mode": "box",
                 "unit_of_measurement": "W"},
        "grid_import": {"min": 0, "max": 20, "step": 0.001, "initial": 0, "mode": "box",
                        "unit_of_measurement": "kW"},
        "grid_export": {"min": 0, "max": 20, "step": 0.001, "initial": 0, "mode": "box",
                        "unit_of_measurement": "kW"},
        "current_l1": {"min": -80, "max": 80, "step": 0.1, "initial": 0, "mode": "box",
                       "unit_of_measurement": "A"},
    }})  # fmt: skip
    assert await async_setup_component(hass, "input_select", {"input_select": {
        "level": {"options": ["0", "1400 W", "3.7 kW", "7400", "-3700", "Boost"],
                  "initial": "0"},
        "no_zero": {"options": ["1400", "3700"], "initial": "1400"},
        "mode": {"options": ["Idle", "Charge", "Discharge"], "initial": "Idle"},
        "status": {"options": ["Charging", "Ready", "Disconnected"], "initial": "Ready"},
    }})  # fmt: skip
    assert await async_setup_component(hass, "template", {"template": [{
        "sensor": [
            {"name": "box power", "state": "{{ states('input_number.measured') }}",
             "unit_of_measurement": "kW", "device_class": "power", "availability": ONLINE},
            {"name": "box power raw", "state": "{{ states('input_number.measured') }}"},
            {"name": "box soc", "state": "{{ states('input_number.soc') }}",
             "unit_of_measurement": "%", "availability": ONLINE},
            {"name": "box text", "state": "{{ 'ready' if is_state('input_boolean.online', 'on') "
             "else 'unknown' }}"},
        ],
        "number": [
            {"name": "box kw", "state": "{{ states('input_number.kw_store') }}",
             "min": -7.4, "max": 7.4, "step": 0.1, "unit_of_measurement": "kW",
             "availability": ONLINE,
             "set_value": {"action": "input_number.set_value",
                           "target": {"entity_id": "input_number.kw_store"},
                           "data": {"value": "{{ value }}"}}},
        ],
    }]})  # fmt: skip
    assert await async_setup_component(hass, "script", {"script": {
        "box_power": {"fields": {"power_w": {}, "box": {}}, "sequence": [
            {"action": "input_number.set_value", "target": {"entity_id": "input_number.setpoint"},
             "data": {"value": "{{ power_w }}"}}]},
    }})  # fmt: skip
    await hass.async_block_till_done()


class FakeClock:
    """An injectable monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _driver(
    hass: HomeAssistant,
    *,
    clock: Callable[[], float] = time.monotonic,
    car: dict[str, Any] | None = None,
    **entity: Any,
) -> EntityWallbox:
    """The driver the integration's factory builds for a parsed ``type: entity`` wallbox."""
    cfg = parse_config(
        {
            "site": {"grid": {"phases": 3}},
            "cars": [{"name": "car", "capacity_kwh": 40, "max_charge_kw": 7.4,
                      "max_discharge_kw": 7.4, **(car or {})}],
            "devices": {"wallboxes": [{"name": "car", "type": "entity", **entity}]},
        }
    )  # fmt: skip
    drv = wallbox_factories(hass)["entity"]("car", cfg.wallboxes["car"], cfg.cars[0], clock)
    assert isinstance(drv, EntityWallbox) and isinstance(drv, Wallbox)
    return drv


async def _set(hass: HomeAssistant, entity_id: str, value: Any) -> None:
    domain = entity_id.split(".", 1)[0]
    if domain == "input_boolean":
        await hass.services.async_call(
            domain, "turn_on" if value else "turn_off", {"entity_id": entity_id}, blocking=True
        )
    elif domain == "input_select":
        await hass.services.async_call(
            domain, "select_option", {"entity_id": entity_id, "option": value}, blocking=True
        )
    else:
        await hass.services.async_call(
            domain, "set_value", {"entity_id": entity_id, "value": value}, blocking=True
        )
    await hass.async_block_till_done()


def _value(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


NUMBER: dict[str, Any] = {"power_entity": "sensor.box_power", "write_mode": "number",
          "setpoint_entity": "input_number.setpoint"}  # fmt: skip


async def test_reads_power_soc_and_plug_with_units_and_sign(
    hass: HomeAssistant, device: None
) -> None:
    drv = _driver(hass, **NUMBER, soc_entity="sensor.box_soc",
                  plugged_entity="input_boolean.plugged")  # fmt: skip
    await _set(hass, "input_number.measured", 3.2)  # kW by the sensor's unit
    st = await drv.read_state()
    assert st.power_w == pytest.approx(3200.0)
    assert st.status is WallboxStatus.CHARGING and st.plugged and st.soc_pct == 55.0
    await _set(hass, "input_number.measured", -1.5)
    st = await drv.read_state()
    assert st.power_w == pytest.approx(-1500.0) and st.status is WallboxStatus.DISCHARGING
    await _set(hass, "input_boolean.plugged", False)
    await _set(hass, "input_number.measured", 0)
    st = await drv.read_state()
    assert not st.plugged and st.status is WallboxStatus.DISCONNECTED

    # A box that reports discharge as positive; a sensor without a unit read as configured.
    flipped = _driver(hass, **{**NUMBER, "power_entity": "sensor.box_power_raw"},
                      discharge="positive", power_unit="kW")  # fmt: skip
    await _set(hass, "input_number.measured", 2.0)
    assert (await flipped.read_state()).power_w == pytest.approx(-2000.0)
    unitless_w = _driver(hass, **{**NUMBER, "power_entity": "sensor.box_power_raw"})
    assert (await unitless_w.read_state()).power_w == pytest.approx(2.0)
    # Without a plugged entity the car counts as plugged.
    assert (await flipped.read_state()).plugged

    # A SoC outside 0..100 % is no SoC (never a value the planner would trust).
    await _set(hass, "input_number.soc", 150)
    assert (await _driver(hass, **NUMBER, soc_entity="sensor.box_soc").read_state()).soc_pct is None

    # A status text sensor: the words that mean plugged.
    words = _driver(hass, **NUMBER, plugged_entity="input_select.status",
                    plugged_states=["Charging", "Ready"])  # fmt: skip
    assert (await words.read_state()).plugged
    await _set(hass, "input_select.status", "Disconnected")
    assert not (await words.read_state()).plugged
    # Without plugged_states, a word that is neither on nor off is a bad reading, not a guess.
    await _set(hass, "input_select.status", "Ready")
    with pytest.raises(PayloadError):
        await _driver(hass, **NUMBER, plugged_entity="input_select.status").read_state()


async def test_writes_through_a_number_clamped_towards_zero(
    hass: HomeAssistant, device: None
) -> None:
    drv = _driver(hass, **NUMBER)
    await drv.set_power(3000)
    assert float(_value(hass, "input_number.setpoint")) == 3000
    await drv.set_power(-2500)
    assert float(_value(hass, "input_number.setpoint")) == -2500
    await drv.set_power(20000)  # the car's 7.4 kW
    assert float(_value(hass, "input_number.setpoint")) == 7400
    await drv.set_power(1000)  # below the car's 6 A minimum (1380 W): off, not 1 kW
    assert float(_value(hass, "input_number.setpoint")) == 0

    # A real `number` entity in kW: the value in its unit, on its 0.1 step, rounded towards 0.
    kw = _driver(hass, **{**NUMBER, "setpoint_entity": "number.box_kw"})
    await kw.set_power(3680)
    await hass.async_block_till_done()
    assert float(_value(hass, "number.box_kw")) == pytest.approx(3.6)
    await kw.set_power(-2050)
    await hass.async_block_till_done()
    assert float(_value(hass, "number.box_kw")) == pytest.approx(-2.0)

    # The entity's own range: −5 kW asked of a box that discharges 3 kW at most gives −3 kW;
    # device limits below the car's clamp too; its step of 100 W rounds towards 0.
    lim = _driver(hass, **{**NUMBER, "setpoint_entity": "input_number.limited"},
                  max_charge_kw=5)  # fmt: skip
    await lim.set_power(-5000)
    assert float(_value(hass, "input_number.limited")) == -3000
    await lim.set_power(7000)
    assert float(_value(hass, "input_number.limited")) == 5000
    await lim.set_power(2450)
    assert float(_value(hass, "input_number.limited")) == 2400

    # A box that takes discharge as a positive number.
    flip = _driver(hass, **NUMBER, discharge="positive")
    await flip.set_power(-2000)
    assert float(_value(hass, "input_number.setpoint")) == 2000

    # Current settings (A): W = A · 230 V · phases, rounded down to whole amps.
    amps = _driver(hass, **{**NUMBER, "setpoint_entity": "input_number.current"},
                   car={"phases": 3, "max_charge_kw": 11, "max_discharge_kw": 11},
                   setpoint_unit="A")  # fmt: skip
    await amps.set_power(6900)
    assert float(_value(hass, "input_number.current")) == 10
    await amps.set_power(-5000)  # 7.2 A
    assert float(_value(hass, "input_number.current")) == -7

    # A setting that cannot stop (6..16 A): asked for 0, it refuses rather than charge at 6 A.
    cannot_stop = _driver(hass, **{**NUMBER, "setpoint_entity": "input_number.charge_current"})
    await _set(hass, "input_number.charge_current", 10)
    with pytest.raises(ValueOutOfRangeError):
        await cannot_stop.set_power(0)
    with pytest.raises(ValueOutOfRangeError):
        await cannot_stop.set_power(-2000)
    assert float(_value(hass, "input_number.charge_current")) == 10


async def test_writes_through_a_select(hass: HomeAssistant, device: None) -> None:
    level: dict[str, Any] = {"power_entity": "sensor.box_power", "write_mode": "select",
             "select_entity": "input_select.level"}  # fmt: skip
    drv = _driver(hass, **level)
    await drv.set_power(5000)  # the largest option not above what was asked
    assert _value(hass, "input_select.level") == "3.7 kW"
    await drv.set_power(9000)
    assert _value(hass, "input_select.level") == "7400"
    await drv.set_power(-5000)
    assert _value(hass, "input_select.level") == "-3700"
    await drv.set_power(-2000)  # no discharge option that small: stop
    assert _value(hass, "input_select.level") == "0"
    await drv.set_power(1500)
    assert _value(hass, "input_select.level") == "1400 W"
    await drv.set_power(0)
    assert _value(hass, "input_select.level") == "0"

    no_zero = _driver(hass, **{**level, "select_entity": "input_select.no_zero"})
    with pytest.raises(ValueOutOfRangeError):
        await no_zero.set_power(0)
    assert _value(hass, "input_select.no_zero") == "1400"

    # A mode select: the direction (or stop) is ours, the power the box's.
    mode = _driver(hass, power_entity="sensor.box_power", write_mode="select",
                   select_entity="input_select.mode", select_charge="Charge",
                   select_discharge="Discharge", select_idle="Idle")  # fmt: skip
    await mode.set_power(3000)
    assert _value(hass, "input_select.mode") == "Charge"
    await mode.set_power(-3000)
    assert _value(hass, "input_select.mode") == "Discharge"
    await mode.set_power(0)
    assert _value(hass, "input_select.mode") == "Idle"
    charge_only = _driver(hass, power_entity="sensor.box_power", write_mode="select",
                          select_entity="input_select.mode", select_charge="Charge",
                          select_idle="Idle")  # fmt: skip
    await charge_only.set_power(-3000)  # cannot discharge: idle
    assert _value(hass, "input_select.mode") == "Idle"
    typo = _driver(hass, power_entity="sensor.box_power", write_mode="select",
                   select_entity="input_select.mode", select_idle="Stop")  # fmt: skip
    with pytest.raises(ValueOutOfRangeError, match="no option 'Stop'"):
        await typo.set_power(0)


async def test_writes_through_an_action(hass: HomeAssistant, device: None) -> None:
    calls: list[Event] = []
    hass.bus.async_listen(
        "call_service", lambda e: calls.append(e) if e.data["domain"] == "script" else None
    )
    clock = FakeClock()
    drv = _driver(hass, clock=clock, power_entity="sensor.box_power", write_mode="action",
                  action="script.box_power", action_data={"box": "garage"})  # fmt: skip
    await drv.set_power(-3300)
    await hass.async_block_till_done()
    assert float(_value(hass, "input_number.setpoint")) == -3300
    assert calls[-1].data["service_data"] == {"box": "garage", "power_w": -3300.0}
    # The same value again within a minute is not sent again (cloud APIs throttle) ...
    await drv.set_power(-3300)
    await hass.async_block_till_done()
    assert len(calls) == 1
    # ... but after a minute it is, and a new value at once.
    clock.t += 61
    await drv.set_power(-3300)
    await drv.set_power(9000)
    await hass.async_block_till_done()
    assert len(calls) == 3 and float(_value(hass, "input_number.setpoint")) == 7400
    # An action in kW on a 0.5 kW step: 3.3 kW asked, 3 kW sent.
    kw = _driver(hass, power_entity="sensor.box_power", write_mode="action",
                 action="script.box_power", setpoint_unit="kW", step=0.5)  # fmt: skip
    await kw.set_power(3300)
    assert calls[-1].data["service_data"] == {"power_w": 3.0}

    missing = _driver(hass, power_entity="sensor.box_power", write_mode="action",
                      action="script.no_such_script")  # fmt: skip
    with pytest.raises(WriteRefusedError):
        await missing.set_power(1500)


async def test_unavailable_inputs_make_the_box_silent_and_stop_it(
    hass: HomeAssistant, device: None, caplog: pytest.LogCaptureFixture
) -> None:
    drv = _driver(hass, **NUMBER, soc_entity="sensor.box_soc")
    await drv.set_power(-3000)
    await _set(hass, "input_number.measured", -3.0)
    assert (await drv.read_state()).power_w == pytest.approx(-3000.0)

    # The box's integration loses it: its sensors go unavailable. The read fails (the Runtime
    # counts the box as not answering and the core's fail-safe takes over) and the setpoint we
    # had asked for is set back to 0, so the box does not discharge unwatched.
    await _set(hass, "input_boolean.online", False)
    assert _value(hass, "sensor.box_power") == "unavailable"
    with pytest.raises(DeviceConnectionError):
        await drv.read_state()
    assert float(_value(hass, "input_number.setpoint")) == 0
    await _set(hass, "input_boolean.online", True)
    await drv.read_state()

    # unknown, missing and non-numeric states are no readings either.
    text = _driver(hass, **{**NUMBER, "power_entity": "sensor.box_text"})
    with pytest.raises(PayloadError):
        await text.read_state()
    await _set(hass, "input_boolean.online", False)
    assert _value(hass, "sensor.box_text") == "unknown"
    with pytest.raises(DeviceConnectionError):
        await text.read_state()
    with pytest.raises(DeviceConnectionError):
        await _driver(hass, **{**NUMBER, "power_entity": "sensor.gone"}).read_state()
    # A SoC that goes unavailable silences the box too (the minimum SoC is a hard floor).
    await _set(hass, "input_boolean.online", True)
    await _set(hass, "input_number.soc", 40)
    soc_only = _driver(hass, **{**NUMBER, "power_entity": "sensor.box_power_raw"},
                       soc_entity="sensor.box_soc")  # fmt: skip
    assert (await soc_only.read_state()).soc_pct == 40
    await _set(hass, "input_boolean.online", False)
    with pytest.raises(DeviceConnectionError):
        await soc_only.read_state()

    # A setting that is unavailable cannot be written: an error, not a silent success.
    kw = _driver(hass, **{**NUMBER, "setpoint_entity": "number.box_kw"})
    with pytest.raises(DeviceConnectionError):
        await kw.set_power(2000)
    # Sensors and setting gone together: the stop cannot be written either; that is logged and
    # the read still reports the box as silent.
    await _set(hass, "input_boolean.online", True)
    await kw.set_power(2000)
    await _set(hass, "input_boolean.online", False)
    with pytest.raises(DeviceConnectionError):
        await kw.read_state()
    assert "could not set 0 W" in caplog.text

    # A power sensor in a unit that is no power unit is refused, not guessed.
    await _set(hass, "input_boolean.online", True)
    with pytest.raises(PayloadError, match="not a power unit"):
        await _driver(hass, **{**NUMBER, "power_entity": "sensor.box_soc"}).read_state()


async def test_stale_readings_and_the_drivers_own_watchdog(
    hass: HomeAssistant, device: None
) -> None:
    later = [dt_util.utcnow()]
    stale = _driver(hass, **NUMBER, stale_after_s=30)
    stale._utcnow = lambda: later[0]
    await stale.read_state()
    later[0] += timedelta(seconds=31)
    with pytest.raises(StaleDataError):
        await stale.read_state()

    # The core renews every setpoint within its TTL; one not renewed is set back to 0.
    clock = FakeClock()
    drv = _driver(hass, clock=clock, **NUMBER)
    assert await drv.program_watchdog(6.0)
    await drv.set_power(-2000)
    clock.t += 5
    await drv.read_state()
    assert float(_value(hass, "input_number.setpoint")) == -2000
    await drv.set_power(-2000)  # renewed
    clock.t += 5
    await drv.read_state()
    assert float(_value(hass, "input_number.setpoint")) == -2000
    clock.t += 1.5
    await drv.read_state()
    assert float(_value(hass, "input_number.setpoint")) == 0

    # Release and stop hand back at 0 W.
    await drv.set_power(3000)
    await drv.release()
    assert float(_value(hass, "input_number.setpoint")) == 0
    await drv.set_power(3000)
    await drv.stop()
    assert float(_value(hass, "input_number.setpoint")) == 0
    await drv.start()
    await drv.close()


SELECT_WITHOUT_IDLE: dict[str, Any] = {"power_entity": "sensor.p", "write_mode": "select",
                                       "select_entity": "select.m",
                                       "select_charge": "Charge"}  # fmt: skip
ACTION_DATA_LIST: dict[str, Any] = {"power_entity": "sensor.p", "write_mode": "action",
                                    "action": "script.p", "action_data": ["x"]}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"write_mode": "number"}, "power_entity: is required"),
        ({**NUMBER, "setpoint_entity": None}, "setpoint_entity: is required"),
        ({**NUMBER, "setpoint_entity": "sensor.x"}, "must be an entity of number or input_number"),
        ({**NUMBER, "action": "script.x"}, "action: applies to write_mode action only"),
        ({**NUMBER, "power_entity": "Sensor X"}, "must look like domain.object_id"),
        ({**NUMBER, "plugged_states": ["on"]}, "plugged_states: needs plugged_entity"),
        ({**NUMBER, "discharge": "down"}, "must be one of negative, positive"),
        ({**NUMBER, "host": "1.2.3.4"}, "unknown key"),
        (SELECT_WITHOUT_IDLE, "select_idle: is required"),
        (ACTION_DATA_LIST, "action_data: must be a mapping"),
    ],
)
def test_the_site_document_names_a_bad_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SiteConfigError, match=message):
        parse_config(
            {
                "cars": [{"name": "car", "capacity_kwh": 40, "max_charge_kw": 7.4}],
                "devices": {"wallboxes": [{"name": "car", "type": "entity", **fields}]},
            }
        )


def test_outside_home_assistant_an_entity_box_is_a_clear_error() -> None:
    cfg = parse_config(
        {
            "cars": [{"name": "car", "capacity_kwh": 40, "max_charge_kw": 7.4}],
            "devices": {
                "meter": {"type": "mqtt", "host": "127.0.0.1"},
                "wallboxes": [{"name": "car", "type": "entity", **NUMBER}],
            },
        }
    )
    with pytest.raises(SiteConfigError, match="runs only inside Home Assistant"):
        cfg.build_drivers()


# -- the Runtime through an entity-backed car -------------------------------------------------

FAST_LOOP_S = 0.5


@pytest.fixture
async def p1(socket_enabled: Any) -> AsyncIterator[SimRunner]:
    """A real mosquitto with the P1 publisher (the house), published every 0.2 s."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto is not installed")
    runner = SimRunner(
        {
            "speed": 1.0,
            "mqtt": {"spawn": True},
            "meters": [
                {"name": "p1", "flavour": "emucs", "dsmr_reader_prefix": None, "json_topic": None}
            ],
        }
    )
    await runner.start()
    runner.publishers["p1"].meter.house.load = lambda t: 500.0
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            await runner.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    task = asyncio.create_task(tick())
    yield runner
    stop.set()
    await task
    await runner.stop()


async def _until(pred: Callable[[], bool], within: float) -> float:
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > within:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


async def test_the_runtime_follows_a_house_load_step_through_an_entity_backed_car(
    hass: HomeAssistant, device: None, p1: SimRunner
) -> None:
    # The box: its setpoint is input_number.setpoint (W); it reports what it does as
    # sensor.box_power (kW) a moment later, and that power is in the house's meter.
    async def follow() -> None:
        while True:
            target = float(_value(hass, "input_number.setpoint")) / 1000
            if float(_value(hass, "input_number.measured")) != target:
                await _set(hass, "input_number.measured", target)
            await asyncio.sleep(0.1)

    box = hass.async_create_background_task(follow(), "entity box")

    def box_w() -> float:
        state = _value(hass, "sensor.box_power")
        return 0.0 if state == "unavailable" else float(state) * 1000

    house = p1.publishers["p1"].meter.house
    house.evs.append(box_w)
    site = {
        "site": {"timezone": "Europe/Brussels", "grid": {"fuse_a": 25, "phases": 1}},
        "cars": [{"name": "car", "capacity_kwh": 40, "max_charge_kw": 7.4,
                  "max_discharge_kw": 7.4, "min_soc": 0.2}],
        "devices": {
            "meter": {"type": "mqtt", "host": "127.0.0.1", "port": p1.mqtt_port},
            "wallboxes": [{"name": "car", "type": "entity", **NUMBER,
                           "soc_entity": "sensor.box_soc",
                           "plugged_entity": "input_boolean.plugged"}],
        },
        "control": {"deadband_w": 50},
    }  # fmt: skip
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"},
        options={CONF_SITE_CONFIG: site, CONF_FAST_LOOP_S: FAST_LOOP_S}, unique_id="home",
    )  # fmt: skip
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    control = entry.runtime_data.control
    assert control is not None
    await _until(lambda: _value(hass, "sensor.home_status") == "fallback", 10)

    # Import expensive now: the plan lets the car carry the house (V2H).
    start = datetime.fromtimestamp(datetime.now(UTC).timestamp() // 900 * 900, UTC)
    n = 96
    control.async_set_forecast(
        Forecast(start, np.r_[np.full(8, 0.60), np.full(n - 8, 0.10)], np.full(n, 0.02),
                 np.full(n, 2.0), np.zeros(n))
    )  # fmt: skip
    await _until(lambda: _value(hass, "sensor.home_status") == "following_plan", 20)
    house.load = lambda t: 2000.0
    await _until(lambda: 1700 < -float(_value(hass, "input_number.setpoint")) < 2300, 15)

    # The house steps from 2 to 3.5 kW: the number entity follows, the grid stays near 0.
    house.load = lambda t: 3500.0
    took = await _until(lambda: 3200 < -float(_value(hass, "input_number.setpoint")) < 3800, 15)
    meter = p1.publishers["p1"].meter
    await _until(lambda: abs(meter.power_w) < 300, 5)
    print(f"entity-backed V2H followed the step in {took:.2f} s; grid {meter.power_w:.0f} W")
    await _until(lambda: float(_value(hass, "sensor.car_power") or 0) < -3000, 5)

    # The box's integration loses it: the car is silent, the discharge is stopped and a
    # repair names it; back online, the car discharges again.
    issues = ir.async_get(hass)
    await _set(hass, "input_boolean.online", False)
    await _until(lambda: float(_value(hass, "input_number.setpoint")) == 0, 10)
    box_issue = f"{entry.entry_id}_device_unreachable_car"
    await _until(lambda: issues.async_get_issue(DOMAIN, box_issue) is not None, 15)
    await _set(hass, "input_boolean.online", True)
    await _until(lambda: issues.async_get_issue(DOMAIN, box_issue) is None, 15)
    await _until(lambda: -float(_value(hass, "input_number.setpoint")) > 3000, 15)

    # Unload hands the box back at 0 W.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert float(_value(hass, "input_number.setpoint")) == 0
    box.cancel()


# -- the grid meter from entities ---------------------------------------------------------------


def _meter(hass: HomeAssistant, **fields: Any) -> EntityMeter:
    cfg = parse_config(
        {
            "cars": [{"name": "car", "capacity_kwh": 40, "max_charge_kw": 7.4}],
            "devices": {"meter": {"type": "entity", **fields}},
        }
    )
    assert cfg.meter is not None
    meter = meter_factories(hass)["entity"](cfg.meter, time.monotonic)
    assert isinstance(meter, EntityMeter)
    return meter


async def test_the_meter_from_entities(hass: HomeAssistant, device: None) -> None:
    net = _meter(hass, power_entity="input_number.grid")
    await net.connect()
    await _set(hass, "input_number.grid", 1500)
    first = await net.read()
    assert first.power_w == 1500.0 and first.timestamp is not None
    # Nothing written again: the same reading (the Runtime sees no new one) ...
    assert await net.read() is first
    # ... the same value written again by its integration is a new one (last_reported moves).
    await _set(hass, "input_number.grid", 1500)
    again = await net.read()
    assert again is not first and again.power_w == 1500.0
    assert again.timestamp is not None and again.timestamp > first.timestamp

    # DSMR-style: import and export in kW, a phase current (a magnitude, as P1 reports it).
    pair = _meter(hass, import_power_entity="input_number.grid_import",
                  export_power_entity="input_number.grid_export",
                  current_l1_entity="input_number.current_l1")  # fmt: skip
    await _set(hass, "input_number.grid_import", 0)
    await _set(hass, "input_number.grid_export", 2.5)
    await _set(hass, "input_number.current_l1", -10.9)
    r = await pair.read()
    assert r.power_w == pytest.approx(-2500.0) and r.power_export_w == pytest.approx(2500.0)
    assert r.current_a[0] == pytest.approx(10.9) and r.current_a[1:] == (None, None)

    # A power sensor that is unavailable or gone is no reading.
    with pytest.raises(DeviceConnectionError):
        await _meter(hass, power_entity="sensor.gone").read()
    await _set(hass, "input_boolean.online", False)
    with pytest.raises(DeviceConnectionError):
        await _meter(hass, power_entity="sensor.box_power").read()
    # An unavailable phase current is left out; the reading stands on the total.
    partial = _meter(hass, power_entity="input_number.grid", current_l2_entity="sensor.box_power")
    r = await partial.read()
    assert r.power_w == 1500.0 and r.current_a == (None, None, None)
    await net.close()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "power_entity: is required"),
        ({"import_power_entity": "sensor.i"}, "export_power_entity: is required"),
        ({"power_entity": "sensor.p", "export_power_entity": "sensor.e"}, "not both"),
        ({"power_entity": "sensor.p", "topic": "p1"}, "unknown key"),
        ({"power_entity": "sensor.p", "power_unit": "A"}, "must be one of W, kW"),
    ],
)
def test_a_bad_entity_meter_names_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SiteConfigError, match=message):
        parse_config({"devices": {"meter": {"type": "entity", **fields}}})


def test_outside_home_assistant_an_entity_meter_is_a_clear_error() -> None:
    cfg = parse_config({"devices": {"meter": {"type": "entity", "power_entity": "sensor.p"}}})
    with pytest.raises(SiteConfigError, match="devices.meter: type entity runs only inside"):
        cfg.build_drivers()


async def test_a_site_made_only_of_entities_carries_the_house(
    hass: HomeAssistant, device: None
) -> None:
    """Meter and car both from entities, the Runtime ticked on its own clock (1 s per tick)."""
    cfg = parse_config(
        {
            "site": {"timezone": "Europe/Brussels", "grid": {"fuse_a": 25, "phases": 1}},
            "cars": [{"name": "car", "capacity_kwh": 40, "max_charge_kw": 7.4,
                      "max_discharge_kw": 7.4, "min_soc": 0.2}],
            "devices": {
                "meter": {"type": "entity", "power_entity": "input_number.grid"},
                "wallboxes": [{"name": "car", "type": "entity", **NUMBER,
                               "soc_entity": "sensor.box_soc"}],
            },
            "control": {"deadband_w": 50},
        }
    )  # fmt: skip
    clock = FakeClock()
    clock.t = float(int(time.time()) // 900 * 900 + 60)
    runtime = cfg.runtime(
        clock=clock, wallbox_factories=wallbox_factories(hass),
        meter_factories=meter_factories(hass),
    )  # fmt: skip
    house = [500.0]

    async def tick() -> None:
        # the box does what it was told; the meter sees the house plus the box
        setpoint = float(_value(hass, "input_number.setpoint"))
        await _set(hass, "input_number.measured", setpoint / 1000)
        await _set(hass, "input_number.grid", round(house[0] + setpoint))
        clock.t += 1.0
        await runtime.tick()
        await runtime.wait_planning()

    try:
        await runtime.start()
        n = 96
        start = datetime.fromtimestamp(clock.t // 900 * 900, UTC)
        runtime.core.set_forecast(
            runtime.now(),
            Forecast(start, np.r_[np.full(8, 0.60), np.full(n - 8, 0.10)], np.full(n, 0.02),
                     np.full(n, 2.0), np.zeros(n)),
        )  # fmt: skip
        house[0] = 2000.0
        for _ in range(20):
            await tick()
        assert runtime.core.status(runtime.now()).plan_source == "optimiser"
        assert 1700 < -float(_value(hass, "input_number.setpoint")) < 2300
        house[0] = 3500.0
        ticks = 0
        while not 3200 < -float(_value(hass, "input_number.setpoint")) < 3800:
            ticks += 1
            assert ticks <= 15, "discharge did not follow the house"
            await tick()
        await tick()
        grid = float(_value(hass, "input_number.grid"))
        print(f"entity meter + entity car: followed the step in {ticks} ticks; grid {grid:.0f} W")
        assert abs(grid) < 300
        assert runtime.stats.read_errors == 0
    finally:
        await runtime.close()
    assert float(_value(hass, "input_number.setpoint")) == 0
