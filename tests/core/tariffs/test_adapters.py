"""Fixture tests: every adapter on its committed sample, DST days, mixed resolutions, errors."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from hems_core.tariffs import PriceDataError, detect_format, parse_prices, parse_text
from tests.core.tariffs.helpers import AMS, LON, STO, sample, sample_text

SPRING = date(2026, 3, 29)  # 23 h: 92 quarters in Europe/Amsterdam, Brussels, Stockholm, London
AUTUMN = date(2026, 10, 25)  # 25 h: 100 quarters


def _utc(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(UTC)


# -- one test per format ------------------------------------------------------------------------


def test_nordpool_core_autumn_dst_day_in_mwh() -> None:
    payload = sample("nordpool_core_NL_2026-10-25.json")
    assert detect_format(payload) == "nordpool"
    s = parse_prices(payload)
    assert len(s) == 100
    assert s.start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert s.currency == "EUR"
    assert s.source == "nordpool"
    want = np.array([r["price"] for r in payload["NL"]]) / 1000  # €/MWh -> €/kWh
    np.testing.assert_allclose(s.values, want)
    assert s.complete_days(AMS) == [AUTUMN]


def test_nordpool_core_partial_delivery_day_is_rejected() -> None:
    payload = sample("nordpool_core_NL_2026-10-25.json")
    payload["NL"] = payload["NL"][:60]
    with pytest.raises(PriceDataError) as err:
        parse_prices(payload)
    assert err.value.kind == "incomplete"
    assert "60 of 100" in str(err.value)


def test_nordpool_core_picks_the_requested_area() -> None:
    payload = sample("nordpool_core_NL_2026-10-25.json")
    payload = {"BE": [dict(r, price=r["price"] + 1) for r in payload["NL"]], **payload}
    be = parse_prices(payload)
    nl = parse_prices(payload, area="nl")
    np.testing.assert_allclose(be.values - nl.values, 0.001)
    with pytest.raises(PriceDataError, match="area 'SE3' not in"):
        parse_prices(payload, area="SE3")


def test_nordpool_custom_spring_dst_hourly_today_and_tomorrow() -> None:
    payload = sample("nordpool_custom_SE3_2026-03-29.json")
    assert detect_format(payload) == "nordpool_custom"
    s = parse_prices(payload)
    attrs = payload["attributes"]
    assert len(s) == 92 + 96  # 23 hours + 24 hours held to quarters
    assert s.complete_days(STO) == [SPRING, SPRING + timedelta(days=1)]
    hourly = np.array([r["value"] for r in attrs["raw_today"] + attrs["raw_tomorrow"]])
    np.testing.assert_allclose(s.values, np.repeat(hourly, 4))
    assert s.currency == "EUR"


def test_nordpool_custom_cents_and_mwh_units() -> None:
    payload = sample("nordpool_custom_SE3_2026-03-29.json")
    base = parse_prices(payload)
    cents = copy.deepcopy(payload)
    cents["attributes"]["price_in_cents"] = True
    for r in cents["attributes"]["raw_today"] + cents["attributes"]["raw_tomorrow"]:
        r["value"] = r["value"] * 100
    np.testing.assert_allclose(parse_prices(cents).values, base.values)
    mwh = copy.deepcopy(payload)
    mwh["attributes"]["unit"] = "MWh"
    for r in mwh["attributes"]["raw_today"] + mwh["attributes"]["raw_tomorrow"]:
        r["value"] = r["value"] * 1000
    np.testing.assert_allclose(parse_prices(mwh).values, base.values)


def test_nordpool_custom_incomplete_tomorrow_is_rejected() -> None:
    payload = sample("nordpool_custom_SE3_2026-03-29.json")
    payload["attributes"]["raw_tomorrow"] = payload["attributes"]["raw_tomorrow"][:13]
    with pytest.raises(PriceDataError) as err:
        parse_prices(payload)
    assert err.value.kind == "incomplete"
    assert "tomorrow (2026-03-30) is incomplete: 52 of 96" in str(err.value)


def test_nordpool_custom_float_lists_only_use_last_updated_as_the_day() -> None:
    payload = sample("nordpool_custom_SE3_2026-03-29.json")
    attrs = payload["attributes"]
    del attrs["raw_today"], attrs["raw_tomorrow"]
    s = parse_prices(payload)  # region SE3 -> Europe/Stockholm, day from last_updated
    assert len(s) == 92 + 96
    assert s.complete_days(STO) == [SPRING, SPRING + timedelta(days=1)]


def test_entsoe_custom_autumn_dst_with_tomorrow() -> None:
    payload = sample("entsoe_custom_NL_2026-10-25.json")
    assert detect_format(payload) == "entsoe_custom"
    s = parse_prices(payload)
    assert len(s) == 100 + 96
    assert s.complete_days(AMS) == [AUTUMN, AUTUMN + timedelta(days=1)]
    prices = [r["price"] for r in payload["attributes"]["prices"]]
    np.testing.assert_allclose(s.values, prices)
    # the repeated 02:00 hour: local 02:00+02:00 and 02:00+01:00 are an hour apart in UTC
    times = [_utc(r["time"]) for r in payload["attributes"]["prices_today"]]
    assert times[8] == datetime(2026, 10, 25, 0, tzinfo=UTC)
    assert times[12] == datetime(2026, 10, 25, 1, tzinfo=UTC)


def test_entsoe_custom_today_missing_last_quarter_is_incomplete() -> None:
    payload = sample("entsoe_custom_NL_2026-10-25.json")
    attrs = payload["attributes"]
    attrs["prices_today"] = attrs["prices_today"][:-1]
    del attrs["prices"]
    with pytest.raises(PriceDataError) as err:
        parse_prices(payload, tz="Europe/Amsterdam")
    # the 99 remaining quarters are fine; what is missing is 23:45, so today is incomplete
    assert err.value.kind in ("incomplete", "gap")


def test_entsoe_xml_mixed_resolution_and_omitted_positions() -> None:
    text = sample_text("entsoe_a44_NL_2026-03-29_mixed.xml")
    assert detect_format(text) == "entsoe_xml"
    s = parse_text(text)
    assert len(s) == 92 + 96
    assert s.complete_days(AMS) == [SPRING, SPRING + timedelta(days=1)]
    # first day PT60M: every hour is four equal quarters
    first = s.values[:92].reshape(23, 4)
    assert np.all(first == first[:, :1])
    # omitted A03 positions repeat the previous price: rebuild the curve from the file
    import xml.etree.ElementTree as ET

    ns = {"m": "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"}
    periods = ET.fromstring(text).findall(".//m:Period", ns)
    second = {
        int(p.findtext("m:position", namespaces=ns) or 0): float(
            p.findtext("m:price.amount", namespaces=ns) or "nan"
        )
        for p in periods[1].findall("m:Point", ns)
    }
    assert len(second) < 96  # the sample really omits positions
    curve, last = [], 0.0
    for pos in range(1, 97):
        last = second.get(pos, last)
        curve.append(last / 1000)
    np.testing.assert_allclose(s.values[92:], curve)


def test_entsoe_xml_a01_missing_position_is_a_gap() -> None:
    text = sample_text("entsoe_a44_NL_2026-03-29_mixed.xml").replace(
        "<curveType>A03</curveType>", "<curveType>A01</curveType>"
    )
    with pytest.raises(PriceDataError) as err:
        parse_text(text)
    assert err.value.kind == "gap"


def test_entsoe_xml_acknowledgement_is_reported() -> None:
    text = (
        '<?xml version="1.0"?><Acknowledgement_MarketDocument xmlns="urn:x">'
        "<Reason><code>999</code><text>No matching data found</text></Reason>"
        "</Acknowledgement_MarketDocument>"
    )
    with pytest.raises(PriceDataError, match="No matching data found"):
        parse_text(text)


def test_entsoe_xml_prefers_primary_classification_sequence() -> None:
    text = sample_text("entsoe_a44_NL_2026-03-29_mixed.xml")
    ts_start = text.index("<TimeSeries>")
    ts_end = text.index("</TimeSeries>") + len("</TimeSeries>")
    block = text[ts_start:ts_end]
    primary = block.replace(
        "<curveType>",
        "<classificationSequence_AttributeInstanceComponent.position>1"
        "</classificationSequence_AttributeInstanceComponent.position><curveType>",
    )
    secondary = primary.replace(">1</classification", ">2</classification").replace(
        "<price.amount>", "<price.amount>9"
    )
    doubled = text[:ts_start] + secondary + primary + text[ts_end:]
    np.testing.assert_allclose(parse_text(doubled).values, parse_text(text).values)


def test_energyzero_hourly_spring_day() -> None:
    payload = sample("energyzero_NL_2026-03-29.json")
    assert detect_format(payload) == "energyzero"
    s = parse_prices(payload)
    assert len(s) == 92
    np.testing.assert_allclose(s.values, np.repeat([r["price"] for r in payload["prices"]], 4))
    assert s.complete_days(AMS) == [SPRING]


def test_energyzero_missing_hour_is_a_gap() -> None:
    payload = sample("energyzero_NL_2026-03-29.json")
    del payload["prices"][10]
    with pytest.raises(PriceDataError) as err:
        parse_prices(payload)
    assert err.value.kind == "gap"


def test_easyenergy_quarter_hour_autumn_day() -> None:
    payload = sample("easyenergy_usage_NL_2026-10-25.json")
    s = parse_prices(payload, source="easyenergy", includes_vat=True)
    assert len(s) == 100
    assert s.source == "easyenergy"
    assert s.includes_vat
    np.testing.assert_allclose(s.values, [r["price"] for r in payload["prices"]])


def test_hourly_then_quarter_hourly_days_are_accepted() -> None:
    hourly = sample("energyzero_NL_2026-03-29.json")["prices"]
    t0 = datetime(2026, 3, 29, 22, tzinfo=UTC)
    quarters = [
        {"timestamp": str(t0 + timedelta(minutes=15 * i)), "price": 0.1 + i / 1000}
        for i in range(96)
    ]
    s = parse_prices({"prices": hourly + quarters})
    assert len(s) == 92 + 96
    np.testing.assert_allclose(s.values[92:], [q["price"] for q in quarters])


def test_tibber_autumn_all_in() -> None:
    payload = sample("tibber_NL_2026-10-25.json")
    assert detect_format(payload) == "tibber"
    s = parse_prices(payload)
    assert len(s) == 100
    assert s.includes_vat
    assert s.includes_energy_tax
    np.testing.assert_allclose(s.values, [r["price"] for r in payload["prices"]["Thuis"]])
    assert s.complete_days(AMS) == [AUTUMN]


def test_frank_energie_spring_all_in() -> None:
    payload = sample("frank_energie_NL_2026-03-29.json")
    assert detect_format(payload) == "frank_energie"
    s = parse_prices(payload)
    assert len(s) == 92
    assert s.includes_vat
    np.testing.assert_allclose(s.values, [r["price"] for r in payload["attributes"]["prices"]])


def test_octopus_half_hours_are_held() -> None:
    payload = sample("octopus_current_day_rates_2026-03-29.json")
    assert detect_format(payload) == "octopus"
    s = parse_prices(payload)
    assert s.currency == "GBP"
    assert s.includes_vat
    assert len(s) == 92
    rates = [r["value_inc_vat"] for r in payload["attributes"]["rates"]]
    np.testing.assert_allclose(s.values, np.repeat(rates, 2))
    assert s.complete_days(LON) == [SPRING]


def test_octopus_missing_last_rate_of_the_day_is_incomplete() -> None:
    payload = sample("octopus_current_day_rates_2026-03-29.json")
    payload["attributes"]["rates"].pop()
    with pytest.raises(PriceDataError) as err:
        parse_prices(payload)
    assert err.value.kind == "incomplete"


@pytest.mark.parametrize(
    ("day", "n", "step"),
    [
        (SPRING, 92, 15),
        (SPRING, 46, 30),
        (SPRING, 23, 60),
        (AUTUMN, 100, 15),
        (AUTUMN, 50, 30),
        (AUTUMN, 25, 60),
        (date(2026, 6, 1), 96, 15),
        (date(2026, 6, 1), 24, 60),
    ],
)
def test_flat_list_step_from_length(day: date, n: int, step: int) -> None:
    vals = [0.1 + 0.001 * i for i in range(n)]
    s = parse_prices(vals, tz="Europe/Brussels", day=day)
    assert s.complete_days(AMS) == [day]
    np.testing.assert_allclose(s.values, np.repeat(vals, step // 15))


@pytest.mark.parametrize(("day", "n"), [(SPRING, 96), (SPRING, 24), (AUTUMN, 96), (AUTUMN, 95)])
def test_flat_list_wrong_length_for_the_day(day: date, n: int) -> None:
    with pytest.raises(PriceDataError) as err:
        parse_prices([0.1] * n, tz="Europe/Amsterdam", day=day)
    assert err.value.kind == "incomplete"


def test_flat_expected_step_removes_ambiguity() -> None:
    # 48 values are a complete 30-minute day, or half of a 15-minute day: the hint decides
    parse_prices([0.1] * 48, tz="Europe/Amsterdam", day=date(2026, 6, 1))
    with pytest.raises(PriceDataError, match="needs 96"):
        parse_prices([0.1] * 48, tz="Europe/Amsterdam", day=date(2026, 6, 1), step_minutes=15)


def test_flat_tomorrow_coarser_than_today_is_partial() -> None:
    payload = {"today": [0.1] * 96, "tomorrow": [0.2] * 48}
    with pytest.raises(PriceDataError, match="probably only part of the day"):
        parse_prices(payload, tz="Europe/Amsterdam", day=date(2026, 6, 1))


def test_flat_needs_zone_and_day() -> None:
    with pytest.raises(PriceDataError, match="time zone"):
        parse_prices([0.1] * 96, day=date(2026, 6, 1))
    with pytest.raises(PriceDataError, match="carries no date") as err:
        parse_prices([0.1] * 96, tz="Europe/Amsterdam")
    assert "--" not in str(err.value)  # the reason is shown in Home Assistant's form too


@pytest.mark.parametrize(
    "last_updated",
    [
        "2026-06-09T22:00:00.123456+00:00",  # HA's own isoformat: microseconds
        "2026-06-10T21:59:59.999999+00:00",
        datetime(2026, 6, 10, 7, 3, 12, 345678, tzinfo=UTC),
    ],
)
def test_flat_state_dated_by_last_updated_with_microseconds(last_updated: object) -> None:
    """A Nord Pool custom state with plain today/tomorrow lists takes its day from
    last_updated, which in Home Assistant is never on a whole second."""
    state = {
        "entity_id": "sensor.nordpool_kwh_nl_eur",
        "state": "0.1",
        "last_updated": last_updated,
        "attributes": {"today": [0.1] * 24, "tomorrow": [0.2] * 24, "currency": "EUR"},
    }
    s = parse_prices(state, tz="Europe/Amsterdam")
    assert s.start == datetime(2026, 6, 9, 22, tzinfo=UTC)  # 10 June, local midnight
    assert len(s) == 192


def test_flat_state_with_an_unusable_last_updated_needs_a_day() -> None:
    for bad in ("yesterday", "2026-06-10T07:00:00", 12345):
        state = {"state": "0.1", "last_updated": bad, "attributes": {"today": [0.1] * 24}}
        with pytest.raises(PriceDataError, match="carries no date"):
            parse_prices(state, tz="Europe/Amsterdam")
        s = parse_prices(state, tz="Europe/Amsterdam", day=date(2026, 6, 10))
        assert s.start == datetime(2026, 6, 9, 22, tzinfo=UTC)


# -- validation errors --------------------------------------------------------------------------


def _records(n: int = 8, step: int = 15) -> list[dict[str, object]]:
    t0 = datetime(2026, 6, 1, 10, tzinfo=UTC)
    return [
        {
            "start": (t0 + timedelta(minutes=step * i)).isoformat(),
            "end": (t0 + timedelta(minutes=step * (i + 1))).isoformat(),
            "price": 80.0 + i,
        }
        for i in range(n)
    ]


def _core(recs: list[dict[str, object]]) -> dict[str, object]:
    return {"XX": recs}  # unknown area: no delivery-day check, only the time axis


@pytest.mark.parametrize(
    ("mutate", "kind"),
    [
        (lambda r: r.pop(3), "gap"),
        (lambda r: r.insert(3, dict(r[3])), "duplicate"),
        (lambda r: r[3].update(end=r[4]["end"]), "overlap"),
        (lambda r: r[2].update(price=None), "nan"),
        (lambda r: r[2].update(price=float("nan")), "nan"),
        (lambda r: r[2].update(price="abc"), "format"),
        (lambda r: r[2].update(price=80_000.0), "magnitude"),
        (lambda r: r[0].update(start="2026-06-01T10:05:00+00:00"), "alignment"),
        (lambda r: r[2].update(start="yesterday"), "format"),
        (lambda r: r[2].update(start="2026-06-01T10:30:00"), "format"),
    ],
)
def test_time_axis_and_value_errors(mutate: object, kind: str) -> None:
    recs = _records()
    mutate(recs)  # type: ignore[operator]
    with pytest.raises(PriceDataError) as err:
        parse_prices(_core(recs))
    assert err.value.kind == kind
    assert "\n" not in str(err.value)


def test_mwh_read_as_kwh_is_flagged_with_a_hint() -> None:
    payload = {"prices": [{"timestamp": r["start"], "price": r["price"]} for r in _records()]}
    with pytest.raises(PriceDataError, match="probably per MWh read as per kWh"):
        parse_prices(payload)


def test_kwh_read_as_mwh_is_flagged() -> None:
    recs = _records(96)
    for r in recs:
        r["price"] = 0.08 + 0.0001 * float(str(r["price"]))
    with pytest.raises(PriceDataError, match="probably per kWh read as per MWh"):
        parse_prices(_core(recs))


def test_stale_data_is_rejected() -> None:
    payload = sample("energyzero_NL_2026-03-29.json")
    fresh = parse_prices(payload, now=datetime(2026, 3, 29, 21, 50, tzinfo=UTC))
    assert len(fresh) == 92
    with pytest.raises(PriceDataError) as err:
        parse_prices(payload, now=datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    assert err.value.kind == "stale"


def test_unknown_payload_lists_the_formats() -> None:
    with pytest.raises(PriceDataError, match="expected one of nordpool"):
        parse_prices({"foo": 1})


def test_live_attributes_with_datetime_objects() -> None:
    # Inside Home Assistant attributes hold real datetimes, not strings.
    payload = sample("nordpool_custom_SE3_2026-03-29.json")["attributes"]
    for r in payload["raw_today"] + payload["raw_tomorrow"]:
        r["start"] = datetime.fromisoformat(r["start"])
        r["end"] = datetime.fromisoformat(r["end"])
    assert len(parse_prices(payload)) == 188


def test_yaml_from_developer_tools() -> None:
    payload = sample("tibber_NL_2026-10-25.json")
    lines = ["prices:", "  Thuis:"]
    for r in payload["prices"]["Thuis"]:
        lines += [f"    - start_time: '{r['start_time']}'", f"      price: {r['price']}"]
    s = parse_text("\n".join(lines))
    np.testing.assert_allclose(s.values, parse_prices(payload).values)


def test_rest_service_response_wrapper() -> None:
    payload = sample("energyzero_NL_2026-03-29.json")
    s = parse_text(json.dumps({"changed_states": [], "service_response": payload}))
    assert len(s) == 92
