"""Every built-in primitive's symbolic rule, checked numerically against backward (a test generator).

For each case, ``L = Σ W ⊙ f(x)`` is explained; the derivation of ``∂L/∂x`` is evaluated with the
recorded values and compared with ``x.grad``. A wrong symbolic rule fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.explain import explain
from chainrule.autodiff.symbolic_rules import BUILTIN_RULES

RNG = np.random.default_rng(0)
B = RNG.normal(size=(4, 2))
V = RNG.normal(size=4)
P = RNG.uniform(0.5, 2.0, size=(3, 4))

CASES = {
    "exp": lambda x: cr.exp(x),
    "log": lambda x: cr.log(x * x + 1.0),
    "log1p": lambda x: cr.log1p(x * x),
    "expm1": lambda x: cr.expm1(x),
    "sqrt": lambda x: cr.sqrt(x * x + 1.0),
    "abs": lambda x: cr.abs(x),
    "sin": lambda x: cr.sin(x),
    "cos": lambda x: cr.cos(x),
    "tanh": lambda x: cr.tanh(x),
    "sigmoid": lambda x: cr.sigmoid(x),
    "log_sigmoid": lambda x: cr.log_sigmoid(x),
    "softplus": lambda x: cr.softplus(x),
    "relu": lambda x: cr.relu(x),
    "leaky_relu": lambda x: cr.leaky_relu(x, 0.1),
    "maximum": lambda x: cr.maximum(x, 0.2),
    "minimum": lambda x: cr.minimum(x, x * 0.5),
    "where": lambda x: cr.where(x.data > 0, x, x * x),
    "clip": lambda x: cr.clip(x, -0.5, 0.5),
    "div": lambda x: 1.0 / (x * x + 1.0) + x / 2.0,
    "pow": lambda x: x**3 + 2.0**x,
    "pow_tensor": lambda x: (x * x + 1.0) ** x,
    "neg": lambda x: -x - x,
    "matmul": lambda x: x @ B,
    "matmul_left": lambda x: cr.tensor(P.T) @ x,
    "matvec": lambda x: x @ V,
    "vecmat": lambda x: V @ x.T,
    "sum": lambda x: x.sum(axis=0),
    "sum_keepdims": lambda x: x.sum(axis=1, keepdims=True) * x,
    "mean": lambda x: x.mean(axis=1),
    "max": lambda x: x.max(axis=0),
    "min": lambda x: x.min(),
    "prod": lambda x: (x + 3.0).prod(axis=1),
    "logsumexp": lambda x: cr.logsumexp(x, axis=1),
    "softmax": lambda x: cr.softmax(x, axis=1) * P,
    "log_softmax": lambda x: cr.log_softmax(x, axis=0) * P,
    "reshape": lambda x: x.reshape(2, 6) * P.reshape(2, 6),
    "transpose": lambda x: x.T * P.T,
    "permute": lambda x: cr.permute(x.reshape(3, 2, 2), (2, 0, 1)),
    "broadcast": lambda x: x + V,
    "broadcast_to": lambda x: x.sum(axis=0, keepdims=True).expand(3, 4) * P,
    "getitem": lambda x: x[1:, ::2],
    "getitem_int_array": lambda x: x[np.array([0, 0, 2])],
    "getitem_mask": lambda x: x[x.data > 0],
    "concatenate": lambda x: cr.concatenate([x, x * 2.0], axis=1),
    "stack": lambda x: cr.stack([x, x * x], axis=0),
    "composite": lambda x: cr.softplus(cr.tanh(x @ B) @ B.T * x).mean(axis=0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_symbolic_rule_matches_backward(name):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True, name="x")
    y = CASES[name](x)
    W = rng.normal(size=y.shape)
    L = (y * W).sum()
    ex = explain(L, wrt=[x])
    value = ex.evaluate()["x"]
    assert ex.text  # prints
    assert ex.latex.count("\\left(") == ex.latex.count("\\right)")
    L.backward()
    np.testing.assert_allclose(value, x.grad.data, rtol=1e-9, atol=1e-12)


def test_every_builtin_primitive_has_a_symbolic_rule():
    missing = sorted(
        n for n in cr.PRIMITIVES if n not in BUILTIN_RULES and not n.startswith("test_")
    )
    assert missing == []


def test_ties_and_kinks_follow_the_numeric_conventions():
    x = cr.tensor(np.array([[1.0, 3.0, 3.0], [0.0, -2.0, 0.0]]), requires_grad=True, name="x")
    L = (x.max(axis=1) + cr.relu(x).sum() + cr.abs(x).sum() + cr.maximum(x, 0.0).sum()).sum()
    value = explain(L).evaluate()["x"]
    L.backward()
    np.testing.assert_allclose(value, x.grad.data)
