"""Contraction order: which pair of operands to contract next.

A *path* uses opt_einsum's (and NumPy's) convention: a list of tuples of positions into the current list of
operands; the operands at those positions are removed and their contraction is appended at the end.

Costs use opt_einsum's model (:func:`flop_count`), so a path found here can be compared with opt_einsum's:
a step over the index set ``I`` of ``t`` terms costs ``prod(size[I]) * (max(1, t - 1) + inner)``, where
``inner`` is 1 when the step sums some index away.

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
import itertools
import math
import random
from collections.abc import Collection, Hashable, Sequence
from typing import Any

__all__ = [
    "AUTO_CONNECTED_LIMIT",
    "AUTO_OPTIMAL_LIMIT",
    "OPTIMAL_LIMIT",
    "OPTIMIZER_ALIASES",
    "Path",
    "find_path",
    "flop_count",
    "greedy",
    "left_to_right",
    "optimal",
    "optimal_connected",
    "path_cost",
    "size_of",
    "ssa_to_linear",
    "validate_path",
]

Path = list[tuple[int, ...]]
LabelSet = frozenset[Hashable]

#: ``"auto"`` uses the exact optimizer up to this many operands; above, the cheaper of greedy and (up to
#: ``AUTO_CONNECTED_LIMIT`` operands, when the network is sparse enough) the DP over connected subsets.
AUTO_OPTIMAL_LIMIT = 11
AUTO_CONNECTED_LIMIT = 18
#: ``"optimal"`` searches exactly up to this many operands (3**n work, seconds at 14); above, it falls back
#: to what ``"auto"`` does there.
OPTIMAL_LIMIT = 14

#: opt_einsum's optimizer names, mapped to ours (our "optimal" is exact; our "auto" at least as good as
#: its branch-and-bound choices in the FLOP model on the networks we test).
OPTIMIZER_ALIASES = {
    "dp": "optimal",
    "branch-all": "optimal",
    "branch-2": "auto",
    "branch-1": "auto",
    "auto-hq": "auto",
    "random-greedy": "greedy",
    "random-greedy-128": "greedy",
}


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


# ------------------------------------------------------------------------------------------- optimal


def optimal(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None = None,
) -> Path:
    """The cheapest pairwise path in opt_einsum's cost model (exact dynamic programming over subsets).

    ``best[S]`` is the cheapest way to contract the operands in bitmask ``S`` into one tensor; every split
    of ``S`` into two parts is tried (outer products too), skipping splits that cannot beat the best so far.
    Time grows as 3**n: about 0.01 s for 10 operands, 0.2–0.7 s for 12.

    Raises:
        ValueError: no pairwise path keeps every intermediate within ``memory_limit``.
    """
    n = len(inputs)
    if n <= 2:
        return [tuple(range(n))] if n else []
    path = _subset_dp(inputs, output, sizes, memory_limit, connected=False, max_work=None)
    if path is None:
        raise ValueError(
            f"no pairwise contraction path keeps every intermediate within memory_limit={memory_limit} "
            "elements"
        )
    return path


def optimal_connected(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None = None,
    max_work: int = 2_000_000,
) -> Path | None:
    """The cheapest path that never multiplies two unconnected parts (no outer products), or None.

    The same dynamic programming as :func:`optimal`, over the connected subsets of operands only (two
    operands are adjacent when they share a label). Sparse networks have few connected subsets, so this
    reaches 13–16 operands. Returns None when the network is not connected, no path meets
    ``memory_limit``, or the work (sum of 2**|S| over connected subsets S) would exceed ``max_work``.
    """
    n = len(inputs)
    if n <= 2:
        return [tuple(range(n))] if n else []
    return _subset_dp(inputs, output, sizes, memory_limit, connected=True, max_work=max_work)


def _connected_subsets(inputs: Sequence[LabelSet], max_work: int | None) -> list[int] | None:
    """Bitmasks of the connected subsets (size 2 and more), ascending; None past ``max_work``."""
    n = len(inputs)
    neighbours = [0] * n
    for i in range(n):
        for j in range(i + 1, n):
            if inputs[i] & inputs[j]:
                neighbours[i] |= 1 << j
                neighbours[j] |= 1 << i
    level = {1 << k for k in range(n)}
    found: list[int] = []
    work = 0
    while level:
        grown: set[int] = set()
        for s in level:
            adj = 0
            m = s
            while m:
                low = m & -m
                adj |= neighbours[low.bit_length() - 1]
                m ^= low
            adj &= ~s
            while adj:
                low = adj & -adj
                grown.add(s | low)
                adj ^= low
        level = grown
        found.extend(grown)
        work += sum(1 << (bin(s).count("1") - 1) for s in grown)
        if max_work is not None and work > max_work:
            return None
    return sorted(found)


def _subset_dp(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None,
    connected: bool,
    max_work: int | None,
) -> Path | None:
    """Dynamic programming over subsets (all of them, or the connected ones); None if no path."""
    n = len(inputs)
    if connected:
        subsets = _connected_subsets(inputs, max_work)
        if subsets is None or (1 << n) - 1 not in subsets:
            return None
    else:
        subsets = [s for s in range(3, 1 << n) if s & (s - 1)]
    labels = sorted({x for t in inputs for x in t}, key=repr)
    bit = {x: 1 << k for k, x in enumerate(labels)}
    term_mask = [sum(bit[x] for x in t) for t in inputs]
    out_mask = sum(bit[x] for x in output if x in bit)
    label_size = [sizes[x] for x in labels]

    size_memo: dict[int, int] = {}

    def mask_size(mask: int) -> int:
        s = size_memo.get(mask)
        if s is None:
            s = 1
            m = mask
            while m:
                low = m & -m
                s *= label_size[low.bit_length() - 1]
                m ^= low
            size_memo[mask] = s
        return s

    full = (1 << n) - 1
    inf = math.inf
    legs = [0] * (1 << n)
    if connected:
        # Few subsets: legs only where needed; every other subset's best stays infinite, so it is never
        # used as a part.

        def union_of(mask: int) -> int:
            u = 0
            while mask:
                low = mask & -mask
                u |= term_mask[low.bit_length() - 1]
                mask ^= low
            return u

        for t in subsets:
            legs[t] = union_of(t) & (out_mask | union_of(full ^ t))
    else:
        union = [0] * (1 << n)
        for t in range(1, 1 << n):
            low = t & -t
            union[t] = union[t ^ low] | term_mask[low.bit_length() - 1]
        for t in range(1, 1 << n):
            legs[t] = union[t] & (out_mask | union[full ^ t])
    best: list[float] = [inf] * (1 << n)
    split = [0] * (1 << n)
    # An input is the tensor as given, lone labels included (as opt_einsum counts them).
    for k in range(n):
        legs[1 << k] = term_mask[k]
        best[1 << k] = 0
    for s in subsets:
        if memory_limit is not None and s != full and mask_size(legs[s]) > memory_limit:
            continue
        low = s & -s
        rest = s ^ low
        legs_s = legs[s]
        best_s = inf
        best_a = 0
        # Submasks a of s that contain s's lowest bit: every unordered split once.
        sub = rest
        while True:
            a = sub | low
            if a != s:
                b = s ^ a
                base = best[a] + best[b]
                if base < best_s:
                    idx = legs[a] | legs[b]
                    cost = mask_size(idx) * (2 if idx != legs_s else 1)
                    total = base + cost
                    if total < best_s:
                        best_s = total
                        best_a = a
            if sub == 0:
                break
            sub = (sub - 1) & rest
        best[s] = best_s
        split[s] = best_a
    if best[full] == inf:
        return None
    # Post-order walk of the split tree (iterative) → single-assignment path.
    ssa: list[tuple[int, ...]] = []
    ids: dict[int, int] = {1 << k: k for k in range(n)}
    stack: list[tuple[int, bool]] = [(full, False)]
    while stack:
        s, expanded = stack.pop()
        if s in ids:
            continue
        a = split[s]
        b = s ^ a
        if expanded:
            ssa.append((ids[a], ids[b]))
            ids[s] = n + len(ssa) - 1
        else:
            stack.append((s, True))
            stack.append((b, False))
            stack.append((a, False))
    return ssa_to_linear(ssa, n)


# -------------------------------------------------------------------------------------------- greedy


def _greedy_once(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    memory_limit: int | None,
    score: str,
    jitter: random.Random | None = None,
) -> list[tuple[int, int]] | None:
    """One greedy pass with scoring rule ``score``; an ssa path, or None when the memory limit blocks.

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
                return None
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


# -------------------------------------------------------------------------------------------- dispatch


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


def validate_path(path: Any, n: int) -> Path:
    """Check an explicit path (NumPy's ``['einsum_path', (0, 1), ...]`` form accepted) for ``n`` operands.

    Raises:
        ValueError: a step names a position that does not exist, names one twice, or the path does not end
            with exactly one operand.
    """
    steps = list(path)
    if steps and steps[0] == "einsum_path":
        steps = steps[1:]
    out: Path = []
    remaining = n
    for k, step in enumerate(steps):
        try:
            positions = tuple(int(p) for p in step)
        except (TypeError, ValueError):
            raise ValueError(
                f"path step {k} {step!r} is not a tuple of operand positions"
            ) from None
        if not positions:
            raise ValueError(f"path step {k} is empty")
        if len(set(positions)) != len(positions):
            raise ValueError(f"path step {k} {positions} names an operand twice")
        for p in positions:
            if not 0 <= p < remaining:
                raise ValueError(
                    f"path step {k} {positions} names position {p}, but only {remaining} operand(s) "
                    "remain"
                )
        remaining = remaining - len(positions) + 1
        out.append(positions)
    if remaining != 1:
        raise ValueError(f"path {steps!r} leaves {remaining} operands instead of one")
    return out


def find_path(
    inputs: Sequence[LabelSet],
    output: LabelSet,
    sizes: dict[Hashable, int],
    optimize: Any = "auto",
    memory_limit: int | None = None,
) -> Path:
    """The path for ``optimize``: ``"auto"``/``True``, ``"optimal"``, ``"greedy"``, ``"left"``/``False``,
    an alias from :data:`OPTIMIZER_ALIASES`, NumPy's ``(name, memory_limit)`` tuple, or an explicit path
    (validated). ``"optimal"`` above :data:`OPTIMAL_LIMIT` operands does what ``"auto"`` does there.

    Raises:
        ValueError: an unknown optimizer name or an invalid explicit path.
    """
    n = len(inputs)
    if (
        isinstance(optimize, tuple)
        and len(optimize) == 2
        and isinstance(optimize[0], str)
        and isinstance(optimize[1], (int, float))
        and not isinstance(optimize[1], bool)
    ):
        optimize, memory_limit = optimize[0], int(optimize[1])
    if optimize is True:
        optimize = "auto"
    if optimize is False or optimize == "left":
        return left_to_right(n)
    if isinstance(optimize, str):
        name = OPTIMIZER_ALIASES.get(optimize, optimize)
        if name not in ("auto", "optimal", "greedy"):
            raise ValueError(
                f"unknown optimize={optimize!r}: use 'auto', 'optimal', 'greedy', 'left', True, "
                "False or an explicit path"
            )
        if n <= 2:
            return [tuple(range(n))] if n else []
        if name == "auto":
            if n <= AUTO_OPTIMAL_LIMIT:
                return optimal(inputs, output, sizes, memory_limit)
            return _auto_large(inputs, output, sizes, memory_limit)
        if name == "optimal":
            if n > OPTIMAL_LIMIT:  # 3**n: the exact search would run for minutes
                return _auto_large(inputs, output, sizes, memory_limit)
            return optimal(inputs, output, sizes, memory_limit)
        return greedy(inputs, output, sizes, memory_limit)
    if isinstance(optimize, (list, tuple)):
        return validate_path(optimize, n)
    raise ValueError(f"unknown optimize={optimize!r}")
