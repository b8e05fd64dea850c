"""File-reading benchmarks F1-F3: what refusing a crafted file costs (issue 9), and reading a good one.

- F1: the 1.5 MB zip bomb: a ``chainrule.nn`` archive with good metadata whose ``a0.npy`` member (deflated,
  header and zip sizes honest) inflates to 1.5 GB of zeros.
- F2: the 130-byte ``.npy`` header declaring 10¹² float64 elements: as a bare file, and as an archive
  member declared by the metadata.
- F3: a good file: an MLP 784-256-256-10 (float64, 2.1 MB), to show what the checks cost when they pass.

For each: the time of ``nn.load``, its peak memory as tracemalloc sees it (Python and numpy allocations),
and the peak RSS growth of a fresh process that does only that (the ``ru_maxrss`` of a child, after its
imports). The anchor is ``np.load(..., allow_pickle=False)`` on the same file, reading every member (what a
loader built on it does first); where numpy allocates the bomb's 1.5 GB, or raises MemoryError for 8 TB,
the line says so. Ratios are chainrule / numpy (below 1 is cheaper).

Time: chainrule and numpy run in alternating repeats (3 for F1, whose numpy read takes seconds; 7 for the
others), each repeat the mean of enough calls to last ``BUDGET_S`` (calibrated on a first, untimed call of
each; a first call longer than that is the anchor's figure for repeat 1, not repeated). The printed
times are the medians; the time ratio is the median of the per-repeat ratios with their min-max
(``_ratio.py``, printed to three significant digits; marked NOISY above a 10% spread). Memory: one
measurement each (tracemalloc counts the bytes allocated, the same in every run).

Run: ``python benchmarks/bench_files.py`` (or ``python benchmarks/run.py files``);
``--no-numpy-bomb`` skips numpy's 1.5 GB read of the bomb.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from _machine import machine_line
from _ratio import Ratio, ratio
from chainrule import nn

BOMB_MIB = 1500
#: Seconds each side of a repeat lasts at least (short calls are repeated within it).
BUDGET_S = 0.05


# -- the crafted files --------------------------------------------------------------------------------
def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    body = (text + " " * (-(10 + len(text) + 1) % 64) + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def meta_member(state: dict[str, Any]) -> bytes:
    meta = {"format": "chainrule.nn", "format_version": 1, "kind": "state", "class": "dict"}
    raw = json.dumps({**meta, "state": state}).encode()
    return npy_header((len(raw),), "|u1") + raw


def raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip of ``(name, data as stored, method, crc, uncompressed size)`` members (no zip64)."""
    out, central = bytearray(), bytearray()
    for name, data, method, crc, size in members:
        offset, encoded = len(out), name.encode()
        common = (20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", *common) + encoded + data
        central += struct.pack("<4sH5H3L2H", b"PK\x01\x02", 20, *common)
        central += struct.pack("<3HLL", 0, 0, 0, 0, offset) + encoded
    n = len(members)
    return bytes(
        out
        + central
        + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out), 0)
    )


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    return (name, data, 0, zlib.crc32(data), len(data))


def bomb(mib: int) -> bytes:
    """F1: metadata declaring a0 as (2,) float64; a0.npy inflates to ``mib`` MiB (about 1 KiB per MiB)."""
    count = (mib << 20) // 8
    header = npy_header((count,))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    head = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    packed = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    data = head + packed * mib + c.flush()
    crc = zlib.crc32(header)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    meta = meta_member({"w": {"__array__": "a0", "shape": [2], "dtype": "<f8"}})
    return raw_zip(
        [stored("__chainrule__.npy", meta), ("a0.npy", data, 8, crc, len(header) + (mib << 20))]
    )


def header_130() -> bytes:
    """F2: a 128-byte .npy header declaring 10¹² float64, and two bytes of data."""
    data = npy_header((10**12,)) + b"\0\0"
    assert len(data) == 130
    return data


def header_member() -> bytes:
    """F2 as an archive member, its shape declared by the metadata too."""
    meta = meta_member({"w": {"__array__": "a0", "shape": [10**12], "dtype": "<f8"}})
    return raw_zip([stored("__chainrule__.npy", meta), stored("a0.npy", header_130())])


# -- measuring ------------------------------------------------------------------------------------------
def chainrule_load(path: str) -> str:
    try:
        nn.load(path)
    except ValueError as exc:
        return "ValueError: " + str(exc).split(" file (", 1)[-1].rstrip(")")[:70]
    return "loaded"


def numpy_load(path: str) -> str:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if isinstance(archive, np.ndarray):
                return f"loaded {archive.nbytes / 2**20:.0f} MiB"
            n = sum(archive[k].nbytes for k in archive.files)
            return f"loaded {n / 2**20:.0f} MiB"
    except MemoryError as exc:
        return f"MemoryError ({str(exc)[:40]})"
    except ValueError as exc:
        return f"ValueError ({str(exc).splitlines()[0][:40]})"


TOOLS: dict[str, Callable[[str], str]] = {"chainrule": chainrule_load, "numpy": numpy_load}


def _mean_of(fn: Callable[[], str], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def alternating(
    ours: Callable[[], str], anchor: Callable[[], str], repeats: int
) -> tuple[list[float], list[float], str, str]:
    """Paired timings: seconds per call of ``ours`` and ``anchor`` in ``repeats`` alternating repeats,
    each the mean of enough calls to last :data:`BUDGET_S` (calibrated per side on a first call); and
    each side's outcome. An anchor whose first call lasts longer than the budget is not run again for
    warm-up: that call is its figure in repeat 1 (taken just before ours')."""
    counts, firsts, outcomes = [], [], []
    for fn in (ours, anchor):
        t0 = time.perf_counter()
        outcomes.append(fn())
        first = time.perf_counter() - t0
        counts.append(max(1, int(BUDGET_S / max(first, 1e-7))))
        firsts.append(first)
    mine: list[float] = []
    theirs: list[float] = []
    for r in range(repeats):
        mine.append(_mean_of(ours, counts[0]))
        if r == 0 and firsts[1] >= BUDGET_S:
            theirs.append(firsts[1])
        else:
            theirs.append(_mean_of(anchor, counts[1]))
    return mine, theirs, outcomes[0], outcomes[1]


def traced_peak(fn: Callable[[str], str], path: str) -> int:
    """tracemalloc's peak bytes over one call."""
    tracemalloc.start()
    fn(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def ratio_text(r: Ratio) -> str:
    """A :class:`Ratio` as ``_ratio.py`` prints it, to three significant digits (they reach 1e-5)."""
    mark = f"  NOISY (spread {r.spread:.0%})" if r.noisy else ""
    return f"{r.median:#.3g}x ({r.lo:#.3g}-{r.hi:#.3g}){mark}"


def child_rss(tool: str, path: str) -> int:
    """Peak RSS growth (bytes) of a fresh process that imports everything, then runs ``tool`` once."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", tool, path],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[-1])


def _peak_rss() -> int:
    """This process's peak RSS in bytes: VmHWM (Linux: of this program image, not inherited from the
    parent across fork and exec as ``ru_maxrss`` is), else ``ru_maxrss``."""
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _child(tool: str, path: str) -> None:
    before = _peak_rss()
    TOOLS[tool](path)
    print(_peak_rss() - before)


def mib(n: float) -> str:
    return f"{n / 2**20:8.1f} MiB"


def report(label: str, path: str, numpy_too: bool, repeats: int) -> None:
    size = os.path.getsize(path)
    print(f"{label} ({size:,} bytes)")
    if numpy_too:
        mine, theirs, *outcomes = alternating(
            lambda: chainrule_load(path), lambda: numpy_load(path), repeats
        )
        times = {"chainrule": mine, "numpy": theirs}
    else:
        t0 = time.perf_counter()
        outcomes = [chainrule_load(path)]
        calls = max(1, int(BUDGET_S / max(time.perf_counter() - t0, 1e-7)))
        times = {
            "chainrule": [_mean_of(lambda: chainrule_load(path), calls) for _ in range(repeats)]
        }
    rows = {}
    for tool, outcome in zip(("chainrule", "numpy"), outcomes, strict=False):
        t = statistics.median(times[tool])
        peak = traced_peak(TOOLS[tool], path)
        rss = child_rss(tool, path)
        rows[tool] = (peak, rss)
        traced = f"tracemalloc peak {mib(peak)}"
        if outcome.startswith("MemoryError"):  # numpy reports the failed request to tracemalloc
            traced = f"(tracemalloc: {mib(peak).strip()} asked)"
            rows[tool] = (0, rss)
        print(f"  {tool:<10} {t * 1e3:10.2f} ms  {traced}  RSS growth {mib(rss)}  {outcome}")
    if not numpy_too:
        print("  numpy       skipped (--no-numpy-bomb)")
        return
    (p1, r1), (p2, r2) = rows["chainrule"], rows["numpy"]
    r = ratio(times["chainrule"], times["numpy"])
    head = f"chainrule / numpy, {repeats} paired repeats"
    print(f"  ratio      time ({head}): {ratio_text(r)}")
    memory = (f"   tracemalloc {p1 / p2:.3g}" if p2 else "") + (
        f"   RSS {r1 / r2:.3g}" if r2 > 1 << 20 else ""
    )
    if memory:
        print(f"  ratio     {memory}   (chainrule / numpy; memory: one measurement each)")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    print(machine_line(f"numpy {np.__version__}"))
    with tempfile.TemporaryDirectory() as folder:
        here = pathlib.Path(folder)
        t0 = time.perf_counter()
        (here / "bomb.npz").write_bytes(bomb(BOMB_MIB))
        built = time.perf_counter() - t0
        print(f"(built the F1 bomb in {built:.2f} s: {BOMB_MIB} MiB of zeros behind it)\n")
        report(
            f"F1 zip bomb: a0.npy inflates to {BOMB_MIB} MiB",
            str(here / "bomb.npz"),
            "--no-numpy-bomb" not in args,
            3,
        )
        (here / "huge.npy").write_bytes(header_130())
        report(
            "F2 130-byte .npy header, 10^12 float64 (bare file)", str(here / "huge.npy"), True, 7
        )
        (here / "huge.npz").write_bytes(header_member())
        report("F2 the same header as an archive member", str(here / "huge.npz"), True, 7)
        rng = np.random.default_rng(0)
        good = nn.save(nn.MLP([784, 256, 256, 10], rng=rng), here / "mlp")
        report("F3 a good file: MLP 784-256-256-10, float64", good, True, 7)
    print(
        "\nnumpy's lazy NpzFile reads nothing until a member is asked for; reading F1's member it "
        "allocates and inflates the whole 1.5 GB, and for F2 it asks for 8 TB (MemoryError). "
        "chainrule refuses both from the zip directory and the 130-byte header."
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
