"""`chainrule train`: the digits end to end, files that open, determinism, CSV input, the progress
bar, bad options (exit 2, naming the option), and the default models' held-out accuracy."""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chainrule import nn
from chainrule.cli import main
from chainrule.nn.datasets import load_digits
from chainrule.nn.models import digits_cnn, digits_mlp

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: A small, fast configuration.
FAST = ["--epochs", "3", "--hidden", "32", "--batch-size", "64"]


def run(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exc:  # argparse's usage errors exit themselves
        return int(exc.code or 0)


def facts(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert run("train", *argv, "--json") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)


def test_digits_loader() -> None:
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.all(np.round(X) == X)
    assert set(np.unique(y)) == set(range(10)) and np.bincount(y).min() >= 170


def test_fast_run_writes_curves_and_model_that_open(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("train", *FAST, "--plot", "curves", "-o", "model") == 0
    out = capsys.readouterr().out
    assert "1,797 rows, 64 features, 10 classes" in out and "CC BY 4.0" in out
    assert "MLP 64-32-10 (relu)" in out and "held-out accuracy = " in out
    accuracy = float(out.split("held-out accuracy = ")[1].split()[0])
    assert 0.5 < accuracy <= 1.0
    # The curves: a PNG that matplotlib reads, an SVG that parses as XML.
    png = (tmp_path / "curves.png").read_bytes()
    assert png[:8] == PNG_MAGIC
    import matplotlib.image

    image = matplotlib.image.imread(tmp_path / "curves.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 200
    assert ET.parse(tmp_path / "curves.svg").getroot().tag.endswith("svg")
    # The model: rebuilt from model.json, loaded from model.npz, it predicts from raw pixels.
    sidecar = json.loads((tmp_path / "model.json").read_text())
    assert sidecar["builder"] == "chainrule.nn.models.digits_mlp"
    assert sidecar["classes"] == list(range(10)) and sidecar["arguments"]["hidden"] == [32]
    model = nn.load(tmp_path / "model.npz", into=digits_mlp(**sidecar["arguments"], seed=123))
    model.eval()
    X, y = load_digits()
    assert (model(X).data.argmax(axis=1) == y).mean() > 0.5
    # An existing output needs --force; with it, both are replaced.
    assert run("train", *FAST, "--plot", "curves") == 2
    assert "--plot: curves.svg exists; pass --force" in capsys.readouterr().err
    assert run("train", *FAST, "--plot", "curves", "-o", "model", "--force", "--quiet") == 0


def test_same_seed_same_run_bit_for_bit(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for k in range(2):
        f = facts(capsys, *FAST, "--seed", "7", "-o", str(tmp_path / f"m{k}"))
        runs.append((f["history"], nn.load(tmp_path / f"m{k}.npz")))
    (h0, w0), (h1, w1) = runs
    assert h0 == h1 and len(h0["loss"]) == 3
    assert sorted(w0) == sorted(w1) and all(np.array_equal(w0[k], w1[k]) for k in w0)
    other = facts(capsys, *FAST, "--seed", "8")
    assert other["history"]["loss"] != h0["loss"]


def test_csv_input_with_label_and_detected_delimiter(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    centers = {"cat": (0.0, 4.0), "dog": (4.0, -2.0), "eel": (-4.0, -2.0)}
    names = rng.choice(list(centers), size=240)
    points = np.array([centers[c] for c in names]) + rng.normal(size=(240, 2))
    lines = ["x1;kind;x2"] + [
        f"{a:.4f};{c};{b:.4f}" for (a, b), c in zip(points, names, strict=True)
    ]
    path = tmp_path / "pets.csv"
    path.write_text("\n".join(lines) + "\n")
    f = facts(capsys, str(path), "--label", "kind", "--epochs", "20", "--hidden", "16")
    assert f["classes"] == ["cat", "dog", "eel"] and f["features"] == 2 and f["rows"] == 240
    assert "delimiter ';' (detected)" in f["data"]
    assert f["training_rows"] + f["validation_rows"] + f["held_out_rows"] == 240
    assert f["held_out_accuracy"] > 0.9


def test_a_small_cnn_trains(capsys: pytest.CaptureFixture[str]) -> None:
    f = facts(
        capsys, "--model", "cnn", "--channels", "4", "--hidden", "16", "--epochs", "2",
        "--batch-size", "64",
    )  # fmt: skip
    assert f["model"]["builder"] == "chainrule.nn.models.digits_cnn"
    assert f["model"]["arguments"]["image_shape"] == [8, 8]
    assert f["parameters"] == digits_cnn(channels=(4,), hidden=(16,)).num_parameters
    assert len(f["history"]["val_accuracy"]) == 2 and f["held_out_accuracy"] > 0.3


def test_progress_bar_on_request_and_nothing_with_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("train", *FAST) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no bar
    assert run("train", *FAST, "--progress") == 0
    err = capsys.readouterr().err
    assert "epoch 3/3" in err and "step" in err and "val_acc " in err and "%|" in err
    assert run("train", *FAST, "--quiet") == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--hidden", "0"], "--hidden"),
        (["--hidden", "64,x"], "--hidden"),
        (["--hidden", "5000"], "--hidden"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--optimizer", "rmsprop"], "--optimizer"),
        (["--val-split", "0.5", "--test-size", "0.5"], "--val-split"),
        (["--channels", "8"], "--channels"),
        (["--momentum", "0.5"], "--momentum"),
        (["--label", "y"], "--label"),
        (["--progress", "--quiet"], "--progress"),
        (["--json", "--quiet"], "--json"),
        (["--force"], "--force"),
        (["--val-split", "0", "--patience", "5"], "--patience"),
        (["--plot", ""], "--plot"),
        (["-o", ""], "--out"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("train", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule train: error:")
    assert named in err[0]


def test_bad_csv_for_the_model_names_the_problem(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,y\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(30)))
    assert run("train", str(path), "--model", "cnn") == 2
    assert "--model cnn needs square images" in capsys.readouterr().err
    path.write_text("a,y\n" + "".join(f"{i},{i / 7}\n" for i in range(30)))
    assert run("train", str(path)) == 2
    assert "non-integer" in capsys.readouterr().err
    assert run("train", str(tmp_path / "missing.csv")) == 2
    assert "missing.csv" in capsys.readouterr().err


@pytest.mark.slow
def test_default_mlp_reaches_97_percent_held_out(capsys: pytest.CaptureFixture[str]) -> None:
    f = facts(capsys)
    assert f["model"]["arguments"]["hidden"] == [256] and f["held_out_rows"] == 359
    assert f["held_out_accuracy"] >= 0.97


@pytest.mark.slow
def test_default_cnn_reaches_98_percent_held_out(capsys: pytest.CaptureFixture[str]) -> None:
    f = facts(capsys, "--model", "cnn")
    assert f["model"]["arguments"]["channels"] == [16, 32] and f["held_out_rows"] == 359
    assert f["held_out_accuracy"] >= 0.98
