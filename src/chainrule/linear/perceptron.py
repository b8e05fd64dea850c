"""The classic perceptron (Rosenblatt's rule), with Novikoff's mistake bound and a cycling detector.

The rule: visit the points in order; on a mistake ``y_i (w·x_i + b) ≤ 0`` update ``w += η y_i x_i``,
``b += η y_i``. On separable data it stops after at most ``(R/γ)²`` mistakes (Novikoff, 1962), where
``R = max_i ‖[x_i; 1]‖`` and ``γ`` is the maximum margin of a hyperplane through the origin in that augmented
space (``γ`` of ``[w; b]``, computed here as a small QP). On inseparable data it never stops; the weights stay
bounded (the perceptron cycling theorem), and with a fixed visiting order they eventually repeat. The fit stops
at the first repeated state, or once the data are proven inseparable and ``n_iter_no_change`` epochs bring no
improvement, and warns with a :class:`CyclingWarning` that carries the Gordan certificate.

More than two classes are fitted one-vs-rest, as scikit-learn does: one binary perceptron per class
(that class against the rest), ``coef_`` ``(K, d)``, and the prediction is the class of the largest
decision value. ``class_weight`` scales each update as scikit-learn's SGD does: with two classes each
sample's update by the weight of its class; one-vs-rest, the run of class k scales the updates of class
k's samples by its weight and leaves the rest's at weight 1.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from chainrule.linear._estimator import ClassifierMixin
from chainrule.linear._params import BOOLEAN, NONE, Constraint, InstanceOf, Interval, Options
from chainrule.linear._weights import class_weights, require_two_classes
from chainrule.linear.datasets import check_class_labels, check_X, check_Xy, plain
from chainrule.linear.exceptions import ConvergenceWarning
from chainrule.linear.hyperplane import binary_labels
from chainrule.linear.separate import GordanCertificate, _working_set, gordan_certificate

__all__ = ["DENSE_LIMIT", "CyclingWarning", "Perceptron"]

#: The most entries (n · d) of a sparse ``X`` that the perceptron makes dense (its epochs run on dense
#: rows); a larger sparse ``X`` is refused with a ``ValueError`` rather than densified.
DENSE_LIMIT = 1 << 24


def _dense(X: Any, name: str = "X") -> np.ndarray:
    """``X`` (checked) as a dense float64 array; a sparse ``X`` of at most :data:`DENSE_LIMIT` entries
    is made dense. Raises ValueError above the limit."""
    if isinstance(X, np.ndarray):
        return X
    n, d = X.shape
    if n * d > DENSE_LIMIT:
        raise ValueError(
            f"{name} is sparse with {n} x {d} = {n * d:,} entries: the perceptron works on dense rows "
            f"and makes a sparse {name} dense only up to {DENSE_LIMIT:,} entries (DENSE_LIMIT); use "
            "LogisticRegression, which fits sparse data as it is"
        )
    return np.asarray(X.toarray(), dtype=np.float64)


@dataclass
class _BinaryFit:
    """What one binary run of the rule found (see :meth:`Perceptron._fit_binary`)."""

    v: np.ndarray
    n_iter: int
    n_mistakes: int
    converged: bool
    cycle: tuple[int, int] | None
    radius: float | None
    margin: float | None
    mistake_bound: float | None
    certificate: GordanCertificate | None


def _positive_classes(class_weight: Any, classes: np.ndarray) -> np.ndarray:
    """The ``(K,)`` weights of a ``class_weight`` dict for ``partial_fit`` (checked against all of
    ``classes``, not one batch, which may hold a single class).

    Raises:
        ValueError: fewer than two classes keep a positive weight, or a bad dict (see
            :func:`~chainrule.linear._weights.class_weights`).
    """
    K = classes.size
    cw = class_weights(class_weight, classes, np.arange(K), None)
    require_two_classes(classes, np.arange(K), cw, "class_weight")
    return cw


def _run_weights(cw: np.ndarray | None, y_index: np.ndarray, k: int | None) -> np.ndarray | None:
    """The update weights ``(n,)`` of one binary run, as scikit-learn's SGD applies ``class_weight``.

    ``cw``: the ``(K,)`` class weights (``None``: no weighting, returns ``None``); ``k``: ``None`` for
    the binary problem (each sample weighs its class's weight), else the class of a one-vs-rest run
    (its samples weigh ``cw[k]``, the rest 1).
    """
    if cw is None:
        return None
    if k is None:
        return cw[y_index]
    return np.where(y_index == k, cw[k], 1.0)


class CyclingWarning(UserWarning):
    """The perceptron cannot converge: the data are not linearly separable.

    Attributes:
        certificate: a :class:`~chainrule.linear.separate.GordanCertificate` proving it (``None`` when none
            was computed).
    """

    def __init__(self, message: str, certificate: GordanCertificate | None = None) -> None:
        super().__init__(message)
        self.certificate = certificate


def _epoch(A: np.ndarray, v: np.ndarray, eta: float, block: int = 256) -> int:
    """One pass of the rule over the rows of ``A`` (row i = y_i [x_i, 1]) in order; updates ``v``; mistakes.

    Equivalent to the one-point-at-a-time loop; the margins of a block are computed with one matrix-vector
    product and recomputed only after a mistake, so an epoch with few mistakes costs about one pass of BLAS.
    """
    mistakes = 0
    n = A.shape[0]
    for start in range(0, n, block):
        B = A[start : start + block]
        r = B @ v
        i = 0
        while i < B.shape[0]:
            bad = np.flatnonzero(r[i:] <= 0)
            if bad.size == 0:
                break
            j = i + int(bad[0])
            v += eta * B[j]
            mistakes += 1
            i = j + 1
            if i < B.shape[0]:
                r[i:] = B[i:] @ v
    return mistakes


class Perceptron(ClassifierMixin):
    """The classic perceptron with the scikit-learn estimator API: binary, or one-vs-rest for K > 2.

    Args:
        max_iter: the most epochs (passes over the data) in :meth:`fit`.
        eta0: the learning rate ``η`` (with zero initial weights it only scales them).
        fit_intercept: learn ``b``; ``False`` fixes ``b = 0``.
        shuffle: visit the points in a new random order each epoch (default ``False``: the fixed order
            of the classic rule, which makes cycles exactly detectable).
        random_state: seed for ``shuffle``.
        compute_bound: before training, compute Novikoff's bound (a small QP) or, for inseparable data, the
            Gordan certificate.
        n_iter_no_change: on data proven inseparable, stop after this many epochs without fewer mistakes.
        warm_start: start :meth:`fit` from the previous weights (a fit with other classes or another
            number of features is a ``ValueError``).
        class_weight: ``None``, ``"balanced"`` (n / (K · n_k) for class k) or ``{label: weight}``
            (classes not named weigh 1), as scikit-learn applies them: with two classes each update
            is scaled by the weight of the sample's class; one-vs-rest, the run for class k scales
            the updates of its own samples by c_k and those of the rest by 1. Samples of weight 0 are
            left out of a run. Novikoff's bound then grows by (max c / min c)². At least two classes
            must keep a positive weight.

    Attributes (after ``fit``):
        classes_: the labels, sorted; with two, ``classes_[1]`` is the positive one.
        coef_: float64 ``(1, d)``, or ``(K, d)`` one-vs-rest; intercept_: float64 ``(1,)`` or ``(K,)``.
        With K > 2 classes, ``n_iter_`` is the largest of the K runs, ``n_mistakes_`` their sum,
        ``converged_`` whether all converged, and the bound, margin, certificate and cycle attributes
        are ``None`` (they belong to one binary problem).
        n_iter_: epochs run; n_mistakes_: updates made in ``fit`` (cumulative over ``partial_fit`` calls).
        converged_: the last epoch made no mistake.
        radius_: ``R``; margin_: ``γ`` (augmented, see the module docstring; 0 when inseparable);
        mistake_bound_: ``(R/γ)²`` (``inf`` when inseparable, ``None`` when not computed).
        certificate_: the Gordan certificate when the data are inseparable, else ``None``.
        cycle_: ``(first_epoch, repeat_epoch)`` of a detected repeated state, else ``None``.
    """

    margin_: float | None
    radius_: float | None
    mistake_bound_: float | None
    certificate_: GordanCertificate | None
    cycle_: tuple[int, int] | None

    def __init__(
        self,
        *,
        max_iter: int = 1000,
        eta0: float = 1.0,
        fit_intercept: bool = True,
        shuffle: bool = False,
        random_state: int | None = None,
        compute_bound: bool = True,
        n_iter_no_change: int = 5,
        warm_start: bool = False,
        class_weight: dict[Any, float] | str | None = None,
    ) -> None:
        self.max_iter = max_iter
        self.eta0 = eta0
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.compute_bound = compute_bound
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.class_weight = class_weight

    multi_class = True
    accepts_sparse = True

    _parameter_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "max_iter": (Interval("int", 1, None),),
        "eta0": (Interval("real", 0, None, closed="neither"),),
        "fit_intercept": (BOOLEAN,),
        "shuffle": (BOOLEAN,),
        "random_state": (
            NONE,
            Interval("int", 0, None),
            InstanceOf((np.random.Generator, np.random.SeedSequence), "a numpy.random.Generator"),
        ),
        "compute_bound": (BOOLEAN,),
        "n_iter_no_change": (Interval("int", 1, None),),
        "warm_start": (BOOLEAN,),
        "class_weight": (
            Options(("balanced",)),
            InstanceOf((dict,), "a dict {label: weight}"),
            NONE,
        ),
    }

    # -- helpers ----------------------------------------------------------------------------------------
    def _design(self, X: np.ndarray, s: np.ndarray) -> np.ndarray:
        Z = np.hstack([X, np.ones((X.shape[0], 1))]) if self.fit_intercept else X
        return s[:, None] * Z

    def _weights_row(self, k: int, d: int) -> np.ndarray:
        """Row k of the current weights ``[w_k, b_k]`` (zeros before the first fit)."""
        p = d + 1 if self.fit_intercept else d
        if not hasattr(self, "coef_"):
            return np.zeros(p)
        v = np.asarray(self.coef_[k], dtype=np.float64)
        return np.concatenate([v, self.intercept_[k : k + 1]]) if self.fit_intercept else v.copy()

    # -- training ---------------------------------------------------------------------------------------
    def _analyse(
        self, X: np.ndarray, s: np.ndarray, A: np.ndarray, pair: tuple[Any, Any]
    ) -> tuple[float, float, float, GordanCertificate | None]:
        """``(radius, margin, mistake_bound, certificate)``: Novikoff's bound, or the certificate of
        inseparability (margin 0, bound inf)."""
        radius = float(np.sqrt(np.max(np.sum(A * A, axis=1))))
        v, rows = _working_set(A, s, "max", penalize_last=True)
        if v is None:
            try:
                cert: GordanCertificate | None = gordan_certificate(X, s, rows, pair)
            except ValueError:
                # Inseparable through the origin (fit_intercept=False) but separable with an offset:
                # the certificate with an intercept row does not exist.
                cert = None
            return radius, 0.0, float("inf"), cert
        margin = float(1.0 / np.linalg.norm(v))
        return radius, margin, float((radius / margin) ** 2), None

    def _fit_binary(
        self,
        X: np.ndarray,
        s: np.ndarray,
        c: np.ndarray | None,
        v: np.ndarray,
        pair: tuple[Any, Any],
    ) -> _BinaryFit:
        """Run the rule on labels ``s`` (±1) with per-sample update weights ``c`` (or ``None``) from
        ``v``."""
        if c is not None:
            keep = c > 0
            X, s, c = X[keep], s[keep], c[keep]
        n = X.shape[0]
        A = self._design(X, s)
        radius = margin = bound = None
        cert = None
        if self.compute_bound and n and np.unique(s).size == 2:
            radius, margin, bound, cert = self._analyse(X, s, A, pair)
            if c is not None and np.isfinite(bound):
                bound *= float(c.max() / c.min()) ** 2
        if c is not None:
            A = A * c[:, None]
        rng = np.random.default_rng(self.random_state)
        seen: dict[bytes, int] = {v.tobytes(): 0}
        n_mistakes = 0
        cycle = None
        converged = False
        best = np.inf
        since_best = 0
        epoch = 0
        for epoch in range(1, int(self.max_iter) + 1):
            A_ep = A[rng.permutation(n)] if self.shuffle else A
            mistakes = _epoch(A_ep, v, float(self.eta0))
            n_mistakes += mistakes
            if mistakes == 0:
                converged = True
                break
            key = v.tobytes()
            if not self.shuffle and key in seen:
                cycle = (seen[key], epoch)
                break
            seen[key] = epoch
            if mistakes < best:
                best, since_best = mistakes, 0
            else:
                since_best += 1
            if cert is not None and since_best >= self.n_iter_no_change:
                break
        return _BinaryFit(v, epoch, n_mistakes, converged, cycle, radius, margin, bound, cert)

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Run the perceptron rule until an epoch makes no mistake, a cycle is detected, or ``max_iter``;
        for K > 2 classes, once per class against the rest.

        Args:
            X: float array-like ``(n, d)`` (or SciPy sparse, made dense up to :data:`DENSE_LIMIT`
                entries); y: labels ``(n,)``, at least two classes (the larger of two is positive).

        Returns:
            ``self``.

        Raises:
            ValueError: NaN/inf (names row and column), shapes that disagree, fewer than two classes
                (or of positive ``class_weight``), a ``class_weight`` naming an unknown label, a
                sparse ``X`` above :data:`DENSE_LIMIT`, ``warm_start`` after a fit with other classes
                or another number of features.
            InvalidParameterError: a parameter of the wrong type or value (a ``ValueError`` and a
                ``TypeError``; names it).

        Warns:
            CyclingWarning: the data are not linearly separable (with the certificate), or the weights
                repeat (a cycle, proof enough).
            ConvergenceWarning: ``max_iter`` epochs ran out and nothing proves the data inseparable.
        """
        self._validate_params()
        X_sparse, y_arr = check_Xy(X, y, accept_sparse=True)
        X_arr = _dense(X_sparse)
        check_class_labels(y_arr, "Perceptron")
        classes, y_index = np.unique(y_arr, return_inverse=True)
        y_index = y_index.reshape(-1)
        K = classes.size
        if K < 2:
            binary_labels(y_arr)  # raises: one class only
        d = X_arr.shape[1]
        cw = None
        if self.class_weight is not None:
            cw = class_weights(self.class_weight, classes, y_index, None)
            require_two_classes(classes, y_index, cw[y_index], "class_weight")
        previous = self._previous_weights(d, K, classes) if self.warm_start else None
        p = d + 1 if self.fit_intercept else d
        self.n_features_in_ = d
        self.classes_ = classes
        if K == 2:
            s, pair = binary_labels(y_arr)
            self.classes_pair_ = pair
            v0 = previous[0] if previous is not None else np.zeros(p)
            fits = [self._fit_binary(X_arr, s, _run_weights(cw, y_index, None), v0, pair)]
        else:
            fits = []
            for k in range(K):
                s = np.where(y_index == k, 1, -1)
                pair = ("rest", plain(classes[k]))
                v0 = previous[k] if previous is not None else np.zeros(p)
                fits.append(self._fit_binary(X_arr, s, _run_weights(cw, y_index, k), v0, pair))
        self._set_fits(fits, d)
        return self

    def _previous_weights(self, d: int, K: int, classes: np.ndarray) -> np.ndarray | None:
        """The rows ``[w_k, b_k]`` of the previous fit for ``warm_start`` (``None`` before a first fit).

        Raises:
            ValueError: the previous fit had other classes or another number of features.
        """
        if not hasattr(self, "coef_"):
            return None
        rows = 1 if K == 2 else K
        coef = np.asarray(self.coef_)
        if coef.shape != (rows, d) or not np.array_equal(np.asarray(self.classes_), classes):
            raise ValueError(
                f"warm_start: the previous fit has coef_ of shape {coef.shape} for classes "
                f"{[plain(c) for c in np.asarray(self.classes_)]}, but this fit needs "
                f"{(rows, d)} for {[plain(c) for c in classes]}; set warm_start=False"
            )
        W = np.asarray(self.coef_, dtype=np.float64)
        if self.fit_intercept:
            W = np.column_stack([W, np.asarray(self.intercept_, dtype=np.float64)])
        return np.array(W, copy=True)

    def _set_fits(self, fits: list[_BinaryFit], d: int) -> None:
        V = np.array([f.v for f in fits])
        self.coef_ = np.ascontiguousarray(V[:, :d])
        self.intercept_ = V[:, d].copy() if self.fit_intercept else np.zeros(len(fits))
        self.n_iter_ = max(f.n_iter for f in fits)
        self.n_mistakes_ = sum(f.n_mistakes for f in fits)
        self.converged_ = all(f.converged for f in fits)
        if len(fits) == 1:
            one = fits[0]
            self.cycle_ = one.cycle
            self.radius_, self.margin_ = one.radius, one.margin
            self.mistake_bound_, self.certificate_ = one.mistake_bound, one.certificate
            if not self.converged_:
                self._warn_not_converged()
            return
        self.cycle_ = self.radius_ = self.margin_ = self.mistake_bound_ = self.certificate_ = None
        failed = [plain(c) for c, f in zip(self.classes_, fits, strict=True) if not f.converged]
        if failed:
            proven = [
                plain(c)
                for c, f in zip(self.classes_, fits, strict=True)
                if not f.converged and (f.certificate is not None or f.cycle is not None)
            ]
            text = (
                f"Perceptron (one-vs-rest) did not converge for classes {failed} against the rest"
                + (f"; not linearly separable from the rest: {proven}" if proven else "")
                + ". Use a model that tolerates overlap (e.g. LogisticRegression), or increase "
                "max_iter."
            )
            if proven:
                warnings.warn(CyclingWarning(text), stacklevel=3)
            else:
                warnings.warn(ConvergenceWarning(text), stacklevel=3)

    def _warn_not_converged(self) -> None:
        cert = self.certificate_
        if self.cycle_ is not None:
            first, again = self.cycle_
            how = f"the weights at the end of epoch {again} repeat those after epoch {first}: it cycles"
        elif cert is not None:
            how = (
                f"stopped after {self.n_iter_} epochs ({self.n_iter_no_change} without improvement)"
            )
        else:
            how = f"stopped after max_iter={self.max_iter} epochs without a mistake-free epoch"
        if cert is not None:
            msg = (
                f"Perceptron cannot converge: the data are not linearly separable ({cert}); "
                f"{how}. Use a model that tolerates overlap (e.g. LogisticRegression)."
            )
        elif self.cycle_ is not None:
            msg = (
                f"Perceptron cannot converge: {how}, so no separating hyperplane exists "
                f"{'through the origin' if not self.fit_intercept else ''}."
            )
        else:
            # Nothing proves the data inseparable: an ordinary convergence failure.
            msg = f"Perceptron did not converge: {how}. Increase max_iter, or fit with compute_bound=True."
            warnings.warn(ConvergenceWarning(msg), stacklevel=3)
            return
        warnings.warn(CyclingWarning(msg.replace(" .", "."), cert), stacklevel=3)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> Perceptron:
        """One epoch of the rule over ``X``, continuing from the current weights.

        Args:
            X, y: a batch; classes: both labels, required on the first call unless ``y`` holds both.

        Returns:
            ``self``.

        Raises:
            ValueError: bad input; a label outside ``classes_``; ``classes`` missing on the first call
                when ``y`` has one class; a ``class_weight`` that leaves fewer than two classes of
                ``classes_`` with a positive weight.
            InvalidParameterError: a parameter of the wrong type or value (names it).
        """
        self._validate_params()
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' needs all of y at once: use fit, or pass a dict "
                "{label: weight} to partial_fit"
            )
        X_sparse, y_arr = check_Xy(X, y, accept_sparse=True)
        X_arr = _dense(X_sparse)
        check_class_labels(y_arr, "Perceptron")
        if not hasattr(self, "classes_"):
            labels = np.unique(y_arr) if classes is None else np.unique(np.asarray(classes))
            if labels.size < 2:
                raise ValueError(
                    "classes must name every label (at least two) on the first call to "
                    f"partial_fit (got {labels.tolist()})"
                )
            if self.class_weight is not None:  # refused before any state is set
                _positive_classes(self.class_weight, labels)
            self.classes_ = labels
            self.classes_pair_ = (plain(labels[0]), plain(labels[1]))
            self.n_features_in_ = X_arr.shape[1]
            self.n_mistakes_ = 0
            self.n_iter_ = 0
            self.margin_ = self.radius_ = self.mistake_bound_ = None
            self.certificate_ = None
            self.cycle_ = None
        elif X_arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X_arr.shape[1]} features, but Perceptron is expecting "
                f"{self.n_features_in_} features as input"
            )
        unknown = np.setdiff1d(np.unique(y_arr), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y holds labels {unknown.tolist()} not in classes {self.classes_.tolist()}"
            )
        d = X_arr.shape[1]
        K = self.classes_.size
        index = np.searchsorted(self.classes_, y_arr)
        cw = None
        if self.class_weight is not None:
            cw = _positive_classes(self.class_weight, self.classes_)
        order = None
        if self.shuffle:
            # One generator across calls, so that successive batches are not shuffled alike.
            if getattr(self, "_partial_rng", None) is None:
                self._partial_rng = np.random.default_rng(self.random_state)
            order = self._partial_rng.permutation(X_arr.shape[0])
        rows = [self._weights_row(k, d) for k in range(1 if K == 2 else K)]
        total = 0
        for k, v in enumerate(rows):
            positive = self.classes_[1] if K == 2 else self.classes_[k]
            A = self._design(X_arr, np.where(y_arr == positive, 1, -1))
            c = _run_weights(cw, index, None if K == 2 else k)
            if c is not None:
                A = A * c[:, None]
                A = A[c > 0] if order is None else A[order[c[order] > 0]]
            elif order is not None:
                A = A[order]
            total += _epoch(A, v, float(self.eta0))
        self.n_mistakes_ += total
        self.n_iter_ += 1
        self.converged_ = total == 0
        V = np.array(rows)
        self.coef_ = np.ascontiguousarray(V[:, :d])
        self.intercept_ = V[:, d].copy() if self.fit_intercept else np.zeros(len(rows))
        return self

    # -- prediction ---------------------------------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """``w·x + b`` for each row, float64 ``(n,)`` (positive means ``classes_[1]``), or ``(n, K)``
        one-vs-rest.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        self._check_fitted()
        X_arr = check_X(X, n_features=self.n_features_in_, owner="Perceptron", accept_sparse=True)
        Z = np.asarray(X_arr @ self.coef_.T) + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the decision function is positive, ``classes_[0]`` elsewhere.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        Z = self.decision_function(X)  # first: it raises NotFittedError before fit
        if Z.ndim == 2:
            return self.classes_[np.argmax(Z, axis=1)]
        return self.classes_[(Z > 0).astype(np.int64)]

    def report(self) -> str:
        """Mistakes against Novikoff's bound, or why it could not converge."""
        self._check_fitted()
        lines = [f"perceptron: {self.n_mistakes_} mistakes in {self.n_iter_} epochs"]
        if self.mistake_bound_ is not None and np.isfinite(self.mistake_bound_):
            lines.append(
                f"Novikoff's bound (R/γ)² = ({self.radius_:.4g}/{self.margin_:.4g})² = "
                f"{self.mistake_bound_:.4g}: {'within' if self.n_mistakes_ <= self.mistake_bound_ else 'ABOVE'}"
            )
        if self.certificate_ is not None:
            lines.append(f"not linearly separable: {self.certificate_}")
        if self.cycle_ is not None:
            lines.append(
                f"cycle: the state after epoch {self.cycle_[1]} repeats epoch {self.cycle_[0]}"
            )
        lines.append("converged" if self.converged_ else "did not converge")
        return "\n".join(lines)
