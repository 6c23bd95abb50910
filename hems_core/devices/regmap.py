"""Declarative register maps (YAML or JSON) and a device that obeys them.

A map lists registers (address, type, table, scale, writable, limits) and *roles* that tell a
generic driver which register means what. The map is also the **write allow-list**: a write to
any register the map does not declare writable is refused and logged, and every value is
range-checked before it is encoded. Vendor simulators serve tables of their own
(:mod:`hems_core.sim.vendor_tables`), so a mistake in a built-in map fails its tests.

Schema (see ``docs`` in :func:`parse_device_map`)::

    name: My V2H box
    unit_id: 1
    max_gap: 0                # registers of hole allowed when batching reads
    limits: {max_charge_w: 11000, max_discharge_w: 11000, min_active_w: 0}
    registers:
      - {name: power, address: 100, type: s32, table: input}
      - {name: setpoint, address: 200, type: s32, writable: true, min: -11000, max: 11000}
    roles: {power: power, setpoint: setpoint, status: state, start_stop: run, watchdog: wd}
    constants: {start: 1, stop: 0}
    status_map: {0: disconnected, 1: charging, 2: discharging}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, WriteRefusedError
from .modbus_client import ModbusTcpClient
from .modbus_codec import RegisterSpec, extract, plan_reads
from .model import WallboxLimits, WallboxStatus

_LOGGER = logging.getLogger(__name__)

KNOWN_ROLES = frozenset(
    {
        "power",
        "setpoint",
        "status",
        "plugged",
        "soc",
        "energy_in",
        "energy_out",
        "start_stop",
        "watchdog",
        "remote_enable",
        "setpoint_mode",
        "autostart",
        "charge_limit",
        "discharge_limit",
        "max_charge",
        "max_discharge",
    }
)
_SPEC_KEYS = {
    "name",
    "address",
    "type",
    "table",
    "scale",
    "writable",
    "min",
    "max",
    "word_order",
    "unit",
    "single_write",
}


@dataclass(frozen=True)
class DeviceMap:
    """A parsed register map."""

    name: str
    registers: Mapping[str, RegisterSpec]
    roles: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, float] = field(default_factory=dict)
    status_map: Mapping[int, WallboxStatus] = field(default_factory=dict)
    limits: WallboxLimits = field(
        default_factory=lambda: WallboxLimits(max_charge_w=0.0, max_discharge_w=0.0)
    )
    unit_id: int = 1
    max_gap: int = 0

    def role(self, role: str) -> RegisterSpec | None:
        """The register playing ``role``, if the map has one."""
        name = self.roles.get(role)
        return self.registers[name] if name is not None else None

    def require(self, role: str) -> RegisterSpec:
        """The register playing ``role``; :class:`ConfigError` if missing."""
        spec = self.role(role)
        if spec is None:
            raise ConfigError(f"{self.name}: no register for role {role!r}")
        return spec

    def constant(self, key: str, default: float | None = None) -> float:
        """A named constant (start/stop values …)."""
        if key in self.constants:
            return self.constants[key]
        if default is None:
            raise ConfigError(f"{self.name}: constant {key!r} missing")
        return default


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    return float(value)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what} must be an integer, got {value!r}")
    return value


def parse_device_map(data: Any) -> DeviceMap:
    """Validate a map given as plain data (from YAML or JSON); raises :class:`ConfigError`."""
    if not isinstance(data, Mapping):
        raise ConfigError("a device map must be a mapping")
    name = data.get("name", "unnamed")
    if not isinstance(name, str):
        raise ConfigError("name must be a string")
    raw_regs = data.get("registers")
    if not isinstance(raw_regs, list) or not raw_regs:
        raise ConfigError(f"{name}: registers must be a non-empty list")
    registers: dict[str, RegisterSpec] = {}
    for item in raw_regs:
        if not isinstance(item, Mapping):
            raise ConfigError(f"{name}: each register must be a mapping")
        unknown = set(item) - _SPEC_KEYS
        if unknown:
            raise ConfigError(f"{name}: unknown register keys {sorted(unknown)}")
        rname = item.get("name")
        if not isinstance(rname, str) or not rname:
            raise ConfigError(f"{name}: register without a name")
        if rname in registers:
            raise ConfigError(f"{name}: duplicate register {rname!r}")
        for key in ("type", "table", "word_order", "unit"):
            if key in item and not isinstance(item[key], str):
                raise ConfigError(f"{rname}: {key} must be a string")
        for key in ("writable", "single_write"):
            if key in item and not isinstance(item[key], bool):
                raise ConfigError(f"{rname}: {key} must be true or false")
        try:
            registers[rname] = RegisterSpec(
                name=rname,
                address=_int(item.get("address"), f"{rname}.address"),
                type=item.get("type", "u16"),
                table=item.get("table", "holding"),
                scale=_num(item.get("scale", 1.0), f"{rname}.scale"),
                writable=item.get("writable", False),
                minimum=None if item.get("min") is None else _num(item["min"], f"{rname}.min"),
                maximum=None if item.get("max") is None else _num(item["max"], f"{rname}.max"),
                word_order=item.get("word_order", "big"),
                unit=item.get("unit", ""),
                single_write=item.get("single_write", False),
            )
        except ConfigError:
            raise
        except (TypeError, ValueError, OverflowError) as err:
            raise ConfigError(f"{rname}: {err}") from err
    roles_raw = data.get("roles", {})
    if not isinstance(roles_raw, Mapping):
        raise ConfigError(f"{name}: roles must be a mapping")
    roles: dict[str, str] = {}
    for role, reg in roles_raw.items():
        if role not in KNOWN_ROLES:
            raise ConfigError(f"{name}: unknown role {role!r}")
        if reg not in registers:
            raise ConfigError(f"{name}: role {role!r} names unknown register {reg!r}")
        roles[str(role)] = str(reg)
    for role in (
        "setpoint",
        "start_stop",
        "watchdog",
        "remote_enable",
        "setpoint_mode",
        "autostart",
        "charge_limit",
        "discharge_limit",
    ):
        if role in roles and not registers[roles[role]].writable:
            raise ConfigError(f"{name}: role {role!r} needs a writable register")
    consts_raw = data.get("constants", {})
    if not isinstance(consts_raw, Mapping):
        raise ConfigError(f"{name}: constants must be a mapping")
    constants = {str(k): _num(v, f"constant {k}") for k, v in consts_raw.items()}
    status_raw = data.get("status_map", {})
    if not isinstance(status_raw, Mapping):
        raise ConfigError(f"{name}: status_map must be a mapping")
    status_map: dict[int, WallboxStatus] = {}
    for key, value in status_raw.items():
        try:
            status_map[int(key)] = WallboxStatus(value)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{name}: bad status_map entry {key!r}: {value!r}") from err
    limits_raw = data.get("limits", {})
    if not isinstance(limits_raw, Mapping):
        raise ConfigError(f"{name}: limits must be a mapping")
    limits = WallboxLimits(
        max_charge_w=_num(limits_raw.get("max_charge_w", 0.0), "max_charge_w"),
        max_discharge_w=_num(limits_raw.get("max_discharge_w", 0.0), "max_discharge_w"),
        min_active_w=_num(limits_raw.get("min_active_w", 0.0), "min_active_w"),
    )
    if min(limits.max_charge_w, limits.max_discharge_w, limits.min_active_w) < 0:
        raise ConfigError(f"{name}: limits must be >= 0")
    unit_id = _int(data.get("unit_id", 1), "unit_id")
    if not 0 <= unit_id <= 247:
        raise ConfigError(f"{name}: unit_id out of range")
    max_gap = _int(data.get("max_gap", 0), "max_gap")
    if not 0 <= max_gap <= 64:
        raise ConfigError(f"{name}: max_gap out of range")
    return DeviceMap(
        name=name,
        registers=registers,
        roles=roles,
        constants=constants,
        status_map=status_map,
        limits=limits,
        unit_id=unit_id,
        max_gap=max_gap,
    )


def load_device_map(path: str | Path) -> DeviceMap:
    """Load a map from a ``.json``, ``.yaml`` or ``.yml`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err}") from err
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:  # any YAML/JSON error becomes one documented type
        raise ConfigError(f"{path}: {err}") from err
    return parse_device_map(data)


class RegisterDevice:
    """Reads and writes a device through its map: batched reads, allow-listed writes."""

    def __init__(self, device_map: DeviceMap, client: ModbusTcpClient) -> None:
        self.map = device_map
        self.client = client

    async def read(self, names: Iterable[str]) -> dict[str, float]:
        """Read the named registers with as few requests as the map allows."""
        try:
            specs = [self.map.registers[n] for n in names]
        except KeyError as err:
            raise ConfigError(f"{self.map.name}: no register {err.args[0]!r}") from None
        values: dict[str, float] = {}
        for block in plan_reads(specs, max_gap=self.map.max_gap):
            words = await self.client.read(
                block.table, block.address, block.count, self.map.unit_id
            )
            for spec in specs:
                if (
                    spec.table == block.table
                    and block.address <= spec.address < block.address + block.count
                ):
                    values[spec.name] = extract(spec, block, words)
        return values

    async def write(self, name: str, value: float) -> None:
        """Write one register by name, if the map allows it and the value is in range."""
        spec = self.map.registers.get(name)
        if spec is None or not spec.writable:
            _LOGGER.warning(
                "%s: refused write of %r to %r (not writable)", self.map.name, value, name
            )
            raise WriteRefusedError(f"{self.map.name}: {name!r} is not a writable register")
        words = spec.encode(value)
        _LOGGER.debug("%s: write %s=%s -> %s", self.map.name, name, value, words)
        await self.client.write(spec.address, words, self.map.unit_id, single=spec.single_write)

    async def write_address(self, address: int, words: list[int]) -> None:
        """Raw write by address, still checked against the allow-list."""
        for spec in self.map.registers.values():
            if spec.writable and spec.address == address and spec.width == len(words):
                await self.client.write(address, words, self.map.unit_id, single=spec.single_write)
                return
        _LOGGER.warning("%s: refused raw write to address %d", self.map.name, address)
        raise WriteRefusedError(f"{self.map.name}: address {address} is not writable")
