"""The classic perceptron (Rosenblatt's rule), with Novikoff's mistake bound and a cycling detector.

The rule: visit the points in order; on a mistake ``y_i (w·x_i + b) ≤ 0`` update ``w += η y_i x_i``,
``b += η y_i``. On separable data it stops after at most ``(R/γ)²`` mistakes (Novikoff, 1962), where
``R = max_i ‖[x_i; 1]‖`` and ``γ`` is the maximum margin of a hyperplane through the origin in that augmented
space (``γ`` of ``[w; b]``, computed here as a small QP). On inseparable data it never stops; the weights stay
bounded (the perceptron cycling theorem), and with a fixed visiting order they eventually repeat. The fit stops
at the first repeated state, or once the data are proven inseparable and ``n_iter_no_change`` epochs bring no
improvement, and warns with a :class:`CyclingWarning` that carries the Gordan certificate.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from chainrule.linear._estimator import ClassifierMixin
from chainrule.linear._params import BOOLEAN, NONE, Constraint, InstanceOf, Interval
from chainrule.linear.datasets import check_class_labels, check_X, check_Xy, plain
from chainrule.linear.exceptions import ConvergenceWarning
from chainrule.linear.hyperplane import binary_labels
from chainrule.linear.separate import GordanCertificate, _working_set, gordan_certificate

__all__ = ["CyclingWarning", "Perceptron"]


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
    """The classic perceptron, a binary classifier with the scikit-learn estimator API.

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
        warm_start: start :meth:`fit` from the previous weights.

    Attributes (after ``fit``):
        classes_: the two labels, ``classes_[1]`` the positive one.
        coef_: float64 ``(1, d)``; intercept_: float64 ``(1,)``.
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
    ) -> None:
        self.max_iter = max_iter
        self.eta0 = eta0
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.random_state = random_state
        self.compute_bound = compute_bound
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start

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
    }

    # -- helpers ----------------------------------------------------------------------------------------
    def _design(self, X: np.ndarray, s: np.ndarray) -> np.ndarray:
        Z = np.hstack([X, np.ones((X.shape[0], 1))]) if self.fit_intercept else X
        return s[:, None] * Z

    def _set_weights(self, v: np.ndarray, d: int) -> None:
        self.coef_ = v[:d].reshape(1, d).copy()
        self.intercept_ = np.array([v[d] if self.fit_intercept else 0.0])

    def _weights(self, d: int) -> np.ndarray:
        p = d + 1 if self.fit_intercept else d
        if not hasattr(self, "coef_"):
            return np.zeros(p)
        v = self.coef_.ravel().astype(np.float64)
        return np.concatenate([v, self.intercept_]) if self.fit_intercept else v.copy()

    # -- training ---------------------------------------------------------------------------------------
    def _analyse(self, X: np.ndarray, s: np.ndarray, A: np.ndarray) -> None:
        """Novikoff's bound, or the certificate of inseparability."""
        self.radius_ = float(np.sqrt(np.max(np.sum(A * A, axis=1))))
        self.certificate_ = None
        v, rows = _working_set(A, s, "max", penalize_last=True)
        if v is None:
            self.margin_ = 0.0
            self.mistake_bound_ = float("inf")
            try:
                self.certificate_ = gordan_certificate(X, s, rows, self.classes_pair_)
            except ValueError:
                # Inseparable through the origin (fit_intercept=False) but separable with an offset:
                # the certificate with an intercept row does not exist.
                self.certificate_ = None
            return
        self.margin_ = float(1.0 / np.linalg.norm(v))
        self.mistake_bound_ = float((self.radius_ / self.margin_) ** 2)

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Run the perceptron rule until an epoch makes no mistake, a cycle is detected, or ``max_iter``.

        Args:
            X: float array-like ``(n, d)``; y: two-class labels ``(n,)`` (the larger is positive).

        Returns:
            ``self``.

        Raises:
            ValueError: NaN/inf (names row and column), shapes that disagree, not exactly two classes.
            InvalidParameterError: a parameter of the wrong type or value (a ``ValueError`` and a
                ``TypeError``; names it).

        Warns:
            CyclingWarning: the data are not linearly separable (with the certificate), or the weights
                repeat (a cycle, proof enough).
            ConvergenceWarning: ``max_iter`` epochs ran out and nothing proves the data inseparable.
        """
        self._validate_params()
        X_arr, y_arr = check_Xy(X, y)
        check_class_labels(y_arr, "Perceptron")
        n_classes = np.unique(y_arr).size
        if n_classes > 2:
            raise ValueError(
                f"Only binary classification is supported. y holds {n_classes} classes; "
                "the perceptron separates two (train one per class for more)"
            )
        s, classes = binary_labels(y_arr)
        n, d = X_arr.shape
        self.classes_ = np.array(classes)
        self.classes_pair_ = classes
        self.n_features_in_ = d
        A = self._design(X_arr, s)
        self.margin_ = None
        self.radius_ = None
        self.mistake_bound_ = None
        self.certificate_ = None
        if self.compute_bound:
            self._analyse(X_arr, s, A)
        v = self._weights(d) if self.warm_start else np.zeros(A.shape[1])
        rng = np.random.default_rng(self.random_state)
        seen: dict[bytes, int] = {v.tobytes(): 0}
        self.n_mistakes_ = 0
        self.cycle_ = None
        self.converged_ = False
        best = np.inf
        since_best = 0
        epoch = 0
        for epoch in range(1, int(self.max_iter) + 1):
            A_ep = A[rng.permutation(n)] if self.shuffle else A
            mistakes = _epoch(A_ep, v, float(self.eta0))
            self.n_mistakes_ += mistakes
            if mistakes == 0:
                self.converged_ = True
                break
            key = v.tobytes()
            if not self.shuffle and key in seen:
                self.cycle_ = (seen[key], epoch)
                break
            seen[key] = epoch
            if mistakes < best:
                best, since_best = mistakes, 0
            else:
                since_best += 1
            if self.certificate_ is not None and since_best >= self.n_iter_no_change:
                break
        self.n_iter_ = epoch
        self._set_weights(v, d)
        if not self.converged_:
            self._warn_not_converged()
        return self

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
                when ``y`` has one class.
            InvalidParameterError: a parameter of the wrong type or value (names it).
        """
        self._validate_params()
        X_arr, y_arr = check_Xy(X, y)
        check_class_labels(y_arr, "Perceptron")
        if not hasattr(self, "classes_"):
            labels = np.unique(y_arr) if classes is None else np.unique(np.asarray(classes))
            if labels.size != 2:
                raise ValueError(
                    "classes must name both labels on the first call to partial_fit "
                    f"(got {labels.tolist()})"
                )
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
        s = np.where(y_arr == self.classes_[1], 1, -1)
        A = self._design(X_arr, s)
        v = self._weights(X_arr.shape[1])
        if self.shuffle:
            # One generator across calls, so that successive batches are not shuffled alike.
            if getattr(self, "_partial_rng", None) is None:
                self._partial_rng = np.random.default_rng(self.random_state)
            A = A[self._partial_rng.permutation(A.shape[0])]
        mistakes = _epoch(A, v, float(self.eta0))
        self.n_mistakes_ += mistakes
        self.n_iter_ += 1
        self.converged_ = mistakes == 0
        self._set_weights(v, X_arr.shape[1])
        return self

    # -- prediction ---------------------------------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """``w·x + b`` for each row, float64 ``(n,)``; positive means ``classes_[1]``.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        self._check_fitted()
        X_arr = check_X(X, n_features=self.n_features_in_, owner="Perceptron")
        return X_arr @ self.coef_[0] + self.intercept_[0]

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the decision function is positive, ``classes_[0]`` elsewhere.

        Raises:
            NotFittedError: before ``fit`` (a ``ValueError``). ValueError: ``X`` not 2-D, non-numeric,
                holding NaN/inf (names row and column), or with another number of features than in ``fit``.
        """
        positive = self.decision_function(X) > 0  # first: it raises NotFittedError before fit
        return self.classes_[positive.astype(np.int64)]

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
