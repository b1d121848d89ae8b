"""Range and consistency checks of a :class:`~dataprep.config.schema.BuildConfig`: the generic ones
here, a dataset's own (chunks, splits) in its spec's ``check``."""

from __future__ import annotations

from dataprep.config.schema import ROLES, SCALE_JITTERS, START_METHODS, BuildConfig, ConfigError
from dataprep.sources.registry import DATASETS, FOLDER_DATASETS, SPECS


def validate(cfg: BuildConfig, src: str = "config") -> BuildConfig:
    """Range and consistency checks; returns ``cfg`` unchanged or raises ConfigError."""

    def fail(msg: str):
        raise ConfigError(f"{src}: {msg}")

    if cfg.dataset not in SPECS:
        fail(f"'dataset' must be one of {', '.join(DATASETS)}, got {cfg.dataset!r}")
    spec = SPECS[cfg.dataset]
    if spec.is_folder and (cfg.chunks is not None or (cfg.splits is not None and not spec.splits)):
        fail(f"{cfg.dataset} has no {'chunks' if cfg.chunks is not None else 'splits'}: select sequences with "
             f"--sequences a,b / 'sequences' (or leave some out with --exclude-sequences)")
    for key in ("sequences", "exclude_sequences"):
        names = getattr(cfg, key)
        if names is None:
            continue
        if not spec.is_folder:
            fail(f"'{key}' (--{key.replace('_', '-')}) applies to the sequence-folder datasets "
                 f"({', '.join(FOLDER_DATASETS)}); {cfg.dataset} selects 'chunks' / 'splits'")
        if not all(isinstance(n, str) and n.strip() and "," not in n for n in names):
            fail(f"'{key}' must be sequence names, got {names!r}")
    if spec.is_folder and cfg.splits is not None:
        if not cfg.splits or any(sp not in spec.splits for sp in cfg.splits):
            fail(f"{cfg.dataset} 'splits' (--split) must be {' and/or '.join(spec.splits)}, got {cfg.splits!r}")
    if spec.check is not None:
        spec.check(cfg, fail)
    if cfg.seed < 0:
        fail("'seed' must be >= 0")
    p = cfg.pairs
    if p.per_sequence < 1:
        fail("'pairs.per_sequence' must be >= 1")
    if p.max_gap < 0:
        fail("'pairs.max_gap' must be >= 0")
    if not 0.0 <= p.p_negative <= 1.0:
        fail("'pairs.p_negative' must be in [0, 1]")
    a = cfg.augment
    for k in ("search_shift_px", "exemplar_shift_px", "guide_sigma"):
        if getattr(a, k) < 0:
            fail(f"'augment.{k}' must be >= 0")
    if a.scale_jitter not in SCALE_JITTERS:
        fail(f"'augment.scale_jitter' must be one of {', '.join(SCALE_JITTERS)}, got {a.scale_jitter!r}")
    for k in ("search_scale", "exemplar_scale"):
        if not 0.0 <= getattr(a, k) < (1.0 if a.scale_jitter == "uniform" else 4.0):
            fail(f"'augment.{k}' must be in [0, 1) (log-uniform: [0, 4))")
    if not 1 <= cfg.output.jpeg_quality <= 100:
        fail("'output.jpeg_quality' must be in 1..100")
    if cfg.output.videos_per_shard < 0:
        fail("'output.videos_per_shard' must be >= 0 (0: shards sized by output.shard_mib)")
    if cfg.output.shard_mib < 1 or cfg.output.min_shards < 1:
        fail("'output.shard_mib' and 'output.min_shards' must be >= 1")
    for name, v in cfg.views.items():
        if v.role not in ROLES:
            fail(f"'views.{name}.role' must be one of {', '.join(ROLES)}, got {v.role!r}")
        if v.size < 8:
            fail(f"'views.{name}.size' must be >= 8 px")
        if v.context < 0 or v.extent <= 0:
            fail(f"'views.{name}': context must be >= 0 and extent > 0")
    for role in ROLES:
        if not cfg.views_by_role(role):
            fail(f"'views' needs at least one view with role {role!r}")
    _validate_stills_and_distractors(cfg, fail)
    for k in ("max_frame_pixels", "max_frame_bytes"):
        if getattr(cfg.limits, k) < 1:
            fail(f"'limits.{k}' must be >= 1")
    d = cfg.dask
    if d.workers < 1:
        fail("'dask.workers' (--workers) must be >= 1")
    if d.retries < 0:
        fail("'dask.retries' must be >= 0")
    if d.connect_timeout_s <= 0:
        fail("'dask.connect_timeout_s' must be > 0")
    if d.scheduler not in ("local", "synchronous") and "://" not in d.scheduler:
        fail(f"'dask.scheduler' must be local, synchronous or an address like tcp://HOST:8786, got {d.scheduler!r}")
    if d.start_method not in START_METHODS:
        fail(f"'dask.start_method' must be one of {', '.join(START_METHODS)}, got {d.start_method!r}")
    return cfg


def _validate_stills_and_distractors(cfg: BuildConfig, fail) -> None:
    if cfg.vot.polygon_mode not in ("bounding", "area"):
        fail(f"'vot.polygon_mode' must be \"bounding\" or \"area\", got {cfg.vot.polygon_mode!r}")
    if not 0.0 <= cfg.mot17.min_visibility <= 1.0:
        fail(f"'mot17.min_visibility' must be in [0, 1], got {cfg.mot17.min_visibility!r}")
    if cfg.coco.min_area_px < 0:
        fail("'coco.min_area_px' must be >= 0")
    t = cfg.distractors
    if t.source not in ("", "none", "coco"):
        fail(f"'distractors.source' must be \"coco\" or \"none\" (or empty), got {t.source!r}")
    if not 0.0 <= t.p_distractor <= 1.0:
        fail("'distractors.p_distractor' must be in [0, 1]")
    if not 0.0 < t.scale_min <= t.scale_max:
        fail("'distractors.scale_min' / 'scale_max' must satisfy 0 < scale_min <= scale_max")
    if not 0.0 <= t.max_iou <= 1.0:
        fail("'distractors.max_iou' must be in [0, 1]")
    if t.tries < 1:
        fail("'distractors.tries' must be >= 1")
    if t.feather_px < 0 or t.min_area_px < 0:
        fail("'distractors.feather_px' and 'distractors.min_area_px' must be >= 0")
    if t.split is not None and (not t.split or "/" in t.split):
        fail(f"'distractors.split' must name a COCO split like train2017, got {t.split!r}")
    ph = cfg.photometric
    if not (0.0 <= ph.brightness <= 1.0 and 0.0 <= ph.contrast < 1.0 and 0.0 <= ph.p_blur <= 1.0
            and ph.blur_sigma_max_px >= 0):
        fail("'photometric': brightness in [0, 1], contrast in [0, 1), p_blur in [0, 1], blur_sigma_max_px >= 0")
