"""The autodiff on array_api_strict arrays: no NumPy-only call leaks into forward or backward."""

import numpy as np
import pytest

import chainrule as cr

xp = pytest.importorskip("array_api_strict")


def _np(a):
    return np.asarray(a.data if isinstance(a, cr.Tensor) else a)


def test_forward_and_backward_stay_in_the_namespace():
    xn = np.array([1.0, -2.0, 3.0])
    Wn = np.arange(6.0).reshape(3, 2) / 4

    def loss(x, W):
        h = x @ W
        return (
            (cr.tanh(h) * 2.0 + cr.sigmoid(h) + cr.log_softmax(h)).sum()
            + cr.logsumexp(x)
            + cr.relu(x).sum()
            + (x**2).mean()
            + cr.softplus(x).max()
            + cr.concatenate([x, x]).sum()
            + cr.stack([x, x], axis=1)[1:, ...].sum()
            + cr.where(x.data > 0, x, 0.0).sum()
            + cr.clip(x, -1.0, 1.0).sum()
            + cr.abs(x).sum()
            + cr.prod(x)
            + x.reshape(3, 1).T.sum()
            + cr.einsum("i,ij->j", x, W).sum()
        )

    xs = cr.tensor(xp.asarray(xn), requires_grad=True)
    Ws = cr.tensor(xp.asarray(Wn), requires_grad=True)
    loss(xs, Ws).backward()
    assert "array_api_strict" in type(xs.grad.data).__module__
    xr = cr.tensor(xn, requires_grad=True)
    Wr = cr.tensor(Wn, requires_grad=True)
    loss(xr, Wr).backward()
    np.testing.assert_allclose(_np(xs.grad), xr.grad.data)
    np.testing.assert_allclose(_np(Ws.grad), Wr.grad.data)


def test_functional_grad_on_strict_arrays():
    g = cr.grad(lambda t: cr.tanh(t).sum())(xp.asarray([0.5, -1.0]))
    np.testing.assert_allclose(np.asarray(g), 1 - np.tanh([0.5, -1.0]) ** 2)
