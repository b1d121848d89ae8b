"""``dataprep build``: list the videos, plan shards, run shard tasks on Dask, write the manifest last.

Flow (client side): resolve root/out -> list videos (cheap; fatal SourceError before any work)
-> prepare OUT (refuse a different config unless ``overwrite``) -> plan shards (consecutive
groups of the sorted videos, sized by :func:`dataprep.task.shard_sizes`) -> keep shards whose file and
rows-file checksums verify against their sidecar (resume) -> run the rest (:func:`dataprep.task.build_shard`,
one task per shard, a few submitted at a time) with a progress bar -> stream the shards' rows files and
sidecars' skips into ``manifest/*.parquet`` -> ``build.json`` last.

From "prepare OUT" on, the build holds ``OUT/.lock`` (:func:`dataprep.out_folder.out_lock`): a second
build into the same folder is refused. A failure to write into OUT (disk full, ...) stops the build at
once (:class:`OutputWriteFailed`); finished shards are kept, so the same command resumes once it is fixed.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from rich.console import Console
from rich.markup import escape

from siamcore.atomic import write_json_atomic
from siamcore.progress import ProgressBar, console_width
from siamcore.schema import SCHEMA_VERSION
from siamcore.shards import BUILD_FILE, BUILD_FORMAT, MANIFEST_DIR, file_sha256

from dataprep.cluster import ClusterError, open_executor
from dataprep.config import (
    BuildConfig,
    canonical_sha256,
    missing_root_message,
    resolve_distractors,
    resolve_out,
    resolve_root,
)
from dataprep.errors import BuildError, OutputWriteFailed, ShardsFailed, output_failure_message
from dataprep.manifest import SAMPLES_SCHEMA, SKIPPED_SCHEMA, write_streamed
from dataprep.out_folder import clean_leftovers, out_lock, prepare_out, reusable_sidecar
from dataprep.report import unit_noun
from dataprep.search_extras import describe_distractor_bank
from dataprep.sources import SourceError, get_source
from dataprep.task import ShardTask, build_shard, plan_shards, read_sidecar, root_relative, rows_path, skip_row

__all__ = ["BuildError", "BuildResult", "OutputWriteFailed", "ShardsFailed", "run_build"]

VERSIONED_PACKAGES = (
    "siamtrack-core", "siamtrack-dataprep", "numpy", "opencv-python-headless", "lmdb", "msgpack", "pyarrow",
    "dask", "distributed",
)


@dataclass
class BuildResult:
    out_dir: Path
    build: dict

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(self.build["counts"]["skipped"])

    @property
    def num_skipped(self) -> int:
        return sum(self.skipped_by_reason.values())


def listing_options(cfg: BuildConfig) -> dict:
    """Reader options of the listing beyond root/chunks/splits: the sequence-folder datasets' names."""
    if get_source(cfg.dataset).is_folder:
        return {"sequences": cfg.sequences, "exclude_sequences": cfg.exclude_sequences}
    return {}


def resolve_selection(cfg: BuildConfig, videos) -> BuildConfig:
    """Make the selection explicit (chunks/splits asked for or found; sequence names written
    canonically) so that it enters the hash: the dataset's own ``resolve_selection``."""
    return get_source(cfg.dataset).resolve_selection(cfg, videos)


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class TaskRun:
    """What running the shard tasks gave: sidecars by shard name, failures, where and how long."""

    results: dict[str, dict] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)
    description: str = "none (nothing to build)"
    workers: int = 0
    dashboard: str | None = None
    wall_s: float = 0.0


def run_tasks(cfg: BuildConfig, todo: list[ShardTask], console: Console, show_progress: bool) -> TaskRun:
    """Run :func:`dataprep.task.build_shard` for each task on the configured executor, with the
    progress bar. A failed task is reported and listed, the others go on; a task that could not write
    into OUT stops them all (OutputWriteFailed: the others would fail alike). BuildError when the
    cluster cannot be used."""
    run = TaskRun()
    if not todo:
        return run
    try:
        with open_executor(cfg.dask, preload="dataprep.task") as executor:
            run.description, run.workers, run.dashboard = executor.description, executor.workers, executor.dashboard
            console.print(f"  on   {run.description}", markup=False)
            if run.dashboard:
                console.print(f"  dashboard {run.dashboard}", markup=False)
            elif cfg.dask.scheduler == "local":
                console.print("  dashboard off (--dashboard to watch the workers live)", markup=False)
            t_work = time.perf_counter()
            pairs = 0
            with ProgressBar("shards", len(todo), "shards", enabled=show_progress, console=console) as bar:
                for outcome in executor.run(build_shard, todo):
                    if outcome.error is None and "output_failure" in outcome.result:
                        raise OutputWriteFailed(output_failure_message(outcome.result["output_failure"]))
                    if outcome.error is not None:
                        run.failed.append((outcome.task.name, f"{type(outcome.error).__name__}: {outcome.error}"))
                        console.print(f"[red]shard {escape(outcome.task.name)} failed:[/] {escape(str(outcome.error))}")
                    else:
                        run.results[outcome.task.name] = outcome.result
                        pairs += outcome.result["records"]
                    elapsed = time.perf_counter() - t_work
                    bar.update(1, info=f"{pairs:,} pairs", rate=f"{pairs / max(elapsed, 1e-9):.1f} pairs/s")
            run.wall_s = time.perf_counter() - t_work
    except ClusterError as exc:
        raise BuildError(str(exc)) from None
    return run


def run_build(cfg: BuildConfig, overwrite: bool = False, console: Console | None = None,
              show_progress: bool = True) -> BuildResult:
    """Build (or resume) the shards for ``cfg``; returns the written ``build.json`` content.

    Raises BuildError for fatal problems (missing root/chunk, refused OUT, OUT in use by another build),
    ShardsFailed for failed shard tasks, OutputWriteFailed (a ShardsFailed) when OUT cannot be written.
    """
    console = console or Console(stderr=True, width=console_width(sys.stderr))
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()

    root = resolve_root(cfg)
    if not root.path.is_dir():
        raise BuildError(missing_root_message(cfg, root))
    source = get_source(cfg.dataset)
    t_list = time.perf_counter()
    try:
        videos, list_skips = source.list_videos(str(root.path), chunks=cfg.chunks, splits=cfg.splits,
                                                **listing_options(cfg))
    except SourceError as exc:
        raise BuildError(str(exc)) from None
    cfg = resolve_selection(cfg, videos)
    cfg = resolve_distractors(cfg, root.path)
    try:
        bank_info = describe_distractor_bank(cfg)  # loads the bank here: a bad bank fails before any work
    except SourceError as exc:
        raise BuildError(str(exc)) from None
    out = resolve_out(cfg).path
    with out_lock(out):
        mode = prepare_out(out, cfg, overwrite)
        t_plan = time.perf_counter()
        tasks = plan_shards(videos, cfg, out)
        timings = {"list_s": round(t_plan - t_list, 3), "plan_s": round(time.perf_counter() - t_plan, 3)}
        clean_leftovers(out, tasks)

        reused: dict[str, dict] = {}
        if mode == "resume":
            with ProgressBar("checking finished shards", len(tasks), "shards", enabled=show_progress, console=console,
                             transient=True) as bar:
                for t in tasks:
                    if (sidecar := reusable_sidecar(t)) is not None:
                        reused[t.name] = sidecar
                    bar.advance()
        todo = [t for t in tasks if t.name not in reused]
        if todo and (out / BUILD_FILE).exists():
            (out / BUILD_FILE).unlink()  # build.json present <=> the folder is complete and consistent
        console.print(
            f"[bold]dataprep build[/] {cfg.dataset}: {len(videos)} {unit_noun(cfg.dataset)} -> {len(tasks)} shard(s) "
            f"({len(reused)} already built)\n  root {escape(str(root.path))}\n  out  {escape(str(out))}"
        )
        if cfg.output.videos_per_shard == 1 and cfg.pairs.p_negative > 0:
            console.print("  [yellow]note:[/] output.videos_per_shard = 1: a negative's exemplar comes from another "
                          "video of the same shard (or another track of the same video), so single-track videos get "
                          "no negatives")
        if bank_info:
            console.print(f"  distractors p={cfg.distractors.p_distractor:g} from {bank_info['instances']:,} "
                          f"instances of {cfg.distractors.root} ({bank_info['split']})", markup=False)

        results: dict[str, dict] = dict(reused)
        work = run_tasks(cfg, todo, console, show_progress)
        results.update(work.results)
        clean_leftovers(out, tasks)
        if failed := work.failed:
            raise ShardsFailed(
                f"{len(failed)} of {len(tasks)} shard task(s) failed ({', '.join(n for n, _ in failed[:5])}"
                f"{', ...' if len(failed) > 5 else ''}): first error: {failed[0][1]}. The {len(results)} finished "
                f"shard(s) are kept; fix the cause and re-run the same command to build the rest."
            )

        ordered = [results[t.name] for t in tasks]
        manifest_dir = out / MANIFEST_DIR
        write_manifest(manifest_dir, tasks, [skip_row(cfg.dataset, k, str(root.path)) for k in list_skips])
        build = build_description(cfg, tasks, ordered, list_skips, manifest_dir, str(root.path))
        if bank_info:
            build["distractor_bank"] = bank_info
        build["run"] = {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
            "argv": list(sys.argv),
            "root": str(root.path),
            "out": str(out),
            "mode": mode,
            "scheduler": work.description,
            "workers": work.workers,
            "dashboard": work.dashboard,
            "shards_built": len(todo),
            "shards_reused": len(reused),
            "pairs_built": sum(results[t.name]["records"] for t in todo),
            "wall_s": round(time.perf_counter() - t0, 3),
            **timings,
            "work_wall_s": round(work.wall_s, 3),
            "task_cpu_s": round(sum(results[t.name]["timing"]["cpu_s"] for t in todo), 3),
            "dask": {"workers": cfg.dask.workers, "scheduler": cfg.dask.scheduler, "retries": cfg.dask.retries},
        }
        write_json_atomic(out / BUILD_FILE, build)
        return BuildResult(out, build)


def write_manifest(manifest_dir: Path, tasks: list[ShardTask], listing_skips: list[dict]) -> None:
    """``samples.parquet`` and ``skipped.parquet``, streamed from the shards' rows files and sidecars in
    plan order: the client holds one row group at a time, however large the build."""
    def skip_parts():
        yield listing_skips
        for t in tasks:
            yield read_sidecar(t.out_dir, t.name)["skips"]

    write_streamed(manifest_dir / "samples.parquet", SAMPLES_SCHEMA,
                   (pq.ParquetFile(rows_path(t.out_dir, t.name)).read(use_threads=False) for t in tasks))
    write_streamed(manifest_dir / "skipped.parquet", SKIPPED_SCHEMA, skip_parts())


def build_description(cfg: BuildConfig, tasks, ordered, list_skips, manifest_dir: Path, root: str) -> dict:
    """Everything of ``build.json`` except the ``run`` section: identical for identical builds, wherever
    the dataset root is (the input fingerprint writes paths relative to it). ``ordered``: the shards'
    summaries in plan order."""
    fingerprint = canonical_sha256(
        {
            "videos": [v.uid for t in tasks for v in t.videos],
            "listing_skips": [[k.where, k.reason, root_relative(k.detail, root)] for k in list_skips],
            "shards": [res["input_sha256"] for res in ordered],
        }
    )
    reasons = Counter(k.reason for k in list_skips)
    for res in ordered:
        reasons.update(res["counts"]["skipped"])
    pairs = sum(res["records"] for res in ordered)
    return {
        "format": BUILD_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "dataset": cfg.dataset,
        "config": cfg.hashed(),
        "config_sha256": cfg.sha256(),
        "seed": cfg.seed,
        "views": {name: cfg.views[name].as_dict() for name in sorted(cfg.views)},
        "primary_views": {"exemplar": cfg.primary_view("exemplar"), "search": cfg.primary_view("search")},
        "resampling": cfg.output.resampling(),
        "jpeg_quality": cfg.output.jpeg_quality,
        "versions": package_versions(),
        "shards": [
            {"name": res["name"], "sha256": res["sha256"], "records": res["records"], "bytes": res["bytes"],
             "input_sha256": res["input_sha256"]}
            for res in ordered
        ],
        "input_fingerprint": fingerprint,
        "counts": {
            "videos": sum(res["counts"]["videos"] for res in ordered),
            "sequences": sum(res["counts"]["sequences"] for res in ordered),
            "pairs": pairs,
            "negatives": sum(res["counts"]["negatives"] for res in ordered),
            "shards": len(ordered),
            "frames_decoded": sum(res["counts"]["frames_decoded"] for res in ordered),
            "bytes": sum(res["bytes"] for res in ordered),
            "skipped": {k: reasons[k] for k in sorted(reasons)},
        },
        "manifest": {
            "samples": {"path": f"{MANIFEST_DIR}/samples.parquet", "rows": pairs,
                        "sha256": file_sha256(manifest_dir / "samples.parquet")},
            "skipped": {"path": f"{MANIFEST_DIR}/skipped.parquet", "rows": sum(reasons.values()),
                        "sha256": file_sha256(manifest_dir / "skipped.parquet")},
        },
    }

