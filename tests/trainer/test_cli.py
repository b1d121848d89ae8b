"""The ``trainer`` command's conventions (README "Command-line conventions"): user text printed
literally, exit 2 for refused commands, ``python -m trainer``, no torch import for ``--help``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from trainer.cli import app

REPO = Path(__file__).resolve().parents[2]


def test_config_errors_show_bracketed_names_literally(tmp_path):
    """Issue 11: ``--set trian.batch_size=8`` printed "unknown config section ;" (rich ate ``[trian]``)."""
    runner = CliRunner()
    r = runner.invoke(app, ["fit", "--config", str(REPO / "pipelines/train/siamrpn.toml"), "--set",
                            "trian.batch_size=8", "--shards", str(tmp_path)])
    assert r.exit_code == 2
    assert "unknown config section [trian]; known sections:" in " ".join(r.output.split())

    run = tmp_path / "run[x]"
    run.mkdir()
    r = runner.invoke(app, ["fit", "--resume", str(run)])
    assert r.exit_code == 2
    assert f"{run} is not a run folder" in " ".join(r.output.split())


def test_python_m_trainer_and_a_light_help():
    """``python -m trainer`` is the ``trainer`` command (``torchrun -m trainer`` too); importing the CLI,
    all ``--help`` needs, does not import torch (seconds): the commands import it."""
    res = subprocess.run([sys.executable, "-m", "trainer", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "python -m trainer" in res.stdout and "fit" in res.stdout and "export" in res.stdout

    heavy = ("torch", "torchvision", "tensorboard", "lmdb", "cv2", "pyarrow")
    code = f"import sys, trainer.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
