"""Grading on dask.distributed (``chainrule check --scheduler``): the serial gradebook, row for row, even
when a worker is killed mid-run; clear one-line errors for a bad scheduler; nothing written on Ctrl-C.

The module starts its own LocalCluster (2 worker processes, 1 thread each) and never skips.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainrule.cli import main
from chainrule.problems.generate import make_variants
from chainrule.problems.grading import grade_directory, gradebook_csv, gradebook_json
from chainrule.problems.report.text import verdict_table
from chainrule.problems.results import Gradebook
from chainrule.problems.scale import (
    SetText,
    grade_directory_on,
    parse_scheduler,
    set_text,
    submission_from_plain,
    submission_to_plain,
)
from chainrule.problems.schema import ProblemSet
from chainrule.problems.solve import load_seed_set, seed_text
from chainrule.problems.tomlw import dumps

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
N_SUBMISSIONS = 120


def write_submissions(folder: Path, n: int, seed: int = 0) -> None:
    """``n`` answers files to the seed set, each problem answered from the seed's own answers, the
    example wrong answers, a generated variant's key (wrong where the variant redrew the givens) or not at
    all; every 20th file cannot be read, every 31st names a problem the set does not have."""
    pset = load_seed_set()
    sources: list[dict[str, Any]] = [
        tomllib.loads((EXAMPLES / "seed-answers.toml").read_text(encoding="utf-8")),
        tomllib.loads((EXAMPLES / "wrong-answers.toml").read_text(encoding="utf-8")),
        *(v.key for v in make_variants(pset, ["va", "vb"], 11, seed_text())),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for k in range(n):
        path = folder / f"s{k:04d}.toml"
        if k % 20 == 19:
            path.write_text("this is not toml = = =\n", encoding="utf-8")
            continue
        answers: dict[str, Any] = {}
        for problem in pset.problems:
            pick = rng.randrange(len(sources) + 1)
            if pick < len(sources) and problem.id in sources[pick]:
                answers[problem.id] = sources[pick][problem.id]
        if k % 31 == 30:
            answers["q9"] = 1
        path.write_text(dumps(answers), encoding="utf-8")


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Any, Any]]:
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # 8787 may be taken: any free local port
            silence_logs=40,
        ) as lc,
        distributed.Client(lc, set_as_default=False) as client,
    ):
        yield lc, client


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProblemSet, Path, Gradebook]:
    """The submissions and their serial gradebook (the reference every scheduler run must equal)."""
    folder = tmp_path_factory.mktemp("subs")
    write_submissions(folder, N_SUBMISSIONS)
    pset = load_seed_set()
    return pset, folder, grade_directory(pset, folder)


def assert_same_book(got: Gradebook, expected: Gradebook) -> None:
    assert [s.student for s in got.submissions] == [s.student for s in expected.submissions]
    assert gradebook_json(got) == gradebook_json(expected)
    assert gradebook_csv(got) == gradebook_csv(expected)
    assert verdict_table(got) == verdict_table(expected)


def test_the_submissions_mix_every_verdict(graded: tuple[ProblemSet, Path, Gradebook]) -> None:
    _, _, book = graded
    statuses = {v.status for s in book.submissions for v in s.verdicts}
    assert statuses == {"correct", "wrong", "undecided"}
    unread = [s for s in book.submissions if s.verdicts[0].summary.startswith("the file cannot")]
    expected = [k for k in range(N_SUBMISSIONS) if k % 20 == 19 or k % 31 == 30]
    assert [s.student for s in unread] == [f"s{k:04d}" for k in expected]


def test_the_plain_form_rebuilds_the_same_submission(
    graded: tuple[ProblemSet, Path, Gradebook],
) -> None:
    _, _, book = graded
    for sub in book.submissions[:40]:
        plain = submission_to_plain(sub)
        json.dumps(plain)  # plain data: builtins only
        assert submission_from_plain(plain) == sub


def test_the_cluster_gives_the_serial_gradebook(
    cluster: tuple[Any, Any], graded: tuple[ProblemSet, Path, Gradebook]
) -> None:
    _, client = cluster
    pset, folder, serial = graded
    seen: list[tuple[int, int]] = []
    book, stats = grade_directory_on(
        client,
        pset,
        set_text("seed"),
        folder,
        window=16,
        on_result=lambda done, total: seen.append((done, total)),
    )
    assert_same_book(book, serial)
    assert seen == [(k, N_SUBMISSIONS) for k in range(1, N_SUBMISSIONS + 1)]
    assert stats.submissions == N_SUBMISSIONS and stats.failed == 0 and stats.duplicates == 0
    assert stats.threads == 2


def test_a_worker_killed_mid_run_loses_no_submission(
    cluster: tuple[Any, Any], graded: tuple[ProblemSet, Path, Gradebook]
) -> None:
    _, client = cluster
    pset, folder, serial = graded
    before = client.run(os.getpid)
    killed: list[tuple[int, int]] = []

    def kill_one(done: int, total: int) -> None:
        if not killed and done >= 5:
            # The worker with the most tasks on it right now, killed without warning.
            processing = client.processing()
            address = max(before, key=lambda a: len(processing.get(a, ())))
            os.kill(before[address], signal.SIGKILL)
            killed.append((done, len(processing.get(address, ()))))

    book, stats = grade_directory_on(client, pset, set_text("seed"), folder, on_result=kill_one)
    assert killed and killed[0][0] < N_SUBMISSIONS and killed[0][1] > 0  # mid-run, tasks on it
    assert_same_book(book, serial)  # every grade, exactly once, as the serial run gives it
    assert len({s.student for s in book.submissions}) == N_SUBMISSIONS
    assert stats.failed == 0
    # The nanny restarted the worker: a new process, and the cluster is whole again.
    client.wait_for_workers(2, timeout=60)
    after = client.run(os.getpid)
    assert len(after) == 2 and set(after.values()) != set(before.values())


def test_a_task_that_always_fails_is_an_undecided_row_never_dropped(
    cluster: tuple[Any, Any], graded: tuple[ProblemSet, Path, Gradebook]
) -> None:
    _, client = cluster
    pset, folder, _ = graded
    broken = SetText("[set]\nformat = 1\n", "broken.toml", "broken.toml")  # workers cannot load it
    book, stats = grade_directory_on(client, pset, broken, folder, retries=1)
    assert len(book.submissions) == N_SUBMISSIONS
    readable = [s for s in book.submissions if "cannot be read" not in s.verdicts[0].summary]
    assert stats.failed == len(readable) > 0
    for s in readable:
        assert {v.status for v in s.verdicts} == {"undecided"}
        assert "grading failed on the cluster (FormatError" in s.verdicts[0].summary
        assert "no [[problem]] tables" in s.verdicts[0].summary


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_check_on_a_cluster_by_address_writes_the_serial_gradebook(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    cluster: tuple[Any, Any],
    graded: tuple[ProblemSet, Path, Gradebook],
) -> None:
    lc, _ = cluster
    _, folder, serial = graded
    scaled = tmp_path / "scaled"
    code, out, err = run(
        capsys, "check", "seed", str(folder), "-o", str(scaled), "--scheduler", lc.scheduler_address
    )
    assert code == 1 and err == ""
    assert (tmp_path / "scaled.csv").read_text(encoding="utf-8") == gradebook_csv(serial)
    assert (tmp_path / "scaled.json").read_text(encoding="utf-8") == gradebook_json(serial)
    # The table is the serial one, then a line on the run and the gradebook's names.
    assert out.startswith(verdict_table(serial) + "\n")
    tail = out.removeprefix(verdict_table(serial) + "\n").splitlines()
    assert tail[0].startswith(f"graded {N_SUBMISSIONS} submissions on {lc.scheduler_address}")
    assert tail[1:] == [f"gradebook written to {scaled}.csv", f"gradebook written to {scaled}.json"]


def test_check_scheduler_local_starts_and_stops_its_own_cluster(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "subs"
    write_submissions(folder, 12, seed=3)
    (folder / "ok.toml").write_bytes((EXAMPLES / "seed-answers.toml").read_bytes())
    code, out, err = run(
        capsys,
        "check",
        "seed",
        str(folder),
        "-o",
        str(tmp_path / "gb"),
        "--scheduler",
        "local",
        "--workers",
        "2",
        "--progress",
    )
    assert code == 1
    # --progress: a bar on stderr (tqdm's), and nothing else there.
    assert "grading" in err and "13/13" in err and "warning" not in err and "error" not in err
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "gb.csv").read_text().splitlines())}
    assert len(rows) == 13 and rows["ok"]["total"] == "17"
    assert "on a LocalCluster (2 worker threads)" in out
    expected = gradebook_csv(grade_directory(load_seed_set(), folder))
    assert (tmp_path / "gb.csv").read_text(encoding="utf-8") == expected


def test_ctrl_c_cancels_the_run_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cluster: tuple[Any, Any],
    graded: tuple[ProblemSet, Path, Gradebook],
) -> None:
    import chainrule.problems.scale as scale

    lc, client = cluster
    _, folder, _ = graded
    real = scale.submission_from_plain
    calls = []

    def interrupted(d: dict[str, Any]) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(d)

    monkeypatch.setattr(scale, "submission_from_plain", interrupted)
    code, _, err = run(
        capsys,
        "check",
        "seed",
        str(folder),
        "-o",
        str(tmp_path / "gb"),
        "--scheduler",
        lc.scheduler_address,
    )
    assert code == 130 and err == "chainrule check: interrupted\n"
    assert not list(tmp_path.glob("gb*")) and not list(tmp_path.glob(".gb*"))

    # The tasks in flight were cancelled: the scheduler lets go of every one of them.
    def grading_keys(dask_scheduler: Any) -> int:
        return sum(str(k).startswith("chainrule-grade-") for k in dask_scheduler.tasks)

    for _ in range(100):
        left = client.run_on_scheduler(grading_keys)
        if left == 0:
            break
        time.sleep(0.1)
    assert left == 0


def test_a_bad_scheduler_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], graded: tuple[ProblemSet, Path, Gradebook], tmp_path: Path
) -> None:
    _, folder, _ = graded
    # Nothing listens on port 1: refused at once, in one line that names the address.
    code, out, err = run(capsys, "check", "seed", str(folder), "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and out == ""
    assert err.startswith(
        "chainrule check: error: --scheduler: cannot reach the scheduler at tcp://127.0.0.1:1: "
    )
    assert err.count("\n") == 1
    code, _, err = run(capsys, "check", "seed", str(folder), "--scheduler", "127.0.0.1:8786")
    assert code == 2 and "neither 'local' nor a scheduler address tcp://HOST:PORT" in err
    assert err.count("\n") == 1
    code, _, err = run(
        capsys, "check", "seed", str(folder), "--scheduler", "tcp://h:1", "--workers", "2"
    )
    assert code == 2 and "--workers applies to --scheduler local" in err
    one = EXAMPLES / "seed-answers.toml"
    code, _, err = run(capsys, "check", "seed", str(one), "--scheduler", "local")
    assert code == 2 and "grades a directory" in err
    code, _, err = run(capsys, "check", "seed", str(folder), "--progress")
    assert code == 2 and "there is no --scheduler" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "check", "seed", str(empty), "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and "no answers files" in err  # refused before connecting


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("local", True),
        ("tcp://127.0.0.1:8786", True),
        ("tcp://scheduler.example.org:8786", True),
        ("tcp://[::1]:8786", True),
        ("tcp://host:0", False),
        ("tcp://host:65536", False),
        ("tcp://host", False),
        ("tls://host:8786", False),
        ("", False),
    ],
)
def test_parse_scheduler(text: str, ok: bool) -> None:
    if ok:
        assert parse_scheduler(text) == text
    else:
        with pytest.raises(ValueError, match="--scheduler"):
            parse_scheduler(text)
