"""hems_core: home energy management for bidirectional EVs (V2H/V2B).

Pure Python, no Home Assistant imports. Data flows one way:
devices -> control (state) -> optimize (plan) -> control (setpoints) -> devices.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
