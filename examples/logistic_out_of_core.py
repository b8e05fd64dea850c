"""Fit a logistic regression to data larger than the Dask workers' memory, streamed from .npy files.

The script writes ``--files`` pairs of ``X_i.npy`` / ``y_i.npy`` (float64 features, 0/1 labels from a
known logistic model) into a temporary folder, one file at a time, so it never holds the data in memory
either. It opens them lazily (``np.load(..., mmap_mode="r")`` inside a Dask task per file, so each worker
maps the file it reads and nothing is pickled), starts a LocalCluster of 2 worker processes whose memory
limit together is below the data's size, fits ``chainrule.linear.LogisticRegression`` on the Dask arrays
(every solver iteration streams the files through the workers: the data do not fit, so they are not
persisted), and prints the coefficients next to the true ones, and each worker's peak memory.

Usage::

    python examples/logistic_out_of_core.py                  # 640 MB of data, workers of 250 MB each
    python examples/logistic_out_of_core.py --rows 20000000  # 3.2 GB
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import tempfile
import time
from typing import Any

import numpy as np


def write_files(
    folder: pathlib.Path, rows: int, features: int, files: int, seed: int = 0
) -> np.ndarray:
    """Write ``files`` pairs ``X_i.npy`` (float64, (rows/files, features)) and ``y_i.npy`` (int8 0/1)
    drawn from a logistic model; returns its true weights ``[w..., b]``."""
    rng = np.random.default_rng(seed)
    truth = np.append(rng.normal(size=features) / np.sqrt(features), 0.25)
    per_file = -(-rows // files)
    for i in range(files):
        n = min(per_file, rows - i * per_file)
        X = rng.standard_normal((n, features))
        p = 1.0 / (1.0 + np.exp(-(X @ truth[:-1] + truth[-1])))
        np.save(folder / f"X_{i:04d}.npy", X)
        np.save(folder / f"y_{i:04d}.npy", (rng.random(n) < p).astype(np.int8))
    return truth


def open_lazily(folder: pathlib.Path) -> tuple[Any, Any]:
    """The files as two Dask arrays, one chunk per file, read (memory-mapped) by whichever worker needs
    the chunk."""
    import dask
    import dask.array as da

    xs, ys = [], []
    for x_path in sorted(folder.glob("X_*.npy")):
        y_path = x_path.with_name("y_" + x_path.name[2:])
        header = np.load(x_path, mmap_mode="r")  # maps the file: reads only its header here
        shape, dtype = header.shape, header.dtype
        del header
        load = dask.delayed(np.load, pure=True)
        xs.append(da.from_delayed(load(str(x_path), mmap_mode="r"), shape=shape, dtype=dtype))
        ys.append(da.from_delayed(load(str(y_path), mmap_mode="r"), shape=shape[:1], dtype=np.int8))
    return da.concatenate(xs), da.concatenate(ys)


def worker_peak_memory(client: Any) -> dict[str, int]:
    """Each worker process's peak resident memory (bytes), from ``getrusage``."""

    def peak() -> int:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024

    return {str(k): int(v) for k, v in client.run(peak).items()}


def run(
    rows: int,
    features: int,
    files: int,
    folder: pathlib.Path,
    client: Any,
    tol: float = 1e-8,
    verbose: bool = False,
) -> dict[str, Any]:
    """Write the files into ``folder``, fit on ``client``'s cluster, and report what happened."""
    from chainrule.linear import LogisticRegression

    truth = write_files(folder, rows, features, files)
    X, y = open_lazily(folder)
    start = time.perf_counter()
    model = LogisticRegression(C=1.0, tol=tol).fit(X, y)
    seconds = time.perf_counter() - start
    return {
        "data_bytes": int(X.nbytes),
        "coef": np.append(model.coef_.ravel(), model.intercept_),
        "truth": truth,
        "solver": model.solver_,
        "n_iter": int(model.n_iter_[0]),
        "seconds": seconds,
        "peak_memory": worker_peak_memory(client),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000, help="rows in all (default 4e6)")
    parser.add_argument("--features", type=int, default=20, help="columns (default 20)")
    parser.add_argument("--files", type=int, default=16, help="files, one chunk each (default 16)")
    parser.add_argument(
        "--memory-limit", default="250MB", help="per worker (default 250MB; 2 workers)"
    )
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster

    folder = pathlib.Path(tempfile.mkdtemp(prefix="chainrule-ooc-"))
    try:
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                memory_limit=args.memory_limit,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            limit = sum(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
            report = run(args.rows, args.features, args.files, folder, client)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"data: {report['data_bytes'] / 1e6:.0f} MB of X in {args.files} .npy files; "
        f"workers' memory limit: {limit / 1e6:.0f} MB in all"
    )
    print(
        f"fit: {report['solver']}, {report['n_iter']} iterations, {report['seconds']:.1f} s "
        "(streamed from the files: the data do not fit in the workers' memory)"
    )
    print(f"{'':>10}{'fitted':>12}{'true':>12}")
    names = [f"w{j + 1}" for j in range(args.features)] + ["b"]
    for name, got, true in zip(names, report["coef"], report["truth"], strict=True):
        print(f"{name:>10}{got:>12.4f}{true:>12.4f}")
    for worker, peak in report["peak_memory"].items():
        print(f"worker {worker}: peak resident memory {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
