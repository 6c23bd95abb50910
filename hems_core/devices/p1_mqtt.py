"""P1 meters over MQTT: three payload styles, one :class:`MeterReading`.

- :class:`RawTelegramDecoder` — one topic carrying whole telegrams (e.g. a P1 dongle's
  ``p1/telegram``); parsed and CRC-checked by :mod:`hems_core.devices.p1`.
- :class:`DsmrReaderDecoder` — DSMR-reader's per-field topics (``dsmr/reading/<field>``, plain
  numbers in kW/kWh/V/A), configurable field → topic map.
- :class:`JsonDecoder` — one JSON object per message with HomeWizard-style keys
  (``active_power_w``, ``total_power_import_kwh``, ``montly_power_peak_w`` [sic] …), configurable.

Decoders are pure (topic, payload) → reading; they raise only :class:`PayloadError` or
:class:`TelegramError`. :class:`MqttMeter` glues a decoder to an :class:`MqttClient` and adds
freshness: a reading older than ``stale_after`` or one whose content stopped changing is
refused with :class:`StaleDataError` rather than silently reused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from .clock import Clock, monotonic_clock
from .errors import DeviceConnectionError, PayloadError, StaleDataError, TelegramError
from .model import MeterReading
from .mqtt_client import MqttClient
from .p1 import parse_telegram


class P1Decoder(Protocol):
    """Turns MQTT messages into readings."""

    def topics(self) -> list[str]:
        """Topic filters to subscribe to."""
        ...

    def feed(self, topic: str, payload: bytes) -> MeterReading | None:
        """Decode one message; a reading when one is complete, else None."""
        ...


def _text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError as err:
        raise PayloadError("payload is not UTF-8") from err


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise PayloadError(f"{what}: {text[:30]!r} is not a number") from err
    if not math.isfinite(value):
        raise PayloadError(f"{what}: {text[:30]!r} is not finite")
    return value


@dataclass
class RawTelegramDecoder:
    """Whole telegrams on one topic."""

    topic: str = "p1/telegram"
    require_crc: bool = True

    def topics(self) -> list[str]:
        """The telegram topic."""
        return [self.topic]

    def feed(self, topic: str, payload: bytes) -> MeterReading | None:
        """Parse the telegram (TelegramError on any defect)."""
        return parse_telegram(payload, require_crc=self.require_crc).reading


#: DSMR-reader field name -> (MeterReading attribute or phase slot, factor to W/kWh/V/A)
DSMR_READER_FIELDS: dict[str, tuple[str, float]] = {
    "electricity_currently_delivered": ("power_import_w", 1000.0),
    "electricity_currently_returned": ("power_export_w", 1000.0),
    "electricity_delivered_1": ("energy_import_1", 1.0),
    "electricity_delivered_2": ("energy_import_2", 1.0),
    "electricity_returned_1": ("energy_export_1", 1.0),
    "electricity_returned_2": ("energy_export_2", 1.0),
    "phase_currently_delivered_l1": ("phase_in_0", 1000.0),
    "phase_currently_delivered_l2": ("phase_in_1", 1000.0),
    "phase_currently_delivered_l3": ("phase_in_2", 1000.0),
    "phase_currently_returned_l1": ("phase_out_0", 1000.0),
    "phase_currently_returned_l2": ("phase_out_1", 1000.0),
    "phase_currently_returned_l3": ("phase_out_2", 1000.0),
    "phase_voltage_l1": ("voltage_0", 1.0),
    "phase_voltage_l2": ("voltage_1", 1.0),
    "phase_voltage_l3": ("voltage_2", 1.0),
    "phase_power_current_l1": ("current_0", 1.0),
    "phase_power_current_l2": ("current_1", 1.0),
    "phase_power_current_l3": ("current_2", 1.0),
}


@dataclass
class DsmrReaderDecoder:
    """DSMR-reader per-field topics; a reading is emitted when ``trigger`` arrives."""

    prefix: str = "dsmr/reading/"
    trigger: str = "electricity_currently_delivered"
    fields: Mapping[str, tuple[str, float]] = field(
        default_factory=lambda: dict(DSMR_READER_FIELDS)
    )
    _values: dict[str, float] = field(default_factory=dict)

    def topics(self) -> list[str]:
        """One wildcard under the prefix."""
        return [self.prefix + "#"]

    def feed(self, topic: str, payload: bytes) -> MeterReading | None:
        """Store one field; emit the combined reading on the trigger field."""
        if not topic.startswith(self.prefix):
            return None
        name = topic[len(self.prefix) :]
        if name == "timestamp":
            return None
        spec = self.fields.get(name)
        if spec is None:
            return None
        self._values[spec[0]] = _float(_text(payload), name) * spec[1]
        if name != self.trigger:
            return None
        return self._reading()

    def _reading(self) -> MeterReading:
        v = self._values
        imp = v.get("power_import_w")
        exp = v.get("power_export_w")
        phases = tuple(
            None
            if f"phase_in_{i}" not in v and f"phase_out_{i}" not in v
            else v.get(f"phase_in_{i}", 0.0) - v.get(f"phase_out_{i}", 0.0)
            for i in range(3)
        )
        e_in = [v[k] for k in ("energy_import_1", "energy_import_2") if k in v]
        e_out = [v[k] for k in ("energy_export_1", "energy_export_2") if k in v]
        return MeterReading(
            timestamp=None,
            power_w=(imp or 0.0) - (exp or 0.0),
            power_import_w=imp,
            power_export_w=exp,
            phase_power_w=(phases[0], phases[1], phases[2]),
            voltage_v=(v.get("voltage_0"), v.get("voltage_1"), v.get("voltage_2")),
            current_a=(v.get("current_0"), v.get("current_1"), v.get("current_2")),
            energy_import_kwh=sum(e_in) if e_in else None,
            energy_export_kwh=sum(e_out) if e_out else None,
        )


#: HomeWizard P1 API v1 keys (``montly`` is HomeWizard's own spelling).
HOMEWIZARD_KEYS: dict[str, str] = {
    "power_w": "active_power_w",
    "power_l1_w": "active_power_l1_w",
    "power_l2_w": "active_power_l2_w",
    "power_l3_w": "active_power_l3_w",
    "voltage_l1_v": "active_voltage_l1_v",
    "voltage_l2_v": "active_voltage_l2_v",
    "voltage_l3_v": "active_voltage_l3_v",
    "current_l1_a": "active_current_l1_a",
    "current_l2_a": "active_current_l2_a",
    "current_l3_a": "active_current_l3_a",
    "energy_import_kwh": "total_power_import_kwh",
    "energy_export_kwh": "total_power_export_kwh",
    "tariff": "active_tariff",
    "demand_quarter_w": "active_power_average_w",
    "month_peak_w": "montly_power_peak_w",
    "month_peak_ts": "montly_power_peak_timestamp",
    "gas_m3": "total_gas_m3",
}


@dataclass
class JsonDecoder:
    """One JSON object per message; ``keys`` maps our names onto the payload's keys."""

    topic: str = "p1/json"
    keys: Mapping[str, str] = field(default_factory=lambda: dict(HOMEWIZARD_KEYS))

    def topics(self) -> list[str]:
        """The JSON topic."""
        return [self.topic]

    def _num(self, data: Mapping[str, Any], ours: str) -> float | None:
        key = self.keys.get(ours)
        if key is None or key not in data or data[key] is None:
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PayloadError(f"{key}: {value!r} is not a number")
        if not math.isfinite(value):
            raise PayloadError(f"{key}: not finite")
        return float(value)

    def feed(self, topic: str, payload: bytes) -> MeterReading | None:
        """Decode the JSON object (PayloadError when it is not one or has wrong types)."""
        try:
            data = json.loads(_text(payload))
        except (ValueError, RecursionError) as err:
            raise PayloadError(f"not JSON: {err}") from err
        if not isinstance(data, dict):
            raise PayloadError("JSON payload must be an object")
        power = self._num(data, "power_w")
        if power is None:
            raise PayloadError(f"missing {self.keys.get('power_w')!r}")
        quarter = self._num(data, "demand_quarter_w")
        peak = self._num(data, "month_peak_w")
        peak_ts = self._num(data, "month_peak_ts")
        peak_at = None
        if peak_ts is not None:
            # HomeWizard sends YYMMDDhhmmss as a number, Dutch/Belgian local time
            from .p1 import _parse_timestamp

            text = f"{int(peak_ts):012d}"
            peak_at = _parse_timestamp(text + "W") if len(text) == 12 else None
        tariff = self._num(data, "tariff")
        return MeterReading(
            timestamp=None,
            power_w=power,
            power_import_w=max(power, 0.0),
            power_export_w=max(-power, 0.0),
            phase_power_w=(
                self._num(data, "power_l1_w"),
                self._num(data, "power_l2_w"),
                self._num(data, "power_l3_w"),
            ),
            voltage_v=(
                self._num(data, "voltage_l1_v"),
                self._num(data, "voltage_l2_v"),
                self._num(data, "voltage_l3_v"),
            ),
            current_a=(
                self._num(data, "current_l1_a"),
                self._num(data, "current_l2_a"),
                self._num(data, "current_l3_a"),
            ),
            energy_import_kwh=self._num(data, "energy_import_kwh"),
            energy_export_kwh=self._num(data, "energy_export_kwh"),
            tariff=int(tariff) if tariff is not None else None,
            demand_quarter_kw=None if quarter is None else quarter / 1000,
            demand_month_peak_kw=None if peak is None else peak / 1000,
            demand_month_peak_at=peak_at,
            gas_m3=self._num(data, "gas_m3"),
        )


class MqttMeter:
    """A :class:`~hems_core.devices.model.Meter` fed by an MQTT decoder."""

    def __init__(
        self,
        client: MqttClient,
        decoder: P1Decoder,
        *,
        stale_after: float = 30.0,
        clock: Clock = monotonic_clock,
    ) -> None:
        self.client = client
        self.decoder = decoder
        self.stale_after = stale_after
        self._clock = clock
        self._latest: MeterReading | None = None
        self._received_at = float("-inf")
        self._changed_at = float("-inf")
        self.errors = 0
        self.received = 0
        self.last_error: Exception | None = None
        self._started = False

    async def connect(self) -> None:
        """Connect and subscribe."""
        for topic in self.decoder.topics():
            self.client.subscribe(topic, self._on_message)
        await self.client.connect()
        self._started = True

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            reading = self.decoder.feed(topic, payload)
        except (PayloadError, TelegramError) as err:
            self.errors += 1
            self.last_error = err
            return
        if reading is None:
            return
        self.received += 1
        now = self._clock()
        if reading.timestamp is None:
            reading = replace(reading, timestamp=datetime.now(UTC))
            same = self._latest is not None and replace(self._latest, timestamp=None) == replace(
                reading, timestamp=None
            )
        else:
            same = self._latest is not None and self._latest == reading
        if not same:
            self._changed_at = now
        self._latest = reading
        self._received_at = now

    async def read(self) -> MeterReading:
        """The newest reading; typed errors when there is none or it is stale/frozen."""
        now = self._clock()
        if self._latest is None:
            if not self.client.connected:
                raise DeviceConnectionError("MQTT meter not connected")
            if self.last_error is not None:
                raise StaleDataError(f"no valid reading yet (last error: {self.last_error})")
            raise StaleDataError("no reading yet")
        if now - self._received_at > self.stale_after:
            if not self.client.connected:
                raise DeviceConnectionError("MQTT meter disconnected and reading stale")
            raise StaleDataError(f"last reading {now - self._received_at:.0f} s old")
        if now - self._changed_at > self.stale_after:
            raise StaleDataError(f"reading frozen for {now - self._changed_at:.0f} s")
        return self._latest

    async def close(self) -> None:
        """Disconnect."""
        await self.client.close()
