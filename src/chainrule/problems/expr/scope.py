"""Declarations and binding: every free symbol of an expression is declared with its type and shape.

A :class:`Scope` holds the declared variables (``a = "real"``, ``w = "vector[d]"``,
``x = "matrix[n,d]"``, ``y = "vector[n] in {0,1}"``, ``i = "index[n]"``), the user functions
(``h = "u -> sigma(dot(w, u))"``) and named scalars such as a network's ``n_4``, ``w_{4,6}`` and
``∂L/∂n_4``. :meth:`Scope.bind` checks a parsed expression against it and returns the tree with every
reference in canonical form; an unknown name is a format error with a caret, never a wrong answer.

Types: ``real``, ``positive``, ``int``, ``vector[d]``, ``matrix[n,d]``, ``tensor[a,b,c]``, each optionally
``in [lo, hi]`` or ``in {v1, v2, ...}``; ``index[n]`` declares an index variable over ``1..n``.
Dimensions are symbols (drawn per check, pairwise distinct) or integers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from chainrule.problems.errors import FormatError, caret
from chainrule.problems.expr.nodes import (
    BinOp,
    Call,
    Compare,
    Expr,
    GradRef,
    Index,
    Name,
    Num,
    Reduce,
    Transpose,
    Unary,
)
from chainrule.problems.expr.parser import ALIASES, BUILTIN_FUNCTIONS, parse_expr

__all__ = ["CONSTANTS", "Function", "Scope", "VarType", "parse_type"]

#: Named constants every expression may use.
CONSTANTS = {"pi": 3.141592653589793, "e": 2.718281828459045}

_TYPE = re.compile(
    r"^\s*(real|positive|int|vector|matrix|tensor|index)\s*(?:\[\s*([A-Za-z0-9_,\s]+)\s*\])?"
    r"\s*(?:in\s*(\[[^\]]*\]|\{[^}]*\}))?\s*$"
)
#: The most dimensions of a declared tensor, and the most entries its integer dimensions may give.
MAX_RANK = 4
MAX_ENTRIES = 10_000
_RANKS = {"real": 0, "positive": 0, "int": 0, "vector": 1, "matrix": 2, "index": 1}


@dataclass(frozen=True)
class VarType:
    """A declared type: ``base`` (real, positive, int, vector, matrix, tensor, index), its dimensions
    (symbols or integers), and its domain: ``interval`` ``(lo, hi)`` or a finite ``values`` set."""

    base: str
    dims: tuple[str | int, ...] = ()
    interval: tuple[float, float] | None = None
    values: tuple[float, ...] | None = None

    @property
    def rank(self) -> int:
        return 0 if self.base == "index" else len(self.dims)


def _number(text: str, where: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise FormatError(f"{where}: {text.strip()!r} is not a number") from None
    if not abs(v) <= 1e15:
        raise FormatError(f"{where}: {text.strip()!r} is out of range")
    return v


def parse_type(text: str) -> VarType:
    """Parse a declaration's type text (see the module docstring).

    Raises:
        FormatError: an unknown type, a missing or extra dimension list, or a bad domain.
    """
    m = _TYPE.match(text)
    if not m:
        raise FormatError(
            f"cannot read the type {text!r}; write real, positive, int, vector[d], matrix[n,d], "
            "tensor[a,b,c] or index[n], optionally followed by 'in [lo, hi]' or 'in {0, 1}'"
        )
    base, dims_text, domain = m.group(1), m.group(2), m.group(3)
    dims: tuple[str | int, ...] = ()
    if dims_text:
        dims = tuple(int(d) if d.strip().isdigit() else d.strip() for d in dims_text.split(","))
        if any(d == "" for d in dims):
            raise FormatError(f"an empty dimension in {text!r}")
        if any(isinstance(d, int) and not 1 <= d <= 64 for d in dims):
            raise FormatError(f"a dimension in {text!r} is outside 1..64")
    want = _RANKS.get(base)
    if base == "tensor" and not dims:
        raise FormatError(f"{text!r}: a tensor needs its dimensions, tensor[a,b,c]")
    if want is not None and base != "index" and len(dims) != want:
        raise FormatError(f"{text!r}: a {base} has {want} dimension(s)")
    if len(dims) > MAX_RANK:
        raise FormatError(f"{text!r}: at most {MAX_RANK} dimensions")
    fixed = math.prod(d for d in dims if isinstance(d, int))
    if fixed > MAX_ENTRIES:
        raise FormatError(f"{text!r}: {fixed} entries; the limit is {MAX_ENTRIES}")
    if base == "index" and len(dims) != 1:
        raise FormatError(f"{text!r}: an index ranges over one dimension, index[n]")
    interval = values = None
    if domain:
        inner = domain[1:-1]
        parts = [p for p in inner.split(",") if p.strip()]
        if domain.startswith("["):
            if len(parts) != 2:
                raise FormatError(f"{text!r}: an interval is [lo, hi]")
            lo, hi = (_number(p, text) for p in parts)
            if not lo < hi:
                raise FormatError(f"{text!r}: the interval needs lo < hi")
            interval = (lo, hi)
        else:
            if not parts or len(parts) > 100:
                raise FormatError(f"{text!r}: a set of values needs 1 to 100 numbers")
            values = tuple(_number(p, text) for p in parts)
    if base == "positive" and interval is None:
        interval = (0.05, 4.0)
    return VarType(base, dims, interval, values)


#: The deepest tree an expression may be (a chain of 200 ``+`` is 200 deep), and the deepest nesting of
#: ``diff``/``grad`` (each level evaluates what it holds again, through autodiff or 50-digit differences).
MAX_HEIGHT = 200
MAX_DERIVATIVES = 3


def check_size(e: Expr) -> None:
    """Refuse trees too deep to evaluate in bounded time and stack.

    Raises:
        FormatError: more than :data:`MAX_HEIGHT` levels, or ``diff``/``grad`` nested more than
            :data:`MAX_DERIVATIVES` deep.
    """
    stack: list[tuple[Expr, int, int]] = [(e, 1, 0)]
    while stack:
        x, height, derivs = stack.pop()
        if isinstance(x, Reduce) and x.op in ("diff", "grad"):
            derivs += 1
        if height > MAX_HEIGHT:
            raise FormatError(
                f"the expression is more than {MAX_HEIGHT} operations deep; split a long sum into "
                "sum(...) or shorter terms"
            )
        if derivs > MAX_DERIVATIVES:
            raise FormatError(f"diff and grad are nested more than {MAX_DERIVATIVES} deep")
        stack.extend((c, height + 1, derivs) for c in x.children())


@dataclass(frozen=True)
class Function:
    """A user function ``name(params) = body`` (from ``h = "u -> sigma(dot(w, u))"``)."""

    name: str
    params: tuple[str, ...]
    body: Expr
    text: str


@dataclass
class Scope:
    """What an expression may refer to; see the module docstring.

    Attributes:
        variables: declared name → type (scalars, tensors, index variables).
        functions: user functions by name.
        aliases: other spellings of a declared scalar (``n4``, ``n[4]`` → ``n_4``), filled by
            :meth:`declare_scalar` from the label.
        loss: the loss's name in gradients ``∂L/∂…``.
        applied: input names after which a node name reads as its value (``n_4(x)``).
    """

    variables: dict[str, VarType] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    loss: str = "L"
    applied: tuple[str, ...] = ()

    # -- declaring ----------------------------------------------------------------------------------
    @classmethod
    def from_tables(
        cls, variables: Mapping[str, str], functions: Mapping[str, str] | None = None
    ) -> Scope:
        """A scope from a problem's ``vars`` and the set's ``functions`` tables.

        Raises:
            FormatError: a bad name, type or function (``field`` names the key).
        """
        scope = cls()
        for name, text in variables.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name in CONSTANTS:
                raise FormatError(
                    f"cannot declare {name!r}: not a plain name", field=f"vars.{name}"
                )
            if name in BUILTIN_FUNCTIONS or name in ("sum", "diff", "grad"):
                raise FormatError(f"{name!r} is a built-in function", field=f"vars.{name}")
            try:
                scope.variables[name] = parse_type(text)
            except FormatError as exc:
                raise FormatError(exc.message, field=f"vars.{name}") from None
        for name, text in (functions or {}).items():
            scope.define_function(name, text)
        return scope

    def define_function(self, name: str, text: str) -> None:
        """Declare ``name = "params -> body"`` (the body may call functions declared before it).

        Raises:
            FormatError: a bad name or parameter list, or a body that does not parse or bind.
        """
        where = f"functions.{name}"
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name in BUILTIN_FUNCTIONS:
            raise FormatError(
                f"cannot define {name!r}: a plain name that is not built in", field=where
            )
        if "->" not in text:
            raise FormatError(
                "write a function as 'params -> body', e.g. 't -> 1/(1+exp(-t))'", field=where
            )
        head, body_text = text.split("->", 1)
        params = tuple(p.strip() for p in head.strip().strip("()").split(",") if p.strip())
        if not params or not all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", p) for p in params):
            raise FormatError(f"cannot read the parameters {head.strip()!r}", field=where)
        try:
            body = parse_expr(body_text, [*self.functions, name], self.applied)
            inner = Scope(dict(self.variables), dict(self.functions), dict(self.aliases), self.loss)
            for p in params:
                inner.variables[p] = VarType("param")
            body = inner.bind(body, body_text)
        except FormatError as exc:
            raise FormatError(exc.message, field=where, detail=exc.detail) from None
        self.functions[name] = Function(name, params, body, text)

    def declare_scalar(self, key: str, *spellings: str) -> None:
        """Declare a named scalar (``n_4``, ``w_{4,6}``, ``∂L/∂n_4``) with other ``spellings``."""
        self.variables[key] = VarType("real")
        for s in spellings:
            self.aliases[s] = key

    # -- binding ------------------------------------------------------------------------------------
    def parse(self, text: str) -> Expr:
        """Parse and bind ``text``.

        Raises:
            FormatError: a syntax error or an unknown symbol, with a caret.
        """
        tree = parse_expr(text, self.functions, self.applied)
        check_size(tree)  # before binding, which recurses over the tree
        return self.bind(tree, text)

    def bind(self, e: Expr, text: str, bound: frozenset[str] = frozenset()) -> Expr:
        """``e`` with every reference resolved; ``bound`` are the index variables of enclosing sums.

        Raises:
            FormatError: an unknown name, function or gradient, or a wrong argument count (caret at it).
        """

        def fail(node: Expr, message: str, length: int = 1) -> FormatError:
            return FormatError(message, detail=caret(text, node.pos, length))

        def go(x: Expr, bound: frozenset[str]) -> Expr:
            if isinstance(x, Num):
                return x
            if isinstance(x, Name):
                key = self._resolve(x.name)
                if key is not None:
                    return Name(key, pos=x.pos)
                if x.name in bound or x.name in CONSTANTS:
                    return x
                indexed = self._subscripted(x)
                if indexed is not None:
                    return go(indexed, bound)
                raise fail(x, self._unknown(x.name), len(x.name))
            if isinstance(x, GradRef):
                target = self._label_key(x.target)
                key = self._resolve(f"∂{x.loss}/∂{target}") if target else None
                if key is None:
                    known = sorted(k for k in self.variables if k.startswith("∂"))
                    hint = f"; the gradients declared are {', '.join(known)}" if known else ""
                    raise fail(x, f"unknown gradient ∂{x.loss}/∂{target or '?'}{hint}", 3)
                return Name(key, pos=x.pos)
            if isinstance(x, Index):
                key = self._label_key(x)
                resolved = self._resolve(key) if key else None
                if resolved is not None:
                    return Name(resolved, pos=x.pos)
                base = go(x.base, bound)
                if isinstance(base, Name) and base.name in self.variables:
                    vt = self.variables[base.name]
                    if vt.base != "param" and len(x.items) > vt.rank:
                        raise fail(
                            x, f"{base.name} has {vt.rank} axes; it is indexed by {len(x.items)}"
                        )
                return Index(base, tuple(go(i, bound) for i in x.items), x.subscript, pos=x.pos)
            if isinstance(x, Call):
                if x.func in self.functions:
                    want = len(self.functions[x.func].params)
                elif x.func in BUILTIN_FUNCTIONS:
                    want = BUILTIN_FUNCTIONS[x.func]
                else:
                    raise fail(
                        x, f"unknown function {x.func!r}{self._function_hint()}", len(x.func)
                    )
                if len(x.args) != want:
                    raise fail(
                        x, f"{x.func} takes {want} argument(s), got {len(x.args)}", len(x.func)
                    )
                if x.order and want != 1:
                    raise fail(x, f"{x.func}' : only functions of one argument have a derivative")
                if x.order > 3:
                    raise fail(x, "derivatives of order above 3 are not supported")
                return Call(x.func, tuple(go(a, bound) for a in x.args), x.order, pos=x.pos)
            if isinstance(x, Reduce):
                if x.op == "sum":
                    for v in x.over:
                        if v in self.variables and self.variables[v].base != "index":
                            raise fail(
                                x, f"sum over {v!r}: {v} is a declared variable, not an index"
                            )
                    return Reduce("sum", go(x.body, bound | set(x.over)), x.over, pos=x.pos)
                v = x.over[0]
                key = self._resolve(v)
                if key is None or self.variables[key].base in ("index", "param"):
                    raise fail(x, f"{x.op}(…, {v}): {v} is not a declared variable")
                return Reduce(x.op, go(x.body, bound), (key,), pos=x.pos)
            if isinstance(x, Unary):
                return Unary(x.op, go(x.operand, bound), pos=x.pos)
            if isinstance(x, BinOp):
                return BinOp(x.op, go(x.left, bound), go(x.right, bound), pos=x.pos)
            if isinstance(x, Compare):
                return Compare(x.op, go(x.left, bound), go(x.right, bound), pos=x.pos)
            if isinstance(x, Transpose):
                return Transpose(go(x.operand, bound), pos=x.pos)
            raise fail(x, f"cannot use {type(x).__name__} here")

        return go(e, bound)

    def _subscripted(self, x: Name) -> Expr | None:
        """``x_i`` as ``x[i]`` and ``x_1`` as ``x[1]``, when ``x`` is a declared tensor (the seed's and
        LaTeX's way of writing an entry)."""
        base, sep, sub = x.name.rpartition("_")
        vt = self.variables.get(base) if sep else None
        if vt is None or vt.rank < 1 or not sub:
            return None
        item: Expr = Num(float(sub), sub, pos=x.pos) if sub.isdigit() else Name(sub, pos=x.pos)
        return Index(Name(base, pos=x.pos), (item,), pos=x.pos)

    def _resolve(self, name: str) -> str | None:
        if name in self.variables:
            return name
        if name in self.aliases:
            return self.aliases[name]
        return None

    def _label_key(self, e: Expr) -> str | None:
        """``n_4``, ``n4``, ``n[4]``, ``n_{4}`` → ``n_4``; ``w[2,4]``, ``w_{2,4}`` → ``w_{2,4}``."""
        if isinstance(e, Name):
            return self.aliases.get(e.name, e.name)
        if isinstance(e, Index) and isinstance(e.base, Name):
            labels = []
            for it in e.items:
                if isinstance(it, Num) and it.text.isdigit():
                    labels.append(it.text)
                elif isinstance(it, Name):
                    labels.append(it.name)
                else:
                    return None
            key = f"{e.base.name}_{{{','.join(labels)}}}"
            if key in self.variables or key in self.aliases:
                return self.aliases.get(key, key)
            return key
        return None

    def _unknown(self, name: str) -> str:
        known = sorted(k for k, v in self.variables.items() if v.base != "param")
        shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        return f"unknown name {name!r}; declared: {shown or 'nothing'}"

    def _function_hint(self) -> str:
        names = sorted({*BUILTIN_FUNCTIONS, *self.functions, *ALIASES} - {"σ"})
        return f"; the functions are {', '.join(names)}, sum, diff, grad"
