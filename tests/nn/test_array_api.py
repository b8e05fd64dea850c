"""nn on a non-NumPy namespace (array_api_strict): no NumPy-only call leaks into these paths."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import (
    SGD,
    Adam,
    Linear,
    Sequential,
    Tanh,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)

xp = pytest.importorskip("array_api_strict")


def train(model: Sequential, X: object, y: object, opt: SGD | Adam, steps: int) -> float:
    loss = None
    for _ in range(steps):
        opt.zero_grad()
        loss = mse_loss(model(X), y) + binary_cross_entropy_with_logits(model(X), y)
        loss.backward()
        opt.step()
    assert loss is not None
    return float(cr.tensor(loss.data).item()) if not isinstance(loss.data, float) else loss.data


@pytest.mark.parametrize(
    "make_opt", [lambda m: SGD(m, lr=0.1, momentum=0.9), lambda m: Adam(m, lr=0.05)]
)
def test_training_on_array_api_strict_matches_numpy(make_opt: object) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.uniform(size=(8, 1))
    ref = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 1, rng=1))
    strict = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 1, rng=1)).to(xp)
    assert all(type(p.data).__module__.startswith("array_api_strict") for p in strict.parameters())
    train(ref, X, y, make_opt(ref), 5)  # type: ignore[operator]
    train(strict, xp.asarray(X), xp.asarray(y), make_opt(strict), 5)  # type: ignore[operator]
    for (name, a), (_, b) in zip(
        ref.state_dict().items(), strict.state_dict().items(), strict=True
    ):
        assert type(b).__module__.startswith("array_api_strict"), name
        np.testing.assert_allclose(np.asarray(b), a, rtol=1e-12, err_msg=name)
    # A NumPy state loads into the strict module and stays strict.
    strict.load_state_dict(ref.state_dict())
    assert type(strict[0].weight.data).__module__.startswith("array_api_strict")


def test_cross_entropy_on_array_api_strict() -> None:
    rng = np.random.default_rng(1)
    z, t = rng.normal(size=(5, 4)), np.array([0, 3, 1, 2, 3])
    w = np.array([1.0, 0.5, 2.0, 1.5])
    for kwargs in ({}, {"weight": w, "label_smoothing": 0.1}):
        zs = cr.tensor(xp.asarray(z), requires_grad=True)
        loss = cross_entropy(zs, xp.asarray(t), **kwargs)
        loss.backward()
        zn = cr.tensor(z, requires_grad=True)
        ref = cross_entropy(zn, t, **kwargs)
        ref.backward()
        np.testing.assert_allclose(float(loss.data), float(ref.data), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(zs.grad.data), zn.grad.data, rtol=1e-12, atol=1e-15)
