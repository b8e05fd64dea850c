"""Lists and tuples where arrays are expected, and NumPy's functions called on Tensors.

A list is one array: read by NumPy when it holds no Tensor, stacked by the differentiable ``stack``
primitive when it does (so the graph of every entry is kept), and a ragged one is refused. NumPy's
reductions call the Tensor's methods with ``out=None`` (accepted) and other keywords; a real ``out``
is refused with a ValueError, never dropped silently.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import autodiff
from chainrule.autodiff import shape_ops


def test_plain_lists_are_read_as_numpy_reads_them():
    # The bug: mean([1, 3]) was 4.0 (the list had no shape, so n was 1).
    assert cr.mean([1.0, 3.0]) == 2.0
    assert cr.mean([[1.0, 2.0], [3.0, 5.0]], axis=0).tolist() == [2.0, 3.5]
    assert cr.sum((1.0, 2.0, 4.0)) == 7.0
    assert cr.max([1.0, 5.0, 2.0]) == 5.0
    np.testing.assert_allclose(cr.exp([0.0, 1.0]), [1.0, np.e])
    np.testing.assert_allclose(cr.swapaxes([[1.0, 2.0]], 0, 1), [[1.0], [2.0]])
    assert cr.reshape([1.0, 2.0, 3.0, 4.0], (2, 2)).shape == (2, 2)
    assert cr.cast([1, 2], "float32").dtype == np.float32


def test_a_list_of_tensors_keeps_every_graph():
    # The bug: sum([x, x + 2]) dropped the graph.
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.sum([x, x * 3.0])
    assert y.op is not None and y.item() == 12.0
    y.backward()
    assert x.grad.tolist() == [4.0, 4.0]

    x.zero_grad()
    m = cr.mean([x, x * x])  # (x + x²) / 4 summed
    m.backward()
    np.testing.assert_allclose(x.grad.data, (1.0 + 2.0 * x.data) / 4.0)


def test_mixed_and_nested_lists_stack_entry_by_entry():
    a = cr.tensor(2.0, requires_grad=True)
    b = cr.tensor(3.0, requires_grad=True)
    m = cr.stack([[a, 1.0], [b, a * b]])  # a nested list inside stack's sequence
    assert m.shape == (2, 2)
    np.testing.assert_allclose(m.data, [[2.0, 1.0], [3.0, 6.0]])
    (m * np.array([[1.0, 5.0], [10.0, 100.0]])).sum().backward()
    assert a.grad.item() == 1.0 + 100.0 * 3.0
    assert b.grad.item() == 10.0 + 100.0 * 2.0


@pytest.mark.parametrize(
    "fn",
    [
        lambda s: cr.exp(s),
        lambda s: cr.tanh(s),
        lambda s: cr.maximum(s, 0.5),
        lambda s: cr.add(1.0, s),
        lambda s: cr.multiply(s, s),
        lambda s: cr.matmul(s, np.ones(2)),
        lambda s: cr.where(np.array([True, False]), s, 0.0),
        lambda s: cr.clip(s, 0.0, 10.0),
        lambda s: cr.logsumexp(s),
        lambda s: cr.softmax(s),
        lambda s: cr.transpose(s),
        lambda s: cr.broadcast_to(s, (3, 2)),
        lambda s: cr.concatenate([s, s]),
        lambda s: autodiff.getitem(s, 1),
        lambda s: cr.swapaxes(cr.reshape(s, (1, 2)), 0, 1),
        lambda s: cr.cast(s, "float32"),
        lambda s: cr.mean(s),
        lambda s: cr.prod(s),
        lambda s: cr.square(s),
        lambda s: cr.logaddexp(s, 0.0),
        lambda s: cr.flip(s),
        lambda s: cr.tile(s, 2),
        lambda s: cr.repeat(s, 2),
        lambda s: cr.roll(s, 1),
        lambda s: cr.expand_dims(s, 0),
        lambda s: cr.ravel(s),
        lambda s: cr.squeeze(s),
        lambda s: cr.diag(s),
        lambda s: cr.hstack([s, s]),
        lambda s: cr.split(s, 2)[1],
    ],
)
def test_every_function_stacks_a_list_of_tensors(fn):
    # Each public function, given [a, b] of 0-d Tensors, must equal the same function on stack([a, b]).
    a = cr.tensor(0.3, requires_grad=True)
    b = cr.tensor(1.7, requires_grad=True)
    y = fn([a, b])
    assert isinstance(y, cr.Tensor) and y.requires_grad
    w = np.linspace(1.0, 2.0, y.size).reshape(y.shape)  # weights: softmax's plain sum is constant
    (y * w).sum().backward()
    got = (a.grad.item(), b.grad.item())
    assert got != (0.0, 0.0)  # the graph reaches the entries
    a2 = cr.tensor(0.3, requires_grad=True)
    b2 = cr.tensor(1.7, requires_grad=True)
    (fn(cr.stack([a2, b2])) * w).sum().backward()
    assert got == (a2.grad.item(), b2.grad.item())


def test_a_ragged_list_of_tensors_is_refused():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError):
        cr.sum([x, x[:1]])


def test_where_reads_a_tensor_condition_as_constant_booleans():
    x = cr.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    cond = x > 0  # a bool Tensor
    y = cr.where(cond, x * 2.0, x * x)
    y.sum().backward()
    assert x.grad.tolist() == [-2.0, 2.0, -6.0]
    # A float Tensor that requires grad as the condition: truthiness, and no gradient to it.
    c = cr.tensor([1.0, 0.0, 1.0], requires_grad=True)
    z = cr.where(c, x, 0.0)
    assert z.tolist() == [-1.0, 0.0, -3.0]
    assert all(p is not c for p in z.parents)
    # A list of Tensors as the condition is constant too.
    w = cr.where([cond[0], cond[1], cond[2]], x, 0.0)
    assert w.tolist() == [0.0, 2.0, 0.0]


def test_grad_of_a_list_of_tensors_nests():
    x = cr.tensor(2.0, requires_grad=True)
    g = cr.grad(lambda v: (v**3).sum())([x, x * 3.0])  # 3 v² at v = (x, 3x)
    assert isinstance(g, cr.Tensor) and g.tolist() == [12.0, 108.0]
    g.sum().backward()  # d/dx (3x² + 27x²) = 60x
    assert x.grad.item() == 120.0
    np.testing.assert_allclose(cr.grad(lambda v: (v * v).sum())([1.0, 2.0]), [2.0, 4.0])
    np.testing.assert_allclose(cr.hvp(lambda v: (v**3).sum(), [1.0, 2.0], [1.0, 1.0]), [6.0, 12.0])


# --- NumPy's functions on Tensors ------------------------------------------------------------------

X0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


@pytest.mark.parametrize(
    ("call", "method"),
    [
        (lambda t: np.sum(t), lambda t: t.sum()),
        (lambda t: np.sum(t, axis=0, keepdims=True), lambda t: t.sum(axis=0, keepdims=True)),
        (lambda t: np.mean(t, axis=1), lambda t: t.mean(axis=1)),
        (lambda t: np.max(t), lambda t: t.max()),
        (lambda t: np.amax(t, axis=0), lambda t: t.max(axis=0)),
        (lambda t: np.min(t, axis=1), lambda t: t.min(axis=1)),
        (lambda t: np.prod(t, axis=0), lambda t: t.prod(axis=0)),
        (lambda t: np.reshape(t, (3, 2)), lambda t: t.reshape(3, 2)),
        (lambda t: np.transpose(t), lambda t: t.T),
        (lambda t: np.transpose(t, (1, 0)), lambda t: t.transpose(1, 0)),
        (lambda t: np.swapaxes(t, 0, 1), lambda t: t.T),
        (lambda t: np.squeeze(t[None]), lambda t: t),
        (lambda t: np.squeeze(t[:, :1], axis=1), lambda t: t[:, 0]),
        (lambda t: np.clip(t, 0.0, 1.0), lambda t: cr.clip(t, 0.0, 1.0)),
        (lambda t: np.repeat(t, 2, axis=1), lambda t: t.repeat(2, axis=1)),
        (lambda t: np.var(t, axis=0), lambda t: cr.var(t, axis=0)),
        (lambda t: np.std(t, ddof=1), lambda t: cr.std(t, ddof=1)),
        (lambda t: np.cumsum(t, axis=1), lambda t: cr.cumsum(t, axis=1)),
        (lambda t: np.cumsum(t), lambda t: cr.cumsum(t.ravel(), axis=0)),
        (lambda t: t.dot(np.ones(3)), lambda t: t @ np.ones(3)),
        (lambda t: np.cumprod(t.ravel()[:1]), None),
    ],
)
def test_numpy_functions_call_the_methods_and_keep_the_graph(call, method):
    t = cr.tensor(X0, requires_grad=True)
    y = call(t)
    if method is None:
        # A method Tensor does not have: NumPy computes on the array (a plain result, no Tensor).
        assert not isinstance(y, cr.Tensor)
        return
    assert isinstance(y, cr.Tensor) and y.op is not None
    w = np.random.default_rng(1).normal(size=y.shape)
    (y * w).sum().backward()
    g = t.grad.data.copy()
    t2 = cr.tensor(X0, requires_grad=True)
    ref = method(t2)
    np.testing.assert_array_equal(y.data, ref.data)
    (ref * w).sum().backward()
    np.testing.assert_array_equal(g, t2.grad.data)


def test_numpy_reductions_with_dtype_accumulate_in_it():
    t = cr.tensor(X0, requires_grad=True)
    y = np.sum(t, dtype=np.float32)
    assert isinstance(y, cr.Tensor) and y.dtype == np.float32
    y.backward()
    assert t.grad.dtype == np.float64 and t.grad.tolist() == np.ones((2, 3)).tolist()
    assert np.mean(t, dtype=np.float64) is not t  # same dtype: no cast, a mean node
    assert t.prod(dtype="float32").dtype == np.float32


@pytest.mark.parametrize(
    "call",
    [
        lambda t, o: np.sum(t, out=o),
        lambda t, o: np.mean(t, out=o),
        lambda t, o: np.max(t, out=o),
        lambda t, o: np.min(t, out=o),
        lambda t, o: np.prod(t, out=o),
        lambda t, o: np.clip(t, 0, 1, out=o),
        lambda t, o: t.trace(out=o),
        lambda t, o: np.var(t, out=o),
        lambda t, o: np.std(t, out=o),
        lambda t, o: np.cumsum(t, out=o),
        lambda t, o: t.dot(np.ones(3), out=o),
    ],
)
def test_a_real_out_is_refused_by_name(call):
    t = cr.tensor(X0, requires_grad=True)
    with pytest.raises(ValueError, match="out= is not supported"):
        call(t, np.zeros(()))


def test_orders_other_than_c_are_refused():
    t = cr.tensor(X0, requires_grad=True)
    with pytest.raises(ValueError, match="order='F'"):
        np.reshape(t, (3, 2), order="F")
    with pytest.raises(ValueError, match="order='F'"):
        t.ravel(order="F")
    with pytest.raises(ValueError, match="order='F'"):
        t.flatten("F")


def test_tensor_methods_match_the_functions():
    t = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    np.testing.assert_array_equal(t.ravel().data, np.arange(12.0))
    np.testing.assert_array_equal(t[None].squeeze().data, t.data)
    np.testing.assert_array_equal(t.repeat(2).data, np.repeat(t.data, 2))
    np.testing.assert_array_equal(t.diagonal(1).data, np.diagonal(t.data, 1))
    assert t.trace().item() == np.trace(t.data)
    assert t.trace(dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(t.flip(1).data, t.data[:, ::-1])
    np.testing.assert_array_equal(t.swapaxes(0, 1).data, t.data.T)
    assert t.transpose(None).shape == (4, 3)
    for y in (t.ravel(), t[None].squeeze(), t.repeat(2, axis=0), t.diagonal(), t.trace(), t.flip()):
        assert y.op is not None
    assert shape_ops.trace(t.data) == np.trace(t.data)  # plain arrays give plain results


def test_logsumexp_over_an_empty_axis_is_minus_infinity_with_zero_gradient():
    x = cr.tensor(np.zeros((2, 0)), requires_grad=True)
    y = cr.logsumexp(x, axis=1)
    assert y.shape == (2,) and np.all(np.isneginf(y.data))
    assert cr.logsumexp(x, axis=1, keepdims=True).shape == (2, 1)
    assert np.isneginf(cr.logsumexp(np.zeros((0,))))
    w = cr.tensor(np.zeros((2, 0)), requires_grad=True)
    z = cr.logsumexp(w, axis=1)
    z.backward(np.ones(2))
    assert w.grad.shape == (2, 0)
    # An empty axis beside full ones: only the empty groups are -inf.
    v = cr.tensor(np.ones((0, 3)), requires_grad=True)
    s = cr.logsumexp(v, axis=0)
    assert s.shape == (3,) and np.all(np.isneginf(s.data))
    assert cr.logsumexp(v, axis=1).shape == (0,)


def test_operators_stack_a_list_holding_tensors() -> None:
    """``x * [y, 2y]`` and ``[y, x] - x`` keep the graphs of the list's Tensors (stacked), on both
    sides of the operator; a list of numbers stays a constant."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    (x * [y, y * 2]).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * y.data)
    np.testing.assert_allclose(y.grad.data, 3 * x.data)
    x.grad = y.grad = None
    ([y, x] - x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [-1.0, -1.0])
    np.testing.assert_allclose(y.grad.data, [1.0, 1.0])
    z = x + [1.0, 2.0]  # noqa: RUF005  (a Tensor plus a list, not list concatenation)
    assert z.parents == (x,)
    np.testing.assert_allclose(z.data, [2.0, 4.0])


def test_einsum_stacks_a_list_operand_holding_tensors() -> None:
    """``cr.einsum("ij,j->i", [x, y], w)`` differentiates through the list's Tensors, in both
    call forms; the sublist form's label lists are not operands."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    w = cr.tensor([0.5, -1.0], requires_grad=True)
    for call in (
        lambda: cr.einsum("ij,j->", [x, y], w),
        lambda: cr.einsum([x, y], [0, 1], w, [1], []),
    ):
        x.grad = y.grad = w.grad = None
        call().backward()
        np.testing.assert_allclose(x.grad.data, w.data)
        np.testing.assert_allclose(y.grad.data, w.data)
        np.testing.assert_allclose(w.grad.data, x.data + y.data)


# --- every function of the NumPy-coverage additions takes lists (read before any shape check) ------

_V = [3.0, 1.0, 2.0, 4.0]
_M = [[4.0, 1.0], [1.0, 3.0]]
_R = [[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]]


def _same(ours, theirs):
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _same(o, t)
        return
    o = np.asarray(ours.data if isinstance(ours, cr.Tensor) else ours)
    t = np.asarray(theirs)
    assert o.shape == t.shape
    np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)


_LIST_CASES = {
    "dot": (lambda m: m.dot(_V[:2], [3.0, 4.0]), lambda: np.dot(_V[:2], [3.0, 4.0])),
    "dot_mat": (lambda m: m.dot(_M, [1.0, 2.0]), lambda: np.dot(_M, [1.0, 2.0])),
    "inner": (lambda m: m.inner(_R, _R), lambda: np.inner(_R, _R)),
    "outer": (lambda m: m.outer(_V, _V[:2]), lambda: np.outer(_V, _V[:2])),
    "tensordot": (lambda m: m.tensordot(_M, _M, 1), lambda: np.tensordot(_M, _M, 1)),
    "var": (lambda m: m.var(_R, axis=0), lambda: np.var(_R, axis=0)),
    "std": (lambda m: m.std(_V, ddof=1), lambda: np.std(_V, ddof=1)),
    "cumsum": (lambda m: m.cumsum(_R, axis=1), lambda: np.cumsum(_R, axis=1)),
    "sort": (lambda m: m.sort(_V), lambda: np.sort(_V)),
    "solve": (lambda m: m.linalg.solve(_M, [1.0, 2.0]), lambda: np.linalg.solve(_M, [1.0, 2.0])),
    "solve_triangular": (
        lambda m: m.linalg.solve_triangular(_M, [1.0, 2.0], lower=True),
        lambda: np.linalg.solve(np.tril(_M), [1.0, 2.0]),
    ),
    "inv": (lambda m: m.linalg.inv(_M), lambda: np.linalg.inv(_M)),
    "det": (lambda m: m.linalg.det(_M), lambda: np.linalg.det(_M)),
    "slogdet": (lambda m: m.linalg.slogdet(_M)[1], lambda: np.linalg.slogdet(_M)[1]),
    "cholesky": (lambda m: m.linalg.cholesky(_M), lambda: np.linalg.cholesky(_M)),
    "eigh": (lambda m: m.linalg.eigh(_M)[0], lambda: np.linalg.eigh(_M)[0]),
    "svd": (lambda m: m.linalg.svd(_R, compute_uv=False), lambda: np.linalg.svd(_R)[1]),
    "norm": (lambda m: m.linalg.norm(_V[:2]), lambda: np.linalg.norm(_V[:2])),
    "norm_ord": (lambda m: m.linalg.norm(_R, 1), lambda: np.linalg.norm(_R, 1)),
    "split": (lambda m: m.split(_V, 2), lambda: np.split(np.asarray(_V), 2)),
    "array_split": (lambda m: m.array_split(_V, 3), lambda: np.array_split(np.asarray(_V), 3)),
    "flip": (lambda m: m.flip(_R, 1), lambda: np.flip(_R, 1)),
    "roll": (lambda m: m.roll(_V, 1), lambda: np.roll(_V, 1)),
    "tile": (lambda m: m.tile(_V, 2), lambda: np.tile(_V, 2)),
    "repeat": (lambda m: m.repeat(_V, 2), lambda: np.repeat(_V, 2)),
    "diagonal": (lambda m: m.diagonal(_R), lambda: np.diagonal(_R)),
    "diag": (lambda m: m.diag(_V), lambda: np.diag(_V)),
    "trace": (lambda m: m.trace(_R), lambda: np.trace(_R)),
    "tril": (lambda m: m.tril(_R), lambda: np.tril(_R)),
    "triu": (lambda m: m.triu(_R), lambda: np.triu(_R)),
    "squeeze": (lambda m: m.squeeze([_V]), lambda: np.squeeze([_V])),
    "expand_dims": (lambda m: m.expand_dims(_V, 0), lambda: np.expand_dims(_V, 0)),
    "ravel": (lambda m: m.ravel(_R), lambda: np.ravel(_R)),
    "moveaxis": (lambda m: m.moveaxis(_R, 0, 1), lambda: np.moveaxis(_R, 0, 1)),
    "atleast_1d": (lambda m: m.atleast_1d([2.0]), lambda: np.atleast_1d([2.0])),
    "atleast_2d": (lambda m: m.atleast_2d(_V), lambda: np.atleast_2d(_V)),
    "atleast_3d": (lambda m: m.atleast_3d(_R), lambda: np.atleast_3d(_R)),
    "hstack": (lambda m: m.hstack([_V, _V]), lambda: np.hstack([_V, _V])),
    "vstack": (lambda m: m.vstack([_V, _V]), lambda: np.vstack([_V, _V])),
    "logaddexp": (lambda m: m.logaddexp(_V, _V), lambda: np.logaddexp(_V, _V)),
    "logaddexp2": (lambda m: m.logaddexp2(_V, 1.0), lambda: np.logaddexp2(_V, 1.0)),
    "deg2rad": (lambda m: m.deg2rad(_V), lambda: np.deg2rad(_V)),
    "rad2deg": (lambda m: m.rad2deg(_V), lambda: np.rad2deg(_V)),
    **{
        name: (lambda m, n=name: getattr(m, n)(_V), lambda n=name: getattr(np, n)(_V))
        for name in ("square", "exp2", "log2", "log10", "sinh", "cosh", "tan", "arctan")
    },
    **{
        name: (
            lambda m, n=name: getattr(m, n)([0.5, -0.25]),
            lambda n=name: getattr(np, n)([0.5, -0.25]),
        )
        for name in ("arcsin", "arccos", "arcsinh", "arctanh")
    },
    **{
        name: (
            lambda m, n=name: getattr(m, n)(_V, _R[0][:1]),
            lambda n=name: getattr(np, n)(_V, _R[0][:1]),
        )
        for name in ("add", "subtract", "multiply", "divide", "power")
    },
    "negative": (lambda m: m.negative(_R), lambda: np.negative(_R)),
    "arccosh": (lambda m: m.arccosh([*_V[:2], 1.5]), lambda: np.arccosh([*_V[:2], 1.5])),
}


@pytest.mark.parametrize("name", sorted(_LIST_CASES))
def test_every_numpy_coverage_function_reads_a_list_as_numpy_does(name):
    ours, theirs = _LIST_CASES[name]
    _same(ours(cr), theirs())


@pytest.mark.parametrize("name", ["dot", "det", "norm", "var", "sort", "tensordot", "split"])
def test_a_list_of_tensors_is_stacked_before_the_shape_is_read(name):
    # The bug: each entry read _shape of the list (()) before apply stacked it.
    rows = [cr.tensor(r, requires_grad=True) for r in _M]
    plain = {
        "dot": lambda m, a: m.dot(a, [1.0, 1.0]),
        "det": lambda m, a: m.linalg.det(a),
        "norm": lambda m, a: m.linalg.norm(a),
        "var": lambda m, a: m.var(a, axis=0),
        "sort": lambda m, a: m.sort(a, axis=0),
        "tensordot": lambda m, a: m.tensordot(a, a, 1),
        "split": lambda m, a: m.split(a, 2),
    }[name]
    got = plain(cr, rows)
    _same(got, plain(np, np.asarray(_M)))
    pieces = got if isinstance(got, list) else [got]
    assert all(isinstance(p, cr.Tensor) and p.requires_grad for p in pieces)
    cr.sum(cr.stack([cr.sum(p) for p in pieces])).backward()
    assert all(r.grad is not None for r in rows)
