"""What one dataset is, declared once: each adapter module ``dataprep/sources/<name>.py`` holds one
:class:`DatasetSpec` named ``SPEC``, and :mod:`dataprep.sources.registry` finds it there. Every list,
enum and per-dataset branch of the package (config checks and defaults, root paths, the CLI's
choices, shard sizing, reader options) is read from these specs, so adding a dataset is a siamcore
reader, an adapter module and ``pipelines/dataprep/<name>.toml``, nothing else.

Checks and hooks receive the build config duck-typed (``cfg.chunks``, ``cfg.splits``, ...): this
module and the adapters never import :mod:`dataprep.config`, which imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

VIDEO = "video"
"""Videos with their own selection (TrackingNet chunks, VID splits): one adapter of its own."""
STILLS = "stills"
"""Still images, one single-frame sequence per object (COCO, DET); listing units are images."""
FOLDER = "folder"
"""Sequence-folder datasets read through :mod:`dataprep.sources.folders`: names select
(``sequences`` / ``exclude_sequences``), no chunks, splits only where the spec lists some."""
KINDS = (VIDEO, STILLS, FOLDER)

Fail = Callable[[str], Any]
"""``fail(message)`` raises the config error (it never returns)."""


def _no_options(cfg) -> dict:
    return {}


def _unchanged(cfg, videos):
    return cfg


@dataclass(frozen=True, eq=False)
class DatasetSpec:
    """One dataset: its name, layout, defaults and the functions that read it (``eq=False``: one object
    per dataset, compared and hashed by identity)."""

    name: str
    """The ``--dataset`` name, ``dataset`` in configs and records (lower case)."""
    title: str
    """How messages name it (``"UAV123"``)."""
    kind: str
    """:data:`VIDEO`, :data:`STILLS` or :data:`FOLDER`."""
    root_default: str
    """The root when neither ``--root``, the config nor ``$SIAMTRACK_<NAME>_ROOT`` gives one."""
    help: str
    """Its layout in a few words, for ``dataprep build --help``."""
    list_videos: Callable
    """``list_videos(root, chunks=None, splits=None, **listing options) -> (videos, skips)``."""
    load_video: Callable
    """``load_video(video, **load_options(cfg)) -> (sequences, skips)``."""
    reader: ModuleType | None = None
    """The :mod:`siamcore.datasets` module that reads the layout (its ``LAYOUT``, when it declares one,
    is the layout ``tracker eval`` and the trainer name it by)."""
    splits: tuple[str, ...] = ()
    """The split names ``--split`` takes (a sequence-folder dataset without any takes none)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Config values applied when the config does not set the key (nested tables as dicts)."""
    targets_per_video: float = 1.0
    """Expected usable targets per listed video (image) where one can hold several. Only sizes shards:
    a fixed estimate, so the layout never depends on the data's content."""
    unit: str = "videos"
    """What a listing unit is called in summaries (``"images"`` for stills)."""
    class_vocabulary: str = ""
    """The names its ``class_name`` uses, for same-class distractors (:mod:`dataprep.class_map`):
    ``"coco"`` (COCO category names), ``"vid"`` (the ILSVRC VID classes) or ``""`` (none to match)."""
    check: Callable[[Any, Fail], None] | None = None
    """Its own config checks (``check(cfg, fail)``: chunks and splits) beyond the generic ones."""
    load_options: Callable[[Any], dict] = _no_options
    """Reader options beyond the video, from the build config (``load_options(cfg) -> kwargs``)."""
    resolve_selection: Callable[[Any, list], Any] = _unchanged
    """``(cfg, videos) -> cfg`` with what was selected made explicit, so that it enters the config hash."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"dataset {self.name!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    @property
    def root_env(self) -> str:
        """The environment variable that gives its root: ``SIAMTRACK_<NAME>_ROOT``."""
        return f"SIAMTRACK_{self.name.upper()}_ROOT"

    @property
    def is_folder(self) -> bool:
        return self.kind == FOLDER


def no_chunks(fail: Fail) -> None:
    """The check of a video or stills dataset given ``chunks`` (they are TrackingNet's)."""
    fail("'chunks' (--chunks) applies to TrackingNet only; VID selects 'splits'")


def no_splits(fail: Fail) -> None:
    """The check of a dataset given ``splits`` that takes none through the config."""
    fail("'splits' applies to VID only; TrackingNet selects 'chunks'")
