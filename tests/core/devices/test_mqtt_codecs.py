"""Pure MQTT payload codecs: DSMR-reader fields, HomeWizard JSON, MQTT wallbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hems_core.devices.errors import ConfigError, PayloadError, ValueOutOfRangeError
from hems_core.devices.model import MeterReading, WallboxLimits, WallboxStatus
from hems_core.devices.mqtt_wallbox import MqttWallboxConfig, encode_setpoint
from hems_core.devices.p1_mqtt import DsmrReaderDecoder, JsonDecoder
from hems_core.sim.p1_sim import dsmr_reader_fields, homewizard_json


def test_dsmr_reader_fields_combine_on_trigger() -> None:
    dec = DsmrReaderDecoder()
    assert dec.feed("dsmr/reading/phase_currently_returned_l1", b"1.5") is None
    assert dec.feed("dsmr/reading/electricity_delivered_1", b"100.0") is None
    assert dec.feed("dsmr/reading/electricity_delivered_2", b"50.5") is None
    assert dec.feed("dsmr/reading/unknown_field", b"whatever") is None
    r = dec.feed("dsmr/reading/electricity_currently_delivered", b"0.250")
    assert r is not None
    assert r.power_w == pytest.approx(250.0)
    assert r.phase_power_w[0] == pytest.approx(-1500.0)
    assert r.energy_import_kwh == pytest.approx(150.5)
    with pytest.raises(PayloadError):
        dec.feed("dsmr/reading/electricity_currently_delivered", b"nan")


def test_homewizard_json() -> None:
    payload = json.dumps(
        {
            "active_power_w": -1234.5,
            "active_power_l1_w": -1234.5,
            "total_power_import_kwh": 12.5,
            "total_power_export_kwh": 3.25,
            "active_tariff": 2,
            "active_power_average_w": 800,
            "montly_power_peak_w": 4200,
            "montly_power_peak_timestamp": 230101081500,
        }
    ).encode()
    r = JsonDecoder().feed("p1/json", payload)
    assert r is not None
    assert r.power_w == -1234.5
    assert r.power_export_w == 1234.5
    assert r.demand_quarter_kw == pytest.approx(0.8)
    assert r.demand_month_peak_kw == pytest.approx(4.2)
    assert r.demand_month_peak_at == datetime(2023, 1, 1, 7, 15, tzinfo=UTC)
    assert r.tariff == 2
    for bad in (b"[1]", b"{}", b'{"active_power_w": "12"}', b'{"active_power_w": true}', b"\xff"):
        with pytest.raises(PayloadError):
            JsonDecoder().feed("p1/json", bad)


def test_simulator_payloads_decode_back() -> None:
    reading = MeterReading(
        timestamp=None,
        power_w=321.0,
        power_import_w=321.0,
        power_export_w=0.0,
        phase_power_w=(107.0, 107.0, 107.0),
        voltage_v=(230.0, 231.0, 229.0),
        energy_import_kwh=10.0,
        energy_export_kwh=2.0,
        demand_quarter_kw=1.5,
    )
    dec = DsmrReaderDecoder()
    out = None
    fields = dsmr_reader_fields(reading)
    trigger = "electricity_currently_delivered"
    for name, value in fields.items():
        if name != trigger:
            dec.feed("dsmr/reading/" + name, value.encode())
    out = dec.feed("dsmr/reading/" + trigger, fields[trigger].encode())
    assert out is not None
    assert out.power_w == pytest.approx(321.0)
    assert out.voltage_v == (230.0, 231.0, 229.0)
    j = JsonDecoder().feed("p1/json", homewizard_json(reading).encode())
    assert j is not None
    assert j.demand_quarter_kw == pytest.approx(1.5)


def test_mqtt_wallbox_codec() -> None:
    cfg = MqttWallboxConfig(
        setpoint_topic="s",
        state_topic="st",
        limits=WallboxLimits(max_charge_w=7000, max_discharge_w=5000, min_active_w=1000),
    )
    assert json.loads(encode_setpoint(cfg, -4000)) == {"power_w": -4000}
    for bad in (-5001, 7001, 500, float("nan")):
        with pytest.raises(ValueOutOfRangeError):
            encode_setpoint(cfg, bad)
    assert encode_setpoint(cfg, 0) == b'{"power_w": 0}'
    state = cfg.decode_state(
        "st", b'{"power_w": -1, "plugged": "on", "status": "DISCHARGING", "soc": "55"}'
    )
    assert state == {
        "power": -1.0,
        "plugged": True,
        "status": WallboxStatus.DISCHARGING,
        "soc": 55.0,
    }
    assert (
        cfg.decode_state("st", b'{"power_w": 1, "status": "weird"}')["status"]
        is WallboxStatus.UNKNOWN
    )
    for bad in (b'{"soc": 5}', b'{"power_w": 1, "plugged": 7}', b"[]", b'{"power_w": "x"}'):
        with pytest.raises(PayloadError):
            cfg.decode_state("st", bad)
    plain = MqttWallboxConfig(setpoint_topic="s", payload="plain", field_topics={"power": "p"})
    assert encode_setpoint(plain, 1500) == b"1500"
    assert plain.decode_state("p", b" -250 ") == {"power": -250.0}
    assert plain.decode_state("other", b"1") == {}
    with pytest.raises(ConfigError):
        MqttWallboxConfig(setpoint_topic="s", payload="plain")
    with pytest.raises(ConfigError):
        MqttWallboxConfig(setpoint_topic="s")
