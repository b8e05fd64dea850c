"""Solvers for the scaled logistic objective: L-BFGS (scipy) and Newton with Cholesky (IRLS).

Both stop when the largest gradient entry of the scaled objective is at most ``tol`` (for L-BFGS the
projected gradient, as scipy's ``gtol``; the same test scikit-learn makes). Both accept a ``progress``
callback called once per iteration with ``(iteration, objective, max |gradient|)``, and both can stop early
when an unpenalized fit's iterate already separates the classes (``stop_if_separated``), raising
:class:`Separated` with that iterate, since the optimum then lies at infinity.

Both stop when the loss or its gradient is not finite (decision values that overflow: data scaled to
~1e300), raising :class:`NonFiniteLoss` with the last finite iterate; Newton's line search first
backtracks from a trial point whose loss is not finite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from chainrule.linear.logistic_objective import ObjectiveBase

__all__ = ["NonFiniteLoss", "Separated", "SolverResult", "lbfgs", "newton"]

Progress = Callable[[int, float, float], None]


@dataclass
class SolverResult:
    """What a solver returns: the parameters, iterations used, whether ``tol`` was met, why it stopped,
    the largest gradient entry and the scaled objective at ``theta``."""

    theta: np.ndarray
    n_iter: int
    converged: bool
    message: str
    grad_max: float
    fun: float


class Separated(Exception):
    """An iterate classifies every training sample correctly: the unpenalized optimum is at infinity."""

    def __init__(self, theta: np.ndarray, n_iter: int) -> None:
        super().__init__("the classes are separated by an iterate")
        self.theta = theta
        self.n_iter = n_iter


class NonFiniteLoss(Exception):
    """The loss (or its gradient or Hessian) is not finite: the solver stopped at ``theta``, the last
    finite iterate, after ``n_iter`` iterations; ``what`` says what was not finite
    (``"the loss is nan"``)."""

    def __init__(self, theta: np.ndarray, n_iter: int, what: str) -> None:
        super().__init__(f"{what} at iteration {n_iter + 1}")
        self.theta = theta
        self.n_iter = n_iter
        self.what = what


def _finite(*arrays: object) -> bool:
    return all(bool(np.all(np.isfinite(a))) for a in arrays)  # type: ignore[call-overload]


def _not_finite(f: float, g: np.ndarray | None = None, H: np.ndarray | None = None) -> str:
    """What is not finite among the loss, the gradient and the Hessian."""
    if not np.isfinite(f):
        return f"the loss is {f}"
    if g is not None and not _finite(g):
        return "the gradient is not finite (nan or inf)"
    return "the Hessian is not finite (nan or inf)"


def lbfgs(
    obj: ObjectiveBase,
    theta0: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    progress: Progress | None = None,
    stop_if_separated: bool = False,
) -> SolverResult:
    """Minimize with scipy's L-BFGS-B, loss and gradient from one evaluation (``jac=True``)."""
    last: dict[str, object] = {}
    count = [0]
    accepted = [np.array(theta0, dtype=np.float64, copy=True)]

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = obj.loss_grad(theta)
        if not _finite(f, g):
            # scipy's line search cannot recover from nan: stop at the last accepted iterate.
            raise NonFiniteLoss(accepted[0], count[0], _not_finite(float(f), g))
        last["f"], last["g"] = f, g
        return f, g

    def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        count[0] += 1
        theta = intermediate_result.x
        accepted[0] = np.array(theta, dtype=np.float64, copy=True)
        if progress is not None:
            g = last.get("g")
            gmax = float(np.max(np.abs(g))) if isinstance(g, np.ndarray) else float("nan")
            progress(count[0], float(intermediate_result.fun), gmax)
        if stop_if_separated and obj.margins_all_positive(theta):
            raise Separated(theta.copy(), count[0])

    res = scipy.optimize.minimize(
        fun,
        theta0,
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={
            "maxiter": max_iter,
            "maxls": 50,
            "gtol": tol,
            # As sklearn: stop on the gradient, not on a relative change of the objective.
            "ftol": 64 * np.finfo(float).eps,
        },
    )
    g = res.jac if getattr(res, "jac", None) is not None else obj.loss_grad(res.x)[1]
    grad_max = float(np.max(np.abs(g)))
    converged = bool(grad_max <= tol) or (bool(res.success) and res.nit < max_iter)
    return SolverResult(res.x, int(res.nit), converged, str(res.message), grad_max, float(res.fun))


def _null_space_fix(obj: ObjectiveBase, hess: np.ndarray) -> None:
    """Make the multinomial Hessian invertible without changing the Newton step.

    Adding the same vector to every class's coefficients (or intercepts) leaves the softmax unchanged, so
    those directions are (near) null directions of the Hessian, and the gradient is always orthogonal to
    them. Adding c·(I ⊗ 11ᵀ/K) on exactly those directions makes H positive definite and leaves the step
    orthogonal to them (they are eigenvectors of both H and the fix).
    """
    if obj.binary:
        return
    K, m = obj.n_classes, obj.n_coef_cols
    c = float(np.trace(hess)) / hess.shape[0] or 1.0
    view = hess.reshape(K, m, K, m)
    cols = np.arange(m)
    for k in range(K):
        for l in range(K):
            view[k, cols, l, cols] += c / K


def _newton_direction(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Solve H δ = −g by Cholesky; on failure (singular H) add a growing ridge until it factors."""
    scale = max(float(np.trace(hess)) / hess.shape[0], 1e-300)
    ridge = 0.0
    for _ in range(12):
        try:
            factor = scipy.linalg.cho_factor(
                hess + ridge * np.eye(hess.shape[0]) if ridge else hess,
                lower=True,
                check_finite=False,
            )
            return -scipy.linalg.cho_solve(factor, grad, check_finite=False)
        except np.linalg.LinAlgError:
            ridge = scale * 1e-10 if ridge == 0.0 else ridge * 100.0
    return -grad


def newton(
    obj: ObjectiveBase,
    theta0: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    progress: Progress | None = None,
    stop_if_separated: bool = False,
) -> SolverResult:
    """Newton's method (IRLS) with a Cholesky solve and a backtracking (Armijo) line search.

    Each accepted step costs one fused pass over X (loss, gradient and Hessian together).
    """
    theta = np.array(theta0, dtype=np.float64, copy=True)
    f, g, H = obj.loss_grad_hess(theta)
    if not _finite(f, g, H):
        raise NonFiniteLoss(theta, 0, _not_finite(f, g, H))
    grad_max = float(np.max(np.abs(g)))
    n_iter = 0
    message = "maximum number of iterations reached"
    eps = np.finfo(float).eps
    # Quadratic convergence: max|g_{k+1}| ≈ r · max|g_k|², with r measured on the last step. When the
    # prediction (with a safety factor of 10) is already below tol, the step's Hessian is not computed.
    rate = float("inf")
    while n_iter < max_iter:
        if grad_max <= tol:
            message = "converged: max |gradient| <= tol"
            break
        _null_space_fix(obj, H)
        delta = _newton_direction(H, g)
        slope = float(g @ delta)
        if not slope < 0.0:  # not a descent direction (numerically): fall back to steepest descent
            delta = -g
            slope = -float(g @ g)
        want_hess = not 10.0 * rate * grad_max * grad_max <= tol
        t = 1.0
        accepted = False
        H_new: np.ndarray | None = None
        while t >= 1e-12:
            cand = theta + t * delta
            if t == 1.0 and want_hess:
                f_new, g_new, H_new = obj.loss_grad_hess(cand)
            elif t == 1.0:
                f_new, g_new = obj.loss_grad(cand)
            else:
                f_new, g_new = obj.loss(cand), None
            # Armijo, or (near the optimum, where f no longer changes above rounding) a smaller gradient.
            armijo = f_new <= f + 1e-4 * t * slope
            flat = abs(f_new - f) <= 64 * eps * max(abs(f), 1.0)
            if armijo or flat:
                if g_new is None:
                    f_new, g_new = obj.loss_grad(cand)
                if armijo or float(np.max(np.abs(g_new))) < grad_max:
                    accepted = True
                    break
            t *= 0.5
        n_iter += 1
        if not accepted or g_new is None:
            message = "line search failed: no decrease along the Newton direction"
            break
        if not _finite(f_new, g_new):
            raise NonFiniteLoss(theta, n_iter - 1, _not_finite(f_new, g_new))
        new_max = float(np.max(np.abs(g_new)))
        rate = new_max / (grad_max * grad_max) if t == 1.0 and grad_max > 0 else float("inf")
        theta, f, g, grad_max = cand, f_new, g_new, new_max
        if progress is not None:
            progress(n_iter, f, grad_max)
        if stop_if_separated and obj.margins_all_positive(theta):
            raise Separated(theta, n_iter)
        if grad_max > tol:
            # H_new belongs to the full step; after backtracking it is another point's Hessian.
            H = H_new if H_new is not None and t == 1.0 else obj.loss_grad_hess(theta)[2]
            if not _finite(H):
                raise NonFiniteLoss(theta, n_iter, _not_finite(f, g, H))
    else:
        if grad_max <= tol:
            message = "converged: max |gradient| <= tol"
    return SolverResult(theta, n_iter, grad_max <= tol, message, grad_max, f)
