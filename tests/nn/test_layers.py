"""Layers: Linear and MLP forward and gradients, initialisation, activations, Sequential, Dropout."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import (
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
    mse_loss,
)


def test_linear_computes_x_w_plus_b() -> None:
    lin = Linear(3, 2, rng=0)
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(lin(x).data, x @ lin.weight.data + lin.bias.data)
    assert lin.weight.shape == (3, 2) and lin.bias.shape == (2,)
    # A batch of any leading shape, and one sample.
    assert lin(np.ones((4, 5, 3))).shape == (4, 5, 2)
    assert lin(np.ones(3)).shape == (2,)


def test_linear_gradients_match_finite_differences(fd_check) -> None:
    lin = Linear(3, 2, rng=0)
    x = cr.tensor(np.random.default_rng(1).normal(size=(4, 3)), requires_grad=True)
    y = np.random.default_rng(2).normal(size=(4, 2))
    fd_check(lambda: mse_loss(cr.tanh(lin(x)), y), [lin.weight, lin.bias, x])


def test_linear_check_grad_as_a_function_of_its_parameters() -> None:
    lin = Linear(4, 3, rng=0)
    x = np.random.default_rng(1).normal(size=(6, 4))

    def f(w: object, b: object) -> object:
        lin.weight, lin.bias = w, b  # check_grad passes its own tensors
        return cr.sigmoid(lin(x))

    report = cr.check_grad(f, lin.weight.data.copy(), lin.bias.data.copy())
    assert report.ok


def test_linear_rejects_a_wrong_input_shape() -> None:
    with pytest.raises(ValueError, match=r"input shape \(5, 4\) does not end in 3"):
        Linear(3, 2, rng=0)(np.ones((5, 4)))
    with pytest.raises(ValueError, match="in_features must be a positive integer"):
        Linear(0, 2)
    with pytest.raises(ValueError, match="init must be one of"):
        Linear(2, 2, init="normal")
    with pytest.raises(ValueError, match="floating dtype"):
        Linear(2, 2, dtype="int64")


def test_initialisation_bounds_and_seeds() -> None:
    fan_in, fan_out = 400, 300
    w = Linear(fan_in, fan_out, rng=0).weight.data
    bound = math.sqrt(6 / fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    # Uniform on [-b, b] has variance b²/3 = 2/fan_in (He).
    assert abs(w.var() - 2 / fan_in) < 0.05 * 2 / fan_in
    g = Linear(fan_in, fan_out, init="glorot_uniform", rng=0).weight.data
    assert np.abs(g).max() <= math.sqrt(6 / (fan_in + fan_out))
    np.testing.assert_array_equal(w, Linear(fan_in, fan_out, rng=0).weight.data)
    assert not np.array_equal(w, Linear(fan_in, fan_out, rng=1).weight.data)
    assert np.all(Linear(3, 2, rng=0).bias.data == 0)
    assert np.all(Linear(3, 2, init="zeros").weight.data == 0)


def test_mlp_structure_and_gradients(fd_check) -> None:
    mlp = MLP([3, 5, 4, 2], activation="tanh", output_activation="sigmoid", rng=0)
    assert [n for n, _ in mlp.named_modules()][1:] == [
        "fc1",
        "act1",
        "fc2",
        "act2",
        "fc3",
        "out_act",
    ]
    assert mlp.num_parameters == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
    x = np.random.default_rng(1).normal(size=(6, 3))
    out = mlp(x)
    h = np.tanh(x @ mlp.fc1.weight.data + mlp.fc1.bias.data)
    h = np.tanh(h @ mlp.fc2.weight.data + mlp.fc2.bias.data)
    z = h @ mlp.fc3.weight.data + mlp.fc3.bias.data
    np.testing.assert_allclose(out.data, 1 / (1 + np.exp(-z)))
    y = np.random.default_rng(2).uniform(size=(6, 2))
    fd_check(lambda: mse_loss(mlp(x), y), mlp.parameters())


def test_mlp_validation() -> None:
    with pytest.raises(ValueError, match="at least two sizes"):
        MLP([3])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer"):
        MLP([3, 0, 1])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP([3, 2], activation="swish")


def test_mlp_same_seed_same_network() -> None:
    a, b = MLP([4, 8, 2], rng=7), MLP([4, 8, 2], rng=7)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)


@pytest.mark.parametrize(
    ("module", "reference"),
    [
        (ReLU(), lambda x: np.maximum(x, 0)),
        (Tanh(), np.tanh),
        (Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
        (Softplus(), lambda x: np.log1p(np.exp(x))),
        (LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
        (Identity(), lambda x: x),
    ],
)
def test_activations(module: object, reference: object) -> None:
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(module(cr.tensor(x)).data, reference(x), rtol=1e-12)  # type: ignore[operator]


def test_sequential_indexing_and_append() -> None:
    seq = Sequential(Linear(2, 3, rng=0), ReLU())
    seq.append(Linear(3, 1, rng=1))
    assert len(seq) == 3 and isinstance(seq[2], Linear) and isinstance(seq["1"], ReLU)
    head = seq[:2]
    assert isinstance(head, Sequential) and len(head) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = np.ones((2, 2))
    np.testing.assert_allclose(seq(x).data, seq[2](seq[1](seq[0](x))).data)
    with pytest.raises(TypeError, match="Sequential item 0 must be a Module"):
        Sequential(lambda x: x)  # type: ignore[arg-type]


def test_dropout_train_and_eval() -> None:
    drop = Dropout(0.25, rng=0)
    x = np.ones((200, 50))
    out = drop(cr.tensor(x)).data
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    drop.eval()
    assert np.array_equal(drop(cr.tensor(x)).data, x)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


def test_float32_end_to_end_through_mlp() -> None:
    mlp = MLP([3, 4, 1], dtype="float32", rng=0)
    x = cr.tensor(np.ones((5, 3), dtype=np.float32))
    loss = mse_loss(mlp(x), np.zeros((5, 1), dtype=np.float32))
    assert loss.dtype == np.float32
    loss.backward()
    assert all(p.grad.dtype == np.float32 for p in mlp.parameters())


def test_seed_is_an_alias_of_an_int_rng() -> None:
    np.testing.assert_array_equal(Linear(3, 2, seed=4).weight.data, Linear(3, 2, rng=4).weight.data)
    a, b = MLP([2, 3, 1], seed=5), MLP([2, 3, 1], rng=5)
    np.testing.assert_array_equal(a.fc2.weight.data, b.fc2.weight.data)
    with pytest.raises(ValueError, match="rng or seed, not both"):
        Linear(3, 2, rng=1, seed=1)
