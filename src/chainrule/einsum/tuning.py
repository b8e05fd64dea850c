"""Measured kernel choice: time equivalent kernels on a plan's first calls, then keep the fastest.

Some steps have two good NumPy kernels whose ranking depends on the machine rather than on the shapes:
a sum or a long batched dot product can go through BLAS (gemv/ddot, multithreaded) or through NumPy's own
single-threaded loops. BLAS wins on an idle machine with several cores; on a loaded one its threads wait
for each other and the single-threaded loop wins. :class:`Autotuned` measures instead of guessing.

Only large NumPy steps are tuned (NumPy calls are synchronous, so wall-clock timing is meaningful; small
steps are not worth it). Candidates are timed in turn (round-robin), or each for all its trials before the
next one (``blocks=True``): a kernel that needs both cores measures badly right after a multithreaded BLAS
call, whose idle worker threads keep spinning for a while, so the split batched matmul is timed first. While tuning, successive calls may use different kernels, so their results can
differ in the last bits of floating-point rounding; once decided, a plan always uses the same kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["TUNE_MIN_ELEMENTS", "Autotuned"]

#: Steps that read at least this many elements are tuned.
TUNE_MIN_ELEMENTS = 1 << 20


class Autotuned:
    """Call one of several equivalent kernels; the first ``trials`` rounds time each, then the fastest stays.

    With ``blocks=True`` the first candidate is timed ``trials`` times in a row, then the second, and so on.

    Attributes:
        names: a name per candidate, for reports.
        chosen: the index of the kept candidate, or None while still measuring.
    """

    def __init__(
        self,
        candidates: Sequence[Callable[..., Any]],
        names: Sequence[str],
        trials: int = 3,
        blocks: bool = False,
    ) -> None:
        if len(candidates) != len(names) or not candidates:
            raise ValueError("Autotuned needs one name per candidate and at least one candidate")
        if trials < 1:
            raise ValueError(f"Autotuned needs at least one trial per candidate, got {trials}")
        self.candidates = tuple(candidates)
        self.names = tuple(names)
        self.trials = trials
        self.blocks = blocks
        self._times: list[list[float]] = [[] for _ in candidates]
        self._calls = 0
        self._best: Callable[..., Any] | None = None
        self.chosen: int | None = None

    def __call__(self, *args: Any) -> Any:
        best = self._best
        if best is not None:
            return best(*args)
        k = self._calls // self.trials if self.blocks else self._calls % len(self.candidates)
        k = min(k, len(self.candidates) - 1)
        self._calls += 1
        t0 = time.perf_counter()
        result = self.candidates[k](*args)
        self._times[k].append(time.perf_counter() - t0)
        if all(len(ts) >= self.trials for ts in self._times):
            # Min over trials: the least disturbed measurement of each kernel.
            chosen = min(range(len(self.candidates)), key=lambda i: min(self._times[i]))
            self.chosen = chosen
            self._best = self.candidates[chosen]
        return result
