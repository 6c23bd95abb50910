"""Parser fuzzing: >= 10,000 seeded inputs per parser; only the documented error escapes.

Inputs are mutations of valid material (so the parsers are driven deep, past framing and
CRC checks) mixed with random bytes. Each parser has one documented error type.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.devices.errors import ConfigError, PayloadError, ProtocolError, TelegramError
from hems_core.devices.modbus_codec import (
    RegisterSpec,
    decode_read_response,
    decode_request,
    encode_read_request,
    encode_write_request,
)
from hems_core.devices.mqtt_wallbox import MqttWallboxConfig
from hems_core.devices.p1 import TelegramBuffer, crc16, parse_telegram
from hems_core.devices.p1_mqtt import DsmrReaderDecoder, JsonDecoder, RawTelegramDecoder
from hems_core.devices.regmap import parse_device_map
from hems_core.devices.sunspec import MODEL_LENGTHS, decode_model, parse_header
from hems_core.devices.wallboxes import QUASAR_MAP, SIGENERGY_EVDC_MAP, ambicharge_map

N = 10_000
MIN_INPUTS = 10_000  # the floor: inputs really fed to each parser
#: Inputs really passed to each parser, counted inside the fuzz loops (not derived from ``N``).
FED: dict[str, int] = {}


def _fed(name: str) -> None:
    FED[name] = FED.get(name, 0) + 1


def _assert_fed(name: str) -> None:
    assert FED.get(name, 0) >= MIN_INPUTS, f"{name}: only {FED.get(name, 0)} inputs fuzzed"


SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.txt"))
ALPHABET = b"0123456789()*.:-!/\r\n kWhVAm3SW"


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1) if buf else 0
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.choice(ALPHABET)
        elif op == 1:
            buf[pos:pos] = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8)))
        elif op == 2 and buf:
            del buf[pos : pos + rng.randint(1, 20)]
        elif op == 3:
            buf = buf[: rng.randrange(len(buf) + 1)]
        elif op == 4 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        else:
            lines = bytes(buf).split(b"\n")
            rng.shuffle(lines)
            buf = bytearray(b"\n".join(lines))
    return bytes(buf)


def _recrc(data: bytes) -> bytes:
    """Give a mutated telegram a valid CRC so parsing continues past the check."""
    bang = data.rfind(b"!")
    if bang < 0:
        return data
    return data[: bang + 1] + f"{crc16(data[: bang + 1][data.find(b'/') :]):04X}\r\n".encode()


def _run(
    count: int,
    make: Callable[[random.Random], Any],
    call: Callable[[Any], object],
    allowed: type[Exception] | tuple[type[Exception], ...],
    seed: int,
    name: str | None = None,
) -> int:
    """Feed ``count`` inputs to ``call``; asserts afterwards that at least MIN_INPUTS reached it."""
    rng = random.Random(seed)
    key = name or getattr(call, "__qualname__", repr(call))
    FED.pop(key, None)
    ok = 0
    for _ in range(count):
        item = make(rng)
        _fed(key)
        try:
            call(item)
            ok += 1
        except allowed:
            pass
    _assert_fed(key)
    return ok


def test_fuzz_p1_telegram() -> None:
    samples = [p.read_bytes() for p in SAMPLES]

    def make(rng: random.Random) -> bytes:
        kind = rng.random()
        if kind < 0.1:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        data = _mutate(rng.choice(samples), rng)
        return _recrc(data) if kind < 0.7 else data

    ok = _run(N, make, parse_telegram, TelegramError, seed=1)
    assert 0 < ok < N  # some mutations stay valid, most do not: the fuzzer reaches both paths


def test_fuzz_telegram_buffer_never_raises() -> None:
    data = b"".join(p.read_bytes() for p in SAMPLES)
    rng = random.Random(2)
    buf = TelegramBuffer()
    found = 0
    for _ in range(N):
        chunk = _mutate(data[: rng.randrange(len(data))], rng)
        _fed("TelegramBuffer.feed")
        found += len(buf.feed(chunk))
    _assert_fed("TelegramBuffer.feed")
    assert found > 0


def test_fuzz_modbus_request_decoder() -> None:
    valid = [
        encode_read_request(7, 1, 3, 100, 10),
        encode_read_request(9, 2, 4, 0, 125),
        encode_write_request(3, 1, 260, [1, 2, 3]),
    ]

    def make(rng: random.Random) -> bytes:
        if rng.random() < 0.2:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(30)))
        frame = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 3)):
            frame[rng.randrange(len(frame))] = rng.randrange(256)
        return bytes(
            frame[: rng.randint(len(frame) - 2, len(frame) + 2)] + b"\x00" * rng.randrange(3)
        )

    ok = _run(N, make, decode_request, ProtocolError, seed=3)
    assert 0 < ok < N


def test_fuzz_modbus_response_decoder() -> None:
    def make(rng: random.Random) -> bytes:
        count = rng.randint(1, 5)
        body = bytes([3, 2 * count]) + bytes(rng.randrange(256) for _ in range(2 * count))
        frame = bytearray(
            (7).to_bytes(2, "big")
            + b"\x00\x00"
            + (len(body) + 1).to_bytes(2, "big")
            + b"\x01"
            + body
        )
        for _ in range(rng.randint(0, 3)):
            frame[rng.randrange(len(frame))] = rng.randrange(256)
        return bytes(frame)

    ok = _run(
        N,
        make,
        lambda f: decode_read_response(f, 7, len(f) // 2 - 4 if len(f) > 9 else 1),
        ProtocolError,
        seed=4,
    )
    assert ok < N


def test_fuzz_register_value_decoder() -> None:
    specs = [
        RegisterSpec("a", 0, t, word_order=o)
        for t in ("u16", "s16", "u32", "s32", "f32")
        for o in ("big", "little")
    ]

    def make(rng: random.Random) -> tuple[RegisterSpec, list[int]]:
        return rng.choice(specs), [rng.randint(-5, 70000) for _ in range(rng.randint(0, 3))]

    ok = _run(N, make, lambda x: x[0].decode(x[1]), ProtocolError, seed=5)
    assert 0 < ok < N


def test_fuzz_register_map_loader() -> None:
    bases = [QUASAR_MAP, SIGENERGY_EVDC_MAP, ambicharge_map(2)]
    junk: list[Any] = [None, -1, 70000, "x", 1.5, True, [], {}, {"a": 1}, "holding", "s64", 0]

    def make(rng: random.Random) -> Any:
        data = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            if not isinstance(data, dict):
                break
            where = rng.random()
            if where < 0.5 and isinstance(data.get("registers"), list) and data["registers"]:
                reg = rng.choice(data["registers"])
                if not isinstance(reg, dict):
                    break
                reg[rng.choice([*reg.keys(), "min", "bogus"])] = rng.choice(junk)
            elif where < 0.7:
                data[
                    rng.choice(["roles", "limits", "status_map", "constants", "unit_id", "max_gap"])
                ] = rng.choice(junk)
            elif where < 0.85 and isinstance(data.get("roles"), dict) and data["roles"]:
                data["roles"][rng.choice(list(data["roles"]))] = rng.choice(["power", "nope", 3])
            else:
                data = rng.choice(junk) if rng.random() < 0.2 else data
        return data

    ok = _run(N, make, parse_device_map, ConfigError, seed=6)
    assert 0 < ok < N


def test_fuzz_sunspec_models() -> None:
    ids = sorted(MODEL_LENGTHS)

    def make(rng: random.Random) -> tuple[int, list[int]]:
        mid = rng.choice(ids)
        length = MODEL_LENGTHS[mid] + (rng.choice([-1, 1]) if rng.random() < 0.1 else 0)
        return mid, [rng.choice([0, 0x8000, 0xFFFF, rng.randrange(65536)]) for _ in range(length)]

    ok = _run(N, make, lambda x: decode_model(*x), ProtocolError, seed=7)
    assert 0 < ok < N
    ok = _run(
        N,
        lambda r: [r.randrange(70000) for _ in range(r.randint(1, 3))],
        parse_header,
        ProtocolError,
        seed=8,
    )
    assert ok < N


def _payload(rng: random.Random, valid: list[bytes]) -> bytes:
    if rng.random() < 0.3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
    return _mutate(rng.choice(valid), rng)


def test_fuzz_json_p1_decoder() -> None:
    valid = [
        json.dumps(
            {
                "active_power_w": 1234.5,
                "total_power_import_kwh": 10.5,
                "montly_power_peak_w": 3000,
                "montly_power_peak_timestamp": 230101120000,
                "active_tariff": 2,
            }
        ).encode()
    ]
    dec = JsonDecoder()
    ok = _run(
        N, lambda r: _payload(r, valid), lambda p: dec.feed("p1/json", p), PayloadError, seed=9
    )
    assert 0 < ok < N


def test_fuzz_dsmr_reader_decoder() -> None:
    dec = DsmrReaderDecoder()
    names = ["electricity_currently_delivered", "phase_voltage_l1", "electricity_delivered_1", "x"]
    ok = _run(
        N,
        lambda r: (r.choice(names), _payload(r, [b"1.234", b"230.1", b"-0.5"])),
        lambda x: dec.feed("dsmr/reading/" + x[0], x[1]),
        PayloadError,
        seed=10,
    )
    assert 0 < ok < N


def test_fuzz_raw_telegram_decoder() -> None:
    dec = RawTelegramDecoder()
    valid = [p.read_bytes() for p in SAMPLES]
    ok = _run(
        N,
        lambda r: _payload(r, valid),
        lambda p: dec.feed("p1/telegram", p),
        (TelegramError, PayloadError),
        seed=11,
    )
    assert ok < N


def test_fuzz_mqtt_wallbox_state() -> None:
    cfg = MqttWallboxConfig(setpoint_topic="s", state_topic="st")
    valid = [
        json.dumps(
            {"power_w": -3000, "soc": 55.5, "plugged": True, "status": "discharging"}
        ).encode()
    ]
    ok = _run(
        N, lambda r: _payload(r, valid), lambda p: cfg.decode_state("st", p), PayloadError, seed=12
    )
    assert 0 < ok < N


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=300))
def test_arbitrary_text_only_raises_telegram_error(text: str) -> None:
    with contextlib.suppress(TelegramError):
        parse_telegram(text, require_crc=False)


def test_run_counts_the_inputs_it_feeds() -> None:
    """The fuzz harness counts calls that really reach the parser, and fails below MIN_INPUTS."""
    seen: list[int] = []
    ok = _run(MIN_INPUTS, lambda r: r.randrange(10), seen.append, ValueError, 0, name="probe")
    assert ok == len(seen) == FED["probe"] == MIN_INPUTS
    with pytest.raises(AssertionError, match="only 9999 inputs"):
        _run(MIN_INPUTS - 1, lambda r: 0, seen.append, ValueError, 0, name="probe")
