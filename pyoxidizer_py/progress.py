"""What a command shows on stderr while it works: one line per stage, ``warning:`` and ``note:`` lines.

Three modes, chosen by the command line with ``configure()``:

- ``live`` (stderr is a terminal): the running stage is one line redrawn in place by rich
  (https://rich.readthedocs.io/en/stable/live.html): a spinner, the stage's name, its latest detail
  (the file being downloaded with a bar, the crate cargo compiles and how many are done) and the
  elapsed time. When the stage ends the line is replaced by a finished line.
- ``plain`` (stderr is not a terminal: CI logs, pipes): a line when a stage starts, a line every
  ``PLAIN_INTERVAL`` seconds while it runs (its latest detail), and a line when it ends.
- ``quiet`` (``-q``/``--quiet``, and the default for library use): stages and notes print nothing;
  warnings and errors still do.

Log records of the ``pyoxidizer_py`` loggers are printed through the same console (``LogHandler``),
so they appear above a live line instead of through it. A warning gets a ``warning:`` prefix unless
its text already starts with ``warning:`` or ``note:``.

Library code calls ``stage()``, ``update()``, ``note()`` and ``download_progress()``; none of them
raises, and all of them are cheap when the mode is quiet.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from pyoxidizer_py.distribution.pbs.download import DownloadEvent, ProgressCallback

__all__ = [
    "PLAIN_INTERVAL",
    "LogHandler",
    "Mode",
    "StageLine",
    "configure",
    "download_progress",
    "format_size",
    "mode",
    "note",
    "say",
    "stage",
    "update",
]

Mode = Literal["live", "plain", "quiet"]

PLAIN_INTERVAL = 10.0
"""Seconds between the lines a running stage prints in ``plain`` mode."""


def format_size(size: int) -> str:
    """``size`` bytes as ``812 B``, ``14.2 KiB``, ``9.8 MiB`` or ``1.2 GiB`` (binary units)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # rich's "dots" spinner, one frame per tenth of a second


def _sizes(received: int, total: int | None) -> str:
    """``12.0/61.0 MiB`` (one unit written once when both share it), ``812 B/1.2 MiB``, or ``12.0 MiB``."""
    done = format_size(received)
    if not total:
        return done
    whole = format_size(total)
    unit = whole.rsplit(" ", 1)[-1]
    return f"{done.rsplit(' ', 1)[0]}/{whole}" if done.endswith(f" {unit}") else f"{done}/{whole}"


def _shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters in the middle (``cpython-3.1…full.tar.zst``): both the
    start and the end of a file name say which file it is."""
    if len(text) <= width:
        return text
    if width < 8:
        return text[: max(width - 1, 0)] + "…" if width > 0 else ""
    keep = width - 1
    return text[: keep - keep // 3] + "…" + text[len(text) - keep // 3 :]


def _elapsed(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


@dataclass
class StageLine:
    """The live line of one stage (a rich renderable; it never wraps and fits any width).

    Attributes:
        name: the stage (``cargo build``).
        detail: the latest detail (``compiling pyo3 (12 crates done)``), or empty.
        started: ``time.monotonic()`` when the stage began.
        received: bytes downloaded so far, when the stage is a download.
        total: the download's size in bytes, or None when unknown (or not a download).
    """

    name: str
    detail: str = ""
    started: float = field(default_factory=time.monotonic)
    received: int | None = None
    total: int | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        # Fixed parts keep their width; only the detail shrinks (cut at its end with an ellipsis).
        tail = Text()
        if self.received is not None:
            filled = round(10 * self.received / self.total) if self.total else 0
            tail.append("━" * filled, style="magenta").append("━" * (10 - filled), style="grey37")
            tail.append(f" {_sizes(self.received, self.total)} ")
        tail.append(_elapsed(time.monotonic() - self.started), style="dim")
        spinner = _SPINNER[int(time.monotonic() * 10) % len(_SPINNER)]
        head = Text.assemble((spinner, "cyan"), " ", (self.name, "bold"), " ")
        room = options.max_width - len(head) - len(tail) - 1
        detail = _shorten(self.detail, room)
        line = Text.assemble(head, detail.ljust(max(room, 0)), " ", tail, no_wrap=True, overflow="crop")
        line.truncate(options.max_width)
        yield line


@dataclass
class _State:
    mode: Mode = "quiet"
    console: Console | None = None
    stream: IO[str] | None = None
    line: StageLine | None = None
    live: Any = None
    last_plain: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock)


_state = _State()


def configure(*, quiet: bool = False, stream: IO[str] | None = None, force_mode: Mode | None = None) -> Mode:
    """Choose the mode for this process (the CLI calls it once, before any work).

    Args:
        quiet: ``-q``: stages and notes print nothing.
        stream: where to print (default: ``sys.stderr``).
        force_mode: use this mode whatever ``stream`` is (tests).

    Returns:
        The mode chosen: ``quiet``, else ``live`` when ``stream`` is a terminal, else ``plain``.
    """
    stream = stream or sys.stderr
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    chosen: Mode = force_mode or ("quiet" if quiet else "live" if is_tty else "plain")
    _state.mode = chosen
    _state.stream = stream
    _state.console = None  # rich is imported only when a live line is drawn (commands start faster)
    return chosen


def _live_console() -> Console:
    if _state.console is None:
        from rich.console import Console

        _state.console = Console(file=_state.stream or sys.stderr, highlight=False, force_terminal=True)
    return _state.console


def mode() -> Mode:
    """The current mode (``quiet`` until ``configure`` is called)."""
    return _state.mode


def _print(text: str) -> None:
    with _state.lock:
        if _state.console is None:  # plain and quiet modes, and live mode before any live line
            print(text, file=_state.stream or sys.stderr, flush=True)
        else:  # through rich, so the text appears above a live line
            _state.console.print(text, markup=False, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def stage(name: str, detail: str = "") -> Iterator[StageLine]:
    """Show ``name`` as the running stage until the block ends.

    A stage started while another runs becomes the running one's detail (one line at a time).

    Args:
        name: what is being done, a few words (``cargo build``).
        detail: the first detail (``myapp``).

    Yields:
        The stage's line (``update()`` changes it).
    """
    if _state.line is not None:  # nested: show it as the outer stage's detail
        outer = _state.line
        previous = outer.detail
        update(f"{name}: {detail}" if detail else name)
        try:
            yield outer
        finally:
            update(previous)
        return
    line = StageLine(name=name, detail=detail)
    if _state.mode == "quiet":
        _state.line = line
        try:
            yield line
        finally:
            _state.line = None
        return
    ok = False
    with _state.lock:
        _state.line = line
        if _state.mode == "live":
            from rich.live import Live

            _state.live = Live(line, console=_live_console(), refresh_per_second=8, transient=True)
            _state.live.start()
        else:
            _print(f"{name}: {detail}..." if detail else f"{name}...")
            _state.last_plain = time.monotonic()
    try:
        yield line
        ok = True
    finally:
        with _state.lock:
            if _state.live is not None:
                _state.live.stop()
                _state.live = None
            _state.line = None
        took = _elapsed(time.monotonic() - line.started)
        if ok:
            _print(f"{name}: {line.detail} ({took})" if line.detail else f"{name}: done ({took})")


def update(
    detail: str | None = None,
    *,
    received: int | None = None,
    total: int | None = None,
    force: bool = False,
    download_over: bool = False,
) -> None:
    """Change the running stage's detail (and download counts); no-op without a running stage.

    In ``plain`` mode a line is printed at most every ``PLAIN_INTERVAL`` seconds (``force``: now).

    Args:
        detail: the new detail, or None to keep it.
        received: bytes downloaded so far, or None (not a download).
        total: the download's size, or None when unknown.
        force: in plain mode, print this update even if one was printed recently.
        download_over: the download is finished: drop its bar and size from the line.
    """
    line = _state.line
    if line is None:
        return
    with _state.lock:
        if detail is not None:
            line.detail = detail
        if received is not None:
            line.received, line.total = received, total
        if download_over:
            line.received = line.total = None
        if _state.mode != "plain":
            return
        now = time.monotonic()
        if not force and now - _state.last_plain < PLAIN_INTERVAL:
            return
        _state.last_plain = now
    text = line.detail
    if line.received is not None:
        size = format_size(line.received) + (f" of {format_size(line.total)}" if line.total else "")
        text = f"{text} {size}".strip()
    _print(f"{line.name}: {text} ({_elapsed(now - line.started)})")


def say(message: str) -> None:
    """Print ``message`` as a progress line of its own (not in quiet mode)."""
    if _state.mode != "quiet":
        _print(message)


def note(message: str) -> None:
    """Print ``note: message`` (not in quiet mode)."""
    if _state.mode != "quiet":
        _print(f"note: {message}")


def download_progress() -> ProgressCallback:
    """A ``download_file`` progress callback that shows the download in the running stage's line."""
    from urllib.parse import unquote

    def callback(event: DownloadEvent) -> None:
        # A python-build-standalone file name is long; its version part says enough on one line.
        name = unquote(event.url.rsplit("/", 1)[-1])
        if name.startswith("cpython-") and "+" in name:
            name = name.split("+", 1)[0]
        if event.kind == "retry":
            update(f"retrying {name}: {event.message}")
        elif event.kind == "start":
            update(f"downloading {name}", received=event.received, total=event.total, force=True)
        else:
            update(f"downloading {name}", received=event.received, total=event.total, force=event.kind == "done")

    return callback


class LogHandler(logging.Handler):
    """Print log records through the progress console: a ``warning:`` prefix for warnings (unless the
    text has a ``warning:`` or ``note:`` prefix already, or the record has ``extra={"plain": True}``,
    as the output of the config's ``print()`` does)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if (
                record.levelno == logging.WARNING
                and not getattr(record, "plain", False)
                and not text.startswith(("warning:", "note:"))
            ):
                text = f"warning: {text}"
            _print(text)
        except Exception:  # logging must never break a build
            self.handleError(record)
