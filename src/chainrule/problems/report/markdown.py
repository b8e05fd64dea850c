"""The Markdown views, with ``$…$`` and ``$$…$$`` math: :func:`solution_markdown` and
:func:`check_markdown`. Figures cannot be drawn in Markdown: each is named with its caption (the HTML
report draws them). Statements are Markdown already and go in as written, their raw HTML made text as
in the HTML report; every other text is escaped.
"""

from __future__ import annotations

import re

from chainrule.problems.report.mathml import split_lines, split_math
from chainrule.problems.report.text import (
    MARKS,
    counterexample_lines,
    points_text,
    provenance_lines,
    value_text,
)
from chainrule.problems.results import (
    Gradebook,
    PartSolution,
    ProblemSolution,
    SetSolution,
    Submission,
    Verdict,
)

__all__ = ["check_markdown", "solution_markdown"]

_SPECIAL = re.compile(r"([\\`*\[<|$~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|&(?=#?\w+;)")
_LINE_START = re.compile(r"^([>#+=-]|\d+[.)])")


def _text(s: str) -> str:
    """Plain text made inert in Markdown (one line), escaping only what could take effect: emphasis,
    code, links, HTML, tables, math, entities, and a block marker at the start of the line."""
    line = " ".join(str(s).split())
    line = _SPECIAL.sub(lambda m: "\\" + m.group(0), line)
    # Only punctuation can be escaped: "1." becomes "1\\.", "#" becomes "\\#".
    return _LINE_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], line)


_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1", flags=re.DOTALL)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


def _statement(text: str) -> str:
    """A statement as written, but with its raw HTML made text (``<b>`` → ``\\<b>``), as the HTML
    report shows it; math spans and code spans are left alone."""
    protected, spans = split_math(text.strip())
    out: list[str] = []
    last = 0
    for m in _CODE_SPAN.finditer(protected):
        out.append(re.sub(r"<(?=[A-Za-z/!?])", r"\\<", protected[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(re.sub(r"<(?=[A-Za-z/!?])", r"\\<", protected[last:]))

    def math(m: re.Match[str]) -> str:
        latex, display = spans[int(m.group(1))]
        return f"$${latex}$$" if display else f"${latex}$"

    return _PLACEHOLDER.sub(math, "".join(out))


def _code(s: str) -> str:
    """An inline code span holding ``s`` whatever backticks it contains."""
    s = " ".join(str(s).split())
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _math(latex: str, display: bool = False) -> str:
    """``$…$`` (or ``$$…$$``); several lines are gathered, since a bare ``\\\\`` breaks no line in
    most Markdown math renderers."""
    lines = split_lines(latex)
    body = lines[0] if len(lines) == 1 else latex.strip()
    if len(lines) > 1:
        body = "\\begin{gathered}" + " \\\\ ".join(lines) + "\\end{gathered}"
    return f"$${body}$$" if display else f"${body}$"


def _ok(ok: bool) -> str:
    return MARKS["ok"] if ok else f"**{MARKS['failed']}**"


def _part_markdown(part: PartSolution, level: int) -> list[str]:
    out: list[str] = []
    if part.part:
        out += [f"{'#' * level} ({_text(part.part)}) {_ok(part.ok)}", ""]
    if part.statement:
        out += [_statement(part.statement), ""]
    if part.answer_latex:
        out += ["**Answer:**", "", _math(part.answer_latex, display=True), ""]
    else:
        out += [f"**Answer:** {_code(part.answer_text)}", ""]
    for k, step in enumerate(part.steps, 1):
        body = _math(step.latex) if step.latex else _text(step.text)
        note = f" — *{_text(step.note)}*" if step.note else ""
        out.append(f"{k}. {body}{note}")
    if part.steps:
        out.append("")
    if not part.checks:
        out.append(f"- **{MARKS['failed']}** no independent check")
    for c in part.checks:
        out.append(f"- {_ok(c.ok)} **{_text(c.method)}**: {_text(c.detail)}")
    if part.model_check is not None:
        mc = part.model_check
        out.append(f"- The file's model answer: {_verdict_mark(mc)}: {_text(mc.summary)}")
    out.append("")
    return out


def _problem_markdown(p: ProblemSolution, level: int) -> list[str]:
    out = [
        f"{'#' * level} {_text(p.id)} · {_text(p.title)} — {_ok(p.ok)}",
        "",
        f"*{_text(p.kind)}, {points_text(p.points)} points*",
        "",
    ]
    if p.statement:
        out += [_statement(p.statement), ""]
    for f in p.figures:
        out += [
            f"> **Figure ({_text(f.kind)}).** {_text(f.caption)} *(drawn in the HTML report)*",
            "",
        ]
    for part in p.parts:
        out += _part_markdown(part, level + 1)
    return out


def _solution_lines(sol: SetSolution, level: int = 1) -> list[str]:
    n_parts = sum(len(p.parts) for p in sol.problems)
    n_failed = sum(not part.ok for p in sol.problems for part in p.parts)
    meta = [f"source {_code(sol.source or '—')}", f"seed {sol.seed}"]
    if sol.variant:
        meta.append(f"variant {_code(sol.variant)}")
    overall = (
        f"{MARKS['ok']}: all {n_parts} parts verified"
        if sol.ok
        else f"**{MARKS['failed']}**: {n_failed} of {n_parts} parts not verified"
    )
    title = ("Worked solutions · " if level > 1 else "") + _text(sol.title or "Problem set")
    out = [
        f"{'#' * level} {title}",
        "",
        " · ".join(meta),
        "",
        overall,
        "",
    ]
    if sol.problems:
        out += ["| Problem | Title | Points | Checks |", "|---|---|---|---|"]
        for p in sol.problems:
            out.append(
                f"| {_text(p.id)} | {_text(p.title)} | {points_text(p.points)} | {_ok(p.ok)} |"
            )
        out.append("")
    for p in sol.problems:
        out += _problem_markdown(p, level + 1)
    return out


def solution_markdown(sol: SetSolution) -> str:
    """The worked-solution report of ``sol`` as Markdown with ``$…$`` math.

    Raises:
        TypeError: ``sol`` is not a SetSolution.
    """
    if not isinstance(sol, SetSolution):
        raise TypeError(f"solution_markdown needs a SetSolution, not {type(sol).__name__}")
    return "\n".join(_solution_lines(sol)).rstrip() + "\n"


def _verdict_mark(v: Verdict) -> str:
    return MARKS[v.status] if v.status == "correct" else f"**{MARKS[v.status]}**"


def _verdict_markdown(v: Verdict, heading: str = "###") -> list[str]:
    out = [
        f"{heading} {_text(v.label)} — {_verdict_mark(v)} ({points_text(v.points, v.max_points)})",
        "",
        _text(v.summary),
        "",
    ]
    if v.answer is not None:
        out += [f"Answer given: {_code(value_text(v.answer))}", ""]
    ce = counterexample_lines(v)
    if ce:
        out += ["Counterexample:", ""]
        out += [f"- {name}: {_code(text)}" for name, text in ce]
        out.append("")
    if v.diagnosis:
        out += ["Diagnosis:", ""]
        out += [f"- {_text(d)}" for d in v.diagnosis]
        out.append("")
    prov = provenance_lines(v)
    if prov:
        out += [" · ".join(f"{name} {_code(text)}" for name, text in prov), ""]
    for k, step in enumerate(v.steps, 1):
        line = f"{k}. step {k}: {_verdict_mark(step)}: {_text(step.summary)}"
        if step.counterexample is not None:
            line += " (" + "; ".join(f"{n} {_code(t)}" for n, t in counterexample_lines(step)) + ")"
        out.append(line)
    if v.steps:
        out.append("")
    return out


def _submission_markdown(s: Submission) -> list[str]:
    counts = ", ".join(f"{s.count(k)} {k}" for k in ("correct", "wrong", "undecided"))
    out = [
        f"## {_text(s.student or '(unnamed)')} — {points_text(s.points, s.max_points)} points",
        "",
        f"{_code(s.source)} · {counts}",
        "",
        "| Part | Verdict | Points | Summary |",
        "|---|---|---|---|",
    ]
    for v in s.verdicts:
        out.append(
            f"| {_text(v.label)} | {_verdict_mark(v)} | {points_text(v.points, v.max_points)} "
            f"| {_text(v.summary)} |"
        )
    out.append("")
    for v in s.verdicts:
        if v.flagged:
            out += _verdict_markdown(v)
    return out


def check_markdown(gradebook: Gradebook, solutions: SetSolution | None = None) -> str:
    """The check report as Markdown: per submission a verdict table, then every wrong verdict with its
    counterexample and diagnosis (and every undecided one with its reasons); with ``solutions``, the
    worked solutions follow.

    Raises:
        TypeError: ``gradebook`` is not a Gradebook (or ``solutions`` not a SetSolution).
    """
    if not isinstance(gradebook, Gradebook):
        raise TypeError(f"check_markdown needs a Gradebook, not {type(gradebook).__name__}")
    if solutions is not None and not isinstance(solutions, SetSolution):
        raise TypeError(f"solutions must be a SetSolution, not {type(solutions).__name__}")
    out = [f"# Check · {_text(gradebook.title or 'answers')}", ""]
    if gradebook.source:
        out += [f"source {_code(gradebook.source)}", ""]
    for s in gradebook.submissions:
        out += _submission_markdown(s)
    if not gradebook.submissions:
        out += ["No submissions.", ""]
    if solutions is not None:
        out += ["---", ""]
        out += _solution_lines(solutions, level=2)
    return "\n".join(out).rstrip() + "\n"
