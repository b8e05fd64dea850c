"""``chainrule logreg``: fit a logistic regression, check its gradient, and print its summary.

Examples::

    chainrule logreg                                  # the embedded breast-cancer data (standardized)
    chainrule logreg data.csv --label y --test-size 0.25 --C 0.5 -o model
    chainrule logreg data.csv --label y --penalty none --standardize --json
    cat data.csv | chainrule logreg - --label y --delimiter ';' -o - > model.npz

It splits the rows (seeded) into a training and a held-out set, fits (a progress display on stderr when it
is a terminal, or with ``--progress``), and prints the fit, the training and held-out accuracy, the
gradient check at the solution (analytic vs central finite differences and vs chainrule's autodiff) and the
coefficient table. ``-o PATH`` writes ``PATH.npz`` (arrays plus a JSON metadata entry, no pickle) and
``PATH.json`` (that metadata, readable) with the coefficients expressed on the original feature scale, so
the saved model predicts from raw features; ``-o -`` writes the ``.npz`` archive to stdout. CSV cells are
finite, 0 or between 1e-300 and 1e300 in magnitude (up to 1e150 unless ``--standardize``). Old names, for
one release: ``--target`` (now ``--label``), ``--save`` (now ``--out``). Exit codes: 0 success, 1 the
gradient check failed, 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from typing import TYPE_CHECKING, Any

from chainrule.commands._linear_args import (
    check_matrix_range,
    delimiter_note,
    read_labelled_csv,
    standardizer,
)
from chainrule.commands._options import (
    DeprecatedAlias,
    add_delimiter,
    add_force,
    add_json,
    add_label,
    add_output,
    add_quiet,
    add_seed,
    add_test_size,
    check_common,
    float_type,
    given,
    int_type,
    print_json,
    say,
)

if TYPE_CHECKING:
    import numpy as np

    from chainrule.linear.logistic import LogisticRegression

NAME = "logreg"
HELP = (
    "fit a logistic regression to a CSV file (default: the embedded breast-cancer data), "
    "check its gradient and print its summary"
)

#: The largest --max-iter.
MAX_ITER = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "csv",
        nargs="?",
        default=None,
        metavar="CSV",
        help="a CSV file with a header row, '-' for stdin (default: the embedded Wisconsin "
        "breast-cancer data)",
    )
    add_label(parser, old="--target")
    add_delimiter(parser)
    add_test_size(parser, 0.25)
    parser.add_argument(
        "--C",
        type=float_type("--C", 0.0, 1e300, low_open=True),
        default=None,
        help="inverse penalty strength, > 0 (default 1.0; not with --penalty none)",
    )
    parser.add_argument(
        "--penalty",
        choices=("l2", "l1", "elasticnet", "none"),
        default="l2",
        help="l2; l1 or elasticnet (sparse coefficients, proximal Newton); or none (maximum "
        "likelihood: exact standard errors in the summary)",
    )
    parser.add_argument(
        "--l1-ratio",
        type=float_type("--l1-ratio", 0.0, 1.0),
        default=None,
        metavar="R",
        help="the L1 share of the elastic-net penalty, 0 to 1 (only with --penalty elasticnet)",
    )
    parser.add_argument(
        "--class-weight",
        choices=("balanced",),
        default=None,
        help="balanced: weight each class by n / (classes x its count), as scikit-learn does",
    )
    parser.add_argument(
        "--solver",
        choices=("auto", "lbfgs", "newton", "prox-newton"),
        default="auto",
        help="the optimizer (auto: Newton or L-BFGS by measured cost for l2/none, proximal "
        "Newton for l1/elasticnet)",
    )
    parser.add_argument(
        "--tol",
        type=float_type("--tol", 0.0, 1.0),
        default=1e-8,
        help="gradient tolerance, 0 to 1",
    )
    parser.add_argument(
        "--max-iter",
        type=int_type("--max-iter", 1, MAX_ITER),
        default=200,
        metavar="N",
        help=f"iteration limit, 1 to {MAX_ITER:,}",
    )
    add_seed(parser, "the train/test split (only with --test-size above 0)")
    parser.add_argument(
        "--standardize",
        action="store_true",
        help="standardize the features with the training rows' mean and standard deviation "
        "(always on for the embedded data)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show the fit's progress on stderr (default: only when stderr is a terminal)",
    )
    add_output(
        parser,
        "write the model to PATH.npz (arrays and JSON metadata) and PATH.json (the "
        "metadata); no pickle",
        metavar="PATH",
    )
    parser.add_argument(
        "--save", dest="out", action=DeprecatedAlias, new="--out", help=argparse.SUPPRESS
    )
    add_force(parser)
    add_json(parser)
    add_quiet(parser)


def _check_arguments(args: argparse.Namespace) -> None:
    check_common(args)
    if not args.test_size < 1.0:
        raise ValueError(
            f"--test-size must be below 1 (some rows must train), got {args.test_size}"
        )
    if args.penalty == "none" and args.C is not None:
        raise ValueError("--C sets the penalty's strength; it contradicts --penalty none")
    if args.penalty == "elasticnet" and args.l1_ratio is None:
        raise ValueError("--penalty elasticnet needs --l1-ratio (the L1 share, 0 to 1)")
    if args.penalty != "elasticnet" and args.l1_ratio is not None:
        raise ValueError(f"--l1-ratio is only for --penalty elasticnet, not {args.penalty}")
    sparse = args.penalty in ("l1", "elasticnet")
    if args.solver in ("lbfgs", "newton") and sparse:
        raise ValueError(
            f"--solver {args.solver} needs a smooth penalty; --penalty {args.penalty} takes "
            "--solver prox-newton (or auto)"
        )
    if args.solver == "prox-newton" and not sparse:
        raise ValueError(
            f"--solver prox-newton is for --penalty l1 or elasticnet, not {args.penalty}"
        )
    if args.test_size == 0 and given(args, "seed"):
        raise ValueError("--seed has no effect with --test-size 0 (nothing is drawn)")
    if args.progress and (args.quiet or args.json):
        raise ValueError(
            f"--progress contradicts --{'quiet' if args.quiet else 'json'} (both decide what is shown)"
        )
    if args.csv is None:
        if args.label is not None:
            raise ValueError("--label needs a CSV file (the embedded data has its own)")
        if args.delimiter is not None:
            raise ValueError("--delimiter needs a CSV file (the embedded data has its own)")
        if args.standardize:
            raise ValueError(
                "--standardize has no effect on the embedded data: it is always standardized"
            )


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, list[str], str, str, bool]:
    """``(X, y, feature_names, target_name, source, standardize)``."""
    from chainrule.linear.datasets import load_breast_cancer

    if args.csv is None:
        X, y, names, target_names = load_breast_cancer()
        source = (
            "embedded Wisconsin diagnostic breast-cancer data (UCI; Street, Wolberg, Mangasarian; "
            f"CC BY 4.0): 0 = {target_names[0]}, 1 = {target_names[1]}"
        )
        return X, y, names, "diagnosis", source, True
    data = read_labelled_csv(args.csv, args.label, args.delimiter)
    shown = "stdin" if args.csv == "-" else args.csv
    check_matrix_range(data.X, data.feature_names, f"CSV file {shown!r}")
    source = f"{shown} (label column {data.target_name!r}{delimiter_note(data)})"
    return (
        data.X,
        data.y,
        data.feature_names,
        data.target_name,
        source,
        bool(args.standardize),
    )


def _split(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    order = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_size)
    if test_size > 0 and n_test == 0:
        n_test = 1
    if n - n_test < 2:
        raise ValueError(
            f"--test-size {test_size} leaves {n - n_test} training rows; need at least 2"
        )
    return np.sort(order[n_test:]), np.sort(order[:n_test])


#: Beyond this magnitude a feature's products with the weights and residuals overflow float64.
_MAX_RAW = 1e150


def _check_magnitude(X: np.ndarray, names: list[str]) -> None:
    """Raises ``ValueError`` naming a column whose values are too large to fit on their own scale."""
    import numpy as np

    top = np.max(np.abs(X), axis=0)
    j = int(np.argmax(top))
    if top[j] > _MAX_RAW:
        raise ValueError(
            f"column {names[j]!r} holds values up to {top[j]:.3g}: too large to fit on this scale "
            "(its products overflow float64); use --standardize"
        )


def _unstandardized(
    model: LogisticRegression, mean: np.ndarray, scale: np.ndarray
) -> LogisticRegression:
    """The same model on the original feature scale: w_raw = w / σ, b_raw = b − Σ_j w_j μ_j / σ_j."""
    raw = copy.copy(model)
    raw.coef_ = model.coef_ / scale
    raw.intercept_ = model.intercept_ - raw.coef_ @ mean
    return raw


def _stem(out: str) -> str:
    """The model's name without ``.npz`` or ``.json`` (``PATH`` of ``PATH.npz`` and ``PATH.json``)."""
    for suffix in (".npz", ".json"):
        if out.endswith(suffix):
            return out[: -len(suffix)]
    return out


def _save(model: LogisticRegression, out: str, force: bool, inputs: list[str | None]) -> list[str]:
    """Write ``model``: to ``PATH.npz`` and ``PATH.json`` atomically, or its archive to stdout for ``-``."""
    from chainrule.commands._output import write_group, write_output

    if out == "-":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="chainrule-") as tmp:
            model.save(os.path.join(tmp, "model"))
            with open(os.path.join(tmp, "model.npz"), "rb") as fh:
                data = fh.read()
        write_output("-", data, force=False)
        return ["-"]
    return write_group(_stem(out), (".npz", ".json"), model.save, force=force, inputs=inputs)


def run(args: argparse.Namespace) -> int:
    import warnings

    import numpy as np

    from chainrule.linear.logistic import LogisticRegression
    from chainrule.linear.logistic_check import logistic_gradient_check

    _check_arguments(args)
    inputs = [args.csv]
    if args.out is not None and args.out != "-":
        from chainrule.commands._output import output_target

        stem = _stem(args.out)
        if not stem.strip():
            raise ValueError("--out: the output name is empty")
        if stem.endswith(("/", os.sep)) or os.path.isdir(stem):
            raise ValueError(f"--out: {args.out} is a directory; give a file name")
        for suffix in (".npz", ".json"):  # say so before the fit, not after it
            output_target(stem + suffix, force=args.force, inputs=inputs)
    X, y, names, target, source, standardize = _load(args)
    n, d = X.shape
    train, test = _split(n, args.test_size, args.seed)
    if standardize:
        mean, scale = standardizer(X[train])
    else:
        _check_magnitude(X, names)
        mean, scale = np.zeros(d), np.ones(d)
    Xs = (X - mean) / scale
    say(
        args,
        f"data: {source}",
        f"  {n} rows, {d} features; {train.size} for training, {test.size} held out "
        f"(seed {args.seed}){'; features standardized' if standardize else ''}",
    )
    progress = args.progress or (not args.quiet and not args.json and sys.stderr.isatty())
    C = 1.0 if args.C is None else args.C
    model = LogisticRegression(
        penalty=None if args.penalty == "none" else args.penalty,
        C=C,
        l1_ratio=args.l1_ratio,
        class_weight=args.class_weight,
        solver=args.solver,
        tol=args.tol,
        max_iter=args.max_iter,
        verbose=1 if progress else 0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(Xs[train], y[train])
    if not args.quiet:
        shown: list[str] = []
        for w in caught:
            text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
            if text not in shown:
                shown.append(text)
                print(f"chainrule logreg: warning: {text}", file=sys.stderr)
    model.feature_names_in_ = np.asarray(names, dtype=object)
    classes = ", ".join(repr(c.item() if isinstance(c, np.generic) else c) for c in model.classes_)
    form = {
        "none": "Σ loss",
        "l2": "C Σ loss + ½‖w‖²",
        "l1": "C Σ loss + ‖w‖₁",
        "elasticnet": "C Σ loss + ρ‖w‖₁ + ½(1 − ρ)‖w‖²",
    }[args.penalty]
    if args.class_weight:
        form = form.replace("Σ loss", "Σ weight · loss")
    train_accuracy = float(model.score(Xs[train], y[train]))
    say(
        args,
        f"fit: {model.solver_}, {int(model.n_iter_[0])} iterations, "
        f"{'converged' if model.converged_ else 'NOT converged'}; classes [{classes}]",
        f"  objective ({form}) = {model.objective_:.12g}",
        f"  training accuracy = {train_accuracy:.4f}",
    )
    if args.penalty in ("l1", "elasticnet"):
        kept = [str(nm) for nm, c in zip(names, np.any(model.coef_ != 0, axis=0), strict=True) if c]
        say(args, f"  non-zero coefficients: {len(kept)} of {d} ({', '.join(kept) or 'none'})")
    facts: dict[str, Any] = {
        "data": source,
        "rows": int(n),
        "features": list(names),
        "label": target,
        "training_rows": int(train.size),
        "held_out_rows": int(test.size),
        "standardized": standardize,
        "solver": str(model.solver_),
        "iterations": int(model.n_iter_[0]),
        "converged": bool(model.converged_),
        "classes": [c.item() if isinstance(c, np.generic) else c for c in model.classes_],
        "objective": float(model.objective_),
        "training_accuracy": train_accuracy,
        "penalty": args.penalty,
        "nonzero_coefficients": int(np.count_nonzero(np.any(model.coef_ != 0, axis=0))),
    }
    if test.size:
        accuracy = float(model.score(Xs[test], y[test]))
        say(
            args,
            f"  held-out accuracy = {accuracy:.4f} ({round(accuracy * test.size)}/{test.size})",
        )
        facts["held_out_accuracy"] = accuracy
    check = logistic_gradient_check(model)
    say(args, check.text)
    facts["gradient_check"] = {
        "ok": bool(check.ok),
        "finite_difference_max_diff": float(check.fd_max_diff),
        "autodiff_max_diff": float(check.autodiff_max_diff),
    }
    try:
        summary = model.summary()
    except ValueError as exc:
        say(args, f"summary: {exc}")
    else:
        say(args, summary.text)
        facts["coefficients"] = {
            str(name): {"coef": float(c), "std_err": float(se), "z": float(z), "p": float(p)}
            for name, c, se, z, p in zip(
                summary.names,
                summary.coef,
                summary.std_err,
                summary.z,
                summary.p_values,
                strict=True,
            )
        }
    if args.out is not None:
        saved = _unstandardized(model, mean, scale) if standardize else model
        written = _save(saved, args.out, args.force, inputs)
        note = " (coefficients on the original feature scale)" if standardize else ""
        if written != ["-"]:
            say(
                args,
                f"saved {written[0]} (arrays and metadata) and {written[1]} (the metadata), "
                f"no pickle{note}",
            )
        facts["out"] = written
    facts["ok"] = bool(check.ok)
    if args.json:
        print_json(facts)
    return 0 if check.ok else 1
