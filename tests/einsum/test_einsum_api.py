"""einsum / einsum_path / contract_expression: dtypes, out=, caching, reports, kernels, Array API."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import to_numpy
from chainrule.einsum import PLAN_CACHE, contract_expression, einsum, einsum_path, kernels
from chainrule.einsum.cache import LRUCache

RNG = np.random.default_rng(7)

CASES = [
    ("ijk,i->jk", [(4, 5, 6), (4,)]),
    ("ijkl->ik", [(3, 4, 5, 6)]),
    ("ijkl->ki", [(3, 4, 5, 6)]),
    ("ijk,ijk->i", [(4, 5, 6), (4, 5, 6)]),
    ("de,fe,fl->dl", [(6, 5), (7, 5), (7, 8)]),
    ("ij,jk->ik", [(8, 8), (8, 8)]),
    ("ea,fb,abcd,gc,hd->efgh", [(3, 2)] * 2 + [(2, 2, 2, 2)] + [(3, 2)] * 2),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]),
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 6)]),
    ("ab,bc,cd,de,ef->af", [(5, 2), (2, 5), (5, 2), (2, 5), (5, 2)]),
    ("ii->i", [(4, 4)]),
    ("ii->", [(4, 4)]),
    ("aabb->ab", [(2, 2, 3, 3)]),
    (",->", [(), ()]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ji,jk->ki", [(4, 3), (4, 5)]),
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("bn,anm,bm->ba", [(3, 4), (2, 4, 5), (3, 5)]),
    ("i,i,i->", [(5,), (5,), (5,)]),
    ("ij,jk", [(0, 3), (3, 2)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
]


@pytest.mark.parametrize(("subscripts", "shapes"), CASES)
def test_workload_shapes_match_numpy(subscripts: str, shapes: list[tuple[int, ...]]) -> None:
    ops = [RNG.standard_normal(s) for s in shapes]
    want = np.einsum(subscripts, *ops)
    for _ in range(2):  # second call: the cached plan
        got = einsum(subscripts, *ops)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize(("subscripts", "shapes"), CASES)
def test_array_api_strict(subscripts: str, shapes: list[tuple[int, ...]]) -> None:
    xp = pytest.importorskip("array_api_strict")
    ops = [RNG.standard_normal(s) for s in shapes]
    got = einsum(subscripts, *[xp.asarray(o) for o in ops])
    assert type(got).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(to_numpy(got), np.einsum(subscripts, *ops), rtol=1e-12, atol=1e-12)


def test_array_api_strict_mixed_dtypes_and_sublists() -> None:
    xp = pytest.importorskip("array_api_strict")
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    b = RNG.standard_normal((4, 2))
    got = einsum(xp.asarray(a), ["r", "s"], xp.asarray(b), ["s", "t"], ["t", "r"])
    assert got.dtype == xp.float64
    np.testing.assert_allclose(to_numpy(got), (a.astype(np.float64) @ b).T, rtol=1e-6)


def test_top_level_reexports() -> None:
    a, b = RNG.random((2, 3)), RNG.random((3, 4))
    np.testing.assert_allclose(cr.einsum("ij,jk->ik", a, b), a @ b)
    assert cr.einsum_path is einsum_path
    assert cr.contract_expression is contract_expression


def test_dtype_promotion_follows_numpy() -> None:
    a32 = RNG.random((3, 4)).astype(np.float32)
    b64 = RNG.random((4, 2))
    i32 = np.arange(12, dtype=np.int32).reshape(3, 4)
    c64 = (RNG.random((4, 2)) + 1j).astype(np.complex64)
    assert einsum("ij,jk->ik", a32, b64).dtype == np.float64
    assert einsum("ij,jk->ik", a32, a32.T.copy()).dtype == np.float32
    assert einsum("ij,jk->ik", i32, b64).dtype == np.float64
    assert einsum("ij,jk->ik", a32, c64).dtype == np.complex64
    np.testing.assert_allclose(einsum("ij,jk->ik", a32, c64), a32 @ c64, rtol=1e-5)


def test_integer_sums_accumulate_in_the_input_dtype_like_numpy() -> None:
    x = np.full(200, 2, dtype=np.int8)
    assert einsum("i->", x) == np.einsum("i->", x)  # wraps around: -112
    assert einsum("i->", x).dtype == np.int8
    m = np.arange(12, dtype=np.int64).reshape(3, 4)
    np.testing.assert_array_equal(einsum("ij,kj->ik", m, m), np.einsum("ij,kj->ik", m, m))
    b = np.array([True, False, True])
    assert einsum("i,i->", b, b) == np.einsum("i,i->", b, b)


def test_dtype_argument_and_casting() -> None:
    a = RNG.random((3, 4))
    got = einsum("ij->j", a.astype(np.float32), dtype=np.float64)
    assert got.dtype == np.float64
    with pytest.raises(TypeError, match="cannot be cast"):
        einsum("ij->j", a, dtype=np.float32)
    assert einsum("ij->j", a, dtype="float32", casting="unsafe").dtype == np.float32
    assert einsum("ij->j", a, dtype=np.float32, casting="same_kind").dtype == np.float32


@pytest.mark.parametrize("form", ["string", "sublist"])
def test_dtype_on_a_cached_plan_keeps_the_casting_rule(form: str) -> None:
    a = RNG.random((3, 4))

    def call(dtype: object, casting: str = "safe") -> np.ndarray:
        if form == "string":
            return einsum("ij,kj->ik", a, a, dtype=dtype, casting=casting)
        return einsum(a, [0, 1], a, [2, 1], [0, 2], dtype=dtype, casting=casting)

    for _ in range(3):  # cold, then cached
        got = call(np.float32, "unsafe")
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, a @ a.T, rtol=1e-6)
        assert call(np.complex128).dtype == np.complex128
        with pytest.raises(TypeError, match="cannot be cast to dtype"):
            call(np.float32)  # "safe" is a different rule: the unsafe plan must not answer it
        assert call("float32", "same_kind").dtype == np.float32


def test_dtype_accepts_every_numpy_spelling() -> None:
    a = RNG.random((3, 4))
    for name, want in [("f4", np.float32), ("<f8", np.float64), ("complex128", np.complex128)]:
        got = einsum("ij,jk->ik", a, a.T, dtype=name, casting="unsafe")
        assert got.dtype == want
        expected = np.einsum("ij,jk->ik", a, a.T, dtype=name, casting="unsafe")
        np.testing.assert_allclose(got, expected, rtol=10 * np.finfo(want).eps)
    with pytest.raises(ValueError, match="unknown dtype 'nope'"):
        einsum("ij->j", a, dtype="nope")


def test_out_argument() -> None:
    a, b = RNG.random((3, 4)), RNG.random((4, 5))
    out = np.empty((3, 5))
    res = einsum("ij,jk->ik", a, b, out=out)
    assert res is out
    np.testing.assert_allclose(out, a @ b)
    with pytest.raises(
        ValueError, match=r"out has shape \(5, 3\) but the result has shape \(3, 5\)"
    ):
        einsum("ij,jk->ik", a, b, out=np.empty((5, 3)))
    with pytest.raises(TypeError, match="cannot be cast"):
        einsum("ij,jk->ik", a, b, out=np.empty((3, 5), dtype=np.float32))
    with pytest.raises(TypeError, match="out must be an array, got list"):
        einsum("ij,jk->ik", a, b, out=[[0.0] * 5] * 3)
    out_scalar = np.empty(())
    einsum("ij,ij->", a, a, out=out_scalar)
    np.testing.assert_allclose(out_scalar, (a * a).sum())


@pytest.mark.parametrize("form", ["string", "sublist"])
def test_out_on_a_cached_plan_checks_like_the_first_call(form: str) -> None:
    # The second call finds its plan in the cache and takes the fast path: same writes, same errors.
    a, b = RNG.random((2, 3)), RNG.integers(0, 5, (3, 4))

    def call(out: object, casting: str = "safe") -> object:
        if form == "string":
            return einsum("ij,jk->ki", a, b, out=out, casting=casting)
        return einsum(a, [0, 1], b, [1, 2], [2, 0], out=out, casting=casting)

    for _ in range(2):
        out = np.full((4, 2), np.nan)
        assert call(out) is out
        np.testing.assert_allclose(out, (a @ b).T)
        out32 = np.zeros((4, 2), dtype=np.float32)
        assert call(out32, "same_kind") is out32
        np.testing.assert_allclose(out32, (a @ b).T, rtol=1e-6)
        with pytest.raises(ValueError, match=r"out has shape \(2, 4\) but the result has shape"):
            call(np.empty((2, 4)))
        with pytest.raises(TypeError, match="cannot be cast to out's dtype float32 under 'safe'"):
            call(np.empty((4, 2), dtype=np.float32))
        with pytest.raises(TypeError, match="cannot be cast to out's dtype int64"):
            call(np.empty((4, 2), dtype=np.int64), "same_kind")
        with pytest.raises(TypeError, match="out must be an array, got tuple"):
            call(((0.0, 0.0),) * 4)


def test_python_scalars_and_lists() -> None:
    assert float(einsum(",->", 2.0, 3.0)) == 6.0
    np.testing.assert_allclose(einsum("i,i->", [1.0, 2.0], [3.0, 4.0]), 11.0)
    np.testing.assert_allclose(einsum(",i->i", 2.0, np.ones(3)), [2.0, 2.0, 2.0])


def test_non_contiguous_operands() -> None:
    a = RNG.random((6, 8))[::2, ::-1]
    b = np.asfortranarray(RNG.random((8, 5)))
    c = RNG.random((5, 4, 3)).transpose(2, 0, 1)
    np.testing.assert_allclose(
        einsum("ij,jk,lkm->iml", a, b, c), np.einsum("ij,jk,lkm->iml", a, b, c)
    )


def test_same_array_twice() -> None:
    x = RNG.random((4, 3, 2))
    np.testing.assert_allclose(einsum("ijk,ijk->i", x, x), (x * x).sum((1, 2)))


def test_report_lists_costs_and_kernels() -> None:
    path, info = einsum_path(
        "ea,fb,abcd,gc,hd->efgh", *([(10, 10)] * 2 + [(10,) * 4] + [(10, 10)] * 2)
    )
    text = str(info)
    assert len(path) == 4
    assert info.naive_cost == 500_000_000
    assert info.opt_cost == 800_000
    assert info.speedup == pytest.approx(625.0)
    assert info.largest_intermediate == 10_000
    assert "Naive FLOP count:  5.000e+08" in text
    assert "Optimized FLOP count:  8.000e+05" in text
    assert "Largest intermediate:  1.000e+04" in text
    assert "ea,abcd->ebcd" in text and "matmul" in text
    _, diag = einsum_path("iij,jk->ik", (3, 3, 4), (4, 5))
    assert [s.kernel for s in diag.steps][:2] == ["diagonal", "matmul"]
    _, lone = einsum_path("ijl,jk->ik", (3, 4, 5), (4, 6))
    assert lone.steps[0].kernel == "sum"
    _, outer = einsum_path("i,j->ij", (3,), (4,))
    assert outer.steps[0].kernel == "multiply"
    assert "i,j->ij" in str(outer)


def test_einsum_path_accepts_arrays_and_sublists() -> None:
    a, b = RNG.random((2, 3)), RNG.random((3, 4))
    p1, i1 = einsum_path("ij,jk->ik", a, b)
    p2, i2 = einsum_path(a, ["x", "y"], b, ["y", "z"], ["x", "z"])
    assert p1 == p2 == [(0, 1)]
    assert i1.opt_cost == i2.opt_cost == 2 * 2 * 3 * 4


def test_contract_expression() -> None:
    expr = contract_expression("ab,bc,cd->ad", (3, 4), (4, 5), (5, 6))
    ops = [RNG.random(s) for s in [(3, 4), (4, 5), (5, 6)]]
    np.testing.assert_allclose(expr(*ops), ops[0] @ ops[1] @ ops[2])
    f32 = [o.astype(np.float32) for o in ops]
    assert expr(*f32).dtype == np.float32
    out = np.empty((3, 6))
    assert expr(*ops, out=out) is out
    assert "ab,bc,cd->ad" in repr(expr)
    assert expr.info.opt_cost > 0
    with pytest.raises(
        ValueError,
        match=r"operand 1 has shape \(4, 6\) but the expression was compiled for \(4, 5\)",
    ):
        expr(ops[0], RNG.random((4, 6)), ops[2])
    with pytest.raises(ValueError, match="expected 3 arrays, got 2"):
        expr(*ops[:2])


def test_contract_expression_checks_every_call_after_the_first() -> None:
    # Warm calls take the compiled fast path; shapes, counts and out= are still checked there.
    expr = contract_expression("ij,jk->ki", (2, 3), (3, 4))
    a, b = RNG.random((2, 3)), RNG.random((3, 4))
    for _ in range(3):
        np.testing.assert_allclose(expr(a, b), (a @ b).T)
    np.testing.assert_allclose(expr(2 * a, b), 2 * (a @ b).T)  # new data, same plan
    with pytest.raises(ValueError, match=r"operand 1 has shape \(4, 3\) but the expression"):
        expr(a, b.T)
    with pytest.raises(ValueError, match=r"operand 0 has shape \(1, 3\)"):
        expr(a[:1], b)
    with pytest.raises(ValueError, match="expected 2 arrays, got 3"):
        expr(a, b, b)
    with pytest.raises(ValueError, match="out has shape"):
        expr(a, b, out=np.empty((2, 4)))
    with pytest.raises(TypeError, match="cannot be cast to out's dtype float32"):
        expr(a, b, out=np.empty((4, 2), dtype=np.float32))
    out = np.empty((4, 2))
    assert expr(a, b, out=out) is out
    np.testing.assert_allclose(out, (a @ b).T)
    np.testing.assert_allclose(expr(a.tolist(), b), (a @ b).T)  # lists converted
    ints = expr(np.ones((2, 3), dtype=np.int32), np.ones((3, 4), dtype=np.int32))
    assert ints.dtype == np.int32 and int(ints.sum()) == 24


def test_plan_cache_hits_and_bound() -> None:
    a, b = RNG.random((2, 3)), RNG.random((3, 4))
    einsum("ij,jk->ik", a, b)
    hits = PLAN_CACHE.hits
    einsum("ij,jk->ik", a, b)
    assert PLAN_CACHE.hits == hits + 1
    cache = LRUCache(maxsize=2)
    cache.put("x", 1)
    cache.put("y", 2)
    assert cache.get("x") == 1  # x is now the most recent
    cache.put("z", 3)
    assert "y" not in cache and "x" in cache and len(cache) == 2
    with pytest.raises(ValueError, match="maxsize"):
        LRUCache(0)


def test_cache_is_thread_safe() -> None:
    cache = LRUCache(maxsize=8)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for k in range(2000):
                cache.put((offset, k % 20), k)
                cache.get((offset, (k + 3) % 20))
                assert len(cache) <= 8
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) <= 8


def test_einsum_from_threads_agrees() -> None:
    ops = [RNG.random((5, 6)), RNG.random((6, 7))]
    want = ops[0] @ ops[1]
    results: list[np.ndarray] = []

    def work() -> None:
        for _ in range(50):
            results.append(einsum("ij,jk->ik", *ops))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 200
    for r in results:
        np.testing.assert_allclose(r, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.int64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_single_operand_sums_any_layout_and_dtype(dtype: type, layout: str) -> None:
    base = (RNG.standard_normal((6, 7, 8, 9)) * 10).astype(dtype)
    if layout == "F":
        y = np.asfortranarray(base)
    elif layout == "strided":
        y = np.repeat(base, 2, axis=3)[..., ::2]
    else:
        y = base
    for subscripts in ("ijkl->ik", "ijkl->ki", "ijkl->j", "ijkl->", "ijkl->il", "ijkl->lkji"):
        got = einsum(subscripts, y)
        want = np.einsum(subscripts, y)
        assert got.dtype == want.dtype
        tol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 100)


def test_large_sums_share_one_small_vector_of_ones() -> None:
    # A BLAS sum multiplies by a vector of ones; plans stay in the cache, so that vector must not grow
    # with the operand ("ijk->" on 2**21 elements used to keep 2**21 ones alive per plan).
    big = RNG.random((64, 256, 256))  # 32 MiB
    for subscripts in ("ijk->", "ijk->i", "ijk->k", "ijk->j"):
        PLAN_CACHE.clear()
        tracemalloc.start()
        got = einsum(subscripts, big)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < big.nbytes // 3, (subscripts, peak)
        np.testing.assert_allclose(got, np.einsum(subscripts, big), rtol=1e-10)
    assert kernels._ONES and all(v.size <= kernels.ONES_MAX for v in kernels._ONES.values())
    assert not any(v.flags.writeable for v in kernels._ONES.values())


def test_blas_sum_views_a_long_axis_as_two_dimensional() -> None:
    ops = kernels.ArrayOps(np)
    n = 3 * kernels.ONES_MAX  # longer than the cap; 65536 divides it
    f = kernels.blas_sum((2, n), (1,), np.float64, ops)
    assert f is not None
    x = RNG.random((2, n))
    np.testing.assert_allclose(f(x), x.sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(f(np.asfortranarray(x)), x.sum(axis=1), rtol=1e-10)
    # A prime length above the cap has no divisor to split by: NumPy's own sum is used instead.
    assert kernels.blas_sum((1_048_583,), (0,), np.float64, ops) is None
    v = RNG.random(1_048_583)
    np.testing.assert_allclose(einsum("i->", v), v.sum(), rtol=1e-10)


def test_long_and_short_batched_dots() -> None:
    for shape in [(3, 5000), (50, 4)]:  # BLAS for long dots, vecdot for short ones
        x = RNG.standard_normal(shape)
        y = RNG.standard_normal(shape)
        np.testing.assert_allclose(einsum("ij,ij->i", x, y), (x * y).sum(1))
    _, info = einsum_path("ij,ij->i", (50, 4), (50, 4))
    assert info.steps[0].kernel == "matmul (dot)"
    z = (RNG.standard_normal((5, 4)) + 1j * RNG.standard_normal((5, 4))).astype(np.complex128)
    np.testing.assert_allclose(einsum("ij,ij->i", z, z), (z * z).sum(1))  # never conjugated


def test_sublist_form_cached_calls() -> None:
    a, b = RNG.random((3, 4)), RNG.random((4, 5))
    for _ in range(3):  # first call plans, later calls hit the sublist fast path
        np.testing.assert_allclose(einsum(a, ["x", "y"], b, ["y", "z"], ["z", "x"]), (a @ b).T)
        np.testing.assert_allclose(einsum(a, ["x", "y"], b, ["y", "z"]), a @ b)
    # Same labels, different shapes: a different plan.
    c = RNG.random((4, 2))
    np.testing.assert_allclose(einsum(a, ["x", "y"], c, ["y", "z"], ["z", "x"]), (a @ c).T)


def test_identity_returns_a_view_not_the_operand() -> None:
    a = RNG.random((3, 4))
    r = einsum("ij->ij", a)
    assert r is not a and np.shares_memory(r, a)
    np.testing.assert_array_equal(r, a)


def test_array_api_strict_out_dtype_and_expression() -> None:
    xp = pytest.importorskip("array_api_strict")
    a_np, b_np = RNG.random((3, 4)), RNG.random((4, 5))
    a, b = xp.asarray(a_np), xp.asarray(b_np)
    out = xp.zeros((3, 5), dtype=xp.float64)
    for _ in range(2):  # the second call runs the cached plan
        out = xp.zeros((3, 5), dtype=xp.float64)
        assert einsum("ij,jk->ik", a, b, out=out) is out
        np.testing.assert_allclose(to_numpy(out), a_np @ b_np)
        with pytest.raises(TypeError, match="cannot be cast to out's dtype"):
            einsum("ij,jk->ik", a, b, out=xp.zeros((3, 5), dtype=xp.float32))
    assert einsum("ij->j", xp.astype(a, xp.float32), dtype="float64").dtype == xp.float64
    expr = contract_expression("ij,jk->ik", (3, 4), (4, 5))
    np.testing.assert_allclose(to_numpy(expr(a, b)), a_np @ b_np)
    np.testing.assert_allclose(to_numpy(einsum("ii->i", xp.asarray(np.eye(3)))), np.ones(3))


@pytest.mark.parametrize(
    ("subscripts", "shape"), [("ij,ij->", (2, 3)), ("i,i->", (3,)), ("ij,ij->i", (2, 3))]
)
def test_dtype_object_contracts_python_objects(subscripts: str, shape: tuple[int, ...]) -> None:
    a = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    b = a + 0.5
    got = einsum(subscripts, a, b, dtype=object)
    want = np.einsum(subscripts, a, b, dtype=object)
    if want.__class__ is np.ndarray:
        assert isinstance(got, np.ndarray) and got.dtype == object
        assert got.tolist() == want.tolist()
    else:  # NumPy returns the Python object itself
        assert not isinstance(got, np.ndarray) and got == want
    with pytest.raises(TypeError, match="cannot be cast to dtype="):
        einsum(subscripts, a, b, dtype=object, casting="no")


def test_memory_limit_reading() -> None:
    from chainrule.einsum import contract, contract_path

    a, b = np.ones((2, 3)), np.ones((3, 4))
    assert contract_path("ij,jk->ik", a, b, memory_limit=np.int64(5))[0] == [(0, 1)]
    three = [(2, 30), (30, 40), (40, 3)]
    assert contract_path("ij,jk,kl->il", *three, memory_limit=np.int32(10), shapes=True)[0] == [
        (0, 1, 2)
    ]
    assert contract_path("ij,jk,kl->il", *three, memory_limit=-1.0, shapes=True)[0] == [
        (0, 1),
        (0, 1),
    ]
    for bad in (float("nan"), float("inf"), -5, -0.5, True, "max_inputs", [10]):
        with pytest.raises(ValueError, match="memory_limit"):
            contract_path("ij,jk->ik", a, b, memory_limit=bad)
        with pytest.raises(ValueError, match="memory_limit"):
            contract("ij,jk->ik", a, b, memory_limit=bad)
    # NumPy's (name, memory_limit) tuple: NumPy integers read, negative limits refused.
    path, _ = einsum_path("ij,jk,kl->il", *three, optimize=("optimal", np.int64(10)), shapes=True)
    assert path == [(0, 1, 2)]
    with pytest.raises(ValueError, match="memory_limit"):
        einsum_path("ij,jk,kl->il", *three, optimize=("greedy", -5), shapes=True)


def test_contract_expression_constants_are_checked() -> None:
    a, c = np.ones((2, 3)), np.ones((4, 5))
    b = np.arange(12.0).reshape(3, 4)
    expr = contract_expression("ij,jk,kl->il", a, (3, 4), c, constants=[np.int64(0), np.int32(2)])
    np.testing.assert_allclose(expr(b), a @ b @ c)
    with pytest.raises(TypeError, match="constants must be a sequence"):
        contract_expression("ij,jk->ik", a, (3, 4), constants=5)
    for position in (True, np.True_, [0], 0.0):
        with pytest.raises(TypeError, match="operand positions"):
            contract_expression("ij,jk->ik", a, (3, 4), constants=[position])
    with pytest.raises(TypeError, match="constant operand 0 must be an array, got list"):
        contract_expression("ij,jk->ik", a.tolist(), (3, 4), constants=[0])
    with pytest.raises(ValueError, match="constants names operand 2"):
        contract_expression("ij,jk->ik", a, (3, 4), constants=[2])


def test_bad_paths_are_value_errors() -> None:
    from chainrule.einsum import contract

    ops = [np.ones((2, 2))] * 3
    for found in (None, 5, "left"):
        with pytest.raises(ValueError, match="list of steps"):
            contract("ij,jk,kl->il", *ops, optimize=lambda *args, found=found: found)
    for path in ([(0.9, 1.7), (0, 1)], [(True, 0), (0, 1)], [(0, 1.0), (0, 1)], ["01", (0, 1)]):
        with pytest.raises(ValueError, match=r"step 0 .* operand positions"):
            einsum_path("ij,jk,kl->il", *ops, optimize=path)
    assert einsum_path("ij,jk,kl->il", *ops, optimize=[(np.int64(1), 2), (0, 1)])[0] == [
        (1, 2),
        (0, 1),
    ]
