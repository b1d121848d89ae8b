"""The build configuration: one dataclass tree, loaded from TOML, validated, overridden by the CLI.

Precedence, highest first: command-line flags, the ``--config`` TOML file, environment variables
(for paths only), built-in defaults (equal to ``pipelines/dataprep/<dataset>.toml``).

Paths:

- dataset root: ``--root``, else ``root`` in the config, else ``$SIAMTRACK_<NAME>_ROOT`` (:data:`ROOT_ENV`:
  TRACKINGNET, VID, COCO, OTB, VOT, DAVIS, TLP), else :data:`ROOT_DEFAULT` (``./data/trackingnet``,
  ``./data/ILSVRC2015``, ``./data/coco``, ``./data/otb``, ``./data/vot``, ``./data/DAVIS``, ``./data/TLP``).
- distractor bank (``[distractors]``): see :class:`DistractorConfig`.
- output folder: ``--out``, else ``out`` in the config, else ``$SIAMTRACK_DATA_OUT/<dataset>``,
  else ``./shards/<dataset>``.

Relative paths are relative to the current directory. Only the settings that change the output
bytes (:meth:`BuildConfig.hashed`) go into the config hash; paths and Dask settings do not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import siamcore.config
from siamcore.config import UnknownKeyError, WrongTypeError, build_dataclass, merge_tables
from siamcore.crop import View
from siamcore.datasets.mot17 import MIN_VISIBILITY

DATASETS = ("trackingnet", "vid", "coco", "otb", "vot", "davis", "tlp")
DATASETS += ("det", "uav123")
DATASETS += ("got10k", "lasot")
DATASETS += ("mot17",)
FOLDER_DATASETS = ("otb", "vot", "davis", "tlp")
"""Sequence-folder datasets, read through :mod:`siamcore.datasets`: no chunks or splits; names select."""
FOLDER_DATASETS += ("uav123",)
FOLDER_DATASETS += ("got10k", "lasot")
FOLDER_DATASETS += ("mot17",)
FOLDER_SPLITS = {"got10k": ("train", "val", "test"), "lasot": ("train", "test")}
"""Sequence-folder datasets that also have splits (``--split``), and the split names each takes."""
ROLES = ("exemplar", "search")
START_METHODS = ("auto", "fork", "forkserver", "spawn")

ROOT_ENV = {name: f"SIAMTRACK_{name.upper()}_ROOT" for name in DATASETS}
ROOT_DEFAULT = {
    "trackingnet": "data/trackingnet", "vid": "data/ILSVRC2015", "coco": "data/coco",
    "otb": "data/otb", "vot": "data/vot", "davis": "data/DAVIS", "tlp": "data/TLP",
}
ROOT_DEFAULT.update({"det": "data/ILSVRC2015", "uav123": "data/UAV123"})
ROOT_DEFAULT.update({"got10k": "data/GOT-10k", "lasot": "data/LaSOT"})
ROOT_DEFAULT.update({"mot17": "data/MOT17"})
OUT_ENV = "SIAMTRACK_DATA_OUT"
OUT_DEFAULT = "shards"

#: Per-dataset defaults applied when the config does not set the key.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "trackingnet": {},
    "vid": {"splits": ["train"]},
    # COCO: one pair per instance, a same-class distractor from COCO itself in every pair, and
    # photometric differences between the two crops of a still.
    "coco": {
        "splits": ["train2017"],
        "pairs": {"per_sequence": 1},
        "distractors": {"source": "coco", "p_distractor": 1.0},
        "photometric": {"enabled": True},
    },
    # DET stills (boxes only): one pair per object and photometric differences between the two crops of a
    # still, as COCO; distractors only with --distractors coco:ROOT.
    "det": {"pairs": {"per_sequence": 1}, "photometric": {"enabled": True}},
    "got10k": {"splits": ["train"]},
    "lasot": {"splits": ["train"]},  # never the test split unless asked
}

#: Output sizes at which the shift amplitudes are given; a view of size S shifts by ``shift * S / ref``.
REFERENCE_SIZE = {"exemplar": 127, "search": 255}


class ConfigError(siamcore.config.ConfigError):
    """A configuration problem; the message names the key or file and says what to do."""


@dataclass(frozen=True)
class ViewConfig:
    """A named crop view: ``role`` exemplar|search, output ``size`` px, context amount, extent."""

    role: str
    size: int
    context: float
    extent: float = 1.0

    def view(self) -> View:
        return View(self.size, self.context, self.extent)

    def as_dict(self) -> dict:
        return {"role": self.role, "size": self.size, "context": self.context, "extent": self.extent}


def default_views() -> dict[str, ViewConfig]:
    """SiamRPN's views: exemplar 127 @ 0.5, search 255 @ 1.5."""
    return {
        "exemplar": ViewConfig("exemplar", 127, 0.5),
        "search": ViewConfig("search", 255, 1.5),
    }


@dataclass(frozen=True)
class PairsConfig:
    per_sequence: int = 8
    """Pairs sampled per sequence (``--pairs-per-sequence``)."""
    max_gap: int = 100
    """Largest |search frame - exemplar frame|."""
    p_negative: float = 0.2
    """Probability that a pair's exemplar comes from another sequence (flagged ``negative``)."""


SCALE_JITTERS = ("uniform", "log-uniform")


@dataclass(frozen=True)
class AugmentConfig:
    search_shift_px: float = 64.0
    """Uniform target-centre shift, up to this many px at 255-px output scale, in x and y."""
    search_scale: float = 0.18
    """Scale jitter of the search window side: factor in [1 - s, 1 + s] (``scale_jitter = "uniform"``) or in
    [1 / (1 + s), 1 + s] uniform in log (``"log-uniform"``)."""
    exemplar_shift_px: float = 4.0
    """As ``search_shift_px`` for exemplar crops, at 127-px output scale."""
    exemplar_scale: float = 0.05
    guide_sigma: float = 0.25
    """Gaussian noise of the search guide box: sigma x box size on the centre, log-normal on the size."""
    scale_jitter: str = "uniform"
    """How window scale factors are drawn from ``search_scale`` / ``exemplar_scale``. ``"log-uniform"`` is
    symmetric in log: a tracker's size error is as often x 1.5 as / 1.5, and the network must learn to
    measure both (with ``"uniform"``, s = 0.5 gives targets 0.67-2x their usual size in the crop)."""


@dataclass(frozen=True)
class OutputConfig:
    jpeg_quality: int = 90
    shard_mib: int = 64
    """Shard size: a shard holds the consecutive (sorted) videos whose expected pairs fill about this
    many MiB (:func:`dataprep.task.shard_sizes`). One shard is one Dask task."""
    min_shards: int = 16
    """A build is cut into at least this many shards (when it has that many videos), so a small build
    still gives every worker several tasks. A fixed number, never the number of workers: the layout,
    and so every byte, is the same whatever runs the build."""
    videos_per_shard: int = 0
    """Exactly this many videos per shard instead of the size rule above (0: use the size rule)."""
    reduced_decode: bool = True
    """Decode a JPEG frame at 1/2 or 1/4 in the DCT domain when every crop cut from it still shrinks
    it by :data:`siamcore.crop.REDUCED_DECODE_MIN_SHRINK` after that (large targets): decoding is most
    of a pair's cost and the reduced decode is ~2-5x cheaper, as accurate by measurement. Changes
    the crops' bytes, so it is in the config hash and in ``build.json``'s ``resampling``."""

    def resampling(self) -> str:
        """The crop resampling method these settings give, as recorded in ``build.json``."""
        from siamcore.crop import resampling_method  # the one crop module, which names its methods

        return resampling_method(self.reduced_decode)


@dataclass(frozen=True)
class DaskConfig:
    workers: int = 2
    """Worker processes of the local cluster (one thread each)."""
    scheduler: str = "local"
    """``local`` (a LocalCluster), ``synchronous`` (in-process) or ``tcp://HOST:PORT`` (existing cluster)."""
    retries: int = 2
    """Extra attempts for a shard task whose worker failed."""
    connect_timeout_s: float = 30.0
    """How long to wait for a ``tcp://`` scheduler to answer and to have a worker."""
    malloc_trim_threshold_bytes: int = 128 << 20
    """``MALLOC_TRIM_THRESHOLD_`` for local workers: Dask's default (64 KiB) returns freed frame
    buffers to the OS after every decode, so the next decode page-faults them back in."""
    malloc_top_pad_bytes: int = 64 << 20
    """``MALLOC_TOP_PAD_`` for local workers."""
    start_method: str = "auto"
    """How local worker processes start: ``fork`` (``auto`` on Linux: a worker is a copy of the driver,
    which has imported the task code, so each costs 0.6-1 CPU-s less than a spawned one), ``forkserver``
    or ``spawn`` (``auto`` elsewhere: a fresh interpreter that imports everything again)."""
    dashboard: bool = False
    """Serve Dask's dashboard (``--dashboard``): its charts cost ~0.7 CPU-s to start and the workers'
    profiler samples every task; worth it on long builds you want to watch."""


@dataclass(frozen=True)
class CocoConfig:
    min_area_px: float = 1024.0
    """COCO instances with a smaller area (the annotation's ``area``) are skipped as targets: COCO's own
    "small object" bound, 32 x 32 px; such targets are mush at 127 px."""


@dataclass(frozen=True)
class VotConfig:
    polygon_mode: str = "bounding"
    """How a VOT polygon becomes the training box: ``bounding`` (its bounding rectangle, VOT's own
    axis-aligned convention) or ``area`` (centred on the polygon, the bounding rectangle's aspect, the
    polygon's area: what SiamRPN-style trackers initialise with). For a rotated target the bounding
    rectangle holds much background: 1.2-1.6x the area on the VOT sequences in ../shared/data."""


@dataclass(frozen=True)
class Mot17Config:
    min_visibility: float = MIN_VISIBILITY
    """A MOT17 ``gt.txt`` row gives a training box only when its visibility (the visible fraction of the
    pedestrian, 0..1) is at least this (and ``consider`` is 1, class 1); other frames are never used.
    0.5: below half visible, most of the box is the occluder, often another pedestrian
    (:mod:`siamcore.datasets.mot17`). On ../shared/data/mot17-mini 0.5 leaves 95 tracks with two usable
    frames or more, 0.3 leaves 117, 0 leaves 137."""


@dataclass(frozen=True)
class DistractorConfig:
    """Same-class distractors pasted into search crops (:mod:`dataprep.distractors`).

    ``source``: ``"coco"`` pastes instances from a COCO-format folder (``--distractors coco:ROOT``),
    ``""`` / ``"none"`` pastes nothing. ``root`` (a path, not hashed) defaults to the build's own root
    for COCO builds, else ``$SIAMTRACK_COCO_ROOT``, else ``./data/coco``; ``split`` to the build's
    split for a COCO build's own root, else ``train2017`` (or the only split the folder has).
    """

    source: str = ""
    root: str | None = None
    split: str | None = None
    p_distractor: float = 0.5
    """Probability that a record gets a distractor (COCO builds: 1.0)."""
    scale_min: float = 0.8
    """The distractor's geometric-mean size is the target's times U(scale_min, scale_max), aspect kept."""
    scale_max: float = 1.25
    max_iou: float = 0.3
    """Largest IoU of the distractor box with the target box in the search crop."""
    tries: int = 10
    """Uniform positions tried; when none keeps the IoU bound, nothing is pasted (flagged)."""
    feather_px: float = 1.0
    """Gaussian fade of the mask edge, inward, in search-crop px (0: hard edge)."""
    min_area_px: float = 1024.0
    """Bank instances with a smaller area are not used as sources."""


@dataclass(frozen=True)
class PhotometricConfig:
    """Brightness/contrast/blur change of the search crop of still-image pairs (:mod:`dataprep.photometric`)."""

    enabled: bool = False
    """Applied to pairs whose two crops come from the same frame of a still-image dataset (COCO: on)."""
    brightness: float = 0.1
    """Brightness shift uniform in +-this x 255."""
    contrast: float = 0.2
    """Contrast factor uniform in [1 - c, 1 + c]."""
    p_blur: float = 0.3
    """Probability of a Gaussian blur."""
    blur_sigma_max_px: float = 1.5
    """Blur sigma uniform in [0.3, this] px at a 255-px crop."""


@dataclass(frozen=True)
class LimitsConfig:
    """What one input may cost, checked before the work: inputs over a limit are skipped and recorded
    (``frame_too_large``), never decoded. Real frames are far below them, so they change nothing in a
    normal build; they are hashed because raising one can turn a skip into pairs."""

    max_frame_pixels: int = 64_000_000
    """Largest width x height a frame's JPEG header may claim (8K video: 33 Mpx)."""
    max_frame_bytes: int = 256 << 20
    """Largest frame file or zip member, by its declared and its read size."""


@dataclass(frozen=True)
class BuildConfig:
    dataset: str
    root: str | None = None
    out: str | None = None
    chunks: str | None = None
    """TrackingNet chunks, e.g. ``"0-5"`` or ``"0,2,4-5"``; all present ``TRAIN_k`` when unset."""
    splits: list[str] | None = None
    """VID splits (``train``, ``val``); ``["train"]`` by default (see :data:`DATASET_DEFAULTS`)."""
    sequences: list[str] | None = None
    """Sequence-folder datasets: build only these sequences (``--sequences a,b``; names as the readers
    give them, case-insensitive; a folder name selects all its targets). Unset = all. An unknown name
    is an error before any work."""
    exclude_sequences: list[str] | None = None
    """Sequence-folder datasets: leave these sequences out (``--exclude-sequences``), e.g. the ones you
    evaluate on. An unknown name is an error too (a typo must not let them in)."""
    seed: int = 0
    pairs: PairsConfig = field(default_factory=PairsConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    views: dict[str, ViewConfig] = field(default_factory=default_views)
    dask: DaskConfig = field(default_factory=DaskConfig)
    coco: CocoConfig = field(default_factory=CocoConfig)
    vot: VotConfig = field(default_factory=VotConfig)
    mot17: Mot17Config = field(default_factory=Mot17Config)
    distractors: DistractorConfig = field(default_factory=DistractorConfig)
    photometric: PhotometricConfig = field(default_factory=PhotometricConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)

    def replace(self, **changes) -> BuildConfig:
        return dataclasses.replace(self, **changes)

    def hashed(self) -> dict[str, Any]:
        """The settings that decide the output bytes (no paths, no Dask settings), JSON-ready.

        Sections added after the first release (``vot``, ``mot17``, ``limits``) enter only when they differ
        from their defaults: at the defaults they change no normal build's output (the default limits
        only refuse frames that earlier builds decoded into garbage), so builds made before these
        sections existed keep their hash and stay resumable."""
        d = dataclasses.asdict(self)
        for k in ("root", "out", "dask"):
            d.pop(k)
        d["distractors"].pop("root")
        for k, default in (("vot", VotConfig()), ("mot17", Mot17Config()), ("limits", LimitsConfig())):
            if getattr(self, k) == default:
                d.pop(k)
        if self.augment.scale_jitter == AugmentConfig.scale_jitter:
            d["augment"].pop("scale_jitter")  # added later: the default keeps earlier builds' hash
        return d

    def sha256(self) -> str:
        return canonical_sha256(self.hashed())

    def views_by_role(self, role: str) -> dict[str, ViewConfig]:
        """Views of one role, sorted by name (record and manifest order never depends on TOML order)."""
        return {name: self.views[name] for name in sorted(self.views) if self.views[name].role == role}

    def primary_view(self, role: str) -> str:
        """The view whose boxes go into the manifest: the one named like the role, else the first by name."""
        names = list(self.views_by_role(role))
        return role if role in names else names[0]


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical_sha256(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


# --- loading ------------------------------------------------------------------------------------


def _from_table(data: dict, src: str) -> BuildConfig:
    """:func:`siamcore.config.build_dataclass` with this package's wording; also takes ``chunks = 3``
    (an int) and ``splits`` / ``sequences`` / ``exclude_sequences`` as one comma-separated string."""
    if isinstance(data.get("chunks"), int) and not isinstance(data["chunks"], bool):
        data = {**data, "chunks": str(data["chunks"])}
    for key in ("splits", "sequences", "exclude_sequences"):
        if isinstance(data.get(key), str):
            data = {**data, key: split_names(data[key])}
    try:
        return build_dataclass(BuildConfig, data)
    except UnknownKeyError as exc:
        raise ConfigError(
            f"{src}: unknown key '{exc.key}' (known keys here: {', '.join(exc.known)}); check the spelling"
        ) from None
    except WrongTypeError as exc:
        raise ConfigError(f"{src}: '{exc.key}' must be {exc.expected}, got {exc.value!r}") from None
    except siamcore.config.ConfigError as exc:
        raise ConfigError(f"{src}: {exc}") from None


def config_from_dict(data: dict, src: str = "config") -> BuildConfig:
    """A validated BuildConfig from a parsed TOML table."""
    if "dataset" not in data:
        raise ConfigError(f"{src}: missing 'dataset' (one of {', '.join(DATASETS)})")
    data = merge_tables(DATASET_DEFAULTS.get(data["dataset"], {}), data)
    return validate(_from_table(data, src), src)


def load_config(path: str | os.PathLike | None, dataset: str | None = None) -> BuildConfig:
    """The config from a TOML file (or the defaults for ``dataset``), validated.

    When both are given, ``dataset`` must match the file's ``dataset``.
    """
    if path is None:
        if dataset is None:
            raise ConfigError(f"no dataset given: pass --dataset ({' or '.join(DATASETS)}) or --config FILE")
        return config_from_dict({"dataset": dataset}, "defaults")
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if dataset is not None:
        if data.get("dataset", dataset) != dataset:
            raise ConfigError(f"{path} is a config for dataset {data['dataset']!r}, but --dataset is {dataset!r}")
        data = {**data, "dataset": dataset}
    return config_from_dict(data, str(path))


def split_names(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [s.strip() for s in text.split(",") if s.strip()]


def parse_distractors_flag(spec: str) -> dict[str, Any]:
    """``--distractors coco:ROOT`` / ``coco`` / ``none`` -> DistractorConfig changes."""
    kind, _, root = spec.partition(":")
    kind = kind.strip().lower()
    if kind in ("none", "off", ""):
        return {"source": "none"}
    if kind != "coco":
        raise ConfigError(f"--distractors {spec!r}: use coco:ROOT (a COCO-format folder), coco, or none")
    return {"source": "coco", "root": root.strip() or None}


def with_overrides(cfg: BuildConfig, **flags) -> BuildConfig:
    """Apply CLI flags (None = not given): root, out, chunks, seed, pairs_per_sequence, workers, scheduler,
    split (VID / COCO), sequences / exclude_sequences (``"a,b"``), distractors (``coco:ROOT`` / ``none``),
    p_distractor."""
    changes: dict[str, Any] = {}
    for k in ("root", "out", "chunks", "seed"):
        if flags.get(k) is not None:
            changes[k] = str(flags[k]) if k in ("root", "out", "chunks") else flags[k]
    if flags.get("pairs_per_sequence") is not None:
        changes["pairs"] = dataclasses.replace(cfg.pairs, per_sequence=flags["pairs_per_sequence"])
    if flags.get("split") is not None:
        changes["splits"] = [str(flags["split"])]
    for k in ("sequences", "exclude_sequences"):
        if flags.get(k) is not None:
            value = flags[k]
            changes[k] = split_names(value) if isinstance(value, str) else [str(v) for v in value]
    distractors = {}
    if flags.get("distractors") is not None:
        distractors.update(parse_distractors_flag(str(flags["distractors"])))
    if flags.get("p_distractor") is not None:
        distractors["p_distractor"] = float(flags["p_distractor"])
    if distractors:
        changes["distractors"] = dataclasses.replace(cfg.distractors, **distractors)
    dask = {k: flags[k] for k in ("workers", "scheduler", "dashboard") if flags.get(k) is not None}
    if dask:
        changes["dask"] = dataclasses.replace(cfg.dask, **dask)
    return validate(dataclasses.replace(cfg, **changes), "command line")


def validate(cfg: BuildConfig, src: str = "config") -> BuildConfig:
    """Range and consistency checks; returns ``cfg`` unchanged or raises ConfigError."""

    def fail(msg: str):
        raise ConfigError(f"{src}: {msg}")

    if cfg.dataset not in DATASETS:
        fail(f"'dataset' must be one of {', '.join(DATASETS)}, got {cfg.dataset!r}")
    if cfg.dataset in FOLDER_DATASETS and (cfg.chunks is not None
                                           or (cfg.splits is not None and cfg.dataset not in FOLDER_SPLITS)):
        fail(f"{cfg.dataset} has no {'chunks' if cfg.chunks is not None else 'splits'}: select sequences with "
             f"--sequences a,b / 'sequences' (or leave some out with --exclude-sequences)")
    for key in ("sequences", "exclude_sequences"):
        names = getattr(cfg, key)
        if names is None:
            continue
        if cfg.dataset not in FOLDER_DATASETS:
            fail(f"'{key}' (--{key.replace('_', '-')}) applies to the sequence-folder datasets "
                 f"({', '.join(FOLDER_DATASETS)}); {cfg.dataset} selects 'chunks' / 'splits'")
        if not all(isinstance(n, str) and n.strip() and "," not in n for n in names):
            fail(f"'{key}' must be sequence names, got {names!r}")
    if cfg.chunks is not None:
        if cfg.dataset == "coco":
            fail("COCO has no chunks: drop --chunks / 'chunks' (it selects TrackingNet chunks); choose the COCO "
                 "split with --split, e.g. --split train2017")
        if cfg.dataset != "trackingnet":
            fail("'chunks' (--chunks) applies to TrackingNet only; VID selects 'splits'")
        from dataprep.sources import parse_chunks

        try:
            parse_chunks(cfg.chunks)
        except ValueError as exc:
            fail(str(exc))
    if cfg.splits is not None and cfg.dataset == "coco":
        if not cfg.splits or not all(s and "/" not in s and "\\" not in s for s in cfg.splits):
            fail(f"'splits' (--split) must name COCO splits like train2017, got {cfg.splits!r}")
    elif cfg.splits is not None and cfg.dataset in FOLDER_SPLITS:
        known = FOLDER_SPLITS[cfg.dataset]
        if not cfg.splits or any(sp not in known for sp in cfg.splits):
            fail(f"{cfg.dataset} 'splits' (--split) must be {' and/or '.join(known)}, got {cfg.splits!r}")
    elif cfg.splits is not None:
        if cfg.dataset != "vid":
            fail("'splits' applies to VID only; TrackingNet selects 'chunks'")
        bad = [s for s in cfg.splits if s not in ("train", "val")]
        if bad or not cfg.splits:
            fail(f"VID 'splits' (--split) must be train and/or val, got {cfg.splits!r}")
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


def distractors_enabled(cfg: BuildConfig) -> bool:
    return cfg.distractors.source == "coco" and cfg.distractors.p_distractor > 0


def resolve_distractors(cfg: BuildConfig, build_root: Path, environ=os.environ) -> BuildConfig:
    """Make the distractor bank explicit: ``root`` absolute, ``split`` named (see :class:`DistractorConfig`)."""
    t = cfg.distractors
    if not distractors_enabled(cfg):
        return cfg.replace(distractors=dataclasses.replace(t, source="none" if t.source == "" else t.source,
                                                           root=None))
    if t.root is None and cfg.dataset == "coco":
        root = Path(build_root).absolute()
    else:
        root = dataset_root("coco", t.root, environ).path
    split = t.split
    if split is None:
        own = cfg.dataset == "coco" and cfg.splits and root == Path(build_root).absolute()
        if own:
            split = cfg.splits[0]
        else:  # train2017, or the only split the folder has
            from dataprep.sources.coco import present_splits

            present = present_splits(root)
            split = present[0] if len(present) == 1 else "train2017"
    return cfg.replace(distractors=dataclasses.replace(t, root=str(root), split=split))


# --- paths --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPath:
    path: Path
    origin: str  # human-readable: where the value came from


def resolve_root(cfg: BuildConfig, environ=os.environ) -> ResolvedPath:
    return dataset_root(cfg.dataset, cfg.root, environ)


def dataset_root(dataset: str, given: str | None, environ=os.environ) -> ResolvedPath:
    """The root of ``dataset``: ``given`` (flag or config), else its environment variable, else the default."""
    env = ROOT_ENV[dataset]
    if given is not None:
        return ResolvedPath(Path(given).expanduser().absolute(), "--root / config 'root'")
    if environ.get(env):
        return ResolvedPath(Path(environ[env]).expanduser().absolute(), f"${env}")
    return ResolvedPath(Path(ROOT_DEFAULT[dataset]).absolute(), f"the default ./{ROOT_DEFAULT[dataset]}")


def resolve_out(cfg: BuildConfig, environ=os.environ) -> ResolvedPath:
    if cfg.out is not None:
        return ResolvedPath(Path(cfg.out).expanduser().absolute(), "--out / config 'out'")
    if environ.get(OUT_ENV):
        return ResolvedPath(Path(environ[OUT_ENV]).expanduser().absolute() / cfg.dataset, f"${OUT_ENV}/{cfg.dataset}")
    return ResolvedPath(Path(OUT_DEFAULT, cfg.dataset).absolute(), f"the default ./{OUT_DEFAULT}/{cfg.dataset}")


def missing_root_message(cfg: BuildConfig, root: ResolvedPath) -> str:
    env = ROOT_ENV[cfg.dataset]
    return (
        f"{cfg.dataset} root not found: looked in {root.path} (from {root.origin}). "
        f"Set it with --root DIR, with root = \"DIR\" in the --config file, or with the environment "
        f"variable {env}=DIR."
    )
