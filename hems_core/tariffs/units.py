"""Units, currencies and bidding-zone time zones.

Sources mix €/MWh, €/kWh, cents and öre; a price read in the wrong unit is off by 100 or 1000, which
an optimiser would happily act on. So every value is converted to currency/kWh here and then checked
against a plausible band for its currency: a magnitude outside the band is reported as a probable
unit mistake rather than used.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from .errors import PriceDataError

#: Rough units of each currency per euro, only to scale plausibility bounds (not for conversion).
_PER_EUR = {
    "EUR": 1.0,
    "GBP": 1.0,
    "CHF": 1.0,
    "USD": 1.0,
    "DKK": 7.5,
    "SEK": 11.5,
    "NOK": 11.8,
    "PLN": 4.3,
    "CZK": 25.0,
    "HUF": 400.0,
    "RON": 5.0,
    "BGN": 2.0,
}

#: Largest plausible |price| in €/kWh: the SDAC harmonised clearing limits are −0.5 and +4 €/kWh;
#: all-in retail prices add well under 1 €/kWh on top.
MAX_ABS_EUR_PER_KWH = 10.0
#: Below this for every value of a long series, values are probably €/kWh labelled €/MWh.
MIN_MAX_ABS_EUR_PER_KWH = 1e-3

_CENTS = {"c", "ct", "cent", "cents", "eurocent", "öre", "ore", "øre", "p", "pence", "rappen", "gr"}
_LOCAL_CURRENCY = {"€": "EUR", "£": "GBP", "kr": None, "$": "USD"}
_ENERGY = {"wh": 1e-3, "kwh": 1.0, "mwh": 1e3}
_UNIT_RE = re.compile(r"^\s*([^/\s]+)\s*/\s*([kKmM]?[wW][hH])\s*$")


def parse_unit(text: str) -> tuple[float, str | None]:
    """``"EUR/MWh"`` -> (0.001, "EUR"); ``"c/kWh"`` -> (0.01, None); ``"SEK/kWh"`` -> (1, "SEK").

    The factor converts a value in that unit to currency/kWh; the currency is ``None`` when the
    unit names only a subunit or a symbol shared by several currencies (``kr``).
    """
    m = _UNIT_RE.match(text)
    if m is None:
        raise PriceDataError("format", f"unrecognised price unit {text!r}")
    money, energy = m.group(1), m.group(2).lower()
    per_kwh = 1.0 / _ENERGY[energy]
    low = money.lower()
    if low in _CENTS:
        return per_kwh / 100.0, None
    if money in _LOCAL_CURRENCY:
        return per_kwh, _LOCAL_CURRENCY[money]
    if low == "kr":
        return per_kwh, None
    if len(money) == 3 and money.isalpha():
        return per_kwh, money.upper()
    raise PriceDataError("format", f"unrecognised currency in price unit {text!r}")


def energy_factor(unit: str) -> float:
    """Factor from currency per ``unit`` (``"kWh"``, ``"MWh"``, ``"Wh"``) to currency/kWh."""
    try:
        return 1.0 / _ENERGY[unit.strip().lower()]
    except KeyError as err:
        raise PriceDataError("format", f"unrecognised energy unit {unit!r}") from err


def check_magnitude(values: NDArray[np.float64], currency: str, what: str = "prices") -> None:
    """Reject values that are implausible in currency/kWh (probably a unit mistake)."""
    if values.size == 0:
        return
    scale = _PER_EUR.get(currency.upper(), 1.0)
    hi = MAX_ABS_EUR_PER_KWH * scale
    top = float(np.max(np.abs(values)))
    if top > hi:
        hint = ""
        if top / 1000 <= hi:
            hint = " (probably per MWh read as per kWh)"
        elif top / 100 <= hi:
            hint = " (probably cents read as whole currency)"
        raise PriceDataError(
            "magnitude",
            f"implausible {what}: |price| up to {top:g} {currency}/kWh exceeds {hi:g}{hint}",
        )
    if values.size >= 24 and 0.0 < top < MIN_MAX_ABS_EUR_PER_KWH * scale:
        raise PriceDataError(
            "magnitude",
            f"implausible {what}: every |price| is below {MIN_MAX_ABS_EUR_PER_KWH * scale:g} "
            f"{currency}/kWh (probably per kWh read as per MWh)",
        )


#: Bidding zone / Nord Pool area -> IANA zone, to count quarters in a local delivery day.
AREA_ZONES = {
    "SE1": "Europe/Stockholm",
    "SE2": "Europe/Stockholm",
    "SE3": "Europe/Stockholm",
    "SE4": "Europe/Stockholm",
    "NO1": "Europe/Oslo",
    "NO2": "Europe/Oslo",
    "NO3": "Europe/Oslo",
    "NO4": "Europe/Oslo",
    "NO5": "Europe/Oslo",
    "OSLO": "Europe/Oslo",
    "KR.SAND": "Europe/Oslo",
    "BERGEN": "Europe/Oslo",
    "MOLDE": "Europe/Oslo",
    "TR.HEIM": "Europe/Oslo",
    "TROMSØ": "Europe/Oslo",
    "DK1": "Europe/Copenhagen",
    "DK2": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "EE": "Europe/Tallinn",
    "LV": "Europe/Riga",
    "LT": "Europe/Vilnius",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "FR": "Europe/Paris",
    "DE": "Europe/Berlin",
    "DE-LU": "Europe/Berlin",
    "GER": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "PL": "Europe/Warsaw",
    "SYS": "Europe/Oslo",
}
