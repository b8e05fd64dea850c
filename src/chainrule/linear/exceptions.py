"""Warnings of the linear models (errors are plain ``ValueError``s with messages that say where).

They subclass ``UserWarning`` so that they are shown by default, and they mirror the names scikit-learn
uses, so that code (and sklearn's estimator checks) that look for the name keep working without sklearn
being a dependency.
"""

from __future__ import annotations

import sys

__all__ = [
    "ConvergenceWarning",
    "DataConversionWarning",
    "InvalidParameterError",
    "NotFittedError",
    "SeparableDataWarning",
    "not_fitted_error",
]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before its tolerance was met; the message says what to try."""


class DataConversionWarning(UserWarning):
    """Input data was converted to the form the estimator needs (e.g. a column-vector ``y`` flattened)."""


class SeparableDataWarning(UserWarning):
    """An unpenalized logistic fit has no finite optimum because the classes are separable.

    Attributes:
        direction: the separating direction found, shape ``(d + 1,)``: weights then intercept
            (``None`` when the warning was built without one).
    """

    def __init__(self, message: str, direction: object = None) -> None:
        super().__init__(message)
        self.direction = direction


class InvalidParameterError(ValueError, TypeError):
    """A hyperparameter of the wrong type or value, found by ``fit`` (both a ``ValueError`` and a
    ``TypeError``, as scikit-learn's, so code that catches either keeps working). The message names the
    parameter, what it must be and what it got: ``max_iter must be a positive integer, got True (bool)``."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit`` (a ``ValueError`` and an
    ``AttributeError``, as scikit-learn's, so ``hasattr``-style checks keep working)."""


_COMBINED: dict[type, type] = {}


def _with_sklearn_base(sklearn_error: type) -> type:
    """Our NotFittedError subclassed with sklearn's too (one class per base, made once)."""
    if sklearn_error not in _COMBINED:
        _COMBINED[sklearn_error] = type(
            "NotFittedError", (NotFittedError, sklearn_error), {"__module__": __name__}
        )
    return _COMBINED[sklearn_error]


def not_fitted_error(message: str) -> NotFittedError:
    """A :class:`NotFittedError`; when scikit-learn is already imported, also an instance of sklearn's
    ``NotFittedError``, so sklearn's tools recognize it (sklearn is never imported here)."""
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    base = getattr(sklearn_exceptions, "NotFittedError", None)
    if isinstance(base, type) and issubclass(base, Exception):
        cls = _with_sklearn_base(base)
        error: NotFittedError = cls(message)
        return error
    return NotFittedError(message)
