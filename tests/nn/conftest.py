"""Helpers for the nn tests: central differences over a module's parameters (in place)."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from chainrule.autodiff import Tensor

FDCheck = Callable[[Callable[[], Any], Sequence[Tensor]], None]


def _fd_check(loss_fn: Callable[[], Any], tensors: Sequence[Tensor], eps: float = 1e-6) -> None:
    """Compare ``backward()`` gradients of ``loss_fn()`` with central differences, element by
    element, perturbing each tensor's data in place."""
    for t in tensors:
        t.grad = None
    loss = loss_fn()
    loss.backward()
    for t in tensors:
        assert t.grad is not None, t.name
        analytic = np.array(t.grad.data, dtype=np.float64)
        numeric = np.zeros_like(analytic)
        data = t.data
        flat = data.reshape(-1)
        for k in range(flat.size):
            old = flat[k].copy()
            flat[k] = old + eps
            hi = float(loss_fn().item())
            flat[k] = old - eps
            lo = float(loss_fn().item())
            flat[k] = old
            numeric.reshape(-1)[k] = (hi - lo) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7, err_msg=str(t.name))


@pytest.fixture
def fd_check() -> FDCheck:
    return _fd_check
