"""Property test: on random compositions with random names, every derived equation evaluates to the
gradient that backward() computes for that tensor (intermediates through ``retain_grad``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff.explain import explain

UNARY = [
    lambda a: cr.tanh(a),
    lambda a: cr.sigmoid(a),
    lambda a: cr.sin(a),
    lambda a: cr.softplus(a),
    lambda a: cr.exp(cr.tanh(a)),
    lambda a: cr.log(a * a + 1.0),
    lambda a: a**2,
    lambda a: -a,
    lambda a: a * 0.5 - 1.0,
]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
    lambda a, b: cr.maximum(a, b),
]


@st.composite
def programs(draw):
    n_ops = draw(st.integers(2, 9))
    steps = []
    for _ in range(n_ops):
        if draw(st.booleans()):
            steps.append(("u", draw(st.integers(0, len(UNARY) - 1)), draw(st.integers(0, 10**6))))
        else:
            steps.append(
                (
                    "b",
                    draw(st.integers(0, len(BINARY) - 1)),
                    draw(st.integers(0, 10**6)),
                    draw(st.integers(0, 10**6)),
                )
            )
    names = draw(st.lists(st.booleans(), min_size=n_ops, max_size=n_ops))
    batch = draw(st.sampled_from([(), (3,)]))
    seed = draw(st.integers(0, 2**16))
    return steps, names, batch, seed


@given(programs())
def test_every_equation_matches_backward(program):
    steps, names, batch, seed = program
    rng = np.random.default_rng(seed)
    leaves = [
        cr.tensor(rng.normal(size=batch), requires_grad=True, name="a"),
        cr.tensor(rng.normal(), requires_grad=True, name="b"),
        cr.tensor(rng.normal(size=batch), requires_grad=True, name="c"),
    ]
    pool = list(leaves)
    named = []
    for i, step in enumerate(steps):
        if step[0] == "u":
            out = UNARY[step[1]](pool[step[2] % len(pool)])
        else:
            out = BINARY[step[1]](pool[step[2] % len(pool)], pool[step[3] % len(pool)])
        if names[i]:
            out.name = f"v_{i}"
            out.retain_grad()
            named.append(out)
        pool.append(out)
    L = sum((t * float(k + 1)).sum() for k, t in enumerate(pool[3:]))
    ex = explain(L)
    values = ex.evaluate()
    L.backward()
    for t in leaves + named:
        if t.grad is None:
            assert t.name not in values or np.allclose(values[t.name], 0.0)
            continue
        np.testing.assert_allclose(values[t.name], t.grad.data, rtol=1e-9, atol=1e-12)
