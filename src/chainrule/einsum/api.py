"""The einsum entry points: :func:`einsum`, :func:`einsum_path` and :func:`contract_expression`, and
opt_einsum's names for the first two, :func:`contract` and :func:`contract_path` (its defaults: ``None``
means ``"auto"``, ``memory_limit``, ``backend``).

Plans are cached by (subscripts or sublists, optimize, and per operand its type, shape and dtype) in a
bounded LRU cache (:data:`PLAN_CACHE`), so a repeated small call costs a dict lookup plus the kernels.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from chainrule.backend import any_dask, array_namespace, is_numpy_namespace
from chainrule.einsum.cache import LRUCache
from chainrule.einsum.notation import EinsumSpec, parse
from chainrule.einsum.paths import Path, find_path, memory_limit_of
from chainrule.einsum.plan import ContractionPlan, build_plan
from chainrule.einsum.report import PathInfo, path_info

__all__ = [
    "CASTING_RULES",
    "ORDERS",
    "PLAN_CACHE",
    "ContractExpression",
    "contract",
    "contract_expression",
    "contract_path",
    "einsum",
    "einsum_path",
]

#: Compiled plans (or, for a contraction that is one library call, that call), least recently used first.
PLAN_CACHE = LRUCache(maxsize=1024)

#: NumPy's casting rules, the values ``casting`` accepts.
CASTING_RULES = ("no", "equiv", "safe", "same_kind", "unsafe")
#: The memory layouts ``order`` accepts (either case), as in ``numpy.einsum``.
ORDERS = ("C", "F", "A", "K")


class _Missing:
    """The default of ``subscripts``: a call without any argument is a ValueError, as in NumPy."""

    def __repr__(self) -> str:
        return "<no subscripts>"


_MISSING: Any = _Missing()


def _check_casting(casting: Any) -> None:
    """Raises TypeError (not a string) or ValueError (not one of :data:`CASTING_RULES`)."""
    if not isinstance(casting, str):
        raise TypeError(f"casting must be a string, got {type(casting).__name__}")
    if casting not in CASTING_RULES:
        raise ValueError(
            f"casting must be one of 'no', 'equiv', 'safe', 'same_kind' or 'unsafe', got {casting!r}"
        )


def _check_order(order: Any) -> str:
    """``order`` in upper case. Raises ValueError for anything but C, F, A or K (either case)."""
    if not isinstance(order, str) or order.upper() not in ORDERS:
        raise ValueError(f"order must be one of 'C', 'F', 'A' or 'K', got {order!r}")
    return order.upper()


def _apply_order(result: Any, order: str, operands: Sequence[Any]) -> Any:
    """The NumPy result in the memory layout ``order`` asks for ('K': as computed); other namespaces
    have no layout to choose, so their results are returned as they are."""
    if order == "K" or not isinstance(result, np.ndarray):
        return result
    if order == "A":
        arrays = [x for x in operands if isinstance(x, np.ndarray)]
        fortran = bool(arrays) and all(
            x.flags.f_contiguous and not x.flags.c_contiguous for x in arrays if x.ndim > 1
        )
        order = "F" if fortran and any(x.ndim > 1 for x in arrays) else "C"
    if order == "C":
        return result if result.flags.c_contiguous else np.ascontiguousarray(result)
    return result if result.flags.f_contiguous else np.asfortranarray(result)


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
    if not args or args[0] is _MISSING:
        return []
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


def _with_arrays(subscripts: Any, args: list[Any], arrays: Sequence[Any]) -> list[Any]:
    """The call's arguments (``_split_call``'s ``args``) with the operands replaced by ``arrays``: after
    the subscripts string, or at the even positions of the sublist form."""
    if isinstance(subscripts, str):
        return [subscripts, *arrays]
    args = list(args)
    for k, a in enumerate(arrays):
        args[2 * k] = a
    return args


def _as_arrays(arrays: list[Any]) -> tuple[list[Any], Any]:
    """Every operand as an array of one namespace (Python scalars and lists converted)."""
    xp = array_namespace(*arrays)
    return [x if hasattr(x, "shape") and hasattr(x, "dtype") else xp.asarray(x) for x in arrays], xp


class UnknownDtypeError(TypeError, ValueError):
    """A ``dtype`` name the namespace does not know: a TypeError as in NumPy, also a ValueError (what
    chainrule raised before)."""


def _resolve_dtype(dtype: Any, xp: Any) -> Any:
    """``dtype`` as a dtype of ``xp``: a name is looked up (NumPy reads every spelling, ``"f4"`` too).

    Raises:
        UnknownDtypeError: (a TypeError and a ValueError) a name that ``xp`` does not know.
    """
    if isinstance(dtype, str):
        try:
            return xp.dtype(dtype) if is_numpy_namespace(xp) else getattr(xp, dtype)
        except (AttributeError, TypeError):
            raise UnknownDtypeError(f"unknown dtype {dtype!r}") from None
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
    subscripts: Any = _MISSING,
    /,
    *operands: Any,
    out: Any = None,
    optimize: Any = "auto",
    dtype: Any = None,
    order: str = "K",
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
        optimize: ``"auto"`` (default), ``"optimal"``, ``"greedy"``, ``"branch-1"``/``"2"``/``"all"``,
            ``True`` (= auto), ``False`` or ``None`` (left to right, as NumPy reads None),
            ``(name, memory_limit)``, an explicit path, or an opt_einsum-style optimizer function
            (see :func:`chainrule.einsum.paths.find_path`).
        dtype: compute and return in this dtype (operands cast first, under ``casting``).
        order: the memory layout of a NumPy result: ``"C"``, ``"F"``, ``"A"`` (F when every operand
            of two or more dimensions is Fortran-contiguous, else C) or ``"K"`` (default: as computed,
            views included); either case. Other namespaces ignore it.
        casting: NumPy's casting rule for ``dtype`` and ``out`` (default ``"safe"``), checked on every
            call.

    Returns:
        The result, of the promoted dtype of the operands (or ``dtype``). Integer contractions accumulate in
        that dtype and wrap on overflow, as in ``numpy.einsum``. As in NumPy, a pure relabelling (transpose,
        diagonal) may return a view of the operand (diagonal views are read-only here). Large NumPy steps
        (sums, batched dot products, matrix-vector products, batched matmuls of small items) time their
        candidate kernels (BLAS, NumPy's reductions, NumPy's C einsum loop, the batch split across two
        threads) on their first calls and keep the fastest, re-checked now and then
        (:mod:`chainrule.einsum.tuning`; ``CHAINRULE_EINSUM_TUNE=0`` fixes a default per step); results
        while measuring may differ from later ones in the last bits of rounding.

    Raises:
        ValueError: no arguments, malformed notation (the message names the label, term or operand), a
            size mismatch (both sizes), a bad ``optimize``, an unknown ``dtype`` name, an ``out`` of the
            wrong shape, or an unknown ``order`` or ``casting``.
        TypeError: ``out`` is not an array, ``casting`` is not a string, or ``dtype`` or ``out`` needs a
            cast that ``casting`` forbids.
    """
    if optimize is None:
        optimize = False
    if casting != "safe":
        _check_casting(casting)
    if order != "K":
        result = einsum(
            subscripts, *operands, out=None, optimize=optimize, dtype=dtype, casting=casting
        )
        result = _apply_order(result, _check_order(order), _operands_of([subscripts, *operands]))
        return result if out is None else _write_out(result, out, None, casting)
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
    if subscripts is _MISSING:
        raise ValueError("einsum needs the subscripts and at least one operand")
    args, arrays, notation_key = _split_call(subscripts, operands)
    if not arrays:
        raise ValueError("einsum needs at least one operand")
    arrays, xp = _as_arrays(arrays)
    args = _with_arrays(subscripts, args, arrays)
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
    if dtype is not None and is_numpy_namespace(xp) and _is_object_dtype(dtype):
        # dtype=object: the operands become Python objects, contracted with their own * and +.
        for k, a in enumerate(arrays):
            if not _can_cast(xp, a.dtype, dtype, casting):
                raise TypeError(
                    f"operand {k} of dtype {a.dtype} cannot be cast to dtype={dtype} under the "
                    f"{casting!r} casting rule"
                )
        arrays = [np.asarray(a, dtype=object) for a in arrays]
        args = _with_arrays(subscripts, args, arrays)
        dtype = None
    if _is_object(arrays) and dtype is None:
        spec = parse(*args)
        result = _object_einsum(spec, arrays, _search(spec, optimize, None))
        return result if out is None else _write_out(np.asarray(result), out, xp, casting)
    runner = PLAN_CACHE.get(key) if key is not None else None
    if runner is None:
        runner = _plan_for(key, args, arrays, xp, optimize, dtype, casting)
    result = runner(*arrays)
    if out is None:
        return result
    return _write_out(result, out, xp, casting)


def _is_object_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is NumPy's object dtype (``object``, ``"O"``, ``np.dtype(object)``)."""
    try:
        return bool(np.dtype(dtype) == np.dtype(object))
    except TypeError:  # another library's dtype
        return False


def _is_object(arrays: Sequence[Any]) -> bool:
    """Whether any operand is a NumPy array of dtype object (Python objects: no BLAS, no vecdot)."""
    return any(isinstance(a, np.ndarray) and a.dtype == object for a in arrays)


def _object_einsum(spec: EinsumSpec, arrays: Sequence[Any], path: Path) -> Any:
    """Evaluate ``spec`` on NumPy arrays of which some have dtype object, with the objects' own ``*``
    and ``+``: pairwise along ``path`` (an n-ary step multiplies all its operands), each step one
    broadcast product over the union of its labels and one ``sum`` over the labels no longer needed.

    Returns an object array; a 0-d result as its element (as ``numpy.einsum`` returns it).
    """
    terms: list[tuple[list[Hashable], Any]] = []
    for labels, a in zip(spec.inputs, arrays, strict=True):
        a = np.asarray(a, dtype=object)
        labs = list(labels)
        while len(set(labs)) < len(labs):  # a repeated label: its diagonal, moved last
            x = next(y for y in labs if labs.count(y) > 1)
            i = labs.index(x)
            j = labs.index(x, i + 1)
            a = np.diagonal(a, axis1=i, axis2=j)
            labs = [y for k, y in enumerate(labs) if k not in (i, j)] + [x]
        terms.append((labs, a))
    out = list(spec.output)
    for step in path or [(0,)]:
        chosen = [terms[p] for p in step]
        for p in sorted(step, reverse=True):
            terms.pop(p)
        union: list[Hashable] = []
        for labs, _ in chosen:
            union += [x for x in labs if x not in union]
        product: Any = None
        for labs, a in chosen:
            where = [union.index(x) for x in labs]
            perm = sorted(range(len(labs)), key=where.__getitem__)
            shape = [a.shape[labs.index(x)] if x in labs else 1 for x in union]
            aligned = a.transpose(perm).reshape(shape)
            product = aligned if product is None else product * aligned
        needed = set(out).union(*(set(labs) for labs, _ in terms))
        keep = [x for x in union if x in needed]
        axes = tuple(k for k, x in enumerate(union) if x not in needed)
        summed = np.asarray(product, dtype=object)
        if axes:
            total = summed.sum(axis=axes)
            summed = np.empty((), dtype=object) if not keep else total
            if not keep:
                summed[()] = total
        terms.append((keep, summed))
    labs, result = terms[0]
    result = result.transpose([labs.index(x) for x in out]) if out else result
    return result[()] if result.ndim == 0 else result


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


def _path_operands(args: Sequence[Any], shapes: bool) -> list[Any]:
    """``args`` with each operand read as einsum_path reads it: with ``shapes``, every operand is a
    shape; otherwise arrays stay, a tuple of ints is a shape, and anything else (a list, a scalar) is
    read as an array, as NumPy reads it.

    Raises:
        ValueError: with ``shapes``, an operand that is not a sequence of ints.
    """
    args = list(args)
    positions = (
        list(range(1, len(args)))
        if isinstance(args[0], str)
        else list(range(0, len(args) - len(args) % 2, 2))
    )
    if shapes:
        for k, p in enumerate(positions):
            try:
                args[p] = tuple(int(d) for d in args[p])
            except (TypeError, ValueError):
                raise ValueError(
                    f"operand {k} must be a shape (a sequence of ints) with shapes=True, got "
                    f"{args[p]!r}"
                ) from None
        return args
    given = [args[p] for p in positions]
    arrays = [x for x in given if hasattr(x, "shape") and hasattr(x, "dtype")]
    xp = array_namespace(*arrays)
    for p in positions:
        x = args[p]
        if hasattr(x, "shape") and hasattr(x, "dtype"):
            continue
        if isinstance(x, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in x):
            continue
        args[p] = xp.asarray(x)
    return args


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


def _search(spec: EinsumSpec, optimize: Any, memory_limit: int | None) -> Path:
    """The path as the optimizer returns it (an n-ary last step kept, where the plan runs it pairwise)."""
    return find_path(
        [frozenset(t) for t in spec.inputs],
        frozenset(spec.output),
        spec.sizes,
        optimize,
        memory_limit,
    )


def _memory_limit(limit: Any, spec: EinsumSpec) -> int | None:
    """``memory_limit`` read by :func:`~chainrule.einsum.paths.memory_limit_of`, ``"max_input"`` being
    the largest operand's size."""
    return memory_limit_of(limit, max((math.prod(s) for s in spec.shapes), default=1))


def einsum_path(
    subscripts: Any = _MISSING,
    /,
    *operands: Any,
    optimize: Any = "auto",
    memory_limit: Any = None,
    shapes: bool = False,
) -> tuple[list[tuple[int, ...]], PathInfo]:
    """The contraction path and its report, without evaluating anything.

    Operands may be arrays or shapes (tuples of ints), in either call form; a list or a scalar is read
    as an array, as NumPy reads it. With ``shapes=True`` (opt_einsum's flag) every operand is a shape
    (a list too). With shapes only the plan assumes float64. ``str(info)`` is the report: naive and
    optimized FLOPs (opt_einsum's model), speedup, largest intermediate and, per step, its subscripts and
    kernel (``matmul``, ``multiply``, ``sum``, ``diagonal``). With a Dask operand, ``info.dask``
    (:class:`~chainrule.einsum.dask_plan.DaskPlanInfo`) adds per step the chunk and task counts of the
    lazy graph and the estimated peak bytes of one task (see docs/scale.md), and the report prints them.

    ``memory_limit`` bounds the elements of every intermediate (``-1`` or None: no limit,
    ``"max_input"``: the largest input). When no pairwise path meets it, the path contracts pairs while
    they fit and then every remaining operand in one n-ary step, returned as such (the report shows the
    pairwise steps that execute it).

    Returns:
        ``(path, info)``: the path as a list of position tuples (opt_einsum's and NumPy's convention, so
        ``optimize=path`` replays it), and the :class:`PathInfo` report.

    Raises:
        ValueError: as :func:`einsum`; a bad ``memory_limit``; with ``shapes=True``, an operand that is
            not a shape.
    """
    if subscripts is _MISSING:
        raise ValueError("einsum_path needs the subscripts and at least one operand")
    if optimize is None:  # NumPy's reading; contract_path reads None as "auto"
        optimize = False
    args = _path_operands([subscripts, *operands], shapes)
    spec, dtypes, xp = _spec_and_dtypes(args)
    found = _search(spec, optimize, _memory_limit(memory_limit, spec))
    plan = build_plan(spec, dtypes, xp, found, None)
    arrays = _operands_of(args)
    if any_dask(*arrays):
        from chainrule.einsum.dask_plan import dask_plan_info

        chunks = [getattr(a, "chunks", None) if any_dask(a) else None for a in arrays]
        itemsize = int(getattr(plan.dtype, "itemsize", 8))
        dask_info = dask_plan_info(spec, plan.path, chunks, itemsize)
        return list(found), path_info(plan, dask_info)
    return list(found), path_info(plan)


class ContractExpression:
    """A contraction compiled for fixed shapes; call it with arrays of those shapes.

    Plans are kept per (namespace type, dtypes), so the same expression serves float32 and float64. A
    call with arrays of known types and dtypes costs a shape comparison, a dict lookup and the kernels
    (8×8 matmul: about 1.5 µs, where ``einsum`` itself takes about 1.3 µs).
    """

    def __init__(
        self,
        args: Sequence[Any],
        optimize: Any,
        memory_limit: Any,
        constants: Sequence[int] = (),
    ) -> None:
        given = _operands_of(args)
        #: Operand position → the array given for it (``constants=``), inserted on every call.
        self.constants: dict[int, Any] = _constants_of(constants, given)
        spec, dtypes, xp = _spec_and_dtypes(args)
        self.spec = spec
        self.subscripts: str = args[0] if isinstance(args[0], str) else spec.subscripts
        self.optimize = optimize
        self.memory_limit = _memory_limit(memory_limit, spec)
        self.found_path = _search(spec, optimize, self.memory_limit)
        first = build_plan(spec, dtypes, xp, self.found_path, None)
        self.path = list(first.path)
        self._plans: dict[Hashable, ContractionPlan] = {(xp, tuple(dtypes)): first}
        # Per (array type, dtype) of each operand, flat: the plan's entry point, for calls whose shapes
        # match (checked on every call) -- no namespace lookup, no conversion.
        self._runners: dict[tuple[Any, ...], Any] = {}

    @property
    def info(self) -> PathInfo:
        """The report of the compiled path."""
        return path_info(next(iter(self._plans.values())))

    def __call__(self, *arrays: Any, out: Any = None, backend: Any = "auto") -> Any:
        """Evaluate on ``arrays`` (shapes as compiled, any dtypes; the result has their promoted dtype).

        With ``constants``, pass only the other operands, in order; the constants are inserted at their
        positions (the whole contraction runs on every call: nothing is precomputed).
        ``out``, when given, receives the result (same shape; the cast must be ``"safe"``) and is returned.
        ``backend`` is opt_einsum's argument, checked as :func:`contract` checks it.

        Raises:
            ValueError: a wrong number of arrays, an array whose shape differs from the compiled one, an
                ``out`` of another shape, or a ``backend`` that is not the arrays' own.
            TypeError: ``out`` is not an array or cannot hold the result dtype safely.
        """
        if backend != "auto":
            _check_backend(backend, arrays)
        if self.constants:
            arrays = self._with_constants(arrays)
        try:
            key = tuple([x for a in arrays for x in (a.__class__, a.dtype)])
            runner = self._runners.get(key)
            if runner is not None and tuple([a.shape for a in arrays]) == self.spec.shapes:
                result = runner(*arrays)
                return result if out is None else _write_out(result, out, None, "safe")
        except (AttributeError, TypeError):  # Python scalars or lists: converted below
            key = None
        return self._call_checked(key, arrays, out)

    def _with_constants(self, arrays: tuple[Any, ...]) -> tuple[Any, ...]:
        n = len(self.spec.shapes)
        if len(arrays) != n - len(self.constants):
            raise ValueError(
                f"expected {n - len(self.constants)} arrays (the expression has {len(self.constants)} "
                f"constant operand(s)), got {len(arrays)}"
            )
        given = iter(arrays)
        return tuple(self.constants[k] if k in self.constants else next(given) for k in range(n))

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
        if _is_object(arrays_l):  # a 0-d result stays a 0-d array, as in opt_einsum
            result = np.asarray(_object_einsum(self.spec, arrays_l, self.found_path), dtype=object)
            return result if out is None else _write_out(result, out, xp, "safe")
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
        constants = f", constants={sorted(self.constants)}" if self.constants else ""
        return f"ContractExpression({self.subscripts!r}, {shapes}{constants})"


def _constants_of(constants: Any, given: Sequence[Any]) -> dict[int, Any]:
    """``constants=`` checked: operand position → the array given there.

    Raises:
        TypeError: ``constants`` is not a sequence, a position is not an integer (a bool is refused),
            or the operand at a position is not an array (a list, a shape).
        ValueError: a position outside the operands.
    """
    try:
        if isinstance(constants, (str, bytes)):
            raise TypeError
        items = list(constants)
    except TypeError:
        raise TypeError(
            f"constants must be a sequence of operand positions, got {type(constants).__name__}"
        ) from None
    found: dict[int, Any] = {}
    for k in items:
        if isinstance(k, (bool, np.bool_)):
            raise TypeError(f"constants must hold operand positions (integers), got {k!r}")
        try:
            pos = operator.index(k)
        except TypeError:
            raise TypeError(
                f"constants must hold operand positions (integers), got {k!r}"
            ) from None
        if not 0 <= pos < len(given):
            raise ValueError(
                f"constants names operand {pos}, but the expression has {len(given)} operands"
            )
        if not (hasattr(given[pos], "shape") and hasattr(given[pos], "dtype")):
            raise TypeError(
                f"constant operand {pos} must be an array, got {type(given[pos]).__name__}"
            )
        found[pos] = given[pos]
    return found


def contract_expression(
    subscripts: Any,
    /,
    *shapes: Any,
    optimize: Any = "auto",
    memory_limit: Any = None,
    constants: Sequence[int] | None = None,
    use_blas: bool = True,
) -> ContractExpression:
    """Compile ``subscripts`` for operands of ``shapes`` (either call form; arrays also accepted).

    The path is searched once, here; calling the result with arrays of those shapes runs the compiled
    steps (a plan per dtype combination, built on first use along the same path). ``optimize=None``
    means ``"auto"`` (opt_einsum's reading). ``constants`` (opt_einsum's argument) lists the positions
    whose entry in ``shapes`` is an array that every call uses: the expression is then called with the
    other operands only. ``use_blas`` is accepted for opt_einsum's signature and ignored (every pairwise
    step is a matmul).

    Raises:
        ValueError: as :func:`einsum_path`; ``constants`` naming a position that does not exist.
        TypeError: a constant that is not an array.
    """
    del use_blas
    if optimize is None:
        optimize = "auto"
    return ContractExpression([subscripts, *shapes], optimize, memory_limit, constants or ())


def _check_backend(backend: Any, operands: Sequence[Any]) -> None:
    """opt_einsum's ``backend``: chainrule always computes in the operands' own namespace, so only
    ``"auto"``, None, ``"object"`` (NumPy object arrays) and the name of that namespace's library
    (``"numpy"``, ``"dask"``, ...) are accepted.

    Raises:
        ValueError: any other backend.
    """
    if backend in ("auto", None, "object"):
        return
    arrays = [x for x in operands if hasattr(x, "shape") and hasattr(x, "dtype")]
    roots = {type(x).__module__.split(".")[0] for x in arrays} or {"numpy"}
    if not isinstance(backend, str) or backend.split(".")[0] not in roots:
        raise ValueError(
            f"backend={backend!r}: chainrule computes in the operands' own array library "
            f"({', '.join(sorted(roots))}); convert the arrays instead"
        )


def contract(
    subscripts: Any = _MISSING,
    /,
    *operands: Any,
    out: Any = None,
    optimize: Any = "auto",
    memory_limit: Any = None,
    dtype: Any = None,
    order: str = "K",
    casting: str = "safe",
    use_blas: bool = True,
    backend: Any = "auto",
) -> Any:
    """opt_einsum's ``contract`` on chainrule's engine: :func:`einsum` with ``memory_limit``.

    Differences from :func:`einsum` follow opt_einsum: ``optimize=None`` means ``"auto"``, and
    ``memory_limit`` (elements, ``-1``/None for none, ``"max_input"``) bounds the intermediates as in
    :func:`einsum_path`. ``backend`` is checked (:func:`_check_backend`); ``use_blas`` is ignored
    (every pairwise step is a matmul).

    Raises:
        ValueError, TypeError: as :func:`einsum`; a ``backend`` other than the operands' library.
    """
    del use_blas
    if backend != "auto":
        _check_backend(backend, _operands_of([subscripts, *operands]))
    if optimize is None:
        optimize = "auto"
    if memory_limit is not None and not (isinstance(optimize, list | tuple) or optimize is False):
        if subscripts is _MISSING:
            raise ValueError("contract needs the subscripts and at least one operand")
        args, arrays, _ = _split_call(subscripts, operands)
        if arrays:
            arrays, _ = _as_arrays(arrays)
            spec = parse(*_with_arrays(subscripts, args, arrays))
            optimize = _search(spec, optimize, _memory_limit(memory_limit, spec))
    result = einsum(
        subscripts,
        *operands,
        out=out,
        optimize=optimize,
        dtype=dtype,
        order=order,
        casting=casting,
    )
    if out is None and not hasattr(result, "shape"):
        # An object-dtype contraction to a scalar: opt_einsum returns it as a 0-d array.
        wrapped = np.empty((), dtype=object)
        wrapped[()] = result
        return wrapped
    return result


def contract_path(
    subscripts: Any = _MISSING,
    /,
    *operands: Any,
    optimize: Any = "auto",
    memory_limit: Any = None,
    shapes: bool = False,
    use_blas: bool = True,
) -> tuple[list[tuple[int, ...]], PathInfo]:
    """opt_einsum's ``contract_path`` on chainrule's engine: :func:`einsum_path`, with ``optimize=None``
    meaning ``"auto"``; ``use_blas`` is ignored.

    Raises:
        ValueError: as :func:`einsum_path`.
    """
    del use_blas
    if optimize is None:
        optimize = "auto"
    return einsum_path(
        subscripts, *operands, optimize=optimize, memory_limit=memory_limit, shapes=shapes
    )
