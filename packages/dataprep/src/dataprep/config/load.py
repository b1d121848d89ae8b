"""Loading a config: a TOML file or a dataset's defaults, then command-line flags over it; every step
ends validated (:func:`dataprep.config.validate.validate`). Precedence, highest first: flags, the
``--config`` file, the dataset's defaults (its spec's ``defaults``, equal to
``pipelines/dataprep/<dataset>.toml``), the dataclass defaults.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import siamcore.config
from siamcore.config import UnknownKeyError, WrongTypeError, build_dataclass, merge_tables
from siamcore.toml import read_toml

from dataprep.config.schema import BuildConfig, ConfigError
from dataprep.config.validate import validate
from dataprep.sources.registry import DATASET_DEFAULTS, DATASETS


def _from_table(data: dict, src: str) -> BuildConfig:
    """:func:`siamcore.config.build_dataclass` with this package's wording; also takes ``chunks = 3``
    (an int) and ``splits`` / ``sequences`` / ``exclude_sequences`` as one comma-separated string."""
    if isinstance(data.get("chunks"), int) and not isinstance(data["chunks"], bool):
        data = {**data, "chunks": str(data["chunks"])}
    for key in ("splits", "sequences", "exclude_sequences"):
        if isinstance(data.get(key), str):
            data = {**data, key: split_names(data[key])}
    try:
        return build_dataclass(BuildConfig, data)
    except UnknownKeyError as exc:
        raise ConfigError(
            f"{src}: unknown key '{exc.key}' (known keys here: {', '.join(exc.known)}); check the spelling"
        ) from None
    except WrongTypeError as exc:
        raise ConfigError(f"{src}: '{exc.key}' must be {exc.expected}, got {exc.value!r}") from None
    except siamcore.config.ConfigError as exc:
        raise ConfigError(f"{src}: {exc}") from None


def config_from_dict(data: dict, src: str = "config") -> BuildConfig:
    """A validated BuildConfig from a parsed TOML table."""
    if "dataset" not in data:
        raise ConfigError(f"{src}: missing 'dataset' (one of {', '.join(DATASETS)})")
    data = merge_tables(DATASET_DEFAULTS.get(data["dataset"], {}), data)
    return validate(_from_table(data, src), src)


def load_config(path: str | os.PathLike | None, dataset: str | None = None) -> BuildConfig:
    """The config from a TOML file (or the defaults for ``dataset``), validated.

    When both are given, ``dataset`` must match the file's ``dataset``.
    """
    if path is None:
        if dataset is None:
            raise ConfigError(f"no dataset given: pass --dataset ({' or '.join(DATASETS)}) or --config FILE")
        return config_from_dict({"dataset": dataset}, "defaults")
    path = Path(path)
    try:
        data = read_toml(path, ConfigError)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    if dataset is not None:
        if data.get("dataset", dataset) != dataset:
            raise ConfigError(f"{path} is a config for dataset {data['dataset']!r}, but --dataset is {dataset!r}")
        data = {**data, "dataset": dataset}
    return config_from_dict(data, str(path))


def split_names(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [s.strip() for s in text.split(",") if s.strip()]


def parse_distractors_flag(spec: str) -> dict[str, Any]:
    """``--distractors coco:ROOT`` / ``coco`` / ``none`` -> DistractorConfig changes."""
    kind, _, root = spec.partition(":")
    kind = kind.strip().lower()
    if kind in ("none", "off", ""):
        return {"source": "none"}
    if kind != "coco":
        raise ConfigError(f"--distractors {spec!r}: use coco:ROOT (a COCO-format folder), coco, or none")
    return {"source": "coco", "root": root.strip() or None}


def with_overrides(cfg: BuildConfig, **flags) -> BuildConfig:
    """Apply CLI flags (None = not given): root, out, chunks, seed, pairs_per_sequence, workers, scheduler,
    split (VID / COCO), sequences / exclude_sequences (``"a,b"``), distractors (``coco:ROOT`` / ``none``),
    p_distractor."""
    changes: dict[str, Any] = {}
    for k in ("root", "out", "chunks", "seed"):
        if flags.get(k) is not None:
            changes[k] = str(flags[k]) if k in ("root", "out", "chunks") else flags[k]
    if flags.get("pairs_per_sequence") is not None:
        changes["pairs"] = dataclasses.replace(cfg.pairs, per_sequence=flags["pairs_per_sequence"])
    if flags.get("split") is not None:
        changes["splits"] = [str(flags["split"])]
    for k in ("sequences", "exclude_sequences"):
        if flags.get(k) is not None:
            value = flags[k]
            changes[k] = split_names(value) if isinstance(value, str) else [str(v) for v in value]
    distractors = {}
    if flags.get("distractors") is not None:
        distractors.update(parse_distractors_flag(str(flags["distractors"])))
    if flags.get("p_distractor") is not None:
        distractors["p_distractor"] = float(flags["p_distractor"])
    if distractors:
        changes["distractors"] = dataclasses.replace(cfg.distractors, **distractors)
    dask = {k: flags[k] for k in ("workers", "scheduler", "dashboard") if flags.get(k) is not None}
    if dask:
        changes["dask"] = dataclasses.replace(cfg.dask, **dask)
    return validate(dataclasses.replace(cfg, **changes), "command line")
