"""Normalisation layers: :class:`LayerNorm`, :class:`BatchNorm1d`, :class:`BatchNorm2d`.

Both normalise ``x̂ = (x − μ) / √(σ² + eps)`` with the biased variance ``σ²`` and, when affine,
return ``x̂ · weight + bias``; they differ in the axes that ``μ`` and ``σ²`` are taken over:

- ``LayerNorm(normalized_shape)``: the last ``len(normalized_shape)`` axes of each sample; the same in
  training and evaluation.
- ``BatchNorm1d(C)`` on ``(N, C)`` or ``(N, C, L)`` and ``BatchNorm2d(C)`` on ``(N, C, H, W)``: every
  axis but the channel axis. In training mode (or with ``track_running_stats=False``) the batch's
  statistics are used and (when tracked) the buffers move towards them, as PyTorch does:
  ``running_mean ← (1 − m)·running_mean + m·μ`` and
  ``running_var ← (1 − m)·running_var + m·σ²·n/(n − 1)`` (the unbiased variance, n values per
  channel), ``m = momentum`` (``momentum=None``: the cumulative average, ``m = 1/num_batches_tracked``).
  In evaluation mode the running statistics are used. ``running_mean``, ``running_var`` and
  ``num_batches_tracked`` are buffers: ``state_dict``, ``save`` and ``load`` carry them.

Everything is written with the autodiff primitives (mean, subtraction, ``sqrt``...), so gradients of
every order flow through the batch statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule import backend
from chainrule.autodiff import Tensor
from chainrule.nn.layers import _check_size, _dtype
from chainrule.nn.module import Module, parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "layer_norm"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", np.shape(x)))


def _eps(eps: Any) -> float:
    value = float(eps)
    if not value > 0.0 or not math.isfinite(value):
        raise ValueError(f"eps must be a positive number, not {eps!r}")
    return value


def layer_norm(
    x: Any,
    normalized_shape: Sequence[int],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Any:
    """Normalise ``x`` over its last ``len(normalized_shape)`` axes (PyTorch's ``layer_norm``).

    Raises:
        ValueError: ``x``'s shape does not end in ``normalized_shape`` (both named).
    """
    shape = _shape(x)
    norm = tuple(int(s) for s in normalized_shape)
    if len(shape) < len(norm) or shape[len(shape) - len(norm) :] != norm:
        raise ValueError(f"layer_norm: input shape {shape} does not end in normalized_shape {norm}")
    axes = tuple(range(len(shape) - len(norm), len(shape)))
    if not isinstance(x, Tensor):
        x = ad.as_tensor(x)
    centred = x - ad.mean(x, axis=axes, keepdims=True)
    var = ad.mean(centred * centred, axis=axes, keepdims=True)
    y = centred / ad.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` axes (PyTorch's ``LayerNorm``).

    Args:
        normalized_shape: an int or a tuple of positive ints: the trailing shape normalised.
        eps: added to the variance (positive).
        elementwise_affine: learn ``weight`` (ones) and ``bias`` (zeros) of ``normalized_shape``.
        bias: with ``elementwise_affine``, also learn the bias.
        dtype: parameters' dtype (floating).

    Raises:
        ValueError: a non-positive size or eps, a non-floating dtype; in ``forward``, an input whose
            shape does not end in ``normalized_shape``.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = "float64",
    ) -> None:
        super().__init__()
        items = (
            (normalized_shape,)
            if isinstance(normalized_shape, (int, np.integer))
            else tuple(normalized_shape)
        )
        if not items:
            raise ValueError("normalized_shape must have at least one size")
        self.normalized_shape = tuple(
            _check_size(f"normalized_shape[{i}]", s) for i, s in enumerate(items)
        )
        self.eps = _eps(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dt = _dtype(dtype)
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        if self.elementwise_affine:
            self.weight = parameter(np.ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = parameter(np.zeros(self.normalized_shape, dtype=dt))

    def forward(self, x: Any) -> Any:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps:g}, "
            f"elementwise_affine={self.elementwise_affine}"
        )


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d (``_ndims``: the input ranks they accept)."""

    _ndims: tuple[int, ...] = ()
    _layout = ""
    running_mean: Any
    running_var: Any
    num_batches_tracked: Any

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = "float64",
    ) -> None:
        super().__init__()
        self.num_features = _check_size("num_features", num_features)
        self.eps = _eps(eps)
        if momentum is not None and not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, not {momentum!r}")
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dt = _dtype(dtype)
        self.weight: Tensor | None = None
        self.bias: Tensor | None = None
        if self.affine:
            self.weight = parameter(np.ones(self.num_features, dtype=dt))
            self.bias = parameter(np.zeros(self.num_features, dtype=dt))
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            dt = self.running_mean.dtype
            self.running_mean = np.zeros(self.num_features, dtype=dt)
            self.running_var = np.ones(self.num_features, dtype=dt)
            self.num_batches_tracked = np.array(0, dtype=np.int64)

    def forward(self, x: Any) -> Any:
        shape = _shape(x)
        name = type(self).__name__
        if len(shape) not in self._ndims or shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}): input shape {shape} is not {self._layout} with "
                f"C = {self.num_features}"
            )
        if not isinstance(x, Tensor):
            x = ad.as_tensor(x)
        axes = (0, *range(2, len(shape)))
        stat_shape = (1, self.num_features) + (1,) * (len(shape) - 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            count = math.prod(shape[a] for a in axes)
            if self.training and count < 2:
                raise ValueError(
                    f"{name}: training needs more than one value per channel, got input shape "
                    f"{shape}"
                )
            mean = ad.mean(x, axis=axes, keepdims=True)
            centred = x - mean
            var = ad.mean(centred * centred, axis=axes, keepdims=True)
            if self.training and self.track_running_stats:
                self._update(mean, var, count)
            y = centred / ad.sqrt(var + self.eps)
        else:
            xp = backend.array_namespace(x.data)
            rm = backend.asarray(self.running_mean, xp, dtype=x.dtype)
            rv = backend.asarray(self.running_var, xp, dtype=x.dtype)
            y = (x - xp.reshape(rm, stat_shape)) / xp.reshape(xp.sqrt(rv + self.eps), stat_shape)
        if self.weight is not None:
            y = y * ad.reshape(self.weight, stat_shape)
        if self.bias is not None:
            y = y + ad.reshape(self.bias, stat_shape)
        return y

    def _update(self, mean: Tensor, var: Tensor, count: int) -> None:
        tracked = self.num_batches_tracked + 1
        self.num_batches_tracked = (
            np.asarray(tracked) if isinstance(tracked, np.generic) else tracked
        )
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        rm, rv = self.running_mean, self.running_var
        xp = backend.array_namespace(rm)
        batch_mean = xp.reshape(backend.asarray(mean.data, xp, dtype=rm.dtype), (-1,))
        batch_var = xp.reshape(backend.asarray(var.data, xp, dtype=rv.dtype), (-1,))
        unbiased = batch_var * (count / (count - 1))
        self.running_mean = (1.0 - m) * rm + m * batch_mean
        self.running_var = (1.0 - m) * rv + m * unbiased

    def extra_repr(self) -> str:
        momentum = "None" if self.momentum is None else f"{self.momentum:g}"
        return (
            f"{self.num_features}, eps={self.eps:g}, momentum={momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs per channel (PyTorch's
    ``BatchNorm1d``); see the module docstring for training and evaluation modes.

    Args:
        num_features: C.
        eps: added to the variance (positive).
        momentum: the running statistics' update weight in [0, 1], or None (cumulative average).
        affine: learn ``weight`` (ones) and ``bias`` (zeros) of shape ``(C,)``.
        track_running_stats: keep ``running_mean``, ``running_var`` and ``num_batches_tracked``
            buffers (else batch statistics are used in evaluation mode too).
        dtype: parameters' and buffers' dtype (floating).

    Raises:
        ValueError: a bad size, eps, momentum or dtype; in ``forward``, an input of another rank or
            channel count, or a training batch with one value per channel.
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` inputs per channel (PyTorch's ``BatchNorm2d``);
    arguments and errors as :class:`BatchNorm1d`."""

    _ndims = (4,)
    _layout = "(N, C, H, W)"
