"""chainrule.vmath / chainrule._vmath at their edges (from a hostile review): accuracy at every
power-of-two step of exp's reduction, at the overflow and underflow thresholds and at tanh's hand-over
from the series to the exp form; the same bits in every position of the loop (vector body, scalar
remainder, the one-element entry points, strided views, many threads); NumPy's warnings and errstate
for every special value in every form; no floating-point flags or rounding-mode changes left behind;
what the C functions take and refuse (sizes, overlap, alignment, read-only, foreign buffers)."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import struct
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest
from tests.test_vmath import NUMPY, OURS, needs_ext
from tests.test_vmath import REFERENCE as EXACT
from tests.test_vmath import SPECIAL as BASE_SPECIAL

import chainrule as cr
from chainrule import vmath

OVERFLOW = 709.782712893384  # the largest x with a finite exp(x)
DBL_MIN_LOG = -708.3964185322641  # exp below this is subnormal
ZERO_LOG = -745.1332191019411  # exp below this rounds to 0 (2^-1075 and less)
HAND_OVER = 0.625  # tanh: series below, 1 - 2 / (e^2a + 1) from here on
TANH_ONE = 19.061547465398498  # tanh rounds to 1 from about here


def _ext() -> Any:
    ext = vmath._EXT
    assert ext is not None
    return ext


def _neighbours(x0: float, n: int) -> np.ndarray:
    """x0 and the n doubles on either side of it, ascending."""
    below = [x0]
    above = [x0]
    for _ in range(n):
        below.append(float(np.nextafter(below[-1], -np.inf)))
        above.append(float(np.nextafter(above[-1], np.inf)))
    return np.array(below[:0:-1] + above)


def _ulps(name: str, x: np.ndarray, got: np.ndarray) -> np.ndarray:
    """|got - f(x)| in units of the last place of the exact f(x) (120 bits; the ulp of a subnormal is
    2^-1074); inf where got is not finite but f(x) rounds to a finite value, and the reverse."""
    out = np.empty(x.size)
    with mpmath.workprec(120):
        for i, (xi, gi) in enumerate(zip(x.tolist(), got.tolist(), strict=True)):
            exact = EXACT[name](mpmath.mpf(xi))
            r = float(exact)
            if not np.isfinite(r) or not np.isfinite(gi):
                out[i] = 0.0 if gi == r else np.inf
                continue
            _, e = mpmath.frexp(exact) if exact != 0 else (0, -2000)
            ulp = mpmath.ldexp(1, max(int(e) - 53, -1074))
            out[i] = float(abs(mpmath.mpf(gi) - exact) / ulp)
    return out


def _bits(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).view(np.int64)


# --- accuracy ----------------------------------------------------------------------------------------


@needs_ext
def test_exp_at_every_power_of_two_step_of_the_reduction() -> None:
    """x = k ln2 (the result a power of two) and x = (k + 1/2) ln2 (where k steps: |r| is largest),
    with their neighbours, for every k from the zero threshold to the overflow one."""
    ln2 = mpmath.log(2)
    with mpmath.workprec(120):
        centres = [float(k * ln2) for k in range(-1075, 1025)]
        centres += [float((k + mpmath.mpf(0.5)) * ln2) for k in range(-1076, 1025)]
    c = np.array(centres)
    x = np.concatenate([c, np.nextafter(c, np.inf), np.nextafter(c, -np.inf)])
    x = x[(x > -745.3) & (x < 709.9)]
    errors = _ulps("exp", x, _ext_call("exp", x))
    assert errors.max() <= 1.0, (x[errors.argmax()], errors.max())


def _ext_call(name: str, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    getattr(_ext(), name)(np.ascontiguousarray(x), out)
    return out


@needs_ext
def test_exp_at_its_thresholds_is_inf_zero_or_within_an_ulp() -> None:
    """Around the overflow threshold: finite up to it, inf past it; around the underflow ones: the
    subnormal results (rounded once) and 0 from 2^-1075 down; in between within an ulp."""
    rng = np.random.default_rng(21)
    x = np.concatenate(
        [
            _neighbours(OVERFLOW, 300),
            _neighbours(DBL_MIN_LOG, 300),
            _neighbours(ZERO_LOG, 300),
            rng.uniform(700.0, OVERFLOW, 1000),
            rng.uniform(-745.2, DBL_MIN_LOG, 2000),  # subnormal results
            [-745.2, -745.3, -746.0, -1e4, 709.79, 709.8, 710.0, 1e4],
        ]
    )
    got = _ext_call("exp", x)
    assert np.array_equal(np.isinf(got), x > OVERFLOW)
    assert np.array_equal(got == 0.0, x < ZERO_LOG)  # exp(ZERO_LOG) is just above 2^-1075
    errors = _ulps("exp", x, got)
    assert errors.max() <= 1.0, (x[errors.argmax()], errors.max())


@needs_ext
def test_tanh_where_the_series_hands_over_and_where_it_reaches_one() -> None:
    rng = np.random.default_rng(22)
    x = np.concatenate(
        [
            _neighbours(HAND_OVER, 500),
            [0.6295147431773125],  # the worst found in 3e6 samples of [0.625, 0.75]: 1.34 ulp
            rng.uniform(0.6, 0.7, 3000),
            rng.uniform(0.7, 20.0, 1000),
            _neighbours(TANH_ONE, 200),
            rng.uniform(18.5, 19.5, 500),
            10.0 ** rng.uniform(-300, -5, 500),
            10.0 ** rng.uniform(1.3, 300, 200),
        ]
    )
    x = np.concatenate([x, -x])
    got = _ext_call("tanh", x)
    errors = _ulps("tanh", x, got)
    assert errors.max() <= 1.5, (x[errors.argmax()], errors.max())
    # odd, monotone across the hand-over and at 1 from where the exact value rounds to 1
    assert np.array_equal(_bits(got[: x.size // 2]), _bits(-got[x.size // 2 :]))
    near = _neighbours(HAND_OVER, 2000)
    assert np.all(np.diff(_ext_call("tanh", near)) >= 0)
    tail = _neighbours(TANH_ONE, 200)
    with mpmath.workprec(120):
        want_one = np.array([float(mpmath.tanh(mpmath.mpf(v))) == 1.0 for v in tail.tolist()])
    assert np.array_equal(_ext_call("tanh", tail) == 1.0, want_one)


# --- the same bits wherever an element is computed ---------------------------------------------------


def _mixed(name: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if name == "exp":
        parts = [rng.uniform(-746, 710, n), rng.uniform(-2, 2, n), rng.uniform(-745.2, -708, n)]
    else:
        tiny = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-310, -1, n)
        parts = [rng.uniform(-21, 21, n), rng.uniform(-0.7, 0.7, n), tiny]
    x = np.concatenate(parts)
    rng.shuffle(x)
    return x


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_every_tail_position_and_offset_gives_the_bits_of_the_long_array(name: str) -> None:
    """Each element alone, in a short array at every position of the vector body and the scalar
    remainder (lengths 1..40, start offsets 0..7 so that the buffers' alignment varies too)."""
    ext = _ext()
    x = _mixed(name, 2000, 31)
    whole = _ext_call(name, x)
    for length in range(1, 41):
        for start in range(8):
            part = _ext_call(name, x[start : start + length].copy())
            assert np.array_equal(_bits(part), _bits(whole[start : start + length])), (
                length,
                start,
            )
    one = getattr(ext, name + "1")
    flagged = 0
    for v, w in zip(x.tolist(), whole.tolist(), strict=True):
        r = one(v)
        if r is None:  # an argument NumPy flags: the Python side takes the array path
            flagged += 1
            continue
        assert struct.pack("<d", r) == struct.pack("<d", w), v
    assert 0 < flagged < x.size  # both kinds were exercised


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_views_scalars_and_0d_arrays_give_the_bits_of_the_whole(name: str) -> None:
    f = OURS[name]
    x = _mixed(name, 700, 32).reshape(60, 35)
    with np.errstate(all="ignore"):
        whole = f(x)
        views = [
            (x[::3, ::-2], whole[::3, ::-2]),
            (x.T, whole.T),
            (x[:, 5], whole[:, 5]),
            (x[7, ::7], whole[7, ::7]),
            (np.asfortranarray(x), whole),
            (np.broadcast_to(x[3], (4, 35)), np.broadcast_to(whole[3], (4, 35))),  # stride 0
            (np.broadcast_to(x[:, 2:3], (60, 3)), np.broadcast_to(whole[:, 2:3], (60, 3))),
        ]
        for view, want in views:
            assert np.array_equal(_bits(f(view)), _bits(want))
        for v, w in zip(x.ravel()[::13].tolist(), whole.ravel()[::13].tolist(), strict=True):
            s, z = f(np.float64(v)), f(np.array(v))
            assert type(s) is np.float64 and type(z) is np.float64
            assert struct.pack("<d", s) == struct.pack("<d", w) == struct.pack("<d", z), v


@needs_ext
def test_huge_strides_are_gathered() -> None:
    base = np.random.default_rng(33).uniform(-5, 5, 1 << 16)
    view = np.lib.stride_tricks.as_strided(base, shape=(4, 3), strides=(8 * 16001, 8 * 5003))
    for name in ("exp", "tanh"):
        got = OURS[name](view)
        assert got.shape == (4, 3) and got.flags.c_contiguous
        assert np.array_equal(_bits(got), _bits(_ext_call(name, np.ascontiguousarray(view))))


@needs_ext
def test_threads_computing_at_once_get_the_single_thread_bits() -> None:
    """The loops release the GIL: eight threads on shared inputs (and each on its own output)."""
    xs = {name: _mixed(name, 40_000, 34) for name in ("exp", "tanh")}
    want = {name: _ext_call(name, x) for name, x in xs.items()}
    errors: list[str] = []

    def work(i: int) -> None:
        name = ("exp", "tanh")[i % 2]
        for _ in range(5):
            with np.errstate(all="ignore"):
                got = OURS[name](xs[name])
            if not np.array_equal(_bits(got), _bits(want[name])):
                errors.append(f"thread {i}: {name} differs")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- special values, warnings and errstate -----------------------------------------------------------

# tests/test_vmath.py's special values, and more around the thresholds and the hand-over.
SPECIAL = [
    *BASE_SPECIAL,
    -np.nan,
    -2.2250738585072014e-308,
    2.225073858507201e-308,  # the largest subnormal
    1e-300,
    -1e-300,
    TANH_ONE,
    20.0,
    710.0,
    -745.2,
    *_neighbours(OVERFLOW, 2).tolist(),
    *_neighbours(DBL_MIN_LOG, 2).tolist(),
    *_neighbours(ZERO_LOG, 2).tolist(),
]

FORMS: dict[str, Callable[[float], Any]] = {
    "array": lambda v: np.array([v]),
    "array among normal values": lambda v: np.array([0.5, v, 1.5, -0.25]),
    "np.float64": np.float64,
    "0-d array": lambda v: np.array(v),
}


def _outcome(f: Callable[[Any], Any], x: Any, mode: str) -> tuple[Any, ...]:
    """What f(x) does under np.errstate(all=mode): the exception it raises, or the warnings'
    messages (without the function name) and whether the result is NaN, infinite, zero and negative
    (a NaN's sign is not NumPy's: tanh(-nan) is -nan here, +nan in NumPy)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all=mode):
            try:
                r = np.asarray(f(x))
            except FloatingPointError as e:
                return ("raises", str(e).split(" encountered")[0])
    messages = sorted(str(w.message).split(" encountered")[0] for w in caught)
    return (
        "returns",
        messages,
        np.isnan(r).tolist(),
        np.isinf(r).tolist(),
        (r == 0).tolist(),
        (np.signbit(r) & ~np.isnan(r)).tolist(),
    )


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
@pytest.mark.parametrize("mode", ["raise", "warn", "ignore"])
def test_every_special_value_in_every_form_does_what_numpy_does(name: str, mode: str) -> None:
    for v in SPECIAL:
        for form, make in FORMS.items():
            ours = _outcome(OURS[name], make(v), mode)
            theirs = _outcome(NUMPY[name], make(v), mode)
            assert ours == theirs, (name, v, form, mode)


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_special_values_are_within_an_ulp_of_numpys_with_their_signs(name: str) -> None:
    x = np.array(SPECIAL)
    with np.errstate(all="ignore"):
        got, want = OURS[name](x), NUMPY[name](x)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(np.signbit(got[~nan]), np.signbit(want[~nan]))  # tanh(-0.0) is -0.0
    finite = np.isfinite(want)
    assert np.array_equal(got[~finite & ~nan], want[~finite & ~nan])
    assert np.all(np.abs(got[finite] - want[finite]) <= np.spacing(np.abs(want[finite])))


_X86_LINUX = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")
x86_linux = pytest.mark.skipif(not _X86_LINUX, reason="glibc's x86-64 fenv constants")
FE_ALL_EXCEPT = 0x3D  # invalid, divide-by-zero, overflow, underflow, inexact (x86-64 glibc)
FE_OVERFLOW = 0x08
FE_TONEAREST, FE_UPWARD = 0x000, 0x800


def _libm() -> Any:
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.fetestexcept.restype = ctypes.c_int
    libm.fegetround.restype = ctypes.c_int
    return libm


@needs_ext
@x86_linux
def test_no_floating_point_flags_are_left_behind_and_earlier_ones_are_kept() -> None:
    libm = _libm()
    ext = _ext()
    x = np.array([np.inf, -np.inf, np.nan, 800.0, -800.0, 1e-310, 0.5, 709.79, -745.2, 1e300, 20.0])
    out = np.empty_like(x)
    for name in ("exp", "tanh"):
        libm.feclearexcept(FE_ALL_EXCEPT)
        getattr(ext, name)(x, out)
        for v in x.tolist():
            getattr(ext, name + "1")(v)
        assert libm.fetestexcept(FE_ALL_EXCEPT) == 0, name
        libm.feraiseexcept(FE_OVERFLOW)
        getattr(ext, name)(x, out)
        getattr(ext, name + "1")(0.5)
        assert libm.fetestexcept(FE_ALL_EXCEPT) == FE_OVERFLOW, name
        libm.feclearexcept(FE_ALL_EXCEPT)
    with np.errstate(all="raise"):  # nothing pending for the next NumPy operation
        assert np.array_equal(np.ones(3) * 2.0, np.full(3, 2.0))


@needs_ext
@x86_linux
def test_a_directed_rounding_mode_is_left_as_it_was() -> None:
    """Under FE_UPWARD the kernels' last bits are not guaranteed (the reduction assumes round to
    nearest); the mode itself is left as the caller set it and the results stay close."""
    libm = _libm()
    ext = _ext()
    x = np.random.default_rng(35).uniform(-20, 20, 1000)
    near = {name: _ext_call(name, x) for name in ("exp", "tanh")}
    assert libm.fesetround(FE_UPWARD) == 0
    try:
        up = {name: _ext_call(name, x) for name in ("exp", "tanh")}
        assert ext.exp1(1.0) is not None
        mode = libm.fegetround()
    finally:
        libm.fesetround(FE_TONEAREST)
    assert mode == FE_UPWARD
    for name in ("exp", "tanh"):
        assert np.allclose(up[name], near[name], rtol=1e-13, atol=0)


# --- what the C functions take and refuse ------------------------------------------------------------


@needs_ext
def test_empty_and_zero_dimensional_inputs() -> None:
    ext = _ext()
    for name in ("exp", "tanh"):
        for shape in [(0,), (3, 0), (0, 5)]:
            got = OURS[name](np.empty(shape))
            assert got.shape == shape and got.dtype == np.float64
        assert getattr(ext, name)(np.empty(0), np.empty(0)) == 0
        assert getattr(ext, name)(np.empty(0)[::2], np.empty(0)) == 0
        z = np.empty(())
        assert getattr(ext, name)(np.array(0.5), z) == 0
        assert z[()] == OURS[name](np.float64(0.5))


@needs_ext
def test_out_may_be_x_but_no_other_overlap() -> None:
    ext = _ext()
    buf = np.linspace(-2, 2, 64)
    want = _ext_call("exp", buf)
    for a, b in [
        (slice(0, 32), slice(16, 48)),
        (slice(16, 48), slice(0, 32)),
        (slice(0, 32), slice(31, 63)),
    ]:
        with pytest.raises(ValueError, match="overlaps"):
            ext.exp(buf[a], buf[b])
    assert np.array_equal(buf, np.linspace(-2, 2, 64))  # refused before writing
    same = buf.copy()
    ext.exp(same[:32], same[32:])  # adjacent, not overlapping
    assert np.array_equal(same[32:], want[:32])
    inplace = buf.copy()
    assert ext.exp(inplace, inplace) == 0
    assert np.array_equal(_bits(inplace), _bits(want))


@needs_ext
def test_refused_buffers_name_the_problem() -> None:
    ext = _ext()
    x = np.ones(4)
    for bad in (
        np.ones(4, np.float32),
        np.ones(4, np.int64),
        np.ones(2, np.complex128),
        np.ones(4, ">f8"),
        np.ones(4, np.float64).astype(np.dtype("f8", metadata={"unit": "s"})).view(np.uint64),
    ):
        with pytest.raises(TypeError, match="float64 buffers"):
            ext.exp(bad, np.empty(4))
        with pytest.raises(TypeError, match="float64 buffers"):
            ext.tanh(x, np.zeros_like(bad))
    with pytest.raises(ValueError, match="contiguous"):
        ext.tanh(np.ones((4, 4))[:, 1], np.empty(4))
    with pytest.raises(ValueError, match="contiguous"):
        ext.tanh(x, np.empty((4, 2))[:, 0])
    read_only = np.empty(4)
    read_only.setflags(write=False)
    with pytest.raises((ValueError, BufferError), match=r"read-only|not writable"):
        ext.exp(x, read_only)
    with pytest.raises(BufferError, match="not writable"):
        ext.exp(x, bytes(32))
    with pytest.raises(TypeError):
        ext.exp([1.0, 2.0], np.empty(2))
    with pytest.raises(TypeError):
        ext.exp(x)
    with pytest.raises(TypeError):
        ext.exp1("1.0")
    frozen = x.copy()
    frozen.setflags(write=False)
    out = np.empty(4)
    assert ext.exp(frozen, out) == 0 and np.all(
        out == _ext_call("exp", np.ones(4))
    )  # x may be read-only


@needs_ext
def test_foreign_float64_buffers_are_taken() -> None:
    """Any exporter of C-contiguous 'd' buffers: a memoryview of bytes as x, an array.array as out."""
    import array

    ext = _ext()
    values = [-1.0, 0.0, 0.5, 3.0, 700.0]
    x = memoryview(struct.pack(f"={len(values)}d", *values)).cast("B").cast("d")
    out = array.array("d", bytes(8 * len(values)))
    assert ext.exp(x, out) == 0
    assert np.array_equal(_bits(np.array(out)), _bits(_ext_call("exp", np.array(values))))
    grow = bytearray(8 * len(values))
    view = memoryview(grow).cast("d")
    ext.tanh(np.array(values), view)
    view.release()
    assert np.array_equal(
        _bits(np.frombuffer(bytes(grow), np.float64)), _bits(_ext_call("tanh", np.array(values)))
    )


def _unaligned(values: np.ndarray) -> np.ndarray:
    """A C-contiguous float64 array whose data starts 1 byte past an 8-byte boundary."""
    raw = np.zeros(values.size * 8 + 16, np.uint8)
    start = (-raw.ctypes.data) % 8 + 1
    a: np.ndarray = raw[start : start + values.size * 8].view(np.float64)
    a[...] = values
    assert not a.flags.aligned and a.flags.c_contiguous
    return a


@needs_ext
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_unaligned_float64_arrays_are_computed_like_aligned_ones(name: str) -> None:
    values = np.linspace(-4, 4, 37)
    got = OURS[name](_unaligned(values))
    assert np.array_equal(_bits(got), _bits(OURS[name](values)))


@needs_ext
def test_misaligned_foreign_buffers_are_refused() -> None:
    ext = _ext()
    raw = bytearray(8 * 9 + 8)
    x = memoryview(raw)[1 : 1 + 8 * 9].cast("d")
    with pytest.raises(ValueError, match="aligned"):
        ext.exp(x, np.empty(9))
    with pytest.raises(ValueError, match="aligned"):
        ext.tanh(np.empty(9), memoryview(raw)[3 : 3 + 8 * 9].cast("d"))


# --- through the autodiff primitives -----------------------------------------------------------------


def test_gradients_of_exp_and_tanh_match_finite_differences() -> None:
    """d/dx through cr.exp and cr.tanh (whichever kernels the primitives chose) against central
    differences of NumPy's own functions, away from overflow."""
    x0 = np.random.default_rng(36).uniform(-3, 3, 50)
    for op, f in ((cr.exp, np.exp), (cr.tanh, np.tanh)):
        t = cr.tensor(x0.copy(), requires_grad=True)
        cr.sum(op(t)).backward()
        assert t.grad is not None
        h = 1e-6
        fd = (f(x0 + h) - f(x0 - h)) / (2 * h)
        assert np.allclose(t.grad.data, fd, rtol=1e-7, atol=1e-9)
