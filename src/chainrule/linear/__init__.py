"""Linear models: hyperplanes with certificates, threshold units, the perceptron, logistic regression.

- :class:`Hyperplane`, :func:`bisector_hyperplane`: the value type ``f(x) = n·x + b`` and the seed's bisector.
- :func:`separating_hyperplane`: any or the maximum-margin separating hyperplane, verified exactly, or
  :class:`NotSeparable` with a :class:`GordanCertificate`.
"""

from chainrule.linear.hyperplane import Hyperplane, binary_labels, bisector_hyperplane
from chainrule.linear.separate import (
    EXACT_LIMIT,
    GordanCertificate,
    NotSeparable,
    SeparatingHyperplane,
    separating_hyperplane,
)

__all__ = [
    "EXACT_LIMIT",
    "GordanCertificate",
    "Hyperplane",
    "NotSeparable",
    "SeparatingHyperplane",
    "binary_labels",
    "bisector_hyperplane",
    "separating_hyperplane",
]
