"""The ``threshold_unit`` kind: Q2 constraint by constraint, conventions, certificates."""

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.problems.errors import FormatError
from chainrule.problems.kinds.threshold_unit import ThresholdUnitKind
from chainrule.problems.schema import Problem, build_problem

KIND = ThresholdUnitKind()
SEED = {"data": [[0, 0], [0, -1], [1, 0], [1, -1]], "labels": [1, 1, 0, 0]}
XOR = {"data": [[0, 0], [1, 1], [0, 1], [1, 0]], "labels": [1, 1, 0, 0]}
SEED_ANSWER = {"w0": 0, "w1": -1, "w2": 0}


def make_problem(
    answer: Any = None, random: dict[str, Any] | None = None, **givens: Any
) -> Problem:
    """A threshold_unit problem built as the schema builds one from a file."""
    return build_problem(
        "threshold_unit", id="q2", points=2.0, answer=answer, random=random, **givens
    )


def grade(problem: Problem, answer: Any) -> Any:
    return KIND.check(problem, problem.parts[0], answer)


# -- solve -----------------------------------------------------------------------------------------


def test_seed_q2_is_solved_and_its_answer_checks() -> None:
    p = make_problem(answer=SEED_ANSWER, **SEED)
    sol = KIND.solve(p)
    part = sol.parts[0]
    assert part.model_check is not None and part.model_check.status == "correct"
    assert sol.ok
    texts = [s.text for s in part.steps]
    assert texts[0] == "z = w1·x1 + w2·x2 − w0; output 1 iff z ≥ 0"
    assert texts[1] == "(1)  w1(0) + w2(0) - w0 ≥ 0  ⇔  -w0 ≥ 0"
    assert texts[4] == "(4)  w1(1) + w2(-1) - w0 < 0  ⇔  w1 - w2 - w0 < 0"
    assert [c.method for c in part.checks] == ["constraints"] * 4
    assert all(c.ok for c in part.checks)
    # The solved weights are valid too, and are given back as an answers file holds them.
    assert grade(p, part.answer).status == "correct"
    assert set(part.answer) == {"w0", "w"}
    fig = sol.figures[0]
    assert fig.kind == "threshold_unit"
    assert fig.data["bias_sign"] == -1 and fig.data["strict"] is False
    assert fig.data["points"] == SEED["data"] and fig.data["labels"] == SEED["labels"]
    assert len(fig.data["w"]) == 2


def test_solve_inseparable_says_so_with_a_certificate() -> None:
    p = make_problem(answer={"separable": False}, **XOR)
    sol = KIND.solve(p)
    part = sol.parts[0]
    assert part.answer == {"separable": False, "certificate": ["1/4", "1/4", "1/4", "1/4"]}
    assert part.answer_text.startswith("no weights exist")
    assert part.checks[0].method == "certificate" and part.checks[0].ok
    assert "no weights exist" in part.steps[-1].text
    assert part.model_check is not None and part.model_check.status == "correct"
    assert sol.figures[0].data["w"] is None


# -- check -----------------------------------------------------------------------------------------


def test_seed_answer_in_both_forms() -> None:
    p = make_problem(**SEED)
    for answer in (SEED_ANSWER, {"w0": 0, "w": [-1, 0]}, {"w0": "0", "w": ["-1", 0.0]}):
        v = grade(p, answer)
        assert v.status == "correct"
        assert v.points == 2.0
        assert v.method == "constraints"


def test_first_violated_constraint_is_named() -> None:
    v = grade(make_problem(**SEED), {"w0": 0, "w1": 1, "w2": 0})
    assert v.status == "wrong"
    assert v.summary == "constraint 3 fails: (1, 0) → z = 1 ≥ 0, output 1, label 0"
    ce = v.counterexample
    assert ce is not None
    assert ce.point == {"x": [1, 0], "label": 0}
    assert (ce.expected, ce.got) == (0, 1)
    assert ce.difference["z"] == 1
    assert ce.difference["constraint"] == "w1 - w0 < 0"
    assert ce.index == [2]
    assert "constraints (3), (4) fail" in v.diagnosis


def test_all_constraints_failing_suggests_flipped_signs() -> None:
    v = grade(make_problem(**SEED), {"w0": 1, "w": [2, 0]})  # z = 2 x1 − 1: every output wrong
    assert v.summary.startswith("constraint 1 fails: (0, 0) → z = -1 < 0, output 0, label 1")
    assert any("flipped" in line for line in v.diagnosis)


def test_strict_convention_makes_z_equal_zero_output_zero() -> None:
    p = make_problem(convention={"strict": True}, **SEED)
    v = grade(p, SEED_ANSWER)
    assert v.status == "wrong"
    assert v.summary == "constraint 1 fails: (0, 0) → z = 0 ≤ 0, output 0, label 1"
    assert grade(p, {"w0": "-1/2", "w": [-1, 0]}).status == "correct"
    assert KIND.solve(p).ok


def test_bias_sign_plus() -> None:
    p = make_problem(convention={"bias_sign": 1}, **SEED)
    # z = w·x + w0: with w0 = 0.5 the threshold is at x1 = 0.5 for w = (-1, 0).
    assert grade(p, {"w0": 0.5, "w": [-1, 0]}).status == "correct"
    assert grade(p, {"w0": -0.5, "w": [-1, 0]}).status == "wrong"
    sol = KIND.solve(p)
    assert sol.ok and sol.figures[0].data["bias_sign"] == 1
    assert sol.parts[0].steps[0].text == "z = w1·x1 + w2·x2 + w0; output 1 iff z ≥ 0"


def test_decimal_data_is_exact() -> None:
    # z = x1 + x2 − 0.3 at (0.1, 0.2) is exactly 0 on the data as written; in binary floats it is
    # 5.6e-17 > 0, which would flip the strict unit's output to 1.
    p = make_problem(data=[[0.1, 0.2], [1, 1]], labels=[0, 1], convention={"strict": True})
    assert grade(p, {"w0": 0.3, "w": [1, 1]}).status == "correct"
    # ... and −x1 − x2 + 0.3 is exactly 0 (≥ 0: output 1), not −5.6e-17.
    q = make_problem(data=[[0.1, 0.2], [1, 1]], labels=[1, 0])
    assert grade(q, {"w0": -0.3, "w": [-1, -1]}).status == "correct"


def test_weights_on_inseparable_data() -> None:
    v = grade(make_problem(**XOR), {"w0": 0, "w": [1, 1]})
    assert v.status == "wrong"
    assert v.method == "constraints; certificate"
    assert any("not separable" in line for line in v.diagnosis)


def test_not_separable_claims() -> None:
    assert grade(make_problem(**XOR), {"separable": False}).status == "correct"
    assert (
        grade(make_problem(**XOR), {"separable": False, "certificate": [1, 1, 1, 1]}).status
        == "correct"
    )
    v = grade(make_problem(**SEED), {"separable": False})
    assert v.status == "wrong"
    assert v.counterexample is not None and set(v.counterexample.point) == {"w0", "w"}


def test_same_answer_same_verdict() -> None:
    p = make_problem(**SEED)
    answer = {"w0": 0, "w1": 1, "w2": 0}
    assert grade(p, answer) == grade(p, answer)


@pytest.mark.parametrize(
    ("answer", "field", "message"),
    [
        ({"w1": -1, "w2": 0}, "answer.w0", "missing 'w0'"),
        ({"w0": 0, "w1": -1}, "answer.w2", "missing 'w2'"),
        ({"w0": 0, "w1": -1, "w2": 0, "w3": 1}, "answer.w3", "unknown key 'w3'"),
        ({"w0": 0, "w": [-1, 0], "w1": -1}, "answer.w1", "not both"),
        ({"w0": 0, "w": [-1]}, "answer.w", "expected 2 numbers"),
        ({"w0": "zero", "w": [-1, 0]}, "answer.w0", "expected a number"),
        ({"w0": 0, "w1": [1], "w2": 0}, "answer.w1", "expected a number"),
    ],
)
def test_unreadable_answers(answer: Any, field: str, message: str) -> None:
    with pytest.raises(FormatError, match=message) as exc:
        grade(make_problem(**SEED), answer)
    assert exc.value.field == field


def test_bad_givens() -> None:
    with pytest.raises(FormatError, match="0 or 1"):
        make_problem(data=SEED["data"], labels=[1, 1, 0, 2])
    with pytest.raises(FormatError, match="every label is 1"):
        make_problem(data=SEED["data"], labels=[1, 1, 1, 1])
    with pytest.raises(FormatError, match="bias_sign must be -1"):
        make_problem(convention={"bias_sign": 2}, **SEED)
    with pytest.raises(FormatError, match="unknown key 'sign'"):
        make_problem(convention={"sign": 1}, **SEED)
    with pytest.raises(FormatError, match="3 labels for 4 points"):
        make_problem(data=SEED["data"], labels=[1, 0, 0])


# -- variants --------------------------------------------------------------------------------------


@settings(max_examples=25)
@given(st.integers(0, 2**32))
def test_every_variant_solves_and_passes_its_self_test(seed: int) -> None:
    rules = {
        "data": {"draw": "points", "n": 5, "dim": 2, "low": -3, "high": 3},
        "labels": {"draw": "labels", "n": 5},
    }
    p = make_problem(
        random=rules, **SEED | {"data": SEED["data"] + [[2, 2]], "labels": [1, 1, 0, 0, 1]}
    )
    drawn = KIND.draw(p, np.random.default_rng(seed))
    assert set(drawn["labels"]) == {0, 1}
    variant = make_problem(**drawn)
    sol = KIND.solve(variant)
    assert sol.ok
    assert grade(variant, sol.parts[0].answer).status == "correct"


def test_labels_rule_must_draw_zero_and_one() -> None:
    with pytest.raises(FormatError, match="must be 0 and 1") as exc:
        make_problem(random={"labels": {"draw": "labels", "n": 4, "values": ["a", "b"]}}, **SEED)
    assert exc.value.field == "random.labels"
