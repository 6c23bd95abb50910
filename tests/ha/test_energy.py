"""Home Assistant's own Energy validation accepts the car's counters as a battery."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from hems_core.sim.runner import SimRunner

from .test_control_e2e import _loaded, _state, _until
from .test_control_e2e import sims as sims  # the simulator fixture


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: Any) -> None:
    """The recorder must start before Home Assistant (statistics metadata for the validation)."""


async def test_energy_dashboard_accepts_the_car_as_a_battery(
    recorder_mock: Any, hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    """Home Assistant's own Energy validation (the dashboard's check) finds nothing wrong."""
    from homeassistant.components.energy import data as energy_data
    from homeassistant.components.energy.validate import async_validate

    _, out = sims
    entry = await _loaded(hass, out)
    await _until(lambda: _state(hass, "sensor.car_energy_charged") not in (None, "unknown"), 10)
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "battery",
                    "stat_energy_from": "sensor.car_energy_discharged",
                    "stat_energy_to": "sensor.car_energy_charged",
                }
            ]
        }
    )
    # Compile the running 5-minute period's statistics now (HA does it every 5 minutes).
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(
        hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    )
    await async_wait_recording_done(hass)
    result = (await async_validate(hass)).as_dict()
    assert result["energy_sources"] == [[]], result
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_energy_dashboard_takes_the_cars_power_and_soc_where_it_can(
    recorder_mock: Any, hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    """2025.12+ (``stat_rate``) and 2026.6+ (``stat_soc``): the battery source with the car's
    dashboard power and SoC passes Home Assistant's validation; older versions have neither
    key and no dashboard-power sensor, and the counters alone pass (the test above)."""
    from homeassistant.components.energy import data as energy_data
    from homeassistant.components.energy.validate import async_validate

    from custom_components.hems.energy_dashboard import ENERGY_FEATURES

    _, out = sims
    entry = await _loaded(hass, out)
    power = "sensor.car_battery_power_energy_dashboard"
    await _until(lambda: _state(hass, "sensor.car_energy_charged") not in (None, "unknown"), 10)
    assert (hass.states.get(power) is not None) == ("stat_rate" in ENERGY_FEATURES)
    if not ENERGY_FEATURES:
        assert await hass.config_entries.async_unload(entry.entry_id)
        pytest.skip("this Home Assistant's Energy dashboard has no battery power or SoC")
    source: dict[str, Any] = {
        "type": "battery",
        "stat_energy_from": "sensor.car_energy_discharged",
        "stat_energy_to": "sensor.car_energy_charged",
    }
    if "stat_rate" in ENERGY_FEATURES:
        source["stat_rate"] = power
        await _until(lambda: _state(hass, power) not in (None, "unknown"), 10)
    if "stat_soc" in ENERGY_FEATURES:
        source["stat_soc"] = "sensor.car_state_of_charge"
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update({"energy_sources": [source]})  # type: ignore[typeddict-item]
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(
        hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    )
    await async_wait_recording_done(hass)
    result = (await async_validate(hass)).as_dict()
    assert result["energy_sources"] == [[]], result
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_forecast_series_stay_out_of_the_recorder(
    recorder_mock: Any, hass: HomeAssistant, mock_config_entry: Any
) -> None:
    from homeassistant.components.recorder import get_instance, history

    start = dt_util.utcnow()
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    entity_id = "sensor.home_load_forecast_next_24_h"
    assert "p50" in hass.states.get(entity_id).attributes  # on the state, for templates
    await async_wait_recording_done(hass)
    states = await get_instance(hass).async_add_executor_job(
        lambda: history.get_significant_states(hass, start, entity_ids=[entity_id])
    )
    recorded = states[entity_id][-1].attributes
    assert "p50" not in recorded and "p10" not in recorded
    assert recorded["unit_of_measurement"] == "kWh"
