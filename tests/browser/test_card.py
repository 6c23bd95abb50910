"""The plan card in a real Home Assistant (2025.4.4) in headless Chromium, on the demo site.

The integration loads the card by itself (no resource added here): the test only puts it on a
dashboard. To give the planner something to plan, the site gets a price sensor (expensive for
the next hours, cheap after) through the options flow, and the car a departure 10 h ahead at
80 % through ``hems.set_departure``. Then: the card draws a plan whose SoC line reaches the
target, Boost pressed on the card makes the simulated wallbox charge at full power, and the
card shows Cancel; screenshots at desktop and phone width, light and dark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

# Fixtures (tests/browser/conftest.py): dev_site, ha_page, shots.
develop = pytest.importorskip("hems_core.sim.develop")
pytest.importorskip("playwright.sync_api", reason="runs in .venv-dev: scripts/test --browser")
DevSite = Any

CARD = "hems-plan-card"
TZ = ZoneInfo("Europe/Amsterdam")  # scripts/develop's configuration.yaml
PRICE_ENTITY = "sensor.test_day_ahead"
TARGET = 80
DASHBOARD = {
    "title": "HEMS",
    "views": [
        {
            "path": "plan",
            "title": "Plan",
            "panel": True,  # one card, full width: what a phone shows anyway
            "cards": [{"type": f"custom:{CARD}", "hours": 24}],
        }
    ],
}
SIZES = {"desktop": {"width": 1280, "height": 1000}, "phone": {"width": 390, "height": 844}}


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll another process's state until ``check`` returns something truthy."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {value!r})")
        time.sleep(0.5)
    return value


def _prices(now: datetime) -> tuple[list[float], list[float]]:
    """Hourly prices (EUR/kWh) for today and tomorrow: dear for 4 h from now, cheap after."""
    start = now.replace(minute=0, second=0, microsecond=0)
    today, tomorrow = [], []
    for h in range(48):
        at = start.replace(hour=0) + timedelta(hours=h)
        dear = start <= at < start + timedelta(hours=4)
        (today if h < 24 else tomorrow).append(0.45 if dear else 0.18)
    return today, tomorrow


@pytest.fixture(scope="module")
def planned(dev_site: DevSite) -> Iterator[dict[str, Any]]:
    """The demo site with prices and a departure: it runs on a plan from the optimiser."""
    api = dev_site.api
    entry = dev_site.entries()["hems"]
    entry_id = str(entry["entry_id"])
    today, tomorrow = _prices(datetime.now(TZ))
    api.call("POST", f"/api/states/{PRICE_ENTITY}", {
        "state": str(today[datetime.now(TZ).hour]),
        "attributes": {"today": today, "tomorrow": tomorrow, "unit_of_measurement": "EUR/kWh"},
    })  # fmt: skip
    develop.drive_flow(
        api,
        entry_id,
        {"price_source": "entity", "price_entity": PRICE_ENTITY, "tariff": "all_in"},
        path="/api/config/config_entries/options/flow",
    )

    def plan() -> Any:
        try:
            r = api.call("POST", "/api/services/hems/get_plan?return_response",
                         {"config_entry_id": entry_id})  # fmt: skip
        except RuntimeError:  # reloading after the options change
            return None
        return r["service_response"] if r["service_response"].get("plan") else None

    resp = wait_for("a plan from the optimiser", plan, timeout=120)
    car = next(a["name"] for a in resp["plan"]["assets"] if a["kind"] == "ev")
    departure = (datetime.now(TZ) + timedelta(hours=10)).replace(second=0, microsecond=0)
    api.call("POST", "/api/services/hems/set_departure", {
        "config_entry_id": entry_id, "car": car, "departure": departure.isoformat(),
        "target_soc": TARGET,
    })  # fmt: skip
    seq = resp["seq"]
    resp = wait_for("a new plan for the departure", lambda: (p := plan()) and p["seq"] != seq and p)
    yield {"entry_id": entry_id, "car": car, "departure": departure, "plan": resp}
    # Leave the session's site as it was for the other browser tests: no prices, no departure.
    api.call("POST", "/api/services/hems/set_departure", {"config_entry_id": entry_id, "car": car})
    develop.drive_flow(
        api, entry_id, {"price_source": "none"}, path="/api/config/config_entries/options/flow"
    )

    def unplanned() -> bool:
        try:
            r = api.call("POST", "/api/services/hems/get_plan?return_response",
                         {"config_entry_id": entry_id})  # fmt: skip
        except RuntimeError:  # still reloading
            return False
        return r["service_response"].get("plan") is None

    wait_for("the site reloaded without prices", unplanned, timeout=120)


def _open(page: Any, base: str) -> Any:
    """The dashboard with the card (saved through the frontend's own websocket)."""
    page.evaluate(
        "cfg => document.querySelector('home-assistant').hass.callWS("
        "{type: 'lovelace/config/save', config: cfg})",
        DASHBOARD,
    )
    page.goto(base + "/lovelace/plan", wait_until="networkidle")
    card = page.locator(CARD)
    card.locator("svg.chart").wait_for()
    return card


def _soc_reaches(card: Any, car: str) -> dict[str, Any]:
    """What the drawing says: the target marker, and the highest SoC point up to it (SVG y)."""
    result: dict[str, Any] = card.evaluate(
        """(el, car) => {
          const g = el.shadowRoot.querySelector(`g.asset[data-asset="${car}"]`);
          const mark = g.querySelector("g.target");
          const dep = Number(mark.querySelector("line.dep").getAttribute("x1"));
          const d = mark.querySelector("path.mark").getAttribute("d");
          const [mx, my] = d.slice(1).split("l")[0].split(",").map(Number);
          let best = Infinity;
          for (const pl of g.querySelectorAll("polyline.soc")) {
            for (const p of pl.getAttribute("points").split(" ")) {
              const [x, y] = p.split(",").map(Number);
              if (x <= dep + 0.5) best = Math.min(best, y);
            }
          }
          return {cls: mark.getAttribute("class"), target: Number(mark.dataset.target),
                  planned: Number(mark.dataset.planned), markY: my + 5, markX: mx,
                  depX: dep, socTopY: best};
        }""",
        car,
    )
    return result


def _shoot(page: Any, card: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    card.screenshot(path=str(path))
    return path


def test_card_renders_plan_reaching_target(
    dev_site: DevSite, planned: dict[str, Any], ha_page: Any, shots: Path
) -> None:
    page = ha_page
    card = _open(page, dev_site.base)
    car = planned["car"]
    drawn = _soc_reaches(card, car)
    # The departure marker sits at the target, green: the plan reaches it, and the SoC line
    # gets up to the marker's height (SVG y grows downwards) by the departure.
    assert drawn["target"] == pytest.approx(TARGET / 100)
    assert drawn["planned"] >= TARGET / 100 - 0.005
    assert "ok" in drawn["cls"].split()
    assert drawn["socTopY"] <= drawn["markY"] + 0.5
    text = card.locator("ha-card").inner_text()
    assert "Tracking the plan" in text
    assert "reached" in text
    assert card.locator("g.now").count() == 1
    assert card.locator(".reason-text").inner_text().strip()
    for size, viewport in SIZES.items():
        for scheme in ("light", "dark"):
            page.set_viewport_size(viewport)
            page.emulate_media(color_scheme=scheme)
            page.wait_for_timeout(800)  # the card redraws at the new width (ResizeObserver)
            width = card.evaluate("el => el.getBoundingClientRect().width")
            assert width <= viewport["width"]
            svg_w = card.evaluate(
                "el => el.shadowRoot.querySelector('svg.chart').width.baseVal.value"
            )
            assert svg_w <= width
            _shoot(page, card, shots, f"card-{size}-{scheme}")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(SIZES["desktop"])


def test_boost_from_card_changes_wallbox_power(
    dev_site: DevSite, planned: dict[str, Any], ha_page: Any, shots: Path
) -> None:
    page = ha_page
    card = _open(page, dev_site.base)
    car = planned["car"]
    before = dev_site.wallbox_w()
    boost = card.locator(f'.car[data-car="{car}"] button[data-action="start_boost"]')
    t0 = time.monotonic()
    boost.click()
    # The simulator's own power, not any entity: the wallbox really charges at full power.
    after = wait_for(
        "the wallbox charging at full power after Boost",
        lambda: (w := dev_site.wallbox_w()) > 6000 and w,
        timeout=60,
    )
    took = time.monotonic() - t0
    print(f"\nboost from the card: wallbox {before:.0f} W -> {after:.0f} W in {took:.1f} s")
    assert after - before > 1000, (before, after)
    # The card follows by itself: the boost status and a Cancel button.
    card.locator(f'.car[data-car="{car}"] button[data-action="cancel_boost"]').wait_for()
    card.locator('.status[data-status="boost"]').wait_for()
    assert "Boost: charging" in card.locator(".reason-text").inner_text()
    _shoot(page, card, shots, "card-after-boost")
    card.locator(f'.car[data-car="{car}"] button[data-action="cancel_boost"]').click()
    boost.wait_for()
    flag = card.evaluate(f"el => el._info.entities['binary_sensor.{car}_boost_active']")
    wait_for("the boost to end", lambda: dev_site.state(flag)["state"] == "off")


def test_card_editor(dev_site: DevSite, planned: dict[str, Any], ha_page: Any, shots: Path) -> None:
    """The visual editor (HA's ha-form) draws its fields, previews a change and saves it."""
    page = ha_page
    _open(page, dev_site.base)
    page.goto(dev_site.base + "/lovelace/plan?edit=1", wait_until="networkidle")
    page.get_by_text("Edit", exact=True).first.click()
    editor = page.locator("hems-plan-card-editor")
    editor.wait_for()
    form = editor.locator("ha-form").first
    form.get_by_text("HEMS site").wait_for()  # the config-entry selector, drawn by 2025.4
    form.get_by_text("Show prices").first.wait_for()
    preview = page.locator(f"hui-dialog-edit-card {CARD}")
    preview.locator("svg.chart g.prices").wait_for()
    editor.locator("ha-selector-boolean").first.locator("ha-switch").click()
    wait_for("the preview without prices", lambda: preview.locator("g.prices").count() == 0)
    page.screenshot(path=str(shots / "card-editor.png"))
    page.get_by_role("button", name="Save").click()

    def saved() -> Any:
        cfg = page.evaluate(
            "() => document.querySelector('home-assistant').hass.callWS({type: 'lovelace/config'})"
        )
        card = cfg["views"][0]["cards"][0]
        return card if card.get("show_prices") is False else None

    assert wait_for("the dashboard saved with show_prices false", saved)["type"] == f"custom:{CARD}"
