"""The sigmoid family on arrays, computed so that nothing overflows (finite at |a| = 800 and beyond).

For the logistic sigmoid s(a) = 1 / (1 + e^{-a}):

- ``softplus(a)  = log(1 + e^a)     = max(a, 0) + log1p(e^{-|a|})``
- ``log_sigmoid(a) = log s(a)        = -softplus(-a)``, whose derivative is ``1 - s(a)``
- ``log1m_sigmoid(a) = log(1 - s(a)) = -softplus(a)``, whose derivative is ``-s(a)``
- ``sigmoid(a)`` evaluates ``1/(1+e^{-a})`` for ``a >= 0`` and ``e^{a}/(1+e^{a})`` for ``a < 0``, so the
  exponential never overflows.
- ``logsumexp``, ``softmax`` and ``log_softmax`` subtract the row maximum first.

Each function takes any Array-API array (the namespace of its input is used) and returns an array of the
same shape and floating dtype; NumPy float arrays take a faster path (``np.logaddexp``, ``scipy.special``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special

from chainrule.backend import array_namespace, is_numpy_namespace

__all__ = [
    "log1m_sigmoid",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "softmax",
    "softplus",
]


def _is_numpy_float(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def softplus(a: Any) -> Any:
    """log(1 + e^a), elementwise, without overflow: softplus(800) = 800, softplus(-800) = e^-800 ≈ 0."""
    if _is_numpy_float(a):
        return np.logaddexp(0.0, a)
    xp = array_namespace(a)
    return xp.maximum(a, 0.0) + xp.log1p(xp.exp(-xp.abs(a)))


def sigmoid(a: Any) -> Any:
    """1 / (1 + e^{-a}), elementwise; exactly 0 or 1 only where the true value rounds there."""
    if _is_numpy_float(a):
        return scipy.special.expit(a)
    xp = array_namespace(a)
    e = xp.exp(-xp.abs(a))  # in (0, 1]: never overflows
    return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_sigmoid(a: Any) -> Any:
    """log s(a) = -softplus(-a); its derivative is 1 - s(a). log_sigmoid(-800) = -800 (finite)."""
    return -softplus(-a)


def log1m_sigmoid(a: Any) -> Any:
    """log(1 - s(a)) = -softplus(a); its derivative is -s(a). log1m_sigmoid(800) = -800 (finite)."""
    return -softplus(a)


def logsumexp(a: Any, axis: int = -1) -> Any:
    """log Σ exp(a) along ``axis`` (that axis removed), computed after subtracting the maximum."""
    if _is_numpy_float(a):
        return scipy.special.logsumexp(a, axis=axis)
    xp = array_namespace(a)
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(a - m), axis=axis, keepdims=True)) + m
    return xp.squeeze(out, axis=axis)


def log_softmax(a: Any, axis: int = -1) -> Any:
    """a - logsumexp(a) along ``axis`` (same shape as ``a``)."""
    xp = array_namespace(a)
    return a - xp.expand_dims(logsumexp(a, axis=axis), axis=axis)


def softmax(a: Any, axis: int = -1) -> Any:
    """exp(log_softmax(a)) along ``axis``: rows sum to 1 and nothing overflows."""
    if is_numpy_namespace(array_namespace(a)) and _is_numpy_float(a):
        return scipy.special.softmax(a, axis=axis)
    xp = array_namespace(a)
    return xp.exp(log_softmax(a, axis=axis))
