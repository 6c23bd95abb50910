"""P1 port telegrams: DSMR 4.x/5.0 (NL) and e-MUCS (BE) — a pure, sans-IO codec.

A telegram is ASCII: ``/`` + identification line, a blank line, COSEM objects
``A-B:C.D.E(value)(value)...`` one per line, then ``!`` and a CRC16 in four hex digits.
The CRC (CRC-16/ARC: polynomial 0x8005 reflected, initial value 0) covers every byte from
``/`` up to and including ``!``. DSMR 2.2/3.0 telegrams carry no CRC; they are accepted only
when the caller passes ``require_crc=False``.

Timestamps ``YYMMDDhhmmssX`` are Dutch/Belgian local time where ``X`` is ``S`` (summer) or
``W`` (winter); we turn them into UTC here (EU rules via zoneinfo, the flag as fallback).

The only error this module raises is :class:`~hems_core.devices.errors.TelegramError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import TelegramError
from .model import MeterReading, PeakRecord

__all__ = [
    "Telegram",
    "TelegramBuffer",
    "crc16",
    "format_telegram",
    "parse_telegram",
]

_OBIS_RE = re.compile(r"^(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\*\d{1,3})?$")
_NUMBER_RE = re.compile(r"^[+-]?\d{1,12}(?:\.\d{1,9})?$")
_TS_RE = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})([SW])$")
_GAS_RE = re.compile(r"^0-[1-4]:24\.2\.[13]$")
_CRC_RE = re.compile(r"^[0-9A-Fa-f]{4}$")
MAX_TELEGRAM_BYTES = 16_384

# The units of the objects we read (other objects are kept as text, their units never checked).
_UNIT_TO_BASE: dict[str, tuple[str, float]] = {
    "kw": ("kW", 1.0),
    "w": ("kW", 0.001),
    "kwh": ("kWh", 1.0),
    "wh": ("kWh", 0.001),
    "v": ("V", 1.0),
    "a": ("A", 1.0),
    "m3": ("m3", 1.0),
}


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC as DSMR specifies it (poly 0xA001 reflected, init 0), table-driven."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


@dataclass(frozen=True, slots=True)
class Telegram:
    """A parsed telegram: the raw COSEM objects plus the typed meter reading."""

    header: str
    version: str | None
    crc: int | None
    objects: dict[str, tuple[str, ...]]
    reading: MeterReading


def _local_zone() -> tzinfo | None:
    """Central European time (NL and BE share the EU rules); None without a zone database."""
    try:
        return ZoneInfo("Europe/Brussels")
    except (ZoneInfoNotFoundError, ValueError):
        return None


_CET = _local_zone()


def _parse_timestamp(text: str) -> datetime | None:
    """DSMR timestamp -> UTC; ``None`` for a malformed one (meters do send e.g. 632525252525W).

    The offset comes from the EU DST rules; the S/W flag only settles the repeated autumn
    hour, because meters are known to flag e.g. the 1 March month start of 0-0:98.1.0 with S.
    """
    m = _TS_RE.match(text)
    if m is None:
        return None
    yy, mo, dd, hh, mi, ss = (int(g) for g in m.groups()[:6])
    summer = m.group(7) == "S"
    try:
        naive = datetime(2000 + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None
    if _CET is not None:
        return naive.replace(tzinfo=_CET, fold=0 if summer else 1).astimezone(UTC)
    return naive.replace(tzinfo=UTC) - timedelta(hours=2 if summer else 1)


def _number(text: str, expected_unit: str | None = None) -> float:
    """``000004.426*kWh`` -> 4.426 (converted to the base unit of its family)."""
    value, _, unit = text.partition("*")
    if not _NUMBER_RE.match(value):
        raise TelegramError(f"not a number: {text!r}")
    number = float(value)
    if unit:
        base = _UNIT_TO_BASE.get(unit.lower())
        if base is None:
            raise TelegramError(f"unknown unit in {text!r}")
        if expected_unit is not None and base[0] != expected_unit:
            raise TelegramError(f"expected {expected_unit}, got {text!r}")
        number *= base[1]
    return number


def _split_values(rest: str) -> tuple[str, ...]:
    """``(a)(b)(c)`` -> ('a', 'b', 'c'); anything else is an error."""
    values: list[str] = []
    pos = 0
    while pos < len(rest):
        if rest[pos] != "(":
            raise TelegramError(f"expected '(' in {rest!r}")
        end = rest.find(")", pos)
        if end < 0:
            raise TelegramError(f"unclosed value in {rest!r}")
        inner = rest[pos + 1 : end]
        if "(" in inner:
            raise TelegramError(f"nested '(' in {rest!r}")
        values.append(inner)
        pos = end + 1
    return tuple(values)  # never empty: _lines hands over text starting with '('


def _lines(body: str) -> Iterator[tuple[str, str]]:
    """Yield (obis, values-text), joining continuation lines that start with '('."""
    current: list[str] | None = None
    for raw in body.split("\n"):
        line = raw.strip("\r").strip()
        if not line:
            continue
        if line.startswith("("):
            if current is None:
                raise TelegramError("value line without an object")
            current[1] += line
            continue
        if current is not None:
            yield current[0], current[1]
        paren = line.find("(")
        if paren <= 0:
            raise TelegramError(f"malformed line {line[:40]!r}")
        current = [line[:paren], line[paren:]]
    if current is not None:
        yield current[0], current[1]


def _split_frame(text: str, require_crc: bool) -> tuple[str, str, int | None]:
    """Return (header, body, crc) after checking framing and the CRC."""
    start = text.find("/")
    if start < 0:
        raise TelegramError("no '/' start of telegram")
    bang = text.find("!", start)
    if bang < 0:
        raise TelegramError("no '!' end of telegram")
    frame = text[start : bang + 1]
    tail = text[bang + 1 :].strip()
    crc: int | None = None
    if tail:
        crc_text = tail.split()[0]
        if not _CRC_RE.match(crc_text):
            raise TelegramError(f"malformed CRC {crc_text[:8]!r}")
        crc = int(crc_text, 16)
        computed = crc16(frame.encode("ascii"))  # parse_telegram let only ASCII through
        if computed != crc:
            raise TelegramError(f"CRC mismatch: telegram says {crc:04X}, computed {computed:04X}")
    elif require_crc:
        raise TelegramError("telegram has no CRC (DSMR < 4 needs require_crc=False)")
    header, _, body = frame[1:-1].partition("\n")
    header = header.strip("\r").strip()
    if not header:
        raise TelegramError("empty identification line")
    return header, body, crc


def parse_telegram(data: str | bytes, *, require_crc: bool = True) -> Telegram:
    """Parse one telegram; raises :class:`TelegramError` on anything malformed."""
    if isinstance(data, bytes):
        if len(data) > MAX_TELEGRAM_BYTES:
            raise TelegramError("telegram too long")
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as err:
            raise TelegramError("telegram is not ASCII") from err
    else:
        text = data
        if len(text) > MAX_TELEGRAM_BYTES:
            raise TelegramError("telegram too long")
        if not text.isascii():
            raise TelegramError("telegram is not ASCII")
    header, body, crc = _split_frame(text, require_crc)
    objects: dict[str, tuple[str, ...]] = {}
    for obis, rest in _lines(body):
        if not _OBIS_RE.match(obis):
            raise TelegramError(f"malformed OBIS code {obis[:20]!r}")
        key = obis.split("*")[0]
        objects[key] = _split_values(rest)
    if not objects:
        raise TelegramError("telegram without objects")
    reading = _reading(objects)
    version = _first(objects, "1-3:0.2.8") or _first(objects, "0-0:96.1.4")
    return Telegram(header=header, version=version, crc=crc, objects=objects, reading=reading)


def _first(objects: dict[str, tuple[str, ...]], key: str) -> str | None:
    values = objects.get(key)
    return values[0] if values else None


def _opt(objects: dict[str, tuple[str, ...]], key: str, unit: str) -> float | None:
    values = objects.get(key)
    if not values:
        return None
    return _number(values[-1], unit)


def _sum_opt(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _phase(a: float | None, b: float | None) -> float | None:
    if a is None and b is None:
        return None
    return (a or 0.0) - (b or 0.0)


def _kw_to_w(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def _peak_history(values: tuple[str, ...]) -> tuple[PeakRecord, ...]:
    """0-0:98.1.0 ``(n)(1-0:1.6.0)(1-0:1.6.0)`` then n × ``(month)(occurred)(kW)``."""
    if not values or not values[0].isdigit():
        raise TelegramError("peak history without a count")
    count = int(values[0])
    triples = values[3:] if len(values) >= 3 and ":" in values[1] else values[1:]
    if len(triples) != 3 * count:
        raise TelegramError(f"peak history says {count} entries, has {len(triples)} values")
    records = []
    for i in range(count):
        month, occurred, demand = triples[3 * i : 3 * i + 3]
        records.append(
            PeakRecord(
                month_start=_parse_timestamp(month),
                occurred=_parse_timestamp(occurred),
                demand_kw=_number(demand, "kW"),
            )
        )
    return tuple(records)


def _reading(objects: dict[str, tuple[str, ...]]) -> MeterReading:
    """Map the OBIS objects onto a :class:`MeterReading` (W, kWh, V, A)."""
    imp = _opt(objects, "1-0:1.7.0", "kW")
    exp = _opt(objects, "1-0:2.7.0", "kW")
    if imp is None and exp is None:
        raise TelegramError("telegram has no power (1-0:1.7.0 / 1-0:2.7.0)")
    l1, l2, l3 = (
        _phase(_opt(objects, f"1-0:{p}.7.0", "kW"), _opt(objects, f"1-0:{p + 1}.7.0", "kW"))
        for p in (21, 41, 61)
    )
    energy_in = _opt(objects, "1-0:1.8.0", "kWh")
    if energy_in is None:
        energy_in = _sum_opt(_opt(objects, "1-0:1.8.1", "kWh"), _opt(objects, "1-0:1.8.2", "kWh"))
    energy_out = _opt(objects, "1-0:2.8.0", "kWh")
    if energy_out is None:
        energy_out = _sum_opt(_opt(objects, "1-0:2.8.1", "kWh"), _opt(objects, "1-0:2.8.2", "kWh"))
    tariff_text = _first(objects, "0-0:96.14.0")
    tariff = int(tariff_text) if tariff_text and tariff_text.isdigit() else None
    peak_kw: float | None = None
    peak_at: datetime | None = None
    month_max = objects.get("1-0:1.6.0")
    if month_max:
        peak_kw = _number(month_max[-1], "kW")
        peak_at = _parse_timestamp(month_max[0]) if len(month_max) > 1 else None
    history = objects.get("0-0:98.1.0")
    gas: float | None = None
    for key, values in objects.items():
        if _GAS_RE.match(key) and values[-1].lower().endswith("*m3"):
            gas = _number(values[-1], "m3")
            break
    ts_text = _first(objects, "0-0:1.0.0")
    imp_w = round(imp * 1000, 3) if imp is not None else None
    exp_w = round(exp * 1000, 3) if exp is not None else None
    return MeterReading(
        timestamp=_parse_timestamp(ts_text) if ts_text else None,
        power_w=(imp_w or 0.0) - (exp_w or 0.0),
        power_import_w=imp_w,
        power_export_w=exp_w,
        phase_power_w=(_kw_to_w(l1), _kw_to_w(l2), _kw_to_w(l3)),
        voltage_v=(
            _opt(objects, "1-0:32.7.0", "V"),
            _opt(objects, "1-0:52.7.0", "V"),
            _opt(objects, "1-0:72.7.0", "V"),
        ),
        current_a=(
            _opt(objects, "1-0:31.7.0", "A"),
            _opt(objects, "1-0:51.7.0", "A"),
            _opt(objects, "1-0:71.7.0", "A"),
        ),
        energy_import_kwh=energy_in,
        energy_export_kwh=energy_out,
        tariff=tariff,
        demand_quarter_kw=_opt(objects, "1-0:1.4.0", "kW"),
        demand_month_peak_kw=peak_kw,
        demand_month_peak_at=peak_at,
        peak_history=_peak_history(history) if history else (),
        gas_m3=gas,
    )


def _ts(when: datetime) -> str:
    """UTC datetime -> DSMR local timestamp (CET/CEST by the EU DST rule)."""
    utc = when.astimezone(UTC)
    year = utc.year
    # EU summer time: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    march = datetime(year, 3, 31, 1, tzinfo=UTC)
    october = datetime(year, 10, 31, 1, tzinfo=UTC)
    start = march - timedelta(days=(march.weekday() + 1) % 7)
    end = october - timedelta(days=(october.weekday() + 1) % 7)
    summer = start <= utc < end
    local = utc + timedelta(hours=2 if summer else 1)
    return local.strftime("%y%m%d%H%M%S") + ("S" if summer else "W")


#: What meters send for "no time" (an empty month of the peak history); parsed back as None.
_NO_TIME = "632525252525W"


def _unsigned(kw: float) -> float:
    """Telegram values carry no sign (and never "-0.000")."""
    return kw if kw > 0 else 0.0


def format_telegram(
    reading: MeterReading, *, flavour: str = "dsmr5", header: str = "HEM5\\2SIMULATOR"
) -> str:
    """Render a reading as a telegram with a valid CRC (the simulator's encoder).

    ``flavour`` is ``dsmr5`` (NL) or ``emucs`` (BE, adds 1-0:1.4.0, 1-0:1.6.0, 0-0:98.1.0).
    """
    if flavour not in ("dsmr5", "emucs"):
        raise ValueError(f"unknown flavour {flavour!r}")
    when = reading.timestamp or datetime(2024, 1, 1, tzinfo=UTC)
    lines = [f"/{header}", ""]
    if flavour == "dsmr5":
        lines.append("1-3:0.2.8(50)")
    else:
        lines.append("0-0:96.1.4(50217)")
    lines.append(f"0-0:1.0.0({_ts(when)})")
    e_in = reading.energy_import_kwh or 0.0
    e_out = reading.energy_export_kwh or 0.0
    lines += [
        f"1-0:1.8.1({e_in / 2:010.3f}*kWh)",
        f"1-0:1.8.2({e_in / 2:010.3f}*kWh)",
        f"1-0:2.8.1({e_out / 2:010.3f}*kWh)",
        f"1-0:2.8.2({e_out / 2:010.3f}*kWh)",
        f"0-0:96.14.0({reading.tariff or 1:04d})",
    ]
    if flavour == "emucs":
        lines.append(f"1-0:1.4.0({reading.demand_quarter_kw or 0.0:06.3f}*kW)")
        peak_at = reading.demand_month_peak_at or when
        lines.append(f"1-0:1.6.0({_ts(peak_at)})({reading.demand_month_peak_kw or 0.0:06.3f}*kW)")
        hist = "".join(
            f"({_ts(r.month_start) if r.month_start else _NO_TIME})"
            f"({_ts(r.occurred) if r.occurred else _NO_TIME})({r.demand_kw:06.3f}*kW)"
            for r in reading.peak_history
        )
        lines.append(f"0-0:98.1.0({len(reading.peak_history)})(1-0:1.6.0)(1-0:1.6.0){hist}")
    imp = _unsigned(reading.power_w / 1000)
    exp = _unsigned(-reading.power_w / 1000)
    lines += [f"1-0:1.7.0({imp:06.3f}*kW)", f"1-0:2.7.0({exp:06.3f}*kW)"]
    for idx, code in enumerate((21, 41, 61)):
        p = (reading.phase_power_w[idx] or 0.0) / 1000
        lines.append(f"1-0:{code}.7.0({_unsigned(p):06.3f}*kW)")
    for idx, code in enumerate((22, 42, 62)):
        p = (reading.phase_power_w[idx] or 0.0) / 1000
        lines.append(f"1-0:{code}.7.0({_unsigned(-p):06.3f}*kW)")
    for idx, code in enumerate((32, 52, 72)):
        lines.append(f"1-0:{code}.7.0({reading.voltage_v[idx] or 230.0:05.1f}*V)")
    for idx, code in enumerate((31, 51, 71)):
        lines.append(f"1-0:{code}.7.0({abs(reading.current_a[idx] or 0.0):06.2f}*A)")
    body = "\r\n".join(lines) + "\r\n!"
    return body + f"{crc16(body.encode('ascii')):04X}\r\n"


class TelegramBuffer:
    """Reassemble telegrams from a byte stream (serial port, TCP, MQTT chunks).

    Feeds never raise; :meth:`telegrams` yields complete frames (``/`` … ``!XXXX``) that the
    caller then parses. Junk before ``/`` is dropped; the buffer is bounded.
    """

    def __init__(self) -> None:
        self._buf = ""

    def feed(self, data: bytes | str) -> list[str]:
        """Add bytes and return every complete telegram found so far."""
        chunk = data.decode("ascii", errors="replace") if isinstance(data, bytes) else data
        self._buf += chunk
        out: list[str] = []
        while True:
            start = self._buf.find("/")
            if start < 0:
                self._buf = ""
                return out
            self._buf = self._buf[start:]
            bang = self._buf.find("!")
            if bang < 0:
                break
            end = self._buf.find("\n", bang)
            if end < 0:
                break
            out.append(self._buf[: end + 1])
            self._buf = self._buf[end + 1 :]
        if len(self._buf) > MAX_TELEGRAM_BYTES:
            self._buf = ""
        return out
