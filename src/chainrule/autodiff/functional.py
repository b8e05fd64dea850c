"""Function transformations: grad, value_and_grad, vjp, jacobian, hvp.

They take a Python function ``f`` of arrays/Tensors and return derivatives. Arguments may be numbers,
arrays or Tensors. Results are plain arrays when the differentiated arguments were plain values, and
Tensors when they were Tensors: then the derivative is itself recorded (``create_graph``) whenever
the argument requires grad, so transformations nest: ``grad(grad(f))`` is the second derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.autodiff import primitives as P
from chainrule.autodiff.backward import gradients
from chainrule.autodiff.graph import enable_grad, register_primitive
from chainrule.autodiff.tensor import Tensor, _leaf, _node, as_tensor, sequence_operand

__all__ = ["grad", "hvp", "jacobian", "value_and_grad", "vjp"]


def _identity_forward(x: Any) -> Any:
    return x


def _identity_vjp(g: Any, ans: Any, x: Any) -> Any:
    return g


# A fresh node for an argument that is already part of an outer graph, so that an inner
# differentiation stops at it while the outer one continues through it.
IDENTITY = register_primitive(
    "identity", _identity_forward, _identity_vjp, doc="x (marks a differentiation input)"
)


def _argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(f"argnums {n} is out of range for a function called with {nargs} args")
    return tuple(n % nargs for n in nums)


def _as_input(x: Any) -> tuple[Tensor, bool]:
    """A Tensor to differentiate with respect to, and whether an outer graph continues through it."""
    if isinstance(x, Tensor):
        if x.requires_grad:
            node = _node(x.data, IDENTITY, (x,), {}, None, (x.data,))
            node.name = x.name
            return node, True
        t = _leaf(x.data)
        t.requires_grad = True
        t.name = x.name
        return t, False
    return as_tensor(x, requires_grad=True), False


def _prepare(
    args: tuple[Any, ...], argnums: tuple[int, ...]
) -> tuple[list[Any], list[Tensor], bool, list[bool]]:
    call = list(args)
    inputs = []
    nested = False
    was_tensor = []
    for n in argnums:
        a = args[n]
        if type(a) in (list, tuple):
            a = sequence_operand(a)  # a Tensor when it holds Tensors: treated as one
        t, outer = _as_input(a)
        nested = nested or outer
        was_tensor.append(isinstance(a, Tensor))
        call[n] = t
        inputs.append(t)
    return call, inputs, nested, was_tensor


def _shape_of(a: Any) -> tuple[int, ...]:
    shape = getattr(a, "shape", None)
    if shape is None:
        shape = np.shape(a)
    return tuple(int(d) for d in shape)


def _check_shape(fn: str, what: str, value: Any, of: str, shape: Any) -> None:
    """A cotangent (or direction) must have exactly the shape it pairs with: no broadcasting, which
    would silently compute something else."""
    got, want = _shape_of(value), tuple(int(d) for d in shape)
    if got != want:
        raise ValueError(
            f"{fn}: {what} has shape {got} but {of} has shape {want}; they must be equal"
        )


def _finish(g: Any, was_tensor: bool) -> Any:
    if was_tensor:
        return g if isinstance(g, Tensor) else _leaf(g)
    return g.data if isinstance(g, Tensor) else g


def _plain(y: Any, was_tensor: bool) -> Any:
    if isinstance(y, Tensor) and not was_tensor:
        return y.data
    return y


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Any, Any]]:
    """``f`` -> a function returning ``(f(*args), gradient)``.

    ``f`` must return a scalar (one element). With an int ``argnums`` the gradient has the shape of
    that argument; with a tuple it is a tuple of gradients.

    Raises:
        TypeError: ``f`` returned a non-Tensor or a result with more than one element.
        ValueError: an ``argnums`` entry is out of range.
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args))
        call, inputs, nested, was_tensor = _prepare(args, nums)
        with enable_grad():  # a transformation differentiates even inside no_grad()
            y = f(*call, **kwargs)
        any_tensor = any(was_tensor)
        if not isinstance(y, Tensor):
            raise TypeError(
                f"grad: {getattr(f, '__name__', 'f')} must return a Tensor computed from its "
                f"arguments; it returned {type(y).__name__}"
            )
        if y.size != 1:
            raise TypeError(
                f"grad requires a scalar output; {getattr(f, '__name__', 'f')} returned shape "
                f"{y.shape}: use cr.vjp or cr.jacobian for non-scalar outputs"
            )
        gs = gradients(y, inputs, create_graph=nested)
        out = [_finish(g, w) for g, w in zip(gs, was_tensor, strict=True)]
        grads = out[0] if isinstance(argnums, int) else tuple(out)
        return _plain(y, any_tensor), grads

    value_and_grad_f.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``f`` -> its gradient function (``f`` must return a scalar).

    The gradient has the shape and dtype of its argument (a tuple of them for a tuple ``argnums``);
    it is a plain array for a plain argument and a Tensor for a Tensor argument.

    Example: ``cr.grad(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))`` is ``[3., 12.]``, and
    ``cr.grad(cr.grad(lambda x: x ** 3))(2.0)`` is ``12.0``.

    Raises:
        TypeError: ``f`` returned a non-Tensor or a result with more than one element.
        ValueError: an ``argnums`` entry is out of range.
    """
    vg = value_and_grad(f, argnums)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return vg(*args, **kwargs)[1]

    grad_f.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return grad_f


def vjp(f: Callable[..., Any], *args: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``(f(*args), vjp_fn)`` where ``vjp_fn(cotangent)`` returns one gradient per argument:
    ``cotangent · ∂f/∂arg``. ``vjp_fn`` may be called several times.

    Raises:
        TypeError: ``f`` did not return a Tensor.
        ValueError: the cotangent's shape differs from the output's (``vjp_fn`` says both shapes).
    """
    nums = tuple(range(len(args)))
    call, inputs, nested, was_tensor = _prepare(args, nums)
    with enable_grad():
        y = f(*call)
    if not isinstance(y, Tensor):
        raise TypeError(f"vjp: f must return a Tensor; it returned {type(y).__name__}")

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        _check_shape("vjp", "the cotangent", cotangent, "f's output", y.shape)
        ct = cotangent.data if isinstance(cotangent, Tensor) and not nested else cotangent
        gs = gradients(y, inputs, grad=ct, retain_graph=True, create_graph=nested)
        return tuple(_finish(g, w) for g, w in zip(gs, was_tensor, strict=True))

    return _plain(y, any(was_tensor)), vjp_fn


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``f`` -> a function returning the Jacobian of ``f`` with respect to argument ``argnums``.

    The Jacobian has shape ``out.shape + arg.shape`` and the output's dtype, in the output's array
    namespace (NumPy for NumPy inputs); one reverse pass per output element: meant for small outputs. With a tuple ``argnums`` the
    result is a tuple of Jacobians, one per argument.

    Raises:
        TypeError: ``f`` does not return a Tensor.
        ValueError: an ``argnums`` entry is out of range.
    """

    def jacobian_f(*args: Any) -> Any:
        nums = _argnums(argnums, len(args))
        call, inputs, _, _ = _prepare(args, nums)
        with enable_grad():
            y = f(*call)
        if not isinstance(y, Tensor):
            raise TypeError(f"jacobian: f must return a Tensor; it returned {type(y).__name__}")
        xp = backend.array_namespace(y.data)
        ydtype = backend.to_numpy(y.data).dtype
        yshape = tuple(y.data.shape)
        rows = int(np.prod(yshape, dtype=np.int64))
        jacs = [np.zeros((rows, *x.data.shape), dtype=ydtype) for x in inputs]
        for i in range(rows):
            e = np.zeros(rows, dtype=ydtype)
            e[i] = 1.0
            seed = e.reshape(yshape)
            gs = gradients(
                y, inputs, grad=seed if xp is np else xp.asarray(seed), retain_graph=True
            )
            for jac, g in zip(jacs, gs, strict=True):
                jac[i] = backend.to_numpy(g)
        out = [
            jac.reshape(yshape + tuple(x.data.shape))
            if xp is np
            else xp.asarray(jac.reshape(yshape + tuple(x.data.shape)))
            for jac, x in zip(jacs, inputs, strict=True)
        ]
        return out[0] if isinstance(argnums, int) else tuple(out)

    return jacobian_f


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """Hessian-vector product ``∇²f(x) · v`` for scalar ``f``, by differentiating ``⟨∇f, v⟩``.

    ``v`` has ``x``'s shape; so has the result (a plain array for a plain ``x``). No Hessian is formed:
    the cost is about two gradient evaluations.

    Raises:
        TypeError: ``f`` returned a non-Tensor or a non-scalar.
        ValueError: ``v`` does not have ``x``'s shape (the message gives both shapes).
    """
    if type(x) in (list, tuple):
        x = sequence_operand(x)
    if type(v) in (list, tuple):
        v = sequence_operand(v)
    _check_shape("hvp", "v", v, "x", _shape_of(x))

    def directional(xt: Any) -> Any:
        g = grad(f)(xt)
        return P.sum(g * v)

    return grad(directional)(x)
