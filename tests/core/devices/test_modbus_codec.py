"""Modbus sans-IO codec: value encoding, batching, MBAP frames."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.devices.errors import (
    ConfigError,
    ModbusExceptionError,
    ProtocolError,
    ValueOutOfRangeError,
)
from hems_core.devices.modbus_codec import (
    ReadBlock,
    RegisterSpec,
    Request,
    decode_raw,
    decode_read_response,
    decode_request,
    encode_exception,
    encode_raw,
    encode_read_request,
    encode_read_response,
    encode_write_request,
    encode_write_response,
    extract,
    plan_reads,
)


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("u16", 65535, [0xFFFF]),
        ("s16", -1, [0xFFFF]),
        ("s16", -7400, [0xE318]),
        ("u32", 70000, [0x0001, 0x1170]),
        ("s32", -2, [0xFFFF, 0xFFFE]),
        ("f32", 1.5, [0x3FC0, 0x0000]),
    ],
)
def test_known_encodings(kind: str, value: float, words: list[int]) -> None:
    assert encode_raw(kind, value) == words  # type: ignore[arg-type]
    assert decode_raw(kind, words) == value  # type: ignore[arg-type]
    assert decode_raw(kind, list(reversed(words)), "little") == value  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["u16", "s16", "u32", "s32"]),
    st.integers(-(2**31), 2**32 - 1),
    st.sampled_from([1.0, 0.1, 10.0, -1.0, 0.01]),
    st.sampled_from(["big", "little"]),
)
def test_spec_round_trip_or_refusal(kind: str, raw: int, scale: float, order: str) -> None:
    spec = RegisterSpec("x", 100, kind, scale=scale, word_order=order)  # type: ignore[arg-type]
    value = raw * scale
    try:
        words = spec.encode(value)
    except ValueOutOfRangeError:
        lo, hi = {
            "u16": (0, 65535),
            "s16": (-32768, 32767),
            "u32": (0, 2**32 - 1),
            "s32": (-(2**31), 2**31 - 1),
        }[kind]
        assert not lo <= raw <= hi
        return
    assert spec.decode(words) == pytest.approx(value)


def test_spec_limits_and_validation() -> None:
    spec = RegisterSpec("sp", 260, "s16", writable=True, minimum=-7400, maximum=7400)
    with pytest.raises(ValueOutOfRangeError):
        spec.encode(7401)
    with pytest.raises(ValueOutOfRangeError):
        spec.encode(float("inf"))
    for bad in (
        {"type": "s64"},
        {"table": "coil"},
        {"address": 70000},
        {"scale": 0.0},
        {"writable": True, "table": "input"},
        {"minimum": 5.0, "maximum": 1.0},
        {"single_write": True, "type": "u32"},
    ):
        with pytest.raises(ConfigError):
            RegisterSpec("bad", **{"address": 1, **bad})  # type: ignore[arg-type]


def test_plan_reads_batches_contiguous_registers() -> None:
    specs = [
        RegisterSpec("a", 10, "u16"),
        RegisterSpec("b", 11, "u32"),
        RegisterSpec("c", 13, "s16"),
        RegisterSpec("d", 20, "u16"),
        RegisterSpec("e", 10, "u16", table="input"),
    ]
    assert plan_reads(specs) == [
        ReadBlock("holding", 10, 4),
        ReadBlock("holding", 20, 1),
        ReadBlock("input", 10, 1),
    ]
    assert plan_reads(specs, max_gap=6)[0] == ReadBlock("holding", 10, 11)
    words = [1, 0, 5, 0xFFFF]
    assert extract(specs[1], ReadBlock("holding", 10, 4), words) == 5
    with pytest.raises(ProtocolError):
        extract(specs[3], ReadBlock("holding", 10, 4), words)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 500), st.sampled_from(["u16", "u32"])), min_size=1, max_size=30
    ),
    st.integers(0, 5),
)
def test_plan_reads_covers_every_register_within_limits(
    regs: list[tuple[int, str]], gap: int
) -> None:
    specs = [RegisterSpec(f"r{i}", a, t) for i, (a, t) in enumerate(regs)]  # type: ignore[arg-type]
    blocks = plan_reads(specs, max_gap=gap, max_count=20)
    for s in specs:
        assert any(
            b.address <= s.address and s.address + s.width <= b.address + b.count for b in blocks
        )
    assert all(1 <= b.count <= 20 for b in blocks)
    assert len(blocks) <= len(specs)


def test_mbap_round_trips() -> None:
    req = decode_request(encode_read_request(42, 3, 4, 4018, 2))
    assert req == Request(42, 3, 4, 4018, 2)
    assert decode_read_response(encode_read_response(req, [1, 2]), 42, 2) == [1, 2]
    wreq = decode_request(encode_write_request(7, 1, 41002, [0, 1000]))
    assert wreq.values == (0, 1000)
    assert encode_write_response(wreq)[7] == 16
    with pytest.raises(ModbusExceptionError) as info:
        decode_read_response(encode_exception(req, 2), 42, 2)
    assert info.value.exception_code == 2
    with pytest.raises(ProtocolError, match="transaction"):
        decode_read_response(encode_read_response(req, [1, 2]), 41, 2)
    with pytest.raises(ProtocolError, match="protocol"):
        decode_request(b"\x00\x01\x00\x05\x00\x06\x01\x03\x00\x00\x00\x01")
