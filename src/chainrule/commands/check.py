"""``chainrule check SET ANSWERS``: grade claimed answers, with a counterexample for every wrong one.

Examples::

    chainrule check hw2.toml alice.toml                   # a table on the terminal
    chainrule check hw2.toml alice.toml --json            # verdicts as JSON
    chainrule check hw2.toml submissions/ -o gradebook    # gradebook.csv and gradebook.json
    chainrule check hw2.toml alice.toml -o alice.html     # the verdicts, worked solutions beside them
    chainrule check hw2.toml submissions/ -o gradebook --scheduler local             # on every core
    chainrule check hw2.toml submissions/ -o gradebook --scheduler tcp://host:8786   # on a Dask cluster

ANSWERS is a TOML file keyed by problem (and part), or a directory of them, one per student. Each part is
``correct``, ``wrong`` (always with a counterexample and a diagnosis) or ``undecided`` (flagged, never
scored as wrong). The same answer gets the same verdict on every run and machine.
With --scheduler, a directory is graded one task per submission on dask.distributed (a LocalCluster, or
the cluster at tcp://HOST:PORT; pip install 'chainrule[scale]'): the same gradebook, in the same order.
Exit codes: 0 every answer correct, 1 any wrong or undecided (or a refuted derivation step), 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chainrule.problems.errors import FormatError

if TYPE_CHECKING:
    from chainrule.problems.results import Gradebook
    from chainrule.problems.schema import ProblemSet

NAME = "check"
HELP = "grade claimed answers (a TOML file or a directory of them) against a problem set"

_ADDRESS = re.compile(r"^tcp://\S+:\d{1,5}\Z")


def _scheduler(text: str) -> str:
    """``--scheduler``: ``local`` or ``tcp://HOST:PORT`` (checked fully when connecting)."""
    t = text.strip()
    if t != "local" and not _ADDRESS.match(t):
        shown = repr(t if len(t) <= 60 else t[:57] + "...")
        raise argparse.ArgumentTypeError(
            f"{shown} is neither 'local' nor a scheduler address tcp://HOST:PORT"
        )
    return t


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from chainrule.commands._options import add_force, add_json, add_output, add_quiet, int_type

    parser.add_argument(
        "set", metavar="SET", help="the problem-set file ('seed' for the embedded set)"
    )
    parser.add_argument(
        "answers", metavar="ANSWERS", help="an answers TOML file, or a directory of them"
    )
    add_output(
        parser,
        "a report (.html, .md, .json); for a directory, the gradebook's name (PATH.csv, PATH.json)",
        "PATH",
    )
    add_force(parser)
    add_json(parser)
    add_quiet(parser)
    parser.add_argument(
        "--scheduler",
        type=_scheduler,
        default=None,
        metavar="local|tcp://HOST:PORT",
        help=(
            "grade a directory on dask.distributed, one task per submission: 'local' starts a "
            "LocalCluster, tcp://HOST:PORT uses that scheduler's cluster (default: one after another "
            "in this process)"
        ),
    )
    parser.add_argument(
        "--workers",
        type=int_type("--workers", 1, 256),
        default=None,
        metavar="N",
        help="worker processes of --scheduler local, one thread each (default: one per core)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show --scheduler's progress on stderr (default: only when stderr is a terminal)",
    )


def run(args: argparse.Namespace) -> int:
    from chainrule._files import check_output, write_atomic
    from chainrule.commands._options import check_common
    from chainrule.problems.grading import (
        grade_directory,
        grade_file,
        gradebook_csv,
        gradebook_json,
    )
    from chainrule.problems.report import write_report
    from chainrule.problems.report.text import verdict_table
    from chainrule.problems.results import Gradebook
    from chainrule.problems.solve import is_seed, load

    check_common(args)
    answers = Path(args.answers)
    _check_scale_options(args, answers)
    inputs = tuple(Path(p) for p in (args.set, args.answers) if not is_seed(p))
    if args.out is not None:
        # Before any grading: an output that would be refused is refused at once.
        gradebook = answers.is_dir() and Path(args.out).suffix not in (".html", ".md", ".json")
        for target in [args.out + ".csv", args.out + ".json"] if gradebook else [args.out]:
            check_output(target, force=args.force, inputs=inputs)
    pset = load(args.set)
    scale_line = ""
    if answers.is_dir() and args.scheduler is not None:
        book, scale_line = _grade_on_cluster(args, pset, answers)
    elif answers.is_dir():
        book = grade_directory(pset, answers)
    else:
        book = Gradebook(pset.title, pset.source, [grade_file(pset, answers)])
    if args.json:
        print(gradebook_json(book))
    elif not args.quiet:
        print(verdict_table(book))
        if scale_line:
            print(scale_line)
    if args.out is not None:
        if answers.is_dir() and Path(args.out).suffix not in (".html", ".md", ".json"):
            for suffix, text in ((".csv", gradebook_csv(book)), (".json", gradebook_json(book))):
                path = write_atomic(Path(args.out + suffix), text, force=args.force, inputs=inputs)
                if not args.quiet and not args.json:  # --json: stdout holds the JSON alone
                    print(f"gradebook written to {path}")
        else:
            from chainrule.problems.solve import solve_set

            path = write_report(
                book, args.out, solutions=solve_set(pset), force=args.force, inputs=inputs
            )
            if not args.quiet and not args.json:
                print(f"report written to {path}")
    format_errors = [
        v for s in book.submissions for v in s.verdicts if v.method.startswith("not graded")
    ]
    if format_errors and not answers.is_dir():
        v = format_errors[0]
        raise FormatError(
            v.summary.removeprefix("format error: "), detail="\n".join(v.diagnosis[1:])
        )
    return 0 if book.all_correct else 1


def _check_scale_options(args: argparse.Namespace, answers: Path) -> None:
    """``--workers`` and ``--progress`` need ``--scheduler``; ``--scheduler`` needs a directory.

    Raises:
        ValueError: a contradiction, naming both options.
    """
    if args.workers is not None and args.scheduler != "local":
        raise ValueError("--workers applies to --scheduler local; a cluster has its own workers")
    if args.progress and args.scheduler is None:
        raise ValueError("--progress shows --scheduler's progress; there is no --scheduler")
    if args.progress and (args.quiet or args.json):
        raise ValueError(
            f"--progress contradicts --{'quiet' if args.quiet else 'json'} (both decide what is shown)"
        )
    if args.scheduler is not None and not answers.is_dir():
        raise ValueError(
            f"--scheduler grades a directory of submissions; {answers} is not a directory"
        )


def _grade_on_cluster(
    args: argparse.Namespace, pset: ProblemSet, answers: Path
) -> tuple[Gradebook, str]:
    """The gradebook of ``answers`` graded on the cluster, and a line on how it went."""
    from chainrule.problems.grading import answers_files
    from chainrule.problems.scale import cluster_client, grade_directory_on, set_text

    total = len(
        answers_files(answers)
    )  # a directory without submissions is refused before connecting
    data = set_text(args.set)
    show = args.progress or (not args.quiet and not args.json and sys.stderr.isatty())
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="submission", file=sys.stderr, desc="grading", leave=True)

    def progress(done: int, _total: int) -> None:
        if bar is not None:
            bar.update(1)

    try:
        with cluster_client(args.scheduler, workers=args.workers) as client:
            book, stats = grade_directory_on(client, pset, data, answers, on_result=progress)
    finally:
        if bar is not None:
            bar.close()
    where = "a LocalCluster" if args.scheduler == "local" else args.scheduler
    line = (
        f"graded {stats.submissions:,} submissions on {where} ({stats.threads} worker threads) in "
        f"{stats.seconds:.1f} s: {stats.per_second:.1f} per second"
    )
    if stats.failed:
        line += f"; {stats.failed} could not be graded on the cluster (their parts are undecided)"
    return book, line
