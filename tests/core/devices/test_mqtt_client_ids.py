"""MQTT client ids differ between processes: a broker drops the older of two equal ids.

Found with ``scripts/develop``: Home Assistant's hems and the P1 simulator each opened their
first client as ``hems-1``, so the set-up flow's check kicked the simulator off the broker.
"""

from __future__ import annotations

import subprocess
import sys

from hems_core.devices.mqtt_client import MqttClient

FIRST_ID = "from hems_core.devices.mqtt_client import MqttClient; print(MqttClient('h').client_id)"


def test_the_first_client_of_two_processes_gets_different_ids() -> None:
    ids = [
        subprocess.run(
            [sys.executable, "-c", FIRST_ID], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert ids[0] != ids[1], ids
    assert all(i.startswith("hems-") and len(i) <= 23 for i in ids), ids  # MQTT 3.1.1 limit


def test_clients_of_one_process_get_different_ids_and_a_given_id_is_kept() -> None:
    assert MqttClient("h").client_id != MqttClient("h").client_id
    assert MqttClient("h", client_id="meter").client_id == "meter"
