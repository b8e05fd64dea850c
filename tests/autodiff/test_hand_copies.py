"""Guards on the code that is copied by hand for speed.

- A new Tensor's slots are assigned by hand in nine places (see the comment at ``Tensor.__slots__``):
  a Tensor built through each path has every slot the canonical constructor (``Tensor.__init__``)
  gives, with the values the graph documents (chainrule.autodiff.graph).
- The backward walk runs some VJP rules inline for scalar nodes (``backward._INLINE``): for every entry
  of that table, the inline arithmetic gives the rule's result, bit for bit, in the Python walk and
  in the C walk (chainrule.autodiff._walk), whose copy of the arithmetic is checked the same way.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import backward as B
from chainrule.autodiff import primitives as P
from chainrule.autodiff.graph import PRIMITIVES
from chainrule.autodiff.tensor import Tensor, _leaf, _node, apply

from .test_native_walk import NATIVE, needs_ext, walk

# --- every slot of a new Tensor -------------------------------------------------------------------

#: The slots the graph sets on a node; the others must be as ``Tensor.__init__`` leaves them.
_NODE_SLOTS = ("requires_grad", "op", "parents", "params", "_args", "_raw", "_retain")


def _canonical(data: Any, **graph: Any) -> Tensor:
    """What the canonical constructor makes: ``Tensor.__init__`` for a leaf, then (for a node) the
    graph's slots as documented: ``requires_grad=True``, ``_retain=False`` (not a leaf count)."""
    t = Tensor(0.0)
    t._data = data
    for k, v in graph.items():
        setattr(t, k, v)
    return t


def _same(a: Any, b: Any) -> bool:
    """Same value and type: identity for arrays and Tensors, element by element for tuples."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (np.ndarray, np.generic, Tensor)):
        return a is b or (not isinstance(a, Tensor) and a.tobytes() == b.tobytes())
    return bool(a == b)


def _assert_slots_match(t: Tensor, want: Tensor, path: str) -> None:
    slots = [s for s in Tensor.__slots__ if s != "__weakref__"]
    for s in slots:
        assert hasattr(t, s) == hasattr(want, s), f"{path}: slot {s} set on one and not the other"
        if hasattr(t, s) and s != "_seq":
            assert _same(getattr(t, s), getattr(want, s)), (
                f"{path}: slot {s} is {getattr(t, s)!r}, the constructor's {getattr(want, s)!r}"
            )


def _leaves() -> tuple[Tensor, Tensor]:
    a = cr.tensor(np.array([0.5, -1.5]), requires_grad=True, name="a")
    b = cr.tensor(np.array([2.0, 3.0]), requires_grad=True)
    return a, b


def _node_paths() -> list[tuple[str, Callable[[Tensor, Tensor], Tensor], Callable[..., Any]]]:
    """(path, build from leaves a and b, the graph slots the node must have)."""
    return [
        (
            "tensor._binary_method (Tensor operand)",
            lambda a, b: a * b,
            lambda a, b: dict(
                op=P.MUL, parents=(a, b), params={}, _args=None, _raw=(a._data, b._data)
            ),
        ),
        (
            "tensor._binary_method (constant operand)",
            lambda a, b: a - 2.5,
            lambda a, b: dict(
                op=P.SUB, parents=(a,), params={}, _args=(a, 2.5), _raw=(a._data, 2.5)
            ),
        ),
        (
            "tensor._node (via apply)",
            lambda a, b: cr.maximum(a, b),
            lambda a, b: dict(
                op=P.MAXIMUM, parents=(a, b), params={}, _args=None, _raw=(a._data, b._data)
            ),
        ),
        (
            "tensor._node (via _binary_r)",
            lambda a, b: 3.0 / a,
            lambda a, b: dict(
                op=P.DIV, parents=(a,), params={}, _args=(3.0, a), _raw=(3.0, a._data)
            ),
        ),
        (
            "primitives._unary",
            lambda a, b: cr.leaky_relu(a, 0.2),
            lambda a, b: dict(
                op=P.LEAKY_RELU,
                parents=(a,),
                params={"negative_slope": 0.2},
                _args=None,
                _raw=(a._data,),
            ),
        ),
        (
            "primitives._elementwise",
            lambda a, b: cr.tanh(a),
            lambda a, b: dict(op=P.TANH, parents=(a,), params={}, _args=None, _raw=(a._data,)),
        ),
    ]


@pytest.mark.parametrize("index", range(len(_node_paths())), ids=[p[0] for p in _node_paths()])
def test_a_node_has_every_slot_of_the_canonical_constructor(index: int) -> None:
    path, build, graph = _node_paths()[index]
    a, b = _leaves()
    before = (a._retain, b._retain)
    t = build(a, b)
    slots = graph(a, b)
    want = _canonical(t._data, requires_grad=True, _retain=False, **slots)
    _assert_slots_match(t, want, path)
    assert t._seq > max(a._seq, b._seq)  # made after its parents (the backward walk's order)
    # A leaf counts the nodes that saved it, once per occurrence among the parents.
    counts = tuple(sum(p is leaf for p in slots["parents"]) for leaf in (a, b))
    assert (a._retain, b._retain) == (before[0] + counts[0], before[1] + counts[1])


def _leaf_paths() -> list[tuple[str, Callable[[], Tensor], dict[str, Any]]]:
    """(path, build a leaf, its requires_grad and name)."""
    scalar_grad: list[Tensor] = []

    def backward_leaf_grad(native: bool) -> Tensor:
        if native and NATIVE is None and not os.environ.get("CI"):
            pytest.skip("chainrule.autodiff._walk is not built here")
        with walk(native):
            w = cr.tensor(0.7, requires_grad=True)
            x = cr.tensor(-1.3, requires_grad=True)
            (w * x).backward()
        assert w.grad is not None
        assert type(w.grad._data) is np.float64  # the path that makes the Tensor by hand
        scalar_grad.append(w)
        return w.grad

    return [
        (
            "Tensor.__init__",
            lambda: Tensor([1.0, 2.0], requires_grad=True, name="v"),
            {"name": "v"},
        ),
        (
            "tensor() (the NumPy fast path)",
            lambda: cr.tensor(np.array([1.0, 2.0]), requires_grad=True, name="v"),
            {"name": "v"},
        ),
        ("tensor._leaf (a result without a graph)", lambda: cr.tensor([1.0, 2.0]) * 2.0, {}),
        ("tensor._leaf (a comparison)", lambda: cr.tensor([1.0, 2.0]) > 1.5, {}),
        (
            "backward._walk_fast (a scalar leaf's gradient)",
            lambda: backward_leaf_grad(native=False),
            {},
        ),
        ("_walk.c store_scalar (a scalar leaf's gradient)", lambda: backward_leaf_grad(True), {}),
    ]


@pytest.mark.parametrize("index", range(len(_leaf_paths())), ids=[p[0] for p in _leaf_paths()])
def test_a_leaf_has_every_slot_of_the_canonical_constructor(index: int) -> None:
    path, build, flags = _leaf_paths()[index]
    t = build()
    want = _canonical(t._data, requires_grad="name" in flags, **flags)
    _assert_slots_match(t, want, path)
    assert type(t._retain) is int  # a leaf's count of the nodes that saved it


def test_the_canonical_constructor_is_what_leaf_and_node_make() -> None:
    # The test's reference itself: Tensor.__init__ and the shared helpers agree.
    data = np.array([1.0, 2.0])
    _assert_slots_match(_leaf(data), _canonical(data), "tensor._leaf")
    a, _ = _leaves()
    raw = (a._data,)
    t = _node(data, P.EXP, (a,), {}, None, raw)
    want = _canonical(
        data, requires_grad=True, op=P.EXP, parents=(a,), params={}, _args=None, _raw=raw
    )
    want._retain = False
    _assert_slots_match(t, want, "tensor._node")
    assert _same(apply(P.EXP, (np.array([0.0]),), {}), np.exp(np.array([0.0])))


# --- the inline rules of the backward walk ---------------------------------------------------------

VALUES = [0.3, -1.7, 0.0, -0.0, 2.5e-300, 1e300, -7.1e-310, np.inf, np.nan]


def _scalar(v: float) -> Tensor:
    return cr.tensor(np.asarray(v), requires_grad=True)


# For each entry of backward._INLINE, by the rule's name: a scalar graph in which that rule runs for
# a 0-d float64 node with a np.float64 gradient (leaves u, v; the root's gradient is not 1).
_GRAPHS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "add_vjp_a": lambda u, v: ((u + v) * 1.7) + ((u * 1.0) + 0.25),
    "add_vjp_b": lambda u, v: ((u + v) * -0.3) + (0.25 + (v * 1.0)),
    "sub_vjp_a": lambda u, v: ((u - v) * 2.9) + ((u * 1.0) - 4.0),
    "mul_vjp_a": lambda u, v: (u * v) * 1.3 + (u * 1.0) * (v * 1.0) + u * np.float64(0.7),
    "mul_vjp_b": lambda u, v: (u * v) * 1.3 + 0.6 * v + (u * 1.0) * (v * 1.0),
    "tanh_vjp": lambda u, v: cr.tanh(u) * 0.9 + cr.tanh(u * v) * v,
}


def test_every_inline_rule_has_a_graph() -> None:
    assert set(_GRAPHS) == {rule.__name__ for rule in B._INLINE}


class _Spy(dict):  # type: ignore[type-arg]
    """The inline table, recording which rules ran inline."""

    def __init__(self, table: dict[Any, int], hits: set[str]) -> None:
        super().__init__(table)
        self.hits = hits

    def get(self, key: Any, default: Any = None) -> Any:
        kind = super().get(key, default)
        if kind is not None:
            self.hits.add(key.__name__)
        return kind


def _grads(graph: Callable[[Tensor, Tensor], Tensor], u: float, v: float) -> list[Any]:
    tu, tv = _scalar(u), _scalar(v)
    out = graph(tu, tv)
    assert type(out._data) is np.float64  # a scalar graph: the inline rules apply
    out.backward()
    return [t.grad._data if t.grad is not None else None for t in (tu, tv)]


@pytest.mark.parametrize("name", sorted(_GRAPHS))
def test_inline_rule_matches_the_rule_bit_for_bit(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = _GRAPHS[name]
    table = dict(B._INLINE)
    hits: set[str] = set()
    with warnings.catch_warnings(), walk(native=False):
        warnings.simplefilter("ignore", RuntimeWarning)
        for u in VALUES:
            for v in VALUES:
                monkeypatch.setattr(B, "_INLINE", _Spy(table, hits))
                inline = _grads(graph, u, v)
                monkeypatch.setattr(B, "_INLINE", {})  # every rule called
                called = _grads(graph, u, v)
                for gi, gc in zip(inline, called, strict=True):
                    assert type(gi) is type(gc)
                    assert np.asarray(gi).tobytes() == np.asarray(gc).tobytes(), (name, u, v)
    assert name in hits  # the rule did run inline


class _Counted:
    """A VJP rule that counts its calls (the C walk calls a rule unless it runs it inline)."""

    def __init__(self, rule: Callable[..., Any]) -> None:
        self.rule, self.calls = rule, 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.rule(*args)


@needs_ext
@pytest.mark.parametrize("name", sorted(_GRAPHS))
def test_the_c_walks_inline_rule_matches_the_rule_bit_for_bit(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert B._walk is not None
    graph = _GRAPHS[name]
    rule = next(r for r in B._INLINE if r.__name__ == name)
    counted = _Counted(rule)
    prims = [p for p in PRIMITIVES.values() if rule in p.vjps]
    for prim in prims:  # the primitive calls the counted rule where it called the rule
        monkeypatch.setattr(prim, "vjps", tuple(counted if r is rule else r for r in prim.vjps))
    table = {counted if r is rule else r: kind for r, kind in B._INLINE.items()}
    try:
        with warnings.catch_warnings(), walk(native=True):
            warnings.simplefilter("ignore", RuntimeWarning)
            for u in VALUES:
                for v in VALUES:
                    B._setup_native(B._walk, table)
                    inline = _grads(graph, u, v)
                    assert counted.calls == 0  # the C walk ran it inline
                    B._setup_native(B._walk, {})  # every rule called
                    called = _grads(graph, u, v)
                    assert counted.calls > 0
                    counted.calls = 0
                    for gi, gc in zip(inline, called, strict=True):
                        assert type(gi) is type(gc)
                        assert np.asarray(gi).tobytes() == np.asarray(gc).tobytes(), (name, u, v)
    finally:
        B._setup_native(B._walk, dict(B._INLINE))
