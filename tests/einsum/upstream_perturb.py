"""A pytest plugin for tests/einsum/test_upstream_suites.py: chainrule's results come back doubled.

Loaded after ``upstream_shim`` (``-p upstream_shim -p upstream_perturb``) to check that the suites really
compare chainrule with independent results: with this plugin their comparisons must fail. It doubles
what ``chainrule.einsum.api.contract`` and a ``ContractExpression`` call return (numeric arrays and
scalars) and, in NumPy's run, what the shimmed ``numpy.einsum`` returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import upstream_shim

from chainrule.einsum import api


def _doubled(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if isinstance(result, (np.ndarray, np.generic)) and result.dtype.kind in "fciu":
            return result * 2
        return result

    return wrapper


api.contract = _doubled(api.contract)  # type: ignore[assignment]
api.ContractExpression.__call__ = _doubled(api.ContractExpression.__call__)  # type: ignore[method-assign]
if upstream_shim.SUITE == "NumPy":
    np.einsum = _doubled(np.einsum)
