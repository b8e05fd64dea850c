"""The problem kinds, one module each; ``KINDS`` maps a ``kind`` value to its :class:`Kind` instance.

- ``bisector`` the hyperplane between two points;
- ``separate`` labelled points: a (maximum-margin) separating hyperplane, or a certificate that none exists;
- ``threshold_unit`` a threshold unit's convention and points: solve for weights, or check claimed ones;
- ``derivation`` prove an identity, or find a gradient of a stated loss, in the expression language;
- ``backprop`` a DAG of neurons: ∂L/∂n_k and ∂L/∂w_{k,j} as chain-rule expressions;
- ``einsum`` an index-notation statement or a matrix expression with shapes, answered by einsum subscripts.
"""

from __future__ import annotations

from chainrule.problems.kinds.backprop import BackpropKind
from chainrule.problems.kinds.base import Kind
from chainrule.problems.kinds.bisector import BisectorKind
from chainrule.problems.kinds.derivation import DerivationKind
from chainrule.problems.kinds.einsum import EinsumKind
from chainrule.problems.kinds.separate import SeparateKind
from chainrule.problems.kinds.threshold_unit import ThresholdUnitKind

__all__ = ["KINDS", "Kind"]

#: Every kind by its name in the file.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        BisectorKind(),
        SeparateKind(),
        ThresholdUnitKind(),
        DerivationKind(),
        BackpropKind(),
        EinsumKind(),
    )
}
