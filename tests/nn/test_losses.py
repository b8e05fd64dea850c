"""Losses against NumPy formulas, reductions, stability at large logits, gradients, shape errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import chainrule as cr
from chainrule.nn import binary_cross_entropy_with_logits, cross_entropy, mse_loss

RNG = np.random.default_rng(0)


def np_log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def test_mse_loss_matches_numpy_for_every_reduction() -> None:
    a, b = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    np.testing.assert_allclose(mse_loss(a, b).item(), np.mean((a - b) ** 2))
    np.testing.assert_allclose(mse_loss(a, b, reduction="sum").item(), np.sum((a - b) ** 2))
    np.testing.assert_allclose(mse_loss(a, b, reduction="none").data, (a - b) ** 2)


def test_mse_loss_gradient_in_both_arguments() -> None:
    a, b = RNG.normal(size=(5,)), RNG.normal(size=(5,))
    cr.check_grad(lambda p, t: mse_loss(p, t), a, b)
    p = cr.tensor(a, requires_grad=True)
    mse_loss(p, b).backward()
    np.testing.assert_allclose(p.grad.data, 2 * (a - b) / 5)


def test_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"input shape \(4, 1\) and target shape \(4,\) differ"):
        mse_loss(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match=r"input shape \(3,\) and target shape \(2,\)"):
        binary_cross_entropy_with_logits(np.zeros(3), np.zeros(2))
    with pytest.raises(
        ValueError, match=r"input shape \(4, 3\) needs target shape \(4,\), got \(4, 1\)"
    ):
        cross_entropy(np.zeros((4, 3)), np.zeros((4, 1), dtype=int))
    with pytest.raises(ValueError, match="reduction must be"):
        mse_loss(np.zeros(2), np.zeros(2), reduction="avg")


def test_bce_with_logits_matches_the_formula_and_is_stable() -> None:
    z = np.array([-800.0, -30.0, -1.0, 0.0, 2.0, 40.0, 800.0])
    y = np.array([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0])
    # log(1 + e^z) computed stably by hand: max(z, 0) + log1p(e^-|z|).
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    expected = softplus - y * z
    zt = cr.tensor(z, requires_grad=True)
    loss = binary_cross_entropy_with_logits(zt, y, reduction="none")
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
    assert loss.data[0] == 800.0 and loss.data[-1] == 800.0  # finite, exact
    loss.sum().backward()
    e = np.exp(-np.abs(z))
    sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    np.testing.assert_allclose(zt.grad.data, sig - y, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(zt.grad.data))


def test_bce_weights() -> None:
    z, y = RNG.normal(size=6), (RNG.uniform(size=6) > 0.5).astype(float)
    w = RNG.uniform(size=6)
    sp = np.log1p(np.exp(z))
    spn = np.log1p(np.exp(-z))
    np.testing.assert_allclose(
        binary_cross_entropy_with_logits(z, y, "sum", weight=w, pos_weight=3.0).item(),
        np.sum(w * (3.0 * y * spn + (1 - y) * sp)),
    )
    cr.check_grad(lambda t: binary_cross_entropy_with_logits(t, y, pos_weight=2.0), z)


def test_cross_entropy_matches_numpy() -> None:
    z = RNG.normal(size=(6, 4))
    t = np.array([0, 3, 1, 1, 2, 0])
    per = -np_log_softmax(z)[np.arange(6), t]
    np.testing.assert_allclose(cross_entropy(z, t).item(), per.mean())
    np.testing.assert_allclose(cross_entropy(z, t, reduction="sum").item(), per.sum())
    np.testing.assert_allclose(cross_entropy(z, t, reduction="none").data, per)
    # One sample with a scalar target.
    np.testing.assert_allclose(cross_entropy(z[1], 3).item(), per[1])
    # Gradient: softmax − onehot, over N for the mean.
    zt = cr.tensor(z, requires_grad=True)
    cross_entropy(zt, t).backward()
    p = np.exp(np_log_softmax(z))
    np.testing.assert_allclose(zt.grad.data, (p - np.eye(4)[t]) / 6, atol=1e-15)


def test_cross_entropy_at_huge_logits() -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-5000.0, 5000.0, 4990.0]])
    t = np.array([1, 2])
    loss = cross_entropy(cr.tensor(z, requires_grad=True), t, reduction="none")
    np.testing.assert_allclose(loss.data, [2000.0, 10.0 + np.log1p(np.exp(-10.0))], rtol=1e-12)


def test_cross_entropy_weight_and_label_smoothing() -> None:
    z = RNG.normal(size=(5, 3))
    t = np.array([0, 2, 1, 2, 2])
    w = np.array([1.0, 2.0, 0.5])
    logp = np_log_softmax(z)
    nll = -logp[np.arange(5), t]
    np.testing.assert_allclose(
        cross_entropy(z, t, weight=w).item(), np.sum(w[t] * nll) / np.sum(w[t])
    )
    eps = 0.1
    smooth = -logp.mean(axis=1)
    np.testing.assert_allclose(
        cross_entropy(z, t, label_smoothing=eps).item(), np.mean((1 - eps) * nll + eps * smooth)
    )
    cr.check_grad(lambda x: cross_entropy(x, t, weight=w, label_smoothing=0.2), z)


def test_cross_entropy_bad_targets_name_the_row() -> None:
    with pytest.raises(ValueError, match="target row 2 is class 3, outside"):
        cross_entropy(np.zeros((4, 3)), np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"target row 1 is 0\.5"):
        cross_entropy(np.zeros((2, 3)), np.array([0.0, 0.5]))
    with pytest.raises(ValueError, match="input must have shape"):
        cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int))


def test_float32_losses_stay_float32() -> None:
    z = RNG.normal(size=(4, 3)).astype(np.float32)
    t = np.array([0, 1, 2, 0])
    assert cross_entropy(cr.tensor(z), t).dtype == np.float32
    assert binary_cross_entropy_with_logits(z, (z > 0).astype(np.float64)).dtype == np.float32
    assert mse_loss(z, np.zeros((4, 3))).dtype == np.float32


@given(
    arrays(np.float64, (3, 4), elements=st.floats(-50, 50)),
    arrays(np.int64, (3,), elements=st.integers(0, 3)),
)
def test_cross_entropy_property(z: np.ndarray, t: np.ndarray) -> None:
    got = cross_entropy(z, t, reduction="none").data
    np.testing.assert_allclose(got, -np_log_softmax(z)[np.arange(3), t], rtol=1e-10, atol=1e-12)
    assert np.all(got >= 0)
