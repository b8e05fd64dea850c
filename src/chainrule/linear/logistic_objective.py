"""The logistic-regression objective, its gradient and its Hessian, computed stably and in few passes.

The solvers minimize the *scaled* objective (the same scaling scikit-learn uses, so that ``tol`` means
the same thing there and here)::

    f(θ) = (1/S) Σ_i s_i ℓ_i(θ) + (α/2) ‖W‖²,      S = Σ_i s_i,   α = 1 / (C S)  (α = 0: no penalty)

where ``s_i`` are the sample weights, ``W`` the coefficients (the intercepts are not penalized) and

- binary: ℓ_i = softplus(z_i) − y_i z_i with z_i = x_i·w + b and y_i ∈ {0, 1}; ∂ℓ_i/∂z_i = s(z_i) − y_i,
  so ∇_w = (1/S) Σ s_i x_i (s(z_i) − y_i) + α w: the seed's Σ x_i (h(x_i) − y_i);
- multinomial: ℓ_i = logsumexp(z_i) − z_{i,y_i} with z_i = W x_i + b ∈ R^K; ∂ℓ_i/∂z_i = softmax(z_i) − e_{y_i}.

sklearn's objective C Σ s_i ℓ_i + ½‖W‖² equals ``C S f(θ)`` (:meth:`LogisticObjective.sklearn_objective`).

Parameter vectors ``θ`` are flat float64 arrays: binary ``[w (d), b]``; multinomial the C-order
flattening of a ``(K, d + 1)`` matrix whose last column is the intercept (no intercept column when
``fit_intercept`` is false). Everything is NumPy float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg.blas
import scipy.special

__all__ = ["LogisticObjective", "make_objective"]

_syrk = scipy.linalg.blas.dsyrk
_gemm = scipy.linalg.blas.dgemm

#: Rows per chunk in the fused passes: about 1 MB of X per chunk keeps the chunk and its temporaries in
#: cache while the loss, the gradient and the Hessian are accumulated from one read of X.
_CHUNK_BYTES = 1 << 20


@dataclass
class LogisticObjective:
    """The scaled objective for data ``X`` (n, d) float64, targets and weights.

    Attributes:
        X: (n, d) float64 features.
        y: (n,) float64 in {0, 1} (binary) or (n,) int64 class indices in [0, K) (multinomial).
        sample_weight: (n,) float64 or ``None`` (all ones).
        n_classes: K; 2 means the binary (one-vector) model.
        alpha: the penalty strength α = 1 / (C S) on the scaled objective; 0 for no penalty.
        fit_intercept: whether θ carries intercepts.
    """

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    n_classes: int
    alpha: float
    fit_intercept: bool

    def __post_init__(self) -> None:
        n, d = self.X.shape
        self.n_samples = n
        self.n_features = d
        self.weight_sum = float(n if self.sample_weight is None else self.sample_weight.sum())
        self._inv_s = 1.0 / self.weight_sum
        self.binary = self.n_classes == 2
        self.n_coef_cols = d + int(self.fit_intercept)
        if self.binary:
            self.size = self.n_coef_cols
            sw = self.sample_weight
            # s_i y_i, needed by every evaluation: computed once.
            self._swy = self.y if sw is None else sw * self.y
        else:
            self.size = self.n_classes * self.n_coef_cols
        self.chunk_rows = max(256, _CHUNK_BYTES // (8 * max(d, 1)))

    # ---- parameter layout -------------------------------------------------------------------------------
    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(coef, intercept)``: binary ``(d,)`` and a 0-d/size-1 array; multinomial ``(K, d)``, ``(K,)``."""
        d = self.n_features
        if self.binary:
            b = theta[d:] if self.fit_intercept else np.zeros(1)
            return theta[:d], b
        M = theta.reshape(self.n_classes, self.n_coef_cols)
        b = M[:, d] if self.fit_intercept else np.zeros(self.n_classes)
        return M[:, :d], b

    def penalty_mask(self) -> np.ndarray:
        """(size,) 1.0 where θ holds a penalized coefficient, 0.0 at intercepts."""
        mask = np.ones(self.size)
        if self.fit_intercept:
            if self.binary:
                mask[-1] = 0.0
            else:
                mask.reshape(self.n_classes, self.n_coef_cols)[:, -1] = 0.0
        return mask

    def sklearn_objective(self, theta: np.ndarray) -> float:
        """C Σ s_i ℓ_i + ½‖W‖² (or Σ s_i ℓ_i with no penalty): the objective as sklearn states it."""
        return self.to_sklearn_scale(self.loss(theta))

    def to_sklearn_scale(self, f: float) -> float:
        """A value f of the scaled objective in sklearn's form: C S f (= f / α), or S f with no penalty."""
        if self.alpha == 0.0:
            return f * self.weight_sum
        return f / self.alpha

    # ---- decision values ----------------------------------------------------------------------------------
    def _z(self, X: np.ndarray, theta: np.ndarray) -> np.ndarray:
        coef, b = self.split(theta)
        if self.binary:
            z = X @ coef
            if self.fit_intercept:
                z += b[0]
            return z
        Z = X @ coef.T
        if self.fit_intercept:
            Z += b
        return Z

    def _penalty(self, theta: np.ndarray) -> float:
        if self.alpha == 0.0:
            return 0.0
        coef, _ = self.split(theta)
        return 0.5 * self.alpha * float(np.vdot(coef, coef))

    def _add_penalty_grad(self, theta: np.ndarray, grad: np.ndarray) -> None:
        if self.alpha == 0.0:
            return
        coef, _ = self.split(theta)
        if self.binary:
            grad[: self.n_features] += self.alpha * coef
        else:
            grad.reshape(self.n_classes, self.n_coef_cols)[:, : self.n_features] += (
                self.alpha * coef
            )

    # ---- loss and gradient (one pass of X each way) -------------------------------------------------------
    def loss(self, theta: np.ndarray) -> float:
        """f(θ)."""
        return self._data_loss(self.X, self.y, self.sample_weight, self._z(self.X, theta)) * (
            self._inv_s
        ) + self._penalty(theta)

    def _data_loss(
        self, X: np.ndarray, y: np.ndarray, sw: np.ndarray | None, z: np.ndarray
    ) -> float:
        if self.binary:
            sp = np.logaddexp(0.0, z)
            if sw is None:
                return float(sp.sum() - y @ z)
            return float(sw @ sp - (sw * y) @ z)
        lse = scipy.special.logsumexp(z, axis=1)
        picked = z[np.arange(z.shape[0]), y]
        per = lse - picked
        return float(per.sum() if sw is None else sw @ per)

    def loss_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(f(θ), ∇f(θ))`` in one evaluation: z = Xθ once, then one transposed product."""
        X, sw, inv_s = self.X, self.sample_weight, self._inv_s
        if self.binary and self.n_samples >= 4 * self.chunk_rows:
            return self._binary_lg_chunked(theta)
        z = self._z(X, theta)
        grad = np.empty(self.size)
        if self.binary:
            d = self.n_features
            sp = np.logaddexp(0.0, z)
            r = scipy.special.expit(z)
            if sw is None:
                data = float(sp.sum() - self.y @ z)
            else:
                data = float(sw @ sp - self._swy @ z)
                r *= sw
            r -= self._swy
            np.matmul(r, X, out=grad[:d])
            grad[:d] *= inv_s
            if self.fit_intercept:
                grad[d] = r.sum() * inv_s
        else:
            data, R = self._multinomial_residual(z, self.y, sw)
            G = grad.reshape(self.n_classes, self.n_coef_cols)
            np.matmul(R.T, X, out=G[:, : self.n_features])
            if self.fit_intercept:
                G[:, -1] = R.sum(axis=0)
            grad *= inv_s
        self._add_penalty_grad(theta, grad)
        return data * inv_s + self._penalty(theta), grad

    def _binary_chunk(
        self, start: int, coef: np.ndarray, b0: float
    ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray | None]:
        """The binary model on the rows ``start : start + chunk_rows``.

        Returns:
            ``(Xc, data, p, r, sc)``: the chunk of X (a view), its Σ s_i ℓ_i, p = s(z) (float64 of the
            chunk's length), the residual r = s ⊙ (p − y), and the chunk's sample weights (or ``None``).
        """
        stop = start + self.chunk_rows
        Xc = self.X[start:stop]
        yc = self.y[start:stop]
        z = Xc @ coef
        if b0 != 0.0:
            z += b0
        sp = np.logaddexp(0.0, z)
        p = scipy.special.expit(z)
        if self.sample_weight is None:
            return Xc, float(sp.sum() - yc @ z), p, p - yc, None
        sc = self.sample_weight[start:stop]
        swy = self._swy[start:stop]
        return Xc, float(sc @ sp - swy @ z), p, sc * p - swy, sc

    def _binary_lg_chunked(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Binary ``(f, ∇f)`` chunk by chunk: each chunk of X is read once for z and for Xᵀr while it is
        still in cache (for tall X this beats two full passes with large temporaries)."""
        n, d = self.X.shape
        coef, b = self.split(theta)
        b0 = float(b[0]) if self.fit_intercept else 0.0
        data = 0.0
        g = np.zeros(d)
        g_b = 0.0
        for start in range(0, n, self.chunk_rows):
            Xc, part, _, r, _ = self._binary_chunk(start, coef, b0)
            data += part
            g += r @ Xc
            g_b += float(r.sum())
        inv_s = self._inv_s
        grad = np.empty(self.size)
        grad[:d] = g * inv_s
        if self.fit_intercept:
            grad[d] = g_b * inv_s
        self._add_penalty_grad(theta, grad)
        return data * inv_s + self._penalty(theta), grad

    def _multinomial_residual(
        self, Z: np.ndarray, y: np.ndarray, sw: np.ndarray | None
    ) -> tuple[float, np.ndarray]:
        """Σ s_i ℓ_i and R = s ⊙ (softmax(Z) − onehot(y)), shape (n, K); Z is overwritten."""
        rows = np.arange(Z.shape[0])
        picked = Z[rows, y]
        lse = scipy.special.logsumexp(Z, axis=1)
        per = lse - picked
        data = float(per.sum() if sw is None else sw @ per)
        Z -= lse[:, None]
        np.exp(Z, out=Z)
        Z[rows, y] -= 1.0
        if sw is not None:
            Z *= sw[:, None]
        return data, Z

    # ---- loss, gradient and Hessian in one fused pass (Newton) ---------------------------------------------
    def loss_grad_hess(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(f, ∇f, ∇²f)`` from one read of X, chunk by chunk; the Hessian is (size, size)."""
        if self.binary:
            return self._binary_lgh(theta)
        return self._multinomial_lgh(theta)

    def _binary_lgh(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        n, d = self.X.shape
        coef, b = self.split(theta)
        b0 = float(b[0]) if self.fit_intercept else 0.0
        data = 0.0
        g = np.zeros(d)
        g_b = 0.0
        # Upper triangle of XᵀDX, accumulated in place by BLAS syrk (Fortran order, as syrk writes it).
        H = np.zeros((d, d), order="F")
        h_wb = np.zeros(d)
        h_bb = 0.0
        for start in range(0, n, self.chunk_rows):
            Xc, part, p, r, sc = self._binary_chunk(start, coef, b0)
            data += part
            # D = s p (1 − p): the weights of XᵀDX; r = s (p − y): the residual of Xᵀr.
            dw = p * (1.0 - p)
            if sc is not None:
                dw *= sc
            g += r @ Xc
            g_b += float(r.sum())
            Xs = Xc * np.sqrt(dw)[:, None]
            # Xsᵀ is a Fortran-ordered view of the C-ordered chunk: syrk(Xsᵀ) = XsᵀXs with no copy.
            H = _syrk(1.0, Xs.T, beta=1.0, c=H, trans=0, overwrite_c=1)
            if self.fit_intercept:
                h_wb += dw @ Xc
                h_bb += float(dw.sum())
        inv_s = self._inv_s
        size = self.size
        grad = np.empty(size)
        grad[:d] = g * inv_s
        hess = np.empty((size, size))
        upper = np.triu(H)
        hess[:d, :d] = upper + np.triu(H, 1).T
        hess[:d, :d] *= inv_s
        if self.fit_intercept:
            grad[d] = g_b * inv_s
            hess[:d, d] = hess[d, :d] = h_wb * inv_s
            hess[d, d] = h_bb * inv_s
        if self.alpha:
            hess[np.arange(d), np.arange(d)] += self.alpha
        self._add_penalty_grad(theta, grad)
        return data * inv_s + self._penalty(theta), grad, hess

    def _multinomial_lgh(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        X, y, sw = self.X, self.y, self.sample_weight
        n = X.shape[0]
        K, m = self.n_classes, self.n_coef_cols
        data = 0.0
        G = np.zeros((K, m))
        # H[k, :, l, :] = Σ_i s_i p_ik (δ_kl − p_il) x̃_i x̃_iᵀ, x̃ = [x, 1].
        H = np.zeros((K, m, K, m))
        step = self.chunk_rows
        for start in range(0, n, step):
            Xc = X[start : start + step]
            if self.fit_intercept:
                Xc = np.hstack([Xc, np.ones((Xc.shape[0], 1))])
            sc = None if sw is None else sw[start : start + step]
            yc = y[start : start + step]
            Z = Xc @ theta.reshape(K, m).T
            lse = scipy.special.logsumexp(Z, axis=1)
            rows = np.arange(Z.shape[0])
            per = lse - Z[rows, yc]
            data += float(per.sum() if sc is None else sc @ per)
            P = np.exp(Z - lse[:, None])
            R = P.copy()
            R[rows, yc] -= 1.0
            if sc is not None:
                R *= sc[:, None]
            G += R.T @ Xc
            for k in range(K):
                for l in range(k, K):
                    dkl = -P[:, k] * P[:, l]
                    if k == l:
                        dkl += P[:, k]
                    if sc is not None:
                        dkl *= sc
                    # (Xc ⊙ d)ᵀ Xc by BLAS gemm on Fortran views of the C-ordered chunks (no copies).
                    block = _gemm(1.0, (Xc * dkl[:, None]).T, Xc.T, trans_b=1)
                    H[k, :, l, :] += block
                    if l != k:
                        H[l, :, k, :] += block.T
        inv_s = self._inv_s
        grad = G.reshape(-1) * inv_s
        hess = H.reshape(K * m, K * m) * inv_s
        if self.alpha:
            idx = np.flatnonzero(self.penalty_mask())
            hess[idx, idx] += self.alpha
        self._add_penalty_grad(theta, grad)
        return data * inv_s + self._penalty(theta), grad, hess

    # ---- predictions on new data ---------------------------------------------------------------------------
    def decision(self, X: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """z for new data: (n,) binary, (n, K) multinomial."""
        return self._z(X, theta)

    def margins_all_positive(self, theta: np.ndarray) -> bool:
        """True when θ classifies every sample of positive weight correctly with a strictly positive margin.

        Then scaling θ up drives the unpenalized loss to 0: the maximum-likelihood estimate does not exist
        (complete separation). Binary: y±_i z_i > 0; multinomial: z_{i,y_i} > max_{k≠y_i} z_{i,k}.
        """
        z = self._z(self.X, theta)
        if self.binary:
            signed = np.where(self.y > 0.5, z, -z)
        else:
            rows = np.arange(z.shape[0])
            own = z[rows, self.y].copy()
            z[rows, self.y] = -np.inf
            signed = own - z.max(axis=1)
        if self.sample_weight is not None:
            signed = signed[self.sample_weight > 0]
        return bool(signed.size and np.all(signed > 0.0))


def make_objective(
    X: np.ndarray,
    y_index: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray | None,
    C: float,
    fit_intercept: bool,
) -> LogisticObjective:
    """The scaled objective for class indices ``y_index`` (n,) in [0, K); ``C = inf`` means no penalty."""
    weight_sum = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    alpha = 0.0 if not np.isfinite(C) else 1.0 / (C * weight_sum)
    y = y_index.astype(np.float64) if n_classes == 2 else y_index.astype(np.intp)
    return LogisticObjective(X, y, sample_weight, n_classes, alpha, fit_intercept)
