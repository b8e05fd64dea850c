"""var, std, cumsum, sort and the products dot/tensordot/inner/outer: values against NumPy, gradients
against central differences to second order, the zero-variance convention, and bad input."""

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


REDUCTION_CASES = [
    ("var", (5,), {}),
    ("var", (3, 4), {"axis": 0}),
    ("var", (3, 4), {"axis": -1, "ddof": 1, "keepdims": True}),
    ("var", (2, 3, 4), {"axis": (0, 2), "ddof": 2}),
    ("std", (5,), {}),
    ("std", (3, 4), {"axis": 1, "ddof": 1}),
    ("std", (2, 3, 4), {"axis": (1, 2), "keepdims": True}),
    ("std", (2, 3, 4), {"axis": None, "ddof": 1.5}),
    ("cumsum", (5,), {}),
    ("cumsum", (3, 4), {"axis": 0}),
    ("cumsum", (3, 4), {"axis": -1}),
    ("cumsum", (2, 3, 4), {"axis": None}),
    ("sort", (5,), {}),
    ("sort", (3, 4), {"axis": 0}),
    ("sort", (2, 3, 4), {"axis": 1}),
    ("sort", (3, 4), {"axis": None}),
]


def _ids(cases):
    return [f"{n}-{'x'.join(map(str, s))}-{k}" for n, s, k in cases]


@pytest.mark.parametrize(("name", "shape", "kwargs"), REDUCTION_CASES, ids=_ids(REDUCTION_CASES))
def test_values_match_numpy(name, shape, kwargs):
    x = rng_for(f"v{name}{shape}{kwargs}").standard_normal(shape)
    expected = getattr(np, name)(x, **kwargs)
    ours = getattr(cr, name)
    np.testing.assert_allclose(ours(x, **kwargs), expected, rtol=1e-12)
    t = ours(cr.tensor(x, requires_grad=True), **kwargs)
    assert t.op is cr.PRIMITIVES[name] and t.shape == expected.shape
    np.testing.assert_allclose(t.data, expected, rtol=1e-12)


@pytest.mark.parametrize(("name", "shape", "kwargs"), REDUCTION_CASES, ids=_ids(REDUCTION_CASES))
def test_gradients_to_second_order(name, shape, kwargs):
    x = rng_for(f"g{name}{shape}{kwargs}").standard_normal(shape)
    ours = getattr(cr, name)
    cr.check_grad(
        lambda t: cr.tanh(ours(t, **kwargs)) * ours(t, **kwargs),
        x,
        order=2,
        mode="nodes",
        full_max=12,
        directions=2,
    )


def test_std_of_constant_groups_has_zero_gradient_not_nan():
    x = cr.tensor(np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]), requires_grad=True)
    cr.std(x, axis=1).sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_array_equal(x.grad.data[0], np.zeros(3))
    row = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(x.grad.data[1], (row - row.mean()) / (3 * row.std()))
    # Second order at zero variance stays finite too.
    assert np.all(np.isfinite(cr.hvp(lambda t: cr.std(t), np.ones(3), np.arange(3.0))))


def test_var_gradient_formula():
    x = cr.tensor(np.array([1.0, 2.0, 4.0, 7.0]), requires_grad=True)
    cr.var(x, ddof=1).backward()
    np.testing.assert_allclose(x.grad.data, 2 * (x.data - x.data.mean()) / 3)


def test_sort_gradient_follows_the_permutation():
    x = cr.tensor(np.array([3.0, 1.0, 2.0]), requires_grad=True)
    (cr.sort(x) * np.array([10.0, 20.0, 30.0])).sum().backward()
    # sorted: [1 (index 1), 2 (index 2), 3 (index 0)]
    np.testing.assert_array_equal(x.grad.data, [30.0, 10.0, 20.0])
    ties = cr.tensor(np.array([1.0, 1.0, 0.0]), requires_grad=True)
    (cr.sort(ties) * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(ties.grad.data, [2.0, 3.0, 1.0])  # stable: first 1 goes first


def test_cumsum_gradient_is_the_reversed_running_sum():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (cr.cumsum(x) * np.arange(1.0, 7.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.data.ravel(), np.cumsum(np.arange(6.0, 0.0, -1))[::-1])


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["var", "std", "cumsum", "sort"]),
    st.sampled_from([(4,), (2, 3), (2, 2, 3)]),
    st.integers(0, 2**16),
    st.booleans(),
)
def test_random_compositions_match_finite_differences(name, shape, seed, keep):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    axis = int(rng.integers(-len(shape), len(shape)))
    ours = getattr(cr, name)
    kwargs = {"axis": axis}
    if name in ("var", "std"):
        kwargs["keepdims"] = keep
        kwargs["ddof"] = int(shape[axis] > 2)
    cr.check_grad(
        lambda t: cr.sin(ours(t * 1.5, **kwargs)).sum() + ours(t, **kwargs).sum() ** 2,
        x,
        directions=2,
        full_max=0,
    )


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match=r"var: ddof=3 leaves no degrees of freedom for 3 entries"):
        cr.var(np.ones((2, 3)), axis=1, ddof=3)
    with pytest.raises(TypeError, match="ddof must be a number"):
        cr.std(np.ones(3), ddof="1")
    with pytest.raises(ValueError, match="out of range"):
        cr.cumsum(np.ones(3), axis=1)
    with pytest.raises(ValueError, match="out of range"):
        cr.sort(np.ones((2, 2)), axis=2)
    with pytest.raises(ValueError, match="0-d"):
        cr.sort(np.float64(1.0), axis=0)


# --- dot, tensordot, inner, outer ----------------------------------------------------------------

PRODUCT_CASES = [
    ("dot", (4,), (4,), {}),
    ("dot", (3, 4), (4,), {}),
    ("dot", (4,), (4, 2), {}),
    ("dot", (3, 4), (4, 2), {}),
    ("dot", (2, 3, 4), (5, 4, 2), {}),
    ("dot", (), (3, 2), {}),
    ("inner", (4,), (4,), {}),
    ("inner", (2, 3), (4, 3), {}),
    ("inner", (2, 2, 3), (3,), {}),
    ("outer", (3,), (4,), {}),
    ("outer", (2, 2), (3,), {}),
    ("tensordot", (2, 3, 4), (3, 4, 2), {}),
    ("tensordot", (2, 3), (3, 2), {"axes": 1}),
    ("tensordot", (2, 3), (4,), {"axes": 0}),
    ("tensordot", (2, 3, 4), (4, 2, 5), {"axes": ([0, 2], [1, 0])}),
    ("tensordot", (3, 4), (4, 3), {"axes": (1, 0)}),
]


def _pids(cases):
    return [f"{n}-{'x'.join(map(str, a))}-{'x'.join(map(str, b))}-{k}" for n, a, b, k in cases]


@pytest.mark.parametrize(("name", "sa", "sb", "kwargs"), PRODUCT_CASES, ids=_pids(PRODUCT_CASES))
def test_products_match_numpy_and_differentiate_to_second_order(name, sa, sb, kwargs):
    rng = rng_for(f"{name}{sa}{sb}{kwargs}")
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    ours, theirs = getattr(cr, name), getattr(np, name)
    expected = theirs(a, b, **kwargs)
    np.testing.assert_allclose(ours(a, b, **kwargs), expected, rtol=1e-12, atol=1e-14)
    t = ours(cr.tensor(a, requires_grad=True), b, **kwargs)
    np.testing.assert_allclose(t.data, expected, rtol=1e-12, atol=1e-14)
    assert t.shape == np.shape(expected)
    cr.check_grad(
        lambda x, y: cr.tanh(ours(x, y, **kwargs)) * ours(x, y, **kwargs),
        a,
        b,
        order=2,
        full_max=12,
        directions=2,
    )


def test_products_reject_misaligned_shapes():
    with pytest.raises(
        ValueError, match=r"dot: shapes \(3, 4\) and \(3,\) not aligned: 4 \(dim 1\) != 3 \(dim 0\)"
    ):
        cr.dot(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="inner: shapes"):
        cr.inner(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="shape-mismatch for sum"):
        cr.tensordot(np.ones((2, 3)), np.ones((2, 3)), axes=1)
    with pytest.raises(ValueError, match="axes=3 must be between 0 and 2"):
        cr.tensordot(np.ones((2, 3)), np.ones((3, 2)), axes=3)
    with pytest.raises(ValueError, match="pair 2 axes of a with 1 of b"):
        cr.tensordot(np.ones((2, 3)), np.ones((3, 2)), axes=([0, 1], [0]))


def test_explain_prints_and_evaluates_the_new_reductions():
    rng = rng_for("explain-more")
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True, name="x")
    w = cr.tensor(rng.standard_normal(4), requires_grad=True, name="w")
    h = cr.dot(x, w)
    h.name = "h"
    loss = (cr.std(x, axis=0, ddof=1) * cr.var(x, axis=0)).sum() + (cr.cumsum(h) * cr.sort(h)).sum()
    ex = cr.explain(loss)
    for piece in ("std(x", "var(x", "cumsum(h", "sort(h", "einsum("):
        assert piece in ex.text
    values = ex.evaluate()
    loss.backward()
    np.testing.assert_allclose(values["x"], x.grad.data, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(values["w"], w.grad.data, rtol=1e-9, atol=1e-12)


# --- review fixes ----------------------------------------------------------------------------------


def test_var_std_of_lists_read_the_list_shape():
    # The bugs: var(list, axis=0) IndexError; std(list, ddof=1) "no degrees of freedom".
    np.testing.assert_allclose(cr.var([[1.0, 2.0], [3.0, 5.0]], axis=0), [1.0, 2.25])
    assert cr.std([1.0, 2.0, 4.0], ddof=1) == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1))
    assert cr.var((1.0, 3.0)) == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: cr.sort(np.ones(3), 0.0),
        lambda: cr.cumsum(np.ones(3), 0.0),
        lambda: cr.sort(np.ones((2, 2)), np.float64(1)),
    ],
)
def test_float_axes_are_refused(call):
    # The bug: int() truncated them silently.
    with pytest.raises(TypeError, match="axis must be an integer"):
        call()


def test_numpy_integer_axes_still_work():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(cr.sort(x, np.int64(0)), np.sort(x, 0))
    np.testing.assert_array_equal(cr.cumsum(x, np.int32(-1)), np.cumsum(x, -1))


def test_cumsum_and_sort_backward_on_array_api_strict():
    # The bug: cumsum's VJP flipped with a negative-step slice, which the Array API lacks.
    xp = pytest.importorskip("array_api_strict")
    xn = np.array([[3.0, 1.0, 2.0], [0.5, -1.0, 4.0]])
    wn = np.arange(6.0).reshape(2, 3)
    w = xp.asarray(wn)
    for axis in (0, 1, None):
        strict = cr.grad(lambda t, a=axis: cr.sum(cr.cumsum(t, axis=a) ** 2))(xp.asarray(xn))
        plain = cr.grad(lambda t, a=axis: cr.sum(cr.cumsum(t, axis=a) ** 2))(xn)
        np.testing.assert_allclose(np.asarray(strict), plain)
    strict = cr.grad(lambda t: cr.sum(cr.sort(t, axis=1) * w))(xp.asarray(xn))
    plain = cr.grad(lambda t: cr.sum(cr.sort(t, axis=1) * wn))(xn)
    np.testing.assert_allclose(np.asarray(strict), plain)


def test_np_mean_with_an_integer_dtype_is_numpys_truncated_mean():
    # The bug: np.mean(t, dtype=int) gave tensor(3.5).
    x = np.array([1.0, 2.0, 4.0, 7.0])
    t = cr.tensor(x, requires_grad=True)
    m = np.mean(t, dtype=int)
    assert m.item() == np.mean(x, dtype=int) == 3
    assert m.dtype == np.dtype(int) and not m.requires_grad
    m32 = np.mean(t, dtype=np.float32)
    assert m32.dtype == np.float32 and m32.requires_grad
