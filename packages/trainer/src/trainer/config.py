"""The one training configuration: strict dataclasses loaded from TOML.

Every run folder holds ``config.toml``, the *resolved* configuration (file + ``--set`` overrides +
command-line flags), so ``trainer fit --config RUN/config.toml`` repeats a run. Unknown keys are
errors (a typo must never silently fall back to a default), and so are values of the wrong type.

Sections: ``[model]`` (which network and its constructor arguments), ``[data]`` (shard folders,
mixture, epoch definition, loader), ``[augment]`` (photometric augmentation), ``[loss]`` (matching
thresholds and loss weights, seed 3.1), ``[optim]`` (optimiser, lr schedule, clipping),
``[train]`` (seed, batch, epochs, checkpoints, logging, device), ``[cache]`` (the frozen-trunk
feature cache) and ``[track_eval]`` (tracking evaluation on real sequences during training).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import siamcore.config
from siamcore.config import build_dataclass, merge_tables
from siamcore.toml import read_toml, toml_dumps, toml_value


class ConfigError(siamcore.config.ConfigError):
    """A configuration that cannot be used as written (unknown key, wrong type, bad value)."""


@dataclass
class ModelConfig:
    name: str = "siamrpn"
    # Constructor keyword arguments passed to ``tracker.models.create_model(name, **args)``.
    args: dict = field(default_factory=dict)
    # torchvision-named ImageNet weights or SiamFC AlexNet weights for the backbone ("" = none).
    backbone_weights: str = ""
    # Parameter-name prefixes to freeze (requires_grad False), e.g. ["backbone.conv1", "backbone.layer1"].
    freeze: list = field(default_factory=list)


@dataclass
class DataConfig:
    # Build folders written by ``dataprep build`` (``--shards`` on the command line).
    shards: list = field(default_factory=list)
    # Mixture weight per shard folder (empty = 1.0 each). With ``samples_per_epoch = 0`` a weight
    # multiplies the folder's pairs per sequence (1.0 = one pair per sequence, the seed's epoch);
    # otherwise the weights split ``samples_per_epoch`` between folders.
    weights: list = field(default_factory=list)
    samples_per_epoch: int = 0
    # Samples read in key order from one shard before moving to another shard (read locality).
    block_size: int = 64
    # Shuffle buffer (samples): the emission order mixes this many consecutive reads.
    shuffle_buffer: int = 1024
    workers: int = 4  # DataLoader workers, capped by the CPUs the process may use (trainer.loader.loader_workers)
    prefetch_factor: int = 4
    # Held-out sequences for validation (whole sequences): those named in ``val_sequences``
    # ("dataset/sequence", e.g. "davis/dog"), else those whose id hashes below ``val_fraction``, and
    # at least one whenever there are two or more sequences (0 = no validation).
    val_fraction: float = 0.02
    val_sequences: list = field(default_factory=list)
    val_samples: int = 256  # held-out positive pairs scored per validation (taken in turn per sequence)
    val_grid: int = 8
    # Exemplar re-pairing (trainer.plan.pick_exemplars): probability that a pair's exemplar is taken
    # from another record of the same target (a new positive pair, usually other frames) or of another
    # target (a new negative pair). 0 / 0 = the pairs as dataprep stored them. On small datasets this
    # multiplies the distinct pairs the heads see.
    same_sequence_p: float = 0.0
    other_sequence_p: float = 0.0
    # Damaged records (checksum or box check fails, JPEG does not decode) are skipped, logged in
    # RUN/skipped-rank*.jsonl and counted (TensorBoard data/bad_records); past this fraction of the
    # training records the run stops: the shards need rebuilding, not silent training around holes.
    max_bad_fraction: float = 0.01


@dataclass
class AugmentConfig:
    """Photometric augmentation of both crops (uint8, applied in the loader workers)."""

    grayscale_p: float = 0.2  # whole pair to gray (seed / author: 20 % of pairs)
    brightness_p: float = 0.5
    brightness_px: float = 32.0  # additive offset, uniform in +-brightness_px
    contrast_p: float = 0.5
    contrast: float = 0.2  # gain uniform in 1 +- contrast
    saturation_p: float = 0.5
    saturation: float = 0.3  # blend with gray, factor uniform in 1 +- saturation
    blur_p: float = 0.2
    blur_max_px: int = 5  # motion-blur kernel length, uniform in [3, blur_max_px]


@dataclass
class LossConfig:
    iou_positive: float = 0.55
    iou_negative: float = 0.3
    alpha: float = 1.5
    negatives_per_positive: int = 3
    min_negatives: int = 10  # hard negatives kept in a sample without positives
    best_positive: bool = False  # a target's best default box is positive when its IoU > iou_negative (SSD)


@dataclass
class OptimConfig:
    name: str = "adam"  # "adam" | "sgd"
    lr: float = 1e-3
    lr_decay: float = 0.99
    lr_decay_every: int = 1000  # steps
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max gradient norm; 0 = off
    warmup_steps: int = 0  # lr rises linearly from lr/warmup_steps to lr over the first steps; 0 = off
    backbone_lr_scale: float = 1.0  # the trunk's lr = lr * this (a trunk in model.freeze is not trained at all)


@dataclass
class TrainConfig:
    seed: int = 0
    batch_size: int = 16
    epochs: int = 100
    max_steps: int = 0  # 0 = no limit besides epochs
    device: str = "auto"  # "auto" | "cuda" | "cpu"
    amp: bool = True  # bf16 autocast, CUDA only
    channels_last: bool = True  # CUDA only
    log_every: int = 20
    checkpoint_every: int = 1000  # steps; a checkpoint is also written at each epoch end
    keep_checkpoints: int = 3
    validate: bool = True
    # Exponential moving average of the weights (torch.optim.swa_utils, decay per step; 0 = off). When
    # on, validation, tracking evaluation and the exported weights use the average.
    ema_decay: float = 0.0


@dataclass
class CacheConfig:
    """Frozen-trunk feature cache (:mod:`trainer.feature_cache`): needs every trunk parameter in
    ``model.freeze`` and a model whose trunk takes no guide mask."""

    enabled: bool = False
    copies: int = 1  # photometrically augmented copies of each record's crops (augmentation is baked in)
    dir: str = ""  # "" = RUN/feature-cache; a shared folder lets runs with the same data and trunk reuse it
    batch_size: int = 32  # crops per trunk pass while building


@dataclass
class TrackEvalConfig:
    """Tracking evaluation during training (:mod:`trainer.track_eval`): one-pass OTB-protocol runs of
    the current weights on real sequences, logged against steps and minutes of training. For
    reporting only: the run never picks weights by it."""

    root: str = ""  # dataset folder ("" = off)
    layout: str = "otb"  # its layout: otb | vot | davis | tlp (siamcore.datasets)
    sequences: list = field(default_factory=list)  # names under root (empty = all)
    every_steps: int = 0  # also after the last step; 0 = only after the last step (when root is set)
    # Tracking hyper-parameters TOML ("" = the model's defaults, pipelines/track/<model>.toml); the exported
    # weights record them, so that `tracker eval/run --weights RUN` tracks as this evaluation did.
    params: str = ""


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    track_eval: TrackEvalConfig = field(default_factory=TrackEvalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check(self) -> Config:
        """Value checks that types alone cannot express; returns self."""
        d, t, o, lo = self.data, self.train, self.optim, self.loss
        if o.name not in ("adam", "sgd"):
            raise ConfigError(f"optim.name must be 'adam' or 'sgd', got {o.name!r}")
        if t.device not in ("auto", "cuda", "cpu"):
            raise ConfigError(f"train.device must be 'auto', 'cuda' or 'cpu', got {t.device!r}")
        if d.weights and d.shards and len(d.weights) != len(d.shards):
            raise ConfigError(f"data.weights has {len(d.weights)} entries for {len(d.shards)} shard folders")
        if any(not (w >= 0 and math.isfinite(w)) for w in d.weights):
            raise ConfigError(f"data.weights must be finite and >= 0, got {d.weights}")
        if not 0 <= lo.iou_negative <= lo.iou_positive <= 1:
            raise ConfigError("need 0 <= loss.iou_negative <= loss.iou_positive <= 1")
        for name, value in (
            ("train.batch_size", t.batch_size),
            ("train.epochs", t.epochs),
            ("train.checkpoint_every", t.checkpoint_every),
            ("train.keep_checkpoints", t.keep_checkpoints),
            ("train.log_every", t.log_every),
            ("data.block_size", d.block_size),
            ("data.shuffle_buffer", d.shuffle_buffer),
            ("optim.lr_decay_every", o.lr_decay_every),
        ):
            if value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")
        if not (0 <= d.same_sequence_p <= 1 and 0 <= d.other_sequence_p <= 1
                and d.same_sequence_p + d.other_sequence_p <= 1):
            raise ConfigError("data.same_sequence_p and data.other_sequence_p must be in [0, 1] with a sum <= 1")
        if not 0 <= t.ema_decay < 1:
            raise ConfigError(f"train.ema_decay must be in [0, 1), got {t.ema_decay}")
        for section in dataclasses.fields(self):
            for f in dataclasses.fields(getattr(self, section.name)):
                value = getattr(getattr(self, section.name), f.name)
                if isinstance(value, float) and not math.isfinite(value):
                    raise ConfigError(f"{section.name}.{f.name} must be a finite number, got {value}")
        if not o.lr > 0:
            raise ConfigError(f"optim.lr must be > 0, got {o.lr}")
        if o.warmup_steps < 0 or not o.backbone_lr_scale >= 0:
            raise ConfigError("optim.warmup_steps and optim.backbone_lr_scale must be >= 0")
        if self.cache.copies < 1 or self.cache.batch_size < 1:
            raise ConfigError("cache.copies and cache.batch_size must be >= 1")
        if self.track_eval.every_steps < 0:
            raise ConfigError("track_eval.every_steps must be >= 0")
        if d.workers < 0 or t.max_steps < 0 or d.samples_per_epoch < 0:
            raise ConfigError("data.workers, train.max_steps and data.samples_per_epoch must be >= 0")
        if not 0 <= d.val_fraction < 1:
            raise ConfigError(f"data.val_fraction must be in [0, 1), got {d.val_fraction}")
        if not 0 <= d.max_bad_fraction <= 1:
            raise ConfigError(f"data.max_bad_fraction must be in [0, 1], got {d.max_bad_fraction}")
        return self


def from_dict(data: dict[str, Any], base: Config | None = None) -> Config:
    """Overlay a nested dict (as read from TOML) onto ``base`` (default: the seed defaults). Strict."""
    try:
        return build_dataclass(Config, data, base=Config() if base is None else base)
    except siamcore.config.ConfigError as exc:
        raise ConfigError(str(exc)) from None


def load_config(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Seed defaults, then the TOML file (if any), then ``key=value`` overrides; checked."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        data = read_toml(path, ConfigError)
    cfg = from_dict(data)
    return apply_overrides(cfg, overrides).check()


def parse_override(item: str) -> tuple[str, str, Any]:
    """``section.key=value`` -> (section, key, value); the value is read as TOML, else as a string."""
    if "=" not in item:
        raise ConfigError(f"--set expects section.key=value, got {item!r}")
    dotted, raw = item.split("=", 1)
    parts = dotted.strip().split(".")
    if len(parts) < 2:
        raise ConfigError(f"--set expects section.key=value, got {item!r}")
    value = toml_value(raw)
    if len(parts) > 2:  # e.g. model.args.width=32: a key inside a table field
        for p in reversed(parts[2:]):
            value = {p: value}
    return parts[0], parts[1], value


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    for item in overrides:
        section, key, value = parse_override(item)
        if isinstance(value, dict) and section in {f.name for f in dataclasses.fields(Config)}:
            current = getattr(getattr(cfg, section), key, None)
            if isinstance(current, dict):
                value = merge_tables(current, value)
        cfg = from_dict({section: {key: value}}, base=cfg)
    return cfg


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved config atomically (temp file + rename)."""
    from siamcore.atomic import write_bytes_atomic

    write_bytes_atomic(path, toml_dumps(cfg.to_dict()).encode("utf-8"))
