"""NumPy's shape functions on Tensors: squeeze, expand_dims, ravel, moveaxis, flip, roll, tile,
repeat, diagonal, diag, trace, tril, triu, split, array_split, atleast_1d/2d/3d, hstack, vstack.

Named primitives, each with its VJP written in primitives (so higher orders work): ``flip``,
``roll``, ``tile``, ``repeat``, ``diagonal``, ``diag`` (vector to matrix), ``tril``, ``triu``.
Compositions of primitives (no rule of their own): ``squeeze``, ``expand_dims``, ``ravel``,
``atleast_*d`` (reshape), ``moveaxis`` (transpose), ``trace`` (diagonal, then sum), ``split`` and
``array_split`` (getitem slices), ``hstack``/``vstack`` (concatenate). Like every function of
:mod:`chainrule.autodiff.primitives`, each takes Tensors (result: a Tensor) or plain arrays (result:
a plain array); a list or tuple input is one array, stacked when it holds Tensors.
"""

from __future__ import annotations

import builtins
import itertools
import math
from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.primitives import (
    ArrayInput,
    _axis_index,
    _int_arg,
    _norm_axes,
    _ns,
    _operand,
    _shape,
    _unary,
    concatenate,
    getitem,
    reshape,
    scatter_add,
    sum,
    transpose,
)
from chainrule.autodiff.tensor import _NUMPY_TYPES, Tensor, value

__all__ = [
    "array_split",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "diag",
    "diagonal",
    "expand_dims",
    "flip",
    "hstack",
    "moveaxis",
    "ravel",
    "repeat",
    "roll",
    "split",
    "squeeze",
    "tile",
    "trace",
    "tril",
    "triu",
    "vstack",
]


def _ndim(x: Any) -> int:
    return len(_shape(value(x)))


def _int_or_ints(v: Any, what: str) -> int | tuple[int, ...]:
    """An int or a tuple of ints (from a list, tuple or integer array), for params."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, (str, bytes)):
        raise TypeError(f"{what} must be an int or a sequence of ints, not {v!r}")
    try:
        return tuple(int(i) for i in v)
    except TypeError:
        raise TypeError(f"{what} must be an int or a sequence of ints, not {v!r}") from None


# --- flip and roll ---------------------------------------------------------------------------------


def flip_forward(x: Any, axis: tuple[int, ...] = ()) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.flip(x, axis)
    return _ns(x).flip(x, axis=axis)


def flip_vjp(g: Any, ans: Any, x: Any, axis: tuple[int, ...] = ()) -> Any:
    return flip(g, axis)


def roll_forward(x: Any, shift: Any = 0, axis: Any = None) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.roll(x, shift, axis)
    return _ns(x).roll(x, shift=shift, axis=axis)


def roll_vjp(g: Any, ans: Any, x: Any, shift: Any = 0, axis: Any = None) -> Any:
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return roll(g, back, axis)


FLIP = register_primitive("flip", flip_forward, flip_vjp, doc="reverse the order along axes")
ROLL = register_primitive("roll", roll_forward, roll_vjp, doc="shift elements cyclically")


@overload
def flip(x: Tensor, axis: Any = None) -> Tensor: ...


@overload
def flip(x: ArrayInput, axis: Any = None) -> Any: ...


def flip(x: Any, axis: Any = None) -> Any:
    """The order of elements reversed along ``axis`` (an int, a tuple, or None for every axis);
    same shape and dtype. Its VJP is the same flip.

    Raises:
        ValueError: an axis is out of range or repeated.
    """
    x = _operand(x)
    return _unary(FLIP, x, {"axis": _norm_axes(axis, _ndim(x))})


@overload
def roll(x: Tensor, shift: Any, axis: Any = None) -> Tensor: ...


@overload
def roll(x: ArrayInput, shift: Any, axis: Any = None) -> Any: ...


def roll(x: Any, shift: Any, axis: Any = None) -> Any:
    """Elements shifted cyclically by ``shift`` along ``axis`` (NumPy's ``roll``; with
    ``axis=None`` the flattened array is rolled and the shape restored); same shape and dtype.
    Its VJP rolls back by ``-shift``.

    Raises:
        TypeError: ``shift`` or ``axis`` is not an int or a sequence of ints.
        ValueError: an axis is out of range, or ``shift`` and ``axis`` differ in length.
    """
    x = _operand(x)
    nd = _ndim(x)
    sh = _int_or_ints(shift, "roll: shift")
    ax: Any = None
    if axis is not None:
        ax = _int_or_ints(axis, "roll: axis")
        for a in (ax,) if isinstance(ax, int) else ax:
            if not -nd <= a < builtins.max(nd, 1):
                raise ValueError(f"roll: axis {a} is out of range for {nd} dimensions")
        if isinstance(sh, tuple) and isinstance(ax, tuple) and len(sh) != len(ax):
            raise ValueError(f"roll: shift {sh} and axis {ax} must have the same length")
    elif isinstance(sh, tuple):
        raise ValueError("roll: a sequence shift needs an axis of the same length")
    return _unary(ROLL, x, {"shift": sh, "axis": ax})


# --- tile and repeat -------------------------------------------------------------------------------


def _tile_layout(
    xshape: tuple[int, ...], reps: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``x``'s shape and ``reps`` padded with leading 1s to the same length (NumPy's ``tile``)."""
    d = builtins.max(len(reps), len(xshape))
    return (1,) * (d - len(xshape)) + xshape, (1,) * (d - len(reps)) + reps


def tile_forward(x: Any, reps: tuple[int, ...] = ()) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.tile(x, reps)
    xp = _ns(x)
    xs, rs = _tile_layout(_shape(x), reps)
    return xp.tile(xp.reshape(x, xs), rs)


def tile_vjp(g: Any, ans: Any, x: Any, reps: tuple[int, ...] = ()) -> Any:
    xshape = _shape(x)
    xs, rs = _tile_layout(xshape, reps)
    # The output, axis by axis, is (rep, size): sum each rep axis away.
    pairs = reshape(g, tuple(v for pair in zip(rs, xs, strict=True) for v in pair))
    return reshape(sum(pairs, axis=tuple(range(0, 2 * len(xs), 2))), xshape)


def repeat_forward(x: Any, repeats: Any = 1, axis: int | None = None) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.repeat(x, repeats, axis)
    xp = _ns(x)
    if axis is None:
        x, axis = xp.reshape(x, (-1,)), 0
    reps = xp.asarray(repeats) if isinstance(repeats, tuple) else repeats
    return xp.repeat(x, reps, axis=axis)


def repeat_vjp(g: Any, ans: Any, x: Any, repeats: Any = 1, axis: int | None = None) -> Any:
    xshape = _shape(x)
    flat = (math.prod(xshape),) if axis is None else xshape
    ax = 0 if axis is None else axis
    if isinstance(repeats, int):
        # Each element's copies are adjacent: (..., n, repeats, ...) summed over the copies.
        out = sum(reshape(g, (*flat[: ax + 1], repeats, *flat[ax + 1 :])), axis=ax + 1)
    else:
        idx = np.repeat(np.arange(flat[ax]), repeats)
        out = scatter_add(g, _axis_index(len(flat), ax, idx), flat)
    return reshape(out, xshape)


TILE = register_primitive("tile", tile_forward, tile_vjp, doc="the array repeated as tiles")
REPEAT = register_primitive("repeat", repeat_forward, repeat_vjp, doc="each element repeated")


@overload
def tile(x: Tensor, reps: Any) -> Tensor: ...


@overload
def tile(x: ArrayInput, reps: Any) -> Any: ...


def tile(x: Any, reps: Any) -> Any:
    """``x`` repeated ``reps`` times along each axis (NumPy's ``tile``: ``x`` or ``reps`` padded
    with leading 1s to the same length); the VJP sums the tiles.

    Raises:
        TypeError: ``reps`` is not an int or a sequence of ints.
        ValueError: a negative entry in ``reps``.
    """
    x = _operand(x)
    reps_t = _int_or_ints(reps, "tile: reps")
    reps_t = (reps_t,) if isinstance(reps_t, int) else reps_t
    if builtins.any(r < 0 for r in reps_t):
        raise ValueError(f"tile: reps {reps_t} has a negative entry")
    return _unary(TILE, x, {"reps": reps_t})


@overload
def repeat(x: Tensor, repeats: Any, axis: int | None = None) -> Tensor: ...


@overload
def repeat(x: ArrayInput, repeats: Any, axis: int | None = None) -> Any: ...


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    """Each element repeated ``repeats`` times along ``axis`` (None: of the flattened array), as
    NumPy's ``repeat``; ``repeats`` is an int or one int per element along the axis. The VJP sums
    each element's copies.

    Raises:
        TypeError: ``repeats`` is not an int or a sequence of ints.
        ValueError: a negative count, ``axis`` out of range, or a count per element whose length
            is not the axis' size.
    """
    x = _operand(x)
    shape = _shape(value(x))
    if not shape and axis is not None:  # NumPy reads a 0-d array as 1-d for an axis
        x = reshape(x, (1,))
        shape = (1,)
    reps = _int_or_ints(repeats, "repeat: repeats")
    if isinstance(reps, tuple) and len(reps) == 1:
        reps = reps[0]
    counts = (reps,) if isinstance(reps, int) else reps
    if builtins.any(r < 0 for r in counts):
        raise ValueError(f"repeat: repeats {reps} has a negative count")
    ax = None if axis is None else _norm_axes(_int_arg(axis, "repeat: axis"), len(shape))[0]
    n = math.prod(shape) if ax is None else shape[ax]
    if isinstance(reps, tuple) and len(reps) != n:
        raise ValueError(
            f"repeat: {len(reps)} counts given for {n} elements along axis {axis} (shape {shape})"
        )
    return _unary(REPEAT, x, {"repeats": reps, "axis": ax})


# --- diagonals and triangles -----------------------------------------------------------------------


def _diag_index(n1: int, n2: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the ``offset`` diagonal of an ``n1 x n2`` matrix."""
    if offset >= 0:
        m = builtins.max(0, builtins.min(n1, n2 - offset))
        return np.arange(m), np.arange(m) + offset
    m = builtins.max(0, builtins.min(n1 + offset, n2))
    return np.arange(m) - offset, np.arange(m)


def _in_namespace(like: Any, *idx: np.ndarray) -> tuple[Any, ...]:
    """Index arrays in the namespace of the array ``like`` (NumPy's pass as they are)."""
    if type(like) in _NUMPY_TYPES:
        return idx
    xp = _ns(like)
    return tuple(xp.asarray(i) for i in idx)


def _diag_perm(nd: int, axis1: int, axis2: int) -> tuple[int, ...]:
    """The axes of ``x`` with ``axis1`` and ``axis2`` moved to the end (in that order)."""
    return (*(i for i in range(nd) if i not in (axis1, axis2)), axis1, axis2)


def diagonal_forward(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.diagonal(x, offset, axis1, axis2)
    shape = _shape(x)
    moved = _ns(x).permute_dims(x, _diag_perm(len(shape), axis1, axis2))
    rows, cols = _in_namespace(x, *_diag_index(shape[axis1], shape[axis2], offset))
    return moved[..., rows, cols]


def diagonal_vjp(g: Any, ans: Any, x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    # The gradient is zero off the diagonal: g scattered onto it (with the two axes moved last).
    xshape = _shape(x)
    perm = _diag_perm(len(xshape), axis1, axis2)
    rows, cols = _in_namespace(value(g), *_diag_index(xshape[axis1], xshape[axis2], offset))
    moved = scatter_add(g, (Ellipsis, rows, cols), tuple(xshape[i] for i in perm))
    return transpose(moved, tuple(int(i) for i in np.argsort(perm)))


def diag_forward(v: Any, k: int = 0) -> Any:
    if type(v) in _NUMPY_TYPES:
        return np.diag(v, k)
    xp = _ns(v)
    n = _shape(v)[0] + abs(k)
    out = xp.zeros((n, n), dtype=v.dtype)
    rows, cols = _in_namespace(v, *_diag_index(n, n, k))
    out[rows, cols] = v
    return out


def diag_vjp(g: Any, ans: Any, v: Any, k: int = 0) -> Any:
    return diagonal(g, k, 0, 1)


def _tri_mask(shape: tuple[int, ...], k: int, lower: bool) -> np.ndarray:
    rows = np.arange(shape[-2])[:, None]
    cols = np.arange(shape[-1])[None, :]
    return cols - rows <= k if lower else cols - rows >= k


def tril_forward(x: Any, k: int = 0) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.tril(x, k)
    xp = _ns(x)
    return xp.where(xp.asarray(_tri_mask(_shape(x), k, True)), x, xp.zeros_like(x))


def tril_vjp(g: Any, ans: Any, x: Any, k: int = 0) -> Any:
    return tril(g, k)


def triu_forward(x: Any, k: int = 0) -> Any:
    if type(x) in _NUMPY_TYPES:
        return np.triu(x, k)
    xp = _ns(x)
    return xp.where(xp.asarray(_tri_mask(_shape(x), k, False)), x, xp.zeros_like(x))


def triu_vjp(g: Any, ans: Any, x: Any, k: int = 0) -> Any:
    return triu(g, k)


DIAGONAL = register_primitive(
    "diagonal", diagonal_forward, diagonal_vjp, doc="a diagonal of two axes (moved last)"
)
DIAG = register_primitive("diag", diag_forward, diag_vjp, doc="a vector on a matrix diagonal")
TRIL = register_primitive("tril", tril_forward, tril_vjp, doc="lower triangle (rest zero)")
TRIU = register_primitive("triu", triu_forward, triu_vjp, doc="upper triangle (rest zero)")


def _two_axes(what: str, nd: int, axis1: int, axis2: int) -> tuple[int, int]:
    if nd < 2:
        raise ValueError(f"{what}: needs at least 2 dimensions; the input has {nd}")
    a1 = _norm_axes(_int_arg(axis1, f"{what}: axis1"), nd)[0]
    a2 = _norm_axes(_int_arg(axis2, f"{what}: axis2"), nd)[0]
    if a1 == a2:
        raise ValueError(f"{what}: axis1 and axis2 are the same axis ({a1})")
    return a1, a2


@overload
def diagonal(x: Tensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor: ...


@overload
def diagonal(x: ArrayInput, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any: ...


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The ``offset`` diagonal of the matrices on axes ``axis1`` and ``axis2`` (NumPy's
    ``diagonal``): those two axes are removed and the diagonal is the last axis. The VJP puts the
    gradient back on the diagonal (zero elsewhere).

    Raises:
        ValueError: fewer than 2 dimensions, an axis out of range, or the two axes equal.
    """
    x = _operand(x)
    off = _int_arg(offset, "diagonal: offset")
    a1, a2 = _two_axes("diagonal", _ndim(x), axis1, axis2)
    return _unary(DIAGONAL, x, {"offset": off, "axis1": a1, "axis2": a2})


@overload
def diag(v: Tensor, k: int = 0) -> Tensor: ...


@overload
def diag(v: ArrayInput, k: int = 0) -> Any: ...


def diag(v: Any, k: int = 0) -> Any:
    """NumPy's ``diag``: a 1-d ``v`` of length n gives the ``(n+|k|, n+|k|)`` matrix with ``v`` on
    its ``k``-th diagonal (VJP: that diagonal of the gradient); a 2-d ``v`` gives its ``k``-th
    diagonal (:func:`diagonal`).

    Raises:
        ValueError: ``v`` is not 1-d or 2-d.
    """
    v = _operand(v)
    nd = _ndim(v)
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d; got shape {_shape(value(v))}")
    return _unary(DIAG, v, {"k": _int_arg(k, "diag: k")})


@overload
def trace(x: Tensor, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor: ...


@overload
def trace(x: ArrayInput, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any: ...


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The sum of the ``offset`` diagonal (NumPy's ``trace``): ``sum(diagonal(x), axis=-1)``.

    Raises:
        ValueError: as :func:`diagonal`.
    """
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


def _triangle(prim: Any, what: str, x: Any, k: int) -> Any:
    x = _operand(x)
    if _ndim(x) < 2:
        raise ValueError(f"{what}: needs at least 2 dimensions; got shape {_shape(value(x))}")
    return _unary(prim, x, {"k": _int_arg(k, f"{what}: k")})


@overload
def tril(x: Tensor, k: int = 0) -> Tensor: ...


@overload
def tril(x: ArrayInput, k: int = 0) -> Any: ...


def tril(x: Any, k: int = 0) -> Any:
    """The lower triangle of the last two axes (entries above the ``k``-th diagonal set to 0);
    its VJP is the same triangle of the gradient.

    Raises:
        ValueError: fewer than 2 dimensions.
    """
    return _triangle(TRIL, "tril", x, k)


@overload
def triu(x: Tensor, k: int = 0) -> Tensor: ...


@overload
def triu(x: ArrayInput, k: int = 0) -> Any: ...


def triu(x: Any, k: int = 0) -> Any:
    """The upper triangle of the last two axes (entries below the ``k``-th diagonal set to 0);
    its VJP is the same triangle of the gradient.

    Raises:
        ValueError: fewer than 2 dimensions.
    """
    return _triangle(TRIU, "triu", x, k)


# --- compositions: reshape and transpose -----------------------------------------------------------


@overload
def squeeze(x: Tensor, axis: Any = None) -> Tensor: ...


@overload
def squeeze(x: ArrayInput, axis: Any = None) -> Any: ...


def squeeze(x: Any, axis: Any = None) -> Any:
    """``x`` without its size-1 axes (those in ``axis``; all of them for None): a reshape.

    Raises:
        ValueError: an axis in ``axis`` is out of range, repeated, or not of size 1.
    """
    x = _operand(x)
    shape = _shape(value(x))
    if axis is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = _norm_axes(axis, len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {shape[a]}, not 1 (shape {shape})")
    return reshape(x, tuple(d for i, d in enumerate(shape) if i not in axes))


@overload
def expand_dims(x: Tensor, axis: Any) -> Tensor: ...


@overload
def expand_dims(x: ArrayInput, axis: Any) -> Any: ...


def expand_dims(x: Any, axis: Any) -> Any:
    """``x`` with new size-1 axes at the positions ``axis`` (an int or a tuple, counted in the
    result's dimensions, negative from the end): a reshape.

    Raises:
        ValueError: an axis is out of range for the result, or repeated.
    """
    x = _operand(x)
    shape = _shape(value(x))
    n = len(shape) + (1 if isinstance(axis, (int, np.integer)) else len(tuple(axis)))
    axes = _norm_axes(axis, n)
    rest = iter(shape)
    return reshape(x, tuple(1 if i in axes else next(rest) for i in range(n)))


@overload
def ravel(x: Tensor) -> Tensor: ...


@overload
def ravel(x: ArrayInput) -> Any: ...


def ravel(x: Any) -> Any:
    """All elements as a 1-d array, row-major: a reshape to ``(-1,)``."""
    return reshape(_operand(x), (-1,))


def _atleast(x: Any, n: int) -> Any:
    x = _operand(x)
    shape = _shape(value(x))
    if len(shape) >= n:
        return x
    if n == 3 and len(shape) == 2:
        return reshape(x, (*shape, 1))  # NumPy: (M, N) -> (M, N, 1)
    if n == 3:
        return reshape(x, (1, *(shape or (1,)), 1))  # () -> (1, 1, 1), (N,) -> (1, N, 1)
    return reshape(x, (1,) * (n - len(shape)) + shape)


@overload
def atleast_1d(x: Tensor) -> Tensor: ...


@overload
def atleast_1d(x: ArrayInput) -> Any: ...


def atleast_1d(x: Any) -> Any:
    """``x`` with at least one dimension (a 0-d input becomes shape ``(1,)``): a reshape."""
    return _atleast(x, 1)


@overload
def atleast_2d(x: Tensor) -> Tensor: ...


@overload
def atleast_2d(x: ArrayInput) -> Any: ...


def atleast_2d(x: Any) -> Any:
    """``x`` with at least two dimensions (``(N,)`` becomes ``(1, N)``): a reshape."""
    return _atleast(x, 2)


@overload
def atleast_3d(x: Tensor) -> Tensor: ...


@overload
def atleast_3d(x: ArrayInput) -> Any: ...


def atleast_3d(x: Any) -> Any:
    """``x`` with at least three dimensions, as NumPy (``(N,)`` → ``(1, N, 1)``, ``(M, N)`` →
    ``(M, N, 1)``): a reshape."""
    return _atleast(x, 3)


@overload
def moveaxis(x: Tensor, source: Any, destination: Any) -> Tensor: ...


@overload
def moveaxis(x: ArrayInput, source: Any, destination: Any) -> Any: ...


def moveaxis(x: Any, source: Any, destination: Any) -> Any:
    """Axes ``source`` moved to positions ``destination`` (ints or equal-length tuples), the
    others kept in order (NumPy's ``moveaxis``): a transpose.

    Raises:
        ValueError: an axis out of range or repeated, or ``source`` and ``destination`` of
            different lengths.
    """
    x = _operand(x)
    nd = _ndim(x)
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(
            f"moveaxis: source {src} and destination {dst} must have the same number of axes"
        )
    src_n = [_norm_axes(a, nd)[0] for a in src]
    dst_n = [_norm_axes(a, nd)[0] for a in dst]
    if len(set(src_n)) != len(src_n) or len(set(dst_n)) != len(dst_n):
        raise ValueError(f"moveaxis: repeated axis in source {src} or destination {dst}")
    order = [i for i in range(nd) if i not in src_n]
    for d, s in sorted(zip(dst_n, src_n, strict=True)):
        order.insert(d, s)
    return transpose(x, order)


# --- compositions: split and join ------------------------------------------------------------------


#: The most sections ``split``/``array_split`` make from a count (each one is a graph node; NumPy
#: allows more sections than entries, the extra ones empty).
MAX_SECTIONS = 1_000_000


def _split_points(n: int, sections: Any, equal: bool, what: str) -> list[int]:
    """The boundaries along an axis of size ``n`` (NumPy's split / array_split): ``k + 1`` points for
    ``k`` sections, or ``[0, *indices, n]`` with the indices as given (read as slice bounds, so
    negative ones count from the end, as in NumPy)."""
    if isinstance(sections, (int, np.integer)) and not isinstance(sections, (bool, np.bool_)):
        k = int(sections)
        if k <= 0:
            raise ValueError(f"{what}: the number of sections must be positive, got {k}")
        if k > MAX_SECTIONS:
            raise ValueError(
                f"{what}: indices_or_sections={k} sections is more than the {MAX_SECTIONS} allowed"
            )
        if equal and n % k:
            raise ValueError(
                f"{what}: an axis of size {n} does not split into {k} equal sections "
                "(use array_split for unequal ones)"
            )
        size, extra = divmod(n, k)
        points = [0]
        for i in range(k):
            points.append(points[-1] + size + (1 if i < extra else 0))
        return points
    if isinstance(sections, (str, bytes)) or not hasattr(sections, "__iter__"):
        raise TypeError(
            f"{what}: indices_or_sections must be an int or a sequence of ints, not {sections!r}"
        )
    return [0, *(_int_arg(i, f"{what}: an index of indices_or_sections") for i in sections), n]


def _split(x: Any, sections: Any, axis: int, equal: bool, what: str) -> list[Any]:
    x = _operand(x)
    shape = _shape(value(x))
    ax = _norm_axes(axis, len(shape))[0]
    points = _split_points(shape[ax], sections, equal, what)
    return [
        getitem(x, _axis_index(len(shape), ax, slice(a, b))) for a, b in itertools.pairwise(points)
    ]


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """NumPy's ``split``: ``x`` cut along ``axis`` into equal sections (an int) or at the given
    indices (a sequence); a list of slices (each a ``getitem`` of ``x``, so gradients flow back).

    Raises:
        ValueError: an int that does not divide the axis' size, or is not positive.
    """
    return _split(x, indices_or_sections, axis, True, "split")


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """NumPy's ``array_split``: as :func:`split`, but ``k`` sections need not be equal (the first
    ``n % k`` are one longer).

    Raises:
        ValueError: the number of sections is not positive.
    """
    return _split(x, indices_or_sections, axis, False, "array_split")


def _parts(xs: Sequence[Any], what: str) -> list[Any]:
    """The arrays to join: a sequence's entries, or an array's subarrays along its first axis (as
    NumPy iterates one).

    Raises:
        ValueError: no arrays (an empty sequence, or an array of length 0).
        TypeError: a 0-d array (nothing to iterate).
    """
    if not isinstance(xs, (list, tuple)) and hasattr(xs, "shape"):
        shape = _shape(value(xs))
        if not shape:
            raise TypeError(f"{what}: needs a sequence of arrays, got a 0-d array")
        arr: Any = xs
        parts = [getitem(arr, i) for i in range(shape[0])]
    else:
        parts = list(xs)
    if not parts:
        raise ValueError(f"{what} needs a non-empty sequence of arrays")
    return parts


def hstack(xs: Sequence[Any]) -> Any:
    """NumPy's ``hstack``: 1-d inputs joined end to end, others along axis 1 (0-d read as 1-d).

    Raises:
        ValueError: an empty sequence, or shapes that do not join.
    """
    parts = [atleast_1d(x) for x in _parts(xs, "hstack")]
    return concatenate(parts, axis=0 if _ndim(parts[0]) == 1 else 1)


def vstack(xs: Sequence[Any]) -> Any:
    """NumPy's ``vstack``: inputs joined along axis 0, a 1-d input of length N read as ``(1, N)``.

    Raises:
        ValueError: an empty sequence, or shapes that do not join.
    """
    return concatenate([atleast_2d(x) for x in _parts(xs, "vstack")], axis=0)
