"""The Tensor: an array plus the graph node that made it.

Attributes of every Tensor (stable; explanations and drawings read them):

- ``data``: the array (any Array-API namespace; NumPy by default). Results of 0-d NumPy arithmetic are
  NumPy scalars (``np.float64``), which behave as 0-d arrays.
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
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import backend
from chainrule.autodiff.graph import GRAD_ENABLED, Primitive

__all__ = ["Tensor", "apply", "as_tensor", "tensor", "value"]

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

    __slots__ = (
        "__weakref__",
        "_args",
        "_raw",
        "_retain",
        "_seq",
        "data",
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

    data: Any
    grad: Tensor | None
    requires_grad: bool
    name: str | None
    op: Primitive | None
    parents: tuple[Tensor, ...]
    params: dict[str, Any]
    _args: tuple[Any, ...] | None
    _raw: tuple[Any, ...] | None
    _retain: bool
    _seq: int

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        """``Tensor(data, ...)`` is :func:`tensor` (``data`` is copied); see there."""
        self.data = _copied_data(data, dtype)
        if requires_grad:
            _check_float(self.data, name)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.name = name
        self.op = None
        self.parents = ()
        self.params = _NO_PARAMS
        self._args = None
        self._raw = None
        self._retain = False
        self._seq = next(_SEQ)

    # --- introspection -------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        """Number of dimensions of ``data``."""
        return int(self.data.ndim)

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for s in self.data.shape:
            n *= int(s)
        return n

    @property
    def dtype(self) -> Any:
        """The dtype of ``data``."""
        return self.data.dtype

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
            np.asarray(backend.to_numpy(self.data)), precision=6, separator=", ", prefix="tensor("
        )
        extra = ""
        if self.requires_grad:
            extra += ", requires_grad=True"
        if self.name is not None:
            extra += f", name={self.name!r}"
        if self.op is not None:
            extra += f", op={self.op.name}"
        dt = getattr(self.data, "dtype", None)
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
        return int(self.data.shape[0])

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(int(self.data.shape[0])))

    def __format__(self, spec: str) -> str:
        if spec and self.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``data`` as a NumPy array, by NumPy's ``copy`` protocol: ``np.array(t)`` copies,
        ``np.asarray(t)`` shares when it can. Raises ValueError if ``copy=False`` cannot be met."""
        arr = backend.to_numpy(self.data)
        if copy:
            return np.array(arr, dtype=dtype, copy=True)
        return np.asarray(arr, dtype=dtype, copy=copy)

    __hash__ = object.__hash__

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return backend.to_numpy(self.data).item()

    def numpy(self) -> np.ndarray:
        """``data`` as a NumPy array (a view when it already is one)."""
        return np.asarray(backend.to_numpy(self.data))

    def tolist(self) -> Any:
        """``data`` as nested Python lists."""
        return backend.to_numpy(self.data).tolist()

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
        """A new leaf sharing ``data``, with no graph and ``requires_grad=False``."""
        return _leaf(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if requires_grad:
            _check_float(self.data, self.name)
        if self.op is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad can only be switched off on leaves; use detach() on a result"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep the gradient of this non-leaf in ``grad`` during backward; returns self."""
        self._retain = True
        return self

    # --- operators -----------------------------------------------------------------------------

    if TYPE_CHECKING:
        # Installed at import by install_operators (one fast closure per operator); declared here
        # for type checkers only.
        def __add__(self, other: Any) -> Any: ...
        def __sub__(self, other: Any) -> Any: ...
        def __mul__(self, other: Any) -> Any: ...
        def __truediv__(self, other: Any) -> Any: ...
        def __pow__(self, other: Any) -> Any: ...
        def __matmul__(self, other: Any) -> Any: ...

    def __radd__(self, other: Any) -> Any:
        return _binary_r(P.ADD, other, self)

    def __rsub__(self, other: Any) -> Any:
        return _binary_r(P.SUB, other, self)

    def __rmul__(self, other: Any) -> Any:
        return _binary_r(P.MUL, other, self)

    def __rtruediv__(self, other: Any) -> Any:
        return _binary_r(P.DIV, other, self)

    def __rpow__(self, other: Any) -> Any:
        return _binary_r(P.POW, other, self)

    def __rmatmul__(self, other: Any) -> Any:
        return _binary_r(P.MATMUL, other, self)

    def __neg__(self) -> Any:
        return apply(P.NEG, (self,), _NO_PARAMS)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Any:
        return P.abs(self)

    # comparisons: not differentiable, bool Tensors without a graph
    def __lt__(self, other: Any) -> Tensor:
        return _leaf(self.data < value(other))

    def __le__(self, other: Any) -> Tensor:
        return _leaf(self.data <= value(other))

    def __gt__(self, other: Any) -> Tensor:
        return _leaf(self.data > value(other))

    def __ge__(self, other: Any) -> Tensor:
        return _leaf(self.data >= value(other))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return _leaf(self.data == value(other))

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return _leaf(self.data != value(other))

    def __getitem__(self, index: Any) -> Any:
        return P.getitem(self, index)

    def __setitem__(self, index: Any, val: Any) -> None:
        raise TypeError(
            "Tensors do not support item assignment (it would break recorded graphs); "
            "build a new tensor with cr.where, cr.concatenate or cr.stack, or edit t.data under no_grad"
        )

    # --- methods (compositions of primitives) ----------------------------------------------------

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Sum over ``axis`` (int, tuple or None for all)."""
        return P.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Mean over ``axis``."""
        return P.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Maximum over ``axis`` (ties share the gradient equally)."""
        return P.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Minimum over ``axis`` (ties share the gradient equally)."""
        return P.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        """Product over ``axis``."""
        return P.prod(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> Any:
        """Same data, new shape (``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one -1 allowed)."""
        shape = _dims(shape)
        return P.reshape(self, shape)

    def transpose(self, *axes: Any) -> Any:
        """Permute axes (no arguments: reverse them, as NumPy)."""
        axes = _dims(axes)
        return P.transpose(self, axes if axes else None)

    def permute(self, *axes: Any) -> Any:
        """Permute axes: ``t.permute(2, 0, 1)``."""
        axes = _dims(axes)
        return P.transpose(self, axes)

    @property
    def T(self) -> Any:
        """All axes reversed."""
        return P.transpose(self, None)

    @property
    def mT(self) -> Any:
        """The last two axes swapped (matrix transpose of a stack)."""
        return P.swapaxes(self, -1, -2)

    def expand(self, *shape: Any) -> Any:
        """Broadcast to ``shape`` (NumPy rules; gradients are summed back)."""
        shape = _dims(shape)
        return P.broadcast_to(self, shape)

    def flatten(self) -> Any:
        """A 1-d view of all elements."""
        return P.reshape(self, (-1,))

    def exp(self) -> Any:
        """``cr.exp(self)``: elementwise, same shape and dtype."""
        return P.exp(self)

    def log(self) -> Any:
        """``cr.log(self)``: elementwise, same shape and dtype."""
        return P.log(self)

    def sqrt(self) -> Any:
        """``cr.sqrt(self)``: elementwise, same shape and dtype."""
        return P.sqrt(self)

    def tanh(self) -> Any:
        """``cr.tanh(self)``: elementwise, same shape and dtype."""
        return P.tanh(self)

    def sigmoid(self) -> Any:
        """``cr.sigmoid(self)``: elementwise, same shape and dtype."""
        return P.sigmoid(self)

    def relu(self) -> Any:
        """``cr.relu(self)``: elementwise, same shape and dtype."""
        return P.relu(self)

    def abs(self) -> Any:
        """``cr.abs(self)``: elementwise, same shape and dtype."""
        return P.abs(self)

    def sin(self) -> Any:
        """``cr.sin(self)``: elementwise, same shape and dtype."""
        return P.sin(self)

    def cos(self) -> Any:
        """``cr.cos(self)``: elementwise, same shape and dtype."""
        return P.cos(self)

    def clip(self, min: Any = None, max: Any = None) -> Any:
        """``cr.clip(self, min, max)``: elementwise, same shape and dtype."""
        return P.clip(self, min, max)

    def softmax(self, axis: int = -1) -> Any:
        """``cr.softmax(self, axis)``: same shape and dtype."""
        return P.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Any:
        """``cr.log_softmax(self, axis)``: same shape and dtype."""
        return P.log_softmax(self, axis=axis)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Any:
        """``cr.logsumexp(self, axis, keepdims)``: ``axis`` reduced (kept as 1 with keepdims)."""
        return P.logsumexp(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype: Any) -> Any:
        """``cr.cast(self, dtype)``: a copy converted to ``dtype`` (always a copy, as NumPy's),
        differentiable between floating dtypes (the gradient comes back in ``self``'s dtype)."""
        return P.cast(self, dtype)


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
        data = data.data
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
    src = data.data if isinstance(data, Tensor) else data
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
        t.data = data.copy()
        t.requires_grad = requires_grad is True or bool(requires_grad)
        t.grad = None
        t.name = name
        t.op = None
        t.parents = ()
        t.params = _NO_PARAMS
        t._args = None
        t._raw = None
        t._retain = False
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
    t = _leaf(arr)
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
    """The array inside a Tensor, or ``x`` unchanged."""
    return x.data if isinstance(x, Tensor) else x


def _leaf(data: Any) -> Tensor:
    """A leaf wrapping ``data`` as it is (no copy, no grad): computed results without a graph."""
    t = _object_new(Tensor)
    t.data = data
    t.requires_grad = False
    t.grad = None
    t.name = None
    t.op = None
    t.parents = ()
    t.params = _NO_PARAMS
    t._args = None
    t._raw = None
    t._retain = False
    t._seq = next(_SEQ)
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
    t.data = data
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
    return t


def _binary_r(prim: Primitive, a: Any, b: Tensor) -> Tensor:
    """``prim(a, b)`` for a constant ``a`` and a Tensor ``b`` (reflected operators)."""
    bd = b.data
    out = prim.forward(a, bd)
    if GRAD_ENABLED[0] and b.requires_grad:
        return _node(out, prim, (b,), _NO_PARAMS, (a, b), (a, bd))
    return _leaf(out)


def apply(prim: Primitive, operands: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """Apply ``prim`` to ``operands``.

    With no Tensor operand this is ``prim.forward(*operands, **params)`` on plain arrays (the path
    VJP rules take when no graph is being built). Otherwise the result is a Tensor; a graph node is
    recorded when grad mode is on and some Tensor operand requires grad.
    """
    raw: list[Any] | None = None
    parents: list[Tensor] = []
    needs = False
    for i, a in enumerate(operands):
        if isinstance(a, Tensor):
            if raw is None:
                raw = list(operands[:i])
            raw.append(a.data)
            parents.append(a)
            if a.requires_grad:
                needs = True
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
        ad = self.data
        if isinstance(other, Tensor):
            bd = other.data
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
                t.data = out
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
                return t
            return _leaf(out)
        out = fwd(ad, other)
        if GRAD_ENABLED[0] and self.requires_grad:
            t = _object_new(Tensor)
            t.data = out
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
