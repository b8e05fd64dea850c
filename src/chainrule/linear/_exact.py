"""Exact rational arithmetic for the linear package: conversions, a small exact solver, and number formatting.

Floats are binary rationals, so every float64 array has an exact integer form ``X = Xi / S`` with ``Xi`` a
matrix of Python ints and ``S`` a power of two; sign checks on ``Xi`` are exact and far cheaper than
``Fraction`` arithmetic. Everything here is private to :mod:`chainrule.linear`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from numbers import Rational
from typing import Any

import numpy as np

__all__ = [
    "MAX_EXPONENT",
    "MAX_NUMBER_CHARS",
    "NumberLimitError",
    "as_fraction",
    "format_number",
    "format_weight",
    "integer_matrix",
    "integer_vector",
    "rationalize",
    "solve_exact",
]

Number = Fraction | float

#: Unicode vulgar fractions, used where one exists for a weight p/q.
_VULGAR: dict[tuple[int, int], str] = {
    (1, 2): "½",
    (1, 3): "⅓",
    (2, 3): "⅔",
    (1, 4): "¼",
    (3, 4): "¾",
    (1, 5): "⅕",
    (2, 5): "⅖",
    (3, 5): "⅗",
    (4, 5): "⅘",
    (1, 6): "⅙",
    (5, 6): "⅚",
    (1, 7): "⅐",
    (1, 8): "⅛",
    (3, 8): "⅜",
    (5, 8): "⅝",
    (7, 8): "⅞",
    (1, 9): "⅑",
    (1, 10): "⅒",
}


#: The longest number text :func:`as_fraction` reads (digits, sign, point, exponent, ``/``).
MAX_NUMBER_CHARS = 100
#: The largest written exponent :func:`as_fraction` reads: ``1e400`` and ``1e-400`` are read exactly;
#: ``1e999999999`` is refused at once instead of building a billion-digit power of ten.
MAX_EXPONENT = 400

_EXPONENT = re.compile(r"[eE]\s*([-+]?[0-9_]+)")


class NumberLimitError(ValueError):
    """A number text beyond :data:`MAX_NUMBER_CHARS` characters or :data:`MAX_EXPONENT` in its exponent."""


def _check_number_text(text: str) -> None:
    """Raises :class:`NumberLimitError` for a number text too long or with too large an exponent."""
    if len(text) > MAX_NUMBER_CHARS:
        raise NumberLimitError(
            f"a number of {len(text):,} characters; the limit is {MAX_NUMBER_CHARS} characters"
        )
    m = _EXPONENT.search(text)
    if m is not None:
        digits = m.group(1).replace("_", "")
        if digits.lstrip("+-").isdigit() and abs(int(digits)) > MAX_EXPONENT:
            raise NumberLimitError(
                f"{text!r} has exponent {int(digits)}; the limit is ±{MAX_EXPONENT}"
            )


def as_fraction(value: Any) -> Fraction:
    """An exact ``Fraction`` for an int, ``Fraction``, float (its exact binary value) or numeric string.

    A string is at most :data:`MAX_NUMBER_CHARS` characters with an exponent of at most
    :data:`MAX_EXPONENT` in magnitude, so that reading it is instant.

    Raises:
        NumberLimitError: a string beyond those limits (a ``ValueError``).
        ValueError: ``value`` is NaN, infinite, or a string that is not a number.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (bool, np.bool_)):
        return Fraction(int(value))
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    if isinstance(value, Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, str):
        text = value.strip()
        _check_number_text(text)
        try:
            return Fraction(text)
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"{f} is not a finite number")
    return Fraction(f)


def format_number(value: Any) -> str:
    """A short exact-looking form: integers without decimals, fractions as ``p/q``, other floats to 6 digits."""
    if isinstance(value, Fraction):
        if value.denominator == 1 and abs(value.numerator) < 10**15:
            return str(value.numerator)
        if value.denominator <= 10**4 and abs(value.numerator) < 10**8:
            return f"{value.numerator}/{value.denominator}"
        return _fraction_decimal(value)  # a long exact ratio reads worse than its 6-digit decimal
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    f = float(value)
    if math.isfinite(f) and f == round(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.6g}"


def _fraction_decimal(value: Fraction) -> str:
    """A rational to 6 significant digits, even beyond the float range (1e-400, 1e400)."""
    f = float(value) if abs(value.numerator) < 10**300 * value.denominator else math.inf
    if f != 0 and math.isfinite(f) and abs(f) > 1e-300:
        return format_number(f)
    if value == 0:
        return "0"
    exp = math.floor(math.log10(abs(value.numerator)) - math.log10(value.denominator))
    mant = float(value / Fraction(10) ** exp)
    if abs(mant) >= 10:  # the logarithms rounded down one digit short
        mant, exp = mant / 10, exp + 1
    return f"{mant:.6g}e{exp:+d}"


def format_coordinate(value: Any) -> str:
    """A data coordinate: an integer plainly, a float as Python writes it, any other rational as ``p/q``."""
    if isinstance(value, Fraction):
        if value.denominator == 1 and abs(value.numerator) < 10**15:
            return str(value.numerator)
        if not 1e-300 < abs(value) < 1e300:
            return _fraction_decimal(value)
        f = float(value)
        if Fraction(f) == value and len(repr(f)) <= 10:
            return repr(f)
        if value.denominator <= 1000 and abs(value.numerator) < 10**6:
            return f"{value.numerator}/{value.denominator}"
        return f"{f:.6g}"  # a long exact value reads better rounded; the certificate object keeps it exact
    return format_number(value)


def format_weight(value: Any) -> str:
    """A convex weight: a vulgar fraction (½, ⅓, ...) where Unicode has one, ``p/q`` or 4 digits otherwise."""
    if isinstance(value, Fraction):
        key = (value.numerator, value.denominator)
        if key in _VULGAR:
            return _VULGAR[key]
        return format_number(value)
    return f"{float(value):.4g}"


def integer_matrix(X: np.ndarray) -> tuple[np.ndarray, int]:
    """The exact integer form of a finite float64 array: ``(Xi, S)`` with ``X == Xi / S`` exactly.

    Args:
        X: finite float64 array of any shape.

    Returns:
        ``Xi``: object array of Python ints, same shape as ``X``; ``S``: a positive power of two.
    """
    X = np.asarray(X, dtype=np.float64)
    mant, exp = np.frexp(X)
    m = (mant * 2.0**53).astype(np.int64)  # exact: |mant| < 1 holds 53 significant bits
    e = exp.astype(np.int64) - 53
    nz = m != 0
    if not nz.any():
        return np.zeros(X.shape, dtype=object), 1
    # Strip trailing zero bits so that integers stay small (3.0 becomes 3, not 3·2^51 / 2^51).
    low = np.where(nz, m & -m, 1)
    tz = np.round(np.log2(low.astype(np.float64))).astype(np.int64)
    m = m >> tz
    e = e + tz
    emin = min(int(e[nz].min()), 0)
    shift = np.where(nz, e - emin, 0)
    bits = np.where(nz, np.floor(np.log2(np.abs(m).astype(np.float64) + 0.5)) + 1, 0)
    if int((bits + shift).max()) <= 62:
        Xi = (m << shift).astype(object)  # fits in int64: shift there, convert once
    else:
        Xi = m.astype(object) << shift.astype(object)
    return Xi, 1 << (-emin)


def integer_vector(values: Sequence[Fraction]) -> tuple[list[int], int]:
    """Rationals over their least common denominator: ``(numerators, D)`` with ``values[i] == num[i] / D``."""
    den = 1
    for v in values:
        den = den * v.denominator // math.gcd(den, v.denominator)
    return [int(v * den) for v in values], den


def solve_exact(A: Sequence[Sequence[Fraction]], b: Sequence[Fraction]) -> list[Fraction] | None:
    """The unique solution of ``A x = b`` in exact arithmetic, or ``None``.

    Each equation is scaled to integers, then eliminated with Bareiss's fraction-free algorithm (every
    division is exact, and intermediate integers stay the size of minors rather than growing with each step
    as ``Fraction`` elimination does); the triangular system is solved with Fractions.

    Args:
        A: ``m`` rows of ``k`` rationals (``m >= k`` allowed: the extra equations must be consistent).
        b: ``m`` rationals.

    Returns:
        ``x`` (``k`` Fractions) when the system is consistent and ``A`` has full column rank; ``None`` when it
        is inconsistent or has more than one solution.
    """
    m = len(A)
    k = len(A[0]) if m else 0
    # Rows are scaled to integers by their own denominators only, and the right-hand side by one common
    # factor (solving for b_scale·x): a long denominator in b must not inflate every entry of its row.
    rows: list[list[int]] = []
    rhs: list[Fraction] = []
    for i in range(m):
        nums, den = integer_vector([as_fraction(v) for v in A[i]])
        rows.append(nums)
        rhs.append(as_fraction(b[i]) * den)
    b_nums, b_scale = integer_vector(rhs)
    for row, value in zip(rows, b_nums, strict=True):
        row.append(value)
    prev = 1
    for c in range(k):
        piv = next((r for r in range(c, m) if rows[r][c] != 0), None)
        if piv is None:
            return None  # a free column: not unique
        rows[c], rows[piv] = rows[piv], rows[c]
        p = rows[c]
        pc = p[c]
        for i in range(c + 1, m):
            row = rows[i]
            ic = row[c]
            if ic == 0:
                # Bareiss still scales the row, so that later exact divisions by `prev` stay exact.
                for j in range(c + 1, k + 1):
                    row[j] = row[j] * pc // prev
            else:
                for j in range(c + 1, k + 1):
                    row[j] = (row[j] * pc - ic * p[j]) // prev
                row[c] = 0
        prev = pc
    if any(rows[r][k] != 0 for r in range(k, m)):
        return None  # inconsistent
    x: list[Fraction] = [Fraction(0)] * k
    for c in range(k - 1, -1, -1):
        acc = Fraction(rows[c][k])
        for j in range(c + 1, k):
            if rows[c][j]:
                acc -= rows[c][j] * x[j]
        x[c] = acc / rows[c][c]
    return [v / b_scale for v in x]


#: Denominator limits tried in turn: small denominators first, so that textbook answers come out textbook.
_DENOMINATORS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 100, 1000, 10**4, 10**6, 10**9)


def rationalize(
    values: Iterable[float],
    accept: Callable[[list[Fraction]], bool],
    *,
    rel_tol: float | None = None,
) -> list[Fraction] | None:
    """Small-denominator rationals near ``values`` that ``accept`` takes, trying small denominators first.

    ``values`` is first scaled by its largest magnitude (the callers' objects are defined up to a positive
    scale, or ``accept`` rescales); each coordinate is then rounded with ``Fraction.limit_denominator``.

    Args:
        values: floats (not all zero).
        accept: an exact check of a candidate (e.g. "separates every point").
        rel_tol: when given, a candidate must also lie within ``rel_tol`` (relative to the largest magnitude)
            of ``values``.

    Returns:
        The first accepted candidate, or ``None``.
    """
    vals = [float(v) for v in values]
    scale = max((abs(v) for v in vals), default=0.0)
    if scale == 0.0:
        return None
    unit = [v / scale for v in vals]
    seen: set[tuple[Fraction, ...]] = set()
    for max_den in _DENOMINATORS:
        cand = [Fraction(u).limit_denominator(max_den) for u in unit]
        key = tuple(cand)
        if key in seen:
            continue
        seen.add(key)
        if (
            rel_tol is not None
            and max(abs(float(c) - u) for c, u in zip(cand, unit, strict=True)) > rel_tol
        ):
            continue
        if accept(cand):
            return cand
    return None
