"""The SunSpec simulators' own model layouts, typed in from the SunSpec model definitions.

Source: ``sunspec/models`` ``json/model_<id>.json`` (offsets counted after the two-register
ID/L header; a model's length L includes its repeating sub-groups, e.g. model 704's four
power-factor groups of two registers after its 57 point registers). Deliberately independent
of :mod:`hems_core.devices.sunspec`: the simulator must not agree with a driver offset just
because both read the same table.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"

#: model id -> L (registers after the header)
LENGTHS: dict[int, int] = {1: 66, 103: 50, 113: 60, 120: 26, 121: 30, 123: 24, 704: 65}

#: model id -> point -> (offset, SunSpec type, registers)
POINTS: dict[int, dict[str, tuple[int, str, int]]] = {
    1: {
        "Mn": (0, "string", 16),
        "Md": (16, "string", 16),
        "Opt": (32, "string", 8),
        "Vr": (40, "string", 8),
        "SN": (48, "string", 16),
        "DA": (64, "uint16", 1),
    },
    103: {
        "A": (0, "uint16", 1),
        "A_SF": (4, "sunssf", 1),
        "PhVphA": (8, "uint16", 1),
        "PhVphB": (9, "uint16", 1),
        "PhVphC": (10, "uint16", 1),
        "V_SF": (11, "sunssf", 1),
        "W": (12, "int16", 1),
        "W_SF": (13, "sunssf", 1),
        "Hz": (14, "uint16", 1),
        "Hz_SF": (15, "sunssf", 1),
        "WH": (22, "acc32", 2),
        "WH_SF": (24, "sunssf", 1),
        "DCW": (29, "int16", 1),
        "DCW_SF": (30, "sunssf", 1),
        "St": (36, "enum16", 1),
    },
    113: {
        "A": (0, "float32", 2),
        "PhVphA": (14, "float32", 2),
        "PhVphB": (16, "float32", 2),
        "PhVphC": (18, "float32", 2),
        "W": (20, "float32", 2),
        "Hz": (22, "float32", 2),
        "WH": (30, "float32", 2),
        "DCW": (36, "float32", 2),
        "St": (46, "enum16", 1),
    },
    120: {"DERTyp": (0, "enum16", 1), "WRtg": (1, "uint16", 1), "WRtg_SF": (2, "sunssf", 1)},
    121: {"WMax": (0, "uint16", 1), "WMax_SF": (20, "sunssf", 1)},
    123: {
        "Conn": (2, "enum16", 1),
        "WMaxLimPct": (3, "uint16", 1),
        "WMaxLimPct_WinTms": (4, "uint16", 1),
        "WMaxLimPct_RvrtTms": (5, "uint16", 1),
        "WMaxLimPct_RmpTms": (6, "uint16", 1),
        "WMaxLim_Ena": (7, "enum16", 1),
        "WMaxLimPct_SF": (21, "sunssf", 1),
    },
    704: {
        "WMaxLimPctEna": (12, "enum16", 1),
        "WMaxLimPct": (13, "uint16", 1),
        "WMaxLimPctRvrtTms": (16, "uint32", 2),
        "WMaxLimPct_SF": (52, "sunssf", 1),
    },
}

#: the control points a real inverter accepts writes to (access RW in the model)
WRITABLE: dict[int, tuple[str, ...]] = {
    123: (
        "WMaxLimPct",
        "WMaxLimPct_WinTms",
        "WMaxLimPct_RvrtTms",
        "WMaxLimPct_RmpTms",
        "WMaxLim_Ena",
    ),
    704: ("WMaxLimPctEna", "WMaxLimPct", "WMaxLimPctRvrtTms"),
}


def offset(model_id: int, point: str) -> int:
    """Offset of ``point`` after the model header."""
    return POINTS[model_id][point][0]


def encode_point(kind: str, size: int, value: Any) -> list[int]:
    """One point's registers, big-endian as SunSpec requires."""
    if kind == "string":
        data = str(value).encode("ascii")[: 2 * size].ljust(2 * size, b"\x00")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, 2 * size, 2)]
    if kind == "float32":
        hi, lo = struct.unpack(">HH", struct.pack(">f", float(value)))
        return [hi, lo]
    if size == 2:
        raw = int(value) & 0xFFFFFFFF
        return [raw >> 16, raw & 0xFFFF]
    return [int(value) & 0xFFFF]


def encode_model(model_id: int, values: Mapping[str, Any]) -> list[int]:
    """A model body with ``values`` (raw, before scale factors) and zeros elsewhere."""
    words = [0] * LENGTHS[model_id]
    for name, value in values.items():
        off, kind, size = POINTS[model_id][name]
        words[off : off + size] = encode_point(kind, size, value)
    return words
