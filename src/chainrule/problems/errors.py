"""The one error of problem-set input: :class:`FormatError`, which says what and where.

A problem-set file, an answers file or an expression that cannot be read is never graded: it is a format
error, raised as a ``ValueError`` subclass, that names the file, the TOML line where one is known, the
problem id, the part and the field; an expression error carries a caret under the offending token.
The command line prints it and exits with code 2.
"""

from __future__ import annotations

__all__ = ["FormatError", "caret"]


def caret(text: str, pos: int, length: int = 1) -> str:
    """Two lines: ``text`` and a caret (``^``, ``^^^`` for a longer token) under position ``pos``.

    Tabs and newlines in ``text`` are shown as spaces so that the caret stays under its token.
    """
    shown = text.replace("\t", " ").replace("\n", " ")
    pos = max(0, min(pos, len(shown)))
    return f"  {shown}\n  {' ' * pos}{'^' * max(1, length)}"


class FormatError(ValueError):
    """Input that cannot be read: a file, a table, a field or an expression.

    Attributes:
        message: what is wrong, one line.
        file: the file's path, when the input came from one.
        line: the 1-based line in the file, when the TOML parser or a key lookup gives one.
        problem: the problem id.
        part: the part id.
        field: the key (dotted for nested tables, e.g. ``check.rtol``).
        detail: extra lines shown under the message (an expression with a caret).

    ``str(error)`` is one line (``file:line: problem q3, part c, field answer: message``) followed by
    ``detail``; the command line prints the first line and the detail.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        problem: str | None = None,
        part: str | None = None,
        field: str | None = None,
        detail: str = "",
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.problem = problem
        self.part = part
        self.field = field
        self.detail = detail
        super().__init__(self._text())

    def where(self) -> str:
        """``file:line: problem q3, part c, field answer`` (only the parts that are known)."""
        loc = ""
        if self.file:
            loc = self.file + (f":{self.line}" if self.line else "") + ": "
        elif self.line:
            loc = f"line {self.line}: "
        ctx = []
        if self.problem:
            ctx.append(f"problem {self.problem}")
        if self.part:
            ctx.append(f"part {self.part}")
        if self.field:
            ctx.append(f"field {self.field}")
        return loc + (", ".join(ctx) + ": " if ctx else "")

    def _text(self) -> str:
        head = self.where() + self.message
        return head + ("\n" + self.detail if self.detail else "")

    def located(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        problem: str | None = None,
        part: str | None = None,
        field: str | None = None,
    ) -> FormatError:
        """A copy with the unknown parts of its location filled in (known parts are kept)."""
        return FormatError(
            self.message,
            file=self.file or file,
            line=self.line or line,
            problem=self.problem or problem,
            part=self.part or part,
            field=self.field or field,
            detail=self.detail,
        )
