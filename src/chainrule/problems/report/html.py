"""The HTML views: one self-contained file (no network, no JavaScript), math as MathML, figures as
inline SVG.

- :func:`solution_html` a solved set: per problem its statement, figures and parts (answer, worked
  steps, each independent check marked ✓ ok or ✗ FAILED);
- :func:`check_html` a gradebook: per submission a table of verdicts, then every wrong verdict with its
  counterexample and diagnosis (and the reasons of each undecided one); with ``solutions``, the worked
  solutions follow;
- :func:`verdict_html` one verdict (Jupyter shows verdicts with it).

``standalone=False`` gives a fragment for Jupyter: a ``<div class="chainrule-report">`` with its own
style, every rule scoped to that class. Statements are Markdown (raw HTML escaped); every other text is
escaped as it is.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator

from chainrule.problems.report import GENERATOR_MARK
from chainrule.problems.report.figures import figure_html
from chainrule.problems.report.mathml import escape, latex_to_mathml, markdown_to_html
from chainrule.problems.report.text import (
    MARKS,
    counterexample_lines,
    points_text,
    provenance_lines,
    value_text,
)
from chainrule.problems.results import (
    CheckLine,
    Gradebook,
    PartSolution,
    ProblemSolution,
    SetSolution,
    Step,
    Submission,
    Verdict,
)

__all__ = ["STYLE", "check_html", "solution_html", "verdict_html"]

_R = ".chainrule-report"
#: The report's style sheet, every rule scoped to ``.chainrule-report``.
STYLE = f"""
{_R} {{ font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: #1f2328; background: #fff; max-width: 62rem; margin: 0 auto; padding: 1rem 1.5rem; }}
{_R} h1 {{ font-size: 1.6rem; margin: .4rem 0; }}
{_R} h2 {{ font-size: 1.3rem; margin: .2rem 0; }}
{_R} h3 {{ font-size: 1.05rem; margin: .8rem 0 .3rem; }}
{_R} .meta {{ color: #57606a; margin: .2rem 0; }}
{_R} .badge {{ display: inline-block; padding: 0 .55em; border: 1px solid; border-radius: 1em;
  font-size: .85rem; font-weight: 600; white-space: nowrap; vertical-align: middle; }}
{_R} .badge.ok, {_R} .badge.correct {{ color: #116329; background: #dafbe1; }}
{_R} .badge.failed, {_R} .badge.wrong {{ color: #a40e26; background: #ffebe9; }}
{_R} .badge.undecided {{ color: #7d4e00; background: #fff8c5; }}
{_R} table {{ border-collapse: collapse; margin: .5rem 0; }}
{_R} th, {_R} td {{ border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left;
  vertical-align: top; }}
{_R} th {{ background: #f6f8fa; }}
{_R} code, {_R} pre {{ font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: .9em; background: #f6f8fa; border-radius: 4px; padding: 0 .25em; }}
{_R} pre {{ padding: .5rem; overflow-x: auto; }}
{_R} section.problem {{ border-top: 2px solid #d0d7de; margin-top: 1.8rem; padding-top: .6rem; }}
{_R} .problem > header, {_R} .submission > header {{ display: flex; flex-wrap: wrap;
  align-items: baseline; gap: .6rem; }}
{_R} section.submission {{ border-top: 2px solid #d0d7de; margin-top: 1.4rem; padding-top: .5rem; }}
{_R} section.solutions {{ border-top: 4px double #d0d7de; margin-top: 2.5rem; padding-top: .5rem; }}
{_R} .statement {{ margin: .4rem 0; }}
{_R} .statement p {{ margin: .4rem 0; }}
{_R} section.part {{ margin: .8rem 0 .8rem .3rem; padding-left: 1rem; border-left: 3px solid #2da44e; }}
{_R} section.part.failed {{ border-left-color: #cf222e; }}
{_R} .answer {{ background: #f6f8fa; border-radius: 6px; padding: .3rem .8rem; margin: .4rem 0;
  overflow-x: auto; }}
{_R} .statement, {_R} ol.steps li, {_R} .verdict {{ overflow-x: auto; }}
{_R} .answer .label {{ font-weight: 600; margin-right: .5rem; }}
{_R} .answer math[display="block"] {{ margin: .3rem 0; }}
{_R} ol.steps {{ margin: .3rem 0; padding-left: 1.6rem; }}
{_R} ol.steps li {{ margin: .2rem 0; }}
{_R} .step-note {{ color: #57606a; font-style: italic; margin-left: .8rem; }}
{_R} ul.checks {{ list-style: none; padding-left: 0; margin: .3rem 0; }}
{_R} ul.checks li {{ margin: .15rem 0; }}
{_R} .method {{ font-weight: 600; }}
{_R} figure.figure {{ margin: 1rem 0; text-align: center; }}
{_R} figure.figure svg {{ max-width: 100%; height: auto; }}
{_R} figcaption {{ color: #57606a; font-size: .9rem; margin-top: .3rem; }}
{_R} .figure-note {{ color: #57606a; font-style: italic; border: 1px dashed #d0d7de; padding: .6rem; }}
{_R} .figure-error {{ color: #a40e26; }}
{_R} .verdict {{ border: 1px solid #d0d7de; border-left: 5px solid #d0d7de; border-radius: 6px;
  padding: .4rem .9rem; margin: .7rem 0; }}
{_R} .verdict.correct {{ border-left-color: #2da44e; }}
{_R} .verdict.wrong {{ border-left-color: #cf222e; }}
{_R} .verdict.undecided {{ border-left-color: #bf8700; }}
{_R} .verdict > header {{ display: flex; flex-wrap: wrap; align-items: baseline; gap: .6rem; }}
{_R} .verdict .label {{ font-weight: 700; }}
{_R} .verdict table th {{ width: 11rem; }}
{_R} ul.diagnosis {{ margin: .3rem 0; }}
{_R} ol.verdict-steps {{ padding-left: 1.4rem; }}
{_R} tr.verdict-row.wrong td:first-child {{ border-left: 4px solid #cf222e; }}
{_R} tr.verdict-row.undecided td:first-child {{ border-left: 4px solid #bf8700; }}
{_R} tr.verdict-row.correct td:first-child {{ border-left: 4px solid #2da44e; }}
{_R} .math-error {{ color: #a40e26; }}
{_R} math {{ font-size: 1.1em; }}
{_R} math[display="block"] {{ margin: .4rem 0; }}
{_R} menclose[notation~="box"] {{ border: 1px solid currentColor; padding: 0 .2em; }}
{_R} .url {{ font-family: ui-monospace, monospace; font-size: .9em; }}
{_R} details.givens summary {{ cursor: pointer; color: #57606a; }}
{_R} nav.contents table {{ min-width: 60%; }}
{_R} a {{ color: #0969da; }}
@media print {{ {_R} {{ max-width: none; }} {_R} section.problem {{ break-inside: avoid-page; }} }}
""".strip()

# A figure's SVG ids must be unique in the page; fragments shown in one notebook each get their own.
_FRAGMENTS = itertools.count(1)


class _Ids:
    """Unique ids for the figures and anchors of one document."""

    def __init__(self, standalone: bool) -> None:
        self.prefix = "cr" if standalone else f"cr{next(_FRAGMENTS)}"
        self.figures = itertools.count(1)

    def figure(self) -> str:
        return f"{self.prefix}-fig{next(self.figures)}"

    def anchor(self, *parts: str) -> str:
        slug = "-".join(re.sub(r"[^A-Za-z0-9_-]+", "_", p) or "_" for p in parts)
        return f"{self.prefix}-{slug}"


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{escape(MARKS[status])}</span>'


def _ok_badge(ok: bool) -> str:
    return _badge("ok" if ok else "failed")


def _document(title: str, body: str, kind: str, standalone: bool) -> str:
    main = f'<main class="chainrule-report {kind}">\n{body}\n</main>'
    if not standalone:
        return (
            f'<div class="chainrule-report-fragment">\n<style>\n{STYLE}\n</style>\n{main}\n</div>'
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{GENERATOR_MARK}\n"
        f"<title>{escape(title)}</title>\n<style>\n{STYLE}\nbody {{ margin: 0; }}\n</style>\n"
        f"</head>\n<body>\n{main}\n</body>\n</html>\n"
    )


# --- solutions -------------------------------------------------------------------------------------


def _step_html(step: Step) -> str:
    # Inline, so the note can sit beside it, but as large as a displayed formula.
    body = latex_to_mathml(step.latex, displaystyle=True) if step.latex else escape(step.text)
    note = f' <span class="step-note">{escape(step.note)}</span>' if step.note else ""
    return f'<li class="step">{body}{note}</li>'


def _check_html(c: CheckLine) -> str:
    status = "ok" if c.ok else "failed"
    return (
        f'<li class="check {status}">{_badge(status)} <span class="method">{escape(c.method)}</span>'
        f" {escape(c.detail)}</li>"
    )


def _part_html(p: ProblemSolution, part: PartSolution, ids: _Ids) -> str:
    status = "ok" if part.ok else "failed"
    out = [f'<section class="part {status}" id="{ids.anchor(p.id, part.part)}">']
    if part.part:
        out.append(f"<h3>({escape(part.part)}) {_ok_badge(part.ok)}</h3>")
    if part.statement:
        out.append(f'<div class="statement">{markdown_to_html(part.statement)}</div>')
    if part.answer_latex:
        answer = latex_to_mathml(part.answer_latex, display=True)
    else:
        answer = f'<span class="answer-text">{escape(part.answer_text)}</span>'
    title = f' title="{escape(part.answer_text)}"' if part.answer_text else ""
    out.append(f'<div class="answer"{title}><span class="label">Answer</span>{answer}</div>')
    if part.steps:
        out.append('<ol class="steps">')
        out.extend(_step_html(s) for s in part.steps)
        out.append("</ol>")
    out.append('<ul class="checks">')
    if not part.checks:
        out.append(f'<li class="check failed">{_badge("failed")} no independent check</li>')
    out.extend(_check_html(c) for c in part.checks)
    out.append("</ul>")
    if part.model_check is not None:
        out.append('<div class="model-check"><p class="meta">The file\'s own model answer:</p>')
        out.append(_verdict_block(part.model_check, ids))
        out.append("</div>")
    out.append("</section>")
    return "\n".join(out)


def _problem_html(p: ProblemSolution, ids: _Ids) -> str:
    status = "ok" if p.ok else "failed"
    out = [
        f'<section class="problem {status}" id="{ids.anchor(p.id)}">',
        f'<header><h2><span class="problem-id">{escape(p.id)}</span> · {escape(p.title)}</h2>'
        f"{_ok_badge(p.ok)}"
        f'<span class="meta">{escape(p.kind)} · {points_text(p.points)} points</span></header>',
    ]
    if p.statement:
        out.append(f'<div class="statement">{markdown_to_html(p.statement)}</div>')
    if p.givens:
        givens = json.dumps(p.givens, indent=1, ensure_ascii=False, default=str)
        out.append(
            '<details class="givens"><summary>Givens</summary>'
            f"<pre>{escape(givens)}</pre></details>"
        )
    out.extend(figure_html(f, uid=ids.figure()) for f in p.figures)
    out.extend(_part_html(p, part, ids) for part in p.parts)
    out.append("</section>")
    return "\n".join(out)


def _solution_body(sol: SetSolution, ids: _Ids, level: int = 1) -> str:
    n_failed = sum(not part.ok for p in sol.problems for part in p.parts)
    n_parts = sum(len(p.parts) for p in sol.problems)
    meta = [f"source {escape(sol.source or '—')}", f"seed {sol.seed}"]
    if sol.variant:
        meta.append(f"variant {escape(sol.variant)}")
    overall = (
        f"{_ok_badge(True)} all {n_parts} parts verified"
        if sol.ok
        else f"{_ok_badge(False)} {n_failed} of {n_parts} parts not verified"
    )
    h = f"h{level}"
    out = [
        f'<header class="report-header"><{h}>{"Worked solutions · " if level > 1 else ""}'
        f"{escape(sol.title or 'Problem set')}</{h}>",
        f'<p class="meta">{" · ".join(meta)}</p>',
        f'<p class="overall">{overall}</p></header>',
    ]
    if sol.problems:
        out.append('<nav class="contents"><table class="problems">')
        out.append(
            "<thead><tr><th>Problem</th><th>Title</th><th>Points</th><th>Checks</th></tr></thead><tbody>"
        )
        for p in sol.problems:
            out.append(
                f'<tr class="{"ok" if p.ok else "failed"}">'
                f'<td><a href="#{ids.anchor(p.id)}">{escape(p.id)}</a></td>'
                f"<td>{escape(p.title)}</td><td>{points_text(p.points)}</td>"
                f"<td>{_ok_badge(p.ok)}</td></tr>"
            )
        out.append("</tbody></table></nav>")
    out.extend(_problem_html(p, ids) for p in sol.problems)
    return "\n".join(out)


def solution_html(sol: SetSolution | ProblemSolution, standalone: bool = True) -> str:
    """The worked-solution report of ``sol`` (a whole set, or one problem).

    ``standalone=True``: a complete HTML document; ``False``: a fragment with its own scoped style (what
    Jupyter shows).

    Raises:
        TypeError: ``sol`` is neither a SetSolution nor a ProblemSolution.
    """
    ids = _Ids(standalone)
    if isinstance(sol, ProblemSolution):
        return _document(sol.title, _problem_html(sol, ids), "solution-report", standalone)
    if not isinstance(sol, SetSolution):
        raise TypeError(f"solution_html needs a SetSolution, not {type(sol).__name__}")
    return _document(sol.title, _solution_body(sol, ids), "solution-report", standalone)


# --- verdicts --------------------------------------------------------------------------------------


def _facts_table(rows: list[tuple[str, str]], cls: str) -> str:
    cells = "".join(
        f'<tr class="{escape(re.sub(r"[^a-z]+", "-", name))}"><th>{escape(name)}</th>'
        f"<td><code>{escape(text)}</code></td></tr>"
        for name, text in rows
    )
    return f'<table class="{cls}"><tbody>{cells}</tbody></table>'


def _verdict_block(v: Verdict, ids: _Ids, anchor: str = "", label: str = "") -> str:
    id_attr = f' id="{anchor}"' if anchor else ""
    out = [
        f'<div class="verdict {v.status}"{id_attr}>',
        f'<header><span class="label">{escape(label or v.label)}</span>{_badge(v.status)}',
    ]
    if v.max_points or v.points:
        out.append(f'<span class="points">{points_text(v.points, v.max_points)} points</span>')
    out.append(f'<span class="summary">{escape(v.summary)}</span></header>')
    if v.answer is not None:
        out.append(
            f'<p class="claimed">Answer given: <code>{escape(value_text(v.answer))}</code></p>'
        )
    ce = counterexample_lines(v)
    if ce:
        out.append('<p class="meta">Counterexample:</p>')
        out.append(_facts_table(ce, "counterexample"))
    if v.diagnosis:
        out.append('<p class="meta">Diagnosis:</p><ul class="diagnosis">')
        out.extend(f"<li>{escape(d)}</li>" for d in v.diagnosis)
        out.append("</ul>")
    prov = provenance_lines(v)
    if prov:
        out.append(
            '<p class="provenance meta">'
            + " · ".join(f"{escape(k)} <code>{escape(t)}</code>" for k, t in prov)
            + "</p>"
        )
    if v.steps:
        out.append('<ol class="verdict-steps">')
        out.extend(
            f"<li>{_verdict_block(s, ids, label=f'step {k}')}</li>"
            for k, s in enumerate(v.steps, 1)
        )
        out.append("</ol>")
    out.append("</div>")
    return "\n".join(out)


def verdict_html(v: Verdict) -> str:
    """One verdict as an HTML fragment with its own scoped style (what Jupyter shows): its mark, points
    and summary, the claimed answer, the counterexample (point, expected, got, difference, first
    differing index), the diagnosis, method and seed, and the verdict of each step.

    Raises:
        TypeError: ``v`` is not a Verdict.
    """
    if not isinstance(v, Verdict):
        raise TypeError(f"verdict_html needs a Verdict, not {type(v).__name__}")
    return _document(v.label, _verdict_block(v, _Ids(False)), "verdict-report", False)


def _submission_html(s: Submission, k: int, ids: _Ids) -> str:
    counts = " · ".join(
        f'<span class="count {st}">{s.count(st)} {st}</span>'
        for st in ("correct", "wrong", "undecided")
    )
    out = [
        f'<section class="submission" id="{ids.anchor("sub", str(k))}">',
        f"<header><h2>{escape(s.student or '(unnamed)')}</h2>"
        f'<span class="score">{points_text(s.points, s.max_points)} points</span>'
        f"{_badge('correct') if s.all_correct else ''}</header>",
        f'<p class="meta">{escape(s.source)} · {counts}</p>',
        '<table class="verdicts"><thead><tr><th>Part</th><th>Verdict</th><th>Points</th>'
        "<th>Summary</th></tr></thead><tbody>",
    ]
    anchors = [ids.anchor("v", str(k), str(i)) for i in range(len(s.verdicts))]
    for v, a in zip(s.verdicts, anchors, strict=True):
        label = escape(v.label)
        if v.flagged:
            label = f'<a href="#{a}">{label}</a>'
        out.append(
            f'<tr class="verdict-row {v.status}"><td>{label}</td><td>{_badge(v.status)}</td>'
            f"<td>{points_text(v.points, v.max_points)}</td><td>{escape(v.summary)}</td></tr>"
        )
    out.append("</tbody></table>")
    details = [(v, a) for v, a in zip(s.verdicts, anchors, strict=True) if v.flagged]
    if details:
        out.append('<div class="verdict-details">')
        out.extend(_verdict_block(v, ids, a) for v, a in details)
        out.append("</div>")
    out.append("</section>")
    return "\n".join(out)


def _check_body(gradebook: Gradebook, ids: _Ids, solutions: SetSolution | None) -> Iterator[str]:
    subs = gradebook.submissions
    if gradebook.title or gradebook.source:
        yield f'<header class="report-header"><h1>Check · {escape(gradebook.title or "answers")}</h1>'
        n_correct = sum(s.all_correct for s in subs)
        yield (
            f'<p class="meta">source {escape(gradebook.source or "—")} · {len(subs)} submission'
            f"{'' if len(subs) == 1 else 's'} · {n_correct} all correct</p></header>"
        )
    for k, s in enumerate(subs):
        yield _submission_html(s, k, ids)
    if not subs:
        yield '<p class="meta">No submissions.</p>'
    if solutions is not None:
        yield '<section class="solutions">'
        yield _solution_body(solutions, ids, level=2)
        yield "</section>"


def check_html(
    gradebook: Gradebook, standalone: bool = True, solutions: SetSolution | None = None
) -> str:
    """The check report: per submission its score, a table of verdicts (one row per part), then each
    wrong verdict with its counterexample and diagnosis and each undecided one with its reasons; with
    ``solutions``, the worked solutions follow.

    Raises:
        TypeError: ``gradebook`` is not a Gradebook (or ``solutions`` not a SetSolution).
    """
    if not isinstance(gradebook, Gradebook):
        raise TypeError(f"check_html needs a Gradebook, not {type(gradebook).__name__}")
    if solutions is not None and not isinstance(solutions, SetSolution):
        raise TypeError(f"solutions must be a SetSolution, not {type(solutions).__name__}")
    ids = _Ids(standalone)
    body = "\n".join(_check_body(gradebook, ids, solutions))
    title = f"Check · {gradebook.title}" if gradebook.title else "Check"
    return _document(title, body, "check-report", standalone)
