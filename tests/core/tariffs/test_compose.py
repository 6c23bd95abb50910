"""Tariff composition: country templates, time-of-use windows, formulas, averages kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.tariffs import (
    ExportRule,
    FlandersCapacityTariff,
    FormulaTariff,
    PriceDataError,
    PriceSeries,
    SeriesMeta,
    SwedishPowerTariff,
    TariffTemplate,
    TouAdder,
    be_flanders,
    compose,
    de,
    de_module3_example,
    intervals_to_series,
    nl_dynamic,
    parse_prices,
    se,
)
from hems_core.tariffs import data as tariff_data
from tests.core.tariffs.helpers import AMS, STO, sample


def _spot(start: datetime, values: list[float] | np.ndarray, **flags: bool) -> PriceSeries:
    v = np.asarray(values, dtype=float)
    return PriceSeries(start=start, values=v, known=np.ones(v.size, bool), **flags)


def test_nl_dynamic_import_formula_and_net_metering_until_2026() -> None:
    spot = parse_prices(sample("nordpool_core_NL_2026-10-25.json"))
    p = compose(spot, lambda y: nl_dynamic(y, purchase_fee=0.02, feed_in_fee=0.01), AMS)
    eb = tariff_data.yearly("nl", "energy_tax_per_kwh", 2026).value
    np.testing.assert_allclose(p.import_price, (spot.values + 0.02 + eb) * 1.21)
    np.testing.assert_allclose(p.export_price, p.import_price)  # netted in 2026
    assert p.currency == "EUR"
    assert len(p) == 100
    assert p.capacity is None


def test_nl_new_year_2027_ends_net_metering() -> None:
    start = datetime(2026, 12, 31, 22, tzinfo=UTC)  # 23:00 local on 31 Dec
    spot = _spot(start, [0.10] * 8)
    p = compose(spot, lambda y: nl_dynamic(y, purchase_fee=0.02, feed_in_fee=0.01), AMS)
    eb_2026 = tariff_data.yearly("nl", "energy_tax_per_kwh", 2026).value
    # 2026 steps: netted; 2027 steps: spot minus the feed-in fee, no tax, no VAT
    np.testing.assert_allclose(p.export_price[:4], (0.10 + 0.02 + eb_2026) * 1.21)
    np.testing.assert_allclose(p.export_price[4:], 0.10 - 0.01)
    assert p.import_price[4] - p.export_price[4] > 0.12  # the spread that makes V2H pay


def test_be_flanders_has_capacity_parameters() -> None:
    spot = parse_prices(sample("nordpool_core_NL_2026-10-25.json"))
    t = be_flanders(
        2026, supplier_markup=0.01, network_per_kwh=0.05, levies_per_kwh=0.0, injection_fee=0.015
    )
    p = compose(spot, t, AMS)
    vat = tariff_data.scalar("be_flanders", "vat")
    np.testing.assert_allclose(p.import_price, (spot.values + 0.01 + 0.05) * (1 + vat))
    np.testing.assert_allclose(p.export_price, spot.values - 0.015)
    assert isinstance(p.capacity, FlandersCapacityTariff)
    assert p.capacity.min_kw == 2.5
    assert p.capacity.cost_per_kw_month == pytest.approx(
        p.capacity.eur_per_kw_year / 12 * (1 + vat)
    )


def test_se_power_tariff_night_weight_and_energy_tax() -> None:
    spot = parse_prices(sample("nordpool_custom_SE3_2026-03-29.json"), currency="SEK")
    p = compose(spot, lambda y: se(y, grid_per_kwh=0.2), STO)
    tax = tariff_data.yearly("se", "energy_tax_per_kwh", 2026).value
    np.testing.assert_allclose(p.import_price, (spot.values + 0.2 + tax) * 1.25)
    assert isinstance(p.capacity, SwedishPowerTariff)
    w = p.capacity.weights(spot.start, len(spot), STO)
    local_hours = [(spot.start + timedelta(minutes=15 * i)).astimezone(STO).hour for i in range(8)]
    assert local_hours[0] == 0
    assert w[0] == 0.5
    noon = next(
        i
        for i in range(len(spot))
        if (spot.start + timedelta(minutes=15 * i)).astimezone(STO).hour == 12
    )
    assert w[noon] == 1.0


def test_de_module3_windows_and_no_feed_in_at_negative_spot() -> None:
    start = datetime(2026, 6, 1, 22, tzinfo=UTC)  # local midnight CEST
    vals = np.full(96, 0.08)
    vals[48:52] = -0.02  # 12:00-13:00 local negative
    spot = _spot(start, vals)
    levels = de_module3_example()
    p = compose(spot, de(2026, grid_per_kwh=0.09, module3=levels, feed_in_tariff=0.0786), AMS)
    tax = tariff_data.yearly("de", "electricity_tax_per_kwh", 2026).value
    adder = np.zeros(96)
    for lv in levels:
        a = lv.start.hour * 4
        b = lv.end.hour * 4
        adder[a:b] += lv.value
    np.testing.assert_allclose(p.import_price, (vals + 0.09 + tax + adder) * 1.19)
    assert np.all(p.export_price[48:52] == 0.0)
    np.testing.assert_allclose(np.delete(p.export_price, range(48, 52)), 0.0786)


def test_tou_adder_weekday_window_and_date_range() -> None:
    start = datetime(2026, 6, 5, 22, tzinfo=UTC)  # Saturday 2026-06-06 00:00 local
    spot = _spot(start, np.zeros(2 * 96))
    t = TariffTemplate(
        name="tou",
        tou=(
            TouAdder(0.1, time(22), time(6), weekdays=frozenset({5})),  # Saturday nights, wraps
            TouAdder(0.5, date_from=date(2026, 6, 7), date_to=date(2026, 6, 7)),
        ),
    )
    p = compose(spot, t, AMS)
    sat, sun = p.import_price[:96], p.import_price[96:]
    assert np.all(sat[:24] == 0.1)
    assert np.all(sat[24:88] == 0)
    assert np.all(sat[88:] == 0.1)
    np.testing.assert_allclose(sun, 0.5)  # Sunday: only the dated adder (window is Saturday's)


def test_formula_tariff() -> None:
    start = datetime(2026, 6, 1, 22, tzinfo=UTC)
    spot = _spot(start, np.linspace(-0.05, 0.2, 96))
    t = FormulaTariff(
        "mine",
        "(spot + 0.02) * 1.21 + where(hour >= 17 and hour < 21, 0.05, 0)",
        "max(spot - 0.01, 0)",
    )
    p = compose(spot, t, AMS)
    s = spot.values
    hours = np.arange(96) / 4
    want = (s + 0.02) * 1.21 + np.where((hours >= 17) & (hours < 21), 0.05, 0)
    np.testing.assert_allclose(p.import_price, want)
    np.testing.assert_allclose(p.export_price, np.maximum(s - 0.01, 0))


@pytest.mark.parametrize(
    "bad",
    ["__import__('os')", "spot ** 2", "foo + 1", "spot.real", "'a'", "min(spot)", "[spot]"],
)
def test_formula_rejects_anything_but_arithmetic(bad: str) -> None:
    with pytest.raises(PriceDataError) as err:
        FormulaTariff("bad", bad)
    assert err.value.kind == "tariff"


def test_formula_division_by_zero_is_an_error() -> None:
    spot = _spot(datetime(2026, 6, 1, tzinfo=UTC), [0.0, 0.1])
    with pytest.raises(PriceDataError, match="non-finite"):
        compose(spot, FormulaTariff("div", "1 / spot"), AMS)


def test_adding_vat_twice_is_refused() -> None:
    spot = parse_prices(sample("tibber_NL_2026-10-25.json"))
    with pytest.raises(PriceDataError, match="already include VAT, energy tax"):
        compose(spot, nl_dynamic(2026), AMS)
    passthrough = compose(spot, TariffTemplate("all-in"), AMS)
    np.testing.assert_allclose(passthrough.import_price, spot.values)


# -- composition keeps time-weighted averages ---------------------------------------------------

T0 = datetime(2026, 10, 24, 22, tzinfo=UTC)  # includes the autumn DST day


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(-0.5, 3.0, allow_nan=False), min_size=1, max_size=60),
    st.floats(0, 0.1),
    st.floats(0, 0.3),
    st.sampled_from([0.0, 0.06, 0.21, 0.25]),
)
def test_composition_commutes_with_resampling(
    hourly: list[float], markup: float, tax: float, vat: float
) -> None:
    """Hourly prices composed then averaged per hour == composed hourly price (linear tariff)."""
    t = TariffTemplate(
        "lin",
        vat=vat,
        markup=markup,
        energy_tax=tax,
        tou=(TouAdder(0.05, time(17), time(21)),),  # hour-aligned window
        export=ExportRule(fee=0.01),
    )
    s0 = int(T0.timestamp())
    starts = s0 + 3600 * np.arange(len(hourly))
    q = intervals_to_series(starts, starts + 3600, hourly, SeriesMeta())
    p = compose(q, t, AMS)
    # time-weighted mean of every hour of the composed quarters
    per_hour = p.import_price.reshape(-1, 4).mean(axis=1)
    local_h = np.array([(T0 + timedelta(hours=i)).astimezone(AMS).hour for i in range(len(hourly))])
    want = (
        np.array(hourly) + markup + tax + np.where((local_h >= 17) & (local_h < 21), 0.05, 0)
    ) * (1 + vat)
    np.testing.assert_allclose(per_hour, want, rtol=1e-12, atol=1e-12)
    # and over the whole span: mean(compose(x)) == compose(mean(x)) without ToU
    t2 = TariffTemplate("lin2", vat=vat, markup=markup, energy_tax=tax)
    p2 = compose(q, t2, AMS)
    assert p2.import_price.mean() == pytest.approx((np.mean(hourly) + markup + tax) * (1 + vat))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-0.5, 3.0, allow_nan=False), min_size=3, max_size=60))
def test_finer_prices_compose_then_average_equals_average_then_compose(fine: list[float]) -> None:
    n = len(fine) - len(fine) % 3
    fine = fine[:n]
    s0 = int(T0.timestamp())
    starts = s0 + 300 * np.arange(n)
    q = intervals_to_series(starts, starts + 300, fine, SeriesMeta())
    t = TariffTemplate("lin", vat=0.21, markup=0.02, energy_tax=0.09)
    p = compose(q, t, AMS)
    direct = (np.array(fine).reshape(-1, 3).mean(axis=1) + 0.02 + 0.09) * 1.21
    np.testing.assert_allclose(p.import_price, direct, rtol=1e-12, atol=1e-12)
