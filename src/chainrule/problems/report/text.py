"""The terminal views: :func:`solution_summary` (each problem and part, its answer and its checks) and
:func:`verdict_table` (one row per graded part, with the counterexample under each wrong one).

Plain text with no colour codes; the value formatting here (:func:`value_text`, :func:`points_text`,
:func:`counterexample_lines`) is shared by the Markdown and HTML views, so every view says the same.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.problems.results import Gradebook, PartSolution, SetSolution, Submission, Verdict

__all__ = [
    "MARKS",
    "counterexample_lines",
    "point_text",
    "points_text",
    "provenance_lines",
    "solution_summary",
    "value_text",
    "verdict_table",
]

#: How each verdict and check outcome is marked, in every view.
MARKS = {
    "correct": "✓ correct",
    "wrong": "✗ wrong",
    "undecided": "? undecided",
    "ok": "✓ ok",
    "failed": "✗ FAILED",
}
#: Items of a list shown before "… (N more)".
_MAX_ITEMS = 12


def value_text(value: Any, *, limit: int = _MAX_ITEMS) -> str:
    """A value as one line: numbers at full precision (shortest round-trip), lists as ``[a, b]``
    (long ones cut after ``limit`` items, saying how many more), dicts as ``{k: v}``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        items = [value_text(v, limit=limit) for v in value[:limit]]
        if len(value) > limit:
            items.append(f"… ({len(value) - limit} more)")
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(v, limit=limit)}" for k, v in value.items()) + "}"
    return str(value)


def point_text(point: dict[str, Any]) -> str:
    """``a = 0.75, x = [1, 0]``: where a counterexample was found."""
    return ", ".join(f"{k} = {value_text(v)}" for k, v in point.items()) or "—"


def points_text(points: float, max_points: float | None = None) -> str:
    """``1.5`` or ``1.5/2`` (whole numbers without a decimal point)."""

    def one(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else format(x, "g")

    return one(points) if max_points is None else f"{one(points)}/{one(max_points)}"


def counterexample_lines(v: Verdict) -> list[tuple[str, str]]:
    """The counterexample of a verdict as ``(name, text)`` pairs, in the order every view shows them:
    point, expected, got, difference, first differing index (empty without a counterexample)."""
    ce = v.counterexample
    if ce is None:
        return []
    rows = [
        ("at", point_text(ce.point)),
        ("expected", value_text(ce.expected)),
        ("got", value_text(ce.got)),
    ]
    if ce.difference is not None:
        rows.append(("difference", value_text(ce.difference)))
    if ce.index is not None:
        rows.append(("first differing index", value_text(list(ce.index))))
    return rows


def provenance_lines(v: Verdict) -> list[tuple[str, str]]:
    """How a verdict was reached, as ``(name, text)`` pairs: its method and its seed, where given."""
    rows: list[tuple[str, str]] = []
    if v.method:
        rows.append(("method", v.method))
    if v.seed is not None:
        rows.append(("seed", str(v.seed)))
    return rows


def _one_line(text: str, width: int = 0) -> str:
    line = " ".join(str(text).split())
    if width and len(line) > width:
        return line[: width - 1] + "…"
    return line


def _part_label(problem_id: str, part: PartSolution) -> str:
    return f"{problem_id}.{part.part}" if part.part else problem_id


def solution_summary(sol: SetSolution) -> str:
    """The terminal summary of a solved set: per problem and part, the answer and each check marked
    ``ok`` or ``FAILED``, then a closing line saying which parts failed."""
    head = f"{sol.title or 'Problem set'}  ({sol.source or 'no source'}, seed {sol.seed}"
    head += f", variant {sol.variant})" if sol.variant else ")"
    lines = [head]
    failed: list[str] = []
    n_parts = 0
    for p in sol.problems:
        status = "ok" if p.ok else "FAILED"
        lines.append(
            f"{p.id}  {_one_line(p.title)}  [{p.kind}, {points_text(p.points)} pt]  {status}"
        )
        for part in p.parts:
            n_parts += 1
            label = _part_label(p.id, part)
            if not part.ok:
                failed.append(label)
            answer = part.answer_text.splitlines() or ["—"]
            lines.append(f"  {label}  {'ok' if part.ok else 'FAILED'}  answer: {answer[0]}")
            lines.extend(f"  {' ' * len(label)}            {more}" for more in answer[1:])
            if not part.checks:
                lines.append("      FAILED  no independent check")
            for c in part.checks:
                mark = "ok    " if c.ok else "FAILED"
                lines.append(f"      {mark}  {c.method}: {_one_line(c.detail)}")
            if part.model_check is not None:
                mc = part.model_check
                mark = "ok    " if mc.status == "correct" else "FAILED"
                lines.append(
                    f"      {mark}  the file's model answer: {mc.status}: {_one_line(mc.summary)}"
                )
    if failed:
        lines.append(f"{len(failed)} of {n_parts} parts FAILED: {', '.join(failed)}")
    elif sol.problems:
        lines.append(f"all {n_parts} parts of {len(sol.problems)} problems ok")
    else:
        lines.append("no problems")
    return "\n".join(lines) + "\n"


def _submission_head(s: Submission) -> str:
    counts = ", ".join(f"{s.count(k)} {k}" for k in ("correct", "wrong", "undecided"))
    return f"{s.student}  ({s.source})  {points_text(s.points, s.max_points)} points; {counts}"


def verdict_table(gradebook: Gradebook) -> str:
    """The terminal view of a check: per submission one row per part (label, verdict, points, the
    one-line summary) with the counterexample, diagnosis, method and seed under each wrong row (and the
    reasons under each undecided one)."""
    lines: list[str] = []
    if gradebook.title or gradebook.source:
        lines.append(f"{gradebook.title or 'Check'}  ({gradebook.source or 'no source'})")
    for s in gradebook.submissions:
        lines.append(_submission_head(s))
        labels = [v.label for v in s.verdicts]
        lw = max([len("part"), *map(len, labels)])
        vw = max(len(MARKS[k]) for k in ("correct", "wrong", "undecided"))
        pts = [points_text(v.points, v.max_points) for v in s.verdicts]
        pw = max([len("points"), *map(len, pts)])
        lines.append(f"  {'part':<{lw}}  {'verdict':<{vw}}  {'points':<{pw}}  summary")
        for v, p in zip(s.verdicts, pts, strict=True):
            lines.append(
                f"  {v.label:<{lw}}  {MARKS[v.status]:<{vw}}  {p:<{pw}}  {_one_line(v.summary, 100)}"
            )
            if v.flagged:
                pad = " " * (lw + 4)
                for name, text in counterexample_lines(v):
                    lines.append(f"{pad}{name}: {text}")
                for d in v.diagnosis:
                    lines.append(f"{pad}- {_one_line(d)}")
                for name, text in provenance_lines(v):
                    lines.append(f"{pad}{name}: {text}")
                for k, step in enumerate(v.steps):
                    if step.status != "correct":
                        lines.append(f"{pad}step {k + 1}: {step.status}: {_one_line(step.summary)}")
    if not gradebook.submissions:
        lines.append("no submissions")
    return "\n".join(lines) + "\n"
