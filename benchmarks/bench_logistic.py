"""Logistic regression against scikit-learn, side by side in the same run (C = 1, tol = 1e-8).

- L1: synthetic, n = 100,000, d = 100;  L2: synthetic, n = 1,000,000, d = 20;
- L3: the breast-cancer data (569 x 30), standardized.

For each workload it fits chainrule's ``LogisticRegression(solver="auto")`` and sklearn's ``lbfgs`` and
``newton-cholesky``, and prints each fit's time (median of repeats interleaved with ours), sklearn's
objective C Σ ℓ_i + ½‖w‖² at each solution, the relative objective gap and the largest coefficient
difference against the better sklearn fit, and the time ratio against the faster sklearn solver
(≤ 1.0 is the target) as median (min-max) of the paired per-repeat ratios (benchmarks/_ratio.py), with
``auto_costs_``: what ``solver="auto"`` predicted for each solver on this CPU.

Usage: ``python benchmarks/bench_logistic.py [L1 L2 L3]``.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))

from _machine import machine_line
from _ratio import interleaved, ratio
from chainrule.linear.datasets import load_breast_cancer
from chainrule.linear.logistic import LogisticRegression

TOL = 1e-8
C = 1.0


def synthetic(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features with mildly correlated columns; labels drawn from a logistic model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 1:] += 0.3 * X[:, :1]  # some correlation, so the problem is not trivially conditioned
    w = rng.standard_normal(d) / np.sqrt(d)
    p = 1.0 / (1.0 + np.exp(-(X @ w + 0.5)))
    y = (rng.random(n) < p).astype(np.int64)
    return X, y


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    X, y, _, _ = load_breast_cancer()
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def objective(coef: np.ndarray, intercept: float, X: np.ndarray, y: np.ndarray) -> float:
    """sklearn's objective C Σ log(1 + e^{-y± z}) + ½‖w‖², computed in one place for every fit."""
    z = X @ coef + intercept
    return float(C * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * coef @ coef)


def best_time(fit: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, model = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        model = fit()
        best = min(best, time.perf_counter() - start)
    return best, model


def run(name: str, X: np.ndarray, y: np.ndarray, repeats: int) -> None:
    rows: list[tuple[str, float, np.ndarray, float]] = []
    ours_time, ours = best_time(
        lambda: LogisticRegression(C=C, tol=TOL, max_iter=1000).fit(X, y), repeats
    )
    rows.append(
        (f"chainrule ({ours.solver_})", ours_time, ours.coef_.ravel(), float(ours.intercept_[0]))
    )
    try:
        from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    except ImportError:
        print(f"{name}: scikit-learn is not installed; its anchors are skipped")
        SkLogisticRegression = None
    paired: dict[str, tuple[list[float], list[float]]] = {}
    if SkLogisticRegression is not None:
        for solver in ("lbfgs", "newton-cholesky"):

            def anchor(s: str = solver) -> Any:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return SkLogisticRegression(C=C, tol=TOL, solver=s, max_iter=1000).fit(X, y)

            model = anchor()
            mine, theirs = interleaved(
                lambda: LogisticRegression(C=C, tol=TOL, max_iter=1000).fit(X, y),
                anchor,
                repeats=repeats,
                budget=0.2,
            )
            paired[solver] = (mine, theirs)
            t = float(np.median(theirs))
            rows.append((f"sklearn {solver}", t, model.coef_.ravel(), float(model.intercept_[0])))
    objs = [objective(coef, b, X, y) for _, _, coef, b in rows]
    n, d = X.shape
    print(f"{name}: n = {n:,}, d = {d}, C = {C}, tol = {TOL:g}")
    print(f"  {'fit':<28}{'time':>11}{'objective':>24}{'rel. gap':>11}{'max|Δcoef|':>12}")
    if len(rows) == 1:
        print(f"  {rows[0][0]:<28}{rows[0][1] * 1e3:>9.2f}ms{objs[0]:>24.15g}")
        return
    ref = 1 + int(np.argmin(objs[1:]))  # the better sklearn solution is the reference
    for (label, t, coef, b), obj in zip(rows, objs, strict=True):
        gap = (obj - objs[ref]) / abs(objs[ref])
        dcoef = max(float(np.max(np.abs(coef - rows[ref][2]))), abs(b - rows[ref][3]))
        print(f"  {label:<28}{t * 1e3:>9.2f}ms{obj:>24.15g}{gap:>11.1e}{dcoef:>12.1e}")
    faster = "lbfgs" if rows[1][1] <= rows[2][1] else "newton-cholesky"
    mine, theirs = paired[faster]
    ok_obj = abs(objs[0] - objs[ref]) <= 1e-8 * abs(objs[ref])
    ok_coef = max(float(np.max(np.abs(rows[0][2] - rows[ref][2]))), abs(rows[0][3] - rows[ref][3]))
    costs = {k: f"{v * 1e3:.0f} ms" for k, v in (ours.auto_costs_ or {}).items()}
    print(
        f"  ratio chainrule / faster sklearn ({faster}) = {ratio(mine, theirs)}  "
        f"(target <= 1.0; objective within 1e-8: {'yes' if ok_obj else 'NO'}; "
        f"coefficients within 1e-5: {'yes' if ok_coef <= 1e-5 else 'NO'}); "
        f"auto predicted {costs or 'nothing (fixed rule)'}"
    )


def main(argv: list[str] | None = None) -> None:
    wanted = set(argv or [])
    print(machine_line())
    workloads: list[tuple[str, Callable[[], tuple[np.ndarray, np.ndarray]], int]] = [
        ("L1", lambda: synthetic(100_000, 100, seed=1), 5),
        ("L2", lambda: synthetic(1_000_000, 20, seed=2), 3),
        ("L3 breast cancer (standardized)", breast_cancer, 15),
    ]
    for label, make, repeats in workloads:
        if wanted and label.split()[0] not in wanted:
            continue
        X, y = make()
        run(label, X, y, repeats)
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
