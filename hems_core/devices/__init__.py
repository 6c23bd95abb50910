"""Device drivers: wallboxes, PV inverters and P1 meters (sans-IO codecs + asyncio transports)."""
