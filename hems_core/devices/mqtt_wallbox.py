"""A generic MQTT wallbox for OCPP bridges and DIY chargers.

Configuration names a setpoint topic (signed W: + charge, − discharge) and a state topic,
with JSON or plain payloads. Plain state can also come as one topic per field. The codec
(:func:`encode_setpoint`, :meth:`MqttWallboxConfig.decode_state`) is pure; the driver adds the
transport, freshness (no state for ``stale_after`` seconds, or a state that stops changing
while power flows → :class:`StaleDataError`) and
limits (setpoints outside them are refused before publishing).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import Clock, monotonic_clock
from .errors import (
    ConfigError,
    DeviceConnectionError,
    DeviceError,
    PayloadError,
    StaleDataError,
    ValueOutOfRangeError,
)
from .model import WallboxLimits, WallboxState, WallboxStatus
from .mqtt_client import MqttClient

STATE_FIELDS = ("power", "soc", "plugged", "status", "energy_in", "energy_out")


@dataclass(frozen=True)
class MqttWallboxConfig:
    """Topics, payload style and limits of an MQTT wallbox."""

    setpoint_topic: str
    state_topic: str | None = None
    payload: Literal["json", "plain"] = "json"
    #: JSON: our field -> key in the state object / setpoint object
    json_keys: Mapping[str, str] = field(
        default_factory=lambda: {
            "power": "power_w",
            "soc": "soc",
            "plugged": "plugged",
            "status": "status",
            "energy_in": "energy_in_kwh",
            "energy_out": "energy_out_kwh",
            "setpoint": "power_w",
        }
    )
    #: plain: our field -> topic carrying just that value
    field_topics: Mapping[str, str] = field(default_factory=dict)
    start_stop_topic: str | None = None
    watchdog_topic: str | None = None
    #: optional topic told "remote"/"local" when the HEMS takes or hands back control
    control_topic: str | None = None
    limits: WallboxLimits = field(
        default_factory=lambda: WallboxLimits(max_charge_w=11000.0, max_discharge_w=11000.0)
    )
    stale_after: float = 30.0

    def __post_init__(self) -> None:
        if self.payload not in ("json", "plain"):
            raise ConfigError("payload must be 'json' or 'plain'")
        if self.payload == "json" and not self.state_topic:
            raise ConfigError("JSON payloads need a state_topic")
        if self.payload == "plain" and "power" not in self.field_topics:
            raise ConfigError("plain payloads need field_topics['power']")
        for name in self.field_topics:
            if name not in STATE_FIELDS:
                raise ConfigError(f"unknown field {name!r}")

    def state_topics(self) -> list[str]:
        """Topics to subscribe to."""
        if self.payload == "json":
            assert self.state_topic is not None
            return [self.state_topic]
        return list(self.field_topics.values())

    def decode_state(self, topic: str, payload: bytes) -> dict[str, Any]:
        """One message -> the fields it carries (PayloadError when malformed)."""
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError as err:
            raise PayloadError("payload is not UTF-8") from err
        if self.payload == "json":
            try:
                data = json.loads(text)
            except (ValueError, RecursionError) as err:
                raise PayloadError(f"not JSON: {err}") from err
            if not isinstance(data, dict):
                raise PayloadError("state must be a JSON object")
            out = {}
            for ours in STATE_FIELDS:
                key = self.json_keys.get(ours)
                if key is not None and key in data and data[key] is not None:
                    out[ours] = _field(ours, data[key])
            if "power" not in out:
                raise PayloadError("state without power")
            return out
        for ours, t in self.field_topics.items():
            if t == topic:
                return {ours: _field(ours, text)}
        return {}


def _field(name: str, value: Any) -> Any:
    """Validate one state field."""
    if name == "status":
        if not isinstance(value, str):
            raise PayloadError("status must be a string")
        try:
            return WallboxStatus(value.lower())
        except ValueError:
            return WallboxStatus.UNKNOWN
    if name == "plugged":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "true",
            "1",
            "on",
            "yes",
            "false",
            "0",
            "off",
            "no",
        ):
            return value.lower() in ("true", "1", "on", "yes")
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        raise PayloadError(f"plugged: {value!r} is not a boolean")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as err:
            raise PayloadError(f"{name}: {value[:30]!r} is not a number") from err
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(f"{name}: {value!r} is not a finite number")
    return float(value)


def encode_setpoint(config: MqttWallboxConfig, watts: float) -> bytes:
    """A setpoint payload after the range check."""
    lim = config.limits
    if not math.isfinite(watts) or not -lim.max_discharge_w <= watts <= lim.max_charge_w:
        raise ValueOutOfRangeError(
            f"{watts} W outside [-{lim.max_discharge_w}, {lim.max_charge_w}]"
        )
    if watts != 0 and abs(watts) < lim.min_active_w:
        raise ValueOutOfRangeError(f"|{watts}| W below minimum {lim.min_active_w} W")
    value = round(watts, 1)
    if config.payload == "json":
        return json.dumps({config.json_keys.get("setpoint", "power_w"): value}).encode()
    return f"{value:g}".encode()


class MqttWallbox:
    """A :class:`~hems_core.devices.model.Wallbox` over MQTT topics."""

    def __init__(
        self, client: MqttClient, config: MqttWallboxConfig, *, clock: Clock = monotonic_clock
    ) -> None:
        self.client = client
        self.config = config
        self._clock = clock
        self._fields: dict[str, Any] = {}
        self._updated = float("-inf")
        self._changed = float("-inf")
        self.errors = 0
        self.received = 0
        #: True once we sent a setpoint and until :meth:`release`
        self.in_control = False

    async def connect(self) -> None:
        """Subscribe to the state topics and connect."""
        for topic in self.config.state_topics():
            self.client.subscribe(topic, self._on_message)
        await self.client.connect()

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            fields = self.config.decode_state(topic, payload)
        except PayloadError:
            self.errors += 1
            return
        if fields:
            self.received += 1
            now = self._clock()
            merged = {**self._fields, **fields}
            if merged != self._fields:
                self._changed = now
            self._fields = merged
            self._updated = now

    async def read_state(self) -> WallboxState:
        """The latest state (typed error when none or stale)."""
        age = self._clock() - self._updated
        if "power" not in self._fields or age > self.config.stale_after:
            if not self.client.connected:
                raise DeviceConnectionError("MQTT wallbox: broker not connected")
            raise StaleDataError("MQTT wallbox: no fresh state")
        f = self._fields
        power = float(f["power"])
        if abs(power) > 1.0 and self._clock() - self._changed > self.config.stale_after:
            raise StaleDataError("MQTT wallbox: state frozen while power flows")
        status = f.get("status")
        if status is None:
            status = (
                WallboxStatus.CHARGING
                if power > 1
                else WallboxStatus.DISCHARGING
                if power < -1
                else WallboxStatus.WAITING
            )
        plugged = f.get("plugged", status is not WallboxStatus.DISCONNECTED)
        return WallboxState(
            status=status,
            plugged=bool(plugged),
            power_w=power,
            energy_in_kwh=f.get("energy_in"),
            energy_out_kwh=f.get("energy_out"),
            soc_pct=f.get("soc"),
            limits=self.config.limits,
            raw_status=status.value,
        )

    async def set_power(self, watts: float) -> None:
        """Publish a signed setpoint (QoS 1, acknowledged within the timeout)."""
        payload = encode_setpoint(self.config, watts)
        if self.config.control_topic and not self.in_control:
            await self.client.publish(self.config.control_topic, b"remote", retain=True)
        self.in_control = True
        await self.client.publish(self.config.setpoint_topic, payload)

    async def start(self) -> None:
        """Publish 'start' on the start/stop topic (no-op without one)."""
        if self.config.start_stop_topic:
            await self.client.publish(self.config.start_stop_topic, b"start")

    async def stop(self) -> None:
        """Publish 'stop', or setpoint 0 without a start/stop topic."""
        if self.config.start_stop_topic:
            await self.client.publish(self.config.start_stop_topic, b"stop")
        else:
            await self.set_power(0.0)

    async def program_watchdog(self, timeout_s: float) -> bool:
        """Publish the idle timeout (retained) when the box has a watchdog topic."""
        if not self.config.watchdog_topic:
            return False
        await self.client.publish(
            self.config.watchdog_topic, f"{round(timeout_s)}".encode(), retain=True
        )
        return True

    async def release(self) -> None:
        """Hand back: setpoint 0 (and 'stop'), then 'local' on the control topic if any.

        The retained watchdog timeout is cleared so a stale value cannot outlive the HEMS.
        """
        await self.client.publish(self.config.setpoint_topic, encode_setpoint(self.config, 0.0))
        if self.config.start_stop_topic:
            await self.client.publish(self.config.start_stop_topic, b"stop")
        if self.config.watchdog_topic:
            await self.client.publish(self.config.watchdog_topic, b"", retain=True)
        if self.config.control_topic:
            await self.client.publish(self.config.control_topic, b"local", retain=True)
        self.in_control = False

    async def close(self) -> None:
        """Hand back control if we hold it (best effort), then disconnect."""
        if self.in_control and self.client.connected:
            # if the broker is gone the box's own watchdog stops it
            with contextlib.suppress(DeviceError):
                await self.release()
        await self.client.close()
