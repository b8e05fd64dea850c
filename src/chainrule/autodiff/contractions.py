"""NumPy's products ``dot``, ``tensordot``, ``inner`` and ``outer`` on Tensors, as einsums.

Each builds the einsum that NumPy's function computes (sublist form, so any number of axes works)
and calls :func:`chainrule.autodiff.einsum_primitive.einsum`: on plain arrays that is the einsum
engine, on Tensors one ``einsum`` node whose VJP is again an einsum (to any order), and ``explain``
prints it with its subscripts. A 0-d operand makes each of them an elementwise product, as in NumPy.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np

from chainrule.autodiff import primitives as P
from chainrule.autodiff.einsum_primitive import einsum
from chainrule.autodiff.primitives import ArrayInput, Operand, _shape
from chainrule.autodiff.tensor import Tensor, value

__all__ = ["dot", "inner", "outer", "tensordot"]


def _aligned(name: str, sa: tuple[int, ...], ia: int, sb: tuple[int, ...], ib: int) -> None:
    if sa[ia] != sb[ib]:
        raise ValueError(
            f"{name}: shapes {sa} and {sb} not aligned: {sa[ia]} (dim {ia % len(sa)}) != "
            f"{sb[ib]} (dim {ib % len(sb)})"
        )


@overload
def dot(a: Tensor, b: Operand) -> Tensor: ...


@overload
def dot(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def dot(a: ArrayInput, b: ArrayInput) -> Any: ...


def dot(a: Any, b: Any) -> Any:
    """``numpy.dot``: vectors give their inner product; ``(..., n)`` with ``(n,)`` sums over ``n``;
    otherwise the last axis of ``a`` with the second-to-last of ``b``, result
    ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]``.

    Raises:
        ValueError: the summed axes differ in size (both shapes named).
    """
    a, b = P._operand(a), P._operand(b)
    sa, sb = _shape(value(a)), _shape(value(b))
    if not sa or not sb:
        return P.multiply(a, b)
    na, nb = len(sa), len(sb)
    la = list(range(na))
    if nb == 1:
        _aligned("dot", sa, -1, sb, 0)
        return einsum(a, la, b, [la[-1]], la[:-1])
    _aligned("dot", sa, -1, sb, -2)
    lb = list(range(na, na + nb))
    lb[-2] = la[-1]
    return einsum(a, la, b, lb, la[:-1] + lb[:-2] + lb[-1:])


@overload
def inner(a: Tensor, b: Operand) -> Tensor: ...


@overload
def inner(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def inner(a: ArrayInput, b: ArrayInput) -> Any: ...


def inner(a: Any, b: Any) -> Any:
    """``numpy.inner``: the sum over the last axes, result ``a.shape[:-1] + b.shape[:-1]``.

    Raises:
        ValueError: the last axes differ in size.
    """
    a, b = P._operand(a), P._operand(b)
    sa, sb = _shape(value(a)), _shape(value(b))
    if not sa or not sb:
        return P.multiply(a, b)
    _aligned("inner", sa, -1, sb, -1)
    na, nb = len(sa), len(sb)
    la = list(range(na))
    lb = [*range(na, na + nb - 1), la[-1]]
    return einsum(a, la, b, lb, la[:-1] + lb[:-1])


@overload
def outer(a: Tensor, b: Operand) -> Tensor: ...


@overload
def outer(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def outer(a: ArrayInput, b: ArrayInput) -> Any: ...


def outer(a: Any, b: Any) -> Any:
    """``numpy.outer``: both operands flattened, ``out[i, j] = a.ravel()[i] * b.ravel()[j]``."""
    a, b = P._operand(a), P._operand(b)
    return einsum(P.reshape(a, (-1,)), [0], P.reshape(b, (-1,)), [1], [0, 1])


def _axis_list(v: Any, what: str) -> list[int]:
    """One side of a tensordot ``axes`` pair: an int or a sequence (or 1-d array) of ints."""
    if (isinstance(v, np.ndarray) and v.ndim == 0) or not hasattr(v, "__len__"):
        return [P._int_arg(v, what)]
    return [P._int_arg(i, what) for i in v]


def _axes_pair(axes: Any, na: int, nb: int) -> tuple[list[int], list[int]]:
    scalar = isinstance(axes, np.ndarray) and axes.ndim == 0
    if scalar or not hasattr(axes, "__len__"):
        n = P._int_arg(axes, "tensordot: axes")
        if n < 0 or n > min(na, nb):
            raise ValueError(f"tensordot: axes={n} must be between 0 and {min(na, nb)}")
        return list(range(na - n, na)), list(range(n))
    try:
        xa, xb = axes
    except (TypeError, ValueError):
        raise ValueError(
            f"tensordot: axes must be an int or a pair of sequences, got {axes!r}"
        ) from None
    xa = _axis_list(xa, "tensordot: an axis of a")
    xb = _axis_list(xb, "tensordot: an axis of b")
    if len(xa) != len(xb):
        raise ValueError(f"tensordot: axes {axes!r} pair {len(xa)} axes of a with {len(xb)} of b")
    for ax, n, side in ((xa, na, "a"), (xb, nb, "b")):
        for i in ax:
            if not -n <= int(i) < n:
                raise ValueError(
                    f"tensordot: axis {i} is out of range for {side} with {n} dimensions"
                )
    out_a, out_b = [int(i) % na for i in xa], [int(i) % nb for i in xb]
    if len(set(out_a)) != len(out_a) or len(set(out_b)) != len(out_b):
        raise ValueError(f"tensordot: repeated axis in {axes!r}")
    return out_a, out_b


@overload
def tensordot(a: Tensor, b: Operand, axes: Any = 2) -> Tensor: ...


@overload
def tensordot(a: ArrayInput, b: Tensor, axes: Any = 2) -> Tensor: ...


@overload
def tensordot(a: ArrayInput, b: ArrayInput, axes: Any = 2) -> Any: ...


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """``numpy.tensordot``: ``axes=N`` sums the last N axes of ``a`` with the first N of ``b``;
    ``axes=(axes_a, axes_b)`` sums those pairs. The result has the free axes of ``a`` then of ``b``.

    Raises:
        ValueError: bad ``axes`` or summed axes of different sizes (shapes named).
    """
    a, b = P._operand(a), P._operand(b)
    sa, sb = _shape(value(a)), _shape(value(b))
    xa, xb = _axes_pair(axes, len(sa), len(sb))
    for i, j in zip(xa, xb, strict=True):
        if sa[i] != sb[j]:
            raise ValueError(
                f"tensordot: shape-mismatch for sum: a {sa} axis {i} has {sa[i]}, b {sb} axis {j} has {sb[j]}"
            )
    la = list(range(len(sa)))
    lb = list(range(len(sa), len(sa) + len(sb)))
    for i, j in zip(xa, xb, strict=True):
        lb[j] = la[i]
    out = [la[i] for i in range(len(sa)) if i not in xa] + [
        lb[j] for j in range(len(sb)) if j not in xb
    ]
    if not sa and not sb:
        return P.multiply(a, b)
    return einsum(a, la, b, lb, out)
