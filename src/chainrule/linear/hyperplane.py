"""Hyperplanes f(x) = n·x + b as values, and the seed's bisector construction.

- :class:`Hyperplane` holds a normal ``n`` and an offset ``b``, either as exact ``Fraction``\\ s or as floats.
  It evaluates, classifies, measures signed distances and margins, compares up to a positive scale, and
  prints as the seed writes it: ``f(x) = [-7 -1 6]·x − 9``.
- :func:`bisector_hyperplane` builds the hyperplane through the midpoint of two points, normal to their
  difference, and records the worked steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from chainrule.backend import array_namespace, is_array, is_numpy_namespace, to_numpy
from chainrule.linear._exact import as_fraction, format_number, integer_matrix, integer_vector
from chainrule.linear.datasets import plain

__all__ = ["Hyperplane", "binary_labels", "bisector_hyperplane"]

Number = Fraction | float


def binary_labels(y: Any) -> tuple[np.ndarray, tuple[Any, Any]]:
    """Two-class labels as ±1.

    The positive class is the larger of the two values (``1`` of {0, 1}, ``1`` of {-1, 1}, ``"yes"`` of
    {"no", "yes"}).

    Args:
        y: array-like of shape ``(n,)`` holding exactly two distinct values.

    Returns:
        ``(s, (negative, positive))``: ``s`` int64 of shape ``(n,)`` with entries ±1, and the two labels.

    Raises:
        ValueError: ``y`` is empty, holds one class only, or more than two.
    """
    arr = np.asarray(to_numpy(y) if not isinstance(y, (list, tuple)) else y).ravel()
    classes = np.unique(arr)
    if classes.size < 2:
        shown = plain(classes[0]) if classes.size else "nothing"
        raise ValueError(
            f"y holds a single class ({shown!r}): one class only, "
            "but two classes are needed to separate them"
        )
    if classes.size > 2:
        listed = ", ".join(repr(plain(c)) for c in classes[:5])
        raise ValueError(
            f"y holds {classes.size} classes ({listed}{', ...' if classes.size > 5 else ''}); "
            "a hyperplane separates exactly two"
        )
    negative, positive = plain(classes[0]), plain(classes[1])
    s = np.where(arr == classes[1], 1, -1).astype(np.int64)
    return s, (negative, positive)


def _is_exact_value(v: Any) -> bool:
    return isinstance(v, (Fraction, int, np.integer)) and not isinstance(v, bool)


class Hyperplane:
    """The hyperplane ``f(x) = n·x + b = 0``; ``f`` is its decision function.

    Coefficients are exact (``Fraction``) when every given coefficient is an int or a ``Fraction``, and float64
    otherwise (``exact`` tells which). Two hyperplanes are equal when one is a positive multiple of the other
    (they have the same positive side): exactly for exact ones, to 1e-9 relative for floats.

    Args:
        normal: the normal vector ``n``, length ``d >= 1``, not all zero.
        offset: ``b``.
        steps: optional worked steps that built it (see :func:`bisector_hyperplane`).
        steps_latex: the same steps as LaTeX lines (for an ``align`` environment).

    Raises:
        ValueError: ``normal`` is empty or zero, or a coefficient is NaN/inf.
    """

    __slots__ = (
        "_normal",
        "_normal_float",
        "_offset",
        "_offset_float",
        "exact",
        "steps",
        "steps_latex",
    )

    def __init__(
        self,
        normal: Sequence[Any] | np.ndarray,
        offset: Any = 0,
        *,
        steps: Sequence[str] = (),
        steps_latex: Sequence[str] = (),
    ) -> None:
        values = (
            list(to_numpy(normal).ravel())
            if not isinstance(normal, (list, tuple))
            else list(normal)
        )
        if not values:
            raise ValueError("a hyperplane needs a normal vector with at least one coordinate")
        exact = all(_is_exact_value(v) for v in [*values, offset])
        self.exact: bool = exact
        if exact:
            self._normal: tuple[Number, ...] = tuple(as_fraction(v) for v in values)
            self._offset: Number = as_fraction(offset)
        else:
            floats = [float(v) for v in values]
            off = float(offset)
            if not all(math.isfinite(v) for v in [*floats, off]):
                raise ValueError(f"hyperplane coefficients must be finite, got n={floats}, b={off}")
            self._normal = tuple(floats)
            self._offset = off
        if all(v == 0 for v in self._normal):
            raise ValueError("the normal vector of a hyperplane cannot be zero")
        try:
            self._normal_float: np.ndarray | None = np.array(
                [float(v) for v in self._normal], dtype=np.float64
            )
            self._offset_float = float(self._offset)
        except OverflowError:
            # An exact hyperplane may hold coefficients beyond float64 (|v| > 1.8e308): its exact methods
            # still work; the float ones raise (see _floats).
            self._normal_float, self._offset_float = None, math.nan
        self.steps: tuple[str, ...] = tuple(steps)
        self.steps_latex: tuple[str, ...] = tuple(steps_latex)

    # -- the coefficients ------------------------------------------------------------------------
    @property
    def normal(self) -> tuple[Number, ...]:
        """``n`` as a tuple (Fractions when exact, floats otherwise)."""
        return self._normal

    @property
    def offset(self) -> Number:
        """``b`` (a Fraction when exact, a float otherwise)."""
        return self._offset

    def _floats(self) -> tuple[np.ndarray, float]:
        """``(n, b)`` as float64.

        Raises:
            ValueError: an exact coefficient lies beyond the float64 range.
        """
        if self._normal_float is None:
            raise ValueError(
                f"the coefficients of {self} exceed the float64 range; use the exact methods "
                "(decision_exact, or call the hyperplane on exact points)"
            )
        return self._normal_float, self._offset_float

    @property
    def coef(self) -> np.ndarray:
        """``n`` as float64, shape ``(d,)`` (raises ``ValueError`` beyond the float64 range)."""
        return self._floats()[0].copy()

    @property
    def intercept(self) -> float:
        """``b`` as a float (raises ``ValueError`` beyond the float64 range)."""
        return self._floats()[1]

    @property
    def dim(self) -> int:
        """The dimension ``d`` of the space."""
        return len(self._normal)

    @property
    def worked(self) -> str:
        """The worked steps as text (empty when none were recorded)."""
        return "\n".join(self.steps)

    @property
    def worked_latex(self) -> str:
        """The worked steps as a LaTeX ``aligned`` block (empty when none were recorded)."""
        if not self.steps_latex:
            return ""
        body = " \\\\\n".join(self.steps_latex)
        return f"\\begin{{aligned}}\n{body}\n\\end{{aligned}}"

    # -- evaluation ------------------------------------------------------------------------------
    def _points(self, X: Any) -> np.ndarray:
        arr = np.asarray(to_numpy(X) if not isinstance(X, (list, tuple)) else X, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(
                f"points of shape {arr.shape} do not match a hyperplane in {self.dim} dimensions"
            )
        return arr

    def decision(self, X: Any) -> Any:
        """``f(x) = n·x + b`` for each row of ``X`` (shape ``(m, d)`` or ``(d,)``), shape ``(m,)``.

        An array of another Array-API library (CuPy, torch, ``array_api_strict``, ...) gets an array of that
        library back (its floating dtype, float64 for integer input); anything else gets float64 NumPy.

        Raises:
            ValueError: rows whose length is not ``d``, or coefficients beyond the float64 range (use
                :meth:`decision_exact`).
        """
        if is_array(X) and not isinstance(X, np.ndarray):
            xp = array_namespace(X)
            if not is_numpy_namespace(xp):
                return self._decision_xp(xp, X)
        normal, offset = self._floats()
        return self._points(X) @ normal + offset

    def _decision_xp(self, xp: Any, X: Any) -> Any:
        if X.ndim == 1:
            X = xp.reshape(X, (1, -1))
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(
                f"points of shape {tuple(X.shape)} do not match a hyperplane in {self.dim} dimensions"
            )
        if not xp.isdtype(X.dtype, "real floating"):
            X = xp.astype(X, xp.float64)
        normal, offset = self._floats()
        return X @ xp.asarray(normal, dtype=X.dtype) + offset

    def decision_exact(self, X: Any) -> list[Fraction]:
        """``f(x)`` for each row of ``X`` in exact rational arithmetic (floats taken at their exact value).

        Raises:
            ValueError: the hyperplane is not exact (convert with :meth:`to_exact` first).
        """
        if not self.exact:
            raise ValueError("decision_exact needs an exact hyperplane; use to_exact() first")
        arr = self._points(X)
        Xi, S = integer_matrix(arr)
        nums, den = integer_vector([*self._normal, self._offset])  # type: ignore[list-item]
        w = np.array(nums[:-1], dtype=object)
        values = Xi.dot(w) + nums[-1] * S
        return [Fraction(int(v), den * S) for v in values]

    def __call__(self, x: Any) -> Number:
        """``f(x)`` for one point: exact when the hyperplane is exact and every coordinate is an int, a
        ``Fraction`` or a numeric string (read as written: ``"0.35"`` is 7/20); float otherwise.

        Raises:
            ValueError: the wrong number of coordinates; a string that is not a number.
        """
        values = list(x)
        if len(values) != self.dim:
            raise ValueError(
                f"a point with {len(values)} coordinates, but the hyperplane has {self.dim}"
            )
        if self.exact and all(_is_exact_value(v) or isinstance(v, str) for v in values):
            return sum(
                (n * as_fraction(v) for n, v in zip(self._normal, values, strict=True)),
                self._offset,
            )
        normal, offset = self._floats()
        return float(normal @ np.asarray(values, dtype=np.float64) + offset)

    def predict(self, X: Any) -> Any:
        """The side of each row: ``+1`` where ``f > 0``, ``-1`` where ``f < 0``, ``0`` on the plane.

        Returns int64 of shape ``(m,)`` (in the namespace of ``X``); raises as :meth:`decision`.
        """
        f = self.decision(X)
        if isinstance(f, np.ndarray):
            return np.sign(f).astype(np.int64)
        xp = array_namespace(f)
        return xp.astype(xp.sign(f), xp.int64)

    def distance(self, X: Any) -> Any:
        """Signed Euclidean distance ``f(x)/‖n‖`` of each row, shape ``(m,)``; raises as :meth:`decision`."""
        return self.decision(X) / float(np.linalg.norm(self._floats()[0]))

    def margin(self, X: Any, y: Any) -> float:
        """The geometric margin ``min_i s_i f(x_i)/‖n‖`` on labelled points (negative if one is misclassified).

        ``y`` holds two classes; the larger label is the positive side (see :func:`binary_labels`).

        Raises:
            ValueError: ``y`` without exactly two classes, rows and labels that differ in number, or as
                :meth:`decision`.
        """
        s, _ = binary_labels(y)
        dist = to_numpy(self.distance(X))
        if dist.shape[0] != s.shape[0]:
            raise ValueError(f"X has {dist.shape[0]} rows but y has {s.shape[0]} labels")
        return float(np.min(s * dist))

    # -- conversions -------------------------------------------------------------------------------
    def to_exact(self, max_denominator: int | None = None) -> Hyperplane:
        """An exact copy: floats at their exact binary value, or rounded to ``max_denominator`` when given."""
        if self.exact:
            return self

        def conv(v: Number) -> Fraction:
            f = Fraction(v)
            return f.limit_denominator(max_denominator) if max_denominator else f

        return Hyperplane(
            [conv(v) for v in self._normal],
            conv(self._offset),
            steps=self.steps,
            steps_latex=self.steps_latex,
        )

    def to_float(self) -> Hyperplane:
        """A float64 copy."""
        return Hyperplane(
            [float(v) for v in self._normal],
            float(self._offset),
            steps=self.steps,
            steps_latex=self.steps_latex,
        )

    def integer_form(self) -> Hyperplane:
        """The same exact hyperplane scaled by a positive number to coprime integer coefficients.

        Raises:
            ValueError: the hyperplane is not exact.
        """
        if not self.exact:
            raise ValueError("integer_form needs an exact hyperplane; use to_exact() first")
        nums, _ = integer_vector([*self._normal, self._offset])  # type: ignore[list-item]
        g = 0
        for v in nums:
            g = math.gcd(g, v)
        return Hyperplane(
            [v // g for v in nums[:-1]],
            nums[-1] // g,
            steps=self.steps,
            steps_latex=self.steps_latex,
        )

    def scaled(self, factor: Any) -> Hyperplane:
        """``factor · f`` (``factor > 0`` keeps the positive side; exact when both are exact)."""
        if self.exact and _is_exact_value(factor):
            q = as_fraction(factor)
            return Hyperplane([q * v for v in self._normal], q * self._offset)
        c = float(factor)
        return Hyperplane([c * float(v) for v in self._normal], c * float(self._offset))

    # -- comparison --------------------------------------------------------------------------------
    def _coefficients(self) -> tuple[Number, ...]:
        return (*self._normal, self._offset)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hyperplane):
            return NotImplemented
        if other.dim != self.dim:
            return False
        a, b = self._coefficients(), other._coefficients()
        if self.exact and other.exact:
            k = next(i for i, v in enumerate(a) if v != 0)
            if b[k] == 0 or (a[k] > 0) != (b[k] > 0):
                return False
            ratio = b[k] / a[k]
            return all(bj == ratio * aj for aj, bj in zip(a, b, strict=True))
        if self._normal_float is None or other._normal_float is None:
            return False  # a float hyperplane never holds a coefficient beyond float64
        va = np.append(*self._floats())
        vb = np.append(*other._floats())
        ua, ub = va / np.linalg.norm(va), vb / np.linalg.norm(vb)
        return bool(np.allclose(ua, ub, rtol=0.0, atol=1e-9))

    def __hash__(self) -> int:
        # Equality is up to scale and, for floats, up to rounding: only the dimension is safe to hash.
        return hash(("Hyperplane", self.dim))

    # -- printing ----------------------------------------------------------------------------------
    def __str__(self) -> str:
        coef = " ".join(format_number(v) for v in self._normal)
        off = self._offset
        if off == 0:
            return f"f(x) = [{coef}]·x"
        sign = "−" if off < 0 else "+"
        return f"f(x) = [{coef}]·x {sign} {format_number(abs(off))}"

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "float"
        return f"Hyperplane({str(self)!r}, {kind})"

    def to_latex(self) -> str:
        """``f(x) = \\begin{bmatrix} ... \\end{bmatrix} x - 9`` (fractions as ``\\frac{p}{q}``)."""
        coef = " & ".join(_latex_number(v) for v in self._normal)
        off = self._offset
        text = f"f(x) = \\begin{{bmatrix}} {coef} \\end{{bmatrix}} x"
        if off != 0:
            sign = "-" if off < 0 else "+"
            text += f" {sign} {_latex_number(abs(off))}"
        return text

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"


def _latex_number(v: Any) -> str:
    if isinstance(v, Fraction) and v.denominator != 1:
        sign = "-" if v < 0 else ""
        return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
    return format_number(v)


def _vec(values: Sequence[Any]) -> str:
    return "(" + ", ".join(format_number(v) for v in values) + ")"


def _row(values: Sequence[Any]) -> str:
    return "[" + " ".join(format_number(v) for v in values) + "]"


def bisector_hyperplane(
    x_pos: Sequence[Any], x_neg: Sequence[Any], exact: bool = True
) -> Hyperplane:
    """The hyperplane normal to ``x_pos − x_neg`` through their midpoint: ``x_pos`` on its positive side.

    This is the seed's construction: ``n = x₊ − x₋``, ``m = x₋ + ½(x₊ − x₋)``, ``n·(x − m) = 0``, so
    ``f(x) = n·x − n·m``. For ``x₊ = (−5, 1, 3)``, ``x₋ = (2, 2, −3)`` it is ``f(x) = [-7 -1 6]·x − 9``.

    Args:
        x_pos: the point to put on the positive side, length ``d``.
        x_neg: the point to put on the negative side, length ``d``.
        exact: compute in exact rationals (ints exactly, floats at their decimal value as Python prints
            them, strings such as ``"3/4"`` parsed). ``False`` computes in float64.

    Returns:
        The :class:`Hyperplane`, with ``.steps`` (and ``.worked``) holding the worked derivation.

    Raises:
        ValueError: the points have different lengths, are empty, hold NaN/inf, or are identical.
    """
    p_raw, q_raw = list(x_pos), list(x_neg)
    if len(p_raw) != len(q_raw):
        raise ValueError(f"x_pos has {len(p_raw)} coordinates but x_neg has {len(q_raw)}")
    if not p_raw:
        raise ValueError("the points need at least one coordinate")

    def conv(v: Any, which: str, i: int) -> Number:
        try:
            if exact:
                # str of a Python or NumPy float is its shortest round-trip decimal ("0.1"); repr of
                # a NumPy scalar is "np.float64(0.1)", which is not a number.
                return as_fraction(str(v) if isinstance(v, (float, np.floating)) else v)
            f = float(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{which}[{i}] = {v!r} is not a finite number") from exc
        if not math.isfinite(f):
            raise ValueError(f"{which}[{i}] = {v!r} is not a finite number")
        return f

    p = [conv(v, "x_pos", i) for i, v in enumerate(p_raw)]
    q = [conv(v, "x_neg", i) for i, v in enumerate(q_raw)]
    half: Number = Fraction(1, 2) if exact else 0.5
    n = [a - b for a, b in zip(p, q, strict=True)]
    if all(v == 0 for v in n):
        raise ValueError(
            f"x_pos and x_neg are the same point {_vec(p)}: no hyperplane bisects them"
        )
    m = [b + half * v for b, v in zip(q, n, strict=True)]
    terms = [-(a * b) for a, b in zip(n, m, strict=True)]
    offset = sum(terms, Fraction(0) if exact else 0.0)
    h = Hyperplane(n, offset)  # validates; the steps quote its printed form
    sign = "−" if offset < 0 else "+"
    term_text = " + ".join(format_number(t) for t in terms).replace("+ -", "− ")
    steps = (
        f"n = x₊ − x₋ = {_vec(p)} − {_vec(q)} = {_vec(n)}",
        f"m = x₋ + ½(x₊ − x₋) = {_vec(q)} + ½·{_vec(n)} = {_vec(m)}",
        f"n·(x − m) = 0  ⇒  {_row(n)}·x + ({term_text}) = 0",
        f"           ⇒  {_row(n)}·x {sign} {format_number(abs(offset))} = 0",
        f"{h}",
    )
    latex = (
        f"n &= x_+ - x_- = {_col(p)} - {_col(q)} = {_col(n)}",
        f"m &= x_- + \\tfrac{{1}}{{2}}(x_+ - x_-) = {_col(q)} + \\tfrac{{1}}{{2}}{_col(n)} = {_col(m)}",
        f"0 &= n \\cdot (x - m) = {_latex_row(n)} x + \\left({_latex_terms(terms)}\\right)",
        f"f(x) &= {h.to_latex().removeprefix('f(x) = ')}",
    )
    return Hyperplane(n, offset, steps=steps, steps_latex=latex)


def _col(values: Sequence[Any]) -> str:
    return "\\begin{bmatrix} " + " \\\\ ".join(_latex_number(v) for v in values) + " \\end{bmatrix}"


def _latex_row(values: Sequence[Any]) -> str:
    return "\\begin{bmatrix} " + " & ".join(_latex_number(v) for v in values) + " \\end{bmatrix}"


def _latex_terms(terms: Sequence[Any]) -> str:
    out = ""
    for t in terms:
        text = _latex_number(abs(t))
        if not out:
            out = f"-{text}" if t < 0 else text
        else:
            out += f" - {text}" if t < 0 else f" + {text}"
    return out
