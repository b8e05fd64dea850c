"""Ready-made classifiers: :func:`digits_mlp` and :func:`digits_cnn`, the models of ``chainrule train``.

Each is a :class:`~chainrule.nn.layers.Sequential` whose first layer is a :class:`Standardize`
(``(x − mean) / scale`` with the statistics as buffers), so a trained model takes raw features and
:func:`chainrule.nn.save` keeps the statistics with the weights. The output is class logits
``(N, n_classes)`` (train with :func:`~chainrule.nn.losses.cross_entropy`).

- ``digits_mlp``: ``Linear`` layers of the hidden sizes with an activation between them;
- ``digits_cnn``: for images flattened row by row (the digits: 8×8): reshape to ``(N, 1, H, W)``,
  then per entry of ``channels`` a 3×3 convolution (padding 1, the size kept), the activation and
  a 2×2 max-pool, then the flattened maps through ``Linear`` layers of the hidden sizes.

The same arguments (and ``seed``) build the same model, so a saved one is loaded with
``nn.load(path, into=digits_mlp(...same arguments...))``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule.autodiff import Tensor
from chainrule.nn.layers import MLP, Sequential, _check_size, _dtype, as_rng, get_activation
from chainrule.nn.module import Module

__all__ = ["Reshape", "Standardize", "digits_cnn", "digits_mlp"]

#: Bounds of the builders (a model past them is refused before anything is allocated).
MAX_WIDTH = 4096
MAX_LAYERS = 16
MAX_PARAMETERS = 20_000_000


class Standardize(Module):
    """``(x − mean) / scale`` per feature, with ``mean`` and ``scale`` as buffers (saved, not
    trained).

    Args:
        mean, scale: arrays of shape ``(d,)`` (``scale`` > 0; a 0 is taken as 1).
        dtype: the buffers' dtype.

    Raises:
        ValueError: shapes that differ or are not 1-D; a negative or non-finite value; in
            ``forward``, an input whose last axis is not ``d``.
    """

    mean: np.ndarray
    scale: np.ndarray

    def __init__(self, mean: Any, scale: Any, dtype: Any = "float64") -> None:
        super().__init__()
        dt = _dtype(dtype)
        m = np.asarray(mean, dtype=np.float64)
        s = np.asarray(scale, dtype=np.float64)
        if m.ndim != 1 or m.shape != s.shape:
            raise ValueError(
                f"Standardize: mean and scale must have one shape (d,), got {m.shape} and {s.shape}"
            )
        if not (np.isfinite(m).all() and np.isfinite(s).all()) or (s < 0).any():
            raise ValueError("Standardize: mean and scale must be finite, scale >= 0")
        self.register_buffer("mean", m.astype(dt))
        self.register_buffer("scale", np.where(s > 0, s, 1.0).astype(dt))

    def forward(self, x: Any) -> Any:
        d = self.mean.shape[0]
        shape = tuple(getattr(x, "shape", np.shape(x)))
        if not shape or shape[-1] != d:
            raise ValueError(f"Standardize({d}): input shape {shape} does not end in {d}")
        if not isinstance(x, Tensor):
            x = ad.as_tensor(x)
        return (x - self.mean) / self.scale

    def extra_repr(self) -> str:
        return f"{self.mean.shape[0]}"


class Reshape(Module):
    """Reshape each sample: ``(N, ...)`` to ``(N, *shape)``.

    Raises:
        ValueError: in ``forward``, a sample whose size is not that of ``shape``.
    """

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = tuple(_check_size("shape", s) for s in shape)

    def forward(self, x: Any) -> Any:
        if not isinstance(x, Tensor):
            x = ad.as_tensor(x)
        size = int(np.prod(self.shape))
        if x.ndim < 1 or int(np.prod(x.shape[1:])) != size:
            raise ValueError(f"Reshape{self.shape}: input shape {x.shape} has another sample size")
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return ", ".join(str(s) for s in self.shape)


def _sizes(name: str, sizes: Sequence[int]) -> list[int]:
    out = [_check_size(f"{name}[{i}]", s) for i, s in enumerate(sizes)]
    if len(out) > MAX_LAYERS:
        raise ValueError(f"{name}: {len(out)} layers; the limit is {MAX_LAYERS}")
    for i, s in enumerate(out):
        if s > MAX_WIDTH:
            raise ValueError(f"{name}[{i}] is {s:,}; the limit is {MAX_WIDTH:,}")
    return out


def _check_parameters(count: int) -> None:
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"the model would have {count:,} parameters; the limit is {MAX_PARAMETERS:,}"
        )


def _standardize(mean: Any, scale: Any, d: int, dtype: Any) -> Standardize:
    m = np.zeros(d) if mean is None else mean
    s = np.ones(d) if scale is None else scale
    layer = Standardize(m, s, dtype)
    if layer.mean.shape[0] != d:
        raise ValueError(f"mean and scale have {layer.mean.shape[0]} features, the model {d}")
    return layer


def mlp_parameters(sizes: Sequence[int]) -> int:
    """The number of weights and biases of ``Linear`` layers of ``sizes``."""
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


def digits_mlp(
    hidden: Sequence[int] = (256,),
    activation: str = "relu",
    dtype: Any = "float64",
    *,
    n_features: int = 64,
    n_classes: int = 10,
    mean: Any = None,
    scale: Any = None,
    seed: int | np.random.Generator | None = None,
) -> Sequential:
    """``Standardize`` then an :class:`~chainrule.nn.layers.MLP` ``[n_features, *hidden,
    n_classes]`` (Kaiming init for ReLU-family activations, Glorot otherwise).

    Parameters are named ``standardize.*`` (buffers) and ``mlp.fc1.weight``, ``mlp.fc1.bias``, ….

    Raises:
        ValueError: a size that is not a positive int or is past :data:`MAX_WIDTH`, more than
            :data:`MAX_LAYERS` layers or :data:`MAX_PARAMETERS` parameters, an unknown
            activation, mean/scale of another length.
    """
    sizes = [
        _check_size("n_features", n_features),
        *_sizes("hidden", hidden),
        _check_size("n_classes", n_classes),
    ]
    _check_parameters(mlp_parameters(sizes))
    get_activation(activation)
    return Sequential(
        {
            "standardize": _standardize(mean, scale, sizes[0], dtype),
            "mlp": MLP(sizes, activation=activation, dtype=dtype, rng=as_rng(seed)),
        }
    )


def cnn_parameters(
    image_shape: tuple[int, int], channels: Sequence[int], hidden: Sequence[int], n_classes: int
) -> tuple[int, int]:
    """``(parameters, flattened features)`` of :func:`digits_cnn` with these sizes."""
    h, w = image_shape
    count, c_in = 0, 1
    for c in channels:
        count += c * c_in * 9 + c
        c_in, h, w = c, h // 2, w // 2
    flat = c_in * h * w
    return count + mlp_parameters([flat, *hidden, n_classes]), flat


def digits_cnn(
    channels: Sequence[int] = (16, 32),
    hidden: Sequence[int] = (64,),
    activation: str = "relu",
    dtype: Any = "float64",
    *,
    image_shape: tuple[int, int] = (8, 8),
    n_classes: int = 10,
    mean: Any = None,
    scale: Any = None,
    seed: int | np.random.Generator | None = None,
) -> Sequential:
    """A small convolutional network for one-channel images flattened row by row.

    ``Standardize`` (per pixel), ``Reshape(1, H, W)``, then for each entry ``c`` of ``channels``:
    ``Conv2d(·, c, 3, padding=1)``, the activation, ``MaxPool2d(2)`` (halving H and W, rounding
    down); then ``Flatten`` and an MLP ``[c·H'·W', *hidden, n_classes]``. With the defaults on
    8×8 digits: 8×8×16 → 4×4×16 → 4×4×32 → 2×2×32 → 128 → 64 → 10 (13,706 parameters).

    Raises:
        ValueError: bad sizes (as :func:`digits_mlp`); an image too small for the pooling (each
            of H, W must stay >= 1 after ``len(channels)`` halvings).
    """
    from chainrule.nn.conv import Conv2d
    from chainrule.nn.pool import Flatten, MaxPool2d

    if len(image_shape) != 2:
        raise ValueError(f"image_shape must be (H, W), not {image_shape!r}")
    h, w = (_check_size("image_shape", s) for s in image_shape)
    chans = _sizes("channels", channels)
    if not chans:
        raise ValueError("channels: give at least one convolution")
    if h >> len(chans) < 1 or w >> len(chans) < 1:
        raise ValueError(
            f"a {h}×{w} image is too small for {len(chans)} 2×2 poolings (each halves it)"
        )
    tail = _sizes("hidden", hidden)
    n_out = _check_size("n_classes", n_classes)
    count, flat = cnn_parameters((h, w), chans, tail, n_out)
    _check_parameters(count)
    get_activation(activation)
    gen = as_rng(seed)
    layers: dict[str, Module] = {
        "standardize": _standardize(mean, scale, h * w, dtype),
        "image": Reshape(1, h, w),
    }
    c_in = 1
    for i, c in enumerate(chans, start=1):
        layers[f"conv{i}"] = Conv2d(c_in, c, 3, padding=1, dtype=dtype, rng=gen)
        layers[f"act{i}"] = get_activation(activation)
        layers[f"pool{i}"] = MaxPool2d(2)
        c_in = c
    layers["flatten"] = Flatten()
    layers["mlp"] = MLP([flat, *tail, n_out], activation=activation, dtype=dtype, rng=gen)
    return Sequential(layers)
