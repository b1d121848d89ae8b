"""Checkpoints and exported weights on disk: readable by colleagues on a shared filesystem, and what
killed or damaged writes leave behind is cleaned up or skipped."""

import os
import stat

import pytest
import torch
from tracker.models import create_model
from tracker.weights import load_model

from testkit.models import TINY_CONFIGS

from trainer import checkpoint as ckpt
from trainer.export import export_run
from trainer.checkpoint import CHECKPOINT_FORMAT, EXPORT_FILE


@pytest.fixture
def group_umask():
    """A umask other than the usual 022, so the expected mode cannot match by accident."""
    before = os.umask(0o027)
    yield 0o027
    os.umask(before)


def test_checkpoint_and_export_get_the_umask_mode(tmp_path, group_umask):
    # safetensors writes its file 0600; every written file must get what open() gives instead.
    model = create_model("siamrpn", **TINY_CONFIGS["siamrpn"])
    state = {"format": CHECKPOINT_FORMAT, "config": {"model": {"name": "siamrpn", "args": TINY_CONFIGS["siamrpn"]}},
             "model": model.state_dict()}
    checkpoint = ckpt.save_checkpoint(state, tmp_path / "run", step=1, keep=2)
    exported = export_run(tmp_path / "run", out=tmp_path / "shared" / "model.safetensors")
    assert exported == [tmp_path / "run" / EXPORT_FILE, tmp_path / "shared" / "model.safetensors"]
    expected = 0o666 & ~group_umask
    for path in (checkpoint, *exported, *(p.with_suffix(".json") for p in exported)):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert load_model(exported[1]).config() == model.config()


def _truncate(path, to_bytes: int | None = None) -> None:
    """What a full disk or a copy cut short leaves: the first part of a real checkpoint."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 if to_bytes is None else to_bytes])


def test_killed_writes_are_cleaned_and_unreadable_checkpoints_are_skipped(tiny_build, tmp_path):
    """A run killed while writing a checkpoint leaves the atomic writer's hidden temp file; a truncated
    ``step_*.pt`` (full disk, copy cut short) does not load. Resuming removes the first and falls back
    past the second, saying which file it skipped and why; export does the same; with no checkpoint
    that loads, both refuse (exit 2) instead of a traceback."""
    from siamcore.atomic import temp_path
    from typer.testing import CliRunner

    from trainer.cli import app
    from trainer.loop import fit

    from .test_fit import _cfg

    run = tmp_path / "run"
    fit(_cfg("siamrpn", [tiny_build], "train.max_steps=2", "train.checkpoint_every=1", "data.val_fraction=0.0"),
        run, progress=False)
    first, second = ckpt.list_checkpoints(run)
    stale = temp_path(ckpt.checkpoint_path(run, 3))
    stale.write_bytes(first.read_bytes()[:4096])
    other = run / ckpt.CHECKPOINT_DIR / "notes.tmp-1"  # not the writer's pattern: left alone
    other.write_text("mine")
    _truncate(second)

    runner = CliRunner()
    r = runner.invoke(app, ["fit", "--resume", str(run), "--max-steps", "3", "--quiet"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert f"skipped {second}" in text and "does not load" in text, r.output
    assert not stale.exists() and other.read_text() == "mine" and first.is_file()
    assert [p.name for p in ckpt.list_checkpoints(run)] == [
        "step_000000001.pt", "step_000000002.pt", "step_000000003.pt"]
    assert ckpt.load_checkpoint(second)["step"] == 2  # written again by the resumed run

    newest = ckpt.list_checkpoints(run)[-1]
    _truncate(newest)
    r = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "m.safetensors")])
    assert r.exit_code == 0, r.output
    assert f"skipped {newest}" in " ".join(r.output.split()), r.output
    exported = load_model(tmp_path / "m.safetensors").state_dict()
    expected = ckpt.load_checkpoint(second)["model"]
    assert all(torch.equal(v, expected[k]) for k, v in exported.items() if k in expected)

    for path in ckpt.list_checkpoints(run):
        _truncate(path, 100)
    for args in (["export", str(run)], ["fit", "--resume", str(run), "--max-steps", "4", "--quiet"]):
        r = runner.invoke(app, args)
        text = " ".join(r.output.split())
        assert r.exit_code == 2 and "no checkpoint" in text and "loads" in text, r.output
        assert "Traceback" not in r.output


def test_a_torch_file_that_is_no_trainer_checkpoint_is_refused_by_export_and_resume(tmp_path):
    """One format check (:func:`trainer.checkpoint.check_format`) behind both: export says CheckpointError
    (a ValueError, exit 2 in the CLI), resume says ResumeError."""
    from trainer.config import load_config
    from trainer.run_state import ResumeError, load_saved

    run = tmp_path / "run"
    ckpt.atomic_torch_save({"format": "another-format", "step": 1}, ckpt.checkpoint_path(run, 1))
    with pytest.raises(ckpt.CheckpointError, match="is not a siamtrack trainer checkpoint"):
        export_run(run)
    with pytest.raises(ResumeError, match="is not a siamtrack trainer checkpoint"):
        load_saved(run, load_config(None), warn=print)
