"""The chain-rule derivation of a recorded graph, over its *named* tensors.

For each named tensor ``v`` (in reverse order, from the loss down)::

    ∂L/∂v = Σ over named consumers c of  ∂L/∂c · ∂c/∂v

where ``∂c/∂v`` is the symbolic local derivative through the unnamed operations between ``v`` and
``c``, simplified. Named tensors whose only consumer is the loss are "given": their gradient is
computed directly from ``L``. Activations print by name (``tanh'``) or by the symbol the user gives
(``symbols={"tanh": "g"}`` prints ``g'``). Tensor names are used verbatim (``w_{2,4}``) in text; in
LaTeX a name that is already math (``n_4``, ``w_{2,4}``, ``\\theta``) is kept (in braces when it has a
superscript: ``{x_1^2}``), and any other (``a&b``, ``50%``, ``#n``, ``\\weird``) is set in
``\\mathrm{...}`` with its special characters escaped, so the LaTeX always compiles
(:func:`~chainrule.autodiff.symbolic.latex_name`).

Order: equations follow a breadth-first walk from the loss in which a tensor comes once all its
consumers are done (the order a student derives them in); within an equation, terms follow the
forward evaluation order of the consumers (depth-first from the loss, operands in call order).

The derivation is built from the same recorded graph as the numbers, and every expression evaluates
with the recorded values (:meth:`Explanation.evaluate`), so it can be checked against ``backward``.
Constant array operands are released by ``backward()`` unless ``retain_graph=True``; explain before
backward (or retain the graph) to evaluate derivations that use them.

Custom primitives: the value of ``Primitive.symbolic`` is a :class:`SymbolicRule` (its format is
documented in :mod:`chainrule.autodiff.symbolic_rules`); :func:`elementwise_function` builds one for
a unary elementwise function. A primitive without one still explains: its VJP prints as
``vjp_name[k](g; operands)`` and evaluates with the primitive's own numeric rule.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.autodiff import symbolic_ops as O
from chainrule.autodiff.graph import topological_order
from chainrule.autodiff.symbolic import (
    Const,
    Expr,
    Grad,
    Op,
    Style,
    Sym,
    add,
    const,
    filled_value,
    latex_name,
    rename_functions,
    split_gradient_factor,
)
from chainrule.autodiff.symbolic_rules import (
    SymbolicRule,
    VjpContext,
    elementwise_function,
    rule_for,
)
from chainrule.autodiff.tensor import Tensor

__all__ = [
    "Equation",
    "Explanation",
    "SymbolicRule",
    "Term",
    "VjpContext",
    "elementwise_function",
    "explain",
]

#: Most unnamed operations between one named tensor and the named tensors it reads; beyond this the
#: printed local derivative would be unreadable (and deep), so explain asks for more names.
MAX_REGION = 200
#: Most nodes in one printed expression tree (shared unnamed subexpressions are printed each time).
MAX_TREE = 20_000


@dataclass(frozen=True)
class Term:
    """One term ``∂L/∂c · ∂c/∂v`` of an equation.

    Attributes:
        consumer: the name of the named consumer ``c``.
        local: ``∂c/∂v``: the factor multiplying ``∂L/∂c`` elementwise when ``elementwise``;
            otherwise (matmul, einsum, reductions) the whole vector-Jacobian product as an
            expression of ``∂L/∂c``.
        contribution: the term itself, an expression containing ``∂L/∂c`` (or not, when ``c`` is a
            scalar loss, whose ``∂L/∂L = 1``).
        elementwise: ``contribution == ∂L/∂c · local``.

    Iterating gives the pair ``(consumer, local)``.
    """

    consumer: str
    local: Expr
    contribution: Expr
    elementwise: bool

    def __iter__(self) -> Iterator[Any]:
        return iter((self.consumer, self.local))


@dataclass(frozen=True)
class Equation:
    """``∂L/∂node = Σ terms``; ``given`` when the only consumer is the loss itself."""

    node: str
    terms: tuple[Term, ...]
    given: bool
    shape: tuple[int, ...]

    @property
    def expr(self) -> Expr:
        """The right-hand side as one expression."""
        return add(*(t.contribution for t in self.terms))


@dataclass
class Explanation:
    """The derivation: equations in order, with text, LaTeX and structured terms.

    Attributes:
        loss: the name printed for the loss (``L`` unless the loss tensor is named).
        equations: one :class:`Equation` per derived tensor, in derivation order.
        symbols: the user's symbols for functions and tensors.
    """

    loss: str
    equations: list[Equation]
    symbols: dict[str, str] = field(default_factory=dict)
    loss_value: Any = None
    _values: dict[str, np.ndarray] | None = None

    @property
    def terms(self) -> dict[str, list[Term]]:
        """Per derived tensor name, its terms ``(consumer, local)`` in order."""
        return {eq.node: list(eq.terms) for eq in self.equations}

    def equation(self, name: str) -> Equation:
        """The equation for the tensor called ``name``.

        Raises:
            KeyError: no equation for ``name``.
        """
        for eq in self.equations:
            if eq.node == name:
                return eq
        raise KeyError(f"no equation for {name!r}; derived: {[e.node for e in self.equations]}")

    def _style(self, latex: bool) -> Style:
        return Style(latex, self.symbols, self.loss)

    def evaluate(self) -> dict[str, np.ndarray]:
        """Evaluate every equation with the recorded values: name → ``∂L/∂name`` (NumPy).

        Raises:
            KeyError: a constant operand needed was released by ``backward()``.
        """
        if self._values is None:
            grads: dict[str, np.ndarray] = {}
            if self.loss_value is not None:
                grads[self.loss] = np.ones_like(np.asarray(self.loss_value, dtype=float))
            for eq in self.equations:
                total = np.zeros(eq.shape)
                for t in eq.terms:
                    total = total + t.contribution.evaluate(grads)
                grads[eq.node] = np.broadcast_to(total, eq.shape).copy()
            self._values = grads
        return dict(self._values)

    def _value_line(self, name: str) -> str | None:
        try:
            v = self.evaluate()[name]
        except (KeyError, ValueError, TypeError, FloatingPointError):
            return None
        if v.size == 1:
            return f"{float(v.reshape(())):.6g}"
        if v.size <= 4:
            return np.array2string(v, precision=4, separator=", ")
        return None

    def _rows(self, latex: bool) -> list[tuple[str, str, list[str]]]:
        st = self._style(latex)
        rows = []
        for eq in self.equations:
            lhs = Grad(eq.node, eq.shape).render(st)
            chain_parts = []
            for t in eq.terms:
                if t.consumer == self.loss:
                    chain_parts.append(t.contribution.render(st))
                    continue
                g = Grad(t.consumer).render(st)
                c = st.symbols.get(t.consumer, t.consumer)
                v = st.symbols.get(eq.node, eq.node)
                if latex:
                    c, v = latex_name(c), latex_name(v)
                    chain_parts.append(f"{g} \\frac{{\\partial {c}}}{{\\partial {v}}}")
                else:
                    chain_parts.append(f"{g} · ∂{c}/∂{v}")
            expanded = (
                " + ".join(
                    t.contribution.render(st) if i == 0 else _plus_term(t.contribution, st)
                    for i, t in enumerate(eq.terms)
                )
                .replace(" + -", " - " if latex else " − ")
                .replace(" + −", " − ")
            )
            lines = []
            if chain_parts and not eq.given:
                lines.append(" + ".join(chain_parts))
            lines.append(expanded or "0")
            rows.append((eq.node, lhs, lines))
        return rows

    @property
    def text(self) -> str:
        """The derivation as plain text: ``∂L/∂v = Σ ∂L/∂c · ∂c/∂v`` then its expansion."""
        if not self.equations:
            return f"Nothing to derive: no requested named tensor feeds {self.loss}."
        out: list[str] = []
        given = [eq.node for eq in self.equations if eq.given]
        if given:
            names = ", ".join(f"∂{self.loss}/∂{self.symbols.get(n, n)}" for n in given)
            out.append(f"Given (computed directly from {self.loss}): {names}")
        for node, lhs, lines in self._rows(False):
            pad = " " * len(lhs)
            out.append(f"{lhs} = {lines[0]}")
            out.extend(f"{pad} = {ln}" for ln in lines[1:])
            value = self._value_line(node)
            if value is not None:
                # An array value prints on several lines: keep them under the first one.
                first, *rest = value.splitlines()
                out.append(f"{pad} ≈ {first}")
                out.extend(f"{pad}   {ln}" for ln in rest)
        return "\n".join(out)

    @property
    def latex(self) -> str:
        """The derivation as a LaTeX ``aligned`` block (math mode, no ``$$`` delimiters)."""
        if not self.equations:
            loss = latex_name(self.symbols.get(self.loss, self.loss))
            return f"\\text{{Nothing to derive: no requested named tensor feeds }}{loss}"
        rows = []
        for _, lhs, lines in self._rows(True):
            rows.append(f"{lhs} &= {lines[0]}")
            rows.extend(f"&= {ln}" for ln in lines[1:])
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$${self.latex}$$"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Explanation({[eq.node for eq in self.equations]})"


def _plus_term(e: Expr, st: Style) -> str:
    return e.render(st)


# --- building -----------------------------------------------------------------------------------


def _shape(t: Any) -> tuple[int, ...]:
    if isinstance(t, Tensor):
        return tuple(int(d) for d in t.shape)
    return tuple(int(d) for d in np.shape(t)) if t is not None else ()


def _unique_names(nodes: Sequence[Tensor], root: Tensor) -> dict[int, str]:
    """Display names: the tensor's name (``L`` for an unnamed loss), made unique with ``#2``, ``#3``."""
    names: dict[int, str] = {}
    used: dict[str, int] = {}
    for t in [root, *nodes]:
        if id(t) in names:
            continue
        if t is root:
            base = t.name or "L"
        elif t.name:
            base = str(t.name)
        else:
            continue
        used[base] = used.get(base, 0) + 1
        names[id(t)] = base if used[base] == 1 else f"{base}#{used[base]}"
    return names


def _tree_size(e: Expr, memo: dict[int, int]) -> int:
    stack = [e]
    while stack:
        x = stack[-1]
        if id(x) in memo:
            stack.pop()
            continue
        pending = [c for c in x.children() if id(c) not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[id(x)] = 1 + sum(memo[id(c)] for c in x.children())
    return memo[id(e)]


class _Builder:
    """Builds forward expressions and region VJPs for one graph."""

    def __init__(self, root: Tensor, expand: bool) -> None:
        self.root = root
        # ∂L/∂L = 1 for a scalar loss: seeding with the number lets every rule simplify as it builds.
        self.unit_seed = math.prod(_shape(root)) == 1
        self.expand = expand
        self.order: list[Tensor] = topological_order(root)
        self.pos = {id(t): i for i, t in enumerate(self.order)}
        self.names = _unique_names(self.order, root)
        self.exprs: dict[int, Expr] = {}

    def named(self, t: Tensor) -> bool:
        return id(t) in self.names

    def interior(self, t: Tensor) -> bool:
        return t.op is not None and not self.named(t)

    def operand_expr(self, o: Any) -> Expr:
        if isinstance(o, Tensor):
            return self.expr(o)
        if o is None:
            return Const(None, label="const")
        if isinstance(o, (bool, int, float)) or (np.ndim(o) == 0 and not backend.is_array(o)):
            return const(float(o))
        arr = backend.to_numpy(o)
        if arr.ndim == 0 and arr.dtype.kind in "fiu":
            return const(float(arr))
        return Const(arr)

    def expr(self, t: Tensor) -> Expr:
        """The forward expression of ``t`` in terms of named tensors and constants (memoized)."""
        e = self.exprs.get(id(t))
        if e is not None:
            return e
        # Iterative: build every unnamed ancestor first (graphs may be deep).
        stack = [t]
        while stack:
            u = stack[-1]
            if id(u) in self.exprs:
                stack.pop()
                continue
            if (self.named(u) and u is not self.root) or u.op is None:
                self.exprs[id(u)] = self._atom(u)
                stack.pop()
                continue
            missing = [o for o in u.operands if isinstance(o, Tensor) and id(o) not in self.exprs]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            self.exprs[id(u)] = self.form(u)
        return self.exprs[id(t)]

    def _atom(self, u: Tensor) -> Expr:
        data = backend.to_numpy(u.data)
        if self.named(u):
            return Sym(self.names[id(u)], data, _shape(u))
        if data.ndim == 0 and data.dtype.kind in "fiu":
            return const(float(data))
        return Const(data)

    def form(self, u: Tensor) -> Expr:
        rule = rule_for(u.op)
        ops = [self.operand_expr(o) for o in u.operands]
        return rule.form(ops, dict(u.params))

    def region(self, c: Tensor) -> dict[int, Expr]:
        """The VJP from named ``c`` to each named tensor it reads through unnamed operations.

        Returns ``id(v) → contribution``, with ``∂L/∂c`` as the placeholder cotangent.

        Raises:
            ValueError: more than :data:`MAX_REGION` unnamed operations in between.
        """
        nodes = topological_order(c, stop=lambda n: n is not c and not self.interior(n))
        inner = [n for n in nodes if n is c or self.interior(n)]
        if len(inner) > MAX_REGION:
            raise ValueError(
                f"explain: {len(inner) - 1} unnamed operations feed {self.names[id(c)]!r}; "
                f"name some intermediate tensors (at most {MAX_REGION} per named tensor)"
            )
        seed: Expr = Grad(self.names[id(c)], _shape(c))
        if c is self.root and self.unit_seed:
            seed = O.broadcast_to(const(1.0), _shape(c))
        ct: dict[int, Expr] = {id(c): seed}
        found: dict[int, Expr] = {}
        for u in reversed(inner):
            g = ct.pop(id(u), None)
            if g is None:
                continue
            rule = rule_for(u.op)
            operands = u.operands
            ops = tuple(self.operand_expr(o) for o in operands)
            out = self.form(u) if u is c else self.expr(u)
            ctx = VjpContext(
                g,
                out,
                ops,
                dict(u.params),
                _shape(u),
                tuple(_shape(o) for o in operands),
                self.expand,
            )
            for k, o in enumerate(operands):
                if not isinstance(o, Tensor) or not (self.named(o) or self.interior(o)):
                    continue
                e = rule.vjp(ctx, k)
                if e is None:
                    continue
                if rule.broadcasts and _shape(o) != _shape(u):
                    e = O.sum_to(e, _shape(u), _shape(o))
                target = found if self.named(o) else ct
                prev = target.get(id(o))
                target[id(o)] = e if prev is None else add(prev, e)
        return found


def _strip_broadcast(e: Expr, shape: tuple[int, ...]) -> Expr:
    """``e`` without an outer broadcast to ``shape`` (or reshape adding leading 1s): the equation's
    value is broadcast to the tensor's shape anyway, and the bare form reads better."""
    while True:
        fill = filled_value(e)
        if fill is not None:
            return const(fill)
        if not isinstance(e, Op) or e.spec.name not in ("broadcast_to", "reshape"):
            return e
        inner = e.args[0]
        if inner.shape is None or e.shape is None:
            return e
        if e.spec.name == "broadcast_to" and tuple(e.shape) != tuple(shape):
            return e
        if e.spec.name == "reshape":
            lead = len(e.shape) - len(inner.shape)
            if lead < 0 or tuple(e.shape) != (1,) * lead + tuple(inner.shape):
                return e
        e = inner


def _resolve_wrt(wrt: Any, b: _Builder) -> list[Tensor] | None:
    if wrt is None:
        return None
    items = wrt if isinstance(wrt, (list, tuple)) else [wrt]
    by_name: dict[str, list[Tensor]] = {}
    for t in b.order:
        if t.name:
            by_name.setdefault(str(t.name), []).append(t)
    out: list[Tensor] = []
    for item in items:
        if isinstance(item, Tensor):
            if id(item) not in b.pos:
                raise ValueError(
                    f"explain: wrt tensor {item.name or item!r} is not in the graph of the loss"
                )
            if not b.named(item):
                raise ValueError(
                    "explain: wrt tensors must be named (set t.name = 'x'); derivations are over names"
                )
            out.append(item)
        elif isinstance(item, str):
            if item not in by_name:
                raise ValueError(
                    f"explain: no tensor named {item!r} in the graph; named: {sorted(by_name)}"
                )
            out.extend(by_name[item])
        else:
            raise ValueError(
                f"explain: wrt items must be Tensors or names, not {type(item).__name__}"
            )
    return out


def explain(
    loss: Tensor,
    wrt: Any = None,
    symbols: Mapping[str, str] | None = None,
    *,
    expand: bool = False,
) -> Explanation:
    """The chain-rule derivation of ``∂loss/∂v`` over the named tensors of the recorded graph.

    Args:
        loss: the output tensor (usually a scalar loss). Printed as its name, or ``L``.
        wrt: the named tensors (Tensors or names) to derive; the named tensors between them and the
            loss are derived too, as the chain needs them. ``None``: every named tensor.
        symbols: display symbols for functions (by primitive name: ``{"tanh": "g"}``) and tensors
            (by name).
        expand: write activations' derivatives out (``1 − tanh(s)^2``) instead of ``tanh'(s)``.

    Returns:
        An :class:`Explanation` with ``.text``, ``.latex``, ``._repr_latex_()``, ``.terms`` and
        ``.evaluate()``.

    Raises:
        TypeError: ``loss`` is not a Tensor.
        ValueError: a ``wrt`` entry is unnamed, unknown or not in the graph; too many unnamed
            operations between two named tensors.

    Example::

        x = cr.tensor(0.5, name="x"); w = cr.tensor(2.0, requires_grad=True, name="w")
        L = cr.tanh(w * x)
        print(cr.explain(L, wrt=[x], symbols={"tanh": "g"}).text)
        # ∂L/∂x = g'(w x) w
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"explain needs a Tensor loss, not {type(loss).__name__}")
    b = _Builder(loss, expand)
    children, consumers = _named_dag(b)
    needed = _to_derive(b, _resolve_wrt(wrt, b), consumers)
    order = _derivation_order(b, children, consumers)
    equations = _equations(b, order, needed, children, consumers, dict(symbols or {}))
    loss_value = backend.to_numpy(loss.data)
    loss_name = b.names[id(loss)]
    return Explanation(loss_name, equations, dict(symbols or {}), loss_value)


# --- the stages of explain ------------------------------------------------------------------------

#: ``children[id(c)]``: for a named consumer ``c`` (the loss included), ``id(v) → contribution`` for
#: each named tensor ``v`` it reads; ``consumers[id(v)]``: the named consumers of ``v``, in graph order.
_Children = dict[int, dict[int, Expr]]
_Consumers = dict[int, list[int]]


def _named_dag(b: _Builder) -> tuple[_Children, _Consumers]:
    """The graph over named tensors: for each named consumer, the VJP to each named tensor it reads.

    Raises:
        ValueError: a local derivative too large to print (more than :data:`MAX_TREE` nodes).
    """
    children: _Children = {}
    consumers: _Consumers = {}
    memo: dict[int, int] = {}
    for node in b.order:
        if not b.named(node) or node.op is None:
            continue
        found = b.region(node)
        for e in found.values():
            if _tree_size(e, memo) > MAX_TREE:
                raise ValueError(
                    f"explain: the local derivatives of {b.names[id(node)]!r} are too large to "
                    "print; name some intermediate tensors"
                )
        children[id(node)] = found
        for v in found:
            consumers.setdefault(v, []).append(id(node))
    return children, consumers


def _to_derive(b: _Builder, targets: list[Tensor] | None, consumers: _Consumers) -> set[int]:
    """Which tensors to derive: the ``wrt`` targets (``None``: every named tensor that feeds the loss)
    and every named tensor between them and the loss."""
    loss = b.root
    if targets is None:
        return {id(t) for t in b.order if b.named(t) and t is not loss and id(t) in consumers}
    needed: set[int] = set()
    queue = deque(id(t) for t in targets if t is not loss)
    while queue:
        v = queue.popleft()
        if v in needed or v not in consumers:
            continue
        needed.add(v)
        queue.extend(c for c in consumers[v] if c != id(loss))
    return needed


def _derivation_order(b: _Builder, children: _Children, consumers: _Consumers) -> list[int]:
    """Breadth-first from the loss; a named tensor comes once all its consumers are done."""
    loss = id(b.root)
    indeg = {v: len(cs) for v, cs in consumers.items()}
    order: list[int] = []
    queue = deque([loss])
    while queue:
        c = queue.popleft()
        if c != loss:
            order.append(c)
        for v in sorted(children.get(c, {}), key=lambda i: b.pos[i]):
            indeg[v] -= 1
            if indeg[v] == 0:
                queue.append(v)
    return order


def _equations(
    b: _Builder,
    order: list[int],
    needed: set[int],
    children: _Children,
    consumers: _Consumers,
    symbols: dict[str, str],
) -> list[Equation]:
    """One equation per needed tensor, in ``order``; its terms in the consumers' graph order.
    Function symbols (``{"tanh": "g"}``) become part of the expressions, so ``str(term.local)``
    shows ``g'``."""
    loss = id(b.root)
    by_id = {id(t): t for t in b.order}
    equations: list[Equation] = []
    for v in order:
        if v not in needed:
            continue
        terms = []
        shape = _shape(by_id[v])
        for c in sorted(consumers[v], key=lambda i: b.pos[i]):
            contribution = _strip_broadcast(children[c][v], shape)
            contribution = rename_functions(contribution, symbols)
            cname = b.names[c]
            local = split_gradient_factor(contribution, cname)
            if c == loss and b.unit_seed:
                local = contribution  # ∂L/∂L = 1
            terms.append(
                Term(
                    cname,
                    local if local is not None else contribution,
                    contribution,
                    local is not None,
                )
            )
        given = consumers[v] == [loss]
        equations.append(Equation(b.names[v], tuple(terms), given, shape))
    return equations
