"""Start and stop a real MQTT broker on a free loopback port (tests, ``hems sim``, the demo).

mosquitto where it is installed (CI requires it); otherwise the embedded Python broker amqtt
(the ``demo`` extra), so the demo and ``scripts/develop`` need no root and no system package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class MosquittoBroker:
    """A mosquitto child process listening on 127.0.0.1 with anonymous access."""

    kind = "mosquitto"

    def __init__(self, binary: str | None = None, port: int = 0) -> None:
        path = binary or find_mosquitto()
        if path is None:
            raise FileNotFoundError("mosquitto binary not found")
        self.binary = path
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self, timeout: float = 10.0) -> int:
        """Start and wait (bounded) until it accepts connections; returns the port."""
        self._dir = tempfile.TemporaryDirectory(prefix="hems-mosquitto-")
        for _ in range(5):
            port = self.port or _free_port()
            conf = Path(self._dir.name) / "mosquitto.conf"
            conf.write_text(
                f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "log_type error\n",
                encoding="utf-8",
            )
            self._proc = subprocess.Popen(
                self._argv(port, conf),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break  # port taken in the meantime: try another one
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        self.port = port
                        return port
                except OSError:
                    time.sleep(0.02)
            self.stop()
            if self.port:
                break
        raise RuntimeError(f"{self.kind} did not start")

    def _argv(self, port: int, conf: Path) -> list[str]:
        return [self.binary, "-c", str(conf)]

    @property
    def pid(self) -> int | None:
        """The broker process (tests check it is gone after stop)."""
        return None if self._proc is None else self._proc.pid

    def stop(self) -> None:
        """Terminate the broker (kill after a bounded wait)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def amqtt_available() -> bool:
    """True when the embedded Python broker (the ``demo`` extra, amqtt) is installed."""
    import importlib.util

    return importlib.util.find_spec("amqtt") is not None


class AmqttBroker(MosquittoBroker):
    """The embedded broker (amqtt) in a child Python process, for machines without mosquitto.

    A child process rather than a thread in ours: the broker then runs on another core, like
    mosquitto, and the start/stop/port-retry logic is the same one.
    """

    kind = "amqtt"

    def __init__(self, port: int = 0) -> None:
        if not amqtt_available():
            raise FileNotFoundError("amqtt not installed (pip install 'hems-core[demo]')")
        self.binary = sys.executable
        self.port = port
        self._proc = None
        self._dir = None

    def _argv(self, port: int, conf: Path) -> list[str]:
        return [self.binary, "-m", "hems_core.sim.broker", "--port", str(port)]


Broker = MosquittoBroker | AmqttBroker


def make_broker(kind: str | None = None) -> Broker:
    """mosquitto when installed, else amqtt; ``kind`` (or ``HEMS_BROKER``) forces one.

    Raises FileNotFoundError naming both ways to get a broker when neither is there.
    """
    kind = kind or os.environ.get("HEMS_BROKER") or "auto"
    if kind == "mosquitto" or (kind == "auto" and find_mosquitto() is not None):
        return MosquittoBroker()
    if kind in ("amqtt", "auto"):
        if amqtt_available():
            return AmqttBroker()
        raise FileNotFoundError(
            "no MQTT broker: install mosquitto (apt-get install mosquitto) "
            "or the embedded one (pip install 'hems-core[demo]')"
        )
    raise ValueError(f"unknown broker kind {kind!r} (auto, mosquitto or amqtt)")


def _serve_amqtt(port: int) -> int:
    """Child side of :class:`AmqttBroker`: serve on 127.0.0.1:port until SIGTERM/SIGINT."""
    import asyncio
    import importlib
    import logging
    import signal

    amqtt_broker = importlib.import_module("amqtt.broker")  # untyped: kept out of mypy's sight

    # a client that drops its connection is logged as an ERROR by amqtt; nobody reads our stderr
    # pipe for hours (scripts/develop), so only what ends the broker may fill it
    logging.basicConfig(level=logging.CRITICAL)
    parent = os.getppid()

    async def serve() -> None:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {
                "allow_anonymous": True}},
        }  # fmt: skip
        broker = amqtt_broker.Broker(config)
        await broker.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set() and os.getppid() == parent:  # orphaned: stop too
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        await broker.shutdown()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="the embedded MQTT broker (amqtt) on 127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    sys.exit(_serve_amqtt(ap.parse_args().port))
