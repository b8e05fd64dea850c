"""Logistic regression on Dask arrays: chainrule's LogisticRegression against dask-ml's, same cluster.

A LocalCluster of 2 worker processes (1 thread each, 1500 MiB limit each). The data, X of n = 1,000,000
rows and d = 20 features plus a column of ones (168 MB), and y drawn from a logistic model, are generated
on the workers (``dask.array.random``) in row chunks of 100,000 and persisted, so both fits read the
same chunks from the workers' memory and no data passes through the client.

The same objective: dask-ml (dask-glm) minimizes Σ ℓ_i + ½ (1/C) ‖β‖² over every coefficient, its
intercept included, while chainrule leaves its intercept unpenalized; so both fit without an intercept
(``fit_intercept=False``) on X with the column of ones, which makes both objectives C Σ ℓ_i + ½ ‖β‖²
(times 1/C for dask-ml), with C = 1. Tolerances match too: chainrule stops at max |∇f| ≤ 1e-8 on
f = objective / (C n); dask-ml's L-BFGS at the projected gradient of its objective (= n ∇f) ≤ n · 1e-8.
The objective at every solution is computed by one function (on the cluster) and printed with its gap to
the best. The contenders run in turn within each of 3 repeats, so repeat ``i`` of each ran under the same
machine conditions: the time ratio chainrule / dask-ml is taken within each repeat, and the line quotes
their median with the min-max (``_ratio.py``; marked NOISY, with no verdict on the target, above a 10%
spread).
With the argument ``admm``, dask-ml's default solver (ADMM, its default max_iter) also runs once, for
reference (slow: minutes).

Usage: ``python benchmarks/bench_scale_logistic.py [admm]``.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from _ratio import ratio  # benchmarks/ is on sys.path (run.py, or run directly)

N, D, CHUNK = 1_000_000, 20, 100_000
C = 1.0
TOL = 1e-8
REPEATS = 3
N_WORKERS = 2
MEMORY_LIMIT = "1500MiB"


def machine() -> str:
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _machine import machine_line

    return str(machine_line())


def make_data(seed: int = 0) -> tuple[Any, Any]:
    """X (N, D + 1) with a last column of ones, and y (N,) int8, generated on the workers and persisted."""
    import dask
    import dask.array as da

    rs = da.random.RandomState(seed)
    features = rs.standard_normal((N, D), chunks=(CHUNK, D))
    X = da.concatenate([features, da.ones((N, 1), chunks=(CHUNK, 1))], axis=1).rechunk(
        (CHUNK, D + 1)
    )
    w = np.random.default_rng(seed).normal(size=D) / np.sqrt(D)
    p = 1.0 / (1.0 + da.exp(-(features @ w + 0.5)))
    y = (rs.random_sample(N, chunks=CHUNK) < p).astype(np.int8)
    X, y = dask.persist(X, y)
    dask.compute(X.sum(), y.sum())  # materialized before any timing
    return X, y


def objective(beta: np.ndarray, X: Any, y: Any) -> float:
    """C Σ ℓ_i + ½ ‖β‖², computed the same way for every fit (on the cluster)."""
    import dask.array as da

    z = X @ beta
    return float((C * (da.logaddexp(0.0, z) - y * z).sum()).compute() + 0.5 * beta @ beta)


def timed(fit: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    beta = fit()
    return time.perf_counter() - start, beta


def main(argv: list[str] | None = None) -> None:
    from distributed import Client, LocalCluster

    from chainrule.linear import LogisticRegression

    try:
        from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression
    except ImportError:
        DaskMLLogisticRegression = None
    with (
        warnings.catch_warnings(),
        LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=1,
            processes=True,
            memory_limit=MEMORY_LIMIT,
            dashboard_address=None,
        ) as cluster,
        Client(cluster),
    ):
        warnings.simplefilter("ignore")
        X, y = make_data()
        print(
            f"S1: n = {N:,}, d = {D} + a column of ones ({X.nbytes / 1e6:.0f} MB, chunks of "
            f"{CHUNK:,} rows, persisted), C = {C}, tol = {TOL:g} (scaled); LocalCluster of "
            f"{N_WORKERS} worker processes, 1 thread and {MEMORY_LIMIT} each"
        )

        def ours(solver: str) -> Callable[[], np.ndarray]:
            def fit() -> np.ndarray:
                m = LogisticRegression(
                    C=C, tol=TOL, solver=solver, fit_intercept=False, max_iter=1000
                ).fit(X, y)
                return np.asarray(m.coef_, dtype=np.float64).ravel()

            return fit

        def theirs(solver: str) -> Callable[[], np.ndarray]:
            def fit() -> np.ndarray:
                kwargs: dict[str, Any] = {}
                if solver == "lbfgs":
                    kwargs.update(tol=TOL * N, max_iter=1000)
                m = DaskMLLogisticRegression(
                    C=C, penalty="l2", solver=solver, fit_intercept=False, **kwargs
                ).fit(X, y)
                return np.asarray(m.coef_, dtype=np.float64).ravel()

            return fit

        contenders: dict[str, Callable[[], np.ndarray]] = {
            "chainrule newton (auto)": ours("auto"),
            "chainrule lbfgs": ours("lbfgs"),
        }
        if DaskMLLogisticRegression is None:
            print("dask-ml is not installed: its anchors are skipped")
        else:
            contenders["dask-ml lbfgs"] = theirs("lbfgs")
        times: dict[str, list[float]] = {k: [] for k in contenders}
        betas: dict[str, np.ndarray] = {}
        for repeat in range(REPEATS):
            for name, fit in contenders.items():
                t, beta = timed(fit)
                times[name].append(t)
                betas[name] = beta
                print(f"  repeat {repeat + 1}: {name}: {t:.2f} s", flush=True)
        if DaskMLLogisticRegression is not None and "admm" in (argv or []):
            t, beta = timed(theirs("admm"))
            times["dask-ml admm (default, once)"] = [t]
            betas["dask-ml admm (default, once)"] = beta
        objs = {name: objective(beta, X, y) for name, beta in betas.items()}
        best = min(objs.values())
        print(f"  {'fit':<32}{'median time':>13}{'objective':>24}{'rel. gap':>11}")
        for name in times:
            med = statistics.median(times[name])
            gap = (objs[name] - best) / abs(best)
            print(f"  {name:<32}{med:>11.2f} s{objs[name]:>24.15g}{gap:>11.1e}")
        if DaskMLLogisticRegression is not None:
            anchor = times["dask-ml lbfgs"]
            for name in ("chainrule newton (auto)", "chainrule lbfgs"):
                r = ratio(times[name], anchor)
                verdict = "" if r.noisy else (", met" if r.median <= 1.0 else ", MISSED")
                close = objs[name] <= objs["dask-ml lbfgs"] * (1 + 1e-8)
                print(
                    f"  ratio {name} / dask-ml lbfgs (target <= 1.0{verdict}; objective within "
                    f"1e-8 of dask-ml's: {'yes' if close else 'NO'}): {r}"
                )
    print(f"  {machine()}")


if __name__ == "__main__":
    main(sys.argv[1:])
