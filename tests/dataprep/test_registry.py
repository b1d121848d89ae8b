"""The dataset registry is the one list: every other list, enum and branch agrees with it, and a dataset
is declared in its own adapter module (``dataprep/sources/<name>.py``) and nowhere else."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import siamcore.datasets
from dataprep import config as C
from dataprep.cli import Dataset
from dataprep.sources import SOURCES, get_source
from dataprep.sources.registry import SPECS
from dataprep.sources.spec import FOLDER, KINDS

REPO = Path(__file__).resolve().parents[2]
DATAPREP = REPO / "packages" / "dataprep" / "src" / "dataprep"


def test_each_spec_is_declared_by_its_own_adapter_module():
    assert SPECS, "no dataset registered"
    for name, spec in SPECS.items():
        assert spec.name == name
        assert importlib.import_module(f"dataprep.sources.{name}").SPEC is spec
        assert spec.kind in KINDS
        assert get_source(name) is spec


def test_derived_lists_agree_with_the_registry():
    assert SOURCES == SPECS
    assert C.DATASETS == tuple(SPECS)
    assert C.FOLDER_DATASETS == tuple(n for n, s in SPECS.items() if s.kind == FOLDER)
    assert C.FOLDER_SPLITS == {n: s.splits for n, s in SPECS.items() if s.kind == FOLDER and s.splits}
    assert C.ROOT_DEFAULT == {n: s.root_default for n, s in SPECS.items()}
    assert C.ROOT_ENV == {n: f"SIAMTRACK_{n.upper()}_ROOT" for n in SPECS}
    assert C.DATASET_DEFAULTS == {n: dict(s.defaults) for n, s in SPECS.items()}


def test_cli_choices_are_the_registry():
    assert [d.value for d in Dataset] == list(SPECS)


def test_pipeline_files_are_the_registry():
    files = sorted((REPO / "pipelines" / "dataprep").glob("*.toml"))
    assert [f.stem for f in files] == sorted(SPECS)


def test_readers_and_layouts_agree():
    """A spec names the siamcore reader it reads through; a reader that declares a layout declares it
    under the dataset's name, so ``tracker eval`` / the trainer and dataprep name a dataset alike."""
    layouts = {}
    for spec in SPECS.values():
        assert spec.reader is not None and spec.reader.__name__.startswith("siamcore.datasets.")
        layout = getattr(spec.reader, "LAYOUT", None)
        if layout is not None and spec.reader.__name__.endswith(f".{spec.name}"):
            assert layout.name == spec.name
            layouts[spec.name] = layout.load
    assert layouts == siamcore.datasets.LOADERS


def test_no_dataset_name_is_branched_on_outside_the_adapters():
    """Per-dataset behaviour lives in the spec: no ``dataset == "..."`` (or ``in ("...")``) in the package
    outside ``sources/``."""
    pattern = re.compile(r"""dataset\s*(==|!=)\s*['"]|dataset\s+(not\s+)?in\s*[(\[{]\s*['"]""")
    offenders = [f"{path.relative_to(DATAPREP)}:{i}" for path in sorted(DATAPREP.rglob("*.py"))
                 if "sources" not in path.relative_to(DATAPREP).parts
                 for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


@pytest.mark.parametrize("name", list(SPECS))
def test_every_spec_validates_its_own_defaults(name):
    cfg = C.load_config(None, name)
    assert cfg.dataset == name
    for key, value in SPECS[name].defaults.items():
        if not isinstance(value, dict):
            assert getattr(cfg, key) == value


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.kind == FOLDER])
def test_folder_datasets_take_names_and_refuse_chunks(name):
    assert C.load_config(None, name).replace(sequences=["a"]).sequences == ["a"]
    with pytest.raises(C.ConfigError, match=f"{name} has no chunks"):
        C.with_overrides(C.load_config(None, name), chunks="0")
