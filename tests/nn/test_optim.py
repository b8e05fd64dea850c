"""SGD and Adam against hand-computed steps; state save/load; float32; clipping; validation."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import MLP, SGD, Adam, AdamW, Linear, clip_grad_norm, load, save


def param(values: list[float], dtype: str = "float64") -> cr.Tensor:
    return cr.tensor(np.array(values, dtype=dtype), requires_grad=True)


def set_grad(p: cr.Tensor, g: list[float]) -> None:
    p.grad = cr.tensor(np.array(g, dtype=p.dtype))


def test_plain_sgd_step_in_place() -> None:
    p = param([1.0, 2.0])
    data = p.data
    opt = SGD([p], lr=0.1)
    set_grad(p, [0.5, -1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.95, 2.1])
    assert p.data is data  # updated in place
    assert p.is_leaf and p.op is None  # no graph recorded


def test_sgd_momentum_nesterov_weight_decay_by_hand() -> None:
    g = np.array([1.0, -2.0])
    p = param([0.0, 0.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    for _ in range(2):
        set_grad(p, list(g))
        opt.step()
    # buffers: g, then 1.9 g; total step 0.1 * 2.9 g
    np.testing.assert_allclose(p.data, -0.1 * 2.9 * g)
    q = param([0.0, 0.0])
    opt = SGD([q], lr=0.1, momentum=0.9, nesterov=True)
    for _ in range(2):
        set_grad(q, list(g))
        opt.step()
    # nesterov steps: g + 0.9 g = 1.9 g, then g + 0.9 * 1.9 g = 2.71 g
    np.testing.assert_allclose(q.data, -0.1 * (1.9 + 2.71) * g)
    r = param([1.0, -1.0])
    opt = SGD([r], lr=0.5, weight_decay=0.1)
    set_grad(r, [0.0, 0.0])
    opt.step()
    np.testing.assert_allclose(r.data, [1.0 - 0.5 * 0.1, -1.0 + 0.5 * 0.1])


def test_adam_two_steps_by_hand() -> None:
    p = param([1.0, -1.0])
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    g1, g2 = np.array([0.5, -2.0]), np.array([-1.0, 3.0])
    set_grad(p, list(g1))
    opt.step()
    # Step 1: m̂ = g, v̂ = g², so the step is lr · g / (|g| + eps).
    expected = np.array([1.0, -1.0]) - 0.01 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-15)
    set_grad(p, list(g2))
    opt.step()
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1**2) + 0.001 * g2**2
    mhat, vhat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = expected - 0.01 * mhat / (np.sqrt(vhat) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-13)
    assert opt.state[0]["step"] == 2


def test_adam_l2_and_decoupled_weight_decay() -> None:
    g = np.array([0.3])
    p = param([2.0])
    opt = Adam([p], lr=0.1, weight_decay=0.5)
    set_grad(p, list(g))
    opt.step()
    geff = g + 0.5 * 2.0  # L2: added to the gradient, then normalised away at step 1
    np.testing.assert_allclose(p.data, 2.0 - 0.1 * geff / (np.abs(geff) + 1e-8))
    q = param([2.0])
    opt = AdamW([q], lr=0.1, weight_decay=0.5)
    assert opt.decoupled_weight_decay
    set_grad(q, list(g))
    opt.step()
    np.testing.assert_allclose(q.data, 2.0 * (1 - 0.1 * 0.5) - 0.1 * g / (np.abs(g) + 1e-8))


def test_parameters_without_grad_are_skipped() -> None:
    a, b = param([1.0]), param([1.0])
    opt = Adam([a, b], lr=0.1)
    set_grad(a, [1.0])
    opt.step()
    assert b.data[0] == 1.0 and 1 not in opt.state
    opt.zero_grad()
    assert a.grad is None


def test_float32_parameters_stay_float32() -> None:
    for make in (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)):
        p = param([1.0, 2.0], dtype="float32")
        opt = make([p])
        for _ in range(3):
            set_grad(p, [0.1, -0.2])
            opt.step()
        assert p.data.dtype == np.float32
        assert all(v.dtype == np.float32 for k, v in opt.state[0].items() if k != "step")


def quadratic_steps(opt: SGD | Adam, p: cr.Tensor, n: int) -> None:
    target = np.array([3.0, -1.0, 0.5])
    for _ in range(n):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_state_save_load_resumes_exactly(kind: str, tmp_path: object) -> None:
    def make(p: cr.Tensor) -> SGD | Adam:
        return SGD([p], lr=0.05, momentum=0.8) if kind == "sgd" else Adam([p], lr=0.05)

    p = param([0.0, 0.0, 0.0])
    opt = make(p)
    quadratic_steps(opt, p, 3)
    path = save(opt, tmp_path / "opt")  # type: ignore[operator]
    saved_p = p.data.copy()
    quadratic_steps(opt, p, 4)
    q = param(list(saved_p))
    resumed = make(q)
    resumed.lr = 123.0  # restored from the file
    load(path, into=resumed)
    assert resumed.lr == 0.05
    quadratic_steps(resumed, q, 4)
    np.testing.assert_array_equal(q.data, p.data)


def test_load_state_dict_validation() -> None:
    p = param([0.0, 0.0])
    opt = Adam([p])
    set_grad(p, [1.0, 1.0])
    opt.step()
    state = opt.state_dict()
    with pytest.raises(ValueError, match="state is for 'Adam', not SGD"):
        SGD([p], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="has 1 parameters, this Adam has 2"):
        Adam([p, param([1.0])]).load_state_dict(state)
    other = Adam([param([0.0, 0.0, 0.0])])
    with pytest.raises(ValueError, match=r"state 'exp_avg' has shape \(2,\), the parameter \(3,\)"):
        other.load_state_dict(state)


def test_module_as_params_and_validation() -> None:
    model = MLP([2, 3, 1], rng=0)
    assert len(SGD(model, lr=0.1).params) == 4
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    lin = Linear(2, 2, rng=0)
    with pytest.raises(ValueError, match="listed twice"):
        SGD([lin.weight, lin.weight], lr=0.1)
    with pytest.raises(ValueError, match="nesterov momentum needs momentum > 0"):
        SGD(model, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\)"):
        Adam(model, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
        SGD(model, lr=-1.0)


def test_clip_grad_norm() -> None:
    a, b = param([3.0]), param([4.0])
    set_grad(a, [3.0])
    set_grad(b, [4.0])
    norm = clip_grad_norm([a, b], 1.0)
    assert norm == 5.0
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [0.6, 0.8], rtol=1e-10)
    assert math.isclose(clip_grad_norm([a, b], 10.0), 1.0, rel_tol=1e-10)


def adam_reference(
    d: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    g: np.ndarray,
    t: int,
    lr: float,
    wd: float,
    dec: bool,
) -> None:
    """One Adam step on whole arrays, in place, with the operation order the optimizer documents."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    if wd and dec:
        d *= 1.0 - lr * wd
    elif wd:
        g = g + wd * d
    m[...] = m * b1 + g * (1.0 - b1)
    v[...] = v * b2 + (g * g) * (1.0 - b2)
    denom = np.sqrt(v) * (1.0 / math.sqrt(1.0 - b2**t)) + eps
    d -= (m / denom) * (lr / (1.0 - b1**t))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("wd, dec", [(0.0, False), (0.1, False), (0.1, True)])
def test_adam_blocked_update_is_bitwise_the_whole_array_formula(
    dtype: str, wd: float, dec: bool
) -> None:
    # 300 x 250 spans several of the fast path's cache blocks (their seams must not show); the
    # transposed parameter is not C-contiguous and takes the plain path: both must agree exactly.
    rng = np.random.default_rng(7)
    start = rng.standard_normal((300, 250)).astype(dtype)
    f_order = np.asfortranarray(start.T)
    ps = [cr.tensor(start, requires_grad=True), cr.as_tensor(f_order, requires_grad=True)]
    assert ps[0].data.flags.c_contiguous and not ps[1].data.flags.c_contiguous
    opt = Adam(ps, lr=0.01, weight_decay=wd, decoupled_weight_decay=dec)
    d = start.copy()
    m, v = np.zeros_like(d), np.zeros_like(d)
    for t in range(1, 4):
        g = rng.standard_normal(d.shape).astype(dtype)
        ps[0].grad = cr.tensor(g)
        ps[1].grad = cr.tensor(g.T)
        opt.step()
        adam_reference(d, m, v, g, t, 0.01, wd, dec)
        np.testing.assert_array_equal(ps[0].data, d)
        np.testing.assert_array_equal(ps[1].data, d.T)
    np.testing.assert_array_equal(opt.state[0]["exp_avg"], m)
    np.testing.assert_array_equal(opt.state[0]["exp_avg_sq"], v)
    assert opt.state[0]["step"] == opt.state[1]["step"] == 3
    # Late in training the bias corrections round to exactly 1 (a pass is skipped): still equal.
    opt.state[0]["step"] = opt.state[1]["step"] = 50_000
    g = rng.standard_normal(d.shape).astype(dtype)
    ps[0].grad, ps[1].grad = cr.tensor(g), cr.tensor(g.T)
    opt.step()
    adam_reference(d, m, v, g, 50_001, 0.01, wd, dec)
    np.testing.assert_array_equal(ps[0].data, d)
    np.testing.assert_array_equal(ps[1].data, d.T)
    assert ps[0].data.dtype == np.dtype(dtype)


def test_adam_bad_gradient_shape_leaves_later_parameters_alone() -> None:
    a, b = param([1.0, 2.0]), param([1.0, 2.0])
    opt = Adam([a, b], lr=0.1)
    set_grad(a, [1.0, 1.0])
    b.grad = cr.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"parameter 1 .*gradient shape \(3,\)"):
        opt.step()
    assert opt.state[0]["step"] == 1 and a.data[0] < 1.0  # the first one was updated, whole
    assert 1 not in opt.state and b.data.tolist() == [1.0, 2.0]


def _adam_run(
    monkeypatch: pytest.MonkeyPatch, group_max: int, decoupled: bool, dtype: str
) -> tuple[list[np.ndarray], Adam]:
    """Seven Adam steps on four parameters (one large) with seeded gradients; parameter 2 has no
    gradient at step 3 (the group changes), and the state goes through state_dict /
    load_state_dict after step 4 (the moments stop being the group's views)."""
    from chainrule.nn import optim

    monkeypatch.setattr(optim, "GROUP_MAX", group_max)
    rng = np.random.default_rng(21)
    shapes = [(3, 4), (5,), (2, 2, 2), (70,)]
    params = [cr.tensor(rng.normal(size=s).astype(dtype), requires_grad=True) for s in shapes]
    opt = Adam(params, lr=0.05, weight_decay=0.1, decoupled_weight_decay=decoupled)
    for step in range(7):
        for k, p in enumerate(params):
            p.grad = (
                None
                if (step == 3 and k == 2)
                else cr.tensor(rng.normal(size=p.shape).astype(dtype))
            )
        opt.step()
        if step == 4:
            opt.load_state_dict(opt.state_dict())
    return [p.data.copy() for p in params], opt


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_adam_small_parameters_together_equal_one_by_one(
    monkeypatch: pytest.MonkeyPatch, decoupled: bool, dtype: str
) -> None:
    """Small parameters updated as one group give the per-parameter updates bit for bit, through a
    change of group membership and a state reload; the state holds the same moments."""
    from chainrule.nn import optim

    alone, opt_alone = _adam_run(monkeypatch, 0, decoupled, dtype)
    grouped, opt_grouped = _adam_run(monkeypatch, 64, decoupled, dtype)
    assert opt_grouped._groups and not opt_alone._groups  # the group path ran, and only there
    for a, b in zip(alone, grouped, strict=True):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)
    for i in range(4):
        for slot in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(opt_alone.state[i][slot], opt_grouped.state[i][slot])
        assert opt_alone.state[i]["step"] == opt_grouped.state[i]["step"]
    assert opt_grouped.state[2]["step"] == 6
    assert optim.GROUP_MAX == 64
