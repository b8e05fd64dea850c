"""2-d pooling: :func:`max_pool2d`, :func:`avg_pool2d` and their layers, and :class:`Flatten`.

A pooling is a reduction of the sliding windows :func:`~chainrule.autodiff.windows.unfold` of the
input over the window axes: ``max`` over windows padded with ``-inf`` (padding never wins), or the
mean over windows padded with zeros. The gradient is the reduction's (the max's goes to the window's
maximum; tied maxima share it equally), folded back onto the input. Max pooling is one graph node,
the ``max_pool2d`` primitive (:mod:`chainrule.nn.pool_primitive`), which runs that composition on
Tensors and non-NumPy arrays and strided slices of the input on NumPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule.autodiff.windows import check_windows, pair, unfold
from chainrule.nn.module import Module
from chainrule.nn.pool_primitive import max_pool2d_primitive

__all__ = ["AvgPool2d", "Flatten", "MaxPool2d", "avg_pool2d", "flatten", "max_pool2d"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", np.shape(x)))


def _pool_args(
    who: str, x: Any, kernel_size: Any, stride: Any, padding: Any
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    shape = _shape(x)
    if len(shape) not in (3, 4):
        raise ValueError(f"{who}: input must be (N, C, H, W) or (C, H, W), got shape {shape}")
    ks = pair("kernel_size", kernel_size)
    st = ks if stride is None else pair("stride", stride)
    pd = pair("padding", padding, minimum=0)
    if pd[0] > ks[0] // 2 or pd[1] > ks[1] // 2:
        raise ValueError(f"{who}: padding {pd} must be at most half the kernel size {ks}")
    return ks, st, pd


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Any:
    """The maximum of each ``kernel_size`` window (PyTorch's ``max_pool2d``), differentiable.

    Args:
        x: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: int or pair; stride: int, pair or None (= kernel_size);
        padding: int or pair, at most half the kernel (padded positions never win).

    Returns:
        ``(N, C, OH, OW)`` with ``OH = (H + 2·ph − kh) // sh + 1`` (floor; no ``ceil_mode``).

    Raises:
        ValueError: an input that is not 3-d/4-d or smaller than the kernel; a bad kernel, stride
            or padding (named, with the shapes).
    """
    ks, st, pd = _pool_args("max_pool2d", x, kernel_size, stride, padding)
    check_windows(_shape(x), ks, st, pd, (1, 1), "max_pool2d")
    return max_pool2d_primitive(x, ks, st, pd)


def avg_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
) -> Any:
    """The mean of each ``kernel_size`` window (PyTorch's ``avg_pool2d``), differentiable.

    Args:
        x: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size: int or pair; stride: int, pair or None (= kernel_size);
        padding: int or pair of zeros, at most half the kernel;
        count_include_pad: divide by the window size (True) or by the number of input positions
            in the window (False).

    Returns:
        ``(N, C, OH, OW)`` with ``OH = (H + 2·ph − kh) // sh + 1`` (floor; no ``ceil_mode``).

    Raises:
        ValueError: as :func:`max_pool2d`.
    """
    ks, st, pd = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    win = unfold(x, ks, st, pd, 1)
    total = ad.sum(win, axis=(-4, -3))
    if count_include_pad or pd == (0, 0):
        return total / float(ks[0] * ks[1])
    h, w = _shape(x)[-2:]
    counts = np.asarray(unfold(np.ones((h, w)), ks, st, pd, 1)).sum(axis=(0, 1))  # (OH, OW)
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    return total / counts.astype(dtype)


class MaxPool2d(Module):
    """:func:`max_pool2d` as a layer: ``MaxPool2d(kernel_size, stride=None, padding=0)``.

    Raises:
        ValueError: a bad kernel, stride or padding (at construction); a bad input in ``forward``.
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = pair("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else pair("stride", stride)
        self.padding = pair("padding", padding, minimum=0)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(
                f"MaxPool2d: padding {self.padding} must be at most half the kernel size "
                f"{self.kernel_size}"
            )

    def forward(self, x: Any) -> Any:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """:func:`avg_pool2d` as a layer: ``AvgPool2d(kernel_size, stride=None, padding=0,
    count_include_pad=True)``.

    Raises:
        ValueError: a bad kernel, stride or padding (at construction); a bad input in ``forward``.
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = pair("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else pair("stride", stride)
        self.padding = pair("padding", padding, minimum=0)
        self.count_include_pad = bool(count_include_pad)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(
                f"AvgPool2d: padding {self.padding} must be at most half the kernel size "
                f"{self.kernel_size}"
            )

    def forward(self, x: Any) -> Any:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        extra = "" if self.count_include_pad else ", count_include_pad=False"
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}{extra}"
        )


def flatten(x: Any, start_dim: int = 1, end_dim: int = -1) -> Any:
    """``x`` with axes ``start_dim .. end_dim`` (inclusive, negative from the end) merged into one.

    Raises:
        ValueError: an axis out of range, or ``start_dim`` after ``end_dim``.
    """
    shape = _shape(x)
    nd = max(len(shape), 1)
    if not (-nd <= start_dim < nd and -nd <= end_dim < nd):
        raise ValueError(
            f"flatten: start_dim={start_dim} or end_dim={end_dim} is out of range for shape {shape}"
        )
    s, e = start_dim % nd, end_dim % nd
    if s > e:
        raise ValueError(f"flatten: start_dim={start_dim} comes after end_dim={end_dim}")
    if not shape:
        return ad.reshape(x, (1,)) if isinstance(x, ad.Tensor) else np.reshape(x, (1,))
    merged = 1
    for d in shape[s : e + 1]:
        merged *= d
    new = (*shape[:s], merged, *shape[e + 1 :])
    return ad.reshape(x, new) if isinstance(x, ad.Tensor) else np.reshape(x, new)


class Flatten(Module):
    """Merge axes ``start_dim .. end_dim`` into one (default: all but the batch axis), as
    PyTorch's ``Flatten``: ``(N, C, H, W)`` becomes ``(N, C·H·W)``.

    Raises:
        ValueError: in ``forward``, an axis out of range for the input.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: Any) -> Any:
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
