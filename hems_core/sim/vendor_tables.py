"""The simulators' own register tables, written from vendor documents, not from the drivers.

Why a second copy: a simulator serving the driver's own map agrees with every mistake in it
(a wrong address, scale, sign or word order passes every test). These tables are typed in
from the sources below, and this module must never import :mod:`hems_core.devices.wallboxes`.
A disagreement between a driver map and a table here is a finding: one of them is wrong.

Sources:

- **Wallbox Quasar 1** — the Modbus address list "provided by Wallbox Chargers S.L. as is",
  published with V2G Liberty: ``SeitaBV/v2g-liberty`` ``app_config/wallbox_modbus_registers.yaml``
  (81 control 0 user / 1 remote; 82 autostart on connect, "resets to default (=enabled) when
  control set to user", "must be set to disabled when controlled from this code"; 83 setpoint
  type 0 current / 1 power; 257 action 1 start, 2 stop, 3 restart, 4 update; 258 current
  setpoint A −32..32; 260 power setpoint W −7400..7400; 537 state; 538 SoC), and the Quasar
  client of ``V2G-liberty/addon-v2g-liberty`` (``chargers/wallbox_quasar_1.py``: 88 Modbus
  idle timeout s; 514 max power 1380..7400 W; 526 actual power s16 W; 539–542 error
  registers; 256 lock; 1–3 firmware/serial; "setting control to user automatically sets
  autostart to enable, set_point to Ampere, idle timeout to 0"). No energy counter is listed.
  Every write in the SeitaBV client is ``write_single_register`` (FC06).
- **ambiCHARGE Home** — register facts of evcc's ``charger/ambibox.go`` as summarised in
  ``reference/peers-evcc-openems-wallboxes.md`` §3.3: input block 4000+200·(c−1): AC power
  +18 int32, energy import/export +26/+28 float, SoC +54 float, session state +82, EV
  connected +84; holding 3000+100·(c−1): +0 target power int32 W, **negative = charge**.
  The session-state numbers are *unverified*; the values here are this project's guess.
- **Sigenergy EVDC** — evcc ``charger/sigenergy-evdc.go``: input 31502 output power S32 W
  (negative while discharging, "to be confirmed on hardware"), 31504 SoC U16 0.1 %, 31513
  running state (0 idle, 1 occupied, 2 preparing, 3 charging, 4 fault, 5 scheduled, 6 ended,
  7 unavailable, 8 discharging, 9 alarm, 10 insulation detection), 31519/31521 total
  charge/discharge energy U32 10 Wh, 31523/31525 rated charge/discharge power U32 W; holding
  41000 start/stop (0 start, 1 stop, single FC06 write only), 41002 charge power limit U32 W
  (never 0: latches a vehicle error; evcc clamps to ≥ 1000 W), 41004 discharge limit U32 W.

The tables use the generic map schema (:func:`hems_core.devices.regmap.parse_device_map`) so the
simulator engine can serve them; the *content* is independent.
"""

from __future__ import annotations

from typing import Any

from hems_core.devices.regmap import DeviceMap, parse_device_map


def _r(name: str, address: int, **kw: Any) -> dict[str, Any]:
    return {"name": name, "address": address, **kw}


def quasar_table() -> DeviceMap:
    """Wallbox Quasar 1 as its vendor list describes it (all holding registers, u16 unless s16)."""
    return parse_device_map(
        {
            "name": "Quasar 1 (sim)",
            "unit_id": 1,
            "limits": {"max_charge_w": 7400, "max_discharge_w": 7400},
            "registers": [
                _r("firmware", 1),
                _r("serial_high", 2),
                _r("serial_low", 3),
                _r("set_control", 81, writable=True, min=0, max=1),
                _r("autostart_on_connect", 82, writable=True, min=0, max=1),
                _r("setpoint_type", 83, writable=True, min=0, max=1),
                _r("modbus_idle_timeout", 88, writable=True, min=0, max=65535),
                _r("lock", 256),
                _r("set_action", 257, writable=True, min=1, max=4),
                _r("current_setpoint", 258, type="s16", writable=True, min=-32, max=32),
                _r("power_setpoint", 260, type="s16", writable=True, min=-7400, max=7400),
                _r("max_available_power", 514, type="s16", writable=True, min=1380, max=7400),
                _r("actual_power", 526, type="s16"),
                _r("charger_state", 537),
                _r("car_soc", 538),
                _r("error_1", 539),
                _r("error_2", 540),
                _r("error_3", 541),
                _r("error_4", 542),
            ],
            "roles": {
                "power": "actual_power",
                "setpoint": "power_setpoint",
                "status": "charger_state",
                "soc": "car_soc",
                "start_stop": "set_action",
                "watchdog": "modbus_idle_timeout",
                "remote_enable": "set_control",
                "setpoint_mode": "setpoint_type",
                "autostart": "autostart_on_connect",
            },
            "constants": {"start": 1, "stop": 2, "remote_enable": 1, "setpoint_mode": 1},
            # the simulator reports the first code of each status
            "status_map": {
                0: "disconnected",
                1: "charging",
                4: "paused",
                7: "error",
                11: "discharging",
            },
        }
    )


def ambicharge_table(connector: int = 1) -> DeviceMap:
    """ambiCHARGE Home, one connector (evcc's ambibox facts; session codes unverified)."""
    ib = 4000 + 200 * (connector - 1)
    hb = 3000 + 100 * (connector - 1)
    return parse_device_map(
        {
            "name": f"ambiCHARGE connector {connector} (sim)",
            "unit_id": 1,
            "limits": {"max_charge_w": 11000, "max_discharge_w": 11000},
            "registers": [
                _r("ac_power", ib + 18, type="s32", table="input"),
                _r("energy_import", ib + 26, type="f32", table="input"),
                _r("energy_export", ib + 28, type="f32", table="input"),
                _r("vehicle_soc", ib + 54, type="f32", table="input"),
                _r("session_state", ib + 82, table="input"),
                _r("ev_connected", ib + 84, table="input"),
                # raw value = −power: the box charges on a negative target (evcc)
                _r("target_power", hb, type="s32", scale=-1.0, writable=True),
            ],
            "roles": {
                "power": "ac_power",
                "energy_in": "energy_import",
                "energy_out": "energy_export",
                "soc": "vehicle_soc",
                "status": "session_state",
                "plugged": "ev_connected",
                "setpoint": "target_power",
            },
            "status_map": {0: "waiting", 2: "charging", 5: "error"},
        }
    )


def sigenergy_evdc_table() -> DeviceMap:
    """Sigenergy EVDC registers on the hybrid inverter (evcc's sigenergy-evdc driver facts)."""
    return parse_device_map(
        {
            "name": "Sigenergy EVDC (sim)",
            "unit_id": 1,
            "limits": {"max_charge_w": 25000, "max_discharge_w": 25000},
            "registers": [
                _r("vehicle_voltage", 31500, table="input", scale=0.1),
                _r("charging_current", 31501, table="input", scale=0.1),
                _r("output_power", 31502, type="s32", table="input"),
                _r("vehicle_soc", 31504, table="input", scale=0.1),
                _r("session_energy", 31505, type="u32", table="input", scale=0.01),
                _r("session_duration", 31507, type="u32", table="input"),
                _r("running_state", 31513, table="input"),
                _r("discharge_current", 31514, table="input", scale=0.1),
                _r("session_discharge_energy", 31515, type="u32", table="input", scale=0.01),
                _r("session_discharge_duration", 31517, type="u32", table="input"),
                _r("total_charge_energy", 31519, type="u32", table="input", scale=0.01),
                _r("total_discharge_energy", 31521, type="u32", table="input", scale=0.01),
                _r("rated_charge_power", 31523, type="u32", table="input"),
                _r("rated_discharge_power", 31525, type="u32", table="input"),
                _r("start_stop", 41000, writable=True, min=0, max=1, single_write=True),
                _r("charge_power_limit", 41002, type="u32", writable=True, min=0),
                _r("discharge_power_limit", 41004, type="u32", writable=True, min=0),
            ],
            "roles": {
                "power": "output_power",
                "soc": "vehicle_soc",
                "status": "running_state",
                "energy_in": "total_charge_energy",
                "energy_out": "total_discharge_energy",
                "max_charge": "rated_charge_power",
                "max_discharge": "rated_discharge_power",
                "start_stop": "start_stop",
                "charge_limit": "charge_power_limit",
                "discharge_limit": "discharge_power_limit",
            },
            "constants": {"start": 0, "stop": 1},
            "status_map": {
                0: "disconnected",
                1: "waiting",
                3: "charging",
                4: "error",
                8: "discharging",
            },
        }
    )
