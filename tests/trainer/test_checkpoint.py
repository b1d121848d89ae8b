"""Checkpoints and exported weights on disk: readable by colleagues on a shared filesystem."""

import os
import stat

import pytest
from tracker.models import TINY_CONFIGS, create_model
from tracker.weights import load_model

from trainer import checkpoint as ckpt
from trainer.export import export_run
from trainer.loop import CHECKPOINT_FORMAT, EXPORT_FILE


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
