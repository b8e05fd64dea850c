"""Tensor basics: creation, dtypes, operators, graph structure, backward semantics and errors."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import graph


def test_creation_dtypes():
    assert cr.tensor([1, 2]).dtype == np.float64
    assert cr.tensor(3).dtype == np.float64
    assert cr.tensor(np.ones(2, np.float32)).dtype == np.float32
    assert cr.tensor([1, 2], dtype="float32").dtype == np.float32
    assert cr.tensor([1, 2], dtype=np.int64).dtype == np.int64
    with pytest.raises(TypeError, match="floating"):
        cr.tensor([1, 2], dtype=np.int64, requires_grad=True)


def test_graph_structure_is_introspectable_and_kept_after_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * 3.0).sum()
    y.name = "L"
    assert y.op.name == "sum" and y.params == {"axis": None, "keepdims": False}
    (m,) = y.parents
    assert m.op is graph.PRIMITIVES["mul"] and m.parents == (x,) and m.operands == (x, 3.0)
    assert x.op is None and x.parents == () and x.is_leaf
    order = cr.topological_order(y)
    assert order == [x, m, y]
    y.backward()
    assert y.op.name == "sum" and m.parents == (x,) and m.operands == (x, 3.0)
    assert not y.graph_alive and x.graph_alive
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_parents_are_ordered_and_repeat():
    x = cr.tensor(2.0, requires_grad=True)
    y = x * x
    assert y.parents == (x, x)
    y.backward()
    assert float(x.grad) == 4.0


def test_operators_and_broadcast_reduction():
    a = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = cr.tensor(2.0, requires_grad=True)
    y = ((a + b) * c - a / b + b**2 - (-a) + 1.0 / b + 2.0**c).sum()
    y.backward()
    av, bv, cv = a.data, b.data, c.data
    np.testing.assert_allclose(a.grad.data, cv - 1 / bv + 1 + 0 * av)
    gb = (cv + av / bv**2).sum(0) + 2 * 2 * bv - 2 / bv**2
    np.testing.assert_allclose(b.grad.data, gb)
    np.testing.assert_allclose(float(c.grad), (av + bv).sum() + 6 * 4 * np.log(2))
    assert a.grad.shape == (2, 3) and b.grad.shape == (3,) and c.grad.shape == ()


def test_matmul_all_rank_cases():
    rng = np.random.default_rng(0)
    for sa, sb in [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3, 4)),
        ((5, 2, 3), (3, 4)),
        ((3,), (5, 3, 4)),
        ((5, 2, 3), (3,)),
    ]:
        cr.check_grad(lambda a, b: a @ b, rng.standard_normal(sa), rng.standard_normal(sb))


def test_comparisons_not_differentiable():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    m = x > 0
    assert m.dtype == bool and not m.requires_grad and m.op is None
    assert (x == x).data.all()
    # == is elementwise, so a Tensor hashes by identity: equal values, different keys.
    twin = cr.tensor([1.0, -1.0], requires_grad=True)
    assert hash(x) == object.__hash__(x) and hash(twin) == object.__hash__(twin)
    table = {x: "x", twin: "twin"}
    assert len(table) == 2 and table[x] == "x" and table[twin] == "twin"


def test_indexing_scatter_add():
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[1].sum() + x[:, 1:3].sum() + x[[0, 0, 2], [1, 1, 3]].sum() + x[x.data > 9].sum()
    y.backward()
    expect = np.zeros((3, 4))
    expect[1] += 1
    expect[:, 1:3] += 1
    expect[0, 1] += 2
    expect[2, 3] += 1
    expect[x.data > 9] += 1
    np.testing.assert_allclose(x.grad.data, expect)


def test_shape_ops():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    cr.check_grad(lambda t: (t.reshape(6, 4) * np.arange(24.0).reshape(6, 4)).sum(), x)
    c = rng.standard_normal((4, 2, 3))
    cr.check_grad(lambda t: t.permute(2, 0, 1) * c, x)
    cr.check_grad(lambda t: t.T, x)
    cr.check_grad(lambda t: t[:, :1, :].expand(2, 5, 4), x)
    cr.check_grad(lambda t: t.transpose(), x)


def test_backward_errors():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()
    z = y.sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_retain_graph_accumulates_and_zero_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.data, 4 * x.data)
    x.zero_grad()
    assert x.grad is None


def test_nonscalar_backward_with_grad_and_retain_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).retain_grad()
    y = h * h
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(h.grad.data, 2 * h.data * [1, 10])
    np.testing.assert_allclose(x.grad.data, 18 * x.data * [1, 10])


def test_detach_and_no_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    with cr.no_grad():
        y = x * 2
    assert y.op is None and not y.requires_grad
    assert cr.is_grad_enabled()


def test_deep_chain_100000():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    assert abs(float(x.grad) - 1.0000001**100_000) < 1e-9
    assert len(cr.topological_order(y)) == 100_001


def test_saved_constants_released_after_backward():
    w = cr.tensor(np.ones(5), requires_grad=True)
    X = np.random.default_rng(0).standard_normal((100, 5))
    ref = weakref.ref(X)
    loss = cr.sum(cr.tanh(X @ w))
    del X
    gc.collect()
    assert ref() is not None  # still saved for the backward pass
    loss.backward()
    gc.collect()
    assert ref() is None
    assert loss.op.name == "sum"  # the structure stays


def test_grads_of_intermediates_are_freed_during_backward():
    # The backward pass drops each intermediate gradient once consumed: track them by weakref.
    from chainrule.autodiff import primitives as P

    seen = []

    def spy_vjp(g, ans, x):
        seen.append(weakref.ref(g))
        return g * 1.0

    spy = cr.register_primitive("spy_identity_for_test", lambda x: x * 1.0, spy_vjp, replace=True)
    x = cr.tensor(np.ones(1000), requires_grad=True)
    y = P.sum(spy(spy(x * 2.0)))
    y.backward()
    gc.collect()
    assert len(seen) == 2 and all(r() is None for r in seen)


def test_float32_throughout():
    x = cr.tensor(np.linspace(-2, 2, 7, dtype=np.float32), requires_grad=True)
    y = (cr.softmax(x * 2.0) * cr.sigmoid(x) + cr.tanh(x) ** 2).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    cr.check_grad(lambda t: cr.log_softmax(t) * cr.sigmoid(t), x.data)


def test_repr_and_conversions():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    assert "requires_grad=True" in repr(x) and "'x'" in repr(x)
    assert float(cr.tensor(2.5)) == 2.5 and cr.tensor([3.0]).item() == 3.0
    assert len(x) == 2 and np.asarray(x).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="item assignment"):
        x[0] = 1.0


def test_iteration_and_format():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert len(rows) == 2 and rows[1].op.name == "getitem"
    sum(r.sum() for r in rows).backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 2)))
    with pytest.raises(TypeError, match="0-d"):
        iter(cr.tensor(1.0))
    assert f"{cr.tensor(2.0):.2f}" == "2.00"


def test_reflected_operators_with_numpy_and_scalars():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x + np.float64(2.0) * x - 1.0 / x + np.ones((2, 2)) @ x
    assert isinstance(y, cr.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3 + 2 + 1 + 2, 4 + 2 + 0.25 + 2])
