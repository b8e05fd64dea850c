"""Measured kernel choice: time equivalent kernels on a plan's first calls, keep the fastest, re-check it.

Some steps have several good NumPy kernels whose ranking depends on the machine rather than on the
shapes: a sum or a long batched dot product can go through BLAS (gemv/ddot, multithreaded), through
NumPy's reductions, or through NumPy's own C einsum loop (``numpy.einsum(..., optimize=False)``). BLAS
wins on an idle Intel machine with several cores; on a loaded one, or on another CPU, a single-threaded
loop can win. :class:`Autotuned` measures instead of guessing.

How a tuner measures (robust to a noisy start):

- **Rounds**: ``rounds`` rounds; in each, every candidate still in the race is timed ``trials`` times,
  interleaved (the order rotates each round) or, with ``blocks=True``, each for all its trials before the
  next one. A candidate's figure is the **minimum** of its timings: the least disturbed one.
- **Pruning**: a candidate whose minimum over at least two timings is more than :data:`PRUNE` times the
  best one's leaves the race (it is not timed again).
- **Overhead cap**: once the measuring calls have cost :data:`MAX_OVERHEAD_S` seconds more than the
  fastest kernel would have, the tuner decides with what it has.
- **Re-check**: after the decision, every :data:`RECHECK_CALLS`-th call is timed. A kept kernel that runs
  more than :data:`DRIFT` times slower than its recorded time on two checks in a row, or a rival (a
  candidate within :data:`RIVAL` of it) that is timed once every :data:`CHALLENGE_EVERY` checks and runs
  faster than :data:`MARGIN` times the kept kernel's recorded time, starts a new measurement, at most
  :data:`MAX_RETUNES` times per tuner (each one doubles the re-check interval).

Between checks a decided tuner costs two attribute reads, one write (a countdown) and the kernel call.
Decisions are remembered per step (``key``: the step's kind, shapes, axes and dtype) in a bounded table
(4096 steps, the oldest dropped first), so
a plan built again for the same step (another ``einsum_path``, an evicted cache entry) starts decided, and
``einsum_path``'s report prints the timings (:meth:`Autotuned.describe`).

Reproducible runs: with the environment variable ``CHAINRULE_EINSUM_TUNE=0`` (read when a plan is built)
nothing is timed and every step uses its documented default kernel (``default``).

Failures: a candidate that raises while timed passes the exception to the caller and leaves the race for
good (the next call times the next candidate); when every candidate has raised, the tuner keeps the default
untimed and nothing is remembered.

Thread safety: measuring and re-checking take a per-tuner lock without waiting; a call that finds it held
runs the current choice untimed. While tuning, successive calls may use different kernels, so their results
can differ in the last bits of floating-point rounding.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from chainrule._env import switched_on

__all__ = [
    "CHALLENGE_EVERY",
    "DRIFT",
    "ENV_VAR",
    "MARGIN",
    "MAX_OVERHEAD_S",
    "MAX_RETUNES",
    "PRUNE",
    "RECHECK_CALLS",
    "RIVAL",
    "TUNE_MIN_ELEMENTS",
    "Autotuned",
    "Decision",
    "forget_decisions",
    "recall",
    "tuning_enabled",
]

#: Steps that read at least this many elements are tuned.
TUNE_MIN_ELEMENTS = 1 << 20

#: The environment variable that turns tuning off (``0``, ``off``, ``false`` or ``no``).
ENV_VAR = "CHAINRULE_EINSUM_TUNE"

#: A candidate slower than this many times the best (minima over two timings or more) stops being timed.
PRUNE = 3.0
#: Measuring stops once it has cost this many seconds more than the fastest candidate would have.
MAX_OVERHEAD_S = 0.5
#: A decided tuner times one call in this many (doubled by each re-measurement, up to 64 times this).
RECHECK_CALLS = 32
#: A kept kernel slower than this many times its recorded time (two checks in a row) is re-measured.
DRIFT = 2.0
#: Candidates within this factor of the kept one are rivals, timed once every CHALLENGE_EVERY checks.
RIVAL = 2.5
#: Every this-many-th check times a rival instead of the kept kernel.
CHALLENGE_EVERY = 8
#: A rival faster than this fraction of the kept kernel's recorded time starts a re-measurement.
MARGIN = 0.85
#: At most this many re-measurements per tuner.
MAX_RETUNES = 4

_MAX_DECISIONS = 4096


def tuning_enabled() -> bool:
    """False when :data:`ENV_VAR` is ``0``, ``off``, ``false`` or ``no`` (any case); True otherwise."""
    return switched_on(ENV_VAR)


@dataclass(frozen=True)
class Decision:
    """A tuner's decision: candidate names, the best time of each (seconds; None: never timed), the pick."""

    names: tuple[str, ...]
    times: tuple[float | None, ...]
    chosen: int


_DECISIONS: OrderedDict[Hashable, Decision] = OrderedDict()
_DECISIONS_LOCK = threading.Lock()


def _reset_lock_after_fork() -> None:
    # A forked child has only the forking thread: a lock another parent thread held stays held forever.
    global _DECISIONS_LOCK
    _DECISIONS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_after_fork)


def _remember(key: Hashable, decision: Decision) -> None:
    with _DECISIONS_LOCK:
        _DECISIONS[key] = decision
        _DECISIONS.move_to_end(key)
        while len(_DECISIONS) > _MAX_DECISIONS:
            _DECISIONS.popitem(last=False)


def recall(key: Hashable) -> Decision | None:
    """The latest decision of a tuner built with ``key``, or None."""
    return _DECISIONS.get(key)


def forget_decisions() -> None:
    """Drop every remembered decision (plans built afterwards measure again)."""
    with _DECISIONS_LOCK:
        _DECISIONS.clear()


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


class Autotuned:
    """Call one of several equivalent kernels; measure them on the first calls, keep the fastest.

    Args:
        candidates: kernels computing the same result (within floating-point rounding) from the same
            arguments.
        names: a name per candidate, for reports.
        default: the candidate used when tuning is off (:data:`ENV_VAR`), and while another thread
            measures.
        trials: timings per candidate per round (at least 1).
        rounds: measuring rounds (at least 1).
        blocks: time each candidate ``trials`` times in a row instead of interleaving them.
        key: the step's identity; a decision is remembered under it and adopted by later tuners.
        clock: seconds as a float (``time.perf_counter``; tests inject a scripted clock).
        enabled: tuning on or off; None reads :data:`ENV_VAR`.

    Attributes:
        chosen: the index of the kept candidate, or None while measuring.
        times: the timings of the current measurement, per candidate.
        retunes: re-measurements started by drift or by a faster rival.

    Raises:
        ValueError: no candidate, a name count that differs, ``default`` out of range, or ``trials`` or
            ``rounds`` below 1.
    """

    def __init__(
        self,
        candidates: Sequence[Callable[..., Any]],
        names: Sequence[str],
        *,
        default: int = 0,
        trials: int = 2,
        rounds: int = 2,
        blocks: bool = False,
        key: Hashable | None = None,
        clock: Callable[[], float] = time.perf_counter,
        enabled: bool | None = None,
    ) -> None:
        if len(candidates) != len(names) or not candidates:
            raise ValueError("Autotuned needs one name per candidate and at least one candidate")
        if trials < 1 or rounds < 1:
            raise ValueError(
                f"Autotuned needs at least one trial and one round, got trials={trials}, "
                f"rounds={rounds}"
            )
        if not 0 <= default < len(candidates):
            raise ValueError(
                f"default={default} is not a candidate index (0..{len(candidates) - 1})"
            )
        self.candidates = tuple(candidates)
        self.names = tuple(names)
        self.default = default
        self.trials = trials
        self.rounds = rounds
        self.blocks = blocks
        self.key = key
        self.clock = clock
        self.enabled = tuning_enabled() if enabled is None else enabled
        self.chosen: int | None = None
        self.times: list[list[float]] = [[] for _ in self.candidates]
        self.retunes = 0
        self.checks = 0
        self._lock = threading.Lock()
        # Invariant: _best is always callable (calls racing with a state change may still read it);
        # _left > 0 only once decided.
        self._best: Callable[..., Any] = self.candidates[default]
        self._left = 0
        self._interval = RECHECK_CALLS
        self._ref = 0.0
        self._strikes = 0
        self._rivals: tuple[int, ...] = ()
        self._best_times: tuple[float | None, ...] = (None,) * len(self.candidates)
        self._live = list(range(len(self.candidates)))
        self._failed: set[int] = set()
        self._round = 0
        self._queue = self._schedule()
        if not self.enabled:
            self.chosen = default
            self._left = sys.maxsize
            return
        if key is not None:
            known = recall(key)
            if known is not None and known.names == self.names:
                self._adopt(known)

    # ------------------------------------------------------------------------------- the hot path

    def __call__(self, *args: Any) -> Any:
        left = self._left
        if left:
            self._left = left - 1
            return self._best(*args)
        return self._slow(args)

    def _slow(self, args: tuple[Any, ...]) -> Any:
        if not self._lock.acquire(blocking=False):
            return self._best(*args)  # another thread measures: run the current choice, untimed
        try:
            if self._left:  # decided by another thread meanwhile
                return self._best(*args)
            if self.chosen is None:
                return self._measure(args)
            return self._check(args)
        finally:
            self._lock.release()

    def _timed(self, k: int, args: tuple[Any, ...]) -> tuple[Any, float]:
        clock = self.clock
        t0 = clock()
        result = self.candidates[k](*args)
        return result, clock() - t0

    # ------------------------------------------------------------------------------- measuring

    def _schedule(self) -> list[int]:
        """The order of the current round's timed calls."""
        live = self._live
        if self.blocks:
            return [k for k in live for _ in range(self.trials)]
        r = self._round % len(live)
        rotated = live[r:] + live[:r]
        return rotated * self.trials

    def _measure(self, args: tuple[Any, ...]) -> Any:
        k = self._queue.pop(0)
        try:
            result, dt = self._timed(k, args)
        except Exception:
            self._drop(k)  # the exception reaches the caller; the race goes on without k
            raise
        except BaseException:
            self._queue.insert(0, k)  # interrupted (KeyboardInterrupt...): k keeps its slot
            raise
        self.times[k].append(dt)
        self._prune()
        self._advance()
        return result

    def _advance(self) -> None:
        """Start the next round once the queue is empty; decide after the last round or at the cap."""
        if not self._queue:
            self._round += 1
            if self._round < self.rounds:
                self._queue = self._schedule()
        if not self._queue or self._over_budget():
            self._decide()

    def _drop(self, k: int) -> None:
        """Take candidate ``k`` (it raised) out of the race; with none left, settle on the default."""
        self._failed.add(k)
        self._live = [j for j in self._live if j != k]
        self._queue = [j for j in self._queue if j != k]
        self.times[k] = []
        if not self._live:
            self._give_up()
            return
        self._advance()

    def _prune(self) -> None:
        settled = [min(self.times[k]) for k in self._live if len(self.times[k]) >= 2]
        if not settled:
            return
        best = min(settled)
        slow = [
            k for k in self._live if len(self.times[k]) >= 2 and min(self.times[k]) > PRUNE * best
        ]
        if slow:
            self._live = [k for k in self._live if k not in slow]
            self._queue = [k for k in self._queue if k not in slow]

    def _over_budget(self) -> bool:
        if any(not self.times[k] for k in self._live):
            return False
        samples = [t for ts in self.times for t in ts]
        best = min(min(self.times[k]) for k in self._live)
        return sum(samples) - best * len(samples) > MAX_OVERHEAD_S

    def _decide(self) -> None:
        mins = {k: min(self.times[k]) for k in self._live if self.times[k]}
        if not mins:
            self._give_up()
            return
        chosen = min(mins, key=lambda k: mins[k])
        self._best_times = tuple(min(ts) if ts else None for ts in self.times)
        self._settle(chosen)
        if self.key is not None:
            _remember(self.key, Decision(self.names, self._best_times, chosen))

    def _give_up(self) -> None:
        """Every candidate raised: use the default from now on, untimed and not remembered."""
        self._best_times = (None,) * len(self.candidates)
        self._settle(self.default)
        self._rivals = ()
        self._left = sys.maxsize

    def _adopt(self, known: Decision) -> None:
        self._best_times = known.times
        self._settle(known.chosen)

    def _settle(self, chosen: int) -> None:
        ref = self._best_times[chosen]
        self._ref = ref if ref is not None else 0.0
        self._rivals = tuple(
            k
            for k, t in enumerate(self._best_times)
            if k != chosen and t is not None and t < RIVAL * self._ref
        )
        self._strikes = 0
        self._best = self.candidates[chosen]
        self.chosen = chosen
        self._left = self._interval

    # ------------------------------------------------------------------------------- re-checking

    def _check(self, args: tuple[Any, ...]) -> Any:
        assert self.chosen is not None
        self.checks += 1
        if self._rivals and not self._strikes and self.checks % CHALLENGE_EVERY == 0:
            rival = self._rivals[(self.checks // CHALLENGE_EVERY) % len(self._rivals)]
            try:
                result, dt = self._timed(rival, args)
            except Exception:
                self._failed.add(rival)
                self._rivals = tuple(j for j in self._rivals if j != rival)
                self._left = self._interval
                raise
            if dt < MARGIN * self._ref:
                self._retune(dt)
            else:
                self._left = self._interval
            return result
        result, dt = self._timed(self.chosen, args)
        if dt > DRIFT * self._ref:
            self._strikes += 1
            if self._strikes >= 2:
                self._retune(dt)
            # else: _left stays 0, so the next call checks again
        else:
            self._strikes = 0
            self._ref = min(self._ref, dt)
            self._left = self._interval
        return result

    def _retune(self, dt: float) -> None:
        """Measure again (or, after MAX_RETUNES, accept ``dt`` as the kept kernel's new time)."""
        self._strikes = 0
        if self.retunes >= MAX_RETUNES:
            self._ref = max(self._ref, dt)
            self._rivals = ()
            self._left = self._interval
            return
        self.retunes += 1
        self._interval = min(2 * self._interval, 64 * RECHECK_CALLS)
        self.times = [[] for _ in self.candidates]
        self._live = [k for k in range(len(self.candidates)) if k not in self._failed]
        self._round = 0
        self._queue = self._schedule()
        self.chosen = None  # _best stays the previous choice (racing calls may still read it)

    # ------------------------------------------------------------------------------- reports

    def decision(self) -> Decision | None:
        """This tuner's decision (names, best times, pick); None while measuring or when tuning is off."""
        if self.chosen is None or not self.enabled:
            return None
        return Decision(self.names, self._best_times, self.chosen)

    def describe(self) -> str:
        """One line for reports: ``"tuned: blas 3.90 ms (kept) vs sum 5.10 ms vs c-loop 5.20 ms"``.

        While this tuner still measures, the decision another plan made for the same step (same ``key``)
        is shown; without one, the candidates that the first calls will time.
        """
        if not self.enabled:
            return f"tuning off ({ENV_VAR}=0): {self.names[self.default]} (default)"
        decision = self.decision()
        if decision is None and self.key is not None:
            decision = recall(self.key)
            if decision is not None and decision.names != self.names:
                decision = None
        if decision is None:
            return "tuned on the first calls: " + ", ".join(self.names)
        order = [decision.chosen] + [k for k in range(len(self.names)) if k != decision.chosen]
        parts = []
        for k in order:
            t = decision.times[k]
            text = f"{self.names[k]} {_fmt(t)}" if t is not None else f"{self.names[k]} (not timed)"
            parts.append(text + (" (kept)" if k == decision.chosen else ""))
        return "tuned: " + " vs ".join(parts)
