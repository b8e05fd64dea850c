"""The Tensor: an array plus the graph node that made it.

Attributes of every Tensor (stable; explanations and drawings read them):

- ``data``: the array (any Array-API namespace; NumPy by default). Results of 0-d NumPy arithmetic are
  NumPy scalars (``np.float64``), which behave as 0-d arrays. Changing it in place while a graph that
  saved it has not been freed makes that graph's backward raise (see "in-place changes" below and
  docs/autodiff.md); chainrule's own code reads ``_data``, the slot behind it.
- ``grad``: ``Tensor | None``, filled by :meth:`Tensor.backward` for leaves that require grad (and for
  non-leaves after :meth:`Tensor.retain_grad`).
- ``requires_grad``: bool, settable on leaves.
- ``name``: ``str | None``, settable.
- ``op``, ``parents``, ``params``, ``operands``: the graph node, see :mod:`chainrule.autodiff.graph`.

Creation: :func:`tensor` copies its data (as ``torch.tensor``), :func:`as_tensor` shares it when it
can (as ``torch.as_tensor``); the default dtype is float64 and floating arrays keep their dtype, so
float32 stays float32. Results of operations wrap their computed arrays without copying. Operations are primitives (:mod:`chainrule.autodiff.primitives`) or compositions of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from weakref import ref as _weakref

import numpy as np

from chainrule import backend
from chainrule.autodiff.graph import GRAD_ENABLED, Primitive

__all__ = ["Tensor", "apply", "as_tensor", "sequence_operand", "tensor", "value"]

# Types that NumPy handles natively; anything else goes through the Array API namespace lookup.
_NUMPY_TYPES = frozenset(
    {np.ndarray, np.float64, np.float32, np.float16, float, int, bool, np.int64, np.int32, np.bool_}
)


# Creation order: a node is always made after its parents, so a larger number never feeds a
# smaller one; the backward pass walks nodes by decreasing number (a valid reverse topological order).
_SEQ = itertools.count()


_object_new = object.__new__

# For the exact scalar fast path of ``+ - * /`` (see _binary_method).
_NDARRAY = np.ndarray
_F64 = np.float64
_F64_DTYPE = np.dtype(np.float64)

#: The params of primitives that have none: shared, so treat every ``params`` as read-only.
_NO_PARAMS: dict[str, Any] = {}


class Tensor:
    """An array that records the operations applied to it, for reverse-mode differentiation.

    Create with :func:`tensor`. Supports ``+ - * / ** @``, unary ``-``, comparisons (not
    differentiable; they return bool Tensors with no graph), indexing with ints, slices, integer
    arrays and boolean masks, shape operations and reductions. NumPy broadcasting applies throughout.
    """

    # Hand-kept copies: for speed, a new Tensor's slots (all but _guard and _source, which are set
    # when needed) are assigned one by one, without an __init__ call, in ten places that must agree:
    # tensor.py: Tensor.__init__ (the canonical constructor), tensor() (its NumPy fast path), _leaf,
    # _node, and _binary_method's method (twice: a Tensor and a constant other operand);
    # primitives.py: _unary and _elementwise; backward.py: _walk_fast (scalar leaves' gradients);
    # _walk.c: store_scalar (the same, in C, at the offsets of these slots).
    # A slot added here goes into all ten; tests/autodiff/test_hand_copies.py builds a Tensor through
    # each and compares every slot with the canonical constructor's.
    __slots__ = (
        "__weakref__",
        "_args",
        "_data",
        "_guard",
        "_raw",
        "_retain",
        "_seq",
        "_source",
        "grad",
        "name",
        "op",
        "params",
        "parents",
        "requires_grad",
    )

    # NumPy must defer to our reflected operators (array * Tensor -> Tensor.__rmul__).
    __array_ufunc__ = None
    __array_priority__ = 1000.0

    _data: Any
    grad: Tensor | None
    requires_grad: bool
    name: str | None
    op: Primitive | None
    parents: tuple[Tensor, ...]
    params: dict[str, Any]
    _args: tuple[Any, ...] | None
    _raw: tuple[Any, ...] | None
    # ``_retain``: on a non-leaf, keep its gradient (retain_grad); on a leaf (whose gradient is always
    # kept), how many graph nodes not yet freed by backward saved it (False is 0; see _held below).
    _retain: bool | int
    _seq: int
    # In-place changes (see _expose and _verify below), both unset until needed: ``_guard``, the
    # tensor's version, changes and snapshot; ``_source``, a weak reference to the tensor whose array
    # this leaf shares (detach, as_tensor of a Tensor).
    _guard: _Guard
    _source: Any

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        """``Tensor(data, ...)`` is :func:`tensor` (``data`` is copied); see there."""
        self._data = _copied_data(data, dtype)
        if requires_grad:
            _check_float(self._data, name)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.name = name
        self.op = None
        self.parents = ()
        self.params = _NO_PARAMS
        self._args = None
        self._raw = None
        self._retain = 0  # a leaf: the count of _held (an int: += is cheaper than on False)
        self._seq = next(_SEQ)

    # --- the array ---------------------------------------------------------------------------------

    @property
    def data(self) -> Any:
        """The array. Reading it while a graph that has not been freed saved it keeps a snapshot, so
        that backward can tell whether it was changed in place through the array handed out here
        (see "In-place changes" in docs/autodiff.md). Assigning it records an in-place change."""
        d = self._data
        if type(d) is _NDARRAY:
            _expose(self, d)
        return d

    @data.setter
    def data(self, new: Any) -> None:
        _record_change(self, "an assignment to .data", new)
        self._data = new

    @property
    def _version(self) -> int:
        """How many in-place changes were recorded for this tensor: assignments to ``data``,
        optimizer steps, and writes through ``data`` found while a graph held it (as torch's)."""
        g = getattr(self, "_guard", None)
        if g is None:
            return 0
        if g.snap is not None:
            _settle(self, g)
        return g.version

    # --- introspection -------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        """Number of dimensions of ``data``."""
        return int(self._data.ndim)

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for s in self._data.shape:
            n *= int(s)
        return n

    @property
    def dtype(self) -> Any:
        """The dtype of ``data``."""
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True when no recorded operation made this tensor (``op is None``)."""
        return self.op is None

    @property
    def operands(self) -> tuple[Any, ...]:
        """Every operand of ``op`` in call order: Tensors and constants (numbers, arrays).

        After a backward pass without ``retain_graph``, constant arrays read ``None`` (released).
        Empty for leaves.
        """
        return self.parents if self._args is None else self._args

    @property
    def graph_alive(self) -> bool:
        """False once a backward pass released this node's saved values (leaves: always True)."""
        return self.op is None or self._raw is not None

    def __repr__(self) -> str:
        body = np.array2string(
            np.asarray(backend.to_numpy(self._data)), precision=6, separator=", ", prefix="tensor("
        )
        extra = ""
        if self.requires_grad:
            extra += ", requires_grad=True"
        if self.name is not None:
            extra += f", name={self.name!r}"
        if self.op is not None:
            extra += f", op={self.op.name}"
        dt = getattr(self._data, "dtype", None)
        if dt is not None and str(dt) != "float64":
            extra += f", dtype={dt}"
        return f"tensor({body}{extra})"

    def _repr_svg_(self) -> str | None:
        """Jupyter's inline drawing: the graph that produced this tensor, by
        :func:`chainrule.autodiff.draw.to_svg` (names, values and grads on the nodes). ``None``
        (Jupyter then shows the text repr) when the graph is too large to draw."""
        from chainrule.autodiff.draw import to_svg  # draw imports this module

        try:
            return to_svg(self)
        except ValueError:
            return None

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return int(self._data.shape[0])

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(int(self._data.shape[0])))

    def __format__(self, spec: str) -> str:
        if spec and self.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``data`` as a NumPy array, by NumPy's ``copy`` protocol: ``np.array(t)`` copies,
        ``np.asarray(t)`` shares when it can. Raises ValueError if ``copy=False`` cannot be met."""
        if copy:
            return np.array(backend.to_numpy(self._data), dtype=dtype, copy=True)
        arr = backend.to_numpy(self.data)  # shared: handed out as .data is
        return np.asarray(arr, dtype=dtype, copy=copy)

    __hash__ = object.__hash__

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """The state for pickle and copy: the slots, less the in-place bookkeeping (``_guard``,
        ``_source``: a weak reference cannot be pickled)."""
        return None, {k: getattr(self, k) for k in _STATE_SLOTS if hasattr(self, k)}

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return backend.to_numpy(self._data).item()

    def numpy(self) -> np.ndarray:
        """``data`` as a NumPy array (the array itself when it is one: handed out as ``.data`` is)."""
        return np.asarray(backend.to_numpy(self.data))

    def tolist(self) -> Any:
        """``data`` as nested Python lists."""
        return backend.to_numpy(self._data).tolist()

    # --- autodiff controls -----------------------------------------------------------------------

    def backward(
        self, grad: Any = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Args:
            grad: the gradient of some scalar with respect to ``self`` (same shape); may be omitted
                only when ``self`` has one element (then it is 1).
            retain_graph: keep the saved values so that backward can run again through this graph.
            create_graph: record the backward pass itself, so ``leaf.grad`` can be differentiated
                again (higher-order gradients); implies ``retain_graph``.

        Raises:
            RuntimeError: ``self`` does not require grad; ``grad`` omitted for a non-scalar output;
                the graph was already freed by an earlier backward (pass ``retain_graph=True``).
            ValueError: ``grad`` has the wrong shape.
        """
        (_BACKWARD[0] if _BACKWARD else _backward_pass())(self, grad, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """A new leaf sharing ``data``, with no graph and ``requires_grad=False``. Writes through its
        ``data`` are checked against the graphs that saved this tensor (see :attr:`data`)."""
        return _shared_leaf(self)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if requires_grad:
            _check_float(self._data, self.name)
        if self.op is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad can only be switched off on leaves; use detach() on a result"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep the gradient of this non-leaf in ``grad`` during backward (a leaf's is always kept);
        returns self."""
        if self.op is not None:  # on a leaf, _retain counts the nodes that saved it
            self._retain = True
        return self

    # --- operators -----------------------------------------------------------------------------

    if TYPE_CHECKING:
        # Installed at import by install_operators (one fast closure per operator); declared here
        # for type checkers only.
        def __add__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...
        def __pow__(self, other: Any) -> Tensor: ...
        def __matmul__(self, other: Any) -> Tensor: ...

    def __radd__(self, other: Any) -> Tensor:
        return _binary_r(P.ADD, other, self)

    def __rsub__(self, other: Any) -> Tensor:
        return _binary_r(P.SUB, other, self)

    def __rmul__(self, other: Any) -> Tensor:
        return _binary_r(P.MUL, other, self)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary_r(P.DIV, other, self)

    def __rpow__(self, other: Any) -> Tensor:
        return _binary_r(P.POW, other, self)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _binary_r(P.MATMUL, other, self)

    def __neg__(self) -> Tensor:
        return apply(P.NEG, (self,), _NO_PARAMS)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return P.abs(self)

    # comparisons: not differentiable, bool Tensors without a graph
    def __lt__(self, other: Any) -> Tensor:
        return _leaf(self._data < value(other))

    def __le__(self, other: Any) -> Tensor:
        return _leaf(self._data <= value(other))

    def __gt__(self, other: Any) -> Tensor:
        return _leaf(self._data > value(other))

    def __ge__(self, other: Any) -> Tensor:
        return _leaf(self._data >= value(other))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return _leaf(self._data == value(other))

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return _leaf(self._data != value(other))

    def __getitem__(self, index: Any) -> Tensor:
        return P.getitem(self, index)

    def __setitem__(self, index: Any, val: Any) -> None:
        raise TypeError(
            "Tensors do not support item assignment (it would break recorded graphs); "
            "build a new tensor with cr.where, cr.concatenate or cr.stack, or edit t.data under no_grad"
        )

    # --- methods (compositions of primitives) ----------------------------------------------------

    # NumPy's functions call these methods on a Tensor (``np.sum(t)`` is ``t.sum(axis=None,
    # out=None)``, ``np.reshape(t, s)`` is ``t.reshape(s, order="C")``): they take NumPy's keywords,
    # and refuse what they cannot honour with a ValueError (a TypeError would make NumPy retry on
    # the bare array, silently dropping the graph).

    def sum(
        self, axis: Any = None, dtype: Any = None, out: None = None, keepdims: bool = False
    ) -> Tensor:
        """Sum over ``axis`` (int, tuple or None for all), accumulated in ``dtype`` if given.

        Raises:
            ValueError: ``out`` is not None (a Tensor result is always new).
        """
        _no_out("sum", out)
        return P.sum(_in_dtype(self, dtype), axis=axis, keepdims=keepdims)

    def mean(
        self, axis: Any = None, dtype: Any = None, out: None = None, keepdims: bool = False
    ) -> Tensor:
        """Mean over ``axis``, computed in ``dtype`` if given; the result has that dtype (an
        integer ``dtype`` truncates the mean, as NumPy, and has no gradient).

        Raises:
            ValueError: ``out`` is not None.
        """
        _no_out("mean", out)
        m = P.mean(_in_dtype(self, dtype), axis=axis, keepdims=keepdims)
        return m if dtype is None or _same_dtype(m.dtype, dtype) else P.cast(m, dtype)

    def max(self, axis: Any = None, out: None = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis`` (ties share the gradient equally).

        Raises:
            ValueError: ``out`` is not None.
        """
        _no_out("max", out)
        return P.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, out: None = None, keepdims: bool = False) -> Tensor:
        """Minimum over ``axis`` (ties share the gradient equally).

        Raises:
            ValueError: ``out`` is not None.
        """
        _no_out("min", out)
        return P.min(self, axis=axis, keepdims=keepdims)

    def prod(
        self, axis: Any = None, dtype: Any = None, out: None = None, keepdims: bool = False
    ) -> Tensor:
        """Product over ``axis``, computed in ``dtype`` if given.

        Raises:
            ValueError: ``out`` is not None.
        """
        _no_out("prod", out)
        return P.prod(_in_dtype(self, dtype), axis=axis, keepdims=keepdims)

    def var(
        self,
        axis: Any = None,
        dtype: Any = None,
        out: None = None,
        ddof: float = 0,
        keepdims: bool = False,
    ) -> Tensor:
        """``cr.var(self, axis, ddof, keepdims)``, computed in ``dtype`` if given (``np.var(t)``).

        Raises:
            ValueError: ``out`` is not None.
        """
        from chainrule.autodiff.reductions_more import var  # imports primitives, which imports this

        _no_out("var", out)
        return var(_in_dtype(self, dtype), axis=axis, ddof=ddof, keepdims=keepdims)

    def std(
        self,
        axis: Any = None,
        dtype: Any = None,
        out: None = None,
        ddof: float = 0,
        keepdims: bool = False,
    ) -> Tensor:
        """``cr.std(self, axis, ddof, keepdims)``, computed in ``dtype`` if given (``np.std(t)``).

        Raises:
            ValueError: ``out`` is not None.
        """
        from chainrule.autodiff.reductions_more import std  # imports primitives, which imports this

        _no_out("std", out)
        return std(_in_dtype(self, dtype), axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis: int | None = None, dtype: Any = None, out: None = None) -> Tensor:
        """``cr.cumsum(self, axis)``, accumulated in ``dtype`` if given (``np.cumsum(t)``).

        Raises:
            ValueError: ``out`` is not None.
        """
        from chainrule.autodiff.reductions_more import cumsum  # imports primitives (see var)

        _no_out("cumsum", out)
        return cumsum(_in_dtype(self, dtype), axis=axis)

    def dot(self, b: Any, out: None = None) -> Tensor:
        """``cr.dot(self, b)``: NumPy's ``dot``.

        Raises:
            ValueError: ``out`` is not None.
        """
        from chainrule.autodiff.contractions import dot  # imports primitives, which imports this

        _no_out("dot", out)
        return dot(self, b)

    def reshape(self, *shape: Any, order: str = "C") -> Tensor:
        """Same data, new shape (``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one -1 allowed).

        Raises:
            ValueError: ``order`` is not ``"C"`` (row-major is the only order), or the shape does
                not hold the elements.
        """
        _c_order("reshape", order)
        shape = _dims(shape)
        return P.reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes (no arguments, or None: reverse them, as NumPy)."""
        axes = _dims(axes)
        return P.transpose(self, None if not axes or axes == (None,) else axes)

    def permute(self, *axes: Any) -> Tensor:
        """Permute axes: ``t.permute(2, 0, 1)``."""
        axes = _dims(axes)
        return P.transpose(self, axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """``cr.swapaxes(self, axis1, axis2)``."""
        return P.swapaxes(self, axis1, axis2)

    @property
    def T(self) -> Tensor:
        """All axes reversed."""
        return P.transpose(self, None)

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (matrix transpose of a stack)."""
        return P.swapaxes(self, -1, -2)

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to ``shape`` (NumPy rules; gradients are summed back)."""
        shape = _dims(shape)
        return P.broadcast_to(self, shape)

    def flatten(self, order: str = "C") -> Tensor:
        """A 1-d tensor of all elements (row-major).

        Raises:
            ValueError: ``order`` is not ``"C"``.
        """
        _c_order("flatten", order)
        return P.reshape(self, (-1,))

    def ravel(self, order: str = "C") -> Tensor:
        """``cr.ravel(self)``: a 1-d tensor of all elements (row-major).

        Raises:
            ValueError: ``order`` is not ``"C"``.
        """
        _c_order("ravel", order)
        return P.reshape(self, (-1,))

    def squeeze(self, axis: Any = None) -> Tensor:
        """``cr.squeeze(self, axis)``: size-1 axes removed (all of them for None)."""
        from chainrule.autodiff.shape_ops import squeeze  # imports primitives, which imports this

        return squeeze(self, axis)

    def repeat(self, repeats: Any, axis: int | None = None) -> Tensor:
        """``cr.repeat(self, repeats, axis)``: each element repeated (NumPy's ``repeat``)."""
        from chainrule.autodiff.shape_ops import repeat  # imports primitives, which imports this

        return repeat(self, repeats, axis)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        """``cr.diagonal(self, offset, axis1, axis2)``: the diagonal axis goes last."""
        from chainrule.autodiff.shape_ops import diagonal  # imports primitives, which imports this

        return diagonal(self, offset, axis1, axis2)

    def trace(
        self,
        offset: int = 0,
        axis1: int = 0,
        axis2: int = 1,
        dtype: Any = None,
        out: None = None,
    ) -> Tensor:
        """``cr.trace(self, offset, axis1, axis2)``: the sum of a diagonal.

        Raises:
            ValueError: ``out`` is not None.
        """
        _no_out("trace", out)
        from chainrule.autodiff.shape_ops import trace  # imports primitives, which imports this

        return trace(_in_dtype(self, dtype), offset, axis1, axis2)

    def flip(self, axis: Any = None) -> Tensor:
        """``cr.flip(self, axis)``: the order of elements reversed along ``axis`` (all for None)."""
        from chainrule.autodiff.shape_ops import flip  # imports primitives, which imports this

        return flip(self, axis)

    def exp(self) -> Tensor:
        """``cr.exp(self)``: elementwise, same shape and dtype."""
        return P.exp(self)

    def log(self) -> Tensor:
        """``cr.log(self)``: elementwise, same shape and dtype."""
        return P.log(self)

    def sqrt(self) -> Tensor:
        """``cr.sqrt(self)``: elementwise, same shape and dtype."""
        return P.sqrt(self)

    def tanh(self) -> Tensor:
        """``cr.tanh(self)``: elementwise, same shape and dtype."""
        return P.tanh(self)

    def sigmoid(self) -> Tensor:
        """``cr.sigmoid(self)``: elementwise, same shape and dtype."""
        return P.sigmoid(self)

    def relu(self) -> Tensor:
        """``cr.relu(self)``: elementwise, same shape and dtype."""
        return P.relu(self)

    def abs(self) -> Tensor:
        """``cr.abs(self)``: elementwise, same shape and dtype."""
        return P.abs(self)

    def sin(self) -> Tensor:
        """``cr.sin(self)``: elementwise, same shape and dtype."""
        return P.sin(self)

    def cos(self) -> Tensor:
        """``cr.cos(self)``: elementwise, same shape and dtype."""
        return P.cos(self)

    def clip(self, min: Any = None, max: Any = None, out: None = None) -> Tensor:
        """``cr.clip(self, min, max)``: elementwise, same shape and dtype.

        Raises:
            ValueError: ``out`` is not None.
        """
        _no_out("clip", out)
        return P.clip(self, min, max)

    def softmax(self, axis: int = -1) -> Tensor:
        """``cr.softmax(self, axis)``: same shape and dtype."""
        return P.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """``cr.log_softmax(self, axis)``: same shape and dtype."""
        return P.log_softmax(self, axis=axis)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``cr.logsumexp(self, axis, keepdims)``: ``axis`` reduced (kept as 1 with keepdims)."""
        return P.logsumexp(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype: Any) -> Tensor:
        """``cr.cast(self, dtype)``: a copy converted to ``dtype`` (always a copy, as NumPy's),
        differentiable between floating dtypes (the gradient comes back in ``self``'s dtype)."""
        return P.cast(self, dtype)


_STATE_SLOTS = tuple(k for k in Tensor.__slots__ if k not in ("__weakref__", "_guard", "_source"))


def _no_out(method: str, out: Any) -> None:
    """NumPy passes ``out=None``; any other ``out`` is refused (results are new Tensors)."""
    if out is not None:
        raise ValueError(
            f"Tensor.{method}: out= is not supported (got {type(out).__name__}); a Tensor "
            "result is always a new tensor: assign it instead"
        )


def _c_order(method: str, order: str) -> None:
    if order != "C":
        raise ValueError(f"Tensor.{method}: order={order!r} is not supported; only 'C' (row-major)")


def _same_dtype(a: Any, b: Any) -> bool:
    """``a == b`` as dtypes (NumPy's reading of names and types; foreign dtypes by equality)."""
    try:
        return bool(np.dtype(a) == np.dtype(b))
    except TypeError:
        return bool(a == b)


def _in_dtype(t: Tensor, dtype: Any) -> Tensor:
    """``t`` converted to ``dtype`` for a reduction's accumulation (``t`` itself when None or
    already that dtype)."""
    if dtype is None:
        return t
    try:
        if np.dtype(dtype) == np.dtype(t.dtype):
            return t
    except TypeError:
        pass
    return P.cast(t, dtype)


def _dims(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Dimensions given as ``f(2, 3)`` or ``f((2, 3))`` (or a list), as one tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


# --- creation --------------------------------------------------------------------------------------


def _as_data(data: Any, dtype: Any) -> Any:
    """``data`` as an array, shared when possible: floating arrays keep their dtype (any
    namespace); numbers, lists, ints and bools become float64 unless ``dtype`` says otherwise."""
    if type(data) is np.ndarray and dtype is None and data.dtype.kind in "fc":
        return data
    if isinstance(data, Tensor):
        data = data._data
    if type(data) is not np.ndarray and backend.is_array(data) and not isinstance(data, np.generic):
        if dtype is not None:
            return backend.asarray(data, dtype=dtype)
        return data
    arr = np.asarray(data, dtype=dtype if not isinstance(dtype, str) else np.dtype(dtype))
    if dtype is None and arr.dtype.kind not in "fc":
        arr = arr.astype(np.float64)
    return arr


def _copied_data(data: Any, dtype: Any) -> Any:
    """:func:`_as_data`, but never sharing memory with ``data`` (or with the Tensor ``data``)."""
    src = data._data if isinstance(data, Tensor) else data
    arr = _as_data(src, dtype)
    if type(arr) is np.ndarray:
        # A fresh conversion (of a list, a number, or a cast) owns its memory: no second copy.
        return arr.copy() if arr is src or arr.base is not None else arr
    if arr is src:
        return backend.array_namespace(arr).asarray(arr, copy=True)
    return arr


def _check_float(data: Any, name: str | None) -> None:
    kind = getattr(getattr(data, "dtype", None), "kind", "f")
    if kind not in "fc":
        what = f"tensor {name!r}" if name else "a tensor"
        raise TypeError(f"only floating tensors can require grad; {what} has dtype {data.dtype}")


def tensor(
    data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
) -> Tensor:
    """Make a leaf Tensor holding a copy of ``data`` (as ``torch.tensor``).

    Later changes to ``data`` do not reach the tensor, and in-place updates of the tensor (an
    optimizer step on ``t.data``) do not reach ``data``. Use :func:`as_tensor` to share instead.

    Args:
        data: an array of any Array-API namespace (the copy stays in that namespace), a Tensor (its
            data is copied; the result is a new leaf), a nested list or a number. Floating arrays
            keep their dtype (float32 stays float32); numbers, lists, ints and bools become float64
            unless ``dtype`` says otherwise.
        requires_grad: record operations on it so that ``backward`` fills ``grad``.
        dtype: a dtype or dtype name (``"float32"``).
        name: a name for derivations and drawings (``"w_{2,4}"``).

    Returns:
        A leaf Tensor (``op is None``) of ``data``'s shape.

    Raises:
        TypeError: ``requires_grad`` on a non-floating dtype.
    """
    if (
        type(data) is _NDARRAY
        and dtype is None
        and (data.dtype is _F64_DTYPE or data.dtype.kind == "f")
    ):
        # The common case (a floating NumPy array), with Tensor.__init__'s keyword binding and the
        # _leaf call inlined: scalar graphs create a leaf per input every step.
        t = _object_new(Tensor)
        t._data = data.copy()
        t.requires_grad = requires_grad is True or bool(requires_grad)
        t.grad = None
        t.name = name
        t.op = None
        t.parents = ()
        t.params = _NO_PARAMS
        t._args = None
        t._raw = None
        t._retain = 0
        t._seq = next(_SEQ)
        return t
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(
    data: Any, dtype: Any = None, requires_grad: bool = False, name: str | None = None
) -> Tensor:
    """A Tensor that shares ``data``'s memory when it can (as ``torch.as_tensor``).

    A floating array of any namespace (no ``dtype``, or its own) is wrapped without a copy, so
    in-place changes on either side are seen by the other. Anything that needs a conversion (a
    list, a number, an int array, another dtype) is converted, which copies.

    Args:
        data: as for :func:`tensor`. A Tensor is returned unchanged when ``dtype`` is None or its
            own dtype and neither ``requires_grad`` nor ``name`` is given; otherwise the result is
            a new leaf sharing its data (no graph).
        dtype, requires_grad, name: as for :func:`tensor`.

    Returns:
        A leaf Tensor (or ``data`` itself, see above).

    Raises:
        TypeError: ``requires_grad`` on a non-floating dtype.
    """
    if type(data) is np.ndarray and dtype is None and data.dtype.kind == "f":
        t = _leaf(data)
        t.requires_grad = bool(requires_grad)
        t.name = name
        return t
    if (
        isinstance(data, Tensor)
        and not requires_grad
        and name is None
        and (dtype is None or str(dtype) == str(data.dtype))
    ):
        return data
    arr = _as_data(data, dtype)
    if requires_grad:
        _check_float(arr, name)
    t = _shared_leaf(data) if isinstance(data, Tensor) and arr is data._data else _leaf(arr)
    t.requires_grad = bool(requires_grad)
    t.name = name
    return t


_BACKWARD: list[Any] = []


def _backward_pass() -> Any:
    """The backward function, imported once (its module imports this one)."""
    if not _BACKWARD:
        from chainrule.autodiff.backward import backward

        _BACKWARD.append(backward)
    return _BACKWARD[0]


def value(x: Any) -> Any:
    """The array inside a Tensor, or ``x`` unchanged (for computing with it, not for writing to it:
    unlike ``x.data`` it keeps no snapshot, see :attr:`Tensor.data`)."""
    return x._data if isinstance(x, Tensor) else x


def _leaf(data: Any) -> Tensor:
    """A leaf wrapping ``data`` as it is (no copy, no grad): computed results without a graph."""
    t = _object_new(Tensor)
    t._data = data
    t.requires_grad = False
    t.grad = None
    t.name = None
    t.op = None
    t.parents = ()
    t.params = _NO_PARAMS
    t._args = None
    t._raw = None
    t._retain = 0
    t._seq = next(_SEQ)
    return t


def _shared_leaf(src: Tensor) -> Tensor:
    """A leaf sharing ``src``'s array (``detach``), linked to ``src`` so that writes through its
    ``data`` are checked against the graphs that saved ``src``."""
    d = src._data
    t = _leaf(d)
    if type(d) is _NDARRAY:
        t._source = _weakref(src)
    return t


def _node(
    data: Any,
    op: Primitive,
    parents: tuple[Tensor, ...],
    params: dict[str, Any],
    args: tuple[Any, ...] | None,
    raw: tuple[Any, ...],
) -> Tensor:
    t = _object_new(Tensor)
    t._data = data
    t.requires_grad = True
    t.grad = None
    t.name = None
    t.op = op
    t.parents = parents
    t.params = params
    t._args = args
    t._raw = raw
    t._retain = False
    t._seq = next(_SEQ)
    for p in parents:
        if p.op is None:  # a leaf counts the nodes that saved it (see _held)
            p._retain += 1
    return t


# --- in-place changes ------------------------------------------------------------------------------
#
# A graph node saves arrays for its VJP rules: its operands' arrays and its own output. A change to one
# of them before backward would make the gradient wrong without a word, so (docs/autodiff.md, "In-place
# changes"):
#
# - Changes made through chainrule (assignments to ``t.data``, optimizer steps: _record_change) bump
#   the tensor's version and, when a graph may hold it, are stamped with the clock (_SEQ) of the change.
# - Writes into the array itself (``t.data[:] = 0``) cannot be seen when they happen. Instead, handing
#   the array out (``t.data``, ``t.numpy()``, ``np.asarray(t)``) while a graph may hold it keeps a
#   snapshot of its bytes (_expose); a difference found later (_settle) is a change, stamped with the
#   clock of that snapshot.
# - backward raises (_verify) for a node made before a stamp on one of the values it saved. It looks
#   only at nodes made before the latest stamp or snapshot of any tensor (_EVENT): with no change and
#   no array handed out between forward and backward, the cost is one comparison per node.
#
# "A graph may hold it": a node not yet freed by backward saved it. A non-leaf: its own node is not
# freed (``_raw is not None``). A leaf: ``_retain > 0``, counted up when a node saves the leaf and down
# when backward frees that node (a graph dropped without backward leaves it counted: .data then keeps
# snapshots that are never used; the cost of a copy, never a false error).

#: The clock of the latest stamp or snapshot of any tensor: backward verifies the nodes made before it.
_EVENT = [-1]
_STAMPS_KEPT = 64
_KEEP: Any = object()  # _record_change: the array stays (a write into it by chainrule's own code)


class _Guard:
    """The in-place record of one tensor (made on first need)."""

    __slots__ = ("array", "snap", "snap_at", "stamps", "version")

    def __init__(self) -> None:
        self.version = 0
        #: (clock, how) of the changes made while a graph may have held the tensor, oldest first
        self.stamps: list[tuple[int, str]] = []
        #: the bytes of ``array`` when it was last handed out, at clock ``snap_at``
        self.snap: bytes | None = None
        self.array: Any = None
        self.snap_at = -1


def _guard_of(t: Tensor) -> _Guard:
    g: _Guard | None = getattr(t, "_guard", None)
    if g is None:
        g = t._guard = _Guard()
    return g


def _held(t: Tensor) -> bool:
    """True when a graph node that backward has not freed may have saved ``t``'s array."""
    if getattr(t, "op", None) is not None:
        return getattr(t, "_raw", None) is not None
    return getattr(t, "_retain", 0) > 0


def _stamp(g: _Guard, at: int, how: str) -> None:
    g.version += 1
    g.stamps.append((at, how))
    if len(g.stamps) > _STAMPS_KEPT:
        del g.stamps[0]
    if at > _EVENT[0]:
        _EVENT[0] = at


def _settle(t: Tensor, g: _Guard) -> bool:
    """Compare the snapshot of ``t`` with its array: a difference is a write through the array handed
    out at the snapshot's clock (stamped then; the snapshot is used up). True when one is found."""
    if g.snap is None or g.array.tobytes() == g.snap:
        return False
    at = g.snap_at
    g.snap = g.array = None
    _stamp(g, at, "a write into the array of .data")
    return True


def _expose(t: Tensor, d: Any) -> None:
    """``t``'s NumPy array ``d`` is handed out: if a graph may hold it, keep a snapshot of its bytes;
    the same for the tensors whose memory it shares (the input of a view, the source of detach)."""
    todo = [(t, d)]
    while todo:
        t, d = todo.pop()
        if _held(t):
            g = _guard_of(t)
            now = next(_SEQ)
            if g.snap is not None and g.array is d and not _settle(t, g):
                g.snap_at = now  # unchanged since the last snapshot: it stands for now as well
            else:
                g.snap = d.tobytes()
                g.array = d
                g.snap_at = now
            _EVENT[0] = now
        else:
            old: _Guard | None = getattr(t, "_guard", None)
            if old is not None and old.snap is not None:
                old.snap = old.array = None  # no graph holds it any more
        if t.op is not None:
            shared = t.parents  # a view (reshape, transpose, indexing) shares an operand's memory
        else:
            src = getattr(t, "_source", None)
            s = None if src is None else src()
            if s is None:
                continue
            shared = (s,)
        for p in shared:
            pd = p._data
            if type(pd) is _NDARRAY and np.may_share_memory(pd, d):
                todo.append((p, pd))


def _record_change(t: Tensor, how: str, new: Any = _KEEP) -> None:
    """Record an in-place change of ``t`` before it is made: ``t.data = new``, or (``new`` omitted)
    a write into its array by chainrule's own code (an optimizer step). The version goes up; when a
    graph may hold ``t`` the change is stamped, so that backward through that graph raises."""
    g = _guard_of(t)
    found = _settle(t, g)
    if found and new is getattr(t, "_data", None):
        return  # ``t.data -= x``: the write into the array handed out was just found and stamped
    if _held(t):
        _stamp(g, next(_SEQ), how)
    else:
        g.version += 1
    if new is not _KEEP:
        g.snap = g.array = None


def _describe_tensor(t: Tensor) -> str:
    shape = tuple(getattr(getattr(t, "_data", None), "shape", ()))
    kind = "leaf" if t.op is None else f"output of {t.op.name}"
    if t.name is not None:
        return f"tensor {t.name!r} ({kind}, shape {shape})"
    return f"an unnamed {kind} of shape {shape}"


def _verify(node: Tensor, seq: int, settled: set[int]) -> None:
    """Raise when a value that ``node`` (made at clock ``seq``) saved for its VJP rules, its operands'
    arrays and its own output, was changed in place since. ``settled``: the ids of the guards already
    compared with their arrays in this backward pass (no code of the user's runs in between)."""
    for t in (node, *node.parents):
        g = getattr(t, "_guard", None)
        if g is None:
            continue
        if g.snap is not None and g.snap_at > seq and id(g) not in settled and not _settle(t, g):
            settled.add(id(g))  # unchanged: not compared again in this pass
        if g.stamps and g.stamps[-1][0] > seq:
            raise RuntimeError(_changed_message(t, node, g, seq))


def _changed_message(t: Tensor, node: Tensor, g: _Guard, seq: int) -> str:
    later = [how for at, how in g.stamps if at > seq]
    op = node.op.name if node.op is not None else "leaf"
    by = f"its own {op} node" if t is node else f"the {op} node"
    if t is not node and node.name is not None:
        by += f" {node.name!r}"
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {_describe_tensor(t)} is at version {g.version}, but {by} saved it at version "
        f"{g.version - len(later)} (changed since by {later[-1]}). Clone it before modifying it "
        "(cr.tensor(t) is a copy to modify), or recompute the forward pass after the change "
        "(or make the change after backward)."
    )


def _binary_r(prim: Primitive, a: Any, b: Tensor) -> Tensor:
    """``prim(a, b)`` for a constant ``a`` and a Tensor ``b`` (reflected operators)."""
    if type(a) in _SEQ_TYPES:  # a list holding Tensors is stacked, not read as constants
        a = sequence_operand(a)
        if isinstance(a, Tensor):
            return apply(prim, (a, b), _NO_PARAMS)
    bd = b._data
    out = prim.forward(a, bd)
    if GRAD_ENABLED[0] and b.requires_grad:
        return _node(out, prim, (b,), _NO_PARAMS, (a, b), (a, bd))
    return _leaf(out)


#: Operand types read as sequences of array-likes (see :func:`sequence_operand`).
_SEQ_TYPES = frozenset({list, tuple})


def _holds_tensor(seq: Any) -> bool:
    """True when the (nested) list or tuple ``seq`` has a Tensor anywhere inside."""
    return any(isinstance(s, Tensor) or (type(s) in _SEQ_TYPES and _holds_tensor(s)) for s in seq)


def sequence_operand(seq: list[Any] | tuple[Any, ...]) -> Any:
    """A list or tuple given where an array is expected, as one operand.

    With a Tensor anywhere inside, the entries are stacked along a new first axis (nested lists
    recursively) by the differentiable ``stack`` primitive, so ``cr.sum([x, x + 2])`` keeps the
    graph of both entries. Without one it is ``np.asarray(seq)``, as NumPy reads it.

    Raises:
        ValueError: the entries' shapes differ (a ragged sequence; NumPy's message).
    """
    if _holds_tensor(seq):
        return P.stack(list(seq))
    return np.asarray(seq)


def apply(prim: Primitive, operands: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """Apply ``prim`` to ``operands``.

    With no Tensor operand this is ``prim.forward(*operands, **params)`` on plain arrays (the path
    VJP rules take when no graph is being built). Otherwise the result is a Tensor; a graph node is
    recorded when grad mode is on and some Tensor operand requires grad. A list or tuple operand is
    read by :func:`sequence_operand` (stacked when it holds Tensors).
    """
    raw: list[Any] | None = None
    parents: list[Tensor] = []
    needs = False
    for i, a in enumerate(operands):
        if isinstance(a, Tensor):
            if raw is None:
                raw = list(operands[:i])
            raw.append(a._data)
            parents.append(a)
            if a.requires_grad:
                needs = True
        elif type(a) in _SEQ_TYPES:
            # Start again with the sequence read as one operand (an array, or a stacked Tensor).
            return apply(prim, (*operands[:i], sequence_operand(a), *operands[i + 1 :]), params)
        elif raw is not None:
            raw.append(a)
    if raw is None:
        return prim.forward(*operands, **params)
    out = prim.forward(*raw, **params)
    if needs and GRAD_ENABLED[0]:
        args = None if len(parents) == len(operands) else tuple(operands)
        return _node(out, prim, tuple(parents), params, args, tuple(raw))
    return _leaf(out)


# The primitives module imports this one; bind it last so both can refer to each other.
from chainrule.autodiff import primitives as P  # noqa: E402


def _binary_method(prim: Primitive, name: str, scalar_math: bool) -> Any:
    """``Tensor.<name>`` (``self <op> other``) for ``prim``, with everything bound once: the hot path
    of arithmetic, node creation inlined. A constant ``other`` (number, array) is no parent; it is
    kept in the node's operands.

    ``scalar_math`` (``+ - * /`` only): a 0-d float64 array (a scalar leaf, ``cr.tensor(0.5)``) with a
    ``np.float64`` (what 0-d arithmetic returns) goes through NumPy's scalar math with the array's
    ``.item()``: the same bits and the same type (``np.float64``), about 5x cheaper than the array path;
    two such arrays (``w * x`` on scalar leaves) meet as their ``np.float64`` scalars (``a[()]``).
    """
    fwd = prim.forward

    def method(self: Tensor, other: Any) -> Any:
        ad = self._data
        if isinstance(other, Tensor):
            bd = other._data
            tb = type(bd)
            ta = type(ad)
            if not scalar_math or tb is ta is _F64:
                out = fwd(ad, bd)
            elif tb is _F64 and ta is _NDARRAY and ad.dtype is _F64_DTYPE and not ad.shape:
                out = fwd(ad.item(), bd)
            elif tb is _NDARRAY and bd.dtype is _F64_DTYPE and not bd.shape:
                if ta is _F64:
                    out = fwd(ad, bd.item())
                elif ta is _NDARRAY and ad.dtype is _F64_DTYPE and not ad.shape:
                    out = fwd(ad[()], bd[()])  # two scalar leaves (w * x): np.float64 scalar math
                else:
                    out = fwd(ad, bd)
            else:
                out = fwd(ad, bd)
            if GRAD_ENABLED[0] and (self.requires_grad or other.requires_grad):
                t = _object_new(Tensor)
                t._data = out
                t.requires_grad = True
                t.grad = None
                t.name = None
                t.op = prim
                t.parents = (self, other)
                t.params = _NO_PARAMS
                t._args = None
                t._raw = (ad, bd)
                t._retain = False
                t._seq = next(_SEQ)
                if self.op is None:  # a leaf counts the nodes that saved it (see _held)
                    self._retain += 1
                if other.op is None:
                    other._retain += 1
                return t
            return _leaf(out)
        if type(other) in _SEQ_TYPES:  # a list holding Tensors is stacked, not read as constants
            return method(self, sequence_operand(other))
        out = fwd(ad, other)
        if GRAD_ENABLED[0] and self.requires_grad:
            t = _object_new(Tensor)
            t._data = out
            t.requires_grad = True
            t.grad = None
            t.name = None
            t.op = prim
            t.parents = (self,)
            t.params = _NO_PARAMS
            t._args = (self, other)
            t._raw = (ad, other)
            t._retain = False
            t._seq = next(_SEQ)
            if self.op is None:
                self._retain += 1
            return t
        return _leaf(out)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{prim.doc.replace('a', 'self', 1).replace('b', 'other', 1)}``"
    return method


def install_operators(prims: dict[str, Primitive], scalar_math: frozenset[str]) -> None:
    """Bind ``Tensor.__add__`` etc. to their primitives (called once by the primitives module);
    ``scalar_math`` names the operators whose scalar fast path is exact (see :func:`_binary_method`)."""
    for name, prim in prims.items():
        setattr(Tensor, name, _binary_method(prim, name, name in scalar_math))
