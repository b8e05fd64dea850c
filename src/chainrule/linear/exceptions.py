"""Warnings of the linear models (errors are plain ``ValueError``s with messages that say where).

They subclass ``UserWarning`` so that they are shown by default, and they mirror the names scikit-learn
uses, so that code (and sklearn's estimator checks) that look for the name keep working without sklearn
being a dependency.
"""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "DataConversionWarning", "SeparableDataWarning"]


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
