"""Write the TOML this package reads back: problem sets and answer keys made by ``generate``.

Only what those hold: tables, arrays of tables, strings, integers, finite floats, booleans and arrays.
Strings are written as basic strings with every escape TOML needs, so a round trip through ``tomllib``
gives the same data (tested).
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["dumps"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+\Z")


def _key(k: str) -> str:
    return k if _BARE.match(k) else _string(k)


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"TOML here holds finite numbers only, got {v}")
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }"
    raise ValueError(f"cannot write a {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(data: dict[str, Any], prefix: str, lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not (isinstance(v, dict) or _is_table_array(v))}
    for k, v in plain.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in data.items():
        if k in plain:
            continue
        name = f"{prefix}.{_key(k)}" if prefix else _key(k)
        if isinstance(v, dict):
            lines.append("")
            lines.append(f"[{name}]")
            _table(v, name, lines)
        else:
            for item in v:
                lines.append("")
                lines.append(f"[[{name}]]")
                _table(item, name, lines)


def dumps(data: dict[str, Any]) -> str:
    """``data`` as TOML text.

    Raises:
        ValueError: a value TOML cannot hold here (a non-finite float, another type).
    """
    lines: list[str] = []
    _table(data, "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"
