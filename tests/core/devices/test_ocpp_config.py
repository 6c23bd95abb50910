"""An OCPP wallbox from the site configuration, and security profile 2 (TLS) on loopback."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hems_core.config import SiteConfigError, parse_config

pytest.importorskip("ocpp.v21", reason="the [ocpp] extra is not installed")

from hems_core.devices.clock import ManualClock
from hems_core.devices.model import WallboxLimits
from hems_core.devices.ocpp import CsmsConfig, OcppCsms, OcppWallbox
from hems_core.sim.ocpp_station import StationClient, StationCore


def _site(**box: Any) -> dict[str, Any]:
    wb = {"name": "car", "type": "ocpp", "password": "pw", **box}
    return {
        "cars": [{"name": "car", "capacity_kwh": 60, "max_charge_kw": 11, "max_discharge_kw": 7}],
        "devices": {
            "meter": {"type": "mqtt", "host": "127.0.0.1"},
            "wallboxes": [wb],
        },
    }


def test_ocpp_wallbox_options_and_defaults() -> None:
    cfg = parse_config(_site(safe_limit_w=1380, id_tokens=["HOME-CARD"]))
    ep = cfg.wallboxes["car"]
    assert (ep.type, ep.host, ep.port) == ("ocpp", "0.0.0.0", 9000)
    assert ep.options["identity"] == "car" and ep.options["offline_timeout_s"] == 60
    assert ep.options["id_tokens"] == ("HOME-CARD",)


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ({"password": None}, r"devices.wallboxes\[0\].password: is required"),
        ({"id_tokens": "HOME-CARD"}, r"id_tokens: must be a list"),
        ({"safe_limit_w": -1}, r"safe_limit_w: must be a number"),
        ({"certfile": "/nonexistent.pem"}, r"certfile: no such file"),
        ({"topics": {}}, r"topics: unknown key"),
    ],
)
def test_bad_ocpp_options_name_the_field(box: dict[str, Any], message: str) -> None:
    with pytest.raises(SiteConfigError, match=message):
        parse_config(_site(**box))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_configured_driver_serves_a_station() -> None:
    port = _free_port()
    cfg = parse_config(_site(host="127.0.0.1", port=port, identity="box-7", safe_limit_w=20000))
    drivers = cfg.build_drivers(clock=ManualClock(1_768_500_000.0))
    wb = drivers.storage["car"]
    assert isinstance(wb, OcppWallbox)
    assert wb.config.limits == WallboxLimits(11000.0, 7000.0)
    assert wb.config.safe_limit_w == 11000.0  # never above the car's own maximum
    await wb.connect()
    try:
        url = wb.url("127.0.0.1")
        assert url == f"ws://127.0.0.1:{port}/ocpp/box-7"
        st = StationClient(StationCore("box-7", "ocpp2.1"), url, "pw", clock=wb._clock)
        await st.tick()
        assert st.core.booted
        await st.close()
    finally:
        await wb.close()
    assert wb.csms._server is None  # the last driver stopped the shared CSMS


@pytest.fixture
def cert_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the CSMS's TLS identity)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "csms.pem", tmp_path / "csms.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
         "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_security_profile_2_tls(cert_pair: tuple[Path, Path]) -> None:
    cert, key = cert_pair
    clock = ManualClock(1_768_500_000.0)
    csms = OcppCsms(CsmsConfig(host="127.0.0.1", port=0, identities={"box": "pw"},
                               certfile=str(cert), keyfile=str(key)), clock=clock)  # fmt: skip
    await csms.start()
    try:
        url = csms.url("box", "127.0.0.1")
        assert url.startswith("wss://")
        trust = ssl.create_default_context(cafile=str(cert))
        st = StationClient(StationCore("box", "ocpp2.0.1"), url, "pw", clock=clock,
                           ssl_context=trust)  # fmt: skip
        await st.tick()
        assert st.core.booted
        await st.close()
        plain = StationClient(StationCore("box", "ocpp2.0.1"), url, "pw", clock=clock)
        with pytest.raises(ssl.SSLError):  # an untrusted certificate is not accepted
            await plain.connect()
    finally:
        await csms.stop()
