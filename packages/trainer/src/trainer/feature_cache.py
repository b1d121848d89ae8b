"""The frozen-trunk feature cache: every training crop goes through the trunk once, not once per step.

When the trunk is frozen (``model.freeze`` covers every trunk parameter) and takes no guide mask, its
output for a given crop never changes during training; yet on a CPU it is most of a step (SiamRPN on
the SiamFC AlexNet: ~60% of a batch-16 step). The cache runs the trunk over the exemplar and the
search crop of every training record, ``copies`` times, each copy with its own photometric
augmentation (:mod:`trainer.augment`, drawn from ``(seed, copy, record key)``), and stores the
features as float16 ``.npy`` files that training reads memory-mapped; the steps then run only the
heads. Augmentation is therefore drawn once per copy, not once per step: more copies, more variety.

Layout: ``DIR/<key>/{exemplar,search}.npy`` (``[copies, R, C, h, w]``, R = training records in
catalog order), ``boxes.npz`` (search boxes, guide boxes, which records decoded) and ``meta.json``.
``<key>`` is a hash of everything that decides the features: the shard folders' checksums, the
training records, the trunk's weights, the views, the augmentation, the copies and the seed; a cache
with the same key is reused (by a resumed run, another seed's run sharing ``cache.dir`` ...), any
change makes a new one. A cache is built in a temporary folder and renamed when complete, so a killed
build never leaves a cache that could be mistaken for a finished one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from siamcore.atomic import write_json_atomic
from siamcore.progress import ProgressBar
from siamcore.shards import file_sha256
from trainer.augment import augment_pair
from trainer.config import AugmentConfig, ConfigError
from trainer.data import BadRecord, check_bad_records, guide_box, read_pair
from trainer.plan import EpochPlan, stable_fraction
from trainer.sources import Sources

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: meta.json holds each file's size and sha256, verified on every open
CACHE_FILES = ("exemplar.npy", "search.npy", "boxes.npz")
_COPY_STREAM = 0xC0B1E5


@dataclass
class FeatureCache:
    """An opened cache (arrays memory-mapped, read-only); row ``r`` is catalog row ``r``."""

    path: Path
    exemplar: np.ndarray  # [copies, R, C, h, w] float16
    search: np.ndarray  # [copies, R, C, h, w] float16
    search_box_xyxy: np.ndarray  # [R, 4] float32
    exemplar_guide_xyxy: np.ndarray  # [R, 4] float32, NaN when absent
    search_guide_xyxy: np.ndarray  # [R, 4] float32
    decoded: np.ndarray  # [R] bool: records whose crops could be read (the others are never used)
    keys: np.ndarray  # [R] str
    build_seconds: float  # time its build took (also when this run found it ready)
    reused: bool  # found ready rather than built by this call

    @property
    def copies(self) -> int:
        return int(self.exemplar.shape[0])

    def __len__(self) -> int:
        return int(self.exemplar.shape[1])


def check_cacheable(model) -> None:
    """Raise :class:`ConfigError` unless ``model``'s trunks are frozen and take no guide."""
    if getattr(model, "trunk_takes_guide", False):
        raise ConfigError(f"cache.enabled: the {model.name} trunk takes guide masks, so its features depend on "
                          "them; train it without the cache")
    trained = [n for n, p in model.named_parameters() if p.requires_grad and _in_trunk(model, p)]
    if trained:
        raise ConfigError(f"cache.enabled needs a frozen trunk, but {len(trained)} trunk parameters are trained "
                          f"(e.g. {trained[0]}): add the trunk to model.freeze (e.g. freeze = [\"backbone\"])")


def _in_trunk(model, param) -> bool:
    return any(param is p for trunk in set(model.trunk_modules().values()) for p in trunk.parameters())


def cache_key(sources: Sources, model, augment: AugmentConfig, copies: int, seed: int) -> str:
    """The hash that names a cache (see the module docstring)."""
    h = hashlib.sha256(f"siamtrack-feature-cache {CACHE_FORMAT} copies={copies} seed={seed}\n".encode())
    h.update(json.dumps(dataclasses.asdict(augment), sort_keys=True).encode())
    h.update(json.dumps({r: v.as_dict() for r, v in sorted(model.views.items())}, sort_keys=True).encode())
    h.update(json.dumps(sources.crop_names, sort_keys=True).encode())
    for build in sources.folders:
        h.update("".join(f"{s.name}:{s.sha256}\n" for s in build.shards).encode())
    cat = sources.catalog
    for shard, key in zip(cat.shard.tolist(), cat.key.tolist()):
        h.update(f"{shard}/{key}\n".encode())
    for role, trunk in sorted(model.trunk_modules().items()):
        for name, tensor in sorted(trunk.state_dict().items()):
            h.update(f"{role}.{name}\n".encode())
            h.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()[:24]


def open_or_build(
    sources: Sources, model, augment: AugmentConfig, copies: int, seed: int, cache_dir: Path,
    batch_size: int = 32, progress: bool = True, max_bad_fraction: float = 0.01,
) -> FeatureCache:
    """The cache for this data, trunk and augmentation: opened when it exists, else built first.

    Records that cannot be read are left out (``decoded`` false, logged with shard and key); more than
    ``max_bad_fraction`` of them is a :class:`~trainer.sources.DataError`, as when training on the images."""
    check_cacheable(model)
    key = cache_key(sources, model, augment, copies, seed)
    path = Path(cache_dir) / key
    if (path / "meta.json").is_file():
        try:
            cache = open_verified_cache(path, len(sources.catalog), copies)
        except CacheUnusable as problem:
            log.warning("feature cache %s cannot be reused (%s): rebuilding it", path, problem)
            aside = Path(cache_dir) / f".{key}.damaged"
            shutil.rmtree(aside, ignore_errors=True)
            path.rename(aside)  # out of the way at once: no other run reuses it meanwhile
            shutil.rmtree(aside, ignore_errors=True)
        else:
            log.info("feature cache %s: reusing", path)
            return _checked(cache, max_bad_fraction)
    start = time.perf_counter()
    tmp = Path(cache_dir) / f".{key}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _build(sources, model, augment, copies, seed, tmp, batch_size, progress)
    seconds = time.perf_counter() - start
    files = {name: {"bytes": (tmp / name).stat().st_size, "sha256": file_sha256(tmp / name)} for name in CACHE_FILES}
    write_json_atomic(tmp / "meta.json", {"format": CACHE_FORMAT, "key": key, "records": len(sources.catalog),
                                          "copies": copies, "seed": seed, "build_seconds": round(seconds, 1),
                                          "files": files})
    try:
        tmp.rename(path)
    except OSError:  # another process finished the same cache first: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return _checked(open_cache(path, reused=False), max_bad_fraction)


class CacheUnusable(Exception):
    """A cache folder that must not be trained on; the message says why."""


def open_verified_cache(path: Path, records: int, copies: int) -> FeatureCache:
    """The cache folder ``path`` opened for reuse, or :class:`CacheUnusable`: its ``meta.json`` unreadable
    or of another format, a file missing, of another size or sha256 than when it was built (overwritten,
    truncated, NaN bytes written into it), or arrays of the wrong shape. Reading 2 GB of features to
    hash them takes seconds; training on a damaged cache gives a wrong model or a crash much later."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CacheUnusable(f"meta.json unreadable: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT or not isinstance(meta.get("files"), dict):
        raise CacheUnusable(f"meta.json is not a format-{CACHE_FORMAT} cache description")
    for name in CACHE_FILES:
        recorded, file = meta["files"].get(name) or {}, path / name
        if not file.is_file():
            raise CacheUnusable(f"{name} missing")
        size = file.stat().st_size
        if size != recorded.get("bytes"):
            raise CacheUnusable(f"{name} has {size} bytes, {recorded.get('bytes')} when built")
        if file_sha256(file) != recorded.get("sha256"):
            raise CacheUnusable(f"{name} changed since it was built (sha256)")
    try:
        cache = open_cache(path, reused=True)
    except (OSError, ValueError, KeyError) as exc:
        raise CacheUnusable(f"unreadable: {exc}") from None
    if cache.exemplar.shape[:2] != (copies, records) or cache.search.shape[:2] != (copies, records):
        raise CacheUnusable(f"arrays hold {cache.search.shape[:2]} (copies, records), expected {(copies, records)}")
    if len(cache.decoded) != records:
        raise CacheUnusable(f"boxes.npz holds {len(cache.decoded)} records, expected {records}")
    return cache


def _checked(cache: FeatureCache, max_bad_fraction: float) -> FeatureCache:
    bad = np.flatnonzero(~cache.decoded)
    check_bad_records(len(bad), len(cache.decoded), max_bad_fraction, str(cache.keys[bad[0]]) if len(bad) else "")
    return cache


def open_cache(path: Path, reused: bool) -> FeatureCache:
    boxes = np.load(path / "boxes.npz", allow_pickle=False)
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    return FeatureCache(
        path,
        np.load(path / "exemplar.npy", mmap_mode="r", allow_pickle=False),
        np.load(path / "search.npy", mmap_mode="r", allow_pickle=False),
        boxes["search_box_xyxy"], boxes["exemplar_guide_xyxy"], boxes["search_guide_xyxy"], boxes["decoded"],
        boxes["keys"], float(meta["build_seconds"]), reused,
    )


@torch.no_grad()  # not inference_mode: the trunk's parameters must stay ordinary tensors for training
def _build(sources: Sources, model, augment: AugmentConfig, copies: int, seed: int, out: Path, batch_size: int,
           progress: bool) -> None:
    trunks = model.trunk_modules()
    was_training = {role: t.training for role, t in trunks.items()}
    for trunk in trunks.values():
        trunk.eval().to(memory_format=torch.channels_last)  # ~1.5x faster convolutions on CPU (measured)
    cat = sources.catalog
    n = len(cat)
    search_box = np.full((n, 4), np.nan, dtype=np.float32)
    guides = {"exemplar": np.full((n, 4), np.nan, dtype=np.float32), "search": np.full((n, 4), np.nan, np.float32)}
    decoded = np.zeros(n, dtype=bool)
    arrays: dict[str, np.ndarray] = {}
    bar = ProgressBar("feature cache", n * copies, "crops", enabled=progress)  # on stderr
    try:
        for start in range(0, n, batch_size):
            rows = range(start, min(n, start + batch_size))
            crops = {}
            for r in rows:
                try:
                    crops[r] = _record_crops(sources, int(cat.shard[r]), str(cat.key[r]))
                except ValueError as exc:
                    shard_file = sources.readers[int(cat.shard[r])].path.name
                    where = "" if isinstance(exc, BadRecord) else f"{shard_file}:{cat.key[r]}: "
                    log.warning("feature cache: skipping record %s%s", where, exc)
            for r, (_, _, box, ex_guide, se_guide) in crops.items():
                search_box[r], guides["exemplar"][r], guides["search"][r] = box, ex_guide, se_guide
                decoded[r] = True
            for copy in range(copies):
                images = {"exemplar": [], "search": []}
                for r, (ex, se, *_rest) in crops.items():
                    rng = np.random.default_rng([seed, _COPY_STREAM, copy, _key_int(str(cat.key[r]))])
                    ex, se = augment_pair(ex, se, rng, augment)
                    images["exemplar"].append(ex)
                    images["search"].append(se)
                for role in ("exemplar", "search"):
                    if not crops:
                        continue
                    x = torch.from_numpy(np.stack(images[role])).permute(0, 3, 1, 2).float()
                    feats = trunks[role](x.contiguous(memory_format=torch.channels_last))
                    if not isinstance(feats, torch.Tensor):
                        raise ConfigError(f"cache.enabled: the {model.name} {role} trunk does not return one "
                                          "feature map; train it without the cache")
                    if not bool(torch.isfinite(feats.to(torch.float16)).all()):
                        raise ConfigError(f"feature cache: the {role} trunk gives non-finite features (or beyond "
                                          "float16); check the trunk's weights")
                    if role not in arrays:
                        arrays[role] = np.lib.format.open_memmap(
                            out / f"{role}.npy", mode="w+", dtype=np.float16, shape=(copies, n, *feats.shape[1:]))
                    arrays[role][copy, list(crops)] = feats.to(torch.float16).contiguous().numpy()
                bar.advance(len(rows))
    finally:
        bar.close()
        for role, trunk in trunks.items():
            trunk.train(was_training[role]).to(memory_format=torch.contiguous_format)
    if not arrays:
        raise ConfigError("feature cache: no training record could be read; check the shards with dataprep verify")
    for a in arrays.values():
        a.flush()
    np.savez(out / "boxes.npz", search_box_xyxy=search_box, exemplar_guide_xyxy=guides["exemplar"],
             search_guide_xyxy=guides["search"], decoded=decoded, keys=np.asarray(cat.key, dtype=str))


def _record_crops(sources: Sources, shard: int, key: str) -> tuple:
    """``(exemplar, search, search_box, exemplar_guide, search_guide)`` of one record; ValueError
    (:class:`~trainer.data.BadRecord` when it does not unpack) if unusable."""
    exemplar, search, ex_crop, se_crop, _ = read_pair(sources, shard, key)
    return exemplar, search, se_crop["box_xyxy"], guide_box(ex_crop), guide_box(se_crop)


def _key_int(key: str) -> int:
    return int(stable_fraction(key) * 2**53)


def cached_batch(cache: FeatureCache, plan: EpochPlan, j: int, seed: int) -> dict[str, Any]:
    """Batch ``j`` of ``plan`` from the cache: the same pairs as :class:`trainer.data.PairStream`
    would read, as trunk features (float16). Each crop uses a random one of its copies."""
    rows, exemplar_rows, negative, _ = plan.batch(j)
    usable = cache.decoded[rows] & cache.decoded[exemplar_rows]
    skipped = [f"{cache.keys[r]}: not in the feature cache (unreadable record)" for r in rows[~usable]]
    bad_records = sorted({str(cache.keys[r]) for r in np.concatenate([rows, exemplar_rows]) if not cache.decoded[r]})
    rows, exemplar_rows, negative = rows[usable], exemplar_rows[usable], negative[usable]
    rng = np.random.default_rng([seed, plan.epoch, _COPY_STREAM, j])
    ex_copy, se_copy = rng.integers(cache.copies, size=(2, len(rows)))
    return {
        "exemplar_features": torch.from_numpy(np.ascontiguousarray(cache.exemplar[ex_copy, exemplar_rows])),
        "search_features": torch.from_numpy(np.ascontiguousarray(cache.search[se_copy, rows])),
        "search_box_xyxy": torch.from_numpy(cache.search_box_xyxy[rows]),
        "negative": torch.from_numpy(np.asarray(negative, dtype=bool)),
        "exemplar_guide_xyxy": torch.from_numpy(cache.exemplar_guide_xyxy[exemplar_rows]),
        "search_guide_xyxy": torch.from_numpy(cache.search_guide_xyxy[rows]),
        "keys": [str(cache.keys[r]) for r in rows],
        "skipped": skipped,
        "bad_records": bad_records,
        "batch_index": j,
    }
