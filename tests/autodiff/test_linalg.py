"""cr.linalg: values against numpy.linalg, gradients against central differences to second order,
the stability conventions (slogdet, degenerate eigh/svd, norm at 0), and bad input."""

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff import linalg as LA
from chainrule.autodiff import swapaxes

linalg = cr.linalg


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def well_conditioned(rng, shape):
    """Square matrices ``(..., n, n)`` near 2·I (condition number a few)."""
    n = shape[-1]
    return rng.standard_normal(shape) * 0.3 + 2.0 * np.eye(n)


def spd(x):
    """A symmetric positive-definite function of any square x (differentiable)."""
    n = x.shape[-1]
    return x @ swapaxes(x, -1, -2) + n * np.eye(n, dtype=x.dtype)


def sym(x):
    return (x + swapaxes(x, -1, -2)) * 0.5


def distinct_spectrum(rng, n, batch=()):
    """Symmetric matrices with eigenvalues 1, 2, ..., n (well separated), as a raw x for ``sym``."""
    q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    return q @ (np.arange(1.0, n + 1) * np.eye(n)) @ np.swapaxes(q, -1, -2)


# --- values match NumPy --------------------------------------------------------------------------


def test_values_match_numpy_on_arrays_and_tensors():
    rng = rng_for("values")
    a = well_conditioned(rng, (2, 3, 3))
    b = rng.standard_normal((2, 3, 2))
    v = rng.standard_normal(3)
    s = spd(cr.tensor(a)).data
    cases = [
        (linalg.solve, np.linalg.solve, (a, b)),
        (linalg.solve, np.linalg.solve, (a, v)),
        (linalg.inv, np.linalg.inv, (a,)),
        (linalg.det, np.linalg.det, (a,)),
        (linalg.cholesky, np.linalg.cholesky, (s,)),
    ]
    for ours, theirs, args in cases:
        expected = theirs(*args)
        np.testing.assert_allclose(ours(*args), expected, rtol=1e-12)
        np.testing.assert_allclose(ours(*map(cr.tensor, args)).data, expected, rtol=1e-12)
    for x in (a, cr.tensor(a)):
        sign, logabs = linalg.slogdet(x)
        np_sign, np_logabs = np.linalg.slogdet(a)
        np.testing.assert_array_equal(np.asarray(sign), np_sign)
        np.testing.assert_allclose(np.asarray(logabs), np_logabs, rtol=1e-12)
        w, vecs = linalg.eigh(
            sym(cr.tensor(x)) if isinstance(x, cr.Tensor) else (x + np.swapaxes(x, -1, -2)) / 2
        )
        np.testing.assert_allclose(
            np.asarray(w), np.linalg.eigvalsh((a + np.swapaxes(a, -1, -2)) / 2), rtol=1e-12
        )
        assert np.asarray(vecs).shape == (2, 3, 3)
    np.testing.assert_allclose(linalg.cholesky(s, upper=True), np.linalg.cholesky(s, upper=True))
    m = rng.standard_normal((2, 4, 3))
    for full in (True, False):
        u, sv, vh = linalg.svd(cr.tensor(m), full_matrices=full)
        nu, ns, nvh = np.linalg.svd(m, full_matrices=full)
        assert u.shape == nu.shape and vh.shape == nvh.shape
        np.testing.assert_allclose(sv.data, ns, rtol=1e-12)
        np.testing.assert_allclose(
            (u.data[..., :3] * sv.data[..., None, :]) @ vh.data[..., :3, :], m, atol=1e-12
        )
    np.testing.assert_allclose(
        linalg.svd(cr.tensor(m), compute_uv=False).data, np.linalg.svd(m, compute_uv=False)
    )
    t = rng.standard_normal((3, 3))
    np.testing.assert_allclose(
        linalg.solve_triangular(t, v, lower=True), np.linalg.solve(np.tril(t), v), rtol=1e-10
    )


NORM_CASES = [
    ((5,), None, None),
    ((5,), 1, None),
    ((5,), 3, None),
    ((5,), 0.5, None),
    ((5,), -2, None),
    ((5,), np.inf, None),
    ((5,), -np.inf, None),
    ((5,), 0, None),
    ((3, 4), None, None),
    ((3, 4), "fro", None),
    ((3, 4), "nuc", None),
    ((3, 4), 1, None),
    ((3, 4), -1, None),
    ((3, 4), 2, None),
    ((3, 4), -2, None),
    ((3, 4), np.inf, None),
    ((3, 4), -np.inf, None),
    ((2, 3, 4), None, None),
    ((2, 3, 4), None, 1),
    ((2, 3, 4), 3, -1),
    ((2, 3, 4), "fro", (0, 2)),
    ((2, 3, 4), "nuc", (2, 1)),
    ((2, 3, 4), 2, (0, 1)),
    ((2, 3, 4), np.inf, (-1, 0)),
    ((2, 3, 4), -1, (1, 2)),
]


@pytest.mark.parametrize(("shape", "ord", "axis"), NORM_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm_matches_numpy(shape, ord, axis, keepdims):
    x = rng_for(f"norm{shape}{ord}{axis}").standard_normal(shape)
    expected = np.linalg.norm(x, ord, axis, keepdims)
    np.testing.assert_allclose(linalg.norm(x, ord, axis, keepdims), expected, rtol=1e-12)
    got = linalg.norm(cr.tensor(x), ord, axis, keepdims)
    assert isinstance(got, cr.Tensor)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12)


# --- gradients to second order -------------------------------------------------------------------

GRAD_CASES = {
    "solve-vector": (
        lambda a, b: cr.tanh(linalg.solve(a, b)),
        [well_conditioned, "normal"],
        [(3, 3), (3,)],
    ),
    "solve-matrix": (
        lambda a, b: linalg.solve(a, b),
        [well_conditioned, "normal"],
        [(3, 3), (3, 2)],
    ),
    "solve-batched": (
        lambda a, b: linalg.solve(a, b) ** 2,
        [well_conditioned, "normal"],
        [(2, 3, 3), (3, 2)],
    ),
    "solve-batched-vector": (
        lambda a, b: linalg.solve(a, b) ** 2,
        [well_conditioned, "normal"],
        [(2, 3, 3), (3,)],
    ),
    "solve_triangular-lower": (
        lambda a, b: linalg.solve_triangular(a, b, lower=True) ** 2,
        [well_conditioned, "normal"],
        [(3, 3), (3, 2)],
    ),
    "solve_triangular-upper-vector": (
        lambda a, b: cr.sin(linalg.solve_triangular(a, b)),
        [well_conditioned, "normal"],
        [(2, 3, 3), (3,)],
    ),
    "inv": (lambda a: linalg.inv(a), [well_conditioned], [(3, 3)]),
    "inv-batched": (lambda a: cr.tanh(linalg.inv(a)), [well_conditioned], [(2, 3, 3)]),
    "det": (lambda a: linalg.det(a), [well_conditioned], [(3, 3)]),
    "det-batched": (lambda a: linalg.det(a) ** 2, [well_conditioned], [(2, 3, 3)]),
    "slogdet": (lambda a: linalg.slogdet(a).logabsdet, [well_conditioned], [(3, 3)]),
    "slogdet-negative": (lambda a: linalg.slogdet(-a)[1] * 2.0, [well_conditioned], [(2, 3, 3)]),
    "cholesky": (lambda x: linalg.cholesky(spd(x)), ["normal"], [(3, 3)]),
    "cholesky-upper-batched": (
        lambda x: cr.tanh(linalg.cholesky(spd(x), upper=True)),
        ["normal"],
        [(2, 3, 3)],
    ),
    "eigh-values": (lambda x: linalg.eigh(sym(x)).eigenvalues, [distinct_spectrum], [(3, 3)]),
    "eigh-vectors": (
        # Eigenvectors are defined up to sign: a sign-invariant function of them.
        lambda x: linalg.eigh(sym(x)).eigenvectors ** 2,
        [distinct_spectrum],
        [(2, 3, 3)],
    ),
    "eigh-upper": (
        lambda x: linalg.eigh(sym(x), UPLO="U").eigenvalues ** 2,
        [distinct_spectrum],
        [(3, 3)],
    ),
    "svd-values": (lambda x: linalg.svd(x, compute_uv=False), ["normal"], [(3, 4)]),
    "svd-thin-tall": (
        lambda x: _sign_fixed_svd(x, tall=True),
        ["normal"],
        [(4, 3)],
    ),
    "svd-thin-wide": (lambda x: _sign_fixed_svd(x, tall=False), ["normal"], [(2, 3, 4)]),
    "svd-full-matrices-thin-part": (
        lambda x: linalg.svd(x)[1].sum() * 2.0 + linalg.svd(x).Vh[..., :2, :] ** 2,
        ["normal"],
        [(2, 4)],
    ),
}


def _sign_fixed_svd(x, tall):
    u, s, vh = linalg.svd(x, full_matrices=False)
    # U diag(S) Vh pieces that do not depend on the sign choice: u_i v_iᵀ products and S.
    first = u[..., :, :1] * vh[..., :1, :]
    return cr.concatenate([cr.reshape(first, (*first.shape[:-2], -1)), s * s], axis=-1)


def _draw(rng, kind, shape):
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind is distinct_spectrum:
        return distinct_spectrum(rng, shape[-1], shape[:-2])
    return kind(rng, shape)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_to_second_order(name):
    fn, kinds, shapes = GRAD_CASES[name]
    rng = rng_for(name)
    args = [_draw(rng, k, s) for k, s in zip(kinds, shapes, strict=True)]
    # Per node, except through svd(full_matrices=True): random cotangents on its completion columns
    # are refused by design (test_svd_full_matrices_refuses_a_gradient_through_the_completion).
    mode = "end_to_end" if name.startswith("svd-full") else "nodes"
    cr.check_grad(fn, *args, order=2, mode=mode, full_max=12, directions=2)


@pytest.mark.parametrize(("shape", "ord", "axis"), [c for c in NORM_CASES if c[1] != 0])
def test_norm_gradients_to_second_order(shape, ord, axis):
    x = rng_for(f"normgrad{shape}{ord}{axis}").standard_normal(shape)
    # Keep away from ties (max/min of |x|, of row sums) and from 0 for p < 1.
    x = x + np.sign(x) * 0.2
    cr.check_grad(lambda t: linalg.norm(t, ord, axis) * 1.5, x, order=2, full_max=12, directions=2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: linalg.solve(a, np.ones(3, np.float32)),
        lambda a: linalg.inv(a),
        lambda a: linalg.slogdet(a)[1],
        lambda a: linalg.cholesky(spd(a)),
        lambda a: linalg.eigh(sym(a)).eigenvalues,
        lambda a: linalg.norm(a, "nuc"),
    ],
    ids=["solve", "inv", "slogdet", "cholesky", "eigh", "nuc"],
)
def test_float32_stays_float32_and_checks(fn):
    a = well_conditioned(rng_for("f32"), (3, 3)).astype(np.float32)
    x = cr.tensor(a, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    cr.check_grad(fn, a)


def test_det_of_a_singular_matrix_has_the_cofactor_gradient():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])  # rank 2
    x = cr.tensor(np.stack([a, a.T]), requires_grad=True)
    d = linalg.det(x)
    np.testing.assert_allclose(d.data, 0.0, atol=1e-12)
    d.sum().backward()
    # The cofactor matrix by its definition: signed minors.
    cof = np.array(
        [
            [(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(3)]
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(x.grad.data[0], cof, atol=1e-12)
    np.testing.assert_allclose(x.grad.data[1], cof.T, atol=1e-12)
    # Recorded for second order, the rule needs the inverse: a clear LinAlgError.
    y = cr.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(np.linalg.LinAlgError):
        linalg.det(y).backward(create_graph=True)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**16))
def test_solve_then_slogdet_match_finite_differences(n, seed):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, (n, n))
    b = rng.standard_normal((n, 2))
    cr.check_grad(
        lambda a, b: (linalg.solve(a, b) ** 2).sum() + linalg.slogdet(a)[1] + linalg.inv(a).sum(),
        a,
        b,
        directions=2,
        full_max=0,
    )


# --- stability conventions -----------------------------------------------------------------------


def test_slogdet_gradient_is_finite_where_det_overflows():
    a = np.eye(200) * 1e3  # det = 1e600 overflows; log|det| = 600 log 10
    x = cr.tensor(a, requires_grad=True)
    sign, logabs = linalg.slogdet(x)
    logabs.backward()
    assert sign.item() == 1.0 and not sign.requires_grad
    np.testing.assert_allclose(logabs.item(), 200 * np.log(1e3))
    np.testing.assert_allclose(x.grad.data, np.eye(200) * 1e-3)


def test_eigh_degenerate_eigenvalues_give_finite_gradients_for_spectral_losses():
    rng = rng_for("degenerate")
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    a = q @ np.diag([1.0, 1.0, 1.0, 3.0]) @ q.T  # a triple eigenvalue
    x = cr.tensor(a, requires_grad=True)
    w, _ = linalg.eigh(x)
    (w**2).sum().backward()  # = trace(A²): gradient 2A, on the lower triangle that eigh reads
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(
        x.grad.data, np.tril(4 * a, -1) + np.diag(np.diag(2 * a)), atol=1e-10
    )
    # A gauge-invariant function of the eigenvectors: the projector on the degenerate eigenspace.
    x.grad = None
    w, v = linalg.eigh(x)
    proj = v[:, :3] @ v[:, :3].T
    (proj * np.arange(16.0).reshape(4, 4)).sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    identity = cr.tensor(np.eye(3), requires_grad=True)
    linalg.eigh(identity).eigenvalues.sum().backward()  # exactly equal eigenvalues
    np.testing.assert_allclose(identity.grad.data, np.eye(3), atol=1e-12)


def test_svd_of_degenerate_and_rank_deficient_matrices_has_finite_spectral_gradients():
    x = cr.tensor(np.diag([2.0, 2.0, 0.0]), requires_grad=True)  # a repeated and a zero value
    linalg.norm(x, "nuc").backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(np.trace(x.grad.data[:2, :2]), 2.0)
    z = cr.tensor(np.zeros((2, 3)), requires_grad=True)
    linalg.svd(z, full_matrices=False).S.sum().backward()
    assert np.all(np.isfinite(z.grad.data))


def test_svd_full_matrices_refuses_a_gradient_through_the_completion():
    x = cr.tensor(rng_for("full").standard_normal((4, 2)), requires_grad=True)
    u, _, _ = linalg.svd(x)  # U is 4 x 4; columns 2, 3 are any completion
    with pytest.raises(ValueError, match="full_matrices=False"):
        (u[:, 3] ** 2 * np.arange(4.0)).sum().backward()


@pytest.mark.parametrize("ord", [None, 2, 1, 3, 0.5, np.inf, -np.inf])
def test_vector_norm_gradient_at_zero_is_zero(ord):
    x = cr.tensor(np.zeros(4), requires_grad=True)
    linalg.norm(x, ord).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(4))


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 2, 1, np.inf])
def test_matrix_norm_gradient_at_zero_is_finite(ord):
    x = cr.tensor(np.zeros((3, 2)), requires_grad=True)
    linalg.norm(x, ord).backward()
    assert np.all(np.isfinite(x.grad.data))
    if ord in (None, "fro", 1, np.inf):
        np.testing.assert_array_equal(x.grad.data, np.zeros((3, 2)))


def test_norm_second_derivative_is_finite_at_zero_and_ord_zero_has_no_gradient():
    assert np.all(np.isfinite(cr.hvp(lambda t: linalg.norm(t), np.zeros(3), np.ones(3))))
    counted = linalg.norm(cr.tensor([0.0, 2.0, -1.0], requires_grad=True), 0)
    assert counted.item() == 2.0 and not counted.requires_grad


def test_p_norm_below_one_gives_zero_to_zero_entries():
    x = cr.tensor([0.0, 1.0, -2.0], requires_grad=True)
    linalg.norm(x, 0.5).backward()
    assert x.grad.data[0] == 0.0 and np.all(np.isfinite(x.grad.data))


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors():
    sq = np.eye(3)
    with pytest.raises(ValueError, match=r"inv: a must be a square matrix.*\(3, 2\)"):
        linalg.inv(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"solve: a has shape \(3, 3\) but b has shape \(2,\)"):
        linalg.solve(sq, np.ones(2))
    with pytest.raises(ValueError, match="0-d"):
        linalg.solve(sq, 1.0)
    with pytest.raises(ValueError, match="UPLO"):
        linalg.eigh(sq, UPLO="X")
    with pytest.raises(ValueError, match=r"svd: a must be a matrix.*\(3,\)"):
        linalg.svd(np.ones(3))
    with pytest.raises(ValueError, match="invalid ord 'nuc' for vectors"):
        linalg.norm(np.ones(3), "nuc")
    with pytest.raises(ValueError, match="invalid ord 3 for matrices"):
        linalg.norm(np.ones((2, 2)), 3)
    with pytest.raises(
        ValueError, match=r"axis=None needs a 1-D or 2-D array, got shape \(2, 2, 2\)"
    ):
        linalg.norm(np.ones((2, 2, 2)), 1)
    with pytest.raises(ValueError, match="invalid axis"):
        linalg.norm(np.ones((2, 2)), None, (0, 0))
    with pytest.raises(np.linalg.LinAlgError):
        linalg.cholesky(cr.tensor(-np.eye(2), requires_grad=True))


def test_explain_prints_and_evaluates_a_linalg_derivation():
    rng = rng_for("explain")
    a = cr.tensor(well_conditioned(rng, (3, 3)), requires_grad=True, name="A")
    b = cr.tensor(rng.standard_normal(3), requires_grad=True, name="b")
    x = linalg.solve(a, b)
    x.name = "x"
    loss = (x * x).sum() + linalg.slogdet(a)[1]
    ex = cr.explain(loss)
    assert "solve(A, b)" in ex.text
    values = ex.evaluate()
    loss.backward()
    np.testing.assert_allclose(values["A"], a.grad.data, rtol=1e-9)
    np.testing.assert_allclose(values["b"], b.grad.data, rtol=1e-9)


def test_module_namespace():
    assert cr.linalg is LA
    assert set(LA.__all__) >= {"solve", "inv", "det", "slogdet", "cholesky", "eigh", "svd", "norm"}


EXPLAIN_CASES = {
    "solve-matrix": lambda x: linalg.solve(x + 3 * np.eye(3), np.arange(6.0).reshape(3, 2)),
    "solve-batched-vector": lambda x: linalg.solve(cr.stack([x, x * 0.5]) + 3 * np.eye(3), x[0]),
    "solve_triangular": lambda x: linalg.solve_triangular(x + 3 * np.eye(3), x, lower=True),
    "inv": lambda x: linalg.inv(x + 3 * np.eye(3)),
    "det": lambda x: linalg.det(x + 3 * np.eye(3)),
    "slogdet": lambda x: linalg.slogdet(x + 3 * np.eye(3)).logabsdet,
    "cholesky": lambda x: linalg.cholesky(spd(x)),
    "eigh": lambda x: linalg.eigh(sym(x)).eigenvalues,
    "svd": lambda x: linalg.svd(x[:, :2], full_matrices=False).S,
    "norm-2": lambda x: linalg.norm(x, axis=1),
    "norm-3": lambda x: linalg.norm(x, 3, axis=0, keepdims=True),
    "norm-1": lambda x: linalg.norm(x[0], 1),
}


@pytest.mark.parametrize("name", sorted(EXPLAIN_CASES))
def test_symbolic_rule_matches_backward(name):
    rng = rng_for(f"explain-{name}")
    x = cr.tensor(rng.standard_normal((3, 3)), requires_grad=True, name="x")
    y = EXPLAIN_CASES[name](x)
    loss = (y * rng.standard_normal(y.shape)).sum()
    ex = cr.explain(loss, wrt=[x])
    value = ex.evaluate()["x"]
    assert ex.text and ex.latex.count("\\left(") == ex.latex.count("\\right)")
    loss.backward()
    np.testing.assert_allclose(value, x.grad.data, rtol=1e-9, atol=1e-12)


# --- review fixes ----------------------------------------------------------------------------------


def test_svd_of_a_rank_deficient_matrix_drops_the_rounding_level_singular_value():
    # The bug: 1/s of s ~ 1e-16 (exactly 0 in exact arithmetic) gave a gradient of 120 for a loss
    # that is constant (sum(U**2) = k for orthonormal columns).
    rng = np.random.default_rng(0)
    a = np.outer(rng.normal(size=3), rng.normal(size=2))
    g = cr.grad(lambda m: cr.sum(cr.linalg.svd(m, full_matrices=False).U ** 2))(a)
    assert np.abs(g).max() < 1e-8
    g = cr.grad(lambda m: cr.sum(cr.linalg.svd(m, full_matrices=False).Vh ** 2))(a.T)
    assert np.abs(g).max() < 1e-8


def test_svd_and_nuclear_norm_of_an_empty_batch_of_tensors():
    # The bug: reshape(..., -1) of an empty batch raised.
    t = cr.tensor(np.zeros((0, 3, 2)), requires_grad=True)
    s = cr.linalg.svd(t, compute_uv=False)
    assert s.shape == (0, 2)
    u, s, vh = cr.linalg.svd(t, full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((0, 3, 2), (0, 2), (0, 2, 2))
    n = cr.linalg.norm(t, "nuc", axis=(1, 2))
    assert n.shape == (0,)
    cr.sum(n).backward()
    assert t.grad.shape == (0, 3, 2)


@pytest.mark.parametrize("ord", [2, np.inf, 1, "nuc", "fro", None])
def test_norm_of_an_empty_matrix_is_numpys_zero(ord):
    x = np.zeros((0, 3))
    assert cr.linalg.norm(x, ord) == np.linalg.norm(x, ord) == 0.0
    assert cr.linalg.norm(np.zeros(0), np.inf) == np.linalg.norm(np.zeros(0), np.inf)


def test_norm_of_integers_is_float64_as_numpy():
    for x in (np.array([3, 4]), np.array([[1, 2], [3, 4]]), np.array([True, False])):
        ours, theirs = cr.linalg.norm(x), np.linalg.norm(x)
        assert ours.dtype == theirs.dtype == np.float64
        assert ours == theirs
    assert cr.linalg.norm(np.array([[1, -2], [3, 4]]), 1).dtype == np.float64


@pytest.mark.parametrize(
    "call",
    [
        lambda z: cr.linalg.norm(z),
        lambda z: cr.linalg.det(z),
        lambda z: cr.linalg.inv(z),
        lambda z: cr.linalg.solve(z, np.ones(2)),
        lambda z: cr.linalg.svd(z),
        lambda z: cr.linalg.eigh(z),
        lambda z: cr.var(z),
        lambda z: cr.std(z),
    ],
)
def test_complex_input_is_refused_with_its_dtype(call):
    # The bug: complex gradients came back where the docs promise real ones.
    z = np.array([[3 + 4j, 1.0], [0.0, 2.0]])
    with pytest.raises(TypeError, match="complex128"):
        call(z)
    with pytest.raises(TypeError, match="complex"):
        cr.grad(call)(z)  # refused at the entry, before any graph is built


def test_batched_cholesky_backward_matches_matrix_by_matrix():
    # The batched triangular solves run as one substitution over the batch (was one SciPy call per
    # matrix); the result must be the per-matrix gradient.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 4, 4))
    a = x @ np.swapaxes(x, -1, -2) + 4.0 * np.eye(4)
    w = rng.normal(size=(40, 4, 4))
    g = cr.grad(lambda m: cr.sum(cr.linalg.cholesky(m) * w))(a)
    for i in (0, 17, 39):
        gi = cr.grad(lambda m, i=i: cr.sum(cr.linalg.cholesky(m) * w[i]))(a[i])
        np.testing.assert_allclose(g[i], gi, rtol=1e-10, atol=1e-12)
    big = np.broadcast_to(a[0], (20000, 4, 4))
    gb = cr.grad(lambda m: cr.sum(cr.linalg.cholesky(m)))(big)
    np.testing.assert_allclose(gb[-1], cr.grad(lambda m: cr.sum(cr.linalg.cholesky(m)))(a[0]))


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("n", [3, 70])
def test_batched_solve_triangular_matches_scipy_and_refuses_a_zero_pivot(lower, n):
    import scipy.linalg as sl

    rng = np.random.default_rng(n)
    a = rng.normal(size=(3, n, n)) + n * np.eye(n)
    b = rng.normal(size=(3, n, 2))
    x = cr.linalg.solve_triangular(a, b, lower=lower)
    for i in range(3):
        np.testing.assert_allclose(x[i], sl.solve_triangular(a[i], b[i], lower=lower), rtol=1e-9)
    xv = cr.linalg.solve_triangular(a, b[0, :, 0], lower=lower)
    np.testing.assert_allclose(xv[1], sl.solve_triangular(a[1], b[0, :, 0], lower=lower))
    assert cr.linalg.solve_triangular(a[:0], b[:0], lower=lower).shape == (0, n, 2)
    a[1, 2, 2] = 0.0
    with pytest.raises(np.linalg.LinAlgError):
        cr.linalg.solve_triangular(a, b, lower=lower)


def test_tensordot_takes_numpy_integer_axes():
    # The bug: isinstance(axes, int) refused np.int64 and integer arrays.
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
    for axes in (np.int64(1), np.array(1), ([np.int64(1)], [0]), (np.array([1]), np.array([0]))):
        np.testing.assert_array_equal(cr.tensordot(a, b, axes), np.tensordot(a, b, axes))
    with pytest.raises(TypeError, match="integer"):
        cr.tensordot(a, b, 1.0)


def test_linalg_on_array_api_strict_reads_only_the_named_triangle():
    # The bugs: solve_triangular solved with the whole matrix, eigh(UPLO='U') called NumPy's eigh
    # on a foreign array.
    xp = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 3))
    spd = x @ x.T + 3.0 * np.eye(3)
    lower_t = np.tril(spd) + 100.0 * np.triu(rng.normal(size=(3, 3)), 1)  # garbage above
    upper_s = np.triu(spd) + 100.0 * np.tril(rng.normal(size=(3, 3)), -1)  # garbage below
    b = rng.normal(size=(3, 2))
    cases = [
        (lower_t, lambda t: cr.linalg.solve_triangular(t, t[:, :2], lower=True) ** 2),
        (lower_t, lambda t: cr.linalg.solve_triangular(t, b_of(t), lower=True)),
        (upper_s, lambda t: cr.linalg.eigh(t, UPLO="U").eigenvalues ** 3),
        (upper_s, lambda t: cr.linalg.eigh(t, UPLO="U").eigenvectors[..., 0] ** 2),
        (spd, lambda t: cr.linalg.cholesky(t)),
        (spd, lambda t: cr.linalg.svd(t, full_matrices=False).S),
    ]

    def b_of(t):
        return xp.asarray(b) if "array_api_strict" in type(t.data).__module__ else b

    for m, f in cases:
        strict = cr.grad(lambda t, f=f: cr.sum(f(t)))(xp.asarray(m))
        plain = cr.grad(lambda t, f=f: cr.sum(f(t)))(m)
        assert "array_api_strict" in type(strict).__module__
        np.testing.assert_allclose(np.asarray(strict), plain, rtol=1e-9, atol=1e-12)
    w_s, _ = cr.linalg.eigh(xp.asarray(upper_s), UPLO="U")
    np.testing.assert_allclose(np.asarray(w_s), np.linalg.eigvalsh(spd))
