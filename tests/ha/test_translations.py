"""Translations, icons and services.yaml stay in step with the code (what hassfest checks too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from custom_components.hems.const import CONF_FLUVIUS_AREA, PRICE_SOURCES, TARIFF_FIELDS, TARIFFS
from hems_core.tariffs.composition import flanders_areas

ROOT = Path(__file__).resolve().parents[2] / "custom_components" / "hems"
LANGUAGES = ("en", "nl", "de", "sv")


def _load(lang: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "translations" / f"{lang}.json").read_text())
    return data


def _paths(d: Any, prefix: str = "") -> set[str]:
    if not isinstance(d, dict):
        return {prefix}
    return {p for k, v in d.items() for p in _paths(v, f"{prefix}/{k}")}


@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_every_language_has_the_same_keys(lang: str) -> None:
    assert _paths(_load(lang)) == _paths(_load("en"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_strings_are_complete_and_url_free(lang: str) -> None:
    t = _load(lang)
    for step in t["options"]["step"].values():
        assert set(step["data"]) == set(step["data_description"])
    assert set(t["selector"]["price_source"]["options"]) == set(PRICE_SOURCES)
    assert set(t["selector"]["tariff"]["options"]) == set(TARIFFS)
    fields = {f for keys in TARIFF_FIELDS.values() for f in keys} | {CONF_FLUVIUS_AREA}
    assert set(t["selector"][CONF_FLUVIUS_AREA]["options"]) == set(flanders_areas())
    assert set(t["options"]["step"]["tariff"]["data"]) == fields
    assert "http" not in json.dumps(t)
    assert "{reason}" in t["options"]["error"]["invalid_prices"]


def test_services_and_icons_match() -> None:
    services = yaml.safe_load((ROOT / "services.yaml").read_text())
    icons = json.loads((ROOT / "icons.json").read_text())
    assert set(services) == set(icons["services"]) == set(_load("en")["services"])
    assert set(icons["entity"]["sensor"]) == set(_load("en")["entity"]["sensor"])
