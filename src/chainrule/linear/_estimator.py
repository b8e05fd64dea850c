"""The scikit-learn estimator protocol for the linear classifiers, without scikit-learn.

:class:`ClassifierMixin` gives :class:`~chainrule.linear.logistic.LogisticRegression` and
:class:`~chainrule.linear.perceptron.Perceptron` what ``sklearn.base.BaseEstimator`` and
``ClassifierMixin`` would: ``get_params``/``set_params`` over the keyword arguments of ``__init__``, a
``repr`` that lists the changed ones, ``score`` (weighted accuracy), the ``__sklearn_tags__`` and ``__sklearn_is_fitted__`` protocols,
and the not-fitted error. sklearn is imported only when its tools ask for the tags.

Hyperparameters are declared, not checked by hand: each subclass lists what every constructor argument may
be in ``_parameter_constraints`` (see :mod:`chainrule.linear._params`), and ``fit`` calls
:meth:`ClassifierMixin._validate_params`. An estimator that can be saved also gives its fitted state as a
plain mapping (``_fitted_state`` / ``_state_arrays`` / ``_from_state``, see :mod:`chainrule.linear._state`),
which :mod:`chainrule.linear.model_io` writes and reads without knowing the estimator.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from chainrule.linear._params import Constraint, validate_params
from chainrule.linear.datasets import check_sample_weight, check_Xy
from chainrule.linear.exceptions import not_fitted_error

__all__ = ["ClassifierMixin"]


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type (``C=1`` differs from the default ``C=1.0`` in a repr)."""
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


class ClassifierMixin:
    """Parameters, repr, tags and the fitted check of a chainrule classifier.

    A subclass takes its parameters as keyword arguments of ``__init__``, stores each under its own name,
    declares what each may be in ``_parameter_constraints`` (name → constraints, one of which must hold),
    sets ``coef_`` in ``fit``, and says whether it handles more than two classes in ``multi_class``.
    """

    multi_class: ClassVar[bool] = False
    #: Whether ``fit`` and the predictions take SciPy sparse ``X`` (the ``input_tags.sparse`` tag).
    accepts_sparse: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {}

    def _validate_params(self) -> None:
        """Check every parameter against ``_parameter_constraints``.

        Raises:
            InvalidParameterError: (a ``ValueError`` and a ``TypeError``) naming the first parameter of
                the wrong type or value, what it must be, and what it got.
        """
        validate_params(self)

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The names of the constructor parameters, in signature order."""
        sig = inspect.signature(cls.__init__)
        return tuple(name for name in sig.parameters if name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, by name (``deep`` is accepted for sklearn; nothing is nested)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set constructor parameters by name; returns ``self``.

        Raises:
            ValueError: an unknown name (the message lists the valid ones).
        """
        valid = self.param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}; "
                    f"valid parameters are: {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not _same(value, defaults[name])
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def predict(self, X: Any) -> np.ndarray:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y``, weighted by ``sample_weight`` when given.

        Args:
            X: shape ``(n, d)``; y: labels, shape ``(n,)``; sample_weight: ``None`` or shape ``(n,)``.

        Raises:
            ValueError: not fitted; bad ``X``, ``y`` or weights (see :func:`check_Xy`,
                :func:`check_sample_weight`), or shapes that disagree.
        """
        Xa, ya = check_Xy(X, y)
        correct = (self.predict(Xa) == ya).astype(np.float64)
        sw = check_sample_weight(sample_weight, Xa.shape[0])
        return float(correct.mean() if sw is None else sw @ correct / sw.sum())

    def __sklearn_tags__(self) -> Any:
        """Tags for scikit-learn's tools (imported lazily: sklearn is needed only by whoever asks)."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=self.multi_class, multi_label=False),
            input_tags=InputTags(two_d_array=True, allow_nan=False, sparse=self.accepts_sparse),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "coef_")

    def _check_fitted(self) -> None:
        """Raises the not-fitted error (a ``ValueError`` and ``AttributeError``) before ``fit``."""
        if not hasattr(self, "coef_"):
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this estimator."
            )
