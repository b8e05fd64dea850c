"""Module: registration by attribute, dotted names, display names, state dicts, modes, repr."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import MLP, DAGNetwork, Linear, Module, ReLU, Sequential, Tanh


class Net(Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = cr.tensor(2.0, requires_grad=True)
        self.fc1 = Linear(3, 4, rng=0)
        self.act = Tanh()
        self.fc2 = Linear(4, 2, bias=False, rng=1)
        self.note = "not registered"
        self.constant = cr.tensor([1.0, 2.0])  # no requires_grad: a plain attribute

    def forward(self, x: object) -> object:
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_parameters_in_definition_order_with_dotted_names() -> None:
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert [p.name for p in net.parameters()] == names  # display names for explain/draw
    assert net.num_parameters == 1 + 3 * 4 + 4 + 4 * 2
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Tanh", "Linear"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]


def test_nested_prefixes_and_user_names_are_kept() -> None:
    outer = Sequential({"body": Net(), "head": Linear(2, 1, rng=0)})
    names = [n for n, _ in outer.named_parameters()]
    assert names[:2] == ["body.scale", "body.fc1.weight"]
    assert outer.head.weight.name == "head.weight"
    assert outer["body"].fc1.weight.name == "body.fc1.weight"
    # A name the user chose is never overwritten by a prefix.
    dag = DAGNetwork.seed(rng=0)
    wrapper = Sequential({"dag": dag})
    assert "dag.w_{2,4}" in dict(wrapper.named_parameters())
    assert dag._parameters["w_{2,4}"].name == "w_{2,4}"


def test_shared_parameter_listed_once() -> None:
    lin = Linear(2, 2, rng=0)
    seq = Sequential(lin, ReLU(), lin)
    assert len(seq.parameters()) == 2
    assert seq.num_parameters == 6


def test_reassigning_and_deleting_unregisters() -> None:
    net = Net()
    net.fc2 = None  # type: ignore[assignment]
    assert "fc2.weight" not in dict(net.named_parameters())
    del net.scale
    assert "scale" not in dict(net.named_parameters())


def test_init_must_run_first() -> None:
    class Bad(Module):
        def __init__(self) -> None:
            self.w = cr.tensor(1.0, requires_grad=True)

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__"):
        Bad()


def test_non_leaf_tensors_are_plain_attributes_and_refused_as_parameters() -> None:
    m = Module()
    w = cr.tensor(1.0, requires_grad=True)
    m.cached = w * 2  # a computed tensor: an attribute, not a parameter
    assert m.parameters() == [] and m.cached.op is not None
    with pytest.raises(ValueError, match="'w2' must be a leaf"):
        m.register_parameter("w2", w * 2)
    with pytest.raises(TypeError, match="must be a Tensor with requires_grad=True"):
        m.register_parameter("w3", cr.tensor(1.0))


def test_zero_grad_train_eval() -> None:
    net = Net()
    loss = net(np.ones((5, 3))).sum()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.eval() is net and not net.training and not net.fc1.training
    net.train()
    assert net.training and net.fc1.training


def test_state_dict_round_trip_and_copies() -> None:
    a, b = Net(), Net()
    b.fc1.weight.data[...] = 0.0
    state = a.state_dict()
    assert list(state) == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    b.load_state_dict(state)
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    state["fc1.weight"][...] = 99.0  # a copy: the module is untouched
    assert not np.any(a.fc1.weight.data == 99.0)


def test_load_state_dict_is_in_place() -> None:
    a, b = Net(), Net()
    weight = b.fc1.weight
    buffer = weight.data
    b.load_state_dict(a.state_dict())
    assert b.fc1.weight is weight and weight.data is buffer


def test_load_state_dict_errors_name_the_parameter() -> None:
    net = Net()
    state = net.state_dict()
    bad = dict(state, **{"fc1.weight": np.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"'fc1.weight': expected shape \(3, 4\), got \(4, 3\)"):
        net.load_state_dict(bad)
    bad = dict(state, **{"fc1.bias": state["fc1.bias"].astype(np.float32)})
    with pytest.raises(ValueError, match=r"'fc1\.bias': expected dtype float64, got float32"):
        net.load_state_dict(bad)
    with pytest.raises(KeyError, match=r"missing fc2\.weight; unexpected extra"):
        net.load_state_dict({**{k: v for k, v in state.items() if k != "fc2.weight"}, "extra": 1})
    # Nothing was changed by a failed load.
    np.testing.assert_array_equal(net.state_dict()["fc1.weight"], state["fc1.weight"])
    net.load_state_dict({"scale": np.asarray(3.0)}, strict=False)
    assert float(net.scale.item()) == 3.0


def test_buffers_are_saved() -> None:
    m = Module()
    m.register_buffer("running", np.arange(3.0))
    assert list(m.state_dict()) == ["running"]
    m.load_state_dict({"running": np.ones(3)})
    np.testing.assert_array_equal(m.running, np.ones(3))


def test_repr_is_readable() -> None:
    text = repr(MLP([2, 3, 1], rng=0))
    assert text.splitlines() == [
        "MLP(sizes=[2, 3, 1],",
        "  (fc1): Linear(in_features=2, out_features=3, bias=True)",
        "  (act1): ReLU()",
        "  (fc2): Linear(in_features=3, out_features=1, bias=True)",
        ")",
    ]


def test_astype_float32_keeps_parameter_objects() -> None:
    net = MLP([2, 3, 1], rng=0)
    w = net.fc1.weight
    net.astype("float32")
    assert net.fc1.weight is w and w.dtype == np.float32
    assert net(np.ones((2, 2), dtype=np.float32)).dtype == np.float32


def test_parameter_names_show_in_explain_and_draw() -> None:
    net = MLP([2, 2, 1], activation="tanh", rng=0)
    loss = net(np.ones((1, 2))).sum()
    text = cr.explain(loss).text
    assert "∂L/∂fc2.weight" in text and "∂L/∂fc1.bias" in text
    assert "fc1.weight" in cr.to_dot(loss)
