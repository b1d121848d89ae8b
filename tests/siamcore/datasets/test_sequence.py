"""Name selection shared by every reader, listings that agree with loading, and the package boundary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from siamcore.datasets import SequenceRef, exclude_sequences, list_otb, load_otb, select_sequences

REFS = [
    SequenceRef("Couple", Path("/d/Couple"), None, ("couple",)),
    SequenceRef("Jogging.1", Path("/d/Jogging"), 1, ("jogging.1",)),
    SequenceRef("Jogging.2", Path("/d/Jogging"), 2, ("jogging.2",)),
    SequenceRef("Human4", Path("/d/Human4"), 2, ("human4", "human4.2")),
]


def test_select_by_name_alias_or_folder_in_the_given_order():
    names = lambda refs: [r.name for r in refs]  # noqa: E731
    assert names(select_sequences(REFS, ["jogging-2", "COUPLE", "human4_2"], "/d")) == ["Jogging.2", "Couple", "Human4"]
    assert names(select_sequences(REFS, ["Jogging", "jogging.1"], "/d")) == ["Jogging.1", "Jogging.2"]  # once each
    assert names(exclude_sequences(REFS, ["Jogging", "human4"], "/d")) == ["Couple"]
    with pytest.raises(ValueError, match=r"not found under /d: Nope; found: Couple, Jogging.1, Jogging.2, Human4"):
        select_sequences(REFS, ["Nope"], "/d")
    with pytest.raises(ValueError, match="not found under /d: Coupel"):
        exclude_sequences(REFS, ["Coupel"], "/d")


def test_otb_listing_names_what_loading_gives(shared_data):
    refs = list_otb(shared_data / "otb")
    assert [r.name for r in refs] == [s.name for s in load_otb(shared_data / "otb")]
    assert [r.name for r in refs] == ["Car4", "Couple", "Crossing", "Deer", "Girl"]


def test_siamcore_datasets_imports_no_heavy_stack():
    forbidden = ("torch", "dask", "lmdb", "pycocotools", "tracker", "dataprep")
    code = (
        "import json, pkgutil, importlib, sys, siamcore.datasets as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'siamcore.datasets.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(json.dumps([n for n in {forbidden!r} if n in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
