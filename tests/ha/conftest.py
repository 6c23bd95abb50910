"""Fixtures for the Home Assistant tests (pytest-homeassistant-custom-component)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

# Import our package at collection time: the harness mounts its own testing_config, whose
# `custom_components` package would otherwise shadow ours.
from custom_components.hems.const import CONF_SITE_NAME, DOMAIN


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: Any) -> None:
    """Let Home Assistant load integrations from custom_components/."""


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A HEMS site entry as the config flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"}, unique_id="home"
    )
