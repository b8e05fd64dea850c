"""Einsum on Dask arrays: the in-memory plan's path, one bounded blockwise contraction per pair.

:func:`dask_einsum` returns a lazy Dask array. It follows the same :class:`EinsumSpec` and the same
contraction path as the in-memory plan (:mod:`chainrule.einsum.plan`), and builds, per step:

0. **Chunks**: every label gets one chunking, taken from the largest Dask operand that has it (a label
   only NumPy operands have is one chunk); operands are rechunked to it once, NumPy operands wrapped
   with those chunks (``from_array``). Size-1 dimensions that broadcast are squeezed first, operands of
   another dtype cast to the result dtype.
1. **Single-operand steps**: diagonals of repeated labels (``diagonal``), sums of labels nothing else
   needs (a tree reduction), as in the in-memory pre-steps.
2. **Pairwise steps**: one ``blockwise`` over the step's result labels plus its contracted labels that
   span more than one chunk. Each task contracts one block of each operand with chainrule's own
   in-memory einsum (so its memory is bounded by the chunk sizes, never by the whole contracted axis)
   and returns a partial result with size 1 along those contracted block axes; a tree reduction then
   adds the partials ``split_every`` at a time, without concatenating them. Contracted labels held in
   one chunk are summed inside the tasks directly. Nothing is summed (an outer or Hadamard product):
   the blockwise alone.
3. **Finish**: a transpose into the output order.

Unlike ``dask.array.einsum``, which runs one blockwise over every label of the whole expression, no
task here ever holds blocks of more than the two operands of one step.

:func:`dask_plan_info` estimates, from the chunks alone, each step's task count and the peak bytes of
the planned graph (the model is in :class:`DaskStepInfo` and docs/scale.md).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chainrule.backend import array_namespace, dask_array_module, is_dask_array
from chainrule.einsum.notation import EinsumSpec

__all__ = [
    "SPLIT_EVERY",
    "DaskPlanInfo",
    "DaskStepInfo",
    "dask_einsum",
    "dask_plan_info",
    "label_chunks",
]

Labels = tuple[Hashable, ...]
Chunks = tuple[tuple[int, ...], ...]

#: Partial results added per reduction task (tree reduction fan-in).
SPLIT_EVERY = 4


@dataclass(frozen=True)
class DaskStepInfo:
    """One step of the Dask graph, for reports.

    Attributes:
        kernel: ``"blockwise+sum"`` (pairwise contraction then tree reduction), ``"blockwise"``
            (nothing summed across chunks), ``"diagonal"``, ``"sum"``, ``"diagonal+sum"``,
            ``"transpose"``.
        inputs: labels of the consumed operands; ``output``: labels of the result.
        blocks_in: number of chunks of each consumed operand.
        tasks: tasks of the step's blockwise (the product of the chunk counts over its result labels
            and contracted labels spanning several chunks); for single-operand steps, its chunk count.
        blocks_out: number of chunks of the result.
        reduce_tasks: tasks of the tree reduction (0 when none): its per-block layer (one task per
            partial block, which Dask fuses with the blockwise when it runs the graph) and its levels,
            each adding ``split_every`` partials (exact for one contracted label spanning several
            chunks; with several, Dask spreads the fan-in over them and the count is approximate).
        task_bytes: the largest working set of one task, from the largest chunk per label: for a
            contraction task one block of each operand plus its output block; for a reduction task
            ``split_every`` partial blocks plus the sum; for a single-operand step its input block
            plus its output block.
    """

    kernel: str
    inputs: tuple[Labels, ...]
    output: Labels
    blocks_in: tuple[int, ...]
    tasks: int
    blocks_out: int
    reduce_tasks: int
    task_bytes: int


@dataclass(frozen=True)
class DaskPlanInfo:
    """The Dask part of an ``einsum_path`` report.

    Attributes:
        steps: per step, its chunk counts and working set (:class:`DaskStepInfo`).
        peak_bytes: the largest ``task_bytes`` of any step: what one worker thread needs at once to
            run the graph (a worker with ``t`` threads about ``t`` times that, plus the blocks that
            wait for their consumers).
        total_tasks: tasks of the whole graph as built (the input chunks not counted).
        split_every: the reduction fan-in.
        itemsize: bytes per element of the result dtype.
    """

    steps: tuple[DaskStepInfo, ...]
    peak_bytes: int
    total_tasks: int
    split_every: int
    itemsize: int


def label_chunks(
    spec: EinsumSpec, chunks: Sequence[Chunks | None]
) -> dict[Hashable, tuple[int, ...]]:
    """One chunking per label: that of the largest operand with chunks (``None``: a NumPy operand)
    that has the label at full size; a label no chunked operand has is one chunk."""
    best: dict[Hashable, tuple[int, tuple[int, ...]]] = {}
    for labels, shape, ch in zip(spec.inputs, spec.shapes, chunks, strict=True):
        if ch is None:
            continue
        n = math.prod(shape)
        for axis, (x, d) in enumerate(zip(labels, shape, strict=True)):
            if d != spec.sizes[x] or (d == 1 and spec.sizes[x] == 1 and x in best):
                continue
            if x not in best or n > best[x][0]:
                best[x] = (n, tuple(ch[axis]))
    return {x: best[x][1] if x in best else (d,) for x, d in spec.sizes.items()}


def _nblocks(labels: Labels, lc: dict[Hashable, tuple[int, ...]]) -> int:
    return math.prod(len(lc[x]) for x in labels)


def _block_elements(labels: Labels, lc: dict[Hashable, tuple[int, ...]]) -> int:
    return math.prod(max(lc[x], default=0) for x in labels)


def _flatten(blocks: Any) -> Iterator[Any]:
    if isinstance(blocks, list):
        for b in blocks:
            yield from _flatten(b)
    else:
        yield blocks


def _keep_block(x: Any, axis: Any = None, keepdims: bool = True, **_: Any) -> Any:
    """The reduction's per-chunk function: the partials are already contracted."""
    return x


def _add_partials(blocks: Any, axis: Any = None, keepdims: bool = False, **_: Any) -> Any:
    """Add partial blocks (nested lists, as Dask passes them without concatenation); drop ``axis``
    (size 1 each) unless ``keepdims``."""
    parts = list(_flatten(blocks))
    out = parts[0]
    for b in parts[1:]:
        out = out + b
    if not keepdims:
        axes = set(axis) if isinstance(axis, tuple | list) else {axis}
        xp = array_namespace(out)
        out = xp.reshape(out, tuple(d for i, d in enumerate(out.shape) if i not in axes))
    return out


def _contract_blocks(
    a: Any, b: Any, *, la: list[int], lb: list[int], out: list[int], ncon: int
) -> Any:
    """One task: contract one block of each operand in memory; ``ncon`` trailing size-1 axes stand
    for the contracted block axes that the tree reduction sums."""
    from chainrule.einsum.api import einsum

    r = einsum(a, la, b, lb, out)
    if ncon:
        xp = array_namespace(r)
        r = xp.reshape(r, (*r.shape, *(1,) * ncon))
    return r


class _Walk:
    """The plan walked once, either building the Dask graph (``da`` given) or only counting."""

    def __init__(
        self,
        spec: EinsumSpec,
        path: Sequence[tuple[int, ...]],
        lc: dict[Hashable, tuple[int, ...]],
        itemsize: int,
        split_every: int,
    ) -> None:
        self.spec = spec
        self.path = path
        self.lc = lc
        self.itemsize = itemsize
        self.split_every = split_every
        self.ids = {x: i for i, x in enumerate(spec.labels())}
        self.steps: list[DaskStepInfo] = []

    def nbytes(self, labels: Labels) -> int:
        return _block_elements(labels, self.lc) * self.itemsize

    def prestep(
        self, x: Any, labels: Labels, elsewhere: set[Hashable], da: Any, dtype: Any
    ) -> tuple[Any, Labels]:
        """Diagonals, then sums of labels nothing else needs: (array or None, labels after)."""
        cur = list(labels)
        kernels: list[str] = []
        while len(set(cur)) < len(cur):
            seen: dict[Hashable, int] = {}
            for i, lab in enumerate(cur):
                if lab in seen:
                    ax1, ax2 = seen[lab], i
                    break
                seen[lab] = i
            label = cur[ax1]
            cur = [lab for i, lab in enumerate(cur) if i not in (ax1, ax2)] + [label]
            if da is not None:
                x = da.diagonal(x, 0, ax1, ax2)
                want = tuple(self.lc[lab] for lab in cur)
                if x.chunks != want:
                    x = x.rechunk(want)
            if "diagonal" not in kernels:
                kernels.append("diagonal")
        lone = tuple(i for i, lab in enumerate(cur) if lab not in elsewhere)
        before = tuple(cur)
        if lone:
            cur = [lab for i, lab in enumerate(cur) if i not in lone]
            if da is not None:
                x = x.sum(axis=lone, dtype=dtype, split_every=self.split_every)
            kernels.append("sum")
        if kernels:
            tasks = _nblocks(tuple(labels), self.lc)
            self.steps.append(
                DaskStepInfo(
                    kernel="+".join(kernels),
                    inputs=(tuple(labels),),
                    output=tuple(cur),
                    blocks_in=(tasks,),
                    tasks=tasks,
                    blocks_out=_nblocks(tuple(cur), self.lc),
                    reduce_tasks=0,
                    task_bytes=self.nbytes(tuple(labels))
                    + max(self.nbytes(before), self.nbytes(tuple(cur))),
                )
            )
        return x, tuple(cur)

    def pair(
        self,
        a: Any,
        la: Labels,
        b: Any,
        lb: Labels,
        keep: set[Hashable],
        prefer: Labels | None,
        da: Any,
        dtype: Any,
    ) -> tuple[Any, Labels]:
        """One pairwise step: blockwise contraction, then a tree reduction across chunks."""
        sa, sb = set(la), set(lb)
        both = sa & sb
        batch = [x for x in la if x in both and x in keep]
        con = [x for x in la if x in both and x not in keep]
        fa = [x for x in la if x not in sb and x in keep]
        fb = [x for x in lb if x not in sa and x in keep]
        lone_a = [x for x in la if x not in sb and x not in keep]
        lone_b = [x for x in lb if x not in sa and x not in keep]
        out = (*batch, *fa, *fb)
        if prefer is not None and set(prefer) == set(out):
            out = tuple(prefer)
        summed = [*con, *lone_a, *lone_b]
        multi = tuple(x for x in summed if len(self.lc[x]) > 1)
        tasks = _nblocks(out + multi, self.lc)
        reduce_tasks = tasks if multi else 0  # the reduction's per-block layer (fused when run)
        if multi:
            fan = self.split_every
            n = math.prod(len(self.lc[x]) for x in multi)
            while n > 1:
                n = -(-n // fan)
                reduce_tasks += n * _nblocks(out, self.lc)
        out_bytes = self.nbytes(out)
        task_bytes = self.nbytes(la) + self.nbytes(lb) + out_bytes
        if multi:
            task_bytes = max(task_bytes, (self.split_every + 1) * out_bytes)
        self.steps.append(
            DaskStepInfo(
                kernel="blockwise+sum" if multi else "blockwise",
                inputs=(la, lb),
                output=out,
                blocks_in=(_nblocks(la, self.lc), _nblocks(lb, self.lc)),
                tasks=tasks,
                blocks_out=_nblocks(out, self.lc),
                reduce_tasks=reduce_tasks,
                task_bytes=task_bytes,
            )
        )
        if da is None:
            return None, out
        name = {x: f"l{self.ids[x]}" for x in (*la, *lb)}
        r = da.blockwise(
            _contract_blocks,
            tuple(name[x] for x in out + multi),
            a,
            tuple(name[x] for x in la),
            b,
            tuple(name[x] for x in lb),
            dtype=dtype,
            adjust_chunks={name[x]: 1 for x in multi},
            concatenate=True,
            meta=self.meta(a, len(out) + len(multi), dtype),
            la=[self.ids[x] for x in la],
            lb=[self.ids[x] for x in lb],
            out=[self.ids[x] for x in out],
            ncon=len(multi),
        )
        if multi:
            r = da.reduction(
                r,
                _keep_block,
                _add_partials,
                combine=_add_partials,
                axis=tuple(range(len(out), len(out) + len(multi))),
                dtype=dtype,
                concatenate=False,
                split_every=self.split_every,
                meta=self.meta(a, len(out), dtype),
            )
        return r, out

    @staticmethod
    def meta(x: Any, ndim: int, dtype: Any) -> Any:
        """An empty array of the chunks' type (NumPy, CuPy) with ``ndim`` dimensions."""
        base = x._meta
        xp = array_namespace(base)
        return xp.zeros((0,) * ndim, dtype=dtype)


def _walk(
    spec: EinsumSpec,
    path: Sequence[tuple[int, ...]],
    operands: Sequence[Any] | None,
    lc: dict[Hashable, tuple[int, ...]],
    dtype: Any,
    itemsize: int,
    split_every: int,
) -> tuple[Any, _Walk]:
    """Walk ``path`` over ``operands`` (None: count only) and return (result or None, the walk)."""
    da = dask_array_module() if operands is not None else None
    walk = _Walk(spec, path, lc, itemsize, split_every)
    sizes = spec.sizes
    out_set = set(spec.output)
    counts: dict[Hashable, int] = {}
    for t in spec.inputs:
        for y in set(t):
            counts[y] = counts.get(y, 0) + 1
    arrays: list[Any] = []
    labels: list[Labels] = []
    for k, (term, shape) in enumerate(zip(spec.inputs, spec.shapes, strict=True)):
        squeeze = {
            i for i, (y, d) in enumerate(zip(term, shape, strict=True)) if d == 1 and sizes[y] != 1
        }
        lab = tuple(y for i, y in enumerate(term) if i not in squeeze)
        x: Any = None
        if da is not None and operands is not None:
            x = operands[k]
            if squeeze:
                x = x[tuple(0 if i in squeeze else slice(None) for i in range(len(term)))]
            want = tuple(lc[y] for y in lab)
            if not is_dask_array(x):
                x = da.from_array(x, chunks=want)
            elif x.chunks != want:
                x = x.rechunk(want)
            if x.dtype != dtype:
                x = x.astype(dtype)
        elsewhere = {y for y in term if counts[y] > 1 or y in out_set}
        x, lab = walk.prestep(x, lab, elsewhere, da, dtype)
        arrays.append(x)
        labels.append(lab)
    for step_no, step in enumerate(path):
        last = step_no == len(path) - 1
        if len(step) == 1:
            (i,) = step
            arrays.append(arrays.pop(i))
            labels.append(labels.pop(i))
            continue
        i, j = sorted(step)
        b, lb = arrays.pop(j), labels.pop(j)
        a, la = arrays.pop(i), labels.pop(i)
        keep = set(out_set)
        for lab in labels:
            keep.update(lab)
        r, res = walk.pair(a, la, b, lb, keep, spec.output if last else None, da, dtype)
        arrays.append(r)
        labels.append(res)
    final = labels[0]
    result = arrays[0]
    if tuple(final) != tuple(spec.output):
        if set(final) != out_set:  # an explicit path that stopped early
            raise ValueError(f"the path leaves labels {final} instead of the output {spec.output}")
        perm = tuple(final.index(x) for x in spec.output)
        if da is not None:
            result = da.transpose(result, perm)
        n = _nblocks(tuple(final), lc)
        walk.steps.append(
            DaskStepInfo(
                "transpose",
                (tuple(final),),
                tuple(spec.output),
                (n,),
                n,
                n,
                0,
                2 * walk.nbytes(final),
            )
        )
    return result, walk


def dask_einsum(
    spec: EinsumSpec,
    path: Sequence[tuple[int, ...]],
    operands: Sequence[Any],
    dtype: Any,
    split_every: int = SPLIT_EVERY,
) -> Any:
    """The lazy Dask array of ``spec`` on ``operands`` (Dask arrays, NumPy arrays mixed in), along
    ``path``, in ``dtype``.

    Raises:
        ValueError: an explicit path that does not end at the output.
    """
    chunks = [x.chunks if is_dask_array(x) else None for x in operands]
    lc = label_chunks(spec, chunks)
    result, _ = _walk(spec, path, operands, lc, dtype, 0, split_every)
    return result


def dask_plan_info(
    spec: EinsumSpec,
    path: Sequence[tuple[int, ...]],
    chunks: Sequence[Chunks | None],
    itemsize: int,
    split_every: int = SPLIT_EVERY,
) -> DaskPlanInfo:
    """The task counts and peak-bytes estimate of :func:`dask_einsum`'s graph, from chunks alone."""
    lc = label_chunks(spec, chunks)
    _, walk = _walk(spec, path, None, lc, None, itemsize, split_every)
    steps = tuple(walk.steps)
    return DaskPlanInfo(
        steps=steps,
        peak_bytes=max((s.task_bytes for s in steps), default=0),
        total_tasks=sum(s.tasks + s.reduce_tasks for s in steps),
        split_every=split_every,
        itemsize=itemsize,
    )
