"""Einsum on Dask arrays: cr.einsum against dask.array.einsum (and opt_einsum's dask backend).

The contraction is ``ab,bc,cd,de->ae`` (a = e = 400 in one chunk; b, c, d = 2000 in chunks of 250),
generated on the workers (``dask.array.random``), so no data passes through the client. While a graph
runs to its scalar sum, the workers' resident memory is sampled (psutil on their process ids, every
20 ms) and so are the bytes in their spill folders; the memory figure is the peak over both workers of
resident memory above what each held before the run.

- E1: a LocalCluster of 2 worker processes (1 thread each, 1200 MiB limit each), where every contender
  completes: time and peak worker memory (median and min-max over 3 repeats). The contenders run in
  turn within each repeat, so the ratios cr / anchor of time and of peak memory are taken within each
  repeat (paired); the line quotes their median with the min-max over the repeats where both
  completed (``_ratio.py``; marked NOISY above a 10% spread).
- E2: the same contraction on 2 workers whose limit leaves 64 MiB above an idle worker's memory before
  spilling starts (70% of the limit): where dask.array.einsum spills, pauses or is killed, and
  cr.einsum completes (spilled bytes, a killed worker or no result within 240 s count as failing).

dask.array.einsum is given ``optimize="greedy"`` (its default, ``False``, runs numpy's naive loop per
block and would only be slower). Usage: ``python benchmarks/bench_scale_einsum.py [E1 E2]``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from _ratio import ratio  # benchmarks/ is on sys.path (run.py, or run directly)

N_WORKERS = 2
MEMORY_LIMIT = "1200MiB"
REPEATS = 3
#: E2: each worker may grow this much above its idle memory before it spills (70% of its limit).
HEADROOM = 64 * 2**20
TIMEOUT = 240.0


def machine() -> str:
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _machine import machine_line

    return str(machine_line())


class Sampler:
    """Peak resident memory above the starting point of a set of processes, and the peak bytes in
    their spill directories, sampled in a thread every ``every`` seconds."""

    def __init__(self, pids: list[int], folders: list[str], every: float = 0.02) -> None:
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.folders = folders
        self.base = [self._rss(p) for p in self.procs]
        self.peak = [0] * len(pids)
        self.spilled = 0
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(p: Any) -> int:
        try:
            return int(p.memory_info().rss)
        except Exception:  # a worker that was killed (the nanny starts a new one)
            return 0

    def _disk(self) -> int:
        total = 0
        for folder in self.folders:
            for root, _, files in os.walk(folder):
                for name in files:
                    with contextlib.suppress(OSError):
                        total += os.stat(os.path.join(root, name)).st_size
        return total

    def _run(self) -> None:
        tick = 0
        while not self._stop.is_set():
            for k, p in enumerate(self.procs):
                self.peak[k] = max(self.peak[k], self._rss(p) - self.base[k])
            if tick % 10 == 0:
                self.spilled = max(self.spilled, self._disk())
            tick += 1
            time.sleep(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _trim() -> int:
    """Run on a worker: free what it can (gc, malloc_trim) so runs start from the same point."""
    import ctypes

    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return 0


def _spill_folder(dask_worker: Any) -> str:
    """Run on a worker: the folder its spill buffer writes to."""
    return str(dask_worker.local_directory)


def worker_rss(client: Any) -> list[int]:
    """Each worker's resident memory now, in bytes (after freeing what it can)."""
    import psutil

    client.run(_trim)
    pids = client.run(os.getpid).values()
    return [int(psutil.Process(p).memory_info().rss) for p in pids]


def run_once(client: Any, build: Callable[[], Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """Build a graph and run it to a scalar (its sum); time, peak worker memory, bytes spilled, and
    how it ended (a killed worker, or no result within ``timeout`` seconds: paused workers)."""
    from distributed import KilledWorker

    client.run(_trim)
    pids = list(client.run(os.getpid).values())
    folders = list(client.run(_spill_folder).values())
    result: dict[str, Any] = {"ok": False, "seconds": float("nan"), "peak": 0, "spilled": 0}
    graph = build()
    start = time.perf_counter()
    with Sampler(pids, folders) as sampler:
        future = client.compute(graph.sum())
        try:
            value = future.result(timeout=timeout)
            result["ok"] = bool(np.isfinite(value))
            result["value"] = float(value)
        except KilledWorker:
            result["error"] = "a worker was killed at its memory limit"
        except TimeoutError:
            result["error"] = f"no result within {timeout:.0f} s (workers paused at their limit)"
        except Exception as exc:  # e.g. the scheduler lost a worker another way
            result["error"] = f"{type(exc).__name__}: {str(exc)[:80]}"
        finally:
            future.cancel()
    result["seconds"] = time.perf_counter() - start
    result["peak"] = max(sampler.peak)
    result["spilled"] = sampler.spilled
    if result["spilled"] and "error" not in result:
        result["ok"] = False
        result["error"] = "spilled to disk"
    return result


#: The contraction: a chain of four whose three contracted labels are long and in many chunks.
SUBSCRIPTS = "ab,bc,cd,de->ae"
SIZES = {"a": 400, "b": 2000, "c": 2000, "d": 2000, "e": 400}
CHUNKS = {"a": 400, "b": 250, "c": 250, "d": 250, "e": 400}


def operands(da: Any) -> list[Any]:
    """The operands, generated on the workers (standard normal / sqrt(rows), so sums stay O(1))."""
    rng = da.random.default_rng(0)
    return [
        rng.standard_normal(tuple(SIZES[x] for x in t), chunks=tuple(CHUNKS[x] for x in t))
        / np.sqrt(SIZES[t[0]])
        for t in SUBSCRIPTS.split("->")[0].split(",")
    ]


def contenders(subscripts: str, ops: list[Any]) -> dict[str, Callable[[], Any]]:
    import dask.array as da

    out: dict[str, Callable[[], Any]] = {
        "cr.einsum": lambda: cr.einsum(subscripts, *ops),
        "dask.array.einsum": lambda: da.einsum(subscripts, *ops, optimize="greedy"),
    }
    try:
        import opt_einsum

        out["opt_einsum(dask)"] = lambda: opt_einsum.contract(subscripts, *ops, backend="dask")
    except ImportError:
        print("note: opt_einsum is not installed; its anchor is skipped")
    return out


def warm_up(client: Any, subscripts: str) -> None:
    """Run every contender once on tiny operands: the workers import what they need before timing."""
    import dask.array as da

    terms = subscripts.split("->")[0].split(",")
    tiny = [da.ones((4,) * len(t), chunks=2) for t in terms]
    for build in contenders(subscripts, tiny).values():
        client.compute(build().sum(), sync=True)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})"


def describe() -> str:
    chunks = ", ".join(f"{x}={CHUNKS[x]}" for x in CHUNKS)
    sizes = ", ".join(f"{x}={SIZES[x]}" for x in SIZES)
    return f"{SUBSCRIPTS} (sizes {sizes}; chunks {chunks}; float64)"


def case_e1(client: Any) -> None:
    """Both complete: time and peak worker memory over repeats, ratios cr / anchor."""
    import dask.array as da

    ops = operands(da)
    print(f"E1 {describe()}, {N_WORKERS} workers x 1 thread, limit {MEMORY_LIMIT} each")
    _, info = cr.einsum_path(SUBSCRIPTS, *ops)
    assert info.dask is not None
    print(
        f"   cr plan: path {info.path}, {info.dask.total_tasks} tasks, "
        f"estimated peak bytes per task {info.dask.peak_bytes / 2**20:.2f} MiB"
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(REPEATS):
        for name, build in contenders(SUBSCRIPTS, ops).items():
            runs.setdefault(name, []).append(run_once(client, build))
    ours = runs["cr.einsum"]
    for name, rs in runs.items():
        ok = [r for r in rs if r["ok"]]
        if len(ok) != len(rs):
            print(
                f"   {name:<18} {len(rs) - len(ok)} of {len(rs)} runs failed: {rs[0].get('error')}"
            )
        if not ok:
            continue
        secs = [r["seconds"] for r in ok]
        peaks = [r["peak"] / 2**20 for r in ok]
        line = f"   {name:<18} time {spread(secs)} s, peak worker memory {spread(peaks)} MiB"
        both = [(a, b) for a, b in zip(ours, rs, strict=True) if a["ok"] and b["ok"]]
        if name != "cr.einsum" and both:
            t_ratio = ratio([a["seconds"] for a, _ in both], [b["seconds"] for _, b in both])
            m_ratio = ratio([a["peak"] for a, _ in both], [max(b["peak"], 1) for _, b in both])
            line += (
                f"\n   {'':<18} cr/anchor over {len(both)} paired repeats: time {t_ratio}"
                f"\n   {'':<18} cr/anchor over {len(both)} paired repeats: peak memory {m_ratio}"
            )
        print(line)
    values = [r["value"] for rs in runs.values() for r in rs if r["ok"]]
    print(f"   all results agree (rtol 1e-8): {bool(np.allclose(values, values[0], rtol=1e-8))}")


def case_e2(limit: int) -> None:
    """The same contraction on workers whose limit leaves HEADROOM above idle memory before spilling."""
    import dask.array as da
    import distributed

    print(
        f"E2 the same contraction, {N_WORKERS} workers x 1 thread, limit {limit / 2**20:.0f} MiB each "
        f"(spilling starts at 70%: {HEADROOM / 2**20:.0f} MiB above an idle worker)"
    )
    with (
        distributed.LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=1,
            processes=True,
            memory_limit=limit,
            dashboard_address=":0",
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        warm_up(client, SUBSCRIPTS)
        ops = operands(da)
        for name, build in contenders(SUBSCRIPTS, ops).items():
            r = run_once(client, build)
            status = "completes" if r["ok"] else f"fails: {r.get('error')}"
            print(
                f"   {name:<18} {status} ({r['seconds']:.3g} s, peak worker memory "
                f"{r['peak'] / 2**20:.0f} MiB, spilled {r['spilled'] / 2**20:.0f} MiB)"
            )


def main(argv: list[str] | None = None) -> None:
    try:
        import distributed
        import psutil  # noqa: F401
    except ImportError as exc:
        print(f"note: {exc.name} is not installed; the scale_einsum section is skipped")
        return
    wanted = set(argv or [])
    print(machine())
    import warnings

    warnings.filterwarnings("ignore", module="dask")  # dask.array.einsum's PerformanceWarning
    with (
        distributed.LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=1,
            processes=True,
            memory_limit=MEMORY_LIMIT,
            dashboard_address=":0",
            silence_logs=50,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        warm_up(client, SUBSCRIPTS)
        idle = max(worker_rss(client))
        print(f"idle worker memory: {idle / 2**20:.0f} MiB")
        if not wanted or "E1" in wanted:
            case_e1(client)
    if not wanted or "E2" in wanted:
        case_e2(int((idle + HEADROOM) / 0.7))


if __name__ == "__main__":
    main(sys.argv[1:])
