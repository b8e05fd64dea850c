"""Conv2d / conv2d: explicit-loop reference, gradients (second order), explain, errors, the
unfold/fold primitives it is built on, and use inside Sequential."""

import math
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autodiff.windows import fold, unfold


def reference_conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """The textbook sum, one output element at a time."""
    n_, c_, h_, w_ = x.shape
    o_, cg, kh, kw = w.shape
    xp = np.zeros((n_, c_, h_ + 2 * padding[0], w_ + 2 * padding[1]))
    xp[:, :, padding[0] : padding[0] + h_, padding[1] : padding[1] + w_] = x
    oh = (h_ + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w_ + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    per_group = o_ // groups
    y = np.zeros((n_, o_, oh, ow))
    for n in range(n_):
        for o in range(o_):
            g = o // per_group
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0 if b is None else float(b[o])
                    for c in range(cg):
                        for k in range(kh):
                            for l in range(kw):
                                r = i * stride[0] + k * dilation[0]
                                s = j * stride[1] + l * dilation[1]
                                acc += w[o, c, k, l] * xp[n, g * cg + c, r, s]
                    y[n, o, i, j] = acc
    return y


CASES = [
    # (C, O, kernel, stride, padding, dilation, groups, H, W)
    (3, 4, 3, 1, 0, 1, 1, 6, 7),
    (2, 3, (2, 3), (2, 1), (1, 2), 1, 1, 7, 6),
    (4, 6, 3, 2, 1, (2, 1), 2, 9, 8),
    (4, 4, (1, 2), 1, (0, 1), (1, 2), 4, 5, 5),
    (3, 2, 5, 3, 2, 1, 1, 8, 9),
]


def _pairs(v: object) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v  # type: ignore[return-value]


@pytest.mark.parametrize(("c", "o", "k", "s", "p", "d", "g", "h", "w"), CASES)
def test_conv2d_matches_the_explicit_sum(
    c: int, o: int, k: object, s: object, p: object, d: object, g: int, h: int, w: int
) -> None:
    rng = np.random.default_rng(c * 100 + o)
    conv = nn.Conv2d(c, o, k, s, p, d, g, seed=1)
    x = rng.normal(size=(3, c, h, w))
    want = reference_conv2d(x, conv.weight.data, conv.bias.data, _pairs(s), _pairs(p), _pairs(d), g)
    got = conv(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)
    # The functional form, without bias, on a Tensor input; one image (C, H, W) too.
    plain = nn.conv2d(cr.tensor(x), conv.weight.data, None, s, p, d, g)
    np.testing.assert_allclose(
        plain.data, want - conv.bias.data[:, None, None], rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(conv(x[1]).data, want[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("c", "o", "k", "s", "p", "d", "g", "h", "w"), CASES[:4])
def test_conv2d_gradients_to_second_order(
    c: int, o: int, k: object, s: object, p: object, d: object, g: int, h: int, w: int
) -> None:
    rng = np.random.default_rng(7)
    kh, kw = _pairs(k)
    x = rng.normal(size=(2, c, h, w))
    weight = rng.normal(size=(o, c // g, kh, kw))
    bias = rng.normal(size=o)
    cr.check_grad(lambda x, wt, b: nn.conv2d(x, wt, b, s, p, d, g) ** 2, x, weight, bias, order=2)


def test_conv2d_gradients_match_the_reference_by_differences(fd_check: object) -> None:
    rng = np.random.default_rng(3)
    conv = nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=1, seed=0)
    x = cr.tensor(rng.normal(size=(2, 2, 5, 4)), requires_grad=True)

    def loss() -> cr.Tensor:
        return (conv(x) * conv(x)).sum()

    fd_check(loss, [x, conv.weight, conv.bias])  # type: ignore[operator]


def test_conv2d_weight_gradient_explains_as_an_einsum() -> None:
    rng = np.random.default_rng(0)
    conv = nn.Conv2d(2, 3, 2, seed=0)
    x = cr.tensor(rng.normal(size=(2, 2, 4, 4)), requires_grad=True, name="x")
    y = conv(x)
    y.name = "y"
    loss = (y * y).sum()
    expl = cr.explain(loss, wrt=[conv.weight, conv.bias, x])
    weight_rhs = str(expl.equation("weight").expr)
    assert weight_rhs == 'einsum("noij,ncklij->ockl", ∂L/∂y, unfold(x, kernel_size=(2, 2)))'
    x_rhs = str(expl.equation("x").expr)
    assert x_rhs == (
        'fold(einsum("noij,ockl->ncklij", ∂L/∂y, weight), size=(4, 4), kernel_size=(2, 2))'
    )
    assert str(expl.equation("bias").expr) == "sum(∂L/∂y, axis=(0, 2, 3))"
    values = expl.evaluate()
    loss.backward()
    np.testing.assert_allclose(values["weight"], conv.weight.grad.data, rtol=1e-12)
    np.testing.assert_allclose(values["x"], x.grad.data, rtol=1e-12)


def test_conv2d_init_follows_fan_in() -> None:
    conv = nn.Conv2d(4, 64, (3, 5), groups=2, seed=0)
    bound = 1.0 / math.sqrt(2 * 3 * 5)  # in_channels / groups · kh · kw
    assert conv.weight.shape == (64, 2, 3, 5) and conv.bias.shape == (64,)
    assert np.abs(conv.weight.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.9 * bound  # fills the range
    assert np.abs(conv.bias.data).max() <= bound
    same = nn.Conv2d(4, 64, (3, 5), groups=2, seed=0)
    np.testing.assert_array_equal(conv.weight.data, same.weight.data)
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert nn.Conv2d(1, 2, 3, dtype="float32").weight.dtype == np.float32
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]


def test_conv2d_float32_stays_float32() -> None:
    conv = nn.Conv2d(1, 2, 3, dtype="float32", seed=0)
    x = cr.tensor(np.ones((1, 1, 4, 4), dtype=np.float32), requires_grad=True)
    y = conv(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and conv.weight.grad.dtype == np.float32


def test_cnn_in_sequential_trains() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 1, 8, 8))
    labels = (x[:, 0, :4].sum(axis=(1, 2)) > x[:, 0, 4:].sum(axis=(1, 2))).astype(int)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, seed=0),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 2, seed=0),
    )
    assert model(x).shape == (16, 2)
    opt = nn.Adam(model, lr=0.02)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = nn.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        first = first if first is not None else float(loss.item())
    assert float(loss.item()) < 0.5 * first
    state = model.state_dict()
    assert sorted(state) == ["0.bias", "0.weight", "4.bias", "4.weight"]


def test_conv2d_errors_name_the_problem() -> None:
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"input shape \(2, 2, 5, 5\) is not \(N, 3, H, W\)"):
        conv(np.ones((2, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"input shape \(5, 5\)"):
        conv(np.ones((5, 5)))
    with pytest.raises(ValueError, match=r"smaller than the \(dilated\) kernel"):
        conv(np.ones((1, 3, 2, 2)))
    with pytest.raises(ValueError, match="groups=2 must divide in_channels"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match=r"stride must be .* at least 1"):
        nn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match=r"padding must be .* at least 0"):
        nn.Conv2d(3, 4, 3, padding=-1)
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        nn.Conv2d(0, 4, 3)
    with pytest.raises(ValueError, match=r"weight must be 4-d .* got shape \(4, 3\)"):
        nn.conv2d(np.ones((1, 3, 4, 4)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"has 3 channels but weight shape \(4, 2, 1, 1\)"):
        nn.conv2d(np.ones((1, 3, 4, 4)), np.ones((4, 2, 1, 1)))
    with pytest.raises(ValueError, match=r"bias shape \(3,\) is not \(4,\)"):
        nn.conv2d(np.ones((1, 3, 4, 4)), np.ones((4, 3, 1, 1)), np.ones(3))
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        nn.conv2d(np.ones((1, 3, 4, 4)), np.ones((4, 3, 1, 1)), groups=0)


def test_unfold_reads_the_windows_and_fold_is_its_adjoint() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 6, 7))
    ks, st, pd, dl = (2, 3), (2, 1), (1, 2), (2, 1)
    win = np.asarray(unfold(x, ks, st, pd, dl))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))
    oh, ow = win.shape[-2:]
    assert win.shape == (2, 3, 2, 3, oh, ow)
    for k in range(2):
        for l in range(3):
            for i in range(oh):
                for j in range(ow):
                    np.testing.assert_array_equal(
                        win[:, :, k, l, i, j], xp[:, :, i * 2 + k * 2, j * 1 + l * 1]
                    )
    # <unfold(x), g> == <x, fold(g)>
    g = rng.normal(size=win.shape)
    back = np.asarray(fold(g, (6, 7), ks, st, pd, dl))
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(win, g), np.vdot(x, back), rtol=1e-12)
    # Padding fill: -inf for max pooling.
    padded = np.asarray(unfold(np.zeros((1, 2, 2)), 2, 1, 1, fill=-np.inf))
    assert np.isneginf(padded[0, 0, 0, 0, 0]) and padded[0, 1, 1, 0, 0] == 0.0
    cr.check_grad(lambda x: unfold(x, ks, st, pd, dl), x, order=2)
    cr.check_grad(lambda g: fold(g, (6, 7), ks, st, pd, dl), g, order=2)


def test_fold_checks_its_windows() -> None:
    with pytest.raises(ValueError, match=r"windows of shape \(1, 2, 2, 3, 3\) do not end in"):
        fold(np.ones((1, 2, 2, 3, 3)), (5, 5), 2)
    with pytest.raises(ValueError, match="needs at least two axes"):
        unfold(np.ones(3), 2)


def test_conv_and_pool_on_another_array_namespace() -> None:
    xp = pytest.importorskip("array_api_strict")
    data = np.random.default_rng(9).normal(size=(2, 2, 5, 5))
    strict = nn.Conv2d(2, 4, 3, padding=1, groups=2, seed=0).to(xp)
    plain = nn.Conv2d(2, 4, 3, padding=1, groups=2, seed=0)
    xs = cr.tensor(xp.asarray(data), requires_grad=True)
    xn = cr.tensor(data, requires_grad=True)
    ys = nn.max_pool2d(strict(xs), 2)
    yn = nn.max_pool2d(plain(xn), 2)
    assert type(ys.data).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(ys.data), yn.data, rtol=1e-12)
    ys.sum().backward()
    yn.sum().backward()
    np.testing.assert_allclose(np.asarray(xs.grad.data), xn.grad.data, rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(strict.weight.grad.data), plain.weight.grad.data, rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize(("c", "o", "k", "s", "p", "d", "g", "h", "w"), CASES)
def test_numpy_kernels_agree_across_chunk_sizes(
    monkeypatch: pytest.MonkeyPatch,
    c: int,
    o: int,
    k: object,
    s: object,
    p: object,
    d: object,
    g: int,
    h: int,
    w: int,
) -> None:
    """Chunks of one sample and the wide-output fold give what one chunk and the narrow-output
    fold give, and both match the gradients of the rules written with unfold/einsum/fold."""
    from chainrule.nn import conv_primitive

    monkeypatch.setenv("CHAINRULE_NATIVE", "0")  # the NumPy kernels, not the C ones

    rng = np.random.default_rng(11)
    kh, kw = _pairs(k)
    x = rng.normal(size=(3, c, h, w))
    weight = rng.normal(size=(o, c // g, kh, kw))
    bias = rng.normal(size=o)
    gy = rng.normal(size=np.shape(nn.conv2d(x, weight, None, s, p, d, g)))

    def grads() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xt, wt, bt = (cr.tensor(a, requires_grad=True) for a in (x, weight, bias))
        (nn.conv2d(xt, wt, bt, s, p, d, g) * gy).sum().backward()
        return xt.grad.data, wt.grad.data, bt.grad.data

    default = grads()
    monkeypatch.setattr(conv_primitive, "CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_primitive, "NARROW_OUTPUT", 0)  # the wide-output fold
    sliced = grads()
    for got, ref in zip(sliced, default, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    # The rules written with unfold/einsum/fold (used for Tensors, i.e. second order, and for other
    # array namespaces) give the same gradients.
    params = {"stride": _pairs(s), "padding": _pairs(p), "dilation": _pairs(d), "groups": g}
    composed_x = conv_primitive._composed_grad_x(gy, x, weight, params)
    composed_w = conv_primitive._composed_grad_w(gy, x, weight, params)
    np.testing.assert_allclose(composed_x, default[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(composed_w, default[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(default[2], gy.sum(axis=(0, 2, 3)), rtol=1e-12)
    cr.check_grad(lambda x_: nn.conv2d(x_, weight, bias, s, p, d, g) ** 2, x)


def test_serial_matmul_blocks_equal_one_product(monkeypatch: pytest.MonkeyPatch) -> None:
    """Products split into column blocks (small enough for BLAS's calling thread) give one
    product's entries up to rounding, and the conv gradients through them match the unsplit ones."""
    from chainrule.nn import conv_primitive

    monkeypatch.setenv("CHAINRULE_NATIVE", "0")  # the NumPy kernels, not the C ones

    rng = np.random.default_rng(12)
    for dtype in (np.float64, np.float32):
        a = rng.normal(size=(2, 9, 7)).astype(dtype)
        b = rng.normal(size=(3, 2, 7, 50)).astype(dtype)
        want = np.matmul(a, b)
        for limit in (1, 63, 9 * 7 * 16, 9 * 7 * 49, 1 << 18):
            monkeypatch.setattr(conv_primitive, "SERIAL_MNK", limit)
            got = conv_primitive._matmul_serial(a, b, np.empty(want.shape, dtype))
            assert got.dtype == dtype
            # The same dot products; BLAS's edge kernels may round the last bit differently.
            tol = 1e-5 if dtype == np.float32 else 1e-14
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    x = rng.normal(size=(4, 3, 6, 6))
    weight = rng.normal(size=(5, 3, 3, 3))
    gy = rng.normal(size=(4, 5, 6, 6))

    def grads() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xt, wt = (cr.tensor(v, requires_grad=True) for v in (x, weight))
        y = nn.conv2d(xt, wt, None, 1, 1)
        (y * gy).sum().backward()
        return y.data, xt.grad.data, wt.grad.data

    monkeypatch.setattr(conv_primitive, "SERIAL_MNK", 1 << 18)
    whole = grads()
    for narrow in (16, 0):
        monkeypatch.setattr(conv_primitive, "NARROW_OUTPUT", narrow)
        monkeypatch.setattr(conv_primitive, "SERIAL_MNK", 5 * 27 * 16)
        for got, ref in zip(grads(), whole, strict=True):
            np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("narrow", "native"), [(16, "0"), (0, "0"), (16, "1")])
def test_batch_halves_on_two_threads_equal_one_thread(
    monkeypatch: pytest.MonkeyPatch, narrow: int, native: str
) -> None:
    """With the batch split between the caller and the helper thread (forced for a small batch,
    with chunks of one sample so each half loops), the output and the three gradients equal the
    single-thread ones, for the NumPy kernels and the C ones; the bias gradient equals the plain
    sum over (0, 2, 3)."""
    from chainrule.einsum import parallel
    from chainrule.nn import conv_primitive

    monkeypatch.setenv("CHAINRULE_NATIVE", native)

    rng = np.random.default_rng(13)
    x = rng.normal(size=(5, 4, 7, 9))
    weight = rng.normal(size=(6, 2, 3, 2))
    bias = rng.normal(size=6)
    gy = rng.normal(size=(5, 6, 4, 10))

    def run() -> tuple[np.ndarray, ...]:
        xt, wt, bt = (cr.tensor(v, requires_grad=True) for v in (x, weight, bias))
        y = nn.conv2d(xt, wt, bt, (2, 1), 1, 1, 2)
        (y * gy).sum().backward()
        return y.data, xt.grad.data, wt.grad.data, bt.grad.data

    monkeypatch.setattr(conv_primitive, "NARROW_OUTPUT", narrow)
    one = run()
    calls: list[int] = []
    submit = parallel._Helper.executor().submit

    def counting_submit(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return submit(fn, *args, **kwargs)

    monkeypatch.setattr(conv_primitive, "SPLIT_MIN_FLOPS", 0)
    monkeypatch.setattr(parallel, "_cpu_count", lambda: 2)
    monkeypatch.setattr(parallel._Helper.executor(), "submit", counting_submit)
    monkeypatch.setattr(conv_primitive, "CHUNK_BYTES", 1)
    two = run()
    assert len(calls) == 3  # forward, input and weight gradients each split once
    for got, ref in zip(two, one, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(one[3], gy.sum(axis=(0, 2, 3)), rtol=1e-13)
