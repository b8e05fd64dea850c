"""Typed field validators for problem-set tables: each takes the raw TOML value and returns it checked.

A validator raises :class:`~chainrule.problems.errors.FormatError` with the message only; the caller
(:mod:`chainrule.problems.schema`) adds the file, line, problem, part and field. Sizes are bounded so that a
file cannot make us allocate without limit (:data:`MAX_ITEMS`, :data:`MAX_TEXT`, :data:`MAX_ABS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chainrule.problems.errors import FormatError

__all__ = [
    "MAX_ABS",
    "MAX_ITEMS",
    "MAX_TEXT",
    "Field",
    "any_value",
    "boolean",
    "choice",
    "integer",
    "number",
    "number_matrix",
    "number_vector",
    "positive",
    "string",
    "string_list",
    "string_table",
    "table",
    "type_name",
]

#: The most items in one list (coordinates, points, edges, parts...).
MAX_ITEMS = 10_000
#: The longest string (a statement, an expression).
MAX_TEXT = 100_000
#: The largest magnitude of a number given in a file.
MAX_ABS = 1e15

Validator = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    """A key of a table: its validator, whether it must be there, and what it is for (for docs/errors)."""

    check: Validator
    required: bool = False
    doc: str = ""


def type_name(value: Any) -> str:
    """The TOML type of a parsed value, as an error message names it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _expect(ok: bool, what: str, value: Any) -> None:
    if not ok:
        raise FormatError(f"expected {what}, got {type_name(value)} {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def any_value(value: Any) -> Any:
    return value


def boolean(value: Any) -> bool:
    _expect(isinstance(value, bool), "true or false", value)
    return bool(value)


def number(value: Any) -> int | float:
    """An int or a finite float of magnitude at most :data:`MAX_ABS`."""
    _expect(isinstance(value, (int, float)) and not isinstance(value, bool), "a number", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise FormatError(f"expected a finite number, got {value}")
    if abs(value) > MAX_ABS:
        raise FormatError(f"{_short(value)} is larger in magnitude than the limit {MAX_ABS:g}")
    return value


def positive(value: Any) -> int | float:
    v = number(value)
    if v <= 0:
        raise FormatError(f"expected a positive number, got {v}")
    return v


def integer(value: Any) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool), "an integer", value)
    if abs(value) > MAX_ABS:
        raise FormatError(f"{value} is larger in magnitude than the limit {MAX_ABS:g}")
    return int(value)


def string(value: Any) -> str:
    _expect(isinstance(value, str), "a string", value)
    if len(value) > MAX_TEXT:
        raise FormatError(f"the text is {len(value)} characters long; the limit is {MAX_TEXT}")
    return str(value)


def _list(value: Any, what: str) -> list[Any]:
    _expect(isinstance(value, list), what, value)
    if len(value) > MAX_ITEMS:
        raise FormatError(f"{len(value)} items; the limit is {MAX_ITEMS}")
    return list(value)


def string_list(value: Any) -> list[str]:
    items = _list(value, "an array of strings")
    for i, v in enumerate(items):
        if not isinstance(v, str):
            raise FormatError(f"item {i} must be a string, got {type_name(v)} {_short(v)}")
        string(v)
    return items


def number_vector(value: Any) -> list[int | float]:
    """A non-empty array of numbers."""
    items = _list(value, "an array of numbers")
    if not items:
        raise FormatError("expected a non-empty array of numbers, got []")
    out = []
    for i, v in enumerate(items):
        try:
            out.append(number(v))
        except FormatError as exc:
            raise FormatError(f"item {i}: {exc.message}") from None
    return out


def number_matrix(value: Any) -> list[list[int | float]]:
    """A non-empty array of equally long, non-empty arrays of numbers (one row a point)."""
    rows = _list(value, "an array of rows (arrays of numbers)")
    if not rows:
        raise FormatError("expected at least one row, got []")
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(number_vector(row))
        except FormatError as exc:
            raise FormatError(f"row {i}: {exc.message}") from None
        if len(out[-1]) != len(out[0]):
            raise FormatError(f"row {i} has {len(out[-1])} numbers but row 0 has {len(out[0])}")
    if len(out) * len(out[0]) > MAX_ITEMS:
        raise FormatError(f"{len(out)}×{len(out[0])} numbers; the limit is {MAX_ITEMS}")
    return out


def table(value: Any) -> dict[str, Any]:
    _expect(isinstance(value, dict), "a table", value)
    if len(value) > MAX_ITEMS:
        raise FormatError(f"{len(value)} keys; the limit is {MAX_ITEMS}")
    return dict(value)


def string_table(value: Any) -> dict[str, str]:
    """A table whose values are strings (declarations, functions, shapes)."""
    out = table(value)
    for k, v in out.items():
        if not isinstance(v, str):
            raise FormatError(f"key {k!r} must be a string, got {type_name(v)} {_short(v)}")
        string(v)
    return out


def choice(options: Sequence[str]) -> Validator:
    """A validator accepting one of ``options`` (strings)."""

    def check(value: Any) -> str:
        _expect(isinstance(value, str), f"one of {', '.join(map(repr, options))}", value)
        if value not in options:
            raise FormatError(
                f"unknown value {value!r}; choose one of {', '.join(map(repr, options))}"
            )
        return str(value)

    return check
