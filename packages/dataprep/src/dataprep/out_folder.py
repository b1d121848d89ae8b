"""The output folder of a build: its lock, the check that it holds this config's build (resume) or
none, the clean-up of what killed writers left, and which finished shards can be kept.

A folder holds one build: ``build-config.json`` (:data:`CONFIG_FILE`, written before any work) says
which config, ``build.json`` (written last) that it is complete.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from siamcore.atomic import is_temp_name, write_json_atomic
from siamcore.locks import LOCK_FILE, FolderInUse, folder_lock
from siamcore.shards import BUILD_FILE, MANIFEST_DIR, SHARD_SUFFIX, SHARDS_DIR, file_sha256, shard_path

from dataprep.config import BuildConfig, canonical_json
from dataprep.errors import BuildError, OutputWriteFailed, output_failure_message
from dataprep.task import ShardTask, output_failure, read_sidecar, rows_path, sidecar_summary

CONFIG_FILE = "build-config.json"
"""Written into OUT before any work: the config a (possibly unfinished) build in OUT was made with."""


def _is_ours(path: Path) -> bool:
    return path.name in (SHARDS_DIR, MANIFEST_DIR, BUILD_FILE, CONFIG_FILE)


@contextmanager
def out_lock(out: Path) -> Iterator[None]:
    """Hold ``OUT/.lock`` (:func:`siamcore.locks.folder_lock`) for the block; BuildError naming the holder
    when another build has it. An OSError of OUT's filesystem inside the block becomes
    :class:`OutputWriteFailed`. Two builds into one folder would interleave their shards, manifest and
    ``build.json``."""
    if out.exists() and not out.is_dir():
        raise BuildError(f"output path {out} exists and is not a folder: choose another --out")
    lock = ExitStack()
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock.enter_context(folder_lock(out, LOCK_FILE))
    except FolderInUse as exc:
        raise BuildError(f"output folder {out} is in use by another dataprep build ({exc.holder}): wait for it to "
                         f"finish or stop it, or choose another --out") from None
    except OSError as exc:
        raise BuildError(f"cannot write into the output folder {out} ({exc.strerror or exc}): "
                         f"choose another --out") from None
    with lock:
        try:
            yield
        except OSError as exc:  # e.g. the manifest or build.json on a full disk; shard tasks report their own
            if (failure := output_failure(exc, out)) is None:
                raise
            raise OutputWriteFailed(output_failure_message(failure)) from None


def prepare_out(out: Path, cfg: BuildConfig, overwrite: bool) -> str:
    """Create/check OUT; returns "new", "resume" or "overwrite". Refuses a different config."""
    config_file = out / CONFIG_FILE
    if out.exists() and not out.is_dir():
        raise BuildError(f"output path {out} exists and is not a folder: choose another --out")
    entries = sorted(p for p in out.iterdir() if p.name != LOCK_FILE) if out.is_dir() else []
    mode = "new"
    if entries:
        previous = None
        if config_file.is_file():
            try:
                previous = json.loads(config_file.read_text(encoding="utf-8"))
            except ValueError:
                pass
        if previous is not None and previous.get("config_sha256") == cfg.sha256():
            mode = "resume"
        elif not overwrite:
            if previous is None:
                raise BuildError(
                    f"output folder {out} is not empty and holds no dataprep build: choose an empty or new "
                    f"--out, or pass --overwrite to write the build there anyway"
                )
            diff = _config_diff(previous.get("config", {}), cfg.hashed())
            raise BuildError(
                f"output folder {out} holds a build made with a different config "
                f"(differs in: {', '.join(diff) or 'unknown'}). Pass --overwrite to replace it, or choose "
                f"another --out."
            )
        else:
            mode = "overwrite"
            for entry in entries:
                if _is_ours(entry) and entry.is_dir():
                    shutil.rmtree(entry)
                elif _is_ours(entry):
                    entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    if mode != "resume":
        write_json_atomic(config_file, {"config": cfg.hashed(), "config_sha256": cfg.sha256()})
    (out / SHARDS_DIR).mkdir(exist_ok=True)
    return mode


def _config_diff(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _config_diff(va, vb, f"{prefix}{k}.")
        elif canonical_json(va) != canonical_json(vb):
            out.append(f"{prefix}{k}")
    return out


def clean_leftovers(out: Path, tasks: list[ShardTask]) -> int:
    """Remove temp files of killed writers (in ``shards/``, ``manifest/`` and OUT itself: a build killed while
    it streamed the manifest or wrote ``build.json`` leaves one), LMDB lock files and shards not in the plan."""
    planned = {t.name for t in tasks}
    removed = 0
    for folder in (out, out / MANIFEST_DIR):
        for p in sorted(folder.iterdir()) if folder.is_dir() else []:
            if is_temp_name(p.name) and p.is_file():
                p.unlink()
                removed += 1
    for p in sorted((out / SHARDS_DIR).iterdir()):
        stem = p.name[: -len(SHARD_SUFFIX)] if p.name.endswith(SHARD_SUFFIX) else p.name.rsplit(".", 1)[0]
        stale = p.name.startswith(".") or p.name.endswith("-lock") or stem not in planned
        if stale and p.is_file():
            p.unlink()
            removed += 1
    return removed


def reusable_sidecar(task: ShardTask) -> dict | None:
    """The summary of a shard that is complete and verifies (same plan; shard and rows file checksums)."""
    sidecar = read_sidecar(task.out_dir, task.name)
    path, rows = shard_path(task.out_dir, task.name), rows_path(task.out_dir, task.name)
    if not sidecar or sidecar.get("plan_sha256") != task.plan_sha256 or not path.is_file() or not rows.is_file():
        return None
    if file_sha256(rows) != sidecar.get("rows_sha256") or file_sha256(path) != sidecar.get("sha256"):
        return None
    return sidecar_summary(sidecar)
