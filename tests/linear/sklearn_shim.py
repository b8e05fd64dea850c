"""A pytest plugin that runs scikit-learn's own tests against chainrule's linear classifiers.

Loaded with ``-p sklearn_shim`` (this folder on ``PYTHONPATH``) in a separate pytest run of the test
modules shipped in the installed sklearn wheel (see ``test_sklearn_suite.py``). When the plugin is
imported, before any test module is collected, it replaces ``sklearn.linear_model.LogisticRegression``
and ``sklearn.linear_model.Perceptron`` by thin adapters around chainrule's estimators, so that a test
module's ``from sklearn.linear_model import LogisticRegression`` gets ours. sklearn's own internals
(``LogisticRegressionCV``, ``_logistic_regression_path``, ``SGDClassifier``) keep sklearn's code.

An adapter only translates: sklearn's constructor signature and parameter checks (its own constraint
table and solver/penalty rules, so that sklearn's error-message tests see sklearn's wording), sklearn's
solver names to chainrule's, and chainrule's ``ConvergenceWarning`` to sklearn's class of that name.
Every number comes from chainrule's fit.

The adapters count the fits that reach chainrule's estimators; with the environment variable
``CHAINRULE_SHIM_COUNTS`` set to a path, the counts are written there as JSON when pytest finishes
(``{"LogisticRegression": fits, "Perceptron": fits}``), so that the caller can tell that the run
exercised chainrule and not sklearn's own classes.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from typing import Any, ClassVar

import numpy as np
import sklearn.exceptions
import sklearn.linear_model
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression as _SkLogisticRegression
from sklearn.linear_model import Perceptron as _SkPerceptron
from sklearn.linear_model._logistic import _check_solver
from sklearn.utils.validation import check_is_fitted

from chainrule.linear import exceptions as chainrule_exceptions
from chainrule.linear.logistic import LogisticRegression as _OurLogisticRegression
from chainrule.linear.perceptron import Perceptron as _OurPerceptron

#: sklearn's solver names → chainrule's (an L1 part always runs chainrule's prox-newton).
SOLVERS = {
    "lbfgs": "lbfgs",
    "newton-cholesky": "newton",
    "newton-cg": "newton",
    "liblinear": "auto",
    "sag": "auto",
    "saga": "auto",
}

#: Fits (``fit`` and ``partial_fit``) that reached chainrule's estimators, by estimator name.
FITS: Counter[str] = Counter()

_FITTED = ("classes_", "coef_", "intercept_", "n_iter_", "n_features_in_", "feature_names_in_")


def _replay(caught: list[warnings.WarningMessage]) -> None:
    """Warn again what chainrule warned, with sklearn's ConvergenceWarning for chainrule's."""
    for w in caught:
        category: type[Warning] = w.category
        if issubclass(category, chainrule_exceptions.ConvergenceWarning):
            category = sklearn.exceptions.ConvergenceWarning
        warnings.warn(str(w.message), category, stacklevel=3)


def _sync(adapter: Any) -> Any:
    """The adapted estimator, with the adapter's fitted arrays (a test may assign ``coef_``)."""
    check_is_fitted(adapter)
    inner = adapter._inner
    for name in ("coef_", "intercept_"):
        setattr(inner, name, np.asarray(getattr(adapter, name)))
    return inner


def _copy_fitted(adapter: Any, inner: Any) -> None:
    for name in _FITTED:
        if hasattr(inner, name):
            setattr(adapter, name, getattr(inner, name))
        elif hasattr(adapter, name):
            delattr(adapter, name)


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """sklearn's ``LogisticRegression`` signature around chainrule's."""

    _parameter_constraints: ClassVar[dict[str, Any]] = dict(
        _SkLogisticRegression._parameter_constraints
    )

    def __init__(
        self,
        penalty: Any = "deprecated",
        *,
        C: float = 1.0,
        l1_ratio: Any = 0.0,
        dual: bool = False,
        tol: float = 1e-4,
        fit_intercept: bool = True,
        intercept_scaling: float = 1,
        class_weight: Any = None,
        random_state: Any = None,
        solver: str = "lbfgs",
        max_iter: int = 100,
        verbose: int = 0,
        warm_start: bool = False,
        n_jobs: Any = None,
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _our_params(self) -> dict[str, Any]:
        """chainrule's parameters for this sklearn configuration (sklearn's rules and warnings)."""
        if self.n_jobs is not None:
            warnings.warn("'n_jobs' has no effect since 1.8", FutureWarning, stacklevel=3)
        if self.penalty == "deprecated":
            ratio = self.l1_ratio
            if ratio is None:
                warnings.warn(
                    "'l1_ratio=None' was deprecated in version 1.8", FutureWarning, stacklevel=3
                )
            penalty = "l2" if not ratio else ("l1" if ratio == 1 else "elasticnet")
            if np.inf == self.C:
                penalty = None
        else:
            penalty = self.penalty
            warnings.warn("'penalty' was deprecated in version 1.8", FutureWarning, stacklevel=3)
        _check_solver(self.solver, penalty, self.dual)
        ratio = self.l1_ratio
        if penalty != "elasticnet" and ratio is not None and 0 < ratio < 1:
            warnings.warn(
                f"l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                f"(penalty={penalty})",
                stacklevel=3,
            )
        if (self.penalty == "l2" and ratio != 0) or (self.penalty == "l1" and ratio != 1):
            warnings.warn(
                f"Inconsistent values: penalty={self.penalty} with l1_ratio={ratio}.",
                stacklevel=3,
            )
        if penalty is None or np.inf == self.C:
            if self.penalty is None and self.C != 1.0:
                warnings.warn(
                    "Setting penalty=None will ignore the C and l1_ratio parameters", stacklevel=3
                )
            ours_penalty, C = None, 1.0
        else:
            ours_penalty, C = penalty, self.C
        return {
            "penalty": ours_penalty,
            "C": C,
            "l1_ratio": self.l1_ratio if ours_penalty == "elasticnet" else None,
            "fit_intercept": self.fit_intercept,
            "class_weight": self.class_weight,
            "solver": SOLVERS[self.solver],
            "tol": self.tol,
            "max_iter": self.max_iter,
            "verbose": self.verbose,
            "warm_start": self.warm_start,
        }

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        self._validate_params()
        params = self._our_params()
        inner = getattr(self, "_inner", None)
        if inner is None or not self.warm_start:
            inner = _OurLogisticRegression()
        inner.set_params(**params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            FITS["LogisticRegression"] += 1
            inner.fit(X, y, sample_weight=sample_weight)
        _replay(caught)
        self._inner = inner
        _copy_fitted(self, inner)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return _sync(self).decision_function(X)

    def predict(self, X: Any) -> np.ndarray:
        return _sync(self).predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return _sync(self).predict_proba(X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return _sync(self).predict_log_proba(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class Perceptron(ClassifierMixin, BaseEstimator):
    """sklearn's ``Perceptron`` signature around chainrule's (no penalty, no early stopping)."""

    _parameter_constraints: ClassVar[dict[str, Any]] = dict(_SkPerceptron._parameter_constraints)

    def __init__(
        self,
        *,
        penalty: Any = None,
        alpha: float = 0.0001,
        l1_ratio: float = 0.15,
        fit_intercept: bool = True,
        max_iter: int = 1000,
        tol: Any = 1e-3,
        shuffle: bool = True,
        verbose: int = 0,
        eta0: float = 1.0,
        n_jobs: Any = None,
        random_state: Any = 0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        class_weight: Any = None,
        warm_start: bool = False,
    ) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.eta0 = eta0
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start

    def _inner_for(self) -> _OurPerceptron:
        self._validate_params()
        if self.penalty is not None or self.early_stopping:
            raise NotImplementedError(
                "chainrule's Perceptron is the classic rule: no penalty, no early stopping"
            )
        inner = getattr(self, "_inner", None)
        if inner is None or not self.warm_start:
            inner = _OurPerceptron()
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else None
        # tol=None: sklearn's "no stopping criterion" (every one of max_iter epochs runs).
        patience = self.max_iter if self.tol is None else self.n_iter_no_change
        return inner.set_params(
            max_iter=self.max_iter,
            eta0=self.eta0,
            fit_intercept=self.fit_intercept,
            shuffle=self.shuffle,
            random_state=seed,
            n_iter_no_change=patience,
            class_weight=self.class_weight,
            warm_start=self.warm_start,
        )

    def fit(self, X: Any, y: Any) -> Perceptron:
        inner = self._inner_for()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            FITS["Perceptron"] += 1
            inner.fit(X, y)
        _replay(caught)
        self._inner = inner
        _copy_fitted(self, inner)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> Perceptron:
        inner = self._inner_for() if not hasattr(self, "_inner") else self._inner
        FITS["Perceptron"] += 1
        inner.partial_fit(X, y, classes=classes)
        self._inner = inner
        _copy_fitted(self, inner)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return _sync(self).decision_function(X)

    def predict(self, X: Any) -> np.ndarray:
        return _sync(self).predict(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def pytest_unconfigure(config: Any) -> None:
    """Write :data:`FITS` to the file named by ``CHAINRULE_SHIM_COUNTS`` (when set)."""
    path = os.environ.get("CHAINRULE_SHIM_COUNTS")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(FITS), out)


def _install() -> None:
    sklearn.linear_model.LogisticRegression = LogisticRegression  # type: ignore[misc]
    sklearn.linear_model.Perceptron = Perceptron  # type: ignore[misc]


_install()
