"""The expression tree of the answer language: immutable nodes, each remembering where it was written.

``pos`` is the offset of the node's first character in the source text, for carets in error messages.
Nodes compare by structure (``pos`` excluded), so two parses of the same text are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BinOp",
    "Call",
    "Compare",
    "Expr",
    "GradRef",
    "Index",
    "Name",
    "Num",
    "Reduce",
    "Transpose",
    "Unary",
    "free_names",
    "substitute",
]


@dataclass(frozen=True)
class Expr:
    """Base of every node."""

    pos: int = field(default=0, compare=False, kw_only=True)

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(frozen=True)
class Num(Expr):
    """A number literal; ``text`` keeps its spelling (``0.1``) for exact use."""

    value: float
    text: str = ""


@dataclass(frozen=True)
class Name(Expr):
    """A symbol: a declared variable, an index, a constant (``pi``, ``e``) or a node label."""

    name: str


@dataclass(frozen=True)
class GradRef(Expr):
    """``∂L/∂n_4``, ``dL/dn4``: the gradient of the loss ``loss`` with respect to ``target``."""

    loss: str
    target: Expr


@dataclass(frozen=True)
class Index(Expr):
    """``x[i]``, ``w[2, 4]``, ``w_{2,4}``, ``n_4``: ``base`` indexed by ``items`` (1-based for numbers)."""

    base: Expr
    items: tuple[Expr, ...]
    subscript: bool = False  # written as name_{...}: labels rather than positions

    def children(self) -> tuple[Expr, ...]:
        return (self.base, *self.items)


@dataclass(frozen=True)
class Unary(Expr):
    """``-x``."""

    op: str
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class BinOp(Expr):
    """``a + b``, ``a - b``, ``a * b`` (elementwise), ``a / b``, ``a ^ b``, ``a @ b`` (matrix product)."""

    op: str
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Transpose(Expr):
    """``A.T``."""

    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Call(Expr):
    """``f(a, b)``; ``order`` counts primes (``g'(z)`` has order 1)."""

    func: str
    args: tuple[Expr, ...]
    order: int = 0

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True)
class Reduce(Expr):
    """``sum(body, i, j)``: the sum of ``body`` over the index variables; ``diff(body, a)``;
    ``grad(body, w)``. ``op`` is ``sum``, ``diff`` or ``grad``; ``over`` names the variables."""

    op: str
    body: Expr
    over: tuple[str, ...]

    def children(self) -> tuple[Expr, ...]:
        return (self.body,)


@dataclass(frozen=True)
class Compare(Expr):
    """``a == b``, ``a != b``, ``a < b`` ... and ``and`` of comparisons (``require`` conditions)."""

    op: str
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


def free_names(e: Expr) -> set[str]:
    """The names used in ``e`` that no ``sum``/``diff``/``grad`` inside it binds (functions excluded)."""
    if isinstance(e, Name):
        return {e.name}
    if isinstance(e, Reduce):
        inner = free_names(e.body)
        return inner - set(e.over) if e.op == "sum" else inner | set(e.over)
    if isinstance(e, GradRef):
        return set()
    out: set[str] = set()
    for c in e.children():
        out |= free_names(c)
    return out


def substitute(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """``e`` with each free ``Name`` in ``mapping`` replaced by its expression (definitions like ``L``)."""
    if isinstance(e, Name):
        return mapping.get(e.name, e)
    if isinstance(e, Reduce):
        inner = {k: v for k, v in mapping.items() if e.op != "sum" or k not in e.over}
        return Reduce(e.op, substitute(e.body, inner), e.over, pos=e.pos)
    if isinstance(e, Index):
        return Index(
            substitute(e.base, mapping),
            tuple(substitute(i, mapping) for i in e.items),
            e.subscript,
            pos=e.pos,
        )
    if isinstance(e, Unary):
        return Unary(e.op, substitute(e.operand, mapping), pos=e.pos)
    if isinstance(e, (BinOp, Compare)):
        return type(e)(e.op, substitute(e.left, mapping), substitute(e.right, mapping), pos=e.pos)
    if isinstance(e, Transpose):
        return Transpose(substitute(e.operand, mapping), pos=e.pos)
    if isinstance(e, Call):
        return Call(e.func, tuple(substitute(a, mapping) for a in e.args), e.order, pos=e.pos)
    return e
