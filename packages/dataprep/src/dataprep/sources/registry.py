"""The dataset registry: every :class:`~dataprep.sources.spec.DatasetSpec` declared as ``SPEC`` by a
module of :mod:`dataprep.sources`, found by walking the package (a new adapter module is registered
by existing). The lists the rest of the package reads (:data:`DATASETS`, :data:`FOLDER_DATASETS`,
:data:`FOLDER_SPLITS`, :data:`DATASET_DEFAULTS`) are views of :data:`SPECS`, never written by hand.

Importing it stays light (no OpenCV, no pycocotools): the CLI builds its ``--dataset`` choices from it.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from dataprep.sources.spec import DatasetSpec


def _discover() -> dict[str, DatasetSpec]:
    """The ``SPEC`` of every module of :mod:`dataprep.sources`, by name (sorted)."""
    found: dict[str, DatasetSpec] = {}
    package, _, own = __name__.rpartition(".")
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name == own:
            continue
        spec = getattr(importlib.import_module(f"{package}.{info.name}"), "SPEC", None)
        if not isinstance(spec, DatasetSpec):
            continue
        if spec.name in found:
            raise RuntimeError(f"two adapters declare the dataset {spec.name!r}")
        found[spec.name] = spec
    return dict(sorted(found.items()))


SPECS: dict[str, DatasetSpec] = _discover()
"""Every dataset, by name, in name order."""

DATASETS: tuple[str, ...] = tuple(SPECS)
FOLDER_DATASETS: tuple[str, ...] = tuple(n for n, s in SPECS.items() if s.is_folder)
"""Sequence-folder datasets, read through :mod:`siamcore.datasets`: no chunks; names select."""
FOLDER_SPLITS: dict[str, tuple[str, ...]] = {n: s.splits for n, s in SPECS.items() if s.is_folder and s.splits}
"""Sequence-folder datasets that also have splits (``--split``), and the split names each takes."""
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {n: dict(s.defaults) for n, s in SPECS.items()}
"""Per-dataset config defaults applied when the config does not set the key."""


def get_spec(name: str) -> DatasetSpec:
    """The spec of a dataset name; ValueError listing the known names otherwise."""
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}: choose from {sorted(SPECS)}") from None
