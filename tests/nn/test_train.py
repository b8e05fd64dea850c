"""fit: XOR to 100 %, mini-batches with cross-entropy, float32 end to end, callbacks, progress."""

import io

import numpy as np
import pytest

from chainrule.nn import (
    MLP,
    SGD,
    Adam,
    Linear,
    binary_cross_entropy_with_logits,
    cross_entropy,
    fit,
    mse_loss,
)
from chainrule.nn.train import NonFiniteLossWarning

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([[0.0], [1.0], [1.0], [0.0]])


def test_xor_reaches_full_accuracy() -> None:
    model = MLP([2, 8, 1], activation="tanh", rng=0)
    assert ((model(X_XOR).data > 0) == (Y_XOR > 0.5)).mean() < 1.0  # untrained: not yet solved
    history = fit(
        model, binary_cross_entropy_with_logits, X_XOR, Y_XOR, Adam(model, lr=0.05), epochs=300
    )
    assert len(history.loss) == history.epochs == 300 and not history.stopped_early
    assert history.loss[-1] < 0.01 < 0.5 < history.loss[0]
    assert ((model(X_XOR).data > 0) == (Y_XOR > 0.5)).all()


def blobs(n: int, dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = rng.integers(0, 3, size=n)
    X = centers[y] + rng.normal(size=(n, 2))
    return X.astype(dtype), y


def test_minibatch_cross_entropy_learns_three_classes() -> None:
    X, y = blobs(300)
    model = MLP([2, 16, 3], rng=1)
    history = fit(
        model,
        cross_entropy,
        X,
        y,
        SGD(model, lr=0.1, momentum=0.9),
        epochs=15,
        batch_size=32,
        seed=0,
    )
    assert history.loss[-1] < 0.5 * history.loss[0]
    accuracy = (model(X).data.argmax(axis=1) == y).mean()
    assert accuracy > 0.95


def test_float32_training_end_to_end() -> None:
    X, y = blobs(120, "float32")
    model = MLP([2, 8, 3], dtype="float32", rng=0)
    fit(model, cross_entropy, X, y, Adam(model, lr=0.02), epochs=5, batch_size=16)
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    assert model(X).dtype == np.float32


def test_same_seed_same_run() -> None:
    X, y = blobs(64)
    runs = []
    for _ in range(2):
        model = MLP([2, 4, 3], rng=3)
        runs.append(
            fit(
                model, cross_entropy, X, y, SGD(model, lr=0.05), epochs=3, batch_size=10, seed=5
            ).loss
        )
    assert runs[0] == runs[1]


def test_callback_stops_and_sees_each_epoch() -> None:
    seen: list[tuple[int, float]] = []

    def callback(epoch: int, loss: float) -> bool:
        seen.append((epoch, loss))
        return epoch == 3

    lin = Linear(2, 1, rng=0)
    h = fit(lin, mse_loss, X_XOR, Y_XOR, SGD(lin, lr=0.1), epochs=10, callback=callback)
    assert [e for e, _ in seen] == [1, 2, 3] and h.epochs == 3 and h.stopped_early
    assert [loss for _, loss in seen] == h.loss


def test_progress_goes_to_the_stream_only_when_asked() -> None:
    lin = Linear(2, 1, rng=0)
    quiet, loud = io.StringIO(), io.StringIO()
    fit(lin, mse_loss, X_XOR, Y_XOR, SGD(lin, lr=0.1), epochs=2, stream=quiet)
    fit(lin, mse_loss, X_XOR, Y_XOR, SGD(lin, lr=0.1), epochs=2, stream=loud, progress=True)
    assert quiet.getvalue() == ""
    lines = loud.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  loss ")


def test_divergence_stops_training() -> None:
    lin = Linear(2, 1, rng=0)
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.warns(NonFiniteLossWarning, match="loss is"),
    ):
        h = fit(lin, mse_loss, X_XOR * 1e3, Y_XOR, SGD(lin, lr=1e3), epochs=50)
    assert h.stopped_early and "loss is" in h.reason and h.epochs < 50


def test_fit_validation() -> None:
    lin = Linear(2, 1, rng=0)
    opt = SGD(lin, lr=0.1)
    with pytest.raises(ValueError, match=r"X has 4 samples \(shape \(4, 2\)\) but y has 3"):
        fit(lin, mse_loss, X_XOR, Y_XOR[:3], opt)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        fit(lin, mse_loss, X_XOR, Y_XOR, opt, batch_size=0)
    with pytest.raises(ValueError, match="loss_fn must return a scalar Tensor"):
        fit(lin, lambda p, t: mse_loss(p, t, reduction="none"), X_XOR, Y_XOR, opt)


def test_validation_loss_is_recorded_without_a_graph() -> None:
    X, y = blobs(90)
    model = MLP([2, 8, 3], rng=0)
    stream = io.StringIO()
    h = fit(
        model,
        cross_entropy,
        X[:60],
        y[:60],
        Adam(model, lr=0.05),
        epochs=4,
        batch_size=20,
        validation_data=(X[60:], y[60:]),
        progress=True,
        stream=stream,
    )
    assert len(h.val_loss) == 4 and h.val_loss[-1] < h.val_loss[0]
    assert model.training  # back in training mode after each evaluation
    assert "val " in stream.getvalue().splitlines()[-1]
    np.testing.assert_allclose(h.val_loss[-1], cross_entropy(model(X[60:]), y[60:]).item())
