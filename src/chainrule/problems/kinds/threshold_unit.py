"""The ``threshold_unit`` kind: weights for a threshold unit that gives labelled points their
outputs.

In a problem set (the seed's question 2)::

    [[problem]]
    id = "q2"
    kind = "threshold_unit"
    data   = [[0, 0], [0, -1], [1, 0], [1, -1]]  # the inputs (``points`` is the problem's score)
    labels = [1, 1, 0, 0]                            # the required outputs, 0 or 1
    convention = { bias_sign = -1, strict = false }  # z = w·x − w0; output 1 iff z ≥ 0 (default)
    answer = { w0 = 0, w1 = -1, w2 = 0 }             # or { w0 = 0, w = [-1, 0] }
    # answer = { separable = false }                 # when no weights exist (certificate optional)

Each labelled point is one constraint on the weights (``w1(1) + w2(0) − w0 < 0``); ``check``
evaluates every constraint exactly, on the data as written, and names the first that fails.
``solve`` uses :meth:`chainrule.linear.ThresholdUnit.fit` (the maximum-margin weights as small
integers) or, when no weights exist, the Gordan certificate of
:func:`chainrule.linear.separating_hyperplane`.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from chainrule.linear.separate import GordanCertificate, NotSeparable
from chainrule.linear.unit import ConstraintTable, ThresholdUnit
from chainrule.problems import fields as F
from chainrule.problems.errors import FormatError
from chainrule.problems.kinds.base import Kind
from chainrule.problems.kinds.bisector import (
    answer_error,
    answer_table,
    dot,
    fig_number,
    make_verdict,
    out_number,
    read_answer_number,
    read_answer_vector,
    text_number,
    text_point,
)
from chainrule.problems.kinds.separate import (
    LinearData,
    certificate_check,
    certificate_figure,
    certificate_multipliers,
    certificate_steps,
    draw_labelled,
    grade_no_plane_claim,
    labelled_data,
    read_certificate,
    read_separable,
    validate_labelled_random,
)
from chainrule.problems.results import (
    CheckLine,
    Counterexample,
    Figure,
    PartSolution,
    ProblemSolution,
    Step,
    Verdict,
)

if TYPE_CHECKING:
    from chainrule.problems.schema import Part, Problem

__all__ = ["ThresholdUnitKind"]


def binary_labels(value: Any) -> list[int]:
    """A validator: the required outputs, each 0 or 1, both present.

    Raises:
        FormatError: not an array, an item other than the integers 0 and 1, or one output only.
    """
    if not isinstance(value, list) or not value:
        raise FormatError(f"expected a non-empty array of 0s and 1s, got {F.type_name(value)}")
    if len(value) > F.MAX_ITEMS:
        raise FormatError(f"{len(value)} labels; the limit is {F.MAX_ITEMS}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or v not in (0, 1) or not isinstance(v, int):
            raise FormatError(f"item {i} must be 0 or 1 (the unit's output), got {v!r}")
    if len(set(value)) != 2:
        raise FormatError(
            f"every label is {value[0]}: give points of both outputs, 0 and 1, so that the weights "
            "are constrained both ways"
        )
    return [int(v) for v in value]


def convention(value: Any) -> dict[str, Any]:
    """A validator: ``{ bias_sign = -1 | 1, strict = false | true }`` with defaults filled in.

    ``bias_sign = -1`` is ``z = w·x − w0`` and ``+1`` is ``z = w·x + w0``; ``strict`` makes the
    output 1 iff ``z > 0`` instead of ``z ≥ 0``.

    Raises:
        FormatError: an unknown key, a bias_sign other than ±1, a strict that is not a boolean.
    """
    table = F.table(value)
    for key in table:
        if key not in ("bias_sign", "strict"):
            raise FormatError(f"unknown key {key!r} in convention; its keys are bias_sign, strict")
    bias = table.get("bias_sign", -1)
    if isinstance(bias, bool) or bias not in (-1, 1) or not isinstance(bias, int):
        raise FormatError(f"bias_sign must be -1 (z = w·x − w0) or 1 (z = w·x + w0), got {bias!r}")
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise FormatError(f"strict must be true or false, got {F.type_name(strict)} {strict!r}")
    return {"bias_sign": int(bias), "strict": strict}


def _tex(text: str) -> str:
    """``w1(0) - w0 >= 0`` → ``w_{1}(0) - w_{0} \\ge 0``."""
    text = re.sub(r"w(\d+)", r"w_{\1}", text)
    return text.replace(">=", r"\ge").replace("<=", r"\le")


_SHOWN = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def _uni(text: str) -> str:
    """``-w0 >= 0`` → ``-w0 ≥ 0``: the engine writes ASCII relations; the steps read as the seed."""
    return text.replace(">=", "≥").replace("<=", "≤")


class ThresholdUnitKind(Kind):
    """Weights ``w0, w1..wd`` for ``z = w·x − w0`` (or ``+ w0``), output 1 iff ``z ≥ 0`` (or
    ``> 0``), so that every point gets its label; or the certificate that no weights do.

    Answer: ``{ w0 = .., w = [w1, ..., wd] }``, ``{ w0 = .., w1 = .., ..., wd = .. }``, or
    ``{ separable = false }`` (optionally ``certificate = [λ_1, ..., λ_n]``).
    """

    name: ClassVar[str] = "threshold_unit"
    summary: ClassVar[str] = "weights for a threshold unit, checked constraint by constraint"
    givens: ClassVar[dict[str, F.Field]] = {
        "data": F.Field(F.number_matrix, required=True, doc="the inputs, one row each"),
        "labels": F.Field(
            binary_labels, required=True, doc="the required output of each point, 0 or 1"
        ),
        "convention": F.Field(
            convention,
            doc="{ bias_sign = -1 (z = w·x − w0) or 1, "
            "strict = false (output 1 iff z ≥ 0) or true }",
        ),
    }
    check_options: ClassVar[dict[str, F.Field]] = {}
    random_fields: ClassVar[tuple[str, ...]] = ("data", "labels")

    # -- loading -----------------------------------------------------------------------------------
    def prepare(self, problem: Problem) -> None:
        """Check labels against points, the convention, the random rules and the model answers.

        Raises:
            FormatError: a label count that differs from the point count, a bad rule or
                convention, an unreadable model answer.
        """
        data = labelled_data(problem)
        conv = convention(problem.givens.get("convention", {}))
        validate_labelled_random(problem, self, data.n, label_values=(0, 1))
        blank = ThresholdUnit([0] * data.d, 0, bias_sign=conv["bias_sign"], strict=conv["strict"])
        problem.prepared.update(
            data=data,
            convention=conv,
            constraints=blank.constraints(data.X_float, data.labels),
        )
        for part in problem.parts:
            if part.answer is not None:
                self._read(problem, part, part.answer)

    def _data(self, problem: Problem) -> tuple[LinearData, dict[str, Any], ConstraintTable]:
        if "constraints" not in problem.prepared:
            self.prepare(problem)
        pr = problem.prepared
        return pr["data"], pr["convention"], pr["constraints"]

    def _solution(self, problem: Problem) -> ThresholdUnit | GordanCertificate:
        """The fitted unit, or the certificate that no weights exist (cached)."""
        if "unit" not in problem.prepared:
            data, conv, _ = self._data(problem)
            try:
                problem.prepared["unit"] = ThresholdUnit.fit(
                    data.X_float,
                    np.asarray(data.labels),
                    bias_sign=conv["bias_sign"],
                    strict=conv["strict"],
                )
            except NotSeparable as exc:
                problem.prepared["unit"] = exc.certificate
        return problem.prepared["unit"]

    # -- solving -----------------------------------------------------------------------------------
    def solve(self, problem: Problem) -> ProblemSolution:
        """The constraints, weights that meet them (checked one by one), a figure; or the
        certificate."""
        data, conv, blank = self._data(problem)
        solution = self._solution(problem)
        steps = [
            Step(
                blank.convention,
                _convention_latex(data.d, conv),
                "the unit",
            ),
            *(
                Step(
                    _uni(f"({c.index})  {c.text}  ⇔  {c.simplified}"),
                    f"{_tex(c.text)} \\iff {_tex(c.simplified)}",
                    f"x = {text_point(c.point)}, output {c.output}",
                )
                for c in blank.constraints
            ),
        ]
        if isinstance(solution, GordanCertificate):
            lam = certificate_multipliers(solution, data.n)
            steps += certificate_steps(data, solution, lam)
            steps.append(
                Step(
                    "so the constraints cannot all hold: no weights exist",
                    "",
                    "the points are not linearly separable",
                )
            )
            checks = [certificate_check(data, lam)]
            text = f"no weights exist: {solution}"
            latex = solution.to_latex()
            figure_data: dict[str, Any] = {
                "w": None,
                "w0": None,
                "certificate": certificate_figure(data, solution),
            }
        else:
            table = solution.check(data.X_float, data.labels)
            latex = ",\\ ".join(
                f"w_{{{j}}} = {text_number(v)}"
                for j, v in enumerate((solution.w0, *solution.weights))
            )
            steps.append(
                Step(
                    solution.weights_text(), latex, "the maximum-margin weights, as small integers"
                )
            )
            steps += [
                Step(
                    _uni(f"({c.index}): {c.substituted}"),
                    f"({c.index}):\\ {_tex(c.substituted)}",
                    "holds" if c.holds else "FAILS",
                )
                for c in table.constraints
            ]
            w = [Fraction(v) for v in solution.weights]
            checks = self._constraint_checks(data, conv, w, Fraction(solution.w0))
            text = solution.weights_text()
            figure_data = {
                "w": [fig_number(v) for v in solution.weights],
                "w0": fig_number(solution.w0),
            }
        figure = Figure(
            kind="threshold_unit",
            caption=(
                "the points and the unit's decision boundary z = 0"
                if figure_data["w"] is not None
                else "no weights exist: the classes' convex hulls meet"
            ),
            data={
                "points": data.raw,
                "labels": data.labels,
                **figure_data,
                "bias_sign": conv["bias_sign"],
                "strict": conv["strict"],
            },
        )
        parts = [
            PartSolution(
                part=part.id,
                statement=part.statement,
                answer=self.model_answer(problem, part),
                answer_text=text,
                answer_latex=latex,
                steps=list(steps),
                checks=list(checks),
                model_check=self.model_verdict(problem, part),
            )
            for part in problem.parts
        ]
        return self.new_solution(problem, parts, [figure])

    def _constraint_checks(
        self, data: LinearData, conv: dict[str, Any], w: list[Fraction], w0: Fraction
    ) -> list[CheckLine]:
        return [
            CheckLine(
                "constraints",
                f"({i + 1}) x = {text_point(data.X[i])}: z = {text_number(z)} {_SHOWN[rel]} 0, "
                f"output {out}, label {data.labels[i]}",
                out == data.labels[i],
            )
            for i, (z, out, rel) in enumerate(_evaluate(data, conv, w, w0))
        ]

    def model_answer(self, problem: Problem, part: Part) -> dict[str, Any]:
        """``{w0, w = [...]}`` (ints where whole), or ``{separable = false, certificate}``."""
        data, _, _ = self._data(problem)
        solution = self._solution(problem)
        if isinstance(solution, GordanCertificate):
            lam = certificate_multipliers(solution, data.n)
            return {"separable": False, "certificate": [out_number(v) for v in lam]}
        return {
            "w0": out_number(solution.w0),
            "w": [out_number(v) for v in solution.weights],
        }

    def draw(self, problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
        """New ``data`` and/or ``labels`` (0/1) from ``problem.random``.

        Raises:
            FormatError: a rule that cannot be drawn.
        """
        return draw_labelled(problem, self, rng)

    # -- checking ----------------------------------------------------------------------------------
    def _read(
        self, problem: Problem, part: Part, answer: Any
    ) -> tuple[list[Fraction], Fraction] | list[Fraction] | None:
        """``(w, w0)`` for claimed weights; the multipliers (or ``None``) for
        ``separable = false``."""
        data = problem.prepared["data"] if "data" in problem.prepared else labelled_data(problem)
        d = data.d
        named = [f"w{j}" for j in range(1, d + 1)]
        table = answer_table(
            problem,
            part,
            answer,
            ("w0", "w", *named, "separable", "certificate"),
            "{ w0 = 0, w = [...] } or { w0 = 0, w1 = ..., w2 = ... }",
        )
        if not read_separable(problem, part, table, ("w0", "w", *named)):
            return read_certificate(problem, part, table, data.n)
        if "w0" not in table:
            raise answer_error(problem, part, "missing 'w0', the threshold weight", "answer.w0")
        w0 = read_answer_number(problem, part, table["w0"], "answer.w0")
        given = [k for k in named if k in table]
        if "w" in table and given:
            raise answer_error(
                problem,
                part,
                f"give the weights either as w = [...] or as {', '.join(named)}, not both",
                f"answer.{given[0]}",
            )
        if "w" in table:
            return read_answer_vector(problem, part, table["w"], "answer.w", d), w0
        missing = [k for k in named if k not in table]
        if missing:
            raise answer_error(
                problem,
                part,
                f"missing {missing[0]!r}: the unit has {d} input weights ({', '.join(named)})",
                f"answer.{missing[0]}",
            )
        return [read_answer_number(problem, part, table[k], f"answer.{k}") for k in named], w0

    def check(self, problem: Problem, part: Part, answer: Any) -> Verdict:
        """Grade claimed weights constraint by constraint (exactly), or a claim that none exist.

        Raises:
            FormatError: an unreadable answer (no ``w0``, a missing ``w2``, a wrong length, not a
                number).
        """
        data, conv, blank = self._data(problem)
        claim = self._read(problem, part, answer)
        if not isinstance(claim, tuple):
            solution = self._solution(problem)
            if isinstance(solution, GordanCertificate):
                return grade_no_plane_claim(problem, part, answer, data, solution, claim)
            point = {"w0": out_number(solution.w0), "w": [out_number(v) for v in solution.weights]}
            return grade_no_plane_claim(
                problem, part, answer, data, (point, solution.weights_text()), claim
            )
        w, w0 = claim
        results = _evaluate(data, conv, w, w0)
        failed = [i for i, (_, out, _) in enumerate(results) if out != data.labels[i]]
        if not failed:
            return make_verdict(
                problem,
                part,
                answer,
                "correct",
                f"all {data.n} constraints hold",
                method="constraints",
            )
        k = failed[0]
        z, out, rel = results[k]
        label = data.labels[k]
        simplified = _uni(blank.constraints[k].simplified)
        summary = (
            f"constraint {k + 1} fails: {text_point(data.X[k])} → z = {text_number(z)} "
            f"{_SHOWN[rel]} 0, output {out}, label {label}"
        )
        diagnosis = [
            summary,
            f"constraint ({k + 1}) is {simplified}",
        ]
        if len(failed) == data.n:
            diagnosis.append(
                "every point gets the wrong output: the signs of the weights look flipped"
            )
        elif len(failed) > 1:
            diagnosis.append(f"constraints {', '.join(f'({i + 1})' for i in failed)} fail")
        method = "constraints"
        solution = self._solution(problem)
        if isinstance(solution, GordanCertificate):
            diagnosis.append(
                f"no weights meet every constraint: the points are not separable ({solution})"
            )
            method = "constraints; certificate"
        return make_verdict(
            problem,
            part,
            answer,
            "wrong",
            summary,
            diagnosis=diagnosis,
            counterexample=Counterexample(
                point={"x": list(data.raw[k]), "label": label},
                expected=label,
                got=out,
                difference={"z": out_number(z), "constraint": simplified},
                index=[k],
            ),
            method=method,
        )


def _evaluate(
    data: LinearData, conv: dict[str, Any], w: list[Fraction], w0: Fraction
) -> list[tuple[Fraction, int, str]]:
    """``(z, output, relation)`` at every point, exactly: the relation is what ``z`` satisfies
    (``>=`` / ``>`` when the output is 1, ``<`` / ``<=`` when it is 0)."""
    strict = bool(conv["strict"])
    out = []
    for xi in data.X:
        z = dot(w, xi) + conv["bias_sign"] * w0
        fires = z > 0 if strict else z >= 0
        rel = (">" if strict else ">=") if fires else ("<=" if strict else "<")
        out.append((z, int(fires), rel))
    return out


def _convention_latex(d: int, conv: dict[str, Any]) -> str:
    terms = " + ".join(f"w_{{{j}}} x_{{{j}}}" for j in range(1, d + 1))
    bias = "-" if conv["bias_sign"] < 0 else "+"
    rel = ">" if conv["strict"] else r"\ge"
    return f"z = {terms} {bias} w_{{0}}, \\quad \\text{{output 1 iff }} z {rel} 0"
