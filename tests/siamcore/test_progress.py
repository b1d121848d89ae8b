"""Plain progress lines for logs: the format (rate, ETA), the throttling (a fake clock, no sleeping)
and the terminal test that chooses between them and rich bars."""

import io

import pytest

from siamcore.progress import (
    DEFAULT_SECONDS, LOG_WIDTH, PlainProgress, console_width, format_duration, interval_seconds, plain_progress,
    progress_line,
)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_format_duration():
    assert [format_duration(s) for s in (0, 44.6, 60, 725, 3600 * 3 + 7 * 60 + 20)] == ["0s", "45s", "1m00s",
                                                                                       "12m05s", "3h07m"]
    assert format_duration(float("nan")) == format_duration(float("inf")) == "?"


def test_progress_line_has_count_rate_eta_and_extra():
    line = progress_line("train", 250, 1000, "steps", 5.0, 50.0, "loss 0.512")
    assert line == "train 250/1,000 steps (25%), 5 steps/s, elapsed 50s, ETA 2m30s; loss 0.512"
    assert "ETA ?" in progress_line("verify", 0, 10, "records", 0.0, 0.0)  # no rate yet
    assert progress_line("shards", 10, 10, "shards", 2.0, 5.0).endswith("(100%), 2 shards/s, elapsed 5s, ETA 0s")
    assert progress_line("run", 7, None, "", 3.5, 2.0) == "run 7, 3.5 it/s, elapsed 2s"  # unknown total
    assert "1,234 frames/s" in progress_line("eval", 5000, 9000, "frames", 1234.4, 4.0)


def test_lines_are_throttled_to_the_interval_and_finish_once():
    clock, out = FakeClock(), io.StringIO()
    p = PlainProgress("verify", 100, "records", out, every_s=30, clock=clock)
    for _ in range(10):  # 10 records in 10 s: under the interval, nothing printed
        clock.now += 1
        p.update(advance=1)
    assert out.getvalue() == ""
    clock.now += 20
    p.update(advance=10, extra="3 problems")
    clock.now += 5
    p.update(advance=5)  # 5 s after the last line: silent
    assert out.getvalue().splitlines() == ["verify 20/100 records (20%), 0.667 records/s, elapsed 30s, ETA 2m00s; "
                                           "3 problems"]
    p.finish()
    p.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("verify 25/100 records (25%), 0.714 records/s, elapsed 35s, ETA")


def test_rate_counts_only_work_since_the_start_of_a_resumed_run():
    clock, out = FakeClock(), io.StringIO()
    p = PlainProgress("train", 1000, "steps", out, every_s=0, done=400, clock=clock)
    clock.now += 10
    p.update(420)
    assert out.getvalue().strip() == "train 420/1,000 steps (42%), 2 steps/s, elapsed 10s, ETA 4m50s"


def test_interval_from_the_environment():
    assert interval_seconds({}) == DEFAULT_SECONDS
    assert interval_seconds({"SIAMTRACK_PROGRESS_SECONDS": "0"}) == 0.0
    assert interval_seconds({"SIAMTRACK_PROGRESS_SECONDS": " 2.5 "}) == 2.5
    with pytest.raises(ValueError, match="SIAMTRACK_PROGRESS_SECONDS"):
        interval_seconds({"SIAMTRACK_PROGRESS_SECONDS": "soon"})


def test_plain_lines_only_where_a_terminal_is_missing():
    assert console_width(FakeTerminal()) is None and console_width(io.StringIO()) == LOG_WIDTH
    assert plain_progress(True, "x", 3, stream=FakeTerminal()) is None  # the rich bar's place
    assert plain_progress(False, "x", 3, stream=io.StringIO()) is None  # --no-progress / --quiet
    assert isinstance(plain_progress(True, "x", 3, stream=io.StringIO()), PlainProgress)
