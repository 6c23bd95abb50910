"""OCPP-J framing and JSON-schema checks, shared by the CSMS session (sans-IO).

The ``ocpp`` package (extra ``[ocpp]``) ships the official JSON schemas of OCPP 1.6, 2.0.1 and
2.1; we use only its schema loader, so the protocol decisions stay in plain objects and the
package is imported on first use (a clear :class:`ImportError` when the extra is missing).
Error codes follow each version's RPC framework: 1.6 spells ``FormationViolation`` (sic) and has
no ``RpcFrameworkError``; 2.x answers an unreadable frame with message id ``"-1"``.
"""

from __future__ import annotations

import decimal
import json
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import DeviceError

#: websocket subprotocol -> the schema folder name the ``ocpp`` package uses
SUBPROTOCOLS: Final = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1", "ocpp2.1": "2.1"}
CALL, CALLRESULT, CALLERROR = 2, 3, 4

INSTALL_HINT: Final = "OCPP support needs the extra: pip install 'hems-core[ocpp]'"


class OcppError(DeviceError):
    """An OCPP CallError (ours to send, or one the other side sent us)."""

    def __init__(self, code: str, description: str = "") -> None:
        self.code = code
        self.description = description
        super().__init__(f"{code}: {description}" if description else code)


def require_ocpp() -> Any:
    """The ``ocpp.messages`` module, or an ImportError that says how to install it."""
    try:
        import ocpp.messages  # type: ignore[import-untyped]
    except ImportError as err:  # pragma: no cover - the extra is installed in tests
        raise ImportError(INSTALL_HINT) from err
    return ocpp.messages


def error_code(version: str, code: str) -> str:
    """A 2.x error code in the spelling of ``version``."""
    if version == "ocpp1.6":
        return {"FormatViolation": "FormationViolation", "RpcFrameworkError": "GenericError",
                "SecurityError": "GenericError", "MessageTypeNotSupported": "NotSupported",
                }.get(code, code)  # fmt: skip
    return code


def validate(version: str, action: str, payload: Any, *, response: bool = False) -> None:
    """Check ``payload`` against the official schema; :class:`OcppError` when it fails."""
    messages = require_ocpp()
    schema_version = SUBPROTOCOLS[version]
    kind = CALLRESULT if response else CALL
    # 1.6 schemas use multipleOf 0.1 on decimals: compare them as Decimal, not binary floats
    parse_float: Any = decimal.Decimal if schema_version == "1.6" else float
    try:
        validator = messages.get_validator(kind, action, schema_version, parse_float=parse_float)
    except (OSError, ValueError) as err:
        raise OcppError(error_code(version, "NotImplemented"), f"unknown action {action}") from err
    if not isinstance(payload, dict):
        raise OcppError(error_code(version, "FormatViolation"), "payload must be an object")
    data = json.loads(json.dumps(payload), parse_float=parse_float)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if not errors:
        return
    e = errors[0]
    code = {
        "type": "TypeConstraintViolation",
        "maxLength": "TypeConstraintViolation",
        "required": "OccurrenceConstraintViolation",
        "enum": "PropertyConstraintViolation",
    }.get(str(e.validator), "FormatViolation")
    where = "/".join(str(p) for p in e.path) or "payload"
    raise OcppError(error_code(version, code), f"{action} {where}: {e.message[:120]}")


def frame_call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    """``[2, id, action, payload]``."""
    return json.dumps([CALL, unique_id, action, payload], separators=(",", ":"))


def frame_result(unique_id: str, payload: dict[str, Any]) -> str:
    """``[3, id, payload]``."""
    return json.dumps([CALLRESULT, unique_id, payload], separators=(",", ":"))


def frame_error(unique_id: str, code: str, description: str = "") -> str:
    """``[4, id, code, description, {}]``."""
    return json.dumps([CALLERROR, unique_id, code, description[:255], {}], separators=(",", ":"))


def iso(now: float) -> str:
    """Epoch seconds as the UTC ``dateTime`` OCPP uses."""
    return (
        datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def parse_iso(text: str) -> float:
    """An OCPP ``dateTime`` as epoch seconds (ValueError when malformed)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
