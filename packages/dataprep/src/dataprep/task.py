"""The work unit: build one shard from a stable, sorted list of videos (runs in a Dask task).

``build_shard`` loads the videos' annotations, plans every pair (pure, :mod:`dataprep.pairs`),
decodes each needed source frame once (whatever the number of pairs and views using it), cuts and
encodes all crops of that frame, then drops it. Records go into the shard (atomic, byte-
deterministic :class:`siamcore.shards.ShardWriter`), its manifest rows into ``shards/<name>.parquet``,
then the sidecar ``shards/<name>.json`` (checksums, counts, skips); the client gets a summary of a few
hundred bytes, whatever the shard holds, and reads rows and skips back from the files at the end.

Bad input never raises: unusable videos/sequences/frames/boxes become skip rows with a reason.
A failure to write into OUT (disk full, quota, read-only, I/O error) is returned as
``{"name", "output_failure"}``, not raised: Dask would retry it, recomputing the shard for nothing,
and the client must stop the whole build at once (:func:`output_failure`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import socket
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import msgpack
import numpy as np

from siamcore.atomic import write_bytes_atomic, write_json_atomic
from siamcore.boxes import is_valid_xywh
from siamcore.crop import decode_reduction, frame_mean
from siamcore.schema import SCHEMA_VERSION
from siamcore.shards import SHARDS_DIR, ShardWriter, shard_path

from dataprep.config import BuildConfig
from dataprep.malloc import set_malloc
from dataprep.manifest import samples_bytes
from dataprep.pairs import PairPlan, SequenceFrames, plan_pairs, valid_frame_indices
from dataprep.records import assemble_record, crop_views, manifest_row, view_windows
from dataprep.search_extras import SearchExtras, load_distractor_bank, plan_search_extras
from dataprep.sources import FrameError, Sequence, Skip, VideoRef, get_source, read_frame_reduced


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to build one shard (sent to Dask workers)."""

    name: str
    out_dir: str
    videos: tuple[VideoRef, ...]
    config: BuildConfig
    plan_sha256: str
    """sha256 of (record schema version, config hash, shard name, video uids): a sidecar from another
    plan is never reused, nor a shard written in an older record layout."""

    def __reduce__(self):
        """Pickled with its videos packed in one compressed blob (a few bytes a video, not five objects): the
        Dask scheduler unpickles and keeps every task it is given, which made the driver (it hosts the
        local scheduler) grow by ~0.5 KB per video at TrackingNet scale."""
        return _unpack_task, (self.name, self.out_dir, pack_videos(self.videos), self.config, self.plan_sha256)


def pack_videos(videos) -> bytes:
    """``videos`` as zlib-compressed msgpack: runs of ``[dataset, root, [[chunk, split, name], ...]]``
    (a build has one dataset and one root, so they are written once)."""
    runs: list = []
    for v in videos:
        if not runs or (runs[-1][0], runs[-1][1]) != (v.dataset, v.root):
            runs.append([v.dataset, v.root, []])
        runs[-1][2].append([v.chunk, v.split, v.name])
    return zlib.compress(msgpack.packb(runs), 6)


def unpack_videos(packed: bytes) -> tuple[VideoRef, ...]:
    return tuple(VideoRef(dataset, chunk, split, name, root)
                 for dataset, root, refs in msgpack.unpackb(zlib.decompress(packed))
                 for chunk, split, name in refs)


def _unpack_task(name, out_dir, packed, config, plan) -> ShardTask:
    return ShardTask(name, out_dir, unpack_videos(packed), config, plan)


def plan_sha256(config_sha256: str, name: str, videos) -> str:
    h = hashlib.sha256(f"schema {SCHEMA_VERSION}\n{config_sha256}\n{name}\n".encode())
    for v in videos:
        h.update(v.uid.encode("utf-8") + b"\n")
    return h.hexdigest()


def shard_name(index: int) -> str:
    return f"shard-{index:05d}"


JPEG_BYTES_PER_PIXEL = 0.2
"""Expected shard bytes per crop pixel at JPEG quality 90 (0.17-0.21 measured on real 480p/720p builds)."""


def expected_pair_bytes(cfg: BuildConfig) -> float:
    """Expected bytes of one record: its crops' pixels at :data:`JPEG_BYTES_PER_PIXEL`."""
    return JPEG_BYTES_PER_PIXEL * sum(v.size * v.size for v in cfg.views.values())


def shard_sizes(videos: int, pairs_per_video: float, pair_bytes: float, shard_bytes: float, min_shards: int,
                videos_per_shard: int = 0) -> list[int]:
    """How many consecutive videos each shard gets: enough shards that each holds about ``shard_bytes``
    of expected records, and at least ``min_shards`` (or one per video when there are fewer), with the
    videos spread as evenly as possible. ``videos_per_shard`` > 0 fixes the count per shard instead.

    The inputs are the listing's size and the config, never the number of workers: the same build
    cuts into the same shards (and bytes) on 1 worker or 100, and a small build still gives each of a
    few workers several tasks."""
    if videos <= 0:
        return []
    if videos_per_shard > 0:
        full, rest = divmod(videos, videos_per_shard)
        return [videos_per_shard] * full + ([rest] if rest else [])
    by_bytes = math.ceil(videos * pairs_per_video * pair_bytes / shard_bytes)
    count = min(videos, max(by_bytes, min_shards, 1))
    base, extra = divmod(videos, count)
    return [base + 1] * extra + [base] * (count - extra)


def plan_shards(videos: list[VideoRef], cfg: BuildConfig, out_dir: Path) -> list[ShardTask]:
    """Consecutive groups of the (sorted) videos sized by :func:`shard_sizes`, one shard each."""
    sizes = shard_sizes(len(videos), cfg.pairs.per_sequence * get_source(cfg.dataset).targets_per_video,
                        expected_pair_bytes(cfg), cfg.output.shard_mib * 2**20, cfg.output.min_shards,
                        cfg.output.videos_per_shard)
    config_sha = cfg.sha256()
    tasks, start = [], 0
    for index, size in enumerate(sizes):
        group = tuple(videos[start : start + size])
        start += size
        name = shard_name(index)
        tasks.append(ShardTask(name, str(out_dir), group, cfg, plan_sha256(config_sha, name, group)))
    return tasks


def sidecar_path(out_dir: str | os.PathLike, name: str) -> Path:
    """``shards/<name>.json``: checksums, counts and skips of a shard, written after it; for resume."""
    return Path(out_dir) / SHARDS_DIR / f"{name}.json"


def rows_path(out_dir: str | os.PathLike, name: str) -> Path:
    """``shards/<name>.parquet``: the shard's manifest rows (Parquet, zstd: ~40 B a row), which the
    client streams into ``manifest/samples.parquet`` instead of holding every row of the build."""
    return Path(out_dir) / SHARDS_DIR / f"{name}.parquet"


def skip_row(dataset: str, skip: Skip, root: str) -> dict:
    """A row of ``manifest/skipped.parquet``; paths under the dataset root are written ``ROOT/...``
    (``build.json`` ``run.root`` says where that was), so the manifest does not depend on it."""
    return {"dataset": dataset, "where": skip.where, "reason": skip.reason, "detail": root_relative(skip.detail, root)}


def _box_text(box_xywh) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in box_xywh) + "]"


def _box_reason(box_xywh) -> str:
    return "invalid_box" if not is_valid_xywh(box_xywh) else "box_outside_frame"


def root_relative(text: str, root: str) -> str:
    """``text`` with the dataset root written ``ROOT/``: fingerprints do not depend on where the data lives."""
    return text.replace(root.rstrip("/") + "/", "ROOT/") if root else text


def _input_digest(videos, sequences: list[Sequence], skips: list[Skip]) -> str:
    """Fingerprint of what the shard read: ids, frame files, boxes, skips (paths relative to the root)."""
    root = videos[0].root if videos else ""
    h = hashlib.sha256()
    for v in videos:
        h.update(f"V {v.uid}\n".encode())
    for s in sequences:
        h.update(f"S {s.uid} {s.class_name} {len(s.frames)}\n".encode())
        for ref in s.frames:
            h.update(f"{root_relative(ref.path, root)}|{ref.member or ''}\n".encode())
        h.update(np.ascontiguousarray(s.boxes_xywh, dtype="<f8").tobytes())
    for k in skips:
        h.update(f"K {k.where}|{k.reason}|{root_relative(k.detail, root)}\n".encode())
    return h.hexdigest()


def load_sequences(task: ShardTask) -> tuple[list[Sequence], list[Skip]]:
    """All sequences of the task's videos, in video then track order, and the loaders' skips."""
    source = get_source(task.config.dataset)
    options = source.load_options(task.config)  # e.g. COCO's minimum area, VOT's polygon rule
    sequences: list[Sequence] = []
    skips: list[Skip] = []
    for video in task.videos:
        try:
            seqs, video_skips = source.load_video(video, **options)
        except Exception as exc:  # a reader bug must not sink the shard: record it, go on
            seqs, video_skips = [], [Skip(video.uid, "load_error", f"{type(exc).__name__}: {exc}")]
        sequences.extend(seqs)
        skips.extend(video_skips)
    return sequences, skips


def plan_task_pairs(task: ShardTask, sequences: list[Sequence]) -> tuple[list[PairPlan], list[Skip]]:
    cfg = task.config
    frames = [
        SequenceFrames(s.uid, s.video.uid, tuple(int(i) for i in valid_frame_indices(s.boxes_xywh)))
        for s in sequences
    ]
    plans, skips = [], []
    for i, s in enumerate(frames):
        if not s.valid_frames:
            skips.append(Skip(s.uid, "empty_sequence", "no frame with a usable box"))
            continue
        plans.extend(plan_pairs(frames, i, cfg.pairs, cfg.augment, cfg.seed))
    return plans, skips


def frame_jobs(sequences: list[Sequence], plans: list[PairPlan]) -> dict:
    """The (plan index, role, sequence index, frame index) jobs of ``plans``, grouped by the frame
    (``FrameRef``) they need: each frame is decoded once for all of them."""
    jobs: dict = {}
    for p_idx, p in enumerate(plans):
        for role, seq_idx, frame_idx in (("exemplar", p.exemplar_seq, p.exemplar_frame),
                                         ("search", p.search_seq, p.search_frame)):
            ref = sequences[seq_idx].frames[frame_idx]
            jobs.setdefault(ref, []).append((p_idx, role, seq_idx, frame_idx))
    return jobs


def frame_reduction(cfg: BuildConfig, sequences: list[Sequence], plans: list[PairPlan], frame_jobs) -> int:
    """The reduction (1, 2 or 4) to decode one frame at: :func:`siamcore.crop.decode_reduction` of the
    windows of every crop planned from it (``frame_jobs``: its (plan index, role, sequence index, frame
    index) jobs), 1 when ``output.reduced_decode`` is off. Pure and decided from the plan alone (a crop
    that is skipped later, e.g. its box leaves the frame, still counts: it can only lower r), so shards
    stay byte-identical whatever the workers."""
    if not cfg.output.reduced_decode:
        return 1
    crops = []
    for p_idx, role, seq_idx, frame_idx in frame_jobs:
        box = sequences[seq_idx].boxes_xywh[frame_idx]
        if not is_valid_xywh(box):
            continue
        p = plans[p_idx]
        views = cfg.views_by_role(role)
        windows = view_windows(box, views, p.exemplar_jitter if role == "exemplar" else p.search_jitter)
        crops.extend((w[2] - w[0], views[name].size) for name, w in windows.items())
    return decode_reduction(crops) if crops else 1


def make_records(task: ShardTask, sequences: list[Sequence], plans: list[PairPlan]):
    """Decode each needed frame once (at 1/2 or 1/4 when all its crops shrink it enough:
    :func:`frame_reduction`), cut all its crops; returns (records, sample skips, frames decoded,
    frames decoded reduced as ``{"2": n, "4": m}``)."""
    cfg = task.config
    ex_views, se_views = cfg.views_by_role("exemplar"), cfg.views_by_role("search")
    quality, sigma = cfg.output.jpeg_quality, cfg.augment.guide_sigma
    bank = load_distractor_bank(cfg)  # cached per worker process; None when distractors are off
    extras: dict[int, SearchExtras] = {}

    jobs = frame_jobs(sequences, plans)
    crops: dict[tuple[int, str], dict] = {}
    failures: dict[int, tuple[str, str]] = {}
    reduced: Counter = Counter()
    for ref in sorted(jobs, key=lambda r: (r.path, r.member or "")):
        todo = [job for job in jobs[ref] if job[0] not in failures]
        if not todo:
            continue
        try:
            frame, frame_wh, r = read_frame_reduced(ref, cfg.limits.max_frame_pixels, cfg.limits.max_frame_bytes,
                                                    frame_reduction(cfg, sequences, plans, jobs[ref]))
        except FrameError as exc:
            for p_idx, role, _, _ in todo:
                failures.setdefault(p_idx, (exc.reason, f"{role} frame: {exc}"))
            continue
        if r > 1:
            reduced[str(r)] += 1
        fill = frame_mean(frame)  # of the reduced image when reduced: the same mean up to rounding
        for p_idx, role, seq_idx, frame_idx in todo:
            p, seq = plans[p_idx], sequences[seq_idx]
            box = seq.boxes_xywh[frame_idx]
            if not is_valid_xywh(box, frame_wh):
                failures.setdefault(p_idx, (_box_reason(box), f"{role} frame {frame_idx}: box {_box_text(box)} "
                                            f"unusable in a {frame_wh[0]}x{frame_wh[1]} frame ({ref.path})"))
                continue
            try:
                if role == "exemplar":
                    crops[(p_idx, role)] = crop_views(frame, fill, box, ex_views, p.exemplar_jitter, quality,
                                                      reduction=r, frame_wh=frame_wh)
                else:
                    guide = seq.boxes_xywh[p.guide_frame]
                    if not is_valid_xywh(guide, frame_wh):
                        guide = box
                    extras[p_idx] = plan_search_extras(cfg, p, seq, box, bank)
                    crops[(p_idx, role)] = crop_views(
                        frame, fill, box, se_views, p.search_jitter, quality, guide, p.guide_noise, sigma,
                        edit=extras[p_idx].edit, reduction=r, frame_wh=frame_wh,
                    )
            except Exception as exc:  # e.g. an absurd box (1e12 px): one sample lost, not the shard
                failures.setdefault(p_idx, ("crop_error", f"{role} frame {frame_idx}, box {_box_text(box)} "
                                                          f"({ref.path}): {type(exc).__name__}: {exc}"))
        del frame

    records, skips = [], []
    for p_idx, p in enumerate(plans):
        if p_idx in failures:
            reason, detail = failures[p_idx]
            skips.append(Skip(p.key, reason, detail))
            continue
        records.append(
            assemble_record(
                p, sequences[p.search_seq], sequences[p.exemplar_seq],
                crops.pop((p_idx, "exemplar")), crops.pop((p_idx, "search")),
            )
        )
        records[-1]["distractors"], records[-1]["flags"] = extras[p_idx].distractors, extras[p_idx].flags
    return records, skips, len(jobs), {k: reduced[k] for k in sorted(reduced)}


def build_shard(task: ShardTask) -> dict:
    """Build and write one shard, its rows file and its sidecar. Returns the sidecar's summary (no
    skips: the client reads those, and the rows, from the files when it writes the manifest) plus a
    ``timing`` entry, or ``{"name", "output_failure"}`` when OUT cannot be written (module docstring)."""
    t_wall, t_cpu = time.perf_counter(), time.thread_time()
    set_malloc(task.config.dask.malloc_trim_threshold_bytes, task.config.dask.malloc_top_pad_bytes)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        cfg = task.config
        sequences, load_skips = load_sequences(task)
        plans, plan_skips = plan_task_pairs(task, sequences)
        records, sample_skips, frames_decoded, frames_reduced = make_records(task, sequences, plans)
        search_view = cfg.primary_view("search")
        rows = []
        with ShardWriter(shard_path(task.out_dir, task.name)) as writer:
            for rec in records:
                rows.append(manifest_row(rec, task.name, writer.add(rec), search_view))
        del records
        rows.sort(key=lambda r: r["key"])
        rows_bytes = samples_bytes(rows)
        write_bytes_atomic(rows_path(task.out_dir, task.name), rows_bytes)
        skips = [skip_row(cfg.dataset, k, task.videos[0].root) for k in load_skips + plan_skips + sample_skips]
        sidecar = {
            "name": task.name,
            "plan_sha256": task.plan_sha256,
            "sha256": writer.sha256,
            "records": len(rows),
            "bytes": writer.bytes_on_disk,
            "rows_sha256": hashlib.sha256(rows_bytes).hexdigest(),
            "input_sha256": _input_digest(task.videos, sequences, load_skips),
            "counts": {
                "videos": len(task.videos),
                "sequences": len(sequences),
                "pairs": len(rows),
                "negatives": sum(r["negative"] for r in rows),
                "frames_decoded": frames_decoded,
                "frames_reduced": frames_reduced,
                "skipped": dict(sorted(Counter(k["reason"] for k in skips).items())),
            },
            "skips": skips,
        }
        write_json_atomic(sidecar_path(task.out_dir, task.name), sidecar)
    except Exception as exc:
        if (failure := output_failure(exc, task.out_dir)) is None:
            raise
        return {"name": task.name, "output_failure": failure}
    finally:
        cv2.setNumThreads(threads)
    summary = sidecar_summary(sidecar)
    summary["timing"] = {
        "wall_s": time.perf_counter() - t_wall,
        "cpu_s": time.thread_time() - t_cpu,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    return summary


def sidecar_summary(sidecar: dict) -> dict:
    """What the client keeps of a shard until the end: the sidecar without its skips (O(1) per shard)."""
    return {k: v for k, v in sidecar.items() if k != "skips"}


OUTPUT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO)
"""Errors of the output filesystem: no retry or other shard can succeed until someone frees space or fixes it."""
FULL_BELOW_BYTES = 64 << 20
"""Less free space than this (a shard is tens of MB) on OUT's disk after a write failed: the disk is full."""


def output_failure(exc: BaseException, out_dir: str | os.PathLike) -> str | None:
    """One line saying why writing into ``out_dir`` failed, or None when ``exc`` is not an output failure
    (an OSError with an errno of :data:`OUTPUT_ERRNOS`, or any LMDB error: LMDB reports a full disk as
    "Input/output error", so the free space is looked up to say whether the disk is full)."""
    if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
        what = f"{exc.strerror or os.strerror(exc.errno)} ({errno.errorcode[exc.errno]})"
        if exc.filename:
            what += f" writing {exc.filename}"
    elif type(exc).__module__.split(".")[0] == "lmdb":
        what = f"LMDB: {exc}"
    else:
        return None
    try:
        st = os.statvfs(out_dir)
        free = st.f_bavail * st.f_frsize
    except OSError:
        free = None
    full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (free is not None and free < FULL_BELOW_BYTES)
    space = "" if free is None else f", {free / 2**20:.1f} MiB free there"
    return f"{'disk full in' if full else 'cannot write into'} {out_dir}: {what}{space}"


def read_sidecar(out_dir: str | os.PathLike, name: str) -> dict | None:
    """The sidecar of a shard, or None when absent/unreadable."""
    try:
        return json.loads(sidecar_path(out_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
