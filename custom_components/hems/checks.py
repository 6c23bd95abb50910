"""Connection tests the subentry flows run before saving a device (real connections, no guesses).

Each returns None when the device answered, or the reason (the device layer's message) for the
form's translated error. Nothing is written to a device: wallboxes and inverters are only read,
so a test never takes control or changes a setpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hems_core.devices.errors import DeviceError
from hems_core.devices.modbus_client import ModbusTcpClient
from hems_core.devices.mqtt_client import MqttClient
from hems_core.devices.sunspec import SunSpecInverter
from hems_core.devices.sunspec_battery import SunSpecBattery
from hems_core.devices.wallboxes import ModbusWallbox, SigenergyEvdcWallbox, ambicharge, quasar

#: Seconds a connection test waits for an answer (a P1 meter publishes every 1..10 s).
TIMEOUT_S = 3.0
MQTT_WAIT_S = 12.0


async def modbus_wallbox(wallbox: dict[str, Any]) -> str | None:
    """Read the wallbox's state once over Modbus TCP with the driver the runtime will use."""
    client = ModbusTcpClient(str(wallbox["host"]), int(wallbox["port"]), timeout=TIMEOUT_S)
    kind = wallbox["type"]
    drv: ModbusWallbox
    if kind == "quasar":
        drv = quasar(client)
    elif kind == "ambicharge":
        drv = ambicharge(client, int(wallbox.get("connector", 1)))
    else:
        drv = SigenergyEvdcWallbox(client)
    if wallbox.get("unit_id") is not None:
        import dataclasses

        drv.map = dataclasses.replace(drv.map, unit_id=int(wallbox["unit_id"]))
        drv.device.map = drv.map
    try:
        await drv.read_state()
    except DeviceError as err:
        return str(err)
    finally:
        await client.close()
    return None


async def sunspec(device: dict[str, Any], *, battery: bool = False) -> str | None:
    """Discover the SunSpec models and read the inverter's (or battery's) state once."""
    client = ModbusTcpClient(str(device["host"]), int(device["port"]), timeout=TIMEOUT_S)
    cls = SunSpecBattery if battery else SunSpecInverter
    drv = cls(client, unit_id=int(device.get("unit_id") or 1))
    try:
        await drv.read_state()
    except DeviceError as err:
        return str(err)
    finally:
        await client.close()
    return None


async def mqtt_topic(
    host: str,
    port: int,
    topic: str,
    username: str | None = None,
    password: str | None = None,
    wait_s: float | None = None,
) -> str | None:
    """Connect to the broker and wait for one message on ``topic`` (wildcards allowed)."""
    wait_s = MQTT_WAIT_S if wait_s is None else wait_s
    client = MqttClient(host, port, username=username, password=password, timeout=TIMEOUT_S)
    got = asyncio.Event()
    client.subscribe(topic, lambda _t, _p: got.set())
    try:
        await client.connect()
        await asyncio.wait_for(got.wait(), wait_s)
    except DeviceError as err:
        return str(err)
    except TimeoutError:
        return f"no message on {topic} within {wait_s:g} s"
    finally:
        with contextlib.suppress(DeviceError):
            await client.close()
    return None
