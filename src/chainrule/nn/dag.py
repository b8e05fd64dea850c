"""``DAGNetwork``: single neurons wired by a directed acyclic graph, as in the seed's Q4.

Each non-input node ``i`` is one neuron::

    n_i = g(Σ_j w_{i,j} n_j  [+ b_i])

over its incoming edges ``j → i`` (in the order the edges were given). Weights are scalar
parameters, so a batch of inputs (any shape) flows through elementwise.

Names follow the seed: a node labelled by an integer (or a string of digits) ``k`` is the tensor
``n_k`` (``n_{12}`` for several characters); any other label is used verbatim (``x``, ``h1``). The
weight of edge ``j → i`` is ``w_{i,j}`` and a bias is ``b_i``. These are the tensors' names, so
``cr.explain(L, wrt=[x], symbols={"tanh": "g"})`` prints the seed's equations, and they are the
keys of :meth:`~chainrule.nn.module.Module.state_dict` (they are kept when the network is placed
inside another module).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

import chainrule.autodiff as ad
from chainrule.autodiff import Tensor
from chainrule.nn.layers import as_rng
from chainrule.nn.module import Module, parameter

__all__ = ["DAGNetwork", "node_name"]

Label = Hashable

#: Activation functions by name (the primitive's name, which ``explain``'s ``symbols`` refers to).
#: The activation g of every neuron, by name (None: the identity).
ACTIVATIONS: dict[str, Any] = {
    "tanh": ad.tanh,
    "sigmoid": ad.sigmoid,
    "relu": ad.relu,
    "softplus": ad.softplus,
    "sin": ad.sin,
    "identity": None,
}


_NEURON_ALIAS = re.compile(r"n_?\{?(\d+)\}?")


def _label_text(label: Label) -> str:
    """The node's key: ``7``, ``"7"``, ``"n7"``, ``"n_7"`` and ``"n_{7}"`` are all node ``"7"``."""
    text = str(label).strip()
    alias = _NEURON_ALIAS.fullmatch(text)
    return alias.group(1) if alias else text


def _subscript(text: str) -> str:
    return text if len(text) == 1 else "{" + text + "}"


def node_name(label: Label) -> str:
    """The tensor name of node ``label``: ``n_7`` for 7 or ``"7"``, ``n_{12}``, else the label."""
    text = _label_text(label)
    if text.isdigit():
        return "n_" + _subscript(text)
    return text


class DAGNetwork(Module):
    """A network of single neurons on a DAG given by its edges.

    Args:
        edges: ``(source, target)`` pairs; labels are ints or strings (``7``, ``"7"``, ``"n7"`` and
            ``"n_7"`` are the same node, the tensor ``n_7``).
        inputs: the input nodes, in the order ``forward`` takes them (default: nodes without
            incoming edges, in order of first appearance).
        outputs: the nodes ``forward`` returns, in order (default: nodes without outgoing edges,
            in order of first appearance).
        activation: ``"tanh"`` (default), ``"sigmoid"``, ``"relu"``, ``"softplus"``, ``"sin"`` or
            ``"identity"``; the same g for every neuron.
        bias: give each neuron a bias ``b_i``.
        weights: initial weights by edge: keys ``(target, source)``, ``"target,source"`` or the
            weight's name ``"w_{target,source}"``; biases by ``"b_i"``. Missing ones are drawn
            from ``U(-1/√fan_in, 1/√fan_in)`` (biases start at 0).
        dtype: the parameters' dtype.
        rng: Generator or int seed for the drawn weights (``seed=`` is an alias).

    Raises:
        ValueError: an empty edge list, a malformed or repeated edge, a cycle (names a node on it and
            the cycle), an input with incoming edges, a non-input node without incoming edges, an
            unknown node among inputs/outputs or weights, an unknown activation.
    """

    #: The seed's Q4 network: x → n_7; n_7 → n_5, n_6; n_5, n_6 → n_4; n_4, n_6 → n_3; n_4 → n_2.
    SEED_EDGES: ClassVar[tuple[tuple[Label, Label], ...]] = (
        ("x", 7),
        (7, 5),
        (7, 6),
        (5, 4),
        (6, 4),
        (4, 3),
        (6, 3),
        (4, 2),
    )

    def __init__(
        self,
        edges: Iterable[tuple[Label, Label]],
        inputs: Sequence[Label] | None = None,
        outputs: Sequence[Label] | None = None,
        activation: str = "tanh",
        bias: bool = False,
        weights: Mapping[Any, Any] | None = None,
        dtype: Any = "float64",
        *,
        rng: np.random.Generator | int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        self.activation = activation
        self.has_bias = bool(bias)
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise ValueError(f"dtype must be floating, not {dtype!r}")
        self._build_graph(edges, inputs, outputs)
        self._init_parameters(weights, dt, as_rng(rng, seed))

    # --- the graph ---------------------------------------------------------------------------------

    def _build_graph(
        self,
        edges: Iterable[tuple[Label, Label]],
        inputs: Sequence[Label] | None,
        outputs: Sequence[Label] | None,
    ) -> None:
        nodes: dict[str, Label] = {}  # text → the label as first given, in order of appearance
        preds: dict[str, list[str]] = {}
        succs: dict[str, list[str]] = {}
        seen_edges: set[tuple[str, str]] = set()
        edge_list = list(edges)
        if not edge_list:
            raise ValueError("DAGNetwork needs at least one edge")
        for k, edge in enumerate(edge_list):
            if isinstance(edge, (str, bytes)) or len(edge) != 2:
                raise ValueError(f"edge {k} must be a (source, target) pair, not {edge!r}")
            src, dst = (_label_text(v) for v in edge)
            for label, text in zip(edge, (src, dst), strict=True):
                nodes.setdefault(text, label)
                preds.setdefault(text, [])
                succs.setdefault(text, [])
            if src == dst:
                raise ValueError(f"the graph has a cycle: node {node_name(edge[0])} feeds itself")
            if (src, dst) in seen_edges:
                raise ValueError(f"edge {edge[0]!r} → {edge[1]!r} is given twice")
            seen_edges.add((src, dst))
            preds[dst].append(src)
            succs[src].append(dst)

        order = self._topological_order(nodes, preds, succs)

        def known(label: Label, role: str) -> str:
            text = _label_text(label)
            if text not in nodes:
                raise ValueError(
                    f"{role} {label!r} is not a node of the graph; nodes: {', '.join(nodes)}"
                )
            return text

        ins = (
            [known(v, "input") for v in inputs]
            if inputs is not None
            else [v for v in nodes if not preds[v]]
        )
        if len(set(ins)) != len(ins):
            raise ValueError(f"inputs repeat a node: {list(inputs or ins)!r}")
        for v in ins:
            if preds[v]:
                raise ValueError(
                    f"input {node_name(nodes[v])} has incoming edges from "
                    f"{', '.join(node_name(nodes[p]) for p in preds[v])}"
                )
        for v in nodes:
            if not preds[v] and v not in ins:
                raise ValueError(
                    f"node {node_name(nodes[v])} has no incoming edges and is not an input"
                )
        outs = (
            [known(v, "output") for v in outputs]
            if outputs is not None
            else [v for v in nodes if not succs[v]]
        )
        if not outs:
            raise ValueError("DAGNetwork needs at least one output node")
        self._order = order
        self._nodes = nodes
        self._preds = preds
        self.inputs: tuple[Label, ...] = tuple(nodes[v] for v in ins)
        self.outputs: tuple[Label, ...] = tuple(nodes[v] for v in outs)
        self._in_texts = tuple(ins)
        self._out_texts = tuple(outs)
        self.edges: tuple[tuple[Label, Label], ...] = tuple(
            (nodes[s], nodes[d])
            for s, d in ((_label_text(a), _label_text(b)) for a, b in edge_list)
        )

    @staticmethod
    def _topological_order(
        nodes: Mapping[str, Label], preds: Mapping[str, list[str]], succs: Mapping[str, list[str]]
    ) -> list[str]:
        """Kahn's algorithm (iterative), ties broken by order of first appearance.

        Raises:
            ValueError: a cycle, naming one of its nodes and the cycle itself.
        """
        position = {v: i for i, v in enumerate(nodes)}
        indeg = {v: len(preds[v]) for v in nodes}
        order: list[str] = []
        heap = [(position[v], v) for v in nodes if indeg[v] == 0]
        heapq.heapify(heap)
        while heap:
            _, v = heapq.heappop(heap)
            order.append(v)
            for s in succs[v]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    heapq.heappush(heap, (position[s], s))
        if len(order) < len(nodes):
            left = {v for v in nodes if indeg[v] > 0}
            # Walk backwards through unfinished predecessors until a node repeats: that is a cycle.
            start = min(left, key=position.__getitem__)
            path = [start]
            on_path = {start: 0}
            v = start
            while True:
                v = next(p for p in preds[v] if p in left)
                if v in on_path:
                    cycle = path[on_path[v] :][::-1]
                    break
                on_path[v] = len(path)
                path.append(v)
            names = [node_name(nodes[c]) for c in cycle]
            raise ValueError(
                f"the graph has a cycle through {names[0]}: {' → '.join([*names, names[0]])}"
            )
        return order

    # --- parameters --------------------------------------------------------------------------------

    @staticmethod
    def weight_name(target: Label, source: Label) -> str:
        """The name of the weight of edge ``source → target``: ``w_{target,source}``."""
        return f"w_{{{_label_text(target)},{_label_text(source)}}}"

    @staticmethod
    def bias_name(node: Label) -> str:
        """The name of a neuron's bias: ``b_i``."""
        return "b_" + _subscript(_label_text(node))

    def _init_parameters(
        self, weights: Mapping[Any, Any] | None, dtype: np.dtype[Any], rng: np.random.Generator
    ) -> None:
        given: dict[str, Any] = {}
        for key, value in (weights or {}).items():
            given[self._weight_key(key)] = value
        self._weights: dict[str, list[tuple[str, Tensor]]] = {}
        self._biases: dict[str, Tensor] = {}
        for v in self._order:
            if v in self._in_texts:
                continue
            fan_in = len(self._preds[v])
            bound = 1.0 / np.sqrt(fan_in)
            row = []
            for u in self._preds[v]:
                name = self.weight_name(v, u)
                value = given.pop(name) if name in given else rng.uniform(-bound, bound)
                w = parameter(np.asarray(value, dtype=dtype), name=name)
                if w.ndim != 0:
                    raise ValueError(f"weight {name} must be a scalar, got shape {w.shape}")
                self.register_parameter(name, w)
                row.append((u, w))
            self._weights[v] = row
            if self.has_bias:
                name = self.bias_name(v)
                value = given.pop(name) if name in given else 0.0
                b = parameter(np.asarray(value, dtype=dtype), name=name)
                if b.ndim != 0:
                    raise ValueError(f"bias {name} must be a scalar, got shape {b.shape}")
                self.register_parameter(name, b)
                self._biases[v] = b
        if given:
            raise ValueError(
                f"weights for edges that are not in the graph: {', '.join(sorted(given))}"
            )

    def _weight_key(self, key: Any) -> str:
        """``(i, j)``, ``"i,j"``, ``"w_{i,j}"`` or ``"b_i"`` → the parameter's name."""
        if isinstance(key, tuple) and len(key) == 2:
            return self.weight_name(*key)
        text = str(key).strip()
        if text.startswith(("w_", "b_")):
            return text
        if "," in text:
            i, j = (s.strip() for s in text.split(",", 1))
            return self.weight_name(i, j)
        raise ValueError(
            f"weight key {key!r}: use (target, source), 'target,source' or 'w_{{target,source}}'"
        )

    # --- evaluation --------------------------------------------------------------------------------

    def _bind_inputs(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if len(args) > len(self._in_texts):
            raise TypeError(
                f"DAGNetwork takes {len(self._in_texts)} input(s) "
                f"({', '.join(map(str, self.inputs))}), got {len(args)}"
            )
        bound: dict[str, Any] = dict(zip(self._in_texts, args, strict=False))
        for key, val in kwargs.items():
            text = _label_text(key)
            if text not in self._in_texts:
                raise TypeError(f"{key!r} is not an input; inputs: {', '.join(self._in_texts)}")
            if text in bound:
                raise TypeError(f"input {key!r} given twice")
            bound[text] = val
        missing = [t for t in self._in_texts if t not in bound]
        if missing:
            raise TypeError(f"missing input(s): {', '.join(missing)}")
        for text, val in bound.items():
            if not isinstance(val, Tensor):
                val = ad.as_tensor(val)
            if val.name is None:
                # Name the input as the seed does (x), so derivations read ∂L/∂x.
                val.name = node_name(self._nodes[text])
            bound[text] = val
        return bound

    def evaluate(self, *inputs: Any, **named_inputs: Any) -> dict[Label, Tensor]:
        """Every node's tensor (inputs included), by label, in topological order.

        Inputs are given positionally in ``self.inputs`` order or by label (``x=...``). A
        non-Tensor input becomes a Tensor; an unnamed input Tensor is given its node's name.
        Computed tensors are named ``n_i`` (see the module docstring).
        """
        values = self._bind_inputs(inputs, named_inputs)
        g = ACTIVATIONS[self.activation]
        for v in self._order:
            if v in values:
                continue
            s: Any = None
            for u, w in self._weights[v]:
                term = w * values[u]
                s = term if s is None else s + term
            if v in self._biases:
                s = s + self._biases[v]
            out = s if g is None else g(s)
            out.name = node_name(self._nodes[v])
            values[v] = out
        return {self._nodes[v]: values[v] for v in [*self._in_texts, *self._order] if v in values}

    def forward(self, *inputs: Any, as_dict: bool = False, **named_inputs: Any) -> Any:
        """The output nodes' tensors: one output → that Tensor; several → a tuple in
        ``self.outputs`` order; ``as_dict=True`` → a dict by label."""
        values = self.evaluate(*inputs, **named_inputs)
        outs = {self._nodes[t]: values[self._nodes[t]] for t in self._out_texts}
        if as_dict:
            return outs
        if len(outs) == 1:
            return next(iter(outs.values()))
        return tuple(outs.values())

    # --- the seed ----------------------------------------------------------------------------------

    @classmethod
    def seed(
        cls,
        weights: Mapping[Any, Any] | None = None,
        *,
        activation: str = "tanh",
        bias: bool = False,
        dtype: Any = "float64",
        rng: np.random.Generator | int | None = None,
        seed: int | None = None,
    ) -> DAGNetwork:
        """The seed's Q4 network (:data:`SEED_EDGES`; input ``x``, outputs ``n_2``, ``n_3``).

        Args:
            weights: by edge (``{"7,x": 0.3, "5,7": -0.8, ...}`` or ``{(7, "x"): 0.3, ...}``);
                missing ones are drawn with ``rng``.
        """
        return cls(
            cls.SEED_EDGES,
            inputs=["x"],
            outputs=[2, 3],
            activation=activation,
            bias=bias,
            weights=weights,
            dtype=dtype,
            rng=rng,
            seed=seed,
        )

    def extra_repr(self) -> str:
        edges = ", ".join(f"{node_name(s)}→{node_name(d)}" for s, d in self.edges)
        return (
            f"edges=[{edges}], activation={self.activation!r}, bias={self.has_bias}, "
            f"outputs=[{', '.join(node_name(o) for o in self.outputs)}]"
        )
