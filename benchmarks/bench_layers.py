"""Layers L1-L2: convolution, pooling, normalisation, embedding and attention against torch.

- L1 (agreement): each layer built in chainrule, its weights copied into the torch layer, both run
  on the same float64 input with the same output gradient; the maximum absolute differences of the
  outputs, the input gradients and the parameter gradients (and BatchNorm's running statistics)
  are printed per layer with PASS/FAIL at 1e-10. Any FAIL exits with status 1.
- L2 (speed): Conv2d forward + backward (input and parameter gradients) on a 32×3×32×32 float64
  batch with 16 3×3 filters, and on the digits CNN's 64×1×8×8 batch with 8 3×3 filters (padding 1).
  torch is timed with 1 and with 2 threads and the better figure is the anchor. Figures: median and
  [min, max] over repeats of per-call means; the ratio is chainrule / torch on the medians (below 1
  is faster).

Run: ``python benchmarks/bench_layers.py`` (or ``python benchmarks/run.py layers``).
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn

try:
    from _machine import machine_line
except ImportError:  # run from elsewhere
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from _machine import machine_line
from _ratio import interleaved, ratio

TOL = 1e-10


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


# --- L1: agreement -----------------------------------------------------------------------------------


def _diff(a: Any, b: Any) -> float:
    a = np.asarray(a.data if isinstance(a, cr.Tensor) else a, dtype=np.float64)
    b = np.asarray(b.detach().numpy() if hasattr(b, "detach") else b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(np.where(both_nan, 0.0, a - b))
    return float(np.nanmax(d, initial=0.0)) if d.size else 0.0


def _run_pair(
    torch: Any,
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    inputs: Sequence[np.ndarray],
    ours_params: Sequence[cr.Tensor],
    their_params: Sequence[Any],
    param_map: Sequence[Callable[[np.ndarray], np.ndarray]] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Outputs, input gradients and parameter gradients of both, for the same output gradient."""
    rng = np.random.default_rng(seed)
    xs: list[Any] = [cr.tensor(x, requires_grad=True) if x.dtype.kind == "f" else x for x in inputs]
    ts = [
        torch.tensor(x, requires_grad=x.dtype.kind == "f")
        if x.dtype.kind == "f"
        else torch.tensor(x)
        for x in inputs
    ]
    out = ours(*xs)
    tout = theirs(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    report: dict[str, float] = {}
    loss: Any = None
    tloss: Any = None
    for i, (o, t) in enumerate(zip(outs, touts, strict=True)):
        report[f"out{i}"] = _diff(o, t)
        g = rng.normal(size=o.shape)
        term = (o * g).sum()
        tterm = (t * torch.tensor(g)).sum()
        loss = term if loss is None else loss + term
        tloss = tterm if tloss is None else tloss + tterm
    for p in ours_params:
        p.grad = None
    for tp in their_params:
        tp.grad = None
    loss.backward()
    tloss.backward()
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        if isinstance(x, cr.Tensor):
            report[f"dx{i}"] = _diff(x.grad, t.grad)
    mapping = param_map or [lambda a: a] * len(ours_params)
    for p, tp, f in zip(ours_params, their_params, mapping, strict=True):
        report[f"d{p.name}"] = _diff(f(np.asarray(p.grad.data)), tp.grad)
    return report


def _copy(torch: Any, target: Any, value: np.ndarray) -> None:
    with torch.no_grad():
        target.copy_(torch.tensor(np.ascontiguousarray(value)))


def l1(torch: Any) -> list[tuple[str, dict[str, float]]]:
    rng = np.random.default_rng(0)
    rows: list[tuple[str, dict[str, float]]] = []
    # Conv2d: stride, padding, dilation, groups.
    for c, o, k, s, p, d, g in [
        (3, 16, 3, 1, 0, 1, 1),
        (4, 6, (2, 3), (2, 1), (1, 2), (1, 2), 2),
        (6, 6, 3, 2, 1, 2, 3),
    ]:
        ours = nn.Conv2d(c, o, k, s, p, d, g, seed=1)
        tconv = torch.nn.Conv2d(c, o, k, s, p, d, g).double()
        _copy(torch, tconv.weight, ours.weight.data)
        _copy(torch, tconv.bias, ours.bias.data)
        x = rng.normal(size=(4, c, 11, 10))
        rows.append(
            (
                f"Conv2d({c},{o},k={k},s={s},p={p},d={d},g={g})",
                _run_pair(
                    torch, ours, tconv, [x], [ours.weight, ours.bias], [tconv.weight, tconv.bias]
                ),
            )
        )
    # Pooling.
    x = rng.normal(size=(3, 4, 9, 10))
    for k, s, p in [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1))]:
        rows.append(
            (
                f"MaxPool2d(k={k},s={s},p={p})",
                _run_pair(torch, nn.MaxPool2d(k, s, p), torch.nn.MaxPool2d(k, s, p), [x], [], []),
            )
        )
        for include in (True, False):
            rows.append(
                (
                    f"AvgPool2d(k={k},s={s},p={p},count_include_pad={include})",
                    _run_pair(
                        torch,
                        nn.AvgPool2d(k, s, p, include),
                        torch.nn.AvgPool2d(k, s, p, count_include_pad=include),
                        [x],
                        [],
                        [],
                    ),
                )
            )
    # LayerNorm with trained-looking affine parameters.
    ln = nn.LayerNorm((5, 6))
    tln = torch.nn.LayerNorm((5, 6)).double()
    ln.weight.data[...] = rng.normal(size=(5, 6))
    ln.bias.data[...] = rng.normal(size=(5, 6))
    _copy(torch, tln.weight, ln.weight.data)
    _copy(torch, tln.bias, ln.bias.data)
    rows.append(
        (
            "LayerNorm((5, 6))",
            _run_pair(
                torch,
                ln,
                tln,
                [rng.normal(size=(3, 4, 5, 6)) * 3 + 1],
                [ln.weight, ln.bias],
                [tln.weight, tln.bias],
            ),
        )
    )
    # BatchNorm: train steps (running statistics), then eval.
    for cls, tcls, shape in [
        (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 5)),
        (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 5, 7)),
        (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 5, 3, 6)),
    ]:
        for momentum in (0.1, None):
            bn = cls(5, momentum=momentum)
            tbn = tcls(5, momentum=momentum).double()
            bn.weight.data[...] = rng.normal(size=5)
            bn.bias.data[...] = rng.normal(size=5)
            _copy(torch, tbn.weight, bn.weight.data)
            _copy(torch, tbn.bias, bn.bias.data)
            report: dict[str, float] = {}
            for step in range(3):
                x = rng.normal(size=shape) * 2 + 0.5
                r = _run_pair(torch, bn, tbn, [x], [bn.weight, bn.bias], [tbn.weight, tbn.bias])
                for key, v in r.items():
                    report[f"train {key}"] = max(report.get(f"train {key}", 0.0), v)
                del step
            report["running_mean"] = _diff(bn.running_mean, tbn.running_mean)
            report["running_var"] = _diff(bn.running_var, tbn.running_var)
            bn.eval()
            tbn.eval()
            r = _run_pair(
                torch,
                bn,
                tbn,
                [rng.normal(size=shape)],
                [bn.weight, bn.bias],
                [tbn.weight, tbn.bias],
            )
            report.update({f"eval {key}": v for key, v in r.items()})
            rows.append((f"{cls.__name__}(5, momentum={momentum}) on {shape}", report))
    # Embedding with a padding row.
    emb = nn.Embedding(10, 4, padding_idx=2, seed=0)
    temb = torch.nn.Embedding(10, 4, padding_idx=2).double()
    _copy(torch, temb.weight, emb.weight.data)
    ids = np.array([[1, 2, 3, 2], [9, 0, 1, 1]])
    rows.append(
        (
            "Embedding(10, 4, padding_idx=2)",
            _run_pair(torch, emb, temb, [ids], [emb.weight], [temb.weight]),
        )
    )
    # scaled_dot_product_attention: no mask, boolean, floating, causal.
    f = torch.nn.functional.scaled_dot_product_attention
    q, k, v = (rng.normal(size=(2, 3, n, 4)) for n in (5, 6, 6))
    bool_mask = rng.random((5, 6)) > 0.3
    bool_mask[:, 0] = True  # every query sees a key
    float_mask = rng.normal(size=(2, 1, 5, 6))
    for label, kwargs in [
        ("no mask", {}),
        ("bool mask", {"attn_mask": bool_mask}),
        ("float mask", {"attn_mask": float_mask}),
        ("scale=0.3", {"scale": 0.3}),
    ]:
        tk = {
            key: torch.tensor(val) if isinstance(val, np.ndarray) else val
            for key, val in kwargs.items()
        }
        rows.append(
            (
                f"scaled_dot_product_attention ({label})",
                _run_pair(
                    torch,
                    lambda a, b, c, kw=kwargs: nn.scaled_dot_product_attention(a, b, c, **kw),
                    lambda a, b, c, kw=tk: f(a, b, c, **kw),
                    [q, k, v],
                    [],
                    [],
                ),
            )
        )
    qc = rng.normal(size=(2, 3, 6, 4))
    rows.append(
        (
            "scaled_dot_product_attention (is_causal)",
            _run_pair(
                torch,
                lambda a, b, c: nn.scaled_dot_product_attention(a, b, c, is_causal=True),
                lambda a, b, c: f(a, b, c, is_causal=True),
                [qc, k, v],
                [],
                [],
            ),
        )
    )
    # MultiheadAttention: masks, both layouts, per-head weights.
    for batch_first, average in ((True, True), (False, False)):
        mha = nn.MultiheadAttention(8, 2, batch_first=batch_first, seed=0)
        mha.in_proj_bias.data[...] = rng.normal(size=24) * 0.1
        mha.out_proj.bias.data[...] = rng.normal(size=8) * 0.1
        tm = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
        _copy(torch, tm.in_proj_weight, mha.in_proj_weight.data.T)
        _copy(torch, tm.in_proj_bias, mha.in_proj_bias.data)
        _copy(torch, tm.out_proj.weight, mha.out_proj.weight.data.T)
        _copy(torch, tm.out_proj.bias, mha.out_proj.bias.data)
        lq, ls, n = 5, 6, 3
        shape_q = (n, lq, 8) if batch_first else (lq, n, 8)
        shape_k = (n, ls, 8) if batch_first else (ls, n, 8)
        kpm = np.zeros((n, ls), dtype=bool)
        kpm[0, -2:] = True
        am = rng.normal(size=(lq, ls))
        params = [mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias]
        tparams = [tm.in_proj_weight, tm.in_proj_bias, tm.out_proj.weight, tm.out_proj.bias]
        transposes = [np.transpose, lambda a: a, np.transpose, lambda a: a]
        rows.append(
            (
                f"MultiheadAttention(8, 2, batch_first={batch_first}), average={average}",
                _run_pair(
                    torch,
                    lambda a, b, c, av=average, m=mha, kp=kpm, mask=am: m(
                        a, b, c, kp, attn_mask=mask, average_attn_weights=av
                    ),
                    lambda a, b, c, av=average, m=tm, kp=kpm, mask=am: m(
                        a,
                        b,
                        c,
                        key_padding_mask=torch.tensor(kp),
                        attn_mask=torch.tensor(mask),
                        average_attn_weights=av,
                    ),
                    [rng.normal(size=shape_q), rng.normal(size=shape_k), rng.normal(size=shape_k)],
                    params,
                    tparams,
                    transposes,
                ),
            )
        )
    return rows


# --- L2: speed ---------------------------------------------------------------------------------------


def _per_call(fn: Callable[[], Any], number: int, repeat: int) -> list[float]:
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number)
    return out


def _fmt(times: Sequence[float]) -> str:
    return (
        f"{statistics.median(times) * 1e3:8.3f} ms [{min(times) * 1e3:.3f}, {max(times) * 1e3:.3f}]"
    )


def l2(torch: Any, n: int, c: int, o: int, size: int, padding: int, number: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, c, size, size))
    conv = nn.Conv2d(c, o, 3, padding=padding, seed=0)

    def ours() -> None:
        xt = cr.tensor(x, requires_grad=True)
        conv.zero_grad()
        conv(xt).sum().backward()

    from chainrule.nn import native

    kernels = "C kernels" if native.available() else "NumPy kernels"
    label = f"L2 Conv2d({c},{o},3,p={padding}) fwd+bwd on {n}x{c}x{size}x{size} float64 ({kernels})"
    if torch is None:
        print(
            f"{label}: chainrule {_fmt(_per_call(ours, number, 7))}; torch not installed, no anchor"
        )
        return
    tconv = torch.nn.Conv2d(c, o, 3, padding=padding).double()
    tx = torch.tensor(x)

    def theirs() -> None:
        xt = tx.detach().requires_grad_()
        tconv.zero_grad()
        tconv(xt).sum().backward()

    best: tuple[list[float], list[float]] | None = None
    best_threads = 0
    for threads in (1, 2):
        torch.set_num_threads(threads)
        pair = interleaved(ours, theirs, repeats=9, budget=0.1)
        if best is None or statistics.median(pair[1]) < statistics.median(best[1]):
            best, best_threads = pair, threads
    assert best is not None
    mine, theirs_t = best
    print(label)
    print(f"   chainrule {_fmt(mine)}")
    print(f"   torch     {_fmt(theirs_t)} ({best_threads} thread{'s' if best_threads > 1 else ''})")
    print(f"   ratio chainrule/torch {ratio(mine, theirs_t)} (paired repeats; target <= 1.00)")


def main() -> None:
    print(machine_line())
    torch = _torch()
    if torch is None:
        print("torch is not installed: the layer agreement checks (L1) and the anchors are skipped")
        l2(None, 32, 3, 16, 32, 0, 10)
        return
    failed = []
    print(f"L1: chainrule vs torch, float64, max |difference| (PASS at <= {TOL:g})")
    with warnings.catch_warnings():
        # torch warns that a boolean key_padding_mask with a floating attn_mask is deprecated.
        warnings.simplefilter("ignore", UserWarning)
        rows = l1(torch)
    for name, report in rows:
        worst = max(report.values(), default=0.0)
        verdict = "PASS" if worst <= TOL else "FAIL"
        if verdict == "FAIL":
            failed.append(name)
        detail = ", ".join(f"{k} {v:.1e}" for k, v in report.items())
        print(f"   {verdict} {name}: max {worst:.1e} ({detail})")
    print(f"L1 {'PASS' if not failed else 'FAIL: ' + ', '.join(failed)}")
    l2(torch, 32, 3, 16, 32, 0, 10)
    l2(torch, 64, 1, 8, 8, 1, 50)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
