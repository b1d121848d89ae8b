"""Plain progress lines for logs: the format (rate, ETA), the throttling (a fake clock, no sleeping),
and the one progress bar that chooses between them and a rich bar by whether it writes to a terminal."""

import io
import re

import pytest

from siamcore.progress import (
    DEFAULT_SECONDS, LOG_WIDTH, PlainProgress, ProgressBar, console_width, format_duration, interval_seconds,
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


class FakeConsole:
    """What the bar reads of a rich Console in plain mode: where it writes."""

    def __init__(self, file):
        self.file = file


def test_plain_lines_only_where_a_terminal_is_missing(monkeypatch):
    monkeypatch.setenv("SIAMTRACK_PROGRESS_SECONDS", "0")
    assert console_width(FakeTerminal()) is None and console_width(io.StringIO()) == LOG_WIDTH
    assert ProgressBar("x", 3, console=FakeConsole(io.StringIO())).rich is None  # a log: plain lines
    off = ProgressBar("x", 3, enabled=False, console=FakeConsole(io.StringIO()))  # --no-progress / --quiet
    assert off.rich is None and off.plain is None
    off.update(1, info="i")
    off.close()


def test_the_bar_writes_the_same_lines_as_plain_progress_into_a_log(monkeypatch):
    """Count, ``info, rate`` as the plain line's extra (kept until changed), a new total printed only
    with the next update, one last line at close; nothing read as markup. (Rate and times aside: the
    bar's lines use the real clock.)"""
    monkeypatch.setenv("SIAMTRACK_PROGRESS_SECONDS", "0")
    clock, out, expected = FakeClock(), io.StringIO(), io.StringIO()
    plain = PlainProgress("train [x]", 10, "steps", expected, every_s=0, done=2, clock=clock)
    with ProgressBar("train [x]", 10, "steps", console=FakeConsole(out), done=2) as bar:
        bar.update(completed=3)
        plain.update(3)
        bar.update(completed=4, info="epoch 0, loss [1]", rate="9.0 pairs/s")
        plain.update(4, extra="epoch 0, loss [1], 9.0 pairs/s")
        bar.set_total(20)
        plain.total = 20
        bar.advance(2)
        plain.update(advance=2)
        bar.update(1, rate="1.0 pairs/s")
        plain.update(advance=1, extra="epoch 0, loss [1], 1.0 pairs/s")
    plain.finish()

    def untimed(text: str) -> list[str]:
        return [re.sub(r", [\d.,]+ steps/s, elapsed \w+, ETA [\w?]+", "", line) for line in text.splitlines()]

    assert untimed(out.getvalue()) == untimed(expected.getvalue())
    assert untimed(out.getvalue()) == [
        "train [x] 3/10 steps (30%)", "train [x] 4/10 steps (40%); epoch 0, loss [1], 9.0 pairs/s",
        "train [x] 6/20 steps (30%); epoch 0, loss [1], 9.0 pairs/s",
        "train [x] 7/20 steps (35%); epoch 0, loss [1], 1.0 pairs/s",
        "train [x] 7/20 steps (35%); epoch 0, loss [1], 1.0 pairs/s"]


def test_a_terminal_gets_a_rich_bar_with_the_plain_text_in_its_columns():
    from rich.console import Console

    term = FakeTerminal()
    console = Console(file=term, force_terminal=True, width=200)
    with ProgressBar("eval [OTB]", 4, "frames", console=console) as bar:
        assert bar.plain is None and bar.rich is not None
        bar.update(4, info="AUC [0.5]", rate="12.0 fps")
        bar.rich.refresh()
    drawn = term.getvalue()
    assert all(text in drawn for text in ("eval [OTB]", "4/4", "frames", "AUC [0.5]", "12.0 fps", "ETA"))
