"""Grading-scale section: ``check --scheduler`` throughput on 2,000 generated submissions of the seed set.

The submissions (``N_SUBMISSIONS`` answers files in a temporary folder) answer each part of the seed set,
a quarter each, with the seed's own answer, the example wrong answer (docs/examples/wrong-answers.toml), the
answer key of one of ``N_VARIANTS`` generated variants (``make_variants``: right where the variant kept the
seed's givens, wrong where it redrew them), or nothing; every 50th file cannot be read. They are graded

- serially, the anchor: :func:`chainrule.problems.grading.grade_directory`, one after another;
- on a process pool, a second anchor: ``concurrent.futures.ProcessPoolExecutor`` with ``WORKERS`` processes
  running the same task function (plain data in and out, no retries, no lost-worker handling);
- on a Dask LocalCluster of ``WORKERS`` worker processes, one thread each:
  :func:`chainrule.problems.scale.grade_directory_on` (what ``check --scheduler local`` runs).

The cluster is started once, first (its start-up time printed apart); then each of ``REPEATS`` repeats
runs the three in turn (serial, pool, cluster), so repeat ``i`` of each ran under the same machine
conditions (the idle cluster stays up while the anchors run). Printed: submissions per second for each
(median, min-max over repeats), the ratios of rates cluster/serial and cluster/pool taken within each
repeat (paired: median with min-max, ``_ratio.py``; marked NOISY above a 10% spread), and whether the
cluster's gradebook equals the serial one byte for byte (it must).
"""

from __future__ import annotations

import concurrent.futures
import random
import statistics
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from _machine import machine_line
from _ratio import ratio
from chainrule.problems.generate import make_variants
from chainrule.problems.grading import answers_files, grade_directory, gradebook_json
from chainrule.problems.scale import _grade_task, grade_directory_on, set_text
from chainrule.problems.solve import load_seed_set, seed_text
from chainrule.problems.tomlw import dumps

N_SUBMISSIONS = 2_000
N_VARIANTS = 8
WORKERS = 2
REPEATS = 2
EXAMPLES = Path(__file__).parents[1] / "docs" / "examples"


def write_submissions(folder: Path) -> dict[str, int]:
    """The answers files; returns how many parts came from each source."""
    pset = load_seed_set()
    sources: dict[str, dict[str, Any]] = {
        "seed": tomllib.loads((EXAMPLES / "seed-answers.toml").read_text(encoding="utf-8")),
        "wrong": tomllib.loads((EXAMPLES / "wrong-answers.toml").read_text(encoding="utf-8")),
    }
    ids = [f"v{k}" for k in range(N_VARIANTS)]
    for v in make_variants(pset, ids, 2021, seed_text()):
        sources[f"variant {v.id}"] = v.key
    variants = [name for name in sources if name.startswith("variant")]
    counts: dict[str, int] = {}
    rng = random.Random(20210219)
    for k in range(N_SUBMISSIONS):
        path = folder / f"s{k:05d}.toml"
        if k % 50 == 49:
            path.write_text("not toml = = =\n", encoding="utf-8")
            counts["unreadable file"] = counts.get("unreadable file", 0) + 1
            continue
        answers: dict[str, Any] = {}
        for problem in pset.problems:
            for part in problem.parts:
                # A quarter each: the seed's answer, a wrong one, a variant's key, none.
                pick = rng.choice(["seed", "wrong", "variant", None])
                name = rng.choice(variants) if pick == "variant" else pick
                key = pick or "none"
                counts[key] = counts.get(key, 0) + 1
                if name is None:
                    continue
                given = sources[name].get(problem.id)
                if not problem.has_parts:
                    if given is not None:
                        answers[problem.id] = given
                elif isinstance(given, dict) and part.id in given:
                    answers.setdefault(problem.id, {})[part.id] = given[part.id]
        path.write_text(dumps(answers), encoding="utf-8")
    return counts


def grade_on_pool(folder: Path) -> int:
    data = set_text("seed")
    files = answers_files(folder)
    texts = [p.read_text(encoding="utf-8") for p in files]
    n = len(files)
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as pool:
        results = pool.map(
            _grade_task,
            [data.text] * n,
            [data.name] * n,
            [data.source] * n,
            [str(p) for p in files],
            texts,
            chunksize=8,
        )
        return sum(1 for _ in results)


def spread(rates: list[float]) -> str:
    return f"{statistics.median(rates):7.1f}/s (min {min(rates):.1f}, max {max(rates):.1f})"


def main() -> None:
    print(machine_line(f"{WORKERS} Dask worker processes x 1 thread"))
    try:
        import distributed
    except ImportError:
        print(
            "note: distributed is not installed (pip install 'chainrule[scale]'); section skipped"
        )
        return
    pset = load_seed_set()
    with tempfile.TemporaryDirectory(prefix="chainrule-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        counts = write_submissions(folder)
        print(
            f"{N_SUBMISSIONS:,} submissions written in {time.perf_counter() - t:.1f} s; parts from: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
        )
        serial_rates: list[float] = []
        pool_rates: list[float] = []
        dask_rates: list[float] = []
        serial_json = ""
        t = time.perf_counter()
        with (
            distributed.LocalCluster(
                n_workers=WORKERS,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # 8787 may be taken: any free local port
                silence_logs=50,
            ) as cluster,
            distributed.Client(cluster, set_as_default=False) as client,
        ):
            startup = time.perf_counter() - t
            identical = True
            for _ in range(REPEATS):  # the three in turn: repeat i of each is a pair
                t = time.perf_counter()
                serial_book = grade_directory(pset, folder)
                serial_rates.append(N_SUBMISSIONS / (time.perf_counter() - t))
                serial_json = gradebook_json(serial_book)
                t = time.perf_counter()
                n = grade_on_pool(folder)
                pool_rates.append(n / (time.perf_counter() - t))
                book, stats = grade_directory_on(client, pset, set_text("seed"), folder)
                dask_rates.append(stats.per_second)
                identical = identical and gradebook_json(book) == serial_json
        verdicts: dict[str, int] = {}
        for s in book.submissions:
            for v in s.verdicts:
                verdicts[v.status] = verdicts.get(v.status, 0) + 1
        print("verdicts: " + ", ".join(f"{k} {v:,}" for k, v in sorted(verdicts.items())))
        print(f"serial (anchor)       {spread(serial_rates)}")
        print(f"process pool x{WORKERS}       {spread(pool_rates)}  (no retries, no lost workers)")
        print(
            f"Dask LocalCluster x{WORKERS}  {spread(dask_rates)}  (start-up {startup:.1f} s apart)"
        )
        print(
            f"ratio of rates Dask/serial, {REPEATS} paired repeats: {ratio(dask_rates, serial_rates)}"
        )
        print(
            f"ratio of rates Dask/process pool, {REPEATS} paired repeats: "
            f"{ratio(dask_rates, pool_rates)}"
        )
        end_to_end = N_SUBMISSIONS / (N_SUBMISSIONS / dask_rates[0] + startup)
        print(f"first Dask run with the cluster's start-up: {end_to_end:.1f}/s")
        print(f"Dask gradebook identical to the serial one: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
