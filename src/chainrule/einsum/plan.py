"""Execution plans: a parsed einsum plus a contraction path → a sequence of array operations.

A :class:`ContractionPlan` is built once per (subscripts, shapes, dtypes, optimize) and then called with
arrays of those shapes and dtypes. Its steps, in order:

0. **Casts**: operands whose dtype differs from the result dtype are converted first.
1. **Pre-steps**, per operand: drop size-1 dimensions that broadcast against a larger size elsewhere, take
   diagonals for labels repeated inside the operand (views on NumPy), and sum labels that appear nowhere
   else and not in the output (on NumPy floating arrays as a product with a vector of ones, so BLAS
   streams the data; elsewhere ``sum``).
2. **Pairwise steps**, along the path: each is one batched matmul — the operands permuted and reshaped to
   ``(batch, m, k) @ (batch, k, n)``, orders chosen so that C-contiguous operands need no copy and a
   transposed operand is passed as a transposed view; an operand without free labels is passed as a
   vector — or ``vecdot`` for short batched dot products (m = n = 1), or a broadcast multiply when nothing
   is summed. On NumPy, a large batch of small items (``m·n·k ≤ 64³``) is also tried split across two
   threads (:mod:`chainrule.einsum.parallel`), and the faster kernel is kept.
3. **Finish**: permute the result into the output order (a view). The last pairwise step already
   produces the output order when it can (``B^T @ A^T`` instead of ``A @ B``).

A contraction that is exactly one ``matmul`` (``"...ij,...jk->...ik"`` with equal batch shapes) is
called directly (:attr:`ContractionPlan.direct`; for a large batch of small items on NumPy, the faster
of ``matmul`` and the two-thread split, measured).

Execution uses only the operands' namespace (``permute_dims``, ``reshape``, ``matmul``, ``sum``,
``multiply``, ``take``, ``astype``, ``matrix_transpose``, ``vecdot``); for NumPy arrays the equivalent
ndarray methods are called directly because they are cheaper per call.

Dtypes: the result dtype is NumPy's promotion of the operand dtypes (``result_type``), or ``dtype``.
Integer (and bool) contractions accumulate in that dtype, exactly like ``numpy.einsum``: integer sums wrap
around on overflow, they are not widened (``numpy.sum`` would widen int32 to int64; we pass the dtype).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chainrule.einsum.kernels import (
    ArrayOps,
    Kernel,
    blas_sum,
    c_loop,
    diagonal_of,
    reshape_to,
    sum_of,
    view,
)
from chainrule.einsum.notation import EinsumSpec
from chainrule.einsum.parallel import split_matmul
from chainrule.einsum.paths import (
    AUTO_OPTIMAL_LIMIT,
    Path,
    find_path,
    flop_count,
    greedy,
    memory_limit_of,
    optimal,
    size_of,
    ssa_to_linear,
)
from chainrule.einsum.tuning import TUNE_MIN_ELEMENTS, Autotuned

__all__ = ["ContractionPlan", "StepInfo", "build_plan", "normalize_path"]

Labels = tuple[Hashable, ...]


@dataclass(frozen=True)
class StepInfo:
    """One step of a plan, for reports.

    Attributes:
        operands: positions (in the current operand list) that the step consumes; for pre-steps the input
            operand's index.
        inputs: labels of the consumed operands, in their axis order.
        output: labels of the result, in its axis order.
        kernel: ``"diagonal"``, ``"sum"``, ``"diagonal+sum"``, ``"squeeze"`` (pre-steps);
            ``"matmul"`` (batched matmul), ``"matmul (dot)"`` (batched dot products by ``vecdot``, a
            matmul with m = n = 1), ``"multiply"`` (broadcast product); ``"transpose"`` (into the
            output order).
        flops: FLOPs of the step in opt_einsum's model (pre-steps: elements read).
        pre: True for a single-operand pre-step.
        tuner: the step's measured kernel choice (:class:`~chainrule.einsum.tuning.Autotuned`), or None
            for a step with one kernel.
    """

    operands: tuple[int, ...]
    inputs: tuple[Labels, ...]
    output: Labels
    kernel: str
    flops: int
    pre: bool = False
    tuner: Autotuned | None = field(default=None, compare=False, repr=False)


def _prestep(
    k: int,
    labels: Labels,
    shape: tuple[int, ...],
    spec: EinsumSpec,
    elsewhere: set[Hashable],
    ops: ArrayOps,
    dtype: Any,
) -> tuple[Callable[[Any], Any] | None, Labels, StepInfo | None]:
    """The single-operand pre-step of operand ``k``: (function or None, labels after it, info)."""
    actions: list[Callable[[Any], Any]] = []
    cur = list(labels)
    kernels: list[str] = []
    tuner: Autotuned | None = None
    # 1. Size-1 dimensions that broadcast against a larger size: squeeze them away.
    squeeze = [
        i for i, (x, d) in enumerate(zip(cur, shape, strict=True)) if d == 1 and spec.sizes[x] != 1
    ]
    if squeeze:
        new_shape = tuple(d for i, d in enumerate(shape) if i not in squeeze)
        cur = [x for i, x in enumerate(cur) if i not in squeeze]
        actions.append(functools.partial(reshape_to, ops, new_shape))
    # 2. Diagonals: each repeated label, one pair of axes at a time.
    while len(set(cur)) < len(cur):
        seen: dict[Hashable, int] = {}
        for i, x in enumerate(cur):
            if x in seen:
                ax1, ax2 = seen[x], i
                break
            seen[x] = i
        label = cur[ax1]
        cur = [x for i, x in enumerate(cur) if i not in (ax1, ax2)] + [label]
        actions.append(functools.partial(diagonal_of, ops, ax1, ax2))
        if "diagonal" not in kernels:
            kernels.append("diagonal")
    # 3. Sums over labels found nowhere else.
    lone = tuple(i for i, x in enumerate(cur) if x not in elsewhere)
    if lone:
        dims = tuple(spec.sizes[x] for x in cur)
        before = tuple(cur)
        cur = [x for i, x in enumerate(cur) if i not in lone]
        plain = functools.partial(sum_of, ops, lone, dtype)
        blas = blas_sum(dims, lone, dtype, ops) if ops.numpy else None
        if blas is not None and math.prod(dims) >= TUNE_MIN_ELEMENTS:
            tuner = _tuned_sum(blas, plain, c_loop([before], cur), dims, lone, dtype, kernels)
            actions.append(tuner)
        else:
            actions.append(blas or plain)
        kernels.append("sum")
    if not actions:
        return None, tuple(cur), None
    info = StepInfo(
        operands=(k,),
        inputs=(labels,),
        output=tuple(cur),
        kernel="+".join(kernels) if kernels else "squeeze",
        flops=size_of(set(labels), spec.sizes),
        pre=True,
        tuner=tuner,
    )
    if len(actions) == 1:
        return actions[0], tuple(cur), info

    def run(a: Any, actions: Sequence[Callable[[Any], Any]] = tuple(actions)) -> Any:
        for f in actions:
            a = f(a)
        return a

    return run, tuple(cur), info


def _tuned_sum(
    blas: Kernel,
    plain: Kernel,
    loop: Kernel | None,
    dims: tuple[int, ...],
    axes: tuple[int, ...],
    dtype: Any,
    prior: list[str],
) -> Autotuned:
    """A large sum over ``axes`` of an array of shape ``dims``: BLAS (the default), NumPy's reduction
    (:func:`~chainrule.einsum.kernels.numpy_sum`) and NumPy's C einsum loop, measured. ``prior`` names
    the pre-step's earlier kernels (a diagonal hands the sum a strided view): part of the step's key."""
    cands, names = [blas, plain], ["blas", "sum"]
    if loop is not None:
        cands.append(loop)
        names.append("c-loop")
    key = ("sum", dims, axes, dtype, tuple(prior))
    return Autotuned(cands, names, default=0, key=key)


#: Dot products at least this long may go to BLAS (its ddot is multithreaded) rather than ``vecdot``;
#: for large steps the faster of the two is measured (:mod:`chainrule.einsum.tuning`).
_BLAS_DOT_MIN = 4096


def _order_like(labels: set[Hashable], *sources: Labels) -> list[Hashable]:
    """``labels`` ordered by their first position in ``sources`` (tried in turn)."""
    out: list[Hashable] = []
    for src in sources:
        for x in src:
            if x in labels and x not in out:
                out.append(x)
    return out


def _layout(
    labels: Labels, batch: list[Hashable], first: list[Hashable], second: list[Hashable]
) -> tuple[tuple[int, ...] | None, bool]:
    """How to view an operand with axis ``labels`` as (batch, first, second).

    Returns (permutation or None when none is needed, transposed) where ``transposed`` means that the
    operand is stored as (batch, second, first) and is passed as a transposed view instead of being copied.
    """
    want = (*batch, *first, *second)
    if tuple(labels) == want:
        return None, False
    if tuple(labels) == (*batch, *second, *first):
        return None, True
    return tuple(labels.index(x) for x in want), False


def _operand_prep(
    pre: tuple[int, ...], perm: tuple[int, ...] | None, ops: ArrayOps, dtype: Any
) -> Callable[[Any], Any] | None:
    """One operand's preparation for a pairwise step: sum axes ``pre`` (labels nothing else needs),
    then permute the remaining axes by ``perm``; None when it needs neither."""
    total, permute = ops.sum, ops.permute
    if pre and perm is not None:
        return lambda a: permute(total(a, pre, dtype), perm)
    if pre:
        return lambda a: total(a, pre, dtype)
    if perm is not None:
        # NumPy: the method itself (one C call), not a lambda around ops.permute.
        return operator.methodcaller("transpose", perm) if ops.numpy else lambda a: permute(a, perm)
    return None


@dataclass(frozen=True)
class _PairLabels:
    """The labels of one pairwise step, grouped (stage 1 of :func:`_pair_kernel`).

    ``la``/``lb``: the operands' labels after ``pre_a``/``pre_b`` (axes summed first: labels of one
    operand that nothing else needs); ``batch``: kept labels of both; ``con``: summed labels of both;
    ``fa``/``fb``: free labels of one operand; ``nb, m, n, k``: the sizes of those groups.
    """

    la: Labels
    lb: Labels
    pre_a: tuple[int, ...]
    pre_b: tuple[int, ...]
    batch: list[Hashable]
    con: list[Hashable]
    fa: list[Hashable]
    fb: list[Hashable]
    nb: int
    m: int
    n: int
    k: int


def _pair_labels(
    la: Labels, lb: Labels, keep: set[Hashable], sizes: dict[Hashable, int]
) -> _PairLabels:
    """Group the labels of a pairwise step (batch, contracted, free) after the one-operand sums."""
    sa, sb = set(la), set(lb)
    # Labels of one operand that nothing else needs are summed before the step.
    pre_a = tuple(i for i, x in enumerate(la) if x not in sb and x not in keep)
    pre_b = tuple(i for i, x in enumerate(lb) if x not in sa and x not in keep)
    if pre_a:
        la = tuple(x for i, x in enumerate(la) if i not in pre_a)
        sa = set(la)
    if pre_b:
        lb = tuple(x for i, x in enumerate(lb) if i not in pre_b)
        sb = set(lb)
    both = sa & sb
    batch_set = {x for x in both if x in keep}
    con_set = both - batch_set
    fa = [x for x in la if x not in sb]
    fb = [x for x in lb if x not in sa]
    size_a = size_of(la, sizes)
    size_b = size_of(lb, sizes)
    big, small = (la, lb) if size_a >= size_b else (lb, la)
    batch = _order_like(batch_set, big, small)
    con = _order_like(con_set, big, small)

    def dims(group: list[Hashable]) -> int:
        return math.prod(sizes[x] for x in group)

    return _PairLabels(
        la, lb, pre_a, pre_b, batch, con, fa, fb, dims(batch), dims(fa), dims(fb), dims(con)
    )


def _multiply_kernel(
    p: _PairLabels, sizes: dict[Hashable, int], ops: ArrayOps, dtype: Any
) -> tuple[Kernel, Labels]:
    """Nothing summed: a broadcast multiply, (batch, fa, 1...) * (batch, 1..., fb)."""
    batch, fa, fb = p.batch, p.fa, p.fb
    out_labels = (*batch, *fa, *fb)
    prep_a = _operand_prep(p.pre_a, _layout(p.la, batch, fa, [])[0], ops, dtype)
    prep_b = _operand_prep(p.pre_b, _layout(p.lb, batch, [], fb)[0], ops, dtype)
    shape_a = tuple(sizes[x] for x in (*batch, *fa)) + (1,) * len(fb)
    shape_b = tuple(sizes[x] for x in batch) + (1,) * len(fa) + tuple(sizes[x] for x in fb)
    reshape, mul = ops.reshape, ops.multiply

    def multiply(a: Any, b: Any) -> Any:
        if prep_a is not None:
            a = prep_a(a)
        if prep_b is not None:
            b = prep_b(b)
        return mul(reshape(a, shape_a), reshape(b, shape_b))

    return multiply, out_labels


def _dot_kernel(
    p: _PairLabels, sizes: dict[Hashable, int], ops: ArrayOps, dtype: Any
) -> tuple[Kernel, Labels]:
    """Only batch and summed labels: batched dot products by ``vecdot``.

    vecdot streams both operands in one call, where a batched 1x1 matmul pays one BLAS call per dot.
    """
    batch, con = p.batch, p.con
    out_labels = tuple(batch)
    dprep_a = _operand_prep(p.pre_a, _layout(p.la, batch, [], con)[0], ops, dtype)
    dprep_b = _operand_prep(p.pre_b, _layout(p.lb, batch, [], con)[0], ops, dtype)
    dflat = (p.nb, p.k) if batch else (p.k,)
    dot_shape = tuple(sizes[x] for x in out_labels)
    reshape, vecdot = ops.reshape, ops.xp.vecdot

    def dot(a: Any, b: Any) -> Any:
        if dprep_a is not None:
            a = dprep_a(a)
        if dprep_b is not None:
            b = dprep_b(b)
        return reshape(vecdot(reshape(a, dflat), reshape(b, dflat)), dot_shape)

    return dot, out_labels


def _matmul_kernel(
    p: _PairLabels,
    sizes: dict[Hashable, int],
    ops: ArrayOps,
    dtype: Any,
    prefer: Labels | None,
) -> tuple[Kernel, Labels, bool]:
    """The batched matmul of a step: (function with a ``matmul`` keyword, result labels, swapped).

    A as (batch, m, k) and B as (batch, k, n); stored the other way round → transposed views. Without
    batch labels, an operand with no free labels is passed as a vector (matrix-vector BLAS). The result
    is (batch, fa, fb) = A @ B, or (batch, fb, fa) = B^T @ A^T (``swapped``) when that order is what
    the caller prefers (no permute afterwards).
    """
    batch, con, fa, fb = p.batch, p.con, p.fa, p.fb
    nb, m, n, k = p.nb, p.m, p.n, p.k
    perm_a, trans_a = _layout(p.la, batch, fa, con)
    perm_b, trans_b = _layout(p.lb, batch, con, fb)
    shape_a: tuple[int, ...] = (nb, k, m) if trans_a else (nb, m, k)
    shape_b: tuple[int, ...] = (nb, n, k) if trans_b else (nb, k, n)
    if not batch:
        shape_a, shape_b = shape_a[1:], shape_b[1:]
        if not fa:
            shape_a, trans_a = (k,), False
        if not fb:
            shape_b, trans_b = (k,), False
    swap = (
        prefer is not None
        and len(shape_a) > 1
        and len(shape_b) > 1
        and tuple(prefer) == (*batch, *fb, *fa)
        and tuple(prefer) != (*batch, *fa, *fb)
    )
    out_labels = (*batch, *fb, *fa) if swap else (*batch, *fa, *fb)
    out_shape = tuple(sizes[x] for x in out_labels)
    ta, tb = trans_a, trans_b
    prep_a = _operand_prep(p.pre_a, perm_a, ops, dtype)
    prep_b = _operand_prep(p.pre_b, perm_b, ops, dtype)
    reshape, mT = ops.reshape, ops.mT

    def contract(a: Any, b: Any, matmul: Kernel = ops.matmul) -> Any:
        if prep_a is not None:
            a = prep_a(a)
        if prep_b is not None:
            b = prep_b(b)
        a = reshape(a, shape_a)
        b = reshape(b, shape_b)
        if swap:
            # (A @ B)^T = B^T @ A^T: pass each as a (possibly doubly) transposed view.
            c = matmul(b if tb else mT(b), a if ta else mT(a))
        else:
            c = matmul(mT(a) if ta else a, mT(b) if tb else b)
        return reshape(c, out_shape)

    return contract, out_labels, swap


def _pair_kernel(
    la: Labels,
    lb: Labels,
    keep: set[Hashable],
    sizes: dict[Hashable, int],
    ops: ArrayOps,
    dtype: Any,
    prefer: Labels | None,
) -> tuple[Callable[[Any, Any], Any], Labels, str]:
    """The kernel contracting operands with labels ``la`` and ``lb``: (function, result labels, name).

    ``keep`` holds the labels still needed afterwards; ``prefer`` is the order the result should ideally
    have (the output order on the last step). Stages: group the labels (:func:`_pair_labels`); nothing
    summed → a broadcast multiply; only batch and summed labels → batched dot products (short dots);
    otherwise a batched matmul (:func:`_matmul_kernel`), on NumPy measured against the dot products
    (long dots may be faster on BLAS's threaded ddot) or the batch split across two threads.
    """
    p = _pair_labels(la, lb, keep, sizes)
    if not p.con:
        multiply, out_labels = _multiply_kernel(p, sizes, ops, dtype)
        return multiply, out_labels, "multiply"
    dot: Callable[[Any, Any], Any] | None = None
    if not p.fa and not p.fb and p.batch and ops.dot_ok(dtype):
        dot, dot_labels = _dot_kernel(p, sizes, ops, dtype)
        if p.k < _BLAS_DOT_MIN:
            return dot, dot_labels, "matmul (dot)"
    contract, out_labels, swap = _matmul_kernel(p, sizes, ops, dtype, prefer)
    nb, m, n, k = p.nb, p.m, p.n, p.k
    key = ("pair", la, lb, out_labels, tuple(sizes[x] for x in (*la, *lb)), dtype)
    if dot is not None and ops.numpy and nb * k >= TUNE_MIN_ELEMENTS:
        cands, names = [contract, dot], ["matmul", "vecdot"]
        loop = c_loop([la, lb], out_labels)
        if loop is not None:
            cands.append(loop)
            names.append("c-loop")
        return Autotuned(cands, names, default=1, key=key), out_labels, "matmul"
    threaded: Kernel | None = None
    if ops.numpy and p.batch:
        split = (
            split_matmul((nb, n, k), (nb, k, m), dtype)
            if swap
            else split_matmul((nb, m, k), (nb, k, n), dtype)
        )
        if split is not None:
            threaded = functools.partial(contract, matmul=split)
    if ops.numpy and (m == 1 or n == 1) and nb * k * (m + n) >= TUNE_MIN_ELEMENTS:
        # Matrix-vector products stream memory: NumPy's C loop can match BLAS's gemv on some CPUs.
        loop = c_loop([la, lb], out_labels)
        if loop is not None and threaded is not None:
            cands, names = [threaded, contract, loop], ["split", "matmul", "c-loop"]
            tuned = Autotuned(cands, names, default=1, trials=3, blocks=True, key=key)
            return tuned, out_labels, "matmul"
        if loop is not None:
            tuned = Autotuned([contract, loop], ["matmul", "c-loop"], default=0, key=key)
            return tuned, out_labels, "matmul"
    if threaded is not None:
        return _split_or_plain(threaded, contract, key), out_labels, "matmul"
    return contract, out_labels, "matmul"


def _split_or_plain(split: Kernel, plain: Kernel, key: Hashable) -> Autotuned:
    """The faster of a batched matmul split across two threads and the plain one (the default), measured.

    The split kernel is timed first (``blocks``): right after a multithreaded BLAS call the idle BLAS
    worker threads keep spinning for a while and would slow it down. Three trials each in two rounds:
    the first split calls also start the helper thread, and the two kernels can be within 20% of each
    other. NumPy's C einsum loop is no candidate here: it multiplies matrices without blocking or BLAS
    (on the benchmark's E8 and E9, 3.5 and 15 times slower than ``matmul``), and its rounding differs
    from BLAS's, where the split and the plain matmul give identical results on OpenBLAS (so a batched
    matmul's result does not depend on which kernel a measurement kept; see docs/einsum.md, "Kernel
    tuning").
    """
    return Autotuned(
        [split, plain], ["split", "matmul"], default=1, trials=3, rounds=2, blocks=True, key=key
    )


def normalize_path(
    path: Path,
    n: int,
    inputs: Sequence[frozenset[Hashable]] | None = None,
    output: frozenset[Hashable] = frozenset(),
    sizes: dict[Hashable, int] | None = None,
    memory_limit: int | None = None,
) -> Path:
    """Rewrite a path so that every step names one or two positions (k-ary steps become pairwise chains).

    With the operands' label sets (``inputs``), the ``output`` labels and ``sizes``, each k-ary step is
    ordered by a search over its own operands (:func:`_order_operands`): the exact optimizer (greedy
    above :data:`~chainrule.einsum.paths.AUTO_OPTIMAL_LIMIT` operands), first keeping every
    intermediate within ``memory_limit``, then within the largest of the step's operands and result, and
    only then without a cap. Without them, the operands are chained in position order.
    """
    if all(len(step) <= 2 for step in path):
        return [tuple(step) for step in path]
    alive = list(range(n))
    labels: dict[int, frozenset[Hashable]] = dict(enumerate(inputs)) if inputs is not None else {}
    next_id = n
    ssa: list[tuple[int, ...]] = []
    for step in path:
        ids = [alive[p] for p in sorted(step)]
        for p in sorted(step, reverse=True):
            alive.pop(p)
        if len(ids) == 1:
            ssa.append((ids[0],))
            labels[next_id] = labels.get(ids[0], frozenset())
            alive.append(next_id)
            next_id += 1
            continue
        order: Path = [(0, 1)] * (len(ids) - 1)  # position order: the chain ids[0], ids[1], ...
        if inputs is not None and sizes is not None:
            needed = output.union(*(labels[i] for i in alive))
            sub = [labels[i] for i in ids]
            sub_out = frozenset(x for t in sub for x in t if x in needed)
            if len(ids) > 2:
                order = _order_operands(sub, sub_out, sizes, memory_limit)
            local = list(ids)
            for pair in order:
                a, b = (local[p] for p in pair)
                for p in sorted(pair, reverse=True):
                    local.pop(p)
                rest = sub_out.union(*(labels[i] for i in local))
                labels[next_id] = frozenset(x for x in labels[a] | labels[b] if x in rest)
                ssa.append((a, b))
                local.append(next_id)
                next_id += 1
            alive.append(local[0])
            continue
        acc = ids[0]
        for other in ids[1:]:
            ssa.append((acc, other))
            acc = next_id
            next_id += 1
        alive.append(acc)
    return ssa_to_linear(ssa, n)


def _order_operands(
    inputs: Sequence[frozenset[Hashable]],
    output: frozenset[Hashable],
    sizes: dict[Hashable, int],
    memory_limit: int | None,
) -> Path:
    """A pairwise order for the operands of one k-ary step (k > 2): the cheapest that keeps every
    intermediate within ``memory_limit``, else within the largest of the operands and the result, else
    the cheapest."""
    search = optimal if len(inputs) <= AUTO_OPTIMAL_LIMIT else greedy
    natural = max(size_of(t, sizes) for t in [*inputs, output])
    for cap in (memory_limit, natural):
        if cap is None:
            continue
        try:
            return search(inputs, output, sizes, cap)
        except ValueError:
            continue
    return search(inputs, output, sizes, None)


# ------------------------------------------------------------------------------------------- the plan


class ContractionPlan:
    """A compiled einsum for fixed shapes and dtypes; call it with the operands.

    Attributes:
        spec: the parsed einsum.
        path: the pairwise path executed (opt_einsum's position convention).
        steps: one :class:`StepInfo` per pre-step and per path step.
        dtype: the result dtype.
    """

    def __init__(
        self,
        spec: EinsumSpec,
        path: Path,
        steps: list[StepInfo],
        dtype: Any,
        casts: tuple[Any, ...],
        pre: tuple[Callable[[Any], Any] | None, ...],
        program: list[tuple[int, int, Callable[[Any, Any], Any] | None]],
        finish: Callable[[Any], Any] | None,
        direct: Callable[..., Any] | None,
        xp: Any,
    ) -> None:
        self.spec = spec
        self.path = path
        self.steps = steps
        self.dtype = dtype
        self.xp = xp
        self._casts = casts
        self._pre = pre
        self._program = program
        self._finish = finish
        self._astype = ArrayOps(xp).astype
        #: When the whole contraction is one library call (e.g. ``matmul``), the fast entry point.
        self.direct = direct

    def __call__(self, *operands: Any) -> Any:
        """Evaluate on operands with the plan's shapes and dtypes (not re-checked)."""
        if self.direct is not None:
            return self.direct(*operands)
        ops = list(operands)
        for i, dt in enumerate(self._casts):
            if dt is not None:
                ops[i] = self._astype(ops[i], dt)
        for i, f in enumerate(self._pre):
            if f is not None:
                ops[i] = f(ops[i])
        for i, j, fn in self._program:
            if fn is None:  # a one-operand step: move it to the end
                ops.append(ops.pop(i))
                continue
            b = ops.pop(j)
            a = ops.pop(i)
            ops.append(fn(a, b))
        out = ops[0]
        if self._finish is not None:
            out = self._finish(out)
        return out


def build_plan(
    spec: EinsumSpec,
    dtypes: Sequence[Any],
    xp: Any,
    optimize: Any = "auto",
    memory_limit: int | None = None,
    dtype: Any = None,
) -> ContractionPlan:
    """Compile ``spec`` for operands of ``dtypes`` in namespace ``xp``.

    ``optimize`` is any value :func:`chainrule.einsum.paths.find_path` takes; ``dtype`` overrides the
    result dtype (operands are cast to it first). The plan is called with arrays of ``spec.shapes``.

    Raises:
        ValueError: a bad ``optimize`` value or explicit path, or an unmet ``memory_limit``.
    """
    n = len(spec.inputs)
    ops = ArrayOps(xp)
    result_dtype = dtype if dtype is not None else xp.result_type(*dtypes)
    casts = tuple(None if dt == result_dtype else result_dtype for dt in dtypes)
    sizes = spec.sizes
    output = spec.output
    out_set = set(output)

    # The path works on the label sets of the original terms, in opt_einsum's cost model.
    sets = [frozenset(t) for t in spec.inputs]
    found = find_path(sets, frozenset(output), sizes, optimize, memory_limit)
    limit = memory_limit_of(memory_limit)
    path = normalize_path(found, n, sets, frozenset(output), sizes, limit)

    # Pre-steps.
    counts: dict[Hashable, int] = {}
    for t in sets:
        for x in t:
            counts[x] = counts.get(x, 0) + 1
    pre: list[Callable[[Any], Any] | None] = []
    labels: list[Labels] = []
    steps: list[StepInfo] = []
    for k, (term, shape) in enumerate(zip(spec.inputs, spec.shapes, strict=True)):
        elsewhere = {x for x in term if counts[x] > 1 or x in out_set}
        f, lab, info = _prestep(k, term, shape, spec, elsewhere, ops, result_dtype)
        pre.append(f)
        labels.append(lab)
        if info is not None:
            steps.append(info)

    # Pairwise steps.
    program: list[tuple[int, int, Callable[[Any, Any], Any] | None]] = []
    current = list(labels)
    model_terms = list(sets)
    for step_no, step in enumerate(path):
        last = step_no == len(path) - 1
        if len(step) == 1:
            (i,) = step
            current.append(current.pop(i))
            model_terms.append(model_terms.pop(i))
            program.append((i, i, None))
            continue
        i, j = sorted(step)
        lb = current.pop(j)
        la = current.pop(i)
        mb = model_terms.pop(j)
        ma = model_terms.pop(i)
        keep = set(out_set)
        for labs in current:
            keep.update(labs)
        fn, res, kernel = _pair_kernel(
            la, lb, keep, sizes, ops, result_dtype, output if last else None
        )
        tuner = fn if isinstance(fn, Autotuned) else None
        current.append(res)
        union = ma | mb
        mkeep = set(out_set).union(*model_terms) if model_terms else set(out_set)
        mres = frozenset(x for x in union if x in mkeep)
        model_terms.append(mres)
        steps.append(
            StepInfo(
                operands=(i, j),
                inputs=(la, lb),
                output=res,
                kernel=kernel,
                flops=flop_count(union, len(mres) < len(union), 2, sizes),
                tuner=tuner,
            )
        )
        program.append((i, j, fn))

    # Finish: into the output order.
    final = current[0] if current else ()
    finish: Callable[[Any], Any] | None = None
    if tuple(final) != tuple(output):
        if set(final) != out_set:  # only possible when an explicit path stopped early
            raise ValueError(f"the path leaves labels {final} instead of the output {output}")
        perm = tuple(final.index(x) for x in output)
        finish = lambda a, p=perm: ops.permute(a, p)  # noqa: E731
        steps.append(StepInfo((0,), (tuple(final),), tuple(output), "transpose", 0))
    elif n == 1 and pre[0] is None and casts[0] is None and ops.numpy:
        # Nothing to compute ("ij->ij"): like NumPy, return a view, never the operand itself.
        finish = view

    direct = _direct_call(spec, pre, casts, ops, result_dtype)
    if isinstance(direct, Autotuned):
        # The direct call replaces the plan's one pairwise step: report its tuner there.
        only = [k for k, s in enumerate(steps) if not s.pre]
        if len(only) == 1:
            steps[only[0]] = replace(steps[only[0]], tuner=direct)
    return ContractionPlan(
        spec, path, steps, result_dtype, casts, tuple(pre), program, finish, direct, xp
    )


def _direct_call(
    spec: EinsumSpec,
    pre: Sequence[Callable[[Any], Any] | None],
    casts: Sequence[Any],
    ops: ArrayOps,
    dtype: Any,
) -> Callable[..., Any] | None:
    """The single library call that computes the whole einsum, when there is one.

    ``(..., m, k), (..., k, n) -> (..., m, n)`` with identical batch labels is exactly ``matmul`` (on
    NumPy, for large batches, measured against the batch split across two threads).
    """
    if (
        len(spec.inputs) != 2
        or any(c is not None for c in casts)
        or any(p is not None for p in pre)
    ):
        return None
    la, lb = spec.inputs
    out = spec.output
    if len(la) < 2 or len(lb) < 2 or len(la) != len(lb):
        return None
    batch = la[:-2]
    m, k = la[-2:]
    k2, n = lb[-2:]
    if lb[:-2] != batch or k2 != k or len({*batch, m, k, n}) != len(la) + 1:
        return None
    if out != (*batch, m, n):
        return None
    if any(spec.shapes[0][i] != spec.shapes[1][i] for i in range(len(batch))):
        return None  # batch broadcasting: leave it to the general plan
    if ops.numpy:
        split = split_matmul(spec.shapes[0], spec.shapes[1], dtype)
        if split is not None:
            key = ("direct", spec.shapes[0], spec.shapes[1], dtype)
            return _split_or_plain(split, ops.matmul, key)
    return ops.matmul
