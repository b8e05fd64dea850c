"""Benchmark H1: separating hyperplanes on separable data (n = 10,000, d = 50), against HiGHS and scikit-learn.

- ``separating_hyperplane(margin="any")`` against a plain HiGHS feasibility LP (``scipy.optimize.linprog``,
  ``y_i (w·x_i + b) ≥ 1`` on every point) solved in the same run;
- ``separating_hyperplane(margin="max")`` against ``sklearn.svm.SVC(kernel="linear", C=1e6)``, with the
  geometric margins ``min_i y_i f(x_i)/‖w‖`` side by side (ours must be at least as large);
- ``LinearSVC`` and sklearn's ``Perceptron`` (and ours) for context: faster, with far smaller margins.

The data: Gaussian points labelled by a random hyperplane, with the points closer than 0.05 standard
deviations to it removed (a margin of 0.05 in units of the feature scale, as in well-separated real data, not a
degenerate 1e-6 one). Exact verification is off here (n is above ``EXACT_LIMIT``).

Each ratio pairs ours with its anchor in ``REPEATS`` alternating repeats (the LP, then ``"any"``; SVC,
then ``"max"``, then LinearSVC), so repeat ``i`` of each ran under the same machine conditions; the
time column is the median over the repeats and the ratio column the median of the per-repeat ratios
with their min-max (``_ratio.py``; marked NOISY above a 10% spread). Margins are deterministic (one
figure). The Perceptrons, context without a ratio, are timed best of 2.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import linprog

from _machine import machine_line
from _ratio import ratio  # benchmarks/ is on sys.path (run.py, or run directly)
from chainrule.linear import Perceptron, separating_hyperplane

N, D, GAP = 10_000, 50, 0.05
#: Paired repeats of each timed fit with a ratio (each repeat runs ours and its anchor in turn).
REPEATS = 3


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Separable data: ``X`` float64 ``(N, D)``, ``y`` in {0, 1}; margin about ``GAP`` around a random plane."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=D)
    w /= np.linalg.norm(w)
    X = rng.normal(size=(3 * N, D))
    f = X @ w + 0.3
    keep = np.flatnonzero(np.abs(f) > GAP)[:N]
    return X[keep], (f[keep] > 0).astype(np.int64)


def best_of(fn: Callable[[], Any], repeat: int = 2) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs (seconds) and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def alternating(
    fns: list[Callable[[], Any]], repeats: int = REPEATS
) -> tuple[list[list[float]], list[Any]]:
    """Each of ``fns`` run once per repeat, in turn: per function, its seconds in every repeat (the
    same index is the same repeat), and its last result."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[Any] = [None] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            outs[k] = fn()
            times[k].append(time.perf_counter() - t)
    return times, outs


def geometric_margin(X: np.ndarray, s: np.ndarray, w: np.ndarray, b: float) -> float:
    return float(np.min(s * (X @ w + b)) / np.linalg.norm(w))


def highs_feasibility(X: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The anchor: the plain feasibility LP y_i (w·x_i + b) ≥ 1, zero objective, free variables."""
    A = s[:, None] * np.hstack([X, np.ones((X.shape[0], 1))])
    res = linprog(
        np.zeros(X.shape[1] + 1),
        A_ub=-A,
        b_ub=-np.ones(X.shape[0]),
        bounds=(None, None),
        method="highs",
    )
    assert res.status == 0, res.message
    return np.asarray(res.x)


def main() -> None:
    X, y = make_data()
    s = np.where(y == 1, 1, -1)
    print(machine_line())
    print(
        f"H1: separable data, n = {X.shape[0]}, d = {X.shape[1]} (margin ≈ {GAP} by construction)"
    )
    rows: list[tuple[str, float, float | None, str]] = []
    med = statistics.median

    (lp, t_any), (v, h_any) = alternating(
        [lambda: highs_feasibility(X, s), lambda: separating_hyperplane(X, y, margin="any")]
    )
    rows.append(
        ("HiGHS feasibility LP (anchor)", med(lp), geometric_margin(X, s, v[:-1], v[-1]), "")
    )
    rows.append(
        (
            'separating_hyperplane("any")',
            med(t_any),
            h_any.geometric_margin,
            f"vs LP {ratio(t_any, lp)}",
        )
    )

    try:
        from sklearn.linear_model import Perceptron as SkPerceptron
        from sklearn.svm import SVC, LinearSVC
    except ImportError:
        print("note: scikit-learn is not installed; its anchors are skipped")
        [t_max], [h_max] = alternating([lambda: separating_hyperplane(X, y, margin="max")])
        rows.append(('separating_hyperplane("max")', med(t_max), h_max.geometric_margin, ""))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (t_svc, t_max, t_lsvc), (svc, h_max, lsvc) = alternating(
                [
                    lambda: SVC(kernel="linear", C=1e6).fit(X, y),
                    lambda: separating_hyperplane(X, y, margin="max"),
                    lambda: LinearSVC(C=1e6, max_iter=10_000).fit(X, y),
                ]
            )
        m_svc = geometric_margin(X, s, svc.coef_[0], float(svc.intercept_[0]))
        rows.append(("sklearn SVC(linear, C=1e6) (anchor)", med(t_svc), m_svc, ""))
        note = f"margin {h_max.geometric_margin / m_svc:.4f}x SVC's; vs SVC {ratio(t_max, t_svc)}"
        rows.append(('separating_hyperplane("max")', med(t_max), h_max.geometric_margin, note))
        m = geometric_margin(X, s, lsvc.coef_[0], float(lsvc.intercept_[0]))
        note = f"vs SVC {ratio(t_lsvc, t_svc)}"
        rows.append(("sklearn LinearSVC(C=1e6) (context)", med(t_lsvc), m, note))
        t_skp, skp = best_of(lambda: SkPerceptron().fit(X, y))  # defaults: tol=1e-3 stops early
        m = geometric_margin(X, s, skp.coef_[0], float(skp.intercept_[0]))
        rows.append(("sklearn Perceptron (context)", t_skp, m, ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_p, p = best_of(lambda: Perceptron(max_iter=1000).fit(X, y))
    m = geometric_margin(X, s, p.coef_[0], float(p.intercept_[0]))
    note = f"{p.n_mistakes_} mistakes ≤ Novikoff {p.mistake_bound_:.3g} (its QP included)"
    rows.append(("chainrule Perceptron (context)", t_p, m, note))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_p, p = best_of(lambda: Perceptron(max_iter=1000, compute_bound=False).fit(X, y))
    rows.append(("chainrule Perceptron, no bound (context)", t_p, m, "the rule alone"))

    print(
        f"{'method':<40} {'time [s]':>9} {'margin':>10}  ratio: median (min-max) of {REPEATS} "
        "paired repeats"
    )
    for name, t, margin, note in rows:
        shown = f"{margin:10.5f}" if margin is not None else f"{'-':>10}"
        print(f"{name:<40} {t:9.3f} {shown}  {note}")


if __name__ == "__main__":
    main()
