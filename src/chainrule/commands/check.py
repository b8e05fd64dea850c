"""``chainrule check SET ANSWERS``: grade claimed answers, with a counterexample for every wrong one.

Examples::

    chainrule check hw2.toml alice.toml                   # a table on the terminal
    chainrule check hw2.toml alice.toml --json            # verdicts as JSON
    chainrule check hw2.toml submissions/ -o gradebook    # gradebook.csv and gradebook.json
    chainrule check hw2.toml alice.toml -o alice.html     # the verdicts, worked solutions beside them

ANSWERS is a TOML file keyed by problem (and part), or a directory of them, one per student. Each part is
``correct``, ``wrong`` (always with a counterexample and a diagnosis) or ``undecided`` (flagged, never
scored as wrong). The same answer gets the same verdict on every run and machine.
Exit codes: 0 every answer correct, 1 any wrong or undecided (or a refuted derivation step), 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chainrule.problems.errors import FormatError

NAME = "check"
HELP = "grade claimed answers (a TOML file or a directory of them) against a problem set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from chainrule.commands._options import add_force, add_json, add_output, add_quiet

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
    inputs = tuple(Path(p) for p in (args.set, args.answers) if not is_seed(p))
    if args.out is not None:
        # Before any grading: an output that would be refused is refused at once.
        gradebook = answers.is_dir() and Path(args.out).suffix not in (".html", ".md", ".json")
        for target in [args.out + ".csv", args.out + ".json"] if gradebook else [args.out]:
            check_output(target, force=args.force, inputs=inputs)
    pset = load(args.set)
    if answers.is_dir():
        book = grade_directory(pset, answers)
    else:
        book = Gradebook(pset.title, pset.source, [grade_file(pset, answers)])
    if args.json:
        print(gradebook_json(book))
    elif not args.quiet:
        print(verdict_table(book))
    if args.out is not None:
        if answers.is_dir() and Path(args.out).suffix not in (".html", ".md", ".json"):
            for suffix, text in ((".csv", gradebook_csv(book)), (".json", gradebook_json(book))):
                path = write_atomic(Path(args.out + suffix), text, force=args.force, inputs=inputs)
                if not args.quiet:
                    print(f"gradebook written to {path}")
        else:
            from chainrule.problems.solve import solve_set

            path = write_report(
                book, args.out, solutions=solve_set(pset), force=args.force, inputs=inputs
            )
            if not args.quiet:
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
