"""The threshold unit of the seed's question 2: ``z = w·x − w0``, output 1 iff ``z ≥ 0``.

:class:`ThresholdUnit` holds weights, says which points it fires on, writes the constraints a labelled point
set puts on the weights (and checks them, constraint by constraint, as the seed does), and solves for
weights with the maximum-margin hyperplane, rationalized to small integers, or raises
:class:`~chainrule.linear.separate.NotSeparable` with the certificate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from chainrule.linear._exact import as_fraction, format_coordinate, format_number, rationalize
from chainrule.linear.datasets import check_Xy
from chainrule.linear.hyperplane import Hyperplane, binary_labels
from chainrule.linear.separate import (
    EXACT_LIMIT,
    SeparatingHyperplane,
    _ExactData,
    separating_hyperplane,
)

__all__ = ["Constraint", "ConstraintTable", "ThresholdUnit"]

Number = Fraction | float


def _is_exact(v: Any) -> bool:
    return isinstance(v, (int, Fraction, np.integer, str)) and not isinstance(v, bool)


def _coef_term(c: Number, name: str) -> str:
    """``c·name`` as a term: ``w1``, ``-w1``, ``3w1``, ``0.5w1`` (sign included).

    ``c`` is a data coordinate, so it is written as the data are (``0.5``, not ``1/2``, which would read
    as ``1/(2w1)``).
    """
    if c == 1:
        return name
    if c == -1:
        return f"-{name}"
    return f"{format_coordinate(c)}{name}"


def _join(terms: Sequence[str]) -> str:
    """Join signed terms with `` + `` / `` - ``."""
    out = ""
    for t in terms:
        if not out:
            out = t
        elif t.startswith("-"):
            out += f" - {t[1:]}"
        else:
            out += f" + {t}"
    return out or "0"


@dataclass(frozen=True)
class Constraint:
    """One labelled point's constraint on the weights.

    Attributes:
        index: 1-based number, as in the seed's (1)–(4).
        point: the point's coordinates (Fractions when the data are exact).
        output: the required output, 0 or 1.
        relation: ``">="``, ``">"``, ``"<"`` or ``"<="``.
        text: the constraint as written from the point, e.g. ``"w1(0) + w2(-1) - w0 >= 0"``.
        simplified: with zero terms dropped, e.g. ``"-w2 - w0 >= 0"``.
        substituted: the weights put in, e.g. ``"-(0) - (0) = 0 >= 0"`` (empty when no weights).
        value: ``z`` at the point (exact when weights and data are exact; ``None`` without weights).
        holds: whether the constraint holds (``None`` without weights).
    """

    index: int
    point: tuple[Number, ...]
    output: int
    relation: str
    text: str
    simplified: str
    substituted: str
    value: Number | None
    holds: bool | None

    @property
    def tight(self) -> bool:
        """``z = 0`` at the point: the constraint holds only because of where the threshold sits."""
        return self.value is not None and self.value == 0


@dataclass(frozen=True)
class ConstraintTable:
    """The constraints of a labelled point set on a threshold unit, checked against its weights.

    ``str`` gives the seed's layout: the constraints (1)..(n), then each one with the weights put in.
    """

    convention: str
    weights_text: str
    constraints: tuple[Constraint, ...]

    @property
    def ok(self) -> bool:
        """All constraints hold."""
        return all(c.holds for c in self.constraints)

    @property
    def failed(self) -> tuple[Constraint, ...]:
        """The constraints that do not hold."""
        return tuple(c for c in self.constraints if c.holds is False)

    def to_latex(self) -> str:
        """The constraints, and the check when there are weights, as a LaTeX ``aligned`` block."""
        lines = []
        for c in self.constraints:
            lines.append(f"{_tex(c.text)} &\\quad ({c.index})")
        for c in self.constraints:
            if c.substituted:
                mark = "\\checkmark" if c.holds else "\\times"
                lines.append(f"({c.index}):\\ {_tex(c.substituted)} &\\quad {mark}")
        body = " \\\\\n".join(lines)
        return f"\\begin{{aligned}}\n{body}\n\\end{{aligned}}"

    def _repr_latex_(self) -> str:
        return f"$${self.to_latex()}$$"

    def __len__(self) -> int:
        return len(self.constraints)

    def __iter__(self) -> Any:
        return iter(self.constraints)

    def __str__(self) -> str:
        width = max((len(c.text) for c in self.constraints), default=0)
        lines = [self.convention, "constraints, one per labelled point:"]
        for c in self.constraints:
            lines.append(f"  ({c.index})  {c.text:<{width}}  ⇔  {c.simplified}")
        if not self.weights_text:
            return "\n".join(lines)
        lines.append(f"with {self.weights_text}:")
        sub_width = max(len(c.substituted) for c in self.constraints)
        for c in self.constraints:
            verdict = "holds" if c.holds else "FAILS"
            if c.holds and c.tight:
                verdict += f" (with equality: needs {c.relation}, not a strict inequality)"
            lines.append(f"  ({c.index})  {c.substituted:<{sub_width}}  {verdict}")
        n_ok = sum(bool(c.holds) for c in self.constraints)
        if self.ok:
            lines.append(f"all {len(self.constraints)} constraints hold")
        else:
            bad = ", ".join(f"({c.index})" for c in self.failed)
            lines.append(f"{n_ok} of {len(self.constraints)} constraints hold; {bad} fail")
        return "\n".join(lines)


_TEX_RELATIONS = {">=": "\\ge", "<=": "\\le"}


def _tex(text: str) -> str:
    """``w1(0) - w0 >= 0`` → ``w_{1}(0) - w_{0} \\ge 0``."""
    text = re.sub(r"w(\d+)", r"w_{\1}", text)
    return re.sub(r">=|<=", lambda m: _TEX_RELATIONS[m.group(0)], text)


def _targets(y: np.ndarray) -> np.ndarray:
    """Required outputs 0/1 from labels: {0, 1} as is, {-1, 1} with -1 → 0, else the larger label → 1."""
    values = {v.item() if hasattr(v, "item") else v for v in np.unique(y)}
    if values <= {0, 1} or values <= {-1, 1}:  # one class alone is allowed here (check())
        return (y == 1).astype(np.int64)
    s, _ = binary_labels(y)
    return (s == 1).astype(np.int64)


#: Integer weights up to this size are shown as they are; larger ones are rounded to a nearby direction.
_SMALL = 10**4


def _small_weights(h: SeparatingHyperplane, X: np.ndarray, targets: np.ndarray) -> Hyperplane:
    """The maximum-margin hyperplane as small coprime integers, or a nearby one that still works.

    Data such as 0.1 (a binary fraction with a 2^55 denominator) make the exact optimum's integer form
    enormous; a direction within 0.1% of it with small denominators, checked exactly, reads better.
    """
    if not h.exact:
        return h.hyperplane
    plane = h.hyperplane.integer_form()
    if max(abs(int(v)) for v in (*plane.normal, plane.offset)) <= _SMALL:
        return plane
    s = np.where(targets == 1, 1, -1)
    exact = _ExactData(X, s)
    cand = rationalize([*h.coef, h.intercept], exact.separates, rel_tol=1e-3)
    if cand is None:
        return plane
    small = Hyperplane(cand[:-1], cand[-1]).integer_form()
    return (
        small
        if max(abs(int(v)) for v in (*small.normal, small.offset))
        < max(abs(int(v)) for v in (*plane.normal, plane.offset))
        else plane
    )


class ThresholdUnit:
    """A threshold unit ``z = w·x − w0``; its output is 1 iff ``z ≥ 0`` (the seed's convention).

    The convention is configurable: ``bias_sign=+1`` makes ``z = w·x + w0``; ``strict=True`` makes the output
    1 iff ``z > 0``.

    Args:
        weights: ``w = (w1, ..., wd)``; exact (Fractions) when every weight and ``w0`` is an int, a
            ``Fraction`` or a numeric string, float otherwise.
        w0: the threshold weight.
        bias_sign: ``-1`` (``z = w·x − w0``, default) or ``+1`` (``z = w·x + w0``).
        strict: output 1 iff ``z > 0`` instead of ``z ≥ 0``.

    Raises:
        ValueError: no weights, a non-finite weight, or ``bias_sign`` not ±1.
    """

    def __init__(
        self, weights: Sequence[Any], w0: Any = 0, *, bias_sign: int = -1, strict: bool = False
    ) -> None:
        values = list(weights)
        if not values:
            raise ValueError("a threshold unit needs at least one weight")
        if bias_sign not in (-1, 1):
            raise ValueError(
                f"bias_sign must be -1 (z = w·x − w0) or +1 (z = w·x + w0), got {bias_sign}"
            )
        self.exact = all(_is_exact(v) for v in [*values, w0])
        if self.exact:
            self.weights: tuple[Number, ...] = tuple(as_fraction(v) for v in values)
            self.w0: Number = as_fraction(w0)
        else:
            floats = [float(v) for v in [*values, w0]]
            if not all(math.isfinite(v) for v in floats):
                raise ValueError(
                    f"weights must be finite, got w = {floats[:-1]}, w0 = {floats[-1]}"
                )
            self.weights = tuple(floats[:-1])
            self.w0 = floats[-1]
        self.bias_sign = bias_sign
        self.strict = strict

    # -- the convention ------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """The number of inputs ``d``."""
        return len(self.weights)

    @property
    def convention(self) -> str:
        """The convention in words, e.g. ``z = w1·x1 + w2·x2 − w0; output 1 iff z ≥ 0``."""
        terms = " + ".join(f"w{j + 1}·x{j + 1}" for j in range(self.dim))
        bias = "− w0" if self.bias_sign < 0 else "+ w0"
        rel = ">" if self.strict else "≥"
        return f"z = {terms} {bias}; output 1 iff z {rel} 0"

    @property
    def hyperplane(self) -> Hyperplane:
        """The decision boundary as a :class:`Hyperplane` ``f(x) = w·x ± w0`` (``f = z``)."""
        return Hyperplane(list(self.weights), self.bias_sign * self.w0)

    def weights_text(self) -> str:
        """``w0 = 0, w1 = -1, w2 = 0``."""
        parts = [f"w0 = {format_number(self.w0)}"]
        parts += [f"w{j + 1} = {format_number(w)}" for j, w in enumerate(self.weights)]
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"ThresholdUnit({self.weights_text()}; {self.convention})"

    # -- evaluation ------------------------------------------------------------------------------------
    def z(self, X: Any) -> np.ndarray:
        """``z`` for each row of ``X`` (shape ``(n, d)``), float64 of shape ``(n,)``.

        Raises:
            ValueError: rows whose length is not the number of weights.
        """
        return self.hyperplane.decision(X)

    def predict(self, X: Any) -> np.ndarray:
        """The unit's output (0 or 1), int64 of shape ``(n,)``; raises as :meth:`z`."""
        z = self.z(X)
        return (z > 0 if self.strict else z >= 0).astype(np.int64)

    def _z_exact(self, point: Sequence[Number]) -> Number:
        zero: Number = Fraction(0) if self.exact else 0.0
        total = sum((w * p for w, p in zip(self.weights, point, strict=True)), zero)
        return total + self.bias_sign * self.w0

    def _relation(self, output: int) -> str:
        if output == 1:
            return ">" if self.strict else ">="
        return "<=" if self.strict else "<"

    def check(self, X: Any, y: Any) -> ConstraintTable:
        """The constraint each labelled point puts on the weights, and whether these weights meet it.

        Args:
            X: points, shape ``(n, d)``; ``y``: required outputs, shape ``(n,)``: 0/1 (or -1/1, or two
                labels with the larger meaning output 1). One class alone is allowed here.

        Returns:
            A :class:`ConstraintTable` (exact values when the weights are exact).

        Raises:
            ValueError: NaN/inf (names row and column), shapes that disagree, or ``d`` differs from the
                number of weights.
        """
        X_arr, y_arr = check_Xy(X, y)
        if X_arr.shape[1] != self.dim:
            raise ValueError(
                f"X has {X_arr.shape[1]} columns but the unit has {self.dim} weights (w1..w{self.dim})"
            )
        targets = _targets(y_arr)
        bias = "- w0" if self.bias_sign < 0 else "+ w0"
        rows = []
        for i, (row, out) in enumerate(zip(X_arr, targets, strict=True)):
            point = tuple(as_fraction(v) if self.exact else float(v) for v in row)
            rel = self._relation(int(out))
            written = " + ".join(
                f"w{j + 1}({format_coordinate(as_fraction(v))})" for j, v in enumerate(row)
            )
            text = f"{written} {bias} {rel} 0"
            coef = [as_fraction(v) for v in row]
            terms = [_coef_term(c, f"w{j + 1}") for j, c in enumerate(coef) if c != 0]
            terms.append("-w0" if self.bias_sign < 0 else "w0")
            simplified = f"{_join(terms)} {rel} 0"
            value = self._z_exact(point)
            sub_terms = [
                _coef_term(c, f"({format_number(w)})")
                for c, w in zip(coef, self.weights, strict=True)
                if c != 0
            ]
            sub_terms.append(
                f"-({format_number(self.w0)})"
                if self.bias_sign < 0
                else f"({format_number(self.w0)})"
            )
            holds = {
                ">=": value >= 0,
                ">": value > 0,
                "<": value < 0,
                "<=": value <= 0,
            }[rel]
            substituted = f"{_join(sub_terms)} = {format_number(value)} {rel} 0"
            rows.append(
                Constraint(i + 1, point, int(out), rel, text, simplified, substituted, value, holds)
            )
        return ConstraintTable(self.convention, self.weights_text(), tuple(rows))

    def constraints(self, X: Any, y: Any) -> ConstraintTable:
        """The constraints alone (no weights put in): the first half of the seed's answer."""
        table = self.check(X, y)
        blank = tuple(
            Constraint(c.index, c.point, c.output, c.relation, c.text, c.simplified, "", None, None)
            for c in table.constraints
        )
        return ConstraintTable(table.convention, "", blank)

    # -- solving ---------------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        X: Any,
        y: Any,
        *,
        bias_sign: int = -1,
        strict: bool = False,
        exact_limit: int = EXACT_LIMIT,
    ) -> ThresholdUnit:
        """Weights that give every point its required output (a class method: ``ThresholdUnit.fit(X, y)``).

        The weights are those of the maximum-margin hyperplane, scaled to coprime integers when it is exact
        (``n <= exact_limit``), so every constraint holds strictly. When those integers are large (decimal
        data such as 0.1), a direction within 0.1% of the optimum with small integers is used instead, if
        it still meets every constraint strictly (checked exactly).

        Args:
            X: points, shape ``(n, d)``; ``y``: required outputs (0/1, -1/1, or two labels), shape ``(n,)``.

        Returns:
            A :class:`ThresholdUnit` with that convention.

        Raises:
            NotSeparable: no weights exist; ``.certificate`` names a point in the convex hulls of both the
                points that must output 1 and those that must output 0.
            ValueError: bad input (NaN/inf, shapes, a single required output).
        """
        X_arr, y_arr = check_Xy(X, y)
        targets = _targets(y_arr)
        h = separating_hyperplane(X_arr, targets, margin="max", exact_limit=exact_limit)
        plane = _small_weights(h, X_arr, targets)
        w0 = plane.offset * bias_sign  # z = w·x + bias_sign·w0 = f(x)
        return cls(list(plane.normal), w0, bias_sign=bias_sign, strict=strict)
