"""The ``separate`` kind: a hyperplane that separates labelled points, or a certificate that none
does.

In a problem set::

    [[problem]]
    id = "q3"
    kind = "separate"
    data   = [[0, 0], [1, 1], [2, 0], [3, 1]]   # the points, one row each
    labels = [1, 1, 0, 0]                     # two values; the larger is the positive side
    margin = "max"                            # "max" (default) or "any": the plane solve shows
    answer = { w = [-1, 0], b = 1.5 }         # f(x) = w·x + b, positive class on f > 0
    # answer = { separable = false }          # when no hyperplane exists
    # answer = { separable = false, certificate = [1, 1, 1, 1] }   # λ_i ≥ 0, one per point
    check = { accept = "separating" }         # or "max-margin"; rtol for float answers (1e-9)

``solve`` uses :func:`chainrule.linear.separating_hyperplane`; when the classes cannot be separated
its answer is the Gordan certificate (``λ ≥ 0`` with ``Σ λ_i y_i [x_i; 1] = 0``). ``check`` judges a
claimed plane by the property (every point strictly on its side), in exact arithmetic on the data as
written.

The points are the given ``data`` (``points`` is every problem's score). The data helpers here
(:class:`LinearData`, the solution cache, certificates) serve ``threshold_unit`` too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from chainrule.linear.hyperplane import Hyperplane
from chainrule.linear.separate import (
    GordanCertificate,
    NotSeparable,
    SeparatingHyperplane,
    separating_hyperplane,
)
from chainrule.problems import draws
from chainrule.problems import fields as F
from chainrule.problems.errors import FormatError
from chainrule.problems.kinds.base import Kind
from chainrule.problems.kinds.bisector import (
    RTOL_FIELD,
    answer_error,
    answer_table,
    check_drawn,
    close_ratio,
    dot,
    exact_ratio,
    fig_number,
    given_matrix,
    has_float,
    make_verdict,
    out_number,
    read_answer_number,
    read_answer_vector,
    text_number,
    text_point,
    validate_random,
)
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

__all__ = ["LinearData", "SeparateKind"]

Label = int | float | str
Solution = SeparatingHyperplane | GordanCertificate


# ==================================================================================================
# Labelled data, shared with threshold_unit
# ==================================================================================================
def two_labels(value: Any) -> list[Label]:
    """A validator: an array of labels (numbers, or strings), holding exactly two distinct values.

    Raises:
        FormatError: not an array, an item that is not a number or a string, numbers mixed with
            strings, or other than two distinct values.
    """
    if not isinstance(value, list) or not value:
        raise FormatError(f"expected a non-empty array of labels, got {F.type_name(value)}")
    if len(value) > F.MAX_ITEMS:
        raise FormatError(f"{len(value)} labels; the limit is {F.MAX_ITEMS}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise FormatError(f"item {i} must be a number or a string, got {F.type_name(v)} {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise FormatError(f"item {i} is {v}; labels must be finite")
    if len({isinstance(v, str) for v in value}) > 1:
        raise FormatError("labels mix numbers and strings; use one or the other")
    classes = sorted(set(value))
    if len(classes) != 2:
        shown = ", ".join(repr(c) for c in classes[:5])
        raise FormatError(
            f"labels hold {len(classes)} distinct values ({shown}); exactly two are needed"
        )
    return list(value)


@dataclass
class LinearData:
    """Labelled points, exact and float.

    Attributes:
        raw: the points as given (ints/floats), ``n`` rows of ``d``.
        X: the points as the rationals they spell (``0.1`` is ``1/10``); the exact checks use these.
        X_float: float64 array of shape ``(n, d)``, for the solvers.
        labels: the labels as given.
        s: ``+1`` for the positive class (the larger label), ``-1`` for the other.
        classes: ``(negative_label, positive_label)``.
    """

    raw: list[list[int | float]]
    X: list[list[Fraction]]
    X_float: np.ndarray
    labels: list[Label]
    s: list[int]
    classes: tuple[Label, Label]

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def d(self) -> int:
        return len(self.X[0])

    def margins(self, w: Sequence[Fraction], b: Fraction) -> list[Fraction]:
        """``y_i (w·x_i + b)`` for every point, exactly (``y_i = ±1``)."""
        return [si * (dot(w, xi) + b) for xi, si in zip(self.X, self.s, strict=True)]

    def residual(self, lam: Sequence[Fraction]) -> list[Fraction]:
        """``Σ λ_i y_i [x_i; 1]`` (length ``d + 1``): zero for a certificate of inseparability."""
        total = [Fraction(0)] * (self.d + 1)
        for li, xi, si in zip(lam, self.X, self.s, strict=True):
            for j, v in enumerate([*xi, Fraction(1)]):
                total[j] += li * si * v
        return total

    def side(self, i: int) -> str:
        """``"> 0"`` for a point of the positive class, ``"< 0"`` otherwise."""
        return "> 0" if self.s[i] > 0 else "< 0"

    def point(self, i: int) -> dict[str, Any]:
        """Point ``i`` as a counterexample names it: ``{"x": [...], "label": ..., "index": i}``."""
        return {"x": list(self.raw[i]), "label": self.labels[i], "index": i}


def labelled_data(problem: Problem, labels_key: str = "labels") -> LinearData:
    """The problem's ``data`` (the points) and labels as :class:`LinearData`.

    Raises:
        FormatError: a number of labels other than the number of points (field ``labels``).
    """
    raw = [list(r) for r in problem.givens["data"]]
    labels = list(problem.givens[labels_key])
    if len(labels) != len(raw):
        raise problem.error(
            f"{len(labels)} labels for {len(raw)} points; give one label per point",
            field=labels_key,
        )
    neg, pos = sorted(set(labels))
    return LinearData(
        raw=raw,
        X=given_matrix(raw),
        X_float=np.asarray(raw, dtype=np.float64),
        labels=labels,
        s=[1 if v == pos else -1 for v in labels],
        classes=(neg, pos),
    )


def validate_labelled_random(
    problem: Problem, kind: Kind, n: int, label_values: Sequence[Label] | None = None
) -> None:
    """Check the ``data`` and ``labels`` rules: their draws, that they agree in number with each
    other and the fixed givens, and that a ``labels`` draw has two values (``label_values`` when
    given).

    Raises:
        FormatError: naming ``random.data`` or ``random.labels``.
    """
    validate_random(problem, kind, {"data": ("points", "choice"), "labels": ("labels", "choice")})
    sizes: dict[str, int | None] = {
        k: draws.rule_length(problem.random[k]) for k in ("data", "labels") if k in problem.random
    }
    what = {"data": "points", "labels": "labels"}
    for key, size in sizes.items():
        other = "labels" if key == "data" else "data"
        other_size = sizes.get(other, n)
        if size is not None and other_size is not None and size != other_size:
            raise problem.error(
                f"the rule draws {size} {what[key]} but there are {other_size} {what[other]}",
                field=f"random.{key}",
            )
    rule = problem.random.get("labels")
    if isinstance(rule, dict) and rule.get("draw") == "labels":
        values = draws.validate_rule(rule, "labels")["values"]
        if len(values) != 2 or (
            label_values is not None and sorted(values) != sorted(label_values)
        ):
            want = " and ".join(map(repr, label_values)) if label_values else "two values"
            raise problem.error(
                f"labels are drawn from {values!r}; they must be {want}", field="random.labels"
            )


def draw_labelled(problem: Problem, kind: Kind, rng: np.random.Generator) -> dict[str, Any]:
    """New ``data`` and/or ``labels`` for a variant, validated as givens.

    Raises:
        FormatError: a rule that cannot be drawn (naming ``random.<field>``).
    """
    drawn = draws.draw_table(problem.random, rng, fields=kind.random_fields)
    check_drawn(problem, kind, drawn)
    return drawn


def cached_solution(problem: Problem, data: LinearData, margin: str) -> Solution:
    """The engine's answer for the data: a :class:`SeparatingHyperplane` (``margin`` ``"max"`` or
    ``"any"``) or the :class:`GordanCertificate` that none exists; cached on
    ``problem.prepared``."""
    key = f"solution:{margin}"
    if key not in problem.prepared:
        try:
            problem.prepared[key] = separating_hyperplane(
                data.X_float,
                np.asarray(data.labels),
                margin="max" if margin == "max" else "any",
            )
        except NotSeparable as exc:
            problem.prepared[key] = exc.certificate
    return problem.prepared[key]


def certificate_multipliers(cert: GordanCertificate, n: int) -> list[Fraction]:
    """The certificate's ``λ`` over all ``n`` points (zero off its rows), as Fractions."""
    lam = [Fraction(0)] * n
    for i, w in zip(cert.indices, cert.weights, strict=True):
        lam[i] = Fraction(w)
    return lam


def certificate_steps(
    data: LinearData, cert: GordanCertificate, lam: Sequence[Fraction]
) -> list[Step]:
    """The certificate as steps: the multipliers, the zero combination, the common point, why."""
    rows = ", ".join(
        f"λ_{i} = {text_number(lam[i])} (x = {text_point(data.X[i])}, label {data.labels[i]!r})"
        for i in cert.indices
    )
    res = data.residual(lam)
    zero_x = text_point(res[:-1])
    common = text_point(cert.common_point)
    return [
        Step(
            "look for multipliers λ_i ≥ 0, Σλ = 1, with Σ λ_i y_i x_i = 0 and Σ λ_i y_i = 0 "
            "(Gordan)",
            r"\lambda \ge 0,\ \textstyle\sum_i \lambda_i = 1,\ \sum_i \lambda_i y_i "
            r"\begin{bmatrix} x_i \\ 1 \end{bmatrix} = 0",
            "a certificate that no hyperplane separates the classes",
        ),
        Step(rows, "", "the multipliers (every other λ_i is 0)"),
        Step(
            f"Σ λ_i y_i x_i = {zero_x} and Σ λ_i y_i = {text_number(res[-1])}",
            "",
            "the combination vanishes",
        ),
        Step(
            f"{cert}  — both sides are the point {common}",
            cert.to_latex(),
            "a point in the convex hulls of both classes",
        ),
        Step(
            "for any (w, b): Σ λ_i y_i (w·x_i + b) = w·0 + b·0 = 0, "
            "so not every y_i (w·x_i + b) is > 0",
            r"\sum_i \lambda_i y_i (w \cdot x_i + b) = 0",
            "hence no hyperplane separates them",
        ),
    ]


def certificate_check(data: LinearData, lam: Sequence[Fraction]) -> CheckLine:
    """The exact check of a certificate on the data as written."""
    res = data.residual(lam)
    ok = all(v >= 0 for v in lam) and sum(lam) == 1 and all(v == 0 for v in res)
    return CheckLine(
        "certificate",
        f"λ ≥ 0, Σλ = {text_number(sum(lam, Fraction(0)))}, Σ λ_i y_i [x_i; 1] = "
        f"{text_point(res)} (exact)",
        ok,
    )


def certificate_figure(data: LinearData, cert: GordanCertificate) -> dict[str, Any]:
    """The certificate as figure data: its rows, weights and the common point (floats)."""
    return {
        "rows": list(cert.indices),
        "weights": [float(w) for w in cert.weights],
        "common_point": [float(v) for v in cert.common_point],
    }


def read_certificate(
    problem: Problem, part: Part, table: dict[str, Any], n: int
) -> list[Fraction] | None:
    """The claim ``{ separable = false[, certificate = [...]] }``: the multipliers, or ``None``.

    Raises:
        FormatError: ``separable`` not a boolean, or a certificate that is not ``n`` numbers.
    """
    if "certificate" not in table:
        return None
    return read_answer_vector(problem, part, table["certificate"], "answer.certificate", n)


def read_separable(
    problem: Problem, part: Part, table: dict[str, Any], weights: Sequence[str]
) -> bool:
    """Whether the answer claims weights (``True``) or that none exist (``separable = false``).

    Raises:
        FormatError: ``separable`` that is not a boolean, weights beside ``separable = false``, or a
            certificate beside weights.
    """
    claim = table.get("separable", True)
    if not isinstance(claim, bool):
        raise answer_error(
            problem,
            part,
            f"separable must be true or false, got {F.type_name(claim)}",
            "answer.separable",
        )
    if not claim:
        extra = [k for k in weights if k in table]
        if extra:
            raise answer_error(
                problem,
                part,
                "separable = false claims no hyperplane exists, "
                f"but the answer also gives {extra[0]!r}",
                f"answer.{extra[0]}",
            )
    elif "certificate" in table:
        raise answer_error(
            problem,
            part,
            "a certificate proves that no hyperplane exists: give it with separable = false",
            "answer.certificate",
        )
    return claim


def grade_no_plane_claim(
    problem: Problem,
    part: Part,
    answer: Any,
    data: LinearData,
    solution: GordanCertificate | tuple[dict[str, Any], str],
    lam: list[Fraction] | None,
) -> Verdict:
    """Grade the claim "no separating hyperplane exists", with its certificate ``lam`` when given.

    ``solution`` is the engine's certificate when the claim is true, and otherwise the witness that
    refutes it: the counterexample's point and its text (``{w, b}`` for ``separate``, ``{w0, w}``
    for ``threshold_unit``).
    """
    if not isinstance(solution, GordanCertificate):
        point, text = solution
        return make_verdict(
            problem,
            part,
            answer,
            "wrong",
            f"the classes are separable: {text} puts every point strictly on its side",
            diagnosis=[
                f"{text} gives every one of the {data.n} points its side "
                "(checked exactly), so the claim that none exists is wrong"
            ],
            counterexample=Counterexample(
                point=point,
                expected="no separating hyperplane",
                got=f"all {data.n} points separated",
            ),
        )
    if lam is None:
        return make_verdict(
            problem,
            part,
            answer,
            "correct",
            "the classes are not linearly separable",
            diagnosis=[f"certificate: {solution}"],
            method="certificate",
        )
    bad = next((i for i, v in enumerate(lam) if v < 0), None)
    res = data.residual(lam)
    if bad is not None or all(v == 0 for v in lam) or any(v != 0 for v in res):
        if bad is not None:
            why = f"λ_{bad} = {text_number(lam[bad])} < 0: the multipliers must be ≥ 0"
        elif all(v == 0 for v in lam):
            why = "every multiplier is 0: a certificate needs some λ_i > 0"
        else:
            why = f"Σ λ_i y_i [x_i; 1] = {text_point(res)} ≠ 0"
        return make_verdict(
            problem,
            part,
            answer,
            "wrong",
            f"right that no hyperplane exists, but the certificate fails: {why}",
            diagnosis=[why, f"a valid certificate: {solution}"],
            counterexample=Counterexample(
                point={"certificate": [out_number(v) for v in lam]},
                expected=[0] * (data.d + 1),
                got=[out_number(v) for v in res],
                difference=[out_number(v) for v in res],
            ),
            method="certificate",
        )
    return make_verdict(
        problem,
        part,
        answer,
        "correct",
        "not linearly separable, and the certificate holds",
        diagnosis=[f"λ ≥ 0 and Σ λ_i y_i [x_i; 1] = 0 exactly: {text_point(res)}"],
        method="certificate",
    )


def certificate_counterexample(
    data: LinearData, cert: GordanCertificate, got: str
) -> Counterexample:
    """The certificate as the counterexample to a claimed plane on data that no plane separates."""
    lam = certificate_multipliers(cert, data.n)
    return Counterexample(
        point={
            "multipliers": [out_number(v) for v in lam],
            "rows": list(cert.indices),
            "common_point": [out_number(Fraction(v)) for v in cert.common_point],
        },
        expected="Σ λ_i y_i f(x_i) = 0 for every f: some point is on the wrong side",
        got=got,
    )


def plane_answer(plane: Hyperplane) -> tuple[list[Fraction | float], Fraction | float]:
    """The plane to give as the answer: coprime integers when exact (a positive multiple of it)."""
    shown = plane.integer_form() if plane.exact else plane
    return list(shown.normal), shown.offset


# ==================================================================================================
# The kind
# ==================================================================================================
class SeparateKind(Kind):
    """A hyperplane ``f(x) = w·x + b`` with the positive class (the larger label) on ``f > 0``, or
    the certificate that none exists.

    Answer: ``{ w = [...], b = ... }``, or ``{ separable = false }`` (optionally with
    ``certificate = [λ_1, ..., λ_n]``, ``λ ≥ 0``, ``Σ λ_i y_i [x_i; 1] = 0``). ``check.accept``:
    ``"separating"`` (default) or ``"max-margin"``.
    """

    name: ClassVar[str] = "separate"
    summary: ClassVar[str] = (
        "a (maximum-margin) separating hyperplane, or a certificate that none exists"
    )
    givens: ClassVar[dict[str, F.Field]] = {
        "data": F.Field(F.number_matrix, required=True, doc="the points, one row each"),
        "labels": F.Field(
            two_labels, required=True, doc="one label per point, two distinct values"
        ),
        "margin": F.Field(
            F.choice(("max", "any")),
            doc="max (default): the maximum-margin hyperplane; any: any separating one",
        ),
    }
    check_options: ClassVar[dict[str, F.Field]] = {
        "accept": F.Field(
            F.choice(("separating", "max-margin")),
            doc="separating (default): every point strictly on its side; "
            "max-margin: also the widest",
        ),
        "rtol": RTOL_FIELD,
    }
    random_fields: ClassVar[tuple[str, ...]] = ("data", "labels")

    # -- loading -----------------------------------------------------------------------------------
    def prepare(self, problem: Problem) -> None:
        """Check labels against points, the random rules and the model answers; cache the data.

        Raises:
            FormatError: a label count that differs from the point count, a bad rule, an unreadable
                model answer.
        """
        data = labelled_data(problem)
        validate_labelled_random(problem, self, data.n)
        problem.prepared["data"] = data
        for part in problem.parts:
            if part.answer is not None:
                self._read(problem, part, part.answer)

    def _data(self, problem: Problem) -> LinearData:
        if "data" not in problem.prepared:
            self.prepare(problem)
        return problem.prepared["data"]

    def _margin(self, problem: Problem) -> str:
        return str(problem.givens.get("margin", "max"))

    # -- solving -----------------------------------------------------------------------------------
    def solve(self, problem: Problem) -> ProblemSolution:
        """The separating hyperplane (or the certificate), steps, exact checks and a figure."""
        data = self._data(problem)
        solution = cached_solution(problem, data, self._margin(problem))
        classes = _classes_step(data)
        if isinstance(solution, SeparatingHyperplane):
            steps, checks, text, latex, figure = self._solve_plane(data, solution)
        else:
            lam = certificate_multipliers(solution, data.n)
            steps = certificate_steps(data, solution, lam)
            checks = [certificate_check(data, lam)]
            text = f"not linearly separable: {solution}"
            latex = solution.to_latex()
            figure = Figure(
                kind="hyperplane",
                caption="the classes cannot be separated: their convex hulls meet",
                data={
                    "points": data.raw,
                    "labels": data.labels,
                    "w": None,
                    "b": None,
                    "margin": None,
                    "certificate": certificate_figure(data, solution),
                },
            )
        parts = [
            PartSolution(
                part=part.id,
                statement=part.statement,
                answer=self.model_answer(problem, part),
                answer_text=text,
                answer_latex=latex,
                steps=[classes, *steps],
                checks=list(checks),
                model_check=self.model_verdict(problem, part),
            )
            for part in problem.parts
        ]
        return self.new_solution(problem, parts, [figure])

    def _solve_plane(
        self, data: LinearData, h: SeparatingHyperplane
    ) -> tuple[list[Step], list[CheckLine], str, str, Figure]:
        w, b = plane_answer(h)
        shown = Hyperplane(w, b)
        if h.method == "max":
            setup = Step(
                "the maximum-margin hyperplane: "
                "minimise ½‖w‖² subject to y_i (w·x_i + b) ≥ 1 for every i",
                r"\min_{w,b} \tfrac{1}{2}\|w\|^2 \quad \text{s.t.} \quad "
                r"y_i (w \cdot x_i + b) \ge 1",
                "the hard-margin SVM (a quadratic program)",
            )
        else:
            setup = Step(
                "a separating hyperplane: find (w, b) with y_i (w·x_i + b) ≥ 1 for every i",
                r"y_i (w \cdot x_i + b) \ge 1 \quad \forall i",
                "a linear program",
            )
        support = ", ".join(str(i) for i in h.support[:20]) + (
            ", ..." if len(h.support) > 20 else ""
        )
        steps = [
            setup,
            Step(
                f"in canonical form, min_i y_i f(x_i) = 1: {h}",
                h.to_latex(),
                f"the points on the margin: rows {support} (0-based)",
            ),
            Step(
                f"margin = 1/‖w‖ = {h.geometric_margin:.6g}",
                rf"\gamma = 1/\|w\| = {h.geometric_margin:.6g}",
                "the distance from the plane to the nearest point",
            ),
        ]
        if list(shown.normal) != list(h.normal) or shown.offset != h.offset:
            steps.append(
                Step(
                    f"scaled by a positive number to integers: {shown}",
                    shown.to_latex(),
                    "the same plane",
                )
            )
        margins = data.margins([Fraction(v) for v in w], Fraction(b))
        low = min(margins)
        checks = [
            CheckLine(
                "exact",
                f"every point strictly on its side: min_i y_i f(x_i) = {text_number(low)} > 0 "
                f"over {data.n} points",
                low > 0,
            )
        ]
        if h.method == "max":
            if h.optimal_verified:
                checks.append(
                    CheckLine(
                        "exact",
                        "maximum margin: the KKT conditions hold exactly "
                        "(w = Σ α_i y_i x_i, Σ α_i y_i = 0, α ≥ 0 on the margin points)",
                        True,
                    )
                )
            else:
                checks.append(
                    CheckLine(
                        "numeric",
                        "maximum margin from the QP solver (tolerance 1e-10); optimality not "
                        "certified in exact arithmetic",
                        True,
                    )
                )
        figure = Figure(
            kind="hyperplane",
            caption=(
                "the maximum-margin hyperplane and its margin"
                if h.method == "max"
                else "a separating hyperplane"
            ),
            data={
                "points": data.raw,
                "labels": data.labels,
                "w": [fig_number(v) for v in w],
                "b": fig_number(b),
                "margin": h.geometric_margin,
            },
        )
        return steps, checks, str(shown), shown.to_latex(), figure

    def model_answer(self, problem: Problem, part: Part) -> dict[str, Any]:
        """``{w, b}`` (coprime integers when exact), or ``{separable = false, certificate}``."""
        data = self._data(problem)
        solution = cached_solution(problem, data, self._margin(problem))
        if isinstance(solution, GordanCertificate):
            lam = certificate_multipliers(solution, data.n)
            return {"separable": False, "certificate": [out_number(v) for v in lam]}
        w, b = plane_answer(solution)
        return {"w": [out_number(v) for v in w], "b": out_number(b)}

    def draw(self, problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
        """New ``data`` and/or ``labels`` from ``problem.random`` (a variant may be inseparable:
        its answer is then a certificate).

        Raises:
            FormatError: a rule that cannot be drawn.
        """
        return draw_labelled(problem, self, rng)

    # -- checking ----------------------------------------------------------------------------------
    def _read(
        self, problem: Problem, part: Part, answer: Any
    ) -> tuple[list[Fraction], Fraction] | list[Fraction] | None:
        """``(w, b)`` for a claimed plane; the multipliers (or ``None``) for a "not separable"."""
        data = self._data(problem) if "data" in problem.prepared else labelled_data(problem)
        table = answer_table(
            problem,
            part,
            answer,
            ("w", "b", "separable", "certificate"),
            "{ w = [...], b = ... } or { separable = false }",
        )
        if not read_separable(problem, part, table, ("w", "b")):
            return read_certificate(problem, part, table, data.n)
        for key in ("w", "b"):
            if key not in table:
                raise answer_error(
                    problem,
                    part,
                    f"missing {key!r}: the answer is {{ w = [...], b = ... }} "
                    "or { separable = false }",
                    f"answer.{key}",
                )
        w = read_answer_vector(problem, part, table["w"], "answer.w", data.d)
        b = read_answer_number(problem, part, table["b"], "answer.b")
        return w, b

    def check(self, problem: Problem, part: Part, answer: Any) -> Verdict:
        """Grade a claimed plane by its property (every point strictly on its side; the widest for
        ``accept = "max-margin"``), or a claim of inseparability (and its certificate).

        Raises:
            FormatError: an unreadable answer (a missing ``w``/``b``, a wrong length, not a number).
        """
        data = self._data(problem)
        claim = self._read(problem, part, answer)
        if not isinstance(claim, tuple):
            solution = cached_solution(problem, data, self._margin(problem))
            refuted = (
                solution if isinstance(solution, GordanCertificate) else _plane_witness(solution)
            )
            return grade_no_plane_claim(problem, part, answer, data, refuted, claim)
        w, b = claim
        return _PlaneGrader(self, problem, part, answer, data).grade(w, b)


def _plane_witness(h: SeparatingHyperplane) -> tuple[dict[str, Any], str]:
    w, b = plane_answer(h)
    return {"w": [out_number(v) for v in w], "b": out_number(b)}, str(Hyperplane(w, b))


def _classes_step(data: LinearData) -> Step:
    neg, pos = data.classes
    rows_pos = ", ".join(str(i) for i, s in enumerate(data.s) if s > 0)
    rows_neg = ", ".join(str(i) for i, s in enumerate(data.s) if s < 0)
    return Step(
        f"y_i = +1 for label {pos!r} (rows {rows_pos}), "
        f"y_i = −1 for label {neg!r} (rows {rows_neg})",
        "",
        "the positive class is the larger label: it goes on the side f(x) > 0",
    )


class _PlaneGrader:
    """The verdicts of a claimed plane ``(w, b)`` for a ``separate`` problem."""

    def __init__(
        self, kind: SeparateKind, problem: Problem, part: Part, answer: Any, data: LinearData
    ) -> None:
        self.kind, self.problem, self.part, self.answer, self.data = (
            kind,
            problem,
            part,
            answer,
            data,
        )
        self.rtol = float(problem.check.get("rtol", 1e-9))

    def _verdict(self, status: Status, summary: str, **kw: Any) -> Verdict:
        return make_verdict(self.problem, self.part, self.answer, status, summary, **kw)

    def grade(self, w: list[Fraction], b: Fraction) -> Verdict:
        data = self.data
        g = data.margins(w, b)
        if all(v > 0 for v in g):
            if self.problem.check.get("accept", "separating") == "max-margin":
                return self._max_margin(w, b, g)
            return self._verdict(
                "correct",
                f"{Hyperplane(w, b)} separates all {data.n} points",
                diagnosis=[f"min_i y_i f(x_i) = {text_number(min(g))} > 0 (exact)"],
            )
        if any(v != 0 for v in w) and all(v < 0 for v in g):
            return self._verdict(
                "wrong",
                "orientation flipped: every point is on the wrong side; "
                "−1 × your answer separates them",
                diagnosis=[
                    f"the positive class {data.classes[1]!r} must be on f > 0; "
                    f"point 0 has f(x) = {text_number(data.s[0] * g[0])}"
                ],
                counterexample=Counterexample(
                    data.point(0), data.side(0), out_number(data.s[0] * g[0])
                ),
            )
        return self._misclassified(w, b, g)

    def _misclassified(self, w: list[Fraction], b: Fraction, g: list[Fraction]) -> Verdict:
        data = self.data
        k = next(i for i, v in enumerate(g) if v <= 0)
        f_k = data.s[k] * g[k]
        where = "on the plane" if f_k == 0 else "on the wrong side"
        line = (
            f"point {k} (x = {text_point(data.X[k])}, label {data.labels[k]!r}) is {where}: "
            f"f(x) = {text_number(f_k)}, but it belongs on f {data.side(k)}"
        )
        bad = sum(v <= 0 for v in g)
        lines = [line, f"{bad} of {data.n} points are not strictly on their side"]
        if all(v == 0 for v in w):
            lines.insert(0, f"with w = 0, f(x) = {text_number(b)} everywhere")
        solution = cached_solution(self.problem, data, "any")
        if isinstance(solution, GordanCertificate):
            return self._verdict(
                "wrong",
                "the classes are not linearly separable: no hyperplane separates them",
                diagnosis=[f"certificate: {solution}", *lines],
                counterexample=certificate_counterexample(
                    data, solution, f"point {k}: f(x) = {text_number(f_k)}"
                ),
                method="exact; certificate",
            )
        summary = "not a hyperplane: w = 0" if all(v == 0 for v in w) else line
        return self._verdict(
            "wrong",
            summary,
            diagnosis=lines,
            counterexample=Counterexample(data.point(k), data.side(k), out_number(f_k)),
        )

    def _max_margin(self, w: list[Fraction], b: Fraction, g: list[Fraction]) -> Verdict:
        data = self.data
        best = cached_solution(self.problem, data, "max")
        if not isinstance(
            best, SeparatingHyperplane
        ):  # pragma: no cover - g > 0 shows it is separable
            raise AssertionError("a separating plane was found, but the solver found none")
        mine = [Fraction(v) for v in (*best.normal, best.offset)]
        lam: Fraction | float | None = exact_ratio([*w, b], mine)
        method = "exact"
        if lam is None and has_float(self.answer):
            lam = close_ratio([*w, b], mine, self.rtol)
            method = f"numeric: rtol {self.rtol:g}"
        if lam is not None and lam > 0:
            return self._verdict(
                "correct",
                f"the maximum-margin hyperplane, margin {best.geometric_margin:.6g}",
                diagnosis=[f"{text_number(lam)} × the maximum-margin hyperplane {best}"],
                method=method,
            )
        k = min(range(data.n), key=lambda i: g[i])
        yours = _geometric_margin(g[k], w)
        top = best.geometric_margin
        if yours >= top * (1 - self.rtol) and not best.optimal_verified:
            return self._verdict(
                "undecided",
                f"separates with margin {yours:.9g}, as wide as the solver's {top:.9g}; "
                "the maximum could not be certified exactly",
                method="numeric",
            )
        digits = 6 if f"{yours:.6g}" != f"{top:.6g}" else 12
        return self._verdict(
            "wrong",
            f"separates, but its margin is {yours:.{digits}g} < the maximum {top:.{digits}g}",
            diagnosis=[
                f"the nearest point is {k} (x = {text_point(data.X[k])}, label {data.labels[k]!r}) "
                f"at distance {yours:.{digits}g}",
                f"the maximum-margin hyperplane keeps every point at least {top:.{digits}g} away",
            ],
            counterexample=Counterexample(
                data.point(k), f"distance ≥ {top:.{digits}g}", yours, yours - top
            ),
            method=method,
        )


def _geometric_margin(g_min: Fraction, w: Sequence[Fraction]) -> float:
    """``g_min / ‖w‖`` as a float (through logarithms when the exact numbers are huge)."""
    norm2 = sum((v * v for v in w), Fraction(0))
    try:
        return float(g_min) / math.sqrt(float(norm2))
    except OverflowError:
        log = math.log(g_min.numerator) - math.log(g_min.denominator)
        log -= 0.5 * (math.log(norm2.numerator) - math.log(norm2.denominator))
        return math.exp(log)
