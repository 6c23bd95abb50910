"""National public holidays for the countries we ship defaults for (BE, NL, DE, SE).

A household behaves on a public holiday like on a Sunday, so the load profile treats holidays as
Sundays, both when learning and when forecasting. Only nationwide days are listed (German states
add their own; pass extra dates via ``extra`` for those, school holidays, or the family's own
habits). Computed, not tabulated, so it never runs out of years.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from .errors import ForecastInputError

SUPPORTED_COUNTRIES = ("BE", "NL", "DE", "SE")


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _first_weekday_on_or_after(d: date, weekday: int) -> date:
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def public_holidays(country: str, year: int) -> frozenset[date]:
    """Nationwide public holidays of ``country`` (ISO 3166 alpha-2) in ``year``."""
    cc = country.upper()
    e = easter_sunday(year)
    ascension = e + timedelta(days=39)
    whit_monday = e + timedelta(days=50)
    if cc == "BE":
        days = {
            date(year, 1, 1),
            e + timedelta(days=1),
            date(year, 5, 1),
            ascension,
            whit_monday,
            date(year, 7, 21),
            date(year, 8, 15),
            date(year, 11, 1),
            date(year, 11, 11),
            date(year, 12, 25),
        }
    elif cc == "NL":
        kings = date(year, 4, 27)
        if kings.weekday() == 6:
            kings = date(year, 4, 26)
        days = {
            date(year, 1, 1),
            e,
            e + timedelta(days=1),
            kings,
            date(year, 5, 5),
            ascension,
            e + timedelta(days=49),
            whit_monday,
            date(year, 12, 25),
            date(year, 12, 26),
        }
    elif cc == "DE":
        days = {
            date(year, 1, 1),
            e - timedelta(days=2),
            e + timedelta(days=1),
            date(year, 5, 1),
            ascension,
            whit_monday,
            date(year, 10, 3),
            date(year, 12, 25),
            date(year, 12, 26),
        }
    elif cc == "SE":
        midsummer_eve = _first_weekday_on_or_after(date(year, 6, 19), 4)
        all_saints = _first_weekday_on_or_after(date(year, 10, 31), 5)
        days = {
            date(year, 1, 1),
            date(year, 1, 6),
            e - timedelta(days=2),
            e + timedelta(days=1),
            date(year, 5, 1),
            ascension,
            date(year, 6, 6),
            midsummer_eve,
            midsummer_eve + timedelta(days=1),
            all_saints,
            date(year, 12, 24),
            date(year, 12, 25),
            date(year, 12, 26),
            date(year, 12, 31),
        }
    else:
        raise ForecastInputError(
            f"no holiday calendar for {country!r}; supported: {', '.join(SUPPORTED_COUNTRIES)}"
            " (or pass country=None and list dates explicitly)"
        )
    return frozenset(days)


def holiday_set(
    country: str | None, years: Iterable[int], extra: Iterable[date] = ()
) -> frozenset[date]:
    """Union of a country's holidays over ``years`` and any ``extra`` dates."""
    out: set[date] = set(extra)
    if country:
        for y in years:
            out |= public_holidays(country, y)
    return frozenset(out)
