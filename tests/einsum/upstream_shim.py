"""A pytest plugin that runs NumPy's and opt_einsum's own einsum tests against chainrule.

Loaded by tests/einsum/test_upstream_suites.py into a pytest subprocess (``-p upstream_shim``), one per
suite, named by the environment variable ``CHAINRULE_UPSTREAM_SUITE``. On import (before any test module
is collected) it replaces, for NumPy's suite, ``numpy.einsum`` and ``numpy.einsum_path``; for
opt_einsum's, ``opt_einsum.contract``, ``opt_einsum.contract_path`` and ``opt_einsum.contract_expression``
with chainrule's, wrapped only to note that the current test called chainrule (``numpy.einsum_path`` also
answers in NumPy's form: ``['einsum_path', *steps]`` and the report as text, default ``"greedy"``). In
opt_einsum's run NumPy's einsum stays NumPy's and ``contract(..., optimize=False)``, opt_einsum's
reference, stays opt_einsum's (NumPy's einsum in one call), so its tests compare chainrule with
independent results. It hides opt_einsum's optional backends that CI does not install (:data:`HIDDEN`). Each test's outcome is
written as JSON to the file named by the environment variable ``CHAINRULE_UPSTREAM_RESULTS``: its
outcome, whether it called chainrule, and for a failure its failing source lines and error lines.
"""

from __future__ import annotations

import functools
import importlib.abc
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import opt_einsum
import pytest

from chainrule.einsum import api

#: opt_einsum's optional backends that CI's test environment does not install: hidden here too, so that
#: their tests skip everywhere and the counts do not depend on what else a machine has installed.
HIDDEN = ("torch", "jax", "jaxlib", "tensorflow", "theano", "cupy", "autograd", "sparse")


class _Hide(importlib.abc.MetaPathFinder):
    """Refuses to import the :data:`HIDDEN` libraries (as if they were not installed)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden by upstream_shim)")
        return None


for _name in list(sys.modules):
    if _name.split(".")[0] in HIDDEN:
        del sys.modules[_name]
sys.meta_path.insert(0, _Hide())

_CALLED: list[bool] = [False]


def _numpy_einsum_path(*operands: Any, optimize: Any = "greedy") -> tuple[list[Any], str]:
    """NumPy's return convention over chainrule's path: ``(['einsum_path', *steps], report text)``."""
    path, info = api.einsum_path(*operands, optimize=optimize)
    return ["einsum_path", *path], str(info)


def _noting(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _CALLED[0] = True
        return fn(*args, **kwargs)

    return wrapper


#: Which suite runs here (``CHAINRULE_UPSTREAM_SUITE``): ``NumPy`` or ``opt_einsum``.
SUITE = os.environ.get("CHAINRULE_UPSTREAM_SUITE", "NumPy")
#: opt_einsum's own ``contract``, kept for its reference results.
ORIGINAL_CONTRACT = opt_einsum.contract


def _contract(*args: Any, **kwargs: Any) -> Any:
    """chainrule's ``contract``, except opt_einsum's reference form ``contract(..., optimize=False)``.

    opt_einsum's tests compute their expected results with ``contract(..., optimize=False)`` (one call
    of NumPy's einsum) or ``numpy.einsum`` itself: those stay opt_einsum's and NumPy's, so that every
    comparison sets chainrule against an independent result.
    """
    if kwargs.get("optimize", "auto") is False:
        return ORIGINAL_CONTRACT(*args, **kwargs)
    _CALLED[0] = True
    return api.contract(*args, **kwargs)


if SUITE == "NumPy":
    np.einsum = _noting(api.einsum)
    np.einsum_path = _noting(_numpy_einsum_path)
elif SUITE == "opt_einsum":
    opt_einsum.contract = _contract
    opt_einsum.contract_path = _noting(api.contract_path)
    opt_einsum.contract_expression = _noting(api.contract_expression)
else:
    raise ValueError(f"CHAINRULE_UPSTREAM_SUITE must be 'NumPy' or 'opt_einsum', got {SUITE!r}")

_OUTCOMES: dict[str, dict[str, Any]] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _CALLED[0] = False


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    test_id = os.path.basename(report.location[0]) + "::" + report.nodeid.split("::", 1)[-1]
    entry = _OUTCOMES.setdefault(test_id, {"outcome": "passed", "called": False})
    if report.when == "call":
        entry["called"] = _CALLED[0]
    if report.failed:
        entry["outcome"] = "failed"
        if "message" not in entry:
            # The failing source line of each frame (">"), the error lines ("E"), pytest's last line.
            lines = report.longreprtext.strip().splitlines()
            sources = [line[1:].strip() for line in lines if line.startswith(">")]
            errors = [line[1:].strip() for line in lines if line.startswith("E ")]
            entry["message"] = sources[-5:] + errors[:20] + lines[-1:]
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("CHAINRULE_UPSTREAM_RESULTS")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"exitstatus": int(exitstatus), "tests": _OUTCOMES}, f)
