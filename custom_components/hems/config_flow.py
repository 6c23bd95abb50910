"""Config flow for HEMS: one site per entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    ConfigEntrySelector,
    ConfigEntrySelectorConfig,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from hems_core.tariffs import PriceDataError, be_flanders, compose, parse_prices
from hems_core.tariffs.composition import flanders_areas

from .const import (
    CONF_FEED_IN_FEE,
    CONF_FEED_IN_TARIFF,
    CONF_FLUVIUS_AREA,
    CONF_GRID_FEE,
    CONF_LOAD_ENERGY_ENTITY,
    CONF_PRICE_AREA,
    CONF_PRICE_CONFIG_ENTRY,
    CONF_PRICE_ENTITY,
    CONF_PRICE_SOURCE,
    CONF_PV_AZIMUTH,
    CONF_PV_ENERGY_ENTITY,
    CONF_PV_FORECAST_SOLAR_ENTRIES,
    CONF_PV_KWP,
    CONF_PV_SOLCAST_ENTITIES,
    CONF_PV_TILT,
    CONF_SITE_NAME,
    CONF_SUPPLIER_FEE,
    CONF_TARIFF,
    DEFAULT_SITE_NAME,
    DOMAIN,
    FORECAST_SOLAR_DOMAIN,
    PRICE_ACTIONS,
    PRICE_SOURCE_ENTITY,
    PRICE_SOURCE_NONE,
    PRICE_SOURCE_NORDPOOL,
    PRICE_SOURCE_TIBBER,
    PRICE_SOURCES,
    SOLCAST_DOMAIN,
    TARIFF_ALL_IN,
    TARIFF_BE,
    TARIFF_DE,
    TARIFF_FIELDS,
    TARIFF_NL,
    TARIFF_SE,
    TARIFFS,
)
from .prices import PriceSettings
from .schema import vol
from .site import CONF_ALLOW_EXPORT, CONF_FUSE_A, CONF_PHASES
from .subentry_flow import SUBENTRY_FLOWS

#: Starting values of the tariff fields (currency/kWh before VAT), each from a public figure;
#: 0 where no figure fits most contracts (the user's tariff card has it).
FEE_DEFAULTS: dict[str, dict[str, float]] = {
    # Tibber NL's purchase fee, April 2025, excl. VAT: 0.0248 EUR/kWh; Dutch suppliers' export
    # fee is often the same number (eniris.com, "Dynamic pricing in the Netherlands").
    TARIFF_NL: {CONF_SUPPLIER_FEE: 0.0248, CONF_FEED_IN_FEE: 0.0248},
    # Median of the 2025 household per-kWh network charges (SLP NS Arbeitspreis) of the ten
    # large DSOs on smard.de (Bundesnetzagentur): 9.0 ct; EEG feed-in for PV up to 10 kWp with
    # self-consumption commissioned 2025-08-01..2026-01-31: 7.86 ct (EEG section 48).
    TARIFF_DE: {CONF_GRID_FEE: 0.090, CONF_FEED_IN_TARIFF: 0.0786},
    # A Swedish fuse tariff's transfer fee: Norrtalje Energi, 20.0 ore/kWh excl. VAT.
    TARIFF_SE: {CONF_GRID_FEE: 0.20},
}


class HemsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create a HEMS site; devices and tariffs are added in later steps as they land."""

    VERSION = 1
    #: 2: devices are subentries (a ``site_config`` option is turned into them on migration).
    MINOR_VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> HemsOptionsFlow:
        """Options: where the household's history comes from."""
        return HemsOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Devices are subentries: each added, tested, reconfigured or removed on its own."""
        return dict(SUBENTRY_FLOWS)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The site's name, its grid connection and whether storage may export (V2G)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_SITE_NAME]).strip()
            if not any(char.isalnum() for char in name):
                errors[CONF_SITE_NAME] = "invalid_name"
            else:
                await self.async_set_unique_id(slugify(name))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=name, data={CONF_SITE_NAME: name, **_grid(user_input)}
                )
        fields = {vol.Required(CONF_SITE_NAME, default=DEFAULT_SITE_NAME): str}
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema({**fields, **_grid_fields(user_input or {})}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the grid connection or the export policy (the name stays: it is the id)."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            return self.async_update_reload_and_abort(
                entry, data={**entry.data, **_grid(user_input)}
            )
        return self.async_show_form(
            step_id="reconfigure", data_schema=vol.Schema(_grid_fields(entry.data))
        )


def _grid_fields(current: Mapping[str, Any]) -> dict[Any, Any]:
    """Phases, main fuse per phase and the export policy, showing ``current``."""
    return {
        vol.Required(CONF_PHASES, default=str(current.get(CONF_PHASES, 1))): SelectSelector(
            SelectSelectorConfig(
                options=["1", "3"], translation_key="phases", mode=SelectSelectorMode.LIST
            )
        ),
        vol.Required(CONF_FUSE_A, default=float(current.get(CONF_FUSE_A, 25))): NumberSelector(
            NumberSelectorConfig(
                min=6, max=200, step=1, unit_of_measurement="A", mode=NumberSelectorMode.BOX
            )
        ),
        vol.Required(CONF_ALLOW_EXPORT, default=bool(current.get(CONF_ALLOW_EXPORT, False))): (
            BooleanSelector()
        ),
    }


def _grid(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {
        CONF_PHASES: int(answers[CONF_PHASES]),
        CONF_FUSE_A: float(answers[CONF_FUSE_A]),
        CONF_ALLOW_EXPORT: bool(answers[CONF_ALLOW_EXPORT]),
    }


class HemsOptionsFlow(OptionsFlow):
    """Sources of the site: household history, prices and tariff, PV forecast.

    ``init`` holds the sources; a price source leads to ``prices`` (which entity or action, which
    tariff template) and, for templates with parameters, to ``tariff``.
    """

    def __init__(self) -> None:
        """Collect the answers of all steps before saving them at once."""
        super().__init__()
        self._answers: dict[str, Any] = {}

    def _suggested(
        self, key: str, default: Any = None, answers: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Keep a previous answer as the form's suggestion (empty optional fields stay empty).

        ``answers``: what was just submitted and refused, which wins over the saved options so
        the user can correct it instead of choosing it again.
        """
        current = (answers or {}).get(key, self.config_entry.options.get(key, default))
        return {} if current in (None, "", []) else {"description": {"suggested_value": current}}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Household history sensor, price source and PV forecast sources."""
        # HEMS's own sensors (forecasts, car counters) are energy sensors too: never a source.
        # The selector neither offers nor accepts them.
        own = [
            e.entity_id for e in er.async_get(self.hass).entities.values() if e.platform == DOMAIN
        ]
        if user_input is not None:
            self._answers = dict(user_input)
            if user_input.get(CONF_PRICE_SOURCE, PRICE_SOURCE_NONE) == PRICE_SOURCE_NONE:
                return self.async_create_entry(data=self._answers)
            return await self.async_step_prices()
        options = self.config_entry.options
        energy = EntitySelector(
            EntitySelectorConfig(
                domain="sensor", device_class=SensorDeviceClass.ENERGY, exclude_entities=own
            )
        )
        fields: dict[Any, Any] = {
            vol.Optional(CONF_LOAD_ENERGY_ENTITY, **self._suggested(CONF_LOAD_ENERGY_ENTITY)): (
                energy
            ),
            vol.Required(
                CONF_PRICE_SOURCE, default=options.get(CONF_PRICE_SOURCE, PRICE_SOURCE_NONE)
            ): SelectSelector(
                SelectSelectorConfig(
                    options=PRICE_SOURCES,
                    translation_key=CONF_PRICE_SOURCE,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Optional(CONF_PV_SOLCAST_ENTITIES, **self._suggested(CONF_PV_SOLCAST_ENTITIES)): (
                EntitySelector(
                    EntitySelectorConfig(domain="sensor", integration=SOLCAST_DOMAIN, multiple=True)
                )
            ),
        }
        planes = [
            SelectOptionDict(value=e.entry_id, label=e.title)
            for e in self.hass.config_entries.async_entries(FORECAST_SOLAR_DOMAIN)
        ]
        if planes:
            fields[
                vol.Optional(
                    CONF_PV_FORECAST_SOLAR_ENTRIES,
                    **self._suggested(CONF_PV_FORECAST_SOLAR_ENTRIES),
                )
            ] = SelectSelector(SelectSelectorConfig(options=planes, multiple=True))
        fields[vol.Optional(CONF_PV_ENERGY_ENTITY, **self._suggested(CONF_PV_ENERGY_ENTITY))] = (
            energy
        )
        fields[vol.Optional(CONF_PV_KWP, **self._suggested(CONF_PV_KWP))] = NumberSelector(
            NumberSelectorConfig(min=0, max=1000, step=0.1, unit_of_measurement="kWp")
        )
        fields[vol.Required(CONF_PV_TILT, default=options.get(CONF_PV_TILT, 35))] = NumberSelector(
            NumberSelectorConfig(min=0, max=90, step=1, unit_of_measurement="°")
        )
        fields[vol.Required(CONF_PV_AZIMUTH, default=options.get(CONF_PV_AZIMUTH, 180))] = (
            NumberSelector(NumberSelectorConfig(min=0, max=360, step=1, unit_of_measurement="°"))
        )
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields))

    async def async_step_prices(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Where the chosen price source lives, and the tariff template; checked before saving."""
        source = str(self._answers[CONF_PRICE_SOURCE])
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"reason": "", "action": ""}
        if user_input is not None:
            errors, placeholders = await self._check_price_source(source, user_input)
            if not errors:
                self._answers.update(user_input)
                if TARIFF_FIELDS[user_input[CONF_TARIFF]]:
                    return await self.async_step_tariff()
                return self.async_create_entry(data=self._answers)
        options = self.config_entry.options
        fields: dict[Any, Any] = {}
        if source == PRICE_SOURCE_ENTITY:
            fields[
                vol.Required(
                    CONF_PRICE_ENTITY, **self._suggested(CONF_PRICE_ENTITY, answers=user_input)
                )
            ] = EntitySelector(EntitySelectorConfig(domain=["sensor", "event"]))
        elif source != PRICE_SOURCE_TIBBER:
            domain = PRICE_ACTIONS[source][0]
            # Optional + a check in _check_price_source: the 2025.4 frontend draws no dialog at
            # all for a *required* config_entry selector without a default.
            fields[
                vol.Optional(
                    CONF_PRICE_CONFIG_ENTRY,
                    **self._suggested(CONF_PRICE_CONFIG_ENTRY, answers=user_input),
                )
            ] = ConfigEntrySelector(ConfigEntrySelectorConfig(integration=domain))
        if source in (PRICE_SOURCE_NORDPOOL, PRICE_SOURCE_TIBBER):
            fields[
                vol.Optional(
                    CONF_PRICE_AREA, **self._suggested(CONF_PRICE_AREA, answers=user_input)
                )
            ] = TextSelector()
        # Tibber's prices are all-in already; others default to the Dutch template.
        tariff = TARIFF_ALL_IN if source == PRICE_SOURCE_TIBBER else TARIFF_NL
        if options.get(CONF_PRICE_SOURCE) == source:
            tariff = options.get(CONF_TARIFF, tariff)
        tariff = (user_input or {}).get(CONF_TARIFF, tariff)
        fields[vol.Required(CONF_TARIFF, default=tariff)] = SelectSelector(
            SelectSelectorConfig(
                options=TARIFFS, translation_key=CONF_TARIFF, mode=SelectSelectorMode.DROPDOWN
            )
        )
        return self.async_show_form(
            step_id="prices",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _tariff_name(self, tariff: str) -> str:
        """The template's name as the tariff selector shows it, in the system's language.

        Home Assistant falls back to English for a language without HEMS strings.
        """
        key = f"component.{DOMAIN}.selector.{CONF_TARIFF}.options.{tariff}"
        names = await async_get_translations(
            self.hass, self.hass.config.language, "selector", [DOMAIN]
        )
        return names.get(key, tariff)

    async def _check_price_source(
        self, source: str, user_input: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The entity must exist and parse now; an action must be registered."""
        placeholders = {"reason": "", "action": ""}
        if source == PRICE_SOURCE_ENTITY:
            entity_id = user_input[CONF_PRICE_ENTITY]
            state = self.hass.states.get(entity_id)
            if state is None:
                return {CONF_PRICE_ENTITY: "entity_not_found"}, placeholders
            tz = dt_util.get_default_time_zone()
            settings = PriceSettings(source=source, tariff=str(user_input[CONF_TARIFF]))
            # Flanders' area comes on the next step (and is checked there); this check is
            # about taxes added twice, for which any network charge will do.
            template = (
                partial(be_flanders, network_per_kwh=0.0)
                if settings.tariff == TARIFF_BE
                else settings.tariff_source()
            )

            def check() -> None:
                # Parse now, and compose once: an all-in source under a template that adds VAT
                # or tax again is refused here rather than failing every refresh later.
                compose(parse_prices(state.as_dict(), tz=tz), template, tz)

            try:
                await self.hass.async_add_executor_job(check)
            except PriceDataError as err:
                placeholders["reason"] = str(err)
                return {"base": "invalid_prices"}, placeholders
            return {}, placeholders
        domain, action = PRICE_ACTIONS[source]
        if source != PRICE_SOURCE_TIBBER and not user_input.get(CONF_PRICE_CONFIG_ENTRY):
            return {CONF_PRICE_CONFIG_ENTRY: "entry_required"}, placeholders
        if not self.hass.services.has_service(domain, action):
            placeholders["action"] = f"{domain}.{action}"
            return {"base": "action_missing"}, placeholders
        return {}, placeholders

    async def async_step_tariff(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The few numbers of the chosen template (currency per kWh, before VAT).

        Flanders also needs the Fluvius area; an area whose network charge is not in the data
        file is refused here, with why, instead of failing every refresh later.
        """
        tariff = str(self._answers[CONF_TARIFF])
        errors: dict[str, str] = {}
        placeholders = {"tariff": tariff, "reason": ""}
        if user_input is not None:
            settings = PriceSettings.from_options({**self._answers, **user_input})
            year = dt_util.now().year
            try:
                assert settings is not None  # a price source led here
                # Every template with parameters is built per year (only those come here).
                source = cast(Callable[[int], object], settings.tariff_source())
                await self.hass.async_add_executor_job(source, year)
            except PriceDataError as err:
                placeholders["reason"] = str(err)
                key, code = (
                    (CONF_FLUVIUS_AREA, "area_unpriced")
                    if tariff == TARIFF_BE
                    else ("base", "tariff_unpriced")
                )
                errors[key] = code
            else:
                self._answers.update(user_input)
                return self.async_create_entry(data=self._answers)
        # Shown again after an error: keep what the user just chose. A template change starts
        # from that template's sourced defaults, not from another template's numbers.
        saved = self.config_entry.options
        kept = saved if saved.get(CONF_TARIFF) == tariff else {}
        current = {**FEE_DEFAULTS.get(tariff, {}), **kept, **(user_input or {})}
        placeholders["tariff"] = await self._tariff_name(tariff)
        fields: dict[Any, Any] = {}
        if tariff == TARIFF_BE:
            area = current.get(CONF_FLUVIUS_AREA)
            fields[
                vol.Required(CONF_FLUVIUS_AREA, **({} if area is None else {"default": area}))
            ] = SelectSelector(
                SelectSelectorConfig(
                    options=list(flanders_areas()),
                    translation_key=CONF_FLUVIUS_AREA,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            )
        unit = "SEK/kWh" if tariff == TARIFF_SE else "EUR/kWh"
        number = NumberSelector(
            NumberSelectorConfig(
                min=-1, max=5, step="any", mode=NumberSelectorMode.BOX, unit_of_measurement=unit
            )
        )
        for key in TARIFF_FIELDS[tariff]:
            fields[vol.Required(key, default=float(current.get(key, 0.0)))] = number
        return self.async_show_form(
            step_id="tariff",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders=placeholders,
        )
