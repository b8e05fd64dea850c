"""2-d convolution: :func:`conv2d` and the :class:`Conv2d` layer, written as one einsum.

``conv2d(x, weight)`` with ``x`` of shape ``(N, C, H, W)`` and ``weight`` of shape
``(O, C / groups, kh, kw)`` (PyTorch's layouts) computes the cross-correlation

    y[n, o, i, j] = Σ_{c, k, l} weight[o, c, k, l] · xpad[n, c, i·sh + k·dh, j·sw + l·dw] (+ bias[o])

as ``einsum("ockl,ncklij->noij", weight, unfold(x))``, where :func:`~chainrule.autodiff.windows.unfold`
gathers the windows of the zero-padded input (im2col). Its gradients are einsums too:
``∂L/∂weight = einsum("noij,ncklij->ockl", ∂L/∂y, unfold(x))`` and
``∂L/∂x = fold(einsum("noij,ockl->ncklij", ∂L/∂y, weight))``, which :func:`chainrule.explain`
prints as such. With ``groups = G`` the channels split into G independent groups (label ``g``).
The contraction is one graph node, the ``conv2d`` primitive (:mod:`chainrule.nn.conv_primitive`),
whose NumPy kernels run it as batched matmuls over chunks of the batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule.autodiff import Tensor
from chainrule.autodiff.windows import check_windows, pair
from chainrule.nn.conv_primitive import conv2d_primitive
from chainrule.nn.layers import _check_size, _dtype, as_rng
from chainrule.nn.module import Module, parameter

__all__ = ["Conv2d", "conv2d"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", np.shape(x)))


def _groups(groups: Any) -> int:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive integer, not {groups!r}")
    return int(groups)


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """The 2-d cross-correlation of ``x`` with ``weight`` (PyTorch's ``conv2d``), differentiable.

    Args:
        x: ``(N, C, H, W)`` (or ``(C, H, W)``, one image), an array or a Tensor.
        weight: ``(O, C / groups, kh, kw)``.
        bias: ``(O,)`` or None.
        stride, dilation: positive ints or pairs; padding: non-negative int or pair (zeros).
        groups: C and O both divisible by it; group g maps input channels ``g·C/G ...`` to output
            channels ``g·O/G ...``.

    Returns:
        ``(N, O, OH, OW)`` (``(O, OH, OW)`` for one image) with
        ``OH = (H + 2·ph − dh·(kh − 1) − 1) // sh + 1`` (the same for ``OW``), in the inputs' dtype.

    Raises:
        ValueError: ``x`` not 3-d or 4-d; ``weight`` not 4-d; channels that do not match the weight
            or are not divisible by ``groups``; a bias that is not ``(O,)``; a bad stride, padding,
            dilation or groups; an input smaller than the dilated kernel (all named with shapes).
    """
    xs, ws = _shape(x), _shape(weight)
    if len(ws) != 4:
        raise ValueError(f"conv2d: weight must be 4-d (out, in / groups, kh, kw), got shape {ws}")
    if len(xs) not in (3, 4):
        raise ValueError(f"conv2d: input must be (N, C, H, W) or (C, H, W), got shape {xs}")
    g = _groups(groups)
    single = len(xs) == 3
    if single:
        x = ad.reshape(x, (1, *xs)) if isinstance(x, Tensor) else np.reshape(x, (1, *xs))
        xs = (1, *xs)
    c = xs[1]
    o, cg, kh, kw = ws
    if c % g or o % g:
        raise ValueError(
            f"conv2d: groups={g} must divide the input channels ({c}) and the output channels ({o})"
        )
    if cg * g != c:
        raise ValueError(
            f"conv2d: input shape {xs} has {c} channels but weight shape {ws} expects "
            f"{cg * g} (= {cg} per group × groups={g})"
        )
    if bias is not None and _shape(bias) != (o,):
        raise ValueError(f"conv2d: bias shape {_shape(bias)} is not ({o},) for weight shape {ws}")
    st = pair("stride", stride)
    pd = pair("padding", padding, minimum=0)
    dl = pair("dilation", dilation)
    check_windows(xs, (kh, kw), st, pd, dl, "conv2d")
    y = conv2d_primitive(x, weight, bias, st, pd, dl, g)
    if single:
        y = ad.reshape(y, _shape(y)[1:])
    return y


class Conv2d(Module):
    """A 2-d convolution layer (NCHW), PyTorch's ``Conv2d``: ``conv2d(x, weight, bias, ...)``.

    Args:
        in_channels, out_channels: channel counts (positive, both divisible by ``groups``).
        kernel_size: int or pair ``(kh, kw)``.
        stride, dilation: positive int or pair; padding: non-negative int or pair (zeros).
        groups: channel groups (1: every output sees every input channel).
        bias: learn a bias of shape ``(out_channels,)``.
        dtype: parameters' dtype (floating).
        rng: Generator or int seed for the initial weights (``seed=`` is an alias).

    Parameters: ``weight`` of shape ``(out_channels, in_channels / groups, kh, kw)`` and ``bias``
    ``(out_channels,)``, both drawn from ``U(−1/√fan_in, 1/√fan_in)`` with
    ``fan_in = in_channels / groups · kh · kw`` (PyTorch's default: Kaiming-uniform with
    ``a = √5``).

    Shapes: input ``(N, in_channels, H, W)`` (or one image ``(in_channels, H, W)``), output
    ``(N, out_channels, OH, OW)`` (see :func:`conv2d`).

    Raises:
        ValueError: a bad size, groups that do not divide the channels, a non-floating dtype; in
            ``forward``, an input with the wrong number of channels (shapes named).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        dtype: Any = "float64",
        *,
        rng: np.random.Generator | int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = _check_size("in_channels", in_channels)
        self.out_channels = _check_size("out_channels", out_channels)
        self.kernel_size = pair("kernel_size", kernel_size)
        self.stride = pair("stride", stride)
        self.padding = pair("padding", padding, minimum=0)
        self.dilation = pair("dilation", dilation)
        self.groups = _groups(groups)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"Conv2d: groups={self.groups} must divide in_channels ({self.in_channels}) "
                f"and out_channels ({self.out_channels})"
            )
        dt = _dtype(dtype)
        gen = as_rng(rng, seed)
        kh, kw = self.kernel_size
        cg = self.in_channels // self.groups
        bound = 1.0 / math.sqrt(cg * kh * kw)
        shape = (self.out_channels, cg, kh, kw)
        self.weight = parameter(gen.uniform(-bound, bound, size=shape).astype(dt))
        self.bias: Tensor | None = (
            parameter(gen.uniform(-bound, bound, size=self.out_channels).astype(dt))
            if bias
            else None
        )

    def forward(self, x: Any) -> Any:
        shape = _shape(x)
        if len(shape) not in (3, 4) or shape[-3] != self.in_channels:
            raise ValueError(
                f"Conv2d({self.in_channels}, {self.out_channels}): input shape {shape} is not "
                f"(N, {self.in_channels}, H, W) or ({self.in_channels}, H, W)"
            )
        return conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}", f"kernel_size={self.kernel_size}"]
        for key, default in (("stride", (1, 1)), ("padding", (0, 0)), ("dilation", (1, 1))):
            if getattr(self, key) != default:
                parts.append(f"{key}={getattr(self, key)}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if str(self.weight.dtype) != "float64":
            parts.append(f"dtype={self.weight.dtype}")
        return ", ".join(parts)
