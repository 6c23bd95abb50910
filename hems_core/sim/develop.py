"""``scripts/develop``: a real Home Assistant with the simulators and the integration set up.

Starts an MQTT broker (mosquitto, else the embedded amqtt), the device simulators of the demo
site in real time (a Quasar-style Modbus TCP wallbox with a car, a SunSpec inverter, a DSMR 5
P1 meter on the broker), and Home Assistant with its configuration under ``.dev/config``. On the
first start it onboards Home Assistant through its REST API (user ``demo``, password
``demo1234``), then sets up the MQTT integration and the hems integration through their own
config flows over ``/api/config/config_entries/flow`` — never by writing ``.storage``. Ctrl-C
stops Home Assistant, the simulators and the broker.

:func:`drive_flow` walks any config flow from a dict of answers keyed by field name, and
:func:`demo_answers` holds those answers in one place, so a changed flow needs one edit there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .broker import make_broker

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "demo", "demo1234"
CONFIGURATION = """\
# Written by scripts/develop (the folder .dev/ is git-ignored); delete .dev/ to start afresh.
homeassistant:
  name: HEMS demo home
  latitude: 52.09
  longitude: 5.12
  elevation: 5
  unit_system: metric
  time_zone: Europe/Amsterdam
  currency: EUR
  country: NL
http:
  server_port: {port}
frontend:
config:
api:
logger:
  default: warning
  logs:
    custom_components.hems: debug
    hems_core: info
"""


class Api:
    """Home Assistant's REST API with a bearer token (stdlib HTTP: no extra dependency)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, *, form: bool = False) -> Any:
        """One request; JSON in and out (``form``: url-encoded body, as /auth/token wants)."""
        headers = {}
        data = None
        if body is not None:
            if form:
                data = urllib.parse.urlencode(body).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{method} {path}: HTTP {err.code} {err.read()[:300]!r}") from err
        return json.loads(raw) if raw else None

    def wait_up(
        self, proc: subprocess.Popen[bytes], timeout: float, stopped: Callable[[], bool]
    ) -> None:
        """Until Home Assistant answers (its first start installs packages: minutes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stopped():
                raise RuntimeError("interrupted while Home Assistant was starting")
            if proc.poll() is not None:
                raise RuntimeError("Home Assistant exited while starting (see .dev/hass.log)")
            try:  # any HTTP answer (401 without a token) means it is up
                urllib.request.urlopen(self.base + "/api/", timeout=5).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                pass
            time.sleep(1.0)
        raise RuntimeError(f"Home Assistant did not answer within {timeout:.0f} s")

    def log_in(self) -> None:
        """Onboard (first start: creates the demo user) or log in; keeps the access token."""
        client = self.base + "/"
        try:
            steps = {s["step"]: s["done"] for s in self.call("GET", "/api/onboarding")}
        except RuntimeError:  # 404 once onboarded: the onboarding views are gone
            steps = {}
        if not steps.get("user", True):
            code = self.call("POST", "/api/onboarding/users", {
                "client_id": client, "name": "Demo", "username": USER, "password": PASSWORD,
                "language": "en"})["auth_code"]  # fmt: skip
        else:
            flow = self.call("POST", "/auth/login_flow", {
                "client_id": client, "handler": ["homeassistant", None],
                "redirect_uri": client})  # fmt: skip
            done = self.call("POST", f"/auth/login_flow/{flow['flow_id']}", {
                "client_id": client, "username": USER, "password": PASSWORD})  # fmt: skip
            if done.get("type") != "create_entry":
                raise RuntimeError(f"login as {USER} failed: {done.get('errors')}")
            code = done["result"]
        grant = {"grant_type": "authorization_code", "code": code, "client_id": client}
        tok = self.call("POST", "/auth/token", grant, form=True)
        self.token = str(tok["access_token"])
        for step, path, body in (
            ("core_config", "/api/onboarding/core_config", {}),
            ("analytics", "/api/onboarding/analytics", {}),
            ("integration", "/api/onboarding/integration",
             {"client_id": client, "redirect_uri": client + "?auth_callback=1"}),
        ):  # fmt: skip
            if not steps.get(step, True):
                self.call("POST", path, body)


def drive_flow(api: Api, handler: str, answers: dict[str, Any]) -> dict[str, Any]:
    """Walk a config flow over the REST API: each form gets ``answers`` by field name.

    A field without an answer takes its default, or is left out when optional; a menu takes
    ``answers["<step_id>"]`` or its first option. A form shown again with errors, or an abort,
    raises with what Home Assistant said.
    """
    r = api.call("POST", "/api/config/config_entries/flow",
                 {"handler": handler, "show_advanced_options": True})  # fmt: skip
    for _ in range(30):
        kind = r.get("type")
        if kind == "create_entry":
            return dict(r)
        if kind == "abort":
            raise RuntimeError(f"{handler} flow aborted: {r.get('reason')}")
        flow = f"/api/config/config_entries/flow/{r['flow_id']}"
        if kind == "menu":
            options = list(r["menu_options"])
            pick = answers.get(str(r["step_id"]), options[0])
            r = api.call("POST", flow, {"next_step_id": pick})
            continue
        if kind != "form":
            raise RuntimeError(f"{handler} flow: unexpected step {r!r}")
        if r.get("errors"):
            raise RuntimeError(f"{handler} flow step {r['step_id']}: {r['errors']}")
        data: dict[str, Any] = {}
        for field in r.get("data_schema", []):
            name = str(field["name"])
            if name in answers:
                data[name] = answers[name]
            elif "default" in field:
                data[name] = field["default"]
        r = api.call("POST", flow, data)
    raise RuntimeError(f"{handler} flow did not finish in 30 steps")


def demo_answers(endpoints: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the demo site answers in each integration's config flow (field name → value)."""
    mqtt = endpoints["mqtt"]
    wb = endpoints["wallboxes"]["car"]
    pv = endpoints["inverters"]["pv"]
    return {
        "mqtt": {"broker": mqtt["host"], "port": mqtt["port"], "user": "broker"},
        "hems": {
            "site_name": "Demo home",
            # device steps as the rebuilt flow may ask for them (ignored by a flow without them)
            "meter_topic": "p1/telegram",
            "p1_topic": "p1/telegram",
            "wallbox_type": "quasar",
            "wallbox_host": wb["host"],
            "wallbox_port": wb["port"],
            "host": wb["host"],
            "port": wb["port"],
            "pv_host": pv["host"],
            "pv_port": pv["port"],
        },
    }


SIM_SPEC: dict[str, Any] = {
    "speed": 1.0,
    "publish_interval_s": 2.0,
    "wallboxes": [{"name": "car", "type": "quasar", "port": 1502, "ev": {
        "capacity_kwh": 60, "soc_pct": 45, "max_charge_w": 7400, "max_discharge_w": 7400}}],
    "inverters": [{"name": "pv", "peak_w": 5000, "rated_w": 5000, "port": 1503}],
    "meters": [{"name": "p1", "flavour": "dsmr5", "telegram_topic": "p1/telegram"}],
}  # fmt: skip


async def _simulate(
    spec: dict[str, Any], stop: asyncio.Event, ready: list[Any], boxes: dict[str, Any]
) -> None:
    from .scenario import SimRunner

    runner = SimRunner(spec)
    try:
        ready.append(await runner.start())
        boxes.update(runner.modbus_sims)
        while not stop.is_set():
            await runner.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), float(spec["publish_interval_s"]))
    finally:
        await runner.stop()


async def _walk_dialog(page: Any, button: str, shot: Path) -> dict[str, Any]:
    """Open a flow dialog from the integration page; its first form must draw fields.

    Some failures exist only in the frontend: a selector the oldest supported frontend cannot
    draw leaves an empty dialog, which no Python test sees. The options form is submitted (its
    defaults change nothing); the set-up form is closed, so no second site is created.
    """
    await page.get_by_role("button", name=button).first.click()
    dialog = page.locator("dialog-data-entry-flow")
    await dialog.locator("ha-form").first.wait_for()
    await page.wait_for_timeout(1000)  # let the selectors render before counting them
    fields = int(await dialog.locator("ha-selector, ha-textfield, ha-form-string").count())
    await page.screenshot(path=str(shot))
    if button == "Configure":
        await dialog.get_by_role("button", name="Submit").click()
        await dialog.locator("ha-form").first.wait_for(state="detached")
        await dialog.get_by_role("button", name="Finish").click()  # the "saved" step
    else:
        await dialog.get_by_role("button", name="Close").first.click()
    await dialog.locator("ha-dialog[open]").wait_for(state="detached")
    return {"fields": fields, "screenshot": str(shot)}


async def browser_check(
    base: str, out: Path, wallbox_w: Callable[[], float], timeout_s: float = 60.0
) -> dict[str, Any]:
    """Log in with headless Chromium, open the HEMS device page, press Boost, screenshot.

    Uses Debian's chromium through Playwright (``executable_path``: nothing is downloaded).
    Returns what it saw; ``boost`` says whether a Boost button was there and what the simulated
    wallbox's power did after the press.
    """
    import importlib
    import re
    import shutil

    pw = importlib.import_module("playwright.async_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("no chromium (apt-get install chromium)")
    result: dict[str, Any] = {}
    async with pw.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(timeout_s * 1000)
            await page.goto(base + "/", wait_until="networkidle")
            await page.locator("input[name=username]").fill(USER)
            await page.locator("input[name=password]").fill(PASSWORD)
            await page.get_by_role("button", name="Log in").click()
            await page.wait_for_url("**/lovelace/**")
            result["logged_in"] = True
            await page.goto(base + "/config/integrations/integration/hems")
            await page.get_by_text("Demo home").first.wait_for()
            result["flows"] = {
                "options": await _walk_dialog(page, "Configure", out / "options-flow.png"),
                "set_up": await _walk_dialog(page, "Add hub", out / "set-up-flow.png"),
            }
            await page.get_by_text(re.compile(r"\d+ (service|device)s?$")).first.click()
            await page.wait_for_url("**/config/devices/device/**")
            await page.wait_for_load_state("networkidle")
            result["device_page"] = page.url.removeprefix(base)
            boost = page.get_by_text(re.compile("^boost$", re.IGNORECASE))
            if await boost.count() == 0:
                result["boost"] = {"button": False}
            else:
                before = wallbox_w()
                row = page.locator("hui-generic-entity-row, state-card-content").filter(
                    has=boost.first
                )
                await row.get_by_role("button").first.click()
                deadline = time.monotonic() + timeout_s
                # the box is another program's: watch its power, bounded (no event to await)
                while abs(wallbox_w() - before) < 1000 and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
                result["boost"] = {"button": True, "before_w": before, "after_w": wallbox_w()}
            shot = out / "hems-device-page.png"
            await page.screenshot(path=str(shot), full_page=True)
            result["screenshot"] = str(shot)
        finally:
            await browser.close()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run broker, simulators and Home Assistant until Ctrl-C (or set up and stop: --once)."""
    ap = argparse.ArgumentParser(prog="scripts/develop", description=__doc__)
    ap.add_argument("--port", type=int, default=8123, help="Home Assistant's HTTP port")
    ap.add_argument("--dir", default=str(ROOT / ".dev"), help="state folder (git-ignored)")
    ap.add_argument("--once", action="store_true", help="set up, check, stop (for tests)")
    ap.add_argument(
        "--free-ports", action="store_true",
        help="simulators on free ports instead of 1502 (wallbox) and 1503 (inverter)",
    )  # fmt: skip
    ap.add_argument("--start-timeout", type=float, default=600.0)
    ap.add_argument(
        "--browser-check", metavar="DIR", default=None,
        help="after set-up: log in with headless Chromium, open the HEMS device page, press "
        "Boost, save a screenshot in DIR, print JSON and stop",
    )  # fmt: skip
    args = ap.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    dev = Path(args.dir)
    config = dev / "config"
    (config / "custom_components").mkdir(parents=True, exist_ok=True)
    link = config / "custom_components" / "hems"
    if not link.exists():
        link.symlink_to(ROOT / "custom_components" / "hems")
    (config / "configuration.yaml").write_text(CONFIGURATION.format(port=args.port), "utf-8")
    stop_flag = {"stop": False}

    def on_signal(_sig: int, _frame: Any) -> None:
        stop_flag["stop"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    broker = make_broker()
    broker.start()
    loop = asyncio.new_event_loop()
    sim_stop = asyncio.Event()
    ready: list[Any] = []
    spec = json.loads(json.dumps(SIM_SPEC))
    spec["mqtt"] = {"host": "127.0.0.1", "port": broker.port, "spawn": False}
    if args.free_ports:
        for dev_spec in spec["wallboxes"] + spec["inverters"]:
            dev_spec["port"] = 0
    runner_box: dict[str, Any] = {}
    sim_task = loop.create_task(_simulate(spec, sim_stop, ready, runner_box))
    hass: subprocess.Popen[bytes] | None = None
    rc = 0
    try:
        while not ready and not sim_task.done():
            loop.run_until_complete(asyncio.sleep(0.1))
        if sim_task.done():
            sim_task.result()
        endpoints = ready[0]
        say(f"simulators: {json.dumps(endpoints)}")
        log = open(dev / "hass.log", "ab")  # noqa: SIM115 (closed in finally)
        hass = subprocess.Popen(
            [str(Path(sys.executable).with_name("hass")), "-c", str(config)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        api = Api(f"http://127.0.0.1:{args.port}")
        say(f"starting Home Assistant (log: {dev / 'hass.log'}; the first start takes minutes)")

        def set_up() -> dict[str, str]:
            assert hass is not None
            api.wait_up(hass, args.start_timeout, lambda: stop_flag["stop"])
            api.log_in()
            entries = {e["domain"]: e for e in api.call("GET", "/api/config/config_entries/entry")}
            answers = demo_answers(endpoints)
            if "mqtt" in entries:  # the broker's port is new each start: set MQTT up again
                api.call(
                    "DELETE", f"/api/config/config_entries/entry/{entries.pop('mqtt')['entry_id']}"
                )
            for domain in ("mqtt", "hems"):
                if domain not in entries:
                    result = drive_flow(api, domain, answers[domain])
                    say(f"{domain}: set up through its config flow ({result.get('title')})")
            entries = {e["domain"]: e for e in api.call("GET", "/api/config/config_entries/entry")}
            return {d: str(entries[d]["state"]) for d in ("mqtt", "hems") if d in entries}

        # blocking HTTP in a thread: the simulators keep ticking and serving meanwhile
        try:
            states = loop.run_until_complete(asyncio.to_thread(set_up))
        except RuntimeError as err:
            say(f"error: {err}")
            return 130 if stop_flag["stop"] else 1
        say(f"config entries: {states}")
        say(f"open http://localhost:{args.port} and log in as {USER} / {PASSWORD}; Ctrl-C stops")
        if args.once or args.browser_check:
            report: dict[str, Any] = {"entries": states, "endpoints": endpoints}
            rc = 0 if states == {"mqtt": "loaded", "hems": "loaded"} else 1
            if args.browser_check:
                Path(args.browser_check).mkdir(parents=True, exist_ok=True)
                car = runner_box.get("car")
                try:
                    seen = loop.run_until_complete(browser_check(
                        f"http://127.0.0.1:{args.port}", Path(args.browser_check),
                        lambda: 0.0 if car is None else float(car.ev.power_w),
                    ))  # fmt: skip
                except Exception as err:  # a browser step failed: say which, still clean up
                    seen = {"error": str(err).splitlines()[0]}
                    say(f"browser check failed: {err}")
                report["browser"] = seen
                boost = seen.get("boost", {})
                if not (boost.get("button") and abs(boost["after_w"] - boost["before_w"]) >= 1000):
                    rc = 1
                if any(f["fields"] == 0 for f in seen.get("flows", {}).values()):
                    rc = 1  # an empty dialog: the frontend could not draw the form
            print(json.dumps(report))
        else:
            while not stop_flag["stop"] and hass.poll() is None:
                loop.run_until_complete(asyncio.sleep(0.5))
    finally:
        say("stopping Home Assistant, simulators and broker")
        if hass is not None and hass.poll() is None:
            hass.terminate()
            try:
                hass.wait(timeout=60)
            except subprocess.TimeoutExpired:
                hass.kill()
                hass.wait()
        sim_stop.set()
        with contextlib.suppress(Exception):
            loop.run_until_complete(sim_task)
        loop.close()
        broker.stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
