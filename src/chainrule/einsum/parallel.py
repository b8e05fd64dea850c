"""A NumPy batched matmul split across two threads, for items that BLAS runs on one thread.

NumPy's stacked ``matmul`` makes one BLAS gemm call per batch item, one after the other. OpenBLAS runs a
gemm with ``m·n·k ≤ 2**18`` (64³) on the calling thread, so a large batch of such small items keeps one
core busy and leaves the others idle. :func:`split_matmul` offers a second kernel: the batch is cut in
two halves, and a helper thread multiplies one while the caller multiplies the other (NumPy releases the
GIL inside ``matmul``). Plans time both kernels on their first calls
(:class:`chainrule.einsum.tuning.Autotuned`) and keep the faster.

Items above the threshold are left to BLAS's own threads. Cutting their rows into single-threaded blocks
would be faster on a quiet machine (64×128³ on two cores: 2.3 ms against 3.5 ms), but 1.5 times slower
within ~0.1 s of any multithreaded BLAS call: OpenBLAS's idle worker threads keep spinning for that long
and take a core from the two threads of the split.

Thread safety: there is one helper thread per process (recreated in a forked child). A call that finds
it busy (einsum called from several threads at once) runs the plain ``matmul`` on its own thread, so
at most one extra thread of compute runs at a time.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["SINGLE_THREAD_MNK", "SPLIT_MIN_FLOPS", "split_matmul", "two_halves"]

#: Batched products of at least this many FLOPs (2·batch·m·n·k) get the split kernel as a candidate:
#: below it, handing work to the helper thread (tens of microseconds) is not worth it.
SPLIT_MIN_FLOPS = 1 << 25

#: OpenBLAS runs a gemm on the calling thread when m·n·k is at most this (SMP threshold 65536 × 4).
SINGLE_THREAD_MNK = 1 << 18

_BLAS_DTYPES = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))


class _Helper:
    """The process's helper thread and the lock held by the call that uses it."""

    lock = threading.Lock()
    pool: ThreadPoolExecutor | None = None

    @classmethod
    def executor(cls) -> ThreadPoolExecutor:
        pool = cls.pool
        if pool is None:
            pool = cls.pool = ThreadPoolExecutor(1, thread_name_prefix="chainrule-einsum")
        return pool

    @classmethod
    def after_fork(cls) -> None:
        # The child has no helper thread and may have forked while a parent thread held the lock.
        cls.lock = threading.Lock()
        cls.pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Helper.after_fork)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def two_halves(
    job: Callable[[int, int], Any], n: int, flops: float, min_flops: float | None = None
) -> list[Any]:
    """Run ``job(0, n)``, or ``job(0, n // 2)`` on the helper thread and ``job(n // 2, n)`` here.

    ``job(start, stop)`` works on items ``start:stop`` of a batch (writing disjoint parts of an
    output, or returning a partial result) and must release the GIL for most of its time (NumPy
    kernels do). The split happens when ``n >= 2``, the work is at least ``min_flops`` (default
    :data:`SPLIT_MIN_FLOPS`), there are two CPUs and the helper thread is free; the results come back
    in batch order (one or two of them). An exception in either half is raised after both halves
    have finished.
    """
    least = SPLIT_MIN_FLOPS if min_flops is None else min_flops
    if n < 2 or flops < least or _cpu_count() < 2:
        return [job(0, n)]
    lock = _Helper.lock
    if not lock.acquire(blocking=False):
        return [job(0, n)]  # the helper is busy with another call: stay on this thread
    try:
        half = n // 2
        first: Future[Any] = _Helper.executor().submit(job, 0, half)
        try:
            second = job(half, n)
        finally:
            head = first.result()
    finally:
        lock.release()
    return [head, second]


def split_matmul(
    shape_a: tuple[int, ...], shape_b: tuple[int, ...], dtype: Any
) -> Callable[[Any, Any], Any] | None:
    """A kernel for ``a @ b`` on NumPy arrays of shapes ``(*batch, m, k)`` and ``(*batch, k, n)``.

    The arrays may have any strides (transposed views included); the result is a new C-contiguous
    array of shape ``(*batch, m, n)`` and dtype ``dtype``, equal to ``numpy.matmul(a, b)`` (which
    ndarray subclasses get unchanged). Returns
    None where the split does not apply: no batch axis of size 2 or more, differing batch shapes, a
    dtype without BLAS (only float32, float64, complex64, complex128), fewer than
    :data:`SPLIT_MIN_FLOPS` in all, items above :data:`SINGLE_THREAD_MNK`, or a single CPU.
    """
    if len(shape_a) < 3 or len(shape_a) != len(shape_b) or shape_a[:-2] != shape_b[:-2]:
        return None
    if np.dtype(dtype) not in _BLAS_DTYPES or _cpu_count() < 2:
        return None
    batch = shape_a[:-2]
    (m, k), n = shape_a[-2:], shape_b[-1]
    axis = next((i for i, d in enumerate(batch) if d >= 2), None)
    if axis is None or m * n * k > SINGLE_THREAD_MNK:
        return None
    if 2 * math.prod(batch) * m * n * k < SPLIT_MIN_FLOPS:
        return None
    half = batch[axis] // 2
    lo = (slice(None),) * axis + (slice(0, half),)
    hi = (slice(None),) * axis + (slice(half, None),)
    out_shape = (*batch, m, n)
    plain = np.matmul

    def split(a: Any, b: Any) -> Any:
        if a.__class__ is not np.ndarray or b.__class__ is not np.ndarray:
            return plain(a, b)  # subclasses (masked arrays, ...) keep their own matmul
        lock = _Helper.lock
        if not lock.acquire(blocking=False):
            return plain(a, b)  # the helper is busy with another call: stay on this thread
        try:
            out = np.empty(out_shape, dtype)
            job: Future[Any] = _Helper.executor().submit(plain, a[hi], b[hi], out=out[hi])
            try:
                plain(a[lo], b[lo], out=out[lo])
            finally:
                job.result()
        finally:
            lock.release()
        return out

    return split
