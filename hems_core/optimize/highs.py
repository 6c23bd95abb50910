"""A silent HiGHS instance on every supported highspy version, its log routed to ``logging``.

highspy 1.16 prints a two-line banner to the process's stdout from its Python wrapper
(``highspy.Highs()`` installs callbacks, and the first logged message with output on writes
the header). A library must not print: it would corrupt ``hems … --json`` output and spill
into Home Assistant's stdout on every solve. So we construct the compiled base class where
the wrapper has one (feature-detected through the MRO: ``highspy._core._Highs`` in 1.16,
``highspy.highs_bindings._Highs`` in older releases) and switch output off before anything is
passed. When this module's logger is enabled for DEBUG, HiGHS' log is forwarded to it through
the logging callback instead of the console (where the version offers one).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

_LOGGER = logging.getLogger(__name__)


def _base_class(highspy: Any) -> Any:
    """The compiled class under ``highspy.Highs`` (no wrapper side effects), else ``Highs``."""
    cls = highspy.Highs
    for klass in getattr(cls, "__mro__", (cls,)):
        if klass.__name__ == "_Highs":
            return klass
    return cls


def _forward_log(callback_type: Any, message: str, *_: Any) -> None:
    _LOGGER.debug("HiGHS: %s", message.rstrip())


def new_highs() -> Any:
    """A fresh HiGHS object that writes nothing to stdout or stderr."""
    highspy: Any = importlib.import_module("highspy")
    h = _base_class(highspy)()
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("output_flag", False)
    if _LOGGER.isEnabledFor(logging.DEBUG):
        _enable_log_callback(highspy, h)
    return h


def _enable_log_callback(highspy: Any, h: Any) -> None:
    """Send HiGHS' log to ``logging`` (debug); silently absent on versions without callbacks."""
    cb_mod = getattr(highspy, "cb", None)
    kind = getattr(getattr(cb_mod, "HighsCallbackType", None), "kCallbackLogging", None)
    if kind is None or not hasattr(h, "setCallback") or not hasattr(h, "startCallback"):
        return
    try:
        h.setCallback(_forward_log, None)
        h.startCallback(kind)
        h.setOptionValue("output_flag", True)  # log_to_console stays False
    except Exception:  # an older binding with another callback signature: stay silent
        _LOGGER.debug("HiGHS log callback unavailable on this highspy version", exc_info=True)
        h.setOptionValue("output_flag", False)
