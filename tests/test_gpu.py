"""The same einsum, autodiff, nn and logistic code on GPU arrays (CuPy) as on NumPy.

Each scenario takes an array module ``xp`` and compares with NumPy. The ``gpu``-marked tests run them
on CuPy and skip only where CuPy is not installed or sees no CUDA device; the unmarked tests run the
very same scenarios on ``array_api_strict``, so a NumPy-only call in these paths fails on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend
from chainrule.linear import LogisticRegression
from chainrule.nn import SGD, Linear, Sequential, Tanh, mse_loss

RNG = np.random.default_rng(4)

needs_cuda = pytest.mark.skipif(
    not backend.has_cuda_device(), reason="CuPy is not installed or sees no CUDA device"
)


def module_of(x: Any) -> str:
    return type(x).__module__.split(".")[0]


def einsum_scenario(xp: Any) -> None:
    """Contractions of every kernel kind (matmul, dot, multiply, diagonal, sum) match NumPy."""
    cases = [
        ("ij,jk,kl->il", [(6, 5), (5, 4), (4, 3)]),
        ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)]),
        ("ijk,ijk->i", [(4, 5, 6), (4, 5, 6)]),
        ("i,j->ij", [(3,), (4,)]),
        ("iij->j", [(4, 4, 3)]),
        ("...ij->...j", [(2, 3, 4)]),
    ]
    for subscripts, shapes in cases:
        ops = [RNG.standard_normal(s) for s in shapes]
        got = cr.einsum(subscripts, *[xp.asarray(o) for o in ops])
        assert module_of(got) == xp.__name__.split(".")[0], subscripts
        np.testing.assert_allclose(
            backend.to_numpy(got), np.einsum(subscripts, *ops), rtol=1e-12, atol=1e-12
        )


def einsum_gradient_scenario(xp: Any) -> None:
    """The einsum VJP (itself an einsum, with identity and ones terms) runs in the inputs' namespace."""
    a, b = RNG.standard_normal((5, 5)), RNG.standard_normal((5, 3, 4))
    want = []
    for arrays in ([a, b], [xp.asarray(a), xp.asarray(b)]):
        ta = cr.tensor(arrays[0], requires_grad=True)
        tb = cr.tensor(arrays[1], requires_grad=True)
        loss = (cr.einsum("ii,ijk->j", ta, tb) ** 2).sum()
        loss.backward()
        want.append((ta.grad.data, tb.grad.data))
    (ga_np, gb_np), (ga, gb) = want
    assert module_of(ga) == module_of(gb) == xp.__name__.split(".")[0]
    np.testing.assert_allclose(backend.to_numpy(ga), ga_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(gb), gb_np, rtol=1e-12, atol=1e-12)


def mlp_step_scenario(xp: Any) -> None:
    """One SGD step of a small MLP moves the parameters exactly as on NumPy."""
    X, y = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 1))
    ref = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 1, rng=1))
    moved = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 1, rng=1)).to(
        backend.array_namespace(xp.asarray(X))
    )
    for model, data, target in ((ref, X, y), (moved, xp.asarray(X), xp.asarray(y))):
        opt = SGD(model, lr=0.1)
        opt.zero_grad()
        mse_loss(model(data), target).backward()
        opt.step()
    for (name, a), (_, b) in zip(ref.state_dict().items(), moved.state_dict().items(), strict=True):
        np.testing.assert_allclose(backend.to_numpy(b), a, rtol=1e-12, err_msg=name)
    assert module_of(moved[0].weight.data) == xp.__name__.split(".")[0]


def logistic_scenario(xp: Any) -> None:
    """LogisticRegression fits the same model from device arrays as from NumPy arrays."""
    X = RNG.normal(size=(80, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 * RNG.normal(size=80) > 0).astype(np.int64)
    reference = LogisticRegression().fit(X, y)
    model = LogisticRegression().fit(xp.asarray(X), xp.asarray(y))
    np.testing.assert_allclose(
        backend.to_numpy(model.coef_), reference.coef_, rtol=1e-8, atol=1e-10
    )
    np.testing.assert_array_equal(
        backend.to_numpy(model.predict(xp.asarray(X))), reference.predict(X)
    )


SCENARIOS = [einsum_scenario, einsum_gradient_scenario, mlp_step_scenario, logistic_scenario]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_same_paths_on_array_api_strict(scenario: Any) -> None:
    import array_api_strict

    scenario(array_api_strict)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_on_cupy(scenario: Any) -> None:
    import cupy

    scenario(cupy)


@pytest.mark.gpu
@needs_cuda
def test_cupy_einsum_stays_on_the_device() -> None:
    import cupy

    a = cupy.asarray(RNG.standard_normal((64, 32)))
    b = cupy.asarray(RNG.standard_normal((32, 16)))
    got = cr.einsum("ij,jk->ik", a, b)
    assert isinstance(got, cupy.ndarray)
    assert got.device == a.device
    np.testing.assert_allclose(cupy.asnumpy(got), cupy.asnumpy(a) @ cupy.asnumpy(b), rtol=1e-12)
