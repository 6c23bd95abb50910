"""Shared helpers for the tariff tests: sample files and zones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SAMPLES = Path(__file__).parent / "samples"
AMS = ZoneInfo("Europe/Amsterdam")
STO = ZoneInfo("Europe/Stockholm")
LON = ZoneInfo("Europe/London")


def sample_text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def sample(name: str) -> Any:
    return json.loads(sample_text(name))
