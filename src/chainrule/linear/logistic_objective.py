"""The logistic-regression objective, its gradient and its Hessian, computed stably and in few passes.

The solvers minimize the *scaled* objective (the same scaling scikit-learn uses, so that ``tol`` means
the same thing there and here)::

    f(θ) = (1/S) Σ_i s_i ℓ_i(θ) + (α/2) ‖W‖² [+ λ ‖W‖₁],      S = Σ_i s_i

with α = (1 − ρ)/(C S) and λ = ρ/(C S) for the L1 ratio ρ (ρ = 0 for an L2 penalty, 1 for L1; α = λ = 0:
no penalty). The L1 term is not smooth: :meth:`ObjectiveBase.loss` and its derivatives leave it out and
the proximal solver (:func:`chainrule.linear.logistic_solvers.prox_newton`) adds it; ``l1`` holds λ.

where ``s_i`` are the sample weights, ``W`` the coefficients (the intercepts are not penalized) and

- binary: ℓ_i = softplus(z_i) − y_i z_i with z_i = x_i·w + b and y_i ∈ {0, 1}; ∂ℓ_i/∂z_i = s(z_i) − y_i,
  so ∇_w = (1/S) Σ s_i x_i (s(z_i) − y_i) + α w: the seed's Σ x_i (h(x_i) − y_i);
- multinomial: ℓ_i = logsumexp(z_i) − z_{i,y_i} with z_i = W x_i + b ∈ R^K; ∂ℓ_i/∂z_i = softmax(z_i) − e_{y_i}.

sklearn's objective C Σ s_i ℓ_i + ½‖W‖² equals ``C S f(θ)`` (:meth:`LogisticObjective.sklearn_objective`).

Parameter vectors ``θ`` are flat float64 arrays: binary ``[w (d), b]``; multinomial the C-order
flattening of a ``(K, d + 1)`` matrix whose last column is the intercept (no intercept column when
``fit_intercept`` is false). Everything is NumPy float64.

The data part of every evaluation is one kernel, :func:`block_sums`: over a block of rows it returns the
unscaled sums Σ s_i ℓ_i, Σ s_i ∂ℓ_i/∂θ and Σ s_i ∂²ℓ_i/∂θ² (the Hessian by BLAS syrk/gemm), reading each
cache-sized chunk of the block once (a SciPy CSR ``X`` goes through sparse products instead, never
densified). :class:`LogisticObjective` runs it on the whole in-memory ``X``;
:mod:`chainrule.linear.logistic_dask` runs the same kernel on each chunk of a Dask array and adds the
results. :class:`ObjectiveBase` (the parameter layout, the penalty and the scaling of those sums) is
shared by both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg.blas
import scipy.special

__all__ = [
    "BlockSums",
    "LogisticObjective",
    "ObjectiveBase",
    "block_sums",
    "chunk_rows_for",
    "combine_sums",
    "is_sparse",
    "make_objective",
]

_syrk = scipy.linalg.blas.dsyrk
_gemm = scipy.linalg.blas.dgemm

#: Rows per chunk in the fused passes: about 1 MB of X per chunk keeps the chunk and its temporaries in
#: cache while the loss, the gradient and the Hessian are accumulated from one read of X.
_CHUNK_BYTES = 1 << 20


def is_sparse(X: object) -> bool:
    """Whether ``X`` is a SciPy sparse matrix or array, told by its type's module (no scipy import)."""
    return type(X).__module__.startswith("scipy.sparse") and hasattr(X, "tocsr")


def chunk_rows_for(n_features: int) -> int:
    """Rows per cache-sized chunk of the fused passes for ``n_features`` columns (at least 256)."""
    return max(256, _CHUNK_BYTES // (8 * max(n_features, 1)))


class BlockSums(NamedTuple):
    """The unscaled sums of one block of rows (see :func:`block_sums`).

    Attributes:
        loss: Σ s_i ℓ_i. grad: (size,) Σ s_i ∂ℓ_i/∂θ, or ``None`` (order 0). hess: (size, size)
        Σ s_i ∂²ℓ_i/∂θ², symmetric, or ``None`` (order < 2). min_margin: the smallest margin of a row of
        positive weight (binary y±_i z_i; multinomial z_{i,y_i} − max_{k≠y_i} z_{i,k}); ``inf`` for no
        such row or when not asked for.
    """

    loss: float
    grad: np.ndarray | None
    hess: np.ndarray | None
    min_margin: float


def combine_sums(parts: list[BlockSums]) -> BlockSums:
    """The sums over the union of the blocks of ``parts`` (at least one)."""
    loss = math.fsum(p.loss for p in parts)
    grads = [p.grad for p in parts if p.grad is not None]
    hessians = [p.hess for p in parts if p.hess is not None]
    grad = np.sum(grads, axis=0) if len(grads) == len(parts) else None
    hess = np.sum(hessians, axis=0) if len(hessians) == len(parts) else None
    return BlockSums(loss, grad, hess, min(p.min_margin for p in parts))


def block_sums(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    theta: np.ndarray,
    *,
    n_classes: int,
    fit_intercept: bool,
    order: int,
    chunk_rows: int | None = None,
    margins: bool = False,
) -> BlockSums:
    """The data sums of the logistic loss over the rows of ``X``: the one kernel of every evaluation.

    Args:
        X: (m, d) features (converted to C-ordered float64 when not already), or a SciPy CSR matrix
            (float64; its sums come from sparse products, without densifying it).
        y: (m,) float64 in {0, 1} (binary, ``n_classes == 2``) or (m,) integer class indices.
        sample_weight: (m,) float64 or ``None``.
        theta: (size,) float64 parameters (layout: see the module docstring).
        order: 0 for the loss, 1 for the loss and gradient, 2 for the Hessian too.
        chunk_rows: rows read at a time (default :func:`chunk_rows_for`); each chunk is read once for
            everything asked for, while it is in cache.
        margins: also find the smallest margin (for the separation test).
    """
    if is_sparse(X):
        return _sparse_sums(X, y, sample_weight, theta, n_classes, fit_intercept, order, margins)
    X = np.ascontiguousarray(X, dtype=np.float64)
    step = chunk_rows or chunk_rows_for(X.shape[1])
    if n_classes == 2:
        return _binary_sums(X, y, sample_weight, theta, fit_intercept, order, step, margins)
    return _multinomial_sums(
        X, y, sample_weight, theta, n_classes, fit_intercept, order, step, margins
    )


def _binary_sums(
    X: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray | None,
    theta: np.ndarray,
    fit_intercept: bool,
    order: int,
    step: int,
    margins: bool,
) -> BlockSums:
    n, d = X.shape
    coef = theta[:d]
    b0 = float(theta[d]) if fit_intercept else 0.0
    data = 0.0
    g = np.zeros(d)
    g_b = 0.0
    # Upper triangle of X̃ᵀDX̃ (X̃ = [X, 1] with an intercept), accumulated in place by one BLAS syrk per
    # chunk (Fortran order, as syrk writes it): the intercept row and column come from the same call.
    # The scaled chunk √D X̃ is written into one buffer, reused by every chunk (no allocation per chunk).
    cols = d + int(fit_intercept)
    H = np.zeros((cols, cols), order="F") if order >= 2 else None
    buf = np.empty((min(step, n), cols)) if order >= 2 else None
    low = float("inf")
    for start in range(0, n, step):
        stop = start + step
        Xc = X[start:stop]
        yc = y[start:stop]
        z = Xc @ coef
        if b0 != 0.0:
            z += b0
        sp = np.logaddexp(0.0, z)
        sc = None if sw is None else sw[start:stop]
        if sc is None:
            data += float(sp.sum() - yc @ z)
        else:
            swy = sc * yc
            data += float(sc @ sp - swy @ z)
        if margins:
            signed = np.where(yc > 0.5, z, -z)
            if sc is not None:
                signed = signed[sc > 0]
            if signed.size:
                low = min(low, float(signed.min()))
        if order == 0:
            continue
        p = scipy.special.expit(z)
        # r = s (p − y): the residual of Xᵀr; D = s p (1 − p): the weights of XᵀDX.
        r = p - yc if sc is None else sc * p - swy
        g += r @ Xc
        g_b += float(r.sum())
        if H is not None and buf is not None:
            dw = p * (1.0 - p)
            if sc is not None:
                dw *= sc
            root = np.sqrt(dw)
            Xs = buf[: Xc.shape[0]]
            np.multiply(Xc, root[:, None], out=Xs[:, :d])
            if fit_intercept:
                Xs[:, d] = root
            # Xsᵀ is a Fortran-ordered view of the C-ordered buffer: syrk(Xsᵀ) = XsᵀXs with no copy.
            H = _syrk(1.0, Xs.T, beta=1.0, c=H, trans=0, overwrite_c=1)
    if order == 0:
        return BlockSums(data, None, None, low)
    size = d + int(fit_intercept)
    grad = np.empty(size)
    grad[:d] = g
    if fit_intercept:
        grad[d] = g_b
    hess = None
    if H is not None:
        hess = np.triu(H) + np.triu(H, 1).T
    return BlockSums(data, grad, hess, low)


def _fill(buffer: np.ndarray, chunk: np.ndarray, d: int) -> np.ndarray:
    """``[chunk, 1]`` in the first rows of ``buffer`` (its last column already holds ones)."""
    view = buffer[: chunk.shape[0]]
    view[:, :d] = chunk
    return view


def _multinomial_sums(
    X: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray | None,
    theta: np.ndarray,
    K: int,
    fit_intercept: bool,
    order: int,
    step: int,
    margins: bool,
) -> BlockSums:
    n, d = X.shape
    m = d + int(fit_intercept)
    W = theta.reshape(K, m)
    data = 0.0
    G = np.zeros((K, m))
    # H[k, :, l, :] = Σ_i s_i p_ik (δ_kl − p_il) x̃_i x̃_iᵀ, x̃ = [x, 1].
    H = np.zeros((K, m, K, m)) if order >= 2 else None
    low = float("inf")
    # Buffers reused by every chunk: [X, 1] of a chunk, and the chunk scaled by one weight column.
    rows_max = min(step, n)
    augmented = np.empty((rows_max, m)) if fit_intercept else None
    if augmented is not None:
        augmented[:, d] = 1.0
    scaled = np.empty((rows_max, m)) if order >= 2 else None
    for start in range(0, n, step):
        Xc = X[start : start + step]
        if augmented is not None:
            Xc = _fill(augmented, Xc, d)
        sc = None if sw is None else sw[start : start + step]
        yc = y[start : start + step].astype(np.intp, copy=False)
        Z = Xc @ W.T
        lse = scipy.special.logsumexp(Z, axis=1)
        rows = np.arange(Z.shape[0])
        own = Z[rows, yc]
        per = lse - own
        data += float(per.sum() if sc is None else sc @ per)
        if margins:
            others = Z.copy()
            others[rows, yc] = -np.inf
            signed = own - others.max(axis=1)
            if sc is not None:
                signed = signed[sc > 0]
            if signed.size:
                low = min(low, float(signed.min()))
        if order == 0:
            continue
        P = np.exp(Z - lse[:, None])
        R = P.copy()
        R[rows, yc] -= 1.0
        if sc is not None:
            R *= sc[:, None]
        G += R.T @ Xc
        if H is None:
            continue
        for k in range(K):
            for l in range(k, K):
                dkl = -P[:, k] * P[:, l]
                if k == l:
                    dkl += P[:, k]
                if sc is not None:
                    dkl *= sc
                # (Xc ⊙ d)ᵀ Xc by BLAS gemm on Fortran views of the C-ordered chunks (no copies).
                assert scaled is not None
                Xd = np.multiply(Xc, dkl[:, None], out=scaled[: Xc.shape[0]])
                block = _gemm(1.0, Xd.T, Xc.T, trans_b=1)
                H[k, :, l, :] += block
                if l != k:
                    H[l, :, k, :] += block.T
    if order == 0:
        return BlockSums(data, None, None, low)
    hess = None if H is None else H.reshape(K * m, K * m)
    return BlockSums(data, G.reshape(-1), hess, low)


def _sparse_sums(
    X: object,
    y: np.ndarray,
    sw: np.ndarray | None,
    theta: np.ndarray,
    K: int,
    fit_intercept: bool,
    order: int,
    margins: bool,
) -> BlockSums:
    """:func:`block_sums` for a SciPy CSR ``X`` (n, d): every product is sparse; the Hessian's
    coefficient block XᵀDX is a sparse product made dense (d × d), X itself is never densified."""
    Xs: Any = X
    n, d = Xs.shape
    m = d + int(fit_intercept)
    binary = K == 2
    W = theta.reshape(1 if binary else K, m)
    Z = np.asarray(Xs @ W[:, :d].T)
    if fit_intercept:
        Z = Z + W[:, d]
    low = float("inf")
    weights = np.ones(n) if sw is None else sw
    if binary:
        z = Z[:, 0]
        data = float(weights @ (np.logaddexp(0.0, z) - y * z))
        if margins:
            signed = np.where(y > 0.5, z, -z)[weights > 0]
            low = float(signed.min()) if signed.size else low
        if order == 0:
            return BlockSums(data, None, None, low)
        p = scipy.special.expit(z)
        R = (weights * (p - y))[:, None]
    else:
        yi = y.astype(np.intp, copy=False)
        rows = np.arange(n)
        lse = scipy.special.logsumexp(Z, axis=1)
        own = Z[rows, yi]
        data = float(weights @ (lse - own))
        if margins:
            others = Z.copy()
            others[rows, yi] = -np.inf
            signed = (own - others.max(axis=1))[weights > 0]
            low = float(signed.min()) if signed.size else low
        if order == 0:
            return BlockSums(data, None, None, low)
        P = np.exp(Z - lse[:, None])
        R = P.copy()
        R[rows, yi] -= 1.0
        R *= weights[:, None]
    G = np.empty((R.shape[1], m))
    G[:, :d] = np.asarray(Xs.T @ R).T
    if fit_intercept:
        G[:, d] = R.sum(axis=0)
    if order < 2:
        return BlockSums(data, G.reshape(-1), None, low)
    k_count = R.shape[1]
    H = np.zeros((k_count, m, k_count, m))
    for k in range(k_count):
        for l in range(k, k_count):
            if binary:
                dkl = weights * p * (1.0 - p)
            else:
                dkl = -P[:, k] * P[:, l]
                if k == l:
                    dkl += P[:, k]
                dkl *= weights
            XtD = Xs.T.multiply(dkl[None, :]).tocsr()
            block = np.empty((m, m))
            block[:d, :d] = (XtD @ Xs).toarray()
            if fit_intercept:
                col = np.asarray(XtD.sum(axis=1)).ravel()
                block[:d, d] = block[d, :d] = col
                block[d, d] = float(dkl.sum())
            H[k, :, l, :] = block
            if l != k:
                H[l, :, k, :] = block.T
    size = k_count * m
    return BlockSums(data, G.reshape(-1), H.reshape(size, size), low)


class ObjectiveBase:
    """The parameter layout, the penalty and the scaling shared by the in-memory and Dask objectives.

    A subclass sets ``n_samples``, ``n_features``, ``n_classes``, ``alpha``, ``fit_intercept`` and
    ``weight_sum``, calls :meth:`_init_layout`, and implements :meth:`data_sums` (the unscaled
    :class:`BlockSums` over all its rows).
    """

    n_samples: int
    n_features: int
    n_classes: int
    alpha: float
    fit_intercept: bool
    weight_sum: float
    #: λ, the L1 strength on the scaled objective (added by the proximal solver, not by :meth:`loss`).
    l1: float = 0.0

    def _init_layout(self) -> None:
        d = self.n_features
        self._inv_s = 1.0 / self.weight_sum
        self.binary = self.n_classes == 2
        self.n_coef_cols = d + int(self.fit_intercept)
        self.size = self.n_coef_cols if self.binary else self.n_classes * self.n_coef_cols
        self.chunk_rows = chunk_rows_for(d)

    def data_sums(self, theta: np.ndarray, order: int, margins: bool = False) -> BlockSums:
        """The unscaled sums over every row (see :func:`block_sums`)."""
        raise NotImplementedError  # pragma: no cover - every subclass defines it

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
        """C Σ s_i ℓ_i + ½(1 − ρ)‖W‖² + ρ‖W‖₁ (or Σ s_i ℓ_i with no penalty): sklearn's objective."""
        return self.to_sklearn_scale(self.loss(theta) + self.l1_penalty(theta))

    def l1_penalty(self, theta: np.ndarray) -> float:
        """λ ‖W‖₁ (0.0 without an L1 part)."""
        if self.l1 == 0.0:
            return 0.0
        coef, _ = self.split(theta)
        return self.l1 * float(np.abs(coef).sum())

    def to_sklearn_scale(self, f: float) -> float:
        """A value f of the scaled objective in sklearn's form: C S f (= f / (α + λ)), or S f with no
        penalty."""
        strength = self.alpha + self.l1
        if strength == 0.0:
            return f * self.weight_sum
        return f / strength

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

    # ---- the scaled objective from the data sums --------------------------------------------------------
    def loss(self, theta: np.ndarray) -> float:
        """f(θ)."""
        return self.data_sums(theta, 0).loss * self._inv_s + self._penalty(theta)

    def loss_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(f(θ), ∇f(θ))`` from one pass over the data."""
        sums = self.data_sums(theta, 1)
        assert sums.grad is not None
        grad = sums.grad * self._inv_s
        self._add_penalty_grad(theta, grad)
        return sums.loss * self._inv_s + self._penalty(theta), grad

    def loss_grad_hess(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(f, ∇f, ∇²f)`` from one pass over the data; the Hessian is (size, size)."""
        sums = self.data_sums(theta, 2)
        assert sums.grad is not None and sums.hess is not None
        grad = sums.grad * self._inv_s
        hess = sums.hess * self._inv_s
        if self.alpha:
            idx = np.flatnonzero(self.penalty_mask())
            hess[idx, idx] += self.alpha
        self._add_penalty_grad(theta, grad)
        return sums.loss * self._inv_s + self._penalty(theta), grad, hess

    def margins_all_positive(self, theta: np.ndarray) -> bool:
        """True when θ classifies every sample of positive weight correctly with a strictly positive margin.

        Then scaling θ up drives the unpenalized loss to 0: the maximum-likelihood estimate does not exist
        (complete separation). Binary: y±_i z_i > 0; multinomial: z_{i,y_i} > max_{k≠y_i} z_{i,k}.
        """
        low = self.data_sums(theta, 0, margins=True).min_margin
        return bool(np.isfinite(low) and low > 0.0)


@dataclass
class LogisticObjective(ObjectiveBase):
    """The scaled objective for in-memory data ``X`` (n, d) float64, targets and weights.

    Attributes:
        X: (n, d) float64 features, or a SciPy CSR matrix of float64 (never densified).
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
    l1: float = 0.0

    def __post_init__(self) -> None:
        self.n_samples, self.n_features = self.X.shape
        sw = self.sample_weight
        self.weight_sum = float(self.n_samples if sw is None else sw.sum())
        self._init_layout()

    def data_sums(self, theta: np.ndarray, order: int, margins: bool = False) -> BlockSums:
        """The unscaled sums over all of ``X``, chunk by chunk (:func:`block_sums`)."""
        return block_sums(
            self.X,
            self.y,
            self.sample_weight,
            theta,
            n_classes=self.n_classes,
            fit_intercept=self.fit_intercept,
            order=order,
            chunk_rows=self.chunk_rows,
            margins=margins,
        )

    def decision(self, X: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """z for new data: (n,) binary, (n, K) multinomial."""
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


def make_objective(
    X: np.ndarray,
    y_index: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray | None,
    C: float,
    fit_intercept: bool,
    l1_ratio: float = 0.0,
) -> LogisticObjective:
    """The scaled objective for class indices ``y_index`` (n,) in [0, K); ``C = inf`` means no penalty.

    ``l1_ratio`` ρ splits the penalty 1/(C S) into α = (1 − ρ)/(C S) (the ½‖W‖² part) and λ = ρ/(C S)
    (the ‖W‖₁ part, ``l1``). ``X`` may be a SciPy CSR matrix.
    """
    weight_sum = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    strength = 0.0 if not np.isfinite(C) else 1.0 / (C * weight_sum)
    rho = float(l1_ratio)
    alpha, l1 = strength * (1.0 - rho), strength * rho
    y = y_index.astype(np.float64) if n_classes == 2 else y_index.astype(np.intp)
    return LogisticObjective(X, y, sample_weight, n_classes, alpha, fit_intercept, l1)
