"""Edge cases of the backward walk in C (chainrule.autodiff._walk) against the Python walk
(``backward._walk_fast``), found by reading the two side by side: each test runs the same program on
both walks and compares everything observable (gradients and their types, the exception's type and
message, which nodes were freed, the leaves' ``_retain`` counts). Also: the C module's own state
after a refused ``setup``, and no growth of reference counts across many walks."""

from __future__ import annotations

import gc
import subprocess
import sys
import types
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import backward as B
from chainrule.autodiff import primitives as P
from chainrule.autodiff.graph import Primitive, enable_grad, register_primitive
from chainrule.autodiff.tensor import Tensor, apply

from .test_native_walk import _bits, needs_ext, walk

Outcome = tuple[str, Any]


def _state(ts: list[Tensor]) -> list[Any]:
    """What a walk leaves on tensors: gradient bits, freed or not, leaf counts."""
    return [(_bits(t.grad), t._raw is None, t._retain if t.op is None else None) for t in ts]


def _both(program: Callable[[], Any]) -> list[Outcome]:
    """``program()``'s result (or its exception's type and message) on the C walk, then on the
    Python one."""
    out: list[Outcome] = []
    for native in (True, False):
        with walk(native), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                out.append(("ok", program()))
            except Exception as e:  # the exception itself is compared
                out.append((type(e).__name__, str(e)))
    return out


def _agree(program: Callable[[], Any]) -> Outcome:
    c, py = _both(program)
    assert c == py
    return c


class _Boom(Exception):
    pass


def _prim(name: str, *rules: Any, forward: Callable[..., Any] | None = None) -> Primitive:
    return register_primitive(
        f"test_native_walk_edges_{name}",
        forward if forward is not None else (lambda a, b: a * b),
        *rules,
        replace=True,
    )


# --- errors raised inside a rule -------------------------------------------------------------------


@needs_ext
def test_a_rule_that_raises_mid_walk_leaves_the_same_state() -> None:
    def raising(g: Any, ans: Any, a: Any, b: Any) -> Any:
        raise _Boom(f"rule failed for shape {np.shape(b)}")

    prim = _prim("raise", lambda g, ans, a, b: g * b, raising)

    def program() -> Any:
        a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        b = cr.tensor(np.array([3.0, 4.0]), requires_grad=True)
        c = cr.tensor(np.array([0.5, 0.5]))  # a constant leaf: counted down as well
        h = cr.tanh(a) * c
        y = cr.sum(prim(h * 2.0, b))
        with pytest.raises(_Boom) as err:
            y.backward()
        # The sum node was visited and freed; the prim node raised at operand 1 (operand 0's
        # gradient was already handed on), so it and everything below it are untouched.
        return str(err.value), _state([a, b, c, h, y, y.parents[0]])

    result = _agree(program)
    assert result[0] == "ok"
    message, states = result[1]
    assert message == "rule failed for shape (2,)"
    assert states[4][1] is True and states[5][1] is False  # y freed, prim node kept


@needs_ext
def test_an_exception_in_a_rule_propagates_unchanged() -> None:
    """The exception object is the rule's own (type, message, args), not a wrapper."""

    class Odd(LookupError):
        pass

    def raising(g: Any, ans: Any, a: Any, b: Any) -> Any:
        raise Odd("odd", 42)

    prim = _prim("odd", raising, raising)

    def program() -> Any:
        a = cr.tensor(2.0, requires_grad=True)
        with pytest.raises(Odd) as err:
            prim(a, a).backward()
        return type(err.value), err.value.args, a._retain

    assert _agree(program) == ("ok", (Odd, ("odd", 42), 2))


@needs_ext
@pytest.mark.parametrize(
    "result",
    [
        "none",
        "wrong_shape",
        "float",
        "float32_scalar",
        "list",
        "string",
    ],
)
def test_a_rule_returning_the_wrong_kind_of_thing_is_handled_alike(result: str) -> None:
    make: dict[str, Callable[[Any], Any]] = {
        "none": lambda g: None,
        "wrong_shape": lambda g: np.ones(5),
        "float": lambda g: 2.0,
        "float32_scalar": lambda g: np.float32(2.0),
        "list": lambda g: [1.0, 2.0, 3.0],
        "string": lambda g: "x",
    }
    prim = _prim(f"wrong_{result}", lambda g, ans, a, b: make[result](g), lambda g, ans, a, b: g)

    def program() -> Any:
        got: list[tuple[Any, ...]] = []
        for shape in ((), (3,)):
            a = cr.tensor(np.ones(shape), requires_grad=True)
            b = cr.tensor(np.full(shape, 2.0), requires_grad=True)
            try:
                cr.sum(prim(a, b)).backward()
                got.append(("ok", _bits(a.grad), _bits(b.grad)))
            except Exception as e:  # compared as (type, message)
                got.append((type(e).__name__, str(e)))
        return got

    _agree(program)


@needs_ext
def test_a_rule_returning_a_tensor_or_a_tensor_subclass() -> None:
    class Sub(Tensor):
        __slots__ = ()

    def as_tensor(g: Any, ans: Any, a: Any, b: Any) -> Any:
        return cr.tensor(np.asarray(g * b))

    def as_sub(g: Any, ans: Any, a: Any, b: Any) -> Any:
        return Sub(np.asarray(g * a))

    prim = _prim("tensor_rule", as_tensor, as_sub)

    def program() -> Any:
        got = []
        for shape in ((), (3,), (2, 3)):
            a = cr.tensor(np.full(shape, 1.5), requires_grad=True)
            b = cr.tensor(np.full(shape, -0.5), requires_grad=True)
            y = prim(a, b)
            cr.sum(y * y + y).backward()
            got.append([_bits(a.grad), _bits(b.grad), type(a.grad), type(b.grad)])
        return got

    assert _agree(program)[0] == "ok"


# --- operands, parameters, variadic primitives ----------------------------------------------------


class _Params(Mapping[str, Any]):
    """A read-only mapping that is not a dict."""

    def __init__(self, **kw: Any) -> None:
        self._d = kw

    def __getitem__(self, k: str) -> Any:
        return self._d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


def _scale_prim(name: str) -> Primitive:
    """``a * alpha`` with ``alpha`` a parameter (the node's ``params``)."""
    return _prim(
        name, lambda g, ans, a, alpha=1.0: g * alpha, forward=lambda a, alpha=1.0: a * alpha
    )


@needs_ext
@pytest.mark.parametrize(
    "params",
    [
        types.MappingProxyType({"alpha": 3.0}),
        _Params(alpha=0.25),
        _Params(),  # empty: falsy, the positional call
    ],
    ids=["mappingproxy", "mapping", "empty_mapping"],
)
def test_params_given_as_a_mapping_that_is_not_a_dict(params: Mapping[str, Any]) -> None:
    prim = _scale_prim("scale")

    def program() -> Any:
        a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        s = cr.tensor(0.5, requires_grad=True)
        y = apply(prim, (a,), params)  # type: ignore[arg-type]
        # a 0-d float64 node: the scalar branch of the walk
        z = apply(prim, (s,), params)  # type: ignore[arg-type]
        cr.sum(y * z).backward()
        return _bits(a.grad), _bits(s.grad)

    assert _agree(program)[0] == "ok"


@needs_ext
def test_params_that_are_not_a_mapping_are_refused_alike() -> None:
    """``rule(..., **params)`` with a list: Python raises TypeError ('must be a mapping')."""
    prim = _scale_prim("scale_bad")

    def program() -> Any:
        a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = prim(a, alpha=2.0)
        setattr(y, "params", [("alpha", 2.0)])  # noqa: B010 - no type check: a wrong type on purpose
        cr.sum(y).backward()

    c, py = _both(program)
    assert py[0] == "TypeError"
    assert c[0] == py[0]


@needs_ext
def test_more_than_six_operands_with_and_without_params() -> None:
    """call_rule's stack holds up to six operands; more go through a tuple."""

    def fwd(*xs: Any) -> Any:
        return sum(x * (i + 1) for i, x in enumerate(xs))

    def times(i: int) -> Callable[..., Any]:
        return lambda g, ans, *xs: g * (i + 1)

    rules = [times(i) for i in range(8)]
    prim = register_primitive("test_native_walk_edges_eight", fwd, *rules, replace=True)

    def program() -> Any:
        xs = [cr.tensor(np.full(2, float(i)), requires_grad=True) for i in range(8)]
        s = [cr.tensor(float(i), requires_grad=True) for i in range(8)]
        y = cr.sum(prim(*xs)) + prim(*s)
        st = cr.stack([*xs, xs[0]], axis=0)  # variadic with params, nine operands
        cc = cr.concatenate([*xs, *xs], axis=0)
        (y + cr.sum(st * st) + cr.sum(cc)).backward()
        return [_bits(t.grad) for t in xs + s], [t._retain for t in xs + s]

    assert _agree(program)[0] == "ok"


@needs_ext
def test_variadic_primitives_with_constants_and_repeated_operands() -> None:
    def program() -> Any:
        a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        b = cr.tensor(np.array([3.0, -4.0]), requires_grad=True)
        k = np.array([0.5, 0.25])
        y = cr.einsum("i,i,i->", a, k, a) + cr.einsum("i,j->", b, a)
        z = cr.sum(cr.stack([k, a, b, a]) ** 2) + cr.sum(cr.concatenate([k, a, k, b]))
        (y * z).backward()
        return _bits(a.grad), _bits(b.grad), a._retain, b._retain

    assert _agree(program)[0] == "ok"


@needs_ext
def test_the_same_leaf_on_both_sides_and_reflected_constants() -> None:
    def program() -> Any:
        x = cr.tensor(np.asarray(0.3), requires_grad=True)
        f = cr.tensor(np.float64(1.25), requires_grad=True)  # np.float64 data, not a 0-d array
        y = x * x + 2.0 * x - x * np.float64(3.0) + np.asarray(1.5) * x - f * f * x
        y = cr.tanh(y) * y + (1.0 - y)
        y.backward()
        first = [_bits(x.grad), _bits(f.grad)]
        y2 = x * f
        y2.backward()  # accumulates into existing .grad: not the fast store
        return first, [_bits(x.grad), _bits(f.grad)], x._retain, f._retain

    assert _agree(program)[0] == "ok"


@needs_ext
def test_float32_scalar_and_integer_constants() -> None:
    def program() -> Any:
        x = cr.tensor(np.float32(0.5), requires_grad=True)
        y = cr.tensor(np.asarray(0.5, dtype=np.float32), requires_grad=True)
        z = cr.tanh(x * y * 3) * 2 + x * np.float32(1.5) - y * np.asarray(2.0)
        z.backward()
        return _bits(x.grad), _bits(y.grad)

    assert _agree(program)[0] == "ok"


@needs_ext
@pytest.mark.parametrize("rule", ["add_vjp_a", "mul_vjp_a", "tanh_vjp"])
def test_a_custom_primitive_reusing_an_inline_rule_gets_its_operands_shape(rule: str) -> None:
    """The inline table is keyed by rule: a primitive of a 0-d output (a reduction) that reuses one
    of those rules for a (3,) operand must still give that operand a (3,) gradient, as the rule
    called and unbroadcast gives (both walks)."""
    vjp = getattr(P, rule)
    if rule == "tanh_vjp":
        prim = _prim(f"reuse_{rule}", vjp, forward=lambda a: np.tanh(a.sum()))
    else:
        prim = _prim(f"reuse_{rule}", vjp, P.add_vjp_b, forward=lambda a, b: a.sum() * 1.0 + b)

    def program() -> Any:
        a = cr.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
        b = cr.tensor(np.float64(0.25), requires_grad=False)
        y = prim(a) if rule == "tanh_vjp" else prim(a, b)
        assert type(y._data) is np.float64  # a scalar node: the inline branch
        y.backward()
        assert a.grad is not None
        return np.shape(a.grad._data)

    assert _agree(program) == ("ok", (3,))


# --- stop (gradients), retain_graph, retain_grad ---------------------------------------------------


@needs_ext
def test_gradients_stop_at_intermediates_and_leaves() -> None:
    def program() -> Any:
        a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        c = cr.tensor(np.array([5.0, 6.0]))  # no grad: zeros
        h = cr.tanh(a * 2.0).retain_grad()
        u = cr.tensor(3.0, requires_grad=True)  # not in the graph: zeros
        y = cr.sum(h * a + h)
        g = B.gradients(y, [h, a, c, u, h])
        # retain_grad is not honoured by gradients (no .grad touched); the graph is freed
        return [_bits(x) for x in g], _state([a, h, y]), h.grad is None

    assert _agree(program)[0] == "ok"


@needs_ext
def test_gradients_of_a_leaf_and_of_the_output_itself() -> None:
    def program() -> Any:
        x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = cr.sum(x * x)
        got = [
            B.gradients(x, [x], grad=np.array([1.0, 3.0])),
            B.gradients(y, [y], retain_graph=True),
            B.gradients(y, [x, y], retain_graph=True),
            B.gradients(y, [x]),
        ]
        return [[_bits(g) for g in gs] for gs in got], _state([x, y])

    assert _agree(program)[0] == "ok"


@needs_ext
def test_retain_graph_keeps_the_counts_and_a_second_pass_frees() -> None:
    def program() -> Any:
        a = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        s = cr.tensor(0.5, requires_grad=True)
        h = (a * s).retain_grad()
        y = cr.sum(cr.exp(h) * np.array([1.0, 2.0])) * s
        y.backward(retain_graph=True)
        one = _state([a, s, h, y])
        y.backward()
        two = _state([a, s, h, y])
        with pytest.raises(RuntimeError) as err:
            B.gradients(y, [a])
        return one, two, str(err.value)

    out = _agree(program)
    one, two = out[1][0], out[1][1]
    # `a` is saved by one node, `s` by two: counted down only on the pass that frees them.
    assert (one[0][2], one[1][2], two[0][2], two[1][2]) == (1, 2, 0, 0)


@needs_ext
def test_backward_from_a_leaf() -> None:
    def program() -> Any:
        x = cr.tensor(2.0, requires_grad=True)
        x.backward()
        x.backward()
        v = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        v.backward(grad=np.array([0.5, 0.25]))
        return _bits(x.grad), _bits(v.grad), type(x.grad._data) if x.grad else None

    assert _agree(program)[0] == "ok"


# --- in-place changes -----------------------------------------------------------------------------


@needs_ext
def test_gradients_stop_above_a_changed_tensor_is_no_error() -> None:
    """The walk stops at ``h`` before it reaches the node that saved the changed ``w``."""

    def program() -> Any:
        w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        h = cr.tanh(w) * 2.0
        y = cr.sum(h * h)
        w.data[0] = 5.0  # a write through the array handed out
        (gh,) = B.gradients(y, [h], retain_graph=True)
        with pytest.raises(RuntimeError) as err:
            B.gradients(y, [w])
        return _bits(gh), str(err.value), _state([w, h, y])

    assert _agree(program)[0] == "ok"


@needs_ext
def test_an_in_place_change_between_two_passes() -> None:
    def program() -> Any:
        w = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = cr.sum(cr.exp(w) * w)
        y.backward(retain_graph=True)
        first = _bits(w.grad)
        w.data = np.array([3.0, 4.0])  # a change through chainrule: stamped
        with pytest.raises(RuntimeError) as err:
            y.backward()
        return first, str(err.value), _state([w, y])

    assert _agree(program)[0] == "ok"


# --- re-entry ---------------------------------------------------------------------------------------


@needs_ext
def test_a_rule_that_runs_a_backward_of_its_own() -> None:
    def nested(g: Any, ans: Any, a: Any, b: Any) -> Any:
        t = cr.tensor(np.asarray(a), requires_grad=True)
        with enable_grad():  # the outer walk runs its rules with recording off
            cr.sum(cr.tanh(t) * t).backward()
        assert t.grad is not None
        return g * b + t.grad._data

    prim = _prim("nested", nested, lambda g, ans, a, b: g * a)

    def program() -> Any:
        a = cr.tensor(np.array([0.5, -1.0]), requires_grad=True)
        b = cr.tensor(np.array([2.0, 3.0]), requires_grad=True)
        cr.sum(prim(cr.exp(a), b)).backward()
        return _bits(a.grad), _bits(b.grad)

    assert _agree(program)[0] == "ok"


# --- the C module's own state ---------------------------------------------------------------------


class _Recorder:
    """Stands in for the C module: keeps the arguments ``backward._setup_native`` hands to setup."""

    args: tuple[Any, ...] = ()

    def setup(self, *args: Any) -> None:
        self.args = args


def _setup_args(tensor_class: Any, f64: Any) -> tuple[Any, ...]:
    """setup()'s arguments as ``_setup_native`` gives them, with another Tensor class and float64."""
    rec = _Recorder()
    B._setup_native(rec, dict(B._INLINE))
    return (tensor_class, f64, *rec.args[2:])


@needs_ext
def test_a_refused_setup_leaves_the_walk_as_it_was() -> None:
    """setup() checks its arguments one by one; one refused after the Tensor class was taken must
    not leave the module with the new class and the old slot offsets."""
    ext = B._walk
    assert ext is not None

    class Other:
        __slots__ = (  # Tensor's, less _guard and _source: the offsets differ
            "_args",
            "_data",
            "_raw",
            "_retain",
            "_seq",
            "grad",
            "name",
            "op",
            "params",
            "parents",
            "requires_grad",
        )

    try:
        with pytest.raises(TypeError):
            ext.setup(*_setup_args(Other, "not a type"))
        x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
        with walk(True):
            cr.sum(x * x).backward()
        assert x.grad is not None
        assert x.grad._data.tolist() == [2.0, 4.0]
    finally:
        B._setup_native(ext, dict(B._INLINE))


@needs_ext
def test_an_inline_table_with_a_kind_that_is_not_an_int() -> None:
    """The same (odd) table on both walks: the C walk must not run on with an error set."""
    ext = B._walk
    assert ext is not None
    table: dict[Any, Any] = {P.add_vjp_a: "pass"}

    def program() -> Any:
        x = cr.tensor(np.asarray(0.5), requires_grad=True)
        (x * 3.0 + 1.0).backward()
        return _bits(x.grad)

    saved = B._INLINE
    try:
        B._INLINE = table
        try:
            B._setup_native(ext, table)
        except (TypeError, ValueError) as e:  # refused up front: the best outcome
            assert "inline" in str(e) or "kind" in str(e)
            return
        c, py = _both(program)
    finally:
        B._INLINE = saved
        B._setup_native(ext, dict(B._INLINE))
    assert c[0] != "SystemError", c
    assert c == py or c[0] == "TypeError"


_REENTRANT = """
import numpy as np
import chainrule as cr
from chainrule.autodiff import backward as B
from chainrule.autodiff.graph import register_primitive

assert B.NATIVE_WALK is not None
names = ("_seq", "_retain", "_raw", "_args", "parents", "params", "op", "name", "grad",
         "requires_grad", "_data")
# Forty more slots that sort before Tensor's: every offset lies past the end of a Tensor.
Big = type("Big", (), {"__slots__": tuple(f"A{i:02d}" for i in range(40)) + names})
class Recorder:
    def setup(self, *args):
        self.args = args

rec = Recorder()
B._setup_native(rec, dict(B._INLINE))
args = (Big, *rec.args[1:])

def sneaky(g, ans, a):
    try:
        B._walk.setup(*args)
    except RuntimeError:
        print("refused")
    return g

prim = register_primitive("sneaky", lambda a: a * 1.0, sneaky)
x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
h = cr.tanh(x)
y = cr.sum(prim(h) * h)  # h is still to be visited when the rule runs
y.backward()
want = 2 * np.tanh([1.0, 2.0]) * (1 - np.tanh([1.0, 2.0]) ** 2)
print("grad ok" if np.allclose(x.grad.data, want) else "grad wrong")
"""


@needs_ext
def test_a_setup_from_inside_a_walk_does_not_change_the_running_walk() -> None:
    """A rule that calls ``_walk.setup`` with another class: the running walk must not go on reading
    the Tensors it holds at the new class's offsets (past their end here). In a subprocess: the
    failure this guards against is a read out of bounds."""
    out = subprocess.run(
        [sys.executable, "-c", _REENTRANT], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "grad ok", out.stdout + out.stderr[-2000:]


# --- references ------------------------------------------------------------------------------------


def _watched() -> dict[str, Any]:
    return {
        "add_vjp_a": P.add_vjp_a,
        "mul_vjp_a": P.mul_vjp_a,
        "tanh_vjp": P.tanh_vjp,
        "one": B._ONE,
        "no_params": B._NO_PARAMS,
        "verify": B._verify,
        "accumulate": B._accumulate,
        "unbroadcast": B.unbroadcast,
        "Tensor": Tensor,
    }


@needs_ext
def test_no_reference_grows_across_many_walks_and_errors() -> None:
    """Reference counts of long-lived objects and the count of gc-tracked objects stay put over
    many C walks: scalar and array graphs, gradients, errors raised by a rule, freed graphs."""

    def raising(g: Any, ans: Any, a: Any, b: Any) -> Any:
        raise _Boom("no")

    prim = _prim("leak", lambda g, ans, a, b: g * b, raising)
    leaf = cr.tensor(np.array([0.5, 1.5]), requires_grad=True)
    scalar = cr.tensor(0.25, requires_grad=True)
    watched = {**_watched(), "leaf": leaf, "scalar": scalar, "raising": raising}

    def once() -> None:
        x = cr.tensor(np.asarray(0.3), requires_grad=True)
        y = cr.tanh(x * scalar + 1.0) * x - scalar
        y.backward()
        h = cr.tanh(leaf * 2.0)
        B.gradients(cr.sum(h * h), [leaf, h])
        z = cr.sum(prim(h, leaf))
        with pytest.raises(_Boom):
            z.backward()
        w = cr.sum(cr.stack([leaf, leaf * 2.0]) ** 2)
        w.backward()
        with pytest.raises(RuntimeError):
            w.backward()
        leaf.grad = scalar.grad = None

    with walk(True):
        for _ in range(20):
            once()
        gc.collect()
        before = {k: sys.getrefcount(v) for k, v in watched.items()}
        objects = len(gc.get_objects())
        for _ in range(200):
            once()
        gc.collect()
        after = {k: sys.getrefcount(v) for k, v in watched.items()}
        grown = len(gc.get_objects()) - objects
    assert after == before
    assert grown < 50  # 200 passes; a leak of one object per pass would add 200
