"""``chainrule solve [SET] [-o report.html|report.md|report.json]``: solve a problem set and verify every answer.

Examples::

    chainrule solve                              # the embedded seed set
    chainrule solve hw2.toml -o hw2.html         # an instructor's own set, as one HTML file
    chainrule solve hw2.toml -o - --json         # JSON on stdout

Before anything is written, the set is self-tested: every model answer in the file must pass its own
check. Exit codes: 0 every answer verified, 1 a verification failed, 2 bad input (the file, an expression,
a model answer the set's own check rejects), one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from chainrule.problems.errors import FormatError

NAME = "solve"
HELP = (
    "solve a problem set (TOML; default: the embedded seed set), verify each answer, write a report"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from chainrule.commands._options import add_force, add_json, add_output, add_quiet

    parser.add_argument(
        "set",
        nargs="?",
        metavar="SET",
        help="the problem-set file (default, or 'seed': the seed set)",
    )
    add_output(parser, "the report: .html, .md or .json ('-': JSON on stdout)", "REPORT")
    add_force(parser)
    add_json(parser)
    add_quiet(parser)


def run(args: argparse.Namespace) -> int:
    from chainrule.commands._options import check_common
    from chainrule.problems.report import write_report
    from chainrule.problems.report.text import solution_summary
    from chainrule.problems.solve import is_seed, load, self_test_failures, solve_set

    check_common(args)
    if args.out is not None and args.out != "-":
        from chainrule._files import check_output

        # Before any work: an output that would be refused is refused at once.
        check_output(args.out, force=args.force, inputs=() if is_seed(args.set) else (args.set,))
    pset = load(args.set)
    solution = solve_set(pset)
    model_failures = [f for f in self_test_failures(solution) if "set's own answer" in f]
    if model_failures:
        raise FormatError(f"self-test failed: {model_failures[0]}", file=args.set)
    if args.out == "-" or args.json:
        print(json.dumps(solution.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
    elif not args.quiet:
        print(solution_summary(solution))
    if args.out is not None and args.out != "-":
        inputs = () if is_seed(args.set) else (args.set,)
        path = write_report(solution, args.out, force=args.force, inputs=inputs)
        if not args.quiet:
            print(f"report written to {path}", file=sys.stderr if args.json else sys.stdout)
    return 0 if solution.ok else 1
