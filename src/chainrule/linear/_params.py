"""Declarative hyperparameter checks for the linear estimators (in the spirit of scikit-learn's).

An estimator lists, for every keyword argument of its ``__init__``, the values it accepts in a class
attribute ``_parameter_constraints``: name → a tuple of constraints, of which the value must satisfy at
least one. :func:`validate_params` checks an estimator's current parameters against its table, in
signature order, and raises :class:`InvalidParameterError` for the first that satisfies none, naming the
parameter, what it must be and what it got::

    max_iter must be a positive integer, got True (bool)

The constraints:

- :class:`Interval`: an integer (``kind="int"``: ``int`` or a NumPy integer, never a ``bool``) or a real
  number (``kind="real"``: ``int``, ``float`` or a NumPy integer or float, never a ``bool`` and never NaN)
  between bounds; ``None`` for a bound means unbounded; infinity is accepted only when ``allow_inf``.
- :class:`Options`: one of a few values (compared by type and value: ``True`` is not ``1``).
- :data:`BOOLEAN`: ``True`` or ``False`` (``bool`` or ``numpy.bool_``; ``0`` and ``1`` are not booleans).
- :data:`NONE`: ``None``.
- :class:`InstanceOf`: an instance of one of the given types (a ``numpy.random.Generator``, say).

A bool is an ``int`` to Python, but ``max_iter=True`` is a mistake, not one iteration: every integer and
real constraint refuses bools. Checking happens in ``fit`` (never in ``__init__`` or ``set_params``, as
scikit-learn's protocol requires).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from chainrule.linear.exceptions import InvalidParameterError

__all__ = [
    "BOOLEAN",
    "NONE",
    "Constraint",
    "InstanceOf",
    "Interval",
    "InvalidParameterError",
    "Options",
    "check_param",
    "validate_params",
]


class Constraint(Protocol):
    """What a parameter may be: ``accepts(value)`` and a phrase for the error message."""

    def accepts(self, value: Any) -> bool: ...

    def describe(self) -> str: ...


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Interval:
    """A number between ``low`` and ``high`` (``None``: unbounded); ``closed`` says which ends belong.

    Args:
        kind: ``"int"`` (integers only) or ``"real"`` (any real number, NaN never).
        low, high: the bounds, or ``None``.
        closed: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.
        allow_inf: accept ``+inf``/``-inf`` (beyond an unbounded end; a ``"real"`` interval only).
    """

    kind: str
    low: float | None
    high: float | None
    closed: str = "both"
    allow_inf: bool = False

    def accepts(self, value: Any) -> bool:
        if _is_bool(value):
            return False
        if self.kind == "int":
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real) or math.isnan(value):
            return False
        if math.isinf(value):
            return self.allow_inf and (
                (value > 0 and self.high is None) or (value < 0 and self.low is None)
            )
        if self.low is not None:
            low_ok = value >= self.low if self.closed in ("both", "left") else value > self.low
            if not low_ok:
                return False
        if self.high is not None:
            high_ok = value <= self.high if self.closed in ("both", "right") else value < self.high
            if not high_ok:
                return False
        return True

    def describe(self) -> str:
        noun = "integer" if self.kind == "int" else "number"
        left_closed = self.closed in ("both", "left")
        if self.high is None and self.low == 0:
            text = f"a non-negative {noun}" if left_closed else f"a positive {noun}"
        elif self.high is None and self.low == 1 and self.kind == "int" and left_closed:
            text = "a positive integer"
        else:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            left = "[" if left_closed and self.low is not None else "("
            right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
            text = (
                f"an {noun} in {left}{lo}, {hi}{right}"
                if noun == "integer"
                else (f"a {noun} in {left}{lo}, {hi}{right}")
            )
        if self.allow_inf:
            text += " (inf allowed)"
        return text


@dataclass(frozen=True)
class Options:
    """One of ``values`` (equal and of the same type: ``True`` is not ``1``, ``1.0`` is not ``1``)."""

    values: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf:
    """An instance of one of ``types``; ``name`` is how the message calls it."""

    types: tuple[type, ...]
    name: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types) and not _is_bool(value)

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class _Boolean:
    def accepts(self, value: Any) -> bool:
        return _is_bool(value)

    def describe(self) -> str:
        return "a boolean (True or False)"


@dataclass(frozen=True)
class _NoneConstraint:
    def accepts(self, value: Any) -> bool:
        return value is None

    def describe(self) -> str:
        return "None"


#: ``True`` or ``False`` (``bool`` or ``numpy.bool_``).
BOOLEAN: Constraint = _Boolean()
#: ``None``.
NONE: Constraint = _NoneConstraint()


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _alternatives(constraints: tuple[Constraint, ...]) -> str:
    phrases = [c.describe() for c in constraints]
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def check_param(name: str, value: Any, constraints: tuple[Constraint, ...]) -> None:
    """Raises :class:`InvalidParameterError` when ``value`` satisfies none of ``constraints``.

    The message is ``"{name} must be {what}, got {value!r} ({type})"``.
    """
    if not any(c.accepts(value) for c in constraints):
        raise InvalidParameterError(
            f"{name} must be {_alternatives(constraints)}, got {_shown(value)}"
        )


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` (``get_params()``) against its class's
    ``_parameter_constraints``, in signature order.

    Raises:
        InvalidParameterError: a parameter that satisfies none of its constraints (the message names it,
            what it must be, and the value and type it got); also when a parameter has no constraint at
            all (a programming error in the estimator, reported rather than let through).
    """
    table: Mapping[str, tuple[Constraint, ...]] = type(estimator)._parameter_constraints
    for name, value in estimator.get_params().items():
        constraints = table.get(name)
        if constraints is None:
            raise InvalidParameterError(
                f"{type(estimator).__name__} has no constraint for its parameter {name!r}"
            )
        check_param(name, value, constraints)
