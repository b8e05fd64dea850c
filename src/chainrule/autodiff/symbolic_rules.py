"""Symbolic rules: how each primitive prints and how its VJP reads, for derivations.

The format of :attr:`Primitive.symbolic <chainrule.autodiff.graph.Primitive>` is a
:class:`SymbolicRule`:

- ``form(operands, params) -> Expr`` builds the printed forward expression from the operands'
  expressions (``tanh(w_{3,4} n_4 + w_{3,6} n_6)``); ``operands`` lists every operand in call order,
  constants included (as :class:`~chainrule.autodiff.symbolic.Const`).
- ``vjp(ctx, k) -> Expr | None`` builds the VJP for operand ``k`` from the output's cotangent
  ``ctx.g`` (an expression, often ``∂L/∂c``): for an elementwise function it is ``g · f'(x)``; for
  matmul ``g · Bᵀ``; for einsum the einsum with rewritten subscripts. ``None`` marks an operand with
  no gradient.
- ``broadcasts``: the VJP has the output's shape and is summed back to a broadcast operand's shape
  by the caller (as the numeric backward does).

Where a rule lives: in its primitive's ``symbolic`` slot, for built-ins and user primitives alike.
The built-in rules are written here, in :data:`BUILTIN_RULES` (by primitive name, one per built-in
primitive and no more), and attached to the built-in primitives when this module is imported, which
reading any primitive's ``symbolic`` does (so ``import chainrule.autodiff`` does not pay for this
module). Any other primitive (a user's, or one that takes a built-in's name with ``replace=True``)
keeps the ``symbolic`` it was given, most simply one made by :func:`elementwise_function`; without
one it prints with an opaque but numerically exact ``vjp_name[k](g; operands)`` (see
:func:`rule_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# The modules that make the built-in primitives (see _builtin_primitives).
from chainrule.autodiff import einsum_primitive, elementwise_more, functional, shape_ops
from chainrule.autodiff import linalg as _linalg
from chainrule.autodiff import primitives as P
from chainrule.autodiff import reductions_more as _reductions_more
from chainrule.autodiff import symbolic_ops as O
from chainrule.autodiff.graph import Primitive
from chainrule.autodiff.symbolic import (
    Call,
    Const,
    Expr,
    Function,
    Op,
    Shape,
    add,
    const,
    derivative,
    div,
    mul,
    neg,
    power,
    sub,
)
from chainrule.autodiff.symbolic_linalg import RULE_PARTS as _LINALG_RULE_PARTS
from chainrule.autodiff.symbolic_numpy import RULE_PARTS as _NUMPY_RULE_PARTS

__all__ = [
    "BUILTIN_RULES",
    "SymbolicRule",
    "VjpContext",
    "elementwise_function",
    "rule_for",
]


@dataclass(frozen=True)
class VjpContext:
    """What a symbolic VJP rule sees.

    Attributes:
        g: the cotangent of the output (an expression with the output's shape).
        out: the output's forward expression.
        operands: every operand's expression, in call order (constants included).
        params: the primitive's static arguments (``axis``, ``subscripts``...).
        out_shape: the recorded shape of the output.
        shapes: the recorded shape of each operand (``()`` for Python numbers).
        expand: write activations' derivatives out (``1 − tanh(s)^2``) instead of ``tanh'(s)``.
    """

    g: Expr
    out: Expr
    operands: tuple[Expr, ...]
    params: Mapping[str, Any]
    out_shape: Shape
    shapes: tuple[Shape, ...]
    expand: bool = False


Form = Callable[[Sequence[Expr], Mapping[str, Any]], Expr]
SymbolicVjp = Callable[[VjpContext, int], "Expr | None"]


@dataclass(frozen=True)
class SymbolicRule:
    """The symbolic form of a primitive (the value of ``Primitive.symbolic``); see the module doc."""

    form: Form
    vjp: SymbolicVjp
    broadcasts: bool = False


def elementwise_function(
    name: str,
    numeric: Callable[..., Any],
    derivative: Callable[..., Any],
    *,
    text: str | None = None,
    latex: str | None = None,
) -> SymbolicRule:
    """The symbolic rule of a user's unary elementwise primitive ``f``: prints ``f(x)`` and ``f'(x)``.

    Args:
        name: the display name and the key for ``symbols`` in :func:`chainrule.explain`.
        numeric: ``f`` on NumPy arrays (to evaluate printed derivations).
        derivative: ``f'`` on NumPy arrays.
        text, latex: display forms (default ``name`` and ``\\operatorname{name}``).

    Example::

        def swish(x): return x / (1 + np.exp(-x))
        def dswish(x): s = 1 / (1 + np.exp(-x)); return s + x * s * (1 - s)
        register_primitive("swish", swish, swish_vjp,
                           symbolic=elementwise_function("swish", swish, dswish))
    """
    fn = Function(
        name,
        text or name,
        latex or f"\\operatorname{{{name.replace('_', chr(92) + '_')}}}",
        numeric,
        (derivative,),
    )
    return _unary(fn, lambda ctx, x: derivative_of(fn, x))


def derivative_of(fn: Function, x: Expr) -> Expr:
    """``fn'(x)`` printed with a prime."""
    return derivative(fn, x, 1)


# --- rule builders ----------------------------------------------------------------------------------


def _unary(fn: Function, local: Callable[[VjpContext, Expr], Expr]) -> SymbolicRule:
    """An elementwise function of one operand: ``vjp = g · local(x)``."""
    return SymbolicRule(
        form=lambda ops, p: O.apply_fn(fn, ops[0]),
        vjp=lambda ctx, k: mul(ctx.g, local(ctx, ctx.operands[0])),
        broadcasts=True,
    )


def _activation(fn: Function, explicit: Callable[[Expr], Expr]) -> SymbolicRule:
    """An activation: ``f'(x)`` by name, or written out with ``expand``."""
    return _unary(fn, lambda ctx, x: explicit(x) if ctx.expand else derivative_of(fn, x))


def _binary(form: Form, *locals_: Callable[[VjpContext], Expr]) -> SymbolicRule:
    return SymbolicRule(
        form=form,
        vjp=lambda ctx, k: mul(ctx.g, locals_[k](ctx)),
        broadcasts=True,
    )


def _pow_local_base(ctx: VjpContext) -> Expr:
    x, p = ctx.operands
    return mul(p, power(x, sub(p, const(1.0))))


def _pow_local_exp(ctx: VjpContext) -> Expr:
    x, _ = ctx.operands
    return mul(ctx.out, O.apply_fn(O.LOG, x))


def _tie_share(ctx: VjpContext, which: int) -> Expr:
    """maximum/minimum: the larger (smaller) operand takes the gradient; ties share it equally."""
    a, b = ctx.operands
    rel = ">" if ctx.params.get("_kind") == "max" else "<"
    first, second = (a, b) if which == 0 else (b, a)
    return add(
        O.indicator(O.compare(first, rel, second)),
        mul(const(0.5), O.indicator(O.compare(first, "==", second))),
    )


def _maxmin_rule(kind: str) -> SymbolicRule:
    fn = O.MAXIMUM if kind == "max" else O.MINIMUM

    def vjp(ctx: VjpContext, k: int) -> Expr:
        c = VjpContext(
            ctx.g, ctx.out, ctx.operands, {"_kind": kind}, ctx.out_shape, ctx.shapes, ctx.expand
        )
        return mul(ctx.g, _tie_share(c, k))

    return SymbolicRule(form=lambda ops, p: O.apply_fn(fn, *ops), vjp=vjp, broadcasts=True)


def _where_rule() -> SymbolicRule:
    def vjp(ctx: VjpContext, k: int) -> Expr | None:
        cond = ctx.operands[0]
        if k == 0:
            return None
        mask = O.indicator(cond)
        return mul(ctx.g, mask if k == 1 else sub(const(1.0), mask))

    return SymbolicRule(form=lambda ops, p: O.where(*ops), vjp=vjp, broadcasts=True)


def _clip_bounds(
    ops: Sequence[Expr], p: Mapping[str, Any]
) -> tuple[Expr, Expr | None, Expr | None]:
    x = ops[0]
    lo: Any = ops[1] if len(ops) > 1 else p.get("min", p.get("a_min", p.get("lo")))
    hi: Any = ops[2] if len(ops) > 2 else p.get("max", p.get("a_max", p.get("hi")))
    lo_e = None if lo is None or (isinstance(lo, Const) and lo.value is None) else _as_expr(lo)
    hi_e = None if hi is None or (isinstance(hi, Const) and hi.value is None) else _as_expr(hi)
    return x, lo_e, hi_e


def _as_expr(v: Any) -> Expr:
    return v if isinstance(v, Expr) else Const(v) if np.ndim(v) else const(float(v))


def _clip_rule() -> SymbolicRule:
    fn = Function("clip", "clip", "\\operatorname{clip}", P.clip_forward)

    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        x, lo, hi = _clip_bounds(ops, p)
        return Call(
            fn,
            (x, lo if lo is not None else const(-np.inf), hi if hi is not None else const(np.inf)),
        )

    def vjp(ctx: VjpContext, k: int) -> Expr | None:
        x, lo, hi = _clip_bounds(ctx.operands, ctx.params)
        if k == 0:
            mask: Expr = const(1.0)
            if lo is not None:
                mask = mul(mask, O.indicator(O.compare(x, ">=", lo)))
            if hi is not None:
                mask = mul(mask, O.indicator(O.compare(x, "<=", hi)))
            return mul(ctx.g, mask)
        bound = lo if k == 1 else hi
        if bound is None:
            return None
        return mul(ctx.g, O.indicator(O.compare(x, "<" if k == 1 else ">", bound)))

    return SymbolicRule(form=form, vjp=vjp, broadcasts=True)


# --- linear algebra -------------------------------------------------------------------------------


def _matmul_vjp(ctx: VjpContext, k: int) -> Expr:
    a, b = ctx.operands
    sa, sb = ctx.shapes
    if len(sa) < 2 or len(sb) < 2:
        # Vector cases are clearer as einsums: "k,km->m" and friends.
        if len(sa) == 1 and len(sb) == 1:
            subs = "j,j->"
        elif len(sa) == 1:
            batch = "abcdefgh"[: len(sb) - 2]
            subs = f"j,{batch}jk->{batch}k"
        else:
            batch = "abcdefgh"[: len(sa) - 2]
            subs = f"{batch}ij,j->{batch}i"
        return _einsum_vjp_expr(subs, ctx.g, (a, b), (sa, sb), k)
    nd = len(ctx.out_shape)
    if k == 0:
        res = O.matmul(
            ctx.g, O.transpose(b, (*range(len(sb) - 2), len(sb) - 1, len(sb) - 2), len(sb))
        )
        return (
            O.sum_to(res, (*ctx.out_shape[:-2], sa[-2], sa[-1]), sa)
            if nd != len(sa) or ctx.out_shape[:-2] != sa[:-2]
            else res
        )
    res = O.matmul(O.transpose(a, (*range(len(sa) - 2), len(sa) - 1, len(sa) - 2), len(sa)), ctx.g)
    return (
        O.sum_to(res, (*ctx.out_shape[:-2], sb[-2], sb[-1]), sb)
        if nd != len(sb) or ctx.out_shape[:-2] != sb[:-2]
        else res
    )


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def normalize_subscripts(subscripts: str, shapes: Sequence[Shape]) -> str:
    """Explicit-output subscripts with no spaces or ellipsis: ``"ij,jk"`` → ``"ij,jk->ik"``.

    Raises:
        ValueError: the subscripts do not fit the operand shapes.
    """
    s = subscripts.replace(" ", "")
    ins, arrow, out = s.partition("->")
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum {subscripts!r}: {len(terms)} terms for {len(shapes)} operands")
    if "..." in s:
        used = set(s) - set(".,->")
        free = [c for c in _LETTERS if c not in used]
        n_ell = max(
            len(sh) - (len(t) - 3) for t, sh in zip(terms, shapes, strict=True) if "..." in t
        )
        ell = "".join(free[:n_ell])
        new_terms = []
        for t, sh in zip(terms, shapes, strict=True):
            if "..." in t:
                k = len(sh) - (len(t) - 3)
                t = t.replace("...", ell[n_ell - k :])
            new_terms.append(t)
        terms = new_terms
        if arrow:
            out = out.replace("...", ell)
        else:
            out = ell + "".join(
                sorted(c for c in set("".join(terms)) - set(ell) if "".join(terms).count(c) == 1)
            )
            arrow = "->"
    if not arrow:
        joined = "".join(terms)
        out = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return ",".join(terms) + "->" + out


def _einsum_vjp_expr(
    subscripts: str, g: Expr, operands: Sequence[Expr], shapes: Sequence[Shape], k: int
) -> Expr:
    """The VJP of ``einsum(subscripts, operands)`` for operand ``k``: an einsum of ``g`` and the others.

    ``∂L/∂A`` for ``C = einsum("ij,jk->ik", A, B)`` is ``einsum("ik,jk->ij", ∂L/∂C, B)``. Labels of
    operand ``k`` found nowhere else (summed away) are restored by broadcasting; a repeated label in
    operand ``k`` (a diagonal) is handled by an identity factor.
    """
    ins, out = subscripts.split("->")
    terms = ins.split(",")
    target = terms[k]
    others = [(t, e) for i, (t, e) in enumerate(zip(terms, operands, strict=True)) if i != k]
    sizes: dict[str, int] = {}
    for t, sh in zip(terms, shapes, strict=True):
        for c, d in zip(t, sh, strict=True):
            if d != 1 or c not in sizes:
                sizes[c] = d
    extra_ops: list[Expr] = []
    extra_terms: list[str] = []
    # A repeated label in the target (a diagonal, "ii->i"): give the repeats fresh labels tied to the
    # original by an identity matrix, so the result is zero off the diagonal.
    seen: set[str] = set()
    free = [c for c in _LETTERS if c not in subscripts]
    new_target = ""
    for c in target:
        if c in seen:
            fresh = free.pop(0)
            new_target += fresh
            extra_terms.append(c + fresh)
            extra_ops.append(Const(np.eye(sizes[c]), label=f"I_{{{sizes[c]}}}"))
        else:
            new_target += c
            seen.add(c)
    available = set(out) | {c for t, _ in others for c in t} | {c for t in extra_terms for c in t}
    lone = [c for c in dict.fromkeys(new_target) if c not in available]
    for c in lone:
        extra_terms.append(c)
        extra_ops.append(Const(np.ones(sizes[c]), label=f"𝟙_{{{sizes[c]}}}"))
    subs = ",".join([out, *(t for t, _ in others), *extra_terms]) + "->" + new_target
    return O.einsum(subs, g, *(e for _, e in others), *extra_ops)


def _einsum_rule() -> SymbolicRule:
    def subs_of(ctx_params: Mapping[str, Any], shapes: Sequence[Shape]) -> str:
        return normalize_subscripts(str(ctx_params["subscripts"]), shapes)

    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        shapes = [o.shape or () for o in ops]
        try:
            subs = subs_of(p, shapes)
        except ValueError:
            subs = str(p["subscripts"])
        return O.einsum(subs, *ops)

    def vjp(ctx: VjpContext, k: int) -> Expr:
        subs = subs_of(ctx.params, ctx.shapes)
        return _einsum_vjp_expr(subs, ctx.g, ctx.operands, ctx.shapes, k)

    return SymbolicRule(form=form, vjp=vjp)


# --- reductions -----------------------------------------------------------------------------------


def _expand_back(ctx: VjpContext, e: Expr) -> Expr:
    """A reduced cotangent (or value) with the reduced axes put back as size 1, ready to broadcast."""
    (shape,) = ctx.shapes[:1]
    axis = ctx.params.get("axis")
    if ctx.params.get("keepdims") or (axis is None and not ctx.out_shape):
        return e
    axes = O._norm_axes(axis, len(shape))
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return O.reshape(e, kept)


def _reduce_rule(kind: str) -> SymbolicRule:
    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        return O.reduce(kind, ops[0], p.get("axis"), bool(p.get("keepdims")))

    def vjp(ctx: VjpContext, k: int) -> Expr:
        x = ctx.operands[0]
        shape = ctx.shapes[0]
        g = _expand_back(ctx, ctx.g)
        if kind == "sum":
            return O.broadcast_to(g, shape)
        if kind == "prod":
            return mul(g, _expand_back(ctx, ctx.out), power(x, const(-1.0)))
        if kind == "logsumexp":
            return mul(g, O.apply_fn(O.EXP, sub(x, _expand_back(ctx, ctx.out))))
        # max / min: the arg-extreme elements share the gradient equally.
        hit = O.indicator(O.compare(x, "==", _expand_back(ctx, ctx.out)))
        count = O.reduce("sum", hit, ctx.params.get("axis"), True)
        return mul(g, hit, power(count, const(-1.0)))

    return SymbolicRule(form=form, vjp=vjp)


def _softmax_rule(log: bool) -> SymbolicRule:
    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        axis = int(p.get("axis", -1))
        return O.log_softmax(ops[0], axis) if log else O.softmax(ops[0], axis)

    def vjp(ctx: VjpContext, k: int) -> Expr:
        axis = int(ctx.params.get("axis", -1))
        x = ctx.operands[0]
        s = O.softmax(x, axis)
        if log:
            return sub(ctx.g, mul(s, O.reduce("sum", ctx.g, axis, True)))
        return mul(s, sub(ctx.g, O.reduce("sum", mul(ctx.g, s), axis, True)))

    return SymbolicRule(form=form, vjp=vjp)


# --- shapes and indexing --------------------------------------------------------------------------


def _reshape_rule() -> SymbolicRule:
    return SymbolicRule(
        form=lambda ops, p: O.reshape(ops[0], _target_shape(ops[0], p)),
        vjp=lambda ctx, k: O.reshape(ctx.g, ctx.shapes[0]),
    )


def _target_shape(x: Expr, p: Mapping[str, Any]) -> Shape:
    shape = p.get("shape", p.get("newshape", ()))
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(d) for d in shape)
    if -1 in shape and x.shape is not None:
        known = int(np.prod([d for d in shape if d != -1]))
        total = int(np.prod(x.shape))
        shape = tuple(total // max(known, 1) if d == -1 else d for d in shape)
    return shape


def _transpose_rule() -> SymbolicRule:
    def axes_of(p: Mapping[str, Any], ndim: int) -> tuple[int, ...]:
        axes = p.get("axes")
        if axes is None:
            return tuple(reversed(range(ndim)))
        return tuple(int(a) % ndim for a in axes)

    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        nd = len(ops[0].shape or ())
        return O.transpose(ops[0], axes_of(p, nd), nd)

    def vjp(ctx: VjpContext, k: int) -> Expr:
        nd = len(ctx.shapes[0])
        axes = axes_of(ctx.params, nd)
        inverse = tuple(int(i) for i in np.argsort(axes))
        return O.transpose(ctx.g, inverse, nd)

    return SymbolicRule(form=form, vjp=vjp)


def _broadcast_rule() -> SymbolicRule:
    return SymbolicRule(
        form=lambda ops, p: O.broadcast_to(ops[0], tuple(p["shape"])),
        vjp=lambda ctx, k: O.sum_to(ctx.g, ctx.out_shape, ctx.shapes[0]),
    )


def _getitem_rule() -> SymbolicRule:
    def index_of(ops: Sequence[Expr], p: Mapping[str, Any]) -> Any:
        if "index" in p:
            return p["index"]
        return ops[1].value if len(ops) > 1 and isinstance(ops[1], Const) else None

    return SymbolicRule(
        form=lambda ops, p: O.getitem(ops[0], index_of(ops, p)),
        vjp=lambda ctx, k: (
            O.scatter(ctx.g, index_of(ctx.operands, ctx.params), ctx.shapes[0]) if k == 0 else None
        ),
    )


def _join_rule(kind: str) -> SymbolicRule:
    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        return O.join(kind, ops, int(p.get("axis", 0)))

    def vjp(ctx: VjpContext, k: int) -> Expr:
        axis = int(ctx.params.get("axis", 0))
        nd = len(ctx.out_shape)
        ax = axis % nd if nd else 0
        if kind == "stack":
            idx: tuple[Any, ...] = (slice(None),) * ax + (k,)
        else:
            start = sum(int(s[ax]) for s in ctx.shapes[:k])
            idx = (slice(None),) * ax + (slice(start, start + int(ctx.shapes[k][ax])),)
        return O.getitem(ctx.g, idx if len(idx) > 1 else idx[0])

    return SymbolicRule(form=form, vjp=vjp)


# --- the table --------------------------------------------------------------------------------------


def _tanh_explicit(x: Expr) -> Expr:
    return sub(const(1.0), power(O.apply_fn(O.TANH, x), const(2.0)))


def _sigmoid_explicit(x: Expr) -> Expr:
    s = O.apply_fn(O.SIGMOID, x)
    return mul(s, sub(const(1.0), s))


def _relu_explicit(x: Expr) -> Expr:
    return O.indicator(O.compare(x, ">", const(0.0)))


def _leaky_rule() -> SymbolicRule:
    def slope(p: Mapping[str, Any]) -> float:
        return float(p.get("negative_slope", p.get("alpha", p.get("slope", 0.01))))

    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        return O.apply_fn(O.leaky_relu_function(slope(p)), ops[0])

    def vjp(ctx: VjpContext, k: int) -> Expr:
        a = slope(ctx.params)
        x = ctx.operands[0]
        if ctx.expand:
            pos = O.indicator(O.compare(x, ">", const(0.0)))
            local = add(pos, mul(const(a), sub(const(1.0), pos)))
        else:
            local = derivative_of(O.leaky_relu_function(a), x)
        return mul(ctx.g, local)

    return SymbolicRule(form=form, vjp=vjp, broadcasts=True)


def _sqrt_local(ctx: VjpContext, x: Expr) -> Expr:
    return mul(const(0.5), power(x, const(-0.5)))


#: The symbolic rule of each built-in primitive, by name (attached to ``Primitive.symbolic`` below).
BUILTIN_RULES: dict[str, SymbolicRule] = {
    "add": _binary(lambda o, p: add(o[0], o[1]), lambda c: const(1.0), lambda c: const(1.0)),
    "sub": _binary(lambda o, p: sub(o[0], o[1]), lambda c: const(1.0), lambda c: const(-1.0)),
    "mul": _binary(lambda o, p: mul(o[0], o[1]), lambda c: c.operands[1], lambda c: c.operands[0]),
    "div": _binary(
        lambda o, p: div(o[0], o[1]),
        lambda c: power(c.operands[1], const(-1.0)),
        lambda c: neg(div(c.operands[0], power(c.operands[1], const(2.0)))),
    ),
    "pow": _binary(lambda o, p: power(o[0], o[1]), _pow_local_base, _pow_local_exp),
    "neg": SymbolicRule(
        form=lambda o, p: neg(o[0]), vjp=lambda ctx, k: neg(ctx.g), broadcasts=True
    ),
    "exp": _unary(O.EXP, lambda c, x: O.apply_fn(O.EXP, x)),
    "log": _unary(O.LOG, lambda c, x: power(x, const(-1.0))),
    "log1p": _unary(O.LOG1P, lambda c, x: power(add(const(1.0), x), const(-1.0))),
    "expm1": _unary(O.EXPM1, lambda c, x: O.apply_fn(O.EXP, x)),
    "sqrt": SymbolicRule(
        form=lambda o, p: power(o[0], const(0.5)),
        vjp=lambda ctx, k: mul(ctx.g, _sqrt_local(ctx, ctx.operands[0])),
        broadcasts=True,
    ),
    "abs": _unary(O.ABS, lambda c, x: O.apply_fn(O.SIGN, x)),
    "sin": _unary(O.SIN, lambda c, x: O.apply_fn(O.COS, x)),
    "cos": _unary(O.COS, lambda c, x: neg(O.apply_fn(O.SIN, x))),
    "tanh": _activation(O.TANH, _tanh_explicit),
    "sigmoid": _activation(O.SIGMOID, _sigmoid_explicit),
    "log_sigmoid": _unary(O.LOG_SIGMOID, lambda c, x: sub(const(1.0), O.apply_fn(O.SIGMOID, x))),
    "softplus": _unary(O.SOFTPLUS, lambda c, x: O.apply_fn(O.SIGMOID, x)),
    "relu": _activation(O.RELU, _relu_explicit),
    "leaky_relu": _leaky_rule(),
    "maximum": _maxmin_rule("max"),
    "minimum": _maxmin_rule("min"),
    "where": _where_rule(),
    "clip": _clip_rule(),
    "matmul": SymbolicRule(form=lambda o, p: O.matmul(o[0], o[1]), vjp=_matmul_vjp),
    "einsum": _einsum_rule(),
    "concatenate": _join_rule("concatenate"),
    "stack": _join_rule("stack"),
    "getitem": _getitem_rule(),
    "sum": _reduce_rule("sum"),
    "max": _reduce_rule("max"),
    "min": _reduce_rule("min"),
    "prod": _reduce_rule("prod"),
    "logsumexp": _reduce_rule("logsumexp"),
    "softmax": _softmax_rule(False),
    "log_softmax": _softmax_rule(True),
    "reshape": _reshape_rule(),
    "transpose": _transpose_rule(),
    "broadcast_to": _broadcast_rule(),
    "scatter_add": SymbolicRule(
        form=lambda o, p: O.scatter(o[0], p.get("index"), tuple(p.get("shape", ()))),
        vjp=lambda ctx, k: O.getitem(ctx.g, ctx.params.get("index")),
    ),
    # cr.grad marks its inputs with an identity node.
    "identity": SymbolicRule(form=lambda o, p: o[0], vjp=lambda ctx, k: ctx.g, broadcasts=True),
    # A dtype conversion prints as its operand (the derivation is the same in every dtype).
    "cast": SymbolicRule(form=lambda o, p: o[0], vjp=lambda ctx, k: ctx.g, broadcasts=True),
}
# NumPy's further elementwise and shape functions (elementwise_more.py, shape_ops.py).
BUILTIN_RULES.update({name: SymbolicRule(*parts) for name, parts in _NUMPY_RULE_PARTS.items()})
# Linear algebra, var/std, cumsum and sort (linalg.py, reductions_more.py).
BUILTIN_RULES.update({name: SymbolicRule(*parts) for name, parts in _LINALG_RULE_PARTS.items()})


def _fallback_rule(prim: Any) -> SymbolicRule:
    """A primitive with no symbolic form: ``name(operands)`` and an opaque, numerically exact VJP."""
    name = str(getattr(prim, "name", "op"))

    def form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
        spec = O.simple_op(
            name,
            lambda v, pp: prim.forward(*v, **p),
            lambda s, pp: None,
            tuple(k for k in p if not k.startswith("_")),
        )
        return Op(spec, tuple(ops), dict(p))

    def vjp(ctx: VjpContext, k: int) -> Expr | None:
        rule = prim.vjp_rule(k) if hasattr(prim, "vjp_rule") else None
        if rule is None:
            return None
        params = dict(ctx.params)
        spec = O.vjp_fallback_spec(name, k, rule, params)
        return Op(spec, (ctx.g, ctx.out, *ctx.operands), {"shape": ctx.shapes[k]})

    return SymbolicRule(form=form, vjp=vjp)


def _builtin_primitives() -> dict[str, Primitive]:
    """The built-in primitives by name: the objects their modules made (a name another primitive
    took since, with ``replace=True``, still finds the built-in)."""
    found: dict[str, Primitive] = {}
    for module in (
        P,
        functional,
        einsum_primitive,
        elementwise_more,
        shape_ops,
        _linalg,
        _reductions_more,
    ):
        for v in vars(module).values():
            if isinstance(v, Primitive):
                found[v.name] = v
    return found


def _attach_builtin_rules() -> None:
    """Put each rule of :data:`BUILTIN_RULES` in its built-in primitive's ``symbolic`` slot.

    Raises:
        RuntimeError: a rule names no built-in primitive (a rule nothing can reach).
    """
    known = _builtin_primitives()
    for name, rule in BUILTIN_RULES.items():
        prim = known.get(name)
        if prim is None:
            raise RuntimeError(f"symbolic rule {name!r} names no built-in primitive")
        if prim._symbolic is None:
            prim._symbolic = rule


_attach_builtin_rules()


def rule_for(prim: Any) -> SymbolicRule:
    """The symbolic rule of a primitive: its ``symbolic`` slot when that holds a
    :class:`SymbolicRule` (every built-in's does), else the opaque fallback."""
    own = getattr(prim, "symbolic", None)
    if isinstance(own, SymbolicRule):
        return own
    return _fallback_rule(prim)
