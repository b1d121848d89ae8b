"""The build configuration's shape: one frozen dataclass per TOML table, :class:`BuildConfig` at the
top. Defaults here are the ones every dataset shares; a dataset's own defaults are in its spec
(:data:`dataprep.sources.registry.DATASET_DEFAULTS`). Only the settings that change the output bytes
(:meth:`BuildConfig.hashed`) go into the config hash; paths and Dask settings do not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import siamcore.config
from siamcore.crop import View
from siamcore.datasets.mot17 import MIN_VISIBILITY

from dataprep.config.hashing import canonical_sha256

ROLES = ("exemplar", "search")
START_METHODS = ("auto", "fork", "forkserver", "spawn")

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
