"""The backward pass: an iterative reverse walk over the recorded graph.

For each node, in reverse topological order, the gradient accumulated for it is handed to the VJP rule
of each parent that requires grad; the result is reduced to the parent's shape (:func:`unbroadcast`,
the one place where broadcasting is undone) and added to the parent's accumulated gradient. The
node's gradient is dropped as soon as it is consumed, and its saved values are released unless
``retain_graph``.

Two versions of the walk, same order and keys: :func:`_walk_fast` runs the rules on plain arrays
(``backward()`` and :func:`gradients`; its per-node cost is what scalar graphs feel), and
:func:`_walk_recorded` runs them on Tensors for ``create_graph`` (higher-order gradients). For a
0-d float64 node with a ``np.float64`` gradient (scalar graphs, micrograd-style) the fast walk runs the
rules of ``+ - *`` and ``tanh`` inline (:data:`_INLINE`), with the same operations in the same order,
so the results are the same bits as the rules'. Where the C extension :mod:`chainrule.autodiff._walk`
was built (and ``CHAINRULE_NATIVE`` does not turn it off when this module is imported), it runs the
fast walk instead: the same steps, rules and results, without the interpreter's cost per node
(:data:`NATIVE_WALK`; the tests compare both).

In-place changes (docs/autodiff.md): a node made before the latest recorded change or handed-out array
of any tensor has the values it saved verified before its rules run, and a changed one raises
(:func:`chainrule.autodiff.tensor._verify`); freeing a node counts its leaves down (``_retain``, see
:func:`chainrule.autodiff.tensor._held`).
"""

from __future__ import annotations

import heapq
from typing import Any, NoReturn

import numpy as np

from chainrule import backend
from chainrule._env import NATIVE, switched_on
from chainrule.autodiff import primitives as P
from chainrule.autodiff.graph import GRAD_ENABLED
from chainrule.autodiff.tensor import (
    _EVENT,
    _NO_PARAMS,
    _SEQ,
    Tensor,
    _leaf,
    _object_new,
    _verify,
)

__all__ = ["backward", "gradients", "unbroadcast", "vjp_of_node"]

_FLOAT64 = np.dtype(np.float64)
_F64 = np.float64

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved values after "
    "they have already been freed). The saved values of {what} were released by an earlier "
    "backward; pass retain_graph=True to the first backward call if you need to backward twice."
)


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Reduce gradient ``g`` (of a broadcast result) to ``shape`` by summing the broadcast axes.

    Works on plain arrays (NumPy speed) and on Tensors (recorded, for higher-order gradients). A
    gradient smaller than ``shape`` (broadcastable to it) is broadcast up instead.
    """
    gshape = tuple(getattr(g, "shape", ()))
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        return P.broadcast_to(g, shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1
    )
    if type(g) is np.ndarray:
        # Plain NumPy: reduce directly (the common case: batch axes of a bias or a weight).
        g = g.sum(axis=axes) if axes else g
        if g.shape != shape:
            g = g.reshape(shape) if g.size == _prod(shape) else np.broadcast_to(g, shape)
        return g
    if axes:
        g = P.sum(g, axis=axes, keepdims=False)
    if tuple(getattr(g, "shape", ())) != shape:
        g = P.reshape(g, shape) if _size(g) == _prod(shape) else P.broadcast_to(g, shape)
    return g


def _size(g: Any) -> int:
    return _prod(tuple(getattr(g, "shape", ())))


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def vjp_of_node(node: Tensor, k: int, g: Any, create_graph: bool = False) -> Any:
    """The gradient for parent ``k`` of ``node`` given the output gradient ``g``.

    Calls the primitive's rule for the operand position of parent ``k`` at the recorded values and
    reduces the result to the parent's shape. Used by the backward pass and the per-node gradient
    check. ``g`` is an array (or a Tensor when ``create_graph``).

    Raises:
        RuntimeError: the node's saved values were released; the primitive has no rule for it.
    """
    op = node.op
    if op is None:
        raise RuntimeError("a leaf has no VJP rule")
    if node._raw is None:
        _raise_freed(node)
    if node._seq < _EVENT[0]:
        _verify(node, node._seq, set())
    pos = _operand_position(node, k)
    rule = op.vjp_rule(pos)
    if rule is None:
        _raise_no_rule(op, pos)
    if create_graph:
        args = node.operands
        out = rule(g, node, *args, **node.params)
        if not isinstance(out, Tensor):
            out = _leaf(out)
    else:
        out = rule(g, node._data, *node._raw, **node.params)
        if isinstance(out, Tensor):
            out = out._data
    pshape = tuple(node.parents[k]._data.shape)
    if tuple(getattr(out, "shape", ())) != pshape:
        out = unbroadcast(out, pshape)
    return out


def _operand_position(node: Tensor, k: int) -> int:
    args = node._args
    if args is None:
        return k
    seen = -1
    for pos, a in enumerate(args):
        if isinstance(a, Tensor):
            seen += 1
            if seen == k:
                return pos
    raise IndexError(k)


def _raise_freed(node: Tensor) -> NoReturn:
    """Raise the error of a backward through a node whose saved values were released."""
    raise RuntimeError(_FREED.format(what=_describe(node)))


def _raise_no_rule(op: P.Primitive, pos: int) -> NoReturn:
    """Raise the error of an operand that requires grad where the primitive has no rule."""
    raise RuntimeError(_NO_RULE.format(name=op.name, pos=pos))


def _describe(node: Tensor) -> str:
    what = f"the {node.op.name if node.op else 'leaf'} node"
    return what + (f" {node.name!r}" if node.name else "")


_ONE = _F64(1.0)
_heappush, _heappop = heapq.heappush, heapq.heappop


def _seed(root: Tensor, grad: Any, create_graph: bool) -> Any:
    if grad is None and type(root._data) is _F64 and not create_graph:
        return _ONE  # the common case: a float64 scalar loss
    if grad is None:
        if _prod(tuple(root._data.shape)) != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; this output has shape "
                f"{tuple(root._data.shape)}: pass grad= (the gradient of the loss with respect to "
                "it, same shape) or reduce it first, e.g. y.sum().backward()"
            )
        d = root._data
        if isinstance(d, np.generic):
            g: Any = d.dtype.type(1)
        elif type(d) is np.ndarray:
            g = np.ones(d.shape, d.dtype)
        else:
            g = _xp(d).ones_like(d)
    else:
        g = grad._data if isinstance(grad, Tensor) and not create_graph else grad
        if not isinstance(g, Tensor):
            src = g
            g = backend.asarray(g, xp=_xp(root._data), dtype=root._data.dtype)
            if g is src and not isinstance(g, np.generic):
                # The caller's array: the gradients stored in .grad must not alias it.
                g = g.copy() if type(g) is np.ndarray else _xp(g).asarray(g, copy=True)
        gshape = tuple(getattr(g, "shape", ()))
        if gshape != tuple(root._data.shape):
            raise ValueError(
                f"grad has shape {gshape} but the output has shape {tuple(root._data.shape)}"
            )
    if create_graph and not isinstance(g, Tensor):
        g = _leaf(g)
    return g


def _xp(data: Any) -> Any:
    return np if isinstance(data, (np.ndarray, np.generic)) else backend.array_namespace(data)


def _walk_recorded(root: Tensor, g: Any, stop: dict[int, Tensor] | None) -> dict[int, Any]:
    """The backward pass with ``create_graph``: the VJP rules run on Tensors and record the graph
    of the gradients, so that they can be differentiated again; saved values are kept.

    Nodes are visited by decreasing creation number (``_seq``) from a heap: a node is always made
    after its parents, so every consumer of a node is done before the node itself, without a
    separate topological sort. Keys, ``stop`` and the result are as in :func:`_walk_fast`.
    """
    key = -root._seq
    pending: dict[int, Any] = {key: [root, g]}
    heap = [key]
    found: dict[int, Any] = {}
    leaf_grads: dict[int, Any] = {}
    stored: set[int] = set()
    push, pop = heapq.heappush, heapq.heappop
    neg_event = -_EVENT[0]  # nodes made before the latest in-place change are verified
    settled: set[int] = set()
    while heap:
        key = pop(heap)
        node, gnode = pending.pop(key)
        if stop is not None and key in stop:
            found[key] = gnode
            continue
        if node.op is None:
            if stop is None and node.requires_grad:
                _accumulate(node, gnode, True, stored)
            continue
        if node._raw is None:
            _raise_freed(node)
        if key > neg_event:
            _verify(node, -key, settled)
        if node._retain and stop is None:
            _accumulate(node, gnode, True, stored)
        for k, p in enumerate(node.parents):
            if not p.requires_grad:
                continue
            gk = vjp_of_node(node, k, gnode, True)
            pk = -p._seq
            if p.op is None and stop is None:
                # Leaves need no visit of their own: collect their gradient, store it at the end.
                entry = leaf_grads.get(pk)
                if entry is None:
                    leaf_grads[pk] = [p, gk]
                else:
                    entry[1] = entry[1] + gk
                continue
            entry = pending.get(pk)
            if entry is None:
                pending[pk] = [p, gk]
                push(heap, pk)
            else:
                entry[1] = entry[1] + gk
    for leaf, gleaf in leaf_grads.values():
        _accumulate(leaf, gleaf, True, stored)
    return found


# Rules that the fast walk runs inline for a 0-d float64 node with a np.float64 gradient (scalar
# graphs, where a Python call costs as much as the arithmetic): the rule -> what it computes.
# Same operations in the same order as the rules in primitives.py, so the same bits.
_PASS, _MUL_A, _MUL_B, _TANH = range(4)
_INLINE = {
    P.add_vjp_a: _PASS,  # g
    P.add_vjp_b: _PASS,
    P.sub_vjp_a: _PASS,
    P.mul_vjp_a: _MUL_A,  # g * b
    P.mul_vjp_b: _MUL_B,  # g * a
    P.tanh_vjp: _TANH,  # g * (1 - ans * ans)
}
#: The primitives whose nodes run the rules of :data:`_INLINE` inline. The table is keyed by rule, and
#: a primitive of the user's may reuse one of those rules where the output is 0-d and an operand is
#: not (a reduction): such a node calls the rule, whose result is then reduced to the operand's shape.
_INLINE_OPS = frozenset({P.ADD, P.SUB, P.MUL, P.TANH})
_NDARRAY = np.ndarray

_NO_RULE = "primitive {name!r} has no VJP rule for operand {pos}, but that operand requires grad"


class _Marker:
    """The marker of :func:`_walk_fast` (a leaf-like entry: ``op is None``)."""

    __slots__ = ()
    op = None


_VERIFY_FROM_HERE = _Marker()
_NOT_YET: set[int] = set()  # never used: verifying starts with a set of its own


def _walk_fast(
    root: Tensor, g: Any, free: bool, stop: dict[int, Tensor] | None = None
) -> dict[int, Any]:
    """The backward pass on plain arrays: :func:`_walk_recorded` without ``create_graph``, written for the
    smallest per-node cost (scalar graphs are dominated by it). Same order, same rules, same results.

    Without ``stop`` it accumulates into ``.grad`` (``loss.backward()``) and returns ``{}``. With
    ``stop`` (tensors keyed by ``-_seq``, as for :func:`gradients`) no ``.grad`` is touched: the walk
    stops at those tensors and returns their gradients by the same keys.

    Nodes are keyed by ``-_seq`` (unique; the newest node has the smallest key), so the heap holds
    plain ints, cheaper to push and compare than ``(key, node)`` tuples; ``pending`` maps a key to
    ``[node, gradient accumulated so far]``; ``leaf_grads`` the same for leaves, which need no
    visit of their own (their gradients are stored at the end, in the order they were reached).
    """
    key = -root._seq
    pending: dict[int, Any] = {key: [root, g]}
    heap = [key]
    leaf_grads: dict[int, Any] = {}
    found: dict[int, Any] = {}
    push, pop = _heappush, _heappop
    # In-place changes: the nodes made before the latest change or handed-out array of any tensor
    # (tensor._EVENT) are verified (tensor._verify). Keys grow as the walk goes back in time, so a
    # marker with that event's key, popped in its turn, switches verifying on for every node after it;
    # until then (and in every walk with no change since its graph was made) the hot path pays nothing.
    # ``check`` is not None once any per-node check is due: the tensors of ``stop``, or verifying.
    check: object = stop
    verifying = False
    settled = _NOT_YET  # the guards found unchanged (tensor._verify), from the marker on
    dec = 1 if free else 0  # a freed node no longer holds its leaves (tensor._held counts them)
    if _EVENT[0] >= 0:
        pending[-_EVENT[0]] = [_VERIFY_FROM_HERE, None]
        push(heap, -_EVENT[0])
    while heap:
        key = pop(heap)
        node, gnode = pending.pop(key)
        if check is not None:
            if stop is not None and key in stop:
                found[key] = gnode
                continue
            if verifying and node.op is not None and node._raw is not None:
                _verify(node, -key, settled)
        op = node.op
        if op is None:  # only the root can be a leaf here, or the marker
            if node is _VERIFY_FROM_HERE:
                check = verifying = True
                settled = set()
                continue
            leaf_grads[key] = [node, gnode]
            continue
        raw = node._raw
        if raw is None:
            _raise_freed(node)
        if node._retain and stop is None:
            _accumulate(node, gnode, False, set())
        args = node._args
        vjps = op.vjps
        params = node.params
        data = node._data
        # A scalar node with a scalar gradient: the rules of + - * and tanh run inline below.
        scalar = type(data) is _F64 and type(gnode) is _F64 and op in _INLINE_OPS
        k = -1
        for p in node.parents:
            k += 1
            if not p.requires_grad:
                if p.op is None:
                    p._retain -= dec  # a constant leaf
                continue
            if args is None:
                pos = k
            elif k == 0 and args[0] is p:  # y * 1.0001: the Tensor comes first
                pos = 0
            else:
                pos = _operand_position(node, k)
            try:
                rule = vjps[pos]
            except IndexError:
                rule = op.vjp_rule(pos)  # a variadic primitive (concatenate, stack, einsum)
            kind = _INLINE.get(rule) if scalar else None
            if kind is not None:
                # The same arithmetic as the rule, without the call. The output is 0-d, so every
                # operand of these elementwise primitives is 0-d too: no shape check is needed.
                if kind == _PASS:
                    gk = gnode
                elif kind == _TANH:
                    gk = gnode * (1.0 - data * data)
                else:  # mul: the gradient times the other operand
                    other = raw[1] if kind == _MUL_A else raw[0]
                    to = type(other)
                    if to is _F64 or to is float:
                        gk = gnode * other
                    elif to is _NDARRAY and other.dtype is _FLOAT64:
                        gk = gnode * other.item()  # exact scalar math, as mul_vjp_a/b do
                    else:
                        kind = None
            if kind is None:
                if rule is None:
                    _raise_no_rule(op, pos)
                if params:
                    gk = rule(gnode, data, *raw, **params)
                elif len(raw) == 2:  # positional calls are cheaper than unpacking
                    gk = rule(gnode, data, raw[0], raw[1])
                elif len(raw) == 1:
                    gk = rule(gnode, data, raw[0])
                else:
                    gk = rule(gnode, data, *raw)
                tg = type(gk)
                if tg is _F64:
                    # A NumPy scalar is 0-d: it fits every 0-d operand (scalar graphs) as it is.
                    if p._data.shape:
                        gk = unbroadcast(gk, tuple(p._data.shape))
                else:
                    if tg is Tensor:
                        gk = gk._data
                    pshape = p._data.shape
                    try:
                        same = gk.shape == pshape
                    except AttributeError:
                        same = False
                    if not same:
                        gk = unbroadcast(gk, tuple(pshape))
            pk = -p._seq
            if p.op is None:
                p._retain -= dec
                # Leaves need no visit of their own: collect their gradient, store it at the end.
                entry = leaf_grads.get(pk)
                if entry is None:
                    leaf_grads[pk] = [p, gk]
                else:
                    entry[1] = entry[1] + gk
                continue
            entry = pending.get(pk)
            if entry is None:
                pending[pk] = [p, gk]
                push(heap, pk)
            else:
                entry[1] = entry[1] + gk
        if free:
            node._raw = None
            if args is not None:
                # Most constants are numbers (y * 1.0001), kept: release only if there is an array.
                for a in args:
                    if not (a is None or isinstance(a, _KEPT)):
                        _release(node)
                        break
    if stop is not None:
        for key, (_, gleaf) in leaf_grads.items():
            if key in stop:
                found[key] = gleaf
        return found
    stored: set[int] = set()
    for leaf, gleaf in leaf_grads.values():
        d = leaf._data
        if (
            type(gleaf) is _F64
            and (type(d) is _NDARRAY or type(d) is _F64)
            and d.dtype is _FLOAT64
            and leaf.grad is None
        ):
            # The hot path of scalar graphs, inlined from _accumulate (and _leaf: one call less
            # per leaf): the np.float64 gradient of a float64 0-d leaf, kept as the NumPy scalar.
            t = _object_new(Tensor)
            t._data = gleaf
            t.requires_grad = False
            t.grad = None
            t.name = None
            t.op = None
            t.parents = ()
            t.params = _NO_PARAMS
            t._args = None
            t._raw = None
            t._retain = 0
            t._seq = next(_SEQ)
            leaf.grad = t
        else:
            _accumulate(leaf, gleaf, False, stored)
    return found


# Operands kept after backward: Tensors (the graph) and Python numbers (derivations print them).
_KEPT = (Tensor, float, int, complex)


def _release(node: Tensor) -> None:
    """Release the saved values of ``node``: ``_raw``, and the constant arrays among its operands."""
    node._raw = None
    args = node._args
    if args is not None:
        node._args = tuple(a if a is None or isinstance(a, _KEPT) else None for a in args)


def _accumulate(node: Tensor, g: Any, create_graph: bool, stored: set[int]) -> None:
    if create_graph:
        if not isinstance(g, Tensor):
            g = _leaf(g)
        node.grad = g if node.grad is None else node.grad + g
        return
    if node.grad is None and type(g) is _F64 and getattr(node._data, "dtype", None) is _FLOAT64:
        # The hot path of scalar graphs: a float64 scalar gradient for a float64 0-d leaf (kept
        # as the NumPy scalar, like the results of 0-d arithmetic).
        node.grad = _leaf(g)
        return
    if isinstance(g, Tensor):
        g = g._data
    dt = getattr(node._data, "dtype", None)
    if dt is not None and getattr(g, "dtype", dt) != dt:
        g = backend.asarray(g, dtype=dt)
    if node.grad is None:
        if type(g) is np.ndarray and (not g.flags.writeable or id(g) in stored):
            # A read-only broadcast view, or an array another leaf already holds: own a copy.
            g = g.copy()
        elif isinstance(g, np.generic):
            g = np.asarray(g)
        stored.add(id(g))
        node.grad = _leaf(g)
    else:
        node.grad = _leaf(node.grad._data + g)


def backward(
    root: Tensor, grad: Any = None, retain_graph: bool = False, create_graph: bool = False
) -> None:
    """See :meth:`chainrule.autodiff.tensor.Tensor.backward`."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of it had "
            "requires_grad=True (or it was computed under no_grad())"
        )
    if grad is None and not create_graph and type(root._data) is _F64:
        g = _ONE  # the common case, a float64 scalar loss (NumPy scalars are immutable: shared)
    else:
        g = _seed(root, grad, create_graph)
    previous = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = create_graph
    try:
        if create_graph:
            _walk_recorded(root, g, None)
        elif NATIVE_WALK is not None:
            NATIVE_WALK(root, g, not retain_graph, None, _EVENT[0])
        else:
            _walk_fast(root, g, not retain_graph)
    finally:
        GRAD_ENABLED[0] = previous


def gradients(
    output: Tensor,
    inputs: list[Tensor],
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> list[Any]:
    """Gradients of ``output`` with respect to ``inputs`` (any tensors in its graph), without
    touching any ``.grad``. An input the output does not depend on gets zeros.

    Returns one gradient per input, of the input's shape and dtype: arrays, or Tensors when
    ``create_graph`` (then differentiable again). ``retain_graph`` defaults to ``create_graph``.

    Raises:
        RuntimeError: ``grad`` omitted for a non-scalar output; the graph was already freed.
        ValueError: ``grad`` has the wrong shape.
    """
    if retain_graph is None:
        retain_graph = create_graph
    out: list[Any] = []
    if not output.requires_grad:
        found: dict[int, Any] = {}
    else:
        g = _seed(output, grad, create_graph)
        previous = GRAD_ENABLED[0]
        GRAD_ENABLED[0] = create_graph
        try:
            if create_graph:
                found = _walk_recorded(output, g, {-x._seq: x for x in inputs})
            else:
                stop = {-x._seq: x for x in inputs}
                if NATIVE_WALK is not None:
                    found = NATIVE_WALK(output, g, not retain_graph, stop, _EVENT[0])
                else:
                    found = _walk_fast(output, g, not retain_graph, stop)
        finally:
            GRAD_ENABLED[0] = previous
    for x in inputs:
        gx = found.get(-x._seq)
        if gx is None:
            z = _xp(x._data).zeros_like(x._data)
            gx = _leaf(z) if create_graph else z
        elif not create_graph:
            if isinstance(gx, Tensor):
                gx = gx._data
            dt = getattr(x._data, "dtype", None)
            if dt is not None and getattr(gx, "dtype", dt) != dt:
                # A float32 input in float64 arithmetic: its gradient in its own dtype, as .grad.
                gx = backend.asarray(gx, dtype=dt)
        out.append(gx)
    return out


def _setup_native(
    ext: Any, inline: dict[Any, int], inline_ops: frozenset[Any] = _INLINE_OPS
) -> None:
    """Hand the C walk ``ext`` (:mod:`chainrule.autodiff._walk`) the classes, the rules it runs
    inline (``inline``: :data:`_INLINE`, or another table in the tests) for the nodes of
    ``inline_ops`` (:data:`_INLINE_OPS`) and this module's helpers."""
    ext.setup(
        Tensor,
        _F64,
        np.ndarray,
        _FLOAT64,
        inline,
        _KEPT,
        _SEQ,
        _NO_PARAMS,
        _verify,
        _operand_position,
        unbroadcast,
        _accumulate,
        _release,
        _raise_freed,
        _raise_no_rule,
        inline_ops,
    )


def _load_native() -> Any:
    """The module :mod:`chainrule.autodiff._walk`, set up; None where the extension was not built or
    ``CHAINRULE_NATIVE`` turns it off."""
    if not switched_on(NATIVE):
        return None
    try:
        from chainrule.autodiff import _walk  # type: ignore[attr-defined]
    except ImportError:
        return None
    _setup_native(_walk, dict(_INLINE))
    return _walk


_walk = _load_native()

#: The C version of :func:`_walk_fast` (``walk(root, g, free, stop, event) -> found``, with
#: ``event`` = ``tensor._EVENT[0]``), or None where it is not available: then the Python walk runs.
#: Read ``CHAINRULE_NATIVE`` once, when this module is imported.
NATIVE_WALK: Any = None if _walk is None else _walk.walk
