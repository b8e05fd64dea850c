"""Contraction paths: optimal equals brute force, greedy beats left-to-right on chains, costs match opt_einsum."""

from __future__ import annotations

import importlib
import itertools
import random
import sys
import types
from collections.abc import Hashable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.einsum import PLAN_CACHE, einsum, einsum_path
from chainrule.einsum.paths import (
    contraction_steps,
    find_path,
    flop_count,
    greedy,
    left_to_right,
    optimal,
    optimal_connected,
    path_cost,
    ssa_to_linear,
    validate_path,
)

Terms = list[frozenset[Hashable]]


def fits(
    inputs: Terms,
    output: frozenset[Hashable],
    sizes: dict[Hashable, int],
    path: list,
    limit: int | None,
) -> bool:
    """Whether every intermediate (the final result exempt) has at most ``limit`` elements."""
    if limit is None:
        return True
    steps = contraction_steps(inputs, output, path)[:-1]
    return all(np.prod([sizes[x] for x in r], dtype=np.int64) <= limit for _, r, _, _ in steps)


def brute_force(
    inputs: Terms, output: frozenset[Hashable], sizes: dict[Hashable, int], limit: int | None = None
) -> int | None:
    """The cheapest cost over every pairwise contraction order within ``limit`` (exhaustive)."""
    best = None

    def walk(path: list[tuple[int, int]], remaining: int) -> None:
        nonlocal best
        if remaining == 1:
            if not fits(inputs, output, sizes, path, limit):
                return
            cost, _ = path_cost(inputs, output, sizes, list(path))
            best = cost if best is None else min(best, cost)
            return
        for i, j in itertools.combinations(range(remaining), 2):
            walk([*path, (i, j)], remaining - 1)

    walk([], len(inputs))
    return best


@st.composite
def networks(
    draw: st.DrawFn, max_ops: int = 5
) -> tuple[Terms, frozenset[Hashable], dict[Hashable, int]]:
    n = draw(st.integers(2, max_ops))
    letters = "abcdefgh"
    sizes = {x: draw(st.integers(1, 6)) for x in letters}
    terms = [
        frozenset(draw(st.lists(st.sampled_from(letters), min_size=0, max_size=4)))
        for _ in range(n)
    ]
    every = sorted(set().union(*terms))
    output = frozenset(draw(st.lists(st.sampled_from(every), max_size=3))) if every else frozenset()
    return terms, output, sizes


@given(networks())
def test_optimal_matches_brute_force(
    net: tuple[Terms, frozenset[Hashable], dict[Hashable, int]],
) -> None:
    terms, output, sizes = net
    path = optimal(terms, output, sizes)
    cost, _ = path_cost(terms, output, sizes, path)
    want = brute_force(terms, output, sizes)
    assert want is not None
    assert cost == want


@given(networks(), st.integers(1, 60))
def test_optimal_with_memory_limit_matches_brute_force(
    net: tuple[Terms, frozenset[Hashable], dict[Hashable, int]], limit: int
) -> None:
    terms, output, sizes = net
    want = brute_force(terms, output, sizes, limit)
    if want is None:
        with pytest.raises(ValueError, match="memory_limit"):
            optimal(terms, output, sizes, memory_limit=limit)
        return
    path = optimal(terms, output, sizes, memory_limit=limit)
    assert fits(terms, output, sizes, path, limit)
    assert path_cost(terms, output, sizes, path)[0] == want


@given(networks(max_ops=7))
def test_greedy_paths_are_valid_and_no_better_than_optimal(
    net: tuple[Terms, frozenset[Hashable], dict[Hashable, int]],
) -> None:
    terms, output, sizes = net
    g = greedy(terms, output, sizes)
    validate_path(g, len(terms))
    assert (
        path_cost(terms, output, sizes, g)[0]
        >= path_cost(terms, output, sizes, optimal(terms, output, sizes))[0]
    )


@pytest.mark.parametrize("seed", range(20))
def test_greedy_never_worse_than_left_to_right_on_a_chain(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(3, 30)
    dims = [rng.choice([2, 5, 10, 50, 200]) for _ in range(n + 1)]
    terms: Terms = [frozenset({k, k + 1}) for k in range(n)]
    sizes = dict(enumerate(dims))
    output = frozenset({0, n})
    g = path_cost(terms, output, sizes, greedy(terms, output, sizes))[0]
    naive = path_cost(terms, output, sizes, left_to_right(n))[0]
    assert g <= naive


@given(networks(max_ops=7))
def test_connected_dp_is_exact_without_outer_products(
    net: tuple[Terms, frozenset[Hashable], dict[Hashable, int]],
) -> None:
    terms, output, sizes = net
    path = optimal_connected(terms, output, sizes)
    best = path_cost(terms, output, sizes, optimal(terms, output, sizes))[0]
    if path is None:
        return  # a disconnected network: outer products are unavoidable
    validate_path(path, len(terms))
    assert path_cost(terms, output, sizes, path)[0] >= best


def test_connected_dp_matches_optimal_on_chains() -> None:
    rng = random.Random(4)
    for n in range(3, 9):
        dims = [rng.choice([2, 7, 30, 100]) for _ in range(n + 1)]
        terms: Terms = [frozenset({k, k + 1}) for k in range(n)]
        sizes = dict(enumerate(dims))
        output = frozenset({0, n})
        got = optimal_connected(terms, output, sizes)
        assert got is not None
        assert (
            path_cost(terms, output, sizes, got)[0]
            == path_cost(terms, output, sizes, optimal(terms, output, sizes))[0]
        )


def test_flop_count_model() -> None:
    sizes = {"a": 2, "b": 3, "c": 5}
    assert flop_count("abc", False, 1, sizes) == 30
    assert flop_count("abc", True, 2, sizes) == 60
    assert flop_count("abc", True, 3, sizes) == 90


def test_ssa_to_linear() -> None:
    # ssa: (0,2) -> 4, (1,3) -> 5, (4,5) -> 6
    assert ssa_to_linear([(0, 2), (1, 3), (4, 5)], 4) == [(0, 2), (0, 1), (0, 1)]


def test_memory_limit_is_respected_or_refused() -> None:
    # ab,bc,cd: contracting ab with bc first would build a 1000x1000 intermediate.
    terms: Terms = [frozenset("ab"), frozenset("bc"), frozenset("cd")]
    sizes = {"a": 1000, "b": 2, "c": 1000, "d": 2}
    output = frozenset("ad")
    for fn in (optimal, greedy):
        path = fn(terms, output, sizes, memory_limit=4000)
        for _, result, _, _ in contraction_steps(terms, output, path)[:-1]:
            assert len(result) == 0 or np.prod([sizes[x] for x in result]) <= 4000
    # Both possible intermediates (ac: 10**6, bd: 4 elements) exceed 3 elements.
    for fn in (optimal, greedy):
        with pytest.raises(ValueError, match="memory_limit=3 "):
            fn(terms, output, sizes, memory_limit=3)


def test_einsum_path_memory_limit_max_input() -> None:
    path, info = einsum_path(
        "ab,bc,cd->ad", (1000, 2), (2, 1000), (1000, 2), memory_limit="max_input"
    )
    assert info.largest_intermediate <= 2000 * 2
    assert len(path) == 2


def test_explicit_paths_are_validated() -> None:
    shapes = [(2, 3), (3, 4), (4, 5)]
    a, b, c = (np.ones(s) for s in shapes)
    want = a @ b @ c
    for path in ([(1, 2), (0, 1)], ["einsum_path", (0, 1), (0, 1)], [(0, 1, 2)], [(0, 2), (0, 1)]):
        np.testing.assert_allclose(einsum("ab,bc,cd->ad", a, b, c, optimize=path), want)
        assert len(einsum_path("ab,bc,cd->ad", *shapes, optimize=path)[0]) >= 1
    with pytest.raises(ValueError, match="names position 3"):
        einsum("ab,bc,cd->ad", a, b, c, optimize=[(0, 3), (0, 1)])
    with pytest.raises(ValueError, match="leaves 2 operands"):
        einsum("ab,bc,cd->ad", a, b, c, optimize=[(0, 1)])
    with pytest.raises(ValueError, match="names an operand twice"):
        einsum("ab,bc,cd->ad", a, b, c, optimize=[(0, 0), (0, 1)])
    with pytest.raises(ValueError, match="unknown optimize='fastest'"):
        einsum("ab,bc,cd->ad", a, b, c, optimize="fastest")
    with pytest.raises(ValueError, match="unknown optimize='fastest'"):
        einsum("ab,bc->ac", a, b, optimize="fastest")


def test_optimize_names_agree() -> None:
    rng = np.random.default_rng(3)
    ops = [rng.random(s) for s in [(3, 4), (4, 5), (5, 6), (6, 3)]]
    want = np.einsum("ab,bc,cd,da->", *ops)
    for opt in (
        "auto",
        "optimal",
        "greedy",
        "dp",
        "branch-2",
        True,
        False,
        "left",
        ("greedy", 100),
    ):
        np.testing.assert_allclose(einsum("ab,bc,cd,da->", *ops, optimize=opt), want)


def test_greedy_on_200_operands_and_a_label_shared_by_all(monkeypatch: pytest.MonkeyPatch) -> None:
    # The time these searches take is measured by benchmarks/bench_einsum.py (path search); here, what
    # they find and how much work they do.
    rng = random.Random(0)
    terms: Terms = [frozenset() for _ in range(200)]
    sizes: dict[Hashable, int] = {}
    for e in range(300):
        i, j = rng.sample(range(200), 2)
        terms[i] |= {e}
        terms[j] |= {e}
        sizes[e] = rng.choice([2, 3, 4])
    terms = [t if t else frozenset({("open", k)}) for k, t in enumerate(terms)]
    for t in terms:
        for x in t:
            sizes.setdefault(x, 2)
    greedy_module = importlib.import_module("chainrule.einsum.greedy")
    sized = [0]
    size_of = greedy_module.size_of

    def counting_size_of(labels: frozenset[Hashable], sizes: dict[Hashable, int]) -> int:
        sized[0] += 1
        return size_of(labels, sizes)

    monkeypatch.setattr(greedy_module, "size_of", counting_size_of)
    path = find_path(terms, frozenset(), sizes, "greedy")
    assert len(validate_path(path, 200)) == 199
    plain_flops, plain_largest = path_cost(terms, frozenset(), sizes, path)
    assert plain_flops <= path_cost(terms, frozenset(), sizes, left_to_right(200))[0]
    plain_work, sized[0] = sized[0], 0
    # A label held by every tensor (a shared batch label) must not make every pair a candidate: the
    # search does about the same work (every pair of 200 is 19,900 candidates per greedy pass) and
    # finds the same order, each step's cost doubled.
    shared = [t | {"batch"} for t in terms]
    sizes["batch"] = 2
    shared_path = find_path(shared, frozenset({"batch"}), sizes, "greedy")
    assert sized[0] <= plain_work * 1.1
    assert shared_path == path
    assert path_cost(shared, frozenset({"batch"}), sizes, shared_path) == (
        2 * plain_flops,
        2 * plain_largest,
    )
    # Exact search on 10 of them: no worse than greedy on the same network.
    small = terms[:10]
    exact = optimal(small, frozenset(), sizes)
    assert len(validate_path(exact, 10)) == 9
    greedy_small = find_path(small, frozenset(), sizes, "greedy")
    assert (
        path_cost(small, frozenset(), sizes, exact)[0]
        <= path_cost(small, frozenset(), sizes, greedy_small)[0]
    )


def test_cost_not_above_opt_einsum_auto() -> None:
    oe = pytest.importorskip("opt_einsum")
    rng = random.Random(1)
    exprs = [
        ("ea,fb,abcd,gc,hd->efgh", [(10, 10)] * 2 + [(10,) * 4] + [(10, 10)] * 2),
        ("ab,bc,cd,de,ef->af", [(1000, 10), (10, 1000), (1000, 10), (10, 1000), (1000, 10)]),
        ("de,fe,fl->dl", [(2000, 500), (1000, 500), (1000, 2000)]),
    ]
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for n in (3, 4, 6, 8, 10, 11, 13, 16, 24):
        for _ in range(3):
            terms = [[] for _ in range(n)]
            dims = []
            for e in range(int(n * 1.5)):
                i, j = rng.sample(range(n), 2)
                terms[i].append(letters[e])
                terms[j].append(letters[e])
                dims.append(rng.choice([2, 3, 5, 8]))
            size = dict(zip(letters, dims, strict=False))
            text = ",".join("".join(t) for t in terms) + "->"
            exprs.append((text, [tuple(size[x] for x in t) for t in terms]))
    for text, shapes in exprs:
        _, ours = einsum_path(text, *shapes)
        _, theirs = oe.contract_path(text, *shapes, shapes=True, optimize="auto")
        assert ours.opt_cost <= int(theirs.opt_cost), text
        assert ours.naive_cost == int(theirs.naive_cost), text


def test_optimize_one_and_zero_mean_true_and_false_whatever_the_cache_holds() -> None:
    # 1 == True and hash(1) == hash(True): a cached True plan answers optimize=1, so a cold call must too.
    a = np.arange(6.0).reshape(2, 3)
    for cold in (True, False):
        if cold:
            PLAN_CACHE.clear()
        for opt in (1, 0, 1.0, np.int64(1)):
            np.testing.assert_allclose(einsum("ij,jk->ik", a, a.T, optimize=opt), a @ a.T)
        assert einsum_path("ij,jk,kl->il", (2, 3), (3, 4), (4, 5), optimize=0)[0] == [
            (0, 1),
            (0, 1),
        ]
        for bad in (2, 0.5, -1):
            with pytest.raises(ValueError, match=f"unknown optimize={bad!r}"):
                einsum("ij,jk->ik", a, a.T, optimize=bad)


def _search_calls(run: Any) -> int:
    """How many search nodes :func:`branch` enters (calls of its recursive step) while ``run()`` runs."""
    from chainrule.einsum.optimal import _BranchSearch

    code = _BranchSearch.run.__code__
    calls = [0]

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is code:
            calls[0] += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls[0]


def test_branch_node_budget_applies_before_any_path_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Eight unconnected vectors of size 2, every intermediate limited to 8 elements: no pairwise path
    # fits, and the unbounded search visits about 130,000 nodes before saying so.
    from chainrule.einsum import optimal as optimal_module

    monkeypatch.setattr(optimal_module, "BRANCH_NODE_BUDGET", 100)
    labels = "abcdefgh"
    inputs: Terms = [frozenset(x) for x in labels]
    sizes: dict[Hashable, int] = {x: 2 for x in labels}

    def search() -> None:
        with pytest.raises(ValueError, match="memory_limit=8"):
            optimal_module.branch(inputs, frozenset(labels), sizes, 8, None)

    assert _search_calls(search) < 1000
    # find_path falls back to pairs that fit and one n-ary step.
    path = find_path(inputs, frozenset(labels), sizes, "branch-all", memory_limit=8)
    assert fits(inputs, frozenset(labels), sizes, path, 8)
    assert validate_path(path, len(inputs)) == path and len(path[-1]) > 2


def test_an_nary_fallback_step_runs_in_a_cheap_order() -> None:
    from chainrule.einsum import contract, contract_path
    from chainrule.einsum.notation import parse
    from chainrule.einsum.plan import build_plan

    # ij,jk fits in 80 elements; no other pair does, so the fallback's last step takes ik, kl, lm at once.
    # Executed kl,lm first it would build a 40x60 intermediate (2400 elements, 240,000 FLOPs); ik,kl
    # first builds il (100 elements, 8,000 FLOPs).
    shapes = [(2, 30), (30, 40), (40, 50), (50, 60)]
    path, _ = contract_path("ij,jk,kl,lm->im", *shapes, memory_limit=80, shapes=True)
    assert path == [(0, 1), (0, 1, 2)]
    ops = [np.random.default_rng(3).random(s) for s in shapes]
    plan = build_plan(parse("ij,jk,kl,lm->im", *ops), [o.dtype for o in ops], np, path)
    sizes = {"i": 2, "j": 30, "k": 40, "l": 50, "m": 60}
    intermediates = [s.output for s in plan.steps if not s.pre][:-1]
    assert max(int(np.prod([sizes[x] for x in labels])) for labels in intermediates) <= 100
    assert len(plan.path) == 3 and all(len(step) == 2 for step in plan.path)
    np.testing.assert_allclose(
        contract("ij,jk,kl,lm->im", *ops, memory_limit=80), ops[0] @ ops[1] @ ops[2] @ ops[3]
    )
    # Without labels, normalize_path keeps the position order.
    from chainrule.einsum.plan import normalize_path

    assert normalize_path([(0, 1, 2)], 3) == [(0, 1), (0, 1)]
