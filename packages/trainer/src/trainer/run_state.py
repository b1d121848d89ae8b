"""A run's state and how it starts: the model (seeded, trunk loaded and frozen), the optimiser and its
schedule, the weights' moving average, the position in the data, and what a checkpoint holds of them.

A checkpoint holds everything :class:`RunState` holds plus the RNG states, so that an interrupted and
resumed run ends with the same weights as an uninterrupted one (same number of ranks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from trainer import checkpoint as ckpt
from trainer.config import Config, ConfigError
from trainer.distributed import DistInfo, barrier, init_distributed
from trainer.feature_cache import FeatureCache, open_or_build

log = logging.getLogger(__name__)


class ResumeError(ValueError):
    """A run folder that this configuration cannot continue."""


def setup_process(device_name: str) -> tuple[torch.device, DistInfo]:
    """This process's device and rank: joins the torchrun process group (if any) and, on CUDA,
    takes the GPU of its local rank."""
    device = resolve_device(device_name)
    info = init_distributed(device.type)
    if device.type == "cuda" and info.enabled:
        device = torch.device("cuda", info.local_rank)
    return device, info


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
    """ResumeError unless ``state`` is a trainer checkpoint of the model ``cfg`` describes."""
    try:
        ckpt.check_format(state, path)
    except ckpt.CheckpointError as exc:
        raise ResumeError(str(exc)) from None
    saved = state["config"]["model"]
    if saved["name"] != cfg.model.name or saved["args"] != cfg.model.args:
        raise ResumeError(
            f"{path} was trained as model {saved['name']!r} with args {saved['args']}, but this config asks for "
            f"{cfg.model.name!r} with args {cfg.model.args}: resume with the run's own config.toml or start a new run"
        )


def open_feature_cache(cfg: Config, model, sources, run_dir: Path, progress: bool, di: DistInfo) -> FeatureCache | None:
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


@dataclass
class RunState:
    """What a checkpoint restores: weights, optimiser, moving average and the position in the data.
    ``train_seconds`` counts the feature cache's build and the steps, not validation or evaluation."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    ema: object | None  # torch.optim.swa_utils.AveragedModel
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    train_seconds: float = 0.0

    @property
    def eval_model(self) -> torch.nn.Module:
        """What is validated, tracked and exported: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model

    @classmethod
    def start(cls, cfg: Config, model, saved: dict | None, train_seconds: float, world: int) -> "RunState":
        """The optimiser and moving average of ``model`` (already on its device), restored from the
        checkpoint ``saved`` when resuming (RNG states included)."""
        run = cls(model, make_optimizer(cfg, model), None, train_seconds=train_seconds)
        if saved is not None:
            run.optimizer.load_state_dict(saved["optimizer"])
            run.step, run.epoch = int(saved["step"]), int(saved["epoch"])
            run.batch_in_epoch = int(saved["batch_in_epoch"])
            run.train_seconds = float(saved.get("train_seconds", train_seconds))
            ckpt.set_rng_state(saved["rng"])
            if int(saved.get("world", 1)) != world:
                log.warning("resuming a %s-process run with %s processes: the data order will differ",
                            saved["world"], world)
        run.ema = make_ema(model, cfg.train.ema_decay)
        if saved is not None and run.ema is not None and "ema_model" in saved:
            run.ema.module.load_state_dict(saved["ema_model"])
            run.ema.n_averaged.fill_(int(saved["ema_updates"]))
        return run

    def save(self, cfg: Config, run_dir: Path, world: int) -> Path:
        """Write a checkpoint of this state (keeping ``train.keep_checkpoints``); returns its path."""
        ema = {"ema_model": self.ema.module.state_dict(), "ema_updates": int(self.ema.n_averaged)} if self.ema else {}
        return ckpt.save_checkpoint(
            {
                "format": ckpt.CHECKPOINT_FORMAT,
                "config": cfg.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "step": self.step,
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "world": world,
                "rng": ckpt.rng_state(),
                "train_seconds": self.train_seconds,
                **ema,
            },
            run_dir, self.step, cfg.train.keep_checkpoints,
        )


def load_saved(run_dir: Path, cfg: Config, warn) -> dict:
    """The newest usable checkpoint of ``run_dir`` for ``cfg`` (ResumeError when there is none or it
    cannot continue with this config); damaged newer ones are reported through ``warn``."""
    try:
        latest, saved, skipped = ckpt.load_newest(run_dir)
    except ckpt.CheckpointError as exc:
        raise ResumeError(str(exc)) from None
    for reason in skipped:
        warn(f"skipped {reason}; resuming from {latest}")
    check_resumable(saved, cfg, latest)
    return saved
