"""check_grad: passes correct rules, and names the primitive and operand whose rule is wrong."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import Primitive
from chainrule.autodiff.check import check_nodes


def _cube(x):
    return x**3


def cube_vjp_wrong(g, ans, x):
    return g * 3 * x  # should be 3 x^2


def cube_vjp(g, ans, x):
    return g * 3 * x**2


def test_user_primitive_with_correct_rule_passes_to_second_order():
    cube = cr.register_primitive("user_cube_ok", _cube, cube_vjp, replace=True)
    assert isinstance(cube, Primitive) and cr.PRIMITIVES["user_cube_ok"] is cube
    rep = cr.check_grad(lambda x: cr.sin(cube(x)), np.array([0.3, -1.2, 2.0]), order=2)
    assert rep.ok and rep.comparisons


def test_wrong_user_rule_is_named():
    bad = cr.register_primitive("user_cube_bad", _cube, cube_vjp_wrong, replace=True)
    with pytest.raises(cr.GradCheckError) as err:
        cr.check_grad(lambda x: cr.tanh(bad(x * 2.0)).sum(), np.array([0.2, 0.4]))
    msg = str(err.value)
    assert "primitive 'user_cube_bad', operand 0" in msg and "cube_vjp_wrong" in msg
    assert msg.splitlines()[1].startswith("wrong VJP rule: primitive 'user_cube_bad', operand 0")
    assert "'tanh'" not in msg.split("argument 0")[-1] or "FAILED" in msg
    # every other node passes: the failure list names only the bad primitive
    rep = cr.check_grad(
        lambda x: cr.tanh(bad(x * 2.0)).sum(), np.array([0.2, 0.4]), raise_on_failure=False
    )
    node_failures = [f for f in rep.failures if f.startswith("primitive")]
    assert node_failures and all("user_cube_bad" in f for f in node_failures)


def test_wrong_rule_of_second_operand_is_named():
    def f(a, b):
        return a * b

    def ok(g, ans, a, b):
        return g * b

    def wrong(g, ans, a, b):
        return g * a * 2.0

    mul2 = cr.register_primitive("user_mul_bad_b", f, ok, wrong, replace=True)
    rep = check_nodes(lambda a, b: mul2(a, b), np.ones(3) * 0.5, np.ones(3))
    assert not rep.ok
    assert any("operand 1" in f and "wrong" in f for f in rep.failures)
    assert not any("operand 0" in f for f in rep.failures)


def test_second_order_failure_is_found():
    # First derivative right, but the rule is not written with primitives (it drops its
    # dependence on x when differentiated again): order=2 must catch it.
    def fwd(x):
        return np.sin(x) if not isinstance(x, cr.Tensor) else x

    def rule(g, ans, x):
        xv = x.data if isinstance(x, cr.Tensor) else x
        return g * np.cos(xv)

    sin2 = cr.register_primitive("user_sin_const_rule", fwd, rule, replace=True)
    cr.check_grad(lambda x: sin2(x), np.array([0.4, 1.0]))
    with pytest.raises(cr.GradCheckError, match="order 2"):
        cr.check_grad(lambda x: sin2(x), np.array([0.4, 1.0]), order=2, mode="end_to_end")


def test_shape_bug_is_reported():
    def fwd(x):
        return x * 2

    def rule(g, ans, x):
        return g[..., :1]  # wrong shape

    p = cr.register_primitive("user_bad_shape", fwd, rule, replace=True)
    rep = cr.check_grad(lambda x: p(x), np.ones((2, 3)), raise_on_failure=False)
    assert not rep.ok
    assert any("user_bad_shape" in f for f in rep.failures)


def test_float32_tolerances_and_report_text():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    rep = cr.check_grad(lambda t: cr.softplus(t) * cr.tanh(t), x)
    assert rep.ok and rep and "passed" in str(rep)
    bad = cr.register_primitive("user_bad_bool", lambda t: t * 2, lambda g, ans, t: g, replace=True)
    assert not cr.check_grad(lambda t: bad(t), x, raise_on_failure=False)


def test_registration_errors():
    with pytest.raises(ValueError, match="already registered"):
        cr.register_primitive("mul", _cube, cube_vjp)
    with pytest.raises(ValueError, match="either"):
        cr.register_primitive("user_none", _cube)
    with pytest.raises(ValueError, match="mode"):
        cr.check_grad(lambda x: x, 1.0, mode="fast")


def test_custom_primitive_on_plain_arrays_is_the_forward():
    cube = cr.register_primitive("user_cube_plain", _cube, cube_vjp, replace=True)
    assert cube(np.array([2.0]))[0] == 8.0
    x = cr.tensor([2.0], requires_grad=True)
    y = cube(x)
    assert y.op is cube and y.parents == (x,)
    y.sum().backward()
    assert x.grad.data[0] == 12.0
    assert cube.symbolic is None
    sym = cr.register_primitive(
        "user_cube_sym", _cube, cube_vjp, symbolic={"any": "format"}, replace=True
    )
    assert sym.symbolic == {"any": "format"}
