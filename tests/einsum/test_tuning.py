"""Measured kernel choice: a scripted clock drives the tuner (no wall-clock asserts); tuned plans stay
correct on every call, their candidates agree, the report shows the decision, and tuning can be turned off."""

from __future__ import annotations

import itertools
import os
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pytest

from chainrule.einsum import PLAN_CACHE, einsum, einsum_path, parallel, tuning
from chainrule.einsum.kernels import c_loop
from chainrule.einsum.tuning import Autotuned, forget_decisions, recall

MS = 1e-3  # scripted durations are in milliseconds, the scale of the kernels that plans tune


class FakeClock:
    """A clock that only moves when a scripted kernel runs (or when a spike is due).

    Timed calls read the clock twice (start, end); each pending spike (milliseconds) is added at one end
    read, so it lands on exactly one timed call, whichever candidate that is.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0
        self.spikes: list[float] = []

    def __call__(self) -> float:
        self.reads += 1
        if self.reads % 2 == 0 and self.spikes:
            self.now += self.spikes.pop(0) * MS
        return self.now


def kernel(
    clock: FakeClock, name: str, durations: Iterable[float], calls: list[str]
) -> Callable[[int], int]:
    """A candidate that records its name and advances the clock by its next scripted duration (ms)."""
    steps: Iterator[float] = iter(durations)

    def run(x: int) -> int:
        calls.append(name)
        clock.now += next(steps) * MS
        return x + 1

    return run


def live(
    clock: FakeClock, name: str, speed: dict[str, float], calls: list[str]
) -> Callable[[int], int]:
    """A candidate whose every call takes ``speed[name]`` ms as it is then: a test changes it as the
    machine would."""
    return kernel(clock, name, iter(lambda: speed[name], None), calls)


def then(first: list[float], rest: float) -> Iterator[float]:
    """``first``, then ``rest`` forever."""
    return itertools.chain(first, itertools.repeat(rest))


def drive(tuned: Autotuned, n: int) -> None:
    for x in range(n):
        assert tuned(x) == x + 1


def test_noisy_start_settles_on_the_truly_faster_kernel() -> None:
    # "fast" truly takes 1.0 and "slow" 1.5, but fast's first two timings are disturbed (5.0, 4.0).
    # Round 1 alone would keep "slow"; the minimum over two rounds finds "fast".
    def script(rounds: int) -> tuple[Autotuned, list[str]]:
        clock, calls = FakeClock(), []
        fast = kernel(clock, "fast", then([5.0, 4.0], 1.0), calls)
        slow = kernel(clock, "slow", then([1.6, 1.5], 1.5), calls)
        return Autotuned([fast, slow], ["fast", "slow"], rounds=rounds, clock=clock), calls

    one_round, _ = script(rounds=1)
    drive(one_round, 4)
    assert one_round.chosen == 1  # a single noisy round is fooled

    tuned, calls = script(rounds=2)
    drive(tuned, 8)
    assert tuned.chosen == 0
    # Interleaved, the order rotating each round: each candidate twice per round.
    assert calls[:8] == ["fast", "slow"] * 2 + ["slow", "fast"] * 2
    drive(tuned, 20)
    assert calls[8:] == ["fast"] * 20  # decided: no more timing of "slow" (no check due yet)
    assert "fast" in tuned.describe() and "(kept)" in tuned.describe()


def test_blocks_time_each_candidate_in_a_row() -> None:
    clock, calls = FakeClock(), []
    first = kernel(clock, "first", itertools.repeat(3.0), calls)
    second = kernel(clock, "second", itertools.repeat(1.0), calls)
    tuned = Autotuned(
        [first, second], ["first", "second"], trials=3, rounds=1, blocks=True, clock=clock
    )
    drive(tuned, 8)
    assert calls == ["first"] * 3 + ["second"] * 5
    assert tuned.chosen == 1


def test_a_hopeless_candidate_is_pruned_after_two_timings() -> None:
    clock, calls = FakeClock(), []
    fast = kernel(clock, "fast", itertools.repeat(1.0), calls)
    slow = kernel(clock, "slow", itertools.repeat(5.0), calls)  # 5x: more than PRUNE times slower
    tuned = Autotuned([fast, slow], ["fast", "slow"], trials=2, rounds=3, clock=clock)
    drive(tuned, 30)
    assert calls.count("slow") == 2 and tuned.chosen == 0
    assert calls[:6] == ["fast", "slow", "fast", "slow", "fast", "fast"]


def test_measuring_stops_at_the_overhead_cap() -> None:
    clock, calls = FakeClock(), []
    fast = kernel(clock, "fast", itertools.repeat(1.0), calls)
    slow = kernel(clock, "slow", itertools.repeat(2 * tuning.MAX_OVERHEAD_S / MS), calls)
    tuned = Autotuned([fast, slow], ["fast", "slow"], trials=3, rounds=3, clock=clock)
    drive(tuned, 10)
    assert calls.count("slow") == 1  # its first timing alone exceeds the cap: decided at once
    assert tuned.chosen == 0 and calls[2:] == ["fast"] * 8


def test_one_slow_check_is_ignored_two_in_a_row_re_measure() -> None:
    clock, calls = FakeClock(), []
    fast = kernel(clock, "fast", itertools.repeat(1.0), calls)
    slow = kernel(clock, "slow", itertools.repeat(4.0), calls)  # no rival: never challenged
    tuned = Autotuned([fast, slow], ["fast", "slow"], clock=clock)
    drive(tuned, 8)
    assert tuned.chosen == 0
    clock.spikes = [9.0]  # the next check takes 10.0 (> DRIFT x 1.0); the one after is normal
    drive(tuned, 3 * tuning.RECHECK_CALLS)
    assert tuned.retunes == 0 and tuned.chosen == 0 and tuned.checks >= 3
    clock.spikes = [9.0, 9.0]  # two slow checks in a row: the choice is measured again
    drive(tuned, 3 * tuning.RECHECK_CALLS)
    assert tuned.retunes == 1 and tuned.chosen == 0  # same kernels, same ranking


def test_a_kernel_that_became_slow_is_replaced() -> None:
    clock, calls = FakeClock(), []
    speed = {"a": 1.0, "b": 1.5}

    tuned = Autotuned([live(clock, n, speed, calls) for n in "ab"], ["a", "b"], clock=clock)
    drive(tuned, 8)
    assert tuned.chosen == 0
    speed["a"] = 3.0  # the machine changed: "a" is now twice as slow as "b"
    drive(tuned, 4 * tuning.RECHECK_CALLS)
    assert tuned.retunes == 1 and tuned.chosen == 1


def test_a_rival_unlucky_at_the_start_wins_later() -> None:
    # All of "fast"'s measuring calls were disturbed (2.0 instead of 1.0): "slow" (1.5) is kept at
    # first. "fast" stays a rival (within RIVAL), is timed again at a challenge, and takes over.
    clock, calls = FakeClock(), []
    fast = kernel(clock, "fast", then([2.0] * 4, 1.0), calls)
    slow = kernel(clock, "slow", itertools.repeat(1.5), calls)
    tuned = Autotuned([fast, slow], ["fast", "slow"], clock=clock)
    drive(tuned, 8)
    assert tuned.chosen == 1
    drive(tuned, (tuning.CHALLENGE_EVERY + 2) * tuning.RECHECK_CALLS)
    assert tuned.retunes == 1 and tuned.chosen == 0


def test_retunes_are_capped() -> None:
    clock, calls = FakeClock(), []
    speed = {"a": 1.0, "b": 1.0}

    tuned = Autotuned([live(clock, n, speed, calls) for n in "ab"], ["a", "b"], clock=clock)
    drive(tuned, 8)
    for _ in range(tuning.MAX_RETUNES + 3):  # the load keeps doubling: every check drifts
        speed["a"] *= 3
        speed["b"] *= 3
        drive(tuned, 200 * tuning.RECHECK_CALLS)
    assert tuned.retunes == tuning.MAX_RETUNES


def test_tuning_off_uses_the_default_and_never_reads_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_clock() -> float:
        raise AssertionError("the clock was read with tuning off")

    monkeypatch.setenv(tuning.ENV_VAR, "0")
    calls: list[str] = []
    clock = FakeClock()
    a = kernel(clock, "a", itertools.repeat(1.0), calls)
    b = kernel(clock, "b", itertools.repeat(0.1), calls)
    tuned = Autotuned([a, b], ["a", "b"], default=0, clock=no_clock)
    drive(tuned, 50)
    assert calls == ["a"] * 50 and tuned.chosen == 0 and tuned.decision() is None
    assert tuned.describe() == f"tuning off ({tuning.ENV_VAR}=0): a (default)"
    for value in ("off", "FALSE", " no "):
        monkeypatch.setenv(tuning.ENV_VAR, value)
        assert not tuning.tuning_enabled()
    monkeypatch.setenv(tuning.ENV_VAR, "1")
    assert tuning.tuning_enabled()


def test_decisions_are_shared_by_key() -> None:
    forget_decisions()
    key = ("test", "shared-decision")
    clock, calls = FakeClock(), []
    a = kernel(clock, "a", itertools.repeat(2.0), calls)
    b = kernel(clock, "b", itertools.repeat(1.0), calls)
    first = Autotuned([a, b], ["a", "b"], key=key, clock=clock)
    fresh = Autotuned([a, b], ["a", "b"], key=key, clock=clock)
    assert fresh.describe() == "tuned on the first calls: a, b"
    drive(first, 8)
    decision = recall(key)
    assert decision is not None and decision.chosen == 1
    assert decision.times == pytest.approx((2 * MS, MS))
    assert fresh.describe() == "tuned: b 1.00 ms (kept) vs a 2.00 ms"  # reads the shared one
    calls.clear()
    late = Autotuned([a, b], ["a", "b"], key=key, clock=clock)
    assert late.chosen == 1
    drive(late, 5)
    assert calls == ["b"] * 5  # adopted: nothing timed
    other = Autotuned([a, b], ["b", "a"], key=key, clock=clock)  # other names: not the same step
    assert other.chosen is None
    forget_decisions()
    assert recall(key) is None


def test_concurrent_calls_while_measuring() -> None:
    lock = threading.Lock()
    counts = {"a": 0, "b": 0}

    def make(name: str) -> Callable[[int], int]:
        def run(x: int) -> int:
            with lock:
                counts[name] += 1
            return x + 1

        return run

    tuned = Autotuned([make("a"), make("b")], ["a", "b"], trials=5, rounds=3)
    errors: list[str] = []

    def work() -> None:
        for x in range(300):
            if tuned(x) != x + 1:
                errors.append("wrong")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and counts["a"] + counts["b"] == 1200
    assert tuned.chosen in (0, 1)


def test_a_candidate_that_raises_leaves_the_race() -> None:
    clock, calls = FakeClock(), []
    ok = kernel(clock, "ok", itertools.repeat(1.0), calls)

    def bad(x: int) -> int:
        calls.append("bad")
        raise MemoryError("scripted")

    tuned = Autotuned([ok, bad], ["ok", "bad"], clock=clock, enabled=True)
    outcomes = []
    for x in range(12):
        try:
            outcomes.append(tuned(x) == x + 1)
        except MemoryError:
            outcomes.append(False)
    assert outcomes.count(False) == 1  # "bad" raised once, then was never called again
    assert calls.count("bad") == 1
    assert tuned.chosen == 0 and tuned.decision() is not None
    assert tuned.decision().times[1] is None  # type: ignore[union-attr]


def test_when_every_candidate_raises_the_default_is_kept() -> None:
    calls: list[str] = []

    def make(name: str) -> Callable[[int], int]:
        def run(x: int) -> int:
            calls.append(name)
            if len(calls) <= 2:
                raise MemoryError(name)
            return x + 1

        return run

    tuned = Autotuned(
        [make("a"), make("b")], ["a", "b"], default=1, clock=FakeClock(), enabled=True
    )
    for name in ("a", "b"):
        with pytest.raises(MemoryError, match=name):
            tuned(0)
    drive(tuned, 50)
    assert calls[2:] == ["b"] * 50 and tuned.chosen == 1


def test_a_rival_that_raises_on_a_check_is_dropped() -> None:
    clock, calls = FakeClock(), []
    steps = then([1.0] * 4, 1.0)
    good = kernel(clock, "good", steps, calls)
    rival_runs = {"n": 0}

    def rival(x: int) -> int:
        rival_runs["n"] += 1
        calls.append("rival")
        if rival_runs["n"] > 4:  # fine while measured (4 timings), raises on a later challenge
            raise MemoryError("rival")
        clock.now += 1.2 * MS
        return x + 1

    tuned = Autotuned([good, rival], ["good", "rival"], clock=clock)
    drive(tuned, 8)
    assert tuned.chosen == 0
    raised = 0
    for x in range(3 * tuning.CHALLENGE_EVERY * 64 * tuning.RECHECK_CALLS):
        try:
            assert tuned(x) == x + 1
        except MemoryError:
            raised += 1
    assert raised == 1 and rival_runs["n"] == 5 and tuned.chosen == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_decision_table_lock_is_fresh_in_a_forked_child() -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with tuning._DECISIONS_LOCK:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        pid = os.fork()
        if pid == 0:  # child: the holder thread does not exist here; a stale lock would hang
            signal.alarm(20)
            forget_decisions()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        holder.join()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="one name per candidate"):
        Autotuned([abs], ["a", "b"])
    with pytest.raises(ValueError, match="at least one trial"):
        Autotuned([abs], ["a"], trials=0)
    with pytest.raises(ValueError, match="at least one trial"):
        Autotuned([abs], ["a"], rounds=0)
    with pytest.raises(ValueError, match="default=2"):
        Autotuned([abs, abs], ["a", "b"], default=2)


RNG = np.random.default_rng(0)
# Each is tuned: a large pre-step sum, a matrix-vector product, long batched dot products, a batched
# matrix-vector product.
TUNED = [
    ("ijkl->ik", [(16, 32, 64, 40)], ["blas", "sum", "c-loop"]),
    ("ijk,i->jk", [(64, 128, 160), (64,)], ["matmul", "c-loop"]),
    ("ijk,ijk->i", [(8, 64, 2048), (8, 64, 2048)], ["matmul", "vecdot", "c-loop"]),
    ("bij,bj->bi", [(16, 256, 300), (16, 300)], ["matmul", "c-loop"]),
]


@pytest.mark.parametrize(("subscripts", "shapes", "names"), TUNED)
def test_every_candidate_of_a_tuned_step_agrees(
    subscripts: str, shapes: list[tuple[int, ...]], names: list[str]
) -> None:
    ops = [RNG.standard_normal(s) for s in shapes]
    want = np.einsum(subscripts, *ops, optimize=True)
    _, info = einsum_path(subscripts, *ops)
    (step,) = info.steps
    assert step.tuner is not None and list(step.tuner.names) == names
    for name, candidate in zip(step.tuner.names, step.tuner.candidates, strict=True):
        got = candidate(*ops)
        assert got.shape == want.shape, name
        np.testing.assert_allclose(
            got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max(), err_msg=name
        )


def test_tuned_large_sum_and_dot_are_correct_on_every_call() -> None:
    y = RNG.standard_normal((16, 32, 64, 40))  # 1.3 M elements: tuned
    x = RNG.standard_normal((8, 64, 2048))  # dots of length 131072: BLAS, vecdot or the C loop
    want_sum = y.sum(axis=(1, 3))
    want_dot = np.einsum("ijk,ijk->i", x, x)
    for _ in range(16):  # measuring calls, then the chosen kernel
        np.testing.assert_allclose(einsum("ijkl->ik", y), want_sum, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(einsum("ijk,ijk->i", x, x), want_dot, rtol=1e-10)


def test_report_shows_the_decision() -> None:
    forget_decisions()
    PLAN_CACHE.clear()
    y = RNG.standard_normal((16, 32, 64, 40))
    before = str(einsum_path("ijkl->ki", y)[1])
    assert "tuned on the first calls: blas, sum, c-loop" in before
    for _ in range(16):
        einsum("ijkl->ki", y)
    after = str(einsum_path("ijkl->ki", y)[1])  # a new plan: it adopts the decision of the first
    line = next(s.strip() for s in after.splitlines() if "tuned:" in s)
    number = r"[0-9.]+ (?:ms|µs)"
    kernel_name = r"(?:blas|sum|c-loop)"
    pattern = (
        rf"tuned: {kernel_name} {number} \(kept\)( vs {kernel_name} ({number}|\(not timed\))){{2}}"
    )
    assert re.fullmatch(pattern, line), line


def test_tuning_off_gives_the_default_kernel_bit_for_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tuning.ENV_VAR, "0")
    PLAN_CACHE.clear()
    try:
        y = RNG.standard_normal((16, 32, 64, 40))
        _, info = einsum_path("ijkl->ik", y)
        tuner = info.steps[0].tuner
        assert tuner is not None and tuner.chosen == 0 and tuner.names[0] == "blas"
        assert f"tuning off ({tuning.ENV_VAR}=0): blas (default)" in str(info)
        want = tuner.candidates[0](y)
        for _ in range(16):
            np.testing.assert_array_equal(einsum("ijkl->ik", y), want)
    finally:
        PLAN_CACHE.clear()  # plans built with tuning off stay off


def test_batched_matrix_vector_steps_also_time_the_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SPLIT_MIN_FLOPS", 0)  # small arrays may take the split kernel
    monkeypatch.setattr(parallel, "_cpu_count", lambda: 2)
    PLAN_CACHE.clear()
    try:
        a, v = RNG.standard_normal((16, 256, 300)), RNG.standard_normal((16, 300))
        want = np.einsum("bij,bj->bi", a, v)
        _, info = einsum_path("bij,bj->bi", a, v)
        tuner = info.steps[0].tuner
        assert tuner is not None and tuner.names == ("split", "matmul", "c-loop")
        assert tuner.blocks and tuner.default == 1
        for name, candidate in zip(tuner.names, tuner.candidates, strict=True):
            np.testing.assert_allclose(candidate(a, v), want, rtol=1e-12, atol=1e-12, err_msg=name)
        for _ in range(20):
            np.testing.assert_allclose(einsum("bij,bj->bi", a, v), want, rtol=1e-12, atol=1e-12)
    finally:
        PLAN_CACHE.clear()


def test_c_loop_kernel_sums_lone_labels_and_declines_what_it_cannot_run() -> None:
    a, b = RNG.standard_normal((3, 4, 5)), RNG.standard_normal((4, 6))
    pair = c_loop([("i", "j", "x"), ("j", "k")], ("k", "i"))  # x is summed inside the loop
    assert pair is not None
    np.testing.assert_allclose(pair(a, b), np.einsum("ijx,jk->ki", a, b), rtol=1e-13)
    single = c_loop([(0, 1, 2)], (2,))
    assert single is not None
    np.testing.assert_allclose(single(a), a.sum(axis=(0, 1)), rtol=1e-13)
    assert c_loop([tuple(range(53))], (0,)) is None  # more labels than NumPy's loop takes
    assert c_loop([("i",), ("i",), ("i",)], ()) is None  # steps have one or two operands
