"""exp and tanh of float64 arrays in C (:mod:`chainrule._vmath`), for CPUs where NumPy's are not vectorized.

NumPy vectorizes its float64 ``exp`` and ``tanh`` for AVX-512 only. On a CPU without it (an AMD EPYC
before Zen 4, an older Intel), they are the C library's, one element at a time: 7x slower than on an
AVX-512 CPU, and what the elementwise layers of a network then wait for. The extension computes them in
loops the compiler vectorizes for AVX2 with FMA (exp within 0.97 ulp of the exact result, tanh within
1.34; see ``_vmath.c``). They are chosen only where they run vectorized (AVX2 and FMA on x86-64).

:func:`exp` and :func:`tanh` take what ``np.exp`` and ``np.tanh`` take. A float64 ndarray (any layout,
any size; a strided one is gathered first) or ``np.float64`` scalar (one element through the same loop,
so the same bits as in an array) runs in C; anything else (other dtypes,
subclasses, Python numbers, other array namespaces) goes to NumPy. NumPy's floating-point warnings and
``np.errstate`` hold: where an argument would overflow or underflow in NumPy (exp), or is subnormal
(tanh), NumPy is run on those arguments to raise what it raises; the values are the C ones.

:data:`EXP` and :data:`TANH` are what :mod:`chainrule.autodiff.primitives` computes with: these functions
where NumPy has no vectorized kernel for them and the extension is built, else NumPy's own. The choice is
made once, at import; ``CHAINRULE_NATIVE=0`` (:mod:`chainrule._env`) keeps NumPy's.

Imports nothing of chainrule's but :mod:`chainrule._env`.
"""

from __future__ import annotations

import importlib
import platform
from typing import Any

import numpy as np

from chainrule._env import NATIVE, switched_on

__all__ = ["EXP", "TANH", "available", "exp", "kernels_vectorized", "numpy_vectorizes", "tanh"]

_F64 = np.float64
_F64_DTYPE = np.dtype(np.float64)
_NDARRAY = np.ndarray

#: NumPy's dispatch targets under which its float64 exp and tanh are vectorized (AVX-512; NumPy 2.3
#: and later name the level ``X86_V4``, earlier versions ``AVX512F``/``AVX512_SKX``).
_NUMPY_TARGETS = ("X86_V4", "AVX512_SKX", "AVX512F")
#: NumPy raises its overflow warning for exp above this argument, its underflow one below the other.
_EXP_OVER = float.fromhex("0x1.62e42fefa39efp+9")
_EXP_UNDER = float.fromhex("-0x1.6232bdd7abcd2p+9")
_TINY = float(np.finfo(np.float64).tiny)


def _load() -> Any:
    try:
        return importlib.import_module("chainrule._vmath")
    except ImportError:
        return None


_EXT = _load()
#: The scalar entry points, bound once (scalar graphs call them per node).
_EXP1 = None if _EXT is None else _EXT.exp1
_TANH1 = None if _EXT is None else _EXT.tanh1


def available() -> bool:
    """Whether the extension was built (a C compiler at install)."""
    return _EXT is not None


def _umath() -> Any:
    """NumPy's ``_multiarray_umath`` (its CPU feature and dispatch tables), or None."""
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # NumPy 2, 1
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def numpy_vectorizes() -> bool:
    """Whether this NumPy runs a vectorized float64 exp and tanh on this CPU: one of its AVX-512 dispatch
    targets is built and enabled (``NPY_DISABLE_CPU_FEATURES`` can turn them off)."""
    umath = _umath()
    if umath is None:
        return True  # unknown: keep NumPy's
    dispatch, features = umath.__cpu_dispatch__, umath.__cpu_features__
    return any(t in dispatch and features.get(t, False) for t in _NUMPY_TARGETS)


def kernels_vectorized() -> bool:
    """Whether the extension's loops run vectorized on this CPU. On x86-64 that is its AVX2-with-FMA
    clone (the CPU has both); its baseline clone is scalar and about 2x slower than the C library's exp
    and tanh. Other platforms: one build, taken as vectorized."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    umath = _umath()
    features = {} if umath is None else umath.__cpu_features__
    return bool(features.get("AVX2", False) and features.get("FMA3", False))


def _run(kernel: Any, x: np.ndarray) -> tuple[np.ndarray, int]:
    """``kernel`` on a float64 ndarray: a new C-ordered array of its shape, and the count of flagged
    arguments. An unaligned ``x`` (NumPy exports it with the format ``'=d'``, which the kernel
    refuses) is copied like a strided one."""
    src = x if x.flags.c_contiguous and x.flags.aligned else np.array(x, order="C")
    out = np.empty(src.shape, _F64_DTYPE)
    flagged: int = kernel(src, out)
    return out, flagged


def _apply(x: Any, name: str, numpy_f: Any, flagged_args: Any) -> Any:
    """``numpy_f(x)`` computed by the array kernel ``name`` of the extension where it takes ``x`` (a
    float64 ndarray, or a scalar the one-element entry point gave back); ``flagged_args(a)``: the
    arguments of ``a`` that NumPy would raise a floating-point flag for."""
    tx = type(x)
    if _EXT is None or not ((tx is _NDARRAY and x.dtype is _F64_DTYPE) or tx is _F64):
        return numpy_f(x)
    a = np.asarray(x)
    out, flagged = _run(getattr(_EXT, name), a)
    if flagged:
        numpy_f(flagged_args(a))  # NumPy's warnings (or errors) for them
    return out if out.ndim else out[()]


def _exp_flagged(a: np.ndarray) -> np.ndarray:
    return a[(a > _EXP_OVER) | (a < _EXP_UNDER)]  # overflow, underflow


def _tanh_flagged(a: np.ndarray) -> np.ndarray:
    m = np.abs(a)
    return a[(m < _TINY) & (m != 0.0)]  # subnormal arguments


def exp(x: Any) -> Any:
    """``e**x``: the C kernel for float64 ndarrays and ``np.float64``; ``np.exp`` otherwise.

    Returns an ndarray of ``x``'s shape (``np.float64`` for a scalar or a 0-d array, as NumPy).

    Raises:
        FloatingPointError: as ``np.exp`` would, under ``np.errstate(over="raise")`` and the like.
    """
    if type(x) is _F64 and _EXP1 is not None:
        r = _EXP1(x)  # a scalar: the loop on one element, without an array
        if r is not None:
            return _F64(r)
    return _apply(x, "exp", np.exp, _exp_flagged)


def tanh(x: Any) -> Any:
    """The hyperbolic tangent: the C kernel for float64 ndarrays and ``np.float64``; ``np.tanh``
    otherwise. Returns as :func:`exp`; raises what ``np.tanh`` raises (only under ``np.errstate``)."""
    if type(x) is _F64 and _TANH1 is not None:
        r = _TANH1(x)
        if r is not None:
            return _F64(r)
    return _apply(x, "tanh", np.tanh, _tanh_flagged)


def _choose() -> tuple[Any, Any]:
    ours = _EXT is not None and switched_on(NATIVE)
    if ours and not numpy_vectorizes() and kernels_vectorized():
        return exp, tanh
    return np.exp, np.tanh


#: The exp and tanh the autodiff primitives compute with (see the module docstring).
EXP, TANH = _choose()
