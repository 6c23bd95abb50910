"""Modbus, sans-IO: register values ⇄ numbers, read batching, and MBAP (Modbus TCP) frames.

Drivers and simulators share this module, so a register map means the same thing on both
sides of the socket. Nothing here touches the network.

Errors: :class:`~hems_core.devices.errors.ProtocolError` for undecodable frames and
:class:`~hems_core.devices.errors.ConfigError` for impossible register descriptions.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigError, ModbusExceptionError, ProtocolError, ValueOutOfRangeError

Table = Literal["holding", "input"]
ValueType = Literal["u16", "s16", "u32", "s32", "f32"]

TYPE_WIDTH: dict[str, int] = {"u16": 1, "s16": 1, "u32": 2, "s32": 2, "f32": 2}
MAX_READ_COUNT = 125
MAX_WRITE_COUNT = 123

FC_READ_HOLDING = 3
FC_READ_INPUT = 4
FC_WRITE_SINGLE = 6
FC_WRITE_MULTIPLE = 16

EXC_ILLEGAL_FUNCTION = 1
EXC_ILLEGAL_ADDRESS = 2
EXC_ILLEGAL_VALUE = 3
EXC_DEVICE_FAILURE = 4
EXC_DEVICE_BUSY = 6


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """One value in a device's register map.

    ``scale`` converts raw to engineering units (``value = raw * scale``); a negative scale
    flips a device's sign convention into ours. ``writable`` puts the register on the write
    allow-list; ``minimum``/``maximum`` bound the engineering value before any write.
    """

    name: str
    address: int
    type: ValueType = "u16"
    table: Table = "holding"
    scale: float = 1.0
    writable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    word_order: Literal["big", "little"] = "big"
    unit: str = ""
    single_write: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPE_WIDTH:
            raise ConfigError(f"{self.name}: unknown type {self.type!r}")
        if self.table not in ("holding", "input"):
            raise ConfigError(f"{self.name}: unknown table {self.table!r}")
        if not 0 <= self.address <= 0xFFFF - self.width + 1:
            raise ConfigError(f"{self.name}: address {self.address} out of range")
        if not math.isfinite(self.scale) or self.scale == 0:
            raise ConfigError(f"{self.name}: scale must be finite and non-zero")
        if self.writable and self.table != "holding":
            raise ConfigError(f"{self.name}: only holding registers can be writable")
        if self.word_order not in ("big", "little"):
            raise ConfigError(f"{self.name}: word_order must be big or little")
        if self.single_write and self.width != 1:
            raise ConfigError(f"{self.name}: single_write needs a 16-bit register")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ConfigError(f"{self.name}: minimum above maximum")

    @property
    def width(self) -> int:
        """Number of 16-bit registers."""
        return TYPE_WIDTH[self.type]

    def decode(self, words: Sequence[int]) -> float:
        """Raw registers -> engineering value."""
        return decode_raw(self.type, words, self.word_order) * self.scale

    def encode(self, value: float) -> list[int]:
        """Engineering value -> raw registers, range-checked against the spec and the type."""
        if not math.isfinite(value):
            raise ValueOutOfRangeError(f"{self.name}: {value} is not finite")
        if self.minimum is not None and value < self.minimum:
            raise ValueOutOfRangeError(f"{self.name}: {value} below minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueOutOfRangeError(f"{self.name}: {value} above maximum {self.maximum}")
        raw = value / self.scale
        return encode_raw(self.type, raw, self.word_order, name=self.name)


def decode_raw(kind: ValueType, words: Sequence[int], word_order: str = "big") -> float:
    """Registers (16-bit words) -> the raw number of the given type."""
    width = TYPE_WIDTH.get(kind)
    if width is None:
        raise ProtocolError(f"unknown type {kind!r}")
    if len(words) != width or any(not 0 <= w <= 0xFFFF for w in words):
        raise ProtocolError(f"{kind} needs {width} words in 0..65535, got {list(words)!r}")
    ordered = list(words) if word_order == "big" else list(reversed(words))
    data = b"".join(w.to_bytes(2, "big") for w in ordered)
    fmt = {"u16": ">H", "s16": ">h", "u32": ">I", "s32": ">i", "f32": ">f"}[kind]
    value: float = struct.unpack(fmt, data)[0]
    return value


def encode_raw(
    kind: ValueType, raw: float, word_order: str = "big", *, name: str = ""
) -> list[int]:
    """A raw number -> registers; refuses values the type cannot hold."""
    if kind == "f32":
        if not math.isfinite(raw) or abs(raw) > 3.4e38:
            raise ValueOutOfRangeError(f"{name}: {raw} does not fit f32")
        data = struct.pack(">f", raw)
    else:
        ivalue = round(raw)
        lo, hi = {
            "u16": (0, 0xFFFF),
            "s16": (-0x8000, 0x7FFF),
            "u32": (0, 0xFFFFFFFF),
            "s32": (-0x80000000, 0x7FFFFFFF),
        }[kind]
        if not lo <= ivalue <= hi:
            raise ValueOutOfRangeError(f"{name}: {raw} does not fit {kind}")
        fmt = {"u16": ">H", "s16": ">h", "u32": ">I", "s32": ">i"}[kind]
        data = struct.pack(fmt, ivalue)
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words if word_order == "big" else list(reversed(words))


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One Modbus read request covering several registers."""

    table: Table
    address: int
    count: int


def plan_reads(
    specs: Iterable[RegisterSpec], *, max_gap: int = 0, max_count: int = MAX_READ_COUNT
) -> list[ReadBlock]:
    """Group registers into as few reads as possible.

    Registers in the same table are merged when they touch or overlap, or when the hole
    between them is at most ``max_gap`` registers (reading unmapped registers makes some
    devices answer with an exception, hence the default 0).
    """
    blocks: list[ReadBlock] = []
    for table in ("holding", "input"):
        spans = sorted((s.address, s.address + s.width) for s in specs if s.table == table)
        start = end = -1
        for lo, hi in spans:
            if start < 0:
                start, end = lo, hi
            elif lo <= end + max_gap and max(end, hi) - start <= max_count:
                end = max(end, hi)
            else:
                blocks.append(ReadBlock(table, start, end - start))
                start, end = lo, hi
        if start >= 0:
            blocks.append(ReadBlock(table, start, end - start))
    return blocks


def extract(spec: RegisterSpec, block: ReadBlock, words: Sequence[int]) -> float:
    """Decode ``spec`` from the words returned for ``block``."""
    offset = spec.address - block.address
    if spec.table != block.table or offset < 0 or offset + spec.width > len(words):
        raise ProtocolError(f"{spec.name} not inside the block read")
    return spec.decode(words[offset : offset + spec.width])


# --- MBAP frames (Modbus TCP) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded Modbus TCP request."""

    transaction: int
    unit: int
    function: int
    address: int
    count: int = 0
    values: tuple[int, ...] = ()


def frame_length(buffer: bytes) -> int | None:
    """Total frame size once the 7-byte MBAP header is in; ``None`` if more bytes are needed."""
    if len(buffer) < 7:
        return None
    protocol = int.from_bytes(buffer[2:4], "big")
    length = int.from_bytes(buffer[4:6], "big")
    if protocol != 0:
        raise ProtocolError(f"MBAP protocol id {protocol} is not Modbus")
    if not 2 <= length <= 254:
        raise ProtocolError(f"MBAP length {length} out of range")
    return 6 + length


def decode_request(frame: bytes) -> Request:
    """One complete MBAP frame -> :class:`Request` (server side)."""
    size = frame_length(frame)
    if size is None or len(frame) != size:
        raise ProtocolError("incomplete or oversized frame")
    transaction = int.from_bytes(frame[0:2], "big")
    unit = frame[6]
    pdu = frame[7:]
    function = pdu[0]
    if function in (FC_READ_HOLDING, FC_READ_INPUT):
        if len(pdu) != 5:
            raise ProtocolError("read request must have 5 PDU bytes")
        address, count = struct.unpack(">HH", pdu[1:5])
        return Request(transaction, unit, function, address, count)
    if function == FC_WRITE_SINGLE:
        if len(pdu) != 5:
            raise ProtocolError("write-single request must have 5 PDU bytes")
        address, value = struct.unpack(">HH", pdu[1:5])
        return Request(transaction, unit, function, address, 1, (value,))
    if function == FC_WRITE_MULTIPLE:
        if len(pdu) < 6:
            raise ProtocolError("write-multiple request too short")
        address, count, nbytes = struct.unpack(">HHB", pdu[1:6])
        if nbytes != 2 * count or len(pdu) != 6 + nbytes:
            raise ProtocolError("write-multiple byte count mismatch")
        values = struct.unpack(f">{count}H", pdu[6:])
        return Request(transaction, unit, function, address, count, tuple(values))
    return Request(transaction, unit, function, 0)


def _mbap(transaction: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def encode_read_request(
    transaction: int, unit: int, function: int, address: int, count: int
) -> bytes:
    """Client side: a read request frame."""
    return _mbap(transaction, unit, struct.pack(">BHH", function, address, count))


def encode_write_request(transaction: int, unit: int, address: int, values: Sequence[int]) -> bytes:
    """Client side: a write-multiple (FC16) request frame."""
    body = struct.pack(
        f">BHHB{len(values)}H", FC_WRITE_MULTIPLE, address, len(values), 2 * len(values), *values
    )
    return _mbap(transaction, unit, body)


def encode_read_response(request: Request, words: Sequence[int]) -> bytes:
    """Server side: the answer to a read."""
    body = struct.pack(f">BB{len(words)}H", request.function, 2 * len(words), *words)
    return _mbap(request.transaction, request.unit, body)


def encode_write_response(request: Request) -> bytes:
    """Server side: the echo that acknowledges a write."""
    if request.function == FC_WRITE_SINGLE:
        body = struct.pack(">BHH", FC_WRITE_SINGLE, request.address, request.values[0])
    else:
        body = struct.pack(">BHH", FC_WRITE_MULTIPLE, request.address, request.count)
    return _mbap(request.transaction, request.unit, body)


def encode_exception(request: Request, code: int) -> bytes:
    """Server side: an exception response."""
    return _mbap(request.transaction, request.unit, bytes([request.function | 0x80, code]))


def decode_read_response(frame: bytes, transaction: int, count: int) -> list[int]:
    """Client side: a read response -> words; raises for exception responses and bad framing."""
    size = frame_length(frame)
    if size is None or len(frame) != size:
        raise ProtocolError("incomplete or oversized frame")
    if int.from_bytes(frame[0:2], "big") != transaction:
        raise ProtocolError("transaction id mismatch")
    pdu = frame[7:]
    if pdu[0] & 0x80:
        if len(pdu) != 2:
            raise ProtocolError("malformed exception response")
        raise ModbusExceptionError(pdu[0] & 0x7F, pdu[1])
    if pdu[0] not in (FC_READ_HOLDING, FC_READ_INPUT) or len(pdu) < 2:
        raise ProtocolError(f"unexpected function {pdu[0]}")
    if pdu[1] != 2 * count or len(pdu) != 2 + pdu[1]:
        raise ProtocolError("read response byte count mismatch")
    return list(struct.unpack(f">{count}H", pdu[2:]))
