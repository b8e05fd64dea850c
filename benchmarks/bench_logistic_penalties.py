"""L1 and elastic-net logistic regression against scikit-learn's saga and liblinear, at the same objective.

Workloads (no intercept, so that liblinear, which penalizes its intercept, minimizes the same objective):

- P1: the breast-cancer data (569 x 30), standardized, L1, C = 1;
- P2: synthetic, n = 20,000, d = 50, L1, C = 0.05 (a sparse solution);
- P3: P2's data, elastic net l1_ratio = 0.5, C = 0.05 (saga only: liblinear has no elastic net);
- P4: sparse CSR, n = 20,000, d = 300, 2 % nonzero, L1, C = 0.1.

"At the same objective": the reference F* is chainrule's objective at tol = 1e-10. For each fitter the
benchmark takes the loosest tol of a ladder (1e-2, 1e-3, ... 1e-10) whose solution's objective (computed
here, in one place) is within 1e-8 · |F*| of F*, and times that fit; a fitter that reaches it at no tol
is reported as such. Ratios (chainrule / anchor) are median (min-max) over interleaved repeats
(benchmarks/_ratio.py).

Usage: ``python benchmarks/bench_logistic_penalties.py [P1 P2 P3 P4]``.
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

GAP = 1e-8
LADDER = [10.0**-k for k in range(2, 11)]


def objective(X: Any, y: np.ndarray, coef: np.ndarray, C: float, rho: float) -> float:
    """sklearn's objective C Σ ℓ_i + ½(1 − ρ)‖w‖² + ρ‖w‖₁ (no intercept)."""
    z = np.asarray(X @ coef).ravel()
    return float(
        C * np.sum(np.logaddexp(0.0, z) - y * z)
        + 0.5 * (1 - rho) * coef @ coef
        + rho * np.abs(coef).sum()
    )


def synthetic(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[: d // 5] = rng.standard_normal(d // 5)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.int64)
    return X, y


def sparse_synthetic(n: int, d: int, density: float, seed: int) -> tuple[Any, np.ndarray]:
    import scipy.sparse

    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, d, density=density, format="csr", random_state=seed)
    X.data = rng.standard_normal(X.data.size)
    w = np.zeros(d)
    w[: d // 10] = 3 * rng.standard_normal(d // 10)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.int64)
    return X, y


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    X, y, _, _ = load_breast_cancer()
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def ours(C: float, rho: float) -> Callable[[float], Any]:
    penalty = "l1" if rho == 1.0 else "elasticnet"

    def make(tol: float) -> Any:
        return LogisticRegression(
            penalty=penalty,
            l1_ratio=None if rho == 1.0 else rho,
            C=C,
            fit_intercept=False,
            tol=tol,
            max_iter=1000,
        )

    return make


def sklearn_fitter(solver: str, C: float, rho: float) -> Callable[[float], Any] | None:
    try:
        from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    except ImportError:
        return None

    def make(tol: float) -> Any:
        return SkLogisticRegression(
            C=C, l1_ratio=rho, solver=solver, fit_intercept=False, tol=tol, max_iter=100_000
        )

    return make


def loosest_tol(
    make: Callable[[float], Any], X: Any, y: np.ndarray, C: float, rho: float, best: float
) -> tuple[float | None, float, float]:
    """(tol, objective, seconds) of the loosest ladder tol that reaches best within GAP."""
    obj, seconds = float("nan"), 0.0
    for tol in LADDER:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model = make(tol).fit(X, y)
            seconds = time.perf_counter() - start
        obj = objective(X, y, np.asarray(model.coef_).ravel(), C, rho)
        if obj - best <= GAP * abs(best):
            return tol, obj, seconds
        if seconds > 30:
            break
    return None, obj, seconds


def run(name: str, X: Any, y: np.ndarray, C: float, rho: float, anchors: list[str]) -> None:
    n, d = X.shape
    kind = "CSR" if hasattr(X, "tocsr") else "dense"
    penalty = "L1" if rho == 1.0 else f"elastic net l1_ratio={rho}"
    print(f"{name}: n = {n:,}, d = {d} ({kind}), {penalty}, C = {C}, no intercept")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ours(C, rho)(1e-10).fit(X, y)
    best = objective(X, y, ref.coef_.ravel(), C, rho)
    fitters: dict[str, Callable[[float], Any] | None] = {"chainrule prox-newton": ours(C, rho)}
    for solver in anchors:
        fitters[f"sklearn {solver}"] = sklearn_fitter(solver, C, rho)
    found: dict[str, tuple[float, Callable[[float], Any]]] = {}
    for label, make in fitters.items():
        if make is None:
            print(f"  {label:<24} skipped: scikit-learn is not installed")
            continue
        tol, obj, seconds = loosest_tol(make, X, y, C, rho, best)
        if tol is None:
            print(
                f"  {label:<24} never within {GAP:g} of F* (objective {obj:.12g} at the last tol, "
                f"{seconds * 1e3:.0f} ms)"
            )
            continue
        found[label] = (tol, make)
        nonzero = (
            "" if not label.startswith("chainrule") else f", {int(np.sum(ref.coef_ != 0))} nonzero"
        )
        print(f"  {label:<24} tol {tol:g}: objective {obj:.12g} (F* = {best:.12g}{nonzero})")
    if "chainrule prox-newton" not in found:
        return
    tol_ours, make_ours = found.pop("chainrule prox-newton")
    for label, (tol, make) in found.items():

        def fit_ours() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make_ours(tol_ours).fit(X, y)

        def fit_anchor(make: Callable[[float], Any] = make, tol: float = tol) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make(tol).fit(X, y)

        mine, theirs = interleaved(fit_ours, fit_anchor, repeats=5, budget=0.2)
        r = ratio(mine, theirs)
        print(
            f"  ratio chainrule / {label}: {r}  (ours {np.median(mine) * 1e3:.1f} ms, "
            f"anchor {np.median(theirs) * 1e3:.1f} ms)"
        )


def main(argv: list[str] | None = None) -> None:
    wanted = set(argv or [])
    print(machine_line())
    workloads: list[tuple[str, Callable[[], tuple[Any, np.ndarray]], float, float, list[str]]] = [
        ("P1 breast cancer", breast_cancer, 1.0, 1.0, ["saga", "liblinear"]),
        ("P2", lambda: synthetic(20_000, 50, seed=3), 0.05, 1.0, ["saga", "liblinear"]),
        ("P3", lambda: synthetic(20_000, 50, seed=3), 0.05, 0.5, ["saga"]),
        (
            "P4 sparse",
            lambda: sparse_synthetic(20_000, 300, 0.02, seed=4),
            0.1,
            1.0,
            ["saga", "liblinear"],
        ),
    ]
    for label, make, C, rho, anchors in workloads:
        if wanted and label.split()[0] not in wanted:
            continue
        X, y = make()
        run(label, X, y, C, rho, anchors)
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
