"""``Embedding``: a lookup table of learned vectors, indexed by integer ids.

``Embedding(num_embeddings, embedding_dim)(ids)`` is ``weight[ids]``: ids of any shape ``S`` give
``S + (embedding_dim,)``. The gradient scatter-adds into the rows that were read (a repeated id adds
up). With ``padding_idx`` the row of that id is read as it is but gets no gradient (it stays what it
is, zeros from the start), as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule import backend
from chainrule.autodiff import Tensor
from chainrule.nn.layers import _check_size, _dtype, as_rng
from chainrule.nn.module import Module, parameter

__all__ = ["Embedding", "embedding"]


def _indices(ids: Any, num: int, who: str) -> Any:
    """``ids`` as an integer array, every id checked to lie in ``[0, num)``."""
    if isinstance(ids, Tensor):
        ids = ids.data
    if backend.is_array(ids) and not isinstance(ids, (np.ndarray, np.generic)):
        arr = ids
        integral = bool(backend.array_namespace(arr).isdtype(arr.dtype, "integral"))
    else:
        arr = np.asarray(ids)
        integral = arr.dtype.kind in "iu"
    if not integral:
        raise TypeError(f"{who}: indices must be integers, not {arr.dtype}")
    host = backend.to_numpy(arr)
    bad = (host < 0) | (host >= num)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{who}: index {int(host[pos])} at position {pos} is outside [0, {num}) "
            f"for {num} embeddings"
        )
    return arr


def embedding(ids: Any, weight: Any, padding_idx: int | None = None) -> Any:
    """``weight[ids]`` for ``weight`` of shape ``(num_embeddings, dim)``; ``padding_idx`` (if given,
    a non-negative row) is read but gets no gradient.

    Raises:
        TypeError: ``ids`` are not integers.
        ValueError: ``weight`` is not 2-d; an id outside ``[0, num_embeddings)`` (names it and its
            position).
    """
    shape = tuple(getattr(weight, "shape", np.shape(weight)))
    if len(shape) != 2:
        raise ValueError(f"embedding: weight must be 2-d (num_embeddings, dim), got shape {shape}")
    idx = _indices(ids, shape[0], "embedding")
    out = ad.getitem(weight, idx)
    if padding_idx is None or not isinstance(weight, Tensor):
        return out
    xp = backend.array_namespace(idx)
    hit = xp.reshape(idx == padding_idx, (*idx.shape, 1))
    if not bool(xp.any(hit)):
        return out
    # Read the padding row as a constant: it gets no gradient.
    return ad.where(hit, weight.data[padding_idx], out)


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim`` (PyTorch's
    ``Embedding``).

    Args:
        num_embeddings, embedding_dim: table size (positive ints).
        padding_idx: an id whose row starts at zeros and gets no gradient (negative counts from the
            end), or None.
        dtype: the weight's dtype (floating).
        rng: Generator or int seed for the initial weights (``seed=`` is an alias).

    The weight ``(num_embeddings, embedding_dim)`` starts as standard normal draws, as in PyTorch.
    Input: integer ids of any shape ``S``; output ``S + (embedding_dim,)``.

    Raises:
        ValueError: a non-positive size, ``padding_idx`` outside the table, a non-floating dtype;
            in ``forward``, an id outside ``[0, num_embeddings)`` (named with its position).
        TypeError: in ``forward``, ids that are not integers.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: Any = "float64",
        *,
        rng: np.random.Generator | int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = _check_size("num_embeddings", num_embeddings)
        self.embedding_dim = _check_size("embedding_dim", embedding_dim)
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
                raise ValueError(f"padding_idx must be an int or None, not {padding_idx!r}")
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"padding_idx {padding_idx} is outside the table of {self.num_embeddings} "
                    "embeddings"
                )
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dt = _dtype(dtype)
        w = as_rng(rng, seed).standard_normal((self.num_embeddings, self.embedding_dim))
        if padding_idx is not None:
            w[padding_idx] = 0.0
        self.weight = parameter(w.astype(dt))

    def forward(self, ids: Any) -> Any:
        return embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
