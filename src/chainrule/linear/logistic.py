"""Logistic regression with the scikit-learn estimator API: binary and multinomial, L2 or no penalty.

The model: P(y = 1 | x) = s(w·x + b) (binary) or softmax(W x + b) (K classes). ``fit`` minimizes
scikit-learn's objective exactly::

    C Σ_i s_i ℓ_i + ½ ‖W‖²     (penalty="l2"; the intercept is not penalized)
    Σ_i s_i ℓ_i                (penalty=None, or C = inf)

with ℓ_i the log-loss of sample i and s_i its weight, by L-BFGS (scipy) or Newton's method with a
Cholesky solve (see :mod:`chainrule.linear.logistic_solvers`); the loss, gradient and Hessian are computed
stably (:mod:`chainrule.linear.logistic_objective`), finite for margins of ±800 and beyond.

scikit-learn is not a dependency: the estimator implements ``get_params``/``set_params``/``__repr__`` and
the ``__sklearn_tags__`` protocol itself, and passes ``sklearn.utils.estimator_checks.check_estimator``.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np

from chainrule.linear._estimator import ClassifierMixin
from chainrule.linear.datasets import (
    check_class_labels,
    check_sample_weight,
    check_X,
    check_Xy,
    plain,
)
from chainrule.linear.exceptions import ConvergenceWarning, SeparableDataWarning
from chainrule.linear.logistic_objective import LogisticObjective, make_objective
from chainrule.linear.logistic_solvers import (
    NonFiniteLoss,
    Separated,
    SolverResult,
    lbfgs,
    newton,
)
from chainrule.linear.sigmoid import sigmoid, softmax

__all__ = ["LogisticRegression", "NonFiniteLossWarning"]


class NonFiniteLossWarning(ConvergenceWarning, RuntimeWarning):
    """The solver stopped because the loss (or its gradient) was not finite, at the last finite
    iterate: the data are badly scaled (decision values overflow). A :class:`ConvergenceWarning`
    too, since the fit did not converge."""


_SOLVERS = ("auto", "lbfgs", "newton")


def choose_solver(n_samples: int, n_features: int, n_classes: int, fit_intercept: bool) -> str:
    """The solver ``solver="auto"`` uses: Newton while its Hessian is cheap next to the data pass.

    One Newton iteration costs about n·p²/2 flops for the Hessian (BLAS syrk, compute-bound) for
    p = d + 1 parameters per class, K(K+1)/2 such blocks for K classes, plus p³/3 for the Cholesky
    factor; one L-BFGS evaluation reads X twice (memory-bound, about 2·8·n·p bytes), and L-BFGS needs
    15-50 evaluations where Newton needs 4-10 iterations. Balancing the two on this project's benchmarks
    (1e5×100, 1e6×20, 569×30 at tol 1e-8, where Newton won all three) puts the crossover near
    p ≈ 300 parameters in all; with fewer samples than parameters the Hessian is wasted, so L-BFGS.
    """
    p = n_features + int(fit_intercept)
    total = p if n_classes == 2 else n_classes * p
    return "newton" if total <= 256 and n_samples >= 2 * total else "lbfgs"


def _encode_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, index)``: the sorted distinct labels and each sample's position among them.

    Integer labels in a modest range are counted with ``bincount`` (O(n)); anything else goes through
    ``np.unique`` (a sort).
    """
    if y.dtype.kind in "iub" and y.size:
        lo, hi = int(y.min()), int(y.max())
        if hi - lo <= 2 * y.size + 1024:
            shifted = y.astype(np.intp) - lo if lo else y.astype(np.intp, copy=False)
            present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
            if present.size == hi - lo + 1:
                index = shifted  # labels are lo, lo+1, ..., hi: the index is the shifted label
            else:
                lookup = np.zeros(hi - lo + 1, dtype=np.intp)
                lookup[present] = np.arange(present.size)
                index = lookup[shifted]
            return (present + lo).astype(y.dtype), index
    classes, index = np.unique(y, return_inverse=True)
    return classes, index.reshape(-1)


class LogisticRegression(ClassifierMixin):
    """Logistic regression (binary, or multinomial for K > 2 classes) with an L2 penalty or none.

    Args:
        penalty: ``"l2"`` (default) or ``None`` (maximum likelihood).
        C: inverse penalty strength (> 0); ``C = inf`` means no penalty.
        fit_intercept: fit an unpenalized intercept per class.
        solver: ``"lbfgs"``, ``"newton"`` (Newton/IRLS with Cholesky) or ``"auto"`` (see
            :func:`choose_solver`).
        tol: stop when the largest gradient entry of the scaled objective (objective / (C Σ s_i)) is at
            most ``tol``.
        max_iter: the most iterations; a :class:`ConvergenceWarning` says what to do when they run out.
        verbose: > 0 prints one line per iteration to stderr.

    Attributes (after ``fit``):
        classes_: (K,) the sorted class labels. coef_: (1, d) binary or (K, d). intercept_: (1,) or (K,).
        Both are float32 when ``X`` was float32 (as scikit-learn), float64 otherwise; the solvers
        always work in float64.
        n_iter_: (1,) iterations used. n_features_in_: d. feature_names_in_: (d,) names when ``X`` had
        string column names. converged_: whether ``tol`` was met. solver_: the solver used.
        separated_: for ``penalty=None``, the separating direction ``(w, b)`` if the classes are
        separable (else ``None``).
    """

    multi_class = True

    def __init__(
        self,
        penalty: str | None = "l2",
        *,
        C: float = 1.0,
        fit_intercept: bool = True,
        solver: str = "auto",
        tol: float = 1e-4,
        max_iter: int = 100,
        verbose: int = 0,
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def __getstate__(self) -> dict[str, Any]:
        # A copied or pickled model does not drag the training data along (summary() then needs X, y).
        state = dict(self.__dict__)
        state.pop("_objective", None)
        state.pop("_theta", None)
        return state

    # ---- fitting -------------------------------------------------------------------------------------------
    def _validate_params(self) -> float:
        """Check the hyperparameters; returns the effective C (inf when there is no penalty)."""
        if self.penalty not in ("l2", None, "none"):
            raise ValueError(f"penalty must be 'l2' or None, got {self.penalty!r}")
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(_SOLVERS)}; got {self.solver!r}")
        if (
            isinstance(self.C, bool)
            or not isinstance(self.C, (int, float, np.number))
            or not self.C > 0
        ):
            raise ValueError(
                f"C must be a positive number (inverse penalty strength), got {self.C!r}"
            )
        if (
            isinstance(self.tol, bool)
            or not isinstance(self.tol, (int, float, np.number))
            or not self.tol >= 0
        ):
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        if (
            isinstance(self.max_iter, bool)
            or not isinstance(self.max_iter, (int, np.integer))
            or self.max_iter < 1
        ):
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        return float("inf") if self.penalty in (None, "none") else float(self.C)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit to ``X`` (n, d) and labels ``y`` (n,); ``sample_weight`` (n,) non-negative, optional.

        Raises:
            ValueError: bad hyperparameters; NaN/inf in X or y (names the row and column); shapes that
                disagree; a continuous target; fewer than two classes (with positive weight).
        Warns:
            UserWarning: ``penalty=None`` with ``C`` set to something other than 1.0: C is ignored.
            ConvergenceWarning: ``max_iter`` ran out before ``tol`` was met.
            NonFiniteLossWarning: the loss became nan or inf (badly scaled data); the fit stopped at
                the last finite iterate (a ``RuntimeWarning`` and a ``ConvergenceWarning``).
            SeparableDataWarning: ``penalty=None`` and the classes are separable (no finite optimum); the
                fit stops at a separating direction, kept in ``separated_``.
        """
        C = self._validate_params()
        if self.penalty in (None, "none") and self.C != 1.0:
            warnings.warn(
                f"penalty={self.penalty!r} ignores C: C={self.C!r} has no effect without a penalty "
                "(set penalty='l2' to use C, or leave C at its default 1.0)",
                UserWarning,
                stacklevel=2,
            )
        names = _feature_names(X)
        out_dtype = np.float32 if _is_float32(X) else np.float64
        X_arr, y_arr = check_Xy(X, y)
        if X_arr is X or not X_arr.flags.owndata:
            # summary() reads the training data later: keep a copy, not the caller's array.
            X_arr = X_arr.copy()
        check_class_labels(y_arr, type(self).__name__)
        classes, y_index = _encode_labels(y_arr)
        sw = check_sample_weight(sample_weight, X_arr.shape[0])
        if sw is not None:
            sw = np.array(sw, dtype=np.float64, copy=True)
        present = classes if sw is None else np.unique(y_arr[sw > 0])
        if classes.size < 2 or present.size < 2:
            which = "with positive sample weight " if classes.size >= 2 else ""
            raise ValueError(
                f"y has 1 class {which}({plain(present[0])!r}); "
                "a classifier needs samples of at least 2 classes"
            )
        n, d = X_arr.shape
        K = int(classes.size)
        obj = make_objective(X_arr, y_index, K, sw, C, bool(self.fit_intercept))
        solver = self.solver
        if solver == "auto":
            solver = choose_solver(n, d, K, bool(self.fit_intercept))
        unpenalized = not np.isfinite(C)
        progress = _StderrProgress(solver, self.max_iter) if self.verbose else None
        run = newton if solver == "newton" else lbfgs
        self.separated_: np.ndarray | None = None
        try:
            try:
                # Overflow is detected (NonFiniteLoss), not warned about element by element.
                with np.errstate(over="ignore", invalid="ignore"):
                    result = run(
                        obj,
                        np.zeros(obj.size),
                        tol=float(self.tol),
                        max_iter=int(self.max_iter),
                        progress=progress,
                        stop_if_separated=unpenalized,
                    )
            finally:
                if progress is not None:
                    progress.finish()
        except NonFiniteLoss as bad:
            with np.errstate(over="ignore", invalid="ignore"):
                fun = obj.loss(bad.theta)
            result = SolverResult(
                bad.theta, bad.n_iter, False, "non-finite loss", float("nan"), fun
            )
            warnings.warn(
                NonFiniteLossWarning(
                    f"{solver} stopped at iteration {bad.n_iter + 1}: {bad.what}, so the "
                    f"coefficients are those of the last finite iterate (iteration {bad.n_iter}). "
                    "The decision values overflow: scale the data (the largest |X| is "
                    f"{float(np.max(np.abs(X_arr))):.3g}; standardize each feature)."
                ),
                stacklevel=2,
            )
        except Separated as sep:
            result = SolverResult(
                sep.theta, sep.n_iter, False, "separated", float("nan"), obj.loss(sep.theta)
            )
            self.separated_ = sep.theta / np.linalg.norm(sep.theta)
            warnings.warn(_separable_warning(self.separated_, d), stacklevel=2)
        else:
            if unpenalized and obj.binary and not result.converged:
                direction = _separating_direction(obj)
                if direction is not None:
                    self.separated_ = direction
                    warnings.warn(_separable_warning(direction, d), stacklevel=2)
            if not result.converged and self.separated_ is None:
                warnings.warn(
                    ConvergenceWarning(
                        f"{solver} did not converge in max_iter={self.max_iter} iterations "
                        f"(max |gradient| = {result.grad_max:.3g} > tol = {self.tol:g}; {result.message}). "
                        "Increase max_iter, scale the data (e.g. standardize each feature), "
                        "or use a smaller C (a stronger penalty)."
                    ),
                    stacklevel=2,
                )
        self._set_fitted(obj, result, classes, solver, names, out_dtype)
        return self

    def _set_fitted(
        self,
        obj: LogisticObjective,
        result: SolverResult,
        classes: np.ndarray,
        solver: str,
        names: np.ndarray | None,
        dtype: type = np.float64,
    ) -> None:
        coef, intercept = obj.split(result.theta)
        K = obj.n_classes
        rows = 1 if obj.binary else K
        self.coef_: np.ndarray = np.array(coef, dtype=dtype).reshape(rows, -1)
        self.intercept_: np.ndarray = np.array(intercept, dtype=dtype).reshape(rows)
        self.classes_ = classes
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.n_features_in_ = obj.n_features
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.converged_ = bool(result.converged)
        self.solver_ = solver
        self.objective_ = obj.to_sklearn_scale(result.fun)
        # Kept for summary(): the data are needed for the observed information (Hessian) at the optimum
        # (a copy made by fit: changing X afterwards does not change the summary), and the float64
        # solution (coef_ may be float32).
        self._objective = obj
        self._theta = np.array(result.theta, dtype=np.float64, copy=True)

    # ---- prediction ----------------------------------------------------------------------------------------
    def _check_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return check_X(X, n_features=self.n_features_in_, owner=type(self).__name__)

    def decision_function(self, X: Any) -> np.ndarray:
        """Decision values: (n,) z = x·w + b for binary problems (> 0 means ``classes_[1]``), (n, K) else.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        Xa = self._check_X(X)
        Z = Xa @ self.coef_.T + self.intercept_
        return Z.ravel() if Z.shape[1] == 1 else Z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, K), columns in the order of ``classes_``; rows sum to 1.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        Z = self.decision_function(X)
        if Z.ndim == 1:
            p1 = sigmoid(Z)
            return np.column_stack([sigmoid(-Z), p1])
        return softmax(Z, axis=1)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`, computed without underflow (log s(z) = −softplus(−z)).

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        Z = self.decision_function(X)
        if Z.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, Z), -np.logaddexp(0.0, -Z)])
        return Z - np.logaddexp.reduce(Z, axis=1)[:, None]

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label for each row, shape (n,).

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        Z = self.decision_function(X)
        index = (Z > 0).astype(np.intp) if Z.ndim == 1 else np.argmax(Z, axis=1)
        return self.classes_[index]

    # ---- explanation and persistence ----------------------------------------------------------------------
    def objective_value(self) -> float:
        """sklearn's objective at the fitted coefficients (C Σ s_i ℓ_i + ½‖W‖², or Σ s_i ℓ_i)."""
        self._check_fitted()
        return float(self.objective_)

    def summary(
        self,
        X: Any = None,
        y: Any = None,
        sample_weight: Any = None,
        *,
        alpha: float = 0.05,
        feature_names: Any = None,
    ) -> Any:
        """Standard errors, z and p values and (1 − alpha) confidence intervals, as a
        :class:`~chainrule.linear.summary.LogisticSummary` (``print`` it for the table).

        Uses the training data kept by ``fit`` (its own copy: changing ``X`` after ``fit`` does not
        change the summary), or ``X, y`` when given (needed for a model loaded from a file).
        ``feature_names`` (one string per feature) labels the rows; by default ``feature_names_in_``
        (a data frame's columns) or ``x1, x2, ...``.

        Raises:
            NotFittedError: before ``fit``. ValueError: no data (a loaded model without ``X, y``), labels
                outside ``classes_``, ``feature_names`` of the wrong length, a penalized multinomial
                fit, or a singular information matrix (collinear features or separated classes).
        """
        from chainrule.linear.summary import logistic_summary

        self._check_fitted()
        return logistic_summary(self, X, y, sample_weight, alpha=alpha, feature_names=feature_names)

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the model to ``PATH.npz``: arrays plus a JSON metadata entry, no pickle (see
        :mod:`chainrule.linear.model_io`). Returns the path written.

        Raises:
            ValueError: not fitted, or a class label that is neither a number nor a string.
            OSError: the file cannot be written.
        """
        from chainrule.linear.model_io import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LogisticRegression:
        """Read a model written by :meth:`save` (``PATH`` or ``PATH.npz``).

        Raises:
            OSError: the file cannot be read. ValueError: a file that is not ours (nothing in it runs).
        """
        from chainrule.linear.model_io import load_model

        return load_model(path)


def _is_float32(X: Any) -> bool:
    """Whether ``X`` holds float32 (an array, a tensor, or a data frame whose columns all do)."""
    dtype = getattr(X, "dtype", None)
    if dtype is not None:
        return str(dtype).rsplit(".", 1)[-1] == "float32"
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None:
        kinds = {str(t) for t in dtypes}
        return kinds == {"float32"}
    return False


def _feature_names(X: Any) -> np.ndarray | None:
    """String column names of a data frame (``X.columns``), else ``None``."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = [c for c in columns]
    if names and all(isinstance(c, str) for c in names):
        return np.asarray(names, dtype=object)
    return None


class _StderrProgress:
    """Per-iteration progress on stderr: one line per iteration, or one updating line on a terminal."""

    def __init__(self, solver: str, max_iter: int) -> None:
        self.solver = solver
        self.max_iter = max_iter
        self.tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.shown = False

    def __call__(self, iteration: int, objective: float, grad_max: float) -> None:
        text = (
            f"  {self.solver} iter {iteration:3d}/{self.max_iter}: scaled objective {objective:.10g}  "
            f"max|grad| {grad_max:.3e}"
        )
        if self.tty:
            width = 24
            filled = min(width, round(width * iteration / max(self.max_iter, 1)))
            bar = "#" * filled + "." * (width - filled)
            print(f"\r[{bar}] {text}\x1b[K", end="", file=sys.stderr, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)
        self.shown = True

    def finish(self) -> None:
        if self.tty and self.shown:
            print(file=sys.stderr, flush=True)


def _separable_warning(direction: np.ndarray, d: int) -> SeparableDataWarning:
    if direction.size <= d + 1:
        w = direction[:d]
        b = direction[d] if direction.size > d else 0.0
        shown = ", ".join(f"{v:.4g}" for v in w[:8]) + (", ..." if d > 8 else "")
        where = f"Separating direction w = [{shown}], b = {b:.4g} (in separated_)"
    else:
        where = (
            "A direction that classifies every sample correctly is in separated_ "
            "(one row of weights and intercept per class, flattened)"
        )
    return SeparableDataWarning(
        "the classes are separable: the unpenalized log-likelihood has no finite maximum (the "
        f"coefficients would grow without bound). {where}. Use penalty='l2' with a finite C, or "
        "treat the data as separable (chainrule.linear.separating_hyperplane).",
        direction,
    )


def _separating_direction(obj: LogisticObjective) -> np.ndarray | None:
    """A direction v ≠ 0 with y±_i (x_i·w + b) ≥ 0 for every sample and > 0 for some (an LP), or None.

    Such a v exists exactly when the unpenalized maximum-likelihood estimate does not (Albert and
    Anderson, 1984): complete or quasi-complete separation.
    """
    import scipy.optimize

    X = obj.X
    n = X.shape[0]
    keep = np.ones(n, dtype=bool) if obj.sample_weight is None else obj.sample_weight > 0
    signs = np.where(obj.y[keep] > 0.5, 1.0, -1.0)
    A = X[keep] * signs[:, None]
    if obj.fit_intercept:
        A = np.column_stack([A, signs])
    # maximize Σ_i a_i·v subject to a_i·v ≥ 0 and −1 ≤ v ≤ 1: a positive optimum means separation.
    res = scipy.optimize.linprog(
        -A.sum(axis=0),
        A_ub=-A,
        b_ub=np.zeros(A.shape[0]),
        bounds=[(-1.0, 1.0)] * A.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-9 * max(1.0, float(np.abs(A).sum())):
        return None
    v = np.asarray(res.x)
    return v / np.linalg.norm(v)
