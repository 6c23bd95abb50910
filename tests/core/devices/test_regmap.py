"""Declarative register maps: loading, validation, built-in maps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hems_core.devices.errors import ConfigError
from hems_core.devices.model import WallboxStatus
from hems_core.devices.regmap import load_device_map, parse_device_map
from hems_core.devices.wallboxes import QUASAR_MAP, SIGENERGY_EVDC_MAP, ambicharge_map

GENERIC = Path(__file__).parent / "maps" / "generic_v2h.yaml"


def test_yaml_and_json_load_the_same_map(tmp_path: Path) -> None:
    import yaml

    m = load_device_map(GENERIC)
    as_json = tmp_path / "m.json"
    as_json.write_text(json.dumps(yaml.safe_load(GENERIC.read_text())))
    assert load_device_map(as_json) == m
    assert m.unit_id == 3
    assert m.require("setpoint").scale == 10
    assert m.status_map[3] is WallboxStatus.DISCHARGING
    assert m.limits.max_discharge_w == 10000


def test_builtin_maps_are_valid() -> None:
    q = parse_device_map(QUASAR_MAP)
    assert q.require("setpoint").address == 260
    assert q.require("watchdog").address == 88
    s = parse_device_map(SIGENERGY_EVDC_MAP)
    assert s.require("charge_limit").minimum == 1000  # never 0 on 41002 (evcc: >= 1000 W)
    assert s.require("start_stop").single_write
    a2 = parse_device_map(ambicharge_map(2))
    assert a2.require("power").address == 4218
    assert a2.require("setpoint").address == 3100
    assert a2.require("setpoint").scale == -1  # ambiCHARGE: negative = charge
    with pytest.raises(ValueError):
        ambicharge_map(9)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"registers": []}, "non-empty"),
        ({"roles": {"flux": "power"}}, "unknown role"),
        ({"roles": {"power": "nope"}}, "unknown register"),
        ({"roles": {"setpoint": "power"}}, "writable"),
        ({"unit_id": 300}, "unit_id"),
        ({"status_map": {0: "sleeping"}}, "status_map"),
        ({"limits": {"max_charge_w": -1}}, ">= 0"),
        ({"constants": {"start": "go"}}, "number"),
    ],
)
def test_invalid_maps_are_config_errors(patch: dict[str, object], message: str) -> None:
    data = {**QUASAR_MAP, **patch}
    with pytest.raises(ConfigError, match=message):
        parse_device_map(data)


def test_duplicate_and_unknown_register_keys(tmp_path: Path) -> None:
    regs = [{"name": "a", "address": 1}, {"name": "a", "address": 2}]
    with pytest.raises(ConfigError, match="duplicate"):
        parse_device_map({"registers": regs})
    with pytest.raises(ConfigError, match="unknown register keys"):
        parse_device_map({"registers": [{"name": "a", "address": 1, "colour": "red"}]})
    bad = tmp_path / "bad.yaml"
    bad.write_text("registers: [unclosed")
    with pytest.raises(ConfigError):
        load_device_map(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_device_map(tmp_path / "missing.yaml")


def test_wallbox_driver_needs_power_setpoint_and_limits() -> None:
    from hems_core.devices.modbus_client import ModbusTcpClient
    from hems_core.devices.wallboxes import ModbusWallbox

    client = ModbusTcpClient("127.0.0.1", 1)
    regs = [{"name": "p", "address": 1}, {"name": "s", "address": 2, "writable": True}]
    limits = {"max_charge_w": 1000, "max_discharge_w": 1000}
    with pytest.raises(ConfigError, match="power"):
        ModbusWallbox({"registers": regs, "roles": {"setpoint": "s"}, "limits": limits}, client)
    with pytest.raises(ConfigError, match="setpoint"):
        ModbusWallbox({"registers": regs, "roles": {"power": "p"}, "limits": limits}, client)
    with pytest.raises(ConfigError, match="limits"):
        ModbusWallbox({"registers": regs, "roles": {"power": "p", "setpoint": "s"}}, client)
    box = ModbusWallbox(
        {"registers": regs, "roles": {"power": "p", "setpoint": "s"}, "limits": limits}, client
    )
    assert box.limits.max_charge_w == 1000
