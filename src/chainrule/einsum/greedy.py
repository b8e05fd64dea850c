"""Greedy contraction orders for networks of hundreds of operands.

Several greedy passes run and the cheapest path in opt_einsum's FLOP model is kept: the classic
memory-removed greedy, a second memory pass that reconsiders every pair, a step-cost pass, seeded jittered
passes, and the left-to-right order itself.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Hashable, Sequence
from typing import Any

from chainrule.einsum.cost import (
    LabelSet,
    Path,
    contraction_steps,
    flop_count,
    left_to_right,
    path_cost,
    size_of,
    ssa_to_linear,
)

__all__ = ["greedy", "greedy_within"]


def _greedy_once(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None,
    score: str,
    jitter: random.Random | None = None,
    partial: bool = False,
) -> list[tuple[int, int]] | None:
    """One greedy pass with scoring rule ``score``; an ssa path, or None when the memory limit blocks
    (with ``partial``, the pairs contracted until then).

    ``"size"`` scores a pair by the memory it frees (result size minus operand sizes, lower is better);
    ``"flops"`` by the cost of the step. With ``jitter`` each score is multiplied by a random factor
    around 1, so that repeated passes explore near-ties differently.

    Labels held by every input are treated as output labels (they cannot be summed before the last
    step), so a label shared by all tensors does not make every pair a candidate.
    """
    n = len(inputs)
    output = frozenset(output) | frozenset.intersection(*(frozenset(t) for t in inputs))
    terms: dict[int, LabelSet] = dict(enumerate(inputs))
    tsize: dict[int, int] = {k: size_of(t, sizes) for k, t in terms.items()}
    holders: dict[Hashable, set[int]] = {}
    for k, t in terms.items():
        for x in t:
            if x not in output:
                holders.setdefault(x, set()).add(k)
    counter = itertools.count()

    def candidate(i: int, j: int) -> tuple[float, int, int, int, LabelSet] | None:
        a, b = terms[i], terms[j]
        union = a | b
        result = frozenset(
            x for x in union if x in output or len(h := holders[x]) - (i in h) - (j in h) > 0
        )
        rsize = size_of(result, sizes)
        if memory_limit is not None and rsize > memory_limit and len(terms) > 2:
            return None
        if score == "size":
            value: float = rsize - tsize[i] - tsize[j]
        else:  # "flops": cheapest step first, ties by memory saved
            value = size_of(union, sizes) * (2 if len(result) < len(union) else 1)
            value += (rsize - tsize[i] - tsize[j]) * 1e-9
        if jitter is not None:
            value *= math.exp(0.5 * jitter.gauss(0.0, 1.0))
        return (value, next(counter), i, j, result)

    heap: list[tuple[float, int, int, int, LabelSet]] = []
    for x, ks in holders.items():
        del x
        ordered = sorted(ks)
        for p, i in enumerate(ordered):
            for j in ordered[p + 1 :]:
                c = candidate(i, j)
                if c is not None:
                    heap.append(c)
    # Pairs sharing several labels were pushed more than once; duplicates are dropped when popped.
    heapq.heapify(heap)
    ssa: list[tuple[int, int]] = []
    next_id = n
    done: set[tuple[int, int]] = set()
    while len(terms) > 1:
        chosen = None
        while heap:
            cand = heapq.heappop(heap)
            _, _, i, j, result = cand
            if i in terms and j in terms and (i, j) not in done:
                done.add((i, j))
                chosen = (i, j, result)
                break
        if chosen is None:
            # No pair shares a label: outer products, smallest terms first.
            i, j = sorted(terms, key=lambda k: (tsize[k], k))[:2]
            result = terms[i] | terms[j]
            if (
                memory_limit is not None
                and size_of(result, sizes) > memory_limit
                and len(terms) > 2
            ):
                return ssa if partial else None
            chosen = (min(i, j), max(i, j), result)
        i, j, result = chosen
        for k in (i, j):
            for x in terms.pop(k):
                if x not in output:
                    holders[x].discard(k)
            del tsize[k]
        k = next_id
        next_id += 1
        terms[k] = result
        tsize[k] = size_of(result, sizes)
        neighbours: set[int] = set()
        for x in result:
            if x not in output:
                neighbours |= holders[x]
                holders[x].add(k)
        ssa.append((i, j))
        for m in neighbours:
            c = candidate(m, k)
            if c is not None:
                heapq.heappush(heap, c)
    return ssa


def _greedy_memory_removed(
    inputs: Sequence[LabelSet], output: LabelSet, sizes: dict[Hashable, int]
) -> list[tuple[int, ...]]:
    """The classic three-stage greedy (the algorithm opt_einsum's ``greedy`` documents); an ssa path.

    1. Inputs with identical label sets are multiplied first (Hadamard products).
    2. Repeatedly take the candidate pair that frees the most memory; each new tensor offers only its
       best partner as a candidate, ties go to the pair of older tensors.
    3. What is left (no shared labels) is combined by outer products, smallest first.

    Labels held by every input are treated as output labels until the end (they cannot be summed
    earlier anyway).
    """
    fs = [frozenset(t) for t in inputs]
    out = frozenset(output) | frozenset.intersection(*fs)
    ids = itertools.count(len(fs))
    ssa: list[tuple[int, ...]] = []
    remaining: dict[LabelSet, int] = {}
    for k, key in enumerate(fs):
        if key in remaining:
            ssa.append((remaining[key], k))
            remaining[key] = next(ids)
        else:
            remaining[key] = k
    holders: dict[Hashable, set[LabelSet]] = {}
    for key in remaining:
        for x in key - out:
            holders.setdefault(x, set()).add(key)
    ref2 = {x for x, ks in holders.items() if len(ks) >= 2}
    ref3 = {x for x, ks in holders.items() if len(ks) >= 3}
    footprint = {key: size_of(key, sizes) for key in remaining}

    def best_candidate(k1: LabelSet, k2s: Sequence[LabelSet]) -> tuple[Any, ...]:
        best: tuple[Any, ...] | None = None
        for k2 in k2s:
            either = k1 | k2
            two = k1 & k2
            one = either - two
            k12 = (either & out) | (two & ref3) | (one & ref2)
            cost = size_of(k12, sizes) - footprint[k1] - footprint[k2]
            id1, id2 = remaining[k1], remaining[k2]
            a, b = (k1, k2) if id1 < id2 else (k2, k1)
            cand = (cost, max(id1, id2), min(id1, id2), a, b, k12)
            if best is None or cand[:3] < best[:3]:
                best = cand
        assert best is not None
        return best

    queue: list[tuple[Any, ...]] = []
    for keys in holders.values():
        ordered = sorted(keys, key=remaining.__getitem__)
        for p, k1 in enumerate(ordered[:-1]):
            queue.append(best_candidate(k1, ordered[p + 1 :]))
    heapq.heapify(queue)
    # Heap entries compare by (cost, id2, id1), which is unique: the label sets are never compared.
    while queue:
        _, _, _, k1, k2, k12 = heapq.heappop(queue)
        if k1 not in remaining or k2 not in remaining:
            continue
        id1, id2 = remaining.pop(k1), remaining.pop(k2)
        for x in k1 - out:
            holders[x].discard(k1)
        for x in k2 - out:
            holders[x].discard(k2)
        ssa.append((min(id1, id2), max(id1, id2)))
        if k12 in remaining:
            ssa.append((remaining[k12], next(ids)))
        else:
            for x in k12 - out:
                holders[x].add(k12)
        remaining[k12] = next(ids)
        for x in (k1 | k2) - out:
            count = len(holders[x])
            (ref2.add if count >= 2 else ref2.discard)(x)
            (ref3.add if count >= 3 else ref3.discard)(x)
        footprint[k12] = size_of(k12, sizes)
        partners = {k2 for x in k12 for k2 in holders.get(x, ())}
        partners.discard(k12)
        if partners:
            heapq.heappush(queue, best_candidate(k12, sorted(partners, key=remaining.__getitem__)))
    final = [(size_of(key & out, sizes), i, key) for key, i in remaining.items()]
    heapq.heapify(final)
    _, i1, k1 = heapq.heappop(final)
    while final:
        _, i2, k2 = heapq.heappop(final)
        ssa.append((min(i1, i2), max(i1, i2)))
        k12 = (k1 | k2) & out
        _, i1, k1 = heapq.heappushpop(final, (size_of(k12, sizes), next(ids), k12))
    return ssa


def greedy(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None = None,
) -> Path:
    """A greedy path: the cheapest of several greedy passes.

    The classic memory-removed pass, a second memory pass that reconsiders every pair, a step-cost pass
    (up to 100 operands), passes with jittered scores (seeded, so the result is reproducible; fewer
    for larger networks) and the left-to-right order itself; the path with the fewest FLOPs
    in opt_einsum's model wins.

    Raises:
        ValueError: no greedy path keeps every intermediate within ``memory_limit``.
    """
    n = len(inputs)
    if n <= 2:
        return [tuple(range(n))] if n else []
    best: Path | None = None
    best_cost = math.inf
    # About 8 ms per pass at 200 operands: fewer passes the larger the network.
    passes: list[tuple[str, random.Random | None]] = [("classic", None), ("size", None)]
    if n <= 100:
        passes.append(("flops", None))
    passes += [("size", random.Random(seed)) for seed in range(max(1, min(24, 480 // n - 1)))]
    for score, jitter in passes:
        ssa: Sequence[tuple[int, ...]] | None
        if score == "classic":
            if memory_limit is not None:
                continue
            ssa = _greedy_memory_removed(inputs, output, sizes)
        else:
            ssa = _greedy_once(inputs, output, sizes, memory_limit, score, jitter)
        if ssa is None:
            continue
        path = ssa_to_linear(ssa, n)
        cost, _ = path_cost(inputs, output, sizes, path)
        if cost < best_cost:
            best, best_cost = path, cost
    # The order as written is a candidate too, so greedy is never worse than left to right.
    naive = left_to_right(n)
    steps = contraction_steps(inputs, output, naive)
    fits = memory_limit is None or all(
        size_of(r, sizes) <= memory_limit for _, r, _, _ in steps[:-1]
    )
    if fits:
        cost = sum(flop_count(u, inner, len(p), sizes) for p, _, inner, u in steps)
        if cost < best_cost:
            best, best_cost = naive, cost
    if best is None:
        raise ValueError(
            f"no greedy contraction path keeps every intermediate within memory_limit={memory_limit} "
            "elements"
        )
    return best


def greedy_within(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int,
) -> Path:
    """opt_einsum's fallback when no pairwise path fits ``memory_limit``: contract pairs greedily while
    their results fit, then every remaining operand in one n-ary step.

    Two passes (cheapest step first, most memory freed first); the cheaper full path in opt_einsum's FLOP
    model is kept (the n-ary step costs its whole index space times the number of its terms).
    Executed, the n-ary step runs as a chain of pairwise steps whose intermediates may exceed the limit.
    """
    n = len(inputs)
    if n <= 2:
        return [tuple(range(n))] if n else []
    best: Path | None = None
    best_cost = math.inf
    for score in ("flops", "size"):
        ssa = _greedy_once(inputs, output, sizes, memory_limit, score, None, partial=True)
        assert ssa is not None
        path = ssa_to_linear(ssa, n)
        rest = n - len(ssa)
        if rest > 1:
            path.append(tuple(range(rest)))
        cost, _ = path_cost(inputs, output, sizes, path)
        if cost < best_cost:
            best, best_cost = path, cost
    assert best is not None
    return best
