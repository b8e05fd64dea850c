"""Linear algebra on Tensors: ``cr.linalg`` (NumPy's ``numpy.linalg`` signatures, differentiable).

``solve``, ``inv``, ``det``, ``slogdet``, ``cholesky``, ``eigh``, ``svd``, ``norm`` and
``solve_triangular`` (SciPy's, with ``lower``). Each works on plain arrays (NumPy's values: the
NumPy or SciPy call, but ``norm`` is this module's code and a batch of triangular solves is one
substitution over the batch) and on Tensors, recording one named primitive per decomposition. A list
or tuple is read as one array (stacked when it holds Tensors); complex input is a ``TypeError`` (the
gradients are real). Stacks of matrices ``(..., M, M)``
batch over the leading axes as in NumPy; ``solve``'s right-hand side is a vector ``(M,)`` or a stack
of matrices ``(..., M, K)`` (NumPy 2's rule). Every VJP rule is written with these same functions
and the primitives of :mod:`chainrule.autodiff.primitives`, so ``create_graph=True`` differentiates
it again (second order is tested against finite differences).

Stability and conventions (each tested):

- ``slogdet``'s gradient is ``A⁻ᵀ`` (no determinant is formed); ``det``'s is ``det(A)·A⁻ᵀ``, the
  cofactor matrix: for a singular ``A`` it is computed from the SVD instead (finite; first order
  only: a recorded backward, ``create_graph=True``, needs the inverse and raises
  ``numpy.linalg.LinAlgError``).
- ``cholesky``: the VJP uses two triangular solves (SciPy's ``solve_triangular``), never an inverse.
  NumPy reads only the lower triangle, so the gradient is the derivative of that function: it lies
  on the lower triangle (below the diagonal: twice the symmetric gradient that PyTorch returns; the
  diagonal: the same), and finite differences of any entry agree with it. For a symmetric
  input built from tensors (``X Xᵀ``, ``(X + Xᵀ)/2``) their gradients are the same as with the
  symmetric convention.
- ``eigh``: the gradient lies on the ``UPLO`` triangle likewise. Its VJP has ``1/(λj − λi)`` terms;
  eigenvalue pairs closer than ``10·n·ε·max|λ|`` are treated as equal and their terms set to 0
  (PyTorch divides, giving inf or NaN there). That is exact when the
  loss is gauge-invariant (depends on the eigenvalues only, or on a degenerate eigenspace as a
  whole); otherwise the derivative does not exist there and the returned value is one choice.
- ``svd``: the same masking for ``1/(sj² − si²)``; ``1/s`` for a singular value at most
  ``10·k·ε·max(s)`` (zero up to rounding, as in a rank-deficient matrix) is taken as 0 (exact when
  the loss does not depend on that singular vector). With ``full_matrices=True`` (NumPy's
  default) the extra columns of ``U`` and rows of ``Vh`` are any orthonormal completion: a nonzero
  cotangent on them raises ``ValueError`` during backward; the rest differentiates as for
  ``full_matrices=False``.
- ``norm``: at 0 the gradient is a finite subgradient, never NaN: 0 for every vector norm and for the
  Frobenius, 1 and inf matrix norms (``x/‖x‖`` would be NaN); for ``'nuc'`` and ``±2`` the SVD's
  ``U Vᵀ`` (shared equally among tied singular values, as PyTorch). Entries at 0 of a ``p``-norm with
  ``p < 1`` get 0. ``ord=0`` (a count) has no gradient. Ties in the ``±inf``/``±1`` norms share the
  gradient equally (as ``max``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, overload

import numpy as np

from chainrule import backend
from chainrule.autodiff import primitives as P
from chainrule.autodiff import shape_ops as S
from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.primitives import ArrayInput, Operand, _norm_axes, _ns, _shape
from chainrule.autodiff.tensor import Tensor, _leaf, apply, value

__all__ = [
    "EighResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "det",
    "eigh",
    "inv",
    "norm",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
]


class EighResult(NamedTuple):
    """``eigh``'s result: eigenvalues ``(..., M)`` in ascending order, eigenvectors ``(..., M, M)``
    (column ``i`` belongs to eigenvalue ``i``)."""

    eigenvalues: Any
    eigenvectors: Any


class SVDResult(NamedTuple):
    """``svd``'s result: ``U (..., M, K)``, ``S (..., K)`` descending, ``Vh (..., K, N)``."""

    U: Any
    S: Any
    Vh: Any


class SlogdetResult(NamedTuple):
    """``slogdet``'s result: the sign (not differentiable) and ``log|det|``."""

    sign: Any
    logabsdet: Any


# --- helpers ---------------------------------------------------------------------------------------


def _linalg(x: Any) -> Any:
    """The ``linalg`` namespace of array ``x`` (NumPy's, or the Array API extension).

    Raises:
        TypeError: the array's namespace has no ``linalg`` extension.
    """
    xp = _ns(x)
    if xp is np:
        return np.linalg
    la = getattr(xp, "linalg", None)
    if la is None:
        raise TypeError(f"arrays of {xp.__name__} have no linalg extension")
    return la


def _concat(xp: Any, arrays: list[Any], axis: int) -> Any:
    """``concatenate`` of plain arrays (NumPy 1.26 has no ``np.concat``)."""
    return np.concatenate(arrays, axis=axis) if xp is np else xp.concat(arrays, axis=axis)


def _matrix_transpose(x: Any) -> Any:
    """The transpose of the last two axes of a plain array (NumPy 1.26 has no ``matrix_transpose``)."""
    xp = _ns(x)
    return np.swapaxes(x, -1, -2) if xp is np else xp.matrix_transpose(x)


def _square(name: str, arg: str, x: Any, *, min_ndim: int = 2) -> None:
    """Raise ``ValueError`` unless ``x`` is a (stack of) square matrices."""
    s = _shape(value(x))
    if len(s) < min_ndim or s[-1] != s[-2]:
        raise ValueError(
            f"{name}: {arg} must be a square matrix or a stack of them (..., M, M), got shape {s}"
        )


def _mT(x: Any) -> Any:
    """The matrix transpose of the last two axes (differentiable)."""
    return P.swapaxes(x, -1, -2)


def _col(x: Any) -> Any:
    """``x[..., None]`` (differentiable)."""
    return P.reshape(x, (*_shape(value(x)), 1))


def _row(x: Any) -> Any:
    """``x[..., None, :]`` (differentiable)."""
    s = _shape(value(x))
    return P.reshape(x, (*s[:-1], 1, s[-1]))


def _eye_like(n: int, like: Any) -> Any:
    v = value(like)
    return _ns(v).eye(n, dtype=v.dtype)


def _diag_embed(d: Any) -> Any:
    """``(..., n) -> (..., n, n)`` with ``d`` on the diagonal (differentiable)."""
    n = _shape(value(d))[-1]
    return _row(d) * _eye_like(n, d)


def _tril_mask(n: int, like: Any, lower: bool, diag: float = 1.0) -> Any:
    """The constant 0/1 mask of the lower (upper) triangle, ``diag`` on the diagonal."""
    v = value(like)
    m = S._tri_mask((n, n), 0, lower).astype(np.float64)
    m[np.diag_indices(n)] = diag
    return _ns(v).asarray(m, dtype=v.dtype) if _ns(v) is not np else m.astype(v.dtype)


def _on_triangle(sym_grad: Any, lower: bool) -> Any:
    """A symmetric gradient moved onto the triangle that the forward function reads: the entries
    below (above) the diagonal twice, the diagonal once, the rest 0. For an input made symmetric
    by construction (``X Xᵀ``, ``(X + Xᵀ)/2``) the upstream gradients are the same either way."""
    n = _shape(value(sym_grad))[-1]
    return sym_grad * (_tril_mask(n, sym_grad, lower, 0.5) * 2.0)


def _masked_reciprocal(d: Any, tol: Any) -> Any:
    """``1/d`` where ``|d| > tol``, else 0 (differentiable in ``d``; the mask is a constant)."""
    keep = np.abs(np.asarray(backend.to_numpy(value(d)))) > tol
    keep_c = keep if _ns(value(d)) is np else _ns(value(d)).asarray(keep)
    safe = P.where(keep_c, d, 1.0)
    return P.where(keep_c, 1.0 / safe, 0.0)


def _degenerate_tol(w: Any, scale_power: int = 1) -> Any:
    """``10·n·ε·max|w|`` per matrix (shape ``(..., 1, 1)``): closer eigenvalues count as equal."""
    wv = np.asarray(backend.to_numpy(value(w)))
    n = wv.shape[-1] if wv.ndim else 1
    eps = np.finfo(wv.dtype if wv.dtype.kind == "f" else np.float64).eps
    top = np.max(np.abs(wv) ** scale_power, axis=-1, keepdims=True) if wv.size else 0.0
    return (10.0 * n * eps * np.asarray(top))[..., None]


# --- solve and solve_triangular --------------------------------------------------------------------


def solve_forward(a: Any, b: Any) -> Any:
    return _linalg(a).solve(a, b)


def _solve_rhs(solver: Any, a_t: Any, g: Any, b_ndim: int) -> Any:
    """``solver(a_t, g)`` where ``g`` has the solution's shape (a vector right-hand side is batched
    as ``(..., M)``, so it goes through as a column)."""
    if b_ndim == 1:
        return P.reshape(solver(a_t, _col(g)), _shape(value(g)))
    return solver(a_t, g)


def solve_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    gb = solve_vjp_b(g, ans, a, b)
    if len(_shape(value(b))) == 1:
        return -(_col(gb) * _row(ans))
    return -P.matmul(gb, _mT(ans))


def solve_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    return _solve_rhs(solve, _mT(a), g, len(_shape(value(b))))


SOLVE = register_primitive("solve", solve_forward, solve_vjp_a, solve_vjp_b, doc="A⁻¹ b")


def _check_solve(name: str, a: Any, b: Any) -> None:
    _square(name, "a", a)
    sa, sb = _shape(value(a)), _shape(value(b))
    if len(sb) == 0:
        raise ValueError(f"{name}: b must be (M,) or (..., M, K), got a 0-d array")
    rows = sb[0] if len(sb) == 1 else sb[-2]
    if rows != sa[-1]:
        raise ValueError(f"{name}: a has shape {sa} but b has shape {sb}: b needs {sa[-1]} rows")


@overload
def solve(a: Tensor, b: Operand) -> Tensor: ...


@overload
def solve(a: ArrayInput, b: Tensor) -> Tensor: ...


@overload
def solve(a: ArrayInput, b: ArrayInput) -> Any: ...


def solve(a: Any, b: Any) -> Any:
    """The solution ``x`` of ``a @ x = b``, as ``numpy.linalg.solve``.

    ``a``: ``(..., M, M)``; ``b``: ``(M,)`` (a vector, for every matrix of the stack) or
    ``(..., M, K)`` (batch axes broadcast). The result has ``b``'s layout and the common dtype.
    Gradients: ``b̄ = solve(aᵀ, x̄)``, ``ā = −b̄ xᵀ``.

    Raises:
        ValueError: ``a`` is not square or the shapes do not fit.
        numpy.linalg.LinAlgError: ``a`` is singular.
    """
    a, b = P._real_operand("solve", "a", a), P._real_operand("solve", "b", b)
    _check_solve("solve", a, b)
    return apply(SOLVE, (a, b), {})


#: Batched triangular solves of matrices up to this order (or with at least as many matrices as
#: rows) run as one substitution over the whole batch; larger ones call SciPy per matrix (SciPy
#: 1.17's own batching loops in Python as well, slower than either).
_SUBSTITUTION_MAX_N = 64


def _substitute(a: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
    """Forward (``lower``) or back substitution over a batch: ``a (..., n, n)``, ``b (..., n, k)``
    with equal batch shapes; ``n`` Python steps, each vectorised over the batch and columns.

    Raises:
        numpy.linalg.LinAlgError: a zero on a diagonal.
    """
    n = a.shape[-1]
    dtype = np.result_type(a, b, np.float32)
    diag = np.diagonal(a, axis1=-2, axis2=-1)
    zero = np.flatnonzero(np.any(diag == 0, axis=tuple(range(diag.ndim - 1))))
    if zero.size:
        raise np.linalg.LinAlgError(
            f"solve_triangular: singular matrix, a zero on the diagonal at index {int(zero[0])}"
        )
    x = np.empty(b.shape, dtype=dtype)
    for i in range(n) if lower else range(n - 1, -1, -1):
        done = slice(0, i) if lower else slice(i + 1, n)
        rhs = b[..., i, :] - (a[..., i : i + 1, done] @ x[..., done, :])[..., 0, :]
        x[..., i, :] = rhs / diag[..., i, None]
    return x


def _solve_triangular_np(a: np.ndarray, b: np.ndarray, lower: bool) -> np.ndarray:
    import scipy.linalg as sl

    if a.ndim == 2 and b.ndim <= 2:
        return np.asarray(sl.solve_triangular(a, b, lower=lower, check_finite=False))
    vec = b.ndim == 1
    bm = b[:, None] if vec else b
    batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    a_b = np.broadcast_to(a, (*batch, *a.shape[-2:]))
    b_b = np.broadcast_to(bm, (*batch, *bm.shape[-2:]))
    n, count = a.shape[-1], math.prod(batch)
    if n <= _SUBSTITUTION_MAX_N or count >= n:
        out = _substitute(a_b, b_b, lower)
    else:
        out = np.empty(b_b.shape, dtype=np.result_type(a, b, np.float32))
        for idx in np.ndindex(*batch):
            out[idx] = sl.solve_triangular(a_b[idx], b_b[idx], lower=lower, check_finite=False)
    return out[..., 0] if vec else out


def solve_triangular_forward(a: Any, b: Any, lower: bool = False) -> Any:
    if _ns(a) is np and _ns(b) is np:
        return _solve_triangular_np(np.asarray(a), np.asarray(b), lower)
    # Other namespaces: a general solve of the triangle alone (the other one is never read).
    xp = _ns(a)
    tri = xp.tril(a) if lower else xp.triu(a)
    if len(b.shape) == 1:  # the Array API reads a 1-d b as one vector, not a batch
        return _linalg(a).solve(tri, b[..., None])[..., 0]
    return _linalg(a).solve(tri, b)


def solve_triangular_vjp_a(g: Any, ans: Any, a: Any, b: Any, lower: bool = False) -> Any:
    gb = solve_triangular_vjp_b(g, ans, a, b, lower)
    n = _shape(value(a))[-1]
    mask = _tril_mask(n, g, lower)
    if len(_shape(value(b))) == 1:
        return -(_col(gb) * _row(ans)) * mask
    return -P.matmul(gb, _mT(ans)) * mask


def solve_triangular_vjp_b(g: Any, ans: Any, a: Any, b: Any, lower: bool = False) -> Any:
    def solver(t: Any, rhs: Any) -> Any:
        return solve_triangular(t, rhs, lower=not lower)

    return _solve_rhs(solver, _mT(a), g, len(_shape(value(b))))


SOLVE_TRIANGULAR = register_primitive(
    "solve_triangular",
    solve_triangular_forward,
    solve_triangular_vjp_a,
    solve_triangular_vjp_b,
    doc="T⁻¹ b for a triangular T",
)


@overload
def solve_triangular(a: Tensor, b: Operand, lower: bool = False) -> Tensor: ...


@overload
def solve_triangular(a: ArrayInput, b: Tensor, lower: bool = False) -> Tensor: ...


@overload
def solve_triangular(a: ArrayInput, b: ArrayInput, lower: bool = False) -> Any: ...


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Any:
    """The solution of ``a @ x = b`` for a triangular ``a`` (``scipy.linalg.solve_triangular``).

    Only the lower (``lower=True``) or upper triangle of ``a`` is read; ``a``: ``(..., M, M)``, ``b``
    as in :func:`solve`. The gradient of ``a`` lies on that triangle.

    Raises:
        ValueError: ``a`` is not square or the shapes do not fit.
        numpy.linalg.LinAlgError: a zero on the diagonal.
    """
    a = P._real_operand("solve_triangular", "a", a)
    b = P._real_operand("solve_triangular", "b", b)
    _check_solve("solve_triangular", a, b)
    return apply(SOLVE_TRIANGULAR, (a, b), {"lower": bool(lower)})


# --- inv, det, slogdet -----------------------------------------------------------------------------


def inv_forward(a: Any) -> Any:
    return _linalg(a).inv(a)


def inv_vjp(g: Any, ans: Any, a: Any) -> Any:
    t = _mT(ans)
    return -P.matmul(P.matmul(t, g), t)


def det_forward(a: Any) -> Any:
    return _linalg(a).det(a)


def _cofactors(a: np.ndarray) -> np.ndarray:
    """The cofactor matrices of ``a`` ``(..., M, M)``, singular or not, from its SVD:
    ``cof(A) = det(U) det(Vh) · U diag(∏_{j≠i} s_j) Vh``."""
    u, s, vh = np.linalg.svd(a)
    others = P._product_of_others(s, (s.ndim - 1,))
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return np.asarray(sign[..., None, None] * ((u * others[..., None, :]) @ vh))


def det_vjp(g: Any, ans: Any, a: Any) -> Any:
    # d det(A) = det(A) tr(A⁻¹ dA): the gradient det(A)·A⁻ᵀ, the cofactor matrix. On plain NumPy
    # arrays a singular A falls back to the cofactors from the SVD (finite, exact); recorded
    # (create_graph) it needs the inverse.
    if isinstance(a, np.ndarray) and not isinstance(g, Tensor):
        try:
            return _col(_col(g * ans)) * _mT(inv(a))
        except np.linalg.LinAlgError:
            return _col(_col(g)) * _cofactors(a)
    return _col(_col(g * ans)) * _mT(inv(a))


def slogdet_forward(a: Any) -> Any:
    return _linalg(a).slogdet(a)[1]


def slogdet_vjp(g: Any, ans: Any, a: Any) -> Any:
    # d log|det A| = tr(A⁻¹ dA): the gradient A⁻ᵀ, without forming det(A).
    return _col(_col(g)) * _mT(inv(a))


INV = register_primitive("inv", inv_forward, inv_vjp, doc="matrix inverse")
DET = register_primitive("det", det_forward, det_vjp, doc="determinant")
SLOGDET = register_primitive("slogdet", slogdet_forward, slogdet_vjp, doc="log |det A|")


@overload
def inv(a: Tensor) -> Tensor: ...


@overload
def inv(a: ArrayInput) -> Any: ...


def inv(a: Any) -> Any:
    """The inverse of each matrix of ``a`` ``(..., M, M)``; gradient ``−A⁻ᵀ Ā A⁻ᵀ``.

    Raises:
        ValueError: ``a`` is not square.
        numpy.linalg.LinAlgError: ``a`` is singular.
    """
    a = P._real_operand("inv", "a", a)
    _square("inv", "a", a)
    return apply(INV, (a,), {})


@overload
def det(a: Tensor) -> Tensor: ...


@overload
def det(a: ArrayInput) -> Any: ...


def det(a: Any) -> Any:
    """The determinant of each matrix of ``a`` ``(..., M, M)``: shape ``(...)``.

    The gradient is the cofactor matrix ``det(A)·A⁻ᵀ`` (from the SVD for a singular ``A``, to first
    order; see the module doc); prefer :func:`slogdet` for products of
    many factors (``det`` over- or underflows where ``log|det|`` does not).

    Raises:
        ValueError: ``a`` is not square.
    """
    a = P._real_operand("det", "a", a)
    _square("det", "a", a)
    return apply(DET, (a,), {})


def slogdet(a: Any) -> SlogdetResult:
    """``(sign, log|det|)`` of each matrix of ``a`` ``(..., M, M)``, as ``numpy.linalg.slogdet``.

    ``logabsdet`` is differentiable (gradient ``A⁻ᵀ``, computed by an inverse, never through the
    determinant); ``sign`` is piecewise constant (a Tensor without grad for a Tensor input).

    Raises:
        ValueError: ``a`` is not square.
    """
    a = P._real_operand("slogdet", "a", a)
    _square("slogdet", "a", a)
    sign = _linalg(value(a)).slogdet(value(a))[0]
    logabs = apply(SLOGDET, (a,), {})
    return SlogdetResult(_leaf(sign) if isinstance(a, Tensor) else sign, logabs)


# --- cholesky --------------------------------------------------------------------------------------


def cholesky_forward(a: Any, upper: bool = False) -> Any:
    low = _linalg(a).cholesky(a)
    return _matrix_transpose(low) if upper else low


def cholesky_vjp(g: Any, ans: Any, a: Any, upper: bool = False) -> Any:
    # A = L Lᵀ. With Φ(X) = tril(X) with its diagonal halved and S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹, the
    # gradient along symmetric perturbations is (S + Sᵀ)/2: two triangular solves, no inverse;
    # then moved onto the lower triangle, the one NumPy reads.
    low = _mT(ans) if upper else ans
    gl = _mT(g) if upper else g
    n = _shape(value(a))[-1]
    phi = P.matmul(_mT(low), gl) * _tril_mask(n, g, True, 0.5)
    y = solve_triangular(_mT(low), phi, lower=False)  # L⁻ᵀ Φ
    s = _mT(solve_triangular(_mT(low), _mT(y), lower=False))  # (L⁻ᵀ (L⁻ᵀ Φ)ᵀ)ᵀ = L⁻ᵀ Φ L⁻¹
    return _on_triangle((s + _mT(s)) * 0.5, True)


CHOLESKY = register_primitive(
    "cholesky", cholesky_forward, cholesky_vjp, doc="Cholesky factor L of A = L Lᵀ"
)


@overload
def cholesky(a: Tensor, *, upper: bool = False) -> Tensor: ...


@overload
def cholesky(a: ArrayInput, *, upper: bool = False) -> Any: ...


def cholesky(a: Any, *, upper: bool = False) -> Any:
    """The Cholesky factor of each symmetric positive-definite matrix of ``a`` ``(..., M, M)``:
    lower ``L`` with ``a = L Lᵀ`` (``upper=True``: ``U = Lᵀ``), as ``numpy.linalg.cholesky``.

    Only the lower triangle of ``a`` is read, and the gradient lies on it (see the module doc); it
    is computed with triangular solves.

    Raises:
        ValueError: ``a`` is not square.
        numpy.linalg.LinAlgError: ``a`` is not positive definite.
    """
    a = P._real_operand("cholesky", "a", a)
    _square("cholesky", "a", a)
    return apply(CHOLESKY, (a,), {"upper": bool(upper)})


# --- eigh ------------------------------------------------------------------------------------------
#
# One primitive per decomposition: its output packs every factor into one array (eigh: the
# eigenvalues as row 0 above the eigenvectors, (..., M+1, M)), and the public function slices them
# out with getitem, so a loss that uses one factor sends zeros for the others, and second order
# differentiates the slicing like any other operation.


def _eigh_arrays(a: Any, UPLO: str) -> tuple[Any, Any]:
    """``(w, V)`` of plain arrays: the namespace's ``eigh`` (which reads the lower triangle); for
    ``"U"`` that of the transpose, whose lower triangle is ``a``'s upper one (the same matrix)."""
    if _ns(a) is np:
        w, v = np.linalg.eigh(a, UPLO="U" if UPLO == "U" else "L")
    else:
        w, v = _linalg(a).eigh(a if UPLO == "L" else _matrix_transpose(a))
    return w, v


def eigh_forward(a: Any, UPLO: str = "L") -> Any:
    w, v = _eigh_arrays(a, UPLO)
    xp = _ns(v)
    return _concat(xp, [xp.reshape(w, (*w.shape[:-1], 1, w.shape[-1])), v], -2)


def eigh_vjp(g: Any, ans: Any, a: Any, UPLO: str = "L") -> Any:
    # A = V diag(w) Vᵀ: Ā = V (diag(w̄) + F ⊙ (Vᵀ V̄)) Vᵀ with F_ij = 1/(w_j − w_i) off the
    # diagonal (0 for equal eigenvalues), made symmetric, then moved onto the triangle read.
    w, v = ans[..., 0, :], ans[..., 1:, :]
    gw, gv = g[..., 0, :], g[..., 1:, :]
    diff = _row(w) - _col(w)
    f = _masked_reciprocal(diff, _degenerate_tol(w))
    inner = _diag_embed(gw) + f * P.matmul(_mT(v), gv)
    ga = P.matmul(P.matmul(v, inner), _mT(v))
    return _on_triangle((ga + _mT(ga)) * 0.5, UPLO == "L")


EIGH = register_primitive(
    "eigh", eigh_forward, eigh_vjp, doc="eigenvalues (row 0) over eigenvectors of a symmetric A"
)


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending, ``(..., M)``) and eigenvectors (columns, ``(..., M, M)``) of each
    symmetric matrix of ``a`` ``(..., M, M)``, as ``numpy.linalg.eigh`` (reads the ``UPLO`` triangle).

    Differentiable in both (one ``eigh`` node); see the module doc for degenerate eigenvalues.

    Raises:
        ValueError: ``a`` is not square, or ``UPLO`` is not ``"L"``/``"U"``.
    """
    a = P._real_operand("eigh", "a", a)
    _square("eigh", "a", a)
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    if not isinstance(a, Tensor):
        w, v = _eigh_arrays(a, UPLO)
        return EighResult(w, v)
    packed = apply(EIGH, (a,), {"UPLO": UPLO})
    return EighResult(packed[..., 0, :], packed[..., 1:, :])


# --- svd -------------------------------------------------------------------------------------------


def _svd_sizes(shape: tuple[int, ...], full: bool) -> tuple[int, int, int, int, int]:
    """``(m, n, k, cu, rv)``: ``U`` is ``(m, cu)``, ``S`` ``(k,)``, ``Vh`` ``(rv, n)``."""
    m, n = shape[-2], shape[-1]
    k = min(m, n)
    return (m, n, k, m, n) if full else (m, n, k, k, k)


def svd_forward(a: Any, full_matrices: bool = False) -> Any:
    u, s, vh = _linalg(a).svd(a, full_matrices=full_matrices)
    xp = _ns(u)
    lead = tuple(u.shape[:-2])
    # Explicit sizes: a -1 cannot be resolved for an empty batch.
    flat_u = xp.reshape(u, (*lead, u.shape[-2] * u.shape[-1]))
    flat_vh = xp.reshape(vh, (*lead, vh.shape[-2] * vh.shape[-1]))
    return _concat(xp, [flat_u, s, flat_vh], -1)


def _svd_unpack(p: Any, shape: tuple[int, ...], full: bool) -> tuple[Any, Any, Any]:
    m, n, k, cu, rv = _svd_sizes(shape, full)
    lead = shape[:-2]
    u = P.reshape(p[..., : m * cu], (*lead, m, cu))
    s = p[..., m * cu : m * cu + k]
    vh = P.reshape(p[..., m * cu + k :], (*lead, rv, n))
    return u, s, vh


def svd_vjp(g: Any, ans: Any, a: Any, full_matrices: bool = False) -> Any:
    # A = U S Vᵀ (thin). With F_ij = 1/(s_j² − s_i²) (0 for equal values), skew(X) = X − Xᵀ:
    # Ā = U [diag(S̄) + (F ⊙ skew(Uᵀ Ū)) S + S (F ⊙ skew(Vᵀ V̄))] Vᵀ
    #     + (I − U Uᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − V Vᵀ).
    shape = _shape(value(a))
    m, n, k, _, _ = _svd_sizes(shape, full_matrices)
    u, s, vh = _svd_unpack(ans, shape, full_matrices)
    gu, gs, gvh = _svd_unpack(g, shape, full_matrices)
    if full_matrices:
        gv_np = np.asarray(backend.to_numpy(value(gvh)))
        gu_np = np.asarray(backend.to_numpy(value(gu)))
        if np.any(gu_np[..., :, k:]) or np.any(gv_np[..., k:, :]):
            raise ValueError(
                "svd(full_matrices=True): the loss depends on the extra columns of U or rows of "
                "Vh, which are any orthonormal completion (no gradient); use full_matrices=False"
            )
        u, gu = u[..., :, :k], gu[..., :, :k]
        vh, gvh = vh[..., :k, :], gvh[..., :k, :]
    v, gv = _mT(vh), _mT(gvh)
    s2 = s * s
    f = _masked_reciprocal(_row(s2) - _col(s2), _degenerate_tol(s, 2))
    utgu = P.matmul(_mT(u), gu)
    vtgv = P.matmul(_mT(v), gv)
    inner = _diag_embed(gs) + f * (utgu - _mT(utgu)) * _row(s) + _col(s) * (f * (vtgv - _mT(vtgv)))
    ga = P.matmul(P.matmul(u, inner), vh)
    # Singular values below the rank tolerance count as 0 (rounding leaves ~ε·max(s) where the
    # exact value is 0); their 1/s terms are dropped.
    s_inv = _masked_reciprocal(s, _degenerate_tol(s)[..., 0])
    if m > k:
        ga = ga + P.matmul((gu - P.matmul(u, utgu)) * _row(s_inv), vh)
    if n > k:
        ga = ga + P.matmul(u * _row(s_inv), _mT(gv - P.matmul(v, vtgv)))
    return ga


SVD = register_primitive(
    "svd", svd_forward, svd_vjp, doc="U, S, Vh of A = U diag(S) Vh, packed in one array"
)


@overload
def svd(a: Any, full_matrices: bool = True, *, compute_uv: bool = False) -> Any: ...


@overload
def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True) -> SVDResult: ...


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition of each matrix of ``a`` ``(..., M, N)``, as ``numpy.linalg.svd``.

    Returns ``SVDResult(U, S, Vh)`` (``S`` descending); ``compute_uv=False`` returns ``S`` alone.
    Differentiable (one ``svd`` node); see the module doc for degenerate and zero singular values and
    for ``full_matrices=True``.

    Raises:
        ValueError: ``a`` has fewer than 2 dimensions.
    """
    a = P._real_operand("svd", "a", a)
    s_a = _shape(value(a))
    if len(s_a) < 2:
        raise ValueError(f"svd: a must be a matrix or a stack of them (..., M, N), got shape {s_a}")
    if not isinstance(a, Tensor):
        if not compute_uv:
            return _linalg(a).svd(a, compute_uv=False)
        u, s, vh = _linalg(a).svd(a, full_matrices=full_matrices)
        return SVDResult(u, s, vh)
    full = bool(full_matrices) and compute_uv
    packed = apply(SVD, (a,), {"full_matrices": full})
    u, s, vh = _svd_unpack(packed, s_a, full)
    return SVDResult(u, s, vh) if compute_uv else s


# --- norm ------------------------------------------------------------------------------------------


def _is_floating(v: Any) -> bool:
    dtype = getattr(v, "dtype", None)
    if dtype is None:
        return isinstance(v, float)
    if isinstance(dtype, np.dtype):
        return dtype.kind == "f"
    return bool(_ns(v).isdtype(dtype, "real floating"))


def vector_norm_forward(x: Any, ord: float = 2.0, axis: Any = None, keepdims: bool = False) -> Any:
    xp = _ns(x)
    ax = tuple(axis) if axis is not None else None
    a = xp.abs(x)
    if ord == 2.0:
        out = xp.sqrt(xp.sum(a * a, axis=ax, keepdims=keepdims))
    elif ord == 1.0:
        out = xp.sum(a, axis=ax, keepdims=keepdims)
    else:
        out = xp.sum(a**ord, axis=ax, keepdims=keepdims) ** (1.0 / ord)
    return out


def vector_norm_vjp(
    g: Any, ans: Any, x: Any, ord: float = 2.0, axis: Any = None, keepdims: bool = False
) -> Any:
    # ∂‖x‖_p/∂x = sign(x) |x|^(p−1) / ‖x‖^(p−1); 0 where ‖x‖ = 0 (a subgradient) and, for p < 1,
    # where x = 0.
    gk = P._reduced_grad(g, x, axis, keepdims)
    nk = P._reduced_grad(ans, x, axis, keepdims)
    xv, nv = value(x), value(nk)
    xp = _ns(xv)
    nonzero = nv != 0
    if ord == 1.0:
        return gk * xp.sign(xv)
    if ord == 2.0:
        return gk * P.where(nonzero, x / P.where(nonzero, nk, 1.0), 0.0)
    entry_ok = (xv != 0) & nonzero
    ax = P.abs(P.where(entry_ok, x, 1.0))
    ratio = (ax / P.where(nonzero, nk, 1.0)) ** (ord - 1.0)
    return gk * P.where(entry_ok, ratio * xp.sign(xv), 0.0)


VECTOR_NORM = register_primitive(
    "vector_norm", vector_norm_forward, vector_norm_vjp, doc="(Σ|x|^p)^(1/p) over axes"
)


def _vector_norm(x: Any, ord: float, axis: tuple[int, ...], keepdims: bool) -> Any:
    return apply(VECTOR_NORM, (x,), {"ord": float(ord), "axis": axis, "keepdims": bool(keepdims)})


def _empty_norm(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """0 for each empty block (NumPy's value for the max-type norms), as a sum times 0 so that a
    Tensor input stays in the graph."""
    return P.sum(x, axis=axes, keepdims=keepdims) * 0.0


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, int], keepdims: bool) -> Any:
    shape = _shape(value(x))
    nd = len(shape)
    r, c = axes
    if ord in (None, "fro"):
        return _vector_norm(x, 2.0, tuple(sorted(axes)), keepdims)
    if ord in ("nuc", 2, 1, math.inf) and shape[r] * shape[c] == 0:
        return _empty_norm(x, tuple(sorted(axes)), keepdims)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(nd) if i not in axes]
        moved = P.transpose(x, (*rest, r, c))
        s = svd(moved, full_matrices=False, compute_uv=False)
        out = (
            P.sum(s, axis=-1)
            if ord == "nuc"
            else P.max(s, axis=-1)
            if ord == 2
            else P.min(s, axis=-1)
        )
        return P.reshape(out, P._keep_shape(shape, axes)) if keepdims else out
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |x| (sum over rows); inf: the largest row sum.
        over, across = (r, c) if ord in (1, -1) else (c, r)
        sums = P.sum(P.abs(x), axis=over, keepdims=True)
        pick = P.max if ord in (1, math.inf) else P.min
        out = pick(sums, axis=(over, across), keepdims=True)
        if keepdims:
            return out
        return P.reshape(out, tuple(d for i, d in enumerate(shape) if i not in axes))
    raise ValueError(f"norm: invalid ord {ord!r} for matrices (None, 'fro', 'nuc', ±1, ±2, ±inf)")


def _vector_ord_norm(x: Any, ord: Any, axis: tuple[int, ...], keepdims: bool) -> Any:
    if ord is None or ord == 2:
        return _vector_norm(x, 2.0, axis, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid ord {ord!r} for vectors (a number or ±inf)")
    if ord == math.inf:
        if math.prod(_shape(value(x))) == 0:
            return _empty_norm(x, axis, keepdims)
        return P.max(P.abs(x), axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return P.min(P.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        xv = value(x)
        count = _ns(xv).sum(xv != 0, axis=axis, keepdims=keepdims)
        out = _ns(xv).astype(count, xv.dtype) if _ns(xv) is not np else count.astype(xv.dtype)
        return _leaf(out) if isinstance(x, Tensor) else out
    return _vector_norm(x, float(ord), axis, keepdims)


@overload
def norm(x: Tensor, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor: ...


@overload
def norm(x: ArrayInput, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any: ...


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """The vector or matrix norm, as ``numpy.linalg.norm``.

    - ``axis=None``: with ``ord=None`` the 2-norm of all entries; otherwise ``x`` must be 1-D (a
      vector norm) or 2-D (a matrix norm).
    - ``axis`` an int: vector norms along it; a pair: matrix norms over those two axes (others batch).
    - vector ``ord``: ``None``/2, any nonzero number ``p`` (``(Σ|x|^p)^(1/p)``), ``inf``, ``-inf``,
      ``0`` (count of nonzeros, no gradient).
    - matrix ``ord``: ``None``/``'fro'``, ``'nuc'`` (sum of singular values), ``2``/``-2``
      (largest/smallest singular value), ``1``/``-1`` (max/min column sum of ``|x|``),
      ``inf``/``-inf`` (max/min row sum).

    The gradient at 0 is a finite subgradient for every ``ord`` (0 but for ``'nuc'``/``±2``; module
    doc).

    Raises:
        ValueError: an invalid ``ord`` or ``axis``, or ``axis=None`` with ``ord`` on more than 2-D.
    """
    x = P._real_operand("norm", "x", x)
    if not _is_floating(value(x)):  # NumPy's norm of integers and bools is float64
        x = P.cast(x, "float64")
    shape = _shape(value(x))
    nd = len(shape)
    if axis is None:
        if ord is None:
            return _vector_norm(x, 2.0, tuple(range(nd)), keepdims)
        if nd == 1:
            return _vector_ord_norm(x, ord, (0,), keepdims)
        if nd == 2:
            return _matrix_norm(x, ord, (0, 1), keepdims)
        raise ValueError(
            f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D array, got shape {shape}"
        )
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 1:
        return _vector_ord_norm(x, ord, _norm_axes(axes[0], nd), keepdims)
    if len(axes) == 2:
        r, c = (int(a) for a in axes)
        if not (-nd <= r < nd and -nd <= c < nd) or r % nd == c % nd:
            raise ValueError(f"norm: invalid axis {axis!r} for an array of shape {shape}")
        return _matrix_norm(x, ord, (r % nd, c % nd), keepdims)
    raise ValueError(f"norm: axis must be None, an int or a pair of ints, got {axis!r}")
