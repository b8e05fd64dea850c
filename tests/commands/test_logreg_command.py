"""`chainrule logreg`: the embedded default, a CSV file, saving, and bad input (exit 2, one line)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.linear.datasets import load_breast_cancer
from chainrule.linear.logistic import LogisticRegression


def test_default_uses_embedded_breast_cancer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logreg", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "breast-cancer" in out and "CC BY 4.0" in out
    assert "427 for training, 142 held out" in out
    accuracy = float(out.split("held-out accuracy = ")[1].split()[0])
    assert accuracy > 0.95
    assert "finite differences" in out and "autodiff" in out and "FAILED" not in out
    assert "mean radius" in out and "P>|z|" in out


def test_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logreg", "--test-size", "0.5", "--solver", "lbfgs"]) == 0
    captured = capsys.readouterr()
    assert "lbfgs iter" in captured.err and "lbfgs iter" not in captured.out


def test_csv_with_target_penalty_none_and_save(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) * [10.0, 0.1] + [50.0, 0.0]
    p = 1 / (1 + np.exp(-((X[:, 0] - 50) / 10 - 3 * X[:, 1] / 0.1 * 0.3)))
    y = np.where(rng.random(300) < p, "yes", "no")
    lines = ["age,kind,dose"] + [f"{a},{k},{b}" for (a, b), k in zip(X, y, strict=True)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    stem = tmp_path / "model"
    code = main(
        [
            "logreg",
            str(path),
            "--target",
            "kind",
            "--penalty",
            "none",
            "--standardize",
            "--save",
            str(stem),
            "--quiet",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "classes ['no', 'yes']" in out
    assert "observed information" in out and "age" in out and "dose" in out
    # The saved model works on the raw (unstandardized) features.
    loaded = LogisticRegression.load(stem)
    direct = LogisticRegression(penalty=None, tol=1e-10).fit(X, y)
    assert loaded.score(X, y) == pytest.approx(direct.score(X, y), abs=0.02)
    assert list(loaded.feature_names_in_) == ["age", "dose"]


def test_saved_embedded_model_predicts_raw_features(tmp_path: pathlib.Path) -> None:
    assert main(["logreg", "--quiet", "--test-size", "0", "--save", str(tmp_path / "bc")]) == 0
    X, y, _, _ = load_breast_cancer()
    assert LogisticRegression.load(tmp_path / "bc").score(X, y) > 0.97


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["logreg", "{missing}"], "nope.csv"),
        (["logreg", "{text}"], "column 'b'"),
        (["logreg", "{text}", "--target", "zzz"], "no column 'zzz'"),
        (["logreg", "{one_class}"], "1 class"),
        (["logreg", "--test-size", "1.5"], "--test-size"),
        (["logreg", "--C", "-1"], "--C must be positive"),
        (["logreg", "--target", "x"], "needs a CSV file"),
        (["logreg", "{nan}"], "column 'a', data row 2"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str],
    message: str,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = {
        "missing": tmp_path / "nope.csv",
        "text": tmp_path / "text.csv",
        "one_class": tmp_path / "one.csv",
        "nan": tmp_path / "nan.csv",
    }
    files["text"].write_text("a,b,y\n1,2,0\n3,x,1\n")
    files["one_class"].write_text("a,y\n1,1\n2,1\n3,1\n4,1\n")
    files["nan"].write_text("a,y\n1,0\nnan,1\n3,1\n4,0\n")
    argv = [arg.format(**{k: str(v) for k, v in files.items()}) for arg in argv]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule logreg: error:")
    assert message in err[0]
