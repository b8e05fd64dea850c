"""Learning curves of a :class:`~chainrule.nn.train.History`, drawn with matplotlib.

:func:`plot_history` returns a ``matplotlib.figure.Figure`` (made without pyplot, so no window opens
and no global figure is kept): the loss of each epoch, training and validation (on a log axis when
it falls more than 20-fold), and beside it the accuracy when the history has it; a dotted line marks
the best epoch. :func:`render_history` gives
the figure's bytes as SVG or PNG. matplotlib is imported inside the functions (``import chainrule``
stays light); without it they raise ``ImportError`` saying how to install it. SVG output is
reproducible: no date, fixed element ids.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from chainrule.nn.train import History

__all__ = ["FORMATS", "plot_history", "render_history"]

#: The file formats, by suffix.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}

_TRAIN, _VAL, _BEST = "#1f77b4", "#d62728", "#7f7f7f"


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "plotting learning curves needs matplotlib: pip install matplotlib"
        ) from None
    return matplotlib


def plot_history(
    history: History,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    force: bool = False,
) -> Figure:
    """The learning curves of ``history`` as a Figure; with ``path``, also written there.

    Args:
        history: what :func:`chainrule.nn.fit` returned (at least one epoch).
        path: a file ending in ``.svg``, ``.png`` or ``.pdf``, written atomically.
        title: the figure's title.
        force: replace an existing file at ``path``.

    Raises:
        ImportError: matplotlib is missing.
        ValueError: no epochs; an unknown suffix; ``path`` is a directory, or exists without
            ``force``.
        OSError: the file cannot be written.
    """
    fmt = None
    if path is not None:
        from chainrule._files import check_output

        name = check_output(path, force=force)
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in FORMATS:
            raise ValueError(f"cannot tell the format of {name!r}: end it in {', '.join(FORMATS)}")
        fmt = FORMATS[suffix]
    fig = _figure(history, title)
    if path is not None and fmt is not None:
        from chainrule._files import write_atomic

        write_atomic(path, _bytes(fig, fmt), force=force)
    return fig


def render_history(history: History, fmt: str, *, title: str | None = None) -> bytes:
    """The learning curves as the bytes of an ``"svg"``, ``"png"`` or ``"pdf"`` file.

    Raises:
        ImportError: matplotlib is missing.
        ValueError: no epochs; an unknown format.
    """
    if fmt not in FORMATS.values():
        raise ValueError(f"format must be one of {', '.join(FORMATS.values())}, not {fmt!r}")
    return _bytes(_figure(history, title), fmt)


def _bytes(fig: Figure, fmt: str) -> bytes:
    matplotlib = _matplotlib()
    buf = io.BytesIO()
    metadata: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt, {})
    with matplotlib.rc_context({"svg.hashsalt": "chainrule", "svg.fonttype": "path"}):
        fig.savefig(buf, format=fmt, metadata=metadata, dpi=100)
    return buf.getvalue()


def _figure(history: History, title: str | None) -> Figure:
    _matplotlib()
    from matplotlib.figure import Figure

    if not history.loss:
        raise ValueError("the history has no epochs to plot")
    panels = 2 if history.accuracy or history.val_accuracy else 1
    fig = Figure(figsize=(4.8 * panels, 3.6), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    epochs = list(range(1, len(history.loss) + 1))
    _panel(axes[0], epochs, history.loss, history.val_loss, "loss", history)
    if panels == 2:
        _panel(axes[1], epochs, history.accuracy, history.val_accuracy, "accuracy", history)
    if title:
        fig.suptitle(title)
    return fig


def _panel(
    ax: Any, epochs: list[int], train: list[float], val: list[float], what: str, h: History
) -> None:
    marker = "o" if len(epochs) <= 30 else None
    if train:
        ax.plot(epochs[: len(train)], train, color=_TRAIN, marker=marker, ms=3, label="training")
    if val:
        ax.plot(epochs[: len(val)], val, color=_VAL, marker=marker, ms=3, label="validation")
    if h.best_epoch:
        note = "best epoch (restored)" if h.restored else "best epoch"
        ax.axvline(h.best_epoch, color=_BEST, linestyle=":", linewidth=1, label=note)
    ax.set_xlabel("epoch")
    ax.set_ylabel(what)
    ax.grid(True, alpha=0.3)
    if what == "accuracy":
        ax.yaxis.set_major_formatter(_percent())
    else:
        values = [v for v in (*train, *val) if v == v and abs(v) != float("inf")]
        if values and min(values) > 0 and max(values) > 20 * min(values):
            ax.set_yscale("log")  # losses that fall by decades read better on a log axis
    ax.legend(loc="best", fontsize="small")


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0)
