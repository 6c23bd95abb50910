"""``hems prices parse`` on a committed sample of every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hems_core.cli import main
from tests.core.tariffs.helpers import SAMPLES

CASES = [
    ("nordpool_core_NL_2026-10-25.json", [], 100, "nordpool", "EUR"),
    ("nordpool_custom_SE3_2026-03-29.json", [], 188, "nordpool_custom", "EUR"),
    ("entsoe_custom_NL_2026-10-25.json", ["--tz", "Europe/Amsterdam"], 196, "entsoe_custom", "EUR"),
    ("entsoe_a44_NL_2026-03-29_mixed.xml", [], 188, "entsoe_xml", "EUR"),
    ("energyzero_NL_2026-03-29.json", [], 92, "energyzero", "EUR"),
    ("easyenergy_usage_NL_2026-10-25.json", [], 100, "energyzero", "EUR"),
    ("tibber_NL_2026-10-25.json", ["--currency", "EUR"], 100, "tibber", "EUR"),
    ("frank_energie_NL_2026-03-29.json", [], 92, "frank_energie", "EUR"),
    ("octopus_current_day_rates_2026-03-29.json", [], 92, "octopus", "GBP"),
    (
        "flat_NL_2026-03-29.json",
        ["--tz", "Europe/Amsterdam", "--date", "2026-03-29"],
        92,
        "flat",
        "EUR",
    ),
]


def test_every_sample_format_is_covered() -> None:
    files = {p.name for p in SAMPLES.iterdir() if p.suffix in (".json", ".xml")}
    assert files == {c[0] for c in CASES}


@pytest.mark.parametrize(("name", "extra", "n", "source", "currency"), CASES)
def test_parse_json(
    name: str,
    extra: list[str],
    n: int,
    source: str,
    currency: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = main(["prices", "parse", str(SAMPLES / name), "--json", *extra])
    out = capsys.readouterr().out
    assert rc == 0
    doc = json.loads(out)
    assert set(doc) == {"start", "step_minutes", "values", "known", "currency", "source"}
    assert doc["step_minutes"] == 15
    assert len(doc["values"]) == n
    assert doc["known"] == [True] * n
    assert doc["source"] == source
    assert doc["currency"] == currency
    assert doc["start"].endswith("Z")


def test_parse_text_summary(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "prices",
            "parse",
            str(SAMPLES / "entsoe_custom_NL_2026-10-25.json"),
            "--tz",
            "Europe/Amsterdam",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "complete days (Europe/Amsterdam) 2026-10-25, 2026-10-26" in out


@pytest.mark.parametrize(
    ("content", "extra", "needle"),
    [
        ('{"foo": 1}', [], "unrecognised price payload"),
        ("[0.1, 0.2]", ["--tz", "Europe/Amsterdam", "--date", "2026-03-29"], "has 2 prices"),
        ("<nope", [], "does not parse"),
        (
            '{"prices": [{"timestamp": "2026-03-29 00:00:00+00:00", "price": 85.0},'
            ' {"timestamp": "2026-03-29 01:00:00+00:00", "price": 86.0}]}',
            [],
            "probably per MWh read as per kWh",
        ),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, content: str, extra: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content)
    rc = main(["prices", "parse", str(f), "--json", *extra])
    cap = capsys.readouterr()
    assert rc == 2
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert needle in lines[0]


def test_stale_check_and_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SAMPLES / "energyzero_NL_2026-03-29.json")
    assert main(["prices", "parse", path, "--now", "2026-03-29T12:00:00+00:00"]) == 0
    assert main(["prices", "parse", path, "--now", "2026-03-30T12:00:00+00:00"]) == 2
    assert "stale" in capsys.readouterr().err
    assert main(["prices", "parse", "/nonexistent/prices.json"]) == 2
    assert "cannot read" in capsys.readouterr().err
