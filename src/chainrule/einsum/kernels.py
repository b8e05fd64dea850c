"""The array operations a plan is made of, bound to one namespace, and NumPy's fast variants.

:class:`ArrayOps` gives ``permute``, ``reshape``, ``matmul``, ``mT``, ``sum``, ``multiply``, ``astype``,
``diagonal`` for any Array API namespace; for NumPy it calls the ndarray methods directly (cheaper per
call). :func:`blas_sum` sums a NumPy array through BLAS (a product with a vector of ones);
:func:`c_loop` is NumPy's own C einsum loop (``numpy.einsum(..., optimize=False)``) for one step.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from chainrule.backend import is_numpy_namespace

__all__ = [
    "C_LOOP_MAX_LABELS",
    "ONES_MAX",
    "ArrayOps",
    "Kernel",
    "blas_sum",
    "c_loop",
    "diagonal_of",
    "numpy_sum",
    "reshape_to",
    "sum_of",
    "view",
]

Kernel = Callable[..., Any]


class ArrayOps:
    """The handful of array operations a plan needs, bound to one namespace."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self.numpy = is_numpy_namespace(xp)
        self.matmul: Kernel = operator.matmul
        self.multiply: Kernel = operator.mul
        if self.numpy:
            self.permute: Kernel = lambda a, perm: a.transpose(perm)
            self.reshape: Kernel = lambda a, shape: a.reshape(shape)
            self.mT: Kernel = lambda a: a.swapaxes(-1, -2)
            self.sum: Kernel = numpy_sum
            self.astype: Kernel = lambda a, dtype: a.astype(dtype)
        else:
            self.permute = xp.permute_dims
            self.reshape = xp.reshape
            self.mT = xp.matrix_transpose
            self.sum = lambda a, axes, dtype: xp.sum(a, axis=axes, dtype=dtype)
            self.astype = xp.astype

    def diagonal(self, a: Any, ax1: int, ax2: int) -> Any:
        """The diagonal over axes ``ax1`` and ``ax2``; it becomes the last axis (NumPy's convention).

        On NumPy a read-only view; elsewhere a gather (``take``) of the flattened pair of axes.
        """
        if self.numpy:
            return a.diagonal(0, ax1, ax2)
        xp = self.xp
        n = a.shape[ax1]
        rest = [k for k in range(a.ndim) if k not in (ax1, ax2)]
        a = xp.permute_dims(a, (*rest, ax1, ax2))
        a = xp.reshape(a, (*a.shape[:-2], n * n))
        return xp.take(a, xp.arange(0, n * n, n + 1), axis=a.ndim - 1)

    def dot_ok(self, dtype: Any) -> bool:
        """Whether ``vecdot`` computes plain (unconjugated) batched dot products for ``dtype``."""
        try:
            return bool(self.xp.isdtype(dtype, ("real floating", "integral")))
        except (AttributeError, TypeError):
            return False


def numpy_sum(a: Any, axes: tuple[int, ...], dtype: Any) -> Any:
    """``a.sum(axes)`` for NumPy, reading a C-contiguous ``a`` as whole rows where possible.

    Summing the leading summed axes first adds long contiguous rows (streaming, vectorized); the trailing
    summed run is then reduced on the much smaller result. ``a.sum(axis=axes)`` in one go would reduce the
    short innermost rows one by one.
    """
    last = a.ndim - 1
    if len(axes) < 2 or last not in axes or not a.flags.c_contiguous:
        return a.sum(axis=axes, dtype=dtype)
    t = last
    while t - 1 in axes:
        t -= 1
    outer = tuple(x for x in axes if x < t)
    if outer:
        a = a.sum(axis=outer, dtype=dtype)
        t -= len(outer)
    return a.reshape((*a.shape[:t], math.prod(a.shape[t:]))).sum(axis=-1, dtype=dtype)


#: The vector of ones of a BLAS sum holds at most this many elements (8 MiB in float64); a longer summed
#: run is cut (see :func:`blas_sum`). The vectors are views of one read-only array per dtype
#: (:func:`_ones`), so the plans in the cache share them instead of each keeping its own.
ONES_MAX = 1 << 20

_ONES: dict[Any, Any] = {}


def _ones(n: int, dtype: Any) -> Any:
    """A read-only NumPy vector of ``n <= ONES_MAX`` ones of ``dtype``: a view of a shared array."""
    key = np.dtype(dtype)
    base = _ONES.get(key)
    if base is None or base.shape[0] < n:
        size = min(ONES_MAX, max(n, 4096, 2 * (0 if base is None else base.shape[0])))
        base = np.ones(size, dtype=key)
        base.flags.writeable = False
        _ONES[key] = base  # plans made earlier keep views of the previous, shorter array
    return base[:n]


def _divisor_for_split(length: int) -> int | None:
    """The largest divisor of ``length`` in ``[2**12, 2**16]`` (to view a long axis as 2-D), or None."""
    q = np.arange(1 << 12, (1 << 16) + 1)
    q = q[length % q == 0]
    return int(q[-1]) if q.size else None


def blas_sum(
    shape: tuple[int, ...], axes: tuple[int, ...], dtype: Any, ops: ArrayOps
) -> Callable[[Any], Any] | None:
    """A NumPy sum over ``axes`` of a C-contiguous ``shape`` done as a product with a vector of ones.

    The summed run of adjacent axes that shrinks the array most goes through BLAS (gemv, or a gemm with
    one row, on two threads where NumPy's own reductions use one), the rest is summed on the small
    result. The vector of ones has at most :data:`ONES_MAX` elements: BLAS takes the run's trailing
    axes up to that size (an axis longer than that is first viewed as ``(L / q, q)``, ``q`` a divisor
    of ``L`` from 4096 to 65536), and the run's leading axes are summed with the rest. Returns None
    where BLAS does not apply (integer or bool dtypes, empty arrays, a long axis without a suitable
    divisor).
    """
    xp = ops.xp
    try:
        floating = bool(xp.isdtype(dtype, ("real floating", "complex floating")))
    except (AttributeError, TypeError):
        floating = False
    if not floating or 0 in shape or len(axes) == 0:
        return None
    runs: list[tuple[int, int]] = []
    for ax in sorted(axes):
        if runs and runs[-1][1] == ax:
            runs[-1] = (runs[-1][0], ax + 1)
        else:
            runs.append((ax, ax + 1))
    start, stop = max(runs, key=lambda r: math.prod(shape[r[0] : r[1]]))
    last = stop - 1
    if shape[last] > ONES_MAX:
        # View the long axis as (L / q, q) and plan the sum of that view (its q-axis fits the cap).
        q = _divisor_for_split(shape[last])
        if q is None:
            return None
        split_shape = (*shape[:last], shape[last] // q, q, *shape[last + 1 :])
        split_axes = tuple(sorted({x + (x > last) for x in axes} | {last + 1}))
        on_view = blas_sum(split_shape, split_axes, dtype, ops)
        if on_view is None:
            return None

        def split_sum(a: Any) -> Any:
            if not a.flags.c_contiguous:
                return a.sum(axis=axes, dtype=dtype)
            return on_view(a.reshape(split_shape))

        return split_sum
    while math.prod(shape[start:stop]) > ONES_MAX:
        start += 1  # the run's leading axes join the NumPy sum on the (much smaller) result
    outer = math.prod(shape[:start])
    group = math.prod(shape[start:stop])
    inner = math.prod(shape[stop:])
    if group < 2:
        return None
    kept_shape = shape[:start] + shape[stop:]
    rest = tuple(ax if ax < start else ax - (stop - start) for ax in axes if not start <= ax < stop)
    if inner == 1:
        ones = _ones(group, dtype)
        view: tuple[int, ...] = (outer, group)
    else:
        ones = _ones(group, dtype)[None, :]
        view = (outer, group, inner)

    def ones_product(a: Any) -> Any:
        if not a.flags.c_contiguous:
            return a.sum(axis=axes, dtype=dtype)
        r = a.reshape(view)
        r = (r @ ones) if inner == 1 else (ones @ r)
        r = r.reshape(kept_shape)
        return numpy_sum(r, rest, dtype) if rest else r

    return ones_product


def view(a: Any) -> Any:
    """A new NumPy view of ``a`` (same shape, dtype and data): what ``"ij->ij"`` returns, as in NumPy."""
    return a.view()


def reshape_to(ops: ArrayOps, shape: tuple[int, ...], a: Any) -> Any:
    """``a`` reshaped to ``shape`` (same size; a view where the namespace can), for ``functools.partial``."""
    return ops.reshape(a, shape)


def diagonal_of(ops: ArrayOps, ax1: int, ax2: int, a: Any) -> Any:
    """The diagonal of ``a`` over axes ``ax1`` and ``ax2`` (equal sizes), moved last; see
    :meth:`ArrayOps.diagonal`."""
    return ops.diagonal(a, ax1, ax2)


def sum_of(ops: ArrayOps, axes: tuple[int, ...], dtype: Any, a: Any) -> Any:
    """``a`` summed over ``axes``, accumulated in ``dtype`` (integers wrap, as in ``numpy.einsum``)."""
    return ops.sum(a, axes, dtype)


#: NumPy's C einsum loop takes at most this many distinct labels (its sublist form: 0..51).
C_LOOP_MAX_LABELS = 52


#: NumPy's einsum as imported, bound once: a later replacement of ``numpy.einsum`` (a test shim, a
#: user's patch routing it to chainrule) must not make the C-loop kernel call back into chainrule.
_NUMPY_EINSUM = np.einsum


def c_loop(inputs: Sequence[Sequence[Hashable]], output: Sequence[Hashable]) -> Kernel | None:
    """NumPy's own C einsum loop for one step: ``numpy.einsum(a, [..], (b, [..],) [..])``, not optimized.

    ``inputs`` holds the labels of each of the one or two operands, in axis order, and ``output`` the
    labels of the result, in its axis order; labels found in no later position are summed, as in einsum.
    The kernel takes NumPy arrays of any strides and returns a new array of the operands' dtype
    (accumulated in that dtype, as ``numpy.einsum`` does). Returns None for more than
    :data:`C_LOOP_MAX_LABELS` distinct labels or other than one or two operands.
    """
    ids: dict[Hashable, int] = {}
    for term in (*inputs, output):
        for x in term:
            ids.setdefault(x, len(ids))
    if len(ids) > C_LOOP_MAX_LABELS or len(inputs) not in (1, 2):
        return None
    subs = [[ids[x] for x in term] for term in inputs]
    out = [ids[x] for x in output]
    einsum = _NUMPY_EINSUM
    if len(subs) == 1:
        (sa,) = subs
        return lambda a: einsum(a, sa, out)
    sa, sb = subs
    return lambda a, b: einsum(a, sa, b, sb, out)
