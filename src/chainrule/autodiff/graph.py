"""The recorded graph: primitives, the primitive table, grad mode and graph walks.

This module is the stable introspection API that explanations and drawings build on.

Graph structure (every :class:`~chainrule.autodiff.tensor.Tensor` carries it):

- ``t.op``: the :class:`Primitive` that made ``t``; ``None`` for leaves (tensors the user made, and
  results computed while nothing required grad or under :func:`no_grad`).
- ``t.parents``: ``tuple[Tensor, ...]``, the Tensor operands of ``t.op`` in call order (a tensor used
  twice, as in ``x * x``, appears twice). Constant operands (Python numbers, plain arrays) are not
  parents; ``t.operands`` lists every operand in order, Tensors and constants alike.
- ``t.params``: ``dict`` of the static (non-operand) arguments of ``t.op``: ``axis``, ``keepdims``,
  ``shape``, ``axes``, ``index``, ``subscripts``, ``negative_slope``, ... Read-only by convention.
- ``t.name``: ``str | None``, settable; derivations and drawings use it.

A graph node is recorded only when grad mode is on and some Tensor operand requires grad. After
``backward`` (without ``retain_graph``) ``op``, ``parents``, ``params`` and ``name`` stay, so a
derivation can still be printed; only the values saved for the VJP rules are released (constant array
operands are replaced by ``None`` in ``operands``; Python numbers are kept).

A :class:`Primitive` has a ``name``, a ``forward`` function on plain arrays, one VJP rule per operand
(``vjps``; ``None`` for an operand that is not differentiable) or one ``variadic_vjp`` for primitives
with any number of operands, and a free ``symbolic`` slot that this package stores without interpreting
(its format belongs to :mod:`chainrule.autodiff.explain`; every built-in primitive's holds its rule
from :mod:`chainrule.autodiff.symbolic_rules`, which is imported when any primitive's ``symbolic`` is
first read, so ``import chainrule.autodiff`` does not pay for it).

A VJP rule for operand ``k`` is called as ``rule(g, ans, *operands, **params)`` and returns the
vector-Jacobian product for operand ``k``: ``g`` is the gradient of the output, ``ans`` the output.
With ``create_graph=False`` all of them are plain arrays (NumPy speed); with ``create_graph=True``
they are Tensors and the rule records a graph, so rules must be written with chainrule primitives
(or array operators, which Tensors overload). A rule may return a gradient of the *output's* shape
for an operand that was broadcast: the reduction back to the operand's shape happens in one place,
the backward pass (:func:`chainrule.autodiff.backward.unbroadcast`). A variadic rule is called as
``rule(k, g, ans, *operands, **params)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = [
    "PRIMITIVES",
    "Node",
    "Primitive",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "register_primitive",
    "set_grad_enabled",
    "topological_order",
    "unregister_primitive",
]

VJPRule = Callable[..., Any]


class Node(Protocol):
    """What a graph walk needs of a node: its ordered Tensor parents."""

    @property
    def parents(self) -> tuple[Any, ...]: ...


class Primitive:
    """One differentiable operation: a named forward function on arrays and its VJP rules.

    Calling a primitive applies it to Tensors (recording a node when grad is needed) or, when no
    operand is a Tensor, runs ``forward`` on the plain arrays and returns a plain array.

    Attributes:
        name: unique name in :data:`PRIMITIVES`, e.g. ``"mul"``, ``"tanh"``.
        forward: ``forward(*operands, **params) -> array`` on plain arrays / Python numbers.
        vjps: one rule per operand position, ``rule(g, ans, *operands, **params)``; ``None`` marks an
            operand with no gradient (a condition, an index). Empty for variadic primitives.
        variadic_vjp: ``rule(k, g, ans, *operands, **params)`` for primitives with any number of
            operands (concatenate, stack, einsum), else ``None``.
        symbolic: free slot for :mod:`chainrule.autodiff.explain`; stored, never interpreted here
            (a built-in primitive's holds its rule from :mod:`chainrule.autodiff.symbolic_rules`,
            put there when the first ``symbolic`` of any primitive is read).
        doc: one-line description.
    """

    __slots__ = ("_symbolic", "doc", "forward", "name", "variadic_vjp", "vjps")

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        vjps: Sequence[VJPRule | None] = (),
        *,
        variadic_vjp: VJPRule | None = None,
        symbolic: Any = None,
        doc: str = "",
    ) -> None:
        self.name = name
        self.forward = forward
        self.vjps: tuple[VJPRule | None, ...] = tuple(vjps)
        self.variadic_vjp = variadic_vjp
        self.symbolic = symbolic
        self.doc = doc

    @property
    def symbolic(self) -> Any:
        """The symbolic form for derivations (``None`` for a primitive registered without one)."""
        if not _BUILTIN_RULES_LOADED:
            _load_builtin_rules()
        return self._symbolic

    @symbolic.setter
    def symbolic(self, rule: Any) -> None:
        self._symbolic = rule

    def vjp_rule(self, k: int) -> VJPRule | None:
        """The rule for operand ``k`` as a ``rule(g, ans, *operands, **params)`` callable, or None."""
        if self.variadic_vjp is not None:
            variadic = self.variadic_vjp

            def rule(g: Any, ans: Any, *operands: Any, **params: Any) -> Any:
                return variadic(k, g, ans, *operands, **params)

            rule.__name__ = f"{getattr(variadic, '__name__', self.name)}[{k}]"
            return rule
        if k < len(self.vjps):
            return self.vjps[k]
        return None

    def __call__(self, *operands: Any, **params: Any) -> Any:
        from chainrule.autodiff.tensor import apply

        return apply(self, operands, params)

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"


#: The one table of primitives: name -> Primitive (built-in and user-registered).
PRIMITIVES: dict[str, Primitive] = {}

#: A list so that it is set in place: True once the built-in symbolic rules are attached (or loading).
_BUILTIN_RULES_LOADED: list[bool] = []


def _load_builtin_rules() -> None:
    """Import :mod:`chainrule.autodiff.symbolic_rules`, which puts each built-in primitive's rule in
    its ``symbolic`` slot (explanations are rarely needed: their modules load on first use)."""
    _BUILTIN_RULES_LOADED.append(True)
    from chainrule.autodiff import symbolic_rules  # noqa: F401  (a higher module: loaded lazily)


def register_primitive(
    name: str,
    forward: Callable[..., Any],
    *vjps: VJPRule | None,
    variadic_vjp: VJPRule | None = None,
    symbolic: Any = None,
    doc: str = "",
    replace: bool = False,
) -> Primitive:
    """Register a differentiable primitive and return it (a callable that works on Tensors).

    Args:
        name: unique name, used in error messages, gradient-check reports and derivations.
        forward: ``forward(*operands, **params)`` computing the result on plain arrays.
        *vjps: one VJP rule per operand, ``rule(g, ans, *operands, **params)`` returning the
            gradient for that operand (``None`` for a non-differentiable operand). Write rules with
            chainrule functions or array operators so that higher-order gradients work.
        variadic_vjp: instead of ``vjps``, ``rule(k, g, ans, *operands, **params)`` for any operand k.
        symbolic: the symbolic form for derivations (format: :mod:`chainrule.autodiff.explain`).
        doc: one-line description.
        replace: allow re-registering an existing name.

    Raises:
        ValueError: ``name`` is taken (and ``replace`` is false), or both/neither of ``vjps`` and
            ``variadic_vjp`` are given.

    Example::

        def cube(x): return x ** 3
        def cube_vjp(g, ans, x): return g * 3 * x ** 2
        cube_p = register_primitive("cube", cube, cube_vjp)
        y = cube_p(cr.tensor(2.0, requires_grad=True))
    """
    if not isinstance(name, str) or not name:
        raise ValueError("primitive name must be a non-empty string")
    if name in PRIMITIVES and not replace:
        raise ValueError(f"primitive {name!r} is already registered (pass replace=True)")
    if bool(vjps) == (variadic_vjp is not None):
        raise ValueError(
            f"primitive {name!r}: give either one VJP rule per operand or variadic_vjp, not both"
        )
    for k, rule in enumerate(vjps):
        if rule is not None and not callable(rule):
            raise ValueError(f"primitive {name!r}: VJP rule for operand {k} is not callable")
    prim = Primitive(name, forward, vjps, variadic_vjp=variadic_vjp, symbolic=symbolic, doc=doc)
    PRIMITIVES[name] = prim
    return prim


def unregister_primitive(name: str) -> Primitive:
    """Remove a primitive from :data:`PRIMITIVES` and return it (tensors that used it keep it).

    Raises:
        KeyError: no primitive of that name.
    """
    try:
        return PRIMITIVES.pop(name)
    except KeyError:
        raise KeyError(f"no primitive named {name!r} is registered") from None


# --- grad mode -------------------------------------------------------------------------------------

# A one-element list so that the hot path reads it with one index (no attribute lookups, no locks).
GRAD_ENABLED: list[bool] = [True]


def is_grad_enabled() -> bool:
    """True when operations on Tensors that require grad record graph nodes."""
    return GRAD_ENABLED[0]


def set_grad_enabled(mode: bool) -> None:
    """Turn graph recording on or off globally (prefer the :func:`no_grad` context manager)."""
    GRAD_ENABLED[0] = bool(mode)


@contextmanager
def no_grad() -> Iterator[None]:
    """Context manager: inside it no graph is recorded (results are leaves with ``op is None``)."""
    previous = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = False
    try:
        yield
    finally:
        GRAD_ENABLED[0] = previous


@contextmanager
def enable_grad() -> Iterator[None]:
    """Context manager: record graphs inside it even within :func:`no_grad`."""
    previous = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = True
    try:
        yield
    finally:
        GRAD_ENABLED[0] = previous


# --- walks -----------------------------------------------------------------------------------------


def topological_order(root: Node, stop: Callable[[Any], bool] | None = None) -> list[Any]:
    """Every node reachable from ``root`` through ``.parents``, each parent before its consumers.

    The walk is iterative (no recursion), so graphs 100,000 deep work; the order is deterministic
    (parents are visited in operand order) and ``root`` is last. Node identity is object identity.

    Args:
        root: a Tensor (or anything with a ``parents`` tuple).
        stop: optional predicate; the parents of a node for which it is true are not visited.
    """
    order: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if stop is not None and stop(node):
            continue
        parents = node.parents
        for i in range(len(parents) - 1, -1, -1):
            if id(parents[i]) not in visited:
                stack.append((parents[i], False))
    return order
