"""The einsum entry points: :func:`einsum`, :func:`einsum_path` and :func:`contract_expression`.

Plans are cached by (subscripts or sublists, optimize, and per operand its type, shape and dtype) in a
bounded LRU cache (:data:`PLAN_CACHE`), so a repeated small call costs a dict lookup plus the kernels.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from chainrule.backend import any_dask, array_namespace, is_numpy_namespace
from chainrule.einsum.cache import LRUCache
from chainrule.einsum.notation import EinsumSpec, parse
from chainrule.einsum.plan import ContractionPlan, build_plan
from chainrule.einsum.report import PathInfo, path_info

__all__ = ["PLAN_CACHE", "ContractExpression", "contract_expression", "einsum", "einsum_path"]

#: Compiled plans (or, for a contraction that is one library call, that call), least recently used first.
PLAN_CACHE = LRUCache(maxsize=1024)


def _hashable_optimize(optimize: Any) -> Hashable:
    if isinstance(optimize, list | tuple):
        return tuple(tuple(s) if isinstance(s, list | tuple) else s for s in optimize)
    return optimize


def _operand_key(notation: Any, optimize: Any, arrays: Sequence[Any]) -> tuple[Any, ...]:
    """The plan-cache key: notation, optimize, then per operand its type, shape and dtype (flat)."""
    key: list[Any] = [notation, optimize]
    for x in arrays:
        key += (x.__class__, x.shape, x.dtype)
    return tuple(key)


def _operands_of(args: Sequence[Any]) -> list[Any]:
    """The operands of either call form: after the subscripts, or every other argument (the sublists
    and a trailing output sublist left out)."""
    if isinstance(args[0], str):
        return list(args[1:])
    return list(args[0 : len(args) - len(args) % 2 : 2])


def _split_call(
    subscripts: Any, operands: Sequence[Any]
) -> tuple[list[Any], list[Any], Hashable | None]:
    """(parse arguments with arrays in place, the arrays, the notation part of the cache key)."""
    if isinstance(subscripts, str):
        return [subscripts, *operands], list(operands), subscripts
    args = [subscripts, *operands]
    try:
        key: Hashable | None = (
            "sublist",
            tuple(tuple(s) for s in args[1::2]),
            tuple(args[-1]) if len(args) % 2 == 1 else None,
        )
        hash(key)
    except TypeError:
        key = None  # unhashable labels: parse() names them
    return args, _operands_of(args), key


def _as_arrays(arrays: list[Any]) -> tuple[list[Any], Any]:
    """Every operand as an array of one namespace (Python scalars and lists converted)."""
    xp = array_namespace(*arrays)
    return [x if hasattr(x, "shape") and hasattr(x, "dtype") else xp.asarray(x) for x in arrays], xp


def _resolve_dtype(dtype: Any, xp: Any) -> Any:
    """``dtype`` as a dtype of ``xp``: a name is looked up (NumPy reads every spelling, ``"f4"`` too).

    Raises:
        ValueError: a name that ``xp`` does not know.
    """
    if isinstance(dtype, str):
        try:
            return xp.dtype(dtype) if is_numpy_namespace(xp) else getattr(xp, dtype)
        except (AttributeError, TypeError):
            raise ValueError(f"unknown dtype {dtype!r}") from None
    return dtype


def _can_cast(xp: Any, src: Any, dst: Any, casting: str) -> bool:
    if casting == "unsafe":
        return True
    try:
        return bool(xp.can_cast(src, dst, casting=casting))
    except TypeError:  # a namespace whose can_cast only knows the "safe" rule
        return bool(xp.can_cast(src, dst))


def _plan_for(
    key: Hashable | None,
    args: list[Any],
    arrays: list[Any],
    xp: Any,
    optimize: Any,
    dtype: Any,
    casting: str,
) -> Any:
    if dtype is not None:
        for k, a in enumerate(arrays):
            if not _can_cast(xp, a.dtype, dtype, casting):
                raise TypeError(
                    f"operand {k} of dtype {a.dtype} cannot be cast to dtype={dtype} under the "
                    f"{casting!r} casting rule"
                )
    if any_dask(*arrays):
        for k, a in enumerate(arrays):
            if any(not isinstance(d, int) for d in a.shape):
                raise ValueError(
                    f"operand {k} has unknown chunk sizes (shape {tuple(a.shape)}): call its "
                    "compute_chunk_sizes() first"
                )
    spec = parse(*args)
    if any_dask(*arrays):
        runner: Any = DaskRunner(spec, [a.dtype for a in arrays], xp, optimize, dtype)
        if key is not None:
            PLAN_CACHE.put(key, runner)
        return runner
    plan = build_plan(spec, [a.dtype for a in arrays], xp, optimize, None, dtype)
    runner = plan.direct if plan.direct is not None else plan
    if key is not None:
        PLAN_CACHE.put(key, runner)
    return runner


class DaskRunner:
    """A cached einsum on Dask operands: the in-memory plan's path, executed as a lazy Dask graph
    (:mod:`chainrule.einsum.dask_plan`); chunks are read on every call."""

    def __init__(
        self, spec: EinsumSpec, dtypes: Sequence[Any], xp: Any, optimize: Any, dtype: Any
    ) -> None:
        self.plan = build_plan(spec, dtypes, xp, optimize, None, dtype)

    def __call__(self, *operands: Any) -> Any:
        from chainrule.einsum.dask_plan import dask_einsum

        return dask_einsum(self.plan.spec, self.plan.path, operands, self.plan.dtype)


class _DaskPlanRunner(DaskRunner):
    """A :class:`DaskRunner` around a plan that is already built (for :class:`ContractExpression`)."""

    def __init__(self, plan: ContractionPlan) -> None:
        self.plan = plan


def einsum(
    subscripts: Any,
    /,
    *operands: Any,
    out: Any = None,
    optimize: Any = "auto",
    dtype: Any = None,
    casting: str = "safe",
) -> Any:
    """Evaluate an Einstein summation with NumPy's semantics, pairwise on BLAS.

    Call forms: ``einsum("ij,jk->ik", a, b)`` and ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (any hashable
    labels in sublists). See :mod:`chainrule.einsum.notation` for the notation and its decisions
    (``'...i->i'`` sums the broadcast dimensions).

    Args:
        subscripts: the subscripts string, or the first operand of the sublist form.
        operands: the arrays (any Array API namespace; Python scalars and lists are converted).
        out: an array of the output shape to write the result into (returned).
        optimize: ``"auto"`` (default), ``"optimal"``, ``"greedy"``, ``True`` (= auto), ``False``
            (left to right), ``(name, memory_limit)``, or an explicit path.
        dtype: compute and return in this dtype (operands cast first, under ``casting``).
        casting: NumPy's casting rule for ``dtype`` and ``out`` (default ``"safe"``).

    Returns:
        The result, of the promoted dtype of the operands (or ``dtype``). Integer contractions accumulate in
        that dtype and wrap on overflow, as in ``numpy.einsum``. As in NumPy, a pure relabelling (transpose,
        diagonal) may return a view of the operand (diagonal views are read-only here). Large NumPy sums
        and batched dot products time their two kernels (BLAS or NumPy's loop) on the first calls of a
        plan and keep the faster (:mod:`chainrule.einsum.tuning`); those first results may differ from
        later ones in the last bits of rounding. Large batched matmuls of small items (at most 64³)
        likewise time NumPy's matmul against the batch split across two threads
        (:mod:`chainrule.einsum.parallel`; on OpenBLAS both give identical results).

    Raises:
        ValueError: malformed notation (the message names the label, term or operand), a size mismatch
            (both sizes), a bad ``optimize``, an unknown ``dtype`` name, or an ``out`` of the wrong
            shape.
        TypeError: ``out`` is not an array, or ``dtype`` or ``out`` needs a cast that ``casting``
            forbids.
    """
    if subscripts.__class__ is str:
        # The hot path: one flat tuple (the same key _einsum_general stores), one dict lookup, the kernels.
        # (A dtype given by name misses here: the stored key holds the resolved dtype.)
        try:
            if len(operands) == 2:
                a, b = operands
                key: Any = (
                    subscripts,
                    optimize,
                    a.__class__,
                    a.shape,
                    a.dtype,
                    b.__class__,
                    b.shape,
                    b.dtype,
                )
            else:
                key = _operand_key(subscripts, optimize, operands)
            if dtype is not None:
                key = (key, "dtype", dtype, casting)
            runner = PLAN_CACHE.get(key)
        except (AttributeError, TypeError):
            runner = None
        if runner is not None:
            if out is None:
                return runner(*operands)
            return _write_out(runner(*operands), out, None, casting)
    else:
        # The sublist form's hot path (autodiff writes every einsum VJP this way).
        args = (subscripts, *operands)
        arrays = args[0::2]
        try:
            if len(args) % 2:
                notation: Any = ("sublist", tuple(map(tuple, args[1::2])), tuple(arrays[-1]))
                arrays = arrays[:-1]
            else:
                notation = ("sublist", tuple(map(tuple, args[1::2])), None)
            key = _operand_key(notation, optimize, arrays)
            if dtype is not None:
                key = (key, "dtype", dtype, casting)
            runner = PLAN_CACHE.get(key)
        except (AttributeError, TypeError):
            runner = None
        if runner is not None:
            if out is None:
                return runner(*arrays)
            return _write_out(runner(*arrays), out, None, casting)
    return _einsum_general(subscripts, operands, out, optimize, dtype, casting)


def _einsum_general(
    subscripts: Any, operands: Sequence[Any], out: Any, optimize: Any, dtype: Any, casting: str
) -> Any:
    args, arrays, notation_key = _split_call(subscripts, operands)
    if not arrays:
        raise ValueError("einsum needs at least one operand")
    arrays, xp = _as_arrays(arrays)
    if isinstance(subscripts, str):
        args = [subscripts, *arrays]
    else:
        for k, a in enumerate(arrays):
            args[2 * k] = a
    dtype = _resolve_dtype(dtype, xp)
    key: Hashable | None = None
    if notation_key is not None:
        key = _operand_key(notation_key, _hashable_optimize(optimize), arrays)
        if dtype is not None:
            key = (key, "dtype", dtype, casting)
        try:
            hash(key)
        except TypeError:
            key = None
    runner = PLAN_CACHE.get(key) if key is not None else None
    if runner is None:
        runner = _plan_for(key, args, arrays, xp, optimize, dtype, casting)
    result = runner(*arrays)
    if out is None:
        return result
    return _write_out(result, out, xp, casting)


def _write_out(result: Any, out: Any, xp: Any, casting: str) -> Any:
    """Copy ``result`` into ``out`` and return ``out``; ``xp`` None: the namespace of ``result``.

    Raises:
        TypeError: ``out`` is not an array, or ``casting`` forbids the cast to its dtype.
        ValueError: ``out`` has another shape than the result.
    """
    if not (hasattr(out, "shape") and hasattr(out, "dtype")):
        raise TypeError(f"out must be an array, got {type(out).__name__}")
    if tuple(out.shape) != tuple(result.shape):
        raise ValueError(
            f"out has shape {tuple(out.shape)} but the result has shape {tuple(result.shape)}"
        )
    if out.dtype != result.dtype:  # equal dtypes pass every casting rule
        if xp is None:  # a cached plan's call: NumPy's own can_cast for NumPy results
            xp = np if isinstance(result, np.ndarray | np.generic) else array_namespace(result)
        if not _can_cast(xp, result.dtype, out.dtype, casting):
            raise TypeError(
                f"result of dtype {result.dtype} cannot be cast to out's dtype {out.dtype} "
                f"under {casting!r}"
            )
    out[...] = result
    return out


def _spec_and_dtypes(args: Sequence[Any]) -> tuple[EinsumSpec, list[Any], Any]:
    spec = parse(*args)
    operands = _operands_of(args)
    arrays = [x for x in operands if hasattr(x, "shape") and hasattr(x, "dtype")]
    xp = array_namespace(*arrays)
    if len(arrays) == len(operands):
        dtypes = [a.dtype for a in arrays]
    else:  # shapes only: plan as float64
        dtypes = [xp.float64] * len(operands)
    return spec, dtypes, xp


def _memory_limit(limit: Any, spec: EinsumSpec) -> int | None:
    if limit is None:
        return None
    if limit == "max_input":
        return max((_size(s) for s in spec.shapes), default=1)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0:
        raise ValueError(f"memory_limit must be a number of elements or 'max_input', got {limit!r}")
    return int(limit)


def _size(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def einsum_path(
    subscripts: Any, /, *operands: Any, optimize: Any = "auto", memory_limit: Any = None
) -> tuple[list[tuple[int, ...]], PathInfo]:
    """The contraction path and its report, without evaluating anything.

    Operands may be arrays or shapes (tuples of ints), in either call form; with shapes only the plan
    assumes float64. ``str(info)`` is the report: naive and optimized FLOPs (opt_einsum's model),
    speedup, largest intermediate and, per step, its subscripts and kernel (``matmul``, ``multiply``,
    ``sum``, ``diagonal``). With a Dask operand, ``info.dask`` (:class:`~chainrule.einsum.dask_plan.
    DaskPlanInfo`) adds per step the chunk and task counts of the lazy graph and the estimated peak
    bytes of one task (see docs/scale.md), and the report prints them.

    Returns:
        ``(path, info)``: the pairwise path as a list of position tuples (opt_einsum's and NumPy's
        convention, so ``optimize=path`` replays it), and the :class:`PathInfo` report.

    Raises:
        ValueError: as :func:`einsum`; also when no path meets ``memory_limit`` (elements, or
            ``"max_input"``).
    """
    spec, dtypes, xp = _spec_and_dtypes([subscripts, *operands])
    plan = build_plan(spec, dtypes, xp, optimize, _memory_limit(memory_limit, spec))
    arrays = _operands_of([subscripts, *operands])
    if any_dask(*arrays):
        from chainrule.einsum.dask_plan import dask_plan_info

        chunks = [getattr(a, "chunks", None) if any_dask(a) else None for a in arrays]
        itemsize = int(getattr(plan.dtype, "itemsize", 8))
        dask_info = dask_plan_info(spec, plan.path, chunks, itemsize)
        return list(plan.path), path_info(plan, dask_info)
    return list(plan.path), path_info(plan)


class ContractExpression:
    """A contraction compiled for fixed shapes; call it with arrays of those shapes.

    Plans are kept per (namespace type, dtypes), so the same expression serves float32 and float64. A
    call with arrays of known types and dtypes costs a shape comparison, a dict lookup and the kernels
    (8×8 matmul: about 1.5 µs, where ``einsum`` itself takes about 1.3 µs).
    """

    def __init__(self, args: Sequence[Any], optimize: Any, memory_limit: Any) -> None:
        spec, dtypes, xp = _spec_and_dtypes(args)
        self.spec = spec
        self.optimize = optimize
        self.memory_limit = _memory_limit(memory_limit, spec)
        first = build_plan(spec, dtypes, xp, optimize, self.memory_limit)
        self.path = list(first.path)
        self._plans: dict[Hashable, ContractionPlan] = {(xp, tuple(dtypes)): first}
        # Per (array type, dtype) of each operand, flat: the plan's entry point, for calls whose shapes
        # match (checked on every call) -- no namespace lookup, no conversion.
        self._runners: dict[tuple[Any, ...], Any] = {}

    @property
    def info(self) -> PathInfo:
        """The report of the compiled path."""
        return path_info(next(iter(self._plans.values())))

    def __call__(self, *arrays: Any, out: Any = None) -> Any:
        """Evaluate on ``arrays`` (shapes as compiled, any dtypes; the result has their promoted dtype).

        ``out``, when given, receives the result (same shape; the cast must be ``"safe"``) and is returned.

        Raises:
            ValueError: a wrong number of arrays, an array whose shape differs from the compiled one, or
                an ``out`` of another shape.
            TypeError: ``out`` is not an array or cannot hold the result dtype safely.
        """
        try:
            key = tuple([x for a in arrays for x in (a.__class__, a.dtype)])
            runner = self._runners.get(key)
            if runner is not None and tuple([a.shape for a in arrays]) == self.spec.shapes:
                result = runner(*arrays)
                return result if out is None else _write_out(result, out, None, "safe")
        except (AttributeError, TypeError):  # Python scalars or lists: converted below
            key = None
        return self._call_checked(key, arrays, out)

    def _call_checked(self, key: tuple[Any, ...] | None, arrays: tuple[Any, ...], out: Any) -> Any:
        """The full call: convert, check count and shapes, plan the dtypes if new (keyed ``key``)."""
        if len(arrays) != len(self.spec.shapes):
            raise ValueError(f"expected {len(self.spec.shapes)} arrays, got {len(arrays)}")
        arrays_l, xp = _as_arrays(list(arrays))
        for k, (a, shape) in enumerate(zip(arrays_l, self.spec.shapes, strict=True)):
            if tuple(a.shape) != shape:
                raise ValueError(
                    f"operand {k} has shape {tuple(a.shape)} but the expression was compiled for {shape}"
                )
        dtypes = tuple(a.dtype for a in arrays_l)
        plan_key = (xp, dtypes)
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = build_plan(self.spec, dtypes, xp, self.path, None)
            self._plans[plan_key] = plan
        runner: Any = plan.direct if plan.direct is not None else plan
        if any_dask(*arrays_l):
            runner = _DaskPlanRunner(plan)
        if key is not None:
            self._runners[key] = runner
        result = runner(*arrays_l)
        return result if out is None else _write_out(result, out, xp, "safe")

    def __repr__(self) -> str:
        shapes = ", ".join(str(s) for s in self.spec.shapes)
        return f"ContractExpression({self.spec.subscripts!r}, {shapes})"


def contract_expression(
    subscripts: Any, /, *shapes: Any, optimize: Any = "auto", memory_limit: Any = None
) -> ContractExpression:
    """Compile ``subscripts`` for operands of ``shapes`` (either call form; arrays also accepted).

    The path is searched once, here; calling the result with arrays of those shapes runs the compiled
    steps (a plan per dtype combination, built on first use along the same path).

    Raises:
        ValueError: as :func:`einsum_path`.
    """
    return ContractExpression([subscripts, *shapes], optimize, memory_limit)
