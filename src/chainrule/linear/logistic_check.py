"""Check a fitted logistic regression's analytic gradient: finite differences and chainrule's autodiff.

The analytic gradient of the scaled objective (see :mod:`chainrule.linear.logistic_objective`),
Σ_i s_i x_i (h(x_i) − y_i) / S + α w for binary fits, is compared at the fitted parameters with

- central finite differences of the objective (step ``h`` relative to each parameter), on every
  coordinate or on a seeded random subset of at most ``max_coords`` of them;
- ``chainrule.grad`` of the same objective written with chainrule tensor ops (softplus, log_softmax),
  on every coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.linear.logistic_objective import LogisticObjective
from chainrule.linear.summary import objective_for, theta_of

if TYPE_CHECKING:
    from chainrule.linear.logistic import LogisticRegression

__all__ = ["GradientCheck", "autodiff_gradient", "logistic_gradient_check"]


@dataclass
class GradientCheck:
    """The comparison; ``ok`` when both differences are within their tolerances.

    Attributes:
        analytic: (size,) the analytic gradient at θ. coords: the coordinates finite differences checked.
        finite_diff: (len(coords),) the central differences there. autodiff: (size,) chainrule's gradient.
        fd_max_diff, autodiff_max_diff: max |analytic − other|. fd_tol, autodiff_tol: the tolerances.
    """

    analytic: np.ndarray
    coords: np.ndarray
    finite_diff: np.ndarray
    autodiff: np.ndarray
    fd_max_diff: float
    autodiff_max_diff: float
    fd_tol: float
    autodiff_tol: float

    @property
    def ok(self) -> bool:
        return self.fd_max_diff <= self.fd_tol and self.autodiff_max_diff <= self.autodiff_tol

    @property
    def text(self) -> str:
        size = self.analytic.size
        which = "all" if self.coords.size == size else f"{self.coords.size} random"
        rows = [
            (f"finite differences ({which} coordinates)", self.fd_max_diff, self.fd_tol),
            ("chainrule autodiff (all coordinates)", self.autodiff_max_diff, self.autodiff_tol),
        ]
        lines = [
            f"gradient check at the fitted parameters ({size} parameters; "
            f"max |analytic gradient| = {np.max(np.abs(self.analytic)):.3e}):"
        ]
        width = max(len(label) for label, _, _ in rows)
        for label, diff, tol in rows:
            verdict = "ok" if diff <= tol else "FAILED"
            lines.append(
                f"  analytic vs {label:<{width}}  max |diff| = {diff:.3e}  {verdict} (tol {tol:g})"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text


def autodiff_gradient(obj: LogisticObjective, theta: np.ndarray) -> np.ndarray:
    """∇f(θ) by chainrule's reverse mode, on the objective written with tensor ops; (size,) float64."""
    import chainrule.autodiff as ad

    X = ad.tensor(obj.X)
    S = obj.weight_sum
    sw = None if obj.sample_weight is None else ad.tensor(obj.sample_weight)
    d = obj.n_features
    if obj.binary:
        y = ad.tensor(obj.y)

        def f_binary(w: Any, b: Any) -> Any:
            z = ad.matmul(X, w) + b
            per = ad.softplus(z) - y * z
            data = ad.sum(per if sw is None else per * sw) / S
            return data + 0.5 * obj.alpha * ad.sum(w * w)

        b0 = np.asarray(theta[d] if obj.fit_intercept else 0.0)
        gw, gb = ad.grad(f_binary, argnums=(0, 1))(theta[:d].copy(), b0)
        parts = [np.asarray(gw, dtype=np.float64)]
        if obj.fit_intercept:
            parts.append(np.asarray(gb, dtype=np.float64).reshape(1))
        return np.concatenate(parts)
    K, m = obj.n_classes, obj.n_coef_cols
    onehot = np.zeros((obj.n_samples, K))
    onehot[np.arange(obj.n_samples), obj.y.astype(np.intp)] = 1.0
    Y = ad.tensor(onehot if obj.sample_weight is None else onehot * obj.sample_weight[:, None])
    M = theta.reshape(K, m)

    def f_multi(W: Any, b: Any) -> Any:
        Z = ad.matmul(X, ad.transpose(W)) + b
        data = -ad.sum(ad.log_softmax(Z, axis=1) * Y) / S
        return data + 0.5 * obj.alpha * ad.sum(W * W)

    b0m = M[:, d].copy() if obj.fit_intercept else np.zeros(K)
    gW, gb = ad.grad(f_multi, argnums=(0, 1))(M[:, :d].copy(), b0m)
    G = np.empty((K, m))
    G[:, :d] = np.asarray(gW, dtype=np.float64)
    if obj.fit_intercept:
        G[:, d] = np.asarray(gb, dtype=np.float64)
    return G.ravel()


def logistic_gradient_check(
    model: LogisticRegression,
    X: Any = None,
    y: Any = None,
    sample_weight: Any = None,
    *,
    step: float = 1e-6,
    max_coords: int = 200,
    seed: int = 0,
    fd_tol: float = 1e-6,
    autodiff_tol: float = 1e-9,
) -> GradientCheck:
    """Compare the analytic gradient at the fitted parameters with finite differences and autodiff.

    Uses the training data kept by ``fit``, or ``X, y`` when given. The objective is the scaled one
    (order 1), so the tolerances are absolute.
    """
    obj = objective_for(model, X, y, sample_weight)
    theta = theta_of(model, obj)
    _, analytic = obj.loss_grad(theta)
    size = theta.size
    if size <= max_coords:
        coords = np.arange(size)
    else:
        coords = np.sort(np.random.default_rng(seed).choice(size, max_coords, replace=False))
    fd = np.empty(coords.size)
    for k, i in enumerate(coords):
        h = step * max(1.0, abs(float(theta[i])))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        fd[k] = (obj.loss(up) - obj.loss(down)) / (2.0 * h)
    auto = autodiff_gradient(obj, theta)
    return GradientCheck(
        analytic=analytic,
        coords=coords,
        finite_diff=fd,
        autodiff=auto,
        fd_max_diff=float(np.max(np.abs(analytic[coords] - fd))),
        autodiff_max_diff=float(np.max(np.abs(analytic - auto))),
        fd_tol=fd_tol,
        autodiff_tol=autodiff_tol,
    )
