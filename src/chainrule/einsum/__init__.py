"""The einsum engine: NumPy's notation (and more), optimal contraction paths, one BLAS call per step.

- :func:`einsum` evaluates, :func:`einsum_path` reports the plan, :func:`contract_expression` compiles one;
  :func:`contract` and :func:`contract_path` are opt_einsum's names and defaults for the first two.
- :func:`chainrule.einsum.notation.parse` turns either call form plus shapes into an
  :class:`~chainrule.einsum.notation.EinsumSpec` (labels per operand, output labels, sizes).
- :mod:`chainrule.einsum.paths` finds contraction orders; :mod:`chainrule.einsum.plan` compiles them.
"""

from chainrule.einsum.api import (
    PLAN_CACHE,
    ContractExpression,
    contract,
    contract_expression,
    contract_path,
    einsum,
    einsum_path,
)
from chainrule.einsum.notation import EinsumSpec, EllipsisLabel, parse
from chainrule.einsum.report import PathInfo

__all__ = [
    "PLAN_CACHE",
    "ContractExpression",
    "EinsumSpec",
    "EllipsisLabel",
    "PathInfo",
    "contract",
    "contract_expression",
    "contract_path",
    "einsum",
    "einsum_path",
    "parse",
]
