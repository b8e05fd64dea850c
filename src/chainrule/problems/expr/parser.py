"""The answer language's tokenizer and parser: text → :mod:`~chainrule.problems.expr.nodes` tree.

A hand-written recursive-descent parser; nothing is ever passed to ``eval``. It reads:

- numbers (``2``, ``0.5``, ``1e-3``; at most 40 characters, exponent within ±308), names (``w``, ``x_plus``,
  ``n_4``, ``n4``), subscripts (``w_{4,6}``, ``x_i``), Greek letters (``σ`` is ``sigma``);
- ``+ - * / ^ ** @``, unary ``-``, ``.T`` and ``ᵀ``, ``²``, indexing ``x[i]``, ``w[2, 4]``;
- calls ``f(a, b)``, derivatives ``g'(z)``, ``sum(expr, i)``, ``sum(expr, i, j)``, ``diff(expr, a)``,
  ``grad(expr, w)``;
- gradients of the loss: ``∂L/∂n_4``, ``dL/dn4``, ``dL/dw[2,4]``, ``∂L/∂n_4(x)``;
- implicit products: ``2x``, ``x_i (h(x_i) - y_i)``, ``(a)(b)``;
- comparisons ``== != < > <= >=`` joined by ``and`` (for ``require`` conditions; see ``parse_condition``).

Unicode operators are read as their ASCII forms (``−`` is ``-``; ``·``, ``⋅`` and ``×`` are ``*``).
A syntax error is a :class:`~chainrule.problems.errors.FormatError` whose detail puts a caret under the
offending token.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from chainrule.problems.errors import FormatError, caret
from chainrule.problems.expr.nodes import (
    BinOp,
    Call,
    Compare,
    Expr,
    GradRef,
    Index,
    Name,
    Num,
    Reduce,
    Transpose,
    Unary,
)

__all__ = [
    "BUILTIN_FUNCTIONS",
    "GREEK",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "REDUCTIONS",
    "parse_condition",
    "parse_expr",
]

#: The longest expression text, and the deepest nesting, the parser accepts.
MAX_LENGTH = 10_000
MAX_DEPTH = 100
#: Built-in elementwise functions of one argument, and the others with their argument counts.
BUILTIN_FUNCTIONS: dict[str, int] = {
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "abs": 1,
    "tanh": 1,
    "sigma": 1,
    "softplus": 1,
    "sin": 1,
    "cos": 1,
    "relu": 1,
    "dot": 2,
    "norm": 1,
}
#: Aliases read as a built-in.
ALIASES = {"ln": "log", "sigmoid": "sigma", "σ": "sigma"}
#: Calls whose trailing arguments are variable names (``sum(expr, i)``).
REDUCTIONS = ("sum", "diff", "grad")

#: Greek letters read as their names (``σ`` is ``sigma``); render.py prints the names back as LaTeX.
GREEK = {
    "σ": "sigma",
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "η": "eta",
    "θ": "theta",
    "λ": "lambda",
    "μ": "mu",
    "π": "pi",
    "τ": "tau",
    "φ": "phi",
    "ω": "omega",
}
_UNICODE_OPS = {"−": "-", "·": "*", "⋅": "*", "×": "*", "′": "'", "∗": "*"}
_SUPERSCRIPTS = {"²": "2", "³": "3"}

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
_GRAD = re.compile(r"[∂d]([A-Z][A-Za-z0-9]*)\s*/\s*[∂d](?=[A-Za-zσα-ω])")
_TWO = ("**", "==", "!=", "<=", ">=")
_ONE = "+-*/^@()[],.'<>{}="
#: LaTeX commands read as names, as operators, or skipped (spacing and sizing).
_LATEX_NAMES = {"log", "exp", "ln", "tanh", "sin", "cos", "sqrt"}
_LATEX_OPS = {
    "cdot": "*",
    "times": "*",
    "frac": "frac",
    "sum": "Σ",
    "partial": "partial",
    "top": "ᵀ",
}
_LATEX_SKIP = {
    "left",
    "right",
    "big",
    "Big",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "quad",
    ",",
    ";",
    "!",
    " ",
}


@dataclass(frozen=True)
class Tok:
    kind: str  # num, name, grad, op, end
    text: str
    pos: int
    length: int


def _error(text: str, tok_pos: int, length: int, message: str) -> FormatError:
    return FormatError(message, detail=caret(text, tok_pos, length))


def _latex_command(text: str, i: int, toks: list[Tok]) -> int:
    """Read the LaTeX command at ``text[i]`` (a backslash) into ``toks``; returns the next position.

    Raises:
        FormatError: a command the language does not read.
    """
    m = re.compile(r"\\([A-Za-z]+|.)").match(text, i)
    if m is None:
        raise _error(text, i, 1, "a lone backslash")
    cmd, end = m.group(1), m.end()
    if cmd in _LATEX_SKIP:
        return end
    if cmd in _LATEX_NAMES or cmd in GREEK.values():
        toks.append(Tok("name", cmd, i, end - i))
        return end
    if cmd in _LATEX_OPS:
        op = _LATEX_OPS[cmd]
        if op == "ᵀ" and toks and toks[-1].text == "^":
            toks.pop()  # A^\top is the transpose
        toks.append(Tok("op", op, i, end - i))
        # \sum_i: a one-letter subscript without braces
        if op == "Σ" and text[end : end + 1] == "_" and text[end + 1 : end + 2].isalpha():
            toks.extend(
                (
                    Tok("op", "_{", end, 1),
                    Tok("name", text[end + 1], end + 1, 1),
                    Tok("op", "}", end + 1, 1),
                )
            )
            return end + 2
        return end
    raise _error(text, i, end - i, f"the LaTeX command \\{cmd} is not part of the answer language")


def tokenize(text: str) -> list[Tok]:
    """The tokens of ``text``, ending with an ``end`` token.

    Raises:
        FormatError: a character the language does not use, or a number too long or out of range.
    """
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        m = _GRAD.match(text, i)
        if m:
            toks.append(Tok("grad", m.group(1), i, m.end() - i))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m:
            lit = m.group(0)
            if len(lit) > 40:
                raise _error(text, i, len(lit), "a number longer than 40 characters")
            exp = re.search(r"[eE]([+-]?\d+)$", lit)
            if exp and abs(int(exp.group(1))) > 308:
                raise _error(text, i, len(lit), "a number beyond the float range (exponent > 308)")
            toks.append(Tok("num", lit, i, len(lit)))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            toks.append(Tok("name", m.group(0), i, len(m.group(0))))
            i = m.end()
            continue
        if c in GREEK:
            toks.append(Tok("name", GREEK[c], i, 1))
            i += 1
            continue
        if c == "\\":
            i = _latex_command(text, i, toks)
            continue
        if c == "∂":
            raise _error(text, i, 1, "write a gradient of the loss as ∂L/∂name (or dL/dname)")
        if c in _UNICODE_OPS:
            toks.append(Tok("op", _UNICODE_OPS[c], i, 1))
            i += 1
            continue
        if c in _SUPERSCRIPTS:
            toks.append(Tok("op", "^", i, 1))
            toks.append(Tok("num", _SUPERSCRIPTS[c], i, 1))
            i += 1
            continue
        if c == "ᵀ":
            toks.append(Tok("op", "ᵀ", i, 1))
            i += 1
            continue
        two = text[i : i + 2]
        if two in _TWO:
            toks.append(Tok("op", "^" if two == "**" else two, i, 2))
            i += 2
            continue
        if c == "_" and i + 1 < n and text[i + 1] == "{":
            toks.append(Tok("op", "_{", i, 2))
            i += 2
            continue
        if c in _ONE:
            toks.append(Tok("op", c, i, 1))
            i += 1
            continue
        raise _error(text, i, 1, f"unexpected character {c!r}")
    toks.append(Tok("end", "", n, 1))
    return toks


class _Parser:
    def __init__(
        self, text: str, functions: Collection[str], applied: Collection[str] = ()
    ) -> None:
        if len(text) > MAX_LENGTH:
            raise FormatError(
                f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}"
            )
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.functions = set(functions) | set(BUILTIN_FUNCTIONS) | set(REDUCTIONS) | set(ALIASES)
        self.applied = set(applied)

    def skip_application(self) -> None:
        """``n_4(x)``: a node written as a function of an input (``applied``) is the node's value."""
        if not self.applied or self.i + 2 >= len(self.toks):
            return
        t1, t2 = self.toks[self.i + 1], self.toks[self.i + 2]
        if self.at("(") and t1.kind == "name" and t1.text in self.applied and t2.text == ")":
            self.i += 3

    # -- helpers --------------------------------------------------------------------------------------
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def at(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def advance(self) -> Tok:
        t = self.tok
        self.i += 1
        return t

    def fail(self, message: str, tok: Tok | None = None) -> FormatError:
        t = tok or self.tok
        return _error(self.text, t.pos, t.length, message)

    def expect(self, op: str) -> Tok:
        if not self.at(op):
            found = "the end" if self.tok.kind == "end" else repr(self.tok.text)
            raise self.fail(f"expected {op!r}, found {found}")
        return self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the expression is nested more than {MAX_DEPTH} deep")

    # -- grammar --------------------------------------------------------------------------------------
    def condition(self) -> Expr:
        left = self.comparison()
        while self.tok.kind == "name" and self.tok.text == "and":
            t = self.advance()
            left = Compare("and", left, self.comparison(), pos=t.pos)
        return left

    def comparison(self) -> Expr:
        left = self.sum()
        if self.at("==", "!=", "<", ">", "<=", ">="):
            t = self.advance()
            left = Compare(t.text, left, self.sum(), pos=t.pos)
        return left

    def sum(self) -> Expr:
        self.enter()
        left = self.product()
        while self.at("+", "-"):
            t = self.advance()
            left = BinOp(t.text, left, self.product(), pos=left.pos)
        self.depth -= 1
        return left

    def _starts_operand(self) -> bool:
        t = self.tok
        if t.kind in ("num", "name", "grad"):
            return not (t.kind == "name" and t.text == "and")
        return t.kind == "op" and t.text in ("(", "{", "frac", "Σ")

    def product(self) -> Expr:
        left = self.unary()
        while True:
            if self.at("*", "/", "@"):
                t = self.advance()
                left = BinOp(t.text, left, self.unary(), pos=left.pos)
            elif self._starts_operand():
                # An implicit product: "2x", "x_i (h(x_i) - y_i)".
                right = self.latex_sum() if self.at("Σ") else self.power()
                left = BinOp("*", left, right, pos=left.pos)
            else:
                return left

    def unary(self) -> Expr:
        if self.at("Σ"):
            return self.latex_sum()
        if self.at("-", "+"):
            t = self.advance()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return operand if t.text == "+" else Unary("-", operand, pos=t.pos)
        return self.power()

    def latex_sum(self) -> Expr:
        """``\\sum_{i} body`` or ``\\sum_{i=1}^{n} body``: the sum of the product that follows."""
        t = self.advance()
        over: list[str] = []
        if self.at("_{"):
            self.advance()
            while True:
                if self.tok.kind != "name":
                    raise self.fail("\\sum_{i}: expected an index name")
                over.append(self.advance().text)
                if self.at("="):  # a lower bound, i=1: the range comes from the index's use
                    self.advance()
                    self.sum()
                if not self.at(","):
                    break
                self.advance()
            self.expect("}")
            if self.at("^"):  # an upper bound
                self.advance()
                self.atom()
        if not over:
            raise self.fail("\\sum needs its index: \\sum_{i}", t)
        self.enter()
        body = self.product()
        self.depth -= 1
        return Reduce("sum", body, tuple(over), pos=t.pos)

    def frac(self) -> Expr:
        """``\\frac{a}{b}``; ``\\frac{\\partial L}{\\partial n_4}`` is a gradient of the loss."""
        t = self.advance()
        self.expect("{")
        if self.at("partial"):
            self.advance()
            loss = self.tok
            if loss.kind != "name":
                raise self.fail("\\frac{\\partial L}{\\partial x}: expected the loss's name")
            self.advance()
            self.expect("}")
            self.expect("{")
            if not self.at("partial"):
                raise self.fail("\\frac{\\partial L}{\\partial x}: expected \\partial")
            self.advance()
            target = self.postfix_name()
            self.expect("}")
            self.skip_application()
            return GradRef(loss.text, target, pos=t.pos)
        self.enter()
        num = self.sum()
        self.expect("}")
        self.expect("{")
        den = self.sum()
        self.expect("}")
        self.depth -= 1
        return BinOp("/", num, den, pos=t.pos)

    def power(self) -> Expr:
        base = self.postfix()
        if self.at("^"):
            self.advance()
            self.enter()
            exponent = self.unary()  # right-associative; 2^-1 allowed
            self.depth -= 1
            return BinOp("^", base, exponent, pos=base.pos)
        return base

    def postfix(self) -> Expr:
        e = self.atom()
        while True:
            if self.at("["):
                t = self.advance()
                items = self.items("]")
                e = Index(e, items, pos=e.pos if e.pos <= t.pos else t.pos)
            elif (
                self.at(".")
                and self.toks[self.i + 1].kind == "name"
                and self.toks[self.i + 1].text == "T"
            ):
                self.advance()
                self.advance()
                e = Transpose(e, pos=e.pos)
            elif self.at("ᵀ"):
                self.advance()
                e = Transpose(e, pos=e.pos)
            else:
                return e

    def items(self, close: str) -> tuple[Expr, ...]:
        if self.at(close):
            raise self.fail("an empty index")
        out = [self.sum()]
        while self.at(","):
            self.advance()
            out.append(self.sum())
        self.expect(close)
        return tuple(out)

    def atom(self) -> Expr:
        t = self.tok
        if t.kind == "num":
            self.advance()
            return Num(float(t.text), t.text, pos=t.pos)
        if t.kind == "grad":
            self.advance()
            target = self.postfix_name()
            # ∂L/∂n_4(x): the seed writes each node as a function of the input.
            self.skip_application()
            return GradRef(t.text, target, pos=t.pos)
        if t.kind == "name":
            return self.name_or_call()
        if self.at("frac"):
            return self.frac()
        if self.at("(", "{"):
            close = ")" if self.advance().text == "(" else "}"
            e = self.sum()  # sum() counts the level
            self.expect(close)
            return e
        if t.kind == "end":
            raise self.fail("the expression ends too early")
        raise self.fail(f"unexpected {t.text!r}")

    def postfix_name(self) -> Expr:
        t = self.tok
        if t.kind != "name":
            raise self.fail("expected a name after ∂L/∂")
        self.advance()
        e: Expr = Name(t.text, pos=t.pos)
        if self.at("_{"):
            self.advance()
            e = Index(e, self.items("}"), subscript=True, pos=t.pos)
        if self.at("["):
            self.advance()
            e = Index(e, self.items("]"), pos=t.pos)
        return e

    def name_or_call(self) -> Expr:
        t = self.advance()
        name = ALIASES.get(t.text, t.text)
        order = 0
        while self.at("'"):
            self.advance()
            order += 1
        if order and not self.at("("):
            raise self.fail(f"{t.text}{chr(39) * order} must be called: {t.text}'(z)")
        if self.at("(", "{") and (order or name in self.functions):
            close = ")" if self.advance().text == "(" else "}"
            if name in REDUCTIONS and not order and close == ")":
                return self.reduction(name, t)
            args = self.items(close)
            return Call(name, args, order, pos=t.pos)
        if BUILTIN_FUNCTIONS.get(name) == 1 and not order and self._starts_operand():
            # LaTeX writes \log x and \exp x without parentheses: the argument is the next factor.
            return Call(name, (self.power(),), 0, pos=t.pos)
        e: Expr = Name(name, pos=t.pos)
        if self.at("_{"):
            self.advance()
            e = Index(e, self.items("}"), subscript=True, pos=t.pos)
        self.skip_application()
        return e

    def reduction(self, op: str, t: Tok) -> Expr:
        body = self.sum()
        over: list[str] = []
        while self.at(","):
            self.advance()
            v = self.tok
            if v.kind != "name":
                raise self.fail(f"{op}(expr, name): expected the name of a variable")
            self.advance()
            over.append(v.text)
        self.expect(")")
        if not over:
            raise self.fail(f"{op} needs the variable: {op}(expr, name)", t)
        if op != "sum" and len(over) != 1:
            raise self.fail(f"{op} takes one variable: {op}(expr, name)", t)
        return Reduce(op, body, tuple(over), pos=t.pos)


def parse_expr(text: str, functions: Collection[str] = (), applied: Collection[str] = ()) -> Expr:
    """Parse one expression; ``functions`` names the user functions (``h`` in ``h(x[i])``), and
    ``applied`` the inputs after which a name is read as a node's value (``n_4(x)`` is ``n_4``).

    Raises:
        FormatError: a syntax error (with a caret), an empty text, or text past the length/depth limits.
    """
    if not text.strip():
        raise FormatError("an empty expression")
    p = _Parser(text, functions, applied)
    try:
        e = p.sum()
    except RecursionError:
        raise FormatError("the expression is nested too deeply") from None
    if p.tok.kind != "end":
        raise p.fail(f"unexpected {p.tok.text!r} after a complete expression")
    return e


def parse_condition(
    text: str, functions: Collection[str] = (), applied: Collection[str] = ()
) -> Expr:
    """Parse a ``require`` condition: comparisons joined by ``and``.

    Raises:
        FormatError: as :func:`parse_expr`, or no comparison at the top.
    """
    if not text.strip():
        raise FormatError("an empty condition")
    p = _Parser(text, functions, applied)
    e = p.condition()
    if p.tok.kind != "end":
        raise p.fail(f"unexpected {p.tok.text!r} after a complete condition")
    if not isinstance(e, Compare):
        raise FormatError("a condition compares: a != b, norm(x) > 1, ... (joined by 'and')")
    return e
