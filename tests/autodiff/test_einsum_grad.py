"""The einsum primitive: gradients (to second order) for every einsum feature."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import einsum_primitive as E
from chainrule.einsum import parse

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ijk,i->jk", [(3, 2, 4), (3,)]),  # seed Q5
    ("ijkl->ik", [(2, 3, 2, 3)]),
    ("ijkl->ki", [(2, 3, 2, 3)]),
    ("ijk,ijk->i", [(2, 3, 4), (2, 3, 4)]),
    ("de,fe,fl->dl", [(2, 3), (4, 3), (4, 2)]),  # C = A G^T B
    ("ii->i", [(3, 3)]),  # diagonal
    ("ii", [(3, 3)]),  # trace
    ("iij,j->i", [(3, 3, 2), (2,)]),
    ("ij,k->ijk", [(2, 3), (4,)]),  # outer
    ("i,j->", [(3,), (4,)]),  # labels summed away only in their operand
    ("ij->", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),  # ellipsis, batch broadcast
    ("ij,ij->ij", [(3, 1), (1, 4)]),  # size-1 broadcasting
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 3)]),
]


@pytest.mark.parametrize(("subscripts", "shapes"), CASES, ids=[c[0] for c in CASES])
def test_einsum_gradients_second_order(subscripts, shapes):
    rng = np.random.default_rng(len(subscripts))
    args = [rng.standard_normal(s) for s in shapes]
    cr.check_grad(lambda *xs: cr.einsum(subscripts, *xs), *args, order=2, full_max=8, directions=1)


def test_sublist_form_with_hashable_labels():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    f = lambda x, y: cr.einsum(x, ["row", ("k", 1)], y, [("k", 1), "col"], ["row", "col"])  # noqa: E731
    cr.check_grad(f, a, b, order=2)
    A = cr.tensor(a, requires_grad=True)
    out = f(A, b)
    np.testing.assert_allclose(out.data, a @ b)
    assert out.op.name == "einsum" and out.params["subscripts"] == "ab,bc->ac"


def test_plain_arrays_use_the_engine_and_match_numpy():
    a, b = np.ones((2, 3)), np.arange(3.0)
    out = cr.einsum("ij,j->i", a, b)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, np.einsum("ij,j->i", a, b))


def test_vjp_subscripts_are_the_rewritten_einsum():
    a, b = np.ones((3, 4)), np.ones((4, 2))
    spec = parse("ij,jk->ik", a, b)
    assert E.vjp_subscripts(spec, 0) == "ac,bc->ab"
    assert E.vjp_subscripts(spec, 1) == "ac,ab->bc"
    diag = parse("ii->i", np.ones((3, 3)))
    assert E.vjp_subscripts(diag, 0) == "a,ab->ab"  # identity joins the repeat
    lone = parse("i,j->", np.ones(3), np.ones(4))
    assert E.vjp_subscripts(lone, 0) == ",b,a->a"  # ones vector broadcasts back


def test_einsum_rejects_out_with_tensors():
    with pytest.raises(TypeError, match="out"):
        cr.einsum("i->i", cr.tensor([1.0]), out=np.zeros(1))


def test_top_level_einsum_is_differentiable():
    x = cr.tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    cr.einsum("ij,ij->", x, x).backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)
