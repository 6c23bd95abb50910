"""Devices of a site as config subentries: add, test the connection, reconfigure, remove.

One flow class per subentry type. Each form tests the device for real before saving (a Modbus
TCP read with the runtime's own driver, a message on the MQTT topic, the entity's state) and
checks the whole site document the entry would have with ``parse_config``, so what is saved
always starts. A refused form keeps every answer. Adding, changing or removing a subentry fires
the entry's update listener, which reloads the site.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    ObjectSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)
from homeassistant.util import slugify

from hems_core.config import WEEKDAYS, SiteConfigError, parse_config

from . import checks
from .const import DOMAIN
from .schema import vol
from .site import (
    KEY_BATTERY,
    KEY_CAR,
    KEY_ENTITIES,
    KEY_GATEWAY,
    KEY_METER,
    KEY_PV,
    KEY_SOURCE,
    KEY_WALLBOX,
    P1_ENTITIES,
    P1_MQTT,
    SUBENTRY_BATTERY,
    SUBENTRY_ENTITY_CAR,
    SUBENTRY_GATEWAY,
    SUBENTRY_P1,
    SUBENTRY_PV,
    SUBENTRY_WALLBOX,
    assemble,
)

CONF_NAME: Final = "name"
CONF_CONNECTION: Final = "connection"
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_UNIT_ID: Final = "unit_id"
CONF_USERNAME: Final = "username"
CONF_PASSWORD: Final = "password"
CONF_TOPIC: Final = "topic"
CONF_FORMAT: Final = "format"
#: Wallbox types the UI offers (a ``modbus_map`` needs a map file: YAML only).
MODBUS_WALLBOXES: Final = ("quasar", "ambicharge", "sigenergy_evdc")
WALLBOX_CONNECTIONS: Final = (*MODBUS_WALLBOXES, "mqtt", "ocpp")
MQTT_TOPICS: Final = ("setpoint", "state", "watchdog", "start_stop", "control")
WRITE_MODES: Final = ("number", "select", "action")
WRITE_KEYS: Final = (
    "setpoint_entity",
    "select_entity",
    "select_charge",
    "select_discharge",
    "select_idle",
    "action",
    "action_data",
)
METER_FORMATS: Final = ("telegram", "dsmr_reader", "json")
METER_TOPICS: Final = {"telegram": "p1/telegram", "dsmr_reader": "dsmr/reading/", "json": "p1/json"}
CAR_NUMBERS: Final = ("capacity_kwh", "max_charge_kw", "max_discharge_kw")
PERCENT_FIELDS: Final = ("min_soc", "target_soc", "reserve_soc")

_TEXT = TextSelector()
_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_PORT = NumberSelector(NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX))
_UNIT = NumberSelector(NumberSelectorConfig(min=0, max=247, step=1, mode=NumberSelectorMode.BOX))
_PERCENT = NumberSelector(NumberSelectorConfig(min=0, max=100, step=1, unit_of_measurement="%"))


def _kw(low: float, high: float) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low, max=high, step=0.1, unit_of_measurement="kW", mode=NumberSelectorMode.BOX
        )
    )


def _select(options: tuple[str, ...], key: str) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=list(options), translation_key=key, mode=SelectSelectorMode.DROPDOWN
        )
    )


def _field(key: str, current: Mapping[str, Any], default: Any = None, required: bool = True) -> Any:
    """A schema key showing the current (or refused) answer; optional empties stay empty."""
    value = current.get(key, default)
    if required:
        return vol.Required(key) if value is None else vol.Required(key, default=value)
    if value in (None, ""):
        return vol.Optional(key)
    return vol.Optional(key, description={"suggested_value": value})


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty optional answers (the document's defaults apply)."""
    return {k: v for k, v in values.items() if v not in (None, "")}


class _DeviceFlow(ConfigSubentryFlow):
    """Shared parts: reconfigure, the whole-document check, save or update."""

    subentry_type: str = ""
    #: Only one of this type per site (the PV inverter, the P1 source, ...).
    single: bool = False

    def __init__(self) -> None:
        """Answers of all steps, saved at once by :meth:`_save`."""
        super().__init__()
        self._old: Mapping[str, Any] = {}
        self._data: dict[str, Any] = {}

    @property
    def _reconfiguring(self) -> bool:
        return self.source == SOURCE_RECONFIGURE

    def _others(self) -> list[tuple[str, Mapping[str, Any]]]:
        """The entry's other subentries (without the one being reconfigured)."""
        skip = self._reconfigure_subentry_id if self._reconfiguring else None
        return [
            (s.subentry_type, s.data)
            for s in self._get_entry().subentries.values()
            if s.subentry_id != skip
        ]

    def _exists(self) -> bool:
        return any(kind == self.subentry_type for kind, _ in self._others())

    async def _check_document(self, data: Mapping[str, Any]) -> str | None:
        """The site document with this device added must parse (names, phases, limits).

        In the executor: a hand-written base document may name files (maps, certificates).
        """
        entry: ConfigEntry = self._get_entry()
        site = assemble(
            entry.data,
            entry.options,
            [*self._others(), (self.subentry_type, data)],
            str(self.hass.config.time_zone),
        )
        try:
            await self.hass.async_add_executor_job(parse_config, site.document)
        except SiteConfigError as err:
            return str(err)
        return None

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Start again from the saved answers."""
        self._old = self._get_reconfigure_subentry().data
        return await self.async_step_user()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:  # pragma: no cover - every subclass has its own
        """First step of the flow."""
        raise NotImplementedError

    def _save(self, title: str, data: dict[str, Any], unique_id: str) -> SubentryFlowResult:
        if self._reconfiguring:
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
                unique_id=unique_id,
            )
        return self.async_create_entry(title=title, data=data, unique_id=unique_id)

    def _abort_if_single_exists(self) -> SubentryFlowResult | None:
        if self.single and not self._reconfiguring and self._exists():
            return self.async_abort(reason="already_configured")
        return None


class _CarFlow(_DeviceFlow):
    """A car and how it is reached; the ``car`` step is the same for every kind."""

    def _car_names(self) -> set[str]:
        names: set[str] = set()
        for kind, data in self._others():
            if kind in (SUBENTRY_WALLBOX, SUBENTRY_ENTITY_CAR):
                names.add(slugify(str(data[KEY_CAR]["name"])))
        return names

    def _name_error(self, name: str) -> str | None:
        if not any(c.isalnum() for c in name):
            return "invalid_name"
        if slugify(name) in self._car_names():
            return "name_taken"
        return None

    async def async_step_car(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Capacity, chemistry, limits, minimum SoC, phases, "cannot pause"."""
        errors: dict[str, str] = {}
        placeholders = {"reason": "", "name": str(self._data[CONF_NAME])}
        saved = self._old.get(KEY_CAR) or {}
        if user_input is not None:
            # Checked with the saved departures (none for a new car), again on the next step.
            car = {**self._car(user_input), "departures": saved.get("departures") or {}}
            if (reason := await self._check_document(self._with(car))) is not None:
                errors["base"] = "invalid_config"
                placeholders["reason"] = reason
            else:
                self._data[KEY_CAR] = car
                return await self.async_step_departures()
        current = dict(user_input) if user_input is not None else self._car_form(saved)
        fields: dict[Any, Any] = {
            _field("capacity_kwh", current, 60.0): NumberSelector(
                NumberSelectorConfig(
                    min=1, max=300, step=0.1, unit_of_measurement="kWh", mode=NumberSelectorMode.BOX
                )
            ),
            _field("chemistry", current, "nmc"): _select(("nmc", "lfp"), "chemistry"),
            _field("max_charge_kw", current, 7.4): _kw(0.1, 50),
            _field("max_discharge_kw", current, 0.0): _kw(0, 50),
            _field("min_soc", current, 20): _PERCENT,
            _field("phases", current, "1"): _select(("1", "3"), "phases"),
            _field("cannot_pause", current, False): BooleanSelector(),
        }
        return self.async_show_form(
            step_id="car",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders=placeholders,
            last_step=False,
        )

    async def async_step_departures(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The usual target, and per weekday a departure time and (optionally) its own target."""
        placeholders = {"name": str(self._data[CONF_NAME])}
        if user_input is not None:
            # The car step checked the document; times and percentages from these selectors
            # always parse, so nothing here can make it fail.
            car = {**self._data[KEY_CAR], "departures": self._departures(user_input)}
            return self._save(car["name"], self._with(car), slugify(car["name"]))
        saved = self._data[KEY_CAR]["departures"]
        current = dict(user_input) if user_input is not None else self._departures_form(saved)
        fields: dict[Any, Any] = {_field("target_soc", current, 80): _PERCENT}
        for day in WEEKDAYS:
            fields[_field(day, current, required=False)] = TimeSelector()
            fields[_field(f"{day}_target", current, required=False)] = _PERCENT
        return self.async_show_form(
            step_id="departures",
            data_schema=vol.Schema(fields),
            description_placeholders=placeholders,
        )

    def _with(self, car: dict[str, Any]) -> dict[str, Any]:
        return {**self._device_data(), KEY_CAR: car}

    def _car(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The ``cars[]`` item from the car form (percent → fraction)."""
        return {
            "name": self._data[CONF_NAME],
            **{k: float(answers[k]) for k in CAR_NUMBERS},
            "chemistry": answers["chemistry"],
            "min_soc": float(answers["min_soc"]) / 100,
            "phases": int(answers["phases"]),
            "cannot_pause": bool(answers["cannot_pause"]),
        }

    @staticmethod
    def _departures(answers: Mapping[str, Any]) -> dict[str, Any]:
        """``departures`` from the form: "07:30:00" → "07:30", a day's own target → a mapping."""
        weekly: dict[str, Any] = {}
        for day in WEEKDAYS:
            if not answers.get(day):
                continue
            at = str(answers[day])[:5]
            target = answers.get(f"{day}_target")
            weekly[day] = at if target in (None, "") else {"time": at, "target_soc": target / 100}
        return {"target_soc": float(answers["target_soc"]) / 100, "weekly": weekly}

    @staticmethod
    def _car_form(saved: Mapping[str, Any]) -> dict[str, Any]:
        """The car form's values from a saved car."""
        if not saved:
            return {}
        form: dict[str, Any] = {k: saved[k] for k in (*CAR_NUMBERS, "chemistry") if k in saved}
        form["min_soc"] = round(float(saved.get("min_soc", 0.1)) * 100)
        form["phases"] = str(saved.get("phases", 1))
        form["cannot_pause"] = bool(saved.get("cannot_pause", False))
        return form

    @staticmethod
    def _departures_form(saved: Mapping[str, Any]) -> dict[str, Any]:
        """The departures form's values from saved departures (a day: "HH:MM" or a mapping)."""
        form: dict[str, Any] = {}
        if "target_soc" in saved:
            form["target_soc"] = round(float(saved["target_soc"]) * 100)
        for day, value in (saved.get("weekly") or {}).items():
            if isinstance(value, str):
                form[day] = value
            elif isinstance(value, Mapping):
                form[day] = value.get("time")
                if value.get("target_soc") is not None:
                    form[f"{day}_target"] = round(float(value["target_soc"]) * 100)
        return form

    def _device_data(self) -> dict[str, Any]:  # pragma: no cover - every subclass has its own
        raise NotImplementedError


class WallboxSubentryFlow(_CarFlow):
    """A wallbox with its car: Modbus TCP (Quasar, ambiCHARGE, Sigenergy), MQTT or OCPP."""

    subentry_type = SUBENTRY_WALLBOX

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The car's name and how its wallbox is reached."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            if (error := self._name_error(name)) is not None:
                errors[CONF_NAME] = error
            else:
                self._data = {CONF_NAME: name, CONF_CONNECTION: user_input[CONF_CONNECTION]}
                return await self.async_step_connection()
        current = dict(user_input or {})
        if not current and self._old:
            wb = self._old.get(KEY_WALLBOX) or {}
            current = {CONF_NAME: self._old[KEY_CAR]["name"], CONF_CONNECTION: wb.get("type")}
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _field(CONF_NAME, current): _TEXT,
                    _field(CONF_CONNECTION, current, "quasar"): _select(
                        WALLBOX_CONNECTIONS, "wallbox_connection"
                    ),
                }
            ),
            errors=errors,
        )

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Host and port (or topics, or the OCPP listener); tested before going on."""
        kind = str(self._data[CONF_CONNECTION])
        errors: dict[str, str] = {}
        placeholders = {"reason": "", "name": str(self._data[CONF_NAME])}
        if user_input is not None:
            wallbox = self._wallbox(kind, user_input)
            reason = await self._test(kind, wallbox)
            if reason is not None:
                errors["base"] = "cannot_connect"
                placeholders["reason"] = reason
            else:
                self._data[KEY_WALLBOX] = wallbox
                return await self.async_step_car()
        saved = self._old.get(KEY_WALLBOX) or {}
        if saved.get("type") != kind:
            saved = {}
        current = dict(user_input) if user_input is not None else self._wallbox_form(saved)
        return self.async_show_form(
            step_id=f"connection_{'modbus' if kind in MODBUS_WALLBOXES else kind}",
            data_schema=vol.Schema(self._connection_fields(kind, current)),
            errors=errors,
            description_placeholders=placeholders,
            last_step=False,
        )

    async def async_step_connection_modbus(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The form of a Modbus TCP wallbox (its step id names its strings)."""
        return await self.async_step_connection(user_input)

    async def async_step_connection_mqtt(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The form of an MQTT wallbox."""
        return await self.async_step_connection(user_input)

    async def async_step_connection_ocpp(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The form of an OCPP station (it connects to us)."""
        return await self.async_step_connection(user_input)

    def _connection_fields(self, kind: str, current: Mapping[str, Any]) -> dict[Any, Any]:
        if kind in MODBUS_WALLBOXES:
            fields: dict[Any, Any] = {
                _field(CONF_HOST, current): _TEXT,
                _field(CONF_PORT, current, 502): _PORT,
                _field(CONF_UNIT_ID, current, required=False): _UNIT,
            }
            if kind == "ambicharge":
                fields[_field("connector", current, 1)] = NumberSelector(
                    NumberSelectorConfig(min=1, max=4, step=1, mode=NumberSelectorMode.BOX)
                )
            return fields
        if kind == "mqtt":
            broker = _mqtt_broker(self.hass.config_entries.async_entries("mqtt"))
            fields = {
                _field(CONF_HOST, current, broker.get(CONF_HOST)): _TEXT,
                _field(CONF_PORT, current, broker.get(CONF_PORT, 1883)): _PORT,
                _field(CONF_USERNAME, current, required=False): _TEXT,
                _field(CONF_PASSWORD, current, required=False): _PASSWORD,
            }
            for topic in MQTT_TOPICS:
                required = topic in ("setpoint", "state")
                fields[_field(f"{topic}_topic", current, required=required)] = _TEXT
            return fields
        return {
            _field(CONF_PORT, current, 9000): _PORT,
            _field("identity", current, self._data[CONF_NAME]): _TEXT,
            _field(CONF_PASSWORD, current): _PASSWORD,
            _field("safe_limit_w", current, 0): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=22000, step=1, unit_of_measurement="W", mode=NumberSelectorMode.BOX
                )
            ),
            _field("offline_timeout_s", current, 60): NumberSelector(
                NumberSelectorConfig(
                    min=1, max=3600, step=1, unit_of_measurement="s", mode=NumberSelectorMode.BOX
                )
            ),
        }

    @staticmethod
    def _wallbox(kind: str, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The ``devices.wallboxes[]`` item (without ``name``) from the connection form."""
        a = _clean(answers)
        if kind in MODBUS_WALLBOXES:
            wb: dict[str, Any] = {"type": kind, "host": str(a[CONF_HOST]).strip()}
            wb["port"] = int(a[CONF_PORT])
            if (unit := _int(a.get(CONF_UNIT_ID))) is not None:
                wb["unit_id"] = unit
            if kind == "ambicharge":
                wb["connector"] = int(a["connector"])
            return wb
        if kind == "mqtt":
            wb = {"type": "mqtt", "host": str(a[CONF_HOST]).strip(), "port": int(a[CONF_PORT])}
            for key in (CONF_USERNAME, CONF_PASSWORD):
                if key in a:
                    wb[key] = a[key]
            wb["topics"] = {t: a[f"{t}_topic"] for t in MQTT_TOPICS if f"{t}_topic" in a}
            return wb
        return {
            "type": "ocpp",
            "port": int(a[CONF_PORT]),
            "identity": str(a["identity"]).strip(),
            "password": a[CONF_PASSWORD],
            "safe_limit_w": float(a["safe_limit_w"]),
            "offline_timeout_s": int(a["offline_timeout_s"]),
        }

    @staticmethod
    def _wallbox_form(saved: Mapping[str, Any]) -> dict[str, Any]:
        form = {k: v for k, v in saved.items() if k not in ("type", "topics")}
        for topic, value in (saved.get("topics") or {}).items():
            form[f"{topic}_topic"] = value
        return form

    async def _test(self, kind: str, wallbox: dict[str, Any]) -> str | None:
        """Read the box (Modbus), wait for its state (MQTT); OCPP stations call us instead."""
        if kind in MODBUS_WALLBOXES:
            return await checks.modbus_wallbox(wallbox)
        if kind == "mqtt":
            return await checks.mqtt_topic(
                wallbox["host"],
                wallbox["port"],
                wallbox["topics"]["state"],
                wallbox.get(CONF_USERNAME),
                wallbox.get(CONF_PASSWORD),
            )
        return None

    def _device_data(self) -> dict[str, Any]:
        return {KEY_WALLBOX: self._data[KEY_WALLBOX]}


def _mqtt_broker(entries: list[ConfigEntry]) -> dict[str, Any]:
    """Host and port of Home Assistant's MQTT integration, the default for MQTT devices."""
    for entry in entries:
        if entry.data.get("broker"):
            return {CONF_HOST: entry.data["broker"], CONF_PORT: int(entry.data.get("port", 1883))}
    return {}


def _own_entities(flow: ConfigSubentryFlow) -> list[str]:
    """HEMS's own entities: never a source of its own readings."""
    return [e.entity_id for e in er.async_get(flow.hass).entities.values() if e.platform == DOMAIN]


def _missing(
    flow: ConfigSubentryFlow, answers: Mapping[str, Any], keys: tuple[str, ...]
) -> dict[str, str]:
    """``entity_not_found`` for every chosen entity Home Assistant has no state for."""
    return {
        k: "entity_not_found"
        for k in keys
        if answers.get(k) and flow.hass.states.get(str(answers[k])) is None
    }


def _unit(flow: ConfigSubentryFlow, entity_id: str, units: tuple[str, ...]) -> str | None:
    """The entity's unit when the driver knows it (else the driver's default, W)."""
    state = flow.hass.states.get(entity_id)
    unit = None if state is None else state.attributes.get("unit_of_measurement")
    return str(unit) if unit in units else None


class EntityCarSubentryFlow(_CarFlow):
    """A car whose box is in Home Assistant already: read sensors, write a number/select/action."""

    subentry_type = SUBENTRY_ENTITY_CAR
    READ: Final = ("power_entity", "soc_entity", "plugged_entity")

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name, the power and SoC sensors, and how setpoints are written."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            errors = _missing(self, user_input, self.READ)
            if (error := self._name_error(name)) is not None:
                errors[CONF_NAME] = error
            if not errors:
                entities = _clean({k: user_input.get(k) for k in (*self.READ, "write_mode")})
                if (unit := _unit(self, entities["power_entity"], ("W", "kW"))) is not None:
                    entities["power_unit"] = unit
                self._data = {CONF_NAME: name, KEY_ENTITIES: entities}
                return await self.async_step_write()
        current = dict(user_input or {})
        if not current and self._old:
            current = {CONF_NAME: self._old[KEY_CAR]["name"], **self._old[KEY_ENTITIES]}
        own = _own_entities(self)
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _field(CONF_NAME, current): _TEXT,
                    _field("power_entity", current): EntitySelector(
                        EntitySelectorConfig(
                            domain="sensor",
                            device_class=SensorDeviceClass.POWER,
                            exclude_entities=own,
                        )
                    ),
                    _field("soc_entity", current, required=False): EntitySelector(
                        EntitySelectorConfig(domain="sensor", exclude_entities=own)
                    ),
                    _field("plugged_entity", current, required=False): EntitySelector(
                        EntitySelectorConfig(domain="binary_sensor", exclude_entities=own)
                    ),
                    _field("write_mode", current, "number"): _select(WRITE_MODES, "write_mode"),
                }
            ),
            errors=errors,
        )

    async def async_step_write(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The number, select (and its options) or action that takes the setpoint."""
        mode = str(self._data[KEY_ENTITIES]["write_mode"])
        errors: dict[str, str] = {}
        if user_input is not None:
            answers = _clean(user_input)
            errors = _missing(self, answers, ("setpoint_entity", "select_entity"))
            if mode == "action":
                domain, _, service = str(answers["action"]).partition(".")
                if not self.hass.services.has_service(domain, service):
                    errors["action"] = "action_missing"
            if mode == "select" and not errors:
                state = self.hass.states.get(str(answers["select_entity"]))
                assert state is not None  # checked above
                offered = set(state.attributes.get("options") or [])
                for key in ("select_charge", "select_discharge", "select_idle"):
                    if key in answers and answers[key] not in offered:
                        errors[key] = "option_missing"
            if not errors:
                if mode == "number":
                    unit = _unit(self, answers["setpoint_entity"], ("W", "kW", "A"))
                    if unit is not None:
                        answers["setpoint_unit"] = unit
                # Back from another mode: only this mode's keys stay.
                for key in (*WRITE_KEYS, "setpoint_unit"):
                    self._data[KEY_ENTITIES].pop(key, None)
                self._data[KEY_ENTITIES].update(answers)
                return await self.async_step_car()
        saved = self._old.get(KEY_ENTITIES) or {}
        current = dict(user_input) if user_input is not None else dict(saved)
        fields: dict[Any, Any]
        if mode == "number":
            fields = {
                _field("setpoint_entity", current): EntitySelector(
                    EntitySelectorConfig(domain=["number", "input_number"])
                )
            }
        elif mode == "select":
            fields = {
                _field("select_entity", current): EntitySelector(
                    EntitySelectorConfig(domain=["select", "input_select"])
                ),
                _field("select_charge", current): _TEXT,
                _field("select_discharge", current, required=False): _TEXT,
                _field("select_idle", current): _TEXT,
            }
        else:
            fields = {
                _field("action", current): _TEXT,
                _field("action_data", current, required=False): ObjectSelector(),
            }
        return self.async_show_form(
            step_id=f"write_{mode}",
            data_schema=vol.Schema(fields),
            errors=errors,
            last_step=False,
        )

    async def async_step_write_number(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The form for a number entity."""
        return await self.async_step_write(user_input)

    async def async_step_write_select(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The form for a select entity."""
        return await self.async_step_write(user_input)

    async def async_step_write_action(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The form for an action."""
        return await self.async_step_write(user_input)

    def _device_data(self) -> dict[str, Any]:
        return {KEY_ENTITIES: self._data[KEY_ENTITIES]}


class PvSubentryFlow(_DeviceFlow):
    """The PV inverter over SunSpec Modbus TCP (read, and curtailed when prices go negative)."""

    subentry_type = SUBENTRY_PV
    single = True

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Host, port, unit and rated power; discovered and read before saving."""
        if (abort := self._abort_if_single_exists()) is not None:
            return abort
        errors: dict[str, str] = {}
        placeholders = {"reason": ""}
        if user_input is not None:
            a = _clean(user_input)
            pv: dict[str, Any] = {
                "type": "sunspec",
                "host": str(a[CONF_HOST]).strip(),
                "port": int(a[CONF_PORT]),
                "unit_id": int(a[CONF_UNIT_ID]),
                "curtailable": bool(a["curtailable"]),
            }
            if "rated_kw" in a:
                pv["rated_w"] = float(a["rated_kw"]) * 1000
            reason = await checks.sunspec(pv)
            if reason is None:
                reason = await self._check_document({KEY_PV: pv})
                code = "invalid_config"
            else:
                code = "cannot_connect"
            if reason is None:
                return self._save("PV inverter", {KEY_PV: pv}, SUBENTRY_PV)
            errors["base"] = code
            placeholders["reason"] = reason
        current = dict(user_input) if user_input is not None else dict(self._old.get(KEY_PV) or {})
        if user_input is None and current.get("rated_w"):
            current["rated_kw"] = current["rated_w"] / 1000
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _field(CONF_HOST, current): _TEXT,
                    _field(CONF_PORT, current, 502): _PORT,
                    _field(CONF_UNIT_ID, current, 1): _UNIT,
                    _field("rated_kw", current, required=False): _kw(0.1, 1000),
                    _field("curtailable", current, True): BooleanSelector(),
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


class BatterySubentryFlow(_DeviceFlow):
    """The home battery: its size for planning, and a SunSpec endpoint to control it (optional)."""

    subentry_type = SUBENTRY_BATTERY
    single = True

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Capacity, limits, reserve; host empty = planned for but not controlled."""
        if (abort := self._abort_if_single_exists()) is not None:
            return abort
        errors: dict[str, str] = {}
        placeholders = {"reason": ""}
        if user_input is not None:
            a = _clean(user_input)
            battery: dict[str, Any] = {
                "name": str(a[CONF_NAME]).strip(),
                **{k: float(a[k]) for k in CAR_NUMBERS},
                "reserve_soc": float(a["reserve_soc"]) / 100,
                "chemistry": a["chemistry"],
            }
            reason: str | None = None
            code = "cannot_connect"
            if CONF_HOST in a:
                battery["driver"] = {
                    "type": "sunspec",
                    "host": str(a[CONF_HOST]).strip(),
                    "port": int(a[CONF_PORT]),
                    "unit_id": int(a[CONF_UNIT_ID]),
                }
                reason = await checks.sunspec(battery["driver"], battery=True)
            if reason is None:
                reason = await self._check_document({KEY_BATTERY: battery})
                code = "invalid_config"
            if reason is None:
                return self._save(battery["name"], {KEY_BATTERY: battery}, SUBENTRY_BATTERY)
            errors["base"] = code
            placeholders["reason"] = reason
        if user_input is not None:
            current = dict(user_input)
        else:
            saved = dict(self._old.get(KEY_BATTERY) or {})
            current = {**saved, **(saved.pop("driver", None) or {})}
            if "reserve_soc" in current:
                current["reserve_soc"] = round(current["reserve_soc"] * 100)
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _field(CONF_NAME, current, "battery"): _TEXT,
                    _field("capacity_kwh", current, 10.0): NumberSelector(
                        NumberSelectorConfig(
                            min=0.5,
                            max=1000,
                            step=0.1,
                            unit_of_measurement="kWh",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                    _field("max_charge_kw", current, 5.0): _kw(0.1, 100),
                    _field("max_discharge_kw", current, 5.0): _kw(0.1, 100),
                    _field("reserve_soc", current, 10): _PERCENT,
                    _field("chemistry", current, "lfp"): _select(("nmc", "lfp"), "chemistry"),
                    _field(CONF_HOST, current, required=False): _TEXT,
                    _field(CONF_PORT, current, 502): _PORT,
                    _field(CONF_UNIT_ID, current, 1): _UNIT,
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


class P1SubentryFlow(_DeviceFlow):
    """The grid meter: a P1 reader on MQTT, or power sensors Home Assistant has already."""

    subentry_type = SUBENTRY_P1
    single = True
    ENTITIES: Final = (
        "power_entity",
        "import_power_entity",
        "export_power_entity",
        "current_l1_entity",
        "current_l2_entity",
        "current_l3_entity",
    )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """MQTT topic or HA sensors."""
        if (abort := self._abort_if_single_exists()) is not None:
            return abort
        if user_input is not None:
            if user_input[KEY_SOURCE] == P1_MQTT:
                return await self.async_step_mqtt()
            return await self.async_step_entities()
        current = {KEY_SOURCE: self._old.get(KEY_SOURCE, P1_MQTT)}
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {_field(KEY_SOURCE, current): _select((P1_MQTT, P1_ENTITIES), "p1_source")}
            ),
            last_step=False,
        )

    async def async_step_mqtt(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Broker (HA's MQTT broker by default), format and topic; a message must arrive."""
        errors: dict[str, str] = {}
        placeholders = {"reason": ""}
        if user_input is not None:
            a = _clean(user_input)
            meter: dict[str, Any] = {
                "type": "mqtt",
                "host": str(a[CONF_HOST]).strip(),
                "port": int(a[CONF_PORT]),
                "format": a[CONF_FORMAT],
                "topic": a.get(CONF_TOPIC, METER_TOPICS[a[CONF_FORMAT]]),
            }
            for key in (CONF_USERNAME, CONF_PASSWORD):
                if key in a:
                    meter[key] = a[key]
            topic = meter["topic"] + ("#" if meter["format"] == "dsmr_reader" else "")
            reason = await checks.mqtt_topic(
                meter["host"], meter["port"], topic, meter.get(CONF_USERNAME),
                meter.get(CONF_PASSWORD),
            )  # fmt: skip
            code = "cannot_connect"
            data = {KEY_SOURCE: P1_MQTT, KEY_METER: meter}
            if reason is None:
                reason = await self._check_document(data)
                code = "invalid_config"
            if reason is None:
                return self._save("P1 meter", data, SUBENTRY_P1)
            errors["base"] = code
            placeholders["reason"] = reason
        if user_input is not None:
            current = dict(user_input)
        else:
            current = dict(self._old.get(KEY_METER) or {})
        broker = _mqtt_broker(self.hass.config_entries.async_entries("mqtt"))
        return self.async_show_form(
            step_id="mqtt",
            data_schema=vol.Schema(
                {
                    _field(CONF_HOST, current, broker.get(CONF_HOST)): _TEXT,
                    _field(CONF_PORT, current, broker.get(CONF_PORT, 1883)): _PORT,
                    _field(CONF_USERNAME, current, required=False): _TEXT,
                    _field(CONF_PASSWORD, current, required=False): _PASSWORD,
                    _field(CONF_FORMAT, current, "telegram"): _select(METER_FORMATS, "p1_format"),
                    _field(CONF_TOPIC, current, required=False): _TEXT,
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Net grid power (or import and export) and, for the fuse guard, the phase currents."""
        errors: dict[str, str] = {}
        placeholders = {"reason": ""}
        if user_input is not None:
            a = _clean(user_input)
            errors = _missing(self, a, self.ENTITIES)
            if "power_entity" not in a and "import_power_entity" not in a:
                errors["base"] = "power_required"
            if not errors:
                power = a.get("power_entity", a.get("import_power_entity"))
                if (unit := _unit(self, str(power), ("W", "kW"))) is not None:
                    a["power_unit"] = unit
                data = {KEY_SOURCE: P1_ENTITIES, KEY_ENTITIES: a}
                if (reason := await self._check_document(data)) is not None:
                    errors["base"] = "invalid_config"
                    placeholders["reason"] = reason
                else:
                    return self._save("P1 meter", data, SUBENTRY_P1)
        if user_input is not None:
            current = dict(user_input)
        else:
            current = dict(self._old.get(KEY_ENTITIES) or {})
        own = _own_entities(self)
        fields: dict[Any, Any] = {}
        for key in self.ENTITIES:
            power = key.startswith(("power", "import", "export"))
            fields[_field(key, current, required=False)] = EntitySelector(
                EntitySelectorConfig(
                    domain="sensor",
                    device_class=SensorDeviceClass.POWER if power else SensorDeviceClass.CURRENT,
                    exclude_entities=own,
                )
            )
        return self.async_show_form(
            step_id="entities",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders=placeholders,
        )


class GatewaySubentryFlow(_DeviceFlow):
    """The backup gateway's JSON status on MQTT (grid up, island, backup load)."""

    subentry_type = SUBENTRY_GATEWAY
    single = True

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Broker and status topic; a status message must arrive before saving."""
        if (abort := self._abort_if_single_exists()) is not None:
            return abort
        errors: dict[str, str] = {}
        placeholders = {"reason": ""}
        if user_input is not None:
            a = _clean(user_input)
            gateway: dict[str, Any] = {
                "type": "mqtt",
                "host": str(a[CONF_HOST]).strip(),
                "port": int(a[CONF_PORT]),
                "topic": str(a[CONF_TOPIC]).strip(),
            }
            for key in (CONF_USERNAME, CONF_PASSWORD):
                if key in a:
                    gateway[key] = a[key]
            # The document first: a wildcard topic would "answer" with any device's message.
            code = "invalid_config"
            reason = await self._check_document({KEY_GATEWAY: gateway})
            if reason is None:
                code = "cannot_connect"
                reason = await checks.mqtt_topic(
                    gateway["host"], gateway["port"], gateway["topic"],
                    gateway.get(CONF_USERNAME), gateway.get(CONF_PASSWORD),
                )  # fmt: skip
            if reason is None:
                return self._save("Backup gateway", {KEY_GATEWAY: gateway}, SUBENTRY_GATEWAY)
            errors["base"] = code
            placeholders["reason"] = reason
        if user_input is not None:
            current = dict(user_input)
        else:
            current = dict(self._old.get(KEY_GATEWAY) or {})
        broker = _mqtt_broker(self.hass.config_entries.async_entries("mqtt"))
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    _field(CONF_HOST, current, broker.get(CONF_HOST)): _TEXT,
                    _field(CONF_PORT, current, broker.get(CONF_PORT, 1883)): _PORT,
                    _field(CONF_USERNAME, current, required=False): _TEXT,
                    _field(CONF_PASSWORD, current, required=False): _PASSWORD,
                    _field(CONF_TOPIC, current): _TEXT,
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


SUBENTRY_FLOWS: Final[dict[str, type[ConfigSubentryFlow]]] = {
    SUBENTRY_WALLBOX: WallboxSubentryFlow,
    SUBENTRY_ENTITY_CAR: EntityCarSubentryFlow,
    SUBENTRY_PV: PvSubentryFlow,
    SUBENTRY_BATTERY: BatterySubentryFlow,
    SUBENTRY_P1: P1SubentryFlow,
    SUBENTRY_GATEWAY: GatewaySubentryFlow,
}
