"""The control entities on a real loop (mosquitto P1 + the Modbus TCP wallbox simulator):
descriptions (snapshot), numbers/time/switch reaching the core and surviving a restart, the
plan read-outs, events, the price repair flow and the Energy dashboard feature detection.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.hems.const import (
    CONF_FAST_LOOP_S,
    CONF_PRICE_ENTITY,
    CONF_PRICE_SOURCE,
    CONF_SITE_CONFIG,
    CONF_SITE_NAME,
    DOMAIN,
    EVENT_HEMS,
)
from custom_components.hems.control import status_events
from custom_components.hems.energy_dashboard import ENERGY_FEATURES, energy_features
from custom_components.hems.schema import vol
from custom_components.hems.time import next_at
from hems_core.control import outlook
from hems_core.control.core import CoreStatus, DepartureView
from hems_core.control.planning import Forecast
from hems_core.control.types import Mode

from .test_control_e2e import FAST_LOOP_S, SimRunner, _site, _state, _until
from .test_control_e2e import sims as sims  # the simulator fixture

ENTRY_ID = "01JHEMSTESTENTRY0000000000"
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _doc(out: dict[str, Any]) -> dict[str, Any]:
    """The e2e site with weekly departures, a planning-only home battery and Flanders' tariff."""
    doc: dict[str, Any] = _site(out)
    doc["site"]["tariff"] = {"capacity": "flanders", "eur_per_kw_year": 60}
    doc["cars"][0]["departures"] = {"target_soc": 0.8, "weekly": dict.fromkeys(WEEK, "07:30")}
    doc["battery"] = {"capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 5}
    return doc


async def _setup(hass: HomeAssistant, out: dict[str, Any], **options: Any) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_SITE_CONFIG: _doc(out), CONF_FAST_LOOP_S: FAST_LOOP_S, **options},
        unique_id="home",
        entry_id=ENTRY_ID,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await _until(lambda: _state(hass, "sensor.home_status") == "fallback", 10)
    return entry


async def _unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def _forecast(n: int = 96) -> Forecast:
    """Expensive for two hours, cheap after: the plan waits and lets the car cover the house."""
    start = datetime.fromtimestamp(datetime.now(UTC).timestamp() // 900 * 900, UTC)
    price = np.r_[np.full(8, 0.60), np.full(n - 8, 0.10)]
    return Forecast(start, price, np.full(n, 0.02), np.full(n, 1.0), np.zeros(n))


async def test_entities_are_described_named_and_categorised(
    hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]], snapshot: SnapshotAssertion
) -> None:
    _, out = sims
    entry = await _setup(hass, out)
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    described = {
        e.entity_id: {
            "unique_id": e.unique_id,
            "translation_key": e.translation_key,
            "device_class": e.original_device_class,
            "category": None if e.entity_category is None else e.entity_category.value,
            "unit": e.unit_of_measurement,
            "options": (e.capabilities or {}).get("options"),
        }
        for e in sorted(entries, key=lambda e: e.entity_id)
        if e.translation_key != "battery_power"  # exists only on 2025.12+ (below)
    }
    assert described == snapshot
    dashboard = hass.states.get("sensor.car_battery_power_energy_dashboard")
    assert (dashboard is not None) == ("stat_rate" in ENERGY_FEATURES)
    assert _state(hass, "binary_sensor.home_grid_available") in ("on", "unknown")
    await _until(
        lambda: _state(hass, "sensor.car_departure_target_status") in outlook.DEPARTURE_STATES, 5
    )
    dep = hass.states.get("sensor.car_departure_target_status")
    assert dep is not None and dep.attributes["target_soc"] == 80.0
    assert _state(hass, "number.car_target_soc") == "80.0"
    assert _state(hass, "number.car_minimum_soc") == "20.0"
    assert _state(hass, "number.home_backup_reserve") == "10.0"
    assert _state(hass, "switch.car_allow_v2h") == "on"
    assert _state(hass, "time.car_next_departure") == "07:30:00"
    # No plan yet: nothing planned, no cost, the capacity tariff's floor as its average.
    assert _state(hass, "sensor.car_planned_power_now") == "unknown"
    assert _state(hass, "sensor.home_expected_cost_today") == "unknown"
    assert _state(hass, "sensor.home_capacity_tariff_average") == "2.5"
    await _unload(hass, entry)


async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: Any,
    sims: tuple[SimRunner, dict[str, Any]],
    snapshot: SnapshotAssertion,
) -> None:
    _, out = sims
    entry = await _setup(hass, out)
    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    core = diag["control"]["core"]
    shape = {
        "top": sorted(diag),
        "core": sorted(core),
        "owner": core["owner"],
    }
    assert shape == snapshot
    assert "127.0.0.1" not in str(diag)  # hosts stay home
    await _unload(hass, entry)


async def test_numbers_time_and_switch_reach_the_core_and_survive_a_restart(
    hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    _, out = sims
    entry = await _setup(hass, out)

    async def call(domain: str, service: str, entity_id: str, **data: Any) -> None:
        await hass.services.async_call(
            domain, service, {"entity_id": entity_id, **data}, blocking=True
        )

    await call("number", "set_value", "number.car_target_soc", value=90)
    await call("number", "set_value", "number.car_minimum_soc", value=30)
    await call("number", "set_value", "number.home_backup_reserve", value=25)
    await call("switch", "turn_off", "switch.car_allow_v2h")
    await call("time", "set_value", "time.car_next_departure", time="06:45:00")
    control = entry.runtime_data.control
    assert control is not None and control.runtime is not None
    core = control.runtime.core
    own = core.status(control.runtime.now()).owner
    assert own.target_soc == {"car": 0.9} and own.min_soc == {"car": 0.3}
    assert own.backup_reserve == 0.25 and own.v2h == {"car": False}
    assert core.storages["car"].max_discharge_w == 0.0
    leave = next_at(control.runtime.now().astimezone(ZoneInfo("Europe/Brussels")), time(6, 45))
    assert core.departures["car"].next_departure(control.runtime.now()) == (
        leave.astimezone(UTC),
        0.9,
    )
    assert _state(hass, "number.car_target_soc") == "90.0"
    assert _state(hass, "switch.car_allow_v2h") == "off"
    assert _state(hass, "time.car_next_departure") == "06:45:00"

    # The core refuses what it cannot do; the number keeps its value.
    with pytest.raises(HomeAssistantError) as err:
        await call("number", "set_value", "number.car_target_soc", value=2)
    assert err.value.translation_key == "control_refused"
    assert _state(hass, "number.car_target_soc") == "90.0"

    await _unload(hass, entry)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await _until(lambda: _state(hass, "number.car_target_soc") == "90.0", 10)
    assert _state(hass, "number.car_minimum_soc") == "30.0"
    assert _state(hass, "number.home_backup_reserve") == "25.0"
    assert _state(hass, "switch.car_allow_v2h") == "off"
    assert _state(hass, "time.car_next_departure") == "06:45:00"
    await call("switch", "turn_on", "switch.car_allow_v2h")
    assert _state(hass, "switch.car_allow_v2h") == "on"
    await _unload(hass, entry)


async def test_plan_read_outs_and_the_departure_at_risk_event(
    hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    _, out = sims
    events: list[Event] = []
    hass.bus.async_listen(EVENT_HEMS, events.append)
    entry = await _setup(hass, out)
    control = entry.runtime_data.control
    assert control is not None and control.runtime is not None
    rt = control.runtime
    # Two days of forecast, so the plan reaches tomorrow at any hour the test runs (one day
    # ends at today's midnight when the test starts in the first quarter of a local day).
    control.async_set_forecast(_forecast(192))
    await _until(lambda: _state(hass, "sensor.home_status") == "following_plan", 20)
    await _until(lambda: _state(hass, "sensor.car_planned_power_now") != "unknown", 5)

    # Every read-out is the core's outlook of the plan in force, not a figure of its own.
    plan = rt.core.plan
    assert plan is not None
    t_s = rt.now().timestamp()
    now_w, next_w = outlook.planned_power_w(plan, "car", t_s)
    assert float(_state(hass, "sensor.car_planned_power_now") or "nan") == now_w
    assert float(_state(hass, "sensor.car_planned_power_next_quarter") or "nan") == next_w
    today, tomorrow = outlook.day_costs(plan, t_s, rt.core.tz)
    assert today is not None and tomorrow is not None
    cost = hass.states.get("sensor.home_expected_cost_today")
    assert cost is not None and cost.attributes["unit_of_measurement"] == "EUR"
    assert float(cost.state) == pytest.approx(today.cost, abs=0.011)
    assert cost.attributes["date"] == today.day.isoformat()
    saved = outlook.savings_vs_plug_in(plan, t_s, {"car": 7.4})
    assert saved is not None
    assert float(_state(hass, "sensor.home_savings_vs_charging_on_plug_in") or "nan") == (
        pytest.approx(saved, abs=0.011)
    )
    act = outlook.next_action(plan, t_s)
    nxt = hass.states.get("sensor.home_next_action")
    assert nxt is not None
    if act is None:
        assert nxt.state == "unknown"
    else:
        assert dt_util.parse_datetime(nxt.state) == act.at
        assert nxt.attributes["reason"] == act.reason and nxt.attributes["device"] == act.device
    budget = hass.states.get("sensor.home_peak_budget")
    assert budget is not None and float(budget.state) >= 2.5  # the Flemish floor
    assert float(_state(hass, "sensor.home_monthly_peak") or "nan") >= 0.0

    # A departure the car cannot make at its pace: at risk, one event, full power.
    await hass.services.async_call(
        DOMAIN,
        "set_departure",
        {
            "config_entry_id": entry.entry_id,
            "car": "car",
            "departure": (dt_util.now() + timedelta(hours=1)).isoformat(),
            "target_soc": 100,
        },
        blocking=True,
    )
    await _until(lambda: _state(hass, "sensor.car_departure_target_status") == "at_risk", 5)
    risk = [e.data for e in events if e.data["type"] == "departure_target_at_risk"]
    await hass.async_block_till_done()
    assert len(risk) == 1 and risk[0]["car"] == "car" and risk[0]["target_soc"] == 100.0
    assert 60 < risk[0]["expected_soc"] < 100  # what the blueprint's notice says
    assert any(e.data["type"] == "plan_changed" for e in events)
    await _unload(hass, entry)


def _status(**kw: Any) -> CoreStatus:
    base: dict[str, Any] = {
        "mode": Mode.AUTO, "plan_seq": None, "plan_age_s": None, "plan_source": "fallback",
        "failsafe": False, "lost_devices": (), "boosts": {}, "devices": {},
        "month_peak_kw": 0.0, "socs": {"car": 0.5}, "energy_in_kwh": {}, "energy_out_kwh": {},
    }  # fmt: skip
    base.update(kw)
    return CoreStatus(**base)


def test_status_events_fire_once_per_change() -> None:
    at = datetime(2026, 12, 4, 6, 30, tzinfo=UTC)
    risky = {"car": DepartureView(at, 0.9, "at_risk")}
    first = _status(departures=risky, plan_seq=1, boosts={"car": object()})
    kinds = [k for k, _ in status_events(None, first)]
    assert kinds == ["boost_started", "plan_changed", "departure_target_at_risk"]
    assert status_events(first, first) == []  # nothing new, nothing fired
    later = _status(departures={"car": DepartureView(at + timedelta(days=1), 0.9, "at_risk")})
    events = dict(status_events(first, later))
    assert set(events) == {"boost_ended", "departure_target_at_risk"}  # the next day's departure
    island = _status(island_state="islanded")
    assert status_events(_status(), island) == [
        ("island_mode_changed", {"state": "islanded", "previous": "grid_connected"})
    ]
    ok = _status(departures={"car": DepartureView(at, 0.9, "on_track")})
    assert status_events(None, ok) == []


def test_energy_dashboard_features_are_detected_from_the_installed_schema() -> None:
    class Old(TypedDict):
        type: str
        stat_energy_from: str
        stat_energy_to: str

    class New(Old, total=False):
        stat_rate: str
        stat_soc: str

    assert energy_features(Old) == frozenset()
    assert energy_features(New) == {"stat_rate", "stat_soc"}
    schema = vol.Schema({vol.Required("type"): str, vol.Optional("stat_rate"): str})
    assert energy_features(None, schema) == {"stat_rate"}


async def test_no_price_source_is_a_fixable_repair(
    hass: HomeAssistant, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    _, out = sims
    assert await async_setup_component(hass, "repairs", {})
    entry = await _setup(hass, out)
    issues = ir.async_get(hass)
    issue_id = f"{entry.entry_id}_no_price_source"
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.is_fixable
    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert flow["type"] == "form" and flow["step_id"] == "price_entity"

    # A sensor without prices is refused with the parser's reason; nothing is saved.
    hass.states.async_set("sensor.nothing", "3")
    flow = await manager.async_configure(flow["flow_id"], {CONF_PRICE_ENTITY: "sensor.nothing"})
    assert flow["type"] == "form" and flow["errors"] == {CONF_PRICE_ENTITY: "invalid_prices"}
    assert (flow.get("description_placeholders") or {})["problem"]
    flow = await manager.async_configure(flow["flow_id"], {CONF_PRICE_ENTITY: "sensor.gone"})
    assert "unavailable" in (flow.get("description_placeholders") or {})["problem"]
    assert CONF_PRICE_SOURCE not in entry.options

    # Today's prices from a plain sensor: saved, the site reloads with prices, issue gone.
    hass.states.async_set(
        "sensor.prices",
        "0.2",
        {"today": [0.2] * 24, "tomorrow": [], "currency": "EUR", "unit": "kWh"},
    )
    flow = await manager.async_configure(flow["flow_id"], {CONF_PRICE_ENTITY: "sensor.prices"})
    assert flow["type"] == "create_entry"
    await hass.async_block_till_done()
    assert entry.options[CONF_PRICE_SOURCE] == "entity"
    assert entry.options[CONF_PRICE_ENTITY] == "sensor.prices"
    await _until(lambda: entry.state is ConfigEntryState.LOADED, 10)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert entry.runtime_data.prices is not None
    await _unload(hass, entry)


async def test_the_repair_flow_of_a_removed_site_aborts(hass: HomeAssistant) -> None:
    from custom_components.hems.repairs import PriceSourceRepairFlow, async_create_fix_flow

    flow = await async_create_fix_flow(hass, "x", {"entry_id": "gone"})
    assert isinstance(flow, PriceSourceRepairFlow)
    flow.hass = hass
    result = await flow.async_step_init()
    assert result["type"] == "abort" and result["reason"] == "entry_gone"


def test_diagnostics_scrub_addresses_from_event_messages() -> None:
    from custom_components.hems.diagnostics import _hosts, _scrub

    hosts = _hosts({"devices": {"meter": {"host": "p1.local"}, "x": [{"host": "10.0.0.9"}]}})
    assert hosts == {"p1.local", "10.0.0.9"}
    text = _scrub("car: connect to 192.168.1.20:502 failed; meter p1.local silent", hosts)
    assert "192.168" not in text and "p1.local" not in text and "**REDACTED**:502" in text


def test_energy_dashboard_detection_survives_an_odd_schema() -> None:
    class Odd:
        schema = 42  # not a mapping

    assert energy_features(None, Odd()) == frozenset()


async def test_before_the_loop_runs_everything_reads_unknown(hass: HomeAssistant) -> None:
    from custom_components.hems.control import HemsControl, site_config

    cfg = site_config(_doc({"mqtt": {"port": 9}, "wallboxes": {"car": {"port": 9}}}))
    control = HemsControl(hass, "x", cfg, 1.0)
    assert control.status() is None and control.state is None
    assert control.outlook() == {} and control.planned_power("car") == (None, None)
    assert control.device("car") is None
    with pytest.raises(RuntimeError, match="not running"):
        control.require_runtime()
    control.async_changed()  # nothing to save yet, nothing breaks
    await control.async_stop()  # never started: nothing to stop


def test_next_at_is_today_while_ahead_else_tomorrow() -> None:
    zone = ZoneInfo("Europe/Brussels")
    now = datetime(2026, 12, 3, 7, 0, tzinfo=zone)
    assert next_at(now, time(7, 30)) == datetime(2026, 12, 3, 7, 30, tzinfo=zone)
    assert next_at(now, time(6, 45)) == datetime(2026, 12, 4, 6, 45, tzinfo=zone)
    assert next_at(now, time(7, 0)) == datetime(2026, 12, 4, 7, 0, tzinfo=zone)


async def test_a_broken_price_feed_is_fixed_by_picking_another_sensor(
    hass: HomeAssistant,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    hass.states.async_set("sensor.broken", "0.1", {"today": [0.1] * 11, "currency": "EUR"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_PRICE_SOURCE: "entity", CONF_PRICE_ENTITY: "sensor.broken"},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue_id = f"price_feed_{entry.entry_id}"
    issues = ir.async_get(hass)
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.is_fixable
    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    placeholders = flow.get("description_placeholders") or {}
    assert placeholders["source"] == "sensor.broken" and placeholders["reason"]
    hass.states.async_set("sensor.good", "0.2", {"today": [0.2] * 24, "currency": "EUR"})
    flow = await manager.async_configure(flow["flow_id"], {CONF_PRICE_ENTITY: "sensor.good"})
    assert flow["type"] == "create_entry"
    await hass.async_block_till_done()
    assert entry.options[CONF_PRICE_ENTITY] == "sensor.good"
    assert entry.state is ConfigEntryState.LOADED
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert float(_state(hass, "sensor.home_import_price") or "nan") == pytest.approx(0.2)
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_a_real_core_going_off_grid_gives_island_mode_changed() -> None:
    """The core's island machine decides; the glue turns its moves into events, in order."""
    from hems_core.control.core import ControlCore
    from hems_core.control.types import GridObs, MeterObs, Observation, StorageObs
    from hems_core.model import Ev, Grid, HomeBattery, Site

    site = Site(
        grid=Grid(17.0, 10.0),
        evs=(Ev("car", 40.0, 7.4, 7.4, min_soc=0.2),),
        battery=HomeBattery(10.0, 5.0, 5.0),
    )
    core = ControlCore(site, tz="Europe/Brussels")
    t0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    prev = None
    kinds: list[tuple[str, str]] = []
    for s in range(40):
        at = t0 + timedelta(seconds=s)
        grid_up = s < 5
        obs = Observation(
            MeterObs(at, 500.0, stamp=at) if grid_up else None,
            {
                "car": StorageObs(at, True, 0.0, 0.6, True),
                "battery": StorageObs(at, True, 0.0, 0.8, True),
            },
            grid=GridObs(at, gateway_grid=grid_up, gateway_island=not grid_up),
        )
        core.observe(at, obs)
        st = core.status(at)
        kinds += [(k, d["state"]) for k, d in status_events(prev, st) if k == "island_mode_changed"]
        prev = st
    assert kinds and kinds[0][0] == "island_mode_changed"
    assert kinds[-1][1] in {"islanded", "islanded_low_energy"}, kinds
    assert len(kinds) == len(set(kinds))  # each move once
