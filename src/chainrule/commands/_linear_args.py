"""Argument parsing shared by the linear-model commands (``hyperplane``, ``separate``, ``unit``, ``logreg``).

Vectors are written ``-5,1,3`` (commas or spaces; each entry an integer, a decimal or ``p/q``) and parsed
exactly, within bounds (:data:`MAX_VECTOR_CHARS`, :data:`MAX_COORDINATES`, and per number
``chainrule.linear._exact``'s :data:`~chainrule.linear._exact.MAX_NUMBER_CHARS` and
:data:`~chainrule.linear._exact.MAX_EXPONENT`). argparse would take ``--pos -5,1,3`` for an option named
``-5,1,3``; :func:`accept_negative_vectors` teaches a subparser that such words are values.

Values that go to a float64 solver (``unit``, ``separate``) must be 0 or within :data:`FLOAT_RANGE` in
magnitude (:func:`check_range`): beyond it the solvers' products and sums leave float64, so the command says
so instead of computing with NaN. CSV input (:func:`read_labelled_csv`) is a file or ``-`` (stdin), with a
given or detected delimiter; NaN, infinities and numbers past float64 are refused cell by cell.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from chainrule.linear.datasets import CSVData

__all__ = [
    "FLOAT_RANGE",
    "MAX_COORDINATES",
    "accept_negative_vectors",
    "certificate_json",
    "check_range",
    "check_text",
    "delimiter_note",
    "json_value",
    "parse_vector",
    "read_labelled_csv",
]

#: The longest vector text, and the most coordinates in one vector.
MAX_VECTOR_CHARS = 1_000_000
MAX_COORDINATES = 10_000
#: The magnitudes (besides 0) that the float64 solvers take: below, subnormal numbers and their reciprocals
#: overflow; above, squares and sums do.
FLOAT_RANGE = (1e-300, 1e300)

#: A word that starts like a negative number (``-5``, ``-5,1,3``, ``-.5``, ``-3/4``) is a value, not an option.
_NEGATIVE_VALUE = re.compile(r"^-\.?\d[\d.,/eE+\-\s]*$")


def accept_negative_vectors(parser: argparse.ArgumentParser) -> None:
    """Let ``parser`` read ``--pos -5,1,3`` (a value starting with '-') as it reads ``--pos=-5,1,3``."""
    # argparse keeps the negative-number pattern on the parser; ours also allows commas and fractions.
    parser._negative_number_matcher = _NEGATIVE_VALUE


def check_text(text: str, what: str, limit: int = MAX_VECTOR_CHARS) -> None:
    """Raises ``ValueError`` for an argument longer than ``limit`` characters (naming it and the limit)."""
    if len(text) > limit:
        raise ValueError(f"{what} has {len(text):,} characters; the limit is {limit:,}")


def parse_vector(text: str, what: str, max_len: int = MAX_COORDINATES) -> list[Fraction]:
    """``"-5,1,3"`` → ``[-5, 1, 3]`` as Fractions.

    Raises:
        ValueError: empty; longer than :data:`MAX_VECTOR_CHARS` or ``max_len`` coordinates; an entry that is
            not a finite number or is past a number's bounds (the message names ``what``, the entry and the
            limit).
    """
    from chainrule.linear._exact import NumberLimitError, as_fraction

    check_text(text, what)
    items = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not items:
        raise ValueError(f"{what} is empty: give coordinates such as -5,1,3")
    if len(items) > max_len:
        raise ValueError(f"{what} has {len(items):,} coordinates; the limit is {max_len:,}")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(as_fraction(item))
        except NumberLimitError as exc:
            raise ValueError(f"{what}: coordinate {i + 1}: {exc}") from None
        except ValueError:
            shown = item if len(item) <= 40 else item[:37] + "..."
            raise ValueError(
                f"{what}: coordinate {i + 1} {shown!r} is not a number (use e.g. -5,1.5,3/4)"
            ) from None
    return out


def _out_of_range(v: Any) -> bool:
    a = abs(v)
    return a != 0 and not FLOAT_RANGE[0] <= a <= FLOAT_RANGE[1]


def check_range(values: Sequence[Fraction | float], what: str) -> None:
    """Raises ``ValueError`` when a value is neither 0 nor within :data:`FLOAT_RANGE` in magnitude."""
    for i, v in enumerate(values):
        if _out_of_range(v):
            raise ValueError(
                f"{what}: coordinate {i + 1} ({_show(v)}) is outside the range the float64 solver "
                f"takes: 0 or {FLOAT_RANGE[0]:g} ≤ |x| ≤ {FLOAT_RANGE[1]:g}"
            )


def check_matrix_range(X: np.ndarray, names: Sequence[str], source: str) -> None:
    """:func:`check_range` for a data matrix: the message names the column and the data row."""
    import numpy as np

    a = np.abs(X)
    bad = (a != 0) & ((a < FLOAT_RANGE[0]) | (a > FLOAT_RANGE[1]))
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"{source}, data row {i + 1}, column {names[j]!r}: {X[i, j]:g} is outside the range the "
            f"float64 solver takes: 0 or {FLOAT_RANGE[0]:g} ≤ |x| ≤ {FLOAT_RANGE[1]:g}"
        )


def _show(v: Any) -> str:
    if isinstance(v, Fraction):
        from chainrule.linear._exact import format_number

        return format_number(v)
    return f"{v:g}"


def read_labelled_csv(path: str, label: str | None, delimiter: str | None) -> CSVData:
    """The CSV input of ``separate`` and ``logreg``: a file or ``-`` (stdin, read as UTF-8), every cell
    finite, the delimiter given or detected.

    Raises:
        ValueError / OSError: see :func:`chainrule.linear.datasets.read_csv`.
    """
    import io
    import sys

    from chainrule.linear.datasets import read_csv

    if path == "-":
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            return read_csv(stream, label, delimiter=delimiter, finite=True, name="<stdin>")
        finally:
            stream.detach()
    return read_csv(path, label, delimiter=delimiter, finite=True)


def delimiter_note(data: CSVData) -> str:
    """``"; delimiter ';' (detected)"`` when the delimiter was detected and is not a comma, else ``""``."""
    if not data.sniffed or data.delimiter == ",":
        return ""
    shown = "tab" if data.delimiter == "\t" else repr(data.delimiter)
    return f"; delimiter {shown} (detected)"


def json_value(v: Any) -> Any:
    """A number for JSON: an exact rational as text (``"-21/2"``), an int as an int, a float as a float."""
    import numpy as np

    if isinstance(v, Fraction):
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return v if isinstance(v, str) else str(v)


def certificate_json(cert: Any) -> dict[str, Any]:
    """A Gordan certificate as JSON: rows, weights, signs, the points and the common point."""
    return {
        "rows": list(cert.indices),
        "weights": [json_value(w) for w in cert.weights],
        "signs": list(cert.signs),
        "points": [[json_value(v) for v in p] for p in cert.points],
        "common_point": [json_value(v) for v in cert.common_point()],
        "classes": [json_value(c) for c in cert.classes],
        "verified_exactly": bool(cert.exact),
    }


def standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (1 for a constant column), float64 ``(d,)`` each.

    Each column is divided by its largest magnitude first, so that values near the float64 limit (1e308)
    do not overflow the sums.
    """
    import numpy as np

    top = np.max(np.abs(X), axis=0)
    top = np.where(top > 0, top, 1.0)
    unit = X / top
    mean, scale = unit.mean(axis=0) * top, unit.std(axis=0) * top
    return mean, np.where(scale > 0, scale, 1.0)
