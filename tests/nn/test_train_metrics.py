"""fit's metrics, early stopping with the best epoch restored, the tqdm bar, and History.plot."""

from __future__ import annotations

import io
import pathlib
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn.train import accuracy

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = rng.integers(0, 3, size=n)
    return centers[y] + rng.normal(size=(n, 2)), y


def test_accuracy_counts_argmax_and_binary_logits() -> None:
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.5, 0.1], [0.0, 0.0, 3.0], [1.0, 2.0, 0.0]])
    assert accuracy(logits, np.array([0, 1, 2, 0])) == 0.75
    assert accuracy(np.array([[1.5], [-0.2], [0.3]]), np.array([1.0, 0.0, 0.0])) == 2 / 3
    assert accuracy(np.array([1.5, -0.2]), np.array([1, 1])) == 0.5
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3,\)"):
        accuracy(logits, np.array([0, 1, 2]))


def test_metrics_record_training_and_validation_accuracy() -> None:
    X, y = blobs(200)
    model = nn.MLP([2, 16, 3], seed=0)
    h = nn.fit(
        model,
        nn.cross_entropy,
        X[:150],
        y[:150],
        nn.Adam(model, lr=0.02),
        epochs=6,
        batch_size=25,
        validation_data=(X[150:], y[150:]),
        metrics=("accuracy",),
    )
    assert len(h.accuracy) == len(h.val_accuracy) == 6
    assert all(0.0 <= a <= 1.0 for a in h.accuracy + h.val_accuracy)
    assert h.accuracy[-1] > h.accuracy[0] and h.val_accuracy[-1] > 0.9
    # The validation accuracy is that of the model after the epoch, in eval mode.
    model.eval()
    assert h.val_accuracy[-1] == accuracy(model(X[150:]), y[150:])
    assert h.best_epoch == int(np.argmin(h.val_loss)) + 1


def test_without_metrics_the_accuracy_lists_stay_empty() -> None:
    X, y = blobs(40)
    model = nn.MLP([2, 4, 3], seed=0)
    h = nn.fit(model, nn.cross_entropy, X, y, nn.SGD(model, lr=0.1), epochs=2)
    assert h.accuracy == [] and h.val_accuracy == [] and len(h.loss) == 2
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        nn.fit(model, nn.cross_entropy, X, y, nn.SGD(model, lr=0.1), metrics=["f1"])


def test_patience_stops_and_restores_the_best_epoch() -> None:
    # Validation labels that the training data contradicts: the validation loss soon rises.
    X, y = blobs(120)
    Xv, yv = X[:40], (y[:40] + 1) % 3
    model = nn.MLP([2, 16, 3], seed=1)
    snapshots: dict[int, dict[str, np.ndarray]] = {}

    def keep(epoch: int, loss: float) -> None:
        snapshots[epoch] = model.state_dict()

    h = nn.fit(
        model,
        nn.cross_entropy,
        X,
        y,
        nn.Adam(model, lr=0.05),
        epochs=60,
        batch_size=20,
        validation_data=(Xv, yv),
        patience=3,
        callback=keep,
    )
    assert h.stopped_early and h.epochs < 60 and "early stopping" in h.reason
    assert h.epochs - h.best_epoch == 3 and h.restored
    assert h.best_epoch == int(np.argmin(h.val_loss)) + 1
    best = snapshots[h.best_epoch]
    last = snapshots[h.epochs]
    state = model.state_dict()
    assert all(np.array_equal(state[k], best[k]) for k in best)
    assert not all(np.array_equal(state[k], last[k]) for k in last)


def test_patience_without_restore_keeps_the_last_weights() -> None:
    X, y = blobs(120)
    model = nn.MLP([2, 16, 3], seed=1)
    h = nn.fit(
        model,
        nn.cross_entropy,
        X,
        y,
        nn.Adam(model, lr=0.05),
        epochs=40,
        batch_size=20,
        validation_data=(X[:40], (y[:40] + 1) % 3),
        patience=3,
        restore_best=False,
    )
    assert h.stopped_early and not h.restored
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        nn.fit(model, nn.cross_entropy, X, y, nn.SGD(model, lr=0.1), patience=0)


def test_the_bar_shows_steps_epochs_and_live_figures() -> None:
    X, y = blobs(60)
    model = nn.MLP([2, 4, 3], seed=0)
    stream = io.StringIO()
    nn.fit(
        model,
        nn.cross_entropy,
        X,
        y,
        nn.Adam(model, lr=0.01),
        epochs=3,
        batch_size=20,
        metrics=("accuracy",),
        progress="bar",
        stream=stream,
    )
    text = stream.getvalue()
    assert "epoch 3/3" in text and "9/9" in text and "step" in text
    assert "loss " in text and "acc " in text
    with pytest.raises(ValueError, match="progress must be"):
        nn.fit(model, nn.cross_entropy, X, y, nn.SGD(model, lr=0.1), progress="dots")


def _history() -> nn.History:
    X, y = blobs(90)
    model = nn.MLP([2, 8, 3], seed=0)
    return nn.fit(
        model,
        nn.cross_entropy,
        X[:60],
        y[:60],
        nn.Adam(model, lr=0.05),
        epochs=4,
        validation_data=(X[60:], y[60:]),
        metrics=("accuracy",),
    )


def test_history_plot_returns_a_figure_and_writes_by_suffix(tmp_path: pathlib.Path) -> None:
    h = _history()
    fig = h.plot(tmp_path / "c.svg", title="blobs")
    assert len(fig.axes) == 2  # loss and accuracy
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].lines[0].get_ydata()) == 4
    root = ET.parse(tmp_path / "c.svg").getroot()
    assert root.tag.endswith("svg")
    h.plot(tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="exists; pass --force"):
        h.plot(tmp_path / "c.png")
    h.plot(tmp_path / "c.png", force=True)
    with pytest.raises(ValueError, match="end it in"):
        h.plot(tmp_path / "c.jpg")
    assert not (tmp_path / "c.jpg").exists()


def test_repr_svg_is_svg_and_reproducible() -> None:
    h = _history()
    svg = h._repr_svg_()
    assert svg == h._repr_svg_()  # no date, fixed ids
    assert ET.fromstring(svg.encode()).tag.endswith("svg")
    assert nn.History()._repr_svg_() == ""
    with pytest.raises(ValueError, match="no epochs"):
        nn.History().plot()


def test_a_history_without_accuracy_has_one_panel() -> None:
    X, y = blobs(30)
    model = nn.MLP([2, 4, 3], seed=0)
    h = nn.fit(model, nn.cross_entropy, X, y, nn.SGD(model, lr=0.1), epochs=2)
    assert len(h.plot().axes) == 1
