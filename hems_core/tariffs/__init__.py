"""Price inputs to a canonical 15-minute PriceSeries, tariff composition and capacity tariffs.

The optimiser's inputs in three calls::

    spot = parse_prices(payload, tz="Europe/Amsterdam", now=now)      # any HA price source
    spot = extend_with_tail(spot, until=now + timedelta(hours=48), tz=tz)
    prices = compose(spot, lambda year: nl_dynamic(year, purchase_fee=0.02), tz)
    prices.import_price, prices.export_price   # numpy arrays, currency/kWh per 15-min step
    prices.capacity                            # peak-tariff parameters (or None)

Every rejection is a :class:`PriceDataError` with a one-line message.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .adapters import (
        FORMATS,
        check_day_complete,
        check_fresh,
        detect_format,
        parse_prices,
        parse_text,
    )
    from .capacity import (
        CapacityTariff,
        DemandCharge,
        FlandersCapacityTariff,
        FlandersPeakState,
        PowerWindow,
        QuarterAverages,
        SwedishPeakState,
        SwedishPowerTariff,
        quarters_from_counter,
        quarters_from_power,
        update_flanders,
        update_sweden,
    )
    from .composition import (
        ComposedPrices,
        ExportRule,
        FormulaTariff,
        TariffTemplate,
        TouAdder,
        be_flanders,
        compose,
        de,
        de_module3_example,
        ellevio_power_tariff,
        nl_dynamic,
        se,
    )
    from .errors import PriceDataError
    from .resample import SeriesMeta, intervals_to_series
    from .series import PriceSeries
    from .tail import extend_with_tail

_LAZY = {
    "FORMATS": "adapters",
    "check_day_complete": "adapters",
    "check_fresh": "adapters",
    "detect_format": "adapters",
    "parse_prices": "adapters",
    "parse_text": "adapters",
    "CapacityTariff": "capacity",
    "DemandCharge": "capacity",
    "FlandersCapacityTariff": "capacity",
    "FlandersPeakState": "capacity",
    "PowerWindow": "capacity",
    "QuarterAverages": "capacity",
    "SwedishPeakState": "capacity",
    "SwedishPowerTariff": "capacity",
    "quarters_from_counter": "capacity",
    "quarters_from_power": "capacity",
    "update_flanders": "capacity",
    "update_sweden": "capacity",
    "ComposedPrices": "composition",
    "ExportRule": "composition",
    "FormulaTariff": "composition",
    "TariffTemplate": "composition",
    "TouAdder": "composition",
    "be_flanders": "composition",
    "compose": "composition",
    "de": "composition",
    "de_module3_example": "composition",
    "ellevio_power_tariff": "composition",
    "nl_dynamic": "composition",
    "se": "composition",
    "PriceDataError": "errors",
    "SeriesMeta": "resample",
    "intervals_to_series": "resample",
    "PriceSeries": "series",
    "extend_with_tail": "tail",
}


def __getattr__(name: str) -> Any:
    """Import on first use: ``hems --help`` imports ``tariffs.cli`` and must not load numpy."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "FORMATS",
    "CapacityTariff",
    "ComposedPrices",
    "DemandCharge",
    "ExportRule",
    "FlandersCapacityTariff",
    "FlandersPeakState",
    "FormulaTariff",
    "PowerWindow",
    "PriceDataError",
    "PriceSeries",
    "QuarterAverages",
    "SeriesMeta",
    "SwedishPeakState",
    "SwedishPowerTariff",
    "TariffTemplate",
    "TouAdder",
    "be_flanders",
    "check_day_complete",
    "check_fresh",
    "compose",
    "de",
    "de_module3_example",
    "detect_format",
    "ellevio_power_tariff",
    "extend_with_tail",
    "intervals_to_series",
    "nl_dynamic",
    "parse_prices",
    "parse_text",
    "quarters_from_counter",
    "quarters_from_power",
    "se",
    "update_flanders",
    "update_sweden",
]
