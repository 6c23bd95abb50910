"""Typed errors of the device layer.

Every failure a driver can meet is mapped to one of these, so the control loop can tell a
missing device (retry later, go safe) from a refused command (a bug or a misconfiguration)
without parsing messages. Nothing else may escape a driver call.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base class of every device-layer error."""


class DeviceConnectionError(DeviceError):
    """The endpoint refused, dropped or never opened the connection (or we are backing off)."""


class DeviceTimeoutError(DeviceError):
    """A request got no complete answer within its time budget."""


class ProtocolError(DeviceError):
    """The device answered, but with bytes we cannot decode (garbage, bad framing, bad CRC)."""


class ModbusExceptionError(ProtocolError):
    """The device answered a Modbus request with an exception response."""

    def __init__(self, function_code: int, exception_code: int, address: int | None = None) -> None:
        self.function_code = function_code
        self.exception_code = exception_code
        self.address = address
        where = f" at {address}" if address is not None else ""
        super().__init__(f"Modbus exception {exception_code} for function {function_code}{where}")


class StaleDataError(DeviceError):
    """Values stopped changing for longer than the device's freshness limit (frozen source)."""


class WriteRefusedError(DeviceError):
    """A write to a register the device map does not declare writable (the allow-list)."""


class ValueOutOfRangeError(DeviceError):
    """A value outside the device's declared limits; it was not written."""


class ConfigError(DeviceError):
    """A device description (register map, topic map) is invalid."""


class TelegramError(DeviceError, ValueError):
    """A P1 telegram that cannot be parsed or fails its CRC check."""


class PayloadError(DeviceError, ValueError):
    """An MQTT payload that cannot be decoded into the expected value."""
