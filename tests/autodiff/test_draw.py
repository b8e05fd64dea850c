"""Drawing graphs: DOT text and the self-laid-out SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.draw import _crossings, _graph, _label_lines, layout, summarize

SVG_NS = "{http://www.w3.org/2000/svg}"


def seed_graph():
    x = cr.tensor(0.7, requires_grad=True, name="x")
    names = ["7,x", "5,7", "6,7", "4,5", "4,6", "3,4", "3,6", "2,4"]
    vals = [0.3, -0.8, 0.5, 1.1, -0.4, 0.9, 0.2, -1.3]
    w = {
        k: cr.tensor(v, requires_grad=True, name=f"w_{{{k}}}")
        for k, v in zip(names, vals, strict=False)
    }
    n7 = cr.tanh(w["7,x"] * x)
    n5 = cr.tanh(w["5,7"] * n7)
    n6 = cr.tanh(w["6,7"] * n7)
    n4 = cr.tanh(w["4,5"] * n5 + w["4,6"] * n6)
    n3 = cr.tanh(w["3,4"] * n4 + w["3,6"] * n6)
    n2 = cr.tanh(w["2,4"] * n4)
    for t, n in [(n7, "n_7"), (n5, "n_5"), (n6, "n_6"), (n4, "n_4"), (n3, "n_3"), (n2, "n_2")]:
        t.name = n
    L = (n2 - 1.0) ** 2 + (n3 + 0.5) ** 2
    L.name = "L"
    return L, ["x", *[f"w_{{{k}}}" for k in names], "n_7", "n_5", "n_6", "n_4", "n_3", "n_2", "L"]


def parse_dot(text):
    """A small structural parser: node ids with labels, and edges between declared nodes."""
    lines = text.strip().splitlines()
    assert lines[0] == "digraph chainrule {" and lines[-1] == "}"
    nodes, edges = {}, []
    for ln in lines[1:-1]:
        m = re.fullmatch(r'\s*(n\d+) \[label="((?:[^"\\]|\\.)*)", (.*)\];', ln)
        if m:
            # unescape \n, \" and \\ in one left-to-right pass
            nodes[m.group(1)] = re.sub(
                r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), m.group(2)
            )
            continue
        m = re.fullmatch(r"\s*(n\d+) -> (n\d+)( \[.*\])?;", ln)
        if m:
            edges.append((m.group(1), m.group(2)))
            continue
        assert re.fullmatch(r"\s*(rankdir=\w+|node \[.*\]|edge \[.*\]);", ln), ln
    for a, b in edges:
        assert a in nodes and b in nodes
    return nodes, edges


def test_dot_has_every_node_and_edge():
    L, names = seed_graph()
    L.backward()
    nodes, edges = parse_dot(cr.to_dot(L))
    assert len(nodes) == len(cr.topological_order(L))
    assert len(edges) == sum(len(t.parents) for t in cr.topological_order(L))
    titles = [label.split("\n")[0] for label in nodes.values()]
    for n in names:
        assert n in titles
    x_label = next(label for label in nodes.values() if label.startswith("x\n"))
    assert "leaf · scalar" in x_label and "value 0.7" in x_label
    assert f"grad {summarize(cr.topological_order(L)[0].grad)}" in "\n".join(nodes.values())


def test_dot_named_only_connects_named_tensors():
    L, names = seed_graph()
    nodes, edges = parse_dot(cr.to_dot(L, named_only=True))
    titles = {k: v.split("\n")[0] for k, v in nodes.items()}
    assert sorted(titles.values()) == sorted(names)
    pairs = {(titles[a], titles[b]) for a, b in edges}
    assert ("n_4", "n_3") in pairs and ("n_6", "n_4") in pairs and ("x", "n_7") in pairs
    assert ("x", "n_5") not in pairs  # only direct named connections
    assert len(pairs) == 18


def test_dot_escapes_quotes_and_backslashes():
    a = cr.tensor(1.0, requires_grad=True, name='a "quoted" \\name')
    nodes, _ = parse_dot(cr.to_dot(a * 2.0))
    assert any(v.startswith('a "quoted" \\name\n') for v in nodes.values())


def svg_boxes(svg):
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    boxes = []
    for g in root.iter(f"{SVG_NS}g"):
        rect = g.find(f"{SVG_NS}rect")
        texts = [t.text for t in g.findall(f"{SVG_NS}text")]
        boxes.append(
            (
                texts,
                float(rect.get("x")),
                float(rect.get("y")),
                float(rect.get("width")),
                float(rect.get("height")),
            )
        )
    return root, boxes


def test_svg_is_well_formed_with_every_named_node():
    L, names = seed_graph()
    L.backward()
    root, boxes = svg_boxes(cr.to_svg(L))
    assert len(boxes) == len(cr.topological_order(L))
    titles = [texts[0] for texts, *_ in boxes]
    for n in names:
        assert n in titles
    # grads are shown on the leaves
    x_box = next(texts for texts, *_ in boxes if texts[0] == "x")
    assert x_box[-1].startswith("grad ")
    # boxes do not overlap, and every arrow has a marker
    for i, (_, x1, y1, w1, h1) in enumerate(boxes):
        for _, x2, y2, w2, h2 in boxes[i + 1 :]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
    paths = [p for p in root.iter(f"{SVG_NS}path") if p.get("marker-end")]
    assert len(paths) == sum(len(t.parents) for t in cr.topological_order(L))


def test_svg_layers_put_inputs_left_of_consumers():
    L, _ = seed_graph()
    _, boxes = svg_boxes(cr.to_svg(L, named_only=True))
    x_of = {texts[0]: x for texts, x, *_ in boxes}
    assert x_of["x"] < x_of["n_7"] < x_of["n_5"] < x_of["n_4"] < x_of["n_3"] < x_of["L"]
    assert x_of["n_5"] == x_of["n_6"]  # same longest-path layer


def test_barycentric_ordering_removes_crossings_of_a_tree():
    leaves = [cr.tensor(float(i), requires_grad=True, name=f"a{i}") for i in range(6)]
    # pair leaves far apart so the initial order crosses: (a0,a3), (a1,a4), (a2,a5)
    mids = [leaves[i] * leaves[i + 3] for i in range(3)]
    for i, m in enumerate(mids):
        m.name = f"m{i}"
    top = (mids[0] + mids[1]) * mids[2]
    nodes, edges = _graph(top, True)
    lay = layout(nodes, [_label_lines(t, top) for t in nodes], edges)
    assert lay.crossings == 0
    rows = [[0, 1, 2, 3], [4, 5]]
    assert _crossings(rows, {0: [5], 1: [4], 2: [5], 3: [4]}) > 0


def test_graph_drawing_wrapper_and_save(tmp_path):
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    y = cr.softmax(x, axis=1).sum()
    d = cr.draw(y)
    svg = d._repr_svg_()
    ET.fromstring(svg)
    assert "mean" in svg and "range" in svg  # array summaries
    d.save(tmp_path / "g.svg")
    d.save(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    ET.parse(tmp_path / "g.svg")
    with pytest.raises(ValueError, match="unknown drawing format"):
        d.save(tmp_path / "g.png")
    with pytest.raises(TypeError):
        cr.to_svg(np.ones(2))


def test_summaries():
    assert summarize(None) == "—"
    assert summarize(np.float64(0.5)) == "0.5"
    assert summarize(np.array([1.0, 2.0])) == "[1, 2]"
    assert summarize(np.arange(10.0)) == "mean 4.5, range [0, 9]"
    assert summarize(np.array([True, False, True, True, False])) == "3/5 true"


def test_long_chains_reading_a_leaf_draw_quickly_and_big_graphs_ask_for_named_only():
    x = cr.tensor(0.5, requires_grad=True, name="x")
    y = x
    for i in range(300):
        y = y * 0.5 + x  # x feeds every layer: long edges are drawn straight
        if i % 50 == 0:
            y.name = f"y_{i}"
    _, boxes = svg_boxes(cr.to_svg(y))
    assert len(boxes) == len(cr.topological_order(y))
    _, named = svg_boxes(cr.to_svg(y, named_only=True))
    assert [b[0][0] for b in named][:2] == ["x", "y_0"]
    with pytest.raises(ValueError, match="named_only=True"):
        cr.to_svg(y, max_nodes=100)
