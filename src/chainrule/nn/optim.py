"""Optimizers: ``SGD`` and ``Adam`` (with the AdamW variant), and ``clip_grad_norm``.

An optimizer holds a list of parameters (leaf Tensors). :meth:`Optimizer.step` reads each
parameter's ``grad`` (parameters whose ``grad`` is ``None`` are skipped, their state untouched) and
updates ``param.data`` **in place**, without recording a graph, so the parameter objects (and any
module holding them) keep working. Hyperparameters are attributes (``opt.lr = 1e-4`` changes the
learning rate from the next step). Each update is an in-place change of the parameter (its version
goes up): backward through a graph recorded before the step raises instead of returning gradients of
values that have changed since (docs/autodiff.md, "In-place changes").

State: :meth:`Optimizer.state_dict` gives plain data (numbers and arrays, per parameter index), which
:func:`chainrule.nn.io.save` writes without pickle, and :meth:`Optimizer.load_state_dict` restores it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from chainrule import backend
from chainrule.autodiff import Tensor, as_tensor
from chainrule.autodiff.tensor import _record_change
from chainrule.nn import native
from chainrule.nn.module import Module

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "clip_grad_norm"]


def _params(params: Iterable[Tensor] | Module) -> list[Tensor]:
    items = params.parameters() if isinstance(params, Module) else list(params)
    if not items:
        raise ValueError("the optimizer got an empty parameter list")
    seen: set[int] = set()
    out = []
    for i, p in enumerate(items):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {i} must be a Tensor, not {type(p).__name__}")
        if not p.is_leaf:
            raise ValueError(f"parameter {i} ({p.name or 'unnamed'}) is not a leaf tensor")
        if id(p) in seen:
            raise ValueError(f"parameter {i} ({p.name or 'unnamed'}) is listed twice")
        seen.add(id(p))
        out.append(p)
    return out


def _nonneg(name: str, value: float) -> float:
    v = float(value)
    if not v >= 0.0 or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
    return v


def _grad_data(p: Tensor) -> Any:
    g = p.grad
    return g._data if isinstance(g, Tensor) else g


def _zeros_like(x: Any) -> Any:
    if isinstance(x, (np.ndarray, np.generic)):
        return np.zeros_like(x)
    xp = backend.array_namespace(x)
    return xp.zeros_like(x)


def _copy(x: Any) -> Any:
    if isinstance(x, (np.ndarray, np.generic)):
        return np.array(x, copy=True)
    xp = backend.array_namespace(x)
    return xp.asarray(x, copy=True)


class Optimizer:
    """Base class: parameters, ``zero_grad``, ``step``, state save/load.

    Subclasses define ``_HYPER`` (the hyperparameter attribute names), ``_SLOTS`` (the per-parameter
    arrays of their state) and ``_update(i, p, g)``.
    """

    _HYPER: tuple[str, ...] = ()
    _SLOTS: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor] | Module) -> None:
        self.params = _params(params)
        #: Per-parameter state, by index into ``params``: ``{"step": int, slot: array, ...}``.
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place.

        Raises:
            ValueError: a gradient whose shape differs from its parameter's.
        """
        for i, p in enumerate(self.params):
            g = self._grad_for_step(i, p)
            if g is not None:
                self._update(i, p, g)

    def _grad_for_step(self, i: int, p: Tensor) -> Any:
        """``p``'s gradient data (``None`` when it has none), after checking its shape; makes
        ``p.data`` writable in place (NumPy scalars and read-only arrays become owned copies) and
        records the coming update as an in-place change of ``p``."""
        g = _grad_data(p)
        if g is None:
            return None
        d = p._data
        if g.shape != d.shape and tuple(g.shape) != tuple(d.shape):
            raise ValueError(
                f"parameter {i} ({p.name or 'unnamed'}): gradient shape {tuple(g.shape)} "
                f"differs from the parameter's {tuple(d.shape)}"
            )
        if isinstance(d, np.generic) or (isinstance(d, np.ndarray) and not d.flags.writeable):
            # NumPy scalars and read-only arrays cannot be updated in place: own a copy.
            p._data = np.array(d, copy=True)
        _record_change(p, "an optimizer step")
        return g

    def _update(self, i: int, p: Tensor, g: Any) -> None:
        raise NotImplementedError

    def _slot_state(self, i: int, p: Tensor) -> dict[str, Any]:
        st = self.state.get(i)
        if st is None:
            st = {"step": 0}
            self.state[i] = st
        return st

    # --- state -------------------------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters by name."""
        return {k: getattr(self, k) for k in self._HYPER}

    def state_dict(self) -> dict[str, Any]:
        """``{"type", "hyperparameters", "n_params", "state": {"0": {"step": n, slot: array}}}``:
        numbers, strings and (copied) arrays only."""
        hyper = {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in self.hyperparameters().items()
        }
        return {
            "type": type(self).__name__,
            "hyperparameters": hyper,
            "n_params": len(self.params),
            "state": {
                str(i): {k: (_copy(v) if k != "step" else int(v)) for k, v in st.items()}
                for i, st in sorted(self.state.items())
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (hyperparameters and per-parameter state).

        Raises:
            ValueError: another optimizer type, another number of parameters, an unknown slot or a
                slot array whose shape differs from its parameter's (all named).
        """
        kind = state.get("type")
        if kind != type(self).__name__:
            raise ValueError(f"optimizer state is for {kind!r}, not {type(self).__name__}")
        n = int(state.get("n_params", -1))
        if n != len(self.params):
            raise ValueError(
                f"optimizer state has {n} parameters, this {type(self).__name__} has "
                f"{len(self.params)}"
            )
        new_state: dict[int, dict[str, Any]] = {}
        for key, st in dict(state.get("state", {})).items():
            i = int(key)
            if not 0 <= i < n:
                raise ValueError(f"optimizer state names parameter {i}, outside 0..{n - 1}")
            p = self.params[i]
            entry: dict[str, Any] = {"step": int(st.get("step", 0))}
            for slot, arr in st.items():
                if slot == "step":
                    continue
                if slot not in self._SLOTS:
                    raise ValueError(f"parameter {i}: unknown optimizer state {slot!r}")
                a = np.asarray(arr) if not backend.is_array(arr) else arr
                if tuple(a.shape) != tuple(p._data.shape):
                    raise ValueError(
                        f"parameter {i} ({p.name or 'unnamed'}): state {slot!r} has shape "
                        f"{tuple(a.shape)}, the parameter {tuple(p._data.shape)}"
                    )
                entry[slot] = _copy(backend.asarray(a, dtype=p._data.dtype))
            new_state[i] = entry
        hyper = dict(state.get("hyperparameters", {}))
        unknown = set(hyper) - set(self._HYPER)
        if unknown:
            raise ValueError(f"unknown hyperparameters: {', '.join(sorted(unknown))}")
        for k, v in hyper.items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.state = new_state

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    Per step, with gradient ``g`` of parameter ``p`` (PyTorch's convention)::

        g ← g + weight_decay · p
        b ← momentum · b + g          (b = g at the first step)
        g ← g + momentum · b   if nesterov   else   g ← b      (only when momentum > 0)
        p ← p − lr · g

    Raises:
        ValueError: a negative or non-finite ``lr``/``momentum``/``weight_decay``; ``nesterov``
            without momentum.
    """

    _HYPER = ("lr", "momentum", "weight_decay", "nesterov")
    _SLOTS = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Tensor] | Module,
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = _nonneg("lr", lr)
        self.momentum = _nonneg("momentum", momentum)
        self.weight_decay = _nonneg("weight_decay", weight_decay)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov momentum needs momentum > 0")

    def _update(self, i: int, p: Tensor, g: Any) -> None:
        d = p._data
        if self.weight_decay:
            g = g + self.weight_decay * d
        if self.momentum:
            st = self._slot_state(i, p)
            buf = st.get("momentum_buffer")
            if buf is None:
                buf = _copy(g)
                st["momentum_buffer"] = buf
            else:
                buf *= self.momentum
                buf += g
            st["step"] += 1
            g = g + self.momentum * buf if self.nesterov else buf
        else:
            self._slot_state(i, p)["step"] += 1
        d -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with L2 or decoupled (AdamW) weight decay.

    Per step ``t`` (counted per parameter), with gradient ``g`` of parameter ``p``::

        g ← g + weight_decay · p                      (L2, when not decoupled)
        p ← p · (1 − lr · weight_decay)               (AdamW, when decoupled_weight_decay)
        m ← β1 · m + (1 − β1) · g
        v ← β2 · v + (1 − β2) · g²
        p ← p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps)

    Args:
        params: Tensors or a Module.
        lr: step size.
        betas: (β1, β2) in [0, 1).
        eps: added to the denominator.
        weight_decay: decay coefficient (L2 penalty added to the gradient by default).
        decoupled_weight_decay: shrink the weights directly instead (AdamW, Loshchilov & Hutter
            2019); :class:`AdamW` is Adam with this on and ``weight_decay=0.01``.

    Raises:
        ValueError: a beta outside [0, 1), a negative ``lr``, ``eps`` or ``weight_decay``.
    """

    _HYPER = ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay")
    _SLOTS = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Tensor] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(params)
        self.lr = _nonneg("lr", lr)
        b1, b2 = (float(b) for b in betas)
        for k, b in enumerate((b1, b2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"betas[{k}] must be in [0, 1), not {b!r}")
        self.betas = (b1, b2)
        self.eps = _nonneg("eps", eps)
        self.weight_decay = _nonneg("weight_decay", weight_decay)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self._scratch: dict[int, np.ndarray] = {}
        self._block_scratch: dict[np.dtype[Any], np.ndarray] = {}
        self._groups: dict[tuple[int, ...], _AdamGroup] = {}

    def step(self) -> None:
        """Update every parameter that has a gradient, in place (see :class:`Adam`).

        Contiguous NumPy parameters with gradients of their own dtype take a fast path: in C where
        the extension is built (:func:`chainrule.nn.native.adam`, one pass, the same operations per
        element, so the same bits); otherwise the update runs in cache-sized blocks (each block
        goes through all 13 in-place NumPy passes while it is in the core's cache, instead of each
        pass streaming whole arrays from memory). Each element sees exactly the operations of the
        plain path, so the results are identical bit for bit. Small ones (at most :data:`GROUP_MAX` elements, same dtype and step count) are
        updated together as one flat array (:meth:`_step_group`), again with the same operations
        per element. Other parameters (other dtypes or Array API namespaces) go through
        :meth:`_update`.

        Raises:
            ValueError: a gradient whose shape differs from its parameter's.
        """
        small: dict[tuple[np.dtype[Any], int], list[tuple[int, Tensor, np.ndarray]]] = {}
        try:
            for i, p in enumerate(self.params):
                g = self._grad_for_step(i, p)
                if g is None:
                    continue
                if self._groupable(i, p, g):
                    st = self.state.get(i)
                    key = (p._data.dtype, 0 if st is None else int(st["step"]))
                    small.setdefault(key, []).append((i, p, g))
                    continue
                job = self._fast_job(i, p, g)
                if job is None:
                    self._update(i, p, g)
                else:
                    _run_blocked(job)
        finally:  # on an error too: the parameters before it are updated, whole
            for members in small.values():
                self._step_small(members)

    def _step_small(self, members: list[tuple[int, Tensor, np.ndarray]]) -> None:
        if len(members) > 1:
            self._step_group(members)
            return
        i, p, g = members[0]
        job = self._fast_job(i, p, g)
        assert job is not None  # _groupable checked what _fast_job needs
        _run_blocked(job)

    def _groupable(self, i: int, p: Tensor, g: Any) -> bool:
        """Whether parameter ``i`` takes the grouped path: a small (at most :data:`GROUP_MAX`
        elements) floating parameter that the blocked path takes (:meth:`_fast_ok`)."""
        d = p._data
        return self._fast_ok(i, d, g) and d.size <= GROUP_MAX and d.dtype.kind == "f"

    def _fast_ok(self, i: int, d: Any, g: Any) -> bool:
        """Whether parameter ``i``'s data ``d``, gradient ``g`` and moments (if any) are
        C-contiguous NumPy arrays of one dtype: what :func:`_adam_kernel` runs on."""
        if not (
            type(d) is np.ndarray
            and type(g) is np.ndarray
            and g.dtype == d.dtype
            and d.flags.c_contiguous
            and g.flags.c_contiguous
        ):
            return False
        st = self.state.get(i)
        if st is None or "exp_avg" not in st:
            return True
        m, v = st["exp_avg"], st["exp_avg_sq"]
        return (
            type(m) is np.ndarray
            and type(v) is np.ndarray
            and m.dtype == d.dtype
            and v.dtype == d.dtype
            and m.flags.c_contiguous
            and v.flags.c_contiguous
        )

    def _step_group(self, members: list[tuple[int, Tensor, np.ndarray]]) -> None:
        """One update of several small parameters of one dtype and one step count, as one update
        of their concatenation: the 13 passes of :func:`_adam_ops` run once over the group
        instead of once per parameter (whose per-call cost dominates small arrays). The moments
        live in the group's flat buffers (the state holds views of them); parameters and
        gradients are gathered into flat buffers and the parameters scattered back. Each element
        sees exactly the operations of the per-parameter path, so the results are identical."""
        for i, p, _ in members:
            self._advance(i, p)
        group = self._group_for(members)
        d_flat, g_flat = group.data, group.grads
        np.concatenate([p._data.reshape(-1) for _, p, _ in members], out=d_flat)
        np.concatenate([g.reshape(-1) for _, _, g in members], out=g_flat)
        job = self._fast_job_arrays(members[0][0], d_flat, g_flat, group.m, group.v)
        _run_blocked(job)
        for (_, p, _), (lo, hi) in zip(members, group.bounds, strict=True):
            p._data.reshape(-1)[...] = d_flat[lo:hi]

    def _group_for(self, members: list[tuple[int, Tensor, np.ndarray]]) -> _AdamGroup:
        """The flat buffers of this exact group, (re)built when the members changed or their
        moments are no longer the group's views (a load_state_dict, say)."""
        ids = tuple(i for i, _, _ in members)
        dtype = members[0][1]._data.dtype
        group = self._groups.get(ids)
        if group is not None:
            views_ok = all(
                self.state[i]["exp_avg"] is mv and self.state[i]["exp_avg_sq"] is vv
                for i, mv, vv in zip(ids, group.m_views, group.v_views, strict=True)
            )
            if views_ok:
                return group
        group = _AdamGroup(ids, [p._data.shape for _, p, _ in members], dtype)
        for i, mv, vv in zip(ids, group.m_views, group.v_views, strict=True):
            st = self.state[i]
            mv[...] = st["exp_avg"]
            vv[...] = st["exp_avg_sq"]
            st["exp_avg"], st["exp_avg_sq"] = mv, vv
        # A parameter is in one group at a time: groups that shared a member are stale.
        members_set = set(ids)
        self._groups = {k: gr for k, gr in self._groups.items() if members_set.isdisjoint(k)}
        self._groups[ids] = group
        return group

    def _advance(self, i: int, p: Tensor) -> tuple[dict[str, Any], float, float]:
        """Create the state of parameter ``i`` if needed, count the step; the bias corrections."""
        st = self._slot_state(i, p)
        if "exp_avg" not in st:
            st["exp_avg"] = _zeros_like(p._data)
            st["exp_avg_sq"] = _zeros_like(p._data)
        st["step"] += 1
        t = st["step"]
        b1, b2 = self.betas
        return st, 1.0 - b1**t, 1.0 - b2**t

    def _fast_job(self, i: int, p: Tensor, g: Any) -> tuple[Any, ...] | None:
        """The work of :func:`_adam_kernel` for parameter ``i`` (flat views of its arrays and the
        step's coefficients; its state is created and its step counted), or ``None`` when it
        needs the plain path (then nothing is changed)."""
        d = p._data
        if not self._fast_ok(i, d, g):
            return None
        st, _, _ = self._advance(i, p)
        return self._fast_job_arrays(i, d, g, st["exp_avg"], st["exp_avg_sq"])

    def _fast_job_arrays(self, i: int, d: Any, g: Any, m: Any, v: Any) -> tuple[Any, ...]:
        """The :func:`_adam_kernel` job for arrays ``d, g, m, v`` of one dtype at parameter
        ``i``'s step count (already advanced)."""
        t = self.state[i]["step"]
        b1, b2 = self.betas
        bias1, bias2 = 1.0 - b1**t, 1.0 - b2**t
        # One block-sized scratch per dtype, shared by all parameters: it stays in cache.
        buf = self._block_scratch.get(d.dtype)
        if buf is None:
            buf = np.empty(_BLOCK_BYTES // d.dtype.itemsize, dtype=d.dtype)
            self._block_scratch[d.dtype] = buf
        b1, b2 = self.betas
        decay = l2 = 0.0
        if self.weight_decay:
            if self.decoupled_weight_decay:
                decay = 1.0 - self.lr * self.weight_decay
            else:
                l2 = self.weight_decay
        return (
            d.reshape(-1),
            g.reshape(-1),
            m.reshape(-1),
            v.reshape(-1),
            buf,
            bool(self.weight_decay and self.decoupled_weight_decay),
            decay,
            l2,
            b1,
            b2,
            1.0 / math.sqrt(bias2),
            self.eps,
            self.lr / bias1,
        )

    def _update(self, i: int, p: Tensor, g: Any) -> None:
        d = p._data
        b1, b2 = self.betas
        st, bias1, bias2 = self._advance(i, p)
        if self.weight_decay:
            if self.decoupled_weight_decay:
                d *= 1.0 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * d
        m, v = st["exp_avg"], st["exp_avg_sq"]
        if type(d) is np.ndarray and type(m) is np.ndarray and d.dtype == m.dtype:
            # NumPy, but not the blocked path (say, a float64 gradient for a float32 parameter):
            # one scratch buffer and no temporaries, the same operations as _adam_kernel.
            buf = self._scratch.get(i)
            if buf is None or buf.shape != d.shape or buf.dtype != d.dtype:
                buf = np.empty_like(d)
                self._scratch[i] = buf
            _adam_ops(d, g, m, v, buf, b1, b2, 1.0 / math.sqrt(bias2), self.eps, self.lr / bias1)
            return
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        xp = backend.array_namespace(d)
        denom = xp.sqrt(v / bias2)
        denom += self.eps
        d -= (self.lr / bias1) * (m / denom)


#: Bytes per array in one block of the blocked Adam update: a block's five arrays (parameter,
#: gradient, two moments, scratch) stay in a core's L2 cache (2 MiB here) through its 13 passes.
#: A multiple of every item size (the scratch holds exactly one block).
_BLOCK_BYTES = 1 << 18


#: Parameters of at most this many elements are updated together (see :meth:`Adam._step_group`).
GROUP_MAX = 1 << 15


class _AdamGroup:
    """Flat buffers for a group of small parameters: their moments (the state holds views), and
    scratch for the gathered parameters and gradients; ``bounds`` are each member's flat range."""

    def __init__(self, ids: tuple[int, ...], shapes: list[tuple[int, ...]], dtype: Any) -> None:
        self.ids = ids
        sizes = [math.prod(s) for s in shapes]
        ends = np.cumsum([0, *sizes]).tolist()
        self.bounds = list(itertools.pairwise(ends))
        total = ends[-1]
        self.m = np.zeros(total, dtype)
        self.v = np.zeros(total, dtype)
        self.data = np.empty(total, dtype)
        self.grads = np.empty(total, dtype)
        self.m_views = [
            self.m[a:b].reshape(s) for (a, b), s in zip(self.bounds, shapes, strict=True)
        ]
        self.v_views = [
            self.v[a:b].reshape(s) for (a, b), s in zip(self.bounds, shapes, strict=True)
        ]


def _adam_ops(
    d: Any,
    g: Any,
    m: Any,
    v: Any,
    buf: Any,
    b1: float,
    b2: float,
    inv_sqrt_bias2: float,
    eps: float,
    step_size: float,
) -> None:
    """One Adam update of NumPy arrays in place, through the scratch array ``buf`` (no
    temporaries): ``m, v`` move to the new moments and ``d`` by
    ``step_size · m / (sqrt(v) · inv_sqrt_bias2 + eps)``."""
    np.multiply(g, 1.0 - b1, out=buf)
    m *= b1
    m += buf
    np.multiply(g, g, out=buf)
    buf *= 1.0 - b2
    v *= b2
    v += buf
    np.sqrt(v, out=buf)
    if inv_sqrt_bias2 != 1.0:  # exactly 1 after ~37,000 steps (β2 = 0.999): x · 1 = x, skip it
        buf *= inv_sqrt_bias2  # sqrt(v / bias2) = sqrt(v) / sqrt(bias2)
    buf += eps
    np.divide(m, buf, out=buf)
    buf *= step_size
    d -= buf


def _adam_kernel(job: tuple[Any, ...], start: int, stop: int) -> None:
    """Adam on elements ``start:stop`` of the flat, same-dtype NumPy arrays of ``job`` (made by
    :meth:`Adam._fast_job`: parameter, gradient, moments, scratch, then the coefficients)."""
    d, g, m, v, buf, decoupled, decay, l2, b1, b2, inv_sqrt_bias2, eps, step_size = job
    d, g, m, v, buf = (
        d[start:stop],
        g[start:stop],
        m[start:stop],
        v[start:stop],
        buf[: stop - start],
    )
    if decoupled:
        d *= decay
    elif l2:
        g = g + l2 * d
    _adam_ops(d, g, m, v, buf, b1, b2, inv_sqrt_bias2, eps, step_size)


def _run_blocked(job: tuple[Any, ...]) -> None:
    """Run :func:`_adam_kernel` over every block of one parameter's ``job``.

    Blocks are disjoint and each element's arithmetic is the same whatever the split, so the block
    size changes no result. (Two threads, one per half of the blocks, halve the time of the update
    alone, but right after a backward pass OpenBLAS's idle threads still spin on the other core,
    and the whole training step got slower: so one thread.)"""
    d, g, m, v, _, decoupled, decay, l2, b1, b2, inv_sqrt_bias2, eps, step_size = job
    if native.adam(d, g, m, v, decoupled, decay, l2, b1, b2, inv_sqrt_bias2, eps, step_size):
        return  # one pass in C, the same operations per element (chainrule.nn.native.adam)
    n = d.size
    block = job[4].size  # the scratch's length
    for start in range(0, n, block):
        _adam_kernel(job, start, min(n, start + block))


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01): see :class:`Adam`."""

    def __init__(
        self,
        params: Iterable[Tensor] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)


def clip_grad_norm(params: Iterable[Tensor] | Module, max_norm: float) -> float:
    """Scale all gradients together so that their global 2-norm is at most ``max_norm``.

    Returns:
        The norm before clipping (``inf``/``nan`` when a gradient is not finite; then nothing is
        scaled).
    """
    items = params.parameters() if isinstance(params, Module) else list(params)
    grads = [_grad_data(p) for p in items if p.grad is not None]
    total = math.sqrt(
        sum(float(np.sum(backend.to_numpy(g).astype(np.float64) ** 2)) for g in grads)
    )
    limit = _nonneg("max_norm", max_norm)
    if math.isfinite(total) and total > limit:
        scale = limit / (total + 1e-12)
        for p in items:
            if p.grad is not None:
                p.grad = as_tensor(_grad_data(p) * scale)
    return total
