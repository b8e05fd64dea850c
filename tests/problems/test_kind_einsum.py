"""The einsum kind: index notation solved to subscripts, and claimed subscripts graded by evaluation."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.einsum.index_notation import LETTERS
from chainrule.problems.errors import FormatError
from chainrule.problems.kinds.einsum import EinsumKind
from chainrule.problems.schema import Problem, build_problem

KIND = EinsumKind()

SEED = (
    ("a", r"C_{jk} = \sum_i A_{ijk} b_i", "ijk, i -> jk", None),
    ("b", r"A_{ik} = \sum_{j,l} A_{ijkl}", "ijkl -> ik", None),
    ("c", r"A_{ki} = \sum_{j,l} A_{ijkl}", "ijkl -> ki", None),
    ("d", r"C_i = \sum_{j,k} A_{ijk} A_{ijk}", "ijk, ijk -> i", None),
    ("e", r"C = A G^T B", "de, fe, fl -> dl", {"A": "d,e", "G": "f,e", "B": "f,l"}),
)


def make_problem(
    parts: list[tuple[str, str, Any, dict[str, str] | None]] | None = None,
    *,
    notation: str | None = None,
    answer: Any = None,
    shapes: dict[str, str] | None = None,
    random: dict[str, Any] | None = None,
    check: dict[str, Any] | None = None,
    pid: str = "q5",
) -> Problem:
    """An einsum problem built as the schema builds one from a file: with parts
    ``(id, notation, answer, shapes)``, or part-less."""
    if parts is None:
        givens: dict[str, Any] = {"notation": notation}
        if shapes is not None:
            givens["shapes"] = shapes
        return build_problem(
            "einsum", id=pid, points=1.0, answer=answer, random=random, check=check, **givens
        )
    tables = []
    for part_id, text, ans, sh in parts:
        table: dict[str, Any] = {"id": part_id, "notation": text, "points": 1.0}
        if ans is not None:
            table["answer"] = ans
        if sh is not None:
            table["shapes"] = sh
        tables.append(table)
    return build_problem("einsum", id=pid, parts=tables, random=random, check=check)


def grade(problem: Problem, answer: Any, part: str = "") -> Any:
    return KIND.check(problem, problem.part(part), answer)


@pytest.fixture(scope="module")
def seed_problem() -> Problem:
    return make_problem(list(SEED))


# -- solve -----------------------------------------------------------------------------------------------


def test_the_seed_statements_solve_to_the_seed_answers(seed_problem: Problem) -> None:
    solution = KIND.solve(seed_problem)
    assert solution.ok, [(p.part, p.checks, p.model_check) for p in solution.parts]
    for (part_id, _, seed_answer, _), part in zip(SEED, solution.parts, strict=True):
        assert part.part == part_id
        spec = cr.parse_index_notation(seed_problem.part(part_id).fields["notation"])
        assert spec.equivalent(seed_answer)
        assert cr.parse_index_notation(part.answer_latex).equivalent(seed_answer)
        assert part.model_check is not None and part.model_check.status == "correct"
        assert [c.method for c in part.checks] == ["loops", "exact"]
    # Matrix form with the seed's shapes keeps the seed's letters exactly.
    assert solution.parts[4].answer == "de,fe,fl->dl"
    assert KIND.model_answer(seed_problem, seed_problem.part("a")) == "ijk,i->jk"


def test_solve_gives_steps_and_a_path_figure(seed_problem: Problem) -> None:
    solution = KIND.solve(seed_problem)
    part = solution.parts[0]
    assert "ijk,i->jk" in part.steps[1].text
    assert part.steps[2].text == "operands: [A, b]"
    assert part.steps[3].latex == r"C_{jk} = \sum_{i} A_{ijk} b_{i}"
    figure = solution.figures[4]
    assert figure.kind == "einsum_path"
    assert figure.data["subscripts"] == "de,fe,fl->dl"
    assert len(figure.data["shapes"]) == 3
    assert figure.data["steps"] and all(isinstance(s["flops"], int) for s in figure.data["steps"])
    assert {"operands", "result", "flops"} <= set(figure.data["steps"][0])


def test_a_partless_problem_and_a_wrong_model_answer_fail_the_self_test() -> None:
    problem = make_problem(notation=r"C_{ik} = A_{ij} B_{jk}", answer="ij,jk->ki")
    solution = KIND.solve(problem)
    assert solution.parts[0].answer == "ij,jk->ik"
    assert solution.parts[0].model_check is not None
    assert solution.parts[0].model_check.status == "wrong"
    assert not solution.ok


# -- check: correct --------------------------------------------------------------------------------------


def test_renamed_labels_are_correct(seed_problem: Problem) -> None:
    verdict = grade(seed_problem, "abc,a->bc", "a")
    assert verdict.status == "correct"
    assert "renaming" in verdict.summary and "i→a" in verdict.summary
    assert verdict.points == 1.0
    assert grade(seed_problem, "ab, cb, cd -> ad", "e").status == "correct"


def test_named_operands_in_another_order_and_latex_answers(seed_problem: Problem) -> None:
    verdict = grade(seed_problem, {"subscripts": "i,ijk->jk", "operands": ["b", "A"]}, "a")
    assert verdict.status == "correct"
    assert "another order" in verdict.summary
    assert grade(seed_problem, r"C_{kj} = \sum_i b_i A_{ikj}", "a").status == "correct"
    verdict = grade(seed_problem, r"C_{kj} = \sum_i b_i A_{ijk}", "a")
    assert verdict.status == "wrong" and "transposed" in verdict.summary
    assert grade(seed_problem, r"C_{jk} = b_i A_{ijk}", "a").status == "correct"
    assert grade(seed_problem, r"C = A G^T B", "e").status == "correct"
    # Positional subscripts in another order are different operands.
    assert grade(seed_problem, "i,ijk->jk", "a").status == "wrong"


# -- check: wrong, with a diagnosis ----------------------------------------------------------------------


def test_a_transposed_output_is_diagnosed(seed_problem: Problem) -> None:
    verdict = grade(seed_problem, "ijkl->ki", "b")
    assert verdict.status == "wrong"
    assert verdict.summary == "your output is ki, expected ik: axes transposed"
    cex = verdict.counterexample
    assert cex is not None and cex.expected == list(cex.got)[::-1]
    assert "A" in cex.point["shapes"]


def test_a_missing_and_an_extra_sum_are_diagnosed(seed_problem: Problem) -> None:
    verdict = grade(seed_problem, "ijk,i->j", "a")
    assert verdict.status == "wrong"
    assert "sums over k too" in verdict.summary
    verdict = grade(seed_problem, "ijkl->ikl", "b")
    assert verdict.status == "wrong"
    assert "keeps l, which should be summed" in verdict.diagnosis
    assert verdict.counterexample is not None


def test_wrong_operand_count_and_rank_are_diagnosed(seed_problem: Problem) -> None:
    verdict = grade(seed_problem, "ijk->jk", "a")
    assert verdict.status == "wrong" and "number of operands" in verdict.summary
    verdict = grade(seed_problem, "ijk,ij->k", "a")
    assert verdict.status == "wrong"
    assert "operand 2 (b) has 2 indices" in verdict.summary
    assert verdict.counterexample is not None
    assert verdict.counterexample.expected == 1 and verdict.counterexample.got == 2
    verdict = grade(seed_problem, "de, ef, fl -> dl", "e")
    assert verdict.status == "wrong"
    assert "different dimensions" in verdict.summary


def test_a_result_too_large_to_compute_is_judged_by_its_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.modules[EinsumKind.__module__], "MAX_ELEMENTS", 50)
    problem = make_problem(notation=r"C_{ik} = \sum_j A_{ij} B_{jk}")
    verdict = grade(problem, "ij,kl->ijkl")
    assert verdict.status == "wrong"
    assert verdict.counterexample is not None and len(verdict.counterexample.got) == 4
    assert grade(problem, "ab,bc->ac").status == "correct"


# -- check: unreadable answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "where"),
    [("ijk, i -> j$k", 11), ("ijk,i->jj", 8), ("ijk,i-jk", 5), (r"C_{jk = A", None)],
)
def test_a_syntax_error_is_a_format_error_with_a_caret(
    seed_problem: Problem, answer: str, where: int | None
) -> None:
    with pytest.raises(FormatError) as info:
        grade(seed_problem, answer, "a")
    err = info.value
    assert err.field == "answer" and err.part == "a"
    assert "^" in err.detail
    if where is not None:
        assert err.detail.splitlines()[1].index("^") == where + 2


def test_unreadable_tables_and_types_are_format_errors(seed_problem: Problem) -> None:
    for bad in (3, {"subscripts": "ijk,i->jk", "operands": ["A", "x"]}, {"subs": "ijk,i->jk"}):
        with pytest.raises(FormatError):
            grade(seed_problem, bad, "a")


def test_bad_statements_and_rules_are_format_errors() -> None:
    with pytest.raises(FormatError) as info:
        make_problem(notation=r"C_{jk} = \sum_i A_{ijk b_i")
    assert info.value.field == "notation"
    with pytest.raises(FormatError) as info:
        make_problem(notation=r"C = A G B", shapes={"A": "d,e", "G": "f,e", "B": "f,l"})
    assert info.value.field == "shapes"
    with pytest.raises(FormatError) as info:
        make_problem(
            notation=r"C_{ik} = A_{ij} B_{jk}",
            random={"notation": {"draw": "index_statement", "operand": 2}},
        )
    assert info.value.field == "random.notation"


# -- determinism and properties --------------------------------------------------------------------------


def test_the_same_answer_gets_the_same_verdict(seed_problem: Problem) -> None:
    for answer in ("ijkl->ki", "abcd->ac", "ijkl->i"):
        first = grade(seed_problem, answer, "b").to_dict()
        second = grade(seed_problem, answer, "b").to_dict()
        assert first == second


def _drawn_problem(seed: int) -> Problem:
    rule = {"draw": "index_statement", "operands": 2, "max_rank": 3}
    template = make_problem(notation=r"C_{ik} = A_{ij} B_{jk}", random={"notation": rule})
    notation = KIND.draw(template, np.random.default_rng(seed))["notation"]
    return make_problem(notation=notation)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_a_renaming_of_the_model_answer_is_correct(seed: int, data: st.DataObject) -> None:
    problem = _drawn_problem(seed)
    model = KIND.model_answer(problem, problem.part(""))
    used = sorted(set(model) - set(",->"))
    targets = iter(data.draw(st.permutations(list(LETTERS))))
    rename = {ch: next(targets) for ch in used}
    renamed = "".join(rename.get(ch, ch) for ch in model)
    verdict = grade(problem, renamed)
    assert verdict.status == "correct", (problem.givens["notation"], renamed, verdict.summary)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_a_transposed_output_is_wrong(seed: int, data: st.DataObject) -> None:
    problem = _drawn_problem(seed)
    model = KIND.model_answer(problem, problem.part(""))
    inputs, out = model.split("->")
    assume(len(out) >= 2)
    shuffled = "".join(data.draw(st.permutations(list(out))))
    assume(shuffled != out)
    verdict = grade(problem, f"{inputs}->{shuffled}")
    assert verdict.status == "wrong"
    assert "transposed" in verdict.summary
    assert verdict.counterexample is not None


@pytest.mark.parametrize("seed", range(12))
def test_drawn_statements_pass_their_self_test(seed: int) -> None:
    problem = _drawn_problem(seed)
    notation = problem.givens["notation"]
    spec = cr.parse_index_notation(notation)
    assert spec.output_indices and spec.summed
    problem = make_problem(notation=notation, answer=KIND.model_answer(problem, problem.part("")))
    solution = KIND.solve(problem)
    assert solution.ok
    assert solution.parts[0].model_check is not None
    assert solution.parts[0].model_check.status == "correct"
