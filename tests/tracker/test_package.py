"""Package boundaries: the tracker runs without the data-preparation stack and imports nothing above it."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("dask", "lmdb", "pycocotools", "torchvision", "dataprep", "trainer")


def test_tracker_imports_none_of_the_data_preparation_stack():
    code = (
        "import json, pkgutil, importlib, sys, tracker\n"
        "for m in pkgutil.walk_packages(tracker.__path__, 'tracker.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(json.dumps([n for n in {FORBIDDEN!r} if n in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
