"""P1 telegram codec: real samples, CRC, OBIS mapping, errors and round trips."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.devices.errors import TelegramError
from hems_core.devices.model import MeterReading, PeakRecord
from hems_core.devices.p1 import TelegramBuffer, crc16, format_telegram, parse_telegram

SAMPLES = Path(__file__).parent / "samples"  # sources: samples/SOURCES.md


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_crc16_known_vectors() -> None:
    # CRC-16/ARC check value of "123456789" is 0xBB3D
    assert crc16(b"123456789") == 0xBB3D
    assert crc16(b"") == 0


def test_dsmr50_nl_sample() -> None:
    # Iskra MT382 DSMR 5.0 telegram (dsmr_parser TELEGRAM_V5), values read off the telegram
    t = parse_telegram(_sample("dsmr50_nl_iskra_mt382.txt"))
    r = t.reading
    assert t.header == "ISk5\\2MT382-1000"
    assert t.version == "50"
    assert t.crc == 0x6EEE
    assert r.timestamp == datetime(2017, 1, 2, 18, 20, 2, tzinfo=UTC)  # 19:20:02 W = UTC+1
    assert r.energy_import_kwh == pytest.approx(4.426 + 2.399)
    assert r.energy_export_kwh == pytest.approx(2.444)
    assert r.power_w == pytest.approx(244.0)
    assert r.power_export_w == 0.0
    assert r.phase_power_w == pytest.approx((70.0, 32.0, 142.0))
    assert r.voltage_v == (230.0, 230.0, 229.0)
    assert r.current_a == (0.48, 0.44, 0.86)
    assert r.tariff == 2
    assert r.gas_m3 == pytest.approx(0.107)
    assert r.demand_quarter_kw is None
    assert r.peak_history == ()


def test_dsmr50_nl_sagemcom_sample() -> None:
    # Sagemcom XS210 ESMR 5.0 (Lalufu/p1-mqtt README); its CRC 8F46 checks with CRLF line ends
    t = parse_telegram(_sample("dsmr50_nl_sagemcom_xs210.txt"))
    r = t.reading
    assert t.header == "Ene5\\XS210 ESMR 5.0"
    assert t.crc == 0x8F46
    assert r.timestamp is not None
    assert r.timestamp.timestamp() == 1509909204  # the value p1-mqtt reports for this telegram
    assert r.power_w == pytest.approx(335.0)
    assert r.phase_power_w == (335.0, None, None)  # single-phase meter
    assert r.voltage_v == (229.0, None, None)
    assert r.energy_import_kwh == pytest.approx(51.775)
    assert r.energy_export_kwh == pytest.approx(24.413)
    assert r.gas_m3 == pytest.approx(16.713)


def test_dsmr42_nl_sample() -> None:
    r = parse_telegram(_sample("dsmr42_nl_kaifa.txt")).reading
    assert r.power_w == pytest.approx(2027.0)
    assert r.energy_import_kwh == pytest.approx(1581.123 + 1435.706)
    assert r.phase_power_w == pytest.approx((170.0, 1247.0, 209.0))
    assert r.current_a == (0.0, 6.0, 2.0)
    assert r.gas_m3 == pytest.approx(981.443)


def test_emucs_be_sample_capacity_tariff_fields() -> None:
    # Fluvius e-MUCS 1.7.1 (dsmr_parser TELEGRAM_FLUVIUS_V171)
    t = parse_telegram(_sample("emucs_be_fluvius_v171.txt"))
    r = t.reading
    assert t.version == "50217"
    assert r.timestamp == datetime(2020, 5, 12, 11, 54, 9, tzinfo=UTC)  # 13:54:09 S = UTC+2
    assert r.demand_quarter_kw == pytest.approx(2.351)  # 1-0:1.4.0
    assert r.demand_month_peak_kw == pytest.approx(2.589)  # 1-0:1.6.0
    assert r.demand_month_peak_at == datetime(2020, 5, 9, 11, 45, 58, tzinfo=UTC)
    assert r.peak_history == (  # 0-0:98.1.0
        PeakRecord(
            datetime(2020, 4, 30, 22, tzinfo=UTC),
            datetime(2020, 4, 23, 17, 25, 38, tzinfo=UTC),
            3.695,
        ),
        PeakRecord(
            # the meter flags 200305122139 with S although 5 March is winter time (UTC+1)
            datetime(2020, 3, 31, 22, tzinfo=UTC),
            datetime(2020, 3, 5, 11, 21, 39, tzinfo=UTC),
            5.98,
        ),
        PeakRecord(
            datetime(2020, 2, 29, 23, tzinfo=UTC),
            datetime(2020, 2, 10, 2, 54, 21, tzinfo=UTC),
            4.318,
        ),
    )
    assert r.energy_import_kwh == pytest.approx(0.034 + 15.758)
    assert r.energy_export_kwh == pytest.approx(0.011)
    assert r.voltage_v == (234.7, 234.7, 234.7)
    assert r.tariff == 1
    assert r.gas_m3 == pytest.approx(112.384)


def test_emucs_be_sample_with_invalid_peak_timestamp() -> None:
    # the meter sends 632525252525W as "occurred" for an empty month: kept as None, not an error
    r = parse_telegram(_sample("emucs_be_fluvius_v171_alt.txt")).reading
    assert r.power_w == pytest.approx(338.0)
    assert r.demand_quarter_kw == pytest.approx(0.052)
    assert r.demand_month_peak_kw == pytest.approx(3.064)
    assert len(r.peak_history) == 4
    assert r.peak_history[0].occurred is None
    assert r.peak_history[0].demand_kw == 0.0
    assert r.peak_history[3].demand_kw == pytest.approx(4.927)
    assert r.phase_power_w == pytest.approx((47.0, 179.0, 111.0))


@pytest.mark.parametrize(
    "name",
    [
        "dsmr50_nl_iskra_mt382.txt",
        "dsmr50_nl_sagemcom_xs210.txt",
        "dsmr42_nl_kaifa.txt",
        "emucs_be_fluvius_v171.txt",
    ],
)
def test_flipped_byte_fails_crc(name: str) -> None:
    data = bytearray(_sample(name))
    idx = data.index(b"1-0:1.7.0") + 11
    data[idx] = ord("9") if data[idx] != ord("9") else ord("8")
    with pytest.raises(TelegramError, match="CRC"):
        parse_telegram(bytes(data))


def test_missing_crc_needs_opt_in() -> None:
    text = _sample("dsmr50_nl_iskra_mt382.txt").decode()
    bare = text[: text.index("!") + 1] + "\r\n"
    with pytest.raises(TelegramError, match="no CRC"):
        parse_telegram(bare)
    assert parse_telegram(bare, require_crc=False).reading.power_w == pytest.approx(244.0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "no '/'"),
        ("/X\r\n\r\n1-0:1.7.0(00.1*kW)\r\n", "no '!'"),
        ("/X\r\n\r\n1-0:1.7.0(00.1*kW\r\n!", "unclosed"),
        ("/X\r\n\r\n1-0:1.7.0(abc*kW)\r\n!", "not a number"),
        ("/X\r\n\r\n1-0:1.7.0(1.0*parsec)\r\n!", "unknown unit"),
        ("/X\r\n\r\n1-0:1.7.0(1.0*V)\r\n!", "expected kW"),
        ("/X\r\n\r\nbogus(1)\r\n!", "malformed OBIS"),
        ("/X\r\n\r\n0-0:96.14.0(0001)\r\n!", "no power"),
        ("/X\r\n\r\n1-0:1.7.0(0.1*kW)\r\n0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)\r\n!", "peak history"),
    ],
)
def test_malformed_telegrams_raise_telegram_error(body: str, message: str) -> None:
    with pytest.raises(TelegramError, match=message):
        parse_telegram(body, require_crc=False)


def test_non_ascii_and_oversize_rejected() -> None:
    with pytest.raises(TelegramError):
        parse_telegram("/X\r\n\r\n1-0:1.7.0(0.1*kW)\r\n!é")
    with pytest.raises(TelegramError, match="too long"):
        parse_telegram(b"/" + b"x" * 20000)


def test_watt_units_are_normalised() -> None:
    # Sagemcom T210-D style: W and Wh units
    r = parse_telegram(
        "/X\r\n\r\n1-0:1.7.0(000000286*W)\r\n1-0:2.7.0(000000000*W)\r\n"
        "1-0:1.8.0(006545766*Wh)\r\n!",
        require_crc=False,
    ).reading
    assert r.power_w == pytest.approx(286.0)
    assert r.energy_import_kwh == pytest.approx(6545.766)


readings = st.builds(
    MeterReading,
    timestamp=st.datetimes(
        min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=0)),
    power_w=st.floats(-20000, 20000).map(lambda x: round(x)),
    phase_power_w=st.tuples(*[st.integers(-7000, 7000).map(float)] * 3),
    voltage_v=st.tuples(*[st.integers(2000, 2600).map(lambda v: v / 10)] * 3),
    current_a=st.tuples(*[st.integers(0, 6000).map(lambda v: v / 100)] * 3),
    energy_import_kwh=st.integers(0, 99_999_000).map(lambda v: v / 500),
    energy_export_kwh=st.integers(0, 99_999_000).map(lambda v: v / 500),
    tariff=st.sampled_from([1, 2]),
    demand_quarter_kw=st.integers(0, 99_999).map(lambda v: v / 1000),
    demand_month_peak_kw=st.integers(0, 99_999).map(lambda v: v / 1000),
)


@settings(max_examples=200, deadline=None)
@given(readings, st.sampled_from(["dsmr5", "emucs"]))
def test_format_parse_round_trip(reading: MeterReading, flavour: str) -> None:
    parsed = parse_telegram(format_telegram(reading, flavour=flavour)).reading
    assert parsed.timestamp == reading.timestamp
    assert parsed.power_w == pytest.approx(reading.power_w, abs=0.5)
    assert parsed.energy_import_kwh == pytest.approx(reading.energy_import_kwh, abs=2e-3)
    assert parsed.energy_export_kwh == pytest.approx(reading.energy_export_kwh, abs=2e-3)
    assert parsed.voltage_v == pytest.approx(reading.voltage_v)
    for got, want in zip(parsed.phase_power_w, reading.phase_power_w, strict=True):
        assert got == pytest.approx(want, abs=0.5)
    if flavour == "emucs":
        assert parsed.demand_quarter_kw == pytest.approx(reading.demand_quarter_kw, abs=1e-3)
        assert parsed.demand_month_peak_kw == pytest.approx(reading.demand_month_peak_kw, abs=1e-3)
    else:
        assert parsed.demand_quarter_kw is None


def test_buffer_reassembles_split_stream() -> None:
    a = _sample("dsmr50_nl_iskra_mt382.txt")
    b = _sample("emucs_be_fluvius_v171.txt")
    stream = b"junk" + a + b"noise" + b
    buf = TelegramBuffer()
    frames: list[str] = []
    for i in range(0, len(stream), 37):
        frames += buf.feed(stream[i : i + 37])
    assert [parse_telegram(f).crc for f in frames] == [0x6EEE, 0x3AD7]
