"""``fit``: the mini-batch training loop, with a history and optional progress on stderr.

One epoch visits every sample once, in a shuffled order (a generator seeded by ``seed``, so a run
repeats exactly), in batches of ``batch_size``; each batch does ``zero_grad``, forward, loss,
``backward`` and ``optimizer.step()``. The epoch's loss is the mean of the batch losses weighted by
batch size (the loss over the epoch for mean-reduced losses).

A batch loss that is nan or inf stops training at once, before its ``backward`` and ``step`` (so the
parameters are those the bad loss was computed with, not poisoned by nan gradients), with a
:class:`NonFiniteLossWarning` naming the epoch and the step; ``History.stopped_early`` and
``History.reason`` say so too.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

import chainrule.autodiff as ad
from chainrule import backend
from chainrule.autodiff import Tensor
from chainrule.nn.optim import Optimizer

__all__ = ["History", "NonFiniteLossWarning", "fit"]


class NonFiniteLossWarning(RuntimeWarning):
    """``fit`` stopped because a batch loss was nan or inf; the message names the epoch and step."""


@dataclass
class History:
    """What ``fit`` did: ``loss[k]`` is the mean training loss of epoch ``k`` (``val_loss[k]`` the
    loss on the validation data after it, when given); ``stopped_early`` says whether a callback
    (or a non-finite loss) ended training before ``epochs``, and ``reason`` why."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    stopped_early: bool = False
    reason: str = ""

    def __repr__(self) -> str:
        last = f", last loss {self.loss[-1]:.6g}" if self.loss else ""
        return f"History({self.epochs} epochs{last}, {self.seconds:.2f} s)"


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


def _evaluate(
    model: Callable[[Any], Any], loss_fn: Callable[[Any, Any], Any], X: Any, y: Any
) -> float:
    """The loss on ``(X, y)`` in eval mode, without recording a graph."""
    if hasattr(model, "eval"):
        model.eval()
    try:
        with ad.no_grad():
            return float(loss_fn(model(X), y).item())
    finally:
        if hasattr(model, "train"):
            model.train()


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
    progress: bool | None = None,
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
        progress: a line per epoch on stderr (``stream``); ``None``: only when it is a terminal.
        stream: where progress goes (default ``sys.stderr``).

    Raises:
        ValueError: ``X`` and ``y`` differ in length; bad ``epochs``/``batch_size``; ``loss_fn``
            returned a non-scalar.

    Warns:
        NonFiniteLossWarning: a batch loss was nan or inf; training stopped there (before that
            batch's update), and ``History.reason`` names the epoch and step.
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
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, not {epochs!r}")
    bs = n if batch_size is None else batch_size
    if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
        raise ValueError(f"batch_size must be a positive integer or None, not {batch_size!r}")
    bs = min(bs, n)
    out = stream if stream is not None else sys.stderr
    show = progress if progress is not None else bool(getattr(out, "isatty", lambda: False)())
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if hasattr(model, "train"):
        model.train()
    history = History()
    start = time.perf_counter()
    order = np.arange(n)
    steps_per_epoch = -(-n // bs)
    step = 0
    with ad.enable_grad():
        for epoch in range(1, epochs + 1):
            if shuffle:
                order = rng.permutation(n)
            total = 0.0
            seen = 0
            bad = ""
            for lo in range(0, n, bs):
                idx = order[lo : lo + bs]
                xb = ad.as_tensor(_take(Xd, idx))
                yb = _take(yd, idx)
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                if not isinstance(loss, Tensor) or loss.size != 1:
                    shape = getattr(loss, "shape", type(loss).__name__)
                    raise ValueError(f"fit: loss_fn must return a scalar Tensor, got {shape}")
                value = float(loss.item())
                step += 1
                total += value * len(idx)
                seen += len(idx)
                if not math.isfinite(value):
                    # Stop before backward/step: nan gradients would overwrite every parameter.
                    bad = (
                        f"loss is {value} at epoch {epoch}, step {lo // bs + 1} of "
                        f"{steps_per_epoch} (step {step} overall)"
                    )
                    break
                if loss.requires_grad:
                    loss.backward()
                optimizer.step()
            epoch_loss = total / seen if bad else total / n
            history.loss.append(epoch_loss)
            history.epochs = epoch
            val_text = ""
            if val is not None:
                history.val_loss.append(_evaluate(model, loss_fn, *val))
                val_text = f"  val {history.val_loss[-1]:.6g}"
            if show:
                elapsed = time.perf_counter() - start
                end = "\r" if getattr(out, "isatty", lambda: False)() and epoch < epochs else "\n"
                print(
                    f"epoch {epoch}/{epochs}  loss {epoch_loss:.6g}{val_text}  {elapsed:.1f} s",
                    end=end,
                    file=out,
                    flush=True,
                )
            if bad or not math.isfinite(epoch_loss):
                history.stopped_early = True
                history.reason = bad or f"loss is {epoch_loss} at epoch {epoch}"
                warnings.warn(
                    NonFiniteLossWarning(
                        f"fit: training stopped: {history.reason}; the parameters are left as "
                        "that loss found them (no update from it). Lower the learning rate, scale "
                        "the inputs, or clip the gradients (nn.clip_grad_norm)."
                    ),
                    stacklevel=2,
                )
                break
            if callback is not None and callback(epoch, epoch_loss) is True:
                history.stopped_early, history.reason = True, f"callback stopped at epoch {epoch}"
                break
    if show and history.stopped_early and getattr(out, "isatty", lambda: False)():
        print(file=out)
    history.seconds = time.perf_counter() - start
    return history
