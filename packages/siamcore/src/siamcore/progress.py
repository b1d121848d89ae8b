"""Progress for logs: plain text lines at a steady interval when the output is not a terminal.

Rich progress bars redraw one terminal line; written to a file (CI, ``nohup``, a cluster job) they
show nothing until the end, and rich wraps text at 80 columns there. The long commands (``dataprep
build``/``verify``, ``trainer fit``, ``tracker eval``/``tune``/``run``) therefore keep their rich bars
on a terminal and, elsewhere, print a :class:`PlainProgress` line every ``$SIAMTRACK_PROGRESS_SECONDS``
(default 30) seconds plus a final one; their rich consoles get :func:`console_width` so log lines are
whole. No rich here: siamcore does not depend on it.
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


def plain_progress(enabled: bool, label: str, total: int | None, unit: str = "", stream: TextIO | None = None,
                   done: int = 0) -> PlainProgress | None:
    """A :class:`PlainProgress` in place of a rich bar: when progress is ``enabled`` and ``stream``
    (default stderr) is not a terminal; else None (the rich bar, or nothing, is shown)."""
    stream = stream if stream is not None else sys.stderr
    if not enabled or is_terminal(stream):
        return None
    return PlainProgress(label, total, unit, stream, done=done)
