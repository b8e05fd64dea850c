"""Sliding windows: ``unfold`` (every window of the last two axes, "im2col") and its adjoint ``fold``.

Two primitives of the table (:data:`chainrule.autodiff.graph.PRIMITIVES`), each the other's VJP, so
gradients of every order work:

- ``unfold(x, kernel_size, stride=1, padding=0, dilation=1, fill=0.0)``: ``x`` of shape
  ``(*lead, H, W)`` becomes ``(*lead, kh, kw, OH, OW)`` with
  ``out[..., k, l, i, j] = xpad[..., i·sh + k·dh, j·sw + l·dw]``, where ``xpad`` is ``x`` padded by
  ``(ph, pw)`` on each side with ``fill`` and ``OH = (H + 2·ph − dh·(kh − 1) − 1) // sh + 1`` (the same
  for ``OW``). On NumPy the result is one contiguous copy gathered through a strided view.
- ``fold(g, size, kernel_size, stride=1, padding=0, dilation=1)``: the adjoint, ``(*lead, kh, kw, OH,
  OW)`` to ``(*lead, H, W)`` with ``size = (H, W)``: every window entry is added back to the input
  position it was read from (entries read from the padding are dropped).

A convolution is ``einsum`` of ``unfold(x)`` with the weight (so its weight gradient is an einsum too);
a pooling is a reduction of ``unfold(x)`` over its window axes (``fill=-inf`` for max pooling).
Both print in derivations (:func:`chainrule.explain`) as ``unfold(x, ...)`` and ``fold(g, ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.primitives import _ns
from chainrule.autodiff.symbolic import Expr, Op, OpSpec, Shape
from chainrule.autodiff.symbolic_rules import SymbolicRule, VjpContext
from chainrule.autodiff.tensor import _NUMPY_TYPES, apply, value

__all__ = ["FOLD", "UNFOLD", "check_windows", "fold", "pair", "unfold", "window_output_size"]

Pair = tuple[int, int]


def pair(name: str, v: Any, *, minimum: int = 1) -> Pair:
    """``v`` (an int or a pair of ints) as a pair of ints ``>= minimum``.

    Raises:
        ValueError: not an int or a pair of ints, or below ``minimum`` (names ``name`` and the value).
    """
    items = (v, v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
    try:
        a, b = items
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair of ints, not {v!r}") from None
    for item in (a, b):
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < minimum:
            raise ValueError(
                f"{name} must be an int or a pair of ints, each at least {minimum}, not {v!r}"
            )
    return int(a), int(b)


def window_output_size(
    size: Pair, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair
) -> Pair:
    """``(OH, OW)``: how many windows fit along each axis (may be ``<= 0`` when none fits)."""
    return (
        (size[0] + 2 * padding[0] - dilation[0] * (kernel_size[0] - 1) - 1) // stride[0] + 1,
        (size[1] + 2 * padding[1] - dilation[1] * (kernel_size[1] - 1) - 1) // stride[1] + 1,
    )


def _slices(k: int, l: int, out: Pair, stride: Pair, dilation: Pair) -> tuple[slice, slice]:
    """The positions of the padded input that window entry ``(k, l)`` reads, for every window."""
    r0, c0 = k * dilation[0], l * dilation[1]
    return (
        slice(r0, r0 + stride[0] * (out[0] - 1) + 1, stride[0]),
        slice(c0, c0 + stride[1] * (out[1] - 1) + 1, stride[1]),
    )


def _pad(x: Any, padding: Pair, fill: float) -> Any:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    xp = _ns(x)
    *lead, h, w = x.shape
    out = xp.full((*lead, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    out[..., ph : ph + h, pw : pw + w] = x
    return out


def unfold_forward(
    x: Any,
    kernel_size: Pair = (1, 1),
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    fill: float = 0.0,
) -> Any:
    size = (int(x.shape[-2]), int(x.shape[-1]))
    out = window_output_size(size, kernel_size, stride, padding, dilation)
    xpad = _pad(x, padding, fill)
    kh, kw = kernel_size
    if type(xpad) in _NUMPY_TYPES:
        xpad = np.asarray(xpad)
        *lead, s_row, s_col = xpad.strides
        # The windows as a read-only strided view of the padded input, (*lead, kh, kw, OH, OW);
        # every index stays inside xpad (OH, OW come from its size). Then one copy, in the
        # output's order (contiguous runs of OW), so that every reader reshapes it for free.
        view = as_strided(
            xpad,
            shape=(*xpad.shape[:-2], kh, kw, *out),
            strides=(
                *lead,
                s_row * dilation[0],
                s_col * dilation[1],
                s_row * stride[0],
                s_col * stride[1],
            ),
            writeable=False,
        )
        return np.ascontiguousarray(view)
    xp = _ns(xpad)
    parts = [
        xpad[(..., *_slices(k, l, out, stride, dilation))] for k in range(kh) for l in range(kw)
    ]
    stacked = xp.stack(parts, axis=-3)
    return xp.reshape(stacked, (*x.shape[:-2], kh, kw, *out))


def _disjoint(kernel_size: Pair, stride: Pair, dilation: Pair) -> bool:
    """Whether no two window entries read the same input position (along each axis, the kernel's
    span ``d·(k − 1) + 1`` fits in the stride, so windows do not overlap; ``d > 1`` with ``k > 1``
    interleaves entries of neighbouring windows and is left to the general fold)."""
    return all(
        kernel_size[i] == 1 or (dilation[i] == 1 and kernel_size[i] <= stride[i]) for i in (0, 1)
    )


def fold_forward(
    g: Any,
    size: Pair = (1, 1),
    kernel_size: Pair = (1, 1),
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> Any:
    xp = _ns(g)
    kh, kw = kernel_size
    out = (int(g.shape[-2]), int(g.shape[-1]))
    ph, pw = padding
    lead = tuple(g.shape[:-4])
    shape = (*lead, size[0] + 2 * ph, size[1] + 2 * pw)
    numpy = type(g) in _NUMPY_TYPES
    disjoint = numpy and _disjoint(kernel_size, stride, dilation)
    if disjoint:
        # Windows that do not overlap (pooling): each input position gets at most one entry, so
        # the fold is a strided copy; zeros only where no window reads (gaps, the floor's rest).
        tiled = all(
            kernel_size[i] == stride[i] and dilation[i] == 1 and out[i] * stride[i] == shape[-2 + i]
            for i in (0, 1)
        )
        total = np.empty(shape, dtype=g.dtype) if tiled else np.zeros(shape, dtype=g.dtype)
        for k in range(kh):
            for l in range(kw):
                total[(..., *_slices(k, l, out, stride, dilation))] = g[..., k, l, :, :]
    else:
        total = xp.zeros(shape, dtype=g.dtype)
    for k in range(0 if disjoint else kh):
        for l in range(kw):
            idx = (..., *_slices(k, l, out, stride, dilation))
            if numpy:
                target = total[idx]
                np.add(target, g[..., k, l, :, :], out=target)
            else:
                total[idx] = total[idx] + g[..., k, l, :, :]
    if ph == 0 and pw == 0:
        return total
    return total[..., ph : ph + size[0], pw : pw + size[1]]


def unfold_vjp(
    g: Any,
    ans: Any,
    x: Any,
    kernel_size: Pair = (1, 1),
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    fill: float = 0.0,
) -> Any:
    shape = value(x).shape
    return fold(g, (int(shape[-2]), int(shape[-1])), kernel_size, stride, padding, dilation)


def fold_vjp(
    g: Any,
    ans: Any,
    src: Any,
    size: Pair = (1, 1),
    kernel_size: Pair = (1, 1),
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
) -> Any:
    return unfold(g, kernel_size, stride, padding, dilation)


# --- symbolic forms (for explain) -------------------------------------------------------------------


def _options(p: Mapping[str, Any]) -> list[str]:
    out = [f"kernel_size={tuple(p['kernel_size'])}"]
    for key, default in (("stride", (1, 1)), ("padding", (0, 0)), ("dilation", (1, 1))):
        if tuple(p.get(key, default)) != default:
            out.append(f"{key}={tuple(p[key])}")
    fill = p.get("fill", 0.0)
    if fill not in (None, 0.0):
        out.append(f"fill={fill:g}")
    return out


def _text(name: str) -> Any:
    def render(a: list[str], p: Mapping[str, Any]) -> str:
        extra = [f"size={tuple(p['size'])}"] if "size" in p else []
        return f"{name}({', '.join([*a, *extra, *_options(p)])})"

    return render


def _latex(name: str) -> Any:
    def render(a: list[str], p: Mapping[str, Any]) -> str:
        extra = [f"size={tuple(p['size'])}"] if "size" in p else []
        body = ", ".join([*a, *(f"\\text{{{e}}}" for e in [*extra, *_options(p)])])
        return f"\\operatorname{{{name}}}\\left({body}\\right)"

    return render


def _unfold_shape(shapes: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    s = shapes[0]
    if s is None or len(s) < 2:
        return None
    out = window_output_size(
        (s[-2], s[-1]), p["kernel_size"], p["stride"], p["padding"], p["dilation"]
    )
    return (*s[:-2], *p["kernel_size"], *out)


def _fold_shape(shapes: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    s = shapes[0]
    if s is None or len(s) < 4:
        return None
    return (*s[:-4], *p["size"])


UNFOLD_OP = OpSpec(
    "unfold",
    lambda v, p: unfold_forward(np.asarray(v[0]), **p),
    _text("unfold"),
    _latex("unfold"),
    _unfold_shape,
)
FOLD_OP = OpSpec(
    "fold",
    lambda v, p: fold_forward(np.asarray(v[0]), **p),
    _text("fold"),
    _latex("fold"),
    _fold_shape,
)


def _unfold_params(p: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p[k] for k in ("kernel_size", "stride", "padding", "dilation")}


def _unfold_symbolic_vjp(ctx: VjpContext, k: int) -> Expr:
    size = (int(ctx.shapes[0][-2]), int(ctx.shapes[0][-1]))
    return Op(FOLD_OP, (ctx.g,), {"size": size, **_unfold_params(ctx.params)})


def _fold_symbolic_vjp(ctx: VjpContext, k: int) -> Expr:
    return Op(UNFOLD_OP, (ctx.g,), {**_unfold_params(ctx.params), "fill": 0.0})


def _unfold_form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
    return Op(UNFOLD_OP, (ops[0],), dict(p))


def _fold_form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
    return Op(FOLD_OP, (ops[0],), dict(p))


UNFOLD = register_primitive(
    "unfold",
    unfold_forward,
    unfold_vjp,
    symbolic=SymbolicRule(form=_unfold_form, vjp=_unfold_symbolic_vjp),
    doc="sliding windows of the last two axes (im2col)",
)
FOLD = register_primitive(
    "fold",
    fold_forward,
    fold_vjp,
    symbolic=SymbolicRule(form=_fold_form, vjp=_fold_symbolic_vjp),
    doc="sum of sliding windows back into the last two axes (col2im, unfold's adjoint)",
)


def check_windows(
    shape: Sequence[int],
    kernel_size: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair,
    who: str,
) -> Pair:
    if len(shape) < 2:
        raise ValueError(f"{who}: input shape {tuple(shape)} needs at least two axes (H, W)")
    size = (int(shape[-2]), int(shape[-1]))
    out = window_output_size(size, kernel_size, stride, padding, dilation)
    if out[0] < 1 or out[1] < 1:
        span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel_size, strict=True))
        raise ValueError(
            f"{who}: input of spatial size {size} with padding {padding} is smaller than the "
            f"(dilated) kernel {span}"
        )
    return out


def unfold(
    x: Any,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    fill: float = 0.0,
) -> Any:
    """Every ``kernel_size`` window of the last two axes of ``x``: ``(*lead, H, W)`` to
    ``(*lead, kh, kw, OH, OW)`` (see the module docstring); differentiable to any order.

    ``kernel_size``, ``stride``, ``dilation`` (positive) and ``padding`` (non-negative) are ints or
    pairs; ``fill`` is the padding value (``-inf`` for max pooling).

    Raises:
        ValueError: a bad size argument (named), an input with fewer than two axes, or one smaller
            than the dilated kernel after padding.
    """
    ks = pair("kernel_size", kernel_size)
    st = pair("stride", stride)
    pd = pair("padding", padding, minimum=0)
    dl = pair("dilation", dilation)
    check_windows(value(x).shape, ks, st, pd, dl, "unfold")
    params = {
        "kernel_size": ks,
        "stride": st,
        "padding": pd,
        "dilation": dl,
        "fill": float(fill),
    }
    return apply(UNFOLD, (x,), params)


def fold(
    g: Any,
    size: Any,
    kernel_size: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> Any:
    """The adjoint of :func:`unfold`: ``(*lead, kh, kw, OH, OW)`` to ``(*lead, H, W)`` with
    ``size = (H, W)``, each window entry added to the position it was read from.

    Raises:
        ValueError: a bad size argument, or ``g``'s last four axes do not match the windows of
            ``size`` (both shapes named).
    """
    sz = pair("size", size)
    ks = pair("kernel_size", kernel_size)
    st = pair("stride", stride)
    pd = pair("padding", padding, minimum=0)
    dl = pair("dilation", dilation)
    shape = tuple(value(g).shape)
    out = check_windows((*shape[:-4], *sz), ks, st, pd, dl, "fold")
    if len(shape) < 4 or shape[-4:] != (*ks, *out):
        raise ValueError(
            f"fold: windows of shape {shape} do not end in {(*ks, *out)}, the windows of size {sz}"
        )
    params = {"size": sz, "kernel_size": ks, "stride": st, "padding": pd, "dilation": dl}
    return apply(FOLD, (g,), params)
