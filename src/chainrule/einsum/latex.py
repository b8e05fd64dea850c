r"""Index notation: LaTeX-style statements ↔ einsum specs.

``parse_index_notation`` reads a statement such as ``C_{jk} = \sum_i A_{ijk} b_i`` or ``C = A G^T B`` and
returns an :class:`IndexSpec` (einsum subscripts, operand names, output name). ``IndexSpec.to_latex()`` and
``IndexSpec.to_text()`` go the other way, and ``IndexSpec.from_subscripts`` builds a spec from any einsum
subscripts. The statement is tokenized and parsed by hand; nothing is ever evaluated.

Reading rules (LaTeX, with a few plain-text conveniences):

- **Index form.** Factors carry subscripts: ``A_{ijk}``, ``A_{i,j,k}``, ``b_i``, ``T_{\mu\nu}``, ``A[i,j,k]``.
  Without commas every letter, with any digits after it, is one index (``x_{ij}``, ``x_{i1j2}``); with
  commas every item is one index (``x_{ab,c}``).
  ``A_ijk`` (no braces, lower-case run) is read as ``A_{ijk}``; ``A_iB_j`` keeps TeX's reading.
  ``\sum_i``, ``\sum_{j,l}``, ``\sum_{i=1}^{n}``, ``\sum_j\sum_l``, ``Σ_i`` and ``sum_i`` sum over indices.
  An ellipsis (``\dots``, ``\ldots``, ``\cdots``, ``...``, ``…``) inside a subscript stands for broadcast
  dimensions. Factors are separated by spaces, ``\cdot``, ``*`` or ``·``; parentheses only group.
  A factor without a subscript is a scalar; ``x_i^2`` is ``x_i x_i``.
- **Matrix form** (no subscript and no ``\sum`` on the right): a product of matrices, vectors and scalars with
  transposes (``^T``, ``^\top``, ``^{T}``, ``^\intercal``), integer powers and parentheses, e.g.
  ``C = A G^T B`` → ``"ab,cb,cd->ad"``. Upper-case names are matrices, lower-case Latin names column vectors,
  lower-case Greek names scalars, unless a declaration such as ``x \in \mathbb{R}^{n}`` follows the statement
  (``C = AG^TB, A \in \mathbb{R}^{d\times e}, G \in \mathbb{R}^{f \times e}, B \in \mathbb{R}^{f\times l}``
  gives exactly ``"de,fe,fl->dl"``). A run of letters (``AG``, ``Ax``) is a product of one-letter factors,
  as TeX typesets it (a letter keeps its digits: ``W1``); write ``\mathrm{Wq}`` for one matrix named Wq.
  In index form a subscripted run is one name (``Wq_{ij}``). Index letters are chosen in
  order of first appearance from ``a``, skipping letters the left side or the declarations use.
- **Declarations** after the statement, separated by ``,`` or ``;``: ``A \in \mathbb{R}^{4 \times 5}``
  (also ``ℝ``, ``∈``, ``×``). Sizes become ``IndexSpec.shapes``; size names (``d``, ``e``) name the letters
  of matrix form and must agree on every contracted dimension.
- **Names.** ``A``, ``W1``, ``Wq_{ij}``, ``\mathbf{A}``, ``\mathrm{Wq}``, ``\alpha`` (Greek names become
  their ASCII word, ``"alpha"``), ``α``.

Checks (``ValueError`` naming the token and its 0-based position): an index on the right that is neither
summed nor on the left (unless ``einstein=True`` and it occurs at least twice on the right), a summed index
on the left, an index on the left missing from the right, an index repeated on the left, an index summed twice
or never used, unbalanced braces/brackets/parentheses, an empty side, an unknown command, a transpose in index
form, an inner-dimension mismatch in matrix form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from chainrule.einsum.index_notation import (
    ELLIPSIS,
    LETTERS,
    IndexSpec,
    loop_einsum,
    spec_from_subscripts,
)
from chainrule.einsum.index_notation import GREEK as _GREEK
from chainrule.einsum.index_notation import GREEK_FROM_CHAR as _GREEK_FROM_CHAR
from chainrule.einsum.index_notation import LABEL_RE as _LABEL_RE
from chainrule.einsum.index_notation import is_name as _is_name
from chainrule.einsum.index_notation import is_scalar_greek as _is_scalar_greek

__all__ = [
    "IndexSpec",
    "loop_einsum",
    "parse_index_notation",
    "spec_from_subscripts",
]

# ----------------------------------------------------------------------------------------------------------
# Tokenizer
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Tok:
    kind: str  # "cmd", "ident", "num", "sym", "ellipsis", "sum", "greek", "end"
    text: str
    pos: int


_SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "left", "right", "big", "Big", "bigl", "bigr",
            "Bigl", "Bigr", "displaystyle", "limits", "nolimits"}  # fmt: skip
_ELLIPSIS_CMDS = {"dots", "ldots", "cdots", "dotsc", "dotsb"}
_NAME_FONTS = {"mathbf", "mathrm", "boldsymbol", "bm", "mathit", "mathsf", "mathcal", "mathbb",
               "text", "textbf", "textrm", "operatorname", "vec", "mathtt"}  # fmt: skip
_TRANSPOSE_CMDS = {"top", "intercal", "mathsf", "mathrm", "text", "mathit"}
_OPEN_CLOSE = {"{": "}", "[": "]", "(": ")"}


def _tokenize(text: str) -> list[_Tok]:
    """Tokens of ``text``; checks that braces, brackets and parentheses balance."""
    toks: list[_Tok] = []
    i, n = 0, len(text)
    stack: list[_Tok] = []
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in "$&~":
            i += 1
            continue
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+)", text[i:])
            if m:
                name = m.group(1)
                j = i + len(m.group(0))
            elif i + 1 < n:
                name, j = text[i + 1], i + 2
            else:
                raise ValueError(f"dangling '\\' at position {i}")
            if name in {"{", "}"}:
                raise ValueError(f"escaped brace '\\{name}' at position {i} is not supported")
            if name in _SPACING:
                i = j
                continue
            if name in _ELLIPSIS_CMDS:
                toks.append(_Tok("ellipsis", "\\" + name, i))
            elif name == "sum":
                toks.append(_Tok("sum", "\\sum", i))
            elif name in _GREEK:
                toks.append(_Tok("greek", name, i))
            else:
                toks.append(_Tok("cmd", "\\" + name, i))
            i = j
            continue
        if text.startswith("...", i):
            toks.append(_Tok("ellipsis", "...", i))
            i += 3
            continue
        if ch == "…":
            toks.append(_Tok("ellipsis", ch, i))
        elif ch == "Σ" or ch == "∑":
            toks.append(_Tok("sum", ch, i))
        elif ch in _GREEK_FROM_CHAR:
            toks.append(_Tok("greek", _GREEK_FROM_CHAR[ch], i))
        elif ch in "0123456789":
            m = re.match(r"[0-9]+", text[i:])
            assert m is not None
            toks.append(_Tok("num", m.group(0), i))
            i += len(m.group(0))
            continue
        elif ch.isalpha():
            j = i + 1
            while j < n and (text[j].isalpha() or text[j] in "0123456789"):
                j += 1
            word = text[i:j]
            # Greek letters inside a word end it: they are tokens of their own.
            cut = next((k for k, c in enumerate(word) if k and c in _GREEK_FROM_CHAR), len(word))
            toks.append(_Tok("ident", word[:cut], i))
            i += cut
            continue
        elif ch in "{[(":
            tok = _Tok("sym", ch, i)
            stack.append(tok)
            toks.append(tok)
        elif ch in "}])":
            if not stack or _OPEN_CLOSE[stack[-1].text] != ch:
                raise ValueError(f"unmatched {ch!r} at position {i}")
            stack.pop()
            toks.append(_Tok("sym", ch, i))
        elif ch in "_^=,;*·⋅'+-./|<>×∈":
            toks.append(_Tok("sym", ch, i))
        else:
            raise ValueError(f"unexpected character {ch!r} at position {i}")
        i += 1
    if stack:
        raise ValueError(f"unbalanced {stack[-1].text!r} at position {stack[-1].pos}")
    toks.append(_Tok("end", "", n))
    return toks


# ----------------------------------------------------------------------------------------------------------
# Parser: the statement as a small tree
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Index:
    label: str  # a Latin letter, a multi-character label, a Greek name, or ELLIPSIS
    pos: int


@dataclass
class _Factor:
    name: str
    pos: int
    indices: list[_Index] | None = None  # None: no subscript was written
    transpose: bool = False
    power: int = 1
    split: bool = False  # a run of letters that matrix form reads as one-letter factors (TeX's AG)


@dataclass
class _Sum:
    indices: list[_Index]
    pos: int


@dataclass
class _Group:
    items: list[_Factor | _Sum | _Group]
    pos: int
    transpose: bool = False
    power: int = 1


_Item = _Factor | _Sum | _Group


@dataclass
class _Decl:
    name: str
    dims: list[tuple[str, int]]  # (symbol, pos): a dimension letter/label, or digits for a size
    pos: int


def _quote(text: str) -> str:
    """``'text'`` without repr's doubled backslashes, so ``\\sum`` reads as written."""
    return f"'{text}'"


def _describe(tok: _Tok) -> str:
    return "the end" if tok.kind == "end" else _quote(tok.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.k = 0

    # -- token helpers -----------------------------------------------------------------------------------

    @property
    def tok(self) -> _Tok:
        return self.toks[self.k]

    def advance(self) -> _Tok:
        tok = self.toks[self.k]
        self.k += 1
        return tok

    def is_sym(self, *chars: str) -> bool:
        return self.tok.kind == "sym" and self.tok.text in chars

    def error(self, what: str, tok: _Tok | None = None) -> ValueError:
        tok = tok or self.tok
        return ValueError(f"{what} {_describe(tok)} at position {tok.pos}")

    def expect_sym(self, ch: str) -> _Tok:
        if not self.is_sym(ch):
            raise self.error(f"expected {ch!r}, found")
        return self.advance()

    def take_char(self) -> _Tok:
        """The current ident/num token's first character; the rest stays as the next token (TeX's reading)."""
        tok = self.tok
        if len(tok.text) == 1:
            return self.advance()
        head = _Tok(tok.kind, tok.text[0], tok.pos)
        rest = tok.text[1:]
        kind = "num" if rest[0].isdigit() else "ident"
        self.toks[self.k] = _Tok(kind, rest, tok.pos + 1)
        return head

    def skip_group(self) -> None:
        """Skips one argument: a braced group or a single token."""
        if self.is_sym("{"):
            depth = 0
            while True:
                t = self.advance()
                if t.kind == "sym" and t.text == "{":
                    depth += 1
                elif t.kind == "sym" and t.text == "}":
                    depth -= 1
                    if depth == 0:
                        return
        elif self.tok.kind in {"ident", "num"}:
            self.take_char()
        elif self.tok.kind != "end":
            self.advance()

    # -- statement ---------------------------------------------------------------------------------------

    def statement(self) -> tuple[_Factor, list[_Item], list[_Decl]]:
        if self.is_sym("="):
            raise self.error("empty left side before")
        lhs = self.factor(allow_transpose=False)
        if not self.is_sym("="):
            raise self.error("expected '=' after the left side, found")
        eq = self.advance()
        rhs = self.product(top=True)
        if not rhs:
            raise ValueError(f"empty right side after '=' at position {eq.pos}")
        decls = self.declarations()
        if self.tok.kind != "end":
            raise self.error("unexpected")
        return lhs, rhs, decls

    def at_product_end(self, top: bool) -> bool:
        if self.tok.kind == "end":
            return True
        if self.is_sym(")"):
            return True
        return top and (
            self.is_sym(",", ";") or (self.is_sym(".") and self.toks[self.k + 1].kind == "end")
        )

    def product(self, *, top: bool) -> list[_Item]:
        items: list[_Item] = []
        pending_op: _Tok | None = None
        while not self.at_product_end(top):
            tok = self.tok
            if (tok.kind == "sym" and tok.text in "*·⋅") or (
                tok.kind == "cmd" and tok.text == "\\cdot"
            ):
                if not items or pending_op is not None:
                    raise self.error("dangling product sign")
                pending_op = self.advance()
                continue
            pending_op = None
            if tok.kind == "sum" or (
                tok.kind == "ident" and tok.text == "sum" and self.toks[self.k + 1].text == "_"
            ):
                items.append(self.sum())
            elif self.is_sym("("):
                items.append(self.group())
            elif tok.kind in {"ident", "greek", "cmd"}:
                items.append(self.factor(allow_transpose=True))
            elif tok.kind == "sym" and tok.text in "+-":
                raise ValueError(
                    f"'{tok.text}' at position {tok.pos}: a sum of several terms is not one einsum "
                    "(write a single product)"
                )
            else:
                raise self.error("unexpected")
        if pending_op is not None:
            raise self.error("dangling product sign", pending_op)
        return items

    def group(self) -> _Group:
        open_tok = self.expect_sym("(")
        items = self.product(top=False)
        if not items:
            raise ValueError(f"empty parentheses at position {open_tok.pos}")
        self.expect_sym(")")
        grp = _Group(items, open_tok.pos)
        if self.is_sym("^"):
            grp.transpose, grp.power = self.superscript()
        if self.is_sym("_", "["):
            raise self.error("a subscript on parentheses is not supported:")
        return grp

    def sum(self) -> _Sum:
        start = self.advance()
        if not self.is_sym("_"):
            raise self.error(
                f"{start.text} needs its summation indices (e.g. {start.text}_i), found"
            )
        self.advance()
        indices = self.subscript(in_sum=True)
        if not indices:
            raise ValueError(f"{start.text} without indices at position {start.pos}")
        if self.is_sym("^"):  # an upper limit such as ^{n}: the shapes give the range
            self.advance()
            self.skip_group()
        return _Sum(indices, start.pos)

    def name(self) -> tuple[str, int, bool]:
        """An operand name: (name, position, whether matrix form reads it as several letters)."""
        tok = self.tok
        if tok.kind == "ident":
            self.advance()
            split = tok.text.isascii() and len(_letter_runs(tok.text)) > 1
            return tok.text, tok.pos, split
        if tok.kind == "greek":
            self.advance()
            return tok.text, tok.pos, False
        if tok.kind == "cmd" and tok.text[1:] in _NAME_FONTS:
            self.advance()
            if self.is_sym("{"):
                self.advance()
                parts = []
                while not self.is_sym("}"):
                    t = self.advance()
                    if t.kind not in {"ident", "num", "greek"}:
                        raise self.error("unexpected", t)
                    parts.append(t.text)
                self.advance()
                text = "".join(parts)
            elif self.tok.kind in {"ident", "greek"}:
                text = self.take_char().text if self.tok.kind == "ident" else self.advance().text
            else:
                raise self.error(f"{tok.text} needs a name, found")
            if not _is_name(text):
                raise ValueError(f"bad name {text!r} at position {tok.pos}")
            return text, tok.pos, False
        if tok.kind == "cmd":
            raise self.error("unknown command")
        raise self.error("expected a name, found")

    def factor(self, *, allow_transpose: bool) -> _Factor:
        name, pos, split = self.name()
        f = _Factor(name, pos, split=split)
        seen_sup = False
        while self.is_sym("_", "[", "^"):
            tok = self.tok
            if tok.text in "_[":
                if f.indices is not None:
                    raise self.error("second subscript")
                if tok.text == "_":
                    self.advance()
                    f.indices = self.subscript(in_sum=False)
                else:
                    f.indices = self.bracket()
                f.split = False
                dots = [ix for ix in f.indices if ix.label == ELLIPSIS]
                if len(dots) > 1:
                    raise ValueError(f"second ellipsis in {f.name!r} at position {dots[1].pos}")
            else:
                if seen_sup or not allow_transpose:
                    raise self.error("unexpected superscript")
                seen_sup = True
                f.transpose, f.power = self.superscript()
        if self.is_sym("'"):
            raise self.error("primes are not supported; write ^T for a transpose:")
        return f

    def superscript(self) -> tuple[bool, int]:
        """After '^': (transpose, power)."""
        caret = self.advance()
        tok = self.tok
        braced = self.is_sym("{")
        if braced:
            self.advance()
            tok = self.tok
        transpose, power = False, 1
        if tok.kind == "ident" and tok.text[0] == "T":
            self.take_char() if not braced else self.advance()
            if braced and tok.text != "T":
                raise self.error("unsupported superscript", tok)
            transpose = True
        elif tok.kind == "cmd" and tok.text[1:] in _TRANSPOSE_CMDS:
            self.advance()
            if tok.text[1:] not in {"top", "intercal"}:  # \mathsf{T}, \mathrm T, ...
                inner_braced = self.is_sym("{")
                if inner_braced:
                    self.advance()
                if not (self.tok.kind == "ident" and self.tok.text[0] == "T"):
                    raise self.error("unsupported superscript", tok)
                self.take_char()
                if inner_braced:
                    self.expect_sym("}")
            transpose = True
        elif tok.kind == "num":
            digits = self.take_char() if not braced else self.advance()
            power = int(digits.text)
            if power < 1:
                raise ValueError(
                    f"power {power} at position {digits.pos}: only positive powers are products"
                )
        elif tok.kind == "sym" and tok.text == "-":
            raise ValueError(
                f"inverse or negative power at position {tok.pos} is not a contraction"
            )
        else:
            raise self.error("unsupported superscript", tok if tok.kind != "end" else caret)
        if braced:
            self.expect_sym("}")
        return transpose, power

    def bracket(self) -> list[_Index]:
        self.expect_sym("[")
        indices = self.index_list(close="]", in_sum=False)
        self.expect_sym("]")
        return indices

    def subscript(self, *, in_sum: bool) -> list[_Index]:
        """After '_': a braced list, one command, or a run of letters."""
        tok = self.tok
        if self.is_sym("{"):
            self.advance()
            indices = self.index_list(close="}", in_sum=in_sum)
            self.expect_sym("}")
            return indices
        if tok.kind == "ident":
            nxt = self.toks[self.k + 1]
            glued = nxt.pos == tok.pos + len(tok.text) and nxt.kind == "sym" and nxt.text in "_[^"
            # Plain text 'A_ijk' means A_{ijk}; a mixed run like 'iB' in 'A_iB_j' keeps TeX's reading.
            if tok.text.isascii() and tok.text.isalpha() and tok.text.islower() and not glued:
                self.advance()
                return [_Index(ch, tok.pos + k) for k, ch in enumerate(tok.text)]
            t = self.take_char()
            if not t.text.isalpha():
                raise self.error("numeric index", t)
            return [_Index(t.text, t.pos)]
        if tok.kind == "greek":
            self.advance()
            return [_Index(tok.text, tok.pos)]
        if tok.kind == "ellipsis":
            self.advance()
            return [_Index(ELLIPSIS, tok.pos)]
        if tok.kind == "num":
            raise self.error("numeric index")
        raise self.error("expected an index after '_', found")

    def index_list(self, *, close: str, in_sum: bool) -> list[_Index]:
        """Indices up to ``close``: one per letter, or one per comma-separated item."""
        end = self.k
        depth = 0
        while not (depth == 0 and self.toks[end].kind == "sym" and self.toks[end].text == close):
            t = self.toks[end]
            if t.kind == "sym" and t.text in "{[(":
                depth += 1
            elif t.kind == "sym" and t.text in "}])":
                depth -= 1
            end += 1
        body = self.toks[self.k : end]
        comma = any(t.kind == "sym" and t.text == "," for t in body)
        indices: list[_Index] = []
        item: list[_Tok] = []
        for t in [*body, _Tok("sym", ",", self.toks[end].pos)] if comma else body:
            if comma and t.kind == "sym" and t.text == ",":
                if not item:
                    raise ValueError(f"empty index before ',' at position {t.pos}")
                indices.append(self.index_item(item, in_sum))
                item = []
            elif comma:
                item.append(t)
            else:
                indices.extend(self.index_tokens([t], in_sum))
        if not comma and in_sum:
            indices = self.strip_bound(body, indices)
        self.k = end
        return indices

    def strip_bound(self, body: list[_Tok], indices: list[_Index]) -> list[_Index]:
        eq = next((t for t in body if t.kind == "sym" and t.text == "="), None)
        if eq is None:
            return indices
        return [ix for ix in indices if ix.pos < eq.pos]

    def index_item(self, item: list[_Tok], in_sum: bool) -> _Index:
        if in_sum:  # \sum_{i=1, j=1}: drop the lower limit
            cut = next((k for k, t in enumerate(item) if t.kind == "sym" and t.text == "="), None)
            if cut is not None:
                item = item[:cut]
        if len(item) != 1:
            raise ValueError(
                f"index {self.text[item[0].pos : item[-1].pos + len(item[-1].text)]!r} "
                f"at position {item[0].pos}: one name per comma-separated item"
            )
        t = item[0]
        if t.kind == "ident":
            if not _LABEL_RE.fullmatch(t.text):
                raise ValueError(f"unsupported index {t.text!r} at position {t.pos}")
            return _Index(t.text, t.pos)
        return self.index_tokens([t], in_sum)[0]

    def index_tokens(self, toks: list[_Tok], in_sum: bool) -> list[_Index]:
        out: list[_Index] = []
        for t in toks:
            if t.kind == "ident":
                # One index per letter, with the digits after it: x_{ij} has i and j, x_{i1j2} has i1, j2.
                for m in re.finditer(r"[A-Za-z][0-9]*|.", t.text):
                    piece, at = m.group(0), t.pos + m.start()
                    if not _LABEL_RE.fullmatch(piece):
                        raise ValueError(f"unsupported index {piece!r} at position {at}")
                    out.append(_Index(piece, at))
            elif t.kind == "greek":
                out.append(_Index(t.text, t.pos))
            elif t.kind == "ellipsis":
                out.append(_Index(ELLIPSIS, t.pos))
            elif in_sum and t.kind in {"sym", "num"} and t.text not in "{}[]()_^,":
                continue  # the lower limit of \sum_{i=1}, dropped by strip_bound
            elif t.kind == "num":
                raise ValueError(f"numeric index {t.text!r} at position {t.pos}")
            elif t.kind == "cmd":
                raise ValueError(f"unknown command {_quote(t.text)} at position {t.pos}")
            else:
                raise ValueError(f"unexpected {_quote(t.text)} in a subscript at position {t.pos}")
        return out

    # -- declarations: ", A \in \mathbb{R}^{d \times e}" -----------------------------------------------

    def declarations(self) -> list[_Decl]:
        decls: list[_Decl] = []
        while self.tok.kind != "end":
            if self.is_sym(",", ";", "."):
                self.advance()
                continue
            if self.tok.kind == "cmd" and self.tok.text in {"\\text", "\\textrm"}:
                start = self.k
                self.advance()
                self.skip_group()
                if not self.at_in():
                    continue  # connecting words such as \text{where}
                self.k = start  # \text{name} \in ...: a declaration
            if self.tok.kind == "ident" and self.tok.text in {"where", "and", "with"}:
                self.advance()
                continue
            decls.append(self.declaration())
        return decls

    def at_in(self) -> bool:
        return self.is_sym("∈") or (self.tok.kind == "cmd" and self.tok.text == "\\in")

    def declaration(self) -> _Decl:
        name, pos, _ = self.name()
        if not self.at_in():
            raise self.error(f"expected '\\in' after {name!r} in a declaration, found")
        self.advance()
        space = self.tok
        if space.kind == "cmd" and space.text == "\\mathbb":
            self.advance()
            self.skip_group()
        elif (space.kind == "cmd" and space.text in {"\\R", "\\C"}) or (
            space.kind == "ident" and space.text in {"ℝ", "R", "ℂ", "C"}
        ):
            self.advance()
        else:
            raise self.error("expected a space such as \\mathbb{R}, found")
        dims: list[tuple[str, int]] = []
        if self.is_sym("^"):
            self.advance()
            if self.is_sym("{"):
                self.advance()
                expect_dim = True
                while not self.is_sym("}"):
                    t = self.tok
                    if expect_dim and t.kind in {"ident", "num", "greek"}:
                        dims.append((self.advance().text, t.pos))
                        expect_dim = False
                    elif not expect_dim and (
                        (t.kind == "cmd" and t.text == "\\times")
                        or (t.kind == "sym" and t.text in "×,*")
                    ):
                        self.advance()
                        expect_dim = True
                    else:
                        raise self.error("unexpected", t)
                if expect_dim:
                    raise self.error("expected a dimension before")
                self.advance()
            elif self.tok.kind in {"ident", "num", "greek"}:
                t = self.take_char() if self.tok.kind != "greek" else self.advance()
                dims.append((t.text, t.pos))
            else:
                raise self.error("expected dimensions after '^', found")
        return _Decl(name, dims, pos)


# ----------------------------------------------------------------------------------------------------------
# From the tree to a spec
# ----------------------------------------------------------------------------------------------------------


def parse_index_notation(text: str, *, einstein: bool = False) -> IndexSpec:
    r"""The einsum spec of an index-notation or matrix statement.

    Examples:
        ``C_{jk} = \sum_i A_{ijk} b_i`` → subscripts ``"ijk,i->jk"``, operands ``("A", "b")``, output ``"C"``;
        ``C = A G^T B`` → ``"ab,cb,cd->ad"``, ``("A", "G", "B")``, ``"C"``.

    Args:
        text: the statement, ``LEFT = RIGHT`` (see the module docstring for the accepted forms).
        einstein: when True, an index written at least twice on the right and absent from the left is
            summed without a ``\sum``.

    Raises:
        ValueError: malformed text or an inconsistent statement; the message names the offending token and
            its 0-based position in ``text``.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_index_notation expects a string, got {type(text).__name__}")
    parser = _Parser(text)
    lhs, rhs, decls = parser.statement()
    if lhs.transpose or lhs.power != 1:
        raise ValueError(
            f"the left side {lhs.name!r} at position {lhs.pos} must not have a superscript"
        )
    decl_map: dict[str, _Decl] = {}
    for d in decls:
        if d.name in decl_map:
            raise ValueError(f"{d.name!r} is declared twice (position {d.pos})")
        decl_map[d.name] = d
    if _is_index_form(rhs):
        return _index_form(lhs, rhs, decl_map, einstein)
    return _matrix_form(lhs, rhs, decl_map)


def _walk(items: Sequence[_Item]) -> Iterator[_Factor | _Sum | _Group]:
    for it in items:
        yield it
        if isinstance(it, _Group):
            yield from _walk(it.items)


def _is_index_form(rhs: Sequence[_Item]) -> bool:
    return any(
        isinstance(it, _Sum) or (isinstance(it, _Factor) and it.indices is not None)
        for it in _walk(rhs)
    )


def _assign_letters(labels: Sequence[str], reserved: set[str]) -> dict[str, str]:
    """Einsum letters for index labels: a Latin letter keeps itself, others take the first free letter."""
    taken = set(reserved) | {lab for lab in labels if len(lab) == 1 and lab in LETTERS}
    free = (c for c in LETTERS if c not in taken)
    out: dict[str, str] = {}
    for lab in labels:
        if lab in out:
            continue
        if lab == ELLIPSIS or (len(lab) == 1 and lab in LETTERS):
            out[lab] = lab
            continue
        try:
            out[lab] = next(free)
        except StopIteration:
            raise ValueError(f"too many indices: more than {len(LETTERS)} letters needed") from None
    return out


def _index_form(
    lhs: _Factor, rhs: Sequence[_Item], decls: Mapping[str, _Decl], einstein: bool
) -> IndexSpec:
    """The spec of an index-notation statement: its factors and sums read off, every index checked
    (summed, on the left, or repeated under ``einstein``), the declarations checked against the
    factors, then einsum letters assigned."""
    factors: list[_Factor] = []
    sums: dict[str, _Index] = {}
    first_use: dict[str, _Index] = {}
    for it in rhs:
        _flatten_index_items(it, factors, sums, first_use)
    out_indices = lhs.indices or []
    left = _left_indices(out_indices)
    _check_indices(factors, sums, first_use, left, einstein)
    _check_declarations(factors, decls, lhs.name)
    subscripts, labels = _subscripts(factors, out_indices, sums, lhs.pos)
    names = tuple(f.name for f in factors)
    d = decls.get(lhs.name)
    out_term = subscripts.partition("->")[2]
    if (
        d is not None
        and lhs.name not in names
        and ELLIPSIS not in out_term
        and len(d.dims) != len(out_term)
    ):
        raise ValueError(
            f"the left side {lhs.name!r} has {len(out_term)} indices but is declared with "
            f"{len(d.dims)} dimensions at position {d.pos}"
        )
    return IndexSpec(subscripts, names, lhs.name, labels, _declared_shapes(decls, names))


def _left_indices(out_indices: Sequence[_Index]) -> dict[str, _Index]:
    """The left side's indices by label; a repeated one raises."""
    left: dict[str, _Index] = {}
    for ix in out_indices:
        if ix.label in left:
            raise ValueError(
                f"index {_shown(ix.label)} is repeated on the left side at position {ix.pos}"
            )
        left[ix.label] = ix
    return left


def _check_indices(
    factors: Sequence[_Factor],
    sums: Mapping[str, _Index],
    first_use: Mapping[str, _Index],
    left: Mapping[str, _Index],
    einstein: bool,
) -> None:
    """Every summed index is in some factor and not on the left; every index on the right is summed,
    on the left, or (``einstein``) repeated; every index on the left is on the right."""
    counts: dict[str, int] = {}
    for f in factors:
        for ix in f.indices or []:
            counts[ix.label] = counts.get(ix.label, 0) + 1
    for lab, ix in sums.items():
        if lab in left:
            raise ValueError(
                f"summed index {_shown(lab)} (position {ix.pos}) also appears on the left side "
                f"at position {left[lab].pos}"
            )
        if lab not in counts:
            raise ValueError(
                f"summed index {_shown(lab)} at position {ix.pos} appears in no factor"
            )
    for lab, ix in first_use.items():
        if lab in left or lab in sums:
            continue
        if einstein and counts[lab] >= 2:
            continue  # Einstein's convention: a repeated index is summed
        hint = " (or pass einstein=True)" if counts[lab] >= 2 else ""
        raise ValueError(
            f"index {_shown(lab)} at position {ix.pos} is neither summed nor on the left side{hint}"
        )
    for lab, ix in left.items():
        if lab not in counts:
            raise ValueError(
                f"index {_shown(lab)} on the left side at position {ix.pos} is not on the right"
            )


def _check_declarations(
    factors: Sequence[_Factor], decls: Mapping[str, _Decl], lhs_name: str
) -> None:
    """A declared factor has as many indices as declared dimensions; every declared name is used."""
    for f in factors:
        d = decls.get(f.name)
        if d is not None and not any(ix.label == ELLIPSIS for ix in f.indices or []):
            rank = len(f.indices or [])
            if len(d.dims) != rank:
                raise ValueError(
                    f"{f.name!r} at position {f.pos} has {rank} indices but is declared with "
                    f"{len(d.dims)} dimensions at position {d.pos}"
                )
    unknown = [n for n in decls if n not in {f.name for f in factors} | {lhs_name}]
    if unknown:
        raise ValueError(
            f"declared name {unknown[0]!r} at position {decls[unknown[0]].pos} is not used"
        )


def _subscripts(
    factors: Sequence[_Factor],
    out_indices: Sequence[_Index],
    sums: Mapping[str, _Index],
    lhs_pos: int,
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The einsum subscripts (``"ij,jk->ik"``) and the labels that took another letter
    (``(letter, label)`` pairs); an ellipsis must be on both sides, or on the right and summed."""
    order = [ix.label for ix in out_indices] + [ix.label for f in factors for ix in f.indices or []]
    letters = _assign_letters(order, set())
    terms = ["".join(letters[ix.label] for ix in f.indices or []) for f in factors]
    out_term = "".join(letters[ix.label] for ix in out_indices)
    if ELLIPSIS in out_term and not any(ELLIPSIS in t for t in terms):
        raise ValueError(
            f"the left side at position {lhs_pos} has an ellipsis that the right side lacks"
        )
    if any(ELLIPSIS in t for t in terms) and ELLIPSIS not in out_term and ELLIPSIS not in sums:
        ix = next(ix for f in factors for ix in f.indices or [] if ix.label == ELLIPSIS)
        raise ValueError(
            f"ellipsis at position {ix.pos} is neither on the left side nor summed (\\sum_{{\\dots}})"
        )
    for t, f in zip(terms, factors, strict=True):
        if t.count(ELLIPSIS) > 1:
            raise ValueError(f"{f.name!r} at position {f.pos} has more than one ellipsis")
    labels = tuple((letters[lab], lab) for lab in letters if letters[lab] != lab)
    return ",".join(terms) + "->" + out_term, labels


def _declared_shapes(
    decls: Mapping[str, _Decl], operands: Sequence[str]
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    r"""The shapes of operands declared with sizes only (``A \in \mathbb{R}^{4 \times 5}``)."""
    return tuple(
        (d.name, tuple(int(sym) for sym, _ in d.dims))
        for d in decls.values()
        if d.name in operands and all(sym.isdigit() for sym, _ in d.dims)
    )


def _shown(label: str) -> str:
    return _quote("\\" + label if label in _GREEK else label)


def _flatten_index_items(
    it: _Item, factors: list[_Factor], sums: dict[str, _Index], first_use: dict[str, _Index]
) -> None:
    if isinstance(it, _Sum):
        for ix in it.indices:
            if ix.label in sums:
                raise ValueError(f"index {_shown(ix.label)} is summed twice (position {ix.pos})")
            if ix.label in first_use:
                raise ValueError(
                    f"index {_shown(ix.label)} at position {first_use[ix.label].pos} is used before "
                    f"its sum at position {ix.pos}"
                )
            sums[ix.label] = ix
        return
    if isinstance(it, _Group):
        if it.transpose or it.power != 1:
            raise ValueError(
                f"a superscript on parentheses at position {it.pos} needs matrix notation "
                "(no subscripts on the right)"
            )
        for sub in it.items:
            _flatten_index_items(sub, factors, sums, first_use)
        return
    if it.transpose:
        raise ValueError(
            f"transpose of {it.name!r} at position {it.pos} in index notation: swap its indices instead"
        )
    for ix in it.indices or []:
        first_use.setdefault(ix.label, ix)
    factors.extend([it] * it.power)


# -- matrix form ------------------------------------------------------------------------------------------


class _Classes:
    """Union-find over matrix axes; each class may carry a declared size symbol (a letter or digits)."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.symbol: list[str | None] = []

    def new(self, symbol: str | None) -> int:
        self.parent.append(len(self.parent))
        self.symbol.append(symbol)
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int, where: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        sa, sb = self.symbol[ra], self.symbol[rb]
        # Two sizes, or two size names, that differ cannot meet; a name and a size can (n may be 3).
        if sa is not None and sb is not None and sa != sb and sa.isdigit() == sb.isdigit():
            raise ValueError(f"{where}: inner dimensions {sa} and {sb} differ")
        self.parent[rb] = ra
        if sa is None or (sb is not None and sa.isdigit()):
            self.symbol[ra] = sb


# A value in matrix form: (row class, column class); None is a dimension of size 1 (vectors, scalars).
_Shape = tuple[int | None, int | None]


class _MatrixBuilder:
    def __init__(self, decls: Mapping[str, _Decl]) -> None:
        self.decls = decls
        self.classes = _Classes()
        self.occurrences: list[tuple[str, tuple[int, ...]]] = []

    def leaf(self, f: _Factor) -> _Shape:
        d = self.decls.get(f.name)
        if d is not None:
            symbols: list[str | None] = [s for s, _ in d.dims]
        elif _is_scalar_greek(f.name):
            symbols = []
        elif f.name[0].islower():
            symbols = [None]
        else:
            symbols = [None, None]
        if len(symbols) > 2:
            raise ValueError(
                f"{f.name!r} at position {f.pos} is declared with {len(symbols)} dimensions: "
                "matrix notation takes scalars, vectors and matrices (use index notation)"
            )
        axes = tuple(self.classes.new(s) for s in symbols)
        self.occurrences.append((f.name, axes))
        if len(axes) == 2:
            return axes[0], axes[1]
        if len(axes) == 1:
            return axes[0], None
        return None, None

    def mul(self, left: _Shape, right: _Shape, what: str) -> _Shape:
        if left == (None, None):
            return right
        if right == (None, None):
            return left
        lc, rr = left[1], right[0]
        if lc is None and rr is None:
            return left[0], right[1]
        if lc is None or rr is None:
            lhs = "1 column" if lc is None else "a column dimension"
            rhs = "1 row" if rr is None else "a row dimension"
            raise ValueError(
                f"{what}: cannot multiply, the left side has {lhs} and the right side {rhs}"
            )
        self.classes.union(lc, rr, what)
        return left[0], right[1]

    def item(self, it: _Item) -> _Shape:
        if isinstance(it, _Sum):  # pragma: no cover - a sum makes the statement index form
            raise AssertionError("sum in matrix form")
        what = f"{_item_name(it)} at position {it.pos}"
        value = self.base(it)
        for _ in range(it.power - 1):
            # Each factor of a power is a fresh occurrence with its own axes.
            value = self.mul(value, self.base(it), f"power of {what}")
        if it.transpose:
            value = value[1], value[0]
        return value

    def base(self, it: _Factor | _Group) -> _Shape:
        return self.product(it.items) if isinstance(it, _Group) else self.leaf(it)

    def product(self, items: Sequence[_Item]) -> _Shape:
        value: _Shape = (None, None)
        for it in items:
            value = self.mul(value, self.item(it), f"{_item_name(it)} at position {it.pos}")
        return value


def _item_name(it: _Item) -> str:
    return "parentheses" if isinstance(it, _Group) else repr(getattr(it, "name", "\\sum"))


def _letter_runs(word: str) -> list[tuple[int, str]]:
    """``"AGx"`` → ``[(0, "A"), (1, "G"), (2, "x")]``; a letter keeps the digits after it (``W1``)."""
    return [(m.start(), m.group(0)) for m in re.finditer(r"[A-Za-z][0-9]*", word)]


def _split_runs(items: Sequence[_Item]) -> list[_Item]:
    """Matrix form reads ``AG^TB`` and ``Ax`` as TeX typesets them: one factor per letter."""
    out: list[_Item] = []
    for it in items:
        if isinstance(it, _Group):
            out.append(_Group(_split_runs(it.items), it.pos, it.transpose, it.power))
        elif isinstance(it, _Factor) and it.split:
            runs = _letter_runs(it.name)
            for k, (at, name) in enumerate(runs):
                last = k == len(runs) - 1
                # A superscript binds to the last letter only: AG^T is A G^T.
                out.append(
                    _Factor(name, it.pos + at, None, it.transpose and last, it.power if last else 1)
                )
        else:
            out.append(it)
    return out


def _matrix_form(lhs: _Factor, rhs: Sequence[_Item], decls: Mapping[str, _Decl]) -> IndexSpec:
    items = _split_runs(rhs)
    names = {f.name for f in _walk(items) if isinstance(f, _Factor)}
    unknown = [n for n in decls if n not in names | {lhs.name}]
    if unknown:
        raise ValueError(
            f"declared name {unknown[0]!r} at position {decls[unknown[0]].pos} is not used"
        )
    b = _MatrixBuilder(decls)
    value = b.product(items)
    result = [c for c in value if c is not None]
    if len(result) == 2 and b.classes.find(result[0]) == b.classes.find(
        result[1]
    ):  # pragma: no cover
        raise ValueError("the result's rows and columns are the same index")
    roots = [b.classes.find(c) for c in result]
    # Letters: the left side's indices name the result; declared symbols next; then fresh letters.
    fixed: dict[int, str] = {}
    if lhs.indices is not None:
        if len(lhs.indices) != len(roots):
            raise ValueError(
                f"the left side at position {lhs.pos} has {len(lhs.indices)} indices "
                f"but the right side has {len(roots)} dimensions"
            )
        seen: set[str] = set()
        for root, ix in zip(roots, lhs.indices, strict=True):
            if len(ix.label) != 1 or ix.label not in LETTERS:
                raise ValueError(
                    f"index {_shown(ix.label)} at position {ix.pos}: use a Latin letter"
                )
            if ix.label in seen:
                raise ValueError(
                    f"index {ix.label!r} is repeated on the left side at position {ix.pos}"
                )
            seen.add(ix.label)
            fixed[root] = ix.label
    else:
        d = decls.get(lhs.name)
        if d is not None and len(d.dims) != len(roots):
            raise ValueError(
                f"{lhs.name!r} is declared with {len(d.dims)} dimensions at position {d.pos} "
                f"but the right side has {len(roots)}"
            )
    order: list[int] = []
    for _, axes in b.occurrences:
        for a in axes:
            r = b.classes.find(a)
            if r not in order:
                order.append(r)
    taken = set(fixed.values())
    letter_of: dict[int, str] = dict(fixed)
    for r in order:  # declared single-letter symbols keep their letter when it is free
        sym = b.classes.symbol[r]
        if r not in letter_of and sym is not None and sym in LETTERS and sym not in taken:
            letter_of[r] = sym
            taken.add(sym)
    free = (c for c in LETTERS if c not in taken)
    for r in order:
        if r not in letter_of:
            try:
                letter_of[r] = next(free)
            except StopIteration:
                raise ValueError(
                    f"too many indices: more than {len(LETTERS)} letters needed"
                ) from None
    terms = ["".join(letter_of[b.classes.find(a)] for a in axes) for _, axes in b.occurrences]
    out = "".join(letter_of[r] for r in roots)
    operands = tuple(n for n, _ in b.occurrences)
    return IndexSpec(
        ",".join(terms) + "->" + out, operands, lhs.name, (), _declared_shapes(decls, operands)
    )
