"""Every built-in primitive and its VJP rules: one table.

Each primitive is a forward function on plain arrays plus one named VJP rule per operand, registered
in :data:`chainrule.autodiff.graph.PRIMITIVES`. Every public function here works on Tensors (recording
a graph node when grad is needed) and on plain arrays (then it is the forward function, at NumPy
speed). VJP rules are written with these same functions, so ``create_graph=True`` differentiates them
again (higher-order gradients). Broadcast operands get their gradient reduced to their own shape in
one place, the backward pass; rules return gradients of the broadcast shape.

Conventions at kinks (all tested):

- ``relu'(0) = 0``; ``leaky_relu'(0) = negative_slope``; ``abs'(0) = 0`` (the sign function).
- ``maximum(a, b)`` / ``minimum(a, b)`` with ``a == b``: each operand gets half of the gradient.
- ``max`` / ``min`` reductions with ties: the gradient is shared equally among the tied entries.
- ``clip(x, lo, hi)``: gradient 1 for ``lo <= x <= hi`` (bounds included), else 0; a Tensor bound gets
  the gradient where it is the result.
- ``sqrt'(0) = inf``; ``log'(0) = inf`` (the one-sided limits).
- ``x ** y`` with respect to ``y`` at ``x == 0`` is 0 (the limit of ``x**y * log x`` for y > 0).

Stability: ``sigmoid``, ``log_sigmoid``, ``softplus``, ``logsumexp``, ``softmax`` and ``log_softmax``
stay finite, with correct gradients, at |x| = 800 (and beyond).
"""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias, overload

import numpy as np
import scipy.special as _sp

from chainrule import backend
from chainrule import vmath as _vmath
from chainrule.autodiff.graph import GRAD_ENABLED, Primitive, register_primitive
from chainrule.autodiff.tensor import (
    _NO_PARAMS,
    _NUMPY_TYPES,
    _SEQ,
    _SEQ_TYPES,
    Tensor,
    _copied_data,
    _leaf,
    _node,
    _object_new,
    apply,
    install_operators,
    sequence_operand,
    value,
)

__all__ = [
    "abs",
    "add",
    "broadcast_to",
    "cast",
    "clip",
    "concatenate",
    "cos",
    "divide",
    "exp",
    "expm1",
    "getitem",
    "leaky_relu",
    "log",
    "log1p",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "multiply",
    "negative",
    "permute",
    "power",
    "prod",
    "relu",
    "reshape",
    "scatter_add",
    "sigmoid",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "stack",
    "subtract",
    "sum",
    "swapaxes",
    "tanh",
    "transpose",
    "where",
]


# --- types -----------------------------------------------------------------------------------------


class _SupportsArray(Protocol):
    def __array__(self) -> Any: ...


class _SupportsArrayNamespace(Protocol):
    def __array_namespace__(self) -> Any: ...


#: What the functions here take besides Tensors: NumPy arrays and scalars, Python numbers, nested
#: lists and tuples, and arrays of other namespaces (with ``__array__`` or ``__array_namespace__``).
#: With no Tensor operand a function is its forward function and returns a plain array (typed Any).
ArrayInput: TypeAlias = (
    np.ndarray
    | np.generic
    | int
    | float
    | complex
    | list[Any]
    | tuple[Any, ...]
    | _SupportsArray
    | _SupportsArrayNamespace
)
#: A Tensor or an array input.
Operand: TypeAlias = "Tensor | ArrayInput"


class Elementwise(Protocol):
    """The type of the elementwise functions (``exp``, ``tanh``, ``sigmoid``...): a Tensor gives a
    Tensor, an array input gives a plain array."""

    @overload
    def __call__(self, x: Tensor, /) -> Tensor: ...
    @overload
    def __call__(self, x: ArrayInput, /) -> Any: ...


# --- helpers ---------------------------------------------------------------------------------------


_NDARRAY = np.ndarray
_F64 = np.float64
_F64_DTYPE = np.dtype(np.float64)


def _ns(x: Any) -> Any:
    """The namespace of array ``x``: bare NumPy on the fast path (NumPy 2 has the Array API names)."""
    return np if type(x) in _NUMPY_TYPES else backend.array_namespace(x)


def _ns2(a: Any, b: Any) -> Any:
    if type(a) in _NUMPY_TYPES and type(b) in _NUMPY_TYPES:
        return np
    return backend.array_namespace(a, b)


def _shape(x: Any) -> tuple[int, ...]:
    s = getattr(x, "shape", None)
    return () if s is None else tuple(s)


def _norm_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, int or sequence) as sorted non-negative ints; raises on out-of-range axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def _keep_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """How many entries of an array of ``shape`` one reduction over ``axis`` combines.

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    n = 1
    for a in _norm_axes(axis, len(shape)):
        n *= shape[a]
    return n


def _int_arg(v: Any, what: str) -> int:
    """``v`` as an int: a Python int, a NumPy integer or a 0-d integer array, as NumPy reads an
    axis, offset or count (``operator.index``).

    Raises:
        TypeError: ``v`` is a float, a bool or anything else without ``__index__`` (``what``
            named).
    """
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {type(v).__name__} {v!r}") from None


def _operand(x: Any) -> Any:
    """``x``, with a list or tuple read as one array: stacked (differentiably) when it holds
    Tensors, else ``np.asarray`` (see :func:`chainrule.autodiff.tensor.sequence_operand`)."""
    return sequence_operand(x) if type(x) in _SEQ_TYPES else x


def _real_operand(name: str, arg: str, x: Any) -> Any:
    """``x`` as an operand (:func:`_operand`), refused when complex: the functions that call this
    (``cr.linalg``, ``var``, ``std``) return real gradients only.

    Raises:
        TypeError: ``x`` has a complex dtype (function, argument and dtype named).
    """
    x = _operand(x)
    v = value(x)
    dtype = getattr(v, "dtype", None)
    if isinstance(v, complex):
        dtype = "complex"
    elif dtype is None:
        return x
    elif isinstance(dtype, np.dtype):
        if dtype.kind != "c":
            return x
    elif not _ns(v).isdtype(dtype, "complex floating"):
        return x
    raise TypeError(
        f"{name}: {arg} has complex dtype {dtype}; only real inputs are supported (the "
        "gradients are real)"
    )


def _unary(prim: Primitive, x: Any, params: dict[str, Any]) -> Any:
    """``prim(x)``: the hot path for one-operand primitives."""
    if isinstance(x, Tensor):
        d = x._data
        out = prim.forward(d, **params) if params else prim.forward(d)
        if x.requires_grad and GRAD_ENABLED[0]:
            t = _object_new(Tensor)
            t._data = out
            t.requires_grad = True
            t.grad = None
            t.name = None
            t.op = prim
            t.parents = (x,)
            t.params = params
            t._args = None
            t._raw = (d,)
            t._retain = False
            t._seq = next(_SEQ)
            if x.op is None:  # a leaf counts the nodes that saved it (tensor._held)
                x._retain += 1
            return t
        return _leaf(out)
    if type(x) in _SEQ_TYPES:
        x = sequence_operand(x)
        if isinstance(x, Tensor):
            return _unary(prim, x, params)
    return prim.forward(x, **params) if params else prim.forward(x)


def _elementwise(prim: Primitive, npf: Any, doc: str) -> Elementwise:
    """The public function of an elementwise primitive whose NumPy forward is the ufunc ``npf``.

    ``prim(x)`` with everything bound once; on NumPy data the forward runs ``npf`` directly. Each
    call is one Python call (scalar graphs are dominated by such per-op costs).
    """
    forward = prim.forward

    def function(x: Any) -> Any:
        if type(x) is Tensor:
            d = x._data
            out = npf(d) if type(d) in _NUMPY_TYPES else forward(d)
            if x.requires_grad and GRAD_ENABLED[0]:
                t = _object_new(Tensor)
                t._data = out
                t.requires_grad = True
                t.grad = None
                t.name = None
                t.op = prim
                t.parents = (x,)
                t.params = _NO_PARAMS
                t._args = None
                t._raw = (d,)
                t._retain = False
                t._seq = next(_SEQ)
                if x.op is None:
                    x._retain += 1
                return t
            return _leaf(out)
        return _unary(prim, x, _NO_PARAMS)

    function.__name__ = function.__qualname__ = prim.name
    function.__doc__ = doc
    return function


def _reduced_grad(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """The output gradient of a reduction of ``x`` over ``axis``, reshaped to keep the reduced axes."""
    if keepdims:
        return g
    xshape = _shape(x)
    return reshape(g, _keep_shape(xshape, _norm_axes(axis, len(xshape))))


# --- arithmetic (forward: the operator module, C functions on the hot path) ------------------------------------------------------------------------------------


def add_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g


def add_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g


def sub_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g


def sub_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return -g


def _scalar_weight_grad(g: Any, other: Any) -> Any:
    """``sum(g * other)`` as one dot product (no temporary), for a 0-d operand on NumPy arrays."""
    return np.vdot(other, g)


# mul's rules: for a 0-d float64 array operand ``x`` (a scalar leaf) and a ``np.float64`` gradient,
# ``g * x.item()`` is NumPy's scalar math: the same bits and type as ``g * x``, about 5x cheaper.


def mul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if type(b) is _NDARRAY:
        tg = type(g)
        if tg is _F64 and b.dtype is _F64_DTYPE and not b.shape:
            return g * b.item()
        if tg is _NDARRAY and b.shape == g.shape and a.ndim == 0:
            return _scalar_weight_grad(g, b)
    return g * b


def mul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if type(a) is _NDARRAY:
        tg = type(g)
        if tg is _F64 and a.dtype is _F64_DTYPE and not a.shape:
            return g * a.item()
        if tg is _NDARRAY and a.shape == g.shape and b.ndim == 0:
            return _scalar_weight_grad(g, a)
    return g * a


def div_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g / b


def div_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return -(g * ans) / b


def neg_vjp(g: Any, ans: Any, a: Any) -> Any:
    return -g


def pow_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        if b == 2:
            return g * (a * 2.0)
        if b == 1:
            return g
        return g * (b * a ** (b - 1))
    return g * (b * a ** (b - 1))


def pow_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    # d(a**b)/db = a**b log a; at a == 0 the limit (b > 0) is 0, so log is evaluated at 1 there.
    av = value(a)
    if isinstance(av, (int, float)):
        return g * ans * (math.log(av) if av != 0 else 0.0)
    safe = where(av == 0, 1.0, a)
    return g * ans * log(safe)


ADD = register_primitive("add", operator.add, add_vjp_a, add_vjp_b, doc="a + b")
SUB = register_primitive("sub", operator.sub, sub_vjp_a, sub_vjp_b, doc="a - b")
MUL = register_primitive("mul", operator.mul, mul_vjp_a, mul_vjp_b, doc="a * b")
DIV = register_primitive("div", operator.truediv, div_vjp_a, div_vjp_b, doc="a / b")
NEG = register_primitive("neg", operator.neg, neg_vjp, doc="-a")
POW = register_primitive("pow", operator.pow, pow_vjp_a, pow_vjp_b, doc="a ** b")


@overload
def add(a: Tensor, b: Operand) -> Tensor: ...


@overload
def add(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def add(a: ArrayInput, b: ArrayInput) -> Any: ...


def add(a: Any, b: Any) -> Any:
    """``a + b`` with broadcasting."""
    return apply(ADD, (a, b), _NO_PARAMS)


@overload
def subtract(a: Tensor, b: Operand) -> Tensor: ...


@overload
def subtract(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def subtract(a: ArrayInput, b: ArrayInput) -> Any: ...


def subtract(a: Any, b: Any) -> Any:
    """``a - b`` with broadcasting."""
    return apply(SUB, (a, b), _NO_PARAMS)


@overload
def multiply(a: Tensor, b: Operand) -> Tensor: ...


@overload
def multiply(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def multiply(a: ArrayInput, b: ArrayInput) -> Any: ...


def multiply(a: Any, b: Any) -> Any:
    """``a * b`` with broadcasting."""
    return apply(MUL, (a, b), _NO_PARAMS)


@overload
def divide(a: Tensor, b: Operand) -> Tensor: ...


@overload
def divide(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def divide(a: ArrayInput, b: ArrayInput) -> Any: ...


def divide(a: Any, b: Any) -> Any:
    """``a / b`` with broadcasting."""
    return apply(DIV, (a, b), _NO_PARAMS)


@overload
def negative(a: Tensor) -> Tensor: ...


@overload
def negative(a: ArrayInput) -> Any: ...


def negative(a: Any) -> Any:
    """``-a``."""
    return _unary(NEG, a, _NO_PARAMS)


@overload
def power(a: Tensor, b: Operand) -> Tensor: ...


@overload
def power(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def power(a: ArrayInput, b: ArrayInput) -> Any: ...


def power(a: Any, b: Any) -> Any:
    """``a ** b`` with broadcasting."""
    return apply(POW, (a, b), _NO_PARAMS)


# --- elementwise functions -------------------------------------------------------------------------


def exp_forward(x: Any) -> Any:
    return _vmath.EXP(x) if type(x) in _NUMPY_TYPES else _ns(x).exp(x)


def exp_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * ans


def log_forward(x: Any) -> Any:
    return np.log(x) if type(x) in _NUMPY_TYPES else _ns(x).log(x)


def log_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / x


def log1p_forward(x: Any) -> Any:
    return _ns(x).log1p(x)


def log1p_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / (x + 1.0)


def expm1_forward(x: Any) -> Any:
    return _ns(x).expm1(x)


def expm1_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * (ans + 1.0)


def sqrt_forward(x: Any) -> Any:
    return _ns(x).sqrt(x)


def sqrt_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * 0.5 / ans


def _sign(x: Any) -> Any:
    xv = value(x)
    return _ns(xv).sign(xv)


def abs_forward(x: Any) -> Any:
    return _ns(x).abs(x)


def abs_vjp(g: Any, ans: Any, x: Any) -> Any:
    # abs'(0) = 0: the sign function, a constant for higher orders.
    return g * _sign(x)


def sin_forward(x: Any) -> Any:
    return _ns(x).sin(x)


def sin_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * cos(x)


def cos_forward(x: Any) -> Any:
    return _ns(x).cos(x)


def cos_vjp(g: Any, ans: Any, x: Any) -> Any:
    return -(g * sin(x))


def tanh_forward(x: Any) -> Any:
    return _vmath.TANH(x) if type(x) in _NUMPY_TYPES else _ns(x).tanh(x)


def tanh_vjp(g: Any, ans: Any, x: Any) -> Any:
    if type(ans) is _NDARRAY and type(g) is _NDARRAY and g.shape == ans.shape:
        # One temporary instead of three (same arithmetic).
        t = ans * ans
        np.subtract(1.0, t, out=t)
        np.multiply(g, t, out=t)
        return t
    return g * (1.0 - ans * ans)


EXP = register_primitive("exp", exp_forward, exp_vjp, doc="e^x")
LOG = register_primitive("log", log_forward, log_vjp, doc="natural logarithm")
LOG1P = register_primitive("log1p", log1p_forward, log1p_vjp, doc="log(1 + x)")
EXPM1 = register_primitive("expm1", expm1_forward, expm1_vjp, doc="e^x - 1")
SQRT = register_primitive("sqrt", sqrt_forward, sqrt_vjp, doc="square root")
ABS = register_primitive("abs", abs_forward, abs_vjp, doc="absolute value")
SIN = register_primitive("sin", sin_forward, sin_vjp, doc="sine")
COS = register_primitive("cos", cos_forward, cos_vjp, doc="cosine")
TANH = register_primitive("tanh", tanh_forward, tanh_vjp, doc="hyperbolic tangent")


exp = _elementwise(EXP, _vmath.EXP, "Elementwise ``e**x``.")


log = _elementwise(LOG, np.log, "Elementwise natural logarithm.")


log1p = _elementwise(LOG1P, np.log1p, "Elementwise ``log(1 + x)``, accurate for small x.")


expm1 = _elementwise(EXPM1, np.expm1, "Elementwise ``exp(x) - 1``, accurate for small x.")


sqrt = _elementwise(SQRT, np.sqrt, "Elementwise square root.")


abs = _elementwise(ABS, np.abs, "Elementwise absolute value; ``abs'(0) = 0``.")


sin = _elementwise(SIN, np.sin, "Elementwise sine.")


cos = _elementwise(COS, np.cos, "Elementwise cosine.")


tanh = _elementwise(TANH, _vmath.TANH, "Elementwise hyperbolic tangent.")


# --- activations (stable at |x| = 800) ------------------------------------------------------------


def sigmoid_forward(x: Any) -> Any:
    if type(x) in _NUMPY_TYPES:
        return _sp.expit(x)
    xp = _ns(x)
    e = xp.exp(-xp.abs(x))  # never overflows
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_vjp(g: Any, ans: Any, x: Any) -> Any:
    if type(ans) is _NDARRAY and type(g) is _NDARRAY and g.shape == ans.shape:
        t = 1.0 - ans
        np.multiply(t, ans, out=t)
        np.multiply(g, t, out=t)
        return t
    return g * (ans * (1.0 - ans))


def log_sigmoid_forward(x: Any) -> Any:
    if type(x) in _NUMPY_TYPES:
        return _sp.log_expit(x)
    xp = _ns(x)
    # log s(x) = min(x, 0) - log1p(e^{-|x|})
    return xp.minimum(x, 0.0) - xp.log1p(xp.exp(-xp.abs(x)))


def log_sigmoid_vjp(g: Any, ans: Any, x: Any) -> Any:
    # d log s(x)/dx = 1 - s(x) = s(-x), finite and exact at x = -800 (where 1 - s(x) would round).
    return g * sigmoid(-x)


def softplus_forward(x: Any) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.logaddexp(0.0, x)
    xp = _ns(x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def softplus_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * sigmoid(x)


def relu_forward(x: Any) -> Any:
    return _ns(x).maximum(x, 0.0)


def relu_vjp(g: Any, ans: Any, x: Any) -> Any:
    # relu'(0) = 0.
    if type(g) is np.ndarray:
        return g * (x > 0)  # NumPy: a bool mask multiplies 5x faster than np.where(mask, g, 0.0)
    return where(value(x) > 0, g, 0.0)


def _selector(mask: Any, yes: float, no: float, like: Any) -> Any:
    """``yes`` where ``mask`` else ``no``, in the floating dtype and namespace of array ``like`` (a
    float32 gradient stays float32; Array API namespaces take no two-scalar ``where``)."""
    if type(mask) in _NUMPY_TYPES:
        return np.where(mask, yes, no).astype(like.dtype, copy=False)
    xp = _ns(mask)
    return xp.where(mask, xp.asarray(yes, dtype=like.dtype), xp.asarray(no, dtype=like.dtype))


def leaky_relu_forward(x: Any, negative_slope: float = 0.01) -> Any:
    xp = _ns(x)
    return xp.where(x > 0, x, x * negative_slope)


def leaky_relu_vjp(g: Any, ans: Any, x: Any, negative_slope: float = 0.01) -> Any:
    # leaky_relu'(0) = negative_slope.
    xv = value(x)
    return g * _selector(xv > 0, 1.0, negative_slope, xv)


SIGMOID = register_primitive("sigmoid", sigmoid_forward, sigmoid_vjp, doc="1 / (1 + e^-x)")
LOG_SIGMOID = register_primitive(
    "log_sigmoid", log_sigmoid_forward, log_sigmoid_vjp, doc="log(1 / (1 + e^-x))"
)
SOFTPLUS = register_primitive("softplus", softplus_forward, softplus_vjp, doc="log(1 + e^x)")
RELU = register_primitive("relu", relu_forward, relu_vjp, doc="max(x, 0)")
LEAKY_RELU = register_primitive(
    "leaky_relu", leaky_relu_forward, leaky_relu_vjp, doc="x if x > 0 else slope * x"
)


sigmoid = _elementwise(
    SIGMOID, _sp.expit, "The logistic function ``1 / (1 + exp(-x))``, stable for any x."
)


log_sigmoid = _elementwise(
    LOG_SIGMOID, _sp.log_expit, "``log(sigmoid(x))``, finite for any x (``-800`` at ``x = -800``)."
)


@overload
def softplus(x: Tensor) -> Tensor: ...


@overload
def softplus(x: ArrayInput) -> Any: ...


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, finite for any x; its derivative is ``sigmoid(x)``."""
    return _unary(SOFTPLUS, x, _NO_PARAMS)


@overload
def relu(x: Tensor) -> Tensor: ...


@overload
def relu(x: ArrayInput) -> Any: ...


def relu(x: Any) -> Any:
    """``max(x, 0)``; ``relu'(0) = 0``."""
    return _unary(RELU, x, _NO_PARAMS)


@overload
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor: ...


@overload
def leaky_relu(x: ArrayInput, negative_slope: float = 0.01) -> Any: ...


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """``x`` for ``x > 0``, else ``negative_slope * x``; the derivative at 0 is ``negative_slope``."""
    return _unary(LEAKY_RELU, x, {"negative_slope": negative_slope})


# --- binary selections -----------------------------------------------------------------------------


def _share(a: Any, b: Any, greater: bool) -> Any:
    """Gradient share of ``a`` in maximum (greater=True) / minimum: 1, 0, or 1/2 at ties."""
    av, bv = value(a), value(b)
    win = (av > bv) if greater else (av < bv)
    like = av if hasattr(av, "dtype") else bv
    return _selector(win, 1.0, 0.0, like) + _selector(av == bv, 0.5, 0.0, like)


def maximum_forward(a: Any, b: Any) -> Any:
    return _ns2(a, b).maximum(a, b)


def maximum_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g * _share(a, b, True)


def maximum_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g * _share(b, a, True)


def minimum_forward(a: Any, b: Any) -> Any:
    return _ns2(a, b).minimum(a, b)


def minimum_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g * _share(a, b, False)


def minimum_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g * _share(b, a, False)


def where_forward(condition: Any, a: Any, b: Any) -> Any:
    return _ns2(a, b).where(condition, a, b)


def where_vjp_a(g: Any, ans: Any, condition: Any, a: Any, b: Any) -> Any:
    c = value(condition)
    return where(c, g, 0.0)


def where_vjp_b(g: Any, ans: Any, condition: Any, a: Any, b: Any) -> Any:
    c = value(condition)
    return where(c, 0.0, g)


def clip_forward(x: Any, lo: Any = None, hi: Any = None) -> Any:
    xp = _ns(x)
    if lo is not None:
        x = xp.maximum(x, lo)
    if hi is not None:
        x = xp.minimum(x, hi)
    return x


def clip_vjp(g: Any, ans: Any, x: Any, lo: Any = None, hi: Any = None) -> Any:
    # Gradient 1 inside [lo, hi], bounds included.
    xv = value(x)
    inside = None
    if lo is not None:
        inside = xv >= lo
    if hi is not None:
        inside = (xv <= hi) if inside is None else (inside & (xv <= hi))
    if inside is None:
        return g
    return g * inside if type(g) is np.ndarray else where(inside, g, 0.0)


MAXIMUM = register_primitive(
    "maximum", maximum_forward, maximum_vjp_a, maximum_vjp_b, doc="elementwise max"
)
MINIMUM = register_primitive(
    "minimum", minimum_forward, minimum_vjp_a, minimum_vjp_b, doc="elementwise min"
)
WHERE = register_primitive(
    "where", where_forward, None, where_vjp_a, where_vjp_b, doc="a where condition else b"
)
CLIP = register_primitive("clip", clip_forward, clip_vjp, doc="x limited to [lo, hi]")


@overload
def maximum(a: Tensor, b: Operand) -> Tensor: ...


@overload
def maximum(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def maximum(a: ArrayInput, b: ArrayInput) -> Any: ...


def maximum(a: Any, b: Any) -> Any:
    """Elementwise maximum with broadcasting; at ties each operand gets half the gradient."""
    return apply(MAXIMUM, (a, b), _NO_PARAMS)


@overload
def minimum(a: Tensor, b: Operand) -> Tensor: ...


@overload
def minimum(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def minimum(a: ArrayInput, b: ArrayInput) -> Any: ...


def minimum(a: Any, b: Any) -> Any:
    """Elementwise minimum with broadcasting; at ties each operand gets half the gradient."""
    return apply(MINIMUM, (a, b), _NO_PARAMS)


@overload
def where(condition: Operand, a: Tensor, b: Operand) -> Tensor: ...


@overload
def where(condition: Operand, a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def where(condition: Operand, a: ArrayInput, b: ArrayInput) -> Any: ...


def where(condition: Any, a: Any, b: Any) -> Any:
    """``a`` where ``condition`` (bool array, not differentiable) is true, else ``b``."""
    if type(condition) in _SEQ_TYPES:
        condition = np.asarray(_values(condition))
    return apply(WHERE, (value(condition), a, b), _NO_PARAMS)


def _values(seq: Any) -> Any:
    """A (nested) list or tuple with every Tensor replaced by its array (a constant)."""
    if type(seq) in _SEQ_TYPES:
        return [_values(s) for s in seq]
    return value(seq)


@overload
def clip(x: Tensor, lo: Operand | None = None, hi: Operand | None = None) -> Tensor: ...


@overload
def clip(x: ArrayInput, lo: Tensor, hi: Operand | None = None) -> Tensor: ...


@overload
def clip(x: ArrayInput, lo: ArrayInput | None, hi: Tensor) -> Tensor: ...


@overload
def clip(x: ArrayInput, lo: ArrayInput | None = None, hi: ArrayInput | None = None) -> Any: ...


def clip(x: Any, lo: Any = None, hi: Any = None) -> Any:
    """``x`` limited to ``[lo, hi]`` elementwise, as ``np.clip`` (``hi`` wins where ``lo > hi``).

    Either bound may be None, a number, an array or a Tensor (broadcast against ``x``). The gradient
    of ``x`` is 1 inside the bounds, bounds included, and 0 outside; a Tensor bound gets the
    gradient where it is the result (strictly outside on its side).
    """
    if type(x) in _SEQ_TYPES or type(lo) in _SEQ_TYPES or type(hi) in _SEQ_TYPES:
        x, lo, hi = _operand(x), _operand(lo), _operand(hi)
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        # Differentiable bounds: two selections, with the same convention at the bounds.
        out = x
        if lo is not None:
            out = where(value(out) < value(lo), lo, out)
        if hi is not None:
            out = where(value(out) > value(hi), hi, out)
        return out
    return _unary(CLIP, x, {"lo": lo, "hi": hi})


# --- linear algebra --------------------------------------------------------------------------------


def matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    an, bn = len(_shape(a)), len(_shape(b))
    if bn == 1:
        # (..., n, k) @ (k,) -> (..., n); also (k,) @ (k,) -> ()
        return reshape(g, (*_shape(g), 1)) * b
    if an == 1:
        # (k,) @ (..., k, m) -> (..., m): grad (..., k), reduced to (k,) by the backward pass
        return reshape(matmul(b, reshape(g, (*_shape(g), 1))), _shape(g)[:-1] + _shape(b)[-2:-1])
    return matmul(g, swapaxes(b, -1, -2))


def matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    an, bn = len(_shape(a)), len(_shape(b))
    if an == 1 and bn == 1:
        return g * a
    if an == 1:
        # (k,) @ (..., k, m) -> (..., m): grad b = a[:, None] * g[..., None, :]
        return reshape(a, (_shape(a)[0], 1)) * reshape(g, (*_shape(g)[:-1], 1, _shape(g)[-1]))
    if bn == 1:
        # (..., n, k) @ (k,) -> (..., n): grad b = sum over batch and n of g[..., None] * a
        return reshape(
            matmul(reshape(g, (*_shape(g)[:-1], 1, _shape(g)[-1])), a),
            _shape(a)[:-2] + _shape(a)[-1:],
        )
    return matmul(swapaxes(a, -1, -2), g)


MATMUL = register_primitive("matmul", operator.matmul, matmul_vjp_a, matmul_vjp_b, doc="a @ b")

install_operators(
    {
        "__add__": ADD,
        "__sub__": SUB,
        "__mul__": MUL,
        "__truediv__": DIV,
        "__pow__": POW,
        "__matmul__": MATMUL,
    },
    scalar_math=frozenset({"__add__", "__sub__", "__mul__", "__truediv__"}),
)


@overload
def matmul(a: Tensor, b: Operand) -> Tensor: ...


@overload
def matmul(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def matmul(a: ArrayInput, b: ArrayInput) -> Any: ...


def matmul(a: Any, b: Any) -> Any:
    """Matrix product with NumPy ``matmul`` semantics: ``(..., n, k) @ (..., k, m) -> (..., n, m)``,
    batch axes broadcast, a 1-d operand is a vector (its axis dropped from the result).

    Raises:
        ValueError: the inner sizes differ or an operand is 0-d (NumPy's message).
    """
    return apply(MATMUL, (a, b), _NO_PARAMS)


# --- shape operations ------------------------------------------------------------------------------


def reshape_forward(x: Any, shape: tuple[int, ...] = ()) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.reshape(x, shape)
    return _ns(x).reshape(x, shape)


def reshape_vjp(g: Any, ans: Any, x: Any, shape: tuple[int, ...] = ()) -> Any:
    return reshape(g, _shape(x))


def transpose_forward(x: Any, axes: tuple[int, ...] | None = None) -> Any:
    if axes is None:
        axes = tuple(range(len(_shape(x)) - 1, -1, -1))
    if type(x) in _NUMPY_TYPES:
        return np.transpose(x, axes)
    return _ns(x).permute_dims(x, axes)


def transpose_vjp(g: Any, ans: Any, x: Any, axes: tuple[int, ...] | None = None) -> Any:
    n = len(_shape(x))
    if axes is None:
        return transpose(g, None)
    inverse = [0] * n
    for i, a in enumerate(axes):
        inverse[a % n] = i
    return transpose(g, tuple(inverse))


def broadcast_to_forward(x: Any, shape: tuple[int, ...] = ()) -> Any:
    return _ns(x).broadcast_to(x, shape)


def broadcast_to_vjp(g: Any, ans: Any, x: Any, shape: tuple[int, ...] = ()) -> Any:
    # The output gradient itself: the backward pass sums it back to x's shape (in one place).
    return g


RESHAPE = register_primitive("reshape", reshape_forward, reshape_vjp, doc="same data, new shape")


def cast_forward(x: Any, dtype: Any = None) -> Any:
    return _copied_data(x, dtype)


def cast_vjp(g: Any, ans: Any, x: Any, dtype: Any = None) -> Any:
    # The gradient goes back in the operand's dtype (float32 -> float64 -> float32).
    return cast(g, value(x).dtype)


CAST = register_primitive("cast", cast_forward, cast_vjp, doc="x converted to dtype")


@overload
def cast(x: Tensor, dtype: Any) -> Tensor: ...


@overload
def cast(x: ArrayInput, dtype: Any) -> Any: ...


def cast(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype`` (a dtype or a name such as ``"float32"``), always a copy.

    Differentiable between floating dtypes: the gradient is converted back to ``x``'s dtype. A cast
    to a non-floating dtype is not recorded (the result does not require grad).
    """
    if type(x) in _SEQ_TYPES:
        x = sequence_operand(x)
    if not isinstance(x, Tensor):
        return cast_forward(x, dtype)
    out = cast_forward(x._data, dtype)
    if x.requires_grad and GRAD_ENABLED[0] and _is_floating(out):
        return _node(out, CAST, (x,), {"dtype": dtype}, None, (x._data,))
    return _leaf(out)


def _is_floating(arr: Any) -> bool:
    dt = arr.dtype
    kind = getattr(dt, "kind", None)
    if kind is not None:
        return bool(kind in "fc")
    return bool(_ns(arr).isdtype(dt, ("real floating", "complex floating")))


TRANSPOSE = register_primitive("transpose", transpose_forward, transpose_vjp, doc="permute axes")
BROADCAST_TO = register_primitive(
    "broadcast_to", broadcast_to_forward, broadcast_to_vjp, doc="broadcast to a shape (expand)"
)


@overload
def reshape(x: Tensor, shape: Any) -> Tensor: ...


@overload
def reshape(x: ArrayInput, shape: Any) -> Any: ...


def reshape(x: Any, shape: Any) -> Any:
    """Same elements, new ``shape`` (one entry may be -1); same dtype.

    Raises:
        ValueError: ``shape`` does not hold ``x``'s number of elements.
    """
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if isinstance(x, Tensor):
        if _shape(x._data) == shape:
            return x
        return _unary(RESHAPE, x, {"shape": shape})
    if type(x) in _SEQ_TYPES:
        x = sequence_operand(x)
        if isinstance(x, Tensor):
            return reshape(x, shape)
    if _shape(x) == shape:
        return x
    return reshape_forward(x, shape)


@overload
def transpose(x: Tensor, axes: Sequence[int] | None = None) -> Tensor: ...


@overload
def transpose(x: ArrayInput, axes: Sequence[int] | None = None) -> Any: ...


def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes of ``x`` (``None``: reverse them)."""
    return _unary(TRANSPOSE, x, {"axes": None if axes is None else tuple(int(a) for a in axes)})


@overload
def permute(x: Tensor, axes: Sequence[int]) -> Tensor: ...


@overload
def permute(x: ArrayInput, axes: Sequence[int]) -> Any: ...


def permute(x: Any, axes: Sequence[int]) -> Any:
    """Permute the axes of ``x``: output axis i is input axis ``axes[i]``."""
    return transpose(x, axes)


@overload
def swapaxes(x: Tensor, axis1: int, axis2: int) -> Tensor: ...


@overload
def swapaxes(x: ArrayInput, axis1: int, axis2: int) -> Any: ...


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """Swap two axes of ``x``."""
    x = _operand(x)
    n = len(_shape(value(x)))
    axes = list(range(n))
    a1, a2 = axis1 % n, axis2 % n
    axes[a1], axes[a2] = axes[a2], axes[a1]
    return transpose(x, axes)


@overload
def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor: ...


@overload
def broadcast_to(x: ArrayInput, shape: Sequence[int]) -> Any: ...


def broadcast_to(x: Any, shape: Sequence[int]) -> Any:
    """Broadcast ``x`` to ``shape`` (``expand``); the gradient is summed back to ``x``'s shape."""
    shape = tuple(int(s) for s in shape)
    if isinstance(x, Tensor) and _shape(x._data) == shape:
        return x
    return _unary(BROADCAST_TO, x, {"shape": shape})


# --- reductions ------------------------------------------------------------------------------------


def sum_forward(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.sum(x, axis=axis, keepdims=keepdims)
    return _ns(x).sum(x, axis=axis, keepdims=keepdims)


def sum_vjp(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return broadcast_to(_reduced_grad(g, x, axis, keepdims), _shape(x))


#: Reductions over outer axes of at most this many slices run slice by slice (:func:`_by_slices`).
SLICED_REDUCE = 16


def _by_slices(ufunc: np.ufunc, x: Any, axis: Any, keepdims: bool, dtype: Any = None) -> Any:
    """``ufunc.reduce(x, axis, keepdims=keepdims, dtype=dtype)`` as a chain of elementwise ``ufunc``
    calls over the slices of the reduced axes, or None when that does not apply (the last axis is
    reduced, more than :data:`SLICED_REDUCE` slices, or ``x`` is small). NumPy's reduce over outer
    axes of a short length (a pooling's window axes) runs at a fraction of elementwise speed; the
    slices are combined in index order, as the reduce does (max, min and sums of 0/1 counts are
    exact, so the result is the same).
    """
    if axis is None or type(x) is not np.ndarray or x.size < 1024:
        return None
    axes = _norm_axes(axis, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    if not axes or axes[-1] == x.ndim - 1 or not 1 < count <= SLICED_REDUCE:
        return None
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = x.transpose((*axes, *rest)).reshape((count, *(x.shape[i] for i in rest)))
    out = ufunc(moved[0], moved[1], dtype=dtype)
    for i in range(2, count):
        ufunc(out, moved[i], out=out)
    return out.reshape(_keep_shape(x.shape, axes)) if keepdims else out


def _extreme_vjp(g: Any, ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    xv, av = value(x), value(ans)
    xp = _ns(xv)
    axes = _norm_axes(axis, len(_shape(xv)))
    if not keepdims:
        av = xp.reshape(av, _keep_shape(_shape(xv), axes))
    if type(x) is np.ndarray and type(g) in _NUMPY_TYPES and x.dtype.kind == "f":
        # NumPy fast path: divide the (reduced) gradient by the tie counts, then spread it with
        # the 0/1 hits: one full-size product instead of three (equal to the share product
        # below up to the last bit of g / count).
        hits = xv == av
        counts = _by_slices(np.add, hits, axes, True, xv.dtype)
        if counts is None:
            counts = hits.sum(axis=axes, keepdims=True, dtype=xv.dtype)
        return hits * (np.reshape(g, counts.shape) / counts)
    hit = xp.astype(xv == av, xv.dtype) if hasattr(xp, "astype") else (xv == av).astype(xv.dtype)
    # Ties share the gradient equally.
    share = hit / xp.sum(hit, axis=axes, keepdims=True)
    return _reduced_grad(g, x, axis, keepdims) * share


def max_forward(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    out = _by_slices(np.maximum, x, axis, keepdims)
    return _ns(x).max(x, axis=axis, keepdims=keepdims) if out is None else out


def max_vjp(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _extreme_vjp(g, ans, x, axis, keepdims)


def min_forward(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    out = _by_slices(np.minimum, x, axis, keepdims)
    return _ns(x).min(x, axis=axis, keepdims=keepdims) if out is None else out


def min_vjp(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _extreme_vjp(g, ans, x, axis, keepdims)


def prod_forward(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _ns(x).prod(x, axis=axis, keepdims=keepdims)


def _product_of_others(xv: Any, axes: tuple[int, ...]) -> Any:
    """For each entry, the product of the other entries of its reduction group (zeros allowed)."""
    xv = np.asarray(backend.to_numpy(xv))
    nd = xv.ndim
    rest = [i for i in range(nd) if i not in axes]
    moved = np.transpose(xv, rest + list(axes))
    lead = moved.shape[: len(rest)]
    flat = moved.reshape((*lead, -1))
    ones = np.ones((*lead, 1), dtype=flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.transpose(others, np.argsort(rest + list(axes)))


def prod_vjp(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    xv = value(x)
    gk = _reduced_grad(g, x, axis, keepdims)
    axes = _norm_axes(axis, len(_shape(xv)))
    if bool(_ns(xv).all(xv != 0)):
        return gk * (_reduced_grad(ans, x, axis, keepdims) / x)
    # With zeros, ans / x is undefined: use the exact product of the other entries (treated as a
    # constant, so second derivatives through prod at zeros are not recorded).
    return gk * _product_of_others(xv, axes)


SUM = register_primitive("sum", sum_forward, sum_vjp, doc="sum over axes")
MAX = register_primitive("max", max_forward, max_vjp, doc="maximum over axes")
MIN = register_primitive("min", min_forward, min_vjp, doc="minimum over axes")
PROD = register_primitive("prod", prod_forward, prod_vjp, doc="product over axes")


def _reduce(prim: Primitive, x: Any, axis: Any, keepdims: bool) -> Any:
    if isinstance(axis, list):
        axis = tuple(axis)
    return _unary(prim, x, {"axis": axis, "keepdims": bool(keepdims)})


@overload
def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor: ...


@overload
def sum(x: ArrayInput, axis: Any = None, keepdims: bool = False) -> Any: ...


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Sum over ``axis``.

    ``axis``: None (all axes), an int or a tuple of ints, negative counted from the end. The result
    has ``x``'s dtype and shape with the reduced axes removed (kept as size 1 with ``keepdims``).

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    return _reduce(SUM, x, axis, keepdims)


@overload
def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor: ...


@overload
def mean(x: ArrayInput, axis: Any = None, keepdims: bool = False) -> Any: ...


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Mean over ``axis``: ``sum(x, axis) / n`` (a composition, no rule of its own).

    ``axis``: None (all axes), an int or a tuple of ints, negative counted from the end. The result
    has ``x``'s dtype and shape with the reduced axes removed (kept as size 1 with ``keepdims``).

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    x = _operand(x)
    return sum(x, axis, keepdims) / float(_count(_shape(value(x)), axis))


@overload
def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor: ...


@overload
def max(x: ArrayInput, axis: Any = None, keepdims: bool = False) -> Any: ...


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Maximum over ``axis``; tied entries share the gradient equally.

    ``axis``: None (all axes), an int or a tuple of ints, negative counted from the end. The result
    has ``x``'s dtype and shape with the reduced axes removed (kept as size 1 with ``keepdims``).

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    return _reduce(MAX, x, axis, keepdims)


@overload
def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor: ...


@overload
def min(x: ArrayInput, axis: Any = None, keepdims: bool = False) -> Any: ...


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Minimum over ``axis``; tied entries share the gradient equally.

    ``axis``: None (all axes), an int or a tuple of ints, negative counted from the end. The result
    has ``x``'s dtype and shape with the reduced axes removed (kept as size 1 with ``keepdims``).

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    return _reduce(MIN, x, axis, keepdims)


@overload
def prod(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor: ...


@overload
def prod(x: ArrayInput, axis: Any = None, keepdims: bool = False) -> Any: ...


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Product over ``axis`` (zeros handled exactly in the gradient).

    ``axis``: None (all axes), an int or a tuple of ints, negative counted from the end. The result
    has ``x``'s dtype and shape with the reduced axes removed (kept as size 1 with ``keepdims``).

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    return _reduce(PROD, x, axis, keepdims)


# --- softmax family (stable) -----------------------------------------------------------------------


def logsumexp_forward(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    xp = _ns(x)
    shape = _shape(x)
    if 0 in shape and builtins.any(shape[a] == 0 for a in _norm_axes(axis, len(shape))):
        # An empty sum is 0 and its log -inf (as torch); the gradient, exp(x - ans), is empty.
        axes = _norm_axes(axis, len(shape))
        kept = _keep_shape(shape, axes)
        out_shape = kept if keepdims else tuple(d for i, d in enumerate(shape) if i not in axes)
        return xp.full(out_shape, -math.inf, dtype=x.dtype)
    m = xp.max(x, axis=axis, keepdims=True)
    # An all -inf group would give nan from (-inf) - (-inf); shift by 0 there instead.
    m = xp.where(xp.isfinite(m), m, 0.0)
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = xp.squeeze(out, axis=_norm_axes(axis, len(_shape(x))))
    return out


def logsumexp_vjp(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _reduced_grad(g, x, axis, keepdims) * exp(x - _reduced_grad(ans, x, axis, keepdims))


def softmax_forward(x: Any, axis: int = -1) -> Any:
    xp = _ns(x)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def softmax_vjp(g: Any, ans: Any, x: Any, axis: int = -1) -> Any:
    return ans * (g - sum(g * ans, axis=axis, keepdims=True))


def log_softmax_forward(x: Any, axis: int = -1) -> Any:
    xp = _ns(x)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def log_softmax_vjp(g: Any, ans: Any, x: Any, axis: int = -1) -> Any:
    return g - exp(ans) * sum(g, axis=axis, keepdims=True)


LOGSUMEXP = register_primitive(
    "logsumexp", logsumexp_forward, logsumexp_vjp, doc="log(sum(exp(x))) over axes"
)
SOFTMAX = register_primitive("softmax", softmax_forward, softmax_vjp, doc="exp(x) / sum(exp(x))")
LOG_SOFTMAX = register_primitive(
    "log_softmax", log_softmax_forward, log_softmax_vjp, doc="x - logsumexp(x)"
)


@overload
def logsumexp(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor: ...


@overload
def logsumexp(x: ArrayInput, axis: Any = None, keepdims: bool = False) -> Any: ...


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` computed stably; its gradient is the softmax.

    ``axis``: None (all axes), an int or a tuple of ints, negative counted from the end. The result
    has ``x``'s dtype and shape with the reduced axes removed (kept as size 1 with ``keepdims``).

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    return _reduce(LOGSUMEXP, x, axis, keepdims)


@overload
def softmax(x: Tensor, axis: int = -1) -> Tensor: ...


@overload
def softmax(x: ArrayInput, axis: int = -1) -> Any: ...


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x), axis)`` along one int ``axis``, computed stably; same shape and dtype."""
    return _unary(SOFTMAX, x, {"axis": int(axis)})


@overload
def log_softmax(x: Tensor, axis: int = -1) -> Tensor: ...


@overload
def log_softmax(x: ArrayInput, axis: int = -1) -> Any: ...


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x - logsumexp(x, axis)`` along one int ``axis``, computed stably; same shape and dtype."""
    return _unary(LOG_SOFTMAX, x, {"axis": int(axis)})


# --- indexing and joining --------------------------------------------------------------------------


def _unwrap_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index: Any) -> bool:
    """True for indices made of ints, slices, None and Ellipsis (no repeated positions possible)."""
    items = index if isinstance(index, tuple) else (index,)
    return builtins.all(
        isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items
    )


def _is_mask(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return builtins.all(
        isinstance(i, (int, np.integer, slice))
        or i is None
        or i is Ellipsis
        or getattr(getattr(i, "dtype", None), "kind", "") == "b"
        for i in items
    )


def getitem_forward(x: Any, index: Any = None) -> Any:
    return x[index]


def getitem_vjp(g: Any, ans: Any, x: Any, index: Any = None) -> Any:
    return scatter_add(g, index, _shape(x))


def _index_items(index: Any) -> list[Any]:
    return list(index) if isinstance(index, tuple) else [index]


def _repeats_a_position(index: Any, shape: tuple[int, ...]) -> bool:
    """True when the integer arrays of ``index`` (into an array of ``shape``) name a position more
    than once, so an assignment would drop contributions. Reads only the index arrays (on the
    host): each is matched to the axis it indexes, taken modulo its size, and the broadcast
    position tuples are checked for repeats. A boolean array beside integer arrays counts as
    repeating (the caller then takes the always-correct path)."""
    items = _index_items(index)
    if not builtins.any(backend.is_array(i) for i in items):
        return False
    np_items = [backend.to_numpy(i) if backend.is_array(i) else i for i in items]
    kinds = [getattr(i, "dtype", np.dtype(int)).kind for i in np_items if isinstance(i, np.ndarray)]
    if "b" in kinds:
        return len(kinds) > 1
    used = builtins.sum(1 for i in np_items if i is not None and i is not Ellipsis)
    axis, sizes, ints = 0, [], []
    for i in np_items:
        if i is None:
            continue
        if i is Ellipsis:
            axis += len(shape) - used
            continue
        if isinstance(i, np.ndarray):
            sizes.append(shape[axis])
            ints.append(np.mod(i, shape[axis]) if shape[axis] else i)
        axis += 1
    flat = [a.ravel() for a in np.broadcast_arrays(*ints)]
    if not flat[0].size:
        return False
    codes = np.ravel_multi_index(tuple(flat), tuple(sizes))
    return bool(np.unique(codes).size < codes.size)


def scatter_add_forward(g: Any, index: Any = None, shape: tuple[int, ...] = ()) -> Any:
    xp = _ns(g)
    if xp is np:
        out = np.zeros(shape, dtype=g.dtype)
        if _is_mask(index):
            out[index] = g
        else:  # integer arrays may repeat positions: add every contribution
            np.add.at(out, index, g)
        return out
    device = getattr(g, "device", None)
    if _is_mask(index) or not _repeats_a_position(index, shape):
        out = xp.zeros(shape, dtype=g.dtype, device=device)
        items = [
            xp.asarray(i, device=device) if isinstance(i, np.ndarray) else i
            for i in _index_items(index)
        ]
        try:
            out[tuple(items) if isinstance(index, tuple) else items[0]] = g
            return out
        except (IndexError, TypeError, NotImplementedError):
            pass  # no integer-array assignment in this namespace (the Array API has none)
    # Repeated positions in another namespace (which has no scatter-add), or no integer-array
    # assignment: NumPy's add.at on the host, the result back in g's namespace and device.
    host_index = tuple(
        backend.to_numpy(i) if backend.is_array(i) else i for i in _index_items(index)
    )
    gn = backend.to_numpy(g)
    host = np.zeros(shape, dtype=gn.dtype)
    np.add.at(host, host_index if isinstance(index, tuple) else host_index[0], gn)
    return xp.asarray(host, device=device)


def scatter_add_vjp(g: Any, ans: Any, src: Any, index: Any = None, shape: Any = ()) -> Any:
    return getitem(g, index)


GETITEM = register_primitive("getitem", getitem_forward, getitem_vjp, doc="x[index]")
SCATTER_ADD = register_primitive(
    "scatter_add", scatter_add_forward, scatter_add_vjp, doc="zeros(shape) with g added at index"
)


@overload
def getitem(x: Tensor, index: Any) -> Tensor: ...


@overload
def getitem(x: ArrayInput, index: Any) -> Any: ...


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` for ints, slices, None, Ellipsis, integer arrays and boolean masks.

    The gradient scatter-adds into zeros of ``x``'s shape (repeated integer indices add up).
    """
    return _unary(GETITEM, x, {"index": _unwrap_index(index)})


@overload
def scatter_add(g: Tensor, index: Any, shape: Sequence[int]) -> Tensor: ...


@overload
def scatter_add(g: ArrayInput, index: Any, shape: Sequence[int]) -> Any: ...


def scatter_add(g: Any, index: Any, shape: Sequence[int]) -> Any:
    """Zeros of ``shape`` with ``g`` added at ``index`` (the adjoint of :func:`getitem`)."""
    if isinstance(g, Tensor) or not (type(g) in _NUMPY_TYPES and _is_basic(index)):
        return _unary(SCATTER_ADD, g, {"index": _unwrap_index(index), "shape": tuple(shape)})
    out = np.zeros(tuple(shape), dtype=np.result_type(g))
    out[index] = g
    return out


def _axis_index(ndim: int, axis: int, idx: Any) -> tuple[Any, ...]:
    return (slice(None),) * (axis % ndim) + (idx, Ellipsis)


def concatenate_forward(*xs: Any, axis: int = 0) -> Any:
    if builtins.all(type(x) in _NUMPY_TYPES for x in xs):
        return np.concatenate(xs, axis=axis)
    return backend.array_namespace(*xs).concat(list(xs), axis=axis)


def concatenate_vjp(k: int, g: Any, ans: Any, *xs: Any, axis: int = 0) -> Any:
    nd = len(_shape(g))
    ax = axis % nd
    start = builtins.sum(_shape(xs[j])[ax] for j in range(k))
    return getitem(g, _axis_index(nd, ax, slice(start, start + _shape(xs[k])[ax])))


def stack_forward(*xs: Any, axis: int = 0) -> Any:
    if builtins.all(type(x) in _NUMPY_TYPES for x in xs):
        return np.stack(xs, axis=axis)
    return backend.array_namespace(*xs).stack(list(xs), axis=axis)


def stack_vjp(k: int, g: Any, ans: Any, *xs: Any, axis: int = 0) -> Any:
    nd = len(_shape(g))
    return getitem(g, _axis_index(nd, axis % nd, k))


CONCATENATE = register_primitive(
    "concatenate", concatenate_forward, variadic_vjp=concatenate_vjp, doc="join along an axis"
)
STACK = register_primitive("stack", stack_forward, variadic_vjp=stack_vjp, doc="join on a new axis")


@overload
def concatenate(xs: Sequence[Tensor], axis: int = 0) -> Tensor: ...


@overload
def concatenate(xs: Sequence[Any], axis: int = 0) -> Any: ...


def concatenate(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join arrays along an existing ``axis`` (negative counted from the end).

    Raises:
        ValueError: no arrays, or their shapes differ off ``axis`` (NumPy's message).
    """
    if not len(xs):
        raise ValueError("concatenate needs at least one array")
    return apply(CONCATENATE, tuple(xs), {"axis": int(axis)})


@overload
def stack(xs: Sequence[Tensor], axis: int = 0) -> Tensor: ...


@overload
def stack(xs: Sequence[Any], axis: int = 0) -> Any: ...


def stack(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join same-shape arrays along a new ``axis`` (negative counted from the end).

    Raises:
        ValueError: no arrays, or their shapes differ (NumPy's message).
    """
    if not len(xs):
        raise ValueError("stack needs at least one array")
    return apply(STACK, tuple(xs), {"axis": int(axis)})
