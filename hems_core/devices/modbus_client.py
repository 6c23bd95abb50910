"""Modbus TCP transport over pymodbus: one connection per endpoint, bounded and self-healing.

- **Keyword shim.** pymodbus renamed ``slave=`` to ``device_id=`` in 3.10; we look at the
  signature of the installed client once and pass whichever keyword it accepts.
- **One connection per endpoint.** :class:`ModbusClientPool` hands out a shared
  :class:`ModbusTcpClient` per ``(host, port)``; several units behind one gateway share it.
- **Serialised.** One ``asyncio.Lock`` per connection: requests never interleave, so a write
  cannot overtake another write and the bus is never flooded.
- **Bounded.** Every connect and request is wrapped in ``asyncio.wait_for``.
- **Back-off without sleeping.** After a failure the next connect is allowed only once the
  injectable clock passes ``next_attempt``; calls before that fail fast with
  :class:`DeviceConnectionError`. pymodbus' own reconnect loop is switched off so exactly one
  component owns reconnection.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Literal

from .clock import Clock, monotonic_clock
from .errors import (
    DeviceConnectionError,
    DeviceError,
    DeviceTimeoutError,
    ModbusExceptionError,
    ProtocolError,
)

_LOGGER = logging.getLogger(__name__)

_UNIT_KEYWORD: str | None = None


def unit_keyword_for(method: Any) -> str:
    """The unit keyword a pymodbus request method accepts: ``device_id`` (>= 3.10) or ``slave``."""
    params = inspect.signature(method).parameters
    if "device_id" in params:
        return "device_id"
    if "slave" in params:
        return "slave"
    raise DeviceError("pymodbus request method takes neither device_id= nor slave=")


def unit_keyword() -> str:
    """The keyword of the installed pymodbus (feature detection, cached)."""
    global _UNIT_KEYWORD
    if _UNIT_KEYWORD is None:
        from pymodbus.client import AsyncModbusTcpClient

        _UNIT_KEYWORD = unit_keyword_for(AsyncModbusTcpClient.read_holding_registers)
    return _UNIT_KEYWORD


class ModbusTcpClient:
    """A bounded, serialised, reconnecting Modbus TCP client for one endpoint."""

    def __init__(
        self,
        host: str,
        port: int = 502,
        *,
        timeout: float = 3.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        clock: Clock = monotonic_clock,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock
        self._lock = asyncio.Lock()
        self._client: Any = None
        self._backoff = 0.0
        self._next_attempt = float("-inf")
        #: increments on every successful connect, so drivers can redo per-session setup
        self.generation = 0
        self.failures = 0

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._client is not None and bool(self._client.connected)

    async def _connect(self) -> Any:
        if self.connected:
            return self._client
        now = self._clock()
        if now < self._next_attempt:
            raise DeviceConnectionError(
                f"{self.host}:{self.port} unreachable; next attempt in "
                f"{self._next_attempt - now:.1f} s"
            )
        from pymodbus.client import AsyncModbusTcpClient

        client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            timeout=self.timeout,
            retries=0,
            reconnect_delay=0,
        )
        try:
            ok = await asyncio.wait_for(client.connect(), self.timeout)
        except (TimeoutError, OSError) as err:
            client.close()
            self._fail()
            raise DeviceConnectionError(
                f"connect to {self.host}:{self.port} failed: {err}"
            ) from err
        if not ok or not client.connected:
            client.close()
            self._fail()
            raise DeviceConnectionError(f"connect to {self.host}:{self.port} refused")
        self._client = client
        self._backoff = 0.0
        self.generation += 1
        _LOGGER.debug("connected to %s:%s", self.host, self.port)
        return client

    def _fail(self) -> None:
        self.failures += 1
        self._backoff = (
            self.backoff_initial if self._backoff <= 0 else min(self._backoff * 2, self.backoff_max)
        )
        self._next_attempt = self._clock() + self._backoff

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing a broken transport must never raise
                _LOGGER.debug("close failed", exc_info=True)
        self._client = None

    async def _call(self, method: str, address: int, unit: int, **kwargs: Any) -> Any:
        from pymodbus.exceptions import ModbusException

        async with self._lock:
            client = await self._connect()
            call = getattr(client, method)
            kwargs[unit_keyword()] = unit
            try:
                response = await asyncio.wait_for(call(address, **kwargs), self.timeout)
            except TimeoutError as err:
                self._drop()
                self._fail()
                raise DeviceTimeoutError(f"{method}({address}) timed out") from err
            except (ModbusException, OSError, ConnectionError) as err:
                self._drop()
                self._fail()
                text = str(err).lower()
                if "timeout" in text or "no response" in text:
                    raise DeviceTimeoutError(f"{method}({address}): {err}") from err
                raise DeviceConnectionError(f"{method}({address}): {err}") from err
            except Exception as err:  # pymodbus decoding bugs on garbage must not escape raw
                self._drop()
                self._fail()
                raise ProtocolError(f"{method}({address}): {err!r}") from err
            if response is None:
                self._drop()
                self._fail()
                raise DeviceTimeoutError(f"{method}({address}): no response")
            if response.isError():
                code = getattr(response, "exception_code", None)
                if code is None:
                    self._drop()
                    self._fail()
                    raise ProtocolError(f"{method}({address}): {response}")
                fc = int(getattr(response, "function_code", 0)) & 0x7F
                raise ModbusExceptionError(fc, int(code), address)
            return response

    async def read(
        self, table: Literal["holding", "input"], address: int, count: int, unit: int = 1
    ) -> list[int]:
        """Read ``count`` registers; returns raw 16-bit words."""
        method = "read_holding_registers" if table == "holding" else "read_input_registers"
        response = await self._call(method, address, unit, count=count)
        words = list(getattr(response, "registers", []) or [])
        if len(words) != count:
            raise ProtocolError(f"asked {count} registers at {address}, got {len(words)}")
        return words

    async def write(
        self, address: int, values: list[int], unit: int = 1, *, single: bool = False
    ) -> None:
        """Write registers (FC06 when ``single``, else FC16)."""
        if single:
            if len(values) != 1:
                raise DeviceError("single write takes exactly one register")
            await self._call("write_register", address, unit, value=values[0])
        else:
            await self._call("write_registers", address, unit, values=values)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        async with self._lock:
            self._drop()


class ModbusClientPool:
    """Hands out one shared client per endpoint, reference-counted."""

    def __init__(self, **client_kwargs: Any) -> None:
        self._kwargs = client_kwargs
        self._clients: dict[tuple[str, int], ModbusTcpClient] = {}
        self._refs: dict[tuple[str, int], int] = {}

    def acquire(self, host: str, port: int) -> ModbusTcpClient:
        """The client for ``host:port`` (created on first use)."""
        key = (host, port)
        if key not in self._clients:
            self._clients[key] = ModbusTcpClient(host, port, **self._kwargs)
            self._refs[key] = 0
        self._refs[key] += 1
        return self._clients[key]

    async def release(self, client: ModbusTcpClient) -> None:
        """Drop one reference; the last one closes the connection."""
        key = (client.host, client.port)
        if key not in self._refs:
            return
        self._refs[key] -= 1
        if self._refs[key] <= 0:
            del self._refs[key]
            await self._clients.pop(key).close()
