"""``backprop``: a DAG of single neurons; find ∂L/∂n_k, ∂L/∂w_{k,j} and ∂L/∂x as chain-rule
expressions.

Problem keys::

    edges = ["x->n7", "n7->n5", "n7->n6", "n5->n4", "n6->n4", "n4->n3", "n6->n3", "n4->n2"]
    loss_from = ["n2", "n3"]       # L = Σ_k ½ (n_k − t_k)² over these nodes
    targets = [1.0, -0.5]          # optional t_k, one per loss_from node (default: L = Σ_k ½ n_k²)
    activation = "tanh"            # tanh (default), sigmoid, softplus, sin, identity
    symbol = "g"                   # how answers call the activation: g(z), g'(z)
    loss = "sum of squares"        # the only loss so far
    find = ["dL/dn4", "dL/dn5", "dL/dn6", "dL/dn7", "dL/dx"]   # what is asked (or each part's find)
    [problem.random]
    edges = { draw = "dag", nodes = 6, skip = true }

Each neuron computes ``n_i = g(z_i)``, ``z_i = Σ_j w_{i,j} n_j`` over its incoming edges ``j → i``.
A node is written ``n7``, ``n_7`` or ``7`` (the neuron ``n_7``); a node without incoming edges is an
input and has a plain name (``x``). The weight of ``j → i`` is ``w_{i,j}``.

Answers. Without parts, a table keyed by what is asked (any spelling of the gradient)::

    "dL/dn4" = "dL/dn2 * g'(w[2,4]*n4) * w[2,4] + dL/dn3 * g'(w[3,4]*n4 + w[3,6]*n6) * w[3,4]"

With parts, each part has ``find = "dL/dn4"`` and its answer is the expression. An expression may
use every node value (``n4``, ``n_4``, ``n_4(x)``, ``n[4]``), the weights (``w[4,6]``, ``w_{4,6}``),
the inputs, the targets ``t_k`` (when given), ``g`` and ``g'``, and the gradients of the loss with
respect to the nodes *after* the one asked about (``∂L/∂n_2`` in an answer for ``∂L/∂n_4``), as the
seed does; those are given values, drawn consistently with the rest.

Grading: the reference is the one-step chain rule (a sum over the edges out of the node, each term
``∂L/∂n_c · g'(z_c) · w_{c,k}``), itself checked against ``backward()`` first; an answer is judged
equal to it at seeded random weights and inputs, with the network run forward and backward for every
point. A wrong answer names the edge whose term is missing, extra or of the wrong sign.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

import chainrule as cr
from chainrule.nn.dag import ACTIVATIONS as DAG_ACTIVATIONS
from chainrule.nn.dag import DAGNetwork
from chainrule.problems import fields as F
from chainrule.problems.equivalence import ATOL, POINTS, RTOL, Judgement, Sampler, judge
from chainrule.problems.errors import FormatError, caret
from chainrule.problems.expr.evaluate import EvaluationError, evaluate
from chainrule.problems.expr.nodes import BinOp, Call, Expr, Name, Num, Unary
from chainrule.problems.expr.parser import ALIASES, BUILTIN_FUNCTIONS, REDUCTIONS
from chainrule.problems.expr.render import to_latex, to_text
from chainrule.problems.expr.scope import CONSTANTS, Scope
from chainrule.problems.kinds.base import Kind
from chainrule.problems.points import answer_seed
from chainrule.problems.results import (
    CheckLine,
    Counterexample,
    Figure,
    PartSolution,
    ProblemSolution,
    Step,
    Verdict,
)
from chainrule.problems.schema import Part, Problem

__all__ = ["ACTIVATIONS", "BackpropKind", "draw_dag"]

#: The activations a problem may use: the body of ``g`` in the answer language.
ACTIVATIONS: dict[str, str] = {
    "tanh": "tanh(t)",
    "sigmoid": "sigma(t)",
    "softplus": "softplus(t)",
    "sin": "sin(t)",
    "identity": "t",
}
#: The built-in function of the answer language that each activation is (a symbol may be it).
_BUILTIN_OF = {"tanh": "tanh", "sigmoid": "sigma", "softplus": "softplus", "sin": "sin"}
#: The autodiff primitive of each activation (the key of ``explain``'s ``symbols``): DAGNetwork's table.
_TENSOR_FUNCS: dict[str, Callable[[Any], Any] | None] = {k: DAG_ACTIVATIONS[k] for k in ACTIVATIONS}
#: The activations in NumPy, for finite differences (independent of the autodiff engine).
_NUMPY_FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "sin": np.sin,
    "identity": lambda z: z,
}
#: The most neurons in a network (given or drawn).
MAX_NODES = 60
#: The bounds of a ``dag`` draw's ``nodes``.
DRAW_NODES = (2, 30)
_GRAD = "∂L/∂"
_NEURON = re.compile(r"^(?:n_?\{?(\d+)\}?|(\d+))\Z")
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*\Z")
_ARROW = re.compile(r"->|→")
_RESERVED = {"L", "n", "w", "t", "and", *CONSTANTS, *BUILTIN_FUNCTIONS, *ALIASES, *REDUCTIONS}


# -- the network ---------------------------------------------------------------------------------


def _subscript(text: str) -> str:
    return text if len(text) == 1 else "{" + text + "}"


def _node(label: str) -> tuple[str, str]:
    """``(name, subscript text)`` of a node label: ``n7``, ``n_7``, ``7`` → ``("n_7", "7")``; ``x``
    → ``("x", "x")``.

    Raises:
        FormatError: a label that is neither a neuron number nor a plain name.
    """
    text = label.strip()
    m = _NEURON.match(text)
    if m:
        digits = str(int(m.group(1) or m.group(2)))
        return "n_" + _subscript(digits), digits
    if _PLAIN.match(text) and not text.startswith("n_"):
        if text in _RESERVED:
            raise FormatError(f"the node {text!r} clashes with a name of the answer language")
        return text, text
    raise FormatError(f"{text!r} is not a node: write a neuron as n7, n_7 or 7, an input as x")


def _spellings(name: str, sub: str) -> list[str]:
    """Other ways to write node ``name`` (``n_4``: ``n4``, ``n_{4}``)."""
    if not name.startswith("n_"):
        return []
    out = [f"n_{sub}", f"n{sub}", f"n_{{{sub}}}"]
    return [s for s in dict.fromkeys(out) if s != name]


@dataclass
class _Net:
    """A checked network: its nodes in forward order, edges, weights and loss."""

    inputs: list[str]
    order: list[str]
    parents: dict[str, list[str]]
    children: dict[str, list[str]]
    subs: dict[str, str]
    edges: list[tuple[str, str]]
    edge_text: dict[tuple[str, str], str]
    loss_from: list[str]
    targets: dict[str, float] | None
    activation: str
    symbol: str
    weight_ends: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def neurons(self) -> list[str]:
        return [v for v in self.order if v not in self.inputs]

    def weight(self, target: str, source: str) -> str:
        """``w_{target,source}``."""
        return f"w_{{{self.subs[target]},{self.subs[source]}}}"

    @property
    def weights(self) -> list[str]:
        return [self.weight(d, s) for s, d in self.edges]

    def target_name(self, node: str) -> str:
        return "t_" + _subscript(self.subs[node])

    def after(self, node: str) -> list[str]:
        """The nodes reachable from ``node`` (not itself), in forward order."""
        seen: set[str] = set()
        stack = list(self.children[node])
        while stack:
            v = stack.pop()
            if v not in seen:
                seen.add(v)
                stack.extend(self.children[v])
        return [v for v in self.order if v in seen]

    def edge_label(self, source: str, target: str) -> str:
        return f"{source}→{target}"

    # -- numbers ----------------------------------------------------------------------------------
    def run(
        self, weights: dict[str, np.ndarray], inputs: dict[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Forward and backward through chainrule's autodiff at a batch of points (every array has
        the batch shape): ``(node values, pre-activations z, gradients ∂L/∂name)`` for nodes, inputs
        and weights. L sums over the batch, so each point's gradient is its own."""
        act = _TENSOR_FUNCS[self.activation]
        ws = {
            k: cr.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
            for k, v in weights.items()
        }
        vals: dict[str, Any] = {
            k: cr.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
            for k, v in inputs.items()
        }
        zs: dict[str, Any] = {}
        for v in self.neurons:
            s: Any = None
            for u in self.parents[v]:
                term = ws[self.weight(v, u)] * vals[u]
                s = term if s is None else s + term
            zs[v] = s
            out = s if act is None else act(s)
            out.retain_grad()
            vals[v] = out
        loss = self._tensor_loss(vals)
        loss.backward()
        grads: dict[str, np.ndarray] = {}
        for k, t in {**vals, **ws}.items():
            g = t.grad
            grads[k] = (
                np.zeros(np.shape(t.data)) if g is None else np.asarray(g.data, dtype=np.float64)
            )
        values = {k: np.asarray(t.data, dtype=np.float64) for k, t in vals.items()}
        pre = {k: np.asarray(t.data, dtype=np.float64) for k, t in zs.items()}
        return values, pre, grads

    def _tensor_loss(self, vals: dict[str, Any]) -> Any:
        total: Any = None
        for k in self.loss_from:
            t = self.targets[k] if self.targets else 0.0
            term = 0.5 * (vals[k] - t) ** 2
            total = term if total is None else total + term
        return total.sum()

    def numpy_loss(
        self,
        weights: dict[str, np.ndarray],
        inputs: dict[str, np.ndarray],
        shift: tuple[str, float] | None = None,
    ) -> np.ndarray:
        """L at each point in plain NumPy; ``shift = (name, h)`` adds ``h`` to one weight, one input
        or one node's value (after it is computed), for finite differences."""
        g = _NUMPY_FUNCS[self.activation]
        name, h = shift if shift is not None else ("", 0.0)
        w = {
            k: np.asarray(v, dtype=np.float64) + (h if k == name else 0.0)
            for k, v in weights.items()
        }
        vals = {
            k: np.asarray(v, dtype=np.float64) + (h if k == name else 0.0)
            for k, v in inputs.items()
        }
        for v in self.neurons:
            z = sum(w[self.weight(v, u)] * vals[u] for u in self.parents[v])
            vals[v] = g(np.asarray(z)) + (h if v == name else 0.0)
        loss = np.zeros_like(next(iter(vals.values())))
        for k in self.loss_from:
            t = self.targets[k] if self.targets else 0.0
            loss = loss + 0.5 * (vals[k] - t) ** 2
        return np.asarray(loss)

    def draw_point(
        self, rng: np.random.Generator, batch: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Random weights (uniform in ±1.5, some exactly 0 or ±1) and inputs (uniform in ±2, some 0
        or ±1), ``batch`` of each."""
        weights = {k: _mixed(rng, batch, 1.5) for k in self.weights}
        inputs = {k: _mixed(rng, batch, 2.0) for k in self.inputs}
        return weights, inputs


def _mixed(rng: np.random.Generator, batch: int, bound: float) -> np.ndarray:
    out = rng.uniform(-bound, bound, size=batch)
    mask = rng.random(batch) < 0.15
    if mask.any():
        out[mask] = rng.choice([0.0, 1.0, -1.0], size=int(mask.sum()))
    return out


def _parse_edges(
    items: list[str],
) -> tuple[list[tuple[str, str]], dict[tuple[str, str], str], dict[str, str]]:
    """The edges as ``(source, target)`` node names, each edge's text, and each node's subscript.

    Raises:
        FormatError: a malformed edge, a self-loop or a repeated edge (naming the edge).
    """
    edges: list[tuple[str, str]] = []
    texts: dict[tuple[str, str], str] = {}
    subs: dict[str, str] = {}
    for k, text in enumerate(items):
        ends = _ARROW.split(text)
        if len(ends) != 2 or not all(e.strip() for e in ends):
            raise FormatError(
                f'edge {k + 1} "{text}" is malformed: write "source->target", e.g. "x->n7"',
                field="edges",
            )
        pair = []
        for end in ends:
            try:
                name, sub = _node(end)
            except FormatError as exc:
                raise FormatError(f'edge {k + 1} "{text}": {exc.message}', field="edges") from None
            if subs.setdefault(name, sub) != sub:
                raise FormatError(f'edge {k + 1} "{text}": two nodes named {name}', field="edges")
            pair.append(name)
        src, dst = pair
        if src == dst:
            raise FormatError(
                f'edge {k + 1} "{text}" is a self-loop: {src} cannot feed itself', field="edges"
            )
        if (src, dst) in texts:
            raise FormatError(
                f'edge {k + 1} "{text}" repeats the edge "{texts[(src, dst)]}"', field="edges"
            )
        texts[(src, dst)] = text
        edges.append((src, dst))
    return edges, texts, subs


def _validate_graph(edges: list[tuple[str, str]], texts: dict[tuple[str, str], str]) -> DAGNetwork:
    """Build the network once with :class:`DAGNetwork`, which checks that it is a DAG.

    Raises:
        FormatError: a cycle (naming the edges on it) or another graph error, with field ``edges``.
    """
    try:
        return DAGNetwork(edges, activation="identity", rng=0)
    except ValueError as exc:
        message = str(exc)
        m = re.search(r"cycle through \S+: (.*)$", message)
        if m:
            path = [p.strip() for p in m.group(1).split("→")]
            on_cycle = [texts.get((a, b)) for a, b in itertools.pairwise(path)]
            if on_cycle and all(on_cycle):
                message += " (edges " + ", ".join(f'"{t}"' for t in on_cycle) + ")"
        raise FormatError(message, field="edges") from None


def _topological(nodes: list[str], parents: dict[str, list[str]]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    remaining = list(nodes)
    while remaining:
        ready = [v for v in remaining if all(p in done for p in parents[v])]
        if not ready:  # pragma: no cover - DAGNetwork has rejected cycles already
            raise FormatError("the graph has a cycle", field="edges")
        order.extend(ready)
        done.update(ready)
        remaining = [v for v in remaining if v not in done]
    return order


def _build_net(givens: dict[str, Any]) -> _Net:
    """Check the network's givens and build it.

    Raises:
        FormatError: with the field at fault (``edges``, ``loss_from``, ``targets``, ``symbol``).
    """
    edges, texts, subs = _parse_edges(givens["edges"])
    if not edges:
        raise FormatError("at least one edge is needed", field="edges")
    _validate_graph(edges, texts)
    nodes = list(dict.fromkeys(v for e in edges for v in e))
    parents: dict[str, list[str]] = {v: [] for v in nodes}
    children: dict[str, list[str]] = {v: [] for v in nodes}
    for s, d in edges:
        parents[d].append(s)
        children[s].append(d)
    inputs = [v for v in nodes if not parents[v]]
    for v in inputs:
        if v.startswith("n_"):
            edge = next(texts[e] for e in edges if e[0] == v)
            raise FormatError(
                f'{v} (edge "{edge}") has no incoming edge: a neuron needs an input; '
                "name the inputs like x",
                field="edges",
            )
    if len(nodes) - len(inputs) > MAX_NODES:
        raise FormatError(f"more than {MAX_NODES} neurons", field="edges")
    order = _topological(nodes, parents)
    position = {v: i for i, v in enumerate(order)}
    for v in nodes:
        children[v].sort(key=position.__getitem__)
    loss_from: list[str] = []
    for text in givens["loss_from"]:
        try:
            name, _ = _node(text)
        except FormatError as exc:
            raise FormatError(exc.message, field="loss_from") from None
        if name not in parents:
            raise FormatError(f"{text!r} is not a node of the edges", field="loss_from")
        if name in inputs:
            raise FormatError(f"{name} is an input; the loss reads neurons", field="loss_from")
        if name in loss_from:
            raise FormatError(f"{name} is listed twice", field="loss_from")
        loss_from.append(name)
    if not loss_from:
        raise FormatError("name the nodes the loss reads, e.g. ['n2', 'n3']", field="loss_from")
    for v in nodes:
        if not children[v] and v not in loss_from:
            raise FormatError(
                f"{v} has no outgoing edge and is not in loss_from: it does not affect L",
                field="loss_from",
            )
    targets = None
    if "targets" in givens:
        values = givens["targets"]
        if len(values) != len(loss_from):
            raise FormatError(
                f"{len(values)} targets for {len(loss_from)} loss nodes", field="targets"
            )
        targets = {k: float(t) for k, t in zip(loss_from, values, strict=True)}
    activation = givens.get("activation", "tanh")
    symbol = ALIASES.get(givens.get("symbol", "g"), givens.get("symbol", "g"))
    if not _PLAIN.match(symbol):
        raise FormatError(f"the symbol {symbol!r} is not a plain name", field="symbol")
    if symbol in BUILTIN_FUNCTIONS and _BUILTIN_OF.get(activation) != symbol:
        raise FormatError(
            f"{symbol!r} is a built-in function other than the activation {activation}",
            field="symbol",
        )
    if symbol in nodes or symbol in ("L", "w", "t", *CONSTANTS, *REDUCTIONS):
        raise FormatError(f"the symbol {symbol!r} is already a name", field="symbol")
    net = _Net(
        inputs, order, parents, children, subs, edges, texts, loss_from, targets, activation, symbol
    )
    net.weight_ends = {net.weight(d, s): (d, s) for s, d in edges}
    return net


def _build_scope(net: _Net) -> Scope:
    """Declare every node, weight, target and gradient, and ``g``.

    Raises:
        FormatError: two names that clash (field ``edges``).
    """
    scope = Scope(applied=tuple(net.inputs))

    def declare(key: str, *spellings: str) -> None:
        for s in (key, *spellings):
            if s in scope.variables or s in scope.aliases:
                raise FormatError(f"the name {s} is used twice", field="edges")
        scope.declare_scalar(key, *spellings)

    for v in net.order:
        declare(v, *_spellings(v, net.subs[v]))
        declare(_GRAD + v)
    for w, (d, s) in net.weight_ends.items():
        alts = {
            f"w_{{{a},{b}}}"
            for a in (net.subs[d], *_spellings(d, net.subs[d]))
            for b in (net.subs[s], *_spellings(s, net.subs[s]))
            if "{" not in a + b
        }
        declare(w, *sorted(alts - {w}))
        declare(_GRAD + w)
    if net.targets is not None:
        for k in net.loss_from:
            t = net.target_name(k)
            sub = net.subs[k]
            declare(t, *sorted({f"t_{sub}", f"t{sub}", f"t_{{{sub}}}"} - {t}))
    if net.symbol in scope.variables or net.symbol in scope.aliases:
        raise FormatError(f"the symbol {net.symbol!r} is already a name", field="symbol")
    if net.symbol not in BUILTIN_FUNCTIONS:
        scope.define_function(net.symbol, "t -> " + ACTIVATIONS[net.activation])
    return scope


# -- references ----------------------------------------------------------------------------------


@dataclass
class _Reference:
    """The chain-rule expression of one asked gradient, its terms (each with what it stands for),
    and the gradients an answer may refer to."""

    key: str
    target: str
    expr: Expr
    terms: list[tuple[Expr, str]]
    allowed: list[str]


def _product(*factors: Expr) -> Expr:
    out = factors[0]
    for f in factors[1:]:
        out = BinOp("*", out, f)
    return out


def _sum(terms: Iterable[Expr]) -> Expr:
    items = list(terms)
    out = items[0]
    for t in items[1:]:
        out = BinOp("+", out, t)
    return out


def _pre_activation(net: _Net, node: str) -> Expr:
    return _sum(_product(Name(net.weight(node, p)), Name(p)) for p in net.parents[node])


def _local(net: _Net, node: str) -> Expr:
    """``g'(z_node)``."""
    return Call(net.symbol, (_pre_activation(net, node),), 1)


def _reference(net: _Net, key: str) -> _Reference:
    """The one-step chain rule for the gradient ``key`` (``∂L/∂n_4``, ``∂L/∂w_{4,6}``,
    ``∂L/∂x``)."""
    target = key[len(_GRAD) :]
    terms: list[tuple[Expr, str]] = []
    if target in net.weight_ends:
        d, s = net.weight_ends[target]
        terms.append(
            (_product(Name(_GRAD + d), _local(net, d), Name(s)), f"the edge {net.edge_label(s, d)}")
        )
        allowed = [d, *net.after(d)]
    else:
        if target in net.loss_from:
            loss_term: Expr = Name(target)
            if net.targets is not None:
                loss_term = BinOp("-", loss_term, Name(net.target_name(target)))
            terms.append((loss_term, f"the loss's own term in {target}"))
        for c in net.children[target]:
            terms.append(
                (
                    _product(Name(_GRAD + c), _local(net, c), Name(net.weight(c, target))),
                    f"the edge {net.edge_label(target, c)}",
                )
            )
        allowed = net.after(target)
    expr = _sum(t for t, _ in terms)
    return _Reference(key, target, expr, terms, [_GRAD + v for v in allowed])


def _pretty(e: Expr) -> str:
    return to_text(e).replace("*", " · ")


def _grad_names(e: Expr) -> list[Name]:
    out: list[Name] = []
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Name) and x.name.startswith(_GRAD):
            out.append(x)
        stack.extend(x.children())
    return sorted(out, key=lambda n: n.pos)


# -- the kind ------------------------------------------------------------------------------------


def _dag_rule(rule: Any) -> dict[str, Any]:
    """The parameters of ``{ draw = "dag", nodes = 6, skip = true, layers = 3 }``, defaults filled
    in.

    Raises:
        FormatError: anything else (field ``random.edges``).
    """

    def fail(message: str) -> FormatError:
        return FormatError(message, field="random.edges")

    example = '{ draw = "dag", nodes = 6, skip = true }'
    if not isinstance(rule, dict):
        raise fail(f"edges are drawn by a rule like {example}")
    if rule.get("draw") != "dag":
        raise fail(f'edges are drawn with draw = "dag": {example}')
    unknown = set(rule) - {"draw", "nodes", "skip", "layers"}
    if unknown:
        raise fail(
            f"unknown key(s) {', '.join(sorted(unknown))}; a dag draw has nodes, skip, layers"
        )
    nodes, skip, layers = rule.get("nodes", 6), rule.get("skip", True), rule.get("layers")
    lo, hi = DRAW_NODES
    if not isinstance(nodes, int) or isinstance(nodes, bool) or not lo <= nodes <= hi:
        raise fail(f"nodes must be an integer in {lo}..{hi}")
    if not isinstance(skip, bool):
        raise fail("skip must be true or false")
    least = 3 if skip else 2
    if nodes < least:
        raise fail(f"a dag with a skip edge needs at least {least} nodes")
    if layers is not None and (
        not isinstance(layers, int) or isinstance(layers, bool) or not least <= layers <= nodes
    ):
        raise fail(f"layers must be an integer in {least}..{nodes}")
    return {"nodes": nodes, "skip": skip, "layers": layers}


def draw_dag(
    rng: np.random.Generator, nodes: int = 6, skip: bool = True, layers: int | None = None
) -> tuple[list[str], list[str]]:
    """A random layered DAG from the input ``x``: ``(edges as "x->n7" strings, output nodes)``.

    Every neuron has a parent in the layer before it (``x`` feeds the first layer) and every neuron
    outside the last layer a child in the layer after it, so every neuron is reachable from ``x``
    and reaches the outputs (the last layer). With ``skip``, at least one edge jumps a layer between
    neurons. Neurons are numbered from the outputs back (the outputs are ``n1``, ``n2``, ...).
    """
    least = 3 if skip else 2
    depth = (
        layers if layers is not None else int(rng.integers(least, max(least, min(nodes, 5)) + 1))
    )
    sizes = [1] * depth
    for _ in range(nodes - depth):
        sizes[int(rng.integers(depth))] += 1
    names: list[list[str]] = [[] for _ in range(depth)]
    counter = 1
    for d in reversed(range(depth)):
        for _ in range(sizes[d]):
            names[d].append(f"n{counter}")
            counter += 1
        names[d].sort(key=lambda s: int(s[1:]))
    edges: list[tuple[str, str]] = [("x", v) for v in names[0]]
    for d in range(1, depth):
        for v in names[d]:
            first = names[d - 1][int(rng.integers(len(names[d - 1])))]
            edges.append((first, v))
            for u in names[d - 1]:
                if u != first and rng.random() < 0.3:
                    edges.append((u, v))
    for d in range(depth - 1):
        for u in names[d]:
            if not any(s == u for s, _ in edges):
                edges.append((u, names[d + 1][int(rng.integers(len(names[d + 1])))]))
    if skip:
        # Edges so far join consecutive layers: the first skip edge is new; a second may repeat it.
        for _ in range(1 + int(rng.random() < 0.3)):
            d = int(rng.integers(depth - 2))
            u = names[d][int(rng.integers(len(names[d])))]
            later = [v for e in range(d + 2, depth) for v in names[e]]
            v = later[int(rng.integers(len(later)))]
            if (u, v) not in edges:
                edges.append((u, v))
    layer = {v: d for d, vs in enumerate(names) for v in vs}
    layer["x"] = -1
    edges = sorted(set(edges), key=lambda e: (layer[e[1]], int(e[1][1:]), layer[e[0]], e[0]))
    return [f"{s}->{d}" for s, d in edges], list(names[-1])


class BackpropKind(Kind):
    """Back-propagation through a DAG of neurons (see the module docstring)."""

    name: ClassVar[str] = "backprop"
    summary: ClassVar[str] = (
        "a DAG of neurons: ∂L/∂n_k, ∂L/∂w_{k,j} and ∂L/∂x as chain-rule expressions"
    )
    givens: ClassVar[dict[str, F.Field]] = {
        "edges": F.Field(F.string_list, required=True, doc='the DAG\'s edges, "x->n7", ...'),
        "loss_from": F.Field(F.string_list, required=True, doc="the nodes the loss reads"),
        "targets": F.Field(F.number_vector, doc="t_k for L = Σ ½ (n_k − t_k)² (default 0)"),
        "activation": F.Field(F.choice(tuple(ACTIVATIONS)), doc="g: tanh (default), sigmoid, ..."),
        "symbol": F.Field(F.string, doc="how answers write the activation (default g)"),
        "loss": F.Field(F.choice(("sum of squares",)), doc="the loss: sum of squares"),
        "find": F.Field(F.string_list, doc='what is asked: ["dL/dn4", "dL/dw[4,6]", "dL/dx"]'),
    }
    part_fields: ClassVar[dict[str, F.Field]] = {
        "find": F.Field(F.string, required=True, doc='the gradient asked, e.g. "dL/dn4"'),
    }
    check_options: ClassVar[dict[str, F.Field]] = {
        "rtol": F.Field(F.positive, doc="relative tolerance (default 1e-9)"),
        "atol": F.Field(F.positive, doc="absolute tolerance (default 1e-12)"),
        "points": F.Field(F.integer, doc="points per check (default 12)"),
    }
    random_fields: ClassVar[tuple[str, ...]] = ("edges",)

    # -- loading ----------------------------------------------------------------------------------
    def prepare(self, problem: Problem) -> None:
        """Build the network and the answer scope, read what is asked and the model answers, and
        check the random rule.

        Raises:
            FormatError: a malformed edge, a cycle, a self-loop or a repeated edge (field
                ``edges``); a bad ``loss_from``, ``targets``, ``symbol`` or ``find``; a model answer
                that cannot be read (field ``answer``, with the part); a bad ``random.edges`` rule.
        """
        g = problem.givens
        try:
            net = _build_net(g)
            scope = _build_scope(net)
        except FormatError as exc:
            raise exc.located(problem=problem.id) from None
        points = problem.check.get("points", POINTS)
        if not 4 <= points <= 200:
            raise problem.error("check.points must be between 4 and 200", field="check.points")
        finds: dict[str, list[tuple[str, str]]] = {}
        if problem.has_parts:
            if "find" in g:
                raise problem.error("with parts, each part has its own find", field="find")
            for part in problem.parts:
                finds[part.id] = [self._find(scope, net, part.fields["find"], part.id or None)]
        else:
            asked = g.get("find")
            if asked is None:
                asked = [_ask(net, v) for v in self._default_finds(net)]
            if not asked:
                raise problem.error("find lists nothing", field="find")
            items = [self._find(scope, net, text, None) for text in asked]
            keys = [k for k, _ in items]
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise problem.error(f"{dupes[0]} is asked twice", field="find")
            finds[""] = items
        refs = {k: _reference(net, k) for items in finds.values() for k, _ in items}
        problem.prepared.update(net=net, scope=scope, finds=finds, refs=refs, verified={})
        if problem.random:
            for key, rule in problem.random.items():
                if key == "edges":
                    _dag_rule(rule)
                    if problem.has_parts:
                        raise problem.error(
                            "a problem whose edges are drawn asks through find, not parts",
                            field="random.edges",
                        )
        for part in problem.parts:
            if part.answer is not None:
                self._answers(problem, part, part.answer)

    @staticmethod
    def _default_finds(net: _Net) -> list[str]:
        """Every neuron outside the loss nodes, from the output back, then the inputs."""
        back = [v for v in reversed(net.neurons) if v not in net.loss_from]
        return back + list(net.inputs)

    @staticmethod
    def _find(scope: Scope, net: _Net, text: str, part: str | None) -> tuple[str, str]:
        """``(gradient key, text as given)`` of one thing asked.

        Raises:
            FormatError: not a gradient of L with respect to a node, an input or a weight (field
                ``find``).
        """
        try:
            e = scope.parse(text)
        except FormatError as exc:
            raise FormatError(exc.message, part=part, field="find", detail=exc.detail) from None
        if not (isinstance(e, Name) and e.name.startswith(_GRAD)):
            raise FormatError(
                f"{text!r} is not a gradient: ask for dL/dn4, dL/dw[4,6] or dL/dx",
                part=part,
                field="find",
            )
        return e.name, text

    def _answers(self, problem: Problem, part: Part, raw: Any) -> dict[str, tuple[Expr, str]]:
        """The answer's expressions by gradient key, each with its text.

        Raises:
            FormatError: a table keyed by something not asked, a value that is not a string, an
                expression that cannot be read, or one that uses a gradient it may not (field
                ``answer``, with the part).
        """
        where = part.id or None
        scope: Scope = problem.prepared["scope"]
        items = problem.prepared["finds"][part.id]
        if isinstance(raw, str):
            if len(items) != 1:
                raise problem.error(
                    "answer with a table keyed by what is asked: "
                    + ", ".join(f'"{t}" = "..."' for _, t in items),
                    part=where,
                    field="answer",
                )
            entries = {items[0][1]: raw}
        elif isinstance(raw, dict) and not problem.has_parts:
            entries = dict(raw)
        else:
            want = (
                "an expression (a string)"
                if problem.has_parts
                else "a table keyed by what is asked"
            )
            raise problem.error(
                f"the answer must be {want}, got {F.type_name(raw)}", part=where, field="answer"
            )
        asked = {k: t for k, t in items}
        out: dict[str, tuple[Expr, str]] = {}
        for label, text in entries.items():
            key = self._answer_key(problem, part, scope, label, asked)
            if key in out:
                raise problem.error(f"{asked[key]} is answered twice", part=where, field="answer")
            if not isinstance(text, str):
                raise problem.error(
                    f"the answer for {label} must be an expression (a string), got "
                    f"{F.type_name(text)}",
                    part=where,
                    field="answer",
                )
            field_name = "answer" if problem.has_parts or len(items) == 1 else f"answer.{label}"
            try:
                e = scope.parse(text)
            except FormatError as exc:
                raise FormatError(
                    exc.message, problem=problem.id, part=where, field=field_name, detail=exc.detail
                ) from None
            ref: _Reference = problem.prepared["refs"][key]
            for n in _grad_names(e):
                if n.name in ref.allowed:
                    continue
                if n.name == key:
                    why = f"the answer for {key} cannot use {key} itself"
                else:
                    usable = ", ".join(ref.allowed) or "none"
                    net: _Net = problem.prepared["net"]
                    if ref.target in net.weight_ends:
                        head = net.weight_ends[ref.target][0]
                        whose = f"the gradients of {head} and the nodes after it"
                    else:
                        whose = f"the gradients of the nodes after {ref.target}"
                    why = f"the answer for {key} may use {whose} ({usable}), not {n.name}"
                raise FormatError(
                    why,
                    problem=problem.id,
                    part=where,
                    field=field_name,
                    detail=caret(text, n.pos, 3),
                )
            out[key] = (e, text)
        return out

    @staticmethod
    def _answer_key(
        problem: Problem, part: Part, scope: Scope, label: Any, asked: dict[str, str]
    ) -> str:
        where = part.id or None
        listed = ", ".join(f'"{t}"' for t in asked.values())
        try:
            e = scope.parse(str(label))
        except FormatError:
            e = None
        if not (isinstance(e, Name) and e.name in asked):
            raise problem.error(
                f"{label!r} is not asked; answer {listed}", part=where, field="answer"
            )
        return e.name

    # -- numbers ----------------------------------------------------------------------------------
    def _sampler(self, net: _Net, names: set[str]) -> Sampler:
        """Points for ``judge``: random weights and inputs, the network run forward and backward,
        and the values of the inputs, the weights and every name in ``names``."""

        def sample(
            rng: np.random.Generator, batch: int, assignment: int
        ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
            weights, inputs = net.draw_point(rng, batch)
            values, _, grads = net.run(weights, inputs)
            out: dict[str, np.ndarray] = {**inputs, **weights}
            for n in sorted(names):
                if n.startswith(_GRAD):
                    out[n] = grads[n[len(_GRAD) :]]
                elif n in values:
                    out[n] = values[n]
                elif n.startswith("t_") and net.targets is not None:
                    node = next(k for k in net.loss_from if net.target_name(k) == n)
                    out[n] = np.full(batch, net.targets[node])
            return out, {}

        return sample

    def _verify(self, problem: Problem, key: str) -> tuple[bool, str]:
        """The reference for ``key`` against ``backward()`` at 12 random points (cached)."""
        cache: dict[str, tuple[bool, str]] = problem.prepared["verified"]
        if key in cache:
            return cache[key]
        net: _Net = problem.prepared["net"]
        scope: Scope = problem.prepared["scope"]
        ref: _Reference = problem.prepared["refs"][key]
        rng = np.random.default_rng(answer_seed(problem.id, "autodiff", key))
        batch = 12
        names = {n for n in scope.variables if not n.startswith(_GRAD)} | set(ref.allowed)
        values, _ = self._sampler(net, names)(rng, batch, 0)
        weights = {k: values[k] for k in net.weights}
        inputs = {k: values[k] for k in net.inputs}
        _, _, grads = net.run(weights, inputs)
        expected = grads[ref.target]
        try:
            with np.errstate(all="ignore"):
                got = np.asarray(
                    _data(evaluate(ref.expr, scope, values, {}, batch=batch)), dtype=np.float64
                )
        except EvaluationError as exc:  # pragma: no cover - the reference is built, not typed
            result = (False, f"the chain-rule expression cannot be evaluated: {exc}")
            cache[key] = result
            return result
        got = np.broadcast_to(got, expected.shape)
        err = float(np.max(np.abs(got - expected) / np.maximum(1.0, np.abs(expected))))
        ok = bool(err <= 1e-9)
        detail = (
            f"{key}: the chain-rule expression equals backward() at {batch} random weight settings "
            f"(max error {err:.1e})"
            if ok
            else f"{key}: the chain-rule expression differs from backward() by {err:.3g}"
        )
        cache[key] = (ok, detail)
        return ok, detail

    def _finite_differences(self, problem: Problem, key: str) -> tuple[bool, str]:
        """Central differences of L (in NumPy) against ``backward()`` at 4 random points."""
        net: _Net = problem.prepared["net"]
        target = key[len(_GRAD) :]
        rng = np.random.default_rng(answer_seed(problem.id, "finite differences", key))
        weights, inputs = net.draw_point(rng, 4)
        _, _, grads = net.run(weights, inputs)
        h = 1e-6
        hi = net.numpy_loss(weights, inputs, (target, h))
        lo = net.numpy_loss(weights, inputs, (target, -h))
        fd = (hi - lo) / (2 * h)
        b = grads[target]
        err = float(np.max(np.abs(fd - b) / np.maximum(1.0, np.abs(b))))
        ok = bool(err <= 1e-6)
        return (
            ok,
            f"{key}: central differences of L (step {h:g}) agree with backward() to {err:.1e}",
        )

    # -- checking ---------------------------------------------------------------------------------
    def _judge(self, problem: Problem, part: Part, key: str, answer: Expr, text: str) -> Judgement:
        net: _Net = problem.prepared["net"]
        ref: _Reference = problem.prepared["refs"][key]
        names = {n.name for n in _names(ref.expr)} | {n.name for n in _names(answer)}
        c = problem.check
        return judge(
            ref.expr,
            answer,
            problem.prepared["scope"],
            problem=problem.id,
            part=part.id,
            answer_key=text,
            max_points=part.points,
            rtol=c.get("rtol", RTOL),
            atol=c.get("atol", ATOL),
            points=c.get("points", POINTS),
            sampler=self._sampler(net, names),
            salt=key,
        )

    def _diagnose(self, problem: Problem, key: str, answer: Expr, j: Judgement) -> list[str]:
        """Edge-level reasons for a wrong answer: the terms missing, extra or of the wrong sign."""
        net: _Net = problem.prepared["net"]
        ref: _Reference = problem.prepared["refs"][key]
        meaning = dict(ref.terms)
        lines: list[str] = []
        extra = list(j.extra)
        for signed in j.missing:
            t = _unsigned(signed)
            what = meaning.get(t) or next((m for r, m in ref.terms if _inside(t, r)), None)
            grads = {n.name for n in _grad_names(t)}
            partner = next(
                (x for x in extra if grads and {n.name for n in _grad_names(x)} == grads), None
            )
            if partner is not None and what:
                extra.remove(partner)
                lines.append(
                    f"the term for {what} is wrong: expected {_pretty(signed)}, got "
                    f"{_pretty(partner)}"
                )
            elif what:
                lines.append(f"missing the term {_pretty(signed)} for {what}")
            else:
                lines.append(f"missing the term {_pretty(signed)}")
        for t in extra:
            used = [n.name[len(_GRAD) :] for n in _grad_names(t)]
            strangers = [
                c
                for c in used
                if c not in net.children.get(ref.target, [])
                and c != net.weight_ends.get(ref.target, ("", ""))[0]
            ]
            if strangers and ref.target not in net.weight_ends:
                edge = net.edge_label(ref.target, strangers[0])
                lines.append(f"an extra term {_pretty(t)}: there is no edge {edge}")
            else:
                lines.append(f"an extra term {_pretty(t)}")
        for t in j.flipped:
            grads = {n.name for n in _grad_names(t)}
            what = next(
                (m for r, m in ref.terms if grads and {n.name for n in _grad_names(r)} == grads),
                None,
            )
            where = f"for {what} " if what else ""
            lines.append(f"the term {where}has the wrong sign: {_pretty(t)}")
        if not lines:
            lines.extend(self._slips(problem, key, answer))
        if not j.missing and ref.target not in net.weight_ends:
            used_nodes = {n.name[len(_GRAD) :] for n in _grad_names(answer)}
            if used_nodes:
                for c in net.children[ref.target]:
                    covered = {c, *net.after(c)}
                    if not used_nodes & covered:
                        lines.append(
                            f"the answer never uses {_GRAD}{c} or a gradient after it: is the "
                            f"path through the edge {net.edge_label(ref.target, c)} missing?"
                        )
        return lines

    def _slips(self, problem: Problem, key: str, answer: Expr) -> list[str]:
        """Common slips, recognised when the answer equals the reference with one factor changed in
        every term: ``g'`` missing, ``g`` in place of ``g'``, the edge's weight (or input)
        missing."""
        net: _Net = problem.prepared["net"]
        scope: Scope = problem.prepared["scope"]
        ref: _Reference = problem.prepared["refs"][key]
        g = net.symbol
        is_weight = ref.target in net.weight_ends
        last = "the input it multiplies" if is_weight else "the weight of each edge"
        mutants = [
            (
                _mutate(ref.expr, lambda e: Num(1.0, "1") if _is_local(e, g) else None),
                f"the factor {g}'(z) is missing: through each neuron c the chain rule multiplies "
                f"by {g}'(z_c), the derivative of its activation",
            ),
            (
                _mutate(ref.expr, lambda e: Call(g, e.args, 0) if _is_local(e, g) else None),
                f"{g}(z) where the derivative {g}'(z) is needed",
            ),
            (_mutate(ref.expr, lambda e: _drop_last(e, g)), f"{last} is missing from the product"),
        ]
        names = {n.name for n in _names(ref.expr)} | {n.name for n in _names(answer)}
        rng = np.random.default_rng(answer_seed(problem.id, key, to_text(answer), "slips"))
        values, _ = self._sampler(net, names)(rng, 8, 0)
        try:
            with np.errstate(all="ignore"):
                got = np.asarray(_data(evaluate(answer, scope, values, {}, batch=8)), dtype=float)
                out = []
                for mutant, message in mutants:
                    if mutant == ref.expr:
                        continue
                    m = np.asarray(_data(evaluate(mutant, scope, values, {}, batch=8)), dtype=float)
                    if np.allclose(np.broadcast_to(got, m.shape), m, rtol=1e-9, atol=1e-12):
                        out.append(message)
        except (EvaluationError, ValueError, TypeError):
            return []
        return out

    def _check_one(
        self, problem: Problem, part: Part, key: str, answer: Expr, text: str
    ) -> Verdict:
        ok, detail = self._verify(problem, key)
        if not ok:
            return Verdict(
                problem.id,
                part.id,
                "undecided",
                "the reference could not be verified against autodiff",
                diagnosis=[detail],
                method="not graded",
                max_points=part.points,
                answer=text,
            )
        j = self._judge(problem, part, key, answer, text)
        v = j.verdict
        if v.status == "wrong":
            lines = self._diagnose(problem, key, answer, j)
            sign = [d for d in v.diagnosis if d.startswith("sign flipped")]
            if sign:
                v.diagnosis = [*sign, *lines, *[d for d in v.diagnosis if d not in sign]]
            elif lines:
                v.summary = lines[0]
                v.diagnosis = [*lines, *v.diagnosis]
        return v

    def check(self, problem: Problem, part: Part, answer: Any) -> Verdict:
        """Grade an answer: a table keyed by what is asked (no parts) or one expression (a part).

        Every entry is judged against the one-step chain rule at seeded points, with the gradients
        it refers to taking their true values; the verdict is ``wrong`` when one entry is (the first
        in back-propagation order is named, with its counterexample), ``undecided`` when one cannot
        be decided and none is wrong, else ``correct``. Points are shared equally by the entries.

        Raises:
            FormatError: an answer that cannot be read (a syntax error or an unknown name with a
                caret, a gradient the answer may not use, a key that is not asked).
        """
        exprs = self._answers(problem, part, answer)
        items: list[tuple[str, str]] = problem.prepared["finds"][part.id]
        net: _Net = problem.prepared["net"]
        if len(items) == 1 and items[0][0] in exprs:
            key = items[0][0]
            e, text = exprs[key]
            v = self._check_one(problem, part, key, e, text)
            v.answer = answer
            return v
        # A table: order the entries from the loss back, so the first wrong one is the first node
        # whose gradient differs.
        position = {v: i for i, v in enumerate(net.order)}

        def back(key: str) -> tuple[int, int]:
            t = key[len(_GRAD) :]
            node = net.weight_ends[t][0] if t in net.weight_ends else t
            return (-position[node], 1 if t in net.weight_ends else 0)

        results: list[tuple[str, str, Verdict | None]] = []
        for key, label in sorted(items, key=lambda it: back(it[0])):
            if key not in exprs:
                results.append((key, label, None))
                continue
            e, text = exprs[key]
            results.append((key, label, self._check_one(problem, part, key, e, text)))
        return self._combine(problem, part, answer, results, exprs)

    def _combine(
        self,
        problem: Problem,
        part: Part,
        answer: Any,
        results: list[tuple[str, str, Verdict | None]],
        exprs: dict[str, tuple[Expr, str]],
    ) -> Verdict:
        refs: dict[str, _Reference] = problem.prepared["refs"]
        wrong = [(k, lab, v) for k, lab, v in results if v is None or v.status == "wrong"]
        undecided = [
            (k, lab, v) for k, lab, v in results if v is not None and v.status == "undecided"
        ]
        correct = [k for k, _, v in results if v is not None and v.status == "correct"]
        share = part.points / max(len(results), 1)
        points = share * len(correct)
        method = next((v.method for _, _, v in results if v is not None), "")
        seed = next((v.seed for _, _, v in results if v is not None), None)
        diagnosis: list[str] = []
        bad = {k for k, _, _ in wrong}
        unanswered = {k for k, _, v in wrong if v is None}
        for k, _, v in results:
            if v is None:
                diagnosis.append(f"{k}: no answer given")
            elif v.status != "correct":
                diagnosis.extend(f"{k}: {d}" for d in (v.diagnosis or [v.summary]))
        for k, _, _ in results:
            if k not in exprs:
                continue
            uses = [n.name for n in _grad_names(exprs[k][0]) if n.name in bad]
            for u in dict.fromkeys(uses):
                if k in bad:
                    diagnosis.append(
                        f"{k} uses {u}, which is wrong too; it is judged with the true {u}, so "
                        "its own error is separate"
                    )
                else:
                    why = "which is not answered" if u in unanswered else "whose answer is wrong"
                    diagnosis.append(f"{k} is right given {u} ({why})")
        if wrong:
            k, _, first = wrong[0]
            if first is None:
                ce = Counterexample({}, to_text(refs[k].expr), None)
                head = f"{k}: no answer given"
            else:
                assert first.counterexample is not None
                ce = first.counterexample
                head = f"{k}: {first.summary}"
                method, seed = first.method, first.seed
            n = len(wrong)
            summary = (
                head
                if n == 1
                else f"{n} of {len(results)} {'wrong or unanswered' if unanswered else 'wrong'}; "
                f"the first node whose gradient differs, from the loss back: {head}"
            )
            return Verdict(
                problem.id,
                part.id,
                "wrong",
                summary,
                diagnosis=diagnosis,
                counterexample=ce,
                method=method,
                seed=seed,
                points=points,
                max_points=part.points,
                answer=answer,
            )
        if undecided:
            k, _, first_u = undecided[0]
            assert first_u is not None
            return Verdict(
                problem.id,
                part.id,
                "undecided",
                f"{k}: {first_u.summary}",
                diagnosis=diagnosis,
                method=first_u.method,
                seed=first_u.seed,
                points=points,
                max_points=part.points,
                answer=answer,
            )
        return Verdict(
            problem.id,
            part.id,
            "correct",
            f"all {len(results)} gradients equal the chain rule at every point",
            method=method,
            seed=seed,
            points=part.points,
            max_points=part.points,
            answer=answer,
        )

    # -- solving ----------------------------------------------------------------------------------
    def solve(self, problem: Problem) -> ProblemSolution:
        """The chain-rule expression of every asked gradient, each checked against ``backward()``
        and central differences, the network as a figure, and the model answers' verdicts."""
        net: _Net = problem.prepared["net"]
        sol = self.new_solution(problem)
        point = self._figure_point(problem)
        grads = point["grads"]
        sol.figures.append(self._figure(problem, point))
        explanation = self._explanation(problem, point)
        for index, part in enumerate(problem.parts):
            items: list[tuple[str, str]] = problem.prepared["finds"][part.id]
            steps: list[Step] = []
            checks: list[CheckLine] = []
            texts: dict[str, str] = {}
            for key, label in items:
                ref: _Reference = problem.prepared["refs"][key]
                steps.extend(self._steps(net, ref, grads))
                texts[label] = to_text(ref.expr)
                ok, detail = self._verify(problem, key)
                checks.append(CheckLine("autodiff", detail, ok))
                ok, detail = self._finite_differences(problem, key)
                checks.append(CheckLine("finite differences", detail, ok))
            if index == 0 and explanation is not None:
                steps.append(explanation)
            model = self.model_verdict(problem, part)
            if problem.has_parts:
                ref = problem.prepared["refs"][items[0][0]]
                answer: Any = texts[items[0][1]]
                text = f"{ref.key} = {answer}"
                latex = f"{_latex_key(ref.key)} = {to_latex(ref.expr)}"
            else:
                answer = texts
                text = "\n".join(f"{k} = {texts[lab]}" for k, lab in items)
                latex = " \\\\ ".join(
                    f"{_latex_key(k)} = {to_latex(problem.prepared['refs'][k].expr)}"
                    for k, _ in items
                )
            sol.parts.append(
                PartSolution(part.id, part.statement, answer, text, latex, steps, checks, model)
            )
        return sol

    def _steps(self, net: _Net, ref: _Reference, grads: dict[str, float]) -> list[Step]:
        """The chain rule for one gradient: the sum over the edges, its expression, its value."""
        g = net.symbol
        key, v = ref.key, ref.target
        if v in net.weight_ends:
            d, s = net.weight_ends[v]
            chain = f"{key} = {_GRAD}{d} · ∂{d}/∂{v}"
            frac = f"\\frac{{\\partial {_tex(d)}}}{{\\partial {_tex(v)}}}"
            chain_tex = f"{_latex_key(key)} = {_latex_key(_GRAD + d)} {frac}"
            z = f"z = Σ_j w_{{{net.subs[d]},j}} n_j"
            note = f"{v} enters only {d}: {d} = {g}(z), {z}, so ∂{d}/∂{v} = {g}'(z) {s}"
        else:
            parts = [f"{_GRAD}{c} · ∂{c}/∂{v}" for c in net.children[v]]
            parts_tex = [
                f"{_latex_key(_GRAD + c)} \\frac{{\\partial {_tex(c)}}}{{\\partial {_tex(v)}}}"
                for c in net.children[v]
            ]
            if v in net.loss_from:
                own = f"({v} − {net.target_name(v)})" if net.targets is not None else v
                parts.insert(0, own)
                parts_tex.insert(
                    0,
                    _tex(v) if net.targets is None else f"({_tex(v)} - {_tex(net.target_name(v))})",
                )
            chain = f"{key} = " + " + ".join(parts)
            chain_tex = f"{_latex_key(key)} = " + " + ".join(parts_tex)
            edges = ", ".join(net.edge_label(v, c) for c in net.children[v])
            note = (
                f"the chain rule over the edges out of {v} ({edges})"
                if edges
                else f"{v} feeds only the loss"
            )
            if v in net.loss_from and net.targets is not None:
                t = net.target_name(v)
                note += f"; L has the term ½({v} − {t})², whose derivative is {v} − {t}"
            elif v in net.loss_from:
                note += f"; L has the term ½{v}², whose derivative is {v}"
        value = grads.get(v)
        out = [
            Step(chain, chain_tex, note),
            Step(
                f"{key} = {to_text(ref.expr)}",
                f"{_latex_key(key)} = {to_latex(ref.expr)}",
                f"each neuron is c = {g}(z_c) with z_c = Σ_j w_{{c,j}} n_j, so "
                f"∂c/∂n_j = {g}'(z_c) w_{{c,j}}",
            ),
        ]
        if value is not None:
            out.append(
                Step(
                    f"{key} ≈ {value:.6g}",
                    f"{_latex_key(key)} \\approx {value:.6g}",
                    "at the figure's point",
                )
            )
        return out

    def _figure_point(self, problem: Problem) -> dict[str, Any]:
        """A fixed point: weights drawn from the problem's seed (one decimal, nonzero), inputs
        0.5."""
        net: _Net = problem.prepared["net"]
        rng = np.random.default_rng(
            answer_seed(problem.id, "figure", sorted(net.edge_text.values()))
        )
        weights = {}
        for k in net.weights:
            w = round(float(rng.uniform(-1.5, 1.5)), 1)
            weights[k] = w if w != 0 else 0.5
        inputs = {k: 0.5 for k in net.inputs}
        vals, _, grads = net.run(
            {k: np.asarray([w]) for k, w in weights.items()},
            {k: np.asarray([x]) for k, x in inputs.items()},
        )
        return {
            "weights": weights,
            "inputs": inputs,
            "values": {k: float(v[0]) for k, v in vals.items()},
            "grads": {k: float(v[0]) for k, v in grads.items()},
        }

    def _figure(self, problem: Problem, point: dict[str, Any]) -> Figure:
        net: _Net = problem.prepared["net"]
        xs = ", ".join(f"{k} = {v:g}" for k, v in point["inputs"].items())
        return Figure(
            "dag",
            f"the network at {xs} with the weights shown: each node's value and ∂L/∂node",
            {
                "nodes": list(net.order),
                "edges": [[s, d] for s, d in net.edges],
                "values": {v: point["values"][v] for v in net.order},
                "grads": {v: point["grads"][v] for v in net.order},
                "weights": dict(point["weights"]),
                "loss_from": list(net.loss_from),
            },
        )

    def _explanation(self, problem: Problem, point: dict[str, Any]) -> Step | None:
        """``chainrule.explain``'s derivation over the named tensors at the figure's point."""
        net: _Net = problem.prepared["net"]
        act = _TENSOR_FUNCS[net.activation]
        try:
            vals: dict[str, Any] = {k: cr.tensor(v, name=k) for k, v in point["inputs"].items()}
            ws = {k: cr.tensor(v, requires_grad=True, name=k) for k, v in point["weights"].items()}
            for v in net.neurons:
                s: Any = None
                for u in net.parents[v]:
                    term = ws[net.weight(v, u)] * vals[u]
                    s = term if s is None else s + term
                out = s if act is None else act(s)
                out.name = v
                vals[v] = out
            loss = net._tensor_loss(vals)
            asked = [
                k[len(_GRAD) :] for items in problem.prepared["finds"].values() for k, _ in items
            ]
            wrt = (
                None if any(a in net.weight_ends for a in asked) else [vals[k] for k in net.inputs]
            )
            symbols = {net.activation: net.symbol} if act is not None else {}
            ex = cr.explain(loss, wrt=wrt, symbols=symbols)
            return Step(
                ex.text, ex.latex, "the whole derivation by chainrule.explain at the figure's point"
            )
        except (ValueError, TypeError, KeyError):  # pragma: no cover - explain is optional here
            return None

    def model_answer(self, problem: Problem, part: Part) -> Any:
        """The chain-rule expression: its text for a part, a table keyed by what is asked
        otherwise."""
        items: list[tuple[str, str]] = problem.prepared["finds"][part.id]
        refs: dict[str, _Reference] = problem.prepared["refs"]
        if problem.has_parts:
            return to_text(refs[items[0][0]].expr)
        return {label: to_text(refs[key].expr) for key, label in items}

    # -- variants ---------------------------------------------------------------------------------
    def draw(self, problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
        """New ``edges`` (from a ``dag`` rule), with ``loss_from`` (the nodes without children),
        ``find`` (every other neuron and the input) and, when the problem has targets, ``targets``
        to match.

        Raises:
            FormatError: a rule that cannot be read (field ``random.edges``).
        """
        if "edges" not in problem.random:
            return {}
        params = _dag_rule(problem.random["edges"])
        edges, outputs = draw_dag(rng, params["nodes"], params["skip"], params["layers"])
        drawn: dict[str, Any] = {"edges": edges, "loss_from": outputs}
        given = {**problem.givens, **drawn}
        given.pop("targets", None)
        net = _build_net(given)
        drawn["find"] = [_ask(net, v) for v in self._default_finds(net)]
        if "targets" in problem.givens:
            old = list(problem.givens["targets"])
            drawn["targets"] = [old[i % len(old)] for i in range(len(outputs))]
        return drawn


def _names(e: Expr) -> list[Name]:
    out: list[Name] = []
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Name):
            out.append(x)
        stack.extend(x.children())
    return out


def _is_local(e: Expr, symbol: str) -> bool:
    return isinstance(e, Call) and e.func == symbol and e.order == 1


def _drop_last(e: Expr, symbol: str) -> Expr | None:
    """``a * g'(z) * w`` → ``a * g'(z)``: a chain-rule term without its last factor."""
    if isinstance(e, BinOp) and e.op == "*" and isinstance(e.left, BinOp):
        inner = e.left
        if inner.op == "*" and _is_local(inner.right, symbol):
            return inner
    return None


def _mutate(e: Expr, change: Callable[[Any], Expr | None]) -> Expr:
    """``e`` with every subtree for which ``change`` gives a replacement replaced (top down)."""
    new = change(e)
    if new is not None:
        return new
    if isinstance(e, BinOp):
        return BinOp(e.op, _mutate(e.left, change), _mutate(e.right, change), pos=e.pos)
    if isinstance(e, Unary):
        return Unary(e.op, _mutate(e.operand, change), pos=e.pos)
    if isinstance(e, Call):
        return Call(e.func, tuple(_mutate(a, change) for a in e.args), e.order, pos=e.pos)
    return e


def _unsigned(e: Expr) -> Expr:
    """A term without the sign or factor ``judge`` puts on it (``-t``, ``2*t``)."""
    if isinstance(e, Unary) and e.op == "-":
        return _unsigned(e.operand)
    if isinstance(e, BinOp) and e.op == "*" and isinstance(e.left, Num):
        return _unsigned(e.right)
    return e


def _inside(t: Expr, whole: Expr) -> bool:
    """``t`` is a subtree of ``whole`` (a loss term split by ``split_terms``)."""
    if t == whole:
        return True
    if isinstance(whole, Unary):
        return _inside(t, whole.operand)
    return any(_inside(t, c) for c in whole.children())


def _ask(net: _Net, node: str) -> str:
    """What a draw asks for ``node``: ``dL/dn4``, ``dL/dx``."""
    return f"dL/dn{net.subs[node]}" if node.startswith("n_") else f"dL/d{node}"


def _data(v: Any) -> Any:
    return v.data if hasattr(v, "data") and not isinstance(v, np.ndarray) else v


def _tex(name: str) -> str:
    m = re.fullmatch(r"([A-Za-z]+)_\{?([^{}]*)\}?", name)
    return f"{m.group(1)}_{{{m.group(2)}}}" if m else name


def _latex_key(key: str) -> str:
    return f"\\frac{{\\partial L}}{{\\partial {_tex(key[len(_GRAD) :])}}}"
