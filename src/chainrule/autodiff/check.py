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
and the rule function, user-registered primitives included.

Before a rule is blamed, failures are diagnosed. Each failing end-to-end probe ``x ± εv`` is followed
through the graph (the graph recorded at ``x`` and at both probe points, node by node), and a failing
per-node comparison is looked at along its own direction:

- *outside the domain*: a node's value, or its value at a probe point, is not finite (``log`` or
  ``sqrt`` of a negative number, ``log(0)``, ``1/0``, overflow) while its operands are. Reported as
  ``outside the domain of log (primitive 'log', node 'z', operand 0)`` (:attr:`GradCheckReport.domain`);
- *at a kink*: along the probe's line ``F(h) = ⟨u, op(x + h·d)⟩`` the one-sided differences
  ``(F(h) − F(0))/h`` and ``(F(0) − F(−h))/h`` disagree, and not as curvature would: their gap does not
  shrink in proportion to ``h`` (checked at ``h = ε, ε/4, ε/16``). The probes straddle a point where the
  primitive is not differentiable (relu or abs at 0, ties in max/min/maximum, clip at a bound).
  Reported as ``at a kink of relu (primitive 'relu', operand 0)`` (:attr:`GradCheckReport.kinks`).

Either way the check still fails (the numbers cannot be compared there), but no rule is named wrong:
move the point away from the kink, or into the domain. When the second-order check fails (or a
failure is otherwise unexplained), every node of ``f`` is also probed for kinks along random
directions, since a kink ``f`` itself passes (``abs`` at 0) makes its gradient jump.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.autodiff.backward import _operand_position, vjp_of_node
from chainrule.autodiff.functional import vjp
from chainrule.autodiff.graph import enable_grad, no_grad, topological_order
from chainrule.autodiff.tensor import Tensor, _leaf, as_tensor

__all__ = ["GradCheckError", "GradCheckReport", "check_grad", "check_nodes"]

#: Most failing end-to-end probes followed through the graph to explain them (kinks, domain).
_EXPLAIN_MAX = 4

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
        kinks: nodes whose finite differences straddle a kink, as ``"at a kink of relu (primitive
            'relu', node 'h', operand 0): ..."``; not wrong rules.
        domain: nodes evaluated outside their domain, as ``"outside the domain of log (primitive
            'log', operand 0): ..."``; not wrong rules.
    """

    ok: bool = True
    comparisons: list[Comparison] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    max_error: float = 0.0
    culprits: list[str] = field(default_factory=list)
    kinks: list[str] = field(default_factory=list)
    domain: list[str] = field(default_factory=list)

    @property
    def inconclusive(self) -> bool:
        """The check failed, but only where finite differences cannot judge (kinks, outside the domain)."""
        return not self.ok and not self.culprits and bool(self.kinks or self.domain)

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
        lines += self.domain + self.kinks
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
    with no_grad(), np.errstate(all="ignore"):  # probes may leave the domain: diagnosed later
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
            (end to end and every node), ``"end_to_end"`` (blames no rule; on failure the nodes are
            still looked at for kinks and domain errors).
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
            operand whose rule is wrong when the per-node check finds it, or saying that the point is
            at a kink of a primitive or outside its domain (then no rule is blamed).
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
        tol = (eps_, rtol_, atol_)
        _check_nodes(f, values, nums, report, *tol, seed)
        if order == 2:
            h = _gradient_direction(f, values, nums, np.random.default_rng(seed + 1))
            _check_nodes(h, values, nums, report, *tol, seed)
    second = any(c.what.startswith("order 2") and not c.ok for c in report.comparisons)
    if second or (not report.ok and not (report.culprits or report.kinks or report.domain)):
        # A kink where f itself passes (abs at 0) makes its gradient jump: only the second-order
        # check sees it, and its graph holds no node of f's kinks. Look for kinks in f's nodes.
        _scan_kinks(f, values, nums, report, eps_, rtol, atol, seed, second)
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
    failed: list[tuple[int, np.ndarray]] = []

    def probe(k: int, v: np.ndarray) -> float:
        plus = list(sub)
        minus = list(sub)
        plus[k] = sub[k] + eps * v
        minus[k] = sub[k] - eps * v
        return (_vdot(u, _evaluate(f_sub, plus)) - _vdot(u, _evaluate(f_sub, minus))) / (2 * eps)

    for k, n in enumerate(nums):
        x = np.asarray(backend.to_numpy(sub[k]))
        gk = np.asarray(backend.to_numpy(grads[k]))
        if not _finite(x):
            line = f"argument {n} holds nan or inf: no derivative can be checked there"
            report.ok = False
            if line not in report.domain:
                report.domain.append(line)
            continue
        if gk.shape != x.shape:
            report.ok = False
            report.failures.append(
                f"{prefix}argument {n}: gradient has shape {gk.shape} but the argument has shape {x.shape}"
            )
            continue
        for d in range(directions):
            v = rng.standard_normal(x.shape).astype(x.dtype)
            what = f"{prefix}argument {n}, random direction {d}"
            if not report.add(what, probe(k, v), _vdot(gk, v), rtol, atol):
                failed.append((k, v))
        if x.size <= full_max:
            for idx in np.ndindex(*x.shape):
                e = np.zeros(x.shape, dtype=x.dtype)
                e[idx] = 1.0
                what = f"{prefix}argument {n}, coordinate {idx}"
                if not report.add(what, probe(k, e), float(gk[idx]), rtol, atol):
                    failed.append((k, e))
    # Why did they fail? Follow each failing probe through the graph: a node whose operands the probe
    # moves across a kink, or out of the domain, is named (the per-node check names wrong rules).
    for k, v in failed[:_EXPLAIN_MAX]:
        _explain_probe(f_sub, sub, k, v, eps, rtol, atol, report)


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
    wrong shape is a failure too. A failing node at a kink of its primitive, or evaluated outside its
    domain, is reported as such (:attr:`GradCheckReport.kinks`, :attr:`GradCheckReport.domain`), not
    as a wrong rule. Tolerances default by dtype as for :func:`check_grad`.

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
    _check_nodes(f, values, nums, report, eps, rtol, atol, seed)
    return report


def _finite(a: Any) -> bool:
    arr = np.asarray(backend.to_numpy(a))
    return arr.dtype.kind not in "fc" or bool(np.all(np.isfinite(arr)))


def _passes(numeric: float, analytic: float, rtol: float, atol: float) -> bool:
    err = abs(numeric - analytic)
    return bool(np.isfinite(err)) and err <= atol + rtol * max(abs(numeric), abs(analytic))


def _float_operands(raw: tuple[Any, ...]) -> list[int]:
    return [
        i
        for i, a in enumerate(raw)
        if (backend.is_array(a) or isinstance(a, float)) and _is_float(a)
    ]


def _operands_finite(raw: tuple[Any, ...]) -> bool:
    return all(_finite(raw[i]) for i in _float_operands(raw))


def _subject(node: Tensor, positions: Sequence[int]) -> str:
    """``relu (primitive 'relu', node 'h', operand 0)``: how findings name a node."""
    op = node.op
    assert op is not None
    which = ", ".join(str(p) for p in positions)
    return (
        f"{op.name} (primitive {op.name!r}"
        + (f", node {node.name!r}" if node.name else "")
        + (f", operand {which})" if len(positions) == 1 else f", operands {which})")
    )


def _record_finding(report: GradCheckReport, kind: str, subject: str, detail: str) -> None:
    report.ok = False
    if kind == "domain":
        found, head = report.domain, f"outside the domain of {subject}"
        advice = "not a wrong rule: check at a point inside the domain"
    else:
        found, head = report.kinks, f"at a kink of {subject}"
        advice = "not a wrong rule: check away from the kink"
    if not any(line.startswith(head + ":") for line in found):
        found.append(f"{head}: {detail}; {advice}")


def _domain_detail(out: Any, pair: tuple[np.ndarray, np.ndarray], eps: float) -> str | None:
    """Why the node is outside its domain (its value, or a probe's, is not finite), or None."""
    if not _finite(out):
        return "its value at the recorded operands is not finite (nan, or inf: a pole or overflow)"
    if not (_finite(pair[0]) and _finite(pair[1])):
        return (
            f"its value at a probe point x ± eps·v (eps = {eps:g}) is not finite (nan or inf): the "
            "probes leave the domain"
        )
    return None


def _kink_detail(name: str, fwd: float, bwd: float, eps: float) -> str:
    return (
        f"the one-sided differences {fwd:.6g} (forward) and {bwd:.6g} (backward) disagree, so "
        f"central differences with eps = {eps:g} straddle a point where {name} is not "
        "differentiable"
    )


def _check_nodes(
    f: Callable[..., Any],
    values: list[Any],
    nums: tuple[int, ...],
    report: GradCheckReport,
    eps: float | None,
    rtol: float | None,
    atol: float | None,
    seed: int,
) -> None:
    call: list[Any] = list(values)
    for i in nums:
        call[i] = as_tensor(values[i], requires_grad=True)
    y = f(*call)
    if not isinstance(y, Tensor):
        raise TypeError(f"check_nodes: f must return a Tensor; it returned {type(y).__name__}")
    rng = np.random.default_rng(seed)
    # Diagnosis draws its extra directions from its own stream, so the comparisons stay the same.
    diag_rng = np.random.default_rng([seed, 1])
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
            if not _operands_finite(raw):
                continue  # nan/inf from upstream (named where it arose) or in the arguments
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
            probe = _Probe(op, raw, node.params, u, {pos: v})
            fp, fm = probe.values(e_)
            numeric = (_vdot(u, fp) - _vdot(u, fm)) / (2 * e_)
            analytic = _vdot(gk, v)
            if _passes(numeric, analytic, r_, a_):
                report.add(f"{where}, operand {pos} (rule {rule_name})", numeric, analytic, r_, a_)
                continue
            # Failed: outside the domain, at a kink, or (smooth and finite) a wrong rule.
            why = _domain_detail(out, (fp, fm), e_)
            kind = "domain"
            if why is None:
                kind = "kink"
                moves = [probe] + [
                    _Probe(op, raw, node.params, u, {pos: diag_rng.standard_normal(xk.shape)})
                    for _ in range(2)
                ]
                for j, pr in enumerate(moves):
                    kink = _kink_along(pr, out, (fp, fm) if j == 0 else pr.values(e_), e_, r_, a_)
                    if kink is not None:
                        why = _kink_detail(op.name, *kink, e_)
                        break
            if why is None:
                label = f"{where}, operand {pos} (rule {rule_name})"
                report.add(label, numeric, analytic, r_, a_)
                if label not in report.culprits:
                    report.culprits.append(label)
                continue
            _record_finding(report, kind, _subject(node, [pos]), why)
            at = "outside its domain" if kind == "domain" else "at a kink"
            report.add(f"{where}, operand {pos}, {at}", numeric, analytic, r_, a_)


def _scan_kinks(
    f: Callable[..., Any],
    values: list[Any],
    nums: tuple[int, ...],
    report: GradCheckReport,
    eps: float,
    rtol: float | None,
    atol: float | None,
    seed: int,
    second: bool,
) -> None:
    """Record ``f`` and look along random directions through each node's differentiated operands
    for a kink (whether or not the node's own check passed); only findings are added."""
    try:
        nodes = _record(_partial(f, values, nums), [values[i] for i in nums])
    except Exception:  # a scan that cannot run explains nothing
        return
    rng = np.random.default_rng([seed, 2])
    for node in nodes or []:
        raw = node._raw
        out = np.asarray(backend.to_numpy(node.data))
        if raw is None or out.dtype.kind != "f" or not _finite(out) or not _operands_finite(raw):
            continue
        _, r_, a_ = _tolerances(out.dtype, None, rtol, atol)
        for k, parent in enumerate(node.parents):
            if not parent.requires_grad or not _is_float(parent.data):
                continue
            pos = _operand_position(node, k)
            shape = np.shape(raw[pos])
            u = rng.standard_normal(out.shape) if out.ndim else np.asarray(1.0)
            for _ in range(3):
                probe = _Probe(node.op, raw, node.params, u, {pos: rng.standard_normal(shape)})
                kink = _kink_along(probe, out, probe.values(eps), eps, r_, a_)
                if kink is not None:
                    assert node.op is not None
                    detail = _kink_detail(node.op.name, *kink, eps)
                    if second:
                        detail += " (its derivative jumps there: the second-order check sees it)"
                    _record_finding(report, "kink", _subject(node, [pos]), detail)
                    break


def _record(f_sub: Callable[..., Any], args: Sequence[Any]) -> list[Tensor] | None:
    """The nodes of ``f_sub``'s graph at ``args``, parents first (None if it returns no Tensor)."""
    with enable_grad(), np.errstate(all="ignore"):
        y = f_sub(*[as_tensor(a, requires_grad=True) for a in args])
    if not isinstance(y, Tensor):
        return None
    return [t for t in topological_order(y) if t.op is not None]


def _explain_probe(
    f_sub: Callable[..., Any],
    sub: list[Any],
    k: int,
    v: np.ndarray,
    eps: float,
    rtol: float,
    atol: float,
    report: GradCheckReport,
) -> None:
    """Follow the failing end-to-end probe ``sub[k] ± eps·v`` through the graph: record it at the
    point and at both probes, and look at each node along the way for a value that is not finite
    (outside the domain) or for operands moved across a kink. Only findings are added."""
    plus, minus = list(sub), list(sub)
    plus[k] = sub[k] + eps * v
    minus[k] = sub[k] - eps * v
    try:
        graphs = [_record(f_sub, a) for a in (sub, plus, minus)]
    except Exception:  # the probe points may raise (the user's own checks): nothing to follow
        return
    g0, gp, gm = graphs
    if g0 is None or gp is None or gm is None or not len(g0) == len(gp) == len(gm):
        return
    rng = np.random.default_rng(0)
    for n0, np_, nm in zip(g0, gp, gm, strict=True):
        op = n0.op
        if op is None or np_.op is not op or nm.op is not op:
            return  # the graph depends on the values: the probes cannot be matched node by node
        raw0, rawp, rawm = n0._raw, np_._raw, nm._raw
        if raw0 is None or rawp is None or rawm is None:
            continue
        out = np.asarray(backend.to_numpy(n0.data))
        if out.dtype.kind != "f":
            continue
        if not (_operands_finite(raw0) and _operands_finite(rawp) and _operands_finite(rawm)):
            continue
        positions = [i for i in _float_operands(raw0) if i < len(rawp) and i < len(rawm)]
        moves: dict[int, np.ndarray] = {}
        for i in positions:
            xp_ = np.asarray(backend.to_numpy(rawp[i]))
            xm_ = np.asarray(backend.to_numpy(rawm[i]))
            if xp_.shape != np.shape(raw0[i]) or xm_.shape != xp_.shape:
                continue
            d = (xp_.astype(np.float64) - xm_.astype(np.float64)) / (2 * eps)
            if np.any(d != 0):
                moves[i] = d
        outs = (np.asarray(backend.to_numpy(np_.data)), np.asarray(backend.to_numpy(nm.data)))
        why = _domain_detail(out, outs, eps)
        if why is not None:
            _record_finding(report, "domain", _subject(n0, sorted(moves) or positions), why)
            continue
        if not moves:
            continue
        _, r_, a_ = _tolerances(out.dtype, None, rtol, atol)
        u = rng.standard_normal(out.shape) if out.ndim else np.asarray(1.0)
        probe = _Probe(op, raw0, n0.params, u, moves)
        kink = _kink_along(probe, out, probe.values(eps), eps, r_, a_)
        if kink is not None:
            detail = _kink_detail(op.name, *kink, eps)
            _record_finding(report, "kink", _subject(n0, sorted(moves)), detail)


class _Probe:
    """The primitive's forward function along a line ``x + h·d`` through some of its operands."""

    def __init__(
        self,
        op: Any,
        raw: tuple[Any, ...],
        params: Any,
        u: np.ndarray,
        moves: dict[int, np.ndarray],
    ) -> None:
        self.op, self.raw, self.params, self.u = op, raw, params, u
        self.moves = {
            i: (np.asarray(backend.to_numpy(raw[i])), np.asarray(d)) for i, d in moves.items()
        }

    def at(self, h: float) -> np.ndarray:
        args = list(self.raw)
        for i, (x, d) in self.moves.items():
            args[i] = x + (np.asarray(h, dtype=x.dtype) * d).astype(x.dtype, copy=False)
        with no_grad(), np.errstate(all="ignore"):
            return np.asarray(backend.to_numpy(self.op.forward(*args, **self.params)))

    def values(self, h: float) -> tuple[np.ndarray, np.ndarray]:
        return self.at(h), self.at(-h)

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(*[x for x, _ in self.moves.values()])


def _kink_along(
    probe: _Probe,
    out: np.ndarray,
    pair: tuple[np.ndarray, np.ndarray],
    eps: float,
    rtol: float,
    atol: float,
) -> tuple[float, float] | None:
    """The one-sided differences ``(forward, backward)`` at step ``eps`` along the probe's line when
    they show a kink, else None.

    With ``F(h) = ⟨u, op(x + h·d)⟩`` the gap between the one-sided differences is
    ``g(h) = (F(h) − 2F(0) + F(−h)) / h``. Where ``F`` is smooth, ``g(h) ≈ h·F''`` shrinks in proportion
    to ``h``: ``g(eps/4) ≈ g(eps)/4`` and ``g(eps/16) ≈ g(eps)/16``. A kink at the point keeps the gap
    as ``h`` shrinks; a kink within ``eps`` of it leaves the gap once ``h`` no longer reaches it. So a
    gap above the tolerance that does not scale with ``h`` (beyond rounding) is a kink.
    """
    fp, fm = pair
    if not (_finite(fp) and _finite(fm)):
        return None
    u = probe.u
    f0 = _vdot(u, out)
    Fp, Fm = _vdot(u, fp), _vdot(u, fm)
    fwd, bwd = (Fp - f0) / eps, (f0 - Fm) / eps
    gap = fwd - bwd
    if not np.isfinite(gap) or abs(gap) <= atol + rtol * max(abs(fwd), abs(bwd)):
        return None
    # Rounding in F(h) − 2F(0) + F(−h): a few units in the last place of the terms of ⟨u, op(.)⟩.
    ulp = float(np.finfo(np.result_type(out, probe.dtype)).eps)
    size = float(np.sum(np.abs(np.asarray(u, np.float64) * np.asarray(out, np.float64))))
    for scale in (4.0, 16.0):
        h = eps / scale
        sp, sm = probe.values(h)
        if not (_finite(sp) and _finite(sm)):
            return None
        gap_h = (_vdot(u, sp) - 2 * f0 + _vdot(u, sm)) / h
        smooth = gap / scale
        if abs(gap_h - smooth) > 0.35 * abs(smooth) + 4 * ulp * size / h:
            return fwd, bwd
    return None
