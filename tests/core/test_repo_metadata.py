"""The version and the packaging metadata agree everywhere a user or HACS reads them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import hems_core
from hems_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "custom_components/hems/manifest.json").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Keys the HACS validator accepts in hacs.json (it rejects anything else).
HACS_KEYS = {
    "name", "content_in_root", "zip_release", "filename", "hide_default_branch", "country",
    "homeassistant", "hacs", "persistent_directory", "render_readme",
}  # fmt: skip


def test_versions_agree() -> None:
    version = PYPROJECT["project"]["version"]
    assert hems_core.__version__ == version
    assert MANIFEST["version"] == version
    assert f"hems-core=={version}" in MANIFEST["requirements"]
    out = subprocess.run(
        [sys.executable, "-m", "hems_core.cli", "--version"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    assert out.strip() == f"hems {version}"


def test_hems_console_script_reports_version() -> None:
    exe = Path(sys.executable).with_name("hems")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"hems {hems_core.__version__}"


def test_cli_without_command_prints_help() -> None:
    assert main([]) == 0


def test_manifest_is_valid_for_hassfest_and_hacs() -> None:
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "hassfest: domain, name, then alphabetical"
    for key in ("version", "documentation", "issue_tracker", "codeowners", "iot_class"):
        assert MANIFEST[key], key
    assert MANIFEST["domain"] == "hems" == (ROOT / "custom_components/hems").name
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["documentation"].startswith("https://")
    assert "mqtt" in MANIFEST.get("dependencies", []) + MANIFEST.get("after_dependencies", [])
    # Home Assistant pins these; an exact pin of ours would fight its constraints.
    for req in MANIFEST["requirements"]:
        name = re.split(r"[=<>!~\[]", req, maxsplit=1)[0].lower()
        if name in {"numpy", "pymodbus", "paho-mqtt", "pyyaml", "scipy"}:
            assert "==" not in req, req
    # The integration must install on Home Assistant OS (musl): no cvxpy/osqp/clarabel.
    assert not any(r.startswith(("cvxpy", "osqp", "clarabel")) for r in MANIFEST["requirements"])
    assert not any(
        d.startswith(("cvxpy", "osqp", "clarabel")) for d in PYPROJECT["project"]["dependencies"]
    )


def test_hacs_json_uses_only_accepted_keys() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= HACS_KEYS
    assert hacs["homeassistant"] == "2025.4.0"
    assert hacs["name"]
    if hacs.get("zip_release"):
        assert hacs["filename"].endswith(".zip")


def test_project_dependencies_are_floors_only() -> None:
    for dep in PYPROJECT["project"]["dependencies"]:
        assert "==" not in dep, dep


def test_translations_cover_the_same_keys() -> None:
    def keys(node: object, prefix: str = "") -> set[str]:
        if isinstance(node, dict):
            return set().union(*(keys(v, f"{prefix}/{k}") for k, v in node.items()))
        return {prefix}

    folder = ROOT / "custom_components/hems/translations"
    english = keys(json.loads((folder / "en.json").read_text()))
    for path in folder.glob("*.json"):
        assert keys(json.loads(path.read_text())) == english, path.name
