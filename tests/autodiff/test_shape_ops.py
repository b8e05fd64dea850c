"""NumPy's shape functions on Tensors (shape_ops.py): values against NumPy, gradients against finite
differences to second order, symbolic rules against backward, and the errors for bad arguments."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff.explain import explain

X_SHAPE = (2, 3, 4)

#: name -> (our call, NumPy's call), both on an array of shape X_SHAPE.
CASES = {
    "flip_all": (lambda x: cr.flip(x), lambda a: np.flip(a)),
    "flip_axes": (lambda x: cr.flip(x, (0, 2)), lambda a: np.flip(a, (0, 2))),
    "roll_flat": (lambda x: cr.roll(x, 5), lambda a: np.roll(a, 5)),
    "roll_axis": (lambda x: cr.roll(x, -1, axis=1), lambda a: np.roll(a, -1, axis=1)),
    "roll_axes": (lambda x: cr.roll(x, (1, 2), (0, 2)), lambda a: np.roll(a, (1, 2), (0, 2))),
    "tile": (lambda x: cr.tile(x, (2, 1, 3)), lambda a: np.tile(a, (2, 1, 3))),
    "tile_more_reps": (lambda x: cr.tile(x, (2, 1, 1, 2)), lambda a: np.tile(a, (2, 1, 1, 2))),
    "tile_int": (lambda x: cr.tile(x, 2), lambda a: np.tile(a, 2)),
    "repeat_flat": (lambda x: cr.repeat(x, 2), lambda a: np.repeat(a, 2)),
    "repeat_axis": (lambda x: cr.repeat(x, 3, axis=1), lambda a: np.repeat(a, 3, axis=1)),
    "repeat_counts": (
        lambda x: cr.repeat(x, [2, 0, 1], axis=-2),
        lambda a: np.repeat(a, [2, 0, 1], axis=-2),
    ),
    "diagonal": (lambda x: cr.diagonal(x), lambda a: np.diagonal(a)),
    "diagonal_axes": (
        lambda x: cr.diagonal(x, 1, axis1=2, axis2=1),
        lambda a: np.diagonal(a, 1, axis1=2, axis2=1),
    ),
    "diagonal_below": (lambda x: cr.diagonal(x, -1, 1, 2), lambda a: np.diagonal(a, -1, 1, 2)),
    "diag_vector": (lambda x: cr.diag(x[0, 0], 1), lambda a: np.diag(a[0, 0], 1)),
    "diag_matrix": (lambda x: cr.diag(x[1], -1), lambda a: np.diag(a[1], -1)),
    "trace": (lambda x: cr.trace(x, 1, 1, 2), lambda a: np.trace(a, 1, 1, 2)),
    "tril": (lambda x: cr.tril(x), lambda a: np.tril(a)),
    "triu_k": (lambda x: cr.triu(x, -1), lambda a: np.triu(a, -1)),
    "tril_k": (lambda x: cr.tril(x, 2), lambda a: np.tril(a, 2)),
    "squeeze": (lambda x: cr.squeeze(x[:, :1]), lambda a: np.squeeze(a[:, :1])),
    "squeeze_axis": (lambda x: cr.squeeze(x[:1, :1], 1), lambda a: np.squeeze(a[:1, :1], 1)),
    "expand_dims": (lambda x: cr.expand_dims(x, (0, -1)), lambda a: np.expand_dims(a, (0, -1))),
    "ravel": (lambda x: cr.ravel(x), lambda a: np.ravel(a)),
    "moveaxis": (lambda x: cr.moveaxis(x, 0, -1), lambda a: np.moveaxis(a, 0, -1)),
    "moveaxis_two": (
        lambda x: cr.moveaxis(x, (0, 1), (2, 0)),
        lambda a: np.moveaxis(a, (0, 1), (2, 0)),
    ),
    "atleast_3d": (lambda x: cr.atleast_3d(x[0, 0]), lambda a: np.atleast_3d(a[0, 0])),
    "atleast_2d": (lambda x: cr.atleast_2d(x[0, 0]), lambda a: np.atleast_2d(a[0, 0])),
    "atleast_1d": (lambda x: cr.atleast_1d(x[0, 0, 0]), lambda a: np.atleast_1d(a[0, 0, 0])),
    "hstack": (lambda x: cr.hstack([x[0], x[1] * 2.0]), lambda a: np.hstack([a[0], a[1] * 2.0])),
    "vstack": (lambda x: cr.vstack([x[0, 0], x[1]]), lambda a: np.vstack([a[0, 0], a[1]])),
    "split": (
        lambda x: cr.stack(cr.split(x, 2, axis=2), axis=0) * 2.0,
        lambda a: np.stack(np.split(a, 2, axis=2), axis=0) * 2.0,
    ),
    "split_indices": (
        lambda x: cr.concatenate(cr.split(x, [1, 3], axis=2)[::-1], axis=2),
        lambda a: np.concatenate(np.split(a, [1, 3], axis=2)[::-1], axis=2),
    ),
    "array_split": (
        lambda x: cr.concatenate([p * (i + 1.0) for i, p in enumerate(cr.array_split(x, 3, 1))]),
        lambda a: np.concatenate([p * (i + 1.0) for i, p in enumerate(np.array_split(a, 3, 1))]),
    ),
}


def _x(name: str) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(name.encode())).normal(size=X_SHAPE)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_numpy_for_tensors_and_plain_arrays(name):
    ours, ref = CASES[name]
    a = _x(name)
    y = ours(cr.tensor(a, requires_grad=True))
    assert isinstance(y, cr.Tensor) and y.op is not None
    np.testing.assert_array_equal(y.data, ref(a))
    plain = ours(a)
    assert not isinstance(plain, cr.Tensor)
    np.testing.assert_array_equal(plain, ref(a))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_to_second_order(name):
    # A nonlinear weight makes the second derivative of each linear shape op non-trivial.
    ours, _ = CASES[name]
    a = _x(name)
    w = np.random.default_rng(7).normal(size=ours(a).shape)
    report = cr.check_grad(lambda t: (cr.sin(ours(t)) * w).sum(), a, order=2, full_max=0)
    assert report.ok


@pytest.mark.parametrize("name", sorted(CASES))
def test_symbolic_rules_match_backward(name):
    ours, _ = CASES[name]
    x = cr.tensor(_x(name), requires_grad=True, name="x")
    y = ours(x)
    L = (y * np.random.default_rng(3).normal(size=y.shape)).sum()
    ex = explain(L, wrt=[x])
    assert ex.text and ex.latex.count("\\left(") == ex.latex.count("\\right)")
    value = ex.evaluate()["x"]
    L.backward()
    np.testing.assert_allclose(value, x.grad.data, rtol=1e-12, atol=1e-12)


def test_each_named_primitive_records_its_own_node():
    x = cr.tensor(np.ones((3, 3)), requires_grad=True)
    made = {
        "flip": cr.flip(x, 0),
        "roll": cr.roll(x, 1),
        "tile": cr.tile(x, 2),
        "repeat": cr.repeat(x, 2),
        "diagonal": cr.diagonal(x),
        "diag": cr.diag(x[0]),
        "tril": cr.tril(x),
        "triu": cr.triu(x),
    }
    for name, y in made.items():
        assert y.op is cr.PRIMITIVES[name], name
    assert cr.squeeze(x[None]).op.name == "reshape"
    assert cr.moveaxis(x, 0, 1).op.name == "transpose"
    assert cr.trace(x).op.name == "sum"


@given(
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.integers(0, 2),
    st.integers(-2, 2),
    st.integers(0, 2**16),
)
@settings(max_examples=30, deadline=None)
def test_random_shapes_repeat_tile_roll_diagonal(shape, reps, offset, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    for ours, ref in (
        (lambda x: cr.repeat(x, reps, axis=1), lambda b: np.repeat(b, reps, axis=1)),
        (lambda x: cr.tile(x, (reps, 1)), lambda b: np.tile(b, (reps, 1))),
        (lambda x: cr.roll(x, offset, axis=0), lambda b: np.roll(b, offset, axis=0)),
        (lambda x: cr.diagonal(x, offset), lambda b: np.diagonal(b, offset)),
        (lambda x: cr.triu(x, offset), lambda b: np.triu(b, offset)),
    ):
        np.testing.assert_array_equal(ours(a), ref(a))
        out = ref(a)
        if out.size == 0:
            continue
        w = rng.normal(size=out.shape)
        assert cr.check_grad(lambda t, f=ours, w=w: (f(t) * w).sum(), a, directions=1).ok


def test_float32_stays_float32():
    x = cr.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    y = cr.trace(cr.tile(cr.flip(cr.roll(x, 1), 1), (2, 1)))
    y = y + cr.diag(cr.repeat(x[0], 2)).sum() + cr.tril(x).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: cr.squeeze(x, 0), "axis 0 has size 2, not 1"),
        (lambda x: cr.diagonal(x[0, 0]), "at least 2 dimensions"),
        (lambda x: cr.diagonal(x, 0, 1, -2), "same axis"),
        (lambda x: cr.diag(x), "1-d or 2-d"),
        (lambda x: cr.tril(x[0, 0]), "at least 2 dimensions"),
        (lambda x: cr.split(x, 3, axis=2), "does not split into 3 equal sections"),
        (lambda x: cr.array_split(x, 0), "must be positive"),
        (lambda x: cr.repeat(x, [1, 2, 3], axis=0), "3 counts given for 2 elements"),
        (lambda x: cr.repeat(x, -1), "negative"),
        (lambda x: cr.tile(x, (1, -2)), "negative"),
        (lambda x: cr.moveaxis(x, (0, 1), 2), "same number of axes"),
        (lambda x: cr.roll(x, (1, 2), (0, 1, 2)), "same length"),
        (lambda x: cr.roll(x, (1, 2)), "needs an axis"),
        (lambda x: cr.flip(x, 3), "out of range"),
        (lambda x: cr.expand_dims(x, 5), "out of range"),
        (lambda x: cr.hstack([]), "non-empty"),
    ],
)
def test_bad_arguments_raise_value_errors_that_say_why(call, message):
    x = cr.tensor(np.ones(X_SHAPE), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        call(x)


def test_bad_argument_types_raise_type_errors():
    x = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="tile: reps"):
        cr.tile(x, "2")
    with pytest.raises(TypeError, match="roll: shift"):
        cr.roll(x, 1.5 + 0j)


# --- review fixes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("indices", [[-1], [1, -1], [-3, -1], [3, 1], [-10, 2], [5], [2, 2]])
def test_split_at_negative_and_unordered_indices_as_numpy(indices):
    # The bug: slice(a, max(a, b)) from raw negative indices gave [(0,), (1,)] for [-1].
    x = np.arange(4.0)
    for f, g in ((cr.split, np.split), (cr.array_split, np.array_split)):
        ours, theirs = f(x, indices), g(x, indices)
        assert [p.shape for p in ours] == [p.shape for p in theirs]
        for o, t in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(o, t)
    t = cr.tensor(x, requires_grad=True)
    pieces = cr.split(t, indices)
    cr.sum(cr.concatenate([p * float(k + 1) for k, p in enumerate(pieces)])).backward()
    expect = np.zeros(4)
    for k, positions in enumerate(np.split(np.arange(4), indices)):
        np.add.at(expect, positions, k + 1.0)
    np.testing.assert_array_equal(t.grad.data, expect)


def test_a_huge_section_count_is_refused_before_any_loop():
    # The bug: a Python loop over range(k) hung for k = 10**12.
    with pytest.raises(ValueError, match="indices_or_sections"):
        cr.array_split(np.ones(3), 10**12)
    with pytest.raises(ValueError, match="indices_or_sections"):
        cr.split(np.zeros(0), 10**12)
    # Up to the bound, more sections than entries still give NumPy's empty pieces.
    assert [p.shape for p in cr.array_split(np.ones(3), 5)] == [(1,), (1,), (1,), (0,), (0,)]


@pytest.mark.parametrize(
    "call",
    [
        lambda: cr.tril(np.ones((2, 2)), 1.0),
        lambda: cr.triu(np.ones((2, 2)), 0.5),
        lambda: cr.diagonal(np.ones((2, 2)), 1.0),
        lambda: cr.diagonal(np.ones((2, 2)), 0, 0.0, 1),
        lambda: cr.diag(np.ones(2), 1.0),
        lambda: cr.split(np.ones(4), [1.5]),
    ],
)
def test_float_offsets_and_axes_are_refused_as_numpy_does(call):
    # The bug: int() truncated them silently.
    with pytest.raises(TypeError, match="integer"):
        call()


def test_repeat_of_a_0d_array_along_axis_0():
    # The bug: IndexError; NumPy reads the 0-d array as 1-d.
    np.testing.assert_array_equal(cr.repeat(np.float64(2), 3, axis=0), [2.0, 2.0, 2.0])
    t = cr.tensor(2.0, requires_grad=True)
    cr.sum(cr.repeat(t, 3, axis=-1)).backward()
    assert t.grad.item() == 3.0


def test_hstack_and_vstack_of_one_array_iterate_its_rows():
    # The bug: a 2-d Tensor gave "needs a non-empty sequence of arrays".
    m = np.arange(6.0).reshape(2, 3)
    t = cr.tensor(m, requires_grad=True)
    np.testing.assert_array_equal(cr.hstack(t).data, np.hstack(m))
    np.testing.assert_array_equal(cr.vstack(t).data, np.vstack(m))
    cr.sum(cr.hstack(t) * np.arange(6.0)).backward()
    np.testing.assert_array_equal(t.grad.data, np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="0-d"):
        cr.hstack(np.float64(1.0))


@pytest.mark.parametrize("counts", [[2, 0, 3], [1, 2, 1], [1, 1, 1]])
def test_repeat_with_counts_backward_on_array_api_strict(counts):
    # The bug: scatter_add outside NumPy assigned out[index] = g, dropping repeated positions
    # (and the Array API has no integer-array assignment at all).
    xp = pytest.importorskip("array_api_strict")
    xn = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    wn = np.arange(2.0 * sum(counts)).reshape(2, -1)

    def loss(t, w):
        return cr.sum(cr.repeat(t, counts, axis=1) * w) + cr.sum(cr.repeat(t, 2, axis=0) ** 2)

    strict = cr.grad(loss)(xp.asarray(xn), xp.asarray(wn))
    plain = cr.grad(loss)(xn, wn)
    assert "array_api_strict" in type(strict).__module__
    np.testing.assert_allclose(np.asarray(strict), plain)
    idx = np.repeat(np.arange(3), counts)
    expect = np.zeros_like(xn)
    np.add.at(expect, (slice(None), idx), wn)
    np.testing.assert_allclose(plain, expect + 4.0 * xn)


def test_getitem_with_repeated_indices_backward_on_array_api_strict():
    xp = pytest.importorskip("array_api_strict")
    xn = np.array([1.0, 2.0, 3.0])
    idx, w = np.array([0, 2, 0, -1]), np.array([1.0, 2.0, 4.0, 8.0])
    strict = cr.grad(lambda t: cr.sum(t[xp.asarray(idx)] * xp.asarray(w)))(xp.asarray(xn))
    np.testing.assert_allclose(np.asarray(strict), [5.0, 0.0, 10.0])
