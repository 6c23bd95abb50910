"""A simulated P1 meter: a house model whose grid exchange is published over MQTT.

Grid power = house load + EV charging − PV − home-battery discharge (W, + import). The meter
keeps energy counters, the running quarter-hour average demand (1-0:1.4.0), the month peak
(1-0:1.6.0) and a peak history (0-0:98.1.0), and publishes in the configured styles: raw
telegram, DSMR-reader per-field topics, HomeWizard-style JSON. Faults: bad CRC, garbage,
frozen telegrams, silence (``drop_connections``).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hems_core.devices.clock import Clock
from hems_core.devices.model import MeterReading, PeakRecord
from hems_core.devices.mqtt_client import MqttClient
from hems_core.devices.p1 import format_telegram
from hems_core.timegrid import STEP_S

from .faults import Faults

PowerSource = Callable[[], float]


@dataclass
class HouseModel:
    """Sources of power in the house (each a callable returning W at the current time)."""

    base_load_w: float = 400.0
    load_amplitude_w: float = 300.0
    pv: PowerSource | None = None
    evs: list[PowerSource] = field(default_factory=list)
    battery: PowerSource | None = None
    #: the house load at epoch seconds ``t`` (W); replaces the sine profile when given
    load: Callable[[float], float] | None = None

    def grid_w(self, t: float) -> float:
        """Grid exchange at epoch seconds ``t`` (+ import, − export)."""
        hour = (t % 86400) / 3600
        if self.load is not None:
            load = self.load(t)
        else:
            load = (
                self.base_load_w
                + self.load_amplitude_w * (1 + math.sin(2 * math.pi * (hour - 13) / 24)) / 2
            )
        total = load + sum(ev() for ev in self.evs)
        if self.pv is not None:
            total -= self.pv()
        if self.battery is not None:
            total -= self.battery()
        return total


class P1MeterSim:
    """Integrates the house model and renders readings."""

    def __init__(
        self,
        house: HouseModel,
        clock: Clock,
        *,
        flavour: str = "emucs",
        faults: Faults | None = None,
        seed: int = 3,
    ) -> None:
        self.house = house
        self.clock = clock
        self.flavour = flavour
        self.faults = faults if faults is not None else Faults()
        self._rng = random.Random(seed)
        self.time = clock()
        self.power_w = house.grid_w(self.time)
        self.energy_in_kwh = 1000.0
        self.energy_out_kwh = 100.0
        self._quarter_start = self.time - self.time % STEP_S
        self._quarter_kwh = 0.0
        self.month_peak_kw = 0.0
        self.month_peak_at = datetime.fromtimestamp(self.time, UTC)
        self.history: list[PeakRecord] = []
        self._frozen: MeterReading | None = None

    def advance(self) -> None:
        """Integrate up to the clock in 1 s steps."""
        now = self.clock()
        while self.time < now - 1e-9:
            dt = min(1.0, now - self.time)
            self.power_w = self.house.grid_w(self.time)
            kwh = self.power_w / 1000 * dt / 3600
            if kwh >= 0:
                self.energy_in_kwh += kwh
                self._quarter_kwh += kwh
            else:
                self.energy_out_kwh -= kwh
            self.time += dt
            if self.time >= self._quarter_start + STEP_S:
                avg = self._quarter_kwh * 4
                if avg > self.month_peak_kw:
                    self.month_peak_kw = avg
                    self.month_peak_at = datetime.fromtimestamp(self._quarter_start + STEP_S, UTC)
                self._quarter_start += STEP_S
                self._quarter_kwh = 0.0

    def reading(self) -> MeterReading:
        """The current reading (frozen while ``faults.frozen``)."""
        self.advance()
        if self.faults.frozen and self._frozen is not None:
            return self._frozen
        elapsed = max(self.time - self._quarter_start, 1.0)
        p = self.power_w + self._rng.uniform(-1, 1)
        r = MeterReading(
            timestamp=datetime.fromtimestamp(self.time, UTC).replace(microsecond=0),
            power_w=p,
            power_import_w=max(p, 0.0),
            power_export_w=max(-p, 0.0),
            phase_power_w=(p / 3, p / 3, p / 3),
            voltage_v=(230.0, 230.0, 230.0),
            current_a=(abs(p) / 690, abs(p) / 690, abs(p) / 690),
            energy_import_kwh=self.energy_in_kwh,
            energy_export_kwh=self.energy_out_kwh,
            tariff=1,
            demand_quarter_kw=self._quarter_kwh * 3600 / elapsed,
            demand_month_peak_kw=self.month_peak_kw,
            demand_month_peak_at=self.month_peak_at,
            peak_history=tuple(self.history),
        )
        self._frozen = r
        return r

    def telegram(self) -> str:
        """The reading as a telegram (CRC broken while ``faults.bad_crc``)."""
        text = format_telegram(self.reading(), flavour=self.flavour)
        if self.faults.bad_crc:
            bang = text.rindex("!")
            crc = int(text[bang + 1 : bang + 5], 16) ^ 0x0101
            text = f"{text[: bang + 1]}{crc:04X}\r\n"
        return text


def dsmr_reader_fields(r: MeterReading) -> dict[str, str]:
    """DSMR-reader style per-field values (kW, kWh, V, A as plain text)."""
    out = {
        "electricity_currently_delivered": f"{(r.power_import_w or 0) / 1000:.3f}",
        "electricity_currently_returned": f"{(r.power_export_w or 0) / 1000:.3f}",
        "electricity_delivered_1": f"{(r.energy_import_kwh or 0) / 2:.3f}",
        "electricity_delivered_2": f"{(r.energy_import_kwh or 0) / 2:.3f}",
        "electricity_returned_1": f"{(r.energy_export_kwh or 0) / 2:.3f}",
        "electricity_returned_2": f"{(r.energy_export_kwh or 0) / 2:.3f}",
    }
    for i in range(3):
        ph = r.phase_power_w[i] or 0.0
        out[f"phase_currently_delivered_l{i + 1}"] = f"{max(ph, 0) / 1000:.3f}"
        out[f"phase_currently_returned_l{i + 1}"] = f"{max(-ph, 0) / 1000:.3f}"
        out[f"phase_voltage_l{i + 1}"] = f"{r.voltage_v[i] or 0:.1f}"
    return out


def homewizard_json(r: MeterReading) -> str:
    """HomeWizard-style JSON object."""
    data = {
        "active_power_w": round(r.power_w, 1),
        "active_power_l1_w": round(r.phase_power_w[0] or 0, 1),
        "active_power_l2_w": round(r.phase_power_w[1] or 0, 1),
        "active_power_l3_w": round(r.phase_power_w[2] or 0, 1),
        "active_voltage_l1_v": r.voltage_v[0],
        "total_power_import_kwh": round(r.energy_import_kwh or 0, 3),
        "total_power_export_kwh": round(r.energy_export_kwh or 0, 3),
        "active_tariff": r.tariff,
        "active_power_average_w": round((r.demand_quarter_kw or 0) * 1000, 1),
        "montly_power_peak_w": round((r.demand_month_peak_kw or 0) * 1000, 1),
    }
    return json.dumps(data)


class P1Publisher:
    """Publishes a :class:`P1MeterSim` over MQTT in the chosen styles."""

    def __init__(
        self,
        meter: P1MeterSim,
        client: MqttClient,
        *,
        telegram_topic: str | None = "p1/telegram",
        dsmr_reader_prefix: str | None = "dsmr/reading/",
        json_topic: str | None = "p1/json",
    ) -> None:
        self.meter = meter
        self.client = client
        self.telegram_topic = telegram_topic
        self.dsmr_reader_prefix = dsmr_reader_prefix
        self.json_topic = json_topic
        self.published = 0

    async def publish_once(self) -> None:
        """Publish one reading in every configured style (nothing while dropping)."""
        faults = self.meter.faults
        if faults.drop_connections:
            return
        reading = self.meter.reading()
        if self.telegram_topic:
            payload = self.meter.telegram().encode()
            if faults.garbage:
                payload = bytes(self.meter._rng.randrange(256) for _ in range(64))
            await self.client.publish(self.telegram_topic, payload, qos=1)
        if self.dsmr_reader_prefix:
            fields = dsmr_reader_fields(reading)
            trigger = "electricity_currently_delivered"
            for name, value in fields.items():
                if name != trigger:
                    await self.client.publish(self.dsmr_reader_prefix + name, value, qos=1)
            value = "garbage!" if faults.garbage else fields[trigger]
            await self.client.publish(self.dsmr_reader_prefix + trigger, value, qos=1)
        if self.json_topic:
            text = "{not json" if faults.garbage else homewizard_json(reading)
            await self.client.publish(self.json_topic, text, qos=1)
        self.published += 1
