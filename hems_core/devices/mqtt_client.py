"""A small asyncio facade over paho-mqtt (>= 2.0) for drivers, simulators and the CLI.

paho runs its network loop in its own thread (``loop_start``) and reconnects by itself with
exponential back-off (``reconnect_delay_set``); we bridge its callbacks into the event loop
with ``call_soon_threadsafe`` and re-subscribe after every reconnect. Connects and QoS>0
publishes are bounded by a timeout and raise the device layer's typed errors.

Inside Home Assistant the integration uses HA's own MQTT client instead (DESIGN §3.5); the
payload codecs in :mod:`hems_core.devices.p1_mqtt` and :mod:`hems_core.devices.mqtt_wallbox`
do not depend on this transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
from collections.abc import Callable
from typing import Any

from .errors import DeviceConnectionError, DeviceTimeoutError

_LOGGER = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes], None]
_IDS = itertools.count(1)
#: Per process: client ids from two processes on one broker (Home Assistant's hems and a
#: simulator, two sites) must differ, or the broker drops the older session on each connect.
_PROCESS = secrets.token_hex(4)


class MqttClient:
    """One broker connection with topic callbacks run on the asyncio loop."""

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        client_id: str | None = None,
        timeout: float = 5.0,
        username: str | None = None,
        password: str | None = None,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.client_id = client_id or f"hems-{_PROCESS}-{next(_IDS)}"
        self._username = username
        self._password = password
        self._reconnect = (reconnect_min, reconnect_max)
        self._subs: dict[str, tuple[int, list[MessageCallback]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._connected = asyncio.Event()
        self._pending_subacks: set[int] = set()
        self.connects = 0

    @property
    def connected(self) -> bool:
        """True while the broker session is up."""
        return self._client is not None and self._connected.is_set()

    async def connect(self) -> None:
        """Open the session (bounded by ``timeout``); paho keeps it alive afterwards."""
        import paho.mqtt.client as mqtt

        if self._client is not None:
            await self.wait_connected()
            return
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,  # type: ignore[attr-defined]
            client_id=self.client_id,
            protocol=mqtt.MQTTv311,
        )
        if self._username is not None:
            client.username_pw_set(self._username, self._password)
        client.reconnect_delay_set(
            min_delay=max(1, round(self._reconnect[0])), max_delay=round(self._reconnect[1])
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client = client
        try:
            client.connect_async(self.host, self.port, keepalive=30)
            client.loop_start()
        except (OSError, ValueError) as err:
            self._client = None
            raise DeviceConnectionError(f"MQTT {self.host}:{self.port}: {err}") from err
        try:
            await self.wait_connected()
        except DeviceTimeoutError:
            await self.close()
            raise DeviceConnectionError(
                f"MQTT broker {self.host}:{self.port} unreachable"
            ) from None

    async def wait_connected(self) -> None:
        """Wait (bounded by ``self.timeout``) until the session is up."""
        try:
            await asyncio.wait_for(self._connected.wait(), self.timeout)
        except TimeoutError as err:
            raise DeviceTimeoutError(f"MQTT {self.host}:{self.port}: not connected") from err

    def _threadsafe(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closing
                loop.call_soon_threadsafe(fn, *args)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            _LOGGER.warning("MQTT connect refused: %s", reason)
            return
        # report "connected" only once the broker acknowledged every subscription, so no
        # message published after connect() returns can be missed
        self._pending_subacks = set()
        for topic, (qos, _) in list(self._subs.items()):
            rc, mid = client.subscribe(topic, qos)
            if rc == 0:
                self._pending_subacks.add(mid)
        if not self._pending_subacks:
            self._threadsafe(self._set_connected, True)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if mid in self._pending_subacks:
            self._pending_subacks.discard(mid)
            if not self._pending_subacks:
                self._threadsafe(self._set_connected, True)

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._threadsafe(self._set_connected, False)

    def _set_connected(self, up: bool) -> None:
        if up:
            self.connects += 1
            self._connected.set()
        else:
            self._connected.clear()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self._threadsafe(self._dispatch, str(message.topic), bytes(message.payload))

    def _dispatch(self, topic: str, payload: bytes) -> None:
        import paho.mqtt.client as mqtt

        for pattern, (_, callbacks) in self._subs.items():
            if mqtt.topic_matches_sub(pattern, topic):
                for callback in callbacks:
                    try:
                        callback(topic, payload)
                    except Exception:  # one bad handler must not kill the others
                        _LOGGER.exception("MQTT handler for %s failed", topic)

    def subscribe(self, topic: str, callback: MessageCallback, qos: int = 1) -> None:
        """Register a callback (kept across reconnects)."""
        if topic in self._subs:
            self._subs[topic][1].append(callback)
            return
        self._subs[topic] = (qos, [callback])
        if self.connected:
            self._client.subscribe(topic, qos)

    async def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish; for QoS > 0 wait (bounded) for the broker's acknowledgement."""
        if not self.connected:
            raise DeviceConnectionError(f"MQTT {self.host}:{self.port}: not connected")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != 0:
            raise DeviceConnectionError(f"MQTT publish to {topic} failed (rc={info.rc})")
        if qos == 0:
            return
        done = await asyncio.to_thread(_wait_published, info, self.timeout)
        if not done:
            raise DeviceTimeoutError(f"MQTT publish to {topic} not acknowledged")

    async def close(self) -> None:
        """Disconnect and stop the network thread (idempotent)."""
        client, self._client = self._client, None
        self._connected.clear()
        if client is None:
            return
        try:
            client.disconnect()
        except Exception:  # already gone
            _LOGGER.debug("disconnect failed", exc_info=True)
        await asyncio.to_thread(client.loop_stop)


def _wait_published(info: Any, timeout: float) -> bool:
    try:
        info.wait_for_publish(timeout)
    except (RuntimeError, ValueError):
        return False
    return bool(info.is_published())
