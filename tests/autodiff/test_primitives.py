"""The test generator: every primitive, gradient-checked on scalar, vector, matrix and broadcast
shapes, to second order (the rules of the rules), against central differences."""

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import primitives as P

SHAPES_1 = {"scalar": [()], "vector": [(4,)], "matrix": [(3, 4)]}
SHAPES_2 = {
    "scalar": [(), ()],
    "vector": [(4,), (4,)],
    "matrix": [(3, 4), (3, 4)],
    "broadcast": [(3, 1), (4,)],
    "scalar-matrix": [(), (3, 4)],
}


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return 0.5 + rng.random(shape) * 2


def away_from_zero(rng, shape):
    # Keep finite differences clear of the kink at 0.
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0) * (0.2 + rng.random(shape))


@dataclass
class Case:
    name: str
    fn: Callable
    shapes: dict
    domain: tuple = (normal,)


CASES = [
    Case("exp", cr.exp, SHAPES_1),
    Case("log", cr.log, SHAPES_1, (positive,)),
    Case("log1p", cr.log1p, SHAPES_1, (positive,)),
    Case("expm1", cr.expm1, SHAPES_1),
    Case("sqrt", cr.sqrt, SHAPES_1, (positive,)),
    Case("abs", cr.abs, SHAPES_1, (away_from_zero,)),
    Case("sin", cr.sin, SHAPES_1),
    Case("cos", cr.cos, SHAPES_1),
    Case("tanh", cr.tanh, SHAPES_1),
    Case("sigmoid", cr.sigmoid, SHAPES_1),
    Case("log_sigmoid", cr.log_sigmoid, SHAPES_1),
    Case("softplus", cr.softplus, SHAPES_1),
    Case("relu", cr.relu, SHAPES_1, (away_from_zero,)),
    Case("leaky_relu", lambda x: cr.leaky_relu(x, 0.1), SHAPES_1, (away_from_zero,)),
    Case("neg", lambda x: -x, SHAPES_1),
    Case("clip", lambda x: cr.clip(x * 3, -1.0, 1.0) * x, SHAPES_1, (away_from_zero,)),
    Case("pow-int", lambda x: x**3, SHAPES_1),
    Case("pow-real", lambda x: x**2.5, SHAPES_1, (positive,)),
    Case("rpow", lambda x: 2.0**x, SHAPES_1),
    Case("square", lambda x: x**2, SHAPES_1),
    Case("sum", lambda x: cr.sum(x) * x, SHAPES_1),
    Case("sum-axis", lambda x: cr.sum(x, axis=-1, keepdims=True) * x, SHAPES_1),
    Case("mean", lambda x: cr.mean(x, axis=0) ** 2, {"vector": [(4,)], "matrix": [(3, 4)]}),
    Case("max", lambda x: cr.max(x, axis=-1) * cr.max(x), {"vector": [(4,)], "matrix": [(3, 4)]}),
    Case(
        "min",
        lambda x: cr.min(x, axis=0, keepdims=True) * x,
        {"vector": [(4,)], "matrix": [(3, 4)]},
    ),
    Case(
        "prod", lambda x: cr.prod(x, axis=-1), {"vector": [(4,)], "matrix": [(3, 4)]}, (positive,)
    ),
    Case("prod-all", lambda x: cr.prod(x), SHAPES_1, (away_from_zero,)),
    Case("logsumexp", lambda x: cr.logsumexp(x * 2), SHAPES_1),
    Case(
        "logsumexp-axis",
        lambda x: cr.logsumexp(x, axis=0, keepdims=True) * x,
        {"vector": [(4,)], "matrix": [(3, 4)]},
    ),
    Case(
        "softmax",
        lambda x: cr.softmax(x) * np.arange(1.0, 5.0),
        {"vector": [(4,)], "matrix": [(3, 4)]},
    ),
    Case("softmax-axis0", lambda x: cr.softmax(x, axis=0) ** 2, {"matrix": [(3, 4)]}),
    Case(
        "log_softmax",
        lambda x: cr.log_softmax(x) * np.arange(1.0, 5.0),
        {"vector": [(4,)], "matrix": [(3, 4)]},
    ),
    Case("reshape", lambda x: cr.reshape(x, (-1,)) ** 2, SHAPES_1),
    Case("cast", lambda x: cr.cast(x * x, "float64") * x, SHAPES_1),
    Case("transpose", lambda x: x.T * cr.sin(x.T), SHAPES_1),
    Case("broadcast_to", lambda x: cr.broadcast_to(x, (2, *x.shape)) ** 2, SHAPES_1),
    Case("getitem", lambda x: x[..., 1:3] ** 2, {"vector": [(4,)], "matrix": [(3, 4)]}),
    Case("getitem-fancy", lambda x: x[..., [0, 2, 2]] ** 2, {"vector": [(4,)], "matrix": [(3, 4)]}),
    Case(
        "getitem-mask",
        lambda x: x[np.arange(x.size).reshape(x.shape) % 2 == 0] ** 2,
        {"vector": [(4,)], "matrix": [(3, 4)]},
    ),
    Case("add", lambda a, b: (a + b) ** 2, SHAPES_2),
    Case("sub", lambda a, b: (a - b) ** 2, SHAPES_2),
    Case("mul", lambda a, b: a * b, SHAPES_2),
    Case("div", lambda a, b: a / b, SHAPES_2, (normal, away_from_zero)),
    Case("pow", lambda a, b: a**b, SHAPES_2, (positive, normal)),
    Case("maximum", lambda a, b: cr.maximum(a, b) ** 2, SHAPES_2),
    Case("minimum", lambda a, b: cr.minimum(a, b) ** 2, SHAPES_2),
    Case(
        "where",
        lambda a, b: cr.where(np.array([True, False, True, False]), a, b) ** 2,
        {"vector": [(4,), (4,)], "broadcast": [(3, 1), (4,)]},
    ),
    Case(
        "matmul",
        lambda a, b: cr.tanh(a @ b),
        {
            "matrix": [(3, 4), (4, 2)],
            "matvec": [(3, 4), (4,)],
            "vecvec": [(4,), (4,)],
            "batch": [(2, 3, 4), (4, 2)],
        },
    ),
    Case(
        "concatenate",
        lambda a, b: cr.concatenate([a, b], axis=-1) ** 2,
        {"vector": [(4,), (3,)], "matrix": [(3, 4), (3, 2)]},
    ),
    Case(
        "stack",
        lambda a, b: cr.stack([a, b], axis=0) ** 2,
        {"vector": [(4,), (4,)], "matrix": [(3, 4), (3, 4)]},
    ),
]


def _params():
    out = []
    for case in CASES:
        for label, shapes in case.shapes.items():
            out.append(pytest.param(case, shapes, id=f"{case.name}-{label}"))
    return out


@pytest.mark.parametrize(("case", "shapes"), _params())
def test_primitive_to_second_order(case, shapes):
    rng = np.random.default_rng(zlib.crc32(f"{case.name}{shapes}".encode()))
    domains = case.domain * len(shapes) if len(case.domain) == 1 else case.domain
    args = [dom(rng, s) for dom, s in zip(domains, shapes, strict=True)]
    cr.check_grad(case.fn, *args, order=2, mode="nodes", full_max=12, directions=1)


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "log_softmax", "matmul"])
def test_float32_gradients(name):
    rng = np.random.default_rng(3)
    fns = {
        "exp": lambda x: cr.exp(x),
        "tanh": lambda x: cr.tanh(x),
        "sigmoid": lambda x: cr.sigmoid(x),
        "log_softmax": lambda x: cr.log_softmax(x),
        "matmul": lambda x: x @ x.T,
    }
    x = rng.standard_normal((3, 4)).astype(np.float32)
    cr.check_grad(fns[name], x, order=2)


#: Primitives whose gradients (to second order) are checked in another file.
TESTED_ELSEWHERE = {
    "einsum": "tests/autodiff/test_einsum_grad.py",
    "unfold": "tests/nn/test_conv.py",
    "fold": "tests/nn/test_conv.py",
    **dict.fromkeys(
        ("solve", "solve_triangular", "inv", "det", "slogdet", "cholesky", "eigh", "svd"),
        "tests/autodiff/test_linalg.py",
    ),
    "vector_norm": "tests/autodiff/test_linalg.py",
    **dict.fromkeys(("var", "std", "cumsum", "sort"), "tests/autodiff/test_reductions_more.py"),
    **dict.fromkeys(
        ("square", "exp2", "log2", "log10", "sinh", "cosh", "tan", "arcsin", "arccos", "arctan"),
        "tests/autodiff/test_elementwise_more.py",
    ),
    **dict.fromkeys(
        ("arcsinh", "arccosh", "arctanh", "logaddexp", "logaddexp2"),
        "tests/autodiff/test_elementwise_more.py",
    ),
    **dict.fromkeys(
        ("flip", "roll", "tile", "repeat", "diagonal", "diag", "tril", "triu"),
        "tests/autodiff/test_shape_ops.py",
    ),
}


def _other_package(prim: cr.Primitive) -> bool:
    """A primitive that another package of chainrule registers (nn's conv2d): its own tests check it."""
    module = getattr(prim.forward, "__module__", "") or ""
    return module.startswith("chainrule.") and not module.startswith("chainrule.autodiff.")


def test_every_builtin_primitive_is_covered():
    covered = {c.name.split("-")[0] for c in CASES} | {"rpow", "square", "identity", "scatter_add"}
    names = {
        n
        for n, p in cr.PRIMITIVES.items()
        if not n.startswith(("spy_", "test_", "bad_", "user_")) and not _other_package(p)
    }
    missing = {n for n in names if n not in covered and n not in TESTED_ELSEWHERE}
    assert not missing, missing


def test_scatter_add_second_order():
    idx = (np.array([0, 1, 1]), np.array([2, 0, 0]))
    cr.check_grad(lambda g: P.scatter_add(g, idx, (2, 3)) ** 2, np.array([1.0, 2.0, 3.0]), order=2)
