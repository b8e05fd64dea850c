"""Loss functions on Tensors: ``mse_loss``, ``binary_cross_entropy_with_logits``, ``cross_entropy``.

Each takes predictions (a Tensor, or an array) and targets (a Tensor or an array) and returns a
Tensor: a scalar for ``reduction="mean"`` (default) or ``"sum"``, the per-element losses for
``"none"``. They are compositions of autodiff primitives, so they differentiate (to any order) and
show up in :func:`chainrule.explain`. Shapes must match exactly: there is no silent broadcasting
(a ``(n, 1)`` prediction against ``(n,)`` targets is the classic bug it would hide).

Stability: the logit losses use ``softplus``/``log_softmax`` primitives, which stay finite with
correct gradients at ``|logit| = 800`` and beyond.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule import backend
from chainrule.autodiff import Tensor

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "mse_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(getattr(x, "shape", np.shape(x)))


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else ad.as_tensor(x)


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _reduce(loss: Any, reduction: str, weight_sum: Any = None) -> Any:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if weight_sum is not None:
        return loss.sum() / weight_sum
    return loss.mean()


def _same_shape(fn: str, input: Any, target: Any) -> None:
    a, b = _shape(input), _shape(target)
    if a != b:
        raise ValueError(
            f"{fn}: input shape {a} and target shape {b} differ (reshape one of them; "
            "no broadcasting is done)"
        )


def _target_like(target: Any, input: Tensor) -> Any:
    """``target`` as plain data of the input's floating dtype (targets are constants)."""
    t = target.data if isinstance(target, Tensor) else target
    if not backend.is_array(t) or isinstance(t, np.generic):
        t = np.asarray(t)
    return backend.asarray(t, dtype=input.data.dtype) if t.dtype != input.data.dtype else t


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error: ``(input − target)²`` reduced.

    Args:
        input: predictions, any shape.
        target: the same shape (a Tensor that requires grad is differentiated too).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Raises:
        ValueError: the shapes differ (both named); an unknown reduction.
    """
    _check_reduction(reduction)
    _same_shape("mse_loss", input, target)
    x = _as_tensor(input)
    t = target if isinstance(target, Tensor) and target.requires_grad else _target_like(target, x)
    diff = x - t
    return _reduce(diff * diff, reduction)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    reduction: str = "mean",
    *,
    weight: Any = None,
    pos_weight: Any = None,
) -> Any:
    """Binary cross-entropy of ``sigmoid(input)`` against ``target`` in [0, 1], from logits.

    Per element, with logit ``z`` and target ``y``::

        ℓ = −[p·y·log σ(z) + (1 − y)·log(1 − σ(z))] = p·y·softplus(−z) + (1 − y)·softplus(z)

    where ``p = pos_weight`` (default 1), times ``weight`` (default 1). Its gradient in ``z`` is
    ``σ(z) − y`` when ``p = 1``. Finite at any ``|z|``.

    Args:
        input: logits, any shape.
        target: probabilities of the positive class, same shape.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        weight: per-element weights, broadcast against ``input``.
        pos_weight: weight of the positive term, broadcast against ``input``.

    Raises:
        ValueError: the shapes differ (both named); an unknown reduction.
    """
    _check_reduction(reduction)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    z = _as_tensor(input)
    y = _target_like(target, z)
    if pos_weight is None:
        # softplus(−z) = softplus(z) − z. Tensors stay on the left: some array libraries
        # (array_api_strict) raise instead of deferring to a reflected Tensor operator.
        loss = ad.softplus(z) - z * y
    else:
        pw = _target_like(pos_weight, z)
        loss = ad.softplus(-z) * (pw * y) + ad.softplus(z) * (1.0 - y)
    if weight is not None:
        loss = loss * _target_like(weight, z)
    return _reduce(loss, reduction)


def _in_namespace(arr: np.ndarray, like: Tensor) -> Any:
    """A NumPy constant in the namespace and dtype of ``like``'s data."""
    d = like.data
    if type(d) is np.ndarray or isinstance(d, np.generic):
        return arr.astype(d.dtype, copy=False)
    xp = backend.array_namespace(d)
    return xp.asarray(arr, dtype=d.dtype)


def _class_targets(target: Any, n_classes: int) -> np.ndarray:
    """Integer class indices from ``target``; floats must hold exact integers.

    Raises:
        ValueError: a non-integer value or an index outside ``[0, n_classes)`` (names the row).
    """
    t = backend.to_numpy(target.data if isinstance(target, Tensor) else target)
    t = np.asarray(t)
    if t.dtype.kind == "f":
        bad = np.flatnonzero(t.reshape(-1) != np.round(t.reshape(-1)))
        if bad.size:
            row = int(bad[0])
            raise ValueError(
                f"cross_entropy: target row {row} is {float(t.reshape(-1)[row])!r}, not a class index"
            )
        t = t.astype(np.int64)
    elif t.dtype.kind not in "iub":
        raise ValueError(f"cross_entropy: targets must be integer class indices, not {t.dtype}")
    flat = t.reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat >= n_classes))
    if bad.size:
        row = int(bad[0])
        raise ValueError(
            f"cross_entropy: target row {row} is class {int(flat[row])}, "
            f"outside [0, {n_classes}) for {n_classes} classes"
        )
    return t.astype(np.intp)


def cross_entropy(
    input: Any,
    target: Any,
    reduction: str = "mean",
    *,
    weight: Any = None,
    label_smoothing: float = 0.0,
) -> Any:
    """Softmax cross-entropy from logits and integer class targets.

    ``ℓ_n = −log softmax(input_n)[target_n]``, computed as ``logsumexp − logit`` through
    ``log_softmax`` (stable at any logit size).

    Args:
        input: logits of shape ``(N, C)`` (or ``(C,)`` for one sample).
        target: class indices of shape ``(N,)`` (or ``()``), integers in ``[0, C)``; floats that
            are exact integers are accepted.
        reduction: ``"mean"`` (weighted mean when ``weight`` is given, as PyTorch), ``"sum"``,
            ``"none"`` (shape ``(N,)``).
        weight: per-class weights of shape ``(C,)``.
        label_smoothing: ε in [0, 1): the target distribution is ``(1 − ε)·onehot + ε/C``.

    Raises:
        ValueError: ``input`` is not 1-D or 2-D; ``target``'s shape is not ``input.shape[:-1]``
            (both named); a target outside ``[0, C)`` or not an integer (names the row);
            a bad ``weight`` shape, ``label_smoothing`` or reduction.
    """
    _check_reduction(reduction)
    x = _as_tensor(input)
    if x.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: input must have shape (N, C) or (C,), got {x.shape}")
    if _shape(target) != x.shape[:-1]:
        raise ValueError(
            f"cross_entropy: input shape {x.shape} needs target shape {x.shape[:-1]}, "
            f"got {_shape(target)}"
        )
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), not {label_smoothing!r}")
    n_classes = x.shape[-1]
    idx = _class_targets(target, n_classes)
    logp = ad.log_softmax(x, axis=-1)
    numpy_input = type(x.data) is np.ndarray or isinstance(x.data, np.generic)
    if numpy_input:
        picked = logp[np.arange(x.shape[0]), idx] if x.ndim == 2 else logp[int(idx)]
    else:
        # Other namespaces may not index with NumPy arrays: pick with a one-hot mask instead.
        onehot = _in_namespace(np.eye(n_classes)[idx], x)
        picked = (logp * onehot).sum(axis=-1)
    loss = -picked
    w_np = None
    if weight is not None:
        w_np = np.asarray(backend.to_numpy(weight.data if isinstance(weight, Tensor) else weight))
        if w_np.shape != (n_classes,):
            raise ValueError(
                f"cross_entropy: weight shape {w_np.shape} should be ({n_classes},) for "
                f"input shape {x.shape}"
            )
    eps = float(label_smoothing)
    if eps:
        if w_np is not None:
            smooth = -(logp * _in_namespace(w_np, x)).sum(axis=-1) / n_classes
        else:
            smooth = -logp.mean(axis=-1)
        picked_w = loss if w_np is None else loss * _in_namespace(w_np[idx], x)
        loss = picked_w * (1.0 - eps) + smooth * eps
    elif w_np is not None:
        loss = loss * _in_namespace(w_np[idx], x)
    if reduction == "mean" and w_np is not None:
        return _reduce(loss, reduction, weight_sum=float(np.sum(w_np[idx])))
    return _reduce(loss, reduction)
