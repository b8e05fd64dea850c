"""``derivation``: prove an identity, or find a gradient of a stated loss, in the answer language.

Problem keys::

    vars = { a = "real", w = "vector[d]", x = "matrix[n,d]", y = "vector[n] in {0,1}", i = "index[n]" }
    functions = { h = "u -> sigma(dot(w, u))" }     # besides the set's [set.functions]
    given = { L = "-sum(y[i]*log(h(x[i])) + (1-y[i])*log(1-h(x[i])), i)" }   # named definitions

Each part (or the problem itself) has either ``prove = "lhs == rhs"`` (an identity; an answer is the right
side, or ``steps`` from the left side to it) or ``find = "grad(L, w)"`` (an answer is an expression equal to
it). The reference is evaluated by the engine (``diff``/``grad`` by autodiff), never typed in by hand.

An answer is a string, or a table ``{ answer = "...", steps = ["...", ...] }``. Steps are checked line by line:
the first against the part's left side (``find``, or the identity's left side), each against the next, and
the last against the answer; the first refuted line is named. A refuted step costs ``check.step_weight``
(default 0.5) of the part's points even when the final answer is right.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from chainrule.problems import fields as F
from chainrule.problems.equivalence import RTOL, declared_sampler, judge
from chainrule.problems.errors import FormatError
from chainrule.problems.expr.evaluate import EvaluationError, evaluate
from chainrule.problems.expr.nodes import Compare, Expr, substitute
from chainrule.problems.expr.render import to_latex, to_text
from chainrule.problems.expr.scope import Scope, VarType
from chainrule.problems.kinds.base import Kind
from chainrule.problems.results import (
    CheckLine,
    Figure,
    PartSolution,
    ProblemSolution,
    Step,
    Verdict,
)
from chainrule.problems.schema import Part, Problem

__all__ = ["DerivationKind"]

_MAX_STEPS = 100


class DerivationKind(Kind):
    name: ClassVar[str] = "derivation"
    summary: ClassVar[str] = (
        "prove an identity or find a gradient, checked by autodiff at seeded points"
    )
    givens: ClassVar[dict[str, F.Field]] = {
        "vars": F.Field(F.string_table, doc="declared variables: name = type"),
        "functions": F.Field(F.string_table, doc="user functions: name = 'params -> body'"),
        "given": F.Field(F.string_table, doc="named definitions: L = '...'"),
        "prove": F.Field(F.string, doc="an identity lhs == rhs"),
        "find": F.Field(F.string, doc="the expression to find, e.g. grad(L, w)"),
    }
    part_fields: ClassVar[dict[str, F.Field]] = {
        "given": F.Field(F.string_table, doc="named definitions for this part"),
        "prove": F.Field(F.string, doc="an identity lhs == rhs"),
        "find": F.Field(F.string, doc="the expression to find"),
    }
    check_options: ClassVar[dict[str, F.Field]] = {
        "rtol": F.Field(F.positive, doc="relative tolerance (default 1e-9)"),
        "atol": F.Field(F.positive, doc="absolute tolerance (default 1e-12)"),
        "points": F.Field(F.integer, doc="points per check (default 12)"),
        "step_weight": F.Field(
            F.number, doc="share of the points a refuted step costs (default 0.5)"
        ),
    }
    random_fields: ClassVar[tuple[str, ...]] = ()

    # -- loading --------------------------------------------------------------------------------------
    def prepare(self, problem: Problem) -> None:
        g = problem.givens
        try:
            scope = Scope.from_tables(g.get("vars", {}))
            for name, text in {**problem.functions, **g.get("functions", {})}.items():
                scope.define_function(name, text)
        except FormatError as exc:
            raise exc.located(field=exc.field or "vars") from None
        pts = problem.check.get("points", 12)
        if not 4 <= pts <= 200:
            raise problem.error("check.points must be between 4 and 200", field="check.points")
        targets: dict[str, tuple[Expr, Expr | None, str]] = {}
        part_macros: dict[str, dict[str, Expr]] = {}
        models: dict[str, Expr | None] = {}
        for part in problem.parts:
            fields = part.fields if problem.has_parts else g
            where = part.id or None
            definitions = {
                **g.get("given", {}),
                **(part.fields.get("given", {}) if problem.has_parts else {}),
            }
            macros = self._macros(scope, definitions, problem, where)
            if ("prove" in fields) == ("find" in fields):
                raise problem.error("give exactly one of prove or find", part=where, field="find")
            key = "prove" if "prove" in fields else "find"
            try:
                if key == "prove":
                    lhs, rhs = self._identity(scope, fields["prove"], macros)
                else:
                    lhs, rhs = substitute(scope.parse(fields["find"]), macros), None
                    self._probe(scope, lhs)
            except FormatError as exc:
                raise exc.located(part=where, field=key) from None
            except EvaluationError as exc:
                raise problem.error(f"cannot be evaluated: {exc}", part=where, field=key) from None
            targets[part.id] = (lhs, rhs, key)
            part_macros[part.id] = macros
            models[part.id] = rhs
            if part.answer is not None:
                final, steps, _, _ = self._answer_exprs(problem, part, part.answer, scope, macros)
                models[part.id] = final if final is not None else steps[-1]
        # Parsed once here; every check reads them.
        problem.prepared.update(scope=scope, targets=targets, macros=part_macros, models=models)

    def _macros(
        self, scope: Scope, definitions: dict[str, str], problem: Problem, part: str | None
    ) -> dict[str, Expr]:
        macros: dict[str, Expr] = {}
        for name, text in definitions.items():
            declared = scope.variables.get(name)
            if (declared is not None and declared.base != "macro") or name in scope.functions:
                raise problem.error(f"{name!r} is declared twice", part=part, field=f"given.{name}")
            try:
                body = substitute(scope.parse(text), macros)
            except FormatError as exc:
                raise exc.located(part=part, field=f"given.{name}") from None
            macros[name] = body
            scope.variables[name] = VarType("macro")
        return macros

    def _identity(self, scope: Scope, text: str, macros: dict[str, Expr]) -> tuple[Expr, Expr]:
        from chainrule.problems.expr.parser import parse_condition

        cond = parse_condition(text, scope.functions, scope.applied)
        if not isinstance(cond, Compare) or cond.op != "==":
            raise FormatError("an identity is written lhs == rhs")
        lhs = substitute(scope.bind(cond.left, text), macros)
        rhs = substitute(scope.bind(cond.right, text), macros)
        return lhs, rhs

    def _probe(self, scope: Scope, e: Expr) -> None:
        """Evaluate once at a fixed point, so that a malformed reference fails at load time."""
        sample = declared_sampler(scope, saturate=False)
        values, dims = sample(np.random.default_rng(0), 1, 0)
        with np.errstate(all="ignore"):
            evaluate(e, scope, values, dims, batch=1)

    def _answer_exprs(
        self,
        problem: Problem,
        part: Part,
        raw: Any,
        scope: Scope,
        macros: dict[str, Expr],
    ) -> tuple[Expr | None, list[Expr], str | None, list[str]]:
        """Parse an answer: a string, or ``{answer, steps}``. Returns (answer, steps, text, step texts)."""
        where = part.id or None
        text: str | None
        if isinstance(raw, str):
            text, steps_text = raw, []
        elif isinstance(raw, dict):
            unknown = set(raw) - {"answer", "steps"}
            if unknown:
                raise problem.error(
                    f"unknown key(s) {', '.join(sorted(unknown))}; an answer has answer and steps",
                    part=where,
                    field="answer",
                )
            text = raw.get("answer")
            steps_text = raw.get("steps", [])
            if text is not None and not isinstance(text, str):
                raise problem.error(
                    "answer must be an expression (a string)", part=where, field="answer"
                )
            try:
                steps_text = F.string_list(steps_text)
            except FormatError as exc:
                raise exc.located(problem=problem.id, part=where, field="steps") from None
            if len(steps_text) > _MAX_STEPS:
                raise problem.error(f"more than {_MAX_STEPS} steps", part=where, field="steps")
            if text is None and not steps_text:
                raise problem.error("an answer needs answer or steps", part=where, field="answer")
        else:
            raise problem.error(
                f"an answer is an expression (a string) or a table, got {F.type_name(raw)}",
                part=where,
                field="answer",
            )
        try:
            answer = substitute(scope.parse(text), macros) if text is not None else None
        except FormatError as exc:
            raise exc.located(problem=problem.id, part=where, field="answer") from None
        steps = []
        for k, s in enumerate(steps_text):
            try:
                steps.append(substitute(scope.parse(s), macros))
            except FormatError as exc:
                raise exc.located(problem=problem.id, part=where, field=f"steps[{k + 1}]") from None
        return answer, steps, text, steps_text

    # -- judging --------------------------------------------------------------------------------------
    def _judge(
        self,
        problem: Problem,
        part: Part,
        ref: Expr,
        ans: Expr,
        key: Any,
        salt: str = "",
        terms_of: Expr | None = None,
    ) -> Any:
        c = problem.check
        return judge(
            ref,
            ans,
            problem.prepared["scope"],
            problem=problem.id,
            part=part.id,
            answer_key=key,
            max_points=part.points,
            rtol=c.get("rtol", RTOL),
            atol=c.get("atol", 1e-12),
            points=c.get("points", 12),
            salt=salt,
            terms_of=terms_of,
        )

    def check(self, problem: Problem, part: Part, answer: Any) -> Verdict:
        scope: Scope = problem.prepared["scope"]
        lhs = problem.prepared["targets"][part.id][0]
        final, steps, text, steps_text = self._answer_exprs(
            problem, part, answer, scope, self._part_macros(problem, part)
        )
        if final is None:
            final, text = steps[-1], steps_text[-1]
        verdict = self._judge(
            problem, part, lhs, final, text, terms_of=self._model_expr(problem, part)
        ).verdict
        verdict.answer = answer
        if steps:
            lines = [(to_text(lhs), lhs), *zip(steps_text, steps, strict=True)]
            step_verdicts = []
            for k in range(1, len(lines)):
                prev, (cur_text, cur) = lines[k - 1][1], lines[k]
                sv = self._judge(problem, part, prev, cur, cur_text, salt=f"step {k}").verdict
                sv.part = f"{part.id or problem.id} line {k}"
                sv.summary = f"line {k}: " + (
                    "follows from the line before"
                    if sv.status == "correct"
                    else f"does not follow from {'the statement' if k == 1 else f'line {k - 1}'}: {sv.summary}"
                )
                sv.points = sv.max_points = 0.0
                step_verdicts.append(sv)
            verdict.steps = step_verdicts
            refuted = [s for s in step_verdicts if s.status == "wrong"]
            if refuted:
                first = refuted[0]
                verdict.diagnosis.insert(0, f"{first.summary} (the first refuted line)")
                if verdict.status == "correct":
                    weight = float(problem.check.get("step_weight", 0.5))
                    verdict.points = part.points * (1.0 - min(max(weight, 0.0), 1.0))
                    verdict.summary = (
                        f"final answer correct, but {first.summary.split(':')[0]} is refuted"
                    )
        return verdict

    def _model_expr(self, problem: Problem, part: Part) -> Expr | None:
        """The model answer (or an identity's right side): its terms name what an answer misses."""
        model: Expr | None = problem.prepared["models"][part.id]
        return model

    def _part_macros(self, problem: Problem, part: Part) -> dict[str, Expr]:
        """The part's named definitions (``L = ...``), bound when the set was loaded."""
        macros: dict[str, Expr] = problem.prepared["macros"][part.id]
        return macros

    # -- solving --------------------------------------------------------------------------------------
    def solve(self, problem: Problem) -> ProblemSolution:
        scope: Scope = problem.prepared["scope"]
        sol = self.new_solution(problem)
        for part in problem.parts:
            lhs, rhs, key = problem.prepared["targets"][part.id]
            steps: list[Step] = []
            checks: list[CheckLine] = []
            model = self.model_verdict(problem, part)
            answer_expr = self._model_expr(problem, part)
            if key == "prove":
                assert rhs is not None
                steps.append(
                    Step(
                        f"{to_text(lhs)} = {to_text(rhs)}",
                        f"{to_latex(lhs)} = {to_latex(rhs)}",
                        "the identity",
                    )
                )
                v = self._judge(problem, part, lhs, rhs, "identity")
                checks.append(
                    CheckLine(
                        "autodiff",
                        f"both sides agree at {problem.check.get('points', 12)} seeded points ({v.verdict.method})"
                        if v.verdict.status == "correct"
                        else f"the two sides differ: {v.verdict.summary}",
                        v.verdict.status == "correct",
                    )
                )
                proof = symbolic_proof(lhs, rhs)
                if proof:
                    checks.append(CheckLine("symbolic", proof, True))
                fig = _identity_figure(scope, lhs, rhs)
                if fig is not None:
                    sol.figures.append(fig)
            else:
                steps.append(Step(f"find {to_text(lhs)}", to_latex(lhs), "asked"))
                if answer_expr is not None:
                    steps.append(
                        Step(
                            f"{to_text(lhs)} = {to_text(answer_expr)}",
                            f"{to_latex(lhs)} = {to_latex(answer_expr)}",
                            "the model answer",
                        )
                    )
                    v = self._judge(problem, part, lhs, answer_expr, "model")
                    checks.append(
                        CheckLine(
                            "autodiff",
                            f"the answer equals the engine's {to_text(lhs)} at {problem.check.get('points', 12)} seeded points"
                            if v.verdict.status == "correct"
                            else f"the answer differs from the engine's value: {v.verdict.summary}",
                            v.verdict.status == "correct",
                        )
                    )
                else:
                    checks.append(
                        CheckLine(
                            "autodiff",
                            f"{to_text(lhs)} is evaluated by the engine at each point; no closed form is given",
                            True,
                        )
                    )
            shown = answer_expr if answer_expr is not None else lhs
            sol.parts.append(
                PartSolution(
                    part.id,
                    part.statement,
                    to_text(shown),
                    to_text(shown),
                    to_latex(shown),
                    steps,
                    checks,
                    model,
                )
            )
        return sol

    def model_answer(self, problem: Problem, part: Part) -> Any:
        lhs, rhs, _ = problem.prepared["targets"][part.id]
        if part.answer is not None:
            return (
                part.answer
                if isinstance(part.answer, str)
                else part.answer.get("answer", part.answer)
            )
        return to_text(rhs if rhs is not None else lhs)

    def draw(self, problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
        return {}


def _identity_figure(scope: Scope, lhs: Expr, rhs: Expr) -> Figure | None:
    """Both sides of a one-variable identity over [-6, 6] (the sigmoid identities, say)."""
    reals = [
        n for n, vt in scope.variables.items() if vt.base in ("real", "positive") and not vt.dims
    ]
    if len(reals) != 1 or any(
        vt.dims or vt.base == "index"
        for vt in scope.variables.values()
        if vt.base not in ("real", "positive", "macro", "param")
    ):
        return None
    (var,) = reals
    xs = np.linspace(-6.0, 6.0, 121)
    try:
        with np.errstate(all="ignore"):
            left = np.asarray(evaluate(lhs, scope, {var: xs}, {}, batch=xs.size).data, dtype=float)
            right = np.asarray(evaluate(rhs, scope, {var: xs}, {}, batch=xs.size).data, dtype=float)
    except (EvaluationError, AttributeError):
        return None
    return Figure(
        "identity",
        f"both sides of {to_text(lhs)} = {to_text(rhs)} over {var} in [−6, 6]",
        {
            "x": xs.tolist(),
            "xlabel": var,
            "curves": {to_text(lhs): left.tolist(), to_text(rhs): right.tolist()},
        },
    )


def symbolic_proof(lhs: Expr, rhs: Expr) -> str:
    """``"sympy.simplify(lhs − rhs) = 0"`` when SymPy (optional) proves a scalar identity; ``""`` otherwise.

    Only ever proves equality: a failure or a missing SymPy says nothing.
    """
    try:
        import sympy

        from chainrule.problems.symbolic import to_sympy
    except ImportError:
        return ""
    try:
        a, b = to_sympy(lhs), to_sympy(rhs)
        if a is None or b is None:
            return ""
        if sympy.simplify(a - b) == 0:
            return "SymPy: simplify(lhs − rhs) = 0"
    except Exception:
        return ""
    return ""
