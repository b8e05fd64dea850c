"""Fitted states: a fitted estimator as a plain mapping, and the checks that read one back.

An estimator that can be saved has (see :class:`~chainrule.linear._estimator.ClassifierMixin`)

- ``_fitted_state()``: a plain mapping of JSON values (``None``, bools, ints, floats, strings, lists and
  string-keyed dicts of them; non-finite floats allowed) and NumPy arrays of numbers;
- ``_state_arrays(plain)``: checks the plain (non-array) part of a state and returns the arrays it
  implies (name → :class:`ArrayRule`), so that a reader checks everything, an archive's declared arrays
  included, before reading any array;
- ``_from_state(state)``: the fitted estimator, after checking every entry (``ValueError`` naming it).

``chainrule.linear.model_io`` only moves such mappings to and from a file; it knows no estimator. The
helpers here check the entries: :func:`check_arrays` (declared or actual shapes and dtypes against the
expected ones), :func:`state_number`, :func:`state_flag`, :func:`state_labels`, :func:`state_int`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import numpy as np

__all__ = [
    "INTEGER_DTYPES",
    "NON_FINITE",
    "ArrayRule",
    "Shaped",
    "check_arrays",
    "json_float",
    "state_flag",
    "state_int",
    "state_labels",
    "state_number",
]

#: How a non-finite float is written in JSON (which has no inf or nan).
NON_FINITE = ("inf", "-inf", "nan")


class Shaped(Protocol):
    """Anything with a shape and a dtype: an array, or an archive's declared :class:`ArraySpec`."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...


def json_float(value: float) -> float | str:
    """A float as JSON holds it: itself when finite, else ``"inf"``, ``"-inf"`` or ``"nan"``."""
    return value if np.isfinite(value) else str(float(value))


def _short(value: Any) -> str:
    return repr(str(value)[:40])


def state_number(value: Any, what: str) -> float:
    """A float entry: a number, or ``"inf"``, ``"-inf"`` or ``"nan"`` (how JSON holds those).

    Raises:
        ValueError: anything else (a bool, another string), naming ``what``.
    """
    if isinstance(value, str) and value in NON_FINITE:
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{what} = {_short(value)} is not a number")
    return float(value)


def state_flag(value: Any, what: str) -> bool:
    """A boolean entry. Raises ``ValueError`` (naming ``what``) for anything but ``True``/``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} = {_short(value)} is not a boolean (true or false)")
    return bool(value)


def state_int(value: Any, what: str, low: int = 0) -> int:
    """An integer entry (never a bool) of at least ``low``. Raises ``ValueError`` naming ``what``."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or value < low
    ):
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
            low, f"an integer >= {low}"
        )
        raise ValueError(f"{what} = {_short(value)} is not {kind}")
    return int(value)


def state_labels(values: Any, what: str = "classes") -> np.ndarray:
    """Class labels: a list of at least two distinct labels, all numbers (bools) or all strings.

    Raises:
        ValueError: anything else, naming ``what``.
    """
    ok = isinstance(values, (list, tuple)) and len(values) >= 2
    if ok and not all(isinstance(v, (bool, int, float, str)) for v in values):
        ok = False
    kinds = (
        {bool if isinstance(v, bool) else str if isinstance(v, str) else float for v in values}
        if ok
        else set()
    )
    if not ok or len(kinds) != 1:
        raise ValueError(f"{what!r} must list at least two labels, all numbers or all strings")
    classes = np.asarray(values)
    if np.unique(classes).size != classes.size:
        raise ValueError(f"{what!r} lists a label twice")
    return classes


class ArrayRule(NamedTuple):
    """What one array of a state must be: one of ``shapes``, one of ``dtypes``; ``what`` says it in
    words for the error message (``"float64 (1, 3)"``, ``"one integer"``)."""

    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[Any, ...]
    what: str

    @classmethod
    def exact(cls, shape: tuple[int, ...], dtype: Any) -> ArrayRule:
        """Exactly ``shape`` and ``dtype``."""
        return cls((tuple(shape),), (np.dtype(dtype),), f"{np.dtype(dtype)} {tuple(shape)}")

    def accepts(self, item: Shaped) -> bool:
        return tuple(item.shape) in self.shapes and any(
            np.dtype(item.dtype) == np.dtype(d) for d in self.dtypes
        )


#: Every integer dtype (for counts that any integer array may hold).
INTEGER_DTYPES = tuple(
    np.dtype(t)
    for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
)


def check_arrays(found: Mapping[str, Shaped], expected: Mapping[str, ArrayRule]) -> None:
    """``found`` holds exactly the arrays of ``expected``, each as its :class:`ArrayRule` says. Works on
    arrays and on an archive's declared specs alike (anything with ``shape`` and ``dtype``).

    Raises:
        ValueError: a missing or unexpected array, or one of another shape or dtype (names it).
    """
    missing = sorted(set(expected) - set(found))
    if missing:
        raise ValueError(f"lacks the arrays: {', '.join(missing)}")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise ValueError(f"holds unexpected arrays: {', '.join(extra)[:200]}")
    for key, rule in expected.items():
        item = found[key]
        if not rule.accepts(item):
            raise ValueError(
                f"inconsistent arrays: {key} is {tuple(item.shape)} {np.dtype(item.dtype)}, "
                f"not {rule.what}"
            )
