"""A simulated MQTT wallbox (OCPP bridge / DIY charger) backed by the EV battery model.

It listens on the setpoint topic (JSON ``{"power_w": …}`` or a plain number), publishes its
state as JSON, and stops the power when no setpoint arrives within ``watchdog_s`` seconds of
simulated time.
"""

from __future__ import annotations

import json
import math

from hems_core.devices.clock import Clock
from hems_core.devices.mqtt_client import MqttClient

from .ev import EvBattery, EvParams
from .faults import Faults


class MqttWallboxSim:
    """EV + MQTT protocol."""

    def __init__(
        self,
        client: MqttClient,
        ev: EvParams,
        clock: Clock,
        *,
        setpoint_topic: str = "wallbox/setpoint",
        state_topic: str = "wallbox/state",
        watchdog_s: float = 60.0,
        faults: Faults | None = None,
    ) -> None:
        self.client = client
        self.ev = EvBattery(ev, start_time=clock())
        self.clock = clock
        self.setpoint_topic = setpoint_topic
        self.state_topic = state_topic
        self.watchdog_s = watchdog_s
        self.faults = faults if faults is not None else Faults()
        self.setpoint_w = 0.0
        self.last_setpoint = clock()
        self.watchdog_trips = 0
        self.received = 0
        self._frozen: str | None = None

    async def start(self) -> None:
        """Subscribe and connect."""
        self.client.subscribe(self.setpoint_topic, self._on_setpoint)
        await self.client.connect()

    def _on_setpoint(self, topic: str, payload: bytes) -> None:
        self.advance()
        try:
            text = payload.decode()
            data = json.loads(text)
            value = float(data["power_w"]) if isinstance(data, dict) else float(data)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return  # a real box ignores what it cannot read
        if not math.isfinite(value):
            return
        lim = self.ev.params
        self.setpoint_w = min(max(value, -lim.max_discharge_w), lim.max_charge_w)
        self.last_setpoint = self.clock()
        self.received += 1

    def advance(self) -> None:
        """Physics and watchdog up to the clock."""
        now = self.clock()
        if self.setpoint_w != 0 and now - self.last_setpoint > self.watchdog_s:
            self.ev.advance(self.last_setpoint + self.watchdog_s, self.setpoint_w)
            self.setpoint_w = 0.0
            self.watchdog_trips += 1
        self.ev.advance(now, self.setpoint_w)

    def state_json(self) -> str:
        """The state payload."""
        self.advance()
        plugged = self.ev.plugged_at(self.ev.time)
        p = self.ev.power_w
        status = (
            "disconnected"
            if not plugged
            else "charging"
            if p > 1
            else "discharging"
            if p < -1
            else "waiting"
        )
        return json.dumps(
            {
                "power_w": round(p, 1),
                "soc": round(self.ev.soc_pct, 2),
                "plugged": plugged,
                "status": status,
                "energy_in_kwh": round(self.ev.energy_in_kwh, 4),
                "energy_out_kwh": round(self.ev.energy_out_kwh, 4),
            }
        )

    def current_state(self) -> str:
        """The state as published: the last one again while ``faults.frozen``."""
        text = self.state_json()
        if self.faults.frozen and self._frozen is not None:
            return self._frozen
        self._frozen = text
        return text

    async def publish_state(self) -> None:
        """Publish one state message (faults: silence, garbage, frozen)."""
        if self.faults.drop_connections:
            return
        text = self.current_state()
        if self.faults.garbage:
            text = "\x00{garbage"
        await self.client.publish(self.state_topic, text, qos=1)
