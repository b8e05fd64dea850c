"""nn benchmarks N1-N3: chainrule.nn against torch.nn / torch.optim eager.

torch is timed with 1 and with 2 threads and the better figure is the anchor: on a busy 2-core
machine its thread pool costs milliseconds per step on tiny workloads.

- N1: one training step of MLP 784-256-256-10 (ReLU), softmax cross-entropy, Adam, batch 128:
  zero_grad + forward + loss + backward + step, float32 and float64; then its two parts timed
  alone (zero_grad + forward + loss + backward; the optimizer step), to show where a gap lies.
- N2: per-step overhead: MLP 2-8-1 (tanh) on XOR, BCE with logits, Adam: one full-batch step.
- N3: the seed's DAG network (DAGNetwork.seed) on a batch of 10,000 x: forward + backward, against
  the same network written by hand with chainrule tensors (the abstraction's cost) and torch.
- N4: one training epoch on the UCI digits (1,797 rows, shuffled, batch 16, AdamW, cross-entropy), as
  ``chainrule train`` runs it (``nn.fit``): the default MLP 64-256-10 and the default CNN (conv 3x3
  16 + max-pool 2, conv 3x3 32 + max-pool 2, dense 128-64-10), each with its standardization layer,
  float64 and float32, against the same networks and loop in torch; median and min-max of 5 epochs.

Each figure is the best of several repeats; ratios are chainrule / anchor (below 1 is faster).
Run: ``python benchmarks/bench_nn.py`` (or ``python benchmarks/run.py nn``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.nn import (
    MLP,
    Adam,
    AdamW,
    DAGNetwork,
    binary_cross_entropy_with_logits,
    cross_entropy,
    fit,
)
from chainrule.nn.datasets import load_digits
from chainrule.nn.models import digits_cnn, digits_mlp


def best_time(fn: Callable[[], Any], number: int, repeat: int = 5) -> float:
    """Best seconds per call over ``repeat`` runs of ``number`` calls."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_time(torch: Any, fn: Callable[[], Any], number: int) -> float:
    """Best seconds per call of ``fn`` with torch on 1 and on 2 threads."""
    best = float("inf")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        best = min(best, best_time(fn, number, repeat=3))
    return best


def _step(model: Any, loss_fn: Any, opt: Any, X: Any, y: Any) -> Callable[[], None]:
    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()

    return step


def _fwd_bwd(model: Any, loss_fn: Any, opt: Any, X: Any, y: Any) -> Callable[[], None]:
    def fwd_bwd() -> None:
        opt.zero_grad()
        loss_fn(model(X), y).backward()

    return fwd_bwd


N1Times = dict[str, tuple[float, float | None]]


def n1(torch: Any, dtype: str) -> N1Times:
    """The full step, and its two halves (zero_grad + forward + backward; the optimizer step)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 784)).astype(dtype)
    y = rng.integers(0, 10, 128)
    model = MLP([784, 256, 256, 10], dtype=dtype, rng=0)
    opt = Adam(model, lr=1e-3)
    args = (model, cross_entropy, opt, cr.tensor(X), y)
    ours = {
        "step": best_time(_step(*args), 10),
        "fwd+bwd": best_time(_fwd_bwd(*args), 10, repeat=3),
        "Adam": best_time(opt.step, 10, repeat=3),
    }
    if torch is None:
        return {k: (v, None) for k, v in ours.items()}
    tdt = getattr(torch, dtype)
    tm = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    ).to(tdt)
    topt = torch.optim.Adam(tm.parameters(), lr=1e-3)
    targs = (tm, torch.nn.functional.cross_entropy, topt, torch.from_numpy(X), torch.from_numpy(y))
    theirs = {
        "step": torch_time(torch, _step(*targs), 10),
        "fwd+bwd": torch_time(torch, _fwd_bwd(*targs), 10),
        "Adam": torch_time(torch, topt.step, 10),
    }
    return {k: (ours[k], theirs[k]) for k in ours}


def n2(torch: Any) -> tuple[float, float | None]:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    model = MLP([2, 8, 1], activation="tanh", rng=0)
    step = _step(model, binary_cross_entropy_with_logits, Adam(model, lr=0.05), cr.tensor(X), y)
    ours = best_time(step, 200)
    if torch is None:
        return ours, None
    tm = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    topt = torch.optim.Adam(tm.parameters(), lr=0.05)
    lf = torch.nn.functional.binary_cross_entropy_with_logits
    theirs = torch_time(torch, _step(tm, lf, topt, torch.from_numpy(X), torch.from_numpy(y)), 200)
    return ours, theirs


SEED_W = {"7,x": 0.3, "5,7": -0.8, "6,7": 0.5, "4,5": 1.1, "4,6": -0.4, "3,4": 0.9, "3,6": 0.2}
SEED_W["2,4"] = -1.3


def n3(torch: Any) -> tuple[float, float, float | None]:
    xv = np.linspace(-1, 1, 10_000)
    net = DAGNetwork.seed(SEED_W)

    def ours() -> None:
        x = cr.tensor(xv, requires_grad=True)
        n2_, n3_ = net(x)
        (0.5 * (n2_ - 1.0) ** 2 + 0.5 * (n3_ + 0.5) ** 2).sum().backward()

    def by_hand(lib: Any, w: dict[str, Any], x: Any) -> Any:
        n7 = lib.tanh(w["7,x"] * x)
        n5, n6 = lib.tanh(w["5,7"] * n7), lib.tanh(w["6,7"] * n7)
        n4 = lib.tanh(w["4,5"] * n5 + w["4,6"] * n6)
        n3_ = lib.tanh(w["3,4"] * n4 + w["3,6"] * n6)
        n2_ = lib.tanh(w["2,4"] * n4)
        return (0.5 * (n2_ - 1.0) ** 2 + 0.5 * (n3_ + 0.5) ** 2).sum()

    ws = {k: cr.tensor(v, requires_grad=True) for k, v in SEED_W.items()}

    def hand() -> None:
        by_hand(cr, ws, cr.tensor(xv, requires_grad=True)).backward()

    t_ours, t_hand = best_time(ours, 20), best_time(hand, 20)
    if torch is None:
        return t_ours, t_hand, None
    tw = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in SEED_W.items()}
    tx = torch.from_numpy(xv)

    def theirs() -> None:
        by_hand(torch, tw, tx.clone().requires_grad_(True)).backward()

    return t_ours, t_hand, torch_time(torch, theirs, 20)


def _times(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _torch_digits(torch: Any, kind: str, dtype: str, mean: np.ndarray, scale: np.ndarray) -> Any:
    nn_ = torch.nn
    tdt = getattr(torch, dtype)

    class Standardize(nn_.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(mean.astype(dtype)))
            self.register_buffer("scale", torch.from_numpy(scale.astype(dtype)))

        def forward(self, x: Any) -> Any:
            return (x - self.mean) / self.scale

    if kind == "mlp":
        layers = [nn_.Linear(64, 256), nn_.ReLU(), nn_.Linear(256, 10)]
    else:
        layers = [
            nn_.Unflatten(1, (1, 8, 8)),
            nn_.Conv2d(1, 16, 3, padding=1),
            nn_.ReLU(),
            nn_.MaxPool2d(2),
            nn_.Conv2d(16, 32, 3, padding=1),
            nn_.ReLU(),
            nn_.MaxPool2d(2),
            nn_.Flatten(),
            nn_.Linear(128, 64),
            nn_.ReLU(),
            nn_.Linear(64, 10),
        ]
    return nn_.Sequential(Standardize(), *layers).to(tdt)


N4Times = tuple[list[float], list[float] | None]


def n4(torch: Any, kind: str, dtype: str, batch: int = 16, repeat: int = 5) -> N4Times:
    """Seconds per epoch of ``chainrule train``'s loop and of the same loop in torch."""
    X, y = load_digits()
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    Xd = X.astype(dtype)
    build = digits_mlp if kind == "mlp" else digits_cnn
    model = build(dtype=dtype, mean=mean, scale=scale, seed=0)
    opt = AdamW(model, lr=1e-3, weight_decay=0.05)
    rng = np.random.default_rng(0)

    def ours() -> None:
        fit(model, cross_entropy, Xd, y, opt, epochs=1, batch_size=batch, seed=rng)

    mine = _times(ours, repeat)
    if torch is None:
        return mine, None
    tm = _torch_digits(torch, kind, dtype, mean, scale)
    topt = torch.optim.AdamW(tm.parameters(), lr=1e-3, weight_decay=0.05)
    tX, ty = torch.from_numpy(Xd), torch.from_numpy(y)
    lf = torch.nn.functional.cross_entropy

    def theirs() -> None:
        order = torch.from_numpy(rng.permutation(len(y)))
        for lo in range(0, len(y), batch):
            idx = order[lo : lo + batch]
            topt.zero_grad()
            lf(tm(tX[idx]), ty[idx]).backward()
            topt.step()

    best: list[float] | None = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t = _times(theirs, repeat)
        if best is None or float(np.median(t)) < float(np.median(best)):
            best = t
    return mine, best


def _spread(label: str, ours: list[float], anchor: list[float] | None, name: str) -> str:
    mo = float(np.median(ours))
    head = f"{label:<34}{mo * 1e3:>9.1f} ms ({min(ours) * 1e3:.0f}-{max(ours) * 1e3:.0f})"
    if anchor is None:
        return f"{head}   {name}: skipped (not installed)"
    ma = float(np.median(anchor))
    return (
        f"{head}   {name} {ma * 1e3:>7.1f} ms ({min(anchor) * 1e3:.0f}-{max(anchor) * 1e3:.0f})"
        f"   ratio {mo / ma:>5.2f} ({min(ours) / max(anchor):.2f}-{max(ours) / min(anchor):.2f})"
    )


def _row(label: str, ours: float, anchor: float | None, name: str) -> str:
    if anchor is None:
        return f"{label:<34}{ours * 1e3:>11.3f} ms   {name}: skipped (not installed)"
    return (
        f"{label:<34}{ours * 1e3:>11.3f} ms   {name} {anchor * 1e3:>9.3f} ms   "
        f"ratio {ours / anchor:>5.2f}"
    )


def main() -> None:
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from _machine import machine_line

    torch = _torch()
    extra = [f"torch {torch.__version__} (best of 1 and 2 threads)"] if torch is not None else []
    print(machine_line(*extra))
    print(f"{'workload':<34}{'chainrule':>14}   anchor")
    for dtype in ("float32", "float64"):
        times = n1(torch, dtype)
        print(_row(f"N1 MLP 784-256-256-10 Adam {dtype}", *times["step"], "torch"))
        for part in ("fwd+bwd", "Adam"):
            print(_row(f"   N1 {dtype} {part} only", *times[part], "torch"))
    ours, theirs = n2(torch)
    print(_row("N2 MLP 2-8-1 XOR step (overhead)", ours, theirs, "torch"))
    t_ours, t_hand, t_torch = n3(torch)
    print(_row("N3 DAGNetwork.seed, 10k batch", t_ours, t_hand, "by hand (cr)"))
    print(_row("N3 DAGNetwork.seed, 10k batch", t_ours, t_torch, "torch by hand"))
    print("N4: one epoch of the digits, batch 16, AdamW; median (min-max) of 5 epochs")
    for kind in ("mlp", "cnn"):
        for dtype in ("float64", "float32"):
            ours_t, theirs_t = n4(torch, kind, dtype)
            print(_spread(f"N4 digits {kind.upper()} epoch {dtype}", ours_t, theirs_t, "torch"))


if __name__ == "__main__":
    main()
