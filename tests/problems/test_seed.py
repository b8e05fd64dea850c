"""The seed problem set: every answer is solved by the engines and passes its own check."""

import numpy as np
import pytest

from chainrule.problems import seed


@pytest.fixture(scope="module")
def report() -> seed.SeedReport:
    return seed.seed_report()


def test_every_seed_answer_checks_out(report: seed.SeedReport) -> None:
    assert [a.question[:2] for a in report.answers] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert report.ok, [a.question for a in report.answers if not a.ok]
    assert report.text.endswith("5 questions, all checks passed.")


def test_q1_prints_the_seed_hyperplane(report: seed.SeedReport) -> None:
    assert "f(x) = [-7 -1 6]·x − 9" in report.answers[0].text


def test_q2_checks_the_seed_weights_constraint_by_constraint(report: seed.SeedReport) -> None:
    text = report.answers[1].text
    assert "with w0 = 0, w1 = -1, w2 = 0:" in text
    assert (
        text.count("holds") >= 8
    )  # four constraints for the seed's weights, four for the solved ones


def test_q4_derivation_has_the_seed_equations(report: seed.SeedReport) -> None:
    text = report.answers[3].text
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


def test_q5_statements_match_the_seed(report: seed.SeedReport) -> None:
    text = report.answers[4].text
    assert text.count("equivalent: True") == 5
