"""The models of `chainrule train`: Standardize, digits_mlp, digits_cnn, their bounds."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn.models import Standardize, digits_cnn, digits_mlp


def test_standardize_is_a_saved_buffer_not_a_parameter() -> None:
    layer = Standardize([1.0, 2.0], [2.0, 0.0])
    out = layer(np.array([[3.0, 5.0]])).data
    np.testing.assert_array_equal(out, [[1.0, 3.0]])  # a zero scale is taken as 1
    assert layer.num_parameters == 0 and sorted(layer.state_dict()) == ["mean", "scale"]
    with pytest.raises(ValueError, match=r"input shape \(1, 3\) does not end in 2"):
        layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match="one shape"):
        Standardize([1.0], [1.0, 2.0])


def test_digits_mlp_sizes_names_and_seed() -> None:
    net = digits_mlp(hidden=[16, 8], seed=3)
    assert net.num_parameters == 65 * 16 + 17 * 8 + 9 * 10
    assert [n for n, _ in net.named_parameters()][:2] == ["mlp.fc1.weight", "mlp.fc1.bias"]
    again = digits_mlp(hidden=[16, 8], seed=3)
    x = np.random.default_rng(0).uniform(0, 16, size=(5, 64))
    assert np.array_equal(net(x).data, again(x).data) and net(x).shape == (5, 10)


def test_digits_cnn_shapes_and_save_load(tmp_path) -> None:
    X, _ = nn.load_digits()
    net = digits_cnn(mean=X.mean(axis=0), scale=X.std(axis=0), seed=0)
    assert net.num_parameters == 160 + 4640 + 129 * 64 + 65 * 10
    assert net(X[:7]).shape == (7, 10)
    path = nn.save(net, tmp_path / "cnn")
    clone = nn.load(path, into=digits_cnn(seed=1))  # the statistics come back with the weights
    assert np.array_equal(clone(X[:7]).data, net(X[:7]).data)
    float32 = digits_cnn(channels=(4,), hidden=(8,), dtype="float32", seed=0)
    assert float32(X[:2].astype("float32")).dtype == np.float32


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: digits_mlp(hidden=[0]), r"hidden\[0\] must be a positive integer"),
        (lambda: digits_mlp(hidden=[5000]), r"hidden\[0\] is 5,000; the limit is 4,096"),
        (lambda: digits_mlp(hidden=[8] * 17), "17 layers; the limit is 16"),
        (lambda: digits_mlp(hidden=[4096] * 3), "parameters; the limit is 20,000,000"),
        (lambda: digits_mlp(activation="swish"), "unknown activation 'swish'"),
        (lambda: digits_cnn(channels=(4, 4, 4, 4)), "too small for 4 2×2 poolings"),
        (lambda: digits_cnn(channels=()), "at least one convolution"),
        (lambda: digits_mlp(mean=np.zeros(3), scale=np.ones(3)), "3 features, the model 64"),
    ],
)
def test_bad_sizes_are_refused_before_allocating(build, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()
