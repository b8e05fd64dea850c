"""Evaluate bound expressions at a batch of points: in float64 through chainrule's autodiff, or at 50 digits.

Every value carries a leading batch axis of ``B`` points (a scalar is ``(B,)``, a vector ``(B, d)``), so one
pass evaluates all the points of a check. Number literals stay Python floats. ``diff`` and ``grad`` are
computed by the autodiff engine (:func:`chainrule.grad`), so a reference ``grad(L, w)`` is never typed in
by hand; the points are independent, so the gradient of the batch's sum is each point's gradient.

Two backends share the evaluator:

- :class:`TensorBackend` chainrule Tensors in float64 (the fast path). ``log(sigma(z))``,
  ``log(1 - sigma(z))`` and ``log(1 + exp(z))`` are evaluated as the stable ``log_sigmoid`` and
  ``softplus`` (the same functions), so a reference stays finite at ``z = ±800``;
- :class:`MpBackend` NumPy object arrays of ``mpmath.mpf`` at 50 digits, with derivatives by mpmath's
  high-precision differences. It judges a point where float64 overflowed or rounded away a difference.

Literal indices are 1-based (``x[1]`` is the first entry); index variables run over ``1..n``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

import chainrule as cr
from chainrule.problems.expr.nodes import (
    BinOp,
    Call,
    Compare,
    Expr,
    Index,
    Name,
    Num,
    Reduce,
    Transpose,
    Unary,
    substitute,
)
from chainrule.problems.expr.scope import CONSTANTS, Scope

__all__ = ["Backend", "EvaluationError", "MpBackend", "TensorBackend", "evaluate", "index_ranges"]

#: The most terms the sums of one evaluation may add up (nested sums multiply their ranges).
MAX_SUM_TERMS = 20_000


class EvaluationError(ValueError):
    """An expression that cannot be evaluated at a point: mismatched shapes, an index out of range."""


class Backend:
    """The array operations the evaluator needs; values have a leading batch axis."""

    def array(self, values: np.ndarray) -> Any:
        raise NotImplementedError

    def function(self, name: str) -> Callable[[Any], Any]:
        raise NotImplementedError

    def grad(self, fn: Callable[[Any], Any], x: Any) -> Any:
        """The gradient of ``fn(x).sum()`` with respect to ``x`` (same shape as ``x``)."""
        raise NotImplementedError

    def to_numpy(self, value: Any) -> np.ndarray:
        raise NotImplementedError

    # operations that differ only by namespace
    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        return x.reshape(shape)

    def transpose(self, x: Any, axes: tuple[int, ...]) -> Any:
        return x.transpose(axes)

    def sum(self, x: Any, axis: tuple[int, ...]) -> Any:
        return x.sum(axis=axis)

    def matmul(self, a: Any, b: Any) -> Any:
        return a @ b

    def power(self, a: Any, b: Any) -> Any:
        return a**b

    def number(self, e: Num) -> Any:
        """A literal: a NumPy float (1/0 between constants is inf, judged as undefined)."""
        return np.float64(e.value)


class TensorBackend(Backend):
    """float64 chainrule Tensors: autodiff for ``diff``/``grad`` and ``g'``."""

    _FUNCS: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "exp": cr.exp,
        "log": cr.log,
        "sqrt": cr.sqrt,
        "abs": cr.abs,
        "tanh": cr.tanh,
        "sigma": cr.sigmoid,
        "softplus": cr.softplus,
        "sin": cr.sin,
        "cos": cr.cos,
        "relu": cr.relu,
        "log_sigmoid": cr.log_sigmoid,
    }

    def array(self, values: np.ndarray) -> Any:
        return cr.tensor(np.asarray(values, dtype=np.float64))

    def function(self, name: str) -> Callable[[Any], Any]:
        return self._FUNCS[name]

    def grad(self, fn: Callable[[Any], Any], x: Any) -> Any:
        def total(t: Any) -> Any:
            out = fn(t)
            return cr.sum(out) if isinstance(out, cr.Tensor) else cr.sum(t * 0.0) + out

        return cr.grad(total)(x)

    def to_numpy(self, value: Any) -> np.ndarray:
        data = value.data if isinstance(value, cr.Tensor) else value
        return np.asarray(data, dtype=np.float64)


def _mp() -> Any:
    import mpmath

    return mpmath


class MpBackend(Backend):
    """50-digit ``mpmath`` numbers in object arrays; derivatives by high-precision differences."""

    def number(self, e: Num) -> Any:
        """A literal at full precision from its spelling (``1e20 + 1`` stays exact)."""
        return self.ctx.mpf(e.text) if e.text else self.ctx.mpf(e.value)

    def __init__(self, digits: int = 50) -> None:
        self.ctx = _mp().mp.clone()
        self.ctx.dps = digits
        ctx = self.ctx

        def log(z: Any) -> Any:
            if z > 0:
                return ctx.log(z)
            return ctx.mpf("-inf") if z == 0 else ctx.nan

        def sqrt(z: Any) -> Any:
            return ctx.sqrt(z) if z >= 0 else ctx.nan

        # Past these magnitudes a value is an infinity for judging: computing exp(exp(800)) or
        # 800^(800^800) exactly would take the process's memory and time.
        limit = ctx.mpf(10) ** 6

        def exp(z: Any) -> Any:
            if z > limit:
                return ctx.inf
            return ctx.exp(z) if z > -limit else ctx.mpf(0)

        def sigma(z: Any) -> Any:
            return 1 / (1 + exp(-z))

        def pow_(a: Any, b: Any) -> Any:
            if a < 0 and b != int(b):
                return ctx.nan  # a real power of a negative number is undefined
            if a == 0 or b == 0 or a == 1:
                return a**b
            size = abs(b) * abs(ctx.log(abs(a)))
            if size > limit:
                if (abs(a) > 1) != (b > 0):
                    return ctx.mpf(0)
                if a > 0:
                    return ctx.inf
                if b != int(b):
                    return ctx.nan
                return ctx.inf if int(b) % 2 == 0 else -ctx.inf
            out = a**b
            return out if not isinstance(out, type(ctx.mpc(0))) else ctx.nan

        self._pow = np.frompyfunc(pow_, 2, 1)

        def softplus(z: Any) -> Any:
            return ctx.log1p(exp(z)) if z < 0 else z + ctx.log1p(exp(-z))

        scalar: dict[str, Callable[[Any], Any]] = {
            "exp": exp,
            "log": log,
            "sqrt": sqrt,
            "abs": abs,
            "tanh": ctx.tanh,
            "sigma": sigma,
            "softplus": softplus,
            "sin": ctx.sin,
            "cos": ctx.cos,
            "relu": lambda z: z if z > 0 else ctx.mpf(0),
            "log_sigmoid": lambda z: -softplus(-z),
        }
        self._funcs = {k: np.frompyfunc(f, 1, 1) for k, f in scalar.items()}

    def array(self, values: np.ndarray) -> Any:
        flat = [self.ctx.mpf(float(v)) for v in np.asarray(values, dtype=np.float64).ravel()]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(np.shape(values))

    def function(self, name: str) -> Callable[[Any], Any]:
        f = self._funcs[name]
        return lambda x: f(x) if isinstance(x, np.ndarray) else f(np.asarray(x, dtype=object))

    def grad(self, fn: Callable[[Any], Any], x: Any) -> Any:
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(*x.shape):

            def f(t: Any, idx: tuple[int, ...] = idx) -> Any:
                y = x.copy()
                y[idx] = t
                value = fn(y)
                return np.sum(value) if isinstance(value, np.ndarray) else value

            out[idx] = self.ctx.diff(f, x[idx])
        return out

    def power(self, a: Any, b: Any) -> Any:
        return self._pow(a, b)

    def to_numpy(self, value: Any) -> np.ndarray:
        """Floats; a magnitude past the float range becomes ±inf (only its sign is kept)."""
        arr = np.asarray(value, dtype=object)
        out = np.empty(arr.shape, dtype=np.float64)
        for idx in np.ndindex(*arr.shape):
            v = arr[idx]
            out[idx] = float(v) if abs(v) < 1e308 or v != v else float("inf") * (1 if v > 0 else -1)
        return out


def _walk(e: Expr) -> list[Expr]:
    out, stack = [], [e]
    while stack:
        x = stack.pop()
        out.append(x)
        stack.extend(x.children())
    return out


def _rank(v: Any) -> int:
    return 0 if _is_constant(v) else len(v.shape) - 1


def _is_constant(v: Any) -> bool:
    """A value without the batch axis: a literal (a float, a NumPy float, an mpf) or a constant."""
    return not hasattr(v, "shape") or len(v.shape) == 0


def index_ranges(e: Expr, scope: Scope, dims: Mapping[str, int]) -> dict[str, int]:
    """The range of every index variable in ``e``: declared (``index[n]``) or read off the axis it indexes.

    Raises:
        EvaluationError: an index used on axes of different sizes.
    """
    out: dict[str, int] = {}
    for name, vt in scope.variables.items():
        if vt.base == "index":
            out[name] = _dim(vt.dims[0], dims)
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Index) and isinstance(x.base, Name) and x.base.name in scope.variables:
            vt = scope.variables[x.base.name]
            for axis, item in enumerate(x.items):
                if isinstance(item, Name) and axis < len(vt.dims):
                    size = _dim(vt.dims[axis], dims)
                    if out.setdefault(item.name, size) != size:
                        raise EvaluationError(
                            f"index {item.name} runs over {out[item.name]} values but axis {axis + 1} of "
                            f"{x.base.name} has {size}"
                        )
        stack.extend(x.children())
    return out


def _dim(d: str | int, dims: Mapping[str, int]) -> int:
    return d if isinstance(d, int) else dims[d]


class _Evaluator:
    def __init__(
        self,
        backend: Backend,
        scope: Scope,
        dims: Mapping[str, int],
        ranges: Mapping[str, int],
        batch: int,
    ) -> None:
        self.b = backend
        self.scope = scope
        self.dims = dims
        self.ranges = ranges
        self.batch = batch
        self.budget = MAX_SUM_TERMS

    def run(self, e: Expr, env: dict[str, Any]) -> Any:
        if isinstance(e, Num):
            return self.b.number(e)
        if isinstance(e, Name):
            if e.name in env:
                return env[e.name]
            if e.name in CONSTANTS:
                return CONSTANTS[e.name]
            raise EvaluationError(f"{e.name} has no value here")
        if isinstance(e, Unary):
            return -self.run(e.operand, env)
        if isinstance(e, BinOp):
            return self.binop(e, env)
        if isinstance(e, Call):
            return self.call(e, env)
        if isinstance(e, Index):
            return self.index(e, env)
        if isinstance(e, Transpose):
            v = self.run(e.operand, env)
            if _rank(v) < 2:
                return v
            axes = (0, *range(1, _rank(v) - 1), _rank(v), _rank(v) - 1)
            return self.b.transpose(v, tuple(axes))
        if isinstance(e, Reduce):
            return self.reduce(e, env)
        if isinstance(e, Compare):
            return self.compare(e, env)
        raise EvaluationError(f"cannot evaluate {type(e).__name__}")

    # -- arithmetic -----------------------------------------------------------------------------------
    def align(self, a: Any, b: Any) -> tuple[Any, Any]:
        """Give both operands the same number of axes, padding the lower rank after the batch axis."""
        ra, rb = _rank(a), _rank(b)
        if _is_constant(a) or _is_constant(b) or ra == rb:
            return a, b
        if ra < rb:
            a = self.b.reshape(a, (a.shape[0], *(1,) * (rb - ra), *a.shape[1:]))
        else:
            b = self.b.reshape(b, (b.shape[0], *(1,) * (ra - rb), *b.shape[1:]))
        return a, b

    def binop(self, e: BinOp, env: dict[str, Any]) -> Any:
        left, right = self.run(e.left, env), self.run(e.right, env)
        if e.op == "@":
            return self.matmul(left, right)
        a, b = self.align(left, right)
        try:
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "*":
                return a * b
            if e.op == "/":
                return a / b
            if e.op == "^":
                return self.b.power(a, b)
        except ValueError as exc:
            raise EvaluationError(f"shapes do not match in {e.op!r}: {exc}") from None
        raise EvaluationError(f"unknown operator {e.op!r}")

    def matmul(self, a: Any, b: Any) -> Any:
        ra, rb = _rank(a), _rank(b)
        if ra == 0 or rb == 0:
            raise EvaluationError("@ needs vectors or matrices on both sides; use * for scalars")
        if ra > 2 or rb > 2:
            raise EvaluationError("@ takes vectors and matrices")
        if a.shape[-1] != b.shape[1]:
            raise EvaluationError(
                f"@ of shapes {tuple(a.shape[1:])} and {tuple(b.shape[1:])}: inner sizes differ"
            )
        x = self.b.reshape(a, (a.shape[0], 1, a.shape[1])) if ra == 1 else a
        y = self.b.reshape(b, (b.shape[0], b.shape[1], 1)) if rb == 1 else b
        out = self.b.matmul(x, y)
        if ra == 1:
            out = self.b.reshape(out, (out.shape[0], *out.shape[2:]))
        if rb == 1:
            out = self.b.reshape(out, tuple(out.shape[:-1]))
        return out

    # -- functions ------------------------------------------------------------------------------------
    def inline(self, e: Expr) -> Expr:
        """A call of a user function whose body has no sum, with its arguments substituted (so the stable
        forms below see through ``h(x) = sigma(dot(w, x))``); anything else unchanged."""
        if isinstance(e, Call) and not e.order and e.func in self.scope.functions:
            fn = self.scope.functions[e.func]
            if not any(isinstance(x, Reduce) for x in _walk(fn.body)):
                return substitute(fn.body, dict(zip(fn.params, e.args, strict=True)))
        return e

    def stable(self, e: Call) -> tuple[str, Expr, bool] | None:
        """log(σ(z)) → log_sigmoid(z); log(1 − σ(z)) → log_sigmoid(−z); log(1 + exp(z)) → softplus(z)."""
        if e.func != "log" or e.order:
            return None
        arg = self.inline(e.args[0])
        if isinstance(arg, Call) and arg.func == "sigma" and not arg.order:
            return "log_sigmoid", arg.args[0], False
        if isinstance(arg, BinOp) and isinstance(arg.left, Num) and arg.left.value == 1.0:
            r = self.inline(arg.right)
            if isinstance(r, Call) and not r.order and arg.op == "-" and r.func == "sigma":
                return "log_sigmoid", r.args[0], True
            if isinstance(r, Call) and not r.order and arg.op == "+" and r.func == "exp":
                return "softplus", r.args[0], False
        return None

    def call(self, e: Call, env: dict[str, Any]) -> Any:
        rewrite = self.stable(e)
        if rewrite is not None:
            name, inner, negate = rewrite
            z = self.run(inner, env)
            return self.apply(name, -z if negate else z)
        args = [self.run(a, env) for a in e.args]
        if e.order:
            return self.derivative(e.func, args[0], e.order, env)
        return self.invoke(e.func, args, env)

    def apply(self, name: str, z: Any) -> Any:
        if _is_constant(z):
            z = self.b.array(np.full(self.batch, float(z)))
        return self.b.function(name)(z)

    def invoke(self, name: str, args: list[Any], env: dict[str, Any]) -> Any:
        if name in self.scope.functions:
            fn = self.scope.functions[name]
            inner = dict(env)
            inner.update(zip(fn.params, args, strict=True))
            return self.run(fn.body, inner)
        if name == "dot":
            a, b = self.align(*args)
            prod = a * b
            if _rank(prod) == 0:
                return prod
            return self.b.sum(prod, (len(prod.shape) - 1,))
        if name == "norm":
            x = args[0]
            if _rank(x) == 0:
                return self.apply("abs", x)
            return self.apply("sqrt", self.b.sum(x * x, tuple(range(1, len(x.shape)))))
        return self.apply(name, args[0])

    def derivative(self, name: str, z: Any, order: int, env: dict[str, Any]) -> Any:
        if _is_constant(z):
            z = self.b.array(np.full(self.batch, float(z)))

        def f(t: Any, k: int = order) -> Any:
            if k == 0:
                return self.invoke(name, [t], env)
            return self.b.grad(lambda u: f(u, k - 1), t)

        return f(z)

    # -- indexing and reductions ----------------------------------------------------------------------
    def index(self, e: Index, env: dict[str, Any]) -> Any:
        base = self.run(e.base, env)
        r = _rank(base)
        if len(e.items) > r:
            raise EvaluationError(f"a value with {r} axes indexed by {len(e.items)}")
        items: list[Any] = []
        vectorized = False
        for axis, item in enumerate(e.items):
            size = base.shape[axis + 1]
            if isinstance(item, Num):
                k = int(item.value)
                if k != item.value or not 1 <= k <= size:
                    raise EvaluationError(f"index {item.text} is outside 1..{size}")
                items.append(k - 1)
                continue
            v = self.run(item, env)
            if isinstance(v, (int, np.integer)):
                if not 0 <= v < size:
                    raise EvaluationError(
                        f"an index runs past the {size} entries of axis {axis + 1}"
                    )
                items.append(int(v))
            elif isinstance(v, np.ndarray) and v.dtype.kind == "i":
                if v.min() < 0 or v.max() >= size:
                    raise EvaluationError(
                        f"an index runs past the {size} entries of axis {axis + 1}"
                    )
                items.append(v)
                vectorized = True
            else:
                raise EvaluationError("an index must be an integer or an index variable")
        lead: Any = np.arange(self.batch) if vectorized else slice(None)
        return base[(lead, *items)]

    def reduce(self, e: Reduce, env: dict[str, Any]) -> Any:
        if e.op == "sum":
            sizes = []
            for v in e.over:
                if v not in self.ranges:
                    raise EvaluationError(
                        f"cannot tell the range of the index {v}: use it to index a tensor"
                    )
                sizes.append(self.ranges[v])
            # One budget for the whole evaluation: nested sums multiply their terms.
            self.budget -= int(np.prod(sizes))
            if self.budget < 0:
                raise EvaluationError(
                    f"more than {MAX_SUM_TERMS} terms in the sums of one evaluation"
                )
            total: Any = 0.0
            for combo in np.ndindex(*sizes):
                inner = dict(env)
                inner.update({v: int(k) for v, k in zip(e.over, combo, strict=True)})
                term = self.run(e.body, inner)
                total, term = self.align(total, term)
                total = total + term
            return total
        (var,) = e.over
        x = env[var]

        def f(t: Any) -> Any:
            inner = dict(env)
            inner[var] = t
            return self.run(e.body, inner)

        if e.op == "diff":
            probe = f(x)
            if _rank(probe) != 0 or _rank(x) != 0:
                raise EvaluationError(
                    f"diff(…, {var}) needs a scalar expression and a scalar {var}; use grad"
                )
        else:
            probe = f(x)
            if _rank(probe) != 0:
                raise EvaluationError(f"grad(…, {var}) needs a scalar expression")
        return self.b.grad(f, x)

    def compare(self, e: Compare, env: dict[str, Any]) -> Any:
        if e.op == "and":
            return bool(self.compare(e.left, env)) and bool(self.compare(e.right, env))  # type: ignore[arg-type]
        a = self.b.to_numpy(self.run(e.left, env))
        c = self.b.to_numpy(self.run(e.right, env))
        a, c = np.broadcast_arrays(a, c)
        ops = {
            "==": lambda: bool(np.all(a == c)),
            "!=": lambda: bool(np.any(a != c)),
            "<": lambda: bool(np.all(a < c)),
            ">": lambda: bool(np.all(a > c)),
            "<=": lambda: bool(np.all(a <= c)),
            ">=": lambda: bool(np.all(a >= c)),
        }
        return ops[e.op]()


def evaluate(
    e: Expr,
    scope: Scope,
    values: Mapping[str, Any],
    dims: Mapping[str, int],
    *,
    backend: Backend | None = None,
    batch: int = 1,
) -> Any:
    """Evaluate the bound expression ``e`` at ``batch`` points.

    Args:
        e: a bound expression (:meth:`Scope.bind`).
        scope: its scope (user functions, declared types).
        values: each variable's values with a leading batch axis (NumPy float arrays; index variables as
            0-based int arrays of shape ``(batch,)``).
        dims: each dimension symbol's size.
        backend: :class:`TensorBackend` (default) or :class:`MpBackend`.

    Returns:
        The backend's value (a Tensor or an object array) of shape ``(batch, *shape)``, or a Python float
        for a constant expression; a bool for a condition.

    Raises:
        EvaluationError: shapes that do not match, an index out of range, a sum whose range is unknown.
    """
    b = backend or TensorBackend()
    ranges = index_ranges(e, scope, dims)
    env: dict[str, Any] = {}
    for name, v in values.items():
        arr = np.asarray(v)
        env[name] = arr if arr.dtype.kind == "i" else b.array(arr)
    ev = _Evaluator(b, scope, dims, ranges, batch)
    try:
        return ev.run(e, env)
    except (IndexError, KeyError) as exc:
        raise EvaluationError(str(exc).strip("'\"")) from None
    except ValueError as exc:
        if isinstance(exc, EvaluationError):
            raise
        raise EvaluationError(str(exc).splitlines()[0]) from None
