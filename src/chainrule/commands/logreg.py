"""``chainrule logreg``: fit a logistic regression, check its gradient, and print its summary.

Example::

    chainrule logreg                                  # the embedded breast-cancer data (standardized)
    chainrule logreg data.csv --target y [--test-size 0.25] [--C 1.0 | --penalty none]
                     [--solver auto|lbfgs|newton] [--standardize] [--save model]

It splits the rows (seeded) into a training and a held-out set, fits with a progress display on stderr,
and prints the fit, the training and held-out accuracy, the gradient check at the solution (analytic
vs central finite differences and vs chainrule's autodiff) and the coefficient table. ``--save PATH``
writes ``PATH.npz`` (arrays plus a JSON metadata entry, no pickle) and ``PATH.json`` (that metadata, readable) with the coefficients expressed on the original
feature scale, so the saved model predicts from raw features. Exit codes: 0 success, 1 the gradient
check failed, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import warnings

import numpy as np

from chainrule.linear.datasets import load_breast_cancer, load_csv
from chainrule.linear.logistic import LogisticRegression
from chainrule.linear.logistic_check import logistic_gradient_check

NAME = "logreg"
HELP = (
    "fit a logistic regression to a CSV file (default: the embedded breast-cancer data), "
    "check its gradient and print its summary"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "csv",
        nargs="?",
        default=None,
        help="a CSV file with a header row (default: the embedded Wisconsin breast-cancer data)",
    )
    parser.add_argument(
        "--target", default=None, help="the name of the class column (default: the last column)"
    )
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.25,
        help="fraction of rows held out for the accuracy (0 <= f < 1; default 0.25)",
    )
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 penalty strength (> 0)")
    parser.add_argument(
        "--penalty",
        choices=("l2", "none"),
        default="l2",
        help="l2 (default) or none (maximum likelihood: exact standard errors in the summary)",
    )
    parser.add_argument("--solver", choices=("auto", "lbfgs", "newton"), default="auto")
    parser.add_argument("--tol", type=float, default=1e-8, help="gradient tolerance (default 1e-8)")
    parser.add_argument("--max-iter", type=int, default=200, help="iteration limit (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    parser.add_argument(
        "--standardize",
        action="store_true",
        help="standardize the features with the training rows' mean and standard deviation "
        "(always on for the embedded data)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.add_argument(
        "--save",
        metavar="PATH",
        default=None,
        help="write the model to PATH.npz (arrays plus JSON metadata) and PATH.json (the metadata); no pickle",
    )


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, list[str], str, str, bool]:
    """``(X, y, feature_names, target_name, source, standardize)``."""
    if args.csv is None:
        if args.target is not None:
            raise ValueError("--target needs a CSV file")
        X, y, names, target_names = load_breast_cancer()
        source = (
            "embedded Wisconsin diagnostic breast-cancer data (UCI; Street, Wolberg, Mangasarian; "
            f"CC BY 4.0): 0 = {target_names[0]}, 1 = {target_names[1]}"
        )
        return X, y, names, "diagnosis", source, True
    X, y, names, target = load_csv(args.csv, target=args.target)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise ValueError(
            f"CSV file {args.csv!r}: column {names[j]!r}, data row {i + 1}: {X[i, j]} is not finite"
        )
    return X, y, names, target, f"{args.csv} (target column {target!r})", bool(args.standardize)


def _split(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_size)
    if test_size > 0 and n_test == 0:
        n_test = 1
    if n - n_test < 2:
        raise ValueError(
            f"--test-size {test_size} leaves {n - n_test} training rows; need at least 2"
        )
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (1 for a constant column), float64 ``(d,)`` each.

    Each column is divided by its largest magnitude first, so that values near the float64 limit (1e308)
    do not overflow the sums.
    """
    top = np.max(np.abs(X), axis=0)
    top = np.where(top > 0, top, 1.0)
    unit = X / top
    mean, scale = unit.mean(axis=0) * top, unit.std(axis=0) * top
    return mean, np.where(scale > 0, scale, 1.0)


#: Beyond this magnitude a feature's products with the weights and residuals overflow float64.
_MAX_RAW = 1e150


def _check_magnitude(X: np.ndarray, names: list[str]) -> None:
    """Raises ``ValueError`` naming a column whose values are too large to fit on their own scale."""
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


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.test_size < 1.0:
        raise ValueError(f"--test-size must be in [0, 1), got {args.test_size}")
    if not args.C > 0:
        raise ValueError(f"--C must be positive, got {args.C}")
    if args.max_iter < 1:
        raise ValueError(f"--max-iter must be at least 1, got {args.max_iter}")
    if not args.tol >= 0:
        raise ValueError(f"--tol must be a non-negative number, got {args.tol}")
    if args.save is not None:
        folder = os.path.dirname(os.path.abspath(args.save))
        if not os.path.isdir(folder):  # say so before the fit, not after it
            raise ValueError(f"--save {args.save!r}: the folder {folder!r} does not exist")
    X, y, names, _target, source, standardize = _load(args)
    n, d = X.shape
    train, test = _split(n, args.test_size, args.seed)
    if standardize:
        mean, scale = _standardizer(X[train])
    else:
        _check_magnitude(X, names)
        mean, scale = np.zeros(d), np.ones(d)
    Xs = (X - mean) / scale
    print(f"data: {source}")
    print(
        f"  {n} rows, {d} features; {train.size} for training, {test.size} held out "
        f"(seed {args.seed}){'; features standardized' if standardize else ''}"
    )
    model = LogisticRegression(
        penalty=None if args.penalty == "none" else "l2",
        C=args.C,
        solver=args.solver,
        tol=args.tol,
        max_iter=args.max_iter,
        verbose=0 if args.quiet else 1,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(Xs[train], y[train])
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    model.feature_names_in_ = np.asarray(names, dtype=object)
    classes = ", ".join(repr(c.item() if isinstance(c, np.generic) else c) for c in model.classes_)
    print(
        f"fit: {model.solver_}, {int(model.n_iter_[0])} iterations, "
        f"{'converged' if model.converged_ else 'NOT converged'}; classes [{classes}]"
    )
    form = "Σ loss" if args.penalty == "none" else "C Σ loss + ½‖w‖²"
    print(f"  objective ({form}) = {model.objective_:.12g}")
    print(f"  training accuracy = {model.score(Xs[train], y[train]):.4f}")
    if test.size:
        accuracy = model.score(Xs[test], y[test])
        print(f"  held-out accuracy = {accuracy:.4f} ({round(accuracy * test.size)}/{test.size})")
    check = logistic_gradient_check(model)
    print(check.text)
    try:
        print(model.summary().text)
    except ValueError as exc:
        print(f"summary: {exc}")
    if args.save is not None:
        saved = _unstandardized(model, mean, scale) if standardize else model
        written = saved.save(args.save)
        note = " (coefficients on the original feature scale)" if standardize else ""
        sidecar = written[: -len(".npz")] + ".json"
        print(
            f"saved {written} (arrays and metadata) and {sidecar} (the metadata), no pickle{note}"
        )
    return 0 if check.ok else 1
