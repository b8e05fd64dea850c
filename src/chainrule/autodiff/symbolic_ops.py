"""The vocabulary of symbolic derivations: elementwise functions and array operations.

Each :class:`~chainrule.autodiff.symbolic.Function` prints by name (``tanh``, ``σ``) and knows its
numeric derivative; each builder below (``matmul``, ``einsum``, ``reduce``...) returns an
:class:`~chainrule.autodiff.symbolic.Op` that prints like the NumPy call it stands for and evaluates
with NumPy. The symbolic VJP rules (:mod:`chainrule.autodiff.symbolic_rules`) are written with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.autodiff import primitives as P
from chainrule.autodiff.symbolic import (
    PREC_ADD,
    PREC_ATOM,
    PREC_MUL,
    PREC_POW,
    Expr,
    Function,
    Op,
    OpSpec,
    Shape,
    _broadcast,
    call,
    const,
    filled_value,
    format_number,
)


def _fn(
    name: str, text: str, latex: str, f: Callable[..., Any], *d: Callable[..., Any]
) -> Function:
    return Function(name, text, latex, f, tuple(d))


# The numerics are the primitives' own forward functions (one source: the stable sigmoid family,
# logsumexp and softmax of chainrule.autodiff.primitives), so a printed derivation evaluates with
# exactly the functions that computed the graph. They take NumPy arrays and Python numbers.


def _neg_sigmoid(x: Any) -> Any:
    """σ(−x) = 1 − σ(x), exact where 1 − σ(x) would round (the derivative of log σ)."""
    return P.sigmoid_forward(-np.asarray(x))


EXP = _fn("exp", "exp", "\\exp", P.exp_forward, P.exp_forward)
LOG = _fn("log", "log", "\\log", P.log_forward, lambda x: 1.0 / x)
SIN = _fn("sin", "sin", "\\sin", P.sin_forward, P.cos_forward)
COS = _fn("cos", "cos", "\\cos", P.cos_forward, lambda x: -P.sin_forward(x))
SIGN = _fn("sign", "sign", "\\operatorname{sign}", np.sign, np.zeros_like)
TANH = _fn("tanh", "tanh", "\\tanh", P.tanh_forward, lambda x: 1.0 - P.tanh_forward(x) ** 2)
SIGMOID = _fn(
    "sigmoid",
    "σ",
    "\\sigma",
    P.sigmoid_forward,
    lambda x: P.sigmoid_forward(x) * _neg_sigmoid(x),
)
LOG_SIGMOID = _fn("log_sigmoid", "logσ", "\\log\\sigma", P.log_sigmoid_forward, _neg_sigmoid)
SOFTPLUS = _fn(
    "softplus", "softplus", "\\operatorname{softplus}", P.softplus_forward, P.sigmoid_forward
)
RELU = _fn(
    "relu",
    "relu",
    "\\operatorname{relu}",
    P.relu_forward,
    lambda x: (np.asarray(x) > 0).astype(float),
)
MAXIMUM = _fn("maximum", "max", "\\max", P.maximum_forward)
MINIMUM = _fn("minimum", "min", "\\min", P.minimum_forward)
LOG1P = _fn("log1p", "log1p", "\\operatorname{log1p}", P.log1p_forward, lambda x: 1.0 / (1.0 + x))
EXPM1 = _fn("expm1", "expm1", "\\operatorname{expm1}", P.expm1_forward, P.exp_forward)
ABS = _fn("abs", "abs", "\\operatorname{abs}", P.abs_forward, np.sign)


def leaky_relu_function(slope: float) -> Function:
    """``leaky_relu(x; negative_slope=slope)``: ``x`` for ``x > 0``, else ``slope·x``."""
    return Function(
        "leaky_relu",
        "leaky_relu",
        "\\operatorname{leaky\\_relu}",
        lambda x: P.leaky_relu_forward(np.asarray(x), slope),
        (lambda x: np.where(np.asarray(x) > 0, 1.0, slope),),
        (("negative_slope", slope),),
    )


# --- formatting helpers ---------------------------------------------------------------------------


def _fmt_value(v: Any, latex: bool) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return format_number(float(v), latex)
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_fmt_value(x, latex) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return str(v)


def _call_text(name: str, args: Sequence[str], extra: Sequence[str] = ()) -> str:
    return f"{name}({', '.join([*args, *extra])})"


def _call_latex(name: str, args: Sequence[str], extra: Sequence[str] = ()) -> str:
    body = ", ".join([*args, *(f"\\text{{{e}}}" for e in extra)])
    return f"\\operatorname{{{name}}}\\left({body}\\right)"


def _kw(params: Mapping[str, Any], keys: Sequence[str], latex: bool) -> list[str]:
    out = []
    for k in keys:
        v = params.get(k)
        if v is None or v is False:
            continue
        out.append(k if v is True else f"{k}={_fmt_value(v, latex)}")
    return out


def simple_op(
    name: str,
    numeric: Callable[[list[np.ndarray], Mapping[str, Any]], Any],
    shape: Callable[[list[Shape | None], Mapping[str, Any]], Shape | None],
    keys: Sequence[str] = (),
) -> OpSpec:
    """An operation printed as a call, ``name(args, key=value...)``, in text and LaTeX."""
    return OpSpec(
        name,
        numeric,
        lambda a, p: _call_text(name, a, _kw(p, keys, False)),
        lambda a, p: _call_latex(name.replace("_", "\\_"), a, _kw(p, keys, True)),
        shape,
    )


# --- matmul and transpose -------------------------------------------------------------------------


def _matmul_shape(shapes: list[Shape | None], params: Mapping[str, Any]) -> Shape | None:
    a, b = shapes
    if a is None or b is None:
        return None
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return (*b[:-2], b[-1])
    if len(b) == 1:
        return a[:-1]
    batch = _broadcast([a[:-2], b[:-2]])
    return None if batch is None else (*batch, a[-2], b[-1])


MATMUL = OpSpec(
    "matmul",
    lambda v, p: np.matmul(v[0], v[1]),
    lambda a, p: f"{a[0]} · {a[1]}",
    lambda a, p: f"{a[0]} {a[1]}",
    _matmul_shape,
    prec=PREC_MUL,
    arg_prec=PREC_POW,
)


def matmul(a: Expr, b: Expr) -> Expr:
    """The matrix product ``a · b`` (NumPy ``matmul`` semantics)."""
    return Op(MATMUL, (a, b))


def _transpose_shape(shapes: list[Shape | None], params: Mapping[str, Any]) -> Shape | None:
    (s,) = shapes
    if s is None:
        return None
    axes = params.get("axes")
    if axes is None:
        return tuple(reversed(s))
    return tuple(s[int(i)] for i in axes)


def _is_matrix_transpose(params: Mapping[str, Any]) -> bool:
    axes = params.get("axes")
    n = params.get("ndim")
    if n is None:
        return False
    if n == 2 and axes is None:
        return True
    return axes is not None and tuple(axes) == (*range(n - 2), n - 1, n - 2)


TRANSPOSE = OpSpec(
    "transpose",
    lambda v, p: np.transpose(v[0], p.get("axes")),
    lambda a, p: (
        f"{a[0]}ᵀ"
        if _is_matrix_transpose(p)
        else _call_text("transpose", a, _kw(p, ("axes",), False))
    ),
    lambda a, p: (
        f"{a[0]}^{{\\top}}"
        if _is_matrix_transpose(p)
        else _call_latex("transpose", a, _kw(p, ("axes",), True))
    ),
    _transpose_shape,
    arg_prec=PREC_ATOM,
)


def transpose(x: Expr, axes: Sequence[int] | None, ndim: int) -> Expr:
    """``x`` with its axes permuted (``axes=None`` reverses them); prints ``xᵀ`` for a matrix transpose."""
    if ndim < 2 or (axes is not None and tuple(axes) == tuple(range(ndim))):
        return x
    ax = None if axes is None else tuple(int(i) % ndim for i in axes)
    c = filled_value(x)
    if c is not None and x.shape is not None:
        shape = x.shape
        return broadcast_to(
            const(c), tuple(reversed(shape)) if ax is None else tuple(shape[i] for i in ax)
        )
    return Op(TRANSPOSE, (x,), {"axes": ax, "ndim": ndim})


# --- einsum ---------------------------------------------------------------------------------------


def _einsum_shape(shapes: list[Shape | None], params: Mapping[str, Any]) -> Shape | None:
    subs: str = params["subscripts"]
    ins, out = subs.split("->")
    sizes: dict[str, int] = {}
    for term, s in zip(ins.split(","), shapes, strict=True):
        if s is None:
            return None
        for ch, d in zip(term, s, strict=True):
            if d != 1 or ch not in sizes:
                sizes[ch] = d
    return tuple(sizes[ch] for ch in out)


EINSUM = OpSpec(
    "einsum",
    lambda v, p: np.einsum(p["subscripts"], *v),
    lambda a, p: f'einsum("{p["subscripts"]}", {", ".join(a)})',
    lambda a, p: (
        "\\operatorname{einsum}\\left(\\mathtt{"
        + p["subscripts"].replace("->", "\\to ")
        + "}, "
        + ", ".join(a)
        + "\\right)"
    ),
    _einsum_shape,
)


def einsum(subscripts: str, *operands: Expr) -> Expr:
    """``einsum(subscripts, operands)`` with explicit output (``"ij,jk->ik"``)."""
    return Op(EINSUM, tuple(operands), {"subscripts": subscripts})


# --- reductions and shapes ------------------------------------------------------------------------


def _norm_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    return tuple(sorted(int(a) % ndim for a in axis)) if ndim else ()


def _reduce_shape(shapes: list[Shape | None], params: Mapping[str, Any]) -> Shape | None:
    (s,) = shapes
    if s is None:
        return None
    axes = _norm_axes(params.get("axis"), len(s))
    if params.get("keepdims"):
        return tuple(1 if i in axes else d for i, d in enumerate(s))
    return tuple(d for i, d in enumerate(s) if i not in axes)


#: The reductions that are primitives, by kind: their forward functions.
_REDUCERS: dict[str, Callable[..., Any]] = {
    "sum": P.sum_forward,
    "max": P.max_forward,
    "min": P.min_forward,
    "prod": P.prod_forward,
    "logsumexp": P.logsumexp_forward,
}

REDUCE_SPECS: dict[str, OpSpec] = {
    kind: simple_op(
        kind,
        (lambda f: lambda v, p: f(v[0], axis=p.get("axis"), keepdims=bool(p.get("keepdims"))))(fn),
        _reduce_shape,
        ("axis", "keepdims"),
    )
    for kind, fn in _REDUCERS.items()
}


def reduce(kind: str, x: Expr, axis: Any = None, keepdims: bool = False) -> Expr:
    """``kind(x, axis, keepdims)`` for ``kind`` in sum, max, min, prod, logsumexp."""
    if isinstance(axis, list):
        axis = tuple(axis)
    c = filled_value(x)
    if c is not None and kind in ("sum", "max", "min") and x.shape is not None:
        # A reduction of a broadcast number is a number: sum(1 over 3 rows) = 3.
        shape = x.shape
        axes = _norm_axes(axis, len(shape))
        n = math.prod(shape[i] for i in axes)
        out = _reduce_shape([shape], {"axis": axis, "keepdims": keepdims})
        return broadcast_to(const(c * n if kind == "sum" else c), out or ())
    return Op(REDUCE_SPECS[kind], (x,), {"axis": axis, "keepdims": bool(keepdims)})


def sum_to(x: Expr, from_shape: Shape, to_shape: Shape) -> Expr:
    """Sum a cotangent of ``from_shape`` back to the broadcast operand's ``to_shape``.

    Leading axes that broadcasting added are summed away; axes where ``to_shape`` has 1 are summed
    with ``keepdims``.
    """
    from_shape, to_shape = tuple(from_shape), tuple(to_shape)
    if from_shape == to_shape:
        return x
    lead = len(from_shape) - len(to_shape)
    if lead < 0:
        return broadcast_to(x, to_shape)
    if not to_shape:
        return reduce("sum", x, None, False)
    if lead:
        x = reduce("sum", x, tuple(range(lead)) if lead > 1 else 0, False)
    kept = tuple(
        i
        for i, (t, f) in enumerate(zip(to_shape, from_shape[lead:], strict=True))
        if t == 1 and f != 1
    )
    if kept:
        x = reduce("sum", x, kept if len(kept) > 1 else kept[0], True)
    return x


RESHAPE = simple_op(
    "reshape", lambda v, p: np.reshape(v[0], p["shape"]), lambda s, p: tuple(p["shape"]), ("shape",)
)
BROADCAST_TO = simple_op(
    "broadcast_to",
    lambda v, p: np.broadcast_to(v[0], p["shape"]),
    lambda s, p: tuple(p["shape"]),
    ("shape",),
)


def reshape(x: Expr, shape: Shape) -> Expr:
    """``reshape(x, shape)``."""
    if x.shape is not None and tuple(x.shape) == tuple(shape):
        return x
    c = filled_value(x)
    if c is not None:
        return broadcast_to(const(c), shape)
    return Op(RESHAPE, (x,), {"shape": tuple(int(d) for d in shape)})


def broadcast_to(x: Expr, shape: Shape) -> Expr:
    """``broadcast_to(x, shape)`` (a number broadcast to ``()`` is the number)."""
    if x.shape is not None and tuple(x.shape) == tuple(shape):
        return x
    c = filled_value(x)
    if c is not None:
        x = const(c)
    return Op(BROADCAST_TO, (x,), {"shape": tuple(int(d) for d in shape)})


def _fmt_index_item(i: Any) -> str:
    if isinstance(i, slice):
        parts = ["" if v is None else str(v) for v in (i.start, i.stop)]
        s = ":".join(parts)
        return s + (f":{i.step}" if i.step is not None else "")
    if i is None:
        return "None"
    if i is Ellipsis:
        return "..."
    arr = np.asarray(i)
    if arr.ndim == 0:
        return str(arr.item())
    if arr.dtype == bool:
        return "mask(" + "×".join(str(d) for d in arr.shape) + ")"
    if arr.size <= 6:
        return str(arr.tolist()).replace(" ", "")
    return "idx(" + "×".join(str(d) for d in arr.shape) + ")"


def format_index(index: Any) -> str:
    """An index as it is written between brackets: ``0, 1:3``."""
    items = index if isinstance(index, tuple) else (index,)
    return ", ".join(_fmt_index_item(i) for i in items)


def _index_value(v: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(_index_value(x) for x in v)
    return v.data if hasattr(v, "data") and not isinstance(v, np.ndarray) else v


GETITEM = OpSpec(
    "getitem",
    lambda v, p: v[0][_index_value(p["index"])],
    lambda a, p: f"{a[0]}[{format_index(p['index'])}]",
    lambda a, p: f"{a[0]}\\left[{format_index(p['index']).replace(':', '{:}')}\\right]",
    lambda s, p: None,
    arg_prec=PREC_ATOM,
)


def getitem(x: Expr, index: Any) -> Expr:
    """``x[index]``."""
    c = filled_value(x)
    if c is not None and x.shape is not None:
        try:
            return broadcast_to(const(c), np.broadcast_to(0.0, x.shape)[_index_value(index)].shape)
        except (IndexError, TypeError, ValueError):
            pass
    return Op(GETITEM, (x,), {"index": index})


def _scatter(v: list[np.ndarray], p: Mapping[str, Any]) -> Any:
    g = v[0]
    out = np.zeros(p["shape"], dtype=np.result_type(g, np.float64))
    np.add.at(out, _index_value(p["index"]), g)
    return out


SCATTER = OpSpec(
    "scatter",
    _scatter,
    lambda a, p: f"scatter({a[0]}, [{format_index(p['index'])}], {_fmt_value(p['shape'], False)})",
    lambda a, p: (
        f"\\operatorname{{scatter}}\\left({a[0]}, "
        f"[{format_index(p['index']).replace(':', '{:}')}], {_fmt_value(p['shape'], True)}\\right)"
    ),
    lambda s, p: tuple(p["shape"]),
)


def scatter(g: Expr, index: Any, shape: Shape) -> Expr:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate): getitem's VJP."""
    return Op(SCATTER, (g,), {"index": index, "shape": tuple(shape)})


def _join_shape(shapes: list[Shape | None], params: Mapping[str, Any]) -> Shape | None:
    if any(s is None for s in shapes):
        return None
    known = [s for s in shapes if s is not None]
    first = known[0]
    if params["kind"] == "stack":
        ax = params["axis"] % (len(first) + 1)
        return (*first[:ax], len(known), *first[ax:])
    ax = params["axis"] % len(first)
    return (*first[:ax], sum(s[ax] for s in known), *first[ax + 1 :])


def _join_numeric(v: list[np.ndarray], p: Mapping[str, Any]) -> Any:
    fn = np.stack if p["kind"] == "stack" else np.concatenate
    return fn(v, axis=p["axis"])


JOIN = OpSpec(
    "join",
    _join_numeric,
    lambda a, p: f"{p['kind']}([{', '.join(a)}], axis={p['axis']})",
    lambda a, p: (
        f"\\operatorname{{{p['kind']}}}\\left([{', '.join(a)}], \\text{{axis}}={p['axis']}\\right)"
    ),
    _join_shape,
)


def join(kind: str, parts: Sequence[Expr], axis: int) -> Expr:
    """``concatenate`` or ``stack`` of ``parts`` along ``axis``."""
    return Op(JOIN, tuple(parts), {"kind": kind, "axis": int(axis)})


SOFTMAX = simple_op(
    "softmax",
    lambda v, p: P.softmax_forward(v[0], axis=p["axis"]),
    lambda s, p: s[0],
    ("axis",),
)
LOG_SOFTMAX = simple_op(
    "log_softmax",
    lambda v, p: P.log_softmax_forward(v[0], axis=p["axis"]),
    lambda s, p: s[0],
    ("axis",),
)


def softmax(x: Expr, axis: int) -> Expr:
    """``softmax(x, axis)``."""
    return Op(SOFTMAX, (x,), {"axis": axis})


def log_softmax(x: Expr, axis: int) -> Expr:
    """``log_softmax(x, axis)``."""
    return Op(LOG_SOFTMAX, (x,), {"axis": axis})


# --- conditions -----------------------------------------------------------------------------------

_COMPARE: dict[str, tuple[str, str, Callable[[Any, Any], Any]]] = {
    ">": (">", ">", np.greater),
    ">=": ("≥", "\\geq", np.greater_equal),
    "<": ("<", "<", np.less),
    "<=": ("≤", "\\leq", np.less_equal),
    "==": ("=", "=", np.equal),
}

COMPARE = OpSpec(
    "compare",
    lambda v, p: _COMPARE[p["rel"]][2](v[0], v[1]),
    lambda a, p: f"{a[0]} {_COMPARE[p['rel']][0]} {a[1]}",
    lambda a, p: f"{a[0]} {_COMPARE[p['rel']][1]} {a[1]}",
    lambda s, p: _broadcast(s),
    prec=0,
    arg_prec=PREC_ADD,
)


def compare(a: Expr, rel: str, b: Expr) -> Expr:
    """The boolean ``a rel b`` for ``rel`` in ``> >= < <= ==``."""
    return Op(COMPARE, (a, b), {"rel": rel})


INDICATOR = OpSpec(
    "indicator",
    lambda v, p: np.asarray(v[0], dtype=float),
    lambda a, p: f"[{a[0]}]",
    lambda a, p: f"\\left[{a[0]}\\right]",
    lambda s, p: s[0],
)


def indicator(cond: Expr) -> Expr:
    """The Iverson bracket ``[cond]``: 1 where ``cond`` holds, else 0."""
    return Op(INDICATOR, (cond,))


WHERE = simple_op("where", lambda v, p: np.where(v[0], v[1], v[2]), lambda s, p: _broadcast(s), ())


def where(cond: Expr, a: Expr, b: Expr) -> Expr:
    """``where(cond, a, b)``."""
    return Op(WHERE, (cond, a, b))


def apply_fn(fn: Function, *args: Expr) -> Expr:
    """``fn(args)`` (folded when every argument is a number)."""
    return call(fn, *args)


def vjp_fallback_spec(
    prim_name: str, k: int, rule: Callable[..., Any], params: Mapping[str, Any]
) -> OpSpec:
    """An opaque VJP, ``vjp_name[k](g; operands)``, evaluated with the primitive's own numeric rule.

    Used for primitives with no symbolic form: the derivation stays complete and checkable.
    """

    def numeric(v: list[np.ndarray], p: Mapping[str, Any]) -> Any:
        g, ans, *ops = v
        res = np.asarray(rule(g, ans, *ops, **params))
        target = tuple(p["shape"])
        if res.shape != target:
            # The rule may return the output's shape for a broadcast operand: sum it back.
            lead = res.ndim - len(target)
            res = res.sum(axis=tuple(range(lead))) if lead > 0 else res
            keep = tuple(i for i, d in enumerate(target) if d == 1 and res.shape[i] != 1)
            res = res.sum(axis=keep, keepdims=True) if keep else res
        return res

    latex_name = f"vjp_{{{prim_name}}}[{k}]".replace("_", "\\_")
    return OpSpec(
        f"vjp:{prim_name}:{k}",
        numeric,
        lambda a, p: f"vjp_{prim_name}[{k}]({a[0]}; {', '.join(a[2:])})",
        lambda a, p: f"\\operatorname{{{latex_name}}}\\left({a[0]}; {', '.join(a[2:])}\\right)",
        lambda s, p: p.get("shape"),
    )


__all__ = [
    "ABS",
    "COS",
    "EXP",
    "EXPM1",
    "LOG",
    "LOG1P",
    "LOG_SIGMOID",
    "MAXIMUM",
    "MINIMUM",
    "RELU",
    "SIGMOID",
    "SIGN",
    "SIN",
    "SOFTPLUS",
    "TANH",
    "apply_fn",
    "broadcast_to",
    "compare",
    "einsum",
    "format_index",
    "getitem",
    "indicator",
    "join",
    "leaky_relu_function",
    "log_softmax",
    "matmul",
    "reduce",
    "reshape",
    "scatter",
    "softmax",
    "sum_to",
    "transpose",
    "vjp_fallback_spec",
    "where",
]
