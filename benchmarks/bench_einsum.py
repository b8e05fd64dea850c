"""Einsum section: chainrule.einsum against numpy.einsum, opt_einsum and torch.einsum (workloads E1–E10).

Per workload: chainrule's median time and, per anchor, the ratio chainrule / anchor from
``_ratio.interleaved`` (median of paired per-repeat ratios, min–max, NOISY above a 10% spread); the
kernel decisions of its measured steps (``einsum_path``'s ``tuned:`` line); and the physical limit it
runs against: for the memory-bound E1–E4 the bytes read per second as a fraction of the machine's
measured read bandwidth, for the matmul-shaped E5, E8 and E9 the FLOP rate as a fraction of the measured
2000×2000 matmul ceiling (NumPy's BLAS; torch's own ceiling next to torch's rate). Then why torch is
faster on E8, the E6 per-call ratios, path-search timings, FLOPs against opt_einsum's 'auto', and peak
memory on E5 and E10. torch runs on the same arrays (``torch.from_numpy``, float64) with as many threads
as this process may use. Anchors that are not installed are skipped with a note; NumPy
``optimize=False`` is skipped on the workloads that take minutes.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from _machine import machine_line, usable_cores
from _ratio import interleaved, ratio_text
from chainrule.einsum import api as ce
from chainrule.einsum import tuning

try:
    import opt_einsum
except ImportError:  # pragma: no cover - anchor missing
    opt_einsum = None

# torch's OpenMP threads spin for a while after each call and would slow the NumPy call interleaved
# after it: make them sleep at once (libgomp reads this when torch loads it, so only if not yet loaded).
TORCH_PASSIVE = "torch" not in sys.modules
if TORCH_PASSIVE:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
try:
    import torch

    torch.set_num_threads(usable_cores())
except ImportError:  # pragma: no cover - anchor missing
    torch = None

# id, subscripts, shapes, NumPy optimize=False skip note (None: run it), limit ("memory", "compute", None)
WORKLOADS: list[tuple[str, str, list[tuple[int, ...]], str | None, str | None]] = [
    ("E1", "ijk,i->jk", [(200, 300, 400), (200,)], None, "memory"),
    ("E2", "ijkl->ik", [(60, 70, 80, 90)], None, "memory"),
    ("E3", "ijkl->ki", [(60, 70, 80, 90)], None, "memory"),
    ("E4", "ijk,ijk->i", [(400, 300, 200)], None, "memory"),  # the same array twice
    ("E5", "de,fe,fl->dl", [(2000, 500), (1000, 500), (1000, 2000)], "~15 min", "compute"),
    ("E6", "ij,jk->ik", [(8, 8), (8, 8)], None, None),
    ("E7", "ea,fb,abcd,gc,hd->efgh", [(10, 10)] * 2 + [(10,) * 4] + [(10, 10)] * 2, None, None),
    (
        "E7b",
        "ea,fb,abcd,gc,hd->efgh",
        [(30, 30)] * 2 + [(30,) * 4] + [(30, 30)] * 2,
        "~33 min",
        None,
    ),
    ("E8", "bij,bjk->bik", [(64, 128, 128), (64, 128, 128)], None, "compute"),
    ("E9", "...ij,...jk->...ik", [(16, 8, 64, 64), (16, 8, 64, 64)], None, "compute"),
    (
        "E10",
        "ab,bc,cd,de,ef->af",
        [(1000, 10), (10, 1000), (1000, 10), (10, 1000), (1000, 10)],
        "~1 h",
        None,
    ),
]


def median_time(fn: Callable[[], Any], budget: float = 0.4, repeats: int = 7) -> float:
    """Median seconds per call: ``repeats`` batches of as many calls as fit ``budget / repeats``."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(budget / repeats / one))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def operands_for(
    wid: str, shapes: list[tuple[int, ...]], rng: np.random.Generator
) -> list[np.ndarray]:
    if wid == "E4":
        x = rng.random(shapes[0])
        return [x, x]
    return [rng.random(s) for s in shapes]


def matmul_ceiling() -> float:
    """GFLOP/s of NumPy's (its BLAS's) 2000×2000 float64 matmul: the compute ceiling."""
    a = np.random.default_rng(1).random((2000, 2000))
    t = median_time(lambda: a @ a, budget=1.5, repeats=5)
    return 2 * 2000**3 / t / 1e9


def torch_ceiling() -> float | None:
    """GFLOP/s of torch's 2000×2000 float64 matmul (its own BLAS), or None without torch."""
    if torch is None:
        return None
    a = torch.from_numpy(np.random.default_rng(1).random((2000, 2000)))
    t = median_time(lambda: a @ a, budget=1.5, repeats=5)
    time.sleep(0.3)  # let torch's worker threads go idle before NumPy runs again
    return 2 * 2000**3 / t / 1e9


def read_bandwidth() -> float:
    """GB/s of the fastest streaming read of 256 MB: BLAS gemv (all threads) or NumPy's sum (one)."""
    x = np.random.default_rng(2).random((4096, 8192))
    ones = np.ones(8192)
    t = min(
        median_time(lambda: x @ ones, budget=1.0, repeats=5),
        median_time(lambda: x.sum(), budget=1.0, repeats=5),
    )
    return x.nbytes / t / 1e9


def settle(fn: Callable[[], Any], subs: str, ops: list[np.ndarray]) -> None:
    """Call ``fn`` until every measured step of its plan has decided (at most 60 calls or 10 s)."""
    _, info = ce.einsum_path(subs, *ops)
    tuners = [s.tuner for s in info.steps if s.tuner is not None]
    deadline = time.perf_counter() + 10.0
    for _ in range(60):
        fn()
        if all(t.key is None or tuning.recall(t.key) is not None for t in tuners):
            break
        if time.perf_counter() > deadline:
            break


def decisions(subs: str, ops: list[np.ndarray]) -> str:
    """The kernel decisions of the plan's measured steps, as ``einsum_path`` reports them ('' if none).

    A fresh plan adopts the decisions that the cached plan's calls made."""
    _, info = ce.einsum_path(subs, *ops)
    return "; ".join(s.tuner.describe() for s in info.steps if s.tuner is not None)


def paired(
    ours: Callable[[], Any], anchor: Callable[[], Any], repeats: int = 7
) -> tuple[list[float], list[float]]:
    """``_ratio.interleaved`` with its per-repeat budget scaled down for an anchor much slower than ours.

    ``interleaved`` sizes each repeat (the same number of calls of both) on ours alone; an anchor 1000
    times slower would then run for minutes. A first call of each sets the budget so that the slower of
    the two runs for about 0.05 s per repeat (at least one call each).
    """
    t0 = time.perf_counter()
    ours()
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    anchor()
    t_anchor = time.perf_counter() - t0
    budget = 0.05 * min(1.0, max(t_ours, 1e-7) / max(t_anchor, 1e-7))
    return interleaved(ours, anchor, repeats=repeats, budget=budget)


def anchors_for(
    subs: str, ops: list[np.ndarray], slow_note: str | None
) -> list[tuple[str, Callable[[], Any] | None]]:
    """(name, callable or None when not installed/skipped) per anchor, in print order."""
    found: list[tuple[str, Callable[[], Any] | None]] = [
        ("numpy optimize=True", lambda: np.einsum(subs, *ops, optimize=True)),
        ("numpy optimize=False", None if slow_note else lambda: np.einsum(subs, *ops)),
        ("opt_einsum", None if opt_einsum is None else lambda: opt_einsum.contract(subs, *ops)),
    ]
    if torch is not None:
        tops = [torch.from_numpy(o) for o in ops]
        found.append(("torch", lambda: torch.einsum(subs, *tops)))
    else:
        found.append(("torch", None))
    return found


def limit_line(
    kind: str | None, subs: str, ops: list[np.ndarray], seconds: float, ceilings: dict[str, float]
) -> str:
    if kind == "memory":
        read = sum({id(o): o.nbytes for o in ops}.values())
        rate = read / seconds / 1e9
        return (
            f"limit: reads {read / 1e6:.0f} MB at {rate:.1f} GB/s = "
            f"{100 * rate / ceilings['bandwidth']:.0f}% of the measured read bandwidth "
            f"({ceilings['bandwidth']:.1f} GB/s)"
        )
    if kind == "compute":
        _, info = ce.einsum_path(subs, *ops)
        rate = info.opt_cost / seconds / 1e9
        return (
            f"limit: {rate:.1f} GFLOP/s = {100 * rate / ceilings['matmul']:.0f}% of the measured matmul "
            f"ceiling ({ceilings['matmul']:.1f} GFLOP/s)"
        )
    return ""


def bench_workloads(ceilings: dict[str, float]) -> dict[str, dict[str, list[float]]]:
    """Print every workload; return per workload the paired timings against torch (for E8's note)."""
    rng = np.random.default_rng(0)
    print("chainrule / anchor: median of 7 interleaved repeats (min-max); NOISY: spread above 10%")
    print("targets: <= 1.00 against numpy optimize=True and opt_einsum\n")
    kept: dict[str, dict[str, list[float]]] = {}
    for wid, subs, shapes, slow_note, kind in WORKLOADS:
        ops = operands_for(wid, shapes, rng)

        def ours(s: str = subs, o: list[np.ndarray] = ops) -> Any:
            return ce.einsum(s, *o)

        settle(ours, subs, ops)
        mine_all: list[float] = []
        lines = []
        for name, anchor in anchors_for(subs, ops, slow_note):
            if anchor is None:
                why = f"skipped ({slow_note})" if name.endswith("False") else "not installed"
                lines.append(f"       / {name:<21} {why}")
                continue
            mine, theirs = paired(ours, anchor)
            if name == "torch":
                time.sleep(0.3)  # torch's worker threads go idle before the next workload
                kept[wid] = {"ours": mine, "torch": theirs}
            mine_all += mine
            lines.append(
                f"       / {name:<21} {fmt(statistics.median(theirs)):>10}  {ratio_text(mine, theirs)}"
            )
        t_ours = statistics.median(mine_all)
        print(f"{wid:<4} {subs}  {' '.join(str(s) for s in shapes)}")
        print(f"       chainrule {fmt(t_ours):>22}")
        for line in lines:
            print(line)
        chosen = decisions(subs, ops)
        if chosen:
            print(f"       kernel: {chosen}")
        limit = limit_line(kind, subs, ops, t_ours, ceilings)
        if limit:
            print(f"       {limit}")
        print(flush=True)
    if opt_einsum is None:
        print("note: opt_einsum is not installed; its ratios are skipped")
    if torch is None:
        print("note: torch is not installed; its ratios are skipped")
    return kept


def bench_e6_per_call() -> None:
    """E6 (8×8 matmul): the per-call overhead against NumPy's two modes."""
    a, b = np.ones((8, 8)), np.ones((8, 8))
    ours = lambda: ce.einsum("ij,jk->ik", a, b)  # noqa: E731
    loop = paired(ours, lambda: np.einsum("ij,jk->ik", a, b), repeats=9)
    opt = paired(ours, lambda: np.einsum("ij,jk->ik", a, b, optimize=True), repeats=9)
    print(
        f"E6 per call: {ratio_text(*loop)} numpy(optimize=False) (target <= 2.0), "
        f"{ratio_text(*opt)} numpy(optimize=True) (target <= 0.5)"
    )


def bench_e8_torch(ceilings: dict[str, float], pairs: dict[str, dict[str, list[float]]]) -> None:
    """Why torch is faster on E8 (64 products of 128×128 matrices), and how close we get."""
    if torch is None or "E8" not in pairs:
        print("E8 vs torch: skipped (torch is not installed)")
        return
    rng = np.random.default_rng(3)
    a, b = rng.random((64, 128, 128)), rng.random((64, 128, 128))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    flops = 2 * 64 * 128**3
    mine, theirs = pairs["E8"]["ours"], pairs["E8"]["torch"]
    plain = paired(lambda: ce.einsum("bij,bjk->bik", a, b), lambda: np.matmul(a, b))
    time.sleep(0.3)
    one_np, one_torch = paired(lambda: a[0] @ b[0], lambda: ta[0] @ tb[0])
    time.sleep(0.3)
    print("E8 vs torch: where the time goes (torch was 2x faster in earlier runs)")
    rate_ours = flops / statistics.median(mine) / 1e9
    rate_torch = flops / statistics.median(theirs) / 1e9
    tc = ceilings.get("torch")
    torch_pct = (
        f" = {100 * rate_torch / tc:.0f}% of torch's own matmul ceiling ({tc:.1f})" if tc else ""
    )
    print(
        f"  chainrule {rate_ours:.1f} GFLOP/s = {100 * rate_ours / ceilings['matmul']:.0f}% of NumPy's "
        f"matmul ceiling ({ceilings['matmul']:.1f}); torch {rate_torch:.1f} GFLOP/s{torch_pct}"
    )
    print(f"  chainrule / torch: {ratio_text(mine, theirs)}")
    print(
        f"  chainrule / np.matmul (the one call it makes): {ratio_text(*plain)} "
        "(about 1.00: the plan adds nothing, the gap is in the BLAS call underneath)"
    )
    print(
        f"  one 128x128x128 product, NumPy / torch: {ratio_text(one_np, one_torch)} "
        f"({fmt(statistics.median(one_np))} vs {fmt(statistics.median(one_torch))})"
    )
    print(
        "  NumPy's stacked matmul calls its BLAS gemm once per item, one item after another, each gemm "
        "split across the BLAS threads (128^3 is above OpenBLAS's single-thread size 64^3, so the "
        "two-thread batch split does not apply); torch hands the whole batch to its BLAS (MKL) and its "
        "OpenMP threads, and its per-item gemm kernel is compared on the line above."
    )


def random_network(
    n: int, regularity: int, rng: random.Random
) -> tuple[list[list[int]], list[int], dict[int, int]]:
    """A random tensor network: each label joins two tensors; a few open labels form the output."""
    n_edges = n * regularity // 2
    terms: list[list[int]] = [[] for _ in range(n)]
    sizes: dict[int, int] = {}
    for e in range(n_edges):
        i, j = rng.sample(range(n), 2)
        terms[i].append(e)
        terms[j].append(e)
        sizes[e] = rng.choice([2, 3, 4, 5])
    output = []
    for k in range(3):
        label = n_edges + k
        terms[rng.randrange(n)].append(label)
        sizes[label] = 2
        output.append(label)
    for t in terms:
        if not t:
            label = len(sizes)
            t.append(label)
            sizes[label] = 2
            output.append(label)
    return terms, output, sizes


def sublist_args(terms: list[list[int]], output: list[int], sizes: dict[int, int]) -> list[Any]:
    args: list[Any] = []
    for t in terms:
        args += [tuple(sizes[x] for x in t), list(t)]
    args.append(list(output))
    return args


def letters_expression(terms: list[list[int]], output: list[int]) -> str:
    from chainrule.einsum.notation import label_letters

    letters = label_letters([x for t in terms for x in t])
    return (
        ",".join("".join(letters[x] for x in t) for t in terms)
        + "->"
        + "".join(letters[x] for x in output)
    )


def bench_paths() -> None:
    rng = random.Random(0)
    print("\npath search")
    terms, output, sizes = random_network(200, 3, rng)
    args = sublist_args(terms, output, sizes)
    t = median_time(lambda: ce.einsum_path(*args, optimize="greedy"), budget=1.0, repeats=3)
    print(f"  greedy, random 200-operand network: {t * 1e3:.1f} ms (target < 100 ms)")
    # A label held by every operand (a shared batch axis) must not make every pair a candidate.
    batch = max(sizes) + 1
    shared = sublist_args([[*tm, batch] for tm in terms], [*output, batch], {**sizes, batch: 2})
    t_shared = median_time(
        lambda: ce.einsum_path(*shared, optimize="greedy"), budget=1.0, repeats=3
    )
    print(
        f"  greedy, same network with a label shared by all 200: {t_shared * 1e3:.1f} ms "
        f"({t_shared / t:.2f}x the plain network)"
    )
    if opt_einsum is not None:
        shapes = [tuple(sizes[x] for x in tm) for tm in terms]
        expr = letters_expression(terms, output)
        mine, theirs = paired(
            lambda: ce.einsum_path(*args, optimize="greedy"),
            lambda: opt_einsum.contract_path(expr, *shapes, shapes=True, optimize="greedy"),
            repeats=5,
        )
        print(
            f"  opt_einsum greedy, same network: {fmt(statistics.median(theirs))}; chainrule / "
            f"opt_einsum: {ratio_text(mine, theirs)}"
        )
    terms, output, sizes = random_network(10, 3, rng)
    args = sublist_args(terms, output, sizes)
    t0 = time.perf_counter()
    ce.einsum_path(*args, optimize="optimal")
    print(
        f"  optimal, random 10-operand network: {(time.perf_counter() - t0) * 1e3:.0f} ms (target < 1 s)"
    )

    if opt_einsum is None:
        print("  note: opt_einsum is not installed; FLOP comparison skipped")
        return
    print(
        "\noptimized FLOPs, chainrule 'auto' / opt_einsum 'auto' (<= 1.00 everywhere is the target)"
    )
    worst = 0.0
    for wid, subs, shapes, _, _ in WORKLOADS:
        if wid == "E4":
            shapes = shapes * 2  # the same array twice
        _, info = ce.einsum_path(subs, *shapes)
        _, oe_info = opt_einsum.contract_path(subs, *shapes, shapes=True, optimize="auto")
        r = info.opt_cost / float(oe_info.opt_cost)
        worst = max(worst, r)
        print(f"  {wid:<4} {info.opt_cost:.3e} / {float(oe_info.opt_cost):.3e} = {r:.3f}")
    count = 0
    for n in (3, 5, 7, 9, 12, 20, 40):
        for _ in range(5):
            terms, output, sizes = random_network(n, 3, rng)
            shapes = [tuple(sizes[x] for x in tm) for tm in terms]
            expr = letters_expression(terms, output)
            _, info = ce.einsum_path(expr, *shapes)
            _, oe_info = opt_einsum.contract_path(expr, *shapes, shapes=True, optimize="auto")
            worst = max(worst, info.opt_cost / float(oe_info.opt_cost))
            count += 1
    print(f"  worst ratio over E1-E10 and {count} random networks (3-40 operands): {worst:.3f}")


def peak_bytes(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def bench_memory() -> None:
    print("\npeak memory (tracemalloc, MB): chainrule vs numpy optimize=True")
    rng = np.random.default_rng(0)
    for wid, subs, shapes, _, _ in WORKLOADS:
        if wid not in ("E5", "E10"):
            continue
        ops = operands_for(wid, shapes, rng)
        ce.einsum(subs, *ops)  # plan cached outside the measurement
        ours = peak_bytes(lambda s=subs, o=ops: ce.einsum(s, *o))
        theirs = peak_bytes(lambda s=subs, o=ops: np.einsum(s, *o, optimize=True))
        print(f"  {wid}: {ours / 1e6:.2f} vs {theirs / 1e6:.2f} ({ours / max(theirs, 1):.2f}x)")


def main() -> None:
    print(
        machine_line(f"torch {torch.__version__}" if torch is not None else "torch not installed")
    )
    if torch is not None:
        policy = os.environ.get("OMP_WAIT_POLICY", "unset")
        loaded = "" if TORCH_PASSIVE else " (torch was loaded before this section: may not apply)"
        print(f"torch: {torch.get_num_threads()} threads, OMP_WAIT_POLICY={policy}{loaded}")
    tune = "on" if tuning.tuning_enabled() else "off"
    print(f"kernel tuning: {tune} ({tuning.ENV_VAR}={os.environ.get(tuning.ENV_VAR, '')!r})")
    ceilings = {"matmul": matmul_ceiling(), "bandwidth": read_bandwidth()}
    tc = torch_ceiling()
    if tc is not None:
        ceilings["torch"] = tc
    print(f"matmul ceiling (numpy 2000x2000 float64): {ceilings['matmul']:.1f} GFLOP/s")
    if tc is not None:
        print(f"matmul ceiling (torch 2000x2000 float64): {tc:.1f} GFLOP/s")
    print(
        f"read bandwidth (256 MB, best of BLAS gemv and numpy sum): {ceilings['bandwidth']:.1f} GB/s\n"
    )
    torch_pairs = bench_workloads(ceilings)
    bench_e6_per_call()
    bench_e8_torch(ceilings, torch_pairs)
    bench_paths()
    bench_memory()


if __name__ == "__main__":
    main()
