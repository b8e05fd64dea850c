"""More of the NumPy a user writes: ``var``, ``std``, ``cumsum`` and ``sort`` as differentiable primitives.

Each works on plain arrays (then it is the NumPy call, but for ``var``/``std``'s refusals below) and on
Tensors (one named node); a list or tuple is read as one array (stacked when it holds Tensors). The VJP rules
are written with chainrule functions, so second derivatives work.

Conventions (tested):

- ``var``/``std`` take NumPy's ``axis``, ``ddof`` and ``keepdims``; ``ddof`` must leave at least one
  degree of freedom (``n − ddof > 0``), else ``ValueError`` (NumPy warns and returns NaN or inf);
  complex input is a ``TypeError``.
- ``axis`` must be an integer (a float is a ``TypeError``, as in NumPy).
- ``std``'s gradient where the standard deviation is 0 (all entries equal) is 0, the subgradient that
  PyTorch also returns (``(x − mean)/(n·std)`` would be 0/0 = NaN there).
- ``cumsum(x, axis=None)`` flattens first (NumPy); its gradient is the reversed cumulative sum.
- ``sort``'s gradient goes back through the permutation of a stable argsort: tied entries each get
  the gradient of the position the stable order gives them.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np

from chainrule import backend
from chainrule.autodiff import primitives as P
from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.primitives import ArrayInput, _count, _int_arg, _norm_axes, _ns, _shape
from chainrule.autodiff.shape_ops import flip
from chainrule.autodiff.tensor import Tensor, apply, value

__all__ = ["cumsum", "sort", "std", "var"]


# --- var and std -----------------------------------------------------------------------------------


def var_forward(x: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
    xp = _ns(x)
    if xp is np:
        return np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return xp.var(x, axis=axis, correction=ddof, keepdims=keepdims)


def _centred(x: Any, axis: Any) -> Any:
    return x - P.mean(x, axis=axis, keepdims=True)


def var_vjp(
    g: Any, ans: Any, x: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False
) -> Any:
    dof = _count(_shape(value(x)), axis) - ddof
    return P._reduced_grad(g, x, axis, keepdims) * _centred(x, axis) * (2.0 / dof)


def std_forward(x: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
    xp = _ns(x)
    if xp is np:
        return np.std(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return xp.std(x, axis=axis, correction=ddof, keepdims=keepdims)


def std_vjp(
    g: Any, ans: Any, x: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False
) -> Any:
    # ∂std/∂x = (x − mean) / ((n − ddof)·std); 0 where std = 0 (a subgradient, as PyTorch).
    dof = _count(_shape(value(x)), axis) - ddof
    sk = P._reduced_grad(ans, x, axis, keepdims)
    positive = value(sk) > 0
    scale = P.where(positive, 1.0 / (P.where(positive, sk, 1.0) * dof), 0.0)
    return P._reduced_grad(g, x, axis, keepdims) * _centred(x, axis) * scale


VAR = register_primitive("var", var_forward, var_vjp, doc="variance over axes (ddof)")
STD = register_primitive("std", std_forward, std_vjp, doc="standard deviation over axes (ddof)")


def _moment(name: str, prim: Any, x: Any, axis: Any, ddof: float, keepdims: bool) -> Any:
    x = P._real_operand(name, "x", x)
    if isinstance(axis, list):
        axis = tuple(axis)
    shape = _shape(value(x))
    n = _count(shape, axis)
    if not isinstance(ddof, (int, float, np.integer, np.floating)) or isinstance(ddof, bool):
        raise TypeError(f"{name}: ddof must be a number, got {type(ddof).__name__}")
    if n - ddof <= 0:
        raise ValueError(
            f"{name}: ddof={ddof} leaves no degrees of freedom for {n} entries per group "
            f"(shape {shape}, axis={axis!r}); it must be below {n}"
        )
    params = {"axis": axis, "ddof": ddof, "keepdims": bool(keepdims)}
    return apply(prim, (x,), params)


@overload
def var(x: Tensor, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Tensor: ...


@overload
def var(x: ArrayInput, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any: ...


def var(x: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
    """Variance over ``axis``: ``Σ(x − mean)² / (n − ddof)``, as ``numpy.var``.

    ``axis``: None (all), an int or a tuple; the result has ``x``'s floating dtype and shape with the
    reduced axes removed (size 1 with ``keepdims``). Gradient ``2 (x − mean)/(n − ddof)``.

    Raises:
        ValueError: an axis is out of range or repeated, or ``ddof >= n``.
        TypeError: ``ddof`` is not a number.
    """
    return _moment("var", VAR, x, axis, ddof, keepdims)


@overload
def std(x: Tensor, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Tensor: ...


@overload
def std(x: ArrayInput, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any: ...


def std(x: Any, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
    """Standard deviation over ``axis``: ``sqrt(var(x, axis, ddof))``, as ``numpy.std``.

    Shapes and dtypes as :func:`var`. Gradient ``(x − mean)/((n − ddof)·std)``, and 0 where the
    standard deviation is 0 (not NaN).

    Raises:
        ValueError: an axis is out of range or repeated, or ``ddof >= n``.
        TypeError: ``ddof`` is not a number.
    """
    return _moment("std", STD, x, axis, ddof, keepdims)


# --- cumsum ----------------------------------------------------------------------------------------


def cumsum_forward(x: Any, axis: int | None = None) -> Any:
    xp = _ns(x)
    if xp is np:
        return np.cumsum(x, axis=axis)
    if axis is None:
        return xp.cumulative_sum(xp.reshape(x, (-1,)), axis=0)
    return xp.cumulative_sum(x, axis=axis)


def cumsum_vjp(g: Any, ans: Any, x: Any, axis: int | None = None) -> Any:
    # The adjoint of a running sum is the running sum from the end.
    ax = 0 if axis is None else axis
    back = flip(cumsum(flip(g, ax), axis=ax), ax)
    return P.reshape(back, _shape(value(x))) if axis is None else back


CUMSUM = register_primitive("cumsum", cumsum_forward, cumsum_vjp, doc="running sum along an axis")


def _one_axis(name: str, axis: Any, shape: tuple[int, ...]) -> int | None:
    """``axis`` (an int, or None: flattened) as a non-negative axis of ``shape``, for ``name``.

    Raises:
        TypeError: ``axis`` is not an integer.
        ValueError: ``axis`` is out of range, or not None for a 0-d array.
    """
    if axis is None:
        return None
    axis = _int_arg(axis, f"{name}: axis")
    if not shape:
        raise ValueError(f"{name}: axis must be None for a 0-d array")
    return int(_norm_axes(axis, len(shape))[0])


@overload
def cumsum(x: Tensor, axis: int | None = None) -> Tensor: ...


@overload
def cumsum(x: ArrayInput, axis: int | None = None) -> Any: ...


def cumsum(x: Any, axis: int | None = None) -> Any:
    """Cumulative sum along ``axis``, as ``numpy.cumsum``: same shape as ``x``, or 1-D of ``x.size``
    entries for ``axis=None`` (flattened in C order).

    Raises:
        ValueError: ``axis`` is out of range.
    """
    x = P._operand(x)
    return apply(CUMSUM, (x,), {"axis": _one_axis("cumsum", axis, _shape(value(x)))})


# --- sort ------------------------------------------------------------------------------------------


def sort_forward(x: Any, axis: int | None = -1) -> Any:
    xp = _ns(x)
    if axis is None:
        return xp.sort(xp.reshape(x, (-1,)), axis=0) if xp is not np else np.sort(x, axis=None)
    return xp.sort(x, axis=axis)


def unsort_index(xv: Any, axis: int | None) -> Any:
    """The index that puts the sorted entries of ``xv`` back in place: ``sort(x)[index] == x``
    (``axis=None``: an index into the flattened sort, shaped as ``xv``)."""
    xn = np.asarray(xv)
    if axis is None:
        perm = np.argsort(xn, axis=None, kind="stable")
        return np.argsort(perm, kind="stable").reshape(xn.shape)
    ax = axis % xn.ndim
    perm = np.argsort(xn, axis=ax, kind="stable")
    inverse = np.argsort(perm, axis=ax, kind="stable")
    grids = list(np.ogrid[tuple(slice(0, s) for s in xn.shape)])
    grids[ax] = inverse
    return tuple(grids)


def sort_vjp(g: Any, ans: Any, x: Any, axis: int | None = -1) -> Any:
    # sort(x) = x[perm]; so x̄ = ḡ[perm⁻¹]: a gather, linear in ḡ (its own VJP is a scatter).
    index = unsort_index(backend.to_numpy(value(x)), axis)
    xp = _ns(value(g))
    if xp is not np:  # index arrays of the gradient's namespace
        index = (
            tuple(xp.asarray(i) for i in index) if isinstance(index, tuple) else xp.asarray(index)
        )
    return P.getitem(g, index)


SORT = register_primitive("sort", sort_forward, sort_vjp, doc="sorted along an axis")


@overload
def sort(x: Tensor, axis: int | None = -1) -> Tensor: ...


@overload
def sort(x: ArrayInput, axis: int | None = -1) -> Any: ...


def sort(x: Any, axis: int | None = -1) -> Any:
    """``x`` sorted ascending along ``axis`` (default the last; None: flattened), as ``numpy.sort``.

    The gradient of each entry is the gradient of the position it was sorted to.

    Raises:
        ValueError: ``axis`` is out of range, or not None for a 0-d array.
    """
    x = P._operand(x)
    return apply(SORT, (x,), {"axis": _one_axis("sort", axis, _shape(value(x)))})
