"""Print an expression tree as plain text (re-readable by the parser) or as LaTeX.

Index variables print 1-based as written; ``sum(body, i)`` prints as ``Σ_i`` in LaTeX, ``diff(f, a)`` as
``∂f/∂a``, ``grad(f, w)`` as ``∇_w f``, ``sigma`` as ``σ``, and gradients of the loss as ``∂L/∂n_4``.
"""

from __future__ import annotations

import re

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
from chainrule.problems.expr.parser import GREEK

__all__ = ["to_latex", "to_text"]

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "^": 4}
_LATEX_FUNCS = {
    "exp": r"\exp",
    "log": r"\log",
    "tanh": r"\tanh",
    "sin": r"\sin",
    "cos": r"\cos",
    "sigma": r"\sigma",
}
_GREEK = set(GREEK.values())


def _prec(e: Expr) -> int:
    if isinstance(e, BinOp):
        return _PREC[e.op]
    if isinstance(e, Unary):
        return 3
    if isinstance(e, Compare):
        return 0
    return 5


def to_text(e: Expr) -> str:
    """The expression in the answer language's ASCII syntax."""

    def wrap(x: Expr, min_prec: int) -> str:
        s = to_text(x)
        return f"({s})" if _prec(x) < min_prec else s

    if isinstance(e, Num):
        return e.text or repr(e.value)
    if isinstance(e, Name):
        return e.name
    if isinstance(e, GradRef):
        return f"∂{e.loss}/∂{to_text(e.target)}"
    if isinstance(e, Index):
        inner = ", ".join(to_text(i) for i in e.items)
        return f"{wrap(e.base, 5)}[{inner}]"
    if isinstance(e, Unary):
        return "-" + wrap(e.operand, 3)
    if isinstance(e, BinOp):
        p = _PREC[e.op]
        if e.op == "^":
            return f"{wrap(e.left, 5)}^{wrap(e.right, 5)}"
        right_min = p + 1 if e.op in ("-", "/") else p
        op = {"*": "*", "/": "/", "@": " @ ", "+": " + ", "-": " - "}[e.op]
        return f"{wrap(e.left, p)}{op}{wrap(e.right, right_min)}"
    if isinstance(e, Transpose):
        return wrap(e.operand, 5) + ".T"
    if isinstance(e, Call):
        return f"{e.func}{chr(39) * e.order}({', '.join(to_text(a) for a in e.args)})"
    if isinstance(e, Reduce):
        return f"{e.op}({to_text(e.body)}, {', '.join(e.over)})"
    if isinstance(e, Compare):
        return f"{to_text(e.left)} {e.op} {to_text(e.right)}"
    return type(e).__name__


def _latex_name(name: str) -> str:
    if name.startswith("∂"):
        loss, target = name[1:].split("/∂", 1)
        return rf"\frac{{\partial {loss}}}{{\partial {_latex_name(target)}}}"
    m = re.fullmatch(r"([A-Za-z]+)_\{(.*)\}", name) or re.fullmatch(r"([A-Za-z]+)_(\w+)", name)
    if m:
        return f"{_latex_name(m.group(1))}_{{{m.group(2)}}}"
    if name in _GREEK:
        return "\\" + name
    if len(name) > 1:
        return rf"\mathrm{{{name}}}"
    return name


def to_latex(e: Expr) -> str:
    """The expression in LaTeX (for MathML in reports)."""

    def wrap(x: Expr, min_prec: int) -> str:
        s = to_latex(x)
        return rf"\left({s}\right)" if _prec(x) < min_prec else s

    if isinstance(e, Num):
        return e.text or repr(e.value)
    if isinstance(e, Name):
        return _latex_name(e.name)
    if isinstance(e, GradRef):
        return rf"\frac{{\partial {e.loss}}}{{\partial {to_latex(e.target)}}}"
    if isinstance(e, Index):
        return f"{wrap(e.base, 5)}_{{{','.join(to_latex(i) for i in e.items)}}}"
    if isinstance(e, Unary):
        return "-" + wrap(e.operand, 3)
    if isinstance(e, BinOp):
        if e.op == "/":
            return rf"\frac{{{to_latex(e.left)}}}{{{to_latex(e.right)}}}"
        if e.op == "^":
            return f"{{{wrap(e.left, 5)}}}^{{{to_latex(e.right)}}}"
        p = _PREC[e.op]
        right_min = p + 1 if e.op == "-" else p
        op = {"*": r" \, ", "@": " ", "+": " + ", "-": " - "}[e.op]
        return f"{wrap(e.left, p)}{op}{wrap(e.right, right_min)}"
    if isinstance(e, Transpose):
        return f"{{{wrap(e.operand, 5)}}}^\\top"
    if isinstance(e, Call):
        head = _LATEX_FUNCS.get(
            e.func, _latex_name(e.func) if len(e.func) == 1 else rf"\operatorname{{{e.func}}}"
        )
        if e.func == "sqrt" and not e.order:
            return rf"\sqrt{{{to_latex(e.args[0])}}}"
        if e.func == "abs" and not e.order:
            return rf"\left|{to_latex(e.args[0])}\right|"
        primes = "'" * e.order
        args = ", ".join(to_latex(a) for a in e.args)
        return rf"{head}{primes}\left({args}\right)"
    if isinstance(e, Reduce):
        if e.op == "sum":
            return rf"\sum_{{{','.join(e.over)}}} {wrap(e.body, 2)}"
        if e.op == "diff":
            return rf"\frac{{\partial}}{{\partial {_latex_name(e.over[0])}}} {wrap(e.body, 5)}"
        return rf"\nabla_{{{_latex_name(e.over[0])}}} {wrap(e.body, 5)}"
    if isinstance(e, Compare):
        ops = {
            "==": "=",
            "!=": r"\neq",
            "<": "<",
            ">": ">",
            "<=": r"\le",
            ">=": r"\ge",
            "and": r"\wedge",
        }
        return f"{to_latex(e.left)} {ops[e.op]} {to_latex(e.right)}"
    return type(e).__name__
