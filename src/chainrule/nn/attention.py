"""Attention: :func:`scaled_dot_product_attention` and :class:`MultiheadAttention`, on einsum.

``scaled_dot_product_attention(q, k, v)`` is ``softmax(q kᵀ · scale + mask) v``, written as
``einsum("...le,...se->...ls", q, k)``, a softmax over the keys and ``einsum("...ls,...sv->...lv",
p, v)``, so its gradients are einsums too. Masks follow PyTorch: a boolean ``attn_mask`` marks with
True the (query, key) pairs that *take part*; a floating one is added to the scores; ``is_causal``
lets query i see keys ``0..i``. A query row whose keys are all masked gives nan, as in PyTorch.

``MultiheadAttention`` splits ``embed_dim`` into ``num_heads`` heads (labels ``h``, ``d``), runs the
same attention per head and projects back. Its masks follow PyTorch's ``MultiheadAttention``, where
True means *masked out* (the opposite of the function's boolean masks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule import backend
from chainrule.autodiff import Tensor
from chainrule.nn.layers import Linear, _check_size, _dtype, as_rng
from chainrule.nn.module import Module, parameter

__all__ = ["MultiheadAttention", "scaled_dot_product_attention"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", np.shape(x)))


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _dtype_of(x: Any) -> Any:
    return getattr(x, "dtype", None) or np.asarray(x).dtype


def _additive(mask: Any, keep_when: bool, dtype: Any, who: str, name: str) -> Any:
    """A mask as an additive array: a boolean one becomes 0 where a pair takes part and -inf where
    it does not (``keep_when``: the boolean value that means "takes part"); a floating one is
    returned as it is (in ``dtype``)."""
    raw = _raw(mask)
    arr = raw if backend.is_array(raw) else np.asarray(raw)
    xp = backend.array_namespace(arr)
    if xp.isdtype(arr.dtype, "bool"):
        keep = arr if keep_when else xp.logical_not(arr)
        zero = xp.zeros(arr.shape, dtype=dtype)
        return xp.where(keep, zero, xp.full(arr.shape, -math.inf, dtype=dtype))
    if not xp.isdtype(arr.dtype, "real floating"):
        raise TypeError(f"{who}: {name} must be boolean or floating, not {arr.dtype}")
    return mask if isinstance(mask, Tensor) else xp.astype(arr, dtype)


def _broadcastable(who: str, name: str, shape: tuple[int, ...], target: tuple[int, ...]) -> None:
    try:
        out = np.broadcast_shapes(shape, target)
    except ValueError:
        out = None
    if out != target:
        raise ValueError(f"{who}: {name} of shape {shape} does not broadcast to {target}")


def _weights(q: Any, k: Any, additive: Any, scale: float, subscripts: str) -> Any:
    """``softmax(einsum(subscripts, q, k) · scale + additive)`` over the last (key) axis."""
    scores = ad.einsum(subscripts, q, k) * scale
    if additive is not None:
        scores = scores + additive
    return ad.softmax(scores, axis=-1)


def scaled_dot_product_attention(
    q: Any,
    k: Any,
    v: Any,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Any:
    """``softmax(q kᵀ · scale + mask) v`` (PyTorch's ``scaled_dot_product_attention``, no dropout).

    Args:
        q: ``(..., L, E)`` queries; k: ``(..., S, E)`` keys; v: ``(..., S, Ev)`` values (leading
            axes broadcast).
        attn_mask: ``None``; boolean, broadcastable to ``(..., L, S)``, True where a query may
            attend to a key; or floating, added to the scores.
        is_causal: query i attends to keys ``0..i`` only (the lower triangle of ``(L, S)``).
        scale: the scores' factor, default ``1/√E``.

    Returns:
        ``(..., L, Ev)``.

    Raises:
        ValueError: an operand with fewer than two axes; ``E`` or ``S`` that differ between q, k
            and v; a mask that does not broadcast to ``(..., L, S)``; both ``attn_mask`` and
            ``is_causal`` (shapes named).
        TypeError: a mask that is neither boolean nor floating.
    """
    out, _ = _sdpa(q, k, v, attn_mask, is_causal, scale, "scaled_dot_product_attention")
    return out


def _sdpa(
    q: Any, k: Any, v: Any, attn_mask: Any, is_causal: bool, scale: float | None, who: str
) -> tuple[Any, Any]:
    qs, ks, vs = _shape(q), _shape(k), _shape(v)
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2:
        raise ValueError(
            f"{who}: q, k and v need at least two axes (..., length, features), got shapes "
            f"{qs}, {ks}, {vs}"
        )
    if qs[-1] != ks[-1]:
        raise ValueError(f"{who}: q shape {qs} and k shape {ks} differ in their last axis (E)")
    if ks[-2] != vs[-2]:
        raise ValueError(f"{who}: k shape {ks} and v shape {vs} differ in the key axis (S)")
    length, keys = qs[-2], ks[-2]
    dtype = _dtype_of(_raw(q))
    scores_shape = (*np.broadcast_shapes(qs[:-2], ks[:-2]), length, keys)
    additive = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{who}: give attn_mask or is_causal, not both")
        additive = _additive(np.tril(np.ones((length, keys), dtype=bool)), True, dtype, who, "")
    elif attn_mask is not None:
        _broadcastable(who, "attn_mask", _shape(attn_mask), scores_shape)
        additive = _additive(attn_mask, True, dtype, who, "attn_mask")
    factor = 1.0 / math.sqrt(qs[-1]) if scale is None else float(scale)
    p = _weights(q, k, additive, factor, "...le,...se->...ls")
    return ad.einsum("...ls,...sv->...lv", p, v), p


class MultiheadAttention(Module):
    """Multi-head attention (PyTorch's ``MultiheadAttention``, with ``kdim = vdim = embed_dim``).

    ``q = query @ Wq + bq`` (likewise k, v, from the columns of ``in_proj_weight``), split into
    ``num_heads`` heads of ``embed_dim / num_heads``; per head ``softmax(q kᵀ / √d + masks) v``;
    the heads joined and projected by ``out_proj`` (a :class:`~chainrule.nn.layers.Linear`).

    Args:
        embed_dim: E; num_heads: divides E.
        dropout: dropout probability on the attention weights in training mode.
        bias: learn ``in_proj_bias`` (3E,) and ``out_proj.bias`` (E,).
        batch_first: inputs ``(N, L, E)`` (True, the default here) or ``(L, N, E)``; ``(L, E)``
            (one sequence) works either way.
        dtype: parameters' dtype; rng / seed: initial weights and dropout.

    Parameters: ``in_proj_weight`` of shape ``(E, 3E)`` (columns ``[Wq | Wk | Wv]``, used as
    ``x @ W``: the transpose of PyTorch's ``(3E, E)``), drawn from Glorot-uniform as PyTorch's;
    ``in_proj_bias`` zeros; ``out_proj.weight`` ``(E, E)`` (also ``x @ W``, the transpose of
    PyTorch's) from ``U(−1/√E, 1/√E)``, ``out_proj.bias`` zeros.

    ``forward(query, key, value, key_padding_mask=None, *, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``: output of the
    query's layout; weights ``(N, L, S)`` averaged over heads (``(N, num_heads, L, S)`` with
    ``average_attn_weights=False``) or None when ``need_weights`` is False. ``key_padding_mask``
    ``(N, S)`` and ``attn_mask`` ``(L, S)`` or ``(N·num_heads, L, S)``: boolean True marks a pair
    that is *masked out* (PyTorch's convention for this layer); floating masks are added to the
    scores. ``is_causal`` without ``attn_mask`` applies the causal mask (with ``attn_mask``, it is
    a hint that the mask is causal and is ignored, as in PyTorch). Not supported: ``kdim``/``vdim``
    other than E, ``add_bias_kv``, ``add_zero_attn``.

    Raises:
        ValueError: E not divisible by num_heads, a bad size, dropout outside [0, 1); in
            ``forward``, inputs or masks of the wrong shape (named).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = True,
        dtype: Any = "float64",
        *,
        rng: np.random.Generator | int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.embed_dim = _check_size("embed_dim", embed_dim)
        self.num_heads = _check_size("num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"embed_dim ({self.embed_dim}) must be divisible by num_heads ({self.num_heads})"
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout!r}")
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = self.embed_dim // self.num_heads
        dt = _dtype(dtype)
        gen = as_rng(rng, seed)
        self._rng = gen
        e = self.embed_dim
        bound = math.sqrt(6.0 / (e + 3 * e))
        self.in_proj_weight = parameter(gen.uniform(-bound, bound, size=(e, 3 * e)).astype(dt))
        self.in_proj_bias: Tensor | None = parameter(np.zeros(3 * e, dtype=dt)) if bias else None
        self.out_proj = Linear(e, e, bias=bias, dtype=dt, init="zeros")
        out_bound = 1.0 / math.sqrt(e)
        self.out_proj.weight.data = gen.uniform(-out_bound, out_bound, size=(e, e)).astype(dt)

    def _project(self, x: Any, part: int) -> Any:
        e = self.embed_dim
        w = ad.getitem(self.in_proj_weight, (slice(None), slice(part * e, (part + 1) * e)))
        y = ad.matmul(x, w)
        if self.in_proj_bias is not None:
            y = y + ad.getitem(self.in_proj_bias, slice(part * e, (part + 1) * e))
        return y

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        *,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Any, Any]:
        who = f"MultiheadAttention({self.embed_dim}, {self.num_heads})"
        qs, ks, vs = _shape(query), _shape(key), _shape(value)
        e, h, d = self.embed_dim, self.num_heads, self.head_dim
        if len(qs) not in (2, 3) or qs[-1] != e:
            raise ValueError(f"{who}: query shape {qs} is not (N, L, {e}), (L, N, {e}) or (L, {e})")
        if len(ks) != len(qs) or len(vs) != len(qs) or ks[-1] != e or vs[-1] != e:
            raise ValueError(
                f"{who}: key shape {ks} and value shape {vs} must have query's rank and end in {e}"
            )
        if ks != vs:
            raise ValueError(f"{who}: key shape {ks} and value shape {vs} differ")
        single = len(qs) == 2
        if single:
            query, key, value = (
                ad.reshape(t, (1, *_shape(t)))
                if isinstance(t, Tensor)
                else np.reshape(t, (1, *_shape(t)))
                for t in (query, key, value)
            )
        elif not self.batch_first:
            query, key, value = (ad.swapaxes(t, 0, 1) for t in (query, key, value))
        n, length = _shape(query)[:2]
        if _shape(key)[0] != n:
            raise ValueError(f"{who}: query shape {qs} and key shape {ks} differ in the batch axis")
        s = _shape(key)[1]
        q = ad.reshape(self._project(query, 0), (n, length, h, d))
        k = ad.reshape(self._project(key, 1), (n, s, h, d))
        v = ad.reshape(self._project(value, 2), (n, s, h, d))
        dtype = _dtype_of(_raw(q))
        additive = None
        if attn_mask is not None:
            ms = _shape(attn_mask)
            if ms not in ((length, s), (n * h, length, s)):
                raise ValueError(
                    f"{who}: attn_mask shape {ms} is not (L, S) = {(length, s)} or "
                    f"(N·num_heads, L, S) = {(n * h, length, s)}"
                )
            mask = _additive(attn_mask, False, dtype, who, "attn_mask")
            additive = ad.reshape(mask, (n, h, length, s)) if len(ms) == 3 else mask
        elif is_causal:
            causal = np.tril(np.ones((length, s), dtype=bool))
            additive = _additive(causal, True, dtype, who, "")
        if key_padding_mask is not None:
            kp = _shape(key_padding_mask)
            if kp != (n, s):
                raise ValueError(f"{who}: key_padding_mask shape {kp} is not (N, S) = {(n, s)}")
            pad = ad.reshape(
                _additive(key_padding_mask, False, dtype, who, "key_padding_mask"), (n, 1, 1, s)
            )
            additive = pad if additive is None else additive + pad
        p = _weights(q, k, additive, 1.0 / math.sqrt(d), "nlhd,nshd->nhls")
        if self.training and self.dropout > 0.0:
            keep = self._rng.random(_shape(p)) >= self.dropout
            p = p * (keep.astype(dtype) / (1.0 - self.dropout))
        heads = ad.einsum("nhls,nshd->nlhd", p, v)
        out = self.out_proj(ad.reshape(heads, (n, length, e)))
        if single:
            out = ad.reshape(out, (length, e))
        elif not self.batch_first:
            out = ad.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        weights = ad.mean(p, axis=1) if average_attn_weights else p
        if single:
            weights = ad.reshape(weights, _shape(weights)[1:])
        return out, weights

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout:g}, "
            f"batch_first={self.batch_first}"
        )
