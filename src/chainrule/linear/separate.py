"""Separating hyperplanes, or a certificate that none exists.

:func:`separating_hyperplane` answers "is there a hyperplane with every point of one class strictly on one side?"
either way, with proof:

- **separable:** a hyperplane in canonical form (``min_i y_i f(x_i) = 1``), any separating one (an LP solved
  with HiGHS) or the Euclidean maximum-margin one (the hard-margin SVM, a QP solved with Clarabel);
- **not separable:** :class:`NotSeparable`, carrying a :class:`GordanCertificate`: weights ``λ ≥ 0``,
  ``Σλ = 1``, ``Σ λ_i y_i [x_i; 1] = 0``. By Gordan's theorem such λ exists exactly when no ``(w, b)`` has
  ``y_i (w·x_i + b) > 0`` for all ``i``; it names a point that lies in the convex hulls of both classes.

Both outcomes are verified in exact rational arithmetic (floats at their exact binary value) when there are
at most ``exact_limit`` points (5,000 by default): the float answer is rounded to small-denominator rationals
(or taken exactly) and re-checked. Above the limit the hyperplane is checked in float64 and ``verified`` is
``False``; certificates are always checked exactly (they involve at most ``d + 2`` points).

Both solvers work on a small working set of points (constraint generation): solve on the set, check every
point with one matrix-vector product, add the violators, repeat. The answer is the one for the whole data
set, since the points left out satisfy their constraints; the cost is that of a few small problems.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, Literal

import clarabel  # type: ignore[import-untyped]
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from chainrule.linear._exact import (
    as_fraction,
    format_coordinate,
    format_number,
    format_weight,
    integer_matrix,
    integer_vector,
    rationalize,
    solve_exact,
)
from chainrule.linear.datasets import check_Xy
from chainrule.linear.hyperplane import Hyperplane, binary_labels

__all__ = [
    "EXACT_LIMIT",
    "GordanCertificate",
    "NotSeparable",
    "SeparatingHyperplane",
    "gordan_certificate",
    "separating_hyperplane",
]

#: Largest number of points for which a hyperplane is verified in exact rational arithmetic by default.
EXACT_LIMIT = 5000

Number = Fraction | float


# ---------------------------------------------------------------------------------------------------
# The certificate
# ---------------------------------------------------------------------------------------------------
class GordanCertificate:
    """Proof that two classes cannot be separated: one point in the convex hulls of both.

    ``λ ≥ 0`` over a few rows (``indices``) with ``Σλ = 1`` and ``Σ λ_i y_i [x_i; 1] = 0`` (``y_i = ±1``).
    The last row makes each class carry half the weight, so doubling the weights of one class gives a convex
    combination of its points, and the two combinations are the same point.

    Attributes:
        indices: the rows of ``X`` with ``λ_i > 0``, ascending.
        weights: ``λ_i`` for those rows (Fractions when ``exact``), summing to 1.
        signs: ``+1`` / ``-1`` for each row (the positive class is the larger label).
        points: the rows themselves (Fractions at their exact value when ``exact``).
        classes: ``(negative_label, positive_label)``.
        exact: ``True`` when the three conditions were verified in exact rational arithmetic.
    """

    __slots__ = ("classes", "exact", "indices", "points", "signs", "weights")

    def __init__(
        self,
        indices: Sequence[int],
        weights: Sequence[Number],
        signs: Sequence[int],
        points: Sequence[Sequence[Number]],
        classes: tuple[Any, Any],
        exact: bool,
    ) -> None:
        self.indices: tuple[int, ...] = tuple(int(i) for i in indices)
        self.weights: tuple[Number, ...] = tuple(weights)
        self.signs: tuple[int, ...] = tuple(int(s) for s in signs)
        self.points: tuple[tuple[Number, ...], ...] = tuple(tuple(p) for p in points)
        self.classes = classes
        self.exact = exact

    def lambdas(self, n: int) -> np.ndarray:
        """The full weight vector ``λ`` over ``n`` points, float64 of shape ``(n,)`` (zero off the support)."""
        lam = np.zeros(n, dtype=np.float64)
        lam[list(self.indices)] = [float(w) for w in self.weights]
        return lam

    def side(self, sign: int) -> list[tuple[Number, tuple[Number, ...], int]]:
        """``(weight within the class, point, row)`` for one class (``+1`` or ``-1``); weights sum to 1."""
        rows = [
            (w, p, i)
            for w, p, i, s in zip(self.weights, self.points, self.indices, self.signs, strict=True)
            if s == sign
        ]
        total = sum((w for w, _, _ in rows), Fraction(0) if self.exact else 0.0)
        return [(w / total, p, i) for w, p, i in rows]

    @property
    def common_point(self) -> tuple[Number, ...]:
        """The point in both convex hulls: ``Σ μ_i x_i`` over the positive class (``μ`` the side weights)."""
        side = self.side(1)
        d = len(side[0][1])
        zero: Number = Fraction(0) if self.exact else 0.0
        return tuple(sum((w * p[j] for w, p, _ in side), zero) for j in range(d))

    def verify(self, X: Any, y: Any) -> bool:
        """Re-check the certificate against the data in exact rational arithmetic.

        Args:
            X: the points, shape ``(n, d)``; ``y``: their two-class labels, shape ``(n,)``.

        Returns:
            ``True`` when ``λ ≥ 0``, ``Σλ = 1`` and ``Σ λ_i y_i [x_i; 1] = 0`` hold exactly for these rows.
        """
        X_arr, y_arr = check_Xy(X, y)
        s, _ = binary_labels(y_arr)
        lam = [as_fraction(w) for w in self.weights]
        if any(v < 0 for v in lam) or sum(lam) != 1:
            return False
        rows = X_arr[list(self.indices)]
        total = [Fraction(0)] * (X_arr.shape[1] + 1)
        for w, i, row in zip(lam, self.indices, rows, strict=True):
            coords = [*(as_fraction(v) for v in row), Fraction(1)]
            for j, v in enumerate(coords):
                total[j] += w * int(s[i]) * v
        return all(v == 0 for v in total)

    def _equation(
        self,
        point: Callable[[tuple[Number, ...]], str],
        weight: Callable[[Number], str],
        times: str,
    ) -> str:
        """``Σ μ_i x_i = Σ ν_j x_j`` (positive class left), each point and weight written by the callables."""

        def side(sign: int) -> str:
            return " + ".join(
                point(p) if w == 1 else f"{weight(w)}{times}{point(p)}"
                for w, p, _ in self.side(sign)
            )

        return f"{side(1)} = {side(-1)}"

    def __str__(self) -> str:
        return self._equation(
            lambda p: "(" + ",".join(format_coordinate(v) for v in p) + ")", format_weight, "·"
        )

    def to_latex(self) -> str:
        """The two convex combinations as LaTeX: ``\\tfrac{1}{2}\\begin{pmatrix}0\\\\1\\end{pmatrix} + ...``."""

        def number(v: Number) -> str:
            if isinstance(v, Fraction) and v.denominator != 1 and v.denominator < 10**6:
                sign = "-" if v < 0 else ""
                return f"{sign}\\tfrac{{{abs(v.numerator)}}}{{{v.denominator}}}"
            return format_coordinate(v) if isinstance(v, Fraction) else f"{float(v):.4g}"

        def vector(p: tuple[Number, ...]) -> str:
            return "\\begin{pmatrix} " + " \\\\ ".join(number(v) for v in p) + " \\end{pmatrix}"

        return self._equation(vector, number, "")

    def _repr_latex_(self) -> str:
        return f"${self.to_latex()}$"

    def explain(self) -> str:
        """A few lines: what the certificate says, the two sides, the common point, how it was checked."""
        neg, pos = self.classes
        common = "(" + ", ".join(format_coordinate(v) for v in self.common_point) + ")"
        how = (
            "verified in exact rational arithmetic"
            if self.exact
            else "NOT verified exactly: it holds only to floating-point accuracy"
        )
        rows = ", ".join(str(i) for i in self.indices)
        return "\n".join(
            [
                f"not linearly separable: the convex hulls of class {pos!r} (left) and class {neg!r} "
                "(right) meet",
                f"  {self}",
                f"  common point: {common}",
                f"  Gordan certificate on rows {rows} (0-based): λ ≥ 0, Σλ = 1, Σ λ_i y_i [x_i; 1] = 0 ({how})",
            ]
        )

    def __repr__(self) -> str:
        return f"GordanCertificate({str(self)!r}, exact={self.exact})"


class NotSeparable(ValueError):
    """No hyperplane separates the two classes; ``certificate`` (a :class:`GordanCertificate`) proves it."""

    def __init__(self, certificate: GordanCertificate, message: str | None = None) -> None:
        self.certificate = certificate
        if message is None:
            if certificate.exact:
                message = f"the classes are not linearly separable: {certificate}"
            else:
                message = (
                    f"the classes are not linearly separable to floating-point accuracy: {certificate} "
                    "(this certificate did not verify in exact arithmetic: a margin below about 1e-9 of "
                    "the data's scale cannot be told from none)"
                )
        super().__init__(message)


# ---------------------------------------------------------------------------------------------------
# The answer when separable
# ---------------------------------------------------------------------------------------------------
class SeparatingHyperplane(Hyperplane):
    """A :class:`Hyperplane` that separates a data set, in canonical form ``min_i y_i f(x_i) = 1``.

    Attributes (besides the hyperplane's):
        method: ``"max"`` (maximum margin) or ``"any"``.
        geometric_margin: ``min_i y_i f(x_i) / ‖n‖`` on the data (float).
        support: rows with ``y_i f(x_i) = 1`` (exactly when ``optimal_verified`` or for ``"any"``, to 1e-7
            otherwise): the support vectors of the maximum-margin hyperplane.
        classes: ``(negative_label, positive_label)``.
        verified: every ``y_i f(x_i) ≥ 1 > 0`` was checked in exact rational arithmetic.
        optimal_verified: (``"max"`` only) ``True`` when the KKT conditions hold exactly: ``n = Σ α_i y_i x_i``,
            ``Σ α_i y_i = 0`` with ``α ≥ 0`` on the support. ``None`` when they could not be certified (the
            exact KKT system is solved for up to 64 unknowns, d + 1 + the support size) or not attempted.
    """

    __slots__ = ("classes", "geometric_margin", "method", "optimal_verified", "support", "verified")

    def __init__(
        self,
        normal: Sequence[Any],
        offset: Any,
        *,
        method: str,
        geometric_margin: float,
        support: Sequence[int],
        classes: tuple[Any, Any],
        verified: bool,
        optimal_verified: bool | None = None,
    ) -> None:
        super().__init__(normal, offset)
        self.method = method
        self.geometric_margin = float(geometric_margin)
        self.support: tuple[int, ...] = tuple(int(i) for i in support)
        self.classes = classes
        self.verified = verified
        self.optimal_verified = optimal_verified

    @property
    def hyperplane(self) -> Hyperplane:
        """The plain :class:`Hyperplane`."""
        return Hyperplane(self.normal, self.offset)

    def explain(self) -> str:
        """A few lines: the hyperplane, its margin, the support vectors and how it was verified."""
        neg, pos = self.classes
        kind = "maximum-margin" if self.method == "max" else "separating"
        lines = [f"{kind} hyperplane: {self}"]
        lines.append(f"  positive side: class {pos!r}; negative side: class {neg!r}")
        margin = f"  margin: {self.geometric_margin:.6g}"
        if self.exact:
            norm2 = sum((as_fraction(v) ** 2 for v in self.normal), Fraction(0))
            margin += f" (= 1/‖n‖, margin² = {format_number(1 / norm2)})"
        lines.append(margin)
        shown = ", ".join(str(i) for i in self.support[:20])
        more = f", ... ({len(self.support)} in all)" if len(self.support) > 20 else ""
        lines.append(f"  points on the margin (y_i f(x_i) = 1): rows {shown}{more} (0-based)")
        if self.verified:
            lines.append("  verified in exact rational arithmetic: every y_i·f(x_i) ≥ 1")
        else:
            lines.append("  checked in floating point (exact verification not run)")
        if self.optimal_verified:
            lines.append("  optimality verified exactly: n = Σ α_i y_i x_i, Σ α_i y_i = 0, α ≥ 0")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Solvers on a signed design matrix A (row i = y_i [x_i, 1])
# ---------------------------------------------------------------------------------------------------
def _lp_margin(A: np.ndarray) -> tuple[float, np.ndarray]:
    """max t s.t. A v ≥ t, -1 ≤ v ≤ 1 (HiGHS). Returns ``(t, v)``; ``t > 0`` iff the rows are separable."""
    m, p = A.shape
    c = np.zeros(p + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-A, np.ones((m, 1))])
    bounds = [(-1.0, 1.0)] * p + [(None, None)]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(m), bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"HiGHS failed on the separation LP: {res.message}")
    return float(-res.fun), np.asarray(res.x[:p])


def _qp_max_margin(A: np.ndarray, penalize_last: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """min ½‖v‖² (the last entry free unless ``penalize_last``) s.t. A v ≥ 1, with Clarabel.

    Returns ``(v, alpha)`` (the multipliers of the rows), or ``None`` when the rows are inseparable.
    """
    m, p = A.shape
    diag = np.ones(p)
    if not penalize_last:
        diag[-1] = 0.0
    P = sp.diags(diag, format="csc")
    P.eliminate_zeros()
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = 1e-10
    settings.tol_gap_rel = 1e-10
    settings.tol_feas = 1e-10
    cones = [clarabel.NonnegativeConeT(m)]
    solver = clarabel.DefaultSolver(P, np.zeros(p), sp.csc_matrix(-A), -np.ones(m), cones, settings)
    sol = solver.solve()
    status = sol.status
    if status in (
        clarabel.SolverStatus.PrimalInfeasible,
        clarabel.SolverStatus.AlmostPrimalInfeasible,
    ):
        return None
    v = np.asarray(sol.x, dtype=np.float64)
    solved = status in (clarabel.SolverStatus.Solved, clarabel.SolverStatus.AlmostSolved)
    if not solved and (not np.all(np.isfinite(v)) or np.min(A @ v) < 1 - 1e-6):
        raise RuntimeError(f"Clarabel did not solve the maximum-margin QP: {status}")
    return v, np.asarray(sol.z, dtype=np.float64)


def _polish(A: np.ndarray, v: np.ndarray, alpha: np.ndarray, penalize_last: bool) -> np.ndarray:
    """Refine an interior-point solution by solving the KKT equations on its support (when that helps).

    On the support S (rows with multiplier ``α_i > 0``) the optimum solves ``D v = A_Sᵀ α``, ``A_S v = 1``:
    one small linear system, accurate to rounding, where the interior-point answer is accurate only to its
    tolerance. The refined ``v`` is kept only if it is feasible and no worse.
    """
    p = A.shape[1]
    diag = np.ones(p)
    if not penalize_last:
        diag[-1] = 0.0
    support = np.flatnonzero(alpha > 1e-7 * max(float(alpha.max(initial=0.0)), 1e-300))
    if support.size == 0 or support.size > p:
        return v
    A_S = A[support]
    k = support.size
    K = np.zeros((p + k, p + k))
    K[:p, :p] = np.diag(diag)
    K[:p, p:] = -A_S.T
    K[p:, :p] = A_S
    rhs = np.concatenate([np.zeros(p), np.ones(k)])
    try:
        sol = np.linalg.solve(K, rhs)
    except np.linalg.LinAlgError:
        return v
    v_new, a_new = sol[:p], sol[p:]
    ok = (
        np.all(np.isfinite(sol))
        and np.min(a_new) >= 0
        and np.min(A @ v_new) >= 1 - 1e-12
        and v_new @ (diag * v_new) <= v @ (diag * v) * (1 + 1e-9)
    )
    return v_new if ok else v


def _whole_problem(A: np.ndarray, margin: str) -> np.ndarray:
    """The answer from all rows at once (the fallback when the working set's verdict cannot be certified).

    Raises:
        RuntimeError: the solvers disagree with each other about separability.
    """
    m, p = A.shape
    res = linprog(np.zeros(p), A_ub=-A, b_ub=-np.ones(m), bounds=(None, None), method="highs")
    if res.status == 0:
        if margin == "any":
            return np.asarray(res.x)
        found = _qp_max_margin(A, penalize_last=False)
        if found is not None:
            return found[0]
    raise RuntimeError(
        "the solvers disagree about whether these classes are separable (their margin is at the level of "
        "rounding error); rescale the data or report this case"
    )


def _initial_rows(A: np.ndarray, s: np.ndarray, size: int) -> np.ndarray:
    """A starting working set: per class, the points a least-squares classifier finds hardest."""
    n, p = A.shape
    if n <= size:
        return np.arange(n)
    G = A.T @ A
    G[np.diag_indices(p)] += 1e-10 * max(float(np.trace(G)), 1.0)
    v0 = np.linalg.solve(G, A.sum(axis=0))  # least squares A v ≈ 1, i.e. [x, 1] v ≈ y
    r = A @ v0
    chosen = []
    for sign in (1, -1):
        idx = np.flatnonzero(s == sign)
        k = min(idx.size, size // 2)
        chosen.append(idx[np.argpartition(r[idx], k - 1)[:k]] if k < idx.size else idx)
    return np.sort(np.concatenate(chosen))


def _working_set(
    A: np.ndarray, s: np.ndarray, method: str, penalize_last: bool = False
) -> tuple[np.ndarray | None, np.ndarray]:
    """Solve on a growing working set. Returns ``(v, rows)``; ``v`` is ``None`` when ``rows`` are inseparable."""
    n, p = A.shape
    start = max(4 * p, 64)
    rows = _initial_rows(A, s, start)
    in_set = np.zeros(n, dtype=bool)
    in_set[rows] = True
    while True:
        A_W = A[rows]
        if method == "any":
            t, v = _lp_margin(A_W)
            if t <= 1e-9 * max(1.0, float(np.max(np.abs(A_W)))):
                return None, rows
            r = A @ v
            # Half the working set's margin, not just > 0, so that the answer survives rounding to rationals.
            viol = np.flatnonzero((r < 0.5 * t) & ~in_set)
        else:
            found = _qp_max_margin(A_W, penalize_last)
            if found is None:
                return None, rows
            v, alpha = found
            r = A @ v
            viol = np.flatnonzero((r < 1 - 1e-7) & ~in_set)
            if viol.size == 0:
                return _polish(A_W, v, alpha, penalize_last), rows
        if viol.size == 0:
            return v, rows
        add = viol[np.argsort(r[viol])[: max(start, rows.size)]]
        in_set[add] = True
        rows = np.sort(np.concatenate([rows, add]))


# ---------------------------------------------------------------------------------------------------
# Exact verification
# ---------------------------------------------------------------------------------------------------
def _exact_nonneg_solution(
    M: np.ndarray, rhs: Sequence[Fraction], M_float: np.ndarray
) -> list[Fraction] | None:
    """An exact ``λ ≥ 0`` with ``M λ = rhs`` (``M`` an object array of ints/Fractions), or ``None``.

    A simplex vertex of the float system (HiGHS dual simplex) names a support whose columns are independent;
    the exact system restricted to that support then has one solution, which is checked for ``λ ≥ 0``.
    """
    m, k = M.shape
    b_float = np.array([float(v) for v in rhs])
    # Equilibrate the rows for the float solve (the exact solve below does not need it).
    row_scale = np.maximum(np.abs(M_float).max(axis=1), np.abs(b_float))
    row_scale[row_scale == 0] = 1.0
    res = linprog(
        np.zeros(k),
        A_eq=M_float / row_scale[:, None],
        b_eq=b_float / row_scale,
        bounds=(0, None),
        method="highs-ds",
    )
    if res.status != 0:
        return None
    lam = np.asarray(res.x)
    support = np.flatnonzero(lam > 1e-12 * max(1.0, float(lam.max())))
    if support.size == 0:
        return None
    sub = [[Fraction(M[i, j]) for j in support] for i in range(m)]
    sol = solve_exact(sub, rhs)
    if sol is None or any(v < 0 for v in sol):
        return None
    full = [Fraction(0)] * k
    for j, v in zip(support, sol, strict=True):
        full[int(j)] = v
    return full


def gordan_certificate(
    X: np.ndarray, s: np.ndarray, rows: np.ndarray, classes: tuple[Any, Any]
) -> GordanCertificate:
    """A certificate of inseparability for the points ``rows`` of ``X`` (labels ``s`` = ±1).

    Solves ``Σ λ_i s_i [x_i; 1] = 0``, ``Σλ = 1``, ``λ ≥ 0`` exactly when it can (see module docstring);
    otherwise returns the float solution with ``exact=False``.

    Raises:
        ValueError: no such λ exists even in floating point (the rows are separable).
    """
    X_W = X[rows]
    s_W = s[rows]
    k, d = X_W.shape
    Xi, _ = integer_matrix(
        X_W
    )  # scaling the coordinate equations by S leaves their zero set unchanged
    M = np.empty((d + 2, k), dtype=object)
    M[:d] = (Xi * s_W.astype(object)[:, None]).T
    M[d] = s_W.astype(object)
    M[d + 1] = 1
    scale = np.maximum(np.abs(X_W).max(axis=0), 1e-300)
    M_float = np.vstack([(X_W / scale * s_W[:, None]).T, s_W[None, :], np.ones((1, k))])
    rhs = [Fraction(0)] * (d + 1) + [Fraction(1)]
    lam = _exact_nonneg_solution(M, rhs, M_float)
    if lam is not None:
        support = [j for j in range(k) if lam[j] > 0]
        return GordanCertificate(
            [int(rows[j]) for j in support],
            [lam[j] for j in support],
            [int(s_W[j]) for j in support],
            [[as_fraction(v) for v in X_W[j]] for j in support],
            classes,
            exact=True,
        )
    res = linprog(
        np.zeros(k),
        A_eq=M_float,
        b_eq=np.array([float(v) for v in rhs]),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        raise ValueError("no Gordan certificate exists for these points: they are separable")
    lam_f = np.asarray(res.x)
    support_f = np.flatnonzero(lam_f > 1e-12)
    return GordanCertificate(
        [int(rows[j]) for j in support_f],
        [float(lam_f[j]) for j in support_f],
        [int(s_W[j]) for j in support_f],
        [[float(v) for v in X_W[j]] for j in support_f],
        classes,
        exact=False,
    )


class _ExactData:
    """The data in exact integer form, for fast exact sign checks: ``X = Xi / S``."""

    def __init__(self, X: np.ndarray, s: np.ndarray) -> None:
        self.X = X
        self.Xi, self.S = integer_matrix(X)
        self.s = s.astype(object)

    def functional_margins(self, coef: Sequence[Fraction]) -> tuple[list[int], int]:
        """``y_i f(x_i) = num_i / den`` exactly for ``f`` with coefficients ``coef`` = (n..., b)."""
        nums, den = integer_vector(coef)
        values = self.Xi.dot(np.array(nums[:-1], dtype=object)) + nums[-1] * self.S
        return list(values * self.s), den * self.S

    def separates(self, coef: Sequence[Fraction]) -> bool:
        # A float pre-check rejects most bad candidates before the exact pass.
        w = np.array([float(c) for c in coef])
        if np.min((self.X @ w[:-1] + w[-1]) * self.s.astype(np.float64)) <= 0:
            return False
        margins, _ = self.functional_margins(coef)
        return min(margins) > 0


def _exact_kkt(
    X: np.ndarray, s: np.ndarray, normal: Sequence[Fraction], support: Sequence[int]
) -> bool | None:
    """Exact optimality of a canonical hyperplane: α ≥ 0 on ``support`` with n = Σ α_i s_i x_i, Σ α_i s_i = 0."""
    d = X.shape[1]
    k = len(support)
    if k == 0 or d > 60 or k > 4 * (d + 1):
        return None
    X_S = X[list(support)]
    s_S = s[list(support)]
    M = np.empty((d + 1, k), dtype=object)
    M[:d] = [[as_fraction(X_S[j, i]) * int(s_S[j]) for j in range(k)] for i in range(d)]
    M[d] = [int(v) for v in s_S]
    M_float = M.astype(np.float64)
    # Σ α_i = ‖n‖² at the optimum: solving for α/‖n‖² keeps the float LP's numbers at the data's scale.
    norm2 = sum((v * v for v in normal), Fraction(0))
    rhs = [*(v / norm2 for v in normal), Fraction(0)]
    return _exact_nonneg_solution(M, rhs, M_float) is not None


def _inverse_norm(values: Sequence[Fraction]) -> float:
    """``1/‖v‖`` of exact rationals, through logarithms so that huge or tiny coefficients do not overflow."""
    norm2 = sum((v * v for v in values), Fraction(0))
    return math.exp(0.5 * (math.log(norm2.denominator) - math.log(norm2.numerator)))


def _canonical(
    exact: _ExactData, cand: Sequence[Fraction]
) -> tuple[list[Fraction], Fraction, list[int], list[int], int]:
    """Scale exact coefficients to ``min_i y_i f(x_i) = 1``: ``(normal, offset, support, margins, den)``."""
    margins, den = exact.functional_margins(cand)
    low = min(margins)
    coef = [c * den / low for c in cand]
    support = [i for i, m in enumerate(margins) if m == low]
    return coef[:-1], coef[-1], support, margins, den


def _kkt_exact(X: np.ndarray, s: np.ndarray, active: Sequence[int]) -> list[Fraction] | None:
    """The exact maximum-margin ``(n, b)`` if ``active`` is its support and the KKT system there is regular.

    Unknowns ``n`` (d), ``b``, ``α`` (one per active row): ``n = Σ α_i s_i x_i``, ``Σ α_i s_i = 0``,
    ``s_i (n·x_i + b) = 1``. Returns ``None`` when the system is singular or too large to solve exactly, or
    an ``α`` is negative.
    """
    d = X.shape[1]
    k = len(active)
    size = d + 1 + k
    if k == 0 or size > 64:
        return None
    pts = [[as_fraction(v) for v in X[i]] for i in active]
    sg = [int(s[i]) for i in active]
    zero = Fraction(0)
    A: list[list[Fraction]] = []
    rhs: list[Fraction] = []
    for j in range(d):  # n_j − Σ α_i s_i x_ij = 0
        row = [zero] * size
        row[j] = Fraction(1)
        for a in range(k):
            row[d + 1 + a] = -sg[a] * pts[a][j]
        A.append(row)
        rhs.append(zero)
    A.append([zero] * (d + 1) + [Fraction(v) for v in sg])  # Σ α_i s_i = 0
    rhs.append(zero)
    for a in range(k):  # s_i (n·x_i + b) = 1
        A.append([sg[a] * v for v in pts[a]] + [Fraction(sg[a])] + [zero] * k)
        rhs.append(Fraction(1))
    sol = solve_exact(A, rhs)
    if sol is None or any(v < 0 for v in sol[d + 1 :]):
        return None
    return sol[: d + 1]


def _plane_through(X: np.ndarray, s: np.ndarray, active: Sequence[int]) -> list[Fraction] | None:
    """The exact ``(n, b)`` with ``s_i (n·x_i + b) = 1`` on ``active``, when those equations pin it down.

    The complement of :func:`_kkt_exact`: when more than ``d + 1`` points sit on the margin (symmetric or
    integer data), the multipliers are not unique but the hyperplane is.
    """
    d = X.shape[1]
    if len(active) < d + 1 or d > 60:
        return None
    rows = [[int(s[i]) * as_fraction(v) for v in X[i]] + [Fraction(int(s[i]))] for i in active]
    return solve_exact(rows, [Fraction(1)] * len(active))


def _verify(
    X: np.ndarray, s: np.ndarray, w: np.ndarray, b: float, func: np.ndarray, margin: str
) -> tuple[list[Fraction], Fraction, list[int], bool | None] | None:
    """An exact canonical hyperplane near the float one ``(w, b)`` that separates every point, or ``None``.

    ``func`` holds ``y_i (w·x_i + b)`` (float64, shape ``(n,)``), already computed by the caller.

    Tries small-denominator roundings first (textbook data gets textbook answers); for ``"max"`` a rounding
    must stay within 1e-9 of the float optimum, and otherwise the KKT equations on the float support are
    solved exactly; the float coefficients themselves (exact binary rationals) are the last resort.
    Returns ``(normal, offset, support, optimal_verified)``.
    """
    exact = _ExactData(X, s)
    floats = [*w, b]
    rel_tol = 1e-9 if margin == "max" else None
    cand = rationalize(floats, exact.separates, rel_tol=rel_tol)
    if cand is not None:
        normal, offset, support, _, _ = _canonical(exact, cand)
        if margin == "any":
            return normal, offset, support, None
        if _exact_kkt(X, s, normal, support):
            return normal, offset, support, True
    if margin == "max":
        active = [int(i) for i in np.flatnonzero(func < 1 + 1e-7)]
        sol = _kkt_exact(X, s, active)
        if sol is not None and exact.separates(sol):
            normal, offset, support, margins, den = _canonical(exact, sol)
            if min(margins) == den:  # every y_i f(x_i) ≥ 1 as solved: feasible, so KKT-optimal
                return normal, offset, support, True
        plane = _plane_through(X, s, active)
        if plane is not None and exact.separates(plane):
            normal, offset, support, margins, den = _canonical(exact, plane)
            if min(margins) == den and _exact_kkt(X, s, normal, support):
                return normal, offset, support, True
        # Optimality not certified: keep the float optimum itself (its exact binary value) rather than a
        # rounding, so the margin is the solver's; the support is the float one (within 1e-7).
        as_exact = [Fraction(float(c)) for c in floats]
        chosen = as_exact if exact.separates(as_exact) else cand
        if chosen is None:
            return None
        normal, offset, _, margins, den = _canonical(exact, chosen)
        near = [i for i, m in enumerate(margins) if m * 10**7 <= den * (10**7 + 1)]
        return normal, offset, near, None
    if cand is None:
        as_exact = [Fraction(float(c)) for c in floats]
        if not exact.separates(as_exact):
            return None
        cand = as_exact
    normal, offset, support, _, _ = _canonical(exact, cand)
    return normal, offset, support, None


# ---------------------------------------------------------------------------------------------------
# The public function
# ---------------------------------------------------------------------------------------------------
def separating_hyperplane(
    X: Any,
    y: Any,
    margin: Literal["max", "any"] = "max",
    *,
    verify: bool | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> SeparatingHyperplane:
    """A hyperplane with every point of the positive class strictly on its positive side, or a certificate.

    Args:
        X: points, array-like of shape ``(n, d)``, finite.
        y: labels, shape ``(n,)``, exactly two distinct values; the larger one is the positive class
            (1 of {0, 1} or of {-1, 1}).
        margin: ``"max"`` for the Euclidean maximum-margin (hard-margin SVM) hyperplane; ``"any"`` for any
            separating hyperplane (an LP; faster).
        verify: check the answer in exact rational arithmetic. ``None`` (default) verifies when
            ``n <= exact_limit``.
        exact_limit: the size limit for ``verify=None``.

    Returns:
        A :class:`SeparatingHyperplane` in canonical form ``min_i y_i f(x_i) = 1`` (``y_i = ±1``): exact
        (Fractions, small denominators where possible) when verified, float64 otherwise.

    Raises:
        NotSeparable: no hyperplane separates the classes; ``.certificate`` is a :class:`GordanCertificate`
            (verified exactly unless its ``exact`` is ``False``).
        ValueError: NaN/inf in ``X`` or ``y`` (names row and column), shapes that disagree, not exactly two
            classes, or an unknown ``margin``.
    """
    if margin not in ("max", "any"):
        raise ValueError(f"margin must be 'max' or 'any', got {margin!r}")
    X_arr, y_arr = check_Xy(X, y)
    s, classes = binary_labels(y_arr)
    n, d = X_arr.shape
    do_verify = n <= exact_limit if verify is None else bool(verify)

    # Translating the data moves only b, for either problem. Scaling every column by one factor keeps the
    # Euclidean geometry (the maximum-margin hyperplane is the same set); scaling columns separately does
    # not, so only the feasibility LP gets that. Both keep the solvers' numbers near 1 (data at 1e-300 or
    # 1e300 included).
    mu = X_arr.mean(axis=0)
    centered = X_arr - mu
    top = float(np.max(np.abs(centered)))
    top = top if top > 0 else 1.0
    if margin == "any":
        std = (centered / top).std(axis=0) * top  # scaled first: squares of 1e300 overflow
        sigma = np.where(std > 0, std, 1.0)
    else:
        sigma = np.full(d, top)
    Z = centered / sigma
    A = s[:, None] * np.hstack([Z, np.ones((n, 1))])
    v, rows = _working_set(A, s, margin)
    fallback: GordanCertificate | None = None
    if v is None:
        try:
            fallback = gordan_certificate(X_arr, s, rows, classes)
        except ValueError:
            fallback = None
        if fallback is not None and fallback.exact:
            raise NotSeparable(fallback)
        # No exact certificate: the rows looked inseparable only to rounding (a margin near 1e-9 of the
        # data's scale). Solve the whole problem at once; the exact check below has the last word.
        try:
            v = _whole_problem(A, margin)
        except RuntimeError:
            if fallback is not None:
                raise NotSeparable(fallback) from None
            raise

    w = v[:d] / sigma
    b = float(v[d] - w @ mu)
    func = s * (X_arr @ w + b)
    low = float(func.min())
    w, b, func = w / low, b / low, func / low  # canonical: min_i y_i f(x_i) = 1
    top = float(np.max(np.abs(w)))
    float_margin = 1.0 / (top * float(np.linalg.norm(w / top)))  # scaled: no overflow at 1e±300

    if do_verify or fallback is not None:
        found = _verify(X_arr, s, w, b, func, margin)
        if found is None and fallback is not None:
            raise NotSeparable(fallback)
        if found is not None:
            normal, offset, support, optimal = found
            geo = _inverse_norm(normal)
            return SeparatingHyperplane(
                normal,
                offset,
                method=margin,
                geometric_margin=geo,
                support=support,
                classes=classes,
                verified=True,
                optimal_verified=optimal,
            )
    return SeparatingHyperplane(
        list(w),
        b,
        method=margin,
        geometric_margin=float_margin,
        support=[int(i) for i in np.flatnonzero(func < 1 + 1e-7)],
        classes=classes,
        verified=False,
    )
