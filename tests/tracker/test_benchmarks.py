"""The benchmark registry: every entry keeps the one contract, and the command line offers exactly the
registry's benchmarks (its help, its refusals), so a benchmark is added in one place."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tracker.cli import BENCHMARK_HELP, app
from tracker.evaluation import (
    BENCHMARKS,
    Benchmark,
    EvalReport,
    EvalRequest,
    EvalUsageError,
    get_benchmark,
    load_benchmark,
    run_benchmark,
)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_every_benchmark_keeps_the_contract(name, tmp_path):
    benchmark = BENCHMARKS[name]
    assert isinstance(benchmark, Benchmark) and benchmark.name == name == name.lower()
    assert benchmark.summary and isinstance(benchmark.one_pass, bool)
    assert not getattr(type(benchmark), "__abstractmethods__", None)  # load and run are its own
    for key in (name, name.upper(), *benchmark.aliases, *(a.upper() for a in benchmark.aliases)):
        assert get_benchmark(key) is benchmark
    with pytest.raises(EvalUsageError):  # an unusable root is refused before any work
        load_benchmark(name, tmp_path / "missing", None)


def test_the_command_line_offers_exactly_the_registry():
    for name, benchmark in BENCHMARKS.items():
        assert f"{name} (" in BENCHMARK_HELP and all(alias in BENCHMARK_HELP for alias in benchmark.aliases)
    result = invoke("eval", "--benchmark", "nope", "--root", ".", "--weights", "w.safetensors", "--out", "o")
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    one_pass, others = re.search(r"one-pass: ([^;]+); also (.+) for eval", text).groups()
    assert one_pass.split(", ") == [n for n, b in BENCHMARKS.items() if b.one_pass]
    assert others.split(", ") == [n for n, b in BENCHMARKS.items() if not b.one_pass]
    assert invoke("score", "--results", ".", "--root", ".", "--benchmark", "vot").exit_code == 2  # not one-pass


class StubTracker:
    """Reports the first box on every frame: enough to run a protocol and score it."""

    name = "stub"

    def init(self, frame, box_xywh):
        self.box = np.asarray(box_xywh, dtype=np.float64)

    def track(self, frame):
        return self.box.copy(), 1.0


class CountingProgress:
    def __init__(self):
        self.started, self.frames, self.lines = [], 0, []

    def start(self, description, total_frames):
        self.started.append((description, total_frames))

    def frame(self, fps=None):
        self.frames += 1

    def sequence(self, line, frames=0):
        self.lines.append(line)
        self.frames += frames


@pytest.mark.parametrize("name, layout, sequence", [("got10k", "got10k_layout", "GOT-10k_Val_000001"),
                                                    ("lasot", "lasot_layout", "person-2")])
def test_a_benchmark_runs_through_the_contract(name, layout, sequence, request, tmp_path):
    root, _ = request.getfixturevalue(layout)
    (seq,) = load_benchmark(name, root, [sequence])
    progress = CountingProgress()
    report = run_benchmark(name, EvalRequest(Path(root), tmp_path, [sequence]), StubTracker, progress)
    assert isinstance(report, EvalReport) and report.failed is None and not report.skipped
    assert report.tracker_dir == tmp_path / "stub" and report.scores and report.tables
    assert len(progress.started) == 1 and progress.started[0][0].startswith("stub ")
    assert progress.started[0][1] == len(seq)
    assert progress.frames == len(seq) and len(progress.lines) == 1
