"""The seed's Q3 and Q4 against finite differences; stability at |x| = 800; kink conventions."""

import numpy as np
import pytest

import chainrule as cr

POINTS = np.concatenate([np.linspace(-30, 30, 61), [-800.0, -100.0, 100.0, 800.0, -1e-12, 0.0]])


def test_q3_dlog_s_is_one_minus_s_everywhere():
    a = cr.tensor(POINTS, requires_grad=True)
    cr.log_sigmoid(a).sum().backward()
    s = 1 / (1 + np.exp(-np.clip(POINTS, -700, 700)))
    np.testing.assert_allclose(a.grad.data, 1 - s, rtol=1e-12, atol=1e-15)
    # and to full relative precision where 1 - s underflows: 1 - s(a) = s(-a)
    with np.errstate(over="ignore"):
        exact = 1 / (1 + np.exp(POINTS))
    np.testing.assert_allclose(a.grad.data, exact, rtol=1e-12, atol=0)
    assert np.all(np.isfinite(a.grad.data))


def test_q3_dlog_one_minus_s_is_minus_s_everywhere():
    # log(1 - s(a)) = log s(-a)
    a = cr.tensor(POINTS, requires_grad=True)
    cr.log_sigmoid(-a).sum().backward()
    s = 1 / (1 + np.exp(-np.clip(POINTS, -700, 700)))
    np.testing.assert_allclose(a.grad.data, -s, rtol=1e-12, atol=1e-300)


def test_q3_logistic_gradient_is_sum_x_h_minus_y():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = (rng.random(50) < 0.5).astype(float)
    w = cr.tensor(rng.standard_normal(3), requires_grad=True)
    a = X @ w
    L = -(y * cr.log_sigmoid(a) + (1 - y) * cr.log_sigmoid(-a)).sum()
    L.backward()
    h = 1 / (1 + np.exp(-(X @ w.data)))
    np.testing.assert_allclose(w.grad.data, (X * (h - y)[:, None]).sum(0), rtol=1e-12)
    cr.check_grad(
        lambda w: -(y * cr.log_sigmoid(X @ w) + (1 - y) * cr.log_sigmoid(-(X @ w))).sum(),
        w.data,
        order=2,
    )


def test_stable_functions_at_800():
    x = cr.tensor([-800.0, -1.0, 0.0, 1.0, 800.0], requires_grad=True)
    for f, value, grad in [
        (cr.sigmoid, [0.0, 0.2689414213699951, 0.5, 0.7310585786300049, 1.0], None),
        (
            cr.log_sigmoid,
            [-800.0, -1.3132616875182228, -np.log(2), -0.31326168751822286, 0.0],
            None,
        ),
        (cr.softplus, [0.0, 0.31326168751822286, np.log(2), 1.3132616875182228, 800.0], None),
        (cr.logsumexp, 800.0, [0, 0, 0, 0, 1.0]),
        (cr.log_softmax, [-1600.0, -801.0, -800.0, -799.0, 0.0], None),
        (cr.softmax, [0, 0, 0, 0, 1.0], None),
    ]:
        x.zero_grad()
        y = f(x)
        np.testing.assert_allclose(y.data, value, rtol=1e-12, atol=1e-300)
        (y * np.arange(1.0, 6.0)).sum().backward() if y.ndim else y.backward()
        assert np.all(np.isfinite(x.grad.data)), f.__name__
        if grad is not None:
            np.testing.assert_allclose(x.grad.data, grad, atol=1e-300)
    x.zero_grad()
    cr.softplus(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.2689414213699951, 0.5, 0.7310585786300049, 1.0])


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_logsumexp_all_minus_inf_and_axis():
    x = np.array([[-np.inf, -np.inf], [0.0, 0.0]])
    np.testing.assert_allclose(cr.logsumexp(x, axis=1), [-np.inf, np.log(2)])
    t = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    cr.logsumexp(t, axis=1).sum().backward()
    np.testing.assert_allclose(t.grad.data.sum(1), [1, 1])


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_kink_conventions():
    x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    cr.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1])  # relu'(0) = 0
    x.zero_grad()
    cr.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1, 0, 1])  # abs'(0) = 0
    x.zero_grad()
    cr.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.2, 0.2, 1])  # leaky'(0) = slope
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = cr.tensor([1.0, 5.0, 0.0], requires_grad=True)
    (cr.maximum(a, b) * 1.0).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.5, 0, 1])  # ties split evenly
    np.testing.assert_array_equal(b.grad.data, [0.5, 1, 0])
    a.zero_grad()
    b.zero_grad()
    cr.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.5, 1, 0])
    m = cr.tensor([[3.0, 1.0, 3.0], [0.0, 2.0, 2.0]], requires_grad=True)
    cr.max(m, axis=1).sum().backward()
    np.testing.assert_array_equal(m.grad.data, [[0.5, 0, 0.5], [0, 0.5, 0.5]])  # tied maxima share
    m.zero_grad()
    cr.max(m).backward()
    np.testing.assert_array_equal(m.grad.data, [[0.5, 0, 0.5], [0, 0, 0]])
    m.zero_grad()
    cr.min(m, axis=0).sum().backward()
    np.testing.assert_array_equal(m.grad.data, [[0, 1, 0], [1, 0, 1]])
    c = cr.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    cr.clip(c, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(c.grad.data, [0, 1, 1, 1, 0])  # bounds included
    s = cr.tensor([0.0, 4.0], requires_grad=True)
    cr.sqrt(s).sum().backward()
    assert np.isinf(s.grad.data[0]) and s.grad.data[1] == 0.25


def test_prod_with_zeros():
    x = cr.tensor([[2.0, 0.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 5.0]], requires_grad=True)
    cr.prod(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 6, 0], [6, 3, 2], [0, 0, 0]])


def test_pow_exponent_gradient_at_zero_base():
    a = cr.tensor([0.0, 2.0], requires_grad=True)
    b = cr.tensor([2.0, 3.0], requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(b.grad.data, [0.0, 8 * np.log(2)])


def seed_network(x, w):
    """The seed's Q4 DAG: x→n7; n7→n5, n6; n5, n6→n4; n4, n6→n3; n4→n2; L from n2, n3."""
    g = cr.tanh
    n7 = g(w["7x"] * x)
    n5 = g(w["57"] * n7)
    n6 = g(w["67"] * n7)
    n4 = g(w["45"] * n5 + w["46"] * n6)
    n3 = g(w["34"] * n4 + w["36"] * n6)
    n2 = g(w["24"] * n4)
    return n2, n3


WEIGHTS = {
    "7x": 0.5,
    "57": -1.2,
    "67": 0.8,
    "45": 1.1,
    "46": -0.7,
    "34": 0.9,
    "36": 0.4,
    "24": -1.5,
}


def test_q4_seed_network_gradients_match_finite_differences():
    keys = list(WEIGHTS)

    def loss(x, *ws):
        n2, n3 = seed_network(x, dict(zip(keys, ws, strict=True)))
        return ((n2 - 0.3) ** 2 + (n3 + 0.2) ** 2).sum()

    x = np.array([-1.0, 0.3, 2.0])
    cr.check_grad(loss, x, *[np.float64(WEIGHTS[k]) for k in keys], order=2, mode="nodes")


def test_q4_chain_rule_by_hand_matches_backward():
    # The seed's five equations, evaluated numerically by hand, with L = n2 + n3.
    x = 0.7
    w = {k: cr.tensor(v, requires_grad=True, name=f"w_{k}") for k, v in WEIGHTS.items()}
    xt = cr.tensor(x, requires_grad=True)
    n2, n3 = seed_network(xt, w)
    (n2 + n3).backward()
    W = WEIGHTS
    t = np.tanh
    n7 = t(W["7x"] * x)
    n5, n6 = t(W["57"] * n7), t(W["67"] * n7)
    n4 = t(W["45"] * n5 + W["46"] * n6)
    gp = lambda z: 1 - np.tanh(z) ** 2  # noqa: E731
    dn2, dn3 = 1.0, 1.0
    dn4 = dn2 * gp(W["24"] * n4) * W["24"] + dn3 * gp(W["34"] * n4 + W["36"] * n6) * W["34"]
    dn5 = dn4 * gp(W["45"] * n5 + W["46"] * n6) * W["45"]
    dn6 = (
        dn4 * gp(W["45"] * n5 + W["46"] * n6) * W["46"]
        + dn3 * gp(W["34"] * n4 + W["36"] * n6) * W["36"]
    )
    dn7 = dn5 * gp(W["57"] * n7) * W["57"] + dn6 * gp(W["67"] * n7) * W["67"]
    dx = dn7 * gp(W["7x"] * x) * W["7x"]
    assert float(xt.grad) == pytest.approx(dx, rel=1e-12)
    assert float(w["24"].grad) == pytest.approx(dn2 * gp(W["24"] * n4) * n4, rel=1e-12)
