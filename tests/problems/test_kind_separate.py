"""The ``separate`` kind: planes judged by the property, max-margin mode, certificates."""

import json
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.problems.errors import FormatError
from chainrule.problems.kinds.separate import SeparateKind
from chainrule.problems.schema import Problem, build_problem

KIND = SeparateKind()
#: The seed's Q2 points: x1 = 0 is class 1, x1 = 1 is class 0.
SEED = {"data": [[0, 0], [0, -1], [1, 0], [1, -1]], "labels": [1, 1, 0, 0]}
#: XOR: no line separates (0,0), (1,1) from (0,1), (1,0).
XOR = {"data": [[0, 0], [1, 1], [0, 1], [1, 0]], "labels": [1, 1, 0, 0]}


def make_problem(
    answer: Any = None,
    check: dict[str, Any] | None = None,
    random: dict[str, Any] | None = None,
    **givens: Any,
) -> Problem:
    """A separate problem built as the schema builds one from a file."""
    return build_problem(
        "separate", id="q3", points=3.0, answer=answer, check=check, random=random, **givens
    )


def grade(problem: Problem, answer: Any) -> Any:
    return KIND.check(problem, problem.parts[0], answer)


# -- solve -----------------------------------------------------------------------------------------


def test_solve_separable_gives_the_max_margin_plane() -> None:
    p = make_problem(answer={"w": [-2, 0], "b": 1}, **SEED)
    sol = KIND.solve(p)
    part = sol.parts[0]
    assert part.answer == {"w": [-2, 0], "b": 1}
    assert part.answer_text == "f(x) = [-2 0]·x + 1"
    assert all(c.ok for c in part.checks)
    assert part.checks[0].method == "exact"
    assert part.model_check is not None and part.model_check.status == "correct"
    assert sol.ok
    fig = sol.figures[0]
    assert fig.kind == "hyperplane"
    assert fig.data["w"] == [-2, 0] and fig.data["b"] == 1
    assert fig.data["margin"] == pytest.approx(0.5)
    assert fig.data["labels"] == [1, 1, 0, 0]


def test_solve_inseparable_gives_a_certificate() -> None:
    p = make_problem(answer={"separable": False}, **XOR)
    sol = KIND.solve(p)
    part = sol.parts[0]
    assert part.answer == {"separable": False, "certificate": ["1/4", "1/4", "1/4", "1/4"]}
    assert part.answer_text.startswith("not linearly separable")
    assert [c.method for c in part.checks] == ["certificate"]
    assert part.checks[0].ok
    assert any("Σ λ_i y_i x_i = (0, 0)" in s.text for s in part.steps)
    assert part.model_check is not None and part.model_check.status == "correct"
    assert sol.figures[0].data["w"] is None
    assert sol.figures[0].data["certificate"]["common_point"] == [0.5, 0.5]
    # The model answer (the certificate) passes its own check.
    assert grade(p, part.answer).status == "correct"


# -- check: claimed planes -------------------------------------------------------------------------


def test_any_separating_plane_is_correct() -> None:
    p = make_problem(**SEED)
    for answer in ({"w": [-2, 0], "b": 1}, {"w": [-1, 0.1], "b": 0.3}, {"w": [-6, 0], "b": "3"}):
        v = grade(p, answer)
        assert v.status == "correct", answer
        assert v.points == v.max_points == 3.0


def test_flipped_plane() -> None:
    v = grade(make_problem(**SEED), {"w": [2, 0], "b": -1})
    assert v.status == "wrong"
    assert v.summary.startswith("orientation flipped")
    assert v.counterexample is not None
    assert v.counterexample.point == {"x": [0, 0], "label": 1, "index": 0}
    assert (v.counterexample.expected, v.counterexample.got) == ("> 0", -1)


def test_misclassified_point_is_named() -> None:
    v = grade(make_problem(**SEED), {"w": [-1, 1], "b": 0.5})
    # f(0, -1) = -0.5 < 0 but label 1 belongs on f > 0.
    assert v.status == "wrong"
    assert v.summary.startswith("point 1 (x = (0, -1), label 1) is on the wrong side: f(x) = -1/2")
    ce = v.counterexample
    assert ce is not None and ce.point == {"x": [0, -1], "label": 1, "index": 1}
    assert (ce.expected, ce.got) == ("> 0", "-1/2")


def test_point_on_the_plane_is_not_separated() -> None:
    v = grade(make_problem(**SEED), {"w": [-1, 0], "b": 0})
    assert v.status == "wrong"
    assert "is on the plane" in v.summary


def test_zero_normal() -> None:
    v = grade(make_problem(**SEED), {"w": [0, 0], "b": 1})
    assert v.summary == "not a hyperplane: w = 0"
    assert v.counterexample is not None


def test_plane_claimed_on_inseparable_data_gets_the_certificate() -> None:
    v = grade(make_problem(**XOR), {"w": [1, 1], "b": -1})
    assert v.status == "wrong"
    assert v.summary.startswith("the classes are not linearly separable")
    ce = v.counterexample
    assert ce is not None
    assert ce.point["multipliers"] == ["1/4", "1/4", "1/4", "1/4"]
    assert ce.point["common_point"] == ["1/2", "1/2"]
    assert any("point 0" in line for line in v.diagnosis)


# -- check: max-margin -----------------------------------------------------------------------------


def test_max_margin_mode() -> None:
    p = make_problem(check={"accept": "max-margin"}, **SEED)
    assert grade(p, {"w": [-2, 0], "b": 1}).status == "correct"
    assert grade(p, {"w": [-6, 0], "b": 3}).status == "correct"
    v = grade(p, {"w": [-1, 0], "b": 0.25})
    assert v.status == "wrong"
    assert v.summary == "separates, but its margin is 0.25 < the maximum 0.5"
    assert v.counterexample is not None
    assert v.counterexample.got == pytest.approx(0.25)
    assert v.counterexample.difference == pytest.approx(-0.25)
    tilted = grade(p, {"w": [-2, 0.1], "b": 1})
    assert tilted.status == "wrong" and tilted.summary.startswith("separates, but its margin is")


def test_max_margin_within_rtol_for_float_answers() -> None:
    p = make_problem(
        check={"accept": "max-margin", "rtol": 1e-6}, data=[[0, 0], [3, 0]], labels=[0, 1]
    )
    # The maximum-margin plane is f(x) = (2/3) x1 − 1; typed as a decimal it is close, not equal.
    assert grade(p, {"w": [0.6666667, 0], "b": -1}).status == "correct"
    assert grade(p, {"w": [0.66, 0], "b": -1}).status == "wrong"


# -- check: "not separable" claims -----------------------------------------------------------------


def test_not_separable_claims() -> None:
    xor = make_problem(**XOR)
    assert grade(xor, {"separable": False}).status == "correct"
    assert grade(xor, {"separable": False, "certificate": [1, 1, 1, 1]}).status == "correct"
    assert (
        grade(xor, {"separable": False, "certificate": ["1/2", "1/2", "1/2", "1/2"]}).status
        == "correct"
    )
    bad = grade(xor, {"separable": False, "certificate": [1, 0, 0, 0]})
    assert bad.status == "wrong"
    assert bad.counterexample is not None and bad.counterexample.got == [0, 0, 1]
    neg = grade(xor, {"separable": False, "certificate": [1, 1, -1, 0]})
    assert neg.status == "wrong" and "λ_2 = -1 < 0" in neg.summary
    zero = grade(xor, {"separable": False, "certificate": [0, 0, 0, 0]})
    assert zero.status == "wrong" and "every multiplier is 0" in zero.summary


def test_claiming_inseparable_when_separable() -> None:
    v = grade(make_problem(**SEED), {"separable": False})
    assert v.status == "wrong"
    assert v.summary.startswith("the classes are separable: f(x) = [-2 0]·x + 1")
    assert v.counterexample is not None
    assert v.counterexample.point == {"w": [-2, 0], "b": 1}


def test_same_answer_same_verdict() -> None:
    p = make_problem(**XOR)
    for answer in ({"w": [1, 1], "b": -1}, {"separable": False, "certificate": [1, 0, 0, 0]}):
        assert grade(p, answer) == grade(p, answer)


# -- format errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "field", "message"),
    [
        ({"w": [1, 1]}, "answer.b", "missing 'b'"),
        ({"w": [1], "b": 0}, "answer.w", "expected 2 numbers"),
        ({"separable": "no"}, "answer.separable", "true or false"),
        ({"separable": False, "w": [1, 1]}, "answer.w", "also gives 'w'"),
        ({"separable": False, "certificate": [1, 1]}, "answer.certificate", "expected 4 numbers"),
        (
            {"w": [1, 1], "b": 0, "certificate": [1, 1, 1, 1]},
            "answer.certificate",
            "separable = false",
        ),
        ({"w": [1, 1], "b": 0, "margin": 1}, "answer.margin", "unknown key"),
        ([1, 1, 0], "answer", "expected a table"),
    ],
)
def test_unreadable_answers(answer: Any, field: str, message: str) -> None:
    with pytest.raises(FormatError, match=message) as exc:
        grade(make_problem(**XOR), answer)
    assert exc.value.field == field


def test_bad_givens() -> None:
    with pytest.raises(FormatError, match="3 labels for 4 points") as exc:
        make_problem(data=XOR["data"], labels=[1, 1, 0])
    assert exc.value.field == "labels"
    with pytest.raises(FormatError, match="3 distinct values"):
        make_problem(data=[[0], [1], [2]], labels=[0, 1, 2])
    with pytest.raises(FormatError, match="mix numbers and strings"):
        make_problem(data=[[0], [1]], labels=[0, "a"])


def test_string_labels_put_the_larger_on_the_positive_side() -> None:
    p = make_problem(data=[[0], [2]], labels=["no", "yes"])
    assert KIND.model_answer(p, p.parts[0]) == {"w": [1], "b": -1}
    assert grade(p, {"w": [1], "b": -1}).status == "correct"
    assert grade(p, {"w": [-1], "b": 1}).summary.startswith("orientation flipped")


# -- variants --------------------------------------------------------------------------------------

RANDOM = {
    "data": {"draw": "points", "n": 5, "dim": 2, "low": -3, "high": 3},
    "labels": {"draw": "labels", "n": 5},
}


@settings(max_examples=25)
@given(st.integers(0, 2**32))
def test_every_variant_solves_and_passes_its_self_test(seed: int) -> None:
    p = make_problem(random=RANDOM, **XOR)
    drawn = KIND.draw(p, np.random.default_rng(seed))
    assert len(drawn["data"]) == len(drawn["labels"]) == 5
    assert set(drawn["labels"]) == {0, 1}
    variant = make_problem(**drawn)
    sol = KIND.solve(variant)
    assert sol.ok
    model = sol.parts[0].answer
    assert grade(variant, model).status == "correct"
    if "w" in model:
        w = [Fraction(str(v)) for v in model["w"]]
        b = Fraction(str(model["b"]))
        flipped = {"w": [str(-v) for v in w], "b": str(-b)}
        assert grade(variant, flipped).summary.startswith("orientation flipped")
    else:
        assert grade(variant, {"w": [1, 0], "b": 0}).summary.startswith("the classes are not")


def test_random_rules_must_agree_in_number() -> None:
    bad = {**RANDOM, "labels": {"draw": "labels", "n": 6}}
    with pytest.raises(FormatError, match="draws 5 points but there are 6 labels"):
        make_problem(random=bad, **XOR)
    with pytest.raises(FormatError, match="draws 5 labels but there are 4 points") as exc:
        make_problem(random={"labels": RANDOM["labels"]}, **XOR)
    assert exc.value.field == "random.labels"
    with pytest.raises(FormatError, match="must be two values"):
        make_problem(random={"labels": {"draw": "labels", "n": 4, "values": [0, 1, 2]}}, **XOR)


def test_verdicts_are_json_data() -> None:
    seed, xor = make_problem(**SEED), make_problem(**XOR)
    cases = [
        (seed, {"w": [-2, 0], "b": 1}),
        (seed, {"w": [2, 0], "b": -1}),
        (seed, {"separable": False}),
        (xor, {"w": [1, 1], "b": "-1/2"}),
        (xor, {"separable": False, "certificate": [1, 0, 0, 0]}),
    ]
    for problem, answer in cases:
        data = grade(problem, answer).to_dict()
        assert json.loads(json.dumps(data)) == data
