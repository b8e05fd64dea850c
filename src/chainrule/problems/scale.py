"""Grading at scale: one Dask task per submission, on a LocalCluster or any ``dask.distributed`` cluster.

``chainrule check SET DIR --scheduler local|tcp://HOST:PORT`` runs here. The result is the gradebook the
serial :func:`chainrule.problems.grading.grade_directory` gives for the same inputs, row for row and in the
same order (by file name); only where the work runs differs.

- **What travels is plain data.** The client reads each answers file (``read_toml_text``: a regular file,
  4 MiB at most, UTF-8) and sends its text, its path (which names it in messages) and the set's text to a
  worker, so workers need no shared file system. A worker parses the set once per process (a small cache
  keyed by the set's text) and the answers with our own readers, grades, and returns the submission as a
  dict of builtins (:func:`submission_to_plain`); nothing of the user's is ever unpickled.
- **Streaming.** At most ``window`` submissions are in flight; results are taken as they finish
  (``distributed.as_completed``), their futures released, and their rows kept in memory by submission
  index. The gradebook is built and written (atomically, by the caller) only once every row is in.
- **Lost workers lose nothing.** A worker that dies mid-task has its tasks re-run elsewhere by the
  scheduler; a task that raises is retried ``retries`` times. Rows are kept by submission index, so a
  result that arrives twice is counted once. A task that still fails (it raised every time, or killed
  ``distributed.scheduler.allowed-failures`` workers) becomes a row of ``undecided`` parts that names the
  error: a submission is never dropped.
- **Ctrl-C** cancels what is in flight, closes the client (and the LocalCluster this module started) and
  re-raises: nothing is written, and any old gradebook stays whole. Grading is deterministic, so running
  the command again gives the same grades.

``dask`` and ``distributed`` are imported inside the functions (``pip install 'chainrule[scale]'``), so
importing this module stays light.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainrule._version import __version__
from chainrule.problems.grading import answers_files, grade_submission, unreadable
from chainrule.problems.results import Counterexample, Gradebook, Submission, Verdict
from chainrule.problems.schema import ProblemSet, parse_set, parse_toml, read_toml_text

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_RETRIES",
    "DEFAULT_WINDOW",
    "ScaleStats",
    "SetText",
    "cluster_client",
    "grade_directory_on",
    "parse_scheduler",
    "set_text",
    "submission_from_plain",
    "submission_to_plain",
]

#: How long connecting to a ``tcp://`` scheduler (and waiting for its first worker) may take.
CONNECT_TIMEOUT_S = 10.0
#: How many times a task that raised is run again (a lost worker's tasks are re-run by the scheduler).
DEFAULT_RETRIES = 3
#: The most submissions in flight at once (each holds its file's text, 4 MiB at most).
DEFAULT_WINDOW = 256
#: The most worker processes ``--scheduler local`` starts.
MAX_LOCAL_WORKERS = 256

_INSTALL = "grading on a cluster needs dask.distributed: pip install 'chainrule[scale]'"
_ADDRESS = re.compile(
    r"^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})):(\d{1,5})$"
)


def parse_scheduler(text: str) -> str:
    """``--scheduler``: ``local`` or ``tcp://HOST:PORT`` (port 1 to 65535), returned as given.

    Raises:
        ValueError: anything else, naming the option and the two forms.
    """
    t = text.strip()
    if t == "local":
        return t
    m = _ADDRESS.match(t)
    if m is None or not 1 <= int(m.group(2)) <= 65535:
        shown = t if len(t) <= 60 else t[:57] + "..."
        raise ValueError(
            f"--scheduler: {shown!r} is neither 'local' nor a scheduler address tcp://HOST:PORT"
        )
    return t


@dataclass(frozen=True)
class SetText:
    """A problem set as plain data a worker can load: the file's text, the name its TOML errors give
    (``name``) and the ``source`` the loaded set names (so a worker's set equals the client's)."""

    text: str
    name: str
    source: str

    def load(self) -> ProblemSet:
        """The set, parsed and checked.

        Raises:
            FormatError: anything wrong with it, naming where.
        """
        return parse_set(parse_toml(self.text, self.name), self.text, self.source)


def set_text(path: str | Path | None) -> SetText:
    """The set at ``path`` as :class:`SetText`: the embedded seed set for None or ``"seed"`` (as
    :func:`chainrule.problems.solve.load` reads it), otherwise the file's text.

    Raises:
        FormatError: the file cannot be read (not a regular file, too large, not UTF-8).
    """
    from chainrule.problems.solve import is_seed, seed_text

    if is_seed(path):
        return SetText(seed_text(), "seed.toml", "seed.toml (embedded)")
    return SetText(read_toml_text(path), str(path), str(path))  # type: ignore[arg-type]


# -- the plain form of a submission -----------------------------------------------------------------------


def submission_to_plain(sub: Submission) -> dict[str, Any]:
    """``sub`` as a dict of builtins (every verdict by ``dataclasses.asdict``: exact, no rounding), what a
    worker sends back; :func:`submission_from_plain` rebuilds the same submission."""
    return {
        "student": sub.student,
        "source": sub.source,
        "verdicts": [dataclasses.asdict(v) for v in sub.verdicts],
    }


def _verdict_from_plain(d: dict[str, Any]) -> Verdict:
    fields = dict(d)
    ce = fields.pop("counterexample", None)
    steps = fields.pop("steps", [])
    return Verdict(
        **fields,
        counterexample=Counterexample(**ce) if ce is not None else None,
        steps=[_verdict_from_plain(s) for s in steps],
    )


def submission_from_plain(d: dict[str, Any]) -> Submission:
    """The submission :func:`submission_to_plain` wrote.

    Raises:
        TypeError, ValueError: ``d`` is not such a dict (a field missing or unknown, a bad verdict).
    """
    return Submission(
        str(d["student"]), str(d["source"]), [_verdict_from_plain(v) for v in d["verdicts"]]
    )


# -- what runs on a worker ----------------------------------------------------------------------------------

_SETS: OrderedDict[str, ProblemSet] = OrderedDict()
_SETS_LOCK = threading.Lock()
_SETS_KEPT = 4


def _worker_set(text: str, name: str, source: str) -> ProblemSet:
    """The set, parsed once per worker process (an LRU of :data:`_SETS_KEPT` sets keyed by a hash)."""
    key = hashlib.sha256("\x1f".join((text, name, source)).encode("utf-8")).hexdigest()
    with _SETS_LOCK:
        if key in _SETS:
            _SETS.move_to_end(key)
            return _SETS[key]
    pset = SetText(text, name, source).load()
    with _SETS_LOCK:
        _SETS[key] = pset
        while len(_SETS) > _SETS_KEPT:
            _SETS.popitem(last=False)
    return pset


def _grade_task(text: str, name: str, source: str, path: str, answers: str) -> dict[str, Any]:
    """One Dask task: grade the answers file ``path`` whose text is ``answers``; plain data in and out."""
    sub = grade_submission(_worker_set(text, name, source), Path(path), answers)
    return {"version": __version__, "submission": submission_to_plain(sub)}


def _worker_version() -> str:
    """The chainrule version a worker runs (the first task of every run)."""
    return __version__


# -- the client ---------------------------------------------------------------------------------------------


@dataclass
class ScaleStats:
    """How a run went: submissions graded, seconds from the first task to the last row, worker threads,
    tasks that failed for good (their rows are ``undecided``), and results that arrived twice (ignored)."""

    submissions: int = 0
    seconds: float = 0.0
    threads: int = 0
    failed: int = 0
    duplicates: int = 0

    @property
    def per_second(self) -> float:
        return self.submissions / self.seconds if self.seconds > 0 else 0.0


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ValueError(_INSTALL) from None
    return distributed


@contextlib.contextmanager
def _quiet_logs(level: int = logging.ERROR) -> Iterator[None]:
    """Distributed's INFO and WARNING logs (a worker restarted, a task re-run) off for the block."""
    logger = logging.getLogger("distributed")
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def _cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _reachable(address: str, timeout: float) -> None:
    """Fail fast, in one line, when nothing listens at a ``tcp://`` address."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ValueError(
            f"--scheduler: cannot reach the scheduler at {address}: {reason}"
        ) from None


@contextlib.contextmanager
def cluster_client(
    scheduler: str, *, workers: int | None = None, connect_timeout: float = CONNECT_TIMEOUT_S
) -> Iterator[Any]:
    """A ``distributed.Client``: on a LocalCluster this starts (``scheduler == "local"``: ``workers``
    processes, default one per core, one thread each), or on the scheduler at ``tcp://HOST:PORT``.
    Both are closed on leaving the block, Ctrl-C included.

    Raises:
        ValueError: dask.distributed is not installed; the address is malformed, unreachable, has no
            worker within ``connect_timeout`` seconds, or its workers do not run this chainrule version.
    """
    distributed = _distributed()
    address = parse_scheduler(scheduler)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_logs())
        if address == "local":
            n = workers if workers is not None else _cores()
            if not 1 <= n <= MAX_LOCAL_WORKERS:
                raise ValueError(f"--workers: {n} is out of range: 1 to {MAX_LOCAL_WORKERS}")
            try:
                cluster = stack.enter_context(
                    distributed.LocalCluster(
                        n_workers=n,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address="127.0.0.1:0",  # 8787 may be taken: any free local port
                        silence_logs=logging.CRITICAL,
                    )
                )
            except (OSError, RuntimeError, TimeoutError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ValueError(
                    f"--scheduler local: the LocalCluster did not start: {reason}"
                ) from None
            client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
        else:
            if workers is not None:
                raise ValueError("--workers applies to --scheduler local; a cluster has its own")
            _reachable(address, connect_timeout)
            try:
                client = stack.enter_context(
                    distributed.Client(address, timeout=connect_timeout, set_as_default=False)
                )
            except (OSError, TimeoutError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ValueError(
                    f"--scheduler: cannot connect to the scheduler at {address}: {reason}"
                ) from None
        _check_workers(client, address, connect_timeout)
        yield client


def _check_workers(client: Any, address: str, timeout: float) -> None:
    """At least one worker, running this chainrule version."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise ValueError(
            f"--scheduler: the scheduler at {address} has no worker after {timeout:g} s"
        ) from None
    probe = client.submit(_worker_version, pure=False, key=f"chainrule-version-{uuid.uuid4().hex}")
    try:
        version = probe.result(timeout=max(timeout, 60.0))
    except Exception as exc:  # a worker without chainrule cannot even unpickle the task
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"--scheduler: the workers at {address} cannot run chainrule ({reason}); "
            f"install chainrule {__version__} on every worker"
        ) from None
    finally:
        probe.release()
    if version != __version__:
        raise ValueError(
            f"--scheduler: the workers run chainrule {version}, this is {__version__}; "
            "install the same version on every worker (verdicts may differ between versions)"
        )


def _failed(pset: ProblemSet, path: Path, error: BaseException | None) -> Submission:
    """The row of a submission whose task failed for good: every part ``undecided``, naming the error."""
    reason = (
        f"{type(error).__name__}: {str(error).splitlines()[0]}"
        if error is not None and str(error)
        else (type(error).__name__ if error is not None else "no result")
    )
    return unreadable(
        pset,
        path,
        ValueError(f"grading failed on the cluster ({reason})"),
        what="not graded",
        method="not graded: the task failed",
    )


def _error_of(result: Any) -> BaseException | None:
    """The exception of a failed task, as ``as_completed(..., raise_errors=False)`` gives it: the
    exception, or the ``(type, exception, traceback)`` triple of a task that raised."""
    if isinstance(result, BaseException):
        return result
    if isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], BaseException):
        return result[1]
    return None


def grade_directory_on(
    client: Any,
    pset: ProblemSet,
    set_data: SetText,
    directory: str | Path,
    *,
    retries: int = DEFAULT_RETRIES,
    window: int = DEFAULT_WINDOW,
    on_result: Callable[[int, int], None] | None = None,
) -> tuple[Gradebook, ScaleStats]:
    """Grade every ``*.toml`` in ``directory`` as one task each on ``client``'s cluster.

    Args:
        client: a ``distributed.Client`` (see :func:`cluster_client`).
        pset: the set, loaded here (for the gradebook's title and the rows of unreadable files).
        set_data: the same set as plain data, for the workers (:func:`set_text`).
        retries: how many times a task that raised is run again.
        window: the most tasks in flight.
        on_result: called as ``on_result(done, total)`` after each row arrives (a progress bar).

    Returns:
        The gradebook (the serial ``grade_directory``'s rows, in its order) and the run's figures.

    Raises:
        FormatError: no answers files, or too many.
        ValueError: a worker runs another chainrule version; ``retries`` or ``window`` out of range.
        KeyboardInterrupt: after cancelling the tasks in flight (nothing is returned).
    """
    if not 0 <= retries <= 100:
        raise ValueError(f"retries: {retries} is out of range: 0 to 100")
    if not 1 <= window <= 100_000:
        raise ValueError(f"window: {window} is out of range: 1 to 100,000")
    distributed = _distributed()
    files = answers_files(directory)
    total = len(files)
    rows: dict[int, Submission] = {}
    stats = ScaleStats(threads=sum(client.nthreads().values()))
    run = uuid.uuid4().hex[:12]
    pending: dict[Any, int] = {}
    queue = iter(enumerate(files))
    ac = distributed.as_completed([], loop=client.loop, with_results=True, raise_errors=False)

    def add(index: int, path: Path) -> None:
        """Read one file and submit it; a file that cannot be read is its row at once."""
        try:
            answers = read_toml_text(path)
        except (OSError, UnicodeError, ValueError) as exc:  # FormatError is a ValueError
            _keep(index, unreadable(pset, path, exc))
            return
        future = client.submit(
            _grade_task,
            set_data.text,
            set_data.name,
            set_data.source,
            str(path),
            answers,
            key=f"chainrule-grade-{run}-{index}",
            retries=retries,
            pure=False,
        )
        pending[future] = index
        ac.add(future)

    def _keep(index: int, sub: Submission) -> None:
        if index in rows:
            stats.duplicates += 1
            return
        rows[index] = sub
        if on_result is not None:
            on_result(len(rows), total)

    def fill() -> None:
        while len(pending) < window:
            item = next(queue, None)
            if item is None:
                return
            add(*item)

    start = time.perf_counter()
    try:
        with _quiet_logs():
            fill()
            while pending:
                future, result = next(ac)
                index = pending.pop(future)
                path = files[index]
                if isinstance(result, dict) and result.get("version") != __version__:
                    raise ValueError(
                        f"--scheduler: a worker runs chainrule {result.get('version')}, this is "
                        f"{__version__}; install the same version on every worker"
                    )
                if isinstance(result, dict) and future.status == "finished":
                    sub = submission_from_plain(result["submission"])
                else:
                    stats.failed += 1
                    sub = _failed(pset, path, _error_of(result))
                future.release()
                _keep(index, sub)
                fill()
    except BaseException:
        # Ctrl-C or an error: nothing half-done is returned; the tasks in flight are cancelled.
        with contextlib.suppress(Exception):
            client.cancel(list(pending))
        raise
    stats.seconds = time.perf_counter() - start
    stats.submissions = len(rows)
    if len(rows) != total:  # cannot happen: every file gets a row above
        raise RuntimeError(f"{total - len(rows)} submissions have no row")
    return Gradebook(pset.title, pset.source, [rows[i] for i in range(total)]), stats
