"""A HACS user's first start, for real: the release zip in a fresh Home Assistant 2025.4.4.

What a user gets from HACS is ``hems.zip`` unpacked into ``<config>/custom_components/hems/``
and nothing else; Home Assistant must then install ``hems-core`` (the manifest's requirement)
itself. This test does exactly that, with a local wheel directory standing in for the package
index for ``hems-core`` (Home Assistant installs requirements with ``uv pip install``, which
reads ``UV_FIND_LINKS``; every other package comes from the registry through the uv cache):

1. ``scripts/release`` builds the wheel and ``hems.zip``;
2. a fresh venv gets ``homeassistant==2025.4.4`` (and its frontend) and *no* hems-core;
3. a fresh config directory gets the zip unpacked into ``custom_components/hems/``;
4. a real ``hass -c CONFIG`` starts on a free loopback port, is onboarded over its API, and a
   long-lived token is made over the websocket API;
5. the hems config flow runs over the REST API: Home Assistant installs hems-core from the wheel
   directory, the entry loads and its entities have states;
6. SIGTERM stops hass cleanly (exit code 0).

Run by ``scripts/test`` as its own step (the Home Assistant test harness must not be loaded: it
blocks sockets). Skipped, with the reason, only when uv is missing or the registry unreachable.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hems_core.sim.develop import Api, drive_flow

ROOT = Path(__file__).resolve().parents[2]
HA_VERSION = "2025.4.4"
# Home Assistant always sets up its frontend; the package is large, so it goes in with Home
# Assistant (as on Home Assistant OS) instead of being installed by the first start.
FRONTEND = "home-assistant-frontend==20250411.0"
HA_PACKAGES = (f"homeassistant=={HA_VERSION}", FRONTEND)
NETWORK_HINTS = ("failed to fetch", "dns error", "connect", "network", "timed out", "offline")


def _uv() -> str | None:
    for cand in (shutil.which("uv"), str(Path(sys.executable).parent / "uv")):
        if cand and Path(cand).exists():
            return cand
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ws_long_lived_token(port: int, access_token: str) -> str:
    """Make a long-lived access token over the websocket API, as the profile page does."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/api/websocket", open_timeout=30) as ws:
        assert json.loads(ws.recv())["type"] == "auth_required"
        ws.send(json.dumps({"type": "auth", "access_token": access_token}))
        assert json.loads(ws.recv())["type"] == "auth_ok"
        ws.send(
            json.dumps(
                {
                    "id": 1,
                    "type": "auth/long_lived_access_token",
                    "client_name": "hacs-install-test",
                    "lifespan": 1,
                }
            )
        )
        reply = json.loads(ws.recv(timeout=30))
        assert reply["success"], reply
        return str(reply["result"])


def _ws_call(port: int, token: str, msg: dict[str, Any]) -> Any:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/api/websocket", open_timeout=30) as ws:
        ws.recv()
        ws.send(json.dumps({"type": "auth", "access_token": token}))
        assert json.loads(ws.recv())["type"] == "auth_ok"
        ws.send(json.dumps({"id": 1, **msg}))
        reply = json.loads(ws.recv(timeout=30))
        assert reply["success"], reply
        return reply["result"]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artefacts scripts/release builds (wheel, sdist, hems.zip)."""
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (pip install uv): cannot build or make a fresh venv")
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "HEMS_PYTHON": sys.executable}
    proc = subprocess.run(
        [str(ROOT / "scripts/release"), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def fresh_ha(tmp_path_factory: pytest.TempPathFactory, release: Path) -> Path:
    """A fresh venv with Home Assistant 2025.4.4 from the registry (through the uv cache)."""
    uv = _uv()
    assert uv is not None
    venv = tmp_path_factory.mktemp("ha") / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    proc = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin/python"), *HA_PACKAGES],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        if any(h in proc.stderr.lower() for h in NETWORK_HINTS):
            pytest.skip(f"package registry unreachable: {proc.stderr.strip().splitlines()[-1]}")
        pytest.fail(f"installing homeassistant=={HA_VERSION} failed: {proc.stderr}")
    return venv


def _hass_log(config: Path) -> str:
    log = config / "home-assistant.log"
    return log.read_text(errors="replace") if log.exists() else ""


@pytest.fixture
def hass_process(
    tmp_path: Path, release: Path, fresh_ha: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path, int, Path]]:
    """A real hass on a fresh config directory with hems.zip unpacked; stopped after the test."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for whl in release.glob("hems_core-*.whl"):
        shutil.copy(whl, wheels)
    config = tmp_path / "config"
    target = config / "custom_components" / "hems"
    target.mkdir(parents=True)
    with zipfile.ZipFile(release / "hems.zip") as zf:
        zf.extractall(target)
    port = _free_port()
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  name: HACS install test\n  time_zone: Europe/Brussels\n"
        "  latitude: 51.05\n  longitude: 3.72\n  elevation: 10\n"
        "  unit_system: metric\n  currency: EUR\n  country: BE\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
        "logger:\n  default: warning\n  logs:\n"
        "    homeassistant.util.package: info\n    homeassistant.requirements: info\n"
        "    custom_components.hems: info\n"
    )
    # Nothing of the repository may leak in: no PYTHONPATH, started outside the work tree.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["UV_FIND_LINKS"] = str(wheels)
    proc = subprocess.Popen(
        [str(fresh_ha / "bin/hass"), "-c", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=(tmp_path / "hass.out").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc, config, port, wheels
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _venv_has_hems_core(venv: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import importlib.metadata as m, hems_core, pathlib;"
        "print(m.version('hems-core'), pathlib.Path(hems_core.__file__).parent)"
    )
    return subprocess.run(
        [str(venv / "bin/python"), "-c", code], capture_output=True, text=True, cwd="/"
    )


def test_hacs_zip_installs_and_loads_in_fresh_home_assistant(
    hass_process: tuple[subprocess.Popen[bytes], Path, int, Path], fresh_ha: Path
) -> None:
    proc, config, port, _wheels = hass_process
    start = time.monotonic()
    # HACS gives Home Assistant the integration only: the library is not there yet.
    assert _venv_has_hems_core(fresh_ha).returncode != 0
    api = Api(f"http://127.0.0.1:{port}")
    api.wait_up(proc, 300, lambda: False)
    api.log_in()
    assert api.token
    api.token = _ws_long_lived_token(port, api.token)
    up = time.monotonic() - start

    # The config flow loads the integration: Home Assistant installs its requirements first.
    result = drive_flow(api, "hems", {"site_name": "HACS home"})
    assert result["type"] == "create_entry", result
    entries = api.call("GET", "/api/config/config_entries/entry?domain=hems")
    assert [e["state"] for e in entries] == ["loaded"], entries

    installed = _venv_has_hems_core(fresh_ha)
    assert installed.returncode == 0, installed.stderr
    version, where = installed.stdout.split()
    project = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{version}"' in project
    assert Path(where).is_relative_to(fresh_ha)
    # The very files that were released (not some other hems-core).
    for rel in ("tariffs/composition.py", "control/__init__.py"):
        assert (Path(where) / rel).read_bytes() == (ROOT / "hems_core" / rel).read_bytes()
    log = _hass_log(config)
    assert f"Attempting install of hems-core=={version}" in log

    # Its entities exist and have states.
    registry = _ws_call(port, api.token, {"type": "config/entity_registry/list"})
    ours = sorted(e["entity_id"] for e in registry if e["platform"] == "hems")
    assert ours, "the hems entry created no entities"
    states = {s["entity_id"]: s["state"] for s in api.call("GET", "/api/states")}
    missing = [e for e in ours if e not in states]
    assert not missing, missing
    assert any(states[e] not in ("unavailable", "unknown") for e in ours), {
        e: states[e] for e in ours
    }
    errors = [line for line in log.splitlines() if " ERROR " in line and "hems" in line.lower()]
    assert not errors, errors

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0
    print(
        json.dumps(
            {
                "home_assistant": HA_VERSION,
                "hems_core": version,
                "entities": len(ours),
                "started_s": round(up, 1),
                "total_s": round(time.monotonic() - start, 1),
            }
        )
    )
