"""The analytic logistic gradient Σ x_i (h(x_i) − y_i) (+ penalty) against chainrule's autodiff."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.linear.logistic import LogisticRegression
from chainrule.linear.logistic_objective import make_objective


def _binary_objective_autodiff(X: np.ndarray, y: np.ndarray, sw: np.ndarray, alpha: float):
    S = float(sw.sum())

    def f(w: cr.Tensor, b: cr.Tensor) -> cr.Tensor:
        z = cr.matmul(cr.tensor(X), w) + b
        data = cr.sum((cr.softplus(z) - cr.tensor(y) * z) * cr.tensor(sw)) / S
        return data + 0.5 * alpha * cr.sum(w * w)

    return f


@given(
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([0.1, 1.0, 30.0, 800.0]),
    penalized=st.booleans(),
)
@settings(max_examples=20)
def test_binary_gradient_matches_autodiff(seed: int, scale: float, penalized: bool) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(25, 3))
    y = (rng.random(25) < 0.5).astype(float)
    sw = rng.uniform(0.1, 2.0, size=25)
    obj = make_objective(X, y.astype(int), 2, sw, 0.8 if penalized else np.inf, True)
    theta = rng.normal(size=4) * scale
    f_ours, g_ours = obj.loss_grad(theta)
    f = _binary_objective_autodiff(X, y, sw, obj.alpha)
    gw, gb = cr.grad(f, argnums=(0, 1))(theta[:3], np.array(theta[3]))
    value, _ = cr.value_and_grad(f, argnums=(0, 1))(theta[:3], np.array(theta[3]))
    assert float(value) == pytest.approx(f_ours, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g_ours[:3], np.asarray(gw), rtol=1e-10, atol=1e-12)
    assert g_ours[3] == pytest.approx(float(np.asarray(gb)), rel=1e-10, abs=1e-12)
    assert np.all(np.isfinite(g_ours))


def test_multinomial_gradient_matches_autodiff() -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 3))
    y = rng.integers(0, 4, size=30)
    Y = np.eye(4)[y]
    obj = make_objective(X, y, 4, None, 2.0, True)
    theta = rng.normal(size=obj.size)
    _, g_ours = obj.loss_grad(theta)
    M = theta.reshape(4, 4)

    def f(W: cr.Tensor, b: cr.Tensor) -> cr.Tensor:
        Z = cr.matmul(cr.tensor(X), cr.transpose(W)) + b
        nll = -cr.sum(cr.log_softmax(Z, axis=1) * cr.tensor(Y)) / 30.0
        return nll + 0.5 * obj.alpha * cr.sum(W * W)

    gW, gb = cr.grad(f, argnums=(0, 1))(M[:, :3].copy(), M[:, 3].copy())
    G = g_ours.reshape(4, 4)
    np.testing.assert_allclose(G[:, :3], np.asarray(gW), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(G[:, 3], np.asarray(gb), rtol=1e-10, atol=1e-13)


def test_gradient_at_fitted_solution_vanishes_under_autodiff() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    model = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    obj = make_objective(X, y, 2, None, 1.0, True)
    f = _binary_objective_autodiff(X, y.astype(float), np.ones(80), obj.alpha)
    gw, gb = cr.grad(f, argnums=(0, 1))(model.coef_.ravel(), np.array(model.intercept_[0]))
    assert np.max(np.abs(np.asarray(gw))) < 1e-9 and abs(float(np.asarray(gb))) < 1e-9
