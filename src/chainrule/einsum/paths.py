"""Contraction order: which pair of operands to contract next.

A *path* uses opt_einsum's (and NumPy's) convention: a list of tuples of positions into the current list of
operands; the operands at those positions are removed and their contraction is appended at the end.

Costs use opt_einsum's model (:func:`flop_count`), so a path found here can be compared with opt_einsum's:
a step over the index set ``I`` of ``t`` terms costs ``prod(size[I]) * (max(1, t - 1) + inner)``, where
``inner`` is 1 when the step sums some index away.

The cost model lives in :mod:`chainrule.einsum.cost`, the optimizers in :mod:`chainrule.einsum.optimal`
and :mod:`chainrule.einsum.greedy`; this module chooses between them and re-exports them.

Optimizers (all take ``inputs`` as a list of label sets, ``output`` a label set, ``sizes`` and an optional
``memory_limit`` on the number of elements of any intermediate, the final result exempt):

- :func:`optimal`: exact, dynamic programming over subsets (outer products included), with pruning by the
  best cost found so far; exponential (3**n), used up to 14 operands.
- :func:`optimal_connected`: the same over connected subsets only (no outer products); sparse networks of
  up to about 18 operands.
- :func:`greedy`: the classic memory-removed greedy plus further greedy passes (another memory pass, a
  step-cost pass, seeded jittered passes), the cheapest path kept; for networks of hundreds of operands.
- :func:`find_path`: dispatches by name or validates an explicit path. ``"auto"``: exact up to 11
  operands; above, the cheaper of greedy and (up to 18 operands) the connected DP run per connected
  component. opt_einsum's names (``"dp"``, ``"branch-2"``, ``"random-greedy"``, ...) are accepted as
  aliases (:data:`OPTIMIZER_ALIASES`).
"""

from __future__ import annotations

import heapq
import math
import numbers
import operator
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from chainrule.einsum.cost import (
    LabelSet,
    Path,
    contraction_steps,
    flop_count,
    left_to_right,
    path_cost,
    size_of,
    ssa_to_linear,
    validate_path,
)
from chainrule.einsum.greedy import greedy, greedy_within
from chainrule.einsum.optimal import branch, optimal, optimal_connected

__all__ = [
    "AUTO_CONNECTED_LIMIT",
    "AUTO_OPTIMAL_LIMIT",
    "BRANCH_WIDTHS",
    "OPTIMAL_LIMIT",
    "OPTIMIZER_ALIASES",
    "LabelSet",
    "Path",
    "branch",
    "contraction_steps",
    "find_path",
    "flop_count",
    "greedy",
    "left_to_right",
    "memory_limit_of",
    "optimal",
    "optimal_connected",
    "path_cost",
    "size_of",
    "ssa_to_linear",
    "validate_path",
]

#: ``"auto"`` uses the exact optimizer up to this many operands; above, the cheaper of greedy and (up to
#: ``AUTO_CONNECTED_LIMIT`` operands, when the network is sparse enough) the DP over connected subsets.
AUTO_OPTIMAL_LIMIT = 11
AUTO_CONNECTED_LIMIT = 18
#: ``"optimal"`` searches exactly up to this many operands (3**n work, seconds at 14); above, it falls back
#: to what ``"auto"`` does there.
OPTIMAL_LIMIT = 14

#: opt_einsum's optimizer names that are other names for ours. opt_einsum's own ``"eager"`` and
#: ``"opportunistic"`` are its ``greedy``; ``"dp"``/``"dynamic-programming"`` (exact without outer products
#: there) map to our exact subset DP, which also considers outer products, so it is never worse in the FLOP
#: model; ``"auto-hq"`` is our ``"auto"``; ``"random-greedy"``/``"random-greedy-128"`` are our greedy, which
#: already keeps the cheapest of several passes with seeded random jitter (24 at most).
#: ``"branch-1"``, ``"branch-2"`` and ``"branch-all"`` are real bounded searches (:func:`branch`).
OPTIMIZER_ALIASES = {
    "dp": "optimal",
    "dynamic-programming": "optimal",
    "auto-hq": "auto",
    "eager": "greedy",
    "opportunistic": "greedy",
    "random-greedy": "greedy",
    "random-greedy-128": "greedy",
}

#: The branch searches: name → how many of the best candidate pairs each step explores (None: all).
BRANCH_WIDTHS = {"branch-1": 1, "branch-2": 2, "branch-all": None}


def memory_limit_of(limit: Any, max_input: int | None = None) -> int | None:
    """``limit`` as a number of elements, or None for no limit (the one reading of ``memory_limit``).

    Accepted: None or -1 (no limit), a non-negative integer (NumPy integers too), a finite non-negative
    float (rounded down), and ``"max_input"`` when ``max_input`` (the largest operand's size) is given.

    Raises:
        ValueError: anything else (a bool, NaN, infinity, a negative number other than -1, another
            string), naming ``memory_limit``.
    """
    if limit is None:
        return None
    if isinstance(limit, str) and limit == "max_input" and max_input is not None:
        return max_input
    value: int | None = None
    if not isinstance(limit, (bool, np.bool_, str)):
        try:
            value = operator.index(limit)
        except TypeError:
            if isinstance(limit, numbers.Real):
                real = float(limit)
                if math.isfinite(real) and (real >= 0 or real == -1):
                    value = math.floor(real)
    if value == -1:
        return None
    if value is None or value < 0:
        named = ", or 'max_input'" if max_input is not None else ""
        raise ValueError(
            f"memory_limit must be a non-negative number of elements, -1 or None (no limit){named}, "
            f"got {limit!r}"
        )
    return value


def _auto_large(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None,
) -> Path:
    """``"auto"`` above the exact limit: the cheaper of greedy and, where affordable, the connected DP."""
    best = greedy(inputs, output, sizes, memory_limit)
    if len(inputs) <= AUTO_CONNECTED_LIMIT:
        dp = _componentwise(inputs, output, sizes, memory_limit)
        if (
            dp is not None
            and path_cost(inputs, output, sizes, dp)[0] < path_cost(inputs, output, sizes, best)[0]
        ):
            best = dp
    return best


def _componentwise(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None,
) -> Path | None:
    """Exact or connected DP per connected component, then outer products of the parts, smallest first."""
    n = len(inputs)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Hashable, int] = {}
    for i, t in enumerate(inputs):
        for x in t:
            if x in owner:
                parent[find(i)] = find(owner[x])
            else:
                owner[x] = i
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    next_id = n
    ssa: list[tuple[int, ...]] = []
    parts: list[tuple[int, int, LabelSet]] = []  # (size, ssa id, labels)
    for members in groups.values():
        sub = [inputs[i] for i in members]
        labels: LabelSet = frozenset().union(*sub)
        sub_out = frozenset(x for x in labels if x in output)
        if len(sub) == 1:
            sub_path: Path | None = []
        elif len(sub) <= AUTO_OPTIMAL_LIMIT:
            try:
                sub_path = optimal(sub, sub_out, sizes, memory_limit)
            except ValueError:
                return None
        else:
            sub_path = optimal_connected(sub, sub_out, sizes, memory_limit)
        if sub_path is None:
            return None
        alive = list(members)
        for step in sub_path:
            ids = tuple(alive[p] for p in step)
            for p in sorted(step, reverse=True):
                alive.pop(p)
            ssa.append(ids)
            alive.append(next_id)
            next_id += 1
        parts.append((size_of(sub_out, sizes), alive[0], sub_out))
    heapq.heapify(parts)
    while len(parts) > 1:
        _, i1, l1 = heapq.heappop(parts)
        _, i2, l2 = heapq.heappop(parts)
        ssa.append((i1, i2))
        merged = l1 | l2
        if memory_limit is not None and parts and size_of(merged, sizes) > memory_limit:
            return None
        heapq.heappush(parts, (size_of(merged, sizes), next_id, merged))
        next_id += 1
    return ssa_to_linear(ssa, n)


def find_path(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    optimize: Any = "auto",
    memory_limit: int | None = None,
) -> Path:
    """The path for ``optimize``: ``"auto"``/``True``, ``"optimal"``, ``"greedy"``, ``"branch-1"``,
    ``"branch-2"``, ``"branch-all"``, ``"left"``/``False``, an alias from :data:`OPTIMIZER_ALIASES`,
    NumPy's ``(name, memory_limit)`` tuple, an explicit path (validated), or a callable with opt_einsum's
    optimizer signature ``f(inputs, output, size_dict, memory_limit) -> path`` (its path validated).
    ``"optimal"`` above :data:`OPTIMAL_LIMIT` operands does what ``"auto"`` does there. The numbers 1 and
    0 mean True and False. ``memory_limit`` -1 means no limit.

    When no pairwise path keeps every intermediate within ``memory_limit``, the path contracts pairs
    greedily while they fit and then the remaining operands in one n-ary step (opt_einsum's fallback).

    Raises:
        ValueError: an unknown optimizer name, an invalid explicit path, an invalid path from a
            callable, or a bad ``memory_limit`` (:func:`memory_limit_of`).
    """
    n = len(inputs)
    if isinstance(optimize, tuple) and len(optimize) == 2 and isinstance(optimize[0], str):
        optimize, memory_limit = optimize  # NumPy's (name, memory_limit)
    memory_limit = memory_limit_of(memory_limit)
    if isinstance(optimize, numbers.Real) and optimize in (0, 1):
        # 1 and 0 equal True and False and hash alike, so the plan cache answers them with the plans of
        # True and False: they must mean the same here too, whatever the cache holds.
        optimize = bool(optimize)
    if optimize is True:
        optimize = "auto"
    if optimize is False or optimize == "left":
        return left_to_right(n)
    if isinstance(optimize, str):
        name = OPTIMIZER_ALIASES.get(optimize, optimize)
        if name not in ("auto", "optimal", "greedy") and name not in BRANCH_WIDTHS:
            raise ValueError(
                f"unknown optimize={optimize!r}: use 'auto', 'optimal', 'greedy', 'branch-1', "
                "'branch-2', 'branch-all', 'left', True, False, an explicit path or an optimizer "
                "function"
            )
        if n <= 2:
            return [tuple(range(n))] if n else []
        try:
            return _named(name, inputs, output, sizes, memory_limit)
        except ValueError:
            if memory_limit is None:
                raise
            return greedy_within(inputs, output, sizes, memory_limit)
    if isinstance(optimize, (list, tuple)):
        return validate_path(optimize, n)
    if callable(optimize):
        found = optimize([set(t) for t in inputs], set(output), dict(sizes), memory_limit)
        return validate_path(found, n)
    raise ValueError(f"unknown optimize={optimize!r}")


def _named(
    name: str,
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None,
) -> Path:
    """The path of a named optimizer (at least 3 operands). Raises ValueError when ``memory_limit``
    cannot be met."""
    n = len(inputs)
    if name in BRANCH_WIDTHS:
        return branch(inputs, output, sizes, memory_limit, BRANCH_WIDTHS[name])
    if name == "auto":
        if n <= AUTO_OPTIMAL_LIMIT:
            return optimal(inputs, output, sizes, memory_limit)
        return _auto_large(inputs, output, sizes, memory_limit)
    if name == "optimal":
        if n > OPTIMAL_LIMIT:  # 3**n: the exact search would run for minutes
            return _auto_large(inputs, output, sizes, memory_limit)
        return optimal(inputs, output, sizes, memory_limit)
    return greedy(inputs, output, sizes, memory_limit)
