"""The derivation kind: identities and gradients judged by autodiff at seeded points, with diagnoses."""

from __future__ import annotations

import pytest

from chainrule.problems.errors import FormatError
from chainrule.problems.kinds import KINDS
from chainrule.problems.schema import ProblemSet

KIND = KINDS["derivation"]
Q3_SLIP = {
    "answer": "sum(x[i]*(h(x[i]) - y[i]), i)",
    "steps": [
        "-sum(y[i]*(1 - h(x[i]))*x[i] - (1 - y[i])*h(x[i])*x[i], i)",
        "-x[i]*sum(y[i] - h(x[i]), i)",
        "sum(x[i]*(h(x[i]) - y[i]), i)",
    ],
}


def check(seed_set: ProblemSet, part: str, answer: object):  # type: ignore[no-untyped-def]
    problem = seed_set.problem("q3")
    return KIND.check(problem, problem.part(part), answer)


def test_the_seed_answers_are_correct(seed_set: ProblemSet) -> None:
    for part, answer in (
        ("a", "1 - sigma(a)"),
        ("b", "-sigma(a)"),
        ("c", "sum(x[i]*(h(x[i]) - y[i]), i)"),
    ):
        v = check(seed_set, part, answer)
        assert v.status == "correct", (part, v.summary)
        assert v.points == seed_set.problem("q3").part(part).points


def test_a_sign_flipped_gradient_is_diagnosed(seed_set: ProblemSet) -> None:
    v = check(seed_set, "c", "sum(x[i]*(y[i] - h(x[i])), i)")
    assert v.status == "wrong"
    assert v.summary.startswith("sign flipped")
    assert v.counterexample is not None and v.counterexample.index == [1]
    assert "x" in v.counterexample.point and "a" not in v.counterexample.point


def test_missing_and_extra_terms_are_named(seed_set: ProblemSet) -> None:
    v = check(seed_set, "c", "sum(x[i]*h(x[i]), i)")
    assert v.status == "wrong" and "missing term(s): − sum(x[i]*y[i], i)" in v.diagnosis
    v = check(seed_set, "c", "sum(x[i]*(h(x[i]) - y[i]), i) + w")
    assert v.status == "wrong" and "extra term(s): + w" in v.diagnosis


def test_the_seeds_middle_line_is_refuted_while_its_answer_passes(seed_set: ProblemSet) -> None:
    v = check(seed_set, "c", Q3_SLIP)
    assert v.status == "correct"
    assert [s.status for s in v.steps] == ["correct", "wrong", "wrong"]
    assert v.diagnosis[0].startswith("line 2: does not follow from line 1")
    assert v.points < seed_set.problem("q3").part("c").points
    wrong = v.steps[1]
    assert wrong.counterexample is not None and "i" in wrong.counterexample.point


def test_an_overflow_only_difference_is_judged_correct(seed_set: ProblemSet) -> None:
    # exp(-a)/(1 + exp(-a)) is nan in float64 at a = -800; at 50 digits it equals 1 - σ(a).
    v = check(seed_set, "a", "exp(-a)/(1 + exp(-a))")
    assert v.status == "correct"
    assert "50 digits" in v.method


def test_verdicts_are_identical_across_runs(seed_set: ProblemSet) -> None:
    for answer in (
        "sum(x[i]*(y[i] - h(x[i])), i)",
        "sum(x[i]*h(x[i]), i)",
        " sum( x[i]*(h(x[i]) - y[i]) , i )",
    ):
        first, second = check(seed_set, "c", answer), check(seed_set, "c", answer)
        assert first.to_dict() == second.to_dict()


def test_unreadable_answers_are_format_errors_never_wrong(seed_set: ProblemSet) -> None:
    with pytest.raises(FormatError) as exc:
        check(seed_set, "c", "sum(x[i]*(h(x[i]) - q[i]), i)")
    assert exc.value.problem == "q3" and exc.value.part == "c"
    assert "^" in exc.value.detail
    with pytest.raises(FormatError, match="unknown key"):
        check(seed_set, "c", {"answr": "w"})
    with pytest.raises(FormatError):
        check(seed_set, "c", 3)


def test_an_instructors_own_derivation_set(write_set) -> None:  # type: ignore[no-untyped-def]
    pset = write_set(
        """
[set]
format = 1
title = "softmax and mse"

[[problem]]
id = "mse"
kind = "derivation"
vars = { w = "vector[d]", X = "matrix[n,d]", t = "vector[n]", i = "index[n]", z = "real" }
given = { E = "sum((dot(X[i], w) - t[i])^2, i) / 2" }
  [[problem.part]]
  id = "grad"
  find = "grad(E, w)"
  answer = "X.T @ (X @ w - t)"
  [[problem.part]]
  id = "softplus"
  prove = "diff(softplus(z), z) == sigma(z)"
"""
    )
    problem = pset.problem("mse")
    sol = KIND.solve(problem)
    assert sol.ok
    assert KIND.check(problem, problem.part("grad"), "X.T @ (X @ w - t)").status == "correct"
    wrong = KIND.check(problem, problem.part("grad"), "X @ (X.T @ w - t)")
    assert wrong.status == "wrong"
    transposed = KIND.check(problem, problem.part("grad"), "(X @ w - t) @ X")
    assert transposed.status == "correct"  # a vector times a matrix: the same numbers


def test_a_set_whose_model_answer_is_wrong_fails_its_self_test(write_set) -> None:  # type: ignore[no-untyped-def]
    from chainrule.problems.solve import self_test_failures, solve_set

    pset = write_set(
        """
[set]
format = 1
[[problem]]
id = "p"
kind = "derivation"
vars = { a = "real" }
find = "diff(tanh(a), a)"
answer = "1 + tanh(a)^2"
"""
    )
    failures = self_test_failures(solve_set(pset))
    assert failures and failures[0].startswith("problem p: the set's own answer is judged wrong")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('vars = { a = "real" }\nfind = "diff(tanh(b), a)"', "find"),
        ('vars = { a = "vektor" }\nfind = "a"', "vars.a"),
        ('vars = { a = "real" }\nprove = "a + 1"', "prove"),
        ('vars = { a = "real" }\nfind = "a"\nprove = "a == a"', "find"),
    ],
)
def test_bad_problems_name_the_field(write_set, body: str, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as exc:
        write_set(f'[set]\nformat = 1\n[[problem]]\nid = "p"\nkind = "derivation"\n{body}\n')
    assert exc.value.field == field and exc.value.problem == "p"
    assert exc.value.line is not None and exc.value.file is not None
