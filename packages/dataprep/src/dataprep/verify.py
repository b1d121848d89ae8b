"""``dataprep verify BUILD``: re-read every record of every shard and check it against ``build.json``.

Checks: each shard file's sha256 and record count, the manifest files' sha256, that the shard's
keys are exactly the manifest's keys for it, that every record unpacks under the current schema
with its LMDB key, and that every crop decodes as a ``size x size`` RGB JPEG with finite boxes.

A shard's sha256 says *that* it changed; the per-record checksums say *which* records did, so each
damaged record is reported as ``shard NAME: record KEY: ...`` (rebuild that shard). A shard file
that LMDB cannot safely open (truncated) is reported as damaged and skipped: verify goes on with
the other shards instead of dying of SIGBUS in the middle.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from siamcore.progress import ProgressBar, console_width
from siamcore.schema import SchemaError, unpack
from siamcore.shards import ShardDamagedError, check_shard_file, file_sha256, open_build

from siamcore.manifest import read_table
from dataprep.records import decode_jpeg_rgb
from dataprep.sources.frames import jpeg_is_complete


@dataclass
class VerifyReport:
    out_dir: Path
    shards: int = 0
    records: int = 0
    crops: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_record(key: str, raw: bytes, views: dict, problems: list[str]) -> int:
    """Problems of one record appended to ``problems``; returns the number of crops decoded."""
    try:
        rec = unpack(raw)
    except SchemaError as exc:
        problems.append(f"{key}: {exc}")
        return 0
    if rec["key"] != key:
        problems.append(f"{key}: record says key {rec['key']!r}")
    decoded = 0
    for name, crop in rec["crops"].items():
        view = views.get(name)
        if view is not None and (view["role"], view["size"]) != (crop["role"], crop["size"]):
            problems.append(f"{key}: crop {name!r} is {crop['role']} {crop['size']} px, build.json says "
                            f"{view['role']} {view['size']} px")
        image = decode_jpeg_rgb(crop["jpeg"]) if jpeg_is_complete(crop["jpeg"]) else None
        if image is None:
            problems.append(f"{key}: crop {name!r} JPEG does not decode (or is truncated)")
            continue
        decoded += 1
        if image.shape != (crop["size"], crop["size"], 3):
            problems.append(f"{key}: crop {name!r} decodes to {image.shape}, expected {crop['size']}x{crop['size']}x3")
        boxes = [crop["box_xyxy"], crop["window_xyxy"]] + ([crop["guide_xyxy"]] if crop["guide_xyxy"] else [])
        if any(len(b) != 4 or not all(math.isfinite(v) for v in b) for b in boxes):
            problems.append(f"{key}: crop {name!r} has a non-finite or malformed box")
    missing = {n for n in views if n not in rec["crops"]}
    if missing:
        problems.append(f"{key}: views {sorted(missing)} missing")
    return decoded


def verify_build(out_dir: str | Path, console: Console | None = None, show_progress: bool = True) -> VerifyReport:
    console = console or Console(stderr=True, width=console_width(sys.stderr))
    report = VerifyReport(Path(out_dir))
    problems = report.problems
    try:
        info = open_build(out_dir)
    except (FileNotFoundError, SchemaError) as exc:
        problems.append(str(exc))
        return report

    manifest = info.build.get("manifest", {})
    keys_by_shard: dict[str, set] = defaultdict(set)
    for part, path in (("samples", info.samples_path), ("skipped", info.skipped_path)):
        expected = manifest.get(part, {}).get("sha256")
        if not path.is_file():
            problems.append(f"manifest file missing: {path}")
        elif expected and file_sha256(path) != expected:
            problems.append(f"{path}: sha256 differs from build.json")
    if info.samples_path.is_file():
        table = read_table(info.samples_path).select(["shard", "key"]).to_pydict()
        for shard, key in zip(table["shard"], table["key"]):
            keys_by_shard[shard].add(key)

    total = info.num_records
    with ProgressBar("verify", total, "records", enabled=show_progress, console=console) as bar:
        for shard in info.shards:
            report.shards += 1
            if not shard.path.is_file():
                problems.append(f"shard {shard.name}: file missing ({shard.path})")
                bar.advance(shard.records)
                continue
            try:
                check_shard_file(shard.path)
            except ShardDamagedError as exc:
                problems.append(f"shard {shard.name}: damaged: {exc}")
                bar.advance(shard.records)
                continue
            if file_sha256(shard.path) != shard.sha256:
                problems.append(f"shard {shard.name}: sha256 differs from build.json (file changed or corrupt)")
            seen = set()
            reader = shard.reader()
            try:
                for key, raw in reader.iter_raw():
                    seen.add(key)
                    report.records += 1
                    record_problems: list[str] = []
                    report.crops += _check_record(key, raw, info.views, record_problems)
                    problems.extend(f"shard {shard.name}: record {p}" for p in record_problems)
                    bar.advance()
            except Exception as exc:  # LMDB raises on a damaged file
                problems.append(f"shard {shard.name}: cannot be read: {type(exc).__name__}: {exc}")
            finally:
                reader.close()
            if len(seen) != shard.records:
                problems.append(f"shard {shard.name}: {len(seen)} records, build.json says {shard.records}")
            if seen != keys_by_shard.get(shard.name, set()):
                problems.append(f"shard {shard.name}: keys differ from manifest/samples.parquet")
    return report
