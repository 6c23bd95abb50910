"""The local CSMS: a websocket server that OCPP charging stations connect to.

This is the I/O edge around :class:`~hems_core.devices.ocpp.session.CsmsSession`. A station
connects to ``ws://<host>:<port>/<path>/<identity>`` with subprotocol ``ocpp1.6``,
``ocpp2.0.1`` or ``ocpp2.1`` (we pick the newest both sides speak). Security profile 1: the
identity must be on the allow-list and HTTP Basic auth must carry ``identity:password``;
profile 2 adds TLS when ``certfile``/``keyfile`` are configured (``wss://``). Unknown identities
get HTTP 404, a wrong password 401, before any OCPP frame. One session per identity survives
reconnects (a station that reconnects without rebooting sends no new BootNotification).

``websockets`` (extra ``[ocpp]``, ≥ 13: the ``websockets.asyncio`` API) is imported on start.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from ..clock import Clock
from ..errors import DeviceConnectionError, DeviceTimeoutError
from ._schema import INSTALL_HINT, SUBPROTOCOLS, OcppError
from .session import CsmsSession, StationState

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[str], Awaitable[None]]
#: station requests a driver reacts to (a new transaction, new EV needs)
_DRIVER_EVENTS = frozenset({"StartTransaction", "TransactionEvent", "NotifyEVChargingNeeds"})


@dataclass(frozen=True)
class CsmsConfig:
    """Where the CSMS listens and whom it lets in."""

    host: str = "0.0.0.0"  # chargers on the LAN must reach it
    port: int = 9000
    path: str = "/ocpp"
    #: identity -> Basic-auth password (None: no password, security profile 0 — not advised)
    identities: Mapping[str, str | None] = field(default_factory=dict)
    versions: tuple[str, ...] = ("ocpp2.1", "ocpp2.0.1", "ocpp1.6")
    #: the home's cards; None = free vending (every token accepted)
    id_tokens: Collection[str] | None = None
    heartbeat_s: int = 60
    call_timeout_s: float = 10.0
    certfile: str | None = None
    keyfile: str | None = None

    def __post_init__(self) -> None:
        bad = [v for v in self.versions if v not in SUBPROTOCOLS]
        if bad or not self.versions:
            raise ValueError(f"versions must be among {sorted(SUBPROTOCOLS)}, got {bad}")


def _require_websockets() -> Any:
    try:
        import websockets.asyncio.server as server
    except ImportError as err:  # pragma: no cover - websockets < 13 or missing
        raise ImportError(f"{INSTALL_HINT} (websockets >= 13)") from err
    return server


class OcppCsms:
    """The server (``async with OcppCsms(cfg) as csms``)."""

    def __init__(self, config: CsmsConfig, *, clock: Clock = time.time) -> None:
        self.config = config
        self._clock = clock
        self.sessions: dict[str, CsmsSession] = {}
        self._conns: dict[str, Any] = {}
        self._futures: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: Any = None
        self._users = 0
        #: handshakes we refused: (identity or path, HTTP status)
        self.rejected: list[tuple[str, int]] = []
        self.port = config.port

    async def __aenter__(self) -> OcppCsms:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- public ------------------------------------------------------------------------------

    async def start(self) -> int:
        """Listen; returns the bound port (port 0 picks a free one)."""
        server = _require_websockets()
        ssl_ctx = None
        if self.config.certfile:
            import ssl

            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain(self.config.certfile, self.config.keyfile)
        self._server = await server.serve(
            self._handler, self.config.host, self.config.port,
            subprotocols=list(self.config.versions), select_subprotocol=self._select,
            process_request=self._process_request, ssl=ssl_ctx,
            ping_interval=None,  # liveness is the OCPP heartbeat, not websocket pings
        )  # fmt: skip
        sock = next(iter(self._server.sockets))
        self.port = int(sock.getsockname()[1])
        return self.port

    async def acquire(self) -> None:
        """One more driver uses this server: start it on the first (drivers share one CSMS)."""
        self._users += 1
        if self._server is None:
            await self.start()

    async def release_user(self) -> None:
        """A driver is done with the server; the last one stops it."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.stop()

    async def stop(self) -> None:
        """Close every connection and the listener."""
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def url(self, identity: str, host: str | None = None) -> str:
        """The URL to type into the charger's OCPP settings."""
        scheme = "wss" if self.config.certfile else "ws"
        h = host or self.config.host
        path = self.config.path.rstrip("/")
        return f"{scheme}://{h}:{self.port}{path}/{urllib.parse.quote(identity)}"

    def state(self, identity: str) -> StationState | None:
        """What the CSMS knows of a station (None before it ever connected)."""
        s = self.sessions.get(identity)
        return None if s is None else s.state

    def connected(self, identity: str) -> bool:
        """True while the station has a websocket open."""
        return identity in self._conns

    def add_listener(self, identity: str, listener: Listener) -> None:
        """``listener(event)`` on "ready" (booted and connected), "disconnected" and actions."""
        self._listeners.setdefault(identity, []).append(listener)

    async def call(
        self, identity: str, action: str, payload: dict[str, Any], timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Send a call and wait for its result (typed errors on loss, timeout, CallError)."""
        ws = self._conns.get(identity)
        session = self.sessions.get(identity)
        if ws is None or session is None:
            raise DeviceConnectionError(f"OCPP station {identity!r} is not connected")
        uid, text = session.call(action, payload)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._futures[uid] = fut
        try:
            await ws.send(text)
            return await asyncio.wait_for(fut, timeout_s or self.config.call_timeout_s)
        except TimeoutError as err:
            session.forget(uid)
            raise DeviceTimeoutError(f"{identity}: no answer to {action}") from err
        except OSError as err:
            raise DeviceConnectionError(f"{identity}: {err}") from err
        except Exception as err:
            if type(err).__module__.startswith("websockets"):
                raise DeviceConnectionError(f"{identity}: link lost ({err})") from err
            raise
        finally:
            self._futures.pop(uid, None)

    # -- websocket edge ----------------------------------------------------------------------

    def _identity_of(self, path: str) -> str | None:
        prefix = self.config.path.rstrip("/") + "/"
        raw = urllib.parse.urlsplit(path).path
        if not raw.startswith(prefix):
            return None
        ident = urllib.parse.unquote(raw[len(prefix) :])
        return ident if ident and "/" not in ident else None

    def _process_request(self, connection: Any, request: Any) -> Any:
        ident = self._identity_of(request.path)
        if ident is None or ident not in self.config.identities:
            self.rejected.append((ident or request.path, 404))
            _LOGGER.warning("OCPP: refused unknown identity %r", ident or request.path)
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown charging station\n")
        password = self.config.identities[ident]
        if password is not None and not _basic_ok(request.headers.get("Authorization"),
                                                  ident, password):  # fmt: skip
            self.rejected.append((ident, 401))
            _LOGGER.warning("OCPP: %s gave no or a wrong password", ident)
            resp = connection.respond(HTTPStatus.UNAUTHORIZED, "authentication required\n")
            resp.headers["WWW-Authenticate"] = 'Basic realm="hems"'
            return resp
        return None

    def _select(self, connection: Any, offered: Any) -> Any:
        for version in self.config.versions:  # ours, newest first
            if version in offered:
                return version
        return None

    async def _handler(self, ws: Any) -> None:
        ident = self._identity_of(ws.request.path)
        version = ws.subprotocol
        if ident is None or version not in self.config.versions:
            await ws.close(1002, "an OCPP subprotocol is required")
            return
        old = self._conns.get(ident)
        if old is not None:  # a station reconnecting replaces its stale link
            await old.close(1000, "replaced by a new connection")
        session = self.sessions.get(ident)
        if session is None or session.version != version:
            session = CsmsSession(ident, version, id_tokens=self.config.id_tokens,
                                  heartbeat_s=self.config.heartbeat_s)  # fmt: skip
            self.sessions[ident] = session
        self._conns[ident] = ws
        _LOGGER.info("OCPP: %s connected (%s)", ident, version)
        if session.state.booted:
            self._emit(ident, "ready")
        try:
            async for text in ws:
                got = session.receive(self._clock(), text)
                for reply in got.replies:
                    await ws.send(reply)
                if got.answer is not None:
                    uid, answer = got.answer
                    fut = self._futures.get(uid)
                    if fut is not None and not fut.done():
                        if isinstance(answer, OcppError):
                            fut.set_exception(answer)
                        else:
                            fut.set_result(answer)
                if got.booted_now:
                    self._emit(ident, "ready")
                elif got.action in _DRIVER_EVENTS:
                    self._emit(ident, str(got.action))
        except Exception as err:  # a dropped link ends here; the server lives on
            _LOGGER.info("OCPP: %s link ended: %s", ident, err)
        finally:
            if self._conns.get(ident) is ws:
                del self._conns[ident]
                for uid, fut in list(self._futures.items()):
                    if not fut.done() and uid in session._pending:
                        fut.set_exception(DeviceConnectionError(f"{ident}: link lost"))
                self._emit(ident, "disconnected")

    def _emit(self, ident: str, event: str) -> None:
        for listener in self._listeners.get(ident, []):
            task = asyncio.get_running_loop().create_task(_guard(listener, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _guard(listener: Listener, event: str) -> None:
    try:
        await listener(event)
    except Exception:  # a driver's reaction must never kill the server
        _LOGGER.exception("OCPP listener failed on %s", event)


def _basic_ok(header: str | None, identity: str, password: str) -> bool:
    """HTTP Basic ``identity:password`` (compared in constant time)."""
    if not header or not header.startswith("Basic "):
        return False
    try:
        user, _, pw = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), identity.encode()) and hmac.compare_digest(
        pw.encode(), password.encode()
    )
