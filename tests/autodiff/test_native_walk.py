"""The backward walk in C (chainrule.autodiff._walk, ``backward.NATIVE_WALK``) against the Python walk
(``backward._walk_fast``), which it copies step for step: on random programs over scalars, vectors and
matrices (every operand kind: Tensors, Python numbers, NumPy scalars and arrays; variadic primitives;
primitives with parameters; retained intermediates; repeated leaves), both give the same gradients,
bit for bit and of the same types, in ``.grad`` and through ``gradients``; they free, count down and
refuse the same way (a second backward, an in-place change, an operand without a rule)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff import backward as B
from chainrule.autodiff.graph import register_primitive
from chainrule.autodiff.tensor import Tensor

NATIVE = B.NATIVE_WALK


def test_the_extension_is_built_in_ci() -> None:
    """`make test` builds it (gcc is on every machine); without a compiler the Python walk runs."""
    if NATIVE is None and not os.environ.get("CI"):
        pytest.skip("chainrule.autodiff._walk is not built here: backward runs the Python walk")
    assert NATIVE is not None


needs_ext = pytest.mark.skipif(
    NATIVE is None and not os.environ.get("CI"), reason="chainrule.autodiff._walk is not built here"
)


@contextmanager
def walk(native: bool) -> Iterator[None]:
    """Run backward and gradients on the C walk (``native``) or on the Python one."""
    saved = B.NATIVE_WALK
    B.NATIVE_WALK = NATIVE if native else None
    try:
        yield
    finally:
        B.NATIVE_WALK = saved


def _bits(x: Any) -> tuple[str, tuple[int, ...], bytes] | None:
    if x is None:
        return None
    if isinstance(x, Tensor):
        x = x._data
    return type(x).__name__, tuple(np.shape(x)), np.asarray(x).tobytes()


# --- random programs -------------------------------------------------------------------------------

SHAPES = ((), (3,), (2, 3))
_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": cr.tanh,
    "exp": lambda t: cr.exp(t * 0.1),
    "sigmoid": cr.sigmoid,
    "leaky_relu": lambda t: cr.leaky_relu(t, 0.1),  # a primitive with parameters
    "neg": lambda t: -t,
    "sum": lambda t: cr.sum(t),
    "sum0": lambda t: cr.sum(t, axis=0) if t.ndim else t,
    "mean_keep": lambda t: cr.mean(t, axis=-1, keepdims=True) if t.ndim else t,
    "index": lambda t: t[0] if t.ndim else t,
    "reshape": lambda t: cr.reshape(cr.reshape(t, (-1,)) * 1.5, t.shape),
}


def _constant(kind: int, shape: tuple[int, ...], v: float) -> Any:
    if kind == 0:
        return v  # a Python float
    if kind == 1:
        return np.float64(v)
    return np.full(shape, v)  # an array: broadcast against the Tensor


def _broadcastable(s: tuple[int, ...], t: tuple[int, ...]) -> bool:
    return all(x == y or 1 in (x, y) for x, y in zip(s[::-1], t[::-1], strict=False))


def _binary(name: str, a: Any, b: Any) -> Tensor:
    out: Tensor
    if isinstance(b, Tensor) and not _broadcastable(a.shape, b.shape):
        b = cr.sum(b)
    if name == "add":
        out = a + b
    elif name == "sub":
        out = a - b
    elif name == "mul":
        out = a * b
    elif name == "div":
        out = a / (b * b + 1.0) if isinstance(b, Tensor) else a / (abs(b) + 1.0)
    elif name == "maximum":
        out = cr.maximum(a, b)
    elif name == "stack":  # variadic
        out = cr.sum(cr.stack([a, a * 2.0]), axis=0) * b
    else:
        raise AssertionError(name)
    return out


program = st.lists(
    st.tuples(
        st.sampled_from(["unary", "binary", "binary_const", "const_binary", "retain"]),
        st.sampled_from([*sorted(_UNARY), "add", "sub", "mul", "div", "maximum", "stack"]),
        st.integers(0, 1000),
        st.integers(0, 1000),
        st.integers(0, 2),
        st.floats(-2.0, 2.0, allow_nan=False),
    ),
    min_size=1,
    max_size=14,
)


def _build(
    steps: list[Any], shapes: list[int], seed: int
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """The leaves, the retained intermediates and the scalar loss of one program."""
    rng = np.random.default_rng(seed)
    leaves = [
        cr.tensor(rng.standard_normal(SHAPES[s]), requires_grad=True, name=f"x{i}")
        for i, s in enumerate(shapes)
    ]
    constant = cr.tensor(rng.standard_normal(3))  # a Tensor that does not require grad
    pool: list[Tensor] = [*leaves, constant]
    retained: list[Tensor] = []
    for how, name, i, j, kind, v in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if how == "retain":
            if a.op is not None and all(a is not r for r in retained):
                retained.append(a.retain_grad())
            continue
        if how == "unary" or name in _UNARY:
            out = _UNARY[name](a) if name in _UNARY else a
        elif how == "binary":
            out = _binary(name, a, b)
        elif how == "binary_const":
            out = _binary(name, a, _constant(kind, a.shape, v))
        else:  # the constant first: the reflected operators
            c = _constant(kind, a.shape, v)
            out = (
                (c * a)
                if name in ("mul", "maximum", "stack")
                else (c + a if name == "add" else c - a)
            )
        pool.append(out)
    loss = sum((cr.sum(t * t) for t in pool[len(leaves) + 1 :]), cr.sum(leaves[0]))
    assert isinstance(loss, Tensor)
    return leaves, retained, loss


def _run(steps: list[Any], shapes: list[int], seed: int, native: bool) -> list[Any]:
    """Everything observable after two backward calls (the first keeps the graph) and one
    ``gradients`` call on the same program, on one walk."""
    with walk(native), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        leaves, retained, loss = _build(steps, shapes, seed)
        loss.backward(retain_graph=True)
        first = [_bits(t.grad) for t in leaves + retained]
        loss.backward()  # accumulates; frees
        seen = [_bits(t.grad) for t in leaves + retained]
        counts = [t._retain for t in leaves]
        freed = loss._raw is None
        with pytest.raises(RuntimeError) as again:
            loss.backward()
        leaves2, retained2, loss2 = _build(steps, shapes, seed)
        wrt = leaves2[::2] + retained2
        grads = [_bits(g) for g in B.gradients(loss2, wrt)]
        return [first, seen, counts, freed, str(again.value), grads]


@needs_ext
@settings(max_examples=150, deadline=None)
@given(
    steps=program,
    shapes=st.lists(st.integers(0, 2), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_the_c_walk_gives_what_the_python_walk_gives(
    steps: list[Any], shapes: list[int], seed: int
) -> None:
    assert _run(steps, shapes, seed, True) == _run(steps, shapes, seed, False)


def _scalar_net(x: float) -> tuple[list[Tensor], Tensor]:
    """The seed network on scalars (the graph the C walk exists for): its leaves and output."""
    leaves = [cr.tensor(np.asarray(v), requires_grad=True) for v in (x, 0.5, -1.2, 0.8, 1.1)]
    x_, a, b, c, d = leaves
    n1 = cr.tanh(a * x_)
    n2 = cr.tanh(b * n1)
    n3 = cr.tanh(c * n1 + d * n2)
    return leaves, n2 + n3 * 2.0 - 0.5


@needs_ext
@pytest.mark.parametrize("x", [0.3, -1.7, 0.0, 1e300, np.inf, np.nan])
def test_scalar_graphs_agree_bit_for_bit(x: float) -> None:
    got = []
    for native in (True, False):
        with walk(native), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            leaves, out = _scalar_net(x)
            out.backward()
            got.append([_bits(t.grad) for t in leaves])
            assert all(type(t.grad._data) is np.float64 for t in leaves if t.grad is not None)
    assert got[0] == got[1]


@needs_ext
def test_an_in_place_change_is_refused_alike() -> None:
    messages = []
    for native in (True, False):
        with walk(native):
            w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
            y = cr.sum(cr.tanh(w) * w)
            w.data[0] = 5.0  # a write through the handed-out array
            with pytest.raises(RuntimeError) as err:
                y.backward()
            messages.append(str(err.value))
            # A change before the graph was made is no error: the marker is passed, nothing changed.
            v = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
            v.data[1] = 3.0
            z = cr.sum(v * v)
            z.backward()
            assert v.grad is not None
            assert v.grad._data.tolist() == [2.0, 6.0]
    assert messages[0] == messages[1]
    assert "modified" in messages[0] or "changed" in messages[0]


@needs_ext
def test_an_operand_without_a_rule_is_refused_alike() -> None:
    prim = register_primitive(
        "test_native_walk_norule",
        lambda a, b: a * b,
        lambda g, ans, a, b: g * b,
        None,
        replace=True,
    )
    messages = []
    for native in (True, False):
        with walk(native):
            a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
            b = cr.tensor(np.array([3.0, 4.0]), requires_grad=True)
            with pytest.raises(RuntimeError) as err:
                cr.sum(prim(a, b)).backward()
            messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "test_native_walk_norule" in messages[0] and "operand 1" in messages[0]


@needs_ext
def test_saved_constants_are_released_alike() -> None:
    kept = []
    for native in (True, False):
        with walk(native):
            a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
            y = a * np.array([3.0, 4.0]) + 2.5
            mul = y.parents[0]
            cr.sum(y).backward()
            assert mul._args is not None and y._args is not None
            kept.append(
                (mul._raw is None, mul._args[1] is None, y._args[0] is mul, y._args[1], a._retain)
            )
    assert kept[0] == kept[1] == (True, True, True, 2.5, 0)


def test_the_switch_turns_the_c_walk_off() -> None:
    code = "from chainrule.autodiff import backward as B; print(B.NATIVE_WALK is None)"
    env = {**os.environ, "CHAINRULE_NATIVE": "off"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"
