"""Drawing a recorded graph: Graphviz DOT text, and SVG with no Graphviz binary.

- :func:`to_dot` returns DOT text (one node per tensor: name, op, shape, value and grad summaries;
  one edge per operand, parent → consumer).
- :func:`to_svg` lays the graph out itself, Sugiyama style: layers by longest path from the inputs
  (inputs on the left, the output on the right), long edges split by dummy points, and the order within
  each layer improved by barycentric sweeps (fewer crossings). Boxes show names, values and grads.
- :func:`draw` returns a :class:`GraphDrawing` with ``_repr_svg_`` (shows inline in Jupyter).

``named_only=True`` keeps just the named tensors (and the output), joined where unnamed operations
connect them: the graph a derivation talks about.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from chainrule import backend
from chainrule.autodiff.graph import topological_order
from chainrule.autodiff.tensor import Tensor

__all__ = ["GraphDrawing", "draw", "summarize", "to_dot", "to_svg"]

#: Box geometry of the SVG layout, in pixels.
_CHAR_W = 7.0
_LINE_H = 15.0
_PAD = 8.0
_H_GAP = 60.0
_V_GAP = 24.0
_DUMMY_H = 8.0
_MARGIN = 20.0
#: Barycentric sweeps (each is one pass down and one pass up the layers).
_SWEEPS = 6
#: Most dummy points for long edges; beyond it long edges are drawn straight.
MAX_DUMMIES = 20_000
#: Most boxes :func:`to_svg` draws by default (``named_only=True`` draws big graphs readably).
MAX_SVG_NODES = 2_000
#: Crossings are counted (for diagnostics) only up to this many edge pairs per layer gap.
_MAX_CROSSING_PAIRS = 250_000


def summarize(x: Any, precision: int = 4) -> str:
    """A short summary of an array: the value for ≤ 4 elements, else shape-free mean and range."""
    if x is None:
        return "—"
    if isinstance(x, Tensor):
        x = x.data
    arr = np.asarray(backend.to_numpy(x))
    if arr.size == 0:
        return "[]"
    if arr.dtype.kind == "b":
        return f"{int(arr.sum())}/{arr.size} true" if arr.size > 1 else str(bool(arr.reshape(())))
    if arr.size == 1:
        return format(float(arr.reshape(())), f".{precision}g")
    if arr.size <= 4:
        return "[" + ", ".join(format(float(v), f".{precision}g") for v in arr.ravel()) + "]"
    a = arr.astype(float)
    return (
        f"mean {format(float(a.mean()), f'.{precision}g')}, "
        f"range [{format(float(a.min()), f'.{precision}g')}, {format(float(a.max()), f'.{precision}g')}]"
    )


def _kind(t: Tensor, root: Tensor) -> str:
    if t is root:
        return "output"
    if t.op is None:
        return "param" if t.requires_grad else "data"
    return "named" if t.name else "op"


def _shape_text(t: Tensor) -> str:
    return "×".join(str(d) for d in t.shape) if t.shape else "scalar"


def _op_text(t: Tensor) -> str:
    if t.op is None:
        return "leaf"
    consts = [o for o in t.operands if not isinstance(o, Tensor)]
    shown = []
    for c in consts:
        if c is None:
            shown.append("const")
        elif np.ndim(c) == 0:
            shown.append(summarize(c))
        else:
            shown.append("const " + "×".join(str(d) for d in np.shape(c)))
    return t.op.name + (f" ({', '.join(shown)})" if shown else "")


def _graph(root: Tensor, named_only: bool) -> tuple[list[Tensor], list[tuple[int, int, int]]]:
    """The nodes (parents first) and edges ``(parent index, consumer index, operand slot)``."""
    order = topological_order(root)
    if not named_only:
        index = {id(t): i for i, t in enumerate(order)}
        edges = []
        for t in order:
            for k, p in enumerate(t.parents):
                edges.append((index[id(p)], index[id(t)], k))
        return order, edges
    keep = [t for t in order if t.name or t is root or (t.op is None and t.requires_grad)]
    index = {id(t): i for i, t in enumerate(keep)}
    edges_set: dict[tuple[int, int], int] = {}
    for t in keep:
        # Walk down through unnamed operations to the kept tensors that t reads.
        seen: set[int] = set()
        stack = list(t.parents)
        while stack:
            p = stack.pop()
            if id(p) in seen:
                continue
            seen.add(id(p))
            if id(p) in index:
                edges_set.setdefault((index[id(p)], index[id(t)]), len(edges_set))
            else:
                stack.extend(p.parents)
    return keep, [(a, b, 0) for (a, b) in edges_set]


def _label_lines(t: Tensor, root: Tensor) -> list[str]:
    if t.name:
        title = str(t.name)
    elif t is root:
        title = "L"
    else:
        title = _op_text(t) if t.op is not None else "const"
    lines = [title]
    lines.append(f"{_op_text(t)} · {_shape_text(t)}" if t.name or t is root else _shape_text(t))
    lines.append(f"value {summarize(t.data)}")
    if t.grad is not None or (t.op is None and t.requires_grad):
        lines.append(f"grad {summarize(t.grad)}")
    return lines


# --- DOT --------------------------------------------------------------------------------------------

_DOT_STYLE = {
    "output": 'shape=box, style="rounded,filled,bold", fillcolor="#fde2c8"',
    "param": 'shape=box, style="rounded,filled", fillcolor="#d6eaf8"',
    "data": 'shape=box, style="rounded,filled", fillcolor="#eeeeee"',
    "named": 'shape=box, style="rounded,filled", fillcolor="#d5f5e3"',
    "op": 'shape=box, style="rounded", fontsize=10',
}


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(tensor: Tensor, *, named_only: bool = False, rankdir: str = "LR") -> str:
    """Graphviz DOT text of the graph that produced ``tensor``.

    Each node is one tensor: its name (or its op), op, shape, value summary and grad summary. Each
    edge goes from an operand to its consumer (labelled with the operand position when the op has
    several Tensor operands).

    Args:
        tensor: the output of the graph.
        named_only: keep just named tensors, parameters and the output.
        rankdir: Graphviz direction (``"LR"`` inputs on the left, ``"TB"`` top to bottom).

    Raises:
        TypeError: ``tensor`` is not a Tensor.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot needs a Tensor, not {type(tensor).__name__}")
    nodes, edges = _graph(tensor, named_only)
    out = [
        "digraph chainrule {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#555555"];',
    ]
    for i, t in enumerate(nodes):
        label = "\\n".join(_dot_escape(s) for s in _label_lines(t, tensor))
        out.append(f'  n{i} [label="{label}", {_DOT_STYLE[_kind(t, tensor)]}];')
    multi = {b for (_, b, k) in edges if k > 0}
    for a, b, k in edges:
        attr = f' [label="{k}", fontsize=9]' if b in multi and not named_only else ""
        out.append(f"  n{a} -> n{b}{attr};")
    out.append("}")
    return "\n".join(out) + "\n"


# --- layout -----------------------------------------------------------------------------------------


@dataclass
class _Slot:
    """A box or a dummy point in the layered layout."""

    node: int | None  # index into nodes, None for a dummy
    layer: int
    width: float
    height: float
    x: float = 0.0
    y: float = 0.0


def _layers(n: int, edges: Sequence[tuple[int, int, int]]) -> list[int]:
    """Longest-path layering: each node one past its deepest operand (nodes come parents first);
    then each input moves up to the layer just before its first consumer."""
    layer = [0] * n
    preds: list[list[int]] = [[] for _ in range(n)]
    for a, b, _ in edges:
        preds[b].append(a)
    succs: list[list[int]] = [[] for _ in range(n)]
    for a, b, _ in edges:
        succs[a].append(b)
    for v in range(n):
        if preds[v]:
            layer[v] = 1 + max(layer[p] for p in preds[v])
    # Inputs (weights, data) sit just before their first consumer rather than all in column 0, so
    # their edges stay short.
    for v in range(n):
        if not preds[v] and succs[v]:
            layer[v] = min(layer[s] for s in succs[v]) - 1
    return layer


def _order_layers(
    rows: list[list[int]], up: dict[int, list[int]], down: dict[int, list[int]]
) -> list[list[int]]:
    """Reorder slots within layers by the barycenter of their neighbours, sweeping both ways."""
    pos = {s: i for row in rows for i, s in enumerate(row)}

    def sweep(order: range, nbrs: dict[int, list[int]]) -> None:
        for li in order:
            row = rows[li]

            def bary(s: int, row: list[int] = row) -> float:
                ns = nbrs.get(s, [])
                return sum(pos[x] for x in ns) / len(ns) if ns else float(pos[s])

            row.sort(key=bary)
            for i, s in enumerate(row):
                pos[s] = i

    for _ in range(_SWEEPS):
        sweep(range(1, len(rows)), up)
        sweep(range(len(rows) - 2, -1, -1), down)
    return rows


def _crossings(rows: list[list[int]], down: dict[int, list[int]]) -> int:
    """Edge crossings between adjacent layers (for tests and diagnostics)."""
    pos = {s: i for row in rows for i, s in enumerate(row)}
    total = 0
    for row in rows[:-1]:
        segs = [(pos[a], pos[b]) for a in row for b in down.get(a, []) if b in pos]
        if len(segs) ** 2 > 2 * _MAX_CROSSING_PAIRS:
            return -1
        for i in range(len(segs)):
            for j in range(i + 1, len(segs)):
                (a1, b1), (a2, b2) = segs[i], segs[j]
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


@dataclass
class Layout:
    """A computed layout: slots with coordinates, polylines per edge, the canvas size, and the edge
    crossings between adjacent layers (-1: too many edges to count)."""

    slots: list[_Slot]
    paths: list[list[tuple[float, float]]]
    width: float
    height: float
    crossings: int


def layout(
    nodes: Sequence[Any], lines: Sequence[list[str]], edges: Sequence[tuple[int, int, int]]
) -> Layout:
    """Layered layout of a DAG whose nodes come parents first (see the module doc)."""
    n = len(nodes)
    layer = _layers(n, edges)
    slots: list[_Slot] = []
    for v in range(n):
        w = max(len(s) for s in lines[v]) * _CHAR_W + 2 * _PAD
        h = len(lines[v]) * _LINE_H + 2 * _PAD
        slots.append(_Slot(v, layer[v], max(w, 70.0), h))
    up: dict[int, list[int]] = {}
    down: dict[int, list[int]] = {}
    chains: list[list[int]] = []
    # Long edges get one dummy point per layer they cross (fewer crossings, edges route between
    # boxes); when that would cost too much (a leaf read at every step of a long chain), edges go
    # straight.
    use_dummies = sum(layer[b] - layer[a] - 1 for a, b, _ in edges) <= MAX_DUMMIES
    for a, b, _ in edges:
        chain = [a]
        for li in range(layer[a] + 1, layer[b] if use_dummies else 0):
            slots.append(_Slot(None, li, 0.0, _DUMMY_H))
            chain.append(len(slots) - 1)
        chain.append(b)
        for lo, hi in itertools.pairwise(chain):
            down.setdefault(lo, []).append(hi)
            up.setdefault(hi, []).append(lo)
        chains.append(chain)
    n_layers = max(layer, default=-1) + 1
    rows: list[list[int]] = [[] for _ in range(n_layers)]
    for i, s in enumerate(slots):
        rows[s.layer].append(i)
    rows = _order_layers(rows, up, down)
    # Coordinates: layers left to right, each column centred vertically.
    col_w = [max((slots[i].width for i in row), default=0.0) for row in rows]
    col_h = [sum(slots[i].height for i in row) + _V_GAP * max(len(row) - 1, 0) for row in rows]
    height = max(col_h, default=0.0) + 2 * _MARGIN
    x = _MARGIN
    for li, row in enumerate(rows):
        y = _MARGIN + (height - 2 * _MARGIN - col_h[li]) / 2
        for i in row:
            s = slots[i]
            s.x = x + (col_w[li] - s.width) / 2
            s.y = y
            y += s.height + _V_GAP
        x += col_w[li] + _H_GAP
    width = x - _H_GAP + _MARGIN if rows else 2 * _MARGIN
    paths = []
    for chain in chains:
        pts: list[tuple[float, float]] = []
        first, last = slots[chain[0]], slots[chain[-1]]
        pts.append((first.x + first.width, first.y + first.height / 2))
        for d in chain[1:-1]:
            s = slots[d]
            pts.append((s.x, s.y + s.height / 2))
        pts.append((last.x, last.y + last.height / 2))
        paths.append(pts)
    return Layout(slots, paths, width, height, _crossings(rows, down))


# --- SVG --------------------------------------------------------------------------------------------

_SVG_FILL = {
    "output": "#fde2c8",
    "param": "#d6eaf8",
    "data": "#eeeeee",
    "named": "#d5f5e3",
    "op": "#ffffff",
}


def _path_d(pts: list[tuple[float, float]]) -> str:
    """A smooth path through the points: horizontal cubic Béziers between consecutive points."""
    d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        mx = (x0 + x1) / 2
        d += f" C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
    return d


def to_svg(tensor: Tensor, *, named_only: bool = False, max_nodes: int = MAX_SVG_NODES) -> str:
    """An SVG drawing of the graph that produced ``tensor``, laid out without Graphviz.

    Boxes show each tensor's name (or op), op and shape, value and grad; arrows go from operands to
    consumers, inputs on the left and the output on the right.

    Raises:
        TypeError: ``tensor`` is not a Tensor.
        ValueError: more than ``max_nodes`` boxes to draw.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_svg needs a Tensor, not {type(tensor).__name__}")
    nodes, edges = _graph(tensor, named_only)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"to_svg: the graph has {len(nodes)} nodes (max_nodes={max_nodes}); draw it with "
            "named_only=True, or raise max_nodes"
        )
    lines = [_label_lines(t, tensor) for t in nodes]
    lay = layout(nodes, lines, edges)
    w, h = lay.width, lay.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/>'
        "</marker></defs>",
        f'<rect width="{w:.0f}" height="{h:.0f}" fill="white"/>',
    ]
    for pts in lay.paths:
        out.append(
            f'<path d="{_path_d(pts)}" fill="none" stroke="#555" stroke-width="1.2" '
            'marker-end="url(#arrow)"/>'
        )
    for s in lay.slots:
        if s.node is None:
            continue
        t = nodes[s.node]
        kind = _kind(t, tensor)
        stroke = 2.0 if kind == "output" else 1.0
        out.append(f'<g class="node {kind}">')
        out.append(f"<title>{escape(' | '.join(lines[s.node]))}</title>")
        out.append(
            f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{s.width:.1f}" height="{s.height:.1f}" '
            f'rx="6" fill="{_SVG_FILL[kind]}" stroke="#333" stroke-width="{stroke}"/>'
        )
        for j, text in enumerate(lines[s.node]):
            ty = s.y + _PAD + (j + 0.8) * _LINE_H
            weight = ' font-weight="bold"' if j == 0 else ' fill="#333"'
            out.append(
                f'<text x="{s.x + s.width / 2:.1f}" y="{ty:.1f}" text-anchor="middle"{weight}>'
                f"{escape(text)}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


class GraphDrawing:
    """A drawing of a graph: ``.svg``, ``.dot``, ``save(path)``; shows inline in Jupyter (``_repr_svg_``).

    Its ``repr`` (what a plain Python prompt prints) says how to save it: ``.save("graph.svg")``.
    """

    def __init__(self, tensor: Tensor, named_only: bool = False) -> None:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"draw needs a Tensor, not {type(tensor).__name__}")
        self.tensor = tensor
        self.named_only = named_only

    @property
    def svg(self) -> str:
        """The SVG text (recomputed, so values and grads are current)."""
        return to_svg(self.tensor, named_only=self.named_only)

    @property
    def dot(self) -> str:
        """The Graphviz DOT text."""
        return to_dot(self.tensor, named_only=self.named_only)

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        # Outside Jupyter the repr is all a user sees: say what the drawing is and how to get it.
        n = len(topological_order(self.tensor))
        label = f" of {self.tensor.name!r}" if self.tensor.name else ""
        only = ", named_only=True" if self.named_only else ""
        return (
            f"<GraphDrawing{label}: {n} node{'s' if n != 1 else ''}{only}; save it with "
            '.save("graph.svg") or .save("graph.dot"); .svg and .dot give the text; '
            "Jupyter shows it inline (_repr_svg_)>"
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``.svg`` or ``.dot`` (by the file extension).

        Raises:
            ValueError: the extension is neither ``.svg`` nor ``.dot``/``.gv``.
            OSError: the file cannot be written.
        """
        p = os.fspath(path)
        ext = os.path.splitext(p)[1].lower()
        if ext == ".svg":
            text = self.svg
        elif ext in (".dot", ".gv"):
            text = self.dot
        else:
            raise ValueError(f"{p}: unknown drawing format {ext!r} (use .svg or .dot)")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)


def draw(tensor: Tensor, *, named_only: bool = False) -> GraphDrawing:
    """A :class:`GraphDrawing` of the graph that produced ``tensor`` (SVG inline in Jupyter)."""
    return GraphDrawing(tensor, named_only)
