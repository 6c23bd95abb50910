"""Config flow: create, reject a blank name, refuse a duplicate site, reconfigure the grid;
migration of a hand-written site document into subentries."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hems.const import CONF_SITE_CONFIG, CONF_SITE_NAME, DOMAIN
from custom_components.hems.site import build

GRID = {"phases": "3", "fuse_a": 25, "allow_export_from_storage": False}


async def test_user_flow_creates_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_NAME: "  Beach House ", **GRID}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Beach House"
    assert result["data"] == {
        CONF_SITE_NAME: "Beach House",
        "phases": 3,
        "fuse_a": 25.0,
        "allow_export_from_storage": False,
    }
    assert result["result"].unique_id == "beach_house"


async def test_user_flow_rejects_blank_name_then_recovers(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_NAME: " !! ", **GRID}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_SITE_NAME: "invalid_name"}

    assert result["data_schema"]({CONF_SITE_NAME: "x"})["phases"] == "3"  # kept
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_NAME: "Home", **GRID}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_aborts_on_duplicate_site(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SITE_NAME: "home", **GRID}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_changes_the_grid_and_reloads(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert result["data_schema"]({})["fuse_a"] == 25  # the default before any answer
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"phases": "1", "fuse_a": 40, "allow_export_from_storage": True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data["fuse_a"] == 40.0
    doc = build(mock_config_entry, "Europe/Amsterdam").document
    assert doc["site"]["grid"] == {"phases": 1, "fuse_a": 40.0}
    assert doc["site"]["policy"] == {"allow_export_from_storage": True}
    assert doc["site"]["timezone"] == "Europe/Amsterdam"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


LEGACY = {
    "site": {"timezone": "Europe/Brussels", "grid": {"fuse_a": 25, "phases": 1}},
    "cars": [
        {"name": "car", "capacity_kwh": 40, "max_charge_kw": 7.4, "max_discharge_kw": 7.4},
        {"name": "van", "capacity_kwh": 60, "max_charge_kw": 11},
    ],
    "battery": {"capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 5},
    "devices": {
        "meter": {"type": "mqtt", "host": "127.0.0.1", "port": 9},
        "wallboxes": [
            {"name": "car", "type": "quasar", "host": "127.0.0.1", "port": 9},
            {"name": "ghost", "type": "quasar", "host": "127.0.0.1", "port": 9},
        ],
        "pv": {"type": "sunspec", "host": "127.0.0.1", "port": 9, "rated_w": 6000},
    },
    "control": {"deadband_w": 50},
}


async def test_migrate_turns_the_site_document_into_subentries(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_SITE_CONFIG: LEGACY, "fast_loop_s": 1.0},
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    # Setup migrates first; the wallbox at port 9 then cannot be reached (a retry, not a loss).
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == 2
    subs = {(s.subentry_type, s.title): s for s in entry.subentries.values()}
    assert set(subs) == {
        ("wallbox", "car"),
        ("wallbox", "van"),
        ("battery", "battery"),
        ("p1", "P1 meter"),
        ("pv", "PV inverter"),
    }
    assert subs["wallbox", "car"].data["wallbox"] == {
        "type": "quasar",
        "host": "127.0.0.1",
        "port": 9,
    }
    assert subs["wallbox", "van"].data["wallbox"] is None
    assert subs["wallbox", "car"].unique_id == "car"
    # What stays: site, control, and the wallbox of no car (parse_config names that error).
    assert entry.options[CONF_SITE_CONFIG] == {
        "site": LEGACY["site"],
        "control": {"deadband_w": 50},
        "devices": {"wallboxes": [LEGACY["devices"]["wallboxes"][1]]},
    }
    assert entry.options["fast_loop_s"] == 1.0
    # The assembled document is the old one (order of cars and keys aside).
    doc = build(entry, "UTC").document
    assert doc["control"] == LEGACY["control"] and doc["battery"] == LEGACY["battery"]
    assert doc["site"]["timezone"] == "Europe/Brussels"
    assert sorted(c["name"] for c in doc["cars"]) == ["car", "van"]
    assert {w["name"] for w in doc["devices"]["wallboxes"]} == {"car", "ghost"}
    assert doc["devices"]["meter"] == LEGACY["devices"]["meter"]
    assert doc["devices"]["pv"] == LEGACY["devices"]["pv"]
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "ghost" in str(entry.reason)


async def test_migrate_drops_an_emptied_document_and_odd_cars_stay(hass: HomeAssistant) -> None:
    cars = [{"name": "a", "capacity_kwh": 1, "max_charge_kw": 1}, "odd"]
    dup = [{"name": "a", "capacity_kwh": 1, "max_charge_kw": 1}] * 2
    for doc, kept in (({"cars": cars[:1]}, None), ({"cars": cars}, {"cars": ["odd"]})):
        entry = MockConfigEntry(domain=DOMAIN, data={CONF_SITE_NAME: "x"},
                                options={CONF_SITE_CONFIG: doc}, minor_version=1)  # fmt: skip
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        assert entry.minor_version == 2
        assert entry.options.get(CONF_SITE_CONFIG) == kept
    # Two cars of one name: both kept (the setup error names the duplicate), one unique id.
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_SITE_NAME: "y"},
                            options={CONF_SITE_CONFIG: {"cars": dup}}, minor_version=1)  # fmt: skip
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert sorted(str(s.unique_id) for s in entry.subentries.values()) == ["None", "a"]
    assert "duplicate" in str(entry.reason)


async def test_a_newer_entry_is_not_migrated(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_SITE_NAME: "x"}, version=2)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
