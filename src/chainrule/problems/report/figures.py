"""Figures for the HTML report: a :class:`~chainrule.problems.results.Figure` (data) drawn as inline SVG.

- ``hyperplane``: the points and the plane ``w·x + b = 0`` with its margin. 2-D data is drawn as it is;
  other dimensions edge-on: the horizontal axis is the signed distance to the plane
  ``(w·x + b)/‖w‖`` and the vertical one a direction inside the plane, so the plane is the vertical line
  at 0 and every distance is true. ``margin`` is a distance (the margin lines are ``w·x + b = ±margin·‖w‖``).
- ``threshold_unit``: the two decision regions of ``z = w·x + bias_sign·w0`` (output 1 iff ``z ≥ 0``, or
  ``z > 0`` when ``strict``) with the labelled points; a point the unit gets wrong is circled in red.
- ``identity``: the named curves over ``x`` (dashes differ, so identical curves stay visible).
- ``dag``: the network, inputs on the left, each node with its value and gradient.
- ``einsum_path``: the contraction tree: the operands with their shapes, then one box per step with its
  FLOPs.

The first three need matplotlib (drawn with its SVG backend, text as paths so no font is needed); the
last two are written as SVG directly. :func:`figure_html` never raises: without matplotlib a figure
becomes the note "install chainrule[plot] for figures", and malformed data a note saying what is wrong.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.problems.report.mathml import escape

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from chainrule.problems.results import Figure

__all__ = ["KINDS", "PLOT_NOTE", "figure_html", "figure_svg", "have_matplotlib"]

#: The note shown in place of a figure when matplotlib is not installed.
PLOT_NOTE = "install chainrule[plot] for figures"

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
_REGION = {1: "#1f77b4", 0: "#d62728"}


def have_matplotlib() -> bool:
    """Whether matplotlib can be imported (the ``plot`` extra)."""
    return importlib.util.find_spec("matplotlib") is not None


# --- helpers ----------------------------------------------------------------------------------------


def _num(x: Any, digits: int = 4) -> str:
    """A number in few characters: ``3``, ``-0.5``, ``1.235e+04``; strings (``"nan"``) as they are."""
    if isinstance(x, str):
        return x
    f = float(x)
    if math.isfinite(f) and f == int(f) and abs(f) < 1e15:
        return str(int(f)).replace("-", "−")
    return format(f, f".{digits}g").replace("-", "−")


def _floats(values: Any, name: str) -> np.ndarray:
    """``values`` as a float array (JSON's ``"nan"``/``"inf"`` strings included).

    Raises:
        ValueError: a value that is not a number (names ``name``).
    """
    try:
        return np.asarray(_to_float_tree(values), dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"figure field {name!r}: {e}") from None


def _to_float_tree(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_to_float_tree(x) for x in v]
    if isinstance(v, str) and "/" in v:
        return float(Fraction(v.strip()))  # jsonable writes Fractions as "p/q"
    return float(v)


def _short(v: Any) -> str:
    """A value or a gradient in a box: a number, up to 4 numbers, or a mean and range."""
    if v is None:
        return "—"
    if isinstance(v, str):
        return v if len(v) <= 24 else v[:23] + "…"
    try:
        a = _floats(v, "value").ravel()
    except ValueError:
        return str(v)[:24]
    if a.size == 0:
        return "[]"
    if a.size == 1:
        return _num(a[0])
    if a.size <= 4:
        return "[" + ", ".join(_num(x, 3) for x in a) + "]"
    return f"mean {_num(a.mean(), 3)}, range [{_num(a.min(), 3)}, {_num(a.max(), 3)}]"


def _mpl_text(s: str) -> str:
    """``s`` for a matplotlib label: kept as mathtext when it parses, else with every ``$`` escaped."""
    if "$" not in s:
        return s
    try:
        from matplotlib.mathtext import MathTextParser

        MathTextParser("path").parse(s)
        return s
    except Exception:
        return s.replace("$", r"\$")


def _box(points: np.ndarray, pad_frac: float = 0.25, min_pad: float = 0.75) -> np.ndarray:
    """A 2×2 array ``[[xmin, xmax], [ymin, ymax]]`` around ``points`` (shape ``(n, 2)``), padded."""
    lo = points.min(axis=0) if len(points) else np.zeros(2)
    hi = points.max(axis=0) if len(points) else np.zeros(2)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 0.0))
    pad = max(pad_frac * span, min_pad)
    return np.array([[lo[0] - pad, hi[0] + pad], [lo[1] - pad, hi[1] + pad]])


def _corners(box: np.ndarray) -> list[np.ndarray]:
    (x0, x1), (y0, y1) = box
    return [np.array(p, float) for p in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]


def _clip_halfplane(poly: list[np.ndarray], w: np.ndarray, c: float) -> list[np.ndarray]:
    """The part of the convex polygon ``poly`` where ``w·x + c ≥ 0`` (one Sutherland–Hodgman pass)."""
    out: list[np.ndarray] = []
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        fp, fq = float(w @ p + c), float(w @ q + c)
        if fp >= 0:
            out.append(p)
        if (fp >= 0) != (fq >= 0):
            t = fp / (fp - fq)
            out.append(p + t * (q - p))
    return out


def _line_in_box(w: np.ndarray, c: float, box: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The segment of the line ``w·x + c = 0`` inside ``box``, or None when it misses the box."""
    pts: list[np.ndarray] = []
    corners = _corners(box)
    for i, p in enumerate(corners):
        q = corners[(i + 1) % 4]
        fp, fq = float(w @ p + c), float(w @ q + c)
        if fp == 0:
            pts.append(p)
        if (fp < 0 < fq) or (fq < 0 < fp):
            pts.append(p + fp / (fp - fq) * (q - p))
    if len(pts) < 2:
        return None
    best = max(
        ((a, b) for a in pts for b in pts), key=lambda ab: float(np.sum((ab[0] - ab[1]) ** 2))
    )
    if np.allclose(best[0], best[1]):
        return None
    return best


def _point_text(p: np.ndarray) -> str:
    return "(" + ", ".join(_num(x, 3) for x in p) + ")"


def _label_colours(labels: Sequence[Any]) -> dict[str, str]:
    keys: list[str] = []
    for lab in labels:
        if str(lab) not in keys:
            keys.append(str(lab))
    return {k: _PALETTE[i % len(_PALETTE)] for i, k in enumerate(keys)}


def _side_colours(labels: Sequence[Any], f: np.ndarray) -> dict[str, str]:
    """A colour per label: with two labels on opposite sides of the plane, blue for the positive side
    and red for the negative one (the shading's colours); else a palette."""
    colours = _label_colours(labels)
    if len(colours) != 2:
        return colours
    side = {}
    for lab in colours:
        vals = [f[i] for i, v in enumerate(labels) if str(v) == lab]
        side[lab] = float(np.mean(np.sign(vals)))
    (l1, s1), (l2, s2) = side.items()
    if s1 * s2 < 0:
        pos, neg = (l1, l2) if s1 > 0 else (l2, l1)
        return {pos: _REGION[1], neg: _REGION[0]}
    return colours


def _new_axes(size: tuple[float, float] = (6.4, 4.2)) -> tuple[Any, Axes]:
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


# --- matplotlib figures -----------------------------------------------------------------------------


def _draw_hyperplane(data: dict[str, Any]) -> Any:
    if data.get("w") is None:
        return _draw_no_plane(data, "no hyperplane separates the classes")
    X = _floats(data["points"], "points")
    if X.ndim == 1:
        X = X.reshape(1, -1)
    w = _floats(data["w"], "w").ravel()
    b = float(_floats(data.get("b", 0.0), "b"))
    if X.shape[1] != w.size:
        raise ValueError(f"points have {X.shape[1]} coordinates but w has {w.size}")
    norm = float(np.linalg.norm(w))
    if not norm > 0 or not math.isfinite(norm):
        raise ValueError("w must be a finite, nonzero normal")
    labels = list(data.get("labels") or [""] * len(X))
    margin = data.get("margin")
    m = float(_floats(margin, "margin")) if margin is not None else None
    colours = _side_colours(labels, X @ w + b)
    fig, ax = _new_axes()
    if w.size == 2:
        P = X
        box = _box(P)
        centre = P.mean(axis=0) if len(P) else np.zeros(2)
        foot = centre - (w @ centre + b) / norm**2 * w
        box[:, 0] = np.minimum(box[:, 0], foot - 0.5)
        box[:, 1] = np.maximum(box[:, 1], foot + 0.5)
        pos = _clip_halfplane(_corners(box), w, b)
        neg = _clip_halfplane(_corners(box), -w, -b)
        for poly, colour, name in (
            (pos, _REGION[1], "w·x + b > 0"),
            (neg, _REGION[0], "w·x + b < 0"),
        ):
            if len(poly) >= 3:
                xy = np.array(poly)
                ax.fill(xy[:, 0], xy[:, 1], color=colour, alpha=0.08, lw=0, label=name)
        seg = _line_in_box(w, b, box)
        if seg is not None:
            ax.plot(*np.array(seg).T, color="black", lw=2, label="w·x + b = 0")
        if m is not None and m > 0:
            for sign in (1.0, -1.0):
                seg = _line_in_box(w, b - sign * m * norm, box)
                if seg is not None:
                    ax.plot(
                        *np.array(seg).T,
                        color="black",
                        lw=1,
                        ls="--",
                        label=f"margin {_num(m, 3)}" if sign > 0 else None,
                    )
        span = float(max(box[0, 1] - box[0, 0], box[1, 1] - box[1, 0]))
        head = foot + 0.15 * span * w / norm
        ax.annotate(
            "",
            xy=tuple(head),
            xytext=tuple(foot),
            arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2},
        )
        tip = head + 0.04 * span * w / norm
        ax.text(float(tip[0]), float(tip[1]), "w", ha="center", va="center", fontsize=10)
        ax.set_xlim(*box[0])
        ax.set_ylim(*box[1])
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    else:
        unit = w / norm
        s = (X @ w + b) / norm
        u = _in_plane_direction(X, unit)
        t = X @ u if u is not None else np.zeros(len(X))
        P = np.column_stack([s, t])
        box = _box(np.vstack([P, [[0.0, float(t.mean()) if len(t) else 0.0]]]))
        ax.axvspan(0, box[0, 1], color=_REGION[1], alpha=0.08, lw=0, label="w·x + b > 0")
        ax.axvspan(box[0, 0], 0, color=_REGION[0], alpha=0.08, lw=0, label="w·x + b < 0")
        ax.axvline(0, color="black", lw=2, label="the plane w·x + b = 0")
        if m is not None and m > 0:
            ax.axvline(m, color="black", lw=1, ls="--", label=f"margin {_num(m, 3)}")
            ax.axvline(-m, color="black", lw=1, ls="--")
        ax.set_xlim(*box[0])
        ax.set_ylim(*box[1])
        ax.set_xlabel("signed distance to the plane, (w·x + b)/‖w‖")
        ax.set_ylabel("along u, inside the plane" if u is not None else "")
        along = f";  u = {_point_text(u)}" if u is not None else ""
        ax.set_title(f"the plane in ℝ{_sup(w.size)}, seen edge-on{along}", fontsize=9)
    if len(P) == 2:
        ax.plot(*P.T, color="#777777", lw=1, ls=":")
        mid = P.mean(axis=0)
        ax.plot(*mid, marker="x", color="black", ms=8, ls="none", label="midpoint")
    for lab in colours:
        idx = [i for i, v in enumerate(labels) if str(v) == lab]
        ax.plot(
            P[idx, 0],
            P[idx, 1],
            "o",
            color=colours[lab],
            ms=8,
            mec="black",
            label=f"label {_mpl_text(lab)}" if lab else "points",
        )
    for i, p in enumerate(P):
        ax.annotate(
            _point_text(X[i]), tuple(p), textcoords="offset points", xytext=(6, 6), fontsize=8
        )
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, lw=0.4, alpha=0.5)
    _legend_outside(ax)
    return fig


def _legend_outside(ax: Axes) -> None:
    """The legend to the right of the axes, where it hides no point."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def _in_plane_direction(X: np.ndarray, unit: np.ndarray) -> np.ndarray | None:
    """A unit vector inside the plane: the points' main in-plane direction, else any. None in 1-D."""
    d = unit.size
    if d < 2:
        return None
    Q = X - np.outer(X @ unit, unit)
    if len(Q) >= 2:
        C = Q - Q.mean(axis=0)
        _, sv, vt = np.linalg.svd(C, full_matrices=False)
        if sv.size and sv[0] > 1e-9 * max(1.0, float(np.abs(X).max())):
            v = vt[0]
            v = v - (v @ unit) * unit
            v /= np.linalg.norm(v)
            return v if v[np.argmax(np.abs(v))] > 0 else -v
    e = np.zeros(d)
    e[int(np.argmin(np.abs(unit)))] = 1.0
    v = e - (e @ unit) * unit
    return v / np.linalg.norm(v)


def _draw_threshold_unit(data: dict[str, Any]) -> Any:
    if data.get("w") is None:
        return _draw_no_plane(data, "no weights exist")
    X = _floats(data["points"], "points")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    w = _floats(data["w"], "w").ravel()
    w0 = float(_floats(data.get("w0", 0.0), "w0"))
    sign = float(_floats(data.get("bias_sign", -1.0), "bias_sign"))
    strict = bool(data.get("strict", False))
    labels = list(data.get("labels") or [])
    if X.shape[1] != w.size:
        raise ValueError(f"points have {X.shape[1]} coordinates but w has {w.size}")
    if labels and len(labels) != len(X):
        raise ValueError(f"{len(X)} points but {len(labels)} labels")
    c = sign * w0
    z = X @ w + c
    out = (z > 0) if strict else (z >= 0)
    zt = "z = "
    for i, wi in enumerate(w):
        op = ("−" if wi < 0 else "") if i == 0 else (" − " if wi < 0 else " + ")
        zt += f"{op}{_num(abs(wi), 3)}·x{_sub(i + 1)}"
    w0_text = _num(w0, 3) if w0 >= 0 else f"({_num(w0, 3)})"
    zt += (" − " if sign < 0 else " + ") + w0_text  # the file's convention: z = w·x − w0 or + w0
    rule = "z > 0" if strict else "z ≥ 0"
    fig, ax = _new_axes()
    if w.size == 2:
        P = X
        box = _box(P)
        for side, (ww, cc) in ((1, (w, c)), (0, (-w, -c))):
            poly = _clip_halfplane(_corners(box), ww, cc)
            if len(poly) >= 3:
                xy = np.array(poly)
                name = f"output 1 ({rule})" if side else "output 0"
                ax.fill(xy[:, 0], xy[:, 1], color=_REGION[side], alpha=0.13, lw=0, label=name)
        seg = _line_in_box(w, c, box) if np.any(w != 0) else None
        if seg is not None:
            where = "0" if strict else "1"
            ax.plot(*np.array(seg).T, color="black", lw=1.5, label=f"z = 0 (output {where} on it)")
        ax.set_xlim(*box[0])
        ax.set_ylim(*box[1])
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_aspect("equal", adjustable="box")
    else:
        P = np.column_stack([z, np.arange(len(z), dtype=float)])
        box = _box(P)
        ax.axvspan(0, box[0, 1], color=_REGION[1], alpha=0.13, lw=0, label=f"output 1 ({rule})")
        ax.axvspan(box[0, 0], 0, color=_REGION[0], alpha=0.13, lw=0, label="output 0")
        ax.axvline(0, color="black", lw=1.5)
        ax.set_xlim(*box[0])
        ax.set_ylim(*box[1])
        ax.set_xlabel("z")
        ax.set_yticks(range(len(z)))
        ax.set_ylabel("point")
    for i, p in enumerate(P):
        lab = labels[i] if labels else None
        cls = _as_int(lab)
        colour = _REGION.get(cls, "#555555") if cls is not None else "#555555"
        ax.plot(*p, marker="o" if cls == 1 else "s", color=colour, ms=9, mec="black")
        wrong = lab is not None and _as_int(lab) != int(out[i])
        if wrong:
            ax.plot(*p, marker="o", mfc="none", mec="red", ms=18, mew=2)
        text = _point_text(X[i]) + (f" → {lab}" if lab is not None else "")
        ax.annotate(text, tuple(p), textcoords="offset points", xytext=(8, 6), fontsize=8)
    n_wrong = sum(
        1 for i, lab in enumerate(labels) if lab is not None and _as_int(lab) != int(out[i])
    )
    verdict = "every point classified right" if not n_wrong else f"{n_wrong} point(s) wrong (red)"
    ax.set_title(f"{zt};  output 1 iff {rule}  —  {verdict}", fontsize=9)
    ax.grid(True, lw=0.4, alpha=0.5)
    _legend_outside(ax)
    return fig


def _projection(X: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], str, str]:
    """A map of the points to 2-D and the axis names: 2-D as it is, 1-D on a line, more dimensions on
    their two principal directions."""
    d = X.shape[1]
    if d == 2:
        return (lambda A: A), "$x_1$", "$x_2$"
    if d == 1:
        return (lambda A: np.column_stack([A[:, 0], np.zeros(len(A))])), "$x_1$", ""
    mu = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mu, full_matrices=False)
    V = vt[:2] if len(vt) >= 2 else np.eye(2, d)
    return (lambda A: (A - mu) @ V.T), "principal direction 1", "principal direction 2"


def _class_colour(label: Any, palette: dict[str, str]) -> str:
    """Blue for the positive class (1), red for the other (0 or −1), else the label's palette colour."""
    value = _as_int(label)
    if value is not None and str(label).strip() in {"1", "0", "-1", "1.0", "0.0", "-1.0"}:
        return _REGION[1] if value > 0 else _REGION[0]
    return palette[str(label)]


def _draw_no_plane(data: dict[str, Any], title: str) -> Any:
    """The points of a set that no hyperplane separates, with the certificate: the points it weights,
    joined to the point common to both classes' convex hulls."""
    X = _floats(data["points"], "points")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    labels = list(data.get("labels") or [""] * len(X))
    project, xlabel, ylabel = _projection(X)
    P = project(X)
    palette = _label_colours(labels)
    fig, ax = _new_axes()
    cert = data.get("certificate") or {}
    common = cert.get("common_point")
    if common is not None:
        c = project(_floats(common, "certificate.common_point").reshape(1, -1))[0]
        rows = [int(r) for r in cert.get("rows") or []]
        weights = list(cert.get("weights") or [1.0] * len(rows))
        for r, wt in zip(rows, weights, strict=False):
            if 0 <= r < len(P) and float(wt) != 0:
                colour = _class_colour(labels[r], palette)
                ax.plot(*np.column_stack([P[r], c]), color=colour, lw=1, ls=":")
                ax.annotate(
                    f"λ = {_num(float(wt), 3)}",
                    tuple((P[r] + c) / 2),
                    fontsize=7,
                    color="#333333",
                )
        ax.plot(*c, marker="*", color="black", ms=14, ls="none", label="common point of the hulls")
    for lab in palette:
        idx = [i for i, v in enumerate(labels) if str(v) == lab]
        ax.plot(
            P[idx, 0],
            P[idx, 1],
            "o",
            color=_class_colour(labels[idx[0]], palette),
            ms=8,
            mec="black",
            label=f"label {_mpl_text(lab)}" if lab else "points",
        )
    for i, p in enumerate(P):
        ax.annotate(
            _point_text(X[i]), tuple(p), textcoords="offset points", xytext=(6, 6), fontsize=8
        )
    box = _box(P)
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_title(f"{title}: the classes' convex hulls meet", fontsize=9)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, lw=0.4, alpha=0.5)
    _legend_outside(ax)
    return fig


def _sub(i: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(d)] for d in str(i))


def _sup(i: int) -> str:
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in str(i))


def _as_int(v: Any) -> int | None:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def _draw_identity(data: dict[str, Any]) -> Any:
    x = _floats(data["x"], "x").ravel()
    curves = data.get("curves") or {}
    if not isinstance(curves, dict) or not curves:
        raise ValueError("an identity figure needs curves: {label: [y...]}")
    fig, ax = _new_axes((6.4, 3.8))
    styles = ("-", "--", ":", "-.")
    widths = (3.2, 2.0, 2.4, 1.4)
    for k, (label, ys) in enumerate(curves.items()):
        y = _floats(ys, f"curves[{label!r}]").ravel()
        if y.size != x.size:
            raise ValueError(f"curve {label!r} has {y.size} values for {x.size} x values")
        ax.plot(
            x,
            y,
            ls=styles[k % len(styles)],
            lw=widths[k % len(widths)],
            color=_PALETTE[k % len(_PALETTE)],
            label=_mpl_text(str(label)),
            alpha=0.9,
        )
    ax.axhline(0, color="#999999", lw=0.6)
    ax.set_xlabel(_mpl_text(str(data.get("xlabel", "x"))))
    if data.get("ylabel"):
        ax.set_ylabel(_mpl_text(str(data["ylabel"])))
    ax.grid(True, lw=0.4, alpha=0.5)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    return fig


# --- directly written SVG: boxes and arrows -------------------------------------------------------

_FILL = {"input": "#d6eaf8", "output": "#fde2c8", "hidden": "#d5f5e3", "step": "#ffffff"}


def _boxes_svg(
    lines: list[list[str]],
    edges: list[tuple[int, int]],
    kinds: list[str],
    uid: str,
    title: str,
    edge_labels: Sequence[str] = (),
) -> str:
    """An SVG of boxes (``lines`` each, parents first) joined by arrows, laid out in layers, under a
    title and the non-empty ``edge_labels`` (the weights) listed in lines."""
    from chainrule.autodiff.draw import layout

    lay = layout(list(range(len(lines))), lines, [(a, b, 0) for a, b in edges])
    width = max(lay.width, 8.0 * len(title) + 40.0)
    notes = _wrap([x for x in edge_labels if x], int((width - 40.0) / 6.6))
    head = (26.0 if title else 6.0) + 15.0 * len(notes)
    height = lay.height + head
    arrow = f"{uid}-arrow"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, '
        'monospace" font-size="12">',
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
        "</marker></defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
    ]
    if title:
        out.append(f'<text x="20" y="20" font-weight="bold" font-size="13">{escape(title)}</text>')
    for j, note in enumerate(notes):
        y = (26.0 if title else 6.0) + 11.0 + 15.0 * j
        out.append(f'<text x="20" y="{y:.0f}" font-size="11" fill="#333">{escape(note)}</text>')
    out.append(f'<g transform="translate(0,{head:.0f})">')
    for pts in lay.paths:
        d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            mx = (x0 + x1) / 2
            d += f" C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
        out.append(
            f'<path d="{d}" fill="none" stroke="#555" stroke-width="1.2" '
            f'marker-end="url(#{arrow})"/>'
        )
    for s in lay.slots:
        if s.node is None:
            continue
        kind = kinds[s.node]
        stroke = 2.0 if kind == "output" else 1.0
        out.append(f'<g class="node {kind}">')
        out.append(f"<title>{escape(' | '.join(lines[s.node]))}</title>")
        out.append(
            f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{s.width:.1f}" height="{s.height:.1f}" '
            f'rx="6" fill="{_FILL.get(kind, "#ffffff")}" stroke="#333" stroke-width="{stroke}"/>'
        )
        for j, text in enumerate(lines[s.node]):
            ty = s.y + 8.0 + (j + 0.8) * 15.0
            weight = ' font-weight="bold"' if j == 0 else ' fill="#333"'
            out.append(
                f'<text x="{s.x + s.width / 2:.1f}" y="{ty:.1f}" text-anchor="middle"{weight}>'
                f"{escape(text)}</text>"
            )
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out)


def _wrap(items: list[str], width: int) -> list[str]:
    """``items`` joined by `` · `` into lines of at most ``width`` characters (an item never split)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 3 + len(item) <= width:
            lines[-1] += " · " + item
        else:
            lines.append(item)
    return lines


def _topological(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """An order of ``range(n)`` with every edge's source first (ties keep the given order).

    Raises:
        ValueError: the edges have a cycle.
    """
    indeg = [0] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        succ[a].append(b)
        indeg[b] += 1
    ready = [v for v in range(n) if indeg[v] == 0]
    order: list[int] = []
    while ready:
        ready.sort()
        v = ready.pop(0)
        order.append(v)
        for s in succ[v]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if len(order) != n:
        raise ValueError("the dag figure's edges have a cycle")
    return order


def _node_name(node: Any) -> str:
    if isinstance(node, dict):
        for key in ("id", "name", "label"):
            if key in node:
                return str(node[key])
        raise ValueError(f"a dag node needs an id or a name: {node!r}")
    return str(node)


def _lookup(table: Any, name: str, index: int) -> Any:
    if isinstance(table, dict):
        return table.get(name)
    if isinstance(table, (list, tuple)) and index < len(table):
        return table[index]
    return None


def _dag_svg(data: dict[str, Any], uid: str) -> str:
    names = [_node_name(v) for v in data["nodes"]]
    index = {name: i for i, name in enumerate(names)}
    edges: list[tuple[int, int]] = []
    for e in data.get("edges") or []:
        if isinstance(e, dict):
            a = e.get("from", e.get("source"))
            b = e.get("to", e.get("target"))
        else:
            a, b = e
        ends = []
        for end in (a, b):
            if isinstance(end, int) and not isinstance(end, bool) and 0 <= end < len(names):
                ends.append(end)
            elif str(end) in index:
                ends.append(index[str(end)])
            else:
                raise ValueError(f"dag edge {e!r} names an unknown node {end!r}")
        edges.append((ends[0], ends[1]))
    loss_from = [str(x) for x in data.get("loss_from") or []]
    loss = str(data.get("loss", "L"))
    if loss_from and loss not in index:
        names.append(loss)
        index[loss] = len(names) - 1
        for src in loss_from:
            if src not in index:
                raise ValueError(f"dag loss_from names an unknown node {src!r}")
            edges.append((index[src], index[loss]))
    order = _topological(len(names), edges)
    pos = {v: i for i, v in enumerate(order)}
    values, grads = data.get("values") or {}, data.get("grads") or {}
    has_pred = {b for _, b in edges}
    has_succ = {a for a, _ in edges}
    lines: list[list[str]] = []
    kinds: list[str] = []
    for v in order:
        name = names[v]
        value = _lookup(values, name, v)
        added_loss = name == loss and bool(loss_from)
        row = [name] if added_loss and value is None else [name, f"value {_short(value)}"]
        g = _lookup(grads, name, v)
        if g is None and added_loss:
            g = 1.0  # ∂L/∂L
        if g is not None or grads:
            row.append(f"grad {_short(g)}")
        lines.append(row)
        kinds.append(
            "input" if v not in has_pred else ("output" if v not in has_succ else "hidden")
        )
    new_edges = [(pos[a], pos[b]) for a, b in edges]
    weights = data.get("weights") or {}
    labels = [_weight_label(weights, names[a], names[b]) for a, b in edges]
    return _boxes_svg(lines, new_edges, kinds, uid, str(data.get("title", "")), labels)


def _weight_label(weights: Any, src: str, dst: str) -> str:
    """``w₄,₅ = 0.7`` for the edge ``n_5 → n_4`` when ``weights`` has ``w_{4,5}`` (or ``4,5``)."""
    if not isinstance(weights, dict):
        return ""

    def short(name: str) -> str:
        return name[2:] if name.startswith("n_") else name

    key = f"{short(dst)},{short(src)}"
    for k in (f"w_{{{key}}}", f"w_{key}", key):
        if k in weights:
            return f"w{key} = {_short(weights[k])}"
    return ""


def _einsum_svg(data: dict[str, Any], uid: str) -> str:
    subscripts = str(data["subscripts"]).replace(" ", "")
    lhs = subscripts.partition("->")[0]
    inputs = lhs.split(",") if lhs else []
    shapes = list(data.get("shapes") or [])
    names = [str(n) for n in data.get("operands") or []]
    lines: list[list[str]] = []
    subs: list[str] = []  # the subscripts each box stands for
    kinds: list[str] = []
    edges: list[tuple[int, int]] = []
    current: list[int] = []  # the box of each operand still to contract, in path order

    def box(text: list[str], sub: str, kind: str) -> int:
        lines.append([t for t in text if t])
        subs.append(sub)
        kinds.append(kind)
        return len(lines) - 1

    for i, sub in enumerate(inputs):
        shape = shapes[i] if i < len(shapes) else None
        shape_text = "×".join(str(d) for d in shape) if shape else ("scalar" if shape == [] else "")
        name = names[i] if i < len(names) else f"#{i}"
        current.append(box([f"{name}: {sub or '(scalar)'}", shape_text], sub, "input"))
    steps = list(data.get("steps") or [])
    total = 0.0
    n_path = 0  # path steps so far (pre-steps are not numbered)
    for k, step in enumerate(steps):
        if not isinstance(step, dict):
            raise ValueError(f"einsum step {k} is not a table: {step!r}")
        operands = list(step.get("operands") or [])
        positions = step.get("positions")
        pre = bool(step.get("pre", False))
        result = str(step.get("result", ""))
        if "->" in result:
            result = result.partition("->")[2]
        if all(isinstance(o, int) and not isinstance(o, bool) for o in operands):
            positions, operands = operands, []
        taken: list[int] = []
        slot: int | None = None  # where a pre-step's result goes: its operand's place
        if operands:
            for o in operands:
                match = next((j for j, v in enumerate(current) if subs[v] == str(o)), None)
                if match is None:
                    taken.append(box([str(o)], str(o), "input"))
                else:
                    slot = match if pre else None
                    taken.append(current.pop(match))
        else:
            pos = [int(o) for o in positions or []]
            for o in pos:
                if not 0 <= o < len(current):
                    raise ValueError(f"einsum step {k}: operand position {o} out of range")
            taken = [current[o] for o in pos]
            for o in sorted(set(pos), reverse=True):
                current.pop(o)
            slot = pos[0] if pre and pos else None
        flops = step.get("flops")
        flops_text = ""
        if flops is not None:
            try:
                total += 0.0 if pre else float(flops)
                flops_text = f"{_num(flops, 3)} {'elements read' if pre else 'FLOPs'}"
            except (TypeError, ValueError):
                flops_text = str(flops)
        kernel = f" · {step['kernel']}" if step.get("kernel") else ""
        if not pre:
            n_path += 1
        what = "pre-step" if pre else f"step {n_path}"
        ins = ",".join(subs[v] for v in taken)
        node = box(
            [result or "(scalar)", f"{what}{kernel}", f"{ins}→{result}", flops_text], result, "step"
        )
        edges.extend((v, node) for v in taken)
        if slot is not None:
            current.insert(slot, node)
        else:
            current.append(node)
    if len(current) == 1 and steps:
        kinds[current[0]] = "output"
    title = subscripts + (f"  ·  {_num(total, 3)} FLOPs in all" if total else "")
    order = _topological(len(lines), edges)
    pos_of = {v: i for i, v in enumerate(order)}
    return _boxes_svg(
        [lines[v] for v in order],
        [(pos_of[a], pos_of[b]) for a, b in edges],
        [kinds[v] for v in order],
        uid,
        title,
    )


# --- SVG clean-up and the public functions --------------------------------------------------------

_ID = re.compile(r'\bid="([^"]+)"')


def _clean_svg(svg: str, uid: str) -> str:
    """Matplotlib's SVG made fit to inline: no prolog, DOCTYPE, metadata, comments or global ``<style>``
    (its ``*`` rule would reach the page), and every id prefixed with ``uid`` so figures never clash."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("matplotlib wrote no <svg> element")
    svg = svg[start:]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<defs>\s*</defs>\s*", "", svg)
    ids = set(_ID.findall(svg))

    def ref(m: re.Match[str]) -> str:
        name = m.group(2)
        return f"{m.group(1)}{uid}-{name}{m.group(3)}" if name in ids else m.group(0)

    svg = re.sub(r'(\bid=")([^"]+)(")', ref, svg)
    svg = re.sub(r'(href="#)([^"]+)(")', ref, svg)
    svg = re.sub(r"(url\(#)([^)]+)(\))", ref, svg)
    svg = svg.replace(
        "<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1
    )  # what the dropped <style> said
    return svg.strip()


_MPL: dict[str, Callable[[dict[str, Any]], Any]] = {
    "hyperplane": _draw_hyperplane,
    "threshold_unit": _draw_threshold_unit,
    "identity": _draw_identity,
}
_DIRECT: dict[str, Callable[[dict[str, Any], str], str]] = {
    "dag": _dag_svg,
    "einsum_path": _einsum_svg,
}
#: The figure kinds this module draws.
KINDS: tuple[str, ...] = (*_MPL, *_DIRECT)


def figure_svg(fig: Figure, *, uid: str = "fig") -> str:
    """The SVG text of ``fig`` (no XML prolog, ready to inline); its ids all start with ``uid``.

    Raises:
        ValueError: an unknown kind, or data that does not fit the kind (names the field).
        KeyError: a required field is missing.
        ImportError: a kind drawn with matplotlib, and matplotlib is not installed.
    """
    uid = re.sub(r"[^A-Za-z0-9_-]", "-", uid) or "fig"
    if fig.kind in _DIRECT:
        return _DIRECT[fig.kind](fig.data, uid)
    if fig.kind not in _MPL:
        raise ValueError(f"unknown figure kind {fig.kind!r}; kinds are {', '.join(KINDS)}")
    if not have_matplotlib():
        raise ImportError(PLOT_NOTE)
    key = json.dumps(fig.data, sort_keys=True, default=str)
    return _clean_svg(_mpl_raw_svg(fig.kind, key), uid)


@lru_cache(maxsize=64)
def _mpl_raw_svg(kind: str, data_json: str) -> str:
    """Matplotlib's SVG of a figure (cached: a report and a check report with solutions draw the same
    figures)."""
    import matplotlib

    fig = _MPL[kind](json.loads(data_json))
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "chainrule"}):
        fig.savefig(
            buf, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.05
        )
    return buf.getvalue()


def figure_html(fig: Figure, *, uid: str = "fig") -> str:
    """A ``<figure class="figure …">`` with the inline SVG and a ``<figcaption>``.

    Never raises: without matplotlib (for the kinds drawn with it) the SVG is replaced by the note
    :data:`PLOT_NOTE`, and a figure whose data cannot be drawn by a note saying why.
    """
    kind = re.sub(r"[^A-Za-z0-9_-]", "-", fig.kind)
    caption = f"<figcaption>{escape(fig.caption)}</figcaption>" if fig.caption else ""
    try:
        svg = figure_svg(fig, uid=uid)
    except ImportError:
        note = f'<p class="figure-note">{escape(PLOT_NOTE)}</p>'
        return f'<figure class="figure figure-{kind} no-plot">{note}{caption}</figure>'
    except Exception as e:  # a report shows what it can; the note says why this one is missing
        note = (
            f'<p class="figure-note figure-error">this {escape(fig.kind)} figure could not be '
            f"drawn: {escape(type(e).__name__)}: {escape(str(e))}</p>"
        )
        return f'<figure class="figure figure-{kind} figure-failed">{note}{caption}</figure>'
    svg = svg.replace(
        "<svg ", f'<svg class="figure-svg" role="img" aria-label="{escape(fig.caption)}" ', 1
    )
    return f'<figure class="figure figure-{kind}">{svg}{caption}</figure>'
