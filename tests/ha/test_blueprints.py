"""The automation blueprints in blueprints/automation/hems/ load with Home Assistant's own schema.

Each file goes through what Home Assistant does on import: the blueprint schema of the
automation domain, the version check, the substitution of every input, and the trigger and
action schemas on the result. Events must be ones the integration fires.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.helpers import config_validation as cv
from homeassistant.util.yaml import load_yaml_dict

from custom_components.hems import const

BLUEPRINTS = sorted((Path(__file__).parents[2] / "blueprints/automation/hems").glob("*.yaml"))
# The integration fires one bus event (const.EVENT_HEMS) whose ``type`` says what happened;
# these are the types the blueprints listen for (issue 14's list of events).
PLANNED_TYPES = {"departure_target_at_risk", "fail_safe_entered", "fail_safe_left"}
SAMPLE_INPUT: dict[str, Any] = {
    "boost_button": "button.car_boost",
    "cancel_button": "button.car_cancel_boost",
    "boost_active": "binary_sensor.car_boost_active",
    "notify_device": "0123456789abcdef0123456789abcdef",
    "tag": "wallbox-tag",
}


def _events(node: Any) -> set[tuple[str, str | None]]:
    """(event_type, event_data type) of every event trigger in ``node``."""
    if isinstance(node, dict):
        found: set[tuple[str, str | None]] = set()
        if isinstance(node.get("event_type"), str):
            found.add((node["event_type"], (node.get("event_data") or {}).get("type")))
        return found.union(*(_events(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_events(v) for v in node))
    return set()


def test_three_blueprints_exist() -> None:
    assert {p.name for p in BLUEPRINTS} == {
        "boost_on_departure_risk.yaml",
        "notify_fail_safe.yaml",
        "boost_from_nfc_tag.yaml",
    }


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.stem)
def test_blueprint_loads_and_substitutes(path: Path) -> None:
    bp = Blueprint(
        load_yaml_dict(path),
        path=f"hems/{path.name}",
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )
    assert bp.validate() is None  # no Home Assistant version it needs above ours
    inputs = {k: SAMPLE_INPUT[k] for k in bp.inputs if k in SAMPLE_INPUT}
    # Inputs without a sample must have a default, or the UI could not leave them out.
    for name, spec in bp.inputs.items():
        assert name in inputs or (spec or {}).get("default") is not None, name
    bi = BlueprintInputs(bp, {"use_blueprint": {"path": bp.name, "input": inputs}})
    bi.validate()
    config = bi.async_substitute()
    cv.TRIGGER_SCHEMA(config["triggers"])
    cv.SCRIPT_SCHEMA(config["actions"])
    # Entity inputs pick entities of the hems integration only.
    for name, spec in bp.inputs.items():
        selector = (spec or {}).get("selector", {})
        if "entity" in selector:
            assert all(f["integration"] == "hems" for f in selector["entity"]["filter"]), name
    events = _events(config["triggers"])
    for event_type, kind in events:
        if event_type == "mobile_app_notification_action":
            continue
        assert event_type == const.EVENT_HEMS, event_type
        assert kind in PLANNED_TYPES, kind
