"""One validated configuration builds site, settings, departures, core, drivers and runtime."""

from __future__ import annotations

import copy
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from hems_core.config import SiteConfigError, load_config, parse_config
from hems_core.control.core import ControlCore
from hems_core.devices.wallboxes import ModbusWallbox
from hems_core.model import MonthlyPeakTariff

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "devices" / "site.yaml"


def example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return data


def test_the_example_builds_what_it_says() -> None:
    cfg = load_config(EXAMPLE)
    site = cfg.site()
    assert site.grid.fuse_kw == pytest.approx(25 * 230 * 3 / 1000)  # 17.25 kW
    assert site.grid.import_limit_kw == 17 and site.grid.export_limit_kw == 10
    assert site.allow_export_from_storage is False
    assert isinstance(site.peak_tariff, MonthlyPeakTariff)
    assert site.peak_tariff.eur_per_kw_month == pytest.approx(53.39 / 12)
    (ev,) = site.evs
    assert (ev.name, ev.capacity_kwh, ev.max_charge_kw, ev.min_soc) == ("quasar", 40, 7.4, 0.2)
    settings = cfg.control_settings()
    assert settings.fuse_a == 25
    st = settings.for_storage("quasar")
    assert st.min_active_w == pytest.approx(6 * 230)  # 6 A on one phase
    assert st.phases == (1,)
    deps = cfg.departures()["quasar"]
    brussels = ZoneInfo("Europe/Brussels")
    monday = deps.departure_on(date(2026, 12, 7))
    saturday = deps.departure_on(date(2026, 12, 5))
    assert monday is not None and saturday is not None
    assert (monday[0].astimezone(brussels).time(), monday[1]) == (time(7, 30), 0.8)
    assert (saturday[0].astimezone(brussels).time(), saturday[1]) == (time(9, 0), 0.6)
    assert deps.departure_on(date(2026, 12, 6)) is None  # no departure on Sundays
    assert isinstance(cfg.core(), ControlCore)
    drivers = cfg.build_drivers()
    assert set(drivers.storage) == {"quasar"}
    assert drivers.inverter is not None and drivers.meter is not None


def test_a_dict_from_home_assistant_gives_the_same_site() -> None:
    a = load_config(EXAMPLE).site()
    b = parse_config(example(), base_dir=EXAMPLE.parent).site()
    assert a == b


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("devices.wallboxes.0.port", "abc", r"devices\.wallboxes\[0\]\.port: must be an integer"),
        ("devices.wallboxes.0.port", 70000, r"devices\.wallboxes\[0\]\.port"),
        ("site.grid.fuse_a", -5, r"site\.grid\.fuse_a"),
        ("cars.0.min_soc", 1.5, r"cars\[0\]\.min_soc"),
        ("cars.0.departures.weekly.mon", "25:00", r"weekly\.mon: must be a time"),
        ("cars.0.departures.weekly.mon", 450, r"quoted time"),
        ("cars.0.capacity_kwh", _DELETE, r"cars\[0\]\.capacity_kwh"),
        ("devices.wallboxes.0.type", "teslawall", r"devices\.wallboxes\[0\]\.type"),
        ("devices.wallboxes.0.name", "bike", r"bike"),
        ("site.tariff.capacity", "moon", r"site\.tariff\.capacity"),
        ("control.deadband_w", -1, r"control\.deadband_w"),
    ],
)
def test_every_error_names_its_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(SiteConfigError, match=message):
        parse_config(_set(example(), path, value), base_dir=EXAMPLE.parent)


def test_a_typo_is_an_error_with_a_hint() -> None:
    data = example()
    data["sitee"] = data.pop("site")
    with pytest.raises(SiteConfigError, match=r"did you mean 'site'"):
        parse_config(data)


def test_duplicate_cars_are_refused() -> None:
    data = example()
    data["cars"].append(copy.deepcopy(data["cars"][0]))
    with pytest.raises(SiteConfigError, match="quasar"):
        parse_config(data, base_dir=EXAMPLE.parent)


def test_a_wallbox_unit_id_reaches_the_register_reads() -> None:
    """The installer's unit id must address the reads, not only the driver's copy of the map."""
    data = example()
    data["devices"]["wallboxes"][0]["unit_id"] = 7
    drv = parse_config(data, base_dir=EXAMPLE.parent).build_drivers().storage["quasar"]
    assert isinstance(drv, ModbusWallbox)
    assert drv.device.map.unit_id == 7
