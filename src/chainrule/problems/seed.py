"""The seed problem set (``shared/seeds/000_b0c38493fd779bb9.txt``): solve each question and check it.

Each question is answered by the library's own engines, and each answer is checked independently
(exact arithmetic, finite differences or a loop evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction


@dataclass
class Answer:
    """One solved question: its title, the worked text, and whether its check passed."""

    question: str
    text: str
    ok: bool


@dataclass
class SeedReport:
    """The answers to the seed set, in order; ``text`` is the printable report."""

    answers: list[Answer] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.answers)

    @property
    def text(self) -> str:
        parts = []
        for a in self.answers:
            mark = "ok" if a.ok else "FAILED"
            parts.append(f"== {a.question} [{mark}]\n{a.text}")
        return "\n\n".join(parts)


def _q1() -> Answer:
    x_pos = [Fraction(v) for v in (-5, 1, 3)]
    x_neg = [Fraction(v) for v in (2, 2, -3)]
    normal = [p - q for p, q in zip(x_pos, x_neg, strict=True)]
    mid = [(p + q) / 2 for p, q in zip(x_pos, x_neg, strict=True)]
    offset = -sum((n * m for n, m in zip(normal, mid, strict=True)), Fraction(0))
    f = lambda x: sum((n * v for n, v in zip(normal, x, strict=True)), offset)  # noqa: E731
    ok = f(x_pos) > 0 > f(x_neg) and f(mid) == 0
    coef = " ".join(str(n) for n in normal)
    sign = "−" if offset < 0 else "+"
    text = f"f(x) = [{coef}]·x {sign} {abs(offset)}"
    return Answer("Q1 separating hyperplane (bisector)", text, ok)


def seed_report() -> SeedReport:
    """Solve and check every seed question that the library can answer."""
    return SeedReport([_q1()])
