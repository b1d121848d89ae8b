"""`dataprep build` and `dataprep verify` with their output in a log file (CI, nohup, a cluster job):
plain progress lines with a rate and an ETA instead of a rich bar, and lines that are not wrapped."""

import os
import re
import subprocess
import sys

from testkit.trackingnet import write_trackingnet


PROGRESS = re.compile(r"^(shards|verify) (\d+)/(\d+) (shards|records) \(\d+%\), [\d.,]+ \4/s, elapsed \d+s, ETA \w+")


def _run_logged(args, log):
    """Run ``dataprep ARGS`` with stdout and stderr into the file ``log``; returns its lines."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["SIAMTRACK_PROGRESS_SECONDS"] = "0"
    with open(log, "w") as f:
        proc = subprocess.run([sys.executable, "-m", "dataprep.cli", *args], stdin=subprocess.DEVNULL, stdout=f,
                              stderr=subprocess.STDOUT, env=env, timeout=180)
    text = log.read_text()
    assert proc.returncode == 0, text
    return text.splitlines()


def test_build_and_verify_print_plain_progress_and_whole_lines_into_a_log(tmp_path):
    root = tmp_path / "tn"
    write_trackingnet(root, chunks=(0,), sequences_per_chunk=3, frames=8, size=(96, 72), seed=1)
    (tmp_path / "c.toml").write_text('dataset = "trackingnet"\n[output]\nvideos_per_shard = 1\n')
    out = tmp_path / ("a-folder-name-long-enough-that-rich-would-have-wrapped-it-at-eighty-columns-" + "x" * 40)
    lines = _run_logged(["build", "--config", str(tmp_path / "c.toml"), "--root", str(root), "--out", str(out),
                         "--scheduler", "synchronous"], tmp_path / "build.log")
    shards = [m for m in map(PROGRESS.match, lines) if m and m[1] == "shards"]
    assert sorted({int(m[2]) for m in shards}) == [1, 2, 3] and all(m[3] == "3" for m in shards)
    assert all("pairs/s" in m.string for m in shards)
    assert f"  out  {out}" in lines  # longer than 80 columns, on one line
    assert not any("━" in line for line in lines)  # no rich bar drawn into the file

    lines = _run_logged(["verify", str(out)], tmp_path / "verify.log")
    records = [m for m in map(PROGRESS.match, lines) if m and m[1] == "verify"]
    assert records and records[-1][2] == records[-1][3] != "0"
    assert lines[-1] == "OK"
