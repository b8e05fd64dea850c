"""Math for the HTML reports: LaTeX to MathML, and Markdown with ``$…$`` math to HTML.

- :func:`latex_to_mathml` converts one LaTeX span with ``latex2mathml`` and rewrites the result through a
  whitelist of MathML elements and attributes (``latex2mathml`` copies ``\\text{…}`` and ``\\href``
  arguments into its output unescaped, and statements are untrusted). A span it cannot convert becomes an
  escaped ``<code class="math-error">`` element; it never raises.
- :func:`markdown_to_html` renders a statement: the ``$…$`` and ``$$…$$`` spans are taken out first (so
  Markdown never sees their underscores and asterisks), the rest is rendered by ``markdown-it-py`` with raw
  HTML off, and the spans come back as MathML. Links are shown as text with their address (a report links
  nowhere), and images as their alt text (a report fetches nothing).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

__all__ = ["escape", "latex_to_mathml", "markdown_to_html", "split_lines", "split_math"]

_MATHML_NS = "http://www.w3.org/1998/Math/MathML"

#: MathML elements kept in the output (MathML Core and the few presentation elements latex2mathml emits).
_ELEMENTS = frozenset(
    {
        "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
        "mfrac", "msqrt", "mroot", "mstyle", "merror", "mpadded", "mphantom", "menclose", "munder",
        "mover", "munderover", "mtable", "mtr", "mtd", "mlabeledtr", "mmultiscripts",
        "mprescripts", "none", "semantics", "annotation",
    }
)  # fmt: skip
#: Elements whose content is text only: a tag inside one is text the author wrote (``\text{<b>}``).
_TOKENS = frozenset({"mi", "mn", "mo", "ms", "mtext", "annotation"})
#: Attributes kept; every other one (``href``, ``style``, ``class``, ``on…``) is dropped.
_ATTRIBUTES = frozenset(
    {
        "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "minsize",
        "maxsize", "largeop", "movablelimits", "symmetric", "accent", "accentunder", "width",
        "height", "depth", "linethickness", "displaystyle", "scriptlevel", "columnalign",
        "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame",
        "framespacing", "equalrows", "equalcolumns", "mathcolor", "mathbackground", "mathsize",
        "notation", "form", "linebreak", "rowspan", "columnspan", "align", "encoding",
    }
)  # fmt: skip
#: Attribute values kept: lengths, keywords, numbers and colours; nothing with ``:`` ``(`` or quotes.
_SAFE_VALUE = re.compile(r"^[#A-Za-z0-9 .%+-]*\Z")


def escape(text: str) -> str:
    """``text`` escaped for HTML text and attribute values (``& < > " '``)."""
    return html.escape(text, quote=True)


class _Sanitizer(HTMLParser):
    """Re-serialises latex2mathml's output through the whitelist; everything else becomes text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []

    def _open(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        kept = []
        for name, value in attrs:
            if name in _ATTRIBUTES and value is not None and _SAFE_VALUE.match(value):
                kept.append(f' {name}="{escape(value)}"')
        return f"<{tag}{''.join(kept)}>"

    def _allowed(self, tag: str) -> bool:
        return tag in _ELEMENTS and not (self.stack and self.stack[-1] in _TOKENS)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._allowed(tag):
            self.out.append(escape(self.get_starttag_text() or f"<{tag}>"))
            return
        if tag == "math":
            attrs = [(k, v) for k, v in attrs if k == "display"]
            self.out.append(self._open(tag, attrs)[:-1] + f' xmlns="{_MATHML_NS}">')
        else:
            self.out.append(self._open(tag, attrs))
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._allowed(tag):
            self.out.append(escape(self.get_starttag_text() or f"<{tag}/>"))
            return
        self.out.append(self._open(tag, attrs) + f"</{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
            self.out.append(f"</{tag}>")
        else:
            self.out.append(escape(f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data))

    def handle_comment(self, data: str) -> None:
        pass

    def handle_decl(self, decl: str) -> None:
        pass

    def handle_pi(self, data: str) -> None:
        pass

    def unknown_decl(self, data: str) -> None:
        pass

    def result(self) -> str:
        self.close()
        while self.stack:
            self.out.append(f"</{self.stack.pop()}>")
        return "".join(self.out)


def _sanitize(mathml: str) -> str:
    parser = _Sanitizer()
    parser.feed(mathml)
    return parser.result()


def _fallback(latex: str, display: bool) -> str:
    text = f"$${latex}$$" if display else f"${latex}$"
    return (
        f'<code class="math-error" title="this LaTeX could not be converted to MathML">'
        f"{escape(text)}</code>"
    )


def split_lines(latex: str) -> list[str]:
    """The lines of ``latex`` split at its top-level ``\\\\`` (outside braces and environments, where
    matrices and ``aligned`` keep theirs); a line's optional spacing ``[2pt]`` and its top-level ``&``
    alignment marks are dropped."""
    lines: list[str] = []
    depth = env = 0
    start = i = 0
    n = len(latex)
    while i < n:
        c = latex[i]
        if c == "\\":
            if latex.startswith("\\begin", i):
                env += 1
            elif latex.startswith("\\end", i):
                env -= 1
            elif latex.startswith("\\\\", i) and depth == 0 and env <= 0:
                lines.append(latex[start:i])
                i += 2
                m = re.match(r"\s*\[[^\]]*\]", latex[i:])
                if m:
                    i += m.end()
                start = i
                continue
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    lines.append(latex[start:])
    return [line for line in (_drop_alignment(x).strip() for x in lines) if line]


def _drop_alignment(latex: str) -> str:
    """``latex`` without its top-level ``&`` (alignment marks of a line taken out of ``aligned``; outside
    an environment they mean nothing). ``\\&`` and the ``&`` inside environments stay."""
    if "&" not in latex:
        return latex
    out: list[str] = []
    env = 0
    i = 0
    while i < len(latex):
        if latex.startswith("\\begin", i):
            env += 1
        elif latex.startswith("\\end", i):
            env -= 1
        if latex[i] == "\\":
            out.append(latex[i : i + 2])
            i += 2
            continue
        if latex[i] != "&" or env > 0:
            out.append(latex[i])
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str, *, display: bool = False, displaystyle: bool = False) -> str:
    """A ``<math>`` element for the LaTeX ``latex`` (``display=True``: a block formula;
    ``displaystyle=True``: inline, but set as large as a displayed one).

    Lines separated by a top-level ``\\\\`` become one ``<math>`` each (MathML in browsers does not
    break lines): block formulas one under the other, inline ones joined by ``<br>``. The LaTeX source
    is kept as an ``application/x-tex`` annotation (copying a formula copies its LaTeX). A span that
    ``latex2mathml`` cannot convert (or an empty one) becomes an escaped ``<code class="math-error">``
    element holding the source.

    Never raises.
    """
    lines = split_lines(latex)
    if len(lines) > 1:
        parts = [latex_to_mathml(x, display=display, displaystyle=displaystyle) for x in lines]
        return "".join(parts) if display else "<br>".join(parts)
    source = lines[0] if lines else ""
    if not source:
        return _fallback(latex, display)
    try:
        from latex2mathml.converter import convert

        prefix = "\\displaystyle " if displaystyle and not display else ""
        raw = convert(prefix + source, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds on malformed input (even StopIteration)
        return _fallback(latex, display)
    clean = _sanitize(raw)
    m = re.fullmatch(r"(<math[^>]*>)(.*)</math>", clean, flags=re.DOTALL)
    if m is None or "<m" not in m.group(2):
        return _fallback(latex, display)
    head, body = m.groups()
    cls = "math-display" if display else "math-inline"
    head = head.replace("<math", f'<math class="{cls}"', 1)
    annotation = f'<annotation encoding="application/x-tex">{escape(source)}</annotation>'
    return f"{head}<semantics><mrow>{body}</mrow>{annotation}</semantics></math>"


# --- Markdown with math ---------------------------------------------------------------------------

_PH_OPEN, _PH_CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_PH_OPEN}(\\d+){_PH_CLOSE}")


def split_math(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """Take the math spans out of Markdown ``text``.

    Returns the text with each span replaced by a placeholder, and the spans as ``(latex, display)``.
    ``$$…$$`` is display math; ``$…$`` is inline math when the opening ``$`` is not followed by a space
    and the closing one is not preceded by a space nor followed by a digit (so "$5 and $10" stays text).
    ``\\$`` is a literal dollar, and code spans and fences are left alone. Never raises.
    """
    text = text.replace(_PH_OPEN, "").replace(_PH_CLOSE, "")
    out: list[str] = []
    spans: list[tuple[str, bool]] = []
    i, n = 0, len(text)

    def put(latex: str, display: bool) -> None:
        out.append(f"{_PH_OPEN}{len(spans)}{_PH_CLOSE}")
        spans.append((latex, display))

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            out.append(text[i : i + 2])
            i += 2
        elif c == "`":
            j = i
            while j < n and text[j] == "`":
                j += 1
            run = text[i:j]
            k = text.find(run, j)
            while k != -1 and k + len(run) < n and text[k + len(run)] == "`":
                k = text.find(run, k + len(run) + 1)
            if k == -1:
                out.append(run)
                i = j
            else:
                out.append(text[i : k + len(run)])
                i = k + len(run)
        elif text.startswith("$$", i):
            k = _find_closing(text, i + 2, "$$")
            if k == -1:
                out.append("$$")
                i += 2
            else:
                put(text[i + 2 : k], True)
                i = k + 2
        elif c == "$":
            k = -1
            if i + 1 < n and not text[i + 1].isspace():
                k = _find_inline_close(text, i + 1)
            if k == -1:
                out.append("$")
                i += 1
            else:
                put(text[i + 1 : k], False)
                i = k + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), spans


def _find_closing(text: str, start: int, delim: str) -> int:
    """The next unescaped ``delim`` at or after ``start``, or -1."""
    k = start
    while True:
        k = text.find(delim, k)
        if k == -1:
            return -1
        backslashes = 0
        while k - 1 - backslashes >= start and text[k - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return k
        k += 1


def _find_inline_close(text: str, start: int) -> int:
    """The closing ``$`` of an inline span that opened just before ``start``, or -1.

    As in pandoc, the first unescaped ``$`` after the opening one is the only candidate: it closes the
    span when it follows a non-space and no digit follows it. A span holds no blank line and no
    backtick (a code span starts there).
    """
    k = _find_closing(text, start, "$")
    if k == -1 or k == start or "\n\n" in text[start:k] or "`" in text[start:k]:
        return -1
    if text[k - 1].isspace() or (k + 1 < len(text) and text[k + 1].isdigit()):
        return -1
    return k


def _render_link_open(self: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any) -> str:
    env.setdefault("_links", []).append(tokens[idx].attrGet("href") or "")
    return '<span class="link">'


def _render_link_close(self: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any) -> str:
    links = env.get("_links") or [""]
    href = str(links.pop())
    label_is_href = idx >= 1 and tokens[idx - 1].type == "text" and tokens[idx - 1].content == href
    if not href or label_is_href:
        return "</span>"
    return f'</span> (<span class="url">{escape(href)}</span>)'


def _render_image(self: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any) -> str:
    tok = tokens[idx]
    alt = "".join(t.content for t in (tok.children or [])) or tok.content
    return f'<span class="image-omitted">[image: {escape(alt)}]</span>'


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("link_close", _render_link_close)
    md.add_render_rule("image", _render_image)
    return md


def markdown_to_html(text: str) -> str:
    """HTML for a Markdown statement with ``$…$`` inline and ``$$…$$`` display math.

    Raw HTML in ``text`` is escaped (statements are untrusted), math spans become ``<math>`` (see
    :func:`latex_to_mathml`), links become text followed by their address, images their alt text.
    Never raises on any string.
    """
    if not text.strip():
        return ""
    protected, spans = split_math(text)
    rendered: str = _markdown().render(protected, {})

    def math(m: re.Match[str]) -> str:
        latex, display = spans[int(m.group(1))]
        return latex_to_mathml(latex, display=display)

    return _PLACEHOLDER.sub(math, rendered)
