"""MaxPool2d / AvgPool2d / Flatten: explicit-loop references, gradients, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def reference_pool(
    x: np.ndarray,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    kind: str,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Max or mean of each window, one output element at a time (padding never wins a max)."""
    n_, c_, h_, w_ = x.shape
    oh = (h_ + 2 * padding[0] - kernel[0]) // stride[0] + 1
    ow = (w_ + 2 * padding[1] - kernel[1]) // stride[1] + 1
    y = np.zeros((n_, c_, oh, ow))
    for n in range(n_):
        for c in range(c_):
            for i in range(oh):
                for j in range(ow):
                    vals = []
                    for k in range(kernel[0]):
                        for l in range(kernel[1]):
                            r = i * stride[0] + k - padding[0]
                            s = j * stride[1] + l - padding[1]
                            if 0 <= r < h_ and 0 <= s < w_:
                                vals.append(x[n, c, r, s])
                    if kind == "max":
                        y[n, c, i, j] = max(vals)
                    elif count_include_pad:
                        y[n, c, i, j] = sum(vals) / (kernel[0] * kernel[1])
                    else:
                        y[n, c, i, j] = sum(vals) / len(vals)
    return y


CASES = [
    # kernel, stride, padding
    ((2, 2), None, (0, 0)),
    ((3, 3), (2, 2), (1, 1)),
    ((2, 3), (1, 2), (1, 0)),
    ((3, 2), (3, 1), (0, 1)),
]


@pytest.mark.parametrize(("kernel", "stride", "padding"), CASES)
def test_max_pool_matches_the_explicit_max(kernel: tuple, stride: tuple, padding: tuple) -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 8))
    want = reference_pool(x, kernel, stride or kernel, padding, "max")
    layer = nn.MaxPool2d(kernel, stride, padding)
    np.testing.assert_array_equal(layer(cr.tensor(x)).data, want)
    np.testing.assert_array_equal(np.asarray(nn.max_pool2d(x[0], kernel, stride, padding)), want[0])
    # Random inputs have no ties: the gradient of a max is a finite-difference gradient.
    cr.check_grad(lambda x: nn.max_pool2d(x, kernel, stride, padding) ** 2, x[:1, :2], order=2)


@pytest.mark.parametrize(("kernel", "stride", "padding"), CASES)
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool_matches_the_explicit_mean(
    kernel: tuple, stride: tuple, padding: tuple, include: bool
) -> None:
    x = np.random.default_rng(1).normal(size=(2, 3, 7, 8))
    want = reference_pool(x, kernel, stride or kernel, padding, "avg", include)
    layer = nn.AvgPool2d(kernel, stride, padding, count_include_pad=include)
    got = layer(cr.tensor(x, requires_grad=True))
    np.testing.assert_allclose(got.data, want, rtol=1e-13, atol=1e-15)
    cr.check_grad(
        lambda x: nn.avg_pool2d(x, kernel, stride, padding, include) ** 2, x[:1, :2], order=2
    )


def test_max_pool_gradient_goes_to_the_maximum() -> None:
    x = cr.tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    nn.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 1.0], [0.0, 0.0]]]])
    # Overlapping windows (stride 1) add their gradients at a shared maximum.
    y = cr.tensor(np.array([[[[0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]), requires_grad=True)
    nn.max_pool2d(y, 2, stride=1).sum().backward()
    assert y.grad.data[0, 0, 0, 1] == 2.0 and y.grad.data.sum() == 2.0


def test_flatten() -> None:
    x = cr.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y.data, np.arange(24.0).reshape(2, 12))
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Flatten(1, 1)(x).shape == (2, 3, 4)
    assert nn.flatten(np.ones((2, 3, 4, 5)), 1, 2).shape == (2, 12, 5)
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2 * x.data)
    with pytest.raises(ValueError, match=r"start_dim=3 or end_dim=-1 is out of range"):
        nn.Flatten(3)(x)
    with pytest.raises(ValueError, match="start_dim=2 comes after end_dim=1"):
        nn.flatten(x, 2, 1)


def test_pool_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half"):
        nn.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError, match=r"padding \(2, 0\) must be at most half"):
        nn.AvgPool2d((3, 3), padding=(2, 0))
    with pytest.raises(ValueError, match=r"input must be \(N, C, H, W\) or \(C, H, W\), got shape"):
        nn.max_pool2d(np.ones((4, 4)), 2)
    with pytest.raises(ValueError, match="smaller than"):
        nn.avg_pool2d(np.ones((1, 1, 2, 2)), 3)
    with pytest.raises(ValueError, match="kernel_size must be"):
        nn.MaxPool2d(0)
    with pytest.raises(ValueError, match="stride must be"):
        nn.AvgPool2d(2, stride=(1, 0))


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_exact_tiling_matches_the_loops_with_ties(kind: str) -> None:
    # Windows that tile the input (the CNN's pooling); small integers make ties, which share a
    # max's gradient equally.
    x = np.random.default_rng(2).integers(0, 3, size=(2, 3, 8, 6)).astype(float)
    pool = nn.max_pool2d if kind == "max" else nn.avg_pool2d
    want = reference_pool(x, (2, 3), (2, 3), (0, 0), kind)
    xt = cr.tensor(x, requires_grad=True)
    y = pool(xt, (2, 3))
    np.testing.assert_array_equal(y.data, want)
    y.sum().backward()
    grad = np.zeros_like(x)
    for i in range(4):
        for j in range(2):
            win = x[:, :, 2 * i : 2 * i + 2, 3 * j : 3 * j + 3]
            if kind == "max":
                hit = win == win.max(axis=(2, 3), keepdims=True)
                share = hit / hit.sum(axis=(2, 3), keepdims=True)
            else:
                share = np.full(win.shape, 1 / 6)
            grad[:, :, 2 * i : 2 * i + 2, 3 * j : 3 * j + 3] = share
    np.testing.assert_allclose(xt.grad.data, grad, rtol=1e-15)
    smooth = np.random.default_rng(3).normal(size=(1, 2, 4, 6))
    cr.check_grad(lambda v: pool(v, (2, 3)) ** 2, smooth, order=2)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation"),
    [
        ((2, 2), (2, 2), (0, 0), (1, 1)),  # tiles an even input exactly
        ((2, 3), (3, 3), (1, 0), (1, 1)),  # gaps between windows, padding
        ((3, 1), (3, 2), (1, 0), (1, 4)),  # a floor's rest; a 1-wide kernel with dilation
        ((2, 2), (1, 2), (0, 0), (1, 1)),  # overlapping rows: the general, accumulating fold
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fold_of_disjoint_windows_equals_the_accumulating_fold(
    monkeypatch: pytest.MonkeyPatch,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,
    dtype: type,
) -> None:
    from chainrule.autodiff import windows

    size = (7, 8)
    out = windows.window_output_size(size, kernel, stride, padding, dilation)
    g = np.random.default_rng(4).normal(size=(2, 3, *kernel, *out)).astype(dtype)
    fast = windows.fold_forward(g, size, kernel, stride, padding, dilation)
    monkeypatch.setattr(windows, "_disjoint", lambda *args: False)
    general = windows.fold_forward(g, size, kernel, stride, padding, dilation)
    assert fast.dtype == general.dtype == dtype
    np.testing.assert_array_equal(fast, general)
    # The adjoint identity <unfold(x), g> = <x, fold(g)> pins both down.
    x = np.random.default_rng(5).normal(size=(2, 3, *size))
    lhs = np.sum(windows.unfold_forward(x, kernel, stride, padding, dilation) * g)
    np.testing.assert_allclose(lhs, np.sum(x * fast), rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_gradient_fast_path_shares_ties_equally(dtype: type) -> None:
    """The NumPy max VJP (gradient / tie count, spread by the hits) equals the share product of
    the general rule to the last bit of g / count, with ties of 1, 2, 3 and 4 entries."""
    from chainrule.autodiff.primitives import _extreme_vjp

    x = np.random.default_rng(6).integers(0, 3, size=(4, 5, 2, 2, 3, 3)).astype(dtype)
    y = x.max(axis=(-4, -3))
    g = np.random.default_rng(7).normal(size=y.shape).astype(dtype)
    got = _extreme_vjp(g, y, x, (-4, -3), False)
    hit = (x == y[:, :, None, None]).astype(dtype)
    counts = hit.sum(axis=(-4, -3), keepdims=True)
    assert set(np.unique(counts)) == {1.0, 2.0, 3.0, 4.0}
    want = g[:, :, None, None] * (hit / counts)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)
    # The same through a Tensor (the general rule, kept for higher orders).
    general = _extreme_vjp(cr.tensor(g), cr.tensor(y), cr.tensor(x), (-4, -3), False)
    np.testing.assert_allclose(
        got, np.asarray(general.data), rtol=1e-6 if dtype == np.float32 else 1e-15
    )


@pytest.mark.parametrize(
    ("axis", "keepdims"),
    [((-4, -3), False), ((2, 3), True), (1, False), ((0, 2), True), (-1, False), (None, False)],
)
def test_max_and_min_by_slices_equal_numpy_reductions(axis: object, keepdims: bool) -> None:
    """max/min over short outer axes (a pooling's window axes) run slice by slice; the result is
    NumPy's reduction exactly, NaN included, and the counts of ties are exact."""
    from chainrule.autodiff.primitives import _by_slices, max_forward, min_forward

    x = np.random.default_rng(8).integers(-3, 3, size=(3, 4, 2, 2, 5, 6)).astype(np.float64)
    x[1, 2, 1, 0, 3, 4] = np.nan
    for dtype in (np.float64, np.float32):
        xd = x.astype(dtype)
        for ours, ref in ((max_forward, np.max), (min_forward, np.min)):
            got = ours(xd, axis, keepdims)
            want = ref(xd, axis=axis, keepdims=keepdims)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
    sliced = _by_slices(np.maximum, x, (2, 3), False)
    assert sliced is not None and sliced.shape == (3, 4, 5, 6)
    assert _by_slices(np.maximum, x, -1, False) is None  # the last axis: NumPy's own reduce
    assert _by_slices(np.maximum, x[:1, :1], (2, 3), False) is None  # small: NumPy's own reduce
    hits = x == np.nanmax(x, axis=(2, 3), keepdims=True)
    counts = _by_slices(np.add, hits, (2, 3), True, np.float32)
    assert counts.dtype == np.float32
    np.testing.assert_array_equal(counts, hits.sum(axis=(2, 3), keepdims=True))


FUSED_CASES = [
    # kernel, stride, padding
    ((2, 2), (2, 2), (0, 0)),  # the CNN's pooling: windows tile the input
    ((2, 3), (2, 3), (0, 0)),  # tiles with a floor's rest (W = 8 is not a multiple of 3)
    ((3, 3), (2, 2), (1, 1)),  # overlapping windows, padding
    ((2, 2), (1, 1), (0, 0)),  # overlapping windows: the accumulating scatter
    ((2, 3), (3, 3), (1, 0)),  # gaps between windows, padding
    ((3, 2), (3, 1), (0, 1)),
    ((1, 1), (2, 2), (0, 0)),  # a single-entry window
]


def _unfold_max_pool(x: object, kernel: tuple, stride: tuple, padding: tuple) -> object:
    """The composition the primitive stands for: max over the -inf-padded windows."""
    from chainrule.autodiff.windows import unfold

    return cr.max(unfold(x, kernel, stride, padding, 1, fill=-np.inf), axis=(-4, -3))


@pytest.mark.parametrize(("kernel", "stride", "padding"), FUSED_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_max_pool_equals_the_unfold_composition_with_ties(
    kernel: tuple, stride: tuple, padding: tuple, dtype: type
) -> None:
    from chainrule.nn.pool_primitive import MAX_POOL2D

    # Small integers: ties of 1 to kh·kw entries, which share the gradient equally.
    x = np.random.default_rng(10).integers(-2, 2, size=(3, 4, 7, 8)).astype(dtype)
    xf = cr.tensor(x, requires_grad=True)
    xu = cr.tensor(x, requires_grad=True)
    yf = nn.max_pool2d(xf, kernel, stride, padding)
    yu = _unfold_max_pool(xu, kernel, stride, padding)
    assert yf.op is MAX_POOL2D  # the fused node ran
    assert yf.dtype == yu.dtype == dtype
    np.testing.assert_array_equal(yf.data, yu.data)  # bit for bit
    w = np.random.default_rng(11).normal(size=yf.shape).astype(dtype)
    (yf * w).sum().backward()
    (yu * w).sum().backward()
    assert xf.grad.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(xf.grad.data, xu.grad.data, rtol=tol, atol=tol)
    # The NumPy fast path without a graph, on a 3-d input.
    np.testing.assert_array_equal(
        np.asarray(nn.max_pool2d(x[0], kernel, stride, padding)), yu.data[0]
    )
    # The NumPy kernels on a non-contiguous input (a view) equal those on its copy.
    from chainrule.nn.pool_primitive import max_pool2d_forward, max_pool2d_vjp

    view = np.swapaxes(np.swapaxes(x, 0, 1).copy(), 0, 1)
    assert not view.flags.c_contiguous
    p = {"kernel_size": kernel, "stride": stride, "padding": padding}
    yv = max_pool2d_forward(view, **p)
    np.testing.assert_array_equal(yv, yu.data)
    np.testing.assert_array_equal(max_pool2d_vjp(w, yv, view, **p), xf.grad.data)


@pytest.mark.parametrize(("kernel", "stride", "padding"), FUSED_CASES[:4])
def test_fused_max_pool_second_order_through_tensors(
    monkeypatch: pytest.MonkeyPatch, kernel: tuple, stride: tuple, padding: tuple
) -> None:
    # create_graph runs the composed rule on Tensors (unfold / max / fold): gradients of order 2.
    from chainrule.nn import pool_primitive

    seen: list[str] = []
    composed = pool_primitive.max_vjp

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(type(args[0]).__name__)
        return composed(*args, **kwargs)

    monkeypatch.setattr(pool_primitive, "max_vjp", spy)
    x = np.random.default_rng(12).normal(size=(1, 2, 6, 7))
    cr.check_grad(lambda v: nn.max_pool2d(v, kernel, stride, padding) ** 3, x, order=2)
    assert "Tensor" in seen  # the second order went through the Tensor rule


def test_max_pool_explains_as_max_of_windows() -> None:
    from chainrule.autodiff.explain import explain

    x = cr.tensor(
        np.random.default_rng(13).integers(0, 3, size=(2, 2, 6, 6)).astype(float),
        requires_grad=True,
        name="x",
    )
    y = nn.max_pool2d(x, 2)
    w = np.random.default_rng(14).normal(size=y.shape)
    loss = (y * w).sum()
    ex = explain(loss, wrt=[x])
    assert "unfold" in ex.text and "max" in ex.text and "fold" in ex.text
    assert ex.latex.count("\\left(") == ex.latex.count("\\right)")
    value = ex.evaluate()["x"]
    loss.backward()
    np.testing.assert_allclose(value, x.grad.data, rtol=1e-12, atol=1e-15)
