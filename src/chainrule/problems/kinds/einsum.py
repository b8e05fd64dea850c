r"""The ``einsum`` kind: an index-notation statement (or a matrix expression with shapes), answered by
einsum subscripts.

A problem gives, per part (or at problem level for a problem without parts)::

    notation = 'C_{jk} = \sum_i A_{ijk} b_i'      # or a matrix expression 'C = A G^T B'
    shapes = { A = "d,e", G = "f,e", B = "f,l" }  # optional: dimension symbols per operand
    answer = "ijk, i -> jk"                        # optional model answer (self-tested by solve)

The notation is read by :func:`chainrule.parse_index_notation` (Einstein's convention on, so a repeated
index without ``\sum`` is summed); ``shapes`` become its declarations (``A \in \mathbb{R}^{d\times e}``),
which fix the rank of each operand and, in matrix form, the letters of the subscripts.

Answers (the model answer in the file, and a student's claimed one) take three forms:

- einsum subscripts, ``"ijk, i -> jk"``: spaces and the letters chosen do not matter; the terms are the
  statement's operands in the statement's order (an implicit output follows NumPy's rule);
- a table ``{ subscripts = "i,ijk->jk", operands = ["b", "A"] }`` naming the operand of each term, in any
  order;
- LaTeX index notation (any text with ``=`` or a backslash), e.g. ``C_{kj} = \sum_i b_i A_{ikj}``,
  whose operand names say which term is which.

A claimed answer is judged by evaluation: operands are drawn with pairwise-distinct dimension sizes from
:func:`chainrule.problems.points.answer_rng`, the statement's contraction and the answer's are evaluated
with :func:`chainrule.einsum`, and they are compared entry by entry (``rtol`` relative to the sum of
absolute values of the terms). A wrong answer is diagnosed: output axes transposed, an index summed that
should stay or kept that should be summed, one index written as two or two as one, the wrong operands, an
operand written with the wrong number of indices. An answer that cannot be read is a
:class:`~chainrule.problems.errors.FormatError` with a caret, never a wrong verdict.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from chainrule.einsum import einsum, einsum_path
from chainrule.einsum.index_notation import ELLIPSIS, LETTERS, IndexSpec, is_name, loop_einsum
from chainrule.einsum.latex import parse_index_notation
from chainrule.problems import fields as F
from chainrule.problems.errors import FormatError, caret
from chainrule.problems.kinds.base import Kind
from chainrule.problems.points import answer_rng
from chainrule.problems.results import (
    CheckLine,
    Counterexample,
    Figure,
    PartSolution,
    ProblemSolution,
    Status,
    Step,
    Verdict,
)

if TYPE_CHECKING:
    from chainrule.problems.schema import Part, Problem

__all__ = [
    "DEFAULT_RTOL",
    "MAX_ANSWER_TEXT",
    "MAX_ELEMENTS",
    "MAX_LABELS",
    "MAX_LOOP_TERMS",
    "MAX_OPERANDS",
    "EinsumKind",
]

#: The most operands a statement or an answer may have.
MAX_OPERANDS = 10
#: The most distinct index labels a statement or an answer may use.
MAX_LABELS = 26
#: The most axes of one tensor (an operand or a result) of a statement.
MAX_RANK = 16
#: The longest answer text read.
MAX_ANSWER_TEXT = 2000
#: The most elements of one tensor drawn or computed to judge an answer.
MAX_ELEMENTS = 250_000
#: The most terms of the literal loop sum that ``solve`` evaluates.
MAX_LOOP_TERMS = 200_000
#: The default relative tolerance of a check, relative to the sum of absolute values of the terms.
DEFAULT_RTOL = 1e-9
#: How many dimensions an ellipsis of the statement stands for in the drawn operands.
BROADCAST_RANK = 2
#: The most output axes whose permutations are tried when looking for a transposed answer (6! = 720).
MAX_PERMUTED_AXES = 6
#: The most ways of matching repeated operands (``A`` used twice) tried when explaining an answer.
MAX_ALIGNMENTS = 720
#: The keys of an ``index_statement`` draw and their bounds (low, high, default).
_STATEMENT_DRAW: dict[str, tuple[int, int, int]] = {"operands": (1, 5, 2), "max_rank": (1, 4, 3)}
#: The labels a drawn statement uses, in order.
_DRAW_LABELS = "ijklmnpqrstuvwxyzabcdefgh"
#: The operand names of a drawn statement (the output is C).
_DRAW_NAMES = ("A", "B", "D", "E", "F")

_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9]*|[1-9][0-9]*")
_POSITION = re.compile(r"(?:at )?position (\d+)")
_UNUSED_DECLARATION = re.compile(r"declared name '([^']+)' at position \d+ is not used")


# -- the prepared statement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    """A part's statement, parsed once by ``prepare``.

    Attributes:
        notation: the statement as written in the file.
        latex: the statement with its declarations (what the parser read).
        spec: the einsum spec (subscripts, operand names, output name).
        axes: per operand position, one label per axis; an ellipsis becomes ``BROADCAST_RANK`` labels
            ``…0, …1`` (the drawn operands give it that many dimensions).
        out_axes: the labels of the result's axes.
        size_class: label → size class; labels of one class have one size (a repeated operand's axes,
            labels declared with the same dimension symbol).
        n_classes: the number of size classes.
        symbols: declared dimension symbols by operand name (the ``shapes`` table).
    """

    notation: str
    latex: str
    spec: IndexSpec
    axes: tuple[tuple[str, ...], ...]
    out_axes: tuple[str, ...]
    size_class: dict[str, int]
    n_classes: int
    symbols: dict[str, tuple[str, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.operands

    @property
    def has_ellipsis(self) -> bool:
        return ELLIPSIS in self.spec.subscripts

    def tensors(self) -> list[list[int]]:
        """The size classes of each operand's axes and of the result's axes."""
        return [[self.size_class[lab] for lab in ax] for ax in (*self.axes, self.out_axes)]

    def shape(self, position: int, sizes: Sequence[int]) -> tuple[int, ...]:
        return tuple(sizes[self.size_class[lab]] for lab in self.axes[position])


def _expand(term: str) -> tuple[str, ...]:
    """A term's axis labels, its ellipsis standing for ``BROADCAST_RANK`` labels ``…0, …1``."""
    head, dots, tail = term.partition(ELLIPSIS)
    broadcast = [f"…{k}" for k in range(BROADCAST_RANK)] if dots else []
    return (*head, *broadcast, *tail)


class _UnionFind:
    """Groups of hashable items (labels, dimension symbols)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _error(
    message: str, *, part: Part, field: str, text: str | None = None, pos: int = 0, length: int = 1
) -> FormatError:
    """A FormatError naming the part and field, with a caret under ``text[pos]`` when text is given.

    The file and line are left for the caller (the schema when loading, the grader for an answers file).
    """
    detail = caret(text, pos, length) if text is not None else ""
    return FormatError(message, part=part.id or None, field=field, detail=detail)


def _read_shapes(table: Mapping[str, str], part: Part) -> dict[str, tuple[str, ...]]:
    """``{A = "d,e"}`` → ``{"A": ("d", "e")}``; ``""`` declares a scalar.

    Raises:
        FormatError: a bad operand name, a bad dimension symbol, or more than ``MAX_RANK`` dimensions.
    """
    out: dict[str, tuple[str, ...]] = {}
    for name, dims in table.items():
        if not is_name(name) or not name.isascii():
            raise _error(
                f"{name!r} is not an operand name (a letter followed by letters or digits)",
                part=part,
                field="shapes",
            )
        symbols = tuple(s.strip() for s in dims.split(",")) if dims.strip() else ()
        if len(symbols) > MAX_RANK:
            raise _error(
                f"{name} has {len(symbols)} dimensions; the limit is {MAX_RANK}",
                part=part,
                field="shapes",
            )
        for k, sym in enumerate(symbols):
            if not _SYMBOL.fullmatch(sym):
                raise _error(
                    f"dimension {k + 1} of {name} is {sym!r}: write a symbol such as d or n1, or a "
                    f'positive size, separated by commas ("d,e")',
                    part=part,
                    field="shapes",
                    text=dims,
                    pos=max(dims.find(sym), 0) if sym else 0,
                    length=max(len(sym), 1),
                )
        out[name] = symbols
    return out


def _declaration(name: str, symbols: Sequence[str]) -> str:
    r"""``A \in \mathbb{R}^{d \times e}`` (the parser's declaration syntax)."""
    space = "\\in \\mathbb{R}"
    return f"{name} {space}" + ("^{" + " \\times ".join(symbols) + "}" if symbols else "")


def _parse_statement(
    notation: str,
    own: Mapping[str, tuple[str, ...]],
    inherited: Mapping[str, tuple[str, ...]],
    part: Part,
) -> tuple[IndexSpec, str, dict[str, tuple[str, ...]]]:
    """Parse ``notation`` with the declarations of ``own`` (each must be used) and of ``inherited`` (the
    problem-level shapes of a part: those the statement does not use are dropped).

    Returns:
        The spec, the text parsed and the declarations used.

    Raises:
        FormatError: the notation does not parse (field ``notation``, with a caret), or it parses but not
            with the declarations (field ``shapes``).
    """
    decls = {**inherited, **own}
    while True:
        text = notation + "".join(", " + _declaration(n, s) for n, s in decls.items())
        try:
            return parse_index_notation(text, einstein=True), text, decls
        except ValueError as exc:
            message = str(exc)
        unused = _UNUSED_DECLARATION.search(message)
        if unused and unused.group(1) in inherited and unused.group(1) not in own:
            decls = {n: s for n, s in decls.items() if n != unused.group(1)}
            continue
        break
    try:
        parse_index_notation(notation, einstein=True)
    except ValueError as exc:
        pos = _position(str(exc))
        raise _error(
            f"cannot read the statement: {exc}",
            part=part,
            field="notation",
            text=notation,
            pos=pos if pos is not None else len(notation),
        ) from None
    pos = _position(message)
    inside = pos is not None and pos < len(notation)
    raise _error(
        f"the statement does not fit its shapes: {message}",
        part=part,
        field="shapes",
        text=notation if inside else None,
        pos=pos or 0,
    ) from None


def _position(message: str) -> int | None:
    m = _POSITION.search(message)
    return int(m.group(1)) if m else None


def _build_statement(problem: Problem, part: Part) -> _Statement:
    """Parse and check the statement of ``part`` (see ``EinsumKind.prepare``)."""
    notation = part.fields.get("notation", problem.givens.get("notation"))
    if notation is None:
        raise _error(
            "missing key 'notation' (the statement in index notation, e.g. "
            "'C_{jk} = \\sum_i A_{ijk} b_i')",
            part=part,
            field="notation",
        )
    if problem.has_parts:
        own = _read_shapes(part.fields.get("shapes", {}), part)
        inherited = _read_shapes(problem.givens.get("shapes", {}), part)
    else:
        own, inherited = _read_shapes(problem.givens.get("shapes", {}), part), {}
    spec, text, decls = _parse_statement(notation, own, inherited, part)
    if len(spec.operands) > MAX_OPERANDS:
        raise _error(
            f"{len(spec.operands)} operands; the limit is {MAX_OPERANDS}",
            part=part,
            field="notation",
        )
    if len(spec.indices) > MAX_LABELS:
        raise _error(
            f"{len(spec.indices)} indices; the limit is {MAX_LABELS}", part=part, field="notation"
        )
    axes = tuple(_expand(t) for t in spec.inputs)
    out_axes = _expand(spec.output_indices)
    for name, ax in (*zip(spec.operands, axes, strict=True), (spec.output, out_axes)):
        if len(ax) > MAX_RANK:
            raise _error(
                f"{name} has {len(ax)} axes; the limit is {MAX_RANK}", part=part, field="notation"
            )
    uf = _UnionFind()
    first: dict[str, tuple[str, ...]] = {}
    for name, ax in zip(spec.operands, axes, strict=True):
        # One array per name: every occurrence of a repeated operand has the same shape.
        if name in first:
            if len(first[name]) != len(ax):
                raise _error(
                    f"operand {name} is written with {len(first[name])} and with {len(ax)} indices",
                    part=part,
                    field="notation",
                )
            for a, b in zip(first[name], ax, strict=True):
                uf.union(a, b)
        else:
            first[name] = ax
    symbol_of: dict[str, tuple[str, str]] = {}
    for name, term in zip(spec.operands, spec.inputs, strict=True):
        syms = decls.get(name)
        if syms is None or ELLIPSIS in term or len(syms) != len(term):
            continue
        for lab, sym in zip(term, syms, strict=True):
            old = symbol_of.setdefault(lab, (sym, name))
            if old[0] != sym:
                raise _error(
                    f"index {spec.label(lab)} is {old[0]} in {old[1]} but {sym} in {name}",
                    part=part,
                    field="shapes",
                )
            # Labels declared with one symbol have one size.
            uf.union(lab, "\x00" + sym)
    labels = list(dict.fromkeys(lab for ax in axes for lab in ax))
    roots = list(dict.fromkeys(uf.find(lab) for lab in labels))
    size_class = {lab: roots.index(uf.find(lab)) for lab in labels}
    return _Statement(
        notation=notation,
        latex=text,
        spec=spec,
        axes=axes,
        out_axes=out_axes,
        size_class=size_class,
        n_classes=len(roots),
        symbols={n: s for n, s in decls.items() if n in spec.operands},
    )


# -- drawing operands ------------------------------------------------------------------------------------


def _draw_sizes(
    st: _Statement, rng: np.random.Generator, total_cap: int | None = None
) -> tuple[list[int], bool]:
    """One size per size class, and whether they are pairwise distinct.

    Distinct sizes ``2, 3, …`` in a random order make a transposed or misplaced axis change the result's
    shape; when that would make a tensor larger than ``MAX_ELEMENTS`` (or all sizes' product larger than
    ``total_cap``), sizes 2 and 3 are drawn instead, and then all 2.
    """
    tensors = st.tensors()

    def fits(sizes: Sequence[int]) -> bool:
        if any(math.prod(sizes[c] for c in t) > MAX_ELEMENTS for t in tensors):
            return False
        return total_cap is None or math.prod(sizes) <= total_cap

    n = st.n_classes
    distinct = [2 + int(p) for p in rng.permutation(n)]
    if fits(distinct):
        return distinct, n > 0
    small = [int(s) for s in rng.integers(2, 4, size=n)]
    if fits(small):
        return small, n <= 1
    return [2] * n, n <= 1


def _draw_operands(
    st: _Statement, sizes: Sequence[int], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """One standard-normal float64 array per operand name, shaped by ``sizes``."""
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(st.names):
        if name not in out:
            out[name] = rng.standard_normal(st.shape(k, sizes))
    return out


def _sizes_text(st: _Statement, sizes: Sequence[int]) -> str:
    labels = dict.fromkeys(lab for ax in st.axes for lab in ax)
    return ", ".join(f"{st.spec.label(lab)}={sizes[st.size_class[lab]]}" for lab in labels)


def _shapes_text(shapes: Mapping[str, Sequence[int]]) -> str:
    return ", ".join(f"{n} {tuple(s)}" for n, s in shapes.items())


# -- reading an answer -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    """An answer read: its input terms, output term, and operand names when it names them."""

    terms: tuple[str, ...]
    output: str
    names: tuple[str, ...] | None
    form: str  # "subscripts", "table" or "latex"

    @property
    def subscripts(self) -> str:
        return ",".join(self.terms) + "->" + self.output


class _Syntax(Exception):
    """A syntax error in answer subscripts at ``pos`` (``length`` characters)."""

    def __init__(self, message: str, pos: int, length: int = 1) -> None:
        super().__init__(message)
        self.pos = pos
        self.length = length


def _scan_subscripts(text: str) -> str:
    """Check einsum subscripts character by character; returns them with an explicit output.

    Raises:
        _Syntax: a character that is not a letter, ``,``, ``->`` or ``...``; a second ``->``; a second
            ellipsis in a term; an output index repeated or absent from the inputs; too many operands or
            labels.
    """
    terms: list[str] = [""]
    out: str | None = None
    out_at: list[tuple[str, int]] = []
    letters: dict[str, int] = {}
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in LETTERS:
            if out is None:
                terms[-1] += ch
                if ch not in letters and len(letters) == MAX_LABELS:
                    raise _Syntax(f"more than {MAX_LABELS} different indices", i)
                letters.setdefault(ch, i)
            else:
                out += ch
                out_at.append((ch, i))
            i += 1
        elif ch == ",":
            if out is not None:
                raise _Syntax("',' after '->': the output is a single term", i)
            if len(terms) == MAX_OPERANDS:
                raise _Syntax(f"more than {MAX_OPERANDS} operands", i)
            terms.append("")
            i += 1
        elif text.startswith("->", i):
            if out is not None:
                raise _Syntax("a second '->'", i, 2)
            out = ""
            i += 2
        elif text.startswith(ELLIPSIS, i):
            current = terms[-1] if out is None else out
            if ELLIPSIS in current:
                raise _Syntax("a second ellipsis in one term", i, 3)
            if out is None:
                terms[-1] += ELLIPSIS
            else:
                out += ELLIPSIS
                out_at.append((ELLIPSIS, i))
            i += 3
        elif ch == "-":
            raise _Syntax("'-' must begin '->'", i)
        elif ch == ">":
            raise _Syntax("'>' must follow '-' ('->')", i)
        elif ch == ".":
            raise _Syntax("'.' must be part of an ellipsis '...'", i)
        else:
            raise _Syntax(
                f"unexpected character {ch!r}: subscripts are letters a-z, A-Z, ',' and '->'", i
            )
    if not any(terms) and len(terms) == 1 and out is None:
        raise _Syntax("empty subscripts", 0)
    seen: set[str] = set()
    for ch, at in out_at:
        if ch == ELLIPSIS:
            if not any(ELLIPSIS in t for t in terms):
                raise _Syntax("an ellipsis in the output but in no input term", at, 3)
            continue
        if ch in seen:
            raise _Syntax(f"output index {ch!r} is repeated", at)
        if ch not in letters:
            raise _Syntax(f"output index {ch!r} is in no input term", at)
        seen.add(ch)
    joined = ",".join(terms) + ("" if out is None else "->" + out)
    return IndexSpec.from_subscripts(joined).subscripts


def _answer_error(
    message: str, part: Part, text: str | None = None, pos: int = 0, length: int = 1
) -> FormatError:
    return _error(message, part=part, field="answer", text=text, pos=pos, length=length)


def _claim_from_subscripts(text: str, names: tuple[str, ...] | None, part: Part) -> _Claim:
    try:
        subscripts = _scan_subscripts(text)
    except _Syntax as exc:
        raise _answer_error(str(exc), part, text, exc.pos, exc.length) from None
    except ValueError as exc:  # pragma: no cover - the scanner catches what IndexSpec would refuse
        raise _answer_error(f"cannot read the subscripts: {exc}", part, text) from None
    lhs, out = subscripts.split("->")
    terms = tuple(lhs.split(","))
    if names is not None and len(names) != len(terms):
        raise _answer_error(
            f"the subscripts have {len(terms)} terms but operands lists {len(names)} names "
            f"({', '.join(names)})",
            part,
        )
    return _Claim(terms, out, names, "subscripts" if names is None else "table")


def _claim_from_latex(text: str, st: _Statement, part: Part) -> _Claim:
    try:
        plain = parse_index_notation(text, einstein=True)
    except ValueError as exc:
        pos = _position(str(exc))
        raise _answer_error(
            f"cannot read the index notation: {exc}",
            part,
            text,
            pos if pos is not None else len(text),
        ) from None
    spec = plain
    used = {n: s for n, s in st.symbols.items() if n in plain.operands}
    if used:
        # A matrix expression needs the problem's shapes to know which names are matrices; when the
        # answer does not fit them, its plain reading is judged (and the mismatch diagnosed).
        decls = "".join(", " + _declaration(n, s) for n, s in used.items())
        try:
            spec = parse_index_notation(text + decls, einstein=True)
        except ValueError:
            spec = plain
    if len(spec.operands) > MAX_OPERANDS:
        raise _answer_error(f"{len(spec.operands)} operands; the limit is {MAX_OPERANDS}", part)
    known = set(st.names)
    for name in spec.operands:
        if name not in known:
            at = text.find(name)
            raise _answer_error(
                f"unknown operand {name!r}; the statement's operands are {', '.join(dict.fromkeys(st.names))}",
                part,
                text if at >= 0 else None,
                max(at, 0),
                len(name),
            )
    return _Claim(spec.inputs, spec.output_indices, spec.operands, "latex")


def _read_claim(answer: Any, st: _Statement, part: Part) -> _Claim:
    """Read an answer in any of its forms (see the module docstring).

    Raises:
        FormatError: field ``answer``: not a string or a table, an unknown key, unreadable subscripts or
            notation (with a caret), an operand name the statement lacks, too long or too large.
    """
    if isinstance(answer, str):
        if len(answer) > MAX_ANSWER_TEXT:
            raise _answer_error(
                f"the answer is {len(answer)} characters; the limit is {MAX_ANSWER_TEXT}", part
            )
        if "=" in answer or "\\" in answer:
            return _claim_from_latex(answer, st, part)
        return _claim_from_subscripts(answer, None, part)
    if isinstance(answer, dict):
        unknown = [k for k in answer if k not in ("subscripts", "operands")]
        if unknown:
            raise _answer_error(
                f"unknown key {unknown[0]!r} in the answer; its keys are subscripts and operands",
                part,
            )
        subscripts = answer.get("subscripts")
        if not isinstance(subscripts, str):
            raise _answer_error(
                f"the answer's subscripts must be a string such as 'ijk,i->jk', got "
                f"{F.type_name(subscripts) if subscripts is not None else 'nothing'}",
                part,
            )
        if len(subscripts) > MAX_ANSWER_TEXT:
            raise _answer_error(
                f"the subscripts are longer than {MAX_ANSWER_TEXT} characters", part
            )
        raw_names = answer.get("operands")
        names: tuple[str, ...] | None = None
        if raw_names is not None:
            if not isinstance(raw_names, list) or not all(isinstance(n, str) for n in raw_names):
                raise _answer_error("the answer's operands must be an array of names", part)
            if len(raw_names) > MAX_OPERANDS:
                raise _answer_error(f"{len(raw_names)} operands; the limit is {MAX_OPERANDS}", part)
            for name in raw_names:
                if name not in st.names:
                    raise _answer_error(
                        f"unknown operand {name!r}; the statement's operands are "
                        f"{', '.join(dict.fromkeys(st.names))}",
                        part,
                    )
            names = tuple(raw_names)
        return _claim_from_subscripts(subscripts, names, part)
    raise _answer_error(
        f"expected einsum subscripts such as 'ijk,i->jk' (or a table with subscripts and operands, "
        f"or index notation), got {F.type_name(answer)}",
        part,
    )


# -- judging ---------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: Status
    summary: str
    diagnosis: list[str] = field(default_factory=list)
    counterexample: Counterexample | None = None


@dataclass(frozen=True)
class _Structure:
    """How an answer's indices correspond to the statement's, for one matching of its operands.

    ``rename`` maps each statement label to the answer's letter when the correspondence is one to one;
    otherwise ``joins`` (an answer letter standing for several statement labels) and ``splits`` (a
    statement label written as several letters) say where it is not.
    """

    order: tuple[int, ...]
    rename: dict[str, str] | None
    joins: dict[str, list[str]]
    splits: dict[str, list[str]]


def _alignments(st: _Statement, claim: _Claim) -> Iterator[tuple[int, ...]]:
    """Statement positions for the answer's terms: positional for unnamed subscripts; by name otherwise,
    every matching of a repeated name's occurrences (their arrays are one array) up to ``MAX_ALIGNMENTS``.
    """
    n = len(st.names)
    if claim.names is None:
        base: list[int] = list(range(n))
    else:
        free: dict[str, list[int]] = {}
        for k, name in enumerate(st.names):
            free.setdefault(name, []).append(k)
        used: dict[str, int] = Counter()
        base = []
        for name in claim.names:
            base.append(free[name][used[name]])
            used[name] += 1
    groups: dict[str, list[int]] = {}
    for j, k in enumerate(base):
        groups.setdefault(st.names[k], []).append(j)
    repeated = [g for g in groups.values() if len(g) > 1]
    choices = [itertools.permutations([base[j] for j in g]) for g in repeated]
    for count, combo in enumerate(itertools.product(*choices)):
        if count == MAX_ALIGNMENTS:
            return
        order = list(base)
        for g, perm in zip(repeated, combo, strict=True):
            for j, k in zip(g, perm, strict=True):
                order[j] = k
        yield tuple(order)


def _structure(st: _Statement, claim: _Claim) -> _Structure | None:
    """The correspondence of indices (see :class:`_Structure`), preferring a one-to-one matching; None
    when an ellipsis makes axes ambiguous."""
    if st.has_ellipsis or any(ELLIPSIS in t for t in claim.terms):
        return None
    first: _Structure | None = None
    for order in _alignments(st, claim):
        to_claim: dict[str, list[str]] = {}
        to_ref: dict[str, list[str]] = {}
        for term, k in zip(claim.terms, order, strict=True):
            for mine, ref in zip(term, st.axes[k], strict=True):
                if mine not in to_claim.setdefault(ref, []):
                    to_claim[ref].append(mine)
                if ref not in to_ref.setdefault(mine, []):
                    to_ref[mine].append(ref)
        if all(len(v) == 1 for v in to_claim.values()) and all(
            len(v) == 1 for v in to_ref.values()
        ):
            return _Structure(order, {r: v[0] for r, v in to_claim.items()}, {}, {})
        if first is None:
            joins = {m: v for m, v in to_ref.items() if len(v) > 1}
            splits = {r: v for r, v in to_claim.items() if len(v) > 1}
            first = _Structure(order, None, joins, splits)
    return first


def _close(got: np.ndarray, ref: np.ndarray, bound: np.ndarray, rtol: float) -> np.ndarray | None:
    """Entrywise agreement (within ``rtol`` of the sum of absolute values of the terms), or None when the
    shapes differ."""
    if got.shape != ref.shape:
        return None
    tol = rtol * bound + np.finfo(float).tiny
    return np.asarray(np.abs(got - ref) <= tol)


def _output_permutation(
    got: np.ndarray, ref: np.ndarray, bound: np.ndarray, rtol: float
) -> tuple[int, ...] | None:
    """A non-identity ``p`` with ``got.transpose(p)`` equal to ``ref`` (so the statement's output axis k
    is the answer's axis ``p[k]``), or None."""
    if got.ndim != ref.ndim or not 2 <= got.ndim <= MAX_PERMUTED_AXES:
        return None
    if sorted(got.shape) != sorted(ref.shape):
        return None
    identity = tuple(range(got.ndim))
    for p in itertools.permutations(identity):
        if p == identity:
            continue
        ok = _close(got.transpose(p), ref, bound, rtol)
        if ok is not None and bool(ok.all()):
            return p
    return None


def _rank_word(rank: int) -> str:
    return {0: "a scalar", 1: "a vector", 2: "a matrix"}.get(rank, f"a {rank}-tensor")


def _judge(
    st: _Statement, claim: _Claim, rng: np.random.Generator, rtol: float
) -> tuple[_Outcome, str]:
    """Judge ``claim`` against the statement at operands drawn from ``rng``; returns the outcome and the
    method line."""
    sizes, distinct = _draw_sizes(st, rng)
    ops = _draw_operands(st, sizes, rng)
    shapes = {name: list(a.shape) for name, a in ops.items()}
    point: dict[str, Any] = {"shapes": shapes}
    method = (
        f"numeric: chainrule.einsum at random normal operands ({_shapes_text(shapes)}; sizes "
        f"{_sizes_text(st, sizes)}{'' if distinct else ', not all distinct'}), rtol {rtol:g}"
    )
    names = st.names
    expected = f"'{st.spec.subscripts}' on [{', '.join(names)}]"

    # 1. The operands: how many, and which.
    if claim.names is None and len(claim.terms) != len(names):
        return _Outcome(
            "wrong",
            f"wrong number of operands: {len(claim.terms)}, the statement has {len(names)}",
            [
                f"your subscripts have {len(claim.terms)} input "
                f"term{'' if len(claim.terms) == 1 else 's'}; the statement multiplies "
                f"{len(names)} operands ({', '.join(names)}), so {expected}"
            ],
            Counterexample({"operands": list(names)}, len(names), len(claim.terms)),
        ), method
    if claim.names is not None and Counter(claim.names) != Counter(names):
        what = "wrong number of operands" if len(claim.names) != len(names) else "wrong operands"
        return _Outcome(
            "wrong",
            f"{what}: [{', '.join(claim.names)}], the statement's are [{', '.join(names)}]",
            [f"your answer multiplies [{', '.join(claim.names)}]; the statement, {expected}"],
            Counterexample({"operands": list(names)}, list(names), list(claim.names)),
        ), method
    order = next(_alignments(st, claim))

    # 2. The number of indices of each operand.
    lines: list[str] = []
    first_bad: Counterexample | None = None
    for j, (term, k) in enumerate(zip(claim.terms, order, strict=True)):
        rank = len(st.axes[k])
        count = len(term.replace(ELLIPSIS, ""))
        if count == rank or (ELLIPSIS in term and count <= rank):
            continue
        name = names[k]
        declared = (
            f", declared {'×'.join(st.symbols[name]) or 'a scalar'}" if name in st.symbols else ""
        )
        lines.append(
            f"operand {j + 1} ({name}) has {count} ind{'ex' if count == 1 else 'ices'} "
            f"'{term}' in your answer, but {name} is {_rank_word(rank)} ({rank} "
            f"ax{'is' if rank == 1 else 'es'}{declared})"
        )
        if first_bad is None:
            first_bad = Counterexample({"shapes": {name: shapes[name]}}, rank, count)
    if first_bad is not None:
        return _Outcome("wrong", lines[0], lines, first_bad), method

    arrays = [ops[names[k]] for k in order]
    ref = np.asarray(einsum(st.spec.subscripts, *[ops[n] for n in names]), dtype=float)
    bound = np.asarray(einsum(st.spec.subscripts, *[np.abs(ops[n]) for n in names]), dtype=float)
    structure = _structure(st, claim)
    struct_lines = _structure_lines(st, claim, structure)

    # 3. One size per index of the answer, and a result small enough to compute.
    size_lines = _size_lines(claim, [names[k] for k in order], arrays)
    try:
        _, info = einsum_path(claim.subscripts, *[a.shape for a in arrays])
    except ValueError as exc:
        size_lines = size_lines or [f"cannot be evaluated on the operands: {exc}"]
        info = None
    if info is None or size_lines:
        return _Outcome(
            "wrong",
            f"cannot be evaluated on the statement's operands: {size_lines[0]}",
            [*size_lines, *struct_lines],
            Counterexample(point, list(ref.shape), size_lines[0]),
        ), method
    if info.largest_intermediate > MAX_ELEMENTS:
        # Too large to compute; a result whose shape is no arrangement of the statement's is still
        # wrong, and its shape follows from the sizes alone.
        shape = _result_shape(claim, arrays)
        if shape is not None and sorted(shape) != sorted(ref.shape):
            lines = [
                *struct_lines,
                f"your result has shape {shape}; the statement's has {ref.shape}",
            ]
            return _Outcome(
                "wrong", lines[0], lines, Counterexample(point, list(ref.shape), list(shape))
            ), method
        return _Outcome(
            "undecided",
            f"your contraction needs a tensor of {info.largest_intermediate:,} elements at the drawn "
            f"sizes; the limit is {MAX_ELEMENTS:,}",
            struct_lines,
        ), method
    got = np.asarray(einsum(claim.subscripts, *arrays), dtype=float)

    # 4. Compare.
    ok = _close(got, ref, bound, rtol)
    if ok is not None and bool(ok.all()):
        return _Outcome("correct", _correct_summary(st, claim, structure)), method
    perm = _output_permutation(got, ref, bound, rtol)
    diagnosis: list[str] = []
    summary = ""
    if perm is not None:
        if ELLIPSIS in claim.output:
            summary = f"your output holds the expected axes in the order {perm}: axes transposed"
        else:
            want = "".join(claim.output[p] for p in perm)
            summary = f"your output is {claim.output}, expected {want}: axes transposed"
        diagnosis.append(summary)
    diagnosis.extend(line for line in struct_lines if line not in diagnosis)
    if got.shape != ref.shape:
        diagnosis.append(f"your result has shape {got.shape}; the statement's has {ref.shape}")
        cex = Counterexample(point, list(ref.shape), list(got.shape))
    else:
        assert ok is not None
        index = [int(i) for i in np.argwhere(~ok)[0]]
        e, g = float(ref[tuple(index)]), float(got[tuple(index)])
        cex = Counterexample(point, e, g, g - e, index)
        diagnosis.append(f"at index {tuple(index)} the statement gives {e:.6g}, yours {g:.6g}")
    if not summary:
        summary = diagnosis[0] if struct_lines else "not the statement's contraction"
        if not struct_lines:
            diagnosis.insert(0, f"the values differ from the statement's contraction {expected}")
    return _Outcome("wrong", summary, diagnosis, cex), method


def _result_shape(claim: _Claim, arrays: Sequence[np.ndarray]) -> tuple[int, ...] | None:
    """The shape of the answer's result from its operands' sizes (None with an ellipsis)."""
    if any(ELLIPSIS in t for t in (*claim.terms, claim.output)):
        return None
    size = {
        ch: n
        for term, a in zip(claim.terms, arrays, strict=True)
        for ch, n in zip(term, a.shape, strict=True)
    }
    return tuple(size[ch] for ch in claim.output)


def _size_lines(claim: _Claim, names: Sequence[str], arrays: Sequence[np.ndarray]) -> list[str]:
    """An answer index that runs over axes of different sizes cannot be evaluated: one line each."""
    slots: dict[str, list[tuple[str, int, int]]] = {}
    for term, name, arr in zip(claim.terms, names, arrays, strict=True):
        if ELLIPSIS in term:
            return []  # the engine's own message (step 3) covers broadcast dimensions
        for axis, ch in enumerate(term):
            slots.setdefault(ch, []).append((name, axis, arr.shape[axis]))
    lines = []
    for ch, where in slots.items():
        a = where[0]
        b = next((w for w in where if w[2] != a[2]), None)
        if b is not None:
            lines.append(
                f"your index {ch} runs over axis {a[1] + 1} of {a[0]} (size {a[2]}) and axis "
                f"{b[1] + 1} of {b[0]} (size {b[2]}): different dimensions"
            )
    return lines


def _structure_lines(st: _Statement, claim: _Claim, s: _Structure | None) -> list[str]:
    """The diagnosis that the index correspondence gives: sums missing or extra, indices joined or split."""
    if s is None:
        return []
    lab = st.spec.label
    if s.rename is None:
        lines = [
            f"your index {m} stands for the statement's different indices "
            f"{', '.join(lab(r) for r in refs)}"
            for m, refs in s.joins.items()
        ]
        if not lines:  # a join already names both sides of a swap; a split alone is news
            lines = [
                f"the statement's index {lab(r)} is one index, but your answer writes it as "
                f"{', '.join(mine)}"
                for r, mine in s.splits.items()
            ]
        return lines
    rename = s.rename
    lines = []

    def also(r: str) -> str:
        return "" if rename[r] == lab(r) else f" (the statement's {lab(r)})"

    for r in st.out_axes:
        if rename[r] not in claim.output:
            lines.append(f"sums over {rename[r]} too{also(r)}, which should stay in the output")
    expected = {rename[r] for r in st.out_axes}
    for r, mine in rename.items():
        if mine in claim.output and mine not in expected:
            lines.append(f"keeps {mine}{also(r)}, which should be summed")
    return lines


def _correct_summary(st: _Statement, claim: _Claim, s: _Structure | None) -> str:
    if s is None or s.rename is None or "".join(s.rename[r] for r in st.out_axes) != claim.output:
        return f"equal to the statement's contraction '{st.spec.subscripts}' at the drawn operands"
    lab = st.spec.label
    changed = [f"{lab(r)}→{m}" for r, m in s.rename.items() if lab(r) != m]
    text = (
        f"equivalent up to renaming {', '.join(changed)}"
        if changed
        else f"the statement's contraction '{st.spec.subscripts}'"
    )
    if s.order != tuple(range(len(st.names))) and [st.names[k] for k in s.order] != list(st.names):
        text += f", with the operands in another order ({', '.join(st.names[k] for k in s.order)})"
    return text


# -- drawing statements ----------------------------------------------------------------------------------


def _statement_params(rule: Mapping[str, Any]) -> dict[str, int]:
    """The parameters of an ``index_statement`` draw, defaults filled in.

    Raises:
        FormatError: field ``random.notation``: an unknown key, a non-integer, a value out of bounds, or
            a single rank-1 operand (no index both kept and summed).
    """
    params: dict[str, int] = {}
    for key, value in rule.items():
        if key == "draw":
            continue
        if key not in _STATEMENT_DRAW:
            raise FormatError(
                f"unknown key {key!r} in an index_statement draw; its keys are draw, "
                f"{', '.join(_STATEMENT_DRAW)}",
                field="random.notation",
            )
        low, high, _ = _STATEMENT_DRAW[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise FormatError(
                f"{key} must be an integer from {low} to {high}, got {value!r}",
                field="random.notation",
            )
        params[key] = value
    for key, (_, _, default) in _STATEMENT_DRAW.items():
        params.setdefault(key, default)
    if params["operands"] * params["max_rank"] < 2:
        raise FormatError(
            "one operand of rank 1 has no index to keep and one to sum: raise operands or max_rank",
            field="random.notation",
        )
    return params


def _draw_statement(params: Mapping[str, int], rng: np.random.Generator) -> str:
    r"""A random well-formed statement such as ``C_{kj} = \sum_{i} A_{ij} B_{ik}``: ``operands``
    operands of rank 1 to ``max_rank``, at least one index kept and at least one summed."""
    n_ops, max_rank = params["operands"], params["max_rank"]
    terms: list[list[str]] = []
    used: list[str] = []
    for _ in range(100):
        ranks = [int(rng.integers(1, max_rank + 1)) for _ in range(n_ops)]
        if sum(ranks) < 2:
            continue
        terms, used = [], []
        for rank in ranks:
            term: list[str] = []
            for _ in range(rank):
                shared = [lab for lab in used if lab not in term]
                # Sharing an index with an earlier operand makes a contraction, not an outer product.
                if shared and rng.random() < 0.5:
                    lab = shared[int(rng.integers(len(shared)))]
                else:
                    lab = _DRAW_LABELS[len(used)]
                    used.append(lab)
                term.append(lab)
            terms.append(term)
        if len(used) >= 2:
            break
    else:  # pragma: no cover - each try succeeds with probability at least 1/4
        terms = [["i", "j"]] + [["j"]] * (n_ops - 1)
        used = ["i", "j"]
    n_out = int(rng.integers(1, len(used)))
    out = [str(x) for x in rng.permutation(used)[:n_out]]
    summed = [lab for lab in used if lab not in out]
    factors = " ".join(
        f"{name}_{{{''.join(t)}}}" for name, t in zip(_DRAW_NAMES, terms, strict=False)
    )
    return f"C_{{{''.join(out)}}} = \\sum_{{{','.join(summed)}}} {factors}"


# -- the kind --------------------------------------------------------------------------------------------


class EinsumKind(Kind):
    """Index notation ↔ einsum: solve gives the subscripts, check grades claimed subscripts by evaluation.

    Givens (per part, or at problem level for a problem without parts; problem-level ``shapes`` are shared
    by the parts): ``notation`` (required) and ``shapes``. Check options: ``rtol``. Random fields:
    ``notation`` (``{ draw = "index_statement", operands = 2, max_rank = 3 }`` or any draw of
    :mod:`chainrule.problems.draws`).
    """

    name: ClassVar[str] = "einsum"
    summary: ClassVar[str] = (
        "an index-notation statement or a matrix expression, answered by einsum subscripts"
    )
    givens: ClassVar[dict[str, F.Field]] = {
        "notation": F.Field(
            F.string, doc="the statement, e.g. 'C_{jk} = \\sum_i A_{ijk} b_i' or 'C = A G^T B'"
        ),
        "shapes": F.Field(
            F.string_table, doc='dimension symbols per operand, e.g. { A = "d,e", G = "f,e" }'
        ),
    }
    part_fields: ClassVar[dict[str, F.Field]] = dict(givens)
    check_options: ClassVar[dict[str, F.Field]] = {
        "rtol": F.Field(F.positive, doc=f"relative tolerance of the comparison ({DEFAULT_RTOL:g})"),
    }
    random_fields: ClassVar[tuple[str, ...]] = ("notation",)

    def prepare(self, problem: Problem) -> None:
        """Parse every part's statement, read its model answer, and check the ``random`` rules.

        Caches ``problem.prepared["einsum"]``: part id → the parsed statement.

        Raises:
            FormatError: a missing or unreadable ``notation`` (with a caret), ``shapes`` that do not fit
                it, too many operands (``MAX_OPERANDS``), indices (``MAX_LABELS``) or axes
                (``MAX_RANK``), an unreadable model ``answer``, or a bad ``random.notation`` rule.
        """
        statements: dict[str, _Statement] = {}
        for part in problem.parts:
            st = _build_statement(problem, part)
            statements[part.id] = st
            if part.answer is not None:
                _read_claim(part.answer, st, part)
        problem.prepared["einsum"] = statements
        for key, rule in problem.random.items():
            if key in ("require", "max_tries"):
                continue
            if isinstance(rule, dict) and rule.get("draw") == "index_statement":
                _statement_params(rule)
            else:
                from chainrule.problems.draws import validate_rule

                validate_rule(rule, key)

    def _statement(self, problem: Problem, part: Part) -> _Statement:
        cache = problem.prepared.get("einsum")
        if cache is None or part.id not in cache:
            self.prepare(problem)
            cache = problem.prepared["einsum"]
        st: _Statement = cache[part.id]
        return st

    def solve(self, problem: Problem) -> ProblemSolution:
        """Each part's einsum subscripts, worked from the statement, checked against the literal loop sum
        and by reading the Σ form back; the file's model answers are checked as claims (the self-test).

        Returns:
            A ProblemSolution with one PartSolution per part and one ``einsum_path`` figure per part.
        """
        solution = self.new_solution(problem)
        for part in problem.parts:
            st = self._statement(problem, part)
            spec = st.spec
            rng, _ = answer_rng(problem.id, part.id, spec.subscripts, salt="solve")
            sizes, _ = _draw_sizes(st, rng, total_cap=MAX_LOOP_TERMS)
            ops = _draw_operands(st, sizes, rng)
            arrays = [ops[n] for n in spec.operands]
            operands = f"[{', '.join(spec.operands)}]"
            summed = ", ".join(spec.label(c) for c in spec.summed) or "nothing"
            steps = [
                Step(f"statement: {st.notation}", st.latex, "as given"),
                Step(
                    f"einsum subscripts: '{spec.subscripts}'",
                    "",
                    "one letter per index, a term per operand; the output's indices after ->",
                ),
                Step(f"operands: {operands}", "", "in the order of the terms"),
                Step(spec.to_text(), spec.to_latex(), f"summed over {summed}"),
            ]
            checks = [_loop_check(spec, arrays), _readback_check(spec)]
            model_check = self.model_verdict(problem, part)
            solution.parts.append(
                PartSolution(
                    part=part.id,
                    statement=part.statement,
                    answer=spec.subscripts,
                    answer_text=f"'{spec.subscripts}', {operands}",
                    answer_latex=spec.to_latex(),
                    steps=steps,
                    checks=checks,
                    model_check=model_check,
                )
            )
            solution.figures.append(_path_figure(spec, arrays, part.id))
        return solution

    def check(self, problem: Problem, part: Part, answer: Any) -> Verdict:
        """Grade claimed einsum subscripts (or a named table, or index notation) for ``part``.

        Correct when the answer's contraction equals the statement's at operands drawn from
        ``answer_rng(problem.id, part.id, answer)`` (so up to renaming of indices, and of operand order
        when the answer names its operands); wrong with a diagnosis and a counterexample otherwise;
        undecided when the answer's contraction is too large to evaluate.

        Raises:
            FormatError: field ``answer``: an answer that cannot be read (see ``_read_claim``).
        """
        st = self._statement(problem, part)
        claim = _read_claim(answer, st, part)
        rng, seed = answer_rng(problem.id, part.id, answer)
        rtol = float(problem.check.get("rtol", DEFAULT_RTOL))
        outcome, method = _judge(st, claim, rng, rtol)
        return Verdict(
            problem=problem.id,
            part=part.id,
            status=outcome.status,
            summary=outcome.summary,
            diagnosis=outcome.diagnosis,
            counterexample=outcome.counterexample,
            method=method,
            seed=seed,
            points=part.points if outcome.status == "correct" else 0.0,
            max_points=part.points,
            answer=answer,
        )

    def model_answer(self, problem: Problem, part: Part) -> Any:
        """The statement's einsum subscripts with an explicit output, e.g. ``"ijk,i->jk"`` (terms in the
        statement's operand order)."""
        return self._statement(problem, part).spec.subscripts

    def draw(self, problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
        """A new ``notation`` per ``problem.random``: an ``index_statement`` rule draws a random statement
        (see ``_draw_statement``); any other rule is drawn by :func:`chainrule.problems.draws.draw_value`.

        Raises:
            FormatError: a rule that cannot be read (field ``random.<key>``).
        """
        out: dict[str, Any] = {}
        for key, rule in problem.random.items():
            if key in ("require", "max_tries"):
                continue
            if isinstance(rule, dict) and rule.get("draw") == "index_statement":
                out[key] = _draw_statement(_statement_params(rule), rng)
            else:
                from chainrule.problems.draws import draw_value

                out[key] = draw_value(rule, rng, field=key)
        return out


# -- solve's checks and figure ---------------------------------------------------------------------------


def _loop_check(spec: IndexSpec, arrays: Sequence[np.ndarray]) -> CheckLine:
    """The engine against the literal loop sum (or NumPy's einsum when the loops would be too many)."""
    shapes = _shapes_text({n: a.shape for n, a in zip(spec.operands, arrays, strict=True)})
    fast = np.asarray(einsum(spec.subscripts, *arrays), dtype=float)
    try:
        slow, bound = loop_einsum(
            spec.subscripts, *arrays, max_iterations=MAX_LOOP_TERMS, with_bound=True
        )
    except ValueError:
        # Too many terms for Python loops: NumPy's einsum is the independent reference instead.
        slow = np.einsum(spec.subscripts, *arrays)
        bound = np.einsum(spec.subscripts, *[np.abs(a) for a in arrays])
        err = float(np.max(np.abs(fast - slow), initial=0.0))
        ok = bool(np.all(np.abs(fast - slow) <= 1e-12 * bound + np.finfo(float).tiny))
        return CheckLine(
            "numeric",
            f"chainrule.einsum against numpy.einsum at random operands {shapes} (the literal sum "
            f"has more than {MAX_LOOP_TERMS:,} terms): max |error| {err:.1e}",
            ok,
        )
    err = float(np.max(np.abs(fast - slow), initial=0.0))
    ok = bool(np.all(np.abs(fast - slow) <= 1e-12 * np.asarray(bound) + np.finfo(float).tiny))
    return CheckLine(
        "loops",
        f"chainrule.einsum against the literal loop sum at random operands {shapes}: "
        f"max |error| {err:.1e}",
        ok,
    )


def _readback_check(spec: IndexSpec) -> CheckLine:
    """The Σ form read back by the parser is the same contraction on the same operands."""
    latex = spec.to_latex()
    try:
        back = parse_index_notation(latex, einstein=False)
        ok = back.equivalent(spec)
        found = back.subscripts
    except ValueError as exc:  # pragma: no cover - to_latex writes what the parser reads
        ok, found = False, f"unreadable ({exc})"
    return CheckLine(
        "exact",
        f"the Σ form {latex} reads back as '{found}' on [{', '.join(spec.operands)}]: "
        f"{'the same contraction' if ok else 'a different contraction'}",
        ok,
    )


def _path_figure(spec: IndexSpec, arrays: Sequence[np.ndarray], part_id: str) -> Figure:
    """The contraction path at the declared sizes when the statement gives them all (``A \\in
    \\mathbb{R}^{4 \\times 5}``), else at the drawn shapes, as data for an ``einsum_path`` figure."""
    declared = dict(spec.shapes)
    if all(n in declared for n in spec.operands):
        shapes = [list(declared[n]) for n in spec.operands]
    else:
        shapes = [list(a.shape) for a in arrays]
    _, info = einsum_path(spec.subscripts, *[tuple(s) for s in shapes])
    steps = []
    for step, text in zip(info.steps, info.step_subscripts, strict=True):
        inputs, result = text.split("->")
        steps.append(
            {
                "operands": inputs.split(","),
                "positions": list(step.operands),
                "result": result,
                "subscripts": text,
                "kernel": step.kernel,
                "flops": int(step.flops),
                "pre": bool(step.pre),
            }
        )
    where = f"part {part_id}: " if part_id else ""
    return Figure(
        "einsum_path",
        f"{where}contraction path of '{spec.subscripts}' at shapes "
        f"{', '.join(str(tuple(s)) for s in shapes)}: {info.opt_cost:,} FLOPs "
        f"(naive {info.naive_cost:,})",
        {
            "subscripts": spec.subscripts,
            "operands": list(spec.operands),
            "shapes": shapes,
            "sizes": dict(info.sizes),
            "naive_flops": int(info.naive_cost),
            "opt_flops": int(info.opt_cost),
            "steps": steps,
        },
    )
