"""More of NumPy's elementwise functions as primitives: square, exp2, log2, log10, sinh, cosh, tan,
arcsin, arccos, arctan, arcsinh, arccosh, arctanh, logaddexp, logaddexp2; and deg2rad, rad2deg
(compositions: a product with a constant).

Each is a primitive with its VJP written in primitives (so ``create_graph`` differentiates it
again), working on Tensors (result: a Tensor) and plain arrays (result: the forward function's plain
array), as :mod:`chainrule.autodiff.primitives` does; results keep the input's floating dtype.
Outside a function's domain the value is NumPy's (nan, with its warning), and so is the derivative
(``arcsin'(±1) = inf``). ``logaddexp`` and ``logaddexp2`` are stable (finite at ±800) and their
gradients are weights in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.primitives import (
    ArrayInput,
    Elementwise,
    Operand,
    _elementwise,
    _ns,
    _ns2,
    cos,
    multiply,
    sigmoid,
    sqrt,
    where,
)
from chainrule.autodiff.tensor import _NO_PARAMS, _NUMPY_TYPES, Tensor, apply, value

__all__ = [
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "cosh",
    "deg2rad",
    "exp2",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    "rad2deg",
    "sinh",
    "square",
    "tan",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _forward(npf: Any, api_name: str) -> Callable[[Any], Any]:
    """The forward function: the NumPy ufunc on NumPy data, else the namespace's ``api_name``."""

    def forward(x: Any) -> Any:
        if type(x) in _NUMPY_TYPES:
            return npf(x)
        return getattr(_ns(x), api_name)(x)

    forward.__name__ = f"{api_name}_forward"
    return forward


def square_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * (x * 2.0)


def exp2_forward(x: Any) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.exp2(x)
    return _ns(x).pow(2.0, x)


def exp2_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * (ans * _LN2)


def log2_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / (x * _LN2)


def log10_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / (x * _LN10)


def sinh_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * cosh(x)


def cosh_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g * sinh(x)


def tan_vjp(g: Any, ans: Any, x: Any) -> Any:
    # tan' = 1 / cos² (not 1 + tan², which rounds badly where tan is large).
    c = cos(x)
    return g / (c * c)


def arcsin_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / sqrt(1.0 - x * x)


def arccos_vjp(g: Any, ans: Any, x: Any) -> Any:
    return -(g / sqrt(1.0 - x * x))


def arctan_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / (x * x + 1.0)


def arcsinh_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / sqrt(x * x + 1.0)


def arccosh_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / sqrt(x * x - 1.0)


def arctanh_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g / (1.0 - x * x)


SQUARE = register_primitive("square", _forward(np.square, "square"), square_vjp, doc="x²")
EXP2 = register_primitive("exp2", exp2_forward, exp2_vjp, doc="2^x")
LOG2 = register_primitive("log2", _forward(np.log2, "log2"), log2_vjp, doc="base-2 logarithm")
LOG10 = register_primitive("log10", _forward(np.log10, "log10"), log10_vjp, doc="base-10 logarithm")
SINH = register_primitive("sinh", _forward(np.sinh, "sinh"), sinh_vjp, doc="hyperbolic sine")
COSH = register_primitive("cosh", _forward(np.cosh, "cosh"), cosh_vjp, doc="hyperbolic cosine")
TAN = register_primitive("tan", _forward(np.tan, "tan"), tan_vjp, doc="tangent")
ARCSIN = register_primitive("arcsin", _forward(np.arcsin, "asin"), arcsin_vjp, doc="inverse sine")
ARCCOS = register_primitive("arccos", _forward(np.arccos, "acos"), arccos_vjp, doc="inverse cosine")
ARCTAN = register_primitive(
    "arctan", _forward(np.arctan, "atan"), arctan_vjp, doc="inverse tangent"
)
ARCSINH = register_primitive(
    "arcsinh", _forward(np.arcsinh, "asinh"), arcsinh_vjp, doc="inverse hyperbolic sine"
)
ARCCOSH = register_primitive(
    "arccosh", _forward(np.arccosh, "acosh"), arccosh_vjp, doc="inverse hyperbolic cosine"
)
ARCTANH = register_primitive(
    "arctanh", _forward(np.arctanh, "atanh"), arctanh_vjp, doc="inverse hyperbolic tangent"
)

square: Elementwise = _elementwise(SQUARE, np.square, "Elementwise ``x * x``.")
exp2: Elementwise = _elementwise(EXP2, np.exp2, "Elementwise ``2**x``.")
log2: Elementwise = _elementwise(LOG2, np.log2, "Elementwise base-2 logarithm.")
log10: Elementwise = _elementwise(LOG10, np.log10, "Elementwise base-10 logarithm.")
sinh: Elementwise = _elementwise(SINH, np.sinh, "Elementwise hyperbolic sine.")
cosh: Elementwise = _elementwise(COSH, np.cosh, "Elementwise hyperbolic cosine.")
tan: Elementwise = _elementwise(TAN, np.tan, "Elementwise tangent (derivative ``1 / cos(x)²``).")
arcsin: Elementwise = _elementwise(ARCSIN, np.arcsin, "Elementwise inverse sine, on [-1, 1].")
arccos: Elementwise = _elementwise(ARCCOS, np.arccos, "Elementwise inverse cosine, on [-1, 1].")
arctan: Elementwise = _elementwise(ARCTAN, np.arctan, "Elementwise inverse tangent.")
arcsinh: Elementwise = _elementwise(ARCSINH, np.arcsinh, "Elementwise inverse hyperbolic sine.")
arccosh: Elementwise = _elementwise(
    ARCCOSH, np.arccosh, "Elementwise inverse hyperbolic cosine, on [1, inf)."
)
arctanh: Elementwise = _elementwise(
    ARCTANH, np.arctanh, "Elementwise inverse hyperbolic tangent, on (-1, 1)."
)


# --- logaddexp -------------------------------------------------------------------------------------


def logaddexp_forward(a: Any, b: Any) -> Any:
    if type(a) in _NUMPY_TYPES and type(b) in _NUMPY_TYPES:
        return np.logaddexp(a, b)
    return _ns2(a, b).logaddexp(a, b)


def _share(a: Any, b: Any, scale: float) -> Any:
    """The weight of ``a`` in ``log(e^a + e^b)`` (``scale = 1``; ``ln 2`` for base 2):
    ``sigmoid(scale·(a − b))``, in [0, 1] and finite at ±inf: equal operands (also two equal
    infinities, where ``a − b`` is NaN) share equally, an infinite one takes all or nothing."""
    tie = value(a) == value(b)
    diff = where(tie, 0.0, a) - where(tie, 0.0, b)
    return sigmoid(diff * scale if scale != 1.0 else diff)


def logaddexp_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    # d/da log(e^a + e^b) = e^(a − out) = sigmoid(a − b): a weight in [0, 1], never overflowing.
    return g * _share(a, b, 1.0)


def logaddexp_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g * _share(b, a, 1.0)


def logaddexp2_forward(a: Any, b: Any) -> Any:
    if type(a) in _NUMPY_TYPES and type(b) in _NUMPY_TYPES:
        return np.logaddexp2(a, b)
    xp = _ns2(a, b)
    return xp.logaddexp(a * _LN2, b * _LN2) / _LN2


def logaddexp2_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    # 2^(a − out) = sigmoid((a − b)·ln 2).
    return g * _share(a, b, _LN2)


def logaddexp2_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return g * _share(b, a, _LN2)


LOGADDEXP = register_primitive(
    "logaddexp", logaddexp_forward, logaddexp_vjp_a, logaddexp_vjp_b, doc="log(e^a + e^b)"
)
LOGADDEXP2 = register_primitive(
    "logaddexp2", logaddexp2_forward, logaddexp2_vjp_a, logaddexp2_vjp_b, doc="log2(2^a + 2^b)"
)


@overload
def logaddexp(a: Tensor, b: Operand) -> Tensor: ...


@overload
def logaddexp(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def logaddexp(a: ArrayInput, b: ArrayInput) -> Any: ...


def logaddexp(a: Any, b: Any) -> Any:
    """``log(exp(a) + exp(b))`` with broadcasting, computed stably; the gradients are
    ``exp(a - out)`` and ``exp(b - out)``."""
    return apply(LOGADDEXP, (a, b), _NO_PARAMS)


@overload
def logaddexp2(a: Tensor, b: Operand) -> Tensor: ...


@overload
def logaddexp2(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def logaddexp2(a: ArrayInput, b: ArrayInput) -> Any: ...


def logaddexp2(a: Any, b: Any) -> Any:
    """``log2(2**a + 2**b)`` with broadcasting, computed stably; the gradients are
    ``2**(a - out)`` and ``2**(b - out)``."""
    return apply(LOGADDEXP2, (a, b), _NO_PARAMS)


# --- angle conversions (compositions) --------------------------------------------------------------


@overload
def deg2rad(x: Tensor) -> Tensor: ...


@overload
def deg2rad(x: ArrayInput) -> Any: ...


def deg2rad(x: Any) -> Any:
    """Degrees to radians: ``x * (pi / 180)`` (a ``mul`` node)."""
    return multiply(x, math.pi / 180.0)


@overload
def rad2deg(x: Tensor) -> Tensor: ...


@overload
def rad2deg(x: ArrayInput) -> Any: ...


def rad2deg(x: Any) -> Any:
    """Radians to degrees: ``x * (180 / pi)`` (a ``mul`` node)."""
    return multiply(x, 180.0 / math.pi)
