"""Run a set of device simulators from a scenario's device section (``hems sim devices``).

The section is read by :func:`hems_core.scenario.load_devices` (YAML or JSON)::

    start: "2025-06-01T10:00:00Z"   # simulated start; default: now
    speed: 1.0                      # simulated seconds per real second
    publish_interval_s: 1.0
    mqtt: {spawn: true}             # or {host: 127.0.0.1, port: 1883}
    wallboxes:
      - {name: quasar, type: quasar, ev: {capacity_kwh: 40, soc_pct: 60}}
      - {name: evdc, type: sigenergy_evdc}
      - {name: ambi, type: ambicharge}
      - {name: mine, type: modbus_map, map: my_box.yaml}
      - {name: diy, type: mqtt, setpoint_topic: diy/setpoint, state_topic: diy/state}
    inverters:
      - {name: pv, peak_w: 5000, rated_w: 6000, float_model: false, der_704: false}
    meters:
      - {name: p1, flavour: emucs, base_load_w: 400, battery_w: 0}  # battery: + discharge

The P1 meter's grid power follows the house load, the simulated PV, every EV and a home
battery (a constant power here; the control loop's battery model lives elsewhere).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hems_core.devices.clock import Clock
from hems_core.devices.errors import ConfigError
from hems_core.devices.mqtt_client import MqttClient
from hems_core.devices.regmap import load_device_map

from .broker import MosquittoBroker
from .ev import EvBattery, EvParams
from .modbus_server import ModbusServer
from .mqtt_wallbox_sim import MqttWallboxSim
from .p1_sim import HouseModel, P1MeterSim, P1Publisher
from .sunspec_sim import PvProfile, SunSpecInverterSim
from .vendor_tables import ambicharge_table, quasar_table, sigenergy_evdc_table
from .wallbox_sim import ModbusWallboxSim


class ScaledClock:
    """Simulated epoch seconds running ``speed`` times faster than real time."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def __call__(self) -> float:
        return self.start + (time.monotonic() - self._t0) * self.speed


def _ev(spec: Mapping[str, Any]) -> EvParams:
    raw = dict(spec.get("ev", {}))
    if "plug_schedule" in raw:
        raw["plug_schedule"] = tuple(tuple(x) for x in raw["plug_schedule"])
    try:
        return EvParams(**raw)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{spec.get('name')}: bad ev parameters: {err}") from err


def _ev_power(ev: EvBattery) -> Callable[[], float]:
    return lambda: ev.power_w


def _constant(watts: float) -> Callable[[], float]:
    return lambda: watts


class SimRunner:
    """Owns every simulator, server and MQTT client of a scenario."""

    def __init__(self, scenario: Mapping[str, Any], clock: Clock | None = None) -> None:
        self.scenario = scenario
        start = scenario.get("start")
        if isinstance(start, datetime):
            t0 = start.timestamp()
        elif isinstance(start, str):
            t0 = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
        else:
            t0 = datetime.now(UTC).timestamp()
        self.clock: Clock = clock or ScaledClock(t0, float(scenario.get("speed", 1.0)))
        self.broker: MosquittoBroker | None = None
        self.mqtt_host = "127.0.0.1"
        self.mqtt_port = 0
        self.servers: dict[str, ModbusServer] = {}
        self.modbus_sims: dict[str, ModbusWallboxSim] = {}
        self.inverters: dict[str, SunSpecInverterSim] = {}
        self.mqtt_wallboxes: dict[str, MqttWallboxSim] = {}
        self.publishers: dict[str, P1Publisher] = {}
        self._clients: list[MqttClient] = []

    async def start(self) -> dict[str, Any]:
        """Start everything; returns the endpoints (what ``hems sim devices`` prints)."""
        sc = self.scenario
        out: dict[str, Any] = {"wallboxes": {}, "inverters": {}, "meters": {}}
        base_dir = Path(str(sc.get("_dir", ".")))
        evs = []
        for spec in sc.get("wallboxes", []) or []:
            name, kind = spec.get("name"), spec.get("type")
            if kind == "mqtt":
                continue
            if kind == "quasar":
                dmap: Any = quasar_table()
            elif kind == "sigenergy_evdc":
                dmap = sigenergy_evdc_table()
            elif kind == "ambicharge":
                dmap = ambicharge_table(int(spec.get("connector", 1)))
            elif kind == "modbus_map":
                dmap = load_device_map(base_dir / str(spec.get("map")))
            else:
                raise ConfigError(f"wallbox {name!r}: unknown type {kind!r}")
            sim = ModbusWallboxSim(dmap, _ev(spec), self.clock, single_write_only=kind == "quasar")
            server = ModbusServer(sim, port=int(spec.get("port", 0)))
            port = await server.start()
            self.servers[str(name)] = server
            self.modbus_sims[str(name)] = sim
            evs.append(sim)
            out["wallboxes"][name] = {"type": kind, "host": "127.0.0.1", "port": port}
        pv_sims = []
        for spec in sc.get("inverters", []) or []:
            name = str(spec.get("name", "pv"))
            profile = PvProfile(
                peak_w=float(spec.get("peak_w", 5000.0)), constant_w=spec.get("constant_w")
            )
            inv = SunSpecInverterSim(
                self.clock,
                profile=profile,
                rated_w=float(spec.get("rated_w", 6000.0)),
                float_model=bool(spec.get("float_model", False)),
                der_704=bool(spec.get("der_704", False)),
            )
            server = ModbusServer(inv, port=int(spec.get("port", 0)))
            port = await server.start()
            self.servers[name] = server
            self.inverters[name] = inv
            pv_sims.append(inv)
            out["inverters"][name] = {"type": "sunspec", "host": "127.0.0.1", "port": port}
        needs_mqtt = bool(sc.get("meters")) or any(
            w.get("type") == "mqtt" for w in sc.get("wallboxes", []) or []
        )
        if needs_mqtt:
            mqtt_cfg = sc.get("mqtt", {}) or {}
            if mqtt_cfg.get("spawn", "host" not in mqtt_cfg):
                self.broker = MosquittoBroker()
                self.mqtt_port = self.broker.start()
            else:
                self.mqtt_host = str(mqtt_cfg["host"])
                self.mqtt_port = int(mqtt_cfg.get("port", 1883))
            out["mqtt"] = {"host": self.mqtt_host, "port": self.mqtt_port}
        mqtt_evs = []
        for spec in sc.get("wallboxes", []) or []:
            if spec.get("type") != "mqtt":
                continue
            name = str(spec.get("name"))
            client = self._client()
            wb = MqttWallboxSim(
                client,
                _ev(spec),
                self.clock,
                setpoint_topic=str(spec.get("setpoint_topic", f"{name}/setpoint")),
                state_topic=str(spec.get("state_topic", f"{name}/state")),
                watchdog_s=float(spec.get("watchdog_s", 60.0)),
            )
            await wb.start()
            self.mqtt_wallboxes[name] = wb
            mqtt_evs.append(wb)
            out["wallboxes"][name] = {
                "type": "mqtt",
                "setpoint_topic": wb.setpoint_topic,
                "state_topic": wb.state_topic,
            }
        for spec in sc.get("meters", []) or []:
            name = str(spec.get("name", "p1"))
            house = HouseModel(
                base_load_w=float(spec.get("base_load_w", 400.0)),
                pv=(lambda: sum(p.ac_w for p in pv_sims)) if pv_sims else None,
                evs=[_ev_power(s.ev) for s in evs] + [_ev_power(w.ev) for w in mqtt_evs],
                battery=_constant(float(spec["battery_w"])) if "battery_w" in spec else None,
            )
            meter = P1MeterSim(house, self.clock, flavour=str(spec.get("flavour", "emucs")))
            pub = P1Publisher(
                meter,
                self._client(),
                telegram_topic=spec.get("telegram_topic", "p1/telegram"),
                dsmr_reader_prefix=spec.get("dsmr_reader_prefix", "dsmr/reading/"),
                json_topic=spec.get("json_topic", "p1/json"),
            )
            await pub.client.connect()
            self.publishers[name] = pub
            out["meters"][name] = {
                "flavour": meter.flavour,
                "telegram_topic": pub.telegram_topic,
                "dsmr_reader_prefix": pub.dsmr_reader_prefix,
                "json_topic": pub.json_topic,
            }
        return out

    def _client(self) -> MqttClient:
        client = MqttClient(self.mqtt_host, self.mqtt_port)
        self._clients.append(client)
        return client

    async def tick(self) -> None:
        """Advance every model to the clock and publish MQTT state once."""
        for sim in self.modbus_sims.values():
            sim.advance()
        for inv in self.inverters.values():
            inv.advance()
        for wb in self.mqtt_wallboxes.values():
            await wb.publish_state()
        for pub in self.publishers.values():
            await pub.publish_once()

    async def stop(self) -> None:
        """Stop servers, clients and the broker."""
        for server in self.servers.values():
            await server.stop()
        for client in self._clients:
            await client.close()
        if self.broker is not None:
            self.broker.stop()
