"""einsum on Dask arrays: lazy pairwise graphs along the planned path, run on a 2-worker LocalCluster.

The module starts its own LocalCluster (2 worker processes, 1 thread each) and never skips: Dask and
distributed are dev dependencies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest

import chainrule as cr
from chainrule.einsum import einsum, einsum_path
from chainrule.einsum.dask_plan import DaskPlanInfo, dask_einsum, label_chunks
from chainrule.einsum.notation import parse

RNG = np.random.default_rng(12)

#: (subscripts, shapes): repeated indices, ellipsis, broadcasting, outer products, single operands.
CASES: list[tuple[str, list[tuple[int, ...]]]] = [
    ("ij,jk->ik", [(7, 9), (9, 5)]),
    ("ij,jk,kl->il", [(7, 9), (9, 5), (5, 6)]),
    ("ab,bc,cd,de->ae", [(5, 6), (6, 7), (7, 4), (4, 3)]),
    ("ijk,ijk->i", [(5, 6, 7), (5, 6, 7)]),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]),
    ("ijk,jil->kl", [(4, 5, 6), (5, 4, 3)]),
    ("...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 6)]),
    ("...i,...i->...", [(3, 4, 7), (4, 7)]),
    ("ij,ij->ij", [(1, 5), (4, 5)]),
    ("ij,jk->ik", [(7, 1), (6, 5)]),
    ("i,j->ij", [(5,), (6,)]),
    ("i,j,k->ijk", [(3,), (4,), (5,)]),
    ("ii->i", [(6, 6)]),
    ("ii->", [(6, 6)]),
    ("aabb->ab", [(4, 4, 3, 3)]),
    ("iij,jk->ik", [(5, 5, 4), (4, 3)]),
    ("ijl,jk->ik", [(5, 6, 7), (6, 4)]),
    ("ij->ji", [(5, 7)]),
    ("ijk->", [(4, 5, 6)]),
    ("ijk->kj", [(4, 5, 6)]),
    ("ea,fb,abcd,gc,hd->efgh", [(3, 4)] * 2 + [(4, 4, 4, 4)] + [(3, 4)] * 2),
    ("bn,anm,bm->ba", [(3, 4), (2, 4, 5), (3, 5)]),
    ("i,i,i->", [(7,), (7,), (7,)]),
    (",->", [(), ()]),
    ("ij,jk", [(0, 3), (3, 2)]),
]


def uneven_chunks(shape: tuple[int, ...], k: int) -> tuple[tuple[int, ...], ...]:
    """Uneven chunks that differ per operand ``k`` (so shared labels need rechunking)."""
    out = []
    for axis, d in enumerate(shape):
        step = 2 + (k + axis) % 3
        parts: list[int] = []
        left = d
        while left > 0:
            parts.append(min(step, left))
            left -= step
            step += 1
        out.append(tuple(parts) if parts else (0,))
    return tuple(out)


def to_dask(x: np.ndarray, k: int) -> Any:
    return da.from_array(x, chunks=uneven_chunks(x.shape, k))


def forbidden_scheduler(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a Dask graph was computed where everything should stay lazy")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GiB",
            dashboard_address=":0",
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        yield c


@pytest.mark.parametrize(("subscripts", "shapes"), CASES)
def test_matches_numpy_on_the_cluster(
    client: Any, subscripts: str, shapes: list[tuple[int, ...]]
) -> None:
    ops = [RNG.standard_normal(s) for s in shapes]
    want = np.einsum(subscripts, *ops)
    with dask.config.set(scheduler=forbidden_scheduler):
        got = einsum(subscripts, *[to_dask(o, k) for k, o in enumerate(ops)])
        # Mixed: every other operand stays a NumPy array.
        mixed_ops = [to_dask(o, k) if k % 2 == 0 else o for k, o in enumerate(ops)]
        mixed = einsum(subscripts, *mixed_ops)
    assert isinstance(got, da.Array) and isinstance(mixed, da.Array)
    assert got.shape == want.shape and got.dtype == want.dtype
    got_v, mixed_v = client.compute([got, mixed], sync=True)
    np.testing.assert_allclose(got_v, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mixed_v, want, rtol=1e-12, atol=1e-12)


def test_sublists_dtypes_and_cached_plans(client: Any) -> None:
    a = RNG.standard_normal((6, 8)).astype(np.float32)
    b = RNG.integers(-3, 4, (8, 5)).astype(np.int32)
    da_a, da_b = to_dask(a, 0), to_dask(b, 1)
    for _ in range(2):  # the second call takes the cached plan
        got = einsum(da_a, ["r", "s"], da_b, ["s", "t"], ["t", "r"])
        assert isinstance(got, da.Array) and got.dtype == np.result_type(a, b)
        np.testing.assert_allclose(
            client.compute(got, sync=True), np.einsum("rs,st->tr", a, b), rtol=1e-5
        )
    ints = einsum("ij,jk->ik", to_dask(b.T.copy(), 2), da_b)
    assert ints.dtype == np.int32  # accumulated in the input dtype, as numpy.einsum
    np.testing.assert_array_equal(client.compute(ints, sync=True), b.T @ b)
    f64 = einsum("ij->j", da_a, dtype=np.float64)
    assert f64.dtype == np.float64
    np.testing.assert_allclose(client.compute(f64, sync=True), a.sum(0, dtype=np.float64))


def test_contract_expression_on_dask(client: Any) -> None:
    expr = cr.contract_expression("ab,bc,cd->ad", (5, 6), (6, 7), (7, 4))
    ops = [RNG.standard_normal(s) for s in [(5, 6), (6, 7), (7, 4)]]
    got = expr(*[to_dask(o, k) for k, o in enumerate(ops)])
    assert isinstance(got, da.Array)
    np.testing.assert_allclose(client.compute(got, sync=True), ops[0] @ ops[1] @ ops[2])


def test_laziness_and_graph_size() -> None:
    # Building the graph computes nothing, and its tasks are exactly the report's: per pair one
    # blockwise task per (result block, contracted block), the reduction's per-block layer and its
    # levels -- never one task per block of every label at once, as dask.array.einsum has.
    a = da.ones((12, 40), chunks=(4, 5))  # i: 3 blocks, j: 8 blocks
    b = da.ones((40, 10), chunks=(5, 5))  # k: 2 blocks
    c = da.ones((10, 6), chunks=(5, 3))  # l: 2 blocks
    with dask.config.set(scheduler=forbidden_scheduler):
        r = einsum("ij,jk,kl->il", a, b, c)
        _, info = einsum_path("ij,jk,kl->il", a, b, c)
    assert isinstance(r, da.Array)
    graph = dict(r.__dask_graph__())
    inputs = a.npartitions + b.npartitions + c.npartitions
    assert info.dask is not None
    assert len(graph) == inputs + info.dask.total_tasks
    every_label_at_once = 3 * 8 * 2 * 2
    pair_tasks = [s.tasks for s in info.dask.steps]
    assert max(pair_tasks) < every_label_at_once
    np.testing.assert_allclose(r.compute(scheduler="sync"), np.full((12, 6), 400.0))


def test_report_fields() -> None:
    # i = 7 in chunks of 3 (3 blocks), j = 9 in chunks of 3 (3 blocks), k = 5 in chunks of 3 (2).
    a = da.ones((7, 9), chunks=3)
    b = da.ones((9, 5), chunks=3)
    path, info = einsum_path("ij,jk->ik", a, b)
    assert path == [(0, 1)]
    d = info.dask
    assert isinstance(d, DaskPlanInfo)
    (step,) = d.steps
    assert step.kernel == "blockwise+sum"
    assert step.blocks_in == (9, 6)
    assert step.tasks == 3 * 2 * 3  # (i, k) result blocks times j blocks
    assert step.blocks_out == 6
    # The per-block layer (18 tasks) and one level adding the 3 partials of each of the 6 blocks.
    assert step.reduce_tasks == 18 + 6
    # One task: a 3x3 block of each operand and a 3x3 partial (27 floats); a reduction task: 4
    # partials and their sum (5 * 9 floats).
    assert step.task_bytes == max(27, 5 * 9) * 8
    assert d.peak_bytes == 5 * 9 * 8
    text = str(info)
    assert "Dask graph: 42 tasks" in text
    assert "blockwise+sum" in text and "9x6" in text
    # NumPy operands mixed in count as one chunk per label that no Dask operand has.
    _, mixed = einsum_path("ij,jk->ik", a, np.ones((9, 5)))
    assert mixed.dask is not None and mixed.dask.steps[0].blocks_in == (9, 3)
    # Without a Dask operand there is no Dask part.
    _, plain = einsum_path("ij,jk->ik", (7, 9), (9, 5))
    assert plain.dask is None and "Dask graph" not in str(plain)


def test_label_chunks_follow_the_largest_dask_operand() -> None:
    parsed = parse("ij,jk->ik", np.empty((4, 10)), np.empty((10, 30)))
    lc = label_chunks(parsed, [((2, 2), (5, 5)), ((4, 6), (10, 10, 10))])
    i, j, k = parsed.inputs[0][0], parsed.inputs[0][1], parsed.inputs[1][1]
    assert lc[j] == (4, 6)  # from the larger operand
    assert lc[i] == (2, 2) and lc[k] == (10, 10, 10)
    lc2 = label_chunks(parsed, [None, ((4, 6), (10, 10, 10))])
    assert lc2[i] == (4,)  # only a NumPy operand has it: one chunk


def test_no_task_spans_a_whole_contracted_axis(client: Any) -> None:
    # A long contracted axis in many chunks: every blockwise task sees one chunk of it.
    a = da.from_array(RNG.standard_normal((6, 400)), chunks=(6, 50))
    b = da.from_array(RNG.standard_normal((400, 4)), chunks=(50, 4))
    r = dask_einsum(_spec(), [(0, 1)], [a, b], np.float64)
    assert r.chunks == ((6,), (4,))
    layers = r.__dask_graph__().layers
    (contract,) = [name for name in layers if name.startswith("contract_blocks")]
    assert len(layers[contract]) == 8  # one task per chunk of j, each one block of each operand
    np.testing.assert_allclose(client.compute(r, sync=True), a.compute() @ b.compute(), rtol=1e-12)


def _spec() -> Any:
    return parse("ij,jk->ik", np.empty((6, 400)), np.empty((400, 4)))


def _forward_and_grads(subscripts: str, arrays: list[Any]) -> tuple[Any, list[Any]]:
    ts = [cr.tensor(x, requires_grad=True) for x in arrays]
    y = cr.einsum(subscripts, *ts)
    loss = (y * y).sum()
    loss.backward()
    return y.data, [t.grad.data for t in ts]


@pytest.mark.parametrize(
    ("subscripts", "shapes"),
    [
        ("ij,jk,k->i", [(8, 6), (6, 5), (5,)]),
        ("ii,ij->j", [(5, 5), (5, 4)]),
        ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)]),
        ("ijl,jk->ik", [(4, 6, 3), (6, 5)]),
    ],
)
def test_gradients_stay_lazy_and_match(
    client: Any, subscripts: str, shapes: list[tuple[int, ...]]
) -> None:
    ops = [RNG.standard_normal(s) for s in shapes]
    y_np, g_np = _forward_and_grads(subscripts, ops)
    # The last operand stays NumPy: mixed graphs differentiate too.
    lazy_in = [to_dask(o, k) for k, o in enumerate(ops[:-1])] + [ops[-1]]
    with dask.config.set(scheduler=forbidden_scheduler):
        y_da, g_da = _forward_and_grads(subscripts, lazy_in)
    for g in g_da[:-1]:
        assert isinstance(g, da.Array)
    assert isinstance(y_da, da.Array)
    got = client.compute([y_da, *g_da], sync=True)
    np.testing.assert_allclose(got[0], y_np, rtol=1e-10, atol=1e-12)
    for g, want in zip(got[1:], g_np, strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)


def test_unknown_chunk_sizes_are_refused() -> None:
    x = da.arange(10.0, chunks=3)
    y = x[x > 4]  # its length is unknown until computed
    with pytest.raises(ValueError, match=r"operand 1 has unknown chunk sizes"):
        einsum("i,i->", np.ones(5), y)
