"""The ``tracker`` command's console: stderr, a progress bar on a terminal and plain lines in a log.

A bar written to a file shows nothing until it ends, so with stderr redirected the progress is printed
as :class:`siamcore.progress.PlainProgress` lines at a steady interval instead. :class:`Bar` is what the
domain functions report to (:class:`tracker.evaluation.base.EvalProgress`): one bar of frames or
parameter sets, and lines printed above it.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from siamcore.progress import PlainProgress, console_width, is_terminal

console = Console(stderr=True, width=console_width(sys.stderr))


class Bar:
    """One progress bar (``with Bar("frames") as bar: bar.start(...)``): rich on a terminal, plain lines
    in a log. ``frame(fps)`` advances it; without ``fps`` it shows the frames per second since start."""

    def __init__(self, unit: str):
        self.unit = unit
        self.rich = None if not is_terminal(console.file) else Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[fps]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console)
        self.plain: PlainProgress | None = None
        self.task, self.done, self.t0 = 0, 0, time.perf_counter()

    def __enter__(self) -> Bar:
        if self.rich is not None:
            self.rich.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.rich is not None:
            self.rich.__exit__(*exc)
        elif self.plain is not None:
            self.plain.finish()

    def start(self, description: str, total_frames: int | None) -> None:
        """The bar's plain-text description (escaped here: names come from folders) and its total."""
        self.done, self.t0 = 0, time.perf_counter()
        if self.rich is not None:
            self.task = self.rich.add_task(escape(description), total=total_frames, fps="")
        else:
            self.plain = PlainProgress(description, total_frames, self.unit, console.file)

    def advance(self, steps: int = 1, extra: str | None = None) -> None:
        if self.rich is not None:
            self.rich.update(self.task, advance=steps, **({} if extra is None else {"fps": extra}))
        elif self.plain is not None:
            self.plain.update(advance=steps, extra=extra)

    def frame(self, fps: float | None = None) -> None:
        self.done += 1
        if fps is None:
            fps = self.done / (time.perf_counter() - self.t0)
        self.advance(1, f"{fps:.1f} fps")

    def sequence(self, line: str, frames: int = 0) -> None:
        console.print(line, markup=False)
        if frames:
            self.advance(frames)


def show(renderables) -> None:
    """Print tables and lines in order (``rich.text.Text`` lines are never read as markup)."""
    for item in renderables:
        console.print(item)
