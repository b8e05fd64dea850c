"""The problem-set file: TOML read with ``tomllib``, strict, versioned by ``format = 1``.

A set has one ``[set]`` table and ``[[problem]]`` tables::

    [set]
    format = 1                  # required; the only version so far
    title = "Homework 2"
    seed = 20210219             # optional: the default seed of `generate`
    [set.functions]             # optional: user functions every expression may call
    h = "u -> sigma(dot(w, u))"

    [[problem]]
    id = "q1"                   # required, unique: letters, digits, _ and -
    kind = "bisector"           # required: a key of chainrule.problems.kinds.KINDS
    points = 2                  # optional, default 1
    title = "..."               # optional
    statement = "..."           # Markdown with $…$ math
    answer = {...}              # optional model answer (self-tested by solve and generate)
    check = {...}               # optional: the kind's check options
    [problem.random]            # optional: rules for variants (generate)
    [[problem.part]]            # optional: parts, each with id, statement, points, answer and the kind's fields

Every other key of a problem is one of its kind's givens. Loading is strict: an unknown key, a wrong type or
a missing required key is a :class:`~chainrule.problems.errors.FormatError` naming the file, the line, the
problem id, the part and the field.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainrule.problems import fields as F
from chainrule.problems.errors import FormatError

__all__ = [
    "FORMAT",
    "MAX_FILE_BYTES",
    "Part",
    "Problem",
    "ProblemSet",
    "build_problem",
    "load_set",
    "parse_set",
    "read_toml",
]

#: The file format this version reads.
FORMAT = 1
#: The largest problem-set or answers file read.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: The most problems in a set, and parts in a problem.
MAX_PROBLEMS = 1000

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}\Z")
_SET_KEYS: dict[str, F.Field] = {
    "format": F.Field(F.integer, required=True, doc="the file format, 1"),
    "title": F.Field(F.string, doc="the set's title"),
    "description": F.Field(F.string, doc="Markdown shown under the title"),
    "seed": F.Field(F.integer, doc="the default seed of generate"),
    "functions": F.Field(F.string_table, doc="user functions: name = 'args -> body'"),
}
_COMMON = ("id", "kind", "points", "title", "statement", "answer", "check", "random", "part")
_PART_COMMON = ("id", "statement", "points", "answer")


@dataclass
class Part:
    """A part of a problem. A problem without ``[[problem.part]]`` tables has one, with ``id == ""``."""

    id: str
    statement: str
    points: float
    answer: Any
    fields: dict[str, Any]
    line: int | None = None


@dataclass
class Problem:
    """One ``[[problem]]`` table, checked. ``prepared`` is the kind's cache (see ``Kind.prepare``)."""

    id: str
    kind: str
    points: float
    title: str
    statement: str
    givens: dict[str, Any]
    answer: Any
    check: dict[str, Any]
    random: dict[str, Any]
    parts: list[Part]
    functions: dict[str, str]
    file: str | None = None
    line: int | None = None
    prepared: dict[str, Any] = field(default_factory=dict)

    def error(
        self, message: str, *, part: str | None = None, field: str | None = None
    ) -> FormatError:
        """A FormatError located at this problem (and part/field), with the field's line when found."""
        return FormatError(
            message, file=self.file, line=self.line, problem=self.id, part=part, field=field
        )

    def part(self, part_id: str) -> Part:
        """The part with id ``part_id`` (``""`` for a problem without parts).

        Raises:
            KeyError: no such part (names the parts there are).
        """
        for p in self.parts:
            if p.id == part_id:
                return p
        names = ", ".join(repr(p.id) for p in self.parts)
        raise KeyError(f"problem {self.id} has no part {part_id!r}; its parts are {names}")

    @property
    def has_parts(self) -> bool:
        return not (len(self.parts) == 1 and self.parts[0].id == "")


@dataclass
class ProblemSet:
    """A loaded problem set."""

    title: str
    seed: int
    description: str
    functions: dict[str, str]
    problems: list[Problem]
    source: str = "<string>"
    raw: dict[str, Any] = field(default_factory=dict)

    def problem(self, problem_id: str) -> Problem:
        """The problem with id ``problem_id``.

        Raises:
            KeyError: no such problem (names the problems there are).
        """
        for p in self.problems:
            if p.id == problem_id:
                return p
        raise KeyError(
            f"no problem {problem_id!r}; the set has {', '.join(p.id for p in self.problems)}"
        )


# -- reading --------------------------------------------------------------------------------------------


def read_toml(path: str | Path) -> tuple[dict[str, Any], str]:
    """Read a TOML file (at most :data:`MAX_FILE_BYTES`); returns the data and the text.

    Raises:
        FormatError: not a file, too large, not UTF-8, or not TOML (with the parser's line).
    """
    text = read_toml_text(path)
    return parse_toml(text, str(path)), text


def read_toml_text(path: str | Path) -> str:
    """The text of a file of ours (a set, answers, a roster): a regular file of at most
    :data:`MAX_FILE_BYTES` bytes of UTF-8, a byte-order mark dropped.

    Raises:
        FormatError: a directory, a device or pipe, a missing file, too large, or not UTF-8.
    """
    p = Path(path)
    name = str(path)
    if p.is_dir():
        raise FormatError("is a directory, not a TOML file", file=name)
    if p.exists() and not p.is_file():
        raise FormatError("is not a regular file (a device or a pipe)", file=name)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise FormatError(f"the file is larger than the limit of {MAX_FILE_BYTES} bytes", file=name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the text


_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_toml(text: str, name: str = "<string>") -> dict[str, Any]:
    """``tomllib.loads`` with its error turned into a FormatError that names the file and line.

    Raises:
        FormatError: not TOML.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_LINE.search(msg)
        line = int(m.group(1)) if m else None
        detail = ""
        if m:
            lines = text.splitlines()
            if 0 < line <= len(lines):  # type: ignore[operator]
                from chainrule.problems.errors import caret

                detail = caret(lines[line - 1], int(m.group(2)) - 1)  # type: ignore[operator]
        raise FormatError(
            "not valid TOML: " + _TOML_LINE.sub("", msg).strip(),
            file=name,
            line=line,
            detail=detail,
        ) from None
    except RecursionError:
        raise FormatError("not valid TOML: nested too deeply", file=name) from None


class _Lines:
    """Finds the line of a problem's table and of a key in it, from the file's text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.problem_starts = [
            i + 1 for i, ln in enumerate(self.lines) if re.match(r"^\s*\[\[\s*problem\s*\]\]", ln)
        ]

    def problem(self, index: int) -> int | None:
        return self.problem_starts[index] if index < len(self.problem_starts) else None

    def key(self, index: int, key: str, part: int | None = None) -> int | None:
        start = self.problem(index)
        if start is None:
            return None
        end = self.problem(index + 1) or len(self.lines) + 1
        if part is not None:
            starts = [
                i + 1
                for i in range(start - 1, end - 1)
                if re.match(r"^\s*\[\[\s*problem\s*\.\s*part\s*\]\]", self.lines[i])
            ]
            if part >= len(starts):
                return start
            start = starts[part]
            end = starts[part + 1] if part + 1 < len(starts) else end
        pattern = re.compile(
            rf"^\s*(\"?){re.escape(key)}\1\s*[=.]|^\s*\[\s*problem\s*\.\s*{re.escape(key)}\s*\]"
        )
        for i in range(start - 1, end - 1):
            if pattern.match(self.lines[i]):
                return i + 1
        return start


def load_set(path: str | Path) -> ProblemSet:
    """Load and check a problem-set file (see the module docstring for the format).

    Raises:
        FormatError: anything wrong with the file, naming where.
    """
    data, text = read_toml(path)
    return parse_set(data, text, str(path))


def parse_set(data: dict[str, Any], text: str = "", source: str = "<string>") -> ProblemSet:
    """Check parsed TOML as a problem set; ``text`` (the file's text) gives line numbers to errors.

    Raises:
        FormatError: anything wrong, naming where.
    """
    from chainrule.problems.kinds import KINDS

    lines = _Lines(text)
    for key in data:
        if key not in ("set", "problem"):
            raise FormatError(
                f"unknown top-level key {key!r}; a set has a [set] table and [[problem]] tables",
                file=source,
                line=_top_line(lines, key),
            )
    if "set" not in data:
        raise FormatError("no [set] table (it holds format = 1 and the title)", file=source)
    head = _check_table(data["set"], _SET_KEYS, "set", source, lines, None, None, "[set]")
    if head["format"] != FORMAT:
        raise FormatError(
            f"format {head['format']} is not supported; this chainrule reads format {FORMAT}",
            file=source,
            field="set.format",
            line=_top_line(lines, "format"),
        )
    problems_raw = data.get("problem", [])
    if not isinstance(problems_raw, list) or not problems_raw:
        raise FormatError("no [[problem]] tables", file=source)
    if len(problems_raw) > MAX_PROBLEMS:
        raise FormatError(f"{len(problems_raw)} problems; the limit is {MAX_PROBLEMS}", file=source)
    functions = head.get("functions", {})
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, raw in enumerate(problems_raw):
        prob = _parse_problem(raw, index, source, lines, functions, KINDS)
        if prob.id in seen:
            raise prob.error(
                f"a second problem with id {prob.id!r}; ids must be unique", field="id"
            )
        seen.add(prob.id)
        try:
            KINDS[prob.kind].prepare(prob)
        except FormatError as exc:
            part_index = next(
                (i for i, p in enumerate(prob.parts) if exc.part and p.id == exc.part), None
            )
            line = lines.key(index, exc.field.split(".")[0], part_index) if exc.field else None
            raise exc.located(file=source, line=line or prob.line, problem=prob.id) from None
        problems.append(prob)
    return ProblemSet(
        title=head.get("title", Path(source).stem if source != "<string>" else "problem set"),
        seed=head.get("seed", 0),
        description=head.get("description", ""),
        functions=functions,
        problems=problems,
        source=source,
        raw=data,
    )


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def format_given(value: Any) -> str:
    """A given as a statement shows it: ``(-5, 1, 3)``, ``(0, 0), (0, -1)``, ``x → n7, n7 → n5``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format(value, "g") if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value.replace("->", " → ")
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return ", ".join(format_given(v) for v in value)
        if value and all(isinstance(v, str) for v in value):
            return ", ".join(format_given(v) for v in value)
        return "(" + ", ".join(format_given(v) for v in value) + ")"
    return str(value)


def fill_statement(text: str, givens: dict[str, Any]) -> str:
    """``text`` with each ``{{name}}`` that names a given replaced by its value (so a variant's statement
    shows its own numbers); other double braces, which LaTeX may hold, are left as they are."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return format_given(givens[name]) if name in givens else m.group(0)

    return _PLACEHOLDER.sub(sub, text)


def build_problem(
    kind: str,
    *,
    id: str = "p",
    points: float | None = None,
    answer: Any = None,
    check: dict[str, Any] | None = None,
    random: dict[str, Any] | None = None,
    parts: list[dict[str, Any]] | None = None,
    functions: dict[str, str] | None = None,
    **givens: Any,
) -> Problem:
    """A problem from Python values, read exactly as a file's ``[[problem]]`` table would be (every given,
    check option and part field through its validator) and prepared by its kind.

    ``parts`` are tables as in ``[[problem.part]]`` (``{"id": "a", "answer": ..., "notation": ...}``).

    Raises:
        FormatError: what loading the same table from a file would raise.
    """
    raw: dict[str, Any] = {"id": id, "kind": kind, **givens}
    for key, value in (
        ("points", points),
        ("answer", answer),
        ("check", check),
        ("random", random),
        ("part", parts),
    ):
        if value is not None:
            raw[key] = value
    head: dict[str, Any] = {"format": FORMAT}
    if functions:
        head["functions"] = functions
    return parse_set({"set": head, "problem": [raw]}).problems[0]


def _top_line(lines: _Lines, key: str) -> int | None:
    for i, ln in enumerate(lines.lines):
        if re.match(rf"^\s*{re.escape(key)}\s*=", ln) or re.match(
            rf"^\s*\[\s*{re.escape(key)}", ln
        ):
            return i + 1
    return None


def _check_table(
    raw: Any,
    spec: dict[str, F.Field],
    what: str,
    source: str,
    lines: _Lines,
    index: int | None,
    problem: str | None,
    header: str,
    part: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Check ``raw`` against ``spec``: a table, no unknown key, required keys there, each value valid."""

    def where(key: str | None) -> int | None:
        if index is None:
            return _top_line(lines, key) if key else None
        return lines.key(index, key, part[0] if part else None) if key else lines.problem(index)

    part_id = part[1] if part else None
    if not isinstance(raw, dict):
        raise FormatError(
            f"{header} must be a table, got {F.type_name(raw)}",
            file=source,
            line=where(None),
            problem=problem,
            part=part_id,
        )
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in spec:
            known = ", ".join(sorted(spec)) or "none"
            raise FormatError(
                f"unknown key {key!r} in {header}; the keys are: {known}",
                file=source,
                line=where(key),
                problem=problem,
                part=part_id,
                field=key,
            )
        try:
            out[key] = spec[key].check(value)
        except FormatError as exc:
            raise exc.located(
                file=source, line=where(key), problem=problem, part=part_id, field=key
            ) from None
    for key, f in spec.items():
        if f.required and key not in out:
            raise FormatError(
                f"missing key {key!r} ({f.doc})" if f.doc else f"missing key {key!r}",
                file=source,
                line=where(None),
                problem=problem,
                part=part_id,
                field=key,
            )
    return out


def _problem_id(raw: Any, index: int, source: str, lines: _Lines) -> str:
    line = lines.problem(index)
    if not isinstance(raw, dict):
        raise FormatError(f"problem {index + 1} must be a table", file=source, line=line)
    pid = raw.get("id")
    if pid is None:
        raise FormatError(f"problem {index + 1} has no id", file=source, line=line, field="id")
    if not isinstance(pid, str) or not _ID.match(pid):
        raise FormatError(
            f"the id {pid!r} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit",
            file=source,
            line=lines.key(index, "id"),
            field="id",
        )
    return pid


def _parse_problem(
    raw: Any,
    index: int,
    source: str,
    lines: _Lines,
    functions: dict[str, str],
    kinds: dict[str, Any],
) -> Problem:
    pid = _problem_id(raw, index, source, lines)
    kind_name = raw.get("kind")
    if not isinstance(kind_name, str) and kind_name is not None:
        raise FormatError(
            f"kind must be a string, got {F.type_name(kind_name)}",
            file=source,
            line=lines.key(index, "kind"),
            problem=pid,
            field="kind",
        )
    if kind_name not in kinds:
        raise FormatError(
            f"unknown kind {kind_name!r}; the kinds are {', '.join(sorted(kinds))}"
            if kind_name is not None
            else f"no kind; the kinds are {', '.join(sorted(kinds))}",
            file=source,
            line=lines.key(index, "kind"),
            problem=pid,
            field="kind",
        )
    kind = kinds[kind_name]
    spec: dict[str, F.Field] = {
        "id": F.Field(F.string),
        "kind": F.Field(F.string),
        "points": F.Field(F.positive),
        "title": F.Field(F.string),
        "statement": F.Field(F.string),
        "answer": F.Field(F.any_value),
        "check": F.Field(F.table),
        "random": F.Field(F.table),
        "part": F.Field(F.any_value),
        **kind.givens,
    }
    top = _check_table(raw, spec, "a problem", source, lines, index, pid, f"problem {pid}")
    check = _check_table(
        top.get("check", {}),
        kind.check_options,
        "check",
        source,
        lines,
        index,
        pid,
        "its check table",
    )
    random = top.get("random", {})
    for key in random:
        if key not in (*kind.random_fields, "require", "max_tries"):
            allowed = ", ".join([*kind.random_fields, "require", "max_tries"])
            raise FormatError(
                f"[problem.random] cannot draw {key!r}; a {kind_name} problem draws: {allowed}",
                file=source,
                line=lines.key(index, "random"),
                problem=pid,
                field=f"random.{key}",
            )
    _check_random_conditions(random, source, lines.key(index, "random"), pid)
    points = float(top.get("points", 1))
    parts = _parse_parts(top, index, source, lines, pid, kind, points)
    givens = {k: v for k, v in top.items() if k not in _COMMON}
    statement = fill_statement(top.get("statement", ""), givens)
    for part in parts:
        part.statement = fill_statement(part.statement, givens)
    return Problem(
        id=pid,
        kind=kind_name,
        points=points,
        title=top.get("title", ""),
        statement=statement,
        givens=givens,
        answer=top.get("answer"),
        check=check,
        random=random,
        parts=parts,
        functions=functions,
        file=source,
        line=lines.problem(index),
    )


def _check_random_conditions(
    random: dict[str, Any], source: str, line: int | None, pid: str
) -> None:
    """``require`` is a condition or a list of them, each readable; ``max_tries`` a small integer.

    Raises:
        FormatError: naming ``random.require`` or ``random.max_tries``.
    """
    from chainrule.problems.expr.parser import parse_condition

    require = random.get("require", [])
    conditions = [require] if isinstance(require, str) else require
    try:
        for text in F.string_list(conditions):
            parse_condition(text)
    except FormatError as exc:
        raise exc.located(file=source, line=line, problem=pid, field="random.require") from None
    if "max_tries" in random:
        tries = random["max_tries"]
        if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= 10_000:
            raise FormatError(
                "max_tries must be an integer in 1..10000",
                file=source,
                line=line,
                problem=pid,
                field="random.max_tries",
            )


def _parse_parts(
    top: dict[str, Any],
    index: int,
    source: str,
    lines: _Lines,
    pid: str,
    kind: Any,
    points: float,
) -> list[Part]:
    raw_parts = top.get("part")
    if raw_parts is None:
        return [Part("", "", points, top.get("answer"), {}, lines.problem(index))]
    if not isinstance(raw_parts, list) or not raw_parts:
        raise FormatError(
            "part must be [[problem.part]] tables",
            file=source,
            line=lines.key(index, "part"),
            problem=pid,
            field="part",
        )
    if len(raw_parts) > MAX_PROBLEMS:
        raise FormatError(
            f"{len(raw_parts)} parts; the limit is {MAX_PROBLEMS}", file=source, problem=pid
        )
    if "answer" in top:
        raise FormatError(
            "a problem with parts gives each part its own answer",
            file=source,
            line=lines.key(index, "answer"),
            problem=pid,
            field="answer",
        )
    spec: dict[str, F.Field] = {
        "id": F.Field(F.string, required=True),
        "statement": F.Field(F.string),
        "points": F.Field(F.positive),
        "answer": F.Field(F.any_value),
        **kind.part_fields,
    }
    parts: list[Part] = []
    for k, raw in enumerate(raw_parts):
        part_id = raw.get("id") if isinstance(raw, dict) else None
        label = str(part_id) if part_id is not None else str(k + 1)
        checked = _check_table(
            raw, spec, "a part", source, lines, index, pid, f"part {label}", (k, label)
        )
        if not _ID.match(checked["id"]):
            raise FormatError(
                f"the part id {checked['id']!r} must be 1-64 letters, digits, '_' or '-'",
                file=source,
                line=lines.key(index, "id", k),
                problem=pid,
                part=label,
                field="id",
            )
        if any(p.id == checked["id"] for p in parts):
            raise FormatError(
                f"a second part with id {checked['id']!r}",
                file=source,
                line=lines.key(index, "id", k),
                problem=pid,
                part=label,
                field="id",
            )
        extra = {key: v for key, v in checked.items() if key not in _PART_COMMON}
        parts.append(
            Part(
                checked["id"],
                checked.get("statement", ""),
                float(checked.get("points", 0.0)),
                checked.get("answer"),
                extra,
                lines.key(index, "id", k),
            )
        )
    # Points: a part without its own share gets an equal share of what the listed ones leave.
    given = sum(p.points for p in parts)
    rest = [p for p in parts if p.points == 0.0]
    if rest:
        share = max(points - given, 0.0) / len(rest)
        for p in rest:
            p.points = share
    return parts
