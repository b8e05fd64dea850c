"""Every built-in primitive's symbolic rule, checked numerically against backward (a test generator).

For each case, ``L = Σ W ⊙ f(x)`` is explained; the derivation of ``∂L/∂x`` is evaluated with the
recorded values and compared with ``x.grad``. A wrong symbolic rule fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.explain import explain
from chainrule.autodiff.symbolic_rules import BUILTIN_RULES, SymbolicRule, rule_for

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
    # crc32, not hash(): str hashes change from one process to the next (PYTHONHASHSEED).
    rng = np.random.default_rng(zlib.crc32(name.encode()))
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


# Run in a fresh interpreter: every module of chainrule is imported (so a primitive registered in any
# of them counts, whoever adds it), and no primitive a test registered is in the table.
_COVERAGE = """
import importlib, json, pkgutil
import chainrule
for m in pkgutil.walk_packages(chainrule.__path__, "chainrule."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from chainrule.autodiff.graph import PRIMITIVES
from chainrule.autodiff.symbolic_rules import BUILTIN_RULES, SymbolicRule
print("COVERAGE", json.dumps({
    "primitives": sorted(PRIMITIVES),
    "without_rule": sorted(n for n, p in PRIMITIVES.items() if not isinstance(p.symbolic, SymbolicRule)),
    "rule_without_primitive": sorted(set(BUILTIN_RULES) - set(PRIMITIVES)),
    "not_attached": sorted(n for n, r in BUILTIN_RULES.items() if n in PRIMITIVES and PRIMITIVES[n].symbolic is not r),
}))
"""


def test_every_primitive_has_a_symbolic_rule_and_every_rule_a_primitive():
    run = subprocess.run(
        [sys.executable, "-c", _COVERAGE], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith("COVERAGE "))
    found = json.loads(line.removeprefix("COVERAGE "))
    assert {"add", "tanh", "einsum", "identity", "cast"} <= set(found["primitives"])
    assert found["without_rule"] == []  # every primitive explains with a rule of its own
    assert found["rule_without_primitive"] == []  # no rule that no primitive can reach
    assert found["not_attached"] == []  # the built-ins' rules live in Primitive.symbolic


def test_builtin_rules_live_in_the_primitive_and_a_replacement_keeps_its_own():
    for name, rule in BUILTIN_RULES.items():
        assert cr.PRIMITIVES[name].symbolic is rule
        assert rule_for(cr.PRIMITIVES[name]) is rule
    # A primitive that takes a built-in's name is not explained by the built-in's rule.
    stranger = cr.Primitive("tanh", np.sin, (lambda g, ans, x: g * np.cos(x),))
    fallback = rule_for(stranger)
    assert isinstance(fallback, SymbolicRule) and fallback is not BUILTIN_RULES["tanh"]
    x = cr.tensor(0.5, requires_grad=True, name="x")
    text = explain(stranger(x) * 2.0).text
    assert "vjp_tanh[0]" in text and "tanh'" not in text


def test_ties_and_kinks_follow_the_numeric_conventions():
    x = cr.tensor(np.array([[1.0, 3.0, 3.0], [0.0, -2.0, 0.0]]), requires_grad=True, name="x")
    L = (x.max(axis=1) + cr.relu(x).sum() + cr.abs(x).sum() + cr.maximum(x, 0.0).sum()).sum()
    value = explain(L).evaluate()["x"]
    L.backward()
    np.testing.assert_allclose(value, x.grad.data)
