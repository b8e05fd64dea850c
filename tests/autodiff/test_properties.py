"""Hypothesis: random compositions of primitives against finite differences."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr

UNARY = [
    ("tanh", cr.tanh),
    ("sigmoid", cr.sigmoid),
    ("sin", cr.sin),
    ("softplus", cr.softplus),
    ("log_sigmoid", cr.log_sigmoid),
    ("exp_small", lambda t: cr.exp(t * 0.3)),
    ("square", lambda t: t * t),
    ("logsumexp_row", lambda t: t - cr.logsumexp(t, axis=-1, keepdims=True)),
    ("softmax", lambda t: cr.softmax(t, axis=-1)),
    ("cube", lambda t: t**3 * 0.1),
    ("sqrt_soft", lambda t: cr.sqrt(t * t + 1.0)),
    ("transpose_back", lambda t: t.T.T),
    ("row_max", lambda t: t * cr.max(t, axis=-1, keepdims=True)),
    ("mean_centre", lambda t: t - t.mean(axis=0, keepdims=True)),
    ("flip", lambda t: t[..., ::-1]),
    ("fancy", lambda t: t[..., [2, 0, 1]] * 1.5),
    ("stack_sum", lambda t: cr.stack([t, t * t], axis=0).sum(axis=0)),
    ("einsum_scale", lambda t: cr.einsum("...i,...i->...i", t, t) * 0.5),
]
BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 1.0)),
    ("matmul_T", lambda a, b: (a @ b.T).sum() * b * 0.1),
    ("maximum", lambda a, b: cr.maximum(a, b * 0.5 + 0.01)),
    ("where", lambda a, b: cr.where(a.data > b.data, a * b, a - b)),
    ("concat_split", lambda a, b: cr.concatenate([a, b], axis=-1)[..., 1:4] * 2.0),
]


@st.composite
def programs(draw):
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, 100), st.integers(0, 100), st.booleans()),
            min_size=1,
            max_size=6,
        )
    )
    shape = draw(st.sampled_from([(3,), (2, 3), (1, 3)]))
    seed = draw(st.integers(0, 2**16))
    return steps, shape, seed


@given(programs())
def test_random_compositions_match_finite_differences(program):
    steps, shape, seed = program
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape)
    c = rng.standard_normal(shape)

    def f(x, y):
        vals = [x, y]
        for i, j, binary in steps:
            if binary:
                _, fn = BINARY[i % len(BINARY)]
                vals.append(fn(vals[j % len(vals)], vals[-1]))
            else:
                _, fn = UNARY[i % len(UNARY)]
                vals.append(fn(vals[j % len(vals)]))
        out = vals[-1]
        return (out * c).sum() if out.shape == c.shape else out.sum()

    cr.check_grad(f, x0, rng.standard_normal(shape), directions=1, full_max=0)
