"""The price glue's pure parts: options to templates, attribute size, payload handling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.hems.prices import Payload, PriceSettings, build_prices
from hems_core.tariffs import (
    PriceDataError,
    PriceSeries,
    TariffTemplate,
    be_flanders,
    compose,
    de,
    nl_dynamic,
    se,
)

TZ = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 6, 10, 9, 7, tzinfo=TZ)


def _spot(start: datetime, n: int, value: float = 0.1) -> PriceSeries:
    return PriceSeries(
        start=start.astimezone(UTC), values=np.full(n, value), known=np.ones(n, dtype=bool)
    )


def _payload(day: datetime, value: float) -> dict[str, Any]:
    """A flat Nord Pool custom ``today`` list, wrapped like a state (for the day anchor)."""
    return {
        "entity_id": "sensor.nordpool",
        "state": str(value),
        "last_updated": day.isoformat(),
        "attributes": {"today": [value] * 24, "currency": "EUR", "unit": "kWh", "region": "NL"},
    }


@pytest.mark.parametrize(
    ("tariff", "options", "reference"),
    [
        ("nl_dynamic", {"supplier_fee": 0.02, "feed_in_fee": 0.01, "feed_in_compensation": 0.03},
         partial(nl_dynamic, purchase_fee=0.02, feed_in_fee=0.01, feed_in_compensation=0.03)),
        ("be_flanders", {"supplier_fee": 0.015, "feed_in_fee": 0.012, "fluvius_area": "imewo"},
         partial(be_flanders, area="imewo", supplier_markup=0.015, injection_fee=0.012)),
        ("se", {"supplier_fee": 0.05, "grid_fee": 0.25},
         partial(se, supplier_markup=0.05, grid_per_kwh=0.25)),
        ("de", {"supplier_fee": 0.02, "grid_fee": 0.09, "feed_in_tariff": 0.08},
         partial(de, supplier_markup=0.02, grid_per_kwh=0.09, feed_in_tariff=0.08)),
        ("all_in", {"supplier_fee": 9.0}, TariffTemplate(name="all_in")),
    ],
)  # fmt: skip
def test_options_pick_the_library_template(
    tariff: str, options: dict[str, float], reference: Any
) -> None:
    settings = PriceSettings.from_options({"price_source": "entity", "tariff": tariff, **options})
    assert settings is not None
    spot = _spot(datetime(2026, 12, 31, 20, tzinfo=TZ), 32)  # across New Year
    got = compose(spot, settings.tariff_source(), TZ)
    want = compose(spot, reference, TZ)
    np.testing.assert_allclose(got.import_price, want.import_price)
    np.testing.assert_allclose(got.export_price, want.export_price)


def test_flanders_prices_with_an_area_and_a_clear_error_without() -> None:
    """The area reaches the library: a real all-in price (network charge, levies, VAT) with it;
    an entry saved before the area field existed gets a reason naming the options, no price."""
    options = {"price_source": "entity", "tariff": "be_flanders", "supplier_fee": 0.0}
    payload = Payload(_payload(NOW, 0.1))
    imewo = PriceSettings.from_options({**options, "fluvius_area": "imewo"})
    antwerpen = PriceSettings.from_options({**options, "fluvius_area": "antwerpen"})
    assert imewo is not None and antwerpen is not None
    got = build_prices([payload], imewo, now=NOW, tz=TZ).prices
    assert got.tariff == "be_flanders_imewo_2026"
    # Spot 0.10 + Imewo's 0.0522864 + June 2026 levies (0.04748 + 0.0019261 + 0.01492), + 6 %.
    want = (0.1 + 0.0522864 + 0.04748 + 0.0019261 + 0.01492) * 1.06
    assert got.import_price[0] == pytest.approx(want)
    other = build_prices([payload], antwerpen, now=NOW, tz=TZ).prices
    assert got.import_price[0] - other.import_price[0] == pytest.approx(
        (0.0522864 - 0.0505027) * 1.06
    )
    missing = PriceSettings.from_options(options)
    assert missing is not None
    with pytest.raises(PriceDataError, match="no Fluvius network area.*HEMS options"):
        build_prices([payload], missing, now=NOW, tz=TZ)
    # An area without a kWh charge in the data file: an error, never a zero network charge.
    limburg = PriceSettings.from_options({**options, "fluvius_area": "limburg"})
    assert limburg is not None
    with pytest.raises(PriceDataError, match="limburg"):
        build_prices([payload], limburg, now=NOW, tz=TZ)


def test_no_source_means_no_settings() -> None:
    assert PriceSettings.from_options({}) is None
    assert PriceSettings.from_options({"price_source": "none", "tariff": "se"}) is None


def test_attributes_shrink_under_the_limit_and_current_outside() -> None:
    settings = PriceSettings(source="entity")
    data = build_prices([Payload(_payload(NOW, 0.123456))], settings, now=NOW, tz=TZ)
    full = data.attributes("import", NOW)
    assert len(full["prices"]) == 192
    size = len(json.dumps(full, separators=(",", ":")))
    small = data.attributes("import", NOW, max_bytes=size - 200)
    assert len(json.dumps(small, separators=(",", ":"))) <= size - 200
    assert small["prices"][0] == pytest.approx(0.123, abs=1e-3)  # fewer decimals first
    tiny = data.attributes("export", NOW, max_bytes=600)
    assert len(json.dumps(tiny, separators=(",", ":"))) <= 600
    assert 0 < len(tiny["prices"]) == len(tiny["known"]) < 192
    assert data.current(NOW - timedelta(days=1)) is None
    assert data.current(NOW + timedelta(days=3)) is None
    assert not data.covers(NOW + timedelta(days=3))


def test_optional_payloads_only() -> None:
    settings = PriceSettings(source="energyzero")
    with pytest.raises(PriceDataError, match="no prices"):
        build_prices([Payload({"prices": "x"}, required=False)], settings, now=NOW, tz=TZ)
    with pytest.raises(PriceDataError):
        build_prices([Payload({"prices": "x"})], settings, now=NOW, tz=TZ)


def test_history_from_another_period_is_ignored() -> None:
    """A last good series that does not reach today (a gap) only loses its weekday hint."""
    settings = PriceSettings(source="entity")
    old = _spot(NOW.replace(minute=0) - timedelta(days=30), 96, 0.5)
    with_gap = build_prices([Payload(_payload(NOW, 0.1))], settings, now=NOW, tz=TZ, history=old)
    plain = build_prices([Payload(_payload(NOW, 0.1))], settings, now=NOW, tz=TZ)
    np.testing.assert_allclose(with_gap.prices.import_price, plain.prices.import_price)
    # A contiguous history does feed the tail.
    yesterday = _spot(NOW.replace(hour=0, minute=0) - timedelta(days=1), 96, 0.5)
    fed = build_prices([Payload(_payload(NOW, 0.1))], settings, now=NOW, tz=TZ, history=yesterday)
    tail = ~fed.prices.known
    assert fed.prices.import_price[tail].max() > plain.prices.import_price[tail].max()
