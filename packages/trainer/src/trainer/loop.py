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
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from siamcore.atomic import atomic_path, write_json_atomic
from siamcore.locks import FolderInUse, folder_lock
from siamcore.progress import console_width, plain_progress
from trainer import checkpoint as ckpt
from trainer.config import Config, ConfigError, save_config
from trainer.data import (
    DataError, PairStream, check_bad_records, feature_inputs, loader_workers, model_inputs, open_sources,
    single_threaded_opencv, worker_init,
)
from trainer.distributed import DistInfo, all_reduce_sum, barrier, cleanup, init_distributed, ranks_agree
from trainer.loss import multibox_loss
from trainer.feature_cache import FeatureCache, cached_batch, open_or_build
from trainer.targets import match_default_boxes
from trainer.track_eval import TrackEvaluator
from trainer.validate import Validator, pairs_figure

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "siamtrack-trainer-checkpoint"
EXPORT_FILE = Path(ckpt.EXPORT_DIR) / "model.safetensors"


class ResumeError(ValueError):
    """A run folder that this configuration cannot continue."""


@dataclass
class FitResult:
    run_dir: Path
    step: int
    epoch: int
    last_loss: float
    history: list[dict] = field(default_factory=list)  # logged scalars, one dict per log step
    validation: list[dict] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    return torch.device(name)


def build_model(cfg: Config, load_backbone: bool = True):
    """The configured network (seeded init), with backbone weights loaded (unless ``load_backbone``
    is False: a resumed run's checkpoint holds the weights) and layers frozen."""
    from tracker.models import create_model
    from tracker.weights import load_backbone_weights

    torch.manual_seed(cfg.train.seed)
    try:
        model = create_model(cfg.model.name, **cfg.model.args)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from exc
    except TypeError as exc:
        raise ConfigError(f"model.args do not fit model {cfg.model.name!r}: {exc}") from exc
    if cfg.model.backbone_weights and load_backbone:
        for trunk in model.backbone_modules():  # SiamBroadcastRPN has two trunks, the others one
            report = load_backbone_weights(trunk, cfg.model.backbone_weights)
            if not report.loaded:
                raise ConfigError(f"{cfg.model.backbone_weights}: no tensor fits the {cfg.model.name} backbone ({report})")
            log.info("backbone weights %s: %s", cfg.model.backbone_weights, report)
    for prefix in cfg.model.freeze:
        hits = [p for n, p in model.named_parameters() if n == prefix or n.startswith(prefix + ".")]
        if not hits:
            raise ConfigError(f"model.freeze: no parameter is named {prefix!r} or starts with it")
        for p in hits:
            p.requires_grad_(False)
    return model


def trunk_parameters(model) -> list[torch.nn.Parameter]:
    """The parameters of the model's feature trunk(s), each once."""
    seen: dict[int, torch.nn.Parameter] = {}
    for trunk in model.trunk_modules().values():
        for p in trunk.parameters():
            seen.setdefault(id(p), p)
    return list(seen.values())


def make_optimizer(cfg: Config, model) -> torch.optim.Optimizer:
    """Adam or SGD over the trained parameters: the heads at ``lr``, the trunk (when it is not frozen)
    at ``lr * optim.backbone_lr_scale`` (each group's ``lr_scale``; :func:`lr_at` sets the lr)."""
    trunk = {id(p) for p in trunk_parameters(model)}
    heads = [p for p in model.parameters() if p.requires_grad and id(p) not in trunk]
    trunk_trained = [p for p in trunk_parameters(model) if p.requires_grad]
    groups = [{"params": heads, "lr_scale": 1.0}]
    if trunk_trained:
        groups.append({"params": trunk_trained, "lr_scale": cfg.optim.backbone_lr_scale})
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return torch.optim.Adam(groups, lr=o.lr, weight_decay=o.weight_decay)


def lr_at(cfg: Config, step: int) -> float:
    """The seed's schedule ``lr0 * decay ** (step // every)``, times a linear warm-up over the first
    ``optim.warmup_steps`` steps (a pure function of the step: resumes exactly)."""
    o = cfg.optim
    warmup = min(1.0, (step + 1) / o.warmup_steps) if o.warmup_steps > 0 else 1.0
    return o.lr * o.lr_decay ** (step // o.lr_decay_every) * warmup


def make_ema(model, decay: float):
    """The weights' exponential moving average (``train.ema_decay``; None when 0), buffers included."""
    if decay <= 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def set_train_mode(model) -> None:
    """Training mode, except for frozen trunks: their batch-norm statistics (if any) must not drift."""
    model.train()
    for trunk in model.trunk_modules().values():
        if not any(p.requires_grad for p in trunk.parameters()):
            trunk.eval()


def check_resumable(state: dict, cfg: Config, path: Path) -> None:
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ResumeError(f"{path} is not a siamtrack trainer checkpoint")
    saved = state["config"]["model"]
    if saved["name"] != cfg.model.name or saved["args"] != cfg.model.args:
        raise ResumeError(
            f"{path} was trained as model {saved['name']!r} with args {saved['args']}, but this config asks for "
            f"{cfg.model.name!r} with args {cfg.model.args}: resume with the run's own config.toml or start a new run"
        )


def _feature_cache(cfg: Config, model, sources, run_dir: Path, progress: bool, di: DistInfo) -> FeatureCache | None:
    """The frozen trunk's features of every training crop (``cache.enabled``): built once by the main
    process (others wait), then opened by every process."""
    if not cfg.cache.enabled:
        return None
    cache_dir = Path(cfg.cache.dir) if cfg.cache.dir else run_dir / "feature-cache"
    args = (sources, model, cfg.augment, cfg.cache.copies, cfg.train.seed, cache_dir, cfg.cache.batch_size)
    bad = cfg.data.max_bad_fraction
    cache = open_or_build(*args, progress=progress, max_bad_fraction=bad) if di.is_main else None
    barrier(di)
    return cache if cache is not None else open_or_build(*args, progress=False, max_bad_fraction=bad)


def setup_process(device_name: str) -> tuple[torch.device, DistInfo]:
    """This process's device and rank: joins the torchrun process group (if any) and, on CUDA,
    takes the GPU of its local rank."""
    device = resolve_device(device_name)
    info = init_distributed(device.type)
    if device.type == "cuda" and info.enabled:
        device = torch.device("cuda", info.local_rank)
    return device, info


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
    cuda = device.type == "cuda"
    channels_last = cuda and cfg.train.channels_last
    autocast = (
        (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda and cfg.train.amp else contextlib.nullcontext
    )
    t = cfg.train
    single_threaded_opencv()

    # --- model, data, optimiser ----------------------------------------------------------------
    if di.is_main:
        for path, size in ckpt.remove_stale_temp_files(run_dir):
            _warn(f"removed {path} ({size / 1e6:.1f} MB), left by a run killed while writing it")
    latest, state = None, None
    if resume:
        try:
            latest, state, skipped = ckpt.load_newest(run_dir)
        except ckpt.CheckpointError as exc:
            raise ResumeError(str(exc)) from None
        for reason in skipped if di.is_main else ():
            _warn(f"skipped {reason}; resuming from {latest}")
        check_resumable(state, cfg, latest)
    model = build_model(cfg, load_backbone=state is None)
    sources = open_sources(cfg.data.shards, model, cfg.data.val_fraction, cfg.data.val_samples,
                           cfg.data.val_sequences)
    dataset = PairStream(
        sources, t.batch_size, t.seed, cfg.augment, cfg.data.weights, cfg.data.samples_per_epoch,
        cfg.data.block_size, cfg.data.shuffle_buffer, di.rank, di.world, cfg.data.same_sequence_p,
        cfg.data.other_sequence_p,
    )
    if state is not None:
        model.load_state_dict(state["model"])
    cache = _feature_cache(cfg, model, sources, run_dir, progress and di.is_main, di)
    workers, capped = loader_workers(cfg.data.workers) if cache is None else (0, None)
    if capped and di.is_main:
        _warn(capped)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(cfg, model)
    step, epoch, batch_in_epoch = 0, 0, 0
    # Minutes of training: the feature cache's build time (when the run uses one) plus the steps;
    # validation and tracking evaluation are not counted.
    train_seconds = cache.build_seconds if cache is not None else 0.0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        step, epoch, batch_in_epoch = int(state["step"]), int(state["epoch"]), int(state["batch_in_epoch"])
        train_seconds = float(state.get("train_seconds", train_seconds))
        ckpt.set_rng_state(state["rng"])
        if int(state.get("world", 1)) != di.world:
            log.warning("resuming a %s-process run with %s processes: the data order will differ", state["world"], di.world)
    ema = make_ema(model, t.ema_decay)
    if state is not None and ema is not None and "ema_model" in state:
        ema.module.load_state_dict(state["ema_model"])
        ema.n_averaged.fill_(int(state["ema_updates"]))
    eval_model = ema.module if ema is not None else model  # what is validated, tracked and exported
    del state
    train_model = DistributedDataParallel(model, device_ids=[device.index] if cuda else None) if di.enabled else model

    writer = None
    validator = None
    track_evaluator = None
    run_dir.mkdir(parents=True, exist_ok=True)
    if di.is_main:
        if not resume:
            save_config(cfg, run_dir / "config.toml")
        from torch.utils.tensorboard import SummaryWriter

        # The points at the checkpoint's step were logged before it was saved: purge only later ones
        # (what an interrupted run logged after its last checkpoint), or the curves lose a point.
        writer = SummaryWriter(str(run_dir / "tb"), purge_step=step + 1 if resume else None)
        if t.validate and len(sources.val_key):
            validator = Validator(sources, t.batch_size, cfg.data.val_grid)
        if cfg.track_eval.root:
            track_evaluator = TrackEvaluator(cfg.track_eval, cfg.model.name, run_dir)
        _log_start(cfg, model, sources, dataset, run_dir, device, di, step, cache)

    def save(reason: str) -> None:
        if not di.is_main:
            return
        path = ckpt.save_checkpoint(
            {
                "format": CHECKPOINT_FORMAT,
                "config": cfg.to_dict(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch,
                "world": di.world,
                "rng": ckpt.rng_state(),
                "train_seconds": train_seconds,
                **({"ema_model": ema.module.state_dict(), "ema_updates": int(ema.n_averaged)} if ema is not None else {}),
            },
            run_dir, step, t.keep_checkpoints,
        )
        log.info("checkpoint (%s): %s", reason, path)

    # --- the loop --------------------------------------------------------------------------------
    result = FitResult(run_dir, step, epoch, float("nan"))
    bar = _Progress(progress and di.is_main)
    stats = _Interval(device)
    done = t.max_steps > 0 and step >= t.max_steps
    stop = _StopRequest(enabled=not di.enabled)
    skipped_log = run_dir / f"skipped-rank{di.rank}.jsonl"
    bad_records: set[str] = set()  # "shard-file:key" of the damaged records this process met
    last_track_eval = -1

    def track_eval() -> None:
        """Every rank calls it (the others wait at the barrier); the main process evaluates."""
        nonlocal last_track_eval
        if track_evaluator is not None and last_track_eval != step:
            r = track_evaluator.run(eval_model, step, train_seconds / 60)
            writer.add_scalar("track/auc", r.auc, step)
            for name, auc in r.per_sequence.items():
                writer.add_scalar(f"track/auc/{name}", auc, step)
            per_seq = ", ".join(f"{k} {v:.3f}" for k, v in r.per_sequence.items())
            bar.note(f"step {step} ({r.train_minutes:.1f} min of training): tracking AUC {r.auc:.3f} on "
                     f"{len(r.per_sequence)} sequence(s) ({per_seq}; {r.seconds:.0f} s)")
        last_track_eval = step
        barrier(di)

    set_train_mode(model)
    try:
        while epoch < t.epochs and not done:
            dataset.set_epoch(epoch, batch_in_epoch)
            if dataset.plan.num_batches == 0:  # a small epoch cycles its sequences: only weights of 0 get here
                raise DataError(
                    f"epoch {epoch} has no training pair ({len(sources.catalog)} training samples, data.weights "
                    f"{cfg.data.weights}): give the shard folders weights above 0"
                )
            total = t.epochs * dataset.plan.num_batches
            bar.start(min(total, t.max_steps) if t.max_steps else total, step, epoch)
            if cache is not None:
                loader = (cached_batch(cache, dataset.plan, j, t.seed)
                          for j in range(batch_in_epoch, dataset.plan.num_batches))
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
                            f.write(json.dumps({"step": step, "record": item}) + "\n")
                    bad_records.update(batch["bad_records"])
                    check_bad_records(len(bad_records), len(sources.catalog), cfg.data.max_bad_fraction,
                                      batch["skipped"][0])
                if cache is not None:
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
                    conf, loc = train_model(*inputs, features=cache is not None)
                out = multibox_loss(
                    conf, loc, labels, loc_targets, cfg.loss.alpha, cfg.loss.negatives_per_positive,
                    cfg.loss.min_negatives,
                )
                optimizer.zero_grad(set_to_none=True)
                out.total.backward()
                if cfg.optim.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
                lr = lr_at(cfg, step)
                for group in optimizer.param_groups:
                    group["lr"] = lr * group.get("lr_scale", 1.0)
                optimizer.step()
                if ema is not None:
                    ema.update_parameters(model)
                step += 1
                batch_in_epoch += 1
                train_seconds += time.perf_counter() - tick

                stats.add(out, len(batch["keys"]), got - tick)
                if step % t.log_every == 0 or step == t.max_steps:
                    scalars = stats.flush(di, lr, len(bad_records))
                    bad_count = scalars.pop("bad_records")
                    if not math.isfinite(scalars["loss"]):  # checked at log steps only: no sync per step
                        raise FloatingPointError(
                            f"loss is {scalars['loss']} at step {step}: lower optim.lr or check the data"
                        )
                    result.history.append({"step": step, **scalars})
                    result.last_loss = scalars["loss"]
                    if writer is not None:
                        for name, value in scalars.items():
                            writer.add_scalar(f"train/{name}", value, step)
                        writer.add_scalar("data/bad_records", bad_count, step)
                    bar.update(step, scalars)
                else:
                    bar.update(step)
                if step % t.checkpoint_every == 0:
                    save("every %d steps" % t.checkpoint_every)
                if cfg.track_eval.root and cfg.track_eval.every_steps and step % cfg.track_eval.every_steps == 0:
                    track_eval()
                    set_train_mode(model)
                if t.max_steps and step >= t.max_steps:
                    done = True
                    break
                if stop.requested:
                    save("interrupted")
                    bar.note(f"stopped at step {step} (Ctrl-C): continue with `trainer fit --resume {run_dir}`")
                    raise KeyboardInterrupt
                tick = time.perf_counter()
            del loader
            if not done:  # the epoch is complete
                epoch += 1
                batch_in_epoch = 0
                if validator is not None:
                    v = validator.run(eval_model, device, channels_last, autocast)
                    result.validation.append({"epoch": epoch, "iou": v.mean_iou, "success_50": v.success_50})
                    writer.add_scalar("val/iou", v.mean_iou, step)
                    writer.add_scalar("val/success_0.5", v.success_50, step)
                    if v.shown:
                        _write_figure(lambda: pairs_figure(v.shown, eval_model.needs_guide),
                                      run_dir / "val" / f"epoch_{epoch:04d}.png", writer, "val/pairs", step)
                    bar.note(f"epoch {epoch}: validation IoU {v.mean_iou:.3f} on {v.pairs} held-out pairs")
                    set_train_mode(model)
                save("epoch end")
                barrier(di)
        if done and step % t.checkpoint_every != 0:
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
        from tracker.weights import save_model

        from trainer.track_eval import recorded_tracking

        tracking = recorded_tracking(cfg.track_eval.params, cfg.model.name, bar.note)
        save_model(eval_model, run_dir / EXPORT_FILE, tracking=tracking)
        finite = lambda x: x if math.isfinite(x) else None  # noqa: E731  (JSON has no NaN)
        summary = {"model": cfg.model.name, "step": step, "epoch": epoch, "world": di.world,
                   "last_loss": finite(result.last_loss), "ranks_in_sync": in_sync,
                   "validation": [{k: finite(v) if isinstance(v, float) else v for k, v in r.items()}
                                  for r in result.validation],
                   "export": str(EXPORT_FILE)}
        write_json_atomic(run_dir / "summary.json", summary)
        bar.note(f"done: step {step}, epoch {epoch}; weights in {run_dir / EXPORT_FILE}")
    barrier(di)
    result.step, result.epoch = step, epoch
    return result


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


class _Interval:
    """Sums over one logging interval, kept on the device (no sync per step)."""

    KEYS = ("loss", "conf_loss", "reg_loss", "pos_correct", "pos", "neg_correct", "neg", "steps")

    def __init__(self, device: torch.device):
        self.device = device
        self.reset()

    def reset(self) -> None:
        self.sums = torch.zeros(len(self.KEYS), dtype=torch.float64, device=self.device)
        self.pairs = 0
        self.wait_s = 0.0
        self.start = time.perf_counter()

    def add(self, out, pairs: int, wait_s: float) -> None:
        self.sums += torch.stack([
            out.total.detach().double(), out.conf.detach().double(), out.reg.detach().double(),
            out.positive_correct.double(), out.num_positives.double(), out.negative_correct.double(),
            out.num_all_negatives.double(), torch.ones((), dtype=torch.float64, device=self.device),
        ])
        self.pairs += pairs
        self.wait_s += wait_s

    def flush(self, di: DistInfo, lr: float, bad_records: int = 0) -> dict[str, float]:
        """The interval's means over all processes; ``bad_records`` (damaged records met so far) is summed."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        extra = torch.tensor([self.pairs, self.wait_s, elapsed, bad_records], dtype=torch.float64, device=self.device)
        total = all_reduce_sum(torch.cat([self.sums, extra]), di).tolist()
        s = dict(zip(self.KEYS, total[: len(self.KEYS)]))
        pairs, wait_s, elapsed_sum, bad_sum = total[len(self.KEYS):]
        steps = max(s["steps"], 1)
        scalars = {
            "loss": s["loss"] / steps,
            "conf_loss": s["conf_loss"] / steps,
            "reg_loss": s["reg_loss"] / steps,
            "pos_accuracy": s["pos_correct"] / s["pos"] if s["pos"] else float("nan"),
            "neg_accuracy": s["neg_correct"] / s["neg"] if s["neg"] else float("nan"),
            "lr": lr,
            "pairs_per_s": pairs / (elapsed_sum / di.world),
            "data_wait_fraction": wait_s / elapsed_sum,
            "bad_records": bad_sum,
        }
        self.reset()
        return scalars


def _write_figure(make_figure, path: Path, writer, tag: str, step: int) -> None:
    """Draw a figure and write it to ``path`` (PNG) and to TensorBoard under ``tag``. Any error in
    doing so (a diverged model's boxes, a full disk, a plotting library's bug) is a warning and the
    run goes on: a picture must never end a training run."""
    figure = None
    try:
        figure = make_figure()
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format="png", dpi=80)  # the temp name has no suffix
        writer.add_figure(tag, figure, step)
    except Exception as exc:  # noqa: BLE001  (whatever went wrong, the weights are unaffected)
        _warn(f"could not write the figure {path} ({type(exc).__name__}: {exc}); training goes on")
    finally:
        if figure is not None:
            import matplotlib.pyplot as plt  # imported by make_figure already, with its backend chosen

            plt.close(figure)


def _warn(text: str) -> None:
    """A warning on stderr, shown with --quiet too (plain text: it holds paths)."""
    _stderr_console().print(f"warning: {text}", style="yellow", markup=False)
    log.info(text)


def _stderr_console():
    """Where the run's messages go; as wide as needed in a log file (rich would wrap at 80 columns)."""
    from rich.console import Console

    return Console(stderr=True, width=console_width(sys.stderr))


class _Progress:
    """Progress (steps, rate, ETA, last loss, pairs/s) on the main process, silent elsewhere: a rich
    bar on a terminal; plain lines at a steady interval when stderr is a log file, where a bar would
    show nothing until the run ends."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.console = _stderr_console()
        self.bar = None
        self.task = None
        self.plain = None
        self.epoch = 0

    def start(self, total: int, step: int, epoch: int) -> None:
        if not self.enabled:
            return
        self.epoch = epoch
        if self.bar is None and self.plain is None:
            self.plain = plain_progress(True, "train", total, "steps", self.console.file, done=step)
        if self.plain is not None:
            self.plain.total = total
            return
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("[bold]train[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                console=self.console,
            )
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, completed=step, rate="", info="")
        self.bar.update(self.task, total=total, info=f"epoch {epoch}")

    def update(self, step: int, scalars: dict | None = None) -> None:
        if self.bar is None and self.plain is None:
            return
        fields = {}
        if scalars is not None:
            fields["info"] = (f"loss {scalars['loss']:.3f} (conf {scalars['conf_loss']:.3f}, reg "
                              f"{scalars['reg_loss']:.3f}) wait {100 * scalars['data_wait_fraction']:.0f}%")
            fields["rate"] = f"{scalars['pairs_per_s']:.1f} pairs/s"
        if self.plain is not None:
            extra = f"epoch {self.epoch}, {fields['info']}, {fields['rate']}" if fields else None
            self.plain.update(step, extra=extra)
        else:
            self.bar.update(self.task, completed=step, **fields)

    def note(self, text: str) -> None:
        """Print a plain line (no markup: it holds run folders and sequence names) above the bar."""
        if self.bar is not None:
            self.bar.console.print(text, markup=False)
        elif self.enabled:
            self.console.print(text, markup=False)
        log.info(text)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if self.plain is not None:
            self.plain.finish()


def _log_start(cfg, model, sources, dataset, run_dir, device, di, step, cache) -> None:
    from rich.markup import escape

    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if sources.val_sequences:
        shown = ", ".join(sources.val_sequences[:5]) + (" ..." if len(sources.val_sequences) > 5 else "")
        validation = (f"validation on {len(sources.val_key)} pairs of {len(sources.val_sequences)} held-out "
                      f"sequence(s) ({escape(shown)})")
    else:
        validation = "[yellow]validation off[/] (data.val_fraction = 0, or a single sequence)"
    lines = [
        f"[bold]{cfg.model.name}[/]: {n_params / 1e6:.2f} M parameters ({n_train / 1e6:.2f} M trained) on {device}"
        f"{f' x {di.world} processes' if di.enabled else ''}; run folder {escape(str(run_dir))}"
        + (f"; resuming at step {step}" if step else ""),
        f"data: {len(sources.catalog)} training samples of {sources.catalog.num_units} targets from "
        f"{sources.num_folders} folder(s); {validation}",
    ]
    if cache is not None:
        lines.append(f"feature cache: {escape(str(cache.path))} ({cache.copies} cop{'y' if cache.copies == 1 else 'ies'}"
                     f" of {len(cache)} records, {'reused; it took' if cache.reused else 'built in'} "
                     f"{cache.build_seconds / 60:.1f} min); training the heads only")
    _stderr_console().print("\n".join(lines))
