"""chainrule: a NumPy-native deep-learning core that is fast and shows its work.

The public API is re-exported here; nothing else lives in this file. The names load on first use (a module
``__getattr__``), so ``import chainrule`` and ``chainrule --help`` do not pay for NumPy, SciPy and the engine
until something is used: ``chainrule.einsum``, ``chainrule.tensor`` and ``from chainrule import grad`` work
as before.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from chainrule._version import __version__

if TYPE_CHECKING:
    from chainrule.autodiff import (
        PRIMITIVES,
        GradCheckError,
        Primitive,
        Tensor,
        abs,
        as_tensor,
        broadcast_to,
        cast,
        check_grad,
        clip,
        concatenate,
        cos,
        einsum,  # Tensor-aware: the engine itself on plain arrays
        enable_grad,
        exp,
        expm1,
        grad,
        hvp,
        is_grad_enabled,
        jacobian,
        leaky_relu,
        log,
        log1p,
        log_sigmoid,
        log_softmax,
        logsumexp,
        matmul,
        max,
        maximum,
        mean,
        min,
        minimum,
        no_grad,
        permute,
        prod,
        register_primitive,
        relu,
        reshape,
        sigmoid,
        sin,
        softmax,
        softplus,
        sqrt,
        stack,
        sum,
        tanh,
        topological_order,
        transpose,
        value_and_grad,
        vjp,
        where,
    )
    from chainrule.autodiff.draw import GraphDrawing, draw, to_dot, to_svg
    from chainrule.autodiff.explain import Explanation, explain

    # The function, not the submodule chainrule.autodiff.tensor (which mypy would otherwise see).
    from chainrule.autodiff.tensor import tensor
    from chainrule.einsum import contract_expression, einsum_path
    from chainrule.einsum.latex import IndexSpec, parse_index_notation

#: Where each public name lives.
_SOURCES: dict[str, str] = {
    **dict.fromkeys(
        (
            "PRIMITIVES",
            "GradCheckError",
            "Primitive",
            "Tensor",
            "abs",
            "as_tensor",
            "broadcast_to",
            "cast",
            "check_grad",
            "clip",
            "concatenate",
            "cos",
            "einsum",
            "enable_grad",
            "exp",
            "expm1",
            "grad",
            "hvp",
            "is_grad_enabled",
            "jacobian",
            "leaky_relu",
            "log",
            "log1p",
            "log_sigmoid",
            "log_softmax",
            "logsumexp",
            "matmul",
            "max",
            "maximum",
            "mean",
            "min",
            "minimum",
            "no_grad",
            "permute",
            "prod",
            "register_primitive",
            "relu",
            "reshape",
            "sigmoid",
            "sin",
            "softmax",
            "softplus",
            "sqrt",
            "stack",
            "sum",
            "tanh",
            "tensor",
            "topological_order",
            "transpose",
            "value_and_grad",
            "vjp",
            "where",
        ),
        "chainrule.autodiff",
    ),
    **dict.fromkeys(("GraphDrawing", "draw", "to_dot", "to_svg"), "chainrule.autodiff.draw"),
    **dict.fromkeys(("Explanation", "explain"), "chainrule.autodiff.explain"),
    **dict.fromkeys(("contract_expression", "einsum_path"), "chainrule.einsum"),
    **dict.fromkeys(("IndexSpec", "parse_index_notation"), "chainrule.einsum.latex"),
}

#: The subpackages and modules reachable as attributes (``chainrule.linear``), imported on first use.
_SUBMODULES = frozenset({"autodiff", "backend", "cli", "commands", "linear", "nn", "problems"})


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is not None:
        value = getattr(importlib.import_module(source), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


class _Package(types.ModuleType):
    """The package's module type: importing the subpackage ``chainrule.einsum`` binds the module to the name
    ``einsum`` in its parent; here that name is the function, so the binding is skipped."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "einsum" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "PRIMITIVES",
    "Explanation",
    "GradCheckError",
    "GraphDrawing",
    "IndexSpec",
    "Primitive",
    "Tensor",
    "__version__",
    "abs",
    "as_tensor",
    "broadcast_to",
    "cast",
    "check_grad",
    "clip",
    "concatenate",
    "contract_expression",
    "cos",
    "draw",
    "einsum",
    "einsum_path",
    "enable_grad",
    "exp",
    "explain",
    "expm1",
    "grad",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "leaky_relu",
    "log",
    "log1p",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "no_grad",
    "parse_index_notation",
    "permute",
    "prod",
    "register_primitive",
    "relu",
    "reshape",
    "sigmoid",
    "sin",
    "softmax",
    "softplus",
    "sqrt",
    "stack",
    "sum",
    "tanh",
    "tensor",
    "to_dot",
    "to_svg",
    "topological_order",
    "transpose",
    "value_and_grad",
    "vjp",
    "where",
]
