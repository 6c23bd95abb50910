"""A backup gateway / transfer switch: what it reports about the grid and the island.

The gateway (Sigen Gateway, Enphase IQ System Controller, Ford's Home Integration System, a
wallbox with a "Power Recovery" mode, a hybrid inverter's backup port) does the electrical
transfer; the HEMS only reads it and programs the island source's discharge cut-off where the
hardware allows. :class:`BackupGateway` is the interface the runtime uses;
:func:`decode_status` is a sans-IO decoder for a JSON status (an MQTT topic or a local HTTP
API), so any transport can feed it and a bad payload is a clear error, never a guess.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..control.types import GridObs
from .clock import Clock, monotonic_clock
from .errors import DeviceConnectionError, DeviceError, StaleDataError
from .mqtt_client import MqttClient

__all__ = ["BackupGateway", "GatewayStatus", "MqttBackupGateway", "decode_status"]


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """One status read; ``None`` where the gateway cannot tell."""

    grid_ok: bool | None
    island: bool | None
    voltage_v: float | None = None
    frequency_hz: float | None = None
    backup_load_w: float | None = None
    island_source: str | None = None
    island_limit_w: float | None = None

    def to_obs(self, at: datetime) -> GridObs:
        """The core's view of this read, stamped ``at``."""
        return GridObs(
            at=at,
            gateway_grid=self.grid_ok,
            gateway_island=self.island,
            voltage_v=self.voltage_v,
            frequency_hz=self.frequency_hz,
            backup_load_w=self.backup_load_w,
            island_source=self.island_source,
            island_limit_w=self.island_limit_w,
        )


@runtime_checkable
class BackupGateway(Protocol):
    """What the runtime needs from a backup gateway."""

    async def read_status(self) -> GatewayStatus:
        """Read the grid and island state (raises ``DeviceError`` when it cannot)."""
        ...


def _opt_bool(d: dict[str, Any], key: str) -> bool | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("on", "off", "true", "false", "1", "0"):
        return v.lower() in ("on", "true", "1")
    raise DeviceError(f"gateway status: {key} must be a boolean, got {v!r}")


def _opt_float(d: dict[str, Any], key: str, low: float, high: float) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise DeviceError(f"gateway status: {key} must be a finite number, got {v!r}")
    if not low <= v <= high:
        raise DeviceError(f"gateway status: {key} out of range [{low}, {high}]: {v!r}")
    return float(v)


def decode_status(payload: bytes | str) -> GatewayStatus:
    """Decode ``{"grid": bool, "island": bool, "voltage_v", "frequency_hz", "backup_load_w",
    "source", "limit_w"}`` (every key optional); raises ``DeviceError`` on bad input."""
    try:
        d = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise DeviceError(f"gateway status is not JSON: {err}") from None
    if not isinstance(d, dict):
        raise DeviceError("gateway status must be a JSON object")
    source = d.get("source")
    if source is not None and (not isinstance(source, str) or not source):
        raise DeviceError(f"gateway status: source must be a device name, got {source!r}")
    return GatewayStatus(
        grid_ok=_opt_bool(d, "grid"),
        island=_opt_bool(d, "island"),
        voltage_v=_opt_float(d, "voltage_v", 0.0, 500.0),
        frequency_hz=_opt_float(d, "frequency_hz", 0.0, 70.0),
        backup_load_w=_opt_float(d, "backup_load_w", 0.0, 1e6),
        island_source=source,
        island_limit_w=_opt_float(d, "limit_w", 0.0, 1e6),
    )


_LOGGER = logging.getLogger(__name__)


class MqttBackupGateway:
    """A gateway whose status arrives as JSON on an MQTT topic (a bridge, Node-RED, a vendor's
    local MQTT): the newest valid status, or a typed error when there is none or it is older
    than ``stale_after`` s (the core then treats the gateway as silent: unknown, never off)."""

    def __init__(
        self, client: MqttClient, topic: str, *, stale_after: float = 10.0,
        clock: Clock = monotonic_clock,
    ) -> None:  # fmt: skip
        self.client = client
        self.topic = topic
        self.stale_after = stale_after
        self._clock = clock
        self._latest: GatewayStatus | None = None
        self._at = float("-inf")
        self.errors = 0
        self.last_error: DeviceError | None = None

    async def connect(self) -> None:
        """Subscribe and connect."""
        self.client.subscribe(self.topic, self._on_message)
        await self.client.connect()

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            status = decode_status(payload)
        except DeviceError as err:
            self.errors += 1
            self.last_error = err
            _LOGGER.debug("gateway %s: %s", topic, err)
            return  # a bad payload loses nothing: the last good status ages out on its own
        self._latest = status
        self._at = self._clock()

    async def read_status(self) -> GatewayStatus:
        """The newest status (see the class docstring)."""
        if self._latest is None:
            if not self.client.connected:
                raise DeviceConnectionError("MQTT gateway not connected")
            raise StaleDataError("no gateway status yet")
        age = self._clock() - self._at
        if age > self.stale_after:
            raise StaleDataError(f"gateway status {age:.0f} s old")
        return self._latest

    async def close(self) -> None:
        """Disconnect."""
        await self.client.close()
