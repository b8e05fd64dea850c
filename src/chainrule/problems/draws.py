"""Typed random draws for ``[problem.random]`` tables, shared by every kind.

A rule is a TOML inline table that names a draw and its parameters::

    [problem.random]
    x_plus  = { draw = "int_vector", size = 3, low = -5, high = 5, nonzero = true }
    points  = { draw = "points", n = 6, dim = 2, low = -4, high = 4 }  # no three collinear
    labels  = { draw = "labels", n = 6 }                         # 0 and 1, each at least once
    rate    = { draw = "real", low = 0.1, high = 0.9, digits = 2 }
    g       = { draw = "choice", values = ["tanh", "sigmoid"] }
    require = "..."      # checked by the caller (generate), which redraws up to max_tries times
    max_tries = 100

:data:`DRAWS` names the draws (with a one-line doc each). :func:`validate_rule` checks a rule when
the file is loaded (a kind's ``prepare``); :func:`draw_value` draws one value. Every value drawn is
plain Python data (ints, floats, strings, lists), so a variant can be written back as TOML or JSON.
Sizes are bounded (:data:`MAX_DRAW_ITEMS`), and every error is a
:class:`~chainrule.problems.errors.FormatError` whose field is ``random.<key>``.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from chainrule.problems.errors import FormatError
from chainrule.problems.fields import MAX_ABS, type_name

__all__ = [
    "DRAWS",
    "MAX_DRAW_ITEMS",
    "RESERVED",
    "Draw",
    "draw_table",
    "draw_value",
    "rule_length",
    "validate_rule",
]

#: The most items one draw makes (vector entries, points × coordinates, labels, choices).
MAX_DRAW_ITEMS = 1000
#: The keys of a ``[problem.random]`` table that are not rules (the caller handles them).
RESERVED = ("require", "max_tries")
#: The most determinants a ``points`` draw in general position may need: C(n, dim + 1).
MAX_GENERAL_POSITION_CHECKS = 100_000
#: The most decimal places of a ``real`` draw.
MAX_DIGITS = 12

_REQUIRED = object()


class _RuleError(Exception):
    """A message about one rule; :func:`validate_rule` turns it into a located FormatError."""


# -- parameter types -------------------------------------------------------------------------------


def _integer(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _RuleError(f"{key} must be an integer, got {type_name(value)} {value!r}")
    if abs(value) > MAX_ABS:
        raise _RuleError(f"{key} = {value} is larger in magnitude than the limit {MAX_ABS:g}")
    return int(value)


def _number(value: Any, key: str) -> int | float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _RuleError(f"{key} must be a number, got {type_name(value)} {value!r}")
    if not math.isfinite(value) or abs(value) > MAX_ABS:
        raise _RuleError(f"{key} = {value} must be finite and at most {MAX_ABS:g} in magnitude")
    return value


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _RuleError(f"{key} must be true or false, got {type_name(value)} {value!r}")
    return value


def _values(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _RuleError(f"{key} must be a non-empty array, got {type_name(value)} {value!r}")
    if len(value) > MAX_DRAW_ITEMS:
        raise _RuleError(f"{key} has {len(value)} items; the limit is {MAX_DRAW_ITEMS}")
    return list(value)


def _count(value: Any, key: str) -> int:
    n = _integer(value, key)
    if not 1 <= n <= MAX_DRAW_ITEMS:
        raise _RuleError(f"{key} = {n} must be between 1 and {MAX_DRAW_ITEMS}")
    return n


Param = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Draw:
    """One draw: its name, a one-line doc, its parameters (type and default, or required), its code.

    ``check`` tests the parameters' meaning (``low <= high``, a size within bounds) and raises
    ``_RuleError``; ``run`` draws with a ``numpy.random.Generator``.
    """

    name: str
    doc: str
    params: Mapping[str, tuple[Param, Any]]
    check: Callable[[dict[str, Any]], None]
    run: Callable[[dict[str, Any], np.random.Generator], Any]

    @property
    def signature(self) -> str:
        """``int_vector {size, low, high, nonzero = false}`` (for docs)."""
        parts = [k if d is _REQUIRED else f"{k} = {_toml(d)}" for k, (_, d) in self.params.items()]
        return f"{self.name} {{{', '.join(parts)}}}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


# -- the checks of meaning -------------------------------------------------------------------------


def _low_high(p: dict[str, Any]) -> None:
    if p["low"] > p["high"]:
        raise _RuleError(f"low = {p['low']} is greater than high = {p['high']}")


def _check_real(p: dict[str, Any]) -> None:
    _low_high(p)
    digits = p["digits"]
    if not 0 <= digits <= MAX_DIGITS:
        raise _RuleError(f"digits = {digits} must be between 0 and {MAX_DIGITS}")
    if max(abs(p["low"]), abs(p["high"])) * 10**digits > MAX_ABS:
        raise _RuleError(
            f"low and high with {digits} decimal places exceed {MAX_ABS:g} units; use fewer digits"
        )
    _real_grid(p)  # raises when no value with that many decimals lies in [low, high]


def _check_choice(p: dict[str, Any]) -> None:
    for i, v in enumerate(p["values"]):
        if isinstance(v, float) and not math.isfinite(v):
            raise _RuleError(f"values item {i} is {v}; values must be finite")


def _check_int_vector(p: dict[str, Any]) -> None:
    _count(p["size"], "size")
    _low_high(p)
    if p["nonzero"] and p["low"] == p["high"] == 0:
        raise _RuleError("nonzero = true, but 0 is the only integer in [low, high]")


def _check_points(p: dict[str, Any]) -> None:
    n, dim = _count(p["n"], "n"), _count(p["dim"], "dim")
    if n * dim > MAX_DRAW_ITEMS:
        raise _RuleError(f"n × dim = {n * dim} coordinates; the limit is {MAX_DRAW_ITEMS}")
    _low_high(p)
    side = p["high"] - p["low"] + 1
    if side**dim < n:
        raise _RuleError(
            f"only {side**dim} distinct integer points lie in [{p['low']}, {p['high']}]^{dim}; "
            f"{n} are asked for"
        )
    if p["general_position"] and dim > 1:
        # A hyperplane x_1 = c holds at most dim points of a set in general position, and `side` of
        # them cover the grid: more than dim·side points cannot be in general position.
        if n > dim * side:
            raise _RuleError(
                f"at most {dim * side} integer points in [{p['low']}, {p['high']}]^{dim} are in "
                f"general position; {n} are asked for (widen low..high)"
            )
        checks = math.comb(n, dim + 1)
        if checks > MAX_GENERAL_POSITION_CHECKS:
            raise _RuleError(
                f"checking {n} points in {dim} dimensions for general position takes {checks} "
                f"determinants; the limit is {MAX_GENERAL_POSITION_CHECKS} (use fewer points or "
                "general_position = false)"
            )


def _scalar_label(v: Any) -> bool:
    return isinstance(v, (int, float, str)) and not isinstance(v, bool)


def _check_labels(p: dict[str, Any]) -> None:
    n = _count(p["n"], "n")
    values = p["values"]
    for i, v in enumerate(values):
        if not _scalar_label(v) or (isinstance(v, float) and not math.isfinite(v)):
            raise _RuleError(f"values item {i} must be a number or a string, got {v!r}")
    for i, j in itertools.combinations(range(len(values)), 2):
        if values[i] == values[j]:
            raise _RuleError(f"values items {i} and {j} are both {values[i]!r}; labels must differ")
    if n < len(values):
        raise _RuleError(
            f"n = {n} labels cannot hold each of the {len(values)} values at least once"
        )


# -- the draws -------------------------------------------------------------------------------------


def _run_int(p: dict[str, Any], rng: np.random.Generator) -> int:
    return int(rng.integers(p["low"], p["high"], endpoint=True))


def _real_grid(p: dict[str, Any]) -> tuple[int, int, int]:
    """``(lo, hi, scale)``: the decimals in range are ``k / scale`` with ``lo <= k <= hi``."""
    scale = 10 ** p["digits"]
    # Decimal values as written (0.1 is 1/10, not its binary neighbour), so the grid ends are exact.
    lo = math.ceil(Fraction(repr(p["low"])) * scale)
    hi = math.floor(Fraction(repr(p["high"])) * scale)
    if lo > hi:
        raise _RuleError(
            f"no number with {p['digits']} decimal places lies in [{p['low']}, {p['high']}]"
        )
    return lo, hi, scale


def _run_real(p: dict[str, Any], rng: np.random.Generator) -> float:
    lo, hi, scale = _real_grid(p)
    # A uniform draw on the grid of the given decimals, so rounding never leaves [low, high].
    return float(Fraction(int(rng.integers(lo, hi, endpoint=True)), scale))


def _run_choice(p: dict[str, Any], rng: np.random.Generator) -> Any:
    values = p["values"]
    return copy.deepcopy(values[int(rng.integers(len(values)))])


def _run_int_vector(p: dict[str, Any], rng: np.random.Generator) -> list[int]:
    low, high, size = p["low"], p["high"], p["size"]
    if not p["nonzero"]:
        return [int(v) for v in rng.integers(low, high, size=size, endpoint=True)]
    skip = low <= 0 <= high
    count = high - low + 1 - int(skip)
    v = low + rng.integers(0, count, size=size)
    if skip:
        v = np.where(v >= 0, v + 1, v)  # the values from 0 up move one step: 0 is never drawn
    return [int(x) for x in v]


def _det(rows: Sequence[Sequence[int]]) -> int:
    """The determinant of a square integer matrix, exactly (Bareiss's fraction-free elimination)."""
    m = [list(r) for r in rows]
    k = len(m)
    if k == 1:
        return m[0][0]
    if k == 2:
        return m[0][0] * m[1][1] - m[0][1] * m[1][0]
    sign, prev = 1, 1
    for c in range(k - 1):
        piv = next((r for r in range(c, k) if m[r][c] != 0), None)
        if piv is None:
            return 0
        if piv != c:
            m[c], m[piv] = m[piv], m[c]
            sign = -sign
        for i in range(c + 1, k):
            for j in range(c + 1, k):
                m[i][j] = (m[i][j] * m[c][c] - m[i][c] * m[c][j]) // prev
        prev = m[c][c]
    return sign * m[k - 1][k - 1]


def _independent(vectors: Sequence[Sequence[int]]) -> bool:
    """Whether fewer than ``dim`` integer vectors are linearly independent (exact elimination)."""
    rows = [[Fraction(v) for v in vec] for vec in vectors]
    rank = 0
    cols = len(rows[0]) if rows else 0
    for c in range(cols):
        piv = next((r for r in range(rank, len(rows)) if rows[r][c] != 0), None)
        if piv is None:
            continue
        rows[rank], rows[piv] = rows[piv], rows[rank]
        for r in range(rank + 1, len(rows)):
            f = rows[r][c] / rows[rank][c]
            rows[r] = [a - f * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank == len(rows)


def _keeps_general_position(chosen: Sequence[tuple[int, ...]], cand: tuple[int, ...]) -> bool:
    """Whether ``chosen`` (in general position) plus ``cand`` is still in general position.

    In ``dim`` dimensions: no ``dim + 1`` points on one affine hyperplane, i.e. for every ``dim``
    chosen points the differences from ``cand`` have a non-zero determinant (and, while fewer than
    ``dim`` are chosen, the differences are linearly independent).
    """
    dim = len(cand)
    diffs = [tuple(a - b for a, b in zip(p, cand, strict=True)) for p in chosen]
    if len(diffs) < dim:
        return not diffs or _independent(diffs)
    return all(_det(sub) != 0 for sub in itertools.combinations(diffs, dim))


def _run_points(p: dict[str, Any], rng: np.random.Generator) -> list[list[int]]:
    n, dim, low, high = p["n"], p["dim"], p["low"], p["high"]
    general = p["general_position"] and dim > 1  # in 1-D, distinct points are in general position
    chosen: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()
    budget = 100 * n + 1000  # rejection sampling: enough on any grid with room to spare
    for _ in range(budget):
        cand = tuple(int(v) for v in rng.integers(low, high, size=dim, endpoint=True))
        if cand in seen or (general and not _keeps_general_position(chosen, cand)):
            continue
        chosen.append(cand)
        seen.add(cand)
        if len(chosen) == n:
            return [list(c) for c in chosen]
    what = "in general position" if general else "distinct"
    raise _RuleError(
        f"could not draw {n} {what} integer points in [{low}, {high}]^{dim} in {budget} tries; "
        "widen low..high or ask for fewer points"
    )


def _run_labels(p: dict[str, Any], rng: np.random.Generator) -> list[Any]:
    values = p["values"]
    k = len(values)
    # Each value once, the rest at random, then shuffled: every class is present.
    idx = np.concatenate([np.arange(k), rng.integers(0, k, size=p["n"] - k)])
    return [copy.deepcopy(values[int(i)]) for i in rng.permutation(idx)]


#: Every draw by name.
DRAWS: dict[str, Draw] = {
    d.name: d
    for d in (
        Draw(
            "int",
            "an integer, uniform in [low, high]",
            {"low": (_integer, _REQUIRED), "high": (_integer, _REQUIRED)},
            _low_high,
            _run_int,
        ),
        Draw(
            "real",
            "a decimal with `digits` places, uniform on that grid in [low, high]",
            {"low": (_number, _REQUIRED), "high": (_number, _REQUIRED), "digits": (_integer, 1)},
            _check_real,
            _run_real,
        ),
        Draw(
            "choice",
            "one of `values`, each equally likely",
            {"values": (_values, _REQUIRED)},
            _check_choice,
            _run_choice,
        ),
        Draw(
            "int_vector",
            "`size` integers, each uniform in [low, high] (without 0 when `nonzero`)",
            {
                "size": (_integer, _REQUIRED),
                "low": (_integer, _REQUIRED),
                "high": (_integer, _REQUIRED),
                "nonzero": (_boolean, False),
            },
            _check_int_vector,
            _run_int_vector,
        ),
        Draw(
            "points",
            "`n` distinct integer points in [low, high]^dim; in general position, no dim+1 of them "
            "on one hyperplane",
            {
                "n": (_integer, _REQUIRED),
                "dim": (_integer, _REQUIRED),
                "low": (_integer, _REQUIRED),
                "high": (_integer, _REQUIRED),
                "general_position": (_boolean, True),
            },
            _check_points,
            _run_points,
        ),
        Draw(
            "labels",
            "`n` labels from `values`, in random order, every value at least once",
            {"n": (_integer, _REQUIRED), "values": (_values, [0, 1])},
            _check_labels,
            _run_labels,
        ),
    )
}


# -- the public functions --------------------------------------------------------------------------


def _example() -> str:
    return '{ draw = "int_vector", size = 3, low = -5, high = 5 }'


def _params(rule: Any) -> tuple[Draw, dict[str, Any]]:
    """The draw a rule names and its parameters with defaults filled in; raises ``_RuleError``."""
    if not isinstance(rule, dict):
        raise _RuleError(f"a rule is a table like {_example()}, got {type_name(rule)} {rule!r}")
    name = rule.get("draw")
    if name is None:
        raise _RuleError(f"the rule has no draw; write e.g. {_example()}")
    if not isinstance(name, str) or name not in DRAWS:
        raise _RuleError(f"unknown draw {name!r}; the draws are {', '.join(DRAWS)}")
    spec = DRAWS[name]
    for key in rule:
        if key != "draw" and key not in spec.params:
            raise _RuleError(
                f"unknown key {key!r} for draw {name!r}; its keys are {', '.join(spec.params)}"
            )
    params: dict[str, Any] = {}
    for key, (check, default) in spec.params.items():
        if key in rule:
            params[key] = check(rule[key], key)
        elif default is _REQUIRED:
            raise _RuleError(f"draw {name!r} needs {key!r}: {spec.signature}")
        else:
            params[key] = copy.deepcopy(default)
    spec.check(params)
    return spec, params


def validate_rule(rule: Any, field: str) -> dict[str, Any]:
    """Check a rule of ``[problem.random]`` without drawing; returns its parameters, with defaults.

    Args:
        rule: the raw TOML value (a table with ``draw`` and the draw's keys).
        field: the given it draws (``x_plus``); errors name ``random.<field>``.

    Raises:
        FormatError: not a table, an unknown draw, an unknown or missing key, a wrong type,
            ``low > high``, a size above :data:`MAX_DRAW_ITEMS`, or a request that cannot be met
            (more points than fit).
    """
    try:
        _, params = _params(rule)
    except _RuleError as exc:
        raise FormatError(str(exc), field=f"random.{field}") from None
    return params


def draw_value(rule: Any, rng: np.random.Generator, *, field: str) -> Any:
    """Draw one value for a rule: plain ints, floats, strings and lists (TOML- and JSON-able).

    Args:
        rule: the raw TOML table, e.g. ``{draw = "points", n = 5, dim = 2, low = -3, high = 3}``.
        rng: the generator to draw from (the caller seeds it: same seed, same value).
        field: the given it draws; errors name ``random.<field>``.

    Returns:
        ``int`` → int; ``real`` → float; ``choice`` → one of the values; ``int_vector`` → list of
        ``size`` ints; ``points`` → ``n`` lists of ``dim`` ints; ``labels`` → list of ``n`` values.

    Raises:
        FormatError: as :func:`validate_rule`, or when the draw fails to meet its constraints in its
            budget of tries (points in general position on too small a grid).
    """
    try:
        spec, params = _params(rule)
        return spec.run(params, rng)
    except _RuleError as exc:
        raise FormatError(str(exc), field=f"random.{field}") from None


def rule_length(rule: Any) -> int | None:
    """How many items a valid rule's value has (``size`` or ``n``), or ``None`` when not fixed.

    Kinds use it at load time to check that drawn points and labels agree in number.
    """
    if not isinstance(rule, dict):
        return None
    name = rule.get("draw")
    key = (
        {"int_vector": "size", "points": "n", "labels": "n"}.get(name)
        if isinstance(name, str)
        else None
    )
    value = rule.get(key) if key else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def draw_table(
    random: Mapping[str, Any], rng: np.random.Generator, fields: Sequence[str] | None = None
) -> dict[str, Any]:
    """Draw every rule of a ``[problem.random]`` table, in the table's order (``require`` and
    ``max_tries`` are skipped: the caller handles them).

    Args:
        random: the table.
        rng: the generator.
        fields: when given, only these keys are drawn.

    Raises:
        FormatError: as :func:`draw_value`, naming the rule's field.
    """
    out: dict[str, Any] = {}
    for key, rule in random.items():
        if key in RESERVED or (fields is not None and key not in fields):
            continue
        out[key] = draw_value(rule, rng, field=key)
    return out
