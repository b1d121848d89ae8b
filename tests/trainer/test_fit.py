"""End-to-end training on tiny real shards: every model, overfitting, exact resume, export, CLI errors."""

import json
import math
import os
from pathlib import Path

import msgpack
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trainer import checkpoint as ckpt
from trainer.cli import app
from trainer.config import load_config
from trainer.export import export_run
from trainer.loop import fit
from trainer.run_state import ResumeError
from trainer.sources import DataError

from testkit.shards import ALL_VIEWS, SIAMRPN_VIEWS, flip_in_record, make_records, write_build

REPO = Path(__file__).resolve().parents[2]

# Reduced-size networks (same views, so the same shards) keep CPU steps to tens of milliseconds.
SMALL = {
    "siamrpn": ["model.args.channels=8"],
    "siamconcatrpn": ["model.args.backbone_width=8", "model.args.backbone_blocks=[1, 1, 1]", "model.args.channels=16",
                      "model.args.refine_channels=8", "model.args.extra_channels=[8, 8, 8]"],
    "siambroadcastrpn": ["model.args.backbone_width=8", "model.args.backbone_blocks=[1, 1, 1]",
                         "model.args.channels=16", "model.args.block_channels=8"],
}
NO_AUGMENT = ["augment.grayscale_p=0.0", "augment.brightness_p=0.0", "augment.contrast_p=0.0",
              "augment.saturation_p=0.0", "augment.blur_p=0.0"]


def _cfg(model: str, shards, *extra: str):
    cfg = load_config(
        REPO / "pipelines" / "train" / f"{model}.toml",
        [*SMALL[model], "train.batch_size=4", "data.workers=0", "train.log_every=1", "train.device=cpu",
         "data.val_fraction=0.2", "data.val_samples=4", *extra],
    )
    cfg.data.shards = [str(s) for s in shards]
    return cfg.check()


@pytest.mark.parametrize("model", ["siamrpn", "siamconcatrpn", "siambroadcastrpn"])
def test_every_model_trains_a_few_steps(model, tiny_build, tmp_path):
    cfg = _cfg(model, [tiny_build], "train.max_steps=3", "train.epochs=5")
    result = fit(cfg, tmp_path / "run", progress=False)
    assert result.step == 3 and len(result.history) == 3
    for h in result.history:
        assert math.isfinite(h["loss"]) and math.isfinite(h["conf_loss"]) and 0 <= h["data_wait_fraction"] <= 1
    assert (tmp_path / "run" / "config.toml").is_file() and load_config(tmp_path / "run" / "config.toml") == cfg
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step_000000003.pt"
    assert (tmp_path / "run" / "export" / "model.safetensors").is_file()
    assert list((tmp_path / "run" / "tb").iterdir())
    if model == "siamrpn":  # 7 training pairs per epoch at batch 4 -> one step per epoch: validated
        assert result.validation and (tmp_path / "run" / "val" / "epoch_0001.png").is_file()


# (steps, lr, extra overrides, total-loss factor, regression-loss factor). The seed's hard negative
# mining always picks the currently hardest negatives, so the confidence loss of the SSD-style
# models first plateaus near 4 x ln 2 before it drops (SiamBroadcastRPN drops ~50x by step 50 at
# this width; SiamConcatRPN later): their regression loss is checked as well. The factors are what
# holds on every CPU kernel set measured (ATEN_CPU_CAPABILITY default / avx2 / avx512, two CPUs), not
# one machine's run: SiamConcatRPN's regression loss fell 2.2x (AVX-512 EPYC), 3.1x (another AVX-512
# machine) and 4.7x (default kernels) over the same 40 steps, so 1.5x is asserted.
OVERFIT = {
    "siambroadcastrpn": (50, 3e-3, ["model.args.backbone_width=16", "model.args.channels=32",
                                    "model.args.block_channels=16"], 5.0, None),
    "siamconcatrpn": (40, 3e-3, ["optim.warmup_steps=0"], 1.3, 1.5),
    # SiamRPN at the seed's lr 1e-3 (its correlations batch-normalised, see tracker.models.siamrpn):
    # 7.3 -> 2.8 in 30 steps (the same plateau), regression loss 0.067 -> 0.021.
    "siamrpn": (30, 1e-3, [], 2.0, 2.0),
}


@pytest.mark.numerics
@pytest.mark.parametrize("model", list(OVERFIT))
def test_overfits_a_small_fixed_set(model, tmp_path):
    """Four fixed pairs (one per sequence, no augmentation, batch 4): the losses fall by the stated factors."""
    steps, lr, extra, total_factor, reg_factor = OVERFIT[model]
    views = {"siamrpn": ["exemplar", "search"], "siamconcatrpn": ["exemplar_wide", "search"],
             "siambroadcastrpn": ["exemplar_tight", "search_wide"]}[model]
    v = {k: ALL_VIEWS[k] for k in views}
    build = write_build(tmp_path / "b", make_records("fixed", 4, 1, v, seed=3, p_negative=0.0), v, shards=1)
    cfg = _cfg(model, [build], *NO_AUGMENT, *extra, "data.val_fraction=0.0", f"train.epochs={steps}",
               "optim.grad_clip=10.0", f"optim.lr={lr}")
    result = fit(cfg, tmp_path / "run", progress=False)
    losses = [h["loss"] for h in result.history]
    assert len(losses) == steps and all(math.isfinite(x) for x in losses)
    first, last = losses[0], min(losses[-3:])
    assert last < first / total_factor, f"{model}: loss {first:.3f} -> {last:.3f} in {steps} steps"
    if reg_factor:
        reg = [h["reg_loss"] for h in result.history]
        assert min(reg[-3:]) < reg[0] / reg_factor, f"{model}: regression loss {reg[0]:.3f} -> {reg[-1]:.3f}"


def test_interrupted_and_resumed_equals_uninterrupted(tiny_build, tmp_path):
    """3 steps, stop, resume to 7 (crossing epoch ends and validation) == 7 steps in one go."""
    extra = ("train.epochs=4", "train.checkpoint_every=2", "train.keep_checkpoints=2")
    straight = fit(_cfg("siambroadcastrpn", [tiny_build], *extra, "train.max_steps=7"), tmp_path / "a", progress=False)
    fit(_cfg("siambroadcastrpn", [tiny_build], *extra, "train.max_steps=3"), tmp_path / "b", progress=False)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "b")] == ["step_000000002.pt", "step_000000003.pt"]
    resumed = fit(_cfg("siambroadcastrpn", [tiny_build], *extra, "train.max_steps=7"), tmp_path / "b",
                  resume=True, progress=False)
    assert straight.step == resumed.step == 7 and straight.epoch == resumed.epoch > 1
    a = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "a"))
    b = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "b"))
    assert a["step"] == b["step"] == 7 and a["epoch"] == b["epoch"] and a["batch_in_epoch"] == b["batch_in_epoch"]
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert straight.history[-1]["loss"] == resumed.history[-1]["loss"]
    assert len(ckpt.list_checkpoints(tmp_path / "b")) == 2  # keep_checkpoints


def test_fewer_sequences_than_a_batch_train_and_resume_exactly(tmp_path):
    """3 sequences and batch 4 (the seed's epoch is one pair per sequence): every epoch cycles them
    into one whole batch, so 4 epochs are 4 steps, and a run stopped at step 2 and resumed ends with
    the weights of the run that went straight through."""
    build = write_build(tmp_path / "b", make_records("few", 3, 2, SIAMRPN_VIEWS, seed=4), SIAMRPN_VIEWS, shards=1)
    extra = ("data.val_fraction=0.0", "train.epochs=4", "train.checkpoint_every=2")
    straight = fit(_cfg("siamrpn", [build], *extra), tmp_path / "a", progress=False)
    assert straight.step == 4 and straight.epoch == 4 and len(straight.history) == 4
    fit(_cfg("siamrpn", [build], *extra, "train.max_steps=2"), tmp_path / "r", progress=False)
    resumed = fit(_cfg("siamrpn", [build], *extra), tmp_path / "r", resume=True, progress=False)
    assert resumed.step == 4 and resumed.history[-1]["loss"] == straight.history[-1]["loss"]
    a = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "a"))["model"]
    b = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "r"))["model"]
    assert all(torch.equal(tensor, b[name]) for name, tensor in a.items())


def test_resume_refuses_another_model(tiny_build, tmp_path):
    fit(_cfg("siambroadcastrpn", [tiny_build], "train.max_steps=1"), tmp_path / "run", progress=False)
    with pytest.raises(ResumeError, match="trained as model 'siambroadcastrpn'"):
        fit(_cfg("siamconcatrpn", [tiny_build], "train.max_steps=2"), tmp_path / "run", resume=True, progress=False)
    r = CliRunner().invoke(app, ["fit", "--resume", str(tmp_path / "run"), "--config",
                                 str(REPO / "pipelines/train/siamrpn.toml")])
    assert r.exit_code == 2 and "is a 'siambroadcastrpn' run" in r.output


def test_a_second_fit_into_a_run_folder_in_use_stops_at_once(tiny_build, tmp_path):
    from siamcore.locks import folder_lock

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("# the first run's\n")
    with folder_lock(run):  # a first `trainer fit --run-dir run` still working
        r = CliRunner().invoke(app, ["fit", "--config", str(REPO / "pipelines/train/siamrpn.toml"), "--shards",
                                     str(tiny_build), "--run-dir", str(run), "--max-steps", "1", "--quiet"])
        assert r.exit_code == 2, r.output
        assert "is in use by another trainer fit (pid" in " ".join(r.output.split())
        assert (run / "config.toml").read_text() == "# the first run's\n"  # nothing of the first run touched
        assert sorted(p.name for p in run.iterdir()) == [".lock", "config.toml"]
    fit(_cfg("siamrpn", [tiny_build], "train.max_steps=1"), run, progress=False)  # released: it runs
    assert ckpt.latest_checkpoint(run) is not None


def test_export_writes_weights_the_tracker_loads(tiny_build, tmp_path):
    from tracker.weights import load_model

    fit(_cfg("siambroadcastrpn", [tiny_build], "train.max_steps=2"), tmp_path / "run", progress=False)
    r = CliRunner().invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "m.safetensors")])
    assert r.exit_code == 0, r.output
    model = load_model(tmp_path / "m.safetensors")
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "run"))["model"]
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items() if k in state)
    assert load_model(tmp_path / "run" / "export" / "model.safetensors").name == "siambroadcastrpn"
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        export_run(tmp_path)


def test_export_records_the_runs_tracking_parameters(tiny_build, tmp_path):
    """The weights of a run evaluated with `track_eval.params` track with those parameters by default."""
    from tracker.online import load_tracker

    params = tmp_path / "track.toml"
    params.write_text("scale_count = 3\nlr = 0.0\n")
    fit(_cfg("siamrpn", [tiny_build], "train.max_steps=1", f"track_eval.params={params}"), tmp_path / "run",
        progress=False)
    tracker = load_tracker(tmp_path / "run")
    assert (tracker.params.scale_count, tracker.params.lr) == (3, 0.0)
    params.unlink()  # gone by export time: a warning, and weights that keep the model's defaults
    warnings = []
    export_run(tmp_path / "run", warn=warnings.append)
    assert load_tracker(tmp_path / "run").params.scale_count == 1
    assert any("track_eval.params" in w and "defaults" in w for w in warnings), warnings


def test_cli_fit_and_errors(tiny_build, tmp_path):
    runner = CliRunner()
    args = ["fit", "--config", str(REPO / "pipelines/train/siambroadcastrpn.toml"), "--shards", str(tiny_build),
            "--device", "cpu", "--max-steps", "2", "--run-dir", str(tmp_path / "run"), "--quiet",
            *[a for s in [*SMALL["siambroadcastrpn"], "data.workers=1", "train.batch_size=4"] for a in ("--set", s)]]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step_000000002.pt"
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "already holds checkpoints" in r.output
    r = runner.invoke(app, ["fit", "--resume", str(tmp_path / "run"), "--max-steps", "3", "--quiet"])
    assert r.exit_code == 0, r.output
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step_000000003.pt"
    r = runner.invoke(app, [*args[:-2], "--set", "train.bach_size=4"])
    assert r.exit_code == 2 and "unknown config key train.bach_size" in r.output
    r = runner.invoke(app, ["fit", "--config", str(REPO / "pipelines/train/siamrpn.toml"), "--shards",
                            str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "r2")])
    assert r.exit_code == 2 and "build.json" in r.output
    r = runner.invoke(app, ["fit", "--help"])
    assert r.exit_code == 0 and "--resume" in r.output and "--backbone-weights" in r.output


def test_corrupt_record_is_skipped_during_training(tmp_path):
    records = make_records("c", 8, 1, SIAMRPN_VIEWS, p_negative=0.0)
    build = write_build(tmp_path / "b", records, SIAMRPN_VIEWS, shards=1, corrupt_keys={records[2]["key"]})
    cfg = _cfg("siamrpn", [build], "data.val_fraction=0.0", "train.max_steps=2", "data.max_bad_fraction=0.2")
    result = fit(cfg, tmp_path / "run", progress=False)
    assert result.step == 2
    lines = (tmp_path / "run" / "skipped-rank0.jsonl").read_text().splitlines()
    assert len(lines) == 1 and records[2]["key"] in json.loads(lines[0])["record"]


def test_corrupt_bit_in_a_stored_box_is_skipped_logged_and_counted(tmp_path):
    """The issue's case: one bit of a box flipped on disk gave a 1e21 box and no positive anchor,
    trained on silently. The record's checksum fails: it is skipped, logged with shard and key, and
    counted in TensorBoard (data/bad_records)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    records = make_records("c", 8, 1, SIAMRPN_VIEWS, p_negative=0.0)
    build = write_build(tmp_path / "b", records, SIAMRPN_VIEWS, shards=1, dataset="c")
    key = records[2]["key"]
    box = msgpack.packb(records[2]["crops"]["search"]["box_xyxy"])
    flip_in_record(build / "shards" / "c-00000.lmdb", key, box, 2, 0x04)  # exponent + 64
    cfg = _cfg("siamrpn", [build], "data.val_fraction=0.0", "train.max_steps=2", "data.max_bad_fraction=0.2")
    assert fit(cfg, tmp_path / "run", progress=False).step == 2
    lines = [json.loads(line)["record"] for line in (tmp_path / "run" / "skipped-rank0.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0].startswith(f"c-00000.lmdb:{key}: ") and "checksum" in lines[0]
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert [e.value for e in events.Scalars("data/bad_records")] == [1.0, 1.0]


def test_corrupt_records_past_max_bad_fraction_stop_the_run(tmp_path):
    records = make_records("c", 8, 1, SIAMRPN_VIEWS, p_negative=0.0)
    build = write_build(tmp_path / "b", records, SIAMRPN_VIEWS, shards=1, corrupt_keys={records[5]["key"]})
    cfg = _cfg("siamrpn", [build], "data.val_fraction=0.0", "train.max_steps=2")  # default 0.01: 1 of 8 is too many
    with pytest.raises(DataError, match=r"1 of 8 training records are damaged .*data\.max_bad_fraction") as info:
        fit(cfg, tmp_path / "run", progress=False)
    assert records[5]["key"] in str(info.value) and "dataprep verify" in str(info.value)


def test_corrupt_truncated_shard_is_refused_by_fit_with_its_name(tmp_path):
    """A truncated shard used to kill `trainer fit` with SIGBUS (exit 135, no message)."""
    import os
    import signal
    import subprocess
    import sys

    build = write_build(tmp_path / "b", make_records("t", 8, 1, SIAMRPN_VIEWS), SIAMRPN_VIEWS, shards=2, dataset="t")
    shard = build / "shards" / "t-00001.lmdb"
    os.truncate(shard, shard.stat().st_size // 2)
    cmd = [str(Path(sys.executable).parent / "trainer"), "fit", "--config", str(REPO / "pipelines/train/siamrpn.toml"),
           "--shards", str(build), "--device", "cpu", "--max-steps", "2", "--run-dir", str(tmp_path / "run"), "--quiet",
           *[a for s in [*SMALL["siamrpn"], "data.workers=0", "train.batch_size=4", "data.val_fraction=0.0"]
             for a in ("--set", s)]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env={**os.environ, "COLUMNS": "400"})
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode not in (-signal.SIGBUS, 128 + signal.SIGBUS), text
    assert proc.returncode == 2 and "shard t-00001 is damaged" in text and "truncated" in text, text
    assert "Traceback" not in text


def test_version_1_shards_still_train(tmp_path, caplog):
    """Builds written before records carried checksums are read (with a warning that they have none)."""
    records = make_records("v", 8, 1, SIAMRPN_VIEWS, p_negative=0.0)
    build = write_build(tmp_path / "b", records, SIAMRPN_VIEWS, shards=1, schema_version=1)
    cfg = _cfg("siamrpn", [build], "data.val_fraction=0.0", "train.max_steps=2")
    with caplog.at_level("WARNING"):
        assert fit(cfg, tmp_path / "run", progress=False).step == 2
    assert not (tmp_path / "run" / "skipped-rank0.jsonl").exists()
    assert "no checksum" in caplog.text


def test_ddp_two_processes_on_cpu_with_gloo(tiny_build, tmp_path):
    """torchrun with 2 CPU processes (gloo): both ranks step together and end with the same weights."""
    import os
    import subprocess
    import sys

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "trainer.cli", "fit", "--config", str(REPO / "pipelines/train/siambroadcastrpn.toml"),
           "--shards", str(tiny_build), "--device", "cpu", "--max-steps", "3", "--run-dir", str(run), "--quiet",
           *[a for s in [*SMALL["siambroadcastrpn"], "data.workers=0", "train.batch_size=2", "train.epochs=3",
                         "data.val_fraction=0.2"] for a in ("--set", s)]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world"] == 2 and summary["step"] == 3 and summary["ranks_in_sync"]
    assert summary["last_loss"] is not None and math.isfinite(summary["last_loss"])
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(run))
    assert state["world"] == 2 and state["step"] == 3
    assert (run / "export" / "model.safetensors").is_file()


@pytest.mark.parametrize("model", ["siamrpn", "siamconcatrpn"])
def test_trains_on_a_real_dataprep_build(model, dataprep_build, tmp_path):
    cfg = _cfg(model, [dataprep_build], "train.max_steps=2", "train.batch_size=2", "data.val_fraction=0.0")
    result = fit(cfg, tmp_path / "run", progress=False)
    assert result.step == 2 and all(math.isfinite(h["loss"]) for h in result.history)
    assert not (tmp_path / "run" / "skipped-rank0.jsonl").exists()


def test_backbone_weights_and_freezing(shared_data, tiny_build, tmp_path):
    """The SiamFC AlexNet file initialises SiamRPN's trunk where shapes fit; frozen layers do not move."""
    from safetensors.torch import load_file

    weights = shared_data / "weights" / "siamfc_alexnet.safetensors"
    cfg = _cfg("siamrpn", [tiny_build], "train.max_steps=1", f"model.backbone_weights='{weights}'",
               "model.freeze=['backbone.features.0']", "data.val_fraction=0.0")
    fit(cfg, tmp_path / "run", progress=False)
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "run"))["model"]
    siamfc = load_file(str(weights))
    assert torch.equal(state["backbone.features.0.weight"], siamfc["conv1.weight"])  # loaded and frozen
    from trainer.config import ConfigError

    with pytest.raises(ConfigError, match="model.freeze: no parameter"):
        fit(_cfg("siamrpn", [tiny_build], "model.freeze=['backbone.nothing']"), tmp_path / "r2", progress=False)


@pytest.mark.numerics
def test_decoded_boxes_beat_the_anchors_after_training_on_a_fixed_batch(tmp_path):
    """On four fixed pairs, the boxes decoded at the matched (positive) anchors overlap the target
    better than the anchors themselves after 30 steps: the regression head learns from the start.
    With a randomly initialised regression layer they start (and stay, for hundreds of steps) far
    worse than the anchors (measured: IoU 0.02 against 0.79). The gain after 30 steps is small and
    depends on the CPU's kernels (+0.008 with ATEN_CPU_CAPABILITY=default, +0.023 with AVX-512), so
    the test asserts the direction, not a margin."""
    from siamcore.boxes import cxcywh_to_xyxy, iou_matrix_xyxy, iou_xyxy
    from siamcore.encoding import decode
    from trainer.loader import model_inputs
    from trainer.run_state import build_model

    build = write_build(tmp_path / "b", make_records("fixed", 4, 1, SIAMRPN_VIEWS, seed=3, p_negative=0.0),
                        SIAMRPN_VIEWS, shards=1)
    cfg = _cfg("siamrpn", [build], *NO_AUGMENT, "data.val_fraction=0.0", "train.epochs=30")

    def positive_ious(model):
        from trainer.data import load_pairs
        from trainer.sources import open_sources

        src = open_sources([build], model, val_fraction=0.0)
        batch = load_pairs(src, src.catalog.shard, src.catalog.key)
        model.eval()
        with torch.no_grad():
            _, loc = model(*model_inputs(batch, torch.device("cpu"), False, False))
        priors = model.default_boxes_cxcywh
        gt = batch["search_box_xyxy"]
        prior_iou = iou_matrix_xyxy(gt, cxcywh_to_xyxy(priors))  # [B, N]
        positive = prior_iou >= cfg.loss.iou_positive
        decoded = cxcywh_to_xyxy(decode(loc, priors.expand_as(loc)))
        decoded_iou = iou_xyxy(decoded, gt[:, None, :].expand_as(decoded))
        return float(prior_iou[positive].mean()), float(decoded_iou[positive].mean())

    anchor_iou, decoded_iou = positive_ious(build_model(cfg))
    assert decoded_iou == pytest.approx(anchor_iou)  # step 0: the decoded box is the anchor
    fit(cfg, tmp_path / "run", progress=False)
    from tracker.weights import load_model

    anchor_iou, decoded_iou = positive_ious(load_model(tmp_path / "run" / "export" / "model.safetensors"))
    assert decoded_iou > anchor_iou, (anchor_iou, decoded_iou)


def test_warm_up_and_trunk_learning_rate():
    from trainer.run_state import lr_at, make_optimizer, build_model

    cfg = load_config(None, ["optim.lr=0.01", "optim.warmup_steps=4", "optim.lr_decay=0.5", "optim.lr_decay_every=10",
                             "optim.backbone_lr_scale=0.1", "model.args.channels=8"])
    assert [lr_at(cfg, s) for s in (0, 1, 3, 9, 10)] == pytest.approx([0.0025, 0.005, 0.01, 0.01, 0.005])
    groups = make_optimizer(cfg, build_model(cfg)).param_groups
    assert [g["lr_scale"] for g in groups] == [1.0, 0.1]
    frozen = load_config(None, ["model.args.channels=8", "model.freeze=['backbone']"])
    assert len(make_optimizer(frozen, build_model(frozen)).param_groups) == 1  # a frozen trunk is not trained


def test_cached_training_equals_training_on_images(tiny_build, tmp_path):
    """The feature cache only moves work: with augmentation off, the same steps give the same losses."""
    extra = ("model.freeze=['backbone']", "data.val_fraction=0.0", "train.max_steps=3", "train.epochs=3",
             "data.same_sequence_p=0.5", "data.other_sequence_p=0.2", *NO_AUGMENT)
    plain = fit(_cfg("siamrpn", [tiny_build], *extra), tmp_path / "plain", progress=False)
    cached = fit(_cfg("siamrpn", [tiny_build], *extra, "cache.enabled=true", f"cache.dir='{tmp_path / 'cache'}'"),
                 tmp_path / "cached", progress=False)
    assert [h["loss"] for h in cached.history] == pytest.approx([h["loss"] for h in plain.history], rel=2e-3)
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_siamfc_trunk_heads_train_on_cached_features_and_are_tracked(shared_data, tiny_build, tmp_path):
    """The recipe's path: the real SiamFC trunk, frozen and cached, a DW-XCorr head, tracking
    evaluation on a real OTB sequence logged against steps and minutes."""
    weights = shared_data / "weights" / "siamfc_alexnet.safetensors"
    cfg = load_config(REPO / "pipelines" / "cpu" / "siamrpn.toml", [
        "model.args.channels=16", "train.batch_size=4", "train.max_steps=4", "train.log_every=2",
        "data.samples_per_epoch=8", "data.val_sequences=[]", "data.val_fraction=0.2", "data.val_samples=4",
        f"model.backbone_weights='{weights}'", f"cache.dir='{tmp_path / 'cache'}'",
        f"track_eval.root='{shared_data / 'otb'}'", "track_eval.sequences=['Couple']", "track_eval.every_steps=2",
        "train.device='cpu'",
    ])
    cfg.data.shards = [str(tiny_build)]
    result = fit(cfg.check(), tmp_path / "run", progress=False)
    assert result.step == 4 and all(math.isfinite(h["loss"]) for h in result.history)
    lines = [json.loads(x) for x in (tmp_path / "run" / "track_eval.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4] and all(0 <= x["auc"] <= 1 for x in lines)
    assert lines[1]["train_minutes"] >= lines[0]["train_minutes"] > 0 and list(lines[0]["sequences"]) == ["Couple"]
    assert (tmp_path / "run" / "track_eval" / "step_000000004" / "Couple.txt").is_file()
    assert (tmp_path / "run" / "val").is_dir()


def test_weight_average_is_exported_and_resumed_exactly(tiny_build, tmp_path):
    from tracker.weights import load_model

    extra = ("train.ema_decay=0.5", "data.val_fraction=0.0", "train.epochs=4", "train.checkpoint_every=2")
    straight = fit(_cfg("siamrpn", [tiny_build], *extra, "train.max_steps=4"), tmp_path / "a", progress=False)
    fit(_cfg("siamrpn", [tiny_build], *extra, "train.max_steps=2"), tmp_path / "b", progress=False)
    fit(_cfg("siamrpn", [tiny_build], *extra, "train.max_steps=4"), tmp_path / "b", resume=True, progress=False)
    assert straight.step == 4
    a = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "a"))
    b = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "b"))
    assert a["ema_updates"] == b["ema_updates"] == 4
    for name, tensor in a["ema_model"].items():
        assert torch.equal(tensor, b["ema_model"][name]), name
    exported = load_model(tmp_path / "a" / "export" / "model.safetensors").state_dict()
    head = "template_conf.weight"
    assert torch.equal(exported[head], a["ema_model"][head]) and not torch.equal(exported[head], a["model"][head])
    assert torch.equal(export_run(tmp_path / "a") and load_model(tmp_path / "a" / "export" / "model.safetensors")
                       .state_dict()[head], a["ema_model"][head])


@pytest.mark.parametrize("model", ["siamconcatrpn", "siambroadcastrpn"])
def test_seed_heads_train_on_the_cached_siamfc_trunk(model, tiny_build, tmp_path):
    """The heads comparison's path: SiamConcatRPN (guide masks after the trunk) and SiamBroadcastRPN on
    the frozen SiamFC AlexNet, trained from cached features with re-paired exemplars."""
    args = {"siamconcatrpn": ["model.args.channels=16", "model.args.refine_channels=8",
                              "model.args.extra_channels=[8, 8, 8]"],
            "siambroadcastrpn": ["model.args.channels=16", "model.args.block_channels=8"]}[model]
    cfg = load_config(REPO / "pipelines" / "cpu" / f"{model}.toml", [
        *args, "train.batch_size=4", "train.max_steps=3", "train.log_every=1", "data.samples_per_epoch=8",
        "data.val_sequences=[]", "data.val_fraction=0.0", f"cache.dir='{tmp_path / 'cache'}'", "train.device='cpu'",
    ])
    cfg.data.shards = [str(tiny_build)]
    result = fit(cfg.check(), tmp_path / "run", progress=False)
    assert result.step == 3 and all(math.isfinite(h["loss"]) for h in result.history)
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_resume_keeps_every_tensorboard_point(tiny_build, tmp_path):
    """A resumed run continues the TensorBoard curves: the point logged at the checkpoint's step survives
    (the resumed writer purges only what a crashed run logged after its checkpoint)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    extra = ("train.log_every=2", "train.checkpoint_every=2", "train.epochs=4", "data.val_fraction=0.0")
    fit(_cfg("siamrpn", [tiny_build], *extra, "train.max_steps=4"), tmp_path / "run", progress=False)
    fit(_cfg("siamrpn", [tiny_build], *extra, "train.max_steps=8"), tmp_path / "run", resume=True, progress=False)
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4, 6, 8]


def test_fit_into_a_log_file_prints_plain_progress_with_the_loss(tiny_build, tmp_path):
    """`trainer fit > log 2>&1` (CI, nohup, a cluster job): plain progress lines with rate, ETA, loss and
    pairs/s instead of a rich bar that shows nothing until the end, and lines not wrapped at 80 columns."""
    import os
    import re
    import subprocess
    import sys

    run = tmp_path / ("run-folder-name-long-enough-that-rich-would-have-wrapped-it-at-eighty-columns-" + "x" * 40)
    cmd = [sys.executable, "-m", "trainer.cli", "fit", "--config", str(REPO / "pipelines/train/siamrpn.toml"),
           "--shards", str(tiny_build), "--device", "cpu", "--max-steps", "3", "--run-dir", str(run),
           *[a for s in [*SMALL["siamrpn"], "data.workers=0", "train.batch_size=4", "train.log_every=1",
                         "data.val_fraction=0.0"] for a in ("--set", s)]]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(SIAMTRACK_PROGRESS_SECONDS="0", OMP_NUM_THREADS="1")
    log = tmp_path / "fit.log"
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env,
                              timeout=240)
    lines = log.read_text().splitlines()
    assert proc.returncode == 0, "\n".join(lines[-40:])
    line = re.compile(r"^train (\d)/3 steps \(\d+%\), [\d.,]+ steps/s, elapsed \d+s, ETA \w+; epoch 0, "
                      r"loss (\d+\.\d+) .*, [\d.]+ pairs/s$")
    progress = [m for m in map(line.match, lines) if m]
    assert sorted({int(m[1]) for m in progress}) == [1, 2, 3]
    assert any(x.endswith(f"; run folder {run}") for x in lines)  # longer than 80 columns, on one line


def test_a_wild_prediction_still_draws_the_validation_figure():
    """The reproduction: a diverged model's finite box beyond int32 made cv2.rectangle raise inside the
    validation figure; NaN, inf and inverted boxes too are now clipped or skipped."""
    from trainer.validate import pairs_figure

    crop = np.full((255, 255, 3), 90, np.uint8)
    gt, guide = np.array([100.0, 100, 150, 150]), np.array([98.0, 99, 152, 149])
    wild = [[1e12, 5, 1e13, 1e13], [-1e13, -1e13, 1e13, 1e13], [np.nan] * 4, [0, 0, np.inf, 10], [150, 150, 100, 100]]
    shown = [(crop, gt, np.array(box, dtype=np.float64), gt, guide, 0.0) for box in wild]
    figure = pairs_figure(shown, with_guide=True)
    assert len(figure.axes) >= len(wild)
    import matplotlib.pyplot as plt

    plt.close(figure)


@pytest.mark.parametrize("failing", ["draw", "write"])
def test_a_failing_validation_figure_is_a_warning_and_training_goes_on(failing, tiny_build, tmp_path, monkeypatch,
                                                                        caplog):
    """Drawing the validation figure raising (a box, a plotting bug) or writing it (a full disk) is
    logged as a warning at each epoch end; validation scores, checkpoints and the export still happen."""
    import matplotlib.figure
    import tracker.render

    def fail(*args, **kwargs):
        raise (ValueError("Can't parse 'pt1'") if failing == "draw" else OSError(28, "No space left on device"))

    if failing == "draw":
        monkeypatch.setattr(tracker.render, "draw_box", fail)
    else:
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fail)
    cfg = _cfg("siamrpn", [tiny_build], "train.epochs=2")  # one step per epoch, validated at each end
    with caplog.at_level("INFO", logger="trainer"):
        result = fit(cfg, tmp_path / "run", progress=False)
    assert result.epoch == 2 and len(result.validation) == 2
    assert all(math.isfinite(v["iou"]) for v in result.validation)
    assert caplog.text.count("could not write the figure") == 2 and "training goes on" in caplog.text
    assert not list((tmp_path / "run").glob("val/*.png"))
    assert ckpt.latest_checkpoint(tmp_path / "run") and (tmp_path / "run" / "export" / "model.safetensors").is_file()


def test_loader_workers_are_capped_by_the_cpus_this_process_may_use(tiny_build, tmp_path, monkeypatch, caplog):
    """data.workers = 64 in a process that may use 1 CPU: each epoch's DataLoader gets 1 worker, the run
    says so once (not once per epoch), and torch does not warn about the worker count."""
    import warnings

    import trainer.loader

    assert trainer.loader.loader_workers(64)[0] <= len(os.sched_getaffinity(0))  # the real cap, whatever it is here
    monkeypatch.setattr(trainer.loader, "usable_cpus", lambda: 1)
    made = []

    class RecordingLoader(torch.utils.data.DataLoader):
        def __init__(self, *args, **kwargs):
            made.append(kwargs["num_workers"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(trainer.loader, "DataLoader", RecordingLoader)
    cfg = _cfg("siamrpn", [tiny_build], "data.workers=64", "train.epochs=2", "train.validate=false")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level("INFO", logger="trainer"):
        warnings.simplefilter("always")
        result = fit(cfg, tmp_path / "run", progress=False)
    assert result.epoch == 2 and made == [1, 1]
    assert caplog.text.count("data.workers 64 -> 1: this process may use 1 CPU") == 1
    assert not [w for w in caught if "worker" in str(w.message)]
