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

Ours and the anchor run in alternating repeats; each line gives both medians and the ratio's median
with its min-max over the paired repeats (``_ratio.py``; marked NOISY above a 10% spread). Ratios are
chainrule / anchor (below 1 is faster).
Run: ``python benchmarks/bench_nn.py`` (or ``python benchmarks/run.py nn``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from _ratio import interleaved, ratio_line  # benchmarks/ is on sys.path (run.py, or run directly)
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

Paired = tuple[list[float], list[float] | None]


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def _alone(fn: Callable[[], Any], repeats: int, budget: float) -> list[float]:
    """Seconds per call of ``fn`` in ``repeats`` runs, each lasting about ``budget`` seconds."""
    fn()
    t0 = time.perf_counter()
    fn()
    number = max(1, int(budget / max(time.perf_counter() - t0, 1e-7)))
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number)
    return out


def vs_torch(
    torch: Any,
    ours: Callable[[], Any],
    theirs: Callable[[], Any],
    repeats: int = 7,
    budget: float = 0.1,
) -> Paired:
    """Paired (interleaved) timings of ours and torch's, torch at 1 and at 2 threads: the pair whose
    torch median is lower. Without torch, ours alone and None."""
    if torch is None:
        return _alone(ours, repeats, budget), None
    best: tuple[list[float], list[float]] | None = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        pair = interleaved(ours, theirs, repeats, budget)
        if best is None or statistics.median(pair[1]) < statistics.median(best[1]):
            best = pair
    assert best is not None
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


def n1(torch: Any, dtype: str) -> dict[str, Paired]:
    """The full step, and its two halves (zero_grad + forward + backward; the optimizer step)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 784)).astype(dtype)
    y = rng.integers(0, 10, 128)
    model = MLP([784, 256, 256, 10], dtype=dtype, rng=0)
    opt = Adam(model, lr=1e-3)
    args = (model, cross_entropy, opt, cr.tensor(X), y)
    ours = {"step": _step(*args), "fwd+bwd": _fwd_bwd(*args), "Adam": opt.step}
    if torch is None:
        return {k: vs_torch(None, fn, fn) for k, fn in ours.items()}
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
    theirs = {"step": _step(*targs), "fwd+bwd": _fwd_bwd(*targs), "Adam": topt.step}
    return {k: vs_torch(torch, ours[k], theirs[k], budget=0.2) for k in ours}


def n2(torch: Any) -> Paired:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    model = MLP([2, 8, 1], activation="tanh", rng=0)
    step = _step(model, binary_cross_entropy_with_logits, Adam(model, lr=0.05), cr.tensor(X), y)
    if torch is None:
        return vs_torch(None, step, step)
    tm = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    topt = torch.optim.Adam(tm.parameters(), lr=0.05)
    lf = torch.nn.functional.binary_cross_entropy_with_logits
    return vs_torch(torch, step, _step(tm, lf, topt, torch.from_numpy(X), torch.from_numpy(y)))


SEED_W = {"7,x": 0.3, "5,7": -0.8, "6,7": 0.5, "4,5": 1.1, "4,6": -0.4, "3,4": 0.9, "3,6": 0.2}
SEED_W["2,4"] = -1.3


def n3(torch: Any) -> tuple[Paired, Paired]:
    """(ours vs the same network by hand in chainrule, ours vs it by hand in torch)."""
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

    vs_hand = interleaved(ours, hand)
    if torch is None:
        return vs_hand, vs_torch(None, ours, ours)
    tw = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in SEED_W.items()}
    tx = torch.from_numpy(xv)

    def theirs() -> None:
        by_hand(torch, tw, tx.clone().requires_grad_(True)).backward()

    return vs_hand, vs_torch(torch, ours, theirs)


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


def n4(torch: Any, kind: str, dtype: str, batch: int = 16, repeat: int = 5) -> Paired:
    """Seconds per epoch of ``chainrule train``'s loop and of the same loop in torch, interleaved
    epoch by epoch."""
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

    if torch is None:
        return vs_torch(None, ours, ours, repeat, budget=0.0)
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

    return vs_torch(torch, ours, theirs, repeat, budget=0.0)


def main() -> None:
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from _machine import machine_line

    torch = _torch()
    extra = [f"torch {torch.__version__} (best of 1 and 2 threads)"] if torch is not None else []
    print(machine_line(*extra))
    print(f"{'workload':<38}{'chainrule':>12}   anchor; ratio median (min-max) of paired repeats")
    for dtype in ("float32", "float64"):
        times = n1(torch, dtype)
        print(ratio_line(f"N1 MLP 784-256-256-10 Adam {dtype}", *times["step"], "torch"))
        for part in ("fwd+bwd", "Adam"):
            print(ratio_line(f"   N1 {dtype} {part} only", *times[part], "torch"))
    print(ratio_line("N2 MLP 2-8-1 XOR step (overhead)", *n2(torch), "torch"))
    vs_hand, vs_t = n3(torch)
    print(ratio_line("N3 DAGNetwork.seed, 10k batch", *vs_hand, "by hand (cr)"))
    print(ratio_line("N3 DAGNetwork.seed, 10k batch", *vs_t, "torch by hand"))
    print("N4: one epoch of the digits, batch 16, AdamW; 5 epochs each, interleaved")
    for kind in ("mlp", "cnn"):
        for dtype in ("float64", "float32"):
            print(
                ratio_line(
                    f"N4 digits {kind.upper()} epoch {dtype}", *n4(torch, kind, dtype), "torch"
                )
            )


if __name__ == "__main__":
    main()
