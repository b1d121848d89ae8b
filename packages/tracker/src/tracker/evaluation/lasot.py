"""LaSOT: one-pass on the LaSOT layout, absent frames scored as LaSOT's toolkit (and pytracking) do
(:mod:`tracker.evaluation.lasot_metrics`) unless ``--invalid-gt`` asks for another rule."""

from __future__ import annotations

from .one_pass import OnePassBenchmark
from .registry import register_benchmark

LASOT = register_benchmark(OnePassBenchmark(
    "lasot", "LaSOT, one-pass; absent frames scored as LaSOT's toolkit does", invalid_gt="lasot"))
