"""Fixtures for the browser tests: the ``scripts/develop`` site in a real Home Assistant, driven
by headless Chromium.

They run in ``.venv-dev`` (Home Assistant 2025.4.4, the oldest supported, with Playwright):
``scripts/test --browser`` sets it up and runs them. The browser is Debian's ``chromium``
package driven through Playwright's ``executable_path`` (no browser download), with a fresh
profile per session.

- ``dev_site`` (session): broker, device simulators and Home Assistant, onboarded and with MQTT,
  hems and the demo devices set up through their own flows (:class:`DevInstance`); REST helpers
  and the simulated wallbox's power as the simulator holds it.
- ``browser_context`` (session): Chromium with a fresh ``--user-data-dir``.
- ``ha_page``: a page of that browser, logged in as the demo user, on the Overview.
- ``shots``: the test's screenshot folder, ``$HEMS_BROWSER_OUT/<test name>`` (default
  ``build/browser/``; CI keeps it as the run's output).

Teardown stops Chromium, Home Assistant, the simulators and the broker, and fails the session if
any of their processes outlived it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the browser tests run in .venv-dev with Playwright: scripts/test --browser",
)
develop = pytest.importorskip(
    "hems_core.sim.develop", reason="needs the repository's hems_core on the path"
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HEMS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: Milliseconds a browser step may take (the machine running this is often busy).
STEP_MS = 60_000


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (another process's state: no event)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {value!r})")
        time.sleep(0.5)


class DevSite:
    """The running dev instance and what tests ask it over REST."""

    def __init__(self, dev: Any) -> None:
        self.dev = dev
        self.base: str = dev.base
        self.api: Any = dev.api

    def wallbox_w(self) -> float:
        """The simulated wallbox's power (W, + charging), read from the simulator."""
        return float(self.dev.wallbox_w())

    def template(self, text: str) -> str:
        """Render a template in Home Assistant (POST /api/template answers plain text)."""
        req = urllib.request.Request(
            self.base + "/api/template",
            data=json.dumps({"template": text}).encode(),
            headers={
                "Authorization": f"Bearer {self.api.token}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return str(resp.read().decode())

    def state(self, entity_id: str) -> dict[str, Any]:
        """An entity's state object."""
        return dict(self.api.call("GET", f"/api/states/{entity_id}"))

    def hems_entities(self) -> dict[str, str]:
        """entity id → friendly name of every hems entity."""
        text = self.template(
            "{% for e in integration_entities('hems') %}"
            "{{ e }}\t{{ state_attr(e, 'friendly_name') }}\n{% endfor %}"
        )
        return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)

    def entity(self, domain: str, name: str) -> str:
        """The hems entity of ``domain`` whose name (after the device's) is ``name``."""
        pattern = re.compile(rf".* {re.escape(name)}$")
        found = [
            e for e, n in self.hems_entities().items()
            if e.startswith(domain + ".") and pattern.fullmatch(n)
        ]  # fmt: skip
        if len(found) != 1:
            raise AssertionError(f"one {domain} named {name!r} expected, got {found}")
        return found[0]

    def device_id(self, entity_id: str) -> str:
        """The device an entity belongs to."""
        return self.template(f"{{{{ device_id('{entity_id}') }}}}").strip()

    def wait_loaded(self) -> None:
        """Until both entries are loaded again (a saved flow reloads the hems entry)."""
        states = self.dev.wait_loaded()
        assert states == {"mqtt": "loaded", "hems": "loaded"}, states

    def core_command(self, device: str) -> dict[str, Any]:
        """The control core's last command for ``device`` (value_w, source, reason), read from
        the hems entry's diagnostics as a user would download them."""
        entry = self.entries()["hems"]["entry_id"]
        diag = self.api.call("GET", f"/api/diagnostics/config_entry/{entry}")
        return dict(diag["data"]["control"]["core"]["devices"][device])

    def entries(self) -> dict[str, dict[str, Any]]:
        """Config entries by domain."""
        return {e["domain"]: e for e in self.api.call("GET", "/api/config/config_entries/entry")}


def _out_dir() -> Path:
    return Path(os.environ.get("HEMS_BROWSER_OUT") or ROOT / "build" / "browser")


def _pids_with(marker: str) -> list[int]:
    """Processes whose command line contains ``marker`` (this session's folders are unique)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and int(proc.name) != os.getpid():
            pids.append(int(proc.name))
    return pids


@pytest.fixture(scope="session")
def dev_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevSite]:
    """Broker, simulators and Home Assistant with the demo site, set up through the flows."""
    folder = tmp_path_factory.mktemp("develop")
    lines: list[str] = []
    dev = develop.DevInstance(folder, free_port(), free_ports=True, say=lines.append)
    pids: list[int] = []
    try:
        states = dev.start()
        pids = dev.pids()
        if states != {"mqtt": "loaded", "hems": "loaded"}:
            log = (folder / "hass.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"entries {states}; scripts/develop said {lines}\n{log}")
        yield DevSite(dev)
    finally:
        pids = pids or dev.pids()
        dev.stop()
        # Home Assistant's log next to the screenshots: what CI keeps of a failed run
        out = _out_dir()
        out.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copyfile(folder / "hass.log", out / "hass.log")
    left = [p for p in pids if Path(f"/proc/{p}").exists()] + _pids_with(str(folder))
    assert not left, f"Home Assistant or the broker outlived the dev instance: {left}"


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Debian Chromium with a fresh profile (nothing downloaded)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: apt-get install chromium")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1000},
        )  # fmt: skip
        context.set_default_timeout(STEP_MS)
        try:
            yield context
        finally:
            context.close()
    left = _pids_with(str(profile))
    assert not left, f"chromium processes outlived the browser: {left}"


def log_in(page: Any, base: str) -> None:
    """Log in as the demo user on Home Assistant's own login page (if it asks)."""
    page.goto(base + "/", wait_until="networkidle")
    if "/auth/authorize" in page.url:
        page.locator("input[name=username]").fill(develop.USER)
        page.locator("input[name=password]").fill(develop.PASSWORD)
        page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/lovelace/**")


@pytest.fixture
def ha_page(dev_site: DevSite, browser_context: Any) -> Iterator[Any]:
    """A page logged in as demo / demo1234, on the Overview."""
    page = browser_context.new_page()
    try:
        log_in(page, dev_site.base)
        yield page
    finally:
        page.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder (``$HEMS_BROWSER_OUT``, default ``build/browser``)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = _out_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
