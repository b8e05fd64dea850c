"""Acceptance cases a user would try that the other test files do not: indexing forms, reduction
axes, creation copy/share semantics, tuple-argnums Jacobians, Jupyter drawing of a Tensor."""

import array_api_strict as xps
import numpy as np
import pytest

import chainrule as cr

_A = np.random.default_rng(7).standard_normal((4, 5, 6))

INDEXES = {
    "negative int": -1,
    "negative ints": (-1, -2),
    "step": slice(None, None, 2),
    "negative step": (slice(None, None, -1), 1),
    "ellipsis": (Ellipsis, 0),
    "none": (None, 1, Ellipsis),
    "int array with repeats": np.array([0, 0, 3, 3, 3]),
    "2-d int arrays with repeats": (np.array([[0, 1], [1, 1]]), slice(None), np.array([2])),
    "bool mask on 2 axes": _A[..., 0] > 0,
    "bool mask on all axes": _A > 0,
    "mixed int, array, slice": (1, np.array([0, 0, 4]), slice(1, 5, 2)),
    "separated arrays": (np.array([0, 1]), slice(None), np.array([1, 1])),
    "list": ([0, 0, 1],),
}


@pytest.mark.parametrize("index", INDEXES.values(), ids=INDEXES.keys())
def test_getitem_value_and_scatter_add_gradient(index):
    x = cr.tensor(_A, requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y.data, _A[index])
    w = np.random.default_rng(1).standard_normal(np.shape(_A[index]))
    (y * w).sum().backward()
    expect = np.zeros_like(_A)
    np.add.at(expect, index, w)  # repeated indices accumulate
    assert isinstance(x.grad, cr.Tensor)
    np.testing.assert_allclose(x.grad.data, expect)


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "max", "min"])
@pytest.mark.parametrize(
    ("axis", "keepdims"), [((0, 2), False), (-1, True), ((-1, -3), True), (None, True), ((), False)]
)
def test_reductions_with_tuple_negative_and_empty_axes(op, axis, keepdims):
    check = cr.check_grad(
        lambda t: getattr(t, op)(axis=axis, keepdims=keepdims), _A[:2, :3, :2] + 3.0
    )
    assert check.ok
    ref = getattr(np, {"max": "amax", "min": "amin"}.get(op, op))(_A, axis=axis, keepdims=keepdims)
    out = getattr(cr.tensor(_A), op)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, ref)


def test_tensor_copies_its_data_and_as_tensor_shares_it():
    a = np.array([1.0, 2.0])
    w = cr.tensor(a, requires_grad=True)
    w.data -= 0.5  # an optimizer step on the parameter
    np.testing.assert_array_equal(a, [1.0, 2.0])  # the caller's array is untouched
    a[0] = 9.0
    assert w.data[0] == 0.5
    # the same for the class constructor, a Tensor argument, float32, and an Array API array
    assert not np.shares_memory(cr.Tensor(a).data, a)
    assert not np.shares_memory(cr.tensor(w).data, w.data)
    f32 = np.ones(3, np.float32)
    assert not np.shares_memory(cr.tensor(f32).data, f32)
    assert not np.shares_memory(cr.tensor(a[::2]).data, a)
    s = xps.asarray([1.0, 2.0])
    ts = cr.tensor(s)
    assert ts.data is not s and type(ts.data) is type(s)

    shared = cr.as_tensor(a, requires_grad=True, name="a")
    assert shared.data is a and shared.requires_grad and shared.name == "a"
    shared.data -= 1.0
    assert a[0] == 8.0
    assert cr.as_tensor(s).data is s
    assert cr.as_tensor(w) is w  # a Tensor with nothing to change is returned as it is
    assert cr.as_tensor(w, requires_grad=True).data is w.data
    # conversions still convert (and so copy)
    assert cr.as_tensor([1, 2]).dtype == np.float64
    assert cr.as_tensor(a, dtype="float32").dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        cr.as_tensor(np.arange(3), dtype=np.int64, requires_grad=True)


def test_astype_always_copies():
    t = cr.tensor([1.0, 2.0])
    same = t.astype(np.float64)
    assert same.data is not t.data and not np.shares_memory(same.data, t.data)
    assert t.astype("float32").dtype == np.float32


def test_results_of_operations_wrap_without_copy():
    # detach shares (as torch); a computed result is wrapped as it is
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert d.data is x.data


def test_jacobian_with_tuple_argnums_matches_finite_differences():
    a0, b0 = np.array([0.3, -1.2]), np.array([0.7, 2.0, -0.5])

    def f(a, b):
        return cr.stack([a[0] * b[1], cr.sin(a[1]) * b.sum(), cr.exp(b[2])])

    ja, jb = cr.jacobian(f, argnums=(0, 1))(a0, b0)
    assert ja.shape == (3, 2) and jb.shape == (3, 3)

    def fd(k, x0):
        eps, cols = 1e-6, []
        for i in range(x0.size):
            e = np.zeros_like(x0)
            e[i] = eps
            args_p = [a0, b0]
            args_m = [a0, b0]
            args_p[k], args_m[k] = x0 + e, x0 - e
            cols.append((np.asarray(f(*args_p)) - np.asarray(f(*args_m))) / (2 * eps))
        return np.stack(cols, axis=1)

    np.testing.assert_allclose(ja, fd(0, a0), atol=1e-8)
    np.testing.assert_allclose(jb, fd(1, b0), atol=1e-8)
    np.testing.assert_allclose(cr.jacobian(f, argnums=1)(a0, b0), jb)


def test_jacobian_of_array_api_input_stays_in_its_namespace():
    x = xps.asarray([0.0, 1.0])
    jac = cr.jacobian(cr.tanh)(x)
    assert type(jac) is type(x)
    np.testing.assert_allclose(np.asarray(jac), np.diag(1 - np.tanh([0.0, 1.0]) ** 2))


def test_tensor_repr_svg_draws_its_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (cr.tanh(x) * 2).sum()
    y.name = "y"
    svg = y._repr_svg_()
    assert svg is not None and svg.startswith("<svg") and ">x<" in svg and ">y<" in svg
    assert svg == cr.to_svg(y)
    # too large to draw: None, so that Jupyter falls back to the text repr
    z = x
    for _ in range(2100):
        z = z * 1.0
    assert z._repr_svg_() is None


def test_clip_with_tensor_bounds_differentiates_the_bounds():
    x = cr.tensor([0.0, 5.0, 2.0, 1.0, 3.0], requires_grad=True)
    lo = cr.tensor(1.0, requires_grad=True)
    hi = cr.tensor(np.full(5, 3.0), requires_grad=True)
    y = cr.clip(x, lo, hi)
    np.testing.assert_array_equal(y.data, np.clip(x.data, 1.0, 3.0))
    (y * np.arange(1.0, 6.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 3, 4, 5])  # bounds included
    assert float(lo.grad) == 1.0
    np.testing.assert_array_equal(hi.grad.data, [0, 2, 0, 0, 0])
    # hi wins where lo > hi, as np.clip
    np.testing.assert_array_equal(cr.clip(cr.tensor([0.0, 5.0]), cr.tensor(3.0), 1.0).data, [1, 1])
    assert cr.check_grad(
        cr.clip, np.array([0.1, 5.0, 2.0]), np.array(1.0), np.array([3, 3, 2.5])
    ).ok


@pytest.mark.parametrize("as_tensor", [False, True])
def test_leaf_grads_do_not_alias_the_callers_grad_array(as_tensor):
    gu = np.ones(3)
    seed = cr.tensor(gu) if as_tensor else gu
    x = cr.tensor(np.zeros(3), requires_grad=True)
    (x + 0.0).backward(seed)  # the add rule passes the seed through unchanged
    x.grad.data *= 5.0  # an in-place update of the gradient (gradient scaling)
    np.testing.assert_array_equal(gu, 1.0)
    np.testing.assert_array_equal(np.asarray(seed), 1.0)
    leaf = cr.tensor(np.zeros(3), requires_grad=True)
    leaf.backward(gu)  # the root itself is the leaf
    assert not np.shares_memory(leaf.grad.data, gu)
    _, pull = cr.vjp(lambda t: t + 0.0, np.zeros(3))
    assert not np.shares_memory(pull(gu)[0], gu)


def test_numpy_array_protocol_copies_on_request():
    t = cr.tensor([1.0, 2.0])
    a = np.array(t)  # copy=True by default
    a[0] = 99.0
    assert t.data[0] == 1.0
    assert np.shares_memory(np.asarray(t), t.data)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError):
        np.array(t, dtype=np.float32, copy=False)


def test_shape_methods_take_dims_as_varargs_or_one_sequence():
    t = cr.tensor(np.ones((2, 3, 4)))
    assert t.reshape(4, 6).shape == t.reshape((4, 6)).shape == t.reshape([4, 6]).shape == (4, 6)
    assert t.permute(2, 0, 1).shape == t.permute([2, 0, 1]).shape == (4, 2, 3)
    assert t.transpose().shape == (4, 3, 2)
    assert t[0, 0].expand(3, 4).shape == t[0, 0].expand((3, 4)).shape == (3, 4)


SELECTIONS = {
    "leaky_relu": lambda a: cr.leaky_relu(a, 0.1),
    "maximum": lambda a: cr.maximum(a, a * a),
    "minimum-scalar": lambda a: cr.minimum(a, 0.3),
    "maximum-tie": lambda a: cr.maximum(a, a),
}


@pytest.mark.parametrize("fn", SELECTIONS.values(), ids=SELECTIONS.keys())
@pytest.mark.parametrize("kind", ["float64", "float32", "array_api_strict"])
def test_selection_rules_keep_namespace_and_dtype_to_second_order(fn, kind):
    base = np.random.default_rng(4).standard_normal((3, 4))
    make = {
        "float64": np.asarray,
        "float32": lambda v: np.asarray(v, np.float32),
        "array_api_strict": xps.asarray,
    }[kind]
    x = cr.tensor(make(base), requires_grad=True)
    h = fn(x)
    h.retain_grad()  # an intermediate gradient keeps the dtype too
    (h * h).sum().backward()
    ref = cr.tensor(base, requires_grad=True)
    (fn(ref) * fn(ref)).sum().backward()
    assert type(x.grad.data) is type(make(base)) and x.grad.dtype == make(base).dtype
    assert h.grad.dtype == make(base).dtype
    np.testing.assert_allclose(np.asarray(x.grad.data), ref.grad.data, rtol=1e-5)
    hess = cr.grad(lambda t: (cr.grad(lambda u: (fn(u) ** 2).sum())(t) ** 2).sum())(make(base))
    assert type(hess) is type(make(base)) and hess.dtype == make(base).dtype


def test_no_grad_nests_restores_on_exceptions_and_decorates():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        a = x * 2
        with cr.no_grad():
            b = x * 2
        c = x * 2
        with cr.enable_grad():
            d = x * 2
        e = x * 2
    assert (a.op, b.op, c.op, e.op) == (None,) * 4 and d.op is not None
    with pytest.raises(KeyError), cr.no_grad():
        raise KeyError("x")
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def double(t):
        return t * 2

    assert double(x).op is None and cr.is_grad_enabled()


def test_deep_vector_chain_backward_and_second_order():
    x = cr.tensor(np.full(3, 0.5), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = cr.tanh(y)
    y.sum().backward()
    # tanh applied n times: the derivative is the product of (1 - y_k^2) along the chain
    v, d = np.full(3, 0.5), np.ones(3)
    for _ in range(100_000):
        v = np.tanh(v)
        d *= 1 - v * v
    np.testing.assert_allclose(x.grad.data, d, rtol=1e-10)
    z = cr.tensor(np.full(2, 0.3), requires_grad=True)
    w = z
    for _ in range(20_000):
        w = cr.sin(w) * 0.99999 + 0.001
    w.sum().backward(create_graph=True)
    g = z.grad
    z.grad = None
    g.sum().backward()  # through a recorded backward of a 20,000-deep graph
    v, d1, d2 = np.full(2, 0.3), np.ones(2), np.zeros(2)  # forward-mode first and second derivative
    for _ in range(20_000):
        v, d1, d2 = (
            np.sin(v) * 0.99999 + 0.001,
            np.cos(v) * d1 * 0.99999,
            (np.cos(v) * d2 - np.sin(v) * d1 * d1) * 0.99999,
        )
    np.testing.assert_allclose(g.data, d1, rtol=1e-9)
    np.testing.assert_allclose(z.grad.data, d2, rtol=1e-8)


def test_astype_is_differentiable_between_floating_dtypes():
    x = cr.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x.astype("float64")
    assert y.dtype == np.float64 and y.op is not None
    (y**2).sum().backward()
    assert x.grad.dtype == np.float32  # the gradient comes back in the operand's dtype
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    s = cr.tensor(xps.asarray([1.0, 2.0]), requires_grad=True)
    (s.astype(xps.float32) ** 2).sum().backward()
    assert s.grad.dtype == xps.float64
    assert cr.grad(cr.grad(lambda u: (cr.cast(u, "float32") ** 3).sum()))(np.array(2.0)) == 12.0
    i = x.astype(np.int64)  # not floating: not recorded
    assert i.dtype == np.int64 and not i.requires_grad and i.op is None
