"""The ``max_pool2d`` primitive: ``max(unfold(x, fill=-inf), axis=(-4, -3))`` as one node.

The pooling and its gradient are the window reduction and its adjoint (tied maxima share the
gradient equally; padding, filled with ``-inf``, never wins):

    y      = max(unfold(x, fill=-inf), axis=(kh, kw))
    ∂L/∂x  = fold(∂L/∂y · [unfold(x) == y] / Σ_window [unfold(x) == y])

That is what the node prints in :func:`chainrule.explain`, and it is how the rules run on Tensors
(``create_graph``: gradients of any order, through the ``unfold``/``max``/``fold`` primitives) and
on non-NumPy arrays.

On float32/float64 NumPy arrays the passes run in C where the extension is built
(:func:`chainrule.nn.native.pool_forward` and :func:`~chainrule.nn.native.pool_grad`, one loop over
the windows each). Otherwise, on NumPy float arrays, the same reduction runs over the ``kh·kw`` strided slices
``x[..., a::sh, b::sw]`` of the (padded) input, without materialising the windows: the forward pass
is ``kh·kw − 1`` elementwise maxima; the backward pass compares each slice with ``y`` (the hits),
sums the hits (the tie counts), divides the gradient by the counts once and writes (disjoint
windows) or adds (overlapping windows) each slice's share into the input gradient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule.autodiff import symbolic_ops as O
from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.primitives import max_vjp
from chainrule.autodiff.symbolic import Expr, Op, const, mul, power
from chainrule.autodiff.symbolic_rules import SymbolicRule, VjpContext
from chainrule.autodiff.tensor import _NUMPY_TYPES, value
from chainrule.autodiff.windows import (
    FOLD_OP,
    UNFOLD_OP,
    fold,
    unfold,
    window_output_size,
)
from chainrule.nn import native

__all__ = ["MAX_POOL2D", "max_pool2d_primitive"]

Pair = tuple[int, int]
_WINDOW_AXES = (-4, -3)


def _windows(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kernel_size": p["kernel_size"],
        "stride": p["stride"],
        "padding": p["padding"],
        "dilation": (1, 1),
    }


def _fast(*arrays: Any) -> bool:
    """NumPy floating arrays: the strided-slice kernels apply."""
    return all(type(a) in _NUMPY_TYPES and np.asarray(a).dtype.kind == "f" for a in arrays)


def _out_size(x: Any, p: Mapping[str, Any]) -> Pair:
    size = (int(x.shape[-2]), int(x.shape[-1]))
    return window_output_size(size, p["kernel_size"], p["stride"], p["padding"], (1, 1))


def _entries(xp: np.ndarray, kernel: Pair, out: Pair, stride: Pair) -> tuple[list[Any], bool]:
    """Window entry ``(a, b)`` of every window, for each ``(a, b)``: strided views of the padded
    input ``xp``, and whether they are 2-d ``(L·OH, OW)`` views (rows that tile the input, merged
    with the leading axes, so that NumPy loops over two axes instead of four)."""
    kh, kw = kernel
    sh, sw = stride
    oh, ow = out
    hp, wp = xp.shape[-2:]
    flat = kh <= sh and hp == sh * oh and xp.flags.c_contiguous
    cols = [slice(b, b + sw * (ow - 1) + 1, sw) for b in range(kw)]
    if flat:
        rows3 = xp.reshape(-1, sh, wp)
        return [rows3[:, a, cols[b]] for a in range(kh) for b in range(kw)], True
    return [
        xp[..., slice(a, a + sh * (oh - 1) + 1, sh), cols[b]] for a in range(kh) for b in range(kw)
    ], False


def _padded(x: np.ndarray, padding: Pair) -> np.ndarray:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    *lead, h, w = x.shape
    out = np.full((*lead, h + 2 * ph, w + 2 * pw), -np.inf, dtype=x.dtype)
    out[..., ph : ph + h, pw : pw + w] = x
    return out


# --- NumPy kernels --------------------------------------------------------------------------------------


def _forward_numpy(x: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    out = _out_size(x, p)
    xp = _padded(np.asarray(x), p["padding"])
    parts, flat = _entries(xp, p["kernel_size"], out, p["stride"])
    y = np.maximum(parts[0], parts[1]) if len(parts) > 1 else parts[0].copy()
    for part in parts[2:]:
        np.maximum(y, part, out=y)
    return y.reshape(*xp.shape[:-2], *out) if flat else y


def _grad_numpy(g: np.ndarray, y: np.ndarray, x: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    kh, kw = p["kernel_size"]
    (sh, sw), (ph, pw) = p["stride"], p["padding"]
    out = _out_size(x, p)
    # Contiguous, so that the input's entries and the gradient's are views of the same form.
    xp = np.ascontiguousarray(_padded(np.asarray(x), (ph, pw)))
    dtype = np.result_type(g.dtype, x.dtype)
    parts, flat = _entries(xp, (kh, kw), out, (sh, sw))
    if flat:
        y, g = y.reshape(-1, out[1]), g.reshape(-1, out[1])
    hits = [part == y for part in parts]
    if len(hits) < 256:  # tie counts as small integers, then one division
        counts = hits[0].view(np.uint8).copy()
        for h in hits[1:]:
            np.add(counts, h.view(np.uint8), out=counts)
        share = np.divide(g, counts, dtype=dtype)
    else:
        total = hits[0].astype(dtype)
        for h in hits[1:]:
            np.add(total, h, out=total)
        share = np.divide(g, total, dtype=dtype)
    hp, wp = xp.shape[-2:]
    disjoint = kh <= sh and kw <= sw
    tiles = disjoint and kh == sh and kw == sw and hp == sh * out[0] and wp == sw * out[1]
    dx = np.empty(xp.shape, dtype) if tiles else np.zeros(xp.shape, dtype)
    targets, _ = _entries(dx, (kh, kw), out, (sh, sw))
    for hit, target in zip(hits, targets, strict=True):
        if disjoint:
            np.multiply(hit, share, out=target)
        else:
            target += hit * share
    if ph or pw:
        dx = np.ascontiguousarray(dx[..., ph : hp - ph, pw : wp - pw])
    return dx.astype(x.dtype, copy=False)


# --- the primitive -------------------------------------------------------------------------------------


def max_pool2d_forward(
    x: Any, kernel_size: Pair = (1, 1), stride: Pair = (1, 1), padding: Pair = (0, 0)
) -> Any:
    p = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
    if native.applies(x):
        return native.pool_forward(x, _out_size(x, p), p)
    if _fast(x):
        return _forward_numpy(x, p)
    win = unfold(x, kernel_size, stride, padding, 1, fill=-np.inf)
    return ad.max(win, axis=_WINDOW_AXES)


def max_pool2d_vjp(g: Any, ans: Any, x: Any, **p: Any) -> Any:
    if native.applies(g, ans, x):
        return native.pool_grad(g, ans, x, p)
    if _fast(g, ans, x):
        return _grad_numpy(g, ans, x, p)
    # The composition's rule: the max's gradient over the windows (ties share it; the hits are
    # constants), folded back onto the input; differentiable in g to any order.
    xv, yv = value(x), value(ans)
    win = unfold(xv, p["kernel_size"], p["stride"], p["padding"], 1, fill=-np.inf)
    dwin = max_vjp(g, yv, win, axis=_WINDOW_AXES, keepdims=False)
    size = (int(xv.shape[-2]), int(xv.shape[-1]))
    return fold(dwin, size, p["kernel_size"], p["stride"], p["padding"], 1)


# --- symbolic form (explain) ---------------------------------------------------------------------------


def _unfold_expr(x: Expr, p: Mapping[str, Any], fill: float) -> Expr:
    return Op(UNFOLD_OP, (x,), {**_windows(p), "fill": fill})


def _form(ops: Sequence[Expr], p: Mapping[str, Any]) -> Expr:
    return O.reduce("max", _unfold_expr(ops[0], p, -np.inf), _WINDOW_AXES)


def _symbolic_vjp(ctx: VjpContext, k: int) -> Expr:
    *lead, h, w = ctx.shapes[0]
    oh, ow = ctx.out_shape[-2:]
    keep = (*lead, 1, 1, oh, ow)
    win = _unfold_expr(ctx.operands[0], ctx.params, -np.inf)
    hit = O.indicator(O.compare(win, "==", O.reshape(ctx.out, keep)))
    count = O.reduce("sum", hit, _WINDOW_AXES, True)
    share = mul(O.reshape(ctx.g, keep), hit, power(count, const(-1.0)))
    return Op(FOLD_OP, (share,), {"size": (h, w), **_windows(ctx.params)})


MAX_POOL2D = register_primitive(
    "max_pool2d",
    max_pool2d_forward,
    max_pool2d_vjp,
    symbolic=SymbolicRule(form=_form, vjp=_symbolic_vjp),
    doc="max(unfold(x, fill=-inf), axis=(-4, -3)): 2-d max pooling",
)


def max_pool2d_primitive(x: Any, kernel_size: Pair, stride: Pair, padding: Pair) -> Any:
    """Apply the ``max_pool2d`` primitive to a checked ``x (..., H, W)`` and checked pairs."""
    return MAX_POOL2D(x, kernel_size=kernel_size, stride=stride, padding=padding)
