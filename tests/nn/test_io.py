"""save/load: round trips, float32, nested states, and refusal of files that are not ours."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chainrule.nn import MLP, Adam, DAGNetwork, Linear, load, save


def test_module_round_trip(tmp_path: Path) -> None:
    model = MLP([3, 5, 2], rng=0)
    path = save(model, tmp_path / "model")
    assert path.endswith("model.npz")
    fresh = MLP([3, 5, 2], rng=1)
    assert load(path, into=fresh) is fresh
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    state = load(path)
    assert list(state) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_float32_and_seed_names_round_trip(tmp_path: Path) -> None:
    net = DAGNetwork.seed(rng=0, dtype="float32")
    path = save(net, tmp_path / "q4.npz")
    state = load(path)
    assert "w_{2,4}" in state and state["w_{2,4}"].dtype == np.float32
    other = DAGNetwork.seed(rng=1, dtype="float32")
    load(path, into=other)
    np.testing.assert_array_equal(other(0.5)[0].data, net(0.5)[0].data)


def test_nested_state_with_plain_values(tmp_path: Path) -> None:
    state = {
        "epoch": 7,
        "lr": 0.01,
        "best": float("inf"),
        "name": "run-1",
        "ok": True,
        "none": None,
        "sizes": [3, 5],
        "weights": {"a": np.arange(3, dtype=np.int32)},
    }
    back = load(save(state, tmp_path / "s"))
    assert {k: v for k, v in back.items() if k != "weights"} == {
        k: v for k, v in state.items() if k != "weights"
    }
    np.testing.assert_array_equal(back["weights"]["a"], state["weights"]["a"])
    assert back["weights"]["a"].dtype == np.int32


def test_shape_mismatch_on_load_names_the_parameter(tmp_path: Path) -> None:
    path = save(Linear(3, 2, rng=0), tmp_path / "lin")
    with pytest.raises(ValueError, match=r"'weight': expected shape \(4, 2\), got \(3, 2\)"):
        load(path, into=Linear(4, 2, rng=0))
    with pytest.raises(ValueError, match="holds a module state, not an optimizer's"):
        load(path, into=Adam(Linear(3, 2, rng=0)))


def test_foreign_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt' is not a chainrule\.nn file"):
        load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, weight=np.ones(3))
    with pytest.raises(
        ValueError, match=r"plain\.npz' is not a chainrule\.nn file \(no __chainrule__"
    ):
        load(plain)
    bare = tmp_path / "bare.npy"
    np.save(bare, np.ones(3))
    with pytest.raises(ValueError, match=r"bare\.npy' is not a chainrule\.nn file"):
        load(bare)
    wrong = tmp_path / "wrong.npz"
    meta = json.dumps({"format": "something.else", "format_version": 1, "state": {}})
    np.savez(wrong, __chainrule__=np.frombuffer(meta.encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match=r'expected "format": "chainrule\.nn"'):
        load(wrong)


class Boom:
    """Unpickling this would run code: the loader must never get that far."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pickle ran",))


def test_pickled_object_arrays_never_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save(Linear(2, 2, rng=0), tmp_path / "m")
    evil = tmp_path / "evil.npz"
    buf = io.BytesIO()
    np.save(buf, np.array([Boom()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.namelist():
            # Replace one array with an object array (pickled inside the .npy).
            dst.writestr(item, buf.getvalue() if item == "a0.npy" else src.read(item))
    with pytest.raises(ValueError, match=r"evil\.npz' is not a chainrule\.nn file"):
        load(evil)
    assert "pickle ran" not in capsys.readouterr().out


def test_tampered_metadata_is_caught(tmp_path: Path) -> None:
    path = save(Linear(2, 2, rng=0), tmp_path / "m")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays["__chainrule__"].tobytes())
    meta["state"]["weight"]["shape"] = [9, 9]
    arrays["__chainrule__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match=r"bad\.npz'.*the metadata says"):
        load(bad)


def test_unsavable_values() -> None:
    with pytest.raises(ValueError, match="cannot save x: object is not an array"):
        save({"x": object()}, "unused")
    with pytest.raises(TypeError, match="expected a Module, Optimizer or mapping"):
        save(3, "unused")  # type: ignore[arg-type]
