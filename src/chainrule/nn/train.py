"""``fit``: the mini-batch training loop, with a history, metrics, early stopping and progress.

One epoch visits every sample once, in a shuffled order (a generator seeded by ``seed``, so a run
repeats exactly), in batches of ``batch_size``; each batch does ``zero_grad``, forward, loss,
``backward`` and ``optimizer.step()``. The epoch's loss is the mean of the batch losses weighted by
batch size (the loss over the epoch for mean-reduced losses); with ``metrics=("accuracy",)`` the
epoch's accuracy is counted the same way, from the predictions the batches were trained on.

A batch loss that is nan or inf stops training at once, before its ``backward`` and ``step`` (so the
parameters are those the bad loss was computed with, not poisoned by nan gradients), with a
:class:`NonFiniteLossWarning` naming the epoch and the step; ``History.stopped_early`` and
``History.reason`` say so too.

Early stopping (``patience``) watches the validation loss (the training loss without validation
data) and, with ``restore_best``, leaves the parameters of the best epoch when training ends.

The stages of :func:`fit`: check the data and the schedule (:func:`_check_data`,
:func:`_check_schedule`), train one epoch (:func:`_train_epoch`), record it (:func:`_record_epoch`:
validation loss and metrics), show it (:class:`_Progress`), and decide whether to stop
(:func:`_non_finite_stop`, the callback, :class:`_EarlyStopping`).
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

import chainrule.autodiff as ad
from chainrule import backend
from chainrule.autodiff import Tensor
from chainrule.nn.optim import Optimizer, _copy

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["METRICS", "History", "NonFiniteLossWarning", "accuracy", "fit"]

#: The metrics ``fit(metrics=...)`` knows.
METRICS = ("accuracy",)


class NonFiniteLossWarning(RuntimeWarning):
    """``fit`` stopped because a batch loss was nan or inf; the message names the epoch and step."""


@dataclass
class History:
    """What ``fit`` did, one entry per epoch.

    ``loss[k]`` is the mean training loss of epoch ``k + 1`` (``val_loss[k]`` the loss on the
    validation data after it, when given); ``accuracy`` and ``val_accuracy`` likewise, when
    ``fit`` was asked for ``metrics=("accuracy",)`` (else empty). ``best_epoch`` is the epoch
    (from 1) of the lowest validation loss (training loss without validation data), 0 before any
    epoch; ``restored`` says whether ``fit`` put that epoch's parameters back (``patience`` with
    ``restore_best``). ``stopped_early`` says whether a callback, early stopping or a non-finite
    loss ended training before ``epochs``, and ``reason`` why.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    reason: str = ""
    best_epoch: int = 0
    restored: bool = False

    def __repr__(self) -> str:
        last = f", last loss {self.loss[-1]:.6g}" if self.loss else ""
        return f"History({self.epochs} epochs{last}, {self.seconds:.2f} s)"

    def plot(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        title: str | None = None,
        force: bool = False,
    ) -> Figure:
        """The learning curves as a matplotlib Figure (see :func:`chainrule.nn.plot.plot_history`):
        loss, and accuracy when recorded, for training and validation, the best epoch marked.

        Args:
            path: also write the figure there, in the format of its suffix (``.svg``, ``.png``,
                ``.pdf``), atomically.
            title: the figure's title.
            force: replace an existing file at ``path``.

        Raises:
            ImportError: matplotlib is not installed (the message says how to install it).
            ValueError: no epochs to plot; an unknown suffix; ``path`` exists without ``force``.
        """
        from chainrule.nn.plot import plot_history

        return plot_history(self, path, title=title, force=force)

    def _repr_svg_(self) -> str:
        """Jupyter's view: the learning curves as SVG text (empty before any epoch)."""
        if not self.loss:
            return ""
        from chainrule.nn.plot import render_history

        return render_history(self, "svg").decode("utf-8")


# --- metrics ---------------------------------------------------------------------------------------


def _numpy(x: Any) -> np.ndarray:
    d = x.data if isinstance(x, Tensor) else x
    return np.asarray(backend.to_numpy(d) if backend.is_array(d) else d)


def _correct(pred: Any, target: Any) -> int:
    """How many predictions in the batch are right (see :func:`accuracy`)."""
    p, t = _numpy(pred), _numpy(target)
    if p.ndim >= 1 and p.shape[-1] >= 2 and p.shape[:-1] == t.shape:
        return int(np.count_nonzero(p.argmax(axis=-1) == t))
    if p.shape == t.shape or (p.ndim == t.ndim + 1 and p.shape[-1] == 1):
        hits = (p.reshape(t.shape) > 0) == (t > 0.5)
        return int(np.count_nonzero(hits))
    raise ValueError(
        f"accuracy: predictions of shape {p.shape} do not fit targets of shape {t.shape} "
        "(class logits (N, C) with classes (N,), or logits (N,) or (N, 1) with 0/1 targets)"
    )


def accuracy(input: Any, target: Any) -> float:
    """The fraction of right predictions.

    Args:
        input: class logits (or probabilities) of shape ``(N, C)``, ``C >= 2``: the prediction is
            the argmax; or binary logits of shape ``(N,)`` or ``(N, 1)``: the prediction is
            ``logit > 0``.
        target: class indices ``(N,)`` for ``(N, C)``; 0/1 values (a target above 0.5 is class 1)
            of the logits' shape (or ``(N,)`` for ``(N, 1)``) otherwise.

    Raises:
        ValueError: shapes that fit neither case (both named); no samples.
    """
    n = _numpy(target).size
    if n == 0:
        raise ValueError("accuracy: no samples")
    return _correct(input, target) / n


def _check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    names = tuple(str(m).lower() for m in metrics)
    for m in names:
        if m not in METRICS:
            raise ValueError(f"fit: unknown metric {m!r}; the metrics are {', '.join(METRICS)}")
    return names


# --- stage 1: the data and the schedule ------------------------------------------------------------


def _data(x: Any, name: str) -> Any:
    d = x.data if isinstance(x, Tensor) else x
    if not backend.is_array(d) or isinstance(d, np.generic):
        d = np.asarray(d)
    if d.ndim == 0:
        raise ValueError(f"fit: {name} must have a sample axis, got a scalar")
    return d


def _take(d: Any, idx: np.ndarray) -> Any:
    if isinstance(d, np.ndarray):
        return d[idx]
    xp = backend.array_namespace(d)
    return xp.take(d, xp.asarray(idx), axis=0)


def _check_data(
    X: Any, y: Any, validation_data: tuple[Any, Any] | None
) -> tuple[Any, Any, tuple[Tensor, Any] | None]:
    """``(X, y, validation)`` as arrays (validation as ``(Tensor, array)`` or None).

    Raises:
        ValueError: a scalar, X and y (or X_val and y_val) of different lengths, no samples.
    """
    Xd, yd = _data(X, "X"), _data(y, "y")
    val = None
    if validation_data is not None:
        Xv, yv = (_data(a, n) for a, n in zip(validation_data, ("X_val", "y_val"), strict=True))
        if int(Xv.shape[0]) != int(yv.shape[0]):
            raise ValueError(
                f"fit: X_val has {int(Xv.shape[0])} samples but y_val has {int(yv.shape[0])}"
            )
        val = (ad.as_tensor(Xv), yv)
    n = int(Xd.shape[0])
    if int(yd.shape[0]) != n:
        raise ValueError(
            f"fit: X has {n} samples (shape {tuple(Xd.shape)}) but y has "
            f"{int(yd.shape[0])} (shape {tuple(yd.shape)})"
        )
    if n == 0:
        raise ValueError("fit: no samples")
    return Xd, yd, val


def _check_schedule(epochs: Any, batch_size: Any, n: int, patience: Any) -> int:
    """The batch size to use (at most ``n``).

    Raises:
        ValueError: ``epochs`` not an int >= 0, ``batch_size`` not a positive int or None,
            ``patience`` not a positive int or None.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, not {epochs!r}")
    bs = n if batch_size is None else batch_size
    if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
        raise ValueError(f"batch_size must be a positive integer or None, not {batch_size!r}")
    if patience is not None and (
        isinstance(patience, bool) or not isinstance(patience, int) or patience < 1
    ):
        raise ValueError(f"patience must be a positive integer or None, not {patience!r}")
    return min(bs, n)


# --- stage 2: one epoch ----------------------------------------------------------------------------


@dataclass
class _Epoch:
    """What one pass over the data gave: sums over the batches seen, and why it stopped, if so."""

    total: float = 0.0
    seen: int = 0
    correct: int = 0
    bad: str = ""


def _train_epoch(
    model: Callable[[Any], Any],
    loss_fn: Callable[[Any, Any], Any],
    optimizer: Optimizer,
    data: tuple[Any, Any],
    order: np.ndarray,
    bs: int,
    where: tuple[int, int],
    count_correct: bool,
    progress: _Progress,
) -> tuple[_Epoch, int]:
    """Train on every batch of ``order``; returns the epoch's sums and the overall step count.

    ``where`` is ``(epoch, steps before this epoch)``. A non-finite batch loss ends the epoch
    before that batch's backward and step (``_Epoch.bad`` says where).
    """
    Xd, yd = data
    epoch, step = where
    n = int(order.shape[0])
    steps_per_epoch = -(-n // bs)
    out = _Epoch()
    for lo in range(0, n, bs):
        idx = order[lo : lo + bs]
        xb = ad.as_tensor(_take(Xd, idx))
        yb = _take(yd, idx)
        optimizer.zero_grad()
        pred = model(xb)
        loss = loss_fn(pred, yb)
        if not isinstance(loss, Tensor) or loss.size != 1:
            shape = getattr(loss, "shape", type(loss).__name__)
            raise ValueError(f"fit: loss_fn must return a scalar Tensor, got {shape}")
        value = float(loss.item())
        step += 1
        out.total += value * len(idx)
        out.seen += len(idx)
        if count_correct:
            out.correct += _correct(pred, yb)
        if not math.isfinite(value):
            # Stop before backward/step: nan gradients would overwrite every parameter.
            out.bad = (
                f"loss is {value} at epoch {epoch}, step {lo // bs + 1} of "
                f"{steps_per_epoch} (step {step} overall)"
            )
            break
        if loss.requires_grad:
            loss.backward()
        optimizer.step()
        progress.step(out.total / out.seen)
    return out, step


# --- stage 3: record the epoch ---------------------------------------------------------------------


def _evaluate(
    model: Callable[[Any], Any],
    loss_fn: Callable[[Any, Any], Any],
    X: Any,
    y: Any,
    count_correct: bool = False,
) -> tuple[float, float | None]:
    """The loss (and accuracy, when asked) on ``(X, y)`` in eval mode, without recording a graph."""
    if hasattr(model, "eval"):
        model.eval()
    try:
        with ad.no_grad():
            pred = model(X)
            loss = float(loss_fn(pred, y).item())
            acc = _correct(pred, y) / max(1, int(_numpy(y).shape[0])) if count_correct else None
            return loss, acc
    finally:
        if hasattr(model, "train"):
            model.train()


def _record_epoch(
    history: History,
    result: _Epoch,
    n: int,
    epoch: int,
    evaluate: Callable[[], tuple[float, float | None]] | None,
    count_correct: bool,
) -> None:
    """Append epoch ``epoch``'s training figures and, with ``evaluate``, its validation figures."""
    seen = result.seen if result.bad else n
    history.loss.append(result.total / seen)
    if count_correct:
        history.accuracy.append(result.correct / seen)
    history.epochs = epoch
    if evaluate is not None:
        val_loss, val_acc = evaluate()
        history.val_loss.append(val_loss)
        if val_acc is not None:
            history.val_accuracy.append(val_acc)
    watched = history.val_loss if evaluate is not None else history.loss
    if math.isfinite(watched[-1]) and (
        history.best_epoch == 0 or watched[-1] < watched[history.best_epoch - 1]
    ):
        history.best_epoch = epoch


# --- stage 4: show it ------------------------------------------------------------------------------


def _isatty(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


class _Progress:
    """The progress display: nothing, a line per epoch (``"lines"``), or a tqdm bar (``"bar"``)
    over all the steps with the ETA and the live loss and accuracy."""

    def __init__(self, mode: str, stream: TextIO, epochs: int, steps_per_epoch: int) -> None:
        self.mode, self.stream, self.epochs = mode, stream, epochs
        self.start = time.perf_counter()
        self.bar: Any = None
        self._last = 0.0
        if mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=epochs * steps_per_epoch,
                desc=f"epoch 1/{epochs}",
                unit="step",
                file=stream,
                leave=True,
                mininterval=0.1,
                dynamic_ncols=_isatty(stream),
            )

    @staticmethod
    def make(
        progress: bool | str | None, stream: TextIO | None, epochs: int, steps: int
    ) -> _Progress:
        """The display ``progress`` asks for (None: lines when ``stream`` is a terminal).

        Raises:
            ValueError: an unknown ``progress``.
        """
        out = stream if stream is not None else sys.stderr
        if progress is None:
            mode = "lines" if _isatty(out) else "none"
        elif progress is True or progress == "lines":
            mode = "lines"
        elif progress is False:
            mode = "none"
        elif progress == "bar":
            mode = "bar"
        else:
            raise ValueError(
                f"progress must be True, False, None, 'lines' or 'bar', not {progress!r}"
            )
        return _Progress(mode, out, epochs, steps)

    def step(self, running_loss: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            now = time.perf_counter()
            if now - self._last > 0.1:
                self._last = now
                self.bar.set_postfix_str(f"loss {running_loss:.4g}", refresh=False)

    def epoch(self, history: History) -> None:
        epoch = history.epochs
        parts = [f"loss {history.loss[-1]:.6g}"]
        if history.accuracy:
            parts.append(f"acc {history.accuracy[-1]:.4f}")
        if history.val_loss:
            parts.append(f"val {history.val_loss[-1]:.6g}")
        if history.val_accuracy:
            parts.append(f"val_acc {history.val_accuracy[-1]:.4f}")
        if self.bar is not None:
            self.bar.set_description_str(f"epoch {min(epoch + 1, self.epochs)}/{self.epochs}")
            self.bar.set_postfix_str("  ".join(parts), refresh=True)
        elif self.mode == "lines":
            elapsed = time.perf_counter() - self.start
            end = "\r" if _isatty(self.stream) and epoch < self.epochs else "\n"
            print(
                f"epoch {epoch}/{self.epochs}  {'  '.join(parts)}  {elapsed:.1f} s",
                end=end,
                file=self.stream,
                flush=True,
            )

    def close(self, stopped_early: bool) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.mode == "lines" and stopped_early and _isatty(self.stream):
            print(file=self.stream)


# --- stage 5: stop? --------------------------------------------------------------------------------


def _non_finite_stop(history: History, bad: str) -> bool:
    """Stop (with a :class:`NonFiniteLossWarning`) when the epoch's loss is not finite."""
    epoch_loss = history.loss[-1]
    if not bad and math.isfinite(epoch_loss):
        return False
    history.stopped_early = True
    history.reason = bad or f"loss is {epoch_loss} at epoch {history.epochs}"
    warnings.warn(
        NonFiniteLossWarning(
            f"fit: training stopped: {history.reason}; the parameters are left as "
            "that loss found them (no update from it). Lower the learning rate, scale "
            "the inputs, or clip the gradients (nn.clip_grad_norm)."
        ),
        stacklevel=3,
    )
    return True


class _EarlyStopping:
    """Stop after ``patience`` epochs without a new best (``History.best_epoch``), keeping a copy
    of the best parameters to restore (a Module's state dict; else the optimizer's parameters)."""

    def __init__(
        self, patience: int | None, restore_best: bool, model: Any, optimizer: Optimizer
    ) -> None:
        self.patience = patience
        self.keep = patience is not None and restore_best
        self.model, self.optimizer = model, optimizer
        self.best: Any = None
        self.best_epoch = 0

    def _snapshot(self) -> Any:
        if hasattr(self.model, "state_dict") and hasattr(self.model, "load_state_dict"):
            return self.model.state_dict()
        return [_copy(p.data) for p in self.optimizer.params]

    def update(self, history: History, watched: str) -> bool:
        """Note the epoch just recorded; True when it is time to stop."""
        if self.patience is None:
            return False
        if history.best_epoch != self.best_epoch:
            self.best_epoch = history.best_epoch
            if self.keep:
                self.best = self._snapshot()
        waited = history.epochs - self.best_epoch
        if waited < self.patience:
            return False
        history.stopped_early = True
        history.reason = (
            f"early stopping at epoch {history.epochs}: no lower {watched} in {self.patience} "
            f"epochs (best at epoch {self.best_epoch})"
        )
        return True

    def finish(self, history: History) -> None:
        """Put the best epoch's parameters back (when asked and another epoch came after it)."""
        if not self.keep or self.best is None or self.best_epoch == history.epochs:
            return
        if isinstance(self.best, list):
            for p, saved in zip(self.optimizer.params, self.best, strict=True):
                if isinstance(p.data, np.ndarray) and p.data.flags.writeable:
                    p.data[...] = saved  # in place: views of the parameter see it too
                else:
                    p.data = saved
        else:
            self.model.load_state_dict(self.best)
        history.restored = True


# --- the loop --------------------------------------------------------------------------------------


def fit(
    model: Callable[[Any], Any],
    loss_fn: Callable[[Any, Any], Any],
    X: Any,
    y: Any,
    optimizer: Optimizer,
    epochs: int = 1,
    batch_size: int | None = None,
    *,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = 0,
    callback: Callable[[int, float], Any] | None = None,
    validation_data: tuple[Any, Any] | None = None,
    metrics: Sequence[str] = (),
    patience: int | None = None,
    restore_best: bool = True,
    progress: bool | str | None = None,
    stream: TextIO | None = None,
) -> History:
    """Train ``model`` on ``(X, y)`` with ``optimizer`` and return the :class:`History`.

    Args:
        model: a callable (a Module) mapping a batch of ``X`` (a Tensor) to predictions.
        loss_fn: ``loss_fn(predictions, targets) -> scalar Tensor``; targets are passed as plain
            arrays (so integer class labels stay integers).
        X, y: arrays (or Tensors) with the samples on axis 0, the same number of them.
        optimizer: it must hold the model's parameters.
        epochs: passes over the data (>= 0).
        batch_size: samples per step; ``None`` means the whole set (full-batch).
        shuffle: reshuffle the samples every epoch.
        seed: int seed or Generator for the shuffling.
        callback: ``callback(epoch, loss)`` after each epoch (epoch counts from 1); returning
            ``True`` stops training.
        validation_data: ``(X_val, y_val)``, evaluated after each epoch in eval mode without
            recording a graph; the loss goes to ``History.val_loss``.
        metrics: ``("accuracy",)`` records ``History.accuracy`` (counted on the training batches
            as they are trained) and ``History.val_accuracy`` (see :func:`accuracy`).
        patience: stop after this many epochs without a lower validation loss (training loss
            without validation data); ``None``: no early stopping.
        restore_best: with ``patience``, end with the parameters of the best epoch
            (``History.best_epoch``), however training ended.
        progress: ``"lines"`` (or ``True``): a line per epoch on ``stream``; ``"bar"``: a tqdm
            progress bar over the steps with the ETA and the live loss (and accuracy);
            ``False``: nothing; ``None``: lines only when ``stream`` is a terminal.
        stream: where progress goes (default ``sys.stderr``).

    Raises:
        ValueError: ``X`` and ``y`` differ in length; bad ``epochs``/``batch_size``/``patience``/
            ``progress``; an unknown metric; ``loss_fn`` returned a non-scalar; accuracy asked of
            predictions that do not fit the targets.

    Warns:
        NonFiniteLossWarning: a batch loss was nan or inf; training stopped there (before that
            batch's update), and ``History.reason`` names the epoch and step.
    """
    Xd, yd, val = _check_data(X, y, validation_data)
    n = int(Xd.shape[0])
    bs = _check_schedule(epochs, batch_size, n, patience)
    count_correct = "accuracy" in _check_metrics(metrics)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    display = _Progress.make(progress, stream, epochs, -(-n // bs))
    stopper = _EarlyStopping(patience, restore_best, model, optimizer)
    watched = "validation loss" if val is not None else "training loss"
    evaluate: Callable[[], tuple[float, float | None]] | None = None
    if val is not None:
        evaluate = functools.partial(_evaluate, model, loss_fn, val[0], val[1], count_correct)
    if hasattr(model, "train"):
        model.train()
    history = History()
    start = time.perf_counter()
    order = np.arange(n)
    step = 0
    try:
        with ad.enable_grad():
            for epoch in range(1, epochs + 1):
                if shuffle:
                    order = rng.permutation(n)
                result, step = _train_epoch(
                    model,
                    loss_fn,
                    optimizer,
                    (Xd, yd),
                    order,
                    bs,
                    (epoch, step),
                    count_correct,
                    display,
                )
                _record_epoch(history, result, n, epoch, evaluate, count_correct)
                display.epoch(history)
                if _non_finite_stop(history, result.bad):
                    break
                if callback is not None and callback(epoch, history.loss[-1]) is True:
                    history.stopped_early = True
                    history.reason = f"callback stopped at epoch {epoch}"
                    break
                if stopper.update(history, watched):
                    break
    finally:
        display.close(history.stopped_early)
    stopper.finish(history)
    history.seconds = time.perf_counter() - start
    return history
