"""SunSpec PV inverters over Modbus TCP: a sans-IO model codec plus a driver.

Discovery: the ``SunS`` marker (0x5375 0x6E53) at 40000, 0 or 50000, then a chain of models
``[ID, L, L registers…]`` ending with ID 0xFFFF. We decode the common model 1, the inverter
models 101–103 (integer + scale factors) and 111–113 (float), the nameplate/settings models
120/121 for the rated power, and the active-power limit in model 123 (``WMaxLimPct``) or the
DER model 704 (``WMaxLimPct`` + ``WMaxLimPctEna``). Point offsets follow the published
SunSpec model definitions (``sunspec/models``, ``json/model_*.json``).

Scale factors: ``value = raw · 10^sf``; "not implemented" sentinels (0x8000 for int16/sunssf,
0xFFFF for uint16, 0 for acc32, NaN for float32) decode to ``None``. Sign convention: ``W`` is
AC power, positive while producing.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .clock import Clock, monotonic_clock
from .errors import DeviceError, ModbusExceptionError, ProtocolError, ValueOutOfRangeError
from .modbus_client import ModbusTcpClient
from .modbus_codec import RegisterSpec, ValueType
from .model import InverterState
from .regmap import DeviceMap, RegisterDevice
from .wallboxes import FreezeDetector

_LOGGER = logging.getLogger(__name__)

SUNS = (0x5375, 0x6E53)
BASE_ADDRESSES = (40000, 0, 50000)
END_MODEL = 0xFFFF
INVERTER_INT_MODELS = (101, 102, 103)
INVERTER_FLOAT_MODELS = (111, 112, 113)


@dataclass(frozen=True, slots=True)
class Point:
    """One SunSpec point: offset after the 2-word model header."""

    name: str
    offset: int
    type: str
    sf: str | None = None
    writable: bool = False

    @property
    def width(self) -> int:
        """Registers taken."""
        if self.type.startswith("string"):
            return int(self.type[6:])
        return 2 if self.type in ("acc32", "uint32", "int32", "float32", "bitfield32") else 1


def _points(spec: str, writable: Sequence[str] = ()) -> dict[str, Point]:
    out: dict[str, Point] = {}
    for item in spec.split():
        name, rest = item.split("@")
        offset, _, typ = rest.partition(":")
        typ, _, sf = typ.partition("/")
        out[name] = Point(name, int(offset), typ, sf or None, name in writable)
    return out


_INT_INVERTER = _points(
    "A@0:uint16/A_SF A_SF@4:sunssf PhVphA@8:uint16/V_SF PhVphB@9:uint16/V_SF "
    "PhVphC@10:uint16/V_SF V_SF@11:sunssf W@12:int16/W_SF W_SF@13:sunssf "
    "Hz@14:uint16/Hz_SF Hz_SF@15:sunssf WH@22:acc32/WH_SF WH_SF@24:sunssf "
    "DCW@29:int16/DCW_SF DCW_SF@30:sunssf St@36:enum16"
)
_FLOAT_INVERTER = _points(
    "A@0:float32 PhVphA@14:float32 PhVphB@16:float32 PhVphC@18:float32 W@20:float32 "
    "Hz@22:float32 WH@30:float32 DCW@36:float32 St@46:enum16"
)

#: Point tables by model id (only the points this project uses).
MODELS: dict[int, dict[str, Point]] = {
    1: _points(
        "Mn@0:string16 Md@16:string16 Opt@32:string8 Vr@40:string8 SN@48:string16 DA@64:uint16"
    ),
    **dict.fromkeys(INVERTER_INT_MODELS, _INT_INVERTER),
    **dict.fromkeys(INVERTER_FLOAT_MODELS, _FLOAT_INVERTER),
    120: _points(
        "DERTyp@0:enum16 WRtg@1:uint16/WRtg_SF WRtg_SF@2:sunssf "
        "MaxChaRte@21:uint16/MaxChaRte_SF MaxChaRte_SF@22:sunssf "
        "MaxDisChaRte@23:uint16/MaxDisChaRte_SF MaxDisChaRte_SF@24:sunssf"
    ),
    121: _points("WMax@0:uint16/WMax_SF WMax_SF@20:sunssf"),
    123: _points(
        "Conn@2:enum16 WMaxLimPct@3:uint16/WMaxLimPct_SF WMaxLimPct_WinTms@4:uint16 "
        "WMaxLimPct_RvrtTms@5:uint16 WMaxLimPct_RmpTms@6:uint16 WMaxLim_Ena@7:enum16 "
        "WMaxLimPct_SF@21:sunssf",
        writable=("WMaxLimPct", "WMaxLimPct_RvrtTms", "WMaxLim_Ena"),
    ),
    #: SunSpec model 124 "Storage" (basic storage controls), offsets after the header
    124: _points(
        "WChaMax@0:uint16/WChaMax_SF StorCtl_Mod@3:bitfield16 ChaState@6:uint16/ChaState_SF "
        "ChaSt@9:enum16 OutWRte@10:int16/InOutWRte_SF InWRte@11:int16/InOutWRte_SF "
        "InOutWRte_RvrtTms@13:uint16 WChaMax_SF@16:sunssf ChaState_SF@20:sunssf "
        "InOutWRte_SF@23:sunssf",
        writable=("StorCtl_Mod", "OutWRte", "InWRte", "InOutWRte_RvrtTms"),
    ),
    704: _points(
        "WMaxLimPctEna@12:enum16 WMaxLimPct@13:uint16/WMaxLimPct_SF "
        "WMaxLimPctRvrtTms@16:uint32 WMaxLimPct_SF@52:sunssf",
        writable=("WMaxLimPctEna", "WMaxLimPct", "WMaxLimPctRvrtTms"),
    ),
}

#: Declared lengths (L) of the models we know; a block with another L is rejected.
MODEL_LENGTHS: dict[int, int] = {
    1: 66,
    101: 50,
    102: 50,
    103: 50,
    111: 60,
    112: 60,
    113: 60,
    120: 26,
    121: 30,
    123: 24,
    124: 24,
    704: 65,
}


def decode_point(point: Point, words: Sequence[int]) -> float | str | None:
    """Raw words of one point -> number, string or ``None`` (not implemented)."""
    if len(words) != point.width or any(not 0 <= w <= 0xFFFF for w in words):
        raise ProtocolError(f"{point.name}: bad words {list(words)!r}")
    typ = point.type
    if typ.startswith("string"):
        data = b"".join(w.to_bytes(2, "big") for w in words)
        return data.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()
    if typ in ("int16", "sunssf"):
        value = words[0] - 0x10000 if words[0] & 0x8000 else words[0]
        return None if words[0] == 0x8000 else float(value)
    if typ in ("uint16", "enum16", "bitfield16"):
        return None if words[0] == 0xFFFF else float(words[0])
    if typ in ("acc32", "uint32"):
        raw = (words[0] << 16) | words[1]
        if typ == "acc32":
            return None if raw == 0 else float(raw)
        return None if raw == 0xFFFFFFFF else float(raw)
    if typ == "int32":
        raw = (words[0] << 16) | words[1]
        return None if raw == 0x80000000 else float(raw - (1 << 32) if raw & 0x80000000 else raw)
    if typ == "float32":
        value = struct.unpack(">f", struct.pack(">HH", words[0], words[1]))[0]
        return None if math.isnan(value) else float(value)
    raise ProtocolError(f"{point.name}: unsupported type {typ}")


def decode_model(model_id: int, words: Sequence[int]) -> dict[str, float | str | None]:
    """Decode a model's body (the L registers after ID and L), applying scale factors."""
    points = MODELS.get(model_id)
    if points is None:
        raise ProtocolError(f"model {model_id} not supported")
    expected = MODEL_LENGTHS[model_id]
    if len(words) != expected:
        raise ProtocolError(f"model {model_id}: {len(words)} registers, expected {expected}")
    raw = {p.name: decode_point(p, words[p.offset : p.offset + p.width]) for p in points.values()}
    out: dict[str, float | str | None] = {}
    for p in points.values():
        value = raw[p.name]
        if p.sf is not None and isinstance(value, float):
            sf = raw.get(p.sf)
            value = None if not isinstance(sf, float) or not -10 <= sf <= 10 else value * 10.0**sf
        out[p.name] = value
    return out


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Where a model lives: absolute address of its body and its length."""

    model_id: int
    address: int
    length: int


def parse_header(words: Sequence[int]) -> tuple[int, int]:
    """``[ID, L]`` -> (id, length), validated."""
    if len(words) != 2:
        raise ProtocolError("a model header is two registers")
    model_id, length = words
    if model_id != END_MODEL and model_id in MODEL_LENGTHS and MODEL_LENGTHS[model_id] != length:
        raise ProtocolError(
            f"model {model_id} declares L={length}, expected {MODEL_LENGTHS[model_id]}"
        )
    return model_id, length


class SunSpecInverter:
    """A SunSpec inverter: discovery, readings and the active-power limit."""

    MAX_MODELS = 64

    def __init__(
        self,
        client: ModbusTcpClient,
        *,
        unit_id: int = 1,
        rated_power_w: float | None = None,
        revert_s: int = 0,
        stale_after: float = 60.0,
        clock: Clock = monotonic_clock,
    ) -> None:
        self.client = client
        self.unit_id = unit_id
        self.models: dict[int, ModelRef] = {}
        self.rated_power_w = rated_power_w
        self.revert_s = revert_s
        self.common: dict[str, float | str | None] = {}
        self._device: RegisterDevice | None = None
        self._freeze = FreezeDetector(stale_after, clock)
        #: True while a limit we wrote is enabled (so close() knows to lift it)
        self.limit_set = False

    async def discover(self) -> dict[int, ModelRef]:
        """Find ``SunS`` and walk the model chain; builds the write allow-list."""
        base = None
        for candidate in BASE_ADDRESSES:
            try:
                marker = await self.client.read("holding", candidate, 2, self.unit_id)
            except ModbusExceptionError:
                continue
            if tuple(marker) == SUNS:
                base = candidate
                break
        if base is None:
            raise ProtocolError("no SunS marker at 40000, 0 or 50000")
        models: dict[int, ModelRef] = {}
        address = base + 2
        for _ in range(self.MAX_MODELS):
            model_id, length = parse_header(
                await self.client.read("holding", address, 2, self.unit_id)
            )
            if model_id == END_MODEL:
                break
            models.setdefault(model_id, ModelRef(model_id, address + 2, length))
            address += 2 + length
            if address > 0xFFFF:
                raise ProtocolError("model chain runs past the register space")
        else:
            raise ProtocolError("model chain has no end marker")
        if not any(m in models for m in INVERTER_INT_MODELS + INVERTER_FLOAT_MODELS):
            raise ProtocolError("no inverter model (101-103, 111-113)")
        self.models = models
        if 1 in models:
            self.common = await self._read_model(1)
        if self.rated_power_w is None:
            for mid, key in ((121, "WMax"), (120, "WRtg")):
                if mid in models:
                    value = (await self._read_model(mid)).get(key)
                    if isinstance(value, float) and value > 0:
                        self.rated_power_w = value
                        break
        self._device = RegisterDevice(self._allow_list(), self.client)
        return models

    def _allow_list(self) -> DeviceMap:
        """A register map holding exactly the points we may write."""
        regs: dict[str, RegisterSpec] = {}
        for mid in (123, 124, 704):
            ref = self.models.get(mid)
            if ref is None:
                continue
            for p in MODELS[mid].values():
                if p.writable:
                    kind: ValueType = "u32" if p.width == 2 else "u16"
                    low, high = 0.0, float(0xFFFF if kind == "u16" else 0xFFFFFFFF)
                    if p.type == "int16":
                        kind, low, high = "s16", -32767.0, 32767.0
                    regs[f"{mid}.{p.name}"] = RegisterSpec(
                        f"{mid}.{p.name}",
                        ref.address + p.offset,
                        kind,
                        writable=True,
                        minimum=low,
                        maximum=high,
                    )
        if not regs:
            regs["none"] = RegisterSpec("none", 0)
        return DeviceMap(name="SunSpec inverter", registers=regs, unit_id=self.unit_id)

    async def _read_model(self, model_id: int) -> dict[str, float | str | None]:
        ref = self.models[model_id]
        if model_id not in MODEL_LENGTHS or ref.length != MODEL_LENGTHS[model_id]:
            raise ProtocolError(f"model {model_id} has unexpected length {ref.length}")
        words = await self.client.read("holding", ref.address, ref.length, self.unit_id)
        return decode_model(model_id, words)

    def _inverter_model(self) -> int:
        for mid in INVERTER_INT_MODELS + INVERTER_FLOAT_MODELS:
            if mid in self.models:
                return mid
        raise DeviceError("inverter not discovered")

    async def read_state(self) -> InverterState:
        """AC power, lifetime energy, the limit in force."""
        if not self.models:
            await self.discover()
        inv = await self._read_model(self._inverter_model())
        power = inv.get("W")
        if not isinstance(power, float):
            raise ProtocolError("inverter does not report W")
        self._freeze.check(
            tuple(sorted((k, v) for k, v in inv.items() if v is not None)), power > 1
        )
        energy = inv.get("WH")
        status = inv.get("St")
        return InverterState(
            ac_power_w=power,
            energy_kwh=energy / 1000 if isinstance(energy, float) else None,
            limit_pct=await self._limit_pct(),
            rated_power_w=self.rated_power_w,
            status=int(status) if isinstance(status, float) else None,
        )

    async def _limit_pct(self) -> float | None:
        if 123 in self.models:
            m = await self._read_model(123)
            enabled, pct = m.get("WMaxLim_Ena"), m.get("WMaxLimPct")
        elif 704 in self.models:
            m = await self._read_model(704)
            enabled, pct = m.get("WMaxLimPctEna"), m.get("WMaxLimPct")
        else:
            return None
        if enabled != 1.0 or not isinstance(pct, float):
            return None
        return pct

    async def set_power_limit(self, watts: float | None) -> None:
        """Limit AC output (via 123, else 704); ``None`` lifts the limit."""
        if not self.models:
            await self.discover()
        assert self._device is not None
        mid = 123 if 123 in self.models else 704 if 704 in self.models else None
        if mid is None:
            raise DeviceError("inverter has neither model 123 nor 704: no power limit")
        ena = "WMaxLim_Ena" if mid == 123 else "WMaxLimPctEna"
        rvrt = "WMaxLimPct_RvrtTms" if mid == 123 else "WMaxLimPctRvrtTms"
        if watts is None:
            await self._device.write(f"{mid}.{ena}", 0)
            self.limit_set = False
            return
        if not self.rated_power_w:
            raise DeviceError("rated power unknown; pass rated_power_w")
        if not math.isfinite(watts) or not 0 <= watts <= self.rated_power_w:
            raise ValueOutOfRangeError(f"limit {watts} W outside 0..{self.rated_power_w}")
        pct = 100.0 * watts / self.rated_power_w
        sf = (await self._read_model(mid)).get("WMaxLimPct_SF")
        scale = 10.0 ** (sf if isinstance(sf, float) else 0.0)
        await self._device.write(f"{mid}.WMaxLimPct", round(pct / scale))
        if self.revert_s:
            await self._device.write(f"{mid}.{rvrt}", self.revert_s)
        await self._device.write(f"{mid}.{ena}", 1)
        self.limit_set = True

    async def program_watchdog(self, timeout_s: float) -> bool:
        """Use the limit's revert timer as the device-side watchdog (written with each limit).

        False when the inverter has no controllable limit model (123 or 704).
        """
        if not self.models:
            await self.discover()
        if not self.models.keys() & {123, 704}:
            return False
        self.revert_s = round(timeout_s)
        return True

    async def release(self) -> None:
        """Lift our limit (WMaxLim_Ena / WMaxLimPctEna ← 0): the inverter runs free again."""
        await self.set_power_limit(None)

    async def close(self) -> None:
        """Lift a limit we set on this connection (best effort), then disconnect."""
        if self.limit_set and self.client.connected:
            try:
                await self.release()
            except DeviceError as err:
                _LOGGER.warning("SunSpec inverter: lifting the limit on close failed: %s", err)
        await self.client.close()


def model_words(model_id: int, values: Mapping[str, Any]) -> list[int]:
    """Encode a model body from raw point values (used by the simulator and tests)."""
    length = MODEL_LENGTHS[model_id]
    words = [0] * length
    points = MODELS[model_id]
    for name, value in values.items():
        p = points[name]
        if p.type.startswith("string"):
            data = str(value).encode("ascii")[: 2 * p.width].ljust(2 * p.width, b"\x00")
            chunk = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        elif p.type == "float32":
            packed = struct.pack(">f", float(value))
            chunk = [int.from_bytes(packed[0:2], "big"), int.from_bytes(packed[2:4], "big")]
        elif p.width == 2:
            raw = int(value) & 0xFFFFFFFF
            chunk = [raw >> 16, raw & 0xFFFF]
        else:
            chunk = [int(value) & 0xFFFF]
        words[p.offset : p.offset + p.width] = chunk
    return words
