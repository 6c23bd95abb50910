"""Start and stop a real mosquitto broker on a free loopback port (tests, ``hems sim``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
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
                [self.binary, "-c", str(conf)],
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
        raise RuntimeError("mosquitto did not start")

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
