"""The per-op fast paths give the same results as the general ones: scalar math on 0-d float64
arrays, the rule lookup of the backward walk (constants, variadic primitives, missing rules) and the
release of saved constants."""

import operator
import warnings

import numpy as np
import pytest

import chainrule as cr

OPS = [operator.add, operator.sub, operator.mul, operator.truediv]
VALUES = [0.3, -1.7, 0.0, -0.0, 1e300, -2.5e-310, np.inf, np.nan]


def _same(a, b):
    """Same type, dtype and bits."""
    return (
        type(a) is type(b)
        and np.asarray(a).dtype == np.asarray(b).dtype
        and (np.asarray(a).tobytes() == np.asarray(b).tobytes())
    )


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_scalar_math_matches_numpy_bit_for_bit(op):
    # A 0-d float64 leaf meets a np.float64 (the result of 0-d arithmetic), in both orders, and
    # another 0-d float64 leaf.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for u in VALUES:
            for v in VALUES:
                a, b = np.asarray(u), np.float64(v)
                ta = cr.tensor(a, requires_grad=True)
                tb = cr.tensor(np.asarray(v), requires_grad=True) * 1.0  # data: np.float64
                assert type(tb.data) is np.float64
                assert _same(op(ta, tb).data, op(a, b))
                assert _same(op(tb, ta).data, op(b, a))
                # Two 0-d leaves (w * x) meet as NumPy scalars: same bits as the 0-d array op.
                tc = cr.tensor(np.asarray(v), requires_grad=True)
                assert _same(op(ta, tc).data, op(a, np.asarray(v)))


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__)
def test_scalar_math_keeps_numpy_promotion(op):
    # Only float64 with float64 takes the scalar path; other dtypes promote as NumPy does.
    cases = [
        (np.asarray(0.5, np.float32), np.float64(1.25)),
        (np.asarray(0.5), np.float32(1.25)),
        (np.asarray(0.5, np.float32), np.float32(1.25)),
        (np.asarray(0.5), np.asarray(1.25)),
        (np.asarray([0.5, 2.0]), np.float64(1.25)),
    ]
    for a, b in cases:
        ta, tb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
        if isinstance(b, np.generic):
            tb = cr.tensor(np.asarray(b), requires_grad=True).sum()  # data: the NumPy scalar
            assert type(tb.data) is type(b)
        assert _same(op(ta, tb).data, op(a, tb.data))
        assert _same(op(tb, ta).data, op(tb.data, a))


def test_scalar_network_gradients_match_numpy_by_hand():
    w0, w1, x0 = 0.7, -1.3, 0.4
    w = cr.tensor(w0, requires_grad=True)
    v = cr.tensor(w1, requires_grad=True)
    x = cr.tensor(x0, requires_grad=True)
    h = cr.tanh(w * x)
    y = v * h * h
    y.backward()
    hn = np.tanh(np.float64(w0) * x0)
    dh = 2.0 * w1 * hn
    dz = dh * (1.0 - hn * hn)
    assert _same(v.grad.data, np.float64(hn * hn))
    np.testing.assert_allclose(w.grad.data, dz * x0, rtol=1e-15)
    np.testing.assert_allclose(x.grad.data, dz * w0, rtol=1e-15)
    for t in (w, v, x):
        assert t.grad.dtype == np.float64 and t.grad.shape == ()


def _seed_network(x, w, tanh):
    """The seed's seven-node tanh network (the A3 benchmark's), with subtraction and division too."""
    n7 = tanh(w[0] * x)
    n5 = tanh(w[1] * n7 * 0.75)
    n6 = tanh(w[2] * n7 - 0.25)
    n4 = tanh(w[3] * n5 + w[4] * n6)
    n3 = tanh(w[5] * n4 + w[6] * n6 / 1.5)
    n2 = tanh(w[7] * n4)
    return 0.5 * n2 + n3 - n6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scalar_network_is_bit_identical_to_the_array_path(dtype):
    # The scalar fast paths (0-d float64 leaves, np.float64 intermediates, pass-through add/sub
    # rules, scalar leaf gradients) against the same network on shape-(1,) arrays, which takes
    # NumPy's array code throughout: same values, same gradients, bit for bit; scalar results stay
    # NumPy scalars of the dtype and scalar gradients 0-d. (float32 takes no scalar fast path.)
    rng = np.random.default_rng(4)
    for _ in range(200):
        values = (rng.standard_normal(9) * rng.choice([0.1, 1.0, 3.0])).astype(dtype)
        scalars = [cr.tensor(np.asarray(v), requires_grad=True) for v in values]
        arrays = [cr.tensor(np.array([v]), requires_grad=True) for v in values]
        out_s = _seed_network(scalars[0], scalars[1:], cr.tanh)
        out_a = _seed_network(arrays[0], arrays[1:], cr.tanh)
        out_s.backward()
        out_a.backward(np.ones(1, dtype))
        assert type(out_s.data) is dtype
        assert out_s.data.tobytes() == out_a.data.tobytes()
        for ts, ta in zip(scalars, arrays, strict=True):
            assert ts.grad.shape == () and ts.grad.dtype == dtype
            assert ts.grad.is_leaf and not ts.grad.requires_grad
            assert np.asarray(ts.grad.data).tobytes() == ta.grad.data.tobytes()


def _mixed(a, b, c):
    # A float32 operand in float64 nodes, int and float constants on either side, sub's second
    # operand: where the inline rules of the fast walk must hand over to the real ones.
    h = cr.tanh(a * c) * 2 + 3 * b
    return (h - b * a) * cr.tanh(h / 1.5) - 0.5 * h


def test_scalar_fast_walk_hands_over_to_the_rules_and_matches_gradients():
    from chainrule.autodiff.backward import gradients

    rng = np.random.default_rng(7)
    for _ in range(100):
        u, v, w = rng.standard_normal(3)
        dts = (np.float64, np.float64, np.float32)
        scalars = [
            cr.tensor(np.asarray(q, dt), requires_grad=True)
            for q, dt in zip((u, v, w), dts, strict=True)
        ]
        arrays = [
            cr.tensor(np.array([q], dt), requires_grad=True)
            for q, dt in zip((u, v, w), dts, strict=True)
        ]
        out_s, out_a = _mixed(*scalars), _mixed(*arrays)
        assert type(out_s.data) is np.float64
        by_gradients = gradients(out_s, scalars, retain_graph=True)
        out_s.backward()
        out_a.backward(np.ones(1))
        assert out_s.data.tobytes() == out_a.data.tobytes()
        for ts, ta, gs, dt in zip(scalars, arrays, by_gradients, dts, strict=True):
            assert ts.grad.dtype == dt and ts.grad.shape == ()
            assert np.asarray(ts.grad.data).tobytes() == ta.grad.data.tobytes()
            assert np.asarray(gs).tobytes() == ta.grad.data.tobytes()


def test_scalar_leaf_copies_its_data_and_keeps_its_flags():
    src = np.asarray(0.5)
    t = cr.tensor(src, requires_grad=1, name="w")
    src[()] = 2.0
    assert t.item() == 0.5 and t.requires_grad is True and t.name == "w" and t.is_leaf
    t.data[()] = 3.0
    assert src[()] == 2.0
    assert cr.tensor(src).requires_grad is False


def test_missing_rule_is_named_with_and_without_constants():
    def fwd(a, b):
        return a * b

    def rule_a(g, ans, a, b):
        return g * b

    half = cr.register_primitive("user_half_rule", fwd, rule_a, None, replace=True)
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(3.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"'user_half_rule' has no VJP rule for operand 1"):
        half(x, y).backward()
    # The Tensor is operand 1 among constants: its rule (None) is found by position.
    with pytest.raises(RuntimeError, match=r"'user_half_rule' has no VJP rule for operand 1"):
        half(4.0, y).backward()
    out = half(x, 4.0)  # operand 0 has a rule
    out.backward()
    assert float(x.grad) == 4.0


def test_several_tensor_operands_among_constants_and_variadic_rules():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    const = np.array([5.0, 6.0])
    s = cr.stack([a, const, b, a])  # variadic, with a constant and a repeated operand
    (s * np.arange(8.0).reshape(4, 2)).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.0 + 6.0, 1.0 + 7.0])
    np.testing.assert_array_equal(b.grad.data, [4.0, 5.0])
    c = cr.where(np.array([True, False]), a, 7.0)  # the Tensor at position 1 of 3
    a.zero_grad()
    c.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 0.0])


def test_release_keeps_numbers_and_drops_arrays():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    m = x * 2.5
    c = np.array([1.0, 1.0])
    n = m + c
    k = 3 - n
    k.sum().backward()
    assert m.operands == (x, 2.5) and n.operands == (m, None) and k.operands == (3, n)
    assert not (m.graph_alive or n.graph_alive or k.graph_alive)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        k.sum().backward()


def test_gradients_without_create_graph_match_backward_and_touch_no_grad():
    from chainrule.autodiff.backward import gradients

    def build():
        x = cr.tensor(np.array([0.5, -1.0]), requires_grad=True)
        w = cr.tensor(0.7, requires_grad=True)
        h = cr.tanh(w * x)
        return x, w, h, (h * h + x * 3.0).sum()

    x, w, h, y = build()
    gx, gw, gh = gradients(y, [x, w, h], retain_graph=True)
    assert x.grad is None and w.grad is None and h.grad is None
    # The walk stops at h: its gradient is returned, and nothing flows through it to x and w.
    np.testing.assert_allclose(gh, 2.0 * h.data)
    np.testing.assert_allclose(gx, [3.0, 3.0])
    np.testing.assert_array_equal(gw, 0.0)
    gx2, gw2 = gradients(y, [x, w])  # through h this time; the retained graph is then freed
    x2, w2, _, y2 = build()
    y2.backward()
    np.testing.assert_allclose(gx2, x2.grad.data, rtol=1e-15)
    np.testing.assert_allclose(gw2, w2.grad.data, rtol=1e-15)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        gradients(y, [x])
