"""``scripts/develop``: a real Home Assistant with the simulators and the integration set up.

Starts an MQTT broker (mosquitto, else the embedded amqtt), the device simulators of the demo
site in real time (a Quasar-style Modbus TCP wallbox with a car, a SunSpec inverter, a DSMR 5
P1 meter on the broker), and Home Assistant with its configuration under ``.dev/config``. On the
first start it onboards Home Assistant through its REST API (user ``demo``, password
``demo1234``), then sets up the MQTT integration and the hems integration through their own
config flows over ``/api/config/config_entries/flow``, and adds the demo devices through the
hems entry's subentry flows (``/api/config/config_entries/subentries/flow``) — never by writing
``.storage``. Ctrl-C stops Home Assistant, the simulators and the broker.

:class:`DevInstance` is that whole set-up as an object, which ``tests/browser`` starts too.

:func:`drive_flow` walks any config flow from a dict of answers keyed by field name, and
:func:`demo_answers` holds those answers in one place, so a changed flow needs one edit there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hems_core.devices.errors import DeviceError

from .broker import make_broker

_LOGGER = logging.getLogger(__name__)

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


FLOW = "/api/config/config_entries/flow"
SUBENTRY_FLOW = "/api/config/config_entries/subentries/flow"
ENTRY = "/api/config/config_entries/entry/"
#: Config entry states on the way to loaded (or to an error).
SETTLING = ("not_loaded", "setup_in_progress", "unload_in_progress", "setup_retry")


def drive_flow(
    api: Api, handler: str | list[str], answers: dict[str, Any], *, path: str = FLOW
) -> dict[str, Any]:
    """Walk a config (or, with ``path=SUBENTRY_FLOW``, a subentry) flow over the REST API.

    Each form gets ``answers`` by field name. A field without an answer takes its default, or
    is left out when optional; a menu takes ``answers["<step_id>"]`` or its first option. A
    form shown again with errors, or an abort, raises with what Home Assistant said. A subentry
    flow's ``handler`` is ``[entry_id, subentry_type]``.
    """
    r = api.call("POST", path, {"handler": handler, "show_advanced_options": True})
    for _ in range(30):
        kind = r.get("type")
        if kind == "create_entry":
            return dict(r)
        if kind == "abort":
            raise RuntimeError(f"{handler} flow aborted: {r.get('reason')}")
        flow = f"{path}/{r['flow_id']}"
        if kind == "menu":
            options = list(r["menu_options"])
            pick = answers.get(str(r["step_id"]), options[0])
            r = api.call("POST", flow, {"next_step_id": pick})
            continue
        if kind != "form":
            raise RuntimeError(f"{handler} flow: unexpected step {r!r}")
        if r.get("errors"):
            why = (r.get("description_placeholders") or {}).get("reason") or ""
            raise RuntimeError(f"{handler} flow step {r['step_id']}: {r['errors']} {why}".strip())
        data: dict[str, Any] = {}
        for field in r.get("data_schema", []):
            name = str(field["name"])
            if name in answers:
                data[name] = answers[name]
            elif "default" in field:
                data[name] = field["default"]
        r = api.call("POST", flow, data)
    raise RuntimeError(f"{handler} flow did not finish in 30 steps")


def demo_answers(endpoints: dict[str, Any]) -> dict[str, Any]:
    """What the demo site answers in each flow (field name → value), in one place.

    ``devices`` lists the site's devices in the order they are added, each as the subentry
    type of the hems entry and the answers of its flow.
    """
    mqtt = endpoints["mqtt"]
    wb = endpoints["wallboxes"]["car"]
    pv = endpoints["inverters"]["pv"]
    return {
        "mqtt": {"broker": mqtt["host"], "port": mqtt["port"], "user": "broker"},
        "hems": {"site_name": "Demo home"},
        "devices": [
            ("wallbox", {  # the car behind a Quasar-style V2H box
                "name": "Car", "connection": "quasar", "host": wb["host"], "port": wb["port"],
                "capacity_kwh": 60, "max_charge_kw": 7.4, "max_discharge_kw": 7.4,
                "phases": "1", "min_soc": 20, "target_soc": 80,
            }),
            ("p1", {
                "source": "mqtt", "host": mqtt["host"], "port": mqtt["port"],
                "format": "telegram", "topic": "p1/telegram",
            }),
            ("pv", {"host": pv["host"], "port": pv["port"], "unit_id": 1, "rated_kw": 5.0}),
        ],
    }  # fmt: skip


WALLBOX_PORT, INVERTER_PORT, BROKER_PORT = 1502, 1503, 1884
SIM_SPEC: dict[str, Any] = {
    "speed": 1.0,
    "publish_interval_s": 2.0,
    "wallboxes": [{"name": "car", "type": "quasar", "port": WALLBOX_PORT, "ev": {
        "capacity_kwh": 60, "soc_pct": 45, "max_charge_w": 7400, "max_discharge_w": 7400}}],
    "inverters": [{"name": "pv", "peak_w": 5000, "rated_w": 5000, "port": INVERTER_PORT}],
    "meters": [{"name": "p1", "flavour": "dsmr5", "telegram_topic": "p1/telegram"}],
}  # fmt: skip


async def _simulate(
    spec: dict[str, Any],
    stop: asyncio.Event,
    ready: list[Any],
    boxes: dict[str, Any],
    started: threading.Event,
) -> None:
    """The demo site's simulators in real time until ``stop`` (ticks every publish interval)."""
    from .runner import SimRunner

    runner = SimRunner(spec)
    try:
        ready.append(await runner.start())
        boxes.update(runner.modbus_sims)
        started.set()
        while not stop.is_set():
            try:
                await runner.tick()
            except DeviceError as err:  # broker gone for a moment: paho reconnects by itself
                _LOGGER.warning("simulator tick: %s", err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), float(spec["publish_interval_s"]))
    finally:
        await runner.stop()


class DevInstance:
    """Broker, simulators and Home Assistant of the demo site, set up through the flows.

    ``start()`` returns once both integrations are set up (devices added through the hems
    entry's subentry flows where it offers them); ``stop()`` ends Home Assistant, the
    simulators and the broker, in that order, whatever state ``start()`` reached. The
    simulators run in their own thread and event loop, so the caller may block (HTTP, a
    browser driven synchronously) while they keep serving; :meth:`wallbox_w` reads the car's
    power from the simulator itself, not through any driver.
    """

    def __init__(
        self,
        dev_dir: Path,
        port: int,
        *,
        free_ports: bool = False,
        start_timeout: float = 600.0,
        say: Callable[[str], None] = lambda _line: None,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        """Nothing starts here (see :meth:`start`)."""
        self.dir = Path(dev_dir)
        self.port = port
        self.free_ports = free_ports
        self.start_timeout = start_timeout
        self.say = say
        self.stopped = stopped
        self.base = f"http://127.0.0.1:{port}"
        self.api = Api(self.base)
        self.endpoints: dict[str, Any] = {}
        self.states: dict[str, str] = {}
        self.hass: subprocess.Popen[bytes] | None = None
        self._broker: Any = None
        self._boxes: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sim_stop: asyncio.Event | None = None
        self._sim_error: BaseException | None = None
        self._log: Any = None

    def __enter__(self) -> DevInstance:
        """Start (see :meth:`start`); a failed start stops what it had started."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop everything."""
        self.stop()

    def pids(self) -> list[int]:
        """Process ids of Home Assistant and the broker while they run (tests check them gone)."""
        pids = [] if self.hass is None else [self.hass.pid]
        broker_pid = None if self._broker is None else self._broker.pid
        return pids + ([] if broker_pid is None else [int(broker_pid)])

    def wallbox_w(self, name: str = "car") -> float:
        """The simulated wallbox's power (W, + charging), as the simulator holds it."""
        return float(self._boxes[name].ev.power_w)

    def start(self) -> dict[str, str]:
        """Broker, simulators, Home Assistant, then the flows; the entries' states."""
        config = self.dir / "config"
        (config / "custom_components").mkdir(parents=True, exist_ok=True)
        link = config / "custom_components" / "hems"
        if not link.is_symlink() and not link.exists():
            link.symlink_to(ROOT / "custom_components" / "hems")
        (config / "configuration.yaml").write_text(CONFIGURATION.format(port=self.port), "utf-8")
        self._broker = make_broker()
        if not self.free_ports:
            self._broker.port = BROKER_PORT
        self._broker.start()
        spec = json.loads(json.dumps(SIM_SPEC))
        spec["mqtt"] = {"host": "127.0.0.1", "port": self._broker.port, "spawn": False}
        if self.free_ports:
            for dev_spec in spec["wallboxes"] + spec["inverters"]:
                dev_spec["port"] = 0
        self.endpoints = self._start_simulators(spec)
        self.say(f"simulators: {json.dumps(self.endpoints)}")
        self._log = open(self.dir / "hass.log", "ab")  # noqa: SIM115 (closed in stop())
        self.hass = subprocess.Popen(
            [str(Path(sys.executable).with_name("hass")), "-c", str(config)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.say(
            f"starting Home Assistant (log: {self.dir / 'hass.log'}; a first start takes minutes)"
        )
        self.states = self._set_up()
        return self.states

    def _start_simulators(self, spec: dict[str, Any]) -> dict[str, Any]:
        ready: list[dict[str, Any]] = []
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._sim_stop = asyncio.Event()
            try:
                loop.run_until_complete(
                    _simulate(spec, self._sim_stop, ready, self._boxes, started)
                )
            except BaseException as err:  # reported by start(), or ends the run later
                self._sim_error = err
            finally:
                started.set()
                loop.close()

        self._thread = threading.Thread(target=run, name="hems-simulators", daemon=True)
        self._thread.start()
        started.wait(60)
        if not ready:
            raise RuntimeError(f"the simulators did not start: {self._sim_error!r}")
        return ready[0]

    def _set_up(self) -> dict[str, str]:
        assert self.hass is not None
        api = self.api
        api.wait_up(self.hass, self.start_timeout, self.stopped)
        api.log_in()
        entries = {e["domain"]: e for e in api.call("GET", "/api/config/config_entries/entry")}
        answers = demo_answers(self.endpoints)
        seen = self.dir / "endpoints.json"
        moved = not seen.exists() or json.loads(seen.read_text("utf-8")) != self.endpoints
        hems = entries.get("hems")
        if hems is not None and (
            moved or (not hems.get("num_subentries") and hems.get("supported_subentry_types"))
        ):  # devices on other ports, or added before the entry had device flows: afresh
            api.call("DELETE", ENTRY + entries.pop("hems")["entry_id"])
        if "mqtt" in entries and moved:  # the broker moved: set MQTT up again
            api.call("DELETE", ENTRY + entries.pop("mqtt")["entry_id"])
        for domain in ("mqtt", "hems"):
            if domain not in entries:
                result = drive_flow(api, domain, answers[domain])
                self.say(f"{domain}: set up through its config flow ({result.get('title')})")
                if domain == "hems":
                    self._add_devices(str(result["result"]["entry_id"]), answers["devices"])
        seen.write_text(json.dumps(self.endpoints), "utf-8")
        return self.wait_loaded()

    def _add_devices(self, entry_id: str, devices: list[tuple[str, dict[str, Any]]]) -> None:
        """Each demo device through the entry's own subentry flow (none: say so)."""
        entry = next(
            e for e in self.api.call("GET", "/api/config/config_entries/entry")
            if e["entry_id"] == entry_id
        )  # fmt: skip
        offered = set(entry.get("supported_subentry_types") or {})
        if not offered:
            self.say("hems: this version has no device flows (config subentries): no devices")
            return
        for kind, answers in devices:
            if kind not in offered:
                self.say(f"hems: no {kind!r} device flow (offered: {sorted(offered)})")
                continue
            r = drive_flow(self.api, [entry_id, kind], answers, path=SUBENTRY_FLOW)
            self.say(f"hems: {kind} {r.get('title')!r} added through its subentry flow")

    def wait_loaded(self, timeout: float = 120.0) -> dict[str, str]:
        """The entries' states once none is (re)loading, twice the same a second apart.

        Adding or changing a device reloads the hems entry, so a state read right after a
        flow may still be the old one or ``unload_in_progress``. Bounded by ``timeout``.
        """
        deadline = time.monotonic() + timeout
        last: dict[str, str] = {}
        while True:
            entries = self.api.call("GET", "/api/config/config_entries/entry")
            states = {
                str(e["domain"]): str(e["state"])
                for e in entries if e["domain"] in ("mqtt", "hems")
            }  # fmt: skip
            settling = any(s in SETTLING for s in states.values())
            if (not settling and states == last) or time.monotonic() > deadline or self.stopped():
                return states
            last = states
            time.sleep(1.0)

    def stop(self) -> None:
        """Home Assistant, then the simulators, then the broker; safe to call twice."""
        if self.hass is not None and self.hass.poll() is None:
            self.hass.terminate()
            try:
                self.hass.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.hass.kill()
                self.hass.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._thread is not None:
            loop, ev = self._loop, self._sim_stop
            if loop is not None and ev is not None:
                with contextlib.suppress(RuntimeError):  # loop already closed
                    loop.call_soon_threadsafe(ev.set)
            self._thread.join(timeout=30)
            self._thread = None
        if self._broker is not None:
            self._broker.stop()
            self._broker = None


def main(argv: Sequence[str] | None = None) -> int:
    """Run broker, simulators and Home Assistant until Ctrl-C (or set up and stop: --once)."""
    ap = argparse.ArgumentParser(prog="scripts/develop", description=__doc__)
    ap.add_argument("--port", type=int, default=8123, help="Home Assistant's HTTP port")
    ap.add_argument("--dir", default=str(ROOT / ".dev"), help="state folder (git-ignored)")
    ap.add_argument("--once", action="store_true", help="set up, print JSON, stop (for tests)")
    ap.add_argument(
        "--free-ports", action="store_true",
        help=f"simulators and broker on free ports instead of {WALLBOX_PORT} (wallbox), "
        f"{INVERTER_PORT} (inverter) and {BROKER_PORT} (MQTT)",
    )  # fmt: skip
    ap.add_argument("--start-timeout", type=float, default=600.0)
    args = ap.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    stop_flag = {"stop": False}

    def on_signal(_sig: int, _frame: Any) -> None:
        stop_flag["stop"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    dev = DevInstance(
        Path(args.dir), args.port, free_ports=args.free_ports,
        start_timeout=args.start_timeout, say=say, stopped=lambda: stop_flag["stop"],
    )  # fmt: skip
    try:
        try:
            states = dev.start()
        except RuntimeError as err:
            say(f"error: {err}")
            return 130 if stop_flag["stop"] else 1
        say(f"config entries: {states}")
        say(f"open http://localhost:{args.port} and log in as {USER} / {PASSWORD}; Ctrl-C stops")
        if args.once:
            print(json.dumps({"entries": states, "endpoints": dev.endpoints}))
            return 0 if states == {"mqtt": "loaded", "hems": "loaded"} else 1
        while not stop_flag["stop"] and dev.hass is not None and dev.hass.poll() is None:
            time.sleep(0.5)
        return 0
    finally:
        say("stopping Home Assistant, simulators and broker")
        dev.stop()


if __name__ == "__main__":
    sys.exit(main())
