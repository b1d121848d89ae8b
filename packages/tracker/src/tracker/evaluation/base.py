"""The one contract every benchmark implements (pysot ``toolkit/evaluation``, pytracking ``evaluation/``).

A :class:`Benchmark` does two things: :meth:`~Benchmark.load` its sequences from a root (an error
before any work when the root or a name is wrong), then :meth:`~Benchmark.run` a tracker over them,
reporting progress through an :class:`EvalProgress`, writing its results in its toolkit's layout and
returning an :class:`EvalReport`: the scores it wrote, what to show (tables and lines, in order), the
sequences it skipped and, when the evaluation as a whole failed, why. The command line only prints the
report and maps it to an exit code; it knows no benchmark by name (:mod:`tracker.evaluation.registry`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError

if TYPE_CHECKING:  # kept out of the import: the command line reads the registry for its help
    from siamcore.datasets import Sequence

    from ..online import OnlineTracker


class EvalUsageError(UsageError):
    """The evaluation cannot start as asked (unknown benchmark or sequence, unusable root, option that
    does not apply): refused before any tracking."""


@dataclass(frozen=True)
class EvalRequest:
    """What ``tracker eval`` asks of a benchmark, besides the tracker."""

    root: Path
    out: Path  # <out>/<tracker>/... in the benchmark's own layout
    sequences: list[str] | None = None  # only these (reader names), all when None
    tracker_name: str | None = None  # the results folder's name (default: the model's)
    resume: bool = False  # one-pass: keep complete result files already written
    invalid_gt: str = "otb"  # one-pass scoring of invalid ground truth ("otb", the toolkit's: the benchmark's own)
    per_sequence: bool = True  # one-pass: also show the per-sequence scores
    drift: list[str] | None = None  # one-pass: also draw the size drift of these sequences ('all')


class EvalProgress(Protocol):
    """How a run reports progress: one bar of frames, one line per finished sequence."""

    def start(self, description: str, total_frames: int | None) -> None:
        """The bar's (plain-text) description and its total (None: unknown)."""

    def frame(self, fps: float | None = None) -> None:
        """One frame tracked (``fps``: the caller's own speed measure; None: frames per second since start)."""

    def sequence(self, line: str, frames: int = 0) -> None:
        """A finished sequence's line; ``frames``: advance the bar by this many without tracking them
        (results kept from an earlier run)."""


@dataclass
class EvalReport:
    """The outcome of :meth:`Benchmark.run`.

    ``tables`` are shown in order after the skipped sequences: rich tables and ``rich.text.Text`` lines
    (where the results and scores went, warnings), all built by :mod:`tracker.evaluation.tables`.
    ``failed`` says why the evaluation failed as a whole (no sequence tracked, some not tracked, a
    submission that could not be written): the command then exits 1 after showing the rest.
    """

    tracker_dir: Path
    scores: dict[str, Any] = field(default_factory=dict)
    tables: list[Any] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # sequence -> reason
    failed: str | None = None


NO_SEQUENCE_TRACKED = "no sequence could be tracked; see the skipped reasons above"


class Benchmark(ABC):
    """A benchmark: its name (and aliases, any case), its ``--benchmark`` help, whether its results are
    one-pass OTB-format ``<seq>.txt`` files (then ``tracker score`` / ``tracker drift`` and ``eval
    --drift`` read them), and how to load and run it."""

    name: str
    aliases: tuple[str, ...] = ()
    summary: str = ""  # what ``--benchmark NAME`` does, for the help
    one_pass: bool = False

    @abstractmethod
    def load(self, root: Path, names: list[str] | None) -> list[Sequence]:
        """The sequences under ``root`` (``names``: only these). :class:`EvalUsageError` (or ValueError)
        when ``root`` is unusable or a name unknown."""

    @abstractmethod
    def run(self, tracker: OnlineTracker, sequences: list[Sequence], request: EvalRequest,
            progress: EvalProgress) -> EvalReport:
        """Track ``sequences``, write the results under ``request.out``, score what can be scored."""

    def check(self, request: EvalRequest, sequences: list[Sequence]) -> None:
        """Refuse, before the tracker is loaded, options this benchmark cannot honour (EvalUsageError)."""
