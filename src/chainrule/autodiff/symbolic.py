"""Symbolic expressions for chain-rule derivations: build, simplify, print (text and LaTeX), evaluate.

An :class:`Expr` is an immutable tree. Its leaves are named tensors (:class:`Sym`), gradients of the
loss with respect to a named tensor (:class:`Grad`, printed ``∂L/∂n_4``) and constants (:class:`Const`).
Its inner nodes are sums (:class:`Add`), elementwise products (:class:`Mul`), powers (:class:`Pow`),
elementwise functions (:class:`Call`, e.g. ``tanh(s)`` or its derivative ``tanh'(s)``) and other
operations (:class:`Op`: matmul, einsum, reductions, indexing...).

The smart constructors :func:`add`, :func:`mul`, :func:`power` and :func:`neg` simplify as they build:
they flatten nested sums and products, fold numeric constants, drop ``1·``, ``·1`` and ``+ 0``, and
collect like terms (``x + x`` → ``2 x``). Products keep the order of their factors, so a chain-rule
product reads outer-to-inner, as a student writes it.

Every expression evaluates on NumPy arrays (:meth:`Expr.evaluate`): symbols carry the values recorded
in the graph and gradients are looked up by name, so a printed derivation can be checked numerically.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Add",
    "Call",
    "Const",
    "Expr",
    "Function",
    "Grad",
    "Mul",
    "Op",
    "OpSpec",
    "Pow",
    "Style",
    "Sym",
    "add",
    "as_expr",
    "const",
    "latex_name",
    "mul",
    "neg",
    "power",
    "sub",
]

Shape = tuple[int, ...]

# Binding strength of each kind of expression, for parentheses: a child binding more weakly than its
# parent needs them.
PREC_ADD = 1
PREC_MUL = 2
PREC_NEG = 3
PREC_POW = 4
PREC_ATOM = 5


@dataclass(frozen=True)
class Style:
    """How to print: ``latex`` or plain text, and user symbols for functions and tensors.

    ``symbols`` maps a function's table name (``"tanh"``) or a tensor's name to the symbol to print
    instead (``{"tanh": "g"}`` prints ``g(s)`` and ``g'(s)``). ``loss`` is the name of the loss in
    ``∂L/∂v``.
    """

    latex: bool = False
    symbols: Mapping[str, str] = field(default_factory=dict)
    loss: str = "L"


# --- names in LaTeX ------------------------------------------------------------------------------

#: Commands a name may use verbatim: symbols, and (second set) commands taking one argument.
_LATEX_SYMBOLS = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi "  # noqa: SIM905
    "pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta "
    "Lambda Xi Pi Sigma Upsilon Phi Psi Omega ell hbar imath jmath nabla partial infty prime top "
    "star ast dagger circ bullet".split()
)
_LATEX_ONE_ARG = frozenset(
    "mathbf mathrm mathit mathsf mathtt mathcal mathbb mathfrak boldsymbol hat bar tilde vec dot "  # noqa: SIM905
    "ddot widehat widetilde overline underline check breve acute grave".split()
)
#: Characters a name may use verbatim besides letters and digits (none is special to LaTeX).
_LATEX_PLAIN = frozenset(",.;:+-*/=<>()[]|!?@")
#: How ``\mathrm{..}`` writes the characters a name cannot use verbatim (math mode throughout).
_LATEX_ESCAPES = {
    "\\": "\\backslash{}",
    "{": "\\{",
    "}": "\\}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "^": "\\hat{\\ }",
    "~": "\\sim{}",
    " ": "\\ ",
}


def _latex_tokens(name: str) -> list[str] | None:
    """``name`` split into TeX tokens (characters and ``\\commands``), or None if a command or a
    character is not one a name may use verbatim."""
    tokens: list[str] = []
    i = 0
    while i < len(name):
        c = name[i]
        if c == "\\":
            j = i + 1
            while j < len(name) and name[j].isascii() and name[j].isalpha():
                j += 1
            command = name[i + 1 : j]
            if command not in _LATEX_SYMBOLS and command not in _LATEX_ONE_ARG:
                return None
            tokens.append("\\" + command)
            i = j
            continue
        if not (c.isalnum() or c in _LATEX_PLAIN or c in "_^'{}"):
            return None
        tokens.append(c)
        i += 1
    return tokens


def _latex_valid(tokens: list[str]) -> bool:
    """Whether the tokens form math that compiles: balanced groups, every ``_``/``^`` and one-argument
    command followed by an argument, no double subscript or superscript."""
    pos = 0

    def argument() -> bool:  # one token or a group, after _, ^ or a one-argument command
        nonlocal pos
        if pos >= len(tokens) or tokens[pos] in ("}", "_", "^", "'"):
            return False
        tok = tokens[pos]
        pos += 1
        if tok == "{":
            return sequence(True)
        if tok.startswith("\\") and tok[1:] in _LATEX_ONE_ARG:
            return argument()
        return True

    def sequence(in_group: bool) -> bool:
        nonlocal pos
        sub = sup = False
        while pos < len(tokens):
            tok = tokens[pos]
            pos += 1
            if tok == "}":
                return in_group
            if tok in ("_", "^"):
                used = sub if tok == "_" else sup
                if used or not argument():
                    return False
                sub, sup = (True, sup) if tok == "_" else (sub, True)
            elif tok == "'":  # primes merge with each other and with one ^ after them (x''^2)
                if sup:
                    return False
            elif tok == "{":
                if not sequence(True):
                    return False
                sub = sup = False
            elif tok.startswith("\\") and tok[1:] in _LATEX_ONE_ARG:
                if not argument():
                    return False
                sub = sup = False
            else:
                sub = sup = False
        return not in_group

    return bool(tokens) and sequence(False)


def latex_name(name: str) -> str:
    """A tensor's (or a symbol's) name as LaTeX that compiles, in math mode.

    A name that is already math (``x``, ``n_4``, ``w_{3,4}``, ``\\theta_1``, ``\\hat{y}``, ``h(x)``)
    is used verbatim, in braces when it carries a superscript or a prime (``{x_1^2}``), so that a
    power or a transpose printed after it is not a double superscript. Anything else (``a&b``,
    ``50%``, ``#n``, ``\\weird``, ``{``, ``x#2``, spaces) is set upright in ``\\mathrm{...}`` with its
    special characters escaped: ``\\mathrm{a\\&b}``.
    """
    tokens = _latex_tokens(name)
    if tokens is not None and _latex_valid(tokens):
        depth = 0
        for tok in tokens:
            depth += 1 if tok == "{" else -1 if tok == "}" else 0
            if depth == 0 and tok in ("^", "'"):
                return "{" + name + "}"
        return name
    body = "".join(_LATEX_ESCAPES.get(c, c if c.isprintable() else "\\ ") for c in name)
    return f"\\mathrm{{{body}}}"


def format_number(value: float, latex: bool = False) -> str:
    """A short decimal form of a scalar: ``1``, ``0.5``, ``-2``, ``1e-08`` (``1 \\times 10^{-8}`` in LaTeX)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    s = format(float(value), ".6g")
    if latex and "e" in s:
        mant, exp = s.split("e")
        return f"{mant} \\times 10^{{{int(exp)}}}"
    return s


def _broadcast(shapes: Sequence[Shape | None]) -> Shape | None:
    if any(s is None for s in shapes):
        return None
    try:
        return tuple(np.broadcast_shapes(*[s for s in shapes if s is not None]))
    except ValueError:
        return None


def is_scalar_shape(shape: Shape | None) -> bool:
    """True for a known shape with a single element (``()``, ``(1,)``...)."""
    return shape is not None and math.prod(shape) == 1


class Expr:
    """A symbolic expression (immutable). Subclasses define rendering, evaluation and a structural key."""

    prec: int = PREC_ATOM

    @property
    def shape(self) -> Shape | None:
        """The shape of the value, when it is known; ``None`` otherwise."""
        return None

    def key(self) -> tuple[Any, ...]:
        """A hashable structural key: two expressions with equal keys print and evaluate alike."""
        raise NotImplementedError

    def render(self, style: Style) -> str:
        """The expression as text or LaTeX (per ``style``)."""
        raise NotImplementedError

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        """The value on NumPy arrays; ``grads`` maps a tensor name to ``∂L/∂name``.

        Raises:
            KeyError: a gradient this expression needs is missing from ``grads``.
        """
        raise NotImplementedError

    def children(self) -> tuple[Expr, ...]:
        """The direct subexpressions."""
        return ()

    def walk(self) -> list[Expr]:
        """Every subexpression (this one first), depth first."""
        out: list[Expr] = []
        stack: list[Expr] = [self]
        while stack:
            e = stack.pop()
            out.append(e)
            stack.extend(reversed(e.children()))
        return out

    def text(self, symbols: Mapping[str, str] | None = None, loss: str = "L") -> str:
        """Plain-text form (Unicode ∂, ·, ⊙, ᵀ)."""
        return self.render(Style(False, dict(symbols or {}), loss))

    def latex(self, symbols: Mapping[str, str] | None = None, loss: str = "L") -> str:
        """LaTeX form (math mode, no delimiters)."""
        return self.render(Style(True, dict(symbols or {}), loss))

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())


def wrap(child: Expr, style: Style, min_prec: int) -> str:
    """Render ``child``, in parentheses when it binds more weakly than ``min_prec``."""
    s = child.render(style)
    if child.prec < min_prec:
        return f"\\left({s}\\right)" if style.latex else f"({s})"
    return s


@dataclass(frozen=True, eq=False, repr=False)
class Sym(Expr):
    """A named tensor. ``value`` is the recorded array (used by :meth:`evaluate`)."""

    name: str
    value: Any = None
    sym_shape: Shape | None = None

    @property
    def shape(self) -> Shape | None:
        if self.sym_shape is not None:
            return self.sym_shape
        return None if self.value is None else tuple(np.shape(self.value))

    def key(self) -> tuple[Any, ...]:
        return ("sym", self.name)

    def render(self, style: Style) -> str:
        name = style.symbols.get(self.name, self.name)
        return latex_name(name) if style.latex else name

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        if self.value is None:
            raise KeyError(f"symbol {self.name!r} has no recorded value")
        return np.asarray(self.value)


@dataclass(frozen=True, eq=False, repr=False)
class Grad(Expr):
    """``∂L/∂name``, the gradient of the loss with respect to a named tensor (a placeholder)."""

    name: str
    grad_shape: Shape | None = None

    @property
    def shape(self) -> Shape | None:
        return self.grad_shape

    def key(self) -> tuple[Any, ...]:
        return ("grad", self.name)

    def render(self, style: Style) -> str:
        v = style.symbols.get(self.name, self.name)
        loss = style.symbols.get(style.loss, style.loss)
        if style.latex:
            return f"\\frac{{\\partial {latex_name(loss)}}}{{\\partial {latex_name(v)}}}"
        return f"∂{loss}/∂{v}"

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        if self.name not in grads:
            raise KeyError(f"no value for ∂L/∂{self.name}")
        return np.asarray(grads[self.name])


@dataclass(frozen=True, eq=False, repr=False)
class Const(Expr):
    """A constant: a Python number, or an array (printed by ``label`` or as ``const(3×4)``)."""

    value: Any
    label: str | None = None

    @property
    def is_number(self) -> bool:
        return self.value is not None and np.ndim(self.value) == 0 and self.label is None

    @property
    def number(self) -> float:
        return float(np.asarray(self.value))

    @property
    def prec(self) -> int:  # type: ignore[override]
        return PREC_NEG if self.is_number and self.number < 0 else PREC_ATOM

    def key(self) -> tuple[Any, ...]:
        if self.is_number:
            return ("const", self.number)
        return ("array", self.label, id(self.value))

    @property
    def shape(self) -> Shape | None:
        return None if self.value is None else tuple(np.shape(self.value))

    def render(self, style: Style) -> str:
        if self.label is not None:
            return self.label
        if self.is_number:
            s = format_number(self.number, style.latex)
            return s.replace("-", "−") if not style.latex else s
        if self.value is None:
            return "\\mathrm{const}" if style.latex else "const"
        dims = "×".join(str(d) for d in np.shape(self.value))
        return f"\\mathrm{{const}}_{{{dims}}}" if style.latex else f"const({dims})"

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        if self.value is None:
            raise KeyError(
                f"constant {self.label or ''} was released by backward(); explain before backward "
                "or pass retain_graph=True"
            )
        return np.asarray(self.value)


def const(value: float) -> Const:
    """A numeric constant."""
    return Const(float(value))


def _is_number(e: Expr, value: float | None = None) -> bool:
    return isinstance(e, Const) and e.is_number and (value is None or e.number == value)


@dataclass(frozen=True, eq=False, repr=False)
class Add(Expr):
    """A sum of terms (two or more; build with :func:`add`)."""

    terms: tuple[Expr, ...]
    prec = PREC_ADD

    @property
    def shape(self) -> Shape | None:
        return _broadcast([t.shape for t in self.terms])

    def key(self) -> tuple[Any, ...]:
        return ("add", *(t.key() for t in self.terms))

    def children(self) -> tuple[Expr, ...]:
        return self.terms

    def render(self, style: Style) -> str:
        parts: list[str] = []
        for i, t in enumerate(self.terms):
            coef, rest = _split_coefficient(t)
            if i > 0 and coef < 0:
                parts.append(" - " if style.latex else " − ")
                parts.append(wrap(_with_coefficient(-coef, rest), style, PREC_ADD + 1))
            else:
                if i > 0:
                    parts.append(" + ")
                parts.append(wrap(t, style, PREC_ADD + 1) if i > 0 else t.render(style))
        return "".join(parts)

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        total = self.terms[0].evaluate(grads)
        for t in self.terms[1:]:
            total = total + t.evaluate(grads)
        return np.asarray(total)


@dataclass(frozen=True, eq=False, repr=False)
class Mul(Expr):
    """An elementwise (broadcasting) product of factors (two or more; build with :func:`mul`).

    A numeric coefficient, when present, is the first factor. Factors ``x^(-k)`` print in a
    denominator.
    """

    factors: tuple[Expr, ...]

    @property
    def prec(self) -> int:  # type: ignore[override]
        return PREC_NEG if _is_number(self.factors[0]) and self.factors[0].number < 0 else PREC_MUL  # type: ignore[attr-defined]

    @property
    def shape(self) -> Shape | None:
        return _broadcast([f.shape for f in self.factors])

    def key(self) -> tuple[Any, ...]:
        return ("mul", *(f.key() for f in self.factors))

    def children(self) -> tuple[Expr, ...]:
        return self.factors

    def render(self, style: Style) -> str:
        coef, rest = _split_coefficient(self)
        num: list[Expr] = []
        den: list[Expr] = []
        for f in _factors(rest):
            if isinstance(f, Pow) and _is_number(f.exponent) and f.exponent.number < 0:  # type: ignore[attr-defined]
                den.append(power(f.base, const(-f.exponent.number)))  # type: ignore[attr-defined]
            else:
                num.append(f)
        sign = ""
        if coef == -1 and num:
            sign = "-" if style.latex else "−"
        elif coef != 1 or not num:
            num.insert(0, const(abs(coef)) if coef < 0 else const(coef))
            if coef < 0:
                sign = "-" if style.latex else "−"
        num_s = _join_factors(num, style)
        if not den:
            return sign + num_s
        den_s = _join_factors(den, style)
        if style.latex:
            return f"{sign}\\frac{{{num_s}}}{{{den_s}}}"
        if len(den) > 1:
            den_s = f"({den_s})"
        if len(num) > 1 and isinstance(num[-1], Grad):
            num_s = f"({num_s})"
        return f"{sign}{num_s} / {den_s}"

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        total = self.factors[0].evaluate(grads)
        for f in self.factors[1:]:
            total = total * f.evaluate(grads)
        return np.asarray(total)


def _join_factors(factors: Sequence[Expr], style: Style) -> str:
    """Juxtapose factors; ``·`` after a gradient, ``⊙`` between two non-scalar operands."""
    out = ""
    for i, f in enumerate(factors):
        s = wrap(f, style, PREC_MUL + 1)
        if i == 0:
            out = s
            continue
        prev = factors[i - 1]
        both_arrays = not (
            is_scalar_shape(prev.shape)
            or is_scalar_shape(f.shape)
            or prev.shape is None
            or f.shape is None
        )
        if both_arrays:
            sep = " \\odot " if style.latex else " ⊙ "
        elif _is_number(prev) and _is_number(f):
            sep = " \\cdot " if style.latex else " · "
        elif isinstance(prev, Grad):
            sep = " \\, " if style.latex else " · "
        else:
            sep = " "
        out += sep + s
    return out


def _factors(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Mul):
        return e.factors
    if _is_number(e, 1.0):
        return ()
    return (e,)


def _split_coefficient(e: Expr) -> tuple[float, Expr]:
    """``e`` as ``coefficient × rest`` (``rest`` is ``1`` for a pure number)."""
    if isinstance(e, Const) and e.is_number:
        return e.number, const(1.0)
    if isinstance(e, Mul) and _is_number(e.factors[0]):
        c = e.factors[0].number  # type: ignore[attr-defined]
        rest = e.factors[1:]
        return c, rest[0] if len(rest) == 1 else Mul(rest)
    return 1.0, e


def _with_coefficient(c: float, rest: Expr) -> Expr:
    return mul(const(c), rest)


def add(*terms: Expr) -> Expr:
    """The simplified sum: nested sums flattened, zeros dropped, constants folded, like terms collected."""
    flat: list[Expr] = []
    for t in terms:
        flat.extend(t.terms if isinstance(t, Add) else (t,))
    number = 0.0
    order: list[tuple[Any, ...]] = []
    coefs: dict[tuple[Any, ...], float] = {}
    rests: dict[tuple[Any, ...], Expr] = {}
    for t in flat:
        if _is_number(t):
            number += t.number  # type: ignore[attr-defined]
            continue
        c, rest = _split_coefficient(t)
        k = rest.key()
        if k not in coefs:
            order.append(k)
            coefs[k] = 0.0
            rests[k] = rest
        coefs[k] += c
    out = [_with_coefficient(coefs[k], rests[k]) for k in order if coefs[k] != 0.0]
    if number != 0.0:
        # "1 − σ(x)" rather than "−σ(x) + 1"; "n_2 − 1" stays as written.
        lead_negative = bool(out) and _split_coefficient(out[0])[0] < 0
        out.insert(0, const(number)) if lead_negative else out.append(const(number))
    if not out:
        return const(0.0)
    if len(out) == 1:
        return out[0]
    return Add(tuple(out))


def mul(*factors: Expr) -> Expr:
    """The simplified product: nested products flattened, numbers folded into a leading coefficient,
    ``1`` dropped, ``0`` absorbing, equal adjacent bases merged into powers (``x x`` → ``x^2``)."""
    coef = 1.0
    flat: list[Expr] = []
    for f in factors:
        for g in f.factors if isinstance(f, Mul) else (f,):
            if _is_number(g):
                coef *= g.number  # type: ignore[attr-defined]
            else:
                flat.append(g)
    if coef == 0.0:
        return const(0.0)
    # A number broadcast to a shape the other factors already have is just that number.
    for i, g in enumerate(flat):
        c = filled_value(g)
        if c is None:
            continue
        others = [h.shape for j, h in enumerate(flat) if j != i and filled_value(h) is None]
        if others and g.shape is not None and _broadcast([*others, g.shape]) == _broadcast(others):
            coef *= c
            flat[i] = const(1.0)
    flat = [g for g in flat if not _is_number(g, 1.0)]
    if coef == 0.0:
        return const(0.0)
    merged: list[Expr] = []
    for g in flat:
        if merged:
            b1, e1 = _base_exponent(merged[-1])
            b2, e2 = _base_exponent(g)
            if b1.key() == b2.key() and not isinstance(b1, Grad):
                merged[-1] = power(b1, add(e1, e2))
                if _is_number(merged[-1], 1.0):
                    merged.pop()
                continue
        merged.append(g)
    if coef != 1.0:
        merged.insert(0, const(coef))
    if not merged:
        return const(coef)
    if len(merged) == 1:
        return merged[0]
    return Mul(tuple(merged))


def filled_value(e: Expr) -> float | None:
    """``c`` when ``e`` is a number ``c`` broadcast to a shape (``broadcast_to(c, shape)``), else None."""
    if (
        isinstance(e, Op)
        and e.spec.name == "broadcast_to"
        and isinstance(e.args[0], Const)
        and e.args[0].is_number
    ):
        return e.args[0].number
    return None


def _base_exponent(e: Expr) -> tuple[Expr, Expr]:
    if isinstance(e, Pow):
        return e.base, e.exponent
    return e, const(1.0)


def neg(e: Expr) -> Expr:
    """``−e``."""
    return mul(const(-1.0), e)


def sub(a: Expr, b: Expr) -> Expr:
    """``a − b``."""
    return add(a, neg(b))


def div(a: Expr, b: Expr) -> Expr:
    """``a / b`` (a product with ``b^(-1)``)."""
    return mul(a, power(b, const(-1.0)))


@dataclass(frozen=True, eq=False, repr=False)
class Pow(Expr):
    """``base ^ exponent`` (elementwise; build with :func:`power`)."""

    base: Expr
    exponent: Expr
    prec = PREC_POW

    @property
    def shape(self) -> Shape | None:
        return _broadcast([self.base.shape, self.exponent.shape])

    def key(self) -> tuple[Any, ...]:
        return ("pow", self.base.key(), self.exponent.key())

    def children(self) -> tuple[Expr, ...]:
        return (self.base, self.exponent)

    def render(self, style: Style) -> str:
        b = wrap(self.base, style, PREC_ATOM)
        e = self.exponent
        if _is_number(e, 0.5):
            r = self.base.render(style)
            return f"\\sqrt{{{r}}}" if style.latex else f"√({r})"
        if style.latex:
            return f"{b}^{{{e.render(style)}}}"
        return f"{b}^{wrap(e, style, PREC_ATOM)}"

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        base = self.base.evaluate(grads)
        exp = self.exponent.evaluate(grads)
        if np.ndim(exp) == 0 and float(exp).is_integer():
            return (
                np.asarray(base ** int(exp))
                if int(exp) >= 0
                else np.asarray(1.0 / base ** -int(exp))
            )
        return np.asarray(np.power(base, exp))


def power(base: Expr, exponent: Expr) -> Expr:
    """Simplified ``base ^ exponent``: ``x^1`` → ``x``, ``x^0`` → ``1``, numbers folded, ``(x^a)^b`` → ``x^(ab)``."""
    if _is_number(exponent, 1.0):
        return base
    if _is_number(exponent, 0.0):
        return const(1.0)
    if _is_number(base) and _is_number(exponent):
        try:
            return const(float(base.number**exponent.number))  # type: ignore[attr-defined]
        except (OverflowError, ZeroDivisionError, ValueError):
            pass
    if isinstance(base, Pow) and _is_number(base.exponent) and _is_number(exponent):
        return power(base.base, mul(base.exponent, exponent))
    return Pow(base, exponent)


@dataclass(frozen=True)
class Function:
    """An elementwise function that prints by name and knows its numeric derivatives.

    Attributes:
        name: the key users pass in ``symbols`` (``"tanh"``).
        text: the plain-text display (``"tanh"``, ``"σ"``).
        latex: the LaTeX display (``"\\tanh"``, ``"\\sigma"``).
        numeric: the function on NumPy arrays (one argument per input).
        derivatives: the numeric derivative of each order, starting with the first: ``derivatives[0]``
            is ``f'`` on NumPy arrays (unary functions).
        params: static parameters shown after the arguments (``leaky_relu(x; α=0.01)``).
    """

    name: str
    text: str
    latex: str
    numeric: Callable[..., Any]
    derivatives: tuple[Callable[..., Any], ...] = ()
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class Call(Expr):
    """``f(args)`` or, with ``order`` k ≥ 1, the k-th derivative ``f'(args)`` of a unary function."""

    fn: Function
    args: tuple[Expr, ...]
    order: int = 0

    @property
    def shape(self) -> Shape | None:
        return _broadcast([a.shape for a in self.args])

    def key(self) -> tuple[Any, ...]:
        return ("call", self.fn.name, self.fn.params, self.order, *(a.key() for a in self.args))

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def render(self, style: Style) -> str:
        name = style.symbols.get(self.fn.name)
        if name is not None and style.latex:
            name = latex_name(name)
        if name is None:
            name = self.fn.latex if style.latex else self.fn.text
        name += "'" * self.order if self.order <= 2 else f"^{{({self.order})}}"
        args = ", ".join(a.render(style) for a in self.args)
        if self.fn.params:
            sep = "; "
            args += sep + ", ".join(
                f"{k}={format_number(v, style.latex) if isinstance(v, (int, float)) else v}"
                for k, v in self.fn.params
            )
        if style.latex:
            return f"{name}\\left({args}\\right)"
        return f"{name}({args})"

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        vals = [a.evaluate(grads) for a in self.args]
        if self.order == 0:
            return np.asarray(self.fn.numeric(*vals))
        if self.order > len(self.fn.derivatives):
            raise KeyError(f"no numeric derivative of order {self.order} for {self.fn.name}")
        return np.asarray(self.fn.derivatives[self.order - 1](*vals))


def call(fn: Function, *args: Expr) -> Expr:
    """``fn(args)``; folds to a number when every argument is a number."""
    if all(_is_number(a) for a in args):
        return const(float(fn.numeric(*[a.number for a in args])))  # type: ignore[attr-defined]
    return Call(fn, tuple(args), 0)


def derivative(fn: Function, arg: Expr, order: int = 1) -> Expr:
    """``fn^{(order)}(arg)`` printed with primes (``tanh'(s)``)."""
    if _is_number(arg) and len(fn.derivatives) >= order:
        return const(float(fn.derivatives[order - 1](arg.number)))  # type: ignore[attr-defined]
    return Call(fn, (arg,), order)


@dataclass(frozen=True)
class OpSpec:
    """How an :class:`Op` prints, evaluates and infers its shape.

    ``text`` and ``latex`` take the rendered arguments and the params; ``arg_prec`` is the binding an
    argument needs to go without parentheses; ``numeric`` takes NumPy arrays and the params; ``shape``
    takes the argument shapes (``None`` when unknown) and the params.
    """

    name: str
    numeric: Callable[[list[np.ndarray], Mapping[str, Any]], Any]
    text: Callable[[list[str], Mapping[str, Any]], str]
    latex: Callable[[list[str], Mapping[str, Any]], str]
    shape: Callable[[list[Shape | None], Mapping[str, Any]], Shape | None]
    prec: int = PREC_ATOM
    arg_prec: int = 0


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, np.ndarray):
        return ("ndarray", v.shape, v.tobytes())
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return v


@dataclass(frozen=True, eq=False, repr=False)
class Op(Expr):
    """Any other operation: ``spec`` says how it prints and evaluates, ``params`` are its static arguments."""

    spec: OpSpec
    args: tuple[Expr, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prec(self) -> int:  # type: ignore[override]
        return self.spec.prec

    @property
    def shape(self) -> Shape | None:
        try:
            return self.spec.shape([a.shape for a in self.args], self.params)
        except (ValueError, TypeError, IndexError, KeyError):
            return None

    def key(self) -> tuple[Any, ...]:
        return ("op", self.spec.name, _freeze(dict(self.params)), *(a.key() for a in self.args))

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def render(self, style: Style) -> str:
        rendered = [wrap(a, style, self.spec.arg_prec) for a in self.args]
        fmt = self.spec.latex if style.latex else self.spec.text
        return fmt(rendered, self.params)

    def evaluate(self, grads: Mapping[str, Any]) -> np.ndarray:
        return np.asarray(self.spec.numeric([a.evaluate(grads) for a in self.args], self.params))


def as_expr(x: Expr | float | int) -> Expr:
    """``x`` itself, or a numeric constant."""
    return x if isinstance(x, Expr) else const(float(x))


def substitute(e: Expr, mapping: Mapping[tuple[Any, ...], Expr]) -> Expr:
    """``e`` with every subexpression whose key is in ``mapping`` replaced (then re-simplified)."""
    k = e.key()
    if k in mapping:
        return mapping[k]
    if isinstance(e, Add):
        return add(*(substitute(t, mapping) for t in e.terms))
    if isinstance(e, Mul):
        return mul(*(substitute(f, mapping) for f in e.factors))
    if isinstance(e, Pow):
        return power(substitute(e.base, mapping), substitute(e.exponent, mapping))
    if isinstance(e, Call):
        args = tuple(substitute(a, mapping) for a in e.args)
        return call(e.fn, *args) if e.order == 0 else derivative(e.fn, args[0], e.order)
    if isinstance(e, Op):
        return Op(e.spec, tuple(substitute(a, mapping) for a in e.args), e.params)
    return e


def rename_functions(e: Expr, symbols: Mapping[str, str]) -> Expr:
    """``e`` with each function named in ``symbols`` displayed by its symbol (``tanh`` → ``g``).

    The symbols are then part of the expression, so ``str(e)`` shows them too.
    """
    if not symbols:
        return e
    memo: dict[int, Expr] = {}

    def go(x: Expr) -> Expr:
        got = memo.get(id(x))
        if got is not None:
            return got
        out: Expr
        if isinstance(x, Add):
            out = Add(tuple(go(t) for t in x.terms))
        elif isinstance(x, Mul):
            out = Mul(tuple(go(f) for f in x.factors))
        elif isinstance(x, Pow):
            out = Pow(go(x.base), go(x.exponent))
        elif isinstance(x, Call):
            fn = x.fn
            sym = symbols.get(fn.name)
            if sym is not None:
                fn = Function(fn.name, sym, latex_name(sym), fn.numeric, fn.derivatives, fn.params)
            out = Call(fn, tuple(go(a) for a in x.args), x.order)
        elif isinstance(x, Op):
            out = Op(x.spec, tuple(go(a) for a in x.args), x.params)
        else:
            out = x
        memo[id(x)] = out
        return out

    return go(e)


def grads_in(e: Expr) -> list[str]:
    """The names of the gradients ``∂L/∂name`` that ``e`` contains, in order of first appearance."""
    seen: list[str] = []
    for s in e.walk():
        if isinstance(s, Grad) and s.name not in seen:
            seen.append(s.name)
    return seen


def split_gradient_factor(e: Expr, name: str) -> Expr | None:
    """``rest`` when ``e`` is the product ``∂L/∂name · rest`` (``rest`` free of that gradient), else ``None``."""
    g = Grad(name)
    if e.key() == g.key():
        return const(1.0)
    if isinstance(e, Mul):
        idx = [i for i, f in enumerate(e.factors) if f.key() == g.key()]
        if len(idx) == 1:
            rest = e.factors[: idx[0]] + e.factors[idx[0] + 1 :]
            r = mul(*rest)
            if name not in grads_in(r):
                return r
    return None
