"""Benchmark S1: start-up time of ``chainrule --help`` and ``import chainrule``, against ``import numpy``.

Each command runs as a fresh subprocess (the interpreter's own start-up included, as a user sees it), the
three interleaved in ``RUNS`` rounds, after one warm-up round. Each round's time is divided by the same
round's ``python -c "import numpy"``; the line quotes the median of those paired ratios with their min-max
(``_ratio.py``; marked NOISY, and given no verdict, above a 10% spread). Targets (issue 9):
``chainrule --help`` ≤ 1.5× and ``import chainrule`` ≤ 2× the NumPy import. ``--help`` must import no
command module and no engine (the subcommands and the public API load lazily);
``python -X importtime -m chainrule --help`` shows what it imports.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import time

from _machine import machine_line
from _ratio import ratio

RUNS = 15
TARGETS = {"chainrule --help": 1.5, "import chainrule": 2.0}


def help_command() -> list[str]:
    """The installed ``chainrule`` script beside this interpreter, else ``python -m chainrule``."""
    script = pathlib.Path(sys.executable).parent / "chainrule"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "--help"]
    return [sys.executable, "-m", "chainrule", "--help"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    commands = {
        "import numpy": [sys.executable, "-c", "import numpy"],
        "import chainrule": [sys.executable, "-c", "import chainrule"],
        "chainrule --help": help_command(),
    }
    for cmd in commands.values():  # warm the file cache
        timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    print(machine_line())
    print(
        f"{RUNS} subprocess runs each, interleaved; median (min–max); ratio: median (min-max) of "
        "the per-round ratios"
    )
    for name, values in times.items():
        med = statistics.median(values)
        line = (
            f"  {name:<18} median {med * 1000:7.1f} ms  "
            f"(min {min(values) * 1000:6.1f}, max {max(values) * 1000:6.1f})"
        )
        if name in TARGETS:
            r = ratio(values, times["import numpy"])
            verdict = "ok" if r.median <= TARGETS[name] else "ABOVE TARGET"
            target = f"target ≤ {TARGETS[name]}×" + ("" if r.noisy else f", {verdict}")
            line += f"  ratio to numpy ({target}): {r}"
        print(line)


if __name__ == "__main__":
    main()
