"""The ``bisector`` kind: the hyperplane through the midpoint of two points, normal to their
difference.

In a problem set::

    [[problem]]
    id = "q1"
    kind = "bisector"
    x_plus  = [-5, 1, 3]                          # on the positive side
    x_minus = [2, 2, -3]
    answer  = { w = [-7, -1, 6], b = -9 }         # f(x) = w·x + b with f(x_plus) > 0
    check   = { accept = "positive-multiple" }    # or "exact"; rtol for float answers (1e-9)
    [problem.random]
    x_plus  = { draw = "int_vector", size = 3, low = -5, high = 5 }
    x_minus = { draw = "int_vector", size = 3, low = -5, high = 5 }

Everything is exact: numbers given as ints or decimals are read as the rationals they spell (``0.1``
is ``1/10``), and the answer ``{ w, b }`` is compared with the bisector up to a positive factor in
``Fraction`` arithmetic. The helpers before the kind (reading exact numbers and vectors from
answers, writing them back, building verdicts) are shared by the other linear kinds (``separate``,
``threshold_unit``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from chainrule.linear._exact import format_number
from chainrule.linear.hyperplane import Hyperplane, bisector_hyperplane
from chainrule.problems import draws
from chainrule.problems import fields as F
from chainrule.problems.errors import FormatError
from chainrule.problems.kinds.base import Kind
from chainrule.problems.results import (
    CheckLine,
    Counterexample,
    Figure,
    PartSolution,
    ProblemSolution,
    Status,
    Step,
    Verdict,
)

if TYPE_CHECKING:
    from chainrule.problems.schema import Part, Problem

__all__ = ["BisectorKind"]

#: The longest numeric string read from an answer ("-7/2", "0.125").
MAX_NUMBER_TEXT = 100
_RATIO = re.compile(r"^[+-]?\d+/\d+\Z")
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?\Z")
#: Tries at drawing two different points before the rules are judged unable to.
_DRAW_TRIES = 100


# ==================================================================================================
# Helpers shared by the linear kinds
# ==================================================================================================
def given_fraction(value: int | float) -> Fraction:
    """A validated given number (int or finite float) as the rational it spells: 0.1 → 1/10."""
    return Fraction(value) if isinstance(value, int) else Fraction(repr(value))


def given_matrix(rows: Sequence[Sequence[int | float]]) -> list[list[Fraction]]:
    """A validated number matrix (``n`` rows of ``d``) as Fractions, row by row."""
    return [[given_fraction(v) for v in row] for row in rows]


def read_number(value: Any) -> Fraction:
    """A number of an answer as an exact Fraction: an int, a finite float (its decimal value), or a
    string ``"p/q"`` / ``"0.25"`` (at most :data:`MAX_NUMBER_TEXT` characters; never evaluated).

    Raises:
        FormatError: anything else (message only; the caller names the field).
    """
    if isinstance(value, bool):
        raise FormatError(f"expected a number, got {F.type_name(value)} {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FormatError(f"expected a finite number, got {value}")
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= MAX_NUMBER_TEXT and (_RATIO.match(text) or _DECIMAL.match(text)):
            try:
                return Fraction(text)
            except ZeroDivisionError:
                raise FormatError(f"{value!r} divides by zero") from None
        raise FormatError(f'expected a number such as 3, -0.5 or "7/2", got the string {value!r}')
    raise FormatError(f"expected a number, got {F.type_name(value)} {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def answer_error(problem: Problem, part: Part, message: str, field: str) -> FormatError:
    """A FormatError at ``field`` of the answer to ``part`` of ``problem``."""
    return problem.error(message, part=part.id or None, field=field)


def read_answer_number(problem: Problem, part: Part, value: Any, field: str) -> Fraction:
    """:func:`read_number`, its error located at ``field`` (``answer.b``)."""
    try:
        return read_number(value)
    except FormatError as exc:
        raise answer_error(problem, part, exc.message, field) from None


def read_answer_vector(
    problem: Problem, part: Part, value: Any, field: str, length: int
) -> list[Fraction]:
    """An array of exactly ``length`` numbers of an answer, as Fractions.

    Raises:
        FormatError: not an array, the wrong length, or an item that is not a number (at ``field``).
    """
    if not isinstance(value, list):
        raise answer_error(
            problem,
            part,
            f"expected an array of {length} numbers, got {F.type_name(value)} {_short(value)}",
            field,
        )
    if len(value) != length:
        raise answer_error(
            problem, part, f"expected {length} numbers, got {len(value)}: {_short(value)}", field
        )
    out = []
    for i, v in enumerate(value):
        try:
            out.append(read_number(v))
        except FormatError as exc:
            raise answer_error(problem, part, f"item {i}: {exc.message}", field) from None
    return out


def answer_table(
    problem: Problem, part: Part, answer: Any, keys: Sequence[str], example: str
) -> dict[str, Any]:
    """The answer as a table whose keys are among ``keys``.

    Raises:
        FormatError: not a table (field ``answer``), or an unknown key (field ``answer.<key>``).
    """
    if not isinstance(answer, dict):
        raise answer_error(
            problem,
            part,
            f"expected a table like {example}, got {F.type_name(answer)} {_short(answer)}",
            "answer",
        )
    for key in answer:
        if key not in keys:
            raise answer_error(
                problem,
                part,
                f"unknown key {key!r} in the answer; its keys are {', '.join(keys)}",
                f"answer.{key}",
            )
    return answer


def has_float(answer: Any) -> bool:
    """Whether an answer holds a TOML float (then ``rtol`` applies after the exact test)."""
    if isinstance(answer, float):
        return True
    if isinstance(answer, dict):
        return any(has_float(v) for v in answer.values())
    if isinstance(answer, list):
        return any(has_float(v) for v in answer)
    return False


def out_number(value: Fraction | float | int) -> int | float | str:
    """A number as an answers file holds it: an int when whole, ``"p/q"`` for other Fractions."""
    if isinstance(value, Fraction):
        return (
            value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
        )
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def fig_number(value: Fraction | float | int) -> int | float:
    """A number for a figure's data: an int when whole, a float otherwise."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    if isinstance(value, int):
        return value
    return float(value)


def text_number(value: Fraction | float | int) -> str:
    """A number in a message: ``-43``, ``7/2``, ``0.333333``."""
    return format_number(value)


def text_point(values: Sequence[Fraction | float | int]) -> str:
    """``(-5, 1, 3)``."""
    return "(" + ", ".join(text_number(v) for v in values) + ")"


def dot(a: Sequence[Fraction], b: Sequence[Fraction]) -> Fraction:
    """``a·b`` exactly."""
    return sum((x * y for x, y in zip(a, b, strict=True)), Fraction(0))


def exact_ratio(a: Sequence[Fraction], c: Sequence[Fraction]) -> Fraction | None:
    """``λ`` with ``a = λ·c`` exactly (``c`` not all zero), or ``None`` when there is none."""
    k = next(i for i, v in enumerate(c) if v != 0)
    lam = a[k] / c[k]
    return lam if all(x == lam * y for x, y in zip(a, c, strict=True)) else None


def close_ratio(a: Sequence[Fraction], c: Sequence[Fraction], rtol: float) -> float | None:
    """``λ`` with ``a ≈ λ·c`` (every coordinate within ``rtol`` of ``a``'s largest), or ``None``.

    For answers typed as decimals (``0.333333333333`` for 1/3): the least-squares ``λ``, then the
    test.
    """
    try:
        af = np.array([float(v) for v in a])
        cf = np.array([float(v) for v in c])
    except OverflowError:
        return None
    top = float(np.max(np.abs(af)))
    if top == 0.0 or not np.all(np.isfinite(af)) or not np.all(np.isfinite(cf)):
        return None
    lam = float(af @ cf) / float(cf @ cf)
    if lam == 0.0 or float(np.max(np.abs(af - lam * cf))) > rtol * top:
        return None
    return lam


def make_verdict(
    problem: Problem,
    part: Part,
    answer: Any,
    status: Status,
    summary: str,
    *,
    diagnosis: Sequence[str] = (),
    counterexample: Counterexample | None = None,
    method: str = "exact",
) -> Verdict:
    """A verdict with the part's points: all of them when correct, none otherwise."""
    return Verdict(
        problem=problem.id,
        part=part.id,
        status=status,
        summary=summary,
        diagnosis=list(diagnosis),
        counterexample=counterexample,
        method=method,
        points=part.points if status == "correct" else 0.0,
        max_points=part.points,
        answer=answer,
    )


def validate_random(problem: Problem, kind: Kind, allowed: dict[str, tuple[str, ...]]) -> None:
    """Check each rule of ``problem.random`` (a kind's ``prepare``): readable, and a draw that makes
    the right type of value for its given (``allowed[field]``: the draw names).

    Raises:
        FormatError: naming ``random.<field>``.
    """
    for key, rule in problem.random.items():
        if key in draws.RESERVED:
            continue
        params = draws.validate_rule(rule, key)
        name = rule["draw"]
        if key in allowed and name not in allowed[key]:
            raise problem.error(
                f"{key} cannot be drawn with {name!r}; use {' or '.join(map(repr, allowed[key]))}",
                field=f"random.{key}",
            )
        if name == "choice":
            spec = kind.givens.get(key)
            for i, value in enumerate(params["values"]):
                if spec is None:
                    break
                try:
                    spec.check(value)
                except FormatError as exc:
                    raise problem.error(
                        f"values item {i} is not a valid {key}: {exc.message}",
                        field=f"random.{key}",
                    ) from None


def check_drawn(problem: Problem, kind: Kind, drawn: dict[str, Any]) -> None:
    """Run each drawn value through its given's validator (a ``choice`` can hold anything).

    Raises:
        FormatError: naming ``random.<field>``.
    """
    for key, value in drawn.items():
        spec = kind.givens.get(key)
        if spec is None:
            continue
        try:
            drawn[key] = spec.check(value)
        except FormatError as exc:
            raise problem.error(
                f"the drawn value is not a valid {key}: {exc.message}", field=f"random.{key}"
            ) from None


def _rtol(value: Any) -> float:
    v = F.number(value)
    if v < 0 or v >= 1:
        raise FormatError(f"rtol must be in [0, 1), got {v}")
    return float(v)


#: The ``check`` option ``rtol`` of the linear kinds.
RTOL_FIELD = F.Field(_rtol, doc="relative tolerance for answers typed as floats (default 1e-9)")


# ==================================================================================================
# The kind
# ==================================================================================================
class BisectorKind(Kind):
    """The hyperplane bisecting ``x_plus`` and ``x_minus``: ``f(x) = n·x − n·m`` with
    ``n = x₊ − x₋`` and ``m`` the midpoint, so that ``f(x₊) > 0 > f(x₋)``.

    Answer: ``{ w = [...], b = ... }`` (numbers, or ``"p/q"`` strings). ``check.accept``:
    ``"positive-multiple"`` (default: any ``λ(w*, b*)`` with ``λ > 0``) or ``"exact"``.
    """

    name: ClassVar[str] = "bisector"
    summary: ClassVar[str] = "the hyperplane through the midpoint of x₊ and x₋, normal to x₊ − x₋"
    givens: ClassVar[dict[str, F.Field]] = {
        "x_plus": F.Field(F.number_vector, required=True, doc="the point on the positive side"),
        "x_minus": F.Field(F.number_vector, required=True, doc="the point on the negative side"),
    }
    check_options: ClassVar[dict[str, F.Field]] = {
        "accept": F.Field(
            F.choice(("positive-multiple", "exact")),
            doc="positive-multiple (default): λ(w, b) with λ > 0; exact: n = x₊ − x₋, b = −n·m",
        ),
        "rtol": RTOL_FIELD,
    }
    random_fields: ClassVar[tuple[str, ...]] = ("x_plus", "x_minus")

    # -- loading -----------------------------------------------------------------------------------
    def prepare(self, problem: Problem) -> None:
        """Check the points (same length, different), the model answers and the random rules; cache
        the exact points and the bisector on ``problem.prepared``.

        Raises:
            FormatError: points of different lengths (field ``x_minus``), equal points, an
                unreadable model answer (``answer.w``...), or a bad rule (``random.x_plus``).
        """
        p = [given_fraction(v) for v in problem.givens["x_plus"]]
        q = [given_fraction(v) for v in problem.givens["x_minus"]]
        if len(p) != len(q):
            raise problem.error(
                f"x_minus has {len(q)} coordinates but x_plus has {len(p)}", field="x_minus"
            )
        if p == q:
            raise problem.error(
                f"x_minus equals x_plus {text_point(p)}: no hyperplane bisects a point and itself",
                field="x_minus",
            )
        validate_random(
            problem, self, {"x_plus": ("int_vector", "choice"), "x_minus": ("int_vector", "choice")}
        )
        sizes = {
            k: draws.rule_length(problem.random[k])
            for k in self.random_fields
            if k in problem.random
        }
        for key, size in sizes.items():
            other = "x_minus" if key == "x_plus" else "x_plus"
            other_size = sizes.get(other, len(p))
            if size is not None and other_size is not None and size != other_size:
                raise problem.error(
                    f"the rule draws {size} coordinates but {other} has {other_size}",
                    field=f"random.{key}",
                )
        plane = bisector_hyperplane(
            p, q
        )  # Fractions: the engine's exact path keeps them as they are
        problem.prepared.update(x_plus=p, x_minus=q, plane=plane)
        for part in problem.parts:
            if part.answer is not None:
                self._read(problem, part, part.answer)

    def _data(self, problem: Problem) -> tuple[list[Fraction], list[Fraction], Hyperplane]:
        if "plane" not in problem.prepared:
            self.prepare(problem)
        pr = problem.prepared
        return pr["x_plus"], pr["x_minus"], pr["plane"]

    # -- solving -----------------------------------------------------------------------------------
    def solve(self, problem: Problem) -> ProblemSolution:
        """The bisector in exact arithmetic, its worked steps, three exact checks and a figure."""
        p, q, plane = self._data(problem)
        m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
        f_p, f_q, f_m = plane(p), plane(q), plane(m)
        checks = [
            CheckLine(
                "exact",
                f"f(x₊) = {text_number(f_p)} > 0 > f(x₋) = {text_number(f_q)}",
                bool(f_p > 0 > f_q),
            ),
            CheckLine(
                "exact", f"f(m) = {text_number(f_m)} at the midpoint m = {text_point(m)}", f_m == 0
            ),
            CheckLine(
                "exact",
                f"f(x₊) = −f(x₋) = {text_number(f_p)}: both points are equally far from the plane",
                f_p == -f_q,
            ),
        ]
        steps = _steps(plane)
        figure = Figure(
            kind="hyperplane",
            caption="x₊ and x₋ and the hyperplane that bisects them",
            data={
                "points": [list(problem.givens["x_plus"]), list(problem.givens["x_minus"])],
                "labels": [1, 0],
                "w": [fig_number(v) for v in plane.normal],
                "b": fig_number(plane.offset),
                "margin": None,
            },
        )
        parts = []
        for part in problem.parts:
            model = self.model_answer(problem, part)
            parts.append(
                PartSolution(
                    part=part.id,
                    statement=part.statement,
                    answer=model,
                    answer_text=str(plane),
                    answer_latex=plane.to_latex(),
                    steps=list(steps),
                    checks=list(checks),
                    model_check=self.model_verdict(problem, part),
                )
            )
        return self.new_solution(problem, parts, [figure])

    def model_answer(self, problem: Problem, part: Part) -> dict[str, Any]:
        """``{"w": [...], "b": ...}``: ints where whole, ``"p/q"`` strings otherwise."""
        _, _, plane = self._data(problem)
        return {"w": [out_number(v) for v in plane.normal], "b": out_number(plane.offset)}

    def draw(self, problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
        """New ``x_plus`` and/or ``x_minus`` from ``problem.random``, redrawn (up to 100 times)
        until the two points differ: equal points have no bisector, whatever ``require`` says.

        Raises:
            FormatError: a rule that cannot be drawn, points of different lengths, or rules that
                give equal points every time (naming ``random.<field>``).
        """
        keys = [k for k in self.random_fields if k in problem.random]
        for _ in range(_DRAW_TRIES):
            drawn = draws.draw_table(problem.random, rng, fields=keys)
            check_drawn(problem, self, drawn)
            merged = {**problem.givens, **drawn}
            p = [given_fraction(v) for v in merged["x_plus"]]
            q = [given_fraction(v) for v in merged["x_minus"]]
            if len(p) != len(q):
                raise problem.error(
                    f"the drawn x_plus has {len(p)} coordinates but x_minus has {len(q)}",
                    field=f"random.{keys[0]}",
                )
            if p != q:
                return drawn
        raise problem.error(
            f"the rules drew x_plus equal to x_minus in {_DRAW_TRIES} tries out of {_DRAW_TRIES}",
            field=f"random.{keys[0]}" if keys else "random",
        )

    # -- checking ----------------------------------------------------------------------------------
    def _read(self, problem: Problem, part: Part, answer: Any) -> tuple[list[Fraction], Fraction]:
        d = len(problem.prepared["x_plus"])
        table = answer_table(problem, part, answer, ("w", "b"), "{ w = [...], b = ... }")
        for key in ("w", "b"):
            if key not in table:
                raise answer_error(
                    problem,
                    part,
                    f"missing {key!r}: the answer is {{ w = [...], b = ... }}",
                    f"answer.{key}",
                )
        w = read_answer_vector(problem, part, table["w"], "answer.w", d)
        b = read_answer_number(problem, part, table["b"], "answer.b")
        return w, b

    def check(self, problem: Problem, part: Part, answer: Any) -> Verdict:
        """Grade ``{ w, b }``: correct when ``(w, b) = λ(w*, b*)`` with ``λ > 0`` (``λ = 1`` for
        ``accept = "exact"``), exactly, or within ``rtol`` when the answer holds floats.

        Raises:
            FormatError: a missing ``w`` or ``b``, a wrong length, a value that is not a number.
        """
        p, q, plane = self._data(problem)
        w, b = self._read(problem, part, answer)
        accept = problem.check.get("accept", "positive-multiple")
        rtol = float(problem.check.get("rtol", 1e-9))
        verdict = _Grader(problem, part, answer, p, q, plane)
        if all(v == 0 for v in w):
            return verdict.not_a_plane(b)
        mine = [Fraction(v) for v in (*plane.normal, plane.offset)]
        lam: Fraction | float | None = exact_ratio([*w, b], mine)
        method = "exact"
        if lam is None and has_float(answer):
            lam = close_ratio([*w, b], mine, rtol)
            method = f"numeric: rtol {rtol:g}"
        if lam is None:
            return verdict.not_proportional(w, b)
        if lam < 0:
            return verdict.flipped(w, b, lam, method)
        if accept == "exact" and not _is_one(lam, rtol):
            return verdict.scaled(lam, method)
        return verdict.correct(lam, method)


def _is_one(lam: Fraction | float, rtol: float) -> bool:
    return lam == 1 if isinstance(lam, Fraction) else abs(lam - 1) <= rtol


def _steps(plane: Hyperplane) -> list[Step]:
    """The engine's worked derivation as steps (text and LaTeX), with a note on each."""
    text, latex = plane.steps, plane.steps_latex
    return [
        Step(text[0], latex[0], "the normal: the difference of the two points"),
        Step(text[1], latex[1], "the midpoint"),
        Step(text[2], latex[2], "the plane through m normal to n: f(x) = n·x − n·m"),
        Step(text[3].strip(), "", "collect the constant"),
        Step(text[4], latex[3], "the decision function; f(x₊) > 0"),
    ]


class _Grader:
    """The verdicts of one answer to a bisector problem (one method per case)."""

    def __init__(
        self,
        problem: Problem,
        part: Part,
        answer: Any,
        p: list[Fraction],
        q: list[Fraction],
        plane: Hyperplane,
    ) -> None:
        self.problem, self.part, self.answer = problem, part, answer
        self.p, self.q, self.plane = p, q, plane
        self.m = [(a + c) / 2 for a, c in zip(p, q, strict=True)]
        self.plus = list(problem.givens["x_plus"])
        self.minus = list(problem.givens["x_minus"])

    def _verdict(self, status: Status, summary: str, **kw: Any) -> Verdict:
        return make_verdict(self.problem, self.part, self.answer, status, summary, **kw)

    def correct(self, lam: Fraction | float, method: str) -> Verdict:
        head = "" if _is_one(lam, 0.0) else f"{text_number(lam)} × "
        return self._verdict(
            "correct",
            f"{head}the bisector {self.plane}",
            diagnosis=["the same hyperplane, with x₊ on its positive side"],
            method=method,
        )

    def flipped(
        self, w: list[Fraction], b: Fraction, lam: Fraction | float, method: str
    ) -> Verdict:
        f_p = dot(w, self.p) + b
        f_q = dot(w, self.q) + b
        return self._verdict(
            "wrong",
            "orientation flipped: −1 × a correct answer",
            diagnosis=[
                f"your (w, b) is {text_number(lam)} × the bisector {self.plane}: "
                "the right plane, but x₊ is on its negative side",
                f"f(x₊) = {text_number(f_p)} < 0 and f(x₋) = {text_number(f_q)} > 0; "
                "−1 × your answer is correct",
            ],
            counterexample=Counterexample(
                point={"x": self.plus, "label": "+"}, expected="> 0", got=out_number(f_p)
            ),
            method=method,
        )

    def scaled(self, lam: Fraction | float, method: str) -> Verdict:
        f_p = self.plane(self.p)
        return self._verdict(
            "wrong",
            f"{text_number(lam)} × the expected answer: "
            "this problem asks for n = x₊ − x₋ and b = −n·m exactly",
            diagnosis=[
                "the hyperplane and its orientation are right, but "
                f"f(x₊) = {text_number(lam * f_p)}, not {text_number(f_p)}"
            ],
            counterexample=Counterexample(
                point={"x": self.plus, "label": "+"},
                expected=out_number(f_p),
                got=out_number(lam * f_p),
                difference=out_number(lam * f_p - f_p),
            ),
            method=method,
        )

    def not_a_plane(self, b: Fraction) -> Verdict:
        # f is the constant b: x₋ is on the wrong side when b > 0, x₊ otherwise.
        point = {"x": self.minus, "label": "-"} if b > 0 else {"x": self.plus, "label": "+"}
        return self._verdict(
            "wrong",
            "not a hyperplane: w = 0",
            diagnosis=[
                f"with w = 0, f(x) = {text_number(b)} everywhere and cannot separate x₊ from x₋"
            ],
            counterexample=Counterexample(
                point=point, expected="< 0" if b > 0 else "> 0", got=out_number(b)
            ),
        )

    def not_proportional(self, w: list[Fraction], b: Fraction) -> Verdict:
        """The first property that fails, with its point; all failing ones in the diagnosis."""
        f_p, f_q, f_m = dot(w, self.p) + b, dot(w, self.q) + b, dot(w, self.m) + b
        failures: list[tuple[str, Counterexample]] = []
        if f_p <= 0:
            failures.append(
                (
                    f"x₊ = {text_point(self.p)} is on the wrong side: "
                    f"f(x₊) = {text_number(f_p)} ≤ 0",
                    Counterexample({"x": self.plus, "label": "+"}, "> 0", out_number(f_p)),
                )
            )
        if f_q >= 0:
            failures.append(
                (
                    f"x₋ = {text_point(self.q)} is on the wrong side: "
                    f"f(x₋) = {text_number(f_q)} ≥ 0",
                    Counterexample({"x": self.minus, "label": "-"}, "< 0", out_number(f_q)),
                )
            )
        if f_m != 0:
            failures.append(
                (
                    f"the plane does not pass through the midpoint m = {text_point(self.m)}: "
                    f"f(m) = {text_number(f_m)} ≠ 0",
                    Counterexample(
                        {"x": [out_number(v) for v in self.m], "label": "midpoint"},
                        0,
                        out_number(f_m),
                        out_number(f_m),
                    ),
                )
            )
        n = [a - c for a, c in zip(self.p, self.q, strict=True)]
        # t, the part of w orthogonal to n, is zero exactly when w ∥ n. Otherwise m + t lies on the
        # bisector and f(m + t) = f(m) + w·t with w·t = ‖t‖² > 0: f is not constant along it.
        t = [wi - dot(w, n) / dot(n, n) * ni for wi, ni in zip(w, n, strict=True)]
        if any(v != 0 for v in t):
            point = [mi + ti for mi, ti in zip(self.m, t, strict=True)]
            f_pt = dot(w, point) + b
            failures.append(
                (
                    f"w is not parallel to x₊ − x₋ = {text_point(n)}, so the plane is not "
                    f"perpendicular to the segment: from m to {text_point(point)}, a point of the "
                    f"bisector, f changes by {text_number(dot(t, t))}",
                    Counterexample(
                        {"x": [out_number(v) for v in point], "label": "on the bisector"},
                        0,
                        out_number(f_pt),
                        out_number(f_pt),
                    ),
                )
            )
        # Not proportional with λ > 0 nor λ < 0 means at least the plane or its normal is off.
        summary, counterexample = failures[0]
        return self._verdict(
            "wrong",
            summary,
            diagnosis=[text for text, _ in failures],
            counterexample=counterexample,
        )
