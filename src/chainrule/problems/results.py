"""The result objects of ``solve`` and ``check``: every report (terminal, HTML, Markdown, JSON, Jupyter) is a
view of these, and nothing here draws or formats a page.

- :class:`Step` a worked line (plain text and LaTeX), :class:`CheckLine` one independent verification,
  :class:`Figure` a figure as data (the report draws it);
- :class:`PartSolution` / :class:`ProblemSolution` / :class:`SetSolution` what ``solve`` returns;
- :class:`Counterexample`, :class:`Verdict` / :class:`Submission` / :class:`Gradebook` what ``check`` returns.

Every value held here is JSON-able (numbers, strings, lists, dicts), so ``to_dict`` is a plain copy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "STATUSES",
    "CheckLine",
    "Counterexample",
    "Figure",
    "Gradebook",
    "PartSolution",
    "ProblemSolution",
    "SetSolution",
    "Status",
    "Step",
    "Submission",
    "Verdict",
    "jsonable",
]

Status = Literal["correct", "wrong", "undecided"]
#: The three verdicts. ``undecided`` is never scored as wrong: it is flagged for the instructor.
STATUSES: tuple[Status, ...] = ("correct", "wrong", "undecided")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: NumPy scalars and arrays become numbers and lists, Fractions become
    ``"p/q"`` strings (ints when whole), non-finite floats the strings ``"inf"``, ``"-inf"``, ``"nan"``."""
    from fractions import Fraction

    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f):
            return f
        return "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")
    if value is None or isinstance(value, str):
        return value
    return str(value)


@dataclass
class Step:
    """One line of a worked solution: ``text`` (plain Unicode) and, where it is math, ``latex``.

    ``note`` is a short comment in words shown beside the line ("the midpoint", "chain rule").
    """

    text: str
    latex: str = ""
    note: str = ""


@dataclass
class CheckLine:
    """One independent verification of an answer: how it was checked, what was found, whether it held.

    ``method`` is one of ``exact``, ``autodiff``, ``finite differences``, ``loops``, ``numeric``,
    ``symbolic``, ``certificate``, ``constraints``.
    """

    method: str
    detail: str
    ok: bool


@dataclass
class Figure:
    """A figure as data; the report draws it (``chainrule.problems.report.figures``).

    Attributes:
        kind: ``hyperplane`` (``points``, ``labels``, ``w``, ``b``, optional ``margin``),
            ``threshold_unit`` (``points``, ``labels``, ``w``, ``w0``, ``bias_sign``, ``strict``),
            ``identity`` (``x`` and named curves ``curves: {label: [y...]}``),
            ``dag`` (``nodes``, ``edges``, ``values``, ``grads``), ``einsum_path`` (``subscripts``,
            ``shapes``, ``steps``: a list of ``{"operands", "result", "flops"}``).
        caption: one sentence under the figure.
        data: the kind's fields, JSON-able.
    """

    kind: str
    caption: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class PartSolution:
    """A solved part (a problem without parts has one, with ``part == ""``).

    Attributes:
        part: the part id, or ``""``.
        statement: the part's statement (Markdown with ``$…$`` math), or ``""``.
        answer: the answer as data (what an answers file would hold for this part).
        answer_text: the answer in plain text; ``answer_latex`` in LaTeX.
        steps: the worked solution.
        checks: the independent verifications; the part is ``ok`` when there is one and all hold.
        model_check: the verdict of the file's own model answer, when it gives one (the self-test).
    """

    part: str
    statement: str
    answer: Any
    answer_text: str
    answer_latex: str = ""
    steps: list[Step] = field(default_factory=list)
    checks: list[CheckLine] = field(default_factory=list)
    model_check: Verdict | None = None

    @property
    def ok(self) -> bool:
        model_ok = self.model_check is None or self.model_check.status == "correct"
        return bool(self.checks) and all(c.ok for c in self.checks) and model_ok


@dataclass
class ProblemSolution:
    """A solved problem: its parts, figures and where it came from."""

    id: str
    kind: str
    title: str
    statement: str
    points: float
    parts: list[PartSolution] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    givens: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.parts) and all(p.ok for p in self.parts)


@dataclass
class SetSolution:
    """A solved problem set: what ``chainrule solve`` returns and every report shows."""

    title: str
    source: str
    seed: int
    problems: list[ProblemSolution] = field(default_factory=list)
    variant: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.problems) and all(p.ok for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        """The solution as JSON data (``ok`` included at every level)."""
        out = jsonable(asdict(self))
        out["ok"] = self.ok
        for p_dict, p in zip(out["problems"], self.problems, strict=True):
            p_dict["ok"] = p.ok
            for part_dict, part in zip(p_dict["parts"], p.parts, strict=True):
                part_dict["ok"] = part.ok
        return out

    def _repr_html_(self) -> str:
        from chainrule.problems.report.html import solution_html

        return solution_html(self, standalone=False)


@dataclass
class Counterexample:
    """Where an answer fails: the point, the expected and the given values, and their difference.

    ``point`` maps each variable to its value there; for a property kind it names the failing data point
    (``{"x": [1, 0], "label": 0}``). ``index`` is the first differing index of a tensor answer.
    """

    point: dict[str, Any]
    expected: Any
    got: Any
    difference: Any = None
    index: list[int] | None = None


@dataclass
class Verdict:
    """The grade of one part of one claimed answer.

    Attributes:
        problem, part: where it belongs (``part`` is ``""`` for a problem without parts).
        status: ``correct``, ``wrong`` or ``undecided``.
        summary: one line ("sign flipped: −1 × the expected answer").
        diagnosis: the reasons, one per line, most specific first.
        counterexample: required when ``status == "wrong"``.
        method: how it was decided ("numeric: 12 points, rtol 1e-09, atol 1e-12", "exact", ...).
        seed: the seed of the points drawn, where points were drawn.
        points, max_points: the score of this part and what it could have been.
        answer: the claimed answer as given.
        steps: for a derivation given as steps, one verdict per consecutive equality.

    Raises:
        ValueError: a ``wrong`` verdict without a counterexample, or an unknown status.
    """

    problem: str
    part: str
    status: Status
    summary: str
    diagnosis: list[str] = field(default_factory=list)
    counterexample: Counterexample | None = None
    method: str = ""
    seed: int | None = None
    points: float = 0.0
    max_points: float = 0.0
    answer: Any = None
    steps: list[Verdict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown verdict {self.status!r}; verdicts are {', '.join(STATUSES)}")
        if self.status == "wrong" and self.counterexample is None:
            raise ValueError(f"{self.label}: a wrong verdict needs a counterexample")

    @property
    def flagged(self) -> bool:
        """True when the verdict needs a look: not correct, or a derivation step refuted."""
        return self.status != "correct" or any(s.status != "correct" for s in self.steps)

    @property
    def label(self) -> str:
        """``q3.c`` (or ``q1`` for a problem without parts)."""
        return f"{self.problem}.{self.part}" if self.part else self.problem

    def to_dict(self) -> dict[str, Any]:
        out = jsonable(asdict(self))
        out["label"] = self.label
        out["points"] = round(self.points, 9)
        return out

    def _repr_html_(self) -> str:
        from chainrule.problems.report.html import verdict_html

        return verdict_html(self)


@dataclass
class Submission:
    """One student's graded answers: a verdict per part of the set, in the set's order."""

    student: str
    source: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def points(self) -> float:
        return round(float(sum(v.points for v in self.verdicts)), 9)

    @property
    def max_points(self) -> float:
        return float(sum(v.max_points for v in self.verdicts))

    @property
    def all_correct(self) -> bool:
        """Every part correct and no derivation step refuted."""
        return bool(self.verdicts) and not any(v.flagged for v in self.verdicts)

    def count(self, status: Status) -> int:
        return sum(v.status == status for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "source": self.source,
            "points": self.points,
            "max_points": self.max_points,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }

    def _repr_html_(self) -> str:
        from chainrule.problems.report.html import check_html

        return check_html(Gradebook("", "", [self]), standalone=False)


@dataclass
class Gradebook:
    """Every submission graded against one set."""

    title: str
    source: str
    submissions: list[Submission] = field(default_factory=list)

    @property
    def all_correct(self) -> bool:
        return bool(self.submissions) and all(s.all_correct for s in self.submissions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "source": self.source,
            "submissions": [s.to_dict() for s in self.submissions],
        }
