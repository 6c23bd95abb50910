"""Regenerate the committed price samples (one per supported format) from public MIT data.

Run from the repository root: ``python tests/core/tariffs/samples/make_samples.py``. Needs the
shared data directory (``HEMS_DATA``, default ``../shared/data`` beside the clone); the committed
outputs are what the tests use, so the tests never need the data directory. See ``README.md``
here for the sources and for how the values were moved onto the 2026 DST days.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DATA = Path(
    os.environ.get("HEMS_DATA", Path(__file__).resolve().parents[4].parent / "shared" / "data")
)
OUT = Path(__file__).parent
AMS = ZoneInfo("Europe/Amsterdam")
STO = ZoneInfo("Europe/Stockholm")
LON = ZoneInfo("Europe/London")


def _by_local_day(path: Path) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            out.setdefault(row["timestamp_local"][:10], []).append(float(row["price_eur_mwh"]))
    return out


def _starts(day: date, tz: ZoneInfo, minutes: int) -> list[datetime]:
    t = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
    out = []
    while t < end:
        out.append(t)
        t += timedelta(minutes=minutes)
    return out


def _dump(name: str, obj: object) -> None:
    (OUT / name).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def _all_in_nl(spot_mwh: float) -> float:
    """Illustrative NL all-in price: (spot + 2 ct + 2026 energy tax) plus 21 % VAT."""
    return round((spot_mwh / 1000 + 0.02 + 0.0916) * 1.21, 5)


def main() -> None:
    nl = _by_local_day(DATA / "prices_nl_dayahead_15min_2025.csv")
    se3 = _by_local_day(DATA / "prices_se3_dayahead_hourly_2023_2024.csv")
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)

    nl_spring_q = nl["2025-03-30"]  # 92 quarters (hourly market then, repeated per quarter)
    nl_autumn_q = nl["2025-10-26"]  # 100 real 15-minute prices
    nl_after_q = nl["2025-10-27"]  # 96
    nl_first15 = nl["2025-10-04"]  # 15-minute day with 19 repeated prices (A03 omits them)
    assert len(nl_spring_q) == 92
    assert len(nl_autumn_q) == 100
    assert len(nl_after_q) == 96
    nl_spring_h = nl_spring_q[::4]  # 23 hours

    # 1. Nord Pool core action response: {area: [{start, end, price}]} in EUR/MWh, UTC ISO times.
    q = _starts(autumn, AMS, 15)
    _dump(
        "nordpool_core_NL_2026-10-25.json",
        {
            "NL": [
                {
                    "start": t.isoformat(),
                    "end": (t + timedelta(minutes=15)).isoformat(),
                    "price": v,
                }
                for t, v in zip(q, nl_autumn_q, strict=True)
            ]
        },
    )

    # 2. Nord Pool custom sensor state: hourly raw_today (23 h) and raw_tomorrow, €/kWh.
    def raw(day: date, values: list[float]) -> list[dict[str, object]]:
        return [
            {
                "start": t.astimezone(STO).isoformat(),
                "end": (t + timedelta(hours=1)).astimezone(STO).isoformat(),
                "value": round(v / 1000, 5),
            }
            for t, v in zip(_starts(day, STO, 60), values, strict=True)
        ]

    today = raw(spring, se3["2024-03-31"])
    tomorrow = raw(spring + timedelta(days=1), se3["2024-04-01"])
    _dump(
        "nordpool_custom_SE3_2026-03-29.json",
        {
            "entity_id": "sensor.nordpool_kwh_se3_eur_3_10_0",
            "state": str(today[13]["value"]),
            "attributes": {
                "average": round(sum(float(str(r["value"])) for r in today) / len(today), 5),
                "unit": "kWh",
                "currency": "EUR",
                "country": "Sweden",
                "region": "SE3",
                "today": [r["value"] for r in today],
                "tomorrow": [r["value"] for r in tomorrow],
                "tomorrow_valid": True,
                "raw_today": today,
                "raw_tomorrow": tomorrow,
                "price_in_cents": False,
                "unit_of_measurement": "EUR/kWh",
                "friendly_name": "nordpool_kwh_se3_eur_3_10_0",
            },
            "last_changed": "2026-03-29T11:00:00+00:00",
            "last_updated": "2026-03-29T11:00:00+00:00",
        },
    )

    # 3. ENTSO-E custom sensor state: {time: str(datetime), price} in €/kWh, local times.
    def timed(day: date, values: list[float]) -> list[dict[str, object]]:
        return [
            {"time": str(t.astimezone(AMS)), "price": round(v / 1000, 5)}
            for t, v in zip(_starts(day, AMS, 15), values, strict=True)
        ]

    pt, pm = timed(autumn, nl_autumn_q), timed(autumn + timedelta(days=1), nl_after_q)
    _dump(
        "entsoe_custom_NL_2026-10-25.json",
        {
            "entity_id": "sensor.average_electricity_price",
            "state": "0.09",
            "attributes": {
                "prices_today": pt,
                "prices_tomorrow": pm,
                "prices": pt + pm,
                "unit_of_measurement": "€/kWh",
                "friendly_name": "Average electricity price",
            },
            "last_updated": "2026-10-25T12:30:00+00:00",
        },
    )

    # 4. ENTSO-E A44 XML: a PT60M day (23 h) then a PT15M day, curve A03 (repeats omitted).
    def period(start: datetime, end: datetime, res: str, values: list[float]) -> str:
        pts = []
        for i, v in enumerate(values, start=1):
            if i > 1 and v == values[i - 2]:
                continue  # A03: a repeated price is not sent
            pts.append(
                f"      <Point>\n        <position>{i}</position>\n"
                f"        <price.amount>{v:.2f}</price.amount>\n      </Point>"
            )
        z = "%Y-%m-%dT%H:%MZ"
        return (
            "    <Period>\n      <timeInterval>\n"
            f"        <start>{start.strftime(z)}</start>\n        <end>{end.strftime(z)}</end>\n"
            f"      </timeInterval>\n      <resolution>{res}</resolution>\n"
            + "\n".join(pts)
            + "\n    </Period>"
        )

    d0 = _starts(spring, AMS, 60)[0]
    d1 = _starts(spring + timedelta(days=1), AMS, 60)[0]
    d2 = _starts(spring + timedelta(days=2), AMS, 60)[0]
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
  <mRID>hems-sample-0001</mRID>
  <revisionNumber>1</revisionNumber>
  <type>A44</type>
  <createdDateTime>2026-03-29T11:05:00Z</createdDateTime>
  <period.timeInterval>
    <start>{d0.strftime("%Y-%m-%dT%H:%MZ")}</start>
    <end>{d2.strftime("%Y-%m-%dT%H:%MZ")}</end>
  </period.timeInterval>
  <TimeSeries>
    <mRID>1</mRID>
    <auction.type>A01</auction.type>
    <businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">10YNL----------L</in_Domain.mRID>
    <out_Domain.mRID codingScheme="A01">10YNL----------L</out_Domain.mRID>
    <contract_MarketAgreement.type>A01</contract_MarketAgreement.type>
    <currency_Unit.name>EUR</currency_Unit.name>
    <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A03</curveType>
{period(d0, d1, "PT60M", nl_spring_h)}
{period(d1, d2, "PT15M", nl_first15)}
  </TimeSeries>
</Publication_MarketDocument>
"""
    (OUT / "entsoe_a44_NL_2026-03-29_mixed.xml").write_text(xml)

    # 5. EnergyZero action response: hourly {timestamp: str(datetime UTC), price €/kWh}.
    _dump(
        "energyzero_NL_2026-03-29.json",
        {
            "prices": [
                {"timestamp": str(t), "price": round(v / 1000, 5)}
                for t, v in zip(_starts(spring, AMS, 60), nl_spring_h, strict=True)
            ]
        },
    )

    # 6. easyEnergy usage-price action response (same shape), 15-minute, incl. 21 % VAT.
    _dump(
        "easyenergy_usage_NL_2026-10-25.json",
        {
            "prices": [
                {"timestamp": str(t), "price": round(v / 1000 * 1.21, 5)}
                for t, v in zip(_starts(autumn, AMS, 15), nl_autumn_q, strict=True)
            ]
        },
    )

    # 7. Tibber action response: {prices: {home: [{start_time, price (total)}]}}.
    _dump(
        "tibber_NL_2026-10-25.json",
        {
            "prices": {
                "Thuis": [
                    {
                        "start_time": t.astimezone(AMS).isoformat(timespec="milliseconds"),
                        "price": _all_in_nl(v),
                    }
                    for t, v in zip(_starts(autumn, AMS, 15), nl_autumn_q, strict=True)
                ]
            }
        },
    )

    # 8. Frank Energie sensor state: prices [{from, till, price}] all-in, 15-minute.
    _dump(
        "frank_energie_NL_2026-03-29.json",
        {
            "entity_id": "sensor.current_electricity_price_all_in",
            "state": "0.25",
            "attributes": {
                "prices": [
                    {
                        "from": t.isoformat(),
                        "till": (t + timedelta(minutes=15)).isoformat(),
                        "price": _all_in_nl(v),
                    }
                    for t, v in zip(_starts(spring, AMS, 15), nl_spring_q, strict=True)
                ],
                "unit_of_measurement": "€/kWh",
                "friendly_name": "Current electricity price (All-in)",
            },
            "last_updated": "2026-03-29T12:00:00+00:00",
        },
    )

    # 9. Octopus Energy current-day rates event: 46 half-hours on the 23-hour London day.
    half = [(nl_spring_q[2 * i] + nl_spring_q[2 * i + 1]) / 2 for i in range(len(nl_spring_q) // 2)]
    slots = _starts(spring, LON, 30)
    rates = [
        {
            "start": t.astimezone(LON).isoformat(),
            "end": (t + timedelta(minutes=30)).astimezone(LON).isoformat(),
            "value_inc_vat": round(0.12 + 0.85 * v / 1000 * 1.05, 4),
            "is_capped": False,
        }
        for t, v in zip(slots, half[: len(slots)], strict=True)
    ]
    _dump(
        "octopus_current_day_rates_2026-03-29.json",
        {
            "entity_id": (
                "event.octopus_energy_electricity_22l1234567_1600012345678_current_day_rates"
            ),
            "state": "2026-03-29T00:00:05.123+00:00",
            "attributes": {
                "event_types": ["octopus_energy_electricity_current_day_rates"],
                "event_type": "octopus_energy_electricity_current_day_rates",
                "rates": rates,
                "tariff_code": "E-1R-AGILE-24-10-01-C",
                "mpan": "1600012345678",
                "serial_number": "22L1234567",
                "friendly_name": "Current Day Rates",
            },
            "last_updated": "2026-03-29T00:00:05.123+00:00",
        },
    )

    # 10. A flat list of 92 quarter prices (€/kWh) for the local day 2026-03-29.
    _dump("flat_NL_2026-03-29.json", [round(v / 1000, 5) for v in nl_spring_q])


if __name__ == "__main__":
    main()
