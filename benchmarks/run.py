"""Run every benchmark section in ``benchmarks/`` and print ratios against the anchors.

Each section is a module ``bench_*.py`` with a ``main()``; an anchor that is not installed is skipped with
a note. Usage: ``python benchmarks/run.py [section ...]``.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys


def main(argv: list[str]) -> int:
    here = pathlib.Path(__file__).parent
    wanted = set(argv)
    sys.path.insert(0, str(here))
    from _machine import machine_report

    print(machine_report(), flush=True)
    for path in sorted(here.glob("bench_*.py")):
        section = path.stem.removeprefix("bench_")
        if wanted and section not in wanted:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n#### {section}\n", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
