"""A small asyncio Modbus TCP server with fault injection, for simulators.

It speaks MBAP through the shared sans-IO codec (:mod:`hems_core.devices.modbus_codec`), so the
bytes on the wire are those a real device sends, and every fault of :class:`Faults` can be
injected at the exact point it happens on real hardware (listener, connection, answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Protocol

from hems_core.devices.errors import ModbusExceptionError, ProtocolError
from hems_core.devices.modbus_codec import (
    EXC_ILLEGAL_FUNCTION,
    FC_READ_HOLDING,
    FC_READ_INPUT,
    FC_WRITE_MULTIPLE,
    FC_WRITE_SINGLE,
    MAX_READ_COUNT,
    Request,
    decode_request,
    encode_exception,
    encode_read_response,
    encode_write_response,
    frame_length,
)

from .faults import Faults

_LOGGER = logging.getLogger(__name__)


class RegisterBackend(Protocol):
    """What a simulated device exposes to the server."""

    def on_request(self) -> None:
        """Called for every well-formed request (advances time, feeds the device watchdog)."""

    def read(self, table: str, address: int, count: int) -> list[int]:
        """Registers or :class:`ModbusExceptionError`."""
        ...

    def write(self, address: int, words: list[int], function: int = FC_WRITE_MULTIPLE) -> None:
        """Store registers or raise :class:`ModbusExceptionError`.

        ``function`` is the request's function code (6 or 16): some devices accept only one.
        """


def handle_frame(backend: RegisterBackend, request: Request) -> bytes:
    """Sans-IO core: one request -> the response bytes."""
    backend.on_request()
    try:
        if request.function in (FC_READ_HOLDING, FC_READ_INPUT):
            if not 1 <= request.count <= MAX_READ_COUNT:
                return encode_exception(request, 3)
            table = "holding" if request.function == FC_READ_HOLDING else "input"
            return encode_read_response(
                request, backend.read(table, request.address, request.count)
            )
        if request.function in (FC_WRITE_SINGLE, FC_WRITE_MULTIPLE):
            backend.write(request.address, list(request.values), request.function)
            return encode_write_response(request)
    except ModbusExceptionError as err:
        return encode_exception(request, err.exception_code)
    return encode_exception(request, EXC_ILLEGAL_FUNCTION)


class ModbusServer:
    """Serves one backend on 127.0.0.1 (port chosen by the OS unless given)."""

    def __init__(
        self,
        backend: RegisterBackend,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        seed: int = 0,
    ) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        self.faults = faults if faults is not None else Faults()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._rng = random.Random(seed)
        self.requests = 0
        self.connections = 0
        #: most requests seen queued at once on a connection (1 = the client serialises)
        self.max_pipelined = 0

    async def start(self) -> int:
        """Start listening; returns the port."""
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        await self._close_listener()
        self._writers.clear()

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def apply_faults(self) -> None:
        """Make listener state follow ``faults.refuse_connections`` (call after changing it)."""
        if self.faults.refuse_connections:
            await self._close_listener()
        elif self._server is None:
            await self.start()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        buffer = b""
        try:
            while True:
                chunk = await reader.read(512)
                if not chunk:
                    return
                buffer += chunk
                in_chunk = 0
                while True:
                    try:
                        size = frame_length(buffer)
                    except ProtocolError:
                        return  # a real device drops a connection that sends junk
                    if size is None or len(buffer) < size:
                        break
                    frame, buffer = buffer[:size], buffer[size:]
                    in_chunk += 1
                    self.max_pipelined = max(self.max_pipelined, in_chunk)
                    if not await self._answer(frame, writer):
                        return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _answer(self, frame: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one frame; False closes the connection."""
        self.requests += 1
        faults = self.faults
        if faults.drop_connections:
            return False
        try:
            request = decode_request(frame)
        except ProtocolError:
            return False
        if faults.delay_s > 0:
            await asyncio.sleep(faults.delay_s)
        if faults.garbage:
            junk = bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(1, 40)))
            writer.write(junk)
        elif faults.exception_code is not None:
            self.backend.on_request()
            writer.write(encode_exception(request, faults.exception_code))
        else:
            writer.write(handle_frame(self.backend, request))
        await writer.drain()
        return True
