"""Run every benchmark section in ``benchmarks/`` and print ratios against the anchors.

Each section is a module ``bench_*.py`` with a ``main()``; an anchor that is not installed is skipped with
a note. Each section runs in a fresh interpreter of its own, so that what one leaves behind (a Dask
cluster's threads, BLAS and allocator state, a warmed cache) cannot tilt another's timings. A section
that fails is reported and the others still run; the exit status is then 1.
Usage: ``python benchmarks/run.py [--avx2] [section ...]``. ``--avx2`` runs every section with the
kernels of an AVX2 CPU without AVX-512 (``_machine.avx2_emulation_env``; ``make bench-avx2``).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys


def main(argv: list[str]) -> int:
    here = pathlib.Path(__file__).parent
    sys.path.insert(0, str(here))
    from _machine import avx2_emulation_env

    env = None
    if "--avx2" in argv:
        argv = [a for a in argv if a != "--avx2"]
        env = {**os.environ, **avx2_emulation_env()}
        print("kernels of an AVX2 CPU without AVX-512, on this machine's hardware:", flush=True)
    wanted = set(argv)
    report = [sys.executable, "-c", "import _machine; print(_machine.machine_report())"]
    subprocess.run(report, cwd=here, env=env, check=True)
    failed = []
    for path in sorted(here.glob("bench_*.py")):
        section = path.stem.removeprefix("bench_")
        if wanted and section not in wanted:
            continue
        print(f"\n#### {section}\n", flush=True)
        if subprocess.run([sys.executable, str(path)], env=env, check=False).returncode != 0:
            failed.append(section)
            print(f"#### {section}: FAILED", flush=True)
    if failed:
        print(f"\nfailed sections: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
