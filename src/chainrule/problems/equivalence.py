"""Numbers decide: is an answer expression equal to the reference? Judged at seeded points, with a diagnosis.

:func:`judge` draws points from the seed of (problem, part, normalised answer), so the same answer gets the
same verdict on every run and machine. The draws mix each variable's domain, small integers (0 and ±1
among them), large magnitudes (±30, ±800) when the expressions saturate (exp, log, σ, softplus, tanh),
and tensors whose dimensions get pairwise-distinct sizes (two assignments, half the points each).

- A point where the reference is undefined is redrawn (at most :data:`MAX_TRIES` draws in all); too few
  valid points is ``undecided``, never ``wrong`` (and the self-test reports it to the author).
- Equal means ``|a − r| ≤ atol + rtol·max(|a|, |r|)`` at every point and entry. A point that fails in float64
  (overflow, or a difference rounded away) is judged again at 50 digits (mpmath) before anything is said.
- A ``wrong`` verdict carries the first failing point, both values and the difference, and a diagnosis:
  a constant multiple ("sign flipped: −1 × the expected answer"), the missing, extra and sign-flipped
  terms of a sum, the first differing index of a tensor, or mismatched shapes ("axes transposed").
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.problems.expr.evaluate import EvaluationError, MpBackend, evaluate
from chainrule.problems.expr.nodes import BinOp, Call, Expr, Num, Reduce, Unary, free_names
from chainrule.problems.expr.render import to_text
from chainrule.problems.expr.scope import Scope
from chainrule.problems.points import answer_rng
from chainrule.problems.results import Counterexample, Status, Verdict

__all__ = [
    "ATOL",
    "MAX_TRIES",
    "POINTS",
    "RTOL",
    "Judgement",
    "Sampler",
    "declared_sampler",
    "judge",
    "split_terms",
]

RTOL = 1e-9
ATOL = 1e-12
#: Points per check, and the most draws spent finding points where the reference is defined.
POINTS = 12
MAX_TRIES = 50
#: The most terms a product is expanded into when terms are matched.
MAX_TERMS = 16
#: Dimension sizes, pairwise distinct, so that any swap of axes shows as a shape mismatch.
SIZES = (2, 3, 5, 7, 4, 6, 8)
_SATURATING = {"exp", "log", "sigma", "softplus", "tanh", "log_sigmoid"}

#: A sampler draws ``batch`` points: ``(values, dims)`` with a leading batch axis on every value.
Sampler = Callable[[np.random.Generator, int, int], tuple[dict[str, np.ndarray], dict[str, int]]]


def saturates(*exprs: Expr) -> bool:
    """True when an expression calls exp, log, σ, softplus or tanh (or a user function that does)."""
    stack = list(exprs)
    while stack:
        x = stack.pop()
        if isinstance(x, Call) and x.func in _SATURATING:
            return True
        stack.extend(x.children())
    return False


def declared_sampler(scope: Scope, *, saturate: bool) -> Sampler:
    """Draw every declared variable from its type (see the module docstring for the mix)."""
    symbols = sorted({d for vt in scope.variables.values() for d in vt.dims if isinstance(d, str)})

    def sample(
        rng: np.random.Generator, batch: int, assignment: int
    ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        order = list(SIZES[: max(len(symbols), 1)])
        rng.shuffle(order)
        if assignment % 2:
            order = order[1:] + order[:1]
        dims = {s: order[k % len(order)] + 7 * (k // len(order)) for k, s in enumerate(symbols)}
        values: dict[str, np.ndarray] = {}
        for name, vt in scope.variables.items():
            if vt.base in ("param", "macro"):
                continue
            shape = tuple(d if isinstance(d, int) else dims[d] for d in vt.dims)
            if vt.base == "index":
                values[name] = rng.integers(0, shape[0], size=batch)
                continue
            values[name] = _draw(rng, vt, batch, shape, saturate)
        return values, dims

    return sample


def _draw(
    rng: np.random.Generator, vt: Any, batch: int, shape: tuple[int, ...], saturate: bool
) -> np.ndarray:
    full = (batch, *shape)
    if vt.values is not None:
        return rng.choice(np.asarray(vt.values, dtype=float), size=full)
    if vt.interval is not None:
        lo, hi = vt.interval
        out = rng.uniform(lo, hi, size=full)
        # A few integer points inside the interval (0 and ±1 where they lie in it).
        ints = [v for v in (0.0, 1.0, -1.0, 2.0) if lo <= v <= hi]
        mask = rng.random(batch) < 0.3
        if ints and mask.any():
            out[mask] = rng.choice(ints, size=(int(mask.sum()), *shape))
        return out
    if vt.base == "int":
        return rng.integers(-5, 6, size=full).astype(float)
    # Reals: a third uniform in [-3, 3], a third small integers, the rest large magnitudes where
    # the expressions saturate (normal draws otherwise).
    kinds = np.arange(batch) % 3
    rng.shuffle(kinds)
    out = rng.uniform(-3.0, 3.0, size=full)
    small = kinds == 1
    if small.any():
        out[small] = rng.choice([0.0, 1.0, -1.0, 2.0, -2.0], size=(int(small.sum()), *shape))
    big = kinds == 2
    if big.any():
        if saturate:
            mags = rng.choice([30.0, 800.0], size=(int(big.sum()), *shape))
            out[big] = mags * rng.choice([-1.0, 1.0], size=mags.shape)
        else:
            out[big] = rng.normal(0.0, 10.0, size=(int(big.sum()), *shape))
    return out


@dataclass
class Judgement:
    """A verdict and, for diagnoses built on top of it, the terms matched by value."""

    verdict: Verdict
    missing: list[Expr] = field(default_factory=list)
    extra: list[Expr] = field(default_factory=list)
    flipped: list[Expr] = field(default_factory=list)
    values: tuple[np.ndarray, np.ndarray] | None = None


def split_terms(e: Expr) -> list[tuple[float, Expr]]:
    """The additive terms of ``e`` with their signs, through ``+``, ``−``, unary minus and sums over an index
    (``sum(a + b, i)`` is ``sum(a, i) + sum(b, i)``)."""
    if isinstance(e, BinOp) and e.op in "+-":
        right = split_terms(e.right)
        if e.op == "-":
            right = [(-s, t) for s, t in right]
        return split_terms(e.left) + right
    if isinstance(e, Unary):
        return [(-s, t) for s, t in split_terms(e.operand)]
    if isinstance(e, Reduce) and e.op == "sum":
        inner = split_terms(e.body)
        if len(inner) > 1:
            return [(s, Reduce("sum", t, e.over, pos=e.pos)) for s, t in inner]
    if isinstance(e, BinOp) and e.op == "*" and isinstance(e.left, Num):
        return [(s * e.left.value, t) for s, t in split_terms(e.right)]
    if isinstance(e, BinOp) and e.op == "*":
        # a·(b − c) = a·b − a·c (elementwise products distribute), while the terms stay few.
        left, right = split_terms(e.left), split_terms(e.right)
        if 1 < len(left) * len(right) <= MAX_TERMS:
            return [(sl * sr, BinOp("*", tl, tr, pos=e.pos)) for sl, tl in left for sr, tr in right]
    return [(1.0, e)]


def _close(a: np.ndarray, r: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        ok = np.abs(a - r) <= atol + rtol * np.maximum(np.abs(a), np.abs(r))
    return ok | ((a == r) & np.isinf(r))


def _numbers(v: Any, batch: int) -> np.ndarray:
    data = v.data if hasattr(v, "data") and not isinstance(v, np.ndarray) else v
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(batch, float(arr))
    return arr


def _point(values: Mapping[str, np.ndarray], k: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in values.items():
        x = v[k]
        if np.asarray(v).dtype.kind == "i":
            out[name] = int(x) + 1  # index variables print 1-based
        else:
            out[name] = np.asarray(x).tolist()
    return out


def _fmt(v: Any) -> str:
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 0:
        return format(float(arr), ".10g")
    return np.array2string(arr, precision=6, separator=", ", max_line_width=200, threshold=20)


def judge(
    reference: Expr,
    answer: Expr,
    scope: Scope,
    *,
    problem: str,
    part: str,
    answer_key: Any,
    max_points: float = 1.0,
    rtol: float = RTOL,
    atol: float = ATOL,
    points: int = POINTS,
    sampler: Sampler | None = None,
    salt: str = "",
    terms_of: Expr | None = None,
) -> Judgement:
    """Judge ``answer`` against ``reference`` (both bound in ``scope``) at seeded points.

    Args:
        reference, answer: bound expressions.
        answer_key: the answer as given (text), for the seed.
        sampler: draws the points; by default each declared variable from its type.
        salt: mixed into the seed (a derivation's line number, say).
        terms_of: an expression equal to the reference whose terms name what is missing or extra (a model
            answer, when the reference is ``grad(L, w)``); the reference itself by default.

    Returns:
        The :class:`Judgement`; its verdict's ``points`` are ``max_points`` when correct, else 0.

    Raises:
        EvaluationError: the reference itself cannot be evaluated (the author's error).
    """
    # Evaluation recurses over the tree (at most scope.MAX_HEIGHT levels, a few frames each).
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    rng, seed = answer_rng(problem, part, answer_key, salt)
    sample = sampler or declared_sampler(scope, saturate=saturates(reference, answer))
    method = f"numeric: {points} points, rtol {rtol:g}, atol {atol:g}, seed {seed}"

    def verdict(status: Status, summary: str, **kw: Any) -> Verdict:
        return Verdict(
            problem,
            part,
            status,
            summary,
            method=method,
            seed=seed,
            max_points=max_points,
            points=max_points if status == "correct" else 0.0,
            answer=answer_key,
            **kw,
        )

    half = max(points // 2, 1)
    tries = 0
    mp_points = 0
    collected: list[tuple[dict[str, np.ndarray], dict[str, int], np.ndarray, np.ndarray]] = []
    for assignment in (0, 1):
        need = half if assignment == 0 else points - half
        while need > 0 and tries < MAX_TRIES:
            batch = need + 2
            tries += 1
            values, dims = sample(rng, batch, assignment)
            with np.errstate(all="ignore"):
                ref = _numbers(evaluate(reference, scope, values, dims, batch=batch), batch)
                valid = np.isfinite(ref.reshape(batch, -1)).all(axis=1)
                try:
                    got_raw = evaluate(answer, scope, values, dims, batch=batch)
                except EvaluationError as exc:
                    k = int(np.argmax(valid)) if valid.any() else 0
                    point = _point(values, k)
                    ce = Counterexample(
                        {**point, **{f"size of {d}": s for d, s in dims.items()}},
                        _fmt(ref[k]),
                        str(exc),
                    )
                    return Judgement(
                        verdict(
                            "wrong",
                            f"cannot be evaluated: {exc}",
                            counterexample=ce,
                            diagnosis=[
                                f"the answer cannot be evaluated where the expected one can: {exc}"
                            ],
                        )
                    )
                got = _numbers(got_raw, batch)
            if got.shape != ref.shape:
                k = int(np.argmax(valid)) if valid.any() else 0
                return Judgement(_shape_verdict(verdict, ref, got, values, dims, k))
            # Points where float64 overflowed in the reference: keep them if 50 digits define it.
            for k in map(int, np.flatnonzero(~valid)):
                mp_ref = _mp_value(reference, scope, values, dims, k)
                if mp_ref is not None and np.isfinite(mp_ref).all():
                    ref[k] = mp_ref
                    valid[k] = True
                    mp_points += 1
            keep = np.flatnonzero(valid)[:need]
            if keep.size:
                sub = {n: np.asarray(v)[keep] for n, v in values.items()}
                collected.append((sub, dims, ref[keep], got[keep]))
                need -= keep.size
    total = sum(c[2].shape[0] for c in collected)
    if total < points:
        return Judgement(
            verdict(
                "undecided",
                f"only {total} of {points} points where the expected answer is defined, in {tries} draws",
                diagnosis=[
                    "the reference is undefined at most points drawn: the problem's domains need narrowing"
                ],
            )
        )
    # Judge every point; a failing one is judged again at 50 digits.
    failures: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    for c, (vals, dims, ref, got) in enumerate(collected):
        flat_ok = _close(got, ref, rtol, atol).reshape(ref.shape[0], -1).all(axis=1)
        for k in map(int, np.flatnonzero(~flat_ok)):
            mp_ref, mp_got = _mp_pair(reference, answer, scope, vals, dims, k)
            if (
                mp_ref is not None
                and mp_got is not None
                and _close(mp_got, mp_ref, rtol, atol).all()
            ):
                mp_points += 1
                continue
            r = mp_ref if mp_ref is not None else ref[k]
            g = mp_got if mp_got is not None else got[k]
            failures.append((c, int(k), r, g))
            break  # one confirmed failure decides; the diagnosis reads the float values
        if failures:
            break
    if mp_points:
        method += f"; {mp_points} point(s) judged at 50 digits after float64 overflowed or rounded"
    if not failures:
        return Judgement(verdict("correct", "equal at every point"))
    c, k, r, g = failures[0]
    vals, dims, ref_all, got_all = collected[c]
    diagnosis: list[str] = []
    ratio = _constant_ratio(collected)
    if ratio is not None:
        diagnosis.append(
            "sign flipped: −1 × the expected answer"
            if abs(ratio + 1) < 1e-9
            else f"{ratio:.10g} × the expected answer"
        )
    missing: list[Expr] = []
    extra: list[Expr] = []
    flipped: list[Expr] = []
    if ratio is None:
        missing, extra, flipped = _term_diff(terms_of or reference, answer, scope, collected)
    if missing:
        diagnosis.append("missing term(s): " + "; ".join(_signed(t) for t in missing))
    if extra:
        diagnosis.append("extra term(s): " + "; ".join(_signed(t) for t in extra))
    if flipped:
        diagnosis.append("term(s) with the wrong sign: " + "; ".join(_signed(t) for t in flipped))
    index = None
    diff = np.asarray(g, dtype=float) - np.asarray(r, dtype=float)
    if np.ndim(r) > 0:
        bad = ~_close(np.asarray(g, dtype=float), np.asarray(r, dtype=float), rtol, atol)
        index = [int(i) + 1 for i in np.argwhere(bad)[0]]
        diagnosis.append(f"first differing entry: index {tuple(index)} (1-based)")
    used = used_names(reference, scope) | used_names(answer, scope)
    point = {n: v for n, v in _point(vals, k).items() if n in used}
    shown_dims = {
        d
        for n in used
        if n in scope.variables
        for d in scope.variables[n].dims
        if isinstance(d, str)
    }
    point.update({f"size of {d}": s for d, s in dims.items() if d in shown_dims})
    ce = Counterexample(point, _fmt(r), _fmt(g), _fmt(diff), index)
    at = ", ".join(f"{n} = {_fmt(v)}" for n, v in point.items() if np.ndim(v) == 0)
    summary = diagnosis[0] if diagnosis else "not equal to the expected answer"
    if summary.startswith("first differing"):
        summary = f"not equal to the expected answer ({summary})"
    if not diagnosis:
        diagnosis.append(f"differs at {at or 'the point shown'}: expected {_fmt(r)}, got {_fmt(g)}")
    wrong = verdict("wrong", summary, counterexample=ce, diagnosis=diagnosis)
    return Judgement(wrong, missing, extra, flipped, (ref_all, got_all))


_MP: dict[int, MpBackend] = {}
#: The precisions a failing point is judged at, in turn: 50 digits, then more where a value was still
#: undefined (1 − σ(800) is 0 at 50 digits, e^−800 ≈ 10^−348 at 400).
DIGITS = (50, 400, 1200)


def _mp_backend(digits: int = 50) -> MpBackend:
    """One backend per precision for the process (building its mpmath context is the costly part)."""
    if digits not in _MP:
        _MP[digits] = MpBackend(digits)
    return _MP[digits]


def _mp_pair(
    reference: Expr,
    answer: Expr,
    scope: Scope,
    values: Mapping[str, np.ndarray],
    dims: Mapping[str, int],
    k: int,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Both sides at point ``k`` at 50 digits, and at more where either is still undefined there."""
    ref = got = None
    for digits in DIGITS:
        ref = _mp_value(reference, scope, values, dims, k, digits)
        got = _mp_value(answer, scope, values, dims, k, digits)
        if (
            ref is not None
            and got is not None
            and np.isfinite(ref).all()
            and np.isfinite(got).all()
        ):
            break
    return ref, got


def _mp_value(
    e: Expr,
    scope: Scope,
    values: Mapping[str, np.ndarray],
    dims: Mapping[str, int],
    k: int,
    digits: int = 50,
) -> np.ndarray | None:
    """``e`` at point ``k`` with 50 digits, as floats; None when it cannot be evaluated."""
    backend = _mp_backend(digits)
    one = {n: np.asarray(v)[k : k + 1] for n, v in values.items()}
    try:
        out = evaluate(e, scope, one, dims, backend=backend, batch=1)
    except (EvaluationError, ZeroDivisionError, OverflowError, ValueError, TypeError):
        return None
    if not hasattr(out, "shape") or len(out.shape) == 0:
        return backend.to_numpy(np.asarray([out], dtype=object))[0]
    return backend.to_numpy(out)[0]


def _constant_ratio(collected: list[tuple[Any, Any, np.ndarray, np.ndarray]]) -> float | None:
    """c when answer = c × reference at every point (c ≠ 1, over entries with |reference| > 1e-9)."""
    ratios = []
    for _, _, ref, got in collected:
        with np.errstate(all="ignore"):
            mask = (np.abs(ref) > 1e-9) & np.isfinite(ref) & np.isfinite(got)
            ratios.append((got[mask] / ref[mask]).ravel())
    allr = np.concatenate(ratios) if ratios else np.array([])
    if allr.size < 2:
        return None
    c = float(np.median(allr))
    if (
        not math.isfinite(c)
        or abs(c - 1) < 1e-9
        or not np.all(np.abs(allr - c) <= 1e-9 * max(1.0, abs(c)))
    ):
        return None
    return c


def _term_values(
    terms: list[tuple[float, Expr]], scope: Scope, collected: list[Any]
) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = []
    for sign, t in terms:
        parts = []
        try:
            for vals, dims, ref, _ in collected:
                with np.errstate(all="ignore"):
                    v = evaluate(t, scope, vals, dims, batch=ref.shape[0])
                arr = _numbers(v, ref.shape[0]) * sign
                if arr.shape != ref.shape:
                    arr = np.broadcast_to(
                        arr.reshape(arr.shape + (1,) * (ref.ndim - arr.ndim)), ref.shape
                    )
                parts.append(arr.ravel())
        except (EvaluationError, ValueError):
            out.append(None)
            continue
        out.append(np.concatenate(parts))
    return out


def _term_diff(
    reference: Expr, answer: Expr, scope: Scope, collected: list[Any]
) -> tuple[list[Expr], list[Expr], list[Expr]]:
    """Terms matched by value: the reference's unmatched (missing), the answer's (extra), and sign flips."""
    rt, at = split_terms(reference), split_terms(answer)
    if len(rt) == 1 and len(at) == 1:
        return [], [], []
    rv, av = _term_values(rt, scope, collected), _term_values(at, scope, collected)
    used: set[int] = set()
    matched_ref: set[int] = set()
    flipped: list[Expr] = []
    for i, r in enumerate(rv):
        if r is None:
            continue
        for j, a in enumerate(av):
            if j in used or a is None:
                continue
            if _close(a, r, 1e-7, 1e-9).all():
                used.add(j)
                matched_ref.add(i)
                break
            if _close(-a, r, 1e-7, 1e-9).all() and np.abs(r).max() > 1e-9:
                used.add(j)
                matched_ref.add(i)
                flipped.append(at[j][1])
                break
    if not used:
        return [], [], []
    missing = [_with_sign(s, t) for i, (s, t) in enumerate(rt) if i not in matched_ref]
    extra = [_with_sign(s, t) for j, (s, t) in enumerate(at) if j not in used]
    return missing, extra, flipped


def _with_sign(sign: float, t: Expr) -> Expr:
    if sign == 1.0:
        return t
    if sign == -1.0:
        return Unary("-", t, pos=t.pos)
    return BinOp("*", Num(sign, format(sign, "g")), t, pos=t.pos)


def _signed(t: Expr) -> str:
    text = to_text(t)
    return ("− " + text[1:]) if text.startswith("-") else ("+ " + text)


def used_names(e: Expr, scope: Scope) -> set[str]:
    """The variables ``e`` depends on, through the user functions it calls."""
    out: set[str] = set()
    seen: set[str] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        out |= free_names(x) if not isinstance(x, Call) else set()
        if isinstance(x, Call) and x.func in scope.functions and x.func not in seen:
            seen.add(x.func)
            fn = scope.functions[x.func]
            out |= free_names(fn.body) - set(fn.params)
            stack.append(fn.body)
        stack.extend(x.children())
    return out


def _shape_verdict(
    verdict: Callable[..., Verdict],
    ref: np.ndarray,
    got: np.ndarray,
    values: Any,
    dims: Any,
    k: int,
) -> Verdict:
    rs, gs = ref.shape[1:], got.shape[1:]
    diagnosis = [f"shape {gs} where {rs} is expected"]
    summary = f"wrong shape: {gs}, expected {rs}"
    if (
        len(rs) == len(gs) == 2
        and rs == gs[::-1]
        and np.allclose(np.swapaxes(got, 1, 2), ref, rtol=1e-7, atol=1e-9)
    ):
        summary = "axes transposed: the transpose of the expected answer"
        diagnosis.insert(0, summary)
    point = _point(values, k)
    point.update({f"size of {d}": s for d, s in dims.items()})
    ce = Counterexample(point, f"shape {rs}", f"shape {gs}")
    return verdict("wrong", summary, counterexample=ce, diagnosis=diagnosis)
