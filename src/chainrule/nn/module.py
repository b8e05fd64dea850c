"""``Module``: the base class of layers and networks.

A module owns *parameters* (leaf Tensors with ``requires_grad``), *buffers* (arrays that are saved
with the module but not trained) and *sub-modules*. Assigning an attribute registers it::

    class Net(Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = Linear(2, 8)        # a sub-module
            self.scale = cr.tensor(1.0, requires_grad=True)   # a parameter

Registration keeps definition order. Parameters get *display names* so that :func:`chainrule.explain`
and :func:`chainrule.draw` show them: an unnamed parameter is named by its attribute (``weight``), and
when its module is assigned into a parent the name gets the parent's prefix (``fc1.weight``). A
parameter that already had a name of its own (``w_{2,4}``) keeps it. Names are refreshed on each
assignment of a sub-module; :meth:`Module.rename_parameters` refreshes them explicitly (for example
after adding a layer to a module that is already inside another).

Parameters are updated in place (by optimizers, :meth:`Module.load_state_dict`): a graph recorded
*before* such an update and kept with ``retain_graph`` sees the new values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.autodiff import Tensor, as_tensor

__all__ = ["Module"]

_REGISTRIES = ("_parameters", "_buffers", "_modules")


def _is_numpy(data: Any) -> bool:
    return isinstance(data, (np.ndarray, np.generic))


def _dtype_name(dtype: Any) -> str:
    """``float32`` for NumPy's, array_api_strict's or torch's float32 alike."""
    return str(dtype).rsplit(".", 1)[-1]


def _like(new: Any, current: Any) -> Any:
    """``new`` in the array namespace of ``current`` (NumPy when ``current`` is not an array)."""
    if _is_numpy(current) or not backend.is_array(current):
        return np.asarray(backend.to_numpy(new))
    xp = backend.array_namespace(current)
    return xp.asarray(backend.to_numpy(new) if _is_numpy(new) else new)


def _copy(data: Any) -> Any:
    """A copy of an array in its own namespace (a NumPy array for NumPy data)."""
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data, copy=True)
    xp = backend.array_namespace(data)
    return xp.asarray(data, copy=True)


class Module:
    """Base class: parameters, buffers and sub-modules registered by attribute assignment.

    Subclasses call ``super().__init__()`` first and implement :meth:`forward`; calling the module
    calls ``forward``.
    """

    training: bool
    _parameters: dict[str, Tensor]
    _buffers: dict[str, Any]
    _modules: dict[str, Module]
    _auto_names: dict[str, str]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        # Display names this module gave its parameters, so that a later prefix replaces only
        # names it wrote itself and never a name the user chose.
        object.__setattr__(self, "_auto_names", {})
        object.__setattr__(self, "training", True)

    # --- registration ------------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__(): call super().__init__() first "
                f"in {type(self).__name__}.__init__"
            )
        if isinstance(value, Module):
            self.register_module(name, value)
        elif isinstance(value, Tensor) and value.requires_grad and value.is_leaf:
            # Only leaves are parameters; a computed tensor (say, a cached activation) is a plain
            # attribute, as is a tensor that does not require grad.
            self.register_parameter(name, value)
        else:
            if name in self._parameters or name in self._modules:
                # Assigning anything else (None, a constant) to a registered name unregisters it.
                self._parameters.pop(name, None)
                self._modules.pop(name, None)
                self._auto_names.pop(name, None)
            if name in self._buffers:
                self._buffers[name] = value
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for reg in _REGISTRIES:
            getattr(self, reg).pop(name, None)
        self._auto_names.pop(name, None)
        object.__delattr__(self, name)

    def _unregister(self, name: str) -> None:
        for reg in _REGISTRIES:
            getattr(self, reg).pop(name, None)

    def register_parameter(self, name: str, param: Tensor) -> None:
        """Register ``param`` under ``name`` (any string; attribute-style names also become attributes).

        An unnamed ``param`` is given the display name ``name``.

        Raises:
            TypeError: ``param`` is not a Tensor that requires grad.
            ValueError: ``param`` is not a leaf (it was computed from other tensors); or ``name``
                is empty or contains a dot.
        """
        self._check_name(name)
        if not isinstance(param, Tensor) or not param.requires_grad:
            raise TypeError(
                f"parameter {name!r} must be a Tensor with requires_grad=True, "
                f"not {type(param).__name__}"
            )
        if not param.is_leaf:
            raise ValueError(
                f"parameter {name!r} must be a leaf tensor, but it was computed by "
                f"{param.op.name if param.op else '?'}; use t.detach().requires_grad_()"
            )
        self._unregister(name)
        self._parameters[name] = param
        if param.name is None or param.name == self._auto_names.get(name):
            param.name = name
            self._auto_names[name] = name
        if name.isidentifier():
            object.__setattr__(self, name, param)

    def register_buffer(self, name: str, value: Any) -> None:
        """Register an array (or Tensor) that is saved in :meth:`state_dict` but not trained."""
        self._check_name(name)
        self._unregister(name)
        self._buffers[name] = value
        if name.isidentifier():
            object.__setattr__(self, name, value)

    def register_module(self, name: str, module: Module) -> None:
        """Register a sub-module; its parameters' display names get the prefix ``name.``."""
        self._check_name(name)
        if not isinstance(module, Module):
            raise TypeError(f"sub-module {name!r} must be a Module, not {type(module).__name__}")
        self._unregister(name)
        self._modules[name] = module
        module.rename_parameters(name + ".")
        if name.isidentifier():
            object.__setattr__(self, name, module)

    @staticmethod
    def _check_name(name: str) -> None:
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"a registered name must be a non-empty string without '.': {name!r}")

    def rename_parameters(self, prefix: str = "") -> None:
        """Give every parameter that carries a name this library wrote the display name
        ``prefix + dotted path`` (names chosen by the user are kept)."""
        for mod, mod_prefix in self._walk(prefix):
            for key, p in mod._parameters.items():
                if p.name is None or p.name == mod._auto_names.get(key):
                    p.name = mod_prefix + key
                    mod._auto_names[key] = p.name

    # --- traversal ---------------------------------------------------------------------------------

    def _walk(self, prefix: str = "") -> Iterator[tuple[Module, str]]:
        """Every module of the tree once (pre-order, definition order) with its dotted prefix."""
        stack: list[tuple[Module, str]] = [(self, prefix)]
        seen: set[int] = set()
        while stack:
            mod, pre = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield mod, pre
            stack.extend((m, f"{pre}{k}.") for k, m in reversed(mod._modules.items()))

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``prefix`` stripped of its dot) and
        every sub-module, in definition order; a shared module is listed once."""
        for mod, pre in self._walk(prefix + "." if prefix else ""):
            yield pre[:-1], mod

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, in definition order."""
        for _, mod in self.named_modules():
            yield mod

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in definition order."""
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, parameter)`` in definition order (a module's own parameters first, then
        its sub-modules'); a parameter shared by two modules is listed once, under its first name."""
        seen: set[int] = set()
        for mod, pre in self._walk(prefix + "." if prefix else ""):
            for key, p in mod._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield pre + key, p

    def parameters(self) -> list[Tensor]:
        """The parameters, in :meth:`named_parameters` order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        """``(dotted name, buffer)`` in definition order."""
        for mod, pre in self._walk():
            for key, b in mod._buffers.items():
                yield pre + key, b

    @property
    def num_parameters(self) -> int:
        """The number of trainable scalars (elements of all parameters)."""
        return sum(p.size for p in self.parameters())

    # --- modes and gradients -----------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (affects layers such as Dropout) here and below; returns self."""
        for mod in self.modules():
            object.__setattr__(mod, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype: Any) -> Module:
        """Convert every floating parameter and buffer to ``dtype`` (``"float32"``) in place (the
        Tensor objects stay, so optimizers made before keep working); returns self."""
        for p in self.parameters():
            p.data = backend.asarray(p.data, dtype=dtype)
            if p.grad is not None:
                p.grad = None
        for mod in self.modules():
            for key, b in list(mod._buffers.items()):
                data = b.data if isinstance(b, Tensor) else b
                kind = getattr(getattr(data, "dtype", None), "kind", "")
                if kind == "f":
                    new = backend.asarray(data, dtype=dtype)
                    if isinstance(b, Tensor):
                        b.data = new
                    else:
                        mod.register_buffer(key, new)
        return self

    def to(self, xp: Any) -> Module:
        """Move every parameter and buffer to the Array API namespace ``xp`` (for example
        ``array_api_strict``, ``cupy``), keeping dtypes and the Tensor objects; returns self.

        Create optimizers after moving (their state lives in the parameters' namespace)."""
        for p in self.parameters():
            p.data = xp.asarray(backend.to_numpy(p.data) if _is_numpy(p.data) else p.data)
            p.grad = None
        for mod in self.modules():
            for key, b in list(mod._buffers.items()):
                data = b.data if isinstance(b, Tensor) else b
                if backend.is_array(data):
                    new = xp.asarray(data)
                    if isinstance(b, Tensor):
                        b.data = new
                    else:
                        mod.register_buffer(key, new)
        return self

    # --- calling -----------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- state -------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Copies of every parameter's and buffer's array, by dotted name (parameters first)."""
        state: dict[str, Any] = {}
        for name, p in self.named_parameters():
            state[name] = _copy(p.data)
        for name, b in self.named_buffers():
            state[name] = _copy(b.data if isinstance(b, Tensor) else b)
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy ``state`` (dotted name → array) into the parameters and buffers, in place.

        Every value is checked first; nothing changes unless all of them fit.

        Args:
            state: as returned by :meth:`state_dict` or :func:`chainrule.nn.io.load`.
            strict: the keys must be exactly this module's (else missing/unexpected keys are
                ignored).

        Raises:
            KeyError: with ``strict``, missing or unexpected keys (all of them named).
            ValueError: a value whose shape or dtype differs from the parameter's (names it and
                both shapes/dtypes).
        """
        targets: dict[str, tuple[Any, Any, str]] = {}
        for name, p in self.named_parameters():
            targets[name] = (p, p.data, "parameter")
        for mod, pre in self._walk():
            for key, b in mod._buffers.items():
                targets[pre + key] = (
                    (b, b.data, "buffer") if isinstance(b, Tensor) else ((mod, key), b, "buffer")
                )
        if strict:
            missing = [k for k in targets if k not in state]
            unexpected = [k for k in state if k not in targets]
            if missing or unexpected:
                parts = []
                if missing:
                    parts.append("missing " + ", ".join(missing))
                if unexpected:
                    parts.append("unexpected " + ", ".join(unexpected))
                raise KeyError(f"load_state_dict into {type(self).__name__}: {'; '.join(parts)}")
        checked: list[tuple[Any, Any, Any]] = []
        for name, (owner, current, what) in targets.items():
            if name not in state:
                continue
            raw = state[name]
            new = raw.data if isinstance(raw, Tensor) else raw
            if not backend.is_array(new) or isinstance(new, np.generic):
                new = np.asarray(new)
            cur_shape = tuple(getattr(current, "shape", ()))
            new_shape = tuple(new.shape)
            if new_shape != cur_shape:
                raise ValueError(f"{what} {name!r}: expected shape {cur_shape}, got {new_shape}")
            cur_dtype = getattr(current, "dtype", None)
            if cur_dtype is not None and _dtype_name(new.dtype) != _dtype_name(cur_dtype):
                raise ValueError(
                    f"{what} {name!r}: expected dtype {cur_dtype}, got {new.dtype} "
                    f"(convert the module with .astype({str(new.dtype)!r}) or the state first)"
                )
            checked.append((owner, current, new))
        for owner, current, new in checked:
            if isinstance(owner, Tensor):
                if isinstance(current, np.ndarray) and current.flags.writeable:
                    current[...] = new  # in place: views and optimizers keep seeing the parameter
                else:
                    owner.data = _copy(_like(new, current))
            else:
                mod, key = owner
                mod.register_buffer(key, _copy(_like(new, current)))

    # --- printing ----------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr line (subclasses override)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        if not self._modules:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}({extra + ',' if extra else ''}"]
        for key, mod in self._modules.items():
            body = repr(mod).replace("\n", "\n  ")
            lines.append(f"  ({key}): {body}")
        for key, p in self._parameters.items():
            lines.append(f"  ({key}): Parameter(shape={p.shape}, dtype={p.dtype})")
        return "\n".join(lines) + "\n)"


def parameter(data: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """A leaf Tensor that requires grad (a trainable parameter), holding its own copy of ``data``."""
    arr = np.array(data, dtype=dtype, copy=True) if not backend.is_array(data) else _copy(data)
    if dtype is not None and backend.is_array(arr):
        arr = backend.asarray(arr, dtype=dtype)
    return as_tensor(arr, requires_grad=True, name=name)  # arr is already a private copy
