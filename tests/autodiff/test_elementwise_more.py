"""The further elementwise primitives (elementwise_more.py): values against NumPy, gradients against
finite differences to second order, symbolic rules against backward, dtypes and stability."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff import elementwise_more as E
from chainrule.autodiff.explain import explain

#: name -> (function, NumPy's, a sampler of points inside the domain, away from its edges)
UNARY = {
    "square": (cr.square, np.square, lambda r, n: r.normal(size=n)),
    "exp2": (cr.exp2, np.exp2, lambda r, n: r.normal(size=n)),
    "log2": (cr.log2, np.log2, lambda r, n: r.uniform(0.3, 3.0, n)),
    "log10": (cr.log10, np.log10, lambda r, n: r.uniform(0.3, 3.0, n)),
    "sinh": (cr.sinh, np.sinh, lambda r, n: r.normal(size=n)),
    "cosh": (cr.cosh, np.cosh, lambda r, n: r.normal(size=n)),
    "tan": (cr.tan, np.tan, lambda r, n: r.uniform(-1.2, 1.2, n)),
    "arcsin": (cr.arcsin, np.arcsin, lambda r, n: r.uniform(-0.8, 0.8, n)),
    "arccos": (cr.arccos, np.arccos, lambda r, n: r.uniform(-0.8, 0.8, n)),
    "arctan": (cr.arctan, np.arctan, lambda r, n: r.normal(size=n) * 2.0),
    "arcsinh": (cr.arcsinh, np.arcsinh, lambda r, n: r.normal(size=n) * 2.0),
    "arccosh": (cr.arccosh, np.arccosh, lambda r, n: r.uniform(1.3, 4.0, n)),
    "arctanh": (cr.arctanh, np.arctanh, lambda r, n: r.uniform(-0.8, 0.8, n)),
    "deg2rad": (cr.deg2rad, np.deg2rad, lambda r, n: r.normal(size=n) * 90.0),
    "rad2deg": (cr.rad2deg, np.rad2deg, lambda r, n: r.normal(size=n)),
}
BINARY = {
    "logaddexp": (cr.logaddexp, np.logaddexp),
    "logaddexp2": (cr.logaddexp2, np.logaddexp2),
}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_numpy_on_tensors_and_plain_arrays(name):
    fn, ref, sample = UNARY[name]
    x = sample(_rng(name), 5)
    np.testing.assert_allclose(fn(cr.tensor(x)).data, ref(x), rtol=1e-14)
    plain = fn(x)
    assert not isinstance(plain, cr.Tensor)
    np.testing.assert_allclose(plain, ref(x), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients_to_second_order(name):
    fn, _, sample = UNARY[name]
    rng = _rng(name)
    x = sample(rng, 4)
    w = rng.normal(size=4)
    report = cr.check_grad(lambda t: (fn(t) * w).sum(), x, order=2)
    assert report.ok


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_and_gradients_with_broadcasting(name):
    fn, ref = BINARY[name]
    rng = _rng(name)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=3)
    np.testing.assert_allclose(fn(cr.tensor(a), b).data, ref(a, b), rtol=1e-14)
    np.testing.assert_allclose(fn(a, b), ref(a, b), rtol=1e-14)
    w = rng.normal(size=(2, 3))
    assert cr.check_grad(lambda s, t: (fn(s, t) * w).sum(), a, b, order=2).ok
    ta, tb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    fn(ta, tb).sum().backward()
    assert ta.grad.shape == (2, 3) and tb.grad.shape == (3,)
    # Each weight is in [0, 1] and the two add up to 1 for every output entry.
    np.testing.assert_allclose(ta.grad.data.sum(axis=0) + tb.grad.data, 2.0)


@given(
    st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=4),
    st.sampled_from(sorted(set(UNARY) - {"deg2rad", "rad2deg"})),
)
@settings(max_examples=40, deadline=None)
def test_compositions_with_the_existing_primitives_match_finite_differences(values, name):
    # f(tanh(x)) keeps every input inside each domain: |tanh| < 1 < 1.3 + ...
    fn, _, _ = UNARY[name]
    shift = {"log2": 2.0, "log10": 2.0, "arccosh": 2.5}.get(name, 0.0)
    scale = 0.8 if name in ("arcsin", "arccos", "arctanh") else 1.0
    x = np.asarray(values)
    assert cr.check_grad(
        lambda t: (fn(cr.tanh(t) * scale + shift) * cr.sin(t)).sum(), x, order=2, full_max=0
    ).ok


def test_float32_stays_float32_through_value_and_gradient():
    for name, (fn, _, sample) in UNARY.items():
        x = cr.tensor(sample(_rng(name), 3).astype(np.float32), requires_grad=True)
        y = fn(x)
        assert y.dtype == np.float32, name
        y.sum().backward()
        assert x.grad.dtype == np.float32, name


def test_logaddexp_is_stable_at_800():
    a = cr.tensor([-800.0, 0.0, 800.0], requires_grad=True)
    y = cr.logaddexp(a, a)
    np.testing.assert_allclose(y.data, a.data + np.log(2.0))
    y.sum().backward()
    np.testing.assert_allclose(a.grad.data, [1.0, 1.0, 1.0])  # two halves
    b = cr.tensor([800.0], requires_grad=True)
    z = cr.logaddexp2(b, -800.0)
    assert z.item() == 800.0
    z.backward()
    assert b.grad.item() == 1.0


def test_outside_the_domain_is_numpy_nan():
    with np.errstate(invalid="ignore"):
        assert np.isnan(cr.arcsin(cr.tensor(2.0)).item())
        assert np.isnan(cr.arccosh(cr.tensor(0.5)).item())
        x = cr.tensor(-1.0, requires_grad=True)
        cr.log2(x).backward()
    assert x.grad.item() == pytest.approx(-1.0 / np.log(2.0))  # the rule is 1/(x ln 2) anyway


def test_every_elementwise_primitive_is_named_and_in_the_table():
    for name in (*(n for n in UNARY if n not in ("deg2rad", "rad2deg")), *BINARY):
        assert cr.PRIMITIVES[name].name == name
        x = cr.tensor([0.5], requires_grad=True)
        with np.errstate(invalid="ignore"):  # arccosh(0.5) is nan: only the node is looked at
            y = getattr(E, name)(x, 0.2) if name in BINARY else getattr(E, name)(x)
        assert y.op is cr.PRIMITIVES[name]
    assert cr.deg2rad(cr.tensor(1.0, requires_grad=True)).op.name == "mul"


EXPLAIN = {
    **{name: UNARY[name][0] for name in UNARY},
    "logaddexp": lambda t: cr.logaddexp(t, t * 0.5),
    "logaddexp2": lambda t: cr.logaddexp2(0.3, t),
}


@pytest.mark.parametrize("name", sorted(EXPLAIN))
def test_symbolic_rule_matches_backward(name):
    _, _, sample = UNARY.get(name, (None, None, lambda r, n: r.normal(size=n)))
    rng = _rng(name)
    x = cr.tensor(sample(rng, 6).reshape(2, 3), requires_grad=True, name="x")
    y = EXPLAIN[name](x)
    L = (y * rng.normal(size=y.shape)).sum()
    ex = explain(L, wrt=[x])
    assert ex.text and ex.latex.count("\\left(") == ex.latex.count("\\right)")
    value = ex.evaluate()["x"]
    L.backward()
    np.testing.assert_allclose(value, x.grad.data, rtol=1e-10, atol=1e-12)


# --- review fixes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("f", [cr.logaddexp, cr.logaddexp2])
def test_logaddexp_gradients_at_infinities_are_weights(f):
    # The bug: exp(a - out) was exp(inf - inf) = NaN at ±inf.
    inf = np.inf
    a = np.array([inf, -inf, inf, -inf, 0.0, 800.0, -800.0])
    b = np.array([inf, -inf, 0.0, 3.0, 0.0, -800.0, -800.0])
    ta, tb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    f(ta, tb).backward(np.ones(7))
    np.testing.assert_array_equal(ta.grad.data, [0.5, 0.5, 1.0, 0.0, 0.5, 1.0, 0.5])
    np.testing.assert_array_equal(ta.grad.data + tb.grad.data, np.ones(7))


@pytest.mark.parametrize(("f", "base"), [(cr.logaddexp, np.e), (cr.logaddexp2, 2.0)])
def test_logaddexp_finite_gradients_unchanged(f, base):
    a, b = np.array([1.0, -3.0, 40.0]), np.array([2.0, 5.0, -1.0])
    ga = cr.grad(lambda x: cr.sum(f(x, b)))(a)
    out = np.logaddexp(a, b) if base == np.e else np.logaddexp2(a, b)
    np.testing.assert_allclose(ga, base ** (a - out), rtol=1e-12)
    assert cr.check_grad(lambda x: f(x, b), a, order=2).ok
