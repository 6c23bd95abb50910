"""The outage and DSO simulations as a user runs them, plus the gateway model and decoder.

``hems sim outage --json`` and ``hems sim dso --json`` run in a subprocess; their whole stdout
must parse as JSON and carry the figures the issue asks for. The gateway simulator is checked
against the transfer rules it is written from (open on loss of mains, close only after the
reconnection delay, a flap restarts it), and the JSON status decoder against bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from typing import Any

import pytest

from hems_core.devices.backup_gateway import (
    BackupGateway,
    GatewayStatus,
    MqttBackupGateway,
    decode_status,
)
from hems_core.devices.errors import DeviceError, StaleDataError
from hems_core.devices.mqtt_client import MqttClient
from hems_core.sim.broker import MosquittoBroker
from hems_core.sim.gateway_sim import GatewaySim, GridSchedule
from hems_core.sim.outage import run_outage


def _hems(*args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "hems_core.cli", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # the whole stdout


def test_hems_sim_outage_json_a_winter_evening_without_a_blackout_or_a_new_peak() -> None:
    r = _hems("sim", "outage", "--json")
    keys = {"outage_h", "blackout_s", "reserve_breaches", "grid_exchange_while_islanded_kwh",
            "shed_kwh", "recovery_peak_kw", "month_peak_kw_before"}  # fmt: skip
    assert keys <= set(r)
    assert r["outage_h"] == 4.0
    assert r["blackout_s"] == 0.0
    assert r["reserve_breaches"] == 0
    assert r["grid_exchange_while_islanded_kwh"] == 0.0
    assert r["shed_kwh"] > 0.0  # the 5 kW island cannot carry cooking and the heat pump at once
    assert r["recovery_peak_kw"] <= r["month_peak_kw_before"]
    assert r["states"] == [
        "grid_connected", "outage_detected", "islanded", "grid_returned_waiting",
        "resynchronising", "recovery", "grid_connected",
    ]  # fmt: skip


def test_hems_sim_dso_json_every_event_complied_within_5_s_and_expired_back() -> None:
    r = _hems("sim", "dso", "--json")
    names = [e["name"] for e in r["events"]]
    assert sorted(names) == ["aggregator_setpoint", "dim_14a", "export_cap", "import_cap"]
    for e in r["events"]:
        assert {"name", "limit_kw", "max_import_kw_during", "time_to_comply_s",
                "expired_cleanly"} <= set(e)  # fmt: skip
        assert e["time_to_comply_s"] is not None and e["time_to_comply_s"] <= 5.0, e
        assert e["expired_cleanly"] is True, e
    by = {e["name"]: e for e in r["events"]}
    assert by["dim_14a"]["limit_kw"] == 4.2
    assert by["dim_14a"]["max_import_kw_during"] <= 4.2 + 0.05
    assert by["import_cap"]["max_import_kw_during"] <= by["import_cap"]["limit_kw"] + 0.05
    assert abs(by["aggregator_setpoint"]["max_import_kw_during"] - 6.0) <= 0.3


def test_the_cli_rejects_bad_times_with_a_clear_error() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hems_core.cli", "sim", "outage", "--start", "25:00", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "HH:MM" in out.stderr and out.stdout == ""


def test_a_smaller_island_sheds_more_and_still_blacks_out_never() -> None:
    big = run_outage(island_limit_w=8000.0, hours=7.0)
    small = run_outage(island_limit_w=5000.0, hours=7.0)
    assert big["shed_kwh"] < small["shed_kwh"]
    assert big["blackout_s"] == small["blackout_s"] == 0.0


def test_an_island_too_small_for_the_unsheddable_load_blacks_out_in_the_simulator() -> None:
    # cooking (2.6 kW) plus the always-on load exceed a 2.5 kW island: nothing left to shed
    r = run_outage(island_limit_w=2500.0, hours=7.0)
    assert r["blackout_s"] > 0.0 and r["reserve_breaches"] == 0


# -- the gateway model and the decoder ------------------------------------------------------------


def test_the_gateway_opens_at_once_and_closes_after_the_reconnection_delay() -> None:
    gw = GatewaySim(GridSchedule([(100.0, 200.0)]), source="battery", limit_w=5000.0,
                    reconnect_delay_s=60.0, resync_s=5.0)  # fmt: skip
    assert isinstance(gw, BackupGateway)
    gw.step(99.0)
    assert gw.closed and gw.status().grid_ok
    gw.step(100.0)
    assert gw.island and gw.status().grid_ok is False and gw.status().voltage_v == 0.0
    for t in range(200, 265):
        gw.step(float(t))
        assert gw.island, t  # grid back, but not yet for 60 s + 5 s
    gw.step(265.0)
    assert gw.closed and gw.transfers == 1 and gw.reconnections == 1


def test_a_flap_restarts_the_reconnection_delay() -> None:
    gw = GatewaySim(GridSchedule([(0.0, 10.0), (40.0, 41.0)]), source="car", limit_w=7000.0)
    for t in range(106):
        gw.step(float(t))
    assert gw.island  # back at 41 s: closes at 41 + 65 s
    gw.step(106.0)
    assert gw.closed


def test_decode_status_reads_what_is_there_and_rejects_the_rest() -> None:
    st = decode_status(b'{"grid": false, "island": "on", "backup_load_w": 1200, "source": "car"}')
    assert (st.grid_ok, st.island, st.backup_load_w, st.island_source) == (
        False, True, 1200.0, "car",
    )  # fmt: skip
    assert decode_status("{}").grid_ok is None
    for bad, why in [
        (b"nope", "not JSON"), (b"[]", "object"), (b'{"grid": 3}', "boolean"),
        (b'{"voltage_v": "x"}', "finite"), (b'{"limit_w": -5}', "out of range"),
        (b'{"source": ""}', "device name"),
    ]:  # fmt: skip
        with pytest.raises(DeviceError, match=why):
            decode_status(bad)


async def test_the_mqtt_gateway_driver_reads_the_simulator_over_a_real_broker(
    mosquitto: MosquittoBroker,
) -> None:
    clock = [0.0]
    gw = GatewaySim(GridSchedule([(100.0, 200.0)]), source="battery", limit_w=5000.0)
    drv = MqttBackupGateway(MqttClient("127.0.0.1", mosquitto.port), "gw/status",
                            stale_after=10.0, clock=lambda: clock[0])  # fmt: skip
    pub = MqttClient("127.0.0.1", mosquitto.port)
    await drv.connect()
    await pub.connect()
    try:
        with pytest.raises(StaleDataError, match="no gateway status"):
            await drv.read_status()

        async def published(t: float) -> GatewayStatus:
            gw.step(t)
            gw.load_w = 900.0
            await pub.publish("gw/status", gw.status_json())
            for _ in range(200):
                await asyncio.sleep(0.01)
                with contextlib.suppress(StaleDataError):
                    st = await drv.read_status()
                    if st.island == gw.island:
                        return st
            raise AssertionError("status never arrived")

        assert (await published(50.0)).grid_ok is True
        st = await published(150.0)
        assert (st.grid_ok, st.island, st.backup_load_w, st.island_source) == (
            False, True, 900.0, "battery",
        )  # fmt: skip
        await pub.publish("gw/status", b"garbage")  # a bad payload loses nothing
        await asyncio.sleep(0.1)
        assert drv.errors == 1 and (await drv.read_status()).island is True
        clock[0] += 11.0
        with pytest.raises(StaleDataError, match="old"):
            await drv.read_status()
    finally:
        await pub.close()
        await drv.close()
