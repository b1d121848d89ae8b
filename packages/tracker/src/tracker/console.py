"""The ``tracker`` command's console (stderr) and its progress: a bar on a terminal, plain lines in a log.

:class:`Bar` is what the domain functions report to (:class:`tracker.evaluation.base.EvalProgress`): one
:class:`siamcore.progress.ProgressBar` of frames or parameter sets, and lines printed above it.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console

from siamcore.progress import ProgressBar, console_width

console = Console(stderr=True, width=console_width(sys.stderr))


class Bar:
    """One progress bar (``with Bar("frames") as bar: bar.start(...)``). ``frame(fps)`` advances it;
    without ``fps`` it shows the frames per second since start."""

    def __init__(self, unit: str):
        self.unit = unit
        self.bar: ProgressBar | None = None
        self.done, self.t0 = 0, time.perf_counter()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def start(self, description: str, total_frames: int | None) -> None:
        """The bar's plain-text description (never read as markup: names come from folders) and its total."""
        if self.bar is not None:  # one live bar at a time
            self.bar.close()
        self.done, self.t0 = 0, time.perf_counter()
        self.bar = ProgressBar(description, total_frames, self.unit, console=console)

    def advance(self, steps: int = 1, info: str | None = None, rate: str | None = None) -> None:
        if self.bar is not None:
            self.bar.update(steps, info=info, rate=rate)

    def frame(self, fps: float | None = None) -> None:
        self.done += 1
        if fps is None:
            fps = self.done / (time.perf_counter() - self.t0)
        self.advance(1, rate=f"{fps:.1f} fps")

    def sequence(self, line: str, frames: int = 0) -> None:
        console.print(line, markup=False)
        if frames:
            self.advance(frames)


def show(renderables) -> None:
    """Print tables and lines in order (``rich.text.Text`` lines are never read as markup)."""
    for item in renderables:
        console.print(item)
