"""``BENCHMARKS``: every benchmark ``tracker eval`` runs, by name, and the one way to run one.

Each benchmark module registers its :class:`~tracker.evaluation.base.Benchmark` instances with
:func:`register_benchmark` (:mod:`tracker.evaluation` imports them all), so the command line's
choices, its help and its refusals are read from here: a new benchmark is one module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .base import Benchmark, EvalProgress, EvalReport, EvalRequest, EvalUsageError

if TYPE_CHECKING:
    from siamcore.datasets import Sequence

    from ..online import OnlineTracker

BENCHMARKS: dict[str, Benchmark] = {}
_ALIASES: dict[str, str] = {}


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Add ``benchmark`` under its name and aliases (lower case); a name taken twice is an error."""
    for key in (benchmark.name, *benchmark.aliases):
        if key != key.lower() or key in BENCHMARKS or key in _ALIASES:
            raise ValueError(f"benchmark name {key!r} is taken or not lower case")
    BENCHMARKS[benchmark.name] = benchmark
    _ALIASES.update({alias: benchmark.name for alias in benchmark.aliases})
    return benchmark


def one_pass_names() -> list[str]:
    return [name for name, b in BENCHMARKS.items() if b.one_pass]


def get_benchmark(name: str, one_pass: bool = False) -> Benchmark:
    """The benchmark called ``name`` (or an alias, any case); ``one_pass``: only those whose results are
    OTB-format files (``score``, ``drift``). EvalUsageError naming the choices otherwise."""
    key = _ALIASES.get(name.lower(), name.lower())
    benchmark = BENCHMARKS.get(key)
    if benchmark is None or (one_pass and not benchmark.one_pass):
        others = [n for n in BENCHMARKS if n not in one_pass_names()]
        raise EvalUsageError(f"--benchmark {name!r} is not supported (one-pass: {', '.join(one_pass_names())}; "
                             f"also {', '.join(others)} for eval)")
    return benchmark


def load_benchmark(name: str, root, names: list[str] | None, one_pass: bool = False) -> list[Sequence]:
    """The sequences of benchmark ``name`` under ``root``; every refusal is an :class:`EvalUsageError`."""
    benchmark = get_benchmark(name, one_pass)
    try:
        return benchmark.load(root, names)
    except EvalUsageError:
        raise
    except ValueError as e:
        raise EvalUsageError(str(e)) from None


def load_ground_truth(name: str, root: Path, names: list[str] | None) -> list[Sequence]:
    """``score`` / ``drift``'s ground truth: a one-pass benchmark's root, or an ``OTB2015.json`` file (all
    100 targets' gt and frame ranges, no images needed)."""
    if Path(root).suffix.lower() != ".json":
        return load_benchmark(name, root, names, one_pass=True)
    from siamcore.datasets.otb import load_otb_json

    try:
        return load_otb_json(root, names)
    except ValueError as e:
        raise EvalUsageError(str(e)) from None


def run_benchmark(name: str, request: EvalRequest, make_tracker: Callable[[], OnlineTracker],
                  progress: EvalProgress) -> EvalReport:
    """``tracker eval``: check the request, load the sequences, then the tracker (``make_tracker``, the
    slow part, only once nothing else can be refused), run the benchmark and return its report."""
    benchmark = get_benchmark(name)
    if request.drift and not benchmark.one_pass:
        raise EvalUsageError(
            f"--drift draws one-pass results; --benchmark {name} has its own protocol (use --benchmark "
            f"{', '.join(one_pass_names()[:-1])} or {one_pass_names()[-1]}, or 'tracker drift' on a result folder)")
    sequences = load_benchmark(name, request.root, request.sequences)
    benchmark.check(request, sequences)
    return benchmark.run(make_tracker(), sequences, request, progress)
