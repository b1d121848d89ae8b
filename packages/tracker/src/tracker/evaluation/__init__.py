"""Benchmarks: one contract (:mod:`.base`), one registry (:mod:`.registry`: ``BENCHMARKS``), and the
pure metrics and protocols behind them, after pysot's ``toolkit/evaluation`` and pytracking's
``evaluation/``.

- one-pass (OTB-style OPE): :mod:`.one_pass` (OTB, UAV123, TLP, DAVIS), :mod:`.lasot`,
  :mod:`.trackingnet`; the run :mod:`.ope`, the scoring of result folders :mod:`.scoring`, the pure
  :mod:`.metrics` and :mod:`.lasot_metrics`, plots :mod:`.plots` and size drift :mod:`.drift`;
- VOT: :mod:`.vot_benchmark` over :mod:`.vot_protocol` and the pure :mod:`.vot_metrics`;
- GOT-10k: :mod:`.got10k_benchmark` over :mod:`.got10k_protocol` and the pure :mod:`.got10k_metrics`;
- every printed table: :mod:`.tables`.

Importing this package registers every benchmark (in this order: the command line lists them so).
A new benchmark is one module that calls :func:`~.registry.register_benchmark`, imported here.
"""

from . import one_pass, lasot, trackingnet, vot_benchmark, got10k_benchmark  # noqa: F401  (they register)
from .base import Benchmark, EvalProgress, EvalReport, EvalRequest, EvalUsageError
from .registry import BENCHMARKS, get_benchmark, load_benchmark, load_ground_truth, run_benchmark

__all__ = [
    "BENCHMARKS", "Benchmark", "EvalProgress", "EvalReport", "EvalRequest", "EvalUsageError", "get_benchmark",
    "load_benchmark", "load_ground_truth", "run_benchmark",
]
