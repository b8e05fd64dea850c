"""The machine a benchmark ran on, printed by every section that names it (one reading of /proc/cpuinfo)."""

from __future__ import annotations

import os
import pathlib
import platform


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, or what ``platform`` knows."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 0


def isa_flags() -> list[str]:
    """The ISA extensions that decide which kernels win (AVX2, FMA, AVX-512F), as /proc/cpuinfo lists them."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in ("avx2", "fma", "avx512f") if f in have]
    except OSError:
        pass
    return []


def blas_line() -> str:
    """NumPy's BLAS: library, version, kernel architecture and thread count (threadpoolctl), or a note."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (threadpoolctl not installed)"
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not pools:
        return "BLAS: none found"
    return "; ".join(
        f"BLAS: {p.get('internal_api')} {p.get('version')}, kernel {p.get('architecture')}, "
        f"{p.get('num_threads')} threads"
        for p in pools
    )


def numpy_simd_line() -> str:
    """The SIMD targets NumPy's dispatched kernels use on this CPU (after NPY_DISABLE_CPU_FEATURES)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        return "NumPy SIMD: unknown"
    on = [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]
    return "NumPy SIMD: " + (", ".join(on) if on else "baseline only")


#: The variables that change which kernels run (BLAS kernel and threads, NumPy's and torch's SIMD).
KERNEL_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "NPY_DISABLE_CPU_FEATURES",
    "ATEN_CPU_CAPABILITY",
    "ONEDNN_MAX_CPU_ISA",
    "MKL_ENABLE_INSTRUCTIONS",
)


def avx2_emulation_env() -> dict[str, str]:
    """The variables that make every library on this machine run the kernels it would run on an AVX2
    CPU without AVX-512 (an AMD EPYC before Zen 4): OpenBLAS's Haswell kernels (the ones it picks for
    Zen), NumPy without its AVX-512 dispatch targets, torch's ATen, oneDNN and MKL capped at AVX2.

    The hardware stays this machine's (its caches, memory and clock), and chainrule's own C code picks
    its Adam clone by the CPU's flags; so this shows which results hang on AVX-512 kernels, not what
    another machine measures.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:
        wide: list[str] = []
    else:
        wide = [t for t in __cpu_dispatch__ if t == "X86_V4" or t.startswith("AVX512")]
    env = {
        "OPENBLAS_CORETYPE": "Haswell",
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    }
    if wide:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(wide)
    return env


def openblas_env() -> str:
    """The kernel-selection variables of this run (:data:`KERNEL_VARIABLES`), or that none are set."""
    found = [f"{n}={os.environ[n]}" for n in KERNEL_VARIABLES if os.environ.get(n)]
    return ", ".join(found) if found else "no OpenBLAS/OpenMP/NumPy/torch kernel variables set"


def machine_report() -> str:
    """The lines ``make bench`` prints first: CPU and ISA flags, the BLAS, the OpenBLAS variables."""
    flags = ", ".join(isa_flags()) or "none of avx2/fma/avx512f"
    return "\n".join(
        [
            f"{machine_line()}; ISA: {flags}",
            blas_line(),
            numpy_simd_line(),
            openblas_env(),
        ]
    )


def machine_line(*extra: str) -> str:
    """``machine: MODEL, N cores, Python X.Y.Z`` then ``extra``, and OPENBLAS_CORETYPE when set."""
    parts = [
        f"machine: {cpu_model()}",
        f"{usable_cores()} cores",
        f"Python {platform.python_version()}",
    ]
    parts.extend(extra)
    if os.environ.get("OPENBLAS_CORETYPE"):
        parts.append(f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}")
    return ", ".join(parts)
