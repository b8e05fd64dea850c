"""The contraction report returned by ``einsum_path``: costs, the largest intermediate, and every step."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from chainrule.einsum.dask_plan import DaskPlanInfo
from chainrule.einsum.notation import label_letters
from chainrule.einsum.paths import Path, flop_count, path_cost, size_of
from chainrule.einsum.plan import ContractionPlan, StepInfo

__all__ = ["PathInfo", "path_info"]


@dataclass(frozen=True)
class PathInfo:
    """What a plan does and what it costs; ``str(info)`` is the readable report.

    Attributes:
        subscripts: the einsum written with one letter per label.
        path: the pairwise path (opt_einsum's position convention).
        naive_cost: FLOPs of one loop over every label at once (opt_einsum's model).
        opt_cost: FLOPs of the path in the same model.
        speedup: ``naive_cost / opt_cost``.
        largest_intermediate: elements of the largest tensor a step produces (the output included).
        steps: per step (pre-steps first), its subscripts and kernel; a step whose kernel is chosen by
            measurement carries its tuner, and the report prints a line under it, read when printed:
            ``tuned: blas 3.90 ms (kept) vs sum 5.10 ms vs c-loop 5.20 ms`` (best time of each
            candidate), ``tuned on the first calls: ...`` before any decision, or ``tuning off``.
        step_subscripts: the subscripts of each entry of ``steps``.
        sizes: the size of each label, by its letter.
        dtype: the result dtype.
        dask: with Dask operands, the lazy graph's per-step chunk and task counts and its peak-bytes
            estimate (:class:`~chainrule.einsum.dask_plan.DaskPlanInfo`); otherwise None.
        dask_subscripts: the subscripts of each entry of ``dask.steps`` (empty without Dask).
    """

    subscripts: str
    path: Path
    naive_cost: int
    opt_cost: int
    speedup: float
    largest_intermediate: int
    steps: tuple[StepInfo, ...]
    step_subscripts: tuple[str, ...]
    sizes: dict[str, int]
    dtype: str
    dask: DaskPlanInfo | None = None
    dask_subscripts: tuple[str, ...] = ()

    def __str__(self) -> str:
        size_text = ", ".join(f"{x}={d}" for x, d in self.sizes.items())
        lines = [
            f"  Complete contraction:  {self.subscripts}",
            f"         Label sizes:  {size_text or '(none)'}",
            f"    Naive FLOP count:  {self.naive_cost:.3e}",
            f"Optimized FLOP count:  {self.opt_cost:.3e}",
            f" Theoretical speedup:  {self.speedup:.3g}x",
            f"Largest intermediate:  {self.largest_intermediate:.3e} elements",
            f"        Result dtype:  {self.dtype}",
            "-" * 78,
            f"{'step':>4}  {'operands':<9} {'subscripts':<34} {'kernel':<14} {'FLOPs':>10}",
            "-" * 78,
        ]
        for k, (step, text) in enumerate(zip(self.steps, self.step_subscripts, strict=True)):
            where = f"pre {step.operands[0]}" if step.pre else str(step.operands)
            flops = f"{step.flops:.2e}" if step.flops else "0"
            lines.append(f"{k:>4}  {where:<9} {text:<34} {step.kernel:<14} {flops:>10}")
            if step.tuner is not None:
                lines.append(f"{'':>16}{step.tuner.describe()}")
        if any(step.pre for step in self.steps):
            lines.append(
                "(FLOPs follow opt_einsum's model, each path step counted on the labels of the operands "
                "as given; pre-steps, which that model folds into the path steps, show the elements they "
                "read and are not added to the total)"
            )
        if self.dask is not None:
            lines += self._dask_lines(self.dask)
        return "\n".join(lines)

    def _dask_lines(self, dask: DaskPlanInfo) -> list[str]:
        lines = [
            "-" * 78,
            f"Dask graph: {dask.total_tasks} tasks, tree reductions of {dask.split_every}, "
            f"peak bytes per task ~ {dask.peak_bytes:.3e}",
            f"{'step':>4}  {'subscripts':<30} {'kernel':<14} {'chunks in':>12} "
            f"{'tasks':>7} {'out':>5} {'task bytes':>10}",
        ]
        for k, (step, text) in enumerate(zip(dask.steps, self.dask_subscripts, strict=True)):
            blocks = "x".join(str(b) for b in step.blocks_in)
            tasks = step.tasks + step.reduce_tasks
            lines.append(
                f"{k:>4}  {text:<30} {step.kernel:<14} {blocks:>12} {tasks:>7} {step.blocks_out:>5} "
                f"{step.task_bytes:>10.3e}"
            )
        return lines


def path_info(plan: ContractionPlan, dask: DaskPlanInfo | None = None) -> PathInfo:
    """The report of ``plan`` (with ``dask``, the Dask graph's estimate for its operands' chunks)."""
    spec = plan.spec
    letters = label_letters(spec.labels())
    sets = [frozenset(t) for t in spec.inputs]
    output = frozenset(spec.output)
    every = frozenset().union(*sets)
    inner = sum(len(s) for s in sets) - len(every) > 0
    naive = flop_count(every, inner, len(sets), spec.sizes)
    opt, largest = path_cost(sets, output, spec.sizes, plan.path)
    if not plan.path:
        largest = size_of(output, spec.sizes)

    def word(labels: tuple[Hashable, ...]) -> str:
        return "".join(letters[x] for x in labels)

    texts = tuple(",".join(word(t) for t in s.inputs) + "->" + word(s.output) for s in plan.steps)
    return PathInfo(
        subscripts=spec.subscripts,
        path=list(plan.path),
        naive_cost=naive,
        opt_cost=opt,
        speedup=naive / max(opt, 1),
        largest_intermediate=largest,
        steps=tuple(plan.steps),
        step_subscripts=texts,
        sizes={letters[x]: d for x, d in spec.sizes.items()},
        dtype=str(plan.dtype),
        dask=dask,
        dask_subscripts=tuple(
            ",".join(word(t) for t in s.inputs) + "->" + word(s.output) for s in dask.steps
        )
        if dask is not None
        else (),
    )
