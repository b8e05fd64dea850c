"""The seed problem set (data/seed.toml): its five answers are acceptance tests, and the Q4 network's
derivation reproduces the seed's five equations term for term."""

import numpy as np
import pytest

from chainrule.problems import seed
from chainrule.problems.kinds import KINDS
from chainrule.problems.results import SetSolution
from chainrule.problems.schema import ProblemSet
from chainrule.problems.solve import self_test_failures, solve_set


@pytest.fixture(scope="module")
def solution(seed_set: ProblemSet) -> SetSolution:
    return solve_set(seed_set)


def test_every_seed_answer_checks_out(solution: SetSolution) -> None:
    assert [p.id for p in solution.problems] == ["q1", "q2", "q3", "q4", "q5"]
    assert solution.ok and not self_test_failures(solution)
    assert sum(len(p.parts) for p in solution.problems) == 11
    for p in solution.problems:
        for part in p.parts:
            assert part.model_check is not None and part.model_check.status == "correct", part.part


def test_q1_is_the_seeds_hyperplane(solution: SetSolution) -> None:
    assert solution.problems[0].parts[0].answer_text == "f(x) = [-7 -1 6]·x − 9"
    assert solution.problems[0].parts[0].answer == {"w": [-7, -1, 6], "b": -9}


def test_q2_the_seeds_weights_hold_constraint_by_constraint(seed_set: ProblemSet) -> None:
    q2 = seed_set.problem("q2")
    v = KINDS["threshold_unit"].check(q2, q2.part(""), {"w0": 0, "w1": -1, "w2": 0})
    assert v.status == "correct" and v.summary == "all 4 constraints hold"


def test_q4_derivation_has_the_seed_equations() -> None:
    text = seed.check_network(0.5).explanation.text
    for equation in (
        "∂L/∂n_4 = ∂L/∂n_2 · g'(w_{2,4} n_4) w_{2,4} + ∂L/∂n_3 · g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,4}",
        "∂L/∂n_5 = ∂L/∂n_4 · g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,5}",
        "∂L/∂n_6 = ∂L/∂n_4 · g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,6}"
        " + ∂L/∂n_3 · g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,6}",
        "∂L/∂n_7 = ∂L/∂n_5 · g'(w_{5,7} n_7) w_{5,7} + ∂L/∂n_6 · g'(w_{6,7} n_7) w_{6,7}",
        "∂L/∂x = ∂L/∂n_7 · g'(w_{7,x} x) w_{7,x}",
    ):
        flat = " ".join(line.strip() for line in text.splitlines())
        lhs, rhs = equation.split(" = ", 1)
        assert f"{lhs} = " in flat and f"= {rhs}" in flat, equation


def test_network_check_catches_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    # A check that could not fail would prove nothing: corrupt the finite differences and watch it fail.
    real = seed._network_loss
    monkeypatch.setattr(seed, "_network_loss", lambda x, w, a: real(x, w, a) * 1.01)
    assert not seed.check_network(0.5).ok


def test_network_check_on_a_batch_with_every_weight() -> None:
    check = seed.check_network(np.linspace(-1, 1, 7), all_weights=True)
    assert check.ok
    assert {r.name for r in check.rows} == {"x"} | {f"w_{{{k}}}" for k in seed.WEIGHT_NAMES}


@pytest.mark.parametrize(
    ("part", "answer"),
    [
        ("a", "ijk, i -> jk"),
        ("b", "ijkl -> ik"),
        ("c", "ijkl -> ki"),
        ("d", "ijk, ijk -> i"),
        ("e", "de, fe, fl -> dl"),
    ],
)
def test_q5_the_seeds_einsum_answers(seed_set: ProblemSet, part: str, answer: str) -> None:
    q5 = seed_set.problem("q5")
    assert KINDS["einsum"].check(q5, q5.part(part), answer).status == "correct"
