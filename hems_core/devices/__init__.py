"""Device drivers: wallboxes, PV inverters, home batteries and P1 meters.

The public API is re-exported here: the device protocols (:class:`Wallbox`, :class:`Inverter`,
:class:`Battery`, :class:`Meter`), the values they return, the driver constructors and the
typed errors. Everything else is an implementation detail of its module.
"""

from .errors import (
    ConfigError,
    DeviceConnectionError,
    DeviceError,
    DeviceTimeoutError,
    ModbusExceptionError,
    PayloadError,
    ProtocolError,
    StaleDataError,
    TelegramError,
    ValueOutOfRangeError,
    WriteRefusedError,
)
from .modbus_client import ModbusClientPool, ModbusTcpClient
from .model import (
    Battery,
    BatteryLimits,
    BatteryMode,
    HomeBatteryState,
    Inverter,
    InverterState,
    Meter,
    MeterReading,
    PeakRecord,
    Wallbox,
    WallboxLimits,
    WallboxState,
    WallboxStatus,
)
from .mqtt_client import MqttClient
from .mqtt_wallbox import MqttWallbox, MqttWallboxConfig
from .regmap import DeviceMap, load_device_map, parse_device_map
from .sunspec import SunSpecInverter
from .sunspec_battery import SunSpecBattery
from .wallboxes import ModbusWallbox, SigenergyEvdcWallbox, ambicharge, quasar

__all__ = [
    "Battery",
    "BatteryLimits",
    "BatteryMode",
    "ConfigError",
    "DeviceConnectionError",
    "DeviceError",
    "DeviceMap",
    "DeviceTimeoutError",
    "HomeBatteryState",
    "Inverter",
    "InverterState",
    "Meter",
    "MeterReading",
    "ModbusClientPool",
    "ModbusExceptionError",
    "ModbusTcpClient",
    "ModbusWallbox",
    "MqttClient",
    "MqttWallbox",
    "MqttWallboxConfig",
    "PayloadError",
    "PeakRecord",
    "ProtocolError",
    "SigenergyEvdcWallbox",
    "StaleDataError",
    "SunSpecBattery",
    "SunSpecInverter",
    "TelegramError",
    "ValueOutOfRangeError",
    "Wallbox",
    "WallboxLimits",
    "WallboxState",
    "WallboxStatus",
    "WriteRefusedError",
    "ambicharge",
    "load_device_map",
    "parse_device_map",
    "quasar",
]
