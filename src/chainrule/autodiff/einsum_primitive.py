"""The einsum primitive: Tensor-aware einsum whose VJP is another einsum.

``einsum(*args)`` takes either call form of :func:`chainrule.einsum.einsum` (subscripts string, or
sublists with any hashable labels). With no Tensor operand it is the engine itself. With Tensors it
records one ``einsum`` node whose ``params`` are ``subscripts`` (the canonical string, one letter per
label, ellipsis expanded) and ``spec`` (the parsed :class:`~chainrule.einsum.notation.EinsumSpec`).

The VJP for operand k is an einsum of the output gradient with the other operands, written in sublist
form (:func:`vjp_terms`):

- the output gradient carries the output labels, every other operand its own labels, and the result
  gets operand k's labels;
- a label repeated within operand k (a diagonal, ``"ii->i"``) gets a fresh label at each repeat and an
  identity matrix joining the two, so the gradient lands on the diagonal only;
- a label summed away only in operand k (in no other operand and not in the output) gets a ones
  vector, so the gradient is broadcast back along it;
- a size-1 dimension of operand k that was broadcast against a larger size is summed back by the
  backward pass (the one place that undoes broadcasting).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.primitives import _ns
from chainrule.autodiff.tensor import (
    _SEQ_TYPES,
    Tensor,
    _holds_tensor,
    apply,
    sequence_operand,
    value,
)
from chainrule.einsum import einsum as _engine
from chainrule.einsum.notation import EinsumSpec, parse

__all__ = ["EINSUM", "einsum", "vjp_subscripts", "vjp_terms"]


def einsum_forward(*operands: Any, subscripts: str = "", spec: Any = None) -> Any:
    return _engine(subscripts, *operands)


def vjp_terms(spec: EinsumSpec, k: int) -> tuple[list[Any], list[int]]:
    """The sublist form of operand ``k``'s VJP einsum, with placeholders.

    Returns ``(terms, target)``: ``terms`` alternates operands and integer label lists, where an
    operand is ``"g"`` (the output gradient), an int ``j`` (operand j), ``("eye", n)`` or
    ``("ones", n)``; ``target`` is the result's label list (operand k's shape).
    """
    ids: dict[Hashable, int] = {label: i for i, label in enumerate(spec.labels())}
    fresh = len(ids)
    terms: list[Any] = ["g", [ids[x] for x in spec.output]]
    present: set[Hashable] = set(spec.output)
    for j, labels in enumerate(spec.inputs):
        if j != k:
            terms += [j, [ids[x] for x in labels]]
            present.update(labels)
    target: list[int] = []
    seen: set[Hashable] = set()
    for label in spec.inputs[k]:
        n = spec.sizes[label]
        if label in seen:
            # A repeated label (diagonal): a fresh label joined to the first by an identity.
            terms += [("eye", n), [ids[label], fresh]]
            target.append(fresh)
            fresh += 1
            continue
        seen.add(label)
        target.append(ids[label])
        if label not in present:
            # Summed away only here: broadcast the gradient back along it.
            terms += [("ones", n), [ids[label]]]
    return terms, target


def vjp_subscripts(spec: EinsumSpec, k: int) -> str:
    """The VJP einsum of operand ``k`` as a subscripts string, e.g. ``"ik,jk->ij"`` for the first
    operand of ``"ij,jk->ik"`` (the gradient term comes first; identity/ones terms follow)."""
    terms, target = vjp_terms(spec, k)
    pool = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    used = sorted({i for t in terms[1::2] for i in t} | set(target))
    if len(used) > len(pool):
        raise ValueError(f"too many labels ({len(used)}) to print as a subscripts string")
    letter = {i: pool[n] for n, i in enumerate(used)}
    parts = ["".join(letter[i] for i in labels) for labels in terms[1::2]]
    return ",".join(parts) + "->" + "".join(letter[i] for i in target)


def einsum_vjp(
    k: int, g: Any, ans: Any, *operands: Any, subscripts: str = "", spec: Any = None
) -> Any:
    terms, target = vjp_terms(spec, k)
    gv = value(g)
    xp = _ns(gv)
    dtype = getattr(gv, "dtype", None)
    call: list[Any] = []
    for n in range(0, len(terms), 2):
        item = terms[n]
        if isinstance(item, str):
            call.append(g)
        elif isinstance(item, int):
            call.append(operands[item])
        elif item[0] == "eye":
            call.append(xp.eye(item[1], dtype=dtype))
        else:
            call.append(xp.ones(item[1], dtype=dtype))
        call.append(terms[n + 1])
    call.append(target)
    return einsum(*call)


EINSUM = register_primitive(
    "einsum", einsum_forward, variadic_vjp=einsum_vjp, doc="Einstein summation"
)


def _operands(args: tuple[Any, ...]) -> list[Any]:
    if isinstance(args[0], str):
        return list(args[1:])
    return list(args[0 : 2 * (len(args) // 2) : 2])


def _stack_lists(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with each operand that is a list or tuple holding a Tensor stacked into one Tensor
    (:func:`~chainrule.autodiff.tensor.sequence_operand`); subscript lists are left alone."""
    if not args:
        return args
    at = range(1, len(args)) if isinstance(args[0], str) else range(0, 2 * (len(args) // 2), 2)
    out = list(args)
    for i in at:
        if type(out[i]) in _SEQ_TYPES and _holds_tensor(out[i]):
            out[i] = sequence_operand(out[i])
    return tuple(out)


def einsum(*args: Any, **kwargs: Any) -> Any:
    """Einstein summation on arrays or Tensors (differentiable), NumPy semantics.

    ``einsum("ij,jk->ik", a, b)`` or ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. With no Tensor operand
    this is :func:`chainrule.einsum.einsum` (keywords passed through). With Tensors the result is a
    Tensor recorded as one ``einsum`` node; ``optimize`` is accepted, ``out``/``dtype`` are not.

    Raises:
        ValueError: malformed notation or sizes (from the engine's parser, naming label and operand).
        TypeError: ``out`` or ``dtype`` given with Tensor operands.
    """
    args = _stack_lists(args)
    for a in args:
        if isinstance(a, Tensor):
            break
    else:
        return _engine(*args, **kwargs)
    if kwargs.get("out") is not None or kwargs.get("dtype") is not None:
        raise TypeError("einsum on Tensors does not take out= or dtype=")
    plain = [value(a) for a in args]
    spec = parse(*plain)
    ops = _operands(args)
    return apply(EINSUM, tuple(ops), {"subscripts": spec.subscripts, "spec": spec})
