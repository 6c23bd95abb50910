"""Site configuration → the objects the control runtime needs, from one validated document.

One configuration (a YAML file for the CLI via :func:`load_config`, a plain dict from a Home
Assistant config entry via :func:`parse_config`) builds the planning model, the control settings,
the departure schedules, the control core, the un-connected drivers and the runtime, so no
caller constructs them by hand. Every error is a :class:`SiteConfigError` (a ``ValueError``)
whose message starts with the path of the field, e.g.
``devices.wallboxes[0].port: must be an integer 1..65535, got 'abc'``. Unknown keys are errors
(a typo must not be silently ignored), with a "did you mean" hint when a key is close.

Schema (``docs/configuration.md`` has the full example; defaults in brackets)::

    site:
      timezone: Europe/Brussels            # IANA zone [Europe/Brussels]
      grid: {import_limit_kw [17], export_limit_kw [10], fuse_a (per phase, optional),
             phases: 1|3 [1], voltage [230]}   # fuse_kw = fuse_a * voltage * phases / 1000
      policy: {allow_export_from_storage [false]}
      tariff: {capacity: none|flanders|sweden [none],
               flanders: eur_per_kw_year [53];
               sweden: eur_per_kw_month (required), count [3], night_weight [1],
                       night_start_hour [22], night_end_hour [6]}
    cars:                                  # list; names unique
      - {name, capacity_kwh, max_charge_kw, max_discharge_kw [0], chemistry nmc|lfp [nmc],
         min_soc [0.1], max_soc [1], efficiency [0.92] (each way), cannot_pause [false],
         min_current_a [6] | min_power_w (not both), phases: 1|3|[L..] [1], arrival_soc [0.5],
         departures: {target_soc [0.8], weekly: {mon..sun: "07:30" | {time, target_soc}}}}
    battery:                               # optional home battery
      {name [battery], capacity_kwh, max_charge_kw, max_discharge_kw, reserve_soc [0.1],
       max_soc [1], chemistry [lfp], efficiency [0.95], min_power_w [0], phases [all grid phases],
       driver: {type: sunspec, host, port [502], unit_id [1]} (optional: planning only)}
    devices:
      meter: {type: mqtt, host, port [1883], username, password, format: telegram|dsmr_reader|json
              [telegram], topic [p1/telegram | dsmr/reading/ (a prefix) | p1/json],
              require_crc [true]}
             | {type: entity (Home Assistant only), power_entity | import_power_entity +
              export_power_entity, current_l1/l2/l3_entity, power_unit W|kW [W]}
      wallboxes:                           # one per car; name = the car it charges
        - {name, type: quasar|ambicharge|sigenergy_evdc|modbus_map|mqtt|ocpp, host,
           port [502, mqtt 1883], unit_id (map default), connector [1] (ambicharge),
           map (modbus_map: path, relative to the config file), username/password (mqtt),
           payload json|plain [json] (mqtt),
           topics (mqtt): {setpoint, state, watchdog, start_stop, control};
           ocpp: host [0.0.0.0] / port [9000] where our CSMS listens, identity [name],
           password, safe_limit_w [0], offline_timeout_s [60], id_tokens [free vending],
           certfile/keyfile (TLS);
           entity (Home Assistant only, docs/configuration.md "Entity-backed devices"):
           power_entity, soc_entity, plugged_entity, plugged_states, write_mode
           number|select|action; number: setpoint_entity; select: select_entity
           [, select_charge, select_discharge, select_idle]; action: action, action_data,
           action_field [power_w]; power_unit W|kW [W], setpoint_unit W|kW|A [W],
           voltage [230] (A: W = A·V·phases), discharge negative|positive [negative],
           max_charge_kw/max_discharge_kw [the car's], step [0], stale_after_s}
      pv: {type: sunspec, host, port [502], unit_id [1], rated_w, curtailable [true]}
      gateway: {type: mqtt, host, port [1883], topic, username, password, stale_after_s [10]}
                                           # backup gateway: JSON status (docs/island.md)
    island:                                # hems_core.control.grid.IslandSettings fields
      {detect_s, stable_s, min_recovery_s, island_limit_w, battery_island_floor, ...}
      # except tiers and ev_mobility_floor (not configurable here yet)
    control:                               # hems_core.control.settings.ControlSettings fields
      {deadband_w, meter_timeout_s, command_ttl_s, safe_charge_w, follower, ...}
      # except fuse_a/voltage_v (from site.grid) and storage (from cars/battery)

Design notes: the config holds plain validated values; objects are built on demand by the
methods of :class:`SiteConfig` (each call builds new objects, so a Home Assistant reload never
shares state with the previous core). ``control`` accepts whatever fields ControlSettings has
(read from the dataclass), so a new setting is configurable without touching this module.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Final, NoReturn
from zoneinfo import ZoneInfo

from .control.core import ControlCore
from .control.departures import DepartureSchedule
from .control.grid import IslandSettings
from .control.runtime import Runtime, planner_solver
from .control.settings import ControlSettings, StorageSettings
from .devices.clock import Clock, monotonic_clock
from .model import (
    Chemistry,
    Ev,
    Grid,
    HomeBattery,
    ModelError,
    MonthlyPeakTariff,
    Pv,
    Site,
    TopPeaksTariff,
)

__all__ = [
    "ConfigError",
    "Drivers",
    "SiteConfig",
    "SiteConfigError",
    "load_config",
    "parse_config",
]


class SiteConfigError(ModelError):
    """The site configuration is invalid; the message starts with the field's path."""


#: Short name used in the docs and by callers.
ConfigError = SiteConfigError

_REQUIRED: Final = object()
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WALLBOX_TYPES: Final = (
    "quasar", "ambicharge", "sigenergy_evdc", "modbus_map", "mqtt", "ocpp", "entity",
)  # fmt: skip
#: ``(name, endpoint, car, clock) -> driver`` for wallbox types this library cannot build itself
#: (``entity``: Home Assistant entities, built by the integration).
WallboxFactory = Callable[[str, "EndpointConfig", "CarConfig", Clock], Any]
METER_FORMATS: Final = ("telegram", "dsmr_reader", "json")
_METER_TOPICS: Final = {
    "telegram": "p1/telegram",
    "dsmr_reader": "dsmr/reading/",
    "json": "p1/json",
}
#: ControlSettings fields that come from elsewhere in the configuration.
_DERIVED_CONTROL: Final = {"fuse_a": "site.grid.fuse_a", "voltage_v": "site.grid.voltage",
                           "storage": "cars / battery"}  # fmt: skip
#: IslandSettings fields that take more than a number (shed tiers: the runtime's load switches).
_UNCONFIGURABLE_ISLAND: Final = ("tiers", "ev_mobility_floor")


# -- reading helpers: every one takes the path of the value it checks ---------------------------


def _fail(path: str, message: str) -> NoReturn:
    raise SiteConfigError(f"{path}: {message}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _mapping(value: Any, path: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    """``value`` as a mapping whose keys are all in ``allowed`` (unknown keys: an error)."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        _fail(path, f"must be a mapping, got {value!r}")
    for key in value:
        if not isinstance(key, str) or key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(_join(path, str(key)), f"unknown key{hint}; allowed: {', '.join(allowed)}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        _fail(path, f"must be a list, got {value!r}")
    return list(value)


def _get(d: Mapping[str, Any], key: str, path: str, default: Any) -> Any:
    if key in d and d[key] is not None:
        return d[key]
    if default is _REQUIRED:
        _fail(_join(path, key), "is required")
    return default


def _num(
    d: Mapping[str, Any],
    key: str,
    path: str,
    default: Any = _REQUIRED,
    low: float = 0.0,
    high: float = math.inf,
    *,
    open_low: bool = False,
) -> Any:
    value = _get(d, key, path, default)
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (low < value if open_low else low <= value) and value <= high
    if not ok:
        lo = f"> {low:g}" if open_low else f">= {low:g}"
        rng = (
            f"{lo}" if math.isinf(high) else f"within {'(' if open_low else '['}{low:g}, {high:g}]"
        )
        _fail(_join(path, key), f"must be a number {rng}, got {value!r}")
    return float(value)


def _int(d: Mapping[str, Any], key: str, path: str, default: Any, low: int, high: int) -> Any:
    value = _get(d, key, path, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(_join(path, key), f"must be an integer {low}..{high}, got {value!r}")
    return value


def _str(d: Mapping[str, Any], key: str, path: str, default: Any = _REQUIRED) -> Any:
    value = _get(d, key, path, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        _fail(_join(path, key), f"must be a non-empty string, got {value!r}")
    return value


def _bool(d: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = _get(d, key, path, default)
    if not isinstance(value, bool):
        _fail(_join(path, key), f"must be true or false, got {value!r}")
    return value


def _choice(d: Mapping[str, Any], key: str, path: str, choices: Sequence[str], default: Any) -> Any:
    value = _get(d, key, path, default)
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        _fail(_join(path, key), f"must be one of {', '.join(choices)}, got {value!r}{hint}")
    return value


def _time(value: Any, path: str) -> time:
    """``"07:30"`` (or ``"7:30:15"``) as a local wall-clock time."""
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 7:30 as the base-60 integer 450: make the fix obvious.
        _fail(path, f'must be a quoted time "HH:MM" (YAML read {value!r}), got {value!r}')
    if not isinstance(value, str):
        _fail(path, f"must be a time HH:MM, got {value!r}")
    parts = value.strip().split(":")
    try:
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ValueError
        hms = [int(x) for x in parts]
        return time(hms[0], hms[1], hms[2] if len(hms) == 3 else 0)
    except ValueError:
        _fail(path, f"must be a time HH:MM (00:00..23:59), got {value!r}")


def _timezone(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        _fail(path, f"must be an IANA time zone name, got {value!r}")
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError):
        _fail(path, f"is not a known time zone: {value!r}")
    return value


def _phases(value: Any, path: str, grid_phases: int) -> tuple[int, ...]:
    """``1`` → (1,), ``3`` → (1, 2, 3), or an explicit list of meter phases (``[2]``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in (1, 3):
        out = (1,) if value == 1 else (1, 2, 3)
    elif (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(p, int) and not isinstance(p, bool) and p in (1, 2, 3) for p in value)
        and len(set(value)) == len(value)
    ):
        out = tuple(value)
    else:
        _fail(path, f"must be 1, 3 or a list of distinct phases from 1..3, got {value!r}")
    if max(out) > grid_phases:
        _fail(path, f"uses phase {max(out)} but site.grid.phases is {grid_phases}")
    return out


# -- the parsed configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class GridConfig:
    import_limit_kw: float = 17.0
    export_limit_kw: float = 10.0
    fuse_a: float | None = None
    phases: int = 1
    voltage: float = 230.0

    @property
    def fuse_kw(self) -> float | None:
        """The main fuse as kW over all phases."""
        if self.fuse_a is None:
            return None
        return self.fuse_a * self.voltage * self.phases / 1000.0


@dataclass(frozen=True)
class TariffConfig:
    capacity: str = "none"
    eur_per_kw_year: float = 53.0
    eur_per_kw_month: float = 0.0
    count: int = 3
    night_weight: float = 1.0
    night_start_hour: int = 22
    night_end_hour: int = 6


@dataclass(frozen=True)
class CarConfig:
    name: str
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    chemistry: Chemistry
    min_soc: float
    max_soc: float
    efficiency: float
    cannot_pause: bool
    min_active_w: float
    phases: tuple[int, ...]
    arrival_soc: float
    weekly: Mapping[int, tuple[time, float]]


@dataclass(frozen=True)
class EndpointConfig:
    """A device endpoint: ``type`` plus what its driver needs."""

    type: str
    host: str
    port: int
    unit_id: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatteryConfig:
    name: str
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    reserve_soc: float
    max_soc: float
    chemistry: Chemistry
    efficiency: float
    min_active_w: float
    phases: tuple[int, ...]
    driver: EndpointConfig | None


@dataclass
class Drivers:
    """Un-connected drivers; ``storage`` by device name (cars, battery), as Runtime takes them."""

    meter: Any
    storage: dict[str, Any]
    inverter: Any | None = None
    #: The backup gateway (``BackupGateway``), if the site has one.
    gateway: Any | None = None


@dataclass(frozen=True)
class SiteConfig:
    """A validated site configuration; its methods build the runtime's objects."""

    timezone: str
    grid: GridConfig
    allow_export_from_storage: bool
    tariff: TariffConfig
    cars: tuple[CarConfig, ...]
    battery: BatteryConfig | None
    meter: EndpointConfig | None
    wallboxes: Mapping[str, EndpointConfig]
    pv: EndpointConfig | None
    control: Mapping[str, Any]
    #: The backup gateway's status source (``devices.gateway``), if any.
    gateway: EndpointConfig | None = None
    #: IslandSettings fields (``island``).
    island: Mapping[str, Any] = field(default_factory=dict)

    # -- planning ---------------------------------------------------------------------------

    def site(self) -> Site:
        """The planning model: cars → Ev, battery → HomeBattery, grid, capacity tariff, policy."""
        evs = tuple(
            Ev(
                name=c.name,
                capacity_kwh=c.capacity_kwh,
                max_charge_kw=c.max_charge_kw,
                max_discharge_kw=c.max_discharge_kw,
                charge_efficiency=c.efficiency,
                discharge_efficiency=c.efficiency,
                bidirectional=c.max_discharge_kw > 0,
                min_soc=c.min_soc,
                max_soc=c.max_soc,
                chemistry=c.chemistry,
            )
            for c in self.cars
        )
        battery = None
        if (b := self.battery) is not None:
            battery = HomeBattery(
                capacity_kwh=b.capacity_kwh,
                max_charge_kw=b.max_charge_kw,
                max_discharge_kw=b.max_discharge_kw,
                charge_efficiency=b.efficiency,
                discharge_efficiency=b.efficiency,
                reserve_soc=b.reserve_soc,
                max_soc=b.max_soc,
                chemistry=b.chemistry,
                name=b.name,
            )
        t = self.tariff
        peak = MonthlyPeakTariff.flanders(t.eur_per_kw_year) if t.capacity == "flanders" else None
        top = None
        if t.capacity == "sweden":
            top = TopPeaksTariff(
                eur_per_kw_month=t.eur_per_kw_month,
                count=t.count,
                night_weight=t.night_weight,
                night_start_hour=t.night_start_hour,
                night_end_hour=t.night_end_hour,
                tz=self.timezone,
            )
        pv = None
        if self.pv is not None:
            rated = self.pv.options.get("rated_w")
            pv = Pv(
                peak_kw=None if rated is None else rated / 1000.0,
                curtailable=bool(self.pv.options.get("curtailable", True)),
            )
        g = self.grid
        return Site(
            grid=Grid(g.import_limit_kw, g.export_limit_kw, g.fuse_kw),
            evs=evs,
            battery=battery,
            pv=pv,
            peak_tariff=peak,
            top_peaks_tariff=top,
            allow_export_from_storage=self.allow_export_from_storage,
        )

    def control_settings(self) -> ControlSettings:
        """ControlSettings from ``control``, the grid fuse and one StorageSettings per device."""
        storage = {
            c.name: StorageSettings(
                min_active_w=c.min_active_w,
                cannot_pause=c.cannot_pause,
                phases=c.phases,
                arrival_soc=c.arrival_soc,
            )
            for c in self.cars
        }
        if (b := self.battery) is not None:
            storage[b.name] = StorageSettings(min_active_w=b.min_active_w, phases=b.phases)
        return ControlSettings(
            **self.control,
            fuse_a=self.grid.fuse_a,
            voltage_v=self.grid.voltage,
            storage=storage,
        )

    def island_settings(self) -> IslandSettings:
        """The island machine's timings and reserves from ``island``."""
        return IslandSettings(**self.island)

    def departures(self) -> dict[str, DepartureSchedule]:
        """One weekly DepartureSchedule per car (in the site's time zone)."""
        return {
            c.name: DepartureSchedule(weekly=dict(c.weekly), tz=self.timezone) for c in self.cars
        }

    def core(self, restore: Mapping[str, Any] | None = None) -> ControlCore:
        """A ControlCore for this site (``restore``: a ``ControlCore.snapshot()`` to go on from)."""
        return ControlCore(
            self.site(),
            self.control_settings(),
            departures=self.departures(),
            tz=self.timezone,
            restore=restore,
            island=self.island_settings(),
        )

    # -- devices ----------------------------------------------------------------------------

    def build_drivers(
        self,
        *,
        clock: Clock = monotonic_clock,
        wallbox_factories: Mapping[str, WallboxFactory] | None = None,
        meter_factories: Mapping[str, MeterFactory] | None = None,
    ) -> Drivers:
        """The meter, one driver per car (and the battery), the PV inverter and the backup
        gateway, not connected.

        ``wallbox_factories`` / ``meter_factories`` build the device types that live outside
        this library (the Home Assistant integration passes them for ``entity``).
        """
        from .devices.modbus_client import ModbusTcpClient
        from .devices.model import WallboxLimits
        from .devices.mqtt_client import MqttClient
        from .devices.mqtt_wallbox import MqttWallbox, MqttWallboxConfig
        from .devices.p1_mqtt import DsmrReaderDecoder, JsonDecoder, MqttMeter, RawTelegramDecoder
        from .devices.regmap import load_device_map
        from .devices.sunspec import SunSpecInverter
        from .devices.sunspec_battery import SunSpecBattery
        from .devices.wallboxes import ModbusWallbox, SigenergyEvdcWallbox, ambicharge, quasar

        if self.meter is None:
            _fail("devices.meter", "is required to build drivers")
        m = self.meter
        meter: Any
        if m.type in (meter_factories or {}):
            meter = (meter_factories or {})[m.type](m, clock)
        elif m.type == "entity":
            _fail("devices.meter", "type entity runs only inside Home Assistant")
        else:
            decoder: Any
            topic = m.options["topic"]
            if m.options["format"] == "telegram":
                decoder = RawTelegramDecoder(topic=topic, require_crc=m.options["require_crc"])
            elif m.options["format"] == "dsmr_reader":
                decoder = DsmrReaderDecoder(prefix=topic)
            else:
                decoder = JsonDecoder(topic=topic)
            user, password = m.options.get("username"), m.options.get("password")
            mqtt = MqttClient(m.host, m.port, username=user, password=password)
            meter = MqttMeter(mqtt, decoder, clock=clock)

        storage: dict[str, Any] = {}
        cars = {c.name: c for c in self.cars}
        ocpp = {n: (wb, cars[n].max_charge_kw * 1000.0, cars[n].max_discharge_kw * 1000.0)
                for n, wb in self.wallboxes.items() if wb.type == "ocpp"}  # fmt: skip
        if ocpp:  # one shared CSMS per listening address (needs the [ocpp] extra to start)
            from .devices.ocpp.build import build_wallboxes

            storage.update(build_wallboxes(ocpp, clock=clock))
        factories = wallbox_factories or {}
        for name, wb in self.wallboxes.items():
            drv: Any
            if wb.type == "ocpp":
                continue
            if wb.type in factories:
                storage[name] = factories[wb.type](name, wb, cars[name], clock)
                continue
            if wb.type == "entity":
                _fail(f"devices.wallboxes.{name}", "type entity runs only inside Home Assistant")
            if wb.type == "mqtt":
                car = cars[name]
                t = wb.options["topics"]
                cfg = MqttWallboxConfig(
                    setpoint_topic=t["setpoint"],
                    state_topic=t.get("state"),
                    payload=wb.options["payload"],
                    start_stop_topic=t.get("start_stop"),
                    watchdog_topic=t.get("watchdog"),
                    control_topic=t.get("control"),
                    limits=WallboxLimits(car.max_charge_kw * 1000.0, car.max_discharge_kw * 1000.0),
                )
                client = MqttClient(
                    wb.host,
                    wb.port,
                    username=wb.options.get("username"),
                    password=wb.options.get("password"),
                )
                drv = MqttWallbox(client, cfg, clock=clock)
            else:
                modbus = ModbusTcpClient(wb.host, wb.port, clock=clock)
                if wb.type == "quasar":
                    drv = quasar(modbus, clock=clock)
                elif wb.type == "ambicharge":
                    drv = ambicharge(modbus, wb.options.get("connector", 1), clock=clock)
                elif wb.type == "sigenergy_evdc":
                    drv = SigenergyEvdcWallbox(modbus, clock=clock)
                else:
                    drv = ModbusWallbox(load_device_map(wb.options["map"]), modbus, clock=clock)
                if wb.unit_id is not None:
                    drv.use_unit_id(wb.unit_id)
            storage[name] = drv
        if (b := self.battery) is not None and b.driver is not None:
            d = b.driver
            storage[b.name] = SunSpecBattery(
                ModbusTcpClient(d.host, d.port, clock=clock), unit_id=d.unit_id or 1, clock=clock
            )
        inverter = None
        if self.pv is not None:
            p = self.pv
            inverter = SunSpecInverter(
                ModbusTcpClient(p.host, p.port, clock=clock),
                unit_id=p.unit_id or 1,
                rated_power_w=p.options.get("rated_w"),
                clock=clock,
            )
        gateway = None
        if (g := self.gateway) is not None:
            from .devices.backup_gateway import MqttBackupGateway

            gateway = MqttBackupGateway(
                MqttClient(
                    g.host,
                    g.port,
                    username=g.options.get("username"),
                    password=g.options.get("password"),
                ),
                g.options["topic"],
                stale_after=g.options["stale_after_s"],
                clock=clock,
            )
        return Drivers(meter=meter, storage=storage, inverter=inverter, gateway=gateway)

    def runtime(
        self,
        *,
        clock: Clock | None = None,
        restore: Mapping[str, Any] | None = None,
        wallbox_factories: Mapping[str, WallboxFactory] | None = None,
        meter_factories: Mapping[str, MeterFactory] | None = None,
        **kwargs: Any,
    ) -> Runtime:
        """Core, drivers and a HiGHS planner wired into a Runtime (``kwargs`` go to Runtime; a
        ``gateway`` there replaces the configured one)."""
        import time as _time

        from .optimize import Planner

        core = self.core(restore)
        drivers = self.build_drivers(
            clock=clock or monotonic_clock,
            wallbox_factories=wallbox_factories,
            meter_factories=meter_factories,
        )
        return Runtime(
            core,
            meter=drivers.meter,
            storage=drivers.storage,
            inverter=drivers.inverter,
            solver=planner_solver(Planner(core.site)),
            clock=clock or _time.time,
            **{"gateway": drivers.gateway, **kwargs},
        )


# -- parsing ------------------------------------------------------------------------------------


def load_config(path: str | Path) -> SiteConfig:
    """Read and validate a YAML site configuration (relative map paths: from its folder)."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SiteConfigError(f"{path}: {err}") from err
    if not isinstance(data, Mapping):
        raise SiteConfigError(f"{path}: a site configuration must be a mapping")
    return parse_config(data, base_dir=path.parent)


def parse_config(data: Mapping[str, Any], *, base_dir: str | Path | None = None) -> SiteConfig:
    """Validate a configuration given as plain data (what Home Assistant stores)."""
    top = _mapping(data, "", ("site", "cars", "battery", "devices", "island", "control"))
    site = _mapping(top.get("site"), "site", ("timezone", "grid", "policy", "tariff"))
    tz = _timezone(site.get("timezone", "Europe/Brussels"), "site.timezone")
    grid = _grid(site.get("grid"))
    policy = _mapping(site.get("policy"), "site.policy", ("allow_export_from_storage",))
    allow = _bool(policy, "allow_export_from_storage", "site.policy", False)
    tariff = _tariff(site.get("tariff"))

    cars: list[CarConfig] = []
    names: dict[str, str] = {}
    for i, raw in enumerate(_list(top.get("cars"), "cars")):
        car = _car(raw, f"cars[{i}]", grid)
        if car.name in names:
            _fail(f"cars[{i}].name", f"duplicate name {car.name!r} (also {names[car.name]})")
        names[car.name] = f"cars[{i}]"
        cars.append(car)
    battery = None if top.get("battery") is None else _battery(top["battery"], grid)
    if battery is not None and battery.name in names:
        _fail("battery.name", f"{battery.name!r} is also the name of {names[battery.name]}")

    devices = _mapping(top.get("devices"), "devices", ("meter", "wallboxes", "pv", "gateway"))
    meter = None if devices.get("meter") is None else _meter(devices["meter"])
    base = Path(base_dir) if base_dir is not None else Path()
    wallboxes: dict[str, EndpointConfig] = {}
    seen: dict[str, int] = {}
    for i, raw in enumerate(_list(devices.get("wallboxes"), "devices.wallboxes")):
        path = f"devices.wallboxes[{i}]"
        name, wb = _wallbox(raw, path, base)
        if name not in names:
            _fail(f"{path}.name", f"{name!r} is not a car; cars: {', '.join(names) or '(none)'}")
        if name in seen:
            _fail(f"{path}.name", f"car {name!r} already has devices.wallboxes[{seen[name]}]")
        seen[name] = i
        wallboxes[name] = wb
    pv = None if devices.get("pv") is None else _pv(devices["pv"])
    gateway = None if devices.get("gateway") is None else _gateway(devices["gateway"])
    island = _island(top.get("island"))
    control = _control(top.get("control"))
    if control.get("follower") is not None and control["follower"] not in {
        *names,
        *([battery.name] if battery else []),
    }:
        _fail("control.follower", f"{control['follower']!r} is not a car or the battery")

    config = SiteConfig(
        timezone=tz,
        grid=grid,
        allow_export_from_storage=allow,
        tariff=tariff,
        cars=tuple(cars),
        battery=battery,
        meter=meter,
        wallboxes=wallboxes,
        pv=pv,
        control=control,
        gateway=gateway,
        island=island,
    )
    # Build once so a combination the model refuses (e.g. min_soc above max_soc) fails here.
    try:
        config.site()
        config.control_settings()
    except ModelError as err:
        if isinstance(err, SiteConfigError):
            raise
        raise SiteConfigError(f"config: {err}") from err
    return config


def _grid(raw: Any) -> GridConfig:
    p = "site.grid"
    d = _mapping(raw, p, ("import_limit_kw", "export_limit_kw", "fuse_a", "phases", "voltage"))
    phases = _get(d, "phases", p, 1)
    if phases not in (1, 3) or isinstance(phases, bool):
        _fail(f"{p}.phases", f"must be 1 or 3, got {phases!r}")
    return GridConfig(
        import_limit_kw=_num(d, "import_limit_kw", p, 17.0),
        export_limit_kw=_num(d, "export_limit_kw", p, 10.0),
        fuse_a=_num(d, "fuse_a", p, None, 1.0, 1000.0),
        phases=phases,
        voltage=_num(d, "voltage", p, 230.0, 100.0, 400.0),
    )


def _tariff(raw: Any) -> TariffConfig:
    p = "site.tariff"
    keys = ("capacity", "eur_per_kw_year", "eur_per_kw_month", "count", "night_weight",
            "night_start_hour", "night_end_hour")  # fmt: skip
    d = _mapping(raw, p, keys)
    kind = _choice(d, "capacity", p, ("none", "flanders", "sweden"), "none")
    allowed = {"none": ("capacity",), "flanders": ("capacity", "eur_per_kw_year"),
               "sweden": ("capacity", *keys[2:])}[kind]  # fmt: skip
    for key in d:
        if key not in allowed:
            _fail(f"{p}.{key}", f"does not apply to capacity: {kind}")
    if kind == "flanders":
        return TariffConfig(kind, eur_per_kw_year=_num(d, "eur_per_kw_year", p, 53.0))
    if kind == "sweden":
        return TariffConfig(
            kind,
            eur_per_kw_month=_num(d, "eur_per_kw_month", p),
            count=_int(d, "count", p, 3, 1, 10),
            night_weight=_num(d, "night_weight", p, 1.0, 0.0, 1.0),
            night_start_hour=_int(d, "night_start_hour", p, 22, 0, 23),
            night_end_hour=_int(d, "night_end_hour", p, 6, 0, 23),
        )
    return TariffConfig()


def _chemistry(d: Mapping[str, Any], path: str, default: str) -> Chemistry:
    return Chemistry(_choice(d, "chemistry", path, [c.value for c in Chemistry], default))


def _min_active_w(
    d: Mapping[str, Any], path: str, voltage: float, phases: int, default_a: float
) -> float:
    if d.get("min_current_a") is not None and d.get("min_power_w") is not None:
        _fail(f"{path}.min_power_w", "give min_current_a or min_power_w, not both")
    if d.get("min_power_w") is not None:
        return float(_num(d, "min_power_w", path, 0.0, 0.0, 50_000.0))
    amps = _num(d, "min_current_a", path, default_a, 0.0, 80.0)
    return float(amps * voltage * phases)


def _car(raw: Any, p: str, grid: GridConfig) -> CarConfig:
    keys = ("name", "capacity_kwh", "max_charge_kw", "max_discharge_kw", "chemistry", "min_soc",
            "max_soc", "efficiency", "cannot_pause", "min_current_a", "min_power_w", "phases",
            "arrival_soc", "departures")  # fmt: skip
    d = _mapping(raw, p, keys)
    name = _str(d, "name", p)
    phases = _phases(_get(d, "phases", p, 1), f"{p}.phases", grid.phases)
    min_soc = _num(d, "min_soc", p, 0.1, 0.0, 1.0)
    max_soc = _num(d, "max_soc", p, 1.0, 0.0, 1.0)
    if min_soc > max_soc:
        _fail(f"{p}.min_soc", f"must not exceed max_soc ({max_soc:g}), got {min_soc:g}")
    return CarConfig(
        name=name,
        capacity_kwh=_num(d, "capacity_kwh", p, _REQUIRED, 0.0, open_low=True),
        max_charge_kw=_num(d, "max_charge_kw", p, _REQUIRED, 0.0, 1000.0),
        max_discharge_kw=_num(d, "max_discharge_kw", p, 0.0, 0.0, 1000.0),
        chemistry=_chemistry(d, p, "nmc"),
        min_soc=min_soc,
        max_soc=max_soc,
        efficiency=_num(d, "efficiency", p, 0.92, 0.5, 1.0),
        cannot_pause=_bool(d, "cannot_pause", p, False),
        min_active_w=_min_active_w(d, p, grid.voltage, len(phases), 6.0),
        phases=phases,
        arrival_soc=_num(d, "arrival_soc", p, 0.5, 0.0, 1.0),
        weekly=_departures(d.get("departures"), f"{p}.departures"),
    )


def _departures(raw: Any, p: str) -> dict[int, tuple[time, float]]:
    d = _mapping(raw, p, ("target_soc", "weekly"))
    default = _num(d, "target_soc", p, 0.8, 0.0, 1.0)
    weekly = _mapping(d.get("weekly"), f"{p}.weekly", WEEKDAYS)
    out: dict[int, tuple[time, float]] = {}
    for day, value in weekly.items():
        dp = f"{p}.weekly.{day}"
        if value is None:
            continue  # no departure that day
        if isinstance(value, Mapping):
            v = _mapping(value, dp, ("time", "target_soc"))
            at = _time(_get(v, "time", dp, _REQUIRED), f"{dp}.time")
            target = _num(v, "target_soc", dp, default, 0.0, 1.0)
        else:
            at, target = _time(value, dp), default
        out[WEEKDAYS.index(day)] = (at, target)
    return out


def _endpoint_port(d: Mapping[str, Any], p: str, default: int) -> int:
    port = _get(d, "port", p, default)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        _fail(f"{p}.port", f"must be an integer 1..65535, got {port!r}")
    return port


def _battery(raw: Any, grid: GridConfig) -> BatteryConfig:
    p = "battery"
    keys = ("name", "capacity_kwh", "max_charge_kw", "max_discharge_kw", "reserve_soc", "max_soc",
            "chemistry", "efficiency", "min_power_w", "phases", "driver")  # fmt: skip
    d = _mapping(raw, p, keys)
    all_phases = 1 if grid.phases == 1 else 3
    reserve = _num(d, "reserve_soc", p, 0.1, 0.0, 1.0)
    max_soc = _num(d, "max_soc", p, 1.0, 0.0, 1.0)
    if reserve > max_soc:
        _fail(f"{p}.reserve_soc", f"must not exceed max_soc ({max_soc:g}), got {reserve:g}")
    driver = None
    if d.get("driver") is not None:
        dp = f"{p}.driver"
        dd = _mapping(d["driver"], dp, ("type", "host", "port", "unit_id"))
        driver = EndpointConfig(
            type=_choice(dd, "type", dp, ("sunspec",), _REQUIRED),
            host=_str(dd, "host", dp),
            port=_endpoint_port(dd, dp, 502),
            unit_id=_int(dd, "unit_id", dp, 1, 0, 247),
        )
    return BatteryConfig(
        name=_str(d, "name", p, "battery"),
        capacity_kwh=_num(d, "capacity_kwh", p, _REQUIRED, 0.0, open_low=True),
        max_charge_kw=_num(d, "max_charge_kw", p, _REQUIRED, 0.0, 1000.0),
        max_discharge_kw=_num(d, "max_discharge_kw", p, _REQUIRED, 0.0, 1000.0),
        reserve_soc=reserve,
        max_soc=max_soc,
        chemistry=_chemistry(d, p, "lfp"),
        efficiency=_num(d, "efficiency", p, 0.95, 0.5, 1.0),
        min_active_w=_num(d, "min_power_w", p, 0.0, 0.0, 50_000.0),
        phases=_phases(_get(d, "phases", p, all_phases), f"{p}.phases", grid.phases),
        driver=driver,
    )


#: A P1 meter read from Home Assistant sensors (docs/configuration.md "Entity-backed devices").
_METER_ENTITY_KEYS: Final = ("type", "power_entity", "import_power_entity", "export_power_entity",
                             "current_l1_entity", "current_l2_entity", "current_l3_entity",
                             "power_unit")  # fmt: skip


def _meter(raw: Any) -> EndpointConfig:
    p = "devices.meter"
    keys = ("type", "host", "port", "topic", "format", "username", "password", "require_crc")
    d = _mapping(raw, p, (*keys, *_METER_ENTITY_KEYS[1:]))
    if _choice(d, "type", p, ("mqtt", "entity"), _REQUIRED) == "entity":
        return _entity_meter(d, p)
    _mapping(d, p, keys)  # keys of the entity meter are typos here
    fmt = _choice(d, "format", p, METER_FORMATS, "telegram")
    return EndpointConfig(
        type="mqtt",
        host=_str(d, "host", p),
        port=_endpoint_port(d, p, 1883),
        options={
            "format": fmt,
            "topic": _str(d, "topic", p, _METER_TOPICS[fmt]),
            "username": _str(d, "username", p, None),
            "password": _str(d, "password", p, None),
            "require_crc": _bool(d, "require_crc", p, True),
        },
    )


def _entity_meter(d: Mapping[str, Any], p: str) -> EndpointConfig:
    """Net grid power from one sensor, or import and export from two; phase currents optional."""
    _mapping(d, p, _METER_ENTITY_KEYS)
    net = _entity_id(d, "power_entity", p, None)
    imp = _entity_id(d, "import_power_entity", p, None)
    exp = _entity_id(d, "export_power_entity", p, None)
    if net is not None and (imp is not None or exp is not None):
        _fail(f"{p}.power_entity", "give power_entity or import/export_power_entity, not both")
    if net is None and (imp is None or exp is None):
        missing = "import_power_entity" if imp is None else "export_power_entity"
        _fail(f"{p}.{missing if imp or exp else 'power_entity'}", "is required")
    options: dict[str, Any] = {
        "power_entity": net,
        "import_power_entity": imp,
        "export_power_entity": exp,
        "power_unit": _choice(d, "power_unit", p, ("W", "kW"), "W"),
    }
    for key in ("current_l1_entity", "current_l2_entity", "current_l3_entity"):
        options[key] = _entity_id(d, key, p, None)
    return EndpointConfig(type="entity", host="", port=0, options=options)


#: ``(endpoint, clock) -> meter`` for meter types this library cannot build itself.
MeterFactory = Callable[[EndpointConfig, Clock], Any]


#: write_mode → the keys only that mode takes (docs/configuration.md "Entity-backed devices").
_ENTITY_WRITE_KEYS: Final = {
    "number": ("setpoint_entity",),
    "select": ("select_entity", "select_charge", "select_discharge", "select_idle"),
    "action": ("action", "action_data", "action_field"),
}
_ENTITY_KEYS: Final = ("power_entity", "soc_entity", "plugged_entity", "plugged_states",
                       "write_mode", *(k for ks in _ENTITY_WRITE_KEYS.values() for k in ks),
                       "power_unit", "setpoint_unit", "voltage", "discharge", "max_charge_kw",
                       "max_discharge_kw", "step", "stale_after_s")  # fmt: skip
_OCPP_KEYS: Final = ("safe_limit_w", "offline_timeout_s", "id_tokens", "certfile", "keyfile")
_WALLBOX_KEYS: Final = {
    "quasar": ("name", "type", "host", "port", "unit_id"),
    "sigenergy_evdc": ("name", "type", "host", "port", "unit_id"),
    "ambicharge": ("name", "type", "host", "port", "unit_id", "connector"),
    "modbus_map": ("name", "type", "host", "port", "unit_id", "map"),
    "mqtt": ("name", "type", "host", "port", "username", "password", "payload", "topics"),
    # the station connects to us: host/port are where our CSMS listens (docs/ocpp.md)
    "ocpp": ("name", "type", "host", "port", "identity", "password", *_OCPP_KEYS),
    "entity": ("name", "type", *_ENTITY_KEYS),
}


def _wallbox(raw: Any, p: str, base: Path) -> tuple[str, EndpointConfig]:
    every = sorted({k for keys in _WALLBOX_KEYS.values() for k in keys})
    d = _mapping(raw, p, every)
    kind = _choice(d, "type", p, WALLBOX_TYPES, _REQUIRED)
    _mapping(d, p, _WALLBOX_KEYS[kind])  # keys of another type are typos here
    name = _str(d, "name", p)
    options: dict[str, Any] = {}
    if kind == "ambicharge":
        options["connector"] = _int(d, "connector", p, 1, 1, 4)
    if kind == "modbus_map":
        path = Path(_str(d, "map", p))
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            _fail(f"{p}.map", f"no such file: {str(path)!r}")
        options["map"] = str(path)
    if kind == "mqtt":
        options["username"] = _str(d, "username", p, None)
        options["password"] = _str(d, "password", p, None)
        options["payload"] = _choice(d, "payload", p, ("json", "plain"), "json")
        tp = f"{p}.topics"
        t = _mapping(_get(d, "topics", p, _REQUIRED), tp,
                     ("setpoint", "state", "watchdog", "start_stop", "control"))  # fmt: skip
        options["topics"] = {
            k: _str(t, k, tp, _REQUIRED if k == "setpoint" else None)
            for k in ("setpoint", "state", "watchdog", "start_stop", "control")
        }
        if options["payload"] == "json" and options["topics"]["state"] is None:
            _fail(f"{tp}.state", "is required for payload: json")
        if options["payload"] == "plain":
            _fail(f"{p}.payload", "plain (per-field topics) is not configurable yet")
    if kind == "ocpp":
        options.update(_ocpp_options(d, p, name, base))
    if kind == "entity":
        return name, EndpointConfig(type=kind, host="", port=0, options=_entity_options(d, p))
    wb = EndpointConfig(
        type=kind,
        host=_str(d, "host", p, "0.0.0.0" if kind == "ocpp" else _REQUIRED),
        port=_endpoint_port(d, p, {"mqtt": 1883, "ocpp": 9000}.get(kind, 502)),
        unit_id=None if kind == "mqtt" else _int(d, "unit_id", p, None, 0, 247),
        options=options,
    )
    return name, wb


_ENTITY_ID: Final = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")


def _entity_id(
    d: Mapping[str, Any], key: str, p: str, default: Any, domains: Sequence[str] = ()
) -> Any:
    value = _str(d, key, p, default)
    if value is None:
        return None
    if not _ENTITY_ID.match(value):
        _fail(f"{p}.{key}", f"must look like domain.object_id, got {value!r}")
    if domains and value.split(".", 1)[0] not in domains:
        _fail(f"{p}.{key}", f"must be an entity of {' or '.join(domains)}, got {value!r}")
    return value


def _words(d: Mapping[str, Any], key: str, p: str) -> tuple[str, ...] | None:
    value = d.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple) or not value
        or not all(isinstance(x, str) and x.strip() for x in value)
    ):  # fmt: skip
        _fail(f"{p}.{key}", f"must be a list of state words, got {value!r}")
    return tuple(x.strip().lower() for x in value)


def _entity_options(d: Mapping[str, Any], p: str) -> dict[str, Any]:
    """An entity-backed wallbox: which Home Assistant entities it reads and how it writes."""
    mode = _choice(d, "write_mode", p, tuple(_ENTITY_WRITE_KEYS), _REQUIRED)
    for other, keys in _ENTITY_WRITE_KEYS.items():
        for key in keys:
            if other != mode and d.get(key) is not None:
                _fail(f"{p}.{key}", f"applies to write_mode {other} only, not {mode}")
    if d.get("plugged_states") is not None and d.get("plugged_entity") is None:
        _fail(f"{p}.plugged_states", "needs plugged_entity")
    out: dict[str, Any] = {
        "power_entity": _entity_id(d, "power_entity", p, _REQUIRED),
        "soc_entity": _entity_id(d, "soc_entity", p, None),
        "plugged_entity": _entity_id(d, "plugged_entity", p, None),
        "plugged_states": _words(d, "plugged_states", p),
        "write_mode": mode,
        "power_unit": _choice(d, "power_unit", p, ("W", "kW"), "W"),
        "setpoint_unit": _choice(d, "setpoint_unit", p, ("W", "kW", "A"), "W"),
        "voltage": _num(d, "voltage", p, 230.0, 100.0, 500.0),
        "discharge": _choice(d, "discharge", p, ("negative", "positive"), "negative"),
        "max_charge_kw": _num(d, "max_charge_kw", p, None, 0.0, 1000.0),
        "max_discharge_kw": _num(d, "max_discharge_kw", p, None, 0.0, 1000.0),
        "step": _num(d, "step", p, 0.0, 0.0, 50_000.0),
        "stale_after_s": _num(d, "stale_after_s", p, None, 1.0, 86_400.0),
    }
    if mode == "number":
        out["setpoint_entity"] = _entity_id(
            d, "setpoint_entity", p, _REQUIRED, ("number", "input_number")
        )
    elif mode == "select":
        out["select_entity"] = _entity_id(
            d, "select_entity", p, _REQUIRED, ("select", "input_select")
        )
        words = {k: _str(d, k, p, None) for k in ("select_charge", "select_discharge")}
        words["select_idle"] = _str(d, "select_idle", p, _REQUIRED if any(words.values()) else None)
        out.update(words)
    else:
        out["action"] = _entity_id(d, "action", p, _REQUIRED)
        raw = d.get("action_data")
        data = _mapping(raw, f"{p}.action_data", tuple(raw) if isinstance(raw, Mapping) else ())
        out["action_data"] = dict(data)
        out["action_field"] = _str(d, "action_field", p, "power_w")
    return out


def _ocpp_options(d: Mapping[str, Any], p: str, name: str, base: Path) -> dict[str, Any]:
    """An OCPP station: identity [car name], password (security profile 1), fallback, TLS."""
    tokens = d.get("id_tokens")
    if tokens is not None and (
        not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens)
    ):
        _fail(f"{p}.id_tokens", f"must be a list of card ids (none: free vending), got {tokens!r}")
    files: dict[str, str | None] = {}
    for key in ("certfile", "keyfile"):
        f = _str(d, key, p, None)
        if f is not None:
            f = str(f if Path(f).is_absolute() else base / f)
            if not Path(f).is_file():
                _fail(f"{p}.{key}", f"no such file: {f!r}")
        files[key] = f
    if (files["certfile"] is None) != (files["keyfile"] is None):
        _fail(f"{p}.certfile", "TLS (security profile 2) needs both certfile and keyfile")
    return {
        "identity": _str(d, "identity", p, name),
        "password": _str(d, "password", p),
        "safe_limit_w": _num(d, "safe_limit_w", p, 0.0, 0.0, 50000.0),
        "offline_timeout_s": _int(d, "offline_timeout_s", p, 60, 1, 3600),
        "id_tokens": None if tokens is None else tuple(tokens),
        **files,
    }


def _pv(raw: Any) -> EndpointConfig:
    p = "devices.pv"
    d = _mapping(raw, p, ("type", "host", "port", "unit_id", "rated_w", "curtailable"))
    _choice(d, "type", p, ("sunspec",), _REQUIRED)
    return EndpointConfig(
        type="sunspec",
        host=_str(d, "host", p),
        port=_endpoint_port(d, p, 502),
        unit_id=_int(d, "unit_id", p, 1, 0, 247),
        options={
            "rated_w": _num(d, "rated_w", p, None, 0.0, 10_000_000.0, open_low=True),
            "curtailable": _bool(d, "curtailable", p, True),
        },
    )


def _gateway(raw: Any) -> EndpointConfig:
    """A backup gateway publishing its JSON status on MQTT (``backup_gateway.decode_status``)."""
    p = "devices.gateway"
    d = _mapping(raw, p, ("type", "host", "port", "topic", "username", "password",
                          "stale_after_s"))  # fmt: skip
    _choice(d, "type", p, ("mqtt",), _REQUIRED)
    topic = _str(d, "topic", p)
    if any(c in topic for c in "#+"):
        _fail(f"{p}.topic", f"must be one topic without wildcards, got {topic!r}")
    return EndpointConfig(
        type="mqtt",
        host=_str(d, "host", p),
        port=_endpoint_port(d, p, 1883),
        options={
            "topic": topic,
            "username": _str(d, "username", p, None),
            "password": _str(d, "password", p, None),
            "stale_after_s": _num(d, "stale_after_s", p, 10.0, 0.0, 3600.0, open_low=True),
        },
    )


def _fields_of(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _control_fields() -> dict[str, Any]:
    return _fields_of(ControlSettings)


def _island(raw: Any) -> dict[str, Any]:
    """IslandSettings' number fields, checked by IslandSettings itself (its message named)."""
    p = "island"
    fields = _fields_of(IslandSettings)
    if isinstance(raw, Mapping):
        for key in raw:
            if key in _UNCONFIGURABLE_ISLAND:
                _fail(f"{p}.{key}", "cannot be configured in the site document yet")
    allowed = [k for k in fields if k not in _UNCONFIGURABLE_ISLAND]
    out = _typed_fields(_mapping(raw, p, allowed), p, fields)
    try:
        IslandSettings(**out)
    except ModelError as err:
        first, _, rest = str(err).partition(" ")
        name = first.removeprefix("IslandSettings.")
        _fail(f"{p}.{name}" if name in out else p, rest if name in out else str(err))
    return out


def _control(raw: Any) -> dict[str, Any]:
    p = "control"
    fields = _control_fields()
    if isinstance(raw, Mapping):
        for key in raw:
            if key in _DERIVED_CONTROL:
                _fail(f"{p}.{key}", f"is set from {_DERIVED_CONTROL[key]}, not here")
    allowed = [k for k in fields if k not in _DERIVED_CONTROL]
    out = _typed_fields(_mapping(raw, p, allowed), p, fields)
    try:
        ControlSettings(**out)
    except ModelError as err:
        first, _, rest = str(err).partition(" ")
        if first in out:
            _fail(f"{p}.{first}", rest)
        _fail(p, str(err))
    return out


def _typed_fields(d: Mapping[str, Any], p: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Values of a settings dataclass's fields, each checked against its annotation."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        hint = fields[key]
        args = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
        if value is None:
            if type(None) not in args:
                _fail(f"{p}.{key}", "must not be empty")
            out[key] = None
            continue
        check: Callable[[Any], bool]
        if int in args:
            check = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
            what = "an integer"
        elif float in args:
            check = lambda v: isinstance(v, int | float) and not isinstance(v, bool)  # noqa: E731
            what = "a number"
        elif str in args:
            check = lambda v: isinstance(v, str) and bool(v)  # noqa: E731
            what = "a non-empty string"
        elif bool in args:
            check = lambda v: isinstance(v, bool)  # noqa: E731
            what = "true or false"
        else:  # pragma: no cover - a ControlSettings field of a type this module cannot read
            _fail(f"{p}.{key}", "cannot be configured here")
        if not check(value):
            _fail(f"{p}.{key}", f"must be {what}, got {value!r}")
        out[key] = float(value) if what == "a number" else value
    return out
