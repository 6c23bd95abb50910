"""The site document (``hems_core.config.parse_config``'s input) from an entry and its subentries.

The UI stores one subentry per device (``subentry_flow.py``); the site-wide answers (grid
connection, policy) live in the entry's data and the price options. This module is the only
place that turns them into the document of ``docs/configuration.md``, so the flows never write
site documents and the runtime never reads subentries. A P1 meter read from Home Assistant
sensors is also returned next to the document (``entity_meter``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry

from .const import CONF_SITE_CONFIG, CONF_TARIFF, TARIFF_BE

# -- subentry types and the keys of their data ---------------------------------------------------
SUBENTRY_WALLBOX: Final = "wallbox"
SUBENTRY_ENTITY_CAR: Final = "entity_car"
SUBENTRY_PV: Final = "pv"
SUBENTRY_BATTERY: Final = "battery"
SUBENTRY_P1: Final = "p1"
SUBENTRY_GATEWAY: Final = "gateway"
SUBENTRY_TYPES: Final = (
    SUBENTRY_WALLBOX,
    SUBENTRY_ENTITY_CAR,
    SUBENTRY_PV,
    SUBENTRY_BATTERY,
    SUBENTRY_P1,
    SUBENTRY_GATEWAY,
)
#: Subentries that are a car (unique id: the car's name as a slug).
CAR_SUBENTRIES: Final = (SUBENTRY_WALLBOX, SUBENTRY_ENTITY_CAR)
#: Subentry data: ``car`` (a ``cars[]`` item), ``wallbox`` (a ``devices.wallboxes[]`` item
#: without ``name``, or None for a car without a driver), ``entities`` (entity-backed fields of
#: docs/configuration.md), ``pv``/``battery``/``meter`` (their sections), ``source`` (P1: mqtt or
#: entities), ``gateway`` (the backup gateway: ``devices.gateway``, its MQTT status topic).
KEY_CAR: Final = "car"
KEY_WALLBOX: Final = "wallbox"
KEY_ENTITIES: Final = "entities"
KEY_PV: Final = "pv"
KEY_BATTERY: Final = "battery"
KEY_METER: Final = "meter"
KEY_SOURCE: Final = "source"
KEY_GATEWAY: Final = "gateway"
P1_MQTT: Final = "mqtt"
P1_ENTITIES: Final = "entities"

# -- site-wide answers in the entry's data ---------------------------------------------------------
CONF_PHASES: Final = "phases"
CONF_FUSE_A: Final = "fuse_a"
CONF_IMPORT_LIMIT_KW: Final = "import_limit_kw"
CONF_EXPORT_LIMIT_KW: Final = "export_limit_kw"
#: V2G: the cars and the battery may export to the grid (else V2H only: storage covers the house).
CONF_ALLOW_EXPORT: Final = "allow_export_from_storage"
GRID_KEYS: Final = (CONF_PHASES, CONF_FUSE_A, CONF_IMPORT_LIMIT_KW, CONF_EXPORT_LIMIT_KW)


@dataclass
class SiteDocument:
    """What one entry describes: the core's document and the devices read through HA."""

    document: dict[str, Any]
    #: The P1 meter read from HA sensors (``power_entity``, ...), when that is the source; also
    #: in the document as ``devices.meter`` of type ``entity``.
    entity_meter: dict[str, Any] | None = None

    @property
    def has_devices(self) -> bool:
        """Something to control: a car or battery; without one the runtime is not started."""
        doc = self.document
        return bool(doc.get("cars") or doc.get("battery"))

    @property
    def has_meter(self) -> bool:
        """A P1 source exists (the runtime cannot run without one)."""
        return (self.document.get("devices") or {}).get("meter") is not None

    @property
    def runnable(self) -> bool:
        """Something to control and a P1 meter: the runtime can start."""
        return self.has_devices and self.has_meter


def build(entry: ConfigEntry, timezone: str) -> SiteDocument:
    """The site document of ``entry`` (``timezone``: Home Assistant's)."""
    return assemble(
        entry.data,
        entry.options,
        [(s.subentry_type, s.data) for s in entry.subentries.values()],
        timezone,
    )


def assemble(
    data: Mapping[str, Any],
    options: Mapping[str, Any],
    subentries: Iterable[tuple[str, Mapping[str, Any]]],
    timezone: str,
) -> SiteDocument:
    """The document from an entry's parts; the flows check a device with it before saving.

    A ``site_config`` option (a hand-written document, or what migration left of one: its
    ``site`` and ``control`` sections) is the base; the UI's answers are added on top.
    """
    base = options.get(CONF_SITE_CONFIG)
    doc: dict[str, Any] = copy.deepcopy(dict(base)) if isinstance(base, Mapping) else {}
    site = doc.setdefault("site", {})
    if not isinstance(base, Mapping):
        # A hand-written (or migrated) document keeps its own zone or parse_config's default.
        site.setdefault("timezone", timezone)
    grid = site.setdefault("grid", {})
    for key in GRID_KEYS:
        if data.get(key) is not None:
            grid[key] = data[key]
    if data.get(CONF_ALLOW_EXPORT) is not None:
        site.setdefault("policy", {})[CONF_ALLOW_EXPORT] = bool(data[CONF_ALLOW_EXPORT])
    if options.get(CONF_TARIFF) == TARIFF_BE and "tariff" not in site:
        # Flanders' capacity tariff (the Fluvius default rate); the planner keeps the peak low.
        site["tariff"] = {"capacity": "flanders"}
    out = SiteDocument(doc)
    cars: list[dict[str, Any]] = doc.setdefault("cars", [])
    devices: dict[str, Any] = doc.setdefault("devices", {})
    wallboxes: list[dict[str, Any]] = devices.setdefault("wallboxes", [])
    for kind, sub in subentries:
        if kind == SUBENTRY_WALLBOX:
            car = dict(sub[KEY_CAR])
            cars.append(car)
            if sub.get(KEY_WALLBOX) is not None:
                wallboxes.append({"name": car["name"], **sub[KEY_WALLBOX]})
        elif kind == SUBENTRY_ENTITY_CAR:
            # A wallbox of type entity: parse_config checks it, the integration builds it
            # (entity_device.py).
            car = dict(sub[KEY_CAR])
            cars.append(car)
            wallboxes.append({"name": car["name"], "type": "entity", **sub[KEY_ENTITIES]})
        elif kind == SUBENTRY_PV:
            devices["pv"] = dict(sub[KEY_PV])
        elif kind == SUBENTRY_BATTERY:
            doc["battery"] = dict(sub[KEY_BATTERY])
        elif kind == SUBENTRY_P1:
            if sub[KEY_SOURCE] == P1_MQTT:
                devices["meter"] = dict(sub[KEY_METER])
            else:  # Home Assistant sensors: the integration builds it (entity_device.py)
                out.entity_meter = dict(sub[KEY_ENTITIES])
                devices["meter"] = {"type": "entity", **sub[KEY_ENTITIES]}
        elif kind == SUBENTRY_GATEWAY:
            devices["gateway"] = dict(sub[KEY_GATEWAY])
    if not cars:
        del doc["cars"]
    if not wallboxes:
        del devices["wallboxes"]
    if not devices:
        del doc["devices"]
    return out


def migrate_document(
    document: Mapping[str, Any],
) -> tuple[list[tuple[str, str, dict[str, Any]]], dict[str, Any]]:
    """A hand-written site document as subentries ``(type, title, data)`` and what stays.

    Cars (with their wallbox), the battery, the P1 meter and the PV inverter become
    subentries; ``site``, ``control`` and anything this cannot place (a wallbox of no car)
    stay in the returned document, which :func:`assemble` still reads as its base, so nothing
    is lost and the assembled document equals the old one.
    """
    rest = copy.deepcopy(dict(document))
    devices = dict(rest.pop("devices", None) or {})
    boxes = {
        str(wb.get("name")): dict(wb)
        for wb in devices.pop("wallboxes", None) or []
        if isinstance(wb, Mapping)
    }
    out: list[tuple[str, str, dict[str, Any]]] = []
    kept_cars: list[Any] = []
    for car in rest.pop("cars", None) or []:
        if not isinstance(car, Mapping) or not isinstance(car.get("name"), str):
            kept_cars.append(car)
            continue
        box = boxes.pop(car["name"], None)
        if box is not None:
            box.pop("name")
        out.append((SUBENTRY_WALLBOX, car["name"], {KEY_CAR: dict(car), KEY_WALLBOX: box}))
    if isinstance(rest.get("battery"), Mapping):
        battery = dict(rest.pop("battery"))
        out.append((SUBENTRY_BATTERY, str(battery.get("name", "battery")), {KEY_BATTERY: battery}))
    if isinstance(devices.get("meter"), Mapping):
        meter = dict(devices.pop("meter"))
        out.append((SUBENTRY_P1, "P1 meter", {KEY_SOURCE: P1_MQTT, KEY_METER: meter}))
    if isinstance(devices.get("pv"), Mapping):
        out.append((SUBENTRY_PV, "PV inverter", {KEY_PV: dict(devices.pop("pv"))}))
    if kept_cars:
        rest["cars"] = kept_cars
    if boxes:
        devices["wallboxes"] = list(boxes.values())
    if devices:
        rest["devices"] = devices
    return out, rest
