"""Solvers for the scaled logistic objective: L-BFGS (scipy), Newton with Cholesky (IRLS), and proximal
Newton for an L1 or elastic-net penalty.

:func:`lbfgs` and :func:`newton` stop when the largest gradient entry of the scaled objective is at most
``tol`` (for L-BFGS the projected gradient, as scipy's ``gtol``; the same test scikit-learn makes);
:func:`prox_newton` makes the same test on the minimum-norm subgradient (below). All three accept a
``progress`` callback called once per iteration with ``(iteration, objective, max |gradient|)``.
:func:`lbfgs` and :func:`newton` can stop early when an unpenalized fit's iterate already separates the
classes (``stop_if_separated``), raising :class:`Separated` with that iterate, since the optimum then lies
at infinity (:func:`prox_newton` accepts the flag and ignores it: an L1 fit is penalized).

All three stop when the loss or its gradient is not finite (decision values that overflow: data scaled
to ~1e300), raising :class:`NonFiniteLoss` with the last finite iterate; the Newton line searches first
backtrack from a trial point whose loss is not finite.

:func:`prox_newton` minimizes F(θ) = f(θ) + Σ_j λ_j |θ_j| (f the smooth scaled objective, λ_j = λ on
coefficients and 0 on intercepts): each iteration minimizes the quadratic model of f plus the L1 term by
cyclic coordinate descent on the explicit Hessian (with an active set, as in GLMNET), then backtracks
along that direction until F decreases enough (Tseng and Yun, 2009; Lee, Sun and Saunders, 2014). It
stops when the minimum-norm subgradient of the scaled objective is at most ``tol`` in every entry: the
same measure as the other solvers' largest gradient entry, to which it reduces without an L1 part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from chainrule.linear.logistic_objective import ObjectiveBase

__all__ = [
    "NonFiniteLoss",
    "Separated",
    "SolverResult",
    "lbfgs",
    "min_norm_subgradient",
    "newton",
    "prox_newton",
]

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


def min_norm_subgradient(theta: np.ndarray, grad: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The smallest element of ∂F(θ) for F = f + Σ λ_j |θ_j|, given ∇f(θ) = ``grad``; all (size,).

    Where θ_j ≠ 0 it is g_j + λ_j sign θ_j; where θ_j = 0 it is g_j shrunk towards 0 by λ_j. F is
    minimized exactly where it is 0.
    """
    shrunk = np.sign(grad) * np.maximum(np.abs(grad) - lam, 0.0)
    return np.where(theta != 0.0, grad + lam * np.sign(theta), shrunk)


def _soft(z: float, t: float) -> float:
    return z - t if z > t else (z + t if z < -t else 0.0)


def _active_set_solve(
    H: np.ndarray, g: np.ndarray, theta: np.ndarray, lam: np.ndarray, u: np.ndarray, tol: float
) -> np.ndarray | None:
    """The model's exact minimizer, found from ``u`` by an active-set method, or ``None``.

    With the active set A (entries of ``u`` that are nonzero or unpenalized) and their signs fixed, the
    model gᵀδ + ½δᵀHδ + Σ λ_j |θ_j + δ_j| is a quadratic on A: one Cholesky solve of H_AA gives its
    minimizer c. Moving from ``u`` towards c decreases the model; where a penalized entry would change
    sign first, it stops, sets that entry to 0 and drops it from A, and solves again. The final c is the
    model's minimizer when every entry outside A satisfies |(model gradient)_j| ≤ λ_j (up to ``tol``);
    else ``None`` (coordinate descent goes on).
    """
    u = u.copy()
    active = np.flatnonzero((u != 0.0) | (lam == 0.0))
    for _ in range(active.size + 1):
        if active.size == 0:
            return None
        signs = np.sign(u[active])
        rest = np.setdiff1d(np.arange(u.size), active)
        H_aa = H[np.ix_(active, active)]
        rhs = -(g[active] + lam[active] * signs) + H_aa @ theta[active]
        if rest.size:
            rhs += H[np.ix_(active, rest)] @ theta[rest]
        try:
            factor = scipy.linalg.cho_factor(H_aa, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        c = scipy.linalg.cho_solve(factor, rhs, check_finite=False)
        wrong = (lam[active] > 0.0) & (np.sign(c) != signs)
        if not np.any(wrong):
            candidate = np.zeros_like(u)
            candidate[active] = c
            r = g + H @ (candidate - theta)
            if float(np.max(np.abs(min_norm_subgradient(candidate, r, lam)))) > tol:
                return None
            return candidate
        # Move towards c until the first wrong entry reaches 0; drop it.
        here = u[active]
        fractions = np.full(active.size, np.inf)
        fractions[wrong] = here[wrong] / (here[wrong] - c[wrong])
        first = int(np.argmin(fractions))
        t = min(max(float(fractions[first]), 0.0), 1.0)
        u[active] = here + t * (c - here)
        u[active[first]] = 0.0
        active = np.delete(active, first)
    return None


def _cd_model(
    H: np.ndarray, g: np.ndarray, theta: np.ndarray, lam: np.ndarray, tol: float, max_sweeps: int
) -> np.ndarray:
    """Minimize gᵀδ + ½ δᵀHδ + Σ λ_j |θ_j + δ_j| over δ by cyclic coordinate descent; returns θ + δ.

    Sweeps over the active set (nonzero or unpenalized entries) until the largest change, in gradient
    units (|Δu_j|·H_jj), is at most ``tol``; then a full sweep checks the rest; it stops when the model's
    minimum-norm subgradient is at most ``tol`` or after ``max_sweeps`` sweeps. Once coordinate descent
    has found the active set and its signs, one Cholesky solve on it (:func:`_active_set_solve`) gives
    the exact minimizer, which ends the sweeps early on ill-conditioned (correlated) features.
    """
    u = theta.copy()
    r = g.copy()  # the model's gradient g + H(u − θ)
    diag = np.diag(H).copy()
    p = u.size
    free = lam == 0.0
    everything = np.arange(p)
    rows = [H[j] for j in range(p)]
    lam_l = lam.tolist()
    diag_l = diag.tolist()

    def sweep(order: np.ndarray) -> float:
        worst = 0.0
        for j in order.tolist():
            a = diag_l[j]
            if a <= 0.0:
                continue
            uj = float(u[j])
            new = _soft(uj - float(r[j]) / a, lam_l[j] / a)
            step = new - uj
            if step != 0.0:
                u[j] = new
                np.add(r, step * rows[j], out=r)
                change = abs(step) * a
                if change > worst:
                    worst = change
        return worst

    tried: set[bytes] = set()

    def exact_if_settled() -> np.ndarray | None:
        # One solve per sign pattern: a pattern that failed is not tried again.
        key = np.sign(u).astype(np.int8).tobytes()
        if key in tried:
            return None
        tried.add(key)
        return _active_set_solve(H, g, theta, lam, u, tol)

    for _ in range(max_sweeps):
        sweep(everything)
        if float(np.max(np.abs(min_norm_subgradient(u, r, lam)))) <= tol:
            break
        exact = exact_if_settled()
        if exact is not None:
            return exact
        for k in range(max_sweeps):
            active = np.flatnonzero((u != 0.0) | free)
            if active.size == 0 or sweep(active) <= tol:
                break
            if k % 4 == 3:
                exact = exact_if_settled()
                if exact is not None:
                    return exact
    return u


def prox_newton(
    obj: ObjectiveBase,
    theta0: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    progress: Progress | None = None,
    stop_if_separated: bool = False,
) -> SolverResult:
    """Proximal Newton for f(θ) + λ‖W‖₁ (``obj.l1`` = λ; intercepts unpenalized), see the module
    docstring. ``SolverResult.fun`` includes the L1 term; ``grad_max`` is the largest entry of the
    minimum-norm subgradient. ``stop_if_separated`` is accepted for a common signature (an L1 fit is
    penalized: its optimum is finite).
    """
    del stop_if_separated
    lam = obj.l1 * obj.penalty_mask()
    theta = np.array(theta0, dtype=np.float64, copy=True)
    f, g, H = obj.loss_grad_hess(theta)
    if not _finite(f, g, H):
        raise NonFiniteLoss(theta, 0, _not_finite(f, g, H))
    F = f + float(lam @ np.abs(theta))
    opt = float(np.max(np.abs(min_norm_subgradient(theta, g, lam))))
    n_iter = 0
    message = "maximum number of iterations reached"
    eps = np.finfo(float).eps
    while n_iter < max_iter:
        if opt <= tol:
            message = "converged: max |subgradient| <= tol"
            break
        # Inexact inner solves: the model is solved to a forcing tolerance that shrinks with opt.
        inner_tol = max(0.1 * tol, min(0.1, opt) * opt)
        target = _cd_model(H, g, theta, lam, inner_tol, max_sweeps=1000)
        delta = target - theta
        decrease = float(g @ delta) + float(lam @ (np.abs(target) - np.abs(theta)))
        n_iter += 1
        if not decrease < 0.0:
            message = "no descent direction: the model is minimized at the current point"
            break
        t = 1.0
        accepted = False
        H_new: np.ndarray | None = None
        g_new: np.ndarray | None = None
        while t >= 1e-12:
            cand = theta + t * delta
            l1_part = float(lam @ np.abs(cand))
            if t == 1.0:
                f_new, g_new, H_new = obj.loss_grad_hess(cand)
            else:
                f_new, g_new, H_new = obj.loss(cand), None, None
            F_new = f_new + l1_part
            sufficient = F_new <= F + 1e-4 * t * decrease
            flat = abs(F_new - F) <= 64 * eps * max(abs(F), 1.0)
            if sufficient or flat:
                if g_new is None:
                    f_new, g_new, H_new = obj.loss_grad_hess(cand)
                new_opt = float(np.max(np.abs(min_norm_subgradient(cand, g_new, lam))))
                if sufficient or new_opt < opt:
                    accepted = True
                    break
            t *= 0.5
        if not accepted or g_new is None or H_new is None:
            message = "line search failed: no decrease along the proximal Newton direction"
            break
        if not _finite(f_new, g_new, H_new):
            raise NonFiniteLoss(theta, n_iter - 1, _not_finite(f_new, g_new, H_new))
        theta, f, g, H, F = cand, f_new, g_new, H_new, F_new
        opt = float(np.max(np.abs(min_norm_subgradient(theta, g, lam))))
        if progress is not None:
            progress(n_iter, F, opt)
    else:
        if opt <= tol:
            message = "converged: max |subgradient| <= tol"
    if not obj.binary and obj.fit_intercept:
        # Adding a constant to every class's intercept changes no probability: coordinate descent may
        # drift along that direction, so the intercepts are centred (sum 0, as sklearn's are).
        M = theta.reshape(obj.n_classes, obj.n_coef_cols)
        M[:, -1] -= M[:, -1].mean()
    return SolverResult(theta, n_iter, opt <= tol, message, opt, F)
