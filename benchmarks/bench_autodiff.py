"""Autodiff benchmarks A1-A3s: chainrule against torch eager (2 threads), HIPS autograd and NumPy by hand.

- A1: MLP 784-256-256-10, ReLU, softmax cross-entropy, batch 128; one step = forward + backward + SGD
  update (float64 and float32), and peak RSS of 50 steps in a fresh process (chainrule vs torch).
- A2: per-op overhead: 1,000 x (y = y*1.0001 + 0.001) on a length-16 vector, sum, gradient;
  time / 2,000 ops.
- A3: the seed's seven-node tanh network (x->n7; n7->n5,n6; n5,n6->n4; n4,n6->n3; n4->n2;
  L = sum(n2 + n3)), batch of 10,000 x, gradient for the 8 weights and x.
- A3s: the same network on one scalar x, also against micrograd (its `Value` has no tanh: the benchmark
  adds one the way micrograd defines relu, a node with a local-derivative closure).

Each figure is the best of several repeats; ratios are chainrule / anchor (below 1 is faster).
Run: ``python benchmarks/bench_autodiff.py`` (or ``python benchmarks/run.py autodiff``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from _ratio import ratio  # benchmarks/ is on sys.path (run.py, or run directly)

MICROGRAD_A3S_US = 39.0  # the figure, quoted when micrograd is not installed


def best_times(
    fns: dict[str, Callable[[], Any] | None], number: int, repeat: int = 7
) -> dict[str, list[float] | None]:
    """Seconds per call of each function in each of ``repeat`` interleaved rounds (a change in the
    machine's load hits every candidate alike; round ``i`` of two functions is a pair for
    ``_ratio.ratio``); ``None`` entries are skipped."""
    live = {k: f for k, f in fns.items() if f is not None}
    for f in live.values():
        f()
    times: dict[str, list[float]] = {k: [] for k in live}
    for _ in range(repeat):
        for k, f in live.items():
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            times[k].append((time.perf_counter() - t0) / number)
    return {k: times.get(k) for k in fns}


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch


def _autograd() -> Any:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None
    return autograd, anp


# --- A1 --------------------------------------------------------------------------------------------


def mlp_data(dtype: Any) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 784)).astype(dtype)
    y = rng.integers(0, 10, 128)
    sizes = [(784, 256), (256, 256), (256, 10)]
    params: list[np.ndarray] = []
    for n_in, n_out in sizes:
        params.append((rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(dtype))
        params.append(np.zeros(n_out, dtype=dtype))
    return X, y, params


def a1_chainrule(dtype: Any) -> Callable[[], Any]:
    X, y, arrays = mlp_data(dtype)
    onehot = np.eye(10, dtype=dtype)[y]
    params = [cr.tensor(a, requires_grad=True) for a in arrays]
    W1, b1, W2, b2, W3, b3 = params
    lr, n = 0.01, X.shape[0]

    def step() -> Any:
        h1 = cr.relu(X @ W1 + b1)
        h2 = cr.relu(h1 @ W2 + b2)
        logp = cr.log_softmax(h2 @ W3 + b3)
        loss = (logp * onehot).sum() * (-1.0 / n)
        loss.backward()
        for p in params:
            p.data -= lr * p.grad.data
            p.grad = None
        return loss

    return step


def a1_numpy(dtype: Any) -> Callable[[], Any]:
    X, y, params = mlp_data(dtype)
    onehot = np.eye(10, dtype=dtype)[y]
    lr, n = 0.01, X.shape[0]

    def step() -> Any:
        W1, b1, W2, b2, W3, b3 = params
        z1 = X @ W1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ W2 + b2
        h2 = np.maximum(z2, 0)
        z3 = h2 @ W3 + b3
        m = z3.max(1, keepdims=True)
        e = np.exp(z3 - m)
        p = e / e.sum(1, keepdims=True)
        loss = -(np.log(p) * onehot).sum() / n
        g3 = (p - onehot) / n
        gW3, gb3 = h2.T @ g3, g3.sum(0)
        g2 = (g3 @ W3.T) * (z2 > 0)
        gW2, gb2 = h1.T @ g2, g2.sum(0)
        g1 = (g2 @ W2.T) * (z1 > 0)
        gW1, gb1 = X.T @ g1, g1.sum(0)
        for q, g in zip(params, (gW1, gb1, gW2, gb2, gW3, gb3), strict=True):
            q -= lr * g
        return loss

    return step


def a1_torch(torch: Any, dtype: Any) -> Callable[[], Any]:
    X, y, arrays = mlp_data(dtype)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    params = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    W1, b1, W2, b2, W3, b3 = params
    F = torch.nn.functional

    def step() -> Any:
        h1 = torch.relu(Xt @ W1 + b1)
        h2 = torch.relu(h1 @ W2 + b2)
        loss = F.cross_entropy(h2 @ W3 + b3, yt)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 0.01 * p.grad
                p.grad = None
        return loss

    return step


def a1_autograd(ag: Any, dtype: Any) -> Callable[[], Any]:
    autograd, anp = ag
    X, y, params = mlp_data(dtype)
    onehot = np.eye(10, dtype=dtype)[y]
    n = X.shape[0]

    def loss(ps: list[Any]) -> Any:
        W1, b1, W2, b2, W3, b3 = ps
        h1 = anp.maximum(anp.dot(X, W1) + b1, 0)
        h2 = anp.maximum(anp.dot(h1, W2) + b2, 0)
        z = anp.dot(h2, W3) + b3
        logp = z - anp.max(z, axis=1, keepdims=True)
        logp = logp - anp.log(anp.sum(anp.exp(logp), axis=1, keepdims=True))
        return -anp.sum(logp * onehot) / n

    g = autograd.grad(loss)

    def step() -> Any:
        grads = g(params)
        for q, gq in zip(params, grads, strict=True):
            q -= 0.01 * gq

    return step


# --- A2 --------------------------------------------------------------------------------------------


def a2_chainrule() -> Callable[[], Any]:
    x0 = np.linspace(0, 1, 16)

    def run() -> Any:
        x = cr.tensor(x0, requires_grad=True)
        y = x
        for _ in range(1000):
            y = y * 1.0001 + 0.001
        y.sum().backward()
        return x.grad

    return run


def a2_numpy() -> Callable[[], Any]:
    x0 = np.linspace(0, 1, 16)

    def run() -> Any:
        y = x0
        for _ in range(1000):
            y = y * 1.0001 + 0.001
        g = np.ones(16)
        for _ in range(1000):
            g = g * 1.0001
        return y.sum(), g

    return run


def a2_torch(torch: Any) -> Callable[[], Any]:
    x0 = torch.linspace(0, 1, 16, dtype=torch.float64)

    def run() -> Any:
        x = x0.clone().requires_grad_()
        y = x
        for _ in range(1000):
            y = y * 1.0001 + 0.001
        y.sum().backward()
        return x.grad

    return run


def a2_autograd(ag: Any) -> Callable[[], Any]:
    autograd, anp = ag
    x0 = np.linspace(0, 1, 16)

    def f(x: Any) -> Any:
        y = x
        for _ in range(1000):
            y = y * 1.0001 + 0.001
        return anp.sum(y)

    g = autograd.grad(f)
    return lambda: g(x0)


# --- A3 / A3s --------------------------------------------------------------------------------------

W_NAMES = ("7x", "57", "67", "45", "46", "34", "36", "24")
W_VALUES = (0.5, -1.2, 0.8, 1.1, -0.7, 0.9, 0.4, -1.5)


def seed_forward(x: Any, w: dict[str, Any], tanh: Callable[[Any], Any]) -> Any:
    n7 = tanh(w["7x"] * x)
    n5 = tanh(w["57"] * n7)
    n6 = tanh(w["67"] * n7)
    n4 = tanh(w["45"] * n5 + w["46"] * n6)
    n3 = tanh(w["34"] * n4 + w["36"] * n6)
    n2 = tanh(w["24"] * n4)
    return n2 + n3


def seed_x(batch: int | None) -> np.ndarray:
    if batch is None:
        return np.asarray(0.3)
    return np.random.default_rng(0).standard_normal(batch)


def a3_chainrule(batch: int | None) -> Callable[[], Any]:
    x0 = seed_x(batch)
    w0 = [np.asarray(v) for v in W_VALUES]

    def run() -> Any:
        x = cr.tensor(x0, requires_grad=True)
        ws = [cr.tensor(v, requires_grad=True) for v in w0]
        out = seed_forward(x, dict(zip(W_NAMES, ws, strict=True)), cr.tanh)
        (out.sum() if batch else out).backward()
        return x.grad, [w.grad for w in ws]

    return run


def _micrograd() -> Any:
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    return Value


def a3s_micrograd(value_type: Any) -> Callable[[], Any]:
    """The A3s workload in micrograd: scalar Values, tanh as one node (as micrograd writes relu)."""
    import math

    def tanh(v: Any) -> Any:
        t = math.tanh(v.data)
        out = value_type(t, (v,), "tanh")

        def _backward() -> None:
            v.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    x0 = float(seed_x(None))

    def run() -> Any:
        x = value_type(x0)
        ws = [value_type(v) for v in W_VALUES]
        out = seed_forward(x, dict(zip(W_NAMES, ws, strict=True)), tanh)
        out.backward()
        return x.grad, [w.grad for w in ws]

    return run


def a3_numpy(batch: int | None) -> Callable[[], Any]:
    x = seed_x(batch)
    W = dict(zip(W_NAMES, W_VALUES, strict=True))

    def run() -> Any:
        n7 = np.tanh(W["7x"] * x)
        n5 = np.tanh(W["57"] * n7)
        n6 = np.tanh(W["67"] * n7)
        n4 = np.tanh(W["45"] * n5 + W["46"] * n6)
        n3 = np.tanh(W["34"] * n4 + W["36"] * n6)
        n2 = np.tanh(W["24"] * n4)
        d2 = 1 - n2 * n2
        d3 = 1 - n3 * n3
        gn4 = d2 * W["24"] + d3 * W["34"]
        d4 = gn4 * (1 - n4 * n4)
        gn6 = d4 * W["46"] + d3 * W["36"]
        gn5 = d4 * W["45"]
        d5 = gn5 * (1 - n5 * n5)
        d6 = gn6 * (1 - n6 * n6)
        gn7 = d5 * W["57"] + d6 * W["67"]
        d7 = gn7 * (1 - n7 * n7)
        gx = d7 * W["7x"]
        gw = [
            np.sum(d7 * x),
            np.sum(d5 * n7),
            np.sum(d6 * n7),
            np.sum(d4 * n5),
            np.sum(d4 * n6),
            np.sum(d3 * n4),
            np.sum(d3 * n6),
            np.sum(d2 * n4),
        ]
        return gx, gw

    return run


def a3_torch(torch: Any, batch: int | None) -> Callable[[], Any]:
    x0 = torch.from_numpy(seed_x(batch).copy())
    w0 = [torch.tensor(v, dtype=torch.float64) for v in W_VALUES]

    def run() -> Any:
        x = x0.clone().requires_grad_()
        ws = [w.clone().requires_grad_() for w in w0]
        out = seed_forward(x, dict(zip(W_NAMES, ws, strict=True)), torch.tanh)
        (out.sum() if batch else out).backward()
        return x.grad

    return run


def a3_autograd(ag: Any, batch: int | None) -> Callable[[], Any]:
    autograd, anp = ag
    x0 = seed_x(batch) if batch else 0.3

    def f(x: Any, ws: list[Any]) -> Any:
        return anp.sum(seed_forward(x, dict(zip(W_NAMES, ws, strict=True)), anp.tanh))

    g = autograd.grad(f, argnum=(0, 1))
    ws = list(W_VALUES)
    return lambda: g(x0, ws)


# --- memory ----------------------------------------------------------------------------------------

_RSS_SCRIPT = """
import resource, sys
sys.path.insert(0, {bench_dir!r})
import bench_autodiff as b
import numpy as np
{setup}
for _ in range(50):
    step()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # VmHWM is reset by exec; ru_maxrss may carry the parent's peak across fork + exec
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
except (OSError, StopIteration):
    pass
print(peak)
"""


def peak_rss_mib(setup: str) -> float | None:
    import pathlib

    script = _RSS_SCRIPT.format(bench_dir=str(pathlib.Path(__file__).parent), setup=setup)
    try:
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
        )
    except (subprocess.SubprocessError, OSError):
        return None
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


# --- table -----------------------------------------------------------------------------------------


def _fmt(times: list[float] | None, unit: str) -> str:
    if times is None:
        return "skipped"
    scale = {"ms": 1e3, "us": 1e6}[unit]
    return f"{statistics.median(times) * scale:.3g} {unit}"


def _ratio(ours: list[float], other: list[float] | None) -> str:
    return "—" if other is None else str(ratio(ours, other))


def main() -> None:
    torch = _torch()
    ag = _autograd()
    notes = []
    if torch is None:
        notes.append("torch is not installed: its anchors are skipped")
    if ag is None:
        notes.append("HIPS autograd is not installed: its anchors are skipped")
    Times = list[float]
    rows: list[tuple[str, str, Times, Times | None, Times | None, Times | None, str]] = []

    def row(rid: str, what: str, unit: str, number: int, per: float, fns: dict[str, Any]) -> None:
        t = best_times(fns, number)
        scaled = {k: (None if v is None else [x / per for x in v]) for k, v in t.items()}
        ours = scaled["chainrule"]
        assert ours is not None
        rows.append((rid, what, ours, scaled["torch"], scaled["autograd"], scaled["numpy"], unit))

    for dtype in (np.float64, np.float32):
        row(
            "A1" if dtype is np.float64 else "A1 f32",
            "MLP step, batch 128",
            "ms",
            10,
            1.0,
            {
                "chainrule": a1_chainrule(dtype),
                "torch": a1_torch(torch, dtype) if torch else None,
                "autograd": a1_autograd(ag, dtype) if ag else None,
                "numpy": a1_numpy(dtype),
            },
        )
    row(
        "A2",
        "per-op, length-16 chain",
        "us",
        3,
        2000.0,
        {
            "chainrule": a2_chainrule(),
            "torch": a2_torch(torch) if torch else None,
            "autograd": a2_autograd(ag) if ag else None,
            "numpy": a2_numpy(),
        },
    )
    for rid, batch, number, what in (
        ("A3", 10_000, 30, "seed network, batch 10,000"),
        ("A3s", None, 300, "seed network, one scalar x"),
    ):
        row(
            rid,
            what,
            "ms" if batch else "us",
            number,
            1.0,
            {
                "chainrule": a3_chainrule(batch),
                "torch": a3_torch(torch, batch) if torch else None,
                "autograd": a3_autograd(ag, batch) if ag else None,
                "numpy": a3_numpy(batch),
            },
        )

    print(
        "| id | workload | chainrule | torch | HIPS autograd | NumPy by hand | vs torch | vs autograd |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rid, what, o, t, a, n, unit in rows:
        print(
            f"| {rid} | {what} | {_fmt(o, unit)} | {_fmt(t, unit)} | {_fmt(a, unit)} | "
            f"{_fmt(n, unit)} | {_ratio(o, t)} | {_ratio(o, a)} |"
        )
    a3s = rows[-1][2]
    value_type = _micrograd()
    if value_type is None:
        print(
            f"\nA3s vs micrograd (not installed; its {MICROGRAD_A3S_US:g} us quoted from the issue): "
            f"{statistics.median(a3s) * 1e6 / MICROGRAD_A3S_US:.2f}×"
        )
    else:
        t = best_times(
            {"chainrule": a3_chainrule(None), "micrograd": a3s_micrograd(value_type)}, 300
        )
        ours, theirs = t["chainrule"], t["micrograd"]
        assert ours is not None and theirs is not None
        print(
            f"\nA3s vs micrograd (same run): chainrule {statistics.median(ours) * 1e6:.1f} us, "
            f"micrograd {statistics.median(theirs) * 1e6:.1f} us: {ratio(ours, theirs)} "
            "(target <= 0.70)"
        )
    ours_rss = peak_rss_mib("import chainrule\nstep = b.a1_chainrule(np.float64)")
    torch_rss = (
        peak_rss_mib("import torch\ntorch.set_num_threads(2)\nstep = b.a1_torch(torch, np.float64)")
        if torch
        else None
    )
    if ours_rss is not None:
        line = f"A1 peak RSS (50 steps, fresh process): chainrule {ours_rss:.0f} MiB"
        if torch_rss is not None:
            line += f", torch {torch_rss:.0f} MiB ({ours_rss / torch_rss:.2f}×)"
        print(line)
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
