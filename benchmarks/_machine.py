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
