"""Gradient checks: central differences, the random-direction adjoint test, and per-node checks.

End to end, :func:`check_grad` compares reverse-mode gradients of ``f`` with central differences:

- the adjoint test: for random ``u`` (output space) and ``v`` (input space),
  ``⟨u, (f(x + εv) − f(x − εv)) / 2ε⟩ ≈ ⟨VJP(u), v⟩`` (two evaluations per direction, any size);
- for small arguments (at most ``full_max`` elements) also every coordinate of the gradient of
  ``⟨u, f⟩``, so a failure names the coordinate.

A pair passes when ``|numeric − analytic| <= atol + rtol · max(|numeric|, |analytic|)``. Defaults:
float64 ``eps=1e-6, rtol=1e-5, atol=1e-7``; float32 ``eps=1e-2, rtol=2e-2, atol=1e-3`` (central
differences lose half the digits). ``order=2`` also checks the gradient of the gradient (Hessian-vector
products through ``create_graph``), i.e. the VJP rules of the VJP rules.

Per node (``mode="nodes"``, or automatically after an end-to-end failure in ``mode="auto"``), the
graph of ``f`` is recorded and each node's rule is checked at its recorded operands with the same
adjoint test on the primitive's forward function alone. A failure names the primitive, the operand
and the rule function, user-registered primitives included. Points within ``eps`` of a kink (relu at
0, ties in max) can fail any finite-difference test; check away from kinks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.autodiff.backward import _operand_position, vjp_of_node
from chainrule.autodiff.functional import vjp
from chainrule.autodiff.graph import no_grad, topological_order
from chainrule.autodiff.tensor import Tensor, _leaf, as_tensor

__all__ = ["GradCheckError", "GradCheckReport", "check_grad", "check_nodes"]

_DEFAULTS = {
    "float64": (1e-6, 1e-5, 1e-7),
    "float32": (1e-2, 2e-2, 1e-3),
}


class GradCheckError(AssertionError):
    """A gradient check failed; the message names what and where (primitive, operand, coordinate)."""


@dataclass
class Comparison:
    """One numeric-vs-analytic comparison."""

    what: str
    numeric: float
    analytic: float
    ok: bool


@dataclass
class GradCheckReport:
    """The outcome of :func:`check_grad`.

    Attributes:
        ok: every comparison passed.
        comparisons: each check made, with both numbers.
        failures: one line per failed check (primitive and operand for per-node failures).
        max_error: the largest ``|numeric − analytic|``.
        culprits: the rules found wrong by the per-node check, as
            ``"primitive 'name', operand k (rule fn)"``.
    """

    ok: bool = True
    comparisons: list[Comparison] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    max_error: float = 0.0
    culprits: list[str] = field(default_factory=list)

    def add(self, what: str, numeric: float, analytic: float, rtol: float, atol: float) -> bool:
        err = abs(numeric - analytic)
        ok = bool(err <= atol + rtol * max(abs(numeric), abs(analytic))) and np.isfinite(err)
        self.comparisons.append(Comparison(what, numeric, analytic, ok))
        self.max_error = max(self.max_error, err if np.isfinite(err) else np.inf)
        if not ok:
            self.ok = False
            self.failures.append(
                f"{what}: analytic {analytic:.10g} vs central difference {numeric:.10g} "
                f"(error {err:.3g} > {atol:.1g} + {rtol:.1g}·|value|)"
            )
        return ok

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = "gradient check passed" if self.ok else "gradient check FAILED"
        lines = [f"{head}: {len(self.comparisons)} comparisons, max error {self.max_error:.3g}"]
        if self.culprits:
            lines.append("wrong VJP rule: " + "; ".join(self.culprits))
        lines += ["  " + f for f in self.failures]
        return "\n".join(lines)


def _tolerances(
    dtype: Any, eps: float | None, rtol: float | None, atol: float | None
) -> tuple[float, float, float]:
    d = _DEFAULTS["float32"] if str(dtype) in ("float32", "float16") else _DEFAULTS["float64"]
    return (
        d[0] if eps is None else eps,
        d[1] if rtol is None else rtol,
        d[2] if atol is None else atol,
    )


def _vdot(a: Any, b: Any) -> float:
    return float(
        np.sum(
            np.asarray(backend.to_numpy(a), dtype=np.float64)
            * np.asarray(backend.to_numpy(b), dtype=np.float64)
        )
    )


def _is_float(x: Any) -> bool:
    x = x.data if isinstance(x, Tensor) else x
    if isinstance(x, float):
        return True
    return getattr(getattr(x, "dtype", None), "kind", "") == "f"


def _as_array(x: Any) -> Any:
    x = x.data if isinstance(x, Tensor) else x
    if isinstance(x, (int, float)):
        return np.asarray(float(x))
    return np.array(x) if isinstance(x, np.ndarray) else x


def _evaluate(f: Callable[..., Any], args: Sequence[Any]) -> np.ndarray:
    with no_grad():
        y = f(*[_leaf(a) if _is_float(a) else a for a in args])
    y = y.data if isinstance(y, Tensor) else y
    return np.asarray(backend.to_numpy(y))


def check_grad(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    mode: str = "auto",
    order: int = 1,
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    directions: int = 2,
    full_max: int = 16,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> GradCheckReport:
    """Check the reverse-mode gradients of ``f`` at ``args`` against central differences.

    Args:
        f: a function of the arguments returning a Tensor (any shape).
        *args: numbers, arrays or Tensors; the floating ones are differentiated unless ``argnums``.
        argnums: which arguments to check (default: every floating one).
        mode: ``"auto"`` (end to end, then per node to find the culprit on failure), ``"nodes"``
            (end to end and every node), ``"end_to_end"``.
        order: 1, or 2 to also check the gradient of the gradient (higher-order rules).
        eps, rtol, atol: step and tolerances; defaults depend on the dtype (module docstring).
        directions: random directions per argument for the adjoint test.
        full_max: arguments with at most this many elements are also checked coordinate by coordinate.
        seed: seed of the random directions.
        raise_on_failure: raise :class:`GradCheckError` on failure (else just return the report).

    Returns:
        The :class:`GradCheckReport`.

    Raises:
        GradCheckError: a check failed; the message lists each failure, naming the primitive and
            operand whose rule is wrong when the per-node check finds it.
        ValueError: ``mode`` or ``order`` is unknown; no floating argument to check.
    """
    if mode not in ("auto", "nodes", "end_to_end"):
        raise ValueError(f"mode must be 'auto', 'nodes' or 'end_to_end', not {mode!r}")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, not {order!r}")
    values = [_as_array(a) if _is_float(a) else a for a in args]
    if argnums is None:
        nums = tuple(i for i, a in enumerate(values) if _is_float(a))
    else:
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError("check_grad: no floating argument to differentiate")
    dtype = np.result_type(*[values[i] for i in nums])
    eps_, rtol_, atol_ = _tolerances(dtype, eps, rtol, atol)
    rng = np.random.default_rng(seed)
    report = GradCheckReport()
    _end_to_end(f, values, nums, report, rng, eps_, rtol_, atol_, directions, full_max, "")
    if order == 2:
        h = _gradient_direction(f, values, nums, rng)
        _end_to_end(
            h, values, nums, report, rng, eps_, rtol_, atol_, directions, full_max, "order 2, "
        )
    if mode == "nodes" or (mode == "auto" and not report.ok):
        check_nodes(
            f, *values, argnums=nums, report=report, eps=eps_, rtol=rtol_, atol=atol_, seed=seed
        )
        if order == 2:
            h = _gradient_direction(f, values, nums, np.random.default_rng(seed + 1))
            check_nodes(
                h, *values, argnums=nums, report=report, eps=eps_, rtol=rtol_, atol=atol_, seed=seed
            )
    if raise_on_failure and not report.ok:
        raise GradCheckError(str(report))
    return report


def _partial(f: Callable[..., Any], args: list[Any], nums: tuple[int, ...]) -> Callable[..., Any]:
    """``f`` as a function of the arguments at positions ``nums`` only, the others fixed to ``args``."""

    def f_sub(*xs: Any) -> Any:
        call = list(args)
        for i, x in zip(nums, xs, strict=True):
            call[i] = x
        return f(*call)

    return f_sub


def _end_to_end(
    f: Callable[..., Any],
    values: list[Any],
    nums: tuple[int, ...],
    report: GradCheckReport,
    rng: np.random.Generator,
    eps: float,
    rtol: float,
    atol: float,
    directions: int,
    full_max: int,
    prefix: str,
) -> None:
    sub = [values[i] for i in nums]
    f_sub = _partial(f, values, nums)
    y, vjp_fn = vjp(f_sub, *sub)
    y = np.asarray(backend.to_numpy(y.data if isinstance(y, Tensor) else y))
    u = rng.standard_normal(y.shape).astype(y.dtype) if y.ndim else np.asarray(1.0, dtype=y.dtype)
    grads = vjp_fn(u)

    def probe(k: int, v: np.ndarray) -> float:
        plus = list(sub)
        minus = list(sub)
        plus[k] = sub[k] + eps * v
        minus[k] = sub[k] - eps * v
        return (_vdot(u, _evaluate(f_sub, plus)) - _vdot(u, _evaluate(f_sub, minus))) / (2 * eps)

    for k, n in enumerate(nums):
        x = np.asarray(backend.to_numpy(sub[k]))
        gk = np.asarray(backend.to_numpy(grads[k]))
        if gk.shape != x.shape:
            report.ok = False
            report.failures.append(
                f"{prefix}argument {n}: gradient has shape {gk.shape} but the argument has shape {x.shape}"
            )
            continue
        for d in range(directions):
            v = rng.standard_normal(x.shape).astype(x.dtype)
            report.add(
                f"{prefix}argument {n}, random direction {d}", probe(k, v), _vdot(gk, v), rtol, atol
            )
        if x.size <= full_max:
            for idx in np.ndindex(*x.shape):
                e = np.zeros(x.shape, dtype=x.dtype)
                e[idx] = 1.0
                report.add(
                    f"{prefix}argument {n}, coordinate {idx}",
                    probe(k, e),
                    float(gk[idx]),
                    rtol,
                    atol,
                )


def _gradient_direction(
    f: Callable[..., Any], values: list[Any], nums: tuple[int, ...], rng: np.random.Generator
) -> Callable[..., Any]:
    """``h(args) = ⟨u, ∂f/∂args · r⟩`` built with nested VJPs, so its gradient is a Hessian product."""
    with no_grad():
        y0 = _evaluate(f, values)
    u = rng.standard_normal(y0.shape) if y0.ndim else np.asarray(1.0)
    rs = [rng.standard_normal(np.shape(values[i])) for i in nums]

    def h(*call: Any) -> Any:
        _, vjp_fn = vjp(_partial(f, list(call), nums), *[call[i] for i in nums])
        gs = vjp_fn(u.astype(y0.dtype))
        total: Any = 0.0
        for g, r in zip(gs, rs, strict=True):
            if isinstance(g, Tensor):
                total = total + (g * r.astype(g.data.dtype)).sum()
        if not isinstance(total, Tensor):
            return _leaf(np.asarray(total))
        return total

    return h


def check_nodes(
    f: Callable[..., Any],
    *args: Any,
    argnums: Sequence[int] | None = None,
    report: GradCheckReport | None = None,
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> GradCheckReport:
    """Record ``f``'s graph and check every node's VJP rule at its recorded operands.

    For each node and each parent that requires grad: ``⟨u, (op(.., x+εv, ..) − op(.., x−εv, ..))/2ε⟩``
    against ``⟨rule(u), v⟩`` for random ``u``, ``v``. Failures name the primitive, the node (by name
    when it has one), the operand position and the rule function; a rule that raises or returns the
    wrong shape is a failure too. Tolerances default by dtype as for :func:`check_grad`.

    Returns:
        ``report`` (a new :class:`GradCheckReport` when None) with the comparisons added.

    Raises:
        TypeError: ``f`` does not return a Tensor.
    """
    report = report if report is not None else GradCheckReport()
    values = [_as_array(a) if _is_float(a) else a for a in args]
    nums = (
        tuple(i for i, a in enumerate(values) if _is_float(a))
        if argnums is None
        else tuple(argnums)
    )
    call: list[Any] = list(values)
    for i in nums:
        call[i] = as_tensor(values[i], requires_grad=True)
    y = f(*call)
    if not isinstance(y, Tensor):
        raise TypeError(f"check_nodes: f must return a Tensor; it returned {type(y).__name__}")
    rng = np.random.default_rng(seed)
    for node in topological_order(y):
        op = node.op
        if op is None or node._raw is None:
            continue
        raw = node._raw
        out = np.asarray(backend.to_numpy(node.data))
        dtype = np.result_type(out)
        if dtype.kind != "f":
            continue
        e_, r_, a_ = _tolerances(dtype, eps, rtol, atol)
        for k, parent in enumerate(node.parents):
            if not parent.requires_grad or not _is_float(parent.data):
                continue
            pos = _operand_position(node, k)
            rule = op.vjp_rule(pos)
            where = f"primitive {op.name!r}" + (f" (node {node.name!r})" if node.name else "")
            rule_name = getattr(rule, "__name__", repr(rule))
            if rule is None:
                report.ok = False
                report.failures.append(f"{where}, operand {pos}: no VJP rule, but it requires grad")
                continue
            u = rng.standard_normal(out.shape).astype(dtype) if out.ndim else np.asarray(1.0, dtype)
            xk = np.asarray(backend.to_numpy(raw[pos]))
            v = rng.standard_normal(xk.shape).astype(xk.dtype)
            try:
                gk = vjp_of_node(node, k, u)
            except Exception as exc:  # a broken user rule: report it, with the primitive's name
                report.ok = False
                report.failures.append(f"{where}, operand {pos}: rule {rule_name} raised {exc!r}")
                continue
            gk = np.asarray(backend.to_numpy(gk))
            if gk.shape != xk.shape:
                report.ok = False
                report.failures.append(
                    f"{where}, operand {pos}: rule {rule_name} returned shape {gk.shape}, "
                    f"operand has shape {xk.shape}"
                )
                continue
            plus, minus = list(raw), list(raw)
            plus[pos] = xk + e_ * v
            minus[pos] = xk - e_ * v
            with no_grad():
                fp = op.forward(*plus, **node.params)
                fm = op.forward(*minus, **node.params)
            numeric = (_vdot(u, fp) - _vdot(u, fm)) / (2 * e_)
            label = f"{where}, operand {pos} (rule {rule_name})"
            if (
                not report.add(label, numeric, _vdot(gk, v), r_, a_)
                and label not in report.culprits
            ):
                report.culprits.append(label)
    return report
