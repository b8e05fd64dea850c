"""LayerNorm, BatchNorm1d, BatchNorm2d: textbook formulas, running statistics, modes, gradients,
state dicts and files, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def textbook_norm(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def test_layer_norm_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5)) * 4 + 2
    ln = nn.LayerNorm((4, 5), eps=1e-3)
    ln.weight.data[...] = rng.normal(size=(4, 5))
    ln.bias.data[...] = rng.normal(size=(4, 5))
    want = textbook_norm(x, (1, 2), 1e-3) * ln.weight.data + ln.bias.data
    np.testing.assert_allclose(ln(x).data, want, rtol=1e-12, atol=1e-12)
    one = nn.LayerNorm(5, elementwise_affine=False)
    assert one.weight is None and one.num_parameters == 0
    np.testing.assert_allclose(one(x).data, textbook_norm(x, (2,), 1e-5), rtol=1e-12, atol=1e-12)
    assert nn.LayerNorm(5, bias=False).bias is None
    # Same in eval mode (no running statistics).
    np.testing.assert_array_equal(ln.eval()(x).data, ln.train()(x).data)


def test_layer_norm_gradients_to_second_order() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4))
    w, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    cr.check_grad(lambda x, w, b: nn.layer_norm(x, (3, 4), w, b, 1e-5) ** 3, x, w, b, order=2)


@pytest.mark.parametrize(
    ("cls", "shape", "axes"),
    [
        (nn.BatchNorm1d, (6, 3), (0,)),
        (nn.BatchNorm1d, (5, 3, 4), (0, 2)),
        (nn.BatchNorm2d, (4, 3, 2, 5), (0, 2, 3)),
    ],
)
def test_batch_norm_train_and_eval(cls: type, shape: tuple, axes: tuple) -> None:
    rng = np.random.default_rng(2)
    bn = cls(3, momentum=0.2)
    bn.weight.data[...] = rng.normal(size=3)
    bn.bias.data[...] = rng.normal(size=3)
    stat = (1, 3) + (1,) * (len(shape) - 2)
    running_mean, running_var = np.zeros(3), np.ones(3)
    n = int(np.prod([shape[a] for a in axes]))
    for _ in range(3):
        x = rng.normal(size=shape) * 3 + 1
        want = textbook_norm(x, axes, 1e-5) * bn.weight.data.reshape(stat)
        want = want + bn.bias.data.reshape(stat)
        np.testing.assert_allclose(bn(x).data, want, rtol=1e-12, atol=1e-12)
        running_mean = 0.8 * running_mean + 0.2 * x.mean(axis=axes)
        running_var = 0.8 * running_var + 0.2 * x.var(axis=axes) * n / (n - 1)
    np.testing.assert_allclose(bn.running_mean, running_mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, running_var, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 3
    bn.eval()
    x = rng.normal(size=shape)
    want = (x - running_mean.reshape(stat)) / np.sqrt(running_var.reshape(stat) + 1e-5)
    want = want * bn.weight.data.reshape(stat) + bn.bias.data.reshape(stat)
    np.testing.assert_allclose(bn(x).data, want, rtol=1e-12, atol=1e-12)
    # Eval mode leaves the buffers alone.
    np.testing.assert_allclose(bn.running_mean, running_mean, rtol=1e-12)
    assert int(bn.num_batches_tracked) == 3


def test_batch_norm_cumulative_average_and_untracked() -> None:
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm1d(2, momentum=None, affine=False)
    xs = [rng.normal(size=(4, 2)) for _ in range(3)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(
        bn.running_mean, np.mean([x.mean(axis=0) for x in xs], axis=0), rtol=1e-12
    )
    np.testing.assert_allclose(
        bn.running_var, np.mean([x.var(axis=0, ddof=1) for x in xs], axis=0), rtol=1e-12
    )
    free = nn.BatchNorm2d(2, track_running_stats=False).eval()
    assert dict(free.named_buffers()) == {}
    x = rng.normal(size=(3, 2, 2, 2))
    np.testing.assert_allclose(
        free(x).data, textbook_norm(x, (0, 2, 3), 1e-5), rtol=1e-12, atol=1e-12
    )


def test_batch_norm_gradients_through_batch_statistics(fd_check: object) -> None:
    rng = np.random.default_rng(4)
    plain = nn.BatchNorm2d(2, affine=False)
    x = rng.normal(size=(3, 2, 2, 2))
    cr.check_grad(lambda x: plain(x) ** 3, x, order=2)
    bn = nn.BatchNorm1d(2)
    bn.weight.data[...] = rng.normal(size=2)
    xt = cr.tensor(rng.normal(size=(4, 2, 3)), requires_grad=True)
    fd_check(lambda: (bn(xt) ** 3).sum(), [xt, bn.weight, bn.bias])  # type: ignore[operator]


def test_batch_norm_buffers_are_saved_and_loaded(tmp_path: object) -> None:
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.BatchNorm1d(4))
    for _ in range(2):
        model(rng.normal(size=(8, 3)))
    state = model.state_dict()
    assert {"1.running_mean", "1.running_var", "1.num_batches_tracked"} <= set(state)
    path = nn.save(model, str(tmp_path) + "/bn")  # type: ignore[operator]
    clone = nn.Sequential(nn.Linear(3, 4, seed=1), nn.BatchNorm1d(4))
    nn.load(path, into=clone)
    np.testing.assert_array_equal(clone[1].running_mean, model[1].running_mean)
    np.testing.assert_array_equal(clone[1].running_var, model[1].running_var)
    assert int(clone[1].num_batches_tracked) == 2
    x = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(clone.eval()(x).data, model.eval()(x).data)
    assert model[1].astype("float32").running_mean.dtype == np.float32


def test_norm_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"input shape \(2, 5\) does not end in normalized_shape"):
        nn.LayerNorm(4)(np.ones((2, 5)))
    with pytest.raises(ValueError, match="eps must be a positive number"):
        nn.LayerNorm(4, eps=0.0)
    with pytest.raises(ValueError, match=r"normalized_shape\[1\] must be a positive integer"):
        nn.LayerNorm((3, 0))
    with pytest.raises(ValueError, match=r"input shape \(2, 4\) is not \(N, C\) or \(N, C, L\)"):
        nn.BatchNorm1d(3)(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"input shape \(2, 3\) is not \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        nn.BatchNorm2d(0)
