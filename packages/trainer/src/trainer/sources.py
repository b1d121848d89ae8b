"""Open the shard folders for a model: their ``build.json`` and manifest, checked, as :class:`Sources`.

:func:`open_sources` reads each folder's ``build.json`` and ``manifest/samples.parquet`` (the columns
:data:`MANIFEST_COLUMNS` of the schema in :mod:`siamcore.manifest`) once, in the main process; checks that
the folder stores the crops the model needs (same size, context and extent per role; guide boxes when
the model takes guide masks) and that its shard files are whole, and refuses otherwise
(:class:`DataError`, saying what to do); splits off held-out validation sequences; and builds the
:class:`~trainer.plan.Catalog` of training rows that :mod:`trainer.plan` draws epochs from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from siamcore import manifest
from siamcore.schema import SchemaError, unpack, view_signature
from siamcore.shards import BuildInfo, ShardDamagedError, ShardReader, check_shard_file, open_build
from trainer.plan import Catalog, make_catalog, stable_fraction

log = logging.getLogger(__name__)

ROLES = ("exemplar", "search")
# What the trainer reads of the manifest (siamcore.manifest.SAMPLES_COLUMNS), in the order open_sources unpacks it.
MANIFEST_COLUMNS = ("shard", "key", "dataset", "sequence", "track", "exemplar_sequence", "negative")


class DataError(ValueError):
    """Shard folders that cannot be used for this model (missing files, wrong views, empty, damaged)."""


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
        table = manifest.read_table(build.samples_path, MANIFEST_COLUMNS).to_pydict()
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
