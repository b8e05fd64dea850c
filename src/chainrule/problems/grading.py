"""Grade claimed answers: an answers file (TOML keyed by problem and part), or a directory of them.

An answers file::

    q1 = { w = [7, 1, -6], b = 9 }              # a problem without parts: its answer
    [q3]
    c = { answer = "sum(x[i]*(h(x[i]) - y[i]), i)", steps = ["...", "..."] }
    [q4]                                        # backprop without parts: keyed by what is asked
    "dL/dn4" = "..."

Every part of the set gets a verdict. A part with no answer is ``wrong`` (nothing to credit), with the
expected answer as its counterexample; an answer that cannot be read (a syntax error, an undeclared
symbol) is ``undecided`` with the format error and its caret, never ``wrong``.
A directory is graded file by file (``*.toml``, the student id is the file's stem) into a gradebook;
:func:`grade_submission` is one file's share of that work (what a Dask task runs in
:mod:`chainrule.problems.scale`), and :func:`unreadable` the row of a file that cannot be read.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from chainrule.problems.errors import FormatError
from chainrule.problems.kinds import KINDS
from chainrule.problems.results import Counterexample, Gradebook, Submission, Verdict
from chainrule.problems.schema import ProblemSet, parse_toml, read_toml

__all__ = [
    "MAX_SUBMISSIONS",
    "answers_files",
    "grade",
    "grade_directory",
    "grade_file",
    "grade_submission",
    "gradebook_csv",
    "gradebook_json",
    "load_answers",
    "unreadable",
]

#: The most submissions one directory may hold.
MAX_SUBMISSIONS = 10_000


def load_answers(path: str | Path, pset: ProblemSet, text: str | None = None) -> dict[str, Any]:
    """Read an answers file: problem id → answer (or part id → answer).

    ``text`` is the file's text when it was read already (by ``read_toml_text``, on another machine);
    ``path`` then only names the file in messages.

    Raises:
        FormatError: not TOML, or a key that names no problem or part of the set (file and line named).
    """
    if text is None:
        data, text = read_toml(path)
    else:
        data = parse_toml(text, str(path))
    lines = text.splitlines()

    def line_of(key: str) -> int | None:
        for i, ln in enumerate(lines):
            s = ln.strip()
            if s.startswith((f"{key} ", f"{key}=", f"[{key}]", f'"{key}"', f"[{key}.")):
                return i + 1
        return None

    for pid, value in data.items():
        try:
            problem = pset.problem(pid)
        except KeyError as exc:
            raise FormatError(exc.args[0], file=str(path), line=line_of(pid)) from None
        if problem.has_parts:
            if not isinstance(value, dict):
                raise FormatError(
                    f"problem {pid} has parts ({', '.join(p.id for p in problem.parts)}): "
                    f"answer them as [{pid}] with one key per part",
                    file=str(path),
                    line=line_of(pid),
                    problem=pid,
                )
            for part_id in value:
                try:
                    problem.part(part_id)
                except KeyError as exc:
                    raise FormatError(
                        exc.args[0], file=str(path), line=line_of(part_id), problem=pid
                    ) from None
    return data


def _missing(problem_id: str, part_id: str, points: float, expected: Any) -> Verdict:
    return Verdict(
        problem_id,
        part_id,
        "wrong",
        "no answer given",
        diagnosis=["no answer given for this part"],
        counterexample=Counterexample({}, expected, "(no answer)"),
        method="none",
        max_points=points,
    )


def _undecided(
    problem_id: str, part: Any, raw: Any, summary: str, diagnosis: list[str], method: str
) -> Verdict:
    return Verdict(
        problem_id,
        part.id,
        "undecided",
        summary,
        diagnosis=diagnosis,
        method=method,
        max_points=part.points,
        answer=raw,
    )


def grade(
    pset: ProblemSet, answers: dict[str, Any], student: str = "", source: str = ""
) -> Submission:
    """A verdict for every part of the set, in order (see the module docstring)."""
    sub = Submission(student, source)
    for problem in pset.problems:
        kind = KINDS[problem.kind]
        given = answers.get(problem.id)
        for part in problem.parts:
            raw = given.get(part.id) if problem.has_parts and isinstance(given, dict) else given
            if raw is None:
                sub.verdicts.append(_missing(problem.id, part.id, part.points, "an answer"))
                continue
            try:
                v = kind.check(problem, part, raw)
            except FormatError as exc:
                # The error is in the answers file, not in the set: name that file.
                where = FormatError(
                    exc.message,
                    file=source or None,
                    problem=problem.id,
                    part=part.id or None,
                    field=exc.field,
                    detail=exc.detail,
                )
                v = _undecided(
                    problem.id,
                    part,
                    raw,
                    f"format error: {where.where()}{where.message}",
                    [where.message, *where.detail.splitlines()],
                    "not graded: the answer could not be read",
                )
            except (ValueError, ArithmeticError, TypeError, RecursionError, MemoryError) as exc:
                # Anything else an answer can make the engines raise: flagged, never scored wrong.
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                v = _undecided(
                    problem.id,
                    part,
                    raw,
                    f"could not be evaluated: {reason}",
                    [reason],
                    "not graded: the answer could not be evaluated",
                )
            sub.verdicts.append(v)
    return sub


def grade_file(pset: ProblemSet, path: str | Path, text: str | None = None) -> Submission:
    """Grade one answers file; the student id is the file's stem (``text``: see :func:`load_answers`).

    Raises:
        FormatError: the file cannot be read as answers to this set.
    """
    p = Path(path)
    return grade(pset, load_answers(p, pset, text), p.stem, str(p))


def unreadable(
    pset: ProblemSet,
    path: str | Path,
    exc: BaseException,
    *,
    what: str = "the file cannot be read",
    method: str = "not graded",
) -> Submission:
    """The submission of a file that cannot be read (or, with ``what`` and ``method``, that could not
    be graded): every part ``undecided`` with the summary ``"{what}: {reason}"``, the reason being the
    first line of ``exc``, so that no submission is lost."""
    p = Path(path)
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    sub = Submission(p.stem, str(p))
    for problem in pset.problems:
        for part in problem.parts:
            sub.verdicts.append(
                Verdict(
                    problem.id,
                    part.id,
                    "undecided",
                    f"{what}: {reason}",
                    diagnosis=[reason],
                    method=method,
                    max_points=part.points,
                )
            )
    return sub


def grade_submission(pset: ProblemSet, path: str | Path, text: str | None = None) -> Submission:
    """One file of a directory: :func:`grade_file`, or :func:`unreadable` when it cannot be read
    (a FormatError, OSError or UnicodeError); never raises for a bad file."""
    try:
        return grade_file(pset, path, text)
    except (FormatError, OSError, UnicodeError) as exc:
        return unreadable(pset, path, exc)


def answers_files(directory: str | Path) -> list[Path]:
    """The ``*.toml`` files in ``directory``, sorted by name: the submissions, in gradebook order.

    Raises:
        FormatError: no answers files, or more than :data:`MAX_SUBMISSIONS`.
    """
    d = Path(directory)
    files = sorted(p for p in d.glob("*.toml") if p.is_file())
    if not files:
        raise FormatError("no answers files (*.toml) in the directory", file=str(d))
    if len(files) > MAX_SUBMISSIONS:
        raise FormatError(f"{len(files)} submissions; the limit is {MAX_SUBMISSIONS}", file=str(d))
    return files


def grade_directory(pset: ProblemSet, directory: str | Path) -> Gradebook:
    """Grade every ``*.toml`` in ``directory`` (sorted by name), one after another. A file that cannot
    be read is a submission whose every part is ``undecided`` with the reason, so no submission is lost.

    Raises:
        FormatError: no answers files, or more than :data:`MAX_SUBMISSIONS`.
    """
    book = Gradebook(pset.title, pset.source)
    for f in answers_files(directory):
        book.submissions.append(grade_submission(pset, f))
    return book


def gradebook_csv(book: Gradebook) -> str:
    """One row per student: points per part (``q3.c``), the total, the maximum, and verdict counts."""
    labels: list[str] = []
    for s in book.submissions:
        for v in s.verdicts:
            if v.label not in labels:
                labels.append(v.label)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", *labels, "total", "max", "correct", "wrong", "undecided"])
    for s in book.submissions:
        by = {v.label: v for v in s.verdicts}
        w.writerow(
            [
                s.student,
                *(f"{by[lab].points:g}" if lab in by else "" for lab in labels),
                f"{s.points:g}",
                f"{s.max_points:g}",
                s.count("correct"),
                s.count("wrong"),
                s.count("undecided"),
            ]
        )
    return buf.getvalue()


def gradebook_json(book: Gradebook) -> str:
    return json.dumps(book.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)
