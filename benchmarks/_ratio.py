"""One format for every ratio line of ``make bench``: median ratio, its spread, and a noisy mark.

A benchmark times ours and the anchor in interleaved repeats (ours, anchor, ours, anchor, ...), so
repeat ``i`` of each ran under the same machine conditions. The ratio of repeat ``i`` is
``ours[i] / anchor[i]``; the line quotes the median of those ratios with their minimum and maximum.
The *spread* is ``(max - min) / median``; above :data:`NOISY_SPREAD` (10 %) the line is marked
``NOISY``: it is not a result, and the figure must be taken again on a quieter machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NOISY_SPREAD", "Ratio", "interleaved", "ratio", "ratio_line", "ratio_text"]

#: Above this relative spread ((max - min) / median of the per-repeat ratios) a ratio is noisy.
NOISY_SPREAD = 0.10


@dataclass(frozen=True)
class Ratio:
    """Per-repeat ratios ours/anchor summarised: median, min, max, and whether the spread is noisy."""

    median: float
    lo: float
    hi: float

    @property
    def spread(self) -> float:
        """``(hi - lo) / median``: 0.0 for identical repeats."""
        return (self.hi - self.lo) / self.median if self.median > 0 else float("inf")

    @property
    def noisy(self) -> bool:
        """True when the spread is above :data:`NOISY_SPREAD`."""
        return self.spread > NOISY_SPREAD

    def __str__(self) -> str:
        mark = f"  NOISY (spread {self.spread:.0%})" if self.noisy else ""
        return f"{self.median:.2f}x ({self.lo:.2f}-{self.hi:.2f}){mark}"


def ratio(ours: Sequence[float], anchor: Sequence[float]) -> Ratio:
    """Summarise paired timings. Raises ValueError when the lengths differ or are zero."""
    if len(ours) != len(anchor) or not ours:
        raise ValueError(f"ratio: need paired timings, got {len(ours)} and {len(anchor)}")
    rs = [o / a for o, a in zip(ours, anchor, strict=True)]
    return Ratio(statistics.median(rs), min(rs), max(rs))


def ratio_text(ours: Sequence[float], anchor: Sequence[float] | None, name: str = "anchor") -> str:
    """``"0.71x (0.60-0.74)"``, with the noisy mark, or a skip note when the anchor is missing."""
    if anchor is None:
        return f"{name}: skipped (not installed)"
    return str(ratio(ours, anchor))


def _ms(times: Sequence[float]) -> str:
    return f"{statistics.median(times) * 1e3:9.3f} ms"


def ratio_line(
    label: str, ours: Sequence[float], anchor: Sequence[float] | None, name: str, width: int = 38
) -> str:
    """One result line: ``label``, our median time, the anchor's, and :func:`ratio_text`."""
    head = f"{label:<{width}}{_ms(ours)}"
    if anchor is None:
        return f"{head}   {name}: skipped (not installed)"
    return f"{head}   {name} {_ms(anchor)}   ratio {ratio(ours, anchor)}"


def _best_of(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def interleaved(
    ours: Callable[[], Any],
    anchor: Callable[[], Any],
    repeats: int = 7,
    budget: float = 0.05,
) -> tuple[list[float], list[float]]:
    """Time both callables in alternating repeats; each repeat runs enough calls to last ``budget``
    seconds (calibrated once on ``ours``) and records the mean seconds per call."""
    ours()
    anchor()
    start = time.perf_counter()
    ours()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(budget / once))
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(repeats):
        mine.append(_best_of(ours, number))
        theirs.append(_best_of(anchor, number))
    return mine, theirs
