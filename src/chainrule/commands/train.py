"""``chainrule train``: train a neural-network classifier, watch it learn, and plot its curves.

Examples::

    chainrule train                                   # an MLP on the embedded UCI 8x8 digits
    chainrule train --model cnn --plot curves         # a small CNN; curves.svg and curves.png
    chainrule train --hidden 128,64 --optimizer sgd --lr 0.05 --epochs 30 -o model
    chainrule train data.csv --label y --val-split 0.2 --patience 5 --json

It splits the rows (stratified by class, seeded) into training, validation and held-out sets,
standardizes the features with the training rows' statistics (kept in the model as its first
layer, so the saved model takes raw features), trains with mini-batches, and prints the held-out
accuracy. A progress bar with the ETA and the live loss and accuracy goes to stderr when it is a
terminal, or with ``--progress``. Early stopping (``--patience``) watches the validation loss and
keeps the best epoch's weights. ``--plot PREFIX`` writes the learning curves (loss and accuracy,
training and validation) to ``PREFIX.svg`` and ``PREFIX.png``; ``-o PATH`` writes the model to
``PATH.npz`` (weights and standardization, no pickle) and ``PATH.json`` (how to rebuild it, the
classes); ``-o -`` writes the ``.npz`` to stdout. The same ``--seed`` gives the same run, bit for
bit. The default data: UCI "Optical Recognition of Handwritten Digits" (Alpaydin & Kaynak,
CC BY 4.0), 1,797 images of 8x8 pixels 0-16. Old name, for one release: ``--save`` (now
``--out``). Exit codes: 0 success, 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

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

    from chainrule.nn import History, Optimizer, Sequential

NAME = "train"
HELP = (
    "train a neural-network classifier (default: an MLP on the embedded UCI 8x8 digits) with a "
    "progress bar; print its held-out accuracy and plot its learning curves"
)

#: Bounds of the options.
MAX_EPOCHS = 10_000
MAX_BATCH = 1_000_000
MAX_WIDTH = 4096
MAX_LAYERS = 16
MAX_CLASSES = 1000
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus")
#: The defaults that depend on the model or the optimizer.
DEFAULT_HIDDEN = {"mlp": (256,), "cnn": (64,)}
DEFAULT_CHANNELS = (16, 32)
DEFAULT_WEIGHT_DECAY = {"adamw": 0.05, "adam": 0.0, "sgd": 0.0}


def sizes_type(option: str) -> Any:
    """An argparse ``type`` for ``128,64``: 1 to :data:`MAX_LAYERS` widths of 1 to :data:`MAX_WIDTH`."""

    def parse(text: str) -> tuple[int, ...]:
        items = [t.strip() for t in text.split(",")]
        if len(items) > MAX_LAYERS:
            raise argparse.ArgumentTypeError(
                f"{len(items)} sizes; the limit is {MAX_LAYERS} (write them as 128,64)"
            )
        width = int_type(option, 1, MAX_WIDTH)
        try:
            return tuple(width(t) for t in items)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{text[:40]!r}: {exc}") from None

    parse.__name__ = "sizes"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "csv",
        nargs="?",
        default=None,
        metavar="CSV",
        help="a CSV file with a header row and a class column, '-' for stdin (default: the "
        "embedded UCI 8x8 handwritten digits)",
    )
    add_label(parser)
    add_delimiter(parser)
    model = parser.add_argument_group("the model")
    model.add_argument(
        "--model",
        choices=("mlp", "cnn"),
        default="mlp",
        help="mlp: fully connected layers; cnn: 3x3 convolutions and 2x2 max-pooling on square "
        "images flattened row by row (the digits are 8x8)",
    )
    model.add_argument(
        "--hidden",
        type=sizes_type("--hidden"),
        default=None,
        metavar="SIZES",
        help="the hidden layers' widths, as 128,64 (default: 256 for mlp; 64 for cnn, after "
        "the convolutions)",
    )
    model.add_argument(
        "--channels",
        type=sizes_type("--channels"),
        default=None,
        metavar="SIZES",
        help="cnn only: the channels of each convolution (default: 16,32)",
    )
    model.add_argument(
        "--activation", choices=ACTIVATIONS, default="relu", help="between the layers"
    )
    model.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64", help="of the weights"
    )
    opt = parser.add_argument_group("the training")
    opt.add_argument(
        "--optimizer", choices=("adamw", "adam", "sgd"), default="adamw", help="the optimizer"
    )
    opt.add_argument(
        "--lr",
        type=float_type("--lr", 0.0, 10.0, low_open=True),
        default=1e-3,
        metavar="LR",
        help="the learning rate, 0 < LR <= 10",
    )
    opt.add_argument(
        "--weight-decay",
        type=float_type("--weight-decay", 0.0, 1.0),
        default=None,
        metavar="W",
        help="0 to 1: decoupled for adamw, an L2 term for adam and sgd (default: 0.05 for "
        "adamw, 0 otherwise)",
    )
    opt.add_argument(
        "--momentum",
        type=float_type("--momentum", 0.0, 1.0, high_open=True),
        default=None,
        metavar="M",
        help="sgd only: the momentum, 0 <= M < 1 (default: 0.9)",
    )
    opt.add_argument(
        "--epochs",
        type=int_type("--epochs", 1, MAX_EPOCHS),
        default=100,
        metavar="N",
        help=f"the most passes over the training rows, 1 to {MAX_EPOCHS:,}",
    )
    opt.add_argument(
        "--batch-size",
        type=int_type("--batch-size", 1, MAX_BATCH),
        default=16,
        metavar="B",
        help=f"rows per step, 1 to {MAX_BATCH:,}",
    )
    opt.add_argument(
        "--patience",
        type=int_type("--patience", 0, MAX_EPOCHS),
        default=15,
        metavar="N",
        help="stop after N epochs without a lower validation loss and keep the best epoch's "
        "weights; 0: never stop early",
    )
    add_seed(parser, "the split, the initial weights and the batches")
    split = parser.add_argument_group("the split")
    split.add_argument(
        "--val-split",
        type=float_type("--val-split", 0.0, 1.0, high_open=True),
        default=0.1,
        metavar="F",
        help="fraction of the rows for validation (the curves, early stopping), 0 <= F < 1",
    )
    add_test_size(split, 0.2)
    out = parser.add_argument_group("the output")
    out.add_argument(
        "--plot",
        metavar="PREFIX",
        default=None,
        help="write the learning curves to PREFIX.svg and PREFIX.png (matplotlib); an existing "
        "file needs --force",
    )
    add_output(
        out,  # type: ignore[arg-type]
        "write the model to PATH.npz (weights and standardization, no pickle) and PATH.json "
        "(how to rebuild it, the classes)",
        metavar="PATH",
    )
    out.add_argument(
        "--save", dest="out", action=DeprecatedAlias, new="--out", help=argparse.SUPPRESS
    )
    add_force(out)  # type: ignore[arg-type]
    out.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar on stderr (default: only when stderr is a terminal)",
    )
    add_json(out)  # type: ignore[arg-type]
    add_quiet(out)  # type: ignore[arg-type]


# --- checks before any work -------------------------------------------------------------------------


def _check_arguments(args: argparse.Namespace) -> None:
    """Contradictions and options that another makes meaningless (each names the option)."""
    check_common(
        argparse.Namespace(
            json=args.json, quiet=args.quiet, out=args.out, force=args.force and not args.plot
        )
    )
    if args.val_split + args.test_size >= 1.0:
        raise ValueError(
            f"--val-split {args.val_split:g} and --test-size {args.test_size:g} leave no rows "
            "for training (their sum must be below 1)"
        )
    if args.progress and (args.quiet or args.json):
        raise ValueError(
            f"--progress contradicts --{'quiet' if args.quiet else 'json'} "
            "(both decide what is shown)"
        )
    if args.channels is not None and args.model != "cnn":
        raise ValueError("--channels applies only to --model cnn")
    if args.momentum is not None and args.optimizer != "sgd":
        raise ValueError(f"--momentum applies only to --optimizer sgd, not {args.optimizer}")
    if args.val_split == 0 and given(args, "patience") and args.patience > 0:
        raise ValueError("--patience watches the validation loss: it needs --val-split above 0")
    if args.csv is None:
        for dest, option in (("label", "--label"), ("delimiter", "--delimiter")):
            if getattr(args, dest) is not None:
                raise ValueError(f"{option} needs a CSV file (the embedded digits have their own)")


def _stem(out: str) -> str:
    for suffix in (".npz", ".json"):
        if out.endswith(suffix):
            return out[: -len(suffix)]
    return out


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse bad output names (and a missing matplotlib) before the training, not after it."""
    from chainrule.commands._output import output_target

    inputs = [args.csv]
    if args.out is not None and args.out != "-":
        stem = _stem(args.out)
        if not stem.strip():
            raise ValueError("--out: the output name is empty")
        for suffix in (".npz", ".json"):
            output_target(stem + suffix, force=args.force, inputs=inputs)
    if args.plot is not None:
        if not args.plot.strip():
            raise ValueError("--plot: the output name is empty")
        for suffix in (".svg", ".png"):
            output_target(args.plot + suffix, force=args.force, inputs=inputs, option="--plot")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ValueError(
                "--plot needs matplotlib, which is not installed: pip install matplotlib"
            ) from None


# --- the data ---------------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, list[Any], dict[str, Any]]:
    """``(X, y as class indices, class labels, facts about the data)``."""
    import numpy as np

    if args.csv is None:
        from chainrule.nn.datasets import load_digits

        X, y = load_digits()
        facts = {
            "data": "embedded UCI handwritten digits (8x8 images, pixels 0-16; Alpaydin & Kaynak; "
            "CC BY 4.0)",
            "features": [f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
            "label": "digit",
        }
        return X, y, list(range(10)), facts
    from chainrule.commands._linear_args import delimiter_note, read_labelled_csv

    data = read_labelled_csv(args.csv, args.label, args.delimiter)
    shown = "stdin" if args.csv == "-" else args.csv
    labels, y = np.unique(data.y, return_inverse=True)
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise ValueError(
            f"CSV file {shown!r}: the label column {data.target_name!r} holds non-integer "
            "numbers; train classifies (a label column names classes)"
        )
    if labels.size < 2:
        raise ValueError(
            f"CSV file {shown!r}: the label column {data.target_name!r} has one class; "
            "a classifier needs two or more"
        )
    if labels.size > MAX_CLASSES:
        raise ValueError(
            f"CSV file {shown!r}: the label column {data.target_name!r} has {labels.size:,} "
            f"classes; the limit is {MAX_CLASSES:,}"
        )
    top = float(np.max(np.abs(data.X))) if data.X.size else 0.0
    if top > 1e150:
        raise ValueError(
            f"CSV file {shown!r}: values up to {top:.3g}; the limit is 1e150 (scale the column)"
        )
    facts = {
        "data": f"{shown} (label column {data.target_name!r}{delimiter_note(data)})",
        "features": list(data.feature_names),
        "label": data.target_name,
    }
    classes = [c.item() if isinstance(c, np.generic) else c for c in labels]
    return data.X, y.astype(np.int64), classes, facts


def _split(
    y: np.ndarray, val: float, test: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train, validation, held out)`` row indices, sorted: each class split by the fractions.

    Raises:
        ValueError: fewer than two training rows.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in range(int(y.max()) + 1):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_test, n_val = round(rows.size * test), round(rows.size * val)
        parts[2].append(rows[:n_test])
        parts[1].append(rows[n_test : n_test + n_val])
        parts[0].append(rows[n_test + n_val :])
    train, valid, held = (np.sort(np.concatenate(p)).astype(np.intp) for p in parts)
    if train.size < 2:
        raise ValueError(
            f"--val-split {val:g} and --test-size {test:g} leave {train.size} training rows; "
            "need at least 2"
        )
    return train, valid, held


# --- the model and the optimizer --------------------------------------------------------------------


def _architecture(args: argparse.Namespace, d: int, k: int) -> dict[str, Any]:
    """The builder and its arguments (what ``model.json`` records)."""
    hidden = list(args.hidden if args.hidden is not None else DEFAULT_HIDDEN[args.model])
    if args.model == "mlp":
        return {
            "builder": "chainrule.nn.models.digits_mlp",
            "arguments": {
                "hidden": hidden,
                "activation": args.activation,
                "dtype": args.dtype,
                "n_features": d,
                "n_classes": k,
            },
        }
    side = round(d**0.5)
    if side * side != d:
        raise ValueError(
            f"--model cnn needs square images flattened row by row: {d} features is not a "
            "square number"
        )
    channels = list(args.channels if args.channels is not None else DEFAULT_CHANNELS)
    if side >> len(channels) < 1:
        raise ValueError(
            f"--channels: a {side}x{side} image is too small for {len(channels)} convolutions "
            "(each is followed by a 2x2 pooling that halves it)"
        )
    return {
        "builder": "chainrule.nn.models.digits_cnn",
        "arguments": {
            "channels": channels,
            "hidden": hidden,
            "activation": args.activation,
            "dtype": args.dtype,
            "image_shape": [side, side],
            "n_classes": k,
        },
    }


def _build(arch: dict[str, Any], mean: np.ndarray, scale: np.ndarray, seed: int) -> Sequential:
    from chainrule.nn.models import digits_cnn, digits_mlp

    kw = dict(arch["arguments"])
    if arch["builder"].endswith("digits_cnn"):
        kw["image_shape"] = tuple(kw["image_shape"])
        return digits_cnn(**kw, mean=mean, scale=scale, seed=seed)
    return digits_mlp(**kw, mean=mean, scale=scale, seed=seed)


def _describe(model: Sequential, arch: dict[str, Any]) -> str:
    a = arch["arguments"]
    if arch["builder"].endswith("digits_mlp"):
        sizes = [a["n_features"], *a["hidden"], a["n_classes"]]
        shape = "MLP " + "-".join(str(s) for s in sizes)
    else:
        h, w = a["image_shape"]
        convs = ", ".join(f"conv3x3 {c} + maxpool2" for c in a["channels"])
        dense = "-".join(str(s) for s in [*a["hidden"], a["n_classes"]])
        shape = f"CNN {h}x{w}x1: {convs}, dense {dense}"
    return f"{shape} ({a['activation']}), {model.num_parameters:,} parameters, {a['dtype']}"


def _optimizer(args: argparse.Namespace, model: Sequential) -> tuple[Optimizer, str]:
    from chainrule import nn

    wd = args.weight_decay
    if wd is None:
        wd = DEFAULT_WEIGHT_DECAY[args.optimizer]
    if args.optimizer == "adamw":
        return nn.AdamW(
            model, lr=args.lr, weight_decay=wd
        ), f"AdamW lr {args.lr:g}, weight decay {wd:g}"
    if args.optimizer == "adam":
        return nn.Adam(model, lr=args.lr, weight_decay=wd), f"Adam lr {args.lr:g}, L2 {wd:g}"
    momentum = 0.9 if args.momentum is None else args.momentum
    return (
        nn.SGD(model, lr=args.lr, momentum=momentum, weight_decay=wd),
        f"SGD lr {args.lr:g}, momentum {momentum:g}, L2 {wd:g}",
    )


# --- the outputs -------------------------------------------------------------------------------------


def _write_curves(
    history: History, prefix: str, force: bool, inputs: list[str | None]
) -> list[str]:
    from chainrule.commands._output import write_group
    from chainrule.nn.plot import render_history

    def save(tmp: str) -> None:
        for fmt in ("svg", "png"):
            with open(f"{tmp}.{fmt}", "wb") as fh:
                fh.write(render_history(history, fmt, title="chainrule train"))

    return write_group(prefix, (".svg", ".png"), save, force=force, inputs=inputs)


def _write_model(
    model: Sequential, sidecar: dict[str, Any], out: str, force: bool, inputs: list[str | None]
) -> list[str]:
    from chainrule import nn
    from chainrule.commands._output import write_group, write_output

    if out == "-":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="chainrule-") as tmp:
            path = nn.save(model, os.path.join(tmp, "model.npz"))
            with open(path, "rb") as fh:
                data = fh.read()
        write_output("-", data, force=False)
        return ["-"]

    def save(tmp: str) -> None:
        nn.save(model, tmp + ".npz")
        with open(tmp + ".json", "w", encoding="utf-8") as fh:
            json.dump(sidecar, fh, indent=2, ensure_ascii=False)
            fh.write("\n")

    return write_group(_stem(out), (".npz", ".json"), save, force=force, inputs=inputs)


# --- the run -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from chainrule import nn
    from chainrule.commands._linear_args import standardizer

    _check_arguments(args)
    _check_outputs(args)
    X, y, classes, facts = _load(args)
    n, d = X.shape
    k = len(classes)
    arch = _architecture(args, d, k)
    train, valid, held = _split(y, args.val_split, args.test_size, args.seed)
    mean, scale = standardizer(X[train])
    model = _build(arch, mean, scale, args.seed)
    optimizer, opt_text = _optimizer(args, model)
    Xf = X.astype(args.dtype)
    patience = args.patience if args.patience > 0 and valid.size else None
    say(
        args,
        f"data: {facts['data']}",
        f"  {n:,} rows, {d} features, {k} classes; {train.size:,} for training, {valid.size:,} "
        f"for validation, {held.size:,} held out (stratified, seed {args.seed}); features "
        "standardized with the training rows' mean and deviation",
        f"model: {_describe(model, arch)}",
        f"training: {opt_text}; batch {args.batch_size}, at most {args.epochs} epochs"
        + (
            f", early stopping after {patience} epochs without a lower validation loss"
            if patience
            else ""
        ),
    )
    show = args.progress or (not args.quiet and not args.json and sys.stderr.isatty())
    history = nn.fit(
        model,
        nn.cross_entropy,
        Xf[train],
        y[train],
        optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        validation_data=(Xf[valid], y[valid]) if valid.size else None,
        metrics=("accuracy",),
        patience=patience,
        progress="bar" if show else False,
        stream=sys.stderr,
    )
    model.eval()
    best = history.best_epoch
    lines = [
        f"  {history.epochs} epochs in {history.seconds:.1f} s"
        + (f" ({history.reason})" if history.reason else "")
    ]
    if best:
        where = "validation" if history.val_loss else "training"
        losses = history.val_loss if history.val_loss else history.loss
        accs = history.val_accuracy if history.val_loss else history.accuracy
        lines.append(
            f"  best epoch {best}: {where} loss {losses[best - 1]:.4g}, accuracy "
            f"{accs[best - 1]:.4f}; training loss {history.loss[best - 1]:.4g}, accuracy "
            f"{history.accuracy[best - 1]:.4f}"
            + ("; its weights restored" if history.restored else "")
        )
    say(args, *lines)
    result: dict[str, Any] = {
        "data": facts["data"],
        "rows": int(n),
        "features": int(d),
        "classes": classes,
        "training_rows": int(train.size),
        "validation_rows": int(valid.size),
        "held_out_rows": int(held.size),
        "seed": args.seed,
        "model": arch,
        "parameters": int(model.num_parameters),
        "optimizer": opt_text,
        "epochs": history.epochs,
        "best_epoch": best,
        "restored": history.restored,
        "stopped_early": history.stopped_early,
        "reason": history.reason,
        "seconds": history.seconds,
        "history": {
            "loss": history.loss,
            "accuracy": history.accuracy,
            "val_loss": history.val_loss,
            "val_accuracy": history.val_accuracy,
        },
    }
    if held.size:
        pred = model(Xf[held]).data.argmax(axis=1)
        right = int(np.count_nonzero(pred == y[held]))
        accuracy = right / held.size
        say(args, f"held-out accuracy = {accuracy:.4f} ({right}/{held.size})")
        result["held_out_accuracy"] = accuracy
    inputs: list[str | None] = [args.csv]
    if args.plot is not None:
        written = _write_curves(history, args.plot, args.force, inputs)
        say(args, f"learning curves: {written[0]}, {written[1]}")
        result["plot"] = written
    if args.out is not None:
        sidecar = {
            "format": "chainrule.train",
            "format_version": 1,
            **arch,
            "label": facts["label"],
            "classes": classes,
            "feature_names": facts["features"],
            "data": facts["data"],
            "seed": args.seed,
            "held_out_accuracy": result.get("held_out_accuracy"),
        }
        written = _write_model(model, sidecar, args.out, args.force, inputs)
        if written != ["-"]:
            say(
                args,
                f"saved {written[0]} (weights and standardization, no pickle) and {written[1]} "
                "(how to rebuild the model, the classes)",
            )
        result["out"] = written
    if args.json:
        print_json(result)
    return 0
