"""Layers: ``Linear``, activations, ``Dropout``, ``Sequential`` and ``MLP``.

Conventions:

- ``Linear`` stores ``weight`` with shape ``(in_features, out_features)`` and computes
  ``y = x @ weight + bias``: the equation reads as it is written in most textbooks (and in
  derivations), and a batch ``x`` of shape ``(..., in_features)`` needs no transpose. (PyTorch stores
  the transpose, ``(out, in)``: transpose its weights when importing them.)
- Initialisation (``init=``): ``"kaiming_uniform"`` draws ``U(-b, b)`` with ``b = sqrt(6 / fan_in)``
  (He et al. 2015, for ReLU-family activations); ``"glorot_uniform"`` uses
  ``b = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio 2010, for tanh/sigmoid); ``"zeros"``.
  Biases start at zero. :class:`MLP` picks Kaiming for ReLU-family activations and Glorot otherwise.
- ``rng``: a ``numpy.random.Generator`` or an int seed; ``None`` draws fresh entropy. The same seed
  gives the same weights.
- ``dtype``: the parameters' dtype (``"float64"`` default, ``"float32"``); inputs are not cast, so a
  float32 model fed float32 data computes in float32 throughout.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

import chainrule.autodiff as ad
from chainrule.autodiff import Tensor
from chainrule.nn.module import Module, parameter

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "as_rng",
    "get_activation",
]

_INITS = ("kaiming_uniform", "glorot_uniform", "zeros")


def as_rng(rng: np.random.Generator | int | None, seed: int | None = None) -> np.random.Generator:
    """A NumPy Generator from a Generator (returned as is), an int seed, or None (fresh entropy).

    ``seed`` is an alias for an int ``rng`` (``Linear(2, 3, seed=0)``).

    Raises:
        ValueError: both ``rng`` and ``seed`` are given.
        TypeError: ``rng`` is of another type.
    """
    if seed is not None:
        if rng is not None:
            raise ValueError("give rng or seed, not both")
        rng = seed
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, not {type(rng).__name__}")


def _check_size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def init_weight(
    shape: tuple[int, int], init: str, rng: np.random.Generator, dtype: Any
) -> np.ndarray:
    """A weight of ``shape = (fan_in, fan_out)`` drawn by ``init`` (see the module docstring)."""
    fan_in, fan_out = shape
    if init == "kaiming_uniform":
        bound = math.sqrt(6.0 / fan_in)
    elif init == "glorot_uniform":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
    elif init == "zeros":
        return np.zeros(shape, dtype=dtype)
    else:
        raise ValueError(f"init must be one of {', '.join(_INITS)}, not {init!r}")
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def _dtype(dtype: Any) -> np.dtype[Any]:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating dtype such as 'float32', not {dtype!r}")
    return dt


class Linear(Module):
    """``y = x @ weight + bias``: an affine map from ``in_features`` to ``out_features``.

    Args:
        in_features, out_features: sizes (positive ints).
        bias: learn a bias of shape ``(out_features,)``.
        dtype: parameters' dtype (floating).
        init: ``"kaiming_uniform"`` (default), ``"glorot_uniform"`` or ``"zeros"``.
        rng: Generator or int seed for the initial weights (``seed=`` is an alias).

    Shapes: input ``(..., in_features)``, output ``(..., out_features)``; ``weight`` is
    ``(in_features, out_features)``.

    Raises:
        ValueError: a non-positive size, an unknown ``init`` or non-floating ``dtype``; in
            ``forward``, an input whose last axis is not ``in_features`` (both shapes named).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = "float64",
        *,
        init: str = "kaiming_uniform",
        rng: np.random.Generator | int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _check_size("in_features", in_features)
        self.out_features = _check_size("out_features", out_features)
        dt = _dtype(dtype)
        w = init_weight((self.in_features, self.out_features), init, as_rng(rng, seed), dt)
        self.weight = parameter(w)
        self.bias: Tensor | None = (
            parameter(np.zeros(self.out_features, dtype=dt)) if bias else None
        )

    def forward(self, x: Any) -> Any:
        shape = tuple(getattr(x, "shape", np.shape(x)))
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input shape {shape} does not "
                f"end in {self.in_features} (weight shape {self.weight.shape})"
            )
        if not isinstance(x, Tensor):
            x = ad.as_tensor(x)
        y = x @ self.weight
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        dt = "" if str(self.weight.dtype) == "float64" else f", dtype={self.weight.dtype}"
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}{dt}"
        )


class ReLU(Module):
    """``max(x, 0)`` elementwise (derivative 0 at 0)."""

    def forward(self, x: Any) -> Any:
        return ad.relu(x)


class Tanh(Module):
    """``tanh(x)`` elementwise."""

    def forward(self, x: Any) -> Any:
        return ad.tanh(x)


class Sigmoid(Module):
    """``1 / (1 + e^{-x})`` elementwise (stable for large ``|x|``)."""

    def forward(self, x: Any) -> Any:
        return ad.sigmoid(x)


class Softplus(Module):
    """``log(1 + e^x)`` elementwise (stable for large ``|x|``)."""

    def forward(self, x: Any) -> Any:
        return ad.softplus(x)


class LeakyReLU(Module):
    """``x`` for ``x > 0``, ``negative_slope · x`` otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Any:
        return ad.leaky_relu(x, negative_slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope:g}"


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, x: Any) -> Any:
        return x


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)`` (so the expected value is unchanged); in eval mode, the identity.

    Raises:
        ValueError: ``p`` outside ``[0, 1)``.
    """

    def __init__(
        self,
        p: float = 0.5,
        rng: np.random.Generator | int | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), not {p!r}")
        self.p = float(p)
        self._rng = as_rng(rng, seed)

    def forward(self, x: Any) -> Any:
        if not self.training or self.p == 0.0:
            return x
        shape = tuple(getattr(x, "shape", np.shape(x)))
        dtype = getattr(x, "dtype", np.float64)
        keep = (self._rng.random(shape) >= self.p).astype(dtype) / (1.0 - self.p)
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


#: Activation modules by name (``None`` and ``"identity"`` mean no activation).
ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "softplus": Softplus,
    "leaky_relu": LeakyReLU,
    "identity": Identity,
}


def get_activation(activation: str | Module | None) -> Module:
    """An activation module from a name in :data:`ACTIVATIONS`, a Module (returned as is) or None.

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if activation is None:
        return Identity()
    if isinstance(activation, Module):
        return activation
    key = str(activation).lower()
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(sorted(ACTIVATIONS))}"
        )
    return ACTIVATIONS[key]()


class Sequential(Module):
    """Modules applied one after another.

    ``Sequential(m0, m1, ...)`` names them ``"0"``, ``"1"``, …; ``Sequential({"fc1": m0, ...})``
    (a mapping) uses its names. Indexing with an int or a name returns a module; slicing returns a
    new ``Sequential`` sharing the modules.
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for key, mod in modules[0].items():
                self.register_module(str(key), mod)
        else:
            for i, item in enumerate(modules):
                if not isinstance(item, Module):
                    raise TypeError(
                        f"Sequential item {i} must be a Module, not {type(item).__name__}"
                    )
                self.register_module(str(i), item)

    def append(self, module: Module, name: str | None = None) -> Sequential:
        """Add ``module`` at the end (named by its position unless ``name``); returns self."""
        self.register_module(name if name is not None else str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | str | slice) -> Any:
        if isinstance(index, str):
            return self._modules[index]
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        return items[index][1]

    def forward(self, x: Any) -> Any:
        for mod in self._modules.values():
            x = mod(x)
        return x


class MLP(Sequential):
    """A multi-layer perceptron: ``Linear`` layers of ``sizes`` with an activation between them.

    ``MLP([2, 8, 1])`` is ``fc1 = Linear(2, 8)``, ``act1 = ReLU()``, ``fc2 = Linear(8, 1)``; its
    parameters are ``fc1.weight``, ``fc1.bias``, ``fc2.weight``, ``fc2.bias``.

    Args:
        sizes: layer widths, input first (at least two positive ints).
        activation: between layers: a name of :data:`ACTIVATIONS` or a Module (shared).
        output_activation: after the last layer (``None``: none, i.e. logits).
        bias, dtype: as :class:`Linear`.
        init: as :class:`Linear`; ``None`` picks Kaiming for relu/leaky_relu and Glorot otherwise.
        rng: Generator or int seed (``seed=`` is an alias); one generator draws all layers in order.

    Raises:
        ValueError: fewer than two sizes, a non-positive size, an unknown activation or init.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Module | None = "relu",
        output_activation: str | Module | None = None,
        bias: bool = True,
        dtype: Any = "float64",
        *,
        init: str | None = None,
        rng: np.random.Generator | int | None = None,
        seed: int | None = None,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least two sizes (input and output), got {sizes!r}")
        sizes = [_check_size(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        act = get_activation(activation)  # validates the name before anything is built
        if init is None:
            init = (
                "kaiming_uniform"
                if isinstance(act, (ReLU, LeakyReLU)) or len(sizes) == 2
                else "glorot_uniform"
            )
        gen = as_rng(rng, seed)
        layers: dict[str, Module] = {}
        n = len(sizes) - 1
        for i in range(n):
            layers[f"fc{i + 1}"] = Linear(
                sizes[i], sizes[i + 1], bias=bias, dtype=dtype, init=init, rng=gen
            )
            if i < n - 1:
                layers[f"act{i + 1}"] = (
                    get_activation(activation) if isinstance(activation, (str, type(None))) else act
                )
        if output_activation is not None:
            layers["out_act"] = get_activation(output_activation)
        super().__init__(layers)
        self.sizes = tuple(sizes)

    def extra_repr(self) -> str:
        return f"sizes={list(self.sizes)}"
