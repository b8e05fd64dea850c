"""The optional symbolic layer: scalar answer-language expressions as SymPy expressions.

SymPy is an optional extra (``chainrule[symbolic]``). It may only *prove* an equality; the numeric path
(:mod:`chainrule.problems.equivalence`) decides every verdict.
"""

from __future__ import annotations

from typing import Any

from chainrule.problems.expr.nodes import BinOp, Call, Expr, Name, Num, Reduce, Unary

__all__ = ["to_sympy"]


def to_sympy(e: Expr) -> Any:
    """``e`` as a SymPy expression, or ``None`` when it uses tensors, sums, grad or user functions.

    Raises:
        ImportError: SymPy is not installed.
    """
    import sympy

    funcs = {
        "exp": sympy.exp,
        "log": sympy.log,
        "sqrt": sympy.sqrt,
        "abs": sympy.Abs,
        "tanh": sympy.tanh,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "sigma": lambda z: 1 / (1 + sympy.exp(-z)),
        "softplus": lambda z: sympy.log(1 + sympy.exp(z)),
    }

    def go(x: Expr) -> Any:
        if isinstance(x, Num):
            return (
                sympy.Rational(x.text)
                if x.text and "e" not in x.text.lower()
                else sympy.Float(x.value)
            )
        if isinstance(x, Name):
            if x.name == "pi":
                return sympy.pi
            return sympy.Symbol(x.name, real=True)
        if isinstance(x, Unary):
            return -go(x.operand)
        if isinstance(x, BinOp):
            a, b = go(x.left), go(x.right)
            ops = {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a**b} if x.op != "@" else {}
            if x.op not in ops:
                raise _Unsupported
            return ops[x.op]
        if isinstance(x, Call) and x.func in funcs:
            z = sympy.Symbol("_z", real=True)
            f = funcs[x.func](z)
            for _ in range(x.order):
                f = sympy.diff(f, z)
            return f.subs(z, go(x.args[0]))
        if isinstance(x, Reduce) and x.op == "diff":
            return sympy.diff(go(x.body), sympy.Symbol(x.over[0], real=True))
        raise _Unsupported

    try:
        return go(e)
    except _Unsupported:
        return None


class _Unsupported(Exception):
    """An expression outside the scalar fragment SymPy is used for."""
