"""The batched matmul split across two threads: exact results, when it applies, busy helper, fork."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from chainrule.backend import to_numpy
from chainrule.einsum import PLAN_CACHE, einsum, parallel
from chainrule.einsum.parallel import SINGLE_THREAD_MNK, split_matmul
from chainrule.einsum.tuning import Autotuned

RNG = np.random.default_rng(11)


@pytest.fixture
def small_split(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let small test arrays take the split kernel; drop the plans built meanwhile afterwards."""
    monkeypatch.setattr(parallel, "SPLIT_MIN_FLOPS", 0)
    monkeypatch.setattr(parallel, "_cpu_count", lambda: 2)
    PLAN_CACHE.clear()
    yield
    PLAN_CACHE.clear()


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.complex64])
def test_split_equals_matmul_exactly(small_split: None, dtype: type) -> None:
    a = RNG.standard_normal((5, 3, 6, 4)).astype(dtype)
    b = RNG.standard_normal((5, 3, 4, 7)).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * a[..., ::-1]
        b = b - 2j * b
    kernel = split_matmul(a.shape, b.shape, dtype)
    assert kernel is not None
    got = kernel(a, b)
    assert got.dtype == np.dtype(dtype) and got.shape == (5, 3, 6, 7)
    # Each item is the same single-threaded BLAS call as in matmul: equal bit for bit.
    np.testing.assert_array_equal(got, np.matmul(a, b))


def test_split_on_transposed_views_and_first_batch_axis_of_one(small_split: None) -> None:
    a = RNG.standard_normal((1, 9, 5, 6)).swapaxes(-1, -2)  # (1, 9, 6, 5), a transposed view
    b = RNG.standard_normal((7, 5, 9, 1)).transpose(3, 2, 1, 0)  # (1, 9, 5, 7), no copy
    kernel = split_matmul(a.shape, b.shape, np.float64)
    assert kernel is not None
    np.testing.assert_array_equal(kernel(a, b), np.matmul(a, b))


@pytest.mark.parametrize(
    ("shape_a", "shape_b", "dtype"),
    [
        ((6, 4), (4, 5), np.float64),  # no batch
        ((1, 1, 6, 4), (1, 1, 4, 5), np.float64),  # batch without an axis to split
        ((8, 6, 4), (4, 6, 4), np.float64),  # differing batch shapes (broadcasting)
        ((8, 6, 4), (8, 4, 5), np.int64),  # no BLAS for integers
        ((8, 6, 4), (8, 4, 5), np.float16),
        ((8, 65, 64), (8, 64, 64), np.float64),  # items above BLAS's single-thread size
    ],
)
def test_split_does_not_apply(
    small_split: None, shape_a: tuple[int, ...], shape_b: tuple[int, ...], dtype: type
) -> None:
    assert split_matmul(shape_a, shape_b, dtype) is None


def test_split_needs_enough_flops_and_two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_cpu_count", lambda: 2)
    assert parallel.SPLIT_MIN_FLOPS <= 2 * 64 * 64**3 and SINGLE_THREAD_MNK >= 64**3
    assert split_matmul((64, 64, 64), (64, 64, 64), np.float64) is not None
    assert split_matmul((2, 64, 64), (2, 64, 64), np.float64) is None  # too little work
    monkeypatch.setattr(parallel, "_cpu_count", lambda: 1)
    assert split_matmul((64, 64, 64), (64, 64, 64), np.float64) is None


def test_busy_helper_falls_back_to_the_calling_thread(small_split: None) -> None:
    a = RNG.standard_normal((4, 3, 5))
    b = RNG.standard_normal((4, 5, 2))
    kernel = split_matmul(a.shape, b.shape, np.float64)
    assert kernel is not None
    lock = parallel._Helper.lock
    with lock:  # another call holds the helper
        np.testing.assert_array_equal(kernel(a, b), a @ b)
    assert not lock.locked()


class _Tagged(np.ndarray):
    """An ndarray subclass: matmul must return it as NumPy would."""


def test_subclasses_keep_their_own_matmul(small_split: None) -> None:
    a = RNG.standard_normal((4, 3, 5)).view(_Tagged)
    b = RNG.standard_normal((4, 5, 2))
    kernel = split_matmul(a.shape, b.shape, np.float64)
    assert kernel is not None
    got = kernel(a, b)
    assert type(got) is _Tagged
    np.testing.assert_array_equal(got, np.matmul(a, b))


def test_einsum_from_many_threads_is_correct(small_split: None) -> None:
    a = RNG.standard_normal((16, 8, 12, 10))
    b = RNG.standard_normal((16, 8, 10, 9))
    want = np.matmul(a, b)
    errors: list[str] = []

    def work() -> None:
        for _ in range(20):
            got = einsum("...ij,...jk->...ik", a, b)
            if not np.array_equal(got, want):
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not parallel._Helper.lock.locked()


def test_plans_measure_split_against_plain(small_split: None) -> None:
    a = RNG.standard_normal((6, 5, 4))
    b = RNG.standard_normal((6, 4, 3))
    c = RNG.standard_normal((6, 3, 4))  # stored (batch, n, k): a transposed operand, general plan
    for _ in range(12):  # five timed calls per kernel, then the chosen one
        np.testing.assert_array_equal(einsum("bij,bjk->bik", a, b), a @ b)
        np.testing.assert_allclose(
            einsum("bij,bkj->bik", a, c), a @ c.swapaxes(1, 2), rtol=1e-13, atol=1e-13
        )
    direct = PLAN_CACHE.get(
        ("bij,bjk->bik", "auto", np.ndarray, a.shape, a.dtype, np.ndarray, b.shape, b.dtype)
    )
    assert isinstance(direct, Autotuned)
    assert direct.names == ("split", "matmul") and direct.chosen is not None


def test_other_namespaces_keep_plain_matmul(small_split: None) -> None:
    xp = pytest.importorskip("array_api_strict")
    a = RNG.standard_normal((6, 5, 4))
    b = RNG.standard_normal((6, 4, 3))
    got = einsum("bij,bjk->bik", xp.asarray(a), xp.asarray(b))
    assert type(got).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(to_numpy(got), a @ b, rtol=1e-13)
    runner = PLAN_CACHE.get(
        (
            "bij,bjk->bik",
            "auto",
            type(xp.asarray(a)),
            (6, 5, 4),
            xp.float64,
            type(xp.asarray(b)),
            (6, 4, 3),
            xp.float64,
        )
    )
    assert runner is not None and not isinstance(runner, Autotuned)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_split_works_in_a_forked_child(small_split: None) -> None:
    a = RNG.standard_normal((4, 3, 5))
    b = RNG.standard_normal((4, 5, 2))
    kernel = split_matmul(a.shape, b.shape, np.float64)
    assert kernel is not None
    kernel(a, b)  # the parent's helper thread now exists
    pid = os.fork()
    if pid == 0:  # child: the helper thread is gone; a stale pool would hang, so time out instead
        signal.alarm(20)
        ok = np.array_equal(kernel(a, b), a @ b)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
