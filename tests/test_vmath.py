"""chainrule.vmath: the C exp and tanh for float64 (chainrule._vmath), against 120-bit references
(mpmath), NumPy's special values and warnings, every layout, and the choice of which exp and tanh the
autodiff primitives compute with."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import vmath


def test_the_extension_is_built_in_ci() -> None:
    """`make test` builds it (gcc is on every machine); without a compiler NumPy's functions run."""
    if not vmath.available() and not os.environ.get("CI"):
        pytest.skip("chainrule._vmath is not built here")
    assert vmath.available()


needs_ext = pytest.mark.skipif(
    not vmath.available() and not os.environ.get("CI"), reason="chainrule._vmath is not built here"
)

REFERENCE = {"exp": mpmath.exp, "tanh": mpmath.tanh}
OURS = {"exp": vmath.exp, "tanh": vmath.tanh}
NUMPY = {"exp": np.exp, "tanh": np.tanh}


def _ulp_errors(name: str, x: np.ndarray, got: np.ndarray) -> np.ndarray:
    """|got - f(x)| in units of the last place of the exact f(x) (120-bit), for finite nonzero f(x)."""
    errors = []
    with mpmath.workprec(120):
        for xi, gi in zip(x.tolist(), got.tolist(), strict=True):
            exact = REFERENCE[name](mpmath.mpf(xi))
            r = float(exact)
            if r == 0.0 or not np.isfinite(r):
                errors.append(0.0 if gi == r else np.inf)
                continue
            errors.append(float(abs(mpmath.mpf(gi) - exact)) / float(np.spacing(abs(r))))
    return np.array(errors)


def _samples(name: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    if name == "exp":
        parts = [
            rng.uniform(-745.1, 709.7, 1500),
            rng.uniform(-2, 2, 1500),
            rng.uniform(-745.1, -700, 300),  # subnormal results
            rng.uniform(700, 709.78, 300),
        ]
    else:
        parts = [
            rng.uniform(-1, 1, 1500),
            rng.uniform(0.6, 0.65, 500),  # where the series hands over to the exp form
            rng.uniform(-20, 20, 1000),
            10.0 ** rng.uniform(-30, 0, 500),
        ]
    return np.concatenate(parts)


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_within_one_and_a_half_ulp_of_the_exact_value(name: str) -> None:
    x = _samples(name)
    errors = _ulp_errors(name, x, OURS[name](x))
    assert errors.max() <= 1.5, (name, x[errors.argmax()], errors.max())
    assert errors.mean() <= 0.4


SPECIAL = [
    0.0,
    -0.0,
    np.inf,
    -np.inf,
    np.nan,
    5e-324,
    -5e-324,
    1e-310,
    -1e-310,
    2.2250738585072014e-308,
    0.625,
    -0.625,
    19.0,
    19.1,
    -25.0,
    709.78,
    709.79,
    -708.4,
    -745.13,
    -745.14,
    -746.0,
    1e300,
    -1e300,
]


def _within_an_ulp(got: np.ndarray, want: np.ndarray) -> None:
    """NaN where NumPy has NaN; the same infinities and signs (tanh(-0.0) is -0.0); elsewhere within an
    ulp of NumPy's value (both are within about an ulp of the exact one)."""
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    got, want = got[ok], want[ok]
    assert np.array_equal(np.signbit(got), np.signbit(want))
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf])
    assert np.all(np.abs(got[~inf] - want[~inf]) <= np.spacing(np.abs(want[~inf])))


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_special_values_are_numpys(name: str) -> None:
    x = np.array(SPECIAL)
    with np.errstate(all="ignore"):
        got, want = OURS[name](x), NUMPY[name](x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    _within_an_ulp(got, want)


@needs_ext
def test_numpys_warnings_and_errstate_hold() -> None:
    x = np.array([1.0, 800.0, -800.0])
    with pytest.warns(RuntimeWarning, match="overflow"):
        y = vmath.exp(x)
    assert y[1] == np.inf and y[2] == 0.0 and abs(y[0] - np.e) <= np.spacing(np.e)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        vmath.exp(x)
    with np.errstate(under="raise"), pytest.raises(FloatingPointError):
        vmath.exp(np.array([0.0, -800.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: no warning
        vmath.exp(np.linspace(-700, 700, 1001))
        vmath.tanh(np.array([np.inf, -np.inf, np.nan, 30.0]))


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_every_layout_and_the_scalars_give_the_same_bits(name: str) -> None:
    f = OURS[name]
    x = np.random.default_rng(3).uniform(-3, 3, (37, 41))
    whole = f(x)
    assert whole.shape == x.shape and whole.dtype == np.float64 and whole.flags.c_contiguous
    # A strided view, a transposed one, one element at a time (the loop's scalar remainder, a 0-d array,
    # an np.float64): the same bits as the whole, so arrays and scalars agree.
    assert np.array_equal(f(x[::2, 1::3]), whole[::2, 1::3])
    assert np.array_equal(f(x.T), whole.T)
    flat = x.ravel()
    for i in range(0, flat.size, 97):
        assert f(flat[i : i + 1])[0] == whole.ravel()[i]
        s = f(flat[i])
        assert type(s) is np.float64 and s == whole.ravel()[i]
        z = f(np.asarray(flat[i]))
        assert type(z) is np.float64 and z == whole.ravel()[i]
    assert (
        x.tolist() == np.random.default_rng(3).uniform(-3, 3, (37, 41)).tolist()
    )  # input untouched


@needs_ext
@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40))
def test_any_float64_agrees_with_numpy_within_an_ulp(values: list[float]) -> None:
    x = np.array(values)
    for name in ("exp", "tanh"):
        with np.errstate(all="ignore"):
            got, want = OURS[name](x), NUMPY[name](x)
        _within_an_ulp(got, want)


def test_other_inputs_go_to_numpy() -> None:
    for x in (np.arange(4, dtype=np.float32), [0.5, 1.0], 0.5, np.arange(3), np.float32(0.5)):
        for name in ("exp", "tanh"):
            got = OURS[name](x)
            want = NUMPY[name](x)
            assert type(got) is type(want)
            assert np.array_equal(got, want) and np.asarray(got).dtype == np.asarray(want).dtype


@needs_ext
def test_the_c_functions_refuse_what_they_cannot_take() -> None:
    ext = vmath._EXT
    assert ext is not None
    x = np.ones(4)
    with pytest.raises(TypeError, match="float64"):
        ext.exp(x.astype(np.float32), np.empty(4, np.float32))
    with pytest.raises(ValueError, match="bytes"):
        ext.tanh(x, np.empty(3))
    with pytest.raises(ValueError, match="overlaps"):
        buf = np.ones(8)
        ext.exp(buf[:4], buf[2:6])
    with pytest.raises(ValueError, match="contiguous"):
        ext.exp(np.ones(8)[::2], np.empty(4))
    read_only = np.empty(4)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        ext.exp(x, read_only)
    assert ext.tanh(x, x) == 0 and np.all(x == np.tanh(1.0))  # in place is allowed


def test_the_primitives_use_numpy_where_it_is_vectorized() -> None:
    expected_c = vmath.available() and not vmath.numpy_vectorizes() and vmath.kernels_vectorized()
    assert (vmath.EXP is vmath.exp) == expected_c
    assert (vmath.TANH is vmath.tanh) == expected_c
    assert (vmath.EXP is np.exp) != expected_c
    t = cr.tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = cr.sum(cr.tanh(t) + cr.exp(t))
    y.backward()
    assert t.grad is not None
    want = 1 - np.tanh(t.data) ** 2 + np.exp(t.data)
    assert np.allclose(t.grad.data, want, rtol=1e-15, atol=0)


def _numpy_dispatch() -> list[str]:
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            return list(importlib.import_module(name).__cpu_dispatch__)
        except ImportError:
            continue
    raise AssertionError("NumPy without its dispatch table")


def test_without_avx512_numpy_the_c_functions_are_chosen() -> None:
    """NumPy told to leave out its AVX-512 kernels (as on a CPU without them): the primitives switch."""
    code = (
        "from chainrule import vmath; import numpy as np; import chainrule as cr;"
        "print(vmath.numpy_vectorizes(), vmath.TANH is vmath.tanh, vmath.EXP is vmath.exp,"
        " float(cr.tanh(cr.tensor(np.full(300, 0.3))).data[7]) == float(vmath.tanh(np.float64(0.3))))"
    )
    names = [t for t in vmath._NUMPY_TARGETS if t in _numpy_dispatch()]
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(names)}
    env.pop("CHAINRULE_NATIVE", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    ours = vmath.available() and vmath.kernels_vectorized()
    want = "False True True True" if ours else "False False False True"
    assert out.stdout.split() == want.split(), out.stderr
    env["CHAINRULE_NATIVE"] = "0"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[:3] == ["False", "False", "False"]
