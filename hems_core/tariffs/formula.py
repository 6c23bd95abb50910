"""A small, safe price formula language for tariffs no template covers.

Users write e.g. ``(spot + 0.02) * 1.21 + where(hour >= 17 and hour < 21, 0.05, 0)`` once; it is
parsed with :mod:`ast` into a whitelist of nodes (numbers, the variables below, arithmetic,
comparisons, ``and``/``or``/``not``, ``min``/``max``/``abs``/``where``) and evaluated on whole numpy
arrays, so there is no ``eval`` and no per-step Python loop.

Variables (one value per 15-minute step, local time): ``spot`` (currency/kWh), ``hour`` (fractional,
13.25 = 13:15), ``weekday`` (0 = Monday), ``month``, ``day`` (of month), ``year``, ``weekend``
(1/0), ``spot_negative`` (1/0).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import PriceDataError

VARIABLES = ("spot", "hour", "weekday", "month", "day", "year", "weekend", "spot_negative")
_FUNCS = ("min", "max", "abs", "where")
_BIN = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
}
_CMP = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
MAX_LENGTH = 500


@dataclass(frozen=True)
class Formula:
    """A validated price expression; call :meth:`evaluate` with the step variables."""

    text: str
    _tree: ast.Expression = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if len(self.text) > MAX_LENGTH:
            raise PriceDataError("tariff", f"formula longer than {MAX_LENGTH} characters")
        try:
            with warnings.catch_warnings():  # e.g. "1or 2": a warning, not our error type
                warnings.simplefilter("ignore", SyntaxWarning)
                tree = ast.parse(self.text, mode="eval")
        except SyntaxError as err:
            raise PriceDataError(
                "tariff", f"formula {self.text!r} does not parse: {err.msg}"
            ) from err
        except (RecursionError, MemoryError, ValueError) as err:
            raise PriceDataError("tariff", "formula is nested too deeply") from err
        callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            _check(node, self.text)
            if isinstance(node, ast.Name) and node.id in _FUNCS and id(node) not in callees:
                raise PriceDataError(
                    "tariff", f"formula {self.text!r}: {node.id} must be called, e.g. {node.id}(…)"
                )
        object.__setattr__(self, "_tree", tree)

    def evaluate(self, variables: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
        """The formula's value per step (a float array as long as ``spot``)."""
        n = len(variables["spot"])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.broadcast_to(
                np.asarray(_eval(self._tree.body, variables), dtype=np.float64), (n,)
            ).copy()
        if not np.all(np.isfinite(out)):
            raise PriceDataError(
                "tariff", f"formula {self.text!r} gives a non-finite price (division by zero?)"
            )
        return out


def _check(node: ast.AST, text: str) -> None:
    ok = (
        ast.Expression,
        ast.BinOp,
        ast.UnaryOp,
        ast.BoolOp,
        ast.Compare,
        ast.Call,
        ast.Name,
        ast.Constant,
        ast.Load,
        ast.USub,
        ast.UAdd,
        ast.Not,
        ast.And,
        ast.Or,
        ast.IfExp,
        *_BIN,
        *_CMP,
    )
    if not isinstance(node, ok):
        raise PriceDataError("tariff", f"formula {text!r}: {type(node).__name__} is not allowed")
    if isinstance(node, ast.Constant) and (
        isinstance(node.value, bool) or not isinstance(node.value, int | float)
    ):
        raise PriceDataError("tariff", f"formula {text!r}: only numbers are allowed as constants")
    if isinstance(node, ast.Name) and node.id not in VARIABLES and node.id not in _FUNCS:
        raise PriceDataError(
            "tariff",
            f"formula {text!r}: unknown name {node.id!r} (use {', '.join(VARIABLES)})",
        )
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS or node.keywords:
            raise PriceDataError(
                "tariff", f"formula {text!r}: only {', '.join(_FUNCS)} can be called"
            )
        want = {"abs": (1, 1), "where": (3, 3), "min": (2, 8), "max": (2, 8)}[node.func.id]
        if not want[0] <= len(node.args) <= want[1]:
            raise PriceDataError(
                "tariff", f"formula {text!r}: wrong number of arguments to {node.func.id}"
            )


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)
        return float(node.value)
    if isinstance(node, ast.Name):
        return np.asarray(env[node.id], dtype=np.float64)
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.Not):
            return np.logical_not(v).astype(np.float64)
        return v
    if isinstance(node, ast.BoolOp):
        vals = [np.asarray(_eval(v, env)) != 0 for v in node.values]
        fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        both = vals[0]
        for v in vals[1:]:
            both = fn(both, v)
        return np.asarray(both, dtype=np.float64)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        acc: Any = True
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env)
            acc = np.logical_and(acc, _CMP[type(op)](left, right))
            left = right
        return np.asarray(acc, dtype=np.float64)
    if isinstance(node, ast.IfExp):
        return np.where(
            np.asarray(_eval(node.test, env)) != 0, _eval(node.body, env), _eval(node.orelse, env)
        )
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_eval(a, env) for a in node.args]
        name = node.func.id
        if name == "abs":
            return np.abs(args[0])
        if name == "where":
            return np.where(np.asarray(args[0]) != 0, args[1], args[2])
        fn2 = np.minimum if name == "min" else np.maximum
        acc2 = args[0]
        for a in args[1:]:
            acc2 = fn2(acc2, a)
        return acc2
    raise PriceDataError("tariff", f"unsupported formula element {type(node).__name__}")
