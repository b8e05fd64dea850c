"""`chainrule solve`, `check` and `generate` end to end, the way a user runs them (in-process)."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest

from chainrule.cli import main

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_main_job_writes_its_report_and_names_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys)
    assert code == 0 and "all 11 parts of 5 problems ok" in out
    report = tmp_path / "chainrule-report.html"
    assert out.strip().endswith(str(report))
    html = report.read_text(encoding="utf-8")
    assert "<math" in html and "<svg" in html and "<script" not in html
    assert run(capsys)[0] == 0  # its own report is replaced
    report.write_text("my notes", encoding="utf-8")
    code, out, _ = run(capsys)
    assert code == 1 and "not written by chainrule" in out
    assert report.read_text(encoding="utf-8") == "my notes"


def test_solve_writes_each_format_and_never_overwrites(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("r.html", "r.md", "r.json"):
        code, out, _ = run(capsys, "solve", "seed", "-o", str(tmp_path / name), "--quiet")
        assert code == 0 and out == ""
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["ok"] is True and [p["id"] for p in data["problems"]] == [
        "q1",
        "q2",
        "q3",
        "q4",
        "q5",
    ]
    assert "$" in (tmp_path / "r.md").read_text(encoding="utf-8")
    before = (tmp_path / "r.md").read_bytes()
    code, _, err = run(capsys, "solve", "-o", str(tmp_path / "r.md"))
    assert code == 2 and "exists; pass --force" in err and err.count("\n") == 1
    assert (tmp_path / "r.md").read_bytes() == before
    code, _, err = run(capsys, "solve", "-o", str(tmp_path / "r.pdf"))
    assert code == 2 and ".pdf" in err


INSTRUCTOR_SET = """
[set]
format = 1
title = "An instructor's own set"

[[problem]]
id = "plane"
kind = "bisector"
x_plus = [1, 2]
x_minus = [3, -2]
answer = { w = [-2, 4], b = 4 }

[[problem]]
id = "net"
kind = "backprop"
points = 3
edges = ["u->n1", "u->n2", "n1->n3", "n2->n3", "n1->n4", "n3->n4"]
loss_from = ["n4"]
activation = "sigmoid"
find = ["dL/dn3", "dL/dn1"]

[[problem]]
id = "sums"
kind = "einsum"
  [[problem.part]]
  id = "trace"
  notation = 'c = \\sum_i M_{ii}'
  answer = "ii->"
  [[problem.part]]
  id = "batch"
  notation = 'C_{bik} = \\sum_j A_{bij} B_{bjk}'
  answer = "bij,bjk->bik"

[[problem]]
id = "act"
kind = "derivation"
vars = { z = "real" }
prove = "diff(tanh(z), z) == 1 - tanh(z)^2"
"""


def test_an_instructors_own_set_from_a_file_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    s = tmp_path / "mine.toml"
    s.write_text(INSTRUCTOR_SET, encoding="utf-8")
    code, out, _ = run(capsys, "solve", str(s), "-o", str(tmp_path / "mine.html"))
    assert code == 0, out
    assert "all 5 parts of 4 problems ok" in out
    answers = tmp_path / "student.toml"
    answers.write_text(
        "plane = { w = [2, -4], b = -4 }\n"
        'act = "1 - tanh(z)*tanh(z)"\n'
        '[net]\n"dL/dn3" = "dL/dn4 * g\'(w[4,1]*n1 + w[4,3]*n3) * w[4,3]"\n'
        '"dL/dn1" = "dL/dn3 * g\'(w[3,1]*n1 + w[3,2]*n2) * w[3,1]"\n'
        '[sums]\ntrace = "aa->"\nbatch = "bij,bjk->bki"\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "check", str(s), str(answers), "--json")
    assert code == 1
    verdicts = {v["label"]: v for v in json.loads(out)["submissions"][0]["verdicts"]}
    assert verdicts["plane"]["summary"].startswith("orientation flipped")
    assert verdicts["net"]["status"] == "wrong"
    assert any("n_1→n_4" in d for d in verdicts["net"]["diagnosis"])
    assert verdicts["sums.trace"]["status"] == "correct"
    assert "transposed" in verdicts["sums.batch"]["summary"]
    assert verdicts["act"]["status"] == "correct"
    for v in verdicts.values():
        if v["status"] == "wrong":
            assert v["counterexample"] is not None


def test_check_gives_each_expected_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "seed", str(EXAMPLES / "wrong-answers.toml"), "--json")
    assert code == 1
    verdicts = {v["label"]: v for v in json.loads(out)["submissions"][0]["verdicts"]}
    assert verdicts["q1"]["summary"].startswith("orientation flipped")
    assert "(1, 0)" in verdicts["q2"]["summary"]
    assert verdicts["q3.a"]["status"] == "correct" and "50 digits" in verdicts["q3.a"]["method"]
    c = verdicts["q3.c"]
    assert c["status"] == "correct" and c["summary"].endswith("line 2 is refuted")
    assert [s["status"] for s in c["steps"]][:2] == ["correct", "wrong"]
    q4 = "\n".join(verdicts["q4"]["diagnosis"])
    assert "missing the term ∂L/∂n_3" in q4 and "n_4→n_3" in q4
    assert "∂L/∂n_7: sign flipped" in q4
    assert verdicts["q5.a"]["status"] == "correct" and "renaming" in verdicts["q5.a"]["summary"]
    assert "axes transposed" in verdicts["q5.b"]["summary"]


def test_the_seeds_own_answers_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "seed", str(EXAMPLES / "seed-answers.toml"))
    assert code == 0, out
    assert "17/17 points; 11 correct, 0 wrong, 0 undecided" in out


def test_verdicts_are_identical_across_runs(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "check", "seed", str(EXAMPLES / "wrong-answers.toml"), "--json")[1]
    second = run(capsys, "check", "seed", str(EXAMPLES / "wrong-answers.toml"), "--json")[1]
    assert first == second


def test_an_undeclared_symbol_is_a_format_error_with_a_caret(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[q3]\nc = "sum(x[i]*(h(x[i]) - q[i]), i)"\n', encoding="utf-8")
    code, _, err = run(capsys, "check", "seed", str(bad))
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == (
        f"chainrule check: error: {bad}: problem q3, part c, field answer: unknown name 'q'; "
        "declared: L, a, i, w, x, y"
    )
    assert lines[2].index("^") == lines[1].index("q[")


def test_a_directory_of_submissions_gives_a_gradebook(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.toml").write_bytes((EXAMPLES / "seed-answers.toml").read_bytes())
    (subs / "bob.toml").write_bytes((EXAMPLES / "wrong-answers.toml").read_bytes())
    (subs / "carol.toml").write_text("this is not toml = = =", encoding="utf-8")
    code, _, _ = run(capsys, "check", "seed", str(subs), "-o", str(tmp_path / "grades"))
    assert code == 1
    rows = list(csv.DictReader((tmp_path / "grades.csv").read_text(encoding="utf-8").splitlines()))
    by = {r["student"]: r for r in rows}
    assert set(by) == {"alice", "bob", "carol"}
    assert by["alice"]["total"] == "17" and by["alice"]["max"] == "17"
    assert by["bob"]["q1"] == "0" and float(by["bob"]["q3.c"]) == 1.0
    assert by["carol"]["undecided"] == "11"  # unreadable: flagged, never scored wrong
    data = json.loads((tmp_path / "grades.json").read_text(encoding="utf-8"))
    assert len(data["submissions"]) == 3
    code, _, err = run(capsys, "check", "seed", str(subs), "-o", str(tmp_path / "grades"))
    assert code == 2 and "--force" in err


def test_generate_fifty_distinct_self_tested_variants(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "v"
    code, out, _ = run(
        capsys,
        "generate",
        "seed",
        "--seed",
        "7",
        "--count",
        "50",
        "-o",
        str(out_dir),
        "--no-reports",
    )
    assert code == 0 and "50 variants" in out
    sets = sorted(out_dir.glob("v*/set.toml"))
    assert len(sets) == 50
    assert len({p.read_bytes() for p in sets}) == 50
    # Each key passes its own variant, and a variant has no answers and no rules for students to read.
    for k in (0, 17, 49):
        folder = sets[k].parent
        data = tomllib.loads(sets[k].read_text(encoding="utf-8"))
        assert all("answer" not in p and "random" not in p for p in data["problem"])
        assert "{{" not in data["problem"][0]["statement"]
        assert run(capsys, "check", str(sets[k]), str(folder / "key.toml"))[0] == 0


def test_a_students_variant_is_a_pure_function_of_set_id_and_seed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nalice,Alice\nbob,Bob\n", encoding="utf-8")
    a = tmp_path / "a"
    b = tmp_path / "b"
    for d in (a, b):
        assert (
            run(
                capsys,
                "generate",
                "seed",
                "--seed",
                "3",
                "--students",
                str(roster),
                "-o",
                str(d),
                "--no-reports",
            )[0]
            == 0
        )
    assert (a / "alice" / "set.toml").read_bytes() == (b / "alice" / "set.toml").read_bytes()
    assert (a / "alice" / "set.toml").read_bytes() != (a / "bob" / "set.toml").read_bytes()
    roster.write_text("id\nalice\nalice\n", encoding="utf-8")
    code, _, err = run(capsys, "generate", "seed", "--seed", "3", "--students", str(roster))
    assert code == 2 and "listed twice" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[set]\nformat = 1\n", "no [[problem]] tables"),
        (
            '[set]\nformat = 1\n[[problem]]\nid = "p"\nkind = "bisector"\nx_plus = [1]\n',
            "missing key 'x_minus'",
        ),
        (
            '[set]\nformat = 1\n[[problem]]\nid = "p"\nkind = "backprop"\nedges = ["x->n1", "n1->n1"]\nloss_from = ["n1"]\n',
            "edges",
        ),
    ],
)
def test_bad_sets_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    s = tmp_path / "s.toml"
    s.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "solve", str(s))
    assert code == 2 and message in err and str(s) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("part", "answer"),
    [
        ("b", "-sigma(a)*(1-sigma(a))/(1-sigma(a))"),  # 0/0 at 50 digits when a = 800
        ("a", "(1e20 + 1 - sigma(a)) - 1e20"),  # literals kept exact at 50 digits
        ("a", "(1-sigma(a))^2/(1-sigma(a))"),
    ],
)
def test_correct_answers_that_underflow_are_judged_at_more_digits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, part: str, answer: str
) -> None:
    f = tmp_path / "a.toml"
    f.write_text(f'[q3]\n{part} = "{answer}"\n', encoding="utf-8")
    out = run(capsys, "check", "seed", str(f), "--json")[1]
    verdicts = {v["label"]: v for v in json.loads(out)["submissions"][0]["verdicts"]}
    assert verdicts[f"q3.{part}"]["status"] == "correct"


def test_answers_the_engines_cannot_evaluate_never_lose_a_submission(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.toml").write_bytes((EXAMPLES / "seed-answers.toml").read_bytes())
    (subs / "carol.toml").write_text('[q3]\na = "(-1)^0.5"\n', encoding="utf-8")
    nested = "sum(" * 16 + "a" + ", i)" * 16
    (subs / "dave.toml").write_text(f'[q3]\na = "{nested}"\n', encoding="utf-8")
    code, _, err = run(capsys, "check", "seed", str(subs), "-o", str(tmp_path / "gb"))
    assert code == 1, err
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "gb.csv").read_text().splitlines())}
    assert rows["alice"]["total"] == "17"
    assert rows["carol"]["q3.a"] == "0" and rows["dave"]["q3.a"] == "0"


def test_generate_never_writes_over_its_input_even_with_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    g = tmp_path / "g"
    assert (
        run(
            capsys, "generate", "seed", "--seed", "1", "--count", "1", "-o", str(g), "--no-reports"
        )[0]
        == 0
    )
    s = g / "v001" / "set.toml"
    before = s.read_bytes()
    code, _, err = run(
        capsys,
        "generate",
        str(s),
        "--seed",
        "2",
        "--count",
        "1",
        "-o",
        str(g),
        "--force",
        "--no-reports",
    )
    assert code == 2 and "is an input" in err
    assert s.read_bytes() == before


def test_special_files_and_empty_names_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "check", "seed", "/dev/zero")
    assert code == 2 and "not a regular file" in err
    code, _, err = run(capsys, "solve", "seed", "-o", "")
    assert code == 2 and "empty" in err
    s = tmp_path / "k.toml"
    s.write_text('[set]\nformat = 1\n[[problem]]\nid = "p"\nkind = []\n', encoding="utf-8")
    code, _, err = run(capsys, "solve", str(s))
    assert code == 2 and "kind must be a string" in err


def test_check_json_with_a_gradebook_prints_the_json_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.toml").write_bytes((EXAMPLES / "seed-answers.toml").read_bytes())
    (subs / "bob.toml").write_bytes((EXAMPLES / "wrong-answers.toml").read_bytes())
    code, out, err = run(capsys, "check", "seed", str(subs), "-o", str(tmp_path / "gb"), "--json")
    assert code == 1 and err == ""
    data = json.loads(out)  # nothing but the JSON on stdout
    assert [s["student"] for s in data["submissions"]] == ["alice", "bob"]
    assert json.loads((tmp_path / "gb.json").read_text(encoding="utf-8")) == data


def test_check_scale_options_that_contradict_are_refused_before_grading(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.toml").write_bytes((EXAMPLES / "seed-answers.toml").read_bytes())
    cases = [
        (["--workers", "2"], "--workers applies to --scheduler local"),
        (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers applies"),
        (["--progress"], "there is no --scheduler"),
        (["--scheduler", "local", "--progress", "--quiet"], "--progress contradicts --quiet"),
    ]
    for extra, message in cases:
        code, out, err = run(capsys, "check", "seed", str(subs), *extra)
        assert code == 2 and out == "" and message in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main(["check", "seed", str(subs), "--workers", "0"])
    assert exc.value.code == 2 and "--workers is between 1 and 256" in capsys.readouterr().err
