"""grad, value_and_grad, vjp, jacobian, hvp; higher order through create_graph."""

import numpy as np
import pytest

import chainrule as cr


def test_grad_and_value_and_grad():
    f = lambda x: (x**3).sum()  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(np.array([1.0, 2.0])), [3.0, 12.0])
    v, g = cr.value_and_grad(f)(np.array([1.0, 2.0]))
    assert float(v) == 9.0
    np.testing.assert_allclose(g, [3.0, 12.0])


def test_argnums_tuple_and_kwargs():
    f = lambda a, b, scale=1.0: (a * b).sum() * scale  # noqa: E731
    ga, gb = cr.grad(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]), scale=2.0)
    np.testing.assert_allclose(ga, [6.0, 8.0])
    np.testing.assert_allclose(gb, [2.0, 4.0])
    gb2 = cr.grad(f, argnums=-1)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(gb2, [1.0, 2.0])


def test_grad_does_not_touch_leaf_grads_and_returns_tensor_for_tensor():
    x = cr.tensor([1.0, 2.0])
    g = cr.grad(lambda t: (t * t).sum())(x)
    assert isinstance(g, cr.Tensor) and x.grad is None
    np.testing.assert_allclose(g.data, [2.0, 4.0])


def test_nested_grad_higher_order():
    assert cr.grad(cr.grad(lambda x: x**3))(2.0) == pytest.approx(12.0)
    assert cr.grad(cr.grad(cr.grad(lambda x: x**4)))(1.5) == pytest.approx(24 * 1.5)
    t = 0.3
    third = cr.grad(cr.grad(cr.grad(cr.tanh)))(t)
    th = np.tanh(t)
    assert third == pytest.approx(-2 * (1 - th**2) * (1 - 3 * th**2), rel=1e-10)


def test_hessian_vector_product_and_create_graph_backward():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    f = lambda x: 0.5 * (x * (A @ x)).sum() + cr.sin(x).sum()  # noqa: E731
    x0 = np.array([0.3, -0.4])
    v = np.array([1.0, 2.0])
    expected = A @ v - np.sin(x0) * v
    np.testing.assert_allclose(cr.hvp(f, x0, v), expected)
    x = cr.tensor(x0, requires_grad=True)
    y = f(x)
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad and gx.op is not None
    x.zero_grad()
    (gx * v).sum().backward()
    np.testing.assert_allclose(x.grad.data, expected)


def test_vjp_and_jacobian():
    y, back = cr.vjp(lambda a, b: a * b + a, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(y, [4.0, 10.0])
    ga, gb = back(np.array([1.0, 10.0]))
    np.testing.assert_allclose(ga, [4.0, 50.0])
    np.testing.assert_allclose(gb, [1.0, 20.0])
    ga2, _ = back(np.array([1.0, 0.0]))  # callable again
    np.testing.assert_allclose(ga2, [4.0, 0.0])
    J = cr.jacobian(lambda x: cr.softmax(x))(np.array([0.1, 0.2, 0.3]))
    s = np.exp([0.1, 0.2, 0.3]) / np.exp([0.1, 0.2, 0.3]).sum()
    np.testing.assert_allclose(J, np.diag(s) - np.outer(s, s))
    J2 = cr.jacobian(lambda M: M @ np.array([1.0, 2.0]))(np.ones((3, 2)))
    assert J2.shape == (3, 3, 2)


def test_grad_errors():
    with pytest.raises(TypeError, match="scalar output"):
        cr.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match="must return a Tensor"):
        cr.grad(lambda x: 1.0)(np.ones(3))
    with pytest.raises(ValueError, match="out of range"):
        cr.grad(lambda x: x, argnums=3)(1.0)


def test_grad_inside_no_grad_still_differentiates():
    with cr.no_grad():
        g = cr.grad(lambda x: x * x)(3.0)
    assert g == 6.0


def test_unused_input_gets_zeros():
    g = cr.grad(lambda a, b: (a * 2).sum(), argnums=(0, 1))(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(g[1], np.zeros(3))
