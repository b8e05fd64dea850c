"""Linear models: hyperplanes with certificates, threshold units, the perceptron, logistic regression.

- :class:`Hyperplane`, :func:`bisector_hyperplane`: the value type ``f(x) = n·x + b`` and the seed's bisector.
- :func:`separating_hyperplane`: any or the maximum-margin separating hyperplane, verified exactly, or
  :class:`NotSeparable` with a :class:`GordanCertificate`.
- :class:`ThresholdUnit`: the seed's ``z = w·x − w0`` unit: constraint tables, and weights that satisfy them.
- :class:`Perceptron`: the classic rule, with Novikoff's bound and a :class:`CyclingWarning` on
  inseparable data.
"""

from chainrule.linear.datasets import check_X, check_Xy, load_breast_cancer, load_csv
from chainrule.linear.exceptions import (
    ConvergenceWarning,
    InvalidParameterError,
    SeparableDataWarning,
)
from chainrule.linear.hyperplane import Hyperplane, binary_labels, bisector_hyperplane
from chainrule.linear.logistic import LogisticRegression
from chainrule.linear.perceptron import CyclingWarning, Perceptron
from chainrule.linear.separate import (
    EXACT_LIMIT,
    GordanCertificate,
    NotSeparable,
    SeparatingHyperplane,
    separating_hyperplane,
)
from chainrule.linear.unit import Constraint, ConstraintTable, ThresholdUnit

__all__ = [
    "EXACT_LIMIT",
    "Constraint",
    "ConstraintTable",
    "CyclingWarning",
    "GordanCertificate",
    "Hyperplane",
    "NotSeparable",
    "Perceptron",
    "SeparatingHyperplane",
    "ThresholdUnit",
    "binary_labels",
    "bisector_hyperplane",
    "separating_hyperplane",
]
__all__ += [
    "ConvergenceWarning",
    "InvalidParameterError",
    "LogisticRegression",
    "SeparableDataWarning",
    "check_X",
    "check_Xy",
    "load_breast_cancer",
    "load_csv",
]
