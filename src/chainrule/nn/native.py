"""conv2d, max_pool2d and Adam in C (:mod:`chainrule.nn._kernels`), for float32/float64 NumPy arrays.

The extension is built from ``_kernels.c`` by the machine's C compiler when chainrule is installed.

conv2d's three contractions (:func:`forward`, :func:`grad_x`, :func:`grad_w`): the extension
gathers one sample's windows at a time into a buffer that stays in cache, multiplies them with
SciPy's BLAS ``gemm`` (function pointers from :mod:`scipy.linalg.cython_blas`, in products small
enough for BLAS to run on the calling thread, :data:`~chainrule.einsum.parallel.SINGLE_THREAD_MNK`),
and folds the input gradient's windows back in place. A call runs without the GIL, so the two halves
of a batch run on two threads (:func:`~chainrule.einsum.parallel.two_halves`) as two C calls: NumPy
kernels, made of many short calls, spend much of the second thread on passing the GIL back and forth.

max_pool2d's passes (:func:`pool_forward`, :func:`pool_grad`): one loop over the windows each, with
the NumPy kernels' rules (NaN propagates; tied maxima share the gradient equally, padding counting
as ``-inf`` entries), where those kernels make ``kh·kw`` passes over strided slices.

:func:`available` is False where the extension was not built (no compiler at install), where SciPy's
BLAS is missing, or when ``CHAINRULE_NATIVE=0`` is set (the NumPy kernels of
:mod:`chainrule.nn.conv_primitive` then run; tests compare both). :func:`applies` says whether a call
can take this path: NumPy arrays of one float dtype and sizes that fit BLAS's 32-bit integers.
The output gradient is read with its own strides (a broadcast gradient is gathered one sample at a
time); the other arguments are made C-contiguous here. Nothing in the C code raises on valid
arguments.

The Adam update (:func:`adam`): one pass over the parameter, gradient and moments, with the
operations of :func:`chainrule.nn.optim._adam_kernel` in their order, each rounded to the arrays'
dtype (the C code is compiled without fused multiply-adds), so the result is the NumPy passes' bit
for bit; the tests compare both.

Shapes: ``x (N, C, H, W)``, ``w (O, C/G, kh, kw)``, ``b (O,)`` or None, ``gy (N, O, OH, OW)``;
pooling takes ``x (..., H, W)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule._env import NATIVE, switched_on
from chainrule.einsum.parallel import SINGLE_THREAD_MNK, two_halves

__all__ = [
    "ENV",
    "adam",
    "applies",
    "available",
    "forward",
    "grad_w",
    "grad_x",
    "pool_forward",
    "pool_grad",
]

#: Set to ``0`` (``off``, ``false``, ``no``) to run the NumPy kernels instead of the C ones.
ENV = NATIVE

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INT_MAX = 2**31 - 1
#: The most bytes of one sample's windows a C call gathers; larger samples take the NumPy path.
MAX_WINDOW_BYTES = 1 << 28
_FORWARD, _GRAD_X, _GRAD_W = 0, 1, 2


def _load() -> Any:
    try:
        from scipy.linalg import cython_blas

        from chainrule.nn import _kernels  # type: ignore[attr-defined]
    except ImportError:
        return None
    capi = cython_blas.__pyx_capi__
    _kernels.set_blas(capi["dgemm"], capi["sgemm"], SINGLE_THREAD_MNK)
    return _kernels


_EXT = _load()


def available() -> bool:
    """Whether the C kernels are built and loaded, and not turned off by ``CHAINRULE_NATIVE=0`` (also
    ``off``, ``false``, ``no``; read at every call)."""
    return _EXT is not None and switched_on(ENV)


def applies(*arrays: Any) -> bool:
    """Whether the C kernels take these operands: plain ndarrays of one dtype, float32 or float64."""
    if not available():
        return False
    dtype = arrays[0].dtype if arrays[0].__class__ is np.ndarray else None
    if dtype not in _FLOATS:
        return False
    return all(a.__class__ is np.ndarray and a.dtype == dtype and a.flags.aligned for a in arrays)


def _geometry(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], out: tuple[int, int], p: Mapping[str, Any]
) -> list[int] | None:
    """The integers the C kernels read, or None where a BLAS dimension would overflow 32 bits or a
    sample's windows would take more than :data:`MAX_WINDOW_BYTES` (for 8-byte floats)."""
    n, c, h, wd = x_shape
    o, _, kh, kw = w_shape
    oh, ow = out
    if max(c * kh * kw, oh * ow, o, h * wd) > _INT_MAX:
        return None
    if 8 * c * kh * kw * oh * ow > MAX_WINDOW_BYTES:
        return None
    (sh, sw), (ph, pw), (dh, dw) = p["stride"], p["padding"], p["dilation"]
    return [n, c, h, wd, o, p["groups"], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow]


def _run(
    kind: int, geom: list[int], a: np.ndarray, b: np.ndarray, c: Any, out: Any, min_flops: float
) -> Any:
    ext = _EXT
    assert ext is not None
    dbl = a.dtype == np.float64
    n = geom[0]

    def half(start: int, stop: int) -> Any:
        # The weight gradient accumulates: the first half into ``out`` (zeros), the second into its
        # own zeros, summed by the caller.
        target = out if kind != _GRAD_W or start == 0 else np.zeros_like(out)
        ext.kernel(kind, dbl, (*geom, start, stop), a, b, c, target)
        return target

    flops = 2.0 * n * geom[4] * (geom[1] // geom[5]) * geom[6] * geom[7] * geom[14] * geom[15]
    return two_halves(half, n, flops, min_flops)


def forward(
    x: np.ndarray,
    w: np.ndarray,
    b: Any,
    out: tuple[int, int],
    p: Mapping[str, Any],
    min_flops: float,
) -> np.ndarray | None:
    """``conv2d(x, w) + b`` as a new ``(N, O, OH, OW)`` array, or None where a size is too large.

    A batch of at least ``min_flops`` FLOPs runs in two halves on two threads (as every kernel here).
    """
    geom = _geometry(x.shape, w.shape, out, p)
    if geom is None:
        return None
    y = np.empty((x.shape[0], w.shape[0], *out), dtype=x.dtype)
    bias = None if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    _run(_FORWARD, geom, np.ascontiguousarray(x), np.ascontiguousarray(w), bias, y, min_flops)
    return y


def _check_gy(gy: np.ndarray, x: np.ndarray, w: np.ndarray, out: tuple[int, int]) -> None:
    want = (x.shape[0], w.shape[0], *out)
    if gy.shape != want:
        raise ValueError(
            f"conv2d: output gradient shape {gy.shape} is not {want} (N, O, OH, OW) for input "
            f"shape {x.shape} and weight shape {w.shape}"
        )


def _gradient(
    kind: int,
    gy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    out: tuple[int, int],
    p: Mapping[str, Any],
    min_flops: float,
) -> np.ndarray | None:
    _check_gy(gy, x, w, out)
    geom = _geometry(x.shape, w.shape, out, p)
    if geom is None:
        return None
    if kind == _GRAD_X:
        dx = np.empty(x.shape, dtype=x.dtype)
        _run(_GRAD_X, geom, gy, np.ascontiguousarray(w), None, dx, min_flops)
        return dx
    acc = np.zeros(w.shape, dtype=x.dtype)
    parts = _run(_GRAD_W, geom, gy, np.ascontiguousarray(x), None, acc, min_flops)
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]


def grad_x(
    gy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    out: tuple[int, int],
    p: Mapping[str, Any],
    min_flops: float,
) -> np.ndarray | None:
    """``∂L/∂x (N, C, H, W)`` from ``gy (N, O, OH, OW)``, or None where a size is too large.

    Raises:
        ValueError: ``gy`` is not ``(N, O, *out)`` for ``x`` and ``w`` (``out``: the output size).
    """
    return _gradient(_GRAD_X, gy, x, w, out, p, min_flops)


def grad_w(
    gy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    out: tuple[int, int],
    p: Mapping[str, Any],
    min_flops: float,
) -> np.ndarray | None:
    """``∂L/∂w (O, C/G, kh, kw)`` from ``gy`` and ``x``, or None where a size is too large.

    Raises:
        ValueError: ``gy`` is not ``(N, O, *out)`` for ``x`` and ``w`` (``out``: the output size).
    """
    return _gradient(_GRAD_W, gy, x, w, out, p, min_flops)


def _pool_geometry(
    x_shape: tuple[int, ...], out: tuple[int, int], p: Mapping[str, Any]
) -> tuple[int, ...]:
    (kh, kw), (sh, sw), (ph, pw) = p["kernel_size"], p["stride"], p["padding"]
    planes = int(np.prod(x_shape[:-2], dtype=np.int64))
    return (planes, x_shape[-2], x_shape[-1], kh, kw, sh, sw, ph, pw, *out)


def pool_forward(x: np.ndarray, out: tuple[int, int], p: Mapping[str, Any]) -> np.ndarray:
    """``max_pool2d(x)``: ``(..., OH, OW)`` from ``x (..., H, W)`` with ``p``'s kernel, stride, padding."""
    ext = _EXT
    assert ext is not None
    x = np.ascontiguousarray(x)
    y = np.empty((*x.shape[:-2], *out), dtype=x.dtype)
    ext.pool(False, x.dtype == np.float64, _pool_geometry(x.shape, out, p), x, x, None, y)
    return y


def pool_grad(g: np.ndarray, y: np.ndarray, x: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    """max_pool2d's input gradient ``(..., H, W)`` from ``g`` and the forward's ``y`` ``(..., OH, OW)``."""
    ext = _EXT
    assert ext is not None
    if g.shape != y.shape or y.shape[:-2] != x.shape[:-2]:
        raise ValueError(
            f"max_pool2d: gradient shape {g.shape} and output shape {y.shape} do not match the "
            f"input shape {x.shape}"
        )
    x = np.ascontiguousarray(x)
    dx = np.empty(x.shape, dtype=x.dtype)
    geom = _pool_geometry(x.shape, y.shape[-2:], p)
    ext.pool(
        True, x.dtype == np.float64, geom, x, np.ascontiguousarray(y), np.ascontiguousarray(g), dx
    )
    return dx


def adam(
    d: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    decoupled: bool,
    decay: float,
    l2: float,
    b1: float,
    b2: float,
    inv_sqrt_bias2: float,
    eps: float,
    step_size: float,
) -> bool:
    """One Adam update of the flat arrays ``d`` (parameter), ``m``, ``v`` (moments) in place, from
    the gradient ``g``; the coefficients as in :func:`chainrule.nn.optim._adam_kernel`.

    Returns False (and changes nothing) unless the C kernels apply: four C-contiguous, aligned,
    non-overlapping arrays of one length and one dtype (float32 or float64), ``d``, ``m``, ``v``
    writable.
    """
    if not applies(d, g, m, v) or not all(a.flags.c_contiguous for a in (d, g, m, v)):
        return False
    if not (d.flags.writeable and m.flags.writeable and v.flags.writeable):
        return False
    if not d.size == g.size == m.size == v.size:
        return False
    arrays = (d, g, m, v)
    if any(np.may_share_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1 :]):
        return False  # overlapping arrays: the NumPy passes define what that means
    ext = _EXT
    assert ext is not None
    dbl = d.dtype == np.float64
    # One thread: right after a backward pass OpenBLAS's idle threads still spin on the other
    # core, and a split update made the training step slower (N1 in benchmarks/bench_nn.py).
    ext.adam(dbl, d, g, m, v, decoupled, decay, l2, b1, b2, inv_sqrt_bias2, eps, step_size)
    return True
