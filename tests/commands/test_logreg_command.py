"""`chainrule logreg`: the embedded default, a CSV file, saving, the old names, and bad input (exit 2)."""

from __future__ import annotations

import io
import pathlib
import sys

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.linear.datasets import load_breast_cancer
from chainrule.linear.logistic import LogisticRegression


def run(*argv: str) -> int:
    try:
        return main(list(argv))
    except SystemExit as exc:  # argparse's usage errors exit themselves
        return int(exc.code or 0)


def test_default_uses_embedded_breast_cancer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logreg"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "breast-cancer" in out and "CC BY 4.0" in out
    assert "427 for training, 142 held out" in out
    accuracy = float(out.split("held-out accuracy = ")[1].split()[0])
    assert accuracy > 0.95
    assert "finite differences" in out and "autodiff" in out and "FAILED" not in out
    assert "mean radius" in out and "P>|z|" in out
    assert captured.err == ""  # no progress display when stderr is not a terminal


def test_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logreg", "--test-size", "0.5", "--solver", "lbfgs", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "lbfgs iter" in captured.err and "lbfgs iter" not in captured.out


def test_quiet_prints_nothing_and_json_prints_one_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    assert main(["logreg", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["logreg", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["ok"] is True and facts["rows"] == 569 and facts["held_out_accuracy"] > 0.95
    assert facts["gradient_check"]["ok"] is True and "mean radius" in facts["coefficients"]


def test_l1_elasticnet_and_class_weight_match_the_estimator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--penalty l1/elasticnet with --class-weight balanced fit what LogisticRegression fits on the
    same standardized training rows: same objective, same set of non-zero coefficients (printed by
    name), a passing gradient check, and the summary's refusal said instead of a table."""
    import json

    X, y, names, _ = load_breast_cancer()
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    for extra, kw in (
        (["--penalty", "l1", "--C", "0.05"], {"penalty": "l1", "C": 0.05}),
        (
            ["--penalty", "elasticnet", "--l1-ratio", "0.5", "--C", "0.1"],
            {"penalty": "elasticnet", "l1_ratio": 0.5, "C": 0.1},
        ),
    ):
        argv = ["logreg", "--test-size", "0", "--class-weight", "balanced", *extra]
        assert main([*argv, "--json"]) == 0
        facts = json.loads(capsys.readouterr().out)
        model = LogisticRegression(class_weight="balanced", tol=1e-8, **kw).fit(Xs, y)
        assert facts["solver"] == "prox-newton" and facts["gradient_check"]["ok"] is True
        assert facts["objective"] == pytest.approx(model.objective_, rel=1e-6)
        kept = [str(n) for n, c in zip(names, model.coef_[0] != 0, strict=True) if c]
        assert facts["nonzero_coefficients"] == len(kept) < len(names)
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert f"non-zero coefficients: {len(kept)} of {len(names)} ({', '.join(kept)})" in out
        assert "Σ weight · loss" in out and "summary: summary() has no standard errors" in out


def _data(tmp_path: pathlib.Path) -> tuple[pathlib.Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2)) * [10.0, 0.1] + [50.0, 0.0]
    p = 1 / (1 + np.exp(-((X[:, 0] - 50) / 10 - 3 * X[:, 1] / 0.1 * 0.3)))
    y = np.where(rng.random(300) < p, "yes", "no")
    lines = ["age,kind,dose"] + [f"{a},{k},{b}" for (a, b), k in zip(X, y, strict=True)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, X, y


def test_csv_with_label_penalty_none_and_out(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, X, y = _data(tmp_path)
    stem = tmp_path / "model"
    argv = ["logreg", str(path), "--label", "kind", "--penalty", "none", "--standardize"]
    assert main([*argv, "-o", str(stem)]) == 0
    out = capsys.readouterr().out
    assert "classes ['no', 'yes']" in out
    assert "observed information" in out and "age" in out and "dose" in out
    # The saved model works on the raw (unstandardized) features.
    loaded = LogisticRegression.load(stem)
    direct = LogisticRegression(penalty=None, tol=1e-10).fit(X, y)
    assert loaded.score(X, y) == pytest.approx(direct.score(X, y), abs=0.02)
    assert list(loaded.feature_names_in_) == ["age", "dose"]
    # An existing model needs --force; the old files stay whole without it.
    before = (tmp_path / "model.npz").read_bytes()
    assert main([*argv, "-o", str(stem)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (tmp_path / "model.npz").read_bytes() == before
    assert main([*argv, "-o", str(stem), "--force", "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "model.json", "model.npz"]


def test_old_names_work_with_a_deprecation_note(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, _ = _data(tmp_path)
    assert main(["logreg", str(path), "--target", "kind", "--save", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "chainrule logreg: note: --target is deprecated and will be removed in the next release; "
        "use --label",
        "chainrule logreg: note: --save is deprecated and will be removed in the next release; "
        "use --out",
    ]
    assert (tmp_path / "m.npz").is_file()
    assert run("logreg", str(path), "--target", "kind", "--label", "age") == 2
    assert "--target and --label are both given" in capsys.readouterr().err


def test_out_dash_writes_the_archive_to_stdout(
    tmp_path: pathlib.Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["logreg", "--test-size", "0", "-o", "-"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out[:4] == b"PK\x03\x04" and b"training accuracy" in captured.err
    (tmp_path / "m.npz").write_bytes(captured.out)
    X, y, _, _ = load_breast_cancer()
    assert LogisticRegression.load(tmp_path / "m.npz").score(X, y) > 0.97


def test_stdin_and_a_detected_delimiter(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _, _ = _data(tmp_path)
    text = path.read_text().replace(",", ";")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["logreg", "-", "--label", "kind"]) == 0
    assert "data: stdin (label column 'kind'; delimiter ';' (detected))" in capsys.readouterr().out


def test_saved_embedded_model_predicts_raw_features(tmp_path: pathlib.Path) -> None:
    assert main(["logreg", "--quiet", "--test-size", "0", "-o", str(tmp_path / "bc")]) == 0
    X, y, _, _ = load_breast_cancer()
    assert LogisticRegression.load(tmp_path / "bc").score(X, y) > 0.97


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["logreg", "{missing}"], "nope.csv"),
        (["logreg", "{text}"], "column 'b'"),
        (["logreg", "{text}", "--label", "zzz"], "no column 'zzz'"),
        (["logreg", "{one_class}"], "1 class"),
        (["logreg", "--test-size", "1.5"], "--test-size is in [0, 1)"),
        (["logreg", "--test-size", "1"], "--test-size is in [0, 1)"),
        (["logreg", "--C", "-1"], "--C is in (0, 1e+300]"),
        (["logreg", "--C", "2", "--penalty", "none"], "contradicts --penalty none"),
        (["logreg", "--label", "x"], "needs a CSV file"),
        (["logreg", "{nan}"], "line 3, column 'a': 'nan' is not a finite number"),
        (["logreg", "--test-size", "0", "--seed", "3"], "--seed has no effect"),
        (["logreg", "--force"], "--force applies only to an --out file"),
        (["logreg", "--json", "--quiet"], "--json and --quiet contradict"),
        (["logreg", "--json", "-o", "-"], "both write to stdout"),
        (["logreg", "--quiet", "--progress"], "--progress contradicts --quiet"),
        (["logreg", "{named_json}", "-o", "{stem}"], "is an input"),
        (["logreg", "-o", ""], "the output name is empty"),
        (["logreg", "-o", "{folder}/"], "is a directory"),
        (["logreg", "--penalty", "elasticnet"], "needs --l1-ratio"),
        (["logreg", "--l1-ratio", "0.5"], "only for --penalty elasticnet"),
        (["logreg", "--penalty", "elasticnet", "--l1-ratio", "1.5"], "--l1-ratio is in [0, 1]"),
        (["logreg", "--penalty", "l1", "--solver", "newton"], "needs a smooth penalty"),
        (["logreg", "--solver", "prox-newton"], "is for --penalty l1 or elasticnet"),
        (["logreg", "--class-weight", "even"], "invalid choice: 'even'"),
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
        "folder": tmp_path,
        "named_json": tmp_path / "m.json",
        "stem": tmp_path / "m",
    }
    files["named_json"].write_text("a,y\n1,0\n2,1\n3,0\n4,1\n")
    files["text"].write_text("a,b,y\n1,2,0\n3,x,1\n")
    files["one_class"].write_text("a,y\n1,1\n2,1\n3,1\n4,1\n")
    files["nan"].write_text("a,y\n1,0\nnan,1\n3,1\n4,0\n")
    argv = [arg.format(**{k: str(v) for k, v in files.items()}) for arg in argv]
    assert run(*argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule logreg: error:")
    assert message in err[0]
