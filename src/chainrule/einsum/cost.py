"""The cost model and path helpers shared by every optimizer.

A *path* uses opt_einsum's (and NumPy's) convention: a list of tuples of positions into the current list of
operands; the operands at those positions are removed and their contraction is appended at the end.

Costs use opt_einsum's model (:func:`flop_count`), so a path found here can be compared with opt_einsum's:
a step over the index set ``I`` of ``t`` terms costs ``prod(size[I]) * (max(1, t - 1) + inner)``, where
``inner`` is 1 when the step sums some index away.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Collection, Hashable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "InvalidPathError",
    "LabelSet",
    "Path",
    "contraction_steps",
    "flop_count",
    "left_to_right",
    "path_cost",
    "size_of",
    "ssa_to_linear",
    "validate_path",
]

Path = list[tuple[int, ...]]


class InvalidPathError(ValueError, RuntimeError):
    """An explicit path that cannot be followed. A ValueError (opt_einsum's and chainrule's convention)
    that is also a RuntimeError, which is what ``numpy.einsum`` raises for it."""


LabelSet = frozenset[Hashable]


def size_of(labels: Collection[Hashable], sizes: dict[Hashable, int]) -> int:
    """The number of elements of a tensor with the given labels."""
    return math.prod(sizes[x] for x in labels)


def flop_count(
    indices: Collection[Hashable], inner: bool, num_terms: int, sizes: dict[Hashable, int]
) -> int:
    """opt_einsum's FLOP model for one step over ``indices`` combining ``num_terms`` terms."""
    factor = max(1, num_terms - 1) + (1 if inner else 0)
    return size_of(indices, sizes) * factor


def contraction_steps(
    inputs: Sequence[LabelSet], output: LabelSet, path: Path
) -> list[tuple[tuple[int, ...], LabelSet, bool, LabelSet]]:
    """Replay ``path``: per step (positions, result labels, inner, all indices involved)."""
    terms = list(inputs)
    # How many remaining terms hold each label: a label survives a step when the output or another
    # remaining term needs it.
    count: dict[Hashable, int] = {}
    for t in terms:
        for x in t:
            count[x] = count.get(x, 0) + 1
    out = []
    for step in path:
        chosen = [terms[i] for i in step]
        for i in sorted(step, reverse=True):
            terms.pop(i)
        union: LabelSet = frozenset().union(*chosen)
        for t in chosen:
            for x in t:
                count[x] -= 1
        result = frozenset(x for x in union if x in output or count[x] > 0)
        for x in result:
            count[x] += 1
        terms.append(result)
        out.append((tuple(step), result, len(result) < len(union), union))
    return out


def path_cost(
    inputs: Sequence[LabelSet], output: LabelSet, sizes: dict[Hashable, int], path: Path
) -> tuple[int, int]:
    """(total FLOPs in opt_einsum's model, largest intermediate in elements) of ``path``."""
    total = 0
    largest = 0
    for step, result, inner, union in contraction_steps(inputs, output, path):
        total += flop_count(union, inner, len(step), sizes)
        largest = max(largest, size_of(result, sizes))
    return total, largest


def ssa_to_linear(ssa_path: Sequence[tuple[int, ...]], n: int) -> Path:
    """Convert a path of single-assignment ids (new terms get ids n, n+1, ...) to positions."""
    alive = list(range(n))
    next_id = n
    out: Path = []
    for step in ssa_path:
        positions = tuple(sorted(alive.index(i) for i in step))
        for p in sorted(positions, reverse=True):
            alive.pop(p)
        alive.append(next_id)
        next_id += 1
        out.append(positions)
    return out


def left_to_right(n: int) -> Path:
    """Contract the operands in the given order: ((0, 1), (0, 1), ...)."""
    if n <= 1:
        return [(0,)] if n == 1 else []
    return [(0, 1)] * (n - 1)


def _position(p: Any) -> int:
    """An operand position: an integer (NumPy's too), never a bool or a float. Raises TypeError."""
    if isinstance(p, (bool, np.bool_)):
        raise TypeError(p)
    return operator.index(p)


def validate_path(path: Any, n: int) -> Path:
    """Check an explicit path (NumPy's ``['einsum_path', (0, 1), ...]`` form accepted) for ``n`` operands.

    Raises:
        InvalidPathError: (a ValueError) the path is not a sequence of steps (None, a number), a step is
            not a sequence of integer positions (a float or a bool is refused, never truncated), names a
            position that does not exist or one twice, or the path does not end with exactly one
            operand.
    """
    if isinstance(path, (str, bytes)):
        raise InvalidPathError(f"a path must be a list of steps, got {path!r}")
    try:
        steps = list(path)
    except TypeError:
        raise InvalidPathError(
            f"a path must be a list of steps (tuples of operand positions), got {path!r}"
        ) from None
    if steps and isinstance(steps[0], str) and steps[0] == "einsum_path":
        steps = steps[1:]
    out: Path = []
    remaining = n
    for k, step in enumerate(steps):
        try:
            if isinstance(step, (str, bytes)):
                raise TypeError
            positions = tuple(_position(p) for p in step)
        except TypeError:
            raise InvalidPathError(
                f"path step {k} {step!r} is not a tuple of operand positions (integers)"
            ) from None
        if not positions:
            raise InvalidPathError(f"path step {k} is empty")
        if len(set(positions)) != len(positions):
            raise InvalidPathError(f"path step {k} {positions} names an operand twice")
        for p in positions:
            if not 0 <= p < remaining:
                raise InvalidPathError(
                    f"path step {k} {positions} names position {p}, but only {remaining} operand(s) "
                    "remain"
                )
        remaining = remaining - len(positions) + 1
        out.append(positions)
    if remaining != 1:
        raise InvalidPathError(f"path {steps!r} leaves {remaining} operands instead of one")
    return out
