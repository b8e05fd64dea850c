"""The C kernels (chainrule.nn._kernels, through chainrule.nn.native) against the NumPy kernels
and the textbook sums: conv2d and max_pool2d in every geometry, both float dtypes, strided and
broadcast output gradients, NaN and ties, the two halves of a batch, the switch that turns them
off, and what they leave to NumPy."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.nn import conv_primitive, native

from .test_conv import reference_conv2d


def test_the_extension_is_built_in_ci() -> None:
    """`make test` builds the extension (gcc is on every machine); outside CI a checkout without a
    compiler runs the NumPy kernels, and says so here."""
    if not native.available() and not os.environ.get("CI"):
        pytest.skip("chainrule.nn._kernels is not built here: conv2d runs its NumPy kernels")
    assert native.available()
    assert native._EXT is not None


needs_ext = pytest.mark.skipif(
    native._EXT is None and not os.environ.get("CI"),
    reason="chainrule.nn._kernels is not built here",
)


def _run_all(
    monkeypatch: pytest.MonkeyPatch,
    switch: str,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    gy: np.ndarray,
    p: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    monkeypatch.setenv(native.ENV, switch)
    y = conv_primitive.conv2d_forward(x, w, b, **p)
    gx = conv_primitive.conv2d_vjp_x(gy, y, x, w, b, **p)
    gw = conv_primitive.conv2d_vjp_w(gy, y, x, w, b, **p)
    return y, gx, gw


@needs_ext
@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 4),
    cg=st.integers(1, 3),
    og=st.integers(1, 3),
    groups=st.integers(1, 3),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    ph=st.integers(0, 3),
    pw=st.integers(0, 3),
    dh=st.integers(1, 3),
    dw=st.integers(1, 3),
    h=st.integers(1, 9),
    wd=st.integers(1, 9),
    float32=st.booleans(),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_c_kernels_equal_the_numpy_kernels(
    n: int,
    cg: int,
    og: int,
    groups: int,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    ph: int,
    pw: int,
    dh: int,
    dw: int,
    h: int,
    wd: int,
    float32: bool,
    bias: bool,
    seed: int,
) -> None:
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        return
    dtype = np.float32 if float32 else np.float64
    rng = np.random.default_rng(seed)
    c, o = cg * groups, og * groups
    x = rng.normal(size=(n, c, h, wd)).astype(dtype)
    w = rng.normal(size=(o, cg, kh, kw)).astype(dtype)
    b = rng.normal(size=o).astype(dtype) if bias else None
    gy = rng.normal(size=(n, o, oh, ow)).astype(dtype)
    p = {"stride": (sh, sw), "padding": (ph, pw), "dilation": (dh, dw), "groups": groups}
    with pytest.MonkeyPatch.context() as mp:
        ref = _run_all(mp, "0", x, w, b, gy, p)
        got = _run_all(mp, "1", x, w, b, gy, p)
    tol = 2e-5 if float32 else 1e-12
    for a, r in zip(got, ref, strict=True):
        assert a.dtype == dtype and a.shape == r.shape
        np.testing.assert_allclose(a, r, rtol=tol, atol=tol)
    want = reference_conv2d(
        x.astype(np.float64), w.astype(np.float64), b, (sh, sw), (ph, pw), (dh, dw), groups
    )
    np.testing.assert_allclose(got[0], want, rtol=tol, atol=tol)


@needs_ext
def test_strided_and_broadcast_output_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    """The output gradient is read with its strides: a transposed view, a broadcast (the gradient
    of ``y.sum()``) and a negative-stride slice give the contiguous copy's gradients."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4, 8, 7))
    w = rng.normal(size=(6, 2, 3, 3))
    p = {"stride": (1, 1), "padding": (1, 0), "dilation": (1, 1), "groups": 2}
    monkeypatch.setenv(native.ENV, "1")
    y = conv_primitive.conv2d_forward(x, w, None, **p)
    views = [
        np.broadcast_to(np.float64(1.5), y.shape),
        np.broadcast_to(rng.normal(size=(1, 6, 1, y.shape[3])), y.shape),
        rng.normal(size=y.shape[::-1]).transpose(3, 2, 1, 0),
        rng.normal(size=(y.shape[0], y.shape[1], y.shape[2], 2 * y.shape[3]))[..., ::-2],
    ]
    for gy in views:
        dense = np.ascontiguousarray(gy)
        for vjp in (conv_primitive.conv2d_vjp_x, conv_primitive.conv2d_vjp_w):
            got = vjp(gy, y, x, w, None, **p)
            want = vjp(dense, y, x, w, None, **p)
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(
            conv_primitive.conv2d_vjp_b(gy, y, x, w, None, **p),
            dense.sum(axis=(0, 2, 3)),
            rtol=1e-13,
        )


@needs_ext
def test_module_training_step_is_the_same_with_and_without_c(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Conv2d layer's forward and backward through Tensors (non-contiguous input, a batch large
    enough to run in two halves) give the NumPy kernels' numbers."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 10, 3, 12)).transpose(0, 2, 1, 3)  # (16, 3, 10, 12), not contiguous
    conv = nn.Conv2d(3, 8, 3, padding=1, seed=0)
    results = []
    for switch in ("0", "1"):
        monkeypatch.setenv(native.ENV, switch)
        monkeypatch.setattr(conv_primitive, "SPLIT_MIN_FLOPS", 0)
        xt = cr.tensor(x, requires_grad=True)
        conv.zero_grad()
        y = conv(xt)
        (y**2).sum().backward()
        results.append((y.data, xt.grad.data, conv.weight.grad.data, conv.bias.grad.data))
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_switch_and_what_stays_with_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CHAINRULE_NATIVE=0`` turns the C kernels off; dtypes other than float32/float64, mixed
    dtypes and array subclasses are never sent to them (and still compute)."""
    f64 = np.ones((1, 1, 3, 3))
    monkeypatch.setenv(native.ENV, "0")
    assert not native.available()
    assert not native.applies(f64, f64)
    monkeypatch.setenv(native.ENV, "1")
    assert native.available() == (native._EXT is not None)
    for a, b in [
        (f64.astype(np.float16), f64.astype(np.float16)),
        (f64.astype(np.int64), f64.astype(np.int64)),
        (f64.astype(np.complex128), f64.astype(np.complex128)),
        (f64, f64.astype(np.float32)),
        (np.ma.masked_array(f64), f64),
    ]:
        assert not native.applies(a, b)
    x = np.arange(2 * 2 * 4 * 4, dtype=np.int64).reshape(2, 2, 4, 4)
    w = np.ones((3, 2, 2, 2), dtype=np.int64)
    y = nn.conv2d(x, w)
    np.testing.assert_array_equal(
        np.asarray(y.data if isinstance(y, cr.Tensor) else y),
        reference_conv2d(x, w, None, (1, 1), (0, 0), (1, 1), 1),
    )


def test_sizes_beyond_blas_integers_fall_back() -> None:
    """A product dimension over 2**31 - 1 is not handed to 32-bit BLAS, and a sample's windows over
    MAX_WINDOW_BYTES are not gathered: the kernels say None and the NumPy path runs."""
    for name, limit in (("_INT_MAX", 10), ("MAX_WINDOW_BYTES", 8 * 18 * 9 - 1)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(native, name, limit)
            _falls_back()


def _falls_back() -> None:
    p = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
    x = np.ones((1, 2, 5, 5))
    w = np.ones((1, 2, 3, 3))
    assert native.forward(x, w, None, (3, 3), p, 0) is None
    assert native.grad_x(np.ones((1, 1, 3, 3)), x, w, (3, 3), p, 0) is None
    assert native.grad_w(np.ones((1, 1, 3, 3)), x, w, (3, 3), p, 0) is None
    np.testing.assert_allclose(
        conv_primitive.conv2d_forward(x, w, None, **p), np.full((1, 1, 3, 3), 18.0)
    )


def _pool_both(
    x: np.ndarray, g_seed: int, p: dict[str, Any]
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    from chainrule.nn import pool_primitive

    results = []
    for switch in ("0", "1"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(native.ENV, switch)
            y = pool_primitive.max_pool2d_forward(x, **p)
            g = np.random.default_rng(g_seed).normal(size=y.shape).astype(x.dtype)
            results.append((y, pool_primitive.max_pool2d_vjp(g, y, x, **p)))
    return results[0], results[1]


@needs_ext
@settings(max_examples=80, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=3),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 4),
    sw=st.integers(1, 4),
    pad=st.integers(0, 2),
    h=st.integers(1, 9),
    wd=st.integers(1, 9),
    float32=st.booleans(),
    levels=st.integers(2, 6),
    specials=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_c_pooling_equals_the_numpy_kernels(
    lead: list[int],
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    pad: int,
    h: int,
    wd: int,
    float32: bool,
    levels: int,
    specials: bool,
    seed: int,
) -> None:
    """Few distinct values (many tied maxima), NaN and ±inf entries, padding, overlapping and
    gapped windows, any leading axes: the C passes give the NumPy kernels' outputs and gradients,
    NaN for NaN."""
    ph, pw = min(pad, kh // 2), min(pad, kw // 2)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    if oh < 1 or ow < 1:
        return
    rng = np.random.default_rng(seed)
    dtype = np.float32 if float32 else np.float64
    x = rng.integers(0, levels, size=(*lead, h, wd)).astype(dtype)
    if specials:
        flat = x.reshape(-1)
        for value in (np.nan, np.inf, -np.inf):
            flat[rng.integers(0, flat.size)] = value
    p = {"kernel_size": (kh, kw), "stride": (sh, sw), "padding": (ph, pw)}
    with np.errstate(divide="ignore", invalid="ignore"):
        (y0, dx0), (y1, dx1) = _pool_both(x, seed, p)
    assert y1.dtype == dtype and dx1.dtype == dtype
    np.testing.assert_array_equal(y1, y0)
    # Overlapping windows add their shares in another order: equal up to rounding.
    np.testing.assert_allclose(dx1, dx0, rtol=1e-5 if float32 else 1e-12, atol=1e-12)


@needs_ext
def test_c_pooling_through_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """MaxPool2d on a relu output (ties at zero) inside a graph: the same gradients either way."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(4, 3, 9, 8))
    results = []
    for switch in ("0", "1"):
        monkeypatch.setenv(native.ENV, switch)
        xt = cr.tensor(x, requires_grad=True)
        y = nn.MaxPool2d(3, stride=2, padding=1)(cr.relu(xt))
        (y * y).sum().backward()
        results.append((y.data, xt.grad.data))
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


@needs_ext
@pytest.mark.parametrize("stride", [(2, 2), (1, 1), (3, 2), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_c_pooling_2x2_fast_path(stride: tuple[int, int], dtype: Any) -> None:
    """The unrolled 2×2 loops (no padding): ties, NaN, ±inf and odd sizes against NumPy."""
    rng = np.random.default_rng(21)
    x = rng.integers(0, 3, size=(3, 4, 9, 7)).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    x[1, 2, 3, 3] = np.inf
    x[2, 1, 4:6, 2:4] = -np.inf
    p = {"kernel_size": (2, 2), "stride": stride, "padding": (0, 0)}
    with np.errstate(divide="ignore", invalid="ignore"):
        (y0, dx0), (y1, dx1) = _pool_both(x, 4, p)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_allclose(dx1, dx0, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-12)
    assert np.isnan(y1[0, 0, 0, 0]) and np.isnan(dx1[0, 0, 0, 0])


@needs_ext
def test_mismatched_gradients_are_refused_not_read_past() -> None:
    """A gradient of the wrong shape handed to the rules directly is a ValueError naming the
    shapes (the C code would read past its end), in Python and again in the extension itself."""
    from chainrule.nn import pool_primitive

    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 6, 5))
    w = rng.normal(size=(3, 4, 3, 3))
    p = {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 1), "groups": 1}
    y = conv_primitive.conv2d_forward(x, w, None, **p)
    for bad in (y[:1], y[:, :2], y[..., :-1], np.ones(y.shape[1:])):
        for vjp in (conv_primitive.conv2d_vjp_x, conv_primitive.conv2d_vjp_w):
            with pytest.raises(ValueError, match="output gradient shape"):
                vjp(bad, y, x, w, None, **p)
    pp = {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)}
    py = pool_primitive.max_pool2d_forward(x, **pp)
    with pytest.raises(ValueError, match="gradient shape"):
        pool_primitive.max_pool2d_vjp(py[:1], py, x, **pp)
    ext = native._EXT
    geom = (2, 4, 6, 5, 3, 1, 3, 3, 2, 1, 1, 0, 1, 1, *y.shape[2:], 0, 2)
    with pytest.raises(ValueError, match="output gradient"):
        ext.kernel(1, True, geom, np.ascontiguousarray(y[:1]), w, None, np.empty_like(x))
    with pytest.raises(ValueError, match="fewer than its geometry needs"):
        ext.kernel(0, True, geom, x[:1].copy(), w, None, np.empty_like(y))
    with pytest.raises(ValueError, match="inconsistent"):
        ext.kernel(0, True, (*geom[:-1], 3), x, w, None, np.empty_like(y))
    with pytest.raises(ValueError, match="inconsistent max_pool2d"):
        ext.pool(False, True, (8, 6, 5, 2, 2, 2, 2, 0, 0, 4, 2), x, x, None, np.empty(64))


@needs_ext
def test_no_input_channels_and_misaligned_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Zero input channels give the bias (no product reaches BLAS with a zero leading dimension);
    a misaligned float64 view is not handed to C and still computes."""
    monkeypatch.setenv(native.ENV, "1")
    p = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
    x = np.ones((2, 0, 4, 4))
    w = np.ones((3, 0, 3, 3))
    b = np.array([1.0, 2.0, 3.0])
    y = conv_primitive.conv2d_forward(x, w, b, **p)
    np.testing.assert_array_equal(y, np.broadcast_to(b.reshape(1, 3, 1, 1), (2, 3, 2, 2)))
    raw = np.zeros(8 * 2 * 1 * 4 * 4 + 1, dtype=np.uint8)[1:]
    xm = raw.view(np.float64).reshape(2, 1, 4, 4)
    xm[...] = np.arange(32.0).reshape(2, 1, 4, 4)
    assert not xm.flags.aligned
    wm = np.ones((1, 1, 2, 2))
    assert not native.applies(xm, wm)
    got = conv_primitive.conv2d_forward(xm, wm, None, **p)
    np.testing.assert_array_equal(got, reference_conv2d(xm, wm, None, (1, 1), (0, 0), (1, 1), 1))


def _adam_run(
    switch: str, dtype: Any, optimizer: Any, kwargs: dict[str, Any], calls: list[int]
) -> list[np.ndarray]:
    rng = np.random.default_rng(8)
    shapes = [(300, 200), (50,), (7, 3), (40_000,), (2, 3, 4)]
    params = [cr.tensor(rng.normal(size=s).astype(dtype), requires_grad=True) for s in shapes]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(native.ENV, switch)
        if native._EXT is not None:
            real = native._EXT

            class Counting:
                def __getattr__(self, name: str) -> Any:
                    return getattr(real, name)

                def adam(self, *args: Any) -> Any:
                    calls.append(1)
                    return real.adam(*args)

            mp.setattr(native, "_EXT", Counting())
        opt = optimizer(params, lr=1e-2, **kwargs)
        for _ in range(30):
            for p in params:
                p.grad = cr.tensor(rng.normal(size=p.shape).astype(dtype))
            opt.step()
    state = [opt.state[i][k] for i in range(len(params)) for k in ("exp_avg", "exp_avg_sq")]
    return [p.data.copy() for p in params] + [np.array(s, copy=True) for s in state]


@needs_ext
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("optimizer", "kwargs"),
    [
        (nn.Adam, {}),
        (nn.Adam, {"weight_decay": 0.1}),
        (nn.AdamW, {"weight_decay": 0.05}),
        (nn.Adam, {"betas": (0.5, 0.9), "eps": 1e-3}),
    ],
)
def test_c_adam_is_the_numpy_update_bit_for_bit(
    dtype: Any, optimizer: Any, kwargs: dict[str, Any]
) -> None:
    """30 steps of Adam/AdamW (L2 and decoupled decay, grouped small and blocked large
    parameters) in C give exactly the NumPy passes' parameters and moments."""
    calls: list[int] = []
    want = _adam_run("0", dtype, optimizer, kwargs, [])
    got = _adam_run("1", dtype, optimizer, kwargs, calls)
    assert len(calls) >= 30 * 2  # the large parameters and the group, every step
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


@needs_ext
def test_c_adam_declines_overlapping_and_read_only_arrays() -> None:
    """Arrays that overlap, are read-only, differ in length or dtype are left to NumPy (False)."""
    d, g, m, v = (np.ones(10) for _ in range(4))
    args = (False, 1.0, 0.0, 0.9, 0.999, 1.0, 1e-8, 1e-3)
    assert not native.adam(d, d, m, v, *args)
    ro = np.ones(10)
    ro.flags.writeable = False
    assert not native.adam(ro, g, m, v, *args)
    assert not native.adam(d, g, m, np.ones(9), *args)
    assert not native.adam(d, g.astype(np.float32), m, v, *args)
    assert native.adam(d, g, m, v, *args)
    assert np.all(d < 1.0)  # the step moved the parameter against the gradient
