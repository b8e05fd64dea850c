"""The ``backprop`` kind: the seed's Q4 network solved, its own equations graded, wrong answers
diagnosed by edge, format errors with carets, and randomly drawn DAGs self-tested."""

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.dag import DAGNetwork
from chainrule.problems.errors import FormatError
from chainrule.problems.expr.evaluate import evaluate
from chainrule.problems.kinds.backprop import BackpropKind, draw_dag
from chainrule.problems.schema import Problem, build_problem

KIND = BackpropKind()
SEED_EDGES = ["x->n7", "n7->n5", "n7->n6", "n5->n4", "n6->n4", "n4->n3", "n6->n3", "n4->n2"]
SEED_FIND = ["dL/dn4", "dL/dn5", "dL/dn6", "dL/dn7", "dL/dx"]
#: The seed's five equations, as the seed writes them (Unicode, each node a function of x).
SEED_UNICODE = {
    "dL/dn4": "∂L/∂n_2(x) g'(w_{2,4}n_4(x))w_{2,4}"
    " + ∂L/∂n_3(x) g'(w_{3,4}n_4(x) + w_{3,6}n_6(x))w_{3,4}",
    "dL/dn5": "∂L/∂n_4(x) g'(w_{4,5}n_5(x) + w_{4,6}n_6(x))w_{4,5}",
    "dL/dn6": "∂L/∂n_4(x) g'(w_{4,5}n_5(x) + w_{4,6}n_6(x))w_{4,6}"
    " + ∂L/∂n_3(x) g'(w_{3,4}n_4(x) + w_{3,6}n_6(x))w_{3,6}",
    "dL/dn7": "∂L/∂n_5(x) g'(w_{5,7}n_7(x))w_{5,7} + ∂L/∂n_6(x) g'(w_{6,7}n_7(x))w_{6,7}",
    "dL/dx": "∂L/∂n_7(x) g'(w_{7,x}x)w_{7,x}",
}
#: The same equations in ASCII.
SEED_ASCII = {
    "dL/dn4": "dL/dn2 * g'(w[2,4]*n4) * w[2,4] + dL/dn3 * g'(w[3,4]*n4 + w[3,6]*n6) * w[3,4]",
    "dL/dn5": "dL/dn4 * g'(w[4,5]*n5 + w[4,6]*n6) * w[4,5]",
    "dL/dn6": "dL/dn4 * g'(w[4,5]*n5 + w[4,6]*n6) * w[4,6]"
    " + dL/dn3 * g'(w[3,4]*n4 + w[3,6]*n6) * w[3,6]",
    "dL/dn7": "dL/dn5 * g'(w[5,7]*n7) * w[5,7] + dL/dn6 * g'(w[6,7]*n7) * w[6,7]",
    "dL/dx": "dL/dn7 * g'(w[7,x]*x) * w[7,x]",
}


def make(
    parts: list[dict[str, Any]] | None = None,
    answer: Any = None,
    random: dict[str, Any] | None = None,
    check: dict[str, Any] | None = None,
    **givens: Any,
) -> Problem:
    """A backprop problem built as the schema builds one from a file."""
    tables = None if parts is None else [{"points": 1.0, **p} for p in parts]
    return build_problem(
        "backprop",
        id="q4",
        points=4.0,
        answer=answer,
        random=random,
        check=check,
        parts=tables,
        **givens,
    )


def seed_problem(**extra: Any) -> Problem:
    givens: dict[str, Any] = {
        "edges": SEED_EDGES,
        "loss_from": ["n2", "n3"],
        "targets": [1.0, -0.5],
        "find": SEED_FIND,
    }
    givens.update(extra)
    return make(**givens)


def check(problem: Problem, answer: Any) -> Any:
    return KIND.check(problem, problem.parts[0], answer)


# -- solve -----------------------------------------------------------------------------------------


def test_seed_solution_equals_autodiff_of_an_independent_network() -> None:
    problem = seed_problem()
    sol = KIND.solve(problem)
    assert sol.ok
    part = sol.parts[0]
    assert set(part.answer) == set(SEED_FIND)
    methods = {c.method for c in part.checks}
    assert methods == {"autodiff", "finite differences"}
    # Evaluate the solution's expressions with values from DAGNetwork's own backward pass.
    weights = {"7,x": 0.3, "5,7": -0.8, "6,7": 0.5, "4,5": 1.1, "4,6": -0.4, "3,4": 0.9}
    weights.update({"3,6": 0.2, "2,4": -1.3})
    net = DAGNetwork.seed(weights)
    x = cr.tensor(np.array([0.5, -1.2, 2.0]), requires_grad=True, name="x")
    nodes = net.evaluate(x=x)
    for t in nodes.values():
        t.retain_grad()
    loss = (0.5 * (nodes[2] - 1.0) ** 2 + 0.5 * (nodes[3] + 0.5) ** 2).sum()
    loss.backward()
    values: dict[str, np.ndarray] = {"x": x.data}
    grads: dict[str, np.ndarray] = {"x": x.grad.data}
    for label, t in nodes.items():
        if label != "x":
            values[f"n_{label}"] = t.data
            grads[f"n_{label}"] = t.grad.data
    for key, v in weights.items():
        i, j = key.split(",")
        values[f"w_{{{i},{j}}}"] = np.full(3, v)
    for k, v in grads.items():
        values[f"∂L/∂{k}"] = v
    values["t_2"], values["t_3"] = np.full(3, 1.0), np.full(3, -0.5)
    scope = problem.prepared["scope"]
    for find, text in part.answer.items():
        node = {"dL/dx": "x"}.get(find, f"n_{find[-1]}")
        got = evaluate(scope.parse(text), scope, values, {}, batch=3)
        np.testing.assert_allclose(np.asarray(got.data), grads[node], rtol=1e-12, atol=1e-14)
    figure = sol.figures[0]
    assert figure.kind == "dag"
    assert figure.data["nodes"][0] == "x" and ["n_4", "n_3"] in figure.data["edges"]
    assert set(figure.data["grads"]) == set(figure.data["nodes"])


def test_solution_steps_show_the_chain_rule_and_explain() -> None:
    sol = KIND.solve(seed_problem())
    texts = [s.text for s in sol.parts[0].steps]
    assert "∂L/∂n_4 = ∂L/∂n_3 · ∂n_3/∂n_4 + ∂L/∂n_2 · ∂n_2/∂n_4" in texts
    assert any("g'(w_{7,x}*x)" in t for t in texts)
    assert any(
        s.latex.startswith("\\frac{\\partial L}{\\partial n_{4}}") for s in sol.parts[0].steps
    )
    assert any("Given (computed directly from L)" in t for t in texts)  # chainrule.explain


def test_model_answer_round_trips_through_check() -> None:
    problem = seed_problem()
    key = KIND.model_answer(problem, problem.parts[0])
    assert list(key) == SEED_FIND
    assert check(problem, key).status == "correct"


# -- the seed's own answers ------------------------------------------------------------------------


@pytest.mark.parametrize("answers", [SEED_UNICODE, SEED_ASCII], ids=["unicode", "ascii"])
def test_the_seeds_equations_are_correct(answers: dict[str, str]) -> None:
    problem = seed_problem()
    v = check(problem, answers)
    assert v.status == "correct", v.diagnosis
    assert v.points == v.max_points == 4.0


def test_the_seeds_equations_as_the_files_model_answer() -> None:
    problem = seed_problem(answer=SEED_UNICODE)
    sol = KIND.solve(problem)
    assert sol.parts[0].model_check is not None
    assert sol.parts[0].model_check.status == "correct"
    assert sol.ok


def test_a_table_keyed_by_other_spellings() -> None:
    problem = seed_problem()
    answers = {
        k.replace("dL/dn", "∂L/∂n_").replace("dL/dx", "∂L/∂x"): v for k, v in SEED_ASCII.items()
    }
    assert check(problem, answers).status == "correct"


# -- wrong answers ---------------------------------------------------------------------------------


def test_missing_skip_edge_term_is_named_by_its_edge() -> None:
    problem = seed_problem()
    answers = dict(SEED_ASCII)
    answers["dL/dn4"] = "dL/dn2 * g'(w[2,4]*n4) * w[2,4]"
    v = check(problem, answers)
    assert v.status == "wrong"
    assert v.counterexample is not None
    assert "missing the term" in v.summary and "n_4→n_3" in v.summary
    assert "∂L/∂n_3" in v.summary
    assert v.summary.startswith("∂L/∂n_4")
    # The answers built on ∂L/∂n_4 are judged with its true value, and said to be right.
    assert "∂L/∂n_5 is right given ∂L/∂n_4 (whose answer is wrong)" in v.diagnosis
    assert 0 < v.points < v.max_points


def test_sign_flipped_answer() -> None:
    problem = seed_problem()
    answers = dict(SEED_ASCII)
    answers["dL/dx"] = "-dL/dn7 * g'(w[7,x]*x) * w[7,x]"
    v = check(problem, answers)
    assert v.status == "wrong"
    assert "sign flipped" in v.summary
    assert v.counterexample is not None


def test_first_wrong_node_from_the_loss_back() -> None:
    problem = seed_problem()
    answers = dict(SEED_ASCII)
    answers["dL/dn7"] = "dL/dn5 * g'(w[5,7]*n7) * w[5,7]"
    answers["dL/dn5"] = "dL/dn4 * g'(w[4,5]*n5) * w[4,5]"
    v = check(problem, answers)
    assert v.status == "wrong"
    assert "2 of 5 wrong" in v.summary and "∂L/∂n_5" in v.summary
    assert any("∂L/∂n_7 uses ∂L/∂n_5, which is wrong too" in d for d in v.diagnosis)


def test_a_wrong_term_is_named_by_its_edge() -> None:
    problem = seed_problem()
    answers = dict(SEED_ASCII)
    answers["dL/dn4"] = "dL/dn2 * g'(w[2,4]*n4) * w[2,4] + dL/dn3 * g'(w[3,4]*n4) * w[3,4]"
    v = check(problem, answers)
    assert v.status == "wrong"
    assert "the term for the edge n_4→n_3 is wrong" in v.summary


def test_a_missing_entry_is_wrong() -> None:
    problem = seed_problem()
    answers = {k: v for k, v in SEED_ASCII.items() if k != "dL/dn6"}
    v = check(problem, answers)
    assert v.status == "wrong"
    assert "∂L/∂n_6: no answer given" in v.summary
    assert v.counterexample is not None


def test_same_answer_same_verdict() -> None:
    problem = seed_problem()
    answers = dict(SEED_ASCII)
    answers["dL/dn4"] = "dL/dn2 * g'(w[2,4]*n4) * w[2,4]"
    first = check(problem, answers).to_dict()
    again = check(seed_problem(), answers).to_dict()
    assert first == again


# -- format errors ---------------------------------------------------------------------------------


def test_unknown_symbol_is_a_format_error_with_a_caret() -> None:
    problem = seed_problem()
    answers = dict(SEED_ASCII)
    answers["dL/dx"] = "dL/dn7 * h'(w[7,x]*x) * w[7,x]"
    with pytest.raises(FormatError) as info:
        check(problem, answers)
    assert "unknown function 'h'" in info.value.message
    assert "^" in info.value.detail
    assert info.value.field is not None and info.value.field.startswith("answer")


def test_an_answer_may_not_use_its_own_or_an_earlier_gradient() -> None:
    problem = seed_problem()
    with pytest.raises(FormatError, match="cannot use ∂L/∂n_4 itself"):
        check(problem, {**SEED_ASCII, "dL/dn4": "dL/dn4"})
    with pytest.raises(FormatError, match=r"the nodes after n_4 .*not ∂L/∂n_7") as info:
        check(problem, {**SEED_ASCII, "dL/dn4": "dL/dn7 + dL/dn2"})
    assert "^" in info.value.detail


def test_keys_that_are_not_asked() -> None:
    problem = seed_problem()
    with pytest.raises(FormatError, match="not asked"):
        check(problem, {**SEED_ASCII, "dL/dn2": "n2 - t_2"})
    with pytest.raises(FormatError, match="table"):
        check(problem, "dL/dn2")


@pytest.mark.parametrize(
    ("edges", "words"),
    [
        (["x->n2", "n2->n3", "n3->n2"], "cycle"),
        (["x->n2", "n2->n2"], '"n2->n2" is a self-loop'),
        (["x->n2", "x -> 2"], '"x -> 2" repeats the edge "x->n2"'),
        (["x->n2", "n2-n3"], '"n2-n3" is malformed'),
        (["x->n2", "n2->"], '"n2->" is malformed'),
        (["x->n2", "n5->n2"], "n_5"),
    ],
)
def test_bad_edges(edges: list[str], words: str) -> None:
    with pytest.raises(FormatError) as info:
        make(edges=edges, loss_from=["n2"], find=["dL/dx"])
    assert info.value.field == "edges"
    assert words in info.value.message


def test_cycle_names_its_edges() -> None:
    with pytest.raises(FormatError) as info:
        make(edges=["x->n2", "n2->n3", "n3->n4", "n4->n2", "n4->n5"], loss_from=["n5"])
    assert '"n2->n3"' in info.value.message and '"n4->n2"' in info.value.message


def test_bad_givens() -> None:
    with pytest.raises(FormatError) as info:
        make(edges=["x->n2", "n2->n3", "n2->n4"], loss_from=["n3"])
    assert info.value.field == "loss_from" and "n_4" in info.value.message
    with pytest.raises(FormatError) as info:
        make(edges=["x->n2"], loss_from=["n2"], targets=[1.0, 2.0])
    assert info.value.field == "targets"
    with pytest.raises(FormatError) as info:
        make(edges=["x->n2"], loss_from=["n2"], find=["n2"])
    assert info.value.field == "find"
    with pytest.raises(FormatError) as info:
        make(edges=["x->n2"], loss_from=["n2"], symbol="exp")
    assert info.value.field == "symbol"
    with pytest.raises(FormatError) as info:
        make(edges=SEED_EDGES, loss_from=["n2", "n3"], answer={"dL/dn4": "dL/dn2 *"})
    assert info.value.field is not None and info.value.field.startswith("answer")
    assert "^" in info.value.detail


# -- another network -------------------------------------------------------------------------------


def instructor_problem(answers: dict[str, str] | None = None) -> Problem:
    """Two inputs, bare integer labels, a skip edge, sigmoid written σ, parts and a weight
    gradient."""
    answers = answers or {}
    finds = {"a": "dL/dn3", "b": "dL/dw[3,1]", "c": "dL/du", "d": "∂L/∂n_1"}
    return make(
        edges=["u -> 1", "v -> 1", "v -> 2", "1 -> 2", "1 -> 3", "2 -> 3", "u -> 3", "2 -> 4"],
        loss_from=["3", "n4"],
        targets=[0.25, -1],
        activation="sigmoid",
        symbol="σ",
        parts=[{"id": k, "find": f, "answer": answers.get(k)} for k, f in finds.items()],
    )


def test_an_instructors_network_solves_and_checks() -> None:
    problem = instructor_problem()
    sol = KIND.solve(problem)
    assert sol.ok, [c.detail for p in sol.parts for c in p.checks if not c.ok]
    assert [p.part for p in sol.parts] == ["a", "b", "c", "d"]
    b = problem.part("b")
    assert (
        KIND.model_answer(problem, b) == "∂L/∂n_3*sigma'(w_{3,1}*n_1 + w_{3,2}*n_2 + w_{3,u}*u)*n_1"
    )
    right = {
        "a": "n3 - t3",
        "b": "dL/dn3 * σ(w[3,1] n1 + w[3,2] n2 + w[3,u] u)"
        " (1 - σ(w[3,1] n1 + w[3,2] n2 + w[3,u] u)) n1",
        "c": "dL/dn1 σ'(w[1,u] u + w[1,v] v) w[1,u]"
        " + dL/dn3 σ'(w[3,1] n1 + w[3,2] n2 + w[3,u] u) w[3,u]",
        "d": "dL/dn2 sigma'(w_{2,v} v + w_{2,1} n_1) w_{2,1}"
        " + dL/dn3 sigma'(w_{3,1} n_1 + w_{3,2} n_2 + w_{3,u} u) w_{3,1}",
    }
    for pid, text in right.items():
        v = KIND.check(problem, problem.part(pid), text)
        assert v.status == "correct", (pid, v.summary)
    # The same answers as the file's model answers pass the self-test.
    assert KIND.solve(instructor_problem(right)).ok
    v = KIND.check(problem, problem.part("c"), "dL/dn1 σ'(w[1,u] u + w[1,v] v) w[1,u]")
    assert v.status == "wrong" and "u→n_3" in v.summary
    v = KIND.check(problem, problem.part("a"), "n3")
    assert v.status == "wrong"
    with pytest.raises(FormatError, match="the gradients of n_3 and the nodes after it"):
        KIND.check(problem, problem.part("b"), "dL/dn1 * n1")


def test_identity_activation_and_default_finds() -> None:
    problem = make(edges=["x->n1", "n1->n2", "x->n2"], loss_from=["n2"], activation="identity")
    assert [t for _, t in problem.prepared["finds"][""]] == ["dL/dn1", "dL/dx"]
    sol = KIND.solve(problem)
    assert sol.ok
    v = check(problem, {"dL/dn1": "n2 * w[2,1]", "dL/dx": "n2*(w[2,1] w[1,x] + w[2,x])"})
    assert v.status == "correct", v.diagnosis


# -- random DAGs -----------------------------------------------------------------------------------


def test_dag_rule_is_validated() -> None:
    for rule, words in [
        ({"draw": "points", "n": 3}, 'draw = "dag"'),
        ({"draw": "dag", "nodes": 2, "skip": True}, "at least 3"),
        ({"draw": "dag", "nodes": 99}, "nodes must be"),
        ({"draw": "dag", "nodes": 5, "colour": 1}, "unknown key"),
        ({"draw": "dag", "nodes": 5, "layers": 9}, "layers must be"),
    ]:
        with pytest.raises(FormatError, match=words) as info:
            seed_problem(random={"edges": rule})
        assert info.value.field == "random.edges"


@pytest.mark.parametrize("seed", range(8))
def test_random_dags_self_test(seed: int) -> None:
    rule = {"draw": "dag", "nodes": 4 + seed % 5, "skip": True}
    problem = seed_problem(random={"edges": rule})
    drawn = KIND.draw(problem, np.random.default_rng(seed))
    assert set(drawn) == {"edges", "loss_from", "find", "targets"}
    net = DAGNetwork([tuple(e.split("->")) for e in drawn["edges"]], activation="tanh")
    assert net.inputs == ("x",)
    assert len(net.outputs) == len(drawn["loss_from"]) == len(drawn["targets"])
    variant = seed_problem(**drawn)
    part = variant.parts[0]
    sol = KIND.solve(variant)
    assert sol.ok
    key = KIND.model_answer(variant, part)
    assert KIND.check(variant, part, key).status == "correct"
    assert KIND.check(variant, part, key).to_dict() == KIND.check(variant, part, key).to_dict()


@pytest.mark.parametrize("seed", range(20))
def test_drawn_dags_are_layered_with_a_skip_edge(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = 3 + seed % 8
    edges, outputs = draw_dag(rng, nodes=nodes, skip=True)
    pairs = [tuple(e.split("->")) for e in edges]
    neurons = {v for pair in pairs for v in pair} - {"x"}
    assert len(neurons) == nodes
    children = {v: [d for s, d in pairs if s == v] for v in [*neurons, "x"]}
    # Every neuron is reachable from x, and reaches an output.
    seen, stack = set(), ["x"]
    while stack:
        v = stack.pop()
        for c in children[v]:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    assert seen == neurons
    assert {v for v in neurons if not children[v]} == set(outputs)
    # Depth of each node (longest path from x): a skip edge joins nodes two or more apart.
    depth = {"x": 0}
    for _ in range(len(pairs)):
        for s, d in pairs:
            if s in depth:
                depth[d] = max(depth.get(d, 0), depth[s] + 1)
    assert any(depth[d] - depth[s] >= 2 and s != "x" for s, d in pairs)
    again, _ = draw_dag(np.random.default_rng(seed), nodes=nodes, skip=True)
    assert again == edges


def test_common_slips_are_named() -> None:
    problem = seed_problem()
    v = check(problem, {**SEED_ASCII, "dL/dx": "dL/dn7 * w[7,x]"})
    assert v.status == "wrong" and "the factor g'(z) is missing" in v.summary
    v = check(problem, {**SEED_ASCII, "dL/dx": "dL/dn7 * g(w[7,x]*x) * w[7,x]"})
    assert v.status == "wrong" and "g(z) where the derivative g'(z) is needed" in v.summary
    v = check(problem, {**SEED_ASCII, "dL/dx": "dL/dn7 * g'(w[7,x]*x)"})
    assert v.status == "wrong" and "the weight of each edge is missing" in v.summary


def test_symbol_may_not_clash_with_a_node() -> None:
    with pytest.raises(FormatError) as info:
        make(edges=["x->n2"], loss_from=["n2"], symbol="n2")
    assert info.value.field == "symbol"
