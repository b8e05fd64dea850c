"""The coverage table in docs/autodiff.md ("Coverage of autograd's NumPy") cannot go stale.

Every NumPy function that autograd differentiates has one row; a "yes" row names chainrule functions
that exist (``cr.x``, ``cr.linalg.x``, ``Tensor.x``); a "no" row gives a reason and names a function
chainrule does not export (when chainrule gains it, the row must turn to "yes").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

DOC = Path(__file__).resolve().parents[2] / "docs" / "autodiff.md"

#: The NumPy functions with gradients in autograd: autograd/numpy/numpy_vjps.py (defvjp, defvjps,
#: defvjp_argnum), autograd/numpy/linalg.py, and the array/stack functions of its numpy_wrapper.
_AUTOGRAD_NAMES = """
add subtract multiply divide true_divide negative power maximum minimum fmax fmin logaddexp
logaddexp2 mod remainder abs absolute fabs reciprocal exp exp2 expm1 log log2 log10 log1p sqrt
square sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh deg2rad radians
rad2deg degrees sinc clip where nan_to_num sum mean prod max min amax amin var std cumsum matmul
dot tensordot inner outer einsum kron cross reshape ravel squeeze expand_dims atleast_1d atleast_2d
atleast_3d transpose swapaxes moveaxis rollaxis roll flipud fliplr rot90 repeat tile diag diagonal
make_diagonal trace tril triu diff concatenate stack hstack vstack split array_split hsplit vsplit
dsplit array getitem sort msort partition full linspace real imag conj conjugate angle
real_if_close linalg.solve linalg.inv linalg.det linalg.slogdet linalg.cholesky linalg.eigh
linalg.svd linalg.norm linalg.pinv linalg.eig
"""
AUTOGRAD = _AUTOGRAD_NAMES.split()


def _rows() -> dict[str, tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- coverage-table:start -->")
    end = text.index("<!-- coverage-table:end -->")
    rows: dict[str, tuple[str, str]] = {}
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        assert name not in rows, f"two rows for {name}"
        rows[name] = (cells[1], cells[2])
    return rows


ROWS = _rows()


def _resolve(ref: str) -> object:
    """``cr.x`` / ``cr.linalg.x`` / ``Tensor.x``, or None when it does not exist."""
    parts = ref.split(".")
    obj: object = cr if parts[0] == "cr" else cr.Tensor
    for p in parts[1:]:
        obj = getattr(obj, p, None)
        if obj is None:
            return None
    return obj


def test_every_autograd_function_has_exactly_one_row():
    assert len(AUTOGRAD) == len(set(AUTOGRAD))
    assert sorted(ROWS) == sorted(AUTOGRAD)


@pytest.mark.parametrize(
    "name", sorted(n for n, (ours, _) in ROWS.items() if ours.startswith("yes"))
)
def test_a_yes_row_names_functions_that_exist(name):
    ours, _ = ROWS[name]
    refs = [r for r in re.findall(r"`([^`]+)`", ours) if r.startswith(("cr.", "Tensor."))]
    assert refs or re.findall(r"`([^`]+)`", ours), f"{name}: a yes row names what does it"
    for ref in refs:
        assert callable(_resolve(ref)), f"{name}: {ref} does not exist"


@pytest.mark.parametrize("name", sorted(n for n, (ours, _) in ROWS.items() if ours == "no"))
def test_a_no_row_has_a_reason_and_chainrule_lacks_the_function(name):
    _, note = ROWS[name]
    assert len(note) > 10, f"{name}: a no row says why"
    ref = "cr." + name
    assert _resolve(ref) is None, f"{ref} exists now: turn the row of {name} into a yes"


def test_rows_are_yes_or_no_only():
    for name, (ours, _) in ROWS.items():
        assert ours == "no" or ours.startswith("yes: "), name


def test_every_numpy_named_export_has_a_row_when_autograd_has_one():
    # A chainrule function named like an autograd-differentiated NumPy function is in a yes row
    # (the rows are not allowed to lag behind an export).
    for name in AUTOGRAD:
        if "." not in name and callable(getattr(cr, name, None)):
            assert ROWS[name][0].startswith("yes"), name


def _note(name: str) -> str:
    return ROWS[name][1]


def test_the_recipes_of_no_rows_are_numpys_values_and_gradients():
    # The nan_to_num note said ±inf became 0 and the diff note ignored diff's default axis=-1.
    x = np.array([[1.0, np.nan, -np.inf], [np.inf, -2.0, 0.5]])
    assert "np.finfo(t.dtype).max" in _note("nan_to_num")
    big = np.finfo(x.dtype).max
    t = cr.tensor(x, requires_grad=True)
    y = cr.where(np.isnan(t.data), 0.0, cr.clip(t, -big, big))
    np.testing.assert_array_equal(y.data, np.nan_to_num(x))
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.isfinite(x).astype(float))

    m = np.arange(12.0).reshape(3, 4) ** 2
    assert "t[..., 1:] - t[..., :-1]" in _note("diff")
    t = cr.tensor(m)
    np.testing.assert_array_equal((t[..., 1:] - t[..., :-1]).data, np.diff(m))


@pytest.mark.parametrize(("name", "axis"), [("hsplit", 1), ("vsplit", 0), ("dsplit", 2)])
def test_the_split_rows_name_numpys_axis(name, axis):
    assert f"axis={axis}" in _note(name)
    x = np.arange(16.0).reshape(2, 2, 4)
    ours = cr.split(x, 2, axis=axis)
    for o, t in zip(ours, getattr(np, name)(x, 2), strict=True):
        np.testing.assert_array_equal(o, t)
    if name == "hsplit":  # a 1-d array splits along axis 0
        assert "axis=0" in _note(name)
        v = np.arange(4.0)
        for o, t in zip(cr.split(v, 2, axis=0), np.hsplit(v, 2), strict=True):
            np.testing.assert_array_equal(o, t)
