"""Measured kernel choice: the fastest candidate is kept, and tuned plans stay correct on every call."""

from __future__ import annotations

import time

import numpy as np
import pytest

from chainrule.einsum import einsum
from chainrule.einsum.tuning import Autotuned


def test_autotuned_keeps_the_fastest_candidate() -> None:
    calls: list[str] = []

    def slow(x: int) -> int:
        calls.append("slow")
        time.sleep(0.003)
        return x + 1

    def fast(x: int) -> int:
        calls.append("fast")
        return x + 1

    tuned = Autotuned([slow, fast], ["slow", "fast"], trials=2)
    assert [tuned(k) for k in range(6)] == [1, 2, 3, 4, 5, 6]
    assert tuned.chosen == 1
    assert calls[:4] == ["slow", "fast", "slow", "fast"]  # measuring: each candidate twice
    assert calls[4:] == ["fast", "fast"]


def test_autotuned_blocks_times_each_candidate_in_a_row() -> None:
    calls: list[str] = []

    def first(x: int) -> int:
        calls.append("first")
        time.sleep(0.003)
        return x

    def second(x: int) -> int:
        calls.append("second")
        return x

    tuned = Autotuned([first, second], ["first", "second"], trials=3, blocks=True)
    assert [tuned(k) for k in range(8)] == list(range(8))
    assert calls == ["first"] * 3 + ["second"] * 5
    assert tuned.chosen == 1


def test_autotuned_rejects_mismatched_names() -> None:
    with pytest.raises(ValueError, match="one name per candidate"):
        Autotuned([abs], ["a", "b"])
    with pytest.raises(ValueError, match="at least one trial"):
        Autotuned([abs], ["a"], trials=0)


def test_tuned_large_sum_and_dot_are_correct_on_every_call() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal((16, 32, 64, 40))  # 1.3 M elements: tuned
    x = rng.standard_normal((8, 64, 2048))  # dots of length 131072: BLAS or vecdot, tuned
    want_sum = y.sum(axis=(1, 3))
    want_dot = np.einsum("ijk,ijk->i", x, x)
    for _ in range(6):  # measuring calls, then the chosen kernel
        np.testing.assert_allclose(einsum("ijkl->ik", y), want_sum, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(einsum("ijk,ijk->i", x, x), want_dot, rtol=1e-10)
