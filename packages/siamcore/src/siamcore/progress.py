"""Progress on a terminal or in a log: one :class:`ProgressBar` for every long command.

Rich progress bars redraw one terminal line; written to a file (CI, ``nohup``, a cluster job) they
show nothing until the end, and rich wraps text at 80 columns there. The long commands (``dataprep
build``/``verify``, ``trainer fit`` and its feature cache, ``tracker eval``/``tune``/``run``) therefore
all report to a :class:`ProgressBar`: a rich bar on a terminal and, elsewhere, a :class:`PlainProgress`
line every ``$SIAMTRACK_PROGRESS_SECONDS`` (default 30) seconds plus a final one; their rich consoles get
:func:`console_width` so log lines are whole. rich is imported only to draw a terminal bar: it comes
with every command line (typer), and is the ``cli`` extra of siamcore, which does not need it otherwise.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, TextIO

ENV_SECONDS = "SIAMTRACK_PROGRESS_SECONDS"
DEFAULT_SECONDS = 30.0
LOG_WIDTH = 1000
"""Console width when the output is not a terminal: wide enough that log lines never wrap."""


def is_terminal(stream) -> bool:
    """True when ``stream`` is an interactive terminal (a closed or fake stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console_width(stream) -> int | None:
    """The ``width`` for a rich Console writing to ``stream``: None on a terminal (rich measures it),
    else :data:`LOG_WIDTH`. Without it rich uses 80 columns, or the width of the terminal that
    started a redirected command, and wraps log lines."""
    return None if is_terminal(stream) else LOG_WIDTH


def interval_seconds(environ=os.environ) -> float:
    """Seconds between plain progress lines: ``$SIAMTRACK_PROGRESS_SECONDS`` (0: every update)."""
    raw = environ.get(ENV_SECONDS, "").strip()
    if not raw:
        return DEFAULT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"${ENV_SECONDS} must be a number of seconds, got {raw!r}") from None
    return max(seconds, 0.0)


def format_duration(seconds: float) -> str:
    """``"45s"``, ``"12m05s"``, ``"3h07m"``; ``"?"`` when unknown (no rate yet)."""
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def progress_line(label: str, done: int, total: int | None, unit: str, rate: float, elapsed_s: float,
                  extra: str = "") -> str:
    """One plain line: ``label done/total unit (pct), rate unit/s, elapsed, ETA; extra``.

    ``rate`` is units per second (0 when nothing was done yet, so the ETA is ``?``)."""
    unit_s = f" {unit}" if unit else ""
    if total:
        head = f"{label} {done:,}/{total:,}{unit_s} ({100 * done / total:.0f}%)"
    else:
        head = f"{label} {done:,}{unit_s}"
    rate_text = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
    parts = [head, f"{rate_text} {unit or 'it'}/s", f"elapsed {format_duration(elapsed_s)}"]
    if total:
        parts.append(f"ETA {format_duration((total - done) / rate if rate > 0 else float('nan'))}")
    return ", ".join(parts) + (f"; {extra}" if extra else "")


class PlainProgress:
    """Counts work and prints :func:`progress_line` to ``stream`` at most every ``every_s`` seconds
    (default :func:`interval_seconds`), and once more at :meth:`finish`. ``done`` is where the count
    starts (a resumed run); the rate counts only the work done since. ``clock`` is injectable so the
    throttling is tested without sleeping."""

    def __init__(self, label: str, total: int | None, unit: str = "", stream: TextIO | None = None,
                 every_s: float | None = None, done: int = 0, clock: Callable[[], float] = time.monotonic):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream
        self.every_s = interval_seconds() if every_s is None else every_s
        self.clock = clock
        self.done = self._first = done
        self.extra = ""
        self._start = self._last = clock()
        self._finished = False

    def update(self, done: int | None = None, advance: int = 0, extra: str | None = None,
               total: int | None = None) -> None:
        """Set the count (``done``) and/or add ``advance`` to it; ``extra`` (e.g. the loss) is kept
        for the next lines. Prints a line when ``every_s`` has passed since the last one."""
        if done is not None:
            self.done = done
        self.done += advance
        if extra is not None:
            self.extra = extra
        if total is not None:
            self.total = total
        now = self.clock()
        if now - self._last >= self.every_s:
            self._last = now
            self._print(now)

    def finish(self) -> None:
        """The last line (once, whatever the interval): the count reached, the mean rate, the time taken."""
        if not self._finished:
            self._finished = True
            self._print(self.clock())

    def _print(self, now: float) -> None:
        elapsed = now - self._start
        rate = (self.done - self._first) / elapsed if elapsed > 0 else 0.0
        line = progress_line(self.label, self.done, self.total, self.unit, rate, elapsed, self.extra)
        print(line, file=self.stream if self.stream is not None else sys.stderr, flush=True)


class ProgressBar:
    """One progress count shown the way its output suits: a rich bar when ``console`` (a rich Console;
    default: a new one on stderr) writes to a terminal, :class:`PlainProgress` lines when it does not,
    nothing when not ``enabled`` (``--no-progress``, ``--quiet``, a process other than the main one).

    The terminal bar's columns are the same for every command: the description, the bar, ``done/total
    unit``, the ``rate`` text, the time elapsed, the ETA and the ``info`` text; the plain line carries
    ``info, rate`` after its own count, rate and ETA. The description, ``info`` and ``rate`` are plain
    text, never read as rich markup (they hold sequence names and paths). ``done`` is where a resumed
    count starts; ``transient`` bars vanish from the terminal once closed. Use as a context manager or
    call :meth:`close`."""

    def __init__(self, description: str, total: int | None, unit: str = "", *, enabled: bool = True,
                 console=None, done: int = 0, transient: bool = False):
        self.info = self.rate = ""
        self.plain: PlainProgress | None = None
        self.rich = None
        if not enabled:
            return
        stream = console.file if console is not None else sys.stderr
        if not is_terminal(stream):
            self.plain = PlainProgress(description, total, unit, stream, done=done)
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        columns = [TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                   *([TextColumn(unit, markup=False)] if unit else []),
                   TextColumn("{task.fields[rate]}", markup=False), TimeElapsedColumn(), TextColumn("ETA"),
                   TimeRemainingColumn(), TextColumn("{task.fields[info]}", markup=False)]
        self.rich = Progress(*columns, console=console or Console(stderr=True), transient=transient)
        self.rich.start()
        self.task = self.rich.add_task(description, total=total, completed=done, rate="", info="")

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, advance: int = 0, *, completed: int | None = None, info: str | None = None,
               rate: str | None = None) -> None:
        """Set the count (``completed``) and/or add ``advance`` to it; ``info`` and ``rate`` (None: keep
        them) are shown until the next ones."""
        if info is not None:
            self.info = info
        if rate is not None:
            self.rate = rate
        if self.rich is not None:
            self.rich.update(self.task, advance=advance, completed=completed, info=self.info, rate=self.rate)
        elif self.plain is not None:
            extra = None if info is None and rate is None else ", ".join(t for t in (self.info, self.rate) if t)
            self.plain.update(done=completed, advance=advance, extra=extra)

    def advance(self, steps: int = 1) -> None:
        self.update(steps)

    def set_total(self, total: int | None) -> None:
        """A new total (a resumed run's steps); shown with the next update, no line printed for it."""
        if self.rich is not None:
            self.rich.update(self.task, total=total)
        elif self.plain is not None:
            self.plain.total = total

    def close(self) -> None:
        """Stop the terminal bar, or print the last plain line (once)."""
        if self.rich is not None:
            self.rich.stop()
        elif self.plain is not None:
            self.plain.finish()
