"""Logistic regression with the scikit-learn estimator API: binary and multinomial; L2, L1, elastic-net
or no penalty.

The model: P(y = 1 | x) = s(w·x + b) (binary) or softmax(W x + b) (K classes). ``fit`` minimizes
scikit-learn's objective exactly::

    C Σ_i s_i ℓ_i + ½ ‖W‖²                   (penalty="l2"; the intercept is not penalized)
    C Σ_i s_i ℓ_i + ‖W‖₁                     (penalty="l1")
    C Σ_i s_i ℓ_i + ½(1 − ρ)‖W‖² + ρ‖W‖₁     (penalty="elasticnet", ρ = l1_ratio)
    Σ_i s_i ℓ_i                              (penalty=None, or C = inf)

with ℓ_i the log-loss of sample i and s_i its weight (times its class's weight with ``class_weight``), by
L-BFGS (scipy), Newton's method with a Cholesky solve, or proximal Newton for an L1 part (see
:mod:`chainrule.linear.logistic_solvers`); the loss, gradient and Hessian are computed stably
(:mod:`chainrule.linear.logistic_objective`), finite for margins of ±800 and beyond. ``X`` may be a SciPy
CSR matrix (never densified).

scikit-learn is not a dependency: the estimator implements ``get_params``/``set_params``/``__repr__`` and
the ``__sklearn_tags__`` protocol itself, and passes ``sklearn.utils.estimator_checks.check_estimator``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from chainrule import backend
from chainrule._env import switched_on
from chainrule.linear import logistic_dask, model_io
from chainrule.linear._estimator import ClassifierMixin
from chainrule.linear._params import (
    BOOLEAN,
    NONE,
    Constraint,
    InstanceOf,
    Interval,
    Options,
    validate_params,
)
from chainrule.linear._state import (
    INTEGER_DTYPES,
    ArrayRule,
    check_arrays,
    json_float,
    state_flag,
    state_int,
    state_labels,
    state_number,
)
from chainrule.linear._weights import class_weights, require_two_classes
from chainrule.linear.datasets import (
    check_class_labels,
    check_sample_weight,
    check_X,
    check_Xy,
    plain,
)
from chainrule.linear.exceptions import ConvergenceWarning, SeparableDataWarning
from chainrule.linear.logistic_objective import (
    LogisticObjective,
    ObjectiveBase,
    is_sparse,
    make_objective,
)
from chainrule.linear.logistic_solvers import (
    NonFiniteLoss,
    Separated,
    SolverResult,
    lbfgs,
    min_norm_subgradient,
    newton,
    prox_newton,
)
from chainrule.linear.sigmoid import sigmoid, softmax

__all__ = ["LogisticRegression", "NonFiniteLossWarning"]


class NonFiniteLossWarning(ConvergenceWarning, RuntimeWarning):
    """The solver stopped because the loss (or its gradient) was not finite, at the last finite
    iterate: the data are badly scaled (decision values overflow). A :class:`ConvergenceWarning`
    too, since the fit did not converge."""


_SOLVERS = ("auto", "lbfgs", "newton", "prox-newton")
_PENALTIES = ("l2", "l1", "elasticnet", "none")
#: The largest parameter count of a proximal-Newton fit: its Hessian is dense, (p × p) float64.
PROX_NEWTON_MAX_PARAMS = 4096


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


#: Passes over X that each solver is expected to need (tol 1e-8, well-conditioned data): this project's
#: L1 and L2 benchmarks needed 4-5 Hessian passes for Newton and 18 and 13 gradient evaluations for
#: L-BFGS (scipy's nfev).
NEWTON_PASSES = 5
LBFGS_PASSES = 15
#: Below this n · p_total the measurement is not worth its cost and :func:`choose_solver` decides.
MEASURE_ABOVE = 2_000_000
#: Each timed block holds at most n / MEASURE_FRACTION rows; with two blocks per kernel, the measurement
#: reads 2 / MEASURE_FRACTION of X per kernel (5 %), plus one streaming product over X.
MEASURE_FRACTION = 40
#: The fewest rows a timed block may hold (fewer would time noise): a problem with fewer than
#: MEASURE_MIN_ROWS · MEASURE_FRACTION samples is not measured, and :func:`choose_solver` decides.
MEASURE_MIN_ROWS = 1024
#: The environment variable that turns the measurement off (``0``, ``off``, ``false`` or ``no``):
#: ``solver="auto"`` then uses :func:`choose_solver`, so that the choice does not depend on timings.
MEASURE_ENV_VAR = "CHAINRULE_LOGISTIC_MEASURE"
#: Parameter count above which Newton's (p × p) Hessian and p³/3 Cholesky are never chosen.
NEWTON_MAX_PARAMS = 1024


def measuring_enabled() -> bool:
    """False when :data:`MEASURE_ENV_VAR` is ``0``, ``off``, ``false`` or ``no`` (any case)."""
    return switched_on(MEASURE_ENV_VAR)


def measure_rows(n_samples: int, chunk_rows: int) -> int:
    """Rows of each timed block for ``n_samples`` rows read ``chunk_rows`` at a time: at most
    n / MEASURE_FRACTION and at most max(4 · chunk_rows, 4096); 0 (do not measure) when that is fewer
    than MEASURE_MIN_ROWS."""
    rows = min(n_samples // MEASURE_FRACTION, max(4 * chunk_rows, 4096))
    return rows if rows >= MEASURE_MIN_ROWS else 0


def measure_passes(obj: LogisticObjective, repeats: int = 2) -> tuple[float, float]:
    """Seconds for one gradient pass and one Hessian pass over all of ``obj``'s rows: :func:`block_sums`
    timed on ``repeats`` blocks of :func:`measure_rows` rows each at a small θ ≠ 0 (the fastest block)
    and extrapolated, plus the time to stream X from memory once (one matrix-vector product over X).

    Raises:
        ValueError: ``obj`` has too few rows to measure (:func:`measure_rows` is 0).
    """
    from chainrule.linear.logistic_objective import block_sums

    n = obj.n_samples
    rows = measure_rows(n, obj.chunk_rows)
    if rows == 0:
        raise ValueError(
            f"{n} rows are too few to measure: a timed block needs {MEASURE_MIN_ROWS} rows and "
            f"may hold at most 1/{MEASURE_FRACTION} of them"
        )
    # Not θ = 0: there every decision value is 0 and np.logaddexp(0, z) takes its fast path (x == y),
    # which would make the passes look cheaper than at the iterates.
    theta = np.resize(np.array([1e-3, -2e-3, 3e-3]), obj.size)
    times: dict[int, float] = {1: float("inf"), 2: float("inf")}
    block = 0
    for _ in range(repeats):
        for order in (1, 2):
            start = (block * rows) % max(n - rows + 1, 1)
            block += 1
            sl = slice(start, start + rows)
            sw = None if obj.sample_weight is None else obj.sample_weight[sl]
            t0 = time.perf_counter()
            block_sums(
                obj.X[sl],
                obj.y[sl],
                sw,
                theta,
                n_classes=obj.n_classes,
                fit_intercept=obj.fit_intercept,
                order=order,
                chunk_rows=obj.chunk_rows,
            )
            times[order] = min(times[order], time.perf_counter() - t0)
    scale = n / rows
    # Each block is read from memory once, like every chunk of a real pass, so its time already
    # includes the streaming; one product over all of X bounds a pass from below (the memory time
    # alone). Adding it on top, as this did before, counted the gradient pass's memory time twice
    # (1.2-1.6 times the real pass on this project's L1 and L2).
    coef = theta[: obj.n_features]
    t0 = time.perf_counter()
    _ = obj.X @ coef
    stream = time.perf_counter() - t0
    return max(times[1] * scale, stream), max(times[2] * scale, stream)


def choose_solver_measured(obj: ObjectiveBase) -> tuple[str, dict[str, float] | None]:
    """``solver="auto"`` for a smooth objective: ``(solver, predicted seconds per solver or None)``.

    Newton costs NEWTON_PASSES Hessian passes (X read once each; BLAS syrk, n·p² flops, compute-bound)
    plus as many p³/3 Cholesky factorizations; L-BFGS costs LBFGS_PASSES gradient passes (X read once
    each, 4·n·p flops, memory-bound). Which is cheaper depends on the CPU's ratio of syrk speed to memory
    speed (L-BFGS won at 1e5 × 100 on an EPYC by 2× and on an AVX-512 Xeon by 1.4×; at 1e6 × 20 the
    Xeon's two were within 7%), so for a large in-memory problem
    both passes are timed on blocks of the data (:func:`measure_passes`) and the predicted totals
    compared. Small problems (n · p_total < MEASURE_ABOVE, or too few rows for :func:`measure_rows`),
    sparse or Dask data, and any problem while :data:`MEASURE_ENV_VAR` is ``0`` use
    :func:`choose_solver`; Newton is never chosen above NEWTON_MAX_PARAMS parameters or with fewer than
    two samples per parameter. The measured choice depends on wall-clock timings, so two fits of the
    same data may pick different solvers (their coefficients then agree to about ``tol``).
    """
    p_total = obj.size
    static = choose_solver(obj.n_samples, obj.n_features, obj.n_classes, obj.fit_intercept)
    if p_total > NEWTON_MAX_PARAMS or obj.n_samples < 2 * p_total:
        return "lbfgs", None
    if (
        not isinstance(obj, LogisticObjective)
        or is_sparse(obj.X)
        or obj.n_samples * p_total < MEASURE_ABOVE
        or measure_rows(obj.n_samples, obj.chunk_rows) == 0
        or not measuring_enabled()
    ):
        return static, None
    t_grad, t_hess = measure_passes(obj)
    cholesky = p_total**3 / 3.0 / 2e10  # seconds at a modest 20 GFLOP/s
    costs = {
        "newton": NEWTON_PASSES * (t_hess + cholesky),
        "lbfgs": LBFGS_PASSES * t_grad,
    }
    return ("newton" if costs["newton"] <= costs["lbfgs"] else "lbfgs"), costs


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
    """Logistic regression (binary, or multinomial for K > 2 classes) with an L2, L1 or elastic-net
    penalty, or none.

    Args:
        penalty: ``"l2"`` (default), ``"l1"``, ``"elasticnet"`` (with ``l1_ratio``) or ``None``
            (maximum likelihood).
        C: inverse penalty strength (> 0); ``C = inf`` means no penalty.
        l1_ratio: ρ in [0, 1] for ``penalty="elasticnet"`` (required there; ignored, with a warning when
            set, by the other penalties).
        fit_intercept: fit an unpenalized intercept per class.
        class_weight: ``None``, ``"balanced"`` (weights inversely proportional to the class counts) or a
            dict ``{label: weight}``; multiplies each sample's weight (see
            :func:`chainrule.linear._weights.class_weights`).
        solver: ``"lbfgs"``, ``"newton"`` (Newton/IRLS with Cholesky), ``"prox-newton"`` (proximal
            Newton, the solver of an L1 part) or ``"auto"`` (prox-newton with an L1 part, else
            :func:`choose_solver_measured`: timed on the data for a large problem, so the pick can
            vary from run to run; ``CHAINRULE_LOGISTIC_MEASURE=0`` in the environment turns the
            timing off and :func:`choose_solver`'s fixed rule decides).
        tol: stop when the largest gradient entry of the scaled objective (objective / (C Σ s_i)) is at
            most ``tol`` (with an L1 part: of its minimum-norm subgradient).
        max_iter: the most iterations (0: none, the coefficients stay at their start, with a
            :class:`ConvergenceWarning`, as scikit-learn); a ``ConvergenceWarning`` says what to do when
            they run out.
        verbose: > 0 prints one line per iteration to stderr.
        warm_start: start ``fit`` from the previous fit's coefficients (same classes and features).

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
    accepts_sparse = True

    def __init__(
        self,
        penalty: str | None = "l2",
        *,
        C: float = 1.0,
        l1_ratio: float | None = None,
        fit_intercept: bool = True,
        class_weight: dict[Any, float] | str | None = None,
        solver: str = "auto",
        tol: float = 1e-4,
        max_iter: int = 100,
        verbose: int = 0,
        warm_start: bool = False,
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start

    def __getstate__(self) -> dict[str, Any]:
        # A copied or pickled model does not drag the training data along (summary() then needs X, y).
        state = dict(self.__dict__)
        state.pop("_objective", None)
        state.pop("_theta", None)
        state.pop("_fitted_on_dask", None)
        return state

    _parameter_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "penalty": (Options(_PENALTIES), NONE),
        "C": (Interval("real", 0, None, closed="neither", allow_inf=True),),
        "l1_ratio": (Interval("real", 0, 1), NONE),
        "fit_intercept": (BOOLEAN,),
        "class_weight": (
            Options(("balanced",)),
            InstanceOf((dict,), "a dict {label: weight}"),
            NONE,
        ),
        "solver": (Options(_SOLVERS),),
        "tol": (Interval("real", 0, None, closed="left"),),
        "max_iter": (Interval("int", 0, None),),
        "verbose": (Interval("int", 0, None), BOOLEAN),
        "warm_start": (BOOLEAN,),
    }

    # ---- fitting -------------------------------------------------------------------------------------------
    def _effective_C(self) -> float:
        """The C of the objective (checked parameters): inf when there is no penalty."""
        return float("inf") if self.penalty in (None, "none") else float(self.C)

    def _effective_l1_ratio(self) -> float:
        """ρ of the objective (checked parameters): 1 for L1, l1_ratio for elastic net, else 0.

        Raises:
            ValueError: ``penalty="elasticnet"`` without ``l1_ratio``.
        """
        if self.penalty == "l1":
            return 1.0
        if self.penalty == "elasticnet":
            if self.l1_ratio is None:
                raise ValueError(
                    "l1_ratio must be set (a number in [0, 1]) when penalty='elasticnet'"
                )
            return float(self.l1_ratio)
        return 0.0

    def _solver_for(self, rho: float, obj: ObjectiveBase) -> str:
        """The solver that runs: ``solver``, or what ``"auto"`` picks (prox-newton for an L1 part ρ > 0,
        else :func:`choose_solver_measured`, whose predicted costs go to ``auto_costs_``).

        Raises:
            ValueError: ``lbfgs``/``newton`` with an L1 part (they need a smooth objective).
        """
        solver = str(self.solver)
        if rho > 0.0:
            if solver in ("lbfgs", "newton"):
                raise ValueError(
                    f"solver={solver!r} supports only penalty 'l2' or None (a smooth objective); "
                    f"penalty={self.penalty!r} needs solver='prox-newton' (or 'auto')"
                )
            return "prox-newton"
        if solver == "auto":
            chosen, costs = choose_solver_measured(obj)
            self.auto_costs_: dict[str, float] | None = costs
            return chosen
        return solver

    def _start(self, obj: ObjectiveBase, classes: np.ndarray) -> np.ndarray:
        """θ₀: zeros, or the previous fit's coefficients with ``warm_start``.

        Raises:
            ValueError: ``warm_start`` after a fit with other classes or another number of features.
        """
        if not self.warm_start or not hasattr(self, "coef_"):
            return np.zeros(obj.size)
        rows = 1 if obj.binary else obj.n_classes
        coef = np.asarray(self.coef_, dtype=np.float64)
        if coef.shape != (rows, obj.n_features) or not np.array_equal(
            np.asarray(self.classes_), classes
        ):
            raise ValueError(
                f"warm_start: the previous fit has coef_ of shape {coef.shape} for classes "
                f"{[plain(c) for c in np.asarray(self.classes_)]}, but this fit needs "
                f"{(rows, obj.n_features)} for {[plain(c) for c in classes]}; set warm_start=False"
            )
        M = coef
        if obj.fit_intercept:
            M = np.column_stack([coef, np.asarray(self.intercept_, dtype=np.float64).reshape(rows)])
        return np.ascontiguousarray(M).ravel()

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit to ``X`` (n, d) and labels ``y`` (n,); ``sample_weight`` (n,) non-negative, optional.

        Raises:
            InvalidParameterError: a hyperparameter of the wrong type or value (a ``ValueError`` and a
                ``TypeError``; names it, says what it must be and what it got).
            ValueError: NaN/inf in X or y (names the row and column); shapes that
                disagree; a continuous target; fewer than two classes with positive weight (sample
                weight times class_weight); ``class_weight="balanced"`` with a class whose samples
                weigh 0 in all (names it); ``warm_start`` after a fit with other classes or features.
        Warns:
            UserWarning: ``penalty=None`` with ``C`` set to something other than 1.0: C is ignored.
            ConvergenceWarning: ``max_iter`` ran out before ``tol`` was met.
            NonFiniteLossWarning: the loss became nan or inf (badly scaled data); the fit stopped at
                the last finite iterate (a ``RuntimeWarning`` and a ``ConvergenceWarning``).
            SeparableDataWarning: ``penalty=None`` and the classes are separable (no finite optimum); the
                fit stops at a separating direction, kept in ``separated_``.
        """
        self._validate_params()
        C, rho = self._penalty_strengths()
        obj, classes, out_dtype, names = self._prepare(X, y, sample_weight, C, rho)
        self.auto_costs_ = None
        solver = self._solver_for(rho, obj)
        if solver == "prox-newton" and obj.size > PROX_NEWTON_MAX_PARAMS:
            raise ValueError(
                f"solver='prox-newton' keeps a dense Hessian of {obj.size} x {obj.size} parameters, "
                f"more than its limit of {PROX_NEWTON_MAX_PARAMS} (PROX_NEWTON_MAX_PARAMS); reduce the "
                "features (or classes), or use penalty='l2' with solver='lbfgs'"
            )
        result = self._solve(obj, solver, self._start(obj, classes), unpenalized=not np.isfinite(C))
        self._set_fitted(obj, result, classes, solver, names, out_dtype)
        return self

    def _penalty_strengths(self) -> tuple[float, float]:
        """``(C, ρ)`` of the objective (checked parameters), warning about parameters that the penalty
        ignores.

        Raises:
            ValueError: ``penalty="elasticnet"`` without ``l1_ratio``.

        Warns:
            UserWarning: ``l1_ratio`` without elastic net, or ``C`` set without a penalty.
        """
        C = self._effective_C()
        rho = self._effective_l1_ratio() if np.isfinite(C) else 0.0
        if self.l1_ratio is not None and self.penalty != "elasticnet":
            warnings.warn(
                f"l1_ratio is used only with penalty='elasticnet'; penalty={self.penalty!r} "
                f"ignores l1_ratio={self.l1_ratio!r}",
                UserWarning,
                stacklevel=3,
            )
        if self.penalty in (None, "none") and self.C != 1.0:
            warnings.warn(
                f"penalty={self.penalty!r} ignores C: C={self.C!r} has no effect without a penalty "
                "(set penalty='l2' to use C, or leave C at its default 1.0)",
                UserWarning,
                stacklevel=3,
            )
        return C, rho

    def _prepare(
        self, X: Any, y: Any, sample_weight: Any, C: float, rho: float
    ) -> tuple[ObjectiveBase, np.ndarray, type, np.ndarray | None]:
        """``(objective, classes, coef dtype, feature names or None)`` for the data: a Dask objective
        for Dask inputs, else checked in-memory arrays (a copy that ``summary()`` reads later).

        Raises:
            ValueError: bad data (see :meth:`fit`); ``class_weight`` with Dask arrays.
        """
        obj: ObjectiveBase
        if backend.any_dask(X, y, sample_weight):
            if self.class_weight is not None:
                raise ValueError(
                    "class_weight is not supported on Dask arrays; pass the class weights as "
                    "sample_weight (one weight per row)"
                )
            prepared = logistic_dask.prepare(
                X, y, sample_weight, C, bool(self.fit_intercept), type(self).__name__
            )
            obj = prepared.objective
            if rho > 0.0:
                strength = obj.alpha
                obj.alpha, obj.l1 = strength * (1.0 - rho), strength * rho
            return obj, prepared.classes, prepared.out_dtype, None
        names = _feature_names(X)
        out_dtype = np.float32 if _is_float32(X) else np.float64
        X_arr, y_arr = check_Xy(X, y, accept_sparse=True)
        if X_arr is X or not getattr(X_arr, "flags", {"OWNDATA": True})["OWNDATA"]:
            # summary() reads the training data later: keep a copy, not the caller's array.
            X_arr = X_arr.copy()
        elif is_sparse(X_arr) and (X_arr.data is getattr(X, "data", None)):
            X_arr = X_arr.copy()
        check_class_labels(y_arr, type(self).__name__)
        classes, y_index = _encode_labels(y_arr)
        sw = check_sample_weight(sample_weight, X_arr.shape[0])
        if sw is not None:
            sw = np.array(sw, dtype=np.float64, copy=True)
        require_two_classes(classes, y_index, sw)
        if self.class_weight is not None:
            cw = class_weights(self.class_weight, classes, y_index, sw)
            sw = cw[y_index] if sw is None else sw * cw[y_index]
            require_two_classes(classes, y_index, sw, "sample weight times class_weight")
        obj = make_objective(
            X_arr, y_index, int(classes.size), sw, C, bool(self.fit_intercept), rho
        )
        return obj, classes, out_dtype, names

    def _solve(
        self, obj: ObjectiveBase, solver: str, theta0: np.ndarray, unpenalized: bool
    ) -> SolverResult:
        """Run ``solver`` from ``theta0`` (no iteration with ``max_iter=0``) and warn about the outcome
        (see :meth:`fit`); sets ``separated_``."""
        progress = _StderrProgress(solver, self.max_iter) if self.verbose else None
        run = {"newton": newton, "prox-newton": prox_newton}.get(solver, lbfgs)
        self.separated_: np.ndarray | None = None
        try:
            try:
                # Overflow is detected (NonFiniteLoss), not warned about element by element.
                with np.errstate(over="ignore", invalid="ignore"):
                    if int(self.max_iter) == 0:
                        return self._warn_outcome(
                            obj, solver, _no_iterations(obj, theta0, float(self.tol)), unpenalized
                        )
                    result = run(
                        obj,
                        theta0,
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
            warnings.warn(
                NonFiniteLossWarning(
                    f"{solver} stopped at iteration {bad.n_iter + 1}: {bad.what}, so the "
                    f"coefficients are those of the last finite iterate (iteration {bad.n_iter}). "
                    "The decision values overflow: scale the data (the largest |X| is "
                    f"{_max_abs_x(obj):.3g}; standardize each feature)."
                ),
                stacklevel=3,
            )
            return SolverResult(bad.theta, bad.n_iter, False, "non-finite loss", float("nan"), fun)
        except Separated as sep:
            self.separated_ = sep.theta / np.linalg.norm(sep.theta)
            warnings.warn(_separable_warning(self.separated_, obj.n_features), stacklevel=3)
            return SolverResult(
                sep.theta, sep.n_iter, False, "separated", float("nan"), obj.loss(sep.theta)
            )
        return self._warn_outcome(obj, solver, result, unpenalized)

    def _warn_outcome(
        self, obj: ObjectiveBase, solver: str, result: SolverResult, unpenalized: bool
    ) -> SolverResult:
        """``result``, after warning when it did not converge: :class:`SeparableDataWarning` when an
        unpenalized binary fit failed on separable data (sets ``separated_``), else a
        :class:`ConvergenceWarning`."""
        d = obj.n_features
        if (
            unpenalized
            and obj.binary
            and not result.converged
            and isinstance(obj, LogisticObjective)
            and int(self.max_iter) > 0
        ):
            direction = _separating_direction(obj)
            if direction is not None:
                self.separated_ = direction
                warnings.warn(_separable_warning(direction, d), stacklevel=4)
        if not result.converged and self.separated_ is None:
            warnings.warn(
                ConvergenceWarning(
                    f"{solver} failed to converge in max_iter={self.max_iter} iterations "
                    f"(max |gradient| = {result.grad_max:.3g} > tol = {self.tol:g}; {result.message}). "
                    "Increase max_iter, scale the data (e.g. standardize each feature), "
                    "or use a smaller C (a stronger penalty)."
                ),
                stacklevel=4,
            )
        return result

    def _set_fitted(
        self,
        obj: ObjectiveBase,
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
        # A Dask fit keeps no data (persisted chunks would stay in the cluster's memory).
        self._objective = obj if isinstance(obj, LogisticObjective) else None
        self._fitted_on_dask = self._objective is None
        self._theta = np.array(result.theta, dtype=np.float64, copy=True)

    # ---- prediction ----------------------------------------------------------------------------------------
    def _check_X(self, X: Any) -> Any:
        self._check_fitted()
        return check_X(
            X, n_features=self.n_features_in_, owner=type(self).__name__, accept_sparse=True
        )

    def decision_function(self, X: Any) -> np.ndarray:
        """Decision values: (n,) z = x·w + b for binary problems (> 0 means ``classes_[1]``), (n, K) else.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        if backend.is_dask_array(X):
            self._check_fitted()
            return logistic_dask.predict_lazy(self, X, "decision")
        Xa = self._check_X(X)
        Z = np.asarray(Xa @ self.coef_.T) + self.intercept_
        return Z.ravel() if Z.shape[1] == 1 else Z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, K), columns in the order of ``classes_``; rows sum to 1.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        if backend.is_dask_array(X):
            self._check_fitted()
            return logistic_dask.predict_lazy(self, X, "proba")
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
        if backend.is_dask_array(X):
            self._check_fitted()
            return logistic_dask.predict_lazy(self, X, "log_proba")
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
        if backend.is_dask_array(X):
            self._check_fitted()
            return logistic_dask.predict_lazy(self, X, "predict")
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
                fit, an L1 or elastic-net fit, or a singular information matrix (collinear features
                or separated classes).
        """
        from chainrule.linear.summary import logistic_summary

        self._check_fitted()
        if self.penalty == "l1" or (self.penalty == "elasticnet" and self.l1_ratio):
            raise ValueError(
                f"summary() has no standard errors for penalty={self.penalty!r}: an L1 penalty sets "
                "coefficients to exactly 0 and the log-likelihood's curvature says nothing about "
                "them; refit with penalty=None (or 'l2') for the table"
            )
        if backend.any_dask(X, y, sample_weight) or (
            X is None and getattr(self, "_fitted_on_dask", False)
        ):
            raise ValueError(
                "summary() needs in-memory data: a fit on Dask arrays keeps none, and the table is "
                "computed from NumPy arrays; pass summary(X, y) with NumPy arrays (e.g. X.compute(), "
                "y.compute(), when they fit in memory)"
            )
        return logistic_summary(self, X, y, sample_weight, alpha=alpha, feature_names=feature_names)

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the model to ``PATH.npz``: arrays plus a JSON metadata entry, no pickle (see
        :mod:`chainrule.linear.model_io`), and the metadata, readable, to ``PATH.json``. Returns the
        path written.

        Raises:
            ValueError: not fitted, or a class label that is neither a number nor a string.
            OSError: the file cannot be written.
        """
        return model_io.save_estimator(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LogisticRegression:
        """Read a model written by :meth:`save` (``PATH`` or ``PATH.npz``).

        Raises:
            OSError: the file cannot be read. ValueError: a file that is not ours (nothing in it runs).
        """
        return model_io.load_estimator(cls, path)

    # ---- the fitted state as a plain mapping (what a file holds) -------------------------------------------
    #: The file format marker of a saved model (``chainrule.linear.model_io``).
    _state_format: ClassVar[str] = "chainrule.linear.LogisticRegression"

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted model as a plain mapping: JSON values plus the arrays ``coef`` (float64 ``(1, d)``
        or ``(K, d)``), ``intercept`` (float64 ``(1,)`` or ``(K,)``) and ``n_iter`` (int64 ``(1,)``).

        Keys: ``params`` (the constructor parameters; non-finite floats as ``"inf"``/``"nan"``),
        ``classes`` (labels as JSON numbers or strings), ``feature_names`` (strings or ``None``),
        ``n_features_in``, ``solver_used``, ``converged``, ``objective``, and the arrays.

        Raises:
            NotFittedError: before ``fit``. ValueError: a class label that is neither a number nor a
                string.
        """
        self._check_fitted()
        names = getattr(self, "feature_names_in_", None)
        params = {
            k: (json_float(float(v)) if isinstance(v, float) else v)
            for k, v in self.get_params().items()
        }
        if isinstance(self.class_weight, Mapping):
            # JSON keys are strings: a dict of labels is kept as [label, weight] pairs.
            pairs = [[plain(k), float(v)] for k, v in self.class_weight.items()]
            for label, _ in pairs:
                if not isinstance(label, (bool, int, float, str)):
                    raise ValueError(
                        f"cannot save class_weight label {label!r}: numbers or strings only"
                    )
            params["class_weight"] = pairs
        for key, default in _ADDED_PARAMS.items():
            # Parameters added after format version 2 are written only when set, so that a model
            # that does not use them writes the same file as before they existed.
            if params[key] == default and type(params[key]) is type(default):
                del params[key]
        labels = [c.item() if isinstance(c, np.generic) else c for c in np.asarray(self.classes_)]
        for c in labels:
            if not isinstance(c, (bool, int, float, str)):
                raise ValueError(
                    f"cannot save class label {c!r} of type {type(c).__name__}: numbers or strings "
                    "only"
                )
        return {
            "params": params,
            "classes": labels,
            "feature_names": None if names is None else [str(n) for n in names],
            "n_features_in": int(self.n_features_in_),
            "solver_used": str(getattr(self, "solver_", self.solver)),
            "converged": bool(getattr(self, "converged_", True)),
            "objective": json_float(float(getattr(self, "objective_", float("nan")))),
            "coef": np.asarray(self.coef_, dtype=np.float64),
            "intercept": np.asarray(self.intercept_, dtype=np.float64),
            "n_iter": np.asarray(self.n_iter_, dtype=np.int64).reshape(1),
        }

    @classmethod
    def _unfitted_from_state(cls, plain: Mapping[str, Any]) -> LogisticRegression:
        """A model with the parameters and fit facts of a state's plain part, every entry checked (the
        arrays not yet set).

        Raises:
            ValueError: parameters that are unknown, missing or invalid (a non-boolean
                ``fit_intercept``), bad labels, feature names or fit facts; the message names the entry.
        """
        params = plain.get("params")
        valid = cls.param_names()
        if isinstance(params, Mapping) and set(params) < set(valid):
            # Files written before l1_ratio, class_weight and warm_start existed: their defaults.
            added = set(valid) - set(params)
            if added <= set(_ADDED_PARAMS):
                params = {**{k: _ADDED_PARAMS[k] for k in added}, **params}
        if not isinstance(params, Mapping) or set(params) != set(valid):
            raise ValueError(f"'params' must name exactly these parameters: {', '.join(valid)}")
        params = dict(params)
        weights = params.get("class_weight")
        if isinstance(weights, list):
            params["class_weight"] = _class_weight_from_pairs(weights)
        for key, constraints in cls._parameter_constraints.items():
            value = params[key]
            if constraints == (BOOLEAN,):
                state_flag(value, key)
            elif any(isinstance(c, Interval) and c.kind == "int" for c in constraints):
                if not isinstance(value, (int, np.integer)):  # bools are refused just below
                    raise ValueError(f"{key} = {str(value)[:40]!r} is not an integer")
            elif isinstance(value, str) and any(
                isinstance(c, Interval) and c.kind == "real" for c in constraints
            ):
                params[key] = state_number(value, key)  # "inf", "nan": JSON's non-finite floats
        model = cls().set_params(**params)
        try:
            validate_params(model)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        model.classes_ = state_labels(plain.get("classes"))
        d = state_int(plain.get("n_features_in"), "n_features_in", low=1)
        model.n_features_in_ = d
        names = plain.get("feature_names")
        if names is not None:
            if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
                raise ValueError("'feature_names' must be a list of strings")
            if len(names) != d:
                raise ValueError(f"{len(names)} feature names for {d} features")
            model.feature_names_in_ = np.asarray(names, dtype=object)
        solver = plain.get("solver_used", model.solver)
        if solver not in _SOLVERS:
            raise ValueError(f"solver_used = {str(solver)[:40]!r} is not one of {_SOLVERS}")
        model.solver_ = solver
        model.converged_ = state_flag(plain.get("converged", True), "converged")
        model.objective_ = state_number(plain.get("objective", "nan"), "objective")
        model.separated_ = None
        return model

    @staticmethod
    def _array_rules(model: LogisticRegression) -> dict[str, ArrayRule]:
        K = model.classes_.shape[0]
        rows = 1 if K == 2 else K
        d = model.n_features_in_
        return {
            "coef": ArrayRule.exact((rows, d), np.float64),
            "intercept": ArrayRule.exact((rows,), np.float64),
            "n_iter": ArrayRule(((), (1,)), INTEGER_DTYPES, "one integer"),
        }

    @classmethod
    def _state_arrays(cls, plain: Mapping[str, Any]) -> dict[str, ArrayRule]:
        """Check a state's plain part (see :meth:`_fitted_state`) and return the arrays it implies.

        Raises:
            ValueError: an entry that is not what ``fit`` makes (names it).
        """
        return cls._array_rules(cls._unfitted_from_state(plain))

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> LogisticRegression:
        """The fitted model of :meth:`_fitted_state`'s mapping, every entry checked.

        Raises:
            ValueError: parameters that are unknown, missing or invalid (a non-boolean
                ``fit_intercept``), bad labels or feature names, or arrays of other shapes or dtypes than
                the rest implies, or not finite; the message names the entry.
        """
        arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
        model = cls._unfitted_from_state({k: v for k, v in state.items() if k not in arrays})
        check_arrays(arrays, cls._array_rules(model))
        coef, intercept = arrays["coef"], arrays["intercept"]
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise ValueError("coefficients are not all finite")
        model.coef_ = np.array(coef, dtype=np.float64)
        model.intercept_ = np.array(intercept, dtype=np.float64)
        model.n_iter_ = np.asarray(arrays["n_iter"]).astype(np.int32).reshape(-1)
        return model


#: Parameters added after file format version 2 was first written, with their defaults.
_ADDED_PARAMS: dict[str, Any] = {"l1_ratio": None, "class_weight": None, "warm_start": False}


def _class_weight_from_pairs(pairs: list[Any]) -> dict[Any, float]:
    """A saved class_weight (``[[label, weight], ...]``) as a dict. Raises ValueError for anything else."""
    out: dict[Any, float] = {}
    for pair in pairs:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[0], (int, float, str))
            or isinstance(pair[1], bool)
            or not isinstance(pair[1], (int, float))
        ):
            raise ValueError("'class_weight' must be a list of [label, weight] pairs")
        out[pair[0]] = float(pair[1])
    return out


def _no_iterations(obj: ObjectiveBase, theta0: np.ndarray, tol: float) -> SolverResult:
    """``max_iter=0``: no step; the result at θ₀ (converged only when θ₀ already meets ``tol``)."""
    f, g = obj.loss_grad(theta0)
    lam = obj.l1 * obj.penalty_mask()
    grad_max = float(np.max(np.abs(min_norm_subgradient(theta0, g, lam))))
    fun = f + float(lam @ np.abs(theta0))
    return SolverResult(theta0, 0, grad_max <= tol, "max_iter=0: no iterations", grad_max, fun)


def _max_abs_x(obj: ObjectiveBase) -> float:
    """The largest |X| of an objective's data (one more pass for Dask data)."""
    if isinstance(obj, LogisticObjective):
        if is_sparse(obj.X):
            return float(abs(obj.X).max())
        return float(np.max(np.abs(obj.X)))
    if isinstance(obj, logistic_dask.DaskLogisticObjective):
        return obj.max_abs_x()
    return float("nan")


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
    if is_sparse(X):
        import scipy.sparse

        Xs: Any = X
        A: Any = scipy.sparse.csr_matrix(Xs[keep].multiply(signs[:, None]))
        if obj.fit_intercept:
            A = scipy.sparse.hstack([A, signs[:, None]], format="csr")
        column_sums = np.asarray(A.sum(axis=0)).ravel()
        total = float(abs(A).sum())
    else:
        A = X[keep] * signs[:, None]
        if obj.fit_intercept:
            A = np.column_stack([A, signs])
        column_sums = A.sum(axis=0)
        total = float(np.abs(A).sum())
    # maximize Σ_i a_i·v subject to a_i·v ≥ 0 and −1 ≤ v ≤ 1: a positive optimum means separation.
    res = scipy.optimize.linprog(
        -column_sums,
        A_ub=-A,
        b_ub=np.zeros(A.shape[0]),
        bounds=[(-1.0, 1.0)] * A.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-9 * max(1.0, total):
        return None
    v = np.asarray(res.x)
    return v / np.linalg.norm(v)
