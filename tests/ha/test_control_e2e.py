"""End to end on loopback: a real mosquitto with the P1 publisher, the Modbus TCP Quasar simulator,
and the integration running hems_core's control Runtime inside Home Assistant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.hems.const import (
    CONF_FAST_LOOP_S,
    CONF_SITE_CONFIG,
    CONF_SITE_NAME,
    DOMAIN,
    EVENT_HEMS,
)
from custom_components.hems.schema import vol
from hems_core.control.planning import Forecast
from hems_core.sim.broker import find_mosquitto
from hems_core.sim.runner import SimRunner

FAST_LOOP_S = 0.5
pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")


@pytest.fixture
async def sims(socket_enabled: Any) -> AsyncIterator[tuple[SimRunner, dict[str, Any]]]:
    """The simulators, advanced and published every 0.2 s of real time."""
    runner = SimRunner(
        {
            "speed": 1.0,
            "mqtt": {"spawn": True},
            "wallboxes": [
                {
                    "name": "car",
                    "type": "quasar",
                    "ev": {"capacity_kwh": 40, "soc_pct": 60, "ramp_w_per_s": 20000},
                }
            ],
            "meters": [
                {"name": "p1", "flavour": "emucs", "dsmr_reader_prefix": None, "json_topic": None}
            ],
        }
    )
    out = await runner.start()
    runner.publishers["p1"].meter.house.load = lambda t: 500.0
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            await runner.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    task = asyncio.create_task(tick())
    yield runner, out
    stop.set()
    await task
    await runner.stop()
    # A request held back by an injected delay still sleeps on its closed connection: end it.
    left = [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "") == "ModbusServer._serve"
    ]
    for t in left:
        t.cancel()
    await asyncio.gather(*left, return_exceptions=True)


def _site(out: dict[str, Any]) -> dict[str, Any]:
    return {
        "site": {"timezone": "Europe/Brussels", "grid": {"fuse_a": 25, "phases": 1}},
        "cars": [
            {
                "name": "car",
                "capacity_kwh": 40,
                "max_charge_kw": 7.4,
                "max_discharge_kw": 7.4,
                "min_soc": 0.2,
            }
        ],
        "devices": {
            "meter": {"type": "mqtt", "host": "127.0.0.1", "port": out["mqtt"]["port"]},
            "wallboxes": [
                {
                    "name": "car",
                    "type": "quasar",
                    "host": "127.0.0.1",
                    "port": out["wallboxes"]["car"]["port"],
                }
            ],
        },
        "control": {"deadband_w": 50},
    }


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return None if state is None else state.state


async def _until(pred: Callable[[], bool], within: float) -> float:
    """Real seconds until ``pred`` holds (fails after ``within`` s)."""
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > within:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


async def test_boost_button_and_v2h_follow_the_house(
    hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    runner, out = sims
    wallbox = runner.modbus_sims["car"]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_SITE_CONFIG: _site(out), CONF_FAST_LOOP_S: FAST_LOOP_S},
        unique_id="home",
    )
    entry.add_to_hass(hass)
    events: list[Event] = []
    hass.bus.async_listen(EVENT_HEMS, events.append)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    control = entry.runtime_data.control
    assert control is not None

    # No prices yet: the core's rule-based fallback, meter fresh, car idle.
    await _until(lambda: _state(hass, "sensor.home_status") == "fallback", 10)
    assert _state(hass, "binary_sensor.home_fail_safe_active") == "off"
    assert _state(hass, "binary_sensor.car_boost_active") == "off"
    assert abs(wallbox.requested_power()) < 1

    # Boost from the button: the simulated box is commanded within one fast-loop period.
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.car_boost"}, blocking=True
    )
    took = await _until(lambda: wallbox.requested_power() > 1000, 5)
    assert took <= FAST_LOOP_S + 0.3, took
    print(f"boost reached the wallbox in {took:.2f} s (fast loop {FAST_LOOP_S} s)")
    await _until(lambda: _state(hass, "sensor.home_status") == "boost", 5)
    assert _state(hass, "binary_sensor.car_boost_active") == "on"
    assert any(e.data["type"] == "boost_started" for e in events)

    await hass.services.async_call(
        "button", "press", {"entity_id": "button.car_cancel_boost"}, blocking=True
    )
    await _until(lambda: _state(hass, "binary_sensor.car_boost_active") == "off", 5)
    assert any(e.data["type"] == "boost_ended" for e in events)

    # Import expensive now, cheap later: the plan lets the car cover the house now (V2H only,
    # nothing exported from storage) and recharge later.
    now = datetime.now(UTC)
    start = datetime.fromtimestamp(now.timestamp() // 900 * 900, UTC)
    n = 96
    control.async_set_forecast(
        Forecast(
            start,
            np.r_[np.full(8, 0.60), np.full(n - 8, 0.10)],
            np.full(n, 0.02),
            np.full(n, 2.0),
            np.zeros(n),
        )
    )
    await _until(lambda: _state(hass, "sensor.home_status") == "following_plan", 20)
    assert any(e.data["type"] == "plan_changed" for e in events)
    # The car's minimum current is 6 A (1.4 kW): the house draws 2 kW, the car gives that.
    runner.publishers["p1"].meter.house.load = lambda t: 2000.0
    await _until(lambda: 1700 < -wallbox.requested_power() < 2300, 10)

    # The house load steps from 2 to 3.5 kW: discharge follows it.
    runner.publishers["p1"].meter.house.load = lambda t: 3500.0
    took = await _until(lambda: 3200 < -wallbox.requested_power() < 3800, 10)
    meter = runner.publishers["p1"].meter
    await _until(lambda: abs(meter.power_w) < 300, 5)  # the house is carried by the car
    grid = meter.power_w
    print(f"V2H followed the step in {took:.2f} s; grid {grid:.0f} W")
    await _until(lambda: float(_state(hass, "sensor.car_power") or 0) < -3000, 5)
    assert 55 < float(_state(hass, "sensor.car_state_of_charge") or 0) < 65
    await _until(lambda: float(_state(hass, "sensor.car_energy_discharged") or 0) > 0, 10)
    charged = float(_state(hass, "sensor.car_energy_charged") or 0)
    assert charged > 0  # the boost

    discharged = float(_state(hass, "sensor.car_energy_discharged") or 0)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    # Unloading hands the box back: power 0, its own control.
    assert wallbox.requested_power() == 0
    assert not wallbox.remote

    # The counters come back from .storage after a restart and never go backwards.
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await _until(
        lambda: _state(hass, "sensor.car_energy_discharged") not in (None, "unavailable"), 5
    )
    assert float(_state(hass, "sensor.car_energy_discharged") or 0) >= discharged > 0
    assert float(_state(hass, "sensor.car_energy_charged") or 0) >= charged
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _loaded(hass: HomeAssistant, out: dict[str, Any]) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_SITE_CONFIG: _site(out), CONF_FAST_LOOP_S: FAST_LOOP_S},
        unique_id="home",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _call(hass: HomeAssistant, action: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        action,
        data,
        blocking=True,
        return_response=action == "get_plan",
    )


async def test_actions_reach_the_core_and_refusals_are_translated(
    hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    runner, out = sims
    wallbox = runner.modbus_sims["car"]
    entry = await _loaded(hass, out)
    site = {"config_entry_id": entry.entry_id}

    await _call(hass, "start_boost", **site, car="car", duration={"minutes": 30}, target_soc=90)
    await _until(lambda: _state(hass, "binary_sensor.car_boost_active") == "on", 5)
    await _until(lambda: wallbox.requested_power() > 1000, 5)
    boost = entry.runtime_data.control.status().boosts["car"]  # type: ignore[union-attr]
    assert boost.target_soc == 0.9 and boost.until is not None
    await _call(hass, "cancel_boost", **site, car="car")
    await _until(lambda: _state(hass, "binary_sensor.car_boost_active") == "off", 5)

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_boost", **site, car="van")
    assert err.value.translation_key == "control_refused"
    assert "van" in str(err.value.translation_placeholders)
    with pytest.raises(ServiceValidationError):
        await _call(hass, "cancel_boost", **site, car="van")
    with pytest.raises(vol.Invalid):
        await _call(hass, "start_boost", **site, car="car", target_soc=150)

    # A one-off departure, then a boost until it.
    leave = dt_util.now() + timedelta(hours=3)
    await _call(
        hass, "set_departure", **site, car="car", departure=leave.isoformat(), target_soc=70
    )
    await _call(hass, "start_boost", **site, car="car", until_departure=True)
    boost = entry.runtime_data.control.status().boosts["car"]  # type: ignore[union-attr]
    assert boost.until is not None and abs((boost.until - leave).total_seconds()) < 1
    await _call(hass, "cancel_boost", **site, car="car")
    with pytest.raises(ServiceValidationError):
        await _call(hass, "set_departure", **site, car="van")
    await _call(hass, "set_departure", **site, car="car")  # no departure that day

    # Mode off hands the box back and the core refuses a boost until a mode is set again.
    await _call(hass, "set_mode", **site, mode="off")
    await _until(lambda: _state(hass, "sensor.home_status") == "off", 5)
    await _until(lambda: not wallbox.remote, 5)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_boost", **site, car="car")
    assert "mode is off" in str(err.value.translation_placeholders)
    with pytest.raises(vol.Invalid):
        await _call(hass, "set_mode", **site, mode="turbo")
    await _call(hass, "set_mode", **site, mode="auto")
    await _until(lambda: _state(hass, "select.home_mode") == "auto", 5)
    await hass.services.async_call(
        "select", "select_option", {"entity_id": "select.home_mode", "option": "charge_only"},
        blocking=True,
    )  # fmt: skip
    assert entry.runtime_data.control.status().mode.value == "charge_only"  # type: ignore[union-attr]
    await _call(hass, "set_mode", **site, mode="auto")

    # get_plan: nothing planned without prices, then the optimiser's plan with reasons and costs.
    reply = await _call(hass, "get_plan", **site)
    assert reply["plan"] is None and reply["source"] == "fallback"
    start = datetime.fromtimestamp(datetime.now(UTC).timestamp() // 900 * 900, UTC)
    n = 96
    entry.runtime_data.control.async_set_forecast(  # type: ignore[union-attr]
        Forecast(start, np.full(n, 0.3), np.full(n, 0.02), np.full(n, 1.0), np.zeros(n))
    )
    await _until(lambda: _state(hass, "sensor.home_status") == "following_plan", 20)
    reply = await _call(hass, "get_plan", **site)
    plan = reply["plan"]
    assert reply["source"] == "optimiser" and reply["seq"] >= 1
    assert len(plan["reasons"]) == len(plan["step_start"]) == n
    assert {"energy"} <= set(plan["costs"]) and plan["assets"][0]["name"] == "car"
    view = reply["outlook"]
    assert set(view) == {"next_action", "cost_today", "cost_tomorrow", "savings", "departures"}
    assert view["cost_today"]["cost"] == pytest.approx(
        float(_state(hass, "sensor.home_expected_cost_today") or "nan"), abs=0.01
    )


async def test_a_site_without_devices_controls_nothing(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("button.car_boost") is None
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "start_boost", config_entry_id=mock_config_entry.entry_id, car="car")
    assert err.value.translation_key == "no_control"


async def test_a_bad_site_document_is_a_setup_error_naming_the_field(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_SITE_CONFIG: {"cars": [{"name": "car", "capacity_kwh": "big"}]}},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "capacity_kwh" in str(entry.reason)


async def test_an_unreachable_meter_retries_later(hass: HomeAssistant, socket_enabled: Any) -> None:
    site = _site({"mqtt": {"port": 9}, "wallboxes": {"car": {"port": 9}}})
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"},
        options={CONF_SITE_CONFIG: site},
    )  # fmt: skip
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_diagnostics_are_redacted_and_repairs_follow_the_devices(
    hass: HomeAssistant, hass_client: Any, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    runner, out = sims
    events: list[Event] = []
    hass.bus.async_listen(EVENT_HEMS, events.append)
    entry = await _loaded(hass, out)
    await _until(lambda: _state(hass, "sensor.home_status") == "fallback", 10)

    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diag)
    assert "127.0.0.1" not in text and "**REDACTED**" in text
    assert diag["control"]["core"]["mode"] == "auto"
    assert diag["control"]["stats"]["ticks"] > 0
    # The devices moved into subentries (async_migrate_entry); they are in the report too.
    assert any(sub["title"] == "car" for sub in diag["subentries"]), diag["subentries"]

    issues = ir.async_get(hass)
    p1 = f"{entry.entry_id}_p1_silent"
    box = f"{entry.entry_id}_device_unreachable_car"
    # The P1 publisher stops: fail-safe and a repair; it resumes: both cleared.
    runner.publishers["p1"].meter.faults.drop_connections = True
    await _until(lambda: issues.async_get_issue(DOMAIN, p1) is not None, 15)
    assert _state(hass, "binary_sensor.home_fail_safe_active") == "on"
    assert _state(hass, "sensor.home_status") == "fail_safe"
    runner.publishers["p1"].meter.faults.drop_connections = False
    await _until(lambda: issues.async_get_issue(DOMAIN, p1) is None, 10)
    assert _state(hass, "binary_sensor.home_fail_safe_active") == "off"
    kinds = [e.data["type"] for e in events]
    assert "fail_safe_entered" in kinds
    assert kinds.index("fail_safe_left", kinds.index("fail_safe_entered")) > 0

    # The wallbox stops answering: a repair naming it; it answers again: cleared.
    runner.servers["car"].faults.delay_s = 7.0  # longer than the 5 s read timeout
    await _until(lambda: issues.async_get_issue(DOMAIN, box) is not None, 30)
    runner.servers["car"].faults.delay_s = 0.0
    await _until(lambda: issues.async_get_issue(DOMAIN, box) is None, 30)
    kinds = [e.data["type"] for e in events]
    assert "device_unreachable" in kinds and "device_recovered" in kinds
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
