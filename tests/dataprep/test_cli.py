"""The ``dataprep`` command's conventions (README "Command-line conventions"): user text printed
literally, exit 2 for refused commands, ``python -m dataprep``, no heavy imports for ``--help``."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from dataprep.cli import app


def _text(result) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_errors_print_paths_with_brackets_literally(tmp_path):
    """rich reads ``[x]`` as a markup tag and drops it; error messages must show the path as typed."""
    folder = tmp_path / "runs[x]"
    folder.mkdir()
    res = CliRunner().invoke(app, ["info", str(folder)])
    assert res.exit_code == 2
    assert f"{folder}/build.jsonnotfound" in "".join(res.output.split())  # rich may wrap long paths

    res = CliRunner().invoke(app, ["build", "--dataset", "otb", "--root", str(folder / "nope[y]"),
                                   "--out", str(tmp_path / "out"), "--scheduler", "synchronous"])
    assert res.exit_code == 2
    assert str(folder / "nope[y]") in "".join(res.output.split())
    assert not (tmp_path / "out").exists()


def test_repeated_sequences_flags_all_count(shared_data, tmp_path):
    """``--sequences A --sequences B`` means A and B (as in ``tracker``); the unknown first name is
    reported before any work. Were only the last value kept, ball1 alone would be built (exit 0)."""
    out = tmp_path / "vot"
    res = CliRunner().invoke(app, ["build", "--dataset", "vot", "--root", str(shared_data / "vot2017"), "-o", str(out),
                                   "--sequences", "bal0", "--sequences", "ball1", "--no-progress"])
    assert res.exit_code == 2, res.output
    assert "bal0; found: ball1, book, traffic" in _text(res)
    assert not out.exists()


def test_python_m_dataprep_and_a_light_help():
    """``python -m dataprep`` is the ``dataprep`` command; importing the CLI (all ``--help`` needs)
    imports no torch, Dask, LMDB, pycocotools or OpenCV: those load inside the commands."""
    res = subprocess.run([sys.executable, "-m", "dataprep", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "python -m dataprep" in res.stdout and "build" in res.stdout and "verify" in res.stdout

    heavy = ("torch", "dask", "distributed", "lmdb", "pycocotools", "cv2", "matplotlib", "pyarrow")
    code = f"import sys, dataprep.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
