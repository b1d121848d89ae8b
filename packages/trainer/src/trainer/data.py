"""Stream training pairs from the opened shard folders (:mod:`trainer.sources`): the IterableDataset.

:class:`PairStream` is the ``IterableDataset``: ``set_epoch(epoch, start_batch)`` fixes the epoch's
plan (see :mod:`trainer.plan`); each DataLoader worker then builds whole batches: it reads the
batch's records in shard/key order through lazily opened, read-only, lock-free LMDB readers,
decodes the two JPEG crops, augments them with a generator keyed by ``(seed, epoch, position)`` and
stacks them into uint8 ``[B, H, W, 3]`` tensors (channels-last memory: ``permute(0, 3, 1, 2)``
on the device gives NCHW in ``channels_last`` for free). A record that does not unpack (its
checksum or box check fails) or decode is logged and skipped (the batch is one smaller; the reason is
in ``batch["skipped"]``, the record as ``"shard-file:key"`` in ``batch["bad_records"]``); the training
loop counts them (:class:`SkippedRecords`) and stops past ``data.max_bad_fraction``.

The DataLoader around :class:`PairStream` and the batches' way to the device are in :mod:`trainer.loader`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from siamcore.schema import SchemaError, unpack
from trainer.augment import augment_pair
from trainer.config import AugmentConfig
from trainer.plan import EpochPlan, plan_epoch
from trainer.sources import DataError, Sources

log = logging.getLogger(__name__)


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


class SkippedRecords:
    """The damaged records one process met: each skip is appended to its ``skipped-rank<r>.jsonl`` with the
    step, the distinct records are counted, and past ``max_fraction`` of the ``total`` training records
    the run stops (:func:`check_bad_records`)."""

    def __init__(self, path: Path, total: int, max_fraction: float):
        self.path, self.total, self.max_fraction = Path(path), total, max_fraction
        self.records: set[str] = set()  # "shard-file:key"

    def __len__(self) -> int:
        return len(self.records)

    def add(self, batch: dict[str, Any], step: int) -> None:
        """Record what ``batch`` skipped (``batch["skipped"]`` reasons, ``batch["bad_records"]``)."""
        if not batch["skipped"]:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            for item in batch["skipped"]:
                f.write(json.dumps({"step": step, "record": item}) + "\n")
        self.records.update(batch["bad_records"])
        check_bad_records(len(self.records), self.total, self.max_fraction, batch["skipped"][0])



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
