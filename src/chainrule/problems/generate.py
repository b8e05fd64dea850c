"""Randomised variants: each problem's ``[problem.random]`` rules redraw its givens, and every variant is
self-tested (solved, verified, its answer key checked) before it is written.

A variant is a pure function of (the set's text, the student id or variant number, the seed): its seed is
a hash of the three. ``require`` conditions (``x_plus != x_minus``) are written in the answer language
over the drawn givens; a draw that fails one is redrawn, up to ``max_tries`` (default 100), and running
out is the author's error, reported before anything is written.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.problems.errors import FormatError
from chainrule.problems.expr.evaluate import EvaluationError, evaluate
from chainrule.problems.expr.parser import parse_condition
from chainrule.problems.expr.scope import Scope, VarType
from chainrule.problems.kinds import KINDS
from chainrule.problems.results import ProblemSolution, SetSolution
from chainrule.problems.schema import Problem, ProblemSet, parse_set
from chainrule.problems.solve import self_test_failures

__all__ = ["Variant", "has_draws", "make_variant", "make_variants", "variant_seed"]

MAX_TRIES = 100
MAX_TRIES_LIMIT = 10_000


@dataclass
class Variant:
    """One student's variant: its id and seed, the problem-set data (no answers), the set, its solution
    and its answer key (an answers file's data)."""

    id: str
    seed: int
    data: dict[str, Any]
    pset: ProblemSet
    solution: SetSolution
    key: dict[str, Any]


def variant_seed(set_text: str, student: str, seed: int) -> int:
    """The variant's seed: a hash of the set's text, the student id and the seed (63 bits)."""
    digest = hashlib.sha256("\x1f".join((set_text, student, str(seed))).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _condition_holds(text: str, values: dict[str, Any], problem_id: str) -> bool:
    scope = Scope()
    arrays: dict[str, np.ndarray] = {}
    for name, v in values.items():
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            continue  # edges, names: not numbers, so no condition can refer to them
        if arr.ndim > 2:
            continue
        dims = tuple(int(d) for d in arr.shape)
        base = {0: "real", 1: "vector", 2: "matrix"}[arr.ndim]
        scope.variables[name] = VarType(base, dims)
        arrays[name] = arr[None, ...]
    try:
        cond = scope.bind(parse_condition(text), text)
        return bool(evaluate(cond, scope, arrays, {}, batch=1))
    except (FormatError, EvaluationError) as exc:
        raise FormatError(
            f"cannot evaluate the condition {text!r}: {exc}",
            problem=problem_id,
            field="random.require",
        ) from None


def _draw_problem(
    pset: ProblemSet, index: int, raw: dict[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    problem = pset.problems[index]
    rules = problem.random
    if not has_draws(problem):
        return raw
    requires = rules.get("require", [])
    if isinstance(requires, str):
        requires = [requires]
    tries = rules.get("max_tries", MAX_TRIES)
    if not isinstance(tries, int) or not 1 <= tries <= MAX_TRIES_LIMIT:
        raise problem.error(
            f"max_tries must be an integer in 1..{MAX_TRIES_LIMIT}", field="random.max_tries"
        )
    kind = KINDS[problem.kind]
    for _ in range(tries):
        drawn = kind.draw(problem, rng)
        # A rule for a part's field (an einsum part's notation) draws anew for every part.
        per_part = [k for k in drawn if problem.has_parts and k in kind.part_fields]
        part_values = (
            [drawn] + [kind.draw(problem, rng) for _ in problem.parts[1:]] if per_part else []
        )
        values = {**problem.givens, **{k: v for k, v in drawn.items() if k not in per_part}}
        if all(_condition_holds(c, values, problem.id) for c in requires):
            out = copy.deepcopy(raw)
            out.update(copy.deepcopy({k: v for k, v in drawn.items() if k not in per_part}))
            for part, fresh in zip(out.get("part", []), part_values, strict=False):
                # The part's other fields (an einsum part's shapes) described the old statement.
                for k in kind.part_fields:
                    part.pop(k, None)
                part.update({k: copy.deepcopy(fresh[k]) for k in per_part})
            # The file's model answers belong to the file's givens; the key comes from solving.
            out.pop("answer", None)
            for part in out.get("part", []):
                part.pop("answer", None)
            return out
    raise problem.error(
        f"no draw met the require conditions in {tries} tries; widen the ranges or relax require",
        field="random.require",
    )


def make_variant(
    pset: ProblemSet,
    student: str,
    seed: int,
    set_text: str,
    fixed: dict[str, ProblemSolution] | None = None,
) -> Variant:
    """Draw, load, solve and self-test one variant.

    Args:
        fixed: solutions of the problems that have no random rules, by id (they are the same in every
            variant, so ``make_variants`` solves them once); solved here when not given.

    Raises:
        FormatError: a rule that cannot be met, or a variant that fails its self-test (naming the problem).
    """
    vseed = variant_seed(set_text, student, seed)
    rng = np.random.default_rng(vseed)
    data = copy.deepcopy(pset.raw)
    data["set"] = {**data["set"], "seed": seed}
    data["problem"] = [_draw_problem(pset, k, raw, rng) for k, raw in enumerate(data["problem"])]
    vset = parse_set(data, "", f"{pset.source} variant {student}")
    solution = SetSolution(vset.title, vset.source, vset.seed, variant=student)
    for problem in vset.problems:
        cached = (fixed or {}).get(problem.id)
        solution.problems.append(
            cached if cached is not None else KINDS[problem.kind].solve(problem)
        )
    # The answer key: the solved answers, each checked against its own problem.
    key: dict[str, Any] = {}
    for problem in vset.problems:
        kind = KINDS[problem.kind]
        for part in problem.parts:
            answer = kind.model_answer(problem, part)
            verdict = kind.check(problem, part, answer)
            if verdict.status != "correct":
                raise FormatError(
                    f"variant {student}: the solved answer is judged {verdict.status}: {verdict.summary}",
                    problem=problem.id,
                    part=part.id or None,
                )
            if problem.has_parts:
                key.setdefault(problem.id, {})[part.id] = answer
            else:
                key[problem.id] = answer
    failures = self_test_failures(solution)
    if failures:
        raise FormatError(f"variant {student} fails its self-test: {failures[0]}")
    # The student's file: a concrete set, its statements filled in, no answers and no rules.
    for raw, problem in zip(data["problem"], vset.problems, strict=True):
        raw.pop("answer", None)
        raw.pop("random", None)
        if "statement" in raw:
            raw["statement"] = problem.statement
        for raw_part, part in zip(raw.get("part", []), problem.parts, strict=False):
            raw_part.pop("answer", None)
            if "statement" in raw_part:
                raw_part["statement"] = part.statement
    return Variant(student, vseed, data, vset, solution, key)


def has_draws(problem: Problem) -> bool:
    """True when the problem's ``[problem.random]`` table redraws a given."""
    return any(k not in ("require", "max_tries") for k in problem.random)


def make_variants(pset: ProblemSet, students: list[str], seed: int, set_text: str) -> list[Variant]:
    """One self-tested variant per student id; problems without random rules are solved once.

    Raises:
        FormatError: as :func:`make_variant`; also a fixed problem that fails its own self-test.
    """
    fixed = {p.id: KINDS[p.kind].solve(p) for p in pset.problems if not has_draws(p)}
    return [make_variant(pset, sid, seed, set_text, fixed) for sid in students]
