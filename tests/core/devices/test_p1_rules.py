"""P1 codec rule by rule: framing, OBIS mapping, DST flags, the stream buffer, the encoder.

test_p1.py reads real meters' telegrams; here small hand-made telegrams pin each rule (with the
expected values read off the DSMR/e-MUCS rules, not off the code), so that scripts/mutation finds
no change of hems_core/devices/p1.py that the tests let pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfoNotFoundError

import pytest

from hems_core.devices import p1
from hems_core.devices.errors import DeviceError, TelegramError
from hems_core.devices.model import MeterReading, PeakRecord
from hems_core.devices.p1 import (
    MAX_TELEGRAM_BYTES,
    TelegramBuffer,
    crc16,
    format_telegram,
    parse_telegram,
)


def _frame(*lines: str, header: str = "XMX5\\2TEST", crc: bool = True) -> str:
    """A telegram of ``lines`` (CRLF line ends) with a CRC over ``/`` .. ``!``."""
    body = f"/{header}\r\n\r\n" + "".join(f"{line}\r\n" for line in lines) + "!"
    return body + (f"{crc16(body.encode('ascii')):04X}\r\n" if crc else "\r\n")


def _read(*lines: str) -> MeterReading:
    return parse_telegram(_frame(*lines)).reading


POWER = "1-0:1.7.0(01.234*kW)"


# -- CRC and framing -----------------------------------------------------------------------------


def test_crc16_arc_vectors() -> None:
    # CRC-16/ARC: the catalogue check value, and one byte worked by hand: 'A' = 0x41 through the
    # reflected polynomial 0xA001 eight times from 0x0041 gives 0x30C0
    assert crc16(b"123456789") == 0xBB3D
    assert crc16(b"A") == 0x30C0
    assert crc16(b"\x00") == 0


def test_frame_fields_and_junk_around() -> None:
    text = _frame("1-3:0.2.8(50)", POWER, header="ISK5\\2M550T-1012")
    t = parse_telegram("garbage\r\n" + text + "trailing\r\n")
    assert t.header == "ISK5\\2M550T-1012"
    assert t.version == "50"
    assert t.crc == int(text.rsplit("!", 1)[1].strip(), 16)
    assert t.objects == {"1-3:0.2.8": ("50",), "1-0:1.7.0": ("01.234*kW",)}
    assert t.reading.power_w == 1234.0


def test_crc_in_lower_case_hex_and_followed_by_whitespace() -> None:
    text = _frame(POWER)
    head, crc = text.rsplit("!", 1)
    assert parse_telegram(f"{head}!{crc.strip().lower()} \r\n").crc == int(crc, 16)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1-0:1.7.0(1*kW)\r\n!", "no '/'"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n", "no '!'"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!12G4\r\n", "malformed CRC"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!12345\r\n", "malformed CRC"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!0000\r\n", "CRC mismatch"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!\r\n", "no CRC"),
    ],
)
def test_framing_errors(text: str, message: str) -> None:
    with pytest.raises(TelegramError, match=message) as exc:
        parse_telegram(text)
    # one error type, a device error the control loop can catch, also a ValueError
    assert isinstance(exc.value, DeviceError)
    assert isinstance(exc.value, ValueError)


def test_crc_mismatch_names_both_values() -> None:
    text = _frame(POWER)
    head = text.rsplit("!", 1)[0] + "!"
    good = crc16(head.encode("ascii"))
    bad = (good + 1) % 0x10000
    with pytest.raises(TelegramError, match=f"says {bad:04X}, computed {good:04X}"):
        parse_telegram(f"{head}{bad:04X}\r\n")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("(01.0*kW)",), "value line without an object"),
        (("1-0:1.7.0",), "malformed line"),
        (("1-0:1.7.0(1*kW)x",), "expected '\\('"),
        (("1-0:1.7.0(1(2)*kW)",), "nested"),
        (("1-0:1.7.0(12:00*kW)",), "not a number"),
        (("1-0:1.7.0(1.5*kWhr)",), "unknown unit"),
        (("1-0:1.7.0(1.5*kWh)",), "expected kW, got"),
        (("1-0:1.7.0(1.5*kvar)",), "unknown unit"),
        (("1-0:1.7.0(0001234567890.5*kW)",), "not a number"),
        (("1-0:1.7.0(1.1234567890*kW)",), "not a number"),
        (("1-0:1.7.0(1.*kW)",), "not a number"),
        (("1-0:1.7.0(1*kW)", "1-0:32.7.0(230*A)"), "expected V"),
        (("1-0:1.7.0(1*kW)", "1-0:31.7.0(2*V)"), "expected A"),
        (("1-0:1.7.0(1*kW)", "1-0:1.8.0(2*kW)"), "expected kWh"),
        (("1-0:1.7.0(1*kW)", "0-1:24.2.1(200512134558S)(00112.384*kWh)"), None),
        (("1-0:1.7.0(1*kW)", "1-0:1.6.0(200509134558S)(02.589*kWh)"), "expected kW"),
        (("1-0:1.7.0(1*kW)", "1-0:1.8.0(1*kWh)", "1-0:1.8.1(x)"), None),
        (("1-0:1.7.0(1*kW)", "1-0:1.8.1(x*kWh)"), "not a number"),
        (("1-0:1.7.0(1*kW)", "1-0:2.8.0(1*kW)"), "expected kWh"),
        (("1-0:1.7.0(1*kW)", "1-0:2.8.1(1*kW)"), "expected kWh"),
        (("1-0:1.7.0(1*kW)", "1-0:2.8.2(1*kW)"), "expected kWh"),
        (("1-0:1.7.0(1*kW)", "1-0:1.8.2(1*kW)"), "expected kWh"),
        (("1-0:1.7.0(1*kW)", "1-0:1.4.0(1*kWh)"), "expected kW"),
        (("1-0:1.7.0(1*kW)", "1-0:21.7.0(1*V)"), "expected kW"),
        (("1-0:1.7.0(1*kW)", "1-0:62.7.0(1*V)"), "expected kW"),
        (("1-0:1.7.0(1*kW)", "1-0:72.7.0(1*A)"), "expected V"),
        (("1-0:1.7.0(1*kW)", "1-0:71.7.0(1*V)"), "expected A"),
        (("1-0:2.7.0(1*kWh)",), "expected kW"),
        (("0-0:1.0.0(200512135409S)",), "no power"),
        (("1-0:1.7.0(1*kW)", "0-0:98.1.0(x)(1-0:1.6.0)(1-0:1.6.0)"), "without a count"),
        (("1-0:1.7.0(1*kW)", "0-0:98.1.0()"), "without a count"),
        (
            ("1-0:1.7.0(1*kW)", "0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(1*kW)"),
            "says 1 entries, has 2 values",
        ),
        (("1-0:1.7.0(1*kW)", "1-0:1.7.0.1(1*kW)"), "malformed OBIS"),
        (("1-0:1.7.0(1*kW)", "1-0:1.7(1*kW)"), "malformed OBIS"),
        (("1-0:1.7.0(1*kW)", "1-0:1.7.0*2555(1*kW)"), "malformed OBIS"),
    ],
)
def test_object_errors(lines: tuple[str, ...], message: str | None) -> None:
    text = _frame(*lines)
    if message is None:  # not an error: the object is not read as a number of that family
        parse_telegram(text)
        return
    with pytest.raises(TelegramError, match=message):
        parse_telegram(text)


def test_telegram_without_objects_or_header() -> None:
    with pytest.raises(TelegramError, match="without objects"):
        parse_telegram(_frame())
    with pytest.raises(TelegramError, match="empty identification line"):
        parse_telegram(_frame(POWER, header=""))
    with pytest.raises(TelegramError, match="empty identification line"):
        parse_telegram(_frame(POWER, header="   "))


def test_size_limit_is_inclusive() -> None:
    text = _frame(POWER)
    pad = MAX_TELEGRAM_BYTES - len(text)
    # junk before '/' is ignored, so a telegram padded to exactly the limit still parses
    assert parse_telegram("x" * pad + text).reading.power_w == 1234.0
    assert parse_telegram(("x" * pad + text).encode()).reading.power_w == 1234.0
    for data in ("x" * (pad + 1) + text, ("x" * (pad + 1) + text).encode()):
        with pytest.raises(TelegramError, match="too long"):
            parse_telegram(data)


def test_non_ascii_text_and_bytes() -> None:
    text = _frame(POWER)
    with pytest.raises(TelegramError, match="not ASCII"):
        parse_telegram("é" + text)
    with pytest.raises(TelegramError, match="not ASCII"):
        parse_telegram(b"\xff" + text.encode())


# -- lines and values ----------------------------------------------------------------------------


def test_wrapped_continuation_lines_are_joined() -> None:
    # e-MUCS meters wrap the long 0-0:98.1.0 history; continuation lines start with '('
    r = _read(
        POWER,
        "0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)",
        "(230101000000W)(221215183000W)(04.500*kW)",
        "  (221201000000W)",
        "(221124071500W)(03.000*kW)",
        "1-0:1.4.0(00.250*kW)",
    )
    assert r.peak_history == (
        PeakRecord(
            datetime(2022, 12, 31, 23, tzinfo=UTC),  # 1 January 00:00 CET
            datetime(2022, 12, 15, 17, 30, tzinfo=UTC),
            4.5,
        ),
        PeakRecord(
            datetime(2022, 11, 30, 23, tzinfo=UTC),
            datetime(2022, 11, 24, 6, 15, tzinfo=UTC),
            3.0,
        ),
    )
    assert r.demand_quarter_kw == 0.25


def test_blank_lines_lf_line_ends_and_obis_suffix() -> None:
    body = "/XMX5\n\n1-0:1.7.0*255(00.500*kW)\n\n   \n1-0:2.7.0(00.100*kW)\n!"
    t = parse_telegram(body, require_crc=False)
    assert t.header == "XMX5"
    assert t.crc is None
    assert set(t.objects) == {"1-0:1.7.0", "1-0:2.7.0"}
    assert t.reading.power_w == pytest.approx(400.0)


def test_later_duplicate_object_wins_and_empty_values_are_kept() -> None:
    t = parse_telegram(_frame("1-0:1.7.0(1*kW)", "0-0:96.13.0()", "1-0:1.7.0(2*kW)"))
    assert t.reading.power_w == 2000.0
    assert t.objects["0-0:96.13.0"] == ("",)
    assert t.version is None  # neither 1-3:0.2.8 nor 0-0:96.1.4


def test_numbers_signs_and_units() -> None:
    r = _read(
        "1-0:1.7.0(+0001.5*KW)",
        "1-0:2.7.0(-250*W)",
        "1-0:1.8.0(123*WH)",
        "1-0:2.8.0(7)",
        "1-0:32.7.0(231.5*V)",
        "1-0:31.7.0(12.25*A)",
    )
    assert r.power_import_w == 1500.0
    assert r.power_export_w == -250.0
    assert r.power_w == 1750.0
    assert r.energy_import_kwh == pytest.approx(0.123)
    assert r.energy_export_kwh == 7.0  # no unit: the number as sent
    assert r.voltage_v == (231.5, None, None)
    assert r.current_a == (12.25, None, None)


# -- mapping -------------------------------------------------------------------------------------


def test_totals_win_over_tariff_registers() -> None:
    r = _read(
        POWER,
        "1-0:1.8.0(000100.000*kWh)",
        "1-0:1.8.1(000001.000*kWh)",
        "1-0:1.8.2(000002.000*kWh)",
        "1-0:2.8.0(000050.500*kWh)",
        "1-0:2.8.1(000003.000*kWh)",
        "1-0:2.8.2(000004.000*kWh)",
    )
    assert r.energy_import_kwh == 100.0
    assert r.energy_export_kwh == 50.5


def test_one_tariff_register_alone_is_the_total() -> None:
    r = _read(POWER, "1-0:1.8.2(000002.500*kWh)", "1-0:2.8.1(000001.250*kWh)")
    assert r.energy_import_kwh == 2.5
    assert r.energy_export_kwh == 1.25
    r = _read(POWER, "1-0:1.8.1(000002.500*kWh)", "1-0:2.8.2(000001.250*kWh)")
    assert r.energy_import_kwh == 2.5
    assert r.energy_export_kwh == 1.25
    r = _read(POWER)
    assert r.energy_import_kwh is None
    assert r.energy_export_kwh is None


def test_import_only_and_export_only_meters() -> None:
    # a meter with import registers only (no 1-0:2.7.0, no 1-0:x2.7.0 per phase)
    r = _read(
        "1-0:1.7.0(02.000*kW)",
        "1-0:21.7.0(00.500*kW)",
        "1-0:41.7.0(00.700*kW)",
        "1-0:61.7.0(00.800*kW)",
    )
    assert r.power_w == 2000.0
    assert r.power_import_w == 2000.0
    assert r.power_export_w is None
    assert r.phase_power_w == (500.0, 700.0, 800.0)
    # export only, per phase too (negative phase power)
    r = _read("1-0:2.7.0(01.500*kW)", "1-0:22.7.0(00.400*kW)", "1-0:62.7.0(01.100*kW)")
    assert r.power_w == -1500.0
    assert r.power_import_w is None
    assert r.power_export_w == 1500.0
    assert r.phase_power_w == (-400.0, None, -1100.0)


def test_phases_net_import_minus_export() -> None:
    r = _read(
        POWER,
        "1-0:21.7.0(01.000*kW)",
        "1-0:22.7.0(00.250*kW)",
        "1-0:41.7.0(00.000*kW)",
        "1-0:42.7.0(00.125*kW)",
        "1-0:52.7.0(229.0*V)",
        "1-0:72.7.0(233.0*V)",
        "1-0:51.7.0(1.00*A)",
        "1-0:71.7.0(3.00*A)",
    )
    assert r.phase_power_w == (750.0, -125.0, None)
    assert r.voltage_v == (None, 229.0, 233.0)
    assert r.current_a == (None, 1.0, 3.0)


def test_watts_are_rounded_to_milliwatts() -> None:
    r = _read("1-0:1.7.0(0.0012346*kW)", "1-0:2.7.0(0.0000004*kW)", "1-0:21.7.0(0.0023456*kW)")
    assert r.power_import_w == 1.235  # 1.2346 W rounds to 3 decimals
    assert r.power_export_w == 0.0
    assert r.phase_power_w[0] == 2.346


def test_tariff_indicator_and_timestamp() -> None:
    assert _read(POWER, "0-0:96.14.0(0002)").tariff == 2
    assert _read(POWER, "0-0:96.14.0(T1)").tariff is None
    assert _read(POWER, "0-0:96.14.0()").tariff is None
    r = _read(POWER)
    assert r.tariff is None
    assert r.timestamp is None
    assert r.demand_quarter_kw is None
    assert r.demand_month_peak_kw is None
    assert r.demand_month_peak_at is None
    assert r.peak_history == ()
    assert r.gas_m3 is None
    assert r.phase_power_w == (None, None, None)
    assert _read(POWER, "0-0:1.0.0(240115083000W)").timestamp == datetime(
        2024, 1, 15, 7, 30, tzinfo=UTC
    )


def test_month_peak_with_and_without_its_time() -> None:
    r = _read(POWER, "1-0:1.6.0(240110181500W)(03.250*kW)")
    assert r.demand_month_peak_kw == 3.25
    assert r.demand_month_peak_at == datetime(2024, 1, 10, 17, 15, tzinfo=UTC)
    r = _read(POWER, "1-0:1.6.0(03.250*kW)")
    assert r.demand_month_peak_kw == 3.25
    assert r.demand_month_peak_at is None


def test_peak_history_without_the_obis_pair_and_empty() -> None:
    r = _read(POWER, "0-0:98.1.0(1)(240101000000W)(231211120000W)(02.750*kW)")
    assert r.peak_history == (
        PeakRecord(
            datetime(2023, 12, 31, 23, tzinfo=UTC), datetime(2023, 12, 11, 11, tzinfo=UTC), 2.75
        ),
    )
    assert _read(POWER, "0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)").peak_history == ()
    assert _read(POWER, "0-0:98.1.0(0)").peak_history == ()


def test_gas_channel_is_the_first_in_m3() -> None:
    # channel 1 a heat meter (GJ), channel 2 gas: the m3 one counts; 24.2.1 (BE) and 24.2.3 (NL)
    r = _read(
        POWER,
        "0-1:24.2.1(240115080000W)(00012.500*GJ)",
        "0-2:24.2.1(240115080000W)(00872.234*m3)",
        "0-3:24.2.3(240115080000W)(00001.000*m3)",
    )
    assert r.gas_m3 == pytest.approx(872.234)
    assert _read(POWER, "0-4:24.2.3(240115080000W)(00003.500*M3)").gas_m3 == 3.5
    # other channels/objects are not gas: 0-5 (no such channel), 24.2.2, a water meter in m3
    assert _read(POWER, "0-5:24.2.1(240115080000W)(00003.500*m3)").gas_m3 is None
    assert _read(POWER, "0-1:24.2.2(240115080000W)(00003.500*m3)").gas_m3 is None
    assert _read(POWER, "0-1:24.2.1(240115080000W)(00003.500*GJ)").gas_m3 is None


# -- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        # the repeated autumn hour (27 Oct 2024, 02:00-03:00 local twice): the flag settles it
        ("241027023000S", datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),
        ("241027023000W", datetime(2024, 10, 27, 1, 30, tzinfo=UTC)),
        # elsewhere the EU rules decide, whatever the flag says
        ("240715120000S", datetime(2024, 7, 15, 10, tzinfo=UTC)),
        ("240715120000W", datetime(2024, 7, 15, 10, tzinfo=UTC)),
        ("240115120000S", datetime(2024, 1, 15, 11, tzinfo=UTC)),
        ("991231235959W", datetime(2099, 12, 31, 22, 59, 59, tzinfo=UTC)),
        ("000101000000W", datetime(1999, 12, 31, 23, tzinfo=UTC)),
    ],
)
def test_timestamps_to_utc(text: str, utc: datetime) -> None:
    assert _read(POWER, f"0-0:1.0.0({text})").timestamp == utc


@pytest.mark.parametrize(
    "text", ["632525252525W", "240230120000W", "2401151200W", "240115120000X", "240115120000"]
)
def test_malformed_timestamps_are_none(text: str) -> None:
    assert _read(POWER, f"0-0:1.0.0({text})").timestamp is None


def test_timestamps_without_a_zone_database_use_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p1, "_CET", None)
    assert _read(POWER, "0-0:1.0.0(240715120000S)").timestamp == datetime(
        2024, 7, 15, 10, tzinfo=UTC
    )
    assert _read(POWER, "0-0:1.0.0(240715120000W)").timestamp == datetime(
        2024, 7, 15, 11, tzinfo=UTC
    )
    assert _read(POWER, "0-0:1.0.0(632525252525W)").timestamp is None


def test_local_zone_falls_back_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert str(p1._local_zone()) == "Europe/Brussels"

    def missing(key: str) -> None:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(p1, "ZoneInfo", missing)
    assert p1._local_zone() is None


# -- encoder -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "local"),
    [
        # 2024: summer time from 31 March 01:00 UTC to 27 October 01:00 UTC
        (datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC), "240331015959W"),
        (datetime(2024, 3, 31, 1, tzinfo=UTC), "240331030000S"),
        (datetime(2024, 10, 27, 0, 59, 59, tzinfo=UTC), "241027025959S"),
        (datetime(2024, 10, 27, 1, tzinfo=UTC), "241027020000W"),
        # 2026: 29 March and 25 October
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "260329013000W"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "260329033000S"),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "261025023000S"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "261025023000W"),
        (datetime(2026, 1, 1, tzinfo=UTC), "260101010000W"),
    ],
)
def test_encoder_timestamps_follow_the_eu_rule(utc: datetime, local: str) -> None:
    text = format_telegram(MeterReading(timestamp=utc, power_w=0.0))
    assert f"0-0:1.0.0({local})" in text.split("\r\n")
    assert parse_telegram(text).reading.timestamp == utc


def test_encoder_lines_dsmr5() -> None:
    reading = MeterReading(
        timestamp=datetime(2024, 1, 15, 7, 30, tzinfo=UTC),
        power_w=-1500.0,
        phase_power_w=(-2000.0, 500.0, None),
        voltage_v=(231.0, None, 229.5),
        current_a=(-8.7, 2.2, None),
        energy_import_kwh=100.0,
        energy_export_kwh=None,
        tariff=2,
    )
    text = format_telegram(reading)
    lines = text.split("\r\n")
    assert lines[:3] == ["/HEM5\\2SIMULATOR", "", "1-3:0.2.8(50)"]
    assert lines[3:9] == [
        "0-0:1.0.0(240115083000W)",
        "1-0:1.8.1(000050.000*kWh)",
        "1-0:1.8.2(000050.000*kWh)",
        "1-0:2.8.1(000000.000*kWh)",
        "1-0:2.8.2(000000.000*kWh)",
        "0-0:96.14.0(0002)",
    ]
    assert lines[9:23] == [
        "1-0:1.7.0(00.000*kW)",
        "1-0:2.7.0(01.500*kW)",
        "1-0:21.7.0(00.000*kW)",
        "1-0:41.7.0(00.500*kW)",
        "1-0:61.7.0(00.000*kW)",
        "1-0:22.7.0(02.000*kW)",
        "1-0:42.7.0(00.000*kW)",
        "1-0:62.7.0(00.000*kW)",
        "1-0:32.7.0(231.0*V)",
        "1-0:52.7.0(230.0*V)",
        "1-0:72.7.0(229.5*V)",
        "1-0:31.7.0(008.70*A)",
        "1-0:51.7.0(002.20*A)",
        "1-0:71.7.0(000.00*A)",
    ]
    assert lines[23].startswith("!")
    assert lines[24:] == [""]
    assert int(lines[23][1:], 16) == crc16(text[: text.index("!") + 1].encode("ascii"))
    assert "1-0:1.4.0" not in text


def test_encoder_defaults_and_emucs_lines() -> None:
    reading = MeterReading(
        timestamp=None,
        power_w=2000.0,
        demand_quarter_kw=1.5,
        demand_month_peak_kw=4.25,
        demand_month_peak_at=datetime(2024, 1, 10, 17, 15, tzinfo=UTC),
        peak_history=(
            PeakRecord(
                datetime(2023, 12, 31, 23, tzinfo=UTC), datetime(2023, 12, 11, 11, tzinfo=UTC), 2.75
            ),
            PeakRecord(None, None, 0.0),
        ),
    )
    text = format_telegram(reading, flavour="emucs", header="FLU5\\253769484_A")
    lines = text.split("\r\n")
    assert lines[0] == "/FLU5\\253769484_A"
    assert lines[2] == "0-0:96.1.4(50217)"
    assert lines[3] == "0-0:1.0.0(240101010000W)"  # no timestamp: 2024-01-01 00:00 UTC
    assert "0-0:96.14.0(0001)" in lines  # tariff 1 when unknown
    assert "1-0:1.4.0(01.500*kW)" in lines
    assert "1-0:1.6.0(240110181500W)(04.250*kW)" in lines
    assert "1-0:1.7.0(02.000*kW)" in lines
    assert "1-0:2.7.0(00.000*kW)" in lines
    assert "1-0:32.7.0(230.0*V)" in lines
    parsed = parse_telegram(text)
    assert parsed.version == "50217"
    assert parsed.reading.demand_month_peak_at == datetime(2024, 1, 10, 17, 15, tzinfo=UTC)
    # an empty month (no start, no occurrence) comes back as such
    assert parsed.reading.peak_history == reading.peak_history
    # without a peak time the telegram's own time stands in
    bare = format_telegram(MeterReading(timestamp=None, power_w=0.0), flavour="emucs")
    assert "1-0:1.6.0(240101010000W)(00.000*kW)" in bare.split("\r\n")
    assert "1-0:1.4.0(00.000*kW)" in bare.split("\r\n")
    assert "0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)" in bare.split("\r\n")


def test_encoder_rejects_unknown_flavour() -> None:
    with pytest.raises(ValueError, match="unknown flavour 'dsmr4'"):
        format_telegram(MeterReading(timestamp=None, power_w=0.0), flavour="dsmr4")


# -- stream buffer -------------------------------------------------------------------------------


def test_buffer_two_telegrams_in_one_chunk() -> None:
    a, b = _frame("1-0:1.7.0(1*kW)"), _frame("1-0:1.7.0(2*kW)")
    buf = TelegramBuffer()
    frames = buf.feed(("noise" + a + b).encode())
    assert frames == [a, b]
    assert [parse_telegram(f).reading.power_w for f in frames] == [1000.0, 2000.0]
    assert buf.feed(b"") == []


def test_buffer_waits_for_the_crc_line_end() -> None:
    text = _frame(POWER)
    bang = text.index("!")
    buf = TelegramBuffer()
    assert buf.feed(text[:bang]) == []  # no '!' yet
    assert buf.feed(text[bang:-2]) == []  # '!' and CRC, no line end yet
    assert buf.feed(text[-2:] + "/next") == [text]
    assert buf.feed("\r\n\r\n1-0:1.7.0(3*kW)\r\n!\r\n") == ["/next\r\n\r\n1-0:1.7.0(3*kW)\r\n!\r\n"]


def test_buffer_drops_junk_without_a_start() -> None:
    buf = TelegramBuffer()
    assert buf.feed(b"!!\r\nno start here\r\n") == []
    text = _frame(POWER)
    assert buf.feed(text) == [text]  # the earlier '!' does not end this telegram


def test_buffer_is_bounded() -> None:
    # a start without an end is kept up to MAX_TELEGRAM_BYTES, then dropped
    buf = TelegramBuffer()
    assert buf.feed("/" + "x" * (MAX_TELEGRAM_BYTES - 1)) == []
    assert buf.feed("!0000\n") == ["/" + "x" * (MAX_TELEGRAM_BYTES - 1) + "!0000\n"]
    buf = TelegramBuffer()
    assert buf.feed("/" + "x" * MAX_TELEGRAM_BYTES) == []
    assert buf.feed("!0000\n") == []
    text = _frame(POWER)
    assert buf.feed(text) == [text]


def test_buffer_replaces_non_ascii_bytes() -> None:
    buf = TelegramBuffer()
    (frame,) = buf.feed(b"/X\xff\r\n\r\n1-0:1.7.0(1*kW)\r\n!\r\n")
    assert "\ufffd" in frame
    with pytest.raises(TelegramError, match="not ASCII"):
        parse_telegram(frame, require_crc=False)


def test_round_trip_keeps_a_reading() -> None:
    reading = MeterReading(
        timestamp=datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # inside the repeated hour
        power_w=-250.0,
        phase_power_w=(100.0, -350.0, 0.0),
        voltage_v=(230.1, 229.9, 231.0),
        current_a=(0.5, 1.5, 0.0),
        energy_import_kwh=10.0,
        energy_export_kwh=4.0,
        tariff=2,
    )
    r = parse_telegram(format_telegram(reading)).reading
    assert r.timestamp == reading.timestamp
    assert r.power_w == -250.0
    assert r.power_import_w == 0.0
    assert r.power_export_w == 250.0
    assert r.phase_power_w == (100.0, -350.0, 0.0)
    assert r.voltage_v == (230.1, 229.9, 231.0)
    assert r.current_a == (0.5, 1.5, 0.0)
    assert r.energy_import_kwh == 10.0
    assert r.energy_export_kwh == 4.0
    assert r.tariff == 2
    assert r.timestamp is not None and r.timestamp + timedelta(hours=1) == datetime(
        2024, 10, 27, 1, 30, tzinfo=UTC
    )


# -- what mutation testing asked for -------------------------------------------------------------


def _crc_bit_by_bit(data: bytes) -> int:
    """CRC-16/ARC as its definition reads: reflected, one bit at a time, no table."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_table_is_the_one_byte_crcs() -> None:
    # the table is built at import; building it again must give each byte's own CRC
    assert _crc_bit_by_bit(b"123456789") == 0xBB3D  # the reference itself is right
    table = p1._crc_table()
    assert table == tuple(_crc_bit_by_bit(bytes([b])) for b in range(256))
    assert (table[0], table[1], table[0x80], table[0xFF]) == (0x0000, 0xC0C1, 0xA001, 0x4040)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no '/' start of telegram"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n", "no '!' end of telegram"),
        (
            "/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!\r\n",
            "telegram has no CRC (DSMR < 4 needs require_crc=False)",
        ),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!123456789AB\r\n", "malformed CRC '12345678'"),
        ("/\r\n\r\n1-0:1.7.0(1*kW)\r\n!", "empty identification line"),
        ("/X\r\n\r\n!", "telegram without objects"),
        ("/X\r\n\r\n(1*kW)\r\n!", "value line without an object"),
        ("/X\r\n\r\n" + "1" * 50 + "\r\n!", "malformed line '" + "1" * 40 + "'"),
        ("/X\r\n\r\n" + "1" * 30 + "(1)\r\n!", "malformed OBIS code '" + "1" * 20 + "'"),
        ("/X\r\n\r\nX(1)\r\n!", "malformed OBIS code 'X'"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)X\r\n!", "expected '(' in '(1*kW)X'"),
        ("/X\r\n\r\n0-0:96.14.0(0001)\r\n!", "telegram has no power (1-0:1.7.0 / 1-0:2.7.0)"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n0-0:98.1.0(a)\r\n!", "peak history without a count"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!" + "x" * 20000, "telegram too long"),
        (b"/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!" + b"x" * 20000, "telegram too long"),
        ("/X\r\n\r\n1-0:1.7.0(1*kW)\r\né!", "telegram is not ASCII"),
        (b"/X\r\n\r\n1-0:1.7.0(1*kW)\r\n\xe9!", "telegram is not ASCII"),
    ],
)
def test_exact_error_messages(text: str | bytes, message: str) -> None:
    with pytest.raises(TelegramError) as exc:
        parse_telegram(text, require_crc=message.startswith("telegram has no CRC"))
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "line",
    [
        "1-0:1.8.1(1*kW)",
        "1-0:52.7.0(1*A)",
        "1-0:51.7.0(1*V)",
        "0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(240101000000W)(231211120000W)(02.750*kWh)",
    ],
)
def test_wrong_unit_family_is_refused(line: str) -> None:
    with pytest.raises(TelegramError, match="expected"):
        _read(POWER, line)


def test_values_with_spaces_and_a_bang_right_after_the_last_object() -> None:
    t = parse_telegram("/X\r\n\r\n0-0:96.13.0(Hello meter)\r\n1-0:1.7.0(1*kW)!", require_crc=False)
    assert t.objects["0-0:96.13.0"] == ("Hello meter",)
    assert t.reading.power_w == 1000.0


def test_slashes_and_bangs_outside_the_frame_are_junk() -> None:
    text = _frame(POWER)
    assert parse_telegram("!!junk" + text).reading.power_w == 1234.0
    assert parse_telegram(text + "more junk / and !").reading.power_w == 1234.0


def test_gas_without_a_time_and_export_watts_rounding() -> None:
    assert _read(POWER, "0-1:24.2.1(00012.500*m3)").gas_m3 == 12.5
    r = _read("1-0:2.7.0(0.0012346*kW)")
    assert r.power_export_w == 1.235
    assert r.power_w == -1.235


def test_times_are_utc_objects() -> None:
    r = _read(POWER, "0-0:1.0.0(240715120000S)")
    assert r.timestamp is not None
    assert r.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    ("utc", "local"),
    [
        # 2027: 31 October is a Sunday, so summer time ends on that very day
        (datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "271031023000S"),
        (datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "271031023000W"),
        (datetime(2027, 10, 24, 1, 30, tzinfo=UTC), "271024033000S"),
    ],
)
def test_encoder_summer_end_on_the_31st(utc: datetime, local: str) -> None:
    text = format_telegram(MeterReading(timestamp=utc, power_w=0.0))
    assert f"0-0:1.0.0({local})" in text.split("\r\n")


def test_buffer_replaces_each_non_ascii_byte() -> None:
    (frame,) = TelegramBuffer().feed("/X\r\n\r\n1-0:1.7.0(1*kW)\r\n!é\r\n".encode())
    assert frame.count("\ufffd") == 2  # é is two bytes in UTF-8, each replaced


@pytest.fixture
def host_zone_utc_minus_5(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to a fixed UTC-5 (a POSIX TZ string: no database)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    monkeypatch.setenv("TZ", "XST+05")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.usefixtures("host_zone_utc_minus_5")
def test_encoder_does_not_depend_on_the_host_time_zone() -> None:
    assert datetime(2024, 1, 1).astimezone(UTC).hour == 5  # the fixture took effect
    # no timestamp: 2024-01-01 00:00 UTC is 01:00 in Belgium and the Netherlands
    text = format_telegram(MeterReading(timestamp=None, power_w=0.0))
    assert "0-0:1.0.0(240101010000W)" in text.split("\r\n")
    # an aware time in another zone is converted (07:00 at UTC-5 is 12:00 UTC, 14:00 CEST)
    when = datetime(2024, 7, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    text = format_telegram(MeterReading(timestamp=when, power_w=0.0))
    assert "0-0:1.0.0(240701140000S)" in text.split("\r\n")


def test_buffer_a_stray_slash_before_a_line_end_keeps_the_next_telegram() -> None:
    """The rest after a frame's line end is scanned afresh; nothing before it comes along."""
    text = _frame(POWER)
    assert TelegramBuffer().feed("/junk!/\n" + text) == ["/junk!/\n", text]
