"""DAGNetwork: the seed's Q4 network, its derivation, gradients, and graph validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.nn import DAGNetwork, Sequential
from chainrule.problems import seed as seed_problem

SEED_WEIGHTS = dict(zip(seed_problem.WEIGHT_NAMES, seed_problem.DEFAULT_WEIGHTS, strict=True))

# The seed's five equations (its answer to Q4), as tests/problems/test_seed.py spells them.
SEED_EQUATIONS = (
    "∂L/∂n_4 = ∂L/∂n_2 · g'(w_{2,4} n_4) w_{2,4} + ∂L/∂n_3 · g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,4}",
    "∂L/∂n_5 = ∂L/∂n_4 · g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,5}",
    "∂L/∂n_6 = ∂L/∂n_4 · g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,6}"
    " + ∂L/∂n_3 · g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,6}",
    "∂L/∂n_7 = ∂L/∂n_5 · g'(w_{5,7} n_7) w_{5,7} + ∂L/∂n_6 · g'(w_{6,7} n_7) w_{6,7}",
    "∂L/∂x = ∂L/∂n_7 · g'(w_{7,x} x) w_{7,x}",
)


def seed_loss(net: DAGNetwork, x: object) -> object:
    n2, n3 = net(x)
    return (0.5 * (n2 - 1.0) ** 2 + 0.5 * (n3 + 0.5) ** 2).sum()


def test_seed_network_structure() -> None:
    net = DAGNetwork.seed(SEED_WEIGHTS)
    assert net.inputs == ("x",) and net.outputs == (2, 3)
    assert [n for n, _ in net.named_parameters()] == [
        "w_{7,x}",
        "w_{5,7}",
        "w_{6,7}",
        "w_{4,5}",
        "w_{4,6}",
        "w_{3,4}",
        "w_{3,6}",
        "w_{2,4}",
    ]
    assert float(net.state_dict()["w_{2,4}"]) == -1.3
    names = {k: t.name for k, t in net.evaluate(0.5).items()}
    assert names == {"x": "x", 7: "n_7", 5: "n_5", 6: "n_6", 4: "n_4", 3: "n_3", 2: "n_2"}


def test_explain_reproduces_the_seeds_five_equations() -> None:
    net = DAGNetwork.seed(SEED_WEIGHTS)
    x = cr.tensor(0.5, requires_grad=True, name="x")
    loss = seed_loss(net, x)
    ex = cr.explain(loss, wrt=[x], symbols={"tanh": "g"})
    flat = " ".join(line.strip() for line in ex.text.splitlines())
    for equation in SEED_EQUATIONS:
        lhs, rhs = equation.split(" = ", 1)
        assert f"{lhs} = " in flat and f"= {rhs}" in flat, equation
    # The derivation's numbers are backward's numbers.
    derived = ex.evaluate()
    loss.backward()
    np.testing.assert_allclose(derived["x"], x.grad.data, rtol=1e-12)


def test_gradients_match_the_seed_problem_and_finite_differences(fd_check) -> None:
    net = DAGNetwork.seed(SEED_WEIGHTS)
    xv = np.linspace(-1, 1, 5)
    x = cr.tensor(xv.copy(), requires_grad=True)
    loss = seed_loss(net, x)
    loss.backward()
    # Same numbers as the seed report's own hand-written network.
    ws = {k: cr.tensor(v, requires_grad=True) for k, v in SEED_WEIGHTS.items()}
    xr = cr.tensor(xv.copy(), requires_grad=True)
    ref = seed_problem.seed_network(xr, ws)["L"]
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.data, xr.grad.data, rtol=1e-12)
    for key, w in ws.items():
        np.testing.assert_allclose(
            net._parameters[f"w_{{{key}}}"].grad.data, w.grad.data, rtol=1e-12, err_msg=key
        )
    fd_check(lambda: seed_loss(net, x), [*net.parameters(), x])


def test_bias_and_other_activations(fd_check) -> None:
    net = DAGNetwork.seed(rng=3, activation="sigmoid", bias=True)
    assert "b_4" in dict(net.named_parameters())
    net._parameters["b_4"].data[...] = 0.3
    x = cr.tensor(np.array([0.2, -0.7]), requires_grad=True)
    fd_check(lambda: seed_loss(net, x), [*net.parameters(), x])
    text = cr.explain(seed_loss(net, x), wrt=[x]).text
    assert "w_{4,5} n_5 + w_{4,6} n_6 + b_4" in text


def test_general_graph_inputs_outputs_and_dict() -> None:
    # Two inputs, a skip connection, string labels.
    edges = [("x1", "h"), ("x2", "h"), ("h", "y"), ("x1", "y")]
    net = DAGNetwork(
        edges,
        activation="identity",
        weights={("h", "x1"): 2.0, "h,x2": 3.0, "w_{y,h}": 0.5, ("y", "x1"): -1.0},
    )
    assert net.inputs == ("x1", "x2") and net.outputs == ("y",)
    y = net(1.0, 10.0)
    assert float(y.item()) == 0.5 * (2.0 + 30.0) - 1.0
    out = net(x2=10.0, x1=1.0, as_dict=True)
    assert list(out) == ["y"] and out["y"].name == "y"
    with pytest.raises(TypeError, match="missing input"):
        net(1.0)
    with pytest.raises(TypeError, match="not an input"):
        net(1.0, 2.0, h=3.0)


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match=r"cycle through n_5: n_5 → n_4 → n_5|cycle through n_4"):
        DAGNetwork([("x", 5), (5, 4), (4, 5)], inputs=["x"])
    with pytest.raises(ValueError, match="n_3 feeds itself"):
        DAGNetwork([("x", 3), (3, 3)])
    with pytest.raises(ValueError, match="output 9 is not a node"):
        DAGNetwork([("x", 1)], outputs=[9])
    with pytest.raises(ValueError, match="input 7 is not a node"):
        DAGNetwork([("x", 1)], inputs=[7])
    with pytest.raises(ValueError, match="input n_1 has incoming edges from x"):
        DAGNetwork([("x", 1), (1, 2)], inputs=["x", 1])
    with pytest.raises(ValueError, match="node n_9 has no incoming edges and is not an input"):
        DAGNetwork([("x", 1), (9, 1)], inputs=["x"])
    with pytest.raises(ValueError, match="given twice"):
        DAGNetwork([("x", 1), ("x", 1)])
    with pytest.raises(ValueError, match=r"not in the graph: w_\{1,y\}"):
        DAGNetwork([("x", 1)], weights={"1,y": 1.0})
    with pytest.raises(ValueError, match="at least one edge"):
        DAGNetwork([])
    with pytest.raises(ValueError, match="unknown activation"):
        DAGNetwork([("x", 1)], activation="gelu")


def test_a_long_cycle_is_named_in_order() -> None:
    edges = [("x", 1)] + [(i, i + 1) for i in range(1, 50)] + [(50, 1)]
    with pytest.raises(ValueError, match="the graph has a cycle through") as info:
        DAGNetwork(edges, inputs=["x"])
    msg = str(info.value)
    assert "n_{50} → n_1" in msg or "n_1 → n_2" in msg


def test_deep_chain_is_evaluated_iteratively() -> None:
    depth = 3000
    edges = [("x", 1)] + [(i, i + 1) for i in range(1, depth)]
    net = DAGNetwork(
        edges,
        activation="identity",
        weights={f"{i + 1},{i}": 1.0 for i in range(1, depth)} | {"1,x": 1.0},
    )
    x = cr.tensor(2.0, requires_grad=True)
    y = net(x)
    assert float(y.item()) == 2.0
    y.backward()
    assert float(x.grad.item()) == 1.0


def test_nested_in_a_module_keeps_seed_names_and_float32() -> None:
    net = DAGNetwork.seed(SEED_WEIGHTS, dtype="float32")
    wrapper = Sequential({"q4": net})
    assert "q4.w_{2,4}" in wrapper.state_dict()
    x = cr.tensor(np.float32(0.5), requires_grad=True, name="x")
    loss = seed_loss(net, x)
    assert loss.dtype == np.float32
    text = cr.explain(loss, wrt=[x], symbols={"tanh": "g"}).text
    assert "g'(w_{7,x} x) w_{7,x}" in text
    assert "DAGNetwork(edges=[x→n_7, n_7→n_5" in repr(net)


@pytest.mark.parametrize("make_opt", ["sgd", "adam"])
def test_training_the_seed_network_with_scalar_weights(make_opt: str) -> None:
    from chainrule.nn import SGD, Adam

    net = DAGNetwork.seed(rng=0, bias=True)
    opt = SGD(net, lr=0.1, momentum=0.9) if make_opt == "sgd" else Adam(net, lr=0.05)
    x = np.linspace(-1, 1, 16)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = seed_loss(net, x)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.data.shape == () and p.is_leaf for p in net.parameters())


def test_neuron_label_aliases_and_drawing() -> None:
    edges = [("x", "n7"), ("n7", "n_5"), ("n_7", 6), ("n5", 4), (6, 4), (4, 3), (6, 3), (4, "n2")]
    net = DAGNetwork(edges, outputs=["n2", 3], weights=SEED_WEIGHTS)
    ref = DAGNetwork.seed(SEED_WEIGHTS)
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in ref.named_parameters()]
    x = cr.tensor(0.5, requires_grad=True, name="x")
    loss = seed_loss(net, x)
    assert loss.item() == seed_loss(ref, 0.5).item()
    dot = cr.to_dot(loss, named_only=True)
    assert "w_{2,4}" in dot and "n_4" in dot and '"x\\n' in dot


def _reference(order: list[int], preds: dict[int, list[int]], w: dict, x: np.ndarray) -> dict:
    vals = {0: x}
    for v in order:
        vals[v] = np.tanh(sum(w[(v, u)] * vals[u] for u in preds[v]))
    return vals


@settings(max_examples=25)
@given(st.data())
def test_random_dags_match_numpy_and_finite_differences(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 8), label="nodes")
    preds: dict[int, list[int]] = {}
    edges = []
    for v in range(1, n):
        chosen = data.draw(st.lists(st.integers(0, v - 1), min_size=1, max_size=3, unique=True))
        preds[v] = chosen
        edges += [(u, v) for u in chosen]
    order = list(range(1, n))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    w = {(v, u): float(rng.uniform(-1.5, 1.5)) for v in preds for u in preds[v]}
    net = DAGNetwork(edges, inputs=[0], outputs=list(range(1, n)), weights=w)
    xv = rng.normal(size=3)
    values = net.evaluate(xv)
    ref = _reference(order, preds, w, xv)
    for v in order:
        np.testing.assert_allclose(values[v].data, ref[v], rtol=1e-12)

    def total(x: object) -> object:
        outs = net.evaluate(x)
        return sum((outs[v] * (k + 1)).sum() for k, v in enumerate(order))

    cr.check_grad(total, xv)
