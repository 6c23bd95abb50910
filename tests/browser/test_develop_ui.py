"""The ``scripts/develop`` site in the real Home Assistant 2025.4.4 UI, in headless Chromium.

Boost is pressed where a user presses it (the car's device page) and must move the simulated
wallbox, read from the simulator itself; every step of the set-up, options and device flows
must draw all of its fields on this oldest supported frontend. Some failures exist only there:
a selector the old frontend does not know leaves an empty dialog that no Python test sees.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: What the flow dialog shows now, read from its elements (they live in shadow roots):
#: a form's schema and, per field, whether it was drawn (a known element with a height).
PROBE = """d => {
  const sr = d.shadowRoot;
  if (!sr || !sr.querySelector('ha-dialog')) return {kind: 'closed'};
  if (sr.querySelector('step-flow-loading')) return {kind: 'loading'};
  const form = sr.querySelector('step-flow-form');
  if (form) {
    const step = form.step || {};
    const haform = form.shadowRoot && form.shadowRoot.querySelector('ha-form');
    const root = haform && haform.shadowRoot && haform.shadowRoot.querySelector('.root');
    const fields = root ? [...root.children].filter(c => c.localName !== 'ha-alert').map(c => {
      const inner = c.localName === 'ha-selector' && c.shadowRoot
        ? c.shadowRoot.firstElementChild : c;
      const tag = inner ? inner.localName : '';
      const known = !!inner && (!tag.includes('-') || !!customElements.get(tag));
      const height = inner ? inner.getBoundingClientRect().height : 0;
      return {tag: tag, drawn: known && height > 0};
    }) : [];
    return {kind: 'form', step_id: step.step_id,
            schema: (step.data_schema || []).map(s => s.name), fields: fields,
            errors: step.errors || null, walked: !!step.__hemsWalked};
  }
  const done = sr.querySelector('step-flow-abort, step-flow-create-entry, step-flow-menu');
  if (done) return {kind: done.localName.replace('step-flow-', ''),
                    reason: done.step ? done.step.reason || null : null};
  return {kind: 'other'};
}"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until truthy: the simulator and Home Assistant are other programs."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {value!r})")
        time.sleep(0.5)
    return value


#: Marks the step object on screen as checked: after Submit, the next step is a new object
#: (also a form shown again with errors), while the old one stays up with a spinner.
MARK = """d => { const f = d.shadowRoot.querySelector('step-flow-form');
  if (f && f.step) f.step.__hemsWalked = true; }"""
#: Answers a form the way its own fields do: ha-form's value-changed event with the new data
#: (the dropdowns and pickers are the frontend's; what is checked here is that they draw).
FILL = """(d, values) => { const f = d.shadowRoot.querySelector('step-flow-form');
  const hf = f.shadowRoot.querySelector('ha-form');
  hf.dispatchEvent(new CustomEvent('value-changed',
    {detail: {value: {...(hf.data || {}), ...values}}, bubbles: true, composed: true})); }"""
SUBMIT = re.compile(r"^(submit|next)$", re.IGNORECASE)
#: A price sensor the flow walk creates (state only, through the REST API).
WALK_PRICES = "sensor.hems_walk_prices"


def _dialog(page: Any) -> Any:
    return page.locator("dialog-data-entry-flow")


def _step(page: Any) -> dict[str, Any]:
    """The dialog's current step once it has settled (a form: once all its fields drew)."""

    def settled() -> dict[str, Any] | None:
        seen: dict[str, Any] = _dialog(page).evaluate(PROBE)
        if seen["kind"] in ("loading", "closed", "other"):
            return None
        if seen["kind"] == "form" and seen["walked"]:
            return None  # the step just submitted, still waiting for Home Assistant's answer
        if seen["kind"] == "form" and sum(f["drawn"] for f in seen["fields"]) < len(seen["schema"]):
            return None  # still drawing (or never will: the last look is reported below)
        return seen

    try:
        return dict(wait_for("the flow dialog", settled, timeout=40))
    except AssertionError:
        return dict(_dialog(page).evaluate(PROBE))


def _check_drawn(step: dict[str, Any], where: str) -> None:
    """Every field of the form's schema has a drawn element: no empty dialog."""
    assert step["kind"] == "form", f"{where}: no form in the dialog: {step}"
    drawn = [f for f in step["fields"] if f["drawn"]]
    assert step["schema"], f"{where}: step {step['step_id']} has no fields: {step}"
    assert len(drawn) == len(step["schema"]), (
        f"{where}: step {step['step_id']} drew {len(drawn)} of {len(step['schema'])} fields "
        f"{step['schema']}: {step['fields']}"
    )


def _walk(
    page: Any,
    where: str,
    shots: Path,
    *,
    submit: bool,
    answers: dict[str, dict[str, Any]] | None = None,
    stop_at: str | None = None,
) -> list[dict[str, Any]]:
    """Check each step of the open dialog; submit to the end, or close.

    A step takes ``answers[step_id]`` over what it shows prefilled. ``submit=False`` checks the
    first step and closes the dialog, ``stop_at`` closes it at that step: closing ends the flow
    without saving anything (an add flow would otherwise create a second site or device).
    """
    steps = []
    for n in range(10):
        step = _step(page)
        if step["kind"] != "form":
            steps.append(step)
            break
        assert not step.get("walked"), f"{where}: no answer after Submit on {step['step_id']}"
        _check_drawn(step, where)
        assert not step["errors"], f"{where}: step {step['step_id']} refused: {step['errors']}"
        steps.append(step)
        name = re.sub(r"\W+", "-", where.lower())
        page.screenshot(path=str(shots / f"{name}-{n}-{step['step_id']}.png"))
        if not submit or step["step_id"] == stop_at:
            break
        if step["step_id"] in (answers or {}):
            _dialog(page).evaluate(FILL, (answers or {})[step["step_id"]])
        _dialog(page).evaluate(MARK)
        _dialog(page).get_by_role("button", name=SUBMIT).click()
    close = _dialog(page).get_by_role("button", name=re.compile(r"^(close|finish)$", re.I))
    close.first.click()
    wait_for(f"{where}: dialog closed", lambda: _dialog(page).evaluate(PROBE)["kind"] == "closed")
    return steps


def _integration_page(page: Any, base: str) -> None:
    page.goto(base + "/config/integrations/integration/hems")
    page.get_by_text("Demo home").first.wait_for()


def test_boost_on_the_car_device_page_charges_the_simulated_car(
    dev_site: Any, ha_page: Any, shots: Path
) -> None:
    """Press Boost on the car's device page: the box goes to full power, Boost active turns on."""
    page = ha_page
    boost = dev_site.entity("button", "Boost")
    active = dev_site.entity("binary_sensor", "Boost active")
    assert dev_site.state(active)["state"] == "off"
    device = dev_site.device_id(boost)
    page.goto(f"{dev_site.base}/config/devices/device/{device}")
    row = page.locator("hui-button-entity-row").filter(has=page.get_by_text("Boost", exact=True))
    row.first.wait_for()
    assert row.count() == 1
    # the car is at home charging by the rules (no prices here): well below the box's 7.4 kW
    # (at start-up the box may run on its own full-power fallback until the meter is read)
    (before,) = wait_for(
        "the car below full power before Boost",
        lambda: (w := dev_site.wallbox_w()) < 6400 and (w,),
        timeout=90,
    )
    try:
        row.get_by_role("button", name=re.compile("^press$", re.I)).click()

        # Full power, unless the house leaves less under the 1-phase 25 A connection (5.75 kW):
        # then the core says so (source "fuse") and the box runs at what it allows.
        def boosted() -> float | None:
            w, cmd = dev_site.wallbox_w(), dev_site.core_command("Car")
            if cmd["source"] == "boost" and w >= 0.95 * 7400:
                return w
            if cmd["source"] == "fuse" and w >= 0.95 * float(cmd["value_w"]) and w > before:
                return w
            return None

        after = wait_for("the simulated wallbox at the boost's power", boosted)
        print(f"wallbox before Boost {before:.0f} W, after {after:.0f} W")
        assert after - before >= 500
        wait_for("Boost active on", lambda: dev_site.state(active)["state"] == "on")
        # what the user sees: the device page's Boost active row says so, the power follows
        page.locator("hui-generic-entity-row").filter(
            has=page.get_by_text("Boost active", exact=True)
        ).get_by_text("Running").wait_for()
        page.wait_for_timeout(3000)  # one more state update of the car's power sensor
        page.screenshot(path=str(shots / "car-device-after-boost.png"), full_page=True)
    finally:  # leave the site as it was for the other tests
        cancel = dev_site.entity("button", "Cancel boost")
        dev_site.api.call("POST", "/api/services/button/press", {"entity_id": cancel})
    wait_for("Boost active off after Cancel", lambda: dev_site.state(active)["state"] == "off")


def test_every_flow_step_draws_its_fields_on_the_oldest_frontend(
    dev_site: Any, ha_page: Any, shots: Path
) -> None:
    """Set-up, options, each device's reconfigure flow to the end, each add-device first step."""
    page = ha_page
    base = dev_site.base
    walked: dict[str, list[str]] = {}

    def record(where: str, steps: list[dict[str, Any]]) -> None:
        walked[where] = [str(s.get("step_id") or s["kind"]) for s in steps]

    _integration_page(page, base)
    page.get_by_role("button", name=re.compile("^add hub$", re.I)).click()
    record("set-up", _walk(page, "set-up", shots, submit=False))

    # the site's options with what is saved (the defaults): every step, saved unchanged
    page.get_by_role("button", name=re.compile("^configure$", re.I)).first.click()
    steps = _walk(page, "options", shots, submit=True)
    assert steps[-1]["kind"] == "create-entry", steps[-1]
    record("options", steps)
    dev_site.wait_loaded()

    # the price and tariff steps of every tariff template, on a price sensor made here; closed
    # at the tariff step, so the site keeps its saved options
    day = [0.08 + 0.01 * (h % 12) for h in range(24)]
    dev_site.api.call("POST", f"/api/states/{WALK_PRICES}", {
        "state": str(day[0]), "attributes": {"today": day, "tomorrow": day,
                                             "unit_of_measurement": "EUR/kWh"},
    })  # fmt: skip
    for tariff in ("nl_dynamic", "be_flanders", "se", "de"):
        _integration_page(page, base)
        page.get_by_role("button", name=re.compile("^configure$", re.I)).first.click()
        steps = _walk(
            page, f"options {tariff}", shots, submit=True, stop_at="tariff",
            answers={"init": {"price_source": "entity"},
                     "prices": {"price_entity": WALK_PRICES, "tariff": tariff}},
        )  # fmt: skip
        assert [s.get("step_id") for s in steps] == ["init", "prices", "tariff"], steps
        record(f"options {tariff}", steps)

    # each device again through its own form, prefilled: every step checks the simulator
    for device in ("Car", "P1 meter", "PV inverter"):
        _integration_page(page, base)
        item = page.locator("ha-config-entry-row, ha-md-list-item, ha-list-item").filter(
            has=page.get_by_text(device, exact=True)
        )
        item.get_by_role("button", name=re.compile("^configure$", re.I)).last.click()
        steps = _walk(page, f"reconfigure {device}", shots, submit=True)
        assert steps[-1]["kind"] == "abort", steps[-1]  # reconfigure_successful
        assert steps[-1]["reason"] == "reconfigure_successful", steps[-1]
        record(f"reconfigure {device}", steps)
        dev_site.wait_loaded()

    # the first step of every kind of device the site can still add
    _integration_page(page, base)
    menu = page.locator("ha-button-menu, ha-md-button-menu").first
    menu.click()
    labels = [
        t.strip() for t in page.locator("ha-md-menu-item:visible, mwc-list-item:visible")
        .all_inner_texts() if t.strip().startswith("Add ")
    ]  # fmt: skip
    page.keyboard.press("Escape")
    assert len(labels) >= 6, labels  # wallbox, entity car, PV, battery, P1, gateway
    for label in labels:
        _integration_page(page, base)
        page.locator("ha-button-menu, ha-md-button-menu").first.click()
        page.locator("ha-md-menu-item:visible, mwc-list-item:visible").filter(
            has_text=re.compile(f"^\\s*{re.escape(label)}\\s*$")
        ).first.click()
        if label == "Add wallbox and car":  # a second box on the simulator: up to the car step
            wb = dev_site.dev.endpoints["wallboxes"]["car"]
            steps = _walk(
                page, label, shots, submit=True, stop_at="car",
                answers={"user": {"name": "Second car", "connection": "quasar"},
                         "connection_modbus": {"host": wb["host"], "port": wb["port"]}},
            )  # fmt: skip
            assert [s.get("step_id") for s in steps] == ["user", "connection_modbus", "car"]
        else:
            steps = _walk(page, label, shots, submit=False)
        # PV and P1 are one per site and exist: an abort that says so is drawn text, not a form
        assert steps[-1]["kind"] == "form" or steps[-1]["reason"] == "already_configured"
        record(label, steps)
    dev_site.wait_loaded()
    print(walked)
