"""The symbolic forms of the primitives of :mod:`~chainrule.autodiff.elementwise_more` and
:mod:`~chainrule.autodiff.shape_ops`: how each prints and how its VJP reads, for ``cr.explain``.

:data:`RULE_PARTS` maps each primitive's name to ``(form, vjp, broadcasts)``, the three fields of a
:class:`~chainrule.autodiff.symbolic_rules.SymbolicRule` (that module builds the rules from them and
attaches them to the primitives, with the other built-in rules). Elementwise functions print by name
(``sinh(x)``) with their derivative written out (``cosh(x)``); shape operations print as the NumPy
call (``flip(x, axis=(0,))``) and their VJPs as the adjoint operation (``flip`` again, ``roll`` back,
a sum over the tiles, a scatter onto the diagonal).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chainrule.autodiff import elementwise_more as E
from chainrule.autodiff import shape_ops as S
from chainrule.autodiff import symbolic_linalg as L
from chainrule.autodiff import symbolic_ops as O
from chainrule.autodiff.symbolic import (
    Expr,
    Function,
    Op,
    OpSpec,
    Shape,
    add,
    const,
    mul,
    neg,
    power,
    sub,
)

__all__ = ["RULE_PARTS", "RuleParts"]

#: ``(form(operands, params) -> Expr, vjp(ctx, k) -> Expr | None, broadcasts)``; ``ctx`` is a
#: :class:`~chainrule.autodiff.symbolic_rules.VjpContext`.
RuleParts = tuple[
    Callable[[Sequence[Expr], Mapping[str, Any]], Expr], Callable[[Any, int], "Expr | None"], bool
]


def _fn(name: str, latex: str, numeric: Callable[..., Any]) -> Function:
    return Function(name, name, latex, numeric, ())


def _elementwise(fn: Function, local: Callable[[Expr], Expr]) -> RuleParts:
    """``fn(x)``, with VJP ``g · local(x)``."""
    return (
        lambda ops, p: O.apply_fn(fn, ops[0]),
        lambda ctx, k: mul(ctx.g, local(ctx.operands[0])),
        True,
    )


_HALF = const(-0.5)
SINH = _fn("sinh", "\\sinh", E.SINH.forward)
COSH = _fn("cosh", "\\cosh", E.COSH.forward)
TAN = _fn("tan", "\\tan", E.TAN.forward)
ARCSIN = _fn("arcsin", "\\arcsin", E.ARCSIN.forward)
ARCCOS = _fn("arccos", "\\arccos", E.ARCCOS.forward)
ARCTAN = _fn("arctan", "\\arctan", E.ARCTAN.forward)
ARCSINH = _fn("arcsinh", "\\operatorname{arsinh}", E.ARCSINH.forward)
ARCCOSH = _fn("arccosh", "\\operatorname{arcosh}", E.ARCCOSH.forward)
ARCTANH = _fn("arctanh", "\\operatorname{artanh}", E.ARCTANH.forward)
LOG2 = _fn("log2", "\\log_2", E.LOG2.forward)
LOG10 = _fn("log10", "\\log_{10}", E.LOG10.forward)
LOGADDEXP = _fn("logaddexp", "\\operatorname{logaddexp}", E.logaddexp_forward)
LOGADDEXP2 = _fn("logaddexp2", "\\operatorname{logaddexp2}", E.logaddexp2_forward)


def _one_minus_square(x: Expr) -> Expr:
    return sub(const(1.0), power(x, const(2.0)))


def _logaddexp(base2: bool) -> RuleParts:
    fn = LOGADDEXP2 if base2 else LOGADDEXP

    def vjp(ctx: Any, k: int) -> Expr:
        d = sub(ctx.operands[k], ctx.out)
        weight = power(const(2.0), d) if base2 else O.apply_fn(O.EXP, d)
        return mul(ctx.g, weight)

    return (lambda ops, p: O.apply_fn(fn, ops[0], ops[1]), vjp, True)


_ELEMENTWISE: dict[str, RuleParts] = {
    "square": (
        lambda ops, p: power(ops[0], const(2.0)),
        lambda ctx, k: mul(ctx.g, const(2.0), ctx.operands[0]),
        True,
    ),
    "exp2": (
        lambda ops, p: power(const(2.0), ops[0]),
        lambda ctx, k: mul(ctx.g, const(math.log(2.0)), power(const(2.0), ctx.operands[0])),
        True,
    ),
    "log2": _elementwise(LOG2, lambda x: power(mul(const(math.log(2.0)), x), const(-1.0))),
    "log10": _elementwise(LOG10, lambda x: power(mul(const(math.log(10.0)), x), const(-1.0))),
    "sinh": _elementwise(SINH, lambda x: O.apply_fn(COSH, x)),
    "cosh": _elementwise(COSH, lambda x: O.apply_fn(SINH, x)),
    "tan": _elementwise(TAN, lambda x: power(O.apply_fn(O.COS, x), const(-2.0))),
    "arcsin": _elementwise(ARCSIN, lambda x: power(_one_minus_square(x), _HALF)),
    "arccos": _elementwise(ARCCOS, lambda x: neg(power(_one_minus_square(x), _HALF))),
    "arctan": _elementwise(
        ARCTAN, lambda x: power(add(power(x, const(2.0)), const(1.0)), const(-1.0))
    ),
    "arcsinh": _elementwise(ARCSINH, lambda x: power(add(power(x, const(2.0)), const(1.0)), _HALF)),
    "arccosh": _elementwise(ARCCOSH, lambda x: power(sub(power(x, const(2.0)), const(1.0)), _HALF)),
    "arctanh": _elementwise(ARCTANH, lambda x: power(_one_minus_square(x), const(-1.0))),
    "logaddexp": _logaddexp(False),
    "logaddexp2": _logaddexp(True),
}


# --- shape operations ------------------------------------------------------------------------------


def _spec(
    name: str,
    forward: Callable[..., Any],
    shape: Callable[[Shape, Mapping[str, Any]], Shape],
    keys: tuple[str, ...],
) -> OpSpec:
    """A shape operation printed as ``name(x, key=value...)``, evaluated with the primitive's own
    forward function."""
    return O.simple_op(
        name,
        lambda v, p: forward(v[0], **{k: p[k] for k in keys}),
        lambda s, p: None if s[0] is None else shape(s[0], p),
        keys,
    )


def _same(s: Shape, p: Mapping[str, Any]) -> Shape:
    return s


def _tile_shape(s: Shape, p: Mapping[str, Any]) -> Shape:
    xs, rs = S._tile_layout(tuple(s), tuple(p["reps"]))
    return tuple(a * b for a, b in zip(xs, rs, strict=True))


def _repeat_shape(s: Shape, p: Mapping[str, Any]) -> Shape:
    reps, axis = p["repeats"], p["axis"]
    n = math.prod(s) if axis is None else s[axis]
    total = n * reps if isinstance(reps, int) else sum(reps)
    return (total,) if axis is None else (*s[:axis], total, *s[axis + 1 :])


def _diagonal_shape(s: Shape, p: Mapping[str, Any]) -> Shape:
    a1, a2 = p["axis1"], p["axis2"]
    rows, _ = S._diag_index(s[a1], s[a2], p["offset"])
    return (*(d for i, d in enumerate(s) if i not in (a1, a2)), len(rows))


def _diag_shape(s: Shape, p: Mapping[str, Any]) -> Shape:
    n = s[0] + abs(p["k"])
    return (n, n)


FLIP = _spec("flip", S.flip_forward, _same, ("axis",))
ROLL = _spec("roll", S.roll_forward, _same, ("shift", "axis"))
TILE = _spec("tile", S.tile_forward, _tile_shape, ("reps",))
REPEAT = _spec("repeat", S.repeat_forward, _repeat_shape, ("repeats", "axis"))
DIAGONAL = _spec("diagonal", S.diagonal_forward, _diagonal_shape, ("offset", "axis1", "axis2"))
DIAG = _spec("diag", S.diag_forward, _diag_shape, ("k",))
TRIL = _spec("tril", S.tril_forward, _same, ("k",))
TRIU = _spec("triu", S.triu_forward, _same, ("k",))


def _self_adjoint(spec: OpSpec) -> RuleParts:
    """An operation that is its own VJP (flip, tril, triu): the same operation on ``g``."""
    return (
        lambda ops, p: Op(spec, (ops[0],), dict(p)),
        lambda ctx, k: Op(spec, (ctx.g,), dict(ctx.params)),
        False,
    )


# The VJPs of roll, tile, repeat and diagonal print as the adjoint operation and evaluate with the
# primitive's own numeric rule (shape_ops), as symbolic_linalg does: one source for the numbers.


def _kw(p: Mapping[str, Any], *keys: str) -> str:
    return ", ".join(f"{k}={p[k]!r}" for k in keys if p.get(k) is not None)


def _back_shift(p: Mapping[str, Any]) -> Any:
    shift = p["shift"]
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


_roll_vjp = L._vjp(
    "roll",
    (S.roll_vjp,),
    (
        L._t(
            lambda g, out, o, p: (
                f"roll({g}, {_kw({**p, 'shift': _back_shift(p)}, 'shift', 'axis')})"
            )
        ),
    ),
    (L._t(lambda g, out, o, p: f"\\operatorname{{roll}}\\left({g},\\ {_back_shift(p)!r}\\right)"),),
)
_tile_vjp = L._vjp(
    "tile",
    (S.tile_vjp,),
    (L._t(lambda g, out, o, p: f"sum_tiles({g}, {_kw(p, 'reps')})"),),
    (
        L._t(
            lambda g, out, o, p: f"\\operatorname{{sum\\_tiles}}\\left({g},\\ {p['reps']!r}\\right)"
        ),
    ),
)
_repeat_vjp = L._vjp(
    "repeat",
    (S.repeat_vjp,),
    (L._t(lambda g, out, o, p: f"sum_copies({g}, {_kw(p, 'repeats', 'axis')})"),),
    (
        L._t(
            lambda g, out, o, p: (
                f"\\operatorname{{sum\\_copies}}\\left({g},\\ {p['repeats']!r}\\right)"
            )
        ),
    ),
)
_diagonal_vjp = L._vjp(
    "diagonal",
    (S.diagonal_vjp,),
    (L._t(lambda g, out, o, p: f"onto_diagonal({g}, {_kw(p, 'offset', 'axis1', 'axis2')})"),),
    (
        L._t(
            lambda g, out, o, p: (
                f"\\operatorname{{onto\\_diagonal}}\\left({g},\\ {p['offset']!r}\\right)"
            )
        ),
    ),
)


def _diag_vjp(ctx: Any, k: int) -> Expr:
    return Op(DIAGONAL, (ctx.g,), {"offset": ctx.params["k"], "axis1": 0, "axis2": 1})


def _op_form(spec: OpSpec) -> Callable[[Sequence[Expr], Mapping[str, Any]], Expr]:
    return lambda ops, p: Op(spec, (ops[0],), dict(p))


_SHAPES: dict[str, RuleParts] = {
    "flip": _self_adjoint(FLIP),
    "tril": _self_adjoint(TRIL),
    "triu": _self_adjoint(TRIU),
    "roll": (_op_form(ROLL), _roll_vjp, False),
    "tile": (_op_form(TILE), _tile_vjp, False),
    "repeat": (_op_form(REPEAT), _repeat_vjp, False),
    "diagonal": (_op_form(DIAGONAL), _diagonal_vjp, False),
    "diag": (_op_form(DIAG), _diag_vjp, False),
}

#: The parts of each rule, by primitive name.
RULE_PARTS: dict[str, RuleParts] = {**_ELEMENTWISE, **_SHAPES}
