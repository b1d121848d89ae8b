"""The training run: one loop you can read top to bottom (nanoGPT-style).

``fit(cfg, run_dir)`` builds the model, opens the shards, and repeats, per step: wait for a batch
(timed: the data-wait fraction), move the uint8 crops to the device and make them float there,
match default boxes (:mod:`trainer.targets`), compute the loss (:mod:`trainer.loss`), step the
optimiser with a clipped gradient, set ``lr = lr0 * decay ** (step // every)``. It logs scalars to
TensorBoard, validates and checkpoints at each epoch end, checkpoints every ``checkpoint_every``
steps and exports the final weights to ``RUN/export/model.safetensors``.

Resuming (``resume=True``) loads the newest checkpoint of ``run_dir``: weights, optimiser, RNG
states, step, and the data position (epoch and batches done in it), so an interrupted and resumed
run ends with the same weights as an uninterrupted one (same number of ranks).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from siamcore.atomic import write_json_atomic
from siamcore.locks import FolderInUse, folder_lock
from trainer import checkpoint as ckpt
from trainer.config import Config, save_config
from trainer.console import LogInterval, TrainProgress, log_start, warn, write_figure
from trainer.data import (
    DataError, PairStream, check_bad_records, feature_inputs, loader_workers, model_inputs, open_sources,
    single_threaded_opencv, worker_init,
)
from trainer.distributed import DistInfo, barrier, cleanup, ranks_agree
from trainer.feature_cache import cached_batch
from trainer.loss import multibox_loss
from trainer.run_state import (
    RunState, build_model, load_saved, lr_at, open_feature_cache, set_train_mode, setup_process,
)
from trainer.targets import match_default_boxes
from trainer.track_eval import TrackEvaluator
from trainer.validate import Validator, pairs_figure

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    run_dir: Path
    step: int
    epoch: int
    last_loss: float
    history: list[dict] = field(default_factory=list)  # logged scalars, one dict per log step
    validation: list[dict] = field(default_factory=list)


class RunFolderInUse(ValueError):
    """Another live ``trainer fit`` holds the run folder."""


def fit(cfg: Config, run_dir: Path, resume: bool = False, progress: bool = True) -> FitResult:
    """Train according to ``cfg`` into ``run_dir`` (created; or continued when ``resume``).

    The main process holds ``run_dir/.lock`` (:func:`siamcore.locks.folder_lock`) for the whole run: a
    second ``fit`` into the same folder stops at once (:class:`RunFolderInUse`, naming the holder)
    instead of overwriting the first one's config, checkpoints and export."""
    device, dist_info = setup_process(cfg.train.device)
    try:
        with contextlib.ExitStack() as lock:
            if dist_info.is_main:
                Path(run_dir).mkdir(parents=True, exist_ok=True)
                try:
                    lock.enter_context(folder_lock(Path(run_dir)))
                except FolderInUse as exc:
                    raise RunFolderInUse(f"run folder {run_dir} is in use by another trainer fit ({exc.holder}): "
                                         "wait for it or stop it, or choose another --run-dir") from None
            return _fit(cfg, Path(run_dir), resume, progress, device, dist_info)
    finally:
        cleanup(dist_info)


def _fit(cfg: Config, run_dir: Path, resume: bool, progress: bool, device: torch.device, di: DistInfo) -> FitResult:
    t = cfg.train
    cuda = device.type == "cuda"
    channels_last = cuda and t.channels_last
    autocast = (
        (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda and t.amp else contextlib.nullcontext
    )
    single_threaded_opencv()

    # --- model, data, run state -------------------------------------------------------------------
    if di.is_main:
        for path, size in ckpt.remove_stale_temp_files(run_dir):
            warn(f"removed {path} ({size / 1e6:.1f} MB), left by a run killed while writing it")
    saved = load_saved(run_dir, cfg, warn if di.is_main else lambda _: None) if resume else None
    model = build_model(cfg, load_backbone=saved is None)
    sources = open_sources(cfg.data.shards, model, cfg.data.val_fraction, cfg.data.val_samples,
                           cfg.data.val_sequences)
    dataset = PairStream(
        sources, t.batch_size, t.seed, cfg.augment, cfg.data.weights, cfg.data.samples_per_epoch,
        cfg.data.block_size, cfg.data.shuffle_buffer, di.rank, di.world, cfg.data.same_sequence_p,
        cfg.data.other_sequence_p,
    )
    if saved is not None:
        model.load_state_dict(saved["model"])
    cache = open_feature_cache(cfg, model, sources, run_dir, progress and di.is_main, di)
    workers, capped = loader_workers(cfg.data.workers) if cache is None else (0, None)
    if capped and di.is_main:
        warn(capped)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    run = RunState.start(cfg, model, saved, cache.build_seconds if cache is not None else 0.0, di.world)
    del saved
    train_model = DistributedDataParallel(model, device_ids=[device.index] if cuda else None) if di.enabled else model

    # --- what the main process writes: config, TensorBoard, validation, tracking evaluation --------
    writer = validator = track_evaluator = None
    run_dir.mkdir(parents=True, exist_ok=True)
    if di.is_main:
        if not resume:
            save_config(cfg, run_dir / "config.toml")
        from torch.utils.tensorboard import SummaryWriter

        # The points at the checkpoint's step were logged before it was saved: purge only later ones
        # (what an interrupted run logged after its last checkpoint), or the curves lose a point.
        writer = SummaryWriter(str(run_dir / "tb"), purge_step=run.step + 1 if resume else None)
        if t.validate and len(sources.val_key):
            validator = Validator(sources, t.batch_size, cfg.data.val_grid)
        if cfg.track_eval.root:
            track_evaluator = TrackEvaluator(cfg.track_eval, cfg.model.name, run_dir)
        log_start(cfg, model, sources, dataset, run_dir, device, di, run.step, cache)

    result = FitResult(run_dir, run.step, run.epoch, float("nan"))
    bar = TrainProgress(progress and di.is_main)
    stats = LogInterval(device)
    done = t.max_steps > 0 and run.step >= t.max_steps
    stop = _StopRequest(enabled=not di.enabled)
    skipped_log = run_dir / f"skipped-rank{di.rank}.jsonl"
    bad_records: set[str] = set()  # "shard-file:key" of the damaged records this process met
    last_track_eval = -1

    def save(reason: str) -> None:
        if di.is_main:
            log.info("checkpoint (%s): %s", reason, run.save(cfg, run_dir, di.world))

    def track_eval() -> None:
        """Every rank calls it (the others wait at the barrier); the main process evaluates."""
        nonlocal last_track_eval
        if track_evaluator is not None and last_track_eval != run.step:
            r = track_evaluator.run(run.eval_model, run.step, run.train_seconds / 60)
            writer.add_scalar("track/auc", r.auc, run.step)
            for name, auc in r.per_sequence.items():
                writer.add_scalar(f"track/auc/{name}", auc, run.step)
            per_seq = ", ".join(f"{k} {v:.3f}" for k, v in r.per_sequence.items())
            bar.note(f"step {run.step} ({r.train_minutes:.1f} min of training): tracking AUC {r.auc:.3f} on "
                     f"{len(r.per_sequence)} sequence(s) ({per_seq}; {r.seconds:.0f} s)")
        last_track_eval = run.step
        barrier(di)

    # --- the loop ------------------------------------------------------------------------------------
    set_train_mode(model)
    try:
        while run.epoch < t.epochs and not done:
            dataset.set_epoch(run.epoch, run.batch_in_epoch)
            if dataset.plan.num_batches == 0:  # a small epoch cycles its sequences: only weights of 0 get here
                raise DataError(
                    f"epoch {run.epoch} has no training pair ({len(sources.catalog)} training samples, "
                    f"data.weights {cfg.data.weights}): give the shard folders weights above 0"
                )
            total = t.epochs * dataset.plan.num_batches
            bar.start(min(total, t.max_steps) if t.max_steps else total, run.step, run.epoch)
            if cache is not None:
                loader = (cached_batch(cache, dataset.plan, j, t.seed)
                          for j in range(run.batch_in_epoch, dataset.plan.num_batches))
            else:
                loader = DataLoader(
                    dataset, batch_size=None, num_workers=workers, pin_memory=cuda,
                    prefetch_factor=cfg.data.prefetch_factor if workers else None,
                    worker_init_fn=worker_init,
                    generator=torch.Generator().manual_seed(t.seed),  # never touch the global RNG
                )
            tick = time.perf_counter()
            for batch in loader:
                got = time.perf_counter()
                if batch["skipped"]:
                    with open(skipped_log, "a", encoding="utf-8") as f:
                        for item in batch["skipped"]:
                            f.write(json.dumps({"step": run.step, "record": item}) + "\n")
                    bad_records.update(batch["bad_records"])
                    check_bad_records(len(bad_records), len(sources.catalog), cfg.data.max_bad_fraction,
                                      batch["skipped"][0])
                out, lr = _train_step(cfg, batch, run, train_model, cache is not None, device, channels_last,
                                      autocast)
                run.train_seconds += time.perf_counter() - tick

                stats.add(out, len(batch["keys"]), got - tick)
                if run.step % t.log_every == 0 or run.step == t.max_steps:
                    scalars = stats.flush(di, lr, len(bad_records))
                    bad_count = scalars.pop("bad_records")
                    if not math.isfinite(scalars["loss"]):  # checked at log steps only: no sync per step
                        raise FloatingPointError(
                            f"loss is {scalars['loss']} at step {run.step}: lower optim.lr or check the data"
                        )
                    result.history.append({"step": run.step, **scalars})
                    result.last_loss = scalars["loss"]
                    if writer is not None:
                        for name, value in scalars.items():
                            writer.add_scalar(f"train/{name}", value, run.step)
                        writer.add_scalar("data/bad_records", bad_count, run.step)
                    bar.update(run.step, scalars)
                else:
                    bar.update(run.step)
                if run.step % t.checkpoint_every == 0:
                    save("every %d steps" % t.checkpoint_every)
                if cfg.track_eval.root and cfg.track_eval.every_steps and run.step % cfg.track_eval.every_steps == 0:
                    track_eval()
                    set_train_mode(model)
                if t.max_steps and run.step >= t.max_steps:
                    done = True
                    break
                if stop.requested:
                    save("interrupted")
                    bar.note(f"stopped at step {run.step} (Ctrl-C): continue with `trainer fit --resume {run_dir}`")
                    raise KeyboardInterrupt
                tick = time.perf_counter()
            del loader
            if not done:  # the epoch is complete
                run.epoch += 1
                run.batch_in_epoch = 0
                if validator is not None:
                    _validate(validator, run, result, writer, bar, run_dir, device, channels_last, autocast)
                    set_train_mode(model)
                save("epoch end")
                barrier(di)
        if done and run.step % t.checkpoint_every != 0:
            save("max steps")
        if cfg.track_eval.root:
            track_eval()
    finally:
        stop.restore()
        bar.stop()
        if writer is not None:
            writer.close()

    with torch.no_grad():
        checksum = float(sum(p.double().sum() for p in model.parameters()))
    in_sync = ranks_agree(checksum, di, device)
    if not in_sync:
        raise RuntimeError("the DDP ranks ended with different weights: the run is not usable")
    if di.is_main:
        _export(cfg, run, result, run_dir, di.world, bar.note)
    barrier(di)
    result.step, result.epoch = run.step, run.epoch
    return result


def _train_step(cfg: Config, batch: dict, run: RunState, train_model, cached: bool, device: torch.device,
                channels_last: bool, autocast):
    """One optimiser step on ``batch``: targets matched to the default boxes, loss, clipped gradient,
    the schedule's lr, the moving average. Returns the loss terms and the lr used."""
    model = run.model
    if cached:
        inputs = feature_inputs(batch, device, model.needs_guide, model.views)
    else:
        inputs = model_inputs(batch, device, channels_last, model.needs_guide)
    gt_xyxy = batch["search_box_xyxy"].to(device, non_blocking=True)
    negative = batch["negative"].to(device, non_blocking=True)
    labels, loc_targets, _ = match_default_boxes(
        gt_xyxy, negative, model.default_boxes_cxcywh, cfg.loss.iou_positive, cfg.loss.iou_negative,
        model.variances, cfg.loss.best_positive,
    )
    with autocast():
        conf, loc = train_model(*inputs, features=cached)
    out = multibox_loss(conf, loc, labels, loc_targets, cfg.loss.alpha, cfg.loss.negatives_per_positive,
                        cfg.loss.min_negatives)
    run.optimizer.zero_grad(set_to_none=True)
    out.total.backward()
    if cfg.optim.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
    lr = lr_at(cfg, run.step)
    for group in run.optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
    run.optimizer.step()
    if run.ema is not None:
        run.ema.update_parameters(model)
    run.step += 1
    run.batch_in_epoch += 1
    return out, lr


def _validate(validator, run: RunState, result: FitResult, writer, bar, run_dir: Path, device, channels_last,
              autocast) -> None:
    """The epoch-end validation of the weights that are exported: IoU on held-out pairs, and a figure."""
    v = validator.run(run.eval_model, device, channels_last, autocast)
    result.validation.append({"epoch": run.epoch, "iou": v.mean_iou, "success_50": v.success_50})
    writer.add_scalar("val/iou", v.mean_iou, run.step)
    writer.add_scalar("val/success_0.5", v.success_50, run.step)
    if v.shown:
        write_figure(lambda: pairs_figure(v.shown, run.eval_model.needs_guide),
                     run_dir / "val" / f"epoch_{run.epoch:04d}.png", writer, "val/pairs", run.step)
    bar.note(f"epoch {run.epoch}: validation IoU {v.mean_iou:.3f} on {v.pairs} held-out pairs")


def _export(cfg: Config, run: RunState, result: FitResult, run_dir: Path, world: int, note) -> None:
    """The run's weights for the tracker (with the tracking parameters it was evaluated with) and
    ``summary.json``."""
    from tracker.weights import save_model

    from trainer.track_eval import recorded_tracking

    tracking = recorded_tracking(cfg.track_eval.params, cfg.model.name, note)
    save_model(run.eval_model, run_dir / ckpt.EXPORT_FILE, tracking=tracking)
    finite = lambda x: x if math.isfinite(x) else None  # noqa: E731  (JSON has no NaN)
    summary = {"model": cfg.model.name, "step": run.step, "epoch": run.epoch, "world": world,
               "last_loss": finite(result.last_loss), "ranks_in_sync": True,
               "validation": [{k: finite(v) if isinstance(v, float) else v for k, v in r.items()}
                              for r in result.validation],
               "export": str(ckpt.EXPORT_FILE)}
    write_json_atomic(run_dir / "summary.json", summary)
    note(f"done: step {run.step}, epoch {run.epoch}; weights in {run_dir / ckpt.EXPORT_FILE}")


class _StopRequest:
    """First Ctrl-C: finish the current step, checkpoint, stop (so the checkpoint resumes exactly).
    A second Ctrl-C interrupts at once. Single-process runs only: under torchrun the ranks could see
    the signal at different steps, so there the periodic checkpoints are the resume points."""

    def __init__(self, enabled: bool):
        self.requested = False
        self._previous = None
        if enabled and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
