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

What is not the loop lives beside it: the run state and checkpoint contents (:mod:`trainer.run_state`,
:mod:`trainer.checkpoint`), the epoch's batches (:mod:`trainer.loader`), validation and tracking
evaluation (:mod:`trainer.evaluations`), the console and TensorBoard (:mod:`trainer.console`), Ctrl-C
(:mod:`trainer.interrupt`) and the end-of-run export (:mod:`trainer.export`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from siamcore.locks import FolderInUse, folder_lock
from trainer import checkpoint as ckpt
from trainer.config import Config, save_config
from trainer.console import LogInterval, TrainProgress, log_start, open_tensorboard, warn
from trainer.data import PairStream, SkippedRecords, single_threaded_opencv
from trainer.distributed import DistInfo, barrier, cleanup, weights_agree
from trainer.evaluations import Evaluations
from trainer.export import export_fit
from trainer.interrupt import StopRequest
from trainer.loader import epoch_batches, feature_inputs, loader_workers, model_inputs
from trainer.loss import multibox_loss
from trainer.run_state import (
    RunState, build_model, load_saved, lr_at, open_feature_cache, set_train_mode, setup_process,
)
from trainer.sources import DataError, open_sources
from trainer.targets import match_default_boxes

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
    run_dir.mkdir(parents=True, exist_ok=True)
    writer = None
    if di.is_main:
        if not resume:
            save_config(cfg, run_dir / "config.toml")
        writer = open_tensorboard(run_dir, run.step, resume)
    bar = TrainProgress(progress and di.is_main)
    evals = Evaluations(cfg, sources, run_dir, writer, bar.note, di)
    if di.is_main:
        log_start(cfg, model, sources, dataset, run_dir, device, di, run.step, cache)

    result = FitResult(run_dir, run.step, run.epoch, float("nan"))
    stats = LogInterval(device)
    skipped = SkippedRecords(run_dir / f"skipped-rank{di.rank}.jsonl", len(sources.catalog), cfg.data.max_bad_fraction)
    done = t.max_steps > 0 and run.step >= t.max_steps
    stop = StopRequest(enabled=not di.enabled)

    def save(reason: str) -> None:
        if di.is_main:
            log.info("checkpoint (%s): %s", reason, run.save(cfg, run_dir, di.world))

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
            batches = epoch_batches(dataset, cache, workers, t.seed, cfg.data.prefetch_factor, pin_memory=cuda)
            tick = time.perf_counter()
            for batch in batches:
                got = time.perf_counter()
                skipped.add(batch, run.step)
                out, lr = _train_step(cfg, batch, run, train_model, cache is not None, device, channels_last,
                                      autocast)
                run.train_seconds += time.perf_counter() - tick

                stats.add(out, len(batch["keys"]), got - tick)
                if run.step % t.log_every == 0 or run.step == t.max_steps:
                    scalars = stats.flush(di, lr, len(skipped))
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
                if evals.tracking_due(run.step):
                    evals.track(run)
                    set_train_mode(model)
                if t.max_steps and run.step >= t.max_steps:
                    done = True
                    break
                if stop.requested:
                    save("interrupted")
                    bar.note(f"stopped at step {run.step} (Ctrl-C): continue with `trainer fit --resume {run_dir}`")
                    raise KeyboardInterrupt
                tick = time.perf_counter()
            del batches
            if not done:  # the epoch is complete
                run.epoch += 1
                run.batch_in_epoch = 0
                if evals.validates:
                    result.validation.append(evals.validate(run, device, channels_last, autocast))
                    set_train_mode(model)
                save("epoch end")
                barrier(di)
        if done and run.step % t.checkpoint_every != 0:
            save("max steps")
        evals.track(run)
    finally:
        stop.restore()
        bar.stop()
        if writer is not None:
            writer.close()

    if not weights_agree(model, di, device):
        raise RuntimeError("the DDP ranks ended with different weights: the run is not usable")
    if di.is_main:
        export_fit(cfg, run.eval_model, run_dir, bar.note, step=run.step, epoch=run.epoch, world=di.world,
                   last_loss=result.last_loss, validation=result.validation)
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
