"""Stream training pairs from ``dataprep`` shard folders: manifests, views check, the IterableDataset.

:func:`open_sources` reads each folder's ``build.json`` and ``manifest/samples.parquet`` once (in
the main process), checks that the folder stores the crops the model needs (same size, context and
extent per role; guide boxes when the model takes guide masks) and refuses otherwise, splits off
held-out validation sequences, and builds the :class:`~trainer.plan.Catalog`.

:class:`PairStream` is the ``IterableDataset``: ``set_epoch(epoch, start_batch)`` fixes the epoch's
plan (see :mod:`trainer.plan`); each DataLoader worker then builds whole batches: it reads the
batch's records in shard/key order through lazily opened, read-only, lock-free LMDB readers,
decodes the two JPEG crops, augments them with a generator keyed by ``(seed, epoch, position)`` and
stacks them into uint8 ``[B, H, W, 3]`` tensors (channels-last memory: ``permute(0, 3, 1, 2)``
on the device gives NCHW in ``channels_last`` for free). A record that does not unpack (its
checksum or box check fails) or decode is logged and skipped (the batch is one smaller; the reason is
in ``batch["skipped"]``, the record as ``"shard-file:key"`` in ``batch["bad_records"]``); the training
loop counts them and stops past ``data.max_bad_fraction`` (:func:`check_bad_records`).
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import IterableDataset, get_worker_info

from siamcore.cpus import usable_cpus
from siamcore.schema import SchemaError, unpack, view_signature
from siamcore.shards import BuildInfo, ShardDamagedError, ShardReader, check_shard_file, open_build
from tracker.models import box_mask
from trainer.augment import augment_pair
from trainer.config import AugmentConfig
from trainer.plan import Catalog, EpochPlan, make_catalog, plan_epoch, stable_fraction

log = logging.getLogger(__name__)

ROLES = ("exemplar", "search")
MANIFEST_COLUMNS = ("shard", "key", "dataset", "sequence", "track", "exemplar_sequence", "negative")


class DataError(ValueError):
    """Shard folders that cannot be used for this model (missing files, wrong views, empty, damaged)."""


class BadRecord(ValueError):
    """A record that cannot be used; ``where`` is ``"shard-file:key"`` (what the skip log and counter use)."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where


def check_bad_records(bad: int, total: int, max_fraction: float, example: str = "") -> None:
    """Raise :class:`DataError` when more than ``max_fraction`` of the ``total`` training records are bad.

    A few damaged records are skipped; many mean damaged shards, and a model trained around them would
    quietly differ from the one the data describes."""
    if bad > max_fraction * total:
        raise DataError(
            f"{bad} of {total} training records are damaged (more than data.max_bad_fraction = {max_fraction}"
            f"{'; e.g. ' + example if example else ''}): run `dataprep verify` on the shard folders and rebuild "
            "them, or raise data.max_bad_fraction"
        )


def match_views(build_views: dict[str, dict], model_views: dict, where: str) -> dict[str, str]:
    """Role -> stored view name whose (role, size, context, extent) equals the model's view.

    Raises :class:`DataError` saying what the model needs and what the folder has.
    """
    chosen = {}
    for role in ROLES:
        view = model_views[role]
        want = view_signature({"role": role, **view.as_dict()})
        names = sorted(n for n, v in build_views.items() if view_signature(v) == want)
        if not names:
            have = ", ".join(
                f"{n} ({v['role']} {v['size']} px @ context {v['context']}, extent {v.get('extent', 1.0)})"
                for n, v in sorted(build_views.items())
            ) or "none"
            raise DataError(
                f"{where}: the model needs a {role} crop of {view.size} px at context {view.context} "
                f"(extent {view.extent}), but the shards store: {have}. Rebuild the shards with a "
                f"dataprep config whose views include it."
            )
        chosen[role] = names[0]
    return chosen


def _check_guides(build: BuildInfo, crop_names: dict[str, str]) -> None:
    """A guide-mask model needs ``guide_xyxy`` in both crops: look at the first record of the folder."""
    for shard in build.shards:
        reader = shard.reader()
        try:
            for key, raw in reader.iter_raw():
                try:
                    record = unpack(raw)
                except SchemaError:
                    continue
                missing = [r for r, n in crop_names.items() if record["crops"][n].get("guide_xyxy") is None]
                if missing:
                    raise DataError(
                        f"{build.out_dir}: the model takes guide masks but record {key!r} has no guide box "
                        f"in its {', '.join(missing)} crop; rebuild the shards with guide boxes enabled"
                    )
                return
        finally:
            reader.close()


@dataclass
class Sources:
    """Everything the loader needs, read once: folders, chosen crops, readers, train catalog, val rows."""

    folders: list[BuildInfo]
    crop_names: list[dict[str, str]]  # per folder: role -> view name
    readers: list[ShardReader]  # global shard index -> reader (opened lazily, per process)
    shard_folder: np.ndarray  # global shard index -> folder index
    catalog: Catalog  # training rows
    val_shard: np.ndarray  # held-out pairs (positives), global shard index
    val_key: np.ndarray
    dataset_counts: dict[str, int] = field(default_factory=dict)
    needs_guide: bool = False  # records without guide boxes are skipped
    val_sequences: list[str] = field(default_factory=list)  # held-out "dataset/sequence" ids

    @property
    def num_folders(self) -> int:
        return len(self.folders)


def open_sources(
    paths: list[str | Path], model, val_fraction: float = 0.02, val_samples: int = 256,
    val_sequences: list[str] | tuple[str, ...] = (),
) -> Sources:
    """Open and check the shard folders for ``model`` (see module docstring and
    :func:`held_out_sequences` for the validation split)."""
    if not paths:
        raise DataError("no shard folders given: pass --shards DIR [DIR ...] (folders written by `dataprep build`)")
    folders, crop_names, readers, shard_folder, tables = [], [], [], [], []
    for f, path in enumerate(paths):
        build = open_build(path)  # FileNotFoundError / SchemaError (version) with advice
        names = match_views(build.views, model.views, str(path))
        missing = [str(s.path) for s in build.shards if not s.path.is_file()]
        if missing:
            raise DataError(
                f"{path}: {len(missing)} shard file(s) listed in build.json are missing, e.g. {missing[0]}; "
                "copy the whole build folder or rebuild it"
            )
        for shard in build.shards:
            try:
                check_shard_file(shard.path)  # a truncated file would kill a loader with SIGBUS
            except ShardDamagedError as exc:
                raise DataError(f"{path}: shard {shard.name} is damaged: {exc}") from None
        if build.build.get("schema_version") == 1:
            log.warning("%s: version-1 shards, records carry no checksum (damaged bytes are caught only by the "
                        "box check); rebuild with this dataprep to get per-record checksums", path)
        if getattr(model, "needs_guide", False):
            _check_guides(build, names)  # reads the shards: after the check that they exist
        if not build.samples_path.is_file():
            raise DataError(f"{build.samples_path} not found: the build folder is incomplete")
        base = len(readers)
        shard_index = {s.name: base + i for i, s in enumerate(build.shards)}
        readers.extend(s.reader() for s in build.shards)
        shard_folder.extend([f] * len(build.shards))
        table = pq.read_table(build.samples_path, columns=list(MANIFEST_COLUMNS)).to_pydict()
        unknown = sorted(set(table["shard"]) - set(shard_index))
        if unknown:
            raise DataError(f"{build.samples_path} names shards not in build.json: {unknown[:3]}")
        table["shard"] = [shard_index[name] for name in table["shard"]]
        tables.append(table)
        folders.append(build)
        crop_names.append(names)

    sequences = sorted({(d, s) for t in tables for d, s in zip(t["dataset"], t["sequence"])})
    held = held_out_sequences(sequences, val_fraction, val_sequences)
    cols: dict[str, list] = {k: [] for k in ("folder", "shard", "key", "unit", "val", "negative")}
    units: dict[tuple, int] = {}
    counts: dict[str, int] = {}
    for f, table in enumerate(tables):
        for shard, key, dataset, seq, track, ex_seq, neg in zip(*(table[c] for c in MANIFEST_COLUMNS)):
            held_out, ex_held_out = (dataset, seq) in held, (dataset, ex_seq) in held
            if held_out != ex_held_out:
                continue  # a negative pair straddling the split: in neither set
            cols["folder"].append(f)
            cols["shard"].append(shard)
            cols["key"].append(key)
            # A unit is one target (a sequence's track): re-pairing only joins crops of the same target.
            cols["unit"].append(units.setdefault((f, dataset, seq, track), len(units)))
            cols["val"].append(held_out)
            cols["negative"].append(bool(neg))
            counts[dataset] = counts.get(dataset, 0) + 1
    arr = {k: np.asarray(v, dtype=object if k == "key" else None) for k, v in cols.items()}
    train = ~arr["val"].astype(bool) if len(arr["key"]) else np.zeros(0, dtype=bool)
    catalog = make_catalog(arr["folder"][train], arr["shard"][train], arr["key"][train], arr["unit"][train],
                           arr["negative"][train].astype(bool))
    if len(catalog) == 0:
        raise DataError(f"no training samples in {', '.join(map(str, paths))} (empty manifests?)")
    val_shard, val_key = _validation_rows(arr, ~train, val_samples)
    return Sources(
        folders, crop_names, readers, np.asarray(shard_folder), catalog, val_shard, val_key, counts,
        bool(getattr(model, "needs_guide", False)), sorted(f"{d}/{s}" for d, s in held),
    )


def held_out_sequences(
    sequences: list[tuple[str, str]], fraction: float, named: list[str] | tuple[str, ...] = ()
) -> set[tuple[str, str]]:
    """The ``(dataset, sequence)`` pairs held out for validation: whole sequences, never single pairs.

    ``named`` (``"dataset/sequence"`` strings) chooses them explicitly (an unknown name is an error).
    Otherwise a sequence is held out when a hash of its id falls below ``fraction`` (stable when
    data is added), and when that picks none although there are two or more sequences, the one
    with the smallest hash is held out: validation is never silently off.
    """
    if named:
        index = {f"{d}/{s}": (d, s) for d, s in sequences}
        unknown = [n for n in named if n not in index]
        if unknown:
            known = ", ".join(sorted(index)[:12]) + (" ..." if len(index) > 12 else "")
            raise DataError(f"data.val_sequences names unknown sequence(s) {unknown}; known (dataset/sequence): {known}")
        return {index[n] for n in named}
    if fraction <= 0 or len(sequences) < 2:
        return set()
    ranked = sorted(sequences, key=lambda ds: stable_fraction(f"{ds[0]}/{ds[1]}"))
    held = {ds for ds in ranked if stable_fraction(f"{ds[0]}/{ds[1]}") < fraction}
    return held or {ranked[0]}


def _validation_rows(arr: dict[str, np.ndarray], val: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``limit`` positive pairs of the held-out sequences, taken in turn from each sequence
    (each sequence's pairs in key-hash order), so that one long sequence cannot crowd out the rest."""
    idx = np.flatnonzero(val & ~arr["negative"].astype(bool)) if len(val) else np.zeros(0, dtype=np.int64)
    by_unit: dict[int, list[int]] = {}
    for i in idx:
        by_unit.setdefault(int(arr["unit"][i]), []).append(int(i))
    queues = [sorted(rows, key=lambda i: stable_fraction(str(arr["key"][i]))) for _, rows in sorted(by_unit.items())]
    chosen: list[int] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        chosen.extend(q[turn] for q in queues if turn < len(q))
    chosen = np.asarray(chosen[:limit], dtype=np.int64)
    return arr["shard"][chosen].astype(np.int64), arr["key"][chosen]


def decode_jpeg_rgb(data: bytes, size: int) -> np.ndarray:
    """A stored crop -> ``size x size x 3`` uint8 RGB; ValueError when the bytes are not that image."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR_RGB)
    if image is None or image.shape != (size, size, 3):
        got = None if image is None else image.shape
        raise ValueError(f"crop JPEG does not decode to {size}x{size}x3 (got {got})")
    return image


def guide_box(crop: dict) -> list[float]:
    """A crop's guide box ``xyxy`` (NaN x 4 when the record has none)."""
    g = crop.get("guide_xyxy")
    return [float("nan")] * 4 if g is None else [float(v) for v in g]


class PairStream(IterableDataset):
    """Batches of training pairs for one DDP rank; see the module docstring and :mod:`trainer.plan`.

    Yields dicts: ``exemplar`` / ``search`` uint8 ``[b, H, W, 3]``, ``search_box_xyxy`` and the
    guide boxes float32 ``[b, 4]`` (NaN when absent), ``negative`` bool ``[b]``, ``keys``,
    ``skipped`` and ``bad_records`` (lists of str), ``batch_index`` (int).
    """

    def __init__(
        self,
        sources: Sources,
        batch_size: int,
        seed: int,
        augment: AugmentConfig | None,
        weights=(),
        samples_per_epoch: int = 0,
        block_size: int = 64,
        shuffle_buffer: int = 1024,
        rank: int = 0,
        world: int = 1,
        same_sequence_p: float = 0.0,
        other_sequence_p: float = 0.0,
    ):
        super().__init__()
        single_threaded_opencv()  # before any DataLoader forks workers from this process
        self.sources = sources
        self.batch_size = batch_size
        self.seed = seed
        self.augment = augment
        self.weights = list(weights)
        self.samples_per_epoch = samples_per_epoch
        self.block_size = block_size
        self.shuffle_buffer = shuffle_buffer
        self.rank, self.world = rank, world
        self.same_sequence_p, self.other_sequence_p = same_sequence_p, other_sequence_p
        self.plan: EpochPlan | None = None
        self.start_batch = 0

    def plan_for(self, epoch: int) -> EpochPlan:
        return plan_epoch(
            self.sources.catalog, self.sources.num_folders, self.weights, self.samples_per_epoch,
            self.seed, epoch, self.rank, self.world, self.batch_size, self.block_size, self.shuffle_buffer,
            self.same_sequence_p, self.other_sequence_p,
        )

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Fix the plan of ``epoch`` and skip its first ``start_batch`` batches (resume)."""
        self.plan = self.plan_for(epoch)
        self.start_batch = start_batch

    def __len__(self) -> int:
        return 0 if self.plan is None else max(0, self.plan.num_batches - self.start_batch)

    def __iter__(self):
        if self.plan is None:
            raise RuntimeError("call set_epoch(epoch) before iterating")
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        for j in self.plan.worker_batches(self.start_batch, worker, workers):
            rows, exemplar_rows, negative, positions = self.plan.batch(j)
            yield self.load_batch(rows, exemplar_rows, negative, positions, j)

    def load_batch(self, rows: np.ndarray, exemplar_rows: np.ndarray, negative: np.ndarray, positions: np.ndarray,
                   batch_index: int) -> dict[str, Any]:
        cat = self.sources.catalog
        rngs = None
        if self.augment is not None:
            rngs = [np.random.default_rng([self.seed, self.plan.epoch, int(p)]) for p in positions]
        return load_pairs(self.sources, cat.shard[rows], cat.key[rows], rngs, self.augment, batch_index,
                          cat.shard[exemplar_rows], cat.key[exemplar_rows], negative)


def load_pairs(
    sources: Sources, shards, keys, rngs=None, augment: AugmentConfig | None = None, batch_index: int = -1,
    exemplar_shards=None, exemplar_keys=None, negative=None,
) -> dict[str, Any]:
    """Read, decode (and augment) pairs, reading in shard/key order, returning them in the given order.

    Pair ``i`` is the search crop of record ``keys[i]`` with the exemplar crop of record
    ``exemplar_keys[i]`` (default: the same record) and the negative flag ``negative[i]`` (default:
    the record's own); see :func:`trainer.plan.pick_exemplars`.
    """
    n = len(keys)
    if exemplar_keys is None:
        exemplar_shards, exemplar_keys = shards, keys
    read_order = sorted(range(n), key=lambda i: (int(shards[i]), str(keys[i])))
    loaded: dict[int, tuple] = {}
    skipped: list[str] = []
    bad_records: list[str] = []
    for i in read_order:
        shard, key = int(shards[i]), str(keys[i])
        reader = sources.readers[shard]
        try:
            exemplar, search, ex_crop, se_crop, record = read_pair(
                sources, shard, key, int(exemplar_shards[i]), str(exemplar_keys[i]))
            if sources.needs_guide and (ex_crop["guide_xyxy"] is None or se_crop["guide_xyxy"] is None):
                raise ValueError("no guide box, but the model takes guide masks")
        except (SchemaError, KeyError, ValueError) as exc:
            message = str(exc) if isinstance(exc, BadRecord) else f"{reader.path.name}:{key}: {exc}"
            log.warning("skipping record %s", message)
            skipped.append(message)
            bad_records.append(exc.where if isinstance(exc, BadRecord) else f"{reader.path.name}:{key}")
            continue
        if rngs is not None:
            exemplar, search = augment_pair(exemplar, search, rngs[i], augment)
        neg = record["negative"] if negative is None else bool(negative[i])
        loaded[i] = (exemplar, search, se_crop["box_xyxy"], neg, guide_box(ex_crop), guide_box(se_crop), key)
    if not loaded:
        raise DataError(
            f"all {n} records of batch {batch_index} are unreadable (first: {skipped[0] if skipped else '-'}); "
            "the shards look damaged: rebuild them"
        )
    items = [loaded[i] for i in range(n) if i in loaded]
    return {
        "exemplar": torch.from_numpy(np.stack([it[0] for it in items])),
        "search": torch.from_numpy(np.stack([it[1] for it in items])),
        "search_box_xyxy": torch.tensor([it[2] for it in items], dtype=torch.float32),
        "negative": torch.tensor([bool(it[3]) for it in items], dtype=torch.bool),
        "exemplar_guide_xyxy": torch.tensor([it[4] for it in items], dtype=torch.float32),
        "search_guide_xyxy": torch.tensor([it[5] for it in items], dtype=torch.float32),
        "keys": [it[6] for it in items],
        "skipped": skipped,
        "bad_records": bad_records,
        "batch_index": batch_index,
    }


def read_record(sources: Sources, shard: int, key: str) -> dict:
    """One record, unpacked and checked (checksum, fields, box values); :class:`BadRecord` names its
    shard file and key when it cannot be used."""
    reader = sources.readers[shard]
    try:
        return unpack(reader.raw(key))
    except (SchemaError, KeyError) as exc:
        raise BadRecord(f"{reader.path.name}:{key}", str(exc)) from exc


def read_pair(sources: Sources, shard: int, key: str, exemplar_shard: int | None = None,
              exemplar_key: str | None = None) -> tuple[np.ndarray, np.ndarray, dict, dict, dict]:
    """The search crop of record ``key`` and the exemplar crop of record ``exemplar_key`` (default: the
    same record), decoded: ``(exemplar, search, exemplar_crop, search_crop, search_record)``. Raises
    :class:`BadRecord` for a record that is missing or does not unpack, ValueError for a crop that
    does not decode."""
    record = read_record(sources, shard, key)
    if exemplar_key is None or (exemplar_shard, exemplar_key) == (shard, key):
        ex_record, exemplar_shard = record, shard
    else:
        ex_record = read_record(sources, exemplar_shard, exemplar_key)
    ex_crop = ex_record["crops"][sources.crop_names[int(sources.shard_folder[exemplar_shard])]["exemplar"]]
    se_crop = record["crops"][sources.crop_names[int(sources.shard_folder[shard])]["search"]]
    exemplar = decode_jpeg_rgb(ex_crop["jpeg"], int(ex_crop["size"]))
    search = decode_jpeg_rgb(se_crop["jpeg"], int(se_crop["size"]))
    return exemplar, search, ex_crop, se_crop, record


def single_threaded_opencv() -> None:
    """One OpenCV thread, set in the main process *before* DataLoader workers fork.

    Workers are the parallelism; and a forked child must never touch OpenCV's thread pool
    inherited from a parent that used it (even ``cv2.setNumThreads`` in the child hangs).
    """
    cv2.setNumThreads(1)


def loader_workers(requested: int) -> tuple[int, str | None]:
    """``data.workers`` capped by :func:`siamcore.cpus.usable_cpus`, and the line that says so (None when not capped).
    More workers than CPUs only take turns on them while each holds its prefetched batches in memory,
    and torch would warn about it at every epoch; the batches do not depend on the number of workers."""
    cpus = usable_cpus()
    if requested <= cpus:
        return requested, None
    return cpus, f"data.workers {requested} -> {cpus}: this process may use {cpus} CPU{'s' if cpus > 1 else ''}"


def worker_init(_worker_id: int) -> None:
    """DataLoader workers ignore Ctrl-C: the main process stops the run at a step boundary."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def images_to_device(images_nhwc: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 ``[B, H, W, 3]`` (pinned) -> float ``[B, 3, H, W]`` 0..255 on ``device``.

    The copy is asynchronous (``non_blocking``); the cast happens on the device. The permuted
    tensor is channels-last in memory already; on request it stays so, otherwise it is made NCHW.
    """
    x = images_nhwc.to(device, non_blocking=True).permute(0, 3, 1, 2).float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def feature_inputs(
    batch: dict[str, Any], device: torch.device, needs_guide: bool, views: dict
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A feature-cache batch's ``(exemplar_features, search_features, exemplar_guide, search_guide)`` on
    ``device`` (float32), the arguments of ``model(..., features=True)``; guide masks at crop size."""
    exemplar = batch["exemplar_features"].to(device, non_blocking=True).float()
    search = batch["search_features"].to(device, non_blocking=True).float()
    if not needs_guide:
        return exemplar, search, None, None
    exemplar_guide = box_mask(batch["exemplar_guide_xyxy"].to(device), views["exemplar"].size)
    search_guide = box_mask(batch["search_guide_xyxy"].to(device), views["search"].size)
    return exemplar, search, exemplar_guide, search_guide


def model_inputs(
    batch: dict[str, Any], device: torch.device, channels_last: bool, needs_guide: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A batch's ``(exemplar, search, exemplar_guide, search_guide)`` on ``device``, the arguments of
    the model's forward; the guide masks (:func:`tracker.models.box_mask`) only when it takes them."""
    exemplar = images_to_device(batch["exemplar"], device, channels_last)
    search = images_to_device(batch["search"], device, channels_last)
    if not needs_guide:
        return exemplar, search, None, None
    exemplar_guide = box_mask(batch["exemplar_guide_xyxy"].to(device), exemplar.shape[-1])
    search_guide = box_mask(batch["search_guide_xyxy"].to(device), search.shape[-1])
    return exemplar, search, exemplar_guide, search_guide
