"""Run every benchmark section in ``benchmarks/`` and print ratios against the anchors.

Each section is a module ``bench_*.py`` with a ``main()``; an anchor that is not installed is skipped with
a note. Each section runs in a fresh interpreter of its own, so that what one leaves behind (a Dask
cluster's threads, BLAS and allocator state, a warmed cache) cannot tilt another's timings. A section
that fails is reported and the others still run; the exit status is then 1.
Usage: ``python benchmarks/run.py [section ...]``.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys


def main(argv: list[str]) -> int:
    here = pathlib.Path(__file__).parent
    wanted = set(argv)
    sys.path.insert(0, str(here))
    from _machine import machine_report

    print(machine_report(), flush=True)
    failed = []
    for path in sorted(here.glob("bench_*.py")):
        section = path.stem.removeprefix("bench_")
        if wanted and section not in wanted:
            continue
        print(f"\n#### {section}\n", flush=True)
        if subprocess.run([sys.executable, str(path)], check=False).returncode != 0:
            failed.append(section)
            print(f"#### {section}: FAILED", flush=True)
    if failed:
        print(f"\nfailed sections: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
